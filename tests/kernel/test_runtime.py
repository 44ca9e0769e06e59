from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import socket
import tarfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal, cast

import pytest

from lite_build.errors import LiteBuildError
from lite_build.kernel.runtime import RUNTIME_FILES, PyodideRuntime, ensure_runtime
from lite_build.ui import Advance, NullReporter, Reporter

VERSION = "314.0.6"
LOCK = {
    "info": {
        "abi_version": "2026_0",
        "arch": "wasm32",
        "platform": "emscripten_5_0_3",
        "python": "3.14.2",
    },
    "packages": {},
}
MISSING_HINT = (
    "A Pyodide folder holds pyodide.mjs, pyodide.asm.mjs, pyodide.asm.wasm, python_stdlib.zip, "
    "pyodide-lock.json, as in the npm package `pyodide` or the pyodide/ folder of a Pyodide "
    "release tarball."
)
CONFIG_HINT = (
    "Set `version` in the [pyodide] table of lite-build.toml "
    "([tool.lite-build.pyodide] in pyproject.toml) to a published version."
)


def runtime_files(version: str = VERSION, *, package_json: bool = True) -> dict[str, bytes]:
    files = {name: f"fake {name}".encode() for name in RUNTIME_FILES}
    files["pyodide-lock.json"] = json.dumps(LOCK).encode()
    files["pyodide.mjs"] = f'var Y="{version}";function k(e){{return e}}'.encode()
    if package_json:
        files["package.json"] = json.dumps({"name": "pyodide", "version": version}).encode()
    return files


TarMode = Literal["w", "w:gz", "w:bz2"]


def make_tarball(path: Path, top: str, files: dict[str, bytes], mode: TarMode = "w:gz") -> Path:
    with tarfile.open(path, mode) as archive:
        for name, data in files.items():
            member = tarfile.TarInfo(f"{top}/{name}" if top else name)
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
    return path


