"""The JupyterLite app: its settings (``jupyter-lite.json``), and running jupyterlite-core.

The JupyterLite app is built by jupyterlite-core into a persistent folder (it is incremental on
its own); lite-build writes the settings it reads and checks the result.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lite_build.errors import LiteBuildError
from lite_build.kernel.snapshot import START_IMPORTS
from lite_build.kernel.wheels import KERNEL_PLUGIN_ID, KERNELS_PLUGIN_ID
from lite_build.site.app_settings import STOCK_SETTINGS_PLUGIN_ID
from lite_build.site.paths import (
    JUPYTER_LITE_JSON,
    LOCK,
    PIPLITE_INDEX,
    PYODIDE_DIR,
    SNAPSHOT_FILE,
    environment_dir,
)

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


def storage_name(site_id: str) -> str:
    """The browser storage (IndexedDB) name of students' files, settings and workspaces."""
    return f"lite-build: {site_id}"


@dataclass(frozen=True)
class KernelEntry:
    """One kernel in our extension's settings in jupyter-lite.json: written by the build, read
    by the extension (extension/src/index.ts), the early start script and the build's checks.
    URLs starting with "./" are relative to the site root."""

    name: str
    display_name: str
    piplite_urls: tuple[str, ...]
    lock_file_url: str
    #: what Pyodide loads at start (``loadPyodideOptions.packages``)
    packages: tuple[str, ...]
    env: Mapping[str, str]
    #: what our kernel worker imports before the kernel exists
    imports: tuple[str, ...]
    snapshot_url: str | None = None
    logo: str | None = None

    def load_pyodide_options(self) -> dict[str, Any]:
        """The options our kernel worker passes to ``loadPyodide`` (after taking its own)."""
        options: dict[str, Any] = {
            # the query string keeps browsers from using a cached lock of an earlier build
            "lockFileURL": self.lock_file_url,
            "packages": list(self.packages),
            "env": dict(sorted(self.env.items())),
            # read (and removed) by our kernel worker, extension/src/standalone/prestart.worker.ts
            "liteBuildImports": list(self.imports),
        }
        if self.snapshot_url:
            options["liteBuildSnapshotURL"] = self.snapshot_url
        return options

    def to_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "name": self.name,
            "display_name": self.display_name,
            "pipliteUrls": list(self.piplite_urls),
            "loadPyodideOptions": self.load_pyodide_options(),
        }
        if self.logo:
            entry["logo"] = self.logo
        return entry

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> KernelEntry:
        options = data["loadPyodideOptions"]
        return cls(
            name=str(data["name"]),
            display_name=str(data["display_name"]),
            piplite_urls=tuple(data["pipliteUrls"]),
            lock_file_url=str(options["lockFileURL"]),
            packages=tuple(options["packages"]),
            env=dict(options["env"]),
            imports=tuple(options.get("liteBuildImports", ())),
            snapshot_url=options.get("liteBuildSnapshotURL"),
            logo=data.get("logo"),
        )

    def urls(self) -> list[str]:
        """Every URL the kernel names."""
        return [
            *self.piplite_urls,
            self.lock_file_url,
            *([self.snapshot_url] if self.snapshot_url else []),
            *([self.logo] if self.logo else []),
        ]


