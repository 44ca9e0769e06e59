"""The Pyodide release matching the runtime as a package source: what only it has (numpy,
pandas, matplotlib ...) when no ``[pyodide] distribution`` is configured.

It is a remote :class:`PyodideDistribution` whose catalogue is the runtime's own
``pyodide-lock.json`` (integrity-checked when the runtime was fetched) and whose files come from
the release's URL, each checked against that catalogue's sha256. It is asked last, only for the
names no other source has a Pyodide build of, so PyPI's wheels keep their precedence.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
from packaging.utils import canonicalize_name

from lite_build.cache import check_remote_url
from lite_build.errors import LiteBuildError
from lite_build.packages.index import IndexFile
from lite_build.packages.sources.distribution import PyodideDistribution
from lite_build.ui import Reporter

RELEASE_URL_ENV_VAR = "LITE_BUILD_PYODIDE_RELEASE_URL"
#: where Pyodide publishes each release's files (its documented CDN)
RELEASE_URL = "https://cdn.jsdelivr.net/pyodide/v{version}/full/"


def release_url(version: str) -> str:
    """The base URL of the release ``version``: ``$LITE_BUILD_PYODIDE_RELEASE_URL`` or the CDN."""
    url = os.environ.get(RELEASE_URL_ENV_VAR, "").strip() or RELEASE_URL.format(version=version)
    check_remote_url(url, source=f"the Pyodide release (set by {RELEASE_URL_ENV_VAR})")
    return url if url.endswith("/") else url + "/"


class PyodideRelease(PyodideDistribution):
    """The packages of the Pyodide release the runtime comes from (see the module docstring)."""

    name = "pyodide-release"

    def __init__(
        self,
        version: str,
        runtime_lock: Mapping[str, Any],
        *,
        client: httpx.Client | None = None,
        reporter: Reporter | None = None,
    ) -> None:
        self.version = version
        super().__init__(release_url(self.version), client=client, reporter=reporter)
        self._runtime_lock = runtime_lock

    @property
    def label(self) -> str:
        return f"the Pyodide {self.version} release ({self.location})"

    def files(self, name: str) -> list[IndexFile]:
        try:
            return super().files(name)
        except LiteBuildError as error:  # the release host cannot be reached
            raise LiteBuildError(
                f'{error}\n"{canonicalize_name(name)}" has no Pyodide build on any other source: '
                "build on a machine that can reach the release, or set [pyodide] distribution to "
                "a local copy of it (a folder or .tar.bz2 file)"
            ) from error

    def _read_catalogue(self) -> dict[str, Any]:
        return dict(self._runtime_lock)

    def describe(self, root: Path) -> list[str]:
        # follows the runtime, which the lock already records
        return []
