"""The author's content: which files ship, and whether the notebooks among them are sound."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from lite_build.errors import LiteBuildError

log = logging.getLogger("lite_build")
#: how many files a warning names
SHOWN = 10

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


def warn_about_outside_content(files: list[ContentFile], project: Path) -> None:
    """Say which content files (links followed) are outside the project folder: they are
    published all the same (content may live anywhere), but a mistyped path or a link to
    ``~/.ssh`` should not go online unnoticed."""
    root = project.resolve()
    outside = sorted(str(f.source) for f in files if not f.source.resolve().is_relative_to(root))
    if outside:
        shown = ", ".join(outside[:SHOWN]) + (
            f" and {len(outside) - SHOWN} more" if len(outside) > SHOWN else ""
        )
        log.warning(
            "content: %d file(s) from outside the project folder %s are published with the "
            "site, readable by anyone who can open it: %s",
            len(outside),
            root,
            shown,
        )


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


def content_versions(files_dir: Path) -> dict[str, object]:
    """The version of every file in the site's ``files/`` folder, by its file browser path.

    ``sha`` is a hash of the bytes; notebooks also get ``cells``, a hash of their cells' type and
    text (outputs and metadata left out), which tells the browser whether a student changed what
    they wrote or only ran it. The browser computes both the same way (extension/src/versions.ts).
    Compressed siblings are not content.
    """
    versions: dict[str, dict[str, str]] = {}
    for path in sorted(files_dir.rglob("*")):
        if not path.is_file() or path.name.endswith((".gz", ".br")):
            continue
        versions[path.relative_to(files_dir).as_posix()] = file_version(
            path.name, path.read_bytes()
        )
    return {"format": 1, "files": versions}


def file_version(name: str, data: bytes) -> dict[str, str]:
    """The version of one file called ``name`` holding ``data``, as ``content_versions`` writes
    it: ``sha``, and ``cells`` for a notebook."""
    version = {"sha": _short_hash(data)}
    if name.endswith(".ipynb"):
        version["cells"] = _short_hash(cells_text(json.loads(data)).encode())
    return version


def cells_text(notebook: dict[str, Any]) -> str:
    """The text of a notebook's cells, as the browser's ``cellsText`` writes it (compact JSON)."""
    cells = [
        [
            str(cell.get("cell_type")),
            "".join(source) if isinstance(source := cell.get("source", ""), list) else str(source),
        ]
        for cell in notebook.get("cells", [])
    ]
    return json.dumps(cells, ensure_ascii=False, separators=(",", ":"))


def _short_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]
