"""What an environment's ``packages`` list asks for, with requirement files, dependency groups
and local project folders expanded (pure: reads files, never the network).

An entry of ``packages`` is one of:

- a PEP 508 requirement: ``"attrs>=23"``;
- a requirement file: ``"-r requirements.txt"`` (one requirement per line, ``#`` comments,
  nested ``-r`` but no cycle; pip's other options are refused rather than silently ignored);
- a PEP 735 dependency group: ``"-g pyproject.toml:course"`` (``"-g :course"`` or
  ``"-g course"`` read ``pyproject.toml`` next to the configuration);
- a local project folder: ``"./mylib"``, ``"../shared/helpers"``, an absolute path.

Relative paths resolve against the folder of the file they are written in.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from lite_build.files import load_toml

#: files whose presence makes a folder a Python project
PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg")


@dataclass
class ExpandedPackages:
    """The requirements and local projects of one environment, and the files read for them."""

    #: PEP 508 requirement strings, in the order written
    requirements: list[str] = field(default_factory=list)
    #: local project folders, absolute, in the order written
    projects: list[Path] = field(default_factory=list)
    #: requirement files and pyproject.toml files read (a change to one means a new resolution)
    files: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def names(self) -> set[str]:
        """Canonical names of the requirements, and of the projects that declare a static name."""
        names: set[str] = set()
        for text in self.requirements:
            try:
                names.add(canonicalize_name(Requirement(text).name))
            except InvalidRequirement:
                continue
        for project in self.projects:
            name = project_name(project)
            if name:
                names.add(canonicalize_name(name))
        return names

    def describe(self) -> list[str]:
        """One line per input, for the lock file: requirements, then project paths."""
        return [*self.requirements, *(str(project) for project in self.projects)]


def is_path_entry(text: str) -> bool:
    """Whether a ``packages`` entry names a local folder rather than a requirement."""
    stripped = text.strip()
    return stripped in (".", "..") or stripped.startswith(("./", "../", "/", "~", ".\\", "..\\"))


def expand_packages(
    entries: Sequence[str], root: Path, *, key: str = "packages"
) -> ExpandedPackages:
    """Expand ``entries`` (as written under ``key`` in a file in ``root``); problems are
    collected, in the user's words, never raised."""
    result = ExpandedPackages()
    _expand(entries, root, key, result, reading=())
    return result


def _expand(
    entries: Iterable[str],
    root: Path,
    where: str,
    result: ExpandedPackages,
    reading: tuple[Path, ...],
) -> None:
    """``reading``: the requirement files being read, outermost first (one among them again
    is a cycle)."""
    for raw in entries:
        text = raw.strip()
        if text.startswith("-r"):
            _requirement_file(text[2:].strip(), root, where, result, reading)
        elif text.startswith("-g"):
            _dependency_group(text[2:].strip(), root, where, result, reading)
        elif is_path_entry(text):
            _project(text, root, where, result)
        else:
            _requirement(text, where, result)


def _requirement(text: str, where: str, result: ExpandedPackages) -> None:
    try:
        requirement = Requirement(text)
    except InvalidRequirement as error:
        reason = str(error).splitlines()[0]
        result.problems.append(f'{where}: "{text}" is not a valid requirement: {reason}')
        return
    if requirement.url:
        result.problems.append(
            f'{where}: "{text}": direct URL requirements are not supported; list a name and '
            'version, a local wheel (top-level "wheels") or a project folder ("./folder")'
        )
        return
    result.requirements.append(text)


def _project(text: str, root: Path, where: str, result: ExpandedPackages) -> None:
    folder = _absolute(root, text)
    if not folder.is_dir():
        problem = "is not a folder" if folder.exists() else f"does not exist (looked for {folder})"
        result.problems.append(f'{where}: "{text}" {problem}')
    elif not any((folder / name).is_file() for name in PROJECT_FILES):
        result.problems.append(
            f'{where}: "{text}" is not a Python project: it has no pyproject.toml, setup.py or '
            "setup.cfg"
        )
    elif folder not in result.projects:
        result.projects.append(folder)


