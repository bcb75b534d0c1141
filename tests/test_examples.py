"""The examples in the repository run and do what they say."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_quickstart(capsys: pytest.CaptureFixture[str]) -> None:
    runpy.run_path(str(EXAMPLES / "quickstart.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "def get_forecast(*, city: str, day: str" in out
    assert "{'coldest': 'Oslo', 'temp_c': -2.0}" in out
    assert "3 tool calls" in out


def test_approvals(capsys: pytest.CaptureFixture[str]) -> None:
    runpy.run_path(str(EXAMPLES / "approvals.py"), run_name="__main__")
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "approval_required {'tool': 'billing.refund', 'args': {'invoice': 'inv_0', 'amount': 40}}",
        "refunds so far: []",
        "ok ['refunded 40.0 on inv_0', 'refunded 41.0 on inv_1']",
        "3 tool calls in all; refunds: ['inv_0', 'inv_1']",
    ]
