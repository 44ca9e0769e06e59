"""The default distribution's notebooks and settings: valid, runnable offline, browser-testable.

Browser tests run every notebook and wait for the ``DONE NN`` line of its last code cell, and
answer the one ``input()`` cell; these offline checks keep the notebooks fit for that.
"""

from __future__ import annotations

import ast
import csv
import json
import re
import sys
import tarfile
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTENT = ROOT / "content"
NOTEBOOKS = sorted(
    path for path in CONTENT.rglob("*.ipynb") if ".ipynb_checkpoints" not in path.parts
)
OVERRIDES = {
    "site": ROOT / "overrides" / "overrides.json",
    "init-template": ROOT / "lite_build" / "templates" / "project" / "overrides" / "overrides.json",
}
INPUT_CELL_START = "name = input("
#: modules every kernel has besides the standard library
KERNEL_MODULES = {"IPython"}


def _ids(paths: list[Path]) -> list[str]:
    return [path.name for path in paths]


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=nbformat.NO_CONVERT)


def _code_cells(path: Path) -> list[nbformat.NotebookNode]:
    return [cell for cell in _read(path).cells if cell.cell_type == "code"]


def _environments() -> list[dict[str, Any]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    environments: list[dict[str, Any]] = config["tool"]["lite-build"]["environments"]
    return environments


def _packages_of(kernel: str) -> set[str]:
    """What the notebook's own environment ships: another environment's packages are absent."""
    return {
        package
        for environment in _environments()
        if environment["name"] == kernel
        for package in environment.get("packages", [])
    }


@pytest.fixture(scope="module")
def shipped_schemas() -> dict[str, dict[str, Any]]:
    """Plugin id -> settings schema, as shipped in the installed JupyterLite app tarball."""
    from jupyterlite_core.constants import ALL_APP_ARCHIVES

    archives = [path for path in ALL_APP_ARCHIVES if path.name.startswith("jupyterlite-app-")]
    assert archives, "jupyterlite-core ships no jupyterlite-app-*.tgz"
    with tarfile.open(archives[-1], "r:gz") as tar:
        member = tar.getmember("package/build/schemas/all.json")
        stream = tar.extractfile(member)
        assert stream is not None
        entries = json.load(stream)
    return {entry["id"]: entry["schema"] for entry in entries}


def test_content_has_the_numbered_notebooks() -> None:
    assert [path.name[:3] for path in NOTEBOOKS] == [f"0{n}-" for n in range(1, 8)]
    assert (CONTENT / "README.md").is_file()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_is_valid_nbformat_4_5(path: Path) -> None:
    notebook = _read(path)
    nbformat.validate(notebook)
    assert (notebook.nbformat, notebook.nbformat_minor) >= (4, 5)
    assert all(cell.get("id") for cell in notebook.cells)
    kernelspec = notebook.metadata.kernelspec
    environments = {env["name"]: env for env in _environments()}
    assert kernelspec.name in environments, "the notebook must open with one of the site's kernels"
    assert kernelspec.display_name == environments[kernelspec.name]["display-name"]
    assert kernelspec.language == "python"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_starts_with_a_title(path: Path) -> None:
    first = _read(path).cells[0]
    assert first.cell_type == "markdown"
    assert first.source.startswith("# ")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_has_no_stored_outputs(path: Path) -> None:
    for cell in _code_cells(path):
        assert cell.outputs == [], cell.id
        assert cell.execution_count is None, cell.id


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_last_code_cell_prints_done(path: Path) -> None:
    number = path.name[:2]
    cells = _code_cells(path)
    done = re.compile(r"""print\(\s*["']DONE (\d\d)\b""")
    last = done.search(cells[-1].source)
    assert last is not None, "the last code cell must print 'DONE NN'"
    assert last.group(1) == number
    assert not any(done.search(cell.source) for cell in cells[:-1])


def test_exactly_one_cell_asks_for_input() -> None:
    asking = [
        (path.name, cell.id)
        for path in NOTEBOOKS
        for cell in _code_cells(path)
        if "input(" in cell.source
    ]
    assert len(asking) == 1
    name, cell_id = asking[0]
    assert name == "03-input.ipynb"
    (cell,) = [cell for cell in _code_cells(CONTENT / name) if cell.id == cell_id]
    assert cell.source.startswith(INPUT_CELL_START)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_imports_only_what_the_site_ships(path: Path) -> None:
    """Offline, only the standard library, the kernel and the site's own packages exist."""
    kernel = _read(path).metadata.kernelspec.name
    available = set(sys.stdlib_module_names) | KERNEL_MODULES | _packages_of(kernel)
    for cell in _code_cells(path):
        # IPython magics (``%pip``) are not Python syntax
        code = "\n".join(line for line in cell.source.splitlines() if not line.startswith("%"))
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules = [node.module]
            else:
                continue
            for module in modules:
                assert module.partition(".")[0] in available, f"{cell.id}: import {module}"


def test_weather_data_is_a_small_table() -> None:
    with (CONTENT / "data" / "weather.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert 10 <= len(rows) <= 20
    for row in rows:
        assert float(row["min_temp_c"]) <= float(row["max_temp_c"])
        assert float(row["rain_mm"]) >= 0


@pytest.mark.parametrize("name", sorted(OVERRIDES))
def test_overrides_match_the_shipped_settings_schemas(
    name: str, shipped_schemas: dict[str, dict[str, Any]]
) -> None:
    overrides = json.loads(OVERRIDES[name].read_text(encoding="utf-8"))
    assert overrides, "an empty overrides.json is pointless"
    for plugin_id, defaults in overrides.items():
        assert plugin_id in shipped_schemas, f"no plugin {plugin_id} in JupyterLite"
        schema = shipped_schemas[plugin_id]
        for setting in defaults:
            # JupyterLite sets schema.properties[setting].default in the browser: an unknown
            # setting breaks the whole settings registry there
            assert setting in schema.get("properties", {}), f"{plugin_id}: no setting {setting}"
        # the same check `jupyter lite build` makes on settingsOverrides
        jsonschema.Draft7Validator(schema).validate(defaults)
