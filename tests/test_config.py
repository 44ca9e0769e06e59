"""Loading and validating the site configuration: discovery, defaults, and every message."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from lite_build.config import (
    DEFAULT_DISPLAY_NAME,
    DEFAULT_ENVIRONMENT_NAME,
    OPTIONS,
    Environment,
    PyodideSettings,
    SiteConfig,
    describe_options,
    load_config,
)
from lite_build.errors import ConfigError, LiteBuildError

DEFAULT_ENVIRONMENTS = (
    Environment(name=DEFAULT_ENVIRONMENT_NAME, display_name=DEFAULT_DISPLAY_NAME),
)
OUTPUT_ADVICE = (
    "a build deletes and replaces the output folder, so choose a folder of its own, "
    'such as "_output"'
)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(tmp_path: Path, toml: str, **options: Path) -> list[str]:
    """The problems ``lite-build.toml`` with ``toml`` is reported to have."""
    write(tmp_path / "lite-build.toml", toml)
    with pytest.raises(ConfigError) as caught:
        load_config(cwd=tmp_path, **options)
    assert caught.value.source == "lite-build.toml"
    return caught.value.problems


# --- discovery and happy paths -----------------------------------------------------------------


def test_lite_build_toml_with_every_key(tmp_path: Path) -> None:
    (tmp_path / "notebooks").mkdir()
    write(tmp_path / "data.csv", "a,b\n")
    (tmp_path / "theme").mkdir()
    (tmp_path / "pyodide").mkdir()
    write(tmp_path / "start.py", "import sys\n")
    write(tmp_path / "sci.svg", "<svg/>")
    write(
        tmp_path / "lite-build.toml",
        """
title = "Course"
content = ["notebooks", "data.csv"]
overrides = "theme"
output = "site"
offline = false
source-maps = true
default-kernel = "base"

[pyodide]
version = "0.27.7"
path = "pyodide"

[[environments]]
name = "sci"
display-name = "Science"
packages = ["numpy>=2", "scikit-learn"]
preload = ["Scikit_Learn"]
startup = "start.py"
logo = "sci.svg"

[[environments]]
name = "base"
startup = "print('hello')"
""",
    )

    config = load_config(cwd=tmp_path)

    assert config == SiteConfig(
        root=tmp_path,
        config_file=tmp_path / "lite-build.toml",
        title="Course",
        content=(tmp_path / "notebooks", tmp_path / "data.csv"),
        overrides=tmp_path / "theme",
        output=tmp_path / "site",
        offline=False,
        source_maps=True,
        pyodide=PyodideSettings(version="0.27.7", path=tmp_path / "pyodide"),
        environments=(
            Environment(
                "sci",
                "Science",
                ("numpy>=2", "scikit-learn"),
                ("Scikit_Learn",),
                startup="import sys\n",
                startup_origin="start.py",
                logo=tmp_path / "sci.svg",
            ),
            Environment(
                "base",
                "Python (base)",
                startup="print('hello')",
                startup_origin="environments[1].startup",
            ),
        ),
        default_kernel="base",
    )
    assert config.work_dir == tmp_path / ".lite-build"


def test_defaults_in_a_config_file(tmp_path: Path) -> None:
    (tmp_path / "content").mkdir()
    (tmp_path / "overrides").mkdir()
    write(tmp_path / "lite-build.toml", "environments = []\n")

    config = load_config(cwd=tmp_path)

    assert config == SiteConfig(
        root=tmp_path,
        config_file=tmp_path / "lite-build.toml",
        title="lite-build",
        content=(tmp_path / "content",),
        overrides=tmp_path / "overrides",
        output=tmp_path / "_output",
        offline=True,
        source_maps=False,
        pyodide=PyodideSettings(),
        environments=DEFAULT_ENVIRONMENTS,
    )


def test_default_content_and_overrides_may_be_missing(tmp_path: Path) -> None:
    write(tmp_path / "lite-build.toml", 'title = "Empty"\n')

    config = load_config(cwd=tmp_path)

    assert (config.content, config.overrides) == ((), None)


def test_content_may_be_a_single_string(tmp_path: Path) -> None:
    (tmp_path / "notebooks").mkdir()
    write(tmp_path / "lite-build.toml", 'content = "notebooks"\n')

    assert load_config(cwd=tmp_path).content == (tmp_path / "notebooks",)


def test_pyproject_table(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        """
[project]
name = "course"

