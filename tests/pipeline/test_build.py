"""Integration tests: real builds of a small course project (packages and the runtime from the
stand-in registries, tests/registry)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import nbformat
import pytest

from lite_build.config import load_config
from lite_build.errors import LiteBuildError
from lite_build.kernel.wheels import STARTUP_RUNNER
from lite_build.packages.pyodide_lock import verify_lock
from lite_build.pipeline import BuildResult, build
from lite_build.pipeline.engine import build_locks
from lite_build.pipeline.imports import ImportsStep
from lite_build.pipeline.step import Work
from lite_build.site.patches import WAIT_ASYNC_SHIM
from lite_build.site.paths import SITE_MANIFEST
from lite_build.site.precache import PRECACHE_TEMPLATE
from lite_build.site.publish import JOURNAL, WRITTEN_FILES
from tests.conftest import RecordingReporter
from tests.registry.server import RegistryServer
from tests.site.test_publish import kill_while_publishing, stage

pytestmark = pytest.mark.integration

CONFIG = textwrap.dedent(
    """
    title = "Test Course"
    content = ["content"]

    [[environments]]
    name = "python"
    display-name = "Python (test)"
    packages = {packages}
    """
)


def make_notebook(path: Path, code: str) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# Lesson"), nbformat.v4.new_code_cell(code)]
    notebook.metadata["kernelspec"] = {
        "name": "python",
        "display_name": "Python",
        "language": "python",
    }
    nbformat.write(notebook, path)


def make_project(root: Path, packages: str = '["attrs", "msgpack"]') -> Path:
    (root / "content" / "data").mkdir(parents=True)
    (root / "lite-build.toml").write_text(CONFIG.format(packages=packages), encoding="utf-8")
    make_notebook(root / "content" / "lesson.ipynb", "print('DONE lesson')")
    (root / "content" / "data" / "cities.csv").write_text("city,people\nLyon,522000\n")
    return root


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def built_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A project built once, and a pristine copy of it (sources, work folder and site)."""
    root = make_project(tmp_path_factory.mktemp("course"))
    build(load_config(cwd=root))
    pristine = tmp_path_factory.mktemp("pristine") / "course"
    shutil.copytree(root, pristine, symlinks=True)
    return root, pristine


@pytest.fixture
def project(built_project: tuple[Path, Path]) -> Path:
    """The built project as its first build left it: each test owns it, whatever the test
    before changed (restored at the same path, so the build's state still describes it)."""
    root, pristine = built_project
    shutil.rmtree(root)
    shutil.copytree(pristine, root, symlinks=True)
    return root


def rebuild(root: Path) -> BuildResult:
    return build(load_config(cwd=root))


