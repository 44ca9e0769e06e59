"""Where packages come from: a package index speaking the JSON simple API (PEP 691).

Listings are kept in memory for one run only (an index changes); core metadata is kept in the
cache, keyed by the wheel's sha256, so resolving again needs one request per package, not one
per candidate.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urldefrag, urljoin, urlparse

import httpx
from packaging.utils import canonicalize_name

from lite_build.cache import Digest, cache_dir, check_remote_url, download, http_client
from lite_build.errors import LiteBuildError
from lite_build.files import path_inside, plain_file_name, sha256_hex
from lite_build.packages.wheel import CoreMetadata, parse_core_metadata, read_wheel_metadata_text
from lite_build.ui import Reporter

log = logging.getLogger(__name__)

INDEX_URL_ENV_VAR = "LITE_BUILD_INDEX_URL"
DEFAULT_INDEX_URL = "https://pypi.org/simple/"
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"


@dataclass(frozen=True)
class IndexFile:
    """One file of one project on the index (a wheel or an sdist)."""

    filename: str
    url: str
    sha256: str
    requires_python: str | None = None
    yanked: bool = False
    size: int | None = None
    #: where it comes from: "pypi" (the package index), "wheels", "project" or "pyodide"
    source: str = "pypi"
    #: the version, when the file name does not say it (a Pyodide shared library's .zip)
    version: str | None = None
    #: built for this very runtime (a Pyodide distribution's catalogue says so): tags unchecked
    for_pyodide: bool = False
    #: the sha256 of its PEP 658 metadata file, when the index gives it
    metadata_sha256: str | None = None


class PackageIndex(Protocol):
    #: shown to the user in messages
    url: str

    def files(self, name: str) -> list[IndexFile]:
        """All files of project ``name``; empty if the index does not know it."""
        ...

    def metadata(self, file: IndexFile) -> CoreMetadata:
        """The core metadata of the wheel ``file``."""
        ...


def default_index_url() -> str:
    """The configured index: ``$LITE_BUILD_INDEX_URL`` or PyPI."""
    url = os.environ.get(INDEX_URL_ENV_VAR, "").strip() or DEFAULT_INDEX_URL
    return url if url.endswith("/") else url + "/"


def index_label(url: str) -> str:
    """How messages name the index: "PyPI" for pypi.org, else its URL."""
    return "PyPI" if urlparse(url).hostname == "pypi.org" else f"the package index {url}"


def wheel_cache_path(sha256: str, filename: str, *, root: Path | None = None) -> Path:
    """Where a wheel lives in the cache: named by content, so it is downloaded once."""
    base = root if root is not None else cache_dir()
    return path_inside(base / "wheels", sha256[:2], sha256, filename)


class SimpleIndex:
    """A :class:`PackageIndex` over HTTP (PEP 691 JSON, PEP 658 metadata)."""

    def __init__(
        self,
        url: str | None = None,
        client: httpx.Client | None = None,
        cache: Path | None = None,
        *,
        reporter: Reporter | None = None,
    ) -> None:
        self.url = (url or default_index_url()).rstrip("/") + "/"
        check_remote_url(self.url, source=f"the package index (set by {INDEX_URL_ENV_VAR})")
        self._own_client = client is None
        self._client = client or http_client()
        self._cache = cache
        self._reporter = reporter
        self._listings: dict[str, list[IndexFile]] = {}

    def close(self) -> None:
        if self._own_client:
            self._client.close()

    def __enter__(self) -> SimpleIndex:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def files(self, name: str) -> list[IndexFile]:
        key = canonicalize_name(name)
        if key not in self._listings:
            self._listings[key] = self._fetch_listing(key)
        return self._listings[key]

    def metadata(self, file: IndexFile) -> CoreMetadata:
        cached = path_inside(self._cache_root() / "metadata", f"{file.sha256}.metadata")
        if cached.exists():
            return parse_core_metadata(cached.read_text(encoding="utf-8"))
        fetched = self._fetch_metadata_file(file)
        if fetched is not None and not fetched.checked:
            # the index gave no hash for it: good enough to resolve with in this run, but the
            # cache keeps only what was checked (the wheel's own metadata is, by its hash)
            return parse_core_metadata(fetched.text)
        text = fetched.text if fetched is not None else self._metadata_from_wheel(file)
        _write_atomically(cached, text)
        return parse_core_metadata(text)

    def _cache_root(self) -> Path:
        return self._cache if self._cache is not None else cache_dir()

    def _fetch_listing(self, name: str) -> list[IndexFile]:
        page = urljoin(self.url, f"{name}/")
        response = self._get(page, headers={"Accept": SIMPLE_JSON})
        if response.status_code == 404:
            return []
        if response.status_code != 200:
            raise LiteBuildError(
                f"the package index at {self.url} answered HTTP {response.status_code} "
                f"for {name!r}; try again later, or check LITE_BUILD_INDEX_URL"
            )
        try:
            data = response.json()
        except ValueError as error:
            raise LiteBuildError(
                f"the package index at {self.url} did not answer {name!r} with the JSON simple "
                f"API (PEP 691); use an index that supports it (set {INDEX_URL_ENV_VAR})"
            ) from error
        return parse_simple_listing(data, page)

    def _fetch_metadata_file(self, file: IndexFile) -> MetadataFile | None:
        """The PEP 658 metadata file, which many indexes serve even when not advertised; None
        if there is none, or if it does not match the hash the index gives for it."""
        response = self._get(urldefrag(file.url).url + ".metadata")
        if response.status_code != 200:
            log.debug("no metadata file for %s (HTTP %s)", file.filename, response.status_code)
            return None
        if file.metadata_sha256 is None:
            return MetadataFile(response.content.decode("utf-8", errors="replace"), False)
        if hashlib.sha256(response.content).hexdigest() != file.metadata_sha256:
            log.warning(
                "the metadata file of %s does not match the sha256 %s gives for it; reading "
                "the metadata from the wheel instead",
                file.filename,
                index_label(self.url),
            )
            return None
        return MetadataFile(response.content.decode("utf-8", errors="replace"), True)

    def _metadata_from_wheel(self, file: IndexFile) -> str:
        path = wheel_cache_path(file.sha256, file.filename, root=self._cache_root())
        download(
            file.url,
            path,
            Digest("sha256", file.sha256),
            label=file.filename,
            client=self._client,
            reporter=self._reporter,
        )
        return read_wheel_metadata_text(path)

    def _get(self, url: str, headers: dict[str, str] | None = None) -> httpx.Response:
        try:
            return self._client.get(url, headers=headers)
        except httpx.HTTPError as error:
            raise LiteBuildError(
                f"could not reach the package index at {self.url}: {error}; "
                f"check the network or {INDEX_URL_ENV_VAR}"
            ) from error


@dataclass(frozen=True)
class MetadataFile:
    text: str
    #: its sha256 matched the one the index gives for it
    checked: bool


def parse_simple_listing(data: Any, page_url: str) -> list[IndexFile]:
    """The files of a PEP 691 project page; relative URLs resolve against ``page_url``."""
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, list):
        raise LiteBuildError(f"the package index page {page_url} has no list of files")
    parsed = []
    source = f"the package index page {page_url}"
    for entry in files:
        sha256 = (entry.get("hashes") or {}).get("sha256")
        if not sha256:
            log.debug("skipping %s: the index gives no sha256", entry.get("filename"))
            continue
        size = entry.get("size")
        parsed.append(
            IndexFile(
                filename=plain_file_name(str(entry["filename"]), source=source),
                url=urljoin(page_url, entry["url"]),
                sha256=sha256_hex(str(sha256), source=source),
                requires_python=entry.get("requires-python") or None,
                yanked=bool(entry.get("yanked", False)),
                size=size if isinstance(size, int) else None,
                metadata_sha256=_metadata_sha256(entry, source),
            )
        )
    return parsed


def _metadata_sha256(entry: dict[str, Any], source: str) -> str | None:
    """The sha256 of the file's PEP 658 metadata, if the listing gives one (PEP 714 renamed
    the key; older indexes use the first name)."""
    for key in ("core-metadata", "data-dist-info-metadata"):
        value = entry.get(key)
        if isinstance(value, dict) and value.get("sha256"):
            return sha256_hex(str(value["sha256"]), source=source)
    return None


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp_name, path)
    finally:
        Path(tmp_name).unlink(missing_ok=True)
