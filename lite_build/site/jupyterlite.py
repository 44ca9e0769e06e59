"""The JupyterLite app: its settings (``jupyter-lite.json``), and running jupyterlite-core.

The JupyterLite app is built by jupyterlite-core into a persistent folder (it is incremental on
its own); lite-build writes the settings it reads and checks the result.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lite_build.errors import LiteBuildError
from lite_build.kernel.snapshot import SNAPSHOT_FILE, START_IMPORTS
from lite_build.kernel.wheels import KERNEL_PLUGIN_ID, KERNELS_PLUGIN_ID
from lite_build.site.app_settings import STOCK_SETTINGS_PLUGIN_ID
from lite_build.site.paths import JUPYTER_LITE_JSON, PYODIDE_DIR, environment_dir

log = logging.getLogger("lite_build")


#: JupyterLab settings every site gets, beneath the author's overrides.json (which wins):
#: nothing may reach for the internet, and a notebook whose kernel is not named (or named
#: for a desktop kernel such as "python3") must just start, not ask a student to choose.
BASE_SETTINGS: dict[str, dict[str, Any]] = {
    "@jupyterlab/apputils-extension:notification": {"checkForUpdates": False, "fetchNews": "false"},
    "@jupyterlab/notebook-extension:tracker": {"autoStartDefaultKernel": True},
}


def merged_settings(overrides_json: Path | None) -> dict[str, dict[str, Any]]:
    """:data:`BASE_SETTINGS` updated, plugin by plugin, with the author's ``overrides.json``."""
    settings = {plugin: dict(values) for plugin, values in BASE_SETTINGS.items()}
    if overrides_json is None or not overrides_json.is_file():
        return settings
    try:
        authored = json.loads(overrides_json.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise LiteBuildError(f"{overrides_json}: not valid JSON: {error}") from error
    if not isinstance(authored, dict) or not all(isinstance(v, dict) for v in authored.values()):
        raise LiteBuildError(
            f"{overrides_json}: expected an object of plugin ids, each mapping setting names "
            "to values, e.g. "
            '{"@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"}}'
        )
    for plugin, values in authored.items():
        settings.setdefault(plugin, {}).update(values)
    return settings


@dataclass(frozen=True)
class KernelSettings:
    """One environment's kernel, as jupyter-lite.json describes it to our extension."""

    name: str
    display_name: str
    piplite_index_sha256: str
    lock_sha256: str
    preload_packages: tuple[str, ...]
    env: dict[str, str]
    #: the logo's file name inside the environment's folder, if it has one
    logo: str | None = None
    #: the sha256 of the environment's kernel snapshot, if it ships one (see snapshot.py)
    snapshot_sha256: str | None = None


def storage_name(site_id: str) -> str:
    """The browser storage (IndexedDB) name of students' files, settings and workspaces."""
    return f"lite-build: {site_id}"


def jupyter_lite_json(
    title: str,
    kernels: list[KernelSettings],
    *,
    default_kernel: str,
    offline: bool,
    site_id: str,
) -> dict[str, Any]:
    """The site-level jupyter-lite.json given to jupyterlite-core (it adds its own keys).

    Our extension registers one kernel per environment; the stock single "Python (Pyodide)"
    kernel plugin is disabled (its extension still ships: the kernel uses its shim wheels).
    Students' files live in browser storage named after the site's identity, not its address
    (JupyterLite's default), so the site can move without losing them and two sites on one
    host stay apart.
    """
    storage = storage_name(site_id)
    plugin: dict[str, Any] = {
        # "./" URLs are relative to the site root: the extension resolves them in the browser,
        # so the site works under any sub-path
        "pyodideUrl": f"./{PYODIDE_DIR}/pyodide.mjs",
        "disablePyPIFallback": offline,
        "kernels": [_kernel_entry(kernel) for kernel in kernels],
    }
    return {
        "jupyter-lite-schema-version": 0,
        "jupyter-config-data": {
            "appName": title,
            "contentsStorageName": storage,
            "settingsStorageName": storage,
            "workspacesStorageName": storage,
            "defaultKernelName": default_kernel,
            # our extension's registry replaces the stock one (lite_build/app_settings.py)
            "disabledExtensions": [KERNEL_PLUGIN_ID, STOCK_SETTINGS_PLUGIN_ID],
            "litePluginSettings": {KERNELS_PLUGIN_ID: plugin},
        },
    }


def _kernel_entry(kernel: KernelSettings) -> dict[str, Any]:
    folder = f"./{environment_dir(kernel.name)}"
    entry: dict[str, Any] = {
        "name": kernel.name,
        "display_name": kernel.display_name,
        "pipliteUrls": [f"{folder}/all.json?sha256={kernel.piplite_index_sha256}"],
        "loadPyodideOptions": {
            # the query string keeps browsers from using a cached lock of an earlier build
            "lockFileURL": f"{folder}/pyodide-lock.json?sha256={kernel.lock_sha256}",
            "packages": list(kernel.preload_packages),
            "env": dict(sorted(kernel.env.items())),
            # read (and removed) by our kernel worker (prestart.worker.ts in
            # extension/src/standalone/): what it imports before the kernel exists
            "liteBuildImports": list(START_IMPORTS),
        },
    }
    if kernel.snapshot_sha256:
        entry["loadPyodideOptions"]["liteBuildSnapshotURL"] = (
            f"{folder}/{SNAPSHOT_FILE}?sha256={kernel.snapshot_sha256}"
        )
    if kernel.logo:
        entry["logo"] = f"{folder}/{kernel.logo}"
    return entry


def jupyter_lite_build_config(
    *,
    content_dir: Path,
    app_dir: Path,
    kernel_extension: Path,
    environments_extension: Path,
    source_maps: bool,
    source_date_epoch: int | None,
    extra_extensions: Iterable[Path] = (),
) -> dict[str, Any]:
    """jupyter_lite_config.json: only the kernel extensions (and ``extra_extensions``, such as
    the widget manager), never whatever else is installed."""
    config: dict[str, Any] = {
        "contents": [str(content_dir)],
        "output_dir": str(app_dir),
        "no_sourcemaps": not source_maps,
        "ignore_sys_prefix": ["federated_extensions"],
        "federated_extensions": [
            str(kernel_extension),
            str(environments_extension),
            *(str(extension) for extension in extra_extensions),
        ],
    }
    if source_date_epoch is not None:
        config["source_date_epoch"] = source_date_epoch
    return {"LiteBuildConfig": config}


def has_stale_extensions(app_dir: Path, extensions: Iterable[Path]) -> bool:
    """Whether the app folder holds a federated extension no longer among ``extensions``.

    jupyterlite-core lists every extension it finds in its output, and never deletes one.
    """
    wanted = {
        json.loads((folder / "package.json").read_text(encoding="utf-8"))["name"]
        for folder in extensions
    }
    root = app_dir / "extensions"
    found = [*root.glob("*/package.json"), *root.glob("@*/*/package.json")]
    return any(path.parent.relative_to(root).as_posix() not in wanted for path in found)


def run_jupyterlite(lite_dir: Path, *, verbose: bool = False) -> None:
    """Build the JupyterLite app described by ``lite_dir`` (incremental: jupyterlite uses doit)."""
    command = [sys.executable, "-m", "jupyterlite_core", "build", "--lite-dir", str(lite_dir)]
    log.debug("running %s", " ".join(command))
    result = subprocess.run(
        command,
        cwd=lite_dir,
        capture_output=not verbose,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        output = ((result.stdout or "") + (result.stderr or "")).strip().splitlines()
        tail = "\n".join(output[-30:])
        raise LiteBuildError(
            "jupyterlite-core could not build the app (exit code "
            f"{result.returncode}); its last output:\n{tail}\nRun with -v to see everything."
        )


def site_urls(site_config: dict[str, Any]) -> list[str]:
    """Every site-relative ("./") URL our extension's settings name, without query strings."""
    plugin = site_config["jupyter-config-data"]["litePluginSettings"][KERNELS_PLUGIN_ID]
    urls = [plugin["pyodideUrl"]]
    for kernel in plugin["kernels"]:
        urls += kernel["pipliteUrls"]
        urls.append(kernel["loadPyodideOptions"]["lockFileURL"])
        if "logo" in kernel:
            urls.append(kernel["logo"])
    return [url.split("?")[0] for url in urls if url.startswith("./")]


def verify_site_config(site: Path) -> None:
    """Every URL the kernel settings name must exist in the site."""
    config = json.loads((site / JUPYTER_LITE_JSON).read_text(encoding="utf-8"))
    missing = [url for url in site_urls(config) if not (site / url[2:]).is_file()]
    if missing:
        raise LiteBuildError(
            f"the assembled site is incomplete: {', '.join(missing)} named in "
            f"{JUPYTER_LITE_JSON} do not exist. This is a lite-build bug; please report it."
        )
