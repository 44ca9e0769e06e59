from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from lite_build.errors import LiteBuildError
from lite_build.packages.wheel import (
    CoreMetadata,
    importable_names,
    parse_core_metadata,
    wheel_imports,
    wheel_metadata,
)

if TYPE_CHECKING:
    from conftest import MakeWheel


def test_imports_from_top_level_txt(make_wheel: MakeWheel) -> None:
    wheel = make_wheel(
        "attrs",
        "26.1.0",
        files={"attr/__init__.py": "", "attrs/__init__.py": "", "other/__init__.py": ""},
        top_level="attrs\nattr\n\nnot-an-identifier\n",
    )

    assert wheel_imports(wheel) == ["attr", "attrs"]


def test_imports_from_the_archive_layout(make_wheel: MakeWheel) -> None:
    wheel = make_wheel(
        "mixed",
        "1.0",
        files={
            "pkg/__init__.py": "",
            "pkg/sub/mod.py": "",
            "nspkg/inner/mod.py": "",
            "single_module.py": "",
            "_speedups.cpython-314-wasm32-emscripten.so": "",
            "datafiles/readme.txt": "",
            "__pycache__/x.cpython-314.pyc": "",
            "my-scripts/tool.py": "",
            "mixed-1.0.data/purelib/extra_mod.py": "",
            "mixed-1.0.data/scripts/run.py": "",
            "setup.cfg": "",
        },
    )

    assert wheel_imports(wheel) == ["_speedups", "extra_mod", "nspkg", "pkg", "single_module"]


def test_importable_names_ignores_metadata_folders() -> None:
    assert importable_names(["x-1.0.dist-info/METADATA", "x-1.0.dist-info/foo.py"]) == set()


def test_wheel_metadata(make_wheel: MakeWheel) -> None:
    wheel = make_wheel(
        "lib", "1.0", requires=["idna>=3", 'h2; extra == "http2"'], requires_python=">=3.9"
    )

    assert wheel_metadata(wheel) == CoreMetadata(
        name="lib",
        version="1.0",
        requires_dist=("idna>=3", 'h2; extra == "http2"'),
        requires_python=">=3.9",
    )


def test_parse_core_metadata_ignores_the_description() -> None:
    text = (
        "Metadata-Version: 2.4\nName: demo\nVersion: 2.0\nProvides-Extra: fast\n"
        "Requires-Dist: cffi; extra == 'fast'\n\nRequires-Dist: not-a-header\n"
    )

    assert parse_core_metadata(text) == CoreMetadata(
        name="demo",
        version="2.0",
        requires_dist=("cffi; extra == 'fast'",),
        provides_extra=("fast",),
    )


def test_not_a_wheel(tmp_path: Path) -> None:
    path = tmp_path / "broken-1.0-py3-none-any.whl"
    path.write_bytes(b"not a zip")

    with pytest.raises(LiteBuildError, match=r"^could not read the wheel .*broken-1\.0"):
        wheel_imports(path)


def test_wheel_without_metadata(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "empty-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("empty.py", "")

    with pytest.raises(LiteBuildError) as caught:
        wheel_metadata(path)
    assert str(caught.value) == (
        "empty-1.0-py3-none-any.whl is not a valid wheel: it has no .dist-info/METADATA file"
    )
