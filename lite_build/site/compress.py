"""Pre-compressed siblings of large text assets, and the size report of a site.

Hosts that serve ``name.gz`` for ``name`` when the browser accepts gzip (nginx
``gzip_static``, ``lite-build serve``, the bundle's ``start.py``) then send a fraction of the bytes;
hosts that do not simply ignore the extra files.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import struct
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path

from lite_build.site.jupyterlite import SiteSettings
from lite_build.site.paths import PRECOMPRESSED
from lite_build.site.precache import on_demand_files, precached_files

#: worth compressing: text, and WebAssembly (the runtime shrinks to about a third)
COMPRESSIBLE_SUFFIXES = frozenset(
    {
        ".js",
        ".mjs",
        ".css",
        ".html",
        ".json",
        ".ipynb",
        ".svg",
        ".txt",
        ".md",
        ".py",
        ".csv",
        ".map",
        ".wasm",
        ".webmanifest",
    }
)
#: smaller files gain little and cost a request header anyway
MIN_SIZE = 1024
#: a sibling must save at least this share of the bytes to be kept
MIN_SAVING = 0.1


def compress_site(site: Path, store: Path | None = None) -> list[Path]:
    """Write a ``.gz`` next to each large compressible file of ``site``; the files written.

    Deterministic: no name or time in the gzip header, so the same site gives the same bytes.
    ``store``: a folder that keeps each compression by the SHA-256 of what it compresses
    (see :func:`compressed`).
    """
    written = []
    for path in sorted(site.rglob("*")):
        if not path.is_file() or path.suffix.lower() not in COMPRESSIBLE_SUFFIXES:
            continue
        target = path.with_name(path.name + ".gz")
        if target.exists():
            continue  # the author's own file: never overwritten
        data = path.read_bytes()
        if len(data) < MIN_SIZE:
            continue
        packed = compressed(data, store)
        if packed is not None:
            target.write_bytes(packed)
            written.append(target)
    # the servers send only these siblings in their file's place
    listed = sorted(path.with_suffix("").relative_to(site).as_posix() for path in written)
    (site / PRECOMPRESSED).write_text("".join(f"{name}\n" for name in listed), encoding="utf-8")
    return written


def compressed(data: bytes, store: Path | None = None) -> bytes | None:
    """``data`` gzip-compressed (level 9, no name or time), or None when that saves too little.

    With a ``store``, each answer is kept there under the SHA-256 of ``data``: most of a site
    (the app, the runtime) is the same from one build to the next and from one project to
    another, and compressing it again took 2.2 s of every rebuild's site step (the default
    site's 50 MB). A kept compression is used only when its gzip trailer (CRC-32 and length of
    what it holds) matches ``data``; each is written whole or not at all, so builds running at
    once may share the store.
    """
    if store is None:
        return _compress(data)
    key = hashlib.sha256(data).hexdigest()
    folder = store / key[:2]
    kept, too_little = folder / f"{key}.gz", folder / f"{key}.no-gain"
    if too_little.is_file():
        return None
    with contextlib.suppress(OSError):
        earlier = kept.read_bytes()
        if _holds(earlier, data):
            return earlier
    packed = _compress(data)
    # a store that cannot be written (a full disk, a read-only cache) only costs the next build
    # this compression again
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
        _write_whole(kept if packed is not None else too_little, packed or b"")
    return packed


def _compress(data: bytes) -> bytes | None:
    packed = gzip.compress(data, compresslevel=9, mtime=0)
    return packed if len(packed) <= len(data) * (1 - MIN_SAVING) else None


def _holds(packed: bytes, data: bytes) -> bool:
    """Whether a gzip member's trailer names ``data``: its CRC-32, and its length modulo 2**32."""
    if len(packed) < 18 or packed[:2] != b"\x1f\x8b":
        return False
    crc, size = struct.unpack("<II", packed[-8:])
    return bool(crc == zlib.crc32(data) and size == len(data) & 0xFFFFFFFF)


def _write_whole(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    temporary.write_bytes(data)
    os.replace(temporary, path)


@dataclass(frozen=True)
class SizeReport:
    #: bytes on disk, compressed siblings included
    total: int
    #: what a first visit transfers to fill the offline cache, using .gz siblings where present,
    #: with the default kernel's snapshot (another environment's is fetched when first used)
    first_visit: int
    #: (site path, bytes) of the largest files, largest first
    largest: tuple[tuple[str, int], ...]


def size_report(site: Path, *, largest: int = 5) -> SizeReport:
    total = sum(path.stat().st_size for path in site.rglob("*") if path.is_file())
    sizes = []
    first_visit = 0
    for path in precached_files(site):
        if path == site / PRECOMPRESSED:
            continue  # written after the precache list, for the servers only
        size = path.stat().st_size
        compressed = path.with_name(path.name + ".gz")
        first_visit += min(size, compressed.stat().st_size) if compressed.is_file() else size
        sizes.append((path.relative_to(site).as_posix(), size))
    default = _default_snapshot(site)
    for path in on_demand_files(site):
        if path == default:
            first_visit += path.stat().st_size
        sizes.append((path.relative_to(site).as_posix(), path.stat().st_size))
    sizes.sort(key=lambda item: (-item[1], item[0]))
    return SizeReport(total=total, first_visit=first_visit, largest=tuple(sizes[:largest]))


def _default_snapshot(site: Path) -> Path | None:
    """The snapshot file the default kernel starts from, if the site has one."""
    try:
        url = SiteSettings.read(site).kernel().snapshot_url
    except (OSError, ValueError, KeyError, IndexError):
        return None
    if url is None:
        return None
    return site / url.split("?")[0]
