"""Startup benchmark: how long learners wait, next to the floor of a bare Pyodide page.

    python benchmarks/bench_startup.py [--runs 3] [--site DIR]

Builds the default distribution (unless --site is given), serves it on 127.0.0.1 and measures
in headless Chromium, each cold run in a fresh browser context (no HTTP cache, no storage):

  floor          a bare page that imports the site's own pyodide.mjs, loadPyodide(), runPython
  repl cold      navigation -> first output of the REPL (repl/?code=...)
  notebook cold  navigation -> first output of a notebook (JupyterLab, Run All)
  repl warm      the same REPL again in the same context (HTTP cache, service worker)
  first visit    bytes the browser received for the cold REPL (Content-Length of responses)
  site size      bytes on disk

It prints figures and ratios to the floor; it never fails on time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from lite_build.build import build  # noqa: E402
from lite_build.check import CHROMIUM_ARGS, find_chromium  # noqa: E402
from lite_build.config import load_config  # noqa: E402
from lite_build.serve import make_server  # noqa: E402
from lite_build.site import site_size  # noqa: E402

TIMEOUT_MS = 240_000
BARE_PAGE = "bench-bare.html"
BARE_HTML = """<!doctype html><meta charset="utf-8"><pre id="out"></pre>
<script type="module">
const { loadPyodide } = await import("./static/pyodide/pyodide.mjs");
const pyodide = await loadPyodide({ lockFileURL: new URL("%s", location.href).href });
pyodide.setStdout({ batched: (line) => { document.getElementById("out").textContent += line; } });
pyodide.runPython("print('FLOOR', 6 * 7)");
window.benchDone = performance.now();
</script>
"""


def serve(folder: Path) -> tuple[Any, str]:
    server = make_server(folder, host="127.0.0.1", port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def with_bare_page(site: Path, workdir: Path) -> Path:
    """A hard-linked copy of the site plus the bare Pyodide page (the site stays untouched)."""
    import os
    import shutil

    copy = workdir / "site"
    shutil.copytree(site, copy, copy_function=os.link)
    locks = sorted(copy.glob("static/environments/*/pyodide-lock.json")) or sorted(
        copy.glob("static/pyodide/pyodide-lock.json")
    )
    relative = locks[0].relative_to(copy).as_posix()
    (copy / BARE_PAGE).write_text(BARE_HTML % relative, encoding="utf-8")
    return copy


def measure_floor(browser: Any, base: str) -> float:
    context = browser.new_context()
    page = context.new_page()
    page.goto(base + BARE_PAGE)
    page.wait_for_function("() => window.benchDone", timeout=TIMEOUT_MS)
    elapsed: float = page.evaluate("() => window.benchDone") / 1000
    context.close()
    return elapsed


def wait_for_output(page: Any, selector: str, text: str) -> None:
    page.wait_for_function(
        """([selector, text]) => [...document.querySelectorAll(selector)]
             .some(node => node.innerText.includes(text))""",
        arg=[selector, text],
        timeout=TIMEOUT_MS,
        polling=50,
    )


def measure_repl(page: Any, base: str, kernel: str) -> float:
    started = time.perf_counter()
    page.goto(f"{base}repl/index.html?kernel={kernel}&code=print('BENCH',%206*7)")
    wait_for_output(page, ".jp-CodeConsole .jp-OutputArea-output", "BENCH 42")
    return time.perf_counter() - started


def measure_notebook(page: Any, base: str, path: str) -> float:
    started = time.perf_counter()
    page.goto(f"{base}lab/index.html?path={path}")
    page.wait_for_selector(".jp-Notebook .jp-Cell")
    page.click('.lm-MenuBar-itemLabel:text-is("Run")')
    page.click('.lm-Menu-itemLabel:text-is("Run All Cells")')
    page.wait_for_selector(".jp-Notebook .jp-OutputArea-output", timeout=TIMEOUT_MS)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--site", type=Path, help="a built site (default: build the default one)")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        site = args.site
        if site is None:
            site = Path(tmp) / "built"
            build(load_config(cwd=REPO, output=site))
        served_copy = with_bare_page(site, Path(tmp))
        server, base = serve(served_copy)
        kernel = load_config(cwd=REPO).environments[0].name
        notebook = sorted(p.name for p in (site / "files").glob("*.ipynb"))[0]
        floor, repl_cold, notebook_cold, repl_warm, transferred = [], [], [], [], []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=find_chromium(), headless=True, args=list(CHROMIUM_ARGS)
            )
            for run in range(args.runs):
                floor.append(measure_floor(browser, base))
                context = browser.new_context()
                received: list[int] = []
                context.on(
                    "response",
                    lambda r, received=received: received.append(
                        int(r.headers.get("content-length", "0") or 0)
                    ),
                )
                page = context.new_page()
                repl_cold.append(measure_repl(page, base, kernel))
                transferred.append(sum(received))
                repl_warm.append(measure_repl(page, base, kernel))
                context.close()
                context = browser.new_context()
                notebook_cold.append(measure_notebook(context.new_page(), base, notebook))
                context.close()
                print(
                    f"run {run + 1}: floor {floor[-1]:.2f} s, repl cold {repl_cold[-1]:.2f} s, "
                    f"warm {repl_warm[-1]:.2f} s, notebook cold {notebook_cold[-1]:.2f} s",
                    flush=True,
                )
            browser.close()
        server.shutdown()
        base_floor = statistics.median(floor)
        rows = [
            ("floor (bare Pyodide)", statistics.median(floor)),
            ("REPL, cold", statistics.median(repl_cold)),
            ("notebook, cold", statistics.median(notebook_cold)),
            ("REPL, warm revisit", statistics.median(repl_warm)),
        ]
        print(f"\nmedian of {args.runs} runs, headless Chromium, this machine")
        for name, seconds in rows:
            print(f"  {name:<22} {seconds:6.2f} s   {seconds / base_floor:4.2f}x floor")
        print(f"  {'first visit transfer':<22} {statistics.median(transferred) / 1e6:6.1f} MB")
        print(f"  {'site size on disk':<22} {site_size(site) / 1e6:6.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
