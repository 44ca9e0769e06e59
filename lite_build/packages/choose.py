"""Choosing each environment's packages: exactly those of ``lite-build.lock`` when the project
has one that still matches the configuration, else by resolving from the package sources; and
``lite-build lock``, which writes that file."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from lite_build.config import Environment, SiteConfig
from lite_build.errors import LiteBuildError
from lite_build.kernel.wheels import (
    kernel_extension_dir,
    kernel_requirements,
    preferred_versions,
    provided_packages,
)
from lite_build.packages.lockfile import (
    LOCK_FILE_NAME,
    LockedEnvironment,
    LockedPackage,
    LockFile,
    read_lock,
    stale_reasons,
    write_lock,
)
from lite_build.packages.platform import PyodidePlatform
from lite_build.packages.requirements import expand_packages
from lite_build.packages.resolve import ResolvedPackage, resolve
from lite_build.packages.sources import PackageSources, site_sources
from lite_build.packages.sources.base import relative
from lite_build.packages.sources.project import LocalProjects
from lite_build.ui import NullReporter, Reporter


@dataclass
class ChosenPackages:
    packages: list[ResolvedPackage]
    #: per canonical name: the catalogue fields of Pyodide-distribution packages
    fields: dict[str, dict[str, Any]]
    #: the environment's requirements as expanded (what the lock records)
    requirements: list[str]


def expand_environment(
    environment: Environment, sources: PackageSources
) -> tuple[list[str], list[str]]:
    """The environment's root requirements (projects built and pinned) and their description."""
    expanded = expand_packages(
        environment.packages, sources.settings.root, key=f"environments.{environment.name}.packages"
    )
    if expanded.problems:
        listed = "\n".join(f"  - {problem}" for problem in expanded.problems)
        raise LiteBuildError(f'environment "{environment.name}":\n{listed}')
    roots = list(expanded.requirements)
    described = list(expanded.requirements)
    for folder in expanded.projects:
        name, version = sources.projects.add_project(folder)
        roots.append(f"{name}=={version}")
        described.append(relative(folder, sources.settings.root))
    return roots, described


def choose_packages(
    environment: Environment,
    runtime_lock: Mapping[str, Any],
    sources: PackageSources,
    *,
    pyodide_version: str,
    lock: LockFile | None = None,
    upgrade: Collection[str] | None = None,
    reporter: Reporter | None = None,
) -> ChosenPackages:
    """The packages of ``environment``: exactly those of ``lock`` if given (and it still
    describes the configuration), else resolved, preferring the locked versions of the
    packages not named in ``upgrade`` (an empty ``upgrade`` re-resolves everything)."""
    reporter = reporter or NullReporter()
    roots, described = expand_environment(environment, sources)
    locked = lock.environment(environment.name) if lock is not None else None
    if lock is not None and upgrade is None:
        reasons = stale_reasons(
            lock, pyodide_version, sources.describe(), environment.name, described
        )
        if reasons:
            raise LiteBuildError(
                f"{LOCK_FILE_NAME} does not match the configuration: {'; '.join(reasons)}; run "
                "`lite-build lock` to update it (or delete it to resolve at every build)"
            )
        assert locked is not None
        return _from_lock(locked, sources, described, reporter)
    preferred = dict(preferred_versions(dict(runtime_lock)))
    if locked is not None:
        wanted = {canonicalize_name(name) for name in upgrade or ()}
        preferred.update({p.name: p.version for p in locked.packages if p.name not in wanted})
    platform = PyodidePlatform.from_lock_info(runtime_lock["info"])
    if sources.distribution is not None:
        sources.distribution.check_abi(platform.abi_version)
    try:
        resolved = resolve(
            [*kernel_requirements(dict(runtime_lock)), *roots],
            platform,
            sources.layered_index(),
            preferred=preferred,
            provided=provided_packages(kernel_extension_dir()),
            reporter=reporter,
        )
    except LiteBuildError as error:
        raise LiteBuildError(f"environment {environment.name!r}: {error}") from error
    for line in sources.report(resolved):
        reporter.info(f"  environment {environment.name!r}: {line}")
    fields = {package.name: sources.catalogue_fields(package) for package in resolved}
    return ChosenPackages(resolved, fields, described)


def _from_lock(
    locked: LockedEnvironment,
    sources: PackageSources,
    described: list[str],
    reporter: Reporter,
) -> ChosenPackages:
    root = sources.settings.root
    packages = []
    for entry in locked.packages:
        package = entry.resolved(root)
        rebuilt = (
            sources.projects.project_wheel(entry.name)
            if entry.source == LocalProjects.name
            else None
        )
        if rebuilt is not None and rebuilt.sha256 != entry.sha256:
            # a local project is the author's own code: its edits ship without a new lock
            reporter.info(
                f"  the local project {entry.name} changed since {LOCK_FILE_NAME} was written; "
                "using the rebuilt wheel"
            )
            package = replace(
                package, filename=rebuilt.filename, url=rebuilt.url, sha256=rebuilt.sha256
            )
        packages.append(package)
    fields = {entry.name: dict(entry.fields) for entry in locked.packages}
    return ChosenPackages(packages, fields, described)


def lock_path(config: SiteConfig) -> Path:
    return config.root / LOCK_FILE_NAME


def project_lock(config: SiteConfig) -> LockFile | None:
    """The project's lite-build.lock, if it has one."""
    path = lock_path(config)
    return read_lock(path) if path.is_file() else None


def lock_site(
    config: SiteConfig,
    runtime_version: str,
    runtime_lock: Mapping[str, Any],
    *,
    upgrade: Collection[str] | None = None,
    reporter: Reporter | None = None,
) -> tuple[Path, LockFile]:
    """Write ``lite-build.lock`` for every environment of ``config``; return its path and
    content. Versions already locked are kept where they still fit, except the packages named
    in ``upgrade``; an empty ``upgrade`` refreshes every package."""
    reporter = reporter or NullReporter()
    sources = site_sources(config, (runtime_version, runtime_lock), reporter=reporter)
    previous = project_lock(config)
    if upgrade is not None and not upgrade:
        previous = None
    root = config.root
    environments = []
    for env in config.environments:
        chosen = choose_packages(
            env,
            runtime_lock,
            sources,
            pyodide_version=runtime_version,
            lock=previous,
            upgrade=tuple(upgrade or ()),
            reporter=reporter,
        )
        paths = sources.fetch(chosen.packages, offline=config.offline)
        packages = tuple(
            LockedPackage.from_resolved(
                package, root, paths[package.name].stat().st_size, chosen.fields[package.name]
            )
            for package in chosen.packages
        )
        environments.append(LockedEnvironment(env.name, tuple(chosen.requirements), packages))
    lock = LockFile(runtime_version, tuple(sources.describe()), tuple(environments))
    path = lock_path(config)
    write_lock(path, lock)
    return path, lock
