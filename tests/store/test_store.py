"""The store suite: every implementation of `Store` must pass it."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from codemode.artifacts import ArtifactPolicy, StoreArtifacts, describe
from codemode.errors import ConfigError
from codemode.store import (
    Quota,
    QuotaExceeded,
    Store,
    mask_password,
    open_store,
    sqlite_path,
)
from codemode.store.memory import MemoryStore
from codemode.store.sqlite import MIGRATIONS, SQLiteStore


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    instance: Store = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "s.db")
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
    store.save_session("a", b"newer", frozenset({"x"}))
    again = store.load_session("a")
    assert again is not None
    assert (again.state, again.bound) == (b"newer", frozenset({"x"}))
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


def test_sqlite_is_shared_by_processes_and_survives_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    script = tmp_path / "writer.py"
    script.write_text(
        "import os, sys\n"
        "from codemode.store.sqlite import SQLiteStore\n"
        "store = SQLiteStore(sys.argv[1])\n"
        "for i in range(200):\n"
        "    store.save_session(f's{i}', bytes([i % 256]) * 100, frozenset({'ns'}))\n"
        "    print(i, flush=True)\n"
        "os.kill(os.getpid(), 9)\n"
    )
    process = subprocess.run(
        [sys.executable, str(script), str(path)], capture_output=True, text=True, timeout=60
    )
    assert process.returncode == -9
    acknowledged = [int(line) for line in process.stdout.split()]
    store = SQLiteStore(path)
    try:
        for i in acknowledged:
            record = store.load_session(f"s{i}")
            assert record is not None
            assert record.state == bytes([i % 256]) * 100
    finally:
        store.close()
