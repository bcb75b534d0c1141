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
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from codemode.artifacts import ArtifactInfo
from codemode.errors import ConfigError
from codemode.store.records import (
    APPROVAL_COLUMNS,
    AUDIT_COLUMNS,
    FUNCTION_COLUMNS,
    ApprovalRecord,
    AuditRecord,
    FileInfo,
    LibraryFunction,
    MemoryRecord,
    Quota,
    SessionRecord,
    approval_from_row,
    approval_to_row,
    audit_from_row,
    audit_to_row,
    check_approval_decision,
    check_quota,
    function_from_row,
    index_text,
    memory_from_row,
    new_memory_id,
    query_stems,
    where_clause,
)

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
    # 2: workspace files, the library, memory (full text through FTS5)
    """
    CREATE TABLE files (
        workspace TEXT NOT NULL,
        path TEXT NOT NULL,
        data BLOB NOT NULL,
        size INTEGER NOT NULL,
        modified REAL NOT NULL,
        PRIMARY KEY (workspace, path)
    );
    CREATE TABLE functions (
        scope TEXT NOT NULL,
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        source TEXT NOT NULL,
        signature TEXT NOT NULL,
        description TEXT,
        tests TEXT NOT NULL,
        created REAL NOT NULL,
        PRIMARY KEY (scope, name, version)
    );
    CREATE TABLE memories (
        rowid INTEGER PRIMARY KEY,
        id TEXT NOT NULL,
        profile TEXT NOT NULL,
        text TEXT NOT NULL,
        tags TEXT NOT NULL,
        created REAL NOT NULL
    );
    CREATE INDEX memories_profile ON memories (profile, created);
    CREATE VIRTUAL TABLE memories_fts USING fts5 (terms, tokenize = 'unicode61');
    """,
    # 3: the programs of a session (where library.save finds its definitions)
    """
    ALTER TABLE sessions ADD COLUMN programs TEXT NOT NULL DEFAULT '[]';
    """,
    # 4: approvals (paused programs) and the audit log
    """
    CREATE TABLE approvals (
        id TEXT PRIMARY KEY,
        created REAL NOT NULL,
        scope TEXT NOT NULL,
        session TEXT,
        tool TEXT NOT NULL,
        args TEXT NOT NULL,
        state BLOB NOT NULL,
        context TEXT NOT NULL,
        status TEXT NOT NULL,
        decided REAL
    );
    CREATE INDEX approvals_status ON approvals (status, created);
    CREATE INDEX approvals_session ON approvals (session);
    CREATE TABLE audit (
        rowid INTEGER PRIMARY KEY,
        id TEXT NOT NULL,
        time REAL NOT NULL,
        scope TEXT NOT NULL,
        session TEXT,
        kind TEXT NOT NULL,
        code TEXT NOT NULL,
        status TEXT NOT NULL,
        duration_ms REAL NOT NULL,
        tokens INTEGER NOT NULL,
        tool_calls TEXT NOT NULL,
        error_type TEXT,
        error_message TEXT,
        approval_id TEXT
    );
    CREATE INDEX audit_session ON audit (session, time);
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

    def _one(self, sql: str, parameters: tuple[Any, ...]) -> Any:
        return self._connect().execute(sql, parameters).fetchone()

    def _all(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[Any]:
        return self._connect().execute(sql, parameters).fetchall()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, []
        for connection in connections:
            with contextlib.suppress(sqlite3.Error):
                connection.close()

    # -- sessions -----------------------------------------------------------------------

    def save_session(
        self,
        session_id: str,
        state: bytes,
        bound: frozenset[str],
        programs: Sequence[str] = (),
    ) -> float:
        updated = time.time()
        with self._write() as db:
            db.execute(
                "INSERT INTO sessions (id, state, bound, updated, programs) "
                "VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET state = excluded.state, "
                "bound = excluded.bound, updated = excluded.updated, "
                "programs = excluded.programs",
                (session_id, state, json.dumps(sorted(bound)), updated, json.dumps(list(programs))),
            )
        return updated

    def session_updated(self, session_id: str) -> float | None:
        row = self._one("SELECT updated FROM sessions WHERE id = ?", (session_id,))
        return float(row[0]) if row else None

    def load_session(self, session_id: str) -> SessionRecord | None:
        row = (
            self._connect()
            .execute(
                "SELECT state, bound, updated, programs FROM sessions WHERE id = ?",
                (session_id,),
            )
            .fetchone()
        )
        if row is None:
            return None
        return SessionRecord(
            state=bytes(row[0]),
            bound=frozenset(json.loads(row[1])),
            updated=row[2],
            programs=tuple(json.loads(row[3])),
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

    # -- workspace files ----------------------------------------------------------------

    def write_file(
        self, workspace: str, path: str, data: bytes, *, quota: Quota | None = None
    ) -> FileInfo:
        info = FileInfo(path=path, size=len(data), modified=time.time())
        with self._write() as db:
            if quota is not None:
                files, size = db.execute(
                    "SELECT count(*), coalesce(sum(size), 0) FROM files "
                    "WHERE workspace = ? AND path != ?",
                    (workspace, path),
                ).fetchone()
                check_quota(quota, files + 1, size + len(data))
            db.execute(
                "INSERT OR REPLACE INTO files (workspace, path, data, size, modified) "
                "VALUES (?, ?, ?, ?, ?)",
                (workspace, path, data, info.size, info.modified),
            )
        return info

    def read_file(self, workspace: str, path: str) -> bytes | None:
        row = self._one(
            "SELECT data FROM files WHERE workspace = ? AND path = ?", (workspace, path)
        )
        return bytes(row[0]) if row else None

    def file_info(self, workspace: str, path: str) -> FileInfo | None:
        row = self._one(
            "SELECT path, size, modified FROM files WHERE workspace = ? AND path = ?",
            (workspace, path),
        )
        return FileInfo(path=row[0], size=row[1], modified=row[2]) if row else None

    def list_files(self, workspace: str, prefix: str = "") -> list[FileInfo]:
        rows = self._all(
            "SELECT path, size, modified FROM files WHERE workspace = ? "
            "AND substr(path, 1, ?) = ? ORDER BY path",
            (workspace, len(prefix), prefix),
        )
        return [FileInfo(path=r[0], size=r[1], modified=r[2]) for r in rows]

    def delete_file(self, workspace: str, path: str) -> bool:
        with self._write() as db:
            cursor = db.execute(
                "DELETE FROM files WHERE workspace = ? AND path = ?", (workspace, path)
            )
            return cursor.rowcount > 0

    def rename_file(self, workspace: str, source: str, target: str) -> bool:
        with self._write() as db:
            row = db.execute(
                "SELECT 1 FROM files WHERE workspace = ? AND path = ?", (workspace, source)
            ).fetchone()
            if row is None or source == target:
                return row is not None
            db.execute("DELETE FROM files WHERE workspace = ? AND path = ?", (workspace, target))
            db.execute(
                "UPDATE files SET path = ?, modified = ? WHERE workspace = ? AND path = ?",
                (target, time.time(), workspace, source),
            )
            return True

    def workspaces(self) -> list[str]:
        return [r[0] for r in self._all("SELECT DISTINCT workspace FROM files ORDER BY 1")]

    # -- library ------------------------------------------------------------------------

    def save_function(
        self,
        scope: str,
        name: str,
        *,
        source: str,
        signature: str,
        description: str | None,
        tests: tuple[str, ...],
    ) -> LibraryFunction:
        with self._write() as db:
            (latest,) = db.execute(
                "SELECT coalesce(max(version), 0) FROM functions WHERE scope = ? AND name = ?",
                (scope, name),
            ).fetchone()
            function = LibraryFunction(
                scope=scope,
                name=name,
                version=latest + 1,
                source=source,
                signature=signature,
                description=description,
                tests=tuple(tests),
                created=time.time(),
            )
            db.execute(
                "INSERT INTO functions (scope, name, version, source, signature, "
                "description, tests, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    scope,
                    name,
                    function.version,
                    source,
                    signature,
                    description,
                    json.dumps(list(tests)),
                    function.created,
                ),
            )
        return function

    _FUNCTION = f"SELECT {', '.join(FUNCTION_COLUMNS)} FROM functions "

    def get_function(
        self, scope: str, name: str, version: int | None = None
    ) -> LibraryFunction | None:
        if version is None:
            row = self._one(
                self._FUNCTION + "WHERE scope = ? AND name = ? ORDER BY version DESC LIMIT 1",
                (scope, name),
            )
        else:
            row = self._one(
                self._FUNCTION + "WHERE scope = ? AND name = ? AND version = ?",
                (scope, name, version),
            )
        return _function(row) if row else None

    def function_history(self, scope: str, name: str) -> list[LibraryFunction]:
        rows = self._all(
            self._FUNCTION + "WHERE scope = ? AND name = ? ORDER BY version", (scope, name)
        )
        return [_function(r) for r in rows]

    def list_functions(self, scope: str) -> list[LibraryFunction]:
        rows = self._all(
            self._FUNCTION + "AS f WHERE scope = ? AND version = (SELECT max(version) "
            "FROM functions WHERE scope = f.scope AND name = f.name) ORDER BY name",
            (scope,),
        )
        return [_function(r) for r in rows]

    def function_versions(self, scope: str) -> dict[str, int]:
        rows = self._all(
            "SELECT name, max(version) FROM functions WHERE scope = ? GROUP BY name ORDER BY name",
            (scope,),
        )
        return {str(name): int(version) for name, version in rows}

    def delete_function(self, scope: str, name: str) -> int:
        with self._write() as db:
            cursor = db.execute("DELETE FROM functions WHERE scope = ? AND name = ?", (scope, name))
            return cursor.rowcount

    def library_scopes(self) -> list[str]:
        return [r[0] for r in self._all("SELECT DISTINCT scope FROM functions ORDER BY 1")]

    # -- memory -------------------------------------------------------------------------

    def add_memories(
        self, profile: str, items: Sequence[tuple[str, tuple[str, ...]]]
    ) -> list[MemoryRecord]:
        now = time.time()
        records = [
            MemoryRecord(
                id=new_memory_id(), profile=profile, text=text, tags=tuple(tags), created=now
            )
            for text, tags in items
        ]
        with self._write() as db:
            for r in records:
                cursor = db.execute(
                    "INSERT INTO memories (id, profile, text, tags, created) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (r.id, profile, r.text, json.dumps(list(r.tags)), now),
                )
                db.execute(
                    "INSERT INTO memories_fts (rowid, terms) VALUES (?, ?)",
                    (cursor.lastrowid, index_text(r.text, r.tags)),
                )
        return records

    def recall(self, profile: str, query: str, k: int = 5) -> list[MemoryRecord]:
        terms = query_stems(query)
        if not terms or k <= 0:
            return []
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
        rows = self._all(
            "SELECT m.id, m.profile, m.text, m.tags, m.created, bm25(memories_fts) "
            "FROM memories_fts JOIN memories AS m ON m.rowid = memories_fts.rowid "
            "WHERE memories_fts MATCH ? AND m.profile = ? "
            "ORDER BY bm25(memories_fts), m.created DESC LIMIT ?",
            (match, profile, k),
        )
        return [_memory(r[:5], score=-float(r[5])) for r in rows]

    def list_memories(
        self, profile: str, tag: str | None = None, limit: int | None = None
    ) -> list[MemoryRecord]:
        sql = "SELECT id, profile, text, tags, created FROM memories WHERE profile = ?"
        parameters: tuple[Any, ...] = (profile,)
        if tag is not None:
            sql += " AND EXISTS (SELECT 1 FROM json_each(memories.tags) WHERE value = ?)"
            parameters += (tag,)
        sql += " ORDER BY created DESC, rowid DESC LIMIT ?"
        parameters += (-1 if limit is None else limit,)
        return [_memory(r) for r in self._all(sql, parameters)]

    def forget(self, profile: str, memory_id: str) -> bool:
        with self._write() as db:
            row = db.execute(
                "DELETE FROM memories WHERE profile = ? AND id = ? RETURNING rowid",
                (profile, memory_id),
            ).fetchone()
            if row is None:
                return False
            db.execute("DELETE FROM memories_fts WHERE rowid = ?", (row[0],))
            return True

    def memory_profiles(self) -> list[str]:
        return [r[0] for r in self._all("SELECT DISTINCT profile FROM memories ORDER BY 1")]

    # -- approvals ----------------------------------------------------------------------

    _APPROVAL_COLUMNS = ", ".join(APPROVAL_COLUMNS)
    _LISTED_APPROVAL = ", ".join("x''" if c == "state" else c for c in APPROVAL_COLUMNS)

    def save_approval(self, record: ApprovalRecord) -> None:
        with self._write() as db:
            db.execute(
                f"INSERT INTO approvals ({self._APPROVAL_COLUMNS}) "
                f"VALUES ({_marks(APPROVAL_COLUMNS)})",
                approval_to_row(record),
            )

    def get_approval(self, approval_id: str) -> ApprovalRecord | None:
        row = self._one(
            f"SELECT {self._APPROVAL_COLUMNS} FROM approvals WHERE id = ?", (approval_id,)
        )
        return approval_from_row(row) if row else None

    def decide_approval(self, approval_id: str, status: str) -> ApprovalRecord | None:
        check_approval_decision(status)
        with self._write() as db:
            row = db.execute(
                "UPDATE approvals SET status = ?, decided = ? WHERE id = ? "
                f"AND status = 'pending' RETURNING {self._APPROVAL_COLUMNS}",
                (status, time.time(), approval_id),
            ).fetchone()
        return approval_from_row(row) if row else None

    def list_approvals(
        self, *, status: str | None = "pending", session: str | None = None
    ) -> list[ApprovalRecord]:
        where, parameters = where_clause(("status = ?", status), ("session = ?", session))
        rows = self._all(
            f"SELECT {self._LISTED_APPROVAL} FROM approvals {where} ORDER BY created, id",
            parameters,
        )
        return [approval_from_row(r) for r in rows]

    def expire_approvals(self, older_than: float) -> int:
        with self._write() as db:
            return db.execute("DELETE FROM approvals WHERE created < ?", (older_than,)).rowcount

    # -- audit --------------------------------------------------------------------------

    _AUDIT_COLUMNS = ", ".join(AUDIT_COLUMNS)

    def add_audit(self, record: AuditRecord) -> None:
        # One statement commits on its own (autocommit): every execution pays for this
        # write, and an explicit transaction costs a third more.
        self._connect().execute(
            f"INSERT INTO audit ({self._AUDIT_COLUMNS}) VALUES ({_marks(AUDIT_COLUMNS)})",
            audit_to_row(record),
        )

    def list_audit(
        self,
        *,
        session: str | None = None,
        since: float | None = None,
        scope: str | None = None,
        limit: int | None = None,
    ) -> list[AuditRecord]:
        where, parameters = where_clause(
            ("session = ?", session), ("time >= ?", since), ("scope = ?", scope)
        )
        rows = self._all(
            f"SELECT {self._AUDIT_COLUMNS} FROM audit {where} "
            "ORDER BY time DESC, rowid DESC LIMIT ?",
            (*parameters, -1 if limit is None else limit),
        )
        return [audit_from_row(r) for r in reversed(rows)]


def _function(row: Any) -> LibraryFunction:
    return function_from_row(row, json.loads)


def _memory(row: Any, score: float | None = None) -> MemoryRecord:
    return memory_from_row(row, json.loads, score)


def _marks(columns: Sequence[str]) -> str:
    """One `?` per column, comma-separated."""
    return ", ".join("?" for _ in columns)


def _statements(script: str) -> list[str]:
    """The statements of a migration script (a trigger's body stays whole)."""
    statements: list[str] = []
    current = ""
    for part in script.split(";"):
        current += part + ";"
        if sqlite3.complete_statement(current):
            if current.strip(" \n;"):
                statements.append(current.strip())
            current = ""
    return statements
