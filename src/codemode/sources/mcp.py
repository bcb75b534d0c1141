"""Upstream MCP servers as a tool source.

`MCPSource` connects to one MCP server (a subprocess over stdio, or a URL over streamable
HTTP or legacy SSE), lists all its tools into one namespace and performs their calls.
MCP SDK types stay in this module and `_mcp_results`; the rest of codemode sees `Tool`s
and plain values.

The session lives on one event loop, the source's loop thread, and every public
coroutine hops there, so callers may await from any loop. Per connection, a runner task
owns the transport and the session (anyio requires their contexts to be entered and left
by one task); calls run as separate tasks on the same loop.

Failures are the model's business only when it can act on them:

* a crashed server (process died, connection gone) fails the calls in flight with a
  `ToolError`; the next call reconnects transparently (re-initialize, re-list, and
  `on_change` if the tools changed). Failed restarts back off (1 s, doubling, ≤ 30 s).
* a call abandoned by cancellation (the executor's per-call timeout) marks the
  connection suspect: the next call first checks the server answers `tools/list` within
  2 s and restarts it otherwise. (`ping` does not exist in the 2026 protocol.)
* `notifications/tools/list_changed` (2025 handshake era) or a `subscriptions/listen`
  event (2026 era) re-lists the tools and calls `on_change`.

`env` and `headers` values are host-side secrets: they are scrubbed from every message,
description and repr this module produces, and the server's stderr is captured (last 4 KB
kept for error messages) instead of reaching ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Literal, TypeVar

import anyio

try:
    import httpx2
    import mcp_types as types
    from mcp import Client, MCPError, StdioServerParameters, stdio_client
    from mcp.client.session import IncomingMessage
    from mcp.client.sse import sse_client
    from mcp.client.streamable_http import streamable_http_client
    from mcp_types.version import MODERN_PROTOCOL_VERSIONS
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError("MCP sources need the MCP SDK 2.x: pip install 'mcp>=2.3,<3'") from exc

from codemode.bridge import EventLoopThread
from codemode.catalog import Logged, Tool, check_namespace
from codemode.errors import ConfigError, SourceError, ToolError
from codemode.sources._mcp_io import (
    StderrTail,
    WatchedStream,
    describe,
    display_url,
    secret_values,
    startup_failure,
)
from codemode.sources._mcp_results import (
    CALL_LOG_LEVEL,
    CallLogs,
    error_text,
    log_line,
    unwrap_result,
)
from codemode.sources._mcp_tools import describe_server, list_all_tools, tools_from_mcp

__all__ = ["MCPSource"]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")
try:
    _VERSION = importlib.metadata.version("codemode")
except importlib.metadata.PackageNotFoundError:  # pragma: no cover - a source checkout
    _VERSION = "0"
_CLIENT_INFO = types.Implementation(name="codemode", version=_VERSION)
_PROBE_TIMEOUT = 2.0  # liveness check after an abandoned call
_STOP_GRACE = 8.0  # a connection still shutting down after this is cancelled outright
_CLOSE_GRACE = 3.0  # the same, when the whole source is closing


class _Connection:
    """One connection (one server process, for stdio); a restart makes a new one."""

    def __init__(self, stderr: StderrTail | None) -> None:
        self.ready: asyncio.Future[list[types.Tool]] = asyncio.get_running_loop().create_future()
        self.stop = asyncio.Event()  # set to shut the connection down
        self.relist = asyncio.Event()  # set when the server says its tools changed
        self.finished = asyncio.Event()  # set when the runner has released everything
        self.scope = anyio.CancelScope()  # cancelled to abandon a start or a stuck shutdown
        self.client: Client | None = None
        self.stderr = stderr
        self.lost: str | None = None  # why the connection ended without being asked to
        self.suspect = False  # a call was abandoned: check liveness before the next one
        self.calls: set[asyncio.Task[Any]] = set()  # the tasks of the calls in flight
        self.task: asyncio.Task[None] | None = None

    @property
    def alive(self) -> bool:
        return self.client is not None and self.lost is None and not self.stop.is_set()

    @property
    def needs_check(self) -> bool:
        """A call was abandoned, or is being: its task has a cancellation pending.

        Looking at the tasks matters: an abandoned call only reaches its own `except`
        after the SDK has sent the courtesy cancel, and the next call may come first.
        """
        return self.suspect or any(task.cancelling() for task in self.calls)


class MCPSource:
    """The tools of one upstream MCP server, as one namespace (implements `Source`)."""

    def __init__(
        self,
        namespace: str,
        *,
        command: str | None = None,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        url: str | None = None,
        headers: Mapping[str, str] | None = None,
        transport: Literal["stdio", "http", "sse"] | None = None,
        loop: EventLoopThread | None = None,
        connect_timeout: float = 30.0,
        on_change: Callable[[MCPSource], None] | None = None,
    ) -> None:
        """Check the arguments (exactly one of `command` and `url`); does not connect.

        `transport` defaults to stdio for a command, else streamable HTTP (SSE for a URL
        ending in `/sse`). `loop` is the loop thread the session lives on (a private one
        when omitted). Raises `ConfigError` for an invalid configuration.
        """
        check_namespace(namespace)
        if (command is None) == (url is None):
            raise ConfigError(f"MCP server {namespace!r}: give exactly one of command= and url=")
        if transport is None:
            if command is not None:
                transport = "stdio"
            else:
                assert url is not None
                transport = "sse" if url.split("?")[0].rstrip("/").endswith("/sse") else "http"
        if transport not in ("stdio", "http", "sse"):
            raise ConfigError(f"MCP server {namespace!r}: unknown transport {transport!r}")
        if (transport == "stdio") != (command is not None):
            needs = "command=" if transport == "stdio" else "url="
            raise ConfigError(f"MCP server {namespace!r}: transport {transport!r} needs {needs}")
        if isinstance(args, str) or not all(isinstance(a, str) for a in args):
            raise ConfigError(f"MCP server {namespace!r}: args must be a list of strings")
        for kind, mapping in (("env", env), ("headers", headers)):
            pairs = (mapping or {}).items()
            if not all(isinstance(k, str) and isinstance(v, str) for k, v in pairs):
                raise ConfigError(f"MCP server {namespace!r}: {kind} must map strings to strings")
        if not connect_timeout > 0:
            raise ConfigError(f"MCP server {namespace!r}: connect_timeout must be positive")
        self._namespace = namespace
        self._command = command
        self._args = list(args)
        self._env = dict(env or {})
        self._cwd = os.fspath(cwd) if cwd is not None else None
        self._url = url
        self._headers = dict(headers or {})
        self._transport: Literal["stdio", "http", "sse"] = transport
        self._connect_timeout = connect_timeout
        self._on_change = on_change
        self._secrets = secret_values(self._env, self._headers)
        self._own_loop = loop is None
        self._loop_thread = loop or EventLoopThread()
        self._loop_used = False
        self._tools: tuple[Tool, ...] = ()
        self._raw_output: dict[str, dict[str, Any] | None] = {}  # tool name -> outputSchema
        self._listed_once = False
        self._status = "stopped"
        self._conn: _Connection | None = None
        self._retired: set[_Connection] = set()
        self._lock = asyncio.Lock()  # serializes (re)connects; binds to the source's loop
        self._failures = 0
        self._retry_at = 0.0
        self._closed = False
        self._background: set[asyncio.Task[None]] = set()
        self._logs = CallLogs()

    def __repr__(self) -> str:
        url = display_url(self._url)
        where = f"command={self._command!r}" if self._command else f"url={url!r}"
        return f"MCPSource({self._namespace!r}, {where}, status={self._status!r})"

    @property
    def namespace(self) -> str:
        """The namespace every tool of this source lives in."""
        return self._namespace

    @property
    def status(self) -> str:
        """`stopped`, `starting`, `ready` or `failed: <reason>` (for `codemode doctor`)."""
        return self._status

    @property
    def description(self) -> str:
        """One line about the server (its instructions, else its title or name), for
        overviews; empty before the first connection."""
        return getattr(self, "_description", "")

    def tools(self) -> Sequence[Tool]:
        """The tools as last listed, in the server's order; empty before `start()`."""
        return self._tools

    async def start(self) -> None:
        """Connect, initialize and list all the tools; awaitable from any event loop.

        Raises `SourceError` (command not found, server exited, connection refused, no
        answer within `connect_timeout`, ...). Starting a started source does nothing.
        """
        await self._on_loop(self._start)

    def caller(self, tool: Tool) -> Callable[[dict[str, Any]], Awaitable[Any]]:
        """The coroutine function that performs `tool`'s calls, from any event loop.

        Cancelling the awaiting task cancels the upstream call.
        """

        async def call(arguments: dict[str, Any]) -> Any:
            if self._closed:  # checked here too: a closed source must not restart its loop
                raise ToolError(
                    f"upstream MCP server {self._namespace!r} is closed", tool=tool.qualified
                )
            return await self._on_loop(lambda: self._call(tool, arguments))

        call.__name__ = call.__qualname__ = tool.identifier
        return call

    async def aclose(self) -> None:
        """Shut the server down (stdio: terminate the process). Idempotent; any loop."""
        if self._loop_used:
            await self._on_loop(self._shutdown)
            self._stop_own_loop()
        self._status = "stopped"

    def close(self) -> None:
        """Blocking `aclose()`; on the source's own loop thread it only schedules it."""
        if not self._loop_used:
            self._status = "stopped"
            return
        loop = self._loop_thread.loop
        if _running_loop() is loop:  # blocking here would deadlock the loop we wait on
            task = loop.create_task(self._shutdown())
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(_STOP_GRACE + 10)
        self._stop_own_loop()
        self._status = "stopped"

    # -- loop plumbing ---------------------------------------------------------------

    async def _on_loop(self, fn: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
        """Run `fn()` on the source's loop; cancelling the caller cancels it there."""
        self._loop_used = True
        loop = self._loop_thread.loop
        if _running_loop() is loop:
            return await fn()
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(fn(), loop))

    def _stop_own_loop(self) -> None:
        if self._own_loop and _running_loop() is not self._loop_thread.loop:
            self._loop_thread.close()
            self._loop_used = False
            self._lock = asyncio.Lock()  # the old one may be bound to the stopped loop

    # -- lifecycle (on the source's loop) -------------------------------------------

    async def _start(self) -> None:
        self._closed = False
        async with self._lock:
            if self._conn is None or not self._conn.alive:
                await self._connect()

    async def _shutdown(self) -> None:
        self._closed = True
        for conn in [c for c in (self._conn, *self._retired) if c is not None]:
            # stdio's own shutdown is shielded and bounded (stdin close, SIGTERM, SIGKILL);
            # the grace only cuts short an HTTP session-termination request that hangs.
            self._retire(conn, grace=_CLOSE_GRACE)
        tasks = [c.task for c in self._retired if c.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=_STOP_GRACE + _CLOSE_GRACE)
        self._status = "stopped"

    async def _connect(self) -> None:
        """Start a connection and wait until it has listed the tools (lock held)."""
        if self._conn is not None:
            self._retire(self._conn)
        conn = _Connection(StderrTail() if self._transport == "stdio" else None)
        self._conn = conn
        self._status = "starting"
        conn.task = asyncio.get_running_loop().create_task(self._serve(conn))
        try:
            listing = await asyncio.wait_for(asyncio.shield(conn.ready), self._connect_timeout)
            tools, raw = tools_from_mcp(self._namespace, self._scrub, listing)
        except BaseException as exc:
            timed_out = isinstance(exc, TimeoutError) and not conn.ready.done()
            self._retire(conn, abort=True)
            task = asyncio.current_task()
            if isinstance(exc, asyncio.CancelledError) and task is not None and task.cancelling():
                raise  # our caller was cancelled, not the start
            summary, message = await self._start_error(conn, exc, timed_out=timed_out)
            self._failures += 1
            delay = min(2.0 ** (self._failures - 1), 30.0)
            self._retry_at = asyncio.get_running_loop().time() + delay
            self._status = f"failed: {summary}"
            raise SourceError(message) from None
        self._failures, self._retry_at = 0, 0.0
        self._status = "ready"
        self._apply(tools, raw)

    def _retire(
        self, conn: _Connection, *, abort: bool = False, grace: float = _STOP_GRACE
    ) -> None:
        """Shut a connection down in the background (forcibly after `grace` seconds)."""
        if conn is self._conn:
            self._conn = None
        conn.stop.set()
        if not conn.ready.done():
            conn.ready.cancel()
            abort = True
        if conn.task is None or conn.task.done():
            return
        if abort:
            conn.scope.cancel()
        else:
            loop = asyncio.get_running_loop()
            loop.call_later(grace, conn.scope.cancel)  # harmless once the runner is done
        self._retired.add(conn)
        conn.task.add_done_callback(lambda _: self._retired.discard(conn))

    async def _serve(self, conn: _Connection) -> None:
        """The runner: owns the transport and session of `conn` until it stops."""
        try:
            with conn.scope:
                async with self._session(conn) as client:
                    conn.client = client
                    self._description = describe_server(client.instructions, client.server_info)
                    listing = await list_all_tools(client, self._namespace)
                    if conn.ready.done():  # abandoned while starting
                        return
                    conn.ready.set_result(listing)
                    caps = client.server_capabilities.tools
                    listens = client.protocol_version in MODERN_PROTOCOL_VERSIONS and bool(
                        caps and caps.list_changed
                    )
                    async with anyio.create_task_group() as tg:
                        tg.start_soon(self._relist_loop, conn, client)
                        if listens:
                            tg.start_soon(self._listen, conn, client)
                        await conn.stop.wait()
                        tg.cancel_scope.cancel()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # a task never raises: its failure is recorded
            if not conn.ready.done():
                conn.ready.set_exception(exc)
            elif not conn.stop.is_set() or conn.lost is not None:
                conn.lost = self._scrub(describe(exc))
        finally:
            conn.client = None
            if conn.stderr is not None:
                conn.stderr.close_writer()  # in case the transport never got to it
            if not conn.ready.done():
                conn.ready.set_exception(SourceError("the connection closed while starting"))
            if conn is self._conn and conn.lost is not None:
                self._status = f"failed: {conn.lost}"
            conn.finished.set()

    @asynccontextmanager
    async def _session(self, conn: _Connection) -> AsyncIterator[Client]:
        """An initialized client over a fresh transport (protocol era negotiated)."""

        async def on_message(message: IncomingMessage) -> None:
            if isinstance(message, types.ToolListChangedNotification):
                conn.relist.set()

        async def on_log(params: types.LoggingMessageNotificationParams) -> None:
            self._logs.add(self._scrub(log_line(params)))

        client = Client(
            self._open_transport(conn),
            mode="auto",  # 2026 `server/discover`, falling back to the 2025 handshake
            cache=None,  # listings are refreshed on change notifications, never stale
            message_handler=on_message,
            logging_callback=on_log,
            log_level=CALL_LOG_LEVEL,
            client_info=_CLIENT_INFO,
        )
        async with client:
            yield client

    @asynccontextmanager
    async def _open_transport(self, conn: _Connection) -> AsyncIterator[tuple[Any, Any]]:
        def ended() -> None:
            if conn.stop.is_set():
                return  # our own shutdown
            conn.lost = "the server process exited" if conn.stderr else "the connection closed"
            conn.stop.set()
            if conn is self._conn:
                self._status = f"failed: {conn.lost}"

        if self._transport == "stdio":
            assert self._command is not None
            assert conn.stderr is not None
            params = StdioServerParameters(
                command=self._command, args=self._args, env=self._env or None, cwd=self._cwd
            )
            try:
                async with stdio_client(params, errlog=conn.stderr.writer) as (read, write):
                    conn.stderr.close_writer()  # the child holds its own copy
                    yield WatchedStream(read, ended), write
            finally:
                conn.stderr.close_writer()
        elif self._transport == "http":
            assert self._url is not None
            # No read timeout: calls may run long and the executor bounds them; a
            # shutdown that hangs is cancelled after _STOP_GRACE.
            timeout = httpx2.Timeout(30.0, connect=self._connect_timeout, read=None)
            async with (
                httpx2.AsyncClient(headers=self._headers, timeout=timeout) as http,
                streamable_http_client(self._url, http_client=http) as (read, write),
            ):
                yield WatchedStream(read, ended), write
        else:
            assert self._url is not None
            async with sse_client(
                self._url,
                headers=dict(self._headers) or None,
                timeout=self._connect_timeout,
                sse_read_timeout=24 * 3600.0,
            ) as (read, write):
                yield WatchedStream(read, ended), write

    # -- tools ----------------------------------------------------------------------

    def _apply(self, tools: tuple[Tool, ...], raw: dict[str, dict[str, Any] | None]) -> None:
        """Adopt a listing; tell `on_change` when it differs from the previous one."""
        changed = self._listed_once and tools != self._tools
        self._tools, self._raw_output, self._listed_once = tools, raw, True
        if changed and self._on_change is not None:
            try:
                self._on_change(self)
            except Exception:
                logger.exception("on_change callback of MCP source %r failed", self._namespace)

    async def _relist_loop(self, conn: _Connection, client: Client) -> None:
        while True:
            await conn.relist.wait()
            conn.relist.clear()
            try:
                with anyio.fail_after(self._connect_timeout):
                    listing = await list_all_tools(client, self._namespace)
                    tools, raw = tools_from_mcp(self._namespace, self._scrub, listing)
            except Exception as exc:
                logger.warning(
                    "MCP server %r: could not refresh its tools: %s",
                    self._namespace,
                    self._scrub(describe(exc)),
                )
                continue
            if conn is self._conn:
                self._apply(tools, raw)

    async def _listen(self, conn: _Connection, client: Client) -> None:
        """2026-era change events arrive on a `subscriptions/listen` stream."""
        try:
            async with client.listen(tools_list_changed=True) as subscription:
                async for _event in subscription:
                    conn.relist.set()
        except Exception as exc:  # without it, changes still show up after a restart
            reason = self._scrub(describe(exc))
            logger.debug("MCP server %r: no change subscription: %s", self._namespace, reason)

    # -- calls (on the source's loop) -----------------------------------------------

    async def _call(self, tool: Tool, arguments: dict[str, Any]) -> Any:
        qualified = tool.qualified
        conn = await self._connection(qualified)
        client = conn.client
        task = asyncio.current_task()
        assert task is not None
        conn.calls.add(task)
        first_log = self._logs.mark()
        try:
            if client is None:
                raise MCPError(types.CONNECTION_CLOSED, "Connection closed")
            result = await client.call_tool(tool.name, arguments)
        except asyncio.CancelledError:
            conn.suspect = True  # abandoned (timeout?): the server may be hung
            raise
        except Exception as exc:
            error = await self._call_error(conn, exc, qualified)
            error.logs = self._logs.since(first_log)
            raise error from None
        finally:
            conn.calls.discard(task)
        logs = self._logs.since(first_log)
        if result.is_error:
            raise ToolError(self._scrub(error_text(result)), tool=qualified, logs=logs)
        value = unwrap_result(result, self._raw_output.get(tool.name))
        return Logged(value, logs) if logs else value

    async def _connection(self, qualified: str) -> _Connection:
        """A live connection: the current one, checked if suspect, else a new one."""
        conn = self._conn
        if conn is not None and conn.alive and not conn.needs_check:
            return conn
        async with self._lock:
            if self._closed:
                message = f"upstream MCP server {self._namespace!r} is closed"
                raise ToolError(message, tool=qualified)
            conn = self._conn
            if conn is not None and conn.alive:
                if not conn.needs_check:
                    return conn
                conn.suspect = False
                problem = await self._probe(conn)
                if problem is None:
                    return conn
                logger.warning("MCP server %r restarted: %s", self._namespace, problem)
                self._retire(conn)
            wait = self._retry_at - asyncio.get_running_loop().time()
            if wait > 0:
                reason = self._status.removeprefix("failed: ")
                raise ToolError(
                    f"upstream MCP server {self._namespace!r} is not running ({reason}); "
                    f"next restart attempt in {wait:.1f}s",
                    tool=qualified,
                )
            try:
                await self._connect()
            except SourceError:
                reason = self._status.removeprefix("failed: ")
                raise ToolError(
                    f"upstream MCP server {self._namespace!r} could not be restarted: {reason}",
                    tool=qualified,
                ) from None
            assert self._conn is not None
            return self._conn

    async def _probe(self, conn: _Connection) -> str | None:
        """None when the server answers `tools/list` promptly; else what went wrong."""
        client = conn.client
        if client is None:
            return "the connection closed"
        try:
            with anyio.fail_after(_PROBE_TIMEOUT):
                listing = await list_all_tools(client, self._namespace)
        except TimeoutError:
            return f"no answer to tools/list within {_PROBE_TIMEOUT:g}s after an abandoned call"
        except Exception as exc:
            return self._scrub(describe(exc))
        with contextlib.suppress(SourceError):  # keep the old tools if the new ones clash
            self._apply(*tools_from_mcp(self._namespace, self._scrub, listing))
        return None

    async def _call_error(self, conn: _Connection, exc: Exception, qualified: str) -> ToolError:
        """The `ToolError` for a call that raised instead of returning a result."""
        closed = isinstance(exc, MCPError) and exc.code == types.CONNECTION_CLOSED
        if not closed and conn.alive:  # the server answered, with an error
            detail = exc.message if isinstance(exc, MCPError) else describe(exc)
            return ToolError(self._scrub(f"{qualified} failed: {detail}"), tool=qualified)
        with contextlib.suppress(TimeoutError):  # the runner has the best explanation
            await asyncio.wait_for(conn.finished.wait(), 1.0)
        reason = conn.lost or "the connection closed"
        if conn.stderr is not None:
            await conn.stderr.settle(0.3)
            lines = conn.stderr.text().strip().splitlines()
            if lines:
                reason += f"; its last stderr line: {lines[-1][-300:]}"
        return ToolError(
            f"upstream MCP server {self._namespace!r} is not running ({self._scrub(reason)}); "
            "it will be restarted on the next call",
            tool=qualified,
        )

    async def _start_error(
        self, conn: _Connection, exc: BaseException, *, timed_out: bool
    ) -> tuple[str, str]:
        """Why a start failed: (a one-line summary, the full story with the stderr tail).

        The summary is for the model and `status`; the full message, with the command
        line and the last 4 KB of stderr, is for the developer.
        """
        if timed_out:
            limit = f"{self._connect_timeout:g}s"
            message = f"MCP server {self._namespace!r} did not finish starting within {limit}"
        elif isinstance(exc, asyncio.CancelledError):
            message = f"MCP server {self._namespace!r} was closed while starting"
        else:
            message = startup_failure(self._namespace, exc, self._command, display_url(self._url))
        summary = message
        if self._command:
            message += f" (command: {' '.join([self._command, *self._args])})"
        if conn.stderr is not None:
            conn.stderr.close_writer()
            if not timed_out:  # a server that timed out is still running: no EOF to wait for
                await conn.stderr.settle(0.5)
            tail = conn.stderr.text().strip()
            if tail:
                summary += f"; its last stderr line: {tail.splitlines()[-1][-300:]}"
                message += f"\nlast stderr output of the server:\n{tail}"
        return self._scrub(summary), self._scrub(message)

    def _scrub(self, text: str) -> str:
        """`text` with every secret value (env, headers) masked."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
