"""Which modules notebooks import, and whether their kernel ships them.

Pure logic, read by the ``imports`` build step (lite_build/pipeline/imports.py): the imports of
every code cell (``import a.b``, ``from x import y``, ``%pip install`` lines), and, per import,
whether the notebook's kernel provides it: the runtime's standard library, Pyodide's own
modules, the environment's packages by their import names, or a module beside the notebook.
Relative imports are the notebook's own business; an import inside ``try`` whose ``except``
catches ImportError is optional (the notebook copes without it).
"""

from __future__ import annotations

import ast
import importlib.machinery
import importlib.util
import re
import shlex
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

#: modules every Pyodide kernel has beyond the standard library and its lock's packages
PYODIDE_MODULES = frozenset({"js", "pyodide", "pyodide_js", "_pyodide", "micropip"})

#: extension modules of the build machine's standard library that Python 3.14 no longer has
#: (PEP 594) or that Pyodide does not build (no terminal, no Tk); its Python modules are known
#: from the runtime's own python_stdlib.zip instead
NOT_IN_PYODIDE = frozenset(
    {"audioop", "nis", "ossaudiodev", "spwd", "_crypt", "_tkinter", "readline", "_curses"}
    | {"_curses_panel", "_dbm", "_gdbm"}
)

#: cell magics whose body is Python (the others hold shell, HTML, JavaScript ...)
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun"})

#: exceptions whose handler makes an import in its ``try`` optional
IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})

_MAGIC_LINE = re.compile(r"^(\s*)(?:[\w.]+\s*=\s*)?[%!]")
_PIP_INSTALL = re.compile(r"^\s*(?:[\w.]+\s*=\s*)?(?:%|!)\s*pip3?\s+install\s+(.*)$")


@dataclass(frozen=True)
class Import:
    """One import in a notebook's cell."""

    #: the cell's number in the notebook (as lite-build check names cells)
    cell: int
    #: the module as written (``a.b``), or the requirement of a ``%pip install``
    name: str
    optional: bool = False
    #: True for a ``%pip install`` requirement (``name`` is then a package's name)
    pip: bool = False

    @property
    def top(self) -> str:
        """The top-level module the import needs."""
        return self.name.split(".")[0]

    def describe(self) -> str:
        return f"%pip install {self.name}" if self.pip else f"import {self.name}"


@dataclass(frozen=True)
class Notebook:
    """What the scan reads of one notebook."""

    #: its path in the site's file browser
    path: str
    imports: tuple[Import, ...]
    #: the kernel its metadata names (None: none)
    kernel: str | None
    #: modules the notebook writes itself (``%%writefile name.py``)
    written: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Kernel:
    """What one environment's kernel can import."""

    name: str
    #: top-level import names: the standard library, Pyodide's own modules, the packages
    modules: frozenset[str]
    #: the packages it ships (canonical names), for ``%pip install``
    packages: frozenset[str]


@dataclass(frozen=True)
class Catalogue:
    """Where a missing module could come from, for the fix a warning suggests."""

    #: import name -> the package of the runtime's Pyodide distribution that provides it
    distribution: Mapping[str, str]
    #: CPython's standard library modules Pyodide does not have
    not_in_pyodide: frozenset[str]


@dataclass(frozen=True)
class MissingImport:
    notebook: str
    cell: int
    what: str
    kernel: str
    fix: str

    def message(self) -> str:
        return f"{self.notebook}, cell {self.cell}: {self.what}: {self.fix}"


# -- reading cells ------------------------------------------------------------------------------


def read_notebook(path: str, notebook: Mapping[str, Any]) -> Notebook:
    """The imports of every code cell of ``notebook`` (a notebook's JSON)."""
    imports: list[Import] = []
    written: set[str] = set()
    for index, cell in enumerate(notebook.get("cells") or []):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        first = source.lstrip().split("\n", 1)[0]
        if first.startswith("%%"):
            words = first[2:].split()
            magic = words[0] if words else ""
            if magic == "writefile" and words[1:]:
                written.add(PurePosixPath(words[-1]).stem)
            if magic not in PYTHON_CELL_MAGICS:
                continue
            source = source.lstrip().split("\n", 1)[1] if "\n" in source.strip() else ""
        imports += cell_imports(index, source)
    kernelspec = (notebook.get("metadata") or {}).get("kernelspec") or {}
    kernel = kernelspec.get("name") if isinstance(kernelspec, dict) else None
    return Notebook(path, tuple(imports), kernel, frozenset(written))


