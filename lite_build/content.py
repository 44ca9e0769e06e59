"""The author's content: which files ship, and whether the notebooks among them are sound."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import nbformat

from lite_build.errors import LiteBuildError

#: never shipped: editor and VCS clutter, checkpoints, caches
IGNORED_NAMES = frozenset(
    {".git", ".hg", ".svn", "__pycache__", ".ipynb_checkpoints", ".DS_Store", "Thumbs.db"}
)


@dataclass(frozen=True)
class ContentFile:
    source: Path
    #: where it appears in the site's file browser (POSIX, relative)
    site_path: str


def collect_content(roots: tuple[Path, ...]) -> list[ContentFile]:
    """List the files to ship: a folder contributes its contents, a file itself, at the top."""
    files: dict[str, ContentFile] = {}
    problems: list[str] = []
    for root in roots:
        if root.is_file():
            candidates = [(root, root.name)]
        else:
            candidates = [
                (path, path.relative_to(root).as_posix())
                for path in sorted(root.rglob("*"))
                if path.is_file() and not _ignored(path.relative_to(root))
            ]
        for path, site_path in candidates:
            if site_path in files and files[site_path].source != path:
                problems.append(
                    f"{site_path} comes from both {files[site_path].source} and {path}; "
                    "rename one of them"
                )
                continue
            files[site_path] = ContentFile(path, site_path)
    if problems:
        raise LiteBuildError("content: " + "; ".join(problems))
    return [files[key] for key in sorted(files)]


def _ignored(relative: Path) -> bool:
    return any(part in IGNORED_NAMES for part in relative.parts)


def validate_notebooks(files: list[ContentFile]) -> None:
    """Fail the build on a notebook the site could not open, naming every bad file."""
    problems = [
        f"{item.source}: {problem}"
        for item in files
        if item.source.suffix == ".ipynb"
        for problem in [notebook_problem(item.source)]
        if problem
    ]
    if problems:
        raise LiteBuildError(
            "these notebooks are corrupt and would not open in the site; fix or remove them:\n"
            + "\n".join(f"  - {problem}" for problem in problems)
        )


def notebook_problem(path: Path) -> str | None:
    """Why ``path`` is not a usable notebook, or None when it is."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        return f"not UTF-8 text ({error.reason} at byte {error.start})"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        return f"not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
    if not isinstance(data, dict) or "cells" not in data:
        return 'not a notebook (no "cells" list at the top level)'
    try:
        notebook = nbformat.reads(text, as_version=4)  # type: ignore[no-untyped-call]
        nbformat.validate(notebook)
    except nbformat.ValidationError as error:
        where = "/".join(str(part) for part in error.absolute_path) or "top level"
        return f"not a valid nbformat 4 notebook at {where}: {error.message}"
    except Exception as error:  # nbformat raises several kinds for malformed input
        return f"not a valid notebook: {error}"
    return None
