"""The ``pyodide-lock.json`` and piplite ``all.json`` a site ships, and the check that they hold.

Pyodide reports a broken lock only in the browser console (the cell just stays ``[*]``), so
:func:`verify_lock` finds those problems at build time instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

from packaging.utils import canonicalize_name

from lite_build.cache import sha256_of
from lite_build.errors import LiteBuildError
from lite_build.packages.resolve import ResolvedPackage
from lite_build.packages.wheel import wheel_imports, wheel_metadata


@dataclass(frozen=True)
class LockEntry:
    """One package of a ``pyodide-lock.json``, as lite-build writes and reads it."""

    name: str
    version: str
    #: relative to the lock's own folder, or a URL (a package loaded from a remote distribution)
    file_name: str
    sha256: str
    imports: tuple[str, ...] = ()
    depends: tuple[str, ...] = ()
    install_dir: str = "site"
    package_type: str = "package"
    unvendored_tests: bool = False

    @property
    def key(self) -> str:
        """The entry's key in the lock's ``packages`` table: the normalized name."""
        return canonicalize_name(self.name)

    @property
    def shared_library(self) -> bool:
        return self.package_type == "shared_library"

    @property
    def file(self) -> str:
        """The file's name, without folder or query string."""
        return PurePosixPath(self.file_name.split("?")[0]).name

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "file_name": self.file_name,
            "sha256": self.sha256,
            "imports": list(self.imports),
            "depends": list(self.depends),
            "install_dir": self.install_dir,
            "package_type": self.package_type,
            "unvendored_tests": self.unvendored_tests,
            "shared_library": self.shared_library,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LockEntry:
        """An entry of a lock (lite-build's or Pyodide's own); KeyError/TypeError if it lacks
        a field every entry has."""
        return cls(
            name=str(data["name"]),
            version=str(data["version"]),
            file_name=str(data["file_name"]),
            sha256=str(data["sha256"]),
            imports=tuple(data.get("imports") or ()),
            depends=tuple(data.get("depends") or ()),
            install_dir=str(data.get("install_dir", "site")),
            package_type=str(data.get("package_type", "package")),
            unvendored_tests=bool(data.get("unvendored_tests", False)),
        )


def lock_entries(lock: Mapping[str, Any]) -> dict[str, LockEntry]:
    """The entries of a ``pyodide-lock.json`` read as JSON, by key."""
    return {key: LockEntry.from_json(entry) for key, entry in lock["packages"].items()}


def lock_entry(
    pkg: ResolvedPackage,
    wheel_path: Path | None,
    *,
    file_name: str,
    fields: Mapping[str, Any] | None = None,
) -> LockEntry:
    """The lock's entry for ``pkg``, whose file is at ``wheel_path`` and ships as ``file_name``.

    ``fields`` (a Pyodide distribution's catalogue entry: imports, package_type, install_dir
    ...) win over what is read from the file. ``wheel_path`` is None for a file that stays
    remote (``file_name`` is then its URL and the catalogue's sha256 is trusted).
    """
    actual = pkg.sha256 if wheel_path is None else sha256_of(wheel_path)
    if actual != pkg.sha256:
        raise LiteBuildError(
            f'"{pkg.name}" {pkg.version}: the file {wheel_path} does not match the sha256 its '
            f"source published (expected {pkg.sha256}, got {actual}); delete the file "
            "and build again"
        )
    entry = LockEntry(
        name=pkg.name,
        version=pkg.version,
        file_name=file_name,
        sha256=actual,
        depends=tuple(sorted(pkg.depends)),
    )
    if fields:
        return replace(
            entry,
            imports=tuple(fields.get("imports") or ()),
            install_dir=str(fields.get("install_dir", entry.install_dir)),
            package_type=str(fields.get("package_type", entry.package_type)),
            unvendored_tests=bool(fields.get("unvendored_tests", False)),
        )
    if wheel_path is not None:
        return replace(entry, imports=tuple(wheel_imports(wheel_path)))
    return entry


