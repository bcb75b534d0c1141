"""Durable state: one `Store` protocol, three implementations.

* `MemoryStore` — in this process only (tests, throwaway runs);
* `SQLiteStore` — the embedded default: one file (WAL), in the user's data dir unless
  `[store] url` or `CodeMode(store=...)` names another;
* `PostgresStore` — a PostgreSQL database, for several machines sharing state (needs the
  `codemode[postgres]` extra: psycopg and its connection pool).

What lives in a store: sessions (a sandbox's state, so a session can survive a restart
and move between processes), artifacts, workspace files, the library, memories,
approvals (programs paused until a human decides) and the audit log. Every write is
committed before the call returns. Schemas are versioned; a store migrates itself
forward when opened.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from codemode.artifacts import ArtifactInfo
from codemode.errors import ConfigError
from codemode.store.records import (
    ApprovalRecord,
    AuditRecord,
    FileInfo,
    LibraryFunction,
    MemoryRecord,
    Quota,
    QuotaExceeded,
    SessionRecord,
)

__all__ = [
    "ApprovalRecord",
    "AuditRecord",
    "FileInfo",
    "LibraryFunction",
    "MemoryRecord",
    "Quota",
    "QuotaExceeded",
    "SessionRecord",
    "Store",
    "default_store_url",
    "mask_password",
    "open_store",
    "sqlite_path",
]


class Store(Protocol):
    """Where durable state lives. Implementations are thread-safe; every write is
    committed before the method returns."""

    url: str
    """Where it is, with any password masked."""

    # -- sessions -----------------------------------------------------------------------

    def save_session(
        self,
        session_id: str,
        state: bytes,
        bound: frozenset[str],
        programs: Sequence[str] = (),
    ) -> float:
        """Create or replace a session's state; returns the save's `updated` time."""
        ...

    def load_session(self, session_id: str) -> SessionRecord | None:
        """A session's state, or None."""
        ...

    def session_updated(self, session_id: str) -> float | None:
        """When the session was last saved (cheap: no state is read), or None."""
        ...

    def delete_session(self, session_id: str) -> bool:
        """Forget a session; returns whether it existed."""
        ...

    def sessions(self) -> list[str]:
        """Ids of the stored sessions, most recently saved first."""
        ...

    def expire_sessions(self, older_than: float) -> int:
        """Delete sessions last saved before the Unix time `older_than`; how many."""
        ...

    # -- artifacts ----------------------------------------------------------------------

    def put_artifact(self, info: ArtifactInfo, data: bytes) -> None:
        """Store an artifact (its JSON bytes) under `info.id`."""
        ...

    def get_artifact(self, artifact_id: str) -> bytes | None:
        """An artifact's bytes, or None."""
        ...

    def artifact_info(self, artifact_id: str) -> ArtifactInfo | None:
        """An artifact's info, or None."""
        ...

    def artifact_infos(self) -> list[ArtifactInfo]:
        """Every stored artifact's info, oldest first."""
        ...

    def delete_artifact(self, artifact_id: str) -> bool:
        """Remove an artifact; returns whether it existed."""
        ...

    # -- workspace files ----------------------------------------------------------------

    def write_file(
        self, workspace: str, path: str, data: bytes, *, quota: Quota | None = None
    ) -> FileInfo:
        """Create or replace a file. With `quota`, the write is refused (QuotaExceeded,
        nothing written) if the workspace would then hold more bytes or files; the check
        and the write are one transaction."""
        ...

    def read_file(self, workspace: str, path: str) -> bytes | None:
        """A file's bytes, or None."""
        ...

    def file_info(self, workspace: str, path: str) -> FileInfo | None:
        """A file's size and time, or None."""
        ...

    def list_files(self, workspace: str, prefix: str = "") -> list[FileInfo]:
        """The files whose path starts with `prefix`, sorted by path."""
        ...

    def delete_file(self, workspace: str, path: str) -> bool:
        """Remove a file; returns whether it existed."""
        ...

    def rename_file(self, workspace: str, source: str, target: str) -> bool:
        """Move a file (replacing `target`); returns whether `source` existed."""
        ...

    def workspaces(self) -> list[str]:
        """Ids of the workspaces holding at least one file, sorted."""
        ...

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
        """Save a new version of a function (version = previous + 1, in one
        transaction, so concurrent saves never share a number)."""
        ...

    def get_function(
        self, scope: str, name: str, version: int | None = None
    ) -> LibraryFunction | None:
        """The latest version of a function (or the given version), or None."""
        ...

    def function_history(self, scope: str, name: str) -> list[LibraryFunction]:
        """Every version of a function, oldest first."""
        ...

    def list_functions(self, scope: str) -> list[LibraryFunction]:
        """The latest version of each function in `scope`, sorted by name."""
        ...

    def function_versions(self, scope: str) -> dict[str, int]:
        """Each function's latest version number, by name (cheap: no sources are read),
        so callers can tell whether the library changed."""
        ...

    def delete_function(self, scope: str, name: str) -> int:
        """Remove every version of a function; returns how many there were."""
        ...

    def library_scopes(self) -> list[str]:
        """Scopes holding at least one function, sorted."""
        ...

    # -- memory -------------------------------------------------------------------------

    def add_memories(
        self, profile: str, items: Sequence[tuple[str, tuple[str, ...]]]
    ) -> list[MemoryRecord]:
        """Remember each (text, tags) in one transaction; the new records in order."""
        ...

    def recall(self, profile: str, query: str, k: int = 5) -> list[MemoryRecord]:
        """The `k` memories that best match `query` by full-text ranking (any of its
        meaningful words may match; stems match), best first, each with a `score`."""
        ...

    def list_memories(
        self, profile: str, tag: str | None = None, limit: int | None = None
    ) -> list[MemoryRecord]:
        """Memories of `profile` (only those tagged `tag`, if given), newest first."""
        ...

    def forget(self, profile: str, memory_id: str) -> bool:
        """Remove a memory; returns whether it existed."""
        ...

    def memory_profiles(self) -> list[str]:
        """Profiles holding at least one memory, sorted."""
        ...

    # -- approvals ----------------------------------------------------------------------

    def save_approval(self, record: ApprovalRecord) -> None:
        """Keep a paused program (a new id)."""
        ...

    def get_approval(self, approval_id: str) -> ApprovalRecord | None:
        """The approval, whatever its status (None when unknown or expired)."""
        ...

    def decide_approval(self, approval_id: str, status: str) -> ApprovalRecord | None:
        """Atomically move a *pending* approval to `approved` or `denied` (setting
        `decided`) and return it as it now is; None when it is unknown or was already
        decided (so exactly one caller, in any process, gets to resume it)."""
        ...

    def list_approvals(
        self, *, status: str | None = "pending", session: str | None = None
    ) -> list[ApprovalRecord]:
        """Approvals with that status (None: any), of one session or all, oldest first.
        Their `state` is left empty (b"")."""
        ...

    def expire_approvals(self, older_than: float) -> int:
        """Delete approvals created before `older_than` (Unix time); returns how many."""
        ...

    # -- audit --------------------------------------------------------------------------

    def add_audit(self, record: AuditRecord) -> None:
        """Append one execution to the audit log."""
        ...

    def list_audit(
        self,
        *,
        session: str | None = None,
        since: float | None = None,
        scope: str | None = None,
        limit: int | None = None,
    ) -> list[AuditRecord]:
        """Executions, oldest first; filtered by session, start time >= `since`, scope;
        `limit` keeps the latest `limit` of them."""
        ...

    def close(self) -> None:
        """Release connections. Idempotent."""
        ...


