"""The command-line contract: entry point, exit codes, messages, no side effects on import."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import tomllib
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import pytest

from lite_build.cli import EXIT_ERROR, EXIT_OK, _size, main

REPO = Path(__file__).resolve().parent.parent


def cli_env(cwd: Path) -> dict[str, str]:
    """A bare environment for ``python -m lite_build``, running this checkout's lite_build
    whichever one is installed."""
    return {"COLUMNS": "200", "PATH": "/usr/bin:/bin", "HOME": str(cwd), "PYTHONPATH": str(REPO)}


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lite_build", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env=cli_env(cwd),
    )


def test_the_console_script_is_declared() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["name"] == "lite-build"
    assert project["scripts"] == {"lite-build": "lite_build.cli:main"}


def test_importing_the_cli_has_no_side_effects() -> None:
    code = (
        "import sys, lite_build.cli; "
        "heavy = [m for m in ('jupyterlite_core', 'doit', 'httpx', 'rich') if m in sys.modules]; "
        "print(heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
    assert result.stderr == ""


def test_help_lists_the_commands(tmp_path: Path) -> None:
    result = run("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("build", "serve", "bundle", "init"):
        assert command in result.stdout


def test_a_config_error_is_one_clear_message_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "lite-build.toml").write_text('titel = "x"\noffline = "yes"\n')
    result = run("build", cwd=tmp_path)
    assert result.returncode == EXIT_ERROR
    assert "Traceback" not in result.stderr
    assert 'titel: unknown key; did you mean "title"?' in result.stderr
    assert "offline: expected true or false" in result.stderr


def test_requirement_files_including_each_other_are_a_config_error_not_a_hang(
    tmp_path: Path,
) -> None:
    (tmp_path / "lite-build.toml").write_text(
        'title = "T"\n[[environments]]\nname = "python"\npackages = ["-r a.txt"]\n'
    )
    (tmp_path / "a.txt").write_text("attrs\n-r b.txt\n")
    (tmp_path / "b.txt").write_text("-r a.txt\n")

    result = run("build", cwd=tmp_path)

    assert result.returncode == EXIT_ERROR
    assert result.stderr.splitlines() == [
        "error: lite-build.toml: 1 problem(s) in the configuration:",
        "  - b.txt, line 1: the requirement files include themselves: a.txt -> b.txt -> a.txt",
    ]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.txt", "b.txt", "lite-build.toml"]


def test_verbose_shows_the_traceback(tmp_path: Path) -> None:
    (tmp_path / "lite-build.toml").write_text('titel = "x"\n')
    result = run("build", "-v", cwd=tmp_path)
    assert result.returncode == EXIT_ERROR
    assert "Traceback" in result.stderr


def test_no_configuration_suggests_init(tmp_path: Path) -> None:
    result = run("build", cwd=tmp_path)
    assert result.returncode == EXIT_ERROR
    assert "lite-build init" in result.stderr


def test_init_creates_a_project_that_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "course"
    assert main(["init", str(target), "--title", "My Course"]) == EXIT_OK
    from lite_build.config import load_config

    config = load_config(cwd=target)
    assert config.title == "My Course"
    assert (target / "content").is_dir()


@pytest.mark.parametrize("command", ["build", "serve", "check", "embed", "lock"])
def test_output_is_an_option_of_every_site_command(command: str) -> None:
    from lite_build.cli import make_parser

    args = make_parser().parse_args([command, "--output", "elsewhere"])
    assert args.output == Path("elsewhere")


def test_strict_on_the_command_line_wins_and_its_absence_keeps_the_file(tmp_path: Path) -> None:
    from lite_build.cli import _load, make_parser

    (tmp_path / "content").mkdir()
    config = tmp_path / "lite-build.toml"
    config.write_text("strict = false\n")
    assert _load(make_parser().parse_args(["build", "--config", str(config), "--strict"])).strict
    config.write_text("strict = true\n")
    assert _load(make_parser().parse_args(["build", "--config", str(config)])).strict
    config.write_text("")
    assert not _load(make_parser().parse_args(["check", "--config", str(config)])).strict


def test_bundle_output_names_the_zip_and_leaves_the_site_where_configured() -> None:
    from lite_build.cli import make_parser

    args = make_parser().parse_args(["bundle", "--output", "course.zip"])
    assert args.bundle == Path("course.zip")
    assert args.output is None


@pytest.mark.parametrize(
    ("count", "shown"),
    [
        (0, "0 B"),
        (999, "999 B"),
        (1000, "1.0 KB"),
        (123_456, "123.5 KB"),
        (1_234_567, "1.2 MB"),
        (98_765_432_100, "98.8 GB"),
        (5_000_000_000_000, "5000.0 GB"),
    ],
)
def test_sizes_are_shown_in_decimal_units(count: int, shown: str) -> None:
    assert _size(count) == shown


# -- commands that need no build -----------------------------------------------------------------


def course(root: Path) -> Path:
    """A course with two environments, one notebook and a public address; never built."""
    (root / "content" / "lessons").mkdir(parents=True)
    (root / "content" / "lessons" / "intro.ipynb").write_text('{"cells": []}')
    (root / "lite-build.toml").write_text(
        'title = "T"\ncontent = ["content"]\nurl = "https://example.org/course"\n'
        '[[environments]]\nname = "python"\n[[environments]]\nname = "extra"\n'
    )
    return root / "lite-build.toml"


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_embed_prints_a_console_snippet_for_the_first_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = course(tmp_path)

    code, out, err = run_main(
        capsys,
        "embed",
        "--config",
        str(config),
        "--repl",
        "--code",
        "print('hi')",
        "--eager",
        "--height",
        "300px",
    )

    assert (code, err) == (EXIT_OK, "")
    assert out == (
        "<!-- lite-build: a Python console -->\n"
        '<iframe src="https://example.org/course/repl/index.html?kernel=python&amp;'
        'code=print%28%27hi%27%29" title="Python console" allow="clipboard-read '
        "https://example.org; clipboard-write https://example.org; fullscreen "
        'https://example.org" allowfullscreen style="width:100%;height:300px;border:1px solid '
        '#d0d7de;border-radius:6px" loading="lazy"></iframe>\n'
    )
    assert not (tmp_path / "_output").exists() and not (tmp_path / ".lite-build").exists()


def test_embed_prints_a_click_to_open_notebook_snippet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = course(tmp_path)

    code, out, err = run_main(capsys, "embed", "--config", str(config), "./lessons/intro.ipynb")

    assert (code, err) == (EXIT_OK, "")
    assert out == (
        "<!-- lite-build: the notebook lessons/intro.ipynb -->\n"
        '<iframe srcdoc="&lt;!doctype html&gt;&lt;meta charset=&quot;utf-8&quot;&gt;&lt;body '
        "style=&quot;margin:0;height:100vh;display:flex;flex-direction:column;gap:12px;"
        "justify-content:center;align-items:center;padding:16px;box-sizing:border-box;"
        "background:#f6f8fa;font:15px system-ui,sans-serif;color:#1f2328&quot;&gt;&lt;div "
        "style=&quot;font-weight:600&quot;&gt;Notebook intro.ipynb&lt;/div&gt;&lt;a "
        "href=&quot;https://example.org/course/notebooks/index.html?path=lessons%2Fintro.ipynb"
        "&quot; target=&quot;_self&quot; style=&quot;display:inline-block;padding:9px 22px;"
        "border-radius:6px;background:#1f6feb;color:#fff;text-decoration:none;"
        "font-weight:600&quot;&gt;Open the notebook&lt;/a&gt;&lt;div style=&quot;"
        "font-size:12px;color:#57606a&quot;&gt;Python runs in your browser; nothing to "
        'install.&lt;/div&gt;&lt;/body&gt;" title="Notebook intro.ipynb" allow="clipboard-read '
        "https://example.org; clipboard-write https://example.org; fullscreen "
        'https://example.org" allowfullscreen style="width:100%;height:640px;border:1px solid '
        '#d0d7de;border-radius:6px"></iframe>\n'
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--repl", "--kernel", "pyhton"],
            "error: --kernel: 'pyhton' is not an environment of this site; choose one of: "
            "python, extra",
        ),
        (
            ["lessons/intro.ipynb", "--url", "ftp://example.org/"],
            "error: --url: 'ftp://example.org/' is not a web address; give the address the site "
            "is served at, such as https://example.org/course/",
        ),
        (
            [],
            "error: say what to embed: --repl for the console, or a notebook of the content "
            "(e.g. lite-build embed lessons/intro.ipynb)",
        ),
    ],
    ids=["unknown kernel", "not a web address", "nothing to embed"],
)
def test_embed_errors_print_nothing_to_paste_and_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    config = course(tmp_path)

    code, out, err = run_main(capsys, "embed", "--config", str(config), *args)

    assert (code, out, err) == (EXIT_ERROR, "", message + "\n")


def test_check_without_a_built_site_says_so_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty").mkdir()
    for site in (tmp_path / "empty", tmp_path / "missing"):
        code, out, err = run_main(capsys, "check", str(site))

        assert (code, out) == (EXIT_ERROR, "")
        assert err == (
            f"error: {site} is not a built site (no jupyter-lite.json); build it first with "
            "`lite-build build`, then check the folder it writes (_output/ by default)\n"
        )


def test_check_passes_each_notebook_given_to_check_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from lite_build.commands import check

    asked: list[Sequence[str] | None] = []

    def checked(site: Path, *, notebooks: Sequence[str] | None, **_: object) -> check.CheckReport:
        asked.append(notebooks)
        return check.CheckReport(str(site))  # nothing checked, nothing failed

    monkeypatch.setattr(check, "check_site", checked)
    args = ["--notebook", "unit/b.ipynb", "--notebook", "a.ipynb"]

    assert run_main(capsys, "check", str(tmp_path), *args)[0] == EXIT_OK
    assert run_main(capsys, "check", str(tmp_path))[0] == EXIT_OK
    assert asked == [["unit/b.ipynb", "a.ipynb"], None]


def test_check_of_a_notebook_the_site_lacks_names_it_before_starting_a_browser(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "files" / "unit").mkdir(parents=True)
    (tmp_path / "jupyter-lite.json").write_text("{}")
    (tmp_path / "files" / "unit" / "lesson.ipynb").write_text('{"cells": []}')

    code, out, err = run_main(capsys, "check", str(tmp_path), "--notebook", "lesson.ipynb")

    assert (code, out) == (EXIT_ERROR, "")
    assert err == (
        "error: lesson.ipynb (did you mean unit/lesson.ipynb?) is not a notebook of this site; "
        "its notebooks: unit/lesson.ipynb\n"
    )


def test_serve_no_build_without_a_site_says_how_to_make_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = course(tmp_path)

    code, out, err = run_main(capsys, "serve", "--no-build", "--config", str(config), "--port", "0")

    assert (code, out) == (EXIT_ERROR, "")
    assert err == (
        f"error: the site folder {tmp_path / '_output'} does not exist; build the site first "
        "with `lite-build build`\n"
    )
    assert not (tmp_path / ".lite-build").exists()  # nothing was built


#: what an isolated site is served with
ISOLATION = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def test_serve_no_build_serves_the_existing_site_as_it_is_until_ctrl_c(tmp_path: Path) -> None:
    config = course(tmp_path)
    config.write_text("isolated = true\n" + config.read_text())
    site = tmp_path / "_output"
    site.mkdir()
    (site / "lite-build.json").write_text("{}")
    (site / "index.html").write_text("<p>the site as it was</p>")

    server = subprocess.Popen(
        [sys.executable, "-m", "lite_build", "serve", "--no-build", "--port", "0"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(tmp_path),
    )
    try:
        assert server.stderr is not None
        first = server.stderr.readline()  # a build would print its first step instead
        served = re.fullmatch(
            rf"Serving {re.escape(str(site))} at (http://127\.0\.0\.1:\d+/) "
            r"\(press Ctrl\+C to stop\)\n",
            first,
        )
        assert served, first
        with urllib.request.urlopen(served.group(1), timeout=30) as response:
            body = response.read().decode()
            headers = dict(response.headers)
    finally:
        server.send_signal(signal.SIGINT)
        out, rest = server.communicate(timeout=30)

    assert body == "<p>the site as it was</p>"
    # isolated = true in the configuration: the cross-origin isolation headers
    assert {name: headers.get(name) for name in ISOLATION} == ISOLATION
    assert (server.returncode, out, rest) == (EXIT_OK, "", "Stopped.\n")
    assert sorted(path.name for path in site.iterdir()) == ["index.html", "lite-build.json"]
    assert not (tmp_path / ".lite-build").exists()  # nothing was built
