"""The configuration reference in docs/ is made from the options' one declaration."""

from __future__ import annotations

from lite_build.config import OPTIONS
from lite_build.reference import DOCUMENT, options_table, with_table


def test_the_configuration_reference_in_docs_is_current() -> None:
    document = DOCUMENT.read_text(encoding="utf-8")
    assert with_table(document) == document, "run `python -m lite_build.reference`"


def test_the_reference_has_one_row_per_option_in_declaration_order() -> None:
    rows = options_table().splitlines()[2:]
    assert [row.split(" | ")[0].removeprefix("| ") for row in rows] == [
        f"`{option.name}`" for option in OPTIONS
    ]
    assert "| `environments[].name` | string | (required) |" in options_table()