def cell_imports(cell: int, source: str) -> list[Import]:
    """The imports in one code cell's ``source`` (IPython magics allowed)."""
    python_lines = []
    pip: list[Import] = []
    for line in source.splitlines():
        install = _PIP_INSTALL.match(line)
        if install:
            pip += [Import(cell, name, pip=True) for name in _requirement_names(install.group(1))]
        magic = _MAGIC_LINE.match(line)
        if magic or line.rstrip().endswith("?"):
            # a magic, a shell command or a help request: not Python, keep the line numbers
            indent = magic.group(1) if magic else line[: len(line) - len(line.lstrip())]
            python_lines.append(f"{indent}pass")
        else:
            python_lines.append(line)
    try:
        tree = ast.parse("\n".join(python_lines))
    except SyntaxError:
        # a lesson's deliberate syntax error: read the import statements line by line
        return pip + [found for line in python_lines for found in _line_imports(cell, line)]
    return pip + list(_tree_imports(cell, tree, optional=False))


def _line_imports(cell: int, line: str) -> list[Import]:
    stripped = line.strip()
    if not stripped.startswith(("import ", "from ")):
        return []
    try:
        tree = ast.parse(stripped)
    except SyntaxError:
        return []
    return list(_tree_imports(cell, tree, optional=False))


def _tree_imports(cell: int, node: ast.AST, *, optional: bool) -> Iterator[Import]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield Import(cell, alias.name, optional)
        return
    if isinstance(node, ast.ImportFrom):
        if node.level == 0 and node.module:
            yield Import(cell, node.module, optional)
        return
    if isinstance(node, ast.Try | ast.TryStar) and any(
        _catches_import_error(handler) for handler in node.handlers
    ):
        for statement in node.body:
            yield from _tree_imports(cell, statement, optional=True)
        rest: list[ast.AST] = [*node.handlers, *node.orelse, *node.finalbody]
        for child in rest:
            yield from _tree_imports(cell, child, optional=optional)
        return
    for child in ast.iter_child_nodes(node):
        yield from _tree_imports(cell, child, optional=optional)


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    caught = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(name, ast.Name) and name.id in IMPORT_ERRORS for name in caught)


def _requirement_names(arguments: str) -> list[str]:
    """The packages a ``pip install`` line names (its options and files left out)."""
    try:
        words = shlex.split(arguments, comments=True)
    except ValueError:
        words = arguments.split()
    names = []
    skip_next = False
    for word in words:
        if skip_next:
            skip_next = False
            continue
        if word.startswith("-"):
            # options that take a value: a requirements file, an index, a constraint ...
            skip_next = word in {"-r", "--requirement", "-c", "--constraint", "-i", "--index-url"}
            continue
        try:
            names.append(Requirement(word).name)
        except InvalidRequirement:
            continue  # a file, a URL or a variable: not a package name to check
    return names


# -- what kernels provide ---------------------------------------------------------------------


def runtime_stdlib(stdlib_zip_names: Iterable[str]) -> frozenset[str]:
    """The runtime's standard library: the Python modules its ``python_stdlib.zip`` holds
    (``stdlib_zip_names``, the archive's file names), and the extension modules compiled into
    Python itself.

    The build machine's Python may be older than the runtime's, so its own
    ``sys.stdlib_module_names`` is not the runtime's: it only says which extension modules a
    Python has (Python modules come from the runtime's archive instead)."""
    modules = set()
    for name in stdlib_zip_names:
        parts = PurePosixPath(name).parts
        if parts and parts[0] == "site-packages":
            parts = parts[1:]
        if parts:
            top = parts[0].split(".")[0]
            if top.isidentifier():
                modules.add(top)
    return frozenset(modules | (extension_modules() - NOT_IN_PYODIDE))


