"""Where each package comes from, in order of preference: the local wheels (local.py), the
local projects built into wheels (project.py), a full Pyodide distribution (distribution.py),
then the package index, PyPI (pypi.py); when no distribution is configured, the Pyodide release
matching the runtime (release.py) is the fallback for what none of them has a Pyodide build of.
Each is a :class:`Source` (base.py).

:class:`LayeredIndex` shows the resolver one index: for each name, the files of the first source
that has it, or of a fallback when those files hold no wheel Pyodide can use.
:class:`PackageSources` is the sources of one build, in that order, and fetches each chosen
package from the source that provided it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lite_build.config import SiteConfig
from lite_build.errors import LiteBuildError
from lite_build.packages.index import (
    IndexFile,
    PackageIndex,
    SimpleIndex,
    default_index_url,
    index_label,
)
from lite_build.packages.lockfile import LOCK_FILE_NAME
from lite_build.packages.platform import PyodidePlatform
from lite_build.packages.requirements import expand_packages
from lite_build.packages.resolve import ResolvedPackage, group_releases
from lite_build.packages.sources.base import Source, Unconfigured
from lite_build.packages.sources.distribution import CATALOGUE, PyodideDistribution, is_url
from lite_build.packages.sources.local import LocalWheels, wheel_files
from lite_build.packages.sources.project import LocalProjects, project_files
from lite_build.packages.sources.pypi import IndexSource
from lite_build.packages.sources.release import PyodideRelease
from lite_build.packages.wheel import CoreMetadata
from lite_build.ui import NullReporter, Reporter

__all__ = ["LayeredIndex", "PackageSources", "Source", "SourceSettings", "site_sources"]


class LayeredIndex:
    """A :class:`PackageIndex` over several sources: per name, the first source that has it;
    then the ``fallbacks``, when what those have holds no wheel usable on ``platform``."""

    def __init__(
        self,
        sources: Sequence[Source],
        *,
        fallbacks: Sequence[Source] = (),
        platform: PyodidePlatform | None = None,
    ) -> None:
        self.sources = list(sources)
        self.fallbacks = list(fallbacks)
        self.platform = platform
        self._by_name = {source.name: source for source in [*self.sources, *self.fallbacks]}
        index = next((s for s in reversed(self.sources) if isinstance(s, IndexSource)), None)
        self.url = index.url if index is not None else ""

    def files(self, name: str) -> list[IndexFile]:
        found = next((files for s in self.sources if (files := s.files(name))), [])
        if self._usable(found):
            return found
        return next((files for s in self.fallbacks if (files := s.files(name))), found)

    def _usable(self, files: list[IndexFile]) -> bool:
        """Whether ``files`` hold a wheel Pyodide can use (any file, without a platform)."""
        if self.platform is None or not self.fallbacks:
            return bool(files)
        releases = group_releases(files, self.platform).values()
        return any(release.wheel_if_yanked_allowed for release in releases)

    def source(self, name: str) -> Source | None:
        """The source called ``name`` (as ``IndexFile.source`` names it), if it is one of these."""
        return self._by_name.get(name)

    def metadata(self, file: IndexFile) -> CoreMetadata:
        return self._by_name[file.source].metadata(file)

    def other_sources(self, name: str) -> list[str]:
        """Why each source but the package index does not have ``name``."""
        others = [s for s in [*self.sources, *self.fallbacks] if not isinstance(s, IndexSource)]
        reasons = (source.missing_reason(name) for source in others)
        return [reason for reason in reasons if reason]


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
    #: the runtime's version and ``pyodide-lock.json``, when its release is the fallback
    release: tuple[str, Mapping[str, Any]] | None = None
    #: why the release is not the fallback, if that is worth a mention (it was turned off)
    no_release: str | None = None


class PackageSources:
    """The sources of one build, in order of preference, and fetching what the resolver chose."""

    def __init__(
        self,
        settings: SourceSettings,
        index: PackageIndex,
        *,
        reporter: Reporter | None = None,
    ) -> None:
        self.settings = settings
        self.reporter = reporter or NullReporter()
        self.wheels = LocalWheels(settings.wheels)
        self.projects = LocalProjects(settings.work_dir, reporter=self.reporter)
        self.distribution = (
            PyodideDistribution(settings.distribution, reporter=self.reporter)
            if settings.distribution
            else None
        )
        self.index = IndexSource(index, reporter=self.reporter)
        self.release = (
            PyodideRelease(*settings.release, reporter=self.reporter)
            if settings.release and not settings.distribution
            else None
        )
        self.sources: list[Source] = [
            self.wheels,
            self.projects,
            self.distribution or Unconfigured("no Pyodide distribution configured"),
            self.index,
        ]
        fallback = self.release or (
            Unconfigured(settings.no_release) if settings.no_release else None
        )
        release_lock = settings.release[1] if settings.release else None
        platform = PyodidePlatform.from_lock_info(release_lock["info"]) if release_lock else None
        self._layered = LayeredIndex(
            self.sources, fallbacks=[fallback] if fallback else [], platform=platform
        )

    def layered_index(self) -> LayeredIndex:
        return self._layered

    def source_of(self, package: ResolvedPackage) -> Source:
        source = self._layered.source(package.source)
        if source is None:
            raise _unconfigured(package)
        return source

    def describe(self) -> list[str]:
        """The sources as the lock file records them (relative paths, the distribution)."""
        sources = [*self._layered.sources, *self._layered.fallbacks]
        return [line for source in sources for line in source.describe(self.settings.root)]

    def report(self, packages: Sequence[ResolvedPackage]) -> list[str]:
        """Where the packages come from: one line per source, naming its packages."""
        by_source: dict[str, list[str]] = {}
        for package in packages:
            by_source.setdefault(package.source, []).append(f"{package.name} {package.version}")
        return [f"{self._label(name)}: {', '.join(names)}" for name, names in by_source.items()]

    def _label(self, name: str) -> str:
        source = self._layered.source(name)
        if isinstance(source, PyodideDistribution):
            return f"from {source.label}"
        if isinstance(source, IndexSource):
            return f"from {index_label(source.url)}"
        return {LocalWheels.name: "local wheels", LocalProjects.name: "local projects"}.get(
            name, f"from {name}"
        )

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
        return {
            package.name: self.source_of(package).fetch(package, offline=offline)
            for package in packages
            if package.name not in skipped
        }

    def catalogue_fields(self, package: ResolvedPackage) -> dict[str, Any]:
        """The catalogue's lock fields for ``package`` (empty for sources without one)."""
        return self.source_of(package).catalogue_fields(package)

    def remote_url(self, package: ResolvedPackage) -> str | None:
        """The URL the site loads ``package`` from at run time (None: the site ships it)."""
        return self.source_of(package).remote_url(package)


