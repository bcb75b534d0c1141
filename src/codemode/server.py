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

This module is the only place that speaks MCP SDK types; the SDK is imported here alone.
"""

from __future__ import annotations

import base64
import json
import mimetypes
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal
from urllib.parse import quote, unquote

import anyio
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INVALID_PARAMS,
    BlobResourceContents,
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
    Resource,
    ResourceTemplate,
    TextContent,
    TextResourceContents,
    Tool,
    ToolAnnotations,
)
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from codemode import __version__
from codemode.approvals import ApprovalError
from codemode.artifacts import ARTIFACT_URI
from codemode.catalog import Tool as CatalogTool
from codemode.core import CodeMode
from codemode.results import ExecutionResult
from codemode.telemetry import metrics_endpoint
from codemode.typegen import tool_stub

__all__ = [
    "build_server",
    "execute_description",
    "render_result",
    "serve",
    "serve_http",
    "serve_stdio",
]

STUBS_URI = "codemode://stubs"
LIBRARY_URI = "codemode://library"
WORKSPACE_URI = "codemode://workspace"
PYTHON_MIME = "text/x-python"
_MAX_LISTED = 200
"""Library functions and workspace files listed as resources (more are readable)."""
STUB_MIME = "text/x-python"

_MAX_NAMESPACE_LINES = 30
_NAMESPACE_TOKENS = 480  # the namespace overview's share of the 1,000-token budget
_LINE_CHARS = 100
# Pieces of at least one o200k token each in identifier-like text, so counting them
# over-estimates; long letter runs count several, for rare words that split into many.
_TOKENISH = re.compile(r"[A-Za-z]{1,4}|\d{1,3}|\S")
_MAX_SEARCH_LIMIT = 50
_DOC_LINES = 12  # docstring lines kept per search hit; help(ns.tool) has the rest

INSTRUCTIONS = (
    "Use `search` to find tools by what they do, then `execute` one Python program that "
    "calls them as `namespace.tool(keyword=value)`. Loop, filter and chain calls inside the "
    "program and print or return only what you need; variables persist between `execute` "
    "calls in a session. Each namespace's stub is a resource, codemode://stubs/{namespace}."
)

_EXECUTE_OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "ok": {"type": "boolean"},
        "result": {},
        "stdout": {"type": "string"},
        "error": {"type": ["object", "null"]},
        "status": {"enum": ["ok", "error", "approval_required"]},
        "approval_id": {"type": "string"},
        "pending": {"type": "object"},
    },
    "required": ["ok"],
}
_APPROVAL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "approve": {
            "type": "boolean",
            "title": "Allow this call",
            "description": "Yes runs the call and the program continues; no makes the call "
            "fail inside the program.",
        }
    },
    "required": ["approve"],
}
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
            self._tools = (version, _tool_definitions(self._cm))
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
            limit = min(int(args.get("limit", 8)), _MAX_SEARCH_LIMIT)
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
                        message=_approval_question(result), requested_schema=_APPROVAL_SCHEMA
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
            blocks.append(_hit_stub(entry.tool) if entry is not None else hit.signature)
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
        """`codemode://stubs` (every namespace) and one stub resource per namespace."""
        counts = {ns: len(self._cm.tools(ns)) for ns in self._cm.namespaces()}
        every = f"{_count(sum(counts.values()), 'tool')} in {_count(len(counts), 'namespace')}"
        entries = [(STUBS_URI, "all stubs", every)] + [
            (f"{STUBS_URI}/{ns}", f"{ns} stubs", _count(n, "tool")) for ns, n in counts.items()
        ]
        resources = [
            Resource(uri=u, name=n, description=d, mime_type=STUB_MIME) for u, n, d in entries
        ]
        resources += await anyio.to_thread.run_sync(self._durable_resources)
        session = self._session(ctx)
        if session is not None:  # artifacts are listed to the session that made them
            infos = await anyio.to_thread.run_sync(self._cm.artifacts.list)
            resources += [
                Resource(
                    uri=f"{ARTIFACT_URI}/{i.id}",
                    name=i.name or i.id,
                    description=f"{i.kind}, {i.bytes} bytes",
                    mime_type=_artifact_mime(i.kind),
                    size=i.bytes,
                )
                for i in infos
                if i.session == session
            ]
        return ListResourcesResult(resources=resources)

    async def list_resource_templates(
        self, ctx: _Context, params: PaginatedRequestParams | None
    ) -> ListResourceTemplatesResult:
        """The per-namespace stub URI, as a template."""
        template = ResourceTemplate(
            uri_template=STUBS_URI + "/{namespace}",
            name="namespace stubs",
            description="The Python stub of one namespace's tools",
            mime_type=STUB_MIME,
        )
        artifact = ResourceTemplate(
            uri_template=ARTIFACT_URI + "/{id}",
            name="artifact",
            description="A value too big to return from execute, by the id execute gave",
        )
        function = ResourceTemplate(
            uri_template=LIBRARY_URI + "/{name}",
            name="library function",
            description="The source of a function saved with library.save",
            mime_type=PYTHON_MIME,
        )
        file = ResourceTemplate(
            uri_template=WORKSPACE_URI + "/{path}",
            name="workspace file",
            description="A file programs wrote under /workspace",
        )
        return ListResourceTemplatesResult(resource_templates=[template, artifact, function, file])

    def _durable_resources(self) -> list[Resource]:
        """The library's functions and the workspace's files (the first of each, capped)."""
        state = self._cm.state
        functions = state.store.list_functions(state.scope)[:_MAX_LISTED]
        files = state.store.list_files(state.workspace_id)[:_MAX_LISTED]
        return [
            Resource(
                uri=f"{LIBRARY_URI}/{f.name}",
                name=f"library: {f.name}",
                description=f"{f.signature} (version {f.version})"
                + (f": {f.description}" if f.description else ""),
                mime_type=PYTHON_MIME,
            )
            for f in functions
        ] + [
            Resource(
                uri=f"{WORKSPACE_URI}/{quote(f.path)}",
                name=f"/workspace/{f.path}",
                size=f.size,
                mime_type=mimetypes.guess_type(f.path)[0] or "application/octet-stream",
            )
            for f in files
        ]

    async def read_resource(
        self, ctx: _Context, params: ReadResourceRequestParams
    ) -> ReadResourceResult:
        """The stub text of one namespace, or of all of them; or an artifact."""
        uri = str(params.uri)
        if uri.startswith(ARTIFACT_URI + "/"):
            return await self._read_artifact(uri)
        if uri.startswith((LIBRARY_URI + "/", WORKSPACE_URI + "/")):
            return await anyio.to_thread.run_sync(self._read_durable, uri)
        namespace = uri.removeprefix(STUBS_URI + "/") if uri.startswith(STUBS_URI + "/") else None
        if uri != STUBS_URI and namespace not in self._cm.namespaces():
            raise MCPError(
                INVALID_PARAMS,
                f"unknown resource {uri!r}; stubs are at {STUBS_URI}/{{namespace}}",
                data={"uri": uri},
            )
        text = await anyio.to_thread.run_sync(self._cm.stubs, namespace)
        return ReadResourceResult(
            contents=[TextResourceContents(uri=uri, mime_type=STUB_MIME, text=text)]
        )

    def _read_durable(self, uri: str) -> ReadResourceResult:
        """A library function's source, or a workspace file (text, or base64 bytes)."""
        state = self._cm.state
        if uri.startswith(LIBRARY_URI + "/"):
            name = uri.removeprefix(LIBRARY_URI + "/")
            function = state.store.get_function(state.scope, name)
            if function is None:
                raise MCPError(INVALID_PARAMS, f"no library function at {uri!r}", data={"uri": uri})
            return ReadResourceResult(
                contents=[
                    TextResourceContents(uri=uri, mime_type=PYTHON_MIME, text=function.source)
                ]
            )
        path = unquote(uri.removeprefix(WORKSPACE_URI + "/"))
        data = state.store.read_file(state.workspace_id, path)
        if data is None:
            raise MCPError(INVALID_PARAMS, f"no workspace file at {uri!r}", data={"uri": uri})
        mime = mimetypes.guess_type(path)[0]
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            blob = base64.b64encode(data).decode()
            return ReadResourceResult(
                contents=[
                    BlobResourceContents(
                        uri=uri, mime_type=mime or "application/octet-stream", blob=blob
                    )
                ]
            )
        return ReadResourceResult(
            contents=[TextResourceContents(uri=uri, mime_type=mime or "text/plain", text=text)]
        )

    async def _read_artifact(self, uri: str) -> ReadResourceResult:
        """An artifact: a string as text/plain, any other value as its JSON."""
        artifact_id = uri.removeprefix(ARTIFACT_URI + "/")
        data = await anyio.to_thread.run_sync(self._cm.artifacts.get, artifact_id)
        if data is None:
            raise MCPError(
                INVALID_PARAMS,
                f"no artifact at {uri!r} (unknown or expired)",
                data={"uri": uri},
            )
        kind = "str" if data.startswith(b'"') else "json"  # a JSON string, or any other value
        text = json.loads(data) if kind == "str" else data.decode()
        return ReadResourceResult(
            contents=[TextResourceContents(uri=uri, mime_type=_artifact_mime(kind), text=text)]
        )


