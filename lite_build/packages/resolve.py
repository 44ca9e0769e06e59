"""Choose one wheel per package so that a set of requirements works in Pyodide.

pip and uv cannot do this for us: pip evaluates environment markers for the machine running the
build, and uv does not know the ``pyemscripten`` platform tag. So we drive resolvelib with a
provider that sees the package index through Pyodide's eyes (:class:`PyodidePlatform`).

When no choice exists, the message says why in the user's words: the name is misspelled, the
package has no Pyodide build, or two requirements disagree (and who asked for each).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement
from packaging.requirements import Requirement as PackagingRequirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version
from resolvelib import AbstractProvider, BaseReporter, ResolutionImpossible, Resolver
from resolvelib.resolvers import RequirementInformation, ResolutionTooDeep

from lite_build.errors import LiteBuildError
from lite_build.packages.index import IndexFile, PackageIndex, index_label
from lite_build.packages.platform import PyodidePlatform
from lite_build.packages.wheel import CoreMetadata
from lite_build.ui import NullReporter, Reporter

log = logging.getLogger(__name__)

#: resolvelib's rounds; each pins one package, backtracking included
MAX_ROUNDS = 20_000
#: how many versions a message lists at most
SHOWN_VERSIONS = 5


@dataclass(frozen=True)
class ResolvedPackage:
    name: str  # canonical (PEP 503) name
    version: str
    filename: str  # the wheel chosen
    url: str
    sha256: str
    size: int | None
    #: canonical names this package needs here (markers evaluated for Pyodide, requested extras
    #: included), without the packages the kernel provides
    depends: tuple[str, ...]
    requested_extras: tuple[str, ...]
    #: the source the file comes from (see :attr:`IndexFile.source`)
    source: str = "pypi"


@dataclass(frozen=True)
class Requirement:
    """One requirement on one package, as the resolver sees it."""

    name: str  # canonical
    extras: frozenset[str]
    specifier: SpecifierSet
    #: how the user or the package wrote it (name, extras, versions; no marker)
    text: str

    @property
    def identifier(self) -> str:
        return _identifier(self.name, self.extras)

    @property
    def is_exact_pin(self) -> bool:
        """``==1.2`` or ``===1.2``: the only case where a yanked release may be used (PEP 592)."""
        return any(
            spec.operator in ("==", "===") and not spec.version.endswith("*")
            for spec in self.specifier
        )

    @classmethod
    def from_packaging(cls, requirement: PackagingRequirement) -> Requirement:
        extras = frozenset(canonicalize_name(extra) for extra in requirement.extras)
        shown_extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
        return cls(
            name=canonicalize_name(requirement.name),
            extras=extras,
            specifier=requirement.specifier,
            text=f"{requirement.name}{shown_extras}{requirement.specifier}",
        )


@dataclass(frozen=True)
class Candidate:
    """One version of one package with the wheel chosen for it (``file`` is None when the
    kernel provides the package)."""

    name: str
    version: Version
    file: IndexFile | None
    extras: frozenset[str] = frozenset()

    @property
    def identifier(self) -> str:
        return _identifier(self.name, self.extras)

    def __str__(self) -> str:
        return f'"{self.identifier}" {self.version}'


def _identifier(name: str, extras: frozenset[str]) -> str:
    return f"{name}[{','.join(sorted(extras))}]" if extras else name


def _split_identifier(identifier: str) -> tuple[str, frozenset[str]]:
    name, _, rest = identifier.partition("[")
    extras = frozenset(rest.rstrip("]").split(",")) if rest else frozenset()
    return name, extras


# -- which files can be used -------------------------------------------------------------------


@dataclass(frozen=True)
class Release:
    """What the index has for one version of a package, seen from Pyodide."""

    version: Version
    #: the best usable wheel, ignoring yanked files; None if there is none
    wheel: IndexFile | None
    #: the best usable wheel when yanked files are allowed
    wheel_if_yanked_allowed: IndexFile | None
    #: a wheel with a usable tag exists, but every such wheel excludes this Python
    python_excluded: bool


def group_releases(files: Iterable[IndexFile], platform: PyodidePlatform) -> dict[Version, Release]:
    """Group an index listing by version and pick the best usable wheel of each (pure)."""
    by_version: dict[Version, list[IndexFile]] = defaultdict(list)
    for file in files:
        version = Version(file.version) if file.version else _file_version(file.filename)
        if version is not None:
            by_version[version].append(file)
    return {version: _release(version, group, platform) for version, group in by_version.items()}


def _release(version: Version, files: list[IndexFile], platform: PyodidePlatform) -> Release:
    ranked: list[tuple[int, IndexFile]] = []
    for file in files:
        if file.for_pyodide:
            priority: int | None = 0
        elif file.filename.endswith(".whl"):
            priority = platform.tag_priority(file.filename)
        else:
            priority = None
        if priority is not None:
            ranked.append((priority, file))
    ranked.sort(key=lambda item: (item[0], item[1].filename))
    for_python = [file for _, file in ranked if _python_allowed(file, platform)]
    not_yanked = [file for file in for_python if not file.yanked]
    return Release(
        version=version,
        wheel=not_yanked[0] if not_yanked else None,
        wheel_if_yanked_allowed=for_python[0] if for_python else None,
        python_excluded=bool(ranked) and not for_python,
    )


def _file_version(filename: str) -> Version | None:
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[1]
        return parse_sdist_filename(filename)[1]
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None


def _python_allowed(file: IndexFile, platform: PyodidePlatform) -> bool:
    if not file.requires_python:
        return True
    try:
        allowed = SpecifierSet(file.requires_python)
    except InvalidSpecifier:
        log.debug("ignoring invalid requires-python %r of %s", file.requires_python, file.filename)
        return True
    return allowed.contains(platform.python_version, prereleases=True)


def _newest_first(versions: Iterable[Version], preferred: str | None) -> list[Version]:
    ordered = sorted(versions, reverse=True)
    if preferred is not None:
        first = [version for version in ordered if str(version) == preferred]
        ordered = first + [version for version in ordered if version not in first]
    return ordered


# -- environment markers -----------------------------------------------------------------------


def applies(marker: Marker | None, environment: Mapping[str, str], extras: Iterable[str]) -> bool:
    """Whether a requirement with ``marker`` is needed here, with ``extras`` requested."""
    if marker is None:
        return True
    for extra in [*extras, ""]:
        try:
            if marker.evaluate({**environment, "extra": extra}):
                return True
        except (UndefinedComparison, UndefinedEnvironmentName) as error:
            log.debug("marker %s cannot be evaluated (%s); treating it as false", marker, error)
    return False


# -- the resolvelib provider -------------------------------------------------------------------


class PyodideProvider(AbstractProvider[Requirement, Candidate, str]):
    def __init__(
        self,
        platform: PyodidePlatform,
        index: PackageIndex,
        *,
        preferred: Mapping[str, str],
        provided: Mapping[str, str],
        reporter: Reporter | None,
    ) -> None:
        self.platform = platform
        self.index = index
        self.preferred = preferred
        self.provided = provided
        self._reporter = reporter
        self._environment = platform.marker_environment()
        self._releases: dict[str, dict[Version, Release]] = {}
        self._dependencies: dict[Candidate, list[Requirement]] = {}

    def releases(self, name: str) -> dict[Version, Release]:
        if name not in self._releases:
            self._releases[name] = group_releases(self.index.files(name), self.platform)
        return self._releases[name]

    def matching(self, name: str, requirements: Sequence[Requirement]) -> list[Version]:
        """Versions with a usable wheel that satisfy all ``requirements``, best first."""
        allow_yanked = any(requirement.is_exact_pin for requirement in requirements)
        usable = [
            version
            for version, release in self.releases(name).items()
            if (release.wheel_if_yanked_allowed if allow_yanked else release.wheel) is not None
        ]
        specifier = SpecifierSet()
        for requirement in requirements:
            specifier &= requirement.specifier
        return _newest_first(specifier.filter(usable), self.preferred.get(name))

    def identify(self, requirement_or_candidate: Requirement | Candidate) -> str:
        return requirement_or_candidate.identifier

    def get_preference(
        self,
        identifier: str,
        resolutions: Mapping[str, Candidate],
        candidates: Mapping[str, Iterator[Candidate]],
        information: Mapping[str, Iterator[RequirementInformation[Requirement, Candidate]]],
        backtrack_causes: Sequence[RequirementInformation[Requirement, Candidate]],
    ) -> tuple[bool, bool, bool, str]:
        name, _ = _split_identifier(identifier)
        pinned = any(info.requirement.is_exact_pin for info in information[identifier])
        causes = {info.requirement.name for info in backtrack_causes}
        return (name not in self.provided, not pinned, name not in causes, identifier)

    def find_matches(
        self,
        identifier: str,
        requirements: Mapping[str, Iterator[Requirement]],
        incompatibilities: Mapping[str, Iterator[Candidate]],
    ) -> list[Candidate]:
        name, extras = _split_identifier(identifier)
        if name in self.provided:
            return [Candidate(name, Version(self.provided[name]), None, extras)]
        excluded = {candidate.version for candidate in incompatibilities[identifier]}
        releases = self.releases(name)
        wanted = list(requirements[identifier])
        allow_yanked = any(requirement.is_exact_pin for requirement in wanted)
        matches = []
        for version in self.matching(name, wanted):
            if version in excluded:
                continue
            release = releases[version]
            wheel = release.wheel or (release.wheel_if_yanked_allowed if allow_yanked else None)
            matches.append(Candidate(name, version, wheel, extras))
        return matches

    def is_satisfied_by(self, requirement: Requirement, candidate: Candidate) -> bool:
        if candidate.file is None:  # the kernel provides it, whatever version is asked for
            return True
        return requirement.specifier.contains(candidate.version, prereleases=True)

    def get_dependencies(self, candidate: Candidate) -> list[Requirement]:
        if candidate not in self._dependencies:
            self._dependencies[candidate] = self._read_dependencies(candidate)
        return self._dependencies[candidate]

    def _read_dependencies(self, candidate: Candidate) -> list[Requirement]:
        if candidate.file is None:
            return []
        metadata = self.index.metadata(candidate.file)
        self._warn_unknown_extras(candidate, metadata)
        needed: list[Requirement] = []
        if candidate.extras:
            # the extra's candidate stands for "this package, plus": pin the package itself
            version = SpecifierSet(f"=={candidate.version}")
            text = f"{candidate.name}=={candidate.version}"
            needed.append(Requirement(candidate.name, frozenset(), version, text))
        for line in metadata.requires_dist:
            try:
                requirement = PackagingRequirement(line)
            except InvalidRequirement:
                log.warning("%s: ignoring the invalid requirement %r", candidate, line)
                continue
            if applies(requirement.marker, self._environment, candidate.extras):
                needed.append(Requirement.from_packaging(requirement))
        return needed

    def _warn_unknown_extras(self, candidate: Candidate, metadata: CoreMetadata) -> None:
        known = {canonicalize_name(extra) for extra in metadata.provides_extra}
        for extra in sorted(candidate.extras - known):
            # old metadata may use an extra in markers without declaring it
            if not any(extra in line for line in metadata.requires_dist):
                (self._reporter or NullReporter()).info(
                    f'"{candidate.name}" {candidate.version} has no extra "{extra}"; ignoring it'
                )


class _LoggingReporter(BaseReporter[Requirement, Candidate, str]):
    def pinning(self, candidate: Candidate) -> None:
        log.debug("pinning %s", candidate)

    def rejecting_candidate(self, criterion: object, candidate: Candidate) -> None:
        log.debug("rejecting %s", candidate)


# -- the entry point ---------------------------------------------------------------------------


def resolve(
    requirements: Sequence[str],
    platform: PyodidePlatform,
    index: PackageIndex,
    *,
    preferred: Mapping[str, str] | None = None,
    provided: Mapping[str, str] | None = None,
    reporter: Reporter | None = None,
) -> list[ResolvedPackage]:
    """The packages (with their dependencies) to ship for ``requirements``, sorted by name.

    ``preferred`` versions (those Pyodide itself tested) are tried first; ``provided`` packages
    (the kernel brings them) count as satisfied whatever version is asked for and are left out.
    Raises one :class:`LiteBuildError` describing every problem found.
    """
    provider = PyodideProvider(
        platform,
        index,
        preferred={canonicalize_name(k): v for k, v in (preferred or {}).items()},
        provided={canonicalize_name(k): v for k, v in (provided or {}).items()},
        reporter=reporter,
    )
    roots, problems = _root_requirements(requirements, provider)
    _raise_problems(problems + _check_roots(roots, provider))
    resolver: Resolver[Requirement, Candidate, str] = Resolver(provider, _LoggingReporter())
    try:
        result = resolver.resolve(roots, max_rounds=MAX_ROUNDS)
    except ResolutionImpossible as error:
        _raise_problems(_explain_impossible(list(error.causes), provider))
        raise  # unreachable: _explain_impossible always finds a problem
    except ResolutionTooDeep as error:
        raise LiteBuildError(
            f"gave up choosing package versions after {error.round_count} attempts: the "
            "requirements are too tangled; pin some of them (package==version) and build again"
        ) from error
    return _resolved_packages(result.mapping.values(), provider)


def _root_requirements(
    texts: Sequence[str], provider: PyodideProvider
) -> tuple[list[Requirement], list[str]]:
    roots: list[Requirement] = []
    problems: list[str] = []
    for text in texts:
        try:
            requirement = PackagingRequirement(text)
        except (InvalidRequirement, InvalidMarker) as error:
            problems.append(f'"{text}": not a valid requirement ({error})')
            continue
        if requirement.url:
            problems.append(
                f'"{text}": direct URLs are not supported; give a package name from the index, '
                "optionally with versions (name>=1.2)"
            )
            continue
        if not applies(requirement.marker, provider.platform.marker_environment(), ()):
            log.info("%s: its marker does not apply in Pyodide; skipping it", text)
            continue
        roots.append(Requirement.from_packaging(requirement))
    return roots, problems


def _check_roots(roots: Sequence[Requirement], provider: PyodideProvider) -> list[str]:
    """Problems visible from one requirement alone, so that all of them are reported at once."""
    problems = []
    for requirement in roots:
        if requirement.name in provider.provided:
            continue
        if not provider.matching(requirement.name, [requirement]):
            problems.append(_unavailable(requirement, [], provider))
    return problems


def _explain_impossible(
    causes: Sequence[RequirementInformation[Requirement, Candidate]], provider: PyodideProvider
) -> list[str]:
    by_name: dict[str, list[RequirementInformation[Requirement, Candidate]]] = defaultdict(list)
    for cause in causes:
        by_name[cause.requirement.name].append(cause)
    problems = []
    for name, infos in sorted(by_name.items()):
        if not provider.matching(name, []):
            # no version at all can be used: one message, whatever each parent asked for
            bare = Requirement(name, frozenset(), SpecifierSet(), name)
            problems.append(_unavailable(bare, [info.parent for info in infos], provider))
            continue
        alone: dict[str, list[RequirementInformation[Requirement, Candidate]]] = defaultdict(list)
        for info in infos:
            if not provider.matching(name, [info.requirement]):
                alone[info.requirement.text].append(info)
        for same in alone.values():
            parents = [info.parent for info in same]
            problems.append(_unavailable(same[0].requirement, parents, provider))
        if not alone:
            problems.append(_conflict(name, infos, provider))
    return problems


def _unavailable(
    requirement: Requirement, parents: Sequence[Candidate | None], provider: PyodideProvider
) -> str:
    """Why no version of ``requirement`` can be used, whatever else is asked for."""
    name = requirement.name
    subject = f'"{requirement.text}"' + _needed_by(parents)
    label = index_label(provider.index.url)
    releases = provider.releases(name)
    subject += ": " + _other_sources(provider.index, name)
    if not releases:
        return f"{subject}not found on the package index ({provider.index.url}); check the spelling"
    matching = list(requirement.specifier.filter(releases))
    if not matching:
        newest = max(releases)
        return (
            f'{subject}no release of "{name}" on {label} matches "{requirement.text}" '
            f"(the newest is {newest}); check the version numbers"
        )
    python_excluded = [version for version in matching if releases[version].python_excluded]
    if python_excluded:
        return (
            f'{subject}every release matching "{requirement.text}" that could run in Pyodide '
            f"needs a different Python than Pyodide's {provider.platform.python_version}; "
            "allow other versions"
        )
    if any(releases[version].wheel_if_yanked_allowed for version in matching):
        return (
            f'{subject}the releases matching "{requirement.text}" were withdrawn (yanked) by '
            "their authors; allow other versions, or pin one exactly "
            f'("{name}==X") to use it anyway'
        )
    return subject + _no_pyodide_build(requirement, provider)


def _other_sources(index: PackageIndex, name: str) -> str:
    """ "not in the local wheels; no Pyodide distribution configured; " for a layered index."""
    other_sources = getattr(index, "other_sources", None)
    if other_sources is None:
        return ""
    return "".join(f"{reason}; " for reason in other_sources(name))


def _no_pyodide_build(requirement: Requirement, provider: PyodideProvider) -> str:
    name = requirement.name
    label = index_label(provider.index.url)
    message = (
        f"{label} has no Pyodide build (no pure-Python or {provider.platform.platform_tag} "
        f'wheel) of any version matching "{requirement.text}"'
    )
    with_build = provider.matching(name, [])
    if with_build:
        shown = ", ".join(str(version) for version in with_build[:SHOWN_VERSIONS])
        return f"{message}; versions with one: {shown}; allow one of those"
    message += "; pure-Python packages and packages with Pyodide wheels on PyPI work; "
    if name in provider.preferred:
        return message + (
            f"{name} needs a full Pyodide distribution: set [pyodide] distribution = to a "
            "Pyodide release folder, .tar.bz2 file or base URL that has it"
        )
    return message + f"{name} would need a Pyodide build published by its authors"


def _conflict(
    name: str,
    infos: Sequence[RequirementInformation[Requirement, Candidate]],
    provider: PyodideProvider,
) -> str:
    lines = [f'the requirements on "{name}" cannot all be met together:']
    for info in sorted(infos, key=lambda info: (info.parent is not None, str(info.parent))):
        who = "requested" if info.parent is None else f"needed by {info.parent}"
        lines.append(f'    "{info.requirement.text}" ({who})')
    usable = provider.matching(name, [])
    if usable:
        shown = ", ".join(str(version) for version in usable[:SHOWN_VERSIONS])
        lines.append(f"    versions that work in Pyodide: {shown}")
    lines.append("    change or remove one of these requirements")
    return "\n".join(lines)


def _needed_by(parents: Sequence[Candidate | None]) -> str:
    """ " (needed by "a" 1.0, "b" 2.0 to 2.3)"; versions of one parent are collapsed to a range."""
    versions: dict[str, set[Version]] = defaultdict(set)
    for parent in parents:
        if parent is not None:
            versions[parent.identifier].add(parent.version)
    named = []
    for identifier, found in sorted(versions.items()):
        low, high = min(found), max(found)
        named.append(f'"{identifier}" {low}' if low == high else f'"{identifier}" {low} to {high}')
    return f" (needed by {', '.join(named)})" if named else ""


def _raise_problems(problems: Sequence[str]) -> None:
    if len(problems) == 1:
        raise LiteBuildError(problems[0])
    if problems:
        listed = "\n".join(f"  - {problem}" for problem in problems)
        raise LiteBuildError(f"{len(problems)} problems with the requested packages:\n{listed}")


# -- the result --------------------------------------------------------------------------------


@dataclass
class _Collected:
    base: Candidate | None = None
    extras: set[str] = field(default_factory=set)
    depends: set[str] = field(default_factory=set)


def _resolved_packages(
    candidates: Iterable[Candidate], provider: PyodideProvider
) -> list[ResolvedPackage]:
    collected: dict[str, _Collected] = defaultdict(_Collected)
    for candidate in candidates:
        if candidate.file is None:
            continue
        entry = collected[candidate.name]
        entry.extras |= candidate.extras
        if not candidate.extras:
            entry.base = candidate
        for requirement in provider.get_dependencies(candidate):
            entry.depends.add(requirement.name)
    packages = []
    for name, entry in sorted(collected.items()):
        base = entry.base
        assert base is not None and base.file is not None  # extras always pull in the base
        depends = entry.depends - {name} - set(provider.provided)
        packages.append(
            ResolvedPackage(
                name=name,
                version=str(base.version),
                filename=base.file.filename,
                url=base.file.url,
                sha256=base.file.sha256,
                size=base.file.size,
                depends=tuple(sorted(depends)),
                requested_extras=tuple(sorted(entry.extras)),
                source=base.file.source,
            )
        )
    return packages
