"""Course updates without losing students' work; two sites on one host keep their files apart."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from lite_build.commands.serve import make_server
from lite_build.config import load_config
from lite_build.pipeline import build
from tests.browser import lab
from tests.conftest import Offline

pytestmark = [pytest.mark.browser, pytest.mark.integration]

#: the notice of extension/src/versions.ts
NOTICE_TITLE = "A newer version of this file"
OPEN_BESIDE = "Open the New Version Beside Mine"
RESET = "Reset to the Original"
KEEP_MINE = "Keep Mine"
MY_EDIT = "# my own note"
TYPED_AT_ONCE = "# typed the moment it opened"

#: holds the page's SHA-256 (crypto.subtle.digest) of the "typed" notebook's first version
#: until ``window.liteBuildTestRelease()``: the moment between that notebook opening (the
#: workspace reopens it with the page) and the comparison of versions.ts, made as long as the
#: test needs to type into it
HOLD_DIGEST = """(() => {
    const digest = crypto.subtle.digest.bind(crypto.subtle);
    const held = new Promise((resolve) => { window.liteBuildTestRelease = resolve; });
    crypto.subtle.digest = async (algorithm, data) => {
        if (new TextDecoder().decode(data).includes('TYPED v1')) await held;
        return digest(algorithm, data);
    };
})()"""

#: asks the page's service worker to keep the site offline (it answers once the filling has
#: finished, or stopped: then asked again) and sets ``window.liteBuildTestKept`` when complete
KEEP_OFFLINE = """() => {
    const workers = navigator.serviceWorker;
    window.liteBuildTestKept = false;
    const ask = () => workers.controller?.postMessage({type: 'lite-build-precache'});
    workers.addEventListener('message', (event) => {
        if (event.data?.type !== 'lite-build-precache') return;
        if (event.data.complete) window.liteBuildTestKept = true;
        else ask();
    });
    workers.addEventListener('controllerchange', ask);
    ask();
}"""

#: the text of the notebook open in the tab labelled ``name`` (null if there is no such tab)
TAB_TEXT = """(name) => {
    const tab = [...document.querySelectorAll('.lm-DockPanel .lm-TabBar-tab')]
        .find((node) => node.querySelector('.lm-TabBar-tabLabel').innerText === name);
    const panel = tab && document.getElementById(tab.dataset.id);
    return panel ? [...panel.querySelectorAll('.jp-Cell .cm-content')]
        .map((node) => node.textContent).join('\\n') : null;
}"""


def write_course(root: Path, version: str, *, title: str = "Versions") -> None:
    (root / "lessons").mkdir(parents=True, exist_ok=True)
    (root / "lite-build.toml").write_text(f'title = "{title}"\ncontent = ["lessons"]\n')
    for name in ("lesson", "other", "typed", "unopened"):
        notebook = nbformat.v4.new_notebook()
        notebook.cells = [nbformat.v4.new_code_cell(f"print('{name.upper()} {version}')")]
        nbformat.write(notebook, root / "lessons" / f"{name}.ipynb")


def wait_for_tab_text(page: Any, name: str, text: str) -> str:
    """The text of tab ``name``, brought to front (hidden notebooks may not render their cells),
    once it contains ``text``."""
    tab = page.locator(".lm-DockPanel .lm-TabBar-tabLabel").get_by_text(name, exact=True)
    tab.wait_for(timeout=lab.KERNEL_TIMEOUT_MS)
    tab.click()
    page.wait_for_function(
        f"([name, text]) => ({TAB_TEXT})(name)?.includes(text)",
        arg=[name, text],
        timeout=lab.KERNEL_TIMEOUT_MS,
        polling=250,
    )
    found: str = page.evaluate(TAB_TEXT, name)
    return found


def open_tab(page: Any, url: str, name: str) -> None:
    """Open notebook ``name`` from the file browser, as a student does, and make it current
    (JupyterLab also restores the tabs open before)."""
    page.goto(f"{url}lab/index.html")
    lab.show_tab(page, name)


def test_a_student_who_edited_a_changed_lesson_is_told_and_keeps_both(
    tmp_path: Path, serve_site: Any, offline_page: tuple[Any, Offline]
) -> None:
    write_course(tmp_path, "v1")
    build(load_config(cwd=tmp_path))
    url = serve_site(tmp_path / "_output").url
    page, record = offline_page
    page.add_init_script(HOLD_DIGEST)

    # one student edits the lesson; the other notebooks are only run and saved (as autosave does).
    # One page for all three: a page load is what the rebuild below needs, not what this tests
    open_tab(page, url, "lesson.ipynb")
    lab.edit_and_save(page, MY_EDIT)
    for name in ("other", "typed"):
        lab.show_tab(page, f"{name}.ipynb")
        lab.run_all_cells(page)
        lab.wait_for_output(page, f"{name.upper()} v1")
        lab.save(page)
    # the student's browser has kept the whole site offline (a real student's, long before the
    # author rebuilds). A filling still under way at the reload below can hold the request for
    # the versions past the service worker's wait for the network (4 s): the worker then answers
    # with the first build's versions from its cache, and no notice comes
    page.evaluate(KEEP_OFFLINE)
    page.wait_for_function("() => window.liteBuildTestKept", timeout=lab.KERNEL_TIMEOUT_MS)

    write_course(tmp_path, "v2")
    build(load_config(cwd=tmp_path))

    # the student comes back: the one page load after the rebuild, which reopens the three
    # notebooks (the comparison of each happens as it opens; "typed" is held until it is typed
    # into, below). The rest of the test stays on this page, as the student does
    page.goto(f"{url}lab/index.html?path=lesson.ipynb")
    dialog = page.locator(".jp-Dialog")
    dialog.get_by_text(NOTICE_TITLE).wait_for(timeout=lab.KERNEL_TIMEOUT_MS)
    dialog.get_by_role("button", name=OPEN_BESIDE).click()
    assert "LESSON v2" in wait_for_tab_text(page, "lesson (new version).ipynb", "LESSON v2")
    mine = wait_for_tab_text(page, "lesson.ipynb", MY_EDIT)
    assert "LESSON v1" in mine
    assert "LESSON v2" not in mine

    # the notebook that was only run shows the new version, with no question asked
    lab.show_tab(page, "other.ipynb")
    assert "OTHER v1" not in wait_for_tab_text(page, "other.ipynb", "OTHER v2")
    assert not dialog.count()
    # ... unless the student types into it before the comparison is done: what they typed stays
    tab = page.locator(".lm-DockPanel .lm-TabBar-tab").filter(has_text="typed.ipynb")
    tab.click()
    editor = page.locator(f"#{tab.get_attribute('data-id')} .jp-Cell .cm-content").first
    editor.focus()
    page.keyboard.press("Control+End")
    page.keyboard.type(f"  {TYPED_AT_ONCE}")
    page.evaluate("() => window.liteBuildTestRelease()")
    dialog.get_by_text(NOTICE_TITLE).wait_for(timeout=lab.KERNEL_TIMEOUT_MS)
    dialog.get_by_role("button", name=KEEP_MINE).click()
    assert "TYPED v1" in wait_for_tab_text(page, "typed.ipynb", TYPED_AT_ONCE)
    lab.show_tab(page, "unopened.ipynb")
    wait_for_tab_text(page, "unopened.ipynb", "UNOPENED v2")

    # "Reset to the Original": the new version in place, the student's kept as a dated copy.
    # The lesson is open first, so the open notebook must show the original too (not left to
    # JupyterLab's restoring of the tabs open before, which may not have saved them all)
    lab.show_tab(page, "lesson.ipynb")
    assert "LESSON v2" not in wait_for_tab_text(page, "lesson.ipynb", MY_EDIT)
    page.locator(".jp-DirListing-item", has_text="lesson.ipynb").first.click(button="right")
    page.locator(".lm-Menu-itemLabel", has_text=RESET).click()
    assert MY_EDIT not in wait_for_tab_text(page, "lesson.ipynb", "LESSON v2")
    page.wait_for_function(
        """() => [...document.querySelectorAll('.jp-DirListing-itemText')]
            .some((node) => node.innerText.startsWith('lesson (my copy '))""",
        timeout=30_000,
    )
    names = lab.file_names(page)
    assert {"lesson.ipynb", "lesson (new version).ipynb", "other.ipynb", "unopened.ipynb"} <= set(
        names
    )
    [copy] = [name for name in names if name.startswith("lesson (my copy ")]
    lab.show_tab(page, copy)
    assert "LESSON v1" in wait_for_tab_text(page, copy, MY_EDIT)
    assert record.external == []


@pytest.fixture
def two_sites(tmp_path: Path) -> Iterator[str]:
    """Two courses from one host: /a/ and /b/, each with a lesson.ipynb."""
    www = tmp_path / "www"
    www.mkdir()
    for name in ("a", "b"):
        root = tmp_path / name
        write_course(root, name, title=f"Course {name.upper()}")
        # built into the served folder: the servers never follow a link out of it
        build(load_config(cwd=root, output=www / name))
    server = make_server(www, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.url
    server.shutdown()
    server.server_close()


def test_two_sites_on_one_host_never_see_each_others_files(
    two_sites: str, offline_page: tuple[Any, Offline]
) -> None:
    page, record = offline_page
    open_tab(page, f"{two_sites}a/", "lesson.ipynb")
    lab.edit_and_save(page, MY_EDIT)

    open_tab(page, f"{two_sites}b/", "lesson.ipynb")
    text = wait_for_tab_text(page, "lesson.ipynb", "LESSON b")
    assert MY_EDIT not in text
    databases = page.evaluate("async () => (await indexedDB.databases()).map((db) => db.name)")
    assert {"lite-build: course-a", "lite-build: course-b"} <= set(databases)

    open_tab(page, f"{two_sites}a/", "lesson.ipynb")
    assert "LESSON a" in wait_for_tab_text(page, "lesson.ipynb", MY_EDIT)
    assert record.external == []
