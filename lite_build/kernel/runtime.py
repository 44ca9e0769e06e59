"""The Pyodide core runtime: the interpreter, its standard library and the upstream lock.

It comes from the npm registry's ``pyodide`` package (about 13 MB) and is unpacked once into
``cache_dir()/pyodide/<version>/``; later builds use that folder with no network. A local
Pyodide folder or tarball (``--pyodide PATH``) replaces the registry.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
from packaging.version import InvalidVersion, Version

from lite_build.cache import Digest, cache_dir, check_remote_url, download, http_client, sha256_of
from lite_build.errors import LiteBuildError
from lite_build.ui import Reporter

log = logging.getLogger("lite_build")

#: what a site ships to run Python; pyodide-lock.json also describes the upstream packages
RUNTIME_FILES = (
    "pyodide.mjs",
    "pyodide.asm.mjs",
    "pyodide.asm.wasm",
    "python_stdlib.zip",
    "pyodide-lock.json",
)
#: kept next to the runtime files when present: it names the runtime's version
PACKAGE_JSON = "package.json"
NPM_PACKAGE = "pyodide"
DEFAULT_REGISTRY = "https://registry.npmjs.org"
#: first set wins; ``npm_config_registry`` is what npm itself reads from the environment
REGISTRY_ENV_VARS = ("LITE_BUILD_NPM_REGISTRY", "npm_config_registry")
#: written last into a cached runtime folder: a folder without it is not trusted
COMPLETE_MARKER = ".complete"
#: the top folder of an npm tarball, and of an official Pyodide release tarball
TARBALL_TOP_FOLDERS = ("package", "pyodide")
#: npm's abbreviated metadata: a much smaller answer when only version names are needed
ABBREVIATED_METADATA = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8"
RECENT_VERSIONS_SHOWN = 5

_VERSION_NAME = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+_-]*")
_VERSION_IN_LOADER = re.compile(r'"(\d+\.\d+\.\d+(?:[.-]?[A-Za-z]+\.?\d*)?)"')
_CONFIG_HINT = (
    "Set `version` in the [pyodide] table of lite-build.toml "
    "([tool.lite-build.pyodide] in pyproject.toml)"
)


@dataclass(frozen=True)
class PyodideRuntime:
    version: str
    #: a folder (in the cache, or the user's) holding at least RUNTIME_FILES
    folder: Path
    #: the parsed upstream pyodide-lock.json (its "info" and "packages")
    lock: dict[str, Any]

    @property
    def files(self) -> list[Path]:
        """The runtime files a site ships."""
        return [self.folder / name for name in RUNTIME_FILES]


def npm_registry() -> str:
    """The npm registry to fetch from: the environment's choice, else the public registry."""
    for name in REGISTRY_ENV_VARS:
        value = os.environ.get(name, "").strip()
        if value:
            return value.rstrip("/")
    return DEFAULT_REGISTRY


def ensure_runtime(
    version: str,
    *,
    path: Path | None = None,
    registry: str | None = None,
    reporter: Reporter | None = None,
) -> PyodideRuntime:
    """The Pyodide runtime ``version``, from the cache, ``path`` or the npm registry."""
    if path is not None:
        return _runtime_from_path(Path(path), version)
    if not _VERSION_NAME.fullmatch(version):
        raise LiteBuildError(f"{version!r} is not a Pyodide version. {_CONFIG_HINT}.")
    folder = cache_dir() / "pyodide" / version
    if not _is_complete(folder):
        _fetch_from_registry(version, folder, (registry or npm_registry()).rstrip("/"), reporter)
    return PyodideRuntime(version, folder, _read_lock(folder))


# -- the npm registry ---------------------------------------------------------------------------


def _fetch_from_registry(
    version: str, folder: Path, registry: str, reporter: Reporter | None
) -> None:
    check_remote_url(registry, source="the npm registry (set by LITE_BUILD_NPM_REGISTRY)")
    with http_client() as client:
        dist = _published_dist(client, registry, version, folder)
        try:
            tarball_url = check_remote_url(
                str(dist["tarball"]), source=f"the npm registry's tarball of Pyodide {version}"
            )
            digest = Digest.from_sri(str(dist["integrity"]))
        except (KeyError, TypeError) as error:
            raise LiteBuildError(
                f"the npm registry {registry} describes {NPM_PACKAGE} {version} without a "
                "tarball and its sha512 integrity; use another registry, or give a local "
                "Pyodide folder or tarball with --pyodide PATH"
            ) from error
        with _staging(folder) as staging:
            tarball = download(
                tarball_url,
                staging / f"{NPM_PACKAGE}-{version}.tgz",
                digest,
                label=f"Pyodide {version}",
                client=client,
                reporter=reporter,
            )
            _unpack_runtime(tarball, staging / "runtime", source=tarball_url)
            _install(staging / "runtime", folder)


