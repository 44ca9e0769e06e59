"""The frozen listing: every project and file the stand-in registries serve, as they were on
PyPI and the npm registry when a maintainer pinned them (``frozen.json``, committed).

Only small facts live here (names, hashes, sizes, upstream URLs); the files themselves are
fetched once into the store (:mod:`tests.registry.store`).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename

LISTING_PATH = Path(__file__).with_name("frozen.json")


@dataclass(frozen=True)
class PinnedFile:
    """One file of one release on PyPI."""

    filename: str
    #: where ``python -m tests.registry fetch`` downloads it from
    url: str
    sha256: str
    size: int
    requires_python: str | None
    #: PyPI's value: false, true or the reason given
    yanked: bool | str
    #: the sha256 of its PEP 658 metadata file, None if upstream has none
    metadata_sha256: str | None
    #: False: listed only (an sdist no test downloads), never fetched nor served
    stored: bool

    @property
    def version(self) -> str:
        if self.filename.endswith(".whl"):
            return str(parse_wheel_filename(self.filename)[1])
        return str(parse_sdist_filename(self.filename)[1])


@dataclass(frozen=True)
class PinnedTarball:
    """One version of one npm package: its tarball, as the registry describes it."""

    url: str
    #: the registry's Subresource Integrity value, ``sha512-<base64>``
    integrity: str


@dataclass
class FrozenListing:
    #: canonical project name -> its files on PyPI
    projects: dict[str, list[PinnedFile]]
    #: npm package name -> version -> its tarball
    npm: dict[str, dict[str, PinnedTarball]]

    @classmethod
    def load(cls, path: Path = LISTING_PATH) -> FrozenListing:
        data = json.loads(path.read_text(encoding="utf-8"))
        projects = {
            name: [_pinned_file(entry) for entry in files]
            for name, files in data.get("pypi", {}).items()
        }
        npm = {
            package: {version: PinnedTarball(**entry) for version, entry in versions.items()}
            for package, versions in data.get("npm", {}).items()
        }
        return cls(projects, npm)

    def save(self, path: Path = LISTING_PATH) -> None:
        data = {
            "pypi": {
                name: [_file_entry(file) for file in sorted(files, key=lambda f: f.filename)]
                for name, files in self.projects.items()
            },
            "npm": {
                package: {version: asdict(tarball) for version, tarball in versions.items()}
                for package, versions in self.npm.items()
            },
        }
        text = json.dumps(data, indent=1, sort_keys=True) + "\n"
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)

    def files(self, project: str) -> list[PinnedFile] | None:
        """The pinned files of ``project`` (any spelling), None if it is not pinned."""
        return self.projects.get(canonicalize_name(project))

    def pin(self, project: str, files: list[PinnedFile]) -> None:
        """Make ``files`` the only files of ``project``."""
        self.projects[canonicalize_name(project)] = files

    def pin_tarball(self, package: str, version: str, tarball: PinnedTarball) -> None:
        self.npm.setdefault(package, {})[version] = tarball


def _pinned_file(entry: dict[str, Any]) -> PinnedFile:
    return PinnedFile(
        filename=entry["filename"],
        url=entry["url"],
        sha256=entry["sha256"],
        size=entry["size"],
        requires_python=entry.get("requires-python"),
        yanked=entry.get("yanked", False),
        metadata_sha256=entry.get("metadata-sha256"),
        stored=entry.get("stored", True),
    )


def _file_entry(file: PinnedFile) -> dict[str, Any]:
    return {
        "filename": file.filename,
        "url": file.url,
        "sha256": file.sha256,
        "size": file.size,
        "requires-python": file.requires_python,
        "yanked": file.yanked,
        "metadata-sha256": file.metadata_sha256,
        "stored": file.stored,
    }
