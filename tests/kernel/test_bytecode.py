"""Precompiled bytecode for shipped wheels."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from lite_build.kernel.bytecode import precompile_wheels
from lite_build.kernel.runtime import PyodideRuntime
from tests.conftest import RecordingReporter, make_demo_wheel


def make_wheel(folder: Path) -> Path:
    return make_demo_wheel(
        folder,
        {
            "demo/__init__.py": "ANSWER = 6 * 7\n",
            "demo/broken_template.py": "def {{ name }}(): pass\n",
        },
    )


def test_without_node_the_wheels_ship_as_they_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LITE_BUILD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("LITE_BUILD_NODE", raising=False)
    monkeypatch.setattr("lite_build.kernel.bytecode.shutil.which", lambda name: None)
    wheel = make_wheel(tmp_path)
    runtime = PyodideRuntime(version="0.0.0", folder=tmp_path, lock={})
    reporter = RecordingReporter()
    assert precompile_wheels({"demo": wheel}, runtime, reporter=reporter) == {"demo": wheel}
    assert reporter.messages == [
        "wheels ship without precompiled bytecode (the kernel starts slower): Node.js was not "
        "found; install Node.js 18 or newer (or set LITE_BUILD_NODE)"
    ]


@pytest.mark.integration
def test_wheels_get_unchecked_hash_pycs_from_the_sites_runtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lite_build.config import load_config
    from lite_build.kernel.bytecode import node_executable
    from lite_build.kernel.runtime import ensure_runtime

    if node_executable() is None:
        pytest.skip("Node.js is not installed")
    monkeypatch.setenv("LITE_BUILD_CACHE_DIR", str(tmp_path / "cache"))
    repo = Path(__file__).resolve().parents[2]
    config = load_config(cwd=repo)
    runtime = ensure_runtime(config.pyodide.version, path=config.pyodide.path)
    wheel = make_wheel(tmp_path)
    reporter = RecordingReporter()
    compiled = precompile_wheels({"demo": wheel}, runtime, reporter=reporter)["demo"]
    assert reporter.messages == []
    assert compiled != wheel and compiled.name == wheel.name
    with zipfile.ZipFile(compiled) as archive:
        names = archive.namelist()
        pyc = archive.read("demo/__pycache__/__init__.cpython-314.pyc")
        record = archive.read("demo-1.0.dist-info/RECORD").decode()
    # the template that is not valid Python stays source only
    assert [name for name in names if name.endswith(".pyc")] == [
        "demo/__pycache__/__init__.cpython-314.pyc"
    ]
    assert "demo/__pycache__/__init__.cpython-314.pyc,," in record
    flags = int.from_bytes(pyc[4:8], "little")
    assert flags == 0b01  # hash-based, not checked against the source
    # the source hash is keyed by the runtime's Python version: 8 bytes, then the code
    assert len(pyc) > 16
    # written beside its cache entry, renamed into place: no partial file is left
    assert [path.name for path in compiled.parent.iterdir()] == [wheel.name]
    # a second build takes the cached wheel
    again = precompile_wheels({"demo": wheel}, runtime, reporter=reporter)["demo"]
    assert again == compiled
