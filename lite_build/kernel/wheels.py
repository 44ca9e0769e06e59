"""What the Pyodide kernel itself needs, and the small per-environment wheel lite-build adds.

The kernel (jupyterlite-pyodide-kernel) installs ``micropip`` from the lock, then its own
``piplite`` wheel, then ``ipykernel`` (a browser shim), ``comm``, ``pyodide-kernel``, ``jedi`` and
``ipython`` (see ../shared/PLATFORM.md). The shim packages ship inside the kernel extension's own
piplite index; everything else must be in the site's lock, or the kernel never starts offline.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_core.paths import jupyter_path
from packaging.utils import canonicalize_name

from lite_build.errors import LiteBuildError
from lite_build.resources import LABEXTENSION

if TYPE_CHECKING:
    from lite_build.kernel.runtime import PyodideRuntime

KERNEL_EXTENSION = "@jupyterlite/pyodide-kernel-extension"
#: the settings key of the kernel plugin in jupyter-lite.json's litePluginSettings
KERNEL_PLUGIN_ID = f"{KERNEL_EXTENSION}:kernel"
#: our own extension (extension/ in the repository): one kernel per environment
ENVIRONMENTS_EXTENSION = "@lite-build/environments-extension"
KERNELS_PLUGIN_ID = f"{ENVIRONMENTS_EXTENSION}:kernels"
#: where the prebuilt extension ships inside this package
ENVIRONMENTS_EXTENSION_DIR = LABEXTENSION
#: installed by the kernel at start, beyond what the extension's own index provides
KERNEL_PACKAGES = ("comm", "ipython", "jedi")
#: the kernel extension's own packages the kernel installs at start: what each imports, and
#: what it needs loaded with it (piplite imports micropip; the shims import IPython)
KERNEL_SHIMS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "piplite": (("piplite",), ("micropip",)),
    "ipykernel": (("ipykernel",), ("pyodide-kernel",)),
    "pyodide-kernel": (("pyodide_kernel",), ("comm", "ipython")),
}
#: everything the kernel installs at start, by the names its worker checks in
#: ``loadPyodideOptions.packages``: listed there (and in the lock), they arrive in one parallel
#: ``loadPackage`` with the runtime instead of one micropip/piplite install after another
KERNEL_START_PACKAGES = (
    "micropip",
    "piplite",
    "ipykernel",
    "comm",
    "pyodide-kernel",
    "jedi",
    "ipython",
)

#: the generated wheel that carries an environment's start-up (IPython profile)
ENVIRONMENT_PACKAGE = "lite-build-environment"
ENVIRONMENT_MODULE = "lite_build_environment"
#: fixed zip timestamps keep the generated wheel byte-identical between builds
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def kernel_extension_dir() -> Path:
    """The installed kernel labextension folder (it carries the shim wheels and their index)."""
    for base in jupyter_path("labextensions"):
        candidate = Path(base) / KERNEL_EXTENSION
        if (candidate / "package.json").exists():
            return candidate
    raise LiteBuildError(
        f"the JupyterLab extension {KERNEL_EXTENSION} is not installed in this Python "
        "environment; reinstall lite-build (pip install --force-reinstall lite-build)"
    )


def environments_extension_dir() -> Path:
    """The prebuilt lite-build JupyterLab extension shipped in this package."""
    folder = ENVIRONMENTS_EXTENSION_DIR
    if not (folder / "package.json").is_file() or not any(folder.glob("static/remoteEntry.*.js")):
        raise LiteBuildError(
            f"the lite-build JupyterLab extension is not built ({folder} is missing or "
            "incomplete); in a clone of the repository, run scripts/setup.sh (it builds "
            "extension/ with npm)"
        )
    return folder


def kernel_index(extension_dir: Path) -> dict[str, Any]:
    index_path = extension_dir / "static" / "pypi" / "all.json"
    data: dict[str, Any] = json.loads(index_path.read_text(encoding="utf-8"))
    return data


def provided_packages(extension_dir: Path) -> dict[str, str]:
    """Packages the kernel extension ships itself (canonical name -> newest version)."""
    provided: dict[str, str] = {}
    for name, entry in kernel_index(extension_dir).items():
        versions = sorted(entry.get("releases", {}), key=_version_key)
        if versions:
            provided[canonicalize_name(name)] = versions[-1]
    return provided


def _version_key(version: str) -> Any:
    from packaging.version import Version

    return Version(version)


@dataclass(frozen=True)
class KernelShim:
    """One of the kernel extension's own wheels, as a lock entry describes it."""

    name: str
    version: str
    path: Path
    sha256: str
    imports: tuple[str, ...]
    depends: tuple[str, ...]

    @property
    def filename(self) -> str:
        return self.path.name


def kernel_shims(extension_dir: Path) -> list[KernelShim]:
    """The kernel extension's wheels the kernel installs at start (newest version of each)."""
    index: dict[str, Any] = {
        canonicalize_name(name): entry for name, entry in kernel_index(extension_dir).items()
    }
    shims = []
    for name, (imports, depends) in KERNEL_SHIMS.items():
        releases = index.get(name, {}).get("releases", {})
        versions = sorted((v for v in releases if releases[v]), key=_version_key)
        if not versions:
            raise LiteBuildError(
                f"the kernel extension {KERNEL_EXTENSION} ({extension_dir}) does not ship the "
                f"{name} wheel the kernel installs at start; reinstall lite-build"
            )
        release = releases[versions[-1]][0]
        path = extension_dir / "static" / "pypi" / release["filename"]
        if not path.is_file():
            raise LiteBuildError(
                f"the kernel extension {KERNEL_EXTENSION} lists {release['filename']} but the "
                f"file is missing ({path}); reinstall lite-build"
            )
        shims.append(
            KernelShim(
                name=name,
                version=versions[-1],
                path=path,
                sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
                imports=imports,
                depends=depends,
            )
        )
    return shims


def kernel_requirements(upstream_lock: dict[str, Any]) -> list[str]:
    """Requirements the kernel needs at start, for the runtime described by ``upstream_lock``.

    micropip is pinned to the version the Pyodide release ships: the runtime loads it first,
    before anything else, and its API is tied to that release.
    """
    micropip = upstream_lock.get("packages", {}).get("micropip")
    pin = f"micropip=={micropip['version']}" if micropip else "micropip"
    return [pin, *KERNEL_PACKAGES]


def preferred_versions(upstream_lock: dict[str, Any]) -> dict[str, str]:
    """Versions the Pyodide release itself tested, tried first by the resolver."""
    return {
        canonicalize_name(name): entry["version"]
        for name, entry in upstream_lock.get("packages", {}).items()
        if entry.get("package_type", "package") == "package" and "version" in entry
    }


@dataclass(frozen=True)
class EnvironmentWheel:
    filename: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def site_packages_dir(python_version: str) -> str:
    """Where Pyodide installs wheels, e.g. ``/lib/python3.14/site-packages``."""
    major_minor = ".".join(python_version.split(".")[:2])
    return f"/lib/python{major_minor}/site-packages"


def ipython_dir(python_version: str) -> str:
    """The IPYTHONDIR the kernel is started with: the profile inside the environment wheel."""
    return f"{site_packages_dir(python_version)}/{ENVIRONMENT_MODULE}/ipython"


#: what every environment's kernel loads when it starts
KERNEL_ROOTS = (*KERNEL_START_PACKAGES, ENVIRONMENT_PACKAGE)


def kernel_env(runtime: PyodideRuntime) -> dict[str, str]:
    """The environment variables each kernel's Python starts with."""
    return {"IPYTHONDIR": ipython_dir(runtime.lock["info"]["python"])}


def startup_code(preload_imports: list[str]) -> str:
    """Python run by IPython when the kernel starts (profile_default/startup)."""
    lines = [
        "# Generated by lite-build: preload imports now, the start-up code at the first cell",
        *[f"import {name}" for name in preload_imports],
        f"import {ENVIRONMENT_MODULE} as _lite_build_environment",
        "_lite_build_environment.start(get_ipython())",
        "del _lite_build_environment",
    ]
    return "\n".join(lines) + "\n"


