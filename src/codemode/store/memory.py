"""`MemoryStore`: the store protocol in this process's memory (tests, throwaway runs)."""

from __future__ import annotations

import dataclasses
import json
import math
import threading
import time
from collections import Counter
from collections.abc import Sequence

from codemode.artifacts import MemoryArtifactTable
from codemode.store.records import (
    ApprovalRecord,
    AuditRecord,
    FileInfo,
    LibraryFunction,
    MemoryRecord,
    Quota,
    SessionRecord,
    check_approval_decision,
    check_quota,
    index_text,
    new_memory_id,
    query_stems,
)

__all__ = ["MemoryStore"]

# BM25 parameters (the usual ones, as SQLite's FTS5 uses)
_K1 = 1.2
_B = 0.75


class MemoryStore(MemoryArtifactTable):
    """Everything in dicts; gone with the process."""

    url = "memory://"

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._sessions: dict[str, SessionRecord] = {}
        self._files: dict[tuple[str, str], tuple[FileInfo, bytes]] = {}
        self._functions: dict[tuple[str, str], list[LibraryFunction]] = {}
        self._memories: dict[str, dict[str, MemoryRecord]] = {}
        self._approvals: dict[str, ApprovalRecord] = {}
        self._audit: list[AuditRecord] = []

    # -- sessions -----------------------------------------------------------------------

    def save_session(
        self,
        session_id: str,
        state: bytes,
        bound: frozenset[str],
        programs: Sequence[str] = (),
    ) -> float:
        record = SessionRecord(
            state=bytes(state),
            bound=frozenset(bound),
            updated=time.time(),
            programs=tuple(programs),
        )
        with self._lock:
            self._sessions.pop(session_id, None)
            self._sessions[session_id] = record
        return record.updated

    def load_session(self, session_id: str) -> SessionRecord | None:
        with self._lock:
            return self._sessions.get(session_id)

    def session_updated(self, session_id: str) -> float | None:
        record = self.load_session(session_id)
        return record.updated if record else None

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

    # -- workspace files ----------------------------------------------------------------

    def write_file(
        self, workspace: str, path: str, data: bytes, *, quota: Quota | None = None
    ) -> FileInfo:
        info = FileInfo(path=path, size=len(data), modified=time.time())
        with self._lock:
            if quota is not None:
                others = [
                    i for (w, p), (i, _) in self._files.items() if w == workspace and p != path
                ]
                files, size = len(others) + 1, sum(i.size for i in others) + len(data)
                check_quota(quota, files, size)
            self._files[(workspace, path)] = (info, bytes(data))
        return info

    def read_file(self, workspace: str, path: str) -> bytes | None:
        with self._lock:
            entry = self._files.get((workspace, path))
        return entry[1] if entry else None

    def file_info(self, workspace: str, path: str) -> FileInfo | None:
        with self._lock:
            entry = self._files.get((workspace, path))
        return entry[0] if entry else None

    def list_files(self, workspace: str, prefix: str = "") -> list[FileInfo]:
        with self._lock:
            found = [
                info
                for (w, p), (info, _) in self._files.items()
                if w == workspace and p.startswith(prefix)
            ]
        return sorted(found, key=lambda i: i.path)

    def delete_file(self, workspace: str, path: str) -> bool:
        with self._lock:
            return self._files.pop((workspace, path), None) is not None

    def rename_file(self, workspace: str, source: str, target: str) -> bool:
        with self._lock:
            entry = self._files.pop((workspace, source), None)
            if entry is None:
                return False
            info = dataclasses.replace(entry[0], path=target, modified=time.time())
            self._files[(workspace, target)] = (info, entry[1])
            return True

    def workspaces(self) -> list[str]:
        with self._lock:
            return sorted({w for w, _ in self._files})

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
        with self._lock:
            versions = self._functions.setdefault((scope, name), [])
            function = LibraryFunction(
                scope=scope,
                name=name,
                version=(versions[-1].version if versions else 0) + 1,
                source=source,
                signature=signature,
                description=description,
                tests=tuple(tests),
                created=time.time(),
            )
            versions.append(function)
        return function

    def get_function(
        self, scope: str, name: str, version: int | None = None
    ) -> LibraryFunction | None:
        with self._lock:
            versions = list(self._functions.get((scope, name), ()))
        if version is None:
            return versions[-1] if versions else None
        return next((f for f in versions if f.version == version), None)

    def function_history(self, scope: str, name: str) -> list[LibraryFunction]:
        with self._lock:
            return list(self._functions.get((scope, name), ()))

    def list_functions(self, scope: str) -> list[LibraryFunction]:
        with self._lock:
            latest = [v[-1] for (s, _), v in self._functions.items() if s == scope and v]
        return sorted(latest, key=lambda f: f.name)

    def function_versions(self, scope: str) -> dict[str, int]:
        return {f.name: f.version for f in self.list_functions(scope)}

    def delete_function(self, scope: str, name: str) -> int:
        with self._lock:
            return len(self._functions.pop((scope, name), ()))

    def library_scopes(self) -> list[str]:
        with self._lock:
            return sorted({s for (s, _), v in self._functions.items() if v})

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
        with self._lock:
            table = self._memories.setdefault(profile, {})
            for record in records:
                table[record.id] = record
        return records

    def recall(self, profile: str, query: str, k: int = 5) -> list[MemoryRecord]:
        """Okapi BM25 over Porter stems of the text and tags, like the SQLite store."""
        wanted = set(query_stems(query))
        if not wanted or k <= 0:
            return []
        with self._lock:
            records = list(self._memories.get(profile, {}).values())
        documents = [Counter(index_text(r.text, r.tags).split()) for r in records]
        if not documents:
            return []
        average = sum(sum(d.values()) for d in documents) / len(documents) or 1.0
        frequency = {t: sum(1 for d in documents if t in d) for t in wanted}
        scored: list[tuple[float, int]] = []
        for index, document in enumerate(documents):
            length = sum(document.values())
            score = 0.0
            for term in wanted:
                count = document.get(term, 0)
                if not count:
                    continue
                idf = math.log(
                    1 + (len(documents) - frequency[term] + 0.5) / (frequency[term] + 0.5)
                )
                score += idf * count * (_K1 + 1) / (count + _K1 * (1 - _B + _B * length / average))
            if score > 0:
                scored.append((score, index))
        scored.sort(key=lambda s: (-s[0], -records[s[1]].created))
        return [dataclasses.replace(records[i], score=score) for score, i in scored[:k]]

    def list_memories(
        self, profile: str, tag: str | None = None, limit: int | None = None
    ) -> list[MemoryRecord]:
        with self._lock:
            records = list(self._memories.get(profile, {}).values())
        records.reverse()  # newest first (insertion order is creation order)
        if tag is not None:
            records = [r for r in records if tag in r.tags]
        return records if limit is None else records[:limit]

    def forget(self, profile: str, memory_id: str) -> bool:
        with self._lock:
            return self._memories.get(profile, {}).pop(memory_id, None) is not None

    def memory_profiles(self) -> list[str]:
        with self._lock:
            return sorted(p for p, table in self._memories.items() if table)

    # -- approvals ----------------------------------------------------------------------

    def save_approval(self, record: ApprovalRecord) -> None:
        """Keeps a copy (its `args` through JSON, as the other stores keep them)."""
        kept = dataclasses.replace(
            record, args=json.loads(json.dumps(record.args)), state=bytes(record.state)
        )
        with self._lock:
            self._approvals[record.id] = kept

    def get_approval(self, approval_id: str) -> ApprovalRecord | None:
        with self._lock:
            return self._approvals.get(approval_id)

    def decide_approval(self, approval_id: str, status: str) -> ApprovalRecord | None:
        check_approval_decision(status)
        with self._lock:
            record = self._approvals.get(approval_id)
            if record is None or record.status != "pending":
                return None
            record = dataclasses.replace(record, status=status, decided=time.time())
            self._approvals[approval_id] = record
        return record

    def list_approvals(
        self, *, status: str | None = "pending", session: str | None = None
    ) -> list[ApprovalRecord]:
        with self._lock:
            found = [
                dataclasses.replace(r, state=b"")
                for r in self._approvals.values()
                if (status is None or r.status == status)
                and (session is None or r.session == session)
            ]
        return sorted(found, key=lambda r: (r.created, r.id))

    def expire_approvals(self, older_than: float) -> int:
        with self._lock:
            stale = [k for k, r in self._approvals.items() if r.created < older_than]
            for key in stale:
                del self._approvals[key]
        return len(stale)

    # -- audit --------------------------------------------------------------------------

    def add_audit(self, record: AuditRecord) -> None:
        kept = dataclasses.replace(
            record, tool_calls=tuple(json.loads(json.dumps(list(record.tool_calls))))
        )
        with self._lock:
            self._audit.append(kept)

    def list_audit(
        self,
        *,
        session: str | None = None,
        since: float | None = None,
        scope: str | None = None,
        limit: int | None = None,
    ) -> list[AuditRecord]:
        with self._lock:
            found = [
                r
                for r in self._audit
                if (session is None or r.session == session)
                and (since is None or r.time >= since)
                and (scope is None or r.scope == scope)
            ]
        found.sort(key=lambda r: r.time)
        return found if limit is None else found[max(len(found) - limit, 0) :]

    def close(self) -> None:
        pass