def test_build_writes_a_complete_offline_site(project: Path) -> None:
    site = project / "_output"
    for name in ("index.html", "lab/index.html", "notebooks/index.html", "repl/index.html"):
        assert (site / name).is_file(), name
    for name in ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip"):
        assert (site / "static" / "pyodide" / name).is_file(), name
    assert (site / "files" / "lesson.ipynb").is_file()
    assert (site / "files" / "data" / "cities.csv").is_file()

    config = json.loads((site / "jupyter-lite.json").read_text())["jupyter-config-data"]
    settings = config["litePluginSettings"]["@lite-build/environments-extension:kernels"]
    [kernel] = settings["kernels"]
    env_dir = site / "static" / "environments" / kernel["name"]
    lock = json.loads((env_dir / "pyodide-lock.json").read_text())
    packages = lock["packages"]
    assert {"attrs", "msgpack", "ipython", "jedi", "comm", "micropip"} <= set(packages)
    assert "pyemscripten_2026_0_wasm32" in packages["msgpack"]["file_name"]
    assert "pexpect" not in packages  # excluded by its emscripten marker
    assert lock["info"]["abi_version"] == "2026_0"
    verify_lock(env_dir / "pyodide-lock.json")
    # each environment has its own lock and index; the wheels are shared
    assert packages["attrs"]["file_name"].startswith("../../wheels/")
    assert (env_dir / packages["attrs"]["file_name"]).resolve().is_file()
    assert not (site / "static/pyodide/pyodide-lock.json").exists()

    assert config["appName"] == "Test Course"
    # students' files and settings live in storage named after the site, not its address
    for key in ("contentsStorageName", "settingsStorageName", "workspacesStorageName"):
        assert config[key] == "lite-build: test-course"
    versions = json.loads((site / "lite-build-content.json").read_text())["files"]
    assert sorted(versions) == ["data/cities.csv", "lesson.ipynb"]
    assert set(versions["lesson.ipynb"]) == {"sha", "cells"}
    assert "<title>Test Course</title>" in (site / "lab" / "index.html").read_text()
    # the stock single kernel is replaced by one kernel per environment, the stock setting
    # registry by ours (it uses the settings validated at build time)
    assert config["disabledExtensions"] == [
        "@jupyterlite/pyodide-kernel-extension:kernel",
        "@jupyterlab/apputils-extension:settings",
    ]
    assert (site / "build" / "schemas" / "lite-build-settings.json").is_file()
    assert config["defaultKernelName"] == kernel["name"]
    assert settings["pyodideUrl"] == "./static/pyodide/pyodide.mjs"
    assert settings["disablePyPIFallback"] is True
    assert all(url.startswith("./static/environments/") for url in kernel["pipliteUrls"])
    lock_url = kernel["loadPyodideOptions"]["lockFileURL"]
    assert lock_url.startswith(f"./static/environments/{kernel['name']}/pyodide-lock.json?")

    assert not list(site.rglob("*.map")), "source maps ship only when asked for"
    workers = list(
        site.glob("extensions/@jupyterlite/pyodide-kernel-extension/static/coincident*.js")
    )
    assert workers and all(w.read_text().startswith(WAIT_ASYNC_SHIM) for w in workers)
    assert (site / SITE_MANIFEST).is_file()


def test_the_site_names_no_other_origin_for_its_runtime(project: Path) -> None:
    text = (project / "_output" / "jupyter-lite.json").read_text()
    assert "cdn.jsdelivr.net" not in text
    assert "pypi.org" not in text


def test_rebuild_with_nothing_changed_does_no_work(project: Path) -> None:
    before = (project / "_output" / SITE_MANIFEST).stat().st_mtime_ns
    result = rebuild(project)
    assert result.ran == []
    assert set(result.up_to_date) == {"runtime", "packages", "imports", "app", "site"}
    assert (project / "_output" / SITE_MANIFEST).stat().st_mtime_ns == before


