"""Approvals, metrics and spans through the MCP server, with real clients.

* in process: a client that supports elicitation is asked, and its answer continues the
  program; a client that does not gets `approval_required` and decides with
  `execute(approval_id=..., approve=...)`;
* over stdio: `codemode serve --session` is stopped while a program waits for approval,
  started again, and the approval continues the program exactly where it stopped;
* over HTTP: `/metrics` is scraped after executions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp_types import ElicitRequestParams, ElicitResult
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families

from codemode import CodeMode
from codemode.server import build_server
from conftest import codemode_http

PROGRAM = """
for i in range(3):
    ops.count()
try:
    ops.write(text="hello")
    outcome = "written"
except ToolError as e:
    outcome = "refused: " + str(e)
ops.count()
ops.count()
outcome
"""

TOOLS = '''
"""Tools that leave a trace in files, so several processes can check them."""
import os
from pathlib import Path

STATE = Path(os.environ["CODEMODE_TRUST_STATE"])


def count() -> int:
    """Add one to the counter and return it."""
    path = STATE / "count"
    n = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(n))
    return n


def write(text: str) -> str:
    """Write text (needs approval)."""
    with open(STATE / "written", "a") as f:
        f.write(text + "\\n")
    return "ok"
'''


def counted(state: Path) -> int:
    path = state / "count"
    return int(path.read_text()) if path.exists() else 0


def written(state: Path) -> list[str]:
    path = state / "written"
    return path.read_text().splitlines() if path.exists() else []


@pytest.fixture
def deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A codemode.toml with `ops.count` and `ops.write` (approval by policy), a SQLite
    store, and the folder the tools write to."""
    state = tmp_path / "state"
    state.mkdir()
    monkeypatch.setenv("CODEMODE_TRUST_STATE", str(state))
    (tmp_path / "tools.py").write_text(TOOLS)
    config = tmp_path / "codemode.toml"
    config.write_text(
        f"""
[functions.ops]
path = "tools.py"

[policy]
"ops.write" = "approve"

[store]
url = "sqlite:///{tmp_path / "store.db"}"
"""
    )
    return config, state


# -- in process ---------------------------------------------------------------------------


