"""``lite-build build``: the build as a straight line of named, incremental steps.

    runtime   -> the Pyodide core, from the npm registry (cached) or --pyodide
    packages  -> per environment: resolve, fetch (cached), write the lock and piplite index
    app       -> the JupyterLite app with the content and settings (jupyterlite-core)
    site      -> assemble in a staging folder, post-process, verify, swap in atomically

doit decides which steps are up to date (state in ``.lite-build/doit.json`` next to the config);
a rebuild with nothing changed runs no step, and an edited notebook re-runs only ``app`` and
``site``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from doit.cmd_base import TaskLoader2
from doit.doit_cmd import DoitMain
from doit.task import Task, dict_to_task
from doit.tools import config_changed

from lite_build import __version__
from lite_build.app_settings import COMPOSER, write_precomputed_settings
from lite_build.bytecode import FORMAT as BYTECODE_FORMAT
from lite_build.cache import sha256_of
from lite_build.compress import compress_site
from lite_build.config import SiteConfig, option_value
from lite_build.content import (
    CONTENT_VERSIONS,
    collect_content,
    content_versions,
    validate_notebooks,
)
from lite_build.embed import EMBED_PAGE, content_notebooks, default_kernel, embed_page
from lite_build.environments import (
    EnvironmentPackages,
    load_environment_packages,
    prepare_environment,
)
from lite_build.errors import LiteBuildError
from lite_build.hosting import write_hosting_files
from lite_build.kernel import (
    ENVIRONMENT_PACKAGE,
    KERNEL_START_PACKAGES,
    STARTUP_RUNNER,
    environments_extension_dir,
    ipython_dir,
    kernel_extension_dir,
)
from lite_build.packages.sources import package_inputs, site_lock, site_sources
from lite_build.precache import PRECACHE_TEMPLATE, install_precache
from lite_build.prestart import install_prestart
from lite_build.runtime import PyodideRuntime, ensure_runtime
from lite_build.site import (
    APP_JUNK,
    JUPYTER_LITE_JSON,
    PYODIDE_DIR,
    SITE_MANIFEST,
    WHEELS_DIR,
    KernelSettings,
    apply_title,
    check_output_replaceable,
    copy_tree,
    dedupe_disabled_extensions,
    environment_dir,
    has_stale_extensions,
    jupyter_lite_build_config,
    jupyter_lite_json,
    manifest,
    merged_settings,
    patch_wait_async,
    publish,
    recover_interrupted_publish,
    run_jupyterlite,
    site_size,
    staging_dirs,
    sync_tree,
    verify_site_config,
    write_json,
)
from lite_build.snapshot import FORMAT as SNAPSHOT_FORMAT
from lite_build.snapshot import SCRIPT as SNAPSHOT_SCRIPT
from lite_build.snapshot import SNAPSHOT_FILE, make_snapshot
from lite_build.ui import NullReporter, Reporter
from lite_build.widgets import (
    environments_with_widgets,
    installed_manager_version,
    widgets_extension_dir,
)

log = logging.getLogger("lite_build")

STEPS = ("runtime", "packages", "app", "site")


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
    recover_interrupted_publish(config.output)
    check_output_replaceable(config.output)
    pipeline = _Pipeline(config, reporter, verbose)
    result = pipeline.run()
    result.seconds = time.perf_counter() - started
    result.size = site_size(config.output)
    result.environments = [
        load_environment_packages(pipeline.packages_dir(env.name)) for env in config.environments
    ]
    return result


#: The configuration each build step reads, as the reference names the options: a step runs
#: again when any of them changes. Every option is here or in NOT_BUILD_INPUTS
#: (tests/test_build_inputs.py checks both, and that a step reads nothing it does not declare).
STEP_OPTIONS: dict[str, tuple[str, ...]] = {
    "runtime": ("pyodide.version", "pyodide.path"),
    "packages": (
        "environments[].name",
        "environments[].packages",
        "environments[].preload",
        "environments[].startup",
        "wheels",
        "pyodide.distribution",
        "offline",
        "bytecode",
        "snapshot",
    ),
    "app": (
        "title",
        "id",
        "content",
        "overrides",
        "offline",
        "source-maps",
        "default-kernel",
        "environments[].name",
        "environments[].display-name",
        "environments[].logo",
    ),
    "site": (
        "title",
        "content",
        "output",
        "offline",
        "isolated",
        "precache",
        "default-kernel",
        "environments[].name",
        "environments[].logo",
    ),
}
#: options no build step reads, and why
NOT_BUILD_INPUTS = {
    "url": "only `lite-build embed` reads it",
    "pyodide": "a table: its keys are the inputs",
    "environments": "an array of tables: their keys are the inputs",
}


def _options_read(config: SiteConfig, step: str) -> dict[str, object]:
    """The values of the options ``step`` reads: the configuration part of its signature."""
    return {f"option {name}": option_value(config, name) for name in STEP_OPTIONS[step]}


class _Pipeline:
    def __init__(self, config: SiteConfig, reporter: Reporter, verbose: bool) -> None:
        self.config = config
        self.reporter = reporter
        self.verbose = verbose
        self.work = config.work_dir
        self.error: BaseException | None = None
        self.ran: list[str] = []
        self.up_to_date: list[str] = []

    # -- paths in the work folder ------------------------------------------------------------
    @property
    def runtime_json(self) -> Path:
        return self.work / "runtime.json"

    def packages_dir(self, environment: str) -> Path:
        return self.work / "packages" / environment

    @property
    def lite_dir(self) -> Path:
        return self.work / "lite"

    @property
    def content_dir(self) -> Path:
        return self.work / "content"

    @property
    def app_dir(self) -> Path:
        return self.work / "app"

    @property
    def app_stamp(self) -> Path:
        return self.work / "app.json"

    # -- the steps, in order -------------------------------------------------------------------
    def tasks(self) -> list[dict[str, Any]]:
        config = self.config
        content = collect_content(config.content)
        overrides_files = (
            sorted(p for p in config.overrides.rglob("*") if p.is_file())
            if config.overrides and config.overrides.is_dir()
            else []
        )
        env_outputs = [
            self.packages_dir(env.name) / name
            for env in config.environments
            for name in ("pyodide-lock.json", "all.json", "wheels.json", SNAPSHOT_JSON)
        ]
        return [
            {
                "name": "runtime",
                "doc": f"the Pyodide {config.pyodide.version} runtime",
                "actions": [self._step("runtime", self.fetch_runtime)],
                "targets": [self.runtime_json],
                "uptodate": [
                    config_changed(_options_read(config, "runtime")),
                    self._runtime_present,
                ],
                "verbosity": 2,
            },
            {
                "name": "packages",
                "doc": "resolve and fetch each environment's packages; write its lock",
                "actions": [self._step("packages", self.prepare_packages)],
                "file_dep": [
                    self.runtime_json,
                    *package_inputs(config),
                    # the script that makes kernel snapshots (a development install changes it)
                    *([SNAPSHOT_SCRIPT] if config.snapshot else []),
                ],
                "targets": env_outputs,
                "uptodate": [
                    config_changed(
                        {
                            **_options_read(config, "packages"),
                            "lite-build": __version__,
                            # the environment wheel's code (a development install keeps its
                            # version number while this changes)
                            "environment runner": hashlib.sha256(
                                STARTUP_RUNNER.encode()
                            ).hexdigest(),
                            # what the locks hold for the kernel's start, and how wheels ship
                            "kernel start": list(KERNEL_START_PACKAGES),
                            "bytecode format": BYTECODE_FORMAT,
                            "snapshot format": SNAPSHOT_FORMAT,
                            "index": os.environ.get("LITE_BUILD_INDEX_URL", ""),
                            "lock": str(package_inputs(config)),
                        }
                    ),
                    self._wheels_present,
                ],
                "verbosity": 2,
            },
            {
                "name": "app",
                "doc": "the JupyterLite app, content and settings",
                "actions": [self._step("app", lambda: self.build_app(content))],
                "file_dep": [
                    *(item.source for item in content),
                    *overrides_files,
                    *(
                        self.packages_dir(env.name) / name
                        for env in config.environments
                        for name in ("all.json", "pyodide-lock.json", SNAPSHOT_JSON)
                    ),
                    *(env.logo for env in config.environments if env.logo),
                    environments_extension_dir() / "package.json",
                    # its workers are loaded by name, not through package.json
                    *sorted((environments_extension_dir() / "static").glob("*.worker.*.js")),
                    *([COMPOSER] if COMPOSER.is_file() else []),
                ],
                "targets": [self.app_stamp],
                "uptodate": [
                    config_changed(
                        {
                            **_options_read(config, "app"),
                            "content files": [item.site_path for item in content],
                            "overrides": [str(p) for p in overrides_files],
                            "lite-build": __version__,
                            "widget-manager": installed_manager_version(),
                            "source-date-epoch": os.environ.get("SOURCE_DATE_EPOCH", ""),
                        }
                    )
                ],
                "verbosity": 2,
            },
            {
                "name": "site",
                "doc": f"assemble, verify and publish {config.output}",
                "actions": [self._step("site", self.publish_site)],
                # the service worker's code too: a development install changes it in place
                "file_dep": [self.app_stamp, self.runtime_json, *env_outputs, PRECACHE_TEMPLATE],
                "targets": [config.output / SITE_MANIFEST],
                "uptodate": [config_changed(_options_read(config, "site"))],
                "verbosity": 2,
            },
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
        self.work.mkdir(parents=True, exist_ok=True)
        loader = _Loader(self)
        code = DoitMain(loader, config_filenames=()).run(["run"])
        if self.error is not None:
            raise self.error
        if code != 0:
            raise LiteBuildError(
                f"the build stopped (doit exit code {code}); run with -v for details"
            )
        return BuildResult(self.config.output, list(self.ran), list(self.up_to_date))

    # -- step bodies -------------------------------------------------------------------------
    def _runtime_present(self) -> bool:
        try:
            info = json.loads(self.runtime_json.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return all(Path(path).is_file() for path in info["files"])

    def _wheels_present(self) -> bool:
        for env in self.config.environments:
            try:
                wheels = json.loads((self.packages_dir(env.name) / "wheels.json").read_text())
            except (OSError, ValueError):
                return False
            if not all(Path(path).is_file() for path in wheels.values()):
                return False
        return True

    def fetch_runtime(self) -> None:
        runtime = ensure_runtime(
            self.config.pyodide.version, path=self.config.pyodide.path, reporter=self.reporter
        )
        write_json(
            self.runtime_json,
            {
                "version": runtime.version,
                "folder": str(runtime.folder),
                "files": [str(path) for path in runtime.files],
            },
        )

    def _runtime(self) -> PyodideRuntime:
        info = json.loads(self.runtime_json.read_text(encoding="utf-8"))
        folder = Path(info["folder"])
        lock = json.loads((folder / "pyodide-lock.json").read_text(encoding="utf-8"))
        return PyodideRuntime(version=info["version"], folder=folder, lock=lock)

    def prepare_packages(self) -> None:
        runtime = self._runtime()
        sources = site_sources(self.config, reporter=self.reporter)
        lock = site_lock(self.config)
        for env in self.config.environments:
            prepared = prepare_environment(
                env,
                runtime,
                self.packages_dir(env.name),
                offline=self.config.offline,
                reporter=self.reporter,
                sources=sources,
                lock=lock,
                bytecode=self.config.bytecode,
            )
            self._snapshot(prepared, runtime, env.preload)
            if prepared.remote:
                self.reporter.info(
                    f"the site is not offline: environment {env.name!r} loads "
                    f"{len(prepared.remote)} package(s) from a remote Pyodide distribution at "
                    "run time: "
                    + ", ".join(f"{p['name']} {p['version']} ({p['url']})" for p in prepared.remote)
                )

    def _snapshot(
        self, packages: EnvironmentPackages, runtime: PyodideRuntime, preload: Iterable[str]
    ) -> None:
        """The environment's kernel snapshot into its work folder (or none), and
        ``snapshot.json`` saying which."""
        target = packages.folder / SNAPSHOT_FILE
        made = None
        if self.config.snapshot:
            lock = json.loads(packages.lock_path.read_text(encoding="utf-8"))
            made = make_snapshot(
                runtime,
                lock,
                packages.wheels,
                roots=KERNEL_ROOTS,
                env=kernel_env(runtime),
                preload=preload,
                reporter=self.reporter,
                name=packages.name,
            )
        if made is None:
            target.unlink(missing_ok=True)
            write_json(packages.folder / SNAPSHOT_JSON, {"sha256": None})
            return
        shutil.copyfile(made, target)
        write_json(packages.folder / SNAPSHOT_JSON, {"sha256": sha256_of(target)})

    def build_app(self, content: list[Any]) -> None:
        config = self.config
        validate_notebooks(content)
        environments = {
            env.name: load_environment_packages(self.packages_dir(env.name))
            for env in config.environments
        }
        extensions = [
            kernel_extension_dir(),
            environments_extension_dir(),
            *widget_extensions(environments),
        ]
        removed = sync_tree(((item.source, item.site_path) for item in content), self.content_dir)
        if (removed or has_stale_extensions(self.app_dir, extensions)) and self.app_dir.exists():
            # jupyterlite never deletes what it once copied: start its app afresh
            shutil.rmtree(self.app_dir)
            for stale in self.lite_dir.glob(".jupyterlite.doit.db*"):
                stale.unlink()
        self.content_dir.mkdir(parents=True, exist_ok=True)
        runtime = self._runtime()
        kernels = []
        for env in config.environments:
            packages = environments[env.name]
            kernels.append(
                KernelSettings(
                    name=env.name,
                    display_name=env.display_name,
                    piplite_index_sha256=packages.piplite_index_sha256,
                    lock_sha256=packages.lock_sha256,
                    preload_packages=KERNEL_ROOTS,
                    env=kernel_env(runtime),
                    logo=_logo_name(env.logo),
                    snapshot_sha256=_snapshot_sha256(self.packages_dir(env.name)),
                )
            )
        overrides_json = config.overrides / "overrides.json" if config.overrides else None
        epoch = os.environ.get("SOURCE_DATE_EPOCH")
        write_json(
            self.lite_dir / JUPYTER_LITE_JSON,
            jupyter_lite_json(
                config.title,
                kernels,
                default_kernel=config.default_kernel,
                offline=config.offline,
                site_id=config.site_id,
            ),
        )
        # jupyterlite-core applies the lite folder's overrides.json to every app
        write_json(self.lite_dir / "overrides.json", merged_settings(overrides_json))
        write_json(
            self.lite_dir / "jupyter_lite_config.json",
            jupyter_lite_build_config(
                content_dir=self.content_dir,
                app_dir=self.app_dir,
                kernel_extension=extensions[0],
                environments_extension=extensions[1],
                extra_extensions=extensions[2:],
                source_maps=config.source_maps,
                source_date_epoch=int(epoch) if epoch else None,
            ),
        )
        run_jupyterlite(self.lite_dir, verbose=self.verbose)
        dedupe_disabled_extensions(self.app_dir)
        write_precomputed_settings(self.app_dir, reporter=self.reporter)
        write_json(self.app_stamp, _tree_stamp(self.app_dir))

    def publish_site(self) -> None:
        config = self.config
        staging, _ = staging_dirs(config.output)
        if staging.exists():
            shutil.rmtree(staging)
        try:
            self._assemble(staging)
            publish(staging, config.output)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)

    def _assemble(self, staging: Path) -> None:
        config = self.config
        copy_tree(self.app_dir, staging, skip=APP_JUNK)
        runtime = self._runtime()
        pyodide_dir = staging / PYODIDE_DIR
        pyodide_dir.mkdir(parents=True, exist_ok=True)
        for path in runtime.files:
            if path.name != "pyodide-lock.json":
                shutil.copy2(path, pyodide_dir / path.name)
        wheels_dir = staging / WHEELS_DIR
        wheels_dir.mkdir(parents=True, exist_ok=True)
        environments = []
        locks = []
        for env in config.environments:
            packages = load_environment_packages(self.packages_dir(env.name))
            # wheels that several environments share are stored once
            for filename, source in packages.wheels.items():
                target = wheels_dir / filename
                if not target.exists():
                    shutil.copy2(source, target)
            env_dir = staging / environment_dir(env.name)
            env_dir.mkdir(parents=True, exist_ok=True)
            shutil.copy2(packages.lock_path, env_dir / "pyodide-lock.json")
            shutil.copy2(packages.piplite_index_path, env_dir / "all.json")
            if _snapshot_sha256(packages.folder):
                shutil.copy2(packages.folder / SNAPSHOT_FILE, env_dir / SNAPSHOT_FILE)
            logo = _logo_name(env.logo)
            if env.logo and logo:
                shutil.copy2(env.logo, env_dir / logo)
            locks.append(env_dir / "pyodide-lock.json")
            environments.append(packages.describe())
        # patches of JupyterLite's output: each must still find what it changes, or the
        # JupyterLite release lite-build runs with is not the one it was written for
        if not patch_wait_async(staging):
            raise _patch_missed("the Atomics.waitAsync fix", "no script uses Atomics.waitAsync")
        apply_title(staging, config.title)
        # the kernel's runtime starts while the app boots (see prestart.py)
        if not install_prestart(staging):
            raise _patch_missed("the early kernel start", "no app page to start a kernel from")
        (staging / EMBED_PAGE).write_text(
            embed_page(config.title, content_notebooks(config), default_kernel(config)),
            encoding="utf-8",
        )
        (staging / ".nojekyll").write_text("", encoding="utf-8")
        from lite_build.packages.lock import verify_lock

        for lock in locks:
            verify_lock(lock, allow_remote=not config.offline)
        verify_site_config(staging)
        write_json(staging / SITE_MANIFEST, manifest(config.title, runtime.version, environments))
        write_json(staging / CONTENT_VERSIONS, content_versions(staging / "files"))
        # for hosts and offline use: last, so the precache lists and the .gz siblings see every file
        write_hosting_files(staging, isolated=config.isolated)
        if config.precache:
            install_precache(staging)
        compress_site(staging)


def widget_extensions(environments: dict[str, EnvironmentPackages]) -> list[Path]:
    """The widget manager's extension folder, if some environment ships ipywidgets."""
    using = environments_with_widgets({name: env.packages for name, env in environments.items()})
    if not using:
        return []
    folder = widgets_extension_dir()
    log.info("shipping the widget manager %s for environment(s) %s", folder, ", ".join(using))
    return [folder]


