"""The result contract and the caps that keep outputs small and valid."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from codemode.results import ErrorInfo, ExecutionResult, OutputBuffer, ToolCall, cap_json, cap_text

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=300),
    lambda children: (
        st.lists(children, max_size=30)
        | st.dictionaries(st.text(max_size=20), children, max_size=20)
    ),
    max_leaves=200,
)


@settings(max_examples=300, deadline=None)
@given(value=json_values, limit=st.integers(min_value=64, max_value=5000))
def test_capped_json_is_valid_and_within_the_cap(value: Any, limit: int) -> None:
    capped, truncated = cap_json(value, limit)
    text = json.dumps(capped, ensure_ascii=False, allow_nan=False)
    assert len(text.encode()) <= limit
    assert json.loads(text) == capped
    if not truncated:
        assert capped == value


def test_cap_json_keeps_structure() -> None:
    value = {"rows": [{"id": i, "name": "x" * 50} for i in range(10_000)], "total": 10_000}
    capped, truncated = cap_json(value, 4096)
    assert truncated
    assert isinstance(capped, dict)
    assert capped["total"] == 10_000
    assert capped["rows"][0] == {"id": 0, "name": "x" * 50}
    assert isinstance(capped["rows"][-1], str)
    assert "more items omitted" in capped["rows"][-1]


def test_cap_text_labels_the_cut() -> None:
    text, cut = cap_text("a" * 1000 + "b" * 1000, 200)
    assert cut
    assert len(text) <= 200
    assert text.startswith("a")
    assert text.endswith("b")
    assert "chars omitted" in text
    assert cap_text("short", 200) == ("short", False)


def test_output_buffer_is_bounded_and_keeps_head_and_tail() -> None:
    out = OutputBuffer(1000)
    for i in range(100_000):
        out.write(f"line {i}\n")
    text = out.getvalue()
    assert out.truncated
    assert len(text) < 1100
    assert text.startswith("line 0\n")
    assert text.endswith("line 99999\n")
    assert "chars omitted" in text


def test_to_dict_is_json_safe() -> None:
    result = ExecutionResult(
        ok=False,
        error=ErrorInfo(type="ToolError", message="m", line=3, column=5, tool="t.x", parameter="p"),
        tool_calls=(ToolCall(tool="t.x", duration_ms=1.23456, ok=False),),
        duration_ms=2.5,
        session="s",
    )
    data = json.loads(json.dumps(result.to_dict()))
    assert data["status"] == "error"
    assert data["error"] == {
        "type": "ToolError",
        "message": "m",
        "line": 3,
        "column": 5,
        "tool": "t.x",
        "parameter": "p",
    }
    assert data["tool_calls"] == [{"tool": "t.x", "duration_ms": 1.235, "ok": False}]
    assert data["session"] == "s"
