"""ipywidgets in the default distribution: a slider renders offline and its value reaches Python."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lite_build.site.widgets import WIDGETS_EXTENSION
from tests.browser import lab
from tests.conftest import Offline, Served

pytestmark = [pytest.mark.browser, pytest.mark.integration]

NOTEBOOK = "06-widgets.ipynb"
NOTEBOOK_PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
#: the notebook's cells, in order: the one that prints the slider's value is the fourth
READ_VALUE_CELL = 3


@pytest.fixture(scope="module")
def site_url(default_site: Path, serve_site: Callable[..., Served]) -> str:
    return serve_site(default_site).url


def test_a_slider_renders_and_its_new_value_reaches_python(
    site_url: str, offline_page: tuple[Any, Offline]
) -> None:
    page, record = offline_page
    lab.run_notebook(page, site_url, NOTEBOOK, "DONE 06")
    assert "slider value: 5" in lab.outputs_text(page)
    slider = page.locator(f"{NOTEBOOK_PANEL} .jupyter-widgets.widget-slider").first
    slider.wait_for()
    readout = slider.locator(".widget-readout")
    assert readout.inner_text() == "5"

    # a student moves the slider with the keyboard, as with the mouse
    handle = slider.locator(".noUi-handle")
    handle.focus()
    handle.press("ArrowRight")
    page.wait_for_function(
        "(node) => node.innerText === '6'", arg=readout.element_handle(), polling=100
    )
    # the observer runs in Python and updates the label beside the slider's second view
    lab.wait_for_output(page, "6 apples cost 2.40 euros")

    cell = page.locator(f"{NOTEBOOK_PANEL} .jp-Cell").nth(READ_VALUE_CELL)
    assert "print(" in cell.locator(".jp-InputArea-editor").inner_text()
    cell.locator(".jp-InputArea-prompt").click()
    page.keyboard.press("Control+Enter")
    lab.wait_for_output(page, "slider value: 6")

    # the widget manager came from the site itself
    manager = f"/extensions/{WIDGETS_EXTENSION}/static/"
    assert any(manager in url for url in record.local)
    assert record.external == []
