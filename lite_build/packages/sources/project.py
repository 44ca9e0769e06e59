"""Local projects as a source: folders with a ``pyproject.toml`` (or ``setup.py``) named in an
environment's ``packages``, built into wheels with uv, again only when their files change."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from packaging.utils import canonicalize_name

from lite_build.errors import LiteBuildError
from lite_build.packages.index import IndexFile
from lite_build.packages.sources.local import LocalWheels
from lite_build.packages.wheel import wheel_metadata
from lite_build.ui import NullReporter, Reporter

log = logging.getLogger(__name__)

#: folders of a project that are not its source (build output, caches, environments)
IGNORED_PARTS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "__pycache__",
        ".venv",
        "venv",
        "build",
        "dist",
        ".tox",
        ".nox",
        ".lite-build",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        "node_modules",
    }
)
#: used for project wheels when SOURCE_DATE_EPOCH is unset, so that they are reproducible
DEFAULT_EPOCH = "315532800"  # 1980-01-01, the earliest time a zip file can hold


class LocalProjects(LocalWheels):
    """The wheels of the local projects an environment names, built on demand."""

    name = "project"

    def __init__(self, work_dir: Path, *, reporter: Reporter | None = None) -> None:
        super().__init__()
        self.work_dir = work_dir
        self.reporter = reporter or NullReporter()
        self._folders: dict[str, Path] = {}  # canonical name -> project folder

    def add_project(self, folder: Path) -> tuple[str, str]:
        """Build (if needed) the project in ``folder``; its canonical name and version."""
        wheel = build_project(folder, self.work_dir, reporter=self.reporter)
        metadata = wheel_metadata(wheel)
        name = canonicalize_name(metadata.name)
        if name not in self._folders:
            self.add(wheel)
            self._folders[name] = folder
        return name, metadata.version

    def project_folder(self, name: str) -> Path | None:
        return self._folders.get(canonicalize_name(name))

    def project_wheel(self, name: str) -> IndexFile | None:
        """The freshly built wheel of local project ``name`` (None if it is not one)."""
        files = self.files(name)
        return files[0] if files else None

    def missing_reason(self, name: str) -> str | None:
        return "not one of the local projects" if self.names else None

    def describe(self, root: Path) -> list[str]:
        # an environment's packages list names its projects; the lock records them there
        return []


def project_files(folder: Path) -> list[Path]:
    """The source files of a local project (what a change to means a rebuild), sorted."""
    files = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(
            d for d in dirnames if d not in IGNORED_PARTS and not d.endswith(".egg-info")
        )
        for filename in sorted(filenames):
            if not filename.endswith((".pyc", ".pyo")):
                files.append(Path(dirpath) / filename)
    return files


def project_fingerprint(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in project_files(folder):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def build_project(folder: Path, work_dir: Path, *, reporter: Reporter | None = None) -> Path:
    """The wheel of the project in ``folder``, built again only when its files changed.

    Built with ``uv build --wheel`` (the build backend the project declares, in an isolated
    environment), with ``SOURCE_DATE_EPOCH`` set so that the same files give the same wheel.
    """
    reporter = reporter or NullReporter()
    epoch = os.environ.get("SOURCE_DATE_EPOCH") or DEFAULT_EPOCH
    # the wheel's timestamps come from the epoch: a different one is a different wheel
    fingerprint = f"{project_fingerprint(folder)} {epoch}"
    out = work_dir / "projects" / hashlib.sha256(str(folder).encode()).hexdigest()[:16]
    stamp = out / "fingerprint.json"
    try:
        recorded = json.loads(stamp.read_text(encoding="utf-8"))
        wheel = out / str(recorded["wheel"])
        if recorded["fingerprint"] == fingerprint and wheel.is_file():
            return wheel
    except (OSError, ValueError, KeyError, TypeError):
        pass
    reporter.info(f"  building the local project {folder}")
    with tempfile.TemporaryDirectory(prefix="lite-build-project-") as tmp:
        env = {
            **os.environ,
            "UV_PYTHON_DOWNLOADS": "never",
            "SOURCE_DATE_EPOCH": epoch,
        }
        command = [
            _uv(),
            "build",
            "--wheel",
            "--no-progress",
            "--quiet",
            "--python",
            sys.executable,
            "--out-dir",
            tmp,
            str(folder),
        ]
        log.debug("running %s", " ".join(command))
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        built = sorted(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or len(built) != 1:
            details = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
            raise LiteBuildError(
                f"the local project {folder} could not be built into a wheel "
                f"(uv build exited with {done.returncode}):\n{details}\nfix the project's "
                "pyproject.toml (or setup.py) and build again"
            )
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        wheel = out / built[0].name
        shutil.move(str(built[0]), wheel)
    stamp.write_text(
        json.dumps({"fingerprint": fingerprint, "wheel": wheel.name}, sort_keys=True),
        encoding="utf-8",
    )
    return wheel


def _uv() -> str:
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found:
            return found
    raise LiteBuildError("building local projects needs uv, which is not installed; pip install uv")
