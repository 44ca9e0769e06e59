"""Jupyter widgets (ipywidgets): the browser's widget manager ships when a kernel can use it.

The Python side is an ordinary package: ``ipywidgets`` in an environment's ``packages`` resolves
from PyPI (pure wheels; ``widgetsnbextension`` is a shim the kernel extension brings). The
browser side is the federated JupyterLab extension ``@jupyter-widgets/jupyterlab-manager`` from
the ``jupyterlab_widgets`` Python package, which lite-build depends on. JupyterLab loads part of
it on every start, so a site ships it only when some environment's packages include ipywidgets.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_core.paths import jupyter_path
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from lite_build.errors import LiteBuildError

if TYPE_CHECKING:
    from lite_build.kernel.environments import EnvironmentPackages

log = logging.getLogger("lite_build")

WIDGETS_PACKAGE = "ipywidgets"
#: the JupyterLab extension, and the Python distribution that installs it
WIDGETS_EXTENSION = "@jupyter-widgets/jupyterlab-manager"
WIDGETS_DISTRIBUTION = "jupyterlab_widgets"
#: jupyterlab_widgets 3 (for JupyterLab 4) registers the widget models of ipywidgets 8 only
#: (controls 2.0.0); ipywidgets 7's models (controls 1.5.0) would fail to render
MANAGER_RANGE = ">=3,<4"
IPYWIDGETS_RANGE = ">=8,<9"
INSTALL_HINT = f'pip install "{WIDGETS_DISTRIBUTION}{MANAGER_RANGE}"'
REINSTALL_HINT = f'pip install --force-reinstall "{WIDGETS_DISTRIBUTION}{MANAGER_RANGE}"'


def environments_with_widgets(packages: Mapping[str, Iterable[Mapping[str, Any]]]) -> list[str]:
    """The environments whose resolved packages include ipywidgets, in the given order.

    ``packages`` maps an environment's name to its resolved packages (``name``, ``version``).
    An ipywidgets the shipped manager cannot display is an error naming the environment.
    """
    using = []
    problems = []
    for environment, resolved in packages.items():
        for package in resolved:
            if canonicalize_name(str(package["name"])) != WIDGETS_PACKAGE:
                continue
            using.append(environment)
            version = str(package["version"])
            if not _is_supported(version):
                problems.append(
                    f"environment {environment!r}: ipywidgets {version} cannot be displayed by "
                    f"the site's widget manager (JupyterLab 4's {WIDGETS_DISTRIBUTION} 3, for "
                    f'ipywidgets 8); ask for "ipywidgets{IPYWIDGETS_RANGE}" in its packages'
                )
    if problems:
        raise LiteBuildError("\n".join(problems))
    return using


def _is_supported(version: str) -> bool:
    try:
        return Version(version) in SpecifierSet(IPYWIDGETS_RANGE)
    except InvalidVersion:
        return False


def widgets_extension_dir() -> Path:
    """The installed widget manager's labextension folder (it has ``package.json``)."""
    try:
        distribution = metadata.distribution(WIDGETS_DISTRIBUTION)
    except metadata.PackageNotFoundError as error:
        raise LiteBuildError(
            f"ipywidgets needs the widget manager ({WIDGETS_EXTENSION}), from the Python package "
            f"{WIDGETS_DISTRIBUTION}, which is not installed here; install it: {INSTALL_HINT}"
        ) from error
    if Version(distribution.version) not in SpecifierSet(MANAGER_RANGE):
        raise LiteBuildError(
            f"{WIDGETS_DISTRIBUTION} {distribution.version} is installed, but this JupyterLab "
            f"needs {WIDGETS_DISTRIBUTION}{MANAGER_RANGE}; install it: {INSTALL_HINT}"
        )
    suffix = f"share/jupyter/labextensions/{WIDGETS_EXTENSION}/package.json"
    candidates = [
        Path(str(distribution.locate_file(file))).parent
        for file in distribution.files or ()
        if file.as_posix().endswith(suffix)
    ]
    # an editable or unusual install may not list its data files: look where Jupyter would
    candidates += [Path(base) / WIDGETS_EXTENSION for base in jupyter_path("labextensions")]
    for folder in candidates:
        if (folder / "package.json").is_file() and any(folder.glob("static/remoteEntry.*.js")):
            return folder
    raise LiteBuildError(
        f"{WIDGETS_DISTRIBUTION} {distribution.version} is installed, but its JupyterLab "
        f"extension {WIDGETS_EXTENSION} is not (looked in share/jupyter/labextensions of its "
        f"installation and of Jupyter's paths); reinstall it: {REINSTALL_HINT}"
    )


def installed_manager_version() -> str:
    """The installed jupyterlab_widgets version ("" if none): a new one rebuilds the app."""
    try:
        return metadata.version(WIDGETS_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return ""


def widget_extensions(environments: dict[str, EnvironmentPackages]) -> list[Path]:
    """The widget manager's extension folder, if some environment ships ipywidgets."""
    using = environments_with_widgets({name: env.packages for name, env in environments.items()})
    if not using:
        return []
    folder = widgets_extension_dir()
    log.info("shipping the widget manager %s for environment(s) %s", folder, ", ".join(using))
    return [folder]
