"""`SQLiteStore`: the embedded default, one database file in WAL mode.

Every write is its own committed transaction before the method returns; with WAL and
`synchronous=NORMAL` a committed write survives the process being killed (power loss
may lose the last transactions, which `synchronous=FULL` would prevent at a cost per
write). Connections are per thread; WAL lets readers run beside the one writer, and
several processes may share the file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from codemode.artifacts import ArtifactInfo
from codemode.errors import ConfigError
from codemode.store import SessionRecord

__all__ = ["MIGRATIONS", "SQLiteStore"]

MIGRATIONS: tuple[str, ...] = (
    # 1: sessions and artifacts
    """
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        state BLOB NOT NULL,
        bound TEXT NOT NULL,
        updated REAL NOT NULL
    );
    CREATE INDEX sessions_updated ON sessions (updated);
    CREATE TABLE artifacts (
        id TEXT PRIMARY KEY,
        info TEXT NOT NULL,
        created REAL NOT NULL,
        data BLOB NOT NULL
    );
    CREATE INDEX artifacts_created ON artifacts (created);
    """,
)
"""Schema changes, in order; version N is the first N applied."""

_BUSY_TIMEOUT_MS = 30_000


class SQLiteStore:
    """A store in one SQLite file (created, with its folder, when missing)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create the folder of {self.path}: {exc}") from None
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        self._migrate()

    # -- connections --------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is not None:
            return connection
        if self._closed:
            raise RuntimeError("this store is closed")
        try:
            connection = sqlite3.connect(
                self.path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None
            )
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot open the store {self.path}: {exc}") from None
        self._local.connection = connection
        with self._lock:
            self._connections.append(connection)
        return connection

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction that takes the write lock up front (no upgrade deadlocks)."""
        connection = self._connect()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def _migrate(self) -> None:
        with self._write() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                raise ConfigError(
                    f"the store {self.path} has schema version {version}, newer than this "
                    f"codemode knows ({len(MIGRATIONS)}); upgrade codemode"
                )
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in _statements(script):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version={number}")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, []
        for connection in connections:
            with contextlib.suppress(sqlite3.Error):
                connection.close()

    # -- sessions -----------------------------------------------------------------------

    def save_session(self, session_id: str, state: bytes, bound: frozenset[str]) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO sessions (id, state, bound, updated) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET state = excluded.state, "
                "bound = excluded.bound, updated = excluded.updated",
                (session_id, state, json.dumps(sorted(bound)), time.time()),
            )

    def load_session(self, session_id: str) -> SessionRecord | None:
        row = (
            self._connect()
            .execute("SELECT state, bound, updated FROM sessions WHERE id = ?", (session_id,))
            .fetchone()
        )
        if row is None:
            return None
        return SessionRecord(
            state=bytes(row[0]), bound=frozenset(json.loads(row[1])), updated=row[2]
        )

    def delete_session(self, session_id: str) -> bool:
        with self._write() as db:
            return db.execute("DELETE FROM sessions WHERE id = ?", (session_id,)).rowcount > 0

    def sessions(self) -> list[str]:
        rows = self._connect().execute("SELECT id FROM sessions ORDER BY updated DESC")
        return [row[0] for row in rows]

    def expire_sessions(self, older_than: float) -> int:
        with self._write() as db:
            return db.execute("DELETE FROM sessions WHERE updated < ?", (older_than,)).rowcount

    # -- artifacts ----------------------------------------------------------------------

    def put_artifact(self, info: ArtifactInfo, data: bytes) -> None:
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO artifacts (id, info, created, data) VALUES (?, ?, ?, ?)",
                (info.id, json.dumps(dataclasses.asdict(info)), info.created, data),
            )

    def get_artifact(self, artifact_id: str) -> bytes | None:
        row = (
            self._connect()
            .execute("SELECT data FROM artifacts WHERE id = ?", (artifact_id,))
            .fetchone()
        )
        return bytes(row[0]) if row else None

    def artifact_info(self, artifact_id: str) -> ArtifactInfo | None:
        row = (
            self._connect()
            .execute("SELECT info FROM artifacts WHERE id = ?", (artifact_id,))
            .fetchone()
        )
        return ArtifactInfo(**json.loads(row[0])) if row else None

    def artifact_infos(self) -> list[ArtifactInfo]:
        rows = self._connect().execute("SELECT info FROM artifacts ORDER BY created")
        return [ArtifactInfo(**json.loads(row[0])) for row in rows]

    def delete_artifact(self, artifact_id: str) -> bool:
        with self._write() as db:
            return db.execute("DELETE FROM artifacts WHERE id = ?", (artifact_id,)).rowcount > 0


def _statements(script: str) -> list[str]:
    return [part.strip() for part in script.split(";") if part.strip()]
