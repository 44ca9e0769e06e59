"""Step 4, ``app``: the JupyterLite app with the content and settings (jupyterlite-core)."""

from __future__ import annotations

import os
import shutil
from functools import cached_property
from pathlib import Path
from typing import Any

from lite_build import __version__
from lite_build.files import sync_tree, write_json
from lite_build.kernel.environments import load_environment_packages
from lite_build.kernel.wheels import (
    KERNEL_ROOTS,
    environments_extension_dir,
    kernel_env,
    kernel_extension_dir,
)
from lite_build.pipeline.packages import SNAPSHOT_JSON, snapshot_sha256
from lite_build.pipeline.step import Step
from lite_build.resources import COMPOSER
from lite_build.site.app_settings import write_precomputed_settings
from lite_build.site.content import (
    ContentFile,
    collect_content,
    validate_notebooks,
    warn_about_outside_content,
)
from lite_build.site.jupyterlite import (
    KernelSettings,
    has_stale_extensions,
    jupyter_lite_build_config,
    jupyter_lite_json,
    merged_settings,
    run_jupyterlite,
)
from lite_build.site.patches import dedupe_disabled_extensions
from lite_build.site.paths import JUPYTER_LITE_JSON, LOCK, PIPLITE_INDEX, logo_name
from lite_build.site.widgets import installed_manager_version, widget_extensions


class AppStep(Step):
    name = "app"
    options = (
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
    )

    def describe(self) -> str:
        return "the JupyterLite app, content and settings"

    @cached_property
    def content(self) -> list[ContentFile]:
        return collect_content(self.config.content)

    @cached_property
    def overrides_files(self) -> list[Path]:
        overrides = self.config.overrides
        if not (overrides and overrides.is_dir()):
            return []
        return sorted(path for path in overrides.rglob("*") if path.is_file())

    def inputs(self) -> list[Path]:
        config = self.config
        return [
            *(item.source for item in self.content),
            *self.overrides_files,
            *(
                self.work.packages_dir(env.name) / name
                for env in config.environments
                for name in (PIPLITE_INDEX, LOCK, SNAPSHOT_JSON)
            ),
            *(env.logo for env in config.environments if env.logo),
            environments_extension_dir() / "package.json",
            # its workers are loaded by name, not through package.json
            *sorted((environments_extension_dir() / "static").glob("*.worker.*.js")),
            *([COMPOSER] if COMPOSER.is_file() else []),
        ]

    def code(self) -> dict[str, object]:
        return {
            "content files": [item.site_path for item in self.content],
            "overrides": [str(path) for path in self.overrides_files],
            "lite-build": __version__,
            "widget-manager": installed_manager_version(),
            "source-date-epoch": os.environ.get("SOURCE_DATE_EPOCH", ""),
        }

    def targets(self) -> list[Path]:
        return [self.work.app_stamp]

    def run(self) -> None:
        config, work = self.config, self.work
        validate_notebooks(self.content)
        warn_about_outside_content(self.content, config.root)
        environments = {
            env.name: load_environment_packages(work.packages_dir(env.name))
            for env in config.environments
        }
        extensions = [
            kernel_extension_dir(),
            environments_extension_dir(),
            *widget_extensions(environments),
        ]
        removed = sync_tree(
            ((item.source, item.site_path) for item in self.content), work.content_dir
        )
        if (removed or has_stale_extensions(work.app_dir, extensions)) and work.app_dir.exists():
            # jupyterlite never deletes what it once copied: start its app afresh
            shutil.rmtree(work.app_dir)
            for stale in work.lite_dir.glob(".jupyterlite.doit.db*"):
                stale.unlink()
        work.content_dir.mkdir(parents=True, exist_ok=True)
        runtime = work.runtime()
        kernels = [
            KernelSettings(
                name=env.name,
                display_name=env.display_name,
                piplite_index_sha256=environments[env.name].piplite_index_sha256,
                lock_sha256=environments[env.name].lock_sha256,
                preload_packages=KERNEL_ROOTS,
                env=kernel_env(runtime),
                logo=logo_name(env.logo),
                snapshot_sha256=snapshot_sha256(work.packages_dir(env.name)),
            )
            for env in config.environments
        ]
        overrides_json = config.overrides / "overrides.json" if config.overrides else None
        epoch = os.environ.get("SOURCE_DATE_EPOCH")
        write_json(
            work.lite_dir / JUPYTER_LITE_JSON,
            jupyter_lite_json(
                config.title,
                kernels,
                default_kernel=config.default_kernel,
                offline=config.offline,
                site_id=config.site_id,
            ),
        )
        # jupyterlite-core applies the lite folder's overrides.json to every app
        write_json(work.lite_dir / "overrides.json", merged_settings(overrides_json))
        write_json(
            work.lite_dir / "jupyter_lite_config.json",
            jupyter_lite_build_config(
                content_dir=work.content_dir,
                app_dir=work.app_dir,
                kernel_extension=extensions[0],
                environments_extension=extensions[1],
                extra_extensions=extensions[2:],
                source_maps=config.source_maps,
                source_date_epoch=int(epoch) if epoch else None,
            ),
        )
        run_jupyterlite(work.lite_dir, verbose=self.verbose)
        dedupe_disabled_extensions(work.app_dir)
        write_precomputed_settings(work.app_dir, reporter=self.reporter)
        write_json(work.app_stamp, tree_stamp(work.app_dir))


def tree_stamp(folder: Path) -> dict[str, Any]:
    """What changed in ``folder``: every file with its size and modification time."""
    return {
        path.relative_to(folder).as_posix(): [path.stat().st_size, path.stat().st_mtime_ns]
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }
