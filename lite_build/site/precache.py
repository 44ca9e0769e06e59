"""Offline after the first visit: a precache service worker generated for each build.

JupyterLite ships its own ``service-worker.js`` (stdin for ``input()``, drive sync); a scope has
one worker, so lite-build extends that worker instead of registering another: one
``importScripts`` line at its top loads ``lite-build-sw.js``, whose fetch listener answers the
site's own files from a cache and lets every other request fall through to JupyterLite's.

The list of files and the cache's name come from the build: the name is a hash of every
file's content, so a rebuild that changes anything gets a new cache (and a new worker, because
the ``importScripts`` line carries the hash), and the old cache is dropped once the new one is
complete. The list also gives each file's sha256 and size: the worker stores and serves only
bytes that match them, so a cache never holds another build's file (a rebuild while it fills)
or one another script of the same origin wrote into it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from lite_build.errors import LiteBuildError
from lite_build.resources import BROWSER, browser_protocol
from lite_build.site.paths import PRECACHE_WORKER, SERVICE_WORKER, SNAPSHOT_FILE

#: the service worker's code (the site's file list goes in front of it)
PRECACHE_TEMPLATE = BROWSER / "precache-worker.js"

#: shared with the service worker (extension/src/protocol.ts): the caches' names start with
#: CACHE_PREFIX, and the worker reads the site's file list from the global PRECACHE_GLOBAL
CACHE_PREFIX = browser_protocol()["CACHE_PREFIX"]
PRECACHE_GLOBAL = browser_protocol()["PRECACHE_GLOBAL"]
#: never precached: the workers themselves (browsers fetch them directly), host configuration,
#: compressed siblings (the browser asks for the plain name) and source maps (developer tools)
EXCLUDED_NAMES = frozenset({SERVICE_WORKER, PRECACHE_WORKER, "_headers", ".nojekyll"})
EXCLUDED_SUFFIXES = (".gz", ".br", ".map")
#: served network-first ("fresh"): what says which content exists and the content itself, so an
#: online visit shows the latest build at once; the app, runtime and wheels stay cache-first
FRESH_FOLDERS = ("files/", "api/")
FRESH_SUFFIXES = (".html", "jupyter-lite.json", "lite-build.json", "lite-build-content.json")
#: kept "on demand": large files only the kernel of one environment needs (its snapshot) are not
#: downloaded in the background for every environment, only kept when a kernel fetches them
ON_DEMAND_NAMES = frozenset({SNAPSHOT_FILE})


@dataclass(frozen=True)
class Precache:
    version: str
    files: tuple[str, ...]
    size: int
    #: served and kept by the worker like the others, but never fetched in the background
    on_demand: tuple[str, ...] = ()
    #: every listed file (``files`` and ``on_demand``) -> (sha256 in hex, size in bytes)
    integrity: dict[str, tuple[str, int]] = field(default_factory=dict)

    @property
    def fresh(self) -> tuple[str, ...]:
        """The listed files the worker takes from the network first, when it answers."""
        return tuple(name for name in self.files if is_fresh(name))

    def cache_name(self, folder: str) -> str:
        """The browser cache's name for the site served from ``folder`` (a URL path)."""
        return f"{CACHE_PREFIX}{self.version} {folder}"


def precached_files(site: Path) -> list[Path]:
    """The files of ``site`` a visitor's browser keeps for offline use, in a stable order."""
    return [path for path in _kept_files(site) if path.name not in ON_DEMAND_NAMES]


def on_demand_files(site: Path) -> list[Path]:
    """The files of ``site`` the browser keeps only once the page fetched them."""
    return [path for path in _kept_files(site) if path.name in ON_DEMAND_NAMES]


def _kept_files(site: Path) -> list[Path]:
    return [
        path
        for path in sorted(site.rglob("*"))
        if path.is_file()
        and path.name not in EXCLUDED_NAMES
        and not path.name.endswith(EXCLUDED_SUFFIXES)
    ]


def is_fresh(name: str) -> bool:
    """Whether the site file ``name`` (a relative POSIX path) is served network-first."""
    return name.startswith(FRESH_FOLDERS) or name.endswith(FRESH_SUFFIXES)


def plan_precache(site: Path) -> Precache:
    """The precache list of ``site`` and its version: a hash of every listed file's content."""
    digest = hashlib.sha256()
    names = []
    on_demand = []
    integrity = {}
    size = 0
    for path in _kept_files(site):
        name = path.relative_to(site).as_posix()
        data = path.read_bytes()
        sha256 = hashlib.sha256(data).hexdigest()
        digest.update(f"{name}\0{sha256}\n".encode())
        integrity[name] = (sha256, len(data))
        if path.name in ON_DEMAND_NAMES:
            on_demand.append(name)
        else:
            names.append(name)
            size += len(data)
    return Precache(
        version=digest.hexdigest()[:16],
        files=tuple(names),
        size=size,
        on_demand=tuple(on_demand),
        integrity=integrity,
    )


def worker_script(precache: Precache) -> str:
    """The text of ``lite-build-sw.js`` for ``precache``."""
    template = PRECACHE_TEMPLATE.read_text("utf-8")
    data = json.dumps(
        {
            "version": precache.version,
            "files": list(precache.files),
            "fresh": list(precache.fresh),
            "onDemand": list(precache.on_demand),
            "integrity": {name: list(entry) for name, entry in precache.integrity.items()},
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return f"self.{PRECACHE_GLOBAL} = {data};\n{template}"


def import_line(precache: Precache) -> str:
    # the hash in the URL changes service-worker.js itself, so browsers always see the update
    return f'importScripts("{PRECACHE_WORKER}?v={precache.version}");\n'


def install_precache(site: Path) -> Precache:
    """Write ``lite-build-sw.js`` and load it first in JupyterLite's ``service-worker.js``."""
    worker = site / SERVICE_WORKER
    if not worker.is_file():
        raise LiteBuildError(
            f"{SERVICE_WORKER} is missing from the JupyterLite app, so the site cannot be "
            "precached for offline use; set `precache = false` or reinstall jupyterlite-core"
        )
    precache = plan_precache(site)
    (site / PRECACHE_WORKER).write_text(worker_script(precache), encoding="utf-8")
    text = worker.read_text(encoding="utf-8")
    # after the "use strict" prologue (it must stay first), before JupyterLite's listeners
    prologue = re.match(r"""\s*(["'])use strict\1;?\s*""", text)
    head = prologue.group(0) if prologue else ""
    worker.write_text(head + import_line(precache) + text[len(head) :], encoding="utf-8")
    return precache
