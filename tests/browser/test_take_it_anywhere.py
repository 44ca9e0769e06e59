"""Take it anywhere: the bundle on a read-only stick, a sub-path host, offline after one visit."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from lite_build.commands.bundle import make_bundle
from lite_build.commands.serve import make_server
from lite_build.config import load_config
from lite_build.pipeline import build
from lite_build.site.paths import PRECACHE_WORKER
from lite_build.site.precache import CACHE_PREFIX
from tests.browser import lab
from tests.commands.test_bundle import stop_launcher, system_python
from tests.conftest import Offline

pytestmark = [pytest.mark.browser, pytest.mark.integration]

SUB_PATH = "course/2026/site/"
#: the notice of extension/src/offline.ts
UPDATED_MESSAGE = (
    "This site was updated. Reload the page to use the new version; your files are kept."
)


def write_project(root: Path, greeting: str) -> None:
    (root / "lessons").mkdir(parents=True, exist_ok=True)
    (root / "lite-build.toml").write_text('title = "Anywhere"\ncontent = ["lessons"]\n')
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(f"print({greeting!r})")]
    nbformat.write(notebook, root / "lessons" / "hello.ipynb")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("anywhere")
    write_project(root, "HELLO one")
    build(load_config(cwd=root))
    return root


def precache_of(site: Path) -> tuple[str, int]:
    """The version of ``site``'s precache and its number of files."""
    text = (site / PRECACHE_WORKER).read_text().split("\n", 1)[0]
    data = json.loads(text.removeprefix("self.LITE_BUILD_PRECACHE = ").removesuffix(";"))
    return data["version"], len(data["files"])


#: listens for the precache worker's answers; asks again until this build's cache is complete
ASK_FOR_PRECACHE = """(version) => {
    const workers = navigator.serviceWorker;
    window.liteBuildPrecache = null;
    const ask = () =>
        workers.controller && workers.controller.postMessage({type: 'lite-build-precache'});
    workers.addEventListener('message', (event) => {
        const state = event.data;
        if (!state || state.type !== 'lite-build-precache') return;
        window.liteBuildPrecacheLast = state;
        if (state.version === version && state.complete) window.liteBuildPrecache = state;
        else setTimeout(ask, 500);  // an older build's worker, or the filling was interrupted
    });
    workers.addEventListener('controllerchange', ask);
    workers.ready.then(ask);
}"""


#: the default environment's snapshot, as the site serves it
SNAPSHOT = "static/environments/python/kernel.snapshot"
#: asks the offline cache to keep an on-demand file (IPrecacheRequest's ``keep``)
KEEP_SNAPSHOT = """(path) => navigator.serviceWorker.controller.postMessage(
    {type: 'lite-build-precache', keep: [new URL(path, location.href.split('lab/')[0]).href]})"""
#: whether the cache named ``name`` holds ``path`` (keyed by URL, without a query)
HOLDS = """async ([name, path]) => (await (await caches.open(name)).keys())
    .some((request) => request.url.endsWith('/' + path))"""


WORKER_STATE = """async () => {
    const registration = await navigator.serviceWorker.getRegistration();
    const script = (worker) => worker && `${worker.scriptURL} ${worker.state}`;
    return {
        last: window.liteBuildPrecacheLast,
        controller: script(navigator.serviceWorker.controller),
        active: script(registration && registration.active),
        waiting: script(registration && registration.waiting),
        installing: script(registration && registration.installing),
        caches: await caches.keys(),
    };
}"""


def wait_for_precache(page: Any, site: Path) -> str:
    """Wait until the worker reports this build's cache complete; check it is the only one."""
    version, count = precache_of(site)
    folder = page.evaluate(
        "async () => new URL('./', (await navigator.serviceWorker.ready).active.scriptURL).pathname"
    )
    name = f"{CACHE_PREFIX}{version} {folder}"
    page.evaluate(ASK_FOR_PRECACHE, version)
    try:
        state = page.wait_for_function(
            "() => window.liteBuildPrecache", timeout=lab.KERNEL_TIMEOUT_MS
        )
    except Exception as error:
        seen = page.evaluate(WORKER_STATE)
        raise AssertionError(f"no complete precache {name} ({count} files); saw {seen}") from error
    assert state.json_value()["cached"] == count
    # page.evaluate awaits promises (wait_for_function would take a pending promise as truthy);
    # kernel snapshots are kept on demand, beside the precached files: not counted
    caches = page.evaluate(
        """async () => {
            const names = (await caches.keys()).filter(n => n.startsWith('lite-build-precache-'));
            const count = async (n) => (await (await caches.open(n)).keys())
                .filter((request) => !request.url.endsWith('/kernel.snapshot')).length;
            return Promise.all(names.map(async (n) => [n, await count(n)]));
        }"""
    )
    assert caches == [[name, count]]
    return name


def fetch_text(page: Any, path: str) -> str:
    """``path`` (relative to the page) as the page's own fetch sees it: through the worker."""
    text: str = page.evaluate("async (path) => (await fetch(path)).text()", path)
    return text


