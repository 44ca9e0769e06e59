"""The package's own files: the browser scripts built from extension/ and their protocol."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from lite_build.resources import BROWSER, PACKAGE, browser_protocol, browser_script
from lite_build.site.precache import PRECACHE_GLOBAL, PRECACHE_TEMPLATE

PROTOCOL_TS = Path(__file__).resolve().parents[1] / "extension" / "src" / "protocol.ts"
#: what lite-build reads from lite_build/browser/, each built from extension/src/standalone/
SCRIPTS = (
    "prestart-page.js",
    "precache-worker.js",
    "wait-async-shim.js",
    "embed-page.js",
    "check-harness.js",
)


@pytest.mark.parametrize("name", SCRIPTS)
def test_each_browser_script_is_built_and_imports_nothing(name: str) -> None:
    text = browser_script(name)
    assert text.strip(), f"{BROWSER / name} is empty: run scripts/setup.sh"
    assert not re.search(r"^\s*(import|export)\b", text, re.MULTILINE)


def test_pythons_protocol_is_the_one_in_protocol_ts() -> None:
    """protocol.json is written from protocol.ts at build time: this fails when it is stale."""
    source = PROTOCOL_TS.read_text(encoding="utf-8")
    messages = source[source.index("export const MESSAGE = {") : source.index("} as const;")]
    assert browser_protocol() == {
        "MESSAGE": dict(re.findall(r"^  (\w+): '([^']+)',$", messages, re.MULTILINE)),
        "CACHE_PREFIX": re.findall(r"^export const CACHE_PREFIX = '(.+)';$", source, re.M)[0],
        "PRECACHE_GLOBAL": re.findall(r"^export const PRECACHE_GLOBAL = '(.+)';$", source, re.M)[0],
    }


def test_the_scripts_hold_what_python_fills_in() -> None:
    # the page scripts' placeholders: one each, replaced as a whole
    assert browser_script("prestart-page.js").count("SETTINGS") == 1
    assert browser_script("embed-page.js").count("SITE_TOKEN") == 1
    # the service worker reads its file list from the global lite-build sets
    assert f'"{PRECACHE_GLOBAL}"' in PRECACHE_TEMPLATE.read_text(encoding="utf-8")
    # the check harness is one function expression: Playwright calls it with a request
    code = [line for line in browser_script("check-harness.js").splitlines() if line.strip()]
    code = [line for line in code if not line.startswith("//")]
    assert code[0].startswith("((request) =>") and code[-1] == "});"


def _patterns(tree: ast.AST) -> set[int]:
    """The ids of the string constants given to ``re.compile``: patterns that find JupyterLite's
    own code to patch (site/patches.py), which read JavaScript and ship none."""
    return {
        id(argument)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "compile"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "re"
        for argument in node.args[:1]
    }


def test_no_javascript_is_written_in_python_strings() -> None:
    """Browser code lives in extension/src/ (see CONTRIBUTING.md), where it is type checked."""
    looks_like_javascript = re.compile(
        r"=>|\bfunction\s*\(|\bwindow\.|\bdocument\.|addEventListener\("
    )
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        patterns = _patterns(tree)
        found += [
            f"{path.relative_to(PACKAGE)}:{node.lineno}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in patterns
            and looks_like_javascript.search(node.value)
        ]
    assert found == []
