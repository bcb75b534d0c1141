"""`MemoryStore`: the store protocol in this process's memory (tests, throwaway runs)."""

from __future__ import annotations

import threading
import time

from codemode.artifacts import MemoryArtifactTable
from codemode.store import SessionRecord

__all__ = ["MemoryStore"]


class MemoryStore(MemoryArtifactTable):
    """Everything in dicts; gone with the process."""

    url = "memory://"

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._sessions: dict[str, SessionRecord] = {}

    def save_session(self, session_id: str, state: bytes, bound: frozenset[str]) -> None:
        record = SessionRecord(state=bytes(state), bound=frozenset(bound), updated=time.time())
        with self._lock:
            self._sessions.pop(session_id, None)
            self._sessions[session_id] = record

    def load_session(self, session_id: str) -> SessionRecord | None:
        with self._lock:
            return self._sessions.get(session_id)

    def delete_session(self, session_id: str) -> bool:
        with self._lock:
            return self._sessions.pop(session_id, None) is not None

    def sessions(self) -> list[str]:
        with self._lock:
            return list(reversed(self._sessions))

    def expire_sessions(self, older_than: float) -> int:
        with self._lock:
            stale = [k for k, r in self._sessions.items() if r.updated < older_than]
            for key in stale:
                del self._sessions[key]
        return len(stale)

    def close(self) -> None:
        pass
