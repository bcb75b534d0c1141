"""Real third-party MCP servers, first with the raw MCP SDK client, then through codemode.

The servers (installed on first use, see `upstream.py`): the reference `everything`,
`filesystem` and `memory` servers (Node), and `mcp-server-time` and `mcp-server-git`
(Python). Programs call them as `fs.write_file(...)`, `clock.get_current_time(...)`, ...
"""

from __future__ import annotations

import json
import os
import signal
import string
import sys
import time
import uuid
from base64 import b64decode
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest

from codemode import CodeMode, Limits
from codemode.results import ExecutionResult

from .probe import probe, servers_for, text_of
from .procs import find_child, free_port, local_server, wait_until_dead
from .upstream import Upstreams

pytestmark = pytest.mark.integration

LIMITS = Limits(timeout=60, tool_timeout=30)
IN_FLIGHT_DELAY = 2.0  # seconds a slow call gets to reach its server before the kill

EXPECTED_TOOLS = {
    "everything": {"echo", "get-sum", "get-tiny-image", "get-structured-content"},
    "filesystem": {"read_text_file", "write_file", "list_directory", "list_allowed_directories"},
    "memory": {"create_entities", "read_graph", "search_nodes", "open_nodes"},
    "time": {"get_current_time", "convert_time"},
    "git": {"git_status", "git_log", "git_add", "git_commit", "git_diff_unstaged"},
}

# The first bytes of the everything server's base64 PNG: must never reach a program's result.
PNG_BASE64_PREFIX = "iVBORw0KGgo"


def program(template: str, **values: object) -> str:
    """A sandbox program with `$name` placeholders replaced by Python literals."""
    return string.Template(template).substitute({k: repr(v) for k, v in values.items()})


def ran(result: ExecutionResult) -> Any:
    """The program's result, failing the test with its error if it did not run."""
    assert result.ok, f"program failed: {result.error}\nstdout: {result.stdout}"
    return result.result


def wait_for_status(cm: CodeMode, namespace: str, prefix: str, timeout: float = 10.0) -> None:
    """Wait until `cm.source_status()[namespace]` starts with `prefix`."""
    deadline = time.monotonic() + timeout
    while not (status := cm.source_status()[namespace]).startswith(prefix):
        assert time.monotonic() < deadline, f"{namespace} still {status!r} after {timeout}s"
        time.sleep(0.05)


@pytest.fixture
def gateway(upstreams: Upstreams, git_repo: Path, memory_file: Path) -> Iterator[CodeMode]:
    """A started `CodeMode` with all five servers; the filesystem server owns the git repo.

    `time` and `memory` are reserved sandbox names (a module, a future global), so those
    servers are mounted as `clock` and `kg` (knowledge graph).
    """
    # The filesystem server marks its writes destructive, so by default they would wait
    # for approval (tested below); these tests are about the gateway, not approvals.
    cm = CodeMode(limits=LIMITS, policy={"fs.*": "allow"})
    cm.add_mcp("fs", **upstreams.filesystem(git_repo).kwargs())
    cm.add_mcp("clock", **upstreams.time().kwargs())
    cm.add_mcp("kg", **upstreams.memory(memory_file).kwargs())
    cm.add_mcp("git", **upstreams.git(git_repo).kwargs())
    cm.add_mcp("everything", **upstreams.everything().kwargs())
    with cm:
        cm.start()
        yield cm


# -- the servers themselves, through the MCP SDK's client ----------------------------------


@pytest.mark.parametrize("label", sorted(EXPECTED_TOOLS))
def test_raw_sdk_lists_tools(upstreams: Upstreams, tmp_path: Path, label: str) -> None:
    """Each installed server starts, initializes and lists the tools the tests rely on."""
    server = servers_for(upstreams, tmp_path)[label]
    found = anyio.run(probe, server)
    assert EXPECTED_TOOLS[label] <= found.tool_names()


def test_raw_sdk_calls_everything_server(upstreams: Upstreams) -> None:
    """The baseline codemode must reproduce: what the everything server answers directly."""
    calls = [
        ("echo", {"message": "hi"}),
        ("get-sum", {"a": 2, "b": 3.5}),
        ("get-structured-content", {"location": "Chicago"}),
        ("get-resource-reference", {"resourceId": 0}),
    ]
    echo, total, weather, failed = anyio.run(lambda: probe(upstreams.everything(), calls)).results
    assert text_of(echo) == "Echo: hi"
    assert text_of(total) == "The sum of 2 and 3.5 is 5.5."
    assert weather.structured_content == {
        "temperature": 36,
        "conditions": "Light rain / drizzle",
        "humidity": 82,
    }
    assert failed.is_error
    assert "Invalid resourceId: 0" in text_of(failed)


