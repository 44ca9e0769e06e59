"""Integration: packages that only a remote Pyodide distribution (a local HTTP server) has.

With ``offline = false`` they stay remote: the site's lock points at the distribution's URL, the
build lists them and says the site is not offline. With ``offline = true`` their files must ship,
so a distribution that cannot provide one is an error naming the package and the fixes. The
build's size report is checked against the files the site really ships.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.console import Console

from lite_build import cli
from lite_build.config import load_config
from lite_build.errors import LiteBuildError
from lite_build.kernel.runtime import ensure_runtime
from lite_build.packages.choose import lock_site
from lite_build.packages.index import wheel_cache_path
from lite_build.packages.pyodide_lock import verify_lock
from lite_build.pipeline import BuildResult, build
from tests.conftest import RecordingReporter
from tests.packages.conftest import build_wheel
from tests.packages.sources_project import (
    CountingServer,
    make_distribution,
    make_sources_project,
    serve_counting,
)

pytestmark = pytest.mark.integration

SITE_LOCK = "static/environments/python/pyodide-lock.json"


@dataclass
class Published:
    """A package published in the served distribution only."""

    name: str
    wheel: str
    sha256: str
    url: str


def publish(dist: Path, server: CountingServer, name: str) -> Published:
    """Add ``name`` 1.0 to the distribution: a wheel no cache has seen (its content is unique)."""
    wheel = build_wheel(
        dist, name, "1.0", files={f"{name}/__init__.py": f"TOKEN = {uuid.uuid4().hex!r}\n"}
    )
    sha256 = hashlib.sha256(wheel.read_bytes()).hexdigest()
    catalogue_path = dist / "pyodide-lock.json"
    catalogue = json.loads(catalogue_path.read_text())
    catalogue["packages"][name] = {
        "name": name,
        "version": "1.0",
        "file_name": wheel.name,
        "sha256": sha256,
        "imports": [name],
        "depends": [],
        "install_dir": "site",
        "package_type": "package",
        "unvendored_tests": False,
    }
    catalogue_path.write_text(json.dumps(catalogue, indent=1))
    return Published(name, wheel.name, sha256, server.url + wheel.name)


def configure(root: Path, packages: str, *, offline: bool) -> None:
    config = root / "lite-build.toml"
    text = config.read_text().replace(
        'packages = ["msgpack", "tinylib", "./localproj"]', f"packages = {packages}"
    )
    config.write_text(f"offline = {'true' if offline else 'false'}\n" + text)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[CountingServer, Path]]:
    folder = tmp_path_factory.mktemp("remote-server")
    dist = make_distribution(folder / "dist")
    with serve_counting(folder) as server:
        yield server, dist


@dataclass
class RemoteBuild:
    root: Path
    result: BuildResult
    messages: list[str]
    remotelib: Published
    requests: list[str]


@pytest.fixture(scope="module")
def remote_build(
    served: tuple[CountingServer, Path], tmp_path_factory: pytest.TempPathFactory
) -> RemoteBuild:
    server, dist = served
    remotelib = publish(dist, server, "remotelib")
    root = make_sources_project(tmp_path_factory.mktemp("remote"), server.url)
    configure(root, '["remotelib", "tinylib", "./localproj"]', offline=False)
    reporter = RecordingReporter()
    before = len(server.requests)
    result = build(load_config(cwd=root), reporter=reporter)
    return RemoteBuild(root, result, reporter.messages, remotelib, server.requests[before:])


def test_with_offline_false_a_remote_distribution_package_stays_remote(
    remote_build: RemoteBuild,
) -> None:
    site = remote_build.result.output
    remotelib = remote_build.remotelib
    lock = json.loads((site / SITE_LOCK).read_text())

    assert lock["packages"]["remotelib"]["file_name"] == remotelib.url
    assert lock["packages"]["remotelib"]["sha256"] == remotelib.sha256
    assert not (site / "static/wheels" / remotelib.wheel).exists()
    # its file was looked at (HEAD), never downloaded
    assert [r for r in remote_build.requests if remotelib.wheel in r] == [
        f"HEAD /dist/{remotelib.wheel}"
    ]
    assert remote_build.result.environments[0].remote == [
        {"name": "remotelib", "version": "1.0", "url": remotelib.url}
    ]
    assert (
        "the site is not offline: environment 'python' loads 1 package(s) from a remote Pyodide "
        f"distribution at run time: remotelib 1.0 ({remotelib.url})"
    ) in remote_build.messages


def test_a_lock_with_remote_files_passes_only_when_remote_files_are_allowed(
    remote_build: RemoteBuild,
) -> None:
    lock = remote_build.result.output / SITE_LOCK
    verify_lock(lock, allow_remote=True)

    with pytest.raises(LiteBuildError) as caught:
        verify_lock(lock, allow_remote=False)

    assert str(caught.value) == (
        f"the Pyodide lock {lock} has 1 problem(s); the Python kernel would not start:\n"
        f'  - "remotelib": its file is a URL ({remote_build.remotelib.url}); an offline site must '
        "ship the file"
    )


def test_the_size_report_counts_what_the_site_ships(remote_build: RemoteBuild) -> None:
    site = remote_build.result.output
    [env] = remote_build.result.environments
    sizes = {p["name"]: int(p["size"]) for p in env.packages}

    # every shipped package, whatever its source, with the size of the file in the site
    for package in env.packages:
        assert package["size"] == (site / "static/wheels" / package["filename"]).stat().st_size
    assert {"tinylib", "localproj", "jedi", "micropip"} <= set(sizes)
    assert "remotelib" not in sizes  # not shipped: not downloaded from the site
    assert env.download_size == sum(sizes.values())

    console = Console(record=True, width=400, soft_wrap=True)
    cli._print_summary(console, remote_build.result)
    text = console.export_text()
    largest = sorted(sizes.items(), key=lambda item: (-item[1], item[0]))[:5]
    expected = (
        f"  environment python: {len(sizes)} packages, {cli._size(env.download_size)}; largest: "
        + ", ".join(f"{name} {cli._size(size)}" for name, size in largest)
    )
    assert expected in text.splitlines()
    assert largest[0][0] == "jedi"
    assert (
        "  not offline: environment python loads 1 package(s) from a remote Pyodide distribution "
        "at run time: remotelib 1.0"
    ) in text.splitlines()


def test_with_offline_true_a_file_the_distribution_cannot_provide_is_an_error(
    served: tuple[CountingServer, Path], tmp_path: Path
) -> None:
    server, dist = served
    farlib = publish(dist, server, "farlib")
    root = make_sources_project(tmp_path / "project", server.url)
    configure(root, '["farlib"]', offline=True)
    config = load_config(cwd=root)
    runtime = ensure_runtime(config.pyodide.version)
    lock_site(config, runtime.version, runtime.lock)
    # later, on another machine: a cold cache, and the distribution no longer has the file
    wheel_cache_path(farlib.sha256, farlib.wheel).unlink()
    (dist / farlib.wheel).unlink()

    with pytest.raises(LiteBuildError) as caught:
        build(config)

    assert str(caught.value) == (
        f"farlib 1.0: downloading {farlib.url} failed: HTTP 404\n"
        f'"farlib" comes from the Pyodide distribution {server.url}, and an offline site must '
        "ship its file: make it reachable, or point [pyodide] distribution at a local copy (a "
        "folder or .tar.bz2 file), or set offline = false to load farlib from there at run time"
    )
    assert not config.output.exists()