@dataclass(frozen=True)
class SiteSettings:
    """lite-build's part of a site's jupyter-lite.json (jupyterlite-core adds its own keys)."""

    title: str
    #: the browser storage name of students' files, settings and workspaces
    storage: str
    default_kernel: str
    pyodide_url: str
    #: an offline site never falls back to PyPI for ``%pip install``
    offline: bool
    kernels: tuple[KernelEntry, ...]
    #: JupyterLite's own service-worker cache flag, as the built site has it (read only)
    service_worker_cache: object = None

    def to_json(self) -> dict[str, Any]:
        plugin = {
            "pyodideUrl": self.pyodide_url,
            "disablePyPIFallback": self.offline,
            "kernels": [kernel.to_json() for kernel in self.kernels],
        }
        return {
            "jupyter-lite-schema-version": 0,
            "jupyter-config-data": {
                "appName": self.title,
                "contentsStorageName": self.storage,
                "settingsStorageName": self.storage,
                "workspacesStorageName": self.storage,
                "defaultKernelName": self.default_kernel,
                # our extension's registry replaces the stock one (site/app_settings.py)
                "disabledExtensions": [KERNEL_PLUGIN_ID, STOCK_SETTINGS_PLUGIN_ID],
                "litePluginSettings": {KERNELS_PLUGIN_ID: plugin},
            },
        }

    @classmethod
    def from_json(cls, config: Mapping[str, Any]) -> SiteSettings:
        data = config["jupyter-config-data"]
        plugin = data["litePluginSettings"][KERNELS_PLUGIN_ID]
        return cls(
            title=str(data.get("appName", "")),
            storage=str(data.get("contentsStorageName", "")),
            default_kernel=str(data.get("defaultKernelName") or plugin["kernels"][0]["name"]),
            pyodide_url=str(plugin["pyodideUrl"]),
            offline=bool(plugin.get("disablePyPIFallback", False)),
            kernels=tuple(KernelEntry.from_json(kernel) for kernel in plugin["kernels"]),
            service_worker_cache=data.get("enableServiceWorkerCache"),
        )

    @classmethod
    def read(cls, site: Path) -> SiteSettings:
        """The settings of the built site (or the app folder) ``site``."""
        config = json.loads((site / JUPYTER_LITE_JSON).read_text(encoding="utf-8"))
        return cls.from_json(config)

    def kernel(self, name: str | None = None) -> KernelEntry:
        """The kernel called ``name`` (default: the site's default kernel)."""
        wanted = name or self.default_kernel
        for kernel in self.kernels:
            if kernel.name == wanted:
                return kernel
        raise KeyError(wanted)

    def site_urls(self) -> list[str]:
        """Every site-relative ("./") URL the settings name, without query strings."""
        urls = [self.pyodide_url, *(url for kernel in self.kernels for url in kernel.urls())]
        return [url.split("?")[0] for url in urls if url.startswith("./")]


@dataclass(frozen=True)
class KernelSettings:
    """One environment's kernel as the build knows it (see :func:`kernel_entry`)."""

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


def kernel_entry(kernel: KernelSettings) -> KernelEntry:
    """The kernel's entry in jupyter-lite.json; its files' URLs carry their sha256, so browsers
    never use a cached file of an earlier build."""
    folder = f"./{environment_dir(kernel.name)}"
    return KernelEntry(
        name=kernel.name,
        display_name=kernel.display_name,
        piplite_urls=(f"{folder}/{PIPLITE_INDEX}?sha256={kernel.piplite_index_sha256}",),
        lock_file_url=f"{folder}/{LOCK}?sha256={kernel.lock_sha256}",
        packages=tuple(kernel.preload_packages),
        env=dict(kernel.env),
        imports=START_IMPORTS,
        snapshot_url=(
            f"{folder}/{SNAPSHOT_FILE}?sha256={kernel.snapshot_sha256}"
            if kernel.snapshot_sha256
            else None
        ),
        logo=f"{folder}/{kernel.logo}" if kernel.logo else None,
    )


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
    return SiteSettings(
        title=title,
        storage=storage_name(site_id),
        default_kernel=default_kernel,
        # "./" URLs are relative to the site root: the extension resolves them in the browser,
        # so the site works under any sub-path
        pyodide_url=f"./{PYODIDE_DIR}/pyodide.mjs",
        offline=offline,
        kernels=tuple(kernel_entry(kernel) for kernel in kernels),
    ).to_json()


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
    # jupyterlite-core's own command line, through a runner that skips a slow optional import
    # (lite_build/imports.py)
    runner = "lite_build.site.run_jupyterlite"
    command = [sys.executable, "-m", runner, "build", "--lite-dir", str(lite_dir)]
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


def verify_site_config(site: Path) -> None:
    """Every URL the kernel settings name must exist in the site."""
    urls = SiteSettings.read(site).site_urls()
    missing = [url for url in urls if not (site / url[2:]).is_file()]
    if missing:
        raise LiteBuildError(
            f"the assembled site is incomplete: {', '.join(missing)} named in "
            f"{JUPYTER_LITE_JSON} do not exist. This is a lite-build bug; please report it."
        )
