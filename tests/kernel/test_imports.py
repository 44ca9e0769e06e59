"""Notebook imports against what a kernel ships: reading cells, and the warnings' words."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest

from lite_build.kernel.imports import (
    Catalogue,
    Import,
    Kernel,
    Notebook,
    catalogue,
    cell_imports,
    kernel_modules,
    missing_imports,
    read_notebook,
    runtime_stdlib,
)

STDLIB = frozenset({"math", "os", "sys", "json", "collections"})


def names(source: str) -> list[tuple[str, bool, bool]]:
    return [(item.name, item.optional, item.pip) for item in cell_imports(0, source)]


def test_import_statements_of_every_form_are_found() -> None:
    source = (
        "import os, numpy as np\n"
        "import matplotlib.pyplot as plt\n"
        "from pandas import DataFrame\n"
        "from . import helpers\n"
        "from .helpers import tool\n"
        "def f():\n"
        "    import scipy.stats\n"
    )
    assert names(source) == [
        ("os", False, False),
        ("numpy", False, False),
        ("matplotlib.pyplot", False, False),
        ("pandas", False, False),
        ("scipy.stats", False, False),
    ]
    assert Import(0, "matplotlib.pyplot").top == "matplotlib"


def test_imports_guarded_by_import_error_are_optional() -> None:
    source = (
        "try:\n"
        "    import ujson as json\n"
        "except ImportError:\n"
        "    import json\n"
        "try:\n"
        "    import rich\n"
        "except (ValueError, ModuleNotFoundError):\n"
        "    pass\n"
        "try:\n"
        "    import tqdm\n"
        "except KeyError:\n"
        "    pass\n"
    )
    assert names(source) == [
        ("ujson", True, False),
        ("json", False, False),
        ("rich", True, False),
        ("tqdm", False, False),
    ]


def test_magics_and_pip_install_lines() -> None:
    source = (
        "%pip install -q numpy 'pandas>=2' -r requirements.txt\n"
        "!pip install requests\n"
        "files = !ls\n"
        "%matplotlib inline\n"
        "for i in range(2):\n"
        "    %time import seaborn\n"
        "import scipy\n"
        "len?\n"
    )
    assert names(source) == [
        ("numpy", False, True),
        ("pandas", False, True),
        ("requests", False, True),
        ("scipy", False, False),
    ]


def test_a_cell_with_a_deliberate_syntax_error_still_has_its_imports_read() -> None:
    assert names("import sympy\nprint('unclosed'\n") == [("sympy", False, False)]


def test_cell_magics_python_bodies_are_read_others_not() -> None:
    notebook = {
        "metadata": {"kernelspec": {"name": "packages"}},
        "cells": [
            {"cell_type": "markdown", "source": "import nothing"},
            {"cell_type": "code", "source": "%%time\nimport numpy"},
            {"cell_type": "code", "source": ["%%bash\n", "import nothing\n"]},
            {"cell_type": "code", "source": "%%writefile shapes.py\nimport nothing\n"},
        ],
    }
    read = read_notebook("lesson.ipynb", notebook)
    assert read == Notebook(
        "lesson.ipynb", (Import(1, "numpy"),), "packages", frozenset({"shapes"})
    )


def test_the_runtime_stdlib_comes_from_its_archive_and_compiled_modules() -> None:
    archive = ["json/__init__.py", "annotationlib.py", "site-packages/pyodide/__init__.py", "x.pyc"]
    stdlib = runtime_stdlib(archive)
    # Python modules of the runtime's Python (3.14 has annotationlib; the build machine may not)
    assert {"json", "annotationlib", "pyodide", "x"} <= stdlib
    # compiled into Python: known from the build machine's
    assert {"sys", "math", "itertools"} <= stdlib
    # a Python module the archive lacks is not in the runtime (tkinter: no Tk in the browser)
    assert "tkinter" not in stdlib
    assert "audioop" not in stdlib  # removed by Python 3.13 (PEP 594)


def test_the_stdlib_is_read_from_a_zip_archive(tmp_path: Path) -> None:
    # laid out as Pyodide's python_stdlib.zip
    path = tmp_path / "python_stdlib.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name in ("os.py", "collections/__init__.py", "encodings/utf_8.py"):
            archive.writestr(name, "")
    with zipfile.ZipFile(path) as archive:
        stdlib = runtime_stdlib(archive.namelist())
    assert {"os", "collections", "encodings"} <= stdlib


LOCK = {
    "packages": {
        "attrs": {"imports": ["attr", "attrs"]},
        "micropip": {"imports": ["micropip"]},
    }
}
RUNTIME_LOCK = {
    "packages": {
        "numpy": {"imports": ["numpy"]},
        "scikit-learn": {"imports": ["sklearn"]},
        "attrs": {"imports": ["attr", "attrs"]},
    }
}


@pytest.fixture
def kernels() -> dict[str, Kernel]:
    return {
        "python": kernel_modules("python", STDLIB, {"packages": {}}),
        "packages": kernel_modules("packages", STDLIB, LOCK),
    }


@pytest.fixture
def hints() -> Catalogue:
    return catalogue(RUNTIME_LOCK, STDLIB)


def lesson(*imports: Import, kernel: str | None = None) -> Notebook:
    return Notebook("week1/lesson.ipynb", imports, kernel)


def test_a_kernel_provides_its_stdlib_pyodides_modules_and_its_packages(
    kernels: dict[str, Kernel],
) -> None:
    assert {"math", "js", "pyodide", "attrs", "attr", "micropip"} <= kernels["packages"].modules
    assert kernels["packages"].packages == {"attrs", "micropip"}


def test_provided_optional_and_local_imports_are_no_warning(
    kernels: dict[str, Kernel], hints: Catalogue
) -> None:
    notebook = lesson(
        Import(1, "os.path"),
        Import(2, "attrs"),
        Import(3, "ujson", optional=True),
        Import(4, "helpers"),
        Import(5, "attrs", pip=True),
        kernel="packages",
    )
    assert missing_imports(notebook, kernels, "python", hints, frozenset({"helpers"})) == []


def test_a_missing_import_names_notebook_cell_module_and_fix(
    kernels: dict[str, Kernel], hints: Catalogue
) -> None:
    notebook = lesson(
        Import(2, "numpy"),
        Import(3, "numpy.linalg"),  # the same module: said once
        Import(4, "sklearn.datasets"),
        Import(5, "attrs"),
        Import(6, "tkinter"),
        Import(7, "mylib"),
        Import(8, "Numpy", pip=True),
        kernel="python3",  # not a kernel of the site: the default one runs it
    )
    messages = [item.message() for item in missing_imports(notebook, kernels, "python", hints)]
    assert messages == [
        'week1/lesson.ipynb, cell 2: import numpy: kernel "python" does not ship it; add '
        '"numpy" to the packages of environment "python"',
        'week1/lesson.ipynb, cell 4: import sklearn.datasets: kernel "python" does not ship '
        'it; add "scikit-learn" to the packages of environment "python"',
        'week1/lesson.ipynb, cell 5: import attrs: kernel "python" does not ship it; add '
        '"attrs" to the packages of environment "python", or open the notebook with kernel '
        '"packages", which has it',
        'week1/lesson.ipynb, cell 6: import tkinter: "tkinter" is not in Pyodide\'s standard '
        "library (it has no Pyodide build), so the notebook cannot import it in the browser",
        'week1/lesson.ipynb, cell 7: import mylib: kernel "python" does not ship it; add the '
        'package that provides "mylib" to the packages of environment "python" (pure-Python '
        "packages from PyPI work; a compiled one needs a Pyodide build)",
        'week1/lesson.ipynb, cell 8: %pip install Numpy: kernel "python" does not ship it; add '
        '"Numpy" to the packages of environment "python"',
    ]


def test_the_catalogue_knows_the_standard_modules_pyodide_lacks() -> None:
    hints = catalogue(RUNTIME_LOCK, frozenset(sys.stdlib_module_names) - {"tkinter", "turtle"})
    assert hints.not_in_pyodide == {"tkinter", "turtle"}
    assert hints.distribution["sklearn"] == "scikit-learn"
