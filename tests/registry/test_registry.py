"""The stand-in registries themselves: what they serve from a frozen listing and a store, what
they answer for anything else, and the fetch that fills the store."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from packaging.utils import canonicalize_name

from lite_build.cache import Digest, download
from lite_build.errors import LiteBuildError
from lite_build.packages.index import SimpleIndex
from tests.packages.conftest import build_wheel
from tests.registry.listing import FrozenListing, PinnedFile, PinnedTarball
from tests.registry.server import RegistryServer
from tests.registry.store import fetch, stored_path
from tests.registry.upstream import pinned_kind

TARBALL = b"an npm tarball"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def keep(store: Path, data: bytes, algorithm: str = "sha256") -> None:
    """Put ``data`` in the store as the fetch would."""
    path = stored_path(store, Digest(algorithm, hashlib.new(algorithm, data).hexdigest()))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def pinned(
    filename: str, data: bytes, *, metadata: str | None = None, stored: bool = True
) -> PinnedFile:
    return PinnedFile(
        filename=filename,
        url=f"https://files.example.org/{filename}",
        sha256=sha256(data),
        size=len(data),
        requires_python=">=3.9",
        yanked=False,
        metadata_sha256=sha256(metadata.encode()) if metadata is not None else None,
        stored=stored,
    )


@pytest.fixture
def wheel(tmp_path: Path) -> Path:
    return build_wheel(tmp_path, "tiny-lib", "1.0", requires=["attrs>=23"])


@pytest.fixture
def store(tmp_path: Path, wheel: Path) -> Path:
    folder = tmp_path / "store"
    keep(folder, wheel.read_bytes())
    with zipfile.ZipFile(wheel) as archive:
        keep(folder, archive.read("tiny_lib-1.0.dist-info/METADATA"))
    keep(folder, TARBALL, "sha512")
    return folder


@pytest.fixture
def listing(wheel: Path) -> FrozenListing:
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read("tiny_lib-1.0.dist-info/METADATA").decode()
    sri = "sha512-" + base64.b64encode(hashlib.sha512(TARBALL).digest()).decode()
    return FrozenListing(
        projects={
            "tiny-lib": [
                pinned(wheel.name, wheel.read_bytes(), metadata=metadata),
                pinned("tiny_lib-1.0.tar.gz", b"an sdist", stored=False),
            ],
            "gone": [pinned("gone-2.0-py3-none-any.whl", b"never fetched")],
        },
        npm={"pyodide": {"314.0.6": PinnedTarball("https://registry.example.org/p.tgz", sri)}},
    )


@pytest.fixture
def registry(listing: FrozenListing, store: Path) -> Iterator[RegistryServer]:
    with RegistryServer(listing, store) as server:
        yield server


def test_the_frozen_listing_is_what_lite_build_sees(
    registry: RegistryServer, wheel: Path, tmp_path: Path
) -> None:
    with SimpleIndex(registry.index_url, cache=tmp_path / "cache") as index:
        files = index.files("Tiny_Lib")
        assert [file.filename for file in files] == [wheel.name, "tiny_lib-1.0.tar.gz"]
        metadata = index.metadata(files[0])
    assert (metadata.name, metadata.version, metadata.requires_dist) == (
        "tiny-lib",
        "1.0",
        ("attrs>=23",),
    )
    fetched = download(
        files[0].url, tmp_path / wheel.name, Digest("sha256", files[0].sha256), label=wheel.name
    )
    assert fetched.read_bytes() == wheel.read_bytes()
    assert registry.take_misses() == []


def test_an_unpinned_project_is_a_404_naming_it_and_the_command_that_pins_it(
    registry: RegistryServer,
) -> None:
    expected = (
        'the test registry has no project "No_Such.Thing" (PyPI): pin the release the tests need '
        "with `python -m tests.registry add no-such-thing==VERSION`, then run "
        "`python -m tests.registry fetch`"
    )
    reply = httpx.get(registry.index_url + "No_Such.Thing/")
    assert (reply.status_code, reply.text) == (404, expected)
    assert registry.take_misses() == [f"GET /simple/No_Such.Thing/: {expected}"]
    assert registry.take_misses() == []


def test_a_pinned_file_missing_from_the_store_says_to_fetch(
    registry: RegistryServer, store: Path
) -> None:
    (file,) = registry.listing.projects["gone"]
    reply = httpx.get(f"{registry.url}/files/{file.sha256}/{file.filename}")
    assert reply.status_code == 404
    assert reply.text == (
        f"gone-2.0-py3-none-any.whl is pinned but not in the test registry's store ({store}): "
        "run `python -m tests.registry fetch` (scripts/setup.sh does)"
    )
    assert len(registry.take_misses()) == 1


def test_a_listed_only_sdist_says_how_to_store_it(registry: RegistryServer) -> None:
    sdist = registry.listing.projects["tiny-lib"][1]
    reply = httpx.get(f"{registry.url}/files/{sdist.sha256}/{sdist.filename}")
    assert (reply.status_code, reply.text) == (
        404,
        "tiny_lib-1.0.tar.gz is listed but not stored in the test registry: pin it stored with "
        "`python -m tests.registry add --sdist tiny-lib==1.0`, then run "
        "`python -m tests.registry fetch`",
    )


def test_a_wheel_without_a_metadata_file_is_a_plain_404_not_a_miss(
    registry: RegistryServer,
) -> None:
    (file,) = registry.listing.projects["gone"]
    reply = httpx.get(f"{registry.url}/files/{file.sha256}/{file.filename}.metadata")
    assert reply.status_code == 404
    assert registry.take_misses() == []


def test_npm_pinned_version_and_tarball(registry: RegistryServer) -> None:
    version = httpx.get(f"{registry.npm_url}/pyodide/314.0.6").json()
    tarball = registry.listing.npm["pyodide"]["314.0.6"]
    assert version["dist"]["integrity"] == tarball.integrity
    assert httpx.get(version["dist"]["tarball"]).content == TARBALL
    assert list(httpx.get(f"{registry.npm_url}/pyodide").json()["versions"]) == ["314.0.6"]

    reply = httpx.get(f"{registry.npm_url}/pyodide/314.0.7")
    assert (reply.status_code, reply.text) == (
        404,
        'the test registry has no version 314.0.7 of the npm package "pyodide": pin it with '
        "`python -m tests.registry add-npm pyodide@314.0.7`, then run "
        "`python -m tests.registry fetch`",
    )
    assert len(registry.take_misses()) == 1


def test_fetch_fills_the_store_once_and_refuses_a_changed_file(
    tmp_path: Path, registry: RegistryServer, store: Path
) -> None:
    # upstream is another stand-in: the pins point at what it serves
    upstream = _as_published_by(registry)
    fresh = tmp_path / "fresh"

    first = fetch(upstream, fresh)
    again = fetch(upstream, fresh)

    # the wheel, its metadata file and the tarball; the listed-only sdist is never fetched
    assert (first.items, first.downloaded, again.downloaded) == (3, 3, 0)
    assert sorted(p.read_bytes() for p in fresh.rglob("*") if p.is_file()) == sorted(
        p.read_bytes() for p in store.rglob("*") if p.is_file()
    )
    tarball = Digest.from_sri(upstream.npm["pyodide"]["314.0.6"].integrity)
    stored_path(fresh, tarball).unlink()
    stored_path(store, tarball).write_bytes(b"changed upstream")
    with pytest.raises(LiteBuildError, match="does not match its published sha512 hash"):
        fetch(upstream, fresh)
    assert not stored_path(fresh, tarball).exists()


def _as_published_by(registry: RegistryServer) -> FrozenListing:
    """The pins of ``registry``'s listing, with ``registry`` as their upstream."""
    listing = registry.listing
    projects = {
        name: [
            replace(file, url=f"{registry.url}/files/{file.sha256}/{file.filename}")
            for file in files
        ]
        for name, files in listing.projects.items()
        if name != "gone"
    }
    npm = {
        package: {
            version: replace(tarball, url=f"{registry.npm_url}/{package}/-/{package}-{version}.tgz")
            for version, tarball in versions.items()
        }
        for package, versions in listing.npm.items()
    }
    return FrozenListing(projects, npm)


@pytest.mark.parametrize(
    ("filename", "kind"),
    [
        ("demo-2.0-py3-none-any.whl", "wheel"),
        ("demo-2.0-py2.py3-none-any.whl", "wheel"),
        ("demo-2.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl", "wheel"),
        ("demo-2.0.tar.gz", "sdist"),
        ("demo-2.0-cp314-cp314-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl", None),
        ("demo-2.0-cp314-cp314-win_amd64.whl", None),
        ("demo-1.9-py3-none-any.whl", None),
        ("demo-1.9.tar.gz", None),
    ],
)
def test_which_upstream_files_a_pin_keeps(filename: str, kind: str | None) -> None:
    assert pinned_kind(filename, "2.0") == kind


def test_the_committed_listing_pins_one_release_per_project() -> None:
    listing = FrozenListing.load()
    for name, files in listing.projects.items():
        assert name == canonicalize_name(name)
        assert len({file.version for file in files}) == 1, name
        assert all(file.stored or file.filename.endswith(".tar.gz") for file in files), name