def _artifact_mime(kind: str) -> str:
    return "text/plain" if kind == "str" else "application/json"


def _progress(ctx: _Context) -> Callable[[int, float], Awaitable[None]]:
    async def progress(calls: int, elapsed: float) -> None:
        # A no-op unless the request carried a progress token. Best effort: a client
        # that went away must not fail the program (its cancellation stops it).
        message = f"{calls} tool call{'' if calls == 1 else 's'}, {elapsed:.1f} s"
        with suppress(Exception):
            await ctx.session.report_progress(elapsed, None, message)

    return progress


def _approval_question(result: ExecutionResult) -> str:
    pending = result.pending or {}
    shown = json.dumps(pending.get("args"), ensure_ascii=False, default=str)
    if len(shown) > 2000:
        shown = shown[:2000] + " …"
    return (
        f"A program wants to call {pending.get('tool')} with {shown}. Allow this call? "
        f"(approval {result.approval_id})"
    )


async def _elicit_decision(ctx: _Context, result: ExecutionResult) -> bool | None:
    """Ask the client's user whether the paused call may run: True, False, or None when
    the question was dismissed (or could not be asked)."""
    try:
        reply = await ctx.session.elicit_form(
            _approval_question(result), _APPROVAL_SCHEMA, related_request_id=ctx.request_id
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


# ------------------------------------------------------------------------ tool definitions


def _tool_definitions(cm: CodeMode) -> list[Tool]:
    search = Tool(
        name="search",
        description="Find tools by what they do. Returns the best matches as Python "
        "signatures with their docs, to call from `execute`.",
        input_schema={
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "what you want to do"},
                "limit": {"type": "integer", "minimum": 1, "maximum": 50, "default": 8},
            },
            "required": ["query"],
        },
        annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False),
    )
    execute = Tool(
        name="execute",
        description=execute_description(cm),
        input_schema={
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "the Python program"},
                "approval_id": {
                    "type": "string",
                    "description": "continue a program paused for approval (with approve)",
                },
                "approve": {"type": "boolean", "description": "the user's decision"},
            },
        },
        output_schema=_EXECUTE_OUTPUT_SCHEMA,
        annotations=ToolAnnotations(read_only_hint=False, open_world_hint=True),
    )
    return [search, execute]


