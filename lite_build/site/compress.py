"""Pre-compressed siblings of large text assets, and the size report of a site.

Hosts that serve ``name.gz`` for ``name`` when the browser accepts gzip (nginx
``gzip_static``, ``lite-build serve``, the bundle's ``start.py``) then send a fraction of the bytes;
hosts that do not simply ignore the extra files.
"""

from __future__ import annotations

import gzip
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


def compress_site(site: Path) -> list[Path]:
    """Write a ``.gz`` next to each large compressible file of ``site``; the files written.

    Deterministic: no name or time in the gzip header, so the same site gives the same bytes.
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
        packed = gzip.compress(data, compresslevel=9, mtime=0)
        if len(packed) <= len(data) * (1 - MIN_SAVING):
            target.write_bytes(packed)
            written.append(target)
    # the servers send only these siblings in their file's place
    listed = sorted(path.with_suffix("").relative_to(site).as_posix() for path in written)
    (site / PRECOMPRESSED).write_text("".join(f"{name}\n" for name in listed), encoding="utf-8")
    return written


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
