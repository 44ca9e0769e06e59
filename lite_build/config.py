"""The site configuration: one typed model, loaded from TOML and validated in one pass.

Sources, first found wins: ``--config FILE``; ``lite-build.toml`` in the current folder;
``[tool.lite-build]`` in ``pyproject.toml`` in the current folder; built-in defaults if the
current folder has a ``content`` folder. Relative paths resolve against the folder of the file
they were written in; command-line paths against the current folder.

Every option is declared once, in :data:`OPTIONS`; validation and documentation read it.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar, cast
from urllib.parse import urlsplit

from jupyterlite_pyodide_kernel.constants import PYODIDE_VERSION
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from lite_build.cache import check_remote_url
from lite_build.errors import ConfigError, LiteBuildError
from lite_build.files import load_toml

#: the work folder (incremental state) lives next to the config file
WORK_DIR_NAME = ".lite-build"
DEFAULT_OUTPUT = "_output"
DEFAULT_ENVIRONMENT_NAME = "python"
DEFAULT_DISPLAY_NAME = "Python (Pyodide)"


@dataclass(frozen=True)
class Environment:
    """One Python environment: becomes one kernel of the site."""

    name: str
    display_name: str
    #: PEP 508 requirement strings, as written by the user
    packages: tuple[str, ...] = ()
    #: package names (from ``packages``) imported when the kernel starts
    preload: tuple[str, ...] = ()
    #: Python code run before the kernel's first cell (the ``startup`` string, or its file's text)
    startup: str = ""
    #: where ``startup`` came from, as tracebacks name it: the file as written, or the key
    startup_origin: str = ""
    #: an image shown for the kernel in the launcher
    logo: Path | None = None


@dataclass(frozen=True)
class PyodideSettings:
    version: str = PYODIDE_VERSION
    #: a local Pyodide folder or tarball used instead of the npm registry (``--pyodide``)
    path: Path | None = None
    #: a full Pyodide distribution as a package source: an absolute folder/archive path or a URL
    #: (None: the release matching the runtime; False: none at all)
    distribution: str | Literal[False] | None = None


@dataclass(frozen=True)
class SiteConfig:
    #: the folder relative paths resolve against (the config file's folder)
    root: Path
    #: where the configuration was read from, for messages (None: built-in defaults)
    config_file: Path | None
    title: str = "lite-build"
    content: tuple[Path, ...] = ()
    overrides: Path | None = None
    output: Path = field(default_factory=lambda: Path(DEFAULT_OUTPUT))
    offline: bool = True
    #: ship JavaScript source maps (large; off by default)
    source_maps: bool = False
    #: the site needs cross-origin isolation (COOP/COEP): `_headers` and the servers send it
    isolated: bool = False
    #: a service worker keeps the whole site for offline use after the first visit
    precache: bool = True
    #: wheels ship with precompiled bytecode (Node.js at build time)
    bytecode: bool = False
    #: each environment's kernel starts from a memory snapshot made at build time (Node.js)
    snapshot: bool = True
    #: an import no kernel provides is a build error, not a warning
    strict: bool = False
    pyodide: PyodideSettings = field(default_factory=PyodideSettings)
    environments: tuple[Environment, ...] = ()
    #: local wheel files and folders of wheels, preferred over every other package source
    wheels: tuple[Path, ...] = ()
    #: the environment new notebooks and the REPL start with
    default_kernel: str = DEFAULT_ENVIRONMENT_NAME
    #: the public address of the site (always ends with "/"), for embed snippets
    url: str | None = None
    #: the site's identity as configured (None: derived from the title); see ``site_id``
    id: str | None = None

    @property
    def work_dir(self) -> Path:
        return self.root / WORK_DIR_NAME

    @property
    def site_id(self) -> str:
        """The site's identity: names the browser storage of students' files and settings."""
        return self.id or site_id_from_title(self.title)


def site_id_from_title(title: str) -> str:
    """A storage-safe name for ``title``: "Intro to Python" -> "intro-to-python"."""
    slug = re.sub(r"[^\w.]+", "-", title.strip().lower()).strip("-.")
    return slug or "site"


_T = TypeVar("_T")

# --- the options -------------------------------------------------------------------------------

CONFIG_FILE_NAME = "lite-build.toml"
PYPROJECT_FILE_NAME = "pyproject.toml"
PYPROJECT_TABLE = "lite-build"
DEFAULT_CONTENT = "content"
DEFAULT_OVERRIDES = "overrides"
#: kernel names end up in URLs and folder names
KERNEL_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
PYODIDE_ARCHIVE_SUFFIXES = (".tar.bz2", ".tgz", ".tar.gz")
#: kernel logos are shown by the browser: formats every browser draws
LOGO_SUFFIXES = (".svg", ".png")

OptionType = Literal[
    "string",
    "string or false",
    "boolean",
    "string or list of strings",
    "list of strings",
    "table",
    "array of tables",
]
#: the TOML tables options live in: the top level, ``[pyodide]``, ``[[environments]]``
Table = Literal["", "pyodide", "environments"]

_EXPECTED: dict[OptionType, str] = {
    "string": "a string",
    "string or false": "a string or false",
    "boolean": "true or false",
    "string or list of strings": "a string or a list of strings",
    "list of strings": "a list of strings",
    "table": "a table",
    "array of tables": "an array of tables",
}


@dataclass(frozen=True)
class Option:
    """One configuration key, declared once: validation and documentation both read it."""

    table: Table
    #: the key as written in TOML (kebab-case)
    key: str
    type: OptionType
    #: the value used when the key is absent (None: no value)
    default: object
    help: str
    required: bool = False
    #: how the documentation shows the default, when ``default`` cannot say it
    default_doc: str | None = None

    @property
    def field(self) -> str:
        """The key's field in its table's record (:class:`SiteConfig`, :class:`Environment`,
        :class:`PyodideSettings`)."""
        return self.key.replace("-", "_")

    @property
    def name(self) -> str:
        """The dotted name documentation uses: ``title``, ``pyodide.version``, ..."""
        prefix = {"": "", "pyodide": "pyodide.", "environments": "environments[]."}[self.table]
        return prefix + self.key


OPTIONS: tuple[Option, ...] = (
    Option("", "title", "string", "lite-build", "The site's title (browser tab, app name)."),
    Option(
        "",
        "content",
        "string or list of strings",
        (DEFAULT_CONTENT,),
        "Folders (their contents) and files shipped in the site, shown in the file browser. "
        "A corrupt notebook is a build error naming the file. If left at the default and "
        "`content/` does not exist, the site has no content.",
    ),
    Option(
        "",
        "overrides",
        "string",
        DEFAULT_OVERRIDES,
        "Folder holding `overrides.json`: JupyterLab settings defaults for the site, as "
        '`{"plugin-id": {"setting": value}}`, checked at build time. If left at the default '
        "and `overrides/` does not exist, there are none.",
    ),
    Option(
        "",
        "output",
        "string",
        DEFAULT_OUTPUT,
        "Folder the site is written to. A build replaces it wholesale (atomically), so it must "
        "be a folder of its own: lite-build refuses to replace a folder it did not make. "
        "`--output` overrides it.",
    ),
    Option(
        "",
        "offline",
        "boolean",
        True,
        "The site never reaches another origin: `%pip install` of a package the site "
        "does not ship fails at once instead of trying PyPI. Set false to let students "
        "install extra pure-Python packages from PyPI.",
    ),
    Option("", "source-maps", "boolean", False, "Ship JavaScript source maps (large)."),
    Option(
        "",
        "isolated",
        "boolean",
        False,
        "Serve the site cross-origin isolated (COOP/COEP headers, SharedArrayBuffer): written "
        "to `_headers` (Netlify, Cloudflare Pages) and sent by `lite-build serve` and the "
        "bundle's `start.py`.",
    ),
    Option(
        "",
        "precache",
        "boolean",
        True,
        "Keep the whole site in the browser after the first visit (a service worker fills a "
        "cache in the background), so it reloads and runs code offline.",
    ),
    Option(
        "",
        "bytecode",
        "boolean",
        False,
        "Ship the wheels with precompiled bytecode, made by the site's own Pyodide in Node.js "
        "(needs Node.js 18 or newer at build time): the kernel imports about a quarter faster, "
        "and the site grows by about 5 MB compressed.",
    ),
    Option(
        "",
        "snapshot",
        "boolean",
        True,
        "Start each kernel from a memory snapshot of its Python with IPython already imported "
        "and its wheels unpacked, made at build time by the site's own Pyodide in Node.js "
        "(needs Node.js 18 or newer; without it the build says so and ships none): the kernel "
        "is ready seconds sooner and behaves as a freshly started one. The snapshot (about "
        "17 MB compressed) is used where it arrives at disk speed: a site served from the "
        "learner's computer, and later visits (the offline cache keeps it after a first visit, "
        "which starts the usual way).",
    ),
    Option(
        "",
        "strict",
        "boolean",
        False,
        "Make a notebook's import that its kernel does not provide (checked at build time "
        "against the standard library, Pyodide's modules and the environment's packages) a "
        "build error instead of a warning. `--strict` sets it for one build.",
    ),
    Option(
        "",
        "id",
        "string",
        None,
        "The site's identity: it names the browser storage holding students' files and "
        "settings, so two sites on one host never see each other's. Derived from `title` when "
        "not given; set it to keep students' work when the title changes.",
        default_doc="from `title`",
    ),
    Option(
        "",
        "url",
        "string",
        None,
        'The site\'s public address, such as "https://example.org/course/"; '
        "`lite-build embed` uses it in the HTML it prints.",
        default_doc="",
    ),
    Option(
        "",
        "wheels",
        "list of strings",
        (),
        "Local wheel files, and folders of wheels, preferred over every other package source "
        "(then local projects, `pyodide.distribution`, PyPI).",
    ),
    Option("", "pyodide", "table", {}, "The Pyodide runtime (see `pyodide.*`).", default_doc=""),
    Option(
        "",
        "environments",
        "array of tables",
        (),
        "Python environments, one kernel each (see `environments[].*`). With none, the site "
        f'has one environment named "{DEFAULT_ENVIRONMENT_NAME}".',
        default_doc="",
    ),
    Option(
        "",
        "default-kernel",
        "string",
        None,
        "The environment (by name) new notebooks and the REPL start with.",
        default_doc="the first environment",
    ),
    Option(
        "pyodide",
        "version",
        "string",
        PYODIDE_VERSION,
        "Pyodide release to bundle, fetched from the npm registry's `pyodide` package and "
        "checked against its published integrity hash.",
        default_doc=f"{PYODIDE_VERSION} (what the installed jupyterlite-pyodide-kernel expects)",
    ),
    Option(
        "pyodide",
        "path",
        "string",
        None,
        "A local Pyodide folder or .tar.bz2/.tgz/.tar.gz file used instead of downloading "
        "Pyodide. `--pyodide` overrides it.",
    ),
    Option(
        "pyodide",
        "distribution",
        "string or false",
        None,
        "A full Pyodide distribution used as a package source (numpy, pandas, scipy ...): a "
        "folder or .tar.bz2 file of a Pyodide release, or its base URL. Only the packages the "
        "site needs are read or downloaded, each checked against its `pyodide-lock.json`. "
        "Unset, packages no other source has a Pyodide build of come from the Pyodide release "
        "matching the runtime (downloaded when needed, checked against the runtime's "
        "`pyodide-lock.json`); `false` turns that off.",
        default_doc="the release matching the runtime",
    ),
    Option(
        "environments",
        "name",
        "string",
        None,
        "Kernel name: lowercase letters, digits, `_`, `.` and `-`, starting with a letter or "
        "digit.",
        required=True,
    ),
    Option(
        "environments",
        "display-name",
        "string",
        None,
        "Name shown in the launcher.",
        default_doc='"Python (<name>)"',
    ),
    Option(
        "environments",
        "packages",
        "list of strings",
        (),
        'Requirements (PEP 508) installed into the environment, such as "attrs>=23", '
        '`"-r requirements.txt"`, `"-g pyproject.toml:GROUP"` (PEP 735) and local project '
        'folders (`"./mylib"`): pure-Python packages and packages with Pyodide wheels.',
    ),
    Option(
        "environments",
        "preload",
        "list of strings",
        (),
        "Packages from `packages` imported when the kernel starts.",
    ),
    Option(
        "environments",
        "startup",
        "string",
        None,
        "Python code run before the kernel's first cell, in the notebook's folder, or the path "
        "of a `.py` file holding it; IPython magics work. Its output and errors show in that "
        "cell.",
    ),
    Option(
        "environments",
        "logo",
        "string",
        None,
        "An .svg or .png image shown for the kernel in the launcher.",
    ),
)

_OPTIONS_BY_TABLE: dict[Table, dict[str, Option]] = {
    table: {option.key: option for option in OPTIONS if option.table == table}
    for table in ("", "pyodide", "environments")
}


@dataclass(frozen=True)
class OptionDoc:
    """One row of the option reference."""

    name: str
    type: str
    default: str
    help: str


def describe_options() -> list[OptionDoc]:
    """The option reference, in declaration order, for documentation and ``--help`` texts."""
    return [
        OptionDoc(option.name, option.type, _default_doc(option), option.help) for option in OPTIONS
    ]


def _default_doc(option: Option) -> str:
    if option.default_doc is not None:
        return option.default_doc
    if option.required:
        return "(required)"
    return "" if option.default is None else _show(option.default)


def option_value(config: SiteConfig, name: str) -> object:
    """The validated value of the option ``name`` (``title``, ``pyodide.version``,
    ``environments[].packages``), as JSON-able data: what a build step's change detection
    compares. ``id`` is the site's identity as the site uses it (derived from the title when
    not given)."""

    def plain(value: object) -> object:
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, (tuple, list)):
            return [plain(item) for item in value]
        return value

    if name.startswith("pyodide."):
        return plain(getattr(config.pyodide, name.removeprefix("pyodide.")))
    if name.startswith("environments[]."):
        key = name.removeprefix("environments[].")
        if key == "startup":
            return [[env.startup, env.startup_origin] for env in config.environments]
        return [plain(getattr(env, key.replace("-", "_"))) for env in config.environments]
    if name == "id":
        return config.site_id
    return plain(getattr(config, name.replace("-", "_")))


# --- loading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    """Where the configuration comes from."""

    #: the file, or None for built-in defaults
    path: Path | None
    #: the source as the user would name it, for messages
    label: str
    data: Mapping[str, object]


def load_config(
    config_file: Path | None = None,
    *,
    cwd: Path | None = None,
    output: Path | None = None,
    pyodide_path: Path | None = None,
) -> SiteConfig:
    """Find, read and validate the configuration; raise :class:`ConfigError` listing all problems.

    ``output`` and ``pyodide_path`` are the ``--output`` and ``--pyodide`` options: when given
    they win over the file. They, and ``config_file``, are relative to ``cwd``.
    """
    cwd = Path.cwd() if cwd is None else _absolute(Path.cwd(), cwd)
    source = _find_source(config_file, cwd)
    return _validate(source, cwd, output, pyodide_path)


def _find_source(config_file: Path | None, cwd: Path) -> _Source:
    if config_file is not None:
        return _given_source(_absolute(cwd, config_file), cwd)
    candidate = cwd / CONFIG_FILE_NAME
    if candidate.is_file():
        return _Source(candidate, _display(candidate, cwd), _read_toml(candidate, cwd))
    candidate = cwd / PYPROJECT_FILE_NAME
    if candidate.is_file():
        source = _pyproject_source(candidate, cwd)
        if source is not None:
            return source
    if (cwd / DEFAULT_CONTENT).exists():
        return _Source(None, "command line", {})
    raise LiteBuildError(
        f"no configuration found in {cwd}: no {CONFIG_FILE_NAME}, no [tool.{PYPROJECT_TABLE}] "
        f"table in {PYPROJECT_FILE_NAME} and no {DEFAULT_CONTENT} folder; run `lite-build init "
        "DIR` to start a site, or point to a configuration file with --config FILE"
    )


def _given_source(path: Path, cwd: Path) -> _Source:
    shown = _display(path, cwd)
    if not path.is_file():
        problem = "is not a file" if path.exists() else "does not exist"
        raise LiteBuildError(f"--config {shown}: {problem}")
    if path.name != PYPROJECT_FILE_NAME:
        return _Source(path, shown, _read_toml(path, cwd))
    source = _pyproject_source(path, cwd)
    if source is None:
        raise LiteBuildError(
            f"--config {shown}: has no [tool.{PYPROJECT_TABLE}] table; add one, or use a "
            f"{CONFIG_FILE_NAME} file"
        )
    return source


def _pyproject_source(path: Path, cwd: Path) -> _Source | None:
    """The ``[tool.lite-build]`` table of a pyproject.toml, or None if it has none."""
    document = _read_toml(path, cwd)
    tool = document.get("tool")
    table = tool.get(PYPROJECT_TABLE) if isinstance(tool, dict) else None
    if table is None:
        return None
    if not isinstance(table, dict):
        problem = f"tool.{PYPROJECT_TABLE}: expected a table, got {_show(table)}"
        raise ConfigError(_display(path, cwd), [problem])
    return _Source(path, f"{_display(path, cwd)} [tool.{PYPROJECT_TABLE}]", table)


_TOML_POSITION = re.compile(r"^(?P<message>.*) \(at line (?P<line>\d+), column (?P<column>\d+)\)$")


def _read_toml(path: Path, cwd: Path) -> dict[str, object]:
    shown = _display(path, cwd)
    try:
        return load_toml(path)
    except OSError as error:
        raise LiteBuildError(f"{shown}: cannot read the file: {error.strerror}") from error
    except UnicodeDecodeError as error:
        raise ConfigError(shown, ["not valid TOML: the file is not UTF-8 text"]) from error
    except tomllib.TOMLDecodeError as error:
        # Python 3.11's error has no line/column attributes: they are only in the message
        match = _TOML_POSITION.match(str(error))
        where = f"line {match['line']}, column {match['column']}: " if match else ""
        reason = match["message"] if match else str(error)
        raise ConfigError(shown, [f"not valid TOML: {where}{reason}"]) from error


# --- validation --------------------------------------------------------------------------------


def _validate(
    source: _Source, cwd: Path, cli_output: Path | None, cli_pyodide: Path | None
) -> SiteConfig:
    problems: list[str] = []
    root = source.path.parent if source.path is not None else cwd
    top = _check_table(source.data, "", "", problems)
    pyodide_table = cast(Mapping[str, object], _get(top, "", "pyodide"))
    pyodide = _check_table(pyodide_table, "pyodide", "pyodide.", problems)

    title = cast(str, _get(top, "", "title"))
    if not title.strip():
        problems.append("title: must not be empty")
    content = _content(top, root, problems)
    overrides = _overrides(top, root, problems)
    pyodide_settings = _pyodide(pyodide, root, cwd, cli_pyodide, problems)
    wheels = _wheels(top, root, problems)
    environments = _environments(top, root, problems)
    default_kernel = _default_kernel(top, environments, problems)
    if cli_output is not None:
        output_key, output_raw = "--output", str(cli_output)
        output = _absolute(cwd, cli_output)
    else:
        output_key, output_raw = "output", cast(str, _get(top, "", "output"))
        output = _absolute(root, output_raw)
    protected = _protected_places(root, cwd, content, overrides, pyodide_settings.path)
    problem = _output_problem(output, protected)
    if problem:
        problems.append(f"{output_key}: {_show(output_raw)} {problem}")

    url = _site_url(cast("str | None", _get(top, "", "url")), problems)
    site_id = cast("str | None", _get(top, "", "id"))
    if site_id is not None and not _SITE_ID.fullmatch(site_id):
        problems.append(
            f"id: {_show(site_id)} must be 1 to 64 letters, digits, '-', '_' or '.', "
            'such as "python-course-2026"'
        )

    if problems:
        raise ConfigError(source.label, problems)
    return SiteConfig(
        root=root,
        config_file=source.path,
        title=title,
        content=tuple(path for path, _raw in content if path.exists()),
        overrides=overrides[0] if overrides else None,
        output=output,
        # switches need nothing beyond their declaration: the field is the key in snake_case
        **{
            option.field: cast(bool, _get(top, "", option.key))
            for option in OPTIONS
            if option.table == "" and option.type == "boolean"
        },
        pyodide=pyodide_settings,
        wheels=wheels,
        environments=environments,
        default_kernel=default_kernel,
        url=url,
        id=site_id,
    )


_SITE_ID = re.compile(r"[\w.-]{1,64}")


def _site_url(raw: str | None, problems: list[str]) -> str | None:
    """A public http(s) address, normalised to end with "/"; None when not given."""
    if raw is None:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        problems.append(
            f"url: {_show(raw)} is not a web address of a folder; "
            'give the address the site is served at, such as "https://example.org/course/"'
        )
        return None
    return raw if raw.endswith("/") else raw + "/"


def _check_table(
    data: Mapping[str, object], table: Table, prefix: str, problems: list[str]
) -> dict[str, object]:
    """Report unknown keys and wrongly typed values; return the well-typed values."""
    options = _OPTIONS_BY_TABLE[table]
    checked: dict[str, object] = {}
    for key, value in data.items():
        option = options.get(key)
        if option is None:
            problems.append(f"{prefix}{key}: unknown key; {_suggest(key, list(options))}")
            continue
        checked_value = _check_value(prefix + key, option.type, value, problems)
        if checked_value is not None:
            checked[key] = checked_value
    for option in options.values():
        if option.required and option.key not in data:
            problems.append(f"{prefix}{option.key}: missing; this key is required")
    return checked


def _items(value: object, item_type: type[_T]) -> list[tuple[int, _T]]:
    """The items of a checked list that have the right type (the others are reported), indexed."""
    items = cast(Sequence[object], value)
    return [(index, item) for index, item in enumerate(items) if isinstance(item, item_type)]


def _get(checked: Mapping[str, object], table: Table, key: str) -> object:
    """A checked value, or the option's default."""
    if key in checked:
        return checked[key]
    return _OPTIONS_BY_TABLE[table][key].default


