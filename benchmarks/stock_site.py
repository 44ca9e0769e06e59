"""A stock JupyterLite 0.8.6 + jupyterlite-pyodide-kernel 0.8.6 offline site, for comparison.

Made as PLATFORM.md describes: a ``pyodide/`` folder with the same Pyodide core a lite-build
site ships and the kernel's wheels (the same files the lite-build site ships, each lock entry
pointing at its file with its real sha256), packed as ``pyodide.tar.bz2``; then
``jupyter lite build --pyodide pyodide.tar.bz2 --piplite-wheels comm-*.whl --no-sourcemaps``
with the same content. Cached under the lite-build cache by what it is made of.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from packaging.utils import canonicalize_name, parse_wheel_filename

from lite_build.cache import cache_dir, sha256_of
from lite_build.kernel.runtime import RUNTIME_FILES, ensure_runtime

#: what the stock kernel installs at start (jupyterlite-pyodide-kernel 0.8.6), from the lock
KERNEL_ROOTS = ("micropip", "ipython", "jedi")
#: not in Pyodide 314's lock: given to piplite, or the kernel asks PyPI
PIPLITE_ONLY = ("comm",)
VERSIONS = ("jupyterlite-core==0.8.6", "jupyterlite-pyodide-kernel==0.8.6")


def stock_site(lite_site: Path, content: Path) -> Path:
    """The stock site with ``lite_site``'s runtime and kernel wheels, and ``content``."""
    version = json.loads((lite_site / "lite-build.json").read_text("utf-8"))["pyodide"]
    runtime = ensure_runtime(version).folder
    wheels = sorted((lite_site / "static" / "wheels").glob("*.whl"))
    digest = hashlib.sha256()
    for path in [*(runtime / name for name in RUNTIME_FILES), *wheels]:
        digest.update(f"{path.name} {sha256_of(path)}\n".encode())
    for path in sorted(content.rglob("*")):
        if path.is_file():
            digest.update(f"{path.relative_to(content)} {sha256_of(path)}\n".encode())
    digest.update(" ".join(VERSIONS).encode())
    site = cache_dir() / "bench-stock" / digest.hexdigest()[:16]
    if (site / "repl" / "index.html").is_file():
        return site
    with tempfile.TemporaryDirectory(prefix="bench-stock-") as tmp:
        work = Path(tmp)
        tarball = _pyodide_tarball(runtime, wheels, work)
        comm = [str(w) for w in wheels if canonicalize_name(w.name.split("-")[0]) in PIPLITE_ONLY]
        output = work / "site"
        subprocess.run(
            [sys.executable, "-m", "jupyter", "lite", "build", "--pyodide", str(tarball),
             *(arg for wheel in comm for arg in ("--piplite-wheels", wheel)),
             "--no-sourcemaps", "--contents", str(content.resolve()),
             "--output-dir", str(output)],
            cwd=work, check=True, capture_output=True,
        )  # fmt: skip
        if not (output / "static" / "pyodide" / "pyodide.asm.wasm").is_file():
            raise RuntimeError("the stock build did not ship the offline Pyodide")
        if site.exists():
            shutil.rmtree(site)
        site.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(output), site)
    return site


def _pyodide_tarball(runtime: Path, wheels: list[Path], work: Path) -> Path:
    folder = work / "pyodide"
    folder.mkdir()
    for name in RUNTIME_FILES:
        shutil.copy2(runtime / name, folder / name)
    upstream = json.loads((runtime / "pyodide-lock.json").read_text("utf-8"))
    packages = upstream["packages"]
    by_name = {canonicalize_name(parse_wheel_filename(w.name)[0]): w for w in wheels}
    todo, needed = list(KERNEL_ROOTS), set()
    while todo:
        name = canonicalize_name(todo.pop())
        if name in needed or name not in packages or name not in by_name:
            continue
        needed.add(name)
        todo.extend(packages[name]["depends"])
    for name in needed:
        wheel = by_name[name]
        shutil.copy2(wheel, folder / wheel.name)
        entry = packages[name]
        entry.update(
            file_name=wheel.name,
            sha256=sha256_of(wheel),
            version=str(parse_wheel_filename(wheel.name)[1]),
            depends=[d for d in entry["depends"] if canonicalize_name(d) in needed],
        )
    # the other entries name files this folder lacks: they stay out, as nothing imports them
    upstream["packages"] = {name: packages[name] for name in sorted(needed)}
    (folder / "pyodide-lock.json").write_text(json.dumps(upstream), encoding="utf-8")
    tarball = work / "pyodide.tar.bz2"
    with tarfile.open(tarball, "w:bz2") as archive:
        archive.add(folder, arcname="pyodide")
    return tarball
