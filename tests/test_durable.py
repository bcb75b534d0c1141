"""Durable state through `CodeMode`: sessions that outlive their process, writes that
survive `kill -9`, session expiry, and the `/workspace` seen from several instances."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from codemode import CodeMode, ExecutionResult
from codemode.store import Quota, open_store, sqlite_path
from store.postgres_server import fresh_schema

KILL_WRITES = 1000
"""Executions the kill -9 child is asked to make (each one acknowledged by a line)."""
KILL_AFTER = 600
"""The child is killed once this many executions were acknowledged."""
CHILD_DEADLINE = 120.0

Make = Callable[..., CodeMode]


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store URL with nothing in it yet: a new SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'durable.db'}"
        return
    with fresh_schema(request.getfixturevalue("postgres_server_url")) as url:
        yield url


def ok(result: ExecutionResult) -> Any:
    assert result.ok, result.error
    return result.result


def error(result: ExecutionResult) -> tuple[str, str]:
    assert not result.ok
    assert result.error is not None
    return result.error.type, result.error.message


# -- processes ------------------------------------------------------------------------


def _spawn(script: str, *args: str, stderr: IO[bytes]) -> subprocess.Popen[str]:
    """The venv's Python running `script`, in a process group of its own (its sandbox
    workers with it), stdout as text lines."""
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        start_new_session=True,
    )


def _kill(process: subprocess.Popen[str]) -> None:
    """SIGKILL the child, then anything left in its group (its sandbox workers)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


@contextlib.contextmanager
def _child(script: str, *args: str) -> Iterator[tuple[subprocess.Popen[str], Callable[[], str]]]:
    """Run `script`; yields the process and a function returning its stderr so far.
    The child is killed (if still alive) on leaving, and after CHILD_DEADLINE at most."""
    with tempfile.TemporaryFile() as stderr:
        process = _spawn(script, *args, stderr=stderr)
        timer = threading.Timer(CHILD_DEADLINE, lambda: _kill(process))
        timer.start()

        def errors() -> str:
            stderr.seek(0)
            return stderr.read().decode(errors="replace")[-4000:]

        try:
            yield process, errors
        finally:
            timer.cancel()
            _kill(process)
            assert process.stdout is not None
            process.stdout.close()


# -- a session continues after its process is killed ----------------------------------

SET_AND_WAIT = """
import sys, time
from codemode import CodeMode
cm = CodeMode(store=sys.argv[1])
result = cm.execute("x = 41\\ndef bump(v):\\n    return v + 1", session="S")
assert result.ok, result.error
print("ok", flush=True)
time.sleep(600)
"""


def test_session_continues_after_its_process_is_killed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'restart.db'}"
    with _child(SET_AND_WAIT, url) as (process, errors):
        assert process.stdout is not None
        assert process.stdout.readline() == "ok\n", errors()
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    with CodeMode(store=url) as cm:
        assert cm.sessions() == ["S"]
        assert ok(cm.execute("bump(x)", session="S")) == 42
        assert ok(cm.execute("x + 1", session="S")) == 42


# -- two instances on one store -------------------------------------------------------


def test_two_instances_see_each_others_latest_session_state(make: Make) -> None:
    a, b = make(), make()
    ok(a.execute("x = 1\nlog = ['a']", session="S"))
    assert ok(b.execute("x", session="S")) == 1
    ok(b.execute("x += 10\nlog.append('b')", session="S"))
    assert ok(a.execute("x", session="S")) == 11  # A reloads B's newer save
    ok(a.execute("x *= 2\nlog.append('a')\ndef f():\n    return 'from a'", session="S"))
    assert ok(b.execute("[x, log, f()]", session="S")) == [22, ["a", "b", "a"], "from a"]
    # sessions stay apart
    kind, _ = error(b.execute("x", session="T"))
    assert kind == "NameError"
    assert sorted(a.sessions()) == ["S", "T"]


def test_many_alternating_updates_are_never_lost(make: Make) -> None:
    a, b = make(), make()
    ok(a.execute("n = 0", session="S"))
    for i in range(20):
        ok((a if i % 2 else b).execute("n += 1", session="S"))
    assert ok(a.execute("n", session="S")) == 20
    assert ok(b.execute("n", session="S")) == 20


# -- kill -9 in the middle of a stream of writes --------------------------------------

