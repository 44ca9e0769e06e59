"""The stand-in for PyPI and the npm registry: a 127.0.0.1 HTTP server answering from the
frozen listing and the store, in the shapes lite-build and uv read.

PyPI: ``/simple/<project>/`` (the JSON simple API, PEP 691, with PEP 658 metadata files) and
``/files/<sha256>/<filename>``. npm: ``/npm/<package>``, ``/npm/<package>/<version>`` and
``/npm/<package>/-/<package>-<version>.tgz``.

Anything not pinned, or pinned but absent from the store, is a 404 whose body says what is
missing and the command that fixes it; the server also keeps that message in :attr:`misses`
so the test that asked fails with it (``tests/conftest.py``).
"""

from __future__ import annotations

import http.server
import json
import shutil
import threading
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from packaging.utils import canonicalize_name
from packaging.version import Version

from lite_build.cache import Digest
from tests.registry.listing import FrozenListing, PinnedFile
from tests.registry.store import FETCH_COMMAND, stored_path

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
#: projects named so are on no index: tests use them for packages only another source has (a
#: plain 404, not a miss)
NOT_ON_PYPI = "not-on-pypi-"
ADD_COMMAND = "python -m tests.registry add"
ADD_NPM_COMMAND = "python -m tests.registry add-npm"


class Missing(Exception):
    """A request the frozen listing or the store cannot answer; the message says the fix."""


