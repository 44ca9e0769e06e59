"""Downloads: only over https (plain http to this machine), never redirected down to http."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from lite_build.cache import Digest, download, http_client
from lite_build.errors import LiteBuildError


class Recorder:
    """A host that redirects ``/old`` to ``self.location`` and answers the rest; records URLs."""

    def __init__(self, location: str) -> None:
        self.location = location
        self.requested: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requested.append(str(request.url))
        if request.url.path == "/old":
            return httpx.Response(302, headers={"Location": self.location})
        return httpx.Response(200, content=b"tampered")


def test_a_redirect_from_https_to_http_is_refused_even_to_this_machine(tmp_path: Path) -> None:
    host = Recorder("http://127.0.0.1:8000/new")
    dest = tmp_path / "file.whl"
    with pytest.raises(LiteBuildError) as caught:
        download(
            "https://files.example.org/old",
            dest,
            Digest("sha256", "ab" * 32),
            label="lib 1.0",
            client=http_client(httpx.MockTransport(host)),
        )
    assert str(caught.value) == (
        "https://files.example.org/old redirects to http://127.0.0.1:8000/new, which is not "
        "https; lite-build does not follow a redirect from https to plain http. Use the final "
        "https address"
    )
    assert host.requested == ["https://files.example.org/old"]
    assert list(tmp_path.iterdir()) == []


def test_plain_http_to_another_host_is_refused_before_any_request() -> None:
    host = Recorder("")
    with pytest.raises(LiteBuildError) as caught:
        http_client(httpx.MockTransport(host)).get("http://files.example.org/lib.whl")
    assert str(caught.value) == (
        "refusing to download: http://files.example.org/lib.whl is not an https URL; "
        "lite-build downloads only over https (plain http only from this machine: 127.0.0.1, "
        "localhost, ::1). Use the https address"
    )
    assert host.requested == []


def test_https_redirects_and_plain_http_to_this_machine_are_followed() -> None:
    host = Recorder("https://mirror.example.org/new")
    client = http_client(httpx.MockTransport(host))
    assert client.get("https://files.example.org/old").status_code == 200
    assert client.get("http://127.0.0.1:8000/lib.whl").status_code == 200
    assert client.get("http://[::1]:8000/lib.whl").status_code == 200
    assert host.requested == [
        "https://files.example.org/old",
        "https://mirror.example.org/new",
        "http://127.0.0.1:8000/lib.whl",
        "http://[::1]:8000/lib.whl",
    ]