def sri(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


class FakeRegistry:
    """An npm registry on 127.0.0.1 that serves fixed answers and records every request."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, bytes]] = {}
        self.requests: list[str] = []
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                registry.requests.append(self.path)
                status, body = registry.routes.get(self.path, (404, b'"Not Found"'))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def publish(self, tarball: bytes, version: str = VERSION, integrity: str | None = None) -> None:
        tarball_path = f"/pyodide/-/pyodide-{version}.tgz"
        dist = {"tarball": self.url + tarball_path, "integrity": integrity or sri(tarball)}
        self.routes[f"/pyodide/{version}"] = (200, json.dumps({"dist": dist}).encode())
        self.routes[tarball_path] = (200, tarball)

    def list_versions(self, versions: list[str]) -> None:
        body = {"name": "pyodide", "versions": {v: {} for v in versions}}
        self.routes["/pyodide"] = (200, json.dumps(body).encode())


@pytest.fixture
def registry() -> Iterator[FakeRegistry]:
    fake = FakeRegistry()
    thread = threading.Thread(target=fake.server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()
    thread.join()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("LITE_BUILD_CACHE_DIR", str(folder))
    for name in ("LITE_BUILD_NPM_REGISTRY", "npm_config_registry"):
        monkeypatch.delenv(name, raising=False)
    return folder


@pytest.fixture
def npm_tarball(tmp_path: Path) -> bytes:
    files = runtime_files()
    files["pyodide.d.ts"] = b"unused"
    return make_tarball(tmp_path / "pyodide.tgz", "package", files).read_bytes()


class RecordingReporter(NullReporter):
    def __init__(self) -> None:
        self.transfers: list[tuple[str, int | None]] = []

    @contextmanager
    def transfer(self, label: str, total: int | None) -> Iterator[Advance]:
        self.transfers.append((label, total))
        yield lambda _n: None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def cached(cache: Path) -> list[str]:
    folder = cache / "pyodide"
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def assert_runtime(runtime: PyodideRuntime, folder: Path, version: str = VERSION) -> None:
    assert runtime.version == version
    assert runtime.folder == folder
    assert runtime.lock == LOCK
    assert runtime.files == [folder / name for name in RUNTIME_FILES]
    assert all(path.is_file() for path in runtime.files)


# -- from the npm registry ----------------------------------------------------------------------


def test_first_fetch_fills_the_cache(
    cache: Path, registry: FakeRegistry, npm_tarball: bytes
) -> None:
    registry.publish(npm_tarball)
    reporter = RecordingReporter()
    runtime = ensure_runtime(VERSION, registry=registry.url, reporter=cast(Reporter, reporter))
    assert_runtime(runtime, cache / "pyodide" / VERSION)
    assert registry.requests == [f"/pyodide/{VERSION}", f"/pyodide/-/pyodide-{VERSION}.tgz"]
    assert reporter.transfers == [(f"Pyodide {VERSION}", len(npm_tarball))]
    # only the runtime (and its package.json) is kept: no tarball, no scratch folders
    assert cached(cache) == [VERSION]
    assert sorted(p.name for p in runtime.folder.iterdir()) == sorted(
        [*RUNTIME_FILES, "package.json", ".complete"]
    )


def test_second_call_uses_the_cache_without_network(
    cache: Path, registry: FakeRegistry, npm_tarball: bytes
) -> None:
    registry.publish(npm_tarball)
    first = ensure_runtime(VERSION, registry=registry.url)
    requests = len(registry.requests)
    second = ensure_runtime(VERSION, registry=f"http://127.0.0.1:{free_port()}")
    assert second == first
    assert len(registry.requests) == requests


def test_registry_from_the_environment(
    cache: Path, registry: FakeRegistry, npm_tarball: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry.publish(npm_tarball)
    monkeypatch.setenv("npm_config_registry", f"http://127.0.0.1:{free_port()}/")
    monkeypatch.setenv("LITE_BUILD_NPM_REGISTRY", registry.url + "/")
    ensure_runtime(VERSION)
    assert registry.requests[0] == f"/pyodide/{VERSION}"


def test_integrity_mismatch_leaves_nothing_in_the_cache(
    cache: Path, registry: FakeRegistry, npm_tarball: bytes
) -> None:
    registry.publish(npm_tarball, integrity=sri(b"something else"))
    with pytest.raises(LiteBuildError) as error:
        ensure_runtime(VERSION, registry=registry.url)
    assert "does not match its published sha512 hash" in str(error.value)
    assert cached(cache) == []


def test_a_plain_http_registry_or_tarball_elsewhere_is_refused(
    cache: Path, registry: FakeRegistry, npm_tarball: bytes
) -> None:
    with pytest.raises(LiteBuildError) as error:
        ensure_runtime(VERSION, registry="http://registry.example.org")
    assert str(error.value) == (
        "the npm registry (set by LITE_BUILD_NPM_REGISTRY): http://registry.example.org is not "
        "an https URL; lite-build downloads only over https (plain http only from this machine: "
        "127.0.0.1, localhost, ::1). Use the https address"
    )
    registry.publish(npm_tarball)
    dist = {"tarball": "http://cdn.example.org/pyodide.tgz", "integrity": sri(npm_tarball)}
    registry.routes[f"/pyodide/{VERSION}"] = (200, json.dumps({"dist": dist}).encode())
    with pytest.raises(LiteBuildError) as error:
        ensure_runtime(VERSION, registry=registry.url)
    assert str(error.value).startswith(
        f"the npm registry's tarball of Pyodide {VERSION}: http://cdn.example.org/pyodide.tgz "
        "is not an https URL"
    )
    assert registry.requests == [f"/pyodide/{VERSION}"]
    assert cached(cache) == []


def test_unknown_version_lists_recent_releases(cache: Path, registry: FakeRegistry) -> None:
    registry.list_versions(
        ["0.27.8", "314.0.0", "315.0.0-alpha.2", "314.0.6", "0.29.5", "0.1.0", "314.0.7", "junk"]
    )
    with pytest.raises(LiteBuildError) as error:
        ensure_runtime("9.9.9", registry=registry.url)
    assert str(error.value) == (
        f"Pyodide 9.9.9 is not published on the npm registry {registry.url}. "
        f"Recent versions: 314.0.7, 314.0.6, 314.0.0, 0.29.5, 0.27.8. {CONFIG_HINT}"
    )
    assert cached(cache) == []


def test_unknown_version_without_a_version_list(cache: Path, registry: FakeRegistry) -> None:
    with pytest.raises(LiteBuildError) as error:
        ensure_runtime("9.9.9", registry=registry.url)
    assert str(error.value) == (
        f"Pyodide 9.9.9 is not published on the npm registry {registry.url}. {CONFIG_HINT}"
    )


def test_unreachable_registry(cache: Path) -> None:
    registry = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(LiteBuildError) as error:
        ensure_runtime(VERSION, registry=registry)
    message = str(error.value)
    assert message.startswith(
        f"Pyodide {VERSION} is not in the cache ({cache / 'pyodide' / VERSION}) and the npm "
        f"registry {registry} could not be reached ("
    )
    assert message.endswith(
        "). Connect to the network once to fill the cache, or give a local Pyodide folder or "
        "tarball with --pyodide PATH."
    )


def test_version_that_is_not_a_folder_name(cache: Path) -> None:
    with pytest.raises(LiteBuildError) as error:
        ensure_runtime("../314", registry="http://127.0.0.1:9")
    assert str(error.value) == (
        "'../314' is not a Pyodide version. Set `version` in the [pyodide] table of "
        "lite-build.toml ([tool.lite-build.pyodide] in pyproject.toml)."
    )


def test_an_interrupted_install_is_not_trusted(
    cache: Path, registry: FakeRegistry, npm_tarball: bytes
) -> None:
    registry.publish(npm_tarball)
    partial = cache / "pyodide" / VERSION
    partial.mkdir(parents=True)
    (partial / "pyodide.mjs").write_text("half", encoding="utf-8")
    runtime = ensure_runtime(VERSION, registry=registry.url)
    assert_runtime(runtime, partial)
    assert len(registry.requests) == 2


# -- from a local folder or tarball -------------------------------------------------------------


def write_folder(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


@pytest.mark.parametrize("nested", [False, True])
def test_path_folder_is_used_in_place(cache: Path, tmp_path: Path, nested: bool) -> None:
    given = tmp_path / "dist"
    folder = write_folder(given / "pyodide" if nested else given, runtime_files())
    runtime = ensure_runtime(VERSION, path=given)
    assert_runtime(runtime, folder)
    assert not (cache / "pyodide").exists()


def test_path_version_wins_over_the_configured_one(
    cache: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = write_folder(tmp_path / "dist", runtime_files("314.0.7"))
    with caplog.at_level(logging.WARNING, logger="lite_build"):
        runtime = ensure_runtime(VERSION, path=folder)
    assert runtime.version == "314.0.7"
    assert caplog.messages == [
        f"{folder} holds Pyodide 314.0.7, not the configured {VERSION}; using 314.0.7"
    ]


def test_path_version_read_from_the_loader(cache: Path, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "dist", runtime_files("314.0.7", package_json=False))
    assert ensure_runtime(VERSION, path=folder).version == "314.0.7"


@pytest.mark.parametrize(
    ("top", "mode", "suffix"), [("pyodide", "w:bz2", ".tar.bz2"), ("package", "w:gz", ".tgz")]
)
def test_path_tarball_is_unpacked_into_the_cache(
    cache: Path, tmp_path: Path, top: str, mode: TarMode, suffix: str
) -> None:
    files = runtime_files()
    files["numpy-2.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl"] = b"not shipped"
    tarball = make_tarball(tmp_path / f"pyodide{suffix}", top, files, mode)
    folder = cache / "pyodide" / f"sha256-{hashlib.sha256(tarball.read_bytes()).hexdigest()}"
    runtime = ensure_runtime(VERSION, path=tarball)
    assert_runtime(runtime, folder)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [*RUNTIME_FILES, "package.json", ".complete"]
    )
    assert ensure_runtime(VERSION, path=tarball) == runtime


def test_path_tarball_cannot_write_outside_the_cache(cache: Path, tmp_path: Path) -> None:
    tarball = tmp_path / "evil.tar"
    make_tarball(tarball, "package", runtime_files(), mode="w")
    with tarfile.open(tarball, "a") as archive:
        for name in ["../escape.txt", "package/../../escape.txt", str(tmp_path / "escape.txt")]:
            member = tarfile.TarInfo(name)
            member.size = 4
            archive.addfile(member, io.BytesIO(b"evil"))
        link = tarfile.TarInfo("package/python_stdlib.zip")  # later than the real file
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        archive.addfile(link)
    runtime = ensure_runtime(VERSION, path=tarball)
    assert (runtime.folder / "python_stdlib.zip").read_bytes() == b"fake python_stdlib.zip"
    assert not (runtime.folder / "python_stdlib.zip").is_symlink()
    assert not list(tmp_path.rglob("escape.txt"))


def test_path_folder_with_missing_files(cache: Path, tmp_path: Path) -> None:
    files = runtime_files()
    del files["pyodide.asm.wasm"], files["python_stdlib.zip"]
    folder = write_folder(tmp_path / "dist" / "pyodide", files)
    with pytest.raises(LiteBuildError) as error:
        ensure_runtime(VERSION, path=folder.parent)
    assert str(error.value) == (
        f"{folder} is not a complete Pyodide runtime: missing pyodide.asm.wasm, "
        f"python_stdlib.zip. {MISSING_HINT}"
    )


def test_path_tarball_with_missing_files(cache: Path, tmp_path: Path) -> None:
    files = runtime_files()
    del files["pyodide-lock.json"]
    tarball = make_tarball(tmp_path / "pyodide.tgz", "package", files)
    with pytest.raises(LiteBuildError) as error:
        ensure_runtime(VERSION, path=tarball)
    assert str(error.value) == (
        f"{tarball} is not a complete Pyodide runtime: missing pyodide-lock.json. {MISSING_HINT}"
    )
    assert cached(cache) == []


def test_path_that_does_not_exist(cache: Path, tmp_path: Path) -> None:
    with pytest.raises(LiteBuildError) as error:
        ensure_runtime(VERSION, path=tmp_path / "nowhere")
    assert str(error.value) == f"the Pyodide path {tmp_path / 'nowhere'} does not exist"


def test_path_with_an_invalid_lock(cache: Path, tmp_path: Path) -> None:
    files = runtime_files()
    files["pyodide-lock.json"] = json.dumps({"info": {"python": "3.14.2"}}).encode()
    folder = write_folder(tmp_path / "dist", files)
    with pytest.raises(LiteBuildError) as error:
        ensure_runtime(VERSION, path=folder)
    assert str(error.value) == (
        f"{folder / 'pyodide-lock.json'} is not a valid pyodide-lock.json: "
        "it has no info.abi_version, packages"
    )


# -- the real package --------------------------------------------------------------------------


@pytest.mark.integration
def test_real_pyodide_from_npm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real npm tarball, from the session's registry (tests/registry), into an empty cache."""
    monkeypatch.setenv("LITE_BUILD_CACHE_DIR", str(tmp_path / "cache"))
    runtime = ensure_runtime(VERSION)
    assert runtime.version == VERSION
    assert runtime.lock["info"]["abi_version"] == "2026_0"
    assert all(path.is_file() for path in runtime.files)
    assert (runtime.folder / "pyodide.asm.wasm").read_bytes()[:4] == b"\0asm"
