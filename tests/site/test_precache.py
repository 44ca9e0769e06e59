"""The precache worker list, JupyterLite worker extension, compression, hosting files (offline)."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

from lite_build.site.compress import compress_site, size_report
from lite_build.site.hosting import headers_file
from lite_build.site.jupyterlite import KernelSettings, jupyter_lite_json
from lite_build.site.patches import keep_worker_registered
from lite_build.site.paths import PRECACHE_WORKER
from lite_build.site.precache import install_precache, plan_precache, worker_script

# the shape of JupyterLite 0.8.6's minified ServiceWorkerManager, trimmed
BUNDLE = (
    'let S="/sw-api.v1",b=r.PageConfig.getOption("appVersion");class L{'
    "async _unregisterOldServiceWorkers(e){let t=`${e}-version`,s=localStorage.getItem(t);"
    'if(s&&s!==b||!s){console.info("New version");await x();'
    'console.info("All existing service workers have been unregistered.")}'
    "localStorage.setItem(t,S)}}"
)


def make_site(root: Path) -> Path:
    for name, text in {
        "index.html": "<html></html>",
        "lab/index.html": "<html>lab</html>",
        "files/my notes.ipynb": "{}",
        "build/app.js": "x" * 5000,
        "build/app.js.map": "{}",
        "service-worker.js": '"use strict";self.addEventListener("fetch",f);',
        "_headers": "/*\n",
        ".nojekyll": "",
    }.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_the_precache_lists_every_shipped_file_but_workers_maps_and_host_files(
    tmp_path: Path,
) -> None:
    precache = plan_precache(make_site(tmp_path))

    assert precache.files == (
        "build/app.js",
        "files/my notes.ipynb",
        "index.html",
        "lab/index.html",
    )
    assert len(precache.version) == 16


def test_pages_config_and_content_are_fresh_the_app_runtime_and_wheels_cache_first(
    tmp_path: Path,
) -> None:
    site = make_site(tmp_path)
    for name in (
        "jupyter-lite.json",
        "lab/jupyter-lite.json",
        "api/contents/all.json",
        "static/environments/python/pyodide-lock.json",
        "static/wheels/x-1-py3-none-any.whl",
    ):
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text("{}")

    assert plan_precache(site).fresh == (
        "api/contents/all.json",
        "files/my notes.ipynb",
        "index.html",
        "jupyter-lite.json",
        "lab/index.html",
        "lab/jupyter-lite.json",
    )
    assert '"fresh":["api/contents/all.json",' in worker_script(plan_precache(site))


def test_every_listed_file_carries_its_sha256_and_size_for_the_worker(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    add_snapshots(site)
    precache = plan_precache(site)

    snapshot = site / "static/environments/python/kernel.snapshot"
    assert precache.integrity["build/app.js"] == (hashlib.sha256(b"x" * 5000).hexdigest(), 5000)
    assert precache.integrity[snapshot.relative_to(site).as_posix()] == (
        hashlib.sha256(snapshot.read_bytes()).hexdigest(),
        snapshot.stat().st_size,
    )
    assert sorted(precache.integrity) == sorted([*precache.files, *precache.on_demand])
    listed = json.loads(worker_script(precache).split("\n", 1)[0].split(" = ", 1)[1][:-1])
    assert listed["integrity"]["build/app.js"] == [hashlib.sha256(b"x" * 5000).hexdigest(), 5000]


def test_the_precache_version_changes_with_any_content_and_only_then(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    first = plan_precache(site).version
    assert plan_precache(site).version == first
    (site / "files" / "my notes.ipynb").write_text('{"cells": []}')
    assert plan_precache(site).version != first


def test_the_precache_worker_is_imported_first_after_the_use_strict_prologue(
    tmp_path: Path,
) -> None:
    site = make_site(tmp_path)
    precache = install_precache(site)

    worker = (site / "service-worker.js").read_text()
    assert worker == (
        f'"use strict";importScripts("lite-build-sw.js?v={precache.version}");\n'
        'self.addEventListener("fetch",f);'
    )
    script = (site / PRECACHE_WORKER).read_text()
    assert script.startswith(
        f'self.LITE_BUILD_PRECACHE = {{"version":"{precache.version}","files":["build/app.js",'
    )
    assert "stopImmediatePropagation" in script


def test_jupyterlite_keeps_the_worker_registered_across_loads(tmp_path: Path) -> None:
    (tmp_path / "build").mkdir()
    bundle = tmp_path / "build" / "981.js"
    bundle.write_text(BUNDLE)

    assert keep_worker_registered(tmp_path) == [bundle]
    fixed = bundle.read_text()
    assert "if(s&&s!==b){" in fixed
    assert "localStorage.setItem(t,b)}" in fixed
    # already fixed, or another JupyterLite's code: left alone
    assert keep_worker_registered(tmp_path) == []


def test_large_text_files_get_deterministic_gzip_siblings(tmp_path: Path) -> None:
    site = make_site(tmp_path)

    written = compress_site(site)

    assert written == [site / "build" / "app.js.gz"]  # the others are small
    data = written[0].read_bytes()
    assert gzip.decompress(data) == b"x" * 5000
    written[0].unlink()
    compress_site(site)
    assert written[0].read_bytes() == data


def test_an_authors_own_gz_is_kept_and_not_listed_as_a_sibling(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    (site / "files").mkdir(exist_ok=True)
    (site / "files" / "cities.csv").write_text("city,people\n" * 500)
    (site / "files" / "cities.csv.gz").write_bytes(b"the author's own archive")

    written = compress_site(site)

    assert written == [site / "build" / "app.js.gz"]
    assert (site / "files" / "cities.csv.gz").read_bytes() == b"the author's own archive"
    assert (site / "lite-build-gzip.txt").read_text() == "build/app.js\n"


def test_the_size_report_counts_compressed_transfer(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    compress_site(site)
    report = size_report(site, largest=2)

    gz = (site / "build" / "app.js.gz").stat().st_size
    assert report.first_visit == gz + len("{}") + len("<html></html>") + len("<html>lab</html>")
    assert report.total > 5000 + gz
    assert report.largest == (("build/app.js", 5000), ("lab/index.html", 16))


def test_headers_file_sends_isolation_only_when_asked() -> None:
    assert headers_file(isolated=False) == (
        "# Read by Netlify and Cloudflare Pages; other hosts ignore it. Written by lite-build.\n"
        "/*\n  Cache-Control: no-cache\n  X-Content-Type-Options: nosniff\n"
    )
    isolated = headers_file(isolated=True)
    assert "  Cross-Origin-Opener-Policy: same-origin\n" in isolated
    assert "  Cross-Origin-Embedder-Policy: require-corp\n" in isolated


def add_snapshots(site: Path) -> None:
    """Two environments' kernel snapshots; "python" is the default kernel."""
    kernels = []
    for name, size in (("python", 3000), ("extra", 2000)):
        folder = site / "static" / "environments" / name
        folder.mkdir(parents=True)
        (folder / "kernel.snapshot").write_bytes(b"s" * size)
        kernels.append(kernel_settings(name, snapshot_sha256="0"))
    config = jupyter_lite_json("Site", kernels, default_kernel="python", offline=True, site_id="s")
    (site / "jupyter-lite.json").write_text(json.dumps(config))


