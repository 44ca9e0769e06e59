"""Where lite-build's own files are, inside the installed package: one place for every path
code reads from the package (scripts run in Node.js or a browser, built extensions, templates).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TypedDict, cast

PACKAGE = Path(__file__).resolve().parent
#: scripts lite-build runs in Node.js at build time, and the ``init`` project template
TEMPLATES = PACKAGE / "templates"
#: scripts that run on their own in the site's pages and workers (and ``lite-build check``'s
#: page), built from ``extension/src/standalone/`` by scripts/setup.sh
BROWSER = PACKAGE / "browser"
#: our JupyterLab extension, built from ``extension/`` by scripts/setup.sh
LABEXTENSION = PACKAGE / "labextension"
#: the settings composer, built from ``extension/`` by scripts/setup.sh
COMPOSER = PACKAGE / "composer" / "compose-settings.cjs"


def browser_script(name: str) -> str:
    """The text of one of the built files in :data:`BROWSER`."""
    return (BROWSER / name).read_text(encoding="utf-8")


def fill_script(script: str, **values: object) -> str:
    """``script`` with each placeholder named in ``values`` (a constant the script declares,
    such as ``declare const SETTINGS``) replaced by its value as JSON, safe inside an HTML
    ``<script>`` element."""
    for name, value in values.items():
        script = script.replace(name, json.dumps(value, sort_keys=True).replace("</", "<\\/"))
    return script


class BrowserProtocol(TypedDict):
    """The constants of ``extension/src/protocol.ts``, which the build writes to
    ``protocol.json`` in :data:`BROWSER`: one source for the browser and for Python."""

    #: the ``type`` of each message between the page, the kernel's worker and the service worker
    MESSAGE: dict[str, str]
    #: every offline cache's name starts with it
    CACHE_PREFIX: str
    #: the service worker's global that holds the build's list of files
    PRECACHE_GLOBAL: str


def browser_protocol() -> BrowserProtocol:
    """The browser scripts' protocol constants (see :class:`BrowserProtocol`)."""
    return cast(BrowserProtocol, json.loads(browser_script("protocol.json")))
