"""A kernel restored from its snapshot is the same Python as a freshly started one.

The default distribution is served with snapshots (the ``default_site``) and without;
every kernel of each answers the same probe (``fidelity_probe.py``) in Chromium, in a time
zone and a language unlike the build machine's, so that whatever the image learned from the
build's Node.js would show.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.browser import lab
from tests.conftest import (
    REPO,
    Served,
    assert_nothing_left_the_site,
    offline_browser_page,
    without_snapshots,
)

pytestmark = [pytest.mark.browser, pytest.mark.integration]

PROBE = Path(__file__).with_name("fidelity_probe.py").read_text(encoding="utf-8")
#: the default distribution's kernels: "python" restores with its shell made; "packages" loads
#: a compiled extension (msgpack) after the restore and makes its shell in the browser
KERNELS = ("python", "packages")
#: a browser far from the build machine (UTC, no language)
BROWSER_OPTIONS = {"timezone_id": "America/New_York", "locale": "de-DE"}


@pytest.fixture(scope="module")
def fresh_site(default_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default distribution as ``snapshot = false`` builds it: every kernel starts afresh."""
    return without_snapshots(default_site, tmp_path_factory.mktemp("fresh") / "site")


def probe(browser: Any, url: str, kernel: str) -> tuple[dict[str, Any], list[str]]:
    """The probe's results in a new console on ``kernel``, and the page's console messages."""
    with offline_browser_page(browser, **BROWSER_OPTIONS) as (page, record):
        code = f"{PROBE}\nawait fidelity_probe()"
        found = lab.console_json(page, url, kernel, code, "FIDELITY", answer="Ada")
    assert_nothing_left_the_site(record)
    return found, record.console


@pytest.fixture(scope="module")
def probed(
    browser: Any,
    serve_site: Callable[..., Served],
    default_site: Path,
    fresh_site: Path,
) -> dict[tuple[str, str], dict[str, Any]]:
    """The probe's results by (how the kernel started, kernel); "restored again" is a second
    start of the restored "python" kernel."""
    results: dict[tuple[str, str], dict[str, Any]] = {}
    for started, site, runs in (
        ("restored", default_site, [*KERNELS, "python"]),
        ("fresh", fresh_site, list(KERNELS)),
    ):
        url = serve_site(site).url
        for kernel in runs:
            label = "restored again" if (started, kernel) in results else started
            found, console = probe(browser, url, kernel)
            how = "restored from its snapshot" if started == "restored" else "no snapshot"
            assert any(f'kernel "{kernel}"' in line and how in line for line in console), (
                f"kernel {kernel!r} did not start as {started}:\n" + "\n".join(console)
            )
            results[label, kernel] = found
    return results


def differences(restored: dict[str, Any], fresh: dict[str, Any]) -> list[str]:
    """The probe's entries (``section.name``) whose values differ."""
    found = []
    for section in sorted(set(restored) | set(fresh)):
        ours, theirs = restored.get(section), fresh.get(section)
        if isinstance(ours, dict) and isinstance(theirs, dict):
            for name in sorted(set(ours) | set(theirs)):
                if ours.get(name) != theirs.get(name):
                    found.append(f"{section}.{name}: {ours.get(name)!r} != {theirs.get(name)!r}")
        elif ours != theirs:
            found.append(f"{section}: {ours!r} != {theirs!r}")
    return found


@pytest.mark.parametrize("kernel", KERNELS)
def test_a_restored_kernel_answers_every_probe_as_a_fresh_one(
    probed: dict[tuple[str, str], dict[str, Any]], kernel: str
) -> None:
    restored = dict(probed["restored", kernel])
    fresh = dict(probed["fresh", kernel])
    # a random number is the one value two kernels must not share (see below)
    del restored["random"], fresh["random"]
    assert differences(restored, fresh) == []


@pytest.mark.parametrize("kernel", KERNELS)
def test_time_sleep_and_run_sync_work_in_every_restored_kernel(
    probed: dict[tuple[str, str], dict[str, Any]], kernel: str
) -> None:
    assert probed["restored", kernel]["sleeps"] == {
        "time_sleep": None,
        "time_sleep_waited": True,
        "can_run_sync": True,
        "run_sync": "ran",
    }
    assert probed["restored", kernel]["web"]["asyncio_sleep_waited"] is True


def test_a_restored_kernel_lives_in_the_learners_time_zone_and_language(
    probed: dict[tuple[str, str], dict[str, Any]],
) -> None:
    results = probed["restored", "python"]
    assert results["clocks"]["tzname"] == ["UTC-0500", "UTC-0400"]
    assert results["clocks"]["timezone"] == [18000, 14400, 1]
    assert results["clocks"]["summer_2020"] == "2020-07-01T12:00:00-04:00"
    assert results["host"]["environ"]["LANG"] == "de_DE.UTF-8"
    assert results["host"]["locale"][0].startswith("de_DE.UTF-8;")
    assert results["web"]["user_agent_is_the_browsers"] is True


def test_no_path_of_the_build_machine_reaches_a_restored_kernel(
    probed: dict[tuple[str, str], dict[str, Any]],
) -> None:
    results = probed["restored", "python"]
    assert results["host"]["executable"] == "/home/pyodide/this.program"
    assert results["host"]["orig_argv"] == ["./this.program"]
    assert results["host"]["environ"]["_"] == "./this.program"
    assert str(REPO) not in json.dumps(results)


def test_a_restored_kernel_holds_no_file_of_the_build(
    probed: dict[tuple[str, str], dict[str, Any]],
) -> None:
    for kernel in KERNELS:
        assert probed["restored", kernel]["descriptors"] == {
            "dangling_descriptors": [],
            "errors_when_caches_drop": [],
        }


def test_every_start_of_a_restored_kernel_has_its_own_randomness(
    probed: dict[tuple[str, str], dict[str, Any]],
) -> None:
    assert probed["restored", "python"]["random"] != probed["restored again", "python"]["random"]
    assert probed["restored", "python"]["input"] == "Ada"
