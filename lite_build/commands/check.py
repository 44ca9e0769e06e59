"""``lite-build check``: run the notebooks of a built site in headless Chromium, offline.

Every notebook, or only those named (by their path in the content, as the report names them).
The site is served on 127.0.0.1 and opened in JupyterLab; every request to another host is
aborted and reported. Each notebook runs in its own kernel, cell by cell, through the app's own
session and kernel services (the check asks JupyterLab to expose itself by rewriting the
``jupyter-lite.json`` it receives; the site on disk is untouched).

Per cell, the metadata ``{"tags": ["skip-check"]}`` skips it, and
``{"lite-build": {"input": ["Ada", ...]}}`` answers its ``input()`` calls in order; a cell that
asks for more input than it was given gets empty answers and is reported as not checked,
instead of hanging.

Lessons show errors on purpose. A cell tagged ``raises-exception`` (the convention of nbval,
nbmake, nbclient and Jupyter Book) must raise; a cell whose saved outputs show an error may
raise that same exception again (not with ``strict``). A notebook runs on after every error, so
the report lists each unexpected one with its cell.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lite_build.errors import LiteBuildError
from lite_build.files import as_site_path
from lite_build.resources import browser_script
from lite_build.ui import NullReporter, Reporter

SKIP_TAG = "skip-check"
#: the ecosystem's tag for a cell that is meant to raise
RAISES_TAG = "raises-exception"
METADATA_KEY = "lite-build"
DEFAULT_TIMEOUT = 300.0
#: an error about a notebook the site lacks lists the site's notebooks up to this many
LISTED_NOTEBOOKS = 10
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
class ExpectedError:
    """An error a cell raised as it was meant to."""

    cell: int
    error: str
    #: why it was expected: the tag, or the cell's saved outputs
    why: str


@dataclass
class Unanswered:
    """A cell that asked ``input()`` for more answers than its metadata gives."""

    cell: int
    prompt: str


@dataclass
class NotebookResult:
    path: str
    passed: bool
    seconds: float
    cells_run: int = 0
    #: the cells tagged skip-check
    cells_skipped: list[int] = field(default_factory=list)
    #: every unexpected error, in cell order
    failures: list[CellFailure] = field(default_factory=list)
    expected_errors: list[ExpectedError] = field(default_factory=list)
    #: cells run with empty answers to input(): what they did is not checked
    unanswered: list[Unanswered] = field(default_factory=list)

    @property
    def not_checked(self) -> list[str]:
        """What the check could not vouch for, in the user's words (empty: all of it)."""
        notes = []
        if self.cells_skipped:
            notes.append(f"{_cells(self.cells_skipped)} tagged {SKIP_TAG}")
        if self.unanswered:
            notes.append(
                f"{_cells([item.cell for item in self.unanswered])} without input() answers"
            )
        return notes


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
        for result, item in zip(self.notebooks, data["notebooks"], strict=True):
            item["not_checked"] = result.not_checked
        data["passed"] = self.passed
        return json.dumps(data, indent=2) + "\n"


#: why a cell's error was expected, as the report says it
TAGGED = f"tagged {RAISES_TAG}"
AS_SAVED = "as saved"


@dataclass(frozen=True)
class Expectation:
    """The error a cell is meant to raise."""

    #: the exception's name (as :func:`exception_name` gives it), or None for any exception
    name: str | None
    why: str


@dataclass(frozen=True)
class Cell:
    index: int
    source: str
    inputs: tuple[str, ...]
    expects: Expectation | None = None