#: the environment module: runs the author's start-up code just before the first cell, so that it
#: runs in the notebook's folder (the kernel's shell is made before the notebook's drive is
#: mounted: lite-build's worker makes it while the app boots) and what it prints, and any error
#: with its traceback, shows in that cell. IPython only logs errors of its own startup files, out
#: of sight of the student.
STARTUP_RUNNER = '''"""Start-up of the lite-build environment {environment!r}."""

import linecache
import sys
import traceback
from pathlib import Path

#: where the start-up code came from, as tracebacks name it
ORIGIN = {origin!r}


def start(shell):
    """Have the start-up code run before the first cell (nothing to do without any)."""
    if (Path(__file__).parent / "startup.py").read_text(encoding="utf-8").strip():
        shell.events.register("pre_run_cell", _run)


def _run(info=None):
    """Run the start-up code in the notebook's namespace, once."""
    from IPython import get_ipython

    shell = get_ipython()
    shell.events.unregister("pre_run_cell", _run)
    source = (Path(__file__).parent / "startup.py").read_text(encoding="utf-8")
    linecache.cache[ORIGIN] = (len(source), None, source.splitlines(True), ORIGIN)
    try:
        exec(compile(shell.transform_cell(source), ORIGIN, "exec"), shell.user_ns)
    except BaseException as error:  # the author's code may raise anything, even SystemExit
        print(f"Error in the start-up code of this kernel ({{ORIGIN}}):", file=sys.stderr)
        details = traceback.format_exception(type(error), error, error.__traceback__)
        # the first frame is this function: the student's code starts after it
        print("".join(details[:1] + details[2:]), end="", file=sys.stderr)
'''


def environment_wheel(
    environment: str,
    preload_imports: list[str],
    startup: str = "",
    startup_origin: str = "startup",
) -> EnvironmentWheel:
    """A tiny wheel holding the environment's IPython profile, deterministic to the byte.

    The kernel is started with ``IPYTHONDIR`` pointing into it, so IPython runs the profile's
    startup file while the kernel initialises: that is how ``preload`` imports happen, and
    how the author's ``startup`` code runs.
    """
    startup_file = startup_code(preload_imports)
    runner = STARTUP_RUNNER.format(environment=environment, origin=startup_origin)
    # the local version label keeps each environment's wheel apart in the shared wheel folder;
    # the content hash gives a changed start-up a new file name (browsers cache wheels)
    content_hash = hashlib.sha256(f"{startup_file}\0{runner}\0{startup}".encode()).hexdigest()
    label = re.sub(r"[^a-z0-9]+", ".", environment.lower()).strip(".") or "default"
    version = f"0+{label}.h{content_hash[:10]}"
    dist_info = f"{ENVIRONMENT_MODULE}-{version}.dist-info"
    files: dict[str, bytes] = {
        f"{ENVIRONMENT_MODULE}/__init__.py": runner.encode(),
        f"{ENVIRONMENT_MODULE}/startup.py": startup.encode(),
        f"{ENVIRONMENT_MODULE}/ipython/profile_default/startup/00-lite-build.py": (
            startup_file.encode()
        ),
        f"{dist_info}/METADATA": (
            f"Metadata-Version: 2.1\nName: {ENVIRONMENT_PACKAGE}\nVersion: {version}\n"
            f"Summary: start-up of the lite-build environment {environment}\n"
        ).encode(),
        f"{dist_info}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: lite-build\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record_lines = [
        f"{name},sha256={_record_hash(data)},{len(data)}" for name, data in files.items()
    ]
    record_lines.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record_lines) + "\n").encode()

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    filename = f"{ENVIRONMENT_MODULE}-{version}-py3-none-any.whl"
    return EnvironmentWheel(filename, buffer.getvalue())


def _record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
