"""Step 2, ``packages``: per environment, resolve and fetch (cached) its packages, write its
``pyodide-lock.json`` and piplite index, and make its kernel snapshot."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path

from lite_build import __version__
from lite_build.cache import sha256_of
from lite_build.files import write_json
from lite_build.kernel.bytecode import FORMAT as BYTECODE_FORMAT
from lite_build.kernel.environments import WHEELS, EnvironmentPackages, prepare_environment
from lite_build.kernel.runtime import PyodideRuntime
from lite_build.kernel.snapshot import FORMAT as SNAPSHOT_FORMAT
from lite_build.kernel.snapshot import SCRIPT as SNAPSHOT_SCRIPT
from lite_build.kernel.snapshot import make_snapshot
from lite_build.kernel.wheels import KERNEL_ROOTS, KERNEL_START_PACKAGES, STARTUP_RUNNER, kernel_env
from lite_build.packages.choose import project_lock
from lite_build.packages.index import INDEX_URL_ENV_VAR
from lite_build.packages.sources import package_inputs, site_sources
from lite_build.packages.sources.release import RELEASE_URL_ENV_VAR
from lite_build.pipeline.step import Step
from lite_build.site.paths import LOCK, PIPLITE_INDEX, SNAPSHOT_FILE

#: in an environment's work folder: the sha256 of its kernel snapshot (null: it has none)
SNAPSHOT_JSON = "snapshot.json"


class PackagesStep(Step):
    name = "packages"
    options = (
        "environments[].name",
        "environments[].packages",
        "environments[].preload",
        "environments[].startup",
        "wheels",
        "pyodide.distribution",
        "offline",
        "bytecode",
        "snapshot",
    )

    def describe(self) -> str:
        return "resolve and fetch each environment's packages; write its lock"

    @cached_property
    def package_files(self) -> list[Path]:
        """The files the packages are chosen from (walked once: local projects can be large)."""
        return package_inputs(self.config)

    def inputs(self) -> list[Path]:
        return [
            self.work.runtime_json,
            *self.package_files,
            # the script that makes kernel snapshots (a development install changes it)
            *([SNAPSHOT_SCRIPT] if self.config.snapshot else []),
        ]

    def code(self) -> dict[str, object]:
        return {
            "lite-build": __version__,
            # the environment wheel's code (a development install keeps its version number
            # while this changes)
            "environment runner": hashlib.sha256(STARTUP_RUNNER.encode()).hexdigest(),
            # what the locks hold for the kernel's start, and how wheels ship
            "kernel start": list(KERNEL_START_PACKAGES),
            "bytecode format": BYTECODE_FORMAT,
            "snapshot format": SNAPSHOT_FORMAT,
            "index": os.environ.get(INDEX_URL_ENV_VAR, ""),
            "release": os.environ.get(RELEASE_URL_ENV_VAR, ""),
            "lock": str(self.package_files),
        }

    def targets(self) -> list[Path]:
        return [
            self.work.packages_dir(env.name) / name
            for env in self.config.environments
            for name in (LOCK, PIPLITE_INDEX, WHEELS, SNAPSHOT_JSON)
        ]

    def present(self) -> bool:
        """Every wheel the locks name is still in the cache."""
        for env in self.config.environments:
            try:
                wheels = json.loads((self.work.packages_dir(env.name) / WHEELS).read_text())
            except (OSError, ValueError):
                return False
            if not all(Path(path).is_file() for path in wheels.values()):
                return False
        return True

    def run(self) -> None:
        runtime = self.work.runtime()
        sources = site_sources(self.config, (runtime.version, runtime.lock), reporter=self.reporter)
        lock = project_lock(self.config)
        for env in self.config.environments:
            prepared = prepare_environment(
                env,
                runtime,
                self.work.packages_dir(env.name),
                offline=self.config.offline,
                reporter=self.reporter,
                sources=sources,
                lock=lock,
                bytecode=self.config.bytecode,
            )
            self._snapshot(prepared, runtime, env.preload)
            if prepared.remote:
                self.reporter.info(
                    f"the site is not offline: environment {env.name!r} loads "
                    f"{len(prepared.remote)} package(s) from a remote Pyodide distribution at "
                    "run time: "
                    + ", ".join(f"{p['name']} {p['version']} ({p['url']})" for p in prepared.remote)
                )

    def _snapshot(
        self, packages: EnvironmentPackages, runtime: PyodideRuntime, preload: Iterable[str]
    ) -> None:
        """The environment's kernel snapshot into its work folder (or none), and
        ``snapshot.json`` saying which."""
        target = packages.folder / SNAPSHOT_FILE
        made = None
        if self.config.snapshot:
            lock = json.loads(packages.lock_path.read_text(encoding="utf-8"))
            made = make_snapshot(
                runtime,
                lock,
                packages.wheels,
                roots=KERNEL_ROOTS,
                env=kernel_env(runtime),
                preload=preload,
                reporter=self.reporter,
                name=packages.name,
            )
        if made is None:
            target.unlink(missing_ok=True)
            write_json(packages.folder / SNAPSHOT_JSON, {"sha256": None})
            return
        shutil.copyfile(made, target)
        write_json(packages.folder / SNAPSHOT_JSON, {"sha256": sha256_of(target)})


def snapshot_sha256(folder: Path) -> str | None:
    """The sha256 of the kernel snapshot in an environment's work folder, or None if it has
    none."""
    try:
        sha256: str | None = json.loads((folder / SNAPSHOT_JSON).read_text())["sha256"]
    except (OSError, ValueError, KeyError):
        return None
    return sha256 if sha256 and (folder / SNAPSHOT_FILE).is_file() else None