def _suggest(key: str, valid: list[str]) -> str:
    hyphenated = key.replace("_", "-")
    matches = [hyphenated] if hyphenated in valid else difflib.get_close_matches(key, valid, n=1)
    if matches:
        return f"did you mean {_show(matches[0])}?"
    return "valid keys are " + ", ".join(_show(name) for name in valid)


#: the Python types a TOML value of each option type may have as a whole
_WHOLE_TYPES: dict[OptionType, tuple[type, ...]] = {
    "string": (str,),
    "string or false": (str, bool),
    "boolean": (bool,),
    "table": (dict,),
    "string or list of strings": (str,),
    "list of strings": (),
    "array of tables": (),
}
#: the item type of each type that may be a list
_ITEM_TYPES: dict[OptionType, tuple[type, OptionType]] = {
    "string or list of strings": (str, "string"),
    "list of strings": (str, "string"),
    "array of tables": (dict, "table"),
}


def _check_value(
    name: str, expected: OptionType, value: object, problems: list[str]
) -> object | None:
    """``value`` if it has the expected type, a list (wrong items reported), or None."""
    if isinstance(value, _WHOLE_TYPES[expected]):
        return value
    if expected in _ITEM_TYPES and isinstance(value, list):
        item_type, item_name = _ITEM_TYPES[expected]
        for index, item in enumerate(value):
            if not isinstance(item, item_type):
                got = _show(item)
                problems.append(f"{name}[{index}]: expected {_EXPECTED[item_name]}, got {got}")
        return value
    problems.append(f"{name}: expected {_EXPECTED[expected]}, got {_show(value)}")
    return None


