"""What a store keeps, as plain frozen records shared by every implementation."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from codemode._search_text import STOP_WORDS, stem
from codemode.errors import ConfigError

__all__ = [
    "APPROVAL_COLUMNS",
    "APPROVAL_STATUSES",
    "AUDIT_COLUMNS",
    "FUNCTION_COLUMNS",
    "MEMORY_COLUMNS",
    "ApprovalRecord",
    "AuditRecord",
    "FileInfo",
    "LibraryFunction",
    "MemoryRecord",
    "Quota",
    "QuotaExceeded",
    "SessionRecord",
    "approval_from_row",
    "approval_to_row",
    "audit_from_row",
    "audit_to_row",
    "check_approval_decision",
    "check_quota",
    "function_from_row",
    "index_text",
    "memory_from_row",
    "new_memory_id",
    "query_stems",
    "query_terms",
    "stems",
    "where_clause",
]


@dataclass(frozen=True, kw_only=True)
class SessionRecord:
    """A session's saved state."""

    state: bytes
    """The sandbox's opaque dump."""
    bound: frozenset[str]
    """Globals codemode bound in it (namespaces, polyfills), so they are not rebuilt."""
    updated: float
    """Unix time of the save."""
    programs: tuple[str, ...] = ()
    """The session's latest programs, oldest first (where `library.save` finds the
    definitions of functions the session holds)."""


APPROVAL_STATUSES = ("pending", "approved", "denied")


@dataclass(frozen=True, kw_only=True)
class ApprovalRecord:
    """A program paused at a tool call that needs a human's decision."""

    id: str
    """`apr_` + 24 hex digits."""
    created: float
    """Unix time of the pause."""
    scope: str
    """The `project/agent` whose program paused."""
    session: str | None
    """The session the program ran in (None: a stateless execution)."""
    tool: str
    """The qualified tool the program is waiting to call."""
    args: dict[str, Any]
    """The call's keyword arguments (JSON data)."""
    state: bytes
    """The sandbox's dump, suspended at the call (opaque)."""
    context: str
    """JSON the executor needs to continue (output so far, calls made, ...)."""
    status: str = "pending"
    """`pending`, then `approved` or `denied` once decided (see `APPROVAL_STATUSES`)."""
    decided: float | None = None
    """Unix time of the decision."""


def check_approval_decision(status: str) -> None:
    """Raise ValueError unless `status` is a decision (`approved` or `denied`)."""
    if status not in APPROVAL_STATUSES[1:]:
        raise ValueError(f"an approval is decided as 'approved' or 'denied', not {status!r}")


@dataclass(frozen=True, kw_only=True)
class AuditRecord:
    """One execution, as the audit log keeps it."""

    id: str
    time: float
    """Unix time the execution started."""
    scope: str
    session: str | None
    kind: str
    """`execute`, or `resume` (an approval decision continuing a paused program)."""
    code: str
    status: str
    """`ok`, `error` or `approval_required`."""
    duration_ms: float
    tokens: int
    """o200k tokens of what the execution returned."""
    tool_calls: tuple[dict[str, Any], ...] = ()
    """`{"tool", "ok", "duration_ms", "arg_bytes"}` for each call, in order."""
    error_type: str | None = None
    error_message: str | None = None
    approval_id: str | None = None
    """The approval this execution paused at, or the one it resumed."""


@dataclass(frozen=True, kw_only=True)
class FileInfo:
    """A file in a workspace."""

    path: str
    """Relative to the workspace root, `/`-separated, no leading slash."""
    size: int
    modified: float
    """Unix time of the last write."""


@dataclass(frozen=True, kw_only=True)
class Quota:
    """Limits on one workspace, checked in the same transaction as each write."""

    max_bytes: int = 100 * 1024 * 1024
    max_files: int = 10_000

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_files"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ConfigError(f"Quota.{name} must be a positive integer, got {value!r}")


class QuotaExceeded(Exception):
    """A workspace write would go over its quota; nothing was written."""


def check_quota(quota: Quota, files: int, size: int) -> None:
    """Raise QuotaExceeded if a workspace of `files` files and `size` bytes is over."""
    if files > quota.max_files:
        raise QuotaExceeded(
            f"the workspace would hold {files} files; its quota is {quota.max_files}"
        )
    if size > quota.max_bytes:
        raise QuotaExceeded(
            f"the workspace would hold {size:,} bytes; its quota is {quota.max_bytes:,}"
        )


@dataclass(frozen=True, kw_only=True)
class LibraryFunction:
    """One saved version of a library function."""

    scope: str
    name: str
    version: int
    """1 for the first save; every save (a rollback too) adds one."""
    source: str
    """Self-contained module source that defines `name` (with the imports and helper
    functions it uses)."""
    signature: str
    """The `def` line, e.g. `def parse_invoice(text: str) -> dict`."""
    description: str | None
    tests: tuple[str, ...]
    created: float


@dataclass(frozen=True, kw_only=True)
class MemoryRecord:
    """A remembered text."""

    id: str
    profile: str
    text: str
    tags: tuple[str, ...]
    created: float
    score: float | None = None
    """How well it matched a recall query (higher is better); None outside recall."""


FUNCTION_COLUMNS = (
    "scope",
    "name",
    "version",
    "source",
    "signature",
    "description",
    "tests",
    "created",
)
"""The columns a store selects for a `LibraryFunction`, in this order."""
MEMORY_COLUMNS = ("id", "profile", "text", "tags", "created")
"""The columns a store selects for a `MemoryRecord`, in this order."""
APPROVAL_COLUMNS = (
    "id",
    "created",
    "scope",
    "session",
    "tool",
    "args",
    "state",
    "context",
    "status",
    "decided",
)
"""The columns a store selects for an `ApprovalRecord`, in this order."""
AUDIT_COLUMNS = (
    "id",
    "time",
    "scope",
    "session",
    "kind",
    "code",
    "status",
    "duration_ms",
    "tokens",
    "tool_calls",
    "error_type",
    "error_message",
    "approval_id",
)
"""The columns a store selects for an `AuditRecord`, in this order."""


def function_from_row(
    row: Sequence[Any], listed: Callable[[Any], Sequence[str]]
) -> LibraryFunction:
    """A function from a row of `FUNCTION_COLUMNS`; `listed` decodes the stored tests."""
    values = dict(zip(FUNCTION_COLUMNS, row, strict=True))
    values["tests"] = tuple(listed(values["tests"]))
    return LibraryFunction(**values)


def memory_from_row(
    row: Sequence[Any], listed: Callable[[Any], Sequence[str]], score: float | None = None
) -> MemoryRecord:
    """A memory from a row of `MEMORY_COLUMNS`; `listed` decodes the stored tags."""
    values = dict(zip(MEMORY_COLUMNS, row, strict=True))
    values["tags"] = tuple(listed(values["tags"]))
    return MemoryRecord(**values, score=score)


def approval_from_row(row: Sequence[Any]) -> ApprovalRecord:
    """An approval from a row of `APPROVAL_COLUMNS` (`args` stored as JSON text)."""
    values = dict(zip(APPROVAL_COLUMNS, row, strict=True))
    values["args"] = json.loads(values["args"])
    values["state"] = bytes(values["state"])
    return ApprovalRecord(**values)


def approval_to_row(record: ApprovalRecord) -> tuple[Any, ...]:
    """The values of `APPROVAL_COLUMNS` a store writes for `record`."""
    values = {c: getattr(record, c) for c in APPROVAL_COLUMNS}
    values["args"] = json.dumps(record.args)
    return tuple(values.values())


def audit_from_row(row: Sequence[Any]) -> AuditRecord:
    """An audit record from a row of `AUDIT_COLUMNS` (`tool_calls` stored as JSON text)."""
    values = dict(zip(AUDIT_COLUMNS, row, strict=True))
    values["tool_calls"] = tuple(json.loads(values["tool_calls"]))
    return AuditRecord(**values)


def audit_to_row(record: AuditRecord) -> tuple[Any, ...]:
    """The values of `AUDIT_COLUMNS` a store writes for `record`."""
    values = {c: getattr(record, c) for c in AUDIT_COLUMNS}
    values["tool_calls"] = json.dumps(list(record.tool_calls))
    return tuple(values.values())


def where_clause(*conditions: tuple[str, Any]) -> tuple[str, tuple[Any, ...]]:
    """A SQL `WHERE` joining with AND each (condition, parameter) whose parameter is not
    None (an empty string when none is), and those parameters."""
    kept = [(sql, value) for sql, value in conditions if value is not None]
    if not kept:
        return "", ()
    return "WHERE " + " AND ".join(sql for sql, _ in kept), tuple(value for _, value in kept)


def new_memory_id() -> str:
    """A fresh memory id, e.g. `m_3f9a1c0d2b7e4a51`."""
    return "m_" + secrets.token_hex(8)


_TERM = re.compile(r"[^\W_]+", re.UNICODE)


def query_terms(text: str, *, limit: int = 32) -> list[str]:
    """The distinct lowercase words of a recall query that carry meaning (stop words
    dropped, unless nothing else is left), in order, at most `limit`."""
    found: list[str] = []
    for word in _TERM.findall(text.lower()):
        if word not in found:
            found.append(word)
    meaningful = [w for w in found if w not in STOP_WORDS and len(w) > 1]
    return (meaningful or found)[:limit]


def stems(text: str) -> list[str]:
    """The stemmed words of `text`: what every store indexes and ranks on, so the same
    query finds the same memories in each (`deploys`/`deploying` -> `deploy`)."""
    return [stem(w) for w in _TERM.findall(text.lower())]


def index_text(text: str, tags: tuple[str, ...]) -> str:
    """The words a memory is found by: the stems of its text and tags."""
    return " ".join(stems(text + " " + " ".join(tags)))


def query_stems(query: str) -> list[str]:
    """The distinct stems of a recall query's meaningful words."""
    return list(dict.fromkeys(stem(t) for t in query_terms(query)))
