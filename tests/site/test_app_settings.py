"""JupyterLab's settings validation at build time (lite_build/app_settings.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lite_build.errors import LiteBuildError
from lite_build.kernel.bytecode import node_executable
from lite_build.site.app_settings import (
    PRECOMPUTED_FILE,
    SCHEMAS_DIR,
    STOCK_SETTINGS_PLUGIN_ID,
    check_overrides,
    compose_settings,
    write_precomputed_settings,
)

PANEL: dict[str, Any] = {
    "id": "demo:panel",
    "raw": "{}",
    "version": "1.0.0",
    "settings": {},
    "schema": {
        "type": "object",
        "properties": {
            "size": {"type": "number", "default": 12},
            "theme": {"type": "string", "default": "light"},
            # nested defaults: Ajv fills them in inside the object's own default
            "layout": {
                "type": "object",
                "default": {"side": "left"},
                "properties": {
                    "side": {"type": "string"},
                    "width": {"type": "number", "default": 200},
                },
            },
            "empty": {"type": "string"},
        },
    },
}


def plugin(**changes: Any) -> dict[str, Any]:
    return json.loads(json.dumps({**PANEL, **changes}))


class Reporter:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, message: str) -> None:
        self.lines.append(message)


def node() -> str:
    found = node_executable()
    assert found, "these tests need Node.js (scripts/setup.sh installs it)"
    return found


def test_jupyterlabs_validator_fills_in_defaults_with_the_overrides_applied() -> None:
    result = compose_settings([plugin()], {"demo:panel": {"theme": "dark"}}, node())

    assert result["rejected"] == {}
    entry = result["precomputed"]["demo:panel"]
    assert entry["raw"] == "{}"
    assert entry["user"] == {}
    assert entry["composite"] == {
        "size": 12,
        "theme": "dark",
        "layout": {"side": "left", "width": 200},
    }
    # the composite keeps the validator's key order (the schema's)
    assert list(entry["composite"]) == ["size", "theme", "layout"]


def test_the_fingerprint_follows_the_schema_with_its_overrides() -> None:
    plain = compose_settings([plugin()], {}, node())["precomputed"]["demo:panel"]
    dark = compose_settings([plugin()], {"demo:panel": {"theme": "dark"}}, node())
    again = compose_settings([plugin()], {}, node())["precomputed"]["demo:panel"]

    assert plain["schema"] == again["schema"]
    assert plain["schema"] != dark["precomputed"]["demo:panel"]["schema"]


def test_user_settings_are_validated_and_invalid_ones_left_to_the_browser() -> None:
    user = plugin(raw='{\n  // a comment, as JSON5 allows\n  "size": 14\n}')
    wrong = plugin(id="demo:wrong", raw='{"size": "big"}')
    broken = plugin(id="demo:broken", raw="{size: ")

    result = compose_settings([user, wrong, broken], {}, node())

    assert result["precomputed"]["demo:panel"]["user"] == {"size": 14}
    assert result["precomputed"]["demo:panel"]["composite"]["size"] == 14
    assert set(result["rejected"]) == {"demo:wrong", "demo:broken"}
    assert "number" in result["rejected"]["demo:wrong"]


def test_an_override_of_a_setting_the_plugin_lacks_fails_the_build() -> None:
    with pytest.raises(LiteBuildError) as error:
        check_overrides([plugin()], {"demo:panel": {"them": "dark"}})
    message = str(error.value)
    assert '"demo:panel" -> "them"' in message
    assert 'did you mean "theme"?' in message
    assert "overrides/overrides.json" in message
    # other plugins' overrides are JupyterLite's business (it skips unknown plugins)
    check_overrides([plugin()], {"demo:panel": {"theme": "dark"}, "other:plugin": {"x": 1}})


def app_folder(root: Path, overrides: dict[str, Any]) -> Path:
    (root / SCHEMAS_DIR).mkdir(parents=True)
    (root / SCHEMAS_DIR / "all.json").write_text(json.dumps([plugin()]))
    (root / SCHEMAS_DIR / "all_federated.json").write_text(
        json.dumps([plugin(id="demo:federated")])
    )
    config = {"jupyter-config-data": {"settingsOverrides": overrides}}
    (root / "jupyter-lite.json").write_text(json.dumps(config))
    return root


def test_the_results_land_beside_jupyterlites_schemas(tmp_path: Path) -> None:
    app = app_folder(tmp_path, {"demo:federated": {"size": 9}})

    target = write_precomputed_settings(app)

    assert target == app / SCHEMAS_DIR / PRECOMPUTED_FILE
    assert target is not None
    written = json.loads(target.read_text())
    assert sorted(written) == ["demo:federated", "demo:panel"]
    assert written["demo:federated"]["composite"]["size"] == 9


def test_invalid_shipped_settings_are_reported_and_left_to_the_browser(tmp_path: Path) -> None:
    app = app_folder(tmp_path, {})
    (app / SCHEMAS_DIR / "all_federated.json").write_text(
        json.dumps([plugin(id="demo:federated", raw='{"size": "big"}')])
    )
    reporter = Reporter()

    target = write_precomputed_settings(app, reporter=reporter)

    assert target is not None
    assert sorted(json.loads(target.read_text())) == ["demo:panel"]
    [line] = reporter.lines
    assert line.startswith("settings of demo:federated are invalid; the app rejects them too: ")


def test_without_nodejs_the_pages_validate_their_settings_themselves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_folder(tmp_path, {})
    stale = app / SCHEMAS_DIR / PRECOMPUTED_FILE
    stale.write_text("{}")  # an earlier build's
    monkeypatch.setenv("LITE_BUILD_NODE", str(tmp_path / "no-node"))
    reporter = Reporter()

    assert write_precomputed_settings(app, reporter=reporter) is None

    assert not stale.exists()
    [line] = reporter.lines
    assert "validates its settings at every page load" in line
    assert "Node.js failed" in line


@pytest.mark.integration
def test_the_default_site_ships_every_plugins_settings_validated(default_site: Path) -> None:
    schemas = default_site / SCHEMAS_DIR
    written = json.loads((schemas / PRECOMPUTED_FILE).read_text())
    shipped = [
        entry["id"]
        for name in ("all.json", "all_federated.json")
        for entry in json.loads((schemas / name).read_text())
    ]
    config = json.loads((default_site / "jupyter-lite.json").read_text())["jupyter-config-data"]

    assert sorted(written) == sorted(shipped)
    # the site's overrides are in the defaults (lite-build's own: the notebook's line numbers)
    tracker = written["@jupyterlab/notebook-extension:tracker"]["composite"]
    assert (
        tracker["codeCellConfig"]
        == config["settingsOverrides"]["@jupyterlab/notebook-extension:tracker"]["codeCellConfig"]
    )
    # the registry that uses them replaces the stock one
    assert STOCK_SETTINGS_PLUGIN_ID in config["disabledExtensions"]