def _content(top: Mapping[str, object], root: Path, problems: list[str]) -> list[tuple[Path, str]]:
    """The content entries as (absolute path, as written); reports missing and repeated ones."""
    value = _get(top, "", "content")
    if isinstance(value, str):
        entries = [("content", value)]
    else:
        entries = [(f"content[{index}]", raw) for index, raw in _items(value, str)]
    explicit = "content" in top
    content: list[tuple[Path, str]] = []
    seen: set[Path] = set()
    for key, raw in entries:
        path = _absolute(root, raw)
        if path in seen:
            problems.append(f"{key}: {_show(raw)} is listed twice")
            continue
        seen.add(path)
        if not path.exists() and explicit:
            problems.append(f"{key}: {_show(raw)} does not exist (looked for {path})")
        else:
            content.append((path, raw))
    return content


def _overrides(
    top: Mapping[str, object], root: Path, problems: list[str]
) -> tuple[Path, str] | None:
    raw = cast(str, _get(top, "", "overrides"))
    path = _absolute(root, raw)
    if path.is_dir():
        return path, raw
    if "overrides" in top:
        problem = "is not a folder" if path.exists() else f"does not exist (looked for {path})"
        problems.append(f"overrides: {_show(raw)} {problem}")
    return None


def _pyodide(
    pyodide: Mapping[str, object],
    root: Path,
    cwd: Path,
    cli_path: Path | None,
    problems: list[str],
) -> PyodideSettings:
    version = cast(str, _get(pyodide, "pyodide", "version"))
    distribution = _distribution(
        cast("str | bool | None", _get(pyodide, "pyodide", "distribution")), root, problems
    )
    try:
        Version(version)
    except InvalidVersion:
        problems.append(
            f"pyodide.version: {_show(version)} is not a version number; write one such as "
            f"{_show(PYODIDE_VERSION)}"
        )
    if cli_path is not None:
        key, raw, path = "--pyodide", str(cli_path), _absolute(cwd, cli_path)
    elif "path" in pyodide:
        raw = cast(str, pyodide["path"])
        key, path = "pyodide.path", _absolute(root, raw)
    else:
        return PyodideSettings(version=version, distribution=distribution)
    problem = _pyodide_path_problem(path)
    if problem:
        problems.append(f"{key}: {_show(raw)} {problem}")
    return PyodideSettings(version=version, path=path, distribution=distribution)


