"""Running the steps with doit: each step's declarations become its doit task.

doit decides which steps are up to date (state in ``.lite-build/doit.json`` next to the config):
a step runs again when an option it reads, a file it reads, or the code it declares changes, or
when its targets are missing.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from doit.cmd_base import TaskLoader2
from doit.doit_cmd import DoitMain
from doit.task import Task, dict_to_task
from doit.tools import config_changed

from lite_build.cache import cache_dir
from lite_build.config import SiteConfig
from lite_build.errors import LiteBuildError
from lite_build.files import exclusive
from lite_build.kernel.environments import EnvironmentPackages, load_environment_packages
from lite_build.pipeline.app import AppStep
from lite_build.pipeline.imports import ImportsStep
from lite_build.pipeline.packages import PackagesStep
from lite_build.pipeline.runtime import RuntimeStep
from lite_build.pipeline.site import SiteStep
from lite_build.pipeline.step import Step, Work
from lite_build.site.publish import (
    check_output_replaceable,
    recover_interrupted_publish,
    site_folder,
    site_size,
)
from lite_build.ui import NullReporter, Reporter

log = logging.getLogger("lite_build")

#: in the project's work folder: held by the build running there
BUILD_LOCK = "build.lock"

#: the steps, in the order they run
STEPS: tuple[type[Step], ...] = (RuntimeStep, PackagesStep, ImportsStep, AppStep, SiteStep)


@dataclass
class BuildResult:
    output: Path
    #: steps (doit task names) that ran, and those that were up to date
    ran: list[str] = field(default_factory=list)
    up_to_date: list[str] = field(default_factory=list)
    seconds: float = 0.0
    size: int = 0
    environments: list[EnvironmentPackages] = field(default_factory=list)


def build(
    config: SiteConfig, *, reporter: Reporter | None = None, verbose: bool = False
) -> BuildResult:
    """Build the site described by ``config`` into ``config.output``."""
    started = time.perf_counter()
    reporter = reporter or NullReporter()
    with build_locks(config):
        recover_interrupted_publish(config.output)
        check_output_replaceable(config.output)
        pipeline = Pipeline(config, reporter, verbose)
        result = pipeline.run()
    result.seconds = time.perf_counter() - started
    result.size = site_size(config.output)
    result.environments = [
        load_environment_packages(pipeline.work.packages_dir(env.name))
        for env in config.environments
    ]
    return result


@contextmanager
def build_locks(config: SiteConfig) -> Iterator[None]:
    """One build at a time per project (its work folder: doit's state, the steps' files) and
    per output (another project may publish there): a second one stops, naming the first."""
    output = site_folder(config.output).absolute()
    output_key = hashlib.sha256(str(output).encode()).hexdigest()[:16]
    with (
        exclusive(config.work_dir / BUILD_LOCK, what=f"this project ({config.root})"),
        exclusive(cache_dir() / "locks" / f"output-{output_key}.lock", what=f"into {output}"),
    ):
        yield


class Pipeline:
    """The steps of one build, as doit tasks."""

    def __init__(self, config: SiteConfig, reporter: Reporter, verbose: bool) -> None:
        self.config = config
        self.reporter = reporter
        self.work = Work(config.work_dir)
        self.steps = [step(config, self.work, reporter, verbose) for step in STEPS]
        self.error: BaseException | None = None
        self.ran: list[str] = []
        self.up_to_date: list[str] = []

    def tasks(self) -> list[dict[str, Any]]:
        return [
            {
                "name": step.name,
                "doc": step.describe(),
                "actions": [self._step(step.name, step.run)],
                "file_dep": step.inputs(),
                "targets": step.targets(),
                "uptodate": [
                    config_changed({**step.options_read(), **step.code()}),
                    step.present,
                ],
                "verbosity": 2,
            }
            for step in self.steps
        ]

    def _step(self, name: str, action: Callable[[], None]) -> Callable[[], bool]:
        """Run ``action`` as a timed step; keep its error for :meth:`run` to raise."""

        def run_step() -> bool:
            try:
                with self.reporter.step(name):
                    action()
            except BaseException as error:  # re-raised by run(), outside doit
                self.error = error
                return False
            return True

        run_step.__name__ = f"step_{name}"
        return run_step

    def run(self) -> BuildResult:
        self.work.root.mkdir(parents=True, exist_ok=True)
        code = DoitMain(_Loader(self), config_filenames=()).run(["run"])
        if self.error is not None:
            raise self.error
        if code != 0:
            raise LiteBuildError(
                f"the build stopped (doit exit code {code}); run with -v for details"
            )
        return BuildResult(self.config.output, list(self.ran), list(self.up_to_date))


class _Loader(TaskLoader2):  # type: ignore[misc]
    def __init__(self, pipeline: Pipeline) -> None:
        super().__init__()
        self.pipeline = pipeline

    def setup(self, opt_values: dict[str, Any]) -> None:
        pass

    def load_doit_config(self) -> dict[str, Any]:
        pipeline = self.pipeline

        class Recorder(_SilentReporter):
            def execute_task(self, task: Task) -> None:
                pipeline.ran.append(task.name)

            def skip_uptodate(self, task: Task) -> None:
                pipeline.up_to_date.append(task.name)
                log.debug("%s: up to date", task.name)

        return {
            "dep_file": str(pipeline.work.doit_state),
            "backend": "json",
            "reporter": Recorder,
            "check_file_uptodate": "md5",
        }

    def load_tasks(self, cmd: Any, pos_args: list[str]) -> list[Task]:
        return [dict_to_task(task) for task in self.pipeline.tasks()]


class _SilentReporter:
    """doit reporter interface; progress is shown by our own Reporter instead."""

    desc = "silent"

    def __init__(self, outstream: Any, options: Any) -> None:
        pass

    def initialize(self, tasks: Any, selected_tasks: Any) -> None: ...
    def get_status(self, task: Task) -> None: ...
    def execute_task(self, task: Task) -> None: ...
    def add_failure(self, task: Task, fail: Any) -> None: ...
    def add_success(self, task: Task) -> None: ...
    def skip_uptodate(self, task: Task) -> None: ...
    def skip_ignore(self, task: Task) -> None: ...
    def cleanup_error(self, exception: Any) -> None: ...
    def runtime_error(self, msg: str) -> None:
        log.error("%s", msg)

    def teardown_task(self, task: Task) -> None: ...
    def complete_run(self) -> None: ...
