"""``lite-build build``: the build as a straight line of named, incremental steps.

    runtime   -> the Pyodide core, from the npm registry (cached) or --pyodide   (runtime.py)
    packages  -> per environment: resolve, fetch (cached), write the lock and
                 piplite index, make the kernel snapshot                       (packages.py)
    app       -> the JupyterLite app with the content and settings             (app.py)
    site      -> assemble in a staging folder, patch, verify, swap in           (site.py)

Each step declares what it reads (step.py); engine.py turns the declarations into doit tasks,
so a rebuild with nothing changed runs no step, and an edited notebook re-runs only ``app``
and ``site``.
"""

from __future__ import annotations

from lite_build.pipeline.engine import STEPS, BuildResult, Pipeline, build

#: The configuration each build step reads, as the reference names the options (each step's
#: ``options``). Every option is read by a step or is in NOT_BUILD_INPUTS
#: (tests/pipeline/test_build_inputs.py checks both, and that a step reads nothing it does
#: not declare).
STEP_OPTIONS: dict[str, tuple[str, ...]] = {step.name: step.options for step in STEPS}
#: options no build step reads, and why
NOT_BUILD_INPUTS = {
    "url": "only `lite-build embed` reads it",
    "pyodide": "a table: its keys are the inputs",
    "environments": "an array of tables: their keys are the inputs",
}

__all__ = ["NOT_BUILD_INPUTS", "STEPS", "STEP_OPTIONS", "BuildResult", "Pipeline", "build"]