def _unconfigured(package: ResolvedPackage) -> LiteBuildError:
    if package.source == PyodideRelease.name:
        return LiteBuildError(
            f'"{package.name}": lite-build.lock takes it from the Pyodide release, which '
            "[pyodide] distribution = false turns off; remove that setting, or run "
            "`lite-build lock --upgrade`"
        )
    if package.source == PyodideDistribution.name:
        return LiteBuildError(
            f'"{package.name}": lite-build.lock takes it from a Pyodide distribution, '
            "but none is configured; set [pyodide] distribution, or run "
            "`lite-build lock --upgrade`"
        )
    return LiteBuildError(
        f'"{package.name}": lite-build.lock takes it from the source {package.source!r}, which '
        "this lite-build does not know; run `lite-build lock --upgrade`"
    )


def site_sources(
    config: SiteConfig,
    runtime: tuple[str, Mapping[str, Any]] | None = None,
    *,
    reporter: Reporter | None = None,
) -> PackageSources:
    """The package sources ``config`` describes (the package index: PyPI or
    ``$LITE_BUILD_INDEX_URL``); ``runtime`` (its version and ``pyodide-lock.json``) makes its
    release the fallback, unless ``[pyodide] distribution`` is set (or false)."""
    distribution = config.pyodide.distribution
    settings = SourceSettings(
        root=config.root,
        work_dir=config.work_dir,
        wheels=config.wheels,
        distribution=distribution or None,
        release=runtime if distribution is None else None,
        no_release=(
            "the Pyodide release's packages are turned off ([pyodide] distribution = false; "
            "remove it to use them)"
            if distribution is False
            else None
        ),
    )
    return PackageSources(settings, SimpleIndex(default_index_url()), reporter=reporter)


def package_inputs(config: SiteConfig) -> list[Path]:
    """Every file whose change means the packages must be chosen or fetched again: local
    wheels, local projects' sources, requirement files, the lock and a local catalogue."""
    files = wheel_files(config.wheels)
    for env in config.environments:
        expanded = expand_packages(env.packages, config.root)
        files += expanded.files
        for project in expanded.projects:
            files += project_files(project)
    lock = config.root / LOCK_FILE_NAME
    if lock.is_file():
        files.append(lock)
    distribution = config.pyodide.distribution
    if isinstance(distribution, str) and not is_url(distribution):
        path = Path(distribution)
        files.append(path / CATALOGUE if path.is_dir() else path)
    return sorted({path for path in files if path.is_file()})
