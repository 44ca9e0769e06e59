from __future__ import annotations

import gzip
import http.client
import logging
import socket
import socketserver
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import cast

import pytest

from lite_build.commands.serve import SiteServer, make_server, serve_forever
from lite_build.errors import LiteBuildError
from lite_build.ui import NullReporter, Reporter

Fetch = Callable[..., http.client.HTTPResponse]


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    (root / "lab").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "index.html").write_text("<p>home</p>", encoding="utf-8")
    (root / "lab" / "index.html").write_text("<p>lab</p>", encoding="utf-8")
    for name in [
        "pyodide.asm.wasm",
        "pyodide.mjs",
        "bundle.js",
        "jupyter-lite.json",
        "intro.ipynb",
        "attrs-25.1.0-py3-none-any.whl",
        "python_stdlib.zip",
        "logo.svg",
        "style.css",
        "manifest.webmanifest",
        "unknown.xyz",
    ]:
        (root / name).write_bytes(b"x" * 10)
    (root / "big.js").write_text("let a = 1;\n" * 100, encoding="utf-8")
    (root / "big.js.gz").write_bytes(gzip.compress((root / "big.js").read_bytes(), mtime=0))
    (root / "lite-build-gzip.txt").write_text("big.js\n", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("outside the site", encoding="utf-8")
    return root


def _start(server: SiteServer) -> Iterator[Fetch]:
    # a short poll interval: shutdown() waits for the serving loop to notice
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()

    def fetch(path: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
        # http.client sends the path as written: no client-side ".." normalisation
        connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        response.read()
        connection.close()
        return response

    yield fetch
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def fetch(site: Path) -> Iterator[Fetch]:
    yield from _start(make_server(site, port=0))


@pytest.fixture
def fetch_isolated(site: Path) -> Iterator[Fetch]:
    yield from _start(make_server(site, port=0, isolated=True))


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/pyodide.asm.wasm", "application/wasm"),
        ("/pyodide.mjs", "text/javascript; charset=utf-8"),
        ("/bundle.js", "text/javascript; charset=utf-8"),
        ("/jupyter-lite.json", "application/json"),
        ("/intro.ipynb", "application/json"),
        ("/attrs-25.1.0-py3-none-any.whl", "application/zip"),
        ("/python_stdlib.zip", "application/zip"),
        ("/logo.svg", "image/svg+xml"),
        ("/style.css", "text/css; charset=utf-8"),
        ("/index.html", "text/html; charset=utf-8"),
        ("/manifest.webmanifest", "application/manifest+json"),
        ("/unknown.xyz", "application/octet-stream"),
    ],
)
def test_media_types(fetch: Fetch, path: str, content_type: str) -> None:
    response = fetch(path)
    assert response.status == 200
    assert response.getheader("Content-Type") == content_type
    assert response.getheader("Cache-Control") == "no-cache"


def test_isolation_headers_only_when_asked(fetch: Fetch, fetch_isolated: Fetch) -> None:
    isolation = {
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Embedder-Policy": "require-corp",
        "Cross-Origin-Resource-Policy": "same-origin",
    }
    for path in ["/", "/pyodide.asm.wasm", "/missing.js"]:
        plain = fetch(path)
        assert all(plain.getheader(name) is None for name in isolation)
        isolated = fetch_isolated(path)
        assert {name: isolated.getheader(name) for name in isolation} == isolation


def test_folders_serve_their_index_html(fetch: Fetch) -> None:
    assert fetch("/").getheader("Content-Type") == "text/html; charset=utf-8"
    assert fetch("/lab/").status == 200
    redirect = fetch("/lab?x=1")
    assert redirect.status == 301
    assert redirect.getheader("Location") == "/lab/?x=1"


def test_no_listings_and_404_for_missing(fetch: Fetch) -> None:
    assert fetch("/empty/").status == 404
    assert fetch("/missing.js").status == 404


@pytest.mark.parametrize(
    "path", ["/../secret.txt", "/lab/../../secret.txt", "/%2e%2e/secret.txt", "//../secret.txt"]
)
def test_paths_cannot_leave_the_site(fetch: Fetch, path: str) -> None:
    assert fetch(path).status == 404


def test_gzip_sibling_served_to_clients_that_accept_it(fetch: Fetch, site: Path) -> None:
    compressed = fetch("/big.js", {"Accept-Encoding": "gzip, deflate"})
    assert compressed.getheader("Content-Encoding") == "gzip"
    assert compressed.getheader("Content-Type") == "text/javascript; charset=utf-8"
    assert compressed.getheader("Vary") == "Accept-Encoding"
    assert compressed.getheader("Content-Length") == str((site / "big.js.gz").stat().st_size)

    plain = fetch("/big.js")
    assert plain.getheader("Content-Encoding") is None
    assert plain.getheader("Vary") == "Accept-Encoding"
    assert plain.getheader("Content-Length") == str((site / "big.js").stat().st_size)

    refused = fetch("/big.js", {"Accept-Encoding": "gzip;q=0"})
    assert refused.getheader("Content-Encoding") is None


def test_an_authors_own_gz_is_served_as_itself_never_in_its_files_place(
    fetch: Fetch, site: Path
) -> None:
    (site / "data.csv").write_text("city,people\n" * 200)
    (site / "data.csv.gz").write_bytes(gzip.compress(b"another table", mtime=0))

    plain = fetch("/data.csv", {"Accept-Encoding": "gzip"})
    assert plain.getheader("Content-Encoding") is None
    assert plain.getheader("Content-Length") == str((site / "data.csv").stat().st_size)
    assert fetch("/data.csv.gz").getheader("Content-Type") == "application/gzip"