[tool.lite-build]
title = "From pyproject"

[[tool.lite-build.environments]]
name = "py"
packages = ["attrs"]
""",
    )

    config = load_config(cwd=tmp_path)

    assert config.config_file == tmp_path / "pyproject.toml"
    assert config.title == "From pyproject"
    assert config.environments == (Environment("py", "Python (py)", ("attrs",)),)


def test_lite_build_toml_wins_over_pyproject(tmp_path: Path) -> None:
    write(tmp_path / "lite-build.toml", 'title = "toml"\n')
    write(tmp_path / "pyproject.toml", '[tool.lite-build]\ntitle = "pyproject"\n')

    assert load_config(cwd=tmp_path).title == "toml"


def test_pyproject_without_table_falls_back_to_defaults(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[project]\nname = "other"\n')
    (tmp_path / "content").mkdir()

    config = load_config(cwd=tmp_path)

    assert config == SiteConfig(
        root=tmp_path,
        config_file=None,
        content=(tmp_path / "content",),
        output=tmp_path / "_output",
        environments=DEFAULT_ENVIRONMENTS,
    )


def test_no_configuration_at_all(tmp_path: Path) -> None:
    with pytest.raises(LiteBuildError) as caught:
        load_config(cwd=tmp_path)

    assert str(caught.value) == (
        f"no configuration found in {tmp_path}: no lite-build.toml, no [tool.lite-build] table "
        "in pyproject.toml and no content folder; run `lite-build init DIR` to start a site, or "
        "point to a configuration file with --config FILE"
    )


def test_config_file_in_a_subfolder_resolves_paths_there(tmp_path: Path) -> None:
    site = tmp_path / "docs" / "site"
    (site / "notebooks").mkdir(parents=True)
    write(site / "custom.toml", 'content = ["notebooks"]\noutput = "../build"\n')

    config = load_config(Path("docs/site/custom.toml"), cwd=tmp_path)

    assert config.root == site
    assert config.config_file == site / "custom.toml"
    assert config.content == (site / "notebooks",)
    assert config.output == tmp_path / "docs" / "build"


def test_config_file_may_be_a_pyproject(tmp_path: Path) -> None:
    write(tmp_path / "sub" / "pyproject.toml", '[tool.lite-build]\ntitle = "sub"\n')
    write(tmp_path / "lite-build.toml", 'title = "ignored"\n')

    config = load_config(Path("sub/pyproject.toml"), cwd=tmp_path)

    assert (config.title, config.root) == ("sub", tmp_path / "sub")


def test_config_file_pyproject_without_table(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[project]\nname = "x"\n')

    with pytest.raises(LiteBuildError) as caught:
        load_config(Path("pyproject.toml"), cwd=tmp_path)

    assert str(caught.value) == (
        "--config pyproject.toml: has no [tool.lite-build] table; add one, or use a "
        "lite-build.toml file"
    )


def test_config_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(LiteBuildError) as caught:
        load_config(Path("missing.toml"), cwd=tmp_path)

    assert str(caught.value) == "--config missing.toml: does not exist"


def test_command_line_wins_over_the_file_and_is_relative_to_cwd(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "pyodide-in-file").mkdir(parents=True)
    write(site / "lite-build.toml", 'output = "out"\n[pyodide]\npath = "pyodide-in-file"\n')
    write(tmp_path / "pyodide.tar.bz2", "")

    config = load_config(
        Path("site/lite-build.toml"),
        cwd=tmp_path,
        output=Path("public"),
        pyodide_path=Path("pyodide.tar.bz2"),
    )

    assert config.output == tmp_path / "public"
    assert config.pyodide.path == tmp_path / "pyodide.tar.bz2"


def test_command_line_options_apply_to_defaults(tmp_path: Path) -> None:
    (tmp_path / "content").mkdir()

    config = load_config(cwd=tmp_path, output=Path("public"))

    assert (config.config_file, config.output) == (None, tmp_path / "public")


# --- problems ----------------------------------------------------------------------------------


def test_unknown_keys_get_suggestions(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        """
titel = "x"
enviroments = []
colour = "blue"

