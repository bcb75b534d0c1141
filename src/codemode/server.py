"""codemode as an MCP server: two tools, `search` and `execute`, whatever the catalog size.

The model finds tools with `search` and runs one Python program against them with
`execute`; each namespace's stub is a resource, `codemode://stubs/{namespace}`. The
`tools/list` answer stays under 1,000 tokens: the namespace overview in `execute`'s
description is capped.

Each MCP session gets its own codemode session, so variables persist between `execute`
calls of one client and never leak to another: per connection on stdio and in-process,
per `mcp-session-id` on streamable HTTP. Stateless HTTP requests (and the session-less
2026-07-28 protocol over HTTP) run without a session. `serve(cm)` serves over stdio,
`serve(cm, "http", port=8000)` over streamable HTTP.

This module holds the transports and the request handlers; `_server_tools` the text the
model reads (instructions, tool definitions, rendered results) and `_server_resources`
the resources. Only these three speak the MCP SDK's server-side types.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import anyio
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INVALID_PARAMS,
    CallToolRequestParams,
    CallToolResult,
    ClientCapabilities,
    ElicitationCapability,
    ElicitRequest,
    ElicitRequestFormParams,
    ElicitResult,
    InputRequiredResult,
    ListResourcesResult,
    ListResourceTemplatesResult,
    ListToolsResult,
    PaginatedRequestParams,
    ReadResourceRequestParams,
    ReadResourceResult,
    TextContent,
    Tool,
)
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from codemode import __version__
from codemode._server_resources import Resources
from codemode._server_tools import (
    APPROVAL_SCHEMA,
    INSTRUCTIONS,
    MAX_SEARCH_LIMIT,
    approval_question,
    execute_description,
    hit_stub,
    render_result,
    tool_definitions,
)
from codemode.core import CodeMode
from codemode.errors import ApprovalError
from codemode.results import ExecutionResult
from codemode.telemetry import metrics_endpoint

__all__ = [
    "build_server",
    "execute_description",
    "render_result",
    "serve",
    "serve_http",
    "serve_stdio",
]

_ELICIT = ClientCapabilities(elicitation=ElicitationCapability())


@dataclass(frozen=True)
class _Connection:
    """What the server lifespan yields: entered once per connection on stdio and
    in-process transports (once per server on streamable HTTP, where it goes unused)."""

    session: str


_Context = ServerRequestContext[_Connection, Any]


def build_server(
    cm: CodeMode, *, name: str = "codemode", session: str | None = None
) -> Server[_Connection]:
    """An MCP server (the SDK's low-level `Server`) exposing `cm` as `search` and `execute`,
    plus every namespace's stub, the library's functions and the workspace's files as
    resources.

    With `session`, every connection and request uses that codemode session and it is
    kept when they end: a client that reconnects (or a restarted server) continues it,
    since its state is saved in the store. Without it, each connection gets a session
    of its own, forgotten when it ends.

    Run it with `serve_stdio` / `serve_http`, or connect to it in-process with the SDK's
    `Client(server)`.
    """
    handlers = _Handlers(cm, session)
    return Server(
        name,
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=handlers.lifespan,
        on_list_tools=handlers.list_tools,
        on_call_tool=handlers.call_tool,
        on_list_resources=handlers.list_resources,
        on_list_resource_templates=handlers.list_resource_templates,
        on_read_resource=handlers.read_resource,
    )


async def serve_stdio(cm: CodeMode, session: str | None = None) -> None:
    """Serve over this process's stdin/stdout until stdin closes (`session`: see
    `build_server`).

    While serving, the SDK points file descriptor 1 at stderr, so stray prints of host
    tools cannot corrupt the protocol stream.
    """
    server = build_server(cm, session=session)
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


async def serve_http(
    cm: CodeMode,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    path: str = "/mcp",
    session: str | None = None,
) -> None:
    """Serve streamable HTTP on `host:port` at `path` until cancelled (or SIGINT/SIGTERM).

    On localhost the SDK also checks `Host`/`Origin` headers against DNS rebinding.
    `GET /metrics` answers with Prometheus metrics (executions, errors by type, tool
    latency histograms, active sessions, pending approvals).
    """
    import uvicorn  # imported here: only HTTP serving needs it

    app = build_server(cm, session=session).streamable_http_app(
        streamable_http_path=path, host=host
    )
    config = uvicorn.Config(
        metrics_endpoint(_end_session_on_delete(app, cm), cm.metrics),
        host=host,
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=5,  # open event streams must not hold up shutdown
    )
    server = uvicorn.Server(config)
    raised: list[BaseException] = []

    async def run() -> None:
        # Shielded: uvicorn cancelled mid-flight skips its shutdown; it is asked to exit.
        try:
            with anyio.CancelScope(shield=True):
                await server.serve()
        except BaseException as exc:  # e.g. KeyboardInterrupt: re-raised as itself below
            raised.append(exc)
        group.cancel_scope.cancel()

    async with anyio.create_task_group() as group:
        group.start_soon(run)
        try:
            await anyio.sleep_forever()
        finally:
            server.should_exit = True
    if raised:
        raise raised[0]


def serve(
    cm: CodeMode,
    transport: Literal["stdio", "http"] = "stdio",
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    session: str | None = None,
) -> None:
    """Serve `cm` over stdio or streamable HTTP, blocking until the client or a signal
    ends it (`session`: see `build_server`)."""
    if transport == "stdio":
        anyio.run(partial(serve_stdio, cm, session))
    elif transport == "http":
        anyio.run(partial(serve_http, cm, host, port, session=session))
    else:
        raise ValueError(f"transport must be 'stdio' or 'http', not {transport!r}")


# ---------------------------------------------------------------------------- handlers


class _Handlers:
    """The request handlers of one server, sharing `cm` and the cached tool list."""

    def __init__(self, cm: CodeMode, session: str | None = None) -> None:
        self._cm = cm
        self._named = session
        self._tools: tuple[int, list[Tool]] | None = None
        self._resources = Resources(cm)

    @asynccontextmanager
    async def lifespan(self, _server: Server[_Connection]) -> AsyncIterator[_Connection]:
        """A fresh codemode session per connection, forgotten when the connection ends
        (on HTTP this runs once per server, and sessions come from `mcp-session-id`);
        or the named session, kept."""
        if self._named is not None:
            yield _Connection(session=self._named)
            return
        connection = _Connection(session=f"mcp-{uuid.uuid4().hex}")
        try:
            yield connection
        finally:
            await _end_session(self._cm, connection.session)

    def _session(self, ctx: _Context) -> str | None:
        return self._named if self._named is not None else _session_of(ctx)

    async def list_tools(
        self, ctx: _Context, params: PaginatedRequestParams | None
    ) -> ListToolsResult:
        """`search` and `execute`; rebuilt only when the catalog changes."""
        version = self._cm.catalog.version
        if self._tools is None or self._tools[0] != version:
            self._tools = (version, tool_definitions(self._cm))
        return ListToolsResult(tools=self._tools[1])

    async def call_tool(
        self, ctx: _Context, params: CallToolRequestParams
    ) -> CallToolResult | InputRequiredResult:
        """Dispatch to `search` or `execute`; bad arguments come back as a tool error the
        model can correct, an unknown tool as a protocol error."""
        args = params.arguments or {}
        if params.name == "execute" and params.input_responses and params.request_state:
            # The client's answer to the approval question of an earlier round.
            answer = params.input_responses.get("approval")
            approve = _decision(answer) if isinstance(answer, ElicitResult) else None
            return await self._answered(ctx, params.request_state, approve)
        if params.name == "execute":
            kinds = {"code": str, "approval_id": str, "approve": bool}
            problem = _check_args(args, kinds, required=())
            if problem is None and "approval_id" in args and "approve" not in args:
                problem = "execute: pass approve=true or approve=false with approval_id"
            if problem is None and "approval_id" not in args and "code" not in args:
                problem = "missing required argument 'code'"
            if problem is not None:
                return _tool_error(problem)
            if "approval_id" in args:
                return await self._decide(ctx, args["approval_id"], args["approve"])
            return await self._execute(ctx, args["code"])
        if params.name == "search":
            problem = _check_args(args, {"query": str, "limit": int}, required=("query",))
            if problem is None and args.get("limit", 1) < 1:
                problem = "search: limit must be at least 1"
            if problem is not None:
                return _tool_error(problem)
            limit = min(int(args.get("limit", 8)), MAX_SEARCH_LIMIT)
            return await anyio.to_thread.run_sync(self._search, args["query"], limit)
        raise MCPError(INVALID_PARAMS, f"unknown tool {params.name!r}; tools: search, execute")

    async def _execute(self, ctx: _Context, code: str) -> CallToolResult | InputRequiredResult:
        # Cancellation (notifications/cancelled, or the client going away) cancels this
        # task; aexecute then stops the program.
        result = await self._cm.aexecute(code, session=self._session(ctx), progress=_progress(ctx))
        return await self._ask_user(ctx, result)

    async def _decide(
        self, ctx: _Context, approval_id: str, approve: bool
    ) -> CallToolResult | InputRequiredResult:
        """`execute(approval_id=..., approve=...)`: continue a paused program."""
        try:
            result = await self._cm.aresume(approval_id, approve=approve, progress=_progress(ctx))
        except ApprovalError as exc:
            return _tool_error(str(exc))
        return await self._ask_user(ctx, result)

    async def _answered(
        self, ctx: _Context, approval_id: str, approve: bool | None
    ) -> CallToolResult | InputRequiredResult:
        """The user answered (or dismissed) the approval question of an earlier round."""
        if approve is not None:
            return await self._decide(ctx, approval_id, approve)
        record = await anyio.to_thread.run_sync(self._cm.store.get_approval, approval_id)
        if record is None or record.status != "pending":
            return _tool_error(f"approval {approval_id} is no longer pending")
        paused = ExecutionResult(
            ok=False,
            session=record.session,
            approval_id=record.id,
            pending={"tool": record.tool, "args": record.args},
        )
        return _call_result(paused)

    async def _ask_user(
        self, ctx: _Context, result: ExecutionResult
    ) -> CallToolResult | InputRequiredResult:
        """While the program waits for approval and the client can ask its user
        (elicitation), ask, and continue it with the answer. A user who dismisses the
        question leaves it pending: the result says how to decide it later.

        Clients of the 2026 protocol are asked in the call's answer (an input-required
        result they answer by calling again); older ones by a request during the call."""
        while result.approval_id is not None and ctx.session.check_client_capability(_ELICIT):
            if not ctx.session.can_send_request:
                question = ElicitRequest(
                    params=ElicitRequestFormParams(
                        message=approval_question(result), requested_schema=APPROVAL_SCHEMA
                    )
                )
                return InputRequiredResult(
                    input_requests={"approval": question}, request_state=result.approval_id
                )
            approve = await _elicit_decision(ctx, result)
            if approve is None:
                break
            try:
                result = await self._cm.aresume(
                    result.approval_id, approve=approve, progress=_progress(ctx)
                )
            except ApprovalError:
                break  # decided elsewhere meanwhile (CLI, another replica)
        return _call_result(result)

    def _search(self, query: str, limit: int) -> CallToolResult:
        total = len(self._cm.tools())
        # Every tool scoring above zero, to say how many matched beyond those shown.
        matches = self._cm.search(query, limit=max(total, 1))
        hits = matches[:limit]
        blocks = []
        for hit in hits:
            entry = self._cm.catalog.get(hit.qualified)
            blocks.append(hit_stub(entry.tool) if entry is not None else hit.signature)
        footer = f"showing {len(hits)} of {len(matches)} matching tools (catalog: {total} tools)"
        if not hits:
            footer += "; try other words, or dir(namespace) inside a program"
        structured = {
            "hits": [hit.to_dict() for hit in hits],
            "shown": len(hits),
            "matched": len(matches),
            "total": total,
        }
        text = "\n\n".join([*blocks, footer])
        return CallToolResult(content=[TextContent(text=text)], structured_content=structured)

    async def list_resources(
        self, ctx: _Context, params: PaginatedRequestParams | None
    ) -> ListResourcesResult:
        """Stubs, library functions, workspace files, and this session's artifacts."""
        return await self._resources.list_resources(self._session(ctx))

    async def list_resource_templates(
        self, ctx: _Context, params: PaginatedRequestParams | None
    ) -> ListResourceTemplatesResult:
        """The URI templates of stubs, artifacts, library functions and workspace files."""
        return self._resources.list_resource_templates()

    async def read_resource(
        self, ctx: _Context, params: ReadResourceRequestParams
    ) -> ReadResourceResult:
        """The stub text of one namespace, or of all of them; or an artifact, a library
        function or a workspace file."""
        return await self._resources.read_resource(str(params.uri))


