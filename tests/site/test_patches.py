"""Each patch of JupyterLite's output applies to the JupyterLite lite-build runs with.

The unit tests of each patch use small made-up inputs; these run every patch on the real,
unpatched output of jupyterlite-core (the default distribution's app folder), so a new
JupyterLite release that moves what a patch changes fails here, not silently in a browser.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from lite_build.site import patches
from lite_build.site.prestart import KERNEL_APPS

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def jupyterlite_output(default_site: Path, tmp_path: Path) -> Path:
    """A copy of jupyterlite-core's own output for the default distribution, before patches."""
    app = REPO / ".lite-build" / "app"
    assert (app / "jupyter-lite.json").is_file(), "the default site's build keeps its app here"
    copy = tmp_path / "app"
    shutil.copytree(app, copy)
    return copy


def test_every_patch_finds_what_it_changes_in_jupyterlites_output(
    jupyterlite_output: Path,
) -> None:
    site = jupyterlite_output

    shimmed = patches.patch_wait_async(site)
    titled = patches.apply_title(site, r"Week \1: <Intro>")
    started = patches.install_prestart(site)
    registered = patches.keep_worker_registered(site)
    kept = patches.keep_queue_unless_stop_on_error(site)

    assert shimmed and all("waitAsync" in path.read_text() for path in shimmed)
    assert {page.parent.name for page in titled} >= {"lab", "notebooks", "repl", "tree"}
    for page in titled:
        assert r"<title>Week \1: &lt;Intro&gt;</title>" in page.read_text()
    assert sorted(page.parent.name for page in started) == sorted(KERNEL_APPS)
    assert len(registered) == 1 and registered[0].parent.name == "build"
    assert len(kept) == 1 and kept[0].parent.name == "build"


def test_each_patch_applies_once(jupyterlite_output: Path) -> None:
    site = jupyterlite_output
    patches.apply(site, title="Course")
    patches.apply_offline(site)
    pages = {app: (site / app / "index.html").read_text() for app in KERNEL_APPS}

    assert patches.patch_wait_async(site) == []
    assert patches.install_prestart(site) == []
    assert patches.keep_worker_registered(site) == []
    assert patches.keep_queue_unless_stop_on_error(site) == []
    assert {app: (site / app / "index.html").read_text() for app in KERNEL_APPS} == pages


def the_bundle_with(site: Path, name: str) -> str:
    """The code of the site's one app bundle that mentions ``name``."""
    bundles = [path for path in sorted((site / "build").glob("*.js")) if name in path.read_text()]
    assert len(bundles) == 1, bundles
    return bundles[0].read_text()


def test_the_published_site_keeps_its_service_worker_across_page_loads(
    default_site: Path,
) -> None:
    text = the_bundle_with(default_site, "_unregisterOldServiceWorkers")
    (version,) = re.findall(r'(\w+)=\w+\.PageConfig\.getOption\("appVersion"\)', text)
    # JupyterLite stores its app version (not a channel name) and unregisters only when the
    # stored version differs; a first load with nothing stored keeps the worker
    unregistered = re.escape(
        'console.info("All existing service workers have been unregistered.")}'
    )
    assert re.search(rf"{unregistered}localStorage\.setItem\(\w+,{version}\)", text)
    assert re.search(rf"if\((\w+)&&\1!=={version}\)", text)
    assert not re.search(rf"if\((\w+)&&\1!=={version}\|\|!\1\)", text)


def test_the_published_site_cancels_queued_cells_only_after_an_error_that_stops(
    default_site: Path,
) -> None:
    text = the_bundle_with(default_site, "_cancelReason")
    # the kernels service notes each execute request sent with stop_on_error false ...
    noted = re.findall(
        r'let \w+=async (\w+)=>\{"execute_request"===\1\.header\.msg_type'
        r"&&!1===\1\.content\.stop_on_error&&\(this\._liteBuildKeepQueue\|\|",
        text,
    )
    assert len(noted) == 1
    # ... and an error reply cancels the queue unless it answers a noted request
    cancels = re.findall(
        r'"execute_reply"===(\w+)\.header\.msg_type&&!\(this\._liteBuildKeepQueue&&'
        r'this\._liteBuildKeepQueue\.delete\(\1\.parent_header\.msg_id\)\)&&"error"===\1'
        r'\.content\.status&&"interrupt"!==\1\.metadata\.cause&&\(this\._cancelReason\.set\(',
        text,
    )
    assert len(cancels) == 1
