"""`codemode demo`: code mode, end to end, with numbers from the actual traffic.

It starts `codemode serve` as a subprocess on a bundled configuration (an example MCP
server with service logs, plus example ticket functions), connects a real MCP client over
stdio, and shows what the model sees, a search, and one program that finds the database
errors in the logs and summarises them. It ends with a table comparing that with classic
tool calling (one tool call per model turn, every result entering the context), where the
classic side is measured by making the same calls through the same tools.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from codemode.config import load_config
from codemode.tokens import count_tokens

__all__ = ["PROGRAM", "main", "run_demo"]

PROGRAM = """\
errors = logs.search_logs(level="error", limit=1000)
db = [e for e in errors if "database" in e["message"]]
by_service = {}
for e in db:
    by_service.setdefault(e["service"], []).append(e)
open_tickets = tickets.list_tickets(status="open")
ticketed = {t["service"] for t in open_tickets}
print(f"{len(errors)} errors, {len(db)} about the database")
[
    {"service": s, "errors": len(es), "latest": es[0]["message"],
     "has_open_ticket": s in ticketed}
    for s, es in sorted(by_service.items())
]
"""
"""The program the demo runs: two tool calls, all filtering in the sandbox."""

# The calls PROGRAM makes, for the classic side of the comparison.
CLASSIC_CALLS = [
    ("logs.search_logs", {"level": "error", "limit": 1000}),
    ("tickets.list_tickets", {"status": "open"}),
]

SEARCH_QUERY = "find error messages in service logs"


def _config_text() -> str:
    python = json.dumps(sys.executable)
    return (
        "# Written by `codemode demo`.\n"
        "[servers.logs]\n"
        f"command = {python}\n"
        'args = ["-m", "codemode.examples.logs_server"]\n\n'
        "[functions.tickets]\n"
        'module = "codemode.examples.ops"\n'
        'functions = ["list_tickets", "create_ticket"]\n'
    )


@dataclass(kw_only=True)
class Measured:
    """What the demo measured, for its table (and its tests)."""

    tools_listed: int = 0
    tools_list_tokens: int = 0
    catalog_tools: int = 0
    catalog_definition_tokens: int = 0
    search_tokens: int = 0
    execute_tokens: int = 0
    execute_ms: float = 0.0
    tool_calls: int = 0
    classic_result_tokens: list[int] | None = None
    result: Any = None


async def run_demo(out: Callable[[str], None] = print) -> Measured:
    """Run the demo, writing its story with `out`; return the numbers."""
    measured = Measured()
    with tempfile.TemporaryDirectory(prefix="codemode-demo-") as tmp:
        config = Path(tmp) / "codemode.toml"
        config.write_text(_config_text())
        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "codemode.cli", "serve", "--config", str(config)],
            env=dict(os.environ),  # the same data dir (CODEMODE_HOME) as this process
        )
        out(_heading("0. Start"))
        out(f"$ codemode serve --config {config.name}   (upstream MCP server `logs` + functions)")
        started = time.perf_counter()
        with anyio.fail_after(60):
            async with (
                stdio_client(params) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                out(f"connected over stdio in {(time.perf_counter() - started):.1f} s")
                await _what_the_model_sees(session, measured, out)
                await _search(session, measured, out)
                await _execute(session, measured, out)
        _classic(config, measured)
    out(_heading("4. Classic tool calling vs code mode (measured, o200k tokens)"))
    out(_table(measured))
    return measured


async def _what_the_model_sees(
    session: ClientSession, measured: Measured, out: Callable[[str], None]
) -> None:
    out(_heading("1. What the model sees: tools/list"))
    listed = await session.list_tools()
    tools = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in listed.tools]
    measured.tools_listed = len(tools)
    measured.tools_list_tokens = count_tokens(tools)
    for tool in tools:
        first = tool.get("description", "").strip().splitlines()[0]
        out(f"  {tool['name']}: {first}")
    out(f"{len(tools)} tools, {measured.tools_list_tokens} tokens, whatever the catalog size")


async def _search(session: ClientSession, measured: Measured, out: Callable[[str], None]) -> None:
    out(_heading(f"2. The model searches: search(query={SEARCH_QUERY!r}, limit=2)"))
    result = await session.call_tool("search", {"query": SEARCH_QUERY, "limit": 2})
    text = "\n".join(c.text for c in result.content if c.type == "text")
    measured.search_tokens = count_tokens(text)
    out(textwrap.indent(text.strip(), "  "))


async def _execute(session: ClientSession, measured: Measured, out: Callable[[str], None]) -> None:
    out(_heading("3. The model writes one program: execute(code=...)"))
    out(textwrap.indent(PROGRAM.rstrip(), "  | "))
    started = time.perf_counter()
    result = await session.call_tool("execute", {"code": PROGRAM})
    measured.execute_ms = (time.perf_counter() - started) * 1000
    data = result.structured_content or {}
    if result.is_error or not data.get("ok"):
        raise RuntimeError(f"the demo program failed: {data.get('error') or result.content}")
    measured.tool_calls = len(data.get("tool_calls", []))
    measured.result = data.get("result")
    measured.execute_tokens = count_tokens(
        [c.model_dump(mode="json", exclude_none=True) for c in result.content]
    )
    out("stdout:  " + data.get("stdout", "").strip())
    out("result:")
    out(textwrap.indent(json.dumps(data.get("result"), indent=2), "  "))
    out(
        f"{measured.tool_calls} tool calls inside the sandbox, one round trip, "
        f"{measured.execute_ms:.0f} ms, {measured.execute_tokens} tokens back to the model"
    )


def _classic(config: Path, measured: Measured) -> None:
    """Make PROGRAM's calls one by one, as classic tool calling would, and count tokens."""
    with load_config(config).build() as cm:
        tools = cm.tools()
        measured.catalog_tools = len(tools)
        definitions = [
            {"name": t.name, "description": t.description, "inputSchema": t.input_schema}
            for t in tools
        ]
        measured.catalog_definition_tokens = count_tokens(definitions)
        sizes = []
        for qualified, arguments in CLASSIC_CALLS:
            call = f"{qualified}(**{arguments!r})"
            result = cm.execute(call)
            if not result.ok:
                raise RuntimeError(f"classic call {call} failed: {result.error}")
            sizes.append(count_tokens(result.result))
        measured.classic_result_tokens = sizes


