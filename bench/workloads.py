"""Tools, programs and result checks shared by the benchmark workloads.

codemode programs call tools as functions on a namespace (`m.add(a=1, b=2)`); fastmcp's
CodeMode programs call `await call_tool("add", {"a": 1, "b": 2})`. fastmcp wraps a tool's
non-object return value as structured content `{"result": value}`, and its `call_tool`
hands that dict to the program, so the fastmcp programs read `["result"]`.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "CM_GATHER_ASYNC",
    "CM_GATHER_SYNC",
    "FM_GATHER_ASYNC",
    "FM_GATHER_SYNC",
    "GATHER_WIDTH",
    "NAMESPACE",
    "ONE_PLUS_ONE",
    "SLOW_SECONDS",
    "BenchCheckError",
    "aadd",
    "add",
    "cm_loop",
    "engine_call_tool",
    "expect_mcp_json",
    "expect_mcp_text",
    "expect_ok",
    "expect_value",
    "fm_loop",
    "gather_expected",
    "loop_sum",
    "slow",
    "slow_sync",
]

NAMESPACE = "m"
SLOW_SECONDS = 0.2
GATHER_WIDTH = 10
ONE_PLUS_ONE = "1+1"


# -- tools ------------------------------------------------------------------------------


def add(a: int, b: int = 0) -> int:
    """Add two integers."""
    return a + b


async def aadd(a: int, b: int = 0) -> int:
    """Add two integers (async)."""
    return a + b


async def slow(i: int) -> int:
    """Sleep asynchronously for SLOW_SECONDS, then return `i`."""
    await asyncio.sleep(SLOW_SECONDS)
    return i


def slow_sync(i: int) -> int:
    """Block the calling thread for SLOW_SECONDS, then return `i`."""
    time.sleep(SLOW_SECONDS)
    return i


# -- programs ---------------------------------------------------------------------------


def _loop(n: int, term: str) -> str:
    return f"t = 0\nfor i in range({n}):\n    t += {term}\nt"


def cm_loop(n: int, tool: str | None, *, awaited: bool = False) -> str:
    """A codemode program summing `tool(a=i, b=1)` (or `i + 1` without a tool) n times."""
    if tool is None:
        return _loop(n, "i + 1")
    call = f"{NAMESPACE}.{tool}(a=i, b=1)"
    return _loop(n, f"await {call}" if awaited else call)


def fm_loop(n: int, tool: str | None) -> str:
    """The fastmcp CodeMode equivalent of `cm_loop`."""
    if tool is None:
        return _loop(n, "i + 1")
    return _loop(n, f'(await call_tool("{tool}", {{"a": i, "b": 1}}))["result"]')


def loop_sum(n: int) -> int:
    """What a `cm_loop`/`fm_loop` program of n iterations returns."""
    return n * (n + 1) // 2


def _gather(call: str) -> str:
    return f"import asyncio\nawait asyncio.gather(*[{call} for i in range({GATHER_WIDTH})])"


CM_GATHER_ASYNC = _gather(f"{NAMESPACE}.slow(i=i)")
CM_GATHER_SYNC = _gather(f"{NAMESPACE}.slow_sync(i=i)")
FM_GATHER_ASYNC = _gather('call_tool("slow", {"i": i})')
FM_GATHER_SYNC = _gather('call_tool("slow_sync", {"i": i})')


def gather_expected() -> list[int]:
    """What the codemode gather programs return."""
    return list(range(GATHER_WIDTH))


# -- fastmcp engine-level host function -------------------------------------------------


def engine_call_tool(tools: Mapping[str, Callable[..., Any]]) -> Callable[..., Any]:
    """A minimal stand-in for fastmcp CodeMode's `call_tool`, for engine-only runs.

    It looks the tool up by name, calls it with the params dict and wraps the value as
    `{"result": value}`, the shape fastmcp's own `call_tool` returns for these tools. It
    skips fastmcp's catalog lookup, validation and server dispatch, so it is the cheapest
    possible host side for fastmcp's sandbox.
    """

    async def call_tool(tool_name: str, params: dict[str, Any]) -> Any:
        value = tools[tool_name](**params)
        if inspect.isawaitable(value):
            value = await value
        return {"result": value}

    return call_tool


# -- checks -----------------------------------------------------------------------------


class BenchCheckError(RuntimeError):
    """A timed call returned something other than the expected result."""


def expect_ok(expected: Any) -> Callable[[Any], None]:
    """Check a codemode `ExecutionResult`: ok and `result == expected`."""

    def check(result: Any) -> None:
        if not result.ok or result.result != expected:
            raise BenchCheckError(f"expected {expected!r}, got {result!r}")

    return check


def expect_value(expected: Any) -> Callable[[Any], None]:
    """Check a plain return value."""

    def check(result: Any) -> None:
        if result != expected:
            raise BenchCheckError(f"expected {expected!r}, got {result!r}")

    return check


def _mcp_text(result: Any) -> str:
    if result.is_error or not result.content:
        raise BenchCheckError(f"MCP call failed: {result!r}")
    return str(result.content[0].text)


def expect_mcp_text(expected: str) -> Callable[[Any], None]:
    """Check an MCP `CallToolResult` whose first text block must equal `expected`."""

    def check(result: Any) -> None:
        text = _mcp_text(result)
        if text != expected:
            raise BenchCheckError(f"expected text {expected!r}, got {text!r}")

    return check


def expect_mcp_json(expected: Any) -> Callable[[Any], None]:
    """Check an MCP `CallToolResult` whose first text block must be JSON equal to `expected`."""

    def check(result: Any) -> None:
        value = json.loads(_mcp_text(result))
        if value != expected:
            raise BenchCheckError(f"expected {expected!r}, got {value!r}")

    return check
