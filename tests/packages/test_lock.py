from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from lite_build.errors import LiteBuildError
from lite_build.kernel.wheels import kernel_extension_dir, kernel_index
from lite_build.packages.pyodide_lock import (
    LockEntry,
    lock_entry,
    make_lock,
    make_piplite_index,
    verify_lock,
    write_json,
)
from lite_build.packages.resolve import ResolvedPackage

if TYPE_CHECKING:
    from conftest import MakeWheel

INFO = {
    "abi_version": "2026_0",
    "arch": "wasm32",
    "platform": "emscripten_5_0_3",
    "python": "3.14.2",
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def resolved(
    wheel: Path, *, depends: tuple[str, ...] = (), digest: str | None = None
) -> ResolvedPackage:
    name, version = wheel.name.split("-")[:2]
    return ResolvedPackage(
        name=name.replace("_", "-"),
        version=version,
        filename=wheel.name,
        url=f"https://files.example.org/{wheel.name}",
        sha256=digest or sha256(wheel),
        size=wheel.stat().st_size,
        depends=depends,
        requested_extras=(),
    )


def test_lock_entry(make_wheel: MakeWheel) -> None:
    wheel = make_wheel("stack-data", "0.6.3", files={"stack_data/__init__.py": ""})
    package = resolved(wheel, depends=("pure-eval", "asttokens", "executing"))

    assert lock_entry(package, wheel, file_name="packages/" + wheel.name).to_json() == {
        "name": "stack-data",
        "version": "0.6.3",
        "file_name": "packages/stack_data-0.6.3-py3-none-any.whl",
        "sha256": sha256(wheel),
        "imports": ["stack_data"],
        "depends": ["asttokens", "executing", "pure-eval"],
        "install_dir": "site",
        "package_type": "package",
        "unvendored_tests": False,
        "shared_library": False,
    }


def test_lock_entry_hash_mismatch(make_wheel: MakeWheel) -> None:
    wheel = make_wheel("attrs", "26.1.0")
    package = resolved(wheel, digest="0" * 64)

    with pytest.raises(LiteBuildError) as caught:
        lock_entry(package, wheel, file_name=wheel.name)
    assert str(caught.value) == (
        f'"attrs" 26.1.0: the file {wheel} does not match the sha256 its source '
        f"published (expected {'0' * 64}, got {sha256(wheel)}); delete the file and build again"
    )


def test_make_lock_sorts_packages_by_canonical_name() -> None:
    zeta = LockEntry(name="Zeta", version="1", file_name="zeta.whl", sha256="a" * 64)
    alpha = LockEntry(name="alpha", version="2", file_name="alpha.whl", sha256="b" * 64)

    lock = make_lock(INFO, [zeta, alpha])

    assert list(lock["packages"]) == ["alpha", "zeta"]
    assert lock["info"] == INFO
    assert lock["packages"]["zeta"] == {
        "name": "Zeta",
        "version": "1",
        "file_name": "zeta.whl",
        "sha256": "a" * 64,
        "imports": [],
        "depends": [],
        "install_dir": "site",
        "package_type": "package",
        "unvendored_tests": False,
        "shared_library": False,
    }


def test_a_lock_entry_reads_back_as_written() -> None:
    entry = LockEntry(
        name="libdemo",
        version="1.0",
        file_name="../../wheels/libdemo-1.0.zip?sha256=abc",
        sha256="c" * 64,
        imports=("demo",),
        depends=("zlib",),
        package_type="shared_library",
    )

    assert LockEntry.from_json(entry.to_json()) == entry
    assert entry.to_json()["shared_library"] is True
    assert entry.file == "libdemo-1.0.zip"


def test_make_lock_rejects_duplicates() -> None:
    attrs = LockEntry(name="attrs", version="1", file_name="a.whl", sha256="a" * 64)
    with pytest.raises(LiteBuildError, match=r'^"attrs" appears twice'):
        make_lock(INFO, [attrs, LockEntry(name="Attrs", version="1", file_name="b", sha256="")])


def test_write_json_is_deterministic(tmp_path: Path) -> None:
    first, second = tmp_path / "a" / "lock.json", tmp_path / "b" / "lock.json"
    write_json(first, {"b": [1, {"y": 2, "x": 1}], "a": "é"})
    write_json(second, {"a": "é", "b": [1, {"x": 1, "y": 2}]})

    assert first.read_bytes() == second.read_bytes()
    assert first.read_text().endswith("}\n")
    assert json.loads(first.read_text()) == {"a": "é", "b": [1, {"x": 1, "y": 2}]}
    assert sorted(path.name for path in first.parent.iterdir()) == ["lock.json"]


def test_write_json_replaces_the_file(tmp_path: Path) -> None:
    path = tmp_path / "lock.json"
    path.write_text("old")
    write_json(path, {})
    assert path.read_text() == "{}\n"


def test_make_piplite_index(make_wheel: MakeWheel) -> None:
    wheel = make_wheel("Demo_Pkg", "1.0", requires_python=">=3.10")
    data = wheel.read_bytes()

    package = resolved(wheel)
    index = make_piplite_index(
        [(package, wheel, "https://example.org/x.whl"), (package, wheel, wheel.name)]
    )

    files = index["demo-pkg"]["releases"]["1.0"]
    assert list(index) == ["demo-pkg"]
    assert files[0] == {
        "comment_text": "",
        "digests": {
            "md5": hashlib.md5(data).hexdigest(),
            "sha256": hashlib.sha256(data).hexdigest(),
        },
        "downloads": -1,
        "filename": "Demo_Pkg-1.0-py3-none-any.whl",
        "has_sig": False,
        "md5_digest": hashlib.md5(data).hexdigest(),
        "packagetype": "bdist_wheel",
        "python_version": "py3",
        "requires_python": ">=3.10",
        "size": len(data),
        "url": "./Demo_Pkg-1.0-py3-none-any.whl",
        "yanked": False,
        "yanked_reason": None,
    }
    assert files[1]["url"] == "https://example.org/x.whl"


def test_piplite_index_has_the_shape_the_kernel_extension_ships(make_wheel: MakeWheel) -> None:
    # the index jupyterlite-pyodide-kernel itself ships, wherever it is installed
    shipped = kernel_index(kernel_extension_dir())
    reference = next(iter(shipped["piplite"]["releases"].values()))[0]
    wheel = make_wheel("lib", "1.0")
    ours = make_piplite_index([(resolved(wheel), wheel, "./" + wheel.name)])
    entry = ours["lib"]["releases"]["1.0"][0]

    assert set(reference) - set(entry) <= {"upload_time", "upload_time_iso_8601"}


# -- verify_lock -------------------------------------------------------------------------------


def write_site_lock(folder: Path, make_wheel: MakeWheel) -> Path:
    entries = []
    for name, depends in (("parso", ()), ("jedi", ("parso",))):
        wheel = make_wheel(name, "1.0")
        shutil.copy(wheel, folder / wheel.name)
        entries.append(lock_entry(resolved(wheel, depends=depends), wheel, file_name=wheel.name))
    path = folder / "pyodide-lock.json"
    write_json(path, make_lock(INFO, entries))
    return path


def test_verify_lock_accepts_a_good_lock(tmp_path: Path, make_wheel: MakeWheel) -> None:
    site = tmp_path / "site"
    site.mkdir()
    verify_lock(write_site_lock(site, make_wheel))


def test_verify_lock_lists_every_problem(tmp_path: Path, make_wheel: MakeWheel) -> None:
    site = tmp_path / "site"
    site.mkdir()
    path = write_site_lock(site, make_wheel)
    lock = json.loads(path.read_text())
    lock["packages"]["jedi"]["depends"] = ["parso", "pexpect", "piplite"]
    lock["packages"]["parso"]["sha256"] = "0" * 64
    lock["packages"]["gone"] = {
        "name": "gone",
        "file_name": "gone-1.0-py3-none-any.whl",
        "sha256": "1",
        "depends": [],
    }
    write_json(path, lock)
    actual = sha256(site / "parso-1.0-py3-none-any.whl")

    with pytest.raises(LiteBuildError) as caught:
        verify_lock(path, extra_names=["piplite"])
    assert str(caught.value) == (
        f"the Pyodide lock {path} has 3 problem(s); the Python kernel would not start:\n"
        f'  - "gone": its file gone-1.0-py3-none-any.whl is missing from {site}\n'
        '  - "jedi" depends on "pexpect", which is not in the lock\n'
        '  - "parso": the file parso-1.0-py3-none-any.whl does not match the sha256 in the lock '
        f"(lock: {'0' * 64}, file: {actual})"
    )


def test_verify_lock_rejects_urls_and_a_missing_abi(tmp_path: Path) -> None:
    path = tmp_path / "pyodide-lock.json"
    entry = {
        "name": "attrs",
        "file_name": "https://cdn.example.org/attrs.whl",
        "sha256": "1",
        "depends": [],
    }
    write_json(path, {"info": {}, "packages": {"attrs": entry}})

    with pytest.raises(LiteBuildError) as caught:
        verify_lock(path)
    assert str(caught.value).splitlines()[1:] == [
        '  - the "info" block has no "abi_version"; Pyodide refuses such a lock',
        '  - "attrs": its file is a URL (https://cdn.example.org/attrs.whl); an offline site '
        "must ship the file",
    ]


def test_verify_lock_unreadable(tmp_path: Path) -> None:
    with pytest.raises(LiteBuildError, match=r"^could not read the Pyodide lock"):
        verify_lock(tmp_path / "missing.json")


@pytest.mark.integration
def test_pypi_kernel_set_gives_a_verified_lock(tmp_path: Path) -> None:
    from lite_build.packages.index import SimpleIndex
    from lite_build.packages.platform import PyodidePlatform
    from lite_build.packages.resolve import resolve
    from lite_build.packages.sources.pypi import IndexSource

    provided = ["pyodide-kernel", "ipykernel", "piplite", "widgetsnbextension"]
    packages = resolve(
        ["ipython", "jedi", "comm", "micropip==0.11.1", "msgpack"],
        PyodidePlatform.from_lock_info(INFO),
        SimpleIndex(),
        provided=dict.fromkeys(provided, "0.8.6"),
    )
    index = SimpleIndex("https://pypi.org/simple/")
    wheels = {p.name: IndexSource(index).fetch(p, offline=True) for p in packages}
    site = tmp_path / "site"
    site.mkdir()
    entries = []
    for package in packages:
        shutil.copy(wheels[package.name], site / package.filename)
        entries.append(lock_entry(package, wheels[package.name], file_name=package.filename))
    write_json(site / "pyodide-lock.json", make_lock(INFO, entries))

    verify_lock(site / "pyodide-lock.json")
    lock = json.loads((site / "pyodide-lock.json").read_text())["packages"]
    assert lock["ipython"]["imports"] == ["IPython"]
    assert lock["msgpack"]["imports"] == ["msgpack"]
