"""Where things are in a built site: folder and file names, in one place.

Modules that make these files import their names from here (and keep them under the names
they always had, such as ``precache.SERVICE_WORKER``).
"""

from __future__ import annotations

from pathlib import Path

from lite_build.launcher.start import PRECOMPRESSED_LIST

# -- the site root ---------------------------------------------------------------------------
#: JupyterLite's settings; lite-build's part: site/jupyterlite.py
JUPYTER_LITE_JSON = "jupyter-lite.json"
#: written into every site: identifies a folder lite-build may replace, and describes the site
SITE_MANIFEST = "lite-build.json"
#: each content file's version, for course updates (site/content.py)
CONTENT_VERSIONS = "lite-build-content.json"
#: the files the build wrote a .gz sibling for (site/compress.py; read by the launcher, which
#: is standard library only and so holds the name)
PRECOMPRESSED = PRECOMPRESSED_LIST
#: the embedding example page (commands/embed.py)
EMBED_PAGE = "embed.html"
#: JupyterLite's service worker, and ours that it imports first (site/precache.py)
SERVICE_WORKER = "service-worker.js"
PRECACHE_WORKER = "lite-build-sw.js"
#: files of the jupyterlite app folder that no browser ever requests
APP_JUNK = ("rspack.config.js", "rspack.config.analyze.js", "rspack.config.watch.js")

# -- the runtime and the packages ------------------------------------------------------------
PYODIDE_DIR = "static/pyodide"
WHEELS_DIR = "static/wheels"
#: each environment's files: static/environments/<name>/
ENVIRONMENTS_DIR = "static/environments"
#: in an environment's folder (and its work folder): its Pyodide lock, its piplite index, its
#: kernel snapshot
LOCK = "pyodide-lock.json"
PIPLITE_INDEX = "all.json"
SNAPSHOT_FILE = "kernel.snapshot"
#: the wheels of every environment, stored once, seen from an environment's folder (the lock's
#: file_name and the piplite index's urls are both relative to the file's own folder)
WHEELS_FROM_LOCK = "../../wheels/"


def environment_dir(name: str) -> str:
    """An environment's folder in the site, relative to the site root."""
    return f"{ENVIRONMENTS_DIR}/{name}"


def logo_name(logo: Path | None) -> str | None:
    """The name an environment's logo gets in the environment's folder of the site."""
    return f"logo{logo.suffix.lower()}" if logo else None
