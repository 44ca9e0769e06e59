"""The default distribution in a real Chromium, with every request off 127.0.0.1 blocked."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from lite_build.commands.check import RAISES_TAG
from lite_build.config import load_config
from lite_build.pipeline.imports import IMPORTS_JSON
from tests.browser import lab
from tests.conftest import (
    NETWORK_HOST,
    REPO,
    Offline,
    Served,
    assert_nothing_left_the_site,
    exposed_copy,
    linked_copy,
    network_browser,
    offline_browser_page,
)

pytestmark = [pytest.mark.browser, pytest.mark.integration]

#: notebook -> the answer its input() cell needs (None: no input)
NOTEBOOKS = {
    "01-welcome.ipynb": None,
    "02-data-files.ipynb": None,
    "03-input.ipynb": "Ada",
    "04-packages.ipynb": None,
    "05-rich-output.ipynb": None,
    "06-widgets.ipynb": None,
    "07-errors.ipynb": None,
}


def expected_errors(notebook: str) -> list[str]:
    """The ids of the notebook's cells that raise on purpose (tagged raises-exception)."""
    cells = json.loads((REPO / "content" / notebook).read_text(encoding="utf-8"))["cells"]
    return [cell["id"] for cell in cells if RAISES_TAG in cell["metadata"].get("tags", [])]


#: what the page logs when the kernel adopts the runtime its page started (extension/src/index.ts)
ADOPTED = 'info: lite-build: kernel "python" uses the runtime started with the page'

#: what the page logs when a kernel's Python was restored from its environment's snapshot
RESTORED = re.compile(r'info: lite-build: kernel "python": Python restored from its snapshot in ')
STARTED = re.compile(
    r'info: lite-build: kernel "python": Python started in [0-9.]+ s \(no snapshot: '
)


@pytest.fixture(scope="module")
def site_url(default_site: Path, serve_site: Callable[..., Served]) -> str:
    return serve_site(default_site).url


@pytest.fixture(scope="module")
def isolated_url(default_site: Path, serve_site: Callable[..., Served]) -> str:
    return serve_site(default_site, isolated=True).url


def test_the_default_distribution_ships_these_notebooks() -> None:
    shipped = sorted(path.name for path in (REPO / "content").glob("*.ipynb"))
    assert shipped == sorted(NOTEBOOKS)
    # the lesson on errors makes three on purpose, tagged as such
    assert expected_errors("07-errors.ipynb") == ["name-error", "zero-error", "type-error"]


def test_the_default_distribution_imports_only_what_its_kernels_ship(default_site: Path) -> None:
    # the build's import scan (its warnings, kept in the work folder) found nothing missing
    work = load_config(cwd=REPO).work_dir
    assert json.loads((work / IMPORTS_JSON).read_text(encoding="utf-8")) == []


#: the exceptions a notebook's cells tagged raises-exception raise on purpose, in order
DELIBERATE = {"07-errors.ipynb": ("NameError", "ZeroDivisionError", "TypeError")}

#: whether the names the code cells of 07-errors.ipynb define exist yet, in order
DEFINED = "print('DEFINED', [name in globals() for name in ('greeting', 'average', 'point')])"


def add_cell_below(page: Any, code: str) -> None:
    """Add a code cell below the active one holding ``code``, and leave it active."""
    page.keyboard.press("Escape")
    page.keyboard.press("b")
    page.click(".jp-Notebook .jp-Cell.jp-mod-active .cm-content")
    page.keyboard.type(code)
    page.keyboard.press("Escape")


@pytest.mark.parametrize("notebook", sorted(NOTEBOOKS))
def test_every_content_notebook_runs_offline(
    notebook: str, site_url: str, shared_page: tuple[Any, Offline]
) -> None:
    page, record = shared_page
    done = f"DONE {notebook[:2]}"
    deliberate = DELIBERATE.get(notebook, ())
    assert len(deliberate) == len(expected_errors(notebook))
    # Run All, as a student does: it goes on past the cells tagged raises-exception; one
    # lesson after another, each opened from the file browser
    outputs = lab.run_notebook(
        page,
        site_url,
        notebook,
        done,
        answer=NOTEBOOKS[notebook],
        allowed=deliberate,
        from_file_browser=True,
    )
    assert done in outputs
    if NOTEBOOKS[notebook]:
        assert "Ada" in outputs  # the answer reached Python
    if deliberate:
        # each deliberate error was shown once, with its traceback
        errors = page.evaluate(lab.ERRORS, [])
        assert [error.strip().splitlines()[-1].split(":")[0] for error in errors] == list(
            deliberate
        )
        assert all("Traceback (most recent call last)" in error for error in errors)
    assert record.external == []


def test_run_all_stops_at_an_error_not_tagged_raises_exception(
    site_url: str, offline_page: tuple[Any, Offline]
) -> None:
    page, record = offline_page
    lab.open_notebook(page, site_url, "07-errors.ipynb")
    # the lesson with an error first that is not tagged raises-exception (in this page only)
    add_cell_below(page, "raise ValueError('not on purpose')")
    lab.run_all_cells(page)
    lab.wait_for_output(page, "ValueError: not on purpose", allowed=("ValueError",))
    # once the kernel is idle after the error, every cell Run All sent has run or was cancelled
    # (the status bar's, from the kernel; the toolbar's stays busy while cells wait, cancelled)
    page.wait_for_function(
        """() => [...document.querySelectorAll('.jp-StatusBar-Item')]
                   .some((item) => / \\| Idle$/.test(item.innerText.trim()))""",
        timeout=lab.KERNEL_TIMEOUT_MS,
        polling=250,
    )
    add_cell_below(page, DEFINED)
    page.keyboard.press("Control+Enter")
    lab.wait_for_output(page, "DEFINED [", allowed=("ValueError",))
    outputs = lab.outputs_text(page)
    # not one cell after the error ran: its deliberate errors neither
    assert "DEFINED [False, False, False]" in outputs
    assert "NameError" not in outputs
    assert "DONE 07" not in outputs
    assert record.external == []


def test_the_repl_runs_a_line_offline_and_reads_a_data_file_of_the_content(
    site_url: str, offline_page: tuple[Any, Offline]
) -> None:
    page, record = offline_page
    code = (
        "import sys; print('REPL', 6 * 7, sys.platform); "
        "print('ROWS', len(open('data/weather.csv').read().splitlines()) - 1)"
    )
    outputs = lab.run_in_repl(page, site_url, code, "ROWS ")
    assert "REPL 42 emscripten" in outputs
    rows = int(outputs.split("ROWS ")[1].split()[0])
    csv_rows = len((REPO / "content" / "data" / "weather.csv").read_text().splitlines()) - 1
    assert rows == csv_rows
    assert record.external == []


@pytest.mark.parametrize(
    ("code", "error"),
    [("1 / 0", "ZeroDivisionError: division by zero"), ("1 /", "SyntaxError: invalid syntax")],
)
def test_a_failing_cell_ends_a_tests_wait_at_once_naming_its_error(
    code: str, error: str, site_url: str, shared_page: tuple[Any, Offline]
) -> None:
    # the guard of the browser helpers (tests/browser/lab.py): a cell's error is not taken for
    # an output still to come (the wait would end in a timeout instead, of another type)
    page, _ = shared_page
    with pytest.raises(AssertionError, match="a cell failed while waiting for 'NEVER'") as failed:
        lab.run_in_repl(page, site_url, code, "NEVER")
    assert error in str(failed.value)


def test_pip_install_of_a_shipped_package_stays_offline(
    site_url: str, shared_page: tuple[Any, Offline]
) -> None:
    page, record = shared_page
    code = "%pip install attrs\nimport attrs\nprint('PIP', attrs.__version__)"
    lab.run_in_repl(page, site_url, code, "PIP ", kernel="packages")
    assert record.external == []


def test_isolated_site_answers_input_without_hanging(
    isolated_url: str, offline_page: tuple[Any, Offline]
) -> None:
    page, record = offline_page
    outputs = lab.run_notebook(page, isolated_url, "03-input.ipynb", "DONE 03", answer="Grace")
    assert "Grace" in outputs
    assert page.evaluate("crossOriginIsolated") is True
    # the same fast start as without isolation, even on a first visit: the runtime started
    # with the page (input() and files need no service worker here), from the snapshot
    assert ADOPTED in record.console
    assert any(RESTORED.match(line) for line in record.console)
    assert record.external == []


def test_isolated_site_runs_many_cells_in_a_row(
    isolated_url: str, offline_page: tuple[Any, Offline]
) -> None:
    page, record = offline_page
    lab.run_notebook(page, isolated_url, "04-packages.ipynb", "DONE 04")
    lab.run_notebook(page, isolated_url, "02-data-files.ipynb", "DONE 02", from_file_browser=True)
    assert record.external == []


