"""The store suite: every implementation of `Store` must pass it."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest

from codemode.artifacts import ArtifactPolicy, StoreArtifacts, describe
from codemode.errors import ConfigError
from codemode.store import (
    ApprovalRecord,
    AuditRecord,
    Quota,
    QuotaExceeded,
    Store,
    mask_password,
    open_store,
    sqlite_path,
)
from codemode.store import postgres as pg
from codemode.store.memory import MemoryStore
from codemode.store.postgres import PostgresStore
from codemode.store.sqlite import MIGRATIONS, SQLiteStore


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    instance: Store
    if request.param == "memory":
        instance = MemoryStore()
    elif request.param == "sqlite":
        instance = SQLiteStore(tmp_path / "s.db")
    else:
        instance = PostgresStore(request.getfixturevalue("postgres_url"))
    yield instance
    instance.close()


def test_sessions_round_trip(store: Store) -> None:
    assert store.load_session("a") is None
    store.save_session("a", b"\x00state", frozenset({"ns", "cm_poly_io"}))
    store.save_session("b", b"other", frozenset())
    record = store.load_session("a")
    assert record is not None
    assert (record.state, record.bound) == (b"\x00state", frozenset({"ns", "cm_poly_io"}))
    assert record.updated <= time.time()
    assert record.programs == ()
    store.save_session("a", b"newer", frozenset({"x"}), ("x = 1", "def f():\n    pass"))
    again = store.load_session("a")
    assert again is not None
    assert (again.state, again.bound) == (b"newer", frozenset({"x"}))
    assert again.programs == ("x = 1", "def f():\n    pass")
    assert store.sessions() == ["a", "b"]
    assert store.delete_session("b")
    assert not store.delete_session("b")
    assert store.sessions() == ["a"]


def test_sessions_expire(store: Store) -> None:
    store.save_session("old", b"1", frozenset())
    cutoff = time.time() + 1
    assert store.expire_sessions(cutoff) == 1
    assert store.load_session("old") is None


def test_artifacts_round_trip(store: Store) -> None:
    info = describe([1, 2], b"[1, 2]", ttl=60, session="s")
    store.put_artifact(info, b"[1, 2]")
    assert store.get_artifact(info.id) == b"[1, 2]"
    assert store.artifact_info(info.id) == info
    assert store.artifact_infos() == [info]
    assert store.delete_artifact(info.id)
    assert store.get_artifact(info.id) is None
    assert store.artifact_info(info.id) is None
    assert not store.delete_artifact(info.id)


def test_store_artifacts_expire_and_evict(store: Store) -> None:
    artifacts = StoreArtifacts(store, ArtifactPolicy(max_bytes=10))
    old = describe("a" * 6, b'"aaaaaa"', ttl=60)
    artifacts.put(old, b'"aaaaaa"')
    new = describe("b" * 6, b'"bbbbbb"', ttl=60)
    artifacts.put(new, b'"bbbbbb"')
    assert [i.id for i in artifacts.list()] == [new.id]  # the oldest went over budget
    gone = describe(1, b"1", ttl=-1)
    store.put_artifact(gone, b"1")
    assert artifacts.get(gone.id) is None
    assert artifacts.info(gone.id) is None
    assert not artifacts.delete("../etc")


def test_session_updated_tracks_saves(store: Store) -> None:
    assert store.session_updated("s") is None
    first = store.save_session("s", b"1", frozenset())
    assert store.session_updated("s") == first
    time.sleep(0.01)
    second = store.save_session("s", b"2", frozenset())
    assert second > first
    assert store.session_updated("s") == second


def test_workspace_files(store: Store) -> None:
    assert store.read_file("w", "a.txt") is None
    info = store.write_file("w", "a.txt", b"hello")
    assert (info.path, info.size) == ("a.txt", 5)
    store.write_file("w", "dir/b.bin", b"\x00\x01")
    store.write_file("other", "a.txt", b"not mine")
    assert store.read_file("w", "a.txt") == b"hello"
    assert [f.path for f in store.list_files("w")] == ["a.txt", "dir/b.bin"]
    assert [f.path for f in store.list_files("w", "dir/")] == ["dir/b.bin"]
    assert store.file_info("w", "dir/b.bin") is not None
    store.write_file("w", "a.txt", b"replaced")
    assert store.read_file("w", "a.txt") == b"replaced"
    assert store.rename_file("w", "a.txt", "dir/c.txt")
    assert not store.rename_file("w", "a.txt", "x")
    assert store.read_file("w", "dir/c.txt") == b"replaced"
    assert store.read_file("w", "a.txt") is None
    assert store.delete_file("w", "dir/c.txt")
    assert not store.delete_file("w", "dir/c.txt")
    assert store.workspaces() == ["other", "w"]


def test_workspace_quota_refuses_without_writing(store: Store) -> None:
    quota = Quota(max_bytes=10, max_files=2)
    store.write_file("w", "a", b"12345", quota=quota)
    store.write_file("w", "a", b"1234567890", quota=quota)  # replacing counts once
    with pytest.raises(QuotaExceeded, match="bytes"):
        store.write_file("w", "b", b"1", quota=quota)
    assert store.read_file("w", "b") is None
    store.write_file("w", "a", b"1", quota=quota)
    store.write_file("w", "b", b"1", quota=quota)
    with pytest.raises(QuotaExceeded, match="files"):
        store.write_file("w", "c", b"1", quota=quota)
    assert [f.path for f in store.list_files("w")] == ["a", "b"]


def test_library_versions(store: Store) -> None:
    assert store.get_function("p/a", "f") is None
    first = store.save_function(
        "p/a",
        "f",
        source="def f(): return 1",
        signature="def f()",
        description="one",
        tests=("assert f() == 1",),
    )
    second = store.save_function(
        "p/a", "f", source="def f(): return 2", signature="def f()", description=None, tests=()
    )
    store.save_function(
        "p/a", "g", source="def g(): pass", signature="def g()", description=None, tests=()
    )
    store.save_function(
        "p/b", "f", source="def f(): return 9", signature="def f()", description=None, tests=()
    )
    assert (first.version, second.version) == (1, 2)
    latest = store.get_function("p/a", "f")
    assert latest == second
    assert store.get_function("p/a", "f", version=1) == first
    assert store.get_function("p/a", "f", version=3) is None
    assert [f.version for f in store.function_history("p/a", "f")] == [1, 2]
    assert [(f.name, f.version) for f in store.list_functions("p/a")] == [("f", 2), ("g", 1)]
    assert store.function_versions("p/a") == {"f": 2, "g": 1}
    assert store.function_versions("nobody") == {}
    assert first.tests == ("assert f() == 1",)
    assert store.library_scopes() == ["p/a", "p/b"]
    assert store.delete_function("p/a", "f") == 2
    assert store.get_function("p/a", "f") is None
    assert store.get_function("p/b", "f") is not None


def test_memory_remember_recall_forget(store: Store) -> None:
    records = store.add_memories(
        "team",
        [
            ("The staging database runs PostgreSQL 16 on port 5433", ("infra",)),
            ("Invoices are due thirty days after issue", ("billing",)),
            ("Deploys happen on Tuesdays after the standup", ("infra", "process")),
        ],
    )
    store.add_memories("other", [("The staging database is secret", ())])
    assert [r.profile for r in records] == ["team"] * 3
    assert len({r.id for r in records}) == 3
    hits = store.recall("team", "which port does the staging database use?", k=2)
    assert hits[0].id == records[0].id
    assert hits[0].score is not None
    assert hits[0].score > 0
    assert all(h.profile == "team" for h in hits)
    assert store.recall("team", "deploying", k=5)[0].id == records[2].id  # stems match
    assert store.recall("team", "zebra", k=5) == []
    assert store.recall("team", "", k=5) == []
    assert [r.id for r in store.list_memories("team")] == [r.id for r in reversed(records)]
    assert [r.id for r in store.list_memories("team", tag="infra")] == [
        records[2].id,
        records[0].id,
    ]
    assert len(store.list_memories("team", limit=1)) == 1
    assert store.forget("team", records[0].id)
    assert not store.forget("team", records[0].id)
    assert not store.forget("other", records[1].id)
    assert all(h.id != records[0].id for h in store.recall("team", "staging database"))
    assert store.memory_profiles() == ["other", "team"]


def test_memory_recall_handles_query_syntax(store: Store) -> None:
    store.add_memories("p", [('quotes " and NEAR(x) OR * are text', ())])
    assert len(store.recall("p", 'quotes " NEAR( OR * AND -', k=3)) == 1


def _approval(
    approval_id: str,
    *,
    created: float | None = None,
    session: str | None = "s1",
    state: bytes = b"\x00suspended\xff",
) -> ApprovalRecord:
    return ApprovalRecord(
        id=approval_id,
        created=time.time() if created is None else created,
        scope="proj/agent",
        session=session,
        tool="billing.refund",
        args={"amount": 12.5, "ids": [1, 2, "x"], "note": None, "force": True, "nested": {"a": []}},
        state=state,
        context='{"output": "so far", "calls": 2}',
    )


def test_approvals_round_trip_and_decide(store: Store) -> None:
    assert store.get_approval("apr_missing") is None
    record = _approval("apr_1")
    store.save_approval(record)
    store.save_approval(_approval("apr_2"))
    assert store.get_approval("apr_1") == record
    approved = store.decide_approval("apr_1", "approved")
    assert approved is not None
    assert (approved.status, approved.state, approved.args) == (
        "approved",
        record.state,
        record.args,
    )
    assert approved.decided is not None
    assert record.created <= approved.decided <= time.time()
    assert store.get_approval("apr_1") == approved
    assert store.decide_approval("apr_1", "denied") is None
    assert store.decide_approval("apr_1", "approved") is None
    assert store.decide_approval("apr_missing", "approved") is None
    denied = store.decide_approval("apr_2", "denied")
    assert denied is not None
    assert denied.status == "denied"
    for status in ("pending", "APPROVED", ""):
        with pytest.raises(ValueError, match="approved"):
            store.decide_approval("apr_2", status)
    store.save_approval(_approval("apr_3"))
    with pytest.raises(ValueError, match="'maybe'"):
        store.decide_approval("apr_3", "maybe")
    still = store.get_approval("apr_3")
    assert still is not None
    assert (still.status, still.decided) == ("pending", None)


def test_exactly_one_concurrent_decision_wins(store: Store) -> None:
    store.save_approval(_approval("apr_race"))
    winners: list[ApprovalRecord] = []
    lock = threading.Lock()

    def decide(index: int) -> None:
        decided = store.decide_approval("apr_race", "approved" if index % 2 else "denied")
        if decided is not None:
            with lock:
                winners.append(decided)

    _together(8, decide)
    assert len(winners) == 1
    assert winners[0].state == b"\x00suspended\xff"
    assert store.get_approval("apr_race") == winners[0]


def test_list_and_expire_approvals(store: Store) -> None:
    now = time.time()
    store.save_approval(_approval("apr_c", created=now - 10, session="s2"))
    store.save_approval(_approval("apr_a", created=now - 30))
    store.save_approval(_approval("apr_b", created=now - 20, session=None))
    store.save_approval(_approval("apr_d", created=now - 5))
    store.decide_approval("apr_d", "denied")
    assert [r.id for r in store.list_approvals()] == ["apr_a", "apr_b", "apr_c"]
    assert all(r.state == b"" and r.status == "pending" for r in store.list_approvals())
    assert [r.id for r in store.list_approvals(status=None)] == [
        "apr_a",
        "apr_b",
        "apr_c",
        "apr_d",
    ]
    assert all(r.state == b"" for r in store.list_approvals(status=None))
    assert [r.id for r in store.list_approvals(status="denied")] == ["apr_d"]
    assert store.list_approvals(status="approved") == []
    assert [r.id for r in store.list_approvals(session="s1")] == ["apr_a"]
    assert [r.id for r in store.list_approvals(status=None, session="s1")] == ["apr_a", "apr_d"]
    listed = store.list_approvals(session="s2")[0]
    kept = store.get_approval("apr_c")
    assert kept is not None
    assert listed == dataclasses.replace(kept, state=b"")
    assert store.expire_approvals(now - 15) == 2
    assert store.get_approval("apr_a") is None
    assert [r.id for r in store.list_approvals(status=None)] == ["apr_c", "apr_d"]
    assert store.expire_approvals(now - 15) == 0


def _audit(record_id: str, at: float, **fields: Any) -> AuditRecord:
    record = AuditRecord(
        id=record_id,
        time=at,
        scope="proj/agent",
        session="s1",
        kind="execute",
        code="print(1)",
        status="ok",
        duration_ms=12.5,
        tokens=7,
    )
    return dataclasses.replace(record, **fields)


def test_audit_round_trip_and_filters(store: Store) -> None:
    assert store.list_audit() == []
    first = _audit(
        "au_1",
        100.0,
        tool_calls=(
            {"tool": "t.add", "ok": True, "duration_ms": 1.5, "arg_bytes": 20},
            {"tool": "t.fail", "ok": False, "duration_ms": 0.25, "arg_bytes": 3},
        ),
        status="error",
        error_type="ValueError",
        error_message="boom",
        approval_id="apr_1",
    )
    store.add_audit(first)
    store.add_audit(_audit("au_2", 200.0, session=None, kind="resume"))
    store.add_audit(_audit("au_3", 300.0, scope="other/agent", session="s2"))
    store.add_audit(_audit("au_4", 400.0))
    everything = store.list_audit()
    assert [r.id for r in everything] == ["au_1", "au_2", "au_3", "au_4"]
    assert everything[0] == first
    assert isinstance(everything[0].tool_calls, tuple)
    assert everything[1].session is None
    assert everything[1].tool_calls == ()
    assert [r.id for r in store.list_audit(session="s1")] == ["au_1", "au_4"]
    assert [r.id for r in store.list_audit(since=200.0)] == ["au_2", "au_3", "au_4"]
    assert [r.id for r in store.list_audit(scope="other/agent")] == ["au_3"]
    assert [r.id for r in store.list_audit(session="s1", since=150.0)] == ["au_4"]
    assert store.list_audit(session="s2", scope="proj/agent") == []
    assert [r.id for r in store.list_audit(limit=2)] == ["au_3", "au_4"]
    assert [r.id for r in store.list_audit(session="s1", limit=1)] == ["au_4"]
    assert [r.id for r in store.list_audit(limit=10)] == ["au_1", "au_2", "au_3", "au_4"]
    assert store.list_audit(limit=0) == []


def test_audit_keeps_insertion_order_at_equal_times(store: Store) -> None:
    store.add_audit(_audit("au_late", 50.0))
    for record_id in ("au_z", "au_a", "au_m"):
        store.add_audit(_audit(record_id, 10.0))
    store.add_audit(_audit("au_early", 5.0))
    assert [r.id for r in store.list_audit()] == ["au_early", "au_z", "au_a", "au_m", "au_late"]
    assert [r.id for r in store.list_audit(limit=3)] == ["au_a", "au_m", "au_late"]
    assert [r.id for r in store.list_audit(since=10.0, limit=2)] == ["au_m", "au_late"]


def test_open_store_urls(tmp_path: Path) -> None:
    assert isinstance(open_store("memory://"), MemoryStore)
    db = tmp_path / "x" / "a.db"
    opened = open_store(f"sqlite:///{db}")
    assert isinstance(opened, SQLiteStore)
    assert opened.path == db
    opened.close()
    assert sqlite_path("sqlite:///relative.db") == Path("relative.db")
    with pytest.raises(ConfigError, match="unsupported store URL"):
        open_store("mysql://u:secret@h/db")
    with pytest.raises(ConfigError) as caught:
        open_store("redis://u:hunter2@h/0")
    assert "hunter2" not in str(caught.value)
    assert mask_password("postgresql://u:pw@h:5/d") == "postgresql://u:***@h:5/d"


def test_sqlite_schema_is_versioned(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    SQLiteStore(path).close()
    import sqlite3

    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        db.execute(f"PRAGMA user_version={len(MIGRATIONS) + 1}")
    with pytest.raises(ConfigError, match="newer than this"):
        SQLiteStore(path)


def test_sqlite_migrates_an_older_schema_forward(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.executescript(MIGRATIONS[0])
        db.execute("INSERT INTO sessions VALUES ('kept', x'00', '[]', 1.0)")
        db.execute("PRAGMA user_version=1")
    store = SQLiteStore(path)
    try:
        assert store.load_session("kept") is not None
        store.add_memories("p", [("migrated fine", ())])
        assert store.recall("p", "migrated")[0].text == "migrated fine"
    finally:
        store.close()


def test_sqlite_migrates_schema_3_keeping_its_data(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "v3.db"
    with sqlite3.connect(path) as db:
        for script in MIGRATIONS[:3]:
            db.executescript(script)
        db.execute("INSERT INTO sessions VALUES ('kept', x'00', '[]', 1.0, '[\"x = 1\"]')")
        db.execute("PRAGMA user_version=3")
    store = SQLiteStore(path)
    try:
        session = store.load_session("kept")
        assert session is not None
        assert session.programs == ("x = 1",)
        store.save_approval(_approval("apr_m"))
        store.add_audit(_audit("au_m", 1.0))
        assert [r.id for r in store.list_approvals()] == ["apr_m"]
        assert [r.id for r in store.list_audit()] == ["au_m"]
    finally:
        store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 4


def _together(workers: int, work: Callable[[int], None]) -> None:
    """Run `work(0)` ... `work(workers - 1)` in threads started at the same moment."""
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            work(index)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise errors[0]


def test_concurrent_saves_never_share_a_version(store: Store) -> None:
    def save(writer: int) -> None:
        for i in range(50):
            store.save_function(
                "p", "f", source=f"# {writer} {i}", signature="def f()", description=None, tests=()
            )

    _together(2, save)
    assert [f.version for f in store.function_history("p", "f")] == list(range(1, 101))


def test_concurrent_writers_never_exceed_the_quota(store: Store) -> None:
    by_files = Quota(max_files=25, max_bytes=10**6)
    by_bytes = Quota(max_files=1000, max_bytes=500)

    def write(writer: int) -> None:
        for i in range(40):
            with contextlib.suppress(QuotaExceeded):
                store.write_file("files", f"{writer}-{i}", b"x" * 10, quota=by_files)
            with contextlib.suppress(QuotaExceeded):
                store.write_file("bytes", f"{writer}-{i}", b"x" * 30, quota=by_bytes)

    _together(2, write)
    assert len(store.list_files("files")) == 25
    assert sum(f.size for f in store.list_files("bytes")) == 480


_WRITER = """
import sys
from codemode.store import open_store

