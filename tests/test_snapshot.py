"""Kernel memory snapshots, made at build time (lite_build/snapshot.py)."""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from lite_build.runtime import PyodideRuntime
from lite_build.snapshot import (
    NOT_IN_SNAPSHOT,
    SNAPSHOT_FILE,
    START_IMPORTS,
    make_snapshot,
    snapshot_imports,
    start_closure,
)
from tests.conftest import RecordingReporter


def lock_of(**depends: list[str]) -> dict[str, Any]:
    return {
        "packages": {
            name: {
                "name": name,
                "file_name": f"../../wheels/{name}-1.0-py3-none-any.whl",
                "depends": deps,
            }
            for name, deps in depends.items()
        }
    }


def make_wheel(folder: Path) -> Path:
    path = folder / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr("demo/__init__.py", "import random\nANSWER = 6 * 7\n")
        wheel.writestr("demo-1.0.dist-info/METADATA", "Name: demo\nVersion: 1.0\n")
        wheel.writestr("demo-1.0.dist-info/RECORD", "demo/__init__.py,,\n")
    return path


def test_the_start_closure_is_the_roots_and_their_dependencies() -> None:
    lock = lock_of(ipython=["traitlets", "Jedi"], jedi=["parso"], parso=[], traitlets=[], attrs=[])
    assert start_closure(lock, ["IPython", "not-in-the-lock"]) == [
        "ipython",
        "jedi",
        "parso",
        "traitlets",
    ]


def test_modules_holding_javascript_objects_are_imported_after_the_restore() -> None:
    assert "micropip" in START_IMPORTS
    assert set(snapshot_imports()) == set(START_IMPORTS) - NOT_IN_SNAPSHOT
    assert "micropip" not in snapshot_imports()


def test_without_node_there_is_no_snapshot_and_the_build_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LITE_BUILD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("LITE_BUILD_NODE", raising=False)
    monkeypatch.setattr("lite_build.bytecode.shutil.which", lambda name: None)
    runtime = PyodideRuntime(version="0.0.0", folder=tmp_path, lock={})
    for path in runtime.files:
        path.write_text(path.name)
    reporter = RecordingReporter()

    made = make_snapshot(
        runtime,
        lock_of(demo=[]),
        {},
        roots=["demo"],
        env={},
        reporter=reporter,
    )

    assert made is None
    assert reporter.messages == [
        "the site ships without kernel snapshots (each kernel starts about 5 s slower): "
        "Node.js was not found; install Node.js 18 or newer (or set LITE_BUILD_NODE), or "
        "set `snapshot = false`"
    ]


#: restores a kernel image the way the kernel's worker does (extension/src/prestart.worker.ts)
RESTORE = """
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { gunzipSync } from "node:zlib";
const [indexURL, file] = process.argv.slice(2);
const bytes = gunzipSync(readFileSync(file));
if (bytes.subarray(0, 4).toString() !== "LBK1") throw new Error("no image");
const length = bytes.readUInt32LE(4);
const header = JSON.parse(bytes.subarray(8, 8 + length).toString());
const align = (offset) => Math.ceil(offset / 16) * 16;
let offset = align(8 + length);
const files = header.files.map(([path, size]) => [path, bytes.subarray(offset, (offset += size))]);
const snapshot = new Uint8Array(bytes.subarray(align(offset)));
const { loadPyodide } = await import(pathToFileURL(indexURL + "pyodide.mjs").href);
const asm = await import(pathToFileURL(indexURL + "pyodide.asm.mjs").href);
const pyodide = await loadPyodide({
  indexURL,
  _loadSnapshot: snapshot,
  createPyodideModule: async (settings) => {
    const module = await asm.default(settings);
    if (module.HEAP8.length < snapshot.length) module.growMemory(snapshot.length);
    return module;
  },
  fsInit: (FS) => {
    for (const [path, data] of files) {
      FS.mkdirTree(path.slice(0, path.lastIndexOf("/")));
      FS.writeFile(path, data);
    }
  },
});
console.log(header.packages.join(",") + " | " + header.load.join(","));
console.log(pyodide.runPython(`
import sys, os, importlib.metadata as metadata
demo = sys.modules['demo']
[demo.ANSWER, os.environ['DEMO'], sys.path.count(''), metadata.version('demo'),
 metadata.distribution('demo').read_text('INSTALLER'), 'ANSWER' in open(demo.__file__).read()]
`).toJs().join(" "));
"""


