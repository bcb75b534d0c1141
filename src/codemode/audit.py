"""The audit log: every execution, as the store keeps it, and how it is read back.

Each `execute` (and each `resume` of a paused program) appends one record before its
result is returned: the program, the session, every tool call with the size of its
arguments, the outcome, the duration and the tokens the result cost. `codemode audit`
prints them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import secrets
from collections.abc import Sequence
from typing import Any

from codemode.errors import ConfigError
from codemode.results import ExecutionResult
from codemode.store import AuditRecord

__all__ = ["audit_record", "format_audit", "parse_since"]

_ERROR_CHARS = 500
_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def audit_record(
    result: ExecutionResult,
    *,
    code: str,
    scope: str,
    started: float,
    kind: str = "execute",
    approval_id: str | None = None,
) -> AuditRecord:
    """The audit record of one execution (`started`: Unix time it began)."""
    error = result.error
    return AuditRecord(
        id="aud_" + secrets.token_hex(10),
        time=started,
        scope=scope,
        session=result.session,
        kind=kind,
        code=code,
        status=result.status,
        duration_ms=result.duration_ms,
        tokens=result.tokens,
        tool_calls=tuple(
            {
                "tool": c.tool,
                "ok": c.ok,
                "duration_ms": round(c.duration_ms, 3),
                "arg_bytes": c.arg_bytes,
            }
            for c in result.tool_calls
        ),
        error_type=error.type if error else None,
        error_message=error.message[:_ERROR_CHARS] if error else None,
        approval_id=result.approval_id or approval_id,
    )


def parse_since(text: str, now: float) -> float:
    """`--since` as Unix time: a duration back from `now` (`30m`, `2h`, `7d`, `1w`) or
    an ISO date or date-time (`2026-11-21`, `2026-11-21T09:30`, local time unless it
    carries an offset)."""
    match = _RELATIVE.match(text)
    if match:
        return now - float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(
            f"--since takes a duration (30m, 2h, 7d) or an ISO date/time, not {text!r}"
        ) from None
    return when.timestamp()


def format_audit(records: Sequence[AuditRecord], *, as_json: bool = False) -> str:
    """Records as JSON lines, or as a table a person reads."""
    if as_json:
        return "\n".join(json.dumps(dataclasses.asdict(r), ensure_ascii=False) for r in records)
    if not records:
        return "no executions recorded"
    lines = []
    for r in records:
        when = dt.datetime.fromtimestamp(r.time).isoformat(sep=" ", timespec="seconds")
        tools = ", ".join(_tool_summary(r.tool_calls)) or "no tool calls"
        outcome = r.status if r.error_type is None else f"{r.status} ({r.error_type})"
        extra = f" approval {r.approval_id}" if r.approval_id else ""
        lines.append(
            f"{when}  {r.kind:<7} session={r.session or '-'}  {outcome}  "
            f"{r.duration_ms:.1f} ms  {r.tokens} tokens  {tools}{extra}"
        )
        first = r.code.strip().splitlines()[0] if r.code.strip() else ""
        lines.append(f"    {first[:100]}")
    return "\n".join(lines)


def _tool_summary(calls: Sequence[dict[str, Any]]) -> list[str]:
    counts: dict[str, int] = {}
    for call in calls:
        counts[call["tool"]] = counts.get(call["tool"], 0) + 1
    return [f"{tool} x{n}" if n > 1 else tool for tool, n in counts.items()]