def test_symbolic_links_out_of_the_site_are_not_followed(fetch: Fetch, site: Path) -> None:
    outside = site.parent / "home"
    (outside / ".ssh").mkdir(parents=True)
    (outside / ".ssh" / "id_rsa").write_text("private key")
    (site / "leak.txt").symlink_to(site.parent / "secret.txt")
    (site / "home").symlink_to(outside, target_is_directory=True)
    (site / "big.js.gz").unlink()
    (site / "big.js.gz").symlink_to(site.parent / "secret.txt")  # a sibling pointing out
    (site / "also-index.html").symlink_to(site / "index.html")  # inside: fine

    assert fetch("/leak.txt").status == 404
    assert fetch("/home/.ssh/id_rsa").status == 404
    assert fetch("/big.js", {"Accept-Encoding": "gzip"}).getheader("Content-Encoding") is None
    assert fetch("/also-index.html").status == 200


@pytest.mark.parametrize(
    ("path", "location"),
    [("//lab", "/lab/"), ("///lab?x=1", "/lab/?x=1"), ("/lab", "/lab/")],
)
def test_a_folder_redirect_never_leaves_the_site(fetch: Fetch, path: str, location: str) -> None:
    redirect = fetch(path)
    assert redirect.status == 301
    assert redirect.getheader("Location") == location


def test_connections_beyond_the_cap_wait_for_a_free_thread(site: Path) -> None:
    server = make_server(site, port=0)
    server.free_slots = threading.BoundedSemaphore(1)
    address = ("127.0.0.1", server.server_port)
    fetches = _start(server)
    next(fetches)
    idle = socket.create_connection(address)  # holds the only thread, says nothing
    waiting = socket.create_connection(address, timeout=0.5)
    waiting.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    with pytest.raises(TimeoutError):
        waiting.recv(100)
    idle.close()
    waiting.settimeout(10)
    assert waiting.recv(100).startswith(b"HTTP/1.1 200")
    waiting.close()
    next(fetches, None)


def test_ctrl_c_while_a_connections_thread_starts_still_stops_the_server(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl+C (or kill) in the main thread after a connection's thread started: the interrupt
    reaches the serving loop, and the connection's slot is given back once."""
    server = make_server(site, port=0)
    client = socket.create_connection(("127.0.0.1", server.server_port))
    client.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    request, address = server.get_request()

    def started_then_interrupted(self: SiteServer, request: object, address: object) -> None:
        thread = threading.Thread(target=self.process_request_thread, args=(request, address))
        thread.start()
        thread.join()  # the thread answered and gave its slot back
        raise KeyboardInterrupt

    monkeypatch.setattr(socketserver.ThreadingMixIn, "process_request", started_then_interrupted)
    with pytest.raises(KeyboardInterrupt):
        server.process_request(request, address)
    assert client.recv(100).startswith(b"HTTP/1.1 200")
    client.close()
    # every slot free, none given back twice (the semaphore is bounded)
    slots = [server.free_slots.acquire(blocking=False) for _ in range(server.max_connections + 1)]
    assert slots == [True] * server.max_connections + [False]
    server.server_close()


def test_revalidation_answers_304_until_the_file_changes(fetch: Fetch, site: Path) -> None:
    first = fetch("/bundle.js")
    etag = first.getheader("ETag")
    assert etag
    assert fetch("/bundle.js", {"If-None-Match": etag}).status == 304
    (site / "bundle.js").write_bytes(b"y" * 10)  # same size; a rebuild may also pin mtimes
    assert fetch("/bundle.js", {"If-None-Match": etag}).status == 200


def test_busy_port_message(site: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(LiteBuildError) as error:
            make_server(site, port=port)
    assert str(error.value) == f"port {port} on 127.0.0.1 is in use; choose another with --port"


def test_missing_site_message(tmp_path: Path) -> None:
    with pytest.raises(LiteBuildError) as error:
        make_server(tmp_path / "_output", port=0)
    assert str(error.value) == (
        f"the site folder {tmp_path / '_output'} does not exist; "
        "build the site first with `lite-build build`"
    )


class _Recorder(NullReporter):
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, message: str) -> None:
        self.lines.append(message)


def test_serve_forever_stops_cleanly_on_ctrl_c(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = make_server(site, port=0)
    port = server.server_port

    def interrupted(*_args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(server, "serve_forever", interrupted)
    reporter = _Recorder()
    serve_forever(server, cast(Reporter, reporter))  # cast: NullReporter vs the Protocol
    assert reporter.lines == [
        f"Serving {site} at http://127.0.0.1:{port}/ (press Ctrl+C to stop)",
        "Stopped.",
    ]
    make_server(site, port=port).server_close()  # the port was released


def test_quiet_by_default(fetch: Fetch, capfd: pytest.CaptureFixture[str]) -> None:
    fetch("/")
    fetch("/missing.js")
    assert capfd.readouterr().err == ""


def test_verbose_logs_each_request(site: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="lite_build"):
        for fetch in _start(make_server(site, port=0, verbose=True)):
            fetch("/missing.js")
    assert any('"GET /missing.js HTTP/1.1" 404' in message for message in caplog.messages)