def notebook_cells(
    notebook: dict[str, Any], *, strict: bool = False
) -> tuple[list[Cell], list[int]]:
    """The code cells to run (with their input answers and the errors they are meant to
    raise), and the numbers of the cells skipped. With ``strict``, only the tag says a cell
    is meant to raise, not its saved outputs."""
    cells: list[Cell] = []
    skipped = []
    for index, cell in enumerate(notebook.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        metadata = cell.get("metadata", {})
        tags = metadata.get("tags", [])
        if SKIP_TAG in tags:
            skipped.append(index)
            continue
        if not source.strip():
            continue
        answers = metadata.get(METADATA_KEY, {}).get("input", [])
        answers = [answers] if isinstance(answers, str) else answers
        expects = None
        saved = saved_error(cell)
        if RAISES_TAG in tags:
            expects = Expectation(None, TAGGED)
        elif saved and not strict:
            expects = Expectation(saved, AS_SAVED)
        cells.append(Cell(index, source, tuple(str(answer) for answer in answers), expects))
    return cells, skipped


def saved_error(cell: dict[str, Any]) -> str | None:
    """The exception a code cell's saved outputs show, if any."""
    for output in cell.get("outputs") or []:
        if isinstance(output, dict) and output.get("output_type") == "error":
            return exception_name(output.get("ename"))
    return None


def site_notebooks(site: Path) -> list[str]:
    """The notebooks the site ships, as paths in its file browser."""
    files = site / "files"
    return sorted(
        path.relative_to(files).as_posix()
        for path in files.rglob("*.ipynb")
        if ".ipynb_checkpoints" not in path.parts
    )


def chosen_notebooks(available: Sequence[str], wanted: Sequence[str] | None) -> list[str]:
    """The notebooks to check: every one ``available`` if ``wanted`` is None, else the
    ``wanted`` ones in the order given, each once. A wanted path may use backslashes or start
    with ``./``; the ones the site lacks are one error that names each."""
    if wanted is None:
        return list(available)
    chosen: list[str] = []
    unknown: list[str] = []
    for name in wanted:
        path = as_site_path(name)
        if path not in available:
            if name not in unknown:
                unknown.append(name)
        elif path not in chosen:
            chosen.append(path)
    if unknown:
        raise LiteBuildError(_not_notebooks(unknown, available))
    return chosen


def _not_notebooks(unknown: list[str], available: Sequence[str]) -> str:
    """What is wrong with the names in ``unknown``, a close match for each, and what the site
    has: all of its notebooks, or how many if they are many."""
    named = []
    for name in unknown:
        close = difflib.get_close_matches(as_site_path(name), available, n=1)
        named.append(f"{name} (did you mean {close[0]}?)" if close else name)
    verb = "is not a notebook" if len(unknown) == 1 else "are not notebooks"
    if not available:
        has = "it has none"
    elif len(available) <= LISTED_NOTEBOOKS:
        has = "its notebooks: " + ", ".join(available)
    else:
        has = (
            f"it has {len(available)} notebooks, each named by its path in the content, "
            f"such as {available[0]}"
        )
    return f"{', '.join(named)} {verb} of this site; {has}"


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
    strict: bool = False,
    notebooks: Sequence[str] | None = None,
    reporter: Reporter | None = None,
) -> CheckReport:
    """Run the notebooks of ``site`` offline in Chromium and report what happened: every one,
    or only ``notebooks`` (paths in the site's content, as the report names them), in that
    order. With ``strict``, a cell may raise only if tagged ``raises-exception`` (not because
    its saved outputs show the error)."""
    reporter = reporter or NullReporter()
    if not (site / "jupyter-lite.json").is_file():
        raise LiteBuildError(
            f"{site} is not a built site (no jupyter-lite.json); build it first with "
            "`lite-build build`, then check the folder it writes (_output/ by default)"
        )
    paths = chosen_notebooks(site_notebooks(site), notebooks)
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
                for path in paths:
                    with reporter.step(f"check {path}"):
                        result = _check_notebook(browser, base, site, path, timeout, strict, report)
                    report.notebooks.append(result)
                    for line in result_lines(result):
                        reporter.info(line)
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


