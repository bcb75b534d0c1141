"""Acceptance: the official MCP Inspector (CLI mode) drives `codemode serve` over stdio.

The inspector spawns `python -m codemode.cli serve --config examples/codemode.toml` as
its stdio server, lists its tools, and calls `execute`. It runs on the cached Node 22
(the inspector needs Node >= 22.19).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .upstream import REPO, Upstreams

pytestmark = pytest.mark.integration

INSPECTOR_TIMEOUT = 120.0
CONFIG = REPO / "examples" / "codemode.toml"


def serve_command() -> list[str]:
    """`codemode serve` over stdio, with the example config (the bundled `ops` tools)."""
    return [sys.executable, "-m", "codemode.cli", "serve", "--config", str(CONFIG)]


def inspect(
    upstreams: Upstreams, home: Path, *method_args: str, exit_code: int = 0
) -> dict[str, Any]:
    """Run one inspector CLI call against `codemode serve` and return its JSON output.

    `home` isolates the inspector's catalog and client config (and codemode's data dir)
    from the user's own. The server command goes after `--`: the inspector would take its
    `--config` for its own option otherwise.
    """
    argv = [
        *upstreams.inspector_cli(),
        "--format",
        "json",
        "--connect-timeout",
        "60000",
        "--cwd",
        str(REPO),
        *method_args,
        "--",
        *serve_command(),
    ]
    env = {
        **os.environ,
        "HOME": str(home),
        "MCP_CATALOG_PATH": str(home / "mcp.json"),
        "MCP_CLIENT_CONFIG_PATH": str(home / "client.json"),
    }
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=INSPECTOR_TIMEOUT,
        env=env,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert done.returncode == exit_code, (
        f"inspector exited {done.returncode}\nstdout: {done.stdout[-3000:]}\n"
        f"stderr: {done.stderr[-3000:]}"
    )
    output: dict[str, Any] = json.loads(done.stdout)
    return output


def test_inspector_lists_search_and_execute(upstreams: Upstreams, tmp_path: Path) -> None:
    """`tools/list` shows exactly codemode's two tools, each with an input schema, and
    `--strict` finds no error-severity schema portability problem (it would exit 6)."""
    listed = inspect(upstreams, tmp_path, "--method", "tools/list", "--strict")
    tools = {tool["name"]: tool for tool in listed["result"]["tools"]}
    assert set(tools) == {"search", "execute"}
    assert "code" in tools["execute"]["inputSchema"]["properties"]
    assert "query" in tools["search"]["inputSchema"]["properties"]


def test_inspector_calls_execute(upstreams: Upstreams, tmp_path: Path) -> None:
    """`tools/call execute` runs a program against the example's `ops` tools."""
    code = 'errors = ops.search_logs(level="error", limit=5)\n{"n": len(errors), "sum": 40 + 2}'
    called = inspect(
        upstreams,
        tmp_path,
        "--method",
        "tools/call",
        "--tool-name",
        "execute",
        "--tool-args-json",
        json.dumps({"code": code}),
    )
    result = called["result"]
    assert result["isError"] is False, result
    structured = result["structuredContent"]
    assert structured["ok"] is True
    assert structured["result"] == {"n": 5, "sum": 42}
    assert [call["tool"] for call in structured["tool_calls"]] == ["ops.search_logs"]
    assert '"sum": 42' in result["content"][0]["text"]


def test_inspector_tool_arg_form(upstreams: Upstreams, tmp_path: Path) -> None:
    """The `--tool-arg code=...` form (values that are not JSON stay strings) works too."""
    called = inspect(
        upstreams,
        tmp_path,
        "--method",
        "tools/call",
        "--tool-name",
        "execute",
        "--tool-arg",
        "code=6 * 7",
    )
    assert called["result"]["structuredContent"]["result"] == 42


def test_inspector_sees_a_failing_program(upstreams: Upstreams, tmp_path: Path) -> None:
    """A program that raises is a tool error (`isError`), which the inspector exits 5 for."""
    called = inspect(
        upstreams,
        tmp_path,
        "--method",
        "tools/call",
        "--tool-name",
        "execute",
        "--tool-arg",
        "code=1/0",
        exit_code=5,
    )
    result = called["result"]
    assert result["isError"] is True
    assert result["structuredContent"]["error"]["type"] == "ZeroDivisionError"
