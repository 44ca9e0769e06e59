"""Publishing: a site is assembled in a staging folder, then its files are moved into the
output, so a failed build never touches the previous site.

The output folder may hold files lite-build did not write (a ``CNAME`` for GitHub Pages, the
``.git`` of a ``gh-pages`` worktree, hand-added pages): each site records the files its build
wrote (:data:`WRITTEN_FILES`), and a publish replaces or removes only those. A file of
someone else's where the new build writes one stops the build, naming it. The output itself
is never renamed or replaced, so a symlinked output publishes into its target and a mount
point works. While files move, a journal in the output says which are the new build's and
where the previous build's were set aside, so a build killed half-way is rolled back by the
next one (:func:`recover_interrupted_publish`).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from lite_build import __version__
from lite_build.errors import LiteBuildError
from lite_build.files import write_json
from lite_build.site.paths import SITE_MANIFEST

log = logging.getLogger("lite_build")

#: in a published site: the files its build wrote, one relative path a line
WRITTEN_FILES = ".lite-build-files"
#: in the output while a publish moves files: what it is doing (see the module docstring)
JOURNAL = ".lite-build-publishing.json"
#: lite-build's own hidden folders in the output (or beside it, for a first build)
STAGING_PREFIX = ".lite-build-staging-"
PREVIOUS_PREFIX = ".lite-build-previous-"
#: how many names a message lists
SHOWN = 10


def is_lite_build_site(folder: Path) -> bool:
    return (folder / SITE_MANIFEST).is_file()


def site_folder(output: Path) -> Path:
    """Where the site's files go: the output, or the folder a symlinked output points at."""
    return output.resolve() if output.is_symlink() else output


def check_output_replaceable(output: Path) -> None:
    """Refuse an output that is not a folder (and cannot become one)."""
    folder = site_folder(output)
    if folder.exists() and not folder.is_dir():
        raise LiteBuildError(f"output: {output} exists and is not a folder; choose another output")


def written_files(folder: Path) -> set[str] | None:
    """The files the build that published ``folder`` wrote (None: no record)."""
    try:
        text = (folder / WRITTEN_FILES).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return set(text.splitlines())


def built_files(site: Path) -> list[Path]:
    """The files of the built site in ``site`` (not the files others put beside them)."""
    recorded = written_files(site)
    if recorded is None:
        return sorted(path for path in site.rglob("*") if path.is_file())
    return sorted(site / name for name in recorded if (site / name).is_file())


@contextmanager
def staging_folder(output: Path) -> Iterator[Path]:
    """A fresh, uniquely named folder on the output's file system to assemble a site in
    (inside the output, or beside it when there is none yet); removed afterwards."""
    folder = site_folder(output)
    if folder.is_dir():
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=folder))
    else:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=_beside(folder), dir=folder.parent))
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _beside(folder: Path) -> str:
    """The name prefix of a staging folder beside ``folder`` (its own: other outputs may share
    the parent folder, and their builds their staging folders)."""
    return f".{folder.name}{STAGING_PREFIX}"


def publish(staging: Path, output: Path) -> None:
    """Move the site in ``staging`` into ``output``: the previous build's files are replaced
    or removed, everything else in the output is kept."""
    check_output_replaceable(output)
    folder = site_folder(output)
    new = _files(staging, set())
    if not folder.exists():
        _write_record(staging, new)
        os.rename(staging, folder)
        return
    previous = written_files(folder)
    existing = _files(folder, new | (previous or set()))
    # made by a lite-build that kept no record: it replaced the whole folder, so what the new
    # build writes over was its own
    legacy = previous is None and is_lite_build_site(folder)
    ours = existing & (new if legacy else previous or set())
    others = existing - ours
    _refuse_overwriting(output, others, new)
    if previous is None and others:
        log.warning(
            "output: %s was %s; its %d file(s) and folder(s) are kept beside the site: %s",
            output,
            "made by an earlier lite-build, which kept no record of its files"
            if legacy
            else "not made by lite-build",
            len(others),
            _names(others),
        )
    _swap(folder, staging, ours, new)
    shutil.rmtree(staging, ignore_errors=True)  # its folders, emptied


def recover_interrupted_publish(output: Path) -> None:
    """If a publish was killed while it moved files, put the previous site back; remove what
    a killed build left (staging folders, files set aside)."""
    folder = site_folder(output)
    for stale in [*folder.parent.glob(_beside(folder) + "*"), *folder.glob(STAGING_PREFIX + "*")]:
        shutil.rmtree(stale, ignore_errors=True)
    try:
        journal = json.loads((folder / JOURNAL).read_text(encoding="utf-8"))
    except FileNotFoundError:
        journal = None
    if journal is not None:
        _roll_back(folder, folder / journal["previous"], set(journal["new"]), set(journal["ours"]))
        (folder / JOURNAL).unlink()
        log.warning("restored %s from an interrupted build", output)
    for stale in folder.glob(PREVIOUS_PREFIX + "*"):
        shutil.rmtree(stale, ignore_errors=True)


