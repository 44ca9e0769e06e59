"""A course author's own project, built from a lite-build.toml, run in Chromium offline."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest

from lite_build.config import load_config
from lite_build.pipeline import build
from tests.browser import lab
from tests.conftest import Offline, Served

pytestmark = [pytest.mark.browser, pytest.mark.integration]

CELLS = [
    "import csv\nrows = list(csv.DictReader(open('data/cities.csv')))\nprint('CITIES', len(rows))",
    "import attrs\n@attrs.define\nclass City:\n    name: str\n    people: int\n"
    "biggest = max((City(r['city'], int(r['people'])) for r in rows), key=lambda c: c.people)\n"
    "print('BIGGEST', biggest.name)",
    "import msgpack\nprint('PACKED', msgpack.unpackb(msgpack.packb({'n': 42}))['n'])",
    "print('PRELOADED', 'msgpack' in globals())",
    "print('DONE custom')",
]


@pytest.fixture(scope="module")
def custom_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("custom")
    (root / "lessons" / "data").mkdir(parents=True)
    (root / "lite-build.toml").write_text(
        textwrap.dedent(
            """
            title = "Cities"
            content = ["lessons"]

            [[environments]]
            name = "python"
            display-name = "Python (cities)"
            packages = ["attrs", "msgpack"]
            preload = ["msgpack"]
            """
        )
    )
    (root / "lessons" / "data" / "cities.csv").write_text(
        "city,people\nLyon,522000\nNantes,320000\nLille,236000\n"
    )
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(code) for code in CELLS]
    nbformat.write(notebook, root / "lessons" / "cities.ipynb")
    return build(load_config(cwd=root)).output


def test_a_custom_project_runs_all_its_cells_offline(
    custom_site: Path, serve_site: Callable[..., Served], offline_page: tuple[Any, Offline]
) -> None:
    page, record = offline_page
    outputs = lab.run_notebook(page, serve_site(custom_site).url, "cities.ipynb", "DONE custom")
    assert "CITIES 3" in outputs
    assert "BIGGEST Lyon" in outputs
    assert "PACKED 42" in outputs
    assert "PRELOADED True" in outputs
    assert record.external == []
