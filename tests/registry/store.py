"""The store: the pinned files' bytes, fetched once from the real registries and kept under the
lite-build cache (``cache_dir()/test-registry/``), each named by its hash."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from lite_build.cache import Digest, cache_dir, download, http_client
from tests.registry.listing import FrozenListing

FETCH_COMMAND = "python -m tests.registry fetch"


@dataclass(frozen=True)
class StoredItem:
    """One file the store must hold: what it is, where it comes from, its expected hash."""

    label: str
    url: str
    digest: Digest


def default_store() -> Path:
    return cache_dir() / "test-registry"


def stored_path(store: Path, digest: Digest) -> Path:
    return store / digest.algorithm / digest.value[:2] / digest.value


def stored_items(listing: FrozenListing) -> Iterator[StoredItem]:
    """Everything the stand-in may serve: stored files, their metadata files, npm tarballs."""
    for files in listing.projects.values():
        for file in files:
            if not file.stored:
                continue
            yield StoredItem(file.filename, file.url, Digest("sha256", file.sha256))
            if file.metadata_sha256:
                yield StoredItem(
                    f"{file.filename}.metadata",
                    f"{file.url}.metadata",
                    Digest("sha256", file.metadata_sha256),
                )
    for package, versions in listing.npm.items():
        for version, tarball in versions.items():
            yield StoredItem(
                f"{package}-{version}.tgz", tarball.url, Digest.from_sri(tarball.integrity)
            )


@dataclass(frozen=True)
class FetchReport:
    items: int
    downloaded: int
    downloaded_bytes: int
    store_bytes: int
    seconds: float


def fetch(listing: FrozenListing, store: Path) -> FetchReport:
    """Download every item the store lacks, hash-checked (what is there and intact is kept)."""
    started = time.perf_counter()
    items = list(stored_items(listing))
    downloaded = downloaded_bytes = 0
    with http_client() as client:
        for item in items:
            path = stored_path(store, item.digest)
            if path.is_file() and item.digest.matches(path):
                continue
            download(item.url, path, item.digest, label=item.label, client=client)
            downloaded += 1
            downloaded_bytes += path.stat().st_size
    store_bytes = sum(p.stat().st_size for p in store.rglob("*") if p.is_file())
    return FetchReport(
        len(items), downloaded, downloaded_bytes, store_bytes, time.perf_counter() - started
    )