[pyodide]
verison = "0.27.7"

[[environments]]
name = "py"
display_name = "Py"
pakages = ["attrs"]
""",
    )

    assert problems == [
        'titel: unknown key; did you mean "title"?',
        'enviroments: unknown key; did you mean "environments"?',
        'colour: unknown key; valid keys are "title", "content", "overrides", "output", '
        '"offline", "source-maps", "isolated", "precache", "bytecode", "snapshot", "strict", '
        '"id", "url", "wheels", "pyodide", "environments", "default-kernel"',
        'pyodide.verison: unknown key; did you mean "version"?',
        'environments[0].display_name: unknown key; did you mean "display-name"?',
        'environments[0].pakages: unknown key; did you mean "packages"?',
    ]


def test_the_site_id_names_the_storage_and_defaults_to_the_title(tmp_path: Path) -> None:
    write(tmp_path / "lite-build.toml", 'title = "Intro to Python: Week 1"\n')
    assert load_config(cwd=tmp_path).site_id == "intro-to-python-week-1"

    write(tmp_path / "lite-build.toml", 'title = "Renamed"\nid = "python-2026"\n')
    assert load_config(cwd=tmp_path).site_id == "python-2026"

    assert problems_of(tmp_path, 'id = "my course/2026"\n') == [
        "id: \"my course/2026\" must be 1 to 64 letters, digits, '-', '_' or '.', "
        'such as "python-course-2026"'
    ]


def test_wrong_types(tmp_path: Path) -> None:
    (tmp_path / "content").mkdir()
    problems = problems_of(
        tmp_path,
        """
title = 3
offline = "yes"
source-maps = 1
content = ["content", 2]
pyodide = "0.27.7"

[environments]
name = "py"
""",
    )

    assert problems == [
        "title: expected a string, got 3",
        'offline: expected true or false, got "yes"',
        "source-maps: expected true or false, got 1",
        "content[1]: expected a string, got 2",
        'pyodide: expected a table, got "0.27.7"',
        "environments: expected an array of tables, got a table",
    ]


def test_wrong_types_in_an_environment(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        """
[[environments]]
name = "py"
display-name = false
packages = "numpy"
preload = [["numpy"]]
""",
    )

    assert problems == [
        "environments[0].display-name: expected a string, got false",
        'environments[0].packages: expected a list of strings, got "numpy"',
        'environments[0].preload[0]: expected a string, got ["numpy"]',
    ]


def test_empty_title_and_display_name(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path, 'title = " "\n[[environments]]\nname = "py"\ndisplay-name = ""\n'
    )

    assert problems == [
        "title: must not be empty",
        "environments[0].display-name: must not be empty",
    ]


def test_bad_requirements(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        """
[[environments]]
name = "py"
packages = ["numpy>=2", "num py>=", "wheel-x @ https://example.org/x-1.0-py3-none-any.whl"]
""",
    )

    assert problems == [
        'environments[0].packages: "num py>=" is not a valid requirement: Expected semicolon '
        "(after name with no version specifier) or end",
        'environments[0].packages: "wheel-x @ https://example.org/x-1.0-py3-none-any.whl": '
        "direct URL requirements are not supported yet; list a name and version",
    ]


def test_environment_names(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        """
[[environments]]
name = "py"

[[environments]]
name = "My Env"

[[environments]]
name = "py"

[[environments]]
display-name = "No name"
""",
    )

    assert problems == [
        'environments[1].name: "My Env" is not a valid kernel name; use lowercase letters, '
        'digits, "_", "." and "-", starting with a letter or digit',
        'environments[2].name: "py" is already the name of environments[0]; kernel names must '
        "be unique",
        "environments[3].name: missing; this key is required",
    ]


def test_preload_must_name_a_package(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        """
[[environments]]
name = "py"
packages = ["scikit-learn>=1", "attrs"]
preload = ["Scikit_Learn", "pandas"]
""",
    )

    assert problems == [
        'environments[0].preload: "pandas" is not in this environment\'s packages; add it to '
        "packages or remove it from preload",
    ]


def test_missing_paths(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        """
content = ["notebooks", "notebooks/"]
overrides = "theme"

