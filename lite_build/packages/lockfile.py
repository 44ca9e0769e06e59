"""``lite-build.lock``: the exact packages of every environment, next to the configuration.

Written by ``lite-build lock`` as TOML (one table per package, so that a diff shows what moved);
``lite-build build`` installs exactly what it lists, without resolving and, when the cache is
warm, without the network. The lock remembers what it was written for (the Pyodide version,
the package sources and each environment's expanded requirements): when those change, the
build says so instead of silently shipping something else.
"""

from __future__ import annotations

import json
import os
import tempfile
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lite_build.cache import check_remote_url
from lite_build.errors import LiteBuildError
from lite_build.files import load_toml, plain_file_name, sha256_hex
from lite_build.packages.resolve import ResolvedPackage

LOCK_FILE_NAME = "lite-build.lock"
LOCK_VERSION = 1
HEADER = (
    "# lite-build.lock: the exact packages of each environment. Written by `lite-build lock`;\n"
    "# `lite-build build` installs exactly these.\n"
    "# Refresh with `lite-build lock --upgrade [NAME ...]`.\n"
    "# Commit it with the course so that every build ships the same files.\n"
)


@dataclass(frozen=True)
class LockedPackage:
    name: str
    version: str
    #: "wheels", "project", "pyodide" or "pypi"
    source: str
    file: str
    #: where the file comes from: a URL, or a path relative to the lock's folder
    url: str
    sha256: str
    size: int
    depends: tuple[str, ...] = ()
    #: fields the site's pyodide-lock.json copies (a distribution's imports, package_type ...)
    fields: Mapping[str, Any] = field(default_factory=dict)

    def resolved(self, root: Path) -> ResolvedPackage:
        url = self.url if "://" in self.url else str((root / self.url).resolve())
        return ResolvedPackage(
            name=self.name,
            version=self.version,
            filename=self.file,
            url=url,
            sha256=self.sha256,
            size=self.size,
            depends=self.depends,
            requested_extras=(),
            source=self.source,
        )

    @classmethod
    def from_resolved(
        cls, package: ResolvedPackage, root: Path, size: int, fields: Mapping[str, Any]
    ) -> LockedPackage:
        url = package.url
        if "://" not in url:
            path = Path(url)
            url = os.path.relpath(path, root).replace(os.sep, "/") if path.is_absolute() else url
        return cls(
            name=package.name,
            version=package.version,
            source=package.source,
            file=package.filename,
            url=url,
            sha256=package.sha256,
            size=size,
            depends=tuple(sorted(package.depends)),
            fields=dict(sorted(fields.items())),
        )


@dataclass(frozen=True)
class LockedEnvironment:
    name: str
    #: the environment's requirements as lite-build expanded them (files, groups, projects)
    requirements: tuple[str, ...]
    packages: tuple[LockedPackage, ...]

    def package(self, name: str) -> LockedPackage | None:
        return next((p for p in self.packages if p.name == name), None)


@dataclass(frozen=True)
class LockFile:
    pyodide: str
    #: the package sources it was written for (local wheels, distribution), as written
    sources: tuple[str, ...]
    environments: tuple[LockedEnvironment, ...]

    def environment(self, name: str) -> LockedEnvironment | None:
        return next((env for env in self.environments if env.name == name), None)


# -- reading and writing -------------------------------------------------------------------------