class RegistryServer:
    """Serves ``listing`` from ``store`` on 127.0.0.1 (a free port) while in a ``with`` block."""

    def __init__(self, listing: FrozenListing, store: Path) -> None:
        self.listing = listing
        self.store = store
        #: what was asked for and could not be served, in order, each with its fix
        self.misses: list[str] = []
        self._lock = threading.Lock()
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def index_url(self) -> str:
        return f"{self.url}/simple/"

    @property
    def npm_url(self) -> str:
        return f"{self.url}/npm"

    def environment(self) -> dict[str, str]:
        """The variables that point lite-build and uv at this server."""
        return {
            "LITE_BUILD_INDEX_URL": self.index_url,
            "LITE_BUILD_NPM_REGISTRY": self.npm_url,
            # the Pyodide release's host: this stand-in has none of its files (a test that
            # needs one serves its own)
            "LITE_BUILD_PYODIDE_RELEASE_URL": f"{self.url}/pyodide-release/",
            # uv builds local projects: their build backends come from here too
            "UV_DEFAULT_INDEX": self.index_url,
            "UV_INDEX_URL": self.index_url,
        }

    def __enter__(self) -> RegistryServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def take_misses(self) -> list[str]:
        """The misses since the last call."""
        with self._lock:
            taken, self.misses = self.misses, []
        return taken

    def record_miss(self, message: str) -> None:
        with self._lock:
            self.misses.append(message)

    # -- answers (each returns content type and body, or a path to send, or raises Missing) --

    def answer(self, path: str) -> tuple[str, bytes | Path]:
        parts = [unquote(part) for part in urlsplit(path).path.split("/") if part]
        match parts:
            case ["simple"]:
                return SIMPLE_JSON, _json(self._project_list())
            case ["simple", project] if canonicalize_name(project).startswith(NOT_ON_PYPI):
                raise FileNotFoundError(path)
            case ["simple", project]:
                return SIMPLE_JSON, _json(self._project_page(project))
            case ["files", sha256, filename]:
                return "application/octet-stream", self._file(sha256, filename)
            case ["npm", package]:
                return "application/json", _json(self._packument(package))
            case ["npm", package, version]:
                return "application/json", _json(self._version(package, version))
            case ["npm", package, "-", tarball]:
                return "application/octet-stream", self._tarball(package, tarball)
            case ["pyodide-release", *_]:
                raise FileNotFoundError(path)  # a plain 404: see environment()
        raise Missing(f"the test registry serves nothing at {path}")

    def _project_list(self) -> dict[str, Any]:
        return {
            "meta": {"api-version": "1.1"},
            "projects": [{"name": name} for name in sorted(self.listing.projects)],
        }

    def _project_page(self, project: str) -> dict[str, Any]:
        files = self.listing.files(project)
        if files is None:
            raise Missing(
                f'the test registry has no project "{project}" (PyPI): pin the release the tests '
                f"need with `{ADD_COMMAND} {canonicalize_name(project)}==VERSION`, then run "
                f"`{FETCH_COMMAND}`"
            )
        return {
            "meta": {"api-version": "1.1"},
            "name": canonicalize_name(project),
            "versions": sorted({file.version for file in files}, key=Version),
            "files": [self._file_entry(file) for file in files],
        }

    def _file_entry(self, file: PinnedFile) -> dict[str, Any]:
        metadata: dict[str, str] | bool = (
            {"sha256": file.metadata_sha256} if file.metadata_sha256 else False
        )
        return {
            "filename": file.filename,
            "url": f"{self.url}/files/{file.sha256}/{file.filename}",
            "hashes": {"sha256": file.sha256},
            "requires-python": file.requires_python,
            "size": file.size,
            "yanked": file.yanked,
            "core-metadata": metadata,
            "data-dist-info-metadata": metadata,
        }

    def _file(self, sha256: str, filename: str) -> Path:
        name, is_metadata = filename, filename.endswith(".metadata")
        if is_metadata:
            name = filename.removesuffix(".metadata")
        project, pinned = self._pinned_file(sha256, name)
        if not pinned.stored:
            raise Missing(
                f"{name} is listed but not stored in the test registry: pin it stored with "
                f"`{ADD_COMMAND} --sdist {project}=={pinned.version}`, then run `{FETCH_COMMAND}`"
            )
        if is_metadata:
            if pinned.metadata_sha256 is None:
                # PEP 658: a client asks and falls back to the file itself; not a miss
                raise FileNotFoundError(filename)
            digest = Digest("sha256", pinned.metadata_sha256)
        else:
            digest = Digest("sha256", pinned.sha256)
        return self._stored(filename, digest)

    def _pinned_file(self, sha256: str, filename: str) -> tuple[str, PinnedFile]:
        for project, files in self.listing.projects.items():
            for file in files:
                if file.sha256 == sha256 and file.filename == filename:
                    return project, file
        raise Missing(
            f"the test registry has no file {filename} with sha256 {sha256}: pin its release "
            f"with `{ADD_COMMAND} NAME==VERSION`, then run `{FETCH_COMMAND}`"
        )

    def _stored(self, label: str, digest: Digest) -> Path:
        path = stored_path(self.store, digest)
        if not path.is_file():
            raise Missing(
                f"{label} is pinned but not in the test registry's store ({self.store}): run "
                f"`{FETCH_COMMAND}` (scripts/setup.sh does)"
            )
        return path

    def _npm_versions(self, package: str) -> dict[str, Any]:
        versions = self.listing.npm.get(package)
        if versions is None:
            raise Missing(
                f'the test registry has no npm package "{package}": pin the version the tests '
                f"need with `{ADD_NPM_COMMAND} {package}@VERSION`, then run `{FETCH_COMMAND}`"
            )
        return versions

    def _packument(self, package: str) -> dict[str, Any]:
        versions = self._npm_versions(package)
        return {
            "name": package,
            "versions": {version: self._version(package, version) for version in versions},
        }

    def _version(self, package: str, version: str) -> dict[str, Any]:
        tarball = self._npm_versions(package).get(version)
        if tarball is None:
            raise Missing(
                f'the test registry has no version {version} of the npm package "{package}": '
                f"pin it with `{ADD_NPM_COMMAND} {package}@{version}`, then run `{FETCH_COMMAND}`"
            )
        return {
            "name": package,
            "version": version,
            "dist": {
                "tarball": f"{self.npm_url}/{package}/-/{package}-{version}.tgz",
                "integrity": tarball.integrity,
            },
        }

    def _tarball(self, package: str, filename: str) -> Path:
        version = filename.removeprefix(f"{package}-").removesuffix(".tgz")
        tarball = self._npm_versions(package).get(version)
        if tarball is None:
            raise Missing(
                f"the test registry has no npm tarball {filename}: pin it with "
                f"`{ADD_NPM_COMMAND} {package}@{version}`, then run `{FETCH_COMMAND}`"
            )
        return self._stored(filename, Digest.from_sri(tarball.integrity))


def _json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True).encode()


def _handler_for(registry: RegistryServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._respond(send_body=True)

        def do_HEAD(self) -> None:
            self._respond(send_body=False)

        def _respond(self, *, send_body: bool) -> None:
            try:
                content_type, body = registry.answer(self.path)
            except Missing as missing:
                registry.record_miss(f"{self.command} {self.path}: {missing}")
                self._send(404, "text/plain; charset=utf-8", str(missing).encode(), send_body)
                return
            except FileNotFoundError:
                self._send(404, "text/plain; charset=utf-8", b"not found", send_body)
                return
            if isinstance(body, bytes):
                self._send(200, content_type, body, send_body)
                return
            with body.open("rb") as stream:
                self._send_headers(200, content_type, body.stat().st_size)
                if send_body:
                    shutil.copyfileobj(stream, self.wfile, 1 << 20)

        def _send(self, status: int, content_type: str, body: bytes, send_body: bool) -> None:
            self._send_headers(status, content_type, len(body))
            if send_body:
                self.wfile.write(body)

        def _send_headers(self, status: int, content_type: str, length: int) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(length))
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the misses are what matters, and they are kept

    return Handler