WRITER = """
import sys
from codemode import CodeMode
url, count = sys.argv[1], int(sys.argv[2])
cm = CodeMode(store=url, project="kill", agent="a")
for i in range(count):
    code = (
        f"n = {i}\\n"
        f"memory.remember('fact {i}')\\n"
        f"open('/workspace/f{i}.txt', 'w').write(str({i}))\\n"
    )
    if i % 10 == 0:
        code += f"def f_{i}():\\n    return {i}\\nlibrary.save(f_{i})\\n"
    result = cm.execute(code, session="S")
    if not result.ok:
        print(f"failed {i}: {result.error}", file=sys.stderr, flush=True)
        sys.exit(3)
    print(i, flush=True)
print("done", flush=True)
"""


@pytest.mark.slow
def test_every_acknowledged_write_survives_kill_9(any_store_url: str) -> None:
    url = any_store_url
    started = time.monotonic()
    acknowledged: list[int] = []
    with _child(WRITER, url, str(KILL_WRITES)) as (process, errors):
        assert process.stdout is not None
        for line in process.stdout:
            if line == "done\n":
                break
            acknowledged.append(int(line))
            if len(acknowledged) == KILL_AFTER:
                os.kill(process.pid, signal.SIGKILL)
                break
        # Lines already in the pipe were printed after their execute returned: they count.
        rest = process.stdout.read()
        acknowledged += [
            int(line) for line in rest.splitlines(keepends=True) if line.endswith("\n")
        ]
        code = process.wait(timeout=30)
        assert len(acknowledged) >= KILL_AFTER, f"exit {code}; stderr: {errors()}"
        assert code == -signal.SIGKILL, f"the child was not killed mid-stream: {errors()}"
    elapsed = time.monotonic() - started
    assert acknowledged == list(range(len(acknowledged)))
    assert len(acknowledged) < KILL_WRITES, "the child finished before the kill"
    print(f"\n{url.split(':')[0]}: {len(acknowledged)} acknowledged in {elapsed:.1f} s")

    if url.startswith("sqlite:"):
        with contextlib.closing(sqlite3.connect(sqlite_path(url))) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    store = open_store(url)
    try:
        texts = {m.text for m in store.list_memories("kill/a")}
        missing_memories = [i for i in acknowledged if f"fact {i}" not in texts]
        assert missing_memories == []
        missing_files = [
            i for i in acknowledged if store.read_file("kill/a", f"f{i}.txt") != str(i).encode()
        ]
        assert missing_files == []
        for i in acknowledged[::10]:
            function = store.get_function("kill/a", f"f_{i}")
            assert function is not None, f"f_{i} was acknowledged but is not in the library"
            assert function.version == 1
            assert f"return {i}" in function.source
        # the memory index answers for the survivors too
        last = acknowledged[-1]
        assert f"fact {last}" in [m.text for m in store.recall("kill/a", f"fact {last}", k=100)]
    finally:
        store.close()

    # The session holds the state of at least the last acknowledged execution.
    last_function = acknowledged[::10][-1]
    with CodeMode(store=url, project="kill", agent="a") as cm:
        n = ok(cm.execute("n", session="S"))
        assert last <= n < KILL_WRITES
        imported = f"from library import f_{last_function}\nf_{last_function}()"
        assert ok(cm.execute(imported)) == last_function
        assert ok(cm.execute(f"open('/workspace/f{last}.txt').read()")) == str(last)


# -- expiry and ending ----------------------------------------------------------------


def test_an_idle_session_expires_from_the_store(make: Make) -> None:
    cm = make(session_ttl=1.0)
    ok(cm.execute("x = 1", session="old"))
    assert cm.store.load_session("old") is not None
    time.sleep(1.3)
    ok(cm.execute("y = 2", session="fresh"))
    assert cm.sessions() == ["fresh"]
    assert cm.store.load_session("old") is None
    assert cm.store.sessions() == ["fresh"]
    # nothing is left of it: not in this instance, not for another one
    kind, _ = error(make().execute("x", session="old"))
    assert kind == "NameError"
    kind, _ = error(cm.execute("x", session="old"))
    assert kind == "NameError"
    assert ok(cm.execute("y", session="fresh")) == 2


