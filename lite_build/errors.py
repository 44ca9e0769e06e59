"""The one error type library code raises; its message is written for the user."""

from __future__ import annotations


class LiteBuildError(Exception):
    """A problem the user can act on. ``str(error)`` is the complete message."""


class ConfigError(LiteBuildError):
    """One or more problems in the configuration, reported together."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = [f"{source}: {len(self.problems)} problem(s) in the configuration:"]
        lines += [f"  - {problem}" for problem in self.problems]
        super().__init__("\n".join(lines))
