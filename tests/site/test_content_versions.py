"""Content versions: what the browser compares a student's saved copy with."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import nbformat

from lite_build.site.content import cells_text, content_versions


def short_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def test_every_shipped_file_gets_a_version_and_notebooks_a_version_of_their_text(
    tmp_path: Path,
) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# Week 1"), nbformat.v4.new_code_cell("x = 1")]
    (tmp_path / "week 1").mkdir()
    nbformat.write(notebook, tmp_path / "week 1" / "lesson.ipynb")
    (tmp_path / "data.csv").write_bytes(b"a,b\n1,2\n")
    (tmp_path / "data.csv.gz").write_bytes(b"not content")

    versions = content_versions(tmp_path)

    lesson = (tmp_path / "week 1" / "lesson.ipynb").read_bytes()
    assert versions == {
        "format": 1,
        "files": {
            "data.csv": {"sha": short_hash(b"a,b\n1,2\n")},
            "week 1/lesson.ipynb": {
                "sha": short_hash(lesson),
                "cells": short_hash(b'[["markdown","# Week 1"],["code","x = 1"]]'),
            },
        },
    }


def test_running_a_notebook_does_not_change_the_version_of_its_text() -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(["print('héllo')\n", "x = 1"])]
    ran = json.loads(json.dumps(notebook))
    ran["cells"][0]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "héllo\n"}]
    ran["cells"][0]["execution_count"] = 1
    ran["cells"][0]["source"] = "print('héllo')\nx = 1"  # JupyterLab saves sources as one string
    ran["metadata"]["kernelspec"] = {"name": "python", "display_name": "Python"}

    assert cells_text(ran) == cells_text(notebook) == '[["code","print(\'héllo\')\\nx = 1"]]'
