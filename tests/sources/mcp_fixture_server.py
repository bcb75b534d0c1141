"""A real MCP server for the tests of `codemode.sources.mcp`, built with the SDK.

Usage: `python mcp_fixture_server.py [--legacy] [--http PORT | --sse PORT] [MODE]`.

Modes:

* (none)     `MCPServer` with one tool per behaviour the source must handle.
* `paged`    a low-level `Server` that pages `tools/list` (3 tools a page) and has a
             tool with a fastmcp-style wrapped output schema.
* `collide`  like `paged`, plus two tools whose names map to one Python identifier.
* `exit`     prints to stderr (including `$CANARY`) and exits with status 3.
* `hang`     never answers: sleeps before serving.

`--legacy` refuses `server/discover`, so clients fall back to the 2025 initialize
handshake (and list_changed arrives as a plain notification, not via listen).
"""

from __future__ import annotations

import asyncio
import base64
import os
import sys
import time
from typing import Any

import anyio
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.mcpserver import Context, Image, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp_types.jsonrpc import ErrorData, JSONRPCError, JSONRPCRequest
from pydantic import BaseModel

# A tiny valid PNG: 1x1 pixel (70 bytes).
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


class Profile(BaseModel):
    name: str
    length: int


def build_server() -> MCPServer:
    server = MCPServer("fixture", log_level="WARNING")

    @server.tool(
        annotations=types.ToolAnnotations(
            read_only_hint=True, idempotent_hint=True, open_world_hint=False
        )
    )
    def add(a: int, b: int = 0) -> int:
        """Add two integers."""
        return a + b

    @server.tool(
        name="get-profile",
        annotations=types.ToolAnnotations(destructive_hint=True, title="Profile"),
    )
    def get_profile(name: str) -> Profile:
        """Describe a name."""
        return Profile(name=name, length=len(name))

    @server.tool(structured_output=False, title="Echo title only")
    def echo(text: str) -> str:
        return text

    @server.tool(structured_output=False)
    def json_text() -> str:
        """Return JSON as text."""
        return '{"a": 1, "b": [1, 2]}'

    @server.tool(structured_output=False)
    def image() -> Image:
        """Return a PNG image."""
        return Image(data=PNG, format="png")

    @server.tool()
    def resource(size: int = 5) -> types.CallToolResult:
        """Return an embedded text resource of `size` characters."""
        text = "x" * size
        block = types.EmbeddedResource(
            resource=types.TextResourceContents(uri="mem://doc", mime_type="text/plain", text=text)
        )
        return types.CallToolResult(content=[block])

    @server.tool()
    def mixed() -> types.CallToolResult:
        """Return text, an image, a blob resource and a resource link."""
        png = base64.b64encode(PNG).decode()
        return types.CallToolResult(
            content=[
                types.TextContent(text="hello"),
                types.ImageContent(data=png, mime_type="image/png"),
                types.EmbeddedResource(
                    resource=types.BlobResourceContents(
                        uri="mem://blob", mime_type="application/octet-stream", blob=png
                    )
                ),
                types.ResourceLink(
                    name="readme", uri="file:///readme.md", mime_type="text/markdown"
                ),
            ]
        )

    @server.tool()
    def fail(message: str, repeat: int = 1) -> str:
        """Fail with `message` repeated `repeat` times (the server reports isError)."""
        raise ToolError(message * repeat)

    @server.tool()
    def leak_env(name: str) -> str:
        """Fail with the value of an environment variable in the error text."""
        raise ToolError(f"the secret is {os.environ.get(name)}")

    @server.tool()
    def getenv(name: str) -> str | None:
        """Return an environment variable of the server process."""
        return os.environ.get(name)

    @server.tool()
    def cwd() -> str:
        """Return the server's working directory."""
        return os.getcwd()

    @server.tool()
    def pid() -> int:
        """Return the server's process id."""
        return os.getpid()

    sleeping = [0]

    @server.tool()
    async def sleep(seconds: float) -> float:
        """Sleep (cancellably) for `seconds`."""
        sleeping[0] += 1
        try:
            await asyncio.sleep(seconds)
        finally:
            sleeping[0] -= 1
        return seconds

    @server.tool()
    def active() -> int:
        """How many `sleep` calls are running."""
        return sleeping[0]

    @server.tool()
    def header(name: str, ctx: Context) -> str | None:
        """An HTTP request header (None over stdio)."""
        request = ctx.request_context.request
        headers = getattr(request, "headers", None)
        return headers.get(name) if headers is not None else None

    @server.tool()
    async def freeze(seconds: float) -> float:
        """Block the server's event loop for `seconds`: the server stops answering."""
        time.sleep(seconds)
        return seconds

    @server.tool()
    def crash(code: int = 1) -> str:
        """Exit the server process at once."""
        print("crashing now", file=sys.stderr, flush=True)
        os._exit(code)

    @server.tool()
    async def chatty(lines: int, ctx: Context, width: int = 20, fail: bool = False) -> int:
        """Send `lines` warning log notifications (and a debug one) during the call."""
        await ctx.debug("debug detail nobody asked for")
        for i in range(lines):
            await ctx.warning(f"step {i} " + "w" * width, logger_name="fixture")
        if fail:
            raise ToolError("chatty failed")
        return lines

    @server.tool()
    async def grow(ctx: Context) -> str:
        """Add a tool named `extra` and announce the change."""

        def extra() -> str:
            return "extra"

        server.add_tool(extra, name="extra")
        # Announce both ways; each era drops the one it does not use.
        await ctx.request_context.session.send_tool_list_changed()
        await ctx.notify_tools_changed()
        return "grown"

    return server


