from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from lite_build.errors import LiteBuildError
from lite_build.packages.platform import PyodidePlatform
from lite_build.packages.resolve import ResolvedPackage, resolve
from lite_build.ui import NullReporter

if TYPE_CHECKING:
    from conftest import FakeIndex

PYEMSCRIPTEN = "cp314-cp314-pyemscripten_2026_0_wasm32"
NO_BUILD = "no pure-Python or pyemscripten_2026_0_wasm32 wheel"


def versions(packages: list[ResolvedPackage]) -> dict[str, str]:
    return {package.name: package.version for package in packages}


def message(
    requirements: list[str], pyodide: PyodidePlatform, index: FakeIndex, **options: Any
) -> str:
    with pytest.raises(LiteBuildError) as caught:
        resolve(requirements, pyodide, index, **options)
    return str(caught.value)


# -- what gets chosen --------------------------------------------------------------------------


def test_resolves_dependencies_and_sorts_by_name(
    pyodide: PyodidePlatform, index: FakeIndex
) -> None:
    wheel = index.add("Zeta_Pkg", "1.0", requires=["alpha>=1"])
    index.add("alpha", "1.0")
    index.add("alpha", "2.0")

    packages = resolve(["zeta-pkg"], pyodide, index)

    assert [package.name for package in packages] == ["alpha", "zeta-pkg"]
    assert packages[1] == ResolvedPackage(
        name="zeta-pkg",
        version="1.0",
        filename=wheel.filename,
        url=wheel.url,
        sha256=wheel.sha256,
        size=1000,
        depends=("alpha",),
        requested_extras=(),
    )
    assert packages[0].version == "2.0"


def test_markers_are_evaluated_for_pyodide(pyodide: PyodidePlatform, index: FakeIndex) -> None:
    index.add(
        "ipython",
        "9.0",
        requires=[
            'pexpect>4.3; sys_platform != "win32" and sys_platform != "emscripten"',
            'tomli; python_version < "3.11"',
            'typing-extensions; python_version >= "3.12"',
            'colorama; sys_platform == "win32"',
        ],
    )
    index.add("typing-extensions", "4.0")

    packages = resolve(["ipython"], pyodide, index)

    assert versions(packages) == {"ipython": "9.0", "typing-extensions": "4.0"}
    assert packages[0].depends == ("typing-extensions",)
    assert "pexpect" not in index.listed


def test_requirement_with_a_marker_that_does_not_apply_is_skipped(
    pyodide: PyodidePlatform, index: FakeIndex
) -> None:
    index.add("attrs", "1.0")
    assert versions(resolve(["attrs", 'pywin32; sys_platform == "win32"'], pyodide, index)) == {
        "attrs": "1.0"
    }


def test_extras_add_their_dependencies(pyodide: PyodidePlatform, index: FakeIndex) -> None:
    index.add(
        "httpx",
        "1.0",
        requires=[
            "idna",
            'h2; extra == "http2"',
            'brotlicffi; extra == "http2" and sys_platform != "emscripten"',
            'socksio; extra == "socks"',
        ],
        extras=["http2", "socks"],
    )
    index.add("idna", "3.0")
    index.add("h2", "4.0")
    index.add("socksio", "1.0")

    packages = resolve(["httpx[http2]"], pyodide, index)

    assert versions(packages) == {"h2": "4.0", "httpx": "1.0", "idna": "3.0"}
    httpx = packages[1]
    assert httpx.requested_extras == ("http2",)
    assert httpx.depends == ("h2", "idna")


def test_without_extras_their_dependencies_stay_out(
    pyodide: PyodidePlatform, index: FakeIndex
) -> None:
    index.add("httpx", "1.0", requires=["idna", 'h2; extra == "http2"'], extras=["http2"])
    index.add("idna", "3.0")

    packages = resolve(["httpx"], pyodide, index)

    assert versions(packages) == {"httpx": "1.0", "idna": "3.0"}
    assert packages[0].depends == ("idna",)


