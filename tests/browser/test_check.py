"""`lite-build check` against real built sites in Chromium."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import nbformat
import pytest

from lite_build.cli import EXIT_ERROR, main
from lite_build.commands.check import check_site
from lite_build.config import load_config
from lite_build.pipeline import build

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_check_of_named_default_notebooks_runs_only_those_expecting_the_lessons_errors(
    default_site: Path,
) -> None:
    # every default notebook runs in the UI in test_default_site.py; here the lesson on errors
    # (its deliberate errors) and the one answering input() from cell metadata
    report = check_site(default_site, timeout=300, notebooks=["07-errors.ipynb", "03-input.ipynb"])
    assert [r.path for r in report.notebooks] == ["07-errors.ipynb", "03-input.ipynb"]
    failures = {r.path: r.failures for r in report.notebooks if not r.passed}
    assert failures == {}
    assert report.blocked_requests == []
    assert report.passed
    # the lesson on errors: its deliberate errors are expected, each by its tag
    lesson, asking = report.notebooks
    assert [(e.cell, e.error.split(":")[0], e.why) for e in lesson.expected_errors] == [
        (2, "NameError", "tagged raises-exception"),
        (6, "ZeroDivisionError", "tagged raises-exception"),
        (9, "TypeError", "tagged raises-exception"),
    ]
    # its input() is answered from the cell's metadata: every cell ran and was checked
    assert (asking.cells_run, asking.not_checked) == (3, [])


def saved_error(source: str, ename: str, evalue: str) -> nbformat.NotebookNode:
    """A code cell as Jupyter saves it after it raised."""
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = [nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[])]
    return cell


@pytest.fixture(scope="module")
def broken_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("broken")
    (root / "content").mkdir()
    (root / "lite-build.toml").write_text(textwrap.dedent('title = "Broken"\n'))
    good = nbformat.v4.new_notebook()
    good.cells = [
        nbformat.v4.new_code_cell("print('fine')"),
        nbformat.v4.new_code_cell("1/0", metadata={"tags": ["skip-check"]}),
        nbformat.v4.new_code_cell(
            "name = input('Name? ')\nassert name == 'Ada'",
            metadata={"lite-build": {"input": ["Ada"]}},
        ),
        # a lesson's deliberate errors: saved as Jupyter ran them, and tagged
        saved_error("point = (1, 2)\npoint[0] = 3", "TypeError", "'tuple' object ..."),
        nbformat.v4.new_code_cell("print(nmae)", metadata={"tags": ["raises-exception"]}),
        nbformat.v4.new_code_cell("age = input('Age? ')"),
        nbformat.v4.new_code_cell("print('after', name, point)"),
    ]
    nbformat.write(good, root / "content" / "good.ipynb")
    broken = nbformat.v4.new_notebook()
    broken.cells = [
        nbformat.v4.new_markdown_cell("# Broken"),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("x / 0"),
        nbformat.v4.new_code_cell("[].pop()", metadata={"tags": ["raises-exception"]}),
        # saved with another error than it raises now: a real failure
        saved_error("print(totl)", "ValueError", "substring not found"),
        nbformat.v4.new_code_cell("print('reached', x)"),
    ]
    nbformat.write(broken, root / "content" / "broken.ipynb")
    return build(load_config(cwd=root)).output


def test_check_runs_on_after_errors_and_reports_each_with_its_cell(
    broken_site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report_path = tmp_path / "report.json"
    code = main(["check", str(broken_site), "--json", str(report_path), "--timeout", "300"])
    assert code == EXIT_ERROR
    report = json.loads(report_path.read_text())
    results = {item["path"]: item for item in report["notebooks"]}
    good, broken = results["good.ipynb"], results["broken.ipynb"]
    assert good["passed"] is True
    assert good["cells_run"] == 6
    assert good["failures"] == []
    assert [(e["cell"], e["why"]) for e in good["expected_errors"]] == [
        (3, "as saved"),
        (4, "tagged raises-exception"),
    ]
    assert good["not_checked"] == ["cell 1 tagged skip-check", "cell 5 without input() answers"]
    assert broken["passed"] is False
    assert broken["cells_run"] == 5  # every cell, after each error
    assert [(f["cell"], f["error"]) for f in broken["failures"]] == [
        (2, "ZeroDivisionError: division by zero"),
        (4, "NameError: name 'totl' is not defined (its saved output shows ValueError)"),
    ]
    assert report["passed"] is False
    err = capsys.readouterr().err
    assert "  FAILED  broken.ipynb (5 cells, " in err
    assert "      cell 2: ZeroDivisionError: division by zero\n" in err
    assert (
        "      cell 3: IndexError: pop from empty list (expected error, tagged raises-exception)"
        in err
    )
    assert (
        "      cell 3: TypeError: 'tuple' object does not support item assignment "
        "(expected error, as saved)" in err
    )
    assert (
        "Not checked: good.ipynb (cell 1 tagged skip-check; cell 5 without input() answers)" in err
    )
    assert "1 of 2 notebooks failed" in err