def make_lock(info: Mapping[str, Any], entries: Iterable[LockEntry]) -> dict[str, Any]:
    """A whole ``pyodide-lock.json``: the runtime's ``info`` and one entry per package."""
    packages: dict[str, Any] = {}
    for entry in entries:
        if entry.key in packages:
            raise LiteBuildError(f'"{entry.key}" appears twice among the packages of the lock')
        packages[entry.key] = entry.to_json()
    return {"info": dict(info), "packages": dict(sorted(packages.items()))}


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` deterministically (sorted keys) and atomically."""
    text = json.dumps(data, sort_keys=True, indent=1) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
        os.replace(tmp_name, path)
    finally:
        Path(tmp_name).unlink(missing_ok=True)


def make_piplite_index(
    entries_with_urls: Iterable[tuple[ResolvedPackage, Path, str]],
) -> dict[str, Any]:
    """A piplite ``all.json`` for ``(package, wheel file, url)`` triples.

    ``url`` is relative to the ``all.json`` file; piplite only rebases URLs that start with
    ".", so "./" is added to plain relative paths.
    """
    index: dict[str, Any] = {}
    for package, path, url in entries_with_urls:
        if not package.filename.endswith(".whl"):
            continue  # a shared library: loaded by the lock, never installed by name
        releases = index.setdefault(canonicalize_name(package.name), {"releases": {}})["releases"]
        files = releases.setdefault(package.version, [])
        files.append(_piplite_file(path, package.filename, _relative_url(url)))
    for entry in index.values():
        for files in entry["releases"].values():
            files.sort(key=lambda file: (file["filename"], file["url"]))
    return dict(sorted(index.items()))


def _piplite_file(path: Path, filename: str, url: str) -> dict[str, Any]:
    data = path.read_bytes()
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    return {
        "comment_text": "",
        "digests": {"md5": md5, "sha256": hashlib.sha256(data).hexdigest()},
        "downloads": -1,
        "filename": filename,
        "has_sig": False,
        "md5_digest": md5,
        "packagetype": "bdist_wheel",
        "python_version": filename.split("-")[-3],
        "requires_python": wheel_metadata(path).requires_python,
        "size": len(data),
        "url": url,
        "yanked": False,
        "yanked_reason": None,
    }


def _relative_url(url: str) -> str:
    if urlparse(url).scheme or url.startswith((".", "/")):
        return url
    return "./" + url


def verify_lock(
    lock_path: Path, *, extra_names: Iterable[str] = (), allow_remote: bool = False
) -> None:
    """Check what the browser will check: every dependency is in the lock, every file is there
    and has the sha256 the lock says. Raises one error listing every problem.

    ``allow_remote`` accepts files given by URL (a site that is not offline)."""
    lock = _read_lock(lock_path)
    packages: Mapping[str, Any] = lock.get("packages") or {}
    known = set(packages) | {canonicalize_name(name) for name in extra_names}
    problems: list[str] = []
    if not isinstance(lock.get("info"), dict) or not lock["info"].get("abi_version"):
        problems.append('the "info" block has no "abi_version"; Pyodide refuses such a lock')
    for key, entry in sorted(packages.items()):
        problems += _entry_problems(key, entry, known, lock_path.parent, allow_remote)
    if problems:
        listed = "\n".join(f"  - {problem}" for problem in problems)
        raise LiteBuildError(
            f"the Pyodide lock {lock_path} has {len(problems)} problem(s); the Python kernel "
            f"would not start:\n{listed}"
        )


def _read_lock(lock_path: Path) -> dict[str, Any]:
    try:
        lock = json.loads(lock_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise LiteBuildError(f"could not read the Pyodide lock {lock_path}: {error}") from error
    if not isinstance(lock, dict) or not isinstance(lock.get("packages"), dict):
        raise LiteBuildError(f'the Pyodide lock {lock_path} has no "packages" table')
    return lock


def _entry_problems(
    key: str, entry: Any, known: set[str], folder: Path, allow_remote: bool = False
) -> list[str]:
    if not isinstance(entry, dict):
        return [f'"{key}": its entry is not a table']
    problems = []
    if canonicalize_name(key) != key:
        problems.append(f'"{key}": the key must be the normalized name "{canonicalize_name(key)}"')
    for name in sorted(set(entry.get("depends") or [])):
        if canonicalize_name(name) not in known:
            problems.append(f'"{key}" depends on "{name}", which is not in the lock')
    problems += _file_problems(key, entry, folder, allow_remote)
    return problems


def _file_problems(
    key: str, entry: Mapping[str, Any], folder: Path, allow_remote: bool = False
) -> list[str]:
    file_name = entry.get("file_name")
    expected = entry.get("sha256")
    if not file_name:
        return [f'"{key}": it has no file_name']
    if urlparse(str(file_name)).scheme:
        if allow_remote and expected:
            return []
        return [f'"{key}": its file is a URL ({file_name}); an offline site must ship the file']
    path = folder / str(file_name)
    if not path.is_file():
        return [f'"{key}": its file {file_name} is missing from {folder}']
    if not expected:
        return [f'"{key}": it has no sha256; the browser refuses files without one']
    actual = sha256_of(path)
    if actual != expected:
        return [
            f'"{key}": the file {file_name} does not match the sha256 in the lock '
            f"(lock: {expected}, file: {actual})"
        ]
    return []
