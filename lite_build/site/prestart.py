"""Starting the kernel's Python runtime while the app loads.

JupyterLab takes seconds to boot before it asks for a kernel, and only then does the kernel's
worker start compiling Pyodide, loading the kernel's packages and importing IPython. A small
script at the top of each app page that runs kernels starts a kernel worker at once, for the
environment the page most likely needs (the REPL's ``?kernel=``, else the site's default
kernel), so both happen side by side. Our extension adopts that worker for the first kernel of
the same environment, or ends it (see extension/src/standalone/prestart.worker.ts and
extension/src/index.ts).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lite_build.errors import LiteBuildError
from lite_build.kernel.wheels import ENVIRONMENTS_EXTENSION
from lite_build.resources import browser_script
from lite_build.site.jupyterlite import SiteSettings
from lite_build.site.paths import SERVICE_WORKER

#: the apps whose pages start kernels
KERNEL_APPS = ("lab", "notebooks", "repl", "consoles")
#: in the page script's first line (extension/build-browser.js): a page that holds it has the
#: script already
MARKER = "lite-build:prestart"

#: the page script (extension/src/standalone/prestart-page.ts): runs before any bundle loads;
#: its one ``SETTINGS`` is replaced by :func:`prestart_settings` as JSON at build time
PAGE_SCRIPT = browser_script("prestart-page.js")


def prestart_settings(site: Path) -> dict[str, Any]:
    """What the page script needs, from the site's jupyter-lite.json and our extension's files."""
    settings = SiteSettings.read(site)
    static = site / "extensions" / ENVIRONMENTS_EXTENSION / "static"
    return {
        "name": settings.default_kernel,
        "pyodideUrl": settings.pyodide_url,
        "worker": _one_file(site, static, "prestart.worker.*.js"),
        "kernel": _one_file(site, static, "comlink.worker.*.js"),
        "isolatedKernel": _one_file(site, static, "coincident.worker.*.js"),
        "environments": {kernel.name: kernel.load_pyodide_options() for kernel in settings.kernels},
        "serviceWorker": service_worker_url(site, settings.service_worker_cache),
    }


def service_worker_url(site: Path, cache: object) -> str | None:
    """The URL JupyterLite's ServiceWorkerManager registers its worker with (relative to the
    site root), exactly: registering it early must not make a second registration. ``cache``:
    the site's ``enableServiceWorkerCache`` setting."""
    if not (site / SERVICE_WORKER).is_file():
        return None
    # the app reads the option with PageConfig.getOption(...) || "false"
    flag = "true" if cache is True else str(cache) if cache else "false"
    return f"./{SERVICE_WORKER}?enableCache={flag}"


def _one_file(site: Path, folder: Path, pattern: str) -> str:
    found = sorted(folder.glob(pattern))
    if len(found) != 1:
        raise LiteBuildError(
            f"the lite-build JupyterLab extension in {folder} should hold exactly one "
            f"{pattern} file, found {len(found)}; rebuild it (scripts/setup.sh)"
        )
    return "./" + found[0].relative_to(site).as_posix()
