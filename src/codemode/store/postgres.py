"""`PostgresStore`: state shared by several processes and machines through PostgreSQL.

Every write is its own transaction, committed before the method returns (with the
server's default `synchronous_commit`, a committed write is on the server's disk).
Connections come from one thread-safe pool per store. Writes that must read before they
write (the quota check, the next library version) hold a transaction-scoped advisory lock
on what they change, so concurrent writers on any number of machines take turns instead
of both passing a check. Memory recall ranks with PostgreSQL's full text search, over a
stored `tsvector` column with a GIN index.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from codemode.artifacts import ArtifactInfo
from codemode.errors import ConfigError
from codemode.store import mask_password
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

__all__ = ["MIGRATIONS", "PostgresStore"]

MIGRATIONS: tuple[str, ...] = (
    # 1: sessions and artifacts
    """
    CREATE TABLE sessions (
        id text COLLATE "C" PRIMARY KEY,
        state bytea NOT NULL,
        bound jsonb NOT NULL,
        updated double precision NOT NULL
    );
    CREATE INDEX sessions_updated ON sessions (updated);
    CREATE TABLE artifacts (
        id text COLLATE "C" PRIMARY KEY,
        info jsonb NOT NULL,
        created double precision NOT NULL,
        data bytea NOT NULL
    );
    CREATE INDEX artifacts_created ON artifacts (created);
    """,
    # 2: workspace files, the library, memory (full text through a stored tsvector)
    """
    CREATE TABLE files (
        workspace text COLLATE "C" NOT NULL,
        path text COLLATE "C" NOT NULL,
        data bytea NOT NULL,
        size bigint NOT NULL,
        modified double precision NOT NULL,
        PRIMARY KEY (workspace, path)
    );
    CREATE TABLE functions (
        scope text COLLATE "C" NOT NULL,
        name text COLLATE "C" NOT NULL,
        version integer NOT NULL,
        source text NOT NULL,
        signature text NOT NULL,
        description text,
        tests jsonb NOT NULL,
        created double precision NOT NULL,
        PRIMARY KEY (scope, name, version)
    );
    CREATE TABLE memories (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id text COLLATE "C" NOT NULL,
        profile text COLLATE "C" NOT NULL,
        text text NOT NULL,
        tags jsonb NOT NULL,
        created double precision NOT NULL,
        terms text NOT NULL,
        document tsvector GENERATED ALWAYS AS (to_tsvector('simple', terms)) STORED
    );
    CREATE INDEX memories_profile ON memories (profile, created);
    CREATE INDEX memories_document ON memories USING gin (document);
    """,
    # 3: the programs of a session (where library.save finds its definitions)
    """
    ALTER TABLE sessions ADD COLUMN programs jsonb NOT NULL DEFAULT '[]';
    """,
    # 4: approvals (paused programs) and the audit log; JSON kept as text, key order and all
    """
    CREATE TABLE approvals (
        id text COLLATE "C" PRIMARY KEY,
        created double precision NOT NULL,
        scope text COLLATE "C" NOT NULL,
        session text COLLATE "C",
        tool text NOT NULL,
        args text NOT NULL,
        state bytea NOT NULL,
        context text NOT NULL,
        status text NOT NULL,
        decided double precision
    );
    CREATE INDEX approvals_status ON approvals (status, created);
    CREATE INDEX approvals_session ON approvals (session);
    CREATE TABLE audit (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id text COLLATE "C" NOT NULL,
        time double precision NOT NULL,
        scope text COLLATE "C" NOT NULL,
        session text COLLATE "C",
        kind text NOT NULL,
        code text NOT NULL,
        status text NOT NULL,
        duration_ms double precision NOT NULL,
        tokens bigint NOT NULL,
        tool_calls text NOT NULL,
        error_type text,
        error_message text,
        approval_id text
    );
    CREATE INDEX audit_session ON audit (session, time);
    """,
)
"""Schema changes, in order; version N is the first N applied."""

_CONNECT_TIMEOUT_S = 10
_MIGRATE_LOCK = "codemode.schema"
_FILES_LOCK = "codemode.files"
_FUNCTIONS_LOCK = "codemode.functions"

_Connection = psycopg.Connection[TupleRow]


class PostgresStore:
    """A store in a PostgreSQL database (its tables are created when missing).

    `url` is a libpq URL, `postgresql://user:password@host:port/dbname?options`; the
    pool keeps `min_size` to `max_size` connections open.
    """

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 8) -> None:
        self.url = mask_password(url)
        self._password = _password(url)
        self._pool = self._open_pool(url, min_size, max_size)

    # -- connections --------------------------------------------------------------------

    def _open_pool(self, url: str, min_size: int, max_size: int) -> ConnectionPool[_Connection]:
        """Migrate through one direct connection (so a failure reports its cause), then
        open the pool."""
        options: dict[str, Any] = {"autocommit": True}
        try:
            if "connect_timeout" not in conninfo_to_dict(url):
                options["connect_timeout"] = _CONNECT_TIMEOUT_S
            with psycopg.connect(url, **options) as connection:
                self._migrate(connection)
        except psycopg.Error as exc:
            raise ConfigError(f"cannot open the store {self.url}: {self._reason(exc)}") from None
        pool: ConnectionPool[_Connection] = ConnectionPool(
            url,
            kwargs=options,
            min_size=min_size,
            max_size=max_size,
            open=False,
            name="codemode-store",
        )
        try:
            pool.open(wait=True, timeout=_CONNECT_TIMEOUT_S)
        except Exception as exc:
            pool.close()
            raise ConfigError(f"cannot open the store {self.url}: {self._reason(exc)}") from None
        return pool

    def _reason(self, exc: Exception) -> str:
        """The error's message on one line, without the URL's password."""
        reason = " ".join(str(exc).split()) or type(exc).__name__
        return reason.replace(self._password, "***") if self._password else reason

    def _migrate(self, connection: _Connection) -> None:
        """Bring the schema to the newest version, one process at a time."""
        with connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (_MIGRATE_LOCK,))
            connection.execute("CREATE TABLE IF NOT EXISTS codemode_schema (version integer)")
            row = connection.execute("SELECT version FROM codemode_schema").fetchone()
            if row is None:
                connection.execute("INSERT INTO codemode_schema (version) VALUES (0)")
            version = int(row[0]) if row else 0
            if version > len(MIGRATIONS):
                raise ConfigError(
                    f"the store {self.url} has schema version {version}, newer than this "
                    f"codemode knows ({len(MIGRATIONS)}); upgrade codemode"
                )
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                connection.execute(script)
                connection.execute("UPDATE codemode_schema SET version = %s", (number,))

    @contextlib.contextmanager
    def _write(self) -> Iterator[_Connection]:
        """One transaction, committed when the block ends (rolled back if it raises)."""
        with self._pool.connection() as connection, connection.transaction():
            yield connection

    def _one(self, sql: str, parameters: tuple[Any, ...]) -> Any:
        with self._pool.connection() as connection:
            return connection.execute(sql, parameters).fetchone()

    def _all(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[Any]:
        with self._pool.connection() as connection:
            return connection.execute(sql, parameters).fetchall()

    def _change(self, sql: str, parameters: tuple[Any, ...]) -> int:
        """Run one statement, which (the connections being in autocommit mode) is its own
        transaction, committed before `execute` returns; how many rows it touched."""
        with self._pool.connection() as connection:
            return connection.execute(sql, parameters).rowcount

    def close(self) -> None:
        self._pool.close()

    # -- sessions -----------------------------------------------------------------------

    def save_session(
        self,
        session_id: str,
        state: bytes,
        bound: frozenset[str],
        programs: Sequence[str] = (),
    ) -> float:
        updated = time.time()
        self._change(
            "INSERT INTO sessions (id, state, bound, updated, programs) "
            "VALUES (%s, %s, %s, %s, %s) "
            "ON CONFLICT (id) DO UPDATE SET state = excluded.state, "
            "bound = excluded.bound, updated = excluded.updated, "
            "programs = excluded.programs",
            (session_id, state, Jsonb(sorted(bound)), updated, Jsonb(list(programs))),
        )
        return updated

    def session_updated(self, session_id: str) -> float | None:
        row = self._one("SELECT updated FROM sessions WHERE id = %s", (session_id,))
        return float(row[0]) if row else None

    def load_session(self, session_id: str) -> SessionRecord | None:
        row = self._one(
            "SELECT state, bound, updated, programs FROM sessions WHERE id = %s", (session_id,)
        )
        if row is None:
            return None
        return SessionRecord(
            state=bytes(row[0]),
            bound=frozenset(row[1]),
            updated=row[2],
            programs=tuple(row[3]),
        )

    def delete_session(self, session_id: str) -> bool:
        return self._change("DELETE FROM sessions WHERE id = %s", (session_id,)) > 0

    def sessions(self) -> list[str]:
        return [r[0] for r in self._all("SELECT id FROM sessions ORDER BY updated DESC")]

    def expire_sessions(self, older_than: float) -> int:
        return self._change("DELETE FROM sessions WHERE updated < %s", (older_than,))

    # -- artifacts ----------------------------------------------------------------------

    def put_artifact(self, info: ArtifactInfo, data: bytes) -> None:
        self._change(
            "INSERT INTO artifacts (id, info, created, data) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (id) DO UPDATE SET info = excluded.info, "
            "created = excluded.created, data = excluded.data",
            (info.id, Jsonb(dataclasses.asdict(info)), info.created, data),
        )

    def get_artifact(self, artifact_id: str) -> bytes | None:
        row = self._one("SELECT data FROM artifacts WHERE id = %s", (artifact_id,))
        return bytes(row[0]) if row else None

    def artifact_info(self, artifact_id: str) -> ArtifactInfo | None:
        row = self._one("SELECT info FROM artifacts WHERE id = %s", (artifact_id,))
        return ArtifactInfo(**row[0]) if row else None

    def artifact_infos(self) -> list[ArtifactInfo]:
        rows = self._all("SELECT info FROM artifacts ORDER BY created")
        return [ArtifactInfo(**row[0]) for row in rows]

    def delete_artifact(self, artifact_id: str) -> bool:
        return self._change("DELETE FROM artifacts WHERE id = %s", (artifact_id,)) > 0

    # -- workspace files ----------------------------------------------------------------

    def write_file(
        self, workspace: str, path: str, data: bytes, *, quota: Quota | None = None
    ) -> FileInfo:
        """With `quota`, writers to the workspace take turns (an advisory lock), so two
        of them cannot both pass the check."""
        info = FileInfo(path=path, size=len(data), modified=time.time())
        with self._write() as db:
            if quota is not None:
                db.execute(
                    "SELECT pg_advisory_xact_lock(hashtext(%s), hashtext(%s))",
                    (_FILES_LOCK, workspace),
                )
                files, size = _row(
                    db.execute(
                        "SELECT count(*), coalesce(sum(size), 0) FROM files "
                        "WHERE workspace = %s AND path <> %s",
                        (workspace, path),
                    )
                )
                check_quota(quota, files + 1, size + len(data))
            db.execute(
                "INSERT INTO files (workspace, path, data, size, modified) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (workspace, path) DO UPDATE SET "
                "data = excluded.data, size = excluded.size, modified = excluded.modified",
                (workspace, path, data, info.size, info.modified),
            )
        return info

    def read_file(self, workspace: str, path: str) -> bytes | None:
        row = self._one(
            "SELECT data FROM files WHERE workspace = %s AND path = %s", (workspace, path)
        )
        return bytes(row[0]) if row else None

    def file_info(self, workspace: str, path: str) -> FileInfo | None:
        row = self._one(
            "SELECT path, size, modified FROM files WHERE workspace = %s AND path = %s",
            (workspace, path),
        )
        return FileInfo(path=row[0], size=row[1], modified=row[2]) if row else None

    def list_files(self, workspace: str, prefix: str = "") -> list[FileInfo]:
        rows = self._all(
            "SELECT path, size, modified FROM files WHERE workspace = %s "
            "AND starts_with(path, %s) ORDER BY path",
            (workspace, prefix),
        )
        return [FileInfo(path=r[0], size=r[1], modified=r[2]) for r in rows]

    def delete_file(self, workspace: str, path: str) -> bool:
        return (
            self._change("DELETE FROM files WHERE workspace = %s AND path = %s", (workspace, path))
            > 0
        )

    def rename_file(self, workspace: str, source: str, target: str) -> bool:
        with self._write() as db:
            row = db.execute(
                "SELECT 1 FROM files WHERE workspace = %s AND path = %s FOR UPDATE",
                (workspace, source),
            ).fetchone()
            if row is None or source == target:
                return row is not None
            db.execute("DELETE FROM files WHERE workspace = %s AND path = %s", (workspace, target))
            db.execute(
                "UPDATE files SET path = %s, modified = %s WHERE workspace = %s AND path = %s",
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
        """Savers of one function take turns (an advisory lock on its scope and name), so
        each reads the latest version after the previous saver committed."""
        with self._write() as db:
            db.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s), hashtext(%s || '/' || %s))",
                (_FUNCTIONS_LOCK, scope, name),
            )
            (latest,) = _row(
                db.execute(
                    "SELECT coalesce(max(version), 0) FROM functions "
                    "WHERE scope = %s AND name = %s",
                    (scope, name),
                )
            )
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
                "description, tests, created) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    scope,
                    name,
                    function.version,
                    source,
                    signature,
                    description,
                    Jsonb(list(tests)),
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
                self._FUNCTION + "WHERE scope = %s AND name = %s ORDER BY version DESC LIMIT 1",
                (scope, name),
            )
        else:
            row = self._one(
                self._FUNCTION + "WHERE scope = %s AND name = %s AND version = %s",
                (scope, name, version),
            )
        return _function(row) if row else None

    def function_history(self, scope: str, name: str) -> list[LibraryFunction]:
        rows = self._all(
            self._FUNCTION + "WHERE scope = %s AND name = %s ORDER BY version", (scope, name)
        )
        return [_function(r) for r in rows]

    def list_functions(self, scope: str) -> list[LibraryFunction]:
        rows = self._all(
            "SELECT DISTINCT ON (name) scope, name, version, source, signature, description, "
            "tests, created FROM functions WHERE scope = %s ORDER BY name, version DESC",
            (scope,),
        )
        return [_function(r) for r in rows]

    def function_versions(self, scope: str) -> dict[str, int]:
        rows = self._all(
            "SELECT name, max(version) FROM functions WHERE scope = %s GROUP BY name ORDER BY name",
            (scope,),
        )
        return {str(name): int(version) for name, version in rows}

    def delete_function(self, scope: str, name: str) -> int:
        return self._change("DELETE FROM functions WHERE scope = %s AND name = %s", (scope, name))

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
        if not records:
            return records
        with self._write() as db, db.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO memories (id, profile, text, tags, created, terms) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                [
                    (r.id, profile, r.text, Jsonb(list(r.tags)), now, index_text(r.text, r.tags))
                    for r in records
                ],
            )
        return records

    def recall(self, profile: str, query: str, k: int = 5) -> list[MemoryRecord]:
        """Ranked by `ts_rank` over the same stems the other stores index (kept in
        `terms`, searched with the `simple` configuration, which changes nothing)."""
        terms = query_stems(query)
        if not terms or k <= 0:
            return []
        rows = self._all(
            "SELECT m.id, m.profile, m.text, m.tags, m.created, ts_rank(m.document, q) "
            "FROM memories AS m, to_tsquery('simple', %s) AS q "
            "WHERE m.profile = %s AND m.document @@ q "
            "ORDER BY 6 DESC, m.created DESC, m.seq DESC LIMIT %s",
            (_any_of(terms), profile, k),
        )
        return [_memory(r[:5], score=float(r[5])) for r in rows]

    def list_memories(
        self, profile: str, tag: str | None = None, limit: int | None = None
    ) -> list[MemoryRecord]:
        sql = "SELECT id, profile, text, tags, created FROM memories WHERE profile = %s"
        parameters: tuple[Any, ...] = (profile,)
        if tag is not None:
            sql += " AND tags @> %s"
            parameters += (Jsonb([tag]),)
        sql += " ORDER BY created DESC, seq DESC LIMIT %s"
        parameters += (limit,)
        return [_memory(r) for r in self._all(sql, parameters)]

    def forget(self, profile: str, memory_id: str) -> bool:
        return (
            self._change(
                "DELETE FROM memories WHERE profile = %s AND id = %s", (profile, memory_id)
            )
            > 0
        )

    def memory_profiles(self) -> list[str]:
        return [r[0] for r in self._all("SELECT DISTINCT profile FROM memories ORDER BY 1")]

    # -- approvals ----------------------------------------------------------------------

    _APPROVAL_COLUMNS = ", ".join(APPROVAL_COLUMNS)
    _LISTED_APPROVAL = ", ".join("''::bytea" if c == "state" else c for c in APPROVAL_COLUMNS)

    def save_approval(self, record: ApprovalRecord) -> None:
        self._change(
            f"INSERT INTO approvals ({self._APPROVAL_COLUMNS}) VALUES ({_marks(APPROVAL_COLUMNS)})",
            approval_to_row(record),
        )

    def get_approval(self, approval_id: str) -> ApprovalRecord | None:
        row = self._one(
            f"SELECT {self._APPROVAL_COLUMNS} FROM approvals WHERE id = %s", (approval_id,)
        )
        return approval_from_row(row) if row else None

    def decide_approval(self, approval_id: str, status: str) -> ApprovalRecord | None:
        """One conditional UPDATE: a concurrent decider waits for the row, then finds it
        no longer pending."""
        check_approval_decision(status)
        with self._write() as db:
            row = db.execute(
                "UPDATE approvals SET status = %s, decided = %s WHERE id = %s "
                f"AND status = 'pending' RETURNING {self._APPROVAL_COLUMNS}",
                (status, time.time(), approval_id),
            ).fetchone()
        return approval_from_row(row) if row else None

    def list_approvals(
        self, *, status: str | None = "pending", session: str | None = None
    ) -> list[ApprovalRecord]:
        where, parameters = where_clause(("status = %s", status), ("session = %s", session))
        rows = self._all(
            f"SELECT {self._LISTED_APPROVAL} FROM approvals {where} ORDER BY created, id",
            parameters,
        )
        return [approval_from_row(r) for r in rows]

    def expire_approvals(self, older_than: float) -> int:
        return self._change("DELETE FROM approvals WHERE created < %s", (older_than,))

    # -- audit --------------------------------------------------------------------------

    _AUDIT_COLUMNS = ", ".join(AUDIT_COLUMNS)

    def add_audit(self, record: AuditRecord) -> None:
        self._change(
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
            ("session = %s", session), ("time >= %s", since), ("scope = %s", scope)
        )
        rows = self._all(
            f"SELECT {self._AUDIT_COLUMNS} FROM audit {where} "
            "ORDER BY time DESC, seq DESC LIMIT %s",
            (*parameters, limit),
        )
        return [audit_from_row(r) for r in reversed(rows)]


def _password(url: str) -> str | None:
    """The password a libpq URL carries, if any (None when it cannot be parsed)."""
    try:
        password = conninfo_to_dict(url).get("password")
    except psycopg.Error:
        return None
    return str(password) if password else None


def _any_of(terms: list[str]) -> str:
    """A `to_tsquery` text matching any of `terms`, each quoted as a literal word."""
    quoted = ("'" + term.replace("\\", "\\\\").replace("'", "''") + "'" for term in terms)
    return " | ".join(quoted)


def _row(cursor: psycopg.Cursor[TupleRow]) -> TupleRow:
    """The one row an aggregate query returns."""
    row = cursor.fetchone()
    if row is None:
        raise RuntimeError("an aggregate query returned no row")
    return row


def _marks(columns: Sequence[str]) -> str:
    """One `%s` per column, comma-separated."""
    return ", ".join("%s" for _ in columns)


def _function(row: Any) -> LibraryFunction:
    return function_from_row(row, list)


def _memory(row: Any, score: float | None = None) -> MemoryRecord:
    return memory_from_row(row, list, score)