def _table(m: Measured) -> str:
    classic_results = sum(m.classic_result_tokens or [])
    classic_turns = len(CLASSIC_CALLS) + 1
    rows = [
        ("", "classic tool calling", "code mode"),
        ("model round trips", f"{classic_turns}", "2 (search, execute)"),
        (
            "tool definitions in context",
            f"{m.catalog_definition_tokens} ({m.catalog_tools} tools)",
            f"{m.tools_list_tokens} ({m.tools_listed} tools)",
        ),
        ("intermediate results in context", f"{classic_results}", "0"),
        ("search results in context", "-", f"{m.search_tokens}"),
        ("final material in context", "-", f"{m.execute_tokens}"),
        (
            "total tokens",
            f"{m.catalog_definition_tokens + classic_results}",
            f"{m.tools_list_tokens + m.search_tokens + m.execute_tokens}",
        ),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = []
    for i, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[j]) for j, cell in enumerate(row)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    notes = (
        f"Classic side: the same {len(CLASSIC_CALLS)} calls, each result JSON as it would "
        "enter the context; definitions of every tool in the catalog. The catalog here is "
        f"{m.catalog_tools} tools; with hundreds, classic definitions grow, code mode's do not."
    )
    return "\n".join(lines) + "\n\n" + textwrap.fill(notes, 90)


def _heading(text: str) -> str:
    return f"\n== {text} " + "=" * max(0, 76 - len(text))


def main() -> int:
    """Entry point of `codemode demo`."""
    try:
        anyio.run(run_demo)
    except Exception as exc:  # the demo must explain failures, not dump a traceback
        while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
            inner = exc.exceptions[0]
            if not isinstance(inner, Exception):
                break
            exc = inner
        print(f"codemode demo failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0
