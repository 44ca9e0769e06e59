"""Embeds pasted into a course page on another origin, in Chromium, offline."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lite_build.commands.embed import embed_command
from lite_build.config import load_config
from tests.conftest import REPO, Offline, Served

pytestmark = [pytest.mark.browser, pytest.mark.integration]

KERNEL_TIMEOUT_MS = 180_000


@pytest.fixture(scope="module")
def site_url(default_site: Path, serve_site: Callable[..., Served]) -> str:
    return serve_site(default_site).url


@pytest.fixture(scope="module")
def course_page(
    site_url: str, serve_site: Callable[..., Served], tmp_path_factory: pytest.TempPathFactory
) -> str:
    """A course page on another origin (another port) with three pasted snippets."""
    config = load_config(cwd=REPO)
    snippets = [
        embed_command(config, notebook=None, repl=True, code="print('EMB', 6*7)", url=site_url),
        embed_command(config, notebook="01-welcome.ipynb", repl=False, url=site_url),
        embed_command(config, notebook=None, repl=True, code="print('TWO', 2+2)", url=site_url),
    ]
    folder = tmp_path_factory.mktemp("course-page")
    (folder / "index.html").write_text(
        "<!doctype html><meta charset='utf-8'><title>Course</title><h1>Week 1</h1>\n"
        + "\n<p>Some prose.</p>\n".join(snippets)
    )
    url = serve_site(folder).url
    assert url.split(":")[2] != site_url.split(":")[2], "the course page must be another origin"
    return url


def click_and_wait(page: Any, frame_index: int, label: str, expected: str) -> None:
    frame = page.frame_locator("iframe").nth(frame_index)
    frame.get_by_text(label).click()
    frame.locator(".jp-CodeConsole .jp-OutputArea-output", has_text=expected).first.wait_for(
        timeout=KERNEL_TIMEOUT_MS
    )


def test_a_pasted_repl_snippet_runs_after_a_click(
    course_page: str, site_url: str, offline_page: tuple[Any, Offline]
) -> None:
    page, record = offline_page
    page.goto(course_page)
    page.wait_for_load_state("load")
    assert not [url for url in record.local if url.startswith(site_url)], (
        "click-to-start embeds must not load the site before a click"
    )
    click_and_wait(page, 0, "▶ Run", "EMB 42")
    assert record.external == []


def test_two_embeds_on_one_page_both_work(
    course_page: str, offline_page: tuple[Any, Offline]
) -> None:
    page, record = offline_page
    page.goto(course_page)
    click_and_wait(page, 0, "▶ Run", "EMB 42")
    click_and_wait(page, 2, "▶ Run", "TWO 4")
    assert record.external == []


def test_a_pasted_notebook_snippet_opens_the_notebook(
    course_page: str, offline_page: tuple[Any, Offline]
) -> None:
    page, record = offline_page
    page.goto(course_page)
    frame = page.frame_locator("iframe").nth(1)
    frame.get_by_text("Open the notebook").click()
    heading = frame.locator(".jp-Notebook .jp-MarkdownOutput h1", has_text="Welcome")
    heading.first.wait_for(timeout=KERNEL_TIMEOUT_MS)
    assert record.external == []


def test_the_site_ships_an_embedding_example_page(
    site_url: str, offline_page: tuple[Any, Offline]
) -> None:
    page, record = offline_page
    page.goto(site_url + "embed.html")
    code = page.locator("pre code").first.text_content() or ""
    assert site_url + "repl/index.html" in code  # written for the site's real address
    click_and_wait(page, 0, "▶ Run", "Hello from Python 42")
    assert record.external == []
