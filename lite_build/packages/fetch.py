"""Download the chosen wheels into the cache (hash-checked; already cached wheels are kept)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import httpx

from lite_build.cache import Digest, download, http_client
from lite_build.packages.index import wheel_cache_path
from lite_build.packages.resolve import ResolvedPackage
from lite_build.ui import Reporter


def fetch_wheels(
    packages: Iterable[ResolvedPackage],
    *,
    client: httpx.Client | None = None,
    reporter: Reporter | None = None,
) -> dict[str, Path]:
    """Each package's wheel in the cache, by canonical name."""
    own_client = client is None
    client = client or http_client()
    try:
        return {
            package.name: download(
                package.url,
                wheel_cache_path(package.sha256, package.filename),
                Digest("sha256", package.sha256),
                label=f"{package.name} {package.version}",
                client=client,
                reporter=reporter,
            )
            for package in packages
        }
    finally:
        if own_client:
            client.close()
