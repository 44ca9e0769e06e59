"""`lite-build check`: the pure parts (which notebooks and cells run, with which answers, and the
messages)."""

from __future__ import annotations

import pytest

from lite_build.commands.check import (
    Cell,
    Expectation,
    NotebookResult,
    _choose_kernel,
    chosen_notebooks,
    judge_cell,
    notebook_cells,
    result_lines,
)
from lite_build.errors import LiteBuildError


def code(source: str, **metadata: object) -> dict[str, object]:
    return {"cell_type": "code", "source": source, "metadata": metadata, "outputs": []}


def test_cells_tagged_skip_check_are_skipped_and_counted() -> None:
    notebook = {
        "cells": [
            {"cell_type": "markdown", "source": "# Title", "metadata": {}},
            code("print(1)"),
            code("1/0", tags=["skip-check"]),
            code("   "),
            code(["x = ", "input()"], **{"lite-build": {"input": "Ada"}}),
        ]
    }
    cells, skipped = notebook_cells(notebook)
    assert cells == [Cell(1, "print(1)", ()), Cell(4, "x = input()", ("Ada",))]
    assert skipped == [2]


def error(ename: str, evalue: str) -> dict[str, object]:
    """A cell's outcome as the harness reports an error (the Pyodide kernel's ename)."""
    return {
        "status": "error",
        "error": {"ename": f"<class '{ename}'>", "evalue": evalue, "traceback": ["line 1"]},
        "stdinUnanswered": None,
    }


OK = {"status": "ok", "error": None, "stdinUnanswered": None}


def judged(cell: Cell, outcome: dict[str, object]) -> NotebookResult:
    result = NotebookResult("lesson.ipynb", passed=False, seconds=1.0, cells_run=1)
    judge_cell(cell, outcome, result)
    return result


def saved_error_cell(source: str, ename: str, **metadata: object) -> dict[str, object]:
    cell = code(source, **metadata)
    cell["outputs"] = [
        {"output_type": "stream", "name": "stdout", "text": "before\n"},
        {"output_type": "error", "ename": ename, "evalue": "...", "traceback": []},
    ]
    return cell


def test_an_unanswered_input_is_not_checked_and_says_how_to_answer() -> None:
    result = judged(
        Cell(3, "name = input('Name? ')\nint(name)", ()),
        {**error("ValueError", "invalid literal"), "stdinUnanswered": "Name? "},
    )
    assert result.failures == []
    assert result.not_checked == ["cell 3 without input() answers"]
    result.passed = True
    assert result_lines(result) == [
        "  passed  lesson.ipynb (1 cells, 1.0 s)",
        "      not checked: cell 3 waits for input() ('Name? ') but no answer was given; add "
        'answers to the cell metadata: {"lite-build": {"input": ["..."]}} or tag the cell '
        '"skip-check"',
    ]


def test_an_error_names_the_exception_and_keeps_the_traceback() -> None:
    result = judged(Cell(2, "1/0", ()), error("ZeroDivisionError", "division by zero"))
    [failure] = result.failures
    assert failure.cell == 2
    assert failure.error == "ZeroDivisionError: division by zero"
    assert failure.traceback == ["line 1"]


def test_a_passing_cell_is_no_failure() -> None:
    result = judged(Cell(0, "x", ()), OK)
    assert (result.failures, result.expected_errors, result.unanswered) == ([], [], [])


def test_a_cell_tagged_raises_exception_may_raise_anything_and_must_raise() -> None:
    notebook = {"cells": [code("x", tags=["raises-exception"])]}
    [cell], _ = notebook_cells(notebook)
    assert cell.expects == Expectation(None, "tagged raises-exception")
    result = judged(cell, error("NameError", "name 'x' is not defined"))
    assert result.failures == []
    result.passed = True
    assert result_lines(result) == [
        "  passed  lesson.ipynb (1 cells, 1.0 s)",
        "      cell 0: NameError: name 'x' is not defined (expected error, tagged "
        "raises-exception)",
    ]
    [failure] = judged(cell, OK).failures
    assert (
        failure.error == "raised no error, but the cell is tagged raises-exception (meant to raise)"
    )


def test_a_saved_error_of_the_same_type_is_expected_unless_strict() -> None:
    notebook = {"cells": [saved_error_cell("(1, 2)[0] = 3", "TypeError")]}
    [cell], _ = notebook_cells(notebook)
    assert cell.expects == Expectation("TypeError", "as saved")
    result = judged(cell, error("TypeError", "'tuple' object does not support item assignment"))
    assert result.failures == []
    assert result_lines(result)[1] == (
        "      cell 0: TypeError: 'tuple' object does not support item assignment "
        "(expected error, as saved)"
    )
    # fixed since it was saved: no error is fine
    assert judged(cell, OK).failures == []

    [strict], _ = notebook_cells(notebook, strict=True)
    assert strict.expects is None
    assert len(judged(strict, error("TypeError", "...")).failures) == 1


