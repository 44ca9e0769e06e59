from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from lite_build.errors import LiteBuildError
from lite_build.packages.index import SimpleIndex
from lite_build.packages.resolve import ResolvedPackage
from lite_build.packages.sources.pypi import IndexSource

if TYPE_CHECKING:
    from conftest import MakeWheel


def package_for(wheel: Path, *, digest: str | None = None) -> ResolvedPackage:
    return ResolvedPackage(
        name="lib",
        version="1.0",
        filename=wheel.name,
        url=f"http://127.0.0.1:9/files/{wheel.name}",
        sha256=digest or hashlib.sha256(wheel.read_bytes()).hexdigest(),
        size=wheel.stat().st_size,
        depends=(),
        requested_extras=(),
    )


def fetch(package: ResolvedPackage, client: httpx.Client) -> Path:
    """The package fetched as a build fetches a file the package index chose."""
    source = IndexSource(SimpleIndex("http://127.0.0.1:9/simple/"), client=client)
    return source.fetch(package, offline=True)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("LITE_BUILD_CACHE_DIR", str(folder))
    return folder


def test_fetch_wheels_downloads_once(cache: Path, make_wheel: MakeWheel) -> None:
    wheel = make_wheel("lib", "1.0")
    package = package_for(wheel)
    requests: list[str] = []

    def serve(request: httpx.Request) -> httpx.Response:
        requests.append(request.url.path)
        return httpx.Response(200, content=wheel.read_bytes())

    client = httpx.Client(transport=httpx.MockTransport(serve))
    fetched = fetch(package, client)
    again = fetch(package, client)

    expected = cache / "wheels" / package.sha256[:2] / package.sha256 / wheel.name
    assert fetched == again == expected
    assert expected.read_bytes() == wheel.read_bytes()
    assert requests == [f"/files/{wheel.name}"]


def test_fetch_wheels_checks_the_hash(cache: Path, make_wheel: MakeWheel) -> None:
    wheel = make_wheel("lib", "1.0")
    client = httpx.Client(
        transport=httpx.MockTransport(lambda r: httpx.Response(200, content=b"x"))
    )

    with pytest.raises(LiteBuildError, match="does not match its published sha256 hash"):
        fetch(package_for(wheel), client)
