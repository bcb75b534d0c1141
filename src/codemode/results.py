"""The result contract of `execute`, and the caps that keep it small.

`execute` never raises for errors in the program: it returns an `ExecutionResult` whose
`error` says what went wrong, where, and (for tool errors) which tool and parameter.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "ErrorInfo",
    "ExecutionResult",
    "LogBudget",
    "OutputBuffer",
    "Printed",
    "ToolCall",
    "cap_json",
    "cap_text",
]

Status = Literal["ok", "error", "approval_required"]


@dataclass(frozen=True, kw_only=True)
class ErrorInfo:
    """Why an execution failed, in the terms the model needs to fix its program."""

    type: str
    """`ToolError`, `LimitExceeded`, `SyntaxError`, `SandboxError`, or the program's own
    exception type (`KeyError`, `ValueError`, ...)."""
    message: str
    """One short paragraph, no host traceback."""
    line: int | None = None
    """1-based line in the program, when known."""
    column: int | None = None
    """1-based column in the program, when known."""
    tool: str | None = None
    """The qualified tool name, for tool errors."""
    parameter: str | None = None
    """The parameter at fault, for argument errors."""
    limit: str | None = None
    """The `Limits` field exceeded, for `LimitExceeded`."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict; fields that are None are left out (except line)."""
        data: dict[str, Any] = {"type": self.type, "message": self.message, "line": self.line}
        for key in ("column", "tool", "parameter", "limit"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data


@dataclass(frozen=True, kw_only=True)
class ToolCall:
    """One tool call a program made."""

    tool: str
    """Qualified name, `namespace.identifier`."""
    duration_ms: float
    """Time from the call leaving the sandbox to its result being ready."""
    ok: bool
    """False when the call raised `ToolError` in the program."""
    logs: tuple[str, ...] = ()
    """Log lines the tool's source sent during the call (capped; see `cap_logs`)."""
    arg_bytes: int = 0
    """Size of the call's arguments as JSON (what the audit log keeps of them)."""
    started: float = 0.0
    """Unix time the call left the sandbox."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (`logs` only when there are some)."""
        data: dict[str, Any] = {
            "tool": self.tool,
            "duration_ms": round(self.duration_ms, 3),
            "ok": self.ok,
        }
        if self.logs:
            data["logs"] = list(self.logs)
        return data


@dataclass(frozen=True, kw_only=True)
class ExecutionResult:
    """What one `execute` produced."""

    ok: bool
    """True when the program ran to completion."""
    result: Any = None
    """The value of the program's last expression (plain JSON-able data), or None."""
    stdout: str = ""
    """What the program printed (capped; see `truncated`)."""
    error: ErrorInfo | None = None
    """Why the program failed, or None."""
    tool_calls: tuple[ToolCall, ...] = ()
    """Every tool call made, in the order they were made."""
    duration_ms: float = 0.0
    """Wall time of the execution, analysis included."""
    truncated: bool = False
    """True when stdout or the result was shortened to fit its limit."""
    session: str | None = None
    """The session id the execution ran in, if any."""
    approval_id: str | None = None
    """Set when the program paused at a call that needs approval: pass it to
    `CodeMode.resume` (or `codemode approve|deny ID`)."""
    pending: dict[str, Any] | None = None
    """The call waiting for approval: `{"tool": "ns.name", "args": {...}}`."""
    tokens: int = 0
    """o200k tokens of what this result returns to the model (its JSON form)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Additional fields later layers add (artifacts, ...)."""

    @property
    def status(self) -> Status:
        """`"ok"`, `"error"`, or `"approval_required"` (paused; see `approval_id`)."""
        if self.approval_id is not None:
            return "approval_required"
        return "ok" if self.ok else "error"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict of every field (the shape MCP clients receive)."""
        data: dict[str, Any] = {
            "ok": self.ok,
            "status": self.status,
            "result": self.result,
            "stdout": self.stdout,
            "error": self.error.to_dict() if self.error else None,
            "tool_calls": [c.to_dict() for c in self.tool_calls],
            "duration_ms": round(self.duration_ms, 3),
            "truncated": self.truncated,
        }
        if self.session is not None:
            data["session"] = self.session
        if self.approval_id is not None:
            data["approval_id"] = self.approval_id
            data["pending"] = self.pending
        if self.tokens:
            data["tokens"] = self.tokens
        data.update(self.extra)
        return data


@dataclass(frozen=True)
class Printed:
    """Returned by a host function to print `text` into the program's output (like
    Python's `help()` does) instead of returning a value."""

    text: str


def cap_text(text: str, limit: int) -> tuple[str, bool]:
    """Keep the head and tail of `text` within `limit` characters, labelling the cut."""
    if len(text) <= limit:
        return text, False
    marker_room = 48
    keep = max(limit - marker_room, 0)
    head = keep * 3 // 4
    tail = keep - head
    omitted = len(text) - head - tail
    cut = f"\n… {omitted} chars omitted …\n"
    return text[:head] + cut + (text[len(text) - tail :] if tail else ""), True


class OutputBuffer:
    """Collects printed output, keeping the first and last parts within a byte budget.

    Memory stays bounded however much a program prints: once the head is full, only a
    rolling tail is kept and the rest is counted.
    """

    def __init__(self, limit: int) -> None:
        self._head_limit = limit * 3 // 4
        self._tail_limit = limit - self._head_limit
        self._head: list[str] = []
        self._head_len = 0
        self._tail = ""
        self._dropped = 0

    def write(self, text: str) -> None:
        """Append printed text."""
        room = self._head_limit - self._head_len
        if room > 0:
            part = text[:room]
            self._head.append(part)
            self._head_len += len(part)
            text = text[room:]
            if not text:
                return
        tail = self._tail + text
        if len(tail) > self._tail_limit:
            self._dropped += len(tail) - self._tail_limit
            tail = tail[len(tail) - self._tail_limit :]
        self._tail = tail

    def __call__(self, stream: str, text: str) -> None:
        """The `print_callback` signature of the sandbox."""
        self.write(text)

    @property
    def truncated(self) -> bool:
        """True when some output was dropped."""
        return self._dropped > 0

    @property
    def total(self) -> int:
        """Characters printed in all."""
        return self._head_len + len(self._tail) + self._dropped

    def getvalue(self) -> str:
        """The kept output, with a marker where the middle was dropped."""
        head = "".join(self._head)
        if not self._dropped:
            return head + self._tail
        return f"{head}\n… {self._dropped} chars omitted …\n{self._tail}"


LOG_LINES = 10
"""Log lines kept per tool call."""
LOG_LINE_CHARS = 300
"""Characters kept per log line."""
LOG_CHARS = 8000
"""Characters of log lines kept over a whole execution."""


class LogBudget:
    """Caps the log lines of one execution's tool calls: per call, per line and in all."""

    def __init__(self, total: int = LOG_CHARS) -> None:
        self._left = total

    def take(self, lines: tuple[str, ...] | list[str]) -> tuple[str, ...]:
        """The lines to keep for one call, labelled where some were dropped."""
        kept: list[str] = []
        for line in lines[:LOG_LINES]:
            text, _ = cap_text(line, LOG_LINE_CHARS)
            if len(text) > self._left:
                break
            self._left -= len(text)
            kept.append(text)
        if len(kept) < len(lines):
            kept.append(f"… {len(lines) - len(kept)} more log lines omitted")
        return tuple(kept)


_MAX_DEPTH = 32


def cap_json(value: Any, limit: int) -> tuple[Any, bool]:
    """Shorten a JSON-able value so its JSON encoding fits in about `limit` bytes.

    The result stays valid, structured JSON: long lists keep their head and end with a
    marker string, long strings are cut with a note, deep nesting is summarised.
    Returns the (possibly new) value and whether anything was cut.
    """
    size = _json_size(value)
    if size is not None and size <= limit:
        return value, False
    budget = max(limit, 64)
    # Drop list items and keys before cutting strings: a long list of small records
    # should lose records, not have every record mangled.
    string_cap = max(budget // 4, 32)
    shortened: Any = value
    for list_cap in (1000, 300, 100, 30, 10, 3, 1):
        shortened = _shorten(value, string_cap, list_cap, 0)
        size = _json_size(shortened)
        if size is not None and size <= budget:
            return shortened, True
    while string_cap > 16:
        string_cap //= 2
        shortened = _shorten(value, string_cap, 1, 0)
        size = _json_size(shortened)
        if size is not None and size <= budget:
            return shortened, True
    text, _ = cap_text(json.dumps(shortened, default=str, ensure_ascii=False), budget - 64)
    return {"truncated_json": text}, True


def _json_size(value: Any) -> int | None:
    try:
        return len(json.dumps(value, ensure_ascii=False, allow_nan=False).encode())
    except (TypeError, ValueError):
        return None


def _shorten(value: Any, string_cap: int, list_cap: int, depth: int) -> Any:
    if isinstance(value, str):
        if len(value) > string_cap:
            return value[:string_cap] + f"… [{len(value) - string_cap} chars omitted]"
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict | list) and depth >= _MAX_DEPTH:
        return f"<{type(value).__name__} nested deeper than {_MAX_DEPTH} levels omitted>"
    if isinstance(value, dict):
        items = list(value.items())
        out = {str(k): _shorten(v, string_cap, list_cap, depth + 1) for k, v in items[:list_cap]}
        if len(items) > list_cap:
            out["…"] = f"{len(items) - list_cap} more keys omitted"
        return out
    if isinstance(value, list):
        out_list = [_shorten(v, string_cap, list_cap, depth + 1) for v in value[:list_cap]]
        if len(value) > list_cap:
            out_list.append(f"… {len(value) - list_cap} more items omitted")
        return out_list
    return value
