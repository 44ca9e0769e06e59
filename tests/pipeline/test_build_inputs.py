"""Each build step declares the configuration it reads; a change to any of it rebuilds the step.

The declarations (each step's ``options``, lite_build/pipeline/) are checked three ways:
every option is claimed by a step or named as no build input; a real build reads, in each
step, only what that step declares; and changing an option the user can change on its own
(``id``) rebuilds the site with the new value.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lite_build.config import OPTIONS, Table, load_config
from lite_build.pipeline import NOT_BUILD_INPUTS, STEP_OPTIONS, build, engine

DECLARED = {name for names in STEP_OPTIONS.values() for name in names}
TABLES = {option.name for option in OPTIONS if option.type in ("table", "array of tables")}


def test_every_option_is_read_by_a_step_or_named_as_no_build_input() -> None:
    options = {option.name for option in OPTIONS}
    assert options - DECLARED - set(NOT_BUILD_INPUTS) == set()
    assert DECLARED & set(NOT_BUILD_INPUTS) == set()
    # nothing declared that is not an option
    assert (DECLARED | set(NOT_BUILD_INPUTS)) - options == set()


def test_the_steps_are_declared_in_the_order_they_run() -> None:
    assert list(STEP_OPTIONS) == ["runtime", "packages", "imports", "app", "site"]


#: the option each configuration field holds, by (table, key); fields named otherwise
NAMES = {(option.table, option.key): option.name for option in OPTIONS}
RENAMED = {"site_id": "id", "startup_origin": "startup"}


def option_of_field(table: Table, field_name: str) -> str | None:
    """The option a field of SiteConfig (table "") or of its pyodide or environment entries
    holds; None for what no option sets (root, config_file, work_dir)."""
    return NAMES.get((table, RENAMED.get(field_name, field_name).replace("_", "-")))


class Recording:
    """A read-only view of a configuration (or of its ``pyodide`` or environment entries) that
    notes which option each step reads (``step()`` says which step runs)."""

    def __init__(
        self,
        target: Any,
        table: Table,
        step: Callable[[], str | None],
        reads: dict[str, set[str]],
    ) -> None:
        self._target, self._table, self._step, self._reads = target, table, step, reads

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        step = self._step()
        option = option_of_field(self._table, name)
        # a table (pyodide, environments) is read for its keys, which are noted one by one
        if step is not None and option is not None and option not in TABLES:
            self._reads.setdefault(step, set()).add(option)
        if name == "pyodide":
            return Recording(value, "pyodide", self._step, self._reads)
        if name == "environments":
            return tuple(Recording(env, "environments", self._step, self._reads) for env in value)
        return value


PROJECT = """
title = "Inputs"
content = ["content"]
default-kernel = "main"
snapshot = false
{id}

[[environments]]
name = "main"
display-name = "Main"
logo = "logo.svg"
startup = "print('hello')"
"""


def make_project(root: Path, site_id: str = "") -> Path:
    (root / "content").mkdir(parents=True, exist_ok=True)
    (root / "content" / "notes.md").write_text("# Notes\n")
    (root / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    line = f'id = "{site_id}"' if site_id else ""
    (root / "lite-build.toml").write_text(textwrap.dedent(PROJECT.format(id=line)))
    return root


@pytest.fixture
def recorded_steps(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, set[str]]]:
    """What each step of the builds made in the test read of the configuration."""
    reads: dict[str, set[str]] = {}
    running: list[str] = []
    step_of = engine.Pipeline._step

    def timed_step(self: Any, name: str, action: Callable[[], None]) -> Callable[[], bool]:
        def tracked() -> None:
            running.append(name)
            try:
                action()
            finally:
                running.pop()

        return step_of(self, name, tracked)

    real_init = engine.Pipeline.__init__

    def recording_init(self: Any, config: Any, *args: Any, **kwargs: Any) -> None:
        view = Recording(config, "", lambda: running[-1] if running else None, reads)
        real_init(self, view, *args, **kwargs)

    monkeypatch.setattr(engine.Pipeline, "_step", timed_step)
    monkeypatch.setattr(engine.Pipeline, "__init__", recording_init)
    yield reads


@pytest.mark.integration
def test_each_step_reads_only_the_options_it_declares(
    tmp_path: Path, recorded_steps: dict[str, set[str]]
) -> None:
    build(load_config(cwd=make_project(tmp_path)))

    assert set(recorded_steps) == set(STEP_OPTIONS)
    for step, read in recorded_steps.items():
        assert read - set(STEP_OPTIONS[step]) == set(), f"step {step!r} reads undeclared options"


def storage_name(site: Path) -> str:
    settings = json.loads((site / "jupyter-lite.json").read_text())["jupyter-config-data"]
    names = {value for key, value in settings.items() if key.endswith("StorageName")}
    (name,) = names
    return str(name)


@pytest.mark.integration
def test_changing_only_the_id_rebuilds_the_site_with_the_new_storage(tmp_path: Path) -> None:
    root = make_project(tmp_path, site_id="course-2025")
    first = build(load_config(cwd=root))
    assert storage_name(first.output).endswith("course-2025")

    make_project(tmp_path, site_id="course-2026")
    second = build(load_config(cwd=root))

    assert "app" in second.ran
    assert storage_name(second.output).endswith("course-2026")


def test_the_recording_notes_each_option_a_step_reads(
    tmp_path: Path, recorded_steps: dict[str, set[str]]
) -> None:
    view = Recording(load_config(cwd=make_project(tmp_path)), "", lambda: "site", recorded_steps)
    assert view.url is None
    assert view.environments[0].name == "main"
    assert recorded_steps == {"site": {"url", "environments[].name"}}
