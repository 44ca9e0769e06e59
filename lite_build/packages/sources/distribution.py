"""A full Pyodide distribution as a package source: numpy, pandas, scipy and friends.

A distribution is a folder, a release ``.tar.bz2``, or the base URL of one (such as the Pyodide
CDN). Its ``pyodide-lock.json`` is the catalogue: which packages it has, their versions,
dependencies (canonical names) and sha256. Only the files a site needs are read or downloaded,
each checked against the catalogue's sha256 (Pyodide re-packs its wheels, so the catalogue's
hashes, not PyPI's, describe its files). A package the catalogue lists but whose file the
distribution lacks is treated as absent, so the next source may provide it.
"""

from __future__ import annotations

import json
import logging
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any
from urllib.parse import urljoin, urlparse

import httpx
from packaging.utils import canonicalize_name

from lite_build.cache import Digest, cache_dir, download, http_client, sha256_of
from lite_build.errors import LiteBuildError
from lite_build.files import plain_file_name, sha256_hex
from lite_build.packages.index import IndexFile, wheel_cache_path
from lite_build.packages.resolve import ResolvedPackage
from lite_build.packages.sources.base import Source, relative
from lite_build.packages.wheel import CoreMetadata
from lite_build.ui import NullReporter, Reporter

log = logging.getLogger(__name__)

CATALOGUE = "pyodide-lock.json"
#: the catalogue fields a site's lock copies for a distribution package
ENTRY_FIELDS = ("imports", "install_dir", "package_type", "shared_library", "unvendored_tests")


def is_url(location: str) -> bool:
    return urlparse(location).scheme in ("http", "https")


@dataclass(frozen=True)
class CatalogueEntry:
    name: str  # canonical
    version: str
    file_name: str
    sha256: str
    depends: tuple[str, ...]
    #: the other fields a lock entry carries (imports, package_type, install_dir ...)
    fields: dict[str, Any]


