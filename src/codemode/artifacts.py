"""Artifacts: values too big for the model's context, kept on the host by id.

A program's result that exceeds `Limits.result_bytes` is stored as an artifact and the
model receives `{"artifact": id, "bytes": n, "preview": ...}` instead; a tool result that
exceeds `Limits.tool_result_bytes` is stored the same way before it enters the sandbox,
so a program reads it in slices (`artifacts.get(id, start, stop)`) without holding it
all in sandbox memory. Programs also keep values across executions themselves with
`artifacts.put(value)`. MCP clients read an artifact as the resource
`codemode://artifacts/{id}`.

Artifacts are JSON values stored as their UTF-8 JSON encoding. Ids are random (80
bits), so an id is the capability to read one; listing is limited to the session (or
the execution) that created them. `StoreArtifacts` applies the `ArtifactPolicy`
(expiry by age, the oldest evicted beyond a byte budget) to a table that keeps them:
in memory (`MemoryArtifacts`, the library default), in a directory (`FileArtifacts`;
one file per artifact, written atomically, so nothing half-written is ever read
back), or in a `codemode.store.Store`.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from codemode.errors import ConfigError

__all__ = [
    "ARTIFACT_URI",
    "ArtifactInfo",
    "ArtifactPolicy",
    "ArtifactStore",
    "ArtifactTable",
    "FileArtifacts",
    "MemoryArtifactTable",
    "MemoryArtifacts",
    "StoreArtifacts",
    "describe",
    "estimate_size",
    "new_artifact_id",
    "valid_id",
]

ARTIFACT_URI = "codemode://artifacts"
"""MCP resources `codemode://artifacts/{id}` carry artifacts."""

MB = 1024 * 1024
_ID_PREFIX = "art_"
_ORPHAN_AGE = 3600.0  # seconds before a leftover file is surely not a write in progress


def new_artifact_id() -> str:
    """A fresh, unguessable artifact id."""
    return _ID_PREFIX + secrets.token_hex(10)


def valid_id(artifact_id: object) -> bool:
    """True when `artifact_id` has the shape of an artifact id (safe as a file name)."""
    return (
        isinstance(artifact_id, str)
        and artifact_id.startswith(_ID_PREFIX)
        and len(artifact_id) == len(_ID_PREFIX) + 20
        and all(c in "0123456789abcdef" for c in artifact_id[len(_ID_PREFIX) :])
    )


@dataclass(frozen=True, kw_only=True)
class ArtifactPolicy:
    """How long artifacts live and how much a store keeps."""

    ttl: float = 24 * 3600.0
    """Seconds an artifact is kept after it was created."""
    max_bytes: int = 512 * MB
    """Total bytes a store keeps; the oldest artifacts are evicted beyond it."""
    max_artifact_bytes: int = 64 * MB
    """The largest single artifact; storing a bigger value is refused."""

    def __post_init__(self) -> None:
        for name in ("ttl", "max_bytes", "max_artifact_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ConfigError(f"ArtifactPolicy.{name} must be a positive number, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class ArtifactInfo:
    """What is known about an artifact without reading it."""

    id: str
    bytes: int
    """Size of its JSON encoding."""
    kind: str
    """`str`, `list`, `dict`, `int`, `float`, `bool` or `null`."""
    length: int | None
    """Characters of a string, items of a list, keys of a dict; None otherwise."""
    created: float
    """Unix time it was stored."""
    expires: float
    """Unix time after which it is gone."""
    session: str | None = None
    """The session that stored it (None: a stateless execution or the host)."""
    execution: str | None = None
    """The execution that stored it."""
    name: str | None = None
    """An optional label given by the program."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict, as programs see it from `artifacts.list()`."""
        data = asdict(self)
        data.pop("execution")
        return {k: v for k, v in data.items() if v is not None or k == "length"}


class ArtifactStore(Protocol):
    """Where artifacts live. Implementations are thread-safe."""

    policy: ArtifactPolicy

    def put(self, info: ArtifactInfo, data: bytes) -> None:
        """Store `data` (the JSON encoding) under `info.id`."""
        ...

    def get(self, artifact_id: str) -> bytes | None:
        """The stored JSON bytes, or None when unknown or expired."""
        ...

    def info(self, artifact_id: str) -> ArtifactInfo | None:
        """The artifact's info, or None when unknown or expired."""
        ...

    def list(self) -> list[ArtifactInfo]:
        """Every live artifact, oldest first."""
        ...

    def delete(self, artifact_id: str) -> bool:
        """Remove an artifact; returns whether it existed."""
        ...


