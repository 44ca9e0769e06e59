"""Where things are in a built site: folder and file names, in one place."""

from __future__ import annotations

from pathlib import Path

JUPYTER_LITE_JSON = "jupyter-lite.json"


#: written into every site: identifies a folder lite-build may replace, and describes the site
SITE_MANIFEST = "lite-build.json"


PYODIDE_DIR = "static/pyodide"


WHEELS_DIR = "static/wheels"


#: each environment's pyodide-lock.json and piplite all.json: static/environments/<name>/
ENVIRONMENTS_DIR = "static/environments"


#: the wheels of every environment, stored once, seen from an environment's folder (the lock's
#: file_name and the piplite index's urls are both relative to the file's own folder)
WHEELS_FROM_LOCK = "../../wheels/"


#: files of the jupyterlite app folder that no browser ever requests
APP_JUNK = ("rspack.config.js", "rspack.config.analyze.js", "rspack.config.watch.js")


def environment_dir(name: str) -> str:
    """An environment's folder in the site, relative to the site root."""
    return f"{ENVIRONMENTS_DIR}/{name}"


def logo_name(logo: Path | None) -> str | None:
    """The name an environment's logo gets in the environment's folder of the site."""
    return f"logo{logo.suffix.lower()}" if logo else None