def test_raw_sdk_image_is_base64(upstreams: Upstreams) -> None:
    """The everything server's image comes as a base64 PNG block (which codemode must hide)."""
    (result,) = anyio.run(lambda: probe(upstreams.everything(), [("get-tiny-image", {})])).results
    images = [b for b in result.content if isinstance(b, types.ImageContent)]
    assert len(images) == 1
    assert images[0].mime_type == "image/png"
    assert images[0].data.startswith(PNG_BASE64_PREFIX)


# -- through codemode ----------------------------------------------------------------------


def test_gateway_exposes_mcp_tools_as_identifiers(gateway: CodeMode) -> None:
    """Namespaces are registered and MCP names are mapped to Python identifiers."""
    assert set(gateway.namespaces()) >= {"fs", "clock", "kg", "git", "everything"}
    everything = {tool.identifier for tool in gateway.tools("everything")}
    assert {"echo", "get_sum", "get_tiny_image", "get_structured_content"} <= everything
    stub = gateway.stubs("everything")
    assert 'location: Literal["New York", "Chicago", "Los Angeles"]' in stub
    assert "-> GetStructuredContentResult:" in stub  # from the tool's output schema
    assert "def get_sum(*, a: float, b: float)" in stub
    status = gateway.source_status()
    for namespace in ("fs", "clock", "kg", "git", "everything"):
        assert status[namespace].startswith("ready"), status


def test_program_uses_four_servers(gateway: CodeMode, git_repo: Path, memory_file: Path) -> None:
    """Time → a file (filesystem) → a commit (git) → an entity (memory), in one program."""
    code = program(
        """
now = clock.get_current_time(timezone="UTC")
stamp = now["datetime"]
note = $repo + "/run.txt"
fs.write_file(path=note, content="run at " + stamp + "\\n")
written = fs.read_text_file(path=note)
before = git.git_status(repo_path=$repo)
git.git_add(repo_path=$repo, files=["run.txt"])
git.git_commit(repo_path=$repo, message="record run at " + stamp)
history = git.git_log(repo_path=$repo, max_count=5)
kg.create_entities(entities=[
    {"name": "run", "entityType": "test-run", "observations": ["committed at " + stamp]},
])
found = kg.search_nodes(query="test-run")
{
    "stamp": stamp,
    "timezone": now["timezone"],
    "written": written,
    "untracked_before": "run.txt" in before,
    "history": history,
    "entities": found["entities"],
}
""",
        repo=str(git_repo),
    )
    summary = ran(gateway.execute(code))

    stamp = summary["stamp"]
    assert summary["timezone"] == "UTC"
    assert stamp.endswith("+00:00")
    assert (git_repo / "run.txt").read_text(encoding="utf-8") == f"run at {stamp}\n"
    assert f"run at {stamp}" in json.dumps(summary["written"])
    assert summary["untracked_before"] is True
    assert f"record run at {stamp}" in summary["history"]
    assert "initial commit" in summary["history"]
    assert summary["entities"] == [
        {"name": "run", "entityType": "test-run", "observations": [f"committed at {stamp}"]}
    ]
    assert f"committed at {stamp}" in memory_file.read_text(encoding="utf-8")


def test_everything_echo_sum_and_structured(gateway: CodeMode) -> None:
    """Text results arrive as text, structured content as a dict."""
    result = ran(
        gateway.execute(
            """
{
    "echo": everything.echo(message="hi"),
    "sum": everything.get_sum(a=2, b=3.5),
    "weather": everything.get_structured_content(location="Chicago"),
}
"""
        )
    )
    assert result["echo"] == "Echo: hi"
    assert result["sum"] == "The sum of 2 and 3.5 is 5.5."
    assert result["weather"] == {
        "temperature": 36,
        "conditions": "Light rain / drizzle",
        "humidity": 82,
    }