class PyodideDistribution(Source):
    """The packages of one Pyodide distribution (see the module docstring)."""

    name = "pyodide"

    def __init__(
        self,
        location: str,
        *,
        client: httpx.Client | None = None,
        reporter: Reporter | None = None,
    ) -> None:
        self.location = location
        self.remote = is_url(location)
        self._client = client
        self._reporter = reporter or NullReporter()
        self._catalogue: dict[str, CatalogueEntry] | None = None
        self._info: dict[str, Any] = {}
        self._members: dict[str, str] | None = None  # tarball: file name -> member name
        self._available: dict[str, bool] = {}

    # -- the catalogue -------------------------------------------------------------------------
    @property
    def label(self) -> str:
        return f"the Pyodide distribution {self.location}"

    @property
    def base_url(self) -> str:
        return self.location if self.location.endswith("/") else self.location + "/"

    def catalogue(self) -> dict[str, CatalogueEntry]:
        if self._catalogue is None:
            data = self._read_catalogue()
            self._info = dict(data.get("info") or {})
            self._catalogue = parse_catalogue(data, self.label)
        return self._catalogue

    @property
    def info(self) -> dict[str, Any]:
        self.catalogue()
        return self._info

    def check_abi(self, abi_version: str) -> None:
        theirs = self.info.get("abi_version")
        if theirs != abi_version:
            raise LiteBuildError(
                f"{self.label} is built for the Pyodide ABI {theirs!r}, but the runtime is "
                f"{abi_version!r}; set [pyodide] distribution to the release matching "
                "[pyodide] version"
            )

    def _read_catalogue(self) -> dict[str, Any]:
        try:
            if self.remote:
                response = self._http().get(urljoin(self.base_url, CATALOGUE))
                if response.status_code != 200:
                    raise LiteBuildError(
                        f"{self.label}: {CATALOGUE} could not be downloaded (HTTP "
                        f"{response.status_code}); check [pyodide] distribution"
                    )
                text = response.text
            elif Path(self.location).is_dir():
                text = (Path(self.location) / CATALOGUE).read_text(encoding="utf-8")
            else:
                text = self._tar_member_text(CATALOGUE)
        except httpx.HTTPError as error:
            raise LiteBuildError(f"{self.label}: could not be reached: {error}") from error
        except OSError as error:
            raise LiteBuildError(
                f"{self.label}: cannot read its {CATALOGUE}: {error.strerror or error}"
            ) from error
        try:
            data = json.loads(text)
        except ValueError as error:
            raise LiteBuildError(f"{self.label}: its {CATALOGUE} is not JSON: {error}") from error
        if not isinstance(data, dict):
            raise LiteBuildError(f"{self.label}: its {CATALOGUE} is not a JSON object")
        return data

    # -- what the resolver sees ----------------------------------------------------------------
    def files(self, name: str) -> list[IndexFile]:
        entry = self.catalogue().get(canonicalize_name(name))
        if entry is None or not self.available(entry):
            return []
        return [
            IndexFile(
                filename=entry.file_name,
                url=self.file_url(entry),
                sha256=entry.sha256,
                source=self.name,
                version=entry.version,
                for_pyodide=True,
            )
        ]

    def metadata(self, file: IndexFile) -> CoreMetadata:
        entry = self.entry_for_file(file.filename)
        return CoreMetadata(name=entry.name, version=entry.version, requires_dist=entry.depends)

    def entry_for_file(self, filename: str) -> CatalogueEntry:
        for entry in self.catalogue().values():
            if entry.file_name == filename:
                return entry
        raise LiteBuildError(f"{self.label} lists no file {filename}")

    def missing_reason(self, name: str) -> str | None:
        entry = self.catalogue().get(canonicalize_name(name))
        if entry is None:
            return f"not in {self.label}"
        return f"{self.label} lists it, but its file {entry.file_name} is missing there"

    def file_url(self, entry: CatalogueEntry) -> str:
        """Where the file is: a URL for a remote distribution, else a local description."""
        if self.remote:
            return urljoin(self.base_url, entry.file_name)
        return str(Path(self.location) / entry.file_name)

    def available(self, entry: CatalogueEntry) -> bool:
        """Whether the distribution really has the file (cached answers; a cached copy counts)."""
        if entry.file_name not in self._available:
            self._available[entry.file_name] = self._probe(entry)
        return self._available[entry.file_name]

    def _probe(self, entry: CatalogueEntry) -> bool:
        cached = wheel_cache_path(entry.sha256, entry.file_name)
        if cached.is_file():
            return True
        if self.remote:
            try:
                response = self._http().head(self.file_url(entry))
            except httpx.HTTPError as error:
                raise LiteBuildError(f"{self.label}: could not be reached: {error}") from error
            return response.status_code == 200
        if Path(self.location).is_dir():
            return (Path(self.location) / entry.file_name).is_file()
        return entry.file_name in self._tar_members()

    # -- fetching ------------------------------------------------------------------------------
    def fetch_file(self, filename: str, sha256: str, *, label: str) -> Path:
        """The file in the cache, checked against ``sha256`` (nothing is kept if it differs)."""
        dest = wheel_cache_path(sha256, filename)
        digest = Digest("sha256", sha256)
        if dest.is_file() and digest.matches(dest):
            return dest
        if self.remote:
            return download(
                urljoin(self.base_url, filename),
                dest,
                digest,
                label=label,
                client=self._client,
                reporter=self._reporter,
            )
        if Path(self.location).is_dir():
            source = Path(self.location) / filename
            if not source.is_file():
                raise LiteBuildError(f"{label}: {self.label} has no file {filename}")
            _copy_checked(source, dest, sha256, label=label, origin=str(source))
            return dest
        if filename not in self._tar_members():
            raise LiteBuildError(f"{label}: {self.label} has no file {filename}")
        with (
            self._tar_open(filename, label) as stream,
            tempfile.NamedTemporaryFile(delete=False, dir=cache_dir()) as out,
        ):
            shutil.copyfileobj(stream, out)
        try:
            _copy_checked(Path(out.name), dest, sha256, label=label, origin=self.location)
        finally:
            Path(out.name).unlink(missing_ok=True)
        return dest

    # -- as a source of a build ----------------------------------------------------------------
    def fetch(self, package: ResolvedPackage, *, offline: bool) -> Path:
        try:
            return self.fetch_file(
                package.filename, package.sha256, label=f"{package.name} {package.version}"
            )
        except LiteBuildError as error:
            if not self.remote:
                raise
            fixes = [
                "make it reachable",
                "point [pyodide] distribution at a local copy (a folder or .tar.bz2 file)",
            ]
            if offline:
                fixes.append(f"set offline = false to load {package.name} from there at run time")
            raise LiteBuildError(
                f'{error}\n"{package.name}" comes from {self.label}'
                + (", and an offline site must ship its file" if offline else "")
                + ": "
                + ", or ".join(fixes)
            ) from error

    def describe(self, root: Path) -> list[str]:
        location = self.location if self.remote else relative(Path(self.location), root)
        return [f"distribution: {location}"]

    def catalogue_fields(self, package: ResolvedPackage) -> dict[str, Any]:
        return dict(self.entry_for_file(package.filename).fields)

    def remote_url(self, package: ResolvedPackage) -> str | None:
        return self.base_url + package.filename if self.remote else None

    # -- helpers ---------------------------------------------------------------------------------
    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = http_client()
        return self._client

    def _tar_members(self) -> dict[str, str]:
        """File name -> member name of the files beside the tarball's catalogue."""
        if self._members is None:
            with tarfile.open(self.location) as archive:
                names = [member.name for member in archive.getmembers() if member.isfile()]
            catalogue = next((n for n in names if PurePosixPath(n).name == CATALOGUE), None)
            folder = PurePosixPath(catalogue).parent if catalogue else PurePosixPath(".")
            self._members = {
                PurePosixPath(name).name: name
                for name in names
                if PurePosixPath(name).parent == folder
            }
        return self._members

    def _tar_member_text(self, filename: str) -> str:
        if filename not in self._tar_members():
            raise LiteBuildError(f"{self.label}: the archive holds no {filename}")
        with self._tar_open(filename, self.label) as stream:
            return stream.read().decode("utf-8")

    @contextmanager
    def _tar_open(self, filename: str, label: str) -> Iterator[IO[bytes]]:
        """The bytes of ``filename`` (a file beside the catalogue) inside the tarball."""
        with tarfile.open(self.location) as archive:
            stream = archive.extractfile(self._tar_members()[filename])
            if stream is None:
                raise LiteBuildError(f"{label}: {filename} in {self.location} is not a file")
            yield stream


