"""Precompiled bytecode for the wheels a site ships.

Wheels from PyPI hold only sources, so the kernel compiles every module it imports at start
(IPython, jedi, prompt_toolkit, pygments ...) in the browser, each time. Pyodide's own packages
ship compiled bytecode; this module gives the other wheels the same: each wheel gets
``__pycache__/*.pyc`` files next to its sources, compiled by the site's own Pyodide runtime
running in Node.js (a .pyc is only valid for the exact Python that made it). Compiled wheels are
cached by the source wheel's hash and the runtime version.

Node.js is only needed at build time; without it, wheels ship as they are and the build says so.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from lite_build.cache import cache_dir, sha256_of
from lite_build.kernel.runtime import PyodideRuntime
from lite_build.resources import TEMPLATES
from lite_build.ui import NullReporter, Reporter

log = logging.getLogger("lite_build")

TEMPLATES = TEMPLATES
SCRIPT = TEMPLATES / "compile-wheels.mjs"
#: where Pyodide sees the host's file system (see compile-wheels.mjs)
HOST = "/host"
TIMEOUT = 600
#: bump when compile_wheels.py changes what it writes: cached wheels are then made again
FORMAT = "1"


def node_executable() -> str | None:
    return os.environ.get("LITE_BUILD_NODE") or shutil.which("node")


def compiled_path(wheel: Path, runtime: PyodideRuntime) -> Path:
    """Where the compiled copy of ``wheel`` is cached."""
    key = sha256_of(wheel)[:32]
    return cache_dir() / "bytecode" / f"pyodide-{runtime.version}-v{FORMAT}" / key / wheel.name


def precompile_wheels(
    wheels: Mapping[str, Path],
    runtime: PyodideRuntime,
    *,
    reporter: Reporter | None = None,
) -> dict[str, Path]:
    """``wheels`` (package name -> wheel file) with each wheel replaced by its compiled copy.

    Without Node.js, or when compiling fails, the wheels are returned as they are: the site
    still works, its kernel only starts slower. The reporter says so.
    """
    reporter = reporter or NullReporter()
    result = dict(wheels)
    targets = {name: compiled_path(path, runtime) for name, path in wheels.items()}
    todo = {name: path for name, path in wheels.items() if not targets[name].is_file()}
    if todo:
        node = node_executable()
        if node is None:
            reporter.info(
                "wheels ship without precompiled bytecode (the kernel starts slower): Node.js "
                "was not found; install Node.js 18 or newer (or set LITE_BUILD_NODE)"
            )
            return result
        try:
            _compile(node, todo, targets, runtime)
        except (OSError, subprocess.SubprocessError, ValueError) as error:
            reporter.info(
                f"wheels ship without precompiled bytecode (the kernel starts slower): "
                f"compiling them with Node.js failed: {error}"
            )
            return result
    for name in wheels:
        result[name] = targets[name]
    return result


def _compile(
    node: str, todo: Mapping[str, Path], targets: Mapping[str, Path], runtime: PyodideRuntime
) -> None:
    # each compiled wheel is written beside its cache entry and renamed into place only once
    # all are made: another build (say, of another project) reading the cache at the same
    # time sees a complete wheel or none
    partials = {}
    jobs = []
    for name, source in todo.items():
        target = targets[name]
        target.parent.mkdir(parents=True, exist_ok=True)
        partials[name] = target.with_name(f".{target.name}.{os.getpid()}.partial")
        jobs.append([HOST + str(source.resolve()), HOST + str(partials[name].resolve())])
    try:
        with tempfile.TemporaryDirectory(prefix="lite-build-bytecode-") as tmp:
            jobs_file = Path(tmp) / "jobs.json"
            jobs_file.write_text(json.dumps(jobs), encoding="utf-8")
            completed = subprocess.run(
                [node, str(SCRIPT), str(runtime.folder.resolve()), str(jobs_file.resolve())],
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
                check=False,
            )
        if completed.returncode != 0:
            detail = completed.stderr.strip().splitlines()[-1:] or [f"exit {completed.returncode}"]
            raise ValueError(detail[0][:300])
        for name, partial in partials.items():
            os.replace(partial, targets[name])
    finally:
        for partial in partials.values():
            partial.unlink(missing_ok=True)
    summary = json.loads(completed.stdout.strip().splitlines()[-1])
    log.info("precompiled %d wheel(s): %s", len(summary), summary)