def _progress(ctx: _Context) -> Callable[[int, float], Awaitable[None]]:
    async def progress(calls: int, elapsed: float) -> None:
        # A no-op unless the request carried a progress token. Best effort: a client
        # that went away must not fail the program (its cancellation stops it).
        message = f"{calls} tool call{'' if calls == 1 else 's'}, {elapsed:.1f} s"
        with suppress(Exception):
            await ctx.session.report_progress(elapsed, None, message)

    return progress


async def _elicit_decision(ctx: _Context, result: ExecutionResult) -> bool | None:
    """Ask the client's user whether the paused call may run: True, False, or None when
    the question was dismissed (or could not be asked)."""
    try:
        reply = await ctx.session.elicit_form(
            approval_question(result), APPROVAL_SCHEMA, related_request_id=ctx.request_id
        )
    except Exception:
        return None
    return _decision(reply)


def _decision(reply: ElicitResult) -> bool | None:
    """Accepted with approve=true: True; declined (or approve=false): False; dismissed:
    None (the call stays pending)."""
    if reply.action == "accept":
        return (reply.content or {}).get("approve") is True
    if reply.action == "decline":
        return False
    return None


def _call_result(result: ExecutionResult) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(text=render_result(result))],
        structured_content=result.to_dict(),
        is_error=result.status == "error",
    )


