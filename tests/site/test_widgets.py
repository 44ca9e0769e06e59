"""The widget manager ships exactly when an environment has ipywidgets."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from lite_build.config import load_config
from lite_build.errors import LiteBuildError
from lite_build.pipeline import build
from lite_build.site import widgets
from lite_build.site.jupyterlite import has_stale_extensions, jupyter_lite_build_config
from lite_build.site.widgets import (
    WIDGETS_EXTENSION,
    environments_with_widgets,
    installed_manager_version,
    widgets_extension_dir,
)
from tests.pipeline.test_build import make_project


def _package(name: str, version: str) -> dict[str, Any]:
    return {"name": name, "version": version, "filename": f"{name}-{version}.whl", "size": 1}


def test_environments_with_ipywidgets_are_found_by_canonical_name() -> None:
    packages = {
        "python": [_package("attrs", "26.1.0")],
        "widgets": [_package("IPyWidgets", "8.1.9"), _package("traitlets", "5.14.3")],
        "more": [_package("ipywidgets", "8.0.0")],
    }
    assert environments_with_widgets(packages) == ["widgets", "more"]


def test_no_ipywidgets_means_no_widget_manager() -> None:
    packages = {"python": [_package("attrs", "26.1.0"), _package("jupyterlab-widgets", "3.0.17")]}
    assert environments_with_widgets(packages) == []


def test_ipywidgets_7_is_an_error_naming_the_environment_and_the_fix() -> None:
    packages = {"old": [_package("ipywidgets", "7.8.5")], "new": [_package("ipywidgets", "8.1.9")]}
    with pytest.raises(LiteBuildError) as error:
        environments_with_widgets(packages)
    assert str(error.value) == (
        "environment 'old': ipywidgets 7.8.5 cannot be displayed by the site's widget manager "
        "(JupyterLab 4's jupyterlab_widgets 3, for ipywidgets 8); ask for "
        '"ipywidgets>=8,<9" in its packages'
    )


def test_the_installed_widget_manager_is_found() -> None:
    folder = widgets_extension_dir()
    package = json.loads((folder / "package.json").read_text(encoding="utf-8"))
    assert package["name"] == WIDGETS_EXTENSION
    assert package["jupyterlab"]["_build"]["load"].startswith("static/remoteEntry.")
    assert installed_manager_version().startswith("3.")


def test_a_missing_widget_manager_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    def not_installed(name: str) -> Any:
        raise widgets.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(widgets.metadata, "distribution", not_installed)
    with pytest.raises(LiteBuildError) as error:
        widgets_extension_dir()
    assert str(error.value) == (
        "ipywidgets needs the widget manager (@jupyter-widgets/jupyterlab-manager), from the "
        "Python package jupyterlab_widgets, which is not installed here; install it: "
        'pip install "jupyterlab_widgets>=3,<4"'
    )


def test_a_widget_manager_without_its_extension_files_is_an_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    installed = SimpleNamespace(version="3.0.17", files=[])
    monkeypatch.setattr(widgets.metadata, "distribution", lambda name: installed)
    monkeypatch.setattr(widgets, "jupyter_path", lambda *parts: [str(tmp_path)])
    with pytest.raises(LiteBuildError) as error:
        widgets_extension_dir()
    assert str(error.value) == (
        "jupyterlab_widgets 3.0.17 is installed, but its JupyterLab extension "
        "@jupyter-widgets/jupyterlab-manager is not (looked in share/jupyter/labextensions of "
        "its installation and of Jupyter's paths); reinstall it: "
        'pip install --force-reinstall "jupyterlab_widgets>=3,<4"'
    )


def test_a_widget_manager_for_another_jupyterlab_is_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    installed = SimpleNamespace(version="1.1.7", files=[])
    monkeypatch.setattr(widgets.metadata, "distribution", lambda name: installed)
    with pytest.raises(LiteBuildError) as error:
        widgets_extension_dir()
    assert str(error.value) == (
        "jupyterlab_widgets 1.1.7 is installed, but this JupyterLab needs "
        'jupyterlab_widgets>=3,<4; install it: pip install "jupyterlab_widgets>=3,<4"'
    )


def test_the_app_config_lists_extra_extensions_after_the_kernels(tmp_path: Path) -> None:
    config = jupyter_lite_build_config(
        content_dir=tmp_path / "content",
        app_dir=tmp_path / "app",
        kernel_extension=tmp_path / "kernel",
        environments_extension=tmp_path / "environments",
        extra_extensions=[tmp_path / "widgets"],
        source_maps=False,
        source_date_epoch=None,
    )["LiteBuildConfig"]
    assert config["federated_extensions"] == [
        str(tmp_path / name) for name in ("kernel", "environments", "widgets")
    ]
    assert config["ignore_sys_prefix"] == ["federated_extensions"]


def _extension(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "package.json").write_text(json.dumps({"name": name}), encoding="utf-8")
    return folder


def test_an_extension_no_longer_shipped_is_stale(tmp_path: Path) -> None:
    kernel = _extension(tmp_path / "src" / "kernel", "@jupyterlite/pyodide-kernel-extension")
    manager = _extension(tmp_path / "src" / "manager", WIDGETS_EXTENSION)
    app = tmp_path / "app"
    assert not has_stale_extensions(app, [kernel])  # nothing built yet
    _extension(app / "extensions" / "@jupyterlite" / "pyodide-kernel-extension", "k")
    assert not has_stale_extensions(app, [kernel])
    _extension(app / "extensions" / WIDGETS_EXTENSION, "m")
    assert has_stale_extensions(app, [kernel])
    assert not has_stale_extensions(app, [kernel, manager])


@pytest.mark.integration
def test_the_widget_manager_ships_only_while_an_environment_has_ipywidgets(
    tmp_path: Path,
) -> None:
    root = make_project(tmp_path, packages='["ipywidgets"]')
    build(load_config(cwd=root))
    site = root / "_output"
    manager = site / "extensions" / WIDGETS_EXTENSION
    package = json.loads((manager / "package.json").read_text(encoding="utf-8"))
    assert (manager / package["jupyterlab"]["_build"]["load"]).is_file()
    lite = json.loads((site / "jupyter-lite.json").read_text(encoding="utf-8"))
    shipped = {e["name"] for e in lite["jupyter-config-data"]["federated_extensions"]}
    assert WIDGETS_EXTENSION in shipped
    lock = json.loads(
        (site / "static" / "environments" / "python" / "pyodide-lock.json").read_text("utf-8")
    )
    assert lock["packages"]["ipywidgets"]["version"].startswith("8.")
    # the kernel extension's shim stands in for widgetsnbextension (the classic notebook's JS)
    assert "widgetsnbextension" not in lock["packages"]
    assert "widgetsnbextension" not in lock["packages"]["ipywidgets"]["depends"]

    config = root / "lite-build.toml"
    config.write_text(config.read_text().replace('["ipywidgets"]', '["attrs"]'))
    build(load_config(cwd=root))
    assert not (site / "extensions" / "@jupyter-widgets").exists()
    lite = json.loads((site / "jupyter-lite.json").read_text(encoding="utf-8"))
    shipped = {e["name"] for e in lite["jupyter-config-data"]["federated_extensions"]}
    assert WIDGETS_EXTENSION not in shipped
