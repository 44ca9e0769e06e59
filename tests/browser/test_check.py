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


def test_check_passes_the_default_distribution(default_site: Path) -> None:
    report = check_site(default_site, timeout=300)
    failures = {r.path: r.failure for r in report.notebooks if not r.passed}
    assert failures == {}
    assert len(report.notebooks) == len(list((default_site / "files").rglob("*.ipynb")))
    assert report.blocked_requests == []
    assert report.passed


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
    ]
    nbformat.write(good, root / "content" / "good.ipynb")
    broken = nbformat.v4.new_notebook()
    broken.cells = [
        nbformat.v4.new_markdown_cell("# Broken"),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("x / 0"),
        nbformat.v4.new_code_cell("print('never reached')"),
    ]
    nbformat.write(broken, root / "content" / "broken.ipynb")
    return build(load_config(cwd=root)).output


def test_check_fails_a_broken_notebook_naming_it_and_the_error(
    broken_site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report_path = tmp_path / "report.json"
    code = main(["check", str(broken_site), "--json", str(report_path), "--timeout", "300"])
    assert code == EXIT_ERROR
    report = json.loads(report_path.read_text())
    results = {item["path"]: item for item in report["notebooks"]}
    assert results["good.ipynb"]["passed"] is True
    assert results["good.ipynb"]["cells_skipped"] == 1
    failure = results["broken.ipynb"]["failure"]
    assert results["broken.ipynb"]["passed"] is False
    assert failure["cell"] == 2
    assert failure["error"] == "ZeroDivisionError: division by zero"
    assert report["passed"] is False
    err = capsys.readouterr().err
    assert "FAILED  broken.ipynb cell 2: ZeroDivisionError: division by zero" in err
    assert "1 of 2 notebooks failed" in err
