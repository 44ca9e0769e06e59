"""Kernel memory snapshots, made at build time (lite_build/snapshot.py)."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lite_build.kernel.runtime import PyodideRuntime
from lite_build.kernel.snapshot import (
    KERNEL_MODULE,
    SCRIPT,
    START_IMPORTS,
    gzip_image,
    make_snapshot,
    snapshot_imports,
    start_closure,
)
from lite_build.site.paths import SNAPSHOT_FILE
from tests.conftest import REPO, RecordingReporter, make_demo_wheel


@pytest.fixture(scope="module")
def node_runtime() -> tuple[str, PyodideRuntime]:
    """Node.js and the repository's Pyodide runtime, which make and restore snapshots."""
    from lite_build.config import load_config
    from lite_build.kernel.bytecode import node_executable
    from lite_build.kernel.runtime import ensure_runtime

    node = node_executable()
    if node is None:
        pytest.skip("Node.js is not installed")
    config = load_config(cwd=Path(__file__).resolve().parents[2])
    return node, ensure_runtime(config.pyodide.version, path=config.pyodide.path)


def lock_of(**depends: list[str]) -> dict[str, Any]:
    return {
        "packages": {
            name: {
                "name": name,
                "version": "1.0",
                "file_name": f"../../wheels/{name}-1.0-py3-none-any.whl",
                "sha256": "0" * 64,
                "depends": deps,
            }
            for name, deps in depends.items()
        }
    }


def test_the_kernels_shell_is_in_the_snapshot_only_when_all_it_imports_is() -> None:
    # every package in the image and nothing to preload: the shell is made at build time
    assert snapshot_imports([]) == [*START_IMPORTS, KERNEL_MODULE]
    # a compiled extension loads after the restore, and making the shell runs the preload
    # imports: both must wait for the browser
    assert snapshot_imports(["msgpack"]) == list(START_IMPORTS)
    assert snapshot_imports([], preload=["msgpack"]) == list(START_IMPORTS)


def test_the_start_closure_is_the_roots_and_their_dependencies() -> None:
    lock = lock_of(ipython=["traitlets", "Jedi"], jedi=["parso"], parso=[], traitlets=[], attrs=[])
    assert start_closure(lock, ["IPython", "not-in-the-lock"]) == [
        "ipython",
        "jedi",
        "parso",
        "traitlets",
    ]


def test_an_image_is_gzipped_without_name_or_time_and_inflates_to_itself(tmp_path: Path) -> None:
    # several of the compressor's reads (4 MiB each), of bytes that repeat and bytes that do not
    image = tmp_path / "image"
    image.write_bytes(hashlib.sha256(b"seed").digest() * 150_000 + bytes(range(256)) * 20_000)
    packed = [tmp_path / "one.gz", tmp_path / "two.gz"]

    sizes = [gzip_image(image, target) for target in packed]

    data = packed[0].read_bytes()
    assert sizes == [len(data), packed[1].stat().st_size]
    assert gzip.decompress(data) == image.read_bytes()
    # a plain gzip member: no name (flags 0), time 0, so the same image makes the same bytes
    assert data[:3] == b"\x1f\x8b\x08" and data[3] == 0 and data[4:8] == bytes(4)
    assert packed[1].read_bytes() == data
    assert len(data) < image.stat().st_size // 10


def test_without_node_there_is_no_snapshot_and_the_build_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LITE_BUILD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("LITE_BUILD_NODE", raising=False)
    monkeypatch.setattr("lite_build.kernel.bytecode.shutil.which", lambda name: None)
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


#: restores a kernel image with the kernel's worker's own code
RESTORE = Path(__file__).with_name("restore.mjs")
#: that code (extension/src/standalone/kernel-image.ts) as the extension's build writes it for
#: the tests (extension/build-browser.js)
KERNEL_IMAGE_MODULE = REPO / "extension" / "lib" / "kernel-image.mjs"


