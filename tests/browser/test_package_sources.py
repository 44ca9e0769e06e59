"""A site taking msgpack from a Pyodide distribution given by URL, tinylib from a local wheel
and ./localproj from a local project: all three import offline in Chromium."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lite_build.config import load_config
from lite_build.pipeline import build
from tests.browser import lab
from tests.conftest import Offline, Served
from tests.packages.sources_project import make_distribution, make_sources_project, serve_counting

pytestmark = [pytest.mark.browser, pytest.mark.integration]


@pytest.fixture(scope="module")
def sources_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("server")
    make_distribution(folder / "dist")
    with serve_counting(folder) as server:
        root = make_sources_project(tmp_path_factory.mktemp("sources"), server.url)
        site = build(load_config(cwd=root)).output
    # the distribution's server is gone: the site must not need it
    yield site


def test_packages_from_every_source_import_offline(
    sources_site: Path, serve_site: Callable[..., Served], offline_page: tuple[Any, Offline]
) -> None:
    page, record = offline_page
    outputs = lab.run_notebook(page, serve_site(sources_site).url, "sources.ipynb", "DONE sources")
    assert "PACKED 42" in outputs
    assert "TINY tiny 1.0" in outputs
    assert "LOCAL hello from localproj" in outputs
    assert record.external == []
