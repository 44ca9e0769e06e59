"""Network: the pins in frozen.json are still what PyPI and the npm registry publish (run with
``python -m pytest -m network``). Published files do not change, so a failure here means a pin
was edited by hand or upstream yanked or replaced something: re-pin with
``python -m tests.registry add`` and review the diff."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from lite_build.cache import http_client
from tests.registry.listing import FrozenListing, PinnedFile
from tests.registry.upstream import npm_version, pypi_release

pytestmark = pytest.mark.network

LISTING = FrozenListing.load()


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with http_client() as client:
        yield client


def facts(file: PinnedFile) -> tuple[str, str, str | None, bool | str]:
    return file.url, file.sha256, file.metadata_sha256, file.yanked


@pytest.mark.parametrize("project", sorted(LISTING.projects))
def test_pinned_pypi_files_are_still_published(project: str, client: httpx.Client) -> None:
    pinned = LISTING.projects[project]
    live = pypi_release(client, project, pinned[0].version)
    published = {file.filename: facts(file) for file in live}
    assert {file.filename: facts(file) for file in pinned} == {
        file.filename: published.get(file.filename) for file in pinned
    }


@pytest.mark.parametrize(
    ("package", "version"),
    sorted((package, version) for package, versions in LISTING.npm.items() for version in versions),
)
def test_pinned_npm_tarballs_are_still_published(
    package: str, version: str, client: httpx.Client
) -> None:
    assert npm_version(client, package, version) == LISTING.npm[package][version]