def _requirement_file(
    text: str, root: Path, where: str, result: ExpandedPackages, reading: tuple[Path, ...]
) -> None:
    if not text:
        result.problems.append(f'{where}: "-r" needs a file name, such as "-r requirements.txt"')
        return
    path = _absolute(root, text)
    if path in reading:
        cycle = " -> ".join(file.name for file in (*reading[reading.index(path) :], path))
        result.problems.append(f"{where}: the requirement files include themselves: {cycle}")
        return
    reading = (*reading, path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        result.problems.append(f'{where}: "-r {text}": cannot read {path}: {error.strerror}')
        return
    result.files.append(path)
    for number, line in _logical_lines(lines):
        line_where = f"{text}, line {number}"
        if line.startswith(("-r ", "--requirement")):
            nested = line.split(None, 1)[1] if " " in line else ""
            _requirement_file(nested.strip(), path.parent, line_where, result, reading)
        elif line.startswith("-"):
            option = line.split()[0]
            result.problems.append(
                f"{line_where}: the option {option} is not supported in lite-build requirement "
                "files; packages come from the local wheels, local projects, the Pyodide "
                "distribution and PyPI"
            )
        else:
            _expand([line], path.parent, line_where, result, reading)


def _logical_lines(lines: Sequence[str]) -> list[tuple[int, str]]:
    """Lines without comments, joined at trailing backslashes, with their first line number."""
    logical: list[tuple[int, str]] = []
    pending = ""
    start = 0
    for number, line in enumerate(lines, start=1):
        if not pending:
            start = number
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line:
            logical.append((start, line))
    if pending.strip():
        logical.append((start, pending.strip()))
    return logical


def _dependency_group(
    text: str, root: Path, where: str, result: ExpandedPackages, reading: tuple[Path, ...]
) -> None:
    file_part, colon, group = text.rpartition(":")
    if not colon:
        file_part, group = "", text
    if not group:
        result.problems.append(
            f'{where}: "-g {text}" names no group; write "-g pyproject.toml:GROUP"'
        )
        return
    path = _absolute(root, file_part or "pyproject.toml")
    try:
        document = load_toml(path)
    except OSError as error:
        result.problems.append(f'{where}: "-g {text}": cannot read {path}: {error.strerror}')
        return
    except tomllib.TOMLDecodeError as error:
        result.problems.append(f'{where}: "-g {text}": {path} is not valid TOML: {error}')
        return
    if path not in result.files:
        result.files.append(path)
    groups = document.get("dependency-groups")
    if not isinstance(groups, dict):
        result.problems.append(f'{where}: "-g {text}": {path} has no [dependency-groups] table')
        return
    _group_entries(group, groups, path, where, result, [], reading)


def _group_entries(
    group: str,
    groups: dict[str, object],
    path: Path,
    where: str,
    result: ExpandedPackages,
    chain: list[str],
    reading: tuple[Path, ...],
) -> None:
    by_name = {canonicalize_name(name): name for name in groups}
    key = by_name.get(canonicalize_name(group))
    if key is None:
        known = ", ".join(f'"{name}"' for name in sorted(groups)) or "none"
        result.problems.append(
            f'{where}: {path.name} has no dependency group "{group}" (groups: {known})'
        )
        return
    if key in chain:
        cycle = " -> ".join([*chain, key])
        result.problems.append(
            f"{where}: the dependency groups of {path.name} include themselves: {cycle}"
        )
        return
    entries = groups[key]
    if not isinstance(entries, list):
        result.problems.append(f'{where}: dependency group "{key}" in {path.name} is not a list')
        return
    group_where = f'{path.name} [dependency-groups] "{key}"'
    for entry in entries:
        if isinstance(entry, str):
            _expand([entry], path.parent, group_where, result, reading)
        elif isinstance(entry, dict) and isinstance(entry.get("include-group"), str):
            _group_entries(
                entry["include-group"], groups, path, where, result, [*chain, key], reading
            )
        else:
            result.problems.append(
                f"{group_where}: {entry!r} is neither a requirement nor an include-group"
            )


def project_name(folder: Path) -> str | None:
    """The ``[project] name`` of a project folder, when its pyproject.toml states it."""
    try:
        project = load_toml(folder / "pyproject.toml").get("project")
    except (OSError, tomllib.TOMLDecodeError):
        return None
    name = project.get("name") if isinstance(project, dict) else None
    return name if isinstance(name, str) else None


def _absolute(root: Path, text: str) -> Path:
    return Path(os.path.normpath(root / Path(text).expanduser()))
