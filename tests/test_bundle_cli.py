"""`lite-build bundle` from the command line: it builds, reports sizes, writes the zip."""

from __future__ import annotations

import zipfile
from pathlib import Path

import nbformat
import pytest

from lite_build.cli import EXIT_OK, _size, main
from lite_build.commands.bundle import launcher
from lite_build.site.compress import size_report

pytestmark = pytest.mark.integration

TITLE = "Cities of Europe"


def size_line(site: Path) -> str:
    report = size_report(site)
    return (
        f"  size: {_size(report.total)} on disk; a first visit transfers "
        f"{_size(report.first_visit)} (compressed, everything kept for offline use); largest: "
        + ", ".join(f"{name} {_size(size)}" for name, size in report.largest)
    )


def test_bundle_builds_reports_sizes_and_writes_a_zip_with_the_launcher(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "lessons").mkdir()
    (tmp_path / "lite-build.toml").write_text(f'title = "{TITLE}"\ncontent = ["lessons"]\n')
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("print('Paris')")]
    nbformat.write(notebook, tmp_path / "lessons" / "paris.ipynb")
    monkeypatch.chdir(tmp_path)
    port = launcher().preferred_port(TITLE)
    site = tmp_path / "_output"

    assert main(["bundle", "--output", "handout.zip"]) == EXIT_OK
    err = capsys.readouterr().err
    report = size_report(site)
    assert report.first_visit < report.total
    largest = [name for name, _ in report.largest]
    assert "static/pyodide/pyodide.asm.wasm" in largest
    assert "static/environments/python/kernel.snapshot" in largest
    assert size_line(site) in err.splitlines()
    zip_size = _size((tmp_path / "handout.zip").stat().st_size)
    assert f"Bundled handout.zip ({zip_size}, " in err
    assert (
        "Unzip it anywhere and run start.py (or double-click start.bat / start.command); "
        f"it serves on http://127.0.0.1:{port}/."
    ) in err
    with zipfile.ZipFile(tmp_path / "handout.zip") as archive:
        names = archive.namelist()
        assert archive.read("site/files/paris.ipynb") == (site / "files/paris.ipynb").read_bytes()
        readme = archive.read("README.txt").decode()
    assert names[:5] == ["start.py", "start.sh", "start.command", "start.bat", "README.txt"]
    assert {"site/index.html", "site/lite-build.json", "site/lite-build-sw.js"} <= set(names)
    assert readme.startswith(f"{TITLE}\r\n")

    # nothing changed: no build, but the sizes are still reported; the zip goes next to the config
    assert main(["bundle"]) == EXIT_OK
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == f"Nothing changed; {site} is up to date."
    assert size_line(site) in lines
    assert (tmp_path / "cities-of-europe.zip").is_file()
