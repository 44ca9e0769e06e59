"""Integration: a package only the Pyodide release has comes from it with no setting.

The release host is a local HTTP server; the runtime is a local Pyodide folder (a copy of the
cached core) whose ``pyodide-lock.json`` lists the package, as a real release's lock lists
numpy or matplotlib (their real wheels cannot be fetched on these machines). The site ships the
file checked against that lock's sha256; ``distribution = false`` makes the package a build
error naming it and the fix, and a file that does not match the lock is a build error naming it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from lite_build.config import PYODIDE_VERSION, load_config
from lite_build.errors import LiteBuildError
from lite_build.kernel.runtime import ensure_runtime
from lite_build.packages.index import wheel_cache_path
from lite_build.packages.sources.release import RELEASE_URL_ENV_VAR
from lite_build.pipeline import BuildResult, build
from tests.conftest import RecordingReporter
from tests.packages.conftest import build_wheel
from tests.packages.sources_project import CountingServer, catalogue_entry, serve_counting

pytestmark = pytest.mark.integration

SITE_LOCK = "static/environments/python/pyodide-lock.json"
NAME = "not-on-pypi-releaselib"  # see tests/registry/server.py
MODULE = NAME.replace("-", "_")

CONFIG = """\
title = "Release"
content = ["content"]
snapshot = false

[pyodide]
path = "pyodide"
{extra}
[[environments]]
name = "python"
packages = ["{name}"]
"""


@dataclass
class Release:
    """The served release folder, the local runtime whose lock lists the package, and the
    package's wheel name and sha256."""

    server: CountingServer
    folder: Path
    runtime: Path
    wheel: str
    sha256: str


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Release]:
    top = tmp_path_factory.mktemp("release")
    folder = top / "srv" / "dist"
    folder.mkdir(parents=True)
    # unique content: no cache has seen this wheel
    wheel = build_wheel(
        folder,
        NAME,
        "1.0",
        files={f"{MODULE}/__init__.py": f"TOKEN = {uuid.uuid4().hex!r}\n"},
        tag="cp314-cp314-pyemscripten_2026_0_wasm32",
    )
    sha256 = hashlib.sha256(wheel.read_bytes()).hexdigest()
    runtime = top / "pyodide"
    shutil.copytree(ensure_runtime(PYODIDE_VERSION).folder, runtime)
    lock_path = runtime / "pyodide-lock.json"
    lock = json.loads(lock_path.read_text())
    lock["packages"][NAME] = catalogue_entry(NAME, "1.0", wheel.name, sha256, [MODULE])
    lock_path.write_text(json.dumps(lock))
    with serve_counting(top / "srv") as server, pytest.MonkeyPatch.context() as patch:
        patch.setenv(RELEASE_URL_ENV_VAR, server.url)
        yield Release(server, folder, runtime, wheel.name, sha256)


def make_project(root: Path, release: Release, extra: str = "") -> Path:
    (root / "content").mkdir(parents=True)
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(f"import {MODULE}")]
    nbformat.write(notebook, root / "content" / "lesson.ipynb")
    (root / "pyodide").symlink_to(release.runtime, target_is_directory=True)
    (root / "lite-build.toml").write_text(CONFIG.format(extra=extra, name=NAME))
    return root


@dataclass
class ReleaseBuild:
    result: BuildResult
    messages: list[str]
    requests: list[str]


@pytest.fixture(scope="module")
def release_build(release: Release, tmp_path_factory: pytest.TempPathFactory) -> ReleaseBuild:
    root = make_project(tmp_path_factory.mktemp("site"), release)
    reporter = RecordingReporter()
    before = len(release.server.requests)
    result = build(load_config(cwd=root), reporter=reporter)
    return ReleaseBuild(result, reporter.messages, release.server.requests[before:])


def test_a_package_only_the_release_has_ships_checked_against_the_runtime_lock(
    release: Release, release_build: ReleaseBuild
) -> None:
    site = release_build.result.output
    entry = json.loads((site / SITE_LOCK).read_text())["packages"][NAME]

    assert (entry["version"], entry["sha256"], entry["imports"]) == (
        "1.0",
        release.sha256,
        [MODULE],
    )
    shipped = site / "static" / "wheels" / release.wheel
    assert hashlib.sha256(shipped.read_bytes()).hexdigest() == release.sha256
    # the catalogue is the runtime's own lock: only the file was asked of the release host
    assert release_build.requests == [f"HEAD /dist/{release.wheel}", f"GET /dist/{release.wheel}"]
    assert (
        f"  environment 'python': from the Pyodide {PYODIDE_VERSION} release "
        f"({release.server.url}): {NAME} 1.0"
    ) in release_build.messages


def test_distribution_false_makes_it_a_build_error_naming_the_package_and_fix(
    release: Release, tmp_path: Path
) -> None:
    root = make_project(tmp_path, release, extra="distribution = false\n")
    with pytest.raises(LiteBuildError) as caught:
        build(load_config(cwd=root))
    message = str(caught.value)
    assert message.startswith(f"environment 'python': \"{NAME}\": ")
    assert (
        "the Pyodide release's packages are turned off ([pyodide] distribution = false; "
        "remove it to use them)"
    ) in message


def test_a_file_that_does_not_match_the_runtime_lock_is_a_build_error_naming_it(
    release: Release, tmp_path: Path
) -> None:
    tampered = tmp_path / "srv" / "dist"
    tampered.mkdir(parents=True)
    (tampered / release.wheel).write_bytes(b"not the wheel the lock describes")
    # the good file may be cached by another test (it is this module's own, unique wheel)
    wheel_cache_path(release.sha256, release.wheel).unlink(missing_ok=True)
    root = make_project(tmp_path / "project", release)
    with serve_counting(tmp_path / "srv") as server, pytest.MonkeyPatch.context() as patch:
        patch.setenv(RELEASE_URL_ENV_VAR, server.url)
        with pytest.raises(LiteBuildError) as caught:
            build(load_config(cwd=root))
    message = str(caught.value)
    assert message.startswith(f"{NAME} 1.0: ")
    assert release.sha256 in message
    assert not wheel_cache_path(release.sha256, release.wheel).exists()
    assert f'"{NAME}" comes from the Pyodide {PYODIDE_VERSION} release ({server.url})' in message