def result_lines(result: NotebookResult) -> list[str]:
    """A notebook's lines in the report: its verdict, then each unexpected error, each
    expected one, and what was not checked."""
    status = "passed" if result.passed else "FAILED"
    lines = [f"  {status}  {result.path} ({result.cells_run} cells, {result.seconds:.1f} s)"]
    lines += [f"      {_cell_name(failure.cell)}{failure.error}" for failure in result.failures]
    lines += [
        f"      cell {expected.cell}: {expected.error} (expected error, {expected.why})"
        for expected in result.expected_errors
    ]
    lines += [
        f"      not checked: cell {item.cell} waits for input() ({item.prompt!r}) but no answer "
        f'was given; add answers to the cell metadata: {{"{METADATA_KEY}": {{"input": '
        f'["..."]}}}} or tag the cell "{SKIP_TAG}"'
        for item in result.unanswered
    ]
    if result.cells_skipped:
        lines.append(f"      not checked: {_cells(result.cells_skipped)} tagged {SKIP_TAG}")
    return lines


def _cell_name(cell: int) -> str:
    return f"cell {cell}: " if cell >= 0 else ""


def _cells(numbers: list[int]) -> str:
    """``cell 3`` or ``cells 3, 5``."""
    return ("cell " if len(numbers) == 1 else "cells ") + ", ".join(map(str, numbers))


def _check_notebook(
    browser: Any,
    base: str,
    site: Path,
    path: str,
    timeout: float,
    strict: bool,
    report: CheckReport,
) -> NotebookResult:
    notebook = json.loads((site / "files" / path).read_text(encoding="utf-8"))
    cells, skipped = notebook_cells(notebook, strict=strict)
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
            judge_cell(cell, outcome, result)
    except TimeoutError:
        result.failures.append(
            CellFailure(
                cell=-1,
                source="",
                error=f"timed out after {timeout:.0f} s (the kernel did not "
                "finish; see the console errors below)",
            )
        )
    except Exception as error:  # the page or kernel broke: report it, check the next notebook
        if "Timeout" in type(error).__name__ or "Timeout" in str(error)[:40]:
            message = f"timed out after {timeout:.0f} s"
        else:
            message = str(error).splitlines()[0]
        result.failures.append(CellFailure(cell=-1, source="", error=message))
    finally:
        result.passed = not result.failures
        result.seconds = round(time.perf_counter() - started, 2)
        context.close()
    return result


def _choose_kernel(wanted: str | None, default: str | None, names: list[str]) -> str:
    """The notebook's own kernel if the site has it, else the site's default, as JupyterLab does."""
    for candidate in (wanted, default, *sorted(names)):
        if candidate and candidate in names:
            return candidate
    raise LiteBuildError("the site offers no kernel at all; is its kernel extension missing?")


def judge_cell(cell: Cell, outcome: dict[str, Any], result: NotebookResult) -> None:
    """Add what a cell's run means to ``result``: an unexpected error, an expected one, or a
    cell whose input() went unanswered (whatever it then did is not checked)."""
    if outcome.get("stdinUnanswered") is not None:
        result.unanswered.append(Unanswered(cell.index, str(outcome["stdinUnanswered"])))
        return
    source_head = cell.source.strip().splitlines()[0][:80]
    error = outcome.get("error")
    raised = outcome.get("status") != "ok" or bool(error)
    if not raised:
        if cell.expects and cell.expects.why == TAGGED:
            result.failures.append(
                CellFailure(
                    cell.index,
                    source_head,
                    f"raised no error, but the cell is tagged {RAISES_TAG} (meant to raise)",
                )
            )
        return
    error = error or {}
    name = exception_name(error.get("ename"))
    message = f"{name}: {error.get('evalue', '')}"
    expects = cell.expects
    if expects and expects.name in (None, name):
        result.expected_errors.append(ExpectedError(cell.index, message, expects.why))
        return
    if expects:
        message += f" (its saved output shows {expects.name})"
    result.failures.append(
        CellFailure(cell.index, source_head, message, list(error.get("traceback") or []))
    )


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
