"""A kernel that cannot start, or a package that cannot load, says why in the notebook."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest

from lite_build.config import load_config
from lite_build.pipeline import build
from tests.browser import lab
from tests.conftest import Offline

pytestmark = [pytest.mark.browser, pytest.mark.integration]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("broken")
    (root / "lessons").mkdir()
    (root / "lite-build.toml").write_text(
        'title = "Broken"\ncontent = ["lessons"]\nprecache = false\n\n'
        '[[environments]]\nname = "python"\ndisplay-name = "Course Python"\n'
        'packages = ["attrs"]\n'
    )
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("import attrs\nprint('ATTRS', attrs.__name__)")]
    nbformat.write(notebook, root / "lessons" / "lesson.ipynb")
    build(load_config(cwd=root))
    return root / "_output"


def damaged_copy(site: Path, tmp_path: Path, pattern: str) -> Path:
    """``site`` as a host missing the files matching ``pattern`` (and their .gz siblings)."""
    copy = tmp_path / "site"
    shutil.copytree(site, copy)
    removed = list(copy.glob(pattern))
    assert removed, pattern
    for path in removed:
        path.unlink()
    return copy


def run_and_read_error(page: Any, url: str) -> str:
    lab.open_notebook(page, url, "lesson.ipynb")
    lab.run_all_cells(page)
    page.wait_for_selector(".jp-OutputArea-output", timeout=lab.KERNEL_TIMEOUT_MS)
    return lab.outputs_text(page)


def test_a_kernel_that_cannot_start_says_why_instead_of_hanging(
    site: Path, tmp_path: Path, serve_site: Any, offline_page: tuple[Any, Offline]
) -> None:
    url = serve_site(damaged_copy(site, tmp_path, "static/pyodide/python_stdlib.zip*")).url
    page, record = offline_page

    output = run_and_read_error(page, url)

    assert 'The kernel "Course Python" could not start: a file it needs could not be ' in output
    assert "python_stdlib.zip (HTTP 404)" in output
    assert "could not be downloaded" in output and "lite-build check" in output
    page.get_by_text('The kernel "Course Python" could not start').last.wait_for()
    assert record.external == []


def test_a_package_that_cannot_load_says_so_next_to_the_import_error(
    site: Path, tmp_path: Path, serve_site: Any, offline_page: tuple[Any, Offline]
) -> None:
    url = serve_site(damaged_copy(site, tmp_path, "static/wheels/attrs-*.whl*")).url
    page, record = offline_page

    run_and_read_error(page, url)
    page.wait_for_function(
        "() => document.body.innerText.includes('is part of this kernel')",
        timeout=lab.KERNEL_TIMEOUT_MS,
    )
    output = lab.outputs_text(page)

    assert "ModuleNotFoundError: No module named 'attrs'" in output
    assert 'attrs is part of this kernel ("Course Python", package attrs ' in output
    assert "could not be loaded: attrs-" in output
    assert "could not be downloaded (HTTP 404)" in output
    assert record.external == []