def restore(
    node: str, runtime: PyodideRuntime, image: Path, check: str, tmp_path: Path, lock: str = ""
) -> str:
    """Restores ``image`` in Node.js as the kernel's worker does; the image's packages and the
    values of the Python expression ``check``, a line each. ``lock``: the site's lock, which
    the kernel's options name (else Pyodide's own)."""
    if not KERNEL_IMAGE_MODULE.exists():
        pytest.fail(
            f"{KERNEL_IMAGE_MODULE} is missing: run `npm run build` in extension/ "
            "(scripts/setup.sh does it)"
        )
    folder = runtime.folder.resolve()
    options = {
        "pyodideUrl": (folder / "pyodide.mjs").as_uri(),
        "indexUrl": f"{folder}/",
        "loadPyodideOptions": {"lockFileURL": lock} if lock else {},
    }
    check_file = tmp_path / "check.py"
    check_file.write_text(check)
    restored = subprocess.run(
        [
            node,
            str(RESTORE),
            KERNEL_IMAGE_MODULE.as_uri(),
            json.dumps(options),
            str(image),
            str(check_file),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return restored.stdout


#: the demo package of the images below, imported at build time: its answer is computed then,
#: and its random number and clock reading show whether the same inputs make the same image
DEMO_INIT = "import random, time\nANSWER = 6 * 7\nMADE = (random.random(), time.time())\n"
#: the environment the images' Python starts with
DEMO_ENV = {"DEMO": "from the build"}
#: what the build says while it makes one
MAKING = (
    "making the kernel snapshot with Node.js (the kernel's wheels unpacked, IPython imported; "
    "about 15 s, then cached)"
)


@dataclass
class DemoImages:
    """The demo kernel's image, made in two folders, each with a cache of its own."""

    runtime: PyodideRuntime
    lock: dict[str, Any]
    wheels: dict[str, Path]
    #: the folders the builds ran in, and the images they made
    folders: list[Path]
    images: list[Path]
    messages: list[str]

    def make(self, env: dict[str, str], reporter: RecordingReporter) -> Path | None:
        """The demo kernel's image for ``env``, into the cache the environment names."""
        roots = ["demo", "native"]
        return make_snapshot(
            self.runtime, self.lock, self.wheels, roots=roots, env=env, reporter=reporter
        )


@pytest.fixture(scope="module")
def demo_images(
    node_runtime: tuple[str, PyodideRuntime], tmp_path_factory: pytest.TempPathFactory
) -> DemoImages:
    """Made once for the tests that read them (each image is a Node.js run of 10 to 20 s): a
    pure wheel goes into the image; a wheel with a compiled extension is left out, for Pyodide
    to load the usual way after the restore."""
    _, runtime = node_runtime
    root = tmp_path_factory.mktemp("images")
    wheel = make_demo_wheel(root, {"demo/__init__.py": DEMO_INIT})
    native = root / "native-1.0-py3-none-any.whl"
    with zipfile.ZipFile(native, "w") as archive:
        archive.writestr("native/_speedups.so", b"\0asm")
    lock = lock_of(demo=[], native=[])
    lock["packages"]["native"]["file_name"] = native.name
    reporter = RecordingReporter()
    demo = DemoImages(
        runtime, lock, {wheel.name: wheel, native.name: native}, [], [], reporter.messages
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("lite_build.kernel.snapshot.START_IMPORTS", ("demo",))
        for name in ("first", "second/deeper"):
            cwd = root / name
            cwd.mkdir(parents=True)
            patch.chdir(cwd)
            patch.setenv("LITE_BUILD_CACHE_DIR", str(cwd / "cache"))
            made = demo.make(DEMO_ENV, reporter)
            assert made is not None
            demo.folders.append(cwd)
            demo.images.append(made)
    return demo


@pytest.mark.integration
def test_a_snapshot_holds_the_imported_modules(
    node_runtime: tuple[str, PyodideRuntime], demo_images: DemoImages, tmp_path: Path
) -> None:
    node, runtime = node_runtime
    made = demo_images.images[0]
    assert made.name == SNAPSHOT_FILE
    assert demo_images.messages == [MAKING, MAKING]  # once in each folder
    assert len(gzip.decompress(made.read_bytes())) > made.stat().st_size
    check = (
        "import sys, os, importlib.metadata as metadata\n"
        "demo = sys.modules['demo']\n"
        "[demo.ANSWER, os.environ['DEMO'], sys.path.count(''), metadata.version('demo'),\n"
        " metadata.distribution('demo').read_text('INSTALLER'),\n"
        " 'ANSWER' in open(demo.__file__).read()]\n"
    )
    packages, checks = restore(node, runtime, made, check, tmp_path).strip().splitlines()[-2:]
    assert packages == "demo | native"  # in the image | loaded by the worker after the restore
    # imported at build time; the environment as configured; "" on sys.path once; the wheel's
    # files and metadata in place, as loadPackage would have left them
    assert checks == "42 from the build 1 1.0 pyodide.loadPackage true"


@pytest.mark.integration
def test_a_snapshot_is_made_once_then_taken_from_the_cache(
    demo_images: DemoImages, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a copy of the first folder's cache: this test's failed attempt leaves an empty entry
    cache = shutil.copytree(demo_images.folders[0] / "cache", tmp_path / "cache")
    monkeypatch.setattr("lite_build.kernel.snapshot.START_IMPORTS", ("demo",))
    monkeypatch.setenv("LITE_BUILD_CACHE_DIR", str(cache))
    # no Node.js run from here on: the same inputs take the cached file, other settings would
    # make another
    monkeypatch.setattr("lite_build.kernel.snapshot.subprocess.run", _fail)
    reporter = RecordingReporter()

    cached = demo_images.make(DEMO_ENV, reporter)
    assert cached == cache / demo_images.images[0].relative_to(demo_images.folders[0] / "cache")
    assert reporter.messages == []
    assert demo_images.make({"DEMO": "changed"}, reporter) is None
    assert reporter.messages == [
        MAKING,
        "the site ships without kernel snapshots (each kernel starts about 5 s slower): making "
        "one with Node.js failed: not again",
    ]


@pytest.mark.integration
def test_the_same_inputs_make_the_same_image_from_any_folder(demo_images: DemoImages) -> None:
    for made in demo_images.images:
        # made beside its cache entry and renamed into place: nothing else is left there
        assert [path.name for path in made.parent.parent.iterdir()] == [made.parent.name]
        assert [path.name for path in made.parent.iterdir()] == [SNAPSHOT_FILE]
    first, second = (gzip.decompress(made.read_bytes()) for made in demo_images.images)
    assert first == second
    # nothing of the machine that made it: not its folders, not the script's path
    for machine_path in (str(demo_images.folders[0].parent), str(SCRIPT.parent)):
        assert machine_path.encode() not in first


@pytest.mark.integration
def test_a_shell_that_fails_at_build_time_is_left_to_the_browser(
    node_runtime: tuple[str, PyodideRuntime], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    node, runtime = node_runtime
    monkeypatch.setenv("LITE_BUILD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr("lite_build.kernel.snapshot.START_IMPORTS", ("demo",))
    monkeypatch.setattr("lite_build.kernel.snapshot.KERNEL_MODULE", "demo.shell")
    shell = "import demo\ndemo.HALF_MADE = True\nraise RuntimeError('no shell here')\n"
    wheel = make_demo_wheel(tmp_path, {"demo/__init__.py": "", "demo/shell.py": shell})

    made = make_snapshot(runtime, lock_of(demo=[]), {wheel.name: wheel}, roots=["demo"], env={})

    assert made is not None
    check = "import sys\n['demo' in sys.modules, hasattr(sys.modules['demo'], 'HALF_MADE')]\n"
    output = restore(node, runtime, made, check, tmp_path).strip().splitlines()[-1]
    # made again without the shell: nothing of its failed attempt is restored
    assert output == "true false"


#: module code that leaves state only the build's Node.js has, and what the build says of it
UNFAITHFUL = (
    (
        "KEPT = open('/tmp/kept-open.txt', 'w')\n",
        "it holds open files, which do not exist after a restore: /tmp/kept-open.txt",
    ),
    (
        "import asyncio\nasyncio.get_event_loop().call_later(3600, print)\n",
        "1 JavaScript timer(s) are pending (asyncio callbacks), which a restore drops",
    ),
    (
        "import random\nOWN = random.Random()\n",
        "1 random generator(s) besides random's own, which every kernel would share",
    ),
)


@pytest.mark.integration
def test_an_image_that_would_hold_node_only_state_is_not_made_and_the_build_says_why(
    node_runtime: tuple[str, PyodideRuntime], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, runtime = node_runtime
    monkeypatch.setenv("LITE_BUILD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr("lite_build.kernel.snapshot.START_IMPORTS", ("demo",))
    # one module leaves all three behind: each is found and named (one Node.js run, not three)
    source = "".join(code for code, _ in UNFAITHFUL)
    wheel = make_demo_wheel(tmp_path, {"demo/__init__.py": source})
    reporter = RecordingReporter()

    made = make_snapshot(
        runtime,
        lock_of(demo=[]),
        {wheel.name: wheel},
        roots=["demo"],
        env={},
        # a preloaded package keeps the kernel's shell out of the image: the kernel module, not
        # in this test's runtime, would otherwise fail to import and the image be made again
        preload=["demo"],
        reporter=reporter,
        name="course",
    )

    assert made is None
    reasons = "; ".join(reason for _, reason in UNFAITHFUL)
    assert reporter.messages[-1] == (
        "the site ships no kernel snapshot of environment 'course': it would not be the "
        f"Python a browser starts ({reasons}); that kernel starts the usual way, about 5 s slower"
    )
    assert not list((tmp_path / "cache").rglob(SNAPSHOT_FILE))
    assert not list((tmp_path / "cache").rglob(".making-*"))


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


@pytest.mark.integration
def test_the_default_python_kernel_restores_with_its_shell_made(
    node_runtime: tuple[str, PyodideRuntime], default_site: Path, tmp_path: Path
) -> None:
    node, runtime = node_runtime
    check = (
        "import sys\n"
        "made = 'pyodide_kernel' in sys.modules\n"
        "shell = made and sys.modules['pyodide_kernel'].ipython_shell\n"
        "answer = shell and shell.run_cell('answer = 6 * 7').success and shell.user_ns['answer']\n"
        "[made, answer]\n"
    )
    outputs = {
        name: restore(
            node,
            runtime,
            default_site / "static" / "environments" / name / SNAPSHOT_FILE,
            check,
            tmp_path,
        )
        .strip()
        .splitlines()[-1]
        for name in ("python", "packages")
    }

    # "python": the shell was made at build time and runs a cell after the restore;
    # "packages" preloads msgpack, a compiled extension: its shell is made in the browser
    assert outputs == {"python": "true 42", "packages": "false false"}


@pytest.mark.integration
def test_micropip_is_in_the_snapshot_and_reads_the_restoring_sites_lock(
    node_runtime: tuple[str, PyodideRuntime], default_site: Path, tmp_path: Path
) -> None:
    node, runtime = node_runtime
    environment = default_site / "static" / "environments" / "python"
    check = (
        "import sys\n"
        "imported = 'micropip' in sys.modules and 'piplite.piplite' in sys.modules\n"
        "import micropip, pyodide_js\n"
        "layer = micropip._compat.compatibility_layer\n"
        "[imported, layer.lockfile_base_url == pyodide_js.lockfileBaseUrl,\n"
        " 'lite-build-environment' in layer.lockfile_packages,\n"
        " layer.loadedPackages.to_py() == pyodide_js.loadedPackages.to_py()]\n"
    )

    output = restore(
        node,
        runtime,
        environment / SNAPSHOT_FILE,
        check,
        tmp_path,
        str(environment / "pyodide-lock.json"),
    )

    # imported at build time (its JavaScript objects named in the snapshot); after the restore
    # it reads this site's lock, not the build machine's: its packages, its base URL
    assert output.strip().splitlines()[-1] == "true true true true"