def test_a_changed_environment_runner_remakes_the_packages(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # without kernel snapshots: a changed runner would also make a new one, a minute of the
    # suite on 2 CPUs that tests/kernel/test_snapshot.py spends already
    config = project / "lite-build.toml"
    config.write_text("snapshot = false\n" + config.read_text(encoding="utf-8"), encoding="utf-8")
    rebuild(project)
    # a development install of lite-build keeps its version number while its code changes
    changed = STARTUP_RUNNER + "\n# changed\n"
    monkeypatch.setattr("lite_build.kernel.wheels.STARTUP_RUNNER", changed)
    monkeypatch.setattr("lite_build.pipeline.packages.STARTUP_RUNNER", changed)
    assert "packages" in rebuild(project).ran
    wheel = next((project / "_output" / "static" / "wheels").glob("lite_build_environment-*"))
    with zipfile.ZipFile(wheel) as archive:
        assert "# changed" in archive.read("lite_build_environment/__init__.py").decode()


def test_a_changed_service_worker_republishes_the_site(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a development install of lite-build keeps its version number while its code changes
    template = tmp_path / "precache-worker.js"
    template.write_text(PRECACHE_TEMPLATE.read_text() + "\n// changed\n")
    monkeypatch.setattr("lite_build.site.precache.PRECACHE_TEMPLATE", template)
    monkeypatch.setattr("lite_build.pipeline.site.PRECACHE_TEMPLATE", template)
    assert rebuild(project).ran == ["site"]
    assert "// changed" in (project / "_output" / "lite-build-sw.js").read_text()


def test_editing_one_notebook_redoes_only_the_app_and_site(project: Path) -> None:
    make_notebook(project / "content" / "lesson.ipynb", "print('DONE lesson, edited')")
    result = rebuild(project)
    assert result.ran == ["imports", "app", "site"]
    shipped = (project / "_output" / "files" / "lesson.ipynb").read_text()
    assert "edited" in shipped
    # jupyterlite-core appends a rebuild's lists to the previous build's: each entry stays once
    config = json.loads((project / "_output" / "jupyter-lite.json").read_text())
    disabled = config["jupyter-config-data"]["disabledExtensions"]
    assert disabled == list(dict.fromkeys(disabled)) and disabled


def test_removed_content_disappears_from_the_site(project: Path) -> None:
    extra = project / "content" / "extra.ipynb"
    make_notebook(extra, "print(1)")
    rebuild(project)
    assert (project / "_output" / "files" / "extra.ipynb").is_file()
    extra.unlink()
    rebuild(project)
    assert not (project / "_output" / "files" / "extra.ipynb").exists()
    listing = json.loads((project / "_output" / "api" / "contents" / "all.json").read_text())
    assert "extra.ipynb" not in json.dumps(listing)


def test_a_corrupt_notebook_fails_the_build_and_keeps_the_previous_site(project: Path) -> None:
    before = tree_digest(project / "_output")
    broken = project / "content" / "broken.ipynb"
    broken.write_text('{"cells": [', encoding="utf-8")
    try:
        with pytest.raises(LiteBuildError) as caught:
            rebuild(project)
        assert str(broken) in str(caught.value)
        assert "not valid JSON" in str(caught.value)
        assert tree_digest(project / "_output") == before
    finally:
        broken.unlink()
    assert rebuild(project).output == project / "_output"


def test_an_import_no_kernel_provides_is_a_warning_and_with_strict_an_error(
    project: Path,
) -> None:
    code = "import attrs, msgpack, json\nimport numpy as np\n%pip install requests\nimport helpers"
    make_notebook(project / "content" / "lesson.ipynb", code)
    (project / "content" / "helpers.py").write_text("TOOL = 1\n")
    # the step alone, on the packages the project's build left (the rest of a build is
    # covered above)
    config = load_config(cwd=project)
    reporter = RecordingReporter()
    ImportsStep(config, Work(config.work_dir), reporter, verbose=False).run()
    warnings = [line for line in reporter.messages if line.startswith("warning: ")]
    assert warnings == [
        'warning: lesson.ipynb, cell 1: %pip install requests: kernel "python" does not ship '
        'it; add "requests" to the packages of environment "python"',
        'warning: lesson.ipynb, cell 1: import numpy: kernel "python" does not ship it; add '
        '"numpy" to the packages of environment "python"',
    ]
    before = tree_digest(project / "_output")
    with pytest.raises(LiteBuildError) as caught:
        build(dataclasses.replace(config, strict=True))
    assert str(caught.value) == (
        "2 import(s) no kernel of the site provides (strict = true):\n"
        + "\n".join(f"  - {line.removeprefix('warning: ')}" for line in warnings)
    )
    assert tree_digest(project / "_output") == before


def crash_while_publishing(project: Path) -> None:
    """The state a build killed in the middle of publishing leaves: some of the site's files
    set aside, the journal saying so."""
    output = project / "_output"
    kill_while_publishing(stage(output, {"index.html": "half a site"}), output, after=3)


def leftovers(output: Path) -> list[str]:
    """lite-build's own hidden files in the output, but for its record of the site's files."""
    return sorted(
        path.name
        for path in output.iterdir()
        if path.name.startswith(".lite-build-") and path.name != WRITTEN_FILES
    )


def test_a_build_after_a_crashed_publish_restores_the_site_then_publishes_the_new_one(
    project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rebuild(project)
    output = project / "_output"
    make_notebook(project / "content" / "lesson.ipynb", "print('DONE lesson, after a crash')")
    crash_while_publishing(project)
    assert (output / JOURNAL).is_file()

    with caplog.at_level(logging.WARNING, logger="lite_build"):
        result = rebuild(project)

    assert result.ran == ["imports", "app", "site"]
    assert f"restored {output} from an interrupted build" in caplog.messages
    assert "after a crash" in (output / "files" / "lesson.ipynb").read_text()
    assert (output / "static" / "pyodide" / "pyodide.mjs").is_file()
    assert (output / "index.html").read_text() != "half a site"
    assert not leftovers(output)


def test_a_failed_build_after_a_crashed_publish_keeps_the_previous_site(project: Path) -> None:
    rebuild(project)
    before = tree_digest(project / "_output")
    crash_while_publishing(project)
    broken = project / "content" / "broken.ipynb"
    broken.write_text('{"cells": [', encoding="utf-8")
    try:
        with pytest.raises(LiteBuildError, match="not valid JSON"):
            rebuild(project)
    finally:
        broken.unlink()
    assert tree_digest(project / "_output") == before
    assert not leftovers(project / "_output")


def test_an_unknown_package_fails_the_build_and_keeps_the_previous_site(
    project: Path, test_registry: RegistryServer
) -> None:
    before = tree_digest(project / "_output")
    config = project / "lite-build.toml"
    original = config.read_text()
    config.write_text(original.replace('"msgpack"]', '"msgpack", "frobnicate-xyz-not-a-package"]'))
    try:
        with pytest.raises(LiteBuildError) as caught:
            rebuild(project)
        assert "frobnicate-xyz-not-a-package" in str(caught.value)
        assert tree_digest(project / "_output") == before
        # asked for on purpose: the one thing the registry did not have
        (missed,) = test_registry.take_misses()
        assert missed.startswith("GET /simple/frobnicate-xyz-not-a-package/: ")
    finally:
        config.write_text(original)


def test_a_first_build_into_a_folder_of_someone_elses_keeps_its_files_and_says_so(
    project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    output = project / "_output"
    shutil.rmtree(output)
    output.mkdir()
    (output / "thesis.tex").write_text("my work")
    (output / "CNAME").write_text("course.example.org")
    with caplog.at_level(logging.WARNING, logger="lite_build"):
        rebuild(project)
    assert (output / "thesis.tex").read_text() == "my work"
    assert (output / "CNAME").read_text() == "course.example.org"
    assert (output / "index.html").is_file()
    assert caplog.messages == [
        f"output: {output} was not made by lite-build; its 2 file(s) and folder(s) are kept "
        "beside the site: CNAME, thesis.tex"
    ]


def test_a_symlinked_output_is_published_into_its_target_and_stays_a_link(project: Path) -> None:
    hosted = project / "hosted"
    (project / "_output").rename(hosted)
    (project / "_output").symlink_to(hosted, target_is_directory=True)
    (hosted / "CNAME").write_text("course.example.org")
    make_notebook(project / "content" / "lesson.ipynb", "print('DONE lesson, linked')")

    rebuild(project)
    rebuild(project)

    assert (project / "_output").is_symlink()
    assert "linked" in (hosted / "files" / "lesson.ipynb").read_text()
    assert (hosted / "CNAME").read_text() == "course.example.org"
    assert not leftovers(hosted)


def test_a_second_build_of_the_project_or_into_the_output_stops_naming_the_first(
    tmp_path: Path,
) -> None:
    first = make_project(tmp_path / "first")
    other = make_project(tmp_path / "other")
    script = (
        "import sys\nfrom pathlib import Path\nfrom lite_build.config import load_config\n"
        "from lite_build.pipeline.engine import build_locks\n"
        "with build_locks(load_config(cwd=Path(sys.argv[1]))):\n"
        "    print('building', flush=True)\n    sys.stdin.read()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    with subprocess.Popen(
        [sys.executable, "-c", script, first],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    ) as holder:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline() == "building\n"
        with pytest.raises(LiteBuildError) as same_project:
            build(load_config(cwd=first))
        with pytest.raises(LiteBuildError) as same_output:
            build(load_config(cwd=other, output=first / "_output"))
        holder.stdin.close()
    assert str(same_project.value) == (
        f"another lite-build (process {holder.pid}) is building this project ({first}); wait "
        f"for it to finish, or stop it (the lock is {first / '.lite-build' / 'build.lock'})"
    )
    assert str(same_output.value).startswith(
        f"another lite-build (process {holder.pid}) is building into {first / '_output'}; wait "
        "for it to finish, or stop it (the lock is "
    )
    assert not (first / "_output").exists()
    with build_locks(load_config(cwd=first)):  # released with the process
        pass


def test_numpy_is_a_clear_build_error(tmp_path: Path) -> None:
    root = make_project(tmp_path, packages='["numpy"]')
    with pytest.raises(LiteBuildError) as caught:
        build(load_config(cwd=root))
    message = str(caught.value)
    assert "numpy" in message and "Pyodide" in message
    assert not (root / "_output").exists()


def test_the_output_can_be_moved_with_the_cli_flag(project: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "site"
    result = build(load_config(cwd=project, output=elsewhere))
    assert result.output == elsewhere
    assert (elsewhere / "static" / "pyodide" / "pyodide.mjs").is_file()
    shutil.rmtree(elsewhere)


def kernel_options(site: Path) -> dict[str, object]:
    config = json.loads((site / "jupyter-lite.json").read_text())["jupyter-config-data"]
    plugin = config["litePluginSettings"]["@lite-build/environments-extension:kernels"]
    options: dict[str, object] = plugin["kernels"][0]["loadPyodideOptions"]
    return options


def test_snapshot_false_ships_no_kernel_snapshot_and_true_brings_it_back(project: Path) -> None:
    config = project / "lite-build.toml"
    original = config.read_text()
    snapshot = project / "_output" / "static" / "environments" / "python" / "kernel.snapshot"
    assert snapshot.is_file()
    assert "liteBuildSnapshotURL" in kernel_options(project / "_output")
    try:
        config.write_text("snapshot = false\n" + original)
        assert "packages" in rebuild(project).ran
        assert not snapshot.exists()
        options = kernel_options(project / "_output")
        assert "liteBuildSnapshotURL" not in options
        assert options["liteBuildImports"]  # the modules are still imported ahead
    finally:
        config.write_text(original)
    rebuild(project)  # from the cache: no Node.js run
    assert snapshot.is_file()


def test_a_patch_of_jupyterlites_output_that_no_longer_applies_stops_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_project(tmp_path, packages="[]")
    # as if JupyterLite's kernel no longer shipped the script the patch is for
    monkeypatch.setattr("lite_build.site.patches.patch_wait_async", lambda site: [])

    with pytest.raises(LiteBuildError) as stopped:
        build(load_config(cwd=root))

    assert str(stopped.value) == (
        "the Atomics.waitAsync fix no longer applies to JupyterLite's output (no script uses "
        "Atomics.waitAsync): the installed jupyterlite-core or jupyterlite-pyodide-kernel is not "
        "a version lite-build supports; reinstall lite-build with its own requirements "
        "(pip install lite-build)"
    )
    assert not (root / "_output").exists()  # nothing half-built published
