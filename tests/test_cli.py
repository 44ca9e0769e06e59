"""The command-line contract: entry point, exit codes, messages, no side effects on import."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from lite_build.cli import EXIT_ERROR, EXIT_OK, main

REPO = Path(__file__).resolve().parent.parent


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lite_build", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        # this checkout's lite_build, whichever one is installed
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "HOME": str(cwd), "PYTHONPATH": str(REPO)},
    )


def test_the_console_script_is_declared() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["name"] == "lite-build"
    assert project["scripts"] == {"lite-build": "lite_build.cli:main"}


def test_importing_the_cli_has_no_side_effects() -> None:
    code = (
        "import sys, lite_build.cli; "
        "heavy = [m for m in ('jupyterlite_core', 'doit', 'httpx', 'rich') if m in sys.modules]; "
        "print(heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
    assert result.stderr == ""


def test_help_lists_the_commands(tmp_path: Path) -> None:
    result = run("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("build", "serve", "bundle", "init"):
        assert command in result.stdout


def test_a_config_error_is_one_clear_message_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "lite-build.toml").write_text('titel = "x"\noffline = "yes"\n')
    result = run("build", cwd=tmp_path)
    assert result.returncode == EXIT_ERROR
    assert "Traceback" not in result.stderr
    assert 'titel: unknown key; did you mean "title"?' in result.stderr
    assert "offline: expected true or false" in result.stderr


def test_requirement_files_including_each_other_are_a_config_error_not_a_hang(
    tmp_path: Path,
) -> None:
    (tmp_path / "lite-build.toml").write_text(
        'title = "T"\n[[environments]]\nname = "python"\npackages = ["-r a.txt"]\n'
    )
    (tmp_path / "a.txt").write_text("attrs\n-r b.txt\n")
    (tmp_path / "b.txt").write_text("-r a.txt\n")

    result = run("build", cwd=tmp_path)

    assert result.returncode == EXIT_ERROR
    assert result.stderr.splitlines() == [
        "error: lite-build.toml: 1 problem(s) in the configuration:",
        "  - b.txt, line 1: the requirement files include themselves: a.txt -> b.txt -> a.txt",
    ]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.txt", "b.txt", "lite-build.toml"]


def test_verbose_shows_the_traceback(tmp_path: Path) -> None:
    (tmp_path / "lite-build.toml").write_text('titel = "x"\n')
    result = run("build", "-v", cwd=tmp_path)
    assert result.returncode == EXIT_ERROR
    assert "Traceback" in result.stderr


def test_no_configuration_suggests_init(tmp_path: Path) -> None:
    result = run("build", cwd=tmp_path)
    assert result.returncode == EXIT_ERROR
    assert "lite-build init" in result.stderr


def test_init_creates_a_project_that_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "course"
    assert main(["init", str(target), "--title", "My Course"]) == EXIT_OK
    from lite_build.config import load_config

    config = load_config(cwd=target)
    assert config.title == "My Course"
    assert (target / "content").is_dir()


@pytest.mark.parametrize("command", ["build", "serve", "check", "embed", "lock"])
def test_output_is_an_option_of_every_site_command(command: str) -> None:
    from lite_build.cli import make_parser

    args = make_parser().parse_args([command, "--output", "elsewhere"])
    assert args.output == Path("elsewhere")


def test_bundle_output_names_the_zip_and_leaves_the_site_where_configured() -> None:
    from lite_build.cli import make_parser

    args = make_parser().parse_args(["bundle", "--output", "course.zip"])
    assert args.bundle == Path("course.zip")
    assert args.output is None
