"""The per-environment wheel: preload imports and start-up code whose output reaches a cell."""

from __future__ import annotations

import io
import sys
import types
import zipfile
from collections.abc import Callable
from typing import Any

import pytest

from lite_build.kernel.wheels import ENVIRONMENT_MODULE, environment_wheel


class FakeShell:
    """The parts of IPython's shell the start-up runner uses."""

    def __init__(self) -> None:
        self.user_ns: dict[str, Any] = {}
        self.callbacks: list[Callable[..., None]] = []
        self.events = types.SimpleNamespace(
            register=lambda _event, callback: self.callbacks.append(callback),
            unregister=lambda _event, callback: self.callbacks.remove(callback),
        )

    def transform_cell(self, source: str) -> str:
        return source


def load_runner(startup: str, origin: str, monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    wheel = environment_wheel("extra", ["msgpack"], startup, origin)
    archive = zipfile.ZipFile(io.BytesIO(wheel.data))
    module = types.ModuleType(ENVIRONMENT_MODULE)
    module.__file__ = f"/nonexistent/{ENVIRONMENT_MODULE}/__init__.py"
    source = archive.read(f"{ENVIRONMENT_MODULE}/startup.py").decode()
    runner = archive.read(f"{ENVIRONMENT_MODULE}/__init__.py").decode()
    # the runner reads startup.py next to itself: serve it from the wheel
    runner = runner.replace(
        '(Path(__file__).parent / "startup.py").read_text(encoding="utf-8")', repr(source)
    )
    exec(compile(runner, "runner", "exec"), module.__dict__)
    return module


def run_start(
    startup: str, origin: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[FakeShell, str, str]:
    runner = load_runner(startup, origin, monkeypatch)
    shell = FakeShell()
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))
    runner.start(shell)
    quiet = capsys.readouterr()
    assert (quiet.out, quiet.err) == ("", ""), "nothing runs while the kernel starts"
    assert shell.user_ns == {}, "the start-up code waits for the first cell"
    for callback in list(shell.callbacks):
        callback()
    shown = capsys.readouterr()
    return shell, shown.out, shown.err


def test_startup_output_shows_in_the_first_cell(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shell, out, err = run_start("GREETING = 'hi'\nprint('WELCOME')", "s.py", monkeypatch, capsys)
    assert shell.user_ns["GREETING"] == "hi"
    assert (out, err) == ("WELCOME\n", "")
    assert shell.callbacks == [], "only the first cell shows it"


def test_startup_errors_show_with_their_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, err = run_start("x = 1\n1 / 0\n", "start.py", monkeypatch, capsys)
    assert out == ""
    assert err.startswith("Error in the start-up code of this kernel (start.py):\n")
    assert 'File "start.py", line 2, in <module>\n    1 / 0' in err
    assert err.endswith("ZeroDivisionError: division by zero\n")


def test_the_wheel_is_deterministic_and_named_for_its_content() -> None:
    first = environment_wheel("extra", ["msgpack"], "print(1)", "startup")
    assert first == environment_wheel("extra", ["msgpack"], "print(1)", "startup")
    changed = environment_wheel("extra", ["msgpack"], "print(2)", "startup")
    assert changed.filename != first.filename
    assert first.filename.startswith(f"{ENVIRONMENT_MODULE}-0+extra.h")


def test_the_kernel_shims_come_from_the_kernel_extension_with_their_hashes() -> None:
    import hashlib

    from lite_build.kernel.wheels import KERNEL_START_PACKAGES, kernel_extension_dir, kernel_shims

    shims = {shim.name: shim for shim in kernel_shims(kernel_extension_dir())}
    assert set(shims) == {"piplite", "ipykernel", "pyodide-kernel"}
    for shim in shims.values():
        assert shim.path.is_file()
        assert shim.sha256 == hashlib.sha256(shim.path.read_bytes()).hexdigest()
        # the kernel's worker skips installing what loadPyodide already loaded, by these names
        assert shim.name in KERNEL_START_PACKAGES
    assert shims["pyodide-kernel"].imports == ("pyodide_kernel",)
    assert shims["piplite"].depends == ("micropip",)


def test_a_kernel_extension_without_a_shim_is_reported(tmp_path: Any) -> None:
    import json

    from lite_build.errors import LiteBuildError
    from lite_build.kernel.wheels import kernel_shims

    (tmp_path / "static" / "pypi").mkdir(parents=True)
    (tmp_path / "static" / "pypi" / "all.json").write_text(json.dumps({}))
    with pytest.raises(LiteBuildError) as error:
        kernel_shims(tmp_path)
    assert str(error.value) == (
        f"the kernel extension @jupyterlite/pyodide-kernel-extension ({tmp_path}) does not ship "
        "the piplite wheel the kernel installs at start; reinstall lite-build"
    )