def test_a_second_visit_runs_on_the_runtime_started_with_the_page(
    site_url: str, offline_page: tuple[Any, Offline]
) -> None:
    page, record = offline_page
    # first visit: the service worker installs (the page's early runtime waits for it)
    lab.run_in_repl(page, site_url, "print('FIRST', 1)", "FIRST 1")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")

    runtimes: list[str] = []

    def count_runtime(request: Any) -> None:
        if request.url.endswith("/pyodide.asm.wasm"):
            runtimes.append(request.url)

    page.on("request", count_runtime)
    record.console.clear()
    outputs = lab.run_notebook(page, site_url, "03-input.ipynb", "DONE 03", answer="Grace")
    assert "Grace" in outputs  # input() goes through the service worker
    assert ADOPTED in record.console
    assert len(runtimes) == 1  # the kernel did not load a second runtime

    code = "print('ROWS', len(open('data/weather.csv').read().splitlines()))"
    assert "ROWS " in lab.run_in_repl(page, site_url, code, "ROWS ")  # files: the drive
    assert record.console.count(ADOPTED) == 2
    assert len(runtimes) == 2
    assert record.external == []


def random_number(page: Any, site_url: str) -> float:
    code = "import random; print('RANDOM', random.random())"
    outputs = lab.run_in_repl(page, site_url, code, "RANDOM ")
    return float(outputs.split("RANDOM ")[1].split()[0])


#: the URLs of the origin's caches (page.evaluate awaits the promise)
CACHED_URLS = """async () => {
    const urls = [];
    for (const name of await caches.keys()) {
        for (const request of await (await caches.open(name)).keys()) urls.push(request.url);
    }
    return urls;
}"""


def test_a_first_visit_starts_the_kernel_first_then_fills_the_cache_for_the_next(
    default_site: Path, site_url: str, browser: Any
) -> None:
    """A learner's first visit over a network: the kernel starts the usual way, without its
    snapshot (twice what the start downloads), before the offline cache fills; the cache then
    keeps that snapshot, and the next visit restores from it."""
    port = urlsplit(site_url).port
    assert port
    url = f"http://{NETWORK_HOST}:{port}/"
    snapshot = f"{url}static/environments/python/kernel.snapshot"
    attrs = next((default_site / "static" / "wheels").glob("attrs-*.whl")).name
    # the console's lines, "fill" (the filling of the offline cache fetching a wheel of the
    # other environment, which only it fetches) and "snapshot" (any request for the snapshot),
    # in order
    events: list[str] = []
    answers: list[tuple[str, bool]] = []  # (site file, answered by the service worker)

    def request(request: Any) -> None:
        if request.service_worker and f"/static/wheels/{attrs}" in request.url:
            events.append("fill")
        if request.url.split("?")[0] == snapshot:
            events.append("snapshot")

    with (
        network_browser(browser, port) as other,
        offline_browser_page(other, site_host=NETWORK_HOST) as (page, record),
    ):
        page.on("console", lambda message: events.append(f"{message.type}: {message.text}"))
        page.context.on("request", request)
        page.on(
            "response",
            lambda response: answers.append((response.url, response.from_service_worker)),
        )

        first = random_number(page, url)  # a first visit
        first_output = len(events)
        controlled = page.evaluate("() => navigator.serviceWorker.controller !== null")
        first_visit = list(answers)
        # kept once the site's files are: the filling is complete
        lab.wait_until_cached(page, "/static/environments/python/kernel.snapshot")
        cached = page.evaluate(CACHED_URLS)
        answers.clear()
        second = random_number(page, url)  # the next visit
    assert_nothing_left_the_site(record)

    # the kernel started the usual way, and neither the snapshot nor the filling (the whole
    # site) competed with its start for CPU and network
    started = next(i for i, text in enumerate(events) if STARTED.match(text))
    assert "a first visit over a network" in events[started]
    assert "snapshot" not in events[:first_output]
    assert started < events.index("fill") < events.index("snapshot")
    # the service worker controlled the first visit, yet let the browser fetch the files
    # (streaming them through the worker slowed the start); the next visit is served by it
    assert controlled
    assert [url for url, _ in first_visit if "/build/" in url]
    # (JupyterLite's own requests, /api/, are its worker's)
    assert [url for url, worker in first_visit if worker and "/api/" not in url] == []
    assert [url for url, worker in answers if worker and "/build/" in url], answers
    # the cache kept the snapshot of the kernel that started, never every environment's
    snapshots = sorted(url.split("?")[0] for url in cached if url.endswith("kernel.snapshot"))
    assert snapshots == [snapshot]
    # the next visit restored from it, read from the cache (not downloaded again), with the
    # snapshot's random state seeded afresh
    assert len([text for text in events if RESTORED.match(text)]) == 1
    assert events.count("snapshot") == 1
    assert first != second


