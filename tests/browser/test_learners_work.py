"""Learners' work is safe: persistent storage at the first save, backup and restore, hand-in."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lite_build.cli import EXIT_ERROR, EXIT_OK, main
from lite_build.site.jupyterlite import SiteSettings
from lite_build.site.paths import CONTENT_VERSIONS
from tests.browser import lab
from tests.conftest import (
    Offline,
    Served,
    assert_nothing_left_the_site,
    exposed_copy,
    offline_browser_page,
)

pytestmark = [pytest.mark.browser, pytest.mark.integration]

#: the warnings of extension/src/safekeeping.ts
NOT_PERSISTENT = (
    "Your work is kept only in this browser, and the browser may delete it when the computer "
    "runs short of space."
)
PRIVATE = "This looks like a private window: your work here will be lost when you close it."
DONT_SHOW_AGAIN = "Don't Show Again"

NOTEBOOK = "01-welcome.ipynb"
MY_EDIT = "# my first answer"
LATER_EDIT = "# my later answer"
PICTURE = bytes([0x89, 0x50, 0x4E, 0x47, 0x00, 0xFF, 0x10, 0x00])  # not text


@pytest.fixture(scope="module")
def site(default_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default distribution, exposing the app to the page (to arrange and read files)."""
    return exposed_copy(default_site, tmp_path_factory.mktemp("learners") / "site")


@pytest.fixture(scope="module")
def site_url(site: Path, serve_site: Callable[..., Served]) -> str:
    return serve_site(site).url


#: replaces navigator.storage's answers, counting the calls (runs before the page's scripts)
STORAGE_SPY = """(quota) => {
    const calls = { persist: 0, estimate: 0 };
    window.liteBuildTestStorageCalls = calls;
    const storage = navigator.storage;
    storage.persisted = async () => false;
    storage.persist = async () => { calls.persist += 1; return false; };
    storage.estimate = async () => { calls.estimate += 1; return { usage: 1e6, quota }; };
}"""


def spy_on_storage(page: Any, *, quota: int) -> None:
    """Before the app loads: record calls to navigator.storage.persist() and estimate(); the
    browser refuses persistence and reports ``quota`` (headless Chromium's answers vary)."""
    page.add_init_script(f"({STORAGE_SPY})({quota});")


#: the risks the site sees in each of the given storage states (safekeeping.ts's ``risks``)
RISKS = """async (states) => {
    const container = window._JUPYTERLAB['@lite-build/environments-extension'];
    const { risks } = (await container.get('./index'))();
    return states.map(risks);
}"""


def calls(page: Any) -> dict[str, int]:
    found: dict[str, int] = page.evaluate("() => ({ ...window.liteBuildTestStorageCalls })")
    return found


def open_lab(page: Any, url: str) -> None:
    page.goto(f"{url}lab/index.html")
    page.wait_for_function("() => window.jupyterapp", polling=100, timeout=60_000)
    page.evaluate("() => window.jupyterapp.restored")


def from_file_menu(page: Any, item: str) -> None:
    page.click('.lm-MenuBar-itemLabel:text-is("File")')
    page.click(f'.lm-Menu-itemLabel:text-is("{item}")')


#: the bytes of a file in the learner's storage (or the site), base64
READ_FILE = """async (path) => {
    const model = await window.jupyterapp.serviceManager.contents.get(path, { content: true });
    if (model.format === 'base64') return model.content;
    const text = model.format === 'json' ? JSON.stringify(model.content) : model.content;
    return btoa(String.fromCharCode(...new TextEncoder().encode(text)));
}"""


def read_file(page: Any, path: str) -> bytes:
    return base64.b64decode(page.evaluate(READ_FILE, path))


