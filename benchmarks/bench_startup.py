"""Startup benchmark: how long learners wait on a real network, next to a bare Pyodide page.

    python benchmarks/bench_startup.py [--runs 3] [--site DIR [--site DIR2 ...]]
                                       [--profile loopback|20|5 ...] [--no-stock] [--local]

Builds the default distribution (unless --site is given) and a stock JupyterLite 0.8.6 site of
the same content with the same runtime and wheels (benchmarks/stock_site.py, cached), serves
each from a host that compresses as common static hosts do over one shaped link
(benchmarks/shaped_host.py: loopback; 20 Mbit/s + 40 ms; 5 Mbit/s + 60 ms per request) and
measures in headless Chromium, each cold run in a fresh browser context (no HTTP cache, no
storage). Loopback is a site served from this computer (127.0.0.1, as the bundle's start.py
serves it); the shaped profiles reach the same host under a network name (lite-build.test,
mapped to 127.0.0.1 by the browser), as a learner reaches a course site: lite-build's kernels
fetch their snapshot on a first visit only from this computer (--local serves every profile
from 127.0.0.1, to compare):

  floor          a bare page that imports the site's own pyodide.mjs, loadPyodide(), runPython
  repl cold      navigation -> first output of the REPL (repl/?code=...)
  notebook cold  navigation -> first output of a notebook (JupyterLab, Run All)
  repl warm      the same REPL again in the same context (HTTP cache, service worker), once the
                 first visit's background work is done (lite-build's offline cache complete)
  bytes          what the host sent from the cold REPL's navigation to its first output
                 (counted on the link: whoever asked for it)

It prints medians, their spread (min-max) and ratios to the floor of the same profile; it never
fails on time. The profiles and sites are measured in turns within each run (same machine load).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from shaped_host import PROFILES, Profile, ShapedHost, browser_args  # noqa: E402
from stock_site import stock_site  # noqa: E402

from lite_build.commands.check import CHROMIUM_ARGS, find_chromium  # noqa: E402
from lite_build.config import load_config  # noqa: E402
from lite_build.pipeline import build  # noqa: E402

TIMEOUT_MS = 300_000
RUN_ALL_ATTEMPTS = 3
#: how long a Run All may take to queue its cells before it counts as dropped
RUN_ALL_TAKEN_MS = 10_000
RUN_ALL_TAKEN = """() => document.querySelector('.jp-Notebook .jp-OutputArea-output') ||
    [...document.querySelectorAll('.jp-Notebook .jp-InputPrompt')]
        .some((node) => node.innerText.includes('[*]'))"""
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


def with_bare_page(site: Path, workdir: Path) -> Path:
    """A hard-linked copy of the site plus the bare Pyodide page (the site stays untouched)."""
    copy = workdir / "site"
    shutil.copytree(site, copy, copy_function=os.link)
    locks = sorted(copy.glob("static/environments/*/pyodide-lock.json")) or sorted(
        copy.glob("static/pyodide/pyodide-lock.json")
    )
    relative = locks[0].relative_to(copy).as_posix()
    (copy / BARE_PAGE).write_text(BARE_HTML % relative, encoding="utf-8")
    return copy


def wait_for_output(page: Any, selector: str, text: str) -> None:
    page.wait_for_function(
        """([selector, text]) => [...document.querySelectorAll(selector)]
             .some(node => node.innerText.includes(text))""",
        arg=[selector, text],
        timeout=TIMEOUT_MS,
        polling=50,
    )


def measure_floor(browser: Any, host: ShapedHost, base: str) -> tuple[float, int]:
    context = browser.new_context()
    page = context.new_page()
    before = host.link.sent
    page.goto(base + BARE_PAGE)
    page.wait_for_function("() => window.benchDone", timeout=TIMEOUT_MS)
    elapsed: float = page.evaluate("() => window.benchDone") / 1000
    sent = host.link.sent - before
    context.close()
    return elapsed, sent


def measure_repl(page: Any, base: str, kernel: str) -> float:
    started = time.perf_counter()
    page.goto(f"{base}repl/index.html?kernel={kernel}&code=print('BENCH',%206*7)")
    wait_for_output(page, ".jp-CodeConsole .jp-OutputArea-output", "BENCH 42")
    return time.perf_counter() - started


def measure_notebook(page: Any, base: str, path: str) -> float:
    """Seconds from navigation to the notebook's first output (Run All)."""
    started = time.perf_counter()
    page.goto(f"{base}lab/index.html?path={path}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=TIMEOUT_MS)
    # cells run while the notebook has no kernel yet are dropped, not queued: wait for the
    # kernel's name in the toolbar (it may still be starting; then cells queue)
    page.wait_for_function(
        """() => [...document.querySelectorAll('.jp-NotebookPanel .jp-Toolbar-kernelName')]
             .some(node => node.innerText.trim() && !/no kernel/i.test(node.innerText))""",
        timeout=TIMEOUT_MS,
        polling=50,
    )
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(RUN_ALL_ATTEMPTS):
        page.click('.lm-MenuBar-itemLabel:text-is("Run")')
        page.click('.lm-Menu-itemLabel:text-is("Run All Cells")')
        try:
            # taken: the cells queue ([*]) or already show an output
            page.wait_for_function(RUN_ALL_TAKEN, timeout=RUN_ALL_TAKEN_MS, polling=50)
            break
        except PlaywrightTimeout:
            # a Run All that a starting kernel dropped: a learner would run the cells again
            print(f"  (Run All #{attempt + 1} was dropped: run again)", flush=True)
    else:
        raise RuntimeError("the notebook never ran its cells")
    page.wait_for_selector(".jp-Notebook .jp-OutputArea-output", timeout=TIMEOUT_MS)
    return time.perf_counter() - started


#: a later visit comes after the first visit's background work: the offline cache complete and,
#: when the kernel started without its snapshot, the snapshot kept (lite-build sites only)
BACKGROUND_DONE = """async (kernel) => {
  const worker = navigator.serviceWorker && navigator.serviceWorker.controller;
  if (!worker || !window.liteBuildKernelWorker) return;
  await new Promise((resolve) => {
    navigator.serviceWorker.addEventListener('message', (event) => {
      if (event.data && event.data.type === 'lite-build-precache' && event.data.complete) resolve();
    });
    worker.postMessage({ type: 'lite-build-precache' });
  });
  const image = new URL(`../static/environments/${kernel}/kernel.snapshot`, location.href).href;
  const head = await fetch(image, { method: 'HEAD' }).catch(() => null);
  while (head && head.ok) {
    for (const name of await caches.keys()) {
      if (await (await caches.open(name)).match(image)) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}"""


@dataclass
class Figures:
    """One site's (or the floor's) measurements on one profile, over the runs."""

    repl_cold: list[float] = field(default_factory=list)
    notebook_cold: list[float] = field(default_factory=list)
    repl_warm: list[float] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)


