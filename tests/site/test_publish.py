"""Publishing a site into the output folder: what it replaces, what it keeps, and what a build
finds after one was killed half-way (the build itself: tests/pipeline/test_build.py)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lite_build.errors import LiteBuildError
from lite_build.site.publish import (
    JOURNAL,
    WRITTEN_FILES,
    built_files,
    publish,
    recover_interrupted_publish,
    staging_folder,
)

REPO = Path(__file__).resolve().parents[2]


def stage(output: Path, files: dict[str, str]) -> Path:
    """A staged site with ``files`` (relative path: text), where the build would stage it."""
    with staging_folder(output) as staging:
        kept = staging.with_name(staging.name + "-kept")
        for name, text in files.items():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            (staging / name).write_text(text)
        staging.rename(kept)
    return kept


def site(page: str, **more: str) -> dict[str, str]:
    return {"lite-build.json": "{}", "index.html": page, "static/app.js": page, **more}


def tree(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): path.read_text()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
        and not any(part.startswith(".lite-build-") for part in path.relative_to(folder).parts)
    }


def test_a_first_build_moves_the_staged_site_in_whole(tmp_path: Path) -> None:
    output = tmp_path / "_output"
    publish(stage(output, site("first")), output)

    assert tree(output) == site("first")
    assert (output / WRITTEN_FILES).read_text() == "index.html\nlite-build.json\nstatic/app.js\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["_output"]


def test_a_rebuild_keeps_what_the_previous_build_did_not_write(tmp_path: Path) -> None:
    output = tmp_path / "_output"
    publish(stage(output, site("first", **{"old.html": "gone next time"})), output)
    (output / "CNAME").write_text("course.example.org")
    (output / ".nojekyll").write_text("")
    (output / ".git").mkdir()
    (output / ".git" / "HEAD").write_text("ref: refs/heads/gh-pages")
    (output / "static" / "mine.css").write_text("hand-added")

    publish(stage(output, site("second")), output)

    assert tree(output) == {
        **site("second"),
        "CNAME": "course.example.org",
        ".nojekyll": "",
        ".git/HEAD": "ref: refs/heads/gh-pages",
        "static/mine.css": "hand-added",
    }
    assert [path.name for path in built_files(output)] == [
        "index.html",
        "lite-build.json",
        "app.js",
    ]
    assert sorted(path.name for path in output.iterdir() if path.name.startswith(".lite")) == [
        WRITTEN_FILES
    ]


def test_a_first_build_into_a_folder_of_someone_elses_keeps_its_files_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    output = tmp_path / "gh-pages"
    output.mkdir()
    (output / "CNAME").write_text("course.example.org")
    (output / ".git").write_text("gitdir: ../.git/worktrees/gh-pages")

    with caplog.at_level(logging.WARNING, logger="lite_build"):
        publish(stage(output, site("first")), output)

    assert tree(output) == {
        **site("first"),
        "CNAME": "course.example.org",
        ".git": "gitdir: ../.git/worktrees/gh-pages",
    }
    assert caplog.messages == [
        f"output: {output} was not made by lite-build; its 2 file(s) and folder(s) are kept "
        "beside the site: .git, CNAME"
    ]


def test_a_file_of_someone_elses_where_the_site_writes_one_stops_the_publish(
    tmp_path: Path,
) -> None:
    output = tmp_path / "_output"
    publish(stage(output, site("first")), output)
    (output / "files").mkdir()
    (output / "files" / "notes.pdf").write_text("hand-added")
    (output / "static" / "app.js").write_text("edited by hand")  # the build's: replaced
    staged = stage(output, site("second", **{"files/notes.pdf": "from the content"}))

    with pytest.raises(LiteBuildError) as caught:
        publish(staged, output)

    assert str(caught.value) == (
        f"output: {output} holds 1 file(s) or folder(s) lite-build did not write where the "
        "site now has its own: files/notes.pdf. lite-build never overwrites them: move them "
        "away, or choose another output with --output"
    )
    assert (output / "files" / "notes.pdf").read_text() == "hand-added"
    assert (output / "index.html").read_text() == "first"


def test_a_symlinked_output_publishes_into_its_target(tmp_path: Path) -> None:
    target = tmp_path / "hosted"
    output = tmp_path / "_output"
    output.symlink_to(target, target_is_directory=True)
    publish(stage(output, site("first")), output)
    publish(stage(output, site("second")), output)

    assert output.is_symlink()
    assert tree(target) == site("second")


def test_a_site_from_before_the_record_is_replaced_and_its_other_files_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    output = tmp_path / "_output"
    output.mkdir()
    for name, text in site("older lite-build", CNAME="course.example.org").items():
        (output / name).parent.mkdir(parents=True, exist_ok=True)
        (output / name).write_text(text)

    with caplog.at_level(logging.WARNING, logger="lite_build"):
        publish(stage(output, site("new")), output)

    assert tree(output) == {**site("new"), "CNAME": "course.example.org"}
    assert caplog.messages == [
        f"output: {output} was made by an earlier lite-build, which kept no record of its "
        "files; its 1 file(s) and folder(s) are kept beside the site: CNAME"
    ]


def kill_while_publishing(staged: Path, output: Path, *, after: int) -> None:
    """Publish in another process that dies (as from kill -9) after ``after`` file moves."""
    script = textwrap.dedent(
        f"""
        import os, sys
        from pathlib import Path
        from lite_build.site import publish as module
        real, moves = module._move, []
        def move(source, dest):
            if len(moves) == {after}:
                os._exit(9)
            moves.append(source)
            real(source, dest)
        module._move = move
        module.publish(Path(sys.argv[1]), Path(sys.argv[2]))
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", script, staged, output], env=env, check=False)
    assert done.returncode == 9


