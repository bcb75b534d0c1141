"""Programs that pause at a call needing approval, and continue once it is decided.

The acceptance test: a program calls a counting tool 3 times, then a tool needing
approval; it pauses; the server is restarted; approving resumes it, and the counter shows
exactly 3 calls before and the rest after; denying raises inside the program, which can
handle it. It runs across real processes (`test_pause_survives_kill_9_*`) and in-process
on every store (`test_pause_restart_*`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from codemode import CodeMode, ExecutionResult, Limits
from codemode.cli import main
from codemode.errors import ApprovalError
from codemode.store import Store, open_store

APPROVAL_ID = re.compile(r"^apr_[0-9a-f]{24}$")
DENIED = "denied: a person declined this call to ops.write"

PROGRAM = """\
seen = [ops.count() for _ in range(3)]
print("counted", seen)
written = ops.write(text="report")
print("then", written)
after = [ops.count() for _ in range(2)]
{"seen": seen, "written": written, "after": after}
"""

HANDLING = """\
seen = [ops.count() for _ in range(3)]
print("counted", seen)
try:
    written = ops.write(text="report")
except ToolError as exc:
    written = "refused: " + str(exc)
after = [ops.count() for _ in range(2)]
{"seen": seen, "written": written, "after": after}
"""


class Ops:
    """A counting tool and a writing tool, shared by every CodeMode of a test (as an
    external system is shared by the servers that call it)."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def count(self) -> int:
        """Count one more call; returns how many so far."""
        self.events.append("count")
        return self.events.count("count")

    def write(self, text: str) -> str:
        """Write text somewhere that matters."""
        self.events.append(f"write {text}")
        return f"wrote {text}"

    async def fetch_a(self) -> str:
        """Fetch A (slowly)."""
        self.events.append("a")
        await asyncio.sleep(0.05)
        return "A"

    async def fetch_b(self) -> str:
        """Fetch B (more slowly)."""
        self.events.append("b")
        await asyncio.sleep(0.1)
        return "B"

    async def boom(self) -> str:
        """Always fails."""
        self.events.append("boom")
        raise ValueError("kaput")

    def put(self, i: int) -> int:
        """Put one item."""
        self.events.append(f"put {i}")
        return i


def register(cm: CodeMode, ops: Ops, write_policy: str = "approve") -> CodeMode:
    cm.add_function(ops.count, namespace="ops")
    cm.add_function(ops.write, namespace="ops", policy=write_policy)
    cm.add_functions("ops", [ops.fetch_a, ops.fetch_b, ops.boom])
    cm.add_function(ops.put, namespace="ops", policy="approve_run")
    return cm


def paused(result: ExecutionResult) -> str:
    """The approval id of a paused result, after checking the pause's shape."""
    assert result.status == "approval_required", result.error
    assert result.ok is False
    assert result.error is None
    assert result.result is None
    assert result.approval_id is not None
    assert APPROVAL_ID.match(result.approval_id), result.approval_id
    return result.approval_id


def ok(result: ExecutionResult) -> Any:
    assert result.ok, result.error
    assert result.status == "ok"
    assert result.approval_id is None
    assert result.pending is None
    return result.result


# -- stores ---------------------------------------------------------------------------


@pytest.fixture
def store_url(any_store_url: str) -> str:
    """Every kind of store (overrides conftest's SQLite-only one for this module)."""
    return any_store_url


Server = Callable[..., CodeMode]


@pytest.fixture
def server(store_url: str, make: Callable[..., CodeMode]) -> Iterator[Server]:
    """Start a 'server': a CodeMode on the test's store with the Ops tools. Servers made
    one after the other are restarts; on SQLite and PostgreSQL each opens the store
    afresh from its URL. `memory://` opens a new empty store each time, so its servers
    share one store object instead."""
    shared: Store | None = open_store(store_url) if store_url == "memory://" else None

    def start(ops: Ops, **kwargs: Any) -> CodeMode:
        if shared is not None:
            kwargs.setdefault("store", shared)
        return register(make(**kwargs), ops)

    yield start
    if shared is not None:
        shared.close()


@pytest.fixture
def cm() -> Iterator[tuple[CodeMode, Ops]]:
    """One CodeMode on a memory store, for what does not depend on the store."""
    ops = Ops()
    with register(CodeMode(store="memory://"), ops) as instance:
        yield instance, ops


