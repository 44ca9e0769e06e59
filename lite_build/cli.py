"""The ``lite-build`` command: argument parsing, output and exit codes only.

The work happens in plain functions (``build``, ``serve``, ``init_project``); imports are lazy
so ``lite-build --help`` is instant and importing this module has no side effects.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from lite_build import __version__

if TYPE_CHECKING:
    from rich.console import Console

    from lite_build.config import SiteConfig
    from lite_build.pipeline import BuildResult
    from lite_build.ui import Advance

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    from lite_build.imports import skip_slow_optional_imports

    skip_slow_optional_imports()  # before anything imports jsonschema: 2 to 3 s less per run
    parser = make_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_ERROR
    console = _console()
    logger = logging.getLogger("lite_build")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    _configure_logging(args.verbose, console)
    try:
        result: int = args.handler(args, console)
        return result
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]")
        return EXIT_INTERRUPTED
    except Exception as error:
        from lite_build.errors import LiteBuildError

        if args.verbose:
            console.print_exception()
        if isinstance(error, LiteBuildError):
            console.print(f"[bold red]error:[/] {_escape(str(error))}")
        else:
            console.print(
                f"[bold red]unexpected error:[/] {type(error).__name__}: {_escape(str(error))}"
                + ("" if args.verbose else "\n(run again with -v to see the traceback)")
            )
        return EXIT_ERROR
    finally:
        # leave logging as found: main() may run inside another program (or a test)
        logger.handlers[:], logger.level, logger.propagate = saved


def _site_options(*, with_output: bool) -> argparse.ArgumentParser:
    """The options that say which site: a fresh parser each time, as argparse shares actions."""
    site = argparse.ArgumentParser(add_help=False)
    site.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help=(
            "configuration file (default: ./lite-build.toml, "
            "else [tool.lite-build] in ./pyproject.toml)"
        ),
    )
    if with_output:
        site.add_argument("--output", type=Path, metavar="DIR", help="where to write the site")
    site.add_argument(
        "--pyodide",
        type=Path,
        metavar="PATH",
        help="a local Pyodide folder or tarball to use instead of the npm registry",
    )
    site.add_argument(
        "--strict",
        action="store_true",
        help="imports no kernel provides are build errors (the strict option); check: a cell "
        "may raise only if tagged raises-exception, not because its saved outputs show it",
    )
    return site


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lite-build",
        description="Turn notebooks into a static, offline JupyterLite site.",
    )
    parser.add_argument("--version", action="version", version=f"lite-build {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", help="show details and tracebacks")
    site = _site_options(with_output=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    build = commands.add_parser(
        "build", parents=[common, site], help="build the site", description="Build the site."
    )
    build.set_defaults(handler=_cmd_build)

    lock = commands.add_parser(
        "lock",
        parents=[common, site],
        help="write lite-build.lock: the exact packages of every environment",
        description=(
            "Choose every environment's packages and write them, with their sources and "
            "sha256, to lite-build.lock next to the configuration; builds then ship exactly "
            "those. Versions already locked are kept unless --upgrade names them."
        ),
    )
    lock.add_argument(
        "--upgrade",
        nargs="*",
        metavar="NAME",
        help="choose these packages afresh (all of them when no name is given)",
    )
    lock.set_defaults(handler=_cmd_lock)

    serve = commands.add_parser(
        "serve",
        parents=[common, site],
        help="build if needed, then serve the site on this machine",
        description="Build the site if needed, then serve it over HTTP.",
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    serve.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")
    serve.add_argument(
        "--isolated",
        action="store_true",
        help="send COOP/COEP headers (cross-origin isolation, SharedArrayBuffer)",
    )
    serve.add_argument("--no-build", action="store_true", help="serve the existing site as it is")
    serve.set_defaults(handler=_cmd_serve)

    check = commands.add_parser(
        "check",
        parents=[common, site],
        help="run the notebooks of the built site in headless Chromium, offline",
        description=(
            "Run every notebook of the site (or those --notebook names) in headless Chromium "
            "with every request to another host blocked; report per notebook. Without SITE, "
            "build the configured site first."
        ),
    )
    check.add_argument("site_dir", nargs="?", type=Path, metavar="SITE", help="a built site folder")
    check.add_argument("--json", type=Path, metavar="REPORT", help="also write the report as JSON")
    check.add_argument(
        "--timeout", type=float, default=300.0, help="seconds per notebook (default: %(default)s)"
    )
    check.add_argument("--isolated", action="store_true", help="serve with COOP/COEP headers")
    check.add_argument(
        "--notebook",
        action="append",
        metavar="PATH",
        help="check only this notebook, by its path in the content as the report names it "
        "(e.g. unit/lesson.ipynb); repeat for more, checked in the order given",
    )
    check.set_defaults(handler=_cmd_check)

    embed = commands.add_parser(
        "embed",
        parents=[common, site],
        help="print HTML that embeds a console or a notebook in a course page",
        description=(
            "Print paste-ready HTML that embeds the site's Python console (--repl) or one of "
            "its notebooks in a course page. By default the embed shows a light placeholder "
            "and starts Python only when clicked."
        ),
    )
    embed.add_argument(
        "notebook",
        nargs="?",
        metavar="NOTEBOOK",
        help="a notebook of the content, e.g. lessons/intro.ipynb",
    )
    embed.add_argument(
        "--repl", action="store_true", help="embed the console instead of a notebook"
    )
    embed.add_argument("--code", default="", help="code shown in the console (and run on click)")
    embed.add_argument("--kernel", metavar="NAME", help="the environment (kernel) to use")
    embed.add_argument(
        "--execute",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run --code when the console starts (default: yes)",
    )
    embed.add_argument(
        "--url", metavar="SITE_URL", help="the site's public address (default: url in the config)"
    )
    embed.add_argument("--height", default=None, help="iframe height, e.g. 400px (CSS length)")
    embed.add_argument("--theme", help='"light", "dark" or a JupyterLab theme name (console only)')
    embed.add_argument(
        "--toolbar",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="show the console toolbar",
    )
    embed.add_argument(
        "--banner",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="show the console banner",
    )
    embed.add_argument("--eager", action="store_true", help="load at once instead of on click")
    embed.set_defaults(handler=_cmd_embed)

    bundle = commands.add_parser(
        "bundle",
        # here --output names the zip; the site goes where the configuration says
        parents=[common, _site_options(with_output=False)],
        help="build if needed, then pack the site and a launcher into a zip",
        description=(
            "Build the site if needed, then write a zip holding it and a launcher (start.py "
            "and double-click wrappers) that serves it with nothing but Python 3."
        ),
    )
    bundle.add_argument(
        "--output",
        dest="bundle",
        type=Path,
        metavar="FILE.zip",
        help="where to write the zip (default: <title>.zip next to the configuration)",
    )
    bundle.set_defaults(handler=_cmd_bundle, output=None)

    collect = commands.add_parser(
        "collect",
        parents=[common],
        help="verify a folder of learners' hand-ins and write a table (CSV) of them",
        description=(
            "Read every hand-in (*.zip downloaded with Hand In This Notebook) in FOLDER, check "
            "each file against the sha256 in its manifest, compare it with the original the "
            "site ships, and write a CSV: who, which file, which course version, changed or "
            "not, verified or tampered. Exits with 1 when a hand-in fails verification (the "
            "CSV is written all the same)."
        ),
    )
    collect.add_argument("folder", type=Path, metavar="FOLDER")
    collect.add_argument(
        "--site",
        type=Path,
        metavar="SITE",
        help="the built site to compare with (default: the project's content)",
    )
    collect.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="the project's configuration, when --site is not given (default: ./lite-build.toml)",
    )
    collect.add_argument(
        "--csv",
        type=Path,
        metavar="FILE",
        help="where to write the table (default: FOLDER/hand-ins.csv)",
    )
    collect.set_defaults(handler=_cmd_collect)

    init = commands.add_parser(
        "init",
        parents=[common],
        help="create a new course project",
        description="Create a new course project in DIR.",
    )
    init.add_argument("directory", type=Path, metavar="DIR")
    init.add_argument("--title", help="the site's title")
    init.add_argument("--force", action="store_true", help="add missing files to a non-empty DIR")
    init.set_defaults(handler=_cmd_init)
    return parser


def _load(args: argparse.Namespace) -> SiteConfig:
    from lite_build.config import load_config

    config = load_config(args.config, output=args.output, pyodide_path=args.pyodide)
    # the flag, when given, wins over the file; absent, it leaves the file's value
    return dataclasses.replace(config, strict=True) if args.strict else config


def _build(args: argparse.Namespace, console: Console, config: SiteConfig) -> BuildResult:
    """Build (incrementally) with progress on the terminal, then print the summary."""
    from lite_build.pipeline import build

    result = build(config, reporter=RichReporter(console), verbose=args.verbose)
    _print_summary(console, result)
    return result


def _cmd_build(args: argparse.Namespace, console: Console) -> int:
    _build(args, console, _load(args))
    return EXIT_OK


def _cmd_lock(args: argparse.Namespace, console: Console) -> int:
    from lite_build.kernel.runtime import ensure_runtime
    from lite_build.packages.choose import lock_site

    config = _load(args)
    reporter = RichReporter(console)
    runtime = ensure_runtime(config.pyodide.version, path=config.pyodide.path, reporter=reporter)
    path, lock = lock_site(
        config, runtime.version, runtime.lock, upgrade=args.upgrade, reporter=reporter
    )
    for env in lock.environments:
        console.print(f"  environment [bold]{env.name}[/]: {len(env.packages)} packages")
    console.print(f"Wrote [bold]{path}[/].")
    return EXIT_OK


def _cmd_serve(args: argparse.Namespace, console: Console) -> int:
    from lite_build.commands.serve import make_server, serve_forever

    config = _load(args)
    if not args.no_build:
        _build(args, console, config)
    server = make_server(
        config.output,
        host=args.host,
        port=args.port,
        isolated=args.isolated or config.isolated,
        verbose=args.verbose,
    )
    serve_forever(server, RichReporter(console))
    return EXIT_OK


def _cmd_check(args: argparse.Namespace, console: Console) -> int:
    from lite_build.commands.check import check_site

    site_dir = args.site_dir
    if site_dir is None:
        site_dir = _build(args, console, _load(args)).output
    report = check_site(
        site_dir,
        timeout=args.timeout,
        isolated=args.isolated,
        strict=args.strict,
        notebooks=args.notebook,
        reporter=RichReporter(console),
    )
    if args.json:
        args.json.write_text(report.to_json(), encoding="utf-8")
    for result in report.notebooks:
        for failure in result.failures:
            if failure.traceback:
                console.print(f"[bold]{result.path}[/], cell {failure.cell}:")
                console.print(_escape("\n".join(_strip_ansi(line) for line in failure.traceback)))
    for url in report.blocked_requests:
        console.print(f"[red]blocked request to another host:[/] {_escape(url)}")
    if not report.passed and report.console_errors:
        console.print("[bold]browser console errors:[/]")
        for line in report.console_errors[-10:]:
            console.print(f"  {_escape(line)}")
    failed = [result.path for result in report.notebooks if not result.passed]
    partly = [
        f"{result.path} ({'; '.join(result.not_checked)})"
        for result in report.notebooks
        if result.not_checked
    ]
    if partly:
        console.print("[yellow]Not checked:[/] " + _escape(", ".join(partly)))
    if report.passed:
        console.print(f"[green]All {len(report.notebooks)} notebooks passed[/], offline.")
        return EXIT_OK
    console.print(
        f"[bold red]{len(failed)} of {len(report.notebooks)} notebooks failed[/]"
        + (
            f"; {len(report.blocked_requests)} requests to other hosts"
            if report.blocked_requests
            else ""
        )
    )
    return EXIT_ERROR


def _strip_ansi(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _cmd_embed(args: argparse.Namespace, console: Console) -> int:
    from lite_build.commands.embed import embed_command

    html = embed_command(
        _load(args),
        notebook=args.notebook,
        repl=args.repl,
        code=args.code,
        kernel=args.kernel,
        execute=args.execute,
        url=args.url,
        height=args.height,
        theme=args.theme,
        toolbar=args.toolbar,
        banner=args.banner,
        eager=args.eager,
    )
    sys.stdout.write(html)
    return EXIT_OK


def _cmd_collect(args: argparse.Namespace, console: Console) -> int:
    from lite_build.commands.collect import collect, project_originals, site_originals

    originals, site_id = site_originals(args.site) if args.site else project_originals(args.config)
    report = collect(args.folder, originals, site_id)
    table = args.csv or args.folder / "hand-ins.csv"
    table.write_text(report.csv_text(), encoding="utf-8")
    for note in report.notes:
        console.print(f"[yellow]note:[/] {_escape(note)}")
    for problem in report.problems:
        console.print(f"[bold red]not verified:[/] {_escape(problem)}")
    console.print(f"{_escape(report.summary())}; table: {_escape(str(table))}")
    return EXIT_ERROR if report.problems else EXIT_OK


def _cmd_bundle(args: argparse.Namespace, console: Console) -> int:
    from lite_build.commands.bundle import default_bundle_path, make_bundle

    config = _load(args)
    result = _build(args, console, config)
    if not result.ran:  # the summary of a build that ran already has the sizes
        _print_sizes(console, result.output)
    destination = args.bundle or default_bundle_path(config.root, config.title)
    bundled = make_bundle(config.output, destination, reporter=RichReporter(console))
    console.print(
        f"Bundled [bold]{bundled.path}[/] ({_size(bundled.size)}, {bundled.files} files). "
        f"Unzip it anywhere and run start.py (or double-click start.bat / start.command); "
        f"it serves on http://127.0.0.1:{bundled.port}/."
    )
    return EXIT_OK


def _cmd_init(args: argparse.Namespace, console: Console) -> int:
    from lite_build.commands.init import init_project

    created = init_project(args.directory, title=args.title, force=args.force)
    for path in created:
        console.print(f"  created {path}")
    console.print(
        f"Next: [bold]cd {args.directory}[/] and run [bold]lite-build serve[/] "
        "(or [bold]lite-build build[/])."
    )
    return EXIT_OK


def _print_summary(console: Console, result: BuildResult) -> None:
    if not result.ran:
        console.print(f"Nothing changed; [bold]{result.output}[/] is up to date.")
        return
    console.print(
        f"Built [bold]{result.output}[/] in {result.seconds:.1f} s "
        f"({_size(result.size)} on disk; steps run: {', '.join(result.ran)})"
    )
    _print_sizes(console, result.output)
    for env in result.environments:
        largest = sorted(env.packages, key=lambda p: (-int(p["size"]), p["name"]))[:5]
        console.print(
            f"  environment [bold]{env.name}[/]: {len(env.packages)} packages, "
            f"{_size(env.download_size)}; largest: "
            + ", ".join(f"{p['name']} {_size(int(p['size']))}" for p in largest)
        )
        if env.remote:
            console.print(
                f"  [yellow]not offline:[/] environment [bold]{env.name}[/] loads "
                f"{len(env.remote)} package(s) from a remote Pyodide distribution at run time: "
                + ", ".join(f"{p['name']} {p['version']}" for p in env.remote)
            )


def _print_sizes(console: Console, site: Path) -> None:
    from lite_build.site.compress import size_report
    from lite_build.site.paths import PRECACHE_WORKER

    report = size_report(site)
    transfer = (
        f"a first visit transfers {_size(report.first_visit)} (compressed, everything kept for "
        "offline use)"
        if (site / PRECACHE_WORKER).is_file()
        # precache = false: visitors download only what they use
        else f"all of it transfers {_size(report.first_visit)} compressed (no offline cache)"
    )
    console.print(
        f"  size: {_size(report.total)} on disk; {transfer}; largest: "
        + ", ".join(f"{name} {_size(size)}" for name, size in report.largest)
    )


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{count} B"


class RichReporter:
    """Shows each build step and download on the terminal."""

    def __init__(self, console: Console) -> None:
        self.console = console

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        self.console.print(f"[dim]…[/] {name}")
        yield
        self.console.print(f"[green]✓[/] {name} [dim]{time.perf_counter() - started:.1f} s[/]")

    @contextmanager
    def transfer(self, label: str, total: int | None) -> Iterator[Advance]:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TransferSpeedColumn,
        )

        columns = (
            TextColumn("  {task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
        )
        with Progress(*columns, console=self.console, transient=True) as progress:
            task = progress.add_task(label, total=total)
            yield lambda count: progress.advance(task, count)
        self.console.print(f"  [dim]fetched {label}[/]")

    def info(self, message: str) -> None:
        self.console.print(message)


def _console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def _configure_logging(verbose: bool, console: Console) -> None:
    from rich.logging import RichHandler

    handler = RichHandler(console=console, show_time=False, show_path=False, markup=False)
    logger = logging.getLogger("lite_build")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG if verbose else logging.WARNING)
    logger.propagate = False


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
