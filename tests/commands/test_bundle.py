"""The bundle zip and its launcher, start.py (no browser; a tiny fake site)."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lite_build.commands.bundle import default_bundle_path, launcher, make_bundle
from lite_build.errors import LiteBuildError

start = launcher()


def system_python() -> list[str]:
    """A plain Python 3 outside the project's environment, isolated from it (-I, empty env)."""
    if Path("/usr/bin/python3").exists():
        return ["/usr/bin/python3", "-I"]
    return [shutil.which("python3") or sys.executable, "-I"]


def start_launcher(
    folder: Path, preexec_fn: Callable[[], None] | None = None
) -> subprocess.Popen[str]:
    """``start.py`` of an unzipped bundle, run by a plain system Python, no browser, any port."""
    return subprocess.Popen(
        [*system_python(), "start.py", "--no-browser", "--port", "0"],
        cwd=folder,
        env={},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=preexec_fn,
    )


def stop_launcher(
    process: subprocess.Popen[str], stop_signal: int = signal.SIGINT
) -> tuple[str, str]:
    """Stop ``start.py`` as a teacher would (Ctrl+C by default); never leaves it running."""
    process.send_signal(stop_signal)
    try:
        # generous: a loaded CI machine running the suite on every CPU has stopped it late
        out, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(
            f"start.py did not stop within 60 s of signal {stop_signal}; it printed:\n{out}\n{err}"
        )
    return out or "", err or ""


def make_site(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "index.html").write_text("<html>home</html>")
    (root / "lite-build.json").write_text(json.dumps({"title": "Cities"}))
    (root / "app.js").write_text("var x = 1;\n" * 500)
    (root / "app.js.gz").write_bytes(gzip.compress((root / "app.js").read_bytes(), mtime=0))
    (root / "lite-build-gzip.txt").write_text("app.js\n")
    (root / "pyodide.asm.wasm").write_bytes(b"\0asm")
    (root / "lab").mkdir()
    (root / "lab" / "index.html").write_text("<html>lab</html>")
    (root / "_headers").write_text("/*\n  Cache-Control: no-cache\n")
    return root


def test_the_preferred_port_is_stable_per_title_and_in_range() -> None:
    assert start.preferred_port("Cities") == start.preferred_port("Cities")
    assert start.preferred_port("Cities") != start.preferred_port("Rivers")
    assert all(8100 <= start.preferred_port(t) < 8900 for t in ("", "a", "Cities", "é"))


def test_the_launcher_revalidates_with_etags_as_lite_build_serve_does(tmp_path: Path) -> None:
    # one handler answers both (lite_build/serve.py builds on the launcher's)
    site = make_site(tmp_path / "site")
    server = start.make_server(site, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/app.js"
    try:
        with urllib.request.urlopen(url) as reply:
            etag = reply.headers["ETag"]
            assert reply.headers["Cache-Control"] == "no-cache"
        request = urllib.request.Request(url, headers={"If-None-Match": etag})
        with pytest.raises(urllib.error.HTTPError) as unchanged:
            urllib.request.urlopen(request)
        assert unchanged.value.code == 304
    finally:
        server.shutdown()
        server.server_close()
    assert start.media_type("x/pyodide.asm.WASM") == "application/wasm"


def test_the_already_running_probe_goes_straight_to_this_computer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(tmp_path / "site")
    server = start.make_server(site, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    dead = socket.create_server(("127.0.0.1", 0))  # a proxy that never answers
    try:
        for name in ("http_proxy", "HTTP_PROXY"):
            monkeypatch.setenv(name, f"http://127.0.0.1:{dead.getsockname()[1]}")
        for name in ("no_proxy", "NO_PROXY"):
            monkeypatch.delenv(name, raising=False)
        assert start.already_serving(site, server.server_address[1])
    finally:
        dead.close()
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("//evil.example/lab", "/evil.example/lab/"),
        ("/\\evil.example", "/evil.example/"),
        ("/lab?x=1", "/lab/?x=1"),
    ],
)
def test_a_folder_redirect_is_always_a_path_on_the_site(path: str, location: str) -> None:
    # Python 3.11+ already folds a leading // in requests; older ones, which start.py may
    # run on, do not
    assert start.folder_location(path) == location


class RecordingSocket:
    """Stands for a server's socket: records the options set, binds nowhere."""

    def __init__(self) -> None:
        self.options: list[tuple[int, int, int]] = []

    def setsockopt(self, level: int, option: int, value: int) -> None:
        self.options.append((level, option, value))

    def bind(self, address: object) -> None:
        pass

    def getsockname(self) -> tuple[str, int]:
        return ("127.0.0.1", 8123)


@pytest.mark.parametrize("platform", ["win32", "linux", "darwin"])
def test_the_launcher_claims_its_port_alone_on_every_system(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, platform: str
) -> None:
    exclusive = 0x7FFF  # SO_EXCLUSIVEADDRUSE's stand-in: Linux has no such option
    monkeypatch.setattr(socket, "SO_EXCLUSIVEADDRUSE", exclusive, raising=False)
    server = start.make_server(make_site(tmp_path / "site"), 0)
    server.server_close()
    recording = RecordingSocket()
    server.socket = recording  # type: ignore[assignment]
    monkeypatch.setattr(sys, "platform", platform)
    server.server_bind()
    monkeypatch.undo()
    if platform == "win32":
        # SO_REUSEADDR would let a second launcher bind the port the first one serves on
        assert recording.options == [(socket.SOL_SOCKET, exclusive, 1)]
    else:
        # elsewhere SO_REUSEADDR only allows a restart right after a stop; binding a port in
        # use still fails
        assert recording.options == [(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)]


def test_the_launcher_honours_isolation_headers_of_the_catch_all_rule_only() -> None:
    text = (
        "# comment\n/*\n  Cache-Control: no-cache\n  Cross-Origin-Opener-Policy: same-origin\n"
        "  Cross-Origin-Embedder-Policy: require-corp\n/files/*\n"
        "  Cross-Origin-Resource-Policy: cross-origin\n"
    )
    assert start.site_headers(text) == [
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Cross-Origin-Embedder-Policy", "require-corp"),
    ]


@pytest.mark.parametrize(
    ("header", "accepted"),
    [("gzip, br", True), ("br;q=1, gzip;q=0", False), ("*", True), ("identity", False)],
)
def test_the_launcher_reads_accept_encoding(header: str, accepted: bool) -> None:
    assert start.accepts_gzip(header) is accepted


def test_the_bundle_holds_the_launcher_at_its_root_and_the_site_below(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site")
    result = make_bundle(site, tmp_path / "cities.zip")

    with zipfile.ZipFile(result.path) as archive:
        names = archive.namelist()
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
        readme = archive.read("README.txt").decode()
    assert names[:5] == ["start.py", "start.sh", "start.command", "start.bat", "README.txt"]
    assert "site/lite-build.json" in names and "site/app.js.gz" in names
    assert modes["start.command"] & 0o777 == 0o755 and modes["site/index.html"] & 0o777 == 0o644
    assert result.port == start.preferred_port("Cities")
    assert f"http://127.0.0.1:{result.port}/" in readme
    assert readme.startswith("Cities\r\n======\r\n")
    # deterministic: the same site gives the same bytes
    again = make_bundle(site, tmp_path / "again.zip")
    assert again.path.read_bytes() == result.path.read_bytes()


def test_the_bundle_holds_only_the_files_the_build_wrote(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site")
    (site / ".lite-build-files").write_text("index.html\nlab/index.html\nlite-build.json\n")
    (site / ".git").mkdir()
    (site / ".git" / "HEAD").write_text("ref: refs/heads/gh-pages")
    (site / "CNAME").write_text("course.example.org")

    with zipfile.ZipFile(make_bundle(site, tmp_path / "cities.zip").path) as archive:
        names = [name for name in archive.namelist() if name.startswith("site/")]
    assert names == ["site/index.html", "site/lab/index.html", "site/lite-build.json"]


def test_the_bundle_refuses_what_is_not_a_site_and_a_zip_inside_the_site(tmp_path: Path) -> None:
    with pytest.raises(LiteBuildError) as error:
        make_bundle(tmp_path, tmp_path.parent / "x.zip")
    assert str(error.value) == (
        f"{tmp_path.resolve()} is not a built lite-build site (no readable lite-build.json); "
        "run `lite-build build` first"
    )
    site = make_site(tmp_path / "site")
    with pytest.raises(LiteBuildError, match="would be written inside the site it packs"):
        make_bundle(site, site / "x.zip")
    assert default_bundle_path(tmp_path, "Data literacy 101!") == tmp_path / "data-literacy-101.zip"


@pytest.fixture
def read_only_bundle(tmp_path: Path) -> Iterator[Path]:
    site = make_site(tmp_path / "built")
    folder = tmp_path / "stick"
    with zipfile.ZipFile(make_bundle(site, tmp_path / "cities.zip").path) as archive:
        archive.extractall(folder)
    paths = [*sorted(folder.rglob("*"), reverse=True), folder]
    for path in paths:
        path.chmod(0o555 if path.is_dir() else 0o444)
    yield folder
    for path in paths:
        path.chmod(0o755 if path.is_dir() else 0o644)


def test_start_py_serves_from_a_read_only_folder_with_a_plain_python(
    read_only_bundle: Path,
) -> None:
    before = sorted(read_only_bundle.rglob("*"))
    process = start_launcher(read_only_bundle)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("Serving the course at http://127.0.0.1:"), line
        url = line.split(" at ")[1].strip()
        with urllib.request.urlopen(url) as reply:
            assert reply.read() == b"<html>home</html>"
        request = urllib.request.Request(url + "app.js", headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request) as reply:
            assert reply.headers["Content-Encoding"] == "gzip"
            assert reply.headers["Content-Type"] == "text/javascript; charset=utf-8"
            assert gzip.decompress(reply.read()) == b"var x = 1;\n" * 500
        with urllib.request.urlopen(url + "pyodide.asm.wasm") as reply:
            assert reply.headers["Content-Type"] == "application/wasm"
        with urllib.request.urlopen(url + "lab") as reply:  # redirected to lab/
            assert reply.read() == b"<html>lab</html>"
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(url + "nothing/")
        assert missing.value.code == 404
    finally:
        out, err = stop_launcher(process)
    assert process.returncode == 0, err
    assert out.strip().endswith("Stopped.")
    assert err == ""
    assert sorted(read_only_bundle.rglob("*")) == before  # wrote nothing
    assert not os.access(read_only_bundle, os.W_OK) or os.geteuid() == 0
    assert stat.S_IMODE(read_only_bundle.stat().st_mode) == 0o555


def ignore_ctrl_c() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "kill"])
def test_start_py_stops_cleanly_even_when_started_in_the_background(
    read_only_bundle: Path, stop_signal: signal.Signals
) -> None:
    # a script's background job inherits an ignored Ctrl+C; the launcher must still obey it
    process = start_launcher(read_only_bundle, preexec_fn=ignore_ctrl_c)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split(" at ")[1].strip()
        with urllib.request.urlopen(url) as reply:
            assert reply.status == 200
    finally:
        out, err = stop_launcher(process, stop_signal)
    assert (process.returncode, err) == (0, "")
    assert out.strip().endswith("Stopped.")