def _session_of(ctx: _Context) -> str | None:
    """The codemode session of the MCP session this request belongs to."""
    if ctx.request is None:
        # stdio and in-process transports: the lifespan is entered per connection.
        return ctx.lifespan_context.session
    # Streamable HTTP: the SDK has checked the id names a live session of this client.
    headers = getattr(ctx.request, "headers", None)
    session_id = headers.get(MCP_SESSION_ID_HEADER) if headers is not None else None
    return _http_session(session_id) if session_id else None


def _http_session(mcp_session_id: str) -> str:
    return f"mcp-http-{mcp_session_id}"


async def _end_session(cm: CodeMode, session: str) -> None:
    # Shielded and bounded: this runs while the connection is being torn down, and a
    # program still stopping holds the session's lock for up to a second or so.
    with anyio.move_on_after(5, shield=True):
        await anyio.to_thread.run_sync(cm.end_session, session, abandon_on_cancel=True)


def _end_session_on_delete(app: ASGIApp, cm: CodeMode) -> ASGIApp:
    """Wrap the HTTP app so a client ending its MCP session (DELETE) ends its codemode
    session too; sessions that just go idle expire by codemode's `session_ttl`."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "DELETE":
            await app(scope, receive, send)
            return
        status = 500

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await app(scope, receive, watch)
        session_id = Headers(scope=scope).get(MCP_SESSION_ID_HEADER)
        # Only once the SDK accepted the DELETE: it checks the id is this client's.
        if session_id and status < 400:
            await _end_session(cm, _http_session(session_id))

    return wrapped


def _check_args(
    args: Mapping[str, Any], types: Mapping[str, type], *, required: Sequence[str]
) -> str | None:
    """Why `args` do not fit the tool's input schema, or None."""
    unknown = sorted(set(args) - set(types))
    if unknown:
        return f"unknown argument(s) {', '.join(unknown)}; valid: {', '.join(types)}"
    for key in required:
        if key not in args:
            return f"missing required argument {key!r}"
    for key, value in args.items():
        expected = types[key]
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            return f"argument {key!r} must be {expected.__name__}, not {type(value).__name__}"
    return None


def _tool_error(message: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(text=message)], is_error=True)
