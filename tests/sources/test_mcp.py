"""Tests of `codemode.sources.mcp` against real MCP servers (the SDK's, as subprocesses).

The fixture server is `mcp_fixture_server.py`; it runs over stdio (2026 and 2025 protocol
eras), streamable HTTP and SSE. Every source here lives on its own loop thread while the
tests await from pytest's loop, so every call also crosses loops.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from codemode import CodeMode
from codemode.bridge import EventLoopThread
from codemode.catalog import Logged
from codemode.errors import ConfigError, SourceError, ToolError
from codemode.results import LOG_CHARS, LOG_LINE_CHARS, LOG_LINES
from codemode.sources._mcp_results import is_wrapped_schema, tool_output_schema
from codemode.sources.mcp import MCPSource

FIXTURE = str(Path(__file__).with_name("mcp_fixture_server.py"))
PNG_BYTES = 70
CANARY = "canary-7f3a9c1e5b"


def stdio_source(*args: str, **kwargs: Any) -> MCPSource:
    return MCPSource("fx", command=sys.executable, args=[FIXTURE, *args], **kwargs)


async def call(source: MCPSource, identifier: str, **arguments: Any) -> Any:
    tool = next(t for t in source.tools() if t.identifier == identifier)
    return await source.caller(tool)(arguments)


async def pid_of(source: MCPSource) -> int:
    result = await call(source, "pid")
    return int(result)


async def eventually(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    with anyio.fail_after(timeout):
        while not predicate():
            await anyio.sleep(0.02)


def gone(pid: int) -> bool:
    """True once the process no longer exists (a zombie still exists)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def http_server(port: int, *flags: str) -> Iterator[subprocess.Popen[bytes]]:
    """The fixture server listening on 127.0.0.1:port, ready to accept connections."""
    process = subprocess.Popen(
        [sys.executable, FIXTURE, *flags, str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            assert process.poll() is None, "the HTTP fixture server exited"
            assert time.monotonic() < deadline, "the HTTP fixture server did not start"
            time.sleep(0.05)
        yield process
    finally:
        process.kill()
        process.wait(5)


@pytest.fixture(scope="module")
def fx() -> Iterator[MCPSource]:
    """One started stdio source for the read-only tests (own loop thread)."""
    source = stdio_source()
    asyncio.run(source.start())
    yield source
    source.close()


# --- configuration ---------------------------------------------------------------


def test_configuration_is_checked() -> None:
    with pytest.raises(ConfigError, match="exactly one"):
        MCPSource("fx")
    with pytest.raises(ConfigError, match="exactly one"):
        MCPSource("fx", command="x", url="http://h/mcp")
    with pytest.raises(ConfigError, match="needs url="):
        MCPSource("fx", command="x", transport="http")
    with pytest.raises(ConfigError, match="list of strings"):
        MCPSource("fx", command="x", args="--flag")
    with pytest.raises(ConfigError, match="valid Python name"):
        MCPSource("my-server", command="x")
    assert MCPSource("fx", url="http://h:1/sse")._transport == "sse"
    assert MCPSource("fx", url="http://h:1/mcp")._transport == "http"
    source = MCPSource("fx", url="http://user:pw@h:1/mcp?key=abc")
    assert source.status == "stopped"
    assert source.tools() == ()
    assert "pw" not in repr(source)
    assert "abc" not in repr(source)


# --- listing -----------------------------------------------------------------------


def test_start_lists_tools_with_schemas_and_annotations(fx: MCPSource) -> None:
    assert fx.status == "ready"
    tools = {t.identifier: t for t in fx.tools()}
    assert {"add", "get_profile", "echo", "image", "crash", "grow"} <= set(tools)
    add = tools["add"]
    assert add.namespace == "fx"
    assert add.description == "Add two integers."
    assert add.required == {"a"}
    assert add.annotations.read_only is True
    assert add.annotations.idempotent is True
    assert add.annotations.open_world is False
    assert add.output_schema is not None
    assert add.output_schema["type"] == "integer"  # {"result": int} unwrapped
    profile = tools["get_profile"]
    assert profile.name == "get-profile"  # the original name, used for calls
    assert profile.annotations.destructive is True
    assert set(profile.output_schema["properties"]) == {"name", "length"}  # type: ignore[index]
    assert tools["echo"].description == "Echo title only"  # no description: the title
    assert tools["echo"].output_schema is None


@pytest.mark.anyio
async def test_paginated_listing_and_wrapped_result() -> None:
    source = stdio_source("paged")
    try:
        await source.start()
        names = [t.name for t in source.tools()]
        assert names == [f"t{i}" for i in range(7)] + ["wrapped"]
        wrapped = source.tools()[-1]
        # The caller unwraps {"result": x}, so the schema describes x.
        assert wrapped.output_schema == {"type": "array", "items": {"type": "integer"}}
        assert await call(source, "wrapped") == [1, 2, 3]
        assert await call(source, "t5") == "t5"
    finally:
        await source.aclose()


@pytest.mark.anyio
async def test_colliding_identifiers_are_refused() -> None:
    source = stdio_source("collide")
    with pytest.raises(SourceError, match=r"'get-user' and 'get_user'.*'get_user'"):
        await source.start()
    assert source.status.startswith("failed: ")
    await source.aclose()


# --- results -----------------------------------------------------------------------


@pytest.mark.anyio
async def test_structured_results(fx: MCPSource) -> None:
    assert await call(fx, "add", a=2, b=3) == 5
    assert await call(fx, "get_profile", name="ada") == {"name": "ada", "length": 3}


@pytest.mark.anyio
async def test_text_results(fx: MCPSource) -> None:
    assert await call(fx, "echo", text="hello") == "hello"
    assert await call(fx, "echo", text="[not json") == "[not json"
    assert await call(fx, "echo", text="42") == "42"  # only objects and arrays are parsed
    assert await call(fx, "json_text") == {"a": 1, "b": [1, 2]}


@pytest.mark.anyio
async def test_binary_content_becomes_references(fx: MCPSource) -> None:
    assert await call(fx, "image") == {
        "type": "image",
        "mime_type": "image/png",
        "bytes": PNG_BYTES,
    }
    small = await call(fx, "resource", size=5)
    assert small == {
        "type": "resource",
        "uri": "mem://doc",
        "mime_type": "text/plain",
        "text": "xxxxx",
        "bytes": 5,
    }
    big = await call(fx, "resource", size=5000)
    assert "text" not in big
    assert big["bytes"] == 5000
    assert await call(fx, "mixed") == [
        "hello",
        {"type": "image", "mime_type": "image/png", "bytes": PNG_BYTES},
        {
            "type": "resource",
            "uri": "mem://blob",
            "mime_type": "application/octet-stream",
            "bytes": PNG_BYTES,
        },
        {
            "type": "resource_link",
            "uri": "file:///readme.md",
            "name": "readme",
            "mime_type": "text/markdown",
        },
    ]


@pytest.mark.anyio
async def test_is_error_raises_tool_error(fx: MCPSource) -> None:
    with pytest.raises(ToolError, match="boom") as caught:
        await call(fx, "fail", message="boom")
    assert caught.value.tool == "fx.fail"
    with pytest.raises(ToolError) as long:
        await call(fx, "fail", message="0123456789", repeat=1000)
    assert len(long.value.message) <= 2000
    assert long.value.message.endswith("(message cut)")


@pytest.mark.anyio
async def test_protocol_error_raises_tool_error(fx: MCPSource) -> None:
    from codemode.catalog import Tool

    with pytest.raises(ToolError) as caught:
        await fx.caller(Tool(namespace="fx", name="no-such-tool"))({})
    assert caught.value.tool == "fx.no_such_tool"
    assert fx.status == "ready"  # an error answer is not a crash


# --- loops and cancellation ------------------------------------------------------


@pytest.mark.anyio
async def test_calls_from_any_loop_run_concurrently() -> None:
    thread = EventLoopThread()
    source = stdio_source(loop=thread)
    try:
        # started from the source's own loop (no hop), called from pytest's and a thread's
        thread.run(source.start(), timeout=10)
        assert thread.run(call(source, "add", a=1), timeout=5) == 1
        assert await call(source, "add", a=2) == 2
        other = await anyio.to_thread.run_sync(lambda: asyncio.run(call(source, "add", a=3)))
        assert other == 3
        started = time.perf_counter()
        results = await asyncio.gather(*(call(source, "sleep", seconds=0.4) for _ in range(5)))
        assert results == [0.4] * 5
        assert time.perf_counter() - started < 1.5  # concurrent, not 2 s in sequence
    finally:
        await source.aclose()
        thread.close()


@pytest.mark.anyio
async def test_cancelling_a_call_cancels_it_upstream(fx: MCPSource) -> None:
    pid = await pid_of(fx)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(call(fx, "sleep", seconds=30), 0.3)
    # the server is not hung: the liveness check passes and nothing restarts
    assert await pid_of(fx) == pid

    async def idle() -> bool:
        return await call(fx, "active") == 0

    with anyio.fail_after(3):
        while not await idle():
            await anyio.sleep(0.05)


@pytest.mark.anyio
async def test_hung_server_is_restarted_after_a_cancelled_call() -> None:
    source = stdio_source()
    try:
        await source.start()
        old = await pid_of(source)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(call(source, "freeze", seconds=60), 0.3)
        started = time.perf_counter()
        new = await pid_of(source)  # liveness check fails after 2 s: restart, then call
        assert new != old
        assert time.perf_counter() - started < 6
    finally:
        await source.aclose()
    await eventually(lambda: gone(old), timeout=5)


# --- crashes and restarts ----------------------------------------------------------


@pytest.mark.anyio
async def test_crash_fails_the_call_in_flight_and_the_next_call_restarts() -> None:
    changes: list[MCPSource] = []
    source = stdio_source(on_change=changes.append)
    try:
        await source.start()
        old = await pid_of(source)
        await call(source, "grow")  # the tools change (on_change #1) ...
        await eventually(lambda: len(changes) == 1)
        with pytest.raises(ToolError, match="not running") as caught:
            await call(source, "crash", code=3)
        message = caught.value.message
        assert "'fx'" in message
        assert "crashing now" in message  # the server's last stderr line
        assert "restarted on the next call" in message
        assert caught.value.tool == "fx.crash"
        assert source.status.startswith("failed: ")
        started = time.perf_counter()
        new = await pid_of(source)
        restart = time.perf_counter() - started
        assert new != old
        assert source.status == "ready"
        # ... and change back: the restarted server lists its original tools (on_change #2)
        assert changes == [source, source]
        assert "extra" not in [t.name for t in source.tools()]
        assert restart < 5
        print(f"stdio restart + call: {restart:.2f}s")
    finally:
        await source.aclose()


@pytest.mark.anyio
async def test_kill_9_in_flight_and_while_idle() -> None:
    source = stdio_source()
    try:
        await source.start()
        # killed during a call: that call fails, the next one restarts
        first = await pid_of(source)
        pending = asyncio.ensure_future(call(source, "sleep", seconds=30))
        await eventually(lambda: source.status == "ready")
        await asyncio.sleep(0.3)
        os.kill(first, signal.SIGKILL)
        with pytest.raises(ToolError, match="not running"):
            await asyncio.wait_for(pending, 5)
        second = await pid_of(source)
        assert second != first
        # killed while idle: noticed at once, and the next call restarts transparently
        os.kill(second, signal.SIGKILL)
        await eventually(lambda: source.status.startswith("failed: "))
        third = await pid_of(source)
        assert third not in (first, second)
        await eventually(lambda: gone(first) and gone(second))  # reaped, no zombies
    finally:
        await source.aclose()


@pytest.mark.anyio
async def test_failed_restart_backs_off_then_recovers(tmp_path: Path) -> None:
    shim = tmp_path / "server.py"
    good = f"import runpy\nrunpy.run_path({FIXTURE!r}, run_name='__main__')\n"
    shim.write_text(good)
    source = MCPSource("fx", command=sys.executable, args=[str(shim)])
    try:
        await source.start()
        shim.write_text("import sys\nprint('broken shim', file=sys.stderr)\nsys.exit(4)\n")
        with pytest.raises(ToolError, match="not running"):
            await call(source, "crash")
        with pytest.raises(ToolError, match="could not be restarted") as failed:
            await pid_of(source)
        assert "exited during startup; its last stderr line: broken shim" in failed.value.message
        assert "command:" not in failed.value.message  # host details are for the developer
        started = time.perf_counter()
        with pytest.raises(ToolError, match="next restart attempt in"):
            await pid_of(source)  # within the backoff: no new attempt
        assert time.perf_counter() - started < 0.5
        shim.write_text(good)
        await asyncio.sleep(1.0)  # the first backoff step
        assert await pid_of(source) > 0
        assert source.status == "ready"
    finally:
        await source.aclose()


# --- start failures ------------------------------------------------------------------


@pytest.mark.anyio
async def test_start_failures_are_source_errors() -> None:
    missing = MCPSource("fx", command="/nonexistent/mcp-server-binary")
    with pytest.raises(SourceError, match="command '/nonexistent/mcp-server-binary' not found"):
        await missing.start()
    assert missing.status.startswith("failed: ")
    await missing.aclose()

    exits = stdio_source("exit", env={"CANARY": CANARY})
    with pytest.raises(SourceError) as caught:
        await exits.start()
    message = str(caught.value)
    assert "exited during startup" in message
    assert "fixture: fatal: cannot start" in message  # the stderr tail
    assert "token=***" in message
    assert CANARY not in message
    await exits.aclose()

    refused = MCPSource("fx", url=f"http://127.0.0.1:{free_port()}/mcp")
    with pytest.raises(SourceError, match="cannot connect to MCP server 'fx'"):
        await refused.start()
    await refused.aclose()


@pytest.mark.anyio
async def test_connect_timeout() -> None:
    source = stdio_source("hang", connect_timeout=0.5)
    started = time.perf_counter()
    with pytest.raises(SourceError, match=r"did not finish starting within 0.5s"):
        await source.start()
    assert time.perf_counter() - started < 1.3
    await source.aclose()


# --- environment and secrets ----------------------------------------------------------


@pytest.mark.anyio
async def test_env_cwd_and_secret_scrubbing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEMODE_PARENT_ONLY", "visible-to-parent")
    source = stdio_source(env={"CANARY": CANARY, "API_TOKEN": "xyz"}, cwd=tmp_path)
    try:
        await source.start()
        assert await call(source, "getenv", name="CANARY") == CANARY
        assert await call(source, "getenv", name="CODEMODE_PARENT_ONLY") is None
        assert await call(source, "getenv", name="PATH")  # the safe defaults
        assert os.path.realpath(await call(source, "cwd")) == os.path.realpath(tmp_path)
        with pytest.raises(ToolError) as caught:
            await call(source, "leak_env", name="CANARY")
        assert CANARY not in caught.value.message
        assert "the secret is ***" in caught.value.message
        with pytest.raises(ToolError) as short:
            await call(source, "leak_env", name="API_TOKEN")
        assert "xyz" not in short.value.message
        with pytest.raises(ToolError) as crash:
            await call(source, "crash")
        texts = [repr(source), source.status, crash.value.message]
        texts += [t.description for t in source.tools()]
        assert not any(CANARY in text for text in texts)
    finally:
        await source.aclose()


# --- change notifications -----------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("era", ["2026", "2025"])
async def test_list_changed_refreshes_tools(era: str) -> None:
    changed = threading.Event()
    threads: list[str] = []

    def on_change(source: MCPSource) -> None:
        threads.append(threading.current_thread().name)
        changed.set()

    source = stdio_source(*(["--legacy"] if era == "2025" else []), on_change=on_change)
    try:
        await source.start()
        assert "extra" not in [t.name for t in source.tools()]
        assert await call(source, "grow") == "grown"
        await eventually(changed.is_set)
        assert "extra" in [t.name for t in source.tools()]
        assert await call(source, "extra") == "extra"
        assert threads == ["codemode-loop"]  # on the source's loop thread
    finally:
        await source.aclose()


# --- HTTP ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_streamable_http_headers_crash_and_restart() -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    source = MCPSource("web", url=url, headers={"X-Api-Key": CANARY}, connect_timeout=5)
    try:
        with http_server(port, "--http"):
            await source.start()
            assert await call(source, "add", a=4, b=5) == 9
            assert await call(source, "header", name="x-api-key") == CANARY
            assert CANARY not in repr(source)
        # the server is gone: a call fails with a ToolError, never hangs
        with pytest.raises(ToolError) as caught:
            await asyncio.wait_for(call(source, "add", a=1), 10)
        assert "upstream MCP server 'web'" in caught.value.message
        with http_server(port, "--http"):

            async def recovered() -> bool:
                try:
                    return await call(source, "add", a=1) == 1
                except ToolError:
                    return False

            with anyio.fail_after(8):
                while not await recovered():
                    await anyio.sleep(0.3)
            assert source.status == "ready"
    finally:
        await source.aclose()


@pytest.mark.anyio
async def test_sse_transport() -> None:
    port = free_port()
    source = MCPSource("legacy_web", url=f"http://127.0.0.1:{port}/sse", connect_timeout=5)
    try:
        with http_server(port, "--sse"):
            await source.start()
            assert await call(source, "add", a=1, b=1) == 2
            await source.aclose()
    finally:
        await source.aclose()


# --- closing ----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_aclose_terminates_the_server() -> None:
    source = stdio_source()
    await source.start()
    pid = await pid_of(source)
    started = time.perf_counter()
    await source.aclose()
    assert time.perf_counter() - started < 3
    assert source.status == "stopped"
    await eventually(lambda: gone(pid), timeout=3)
    await source.aclose()  # idempotent
    source.close()
    tool = source.tools()[0]
    with pytest.raises(ToolError, match="closed"):
        await source.caller(tool)({})


def test_sync_close_from_plain_code() -> None:
    source = stdio_source()
    asyncio.run(source.start())
    pid = asyncio.run(pid_of(source))
    source.close()
    assert source.status == "stopped"
    deadline = time.monotonic() + 3
    while not gone(pid):
        assert time.monotonic() < deadline
        time.sleep(0.02)


# --- through the catalog and the bridge --------------------------------------------------


def test_bridge_dispatches_to_the_source(fx: MCPSource) -> None:
    from codemode.bridge import Bridge
    from codemode.catalog import Catalog

    catalog = Catalog()
    catalog.add_source(fx)
    bridge = Bridge(catalog)
    loop = EventLoopThread()  # the bridge's loop, not the source's
    try:
        future = bridge.start("fx.get_profile", (), {"name": "grace"}, loop.loop)
        assert future.result(10) == {"name": "grace", "length": 5}
        failed = bridge.start("fx.fail", (), {"message": "nope"}, loop.loop)
        with pytest.raises(ToolError, match="nope"):
            failed.result(10)
    finally:
        bridge.close()
        loop.close()


def test_sdk_style_wrapped_output_schemas_are_unwrapped() -> None:
    # MCPServer wraps list/primitive results as {"result": x} in a model "<fn>Output".
    sdk = {
        "properties": {"result": {"items": {"$ref": "#/$defs/Entry"}, "type": "array"}},
        "required": ["result"],
        "title": "search_logsOutput",
        "type": "object",
        "$defs": {"Entry": {"type": "object", "properties": {"m": {"type": "string"}}}},
    }
    assert is_wrapped_schema(sdk)
    inner = tool_output_schema(sdk)
    assert inner is not None
    assert inner["type"] == "array"
    assert "Entry" in inner["$defs"]
    # A real object that merely has one field called "result" is left alone.
    plain = {"properties": {"result": {"type": "string"}}, "required": ["result"], "type": "object"}
    assert not is_wrapped_schema(plain)
    assert not is_wrapped_schema({**sdk, "title": "Report"})


# --- log notifications -------------------------------------------------------------


@pytest.mark.anyio
async def test_log_notifications_during_a_call_come_with_its_result(fx: MCPSource) -> None:
    result = await call(fx, "chatty", lines=2)
    assert isinstance(result, Logged)
    assert result.value == 2
    assert [line.split(" [fixture] ")[0] for line in result.logs] == ["warning", "warning"]
    assert result.logs[1].endswith("step 1 " + "w" * 20)
    assert await call(fx, "add", a=1) == 1  # a quiet call returns its bare value
    with pytest.raises(ToolError) as caught:
        await call(fx, "chatty", lines=1, fail=True)
    assert len(caught.value.logs) == 1


def test_per_call_logs_are_capped_in_the_execution_result() -> None:
    with CodeMode() as cm:
        cm.add_mcp("fx", command=sys.executable, args=[FIXTURE])
        result = cm.execute(
            "fx.chatty(lines=50, width=1000)\n"
            "try:\n    fx.chatty(lines=1, fail=True)\nexcept ToolError:\n    pass\n"
            "[fx.chatty(lines=3, width=100) for _ in range(40)]\n"
        )
    assert result.ok, result.error
    first, failed, *rest = result.tool_calls
    assert len(first.logs) == LOG_LINES + 1  # the kept lines and a marker
    assert first.logs[-1] == "… 40 more log lines omitted"
    assert all(len(line) <= LOG_LINE_CHARS for line in first.logs)
    assert not failed.ok
    assert len(failed.logs) == 1
    # The whole execution's log lines stay within one budget.
    kept = [line for call in result.tool_calls for line in call.logs if "omitted" not in line]
    assert sum(len(line) for line in kept) <= LOG_CHARS
    assert rest[-1].logs == ("… 3 more log lines omitted",)