[pyodide]
path = "pyodide.tar.bz2"
""",
    )

    assert problems == [
        f'content[0]: "notebooks" does not exist (looked for {tmp_path / "notebooks"})',
        'content[1]: "notebooks/" is listed twice',
        f'overrides: "theme" does not exist (looked for {tmp_path / "theme"})',
        'pyodide.path: "pyodide.tar.bz2" does not exist '
        f"(looked for {tmp_path / 'pyodide.tar.bz2'})",
    ]


def test_pyodide_path_must_be_a_folder_or_tarball(tmp_path: Path) -> None:
    write(tmp_path / "pyodide.zip", "")
    write(tmp_path / "theme", "")

    problems = problems_of(tmp_path, 'overrides = "theme"\n', pyodide_path=Path("pyodide.zip"))

    assert problems == [
        'overrides: "theme" is not a folder',
        '--pyodide: "pyodide.zip" is neither a folder nor a .tar.bz2, .tgz or .tar.gz file',
    ]


def test_bad_pyodide_version(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, '[pyodide]\nversion = "latest"\n')

    assert problems == [
        'pyodide.version: "latest" is not a version number; write one such as "314.0.6"',
    ]


@pytest.mark.parametrize(
    ("output", "relation"),
    [
        (".", "is the project folder"),
        ("..", "contains the project folder"),
        ("content", 'is the content folder "content"'),
        ("content/site", 'is inside the content folder "content"'),
        ("overrides/site", 'is inside the overrides folder "overrides"'),
        (".lite-build", 'is the work folder ".lite-build"'),
    ],
)
def test_dangerous_output(tmp_path: Path, output: str, relation: str) -> None:
    (tmp_path / "content").mkdir()
    (tmp_path / "overrides").mkdir()

    problems = problems_of(tmp_path, f'output = "{output}"\n')

    assert problems == [f'output: "{output}" {relation}; {OUTPUT_ADVICE}']


def test_output_must_not_contain_content(tmp_path: Path) -> None:
    (tmp_path / "site" / "notebooks").mkdir(parents=True)

    problems = problems_of(tmp_path, 'content = ["site/notebooks"]\noutput = "site"\n')

    assert problems == [
        f'output: "site" contains the content folder "site/notebooks"; {OUTPUT_ADVICE}'
    ]


def test_output_must_not_be_a_file(tmp_path: Path) -> None:
    write(tmp_path / "README.md", "")

    problems = problems_of(tmp_path, 'output = "README.md"\n')

    assert problems == ['output: "README.md" is a file; the output must be a folder']


def test_dangerous_output_from_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "content").mkdir()

    with pytest.raises(ConfigError) as caught:
        load_config(cwd=tmp_path, output=Path("."))

    assert caught.value.source == "command line"
    assert caught.value.problems == [f'--output: "." is the project folder; {OUTPUT_ADVICE}']


def test_output_must_not_be_the_current_folder(tmp_path: Path) -> None:
    write(tmp_path / "site" / "lite-build.toml", "")

    with pytest.raises(ConfigError) as caught:
        load_config(Path("site/lite-build.toml"), cwd=tmp_path, output=Path("."))

    assert caught.value.source == "site/lite-build.toml"
    assert caught.value.problems == [f'--output: "." contains the project folder; {OUTPUT_ADVICE}']


def test_toml_syntax_error(tmp_path: Path) -> None:
    write(tmp_path / "lite-build.toml", 'title = "x"\noffline = yes\n')

    with pytest.raises(ConfigError) as caught:
        load_config(cwd=tmp_path)

    assert str(caught.value) == (
        "lite-build.toml: 1 problem(s) in the configuration:\n"
        "  - not valid TOML: line 2, column 11: Invalid value"
    )


def test_toml_syntax_error_in_pyproject(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.lite-build\n")

    with pytest.raises(ConfigError) as caught:
        load_config(cwd=tmp_path)

    assert caught.value.source == "pyproject.toml"
    assert caught.value.problems[0].startswith("not valid TOML: line 1, column ")


def test_all_problems_reported_at_once(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        """
[tool.lite-build]
titel = "Course"
offline = "yes"
content = ["lessons"]