def _distribution(
    raw: str | bool | None, root: Path, problems: list[str]
) -> str | Literal[False] | None:
    """A distribution URL as written, an absolute path that exists, or False (none at all)."""
    if raw is None or raw is False:
        return raw
    if raw is True:
        problems.append(
            "pyodide.distribution: true is not a distribution; give a folder, .tar.bz2 file or "
            "URL, or leave it out to use the Pyodide release matching the runtime"
        )
        return None
    if urlsplit(raw).scheme in ("http", "https"):
        try:
            return check_remote_url(raw, source="pyodide.distribution")
        except LiteBuildError as error:
            problems.append(str(error))
            return None
    if "://" in raw:
        problems.append(
            f"pyodide.distribution: {_show(raw)}: only https addresses are supported (plain "
            "http only from this machine)"
        )
        return None
    path = _absolute(root, raw)
    if path.is_dir() and not (path / "pyodide-lock.json").is_file():
        problems.append(
            f"pyodide.distribution: {_show(raw)} has no pyodide-lock.json; give the folder of a "
            "full Pyodide release"
        )
    elif path.is_file() and not path.name.endswith(PYODIDE_ARCHIVE_SUFFIXES):
        problems.append(
            f"pyodide.distribution: {_show(raw)} is neither a folder nor a .tar.bz2, .tgz or "
            ".tar.gz file"
        )
    elif not path.exists():
        problems.append(f"pyodide.distribution: {_show(raw)} does not exist (looked for {path})")
    return str(path)


