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
        #: the metadata file's sha256 as the listing gives it (None: not given)
        self.metadata_sha256: str | None = hashlib.sha256(METADATA.encode()).hexdigest()
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
                    "core-metadata": {"sha256": self.metadata_sha256}
                    if self.metadata_sha256
                    else False,
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
            metadata_sha256=server.metadata_sha256,
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


def test_metadata_whose_hash_the_index_does_not_give_is_used_but_not_cached(
    server: FakeServer, tmp_path: Path
) -> None:
    server.metadata_sha256 = None
    cache = tmp_path / "cache"
    (file,) = simple_index(server, cache).files("lib")

    assert simple_index(server, cache).metadata(file) == CoreMetadata("lib", "1.0", ("idna>=3",))
    assert not (cache / "metadata").exists()


def test_metadata_that_does_not_match_its_hash_is_not_used_nor_cached(
    server: FakeServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server.metadata_sha256 = "0" * 64  # the metadata file served was changed on the way
    cache = tmp_path / "cache"
    index = simple_index(server, cache)
    (file,) = index.files("lib")

    # read from the wheel, whose hash is checked: its metadata says attrs, not idna
    assert index.metadata(file).requires_dist == ("attrs",)
    assert "idna" not in (cache / "metadata" / f"{file.sha256}.metadata").read_text()
    assert caplog.messages == [
        f"the metadata file of {file.filename} does not match the sha256 the package index "
        f"{INDEX} gives for it; reading the metadata from the wheel instead"
    ]


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
            {"filename": "a-1.0.tar.gz", "url": "a-1.0.tar.gz", "hashes": {"sha256": "aa" * 32}},
            {
                "filename": "a-0.9-py3-none-any.whl",
                "url": "https://files.example.org/a-0.9-py3-none-any.whl",
                "hashes": {"sha256": "BB" * 32},
                "core-metadata": {"sha256": "dd" * 32},
                "yanked": "broken",
                "requires-python": "",
            },
            {"filename": "a-0.8-py3-none-any.whl", "url": "x", "hashes": {"md5": "cc"}},
        ]
    }

    assert parse_simple_listing(json.loads(json.dumps(page)), "https://idx/simple/a/") == [
        IndexFile("a-1.0.tar.gz", "https://idx/simple/a/a-1.0.tar.gz", "aa" * 32),
        IndexFile(
            "a-0.9-py3-none-any.whl",
            "https://files.example.org/a-0.9-py3-none-any.whl",
            "bb" * 32,
            yanked=True,
            metadata_sha256="dd" * 32,
        ),
    ]


@pytest.mark.parametrize(
    "filename", ["../../.bashrc", "/home/someone/.bashrc", "sub/a-1.0.tar.gz", "..", "a\\b.whl"]
)
def test_a_listing_file_name_that_is_not_a_plain_name_is_refused(filename: str) -> None:
    page = {"files": [{"filename": filename, "url": "x", "hashes": {"sha256": "aa" * 32}}]}

    with pytest.raises(LiteBuildError) as caught:
        parse_simple_listing(page, "https://idx/simple/a/")
    assert str(caught.value) == (
        f"the package index page https://idx/simple/a/: {filename!r} is not a plain file name; "
        "lite-build refuses it, as it would write outside its folder. The source is damaged "
        "or hostile: fix it or use another"
    )


@pytest.mark.parametrize("sha256", ["../../x", "aa", "zz" * 32])
def test_a_listing_hash_that_is_not_a_sha256_is_refused(sha256: str) -> None:
    page = {"files": [{"filename": "a-1.0.tar.gz", "url": "x", "hashes": {"sha256": sha256}}]}

    with pytest.raises(LiteBuildError) as caught:
        parse_simple_listing(page, "https://idx/simple/a/")
    assert str(caught.value) == (
        f"the package index page https://idx/simple/a/: {sha256!r} is not a sha256 (64 hex "
        "digits); the source is damaged or hostile: fix it or use another"
    )


def test_the_wheel_cache_never_writes_outside_its_folder(tmp_path: Path) -> None:
    with pytest.raises(LiteBuildError) as caught:
        wheel_cache_path("aa" * 32, "../../../../victim", root=tmp_path)
    assert str(caught.value) == (
        f"refusing to write 'aa/{'aa' * 32}/../../../../victim': it is not inside "
        f"{tmp_path / 'wheels'}"
    )


def test_a_plain_http_index_is_refused_unless_on_this_machine() -> None:
    with pytest.raises(LiteBuildError) as caught:
        SimpleIndex("http://mirror.example.org/simple/")
    assert str(caught.value) == (
        "the package index (set by LITE_BUILD_INDEX_URL): http://mirror.example.org/simple/ is "
        "not an https URL; lite-build downloads only over https (plain http only from this "
        "machine: 127.0.0.1, localhost, ::1). Use the https address"
    )
    for url in ("http://127.0.0.1:8000/simple/", "http://localhost/simple/", "https://x.org/s/"):
        assert SimpleIndex(url).url == url


def test_default_index_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LITE_BUILD_INDEX_URL", raising=False)
    assert default_index_url() == "https://pypi.org/simple/"
    monkeypatch.setenv("LITE_BUILD_INDEX_URL", "http://127.0.0.1:8000/simple")
    assert default_index_url() == "http://127.0.0.1:8000/simple/"
    assert SimpleIndex().url == "http://127.0.0.1:8000/simple/"
