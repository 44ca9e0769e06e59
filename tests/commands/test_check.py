"""`lite-build check`: the pure parts (which cells run, with which answers, and the messages)."""

from __future__ import annotations

import pytest

from lite_build.commands.check import Cell, _cell_failure, _choose_kernel, notebook_cells
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
    assert skipped == 1


def test_an_unanswered_input_is_a_failure_that_says_how_to_answer() -> None:
    failure = _cell_failure(
        Cell(3, "name = input('Name? ')\n", ()),
        {"status": "ok", "error": None, "stdinUnanswered": "Name? "},
    )
    assert failure is not None
    assert failure.cell == 3
    assert failure.error == (
        "waits for input() ('Name? ') but no answer was given; add answers to the cell "
        'metadata: {"lite-build": {"input": ["..."]}} or tag the cell "skip-check"'
    )


def test_an_error_names_the_exception_and_keeps_the_traceback() -> None:
    failure = _cell_failure(
        Cell(2, "1/0", ()),
        {
            "status": "error",
            "error": {
                "ename": "ZeroDivisionError",
                "evalue": "division by zero",
                "traceback": ["line 1"],
            },
            "stdinUnanswered": None,
        },
    )
    assert failure is not None
    assert failure.error == "ZeroDivisionError: division by zero"
    assert failure.traceback == ["line 1"]


def test_a_passing_cell_is_no_failure() -> None:
    assert _cell_failure(Cell(0, "x", ()), {"status": "ok", "error": None}) is None


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
