from __future__ import annotations

import pytest
from packaging.markers import Marker
from packaging.tags import Tag

from lite_build.errors import LiteBuildError
from lite_build.packages.platform import PyodidePlatform


def test_from_lock_info_reads_the_runtime(pyodide: PyodidePlatform) -> None:
    assert pyodide == PyodidePlatform(
        python_version="3.14.2", abi_version="2026_0", emscripten_version="5.0.3"
    )
    assert pyodide.platform_tag == "pyemscripten_2026_0_wasm32"
    assert pyodide.python_short_version == "3.14"


def test_from_lock_info_rejects_an_unusable_info_block() -> None:
    with pytest.raises(LiteBuildError) as caught:
        PyodidePlatform.from_lock_info({"python": "3.14.2", "abi_version": "2026_0"})
    assert str(caught.value) == (
        "the Pyodide lock's info block is not usable: "
        '"platform" is \'\', expected a value such as "emscripten_5_0_3"'
    )


def test_marker_environment(pyodide: PyodidePlatform) -> None:
    assert pyodide.marker_environment() == {
        "implementation_name": "cpython",
        "implementation_version": "3.14.2",
        "os_name": "posix",
        "platform_machine": "wasm32",
        "platform_python_implementation": "CPython",
        "platform_release": "5.0.3",
        "platform_system": "Emscripten",
        "platform_version": "#1",
        "python_full_version": "3.14.2",
        "python_version": "3.14",
        "sys_platform": "emscripten",
    }


@pytest.mark.parametrize(
    ("marker", "expected"),
    [
        ('sys_platform != "emscripten"', False),
        ('sys_platform == "win32"', False),
        ('python_version >= "3.12"', True),
        ('python_version < "3.11"', False),
        ('platform_system == "Emscripten" and platform_machine == "wasm32"', True),
        ('implementation_name == "pypy"', False),
    ],
)
def test_markers_evaluate_as_in_the_browser(
    pyodide: PyodidePlatform, marker: str, expected: bool
) -> None:
    environment = {**pyodide.marker_environment(), "extra": ""}
    assert Marker(marker).evaluate(environment) is expected


def test_supported_tags_best_first(pyodide: PyodidePlatform) -> None:
    tags = pyodide.supported_tags()
    assert tags[0] == Tag("cp314", "cp314", "pyemscripten_2026_0_wasm32")
    assert tags.index(Tag("cp314", "abi3", "pyemscripten_2026_0_wasm32")) == 1
    platform_specific = [i for i, tag in enumerate(tags) if tag.platform != "any"]
    pure = tags.index(Tag("py3", "none", "any"))
    assert max(platform_specific) < pure
    assert len(tags) == len(set(tags))


@pytest.mark.parametrize(
    ("filename", "supported"),
    [
        ("msgpack-1.2.4-cp314-cp314-pyemscripten_2026_0_wasm32.whl", True),
        ("pydantic_core-2.0-cp311-abi3-pyemscripten_2026_0_wasm32.whl", True),
        ("attrs-26.1.0-py3-none-any.whl", True),
        ("jedi-0.19.2-py2.py3-none-any.whl", True),
        ("msgpack-1.2.4-cp313-cp313-pyemscripten_2025_0_wasm32.whl", False),
        ("msgpack-1.2.4-cp315-cp315-pyemscripten_2026_5_wasm32.whl", False),
        ("numpy-2.4.0-cp314-cp314-manylinux_2_17_x86_64.whl", False),
        ("numpy-2.4.0-cp314-cp314-emscripten_5_0_3_wasm32.whl", False),
        ("six-1.0-py2-none-any.whl", False),
        ("not-a-wheel.whl", False),
    ],
)
def test_wheel_tags_supported(pyodide: PyodidePlatform, filename: str, supported: bool) -> None:
    assert pyodide.wheel_tags_supported(filename) is supported


def test_tag_priority_prefers_the_pyodide_build(pyodide: PyodidePlatform) -> None:
    native = pyodide.tag_priority("msgpack-1.2.4-cp314-cp314-pyemscripten_2026_0_wasm32.whl")
    pure = pyodide.tag_priority("msgpack-1.2.4-py3-none-any.whl")
    assert native is not None and pure is not None
    assert native < pure