@pytest.mark.integration
def test_a_snapshot_holds_the_imported_modules_and_is_made_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lite_build.bytecode import node_executable
    from lite_build.config import load_config
    from lite_build.runtime import ensure_runtime

    node = node_executable()
    if node is None:
        pytest.skip("Node.js is not installed")
    repo = Path(__file__).resolve().parent.parent
    config = load_config(cwd=repo)
    runtime = ensure_runtime(config.pyodide.version, path=config.pyodide.path)
    monkeypatch.setenv("LITE_BUILD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr("lite_build.snapshot.START_IMPORTS", ("demo",))
    wheel = make_wheel(tmp_path)
    # a wheel with a compiled extension is not in the image: Pyodide loads it the usual way
    native = tmp_path / "native-1.0-py3-none-any.whl"
    with zipfile.ZipFile(native, "w") as archive:
        archive.writestr("native/_speedups.so", b"\0asm")
    lock = lock_of(demo=[], native=[])
    lock["packages"]["native"]["file_name"] = native.name
    reporter = RecordingReporter()

    def snapshot_with(env: dict[str, str]) -> Path | None:
        wheels = {wheel.name: wheel, native.name: native}
        return make_snapshot(
            runtime, lock, wheels, roots=["demo", "native"], env=env, reporter=reporter
        )

    made = snapshot_with({"DEMO": "from the build"})

    assert made is not None and made.name == SNAPSHOT_FILE
    assert reporter.messages == [
        "making the kernel snapshot with Node.js (the kernel's wheels unpacked, IPython "
        "imported; about 15 s, then cached)"
    ]
    assert len(gzip.decompress(made.read_bytes())) > made.stat().st_size
    script = tmp_path / "restore.mjs"
    script.write_text(RESTORE)
    restored = subprocess.run(
        [node, str(script), f"{runtime.folder.resolve()}/", str(made)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    packages, checks = restored.stdout.strip().splitlines()[-2:]
    assert packages == "demo | native"  # in the image | loaded by the worker after the restore
    # imported at build time; the environment as configured; "" on sys.path once; the wheel's
    # files and metadata in place, as loadPackage would have left them
    assert checks == "42 from the build 1 1.0 pyodide.loadPackage true"

    # made once: the same inputs take the cached file, other settings make another
    monkeypatch.setattr("lite_build.snapshot.subprocess.run", _fail)
    assert snapshot_with({"DEMO": "from the build"}) == made
    assert snapshot_with({"DEMO": "changed"}) is None
    assert reporter.messages[-1].endswith("making one with Node.js failed: not again")


def _fail(*args: Any, **kwargs: Any) -> Any:
    raise subprocess.SubprocessError("not again")


@pytest.mark.integration
def test_the_default_site_ships_one_snapshot_per_environment(default_site: Path) -> None:
    config = json.loads((default_site / "jupyter-lite.json").read_text())["jupyter-config-data"]
    kernels = config["litePluginSettings"]["@lite-build/environments-extension:kernels"]["kernels"]
    worker = (default_site / "lite-build-sw.js").read_text()
    for kernel in kernels:
        options = kernel["loadPyodideOptions"]
        url = options["liteBuildSnapshotURL"]
        path, sha256 = url.split("?sha256=")
        snapshot = default_site / path
        assert path == f"./static/environments/{kernel['name']}/{SNAPSHOT_FILE}"
        assert hashlib.sha256(snapshot.read_bytes()).hexdigest() == sha256
        assert snapshot.read_bytes()[:2] == b"\x1f\x8b"  # gzip: inflated by the worker
        assert options["liteBuildImports"] == list(START_IMPORTS)
        # kept by the precache when a kernel fetches it, not fetched for every environment
        assert f'"{path[2:]}"' in worker.split('"onDemand":')[1]
