"""The Monty tier through `CodeMode.execute`: limits, concurrency, errors, sessions."""

from __future__ import annotations

import itertools
import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import anyio
import pytest

from codemode import CodeMode, Limits
from conftest import Counter, make_codemode

MB = 1024 * 1024


def test_trivial_program(cm: CodeMode) -> None:
    result = cm.execute("1 + 1")
    assert result.ok
    assert result.result == 2
    assert result.error is None
    assert result.tool_calls == ()


def test_print_and_last_expression(cm: CodeMode) -> None:
    result = cm.execute("print('hi')\nx = [1, (2, 3)]\nx")
    assert result.stdout == "hi\n"
    assert result.result == [1, [2, 3]]


def test_tool_results_flow_through_the_program(cm: CodeMode, counter: Counter) -> None:
    before = counter.calls
    result = cm.execute("total = 0\nfor i in range(5):\n    total += t.add(a=i, b=10)\ntotal")
    assert result.result == 60
    assert counter.calls - before == 5
    assert [c.tool for c in result.tool_calls] == ["t.add"] * 5
    assert all(c.ok and c.duration_ms >= 0 for c in result.tool_calls)


def test_bad_call_is_refused_before_anything_runs(cm: CodeMode, counter: Counter) -> None:
    before = counter.calls
    code = "t.add(a=1, b=2)\nprint('side effect')\nt.add(a=1, c=3)"
    result = cm.execute(code)
    assert not result.ok
    assert result.error is not None
    assert (result.error.type, result.error.parameter, result.error.line) == ("ToolError", "c", 3)
    assert result.error.tool == "t.add"
    assert counter.calls == before
    assert result.stdout == ""
    assert result.tool_calls == ()


def test_wrong_literal_type_is_refused(cm: CodeMode, counter: Counter) -> None:
    before = counter.calls
    result = cm.execute("t.pick(color='blue')")
    assert result.error is not None
    assert (result.error.parameter, result.error.line, result.error.column) == ("color", 1, 14)
    assert counter.calls == before


def test_runtime_bad_call_raises_tool_error_inside_the_program(cm: CodeMode) -> None:
    # The static pass cannot see through a variable: the bridge checks at call time.
    code = (
        "args = {'a': 1, 'zz': 2}\n"
        "try:\n"
        "    t.add(**args)\n"
        "except ToolError as e:\n"
        "    caught = str(e)\n"
        "caught"
    )
    result = cm.execute(code)
    assert result.ok
    assert "zz" in result.result
    assert "a: int (required)" in result.result


def test_value_validation_error_names_the_parameter(cm: CodeMode) -> None:
    result = cm.execute("x = 'not a number'\nt.add(a=x)")
    assert result.error is not None
    assert (result.error.type, result.error.tool, result.error.parameter) == (
        "ToolError",
        "t.add",
        "a",
    )
    assert result.error.line == 2
    assert result.tool_calls[0].ok is False


def test_tool_exception_is_catchable_and_leaks_no_host_detail(cm: CodeMode) -> None:
    secret_path = os.path.join(os.getcwd(), "secret.txt")
    code = (
        f"try:\n    t.fail(message={secret_path!r})\nexcept Exception as e:\n    msg = str(e)\nmsg"
    )
    result = cm.execute(code)
    assert result.ok
    assert "ValueError" in result.result
    assert os.getcwd() not in result.result
    assert "Traceback" not in result.result


def test_uncaught_tool_error_is_reported_with_fields(cm: CodeMode) -> None:
    result = cm.execute("x = 1\nt.fail(message='boom')")
    assert result.error is not None
    assert result.error.type == "ToolError"
    assert result.error.tool == "t.fail"
    assert result.error.line == 2
    assert "boom" in result.error.message


def test_program_errors_have_type_and_position(cm: CodeMode) -> None:
    result = cm.execute("def f(d):\n    return d['missing']\n\nf({})")
    assert result.error is not None
    assert (result.error.type, result.error.line) == ("KeyError", 2)
    syntax = cm.execute("x = (1,\n")
    assert syntax.error is not None
    assert syntax.error.type == "SyntaxError"
    assert syntax.error.line is not None


