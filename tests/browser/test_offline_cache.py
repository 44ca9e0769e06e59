"""The offline cache holds and serves only the bytes of its own build (extension/src/standalone/
precache-worker.ts): a file the server changed while the cache filled is refused, and an entry
that another script of the same origin wrote into the cache is never served."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from lite_build.site.paths import PRECACHE_WORKER
from lite_build.site.precache import CACHE_PREFIX
from tests.browser import lab
from tests.conftest import Offline, Served, exposed_copy, linked_copy

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def precache_list(site: Path) -> dict[str, Any]:
    """The file list the build put in front of ``site``'s service worker."""
    line = (site / PRECACHE_WORKER).read_text().split("\n", 1)[0]
    data: dict[str, Any] = json.loads(
        line.removeprefix("self.LITE_BUILD_PRECACHE = ").removesuffix(";")
    )
    return data


def rewrite(site: Path, name: str, data: bytes) -> None:
    """What a rebuild does to one file of a linked copy (its compressed sibling goes too)."""
    for path in (site / name, site / f"{name}.gz"):
        path.unlink(missing_ok=True)
    (site / name).write_bytes(data)


@pytest.fixture
def own_site(
    default_site: Path, serve_site: Callable[..., Served], tmp_path: Path
) -> tuple[Path, str, dict[str, Any]]:
    """A copy of the default site (hard links: unlink a file before changing it), its address
    and its service worker's file list."""
    site = linked_copy(default_site, tmp_path / "site")
    return site, serve_site(site).url, precache_list(site)


def test_the_build_lists_every_files_own_hash_and_size(default_site: Path) -> None:
    listed = precache_list(default_site)
    names = [*listed["files"], *listed["onDemand"]]

    assert sorted(listed["integrity"]) == sorted(names)
    for name in names:
        data = (default_site / name).read_bytes()  # as served: patches came before the list
        assert listed["integrity"][name] == [hashlib.sha256(data).hexdigest(), len(data)], name


#: every entry of the cache named ``name``, with the SHA-256 of its bytes
CACHE_CONTENT = """async (name) => {
    const cache = await caches.open(name);
    const hex = (b) =>
        Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, '0')).join('');
    const out = {};
    for (const request of await cache.keys()) {
        const bytes = await (await cache.match(request)).arrayBuffer();
        out[request.url] = hex(await crypto.subtle.digest('SHA-256', bytes));
    }
    return out;
}"""

#: resolves with the worker's first answer about a filling that stopped (complete or not)
FILL_STOPPED = """() => new Promise((resolve) => {
    navigator.serviceWorker.addEventListener('message', (event) => {
        if (event.data && event.data.type === 'lite-build-precache') resolve(event.data);
    });
    navigator.serviceWorker.controller.postMessage({type: 'lite-build-precache'});
})"""


#: in an exposed page: once the app is restored and what runs after that has run
RESTORED = """async () => {
    await window.jupyterapp.restored;
    await new Promise((resolve) => setTimeout(resolve, 0));
    return navigator.serviceWorker.controller === null;
}"""


def test_a_page_that_started_before_the_worker_took_it_still_fills_the_cache(
    default_site: Path,
    serve_site: Callable[..., Served],
    offline_page: tuple[Any, Offline],
    tmp_path: Path,
) -> None:
    """A page without a kernel asks for the filling as soon as the app is restored; on a first
    visit the service worker may not have taken the page yet (here its script is held back
    until then): the page asks once it has."""
    site = exposed_copy(default_site, tmp_path / "site")
    url = serve_site(site).url
    page, record = offline_page
    held: list[Any] = []
    page.context.route("**/service-worker.js*", lambda route: held.append(route))  # runs first

    page.goto(f"{url}tree/index.html")
    page.wait_for_function("() => window.jupyterapp", polling=100, timeout=60_000)
    uncontrolled = page.evaluate(RESTORED)
    registering = len(held)
    for route in held:
        route.continue_()
    page.context.unroute("**/service-worker.js*")

    assert uncontrolled and registering
    lab.wait_until_cached(page, f"/{precache_list(site)['files'][0]}")
    assert record.external == []


def test_a_rebuild_while_the_cache_fills_puts_none_of_its_files_in_the_cache(
    own_site: tuple[Path, str, dict[str, Any]], offline_page: tuple[Any, Offline]
) -> None:
    (site, url, listed), (page, record) = own_site, offline_page
    page.goto(f"{url}tree/index.html")  # a page without a kernel: it asks to fill at once
    first = listed["files"][0]
    lab.wait_until_cached(page, f"/{first}")

    # the site is rebuilt with another package version: a new lock, a changed wheel
    changed = sorted(
        [
            "static/environments/python/pyodide-lock.json",
            next(name for name in listed["files"] if name.startswith("static/wheels/attrs-")),
        ]
    )
    for name in changed:
        rewrite(site, name, (site / name).read_bytes() + b"\n")
    state = page.evaluate(FILL_STOPPED)

    assert state["complete"] is False
    assert state["refused"] == changed
    name = f"{CACHE_PREFIX}{listed['version']} /"
    content = page.evaluate(CACHE_CONTENT, name)
    stored = {unquote(key.removeprefix(url)): digest for key, digest in content.items()}
    # everything else is kept, and all of it is the first build's
    assert sorted(stored) == sorted(set(listed["files"]) - set(changed))
    assert all(stored[key] == listed["integrity"][key][0] for key in stored)
    assert record.external == []


#: what a script of another site on this host (or a page of the content) can do to the cache
POISON_THE_CACHE = """async ([own, earlier, target, other, query]) => {
    const poison = () => new Response('POISON', {headers: {'Content-Type': 'text/javascript'}});
    await (await caches.open(own)).put(target, poison());
    await (await caches.open(own)).put(target + '?' + query, poison());
    await (await caches.open(earlier)).put(other, poison());
}"""

FETCH = "async (path) => fetch(path).then((r) => r.text(), (e) => 'FAILED ' + e.name)"


def test_a_cache_entry_written_by_another_script_is_never_served(
    own_site: tuple[Path, str, dict[str, Any]], offline_page: tuple[Any, Offline]
) -> None:
    (site, url, listed), (page, record) = own_site, offline_page
    own = f"{CACHE_PREFIX}{listed['version']} /"
    earlier = f"{CACHE_PREFIX}{'0' * 16} /"  # posing as a previous build's cache
    target, other = [name for name in listed["files"] if name.startswith("build/")][:2]
    page.goto(f"{url}{PRECACHE_WORKER}")  # any document of the origin; nothing asks to fill
    page.evaluate(POISON_THE_CACHE, [own, earlier, f"{url}{target}", f"{url}{other}", "v=1"])
    page.evaluate(
        """async () => {
            await navigator.serviceWorker.register('service-worker.js?enableCache=false');
            await navigator.serviceWorker.ready;
        }"""
    )
    page.reload()  # now controlled by the site's worker, which found its cache already there
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")

    # the entry under the file's own URL is checked and dropped; the one under another URL
    # (a query the worker does not know) is never looked at
    assert page.evaluate(FETCH, f"{target}?v=1") == (site / target).read_text()
    assert page.evaluate(FETCH, target) == (site / target).read_text()
    # offline, with no copy of its own, the worker does not take the "earlier build's" either
    page.context.set_offline(True)
    offline = page.evaluate(FETCH, other)
    page.context.set_offline(False)
    assert offline == "FAILED TypeError"
    assert record.external == []