def test_unknown_extra_is_reported_and_ignored(pyodide: PyodidePlatform, index: FakeIndex) -> None:
    index.add("lib", "1.0", extras=["fast"])
    told: list[str] = []

    class Recorder(NullReporter):
        def info(self, message: str) -> None:
            told.append(message)

    assert versions(resolve(["lib[turbo]"], pyodide, index, reporter=Recorder())) == {"lib": "1.0"}
    assert told == ['"lib" 1.0 has no extra "turbo"; ignoring it']


def test_extra_and_base_resolve_to_the_same_version(
    pyodide: PyodidePlatform, index: FakeIndex
) -> None:
    for version in ("1.0", "2.0"):
        index.add("lib", version, requires=['extra-dep; extra == "more"'], extras=["more"])
    index.add("extra-dep", "1.0")

    packages = resolve(["lib[more]", "lib<2"], pyodide, index)

    assert versions(packages) == {"extra-dep": "1.0", "lib": "1.0"}


def test_pyodide_build_preferred_over_pure_wheel(
    pyodide: PyodidePlatform, index: FakeIndex
) -> None:
    index.add("msgpack", "1.2")
    native = index.add("msgpack", "1.2", tag=PYEMSCRIPTEN)

    (package,) = resolve(["msgpack"], pyodide, index)

    assert package.filename == native.filename == "msgpack-1.2-" + PYEMSCRIPTEN + ".whl"


def test_versions_without_a_usable_wheel_are_skipped(
    pyodide: PyodidePlatform, index: FakeIndex
) -> None:
    index.add("msgpack", "1.0", tag=PYEMSCRIPTEN)
    index.add("msgpack", "1.1", tag="cp313-cp313-pyemscripten_2025_0_wasm32")
    index.add("msgpack", "1.2", tag="cp314-cp314-manylinux_2_17_x86_64")
    index.add_sdist("msgpack", "1.3")

    (package,) = resolve(["msgpack"], pyodide, index)

    assert package.version == "1.0"


def test_requires_python_excluding_314_is_skipped(
    pyodide: PyodidePlatform, index: FakeIndex
) -> None:
    index.add("old", "1.0", requires_python=">=3.8")
    index.add("old", "2.0", requires_python="<3.14")

    assert versions(resolve(["old"], pyodide, index)) == {"old": "1.0"}


def test_yanked_only_when_pinned_exactly(pyodide: PyodidePlatform, index: FakeIndex) -> None:
    index.add("lib", "1.0")
    index.add("lib", "2.0", yanked=True)

    assert versions(resolve(["lib"], pyodide, index)) == {"lib": "1.0"}
    assert versions(resolve(["lib>=1"], pyodide, index)) == {"lib": "1.0"}
    assert versions(resolve(["lib==2.0"], pyodide, index)) == {"lib": "2.0"}


def test_prereleases_follow_specifier_rules(pyodide: PyodidePlatform, index: FakeIndex) -> None:
    index.add("lib", "1.0")
    index.add("lib", "2.0b1")
    index.add("only-pre", "0.1a1")

    assert versions(resolve(["lib"], pyodide, index)) == {"lib": "1.0"}
    assert versions(resolve(["lib>=2.0b1"], pyodide, index)) == {"lib": "2.0b1"}
    assert versions(resolve(["only-pre"], pyodide, index)) == {"only-pre": "0.1a1"}


def test_preferred_version_is_tried_first(pyodide: PyodidePlatform, index: FakeIndex) -> None:
    for version in ("1.0", "1.5", "2.0"):
        index.add("lib", version)

    assert versions(resolve(["lib"], pyodide, index, preferred={"lib": "1.5"})) == {"lib": "1.5"}
    # a preferred version the requirements exclude is ignored
    assert versions(resolve(["lib>=2"], pyodide, index, preferred={"lib": "1.5"})) == {"lib": "2.0"}
    # preferred names are normalized
    assert versions(resolve(["LIB"], pyodide, index, preferred={"Lib": "1.0"})) == {"lib": "1.0"}