def parse_catalogue(data: dict[str, Any], label: str) -> dict[str, CatalogueEntry]:
    """The entries of a ``pyodide-lock.json`` by canonical name (pure)."""
    packages = data.get("packages")
    if not isinstance(packages, dict):
        raise LiteBuildError(f'{label}: its {CATALOGUE} has no "packages" table')
    entries: dict[str, CatalogueEntry] = {}
    for key, raw in packages.items():
        if not isinstance(raw, dict) or not raw.get("file_name") or not raw.get("sha256"):
            log.debug("%s: skipping the incomplete catalogue entry %r", label, key)
            continue
        name = canonicalize_name(str(raw.get("name") or key))
        source = f"{label}: its {CATALOGUE} entry {key!r}"
        entries[name] = CatalogueEntry(
            name=name,
            version=str(raw.get("version", "0")),
            file_name=plain_file_name(str(raw["file_name"]), source=source),
            sha256=sha256_hex(str(raw["sha256"]), source=source),
            depends=tuple(canonicalize_name(dep) for dep in raw.get("depends") or ()),
            fields={field: raw[field] for field in ENTRY_FIELDS if field in raw},
        )
    return entries


def _copy_checked(source: Path, dest: Path, sha256: str, *, label: str, origin: str) -> None:
    actual = sha256_of(source)
    if actual != sha256:
        raise LiteBuildError(
            f"{label}: {dest.name} from {origin} does not match the sha256 in the "
            f"distribution's {CATALOGUE} (expected {sha256}, got {actual}); nothing was written"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
    try:
        with open(fd, "wb") as out, source.open("rb") as stream:
            shutil.copyfileobj(stream, out)
        Path(tmp_name).replace(dest)
    finally:
        Path(tmp_name).unlink(missing_ok=True)
