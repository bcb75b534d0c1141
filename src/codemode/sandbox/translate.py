"""Monty's values and errors, translated into codemode's terms in one place."""

from __future__ import annotations

import re
from typing import Any

import pydantic_monty as pm

from codemode.convert import to_jsonable
from codemode.limits import Limits
from codemode.results import ErrorInfo

__all__ = ["import_hint", "limit_message", "limit_of", "plain", "position", "typing_error"]

_MISSING = re.compile(r"No module named '([\w.]+)'")
_AVAILABLE = (
    "asyncio, base64, bisect, collections, copy, csv, dataclasses, datetime, decimal, "
    "difflib, enum (functional API), fnmatch, fractions, functools, hashlib, heapq, html, "
    "io, itertools, json, math, operator, random, re, statistics, string, textwrap, time, "
    "typing, urllib.parse, uuid"
)


def position(frames: list[pm.Frame]) -> tuple[int | None, int | None]:
    """The deepest frame of the program itself (not of earlier session programs)."""
    if not frames:
        return None, None
    own = [f for f in frames if f.filename == frames[0].filename]
    frame = own[-1] if own else frames[-1]
    return frame.line, frame.column


def limit_of(kind: str, message: str) -> str | None:
    if kind == "TimeoutError" and "time limit exceeded" in message:
        return "timeout"
    if kind == "MemoryError" and "memory limit exceeded" in message:
        return "memory"
    if kind == "RecursionError":
        return "recursion_depth"
    return None


def limit_message(limit: str, limits: Limits, detail: str) -> str:
    if limit == "timeout":
        return f"the program ran longer than {limits.timeout:g} s"
    if limit == "memory":
        return (
            f"the program used more than {limits.memory // (1024 * 1024)} MB of memory "
            f"({detail}); process data in smaller pieces"
        )
    return f"maximum recursion depth ({limits.recursion_depth}) exceeded"


_DIAGNOSTIC = re.compile(r"^[^:\s]+:(\d+):(\d+): (?:error|warning)\[[\w-]+\] (.*)$")


def typing_error(display: str) -> ErrorInfo:
    """The checker's concise diagnostics (`main.py:L:C: error[code] msg`) as one error."""
    found = [m for ln in display.splitlines() if (m := _DIAGNOSTIC.match(ln.strip()))]
    if not found:
        return ErrorInfo(type="TypeCheckError", message=display.strip())
    text = "\n".join(f"line {m[1]}, column {m[2]}: {m[3]}" for m in found)
    return ErrorInfo(
        type="TypeCheckError", message=text, line=int(found[0][1]), column=int(found[0][2])
    )


def plain(value: Any) -> Any:
    """Sandbox values as plain JSON-able data (proxies become their names or fields)."""
    if isinstance(value, pm.MontyClassProxy):
        return to_jsonable(value.attributes)
    if isinstance(value, pm.MontyStdTypeProxy | pm.MontyClassTypeProxy):
        return f"<{value.name}>"
    if isinstance(value, pm.ExternalModule):
        return "<namespace>"
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k if isinstance(k, str) else str(k): plain(v) for k, v in value.items()}
    return to_jsonable(value)


def import_hint(message: str) -> str:
    """Say what to use instead of a module the sandbox cannot have."""
    from codemode.prelude import UNAVAILABLE

    found = _MISSING.search(message)
    if found is None:
        return message
    module = found.group(1)
    for name in (module, module.split(".")[0]):
        if name in UNAVAILABLE:
            return f"{message}: {UNAVAILABLE[name]}"
    return f"{message}; modules programs can import: {_AVAILABLE}"
