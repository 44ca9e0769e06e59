"""Shared fixtures: the Pyodide 314 platform, an in-memory package index, tiny real wheels."""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from lite_build.packages.index import IndexFile
from lite_build.packages.platform import PyodidePlatform
from lite_build.packages.wheel import CoreMetadata

#: the info block of Pyodide 314.0.6's pyodide-lock.json
PYODIDE_314_INFO = {
    "abi_version": "2026_0",
    "arch": "wasm32",
    "platform": "emscripten_5_0_3",
    "python": "3.14.2",
}


class FakeIndex:
    """A :class:`PackageIndex` in memory that records what was asked of it."""

    def __init__(self, url: str = "https://pypi.org/simple/") -> None:
        self.url = url
        self._files: dict[str, list[IndexFile]] = {}
        self._metadata: dict[str, CoreMetadata] = {}
        self.listed: list[str] = []
        self.metadata_read: list[str] = []

    def add(
        self,
        name: str,
        version: str,
        *,
        requires: Iterable[str] = (),
        tag: str = "py3-none-any",
        requires_python: str | None = None,
        yanked: bool = False,
        extras: Iterable[str] = (),
    ) -> IndexFile:
        """Publish one wheel of ``name`` ``version`` with the given ``Requires-Dist`` lines."""
        filename = f"{name.replace('-', '_')}-{version}-{tag}.whl"
        file = self._publish(name, filename, requires_python, yanked)
        self._metadata[filename] = CoreMetadata(
            name=name,
            version=version,
            requires_dist=tuple(requires),
            requires_python=requires_python,
            provides_extra=tuple(extras),
        )
        return file

    def add_sdist(self, name: str, version: str) -> IndexFile:
        return self._publish(name, f"{name.replace('-', '_')}-{version}.tar.gz", None, False)

    def _publish(
        self, name: str, filename: str, requires_python: str | None, yanked: bool
    ) -> IndexFile:
        file = IndexFile(
            filename=filename,
            url=f"https://files.example.org/{filename}",
            sha256=hashlib.sha256(filename.encode()).hexdigest(),
            requires_python=requires_python,
            yanked=yanked,
            size=1000,
        )
        self._files.setdefault(canonicalize_name(name), []).append(file)
        return file

    def files(self, name: str) -> list[IndexFile]:
        self.listed.append(name)
        return list(self._files.get(canonicalize_name(name), []))

    def metadata(self, file: IndexFile) -> CoreMetadata:
        self.metadata_read.append(file.filename)
        return self._metadata[file.filename]


@pytest.fixture
def pyodide() -> PyodidePlatform:
    return PyodidePlatform.from_lock_info(PYODIDE_314_INFO)


@pytest.fixture
def index() -> FakeIndex:
    return FakeIndex()


MakeWheel = Callable[..., Path]


def build_wheel(
    folder: Path,
    name: str,
    version: str,
    *,
    files: Mapping[str, str] | None = None,
    top_level: str | None = None,
    requires: Iterable[str] = (),
    requires_python: str | None = None,
    tag: str = "py3-none-any",
) -> Path:
    """A small but real wheel: ``files`` plus a dist-info with METADATA (and top_level.txt)."""
    dist = f"{name.replace('-', '_')}-{version}"
    path = folder / f"{dist}-{tag}.whl"
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Requires-Dist: {line}" for line in requires]
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in (files or {f"{name.replace('-', '_')}/__init__.py": ""}).items():
            archive.writestr(member, text)
        archive.writestr(f"{dist}.dist-info/METADATA", "\n".join(lines) + "\n\nThe description.\n")
        archive.writestr(f"{dist}.dist-info/WHEEL", "Wheel-Version: 1.0\n")
        if top_level is not None:
            archive.writestr(f"{dist}.dist-info/top_level.txt", top_level)
        archive.writestr(f"{dist}.dist-info/RECORD", "")
    return path


@pytest.fixture
def make_wheel(tmp_path: Path) -> MakeWheel:
    def make(name: str, version: str, **options: object) -> Path:
        return build_wheel(tmp_path, name, version, **options)  # type: ignore[arg-type]

    return make
