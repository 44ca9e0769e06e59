"""Integration: a site taking packages from a local wheel, a local project and a Pyodide
distribution served over HTTP; lite-build.lock; two builds byte-identical."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from lite_build.config import load_config
from lite_build.errors import LiteBuildError
from lite_build.kernel.runtime import ensure_runtime
from lite_build.packages.choose import lock_site
from lite_build.packages.lockfile import LOCK_FILE_NAME, read_lock
from lite_build.pipeline import build
from tests.packages.sources_project import (
    MSGPACK_SHA256,
    CountingServer,
    make_distribution,
    make_sources_project,
    serve_counting,
    tree_digest,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CountingServer]:
    folder = tmp_path_factory.mktemp("server")
    make_distribution(folder / "dist")
    with serve_counting(folder) as served:
        yield served


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, server: CountingServer) -> Iterator[Path]:
    root = make_sources_project(tmp_path_factory.mktemp("sources"), server.url)
    config = load_config(cwd=root)
    runtime = ensure_runtime(config.pyodide.version)
    lock_site(config, runtime.version, runtime.lock)
    yield root


def site_lock(site: Path) -> dict:
    return json.loads((site / "static/environments/python/pyodide-lock.json").read_text())


def test_the_lock_file_records_each_package_with_its_source(project: Path) -> None:
    lock = read_lock(project / LOCK_FILE_NAME)
    env = lock.environment("python")
    assert env is not None
    assert env.requirements == ("msgpack", "tinylib", "./localproj")
    sources = {p.name: (p.source, p.version) for p in env.packages}
    assert sources["msgpack"] == ("pyodide", "1.2.4")
    assert sources["tinylib"] == ("wheels", "1.0")
    assert sources["localproj"] == ("project", "0.3.0")
    assert sources["jedi"][0] == "pypi"
    msgpack = env.package("msgpack")
    assert msgpack is not None and msgpack.sha256 == MSGPACK_SHA256
    assert env.package("tinylib").url == "wheels/tinylib-1.0-py3-none-any.whl"  # type: ignore[union-attr]
    assert "unused" not in sources and "ghost" not in sources


def test_only_the_needed_closure_is_read_from_the_distribution(
    project: Path, server: CountingServer
) -> None:
    assert not [r for r in server.requests if "unused" in r or "ghost" in r]


def test_two_builds_with_the_lock_are_byte_identical(
    project: Path, server: CountingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    result = build(load_config(cwd=project))
    first = result.output
    digest = tree_digest(first)
    # the size report: each shipped file as the site holds it, whatever its source
    [env] = result.environments
    sizes = {p["name"]: p["size"] for p in env.packages}
    assert {"msgpack", "tinylib", "localproj", "jedi"} <= set(sizes)
    for package in env.packages:
        assert package["size"] == (first / "static/wheels" / package["filename"]).stat().st_size
    assert env.download_size == sum(sizes.values()) and env.remote == []
    lock = site_lock(first)
    assert lock["packages"]["msgpack"]["sha256"] == MSGPACK_SHA256
    assert {"tinylib", "localproj", "msgpack"} <= set(lock["packages"])
    assert "unused" not in lock["packages"] and "ghost" not in lock["packages"]

    # jupyterlite clamps the contents listing's times to SOURCE_DATE_EPOCH (the notebook is newer)
    listing = json.loads((first / "api/contents/all.json").read_text())
    times = {item[key] for item in listing["content"] for key in ("created", "last_modified")}
    assert times == {"2023-11-14T22:13:20Z"}

    # a fresh work folder and another output folder (a second checkout, a CI runner)
    shutil.rmtree(project / ".lite-build")
    before = len(server.requests)
    second = build(load_config(cwd=project, output=project / "elsewhere" / "site")).output
    assert second != first
    assert tree_digest(second) == digest
    # the lock and a warm cache: no request to the distribution at all
    assert server.requests[before:] == []


def test_a_stale_lock_is_an_error_naming_the_fix(project: Path) -> None:
    config_file = project / "lite-build.toml"
    original = config_file.read_text()
    config_file.write_text(original.replace('"tinylib", ', '"tinylib", "attrs", '))
    try:
        with pytest.raises(LiteBuildError) as caught:
            build(load_config(cwd=project))
    finally:
        config_file.write_text(original)
    assert str(caught.value) == (
        "lite-build.lock does not match the configuration: the packages of environment "
        '"python" changed (added attrs); run `lite-build lock` to update it (or delete it to '
        "resolve at every build)"
    )
