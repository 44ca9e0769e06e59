"""Assembling the static site: the JupyterLite app, the runtime, the wheels, and publishing.

The JupyterLite app is built by jupyterlite-core into a persistent folder (it is incremental on
its own). Publishing copies that app and our files into a staging folder next to the output,
post-processes and verifies it there, and only then swaps it in: a failed build never touches
the previous site.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lite_build import __version__
from lite_build.app_settings import STOCK_SETTINGS_PLUGIN_ID
from lite_build.errors import LiteBuildError
from lite_build.kernel import KERNEL_PLUGIN_ID, KERNELS_PLUGIN_ID
from lite_build.snapshot import SNAPSHOT_FILE, START_IMPORTS

log = logging.getLogger("lite_build")

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

#: coincident (bundled by the kernel) calls .then on Atomics.waitAsync(...).value, which is a
#: plain string when the wait settles synchronously: under cross-origin isolation that makes
#: cells hang at random. Normalise it to always be a promise, before coincident reads it.
WAIT_ASYNC_SHIM = (Path(__file__).parent / "templates" / "wait-async-shim.js").read_text(
    encoding="utf-8"
)


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


def environment_dir(name: str) -> str:
    """An environment's folder in the site, relative to the site root."""
    return f"{ENVIRONMENTS_DIR}/{name}"


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
            # read (and removed) by our kernel worker, extension/src/prestart.worker.ts: what it
            # imports before the kernel exists
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


def write_json(path: Path, data: Any) -> None:
    """Deterministic JSON, written atomically, and only when the bytes change."""
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


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


def dedupe_disabled_extensions(app_dir: Path) -> None:
    """jupyterlite-core merges a rebuild's settings into the previous build's, appending lists:
    ``disabledExtensions`` would grow by one copy per rebuild. Keep each entry once, in order."""
    for path in [app_dir / JUPYTER_LITE_JSON, *sorted(app_dir.glob(f"*/{JUPYTER_LITE_JSON}"))]:
        if not path.is_file():
            continue
        config = json.loads(path.read_text(encoding="utf-8"))
        data = config.get("jupyter-config-data", {})
        disabled = data.get("disabledExtensions")
        if isinstance(disabled, list) and len(set(disabled)) < len(disabled):
            data["disabledExtensions"] = list(dict.fromkeys(disabled))
            path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def sync_tree(files: Iterable[tuple[Path, str]], dest: Path) -> bool:
    """Make ``dest`` hold exactly ``files`` (source, relative path); True if any were removed.

    Unchanged files (same size and mtime) are left alone, so downstream incremental tools
    only see real changes.
    """
    wanted = dict((relative, source) for source, relative in files)
    removed = False
    if dest.exists():
        for existing in sorted(dest.rglob("*"), reverse=True):
            relative = existing.relative_to(dest).as_posix()
            if existing.is_file() and relative not in wanted:
                existing.unlink()
                removed = True
            elif existing.is_dir() and not any(existing.iterdir()):
                existing.rmdir()
    for relative, source in sorted(wanted.items()):
        target = dest / relative
        stat = source.stat()
        if target.exists():
            current = target.stat()
            if current.st_size == stat.st_size and int(current.st_mtime) == int(stat.st_mtime):
                continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    return removed


def copy_tree(source: Path, dest: Path, *, skip: Iterable[str] = ()) -> None:
    skipped = set(skip)
    shutil.copytree(
        source,
        dest,
        ignore=lambda folder, names: [n for n in names if n in skipped and Path(folder) == source],
        dirs_exist_ok=True,
    )


def patch_wait_async(site: Path) -> list[Path]:
    """Prepend :data:`WAIT_ASYNC_SHIM` to every shipped script that captures Atomics.waitAsync."""
    patched = []
    for script in sorted((site / "extensions").rglob("*.js")):
        text = script.read_text(encoding="utf-8")
        if "waitAsync" in text and "Atomics" in text and not text.startswith(WAIT_ASYNC_SHIM):
            script.write_text(WAIT_ASYNC_SHIM + text, encoding="utf-8")
            patched.append(script)
    return patched


def apply_title(site: Path, title: str) -> None:
    """Show the site's title in the browser tab while an app loads (each app then sets its own)."""
    escaped = html.escape(title)
    for page in sorted(site.glob("*/index.html")):
        text = page.read_text(encoding="utf-8")
        retitled = re.sub(r"<title>[^<]*</title>", f"<title>{escaped}</title>", text, count=1)
        if retitled != text:
            page.write_text(retitled, encoding="utf-8")


def is_lite_build_site(folder: Path) -> bool:
    return (folder / SITE_MANIFEST).is_file()


def check_output_replaceable(output: Path) -> None:
    """Refuse to replace a folder lite-build did not make: it may hold someone's work."""
    if output.exists() and not output.is_dir():
        raise LiteBuildError(f"output: {output} exists and is not a folder; choose another output")
    if output.is_dir() and any(output.iterdir()) and not is_lite_build_site(output):
        raise LiteBuildError(
            f"output: {output} already exists and was not made by lite-build (it has no "
            f"{SITE_MANIFEST}); lite-build replaces its output folder wholesale, so it will not "
            "touch this one. Move it away, or choose another output with --output."
        )


def staging_dirs(output: Path) -> tuple[Path, Path]:
    return output.with_name(f".{output.name}.new"), output.with_name(f".{output.name}.old")


def recover_interrupted_publish(output: Path) -> None:
    """If a previous publish stopped between its two renames, put the old site back."""
    _, old = staging_dirs(output)
    if not output.exists() and old.is_dir() and is_lite_build_site(old):
        os.rename(old, output)
        log.warning("restored %s from an interrupted build", output)


def publish(staging: Path, output: Path) -> None:
    """Swap ``staging`` in as ``output``; the previous site stays whole until the last moment."""
    check_output_replaceable(output)
    _, old = staging_dirs(output)
    if old.exists():
        shutil.rmtree(old)
    if output.exists():
        os.rename(output, old)
    os.rename(staging, output)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


def site_size(site: Path) -> int:
    return sum(path.stat().st_size for path in site.rglob("*") if path.is_file())


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


def manifest(
    title: str, pyodide_version: str, environments: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "generator": f"lite-build {__version__}",
        "title": title,
        "pyodide": pyodide_version,
        "environments": environments,
    }
