"""Talk to the upstream servers with the MCP SDK's own stdio client, without codemode.

Used by `test_upstreams.py` as a baseline (is the server itself healthy?) and, run as a
script, to print each server's tools for `UPSTREAMS.md`:

    .venv/bin/python -m tests.integration.probe
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import anyio
import mcp_types as types
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from .upstream import StdioServer, Upstreams, ensure_installed

PROBE_TIMEOUT = 60.0


@dataclass
class Probe:
    """What one connection to a server found."""

    server_name: str
    protocol_version: str
    startup_s: float
    """Spawn to `initialize` answered."""
    tools: list[types.Tool]
    results: list[types.CallToolResult] = field(default_factory=list)

    def tool_names(self) -> set[str]:
        """The MCP names of the server's tools."""
        return {tool.name for tool in self.tools}


async def probe(
    server: StdioServer,
    calls: Sequence[tuple[str, dict[str, Any]]] = (),
    *,
    errlog: TextIO | None = None,
    timeout: float = PROBE_TIMEOUT,
) -> Probe:
    """Start `server`, initialize, list its tools, make `calls` in order, and stop it."""
    params = StdioServerParameters(command=server.command, args=server.args, env=server.env)
    with anyio.fail_after(timeout):
        started = time.monotonic()
        async with (
            stdio_client(params, errlog=errlog or sys.stderr) as (read, write),
            ClientSession(read, write) as session,
        ):
            init = await session.initialize()
            found = Probe(
                server_name=init.server_info.name,
                protocol_version=init.protocol_version,
                startup_s=time.monotonic() - started,
                tools=(await session.list_tools()).tools,
            )
            for name, arguments in calls:
                found.results.append(await session.call_tool(name, arguments))
            return found


def text_of(result: types.CallToolResult) -> str:
    """The text blocks of a tool result, joined."""
    return "\n".join(b.text for b in result.content if isinstance(b, types.TextContent))


def describe(tool: types.Tool) -> str:
    """`name(arg: type, optional?: type)` for a tool, from its input schema."""
    schema = tool.input_schema
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema.get("properties", {}).items():
        kind = prop.get("type") or "|".join(str(p.get("type", "?")) for p in prop.get("anyOf", []))
        params.append(f"{name}{'' if name in required else '?'}: {kind or 'any'}")
    structured = " → structured" if tool.output_schema else ""
    return f"`{tool.name}({', '.join(params)})`{structured}"


def servers_for(upstreams: Upstreams, scratch: Path) -> dict[str, StdioServer]:
    """Every upstream server, pointed at folders in `scratch`."""
    (scratch / "allowed").mkdir(exist_ok=True)
    repo = scratch / "repo"
    repo.mkdir(exist_ok=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True, timeout=30, capture_output=True)
    return {
        "everything": upstreams.everything(),
        "filesystem": upstreams.filesystem(scratch / "allowed"),
        "memory": upstreams.memory(scratch / "memory.jsonl"),
        "time": upstreams.time(),
        "git": upstreams.git(repo),
    }


async def _main() -> None:
    upstreams = ensure_installed()
    with tempfile.TemporaryDirectory() as scratch:
        for label, server in servers_for(upstreams, Path(scratch)).items():
            found = await probe(server)
            print(
                f"## {label} ({found.server_name}, protocol {found.protocol_version}, "
                f"initialize after {found.startup_s:.2f}s)\n"
            )
            for tool in found.tools:
                print(f"- {describe(tool)}")
            print()


if __name__ == "__main__":
    anyio.run(_main)