@dataclass
class Site:
    label: str
    host: ShapedHost
    notebook: str
    figures: dict[str, Figures] = field(default_factory=dict)

    def measure(self, browser: Any, kernel: str, profile: Profile, base: str) -> Figures:
        figures = self.figures.setdefault(profile.name, Figures())
        context = browser.new_context()
        page = context.new_page()
        before = self.host.link.sent
        figures.repl_cold.append(measure_repl(page, base, kernel))
        figures.sent.append(self.host.link.sent - before)
        page.evaluate(BACKGROUND_DONE, kernel)
        figures.repl_warm.append(measure_repl(page, base, kernel))
        context.close()
        context = browser.new_context()
        figures.notebook_cold.append(measure_notebook(context.new_page(), base, self.notebook))
        context.close()
        return figures


def spread(values: list[float], floor: float | None = None) -> str:
    median = statistics.median(values)
    text = f"{median:5.2f} s ({min(values):.1f}-{max(values):.1f})"
    return text + (f" {median / floor:4.2f}x" if floor else "")


def report(profile: Profile, floor: Figures, sites: list[Site], runs: int) -> None:
    base = statistics.median(floor.repl_cold)
    print(f"\n{profile.name}: median of {runs} runs (min-max), ratio to the floor")
    print(
        f"  {'':<22} {'REPL cold':<26} {'notebook cold':<26} {'REPL warm':<26} bytes to 1st output"
    )
    mb = statistics.median(floor.sent) / 1e6
    print(f"  {'floor (bare Pyodide)':<22} {spread(floor.repl_cold):<80} {mb:5.1f} MB")
    for site in sites:
        f = site.figures[profile.name]
        mb = statistics.median(f.sent) / 1e6
        print(
            f"  {site.label:<22} {spread(f.repl_cold, base):<26} "
            f"{spread(f.notebook_cold, base):<26} {spread(f.repl_warm, base):<26} {mb:5.1f} MB"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--site",
        type=Path,
        action="append",
        help="a built site (default: build the default one); repeat to compare sites",
    )
    parser.add_argument(
        "--profile",
        action="append",
        choices=[p.name.split()[0] for p in PROFILES],
        help="the network profiles to measure (default: all): loopback, 20, 5",
    )
    parser.add_argument("--no-stock", action="store_true", help="leave out the stock site")
    parser.add_argument(
        "--local",
        action="store_true",
        help="serve every profile from 127.0.0.1, as from this computer (lite-build's kernels "
        "then fetch their snapshot on a first visit); default: the shaped profiles are served "
        "under a network name",
    )
    args = parser.parse_args()
    profiles = [p for p in PROFILES if not args.profile or p.name.split()[0] in args.profile]

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        built: list[Path] = args.site or []
        if not built:
            built = [Path(tmp) / "built"]
            build(load_config(cwd=REPO, output=built[0]))
        kernel = load_config(cwd=REPO).environments[0].name
        notebook = sorted(p.name for p in (built[0] / "files").glob("*.ipynb"))[0]
        floor_host = ShapedHost(with_bare_page(built[0], Path(tmp) / "floor"))
        sites = []
        if not args.no_stock:
            stock = stock_site(built[0], REPO / "content")
            sites.append(Site("stock JupyterLite", ShapedHost(stock), notebook))
        for number, site in enumerate(built):
            label = "lite-build" + (f" #{number + 1}" if len(built) > 1 else "")
            print(f"{label}: {site}")
            sites.append(Site(label, ShapedHost(site), notebook))
        hosts = [floor_host, *(site.host for site in sites)]
        floors = {profile.name: Figures() for profile in profiles}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=find_chromium(),
                headless=True,
                args=[*CHROMIUM_ARGS, *browser_args(hosts)],
            )
            for run in range(args.runs):
                for profile in profiles:
                    for host in hosts:
                        host.link.profile = profile
                    seconds, sent = measure_floor(
                        browser, floor_host, floor_host.url_for(profile, local=args.local)
                    )
                    floors[profile.name].repl_cold.append(seconds)
                    floors[profile.name].sent.append(sent)
                    line = [f"floor {seconds:.2f}"]
                    for site in sites:
                        base = site.host.url_for(profile, local=args.local)
                        f = site.measure(browser, kernel, profile, base)
                        line.append(
                            f"{site.label} {f.repl_cold[-1]:.2f}/{f.notebook_cold[-1]:.2f}"
                            f"/{f.repl_warm[-1]:.2f} {f.sent[-1] / 1e6:.1f} MB"
                        )
                    print(f"run {run + 1}, {profile.name}: " + "; ".join(line), flush=True)
            browser.close()
        for host in hosts:
            host.close()
        for profile in profiles:
            report(profile, floors[profile.name], sites, args.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
