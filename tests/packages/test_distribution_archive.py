"""A Pyodide distribution given as a release ``.tar.bz2``: resolving from its catalogue, the
shared libraries a package needs shipping with it, missing files falling through to the next
source, and a tampered file being refused. Everything is local: a real archive made here."""

from __future__ import annotations

import hashlib
import json
import tarfile
import zipfile
from pathlib import Path

import pytest

from lite_build.cache import CACHE_ENV_VAR
from lite_build.errors import LiteBuildError
from lite_build.packages.index import wheel_cache_path
from lite_build.packages.platform import PyodidePlatform
from lite_build.packages.pyodide_lock import lock_entry, make_lock, make_piplite_index, verify_lock
from lite_build.packages.resolve import resolve
from lite_build.packages.sources import PackageSources, SourceSettings
from lite_build.packages.sources.distribution import PyodideDistribution, parse_catalogue
from tests.packages.conftest import PYODIDE_314_INFO, FakeIndex, build_wheel
from tests.packages.sources_project import MSGPACK_SHA256, MSGPACK_WHEEL, msgpack_wheel

PYODIDE_TAG = "cp314-cp314-pyemscripten_2026_0_wasm32"
WITHLIB_WHEEL = f"withlib-1.0-{PYODIDE_TAG}.whl"
LIBTINY_ZIP = "libtiny-1.0.zip"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_archive(folder: Path, *, tamper: str | None = None) -> Path:
    """``pyodide-test.tar.bz2`` laid out like a Pyodide release: everything under ``pyodide/``.

    It holds msgpack's real Pyodide wheel, ``withlib`` (a package needing the shared library
    ``libtiny``), ``unused`` (nobody asks for it) and lists ``ghost`` without its file.
    ``tamper`` names a file whose bytes are replaced after the catalogue was written.
    """
    staging = folder / "staging" / "pyodide"
    staging.mkdir(parents=True)
    (staging / MSGPACK_WHEEL).write_bytes(msgpack_wheel().read_bytes())
    build_wheel(staging, "withlib", "1.0", tag=PYODIDE_TAG)
    unused = build_wheel(staging, "unused", "1.0")
    with zipfile.ZipFile(staging / LIBTINY_ZIP, "w") as archive:
        archive.writestr("lib/libtiny.so", b"\0asm-not-really")

    def entry(name: str, file_name: str, **extra: object) -> dict[str, object]:
        fields: dict[str, object] = {
            "name": name,
            "version": "1.2.4" if name == "msgpack" else "1.0",
            "file_name": file_name,
            "sha256": _sha256((staging / file_name).read_bytes())
            if (staging / file_name).exists()
            else "0" * 64,
            "imports": [name],
            "depends": [],
            "install_dir": "site",
            "package_type": "package",
            "unvendored_tests": False,
        }
        fields.update(extra)
        return fields

    catalogue = {
        "info": dict(PYODIDE_314_INFO),
        "packages": {
            "msgpack": entry("msgpack", MSGPACK_WHEEL),
            "withlib": entry("withlib", WITHLIB_WHEEL, depends=["libtiny"]),
            "libtiny": entry(
                "libtiny",
                LIBTINY_ZIP,
                imports=[],
                install_dir="dynlib",
                package_type="shared_library",
                shared_library=True,
            ),
            "unused": entry("unused", unused.name),
            "ghost": entry("ghost", "ghost-1.0-py3-none-any.whl"),
        },
    }
    (staging / "pyodide-lock.json").write_text(json.dumps(catalogue, indent=1))
    if tamper:
        (staging / tamper).write_bytes(b"tampered")
    archive_path = folder / "pyodide-test.tar.bz2"
    with tarfile.open(archive_path, "w:bz2") as archive:
        archive.add(staging, arcname="pyodide")
    return archive_path


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    """Made before the cache is isolated: msgpack's wheel comes from the user cache."""
    return make_archive(tmp_path / "release")


@pytest.fixture
def isolated_cache(archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV_VAR, str(cache))
    return cache


def sources_for(archive: Path, root: Path, index: FakeIndex) -> PackageSources:
    settings = SourceSettings(root=root, work_dir=root / ".lite-build", distribution=str(archive))
    return PackageSources(settings, index)


