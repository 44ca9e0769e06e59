"""Step 3, ``imports``: every notebook's imports checked against what its kernel ships.

A module that neither the runtime's standard library, Pyodide's own modules, the kernel's
environment nor the content beside the notebook provides is a warning naming the notebook, the
cell, the module and the fix; with ``strict`` it is a build error. The findings are kept in the
work folder (``imports.json``).
"""

from __future__ import annotations

import json
import zipfile
from functools import cached_property
from pathlib import Path, PurePosixPath

from lite_build.errors import LiteBuildError
from lite_build.files import write_json
from lite_build.kernel.imports import (
    Kernel,
    MissingImport,
    catalogue,
    kernel_modules,
    missing_imports,
    read_notebook,
    runtime_stdlib,
)
from lite_build.pipeline.step import Step
from lite_build.site.content import ContentFile, collect_content, validate_notebooks
from lite_build.site.paths import LOCK

#: in the work folder: the last scan's warnings
IMPORTS_JSON = "imports.json"


class ImportsStep(Step):
    name = "imports"
    options = ("content", "default-kernel", "environments[].name", "strict")

    def describe(self) -> str:
        return "check the notebooks' imports against their kernels"

    @cached_property
    def content(self) -> list[ContentFile]:
        return collect_content(self.config.content)

    def inputs(self) -> list[Path]:
        return [
            self.work.runtime_json,
            *(self.work.packages_dir(env.name) / LOCK for env in self.config.environments),
            *(item.source for item in self.content if item.source.suffix == ".ipynb"),
        ]

    def code(self) -> dict[str, object]:
        # a module added beside a notebook changes what it may import
        return {"modules": sorted(local_modules(self.content))}

    def targets(self) -> list[Path]:
        return [self.work.root / IMPORTS_JSON]

    def run(self) -> None:
        # a notebook that is not JSON is a build error naming it, before anything reads it
        validate_notebooks(self.content)
        found = self.scan()
        write_json(self.work.root / IMPORTS_JSON, [item.message() for item in found])
        if found and self.config.strict:
            raise LiteBuildError(
                f"{len(found)} import(s) no kernel of the site provides (strict = true):\n"
                + "\n".join(f"  - {item.message()}" for item in found)
            )
        for item in found:
            self.reporter.info(f"warning: {item.message()}")

    def scan(self) -> list[MissingImport]:
        runtime = self.work.runtime()
        with zipfile.ZipFile(runtime.folder / "python_stdlib.zip") as archive:
            stdlib = runtime_stdlib(archive.namelist())
        kernels: dict[str, Kernel] = {}
        for env in self.config.environments:
            lock = json.loads((self.work.packages_dir(env.name) / LOCK).read_text("utf-8"))
            kernels[env.name] = kernel_modules(env.name, stdlib, lock)
        hints = catalogue(runtime.lock, stdlib)
        modules = local_modules(self.content)
        found = []
        for item in self.content:
            if item.source.suffix != ".ipynb":
                continue
            notebook = read_notebook(
                item.site_path, json.loads(item.source.read_text(encoding="utf-8"))
            )
            folder = str(PurePosixPath(item.site_path).parent)
            found += missing_imports(
                notebook,
                kernels,
                self.config.default_kernel,
                hints,
                modules.get(folder, frozenset()),
            )
        return found


def local_modules(content: list[ContentFile]) -> dict[str, frozenset[str]]:
    """Per folder of the site's files, the modules a notebook there imports from beside it
    (``helpers.py``, a package folder with ``__init__.py``)."""
    found: dict[str, set[str]] = {}
    for item in content:
        path = PurePosixPath(item.site_path)
        if path.suffix != ".py":
            continue
        folder, name = str(path.parent), path.stem
        if name == "__init__":
            folder, name = str(path.parent.parent), path.parent.name
        found.setdefault(folder, set()).add(name)
    return {folder: frozenset(names) for folder, names in found.items()}