def _wheels(top: Mapping[str, object], root: Path, problems: list[str]) -> tuple[Path, ...]:
    wheels = []
    for index, raw in _items(_get(top, "", "wheels"), str):
        path = _absolute(root, raw)
        if path.is_dir():
            if not any(path.glob("*.whl")):
                problems.append(f"wheels[{index}]: {_show(raw)} is a folder without .whl files")
        elif not path.is_file():
            problems.append(f"wheels[{index}]: {_show(raw)} does not exist (looked for {path})")
        elif not path.name.endswith(".whl"):
            problems.append(f"wheels[{index}]: {_show(raw)} is not a .whl file")
        wheels.append(path)
    return tuple(wheels)


def _pyodide_path_problem(path: Path) -> str | None:
    if not path.exists():
        return f"does not exist (looked for {path})"
    if path.is_file() and not path.name.endswith(PYODIDE_ARCHIVE_SUFFIXES):
        return "is neither a folder nor a .tar.bz2, .tgz or .tar.gz file"
    return None


def _environments(
    top: Mapping[str, object], root: Path, problems: list[str]
) -> tuple[Environment, ...]:
    tables = _items(_get(top, "", "environments"), dict)
    if not tables:
        return (Environment(name=DEFAULT_ENVIRONMENT_NAME, display_name=DEFAULT_DISPLAY_NAME),)
    environments: list[Environment] = []
    first_use: dict[str, int] = {}
    for index, table in tables:
        prefix = f"environments[{index}]."
        checked = _check_table(table, "environments", prefix, problems)
        environment = _environment(checked, prefix, root, problems)
        if environment is None:
            continue
        if environment.name in first_use:
            problems.append(
                f"{prefix}name: {_show(environment.name)} is already the name of "
                f"environments[{first_use[environment.name]}]; kernel names must be unique"
            )
        first_use.setdefault(environment.name, index)
        environments.append(environment)
    return tuple(environments)


