"""Where each package comes from, in order of preference: the local wheels (local.py), the
local projects built into wheels (project.py), a full Pyodide distribution (distribution.py),
then the package index, PyPI (pypi.py). Each is a :class:`Source` (base.py).

:class:`LayeredIndex` shows the resolver one index: for each name, the files of the first source
that has it. :class:`PackageSources` is the sources of one build, in that order, and fetches
each chosen package from the source that provided it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lite_build.config import SiteConfig
from lite_build.errors import LiteBuildError
from lite_build.packages.index import IndexFile, PackageIndex, SimpleIndex, default_index_url
from lite_build.packages.lockfile import LOCK_FILE_NAME
from lite_build.packages.requirements import expand_packages
from lite_build.packages.resolve import ResolvedPackage
from lite_build.packages.sources.base import Source, Unconfigured
from lite_build.packages.sources.distribution import CATALOGUE, PyodideDistribution, is_url
from lite_build.packages.sources.local import LocalWheels, wheel_files
from lite_build.packages.sources.project import LocalProjects, project_files
from lite_build.packages.sources.pypi import IndexSource
from lite_build.packages.wheel import CoreMetadata
from lite_build.ui import NullReporter, Reporter

__all__ = ["LayeredIndex", "PackageSources", "Source", "SourceSettings", "site_sources"]


class LayeredIndex:
    """A :class:`PackageIndex` over several sources: per name, the first source that has it."""

    def __init__(self, sources: Sequence[Source]) -> None:
        self.sources = list(sources)
        self._by_name = {source.name: source for source in self.sources}
        last = self.sources[-1]
        self.url = last.url if isinstance(last, IndexSource) else ""

    def files(self, name: str) -> list[IndexFile]:
        for source in self.sources:
            found = source.files(name)
            if found:
                return found
        return []

    def source(self, name: str) -> Source | None:
        """The source called ``name`` (as ``IndexFile.source`` names it), if it is one of these."""
        return self._by_name.get(name)

    def metadata(self, file: IndexFile) -> CoreMetadata:
        return self._by_name[file.source].metadata(file)

    def other_sources(self, name: str) -> list[str]:
        """Why each source before the last (the package index) does not have ``name``."""
        reasons = (source.missing_reason(name) for source in self.sources[:-1])
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
        self.sources: list[Source] = [
            self.wheels,
            self.projects,
            self.distribution or Unconfigured("no Pyodide distribution configured"),
            self.index,
        ]
        self._layered = LayeredIndex(self.sources)

    def layered_index(self) -> LayeredIndex:
        return self._layered

    def source_of(self, package: ResolvedPackage) -> Source:
        source = self._layered.source(package.source)
        if source is None:
            raise _unconfigured(package)
        return source

    def describe(self) -> list[str]:
        """The sources as the lock file records them (relative paths, the distribution)."""
        return [line for source in self.sources for line in source.describe(self.settings.root)]

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
    if distribution and not is_url(distribution):
        path = Path(distribution)
        files.append(path / CATALOGUE if path.is_dir() else path)
    return sorted({path for path in files if path.is_file()})
