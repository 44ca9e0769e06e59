"""Step 5, ``site``: assemble the site in a staging folder, patch and verify it there, then
swap it in for the output (a failed build leaves the previous site as it was)."""

from __future__ import annotations

import shutil
from pathlib import Path

from lite_build.cache import cache_dir
from lite_build.commands.embed import content_notebooks, default_kernel, embed_page
from lite_build.files import copy_tree, path_inside, write_json
from lite_build.kernel.environments import WHEELS, load_environment_packages
from lite_build.packages.pyodide_lock import verify_lock
from lite_build.pipeline.packages import SNAPSHOT_JSON, snapshot_sha256
from lite_build.pipeline.step import Step
from lite_build.resources import BROWSER
from lite_build.site import patches
from lite_build.site.compress import compress_site
from lite_build.site.content import content_versions
from lite_build.site.hosting import write_hosting_files
from lite_build.site.jupyterlite import verify_site_config
from lite_build.site.paths import (
    APP_JUNK,
    CONTENT_VERSIONS,
    EMBED_PAGE,
    LOCK,
    PIPLITE_INDEX,
    PYODIDE_DIR,
    SITE_MANIFEST,
    SNAPSHOT_FILE,
    WHEELS_DIR,
    environment_dir,
    logo_name,
)
from lite_build.site.precache import PRECACHE_TEMPLATE, install_precache
from lite_build.site.publish import manifest, publish, staging_folder


class SiteStep(Step):
    name = "site"
    options = (
        "title",
        "content",
        "output",
        "offline",
        "isolated",
        "precache",
        "default-kernel",
        "environments[].name",
        "environments[].logo",
    )

    def describe(self) -> str:
        return f"assemble, verify and publish {self.config.output}"

    def inputs(self) -> list[Path]:
        return [
            self.work.app_stamp,
            self.work.runtime_json,
            *(
                self.work.packages_dir(env.name) / name
                for env in self.config.environments
                for name in (LOCK, PIPLITE_INDEX, WHEELS, SNAPSHOT_JSON)
            ),
            # the scripts it puts in the site (the service worker, the early start, the
            # shim): a development install rebuilds them in place
            PRECACHE_TEMPLATE,
            *(script for script in sorted(BROWSER.glob("*")) if script != PRECACHE_TEMPLATE),
        ]

    def targets(self) -> list[Path]:
        return [self.config.output / SITE_MANIFEST]

    def run(self) -> None:
        with staging_folder(self.config.output) as staging:
            self.assemble(staging)
            publish(staging, self.config.output)

    def assemble(self, staging: Path) -> None:
        """The whole site in ``staging``: the app, the runtime, the wheels, our files."""
        config, work = self.config, self.work
        copy_tree(work.app_dir, staging, skip=APP_JUNK)
        runtime = work.runtime()
        pyodide_dir = staging / PYODIDE_DIR
        pyodide_dir.mkdir(parents=True, exist_ok=True)
        for path in runtime.files:
            if path.name != LOCK:
                shutil.copy2(path, pyodide_dir / path.name)
        wheels_dir = staging / WHEELS_DIR
        wheels_dir.mkdir(parents=True, exist_ok=True)
        environments = []
        locks = []
        for env in config.environments:
            packages = load_environment_packages(work.packages_dir(env.name))
            # wheels that several environments share are stored once
            for filename, source in packages.wheels.items():
                target = path_inside(wheels_dir, filename)
                if not target.exists():
                    shutil.copy2(source, target)
            env_dir = staging / environment_dir(env.name)
            env_dir.mkdir(parents=True, exist_ok=True)
            shutil.copy2(packages.lock_path, env_dir / LOCK)
            shutil.copy2(packages.piplite_index_path, env_dir / PIPLITE_INDEX)
            if snapshot_sha256(packages.folder):
                shutil.copy2(packages.folder / SNAPSHOT_FILE, env_dir / SNAPSHOT_FILE)
            logo = logo_name(env.logo)
            if env.logo and logo:
                shutil.copy2(env.logo, env_dir / logo)
            locks.append(env_dir / LOCK)
            environments.append(packages.describe())
        patches.apply(staging, title=config.title)
        (staging / EMBED_PAGE).write_text(
            embed_page(config.title, content_notebooks(config), default_kernel(config)),
            encoding="utf-8",
        )
        for lock in locks:
            verify_lock(lock, allow_remote=not config.offline)
        verify_site_config(staging)
        write_json(staging / SITE_MANIFEST, manifest(config.title, runtime.version, environments))
        write_json(staging / CONTENT_VERSIONS, content_versions(staging / "files"))
        # for hosts and offline use: last, so the precache lists and the .gz siblings see every file
        write_hosting_files(staging, isolated=config.isolated)
        if config.precache:
            # patched first: the precache lists each file's hash, and serves no other bytes
            patches.apply_offline(staging)
            install_precache(staging)
        compress_site(staging, store=cache_dir() / "gzip")
