"""Durable state: one `Store` protocol, three implementations.

* `MemoryStore` — in this process only (tests, throwaway runs);
* `SQLiteStore` — the embedded default: one file (WAL), in the user's data dir unless
  `[store] url` or `CodeMode(store=...)` names another;
* a PostgreSQL store, for several machines sharing state, comes next.

What lives in a store: sessions (a sandbox's state, so a session can survive a restart
and move between processes) and artifacts; the workspace, library, memory and audit
features will keep their tables here too. Every write is
committed before the call returns. Schemas are versioned; a store migrates itself
forward when opened.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from codemode.artifacts import ArtifactInfo
from codemode.errors import ConfigError

__all__ = [
    "SessionRecord",
    "Store",
    "default_store_url",
    "mask_password",
    "open_store",
    "sqlite_path",
]


@dataclass(frozen=True, kw_only=True)
class SessionRecord:
    """A session's saved state."""

    state: bytes
    """The sandbox's opaque dump."""
    bound: frozenset[str]
    """Globals codemode bound in it (namespaces, polyfills), so they are not rebuilt."""
    updated: float
    """Unix time of the save."""


class Store(Protocol):
    """Where durable state lives. Implementations are thread-safe; every write is
    committed before the method returns."""

    url: str
    """Where it is, with any password masked."""

    def save_session(self, session_id: str, state: bytes, bound: frozenset[str]) -> None:
        """Create or replace a session's state."""
        ...

    def load_session(self, session_id: str) -> SessionRecord | None:
        """A session's state, or None."""
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
        raise ConfigError(
            "PostgreSQL stores are not implemented yet; use sqlite:////absolute/path.db"
        )
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
    """`url` with the password (if any) replaced by `***`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()
