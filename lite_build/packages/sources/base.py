"""What a package source is: the one interface every source implements.

A source lists the files it has for a project name (as an index does), reads a file's core
metadata, fetches a chosen file into the cache (hash-checked), and says why it lacks a name.
The resolver sees the sources through :class:`lite_build.packages.sources.LayeredIndex`; the
build fetches each chosen package from the source that provided it (``ResolvedPackage.source``
is the source's :attr:`Source.name`). A new source is one module with one :class:`Source`
subclass, added to the order in :class:`lite_build.packages.sources.PackageSources`.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from lite_build.packages.index import IndexFile
from lite_build.packages.resolve import ResolvedPackage
from lite_build.packages.wheel import CoreMetadata


class Source(ABC):
    """One place packages come from."""

    #: how the lock file, ``IndexFile.source`` and messages name the source
    name: ClassVar[str]

    @abstractmethod
    def files(self, name: str) -> list[IndexFile]:
        """The files the source has for project ``name`` (empty: none)."""

    @abstractmethod
    def metadata(self, file: IndexFile) -> CoreMetadata:
        """The core metadata of one of the source's files."""

    @abstractmethod
    def fetch(self, package: ResolvedPackage, *, offline: bool) -> Path:
        """The package's file on disk, checked against its sha256. ``offline``: whether the
        site must ship every file (it only shapes the advice when a file cannot be had)."""

    def missing_reason(self, name: str) -> str | None:
        """Why the source does not have ``name``, for the "no source has it" message (None: not
        worth a mention)."""
        return None

    def describe(self, root: Path) -> list[str]:
        """The source as ``lite-build.lock`` records it (paths relative to ``root``), if the
        lock must change when the source does."""
        return []

    def catalogue_fields(self, package: ResolvedPackage) -> dict[str, Any]:
        """Fields the site's ``pyodide-lock.json`` entry copies from the source's catalogue."""
        return {}

    def remote_url(self, package: ResolvedPackage) -> str | None:
        """The URL the site loads the package from at run time, if it does not ship it."""
        return None


class Unconfigured(Source):
    """A source the configuration does not set up: it has nothing, and says so."""

    name = "unconfigured"

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def files(self, name: str) -> list[IndexFile]:
        return []

    def metadata(self, file: IndexFile) -> CoreMetadata:
        raise AssertionError("an unconfigured source has no files")

    def fetch(self, package: ResolvedPackage, *, offline: bool) -> Path:
        raise AssertionError("an unconfigured source has no files")

    def missing_reason(self, name: str) -> str | None:
        return self.reason


def relative(path: Path, root: Path) -> str:
    """``path`` as the lock file records it: relative to ``root``, starting with ``.``."""
    text = os.path.relpath(path, root).replace(os.sep, "/")
    return text if text.startswith(".") else "./" + text
