"""The per-user download cache and hash-checked downloads.

Everything fetched from the network (the Pyodide runtime, wheels) lands here first, named by
content, so later builds need no network. ``LITE_BUILD_CACHE_DIR`` moves the cache.
"""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlparse

import httpx
import platformdirs

from lite_build.errors import LiteBuildError
from lite_build.ui import NullReporter, Reporter

CACHE_ENV_VAR = "LITE_BUILD_CACHE_DIR"
#: generous: the first download of the runtime is ~13 MB from a registry
TIMEOUT = httpx.Timeout(60.0, connect=20.0)
USER_AGENT = "lite-build"


def cache_dir() -> Path:
    """The cache folder: ``$LITE_BUILD_CACHE_DIR`` or the platform's user cache folder."""
    configured = os.environ.get(CACHE_ENV_VAR)
    path = Path(configured) if configured else Path(platformdirs.user_cache_dir("lite-build"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class Digest:
    """An expected hash: ``algorithm`` is a :mod:`hashlib` name, ``value`` its hex digest."""

    algorithm: str
    value: str

    @classmethod
    def from_sri(cls, integrity: str) -> Digest:
        """Parse a Subresource Integrity string such as npm's ``sha512-<base64>``."""
        algorithm, _, encoded = integrity.partition("-")
        if algorithm not in {"sha256", "sha384", "sha512"} or not encoded:
            raise LiteBuildError(f"unsupported integrity value {integrity!r}")
        return cls(algorithm, base64.b64decode(encoded).hex())

    def of_file(self, path: Path) -> str:
        hasher = hashlib.new(self.algorithm)
        with path.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                hasher.update(block)
        return hasher.hexdigest()

    def matches(self, path: Path) -> bool:
        return self.of_file(path) == self.value


def sha256_of(path: Path) -> str:
    return Digest("sha256", "").of_file(path)


#: the hosts plain http is accepted for: this machine (a local mirror, the tests' stand-in)
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def check_remote_url(url: str, *, source: str) -> str:
    """``url`` if it is https, or http to this machine; otherwise an error naming ``source``
    (a plain-http download can be changed on the way, and a lock or catalogue from it with it)."""
    parsed = urlparse(url)
    if parsed.scheme == "https" or (parsed.scheme == "http" and parsed.hostname in LOOPBACK_HOSTS):
        return url
    raise LiteBuildError(
        f"{source}: {url} is not an https URL; lite-build downloads only over https (plain "
        "http only from this machine: 127.0.0.1, localhost, ::1). Use the https address"
    )


def _refuse_plain_http(request: httpx.Request) -> None:
    check_remote_url(str(request.url), source="refusing to download")


def _refuse_downgrade(response: httpx.Response) -> None:
    """An https answer redirecting to http is refused, even to this machine."""
    location = response.headers.get("location")
    if not response.is_redirect or not location or response.url.scheme != "https":
        return
    target = urljoin(str(response.url), location)
    if urlparse(target).scheme != "https":
        raise LiteBuildError(
            f"{response.url} redirects to {target}, which is not https; lite-build does not "
            "follow a redirect from https to plain http. Use the final https address"
        )


def http_client(transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """One client with the settings every lite-build request uses (honours SSL_CERT_FILE):
    https only (plain http to this machine), and no redirect from https to http.
    ``transport``: for tests."""
    return httpx.Client(
        timeout=TIMEOUT,
        follow_redirects=True,
        headers={"User-Agent": USER_AGENT},
        trust_env=True,
        event_hooks={"request": [_refuse_plain_http], "response": [_refuse_downgrade]},
        transport=transport,
    )


def download(
    url: str,
    dest: Path,
    expected: Digest,
    *,
    label: str,
    client: httpx.Client | None = None,
    reporter: Reporter | None = None,
) -> Path:
    """Download ``url`` to ``dest`` unless a file with the expected hash is already there.

    The file is written next to ``dest`` and renamed into place only after its hash matched,
    so the cache never holds a partial or wrong file.
    """
    if dest.exists() and expected.matches(dest):
        return dest
    reporter = reporter or NullReporter()
    dest.parent.mkdir(parents=True, exist_ok=True)
    own_client = client is None
    client = client or http_client()
    hasher = hashlib.new(expected.algorithm)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, client.stream("GET", url) as response:
            if response.status_code != 200:
                raise LiteBuildError(
                    f"{label}: downloading {url} failed: HTTP {response.status_code}"
                )
            length = response.headers.get("content-length")
            with reporter.transfer(label, int(length) if length else None) as advance:
                for chunk in response.iter_bytes(1 << 16):
                    out.write(chunk)
                    hasher.update(chunk)
                    advance(len(chunk))
        actual = hasher.hexdigest()
        if actual != expected.value:
            raise LiteBuildError(
                f"{label}: the file downloaded from {url} does not match its published "
                f"{expected.algorithm} hash (expected {expected.value}, got {actual}); "
                "nothing was written. Retry; if it persists, the source is serving a "
                "different file."
            )
        os.replace(tmp, dest)
    except httpx.HTTPError as error:
        raise LiteBuildError(
            f"{label}: could not download {url}: {error}. Check the network connection, "
            "or build from a warm cache."
        ) from error
    finally:
        tmp.unlink(missing_ok=True)
        if own_client:
            client.close()
    return dest
