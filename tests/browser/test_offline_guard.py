"""The guard every browser test relies on catches a request to another host, wherever it starts.

"Nothing left the site" is only worth asserting if a request that does leave is seen: from the
page, from the kernel's worker, from the service worker, and in ``lite-build check``. Each
canary here makes one such request and requires it to be recorded (and blocked).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import nbformat
import pytest

from lite_build.config import load_config
from lite_build.pipeline import build
from tests.browser import lab
from tests.conftest import Offline, Served, assert_nothing_left_the_site, offline_browser_page

pytestmark = [pytest.mark.browser, pytest.mark.integration]

#: a host that is not the site's (the ".invalid" top-level domain never resolves anywhere)
CANARY = "http://canary.invalid/"
CLI = "import sys; from lite_build.cli import main; sys.exit(main(sys.argv[1:]))"


@pytest.fixture
def canary_page(
    browser: Any, serve_site: Callable[..., Served], default_site: Path
) -> Iterator[tuple[Any, Offline, str]]:
    """A page of the default site whose requests are recorded, without the fixture's own
    guard: these tests make the requests it forbids."""
    with offline_browser_page(browser) as (page, record):
        page.set_default_timeout(lab.KERNEL_TIMEOUT_MS)
        yield page, record, serve_site(default_site).url


def test_a_request_from_the_page_to_another_host_is_caught(
    canary_page: tuple[Any, Offline, str],
) -> None:
    page, record, url = canary_page
    page.goto(f"{url}lab/index.html")
    with page.expect_request(f"{CANARY}page"):
        page.evaluate("(url) => fetch(url).catch(() => null)", f"{CANARY}page")

    assert f"{CANARY}page" in record.external
    with pytest.raises(AssertionError, match="requests left the site"):
        assert_nothing_left_the_site(record)


#: in the page: whether a request (no-cors: any answer counts) got an answer or failed
FETCHED = "(url) => fetch(url, { mode: 'no-cors' }).then(() => 'answered', () => 'failed')"


def test_a_host_that_would_answer_is_blocked_as_well_as_recorded(
    canary_page: tuple[Any, Offline, str],
) -> None:
    # the canaries above use a name that resolves nowhere; this one is the site's own server
    # under another name, which answers in any browser but the tests', whose only host is the
    # site's (its host resolver rules)
    page, record, url = canary_page
    page.goto(f"{url}lab/index.html")
    reachable = url.replace("127.0.0.1", "localhost") + "lab/index.html"

    assert page.evaluate(FETCHED, reachable) == "failed"
    assert reachable in record.external
    # the same request to the site's own host does get its answer (the check is sound)
    assert page.evaluate(FETCHED, f"{url}lab/index.html") == "answered"


def test_a_request_from_the_kernels_worker_to_another_host_is_caught(
    canary_page: tuple[Any, Offline, str],
) -> None:
    page, record, url = canary_page
    code = (
        "import js\n"
        "try:\n"
        f"    await js.fetch('{CANARY}kernel')\n"
        "except Exception as error:\n"
        "    print('CANARY BLOCKED', type(error).__name__)\n"
    )
    page.goto(f"{url}repl/index.html?kernel=python&code={quote(code)}")
    page.wait_for_function(
        """() => [...document.querySelectorAll('.jp-OutputArea-output')]
             .some(node => node.innerText.includes('CANARY BLOCKED'))""",
        polling=250,
    )

    assert f"{CANARY}kernel" in record.external


def test_a_request_from_the_service_worker_to_another_host_is_caught(
    canary_page: tuple[Any, Offline, str],
) -> None:
    page, record, url = canary_page
    page.goto(f"{url}lab/index.html")
    # the site's service worker (JupyterLite's, with the offline cache)
    worker = page.context.service_workers[0] if page.context.service_workers else None
    worker = worker or page.context.wait_for_event("serviceworker")
    target = f"{CANARY}service-worker"
    with page.context.expect_event("request", lambda request: request.url == target):
        worker.evaluate("(url) => fetch(url).catch(() => null)", target)

    assert f"{CANARY}service-worker" in record.external


#: each way a notebook reaches another host, each with its own address: from Python
#: (pyodide.http's fetch and its synchronous XMLHttpRequest, JavaScript's fetch through `js`)
#: and from JavaScript code the kernel runs
REACHING_OUT = {
    "js-fetch": "import js\nawait js.fetch('{url}')",
    "pyfetch": "from pyodide.http import pyfetch\nawait pyfetch('{url}')",
    "open-url": "from pyodide.http import open_url\nopen_url('{url}')",
    "javascript": "import js\nawait js.eval(\"fetch('{url}')\")",
}


def test_lite_build_check_catches_a_notebook_that_reaches_another_host(tmp_path: Path) -> None:
    (tmp_path / "content").mkdir()
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(
            "try:\n"
            + "".join(f"    {line}\n" for line in code.format(url=f"{CANARY}{name}").splitlines())
            + "except Exception:\n    pass"
        )
        for name, code in REACHING_OUT.items()
    ]
    nbformat.write(notebook, tmp_path / "content" / "reaches-out.ipynb")
    (tmp_path / "lite-build.toml").write_text('title = "Canary"\nsnapshot = false\n')
    site = build(load_config(cwd=tmp_path)).output

    # as a teacher runs it, in a process of its own (this one drives the tests' browser)
    checked = subprocess.run(
        [sys.executable, "-c", CLI, "check", str(site), "--json", str(tmp_path / "report.json")],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    report = json.loads((tmp_path / "report.json").read_text())
    assert sorted(report["blocked_requests"]) == sorted(f"{CANARY}{name}" for name in REACHING_OUT)
    assert report["passed"] is False
    assert checked.returncode != 0
    for name in REACHING_OUT:
        assert f"blocked request to another host: {CANARY}{name}" in checked.stdout + checked.stderr