def test_gathered_async_calls_run_concurrently(cm: CodeMode) -> None:
    code = "import asyncio\nawait asyncio.gather(*[t.slow(i=i) for i in range(10)])"
    started = time.perf_counter()
    result = cm.execute(code)
    elapsed = time.perf_counter() - started
    assert result.ok, result.error
    assert result.result == list(range(10))
    assert elapsed < 0.5
    assert len(result.tool_calls) == 10


def test_gathered_sync_calls_run_concurrently(cm: CodeMode) -> None:
    code = (
        "import asyncio\n"
        "tasks = [t.sleepy(seconds=0.2) for _ in range(5)]\n"
        "await asyncio.gather(*tasks)"
    )
    started = time.perf_counter()
    result = cm.execute(code)
    assert result.ok, result.error
    assert time.perf_counter() - started < 0.5


def test_awaited_single_call(cm: CodeMode) -> None:
    assert cm.execute("await t.slow(i=7, delay=0.01)").result == 7


def test_timeout_stops_an_infinite_loop_and_the_next_run_works() -> None:
    with make_codemode(Counter(), limits=Limits(timeout=1.0)) as cm:
        started = time.perf_counter()
        result = cm.execute("while True:\n    pass")
        elapsed = time.perf_counter() - started
        assert result.error is not None
        assert (result.error.type, result.error.limit) == ("LimitExceeded", "timeout")
        assert 0.5 <= elapsed <= 1.5
        assert cm.execute("1 + 1").result == 2


def test_wall_clock_includes_time_spent_in_tools() -> None:
    counter = Counter()
    with make_codemode(counter, limits=Limits(timeout=1.0, tool_timeout=10)) as cm:
        started = time.perf_counter()
        result = cm.execute("t.sleepy(seconds=0.6)\nt.sleepy(seconds=0.6)\nt.sleepy(seconds=0.6)")
        assert result.error is not None
        assert result.error.limit == "timeout"
        assert time.perf_counter() - started < 1.6
        assert counter.calls == 2


def test_per_call_timeout_is_a_catchable_tool_error() -> None:
    with make_codemode(Counter(), limits=Limits(timeout=5, tool_timeout=0.2)) as cm:
        code = "try:\n    t.slow(i=1, delay=3)\nexcept ToolError as e:\n    r = str(e)\nr"
        started = time.perf_counter()
        result = cm.execute(code)
        assert result.ok
        assert "timed out" in result.result
        assert time.perf_counter() - started < 1.0


def test_huge_allocation_is_a_memory_limit(cm: CodeMode) -> None:
    result = cm.execute("x = [0] * (10**9)")
    assert result.error is not None
    assert (result.error.type, result.error.limit) == ("LimitExceeded", "memory")
    assert cm.execute("2 + 2").result == 4


def test_deep_recursion_is_a_limit(cm: CodeMode) -> None:
    result = cm.execute("def f(n):\n    return f(n + 1)\nf(0)")
    assert result.error is not None
    assert result.error.limit == "recursion_depth"
    assert cm.execute("3").result == 3


def test_print_flood_is_truncated_and_bounded() -> None:
    with make_codemode(Counter(), limits=Limits(timeout=5, stdout_bytes=1000)) as cm:
        started = time.perf_counter()
        result = cm.execute("for i in range(10**8):\n    print('x' * 100)")
        assert result.truncated
        assert len(result.stdout) < 1200
        assert result.error is not None
        assert result.error.type == "LimitExceeded"
        assert time.perf_counter() - started < 5
        assert cm.execute("print('ok')").stdout == "ok\n"


def test_moderate_output_is_truncated_without_error() -> None:
    with make_codemode(Counter(), limits=Limits(stdout_bytes=1000)) as cm:
        result = cm.execute("for i in range(1000):\n    print(i)")
        assert result.ok
        assert result.truncated
        assert result.stdout.startswith("0\n1\n")
        assert result.stdout.endswith("999\n")


def blob(n: int) -> str:
    """n characters."""
    return "x" * n