def _published_dist(
    client: httpx.Client, registry: str, version: str, folder: Path
) -> dict[str, Any]:
    """The ``dist`` object of the registry's metadata for ``pyodide@version``."""
    url = f"{registry}/{NPM_PACKAGE}/{version}"
    try:
        response = client.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as error:
        raise LiteBuildError(
            f"Pyodide {version} is not in the cache ({folder}) and the npm registry {registry} "
            f"could not be reached ({error}). Connect to the network once to fill the cache, "
            "or give a local Pyodide folder or tarball with --pyodide PATH."
        ) from error
    if response.status_code == 404:
        raise LiteBuildError(_unknown_version_message(client, registry, version))
    if response.status_code != 200:
        raise LiteBuildError(
            f"the npm registry answered HTTP {response.status_code} for {url}; retry later, "
            "or give a local Pyodide folder or tarball with --pyodide PATH"
        )
    try:
        dist = response.json()["dist"]
    except (ValueError, KeyError, TypeError) as error:
        raise LiteBuildError(f"the npm registry sent unreadable metadata for {url}") from error
    if not isinstance(dist, dict):
        raise LiteBuildError(f"the npm registry sent unreadable metadata for {url}")
    return dist


def _unknown_version_message(client: httpx.Client, registry: str, version: str) -> str:
    message = f"Pyodide {version} is not published on the npm registry {registry}."
    recent = _recent_versions(client, registry)
    if recent:
        message += f" Recent versions: {', '.join(recent)}."
    return f"{message} {_CONFIG_HINT} to a published version."


def _recent_versions(client: httpx.Client, registry: str) -> list[str]:
    """The newest releases (pre-releases only if there is nothing else), newest first."""
    try:
        response = client.get(f"{registry}/{NPM_PACKAGE}", headers={"Accept": ABBREVIATED_METADATA})
        names = list(response.json()["versions"]) if response.status_code == 200 else []
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        log.debug("could not list the versions of %s on %s", NPM_PACKAGE, registry, exc_info=True)
        return []
    parsed: list[Version] = []
    for name in names:
        try:
            parsed.append(Version(name))
        except InvalidVersion:
            continue
    releases = [v for v in parsed if not v.is_prerelease] or parsed
    return [str(v) for v in sorted(releases, reverse=True)[:RECENT_VERSIONS_SHOWN]]


# -- a local folder or tarball ------------------------------------------------------------------


def _runtime_from_path(path: Path, version: str) -> PyodideRuntime:
    if path.is_dir():
        folder = _runtime_folder_in(path)
    elif path.is_file() and tarfile.is_tarfile(path):
        folder = cache_dir() / "pyodide" / f"sha256-{sha256_of(path)}"
        if not _is_complete(folder):
            with _staging(folder) as staging:
                _unpack_runtime(path, staging / "runtime", source=str(path))
                _install(staging / "runtime", folder)
    elif path.exists():
        raise LiteBuildError(
            f"the Pyodide path {path} is neither a folder nor a tarball; give a Pyodide folder, "
            "a Pyodide release tarball (.tar.bz2) or the npm package tarball (.tgz)"
        )
    else:
        raise LiteBuildError(f"the Pyodide path {path} does not exist")
    lock = _read_lock(folder)
    found = _version_of(folder)
    if found is None:
        log.debug("%s does not say its Pyodide version; assuming %s", path, version)
        found = version
    elif found != version:
        log.warning(
            "%s holds Pyodide %s, not the configured %s; using %s", path, found, version, found
        )
    return PyodideRuntime(found, folder, lock)


