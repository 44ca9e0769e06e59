"""lite-build's processes skip a slow optional import (lite_build/imports.py)."""

from __future__ import annotations

import subprocess
import sys
import types
from importlib.metadata import version

import pytest

from lite_build.imports import SKIPPED, skip_slow_optional_imports

#: the optional modules a process imported, after jsonschema and nbformat (as a build does)
IMPORTED = (
    "import sys\n"
    "{before}"
    "import jsonschema, nbformat\n"
    "nbformat.validate(nbformat.v4.new_notebook())\n"
    "print(sorted(name for name in {skipped!r} if sys.modules.get(name) is not None))\n"
)


def imported_after(before: str) -> str:
    code = IMPORTED.format(before=before, skipped=SKIPPED)
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_a_process_that_skips_them_validates_notebooks_without_them() -> None:
    # installed here (jupyter_events asks for jsonschema[format-nongpl]): imported unless skipped
    assert imported_after("") == str(sorted(SKIPPED))
    skip = "from lite_build.imports import skip_slow_optional_imports\n"
    assert imported_after(f"{skip}skip_slow_optional_imports()\n") == "[]"


def test_a_module_imported_before_is_left_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = types.ModuleType(SKIPPED[0])
    monkeypatch.setitem(sys.modules, SKIPPED[0], loaded)
    skip_slow_optional_imports()
    assert sys.modules[SKIPPED[0]] is loaded


def test_the_jupyterlite_runner_is_jupyterlite_cores_command_line() -> None:
    ran = subprocess.run(
        [sys.executable, "-m", "lite_build.site.run_jupyterlite", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert ran.stdout.strip() == version("jupyterlite-core")