def test_a_worker_stopped_for_memory_is_a_limit_and_the_session_recovers() -> None:
    # A tool result that does not fit beside a session's data makes the worker exceed
    # its limit in one allocation: the worker is terminated rather than interrupted.
    with CodeMode(limits=Limits(memory=64 * MB)) as cm:
        cm.add_function(blob, namespace="t")
        assert cm.execute("a = [str(i) for i in range(100_000)]", session="s").ok
        result = cm.execute("b = t.blob(n=30_000_000)\nc = b + b\nlen(c)", session="s")
        assert result.error is not None
        assert (result.error.type, result.error.limit) == ("LimitExceeded", "memory")
        assert "session" in result.error.message
        assert cm.execute("e = 1\ne", session="s").result == 1
        assert cm.execute("e", session="s").result == 1
        assert cm.execute("len(a)", session="s").result == 100_000  # from the last save


def test_session_state_too_big_to_save_is_a_limit_and_the_last_save_survives() -> None:
    with CodeMode(limits=Limits(memory=64 * MB), store="memory://") as cm:
        assert cm.execute("keep = 7", session="s").ok
        result = cm.execute("a = [str(i) for i in range(500_000)]", session="s")
        assert result.error is not None
        assert (result.error.type, result.error.limit) == ("LimitExceeded", "memory")
        assert "last save" in result.error.message
        assert cm.execute("keep", session="s").result == 7
        assert cm.execute("a", session="s").error is not None


def test_session_bytes_limit_refuses_to_save() -> None:
    with CodeMode(limits=Limits(session_bytes=50_000), store="memory://") as cm:
        assert cm.execute("small = 1", session="s").ok
        result = cm.execute("big = 'x' * 100_000", session="s")
        assert result.error is not None
        assert result.error.limit == "session_bytes"
        assert cm.store.load_session("s") is not None


def test_large_result_becomes_an_artifact_with_a_json_preview() -> None:
    with make_codemode(Counter(), limits=Limits(result_bytes=2000)) as cm:
        result = cm.execute("[{'i': i, 's': 'x' * 40} for i in range(5000)]")
        assert result.ok
        assert result.truncated
        handle = result.result
        assert handle["kind"] == "list"
        assert handle["length"] == 5000
        assert handle["preview"][0] == {"i": 0, "s": "x" * 40}
        assert len(json.dumps(result.to_dict()).encode()) < 2000
        stored = json.loads(cm.artifacts.get(handle["artifact"]) or b"null")
        assert stored == [{"i": i, "s": "x" * 40} for i in range(5000)]


def test_tool_call_budget() -> None:
    counter = Counter()
    with make_codemode(counter, limits=Limits(tool_calls=5)) as cm:
        code = (
            "for i in range(10):\n    try:\n        t.add(a=i)\n    except Exception:\n        pass"
        )
        result = cm.execute(code)
        assert result.error is not None
        assert (result.error.type, result.error.limit) == ("LimitExceeded", "tool_calls")
        assert counter.calls == 5


def test_sessions_persist_and_are_isolated(cm: CodeMode) -> None:
    assert cm.execute("x = 40\ndef inc(v):\n    return v + 1", session="a").ok
    assert cm.execute("x = 'other'", session="b").ok
    assert cm.execute("inc(x) + 1", session="a").result == 42
    assert cm.execute("x", session="b").result == "other"
    fresh = cm.execute("x")
    assert fresh.error is not None
    assert fresh.error.type == "NameError"
    assert {"a", "b"} <= set(cm.sessions())
    assert cm.end_session("a")
    assert cm.execute("x", session="a").error is not None


def test_many_sessions_do_not_exhaust_workers() -> None:
    with make_codemode(Counter(), max_workers=3, limits=Limits(timeout=2)) as cm:
        for i in range(6):
            assert cm.execute(f"v = {i}\nt.add(a=v)", session=f"s{i}").ok
            # Open sessions must always leave a worker for stateless executions.
            assert cm.execute("1").ok
        hot = [s for s in cm._executor._sessions.values() if s.live is not None]
        assert len(hot) == cm._executor.max_hot_sessions
        # Cold sessions were dumped and come back with their state.
        for i in range(6):
            result = cm.execute("v * 10", session=f"s{i}")
            assert result.result == i * 10, result.error
        assert cm.execute("t.add(a=1)", session="s0").result == 1


