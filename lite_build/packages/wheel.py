"""What a wheel file says about itself: its core metadata and the names it makes importable."""

from __future__ import annotations

import email.parser
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from packaging.utils import canonicalize_name

from lite_build.errors import LiteBuildError

#: suffixes of compiled extension modules ("_speedups.cpython-314-wasm32-emscripten.so")
_EXTENSION_SUFFIXES = (".so", ".pyd")
#: folders under ``<name>.data/`` whose contents land in site-packages
_SITE_DATA_FOLDERS = ("purelib", "platlib")


@dataclass(frozen=True)
class CoreMetadata:
    """The fields of a ``METADATA`` file that resolution needs."""

    name: str
    version: str
    requires_dist: tuple[str, ...] = ()
    requires_python: str | None = None
    provides_extra: tuple[str, ...] = ()


def parse_core_metadata(text: str) -> CoreMetadata:
    """Parse the text of a ``METADATA`` (or PEP 658 ``.metadata``) file."""
    message = email.parser.HeaderParser().parsestr(text)
    requires_python = message.get("Requires-Python")
    return CoreMetadata(
        name=str(message.get("Name", "")).strip(),
        version=str(message.get("Version", "")).strip(),
        requires_dist=tuple(str(value).strip() for value in message.get_all("Requires-Dist", [])),
        requires_python=str(requires_python).strip() if requires_python else None,
        provides_extra=tuple(str(value).strip() for value in message.get_all("Provides-Extra", [])),
    )


def wheel_metadata(path: Path) -> CoreMetadata:
    """The core metadata of the wheel at ``path``."""
    return parse_core_metadata(read_wheel_metadata_text(path))


def read_wheel_metadata_text(path: Path) -> str:
    """The text of ``<name>-<version>.dist-info/METADATA`` inside the wheel at ``path``."""
    with _open_wheel(path) as archive:
        candidates = [
            name
            for name in archive.namelist()
            if len(PurePosixPath(name).parts) == 2
            and PurePosixPath(name).parts[0].endswith(".dist-info")
            and PurePosixPath(name).name == "METADATA"
        ]
        chosen = _dist_info_for(path.name, candidates)
        if chosen is None:
            raise LiteBuildError(
                f"{path.name} is not a valid wheel: it has no .dist-info/METADATA file"
            )
        return archive.read(chosen).decode("utf-8", errors="replace")


def wheel_imports(path: Path) -> list[str]:
    """Top-level names that ``import`` finds once the wheel at ``path`` is installed, sorted.

    ``top_level.txt`` is used when the wheel has one; otherwise the names come from the
    archive's layout.
    """
    with _open_wheel(path) as archive:
        names = archive.namelist()
        top_level = [name for name in names if _is_dist_info_file(name, "top_level.txt")]
        if top_level:
            text = archive.read(top_level[0]).decode("utf-8", errors="replace")
            found = {line.strip() for line in text.splitlines()}
        else:
            found = importable_names(names)
    return sorted(name for name in found if name.isidentifier())


def importable_names(archive_names: Iterable[str]) -> set[str]:
    """Top-level packages (folders holding ``.py`` files) and modules in a wheel's file list."""
    found: set[str] = set()
    for name in archive_names:
        parts = PurePosixPath(name).parts
        if len(parts) >= 3 and parts[0].endswith(".data") and parts[1] in _SITE_DATA_FOLDERS:
            parts = parts[2:]
        if not parts or parts[0].endswith((".dist-info", ".data")) or parts[0] == "__pycache__":
            continue
        if len(parts) == 1:
            module = _module_name(parts[0])
            if module:
                found.add(module)
        elif parts[-1].endswith(".py") or parts[-1].endswith(_EXTENSION_SUFFIXES):
            found.add(parts[0])
    return {name for name in found if name.isidentifier()}


def _module_name(filename: str) -> str | None:
    if filename.endswith(".py"):
        return filename[: -len(".py")]
    if filename.endswith(_EXTENSION_SUFFIXES):
        return filename.split(".", 1)[0]
    return None


def _is_dist_info_file(name: str, filename: str) -> bool:
    parts = PurePosixPath(name).parts
    return len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] == filename


def _dist_info_for(wheel_filename: str, metadata_paths: list[str]) -> str | None:
    """Pick the METADATA of the wheel's own distribution when a wheel carries several."""
    if len(metadata_paths) <= 1:
        return metadata_paths[0] if metadata_paths else None
    project = canonicalize_name(wheel_filename.split("-", 1)[0])
    for candidate in metadata_paths:
        folder = PurePosixPath(candidate).parts[0].removesuffix(".dist-info")
        if canonicalize_name(folder.split("-", 1)[0]) == project:
            return candidate
    return metadata_paths[0]


def _open_wheel(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as error:
        raise LiteBuildError(f"could not read the wheel {path}: {error}") from error
