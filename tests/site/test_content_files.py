"""Which content files ship (lite_build/site/content.py); the default distribution's own
content is checked in test_content.py."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from lite_build.site.content import collect_content, warn_about_outside_content


def test_content_from_outside_the_project_is_published_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    project = tmp_path / "course"
    (project / "content").mkdir(parents=True)
    (project / "content" / "lesson.ipynb").write_text("{}")
    keys = tmp_path / "home" / ".ssh"
    keys.mkdir(parents=True)
    (keys / "id_rsa").write_text("private key")
    (project / "content" / "key").symlink_to(keys / "id_rsa")  # a link pointing out
    files = collect_content((project / "content", keys))

    with caplog.at_level(logging.WARNING, logger="lite_build"):
        warn_about_outside_content(files, project)

    assert [f.site_path for f in files] == ["id_rsa", "key", "lesson.ipynb"]
    assert caplog.messages == [
        f"content: 2 file(s) from outside the project folder {project} are published with the "
        f"site, readable by anyone who can open it: {project / 'content' / 'key'}, "
        f"{keys / 'id_rsa'}"
    ]


def test_content_inside_the_project_says_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "content").mkdir()
    (tmp_path / "content" / "lesson.ipynb").write_text("{}")
    with caplog.at_level(logging.WARNING, logger="lite_build"):
        warn_about_outside_content(collect_content((tmp_path / "content",)), tmp_path)
    assert caplog.messages == []
