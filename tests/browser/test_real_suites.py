"""Real projects' own test suites, run inside a built site, restored and fresh, in Chromium.

Two pure-Python projects from PyPI, their released sdists' tests unmodified, run with pytest in
a kernel of a site built with snapshots and in the same site built without: every test must
have the same outcome. The failures they share are the ones Pyodide explains (a browser's
Python cannot start threads). A few tests that only crunch numbers for long are left out (each
named, with its time, in ``SUITES``): they ask nothing of the runtime the others do not.
"""

from __future__ import annotations

import contextlib
import dataclasses
import tarfile
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lite_build.cache import Digest, download
from lite_build.config import load_config
from lite_build.packages.index import SimpleIndex
from lite_build.pipeline import build
from tests.browser import lab
from tests.conftest import (
    Served,
    assert_nothing_left_the_site,
    offline_browser_page,
    without_snapshots,
)

pytestmark = [pytest.mark.browser, pytest.mark.integration]


@dataclasses.dataclass(frozen=True)
class Suite:
    """A project's test suite: the tests folder of its sdist, run with pytest."""

    project: str
    version: str
    #: the folder holding the tests, inside the sdist's top folder
    tests: str
    #: the package the tests import (loaded from the site's lock before pytest runs)
    package: str
    #: tests left out: pure arithmetic that takes most of the suite's time in a browser (pytest's
    #: --deselect takes a node id as a prefix: a name must not begin another test's)
    deselect: tuple[str, ...] = ()


SUITES = (
    # unittest-style, 21 000 subtests; some tests start threads
    Suite(
        "more-itertools",
        "11.2.1",
        "tests",
        "more_itertools",
        # 65 % of the suite's time on CPython (20.3, 3.8, 2.3, 1.8, 1.3 and 0.9 of 47 s on a
        # busy 2-CPU machine): primes up to millions, a Fourier transform round trip,
        # prime-counting bounds, every ordering of a long sequence, a polynomial of many roots,
        # 100 000 random orderings
        deselect=(
            "tests/test_recipes.py::PrimeFunctionTests::test_primes",
            "tests/test_more.py::DiscreteFourierTransformTests::test_roundtrip",
            "tests/test_recipes.py::PrimeFunctionTests::test_nth_prime_approximate",
            "tests/test_more.py::ExtractTests::test_all_orderings",
            "tests/test_recipes.py::PolynomialFromRootsTests::test_large",
            "tests/test_more.py::TestRandomOrderedRange::test_lcg_mitigation",
        ),
    ),
    # pytest-style, the tests inside the package
    Suite("toolz", "1.2.0", "toolz/tests", "toolz"),
)

#: Pyodide's own limit, the only reason a test may fail in a browser here
PYODIDE_EXPLAINS = {"RuntimeError: can't start new thread"}

RUNNER = """
import contextlib, io, json, os, sys, pytest, {package}

class Outcomes:
    def __init__(self):
        self.tests = {{}}
        self.deselected = []

    def pytest_deselected(self, items):
        self.deselected += [item.nodeid for item in items]

    def pytest_runtest_logreport(self, report):
        if report.when == "call" or report.outcome != "passed":
            crash = getattr(report.longrepr, "reprcrash", None)
            self.tests[report.nodeid] = [report.outcome, crash.message if crash else ""]

unraisable = []
sys.unraisablehook = lambda info: unraisable.append(repr(info.exc_value))
os.chdir("/drive/{folder}")
outcomes = Outcomes()
arguments = ["-q", "-p", "no:cacheprovider", "--capture=sys", "tests"]
for test in {deselect!r}:
    arguments += ["--deselect", test]
# pytest's progress goes to a buffer: it flushes a character per test and per subtest (more
# than 12 000 for more-itertools), and the page receiving each as a message of its own took
# most of the suite's time (more-itertools: 107 s to 57 s from the page's start)
with contextlib.redirect_stdout(io.StringIO()):
    code = pytest.main(arguments, plugins=[outcomes])
found = {{
    "exit": int(code),
    "tests": outcomes.tests,
    "deselected": sorted(outcomes.deselected),
    "unraisable": unraisable,
}}
print("SUITE-" "BEGIN" + json.dumps(found) + "SUITE-" "END")
"""
#: a suite takes up to about 90 s in the browser on a 2-CPU machine
SUITE_TIMEOUT_MS = 600_000


