"""`MemoryStore`: the store protocol in this process's memory (tests, throwaway runs)."""

from __future__ import annotations

import threading
import time

from codemode.artifacts import ArtifactInfo
from codemode.store import SessionRecord

__all__ = ["MemoryStore"]


class MemoryStore:
    """Everything in dicts; gone with the process."""

    url = "memory://"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, SessionRecord] = {}
        self._artifacts: dict[str, tuple[ArtifactInfo, bytes]] = {}

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

    def put_artifact(self, info: ArtifactInfo, data: bytes) -> None:
        with self._lock:
            self._artifacts[info.id] = (info, bytes(data))

    def get_artifact(self, artifact_id: str) -> bytes | None:
        with self._lock:
            item = self._artifacts.get(artifact_id)
        return item[1] if item else None

    def artifact_info(self, artifact_id: str) -> ArtifactInfo | None:
        with self._lock:
            item = self._artifacts.get(artifact_id)
        return item[0] if item else None

    def artifact_infos(self) -> list[ArtifactInfo]:
        with self._lock:
            infos = [info for info, _ in self._artifacts.values()]
        return sorted(infos, key=lambda i: i.created)

    def delete_artifact(self, artifact_id: str) -> bool:
        with self._lock:
            return self._artifacts.pop(artifact_id, None) is not None

    def close(self) -> None:
        pass