# -- the acceptance test, in-process on every store -----------------------------------


def test_pause_restart_approve_runs_each_call_once(server: Server) -> None:
    ops = Ops()
    first = server(ops)
    result = first.execute(PROGRAM)
    approval_id = paused(result)
    assert result.pending == {"tool": "ops.write", "args": {"text": "report"}}
    assert result.stdout == "counted [1, 2, 3]\n"
    assert [c.tool for c in result.tool_calls] == ["ops.count"] * 3
    assert all(c.ok for c in result.tool_calls)
    assert ops.events == ["count"] * 3
    waiting = first.approvals()
    assert [(a.id, a.tool, a.args, a.session, a.status) for a in waiting] == [
        (approval_id, "ops.write", {"text": "report"}, None, "pending")
    ]
    first.close()  # the server goes away

    second = server(ops)
    assert [a.id for a in second.approvals()] == [approval_id]
    assert ops.events == ["count"] * 3  # restarting re-ran nothing
    resumed = second.resume(approval_id, approve=True)
    assert ok(resumed) == {"seen": [1, 2, 3], "written": "wrote report", "after": [4, 5]}
    assert resumed.stdout == "counted [1, 2, 3]\nthen wrote report\n"
    assert [c.tool for c in resumed.tool_calls] == [
        *["ops.count"] * 3,
        "ops.write",
        *["ops.count"] * 2,
    ]
    assert resumed.tool_calls[:3] == result.tool_calls
    assert ops.events == ["count", "count", "count", "write report", "count", "count"]
    assert second.approvals() == []
    with pytest.raises(ApprovalError, match="already decided"):
        second.resume(approval_id, approve=True)
    assert ops.events.count("count") == 5


def test_pause_restart_deny_is_handled_by_the_program(server: Server) -> None:
    ops = Ops()
    first = server(ops)
    approval_id = paused(first.execute(HANDLING))
    assert ops.events == ["count"] * 3
    first.close()
    second = server(ops)
    resumed = second.resume(approval_id, approve=False)
    assert ok(resumed) == {
        "seen": [1, 2, 3],
        "written": f"refused: {DENIED}",
        "after": [4, 5],
    }
    assert ops.events == ["count"] * 5  # write never ran
    assert [(c.tool, c.ok) for c in resumed.tool_calls] == [
        *[("ops.count", True)] * 3,
        ("ops.write", False),
        *[("ops.count", True)] * 2,
    ]
    with pytest.raises(ApprovalError, match=r"already decided \(denied\)"):
        second.resume(approval_id, approve=True)


def test_pause_in_a_session_then_continue_on_another_server(server: Server) -> None:
    ops = Ops()
    first = server(ops)
    code = "def twice(v):\n    return 2 * v\nx = 1\ny = ops.write(text='s')\nz = twice(x) + 1"
    approval_id = paused(first.execute(code, session="S"))
    # the session waits for the decision, on every server
    second = server(ops)
    for instance in (first, second):
        blocked = instance.execute("x", session="S")
        assert blocked.ok is False
        assert blocked.error is not None
        assert blocked.error.type == "ApprovalPending"
        assert approval_id in blocked.error.message
        assert "ops.write" in blocked.error.message
    assert ok(second.execute("'free'", session="T")) == "free"
    assert [a.id for a in second.approvals(session="S")] == [approval_id]
    assert second.approvals(session="T") == []
    resumed = second.resume(approval_id)
    assert ok(resumed) is None
    assert resumed.session == "S"
    assert ops.events == ["write s"]
    # both servers continue the session with what the paused program set
    assert ok(second.execute("[x, y, z, twice(4)]", session="S")) == [1, "wrote s", 3, 8]
    assert ok(first.execute("x += 10\n[x, y, z]", session="S")) == [11, "wrote s", 3]
    assert ok(second.execute("x", session="S")) == 11


