"""Resource limits for one execution. On by default; every one yields a clear error."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from codemode.errors import ConfigError

__all__ = ["Limits"]

MB = 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class Limits:
    """What one `execute` may consume. Exceeding a limit ends the execution with a
    `LimitExceeded` error (or, for output, truncates it); the host process and the next
    execution are unaffected.
    """

    timeout: float = 30.0
    """Wall-clock seconds for the whole execution, tool calls included."""
    memory: int = 256 * MB
    """Bytes of sandbox heap."""
    recursion_depth: int = 1000
    """Maximum depth of nested calls inside the program."""
    tool_calls: int = 200
    """Tool calls one execution may make."""
    tool_timeout: float = 60.0
    """Seconds one tool call may take (capped by what is left of `timeout`)."""
    stdout_bytes: int = 64 * 1024
    """Printed output kept; the rest is cut from the middle and `truncated` is set."""
    result_bytes: int = 256 * 1024
    """Size of the JSON result returned; a larger result is stored as an artifact and the
    model receives its id, size and a preview (`truncated` is set)."""
    tool_result_bytes: int = 32 * MB
    """A tool result larger than this stays on the host as an artifact: the program
    receives a handle and reads the value in slices with `artifacts.get(id, start, stop)`."""
    session_bytes: int = 64 * MB
    """Size of a session's saved state (its variables, dumped after every execution); an
    execution that leaves more is reported as `LimitExceeded` and its state is not saved."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ConfigError(f"Limits.{f.name} must be a positive number, got {value!r}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Limits:
        """Build from a config table; unknown keys are an error that lists the valid ones."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(
                f"unknown limit(s) {', '.join(unknown)}; valid limits: {', '.join(sorted(names))}"
            )
        return cls(**dict(data))

    def replace(self, **changes: Any) -> Limits:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)
