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
from codemode.store import Store, mask_password, open_store, sqlite_path
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
