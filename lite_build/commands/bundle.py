"""``lite-build bundle``: the built site and a launcher in one zip, for USB sticks and classrooms.

Layout of the zip (all at its root)::

    start.py        the launcher: Python 3 standard library only (lite_build/launcher/start.py)
    start.sh        Linux
    start.command   macOS (double-click)
    start.bat       Windows (double-click)
    README.txt      for the teacher
    site/           the built site
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import time
import zipfile
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from types import ModuleType

from lite_build.errors import LiteBuildError
from lite_build.site.paths import SITE_MANIFEST
from lite_build.site.publish import built_files
from lite_build.ui import NullReporter, Reporter

LAUNCHER_FILES = ("start.py", "start.sh", "start.command", "start.bat")
EXECUTABLE = frozenset({"start.py", "start.sh", "start.command"})
SITE_FOLDER = "site"
#: already compressed: stored as they are
STORED_SUFFIXES = frozenset({".gz", ".br", ".whl", ".zip", ".png", ".jpg", ".jpeg", ".woff2"})
#: zip timestamps cannot go below 1980
ZIP_EPOCH = 315532800


@dataclass(frozen=True)
class BundleResult:
    path: Path
    #: bytes of the zip
    size: int
    port: int
    files: int


def launcher() -> ModuleType:
    """The launcher ``start.py`` as a module (it is shipped as a file, not imported normally)."""
    path = Path(str(files("lite_build").joinpath("launcher/start.py")))
    spec = importlib.util.spec_from_file_location("lite_build_launcher", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def default_bundle_path(root: Path, title: str) -> Path:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "site"
    return root / f"{slug}.zip"


def site_title(site: Path) -> str:
    try:
        return str(json.loads((site / SITE_MANIFEST).read_text(encoding="utf-8"))["title"])
    except (OSError, ValueError, KeyError) as error:
        raise LiteBuildError(
            f"{site} is not a built lite-build site (no readable {SITE_MANIFEST}); "
            "run `lite-build build` first"
        ) from error


def readme_text(title: str, port: int) -> str:
    template = files("lite_build").joinpath("launcher/README.txt").read_text("utf-8")
    text = template.format(title=title, underline="=" * len(title), port=port)
    return text.replace("\n", "\r\n")  # Notepad on older Windows shows bare \n as one line


def make_bundle(site: Path, destination: Path, *, reporter: Reporter | None = None) -> BundleResult:
    """Write the zip of ``site`` plus the launcher to ``destination`` (atomically)."""
    reporter = reporter or NullReporter()
    site = site.resolve()
    title = site_title(site)
    port = int(launcher().preferred_port(title))
    if destination.resolve().is_relative_to(site):
        raise LiteBuildError(
            f"the bundle {destination} would be written inside the site it packs; "
            "choose another --output"
        )
    epoch = max(int(os.environ.get("SOURCE_DATE_EPOCH", ZIP_EPOCH)), ZIP_EPOCH)
    stamp = time.gmtime(epoch)[:6]
    site_files = built_files(site)  # not the .git or CNAME kept beside them
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    count = 0
    try:
        with reporter.step("bundle"), zipfile.ZipFile(partial, "w") as archive:

            def add(name: str, data: bytes, *, stored: bool = False) -> None:
                info = zipfile.ZipInfo(name, date_time=stamp)
                mode = 0o755 if name in EXECUTABLE else 0o644
                info.external_attr = (0o100000 | mode) << 16
                info.create_system = 3  # unix: keep the modes
                info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
                archive.writestr(info, data, compresslevel=9 if not stored else None)

            for name in LAUNCHER_FILES:
                add(name, files("lite_build").joinpath(f"launcher/{name}").read_bytes())
            add("README.txt", readme_text(title, port).encode("utf-8"))
            for path in site_files:
                name = f"{SITE_FOLDER}/{path.relative_to(site).as_posix()}"
                add(name, path.read_bytes(), stored=path.suffix.lower() in STORED_SUFFIXES)
            count = len(LAUNCHER_FILES) + 1 + len(site_files)
        os.replace(partial, destination)
    finally:
        partial.unlink(missing_ok=True)
    return BundleResult(destination, destination.stat().st_size, port, count)
