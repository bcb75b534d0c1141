"""What a store keeps, as plain frozen records shared by every implementation."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from codemode._search_text import STOP_WORDS, stem
from codemode.errors import ConfigError

__all__ = [
    "FUNCTION_COLUMNS",
    "MEMORY_COLUMNS",
    "FileInfo",
    "LibraryFunction",
    "MemoryRecord",
    "Quota",
    "QuotaExceeded",
    "SessionRecord",
    "check_quota",
    "function_from_row",
    "index_text",
    "memory_from_row",
    "new_memory_id",
    "query_stems",
    "query_terms",
    "stems",
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
    programs: tuple[str, ...] = ()
    """The session's latest programs, oldest first (where `library.save` finds the
    definitions of functions the session holds)."""


@dataclass(frozen=True, kw_only=True)
class FileInfo:
    """A file in a workspace."""

    path: str
    """Relative to the workspace root, `/`-separated, no leading slash."""
    size: int
    modified: float
    """Unix time of the last write."""


@dataclass(frozen=True, kw_only=True)
class Quota:
    """Limits on one workspace, checked in the same transaction as each write."""

    max_bytes: int = 100 * 1024 * 1024
    max_files: int = 10_000

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_files"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ConfigError(f"Quota.{name} must be a positive integer, got {value!r}")


class QuotaExceeded(Exception):
    """A workspace write would go over its quota; nothing was written."""


def check_quota(quota: Quota, files: int, size: int) -> None:
    """Raise QuotaExceeded if a workspace of `files` files and `size` bytes is over."""
    if files > quota.max_files:
        raise QuotaExceeded(
            f"the workspace would hold {files} files; its quota is {quota.max_files}"
        )
    if size > quota.max_bytes:
        raise QuotaExceeded(
            f"the workspace would hold {size:,} bytes; its quota is {quota.max_bytes:,}"
        )


@dataclass(frozen=True, kw_only=True)
class LibraryFunction:
    """One saved version of a library function."""

    scope: str
    name: str
    version: int
    """1 for the first save; every save (a rollback too) adds one."""
    source: str
    """Self-contained module source that defines `name` (with the imports and helper
    functions it uses)."""
    signature: str
    """The `def` line, e.g. `def parse_invoice(text: str) -> dict`."""
    description: str | None
    tests: tuple[str, ...]
    created: float


@dataclass(frozen=True, kw_only=True)
class MemoryRecord:
    """A remembered text."""

    id: str
    profile: str
    text: str
    tags: tuple[str, ...]
    created: float
    score: float | None = None
    """How well it matched a recall query (higher is better); None outside recall."""


FUNCTION_COLUMNS = (
    "scope",
    "name",
    "version",
    "source",
    "signature",
    "description",
    "tests",
    "created",
)
"""The columns a store selects for a `LibraryFunction`, in this order."""
MEMORY_COLUMNS = ("id", "profile", "text", "tags", "created")
"""The columns a store selects for a `MemoryRecord`, in this order."""


def function_from_row(
    row: Sequence[Any], listed: Callable[[Any], Sequence[str]]
) -> LibraryFunction:
    """A function from a row of `FUNCTION_COLUMNS`; `listed` decodes the stored tests."""
    values = dict(zip(FUNCTION_COLUMNS, row, strict=True))
    values["tests"] = tuple(listed(values["tests"]))
    return LibraryFunction(**values)


def memory_from_row(
    row: Sequence[Any], listed: Callable[[Any], Sequence[str]], score: float | None = None
) -> MemoryRecord:
    """A memory from a row of `MEMORY_COLUMNS`; `listed` decodes the stored tags."""
    values = dict(zip(MEMORY_COLUMNS, row, strict=True))
    values["tags"] = tuple(listed(values["tags"]))
    return MemoryRecord(**values, score=score)


def new_memory_id() -> str:
    """A fresh memory id, e.g. `m_3f9a1c0d2b7e4a51`."""
    return "m_" + secrets.token_hex(8)


_TERM = re.compile(r"[^\W_]+", re.UNICODE)


def query_terms(text: str, *, limit: int = 32) -> list[str]:
    """The distinct lowercase words of a recall query that carry meaning (stop words
    dropped, unless nothing else is left), in order, at most `limit`."""
    found: list[str] = []
    for word in _TERM.findall(text.lower()):
        if word not in found:
            found.append(word)
    meaningful = [w for w in found if w not in STOP_WORDS and len(w) > 1]
    return (meaningful or found)[:limit]


def stems(text: str) -> list[str]:
    """The stemmed words of `text`: what every store indexes and ranks on, so the same
    query finds the same memories in each (`deploys`/`deploying` -> `deploy`)."""
    return [stem(w) for w in _TERM.findall(text.lower())]


def index_text(text: str, tags: tuple[str, ...]) -> str:
    """The words a memory is found by: the stems of its text and tags."""
    return " ".join(stems(text + " " + " ".join(tags)))


def query_stems(query: str) -> list[str]:
    """The distinct stems of a recall query's meaningful words."""
    return list(dict.fromkeys(stem(t) for t in query_terms(query)))