def execute_description(cm: CodeMode) -> str:
    """The `execute` tool's description: how programs run, the sandbox's rules and limits,
    and an overview of the namespaces (capped, deterministic)."""
    limits = cm.limits
    rules = (
        "Run one Python program against the tools below; get back what it printed and the "
        "value of its last expression.\n"
        "- Each namespace is a global: call `ns.tool(name=value)`, keyword arguments only.\n"
        "- The last expression is the result; print() goes to stdout. Only what the program "
        "prints or returns comes back, so loop, filter and aggregate inside it.\n"
        "- Sandbox: no filesystem, network or environment variables. "
        "`await asyncio.gather(ns.a(...), ns.b(...))` runs calls concurrently. "
        "A failing call raises ToolError (`except ToolError:`).\n"
        "- Some calls need the user's approval: the program pauses there "
        "(status approval_required); ask the user, then `execute(approval_id=..., "
        "approve=...)` continues it. A refused call raises ToolError.\n"
        f"- Limits per run: {limits.timeout:g} s, {limits.tool_calls} tool calls.\n"
        "- Variables and functions persist to later runs in the same session.\n"
        '- Discover: the `search` tool, or `search("...")` in a program; '
        "`help(ns.tool)` prints a tool's full signature and docs.\n"
        "- Built in, no import needed:\n"
        "  grep(pattern, text_or_lines, ignore_case=False, context=0): matching lines\n"
        '  jq(expr, data): jq query, e.g. jq(".items[] | select(.n > 1) | .name", d)\n'
        "  text.split(s, by=lines|paragraphs|sentences|words), text.chunk(s, size=2000), "
        "text.truncate(s, 200), text.word_count(s), text.diff(a, b)\n"
        "  csv.parse(s) -> typed dicts; csv.filter(rows, where=fn, col=v), csv.select, "
        "csv.sort(rows, by), csv.group, csv.aggregate(rows, by=, total=(col, 'sum')), "
        "csv.to_csv\n"
        f"  artifacts.put(value) -> id, artifacts.get(id, start, stop), artifacts.list(): "
        f"big values kept by id; results over {limits.result_bytes // 1024} KB "
        "come back as an artifact\n"
    )
    return rules + "\n" + "\n".join(_namespace_overview(cm))