def test_a_saved_error_of_another_type_is_a_failure_naming_both() -> None:
    [cell], _ = notebook_cells({"cells": [saved_error_cell("'abc'.index('z')", "ValueError")]})
    [failure] = judged(cell, error("NameError", "name 'abc' is not defined")).failures
    assert failure.error == (
        "NameError: name 'abc' is not defined (its saved output shows ValueError)"
    )


def test_the_report_lists_every_failure_and_what_was_not_checked() -> None:
    result = NotebookResult("broken.ipynb", passed=False, seconds=2.5, cells_run=3)
    result.cells_skipped = [1, 4]
    for cell, name in ((2, "ZeroDivisionError"), (5, "KeyError")):
        judge_cell(Cell(cell, "x", ()), error(name, "boom"), result)
    assert result_lines(result) == [
        "  FAILED  broken.ipynb (3 cells, 2.5 s)",
        "      cell 2: ZeroDivisionError: boom",
        "      cell 5: KeyError: boom",
        "      not checked: cells 1, 4 tagged skip-check",
    ]
    assert result.not_checked == ["cells 1, 4 tagged skip-check"]


def test_the_notebooks_own_kernel_wins_else_the_default() -> None:
    assert _choose_kernel("extra", "python", ["python", "extra"]) == "extra"
    assert _choose_kernel("python3", "python", ["python", "extra"]) == "python"
    assert _choose_kernel(None, "", ["zeta", "alpha"]) == "alpha"
    with pytest.raises(LiteBuildError, match="offers no kernel"):
        _choose_kernel(None, None, [])


def test_exception_names_read_like_python_prints_them() -> None:
    from lite_build.commands.check import exception_name

    assert exception_name("<class 'ZeroDivisionError'>") == "ZeroDivisionError"
    assert (
        exception_name("<class 'json.decoder.JSONDecodeError'>") == "json.decoder.JSONDecodeError"
    )
    assert exception_name("KeyError") == "KeyError"
    assert exception_name(None) == "Error"


SITE_NOTEBOOKS = ["01-intro.ipynb", "07-errors.ipynb", "unit/lesson.ipynb"]


def test_without_names_every_notebook_is_checked() -> None:
    assert chosen_notebooks(SITE_NOTEBOOKS, None) == SITE_NOTEBOOKS


def test_named_notebooks_are_checked_in_the_order_given_each_once() -> None:
    wanted = ["unit/lesson.ipynb", "07-errors.ipynb", "./unit/lesson.ipynb", "07-errors.ipynb"]
    assert chosen_notebooks(SITE_NOTEBOOKS, wanted) == ["unit/lesson.ipynb", "07-errors.ipynb"]


@pytest.mark.parametrize(
    "name", ["./unit/lesson.ipynb", ".\\unit\\lesson.ipynb", "././unit/lesson.ipynb"]
)
def test_a_named_notebook_may_start_with_dot_slash_and_use_backslashes(name: str) -> None:
    assert chosen_notebooks(SITE_NOTEBOOKS, [name]) == ["unit/lesson.ipynb"]


def test_an_unknown_notebook_is_an_error_naming_it_and_the_sites_notebooks() -> None:
    with pytest.raises(LiteBuildError) as raised:
        chosen_notebooks(SITE_NOTEBOOKS, ["07-errors.ipynb", "files/07-errors.ipynb"])
    assert str(raised.value) == (
        "files/07-errors.ipynb (did you mean 07-errors.ipynb?) is not a notebook of this site; "
        "its notebooks: 01-intro.ipynb, 07-errors.ipynb, unit/lesson.ipynb"
    )


def test_unknown_notebooks_are_one_error_naming_each_once() -> None:
    with pytest.raises(LiteBuildError) as raised:
        chosen_notebooks(SITE_NOTEBOOKS, ["lesson.ipynb", "zzz.ipynb", "lesson.ipynb"])
    assert str(raised.value) == (
        "lesson.ipynb (did you mean unit/lesson.ipynb?), zzz.ipynb are not notebooks of this "
        "site; its notebooks: 01-intro.ipynb, 07-errors.ipynb, unit/lesson.ipynb"
    )


def test_an_unknown_notebook_of_a_large_site_says_how_many_it_has() -> None:
    many = [f"week-{week:02}.ipynb" for week in range(1, 13)]
    with pytest.raises(LiteBuildError) as raised:
        chosen_notebooks(many, ["intro.ipynb"])
    assert str(raised.value) == (
        "intro.ipynb is not a notebook of this site; it has 12 notebooks, each named by its "
        "path in the content, such as week-01.ipynb"
    )
    with pytest.raises(LiteBuildError) as raised:
        chosen_notebooks([], ["intro.ipynb"])
    assert str(raised.value) == "intro.ipynb is not a notebook of this site; it has none"
