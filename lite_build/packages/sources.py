"""Where each package comes from, in order of preference: the local wheels, the local projects
(built into wheels), a full Pyodide distribution, then the package index (PyPI).

:class:`LayeredIndex` shows the resolver one index: for each name, the files of the first source
that has it. :class:`PackageSources` adds what a build needs around resolution: building local
projects, fetching each chosen file from its source into the cache, and the catalogue details
of Pyodide-distribution packages.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name, parse_wheel_filename

from lite_build.cache import Digest, download, sha256_of
from lite_build.config import Environment, SiteConfig
from lite_build.errors import LiteBuildError
from lite_build.kernel.wheels import (
    kernel_extension_dir,
    kernel_requirements,
    preferred_versions,
    provided_packages,
)
from lite_build.packages.distribution import CATALOGUE, PyodideDistribution, is_url
from lite_build.packages.distribution import SOURCE as DISTRIBUTION
from lite_build.packages.index import (
    IndexFile,
    PackageIndex,
    SimpleIndex,
    default_index_url,
    wheel_cache_path,
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
from lite_build.packages.wheel import CoreMetadata, wheel_metadata
from lite_build.ui import NullReporter, Reporter

log = logging.getLogger(__name__)

WHEELS = "wheels"
PROJECT = "project"
PYPI = "pypi"
#: sources in order of preference, as the lock file and messages name them
SOURCE_ORDER = (WHEELS, PROJECT, DISTRIBUTION, PYPI)
#: folders of a project that are not its source (build output, caches, environments)
IGNORED_PARTS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "__pycache__",
        ".venv",
        "venv",
        "build",
        "dist",
        ".tox",
        ".nox",
        ".lite-build",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        "node_modules",
    }
)
#: used for project wheels when SOURCE_DATE_EPOCH is unset, so that they are reproducible
DEFAULT_EPOCH = "315532800"  # 1980-01-01, the earliest time a zip file can hold


# -- local wheels and local projects -------------------------------------------------------------


class LocalWheels:
    """Wheel files on disk (given one by one, or as folders of wheels), by canonical name."""

    def __init__(self, paths: Iterable[Path], source: str = WHEELS) -> None:
        self.source = source
        self._files: dict[str, list[IndexFile]] = {}
        self._paths: dict[str, Path] = {}
        for path in paths:
            for wheel in sorted(path.glob("*.whl")) if path.is_dir() else [path]:
                self.add(wheel)

    def add(self, wheel: Path) -> str:
        """Add one wheel file; return its canonical project name."""
        try:
            name = canonicalize_name(parse_wheel_filename(wheel.name)[0])
        except ValueError as error:
            raise LiteBuildError(f"{wheel}: not a wheel file name: {error}") from error
        file = IndexFile(
            filename=wheel.name,
            url=str(wheel),
            sha256=sha256_of(wheel),
            size=wheel.stat().st_size,
            source=self.source,
        )
        self._files.setdefault(name, []).append(file)
        self._paths[wheel.name] = wheel
        return name

    def files(self, name: str) -> list[IndexFile]:
        return list(self._files.get(canonicalize_name(name), []))

    def metadata(self, file: IndexFile) -> CoreMetadata:
        return wheel_metadata(self._paths[file.filename])

    @property
    def names(self) -> list[str]:
        return sorted(self._files)


def wheel_files(paths: Iterable[Path]) -> list[Path]:
    """The wheel files the top-level ``wheels`` entries point at."""
    found: list[Path] = []
    for path in paths:
        found += sorted(path.glob("*.whl")) if path.is_dir() else [path]
    return found


def project_files(folder: Path) -> list[Path]:
    """The source files of a local project (what a change to means a rebuild), sorted."""
    files = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(
            d for d in dirnames if d not in IGNORED_PARTS and not d.endswith(".egg-info")
        )
        for filename in sorted(filenames):
            if not filename.endswith((".pyc", ".pyo")):
                files.append(Path(dirpath) / filename)
    return files


def project_fingerprint(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in project_files(folder):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def build_project(folder: Path, work_dir: Path, *, reporter: Reporter | None = None) -> Path:
    """The wheel of the project in ``folder``, built again only when its files changed.

    Built with ``uv build --wheel`` (the build backend the project declares, in an isolated
    environment), with ``SOURCE_DATE_EPOCH`` set so that the same files give the same wheel.
    """
    reporter = reporter or NullReporter()
    epoch = os.environ.get("SOURCE_DATE_EPOCH") or DEFAULT_EPOCH
    # the wheel's timestamps come from the epoch: a different one is a different wheel
    fingerprint = f"{project_fingerprint(folder)} {epoch}"
    out = work_dir / "projects" / hashlib.sha256(str(folder).encode()).hexdigest()[:16]
    stamp = out / "fingerprint.json"
    try:
        recorded = json.loads(stamp.read_text(encoding="utf-8"))
        wheel = out / str(recorded["wheel"])
        if recorded["fingerprint"] == fingerprint and wheel.is_file():
            return wheel
    except (OSError, ValueError, KeyError, TypeError):
        pass
    reporter.info(f"  building the local project {folder}")
    with tempfile.TemporaryDirectory(prefix="lite-build-project-") as tmp:
        env = {
            **os.environ,
            "UV_PYTHON_DOWNLOADS": "never",
            "SOURCE_DATE_EPOCH": epoch,
        }
        command = [
            _uv(),
            "build",
            "--wheel",
            "--no-progress",
            "--quiet",
            "--python",
            sys.executable,
            "--out-dir",
            tmp,
            str(folder),
        ]
        log.debug("running %s", " ".join(command))
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        built = sorted(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or len(built) != 1:
            details = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
            raise LiteBuildError(
                f"the local project {folder} could not be built into a wheel "
                f"(uv build exited with {done.returncode}):\n{details}\nfix the project's "
                "pyproject.toml (or setup.py) and build again"
            )
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        wheel = out / built[0].name
        shutil.move(str(built[0]), wheel)
    stamp.write_text(
        json.dumps({"fingerprint": fingerprint, "wheel": wheel.name}, sort_keys=True),
        encoding="utf-8",
    )
    return wheel


def _uv() -> str:
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found:
            return found
    raise LiteBuildError("building local projects needs uv, which is not installed; pip install uv")


# -- the layered index ---------------------------------------------------------------------------


class LayeredIndex:
    """A :class:`PackageIndex` over several sources: per name, the first source that has it."""

    def __init__(
        self,
        wheels: LocalWheels,
        projects: LocalWheels,
        distribution: PyodideDistribution | None,
        index: PackageIndex,
    ) -> None:
        self.wheels = wheels
        self.projects = projects
        self.distribution = distribution
        self.index = index
        self.url = index.url

    def _sources(self) -> list[tuple[str, Any]]:
        layers: list[tuple[str, Any]] = [(WHEELS, self.wheels), (PROJECT, self.projects)]
        if self.distribution is not None:
            layers.append((DISTRIBUTION, self.distribution))
        layers.append((PYPI, self.index))
        return layers

    def files(self, name: str) -> list[IndexFile]:
        for _source, layer in self._sources():
            found: list[IndexFile] = layer.files(name)
            if found:
                return found
        return []

    def metadata(self, file: IndexFile) -> CoreMetadata:
        layer = dict(self._sources())[file.source]
        result: CoreMetadata = layer.metadata(file)
        return result

    def other_sources(self, name: str) -> list[str]:
        """Why each source before the package index does not have ``name``, in order."""
        reasons = ["not in the local wheels" if self.wheels.names else "no local wheels given"]
        if self.projects.names:
            reasons.append("not one of the local projects")
        if self.distribution is None:
            reasons.append("no Pyodide distribution configured")
        else:
            reasons.append(self.distribution.missing_reason(name))
        return reasons


# -- what a build uses -------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceSettings:
    """The configuration that decides where packages come from."""

    #: the folder relative paths resolve against (the config file's)
    root: Path
    #: where built project wheels are kept
    work_dir: Path
    #: the top-level ``wheels`` entries, absolute
    wheels: tuple[Path, ...] = ()
    #: ``[pyodide] distribution``: a folder, an archive or a URL (None: not configured)
    distribution: str | None = None


class PackageSources:
    """The sources of one build: the layered index, and fetching what the resolver chose."""

    def __init__(
        self,
        settings: SourceSettings,
        index: PackageIndex,
        *,
        reporter: Reporter | None = None,
    ) -> None:
        self.settings = settings
        self.reporter = reporter or NullReporter()
        self.index = index
        self.wheels = LocalWheels(settings.wheels)
        self.projects = LocalWheels((), source=PROJECT)
        self.distribution = (
            PyodideDistribution(settings.distribution, reporter=self.reporter)
            if settings.distribution
            else None
        )
        self._project_paths: dict[str, Path] = {}  # canonical name -> project folder

    def layered_index(self) -> LayeredIndex:
        return LayeredIndex(self.wheels, self.projects, self.distribution, self.index)

    def add_project(self, folder: Path) -> tuple[str, str]:
        """Build (if needed) the project in ``folder``; its canonical name and version."""
        wheel = build_project(folder, self.settings.work_dir, reporter=self.reporter)
        metadata = wheel_metadata(wheel)
        name = canonicalize_name(metadata.name)
        if name not in self._project_paths:
            self.projects.add(wheel)
            self._project_paths[name] = folder
        return name, metadata.version

    def project_folder(self, name: str) -> Path | None:
        return self._project_paths.get(canonicalize_name(name))

    def project_wheel(self, name: str) -> IndexFile | None:
        """The freshly built wheel of local project ``name`` (None if it is not one)."""
        files = self.projects.files(name)
        return files[0] if files else None

    def describe(self) -> list[str]:
        """The sources as the lock file records them (relative paths, the distribution)."""
        described = [
            f"wheels: {_relative(path, self.settings.root)}" for path in self.settings.wheels
        ]
        if self.settings.distribution:
            location = self.settings.distribution
            if self.distribution is not None and not self.distribution.remote:
                location = _relative(Path(location), self.settings.root)
            described.append(f"distribution: {location}")
        return described

    def local_path(self, package: ResolvedPackage) -> Path | None:
        """The file of a package from the local wheels or a local project."""
        if package.source in (WHEELS, PROJECT):
            return Path(package.url)
        return None

    def fetch(
        self,
        packages: Sequence[ResolvedPackage],
        *,
        remote: Iterable[str] = (),
        offline: bool = True,
    ) -> dict[str, Path]:
        """Each package's file, hash-checked, by canonical name (``remote`` ones are skipped).

        ``offline``: whether the site must ship every file (it only shapes the advice given
        when a remote distribution cannot provide one)."""
        skipped = set(remote)
        paths: dict[str, Path] = {}
        for package in packages:
            if package.name in skipped:
                continue
            label = f"{package.name} {package.version}"
            if package.source in (WHEELS, PROJECT):
                path = Path(package.url)
                if not path.is_file() or sha256_of(path) != package.sha256:
                    raise LiteBuildError(
                        f'"{package.name}" {package.version}: the local file {path} is missing or '
                        "changed since the packages were chosen; run `lite-build lock --upgrade "
                        f"{package.name}` (or delete lite-build.lock) and build again"
                    )
                paths[package.name] = path
            elif package.source == DISTRIBUTION:
                if self.distribution is None:
                    raise LiteBuildError(
                        f'"{package.name}": lite-build.lock takes it from a Pyodide distribution, '
                        "but none is configured; set [pyodide] distribution, or run "
                        "`lite-build lock --upgrade`"
                    )
                paths[package.name] = self._fetch_from_distribution(
                    self.distribution, package, label, offline
                )
            else:
                paths[package.name] = download(
                    package.url,
                    wheel_cache_path(package.sha256, package.filename),
                    Digest("sha256", package.sha256),
                    label=label,
                    reporter=self.reporter,
                )
        return paths

    @staticmethod
    def _fetch_from_distribution(
        distribution: PyodideDistribution, package: ResolvedPackage, label: str, offline: bool
    ) -> Path:
        try:
            return distribution.fetch(package.filename, package.sha256, label=label)
        except LiteBuildError as error:
            if not distribution.remote:
                raise
            fixes = [
                "make it reachable",
                "point [pyodide] distribution at a local copy (a folder or .tar.bz2 file)",
            ]
            if offline:
                fixes.append(f"set offline = false to load {package.name} from there at run time")
            raise LiteBuildError(
                f'{error}\n"{package.name}" comes from {distribution.label}'
                + (", and an offline site must ship its file" if offline else "")
                + ": "
                + ", or ".join(fixes)
            ) from error

    def catalogue_fields(self, package: ResolvedPackage) -> dict[str, Any]:
        """The distribution catalogue's lock fields for ``package`` (empty for other sources)."""
        if package.source != DISTRIBUTION or self.distribution is None:
            return {}
        return dict(self.distribution.entry_for_file(package.filename).fields)

    def remote_url(self, package: ResolvedPackage) -> str | None:
        """The URL a remote distribution serves ``package`` from (None for other sources)."""
        if package.source == DISTRIBUTION and self.distribution and self.distribution.remote:
            return self.distribution.base_url + package.filename
        return None


