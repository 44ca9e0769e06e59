"""The page script that starts the kernel's runtime while the app loads."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lite_build.errors import LiteBuildError
from lite_build.kernel.snapshot import START_IMPORTS
from lite_build.site.jupyterlite import KernelSettings, jupyter_lite_json
from lite_build.site.patches import install_prestart
from lite_build.site.prestart import KERNEL_APPS, prestart_settings

STATIC = "extensions/@lite-build/environments-extension/static"


def make_site(root: Path) -> Path:
    config = jupyter_lite_json(
        "Site",
        [kernel_settings("python"), kernel_settings("data", preload=("numpy",))],
        default_kernel="python",
        offline=True,
        site_id="s",
    )
    (root / "jupyter-lite.json").write_text(json.dumps(config))
    for app in (*KERNEL_APPS, "tree"):
        (root / app).mkdir()
        (root / app / "index.html").write_text("<html><head><title>x</title></head></html>")
    (root / STATIC).mkdir(parents=True)
    (root / STATIC / "prestart.worker.0123.js").write_text("")
    (root / STATIC / "comlink.worker.4567.js").write_text("")
    (root / STATIC / "coincident.worker.89ab.js").write_text("")
    (root / "service-worker.js").write_text("")
    return root


def kernel_settings(name: str, preload: tuple[str, ...] = ()) -> KernelSettings:
    return KernelSettings(
        name=name,
        display_name=name.title(),
        piplite_index_sha256="1",
        lock_sha256="2",
        preload_packages=preload,
        env={},
    )


def test_settings_name_the_workers_the_default_kernel_and_each_environment(
    tmp_path: Path,
) -> None:
    settings = prestart_settings(make_site(tmp_path))
    assert settings == {
        "name": "python",
        "pyodideUrl": "./static/pyodide/pyodide.mjs",
        "worker": f"./{STATIC}/prestart.worker.0123.js",
        "kernel": f"./{STATIC}/comlink.worker.4567.js",
        "isolatedKernel": f"./{STATIC}/coincident.worker.89ab.js",
        "environments": {
            "python": {
                "lockFileURL": "./static/environments/python/pyodide-lock.json?sha256=2",
                "packages": [],
                "env": {},
                "liteBuildImports": list(START_IMPORTS),
            },
            "data": {
                "lockFileURL": "./static/environments/data/pyodide-lock.json?sha256=2",
                "packages": ["numpy"],
                "env": {},
                "liteBuildImports": list(START_IMPORTS),
            },
        },
        # registered early on a first visit: exactly the URL JupyterLite registers
        "serviceWorker": "./service-worker.js?enableCache=false",
    }


@pytest.mark.parametrize(("option", "flag"), [(True, "true"), ("true", "true"), (False, "false")])
def test_the_early_service_worker_url_follows_the_apps_cache_option(
    tmp_path: Path, option: object, flag: str
) -> None:
    site = make_site(tmp_path)
    config = json.loads((site / "jupyter-lite.json").read_text())
    config["jupyter-config-data"]["enableServiceWorkerCache"] = option
    (site / "jupyter-lite.json").write_text(json.dumps(config))
    assert prestart_settings(site)["serviceWorker"] == f"./service-worker.js?enableCache={flag}"
    (site / "service-worker.js").unlink()
    assert prestart_settings(site)["serviceWorker"] is None


def test_the_script_goes_first_into_each_kernel_app_once(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    changed = install_prestart(site)
    assert sorted(page.parent.name for page in changed) == sorted(KERNEL_APPS)
    assert install_prestart(site) == []  # already there
    page = (site / "repl" / "index.html").read_text()
    assert page.startswith("<html><head>\n    <script>\n      /* lite-build:prestart")
    assert page.count("lite-build:prestart --") == 1
    embedded = re.search(r"\}\)\((\{.*\})\);", page)
    assert embedded is not None
    assert json.loads(embedded.group(1)) == prestart_settings(site)
    assert "prestart" not in (site / "tree" / "index.html").read_text()


def test_a_missing_worker_file_is_reported(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    (site / STATIC / "prestart.worker.0123.js").unlink()
    with pytest.raises(LiteBuildError) as error:
        install_prestart(site)
    assert str(error.value) == (
        f"the lite-build JupyterLab extension in {site / STATIC} should hold exactly one "
        "prestart.worker.*.js file, found 0; rebuild it (scripts/setup.sh)"
    )
