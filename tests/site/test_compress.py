"""Compressed siblings kept by content: a rebuild compresses only what it has not seen."""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

from lite_build.site.compress import compress_site, compressed

TEXT = b"let answer = 42;\n" * 400


def kept(store: Path, data: bytes, suffix: str) -> Path:
    key = hashlib.sha256(data).hexdigest()
    return store / key[:2] / f"{key}{suffix}"


def test_a_compression_is_kept_by_what_it_compresses_and_used_again(tmp_path: Path) -> None:
    store = tmp_path / "store"
    packed = compressed(TEXT, store)
    assert packed is not None
    assert gzip.decompress(packed) == TEXT
    entry = kept(store, TEXT, ".gz")
    assert entry.read_bytes() == packed
    assert os.listdir(entry.parent) == [entry.name]  # written whole: no temporary file left
    # what the store holds is what comes back: a (valid) compression at another level
    other = gzip.compress(TEXT, compresslevel=1, mtime=0)
    assert other != packed
    entry.write_bytes(other)
    assert compressed(TEXT, store) == other


def test_a_kept_file_that_does_not_hold_the_data_is_compressed_again(tmp_path: Path) -> None:
    store = tmp_path / "store"
    entry = kept(store, TEXT, ".gz")
    entry.parent.mkdir(parents=True)
    for foreign in (gzip.compress(b"something else" * 100, mtime=0), b"\x1f\x8b truncated", b""):
        entry.write_bytes(foreign)
        packed = compressed(TEXT, store)
        assert packed == gzip.compress(TEXT, compresslevel=9, mtime=0)
        assert entry.read_bytes() == packed


def test_data_that_compresses_too_little_is_remembered_as_such(tmp_path: Path) -> None:
    store = tmp_path / "store"
    noise = os.urandom(4096)
    assert compressed(noise, store) is None
    assert kept(store, noise, ".no-gain").is_file()
    assert not kept(store, noise, ".gz").exists()
    assert compressed(noise, store) is None


def test_a_site_compressed_through_the_store_is_byte_identical(tmp_path: Path) -> None:
    def site(root: Path) -> Path:
        (root / "build").mkdir(parents=True)
        (root / "build" / "app.js").write_bytes(TEXT)
        (root / "build" / "noise.wasm").write_bytes(os.urandom(4096))
        (root / "index.html").write_text("<html></html>")
        return root

    plain = compress_site(site(tmp_path / "plain"))
    store = tmp_path / "store"
    first = compress_site(site(tmp_path / "first"), store)
    again = compress_site(site(tmp_path / "again"), store)
    assert [path.name for path in plain] == [path.name for path in first] == ["app.js.gz"]
    assert plain[0].read_bytes() == first[0].read_bytes() == again[0].read_bytes()
    for name in ("first", "again"):
        listed = (tmp_path / name / "lite-build-gzip.txt").read_text()
        assert (
            listed == (tmp_path / "plain" / "lite-build-gzip.txt").read_text() == "build/app.js\n"
        )


def test_a_store_that_cannot_be_written_only_costs_the_compression(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.write_text("a file where the folder should be")
    assert compressed(TEXT, store) == gzip.compress(TEXT, compresslevel=9, mtime=0)