def describe(value: Any, data: bytes, *, ttl: float, **fields: Any) -> ArtifactInfo:
    """The `ArtifactInfo` for storing `value`, whose JSON encoding is `data`."""
    kind = "null" if value is None else type(value).__name__
    length = len(value) if isinstance(value, str | list | dict) else None
    now = time.time()
    return ArtifactInfo(
        id=fields.pop("id", None) or new_artifact_id(),
        bytes=len(data),
        kind=kind,
        length=length,
        created=now,
        expires=now + ttl,
        **fields,
    )


class ArtifactTable(Protocol):
    """Where artifacts are kept, without policy: a `codemode.store.Store`, or the tables
    below. `StoreArtifacts` adds expiry and the byte budget on top."""

    def put_artifact(self, info: ArtifactInfo, data: bytes) -> None: ...
    def get_artifact(self, artifact_id: str) -> bytes | None: ...
    def artifact_info(self, artifact_id: str) -> ArtifactInfo | None: ...
    def artifact_infos(self) -> builtins.list[ArtifactInfo]: ...
    def delete_artifact(self, artifact_id: str) -> bool: ...


class StoreArtifacts:
    """Artifacts in an `ArtifactTable` under an `ArtifactPolicy`: expired ones are
    invisible and removed, the oldest are evicted beyond the byte budget."""

    def __init__(self, table: ArtifactTable, policy: ArtifactPolicy | None = None) -> None:
        self.policy = policy or ArtifactPolicy()
        self._table = table
        self._lock = threading.Lock()

    def put(self, info: ArtifactInfo, data: bytes) -> None:
        _check_size(self.policy, len(data))
        with self._lock:
            self._table.put_artifact(info, data)
            self._evict()

    def get(self, artifact_id: str) -> bytes | None:
        if self.info(artifact_id) is None:
            return None
        return self._table.get_artifact(artifact_id)

    def info(self, artifact_id: str) -> ArtifactInfo | None:
        if not valid_id(artifact_id):
            return None
        info = self._table.artifact_info(artifact_id)
        if info is not None and info.expires <= time.time():
            self._table.delete_artifact(artifact_id)
            return None
        return info

    def list(self) -> builtins.list[ArtifactInfo]:
        with self._lock:
            return self._evict()

    def delete(self, artifact_id: str) -> bool:
        return valid_id(artifact_id) and self._table.delete_artifact(artifact_id)

    def _evict(self) -> builtins.list[ArtifactInfo]:
        """Drop expired artifacts, then the oldest beyond the byte budget; the rest."""
        now = time.time()
        live = []
        for info in self._table.artifact_infos():
            if info.expires <= now:
                self._table.delete_artifact(info.id)
            else:
                live.append(info)
        total = sum(i.bytes for i in live)
        while total > self.policy.max_bytes and len(live) > 1:
            oldest = live.pop(0)
            total -= oldest.bytes
            self._table.delete_artifact(oldest.id)
        return live


class MemoryArtifactTable:
    """Artifacts in a dict (also the artifact part of `codemode.store.MemoryStore`)."""

    def __init__(self) -> None:
        self._artifact_lock = threading.Lock()
        self._artifacts: dict[str, tuple[ArtifactInfo, bytes]] = {}

    def put_artifact(self, info: ArtifactInfo, data: bytes) -> None:
        with self._artifact_lock:
            self._artifacts[info.id] = (info, bytes(data))

    def get_artifact(self, artifact_id: str) -> bytes | None:
        with self._artifact_lock:
            item = self._artifacts.get(artifact_id)
        return item[1] if item else None

    def artifact_info(self, artifact_id: str) -> ArtifactInfo | None:
        with self._artifact_lock:
            item = self._artifacts.get(artifact_id)
        return item[0] if item else None

    def artifact_infos(self) -> builtins.list[ArtifactInfo]:
        with self._artifact_lock:
            infos = [info for info, _ in self._artifacts.values()]
        return sorted(infos, key=lambda i: i.created)

    def delete_artifact(self, artifact_id: str) -> bool:
        with self._artifact_lock:
            return self._artifacts.pop(artifact_id, None) is not None


class MemoryArtifacts(StoreArtifacts):
    """Artifacts in this process's memory: fast, gone when the process ends."""

    def __init__(self, policy: ArtifactPolicy | None = None) -> None:
        super().__init__(MemoryArtifactTable(), policy)