def test_persistence_is_asked_at_the_first_save_and_work_round_trips_through_a_backup(
    site: Path, site_url: str, offline_page: tuple[Any, Offline], browser: Any, tmp_path: Path
) -> None:
    page, record = offline_page
    spy_on_storage(page, quota=10_000_000_000)
    open_lab(page, site_url)
    lab.show_tab(page, NOTEBOOK)
    assert calls(page)["persist"] == 0  # not at page load

    lab.edit_and_save(page, MY_EDIT)
    page.wait_for_function("() => window.liteBuildTestStorageCalls.estimate === 1")
    toast = page.locator(".Toastify__toast").filter(has_text=NOT_PERSISTENT)
    toast.wait_for()
    assert calls(page) == {"persist": 1, "estimate": 1}
    toast.get_by_text(DONT_SHOW_AGAIN).click()
    quiet = page.evaluate(
        """() => Object.keys(localStorage).filter((key) => key.startsWith('lite-build-quiet'))
            .map((key) => JSON.parse(localStorage.getItem(key)))"""
    )
    assert quiet == [["not-persistent"]]

    # the learner's own files: a note in a new folder, a picture in a shipped folder
    page.evaluate(
        """async (picture) => {
            const contents = window.jupyterapp.serviceManager.contents;
            await contents.save('notes', { type: 'directory' });
            await contents.save('notes/ideas.txt', { format: 'text', content: 'grow tomatoes\\n' });
            await contents.save('data/plot.png', { format: 'base64', content: picture });
        }""",
        base64.b64encode(PICTURE).decode(),
    )
    page.wait_for_function("() => window.liteBuildTestStorageCalls.estimate >= 2")
    assert calls(page)["persist"] == 1  # asked once per page

    with page.expect_download() as downloading:
        from_file_menu(page, "Download All My Work")
    download = downloading.value
    title = SiteSettings.read(site).title
    assert re.fullmatch(
        rf"{re.escape(title)} - my work \d{{4}}-\d{{2}}-\d{{2}}\.zip", download.suggested_filename
    )
    backup = tmp_path / download.suggested_filename
    download.save_as(backup)
    with zipfile.ZipFile(backup) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    # the shipped files the learner did not change (other notebooks, data/weather.csv) stay out
    assert sorted(entries) == [
        NOTEBOOK,
        "data/plot.png",
        "lite-build-backup.json",
        "notes/ideas.txt",
    ]
    assert entries["notes/ideas.txt"] == b"grow tomatoes\n"
    assert entries["data/plot.png"] == PICTURE
    assert MY_EDIT in "".join(cell["source"] for cell in json.loads(entries[NOTEBOOK])["cells"])

    # later: the notebook edited again, the two files lost; the backup comes back
    lab.edit_and_save(page, LATER_EDIT)
    page.evaluate(
        """async () => {
            const contents = window.jupyterapp.serviceManager.contents;
            await contents.delete('notes/ideas.txt');
            await contents.delete('data/plot.png');
        }"""
    )
    with page.expect_file_chooser() as choosing:
        from_file_menu(page, "Restore My Work…")
    choosing.value.set_files(backup)
    page.locator(".Toastify__toast").filter(has_text="Restored 2 files").wait_for()

    assert read_file(page, "notes/ideas.txt") == b"grow tomatoes\n"
    assert read_file(page, "data/plot.png") == PICTURE
    mine = read_file(page, NOTEBOOK).decode()
    assert LATER_EDIT in mine  # never overwritten
    names = page.evaluate(
        """async () => (await window.jupyterapp.serviceManager.contents.get(''))
            .content.map((item) => item.name)"""
    )
    [beside] = [name for name in names if name.startswith("01-welcome (from backup ")]
    assert re.fullmatch(r"01-welcome \(from backup \d{4}-\d{2}-\d{2} \d{2}-\d{2}\)\.ipynb", beside)
    from_backup = read_file(page, beside).decode()
    assert MY_EDIT in from_backup
    assert LATER_EDIT not in from_backup
    assert record.external == []

    # on another computer (a fresh browser), the learner's version replaces the shipped one
    with offline_browser_page(browser) as (fresh, fresh_record):
        open_lab(fresh, site_url)
        with fresh.expect_file_chooser() as choosing:
            from_file_menu(fresh, "Restore My Work…")
        choosing.value.set_files(backup)
        fresh.locator(".Toastify__toast").filter(has_text="Restored 3 files.").wait_for()
        assert MY_EDIT in read_file(fresh, NOTEBOOK).decode()
        assert read_file(fresh, "notes/ideas.txt") == b"grow tomatoes\n"
    assert_nothing_left_the_site(fresh_record)


def test_a_hand_in_is_verified_by_collect_and_a_tampered_one_is_rejected(
    site: Path,
    site_url: str,
    offline_page: tuple[Any, Offline],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    page, record = offline_page
    spy_on_storage(page, quota=50_000_000)  # as small as a private window's
    open_lab(page, site_url)
    lab.show_tab(page, NOTEBOOK)
    lab.edit(page, MY_EDIT)  # not saved: handing in saves it first

    from_file_menu(page, "Hand In This Notebook…")
    dialog = page.locator(".jp-Dialog")
    dialog.locator("input").fill("Ada Lovelace")
    with page.expect_download() as downloading:
        dialog.get_by_role("button", name="Download Hand-in File").click()
    download = downloading.value
    assert download.suggested_filename.startswith(
        f"{SiteSettings.read(site).title} - hand-in - 01-welcome - Ada Lovelace - "
    )
    page.locator(".Toastify__toast").filter(has_text=PRIVATE).wait_for()
    assert calls(page)["persist"] == 1
    # what the site makes of other answers from the browser (extension/src/safekeeping.ts)
    assert page.evaluate(
        RISKS,
        [
            {"persisted": True, "usage": 1e6, "quota": 1e10},
            {"persisted": True, "usage": 9.5e9, "quota": 1e10},
            {"persisted": False, "usage": 4.6e7, "quota": 5e7},
            {"persisted": False},
        ],
    ) == [[], ["nearly-full"], ["private", "nearly-full"], ["not-persistent"]]
    assert record.external == []

    hand_ins = tmp_path / "hand-ins"
    hand_ins.mkdir()
    download.save_as(hand_ins / "ada.zip")
    assert main(["collect", str(hand_ins), "--site", str(site)]) == EXIT_OK
    assert "1 hand-ins (1 named learners, 1 files): 1 verified" in capsys.readouterr().err
    [row] = csv.DictReader(io.StringIO((hand_ins / "hand-ins.csv").read_text()))
    shipped = json.loads((site / CONTENT_VERSIONS).read_text())["files"][NOTEBOOK]
    assert row | {"handed_in": ""} == {
        "hand_in": "ada.zip",
        "learner": "Ada Lovelace",
        "site": SiteSettings.read(site).storage.removeprefix("lite-build: "),
        "handed_in": "",
        "file": NOTEBOOK,
        "course_version": shipped["sha"],
        "latest_version": shipped["sha"],
        "changed": "yes",
        "verified": "ok",
    }

    # someone edits the notebook in the zip afterwards
    with zipfile.ZipFile(hand_ins / "ada.zip") as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    entries[NOTEBOOK] = entries[NOTEBOOK].replace(MY_EDIT.encode(), b"# a better answer")
    with zipfile.ZipFile(hand_ins / "ada.zip", "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    assert main(["collect", str(hand_ins), "--site", str(site)]) == EXIT_ERROR
    assert (
        f'ada.zip: "{NOTEBOOK}" does not match the sha256 in its manifest: it was changed after '
        "the learner's browser made the hand-in"
    ) in capsys.readouterr().err
