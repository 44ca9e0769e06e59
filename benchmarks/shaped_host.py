"""A static host for the benchmark: compresses as common hosts do, over one shaped link.

- Compression: text, JavaScript, JSON, wasm and SVG go gzip-compressed when the browser accepts
  it (GitHub Pages, Netlify and most CDNs do so on the fly); everything else (wheels, zips, the
  kernel image: ``application/octet-stream``) goes as it is. The ``.gz`` copies a site ships are
  ignored, as those hosts ignore them. Compressed bodies are kept in memory, so the host's own
  CPU is not in the figures.
- Caching: ``Cache-Control: max-age=600`` and an ETag (GitHub Pages' policy).
- The link: one token bucket for the bandwidth, shared by every connection (what a classroom's
  line or a phone's link is), and one round trip of latency per request before its response
  starts. A loopback profile has neither.

Written with the standard library (asyncio): the shaping must see every chunk of every
connection, which no off-the-shelf server offers, and it stays about a hundred lines.
"""

from __future__ import annotations

import asyncio
import gzip
import mimetypes
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

CHUNK = 16 * 1024
COMPRESSED_TYPES = ("text/", "application/javascript", "application/json", "application/wasm",
                    "image/svg+xml", "application/manifest+json")  # fmt: skip
TYPES = {
    ".js": "application/javascript",
    ".mjs": "application/javascript",
    ".json": "application/json",
    ".ipynb": "application/json",
    ".wasm": "application/wasm",
    ".webmanifest": "application/manifest+json",
}


@dataclass(frozen=True)
class Profile:
    name: str
    #: bits per second; 0: unlimited
    bandwidth: float
    #: seconds of latency per request (one round trip)
    rtt: float


#: the host name of the shaped profiles: a site served over a network, not from this computer
#: (lite-build's kernels decide by the host whether a first visit fetches the snapshot); the
#: browser maps it to 127.0.0.1 (:func:`browser_args`)
NETWORK_NAME = "lite-build.test"

PROFILES = (
    Profile("loopback", 0, 0),
    Profile("20 Mbit/s, 40 ms", 20e6, 0.040),
    Profile("5 Mbit/s, 60 ms", 5e6, 0.060),
)


class Link:
    """One shared link: each chunk waits for its turn on the wire (a token bucket of one chunk)."""

    def __init__(self) -> None:
        self.profile = PROFILES[0]
        self.free_at = 0.0
        self.sent = 0

    async def send(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        for start in range(0, len(data), CHUNK):
            chunk = data[start : start + CHUNK]
            if self.profile.bandwidth:
                now = time.monotonic()
                self.free_at = max(now, self.free_at) + len(chunk) * 8 / self.profile.bandwidth
                await asyncio.sleep(self.free_at - now)
            writer.write(chunk)
            self.sent += len(chunk)
            await writer.drain()


class ShapedHost:
    """Serves ``folder`` on 127.0.0.1 from a thread of its own; ``link.profile`` shapes it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder.resolve()
        self.link = Link()
        self._bodies: dict[tuple[Path, bool], tuple[bytes, str]] = {}
        #: (time.monotonic(), request target, status, body bytes), in order
        self.requests: list[tuple[float, str, str, int]] = []
        # compressed up front, as a host's cache would hold them: no first-request delay
        for path in sorted(self.folder.rglob("*")):
            if path.is_file() and not path.name.endswith((".gz", ".br")):
                self._body(path, gzip_ok=True)
        self._loop = asyncio.new_event_loop()
        started = threading.Event()
        threading.Thread(target=self._run, args=(started,), daemon=True).start()
        started.wait()
        self.url = f"http://127.0.0.1:{self._port}/"

    def url_for(self, profile: Profile, *, local: bool = False) -> str:
        """The site's URL on ``profile``: 127.0.0.1 for loopback (a site served from this
        computer, as the bundle's start.py does) or when ``local``; else the network name."""
        if local or not profile.bandwidth:
            return self.url
        return f"{self.origin}/"

    @property
    def origin(self) -> str:
        """The site's origin under the network name."""
        return f"http://{NETWORK_NAME}:{self._port}"

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self._port = server.sockets[0].getsockname()[1]
        started.set()
        self._loop.run_forever()

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)

    def _file(self, target: str) -> Path | None:
        path = (self.folder / unquote(urlsplit(target).path).lstrip("/")).resolve()
        if path.is_dir():
            path = path / "index.html"
        return path if path.is_relative_to(self.folder) and path.is_file() else None

    def _body(self, path: Path, gzip_ok: bool) -> tuple[bytes, str, bool]:
        kind = TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
        kind = kind or "application/octet-stream"
        compress = gzip_ok and kind.startswith(COMPRESSED_TYPES)
        if (path, compress) not in self._bodies:
            data = path.read_bytes()
            self._bodies[path, compress] = (gzip.compress(data, 6) if compress else data, kind)
        body, kind = self._bodies[path, compress]
        return body, kind, compress

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                method, target, _ = head[0].split(" ", 2)
                headers = {
                    k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:])
                }
                if self.link.profile.rtt:
                    await asyncio.sleep(self.link.profile.rtt)
                await self._respond(writer, method, target, headers)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _respond(
        self, writer: asyncio.StreamWriter, method: str, target: str, headers: dict[str, str]
    ) -> None:
        path = self._file(target)
        if path is None:
            status, lines, body = "404 Not Found", ["Content-Type: text/plain"], b"not found"
        else:
            stat = path.stat()
            etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
            gzip_ok = "gzip" in headers.get("accept-encoding", "")
            body, kind, compressed = self._body(path, gzip_ok)
            lines = [f"Content-Type: {kind}", f"ETag: {etag}", "Cache-Control: max-age=600"]
            lines += ["Content-Encoding: gzip", "Vary: Accept-Encoding"] if compressed else []
            status = "200 OK"
            if headers.get("if-none-match") == etag:
                status, body = "304 Not Modified", b""
        body_out = b"" if method == "HEAD" else body
        self.requests.append((time.monotonic(), target, status[:3], len(body_out)))
        head = f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n" + "\r\n".join(lines)
        await self.link.send(writer, (head + "\r\n\r\n").encode("latin-1") + body_out)


def browser_args(hosts: list[ShapedHost]) -> list[str]:
    """Chromium flags that reach ``hosts`` under the network name too, as secure contexts (an
    https host would be one; service workers need it)."""
    origins = ",".join(host.origin for host in hosts)
    return [
        f"--host-resolver-rules=MAP {NETWORK_NAME} 127.0.0.1",
        f"--unsafely-treat-insecure-origin-as-secure={origins}",
    ]
