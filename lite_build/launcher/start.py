#!/usr/bin/env python3
"""Start this course site: serve the ``site`` folder next to this file on this computer only
(127.0.0.1) and open it in the default browser.

Needs nothing but Python 3 (standard library only). Writes nothing anywhere, so it runs from a
read-only USB stick. Browsers refuse to run the site from ``file://``; this is the small web
server they need.

    python3 start.py [--port N] [--no-browser]

The port is the same every time (derived from the site's title), because the browser keeps the
students' notebooks per address: another port would show an empty file browser.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import signal
import socket
import sys
import threading
import urllib.request
import webbrowser
import zlib
from collections.abc import Callable, Sequence
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

HOST = "127.0.0.1"
SITE_FOLDER = "site"
#: the preferred port is picked from this range by the site's title
PORT_BASE = 8100
PORT_SPAN = 800
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".py": "text/x-python; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".ipynb": "application/json",
    ".webmanifest": "application/manifest+json",
    ".wasm": "application/wasm",
    ".whl": "application/zip",
    ".zip": "application/zip",
    ".gz": "application/gzip",
    ".tar": "application/x-tar",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".ico": "image/vnd.microsoft.icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".eot": "application/vnd.ms-fontobject",
}
DEFAULT_MEDIA_TYPE = "application/octet-stream"
#: in a site: the files the build wrote a ``.gz`` sibling for, one path a line (a ``.gz`` the
#: author put next to a file is theirs, and is never sent in the file's place)
PRECOMPRESSED_LIST = "lite-build-gzip.txt"
#: connections answered at once (one thread each); more wait their turn. A browser opens
#: about 6 per site
MAX_CONNECTIONS = 32
#: headers of the site's ``_headers`` file this server honours (cross-origin isolation)
HONOURED_HEADERS = (
    "cross-origin-opener-policy",
    "cross-origin-embedder-policy",
    "cross-origin-resource-policy",
)


def media_type(name: str) -> str:
    return MEDIA_TYPES.get(os.path.splitext(name)[1].lower(), DEFAULT_MEDIA_TYPE)


def preferred_port(title: str) -> int:
    """The port this site always asks for first: the same for the same title, and different
    courses on one computer usually get different ports (so their notebooks stay apart)."""
    return PORT_BASE + zlib.crc32(title.encode("utf-8")) % PORT_SPAN


def site_title(site: Path) -> str:
    try:
        manifest = json.loads((site / "lite-build.json").read_text(encoding="utf-8"))
        return str(manifest.get("title") or "")
    except (OSError, ValueError, AttributeError):
        return ""


def site_headers(headers_text: str) -> list[tuple[str, str]]:
    """The headers the ``/*`` rule of a ``_headers`` file gives that this server honours."""
    found = []
    applies = False
    for line in headers_text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[:1].isspace():
            applies = line.strip() == "/*"
            continue
        name, sep, value = line.strip().partition(":")
        if applies and sep and name.strip().lower() in HONOURED_HEADERS:
            found.append((name.strip(), value.strip()))
    return found


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an ``Accept-Encoding`` header accepts gzip (``q=0`` refuses it)."""
    for item in accept_encoding.split(","):
        coding, _, params = item.partition(";")
        if coding.strip().lower() in ("gzip", "*"):
            quality = params.strip().removeprefix("q=").strip()
            try:
                return not quality or float(quality) > 0
            except ValueError:
                return False
    return False


class SiteHandler(SimpleHTTPRequestHandler):
    """Serves one built site: its media types whatever the operating system's database says,
    precompressed ``.gz`` siblings to browsers that accept gzip, ETags, never a folder listing,
    and ``Cache-Control: no-cache`` so that a rebuilt site shows on reload.

    The one handler of lite-build: ``lite-build serve`` builds on it (lite_build/serve.py).
    Use :func:`handler_for` to bind it to a site.
    """

    protocol_version = "HTTP/1.1"  # keep-alive: a site is many small files
    timeout = 30  # seconds an idle keep-alive connection holds its thread
    #: sent with every response (cross-origin isolation)
    extra_headers: Sequence[tuple[str, str]] = ()
    #: where each request is logged (None: quiet, as a classroom terminal should be)
    request_log: Callable[[str], None] | None = None

    def send_head(self) -> BinaryIO | None:
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            url = urlsplit(self.path)
            if not url.path.endswith("/"):
                self.send_response(HTTPStatus.MOVED_PERMANENTLY)
                self.send_header("Location", folder_location(self.path))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            path = path / "index.html"  # never a listing
        if not path.is_file() or not self._in_site(path):
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
        headers = {"Content-Type": media_type(path.name)}
        compressed = path.with_name(path.name + ".gz")
        if compressed.is_file() and self._in_site(compressed) and self._precompressed(path):
            headers["Vary"] = "Accept-Encoding"
            if accepts_gzip(self.headers.get("Accept-Encoding", "")):
                path = compressed
                headers["Content-Encoding"] = "gzip"
        try:
            stream = path.open("rb")
        except (OSError, ValueError):
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
        stat = os.fstat(stream.fileno())
        # ctime and inode change whenever a file is rewritten, even when a reproducible build
        # pins mtimes (SOURCE_DATE_EPOCH); Last-Modified alone would then miss a rebuild
        headers["ETag"] = (
            f'"{stat.st_ino:x}-{stat.st_size:x}-{stat.st_mtime_ns:x}-{stat.st_ctime_ns:x}"'
        )
        if etag_matches(self.headers.get("If-None-Match", ""), headers["ETag"]):
            stream.close()
            self.send_response(HTTPStatus.NOT_MODIFIED)
            for name in ("ETag", "Vary"):
                if name in headers:
                    self.send_header(name, headers[name])
            self.end_headers()
            return None
        self.send_response(HTTPStatus.OK)
        headers["Content-Length"] = str(stat.st_size)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        return stream

    def _in_site(self, path: Path) -> bool:
        """Whether ``path``, its links followed, is in the site (a link may point anywhere)."""
        root = os.path.realpath(self.directory)
        return os.path.realpath(path).startswith(root.rstrip(os.sep) + os.sep)

    def _precompressed(self, path: Path) -> bool:
        """Whether the build wrote ``path``'s ``.gz`` sibling (see PRECOMPRESSED_LIST)."""
        try:
            listed = Path(self.directory, PRECOMPRESSED_LIST).read_text(encoding="utf-8")
        except OSError:
            return False
        return Path(path).relative_to(self.directory).as_posix() in listed.splitlines()

    def list_directory(self, path: Any) -> None:
        self.send_error(HTTPStatus.NOT_FOUND, "File not found")

    def end_headers(self) -> None:
        # revalidate everything, so a rebuilt site shows on reload
        self.send_header("Cache-Control", "no-cache")
        for name, value in self.extra_headers:
            self.send_header(name, value)
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        if self.request_log is not None:
            self.request_log(f"{self.address_string()} {format % args}")


def handler_for(
    site: Path,
    extra_headers: Sequence[tuple[str, str]] = (),
    request_log: Callable[[str], None] | None = None,
) -> Callable[..., SiteHandler]:
    """A request handler factory serving ``site``, for an ``http.server`` server."""
    handler = type(
        "BoundSiteHandler",
        (SiteHandler,),
        {
            "extra_headers": tuple(extra_headers),
            "request_log": staticmethod(request_log) if request_log else None,
        },
    )

    def factory(*args: Any, **kwargs: Any) -> SiteHandler:
        return handler(*args, directory=str(site), **kwargs)  # type: ignore[no-any-return]

    return factory


def folder_location(request_path: str) -> str:
    """Where a request for a folder without its final ``/`` is sent: always a path on this
    site (``//host/x`` or ``/\\host/x`` would be another site's address to a browser; not
    parsed as a URL, which would take ``host`` for a server)."""
    path, mark, query = request_path.partition("?")
    return "/" + path.lstrip("/\\") + "/" + mark + query


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag`` (weakly) or is ``*``."""
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return etag in tags or "*" in tags


def exclusive_port(platform: str) -> bool:
    """Whether the server must claim its port alone: on Windows, SO_REUSEADDR (http.server's
    default) lets a second server bind a port in use, so a second launcher would not notice
    the first; SO_EXCLUSIVEADDRUSE refuses it instead."""
    return platform == "win32"


class LimitedServer(ThreadingHTTPServer):
    """A threaded server answering at most ``max_connections`` connections at once, that
    claims its port alone on every system. ``lite-build serve``'s server builds on it too."""

    daemon_threads = True
    max_connections = MAX_CONNECTIONS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.free_slots = threading.BoundedSemaphore(self.max_connections)
        # the connections holding a slot: each gives it back once, whoever gives it first
        self.holding: set[Any] = set()
        self.holding_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def server_bind(self) -> None:
        if exclusive_port(sys.platform):
            self.allow_reuse_address = False
            # Windows' own option: the socket module of other systems lacks it
            exclusive = getattr(socket, "SO_EXCLUSIVEADDRUSE")  # noqa: B009
            self.socket.setsockopt(socket.SOL_SOCKET, exclusive, 1)
        super().server_bind()

    def process_request(self, request: Any, client_address: Any) -> None:
        self.free_slots.acquire()  # the next connection waits in the listen queue
        with self.holding_lock:
            self.holding.add(request)
        try:
            super().process_request(request, client_address)
        except BaseException:
            # Ctrl+C may come while the connection's thread starts, so that thread may run and
            # give the slot back too. Giving it back twice raised ValueError, an Exception that
            # socketserver hands to handle_error, which keeps quiet: the KeyboardInterrupt was
            # lost and start.py went on serving (1 stop in 5 on a loaded machine)
            self.give_back(request)
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.give_back(request)

    def give_back(self, request: Any) -> None:
        """The slot of ``request``'s connection free again (once, however often called)."""
        with self.holding_lock:
            if request not in self.holding:
                return
            self.holding.discard(request)
        self.free_slots.release()


class Server(LimitedServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a browser closing a connection mid-transfer


def make_server(site: Path, port: int) -> Server:
    headers_file = site / "_headers"
    extra = site_headers(headers_file.read_text(encoding="utf-8")) if headers_file.is_file() else []
    return Server((HOST, port), handler_for(site, extra))


def already_serving(site: Path, port: int) -> bool:
    """Whether this same site already answers on ``port`` (started twice)."""
    # straight to this computer: an http_proxy setting would send the question elsewhere
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with direct.open(f"http://{HOST}:{port}/lite-build.json", timeout=2) as reply:
            return bool(reply.read() == (site / "lite-build.json").read_bytes())
    except (OSError, ValueError):
        return False


def stop_on_signals() -> None:
    """Stop on Ctrl+C and on a polite ``kill`` (SIGTERM), however this process was started.

    A program started in the background of a script inherits an *ignored* Ctrl+C, and Python
    keeps it ignored; the launcher is meant to be stopped with Ctrl+C, so it asks for it.
    """

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, stop)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve this course site and open it.")
    parser.add_argument("--port", type=int, help="port to use (default: this site's own port)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    args = parser.parse_args(argv)
    sys.dont_write_bytecode = True  # never write __pycache__ next to this file
    stop_on_signals()
    site = Path(__file__).resolve().parent / SITE_FOLDER
    if not (site / "index.html").is_file():
        print(f"error: no site in {site}; keep start.py next to its 'site' folder", file=sys.stderr)
        return 1
    preferred = args.port if args.port is not None else preferred_port(site_title(site))
    try:
        server = make_server(site, preferred)
    except OSError as error:
        if error.errno not in (errno.EADDRINUSE, errno.EACCES, getattr(errno, "WSAEADDRINUSE", -1)):
            raise
        url = f"http://{HOST}:{preferred}/"
        if already_serving(site, preferred):
            print(f"This site is already running at {url}")
            if not args.no_browser:
                webbrowser.open(url)
            return 0
        if args.port is not None:
            print(f"error: port {preferred} is in use; choose another with --port", file=sys.stderr)
            return 1
        server = make_server(site, 0)
        print(
            f"Port {preferred} is in use, so this time the site runs on port "
            f"{server.server_address[1]}. Work saved in the browser belongs to the address: "
            f"close the other program and start again to see earlier work."
        )
    url = f"http://{HOST}:{server.server_address[1]}/"
    print(f"Serving the course at {url}")
    print("Keep this window open while you work; press Ctrl+C to stop.", flush=True)
    if not args.no_browser:
        threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("Stopped.")
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
