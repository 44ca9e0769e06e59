"""``python -m lite_build.site.run_jupyterlite ARGS``: jupyterlite-core's command line, as
``python -m jupyterlite_core ARGS`` runs it, without the slow optional import of
lite_build/imports.py (the app step runs it for every build that changes the app or content)."""

import runpy

from lite_build.imports import skip_slow_optional_imports

skip_slow_optional_imports()
runpy.run_module("jupyterlite_core", run_name="__main__", alter_sys=True)