store = open_store(sys.argv[1])
for i in range(1000):
    if i % 3 == 0:
        (record,) = store.add_memories("p", [(f"memory number {i}", ("t",))])
        print("m", i, record.id, flush=True)
    elif i % 3 == 1:
        store.write_file("w", f"f{i}", bytes([i % 256]) * (i % 50 + 1))
        print("f", i, flush=True)
    else:
        saved = store.save_function(
            "s", f"fn{i % 7}", source=f"# {i}", signature="def f()", description=None, tests=()
        )
        print("l", i, saved.name, saved.version, flush=True)
print("done", flush=True)
sys.stdin.read()
"""


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_acknowledged_writes_survive_kill_9(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """A writer killed with SIGKILL partway loses nothing it had reported as written, and
    several processes share the store meanwhile (the test reads what another wrote)."""
    url = (
        f"sqlite:///{tmp_path / 'shared.db'}"
        if kind == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    acknowledged = _kill_writer_after(url, 500, tmp_path / "writer.err")
    assert len(acknowledged) >= 500
    store = open_store(url)
    try:
        memories = {r.id for r in store.list_memories("p")}
        for line in acknowledged:
            i = int(line[1])
            if line[0] == "m":
                assert line[2] in memories
            elif line[0] == "f":
                assert store.read_file("w", f"f{i}") == bytes([i % 256]) * (i % 50 + 1)
            else:
                saved = store.get_function("s", line[2], int(line[3]))
                assert saved is not None
                assert saved.source == f"# {i}"
    finally:
        store.close()


def _kill_writer_after(url: str, lines: int, errors: Path) -> list[list[str]]:
    """Start the writer on `url`, SIGKILL it once it has acknowledged `lines` writes; the
    acknowledgements it printed (complete lines only)."""
    with errors.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-c", _WRITER, url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    assert process.stdout is not None
    seen: list[str] = []
    try:
        for line in process.stdout:
            seen.append(line)
            if len(seen) == lines:
                os.kill(process.pid, signal.SIGKILL)
                break
        seen.extend(process.stdout.read().splitlines(keepends=True))
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        assert process.stdin is not None
        process.stdin.close()
    assert process.returncode == -signal.SIGKILL, errors.read_text()
    return [line.split() for line in seen if line.endswith("\n") and line != "done\n"]


def _postgres_version(url: str) -> int:
    with psycopg.connect(url) as db:
        row = db.execute("SELECT version FROM codemode_schema").fetchone()
        assert row is not None
        return int(row[0])


def test_open_store_routes_postgresql_urls(postgres_url: str) -> None:
    for url in (postgres_url, postgres_url.replace("postgresql://", "postgres://", 1)):
        opened = open_store(url)
        try:
            assert isinstance(opened, PostgresStore)
        finally:
            opened.close()
    parts = urlsplit(postgres_url)
    if parts.password is None:  # a trust-authenticated server ignores the password
        netloc = parts.netloc.replace("@", ":sekrit@", 1)
        with_password = parts._replace(netloc=netloc).geturl()
    else:
        with_password = postgres_url
    opened = open_store(with_password)
    opened.close()
    opened.close()  # idempotent
    assert opened.url == mask_password(with_password)
    assert ":***@" in opened.url


def test_postgres_connection_errors_name_the_server_not_the_password() -> None:
    with pytest.raises(ConfigError) as caught:
        open_store("postgresql://u:hunter2@127.0.0.1:1/db?connect_timeout=5")
    message = str(caught.value)
    assert "postgresql://u:***@127.0.0.1:1/db" in message
    assert "hunter2" not in message
    with pytest.raises(ConfigError) as caught:
        open_store("postgresql://u@127.0.0.1:1/db?password=hunter2&connect_timeout=5")
    assert "password=***" in str(caught.value)
    assert "hunter2" not in str(caught.value)
    with pytest.raises(ConfigError, match="cannot open the store"):
        PostgresStore("postgresql://nobody@127.0.0.1:1/db")


def test_postgres_schema_is_versioned_from_an_empty_database(postgres_url: str) -> None:
    PostgresStore(postgres_url).close()
    assert _postgres_version(postgres_url) == len(pg.MIGRATIONS)
    with psycopg.connect(postgres_url) as db:
        db.execute("UPDATE codemode_schema SET version = %s", (len(pg.MIGRATIONS) + 1,))
    with pytest.raises(ConfigError, match="newer than this"):
        PostgresStore(postgres_url)


def test_postgres_migrates_an_older_schema_forward(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as db:
        db.execute(pg.MIGRATIONS[0])
        db.execute("CREATE TABLE codemode_schema (version integer)")
        db.execute("INSERT INTO codemode_schema VALUES (1)")
        db.execute("INSERT INTO sessions VALUES ('kept', '\\x00', '[]', 1.0)")
    store = PostgresStore(postgres_url)
    try:
        assert _postgres_version(postgres_url) == len(pg.MIGRATIONS)
        assert store.load_session("kept") is not None
        store.add_memories("p", [("migrated fine", ())])
        assert store.recall("p", "migrated")[0].text == "migrated fine"
    finally:
        store.close()


def test_postgres_migrates_schema_3_keeping_its_data(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as db:
        for script in pg.MIGRATIONS[:3]:
            db.execute(script)
        db.execute("CREATE TABLE codemode_schema (version integer)")
        db.execute("INSERT INTO codemode_schema VALUES (3)")
        db.execute("INSERT INTO sessions VALUES ('kept', '\\x00', '[]', 1.0, '[\"x = 1\"]')")
    store = PostgresStore(postgres_url)
    try:
        assert _postgres_version(postgres_url) == 4
        session = store.load_session("kept")
        assert session is not None
        assert session.programs == ("x = 1",)
        store.save_approval(_approval("apr_m"))
        store.add_audit(_audit("au_m", 1.0))
        assert [r.id for r in store.list_approvals()] == ["apr_m"]
        assert [r.id for r in store.list_audit()] == ["au_m"]
    finally:
        store.close()


def test_postgres_stores_opened_at_once_migrate_once(postgres_url: str) -> None:
    opened: list[PostgresStore] = []
    lock = threading.Lock()

    def open_one(_: int) -> None:
        store = PostgresStore(postgres_url, max_size=2)
        with lock:
            opened.append(store)

    try:
        _together(4, open_one)
    finally:
        for store in opened:
            store.close()
    assert len(opened) == 4
    assert _postgres_version(postgres_url) == len(pg.MIGRATIONS)


@pytest.mark.parametrize("field", ["max_bytes", "max_files"])
def test_a_quota_must_be_positive(field: str) -> None:
    with pytest.raises(ConfigError, match=f"Quota.{field} must be a positive integer"):
        Quota(**{field: 0})
