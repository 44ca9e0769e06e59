"""The package index as a source (PyPI, or ``$LITE_BUILD_INDEX_URL``): the last one asked."""

from __future__ import annotations

from pathlib import Path

import httpx

from lite_build.cache import Digest, download
from lite_build.packages.index import IndexFile, PackageIndex, wheel_cache_path
from lite_build.packages.resolve import ResolvedPackage
from lite_build.packages.sources.base import Source
from lite_build.packages.wheel import CoreMetadata
from lite_build.ui import NullReporter, Reporter


class IndexSource(Source):
    """A package index speaking the JSON simple API; files are downloaded into the cache."""

    name = "pypi"

    def __init__(
        self,
        index: PackageIndex,
        *,
        client: httpx.Client | None = None,
        reporter: Reporter | None = None,
    ) -> None:
        self.index = index
        self.client = client
        self.url = index.url
        self.reporter = reporter or NullReporter()

    def files(self, name: str) -> list[IndexFile]:
        return self.index.files(name)

    def metadata(self, file: IndexFile) -> CoreMetadata:
        return self.index.metadata(file)

    def fetch(self, package: ResolvedPackage, *, offline: bool) -> Path:
        return download(
            package.url,
            wheel_cache_path(package.sha256, package.filename),
            Digest("sha256", package.sha256),
            label=f"{package.name} {package.version}",
            client=self.client,
            reporter=self.reporter,
        )