def read_lock(path: Path) -> LockFile:
    try:
        data = load_toml(path)
    except OSError as error:
        raise LiteBuildError(f"cannot read {path}: {error.strerror}") from error
    except tomllib.TOMLDecodeError as error:
        raise LiteBuildError(
            f"{path} is not valid TOML ({error}); restore it from version control or run "
            "`lite-build lock --upgrade` to write it afresh"
        ) from error
    try:
        if data.get("lock-version") != LOCK_VERSION:
            raise LiteBuildError(
                f"{path} has lock-version {data.get('lock-version')!r}; this lite-build reads "
                f"version {LOCK_VERSION}; run `lite-build lock --upgrade`"
            )
        return LockFile(
            pyodide=str(data["pyodide"]),
            sources=tuple(data.get("sources", ())),
            environments=tuple(
                LockedEnvironment(
                    name=str(env["name"]),
                    requirements=tuple(env.get("requirements", ())),
                    packages=tuple(
                        _locked_package(p, f"{path}: package {p['name']!r}")
                        for p in env.get("packages", ())
                    ),
                )
                for env in data.get("environments", ())
            ),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise LiteBuildError(
            f"{path} is damaged (missing or wrong {error}); run `lite-build lock --upgrade` to "
            "write it afresh"
        ) from error


def _locked_package(p: dict[str, Any], source: str) -> LockedPackage:
    """One package table of the lock; its file name, hash and URL are checked, as they become
    paths in the cache and the site, and downloads."""
    package = LockedPackage(
        name=str(p["name"]),
        version=str(p["version"]),
        source=str(p["source"]),
        file=plain_file_name(str(p["file"]), source=source),
        url=str(p["url"]),
        sha256=sha256_hex(str(p["sha256"]), source=source),
        size=int(p["size"]),
        depends=tuple(p.get("depends", ())),
        fields=json.loads(p["fields"]) if "fields" in p else {},
    )
    if "://" in package.url:
        check_remote_url(package.url, source=source)
    return package


def format_lock(lock: LockFile) -> str:
    """The lock as TOML, deterministic to the byte (pure)."""
    lines = [HEADER, f"lock-version = {LOCK_VERSION}", f"pyodide = {_str(lock.pyodide)}"]
    lines.append(f"sources = {_list(lock.sources)}")
    for env in lock.environments:
        lines += ["", "[[environments]]", f"name = {_str(env.name)}"]
        lines.append(f"requirements = {_list(env.requirements)}")
        for package in sorted(env.packages, key=lambda p: p.name):
            lines += [
                "",
                "[[environments.packages]]",
                f"name = {_str(package.name)}",
                f"version = {_str(package.version)}",
                f"source = {_str(package.source)}",
                f"file = {_str(package.file)}",
                f"url = {_str(package.url)}",
                f"sha256 = {_str(package.sha256)}",
                f"size = {package.size}",
                f"depends = {_list(package.depends)}",
            ]
            if package.fields:
                text = json.dumps(package.fields, sort_keys=True, separators=(", ", ": "))
                lines.append(f"fields = {_str(text)}")
    return "\n".join(lines) + "\n"


def write_lock(path: Path, lock: LockFile) -> None:
    """Write atomically: an interrupted ``lite-build lock`` leaves the old lock intact."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            out.write(format_lock(lock))
        os.replace(tmp_name, path)
    finally:
        Path(tmp_name).unlink(missing_ok=True)


def stale_reasons(
    lock: LockFile,
    pyodide: str,
    sources: Sequence[str],
    environment: str,
    requirements: Iterable[str],
) -> list[str]:
    """Why the lock does not describe this configuration (empty: it does)."""
    reasons = []
    if lock.pyodide != pyodide:
        reasons.append(f"it was written for Pyodide {lock.pyodide}, the site uses {pyodide}")
    if tuple(lock.sources) != tuple(sources):
        reasons.append("the package sources (wheels, [pyodide] distribution) changed")
    locked = lock.environment(environment)
    if locked is None:
        reasons.append(f'it has no environment "{environment}"')
    elif tuple(locked.requirements) != tuple(requirements):
        added = sorted(set(requirements) - set(locked.requirements))
        removed = sorted(set(locked.requirements) - set(requirements))
        change = "; ".join(
            part
            for part in (
                f"added {', '.join(added)}" if added else "",
                f"removed {', '.join(removed)}" if removed else "",
            )
            if part
        )
        reasons.append(
            f'the packages of environment "{environment}" changed ({change or "reordered"})'
        )
    return reasons


def _str(value: str) -> str:
    # a JSON string is a valid TOML basic string for the characters lock values contain
    return json.dumps(value, ensure_ascii=False)


def _list(values: Iterable[str]) -> str:
    items = [_str(value) for value in values]
    return "[" + ", ".join(items) + "]"
