"""The Pyodide release as the fallback source, without a build: its URL, when it is asked (only
for what PyPI has no Pyodide build of), its catalogue (the runtime's lock, never downloaded)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lite_build.cache import CACHE_ENV_VAR
from lite_build.errors import LiteBuildError
from lite_build.packages.platform import PyodidePlatform
from lite_build.packages.resolve import resolve
from lite_build.packages.sources import PackageSources, SourceSettings
from lite_build.packages.sources.release import RELEASE_URL_ENV_VAR, release_url
from tests.kernel.test_runtime import free_port
from tests.packages.conftest import FakeIndex
from tests.packages.sources_project import (
    MSGPACK_SHA256,
    CountingServer,
    make_distribution,
    serve_counting,
)


def test_the_release_url_is_pyodides_cdn_unless_overridden(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(RELEASE_URL_ENV_VAR, raising=False)
    assert release_url("314.0.6") == "https://cdn.jsdelivr.net/pyodide/v314.0.6/full/"
    monkeypatch.setenv(RELEASE_URL_ENV_VAR, "http://127.0.0.1:8000/full")
    assert release_url("314.0.6") == "http://127.0.0.1:8000/full/"
    monkeypatch.setenv(RELEASE_URL_ENV_VAR, "http://mirror.example.org/full/")
    with pytest.raises(LiteBuildError) as caught:
        release_url("314.0.6")
    assert str(caught.value).startswith(
        f"the Pyodide release (set by {RELEASE_URL_ENV_VAR}): http://mirror.example.org/full/ "
        "is not an https URL"
    )


@pytest.fixture
def release(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[CountingServer, dict[str, Any]]]:
    """A served release folder (msgpack, unused; ghost listed without a file) and its catalogue
    as the runtime's lock; the cache is isolated after msgpack was copied from it."""
    folder = make_distribution(tmp_path / "srv" / "dist")
    catalogue = json.loads((folder / "pyodide-lock.json").read_text())
    (folder / "pyodide-lock.json").unlink()  # the release's catalogue is the runtime's lock
    monkeypatch.setenv(CACHE_ENV_VAR, str(tmp_path / "cache"))
    with serve_counting(tmp_path / "srv") as server:
        monkeypatch.setenv(RELEASE_URL_ENV_VAR, server.url)
        yield server, catalogue


def sources(
    runtime_lock: dict[str, Any] | None, index: FakeIndex, **settings: Any
) -> PackageSources:
    release = ("314.0.6", runtime_lock) if runtime_lock is not None else None
    return PackageSources(
        SourceSettings(root=Path("."), work_dir=Path("work"), release=release, **settings), index
    )


def test_the_release_provides_only_what_pypi_has_no_pyodide_build_of(
    release: tuple[CountingServer, dict[str, Any]], pyodide: PyodidePlatform, index: FakeIndex
) -> None:
    server, catalogue = release
    catalogue["packages"]["msgpack"]["depends"] = ["Unused"]
    index.add("msgpack", "1.2.4", tag="cp314-cp314-manylinux_2_17_x86_64")
    index.add("unused", "2.0")  # pure on PyPI: PyPI's wheel wins over the release's 1.0
    site = sources(catalogue, index)

    resolved = {p.name: p for p in resolve(["msgpack"], pyodide, site.layered_index())}

    assert (resolved["msgpack"].source, resolved["msgpack"].sha256) == (
        "pyodide-release",
        MSGPACK_SHA256,
    )
    # a release package's dependency is resolved too (so it is a key of the site's lock)
    assert resolved["msgpack"].depends == ("unused",)
    assert (resolved["unused"].source, resolved["unused"].version) == ("pypi", "2.0")
    path = site.fetch([resolved["msgpack"]])["msgpack"]
    assert path.read_bytes()[:2] == b"PK"
    # the catalogue is never downloaded, and "unused" was never asked of the release
    wheel = resolved["msgpack"].filename
    assert server.requests == [f"HEAD /dist/{wheel}", f"GET /dist/{wheel}"]
    assert site.report(list(resolved.values())) == [
        f"from the Pyodide 314.0.6 release ({server.url}): msgpack 1.2.4",
        "from PyPI: unused 2.0",
    ]
    assert site.describe() == []  # the release follows the runtime, which the lock records


def test_a_configured_distribution_replaces_the_release(
    release: tuple[CountingServer, dict[str, Any]], index: FakeIndex
) -> None:
    _, catalogue = release
    site = sources(catalogue, index, distribution="https://example.org/dist/")
    assert site.release is None


def test_what_only_the_release_has_names_it_when_it_lacks_the_file(
    release: tuple[CountingServer, dict[str, Any]], pyodide: PyodidePlatform, index: FakeIndex
) -> None:
    server, catalogue = release
    with pytest.raises(LiteBuildError) as caught:
        resolve(["ghost"], pyodide, sources(catalogue, index).layered_index())
    assert str(caught.value) == (
        '"ghost": no local wheels given; no Pyodide distribution configured; the Pyodide '
        f"314.0.6 release ({server.url}) lists it, but its file ghost-9.9-py3-none-any.whl is "
        "missing there; not found on the package index (https://pypi.org/simple/); check the "
        "spelling"
    )


def test_turned_off_the_release_is_named_with_the_fix(
    pyodide: PyodidePlatform, index: FakeIndex
) -> None:
    index.add("numpy", "2.4.0", tag="cp314-cp314-manylinux_2_17_x86_64")
    site = sources(None, index, no_release="the release is off (remove the setting)")
    with pytest.raises(LiteBuildError) as caught:
        resolve(["numpy"], pyodide, site.layered_index())
    assert str(caught.value).startswith(
        '"numpy": no local wheels given; no Pyodide distribution configured; the release is off '
        "(remove the setting); PyPI has no Pyodide build"
    )


def test_an_unreachable_release_names_the_package_and_the_fixes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pyodide: PyodidePlatform, index: FakeIndex
) -> None:
    catalogue = json.loads((make_distribution(tmp_path / "dist") / "pyodide-lock.json").read_text())
    monkeypatch.setenv(CACHE_ENV_VAR, str(tmp_path / "cache"))
    url = f"http://127.0.0.1:{free_port()}/full/"
    monkeypatch.setenv(RELEASE_URL_ENV_VAR, url)
    with pytest.raises(LiteBuildError) as caught:
        resolve(["msgpack"], pyodide, sources(catalogue, index).layered_index())
    message = str(caught.value)
    assert message.startswith(f"the Pyodide 314.0.6 release ({url}): could not be reached: ")
    assert message.endswith(
        '\n"msgpack" has no Pyodide build on any other source: build on a machine that can reach '
        "the release, or set [pyodide] distribution to a local copy of it (a folder or .tar.bz2 "
        "file)"
    )
