"""The ``lite-build`` command: argument parsing, output and exit codes only.

The work happens in plain functions (``build``, ``serve``, ``init_project``); imports are lazy
so ``lite-build --help`` is instant and importing this module has no side effects.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from lite_build import __version__

if TYPE_CHECKING:
    from rich.console import Console

    from lite_build.build import BuildResult
    from lite_build.config import SiteConfig
    from lite_build.ui import Advance

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
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


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lite-build",
        description="Turn notebooks into a static, offline JupyterLite site.",
    )
    parser.add_argument("--version", action="version", version=f"lite-build {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", help="show details and tracebacks")
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
    site.add_argument("--output", type=Path, metavar="DIR", help="where to write the site")
    site.add_argument(
        "--pyodide",
        type=Path,
        metavar="PATH",
        help="a local Pyodide folder or tarball to use instead of the npm registry",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    build = commands.add_parser(
        "build", parents=[common, site], help="build the site", description="Build the site."
    )
    build.set_defaults(handler=_cmd_build)

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

    return load_config(args.config, output=args.output, pyodide_path=args.pyodide)


def _cmd_build(args: argparse.Namespace, console: Console) -> int:
    from lite_build.build import build

    config = _load(args)
    result = build(config, reporter=RichReporter(console), verbose=args.verbose)
    _print_summary(console, result)
    return EXIT_OK


def _cmd_serve(args: argparse.Namespace, console: Console) -> int:
    from lite_build.serve import make_server, serve_forever

    config = _load(args)
    if not args.no_build:
        from lite_build.build import build

        result = build(config, reporter=RichReporter(console), verbose=args.verbose)
        _print_summary(console, result)
    server = make_server(
        config.output,
        host=args.host,
        port=args.port,
        isolated=args.isolated,
        verbose=args.verbose,
    )
    serve_forever(server, RichReporter(console))
    return EXIT_OK


def _cmd_init(args: argparse.Namespace, console: Console) -> int:
    from lite_build.scaffold import init_project

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
    for env in result.environments:
        largest = sorted(env.packages, key=lambda p: -int(p["size"]))[:5]
        console.print(
            f"  environment [bold]{env.name}[/]: {len(env.packages)} packages, "
            f"{_size(env.download_size)}; largest: "
            + ", ".join(f"{p['name']} {_size(int(p['size']))}" for p in largest)
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
