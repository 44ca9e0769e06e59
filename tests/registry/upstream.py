"""Pinning, for maintainers: read one release from the live PyPI or npm registry and describe it
as the frozen listing records it. Only the files a Pyodide site or a build backend can use are
kept: pure-Python and wasm32 wheels, plus the sdist (listed, and stored only when asked)."""

from __future__ import annotations

import hashlib

import httpx
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from tests.registry.listing import PinnedFile, PinnedTarball
from tests.registry.server import SIMPLE_JSON

PYPI_SIMPLE = "https://pypi.org/simple/"
NPM_REGISTRY = "https://registry.npmjs.org"


class NotPublished(Exception):
    """The registry does not have what was asked for."""


def pypi_release(
    client: httpx.Client, project: str, version: str, *, store_sdist: bool = False
) -> list[PinnedFile]:
    """The files of ``project`` ``version`` on PyPI worth pinning."""
    name = canonicalize_name(project)
    response = client.get(f"{PYPI_SIMPLE}{name}/", headers={"Accept": SIMPLE_JSON})
    if response.status_code == 404:
        raise NotPublished(f'PyPI has no project "{project}"')
    response.raise_for_status()
    pinned = []
    for entry in response.json()["files"]:
        filename = entry["filename"]
        kind = pinned_kind(filename, version)
        if kind is None:
            continue
        pinned.append(
            PinnedFile(
                filename=filename,
                url=entry["url"],
                sha256=entry["hashes"]["sha256"],
                size=entry["size"],
                requires_python=entry.get("requires-python") or None,
                yanked=entry.get("yanked", False),
                metadata_sha256=_metadata_sha256(client, entry) if kind == "wheel" else None,
                stored=kind == "wheel" or store_sdist,
            )
        )
    if not pinned:
        raise NotPublished(f"PyPI has no sdist, pure-Python or wasm32 wheel of {project} {version}")
    return pinned


def pinned_kind(filename: str, version: str) -> str | None:
    """ "wheel" or "sdist" for a file of ``version`` worth pinning, else None."""
    wanted = Version(version)
    try:
        if filename.endswith(".whl"):
            _, found, _, tags = parse_wheel_filename(filename)
            usable = any(tag.platform == "any" or "wasm32" in tag.platform for tag in tags)
            return "wheel" if found == wanted and usable else None
        if filename.endswith((".tar.gz", ".zip")):
            return "sdist" if parse_sdist_filename(filename)[1] == wanted else None
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
    return None


def _metadata_sha256(client: httpx.Client, entry: dict[str, object]) -> str | None:
    """The hash of the wheel's PEP 658 metadata file: as advertised, else of the file itself
    (PyPI serves it for most wheels even where the listing does not say so)."""
    for key in ("core-metadata", "data-dist-info-metadata"):
        advertised = entry.get(key)
        if isinstance(advertised, dict) and isinstance(advertised.get("sha256"), str):
            return str(advertised["sha256"])
    response = client.get(f"{entry['url']}.metadata")
    if response.status_code != 200:
        return None
    return hashlib.sha256(response.content).hexdigest()


def npm_version(client: httpx.Client, package: str, version: str) -> PinnedTarball:
    """The tarball of ``package`` ``version`` on the npm registry."""
    response = client.get(f"{NPM_REGISTRY}/{package}/{version}")
    if response.status_code == 404:
        raise NotPublished(f"the npm registry has no {package}@{version}")
    response.raise_for_status()
    dist = response.json()["dist"]
    return PinnedTarball(url=dist["tarball"], integrity=dist["integrity"])