def test_everything_image_is_a_small_reference(gateway: CodeMode, upstreams: Upstreams) -> None:
    """An image result reaches the program as a small reference, never as base64."""
    result = gateway.execute("everything.get_tiny_image()")
    before, image, after = ran(result)
    encoded = json.dumps(result.to_dict())
    assert PNG_BASE64_PREFIX not in encoded
    assert len(encoded) < 1000, encoded
    assert before == "Here's the image you requested:"
    assert after == "The image above is the MCP logo."
    (raw,) = anyio.run(lambda: probe(upstreams.everything(), [("get-tiny-image", {})])).results
    (png,) = [b for b in raw.content if isinstance(b, types.ImageContent)]
    assert image == {"type": "image", "mime_type": "image/png", "bytes": len(b64decode(png.data))}


def test_everything_embedded_resource_is_inline(gateway: CodeMode) -> None:
    """A small embedded text resource comes inline, between the text blocks around it."""
    intro, resource, outro = ran(gateway.execute("everything.get_resource_reference()"))
    assert intro == "Returning resource reference for Resource 1:"
    assert resource["type"] == "resource"
    assert resource["uri"] == "demo://resource/dynamic/text/1"
    assert resource["text"].startswith("Resource 1: This is a plaintext resource")
    assert outro.endswith("demo://resource/dynamic/text/1")


def test_everything_error_is_a_tool_error(gateway: CodeMode) -> None:
    """A tool that reports `isError` raises ToolError in the program, catchable there."""
    caught = ran(
        gateway.execute(
            """
try:
    everything.get_resource_reference(resourceId=0)
    outcome = "no error"
except ToolError as e:
    outcome = "ToolError: " + str(e)
outcome
"""
        )
    )
    assert caught.startswith("ToolError: ")
    assert "Invalid resourceId: 0" in caught

    uncaught = gateway.execute("everything.get_resource_reference(resourceId=0)")
    assert not uncaught.ok
    assert uncaught.error is not None
    assert uncaught.error.type == "ToolError"
    assert uncaught.error.tool == "everything.get_resource_reference"
    assert "Invalid resourceId: 0" in uncaught.error.message


def test_bad_arguments_are_refused_before_running(gateway: CodeMode) -> None:
    """The upstream's input schema (an enum here) is enforced before the program runs."""
    result = gateway.execute('everything.get_structured_content(location="Mars")')
    assert not result.ok
    assert result.error is not None
    assert result.error.type == "ToolError"
    assert result.error.parameter == "location"
    assert result.tool_calls == ()


def test_filesystem_refuses_paths_outside_its_root(gateway: CodeMode, tmp_path: Path) -> None:
    """The filesystem server's own access check surfaces as a ToolError."""
    outside = tmp_path / "outside.txt"
    outside.write_text("secret", encoding="utf-8")
    result = gateway.execute(program("fs.read_text_file(path=$path)", path=str(outside)))
    assert not result.ok
    assert result.error is not None
    assert result.error.type == "ToolError"
    assert "outside allowed directories" in result.error.message


def test_upstream_killed_mid_call_fails_that_call_then_recovers(
    upstreams: Upstreams,
) -> None:
    """kill -9 of a server while a call is in flight: that call raises ToolError in the
    program (promptly, not when the call would have ended), and the next execute works
    against a restarted server."""
    token = uuid.uuid4().hex
    marker = f"CODEMODE_TEST_MARKER={token}"  # found in the server's /proc/<pid>/environ
    server = upstreams.everything()
    env = {**server.env, "CODEMODE_TEST_MARKER": token}
    with CodeMode(limits=LIMITS) as cm, ThreadPoolExecutor(max_workers=1) as pool:
        cm.add_mcp("everything", command=server.command, args=server.args, env=env)
        cm.start()
        pid = find_child(marker)
        slow = """
try:
    everything.trigger_long_running_operation(duration=20, steps=20)
    outcome = "no error"
except ToolError as e:
    outcome = "ToolError: " + str(e)
outcome
"""
        started = time.monotonic()
        pending = pool.submit(cm.execute, slow, session="s")
        time.sleep(IN_FLIGHT_DELAY)  # let the call reach the server
        os.kill(pid, signal.SIGKILL)
        outcome = ran(pending.result(timeout=LIMITS.timeout))
        assert outcome.startswith("ToolError: "), outcome
        assert time.monotonic() - started < 15, "the call waited for the dead server"

        assert ran(cm.execute('everything.echo(message="back")', session="s")) == "Echo: back"
        assert find_child(marker) != pid