def _environment(
    checked: Mapping[str, object], prefix: str, root: Path, problems: list[str]
) -> Environment | None:
    """One environment, or None if its name is missing or invalid (already reported)."""
    name = cast("str | None", _get(checked, "environments", "name"))
    if name is not None and not KERNEL_NAME_PATTERN.match(name):
        problems.append(
            f"{prefix}name: {_show(name)} is not a valid kernel name; use lowercase letters, "
            'digits, "_", "." and "-", starting with a letter or digit'
        )
        name = None
    display_name = cast("str | None", _get(checked, "environments", "display-name"))
    if display_name is not None and not display_name.strip():
        problems.append(f"{prefix}display-name: must not be empty")
    packages = [item for _, item in _items(_get(checked, "environments", "packages"), str)]
    preload = [item for _, item in _items(_get(checked, "environments", "preload"), str)]
    known = len(problems)
    names = _requirement_names(packages, prefix + "packages", root, problems)
    # an unparsable requirement has no name to check preload against: report it alone
    if len(problems) == known:
        problems += _preload_problems(preload, names, prefix + "preload")
    startup, startup_origin = _startup(checked, prefix, root, problems)
    logo = _logo(checked, prefix, root, problems)
    if name is None:
        return None
    return Environment(
        name=name,
        display_name=display_name or f"Python ({name})",
        packages=tuple(packages),
        preload=tuple(preload),
        startup=startup,
        startup_origin=startup_origin,
        logo=logo,
    )