def test_only_one_decision_wins(server: Server) -> None:
    ops = Ops()
    servers = [server(ops), server(ops)]
    approval_id = paused(servers[0].execute("ops.write(text='once')"))
    outcomes: list[object] = []
    barrier = threading.Barrier(2)

    def decide(instance: CodeMode, approve: bool) -> None:
        barrier.wait()
        try:
            outcomes.append(instance.resume(approval_id, approve=approve))
        except ApprovalError as exc:
            outcomes.append(exc)

    threads = [
        threading.Thread(target=decide, args=(servers[0], True)),
        threading.Thread(target=decide, args=(servers[1], False)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    errors = [o for o in outcomes if isinstance(o, ApprovalError)]
    results = [o for o in outcomes if isinstance(o, ExecutionResult)]
    assert len(errors) == 1, outcomes
    assert len(results) == 1, outcomes
    assert "already decided" in str(errors[0])
    assert ops.events in (["write once"], [])
    assert (ops.events == ["write once"]) == results[0].ok


# -- the acceptance test across processes (kill -9 between pause and decision) --------

CHILD = '''
import json, sys, time
from pathlib import Path
from codemode import CodeMode

url, folder, mode = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
counter = folder / "counter.txt"
written = folder / "written.txt"


def count() -> int:
    """Count one more call (in a file every process shares); returns the count."""
    n = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(n))
    return n


def write(text: str) -> str:
    """Write text somewhere that matters."""
    written.write_text(text)
    return "wrote " + text


cm = CodeMode(store=url)
cm.add_function(count, namespace="ops")
cm.add_function(write, namespace="ops", policy="approve")
if mode == "execute":
    result = cm.execute(sys.stdin.read())
else:
    result = cm.resume(sys.argv[4], approve=mode == "approve")
print(json.dumps(result.to_dict()), flush=True)
if mode == "execute":
    time.sleep(600)  # a server that stays up until it is killed
cm.close()
'''

CHILD_DEADLINE = 60.0


def _kill_group(process: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def _run_and_kill(script: Path, code: str, *args: str) -> dict[str, Any]:
    """Run `script`, read the one line it prints, then SIGKILL it (and its workers)."""
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            [sys.executable, str(script), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            start_new_session=True,
        )
        timer = threading.Timer(CHILD_DEADLINE, lambda: _kill_group(process))
        timer.start()
        try:
            assert process.stdin is not None
            assert process.stdout is not None
            process.stdin.write(code)
            process.stdin.close()
            line = process.stdout.readline()
            os.kill(process.pid, signal.SIGKILL)
            assert process.wait(timeout=30) == -signal.SIGKILL
        finally:
            timer.cancel()
            _kill_group(process)
            assert process.stdout is not None
            process.stdout.close()
            stderr.seek(0)
            errors = stderr.read().decode(errors="replace")[-4000:]
    assert line, f"the child printed nothing; stderr: {errors}"
    data: dict[str, Any] = json.loads(line)
    return data


def _run(script: Path, *args: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=CHILD_DEADLINE,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


@pytest.mark.parametrize("approve", [True, False], ids=["approve", "deny"])
def test_pause_survives_kill_9_and_resumes_in_a_fresh_process(
    tmp_path: Path, approve: bool
) -> None:
    script = tmp_path / "server.py"
    script.write_text(CHILD)
    url = f"sqlite:///{tmp_path / 'state.db'}"
    counter, written = tmp_path / "counter.txt", tmp_path / "written.txt"

    first = _run_and_kill(script, HANDLING, url, str(tmp_path), "execute")
    assert first["status"] == "approval_required"
    assert first["ok"] is False
    assert first["error"] is None
    approval_id = first["approval_id"]
    assert APPROVAL_ID.match(approval_id)
    assert first["pending"] == {"tool": "ops.write", "args": {"text": "report"}}
    assert first["stdout"] == "counted [1, 2, 3]\n"
    assert [c["tool"] for c in first["tool_calls"]] == ["ops.count"] * 3
    assert counter.read_text() == "3"  # exactly 3 calls before the pause
    assert not written.exists()

    second = _run(script, url, str(tmp_path), "approve" if approve else "deny", approval_id)
    assert second["status"] == "ok", second["error"]
    assert second["ok"] is True
    assert second["stdout"] == "counted [1, 2, 3]\n"
    assert counter.read_text() == "5"  # the 3 were not made again; the 2 after were
    tools = [(c["tool"], c["ok"]) for c in second["tool_calls"]]
    assert tools == [*[("ops.count", True)] * 3, ("ops.write", approve), *[("ops.count", True)] * 2]
    if approve:
        assert second["result"] == {
            "seen": [1, 2, 3],
            "written": "wrote report",
            "after": [4, 5],
        }
        assert written.read_text() == "report"
    else:
        assert second["result"] == {
            "seen": [1, 2, 3],
            "written": f"refused: {DENIED}",
            "after": [4, 5],
        }
        assert not written.exists()

    # a third process cannot decide it again
    proc = subprocess.run(
        [sys.executable, str(script), url, str(tmp_path), "approve", approval_id],
        capture_output=True,
        text=True,
        timeout=CHILD_DEADLINE,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode != 0
    assert "ApprovalError" in proc.stderr
    assert "already decided" in proc.stderr
    assert counter.read_text() == "5"


# -- deciding -------------------------------------------------------------------------


def test_an_uncaught_denial_is_the_programs_tool_error(cm: tuple[CodeMode, Ops]) -> None:
    instance, ops = cm
    approval_id = paused(instance.execute(PROGRAM))
    result = instance.resume(approval_id, approve=False)
    assert result.ok is False
    assert result.status == "error"
    assert result.approval_id is None
    assert result.error is not None
    assert result.error.type == "ToolError"
    assert result.error.message == DENIED
    assert result.error.tool == "ops.write"
    assert result.error.line == 3
    assert result.stdout == "counted [1, 2, 3]\n"
    assert [(c.tool, c.ok) for c in result.tool_calls] == [
        *[("ops.count", True)] * 3,
        ("ops.write", False),
    ]
    assert ops.events == ["count"] * 3


@pytest.mark.parametrize(
    ("approval_id", "fragment"),
    [
        ("nope", "is not an approval id"),
        ("apr_123", "is not an approval id"),
        ("apr_" + "A" * 24, "is not an approval id"),
        ("apr_" + "0" * 24 + "0", "is not an approval id"),
        (None, "is not an approval id"),
        ("apr_" + "0" * 24, "no approval apr_000000000000000000000000"),
    ],
)
def test_unknown_or_malformed_ids_are_approval_errors(
    cm: tuple[CodeMode, Ops], approval_id: Any, fragment: str
) -> None:
    instance, ops = cm
    with pytest.raises(ApprovalError, match=re.escape(fragment)):
        instance.resume(approval_id)
    with pytest.raises(ApprovalError, match=re.escape(fragment)):
        instance.resume(approval_id, approve=False)
    assert ops.events == []


def test_each_pause_has_a_new_id(cm: tuple[CodeMode, Ops]) -> None:
    instance, ops = cm
    code = "a = ops.write(text='1')\nprint(a)\nb = ops.write(text='2')\n[a, b, ops.count()]"
    result = instance.execute(code)
    first = paused(result)
    assert result.pending == {"tool": "ops.write", "args": {"text": "1"}}
    again = instance.resume(first)
    second = paused(again)
    assert second != first
    assert again.pending == {"tool": "ops.write", "args": {"text": "2"}}
    assert again.stdout == "wrote 1\n"
    assert [(c.tool, c.ok) for c in again.tool_calls] == [("ops.write", True)]
    assert [a.id for a in instance.approvals()] == [second]
    with pytest.raises(ApprovalError, match="already decided"):
        instance.resume(first)
    done = instance.resume(second)
    assert ok(done) == ["wrote 1", "wrote 2", 1]
    assert [c.tool for c in done.tool_calls] == ["ops.write", "ops.write", "ops.count"]
    assert ops.events == ["write 1", "write 2", "count"]


def test_approve_pauses_at_every_call(cm: tuple[CodeMode, Ops]) -> None:
    instance, ops = cm
    result = instance.execute("[ops.write(text=str(i)) for i in range(3)]")
    ids = []
    while result.status == "approval_required":
        ids.append(paused(result))
        result = instance.resume(ids[-1])
    assert ok(result) == ["wrote 0", "wrote 1", "wrote 2"]
    assert len(set(ids)) == 3
    assert ops.events == ["write 0", "write 1", "write 2"]


def test_approve_run_is_asked_once_per_run(cm: tuple[CodeMode, Ops]) -> None:
    instance, ops = cm
    code = "total = 0\nfor i in range(50):\n    total += ops.put(i=i)\ntotal"
    result = instance.execute(code)
    approval_id = paused(result)
    assert result.pending == {"tool": "ops.put", "args": {"i": 0}}
    assert ops.events == []
    done = instance.resume(approval_id)
    assert ok(done) == sum(range(50))
    assert len(done.tool_calls) == 50
    assert ops.events == [f"put {i}" for i in range(50)]
    # the next run asks again
    again = instance.execute("ops.put(i=7)")
    assert again.pending == {"tool": "ops.put", "args": {"i": 7}}
    assert len(ops.events) == 50


def test_approve_run_survives_a_later_pause_in_the_same_run(cm: tuple[CodeMode, Ops]) -> None:
    instance, ops = cm
    code = "a = ops.put(i=1)\nb = ops.write(text='w')\nc = ops.put(i=2)\n[a, b, c]"
    first = instance.execute(code)
    assert first.pending == {"tool": "ops.put", "args": {"i": 1}}
    second = instance.resume(paused(first))
    assert second.pending == {"tool": "ops.write", "args": {"text": "w"}}
    # ops.put was approved for the run: its second call does not ask again
    assert ok(instance.resume(paused(second))) == [1, "wrote w", 2]
    assert ops.events == ["put 1", "write w", "put 2"]


def test_a_tool_error_caught_before_the_pause_can_be_raised_after_it(
    cm: tuple[CodeMode, Ops],
) -> None:
    instance, _ = cm
    code = (
        "try:\n    ops.boom()\nexcept ToolError as exc:\n    kept = exc\n"
        "ops.write(text='w')\nraise kept"
    )
    result = instance.resume(paused(instance.execute(code)))
    assert result.error is not None
    assert result.error.type == "ToolError"
    assert result.error.message == "ops.boom failed: ValueError: kaput"
    assert result.error.tool == "ops.boom"
    assert result.error.line == 6


def test_a_program_continues_in_the_scope_it_paused_in() -> None:
    store = open_store("memory://")
    ops = Ops()
    code = (
        "open('/workspace/before.txt', 'w').write('1')\n"
        "ops.write(text='x')\n"
        "open('/workspace/after.txt', 'w').write('2')"
    )
    try:
        with register(CodeMode(store=store, project="A"), ops) as a:
            approval_id = paused(a.execute(code))
            assert [r.scope for r in a.approvals()] == ["A/default"]
        # Another project cannot decide it, and trying leaves it pending.
        with register(CodeMode(store=store, project="B"), ops) as b:
            with pytest.raises(ApprovalError, match="belongs to project/agent 'A/default'"):
                b.resume(approval_id)
            assert [r.id for r in b.approvals()] == [approval_id]
        assert [f.path for f in store.list_files("B/default")] == []
        with register(CodeMode(store=store, project="A"), ops) as a:
            assert a.resume(approval_id).ok
        assert sorted(f.path for f in store.list_files("A/default")) == [
            "after.txt",
            "before.txt",
        ]
    finally:
        store.close()


def test_a_denied_approve_run_asks_again_at_the_next_call(cm: tuple[CodeMode, Ops]) -> None:
    instance, ops = cm
    code = (
        "out = []\nfor i in range(3):\n    try:\n        out.append(ops.put(i=i))\n"
        "    except ToolError as exc:\n        out.append(str(exc))\nout"
    )
    first = paused(instance.execute(code))
    again = instance.resume(first, approve=False)
    second = paused(again)
    assert again.pending == {"tool": "ops.put", "args": {"i": 1}}
    assert ok(instance.resume(second)) == [
        "denied: a person declined this call to ops.put",
        1,
        2,
    ]
    assert ops.events == ["put 1", "put 2"]


def test_concurrent_results_before_the_pause_are_delivered_after_it(
    cm: tuple[CodeMode, Ops],
) -> None:
    instance, ops = cm
    code = (
        "import asyncio\n"
        "res = await asyncio.gather(ops.fetch_a(), ops.fetch_b(), ops.write(text='g'))\n"
        "res"
    )
    result = instance.execute(code)
    approval_id = paused(result)
    assert result.pending == {"tool": "ops.write", "args": {"text": "g"}}
    assert sorted(c.tool for c in result.tool_calls) == ["ops.fetch_a", "ops.fetch_b"]
    assert sorted(ops.events) == ["a", "b"]
    done = instance.resume(approval_id)
    assert ok(done) == ["A", "B", "wrote g"]
    assert sorted(ops.events) == ["a", "b", "write g"]  # a and b were not called again
    assert sorted(c.tool for c in done.tool_calls) == ["ops.fetch_a", "ops.fetch_b", "ops.write"]


def test_a_concurrent_failure_before_the_pause_is_still_a_tool_error(
    cm: tuple[CodeMode, Ops],
) -> None:
    instance, ops = cm
    code = (
        "import asyncio\ntry:\n"
        "    res = await asyncio.gather(ops.fetch_a(), ops.boom(), ops.write(text='g'))\n"
        "except ToolError as exc:\n    res = 'caught: ' + str(exc)\nres"
    )
    approval_id = paused(instance.execute(code))
    assert sorted(ops.events) == ["a", "boom"]
    done = instance.resume(approval_id)
    assert ok(done) == "caught: ops.boom failed: ValueError: kaput"
    assert sorted(ops.events) == ["a", "boom", "write g"]


def test_tool_call_limit_counts_calls_across_the_pause() -> None:
    ops = Ops()
    code = "[ops.count() for _ in range(3)]\nops.write(text='x')\nops.count()"
    with register(CodeMode(store="memory://", limits=Limits(tool_calls=5)), ops) as cm:
        assert ok(cm.resume(paused(cm.execute(code)))) == 4
    ops.events.clear()
    with register(CodeMode(store="memory://", limits=Limits(tool_calls=4)), ops) as cm:
        result = cm.resume(paused(cm.execute(code)))
        assert result.error is not None
        assert result.error.type == "LimitExceeded"
        assert result.error.limit == "tool_calls"
        assert "more than 4 tool calls" in result.error.message
        assert ops.events == ["count", "count", "count", "write x"]


def test_old_approvals_expire(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ttl.db'}"
    ops = Ops()
    with register(CodeMode(store=url, approval_ttl=0.3), ops) as first:
        stale = paused(first.execute("ops.write(text='old')"))
    time.sleep(0.5)
    # a fresh server expires old approvals when it next saves a pause
    with register(CodeMode(store=url, approval_ttl=0.3), ops) as second:
        assert [a.id for a in second.approvals()] == [stale]
        fresh = paused(second.execute("ops.write(text='new')"))
        assert [a.id for a in second.approvals()] == [fresh]
        with pytest.raises(ApprovalError, match=f"no approval {stale}"):
            second.resume(stale)
        assert ok(second.resume(fresh)) == "wrote new"
    assert ops.events == ["write new"]


def test_approvals_lists_pending_ones_oldest_first(cm: tuple[CodeMode, Ops]) -> None:
    instance, _ = cm
    a = paused(instance.execute("ops.write(text='a')", session="one"))
    b = paused(instance.execute("ops.write(text='b')"))
    c = paused(instance.execute("ops.put(i=3)", session="two"))
    listed = instance.approvals()
    assert [r.id for r in listed] == [a, b, c]
    assert [(r.tool, r.args, r.session) for r in listed] == [
        ("ops.write", {"text": "a"}, "one"),
        ("ops.write", {"text": "b"}, None),
        ("ops.put", {"i": 3}, "two"),
    ]
    assert {r.scope for r in listed} == {"default/default"}
    assert listed[0].created <= listed[1].created <= listed[2].created
    assert [r.id for r in instance.approvals(session="two")] == [c]
    instance.resume(b, approve=False)
    assert [r.id for r in instance.approvals()] == [a, c]


@pytest.mark.anyio
async def test_aresume_continues_and_denies() -> None:
    ops = Ops()
    async with register(CodeMode(store="memory://"), ops) as cm:
        result = await cm.aexecute(PROGRAM)
        approval_id = paused(result)
        assert ops.events == ["count"] * 3
        done = await cm.aresume(approval_id, approve=True)
        assert ok(done) == {"seen": [1, 2, 3], "written": "wrote report", "after": [4, 5]}
        assert len(done.tool_calls) == 6
        with pytest.raises(ApprovalError, match="already decided"):
            await cm.aresume(approval_id)
        denied = await cm.aresume(paused(await cm.aexecute(HANDLING)), approve=False)
        assert ok(denied)["written"] == f"refused: {DENIED}"
        with pytest.raises(ApprovalError, match="is not an approval id"):
            await cm.aresume("apr_bad")
    assert ops.events.count("write report") == 1
    assert ops.events.count("count") == 10


@pytest.mark.anyio
async def test_aresume_of_concurrent_async_tools() -> None:
    ops = Ops()
    async with register(CodeMode(store="memory://"), ops) as cm:
        code = (
            "import asyncio\n"
            "await asyncio.gather(ops.fetch_a(), ops.fetch_b(), ops.write(text='g'))"
        )
        approval_id = paused(await cm.aexecute(code))
        done = await cm.aresume(approval_id)
        assert ok(done) == ["A", "B", "wrote g"]
    assert sorted(ops.events) == ["a", "b", "write g"]


def test_a_denial_in_a_session_keeps_what_was_set_before_it(cm: tuple[CodeMode, Ops]) -> None:
    instance, _ = cm
    approval_id = paused(instance.execute("x = 1\ny = ops.write(text='s')\nz = 3", session="S"))
    result = instance.resume(approval_id, approve=False)
    assert result.error is not None
    assert result.error.type == "ToolError"
    assert result.session == "S"
    assert ok(instance.execute("x", session="S")) == 1
    for name in ("y", "z"):
        missing = instance.execute(name, session="S")
        assert missing.error is not None
        assert missing.error.type == "NameError", name


# -- the command line -----------------------------------------------------------------

TOOLS = '''
"""Counting and writing tools."""
from pathlib import Path

COUNTER = Path(__file__).with_name("counter.txt")


def count() -> int:
    """Count one more call (in a file); returns how many so far."""
    n = int(COUNTER.read_text()) + 1 if COUNTER.exists() else 1
    COUNTER.write_text(str(n))
    return n


def write(text: str) -> str:
    """Write text somewhere that matters."""
    Path(__file__).with_name("written.txt").write_text(text)
    return "wrote " + text
'''

CLI_PROGRAM = """\
seen = [ops.count() for _ in range(3)]
print("counted", seen)
written = ops.write(text="report")
after = [ops.count() for _ in range(2)]
[written, after]
"""

POLICY_TABLE = '[policy]\n"ops.*" = "allow"\n"ops.write" = "approve"\n'


def _cli_config(folder: Path, policy: str = POLICY_TABLE, functions: str = "") -> str:
    """A codemode.toml with the file's tools as `ops` and a SQLite store in `folder`."""
    (folder / "tools.py").write_text(TOOLS)
    config = folder / "codemode.toml"
    url = f"sqlite:///{folder / 'cli.db'}"
    config.write_text(
        f'[functions.ops]\npath = "tools.py"\n{functions}{policy}[store]\nurl = {json.dumps(url)}\n'
    )
    return str(config)


def _printed_id(err: str) -> str:
    match = re.search(r"codemode approve (apr_[0-9a-f]{24})", err)
    assert match, err
    assert f"codemode deny {match.group(1)}" in err
    return match.group(1)


def test_cli_exec_pauses_and_approve_continues(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _cli_config(tmp_path)
    assert main(["exec", "--config", config, CLI_PROGRAM]) == 3
    out = capsys.readouterr()
    assert out.out == "counted [1, 2, 3]\n"
    assert 'paused: ops.write({"text": "report"}) needs approval.' in out.err
    assert "[3 tool calls" in out.err
    approval_id = _printed_id(out.err)
    assert (tmp_path / "counter.txt").read_text() == "3"

    assert main(["approvals", "--config", config, "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    listed = json.loads(lines[0])
    assert listed["id"] == approval_id
    assert (listed["tool"], listed["args"], listed["session"]) == (
        "ops.write",
        {"text": "report"},
        None,
    )
    assert main(["approvals", "--config", config]) == 0
    text = capsys.readouterr().out
    assert text.startswith(approval_id)
    assert 'ops.write({"text": "report"})' in text

    assert main(["approve", "--config", config, approval_id]) == 0
    out = capsys.readouterr()
    assert out.out == 'counted [1, 2, 3]\n[\n  "wrote report",\n  [\n    4,\n    5\n  ]\n]\n'
    assert "[6 tool calls" in out.err
    assert (tmp_path / "counter.txt").read_text() == "5"
    assert (tmp_path / "written.txt").read_text() == "report"

    assert main(["approve", "--config", config, approval_id]) == 2
    assert "already decided (approved)" in capsys.readouterr().err
    assert main(["deny", "--config", config, "apr_" + "0" * 24]) == 2
    assert "no approval apr_000000000000000000000000" in capsys.readouterr().err
    assert main(["approve", "--config", config, "not-an-id"]) == 2
    assert "is not an approval id" in capsys.readouterr().err
    assert main(["approvals", "--config", config]) == 0
    assert capsys.readouterr().out == "no programs are waiting for approval\n"
    assert (tmp_path / "counter.txt").read_text() == "5"


def test_cli_deny_in_a_session(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the approval comes from the source table's own policy this time
    config = _cli_config(tmp_path, policy="", functions='policy = { write = "approve" }\n')
    assert main(["exec", "--config", config, "--session", "S", CLI_PROGRAM]) == 3
    approval_id = _printed_id(capsys.readouterr().err)
    assert main(["exec", "--config", config, "--session", "S", "seen"]) == 1
    assert "ApprovalPending" in capsys.readouterr().err
    assert main(["approvals", "--config", config, "--json", "--session", "other"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["approvals", "--config", config, "--json", "--session", "S"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert (listed["id"], listed["session"]) == (approval_id, "S")

    assert main(["deny", "--config", config, "--json", approval_id]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "error"
    assert data["session"] == "S"
    assert data["error"]["type"] == "ToolError"
    assert data["error"]["message"] == DENIED
    assert not (tmp_path / "written.txt").exists()
    assert (tmp_path / "counter.txt").read_text() == "3"
    # the session goes on with what was set before the denied call
    assert main(["exec", "--config", config, "--session", "S", "seen"]) == 0
    assert capsys.readouterr().out == "[\n  1,\n  2,\n  3\n]\n"


def test_cli_deny_caught_by_the_program_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _cli_config(tmp_path)
    code = "try:\n    ops.write(text='x')\nexcept ToolError as exc:\n    print('no:', exc)\n"
    assert main(["exec", "--config", config, code]) == 3
    approval_id = _printed_id(capsys.readouterr().err)
    assert main(["deny", "--config", config, approval_id]) == 0
    assert capsys.readouterr().out == f"no: {DENIED}\n"
    assert not (tmp_path / "written.txt").exists()


def test_cli_approve_that_pauses_again_exits_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _cli_config(tmp_path)
    assert main(["exec", "--config", config, "ops.write(text='1')\nops.write(text='2')"]) == 3
    first = _printed_id(capsys.readouterr().err)
    assert main(["approve", "--config", config, "--json", first]) == 3
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "approval_required"
    assert data["pending"] == {"tool": "ops.write", "args": {"text": "2"}}
    assert APPROVAL_ID.match(data["approval_id"])
    assert data["approval_id"] != first
    assert main(["approve", "--config", config, data["approval_id"]]) == 0
    assert capsys.readouterr().out == '"wrote 2"\n'
    assert (tmp_path / "written.txt").read_text() == "2"


def test_cli_bad_policy_value_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _cli_config(tmp_path, policy='[policy]\n"ops.write" = "ask"\n')
    assert main(["exec", "--config", config, "1"]) == 2
    err = capsys.readouterr().err
    assert "ops.write" in err
    assert "'ask'" in err


DANGER_SERVER = '''
from mcp.server.mcpserver import MCPServer
from mcp_types import ToolAnnotations

server = MCPServer("danger", log_level="WARNING")


@server.tool(annotations=ToolAnnotations(destructive_hint=True))
def wipe(target: str) -> str:
    """Wipe a target."""
    return "wiped " + target


if __name__ == "__main__":
    server.run("stdio")
'''


def test_cli_an_mcp_tools_destructive_hint_needs_approval(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "danger.py").write_text(DANGER_SERVER)
    server = (
        f"[servers.danger]\ncommand = {json.dumps(sys.executable)}\n"
        f"args = [{json.dumps(str(tmp_path / 'danger.py'))}]\n"
    )
    config = _cli_config(tmp_path, policy="", functions=server)
    assert main(["exec", "--config", config, "[ops.count(), danger.wipe(target='db')]"]) == 3
    err = capsys.readouterr().err
    assert 'paused: danger.wipe({"target": "db"}) needs approval.' in err
    assert main(["approve", "--config", config, _printed_id(err)]) == 0
    assert capsys.readouterr().out == '[\n  1,\n  "wiped db"\n]\n'
    assert (tmp_path / "counter.txt").read_text() == "1"