[[tool.lite-build.environments]]
name = "sci"
packages = ["num py>="]
""",
    )

    with pytest.raises(ConfigError) as caught:
        load_config(cwd=tmp_path)

    assert str(caught.value) == (
        "pyproject.toml [tool.lite-build]: 4 problem(s) in the configuration:\n"
        '  - titel: unknown key; did you mean "title"?\n'
        '  - offline: expected true or false, got "yes"\n'
        f'  - content[0]: "lessons" does not exist (looked for {tmp_path / "lessons"})\n'
        '  - environments[0].packages: "num py>=" is not a valid requirement: Expected '
        "semicolon (after name with no version specifier) or end"
    )


# --- the option table --------------------------------------------------------------------------


def test_describe_options_lists_every_key_once() -> None:
    rows = describe_options()

    assert [row.name for row in rows] == [
        "title",
        "content",
        "overrides",
        "output",
        "offline",
        "source-maps",
        "isolated",
        "precache",
        "bytecode",
        "snapshot",
        "strict",
        "id",
        "url",
        "wheels",
        "pyodide",
        "environments",
        "default-kernel",
        "pyodide.version",
        "pyodide.path",
        "pyodide.distribution",
        "environments[].name",
        "environments[].display-name",
        "environments[].packages",
        "environments[].preload",
        "environments[].startup",
        "environments[].logo",
    ]
    assert len(rows) == len(OPTIONS)
    assert all(row.help for row in rows)
    assert rows[1].default == '["content"]'
    by_name = {row.name: row for row in rows}
    assert by_name["environments[].name"].default == "(required)"


# --- several environments (kernels) ------------------------------------------------------------


def test_default_kernel_is_the_first_environment(tmp_path: Path) -> None:
    write(
        tmp_path / "lite-build.toml",
        '[[environments]]\nname = "light"\n\n[[environments]]\nname = "data"\n',
    )
    assert load_config(cwd=tmp_path).default_kernel == "light"


def test_default_kernel_naming_no_environment(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        'default-kernel = "pyhton"\n[[environments]]\nname = "python"\n'
        '[[environments]]\nname = "data"\n',
    )
    assert problems == [
        'default-kernel: "pyhton" names no environment; use one of "python", "data"'
    ]


def test_startup_file_and_logo_problems(tmp_path: Path) -> None:
    (tmp_path / "folder.py").mkdir()
    problems = problems_of(
        tmp_path,
        '[[environments]]\nname = "a"\nstartup = "missing.py"\nlogo = "logo.gif"\n'
        '[[environments]]\nname = "b"\nstartup = "folder.py"\nlogo = "none.svg"\n',
    )
    assert problems == [
        f'environments[0].startup: "missing.py" does not exist (looked for {tmp_path}/missing.py)',
        'environments[0].logo: "logo.gif" is not an .svg or .png image',
        'environments[1].startup: "folder.py" is a folder; give a .py file',
        f'environments[1].logo: "none.svg" does not exist (looked for {tmp_path}/none.svg)',
    ]


def test_multi_line_startup_is_code_even_if_it_ends_in_py(tmp_path: Path) -> None:
    write(
        tmp_path / "lite-build.toml",
        '[[environments]]\nname = "a"\nstartup = """\nimport x\nrun("y.py")"""\n',
    )
    environment = load_config(cwd=tmp_path).environments[0]
    assert environment.startup == 'import x\nrun("y.py")'
    assert environment.startup_origin == "environments[0].startup"


# --- package sources (issue 4) ---------------------------------------------------------------


def test_package_sources_are_read(tmp_path: Path) -> None:
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "tinylib-1.0-py3-none-any.whl").write_bytes(b"")
    (tmp_path / "mylib").mkdir()
    write(tmp_path / "mylib" / "pyproject.toml", '[project]\nname = "mylib"\n')
    write(tmp_path / "requirements.txt", "attrs\n")
    write(
        tmp_path / "lite-build.toml",
        'wheels = ["vendor"]\n[pyodide]\ndistribution = "https://cdn.example.org/pyodide/"\n'
        '[[environments]]\nname = "py"\npackages = ["-r requirements.txt", "./mylib"]\n'
        'preload = ["attrs", "mylib"]\n',
    )

    config = load_config(cwd=tmp_path)

    assert config.wheels == (tmp_path / "vendor",)
    assert config.pyodide.distribution == "https://cdn.example.org/pyodide/"
    assert config.environments[0].packages == ("-r requirements.txt", "./mylib")


def test_package_source_problems_are_reported_together(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    problems = problems_of(
        tmp_path,
        """