def test_without_its_snapshot_a_kernel_starts_the_usual_way(
    default_site: Path,
    serve_site: Callable[..., Served],
    offline_page: tuple[Any, Offline],
    tmp_path: Path,
) -> None:
    # a copy of the site whose snapshot is missing (a host that dropped the large file, say)
    site = linked_copy(default_site, tmp_path / "site")
    (site / "static" / "environments" / "python" / "kernel.snapshot").unlink()
    page, record = offline_page

    outputs = lab.run_in_repl(page, serve_site(site).url, "print('PLAIN', 6 * 7)", "PLAIN 42")

    assert "PLAIN 42" in outputs
    [line] = [line for line in record.console if STARTED.match(line)]
    assert "HTTP 404" in line
    assert not [line for line in record.console if RESTORED.match(line)]
    assert record.external == []


@pytest.fixture
def exposed_lab(
    default_site: Path,
    serve_site: Callable[..., Served],
    offline_page: tuple[Any, Offline],
    tmp_path: Path,
) -> tuple[Any, Offline]:
    """``offline_page`` in JupyterLab of an :func:`exposed_copy` of the default site, once the
    app exists."""
    page, record = offline_page
    page.goto(f"{serve_site(exposed_copy(default_site, tmp_path / 'site')).url}lab/index.html")
    page.wait_for_function("() => window.jupyterapp", polling=100, timeout=60_000)
    return page, record


#: in the page: every plugin's settings, as JupyterLite's settings manager gives them to the
#: registry, through lite-build's validator with the build's results and through JupyterLab's
#: own validator (the same class without results); what each gives, and the counts
COMPARE_VALIDATORS = """async () => {
    await window.jupyterapp.restored;
    const container = window._JUPYTERLAB['@lite-build/environments-extension'];
    const { PrecomputedSchemaValidator } = (await container.get('./index'))();
    const precomputed = await (await fetch('../build/schemas/lite-build-settings.json')).json();
    const ahead = new PrecomputedSchemaValidator(precomputed);
    const jupyterlab = new PrecomputedSchemaValidator({});
    const { values } = await window.jupyterapp.serviceManager.settings.list();
    const run = (validator, plugin) => {
        const copy = { ...plugin, data: { composite: {}, user: {} } };
        const errors = validator.validateData(copy);
        return JSON.stringify([errors, copy.data]);
    };
    const results = values.map((plugin) =>
        [plugin.id, run(ahead, plugin), run(jupyterlab, plugin)]);
    const listed = Object.keys(precomputed).length;
    return { results, ahead: ahead.counts, jupyterlab: jupyterlab.counts, listed };
}"""


def test_settings_validated_at_build_time_are_jupyterlabs_own(
    exposed_lab: tuple[Any, Offline],
) -> None:
    page, record = exposed_lab
    found = page.evaluate(COMPARE_VALIDATORS)

    # every plugin's settings, defaults and overrides, come out exactly as JupyterLab's
    # validator makes them (key order included); each of the build's results was used
    differ = [plugin for plugin, ahead, own in found["results"] if ahead != own]
    assert differ == []
    assert found["ahead"] == {"precomputed": found["listed"], "validated": 0}
    assert found["jupyterlab"] == {"precomputed": 0, "validated": len(found["results"])}
    assert found["listed"] == len(found["results"]) > 50
    # the app's own registry used them too (it says so once every plugin's settings loaded,
    # which may come after the app is restored)
    line = lab.console_line(page, record.console, "lite-build: settings validations: ")
    assert int(line.split("validations: ")[1].split()[0]) > 50
    assert record.external == []


def test_a_learners_own_settings_are_validated_in_the_browser_and_kept(
    exposed_lab: tuple[Any, Offline],
) -> None:
    page, record = exposed_lab
    # what the settings editor stores when a learner picks the dark theme
    page.evaluate(
        """async ([id, raw]) => {
            await window.jupyterapp.restored;
            await window.jupyterapp.serviceManager.settings.save(id, raw);
        }""",
        ["@jupyterlab/apputils-extension:themes", '{"theme": "JupyterLab Dark"}'],
    )

    page.reload()

    # the learner's choice is not what the build validated: our registry handed it to
    # JupyterLab's validator (the build's composite would say "JupyterLab Light")
    page.wait_for_selector(
        'body[data-jp-theme-name="JupyterLab Dark"]', state="attached", timeout=60_000
    )
    assert record.external == []
