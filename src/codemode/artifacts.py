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
the execution) that created them. Two stores ship: `MemoryArtifacts` (the default for
the library) and `FileArtifacts` (a directory; one file per artifact, written
atomically, so nothing half-written is ever read back). Both expire artifacts by age
and evict the oldest when over their byte budget (`ArtifactPolicy`).
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
    "MemoryArtifacts",
    "StoreArtifacts",
    "estimate_size",
    "new_artifact_id",
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


class MemoryArtifacts:
    """Artifacts in this process's memory: fast, gone when the process ends."""

    def __init__(self, policy: ArtifactPolicy | None = None) -> None:
        self.policy = policy or ArtifactPolicy()
        self._lock = threading.Lock()
        self._items: dict[str, tuple[ArtifactInfo, bytes]] = {}

    def put(self, info: ArtifactInfo, data: bytes) -> None:
        _check_size(self.policy, len(data))
        with self._lock:
            self._items[info.id] = (info, data)
            self._evict()

    def get(self, artifact_id: str) -> bytes | None:
        item = self._live(artifact_id)
        return item[1] if item else None

    def info(self, artifact_id: str) -> ArtifactInfo | None:
        item = self._live(artifact_id)
        return item[0] if item else None

    def list(self) -> list[ArtifactInfo]:
        with self._lock:
            self._evict()
            return [info for info, _ in self._items.values()]

    def delete(self, artifact_id: str) -> bool:
        with self._lock:
            return self._items.pop(artifact_id, None) is not None

    def _live(self, artifact_id: str) -> tuple[ArtifactInfo, bytes] | None:
        with self._lock:
            item = self._items.get(artifact_id)
            if item is not None and item[0].expires <= time.time():
                self._items.pop(artifact_id, None)
                return None
            return item

    def _evict(self) -> None:
        now = time.time()
        for key in [k for k, (info, _) in self._items.items() if info.expires <= now]:
            self._items.pop(key)
        total = sum(info.bytes for info, _ in self._items.values())
        while total > self.policy.max_bytes and len(self._items) > 1:
            oldest = next(iter(self._items))
            total -= self._items.pop(oldest)[0].bytes


class FileArtifacts:
    """Artifacts as files in a directory: they survive restarts and are shared by the
    processes using the same directory.

    Each artifact is `<id>.json` (its JSON value) and `<id>.meta` (its info), both
    written to a temporary file and renamed into place, data first: a crash leaves
    either a whole artifact or none.
    """

    def __init__(self, directory: str | os.PathLike[str], policy: ArtifactPolicy | None = None):
        self.policy = policy or ArtifactPolicy()
        self.directory = Path(directory)
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise ConfigError(
                f"cannot create the artifact directory {self.directory}: {exc}"
            ) from None
        self._lock = threading.Lock()

    def put(self, info: ArtifactInfo, data: bytes) -> None:
        _check_size(self.policy, len(data))
        meta = json.dumps(asdict(info)).encode()
        with self._lock:
            _write_atomic(self.directory / f"{info.id}.json", data)
            _write_atomic(self.directory / f"{info.id}.meta", meta)
            self._evict()

    def get(self, artifact_id: str) -> bytes | None:
        if self.info(artifact_id) is None:
            return None
        try:
            return (self.directory / f"{artifact_id}.json").read_bytes()
        except OSError:
            return None

    def info(self, artifact_id: str) -> ArtifactInfo | None:
        if not valid_id(artifact_id):
            return None
        info = self._read_info(self.directory / f"{artifact_id}.meta")
        if info is not None and info.expires <= time.time():
            self.delete(artifact_id)
            return None
        return info

    def list(self) -> list[ArtifactInfo]:
        with self._lock:
            return self._evict()

    def delete(self, artifact_id: str) -> bool:
        if not valid_id(artifact_id):
            return False
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

    @staticmethod
    def _read_info(path: Path) -> ArtifactInfo | None:
        try:
            return ArtifactInfo(**json.loads(path.read_bytes()))
        except (OSError, ValueError, TypeError):
            return None

    def _evict(self) -> builtins.list[ArtifactInfo]:
        """Drop expired artifacts, then the oldest beyond the byte budget; the rest."""
        now = time.time()
        self._sweep(now)
        live: list[ArtifactInfo] = []
        for path in self.directory.glob(f"{_ID_PREFIX}*.meta"):
            info = self._read_info(path)
            if info is None:
                continue
            if info.expires <= now:
                self.delete(info.id)
            else:
                live.append(info)
        live.sort(key=lambda i: i.created)
        total = sum(i.bytes for i in live)
        while total > self.policy.max_bytes and len(live) > 1:
            oldest = live.pop(0)
            total -= oldest.bytes
            self.delete(oldest.id)
        return live


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


class ArtifactTable(Protocol):
    """The part of a `codemode.store.Store` that keeps artifacts."""

    def put_artifact(self, info: ArtifactInfo, data: bytes) -> None: ...
    def get_artifact(self, artifact_id: str) -> bytes | None: ...
    def artifact_info(self, artifact_id: str) -> ArtifactInfo | None: ...
    def artifact_infos(self) -> builtins.list[ArtifactInfo]: ...
    def delete_artifact(self, artifact_id: str) -> bool: ...


class StoreArtifacts:
    """Artifacts in a `Store` (SQLite, PostgreSQL): shared by every process using it."""

    def __init__(self, table: ArtifactTable, policy: ArtifactPolicy | None = None) -> None:
        self.policy = policy or ArtifactPolicy()
        self._table = table
        self._lock = threading.Lock()

    def put(self, info: ArtifactInfo, data: bytes) -> None:
        _check_size(self.policy, len(data))
        self._table.put_artifact(info, data)
        with self._lock:
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
