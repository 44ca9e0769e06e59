"""Shared fixtures: stand-in registries, built sites, a local server, and an offline Chromium.

For the whole session PyPI and the npm registry are stood in for by ``tests/registry`` on
127.0.0.1, serving only what ``tests/registry/frozen.json`` pins; tests marked ``network``
reach the real ones and run only when ``-m`` names them.

Browser tests use Debian's Chromium (``/usr/bin/chromium``) through Playwright. Every request
that does not go to 127.0.0.1 fails (no other host resolves) and is recorded; the fixtures assert
that none happened.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import threading
import zipfile
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from lite_build.commands.check import CHROMIUM_ARGS as BROWSER_ARGS
from lite_build.commands.check import service_worker_routing
from lite_build.imports import skip_slow_optional_imports
from lite_build.kernel.wheels import KERNELS_PLUGIN_ID
from lite_build.site.jupyterlite import KernelEntry
from lite_build.site.paths import JUPYTER_LITE_JSON, SNAPSHOT_FILE
from lite_build.ui import NullReporter
from tests.registry.listing import FrozenListing
from tests.registry.server import RegistryServer
from tests.registry.store import default_store

REPO = Path(__file__).resolve().parent.parent
REGISTRY = pytest.StashKey[RegistryServer]()

CHROMIUM_ARGS = [
    # the flags lite-build check uses: no background traffic from Chromium itself
    *BROWSER_ARGS,
    "--disable-quic",
    # what blocks every other host (IP addresses too); offline_context records each request
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


def chromium_path() -> str:
    for candidate in (os.environ.get("LITE_BUILD_CHROMIUM"), "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail(
            "browser tests need Chromium: on Debian/Ubuntu run `apt-get install -y chromium` "
            "(bash scripts/setup.sh does it), or set LITE_BUILD_CHROMIUM to a Chromium binary"
        )
    return found


# -- the registries ----------------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def test_registry(request: pytest.FixtureRequest) -> Iterator[RegistryServer]:
    """PyPI and the npm registry as pinned in tests/registry/frozen.json, served from the store
    on 127.0.0.1; lite-build (and uv, building local projects) use it for the whole session."""
    with (
        RegistryServer(FrozenListing.load(), default_store()) as server,
        pytest.MonkeyPatch.context() as environment,
    ):
        for name, value in server.environment().items():
            environment.setenv(name, value)
        request.config.stash[REGISTRY] = server
        yield server


@pytest.fixture
def live_registries(test_registry: RegistryServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real PyPI and npm registry, for a test marked ``network``."""
    for name in test_registry.environment():
        monkeypatch.delenv(name)


#: the modules that take longest (``--durations`` of a whole run), started first: a run on
#: several workers then ends with short modules on every worker, not one long module on one.
#: pytest-xdist hands each worker two modules at the start: pairs of long browser modules here
#: (in one fresh-clone run, starting with the default site and test_build.py instead took
#: 1060 s against 894 s)
LONGEST_FIRST = (
    "browser/test_real_suites.py",
    "browser/test_content_versions.py",
    "browser/test_default_site.py",
    "browser/test_take_it_anywhere.py",
    "browser/test_kernels.py",
    "browser/test_fidelity.py",
)


def pytest_configure(config: pytest.Config) -> None:
    """The test processes, like the lite-build command, skip an import that only costs time
    (3 s of CPU in each; lite_build/imports.py): before collection imports the test modules."""
    skip_slow_optional_imports()


def _start_order(item: pytest.Item) -> int:
    tests = Path(__file__).parent
    path = item.path.relative_to(tests).as_posix() if item.path.is_relative_to(tests) else ""
    return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The longest modules first (a stable sort: each module's tests keep their order).

    Tests marked ``network`` run only when ``-m`` names them (``-m network``): a ``-m`` given
    for another reason (``-m "not browser"``) must not send the run to the live registries."""
    items.sort(key=_start_order)
    if "network" in (config.option.markexpr or ""):
        return
    live = [item for item in items if item.get_closest_marker("network")]
    if live:
        config.hook.pytest_deselected(items=live)
        items[:] = [item for item in items if not item.get_closest_marker("network")]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A test (or a fixture it set up) that asked the stand-in registries for something they do
    not have fails, with what was missing and the command that pins or fetches it."""
    report = yield
    if report.when == "call" and report.failed:
        _add_browser_console(item, report)
    registry = item.config.stash.get(REGISTRY, None)
    misses = registry.take_misses() if registry is not None else []
    if misses:
        lines = ["the test registry (tests/registry) could not serve:", *misses]
        if report.longrepr:
            lines += ["", str(report.longrepr)]
        report.outcome = "failed"
        report.longrepr = "\n".join(lines)
    return report


#: how many of a failed browser test's last console lines its report shows, and of its text
CONSOLE_TAIL = 80
PAGE_TEXT_CHARS = 1500


def _add_browser_console(item: pytest.Item, report: pytest.TestReport) -> None:
    """A failed browser test's report ends with its page's last console lines: what the app,
    the kernel and the service worker said is often the only trace of why a page never got
    where the test waited (a CI run cannot be watched)."""
    for value in getattr(item, "funcargs", {}).values():
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], Offline):
            page, record = value
            lines = record.console[-CONSOLE_TAIL:]
            title = f"browser console (last {len(lines)} of {len(record.console)} lines)"
            report.sections.append((title, "\n".join([f"page: {page.url}", *lines])))
            report.sections.append(("browser page's text", _page_text(page)))