def _startup(
    checked: Mapping[str, object], prefix: str, root: Path, problems: list[str]
) -> tuple[str, str]:
    """The start-up code and where it came from; a one-line value ending in .py is a file."""
    raw = cast("str | None", _get(checked, "environments", "startup"))
    if raw is None:
        return "", ""
    if "\n" in raw or not raw.strip().endswith(".py"):
        return raw, f"{prefix}startup"
    path = _absolute(root, raw.strip())
    try:
        return path.read_text(encoding="utf-8"), raw.strip()
    except FileNotFoundError:
        problem = f"does not exist (looked for {path})"
    except IsADirectoryError:
        problem = "is a folder; give a .py file"
    except UnicodeDecodeError:
        problem = "is not UTF-8 text"
    except OSError as error:
        problem = f"cannot be read: {error.strerror}"
    problems.append(f"{prefix}startup: {_show(raw)} {problem}")
    return "", ""


def _logo(
    checked: Mapping[str, object], prefix: str, root: Path, problems: list[str]
) -> Path | None:
    raw = cast("str | None", _get(checked, "environments", "logo"))
    if raw is None:
        return None
    path = _absolute(root, raw)
    if not path.name.lower().endswith(LOGO_SUFFIXES):
        problems.append(f"{prefix}logo: {_show(raw)} is not an .svg or .png image")
    elif not path.is_file():
        problem = "is not a file" if path.exists() else f"does not exist (looked for {path})"
        problems.append(f"{prefix}logo: {_show(raw)} {problem}")
    else:
        return path
    return None