@pytest.mark.parametrize("store", [None, "memory://"])
def test_more_busy_sessions_than_workers_take_turns(store: str | None) -> None:
    """Eight threads, each driving its own session, on four workers: a session that
    needs a worker cools an idle hot one instead of waiting for the pool (which used to
    stall for the whole timeout, then fail)."""
    kwargs = {"store": store} if store else {}
    with make_codemode(Counter(), max_workers=4, limits=Limits(timeout=5), **kwargs) as cm:

        def drive(n: int) -> list[int]:
            seen = []
            for i in range(15):
                result = cm.execute(f"v = {i} if {i} == 0 else v + 1\nv", session=f"s{n}")
                assert result.ok, result.error
                seen.append(result.result)
            return seen

        started = time.monotonic()
        with ThreadPoolExecutor(8) as threads:
            runs = list(threads.map(drive, range(8)))
        elapsed = time.monotonic() - started
    assert runs == [list(range(15))] * 8  # every session kept its own state throughout
    assert elapsed < 4.0, f"8 x 15 session executions took {elapsed:.1f} s"


def test_idle_sessions_expire() -> None:
    with make_codemode(Counter(), session_ttl=0.2) as cm:
        cm.execute("x = 1", session="old")
        time.sleep(0.3)
        assert "old" not in cm.sessions()
        assert cm.execute("x", session="old").error is not None


def test_interrupted_session_keeps_earlier_state() -> None:
    with make_codemode(Counter(), limits=Limits(tool_calls=1)) as cm:
        cm.execute("keep = 1", session="s")
        result = cm.execute("a = 2\nt.add(a=1)\nt.add(a=2)\nb = 3", session="s")
        assert result.error is not None
        assert result.error.limit == "tool_calls"
        assert cm.execute("(keep, a)", session="s").result == [1, 2]


def test_killed_worker_is_reported_and_replaced(cm: CodeMode) -> None:
    code = "t.sleepy(seconds=0.3)\n1"
    executor = cm._executor
    pool_pids_before = set()
    # Start a session so we know its worker, then kill it from outside.
    cm.execute("y = 1", session="victim")
    session = executor._sessions["victim"]
    assert session.live is not None
    pid = session.live.worker_pid
    assert pid is not None
    pool_pids_before.add(pid)
    os.kill(pid, signal.SIGKILL)
    result = cm.execute(code, session="victim")
    assert result.error is not None
    assert result.error.type == "SandboxError"
    assert cm.execute("1 + 2", session="victim").result == 3
    assert cm.execute("5").result == 5


def test_discovery_globals(cm: CodeMode) -> None:
    result = cm.execute("help(t.add)\nhits = search('add two integers', limit=3)\nhits[0]")
    assert result.ok, result.error
    assert "def add(*, a: int, b: int = 0) -> int" in result.stdout
    assert result.result["qualified"] == "t.add"
    assert cm.execute("dir(t)").result == ["add", "fail", "pick", "sleepy", "slow"]
    listing = cm.execute("help(t)")
    assert "namespace t: 5 tools" in listing.stdout
    assert "t" in cm.execute("dir()").result


def test_undefined_function_is_a_name_error(cm: CodeMode) -> None:
    result = cm.execute("undefined_thing(1)")
    assert result.error is not None
    assert result.error.type == "NameError"


def test_sandbox_has_no_host_access(cm: CodeMode) -> None:
    result = cm.execute("open('/etc/passwd').read()")
    assert result.error is not None
    assert result.error.type == "PermissionError"
    assert cm.execute("import os\nos.getenv('HOME')").result is None
    assert cm.execute("import subprocess").error is not None


@pytest.mark.anyio
async def test_aexecute_runs_async_tools_on_the_callers_loop(cm: CodeMode) -> None:
    code = "import asyncio\nawait asyncio.gather(*[t.slow(i=i) for i in range(10)])"
    started = time.perf_counter()
    result = await cm.aexecute(code)
    assert result.result == list(range(10))
    assert time.perf_counter() - started < 0.5