def test_provided_packages_are_satisfied_and_left_out(
    pyodide: PyodidePlatform, index: FakeIndex
) -> None:
    index.add("ipywidgets", "8.0", requires=["comm", "ipykernel>=99", "widgetsnbextension~=4.0"])
    index.add("comm", "0.2")
    provided = {"ipykernel": "6.9.2", "widgetsnbextension": "4.0.999", "pyodide-kernel": "0.8.6"}

    packages = resolve(["ipywidgets", "pyodide-kernel"], pyodide, index, provided=provided)

    assert versions(packages) == {"comm": "0.2", "ipywidgets": "8.0"}
    assert packages[1].depends == ("comm",)
    assert not {"ipykernel", "widgetsnbextension", "pyodide-kernel"} & set(index.listed)


def test_backtracks_to_a_version_whose_dependencies_work(
    pyodide: PyodidePlatform, index: FakeIndex
) -> None:
    index.add("tool", "1.0")
    index.add("tool", "2.0", requires=["numpy"])
    index.add("numpy", "2.0", tag="cp314-cp314-manylinux_2_17_x86_64")

    assert versions(resolve(["tool"], pyodide, index)) == {"tool": "1.0"}


def test_metadata_is_read_only_for_chosen_candidates(
    pyodide: PyodidePlatform, index: FakeIndex
) -> None:
    for version in ("1.0", "2.0", "3.0"):
        index.add("lib", version)

    resolve(["lib"], pyodide, index)

    assert index.metadata_read == ["lib-3.0-py3-none-any.whl"]


# -- what the user reads when it fails --------------------------------------------------------


def test_error_package_not_found(pyodide: PyodidePlatform, index: FakeIndex) -> None:
    assert message(["frobnicate-xyz"], pyodide, index) == (
        '"frobnicate-xyz": not found on the package index (https://pypi.org/simple/); '
        "check the spelling"
    )


def test_error_no_pyodide_build_of_a_pyodide_package(
    pyodide: PyodidePlatform, index: FakeIndex
) -> None:
    index.add("numpy", "2.4.0", tag="cp314-cp314-manylinux_2_17_x86_64")
    index.add("numpy", "2.4.0", tag="cp314-cp314-win_amd64")
    index.add_sdist("numpy", "2.4.0")

    assert message(["numpy"], pyodide, index, preferred={"numpy": "2.4.6"}) == (
        f'"numpy": PyPI has no Pyodide build ({NO_BUILD}) of any version matching "numpy"; '
        "pure-Python packages and packages with Pyodide wheels on PyPI work; "
        "numpy needs a full Pyodide distribution: set [pyodide] distribution = to a "
        "Pyodide release folder, .tar.bz2 file or base URL that has it"
    )


def test_error_no_pyodide_build_of_another_package(
    pyodide: PyodidePlatform, index: FakeIndex
) -> None:
    index.add_sdist("fastthing", "1.0")

    assert message(["fastthing"], pyodide, index) == (
        f'"fastthing": PyPI has no Pyodide build ({NO_BUILD}) of any version matching '
        '"fastthing"; pure-Python packages and packages with Pyodide wheels on PyPI work; '
        "fastthing would need a Pyodide build published by its authors"
    )


def test_error_no_pyodide_build_in_the_requested_versions(
    pyodide: PyodidePlatform, index: FakeIndex
) -> None:
    index.add("msgpack", "1.0", tag="cp314-cp314-manylinux_2_17_x86_64")
    index.add("msgpack", "1.2", tag=PYEMSCRIPTEN)
    index.add("msgpack", "1.3", tag=PYEMSCRIPTEN)

    assert message(["msgpack<1.1"], pyodide, index) == (
        f'"msgpack<1.1": PyPI has no Pyodide build ({NO_BUILD}) of any version matching '
        '"msgpack<1.1"; versions with one: 1.3, 1.2; allow one of those'
    )


