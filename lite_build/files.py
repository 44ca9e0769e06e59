"""File helpers the build steps share: deterministic JSON, and folder copies that only
touch what changed.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any


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
