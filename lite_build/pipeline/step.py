"""What a build step is: a named piece of work that declares everything it reads.

A step declares the configuration options it reads (:attr:`Step.options`, as the reference names
them), the files it reads (:meth:`Step.inputs`), the code and tool versions its output depends on
(:meth:`Step.code`), and the files it makes (:meth:`Step.targets`). The pipeline turns those
declarations into doit's dependencies, so a step runs again exactly when something it declared
changed; tests/pipeline/test_build_inputs.py checks that every option is declared by a step (or
listed in :data:`lite_build.pipeline.NOT_BUILD_INPUTS`) and that a step reads nothing else.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from lite_build.config import SiteConfig, option_value
from lite_build.kernel.runtime import PyodideRuntime
from lite_build.ui import Reporter


@dataclass(frozen=True)
class Work:
    """The build's work folder (``.lite-build/`` next to the configuration): what steps hand on
    to the next, and doit's state."""

    root: Path

    @property
    def runtime_json(self) -> Path:
        """The runtime step's result: the runtime's version and its files in the cache."""
        return self.root / "runtime.json"

    def packages_dir(self, environment: str) -> Path:
        """The packages step's result for one environment (see kernel/environments.py)."""
        return self.root / "packages" / environment

    @property
    def lite_dir(self) -> Path:
        """The folder jupyterlite-core builds from: its configuration files."""
        return self.root / "lite"

    @property
    def content_dir(self) -> Path:
        """The content as the app step hands it to jupyterlite-core."""
        return self.root / "content"

    @property
    def app_dir(self) -> Path:
        """jupyterlite-core's output, kept between builds (it is incremental on its own)."""
        return self.root / "app"

    @property
    def app_stamp(self) -> Path:
        """The app step's result as doit sees it: every file of the app with size and time."""
        return self.root / "app.json"

    @property
    def doit_state(self) -> Path:
        return self.root / "doit.json"

    def runtime(self) -> PyodideRuntime:
        """The runtime the runtime step fetched."""
        info = json.loads(self.runtime_json.read_text(encoding="utf-8"))
        folder = Path(info["folder"])
        lock = json.loads((folder / "pyodide-lock.json").read_text(encoding="utf-8"))
        return PyodideRuntime(version=info["version"], folder=folder, lock=lock)


class Step(ABC):
    """One build step. Subclasses set :attr:`name`, :attr:`options` and implement :meth:`run`."""

    #: the step's name, as progress output and doit show it
    name: ClassVar[str]
    #: the configuration options the step reads, as the reference names them
    options: ClassVar[tuple[str, ...]]

    def __init__(self, config: SiteConfig, work: Work, reporter: Reporter, verbose: bool) -> None:
        self.config = config
        self.work = work
        self.reporter = reporter
        self.verbose = verbose

    def describe(self) -> str:
        """One line on what the step makes."""
        return self.name

    def inputs(self) -> list[Path]:
        """The files the step reads (doit compares their content)."""
        return []

    def code(self) -> dict[str, object]:
        """Code and tool versions the step's output depends on, beyond its options and inputs."""
        return {}

    @abstractmethod
    def targets(self) -> list[Path]:
        """The files the step makes."""

    def present(self) -> bool:
        """Whether what the step made is still there (files it refers to outside the work
        folder, such as cached downloads, may have been removed)."""
        return True

    def options_read(self) -> dict[str, object]:
        """The values of the options the step reads: the configuration part of its signature."""
        return {f"option {name}": option_value(self.config, name) for name in self.options}

    @abstractmethod
    def run(self) -> None:
        """Do the step's work (its inputs are in place: earlier steps have run)."""