def test_full_type_check_rejects_before_running() -> None:
    counter = Counter()
    with make_codemode(counter, type_check=True) as cm:
        ok = cm.execute("n = t.add(a=1)\nn + 1")
        assert ok.result == 2, ok.error
        bad = cm.execute("n = t.add(a=1)\nt.add(a=2)\ns: str = n")
        assert bad.error is not None
        assert (bad.error.type, bad.error.line) == ("TypeCheckError", 3)
        assert counter.calls == 1  # the refused program called nothing
        found = cm.execute("search('add')[0]['qualified']")
        assert found.result == "t.add"
        gathered = cm.execute("import asyncio\nawait asyncio.gather(t.slow(i=1, delay=0))")
        assert gathered.result == [1]


def test_newer_syntax_the_sandbox_accepts_still_reaches_tools(cm: CodeMode) -> None:
    result = cm.execute('d = {"n": t.add(a=2)}\nf"{d["n"]}"')
    assert result.result == "2", result.error


def test_session_state_moves_between_instances() -> None:
    with make_codemode(Counter()) as first:
        first.execute(
            "items = [t.add(a=1), t.add(a=2)]\ndef total():\n    return sum(items)", session="s"
        )
        state = first.dump_session("s")
    assert state is not None
    with make_codemode(Counter()) as second:
        second.load_session("s", state)
        assert second.execute("total() + t.add(a=10)", session="s").result == 13
        assert second.dump_session("missing") is None


def test_corrupt_session_state_is_reported_not_fatal(cm: CodeMode) -> None:
    cm.load_session("broken", b"not a monty dump")
    result = cm.execute("1", session="broken")
    assert result.error is not None
    assert result.error.type == "SandboxError"
    assert cm.execute("x = 5\nx", session="broken").result == 5


def test_concurrent_executions_from_many_threads(cm: CodeMode) -> None:
    def job(i: int) -> list[bool]:
        checks = []
        for j in range(10):
            checks.append(cm.execute(f"t.add(a={i}, b={j})").result == i + j)
            checks.append(cm.execute(f"v = {j}\nv", session=f"shared{i % 2}").result == j)
        return checks

    with ThreadPoolExecutor(6) as pool:
        assert all(ok for checks in pool.map(job, range(12)) for ok in checks)


@pytest.mark.anyio
async def test_aexecute_reports_progress(cm: CodeMode) -> None:
    seen: list[tuple[int, float]] = []

    async def progress(calls: int, elapsed: float) -> None:
        seen.append((calls, elapsed))

    code = "for i in range(4):\n    t.sleepy(seconds=0.6)"
    result = await cm.aexecute(code, progress=progress)
    assert result.ok, result.error
    assert len(seen) >= 2
    assert seen[-1][0] >= seen[0][0] >= 1
    assert all(b[1] > a[1] for a, b in itertools.pairwise(seen))


@pytest.mark.anyio
@pytest.mark.parametrize(
    "code",
    ["await t.slow(i=1, delay=30)", "while True:\n    pass"],
    ids=["waiting-on-a-tool", "computing"],
)
async def test_cancelling_aexecute_stops_the_program(cm: CodeMode, code: str) -> None:
    with anyio.fail_after(5):
        started = time.perf_counter()
        with anyio.move_on_after(0.3):
            await cm.aexecute(code, session="cancel-me")
        assert time.perf_counter() - started < 1.0
        # The session is usable again right away: the program really stopped.
        result = await cm.aexecute("41 + 1", session="cancel-me")
        assert result.result == 42
        assert time.perf_counter() - started < 2.5


def test_huge_error_messages_are_capped(cm: CodeMode) -> None:
    result = cm.execute("raise ValueError('x' * 1_000_000)")
    assert result.error is not None
    assert result.error.type == "ValueError"
    assert len(result.error.message) <= 4000
    assert "chars omitted" in result.error.message
    assert result.truncated


@pytest.mark.parametrize("megabytes", [32, 256])
def test_cyclic_garbage_is_collected_within_the_memory_limit(megabytes: int) -> None:
    """Collections are spaced by the memory limit, so a program that makes a lot of
    cyclic garbage stays within even a small limit."""
    program = "n = 0\nfor i in range(600000):\n    a = [i]\n    a.append(a)\n    n += 1\nn"
    with CodeMode(store="memory://", limits=Limits(memory=megabytes * 1024 * 1024)) as cm:
        result = cm.execute(program)
    assert result.ok, result.error
    assert result.result == 600000
