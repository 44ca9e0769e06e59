"""Integration: what ``isolated``, ``bytecode``, ``source-maps`` and an environment's ``logo``
change in a built site. One small project sets all four and is built once; the repository's
default site (none of them set) is the comparison."""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from lite_build.config import load_config
from lite_build.pipeline import build
from tests.conftest import RecordingReporter

pytestmark = pytest.mark.integration

CONFIG = """\
title = "Options"
content = ["content"]
isolated = true
bytecode = true
source-maps = true
# the snapshot is not what this module is about: a faster build
snapshot = false

[[environments]]
name = "python"
display-name = "Python (options)"
packages = ["attrs"]
logo = "art/Badge.SVG"
"""
LOGO = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
    '<circle cx="5" cy="5" r="4" fill="teal"/></svg>\n'
)
NOTEBOOK = {
    "cells": [
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "import-attrs",
            "metadata": {},
            "outputs": [],
            "source": "import attrs",
        }
    ],
    "metadata": {},
    "nbformat": 4,
    "nbformat_minor": 5,
}
KERNELS_PLUGIN = "@lite-build/environments-extension:kernels"


@dataclass
class Built:
    site: Path
    #: what the build told the user
    messages: list[str]


@pytest.fixture(scope="module")
def options_site(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("options")
    (root / "content").mkdir()
    (root / "art").mkdir()
    (root / "art" / "Badge.SVG").write_text(LOGO)
    (root / "content" / "lesson.ipynb").write_text(json.dumps(NOTEBOOK))
    (root / "lite-build.toml").write_text(CONFIG)
    reporter = RecordingReporter()
    result = build(load_config(cwd=root), reporter=reporter)
    return Built(result.output, reporter.messages)


def kernels(site: Path) -> list[dict[str, object]]:
    config = json.loads((site / "jupyter-lite.json").read_text())
    found: list[dict[str, object]] = config["jupyter-config-data"]["litePluginSettings"][
        KERNELS_PLUGIN
    ]["kernels"]
    return found


def wheel_names(site: Path, package: str) -> list[str]:
    [wheel] = (site / "static" / "wheels").glob(f"{package}-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def test_isolated_writes_the_isolation_headers_for_static_hosts(
    options_site: Built, default_site: Path
) -> None:
    assert (options_site.site / "_headers").read_text() == (
        "# Read by Netlify and Cloudflare Pages; other hosts ignore it. Written by lite-build.\n"
        "/*\n"
        "  Cache-Control: no-cache\n"
        "  X-Content-Type-Options: nosniff\n"
        "  Cross-Origin-Opener-Policy: same-origin\n"
        "  Cross-Origin-Embedder-Policy: require-corp\n"
        "  Cross-Origin-Resource-Policy: same-origin\n"
    )
    assert (default_site / "_headers").read_text() == (
        "# Read by Netlify and Cloudflare Pages; other hosts ignore it. Written by lite-build.\n"
        "/*\n"
        "  Cache-Control: no-cache\n"
        "  X-Content-Type-Options: nosniff\n"
    )


def test_bytecode_ships_wheels_with_compiled_modules_and_locks_their_hash(
    options_site: Built, default_site: Path
) -> None:
    # without Node.js the build would ship the wheels as they are, and say so
    assert not [m for m in options_site.messages if "without precompiled bytecode" in m]
    compiled = wheel_names(options_site.site, "attrs")
    assert "attr/__pycache__/_make.cpython-314.pyc" in compiled
    # every module, each next to its source
    modules = [name for name in compiled if name.endswith(".py")]
    assert len(modules) > 10
    for module in modules:
        folder, _, stem = module[: -len(".py")].rpartition("/")
        assert f"{folder}/__pycache__/{stem}.cpython-314.pyc" in compiled
    assert not [name for name in wheel_names(default_site, "attrs") if name.endswith(".pyc")]

    # the environment's lock names the compiled wheel, not PyPI's
    [wheel] = (options_site.site / "static" / "wheels").glob("attrs-*.whl")
    lock_file = options_site.site / "static" / "environments" / "python" / "pyodide-lock.json"
    locked = json.loads(lock_file.read_text())["packages"]["attrs"]
    assert locked["file_name"] == f"../../wheels/{wheel.name}"
    assert locked["sha256"] == hashlib.sha256(wheel.read_bytes()).hexdigest()


def test_source_maps_ship_only_when_asked_for(options_site: Built, default_site: Path) -> None:
    site = options_site.site
    maps = {path.relative_to(site).as_posix() for path in site.rglob("*.map")}
    assert {"build/lab/bundle.js.map", "build/notebooks/bundle.js.map"} <= maps
    assert list(default_site.rglob("*.map")) == []


def test_a_logo_is_copied_into_its_environment_and_named_by_its_kernel(
    options_site: Built, default_site: Path
) -> None:
    logo = options_site.site / "static" / "environments" / "python" / "logo.svg"
    assert logo.read_text() == LOGO
    [kernel] = kernels(options_site.site)
    assert kernel["logo"] == "./static/environments/python/logo.svg"
    assert all("logo" not in kernel for kernel in kernels(default_site))
