"""How library code reports progress without printing.

Library functions take a :class:`Reporter`. The CLI passes one that draws rich progress bars;
tests and library users get :class:`NullReporter`, which only logs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

log = logging.getLogger("lite_build")

#: called with the number of bytes received since the last call
Advance = Callable[[int], None]


class Reporter(Protocol):
    def step(self, name: str) -> AbstractContextManager[None]:
        """Context manager around one named, timed build step."""
        ...

    def transfer(self, label: str, total: int | None) -> AbstractContextManager[Advance]:
        """Context manager around one download of ``total`` bytes (None if unknown)."""
        ...

    def info(self, message: str) -> None:
        """A line the user should see even without -v."""
        ...


class NullReporter:
    """Reports through :mod:`logging` only."""

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        log.info("%s ...", name)
        yield
        log.info("%s done in %.1f s", name, time.perf_counter() - started)

    @contextmanager
    def transfer(self, label: str, total: int | None) -> Iterator[Advance]:
        log.info("downloading %s (%s bytes)", label, total if total is not None else "?")
        yield lambda _n: None

    def info(self, message: str) -> None:
        log.info("%s", message)
