"""``lite-build collect``: verifying hand-ins against their manifests, and the table it writes."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from pathlib import Path

import nbformat
import pytest

from lite_build.cli import EXIT_ERROR, EXIT_OK, main
from lite_build.commands.collect import MANIFEST, check_hand_in, collect, project_originals
from lite_build.site.content import file_version

SITE_ID = "course"


def notebook(*sources: str, output: str | None = None) -> bytes:
    cells = [nbformat.v4.new_code_cell(source) for source in sources]
    if output is not None:
        cells[0].outputs = [nbformat.v4.new_output("stream", text=output)]
    return nbformat.writes(nbformat.v4.new_notebook(cells=cells)).encode()


LESSON = notebook("print('hello')")
ORIGINALS = {"lesson.ipynb": file_version("lesson.ipynb", LESSON)}


def hand_in(
    files: dict[str, bytes], *, learner: str | None = "Ada", sha: dict[str, str] | None = None
) -> dict[str, bytes]:
    """A hand-in's zip entries as a browser writes them; ``sha`` overrides a file's sha256."""
    manifest = {
        "format": 1,
        "site": {"id": SITE_ID, "title": "Course"},
        "learner": learner,
        "handed_in": "2026-12-02T10:00:00.000Z",
        "files": [
            {
                "path": path,
                "sha256": (sha or {}).get(path, hashlib.sha256(data).hexdigest()),
                "course_version": ORIGINALS.get(path, {}).get("sha"),
            }
            for path, data in files.items()
        ],
    }
    return {**files, MANIFEST: json.dumps(manifest).encode()}


def test_an_untouched_hand_in_is_verified_and_says_what_changed() -> None:
    edited = notebook("print('hello')", "answer = 42")
    result = check_hand_in(
        "ada.zip", hand_in({"lesson.ipynb": edited, "mine.py": b"x = 1\n"}), ORIGINALS, SITE_ID
    )
    assert result.verified
    assert (result.learner, result.site, result.notes) == ("Ada", SITE_ID, ())
    by_path = {item.path: item for item in result.files}
    assert by_path["lesson.ipynb"].changed == "yes"
    assert by_path["lesson.ipynb"].course_version == ORIGINALS["lesson.ipynb"]["sha"]
    assert by_path["mine.py"].changed == "new file"
    assert {item.verified for item in result.files} == {"ok"}


def test_a_notebook_only_run_is_not_changed() -> None:
    run = notebook("print('hello')", output="hello\n")
    [item] = check_hand_in("ada.zip", hand_in({"lesson.ipynb": run}), ORIGINALS, SITE_ID).files
    assert item.changed == "no"


def test_a_file_changed_after_the_hand_in_was_made_is_tampered() -> None:
    entries = hand_in({"lesson.ipynb": LESSON})
    entries["lesson.ipynb"] = notebook("print('copied from a friend')")
    result = check_hand_in("ada.zip", entries, ORIGINALS, SITE_ID)
    assert not result.verified
    assert result.problems == (
        'ada.zip: "lesson.ipynb" does not match the sha256 in its manifest: it was changed '
        "after the learner's browser made the hand-in",
    )
    assert [item.verified for item in result.files] == ["tampered"]


def test_missing_and_unlisted_files_are_problems() -> None:
    entries = hand_in({"lesson.ipynb": LESSON})
    del entries["lesson.ipynb"]
    entries["extra.py"] = b"print(1)\n"
    result = check_hand_in("ada.zip", entries, ORIGINALS, SITE_ID)
    assert result.problems == (
        'ada.zip: "lesson.ipynb" is in the manifest but not in the hand-in',
        'ada.zip: "extra.py" is in the hand-in but not in its manifest',
    )


@pytest.mark.parametrize(
    ("manifest", "problem"),
    [
        (None, "bob.zip: not a lite-build hand-in (no lite-build-handin.json inside)"),
        (
            b"{not json",
            "bob.zip: its lite-build-handin.json is damaged (not the JSON a browser writes); "
            "ask the learner to hand in again",
        ),
    ],
    ids=["no manifest", "damaged manifest"],
)
def test_a_zip_that_is_not_a_hand_in_says_so(manifest: bytes | None, problem: str) -> None:
    entries = {"lesson.ipynb": LESSON}
    if manifest is not None:
        entries[MANIFEST] = manifest
    assert check_hand_in("bob.zip", entries, ORIGINALS, SITE_ID).problems == (problem,)


def test_a_hand_in_from_another_site_is_noted() -> None:
    result = check_hand_in("ada.zip", hand_in({"lesson.ipynb": LESSON}), ORIGINALS, "other")
    assert result.verified
    assert result.notes == ("ada.zip: handed in from the site 'course', not 'other'",)


def write_zip(path: Path, entries: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)


def test_collect_reads_a_folder_writes_the_table_and_fails_on_tampering(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "course"
    (project / "content").mkdir(parents=True)
    (project / "content" / "lesson.ipynb").write_bytes(LESSON)
    (project / "lite-build.toml").write_text(f'title = "Course"\nid = "{SITE_ID}"\n')
    originals, site_id = project_originals(project / "lite-build.toml")
    assert (dict(originals), site_id) == (ORIGINALS, SITE_ID)

    hand_ins = tmp_path / "hand-ins"
    hand_ins.mkdir()
    write_zip(hand_ins / "ada.zip", hand_in({"lesson.ipynb": notebook("print('hello')", "1")}))
    tampered = hand_in({"lesson.ipynb": LESSON}, learner="Bob")
    tampered["lesson.ipynb"] = b"{}"
    write_zip(hand_ins / "bob.zip", tampered)
    (hand_ins / "notes.txt").write_text("not a hand-in, not a zip: ignored")

    report = collect(hand_ins, originals, site_id)
    assert [item.name for item in report.hand_ins] == ["ada.zip", "bob.zip"]
    assert (
        report.summary()
        == "2 hand-ins (2 named learners, 2 files): 1 verified, 1 failed verification"
    )

    code = main(["collect", str(hand_ins), "--config", str(project / "lite-build.toml")])
    err = capsys.readouterr().err
    assert code == EXIT_ERROR
    assert 'bob.zip: "lesson.ipynb" does not match the sha256 in its manifest' in err
    rows = list(csv.DictReader(io.StringIO((hand_ins / "hand-ins.csv").read_text())))
    assert [(row["learner"], row["changed"], row["verified"]) for row in rows] == [
        ("Ada", "yes", "ok"),
        ("Bob", "yes", "tampered"),
    ]

    (hand_ins / "bob.zip").unlink()
    table = tmp_path / "table.csv"
    code = main(
        [
            "collect",
            str(hand_ins),
            "--config",
            str(project / "lite-build.toml"),
            "--csv",
            str(table),
        ]
    )
    assert code == EXIT_OK
    assert "1 verified, 0 failed verification" in capsys.readouterr().err
    assert table.read_text().splitlines()[0] == (
        "hand_in,learner,site,handed_in,file,course_version,latest_version,changed,verified"
    )


def test_collect_of_an_empty_folder_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "lite-build.toml").write_text('title = "Course"\ncontent = []\n')
    code = main(["collect", str(tmp_path), "--config", str(tmp_path / "lite-build.toml")])
    assert code == EXIT_ERROR
    assert f"{tmp_path}: no hand-ins (*.zip files) in this folder" in capsys.readouterr().err
