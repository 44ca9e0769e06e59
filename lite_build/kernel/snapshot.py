"""A memory snapshot of each environment's Python, with the kernel's modules already imported.

Starting the kernel means starting Python (about 2 s), unpacking the kernel's wheels (1 to 2 s)
and importing IPython, traitlets, jedi and their dependencies (4 to 6 s in the browser), every
time a notebook opens. At build time, the site's own Pyodide runtime does all of it once in
Node.js and saves the result as the environment's kernel image; in the browser the kernel's
worker restores that instead (about a second). What an image holds:

- Pyodide's WebAssembly memory, with the modules imported; the few JavaScript objects of
  Pyodide's own API they keep (micropip's) are named in the image and looked up again in the
  restored runtime, and micropip then reads the site's lock again;
- the files of the kernel's pure-Python wheels (sources for tracebacks, jedi's stubs, lazily
  imported modules), written before Python starts: no ``loadPackage`` for them; wheels with
  compiled extensions still load the usual way;
- the state of Python at build time, made right after the restore: ``random`` is seeded again
  from the browser's randomness and the time zone is read again, so no two kernels share them.

A snapshot fits one runtime build, one environment's lock and the kernel's settings, and is
cached under that key. It ships gzip-compressed (the worker inflates it with the browser's
``DecompressionStream``, so no host setting is needed; see :func:`gzip_image`) and is fetched
only by a kernel that starts: the precache keeps it as it passes instead of downloading every
environment's. When it is missing, from another build, or fails to restore, the kernel starts
the usual way.

Node.js is only needed at build time; without it, sites ship without snapshots and say so.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from zlib_ng import zlib_ng

from lite_build.cache import cache_dir, sha256_of
from lite_build.kernel.bytecode import node_executable
from lite_build.kernel.runtime import PyodideRuntime
from lite_build.packages.pyodide_lock import lock_entries
from lite_build.resources import TEMPLATES
from lite_build.site.paths import SNAPSHOT_FILE
from lite_build.ui import NullReporter, Reporter

log = logging.getLogger("lite_build")

SCRIPT = TEMPLATES / "make-snapshot.mjs"
TIMEOUT = 600
#: bump when what this module asks of make-snapshot.mjs changes: cached snapshots are then
#: made again (a change to the script itself does that alone: its hash is in the key)
FORMAT = "7"

#: what the kernel imports when it starts, imported before it exists: in the snapshot, or by
#: the kernel's worker while the app boots (none of them reads the current folder or settings).
#: micropip keeps Pyodide's API objects and copies of the lock from its import on: the snapshot
#: names the objects (make-snapshot.mjs), and the worker has micropip read the lock again after
#: the restore (extension/src/standalone/kernel-image.ts)
START_IMPORTS = (
    "micropip",
    "piplite.piplite",
    "traitlets",
    "comm",
    "jedi",
    "IPython.core.application",
    "IPython.core.history",
    "IPython.core.interactiveshell",
    "IPython.core.shellapp",
    "IPython.utils.tokenutil",
)


#: the kernel's own module: importing it makes the IPython shell (about 1 s in the browser).
#: It is in the snapshot when every package the kernel starts with is (no compiled extension
#: loaded after the restore) and the environment preloads nothing: importing it runs the
#: environment's preload imports (lite_build/kernel.py), which need their packages in place.
KERNEL_MODULE = "pyodide_kernel"


def snapshot_imports(load: Iterable[str], *, preload: Iterable[str] = ()) -> list[str]:
    """The modules a snapshot imports: :data:`START_IMPORTS`, then the kernel's own module
    where it can be."""
    kernel = [] if list(load) or list(preload) else [KERNEL_MODULE]
    return [*START_IMPORTS, *kernel]


def start_closure(lock: Mapping[str, Any], roots: Iterable[str]) -> list[str]:
    """The lock's packages that loading ``roots`` loads: the roots and their dependencies."""
    packages = lock_entries(lock)
    seen: set[str] = set()
    todo = [canonicalize_name(name) for name in roots]
    while todo:
        name = todo.pop()
        if name in seen or name not in packages:
            continue
        seen.add(name)
        todo.extend(canonicalize_name(dep) for dep in packages[name].depends)
    return sorted(seen)


def snapshot_key(
    runtime: PyodideRuntime,
    wheels: Iterable[Path],
    env: Mapping[str, str],
    load: Iterable[str] = (),
    imports: Iterable[str] = START_IMPORTS,
) -> str:
    """What a snapshot depends on: the runtime, the unpacked wheels, the environment
    variables Python starts with, the modules imported, and the script that makes it."""
    digest = hashlib.sha256()
    parts = {
        "runtime": runtime.version,
        "runtime files": sorted(sha256_of(path) for path in runtime.files),
        "wheels": sorted(sha256_of(path) for path in wheels),
        "env": dict(sorted(env.items())),
        "imports": list(imports),
        "load": sorted(load),
        "format": FORMAT,
        # the script that makes it: a change to it (a development install) makes images again
        "script": sha256_of(SCRIPT),
    }
    digest.update(json.dumps(parts, sort_keys=True).encode())
    return digest.hexdigest()[:32]


