"""``lite-build check``: run every notebook of a built site in headless Chromium, offline.

The site is served on 127.0.0.1 and opened in JupyterLab; every request to another host is
aborted and reported. Each notebook runs in its own kernel, cell by cell, through the app's own
session and kernel services (the check asks JupyterLab to expose itself by rewriting the
``jupyter-lite.json`` it receives; the site on disk is untouched).

Per cell, the metadata ``{"tags": ["skip-check"]}`` skips it, and
``{"lite-build": {"input": ["Ada", ...]}}`` answers its ``input()`` calls in order; a cell that
asks for more input than it was given fails with a message saying so, instead of hanging.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lite_build.errors import LiteBuildError
from lite_build.resources import browser_script
from lite_build.ui import NullReporter, Reporter

SKIP_TAG = "skip-check"
METADATA_KEY = "lite-build"
DEFAULT_TIMEOUT = 300.0
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)

#: runs code in a notebook session through JupyterLab's services: one function of a request,
#: which ``page.evaluate(HARNESS, request)`` calls (extension/src/standalone/check-harness.ts)
HARNESS = browser_script("check-harness.js")


@dataclass
class CellFailure:
    cell: int
    source: str
    error: str
    traceback: list[str] = field(default_factory=list)


@dataclass
class NotebookResult:
    path: str
    passed: bool
    seconds: float
    cells_run: int = 0
    cells_skipped: int = 0
    failure: CellFailure | None = None


@dataclass
class CheckReport:
    site: str
    notebooks: list[NotebookResult] = field(default_factory=list)
    blocked_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.notebooks) and not self.blocked_requests

    def to_json(self) -> str:
        data = asdict(self)
        data["passed"] = self.passed
        return json.dumps(data, indent=2) + "\n"


@dataclass(frozen=True)
class Cell:
    index: int
    source: str
    inputs: tuple[str, ...]


def notebook_cells(notebook: dict[str, Any]) -> tuple[list[Cell], int]:
    """The code cells to run (with their input answers), and how many are skipped."""
    cells: list[Cell] = []
    skipped = 0
    for index, cell in enumerate(notebook.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        metadata = cell.get("metadata", {})
        if SKIP_TAG in metadata.get("tags", []):
            skipped += 1
            continue
        if not source.strip():
            continue
        answers = metadata.get(METADATA_KEY, {}).get("input", [])
        answers = [answers] if isinstance(answers, str) else answers
        cells.append(Cell(index, source, tuple(str(answer) for answer in answers)))
    return cells, skipped


def site_notebooks(site: Path) -> list[str]:
    """The notebooks the site ships, as paths in its file browser."""
    files = site / "files"
    return sorted(
        path.relative_to(files).as_posix()
        for path in files.rglob("*.ipynb")
        if ".ipynb_checkpoints" not in path.parts
    )


def find_chromium() -> str | None:
    """System Chromium if present; None lets Playwright use its own browser."""
    import os

    configured = os.environ.get("LITE_BUILD_CHROMIUM")
    if configured:
        return configured
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    return shutil.which("chromium") or shutil.which("google-chrome")


def check_site(
    site: Path,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    isolated: bool = False,
    reporter: Reporter | None = None,
) -> CheckReport:
    """Run every notebook of ``site`` offline in Chromium and report what happened."""
    reporter = reporter or NullReporter()
    if not (site / "jupyter-lite.json").is_file():
        raise LiteBuildError(
            f"{site} is not a built site (no jupyter-lite.json); build it first with "
            "`lite-build build`, then check the folder it writes (_output/ by default)"
        )
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        raise LiteBuildError(
            "lite-build check drives a browser with Playwright: "
            "pip install 'lite-build[check]' (and have Chromium installed)"
        ) from error
    from lite_build.commands.serve import make_server

    server = make_server(site, host="127.0.0.1", port=0, isolated=isolated)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    report = CheckReport(site=str(site))

    def run_browser() -> None:
        with service_worker_routing():
            playwright = sync_playwright().start()
        try:
            try:
                browser = playwright.chromium.launch(
                    executable_path=find_chromium(), headless=True, args=list(CHROMIUM_ARGS)
                )
            except PlaywrightError as error:
                raise LiteBuildError(
                    "could not start Chromium: install it (Debian/Ubuntu: apt-get install "
                    "chromium) or point LITE_BUILD_CHROMIUM at a Chromium binary "
                    f"({str(error).splitlines()[0]})"
                ) from error
            try:
                for path in site_notebooks(site):
                    with reporter.step(f"check {path}"):
                        result = _check_notebook(browser, base, site, path, timeout, report)
                    report.notebooks.append(result)
                    reporter.info(_result_line(result))
            finally:
                browser.close()
        finally:
            playwright.stop()

    try:
        _in_own_thread(run_browser)
    finally:
        server.shutdown()
        server.server_close()
    return report


def _in_own_thread(work: Callable[[], None]) -> None:
    """Run ``work`` in a thread of its own and wait for it (Ctrl+C still stops the wait).

    Playwright's synchronous API refuses a thread whose asyncio loop is running: a notebook's,
    IPython's, or another Playwright session's. A new thread has none, so ``check_site`` works
    from any of them."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as error:  # re-raised in the caller's thread below
            errors.append(error)

    thread = threading.Thread(target=run, name="lite-build-check", daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(0.5)
    if errors:
        raise errors[0]


#: Playwright routes the requests of service workers only when its driver starts with this set
SERVICE_WORKER_ROUTING = "PW_EXPERIMENTAL_SERVICE_WORKER_NETWORK_EVENTS"


@contextlib.contextmanager
def service_worker_routing() -> Iterator[None]:
    """While a Playwright driver starts inside: its service workers' requests are routed too,
    so a request to another host from JupyterLite's or the offline cache's worker is seen and
    blocked like any other. The variable is put back as it was afterwards."""
    previous = os.environ.get(SERVICE_WORKER_ROUTING)
    os.environ[SERVICE_WORKER_ROUTING] = "1"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(SERVICE_WORKER_ROUTING, None)
        else:
            os.environ[SERVICE_WORKER_ROUTING] = previous


def _result_line(result: NotebookResult) -> str:
    if result.passed:
        return f"  passed  {result.path} ({result.cells_run} cells, {result.seconds:.1f} s)"
    failure = result.failure
    where = f" cell {failure.cell}: {failure.error}" if failure else ""
    return f"  FAILED  {result.path}{where} ({result.seconds:.1f} s)"


def _check_notebook(
    browser: Any, base: str, site: Path, path: str, timeout: float, report: CheckReport
) -> NotebookResult:
    notebook = json.loads((site / "files" / path).read_text(encoding="utf-8"))
    cells, skipped = notebook_cells(notebook)
    context = browser.new_context()
    context.route("**/*", lambda route: _route(route, base, report))
    # a request that escaped routing is still seen (and then fails: nothing else resolves)
    context.on("request", lambda request: _seen(request.url, base, report))
    page = context.new_page()
    page.on("console", lambda message: _console(message, report))
    page.set_default_timeout(timeout * 1000)
    started = time.perf_counter()
    result = NotebookResult(path=path, passed=False, seconds=0.0, cells_skipped=skipped)
    try:
        page.goto(f"{base}lab/index.html")
        page.wait_for_function(HARNESS, arg={"call": "ready"})
        kernels = page.evaluate(HARNESS, {"call": "kernels"})
        wanted = notebook.get("metadata", {}).get("kernelspec", {}).get("name")
        kernel = _choose_kernel(wanted, kernels["default"], kernels["names"])
        page.evaluate(HARNESS, {"call": "start", "path": path, "kernel": kernel})
        for cell in cells:
            remaining = timeout - (time.perf_counter() - started)
            if remaining <= 0:
                raise TimeoutError
            page.set_default_timeout(remaining * 1000)
            outcome = page.evaluate(
                HARNESS, {"call": "run", "code": cell.source, "inputs": list(cell.inputs)}
            )
            result.cells_run += 1
            failure = _cell_failure(cell, outcome)
            if failure:
                result.failure = failure
                break
        else:
            result.passed = True
    except TimeoutError:
        result.failure = CellFailure(
            cell=-1,
            source="",
            error=f"timed out after {timeout:.0f} s (the kernel did not "
            "finish; see the console errors below)",
        )
    except Exception as error:  # the page or kernel broke: report it, check the next notebook
        if "Timeout" in type(error).__name__ or "Timeout" in str(error)[:40]:
            message = f"timed out after {timeout:.0f} s"
        else:
            message = str(error).splitlines()[0]
        result.failure = CellFailure(cell=-1, source="", error=message)
    finally:
        result.seconds = round(time.perf_counter() - started, 2)
        context.close()
    return result


def _choose_kernel(wanted: str | None, default: str | None, names: list[str]) -> str:
    """The notebook's own kernel if the site has it, else the site's default, as JupyterLab does."""
    for candidate in (wanted, default, *sorted(names)):
        if candidate and candidate in names:
            return candidate
    raise LiteBuildError("the site offers no kernel at all; is its kernel extension missing?")


def _cell_failure(cell: Cell, outcome: dict[str, Any]) -> CellFailure | None:
    source_head = cell.source.strip().splitlines()[0][:80]
    if outcome.get("stdinUnanswered") is not None:
        return CellFailure(
            cell=cell.index,
            source=source_head,
            error=(
                f"waits for input() ({outcome['stdinUnanswered']!r}) but no answer was given; "
                f'add answers to the cell metadata: {{"{METADATA_KEY}": {{"input": ["..."]}}}} '
                f'or tag the cell "{SKIP_TAG}"'
            ),
        )
    error = outcome.get("error")
    if outcome.get("status") != "ok" or error:
        error = error or {}
        return CellFailure(
            cell=cell.index,
            source=source_head,
            error=f"{exception_name(error.get('ename'))}: {error.get('evalue', '')}",
            traceback=list(error.get("traceback") or []),
        )
    return None


def exception_name(ename: object) -> str:
    """``ZeroDivisionError`` from the Pyodide kernel's ``<class 'ZeroDivisionError'>``."""
    text = str(ename or "Error")
    match = re.fullmatch(r"<class '([^']+)'>", text)
    name = match.group(1) if match else text
    return name.removeprefix("builtins.")


def _route(route: Any, base: str, report: CheckReport) -> None:
    url = route.request.url
    if url.startswith(("data:", "blob:")) or url.startswith(base):
        if urlsplit(url).path.endswith("/jupyter-lite.json") and url.startswith(base):
            _expose_app(route)
            return
        route.continue_()
        return
    _seen(url, base, report)
    route.abort()


def _seen(url: str, base: str, report: CheckReport) -> None:
    if not url.startswith(("data:", "blob:", base)) and url not in report.blocked_requests:
        report.blocked_requests.append(url)


def _expose_app(route: Any) -> None:
    """Serve jupyter-lite.json with ``exposeAppInBrowser`` on, for this check only."""
    response = route.fetch()
    try:
        data = response.json()
        data.setdefault("jupyter-config-data", {})["exposeAppInBrowser"] = True
    except ValueError:
        route.fulfill(response=response)
        return
    route.fulfill(response=response, json=data)


def _console(message: Any, report: CheckReport) -> None:
    if message.type == "error":
        report.console_errors.append(message.text)