def _runtime_folder_in(path: Path) -> Path:
    """``path`` itself, or its ``pyodide/`` subfolder as in the release tarball's layout."""
    candidates = [path, path / "pyodide"]
    for candidate in candidates:
        if not _missing_files(candidate):
            return candidate
    nested = path / "pyodide"
    checked = nested if nested.is_dir() else path
    raise LiteBuildError(_incomplete_message(str(checked), _missing_files(checked)))


def _missing_files(folder: Path) -> list[str]:
    return [name for name in RUNTIME_FILES if not (folder / name).is_file()]


def _incomplete_message(source: str, missing: list[str]) -> str:
    return (
        f"{source} is not a complete Pyodide runtime: missing {', '.join(missing)}. "
        f"A Pyodide folder holds {', '.join(RUNTIME_FILES)}, as in the npm package "
        "`pyodide` or the pyodide/ folder of a Pyodide release tarball."
    )


def _version_of(folder: Path) -> str | None:
    """The runtime's own version: package.json, else the one version string in pyodide.mjs."""
    package_json = folder / PACKAGE_JSON
    if package_json.is_file():
        try:
            version = json.loads(package_json.read_text(encoding="utf-8")).get("version")
        except (ValueError, AttributeError):
            version = None
        if isinstance(version, str) and version:
            return version
    loader = (folder / "pyodide.mjs").read_text(encoding="utf-8", errors="replace")
    candidates = set(_VERSION_IN_LOADER.findall(loader))
    return candidates.pop() if len(candidates) == 1 else None


# -- unpacking into the cache -------------------------------------------------------------------


def _unpack_runtime(tarball: Path, dest: Path, *, source: str) -> None:
    """Copy the runtime files out of ``tarball`` into ``dest``.

    Only regular files named ``<top>/<runtime file>`` are read, and each is written to a path
    built here from its known name, so a hostile member name cannot escape ``dest``. The
    stream mode reads a large release tarball in one pass.
    """
    wanted = {*RUNTIME_FILES, PACKAGE_JSON}
    dest.mkdir(parents=True)
    try:
        with tarfile.open(tarball, mode="r|*") as archive:
            for member in archive:
                top, _, name = member.name.removeprefix("./").partition("/")
                if top not in TARBALL_TOP_FOLDERS or name not in wanted or not member.isfile():
                    continue
                stream = archive.extractfile(member)
                if stream is not None:
                    _write(stream, dest / name)
    except (tarfile.TarError, EOFError, OSError) as error:
        raise LiteBuildError(f"could not unpack the Pyodide tarball {source}: {error}") from error
    missing = _missing_files(dest)
    if missing:
        raise LiteBuildError(_incomplete_message(source, missing))
    _read_lock(dest)


def _write(stream: IO[bytes], dest: Path) -> None:
    with stream, dest.open("wb") as out:
        shutil.copyfileobj(stream, out, 1 << 20)


@contextmanager
def _staging(folder: Path) -> Iterator[Path]:
    """A scratch folder next to ``folder`` (same file system, so the final rename is atomic)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=".staging-", dir=folder.parent))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _install(unpacked: Path, folder: Path) -> None:
    """Mark ``unpacked`` complete and move it to ``folder`` in one rename."""
    (unpacked / COMPLETE_MARKER).write_text("complete\n", encoding="utf-8")
    if folder.exists() and not _is_complete(folder):
        shutil.rmtree(folder)  # left by an older, interrupted layout; never trusted
    try:
        os.replace(unpacked, folder)
    except OSError:
        # another build installed the same runtime meanwhile: theirs is as good as ours
        if not _is_complete(folder):
            raise


def _is_complete(folder: Path) -> bool:
    return (folder / COMPLETE_MARKER).is_file() and not _missing_files(folder)


def _read_lock(folder: Path) -> dict[str, Any]:
    lock_path = folder / "pyodide-lock.json"
    try:
        parsed = json.loads(lock_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise LiteBuildError(f"{lock_path} is not a readable pyodide-lock.json: {error}") from error
    lock: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
    info = lock.get("info")
    missing = [
        f"info.{key}"
        for key in ("abi_version", "python")
        if not isinstance(info, dict) or not info.get(key)
    ]
    if not isinstance(lock.get("packages"), dict):
        missing.append("packages")
    if missing:
        raise LiteBuildError(
            f"{lock_path} is not a valid pyodide-lock.json: it has no {', '.join(missing)}"
        )
    return lock