def make_cm(state: Path, **options: Any) -> CodeMode:
    import importlib.util

    spec = importlib.util.spec_from_file_location("trust_tools", state.parent / "tools.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cm = CodeMode(store="memory://", **options)
    cm.add_function(module.count, namespace="ops")
    cm.add_function(module.write, namespace="ops", policy="approve")
    return cm


@pytest.mark.anyio
@pytest.mark.parametrize(("answer", "outcome"), [(True, "written"), (False, "refused: denied")])
@pytest.mark.parametrize("mode", ["auto", "legacy"])  # 2026: input-required; 2025: request
async def test_elicitation_asks_the_user_and_continues(
    deployment: tuple[Path, Path], answer: bool, outcome: str, mode: str
) -> None:
    _, state = deployment
    asked: list[str] = []

    async def elicit(context: Any, params: ElicitRequestParams) -> ElicitResult:
        asked.append(params.message)
        assert counted(state) == 3  # paused after exactly three calls
        return ElicitResult(action="accept", content={"approve": answer})

    with make_cm(state) as cm:
        with anyio.fail_after(20):
            async with Client(build_server(cm), elicitation_callback=elicit, mode=mode) as client:
                result = await client.call_tool("execute", {"code": PROGRAM})
        assert cm.approvals() == []
    data = result.structured_content
    assert data["status"] == "ok", data
    assert data["result"].startswith(outcome)
    assert len(asked) == 1
    assert "ops.write" in asked[0]
    assert '"hello"' in asked[0]
    assert counted(state) == 5
    assert written(state) == (["hello"] if answer else [])


@pytest.mark.anyio
async def test_dismissed_elicitation_leaves_the_call_pending(deployment: tuple[Path, Path]) -> None:
    _, state = deployment

    async def elicit(context: Any, params: ElicitRequestParams) -> ElicitResult:
        return ElicitResult(action="cancel")

    with make_cm(state) as cm:
        with anyio.fail_after(20):
            async with Client(build_server(cm), elicitation_callback=elicit) as client:
                paused = await client.call_tool("execute", {"code": PROGRAM})
                data = paused.structured_content
                assert data["status"] == "approval_required"
                assert not paused.is_error
                resumed = await client.call_tool(
                    "execute", {"approval_id": data["approval_id"], "approve": True}
                )
    assert resumed.structured_content["result"] == "written"
    assert counted(state) == 5


@pytest.mark.anyio
async def test_client_without_elicitation_decides_with_execute(
    deployment: tuple[Path, Path],
) -> None:
    _, state = deployment
    with make_cm(state) as cm:
        with anyio.fail_after(20):
            async with Client(build_server(cm)) as client:
                paused = await client.call_tool("execute", {"code": PROGRAM})
                data = paused.structured_content
                text = paused.content[0].text  # type: ignore[union-attr]
                assert counted(state) == 3
                denied = await client.call_tool(
                    "execute", {"approval_id": data["approval_id"], "approve": False}
                )
                again = await client.call_tool(
                    "execute", {"approval_id": data["approval_id"], "approve": True}
                )
                missing = await client.call_tool("execute", {"approval_id": data["approval_id"]})
    assert data["status"] == "approval_required"
    assert data["pending"] == {"tool": "ops.write", "args": {"text": "hello"}}
    assert [c["tool"] for c in data["tool_calls"]] == ["ops.count"] * 3
    assert f"execute(approval_id='{data['approval_id']}'" in text
    assert denied.structured_content["result"].startswith("refused: denied")
    assert counted(state) == 5
    assert written(state) == []
    assert again.is_error
    assert "already decided (denied)" in again.content[0].text
    assert missing.is_error
    assert "approve" in missing.content[0].text


# -- over stdio, with a restart in the middle ---------------------------------------------


def test_approval_survives_a_server_restart(deployment: tuple[Path, Path]) -> None:
    """The acceptance test: three counted calls, a pause at a call needing approval, the
    server is stopped and started again, and approval continues the program: exactly
    three calls before the pause, the rest after, none repeated."""
    config, state = deployment
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "codemode.cli", "serve", "--config", str(config), "--session", "S"],
        env=dict(os.environ),
    )

    async def call(arguments: dict[str, Any]) -> dict[str, Any]:
        with anyio.fail_after(30):
            async with Client(stdio_client(params)) as client:
                result = await client.call_tool("execute", arguments)
        assert result.structured_content is not None
        return result.structured_content

    paused = anyio.run(call, {"code": "before = 'kept'\n" + PROGRAM})
    assert paused["status"] == "approval_required", paused
    assert counted(state) == 3
    assert written(state) == []
    # The first server is gone; a new one continues the program from the store.
    resumed = anyio.run(call, {"approval_id": paused["approval_id"], "approve": True})
    assert resumed["status"] == "ok", resumed
    assert resumed["result"] == "written"
    assert counted(state) == 5
    assert written(state) == ["hello"]
    # The session goes on with the variables the program set before and after its pause.
    after = anyio.run(call, {"code": "[before, outcome, i]"})
    assert after["result"] == ["kept", "written", 2]


def test_cli_approve_and_deny_continue_a_paused_program(deployment: tuple[Path, Path]) -> None:
    config, state = deployment
    base = [sys.executable, "-m", "codemode.cli"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*base, *args], capture_output=True, text=True, timeout=60, env=dict(os.environ)
        )

    paused = run("exec", "--config", str(config), "--json", PROGRAM)
    assert paused.returncode == 3, paused.stderr
    approval = json.loads(paused.stdout)["approval_id"]
    assert f"codemode approve {approval}" in paused.stderr
    listed = run("approvals", "--config", str(config), "--json")
    assert [json.loads(line)["id"] for line in listed.stdout.splitlines()] == [approval]
    denied = run("deny", "--config", str(config), "--json", approval)
    assert denied.returncode == 0, denied.stderr
    assert json.loads(denied.stdout)["result"].startswith("refused: denied")
    twice = run("approve", "--config", str(config), approval)
    assert twice.returncode == 2
    assert "already decided" in twice.stderr
    assert counted(state) == 5
    assert written(state) == []

    audit = run("audit", "--config", str(config), "--json")
    records = [json.loads(line) for line in audit.stdout.splitlines()]
    assert [(r["kind"], r["status"]) for r in records] == [
        ("execute", "approval_required"),
        ("resume", "ok"),
    ]
    assert [c["tool"] for c in records[0]["tool_calls"]] == ["ops.count"] * 3
    assert [c["tool"] for c in records[1]["tool_calls"]] == ["ops.write", "ops.count", "ops.count"]
    assert records[1]["approval_id"] == approval


