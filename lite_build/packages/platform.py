"""The Python that runs in the browser, as packaging tools see it: tags and environment markers.

Everything is derived from the ``info`` block of a Pyodide lock, so a new Pyodide release needs no
code change here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from lite_build.errors import LiteBuildError

_PYTHON_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)")
_EMSCRIPTEN_PLATFORM = re.compile(r"^emscripten_(\d+)_(\d+)_(\d+)$")
_ABI_VERSION = re.compile(r"^\d+_\d+$")


@dataclass(frozen=True)
class PyodidePlatform:
    """One Pyodide runtime: ``python_version`` "3.14.2", ``abi_version`` "2026_0",
    ``emscripten_version`` "5.0.3"."""

    python_version: str
    abi_version: str
    emscripten_version: str

    @classmethod
    def from_lock_info(cls, info: Mapping[str, Any]) -> PyodidePlatform:
        """Read the ``info`` block of a ``pyodide-lock.json``."""
        python = str(info.get("python", ""))
        abi = str(info.get("abi_version", ""))
        platform = str(info.get("platform", ""))
        problems = []
        if not _PYTHON_VERSION.match(python):
            problems.append(f'"python" is {python!r}, expected a version such as "3.14.2"')
        if not _ABI_VERSION.match(abi):
            problems.append(f'"abi_version" is {abi!r}, expected a value such as "2026_0"')
        emscripten = _EMSCRIPTEN_PLATFORM.match(platform)
        if not emscripten:
            problems.append(
                f'"platform" is {platform!r}, expected a value such as "emscripten_5_0_3"'
            )
        if problems or emscripten is None:
            raise LiteBuildError(
                "the Pyodide lock's info block is not usable: " + "; ".join(problems)
            )
        return cls(
            python_version=python,
            abi_version=abi,
            emscripten_version=".".join(emscripten.groups()),
        )

    @property
    def python_major_minor(self) -> tuple[int, int]:
        match = _PYTHON_VERSION.match(self.python_version)
        assert match is not None  # checked in from_lock_info
        return int(match.group(1)), int(match.group(2))

    @property
    def python_short_version(self) -> str:
        """The value of the ``python_version`` marker, such as "3.14"."""
        return "{}.{}".format(*self.python_major_minor)

    @property
    def platform_tag(self) -> str:
        """The PEP 783 platform tag of wheels built for this runtime."""
        return f"pyemscripten_{self.abi_version}_wasm32"

    def marker_environment(self) -> dict[str, str]:
        """Values for :meth:`packaging.markers.Marker.evaluate`, as Pyodide's Python sees them."""
        return {
            "implementation_name": "cpython",
            "implementation_version": self.python_version,
            "os_name": "posix",
            "platform_machine": "wasm32",
            "platform_python_implementation": "CPython",
            "platform_release": self.emscripten_version,
            "platform_system": "Emscripten",
            "platform_version": "#1",
            "python_full_version": self.python_version,
            "python_version": self.python_short_version,
            "sys_platform": "emscripten",
        }

    def supported_tags(self) -> list[Tag]:
        """Wheel tags this runtime can install, best first."""
        return list(self._tag_priority)

    def tag_priority(self, filename: str) -> int | None:
        """How good the wheel ``filename`` is here (0 is best), or None if it cannot be used."""
        try:
            _name, _version, _build, tags = parse_wheel_filename(filename)
        except InvalidWheelFilename:
            return None
        ranks = [self._tag_priority[tag] for tag in tags if tag in self._tag_priority]
        return min(ranks) if ranks else None

    def wheel_tags_supported(self, filename: str) -> bool:
        return self.tag_priority(filename) is not None

    @cached_property
    def _tag_priority(self) -> dict[Tag, int]:
        major_minor = self.python_major_minor
        interpreter = "cp{}{}".format(*major_minor)
        platforms = [self.platform_tag]
        ordered = [
            *cpython_tags(major_minor, abis=[interpreter], platforms=platforms),
            *compatible_tags(major_minor, interpreter=interpreter, platforms=platforms),
        ]
        priority: dict[Tag, int] = {}
        for tag in ordered:
            priority.setdefault(tag, len(priority))
        return priority