class _FileTable:
    """Each artifact is `<id>.json` (its JSON value) and `<id>.meta` (its info), both
    written to a temporary file and renamed into place, data first: a crash leaves
    either a whole artifact or none."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def put_artifact(self, info: ArtifactInfo, data: bytes) -> None:
        _write_atomic(self.directory / f"{info.id}.json", data)
        _write_atomic(self.directory / f"{info.id}.meta", json.dumps(asdict(info)).encode())

    def get_artifact(self, artifact_id: str) -> bytes | None:
        try:
            return (self.directory / f"{artifact_id}.json").read_bytes()
        except OSError:
            return None

    def artifact_info(self, artifact_id: str) -> ArtifactInfo | None:
        return _read_info(self.directory / f"{artifact_id}.meta")

    def artifact_infos(self) -> builtins.list[ArtifactInfo]:
        self._sweep(time.time())
        infos = [_read_info(p) for p in self.directory.glob(f"{_ID_PREFIX}*.meta")]
        return sorted((i for i in infos if i is not None), key=lambda i: i.created)

    def delete_artifact(self, artifact_id: str) -> bool:
        existed = False
        # The meta file goes first: without it the artifact is invisible.
        for suffix in (".meta", ".json"):
            with contextlib.suppress(FileNotFoundError):
                (self.directory / f"{artifact_id}{suffix}").unlink()
                existed = True
        return existed

    def _sweep(self, now: float) -> None:
        """Remove what a crash left behind: temporary files, and data files whose meta
        file was never written (both invisible, but they hold disk space)."""
        for path in self.directory.glob(".tmp-*"):
            if _unused(path, now):
                with contextlib.suppress(OSError):
                    path.unlink()
        for path in self.directory.glob(f"{_ID_PREFIX}*.json"):
            if not path.with_suffix(".meta").exists() and _unused(path, now):
                with contextlib.suppress(OSError):
                    path.unlink()


class FileArtifacts(StoreArtifacts):
    """Artifacts as files in a directory: they survive restarts and are shared by the
    processes using the same directory (see `_FileTable` for the layout)."""

    def __init__(
        self, directory: str | os.PathLike[str], policy: ArtifactPolicy | None = None
    ) -> None:
        self.directory = Path(directory)
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise ConfigError(
                f"cannot create the artifact directory {self.directory}: {exc}"
            ) from None
        super().__init__(_FileTable(self.directory), policy)


def _read_info(path: Path) -> ArtifactInfo | None:
    try:
        return ArtifactInfo(**json.loads(path.read_bytes()))
    except (OSError, ValueError, TypeError):
        return None


def _unused(path: Path, now: float) -> bool:
    try:
        return now - path.stat().st_mtime > _ORPHAN_AGE
    except OSError:
        return False


def _check_size(policy: ArtifactPolicy, size: int) -> None:
    if size > policy.max_artifact_bytes:
        raise ValueError(
            f"artifact of {size} bytes is larger than the limit of "
            f"{policy.max_artifact_bytes} bytes"
        )


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def estimate_size(value: Any, stop: int) -> int:
    """At least the size of `value`'s JSON encoding (UTF-8), counting no further than
    `stop`: the walk ends as soon as the estimate passes it.

    Cheap for the common cases (printable ASCII text is its length plus escapes) and
    bounded for big structures: containers are walked lazily, item by item.
    """
    total = 0
    pending: list[Iterator[Any]] = [iter((value,))]
    while pending:
        item = next(pending[-1], _END)
        if item is _END:
            pending.pop()
            continue
        if isinstance(item, str):
            total += _string_size(item)
        elif isinstance(item, bytes):
            total += 4 * len(item) + 2
        elif isinstance(item, dict):
            total += 2 + 2 * len(item)
            for key in item:
                total += _string_size(str(key)) + 2
            pending.append(iter(item.values()))
        elif isinstance(item, list | tuple):
            total += 2 + 2 * len(item)
            pending.append(iter(item))
        elif isinstance(item, bool) or item is None:
            total += 5
        elif isinstance(item, int):
            total += len(str(item)) if abs(item) < 10**100 else item.bit_length() // 3 + 2
        elif isinstance(item, float):
            total += len(repr(item))
        else:
            total += len(str(item)) + 2
        if total > stop:
            return total
    return total


_END = object()


def _string_size(text: str) -> int:
    if text.isascii() and text.isprintable():
        return len(text) + 2 + text.count('"') + text.count("\\")
    return len(json.dumps(text, ensure_ascii=False).encode())
