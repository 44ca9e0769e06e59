"""The configuration reference, made from the options' one declaration (config.OPTIONS).

``docs/configuration.md`` holds it between two markers; ``python -m lite_build.reference``
writes it there again after an option changes (a test fails while it is out of date).
"""

from __future__ import annotations

import sys
from pathlib import Path

from lite_build.config import describe_options

BEGIN = "<!-- begin: made by `python -m lite_build.reference`; edit lite_build/config.py -->"
END = "<!-- end: made by `python -m lite_build.reference` -->"
DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"


def options_table() -> str:
    """Every option, in declaration order, as a Markdown table."""
    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for option in describe_options():
        default = (
            f"`{option.default}`"
            if option.default.startswith(("[", '"', "true", "false"))
            else option.default
        )
        cells = [f"`{option.name}`", option.type, default or "—", option.help]
        rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(rows) + "\n"


def with_table(document: str) -> str:
    """``document`` with the table between the markers made afresh."""
    head, found, rest = document.partition(BEGIN)
    _, ended, tail = rest.partition(END)
    if not found or not ended:
        raise ValueError(f"the markers {BEGIN!r} and {END!r} are missing")
    return f"{head}{BEGIN}\n{options_table()}{END}{tail}"


def main() -> int:
    DOCUMENT.write_text(with_table(DOCUMENT.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote the option reference into {DOCUMENT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