def test_a_tarball_distribution_gives_the_closure_with_its_shared_library(
    tmp_path: Path, archive: Path, isolated_cache: Path, pyodide: PyodidePlatform, index: FakeIndex
) -> None:
    sources = sources_for(archive, tmp_path, index)
    assert sources.distribution is not None
    sources.distribution.check_abi(pyodide.abi_version)

    resolved = resolve(["msgpack", "withlib"], pyodide, sources.layered_index())
    paths = sources.fetch(resolved)

    assert {(p.name, p.version, p.source) for p in resolved} == {
        ("msgpack", "1.2.4", "pyodide"),
        ("withlib", "1.0", "pyodide"),
        ("libtiny", "1.0", "pyodide"),
    }
    assert index.listed == []  # the distribution had everything: PyPI was never asked
    assert paths["msgpack"] == wheel_cache_path(MSGPACK_SHA256, MSGPACK_WHEEL)
    # only the closure left the archive: "unused" was never extracted
    assert sorted(path.name for path in isolated_cache.rglob("*") if path.is_file()) == sorted(
        [MSGPACK_WHEEL, WITHLIB_WHEEL, LIBTINY_ZIP]
    )

    # the site's lock: the shared library ships as a lock entry, not as a piplite package
    site = tmp_path / "site"
    (site / "wheels").mkdir(parents=True)
    entries = []
    for package in resolved:
        (site / "wheels" / package.filename).write_bytes(paths[package.name].read_bytes())
        entries.append(
            lock_entry(
                package,
                paths[package.name],
                file_name=f"wheels/{package.filename}",
                fields=sources.catalogue_fields(package),
            )
        )
    lock = make_lock(PYODIDE_314_INFO, entries)
    (site / "pyodide-lock.json").write_text(json.dumps(lock))
    verify_lock(site / "pyodide-lock.json")

    libtiny = lock["packages"]["libtiny"]
    assert (libtiny["package_type"], libtiny["shared_library"], libtiny["install_dir"]) == (
        "shared_library",
        True,
        "dynlib",
    )
    assert lock["packages"]["withlib"]["depends"] == ["libtiny"]
    piplite = make_piplite_index(
        (package, paths[package.name], f"../wheels/{package.filename}") for package in resolved
    )
    assert sorted(piplite) == ["msgpack", "withlib"]


def test_a_file_the_tarball_lacks_falls_through_to_pypi(
    tmp_path: Path, archive: Path, isolated_cache: Path, pyodide: PyodidePlatform, index: FakeIndex
) -> None:
    index.add("ghost", "0.5")
    sources = sources_for(archive, tmp_path, index)

    [ghost] = resolve(["ghost"], pyodide, sources.layered_index())

    assert (ghost.version, ghost.source) == ("0.5", "pypi")
    assert sources.layered_index().other_sources("ghost") == [
        "no local wheels given",
        f"the Pyodide distribution {archive} lists it, but its file ghost-1.0-py3-none-any.whl "
        "is missing there",
    ]


def test_a_tampered_file_in_the_tarball_is_refused_and_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = make_archive(tmp_path / "release", tamper=WITHLIB_WHEEL)
    cache = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV_VAR, str(cache))
    distribution = PyodideDistribution(str(archive))
    [file] = distribution.files("withlib")

    with pytest.raises(LiteBuildError) as caught:
        distribution.fetch_file(file.filename, file.sha256, label="withlib 1.0")

    assert str(caught.value) == (
        f"withlib 1.0: {WITHLIB_WHEEL} from {archive} does not match the sha256 in the "
        f"distribution's pyodide-lock.json (expected {file.sha256}, got "
        f"{_sha256(b'tampered')}); nothing was written"
    )
    assert not [path for path in cache.rglob("*") if path.is_file()]


@pytest.mark.parametrize("file_name", ["/home/someone/.bashrc", "../../.bashrc", "sub/x.whl"])
def test_a_catalogue_file_name_that_is_not_a_plain_name_is_refused(file_name: str) -> None:
    catalogue = {"packages": {"evil": {"file_name": file_name, "sha256": "ab" * 32}}}
    with pytest.raises(LiteBuildError) as caught:
        parse_catalogue(catalogue, "the Pyodide distribution https://mirror.example.org/")
    assert str(caught.value) == (
        "the Pyodide distribution https://mirror.example.org/: its pyodide-lock.json entry "
        f"'evil': {file_name!r} is not a plain file name; lite-build refuses it, as it would "
        "write outside its folder. The source is damaged or hostile: fix it or use another"
    )


def test_a_catalogue_hash_that_is_not_a_sha256_is_refused() -> None:
    catalogue = {"packages": {"evil": {"file_name": "evil-1.0.whl", "sha256": "../../x"}}}
    with pytest.raises(LiteBuildError) as caught:
        parse_catalogue(catalogue, "the Pyodide distribution /srv/pyodide")
    assert str(caught.value) == (
        "the Pyodide distribution /srv/pyodide: its pyodide-lock.json entry 'evil': '../../x' "
        "is not a sha256 (64 hex digits); the source is damaged or hostile: fix it or use another"
    )