def _page_text(page: Any) -> str:
    """The start of what the page shows (a dialog, an error page), or why it could not be read."""
    try:
        text: str = page.locator("body").inner_text(timeout=5_000)
    except Exception as error:  # a closed or hung page: the report says so, and goes on
        return f"(not readable: {str(error).splitlines()[0]})"
    return " ".join(text.split())[:PAGE_TEXT_CHARS]


# -- sites -------------------------------------------------------------------------------------


@dataclass
class Served:
    """A site served on 127.0.0.1 by lite-build's own server."""

    url: str
    server: Any


@pytest.fixture(scope="session")
def serve_site() -> Iterator[Callable[..., Served]]:
    from lite_build.commands.serve import make_server

    servers: list[Any] = []

    def start(site: Path, *, isolated: bool = False) -> Served:
        server = make_server(site, host="127.0.0.1", port=0, isolated=isolated)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append(server)
        host, port = server.server_address[:2]
        return Served(f"http://{host}:{port}/", server)

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def shared_folder(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """The folder every worker of a distributed run (pytest-xdist) shares; None otherwise."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        return None
    return tmp_path_factory.getbasetemp().parent


@pytest.fixture(scope="session")
def default_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's default distribution, built once per test run: in a distributed run
    the first worker that needs it builds it, the others wait for it and share it (read only:
    a test that changes a site changes a :func:`linked_copy`)."""
    from filelock import FileLock

    from lite_build.config import load_config
    from lite_build.pipeline import build

    shared = shared_folder(tmp_path_factory)
    if shared is None:
        output = tmp_path_factory.mktemp("default") / "site"
        build(load_config(cwd=REPO, output=output))
        return output
    output, built = shared / "default-site", shared / "default-site.built"
    with FileLock(shared / "default-site.lock"):
        if not built.exists():
            build(load_config(cwd=REPO, output=output))
            built.touch()
    return output


def linked_copy(site: Path, target: Path) -> Path:
    """A copy of ``site`` made of hard links (fast): unlink a file before changing it."""
    shutil.copytree(site, target, copy_function=os.link)
    return target


def exposed_copy(site: Path, target: Path) -> Path:
    """A copy of ``site`` that exposes the app to the page (``window.jupyterapp``)."""
    linked_copy(site, target)
    config = target / "jupyter-lite.json"
    data = json.loads(config.read_text())
    config.unlink()
    (target / "jupyter-lite.json.gz").unlink(missing_ok=True)
    data["jupyter-config-data"]["exposeAppInBrowser"] = "true"
    config.write_text(json.dumps(data))
    return target


def without_snapshots(site: Path, target: Path) -> Path:
    """A copy of the built ``site`` as ``snapshot = false`` would have built it: its settings
    name no kernel snapshot and it ships none (every kernel starts the usual way). What else
    the option changes, nothing, is checked by tests/pipeline/test_build.py."""
    linked_copy(site, target)
    config = target / JUPYTER_LITE_JSON
    data = json.loads(config.read_text(encoding="utf-8"))
    plugin = data["jupyter-config-data"]["litePluginSettings"][KERNELS_PLUGIN_ID]
    plugin["kernels"] = [
        dataclasses.replace(KernelEntry.from_json(kernel), snapshot_url=None).to_json()
        for kernel in plugin["kernels"]
    ]
    config.unlink()
    config.write_text(json.dumps(data), encoding="utf-8")
    config.with_name(config.name + ".gz").unlink(missing_ok=True)
    for snapshot in target.glob(f"static/environments/*/{SNAPSHOT_FILE}*"):
        snapshot.unlink()
    return target


def make_demo_wheel(folder: Path, modules: dict[str, str]) -> Path:
    """A pure-Python wheel "demo" 1.0 in ``folder`` holding ``modules`` (path in the wheel ->
    source)."""
    path = folder / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for name, source in modules.items():
            wheel.writestr(name, source)
        wheel.writestr("demo-1.0.dist-info/METADATA", "Name: demo\nVersion: 1.0\n")
        wheel.writestr("demo-1.0.dist-info/RECORD", "demo/__init__.py,,\n")
    return path


class RecordingReporter(NullReporter):
    """A reporter that keeps the lines the user would see (and logs them, as NullReporter does)."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def info(self, message: str) -> None:
        self.messages.append(message)
        super().info(message)


@dataclass
class Offline:
    """Requests seen by a browser context; anything not to its site's host failed to resolve."""

    external: list[str] = field(default_factory=list)
    local: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    # service workers' requests are seen too (JupyterLite's serves input() and files; the
    # offline cache's fills the cache): the driver reads the setting when it starts
    with service_worker_routing():
        playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()
    finally:
        playwright.stop()


#: the host name under which :func:`network_browser` reaches a site served on 127.0.0.1: a
#: learner's visit over a network (the kernel worker decides by the host how its kernel starts)
NETWORK_HOST = "course.test"


@contextlib.contextmanager
def network_browser(browser: Any, port: int) -> Iterator[Any]:
    """Another Chromium, like ``browser`` but that reaches the site served on 127.0.0.1:``port``
    as http://course.test:``port``/ (a secure context, as an https host would be) and no other
    host."""
    other = browser.browser_type.launch(
        executable_path=chromium_path(),
        headless=True,
        args=[
            *BROWSER_ARGS,
            "--disable-quic",
            f"--host-resolver-rules=MAP {NETWORK_HOST} 127.0.0.1, MAP * ~NOTFOUND",
            f"--unsafely-treat-insecure-origin-as-secure=http://{NETWORK_HOST}:{port}",
        ],
    )
    try:
        yield other
    finally:
        other.close()


def offline_context(
    browser: Any, *, site_host: str = "127.0.0.1", **options: Any
) -> tuple[Any, Offline]:
    """A fresh browser context (empty storage) whose only reachable host is ``site_host``, and
    the record of its requests; ``options`` go to Playwright's ``new_context``.

    The browser's host resolver rules (:data:`CHROMIUM_ARGS`, :func:`network_browser`) make
    every other host, IP addresses included, fail to resolve; each request the page, its
    workers or the site's service worker make is recorded here. The requests are watched, not
    intercepted: routing every request through Playwright cost about 0.55 s of CPU per page
    load (of 5), and turned off the browser's HTTP cache, which learners have."""
    record = Offline()
    context = browser.new_context(**options)

    def seen(request: Any) -> None:
        url = request.url
        if url.startswith(("data:", "blob:")) or urlsplit(url).hostname == site_host:
            record.local.append(url)
        elif url not in record.external:
            record.external.append(url)

    context.on("request", seen)
    return context, record


def assert_nothing_left_the_site(record: Offline) -> None:
    """The guard of every browser test: no request went to another host."""
    assert record.external == [], f"requests left the site: {record.external}"


@contextlib.contextmanager
def offline_browser_page(
    browser: Any, *, site_host: str = "127.0.0.1", **options: Any
) -> Iterator[tuple[Any, Offline]]:
    """A page in a fresh offline context (see :func:`offline_context`) whose console messages
    are recorded; the context closes on leaving. Asserting that nothing left the site is the
    caller's: a canary makes the requests the guard forbids."""
    context, record = offline_context(browser, site_host=site_host, **options)
    try:
        page = context.new_page()
        page.on("console", lambda message: record.console.append(f"{message.type}: {message.text}"))
        page.set_default_timeout(120_000)
        yield page, record
    finally:
        context.close()


@pytest.fixture
def offline_page(browser: Any) -> Iterator[tuple[Any, Offline]]:
    """A page in a fresh offline context, guarded: see :func:`offline_browser_page`."""
    with offline_browser_page(browser) as (page, record):
        yield page, record
    # after the test's last line too: whatever the page did until it closed
    assert_nothing_left_the_site(record)


@pytest.fixture(scope="module")
def shared_page(browser: Any) -> Iterator[tuple[Any, Offline]]:
    """One guarded page for the tests of a module that only read their sites: a visit after the
    module's first is a revisit (the service worker and its cache in place), as most learners'
    visits are, and costs no new browser context. A test that watches a first visit, or counts
    console lines, takes :func:`offline_page`."""
    with offline_browser_page(browser) as (page, record):
        yield page, record
    assert_nothing_left_the_site(record)


# -- no silent skips ---------------------------------------------------------------------------


def _skipped(config: pytest.Config) -> list[str]:
    """The tests that skipped without a ``skip_allowed`` mark (the terminal reporter's tally)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    reports = reporter.stats.get("skipped", []) if reporter is not None else []
    return [report.nodeid for report in reports if "skip_allowed" not in report.keywords]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI a skipped test is a failure, unless it is marked ``skip_allowed`` with a reason:
    a test that cannot run there proves nothing, and a green run would hide it."""
    if os.environ.get("CI") and exitstatus == pytest.ExitCode.OK and _skipped(session.config):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    skipped = _skipped(terminalreporter.config)
    if os.environ.get("CI") and skipped:
        terminalreporter.write_line(
            f"{len(skipped)} test(s) skipped in CI, which fails the run (mark a test "
            "skip_allowed, with the reason, if CI may skip it): " + ", ".join(skipped),
            red=True,
        )
