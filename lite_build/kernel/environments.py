"""Turning one configured environment into the files its kernel needs.

For each environment: resolve the kernel's own needs plus the author's packages for Pyodide,
fetch the wheels (hash-checked, cached), and write, into the work folder, the environment's
``pyodide-lock.json`` (exactly what ships), its piplite ``all.json`` index (so ``%pip install``
of a shipped package works offline) and ``wheels.json`` (where each wheel file is on disk).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from lite_build.cache import sha256_of
from lite_build.config import Environment
from lite_build.kernel.bytecode import precompile_wheels
from lite_build.kernel.runtime import PyodideRuntime
from lite_build.kernel.wheels import (
    ENVIRONMENT_PACKAGE,
    environment_wheel,
    kernel_extension_dir,
    kernel_shims,
)
from lite_build.packages.choose import choose_packages
from lite_build.packages.index import SimpleIndex, default_index_url
from lite_build.packages.lockfile import LockFile
from lite_build.packages.pyodide_lock import (
    LockEntry,
    lock_entry,
    make_lock,
    make_piplite_index,
    write_json,
)
from lite_build.packages.sources import PackageSources, SourceSettings
from lite_build.site.paths import LOCK, PIPLITE_INDEX, WHEELS_FROM_LOCK
from lite_build.ui import NullReporter, Reporter

WHEELS = "wheels.json"
SUMMARY = "environment.json"


@dataclass(frozen=True)
class EnvironmentPackages:
    """What the packages step left for one environment in the work folder."""

    name: str
    folder: Path
    #: wheel file name -> where it is on disk
    wheels: dict[str, Path]
    #: per package: name, version, filename, size
    packages: list[dict[str, Any]]
    #: packages loaded from a remote Pyodide distribution at run time (offline = false), not
    #: shipped: name, version, url
    remote: list[dict[str, Any]] = field(default_factory=list)

    @property
    def lock_path(self) -> Path:
        return self.folder / LOCK

    @property
    def piplite_index_path(self) -> Path:
        return self.folder / PIPLITE_INDEX

    @property
    def piplite_index_sha256(self) -> str:
        return hashlib.sha256(self.piplite_index_path.read_bytes()).hexdigest()

    @property
    def lock_sha256(self) -> str:
        return hashlib.sha256(self.lock_path.read_bytes()).hexdigest()

    @property
    def download_size(self) -> int:
        return sum(int(item["size"]) for item in self.packages)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "packages": [
                {"name": p["name"], "version": p["version"], "size": p["size"]}
                for p in self.packages
            ],
        }


def load_environment_packages(folder: Path) -> EnvironmentPackages:
    summary = json.loads((folder / SUMMARY).read_text(encoding="utf-8"))
    wheels = json.loads((folder / WHEELS).read_text(encoding="utf-8"))
    return EnvironmentPackages(
        name=summary["name"],
        folder=folder,
        wheels={name: Path(path) for name, path in wheels.items()},
        packages=summary["packages"],
        remote=summary.get("remote", []),
    )


def prepare_environment(
    environment: Environment,
    runtime: PyodideRuntime,
    dest: Path,
    *,
    offline: bool = True,
    reporter: Reporter | None = None,
    sources: PackageSources | None = None,
    lock: LockFile | None = None,
    bytecode: bool = False,
) -> EnvironmentPackages:
    """``sources`` (default: PyPI only) and ``lock`` (lite-build.lock, if any) decide where
    packages come from; see :mod:`lite_build.packages.sources`. With ``bytecode``, wheels ship
    with precompiled bytecode (when Node.js is at hand)."""
    reporter = reporter or NullReporter()
    info = runtime.lock["info"]
    if sources is None:
        settings = SourceSettings(root=Path.cwd(), work_dir=dest.parent)
        sources = PackageSources(settings, SimpleIndex(default_index_url()), reporter=reporter)
    chosen = choose_packages(
        environment,
        runtime.lock,
        sources,
        pyodide_version=runtime.version,
        lock=lock,
        reporter=reporter,
    )
    # with offline = false, what only a remote Pyodide distribution has is loaded from there
    remote = {
        package.name: url
        for package in chosen.packages
        if not offline and (url := sources.remote_url(package)) is not None
    }
    paths = sources.fetch(chosen.packages, remote=remote, offline=offline)
    entries = [
        lock_entry(
            package,
            paths.get(package.name),
            file_name=remote.get(package.name) or WHEELS_FROM_LOCK + package.filename,
            fields=chosen.fields.get(package.name),
        )
        for package in chosen.packages
    ]
    # the kernel's own wheels, so the kernel loads everything it needs from the lock at once
    shims = [shim for shim in kernel_shims(kernel_extension_dir()) if shim.name not in paths]
    shipped = {name: path for name, path in paths.items() if path.suffix == ".whl"} | {
        shim.name: shim.path for shim in shims
    }
    # with bytecode, wheels ship compiled (their sources were checked against published hashes)
    compiled = precompile_wheels(shipped, runtime, reporter=reporter) if bytecode else shipped
    entries = [
        replace(entry, sha256=sha256_of(compiled[entry.name]))
        if entry.name in compiled and compiled[entry.name] != paths.get(entry.name)
        else entry
        for entry in entries
    ]
    shim_files = {shim.name: compiled.pop(shim.name) for shim in shims}
    paths = {**paths, **compiled}
    resolved = [package for package in chosen.packages if package.name in paths]
    by_name = {entry.name: entry for entry in entries}
    preload = [canonicalize_name(name) for name in environment.preload]
    imports = [module for name in preload for module in by_name[name].imports]

    wheel = environment_wheel(
        environment.name, imports, environment.startup, environment.startup_origin
    )
    dest.mkdir(parents=True, exist_ok=True)
    wheel_path = dest / wheel.filename
    if not wheel_path.exists() or wheel_path.read_bytes() != wheel.data:
        wheel_path.write_bytes(wheel.data)
    entries.append(
        LockEntry(
            name=ENVIRONMENT_PACKAGE,
            version=wheel.filename.split("-")[1],
            file_name=WHEELS_FROM_LOCK + wheel.filename,
            sha256=wheel.sha256,
            # loading the environment package loads the preloaded packages with it
            depends=tuple(sorted(preload)),
        )
    )
    entries += [
        LockEntry(
            name=shim.name,
            version=shim.version,
            file_name=WHEELS_FROM_LOCK + shim.filename,
            sha256=sha256_of(shim_files[shim.name]),
            imports=tuple(shim.imports),
            depends=tuple(shim.depends),
        )
        for shim in shims
    ]
    write_json(dest / LOCK, make_lock(info, entries))
    write_json(
        dest / PIPLITE_INDEX,
        make_piplite_index(
            [
                (package, paths[package.name], WHEELS_FROM_LOCK + package.filename)
                for package in resolved
            ]
        ),
    )
    wheels = {package.filename: str(paths[package.name]) for package in resolved}
    wheels[wheel.filename] = str(wheel_path)
    wheels.update({shim.filename: str(shim_files[shim.name]) for shim in shims})
    write_json(dest / WHEELS, dict(sorted(wheels.items())))
    summary = {
        "name": environment.name,
        "packages": sorted(
            (
                {
                    "name": package.name,
                    "version": package.version,
                    "filename": package.filename,
                    "size": paths[package.name].stat().st_size,
                }
                for package in resolved
            ),
            key=lambda item: str(item["name"]),
        ),
    }
    summary["remote"] = [
        {"name": package.name, "version": package.version, "url": remote[package.name]}
        for package in sorted(chosen.packages, key=lambda package: package.name)
        if package.name in remote
    ]
    write_json(dest / SUMMARY, summary)
    return load_environment_packages(dest)
