"""`lite-build bundle` from the command line: it builds, reports sizes, writes the zip."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import nbformat
import pytest

from lite_build.cli import EXIT_OK, main

pytestmark = pytest.mark.integration

TITLE = "Cities of Europe"
SIZE_LINE = re.compile(
    r"  size: (?P<disk>.+) on disk; a first visit transfers (?P<first>.+) \(compressed, "
    r"everything kept for offline use\); largest: (?P<largest>.+)"
)


def mb(count: int) -> str:
    """``count`` bytes as the CLI shows sizes from 1 MB on."""
    assert 1_000_000 <= count < 1_000_000_000
    return f"{count / 1_000_000:.1f} MB"


def size_line(lines: list[str], site: Path) -> str:
    """The size line of the output, checked against the site's files."""
    [line] = [line for line in lines if line.startswith("  size: ")]
    shown = SIZE_LINE.fullmatch(line)
    assert shown, line
    assert shown["disk"] == mb(sum(p.stat().st_size for p in site.rglob("*") if p.is_file()))
    assert shown["first"].endswith(" MB")
    assert float(shown["first"].removesuffix(" MB")) < float(shown["disk"].removesuffix(" MB"))
    largest = [entry.split(" ") for entry in shown["largest"].split(", ")]
    assert len(largest) == 5
    sizes = [(site / name).stat().st_size for name, _, _ in largest]
    assert [f"{number} {unit}" for _, number, unit in largest] == [mb(size) for size in sizes]
    assert sizes == sorted(sizes, reverse=True)
    assert {"static/pyodide/pyodide.asm.wasm", "static/environments/python/kernel.snapshot"} <= {
        name for name, _, _ in largest
    }
    return line


def test_bundle_builds_reports_sizes_and_writes_a_zip_with_the_launcher(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "lessons").mkdir()
    (tmp_path / "lite-build.toml").write_text(f'title = "{TITLE}"\ncontent = ["lessons"]\n')
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("print('Paris')")]
    nbformat.write(notebook, tmp_path / "lessons" / "paris.ipynb")
    monkeypatch.chdir(tmp_path)
    site = tmp_path / "_output"

    assert main(["bundle", "--output", "handout.zip"]) == EXIT_OK
    lines = capsys.readouterr().err.splitlines()
    sizes = size_line(lines, site)
    with zipfile.ZipFile(tmp_path / "handout.zip") as archive:
        names = archive.namelist()
        assert archive.read("site/files/paris.ipynb") == (site / "files/paris.ipynb").read_bytes()
        readme = archive.read("README.txt").decode()
    # the port is the launcher's first choice, fixed by the title: a course keeps its address
    # (and with it the students' files in the browser) from one run to the next
    assert lines[-1] == (
        f"Bundled handout.zip ({mb((tmp_path / 'handout.zip').stat().st_size)}, "
        f"{len(names)} files). Unzip it anywhere and run start.py (or double-click start.bat / "
        "start.command); it serves on http://127.0.0.1:8865/."
    )
    assert names[:5] == ["start.py", "start.sh", "start.command", "start.bat", "README.txt"]
    assert {"site/index.html", "site/lite-build.json", "site/lite-build-sw.js"} <= set(names)
    assert readme.startswith(f"{TITLE}\r\n")
    assert "http://127.0.0.1:8865/" in readme

    # nothing changed: no build, but the sizes are still reported; the zip goes next to the config
    assert main(["bundle"]) == EXIT_OK
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == f"Nothing changed; {site} is up to date."
    assert sizes in lines
    assert (tmp_path / "cities-of-europe.zip").is_file()