@pytest.fixture
def sub_path_server(project: Path, tmp_path: Path) -> Iterator[str]:
    """The site mounted at /course/2026/site/ of a plain static server."""
    mount = tmp_path / "www" / SUB_PATH.rstrip("/")
    # a copy: the servers never follow a symbolic link out of the folder they serve
    shutil.copytree(project / "_output", mount)
    server = make_server(tmp_path / "www", port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"{server.url}{SUB_PATH}"
    server.shutdown()
    server.server_close()


def test_the_bundle_runs_from_a_read_only_folder_with_a_plain_python(
    project: Path, tmp_path: Path, offline_page: tuple[Any, Offline]
) -> None:
    bundle = make_bundle(project / "_output", tmp_path / "anywhere.zip")
    stick = tmp_path / "stick"
    with zipfile.ZipFile(bundle.path) as archive:
        archive.extractall(stick)
    subprocess.run(["chmod", "-R", "a-w", str(stick)], check=True)
    process = subprocess.Popen(
        [*system_python(), "start.py", "--no-browser", "--port", "0"],
        cwd=stick,
        env={},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split(" at ")[1].strip()
        page, record = offline_page
        lab.run_in_repl(page, url, "print('FROM', 6 * 7)", "FROM 42")
        assert record.external == []
    finally:
        stop_launcher(process)
        subprocess.run(["chmod", "-R", "u+w", str(stick)], check=True)
    assert process.returncode == 0


def test_under_a_sub_path_it_works_then_keeps_working_offline(
    project: Path, sub_path_server: str, offline_page: tuple[Any, Offline]
) -> None:
    page, record = offline_page
    site = project / "_output"
    lab.run_in_repl(page, sub_path_server, "print('ONLINE', 1 + 1)", "ONLINE 2")
    assert page.url.startswith(sub_path_server)
    wait_for_precache(page, site)

    page.context.set_offline(True)
    # twice: the worker must stay registered across offline loads
    lab.run_in_repl(page, sub_path_server, "print('OFFLINE', 2 + 2)", "OFFLINE 4")
    outputs = lab.run_notebook(page, sub_path_server, "hello.ipynb", "HELLO one")
    assert "HELLO one" in outputs
    page.context.set_offline(False)

    assert record.external == []


def test_a_rebuild_takes_over_open_pages_says_so_and_replaces_the_cache(
    tmp_path: Path, serve_site: Any, offline_page: tuple[Any, Offline]
) -> None:
    write_project(tmp_path, "HELLO one")
    build(load_config(cwd=tmp_path))
    site = tmp_path / "_output"
    url = serve_site(site).url
    page, record = offline_page
    assert "HELLO one" in lab.run_notebook(page, url, "hello.ipynb", "HELLO one")
    first = wait_for_precache(page, site)
    # the kernel's snapshot kept, as a page whose kernel started without it asks
    page.evaluate(KEEP_SNAPSHOT, SNAPSHOT)
    lab.wait_until_cached(page, f"/{SNAPSHOT}")

    write_project(tmp_path, "HELLO two")
    build(load_config(cwd=tmp_path))
    # what the page does when the learner comes back to the tab
    page.evaluate("async () => (await navigator.serviceWorker.getRegistration()).update()")
    try:
        page.get_by_text(UPDATED_MESSAGE).wait_for(timeout=60_000)
    except Exception as error:
        raise AssertionError(f"no update notice; saw {page.evaluate(WORKER_STATE)}") from error
    second = wait_for_precache(page, site)
    assert second != first
    # the rebuild left the environment alone: its snapshot, kept by the first build's cache,
    # is carried into the new one, not dropped with the old cache
    assert page.evaluate(HOLDS, [second, SNAPSHOT])

    page.context.set_offline(True)
    page.reload()
    seen = len(record.console)
    assert "HELLO two" in lab.run_notebook(page, url, "hello.ipynb", "HELLO two")
    page.context.set_offline(False)
    assert any("restored from its snapshot" in line for line in record.console[seen:])
    assert record.external == []


def test_with_precache_off_only_jupyterlites_own_worker_runs(
    tmp_path: Path, serve_site: Any, offline_page: tuple[Any, Offline]
) -> None:
    write_project(tmp_path, "HELLO plain")
    with (tmp_path / "lite-build.toml").open("a") as config:
        config.write("precache = false\n")
    site = build(load_config(cwd=tmp_path)).output
    assert not (site / PRECACHE_WORKER).exists()
    assert "lite-build" not in (site / "service-worker.js").read_text()

    page, record = offline_page
    url = serve_site(site).url
    lab.run_in_repl(page, url, "print('PLAIN', 3 * 3)", "PLAIN 9")
    worker, workers, caches = page.evaluate(
        """async () => {
            const registration = await navigator.serviceWorker.ready;
            await fetch('../jupyter-lite.json');  // a request the precache would answer
            const script = registration.active.scriptURL;
            const text = await (await fetch(script)).text();
            return [script, text.includes('importScripts'), await caches.keys()];
        }"""
    )
    assert worker == f"{url}service-worker.js?enableCache=false"
    assert workers is False
    assert not [name for name in caches if name.startswith(CACHE_PREFIX)]
    assert not [seen for seen in record.local if PRECACHE_WORKER in seen]
    assert record.external == []
