"""File helpers the build steps share: deterministic JSON, folder copies that only touch
what changed, and the checks on names that come from outside (a catalogue, a lock, an index)
before they become paths.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tomllib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lite_build.errors import LiteBuildError

_SHA256 = re.compile(r"[0-9a-f]{64}")


def plain_file_name(name: str, *, source: str) -> str:
    """``name`` if it is a plain file name (no folder part, not ``.`` or ``..``); otherwise an
    error naming ``source``, where the name came from. Names from a catalogue, a lock or an
    index become paths in the cache and the site: ``../..`` or ``/home/x/.bashrc`` would write
    anywhere the user can."""
    if (
        not name
        or name in (".", "..")
        or any(char in name for char in "/\\\0")
        or Path(name).is_absolute()
        or Path(name).drive
    ):
        raise LiteBuildError(
            f"{source}: {name!r} is not a plain file name; lite-build refuses it, as it would "
            "write outside its folder. The source is damaged or hostile: fix it or use another"
        )
    return name


def as_site_path(name: str) -> str:
    """``unit/lesson.ipynb`` from ``./unit\\lesson.ipynb``: a content path as the site names it.
    Only whole ``./`` steps are dropped: ``../x.ipynb`` and ``.hidden/x.ipynb`` stay as given."""
    path = name.replace("\\", "/")
    while path.startswith("./"):
        path = path.removeprefix("./")
    return path


def sha256_hex(value: str, *, source: str) -> str:
    """``value`` if it is a sha256 as 64 lowercase hex digits (case folded); otherwise an
    error naming ``source``. Hashes name folders in the cache, so they are checked like names."""
    folded = value.lower()
    if not _SHA256.fullmatch(folded):
        raise LiteBuildError(
            f"{source}: {value!r} is not a sha256 (64 hex digits); the source is damaged or "
            "hostile: fix it or use another"
        )
    return folded


def path_inside(folder: Path, *parts: str) -> Path:
    """``folder`` joined with ``parts``, refused unless it stays inside ``folder`` (the last
    check before a write whose name came from outside)."""
    path = folder.joinpath(*parts)
    root = os.path.abspath(folder)
    if os.path.commonpath([root, os.path.abspath(path)]) != root or path == folder:
        raise LiteBuildError(f"refusing to write {'/'.join(parts)!r}: it is not inside {folder}")
    return path


class TomlTooDeep(tomllib.TOMLDecodeError):
    """A TOML document nested deeper than Python's parser can follow."""

    def __init__(self) -> None:
        # not TOMLDecodeError's own __init__: its arguments differ between Python versions
        ValueError.__init__(self, "nested too deeply (arrays or tables inside each other)")


def load_toml(path: Path) -> dict[str, Any]:
    """``path`` parsed as TOML. Errors as :func:`tomllib.load`'s, but a document nested too
    deeply is a :class:`tomllib.TOMLDecodeError` too, not a RecursionError."""
    with path.open("rb") as stream:
        try:
            return tomllib.load(stream)
        except RecursionError:
            raise TomlTooDeep() from None


def write_json(path: Path, data: Any) -> None:
    """Deterministic JSON, written atomically, and only when the bytes change."""
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def sync_tree(files: Iterable[tuple[Path, str]], dest: Path) -> bool:
    """Make ``dest`` hold exactly ``files`` (source, relative path); True if any were removed.

    Unchanged files (same size and mtime) are left alone, so downstream incremental tools
    only see real changes.
    """
    wanted = dict((relative, source) for source, relative in files)
    removed = False
    if dest.exists():
        for existing in sorted(dest.rglob("*"), reverse=True):
            relative = existing.relative_to(dest).as_posix()
            if existing.is_file() and relative not in wanted:
                existing.unlink()
                removed = True
            elif existing.is_dir() and not any(existing.iterdir()):
                existing.rmdir()
    for relative, source in sorted(wanted.items()):
        target = dest / relative
        stat = source.stat()
        if target.exists():
            current = target.stat()
            if current.st_size == stat.st_size and int(current.st_mtime) == int(stat.st_mtime):
                continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    return removed


def copy_tree(source: Path, dest: Path, *, skip: Iterable[str] = ()) -> None:
    skipped = set(skip)
    shutil.copytree(
        source,
        dest,
        ignore=lambda folder, names: [n for n in names if n in skipped and Path(folder) == source],
        dirs_exist_ok=True,
    )


#: Windows locks byte ranges, and a locked byte cannot be read: the lock is on a byte far past
#: the holder's process id, which stays readable
_LOCKED_BYTE = 1 << 30


@contextmanager
def exclusive(path: Path, *, what: str) -> Iterator[None]:
    """Hold the lock file ``path`` while the block runs, or stop with an error naming the
    process that holds it. The system lock goes with the process, so a killed build leaves
    no stale lock. By hand, as the ``filelock`` library truncates the file on open and so
    cannot say which process holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if not _try_lock(fd):
            holder = os.read(fd, 32).decode("ascii", errors="replace").strip() or "unknown"
            raise LiteBuildError(
                f"another lite-build (process {holder}) is building {what}; wait for it to "
                f"finish, or stop it (the lock is {path})"
            )
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            yield
        finally:
            _unlock(fd)
    finally:
        os.close(fd)


def _try_lock(fd: int) -> bool:
    try:
        if sys.platform == "win32":
            import msvcrt

            os.lseek(fd, _LOCKED_BYTE, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            os.lseek(fd, 0, os.SEEK_SET)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _unlock(fd: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, _LOCKED_BYTE, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_UN)