def build_paged_server(*, collide: bool) -> Server[Any]:
    tools = [
        types.Tool(name=f"t{i}", description=f"Tool {i}.", input_schema={"type": "object"})
        for i in range(7)
    ]
    tools.append(
        types.Tool(
            name="wrapped",
            description="Return a list, wrapped fastmcp-style.",
            input_schema={"type": "object", "properties": {}},
            output_schema={
                "type": "object",
                "properties": {"result": {"type": "array", "items": {"type": "integer"}}},
                "required": ["result"],
                "x-fastmcp-wrap-result": True,
            },
        )
    )
    if collide:
        tools += [
            types.Tool(name="get-user", input_schema={"type": "object"}),
            types.Tool(name="get_user", input_schema={"type": "object"}),
        ]
    page = 3

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        start = int(params.cursor) if params is not None and params.cursor else 0
        end = start + page
        return types.ListToolsResult(
            tools=tools[start:end], next_cursor=str(end) if end < len(tools) else None
        )

    async def call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        if params.name == "wrapped":
            return types.CallToolResult(
                content=[types.TextContent(text="[1, 2, 3]")],
                structured_content={"result": [1, 2, 3]},
            )
        return types.CallToolResult(content=[types.TextContent(text=params.name)])

    return Server("paged", on_list_tools=list_tools, on_call_tool=call_tool)


async def run_legacy_stdio(server: MCPServer) -> None:
    """Serve stdio like a 2025-era server: `server/discover` is answered "method not found".

    The SDK's server serves both eras (the client's first request decides), so the
    discover probe is answered here, before the server sees it.
    """
    lowlevel = server._lowlevel_server
    async with stdio_server() as (read, write):
        send, receive = anyio.create_memory_object_stream[SessionMessage | Exception](16)

        async def pump() -> None:
            async with send:
                async for item in read:
                    message = item.message if isinstance(item, SessionMessage) else None
                    if isinstance(message, JSONRPCRequest) and message.method == "server/discover":
                        error = ErrorData(code=types.METHOD_NOT_FOUND, message="Method not found")
                        await write.send(
                            SessionMessage(JSONRPCError(jsonrpc="2.0", id=message.id, error=error))
                        )
                        continue
                    await send.send(item)

        async with anyio.create_task_group() as tg:
            tg.start_soon(pump)
            await lowlevel.run(receive, write, lowlevel.create_initialization_options())


async def run_lowlevel_stdio(server: Server[Any]) -> None:
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


def main(argv: list[str]) -> None:
    legacy = "--legacy" in argv
    http = sse = None
    if "--http" in argv:
        http = int(argv[argv.index("--http") + 1])
    if "--sse" in argv:
        sse = int(argv[argv.index("--sse") + 1])
    mode = argv[-1] if argv and not argv[-1].startswith("-") and not argv[-1].isdigit() else ""

    if mode == "exit":
        print("fixture: fatal: cannot start", file=sys.stderr)
        print(f"token={os.environ.get('CANARY')}", file=sys.stderr, flush=True)
        sys.exit(3)
    if mode == "hang":
        time.sleep(60)
        return
    if mode in ("paged", "collide"):
        asyncio.run(run_lowlevel_stdio(build_paged_server(collide=mode == "collide")))
        return

    server = build_server()
    if legacy:
        print("fixture: serving on stdio (legacy)", file=sys.stderr, flush=True)
        anyio.run(run_legacy_stdio, server)
    elif http is not None:
        server.run("streamable-http", host="127.0.0.1", port=http)
    elif sse is not None:
        server.run("sse", host="127.0.0.1", port=sse)
    else:
        print("fixture: serving on stdio", file=sys.stderr, flush=True)
        server.run()


if __name__ == "__main__":
    main(sys.argv[1:])
