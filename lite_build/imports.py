"""Optional imports that lite-build's own processes skip, because they only cost time.

``jsonschema`` (through nbformat and jupyter_server, which every build uses) imports
``rfc3987-syntax`` when it is installed (``jupyter_events`` installs it with
``jsonschema[format-nongpl]``). That library builds a Lark parser for the IRI grammar at import
time: 2 to 3 s of one CPU, in the ``lite-build`` process and again in every ``jupyterlite-core``
run of the app step, whatever the site (a known upstream problem,
python-jsonschema/jsonschema#1521). jsonschema only uses it for the ``iri`` and
``iri-reference`` formats, which nothing in a build checks. So the ``lite-build`` command and the
``jupyterlite-core`` it runs mark it as not installed before anything imports it; a program that
imports lite-build as a library is left as it is.
"""

from __future__ import annotations

import sys

#: the modules skipped (an entry of None in sys.modules makes ``import`` raise ImportError,
#: which jsonschema expects of an optional library)
SKIPPED = ("rfc3987_syntax",)


def skip_slow_optional_imports() -> None:
    """Mark the :data:`SKIPPED` modules as not installed, unless one is imported already."""
    for name in SKIPPED:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]
