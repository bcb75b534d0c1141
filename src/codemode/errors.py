"""The error families of codemode.

Two families share one base, `CodeModeError`:

* errors the **model** should see, because the program it wrote caused them:
  `ToolError`, `SandboxError`, `LimitExceeded`. `execute` never raises these; they are
  reported in `ExecutionResult.error` with structured fields.
* errors the **developer** should see, because the setup is wrong: `ConfigError`,
  `SourceError`. These are raised from the API (`add_function`, config loading, ...).
"""

from __future__ import annotations

__all__ = [
    "ApprovalError",
    "CodeModeError",
    "ConfigError",
    "LimitExceeded",
    "SandboxError",
    "SourceError",
    "ToolError",
]


class CodeModeError(Exception):
    """Base class of every error codemode raises or reports."""


class ToolError(CodeModeError):
    """A tool call failed: bad arguments, the tool raised, timed out, or was refused.

    Inside programs it is catchable as `except ToolError:` and `except Exception:`.
    """

    def __init__(
        self,
        message: str,
        *,
        tool: str | None = None,
        parameter: str | None = None,
        logs: tuple[str, ...] = (),
    ):
        super().__init__(message)
        self.message = message
        """What went wrong, written for the model that made the call."""
        self.tool = tool
        """The qualified tool name (`namespace.identifier`), when known."""
        self.parameter = parameter
        """The parameter at fault, when the error is about one."""
        self.logs = logs
        """Log lines the tool's source sent during the call (capped), if any."""


class SandboxError(CodeModeError):
    """The sandbox could not run the program (a worker crashed, or none was free)."""


class LimitExceeded(CodeModeError):
    """The program hit one of its `Limits` (time, memory, recursion, tool calls, output)."""

    def __init__(self, message: str, *, limit: str):
        super().__init__(message)
        self.message = message
        """Which limit, its value, and what to do about it."""
        self.limit = limit
        """The name of the `Limits` field that was exceeded."""


class ConfigError(CodeModeError):
    """The configuration or registration is invalid (bad file, name collision, ...)."""


class SourceError(CodeModeError):
    """A tool source could not be loaded or reached."""


class ApprovalError(CodeModeError):
    """A paused program's approval cannot be decided here: unknown, expired, decided
    already, or for another project/agent or other tools."""