#: what every environment's kernel loads when it starts
KERNEL_ROOTS = (*KERNEL_START_PACKAGES, ENVIRONMENT_PACKAGE)
#: in an environment's work folder: the sha256 of its kernel snapshot (null: it has none)
SNAPSHOT_JSON = "snapshot.json"


def kernel_env(runtime: PyodideRuntime) -> dict[str, str]:
    """The environment variables each kernel's Python starts with."""
    return {"IPYTHONDIR": ipython_dir(runtime.lock["info"]["python"])}


def _snapshot_sha256(folder: Path) -> str | None:
    try:
        sha256: str | None = json.loads((folder / SNAPSHOT_JSON).read_text())["sha256"]
    except (OSError, ValueError, KeyError):
        return None
    return sha256 if sha256 and (folder / SNAPSHOT_FILE).is_file() else None


def _patch_missed(patch: str, finding: str) -> LiteBuildError:
    """The error for a patch of JupyterLite's output that found nothing to change."""
    return LiteBuildError(
        f"{patch} no longer applies to JupyterLite's output ({finding}): the installed "
        "jupyterlite-core or jupyterlite-pyodide-kernel is not a version lite-build supports; "
        "reinstall lite-build with its own requirements (pip install lite-build)"
    )


def _logo_name(logo: Path | None) -> str | None:
    """The name an environment's logo gets in the environment's folder of the site."""
    return f"logo{logo.suffix.lower()}" if logo else None


def _tree_stamp(folder: Path) -> dict[str, Any]:
    """What changed in ``folder``: every file with its size and modification time."""
    return {
        path.relative_to(folder).as_posix(): [path.stat().st_size, path.stat().st_mtime_ns]
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


class _Loader(TaskLoader2):  # type: ignore[misc]
    def __init__(self, pipeline: _Pipeline) -> None:
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
            "dep_file": str(pipeline.work / "doit.json"),
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
