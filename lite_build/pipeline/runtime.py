"""Step 1, ``runtime``: the Pyodide core, from the npm registry (cached) or ``--pyodide``."""

from __future__ import annotations

import json
from pathlib import Path

from lite_build.files import write_json
from lite_build.kernel.runtime import ensure_runtime
from lite_build.pipeline.step import Step


class RuntimeStep(Step):
    name = "runtime"
    options = ("pyodide.version", "pyodide.path")

    def describe(self) -> str:
        return f"the Pyodide {self.config.pyodide.version} runtime"

    def targets(self) -> list[Path]:
        return [self.work.runtime_json]

    def present(self) -> bool:
        try:
            info = json.loads(self.work.runtime_json.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return all(Path(path).is_file() for path in info["files"])

    def run(self) -> None:
        runtime = ensure_runtime(
            self.config.pyodide.version, path=self.config.pyodide.path, reporter=self.reporter
        )
        write_json(
            self.work.runtime_json,
            {
                "version": runtime.version,
                "folder": str(runtime.folder),
                "files": [str(path) for path in runtime.files],
            },
        )