@pytest.mark.parametrize("after", [2, 5, 8])
def test_a_publish_killed_half_way_is_rolled_back_by_the_next_build(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, after: int
) -> None:
    """Killed while setting the previous build's 4 files and record aside (after 2 moves), with
    all set aside (5), and while moving the 4 new ones in (8)."""
    output = tmp_path / "_output"
    publish(stage(output, site("first", **{"old.html": "first only"})), output)
    (output / "CNAME").write_text("course.example.org")
    before = tree(output)
    kill_while_publishing(stage(output, site("second", **{"new.html": "x"})), output, after=after)
    assert (output / JOURNAL).is_file()

    with caplog.at_level(logging.WARNING, logger="lite_build"):
        recover_interrupted_publish(output)

    assert tree(output) == before
    assert (output / WRITTEN_FILES).read_text() == (
        "index.html\nlite-build.json\nold.html\nstatic/app.js\n"
    )
    assert sorted(path.name for path in output.iterdir() if path.name.startswith(".lite")) == [
        WRITTEN_FILES
    ]
    assert caplog.messages == [f"restored {output} from an interrupted build"]
    publish(stage(output, site("third")), output)
    assert tree(output) == {**site("third"), "CNAME": "course.example.org"}


def test_a_failure_while_moving_files_rolls_back_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lite_build.site import publish as module

    output = tmp_path / "_output"
    publish(stage(output, site("first")), output)
    before = tree(output)
    real, moves = module._move, []

    def failing_move(source: Path, dest: Path) -> None:
        if len(moves) == 4:
            moves.append(source)
            raise OSError(28, "No space left on device")
        moves.append(source)
        real(source, dest)

    monkeypatch.setattr(module, "_move", failing_move)
    with pytest.raises(OSError, match="No space left"):
        publish(stage(output, site("second")), output)
    monkeypatch.undo()

    assert tree(output) == before
    assert (output / WRITTEN_FILES).read_text() == "index.html\nlite-build.json\nstatic/app.js\n"
    assert not (output / JOURNAL).exists()
    assert not list(output.glob(".lite-build-previous-*"))


def test_staging_folders_are_unique_and_a_killed_builds_are_removed(tmp_path: Path) -> None:
    output = tmp_path / "_output"
    publish(stage(output, site("first")), output)
    with staging_folder(output) as one, staging_folder(output) as two:
        assert one != two
        assert one.parent == two.parent == output
    left = stage(output, site("killed while assembling"))
    elsewhere = tmp_path / "other"
    beside = stage(elsewhere, site("another output's first build, under way"))
    first_build = stage(tmp_path / "new", site("killed while assembling a first build"))
    assert first_build.parent == tmp_path

    recover_interrupted_publish(output)
    recover_interrupted_publish(tmp_path / "new")

    assert not left.exists() and not first_build.exists()
    assert beside.exists()
    assert tree(output) == site("first")