def sdist(project: str, version: str, folder: Path) -> Path:
    """The project's released sdist from the package index, checked against its sha256."""
    with SimpleIndex() as index:
        (file,) = [
            found
            for found in index.files(project)
            if found.filename.endswith(".tar.gz")
            and found.filename.rsplit("-", 1)[-1] == f"{version}.tar.gz"
        ]
    return download(
        file.url, folder / file.filename, Digest("sha256", file.sha256), label=file.filename
    )


@pytest.fixture(scope="module")
def suite_sites(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One project holding every suite's tests as content, built with and without snapshots."""
    root = tmp_path_factory.mktemp("suites")
    sdists = tmp_path_factory.mktemp("sdists")
    for suite in SUITES:
        with tarfile.open(sdist(suite.project, suite.version, sdists)) as archive:
            top = archive.getnames()[0].split("/")[0]
            prefix = f"{top}/{suite.tests}/"
            members = [m for m in archive.getmembers() if m.name.startswith(prefix)]
            for member in members:
                member.name = f"{suite.package}/tests/{member.name[len(prefix) :]}"
            archive.extractall(root / "content", members=members, filter="data")
    packages = ", ".join(f'"{suite.project}=={suite.version}"' for suite in SUITES)
    (root / "lite-build.toml").write_text(
        textwrap.dedent(
            f"""
            title = "Real suites"
            default-kernel = "suites"

            [[environments]]
            name = "suites"
            display-name = "Suites"
            packages = ["pytest", {packages}]
            """
        )
    )
    config = load_config(cwd=root)
    restored = build(dataclasses.replace(config, output=root / "restored")).output
    fresh = without_snapshots(restored, root / "fresh")
    return {"restored": restored, "fresh": fresh}


@pytest.fixture(scope="module")
def outcomes(
    browser: Any, serve_site: Callable[..., Served], suite_sites: dict[str, Path]
) -> dict[tuple[str, str], dict[str, Any]]:
    """Each suite's outcomes by (how the kernel started, project). A suite runs in a restored
    and a fresh kernel at once, each in a page of its own (the kernels' workers use a core
    each)."""
    urls = {started: serve_site(site).url for started, site in suite_sites.items()}
    results = {}
    for suite in SUITES:
        code = RUNNER.format(package=suite.package, folder=suite.package, deselect=suite.deselect)
        with contextlib.ExitStack() as pages:
            opened = {
                started: pages.enter_context(offline_browser_page(browser)) for started in urls
            }
            for started, (page, _record) in opened.items():
                lab.start_console(page, urls[started], "suites", code)
            for started, (page, record) in opened.items():
                found = lab.console_result(page, "suites", "SUITE", timeout=SUITE_TIMEOUT_MS)
                how = "restored from its snapshot" if started == "restored" else "no snapshot"
                assert any(how in line for line in record.console), "\n".join(record.console)
                results[started, suite.project] = found
        for _page, record in opened.values():
            assert_nothing_left_the_site(record)
    return results


@pytest.mark.parametrize("project", [suite.project for suite in SUITES])
def test_a_real_suite_has_the_same_outcome_in_a_restored_and_a_fresh_kernel(
    outcomes: dict[tuple[str, str], dict[str, Any]], project: str
) -> None:
    restored, fresh = outcomes["restored", project], outcomes["fresh", project]
    assert len(restored["tests"]) > 100
    # exactly the tests named to leave out were left out (a misspelt name leaves none out)
    [suite] = [suite for suite in SUITES if suite.project == project]
    assert restored["deselected"] == sorted(suite.deselect)
    assert restored == fresh


@pytest.mark.parametrize("project", [suite.project for suite in SUITES])
def test_a_real_suite_fails_only_where_pyodide_explains_it(
    outcomes: dict[tuple[str, str], dict[str, Any]], project: str
) -> None:
    results = outcomes["restored", project]
    reasons = {message for outcome, message in results["tests"].values() if outcome == "failed"}
    assert reasons <= PYODIDE_EXPLAINS
    # nothing left behind by the build's Python surfaced while the suite ran
    assert results["unraisable"] == []