def extension_modules() -> frozenset[str]:
    """The standard library's modules written in C, as the build machine's Python has them
    (a module it lacks, such as a Windows one, is left out)."""
    found = set(sys.builtin_module_names)
    for name in sys.stdlib_module_names:
        spec = importlib.util.find_spec(name) if name not in found else None
        if (
            spec
            and spec.origin
            and spec.origin.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))
        ):
            found.add(name)
    return frozenset(found)


def kernel_modules(name: str, stdlib: frozenset[str], lock: Mapping[str, Any]) -> Kernel:
    """What the kernel of an environment whose ``pyodide-lock.json`` is ``lock`` imports."""
    packages = lock.get("packages") or {}
    modules = {module for entry in packages.values() for module in entry.get("imports") or ()}
    return Kernel(
        name,
        frozenset(stdlib | PYODIDE_MODULES | modules),
        frozenset(canonicalize_name(package) for package in packages),
    )


def catalogue(runtime_lock: Mapping[str, Any], stdlib: frozenset[str]) -> Catalogue:
    """Hints from the runtime's own ``pyodide-lock.json``: which of its packages provides
    which module (``imports``), and which standard modules Pyodide lacks."""
    distribution = {
        module: name
        for name, entry in sorted((runtime_lock.get("packages") or {}).items())
        for module in entry.get("imports") or ()
    }
    missing = (
        frozenset(name for name in sys.stdlib_module_names if not name.startswith("_")) - stdlib
    )
    return Catalogue(distribution, missing)


# -- matching -----------------------------------------------------------------------------------


def missing_imports(
    notebook: Notebook,
    kernels: Mapping[str, Kernel],
    default_kernel: str,
    hints: Catalogue,
    local_modules: frozenset[str] = frozenset(),
) -> list[MissingImport]:
    """The imports of ``notebook`` that its kernel cannot satisfy, each with its fix.

    The kernel is the one the notebook's metadata names if the site has it, else
    ``default_kernel`` (as JupyterLab chooses). ``local_modules`` are the modules beside the
    notebook in the content (the notebook's folder is its working folder)."""
    wanted = notebook.kernel
    kernel = kernels[wanted if wanted is not None and wanted in kernels else default_kernel]
    found = []
    seen: set[tuple[bool, str]] = set()
    for item in notebook.imports:
        key = (item.pip, canonicalize_name(item.name) if item.pip else item.top)
        if item.optional or key in seen:
            continue
        seen.add(key)
        if item.pip:
            if key[1] in kernel.packages:
                continue
            package: str | None = item.name
            module = None
        else:
            if item.top in kernel.modules or item.top in local_modules | notebook.written:
                continue
            module = item.top
            package = hints.distribution.get(module)
        fix = _fix(kernel.name, module, package, kernels, hints)
        found.append(MissingImport(notebook.path, item.cell, item.describe(), kernel.name, fix))
    return found


def _fix(
    kernel: str,
    module: str | None,
    package: str | None,
    kernels: Mapping[str, Kernel],
    hints: Catalogue,
) -> str:
    if module is not None and module in hints.not_in_pyodide:
        return (
            f'"{module}" is not in Pyodide\'s standard library (it has no Pyodide build), so '
            "the notebook cannot import it in the browser"
        )
    where = f'environment "{kernel}"'
    if package is not None:
        fix = f'kernel "{kernel}" does not ship it; add "{package}" to the packages of {where}'
    else:
        fix = (
            f'kernel "{kernel}" does not ship it; add the package that provides "{module}" to '
            f"the packages of {where} (pure-Python packages from PyPI work; a compiled one "
            "needs a Pyodide build)"
        )
    others = sorted(
        other.name
        for other in kernels.values()
        if other.name != kernel
        and (
            module in other.modules
            if module is not None
            else canonicalize_name(package or "") in other.packages
        )
    )
    if others:
        fix += f', or open the notebook with kernel "{others[0]}", which has it'
    return fix
