"""A small static file server for a built site (classrooms, USB sticks, development).

Browsers refuse to run a JupyterLite site from ``file://``, so even an offline copy needs a
loopback HTTP server. This one knows the media types a site needs whatever the operating
system's database says, serves precompressed ``.gz`` siblings, and asks browsers to revalidate
every file so a rebuilt site is picked up on reload.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit, urlunsplit

from lite_build.errors import LiteBuildError
from lite_build.ui import NullReporter, Reporter

log = logging.getLogger("lite_build")

DEFAULT_PORT = 8000
#: media types by file suffix; the operating system's mimetypes database is not consulted
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
#: what ``isolated=True`` adds: a cross-origin isolated page gets SharedArrayBuffer
ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
}
#: browsers allow service workers (which input() needs) only on these hosts over plain HTTP
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
#: seconds an idle keep-alive connection holds its thread
IDLE_TIMEOUT = 30.0


def media_type(name: str) -> str:
    """The Content-Type for a file name."""
    return MEDIA_TYPES.get(Path(name).suffix.lower(), DEFAULT_MEDIA_TYPE)


class SiteServer(ThreadingHTTPServer):
    """Serves one built site folder; see :func:`make_server`."""

    def __init__(self, address: tuple[str, int], site: Path, isolated: bool, verbose: bool) -> None:
        self.site = site
        self.host = address[0]
        self.isolated = isolated
        self.verbose = verbose
        super().__init__(address, partial(SiteRequestHandler, directory=str(site)))

    @property
    def url(self) -> str:
        """The address to open in a browser."""
        host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.server_port}/"

    def handle_error(self, request: Any, client_address: Any) -> None:
        # mostly a browser closing a connection mid-transfer: expected, not worth a traceback
        log.debug("error while answering %s", client_address, exc_info=True)


class _SiteServerIPv6(SiteServer):
    address_family = socket.AF_INET6


class SiteRequestHandler(SimpleHTTPRequestHandler):
    server: SiteServer
    #: keep-alive: a site is many small files
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT

    def send_head(self) -> BinaryIO | None:
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            url = urlsplit(self.path)
            if not url.path.endswith("/"):
                self.send_response(HTTPStatus.MOVED_PERMANENTLY)
                self.send_header("Location", urlunsplit(url._replace(path=url.path + "/")))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            path = path / "index.html"  # never a listing
        if not path.is_file():
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
        headers = {"Content-Type": media_type(path.name)}
        compressed = path.with_name(path.name + ".gz")
        if compressed.is_file():
            headers["Vary"] = "Accept-Encoding"
            if _accepts_gzip(self.headers.get("Accept-Encoding", "")):
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
        if _matches(self.headers.get("If-None-Match", ""), headers["ETag"]):
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

    def list_directory(self, path: str | os.PathLike[str]) -> None:
        self.send_error(HTTPStatus.NOT_FOUND, "File not found")

    def end_headers(self) -> None:
        # a dev and classroom server: revalidate everything, so a rebuild shows on reload
        self.send_header("Cache-Control", "no-cache")
        if self.server.isolated:
            for name, value in ISOLATION_HEADERS.items():
                self.send_header(name, value)
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            log.info("%s %s", self.address_string(), format % args)

    def log_error(self, format: str, *args: Any) -> None:
        self.log_message(format, *args)


def _accepts_gzip(accept_encoding: str) -> bool:
    for item in accept_encoding.split(","):
        coding, _, params = item.partition(";")
        if coding.strip().lower() in {"gzip", "*"}:
            quality = params.strip().removeprefix("q=").strip()
            try:
                return not quality or float(quality) > 0
            except ValueError:
                return False
    return False


def _matches(if_none_match: str, etag: str) -> bool:
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return etag in tags or "*" in tags


def make_server(
    site: Path,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    isolated: bool = False,
    verbose: bool = False,
) -> SiteServer:
    """A server for the built ``site``, bound but not yet serving. ``port=0`` picks a free port.

    ``isolated`` adds the cross-origin isolation headers (COOP, COEP, CORP) to every response;
    ``verbose`` logs each request to the ``lite_build`` logger.
    """
    site = Path(site).resolve()
    if not site.is_dir():
        raise LiteBuildError(
            f"the site folder {site} does not exist; build the site first with `lite-build build`"
        )
    server_class = _SiteServerIPv6 if ":" in host else SiteServer
    try:
        return server_class((host, port), site, isolated, verbose)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise LiteBuildError(
                f"port {port} on {host} is in use; choose another with --port"
            ) from error
        if error.errno == errno.EACCES:
            raise LiteBuildError(
                f"port {port} on {host} needs administrator rights; choose a port above 1023 "
                "with --port"
            ) from error
        raise LiteBuildError(
            f"cannot serve on {host} port {port}: {error.strerror or error}; "
            "check --host (127.0.0.1 serves only this computer, 0.0.0.0 every network)"
        ) from error


def serve_forever(server: SiteServer, reporter: Reporter | None = None) -> None:
    """Serve until Ctrl+C, then release the port."""
    info = (reporter or NullReporter()).info
    info(f"Serving {server.site} at {server.url} (press Ctrl+C to stop)")
    if server.host not in LOOPBACK_HOSTS:
        info(
            "Other computers reach this server over plain HTTP, where browsers disable "
            "service workers: notebooks run, but input() and other features that need a "
            "service worker do not work there."
        )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        info("Stopped.")
    finally:
        server.server_close()