# -- telemetry ----------------------------------------------------------------------------


def test_spans_for_executions_and_tool_calls(deployment: tuple[Path, Path]) -> None:
    _, state = deployment
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with make_cm(state, tracer_provider=provider) as cm:
        paused = cm.execute(PROGRAM, session="T")
        cm.resume(paused.approval_id or "", approve=True)
        cm.execute("1/0")
    spans = exporter.get_finished_spans()
    roots = [s for s in spans if s.parent is None]
    assert [s.name for s in roots] == ["codemode.execute", "codemode.resume", "codemode.execute"]
    first, resumed, failed = roots
    assert first.attributes is not None
    assert first.attributes["codemode.status"] == ("approval_required")
    assert first.attributes["codemode.session"] == "T"

    def children(parent: Any) -> list[str]:
        return [
            str((s.attributes or {}).get("codemode.tool"))
            for s in spans
            if s.parent is not None and s.parent.span_id == parent.context.span_id
        ]

    assert children(first) == ["ops.count"] * 3
    assert children(resumed) == ["ops.write", "ops.count", "ops.count"]
    assert failed.attributes is not None
    assert failed.attributes["codemode.error.type"] == ("ZeroDivisionError")
    assert failed.status.status_code.name == "ERROR"


@pytest.fixture
def http_deployment(deployment: tuple[Path, Path]) -> Iterator[tuple[str, Path]]:
    config, state = deployment
    with codemode_http(config) as (base, _):
        yield base, state


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


@pytest.mark.anyio
async def test_metrics_are_scraped_from_the_http_server(
    http_deployment: tuple[str, Path],
) -> None:
    base, _ = http_deployment
    with anyio.fail_after(30):
        async with Client(f"{base}/mcp", mode="legacy") as client:
            await client.call_tool("execute", {"code": "ops.count()\nops.count()"})
            await client.call_tool("execute", {"code": "1/0"})
            paused = await client.call_tool("execute", {"code": PROGRAM})
            assert paused.structured_content is not None
            async with httpx.AsyncClient() as http:
                waiting = samples((await http.get(f"{base}/metrics")).text)
            await client.call_tool(
                "execute",
                {"approval_id": paused.structured_content["approval_id"], "approve": True},
            )
        async with httpx.AsyncClient() as http:
            response = await http.get(f"{base}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    got = samples(response.text)
    assert waiting[("codemode_approvals_pending", ())] == 1
    assert got[("codemode_approvals_pending", ())] == 0
    assert got[("codemode_executions_total", (("status", "ok"),))] == 2
    assert got[("codemode_executions_total", (("status", "error"),))] == 1
    assert got[("codemode_executions_total", (("status", "approval_required"),))] == 1
    assert got[("codemode_execution_errors_total", (("type", "ZeroDivisionError"),))] == 1
    # 2 + 3 before the pause + 3 after it, each counted once.
    assert got[("codemode_tool_calls_total", (("ok", "true"), ("tool", "ops.count")))] == 7
    assert got[("codemode_tool_calls_total", (("ok", "true"), ("tool", "ops.write")))] == 1
    assert got[("codemode_tool_call_duration_seconds_count", (("tool", "ops.count"),))] == 7
    assert waiting[("codemode_active_sessions", ())] >= 1
    assert got[("codemode_tokens_returned_total", ())] > 0