def default_store_url() -> str:
    """The embedded default: `sqlite:///<data dir>/codemode.db`."""
    from codemode.config import data_dir

    return f"sqlite:///{data_dir() / 'codemode.db'}"


def open_store(url: str | None) -> Store:
    """The store at `url`: `memory://`, `sqlite:////abs/path.db` (or
    `sqlite:///relative.db`), or `postgresql://user:password@host:port/db`.
    None opens the default SQLite file in the data dir."""
    url = url or default_store_url()
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        from codemode.store.memory import MemoryStore

        return MemoryStore()
    if scheme == "sqlite":
        from codemode.store.sqlite import SQLiteStore

        return SQLiteStore(sqlite_path(url))
    if scheme in ("postgresql", "postgres"):
        try:
            from codemode.store.postgres import PostgresStore
        except ImportError as exc:
            raise ConfigError(
                f"a PostgreSQL store needs psycopg ({exc}); install codemode[postgres], "
                "e.g. pip install 'codemode[postgres]'"
            ) from None
        return PostgresStore(url)
    raise ConfigError(
        f"unsupported store URL {mask_password(url)!r}; use memory://, "
        "sqlite:////absolute/path.db or postgresql://user@host:port/db"
    )


def sqlite_path(url: str) -> Path:
    """The file of a `sqlite:///path` URL (four slashes for an absolute path)."""
    rest = url.removeprefix("sqlite://")
    if not rest.startswith("/") or rest == "/":
        raise ConfigError(f"a SQLite store URL looks like sqlite:////abs/path.db, not {url!r}")
    path = rest[1:]
    return Path(os.path.expanduser(path)) if path.startswith("~") else Path(path)


def mask_password(url: str) -> str:
    """`url` with the password (if any: in the user info, or a libpq-style `password=`
    query parameter) replaced by `***`."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(f":{parts.password}@", ":***@", 1)
    query = re.sub(r"(^|&)password=[^&]*", r"\1password=***", parts.query)
    if (netloc, query) == (parts.netloc, parts.query):
        return url
    return parts._replace(netloc=netloc, query=query).geturl()
