"""`codemode demo`: runs end to end and its table comes from real traffic."""

from __future__ import annotations

import subprocess
import sys

import pytest

from codemode.demo import CLASSIC_CALLS, run_demo


@pytest.mark.anyio
async def test_demo_measures_both_sides() -> None:
    lines: list[str] = []
    measured = await run_demo(lines.append)
    text = "\n".join(lines)
    assert measured.tools_listed == 2
    assert 0 < measured.tools_list_tokens <= 1000
    assert measured.tool_calls == len(CLASSIC_CALLS)
    assert {row["service"] for row in measured.result} == {"billing", "worker"}
    classic = sum(measured.classic_result_tokens or [])
    assert classic > 10 * measured.execute_tokens  # the point of code mode, measured
    assert "classic tool calling" in text
    assert "total tokens" in text


def test_demo_command_runs_in_a_fresh_process() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "codemode.cli", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "intermediate results in context" in proc.stdout
    assert "Traceback" not in proc.stderr