def make_snapshot(
    runtime: PyodideRuntime,
    lock: Mapping[str, Any],
    wheels: Mapping[str, Path],
    *,
    roots: Iterable[str],
    env: Mapping[str, str],
    preload: Iterable[str] = (),
    reporter: Reporter | None = None,
    name: str = "",
) -> Path | None:
    """The snapshot of a kernel whose lock is ``lock`` (wheels: file name -> path on disk) and
    which loads ``roots`` at start (``name``: its environment, for messages); made once, then
    taken from the cache.

    None when it cannot be made (no Node.js, or the runtime failed): the reporter says why, and
    the site's kernel starts the usual way.
    """
    reporter = reporter or NullReporter()
    packages = lock_entries(lock)
    pure: dict[str, Path] = {}
    closure = start_closure(lock, roots)
    for package in closure:
        file_name = packages[package].file
        if file_name in wheels and file_name.endswith(".whl") and _is_pure(wheels[file_name]):
            pure[package] = wheels[file_name]
    # the rest (compiled extensions) is loaded by the kernel's worker after the restore
    load = [package for package in closure if package not in pure]
    imports = snapshot_imports(load, preload=preload)
    key = snapshot_key(runtime, pure.values(), env, load, imports)
    folder = cache_dir() / "snapshots" / f"pyodide-{runtime.version}-v{FORMAT}" / key
    target = folder / SNAPSHOT_FILE
    if target.is_file():
        return target
    node = node_executable()
    if node is None:
        reporter.info(
            "the site ships without kernel snapshots (each kernel starts about 5 s slower): "
            "Node.js was not found; install Node.js 18 or newer (or set LITE_BUILD_NODE), or "
            "set `snapshot = false`"
        )
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    label = f" of environment {name!r}" if name else ""
    reporter.info(
        f"making the kernel snapshot{label} with Node.js (the kernel's wheels unpacked, "
        "IPython imported; about 15 s, then cached)"
    )
    try:
        summary = _make(node, runtime, pure, load, imports, env, target, seed=key)
        if KERNEL_MODULE in summary.get("failed", []) or (
            summary.get("unfaithful") and KERNEL_MODULE in imports
        ):
            # a shell that failed half-way, or that left state only Node.js has, must not be
            # restored: the kernel makes it in the browser instead
            log.warning(
                "making the kernel's shell at build time failed (%s); the browser makes it",
                "; ".join(summary.get("unfaithful", [])) or "its import failed",
            )
            summary = _make(node, runtime, pure, load, list(START_IMPORTS), env, target, seed=key)
    except (OSError, subprocess.SubprocessError, ValueError) as error:
        reporter.info(
            f"the site ships without kernel snapshots (each kernel starts about 5 s slower): "
            f"making one with Node.js failed: {error}"
        )
        return None
    if summary.get("unfaithful"):
        reporter.info(
            f"the site ships no kernel snapshot{label}: it would not be the Python a browser "
            f"starts ({'; '.join(summary['unfaithful'])}); that kernel starts the usual way, "
            "about 5 s slower"
        )
        return None
    if summary.get("failed"):
        log.warning(
            "the kernel snapshot lacks modules that failed to import: %s", summary["failed"]
        )
    log.info("made a kernel snapshot: %s", summary)
    return target


def _is_pure(wheel: Path) -> bool:
    """Whether ``wheel`` holds no compiled extension (those must be loaded by Pyodide)."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            return not any(name.endswith(".so") for name in archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


def _make(
    node: str,
    runtime: PyodideRuntime,
    wheels: Mapping[str, Path],
    load: list[str],
    imports: list[str],
    env: Mapping[str, str],
    target: Path,
    *,
    seed: str,
) -> dict[str, Any]:
    """Run make-snapshot.mjs; the image lands at ``target`` unless the summary says it would
    be unfaithful (``unfaithful``: the reasons)."""
    # made beside the cache entry (the same file system), so that the image moves into place
    # in one rename: another build reading the cache at the same time sees it whole or not at all
    with tempfile.TemporaryDirectory(prefix=".making-", dir=target.parent) as tmp:
        partial = Path(tmp) / SNAPSHOT_FILE
        job = {
            "env": dict(env),
            "wheels": [
                {"name": name, "path": str(path.resolve())} for name, path in wheels.items()
            ],
            "load": load,
            "imports": imports,
            # the build-time Python's randomness (its hash secret): the same for the same inputs
            "seed": seed,
            "output": str(partial),
        }
        job_file = Path(tmp) / "job.json"
        job_file.write_text(json.dumps(job), encoding="utf-8")
        completed = subprocess.run(
            [node, str(SCRIPT), str(runtime.folder.resolve()), str(job_file)],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        if completed.returncode != 0:
            lines = [line for line in completed.stderr.strip().splitlines() if line.strip()]
            detail = lines[-1] if lines else f"exit {completed.returncode}"
            raise ValueError(detail[:300])
        summary: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
        if not summary.get("unfaithful"):
            packed = partial.with_name(SNAPSHOT_FILE + ".gz")
            summary["compressed"] = gzip_image(partial, packed)
            # moved into the cache only when complete: an interrupted build leaves no half file
            os.replace(packed, target)
    return summary


#: how hard the image is compressed: zlib's best. Level 6 would take a third of the time for
#: 2 % more bytes on every learner's first kernel start
IMAGE_LEVEL = 9
#: how much of the image is read at a time while it is compressed
CHUNK = 1 << 22


def gzip_image(image: Path, target: Path) -> int:
    """Write ``image`` gzip-compressed (no name, no time: the same image gives the same bytes)
    to ``target``; its size.

    Compressed with zlib-ng, not the standard library's zlib or Node.js's: at the same level
    its output was 1.1 % smaller than Node.js's (16.73 MB against 16.92 MB for the default
    kernel's 69 MB image) in 2.2 s of CPU instead of 5.0 (8.4 with the standard library). The
    stream is plain gzip: any inflater reads it."""
    compressor = zlib_ng.compressobj(IMAGE_LEVEL, zlib_ng.DEFLATED, 16 + zlib_ng.MAX_WBITS)
    size = 0
    with image.open("rb") as source, target.open("wb") as packed:
        while chunk := source.read(CHUNK):
            size += packed.write(compressor.compress(chunk))
        size += packed.write(compressor.flush())
    return size