def _default_kernel(
    top: Mapping[str, object], environments: Sequence[Environment], problems: list[str]
) -> str:
    raw = cast("str | None", _get(top, "", "default-kernel"))
    names = [environment.name for environment in environments]
    if raw is None:
        return names[0] if names else DEFAULT_ENVIRONMENT_NAME
    if raw not in names and names:
        problems.append(
            f"default-kernel: {_show(raw)} names no environment; use one of "
            + ", ".join(_show(name) for name in names)
        )
    return raw


def _requirement_names(
    requirements: Sequence[str], key: str, root: Path, problems: list[str]
) -> set[str]:
    """The canonical project names of ``requirements``; reports the ones we cannot use.

    Requirement files, dependency groups and local projects are expanded to their names.
    """
    from lite_build.packages.requirements import expand_packages, is_path_entry

    names: set[str] = set()
    for raw in requirements:
        if raw.strip().startswith(("-r", "-g")) or is_path_entry(raw):
            expanded = expand_packages([raw], root, key=key)
            problems += expanded.problems
            names |= expanded.names
            continue
        try:
            requirement = Requirement(raw)
        except InvalidRequirement as error:
            # the parser's message continues with the string and a caret: keep its first line
            reason = str(error).splitlines()[0]
            problems.append(f"{key}: {_show(raw)} is not a valid requirement: {reason}")
            continue
        if requirement.url:
            problems.append(
                f"{key}: {_show(raw)}: direct URL requirements are not supported yet; list a "
                "name and version"
            )
            continue
        names.add(canonicalize_name(requirement.name))
    return names


def _preload_problems(preload: Sequence[str], names: set[str], key: str) -> list[str]:
    return [
        f"{key}: {_show(raw)} is not in this environment's packages; add it to packages or "
        "remove it from preload"
        for raw in preload
        if canonicalize_name(raw) not in names
    ]


# --- the output folder -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Place:
    """A folder or file a build must not delete."""

    path: Path
    label: str
    #: whether the output folder may live inside it
    may_contain_output: bool = False


def _protected_places(
    root: Path,
    cwd: Path,
    content: list[tuple[Path, str]],
    overrides: tuple[Path, str] | None,
    pyodide_path: Path | None,
) -> list[_Place]:
    places = [_Place(root, "the project folder", may_contain_output=True)]
    if cwd != root:
        places.append(_Place(cwd, "the current folder", may_contain_output=True))
    places.append(_Place(root / WORK_DIR_NAME, f"the work folder {_show(WORK_DIR_NAME)}"))
    if overrides is not None:
        places.append(_Place(overrides[0], f"the overrides folder {_show(overrides[1])}"))
    if pyodide_path is not None:
        places.append(_Place(pyodide_path, "the Pyodide path"))
    for path, raw in content:
        kind = "file" if path.is_file() else "folder"
        places.append(_Place(path, f"the content {kind} {_show(raw)}"))
    return places


def _output_problem(output: Path, places: list[_Place]) -> str | None:
    """Why a build must not replace ``output`` wholesale, or None if it may."""
    if output.is_file():
        return "is a file; the output must be a folder"
    resolved = output.resolve()
    for place in places:
        protected = place.path.resolve()
        if resolved == protected:
            relation = "is"
        elif protected.is_relative_to(resolved):
            relation = "contains"
        elif resolved.is_relative_to(protected) and not place.may_contain_output:
            relation = "is inside"
        else:
            continue
        return (
            f"{relation} {place.label}; a build deletes and replaces the output folder, so "
            f"choose a folder of its own, such as {_show(DEFAULT_OUTPUT)}"
        )
    return None


# --- helpers -----------------------------------------------------------------------------------


def _absolute(base: Path, path: Path | str) -> Path:
    """``path`` made absolute against ``base``, without following symlinks."""
    return Path(os.path.normpath(base / Path(path).expanduser()))


def _display(path: Path, cwd: Path) -> str:
    """A path as the user would write it: relative to ``cwd`` when inside it."""
    return path.relative_to(cwd).as_posix() if path.is_relative_to(cwd) else str(path)


def _show(value: object) -> str:
    """A value as TOML would spell it, for messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, Sequence):
        return "[" + ", ".join(_show(item) for item in value) + "]"
    return str(value)
