"""Integration: ``lite-build lock`` and ``lite-build lock --upgrade NAME`` through the CLI, and
the message of a build whose lock no longer matches the configuration. Packages come from a
local wheels folder (and the package index, tests/registry, for the kernel's own)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lite_build.cli import EXIT_ERROR, EXIT_OK, main
from lite_build.packages.lockfile import LOCK_FILE_NAME, read_lock
from tests.packages.conftest import build_wheel

pytestmark = pytest.mark.integration

CONFIG = """\
title = "Locked"
content = ["content"]
wheels = ["wheels"]

[[environments]]
name = "python"
packages = ["tinylib"]
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "content").mkdir()
    (tmp_path / "wheels").mkdir()
    build_wheel(tmp_path / "wheels", "tinylib", "1.0")
    (tmp_path / "lite-build.toml").write_text(CONFIG)
    return tmp_path


def locked_versions(project: Path) -> dict[str, str]:
    env = read_lock(project / LOCK_FILE_NAME).environment("python")
    assert env is not None
    return {package.name: package.version for package in env.packages}


def run(project: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main([*args, "--config", str(project / "lite-build.toml")])
    return code, capsys.readouterr().err


def test_lock_writes_the_file_and_upgrade_moves_only_the_named_package(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lock_file = project / LOCK_FILE_NAME

    code, output = run(project, capsys, "lock")

    assert code == EXIT_OK
    first = locked_versions(project)
    assert first["tinylib"] == "1.0"
    assert output.splitlines()[-2:] == [
        f"  environment python: {len(first)} packages",
        f"Wrote {lock_file}.",
    ]
    text = lock_file.read_text()
    assert text.startswith("# lite-build.lock: the exact packages of each environment.")
    assert 'source = "wheels"\nfile = "tinylib-1.0-py3-none-any.whl"\n' in text
    assert 'url = "wheels/tinylib-1.0-py3-none-any.whl"' in text

    # a newer wheel appears: a plain `lock` keeps what is locked ...
    build_wheel(project / "wheels", "tinylib", "2.0")
    code, _ = run(project, capsys, "lock")
    assert code == EXIT_OK
    assert locked_versions(project) == first
    assert lock_file.read_text() == text

    # ... `lock --upgrade tinylib` moves tinylib, and nothing else
    code, output = run(project, capsys, "lock", "--upgrade", "tinylib")
    assert code == EXIT_OK
    assert locked_versions(project) == {**first, "tinylib": "2.0"}
    assert output.splitlines()[-1] == f"Wrote {lock_file}."


def test_a_build_with_a_stale_lock_names_the_change_and_the_fix(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(project, capsys, "lock")[0] == EXIT_OK
    config = project / "lite-build.toml"
    config.write_text(config.read_text().replace('["tinylib"]', '["tinylib", "attrs"]'))

    code, output = run(project, capsys, "build")

    assert code == EXIT_ERROR
    assert output.splitlines()[-1] == (
        "error: lite-build.lock does not match the configuration: the packages of environment "
        '"python" changed (added attrs); run `lite-build lock` to update it (or delete it to '
        "resolve at every build)"
    )
    assert not (project / "_output").exists()