wheels = ["empty", "missing.whl"]
[pyodide]
distribution = "ftp://example.org/pyodide"
[[environments]]
name = "py"
packages = ["-r nope.txt", "./nolib"]
""",
    )
    assert problems == [
        'pyodide.distribution: "ftp://example.org/pyodide": only https addresses are supported '
        "(plain http only from this machine)",
        'wheels[0]: "empty" is a folder without .whl files',
        f'wheels[1]: "missing.whl" does not exist (looked for {tmp_path / "missing.whl"})',
        f'environments[0].packages: "-r nope.txt": cannot read {tmp_path / "nope.txt"}: No such '
        "file or directory",
        f'environments[0].packages: "./nolib" does not exist (looked for {tmp_path / "nolib"})',
    ]


def test_toml_nested_too_deeply_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, "title = " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert problems == ["not valid TOML: nested too deeply (arrays or tables inside each other)"]


def test_a_plain_http_distribution_is_a_problem_unless_on_this_machine(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, '[pyodide]\ndistribution = "http://cdn.example.org/p/"\n')
    assert problems == [
        "pyodide.distribution: http://cdn.example.org/p/ is not an https URL; lite-build "
        "downloads only over https (plain http only from this machine: 127.0.0.1, localhost, "
        "::1). Use the https address"
    ]
    write(tmp_path / "lite-build.toml", '[pyodide]\ndistribution = "http://127.0.0.1:8000/p/"\n')
    assert load_config(cwd=tmp_path).pyodide.distribution == "http://127.0.0.1:8000/p/"


def test_distribution_false_turns_the_release_off_and_true_is_a_problem(tmp_path: Path) -> None:
    write(tmp_path / "lite-build.toml", "[pyodide]\ndistribution = false\n")
    assert load_config(cwd=tmp_path).pyodide.distribution is False
    assert problems_of(tmp_path, "[pyodide]\ndistribution = true\n") == [
        "pyodide.distribution: true is not a distribution; give a folder, .tar.bz2 file or URL, "
        "or leave it out to use the Pyodide release matching the runtime"
    ]
    assert problems_of(tmp_path, "[pyodide]\ndistribution = 3\n") == [
        "pyodide.distribution: expected a string or false, got 3"
    ]


def test_every_option_has_a_field_in_its_tables_record() -> None:
    records = {"": SiteConfig, "pyodide": PyodideSettings, "environments": Environment}
    tables = {"pyodide", "environments"}  # tables, not values: their keys are the options
    for option in OPTIONS:
        if option.table == "" and option.key in tables:
            continue
        fields = {f.name for f in dataclasses.fields(records[option.table])}
        assert option.field in fields, f"{option.name} has no field {option.field!r}"


def test_a_switch_defaults_alike_in_its_declaration_and_its_record() -> None:
    switches = [o for o in OPTIONS if o.table == "" and o.type == "boolean"]
    defaults = {f.name: f.default for f in dataclasses.fields(SiteConfig)}

    assert [o.key for o in switches] == [
        "offline",
        "source-maps",
        "isolated",
        "precache",
        "bytecode",
        "snapshot",
        "strict",
    ]
    for option in switches:
        assert defaults[option.field] == option.default, option.name