def kernel_settings(name: str, snapshot_sha256: str | None = None) -> KernelSettings:
    return KernelSettings(
        name=name,
        display_name=name.title(),
        piplite_index_sha256="1",
        lock_sha256="2",
        preload_packages=(),
        env={},
        snapshot_sha256=snapshot_sha256,
    )


def test_kernel_snapshots_are_kept_on_demand_not_downloaded_in_the_background(
    tmp_path: Path,
) -> None:
    site = make_site(tmp_path)
    add_snapshots(site)
    before = plan_precache(site)

    assert before.on_demand == (
        "static/environments/extra/kernel.snapshot",
        "static/environments/python/kernel.snapshot",
    )
    assert not set(before.on_demand) & set(before.files)
    assert '"onDemand":["static/environments/extra/kernel.snapshot",' in worker_script(before)
    # a new snapshot is a new build: the cache is replaced
    (site / "static" / "environments" / "extra" / "kernel.snapshot").write_bytes(b"t" * 2000)
    assert plan_precache(site).version != before.version


def test_the_size_report_counts_the_default_kernels_snapshot_in_a_first_visit(
    tmp_path: Path,
) -> None:
    site = make_site(tmp_path)
    compress_site(site)
    without = size_report(site).first_visit
    add_snapshots(site)

    report = size_report(site, largest=2)

    config = len((site / "jupyter-lite.json").read_bytes())
    assert report.first_visit == without + config + 3000  # not the other environment's
    assert report.largest == (
        ("build/app.js", 5000),
        ("static/environments/python/kernel.snapshot", 3000),
    )
