"""Package sources without a build: requirement expansion, the distribution (over a local HTTP
server), the layered index's preference and error messages, the lock file's round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lite_build.cache import CACHE_ENV_VAR, sha256_of
from lite_build.config import Environment
from lite_build.errors import LiteBuildError
from lite_build.packages.choose import choose_packages
from lite_build.packages.lockfile import (
    LockedEnvironment,
    LockedPackage,
    LockFile,
    format_lock,
    read_lock,
    write_lock,
)
from lite_build.packages.platform import PyodidePlatform
from lite_build.packages.requirements import expand_packages
from lite_build.packages.resolve import resolve
from lite_build.packages.sources import LayeredIndex, PackageSources, SourceSettings
from lite_build.packages.sources.base import Unconfigured
from lite_build.packages.sources.distribution import PyodideDistribution
from lite_build.packages.sources.local import LocalWheels
from lite_build.packages.sources.project import LocalProjects
from lite_build.packages.sources.pypi import IndexSource
from tests.packages.conftest import FakeIndex, build_wheel
from tests.packages.sources_project import MSGPACK_SHA256, make_distribution, serve_counting


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    """A distribution folder (made before the cache is isolated: msgpack comes from the cache)."""
    return make_distribution(tmp_path / "srv" / "dist")


@pytest.fixture
def isolated_cache(dist: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV_VAR, str(cache))
    return cache


# -- requirement files, dependency groups, projects --------------------------------------------


def test_requirement_files_groups_and_projects_expand(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text(
        "# course packages\nattrs>=23  # pinned low\n-r more.txt\n"
    )
    (tmp_path / "more.txt").write_text("msgpack \\\n  ==1.2.4\n")
    (tmp_path / "pyproject.toml").write_text(
        '[dependency-groups]\nbase = ["rich"]\ncourse = ["tqdm", {include-group = "base"}]\n'
    )
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "pyproject.toml").write_text('[project]\nname = "My_Lib"\n')

    expanded = expand_packages(
        ["-r requirements.txt", "-g pyproject.toml:course", "./lib", "six"], tmp_path
    )

    assert expanded.problems == []
    assert expanded.requirements == ["attrs>=23", "msgpack ==1.2.4", "tqdm", "rich", "six"]
    assert expanded.projects == [tmp_path / "lib"]
    assert expanded.names == {"attrs", "msgpack", "tqdm", "rich", "six", "my-lib"}


def test_requirement_problems_name_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("attrs\n--index-url https://example.org\n")
    (tmp_path / "pyproject.toml").write_text('[dependency-groups]\ncourse = ["tqdm"]\n')

    expanded = expand_packages(
        ["-r requirements.txt", "-g pyproject.toml:lab", "./missing", "-r nope.txt"],
        tmp_path,
        key="environments[0].packages",
    )

    assert expanded.problems == [
        "requirements.txt, line 2: the option --index-url is not supported in lite-build "
        "requirement files; packages come from the local wheels, local projects, the Pyodide "
        "distribution and PyPI",
        'environments[0].packages: pyproject.toml has no dependency group "lab" (groups: "course")',
        f'environments[0].packages: "./missing" does not exist (looked for {tmp_path / "missing"})',
        f'environments[0].packages: "-r nope.txt": cannot read {tmp_path / "nope.txt"}: No such '
        "file or directory",
    ]


def test_requirement_files_that_include_each_other_are_a_problem_naming_the_cycle(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.txt").write_text("attrs\n-r b.txt\n")
    (tmp_path / "b.txt").write_text("six\n-r a.txt\n")
    # two includes of itself: each level doubled the work until a depth limit (2 ** 21 reads)
    (tmp_path / "self.txt").write_text("-r self.txt\n-r ./self.txt\n")

    expanded = expand_packages(["-r a.txt", "-r self.txt"], tmp_path)

    assert expanded.problems == [
        "b.txt, line 2: the requirement files include themselves: a.txt -> b.txt -> a.txt",
        "self.txt, line 1: the requirement files include themselves: self.txt -> self.txt",
        "self.txt, line 2: the requirement files include themselves: self.txt -> self.txt",
    ]
    assert expanded.requirements == ["attrs", "six"]


def test_a_requirement_file_included_twice_without_a_cycle_is_no_problem(tmp_path: Path) -> None:
    (tmp_path / "course.txt").write_text("-r base.txt\n-r extra.txt\n")
    (tmp_path / "extra.txt").write_text("-r base.txt\nmsgpack\n")
    (tmp_path / "base.txt").write_text("attrs\n")

    expanded = expand_packages(["-r course.txt"], tmp_path)

    assert expanded.problems == []
    assert expanded.names == {"attrs", "msgpack"}


# -- the Pyodide distribution --------------------------------------------------------------------


def test_a_remote_distribution_serves_only_what_is_asked_and_lacks_missing_files(
    tmp_path: Path, isolated_cache: Path
) -> None:
    with serve_counting(tmp_path / "srv") as server:
        distribution = PyodideDistribution(server.url)
        distribution.check_abi("2026_0")
        [file] = distribution.files("msgpack")
        assert (file.version, file.sha256, file.source) == ("1.2.4", MSGPACK_SHA256, "pyodide")
        assert distribution.files("ghost") == []  # listed, file missing: falls through
        path = distribution.fetch_file(file.filename, file.sha256, label="msgpack 1.2.4")
        assert path.is_relative_to(isolated_cache)
    assert server.requests == [
        "GET /dist/pyodide-lock.json",
        f"HEAD /dist/{file.filename}",
        "HEAD /dist/ghost-9.9-py3-none-any.whl",
        f"GET /dist/{file.filename}",
    ]
    assert distribution.missing_reason("ghost") == (
        f"the Pyodide distribution {server.url} lists it, but its file "
        "ghost-9.9-py3-none-any.whl is missing there"
    )


def test_a_hash_mismatch_is_an_error_and_nothing_is_written(
    tmp_path: Path, isolated_cache: Path
) -> None:
    folder = tmp_path / "srv" / "dist"
    catalogue = json.loads((folder / "pyodide-lock.json").read_text())
    wheel = catalogue["packages"]["unused"]["file_name"]
    (folder / wheel).write_bytes(b"tampered")
    distribution = PyodideDistribution(str(folder))
    expected = catalogue["packages"]["unused"]["sha256"]

    with pytest.raises(LiteBuildError) as caught:
        distribution.fetch_file(wheel, expected, label="unused 1.0")

    assert str(caught.value).startswith(
        f"unused 1.0: {wheel} from {folder / wheel} does not match the sha256 in the "
        f"distribution's pyodide-lock.json (expected {expected}, got "
    )
    assert not list(isolated_cache.rglob("*.whl"))


def test_an_abi_mismatch_names_the_fix(tmp_path: Path, isolated_cache: Path) -> None:
    distribution = PyodideDistribution(str(tmp_path / "srv" / "dist"))
    with pytest.raises(LiteBuildError) as caught:
        distribution.check_abi("2027_0")
    assert str(caught.value) == (
        f"the Pyodide distribution {tmp_path / 'srv' / 'dist'} is built for the Pyodide ABI "
        "'2026_0', but the runtime is '2027_0'; set [pyodide] distribution to the release matching "
        "[pyodide] version"
    )


# -- preference order and the "no source has it" message ---------------------------------------


def test_local_wheels_win_over_the_distribution_and_pypi(
    tmp_path: Path, pyodide: PyodidePlatform, index: FakeIndex, isolated_cache: Path
) -> None:
    index.add("msgpack", "1.2.4", tag="cp314-cp314-pyemscripten_2026_0_wasm32")
    index.add("tinylib", "2.0")
    local = build_wheel(tmp_path, "tinylib", "1.0")
    layered = LayeredIndex(
        [
            LocalWheels([local]),
            LocalProjects(tmp_path / "work"),
            PyodideDistribution(str(tmp_path / "srv" / "dist")),
            IndexSource(index),
        ]
    )

    resolved = {p.name: p for p in resolve(["tinylib", "msgpack"], pyodide, layered)}

    assert (resolved["tinylib"].source, resolved["tinylib"].version) == ("wheels", "1.0")
    assert (resolved["msgpack"].source, resolved["msgpack"].sha256) == ("pyodide", MSGPACK_SHA256)
    assert index.listed == []  # PyPI was never asked


def test_a_package_no_source_has_lists_every_source_tried(
    pyodide: PyodidePlatform, index: FakeIndex
) -> None:
    index.add("numpy", "2.4.0", tag="cp314-cp314-manylinux_2_17_x86_64")
    layered = LayeredIndex(
        [
            LocalWheels(),
            LocalProjects(Path("work")),
            Unconfigured("no Pyodide distribution configured"),
            IndexSource(index),
        ]
    )

    with pytest.raises(LiteBuildError) as caught:
        resolve(["numpy"], pyodide, layered, preferred={"numpy": "2.4.6"})

    assert str(caught.value) == (
        '"numpy": no local wheels given; no Pyodide distribution configured; PyPI has no '
        "Pyodide build (no pure-Python or pyemscripten_2026_0_wasm32 wheel) of any version "
        'matching "numpy"; pure-Python packages and packages with Pyodide wheels on PyPI work; '
        "numpy needs a full Pyodide distribution: set [pyodide] distribution = to a Pyodide "
        "release folder, .tar.bz2 file or base URL that has it"
    )


# -- the lock file -------------------------------------------------------------------------------


def test_the_lock_file_round_trips_to_the_byte(tmp_path: Path) -> None:
    lock = LockFile(
        pyodide="314.0.6",
        sources=("wheels: ./wheels", "distribution: http://127.0.0.1:1/dist/"),
        environments=(
            LockedEnvironment(
                "python",
                ("msgpack", "./localproj"),
                (
                    LockedPackage(
                        "msgpack",
                        "1.2.4",
                        "pyodide",
                        "m.whl",
                        "http://127.0.0.1:1/dist/m.whl",
                        "a" * 64,
                        10,
                        (),
                        {"imports": ["msgpack"], "package_type": "package"},
                    ),
                    LockedPackage(
                        "attrs", "26.1.0", "pypi", "a.whl", "https://x/a.whl", "b" * 64, 5
                    ),
                ),
            ),
        ),
    )
    path = tmp_path / "lite-build.lock"
    write_lock(path, lock)
    again = read_lock(path)

    assert format_lock(again) == path.read_text()
    assert again.environment("python").package("msgpack").fields == {  # type: ignore[union-attr]
        "imports": ["msgpack"],
        "package_type": "package",
    }
    text = path.read_text()
    assert text.index('name = "attrs"') < text.index('name = "msgpack"')  # sorted: stable diffs


# -- a lock that no longer describes the site ----------------------------------------------------


def wheels_sources(root: Path) -> PackageSources:
    """The sources of a site with a local wheels folder and no distribution (PyPI unused)."""
    (root / "wheels").mkdir(exist_ok=True)
    settings = SourceSettings(root=root, work_dir=root / "work", wheels=(root / "wheels",))
    return PackageSources(settings, FakeIndex())


def test_a_stale_lock_names_every_reason_and_the_fix(tmp_path: Path) -> None:
    lock = LockFile(
        pyodide="314.0.5",
        sources=(),
        environments=(LockedEnvironment("python", ("attrs", "msgpack"), ()),),
    )
    environment = Environment("python", "Python", packages=("attrs", "six"))

    with pytest.raises(LiteBuildError) as caught:
        choose_packages(
            environment, {}, wheels_sources(tmp_path), pyodide_version="314.0.6", lock=lock
        )

    assert str(caught.value) == (
        "lite-build.lock does not match the configuration: it was written for Pyodide 314.0.5, "
        "the site uses 314.0.6; the package sources (wheels, [pyodide] distribution) changed; "
        'the packages of environment "python" changed (added six; removed msgpack); run '
        "`lite-build lock` to update it (or delete it to resolve at every build)"
    )


def test_a_locked_local_wheel_that_changed_since_says_how_to_relock(tmp_path: Path) -> None:
    sources = wheels_sources(tmp_path)
    wheel = build_wheel(tmp_path / "wheels", "tinylib", "1.0")
    locked = LockedPackage(
        "tinylib", "1.0", "wheels", wheel.name, f"wheels/{wheel.name}", sha256_of(wheel), 1
    )
    build_wheel(tmp_path / "wheels", "tinylib", "1.0", files={"tinylib/__init__.py": "X = 2\n"})

    with pytest.raises(LiteBuildError) as caught:
        sources.fetch([locked.resolved(tmp_path)])

    assert str(caught.value) == (
        f'"tinylib" 1.0: the local file {wheel} is missing or changed since the packages were '
        "chosen; run `lite-build lock --upgrade tinylib` (or delete lite-build.lock) and build "
        "again"
    )


def test_a_locked_distribution_package_without_a_distribution_says_what_to_set(
    tmp_path: Path,
) -> None:
    locked = LockedPackage(
        "msgpack", "1.2.4", "pyodide", "m.whl", "http://127.0.0.1:1/dist/m.whl", "a" * 64, 10
    )

    with pytest.raises(LiteBuildError) as caught:
        wheels_sources(tmp_path).fetch([locked.resolved(tmp_path)])

    assert str(caught.value) == (
        '"msgpack": lite-build.lock takes it from a Pyodide distribution, but none is '
        "configured; set [pyodide] distribution, or run `lite-build lock --upgrade`"
    )
