"""The ``wheels`` option as a source: wheel files on disk, given one by one or as folders."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from packaging.utils import canonicalize_name, parse_wheel_filename

from lite_build.cache import sha256_of
from lite_build.errors import LiteBuildError
from lite_build.packages.index import IndexFile
from lite_build.packages.resolve import ResolvedPackage
from lite_build.packages.sources.base import Source, relative
from lite_build.packages.wheel import CoreMetadata, wheel_metadata


class LocalWheels(Source):
    """Wheel files on disk, by canonical name."""

    name = "wheels"

    def __init__(self, paths: Iterable[Path] = ()) -> None:
        self.paths = tuple(paths)
        self._files: dict[str, list[IndexFile]] = {}
        self._paths: dict[str, Path] = {}
        for wheel in wheel_files(self.paths):
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
            source=self.name,
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

    def fetch(self, package: ResolvedPackage, *, offline: bool) -> Path:
        path = Path(package.url)
        if not path.is_file() or sha256_of(path) != package.sha256:
            raise LiteBuildError(
                f'"{package.name}" {package.version}: the local file {path} is missing or '
                "changed since the packages were chosen; run `lite-build lock --upgrade "
                f"{package.name}` (or delete lite-build.lock) and build again"
            )
        return path

    def missing_reason(self, name: str) -> str | None:
        return "not in the local wheels" if self.names else "no local wheels given"

    def describe(self, root: Path) -> list[str]:
        return [f"wheels: {relative(path, root)}" for path in self.paths]


def wheel_files(paths: Iterable[Path]) -> list[Path]:
    """The wheel files the top-level ``wheels`` entries point at."""
    found: list[Path] = []
    for path in paths:
        found += sorted(path.glob("*.whl")) if path.is_dir() else [path]
    return found
