"""Several environments in one site: one kernel each, isolated, all offline in Chromium."""

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

CONFIG = """
title = "Kernels"
default-kernel = "extra"

[[environments]]
name = "base"
display-name = "Python Base"
startup = "print('WELCOME base')\\nraise ValueError('startup went wrong')"

[[environments]]
name = "extra"
display-name = "Python Extra"
packages = ["attrs", "msgpack"]
preload = ["msgpack"]
startup = "startup.py"
"""
STARTUP_PY = (
    "import os\nGREETING = 'set by startup.py'\nSTARTED_IN = os.getcwd()\nprint('WELCOME extra')\n"
)
PROBE = (
    "import sys\n"
    "try:\n    import attrs\n    print('ATTRS', attrs.__name__)\n"
    "except ImportError:\n    print('ATTRS missing')\n"
    "print('PRELOADED', 'msgpack' in sys.modules, globals().get('GREETING'))"
)


def notebook(kernel: str, display_name: str, cells: list[str]) -> nbformat.NotebookNode:
    document = nbformat.v4.new_notebook()
    document.metadata["kernelspec"] = {
        "name": kernel,
        "display_name": display_name,
        "language": "python",
    }
    document.cells = [nbformat.v4.new_code_cell(code) for code in cells]
    return document


@pytest.fixture(scope="module")
def kernels_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("kernels")
    (root / "content").mkdir()
    (root / "lite-build.toml").write_text(textwrap.dedent(CONFIG))
    (root / "startup.py").write_text(STARTUP_PY)
    nbformat.write(
        notebook("base", "Python Base", ["import sys\nprint('FIRST on', sys.prefix)"]),
        root / "content" / "on-base.ipynb",
    )
    nbformat.write(
        notebook("extra", "Python Extra", ["import attrs\nprint('SECOND with', attrs.__name__)"]),
        root / "content" / "on-extra.ipynb",
    )
    (root / "content" / "unit").mkdir()
    nbformat.write(
        notebook("extra", "Python Extra", ["import os\nprint('STARTED IN', STARTED_IN)"]),
        root / "content" / "unit" / "in-folder.ipynb",
    )
    return build(load_config(cwd=root)).output


def test_the_launcher_lists_one_kernel_per_environment(
    kernels_site: Path, serve_site: Callable[..., Served], offline_page: tuple[Any, Offline]
) -> None:
    page, record = offline_page
    page.goto(f"{serve_site(kernels_site).url}lab/index.html")
    cards = '.jp-LauncherCard[data-category="Notebook"] .jp-LauncherCard-label'
    page.wait_for_selector(cards, timeout=lab.KERNEL_TIMEOUT_MS)
    labels = page.eval_on_selector_all(cards, "nodes => nodes.map(node => node.innerText)")
    assert sorted(labels) == ["Python Base", "Python Extra"]
    assert record.external == []


def test_base_has_no_extra_packages_and_shows_its_startup_error(
    kernels_site: Path, serve_site: Callable[..., Served], offline_page: tuple[Any, Offline]
) -> None:
    page, record = offline_page
    outputs = lab.run_in_repl(page, serve_site(kernels_site).url, PROBE, "PRELOADED", kernel="base")
    assert "ATTRS missing" in outputs
    assert "PRELOADED False None" in outputs
    # the startup code's output and its error are shown, not swallowed
    assert "WELCOME base" in outputs
    assert "Error in the start-up code of this kernel (environments[0].startup)" in outputs
    assert "ValueError: startup went wrong" in outputs
    assert record.external == []


def test_extra_has_its_packages_preloaded_and_its_startup_run(
    kernels_site: Path, serve_site: Callable[..., Served], offline_page: tuple[Any, Offline]
) -> None:
    page, record = offline_page
    outputs = lab.run_in_repl(
        page, serve_site(kernels_site).url, PROBE, "PRELOADED", kernel="extra"
    )
    assert "ATTRS attrs" in outputs
    assert "PRELOADED True set by startup.py" in outputs
    assert "WELCOME extra" in outputs
    assert record.external == []


def test_the_startup_code_runs_in_the_notebooks_folder_and_shows_in_its_first_cell(
    kernels_site: Path, serve_site: Callable[..., Served], offline_page: tuple[Any, Offline]
) -> None:
    page, record = offline_page
    lab.open_notebook(page, serve_site(kernels_site).url, "unit/in-folder.ipynb")
    lab.run_all_cells(page)
    lab.wait_for_output(page, "STARTED IN")
    # the kernel was made while the app booted, before the notebook's folder was known: the
    # start-up code waited for the first cell, whose output shows what it printed
    assert "WELCOME extra\nSTARTED IN /drive/unit" in lab.outputs_text(page)
    assert record.external == []


def test_two_notebooks_on_different_kernels_run_at_once(
    kernels_site: Path, serve_site: Callable[..., Served], offline_page: tuple[Any, Offline]
) -> None:
    page, record = offline_page
    lab.open_notebook(page, serve_site(kernels_site).url, "on-base.ipynb")
    lab.run_all_cells(page)
    # the second notebook opens beside the first, in the same browser tab
    page.dblclick('.jp-DirListing-itemName:has-text("on-extra.ipynb")')
    page.wait_for_selector(
        '.lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel:text-is("on-extra.ipynb")',
        timeout=lab.KERNEL_TIMEOUT_MS,
    )
    lab.select_first_cell(page)
    lab.run_all_cells(page)
    lab.wait_for_output(page, "SECOND with attrs")
    lab.wait_for_output(page, "FIRST on")
    kernels = page.eval_on_selector_all(
        ".jp-NotebookPanel .jp-KernelName", "nodes => nodes.map(node => node.textContent)"
    )
    assert sorted(kernels) == ["Python Base", "Python Extra"]
    assert record.external == []


def test_notebook_7_opens_with_the_notebooks_kernel_and_offers_every_environment(
    kernels_site: Path, serve_site: Callable[..., Served], offline_page: tuple[Any, Offline]
) -> None:
    page, record = offline_page
    page.goto(f"{serve_site(kernels_site).url}notebooks/index.html?path=on-extra.ipynb")
    name = page.locator(".jp-KernelName", has_text="Python Extra").first
    name.wait_for(timeout=lab.KERNEL_TIMEOUT_MS)
    # the kernel name is the "Change Kernel" button: its dialog lists each environment once
    name.click()
    options = page.locator(".jp-Dialog select option")
    options.first.wait_for(state="attached", timeout=lab.KERNEL_TIMEOUT_MS)
    labels = [text.strip() for text in options.all_inner_texts()]
    kernels = [label for label in labels if label.startswith("Python")]
    assert sorted(kernels) == ["Python Base", "Python Extra"]
    assert "Python (Pyodide)" not in labels
    assert record.external == []
