"""Publishing: a site is assembled in a staging folder next to the output and swapped in
only when whole, so a failed build never touches the previous site.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

from lite_build import __version__
from lite_build.errors import LiteBuildError
from lite_build.site.paths import SITE_MANIFEST

log = logging.getLogger("lite_build")


def is_lite_build_site(folder: Path) -> bool:
    return (folder / SITE_MANIFEST).is_file()


def check_output_replaceable(output: Path) -> None:
    """Refuse to replace a folder lite-build did not make: it may hold someone's work."""
    if output.exists() and not output.is_dir():
        raise LiteBuildError(f"output: {output} exists and is not a folder; choose another output")
    if output.is_dir() and any(output.iterdir()) and not is_lite_build_site(output):
        raise LiteBuildError(
            f"output: {output} already exists and was not made by lite-build (it has no "
            f"{SITE_MANIFEST}); lite-build replaces its output folder wholesale, so it will not "
            "touch this one. Move it away, or choose another output with --output."
        )


def staging_dirs(output: Path) -> tuple[Path, Path]:
    return output.with_name(f".{output.name}.new"), output.with_name(f".{output.name}.old")


def recover_interrupted_publish(output: Path) -> None:
    """If a previous publish stopped between its two renames, put the old site back."""
    _, old = staging_dirs(output)
    if not output.exists() and old.is_dir() and is_lite_build_site(old):
        os.rename(old, output)
        log.warning("restored %s from an interrupted build", output)


def publish(staging: Path, output: Path) -> None:
    """Swap ``staging`` in as ``output``; the previous site stays whole until the last moment."""
    check_output_replaceable(output)
    _, old = staging_dirs(output)
    if old.exists():
        shutil.rmtree(old)
    if output.exists():
        os.rename(output, old)
    os.rename(staging, output)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


def site_size(site: Path) -> int:
    return sum(path.stat().st_size for path in site.rglob("*") if path.is_file())


def manifest(
    title: str, pyodide_version: str, environments: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "generator": f"lite-build {__version__}",
        "title": title,
        "pyodide": pyodide_version,
        "environments": environments,
    }