def site_size(site: Path) -> int:
    return sum(path.stat().st_size for path in built_files(site))


def manifest(
    title: str, pyodide_version: str, environments: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "generator": f"lite-build {__version__}",
        "title": title,
        "pyodide": pyodide_version,
        "environments": environments,
    }


# -- the swap ----------------------------------------------------------------------------------


def _swap(folder: Path, staging: Path, ours: set[str], new: set[str]) -> None:
    """Set the previous build's files (and its record) aside, move the new ones in and record
    them. Removing the journal is the moment the new site counts as published: any failure
    before rolls back, here or, after a kill, in the next build."""
    if (folder / WRITTEN_FILES).exists():
        ours = ours | {WRITTEN_FILES}
    new = new | {WRITTEN_FILES}
    previous = Path(tempfile.mkdtemp(prefix=PREVIOUS_PREFIX, dir=folder))
    journal = {"previous": previous.name, "new": sorted(new), "ours": sorted(ours)}
    write_json(folder / JOURNAL, journal)
    try:
        for name in sorted(ours):
            _move(folder / name, previous / name)
        _remove_empty_folders(folder, ours)
        for name in sorted(new - {WRITTEN_FILES}):
            _move(staging / name, folder / name)
        _write_record(folder, new - {WRITTEN_FILES})
    except BaseException:
        _roll_back(folder, previous, new, ours)
        raise
    finally:
        (folder / JOURNAL).unlink()
        shutil.rmtree(previous, ignore_errors=True)


def _roll_back(folder: Path, previous: Path, new: set[str], ours: set[str]) -> None:
    """Remove the new build's files from ``folder`` and put back those set aside in
    ``previous``. A new file's name in ``folder`` is the previous build's own file while that
    has not been set aside yet (it is in ``ours`` but not in ``previous``)."""
    for name in sorted(new):
        if name not in ours or (previous / name).exists():
            with suppress(FileNotFoundError):
                (folder / name).unlink()
    _remove_empty_folders(folder, new)
    if previous.is_dir():
        # the record is one of lite-build's own hidden files, which _files passes over
        aside = _files(previous, set()) | {WRITTEN_FILES} & ours
        for name in sorted(aside):
            if (previous / name).exists():
                _move(previous / name, folder / name)


def _move(source: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, dest)


def _remove_empty_folders(folder: Path, names: set[str]) -> None:
    """The folders of ``names`` that are now empty, deepest first (others' stay)."""
    parents = {parent for name in names for parent in Path(name).parents if parent != Path(".")}
    for parent in sorted(parents, key=lambda path: len(path.parts), reverse=True):
        with suppress(OSError):
            (folder / parent).rmdir()


def _write_record(folder: Path, files: set[str]) -> None:
    tmp = folder / f"{WRITTEN_FILES}.tmp"
    tmp.write_text("".join(f"{name}\n" for name in sorted(files)), encoding="utf-8")
    os.replace(tmp, folder / WRITTEN_FILES)


# -- what is in a folder -----------------------------------------------------------------------


def _files(folder: Path, known: set[str]) -> set[str]:
    """The relative paths of the files (and symbolic links) in ``folder``, lite-build's own
    hidden files excepted. A folder holding none of the ``known`` paths counts as one entry
    (``.git/``): it is someone else's, and is not walked."""
    if not known:
        known_folders: set[str] | None = None
    else:
        known_folders = {p.as_posix() for name in known for p in Path(name).parents}
    found: set[str] = set()
    for root, dirs, names in os.walk(folder):
        relative = Path(root).relative_to(folder)
        for name in list(dirs):
            path = (relative / name).as_posix()
            if path.startswith(".lite-build-") and relative == Path("."):
                dirs.remove(name)
            elif (Path(root) / name).is_symlink():
                dirs.remove(name)
                found.add(path)
            elif known_folders is not None and path not in known_folders:
                dirs.remove(name)
                found.add(path + "/")
        for name in names:
            if relative == Path(".") and name.startswith(".lite-build-"):
                continue
            found.add((relative / name).as_posix())
    return found


def _refuse_overwriting(output: Path, others: set[str], new: set[str]) -> None:
    """Stop before the new site would write over a file that is not the previous build's."""
    new_folders = {p.as_posix() + "/" for name in new for p in Path(name).parents}
    clashes = {
        name
        for name in others
        if name in new or name.rstrip("/") in new or name + "/" in new_folders
    }
    if clashes:
        raise LiteBuildError(
            f"output: {output} holds {len(clashes)} file(s) or folder(s) lite-build did not "
            f"write where the site now has its own: {_names(clashes)}. lite-build never "
            "overwrites them: move them away, or choose another output with --output"
        )


def _names(names: set[str]) -> str:
    shown = sorted(names)[:SHOWN]
    more = len(names) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more else "")