# -- choosing an environment's packages: from lite-build.lock, or by resolving --------------------


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
        name, version = sources.add_project(folder)
        roots.append(f"{name}=={version}")
        described.append(_relative(folder, sources.settings.root))
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
        rebuilt = sources.project_wheel(entry.name) if entry.source == PROJECT else None
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


def _relative(path: Path, root: Path) -> str:
    text = os.path.relpath(path, root).replace(os.sep, "/")
    return text if text.startswith(".") else "./" + text


# -- what a site build needs -----------------------------------------------------------------


def site_sources(config: SiteConfig, *, reporter: Reporter | None = None) -> PackageSources:
    """The package sources ``config`` describes (the package index: PyPI or
    ``$LITE_BUILD_INDEX_URL``)."""
    settings = SourceSettings(
        root=config.root,
        work_dir=config.work_dir,
        wheels=config.wheels,
        distribution=config.pyodide.distribution,
    )
    return PackageSources(settings, SimpleIndex(default_index_url()), reporter=reporter)


def lock_path(config: SiteConfig) -> Path:
    return config.root / LOCK_FILE_NAME


def site_lock(config: SiteConfig) -> LockFile | None:
    """The project's lite-build.lock, if it has one."""
    path = lock_path(config)
    return read_lock(path) if path.is_file() else None


def package_inputs(config: SiteConfig) -> list[Path]:
    """Every file whose change means the packages must be chosen or fetched again: local
    wheels, local projects' sources, requirement files, the lock and a local catalogue."""
    files = wheel_files(config.wheels)
    for env in config.environments:
        expanded = expand_packages(env.packages, config.root)
        files += expanded.files
        for project in expanded.projects:
            files += project_files(project)
    if lock_path(config).is_file():
        files.append(lock_path(config))
    distribution = config.pyodide.distribution
    if distribution and not is_url(distribution):
        path = Path(distribution)
        files.append(path / CATALOGUE if path.is_dir() else path)
    return sorted({path for path in files if path.is_file()})


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
    sources = site_sources(config, reporter=reporter)
    previous = site_lock(config)
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
