"""The site configuration: one typed model, loaded from TOML and validated in one pass.

Sources, first found wins: ``--config FILE``; ``lite-build.toml`` in the current folder;
``[tool.lite-build]`` in ``pyproject.toml`` in the current folder. Relative paths resolve
against the folder of the file they were written in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from jupyterlite_pyodide_kernel.constants import PYODIDE_VERSION

#: the work folder (incremental state) lives next to the config file
WORK_DIR_NAME = ".lite-build"
DEFAULT_OUTPUT = "_output"
DEFAULT_ENVIRONMENT_NAME = "python"
DEFAULT_DISPLAY_NAME = "Python (Pyodide)"


@dataclass(frozen=True)
class Environment:
    """One Python environment: becomes one kernel of the site."""

    name: str
    display_name: str
    #: PEP 508 requirement strings, as written by the user
    packages: tuple[str, ...] = ()
    #: package names (from ``packages``) imported when the kernel starts
    preload: tuple[str, ...] = ()


@dataclass(frozen=True)
class PyodideSettings:
    version: str = PYODIDE_VERSION
    #: a local Pyodide folder or tarball used instead of the npm registry (``--pyodide``)
    path: Path | None = None


@dataclass(frozen=True)
class SiteConfig:
    #: the folder relative paths resolve against (the config file's folder)
    root: Path
    #: where the configuration was read from, for messages (None: built-in defaults)
    config_file: Path | None
    title: str = "lite-build"
    content: tuple[Path, ...] = ()
    overrides: Path | None = None
    output: Path = field(default_factory=lambda: Path(DEFAULT_OUTPUT))
    offline: bool = True
    #: ship JavaScript source maps (large; off by default)
    source_maps: bool = False
    pyodide: PyodideSettings = field(default_factory=PyodideSettings)
    environments: tuple[Environment, ...] = ()

    @property
    def work_dir(self) -> Path:
        return self.root / WORK_DIR_NAME
