"""Where lite-build's own files are, inside the installed package: one place for every path
code reads from the package (scripts run in Node.js or a browser, built extensions, templates).
"""

from __future__ import annotations

from pathlib import Path

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
    """The text of one of the browser scripts in :data:`BROWSER`."""
    return (BROWSER / name).read_text(encoding="utf-8")