def test_end_session_removes_it_from_the_store(make: Make) -> None:
    a, b = make(), make()
    ok(a.execute("x = 1", session="S"))
    ok(a.execute("keep = 'me'", session="K"))
    assert a.end_session("S") is True
    assert a.store.load_session("S") is None
    assert a.end_session("S") is False
    assert a.sessions() == ["K"]
    kind, _ = error(b.execute("x", session="S"))
    assert kind == "NameError"
    assert ok(b.execute("keep", session="K")) == "me"


def test_end_session_from_another_instance_is_seen(make: Make) -> None:
    a, b = make(), make()
    ok(a.execute("x = 1", session="S"))
    assert b.end_session("S") is True  # B never ran it: only the store holds it
    assert b.store.load_session("S") is None
    kind, _ = error(a.execute("x", session="S"))  # A's warm copy is not used
    assert kind == "NameError"


# -- the workspace through CodeMode ---------------------------------------------------


def test_a_file_written_in_one_instance_is_read_in_another(make: Make) -> None:
    writer = make(project="p", agent="a")
    ok(
        writer.execute(
            "open('notes.txt', 'w').write('hello')\nfrom pathlib import Path\n"
            "Path('/workspace/dir/data.json').parent.mkdir()\n"
            "Path('/workspace/dir/data.json').write_text('[1, 2]')"
        )
    )
    reader = make(project="p", agent="a")
    assert ok(reader.execute("open('/workspace/notes.txt').read()")) == "hello"
    assert ok(reader.execute("import json\njson.loads(open('dir/data.json').read())")) == [1, 2]
    assert ok(reader.execute("import os\nsorted(os.listdir('/workspace'))")) == [
        "dir",
        "notes.txt",
    ]
    assert reader.store.read_file("p/a", "notes.txt") == b"hello"
    ok(reader.execute("open('notes.txt', 'a').write(' world')"))
    assert ok(writer.execute("open('notes.txt').read()")) == "hello world"


def test_the_workspace_quota_is_an_error_in_the_program(make: Make) -> None:
    cm = make(workspace_quota=Quota(max_files=2))
    ok(cm.execute("open('a.txt', 'w').write('1')\nopen('b.txt', 'w').write('2')"))
    result = cm.execute("open('a.txt', 'w').write('replaced')\nopen('c.txt', 'w').write('3')")
    kind, message = error(result)
    assert kind == "OSError"
    assert "workspace quota exceeded" in message
    assert "3 files; its quota is 2" in message
    assert result.error is not None
    assert result.error.line == 2
    assert cm.store.read_file("default/default", "c.txt") is None
    assert cm.store.read_file("default/default", "a.txt") == b"replaced"
    caught = ok(
        cm.execute(
            "try:\n    open('c.txt', 'w').write('3')\nexcept OSError as exc:\n    why = str(exc)\n"
            "import os\n[why, sorted(os.listdir('.'))]"
        )
    )
    assert "quota" in caught[0]
    assert caught[1] == ["a.txt", "b.txt"]


def test_the_workspace_byte_quota_is_an_error_in_the_program(make: Make) -> None:
    cm = make(workspace_quota=Quota(max_bytes=10))
    kind, message = error(cm.execute("open('big.txt', 'w').write('x' * 11)"))
    assert kind == "OSError"
    assert "11 bytes; its quota is 10" in message
    # the open itself created the (empty) file; the write was refused whole
    assert cm.store.read_file("default/default", "big.txt") == b""


def test_two_workspaces_are_isolated(make: Make) -> None:
    one = make(workspace="one")
    two = make(workspace="two")
    ok(one.execute("open('only-in-one.txt', 'w').write('1')"))
    ok(two.execute("open('only-in-two.txt', 'w').write('2')"))
    assert ok(one.execute("import os\nos.listdir('/workspace')")) == ["only-in-one.txt"]
    assert ok(two.execute("import os\nos.listdir('/workspace')")) == ["only-in-two.txt"]
    kind, _ = error(two.execute("open('only-in-one.txt').read()"))
    assert kind == "FileNotFoundError"
    kind, _ = error(two.execute("open('../one/only-in-one.txt').read()"))
    assert kind == "PermissionError"
    # an agent names the workspace it shares with another
    assert ok(make(agent="other", workspace="one").execute("open('only-in-one.txt').read()")) == (
        "1"
    )
    assert sorted(one.store.workspaces()) == ["one", "two"]
