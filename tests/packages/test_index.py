from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from lite_build.errors import LiteBuildError
from lite_build.packages.index import (
    IndexFile,
    SimpleIndex,
    default_index_url,
    parse_simple_listing,
    wheel_cache_path,
)
from lite_build.packages.wheel import CoreMetadata

if TYPE_CHECKING:
    from conftest import MakeWheel

INDEX = "http://127.0.0.1:9/simple/"
METADATA = "Metadata-Version: 2.1\nName: lib\nVersion: 1.0\nRequires-Dist: idna>=3\n"


class FakeServer:
    """Answers like a PEP 691 index; records every request."""

    def __init__(self, wheel: Path, *, serve_metadata: bool = True) -> None:
        self.wheel = wheel
        self.sha256 = hashlib.sha256(wheel.read_bytes()).hexdigest()
        self.serve_metadata = serve_metadata
        self.requests: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.requests.append(path)
        if path == "/simple/lib/":
            assert request.headers["accept"] == "application/vnd.pypi.simple.v1+json"
            files = [
                {
                    "filename": self.wheel.name,
                    "url": f"../../files/{self.wheel.name}",
                    "hashes": {"sha256": self.sha256},
                    "requires-python": ">=3.9",
                    "size": self.wheel.stat().st_size,
                    "yanked": False,
                }
            ]
            body = {"meta": {"api-version": "1.1"}, "name": "lib", "files": files}
            return httpx.Response(200, json=body)
        if path == f"/files/{self.wheel.name}.metadata" and self.serve_metadata:
            return httpx.Response(200, text=METADATA)
        if path == f"/files/{self.wheel.name}":
            return httpx.Response(200, content=self.wheel.read_bytes())
        return httpx.Response(404)


@pytest.fixture
def server(make_wheel: MakeWheel) -> FakeServer:
    return FakeServer(make_wheel("lib", "1.0", requires=["attrs"]))


def simple_index(handler: Callable[[httpx.Request], httpx.Response], cache: Path) -> SimpleIndex:
    return SimpleIndex(INDEX, httpx.Client(transport=httpx.MockTransport(handler)), cache)


def test_files_lists_the_project(server: FakeServer, tmp_path: Path) -> None:
    index = simple_index(server, tmp_path / "cache")

    assert index.files("Lib") == [
        IndexFile(
            filename="lib-1.0-py3-none-any.whl",
            url="http://127.0.0.1:9/files/lib-1.0-py3-none-any.whl",
            sha256=server.sha256,
            requires_python=">=3.9",
            yanked=False,
            size=server.wheel.stat().st_size,
        )
    ]
    index.files("lib")
    assert server.requests == ["/simple/lib/"]  # kept in memory for the run


def test_unknown_project_has_no_files(server: FakeServer, tmp_path: Path) -> None:
    assert simple_index(server, tmp_path).files("frobnicate-xyz") == []


def test_metadata_from_the_metadata_file_is_cached(server: FakeServer, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    index = simple_index(server, cache)
    (file,) = index.files("lib")

    assert index.metadata(file) == CoreMetadata("lib", "1.0", ("idna>=3",))
    assert (cache / "metadata" / f"{file.sha256}.metadata").read_text() == METADATA

    again = simple_index(server, cache)
    assert again.metadata(file) == CoreMetadata("lib", "1.0", ("idna>=3",))
    assert server.requests.count(f"/files/{file.filename}.metadata") == 1


def test_metadata_falls_back_to_the_wheel(server: FakeServer, tmp_path: Path) -> None:
    server.serve_metadata = False
    cache = tmp_path / "cache"
    index = simple_index(server, cache)
    (file,) = index.files("lib")

    assert index.metadata(file).requires_dist == ("attrs",)
    assert wheel_cache_path(file.sha256, file.filename, root=cache).read_bytes() == (
        server.wheel.read_bytes()
    )


def test_unreachable_index(tmp_path: Path) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(LiteBuildError) as caught:
        simple_index(refuse, tmp_path).files("lib")
    assert str(caught.value) == (
        f"could not reach the package index at {INDEX}: connection refused; "
        "check the network or LITE_BUILD_INDEX_URL"
    )


def test_index_error_status(tmp_path: Path) -> None:
    index = simple_index(lambda request: httpx.Response(503), tmp_path)

    with pytest.raises(LiteBuildError) as caught:
        index.files("lib")
    assert str(caught.value) == (
        f"the package index at {INDEX} answered HTTP 503 for 'lib'; try again later, "
        "or check LITE_BUILD_INDEX_URL"
    )


def test_index_without_json_api(tmp_path: Path) -> None:
    index = simple_index(lambda request: httpx.Response(200, text="<html></html>"), tmp_path)

    with pytest.raises(LiteBuildError) as caught:
        index.files("lib")
    assert str(caught.value) == (
        f"the package index at {INDEX} did not answer 'lib' with the JSON simple API "
        "(PEP 691); use an index that supports it (set LITE_BUILD_INDEX_URL)"
    )


def test_parse_simple_listing() -> None:
    page = {
        "files": [
            {"filename": "a-1.0.tar.gz", "url": "a-1.0.tar.gz", "hashes": {"sha256": "aa"}},
            {
                "filename": "a-0.9-py3-none-any.whl",
                "url": "https://files.example.org/a-0.9-py3-none-any.whl",
                "hashes": {"sha256": "bb"},
                "yanked": "broken",
                "requires-python": "",
            },
            {"filename": "a-0.8-py3-none-any.whl", "url": "x", "hashes": {"md5": "cc"}},
        ]
    }

    assert parse_simple_listing(json.loads(json.dumps(page)), "https://idx/simple/a/") == [
        IndexFile("a-1.0.tar.gz", "https://idx/simple/a/a-1.0.tar.gz", "aa"),
        IndexFile(
            "a-0.9-py3-none-any.whl",
            "https://files.example.org/a-0.9-py3-none-any.whl",
            "bb",
            yanked=True,
        ),
    ]


def test_default_index_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LITE_BUILD_INDEX_URL", raising=False)
    assert default_index_url() == "https://pypi.org/simple/"
    monkeypatch.setenv("LITE_BUILD_INDEX_URL", "http://127.0.0.1:8000/simple")
    assert default_index_url() == "http://127.0.0.1:8000/simple/"
    assert SimpleIndex().url == "http://127.0.0.1:8000/simple/"
