"""Embed snippets: pure logic and the `lite-build embed` contract."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from lite_build.commands.embed import (
    ReplOptions,
    embed_command,
    embed_page,
    iframe,
    notebook_snippet,
    notebook_url,
    repl_snippet,
    repl_url,
)
from lite_build.config import load_config
from lite_build.errors import LiteBuildError

SITE = "https://example.org/course/"


def test_repl_url_carries_every_option() -> None:
    options = ReplOptions(
        code="a = 1\nprint(a)",
        kernel="python",
        execute=False,
        theme="dark",
        toolbar=True,
        banner=False,
    )
    assert repl_url(SITE, options) == (
        "https://example.org/course/repl/index.html?kernel=python&toolbar=1"
        "&theme=JupyterLab%20Dark&showBanner=0&code=a%20%3D%201%0Aprint%28a%29&execute=0"
    )


def test_a_bare_repl_url_has_no_query() -> None:
    assert repl_url(SITE, ReplOptions()) == "https://example.org/course/repl/index.html"


def test_notebook_url_opens_the_single_document_view() -> None:
    assert notebook_url(SITE, "lessons/intro 1.ipynb") == (
        "https://example.org/course/notebooks/index.html?path=lessons%2Fintro%201.ipynb"
    )


def test_the_default_snippet_is_click_to_start_and_script_free() -> None:
    snippet = repl_snippet(SITE, ReplOptions(code="print('<b>hi</b>')"))
    assert "<script" not in snippet and "onclick" not in snippet
    assert " src=" not in snippet  # nothing loads before the click
    placeholder = html.unescape(re.search(r'srcdoc="([^"]*)"', snippet).group(1))  # type: ignore[union-attr]
    assert 'href="https://example.org/course/repl/index.html?code=' in placeholder
    assert "&lt;b&gt;hi&lt;/b&gt;" in placeholder  # the code preview is escaped, not markup
    assert "▶ Run" in placeholder


def test_an_eager_snippet_loads_at_once_with_clipboard_and_fullscreen() -> None:
    snippet = notebook_snippet(SITE, "intro.ipynb", eager=True)
    assert 'src="https://example.org/course/notebooks/index.html?path=intro.ipynb"' in snippet
    assert (
        'allow="clipboard-read https://example.org; clipboard-write https://example.org; '
        'fullscreen https://example.org"' in snippet
    )
    assert "allowfullscreen" in snippet


def make_project(root: Path, extra: str = "") -> Path:
    (root / "content" / "lessons").mkdir(parents=True)
    (root / "content" / "lessons" / "intro.ipynb").write_text("{}")
    (root / "lite-build.toml").write_text(f'title = "T"\n{extra}')
    return root


def test_embed_uses_the_configured_url(tmp_path: Path) -> None:
    config = load_config(cwd=make_project(tmp_path, 'url = "https://example.org/course"\n'))
    snippet = embed_command(config, notebook="lessons/intro.ipynb", repl=False, eager=True)
    assert (
        'src="https://example.org/course/notebooks/index.html?path=lessons%2Fintro.ipynb"'
        in snippet
    )


def test_embed_without_a_url_says_how_to_give_one(tmp_path: Path) -> None:
    config = load_config(cwd=make_project(tmp_path))
    with pytest.raises(LiteBuildError) as caught:
        embed_command(config, notebook=None, repl=True)
    assert str(caught.value) == (
        "the site's public address is unknown: pass --url https://... or set url in the "
        "configuration"
    )


def test_embed_of_an_unknown_notebook_suggests_the_right_one(tmp_path: Path) -> None:
    config = load_config(cwd=make_project(tmp_path))
    with pytest.raises(LiteBuildError) as caught:
        embed_command(config, notebook="lessons/intr.ipynb", repl=False, url=SITE)
    assert str(caught.value) == (
        "lessons/intr.ipynb: not a notebook of this site's content; did you mean "
        "lessons/intro.ipynb? (notebooks, as paths in the site's file browser: "
        "lessons/intro.ipynb)"
    )


def test_embed_of_an_unknown_kernel_lists_the_environments(tmp_path: Path) -> None:
    config = load_config(cwd=make_project(tmp_path))
    with pytest.raises(LiteBuildError, match="choose one of: python"):
        embed_command(config, notebook=None, repl=True, kernel="pyhton", url=SITE)


def test_embed_needs_exactly_one_thing_to_embed(tmp_path: Path) -> None:
    config = load_config(cwd=make_project(tmp_path))
    with pytest.raises(LiteBuildError, match="say what to embed"):
        embed_command(config, notebook=None, repl=False, url=SITE)


def test_the_embed_page_shows_each_style_with_the_sites_content() -> None:
    page = embed_page("My course", ["lessons/intro.ipynb"], "python")
    assert page.count('<template class="embed">') == 3
    assert "lite-build embed lessons/intro.ipynb" in page
    assert "<title>My course: embedding examples</title>" in page


def test_a_quote_in_the_site_url_cannot_leave_the_allow_attribute() -> None:
    snippet = iframe('https://x.org"onload="alert(1)/lab/', title="T", label="Go", eager=True)

    (tag,) = re.findall(r"<iframe [^>]*>", snippet)
    assert 'onload="' not in tag
    assert 'allow="clipboard-read https://x.org&quot;onload=&quot;alert(1); ' in tag


@pytest.mark.parametrize("given", ["./lessons/intro.ipynb", ".\\lessons\\intro.ipynb"])
def test_embed_takes_a_notebook_path_with_a_leading_dot_step(tmp_path: Path, given: str) -> None:
    config = load_config(cwd=make_project(tmp_path))
    snippet = embed_command(config, notebook=given, repl=False, url=SITE, eager=True)
    assert "?path=lessons%2Fintro.ipynb" in snippet


def test_embed_never_takes_a_path_outside_the_content_for_one_inside(tmp_path: Path) -> None:
    # only whole "./" steps are dropped: "../" is not one (it named lessons/intro.ipynb before)
    config = load_config(cwd=make_project(tmp_path))
    with pytest.raises(LiteBuildError, match=r"^\.\./lessons/intro\.ipynb: not a notebook "):
        embed_command(config, notebook="../lessons/intro.ipynb", repl=False, url=SITE)
