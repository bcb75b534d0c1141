"""Programs paused at a call that needs a human's decision, and what they carry.

When a program reaches a tool call whose policy is `approve` (see `codemode.policy`),
the driver stops there: the sandbox is dumped mid-call and kept in the store with the
pending call, and `execute` returns `status="approval_required"` with the approval's
id. `CodeMode.resume(id, approve=...)` continues it — in this process or any other
sharing the store — from exactly that call: approved, the call runs and the program
goes on; denied, the call raises `ToolError("denied: ...")` inside the program. Calls
made before the pause are never made again; their results live in the dump.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from codemode.results import ToolCall

__all__ = ["Carry", "Paused", "is_approval_id", "new_approval_id"]


_ID = re.compile(r"^apr_[0-9a-f]{24}$")


def new_approval_id() -> str:
    """A fresh approval id: `apr_` + 24 hex digits."""
    return "apr_" + secrets.token_hex(12)


def is_approval_id(value: object) -> bool:
    """Whether `value` is shaped like an approval id (before looking it up)."""
    return isinstance(value, str) and _ID.match(value) is not None


@dataclass(kw_only=True)
class Carry:
    """What a paused run hands to its continuation, beyond the sandbox's own dump."""

    code: str
    """The program (its analysis is redone on resume)."""
    call_id: int
    """The sandbox's id of the call waiting for approval."""
    stdout: str = ""
    """What the program printed before the pause."""
    calls: list[ToolCall] = field(default_factory=list)
    """Tool calls made before the pause."""
    started: int = 0
    """Tool calls started (counted against `Limits.tool_calls`)."""
    approved_run: list[str] = field(default_factory=list)
    """Tools approved for the rest of the run (`approve_run`)."""
    settled: dict[int, Any] = field(default_factory=dict)
    """The sandbox's answers to concurrent calls that finished while pausing, by call id
    (`{"return_value": ...}`, or an exception)."""
    tool_errors: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Tool errors raised so far: message -> `{"tool", "parameter"}`."""
    imported: list[str] = field(default_factory=list)
    """Globals codemode bound in the session (so they are not rebuilt)."""
    execution: str = ""
    """The execution's id (its artifacts are listed under it)."""

    def to_json(self) -> str:
        data = asdict(replace(self, settled={}))
        data["settled"] = {str(k): _answer_json(v) for k, v in self.settled.items()}
        return json.dumps(data, ensure_ascii=False, default=str)

    @classmethod
    def from_json(cls, text: str) -> Carry:
        data = json.loads(text)
        data["calls"] = [ToolCall(**{**c, "logs": tuple(c["logs"])}) for c in data["calls"]]
        data["settled"] = {int(k): v for k, v in data["settled"].items()}
        return cls(**data)


@dataclass(frozen=True, kw_only=True)
class Paused:
    """A run stopped at a call needing approval."""

    state: bytes
    """The sandbox's dump, suspended at the call."""
    tool: str
    """The qualified tool called."""
    args: dict[str, Any]
    """Its keyword arguments."""
    carry: Carry


def _answer_json(answer: dict[str, Any]) -> dict[str, Any]:
    """A settled answer in a form that survives JSON: an exception by its type's name
    and message (the sandbox raises it again from those)."""
    exc = answer.get("exception")
    if isinstance(exc, BaseException):
        return {"exc_type": type(exc).__name__, "message": str(exc)}
    return answer
