"""Publishing a site: the swap of the staged site for the previous one, and what a build
finds after a crash in the middle of it (the build itself: tests/pipeline/test_build.py)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from lite_build.site.publish import publish, recover_interrupted_publish, staging_dirs


def make_site(folder: Path, page: str) -> Path:
    """A folder as lite-build leaves it: its manifest, and one page saying which site it is."""
    folder.mkdir(parents=True)
    (folder / "lite-build.json").write_text("{}")
    (folder / "index.html").write_text(page)
    return folder


def test_the_staged_and_previous_sites_sit_next_to_the_output_hidden() -> None:
    assert staging_dirs(Path("/srv/course/_output")) == (
        Path("/srv/course/._output.new"),
        Path("/srv/course/._output.old"),
    )


def test_a_crash_between_the_two_renames_gets_the_previous_site_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    output = tmp_path / "_output"
    make_site(tmp_path / "._output.old", "previous")  # the output, moved aside
    make_site(tmp_path / "._output.new", "new")  # staged, never swapped in

    with caplog.at_level(logging.WARNING, logger="lite_build"):
        recover_interrupted_publish(output)

    assert (output / "index.html").read_text() == "previous"
    assert not (tmp_path / "._output.old").exists()
    assert caplog.messages == [f"restored {output} from an interrupted build"]


def test_after_the_swap_the_new_site_stays(tmp_path: Path) -> None:
    output = make_site(tmp_path / "_output", "new")
    make_site(tmp_path / "._output.old", "previous")  # the crash came before its removal

    recover_interrupted_publish(output)

    assert (output / "index.html").read_text() == "new"


def test_a_folder_not_made_by_lite_build_is_not_taken_for_the_previous_site(
    tmp_path: Path,
) -> None:
    aside = tmp_path / "._output.old"
    aside.mkdir()
    (aside / "notes.txt").write_text("mine")

    recover_interrupted_publish(tmp_path / "_output")

    assert not (tmp_path / "_output").exists()
    assert (aside / "notes.txt").read_text() == "mine"


def test_publishing_over_a_crashed_publish_leaves_only_the_new_site(tmp_path: Path) -> None:
    output = make_site(tmp_path / "_output", "current")
    make_site(tmp_path / "._output.old", "older, left by a crash")
    staging = make_site(tmp_path / "._output.new", "new")

    publish(staging, output)

    assert (output / "index.html").read_text() == "new"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["_output"]