def test_error_names_the_package_that_needs_it(pyodide: PyodidePlatform, index: FakeIndex) -> None:
    index.add("seaborn", "0.12", requires=["numpy>=1.20"])
    index.add("seaborn", "0.13", requires=["numpy>=1.20,!=1.24.0"])
    index.add("numpy", "2.0", tag="cp314-cp314-manylinux_2_17_x86_64")

    assert message(["seaborn"], pyodide, index, preferred={"numpy": "2.4.6"}) == (
        f'"numpy" (needed by "seaborn" 0.12 to 0.13): PyPI has no Pyodide build ({NO_BUILD}) '
        'of any version matching "numpy"; pure-Python packages and packages with Pyodide '
        "wheels on PyPI work; numpy needs a full Pyodide distribution: set [pyodide] "
        "distribution = to a Pyodide release folder, .tar.bz2 file or base URL that has it"
    )


def test_error_missing_dependency_names_its_parent(
    pyodide: PyodidePlatform, index: FakeIndex
) -> None:
    index.add("tool", "1.0", requires=["helper-typo"])

    assert message(["tool"], pyodide, index) == (
        '"helper-typo" (needed by "tool" 1.0): not found on the package index '
        "(https://pypi.org/simple/); check the spelling"
    )


def test_error_conflict_lists_requirements_and_who_asked(
    pyodide: PyodidePlatform, index: FakeIndex
) -> None:
    index.add("cattrs", "25.1", requires=["attrs>=24.3"])
    index.add("attrs", "19.3")
    index.add("attrs", "25.1")

    assert message(["attrs<20", "cattrs"], pyodide, index) == (
        'the requirements on "attrs" cannot all be met together:\n'
        '    "attrs<20" (requested)\n'
        '    "attrs>=24.3" (needed by "cattrs" 25.1)\n'
        "    versions that work in Pyodide: 25.1, 19.3\n"
        "    change or remove one of these requirements"
    )


def test_error_no_matching_release(pyodide: PyodidePlatform, index: FakeIndex) -> None:
    index.add("attrs", "26.1")

    assert message(["attrs==99"], pyodide, index) == (
        '"attrs==99": no release of "attrs" on PyPI matches "attrs==99" (the newest is 26.1); '
        "check the version numbers"
    )


def test_error_requires_python(pyodide: PyodidePlatform, index: FakeIndex) -> None:
    index.add("legacy", "1.0", requires_python="<3.10")

    assert message(["legacy"], pyodide, index) == (
        '"legacy": every release matching "legacy" that could run in Pyodide needs a different '
        "Python than Pyodide's 3.14.2; allow other versions"
    )


def test_error_all_yanked(pyodide: PyodidePlatform, index: FakeIndex) -> None:
    index.add("lib", "1.0", yanked=True)

    assert message(["lib"], pyodide, index) == (
        '"lib": the releases matching "lib" were withdrawn (yanked) by their authors; allow '
        'other versions, or pin one exactly ("lib==X") to use it anyway'
    )


def test_all_problems_are_reported_at_once(pyodide: PyodidePlatform, index: FakeIndex) -> None:
    index.add_sdist("numpy", "2.0")
    index.add("attrs", "1.0")

    reported = message(["numpy", "attrs", "frobnicate-xyz", "bad req!"], pyodide, index)

    assert reported.startswith("3 problems with the requested packages:\n")
    assert '\n  - "bad req!": not a valid requirement (' in reported
    assert '\n  - "numpy": PyPI has no Pyodide build' in reported
    assert '\n  - "frobnicate-xyz": not found' in reported
    assert message(["numpy", "attrs", "frobnicate-xyz"], pyodide, index) == (
        "2 problems with the requested packages:\n"
        f'  - "numpy": PyPI has no Pyodide build ({NO_BUILD}) of any version matching "numpy"; '
        "pure-Python packages and packages with Pyodide wheels on PyPI work; "
        "numpy would need a Pyodide build published by its authors\n"
        '  - "frobnicate-xyz": not found on the package index (https://pypi.org/simple/); '
        "check the spelling"
    )


def test_error_direct_url(pyodide: PyodidePlatform, index: FakeIndex) -> None:
    assert message(["lib @ https://example.org/lib-1.0-py3-none-any.whl"], pyodide, index) == (
        '"lib @ https://example.org/lib-1.0-py3-none-any.whl": direct URLs are not supported; '
        "give a package name from the index, optionally with versions (name>=1.2)"
    )


def test_error_names_another_index_by_its_url(pyodide: PyodidePlatform, index: FakeIndex) -> None:
    index.url = "http://127.0.0.1:8080/simple/"
    index.add_sdist("lib", "1.0")

    assert message(["lib"], pyodide, index).startswith(
        '"lib": the package index http://127.0.0.1:8080/simple/ has no Pyodide build'
    )


# -- against PyPI: the stand-in's frozen copy, and (marked network) the live one ---------------

KERNEL_SET = ["attrs", "msgpack", "ipython", "jedi", "comm", "micropip==0.11.1"]
KERNEL_PROVIDED = {
    "pyodide-kernel": "0.8.6",
    "ipykernel": "6.9.2",
    "piplite": "0.8.6",
    "widgetsnbextension": "4.0.999",
}


@pytest.fixture(params=["frozen", pytest.param("live", marks=pytest.mark.network)])
def pypi(request: pytest.FixtureRequest) -> Iterator[Any]:
    """PyPI as tests/registry pins it or, in the network variant, as it is today: a change
    there (a new release, a numpy Pyodide build) shows in the network run first."""
    from lite_build.packages.index import SimpleIndex

    if request.param == "live":
        request.getfixturevalue("live_registries")
    with SimpleIndex() as index:
        yield index


@pytest.fixture(scope="module")
def preferred() -> dict[str, str]:
    """The versions the default Pyodide release ships, which a build prefers."""
    from lite_build.config import PyodideSettings
    from lite_build.kernel.runtime import ensure_runtime
    from lite_build.kernel.wheels import preferred_versions

    return preferred_versions(ensure_runtime(PyodideSettings().version).lock)


@pytest.mark.integration
def test_pypi_kernel_set(pyodide: PyodidePlatform, pypi: Any, preferred: dict[str, str]) -> None:
    packages = resolve(KERNEL_SET, pyodide, pypi, preferred=preferred, provided=KERNEL_PROVIDED)

    by_name = {package.name: package for package in packages}
    assert by_name["msgpack"].filename.endswith("-cp314-cp314-pyemscripten_2026_0_wasm32.whl")
    assert by_name["micropip"].version == "0.11.1"
    assert "pexpect" not in by_name
    assert {"ipython", "jedi", "parso", "traitlets", "pygments", "prompt-toolkit"} <= set(by_name)
    for package in packages:
        assert set(package.depends) <= set(by_name), package


@pytest.mark.integration
def test_pypi_numpy_has_no_pyodide_build(
    pyodide: PyodidePlatform, pypi: Any, preferred: dict[str, str]
) -> None:
    """Live: fails the day numpy publishes a Pyodide build on PyPI; the advice to use a full
    Pyodide distribution for numpy is then out of date."""
    with pytest.raises(LiteBuildError) as caught:
        resolve(["numpy"], pyodide, pypi, preferred=preferred)
    index = "PyPI" if pypi.url == "https://pypi.org/simple/" else f"the package index {pypi.url}"
    assert str(caught.value) == (
        f'"numpy": {index} has no Pyodide build ({NO_BUILD}) of any version matching "numpy"; '
        "pure-Python packages and packages with Pyodide wheels on PyPI work; "
        "numpy needs a full Pyodide distribution: set [pyodide] distribution = to a "
        "Pyodide release folder, .tar.bz2 file or base URL that has it"
    )