def test_upstream_killed_while_idle_reconnects_transparently(
    upstreams: Upstreams, allowed_dir: Path
) -> None:
    """kill -9 of a server between calls: the next call restarts it and succeeds, and the
    program's session state is untouched."""
    with CodeMode(limits=LIMITS) as cm:
        cm.add_mcp("fs", **upstreams.filesystem(allowed_dir).kwargs(), policy="allow")
        cm.start()
        note = str(allowed_dir / "one.txt")
        ran(
            cm.execute(
                program('fs.write_file(path=$p, content="one")\nkept = 1', p=note), session="s"
            )
        )

        pid = find_child(str(allowed_dir))
        os.kill(pid, signal.SIGKILL)
        wait_until_dead(pid)
        # Once the source has noticed the death (a call racing the notice gets a
        # ToolError instead, as in the mid-call test), the next call restarts the server.
        wait_for_status(cm, "fs", "failed")

        listing = program("[fs.list_directory(path=$d), kept]", d=str(allowed_dir))
        after_kill = ran(cm.execute(listing, session="s"))
        assert "one.txt" in json.dumps(after_kill[0])
        assert after_kill[1] == 1
        assert find_child(str(allowed_dir)) != pid
        assert cm.source_status()["fs"].startswith("ready")


def test_cwd_is_the_servers_working_directory(upstreams: Upstreams, allowed_dir: Path) -> None:
    """`add_mcp(cwd=...)`: the filesystem server resolves its relative root `.` there."""
    server = upstreams.filesystem(Path("."))
    with CodeMode(limits=LIMITS) as cm:
        cm.add_mcp("fs", command=server.command, args=server.args, cwd=allowed_dir)
        cm.start()
        listed = ran(cm.execute("fs.list_allowed_directories()"))
    assert listed == {"content": f"Allowed directories:\n{allowed_dir.resolve()}"}


def test_failing_server_does_not_block_the_others(upstreams: Upstreams) -> None:
    """A server that exits at once is reported failed; the others still serve programs."""
    with CodeMode(limits=LIMITS) as cm:
        cm.add_mcp("broken", command=sys.executable, args=["-c", "raise SystemExit(3)"])
        cm.add_mcp("clock", **upstreams.time().kwargs())
        cm.start()
        status = cm.source_status()
        assert status["broken"].startswith("failed"), status
        assert status["clock"].startswith("ready"), status
        now = ran(cm.execute('clock.get_current_time(timezone="UTC")'))
        assert now["timezone"] == "UTC"


def test_everything_over_streamable_http(upstreams: Upstreams, tmp_path: Path) -> None:
    """`add_mcp(url=...)`: the everything server over streamable HTTP on 127.0.0.1."""
    port = free_port()
    server = upstreams.everything_http()
    with (
        local_server(server.argv(), port, env={"PORT": str(port)}, log=tmp_path / "http.log"),
        CodeMode(limits=LIMITS) as cm,
    ):
        cm.add_mcp(
            "everything",
            url=f"http://127.0.0.1:{port}/mcp",
            headers={"X-Codemode-Test": "1"},
        )
        cm.start()
        result = ran(
            cm.execute('[everything.echo(message="over http"), everything.get_sum(a=1, b=2)]')
        )
        assert result == ["Echo: over http", "The sum of 1 and 2 is 3."]


def test_destructive_tool_of_a_real_server_waits_for_approval(
    upstreams: Upstreams, allowed_dir: Path
) -> None:
    """The filesystem server marks write_file destructive: by default the program pauses
    at it; approved, the file is written and the program goes on; denied, nothing is
    written and the program handles the ToolError."""
    target = allowed_dir / "approved.txt"
    code = program(
        "listed = fs.list_directory(path=$d)\n"
        "try:\n"
        '    fs.write_file(path=$p, content="written")\n'
        '    outcome = "written"\n'
        "except ToolError as e:\n"
        "    outcome = str(e)\n"
        "outcome",
        d=str(allowed_dir),
        p=str(target),
    )
    with CodeMode(limits=LIMITS, store="memory://") as cm:
        cm.add_mcp("fs", **upstreams.filesystem(allowed_dir).kwargs())
        paused = cm.execute(code)
        assert paused.status == "approval_required", paused
        assert paused.pending == {
            "tool": "fs.write_file",
            "args": {"path": str(target), "content": "written"},
        }
        assert [c.tool for c in paused.tool_calls] == ["fs.list_directory"]
        assert not target.exists()
        assert ran(cm.resume(paused.approval_id, approve=True)) == "written"
        assert target.read_text() == "written"

        target.unlink()
        paused = cm.execute(code)
        assert ran(cm.resume(paused.approval_id, approve=False)).startswith("denied")
        assert not target.exists()
