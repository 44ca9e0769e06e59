"""``lite-build init``: the new project's files, and never losing the author's own files."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import nbformat
import pytest
from jupyterlite_pyodide_kernel.constants import PYODIDE_VERSION

from lite_build.commands.init import init_project
from lite_build.config import OPTIONS, load_config
from lite_build.errors import LiteBuildError

PROJECT_FILES = [
    ".gitignore",
    "README.md",
    "content/data/example.csv",
    "content/welcome.ipynb",
    "lite-build.toml",
    "overrides/overrides.json",
]


def _relative(paths: list[Path], root: Path) -> list[str]:
    return [path.relative_to(root).as_posix() for path in paths]


def _config(project: Path) -> dict[str, object]:
    return tomllib.loads((project / "lite-build.toml").read_text(encoding="utf-8"))


def test_init_creates_the_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "course"
    created = init_project(project, title="Intro to Python")
    assert _relative(created, project) == PROJECT_FILES
    assert all(path.is_file() for path in created)
    assert capsys.readouterr() == ("", "")


def test_config_has_every_main_key(tmp_path: Path) -> None:
    init_project(tmp_path, title="Intro to Python")
    config = _config(tmp_path)
    assert config == {
        "title": "Intro to Python",
        "id": "intro-to-python",
        "content": ["content"],
        "overrides": "overrides",
        "output": "_output",
        "offline": True,
        "source-maps": False,
        "isolated": False,
        "precache": True,
        "bytecode": False,
        "strict": False,
        "snapshot": True,
        "environments": [
            {
                "name": "python",
                "display-name": "Python (Pyodide)",
                "packages": ["attrs"],
                "preload": [],
            }
        ],
    }
    assert (tmp_path / "content").is_dir()
    assert (tmp_path / "overrides" / "overrides.json").is_file()


def test_config_shows_the_pyodide_version_commented_out(tmp_path: Path) -> None:
    init_project(tmp_path)
    text = (tmp_path / "lite-build.toml").read_text(encoding="utf-8")
    uncommented = text.replace("# [pyodide]\n# version =", "[pyodide]\nversion =")
    assert tomllib.loads(uncommented)["pyodide"] == {"version": PYODIDE_VERSION}


def test_config_shows_every_option(tmp_path: Path) -> None:
    init_project(tmp_path)
    text = (tmp_path / "lite-build.toml").read_text(encoding="utf-8")
    for option in OPTIONS:
        line = {
            "table": f"[{option.key}]",
            "array of tables": f"[[{option.key}]]",
        }.get(option.type, f"{option.key} = ")
        assert re.search(rf"^(# )?{re.escape(line)}", text, re.MULTILINE), option.name


def test_config_is_accepted_by_lite_build(tmp_path: Path) -> None:
    init_project(tmp_path, title="Intro to Python")
    config = load_config(cwd=tmp_path)
    assert config.config_file == tmp_path / "lite-build.toml"
    assert config.title == "Intro to Python"
    assert [environment.name for environment in config.environments] == ["python"]


@pytest.mark.parametrize("title", ['Say "hi" \\ to TOML', "Ünïcode ☕ course", "tab\there"])
def test_title_survives_toml_quoting(tmp_path: Path, title: str) -> None:
    init_project(tmp_path, title=title)
    expected = " ".join(title.split())
    assert _config(tmp_path)["title"] == expected
    readme = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert readme.startswith(f"# {expected}\n")


def test_title_defaults_to_the_folder_name(tmp_path: Path) -> None:
    init_project(tmp_path / "physics-101")
    assert _config(tmp_path / "physics-101")["title"] == "physics-101"


def test_readme_tells_the_next_commands(tmp_path: Path) -> None:
    init_project(tmp_path)
    readme = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "lite-build build" in readme
    assert "lite-build serve" in readme


def test_gitignore_ignores_the_build_output_and_work_folder(tmp_path: Path) -> None:
    init_project(tmp_path)
    lines = (tmp_path / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "_output/" in lines
    assert ".lite-build/" in lines


def test_sample_notebook_is_valid_and_runs_in_the_environment(tmp_path: Path) -> None:
    init_project(tmp_path)
    notebook = nbformat.read(tmp_path / "content" / "welcome.ipynb", as_version=nbformat.NO_CONVERT)
    nbformat.validate(notebook)
    assert (notebook.nbformat, notebook.nbformat_minor) >= (4, 5)
    environments = _config(tmp_path)["environments"]
    assert isinstance(environments, list)
    assert notebook.metadata.kernelspec["name"] == environments[0]["name"]
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code)
    assert code[-1].source.startswith('print("DONE ')
    assert "data/example.csv" in "".join(cell.source for cell in code)


def test_overrides_are_json(tmp_path: Path) -> None:
    init_project(tmp_path)
    overrides = json.loads((tmp_path / "overrides" / "overrides.json").read_text(encoding="utf-8"))
    # checked against JupyterLite's settings schemas in test_content.py
    assert overrides


def test_an_empty_existing_folder_is_fine(tmp_path: Path) -> None:
    assert _relative(init_project(tmp_path), tmp_path) == PROJECT_FILES


def test_a_non_empty_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(LiteBuildError) as error:
        init_project(tmp_path)
    assert str(error.value) == (
        f"{tmp_path} is not empty; choose a new folder or pass --force to add the missing files"
    )
    assert [path.name for path in tmp_path.iterdir()] == ["notes.txt"]


def test_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "course"
    target.write_text("mine", encoding="utf-8")
    with pytest.raises(LiteBuildError) as error:
        init_project(target, force=True)
    assert str(error.value) == f"{target} is a file; choose a new folder for the project"


def test_force_adds_the_missing_files_and_keeps_existing_ones(tmp_path: Path) -> None:
    (tmp_path / "content").mkdir()
    (tmp_path / "content" / "welcome.ipynb").write_text("my notebook", encoding="utf-8")
    (tmp_path / "README.md").write_text("my readme", encoding="utf-8")

    created = init_project(tmp_path, force=True)

    assert _relative(created, tmp_path) == [
        ".gitignore",
        "content/data/example.csv",
        "lite-build.toml",
        "overrides/overrides.json",
    ]
    assert (tmp_path / "content" / "welcome.ipynb").read_text(encoding="utf-8") == "my notebook"
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == "my readme"
    assert init_project(tmp_path, force=True) == []


def test_a_file_where_a_folder_belongs_is_reported(tmp_path: Path) -> None:
    (tmp_path / "overrides").write_text("not a folder", encoding="utf-8")
    with pytest.raises(LiteBuildError) as error:
        init_project(tmp_path, force=True)
    assert str(error.value) == (
        f"{tmp_path / 'overrides'} is a file where the project needs a folder; move it away, "
        "or choose a new folder"
    )
    assert [path.name for path in tmp_path.iterdir()] == ["overrides"]
