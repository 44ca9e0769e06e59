"""JupyterLab's settings validation, done once at build time instead of at every page load.

As the app starts, JupyterLab's setting registry validates each plugin's settings: its
validator compiles the plugin's JSON schema with Ajv twice, for about 90 plugins, which took
about 0.9 s of a first start on a 2-CPU machine. lite-build runs that same validator at build
time, in Node.js (``composer/compose-settings.cjs``, built from
extension/src/compose-settings.ts), on what the site ships: every plugin's schema with the
site's settings overrides applied the way JupyterLite applies them, and its default raw
settings. The result lands beside JupyterLite's ``all.json``; our extension's registry uses a
plugin's result only while its schema and raw settings are exactly the build's, and validates
everything else in the browser (extension/src/settings.ts).

Without Node.js the file is not written and every page validates its settings itself, as stock
JupyterLab does.
"""

from __future__ import annotations

import difflib
import json
import logging
import subprocess
from pathlib import Path
from typing import Any

from lite_build import resources
from lite_build.errors import LiteBuildError
from lite_build.kernel.bytecode import node_executable
from lite_build.ui import NullReporter, Reporter

log = logging.getLogger(__name__)

#: the composer script, bundled by the extension's build (extension/build-composer.js)
COMPOSER = resources.COMPOSER
#: where JupyterLite keeps the settings schemas, in the app folder
SCHEMAS_DIR = Path("build") / "schemas"
SCHEMA_FILES = ("all.json", "all_federated.json")
#: the precomputed results, beside the schemas (PRECOMPUTED_FILE in extension/src/settings.ts)
PRECOMPUTED_FILE = "lite-build-settings.json"
#: the stock plugin that makes the setting registry; ours makes it instead
STOCK_SETTINGS_PLUGIN_ID = "@jupyterlab/apputils-extension:settings"
TIMEOUT = 120


def settings_plugins(app_dir: Path) -> list[dict[str, Any]]:
    """The plugins' settings entries JupyterLite ships (its all.json and all_federated.json)."""
    plugins: list[dict[str, Any]] = []
    for name in SCHEMA_FILES:
        path = app_dir / SCHEMAS_DIR / name
        if path.is_file():
            plugins.extend(json.loads(path.read_text(encoding="utf-8")))
    return plugins


def settings_overrides(app_dir: Path) -> dict[str, Any]:
    """The site's ``settingsOverrides``, as the app pages read them from jupyter-lite.json."""
    data = json.loads((app_dir / "jupyter-lite.json").read_text(encoding="utf-8"))
    overrides: dict[str, Any] = data.get("jupyter-config-data", {}).get("settingsOverrides", {})
    return overrides


def check_overrides(plugins: list[dict[str, Any]], overrides: dict[str, Any]) -> None:
    """Fail on an override of a setting its plugin does not have: JupyterLite's settings
    manager would throw on it in the browser, and no plugin of the page would get settings."""
    for plugin in plugins:
        values = overrides.get(plugin["id"], {})
        properties = plugin.get("schema", {}).get("properties") or {}
        for key in values:
            if not isinstance(properties.get(key), dict):
                close = difflib.get_close_matches(key, list(properties), n=1)
                hint = f'did you mean "{close[0]}"? ' if close else ""
                raise LiteBuildError(
                    f'settings override "{plugin["id"]}" -> "{key}": the plugin has no such '
                    f"setting ({hint}its settings: {', '.join(sorted(properties)) or 'none'}); "
                    "fix or remove it in overrides/overrides.json"
                )


def compose_settings(
    plugins: list[dict[str, Any]], overrides: dict[str, Any], node: str
) -> dict[str, Any]:
    """``{precomputed, rejected}`` from JupyterLab's validator, run by ``node``."""
    if not COMPOSER.is_file():
        raise LiteBuildError(
            f"{COMPOSER} is missing: build the extension first (cd extension && npm run build)"
        )
    completed = subprocess.run(
        [node, str(COMPOSER)],
        input=json.dumps({"plugins": plugins, "overrides": overrides}),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    if completed.returncode != 0:
        raise ValueError(completed.stderr.strip()[-2000:] or f"exit {completed.returncode}")
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


def write_precomputed_settings(app_dir: Path, *, reporter: Reporter | None = None) -> Path | None:
    """Write the precomputed settings of the app in ``app_dir``; None when they could not be
    computed (the pages then validate all settings themselves)."""
    reporter = reporter or NullReporter()
    target = app_dir / SCHEMAS_DIR / PRECOMPUTED_FILE
    target.unlink(missing_ok=True)
    plugins = settings_plugins(app_dir)
    overrides = settings_overrides(app_dir)
    check_overrides(plugins, overrides)
    node = node_executable()
    if node is None:
        reporter.info(
            "the app validates its settings at every page load (about 0.5-1 s slower to "
            "start): Node.js was not found; install Node.js 18 or newer (or set LITE_BUILD_NODE)"
        )
        return None
    try:
        result = compose_settings(plugins, overrides, node)
    except (OSError, subprocess.SubprocessError, ValueError) as error:
        reporter.info(
            "the app validates its settings at every page load (about 0.5-1 s slower to "
            f"start): validating them with Node.js failed: {error}"
        )
        return None
    for plugin, reason in sorted(result["rejected"].items()):
        # the browser's validator rejects them too (the plugin's settings fail to load there)
        reporter.info(f"settings of {plugin} are invalid; the app rejects them too: {reason}")
    # in the validator's own key order: the composites are the app's settings objects
    target.write_text(json.dumps(result["precomputed"], separators=(",", ":")), encoding="utf-8")
    log.info("settings of %d plugins validated at build time", len(result["precomputed"]))
    return target
