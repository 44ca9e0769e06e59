"""``lite-build collect``: read a folder of learners' hand-ins, verify them, write a table.

A hand-in is the zip a learner's browser downloads with "Hand In This Notebook"
(extension/src/backup.ts): the files, and a manifest (``lite-build-handin.json``) naming the site,
the learner, the time, and per file its sha256 and the course version it started from. Collecting
checks every file against its sha256 and compares it with the original the site ships.

The sha256 proves only that the files were not changed after the manifest was written: whoever
can edit a file can also rewrite the manifest. It is an integrity check against damage and
casual edits, not a proof of who wrote what.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lite_build.errors import LiteBuildError

#: the manifest's name inside a hand-in (HAND_IN_MANIFEST in extension/src/backup.ts)
MANIFEST = "lite-build-handin.json"

#: the columns of the table, in order
COLUMNS = (
    "hand_in",
    "learner",
    "site",
    "handed_in",
    "file",
    "course_version",
    "latest_version",
    "changed",
    "verified",
)

#: per shipped file (its site path), its version as lite-build-content.json writes it
Originals = Mapping[str, Mapping[str, str]]


@dataclass(frozen=True)
class HandedInFile:
    path: str
    #: the shipped version the learner's copy started from (None: the learner's own file)
    course_version: str | None
    #: the version the site ships now (None: not a shipped file)
    latest_version: str | None
    #: compared with the original the site ships: "yes", "no", or "new file"
    changed: str
    #: "ok", "tampered", "missing" (in the manifest, not in the zip) or "not in manifest"
    verified: str


@dataclass(frozen=True)
class HandIn:
    #: the zip's file name
    name: str
    learner: str | None = None
    site: str | None = None
    handed_in: str | None = None
    files: tuple[HandedInFile, ...] = ()
    #: why it cannot be trusted, one sentence each naming the file
    problems: tuple[str, ...] = ()
    #: what the teacher should know but that does not make it untrustworthy
    notes: tuple[str, ...] = ()

    @property
    def verified(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class CollectReport:
    hand_ins: tuple[HandIn, ...] = field(default_factory=tuple)

    @property
    def problems(self) -> list[str]:
        return [problem for hand_in in self.hand_ins for problem in hand_in.problems]

    @property
    def notes(self) -> list[str]:
        return [note for hand_in in self.hand_ins for note in hand_in.notes]

    def rows(self) -> list[dict[str, str]]:
        rows = []
        for hand_in in self.hand_ins:
            common = {
                "hand_in": hand_in.name,
                "learner": hand_in.learner or "",
                "site": hand_in.site or "",
                "handed_in": hand_in.handed_in or "",
            }
            if not hand_in.files:
                rows.append({**common, "verified": "not a hand-in"})
            for item in hand_in.files:
                rows.append(
                    {
                        **common,
                        "file": item.path,
                        "course_version": item.course_version or "",
                        "latest_version": item.latest_version or "",
                        "changed": item.changed,
                        "verified": item.verified,
                    }
                )
        return rows

    def csv_text(self) -> str:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=COLUMNS, restval="", lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows())
        return out.getvalue()

    def summary(self) -> str:
        """One line: how many hand-ins, learners and files, and how many failed verification."""
        files = sum(len(hand_in.files) for hand_in in self.hand_ins)
        learners = {hand_in.learner for hand_in in self.hand_ins if hand_in.learner}
        bad = sum(not hand_in.verified for hand_in in self.hand_ins)
        return (
            f"{len(self.hand_ins)} hand-ins ({len(learners)} named learners, {files} files): "
            f"{len(self.hand_ins) - bad} verified, {bad} failed verification"
        )


def check_hand_in(
    name: str, entries: Mapping[str, bytes], originals: Originals, site_id: str | None
) -> HandIn:
    """Verify one hand-in, given its zip's entries (name -> bytes): each file against the
    sha256 in its manifest, and compared with ``originals``."""
    raw = entries.get(MANIFEST)
    if raw is None:
        return HandIn(name, problems=(f"{name}: not a lite-build hand-in (no {MANIFEST} inside)",))
    try:
        manifest = json.loads(raw)
        listed = {str(item["path"]): item for item in manifest["files"]}
    except (ValueError, KeyError, TypeError):
        return HandIn(
            name,
            problems=(
                f"{name}: its {MANIFEST} is damaged (not the JSON a "
                "browser writes); ask the learner to hand in again",
            ),
        )
    files: list[HandedInFile] = []
    problems: list[str] = []
    for path, item in sorted(listed.items()):
        data = entries.get(path)
        original = originals.get(path)
        if data is None:
            verified = "missing"
            problems.append(f'{name}: "{path}" is in the manifest but not in the hand-in')
        elif hashlib.sha256(data).hexdigest() != item.get("sha256"):
            verified = "tampered"
            problems.append(
                f'{name}: "{path}" does not match the sha256 in its manifest: it was changed '
                "after the learner's browser made the hand-in"
            )
        else:
            verified = "ok"
        files.append(
            HandedInFile(
                path,
                course_version=_text(item.get("course_version")),
                latest_version=original["sha"] if original else None,
                changed=_changed(path, data, original),
                verified=verified,
            )
        )
    for path in sorted(set(entries) - set(listed) - {MANIFEST}):
        if path.endswith("/"):
            continue  # a folder entry
        problems.append(f'{name}: "{path}" is in the hand-in but not in its manifest')
        files.append(
            HandedInFile(
                path,
                None,
                None,
                _changed(path, entries[path], originals.get(path)),
                "not in manifest",
            )
        )
    site = manifest.get("site") if isinstance(manifest.get("site"), dict) else {}
    handed_in_site = _text(site.get("id"))
    notes = []
    if site_id and handed_in_site != site_id:
        notes.append(f"{name}: handed in from the site {handed_in_site!r}, not {site_id!r}")
    return HandIn(
        name,
        learner=_text(manifest.get("learner")),
        site=handed_in_site,
        handed_in=_text(manifest.get("handed_in")),
        files=tuple(files),
        problems=tuple(problems),
        notes=tuple(notes),
    )


def _changed(path: str, data: bytes | None, original: Mapping[str, str] | None) -> str:
    """Whether ``data`` differs from the shipped ``original``: for notebooks, their cells' text
    (outputs do not count, as in the browser's content versions)."""
    from lite_build.site.content import file_version

    if original is None:
        return "new file"
    if data is None:
        return ""
    try:
        version = file_version(path, data)
    except ValueError:
        return "yes"  # a notebook that is not JSON any more
    key = "cells" if "cells" in original and "cells" in version else "sha"
    return "no" if version[key] == original[key] else "yes"


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def collect(folder: Path, originals: Originals, site_id: str | None = None) -> CollectReport:
    """Verify every ``*.zip`` in ``folder`` (not its subfolders), in name order."""
    if not folder.is_dir():
        raise LiteBuildError(f"{folder}: no such folder; give the folder holding the hand-ins")
    hand_ins = []
    for path in sorted(folder.glob("*.zip")):
        try:
            with zipfile.ZipFile(path) as archive:
                entries = {info.filename: archive.read(info) for info in archive.infolist()}
        except (zipfile.BadZipFile, OSError) as error:
            hand_ins.append(
                HandIn(path.name, problems=(f"{path.name}: not a readable zip ({error})",))
            )
            continue
        hand_ins.append(check_hand_in(path.name, entries, originals, site_id))
    if not hand_ins:
        raise LiteBuildError(f"{folder}: no hand-ins (*.zip files) in this folder")
    return CollectReport(tuple(hand_ins))


def site_originals(site: Path) -> tuple[Originals, str]:
    """The shipped files' versions and the site id of the built ``site``."""
    from lite_build.site.jupyterlite import SiteSettings
    from lite_build.site.paths import CONTENT_VERSIONS

    try:
        versions = json.loads((site / CONTENT_VERSIONS).read_text(encoding="utf-8"))
        storage = SiteSettings.read(site).storage
    except (OSError, ValueError, KeyError) as error:
        raise LiteBuildError(
            f"{site}: not a site built by lite-build ({error}); give the built site's folder "
            "(the _output folder), or leave out --site to compare with the project's content"
        ) from error
    return versions["files"], storage.removeprefix("lite-build: ")


def project_originals(config_file: Path | None) -> tuple[Originals, str]:
    """The versions of the project's content files (as a build would ship them) and its id."""
    from lite_build.config import load_config
    from lite_build.site.content import collect_content, file_version

    config = load_config(config_file)
    files = collect_content(config.content)
    return {
        item.site_path: file_version(item.site_path, item.source.read_bytes()) for item in files
    }, config.site_id
