"""A course project taking packages from every local source: a local wheel (tinylib), a local
project (./localproj) and a Pyodide distribution (msgpack) served by a local HTTP server that
counts the requests it answers."""

from __future__ import annotations

import hashlib
import http.server
import json
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from tests.packages.conftest import PYODIDE_314_INFO, build_wheel

#: msgpack's real Pyodide wheel on PyPI (pinned in tests/registry)
MSGPACK_WHEEL = "msgpack-1.2.4-cp314-cp314-pyemscripten_2026_0_wasm32.whl"
MSGPACK_SHA256 = "06a0657a4110d563255006b7cb7147432f67827144e429c2cdb1c967548d1817"


def msgpack_wheel() -> Path:
    """The real msgpack wheel, from the cache (fetched from the package index on a cold cache)."""
    from lite_build.cache import Digest, download
    from lite_build.packages.index import SimpleIndex, wheel_cache_path

    cached = wheel_cache_path(MSGPACK_SHA256, MSGPACK_WHEEL)
    if cached.is_file():
        return cached
    with SimpleIndex() as index:
        file = next(f for f in index.files("msgpack") if f.filename == MSGPACK_WHEEL)
    return download(file.url, cached, Digest("sha256", MSGPACK_SHA256), label=MSGPACK_WHEEL)


def make_distribution(folder: Path) -> Path:
    """A Pyodide distribution: a real catalogue and real files. It lists a package whose file
    is missing ("ghost") and one nobody needs ("unused")."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(msgpack_wheel(), folder / MSGPACK_WHEEL)
    unused = build_wheel(folder, "unused", "1.0")
    catalogue = {
        "info": dict(PYODIDE_314_INFO),
        "packages": {
            "msgpack": catalogue_entry(
                "msgpack", "1.2.4", MSGPACK_WHEEL, MSGPACK_SHA256, ["msgpack"]
            ),
            "unused": catalogue_entry("unused", "1.0", unused.name, _sha256(unused), ["unused"]),
            # listed, but the distribution lacks its file: must fall through to the next source
            "ghost": catalogue_entry(
                "ghost", "9.9", "ghost-9.9-py3-none-any.whl", "0" * 64, ["ghost"]
            ),
        },
    }
    (folder / "pyodide-lock.json").write_text(json.dumps(catalogue, indent=1))
    return folder


def catalogue_entry(
    name: str, version: str, file_name: str, sha256: str, imports: list[str]
) -> dict:
    """A pure package's ``pyodide-lock.json`` entry."""
    return {
        "name": name,
        "version": version,
        "file_name": file_name,
        "sha256": sha256,
        "imports": imports,
        "depends": [],
        "install_dir": "site",
        "package_type": "package",
        "unvendored_tests": False,
    }


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class CountingServer:
    url: str
    requests: list[str] = field(default_factory=list)


@contextmanager
def serve_counting(folder: Path) -> Iterator[CountingServer]:
    """Serve ``folder`` on 127.0.0.1; record "METHOD /path" of every request."""
    server_record = CountingServer("")

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)  # type: ignore[arg-type]

        def send_head(self):  # type: ignore[no-untyped-def]
            server_record.requests.append(f"{self.command} {self.path}")
            return super().send_head()

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    server_record.url = f"http://127.0.0.1:{httpd.server_address[1]}/dist/"
    try:
        yield server_record
    finally:
        httpd.shutdown()
        httpd.server_close()


LOCALPROJ_PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "localproj"
version = "0.3.0"
"""

CONFIG = """\
title = "Sources"
content = ["content"]
wheels = ["wheels"]

[pyodide]
distribution = "{distribution}"

[[environments]]
name = "python"
packages = ["msgpack", "tinylib", "./localproj"]
"""

CELLS = [
    "import msgpack\nprint('PACKED', msgpack.unpackb(msgpack.packb({'n': 42}))['n'])",
    "import tinylib\nprint('TINY', tinylib.VALUE)",
    "import localproj\nprint('LOCAL', localproj.greet())",
    "print('DONE sources')",
]


def make_sources_project(root: Path, distribution: str) -> Path:
    (root / "content").mkdir(parents=True)
    (root / "wheels").mkdir()
    build_wheel(
        root / "wheels", "tinylib", "1.0", files={"tinylib/__init__.py": "VALUE = 'tiny 1.0'\n"}
    )
    project = root / "localproj"
    (project / "src" / "localproj").mkdir(parents=True)
    (project / "pyproject.toml").write_text(LOCALPROJ_PYPROJECT)
    (project / "src" / "localproj" / "__init__.py").write_text(
        "def greet():\n    return 'hello from localproj'\n"
    )
    (root / "lite-build.toml").write_text(CONFIG.format(distribution=distribution))
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(code) for code in CELLS]
    nbformat.write(notebook, root / "content" / "sources.ipynb")
    return root


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): _sha256(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }
