"""``lite-build init``: start a course project from the files in ``templates/project/``.

The templates are real files (package data), copied as they are, except that ``{title}`` and
``{pyodide_version}`` are filled in in ``lite-build.toml`` and ``README.md``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path, PurePosixPath

from jupyterlite_pyodide_kernel.constants import PYODIDE_VERSION

from lite_build.config import site_id_from_title
from lite_build.errors import LiteBuildError

#: stored without the dot so that git and packaging tools treat it as an ordinary file
RENAMED = {PurePosixPath("gitignore"): PurePosixPath(".gitignore")}
#: the only templates with placeholders; every other file is copied byte for byte
FILLED_IN = {PurePosixPath("lite-build.toml"), PurePosixPath("README.md")}
PLACEHOLDER = re.compile(r"\{(title|id|pyodide_version)\}")
DEFAULT_TITLE = "My course"

#: a template: its path in the new project, and the packaged file
TemplateFile = tuple[PurePosixPath, Traversable]


def init_project(directory: Path, *, title: str | None = None, force: bool = False) -> list[Path]:
    """Create a new project in ``directory``; return the files created, in a stable order.

    A non-empty ``directory`` is refused unless ``force``; even then, files that already exist
    are left untouched (and not returned). ``title`` defaults to the folder's name.
    """
    directory = Path(directory)
    if directory.exists():
        if not directory.is_dir():
            raise LiteBuildError(f"{directory} is a file; choose a new folder for the project")
        if not force and any(directory.iterdir()):
            raise LiteBuildError(
                f"{directory} is not empty; choose a new folder or pass --force to add the "
                "missing files"
            )

    templates = _template_files()
    _check_folders_are_free(directory, [relative for relative, _ in templates])
    title = " ".join((title or "").split()) or _default_title(directory)
    created = []
    for relative, template in templates:
        target = directory.joinpath(*relative.parts)
        if target.exists() or target.is_symlink():
            continue
        data = template.read_bytes()
        if relative in FILLED_IN:
            data = _fill_in(relative, data.decode("utf-8"), title).encode("utf-8")
        if _create(target, data):
            created.append(target)
    return created


def _check_folders_are_free(directory: Path, paths: list[PurePosixPath]) -> None:
    """Fail before writing anything if a file sits where the project needs a folder."""
    for relative in paths:
        for parent in relative.parents:
            folder = directory.joinpath(*parent.parts)
            if folder != directory and folder.exists() and not folder.is_dir():
                raise LiteBuildError(
                    f"{folder} is a file where the project needs a folder; move it away, "
                    "or choose a new folder"
                )


def _default_title(directory: Path) -> str:
    return " ".join(directory.resolve().name.split()) or DEFAULT_TITLE


def _template_files() -> list[TemplateFile]:
    """Every template, sorted by its path in the new project."""
    found = _walk(files("lite_build") / "templates" / "project", PurePosixPath())
    renamed = [(RENAMED.get(relative, relative), template) for relative, template in found]
    return sorted(renamed, key=lambda item: item[0])


def _walk(folder: Traversable, prefix: PurePosixPath) -> Iterator[TemplateFile]:
    for entry in folder.iterdir():
        # editor and interpreter leftovers next to the templates are not part of them
        if entry.name.startswith(".") or entry.name == "__pycache__":
            continue
        if entry.is_dir():
            yield from _walk(entry, prefix / entry.name)
        else:
            yield prefix / entry.name, entry


def _fill_in(relative: PurePosixPath, text: str, title: str) -> str:
    values = {
        "title": _toml_string_body(title) if relative.suffix == ".toml" else title,
        "id": site_id_from_title(title),
        "pyodide_version": PYODIDE_VERSION,
    }
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], text)


def _toml_string_body(text: str) -> str:
    """``text`` escaped for use between the quotes of a TOML basic string."""
    escaped = []
    for char in text:
        if char in '"\\':
            escaped.append("\\" + char)
        elif (ord(char) < 0x20 and char != "\t") or ord(char) == 0x7F:
            escaped.append(f"\\u{ord(char):04X}")
        else:
            escaped.append(char)
    return "".join(escaped)


def _create(target: Path, data: bytes) -> bool:
    """Write a new file. False if the file exists: one that appeared since we looked is kept."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise LiteBuildError(
            f"cannot create the folder {target.parent}: {error.strerror or error}"
        ) from error
    try:
        stream = target.open("xb")
    except FileExistsError:
        return False
    except OSError as error:
        raise LiteBuildError(f"cannot create {target}: {error.strerror or error}") from error
    try:
        with stream:
            stream.write(data)
    except OSError as error:
        target.unlink(missing_ok=True)
        raise LiteBuildError(f"cannot write {target}: {error.strerror or error}") from error
    return True
