"""Startup benchmark: how long learners wait, next to the floor of a bare Pyodide page.

    python benchmarks/bench_startup.py [--runs 3] [--site DIR [--site DIR2 ...]]

Builds the default distribution (unless --site is given), serves it on 127.0.0.1 and measures
in headless Chromium, each cold run in a fresh browser context (no HTTP cache, no storage):

  floor          a bare page that imports the site's own pyodide.mjs, loadPyodide(), runPython
  repl cold      navigation -> first output of the REPL (repl/?code=...)
  notebook cold  navigation -> first output of a notebook (JupyterLab, Run All); also when its
                 cells first show (JupyterLab's own boot, the kernel aside)
  repl warm      the same REPL again in the same context (HTTP cache, service worker)
  to first output  bytes the server sent from the cold REPL's navigation to its first output
                   (counted by the server: what crossed the network, whoever asked for it)
  first visit      what a first visit transfers in all, the offline cache included (the
                   build's size report: .gz where the site has one, the default kernel's snapshot)
  site size        bytes on disk

It prints figures and ratios to the floor; it never fails on time. Given several --site, it
measures them in turns within each run (same floor, same machine load), to compare two builds;
sites with the same runtime share their floor runs (one floor, pooled over all of them).
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

from lite_build.cache import sha256_of  # noqa: E402
from lite_build.commands.check import CHROMIUM_ARGS, find_chromium  # noqa: E402
from lite_build.commands.serve import make_server  # noqa: E402
from lite_build.config import load_config  # noqa: E402
from lite_build.launcher.start import SiteHandler  # noqa: E402
from lite_build.pipeline import build  # noqa: E402
from lite_build.site.compress import size_report  # noqa: E402
from lite_build.site.paths import PYODIDE_DIR  # noqa: E402
from lite_build.site.publish import site_size  # noqa: E402

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


#: bytes each benchmark server sent (file bodies), by server
SENT: dict[Any, int] = {}


def _counting_copyfile(handler: Any, source: Any, outputfile: Any) -> None:
    start = source.tell()
    _copyfile(handler, source, outputfile)
    SENT[handler.server] = SENT.get(handler.server, 0) + source.tell() - start


_copyfile = SiteHandler.copyfile
SiteHandler.copyfile = _counting_copyfile  # type: ignore[method-assign]


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


def measure_notebook(page: Any, base: str, path: str) -> tuple[float, float]:
    """Seconds from navigation to the notebook's cells shown, and to its first output."""
    started = time.perf_counter()
    page.goto(f"{base}lab/index.html?path={path}")
    page.wait_for_selector(".jp-Notebook .jp-Cell")
    shown = time.perf_counter() - started
    # cells run while the notebook has no kernel yet are dropped, not queued: wait for the
    # kernel's name in the toolbar (it may still be starting; then cells queue)
    page.wait_for_function(
        """() => [...document.querySelectorAll('.jp-NotebookPanel .jp-Toolbar-kernelName')]
             .some(node => node.innerText.trim() && !/no kernel/i.test(node.innerText))""",
        timeout=TIMEOUT_MS,
        polling=50,
    )
    page.click('.lm-MenuBar-itemLabel:text-is("Run")')
    page.click('.lm-Menu-itemLabel:text-is("Run All Cells")')
    page.wait_for_selector(".jp-Notebook .jp-OutputArea-output", timeout=TIMEOUT_MS)
    return shown, time.perf_counter() - started


class Figures:
    """One site's measurements over the runs."""

    def __init__(self) -> None:
        self.floor: list[float] = []
        self.repl_cold: list[float] = []
        self.notebook_cold: list[float] = []
        self.notebook_shown: list[float] = []
        self.repl_warm: list[float] = []
        self.transferred: list[int] = []

    def measure(self, browser: Any, server: Any, base: str, kernel: str, notebook: str) -> None:
        self.floor.append(measure_floor(browser, base))
        context = browser.new_context()
        page = context.new_page()
        before = SENT.get(server, 0)
        self.repl_cold.append(measure_repl(page, base, kernel))
        self.transferred.append(SENT.get(server, 0) - before)
        self.repl_warm.append(measure_repl(page, base, kernel))
        context.close()
        context = browser.new_context()
        shown, output = measure_notebook(context.new_page(), base, notebook)
        self.notebook_shown.append(shown)
        self.notebook_cold.append(output)
        context.close()

    def last(self) -> str:
        return (
            f"floor {self.floor[-1]:.2f} s, repl cold {self.repl_cold[-1]:.2f} s, "
            f"warm {self.repl_warm[-1]:.2f} s, notebook cold {self.notebook_cold[-1]:.2f} s"
        )

    def report(self, site: Path, floors: list[float] | None = None) -> None:
        """Print the medians; ratios are to the median of ``floors`` (default: this site's)."""
        base_floor = statistics.median(floors or self.floor)
        label = "floor (bare Pyodide)" if not floors else f"floor, {len(floors)} runs pooled"
        rows = [
            (label, base_floor),
            ("REPL, cold", statistics.median(self.repl_cold)),
            ("notebook, cold", statistics.median(self.notebook_cold)),
            ("notebook, cells shown", statistics.median(self.notebook_shown)),
            ("REPL, warm revisit", statistics.median(self.repl_warm)),
        ]
        for name, seconds in rows:
            print(f"  {name:<22} {seconds:6.2f} s   {seconds / base_floor:4.2f}x floor")
        sent = statistics.median(self.transferred)
        print(f"  {'sent to first output':<22} {sent / 1e6:6.1f} MB   (cold REPL)")
        print(f"  {'first visit, in all':<22} {size_report(site).first_visit / 1e6:6.1f} MB")
        print(f"  {'site size on disk':<22} {site_size(site) / 1e6:6.1f} MB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--site",
        type=Path,
        action="append",
        help="a built site (default: build the default one); repeat to compare sites",
    )
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        sites: list[Path] = args.site or []
        if not sites:
            sites = [Path(tmp) / "built"]
            build(load_config(cwd=REPO, output=sites[0]))
        kernel = load_config(cwd=REPO).environments[0].name
        served = []
        for number, site in enumerate(sites):
            server, base = serve(with_bare_page(site, Path(tmp) / str(number)))
            notebook = sorted(p.name for p in (site / "files").glob("*.ipynb"))[0]
            served.append((site, server, base, notebook, Figures()))
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=find_chromium(), headless=True, args=list(CHROMIUM_ARGS)
            )
            for run in range(args.runs):
                for site, server, base, notebook, figures in served:
                    figures.measure(browser, server, base, kernel, notebook)
                    label = f" ({site})" if len(served) > 1 else ""
                    print(f"run {run + 1}{label}: {figures.last()}", flush=True)
            browser.close()
        # the floor depends on the runtime's files and the machine only: sites that ship the
        # same runtime share their floor runs (twice the samples of a noisy figure)
        runtimes = {sha256_of(site / PYODIDE_DIR / "pyodide.asm.wasm") for site in sites}
        pooled = [f for *_, figures in served for f in figures.floor] if len(runtimes) == 1 else []
        for site, server, _, _, figures in served:
            server.shutdown()
            print(f"\nmedian of {args.runs} runs, headless Chromium, this machine: {site}")
            figures.report(site, pooled if len(served) > 1 else None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