def _namespace_overview(cm: CodeMode) -> list[str]:
    """`Namespaces:` then one `name (N tools): description` line per namespace, most tools
    first: at most 30 lines of at most 100 characters, within a fixed token budget; the
    namespaces left out are counted."""
    spaces = sorted(
        ((ns, cm.tools(ns)) for ns in cm.namespaces()), key=lambda item: (-len(item[1]), item[0])
    )
    if not spaces:
        return ["Namespaces: none registered yet."]
    # Many namespaces get shorter lines (down to name and count), so the overview, and
    # with it the tools/list answer, stays within budget whatever the catalog.
    per_line = _NAMESPACE_TOKENS // min(len(spaces), _MAX_NAMESPACE_LINES)
    lines = ["Namespaces:"]
    used = 0
    for namespace, tools in spaces[:_MAX_NAMESPACE_LINES]:
        line = _namespace_line(namespace, tools, cm.namespace_description(namespace), per_line)
        used += _estimate_tokens(line) + 1  # and the newline
        if used > _NAMESPACE_TOKENS:
            break
        lines.append(line)
    if len(spaces) > len(lines) - 1:
        lines.append(f"... and {len(spaces) - len(lines) + 1} more namespaces; use search")
    return lines


def _namespace_line(
    namespace: str, tools: Sequence[CatalogTool], description: str, tokens: int
) -> str:
    """`name (N tools): what it is for`, within `tokens` and 100 characters.

    The line describes the namespace (its server's instructions, its module's docstring),
    not its tools, so its length does not grow with the tool count: `search` finds tools.
    """
    head = f"{namespace} ({_count(len(tools), 'tool')})"
    if not description:
        return head
    line = f"{head}: {description}"
    while len(line) > _LINE_CHARS or _estimate_tokens(line) > tokens:
        cut = line[: min(len(line), _LINE_CHARS) - 4].rsplit(" ", 1)[0]
        if len(cut) <= len(head) + 2:
            return head
        line = cut + " ..."
    return line


def _estimate_tokens(text: str) -> int:
    """An upper estimate of `text`'s length in o200k tokens (no tokenizer at run time)."""
    return len(_TOKENISH.findall(text))


# --------------------------------------------------------------------------- rendering


def render_result(result: ExecutionResult) -> str:
    """A compact text form of an execution, for clients that ignore structured content:
    a status line, then stdout, the result as JSON, or the error."""
    notes = [_count(len(result.tool_calls), "tool call"), f"{result.duration_ms:.0f} ms"]
    if result.truncated:
        notes.append("output truncated")
    parts = [f"{result.status} ({', '.join(notes)})"]
    if result.stdout:
        parts.append("stdout:\n" + result.stdout.rstrip("\n"))
    if result.ok and result.result is not None:
        parts.append("result: " + json.dumps(result.result, ensure_ascii=False, default=str))
    if result.error is not None:
        err = result.error
        where = f" (line {err.line})" if err.line else ""
        parts.append(f"{err.type}{where}: {err.message}")
    if result.approval_id is not None and result.pending is not None:
        shown = json.dumps(result.pending["args"], ensure_ascii=False, default=str)
        parts.append(
            f"paused before {result.pending['tool']}({shown[:1000]}): it needs the user's "
            f"approval. Ask them; then call execute(approval_id={result.approval_id!r}, "
            "approve=true or false)"
        )
    return "\n".join(parts)


def _hit_stub(tool: CatalogTool) -> str:
    """The tool's `def`, named as programs call it, and its docstring (cut to 12 lines)."""
    lines = tool_stub(tool, with_types=False).rstrip("\n").split("\n")
    if lines[-1].strip() == "...":
        lines.pop()
    lines[0] = lines[0].replace(f"def {tool.identifier}(", f"def {tool.qualified}(", 1)
    if len(lines) > _DOC_LINES + 2:
        lines = [*lines[: _DOC_LINES + 1], f"    … (help({tool.qualified}) shows all)", '    """']
    return "\n".join(lines)


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


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
