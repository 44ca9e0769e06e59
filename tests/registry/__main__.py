"""``python -m tests.registry``: fill the store, pin releases, or run the stand-in by hand."""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading

from packaging.requirements import InvalidRequirement, Requirement

from lite_build.cache import http_client
from tests.registry.listing import LISTING_PATH, FrozenListing
from tests.registry.server import RegistryServer
from tests.registry.store import FETCH_COMMAND, default_store, fetch
from tests.registry.upstream import NotPublished, npm_version, pypi_release


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.registry", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "fetch", help="download the pinned files the store lacks (hash-checked; needs the network)"
    )
    add = commands.add_parser(
        "add", help=f"pin (or re-pin) PyPI releases, reading the live PyPI; writes {LISTING_PATH}"
    )
    add.add_argument("releases", nargs="+", metavar="NAME==VERSION")
    add.add_argument(
        "--sdist", action="store_true", help="store the sdist too (a test downloads it)"
    )
    add_npm = commands.add_parser(
        "add-npm",
        help=f"pin npm package versions, reading the live npm registry; writes {LISTING_PATH}",
    )
    add_npm.add_argument("releases", nargs="+", metavar="NAME@VERSION")
    commands.add_parser(
        "serve", help="run the stand-in until Ctrl-C and print the variables that point at it"
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "fetch":
            return _fetch()
        if args.command == "add":
            return _add(args.releases, store_sdist=args.sdist)
        if args.command == "add-npm":
            return _add_npm(args.releases)
        return _serve()
    except (NotPublished, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def _fetch() -> int:
    store = default_store()
    report = fetch(FrozenListing.load(), store)
    print(
        f"test registry: {report.items} files pinned, {report.downloaded} downloaded "
        f"({report.downloaded_bytes / 1e6:.1f} MB) in {report.seconds:.1f} s; "
        f"store {store}: {report.store_bytes / 1e6:.1f} MB"
    )
    return 0


def _add(releases: list[str], *, store_sdist: bool) -> int:
    listing = FrozenListing.load()
    with http_client() as client:
        for text in releases:
            name, version = _exact_pin(text)
            files = pypi_release(client, name, version, store_sdist=store_sdist)
            listing.pin(name, files)
            print(f"pinned {name} {version}: {', '.join(file.filename for file in files)}")
    listing.save()
    print(f"wrote {LISTING_PATH}; run `{FETCH_COMMAND}` to download the new files")
    return 0


def _exact_pin(text: str) -> tuple[str, str]:
    try:
        requirement = Requirement(text)
    except InvalidRequirement as error:
        raise ValueError(f"{text!r} is not NAME==VERSION") from error
    specifiers = list(requirement.specifier)
    if len(specifiers) != 1 or specifiers[0].operator != "==" or "*" in specifiers[0].version:
        raise ValueError(f"{text!r} is not NAME==VERSION: pin one exact release")
    return requirement.name, specifiers[0].version


def _add_npm(releases: list[str]) -> int:
    listing = FrozenListing.load()
    with http_client() as client:
        for text in releases:
            package, _, version = text.rpartition("@")
            if not package or not version:
                raise ValueError(f"{text!r} is not NAME@VERSION")
            listing.pin_tarball(package, version, npm_version(client, package, version))
            print(f"pinned {package}@{version}")
    listing.save()
    print(f"wrote {LISTING_PATH}; run `{FETCH_COMMAND}` to download the new files")
    return 0


def _serve() -> int:
    with RegistryServer(FrozenListing.load(), default_store()) as server:
        for name, value in server.environment().items():
            print(f"export {name}={value}")
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    for miss in server.misses:
        print(f"missed: {miss}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
