"""The audit log: one record per execute and per resume, read back from the store and
printed by `codemode audit`."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from codemode import CodeMode, ExecutionResult
from codemode.audit import format_audit, parse_since
from codemode.cli import main
from codemode.errors import ConfigError
from codemode.store import AuditRecord, open_store
from codemode.tokens import count_tokens

Make = Callable[..., CodeMode]

PROGRAM = """\
seen = [ops.count() for _ in range(3)]
written = ops.write(text="report")
after = [ops.count() for _ in range(2)]
[seen, written, after]
"""


class Ops:
    def __init__(self) -> None:
        self.calls = 0

    def count(self) -> int:
        """Count one more call."""
        self.calls += 1
        return self.calls

    def write(self, text: str) -> str:
        """Write text somewhere that matters."""
        return f"wrote {text}"

    def fail(self, why: str) -> None:
        """Always fails."""
        raise ValueError(why)


def register(cm: CodeMode, ops: Ops | None = None) -> CodeMode:
    ops = ops or Ops()
    cm.add_functions("ops", [ops.count, ops.fail])
    cm.add_function(ops.write, namespace="ops", policy="approve")
    return cm


@pytest.fixture
def store_url(any_store_url: str) -> str:
    """Every kind of store (overrides conftest's SQLite-only one for this module)."""
    return any_store_url


@pytest.fixture
def cm() -> Iterator[CodeMode]:
    with register(CodeMode(store="memory://")) as instance:
        yield instance


def expected_tokens(result: ExecutionResult) -> int:
    """What `tokens` must be: o200k tokens of the result's JSON form (without tokens)."""
    return count_tokens(dataclasses.replace(result, tokens=0).to_dict())


def calls(record: AuditRecord) -> list[tuple[str, bool, int]]:
    return [(c["tool"], c["ok"], c["arg_bytes"]) for c in record.tool_calls]


# -- what a record holds --------------------------------------------------------------


def test_an_execution_is_recorded_with_every_field(make: Make) -> None:
    cm = register(make(project="proj", agent="bot"))
    before = time.time()
    result = cm.execute("n = ops.count()\nprint(n)\n[n, ops.count()]", session="S1")
    after = time.time()
    assert result.ok, result.error
    assert result.tokens > 0
    assert result.tokens == expected_tokens(result)
    records = cm.store.list_audit()
    assert len(records) == 1
    record = records[0]
    assert record.id.startswith("aud_")
    assert len(record.id) == len("aud_") + 20
    assert before <= record.time <= after
    assert record.scope == "proj/bot"
    assert record.session == "S1"
    assert record.kind == "execute"
    assert record.code == "n = ops.count()\nprint(n)\n[n, ops.count()]"
    assert record.status == "ok"
    assert record.duration_ms == pytest.approx(result.duration_ms)
    assert record.duration_ms > 0
    assert record.tokens == result.tokens
    assert calls(record) == [("ops.count", True, 2), ("ops.count", True, 2)]
    for call, made in zip(record.tool_calls, result.tool_calls, strict=True):
        assert set(call) == {"tool", "ok", "duration_ms", "arg_bytes"}
        assert call["duration_ms"] == pytest.approx(made.duration_ms, abs=0.001)
    assert (record.error_type, record.error_message, record.approval_id) == (None, None, None)


def test_pause_and_resume_are_two_records(make: Make) -> None:
    cm = register(make())
    paused = cm.execute(PROGRAM, session="S")
    assert paused.status == "approval_required"
    assert paused.tokens == expected_tokens(paused)
    assert paused.tokens > 0
    other = register(make(store=cm.store))  # another server on the same store resumes it
    done = other.resume(paused.approval_id or "")
    assert done.ok, done.error
    assert done.tokens == expected_tokens(done)
    assert len(done.tool_calls) == 6  # the result lists every call ...
    first, second = cm.store.list_audit()
    assert (first.kind, first.status, first.approval_id) == (
        "execute",
        "approval_required",
        paused.approval_id,
    )
    assert first.session == "S"
    assert first.code == PROGRAM
    assert first.tokens == paused.tokens
    assert calls(first) == [("ops.count", True, 2)] * 3
    assert (second.kind, second.status, second.approval_id) == (
        "resume",
        "ok",
        paused.approval_id,
    )
    assert second.session == "S"
    assert second.code == PROGRAM
    assert second.tokens == done.tokens
    # ... the record only the calls made after the pause
    arg_bytes = len(json.dumps({"text": "report"}))
    assert calls(second) == [("ops.write", True, arg_bytes), *[("ops.count", True, 2)] * 2]
    assert second.time >= first.time
    assert (second.error_type, second.error_message) == (None, None)


def test_a_denied_resume_is_recorded_as_an_error(cm: CodeMode) -> None:
    paused = cm.execute(PROGRAM)
    denied = cm.resume(paused.approval_id or "", approve=False)
    assert denied.error is not None
    record = cm.store.list_audit()[-1]
    assert (record.kind, record.status, record.approval_id) == (
        "resume",
        "error",
        paused.approval_id,
    )
    assert record.error_type == "ToolError"
    assert record.error_message == "denied: a person declined this call to ops.write"
    assert [(c["tool"], c["ok"]) for c in record.tool_calls] == [("ops.write", False)]


def test_errors_are_recorded_and_their_message_capped(cm: CodeMode) -> None:
    cm.execute("ops.fail(why='broken')")
    cm.execute("raise ValueError('x' * 2000)")
    tool_failure, long_error = cm.store.list_audit()
    assert tool_failure.status == "error"
    assert tool_failure.error_type == "ToolError"
    assert tool_failure.error_message is not None
    assert "broken" in tool_failure.error_message
    assert calls(tool_failure) == [("ops.fail", False, len('{"why": "broken"}'))]
    assert long_error.error_type == "ValueError"
    assert long_error.error_message == "x" * 500


def test_a_rejected_program_is_recorded(cm: CodeMode) -> None:
    ops_calls_before = cm.execute("ops.count()").result
    result = cm.execute("ops.count(nope=1)")
    assert result.error is not None
    assert "checked before running" in result.error.message
    assert result.tokens == expected_tokens(result)
    record = cm.store.list_audit()[-1]
    assert (record.kind, record.status, record.error_type) == ("execute", "error", "ToolError")
    assert record.code == "ops.count(nope=1)"
    assert record.tool_calls == ()
    assert record.error_message == result.error.message
    assert cm.execute("ops.count()").result == ops_calls_before + 1  # nothing ran


def test_a_program_refused_while_its_session_waits_is_recorded(cm: CodeMode) -> None:
    paused = cm.execute(PROGRAM, session="S")
    cm.execute("1", session="S")
    record = cm.store.list_audit()[-1]
    assert (record.session, record.status, record.error_type) == ("S", "error", "ApprovalPending")
    assert record.error_message is not None
    assert paused.approval_id in record.error_message


@pytest.mark.anyio
async def test_async_executions_are_recorded() -> None:
    async with register(CodeMode(store="memory://")) as cm:
        paused = await cm.aexecute(PROGRAM)
        await cm.aresume(paused.approval_id or "")
        records = cm.store.list_audit()
    assert [(r.kind, r.status) for r in records] == [
        ("execute", "approval_required"),
        ("resume", "ok"),
    ]
    assert [len(r.tool_calls) for r in records] == [3, 3]


def test_audit_false_records_nothing() -> None:
    with register(CodeMode(store="memory://", audit=False)) as cm:
        result = cm.execute("ops.count()")
        assert result.tokens > 0  # the result still says what it cost
        paused = cm.execute(PROGRAM)
        cm.resume(paused.approval_id or "")
        cm.execute("ops.count(nope=1)")
        cm.execute("raise ValueError('x')")
        assert cm.store.list_audit() == []


def test_tokens_of_small_and_large_results(cm: CodeMode) -> None:
    small = cm.execute("1")
    large = cm.execute("['word'] * 500")
    assert 0 < small.tokens < large.tokens
    assert small.tokens == expected_tokens(small)
    assert large.tokens == expected_tokens(large)


# -- reading it back ------------------------------------------------------------------


def test_list_audit_filters_by_session_scope_time_and_limit(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'filters.db'}")
    try:
        with CodeMode(store=store, project="p", agent="a") as a, CodeMode(store=store) as b:
            a.execute("1", session="S")
            a.execute("2")
            time.sleep(0.05)
            middle = time.time()
            b.execute("3", session="S")
            a.execute("4", session="T")
        assert [r.code for r in store.list_audit()] == ["1", "2", "3", "4"]
        assert [r.code for r in store.list_audit(session="S")] == ["1", "3"]
        assert [r.code for r in store.list_audit(scope="p/a")] == ["1", "2", "4"]
        assert [r.code for r in store.list_audit(scope="default/default")] == ["3"]
        assert [r.code for r in store.list_audit(since=middle)] == ["3", "4"]
        assert [r.code for r in store.list_audit(limit=3)] == ["2", "3", "4"]
        assert [r.code for r in store.list_audit(session="S", limit=1)] == ["3"]
        assert store.list_audit(since=time.time() + 60) == []
    finally:
        store.close()


def _record(**changes: Any) -> AuditRecord:
    base = AuditRecord(
        id="aud_0123456789abcdef0123",
        time=dt.datetime(2026, 11, 21, 9, 30, 5).timestamp(),
        scope="default/default",
        session=None,
        kind="execute",
        code="\n  rows = ops.count()\nmore()",
        status="ok",
        duration_ms=12.345,
        tokens=42,
        tool_calls=(
            {"tool": "ops.count", "ok": True, "duration_ms": 1.0, "arg_bytes": 2},
            {"tool": "ops.count", "ok": True, "duration_ms": 1.0, "arg_bytes": 2},
            {"tool": "ops.write", "ok": False, "duration_ms": 0.0, "arg_bytes": 9},
        ),
    )
    return dataclasses.replace(base, **changes)


def test_format_audit_as_text() -> None:
    assert format_audit([]) == "no executions recorded"
    text = format_audit(
        [
            _record(),
            _record(
                kind="resume",
                session="S",
                status="error",
                error_type="ToolError",
                approval_id="apr_" + "a" * 24,
                tool_calls=(),
            ),
        ]
    )
    assert text.splitlines() == [
        "2026-11-21 09:30:05  execute session=-  ok  12.3 ms  42 tokens  ops.count x2, ops.write",
        "    rows = ops.count()",
        "2026-11-21 09:30:05  resume  session=S  error (ToolError)  12.3 ms  42 tokens  "
        "no tool calls approval apr_" + "a" * 24,
        "    rows = ops.count()",
    ]


def test_format_audit_as_json_lines() -> None:
    assert format_audit([], as_json=True) == ""
    lines = format_audit([_record(), _record(id="aud_2", session="S")], as_json=True)
    first, second = (json.loads(line) for line in lines.splitlines())
    assert first == {
        "id": "aud_0123456789abcdef0123",
        "time": _record().time,
        "scope": "default/default",
        "session": None,
        "kind": "execute",
        "status": "ok",
        "duration_ms": 12.345,
        "tokens": 42,
        "tool_calls": [dict(c) for c in _record().tool_calls],
        "error_type": None,
        "error_message": None,
        "approval_id": None,
        "code": "\n  rows = ops.count()\nmore()",
    }
    assert (second["id"], second["session"]) == ("aud_2", "S")


@pytest.mark.parametrize(
    ("text", "seconds_back"),
    [("30m", 1800), ("2h", 7200), ("7d", 7 * 86400), ("1w", 7 * 86400), ("1.5h", 5400)],
)
def test_parse_since_durations(text: str, seconds_back: float) -> None:
    now = 1_800_000_000.0
    assert parse_since(text, now) == now - seconds_back
    assert parse_since(f" {text} ", now) == now - seconds_back
    assert parse_since("45s", now) == now - 45


def test_parse_since_dates() -> None:
    assert parse_since("2026-11-21", 0) == dt.datetime(2026, 11, 21).timestamp()
    assert parse_since("2026-11-21T09:30", 0) == dt.datetime(2026, 11, 21, 9, 30).timestamp()
    assert parse_since("2026-11-21T09:30:00+00:00", 0) == (
        dt.datetime(2026, 11, 21, 9, 30, tzinfo=dt.UTC).timestamp()
    )


@pytest.mark.parametrize("text", ["yesterday", "30", "m", "-5m", "2026-13-01", ""])
def test_parse_since_refuses_anything_else(text: str) -> None:
    with pytest.raises(ConfigError, match="--since takes a duration"):
        parse_since(text, time.time())


# -- codemode audit -------------------------------------------------------------------


def test_cli_audit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "codemode.toml"
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    config.write_text(f"[store]\nurl = {json.dumps(url)}\n")
    path = str(config)
    assert main(["audit", "--config", path]) == 0
    assert capsys.readouterr().out == "no executions recorded\n"
    assert main(["audit", "--config", path, "--json"]) == 0
    assert capsys.readouterr().out == ""

    assert main(["exec", "--config", path, "--session", "S", "x = 1"]) == 0
    assert main(["exec", "--config", path, "print('hi')\n6 * 7"]) == 0
    assert main(["exec", "--config", path, "--session", "S", "x / 0"]) == 1
    capsys.readouterr()

    assert main(["audit", "--config", path, "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["code"], r["session"], r["status"]) for r in records] == [
        ("x = 1", "S", "ok"),
        ("print('hi')\n6 * 7", None, "ok"),
        ("x / 0", "S", "error"),
    ]
    assert records[2]["error_type"] == "ZeroDivisionError"
    assert all(r["kind"] == "execute" and r["tokens"] > 0 for r in records)

    assert main(["audit", "--config", path, "--json", "--session", "S", "--limit", "1"]) == 0
    assert [json.loads(line)["code"] for line in capsys.readouterr().out.splitlines()] == ["x / 0"]
    assert main(["audit", "--config", path, "--json", "--since", "30m"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3
    tomorrow = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    assert main(["audit", "--config", path, "--since", tomorrow]) == 0
    assert capsys.readouterr().out == "no executions recorded\n"

    assert main(["audit", "--config", path, "--session", "S"]) == 0
    text = capsys.readouterr().out.splitlines()
    assert len(text) == 4
    assert "execute session=S  ok" in text[0]
    assert text[1] == "    x = 1"
    assert "error (ZeroDivisionError)" in text[2]

    assert main(["audit", "--config", path, "--since", "soon"]) == 2
    assert "--since takes a duration" in capsys.readouterr().err
    assert main(["audit", "--config", path, "--limit", "0"]) == 2
    assert "--limit must be at least 1" in capsys.readouterr().err


def test_every_execution_of_a_run_is_in_the_audit(tmp_path: Path) -> None:
    """A run mixing everything an execution can be — ok, failed, refused before running,
    refused while its session waits, paused, approved, denied, async, from eight threads
    at once and from another process — has exactly one record per execution, and
    `codemode audit --json` shows every one of them."""
    import asyncio
    import os
    import subprocess
    import sys
    import threading

    db = tmp_path / "audit.db"
    (tmp_path / "tools.py").write_text(
        "def echo(text: str) -> str:\n"
        '    """Echo."""\n'
        "    return text\n\n\n"
        "def write(text: str) -> str:\n"
        '    """Write."""\n'
        "    return 'wrote ' + text\n"
    )
    config = tmp_path / "codemode.toml"
    config.write_text(
        f'[functions.ops]\npath = "tools.py"\n\n[policy]\n"ops.write" = "approve"\n\n'
        f'[store]\nurl = "sqlite:///{db}"\n'
    )
    from codemode.config import load_config

    expected: list[str] = []  # one marker per execution, in no particular order
    lock = threading.Lock()

    def mark(tag: str) -> str:
        with lock:
            expected.append(tag)
        return f"# {tag}\n"

    with load_config(config).build() as cm:

        def worker(n: int) -> None:
            for i in range(20):
                tag = f"thread-{n}-{i}"
                kind = i % 4
                if kind == 0:
                    cm.execute(mark(tag) + f"ops.echo(text='{tag}')")
                elif kind == 1:
                    cm.execute(mark(tag) + "1/0")
                elif kind == 2:
                    cm.execute(mark(tag) + "ops.echo(txt='wrong keyword')")  # refused
                else:
                    cm.execute(mark(tag) + f"v = {i}", session=f"t{n}")

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

        async def asynchronous() -> None:
            await asyncio.gather(*(cm.aexecute(mark(f"async-{i}") + "2 + 2") for i in range(10)))

        asyncio.run(asynchronous())

        approvals = []
        for i in range(3):
            paused = cm.execute(mark(f"pause-{i}") + "ops.write(text='x')", session=f"p{i}")
            assert paused.status == "approval_required"
            approvals.append(paused.approval_id or "")
        waiting = cm.execute(mark("waiting") + "1", session="p0")
        assert waiting.error is not None
        assert waiting.error.type == "ApprovalPending"
        for i, approval_id in enumerate(approvals):
            cm.resume(approval_id, approve=i != 1)
            expected.append(f"pause-{i}")  # the resume is a record of its own

    cli = [sys.executable, "-m", "codemode.cli"]
    other = subprocess.run(
        [*cli, "exec", "--config", str(config), mark("other-process") + "ops.echo(text='afar')"],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
    )
    assert other.returncode == 0, other.stderr

    audit = subprocess.run(
        [*cli, "audit", "--json", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
    )
    assert audit.returncode == 0, audit.stderr
    records = [json.loads(line) for line in audit.stdout.splitlines()]
    tags = [r["code"].split("\n", 1)[0].removeprefix("# ") for r in records]
    assert sorted(tags) == sorted(expected)
    assert len(records) == 8 * 20 + 10 + 3 + 1 + 3 + 1
    statuses = {t: r["status"] for t, r in zip(tags, records, strict=True) if "thread" in t}
    assert sorted(set(statuses.values())) == ["error", "ok"]
    kinds = [r["kind"] for r in records if r["code"].startswith("# pause-")]
    assert sorted(kinds) == ["execute"] * 3 + ["resume"] * 3
    assert len({r["id"] for r in records}) == len(records)


def test_special_token_text_is_counted_as_ordinary_text() -> None:
    """A result may contain text that looks like a tokenizer's special token; counting
    it must not fail the execution."""
    with CodeMode(store="memory://") as cm:
        result = cm.execute('print("<|endoftext|> and <|fim_prefix|>")')
    assert result.ok, result.error
    assert result.tokens > 0
    assert count_tokens("<|endoftext|>") > 1  # as ordinary text, not one special token
