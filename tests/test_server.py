"""The MCP server: `search` + `execute` over the SDK's in-memory, stdio and HTTP transports."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.server import Server
from mcp.shared.exceptions import MCPError
from mcp_types import ToolAnnotations

from codemode import CodeMode, Limits
from codemode.catalog import Caller, Tool
from codemode.cli import main
from codemode.server import build_server, execute_description
from codemode.tokens import count_tokens
from conftest import codemode_http

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = str(ROOT / "examples" / "codemode.toml")


class StaticSource:
    """A namespace of generated tools that return None: catalogs of any size, fast."""

    def __init__(self, namespace: str, count: int) -> None:
        self._namespace = namespace
        self._tools = [
            Tool(
                namespace=namespace,
                name=f"{namespace}_get_record_{i:04d}",
                description=f"Fetch record {i} of the {namespace} service by id.\n\nMore text.",
                input_schema={
                    "type": "object",
                    "properties": {"id": {"type": "string", "description": "Record id."}},
                    "required": ["id"],
                },
            )
            for i in range(count)
        ]

    @property
    def namespace(self) -> str:
        return self._namespace

    def tools(self) -> Sequence[Tool]:
        return self._tools

    def caller(self, tool: Tool) -> Caller:
        return lambda args: None

    async def aclose(self) -> None:
        pass


def catalog(spaces: dict[str, int]) -> CodeMode:
    cm = CodeMode()
    for namespace, count in spaces.items():
        cm.add_source(StaticSource(namespace, count))
    return cm


def three_tools() -> CodeMode:
    def add(a: int, b: int = 0) -> int:
        """Add two integers."""
        return a + b

    def upper(text: str) -> str:
        """Upper-case a string."""
        return text.upper()

    def now() -> str:
        """The current time, ISO 8601."""
        return "2026-01-01T00:00:00Z"

    cm = CodeMode()
    cm.add_functions("util", [add, upper, now])
    return cm


@pytest.fixture(scope="module")
def server(cm: CodeMode) -> Server[Any]:
    return build_server(cm)


async def tools_list_tokens(cm: CodeMode) -> int:
    with anyio.fail_after(10):
        async with Client(build_server(cm)) as client:
            listed = await client.list_tools()
    wire = [t.model_dump(by_alias=True, mode="json", exclude_none=True) for t in listed.tools]
    return count_tokens({"tools": wire})


# ------------------------------------------------------------------------------ tools/list


@pytest.mark.anyio
async def test_lists_search_and_execute_only(server: Server[Any], cm: CodeMode) -> None:
    with anyio.fail_after(10):
        async with Client(server) as client:
            listed = await client.list_tools()
            instructions = client.instructions
    by_name = {t.name: t for t in listed.tools}
    assert list(by_name) == ["search", "execute"]
    search, execute = by_name["search"], by_name["execute"]
    assert search.input_schema["required"] == ["query"]
    # `code` runs a program; `approval_id` + `approve` continue one paused for approval.
    assert list(execute.input_schema["properties"]) == ["code", "approval_id", "approve"]
    assert "required" not in execute.input_schema
    assert search.annotations == ToolAnnotations(read_only_hint=True, open_world_hint=False)
    assert execute.annotations == ToolAnnotations(read_only_hint=False, open_world_hint=True)
    assert execute.description is not None
    # A namespace is described by its source, not by listing tools (search finds those).
    assert f"\nt ({len(cm.tools('t'))} tools)" in execute.description
    assert "Limits per run: 5 s, 200 tool calls." in execute.description
    assert instructions is not None
    assert "`search`" in instructions
    assert "`execute`" in instructions


@pytest.mark.anyio
@pytest.mark.parametrize(
    "build",
    [
        pytest.param(three_tools, id="3 tools"),
        pytest.param(lambda: catalog({"crm": 334, "billing": 333, "github": 333}), id="1000"),
        pytest.param(lambda: catalog({f"svc_{i:02d}": 1 + i % 7 for i in range(60)}), id="60ns"),
    ],
)
async def test_tools_list_stays_under_1000_tokens(build: Callable[[], CodeMode]) -> None:
    with build() as cm:
        assert await tools_list_tokens(cm) <= 1000


def test_namespace_overview_is_capped_and_deterministic() -> None:
    spaces = {f"service_{i:02d}": 1 + i % 7 for i in range(60)}
    with catalog(spaces) as first, catalog(dict(reversed(spaces.items()))) as second:
        text = execute_description(first)
        assert text == execute_description(second)
    overview = text.split("Namespaces:\n", 1)[1].splitlines()
    assert len(overview) == 31
    assert overview[0].startswith("service_06 (7 tools)")  # most tools first, then by name
    assert overview[-1] == "... and 30 more namespaces; use search"
    assert all(len(line) <= 100 for line in overview)


# ----------------------------------------------------------------------------------- search


@pytest.mark.anyio
async def test_search_returns_stubs_and_structured_hits(server: Server[Any], cm: CodeMode) -> None:
    with anyio.fail_after(10):
        async with Client(server) as client:
            result = await client.call_tool("search", {"query": "add integers", "limit": 1})
            empty = await client.call_tool("search", {"query": "zebra"})
            bad = await client.call_tool("search", {"query": "x", "limit": 0})
    assert not result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    assert text.startswith("def t.add(*, a: int, b: int = 0) -> int:\n")
    assert "a: The first number." in text
    structured = result.structured_content
    total = len(cm.tools())
    assert (structured["shown"], structured["total"]) == (1, total)
    assert structured["matched"] >= 1
    footer = f"showing 1 of {structured['matched']} matching tools (catalog: {total} tools)"
    assert text.endswith(footer)
    assert structured["hits"][0]["qualified"] == "t.add"
    assert not empty.is_error
    assert empty.structured_content["hits"] == []
    assert bad.is_error
    assert "limit" in bad.content[0].text  # type: ignore[union-attr]


# ---------------------------------------------------------------------------------- execute


@pytest.mark.anyio
async def test_execute_returns_the_result_and_structured_content(server: Server[Any]) -> None:
    with anyio.fail_after(10):
        async with Client(server) as client:
            result = await client.call_tool("execute", {"code": "print('hi')\nt.add(a=2, b=3)"})
    assert not result.is_error
    data = result.structured_content
    assert (data["ok"], data["status"], data["result"], data["stdout"]) == (True, "ok", 5, "hi\n")
    assert [c["tool"] for c in data["tool_calls"]] == ["t.add"]
    text = result.content[0].text  # type: ignore[union-attr]
    assert text.startswith("ok (1 tool call, ")
    assert text.endswith("stdout:\nhi\nresult: 5")


@pytest.mark.anyio
async def test_failed_program_is_a_tool_error_with_details(server: Server[Any]) -> None:
    with anyio.fail_after(10):
        async with Client(server) as client:
            refused = await client.call_tool("execute", {"code": "t.add(a=1, c=2)"})
            raised = await client.call_tool("execute", {"code": "x = 1\nt.fail(message='boom')"})
            no_code = await client.call_tool("execute", {})
    assert refused.is_error
    assert refused.structured_content["error"]["parameter"] == "c"
    assert raised.is_error
    error = raised.structured_content["error"]
    assert (error["type"], error["line"], error["tool"]) == ("ToolError", 2, "t.fail")
    assert "ToolError (line 2): " in raised.content[0].text  # type: ignore[union-attr]
    assert no_code.is_error
    assert "code" in no_code.content[0].text  # type: ignore[union-attr]


@pytest.mark.anyio
async def test_each_mcp_session_has_its_own_state(server: Server[Any], cm: CodeMode) -> None:
    with anyio.fail_after(15):
        async with Client(server) as one, Client(server, mode="legacy") as two:
            await one.call_tool("execute", {"code": "x = 41"})
            await two.call_tool("execute", {"code": "x = 1"})
            first = await one.call_tool("execute", {"code": "x + 1"})
            second = await two.call_tool("execute", {"code": "x + 1"})
            sessions = {first.structured_content["session"], second.structured_content["session"]}
            assert sessions <= set(cm.sessions())
        assert not sessions & set(cm.sessions())  # forgotten with the connection
    assert (first.structured_content["result"], second.structured_content["result"]) == (42, 2)
    assert len(sessions) == 2


@pytest.mark.anyio
async def test_progress_is_reported_while_a_program_runs(server: Server[Any]) -> None:
    updates: list[tuple[float, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        updates.append((progress, message))

    with anyio.fail_after(10):
        async with Client(server) as client:
            result = await client.call_tool(
                "execute", {"code": "t.slow(i=7, delay=1.5)"}, progress_callback=on_progress
            )
    assert result.structured_content["result"] == 7
    assert updates, "no progress notification arrived"
    progress, message = updates[0]
    assert progress >= 0.9
    assert message is not None
    assert re.fullmatch(r"\d+ tool calls?, \d+\.\d s", message)


@pytest.mark.anyio
async def test_cancelled_execute_stops_the_program(server: Server[Any]) -> None:
    # Legacy mode: cancelling the call sends notifications/cancelled over JSON-RPC.
    with anyio.fail_after(15):
        async with Client(server, mode="legacy") as client:
            started = time.monotonic()
            with anyio.move_on_after(0.5):
                await client.call_tool("execute", {"code": "n = 0\nwhile True:\n    n += 1"})
            assert time.monotonic() - started < 1.5
            # The same session: this would wait for the 5 s timeout if the loop still ran.
            started = time.monotonic()
            after = await client.call_tool("execute", {"code": "1 + 1"})
            assert time.monotonic() - started < 3
    assert after.structured_content["result"] == 2


# -------------------------------------------------------------------------------- resources


@pytest.mark.anyio
async def test_namespace_stubs_are_resources(server: Server[Any], cm: CodeMode) -> None:
    with anyio.fail_after(10):
        async with Client(server) as client:
            listed = await client.list_resources()
            templates = await client.list_resource_templates()
            one = await client.read_resource("codemode://stubs/t")
            everything = await client.read_resource("codemode://stubs")
            with pytest.raises(MCPError, match="unknown resource"):
                await client.read_resource("codemode://stubs/nope")
    by_uri = {str(r.uri): r for r in listed.resources}
    stub = by_uri["codemode://stubs/t"]
    count = f"{len(cm.tools('t'))} tools"
    assert (stub.name, stub.description, stub.mime_type) == ("t stubs", count, "text/x-python")
    assert "codemode://stubs" in by_uri
    assert templates.resource_templates[0].uri_template == "codemode://stubs/{namespace}"
    text = one.contents[0].text  # type: ignore[union-attr]
    assert "def add(*, a: int, b: int = 0) -> int:" in text
    assert "# ---- namespace t ----" in everything.contents[0].text  # type: ignore[union-attr]


# ------------------------------------------------------------------------ real transports


def test_serve_over_stdio() -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "codemode.cli", "serve", "--config", EXAMPLE],
        cwd=str(ROOT),
        env=dict(os.environ),  # this test's CODEMODE_HOME, not the user's data dir
    )

    async def session(errlog: TextIO) -> tuple[list[str], Any, float]:
        with anyio.fail_after(20):
            async with Client(stdio_client(params, errlog=errlog)) as client:
                listed = await client.list_tools()
                result = await client.call_tool("execute", {"code": "len(ops.list_services())"})
                closing = time.monotonic()
            return [t.name for t in listed.tools], result, time.monotonic() - closing

    with tempfile.TemporaryFile("w+") as errlog:
        names, result, exit_time = anyio.run(session, errlog)
        errlog.seek(0)
        stderr = errlog.read()
    assert names == ["search", "execute"]
    assert result.structured_content["result"] == 5
    # The server left on its own when stdin closed (the client kills it only after 2 s).
    assert exit_time < 1.9
    assert re.search(r"^codemode: serving \d+ tools in 1 namespace over stdio$", stderr, re.M)
    assert "Traceback" not in stderr


@pytest.fixture
def http_server() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    with codemode_http(EXAMPLE) as (base, proc):
        yield f"{base}/mcp", proc


@pytest.mark.anyio
async def test_serve_over_streamable_http(http_server: tuple[str, subprocess.Popen[str]]) -> None:
    url, proc = http_server
    with anyio.fail_after(20):
        async with Client(url) as client:
            result = await client.call_tool("execute", {"code": "len(ops.list_services())"})
        # A handshake (2025) client gets an MCP session, hence a codemode session.
        async with Client(url, mode="legacy") as client:
            await client.call_tool("execute", {"code": "x = 20"})
            kept = await client.call_tool("execute", {"code": "x + 1"})
    assert result.structured_content["result"] == 5
    assert kept.structured_content["result"] == 21
    proc.terminate()
    assert proc.wait(10) == 0
    assert proc.stderr is not None
    assert "Traceback" not in proc.stderr.read()


def test_http_address_must_be_host_and_port(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--http", "8000"])
    assert exit_info.value.code == 2
    assert "expected HOST:PORT" in capsys.readouterr().err


def test_namespace_lines_describe_the_source_and_do_not_grow_with_tools() -> None:
    def make(count: int) -> CodeMode:
        cm = CodeMode()
        fns = []
        for i in range(count):

            def fn(x: int) -> int:
                return x

            fn.__name__ = f"tool_{i}"
            fns.append(fn)
        cm.add_functions("inventory", fns, description="Warehouse stock levels and orders.")
        return cm

    with make(3) as small, make(300) as large:
        small_text, large_text = execute_description(small), execute_description(large)
    assert "inventory (3 tools): Warehouse stock levels and orders." in small_text
    assert "inventory (300 tools): Warehouse stock levels and orders." in large_text
    assert abs(len(large_text) - len(small_text)) <= 2


# ------------------------------------------------------------------------------ artifacts


@pytest.mark.anyio
async def test_big_results_are_artifact_resources() -> None:
    with CodeMode(limits=Limits(timeout=10, result_bytes=200)) as small:
        server = build_server(small)
        with anyio.fail_after(15):
            async with Client(server) as client:
                text = await client.call_tool("execute", {"code": "'é' * 1000"})
                rows = await client.call_tool("execute", {"code": "list(range(500))"})
                fits = await client.call_tool("execute", {"code": "'small'"})
                text_handle = text.structured_content["result"]
                rows_handle = rows.structured_content["result"]
                read_text = await client.read_resource(text_handle["uri"])
                read_rows = await client.read_resource(rows_handle["uri"])
                listed = await client.list_resources()
                templates = await client.list_resource_templates()
                unknown = "codemode://artifacts/art_" + "0" * 20
                with pytest.raises(MCPError, match="no artifact"):
                    await client.read_resource(unknown)
                with pytest.raises(MCPError, match="no artifact"):
                    await client.read_resource("codemode://artifacts/../../etc/passwd")
            async with Client(server) as other:
                other_listed = await other.list_resources()
                # Another session does not list them, but the id still reads them.
                again = await other.read_resource(rows_handle["uri"])
    assert text.structured_content["truncated"]
    assert rows.structured_content["truncated"]
    assert fits.structured_content["result"] == "small"
    assert not fits.structured_content["truncated"]
    assert text_handle["uri"] == f"codemode://artifacts/{text_handle['artifact']}"
    (content,) = read_text.contents
    assert (content.mime_type, content.text) == ("text/plain", "é" * 1000)  # type: ignore[union-attr]
    (content,) = read_rows.contents
    assert content.mime_type == "application/json"
    assert json.loads(content.text) == list(range(500))  # type: ignore[union-attr]
    assert json.loads(again.contents[0].text) == list(range(500))  # type: ignore[union-attr]
    by_uri = {str(r.uri): r for r in listed.resources}
    for handle, mime in ((text_handle, "text/plain"), (rows_handle, "application/json")):
        resource = by_uri[handle["uri"]]
        assert (resource.mime_type, resource.size) == (mime, handle["bytes"])
    assert "codemode://stubs" in by_uri  # the stubs are still listed
    assert not [r for r in other_listed.resources if str(r.uri).startswith("codemode://art")]
    uri_templates = [t.uri_template for t in templates.resource_templates]
    assert "codemode://artifacts/{id}" in uri_templates


@pytest.mark.anyio
async def test_program_artifacts_are_listed_to_their_session(server: Server[Any]) -> None:
    code = "a = artifacts.put({'k': [1, 2]}, name='kept')\na"
    with anyio.fail_after(10):
        async with Client(server) as client:
            put = await client.call_tool("execute", {"code": code})
            listed = await client.list_resources()
            artifact_id = put.structured_content["result"]
            read = await client.read_resource(f"codemode://artifacts/{artifact_id}")
    resources = [r for r in listed.resources if str(r.uri).startswith("codemode://artifacts/")]
    assert [(str(r.uri), r.name) for r in resources] == [
        (f"codemode://artifacts/{artifact_id}", "kept")
    ]
    assert resources[0].size == len('{"k": [1, 2]}')
    assert json.loads(read.contents[0].text) == {"k": [1, 2]}  # type: ignore[union-attr]


@pytest.mark.anyio
async def test_library_and_workspace_are_resources() -> None:
    with CodeMode(store="memory://") as cm:
        server = build_server(cm)
        program = (
            "open('notes.txt', 'w').write('hello')\n"
            "open('blob.bin', 'wb').write(b'\\x00\\xff')\n"
            "def twice(x: int) -> int:\n    return 2 * x\n"
            "library.save(twice, description='Doubles')\n"
        )
        with anyio.fail_after(15):
            async with Client(server) as client:
                saved = await client.call_tool("execute", {"code": program})
                listed = await client.list_resources()
                templates = await client.list_resource_templates()
                source = await client.read_resource("codemode://library/twice")
                notes = await client.read_resource("codemode://workspace/notes.txt")
                blob = await client.read_resource("codemode://workspace/blob.bin")
                with pytest.raises(MCPError, match="no library function"):
                    await client.read_resource("codemode://library/missing")
                with pytest.raises(MCPError, match="no workspace file"):
                    await client.read_resource("codemode://workspace/missing.txt")
    assert saved.structured_content["ok"]
    uris = {str(r.uri) for r in listed.resources}
    assert {"codemode://library/twice", "codemode://workspace/notes.txt"} <= uris
    assert {t.uri_template for t in templates.resource_templates} >= {
        "codemode://library/{name}",
        "codemode://workspace/{path}",
    }
    assert "def twice(x: int) -> int:" in source.contents[0].text  # type: ignore[union-attr]
    assert notes.contents[0].text == "hello"  # type: ignore[union-attr]
    assert blob.contents[0].blob == "AP8="  # type: ignore[union-attr]


@pytest.mark.anyio
async def test_a_named_session_outlives_its_connections() -> None:
    with CodeMode(store="memory://") as cm:
        server = build_server(cm, session="agent-1")
        with anyio.fail_after(15):
            async with Client(server) as client:
                await client.call_tool("execute", {"code": "x = 41"})
            async with Client(server) as again:
                result = await again.call_tool("execute", {"code": "x + 1"})
        assert result.structured_content["result"] == 42
        assert "agent-1" in cm.sessions()
