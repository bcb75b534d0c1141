"""The `memory` global: texts an agent remembers across sessions, found again by meaning
of their words (full-text ranking in the store).

```python
memory.remember("The staging DB listens on 5433", tags=["infra"])
memory.recall("which port is staging on?")   # [{id, text, tags, score}, ...]
memory.ingest(long_meeting_notes, tags=["meeting"])   # chunked, one id per chunk
```

Memories live in a profile (default `project/agent`); agents that use the same profile
share them. Every write is committed before the call returns.
"""

from __future__ import annotations

import re
from typing import Any

from codemode.state import DurableState
from codemode.store import MemoryRecord

__all__ = ["MEMORY_FUNCTIONS", "MemoryFunctions", "chunk_text"]

MEMORY_FUNCTIONS = ("remember", "recall", "list", "forget", "ingest")
"""The functions of the `memory` global in programs."""

MAX_MEMORY_CHARS = 20_000
"""Longest text one `remember` keeps (longer texts: `ingest`, which chunks)."""
MAX_INGEST_CHARS = 5_000_000
MAX_TAGS = 20
MAX_TAG_CHARS = 64
MAX_RECALL = 100

CHUNK_CHARS = 800
"""Target size of an ingested chunk: about a paragraph, small enough to rank sharply."""
_MAX_CHUNK_CHARS = 1_200
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


class MemoryFunctions:
    """The host side of `memory.*` for one execution."""

    def __init__(self, state: DurableState) -> None:
        self._state = state

    def remember(self, text: Any, tags: Any = None) -> str:
        """`memory.remember(text, tags=None) -> id`."""
        text = _text(text, "remember")
        if len(text) > MAX_MEMORY_CHARS:
            raise ValueError(
                f"memory.remember(): the text has {len(text):,} characters (at most "
                f"{MAX_MEMORY_CHARS:,}); use memory.ingest(text) to keep it in chunks"
            )
        (record,) = self._state.store.add_memories(
            self._state.profile, [(text, _tags(tags, "remember"))]
        )
        return record.id

    def ingest(self, text: Any, tags: Any = None) -> list[str]:
        """`memory.ingest(text, tags=None) -> ids`: `text` split into chunks of about a
        paragraph, each remembered (in one transaction)."""
        text = _text(text, "ingest")
        if len(text) > MAX_INGEST_CHARS:
            raise ValueError(
                f"memory.ingest(): the text has {len(text):,} characters (at most "
                f"{MAX_INGEST_CHARS:,} per call)"
            )
        labels = _tags(tags, "ingest")
        chunks = chunk_text(text)
        records = self._state.store.add_memories(
            self._state.profile, [(chunk, labels) for chunk in chunks]
        )
        return [r.id for r in records]

    def recall(self, query: Any, k: Any = 5) -> list[dict[str, Any]]:
        """`memory.recall(query, k=5)`: the best matches, best first."""
        if not isinstance(query, str):
            raise TypeError("memory.recall(): query must be a string")
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_RECALL:
            raise ValueError(f"memory.recall(): k must be an integer from 1 to {MAX_RECALL}")
        hits = self._state.store.recall(self._state.profile, query, k)
        return [_public(r, score=True) for r in hits]

    def list(self, tag: Any = None, limit: Any = None) -> list[dict[str, Any]]:
        """`memory.list(tag=None, limit=None)`: memories, newest first."""
        if tag is not None and not isinstance(tag, str):
            raise TypeError("memory.list(): tag must be a string or None")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
            raise TypeError("memory.list(): limit must be an integer or None")
        if limit is not None and limit < 1:
            raise ValueError("memory.list(): limit must be at least 1 (or None for all)")
        records = self._state.store.list_memories(self._state.profile, tag, limit)
        return [_public(r) for r in records]

    def forget(self, memory_id: Any) -> bool:
        """`memory.forget(id) -> bool`: whether it existed."""
        if isinstance(memory_id, dict) and "id" in memory_id:
            memory_id = memory_id["id"]  # a recall/list entry works as well as its id
        if not isinstance(memory_id, str):
            raise TypeError("memory.forget(): pass a memory id (a string)")
        return self._state.store.forget(self._state.profile, memory_id)


def chunk_text(text: str, size: int = CHUNK_CHARS) -> list[str]:
    """`text` cut into chunks of about `size` characters: whole paragraphs joined while
    they fit, long paragraphs cut at sentence ends, overlong sentences at spaces."""
    pieces: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        if len(paragraph) <= _MAX_CHUNK_CHARS:
            pieces.append(paragraph)
            continue
        for sentence in _SENTENCE_END.split(paragraph):
            pieces.extend(_hard_split(sentence, _MAX_CHUNK_CHARS))
    chunks: list[str] = []
    for piece in pieces:
        if chunks and len(chunks[-1]) + 2 + len(piece) <= size:
            chunks[-1] += "\n\n" + piece
        else:
            chunks.append(piece)
    return chunks


def _hard_split(text: str, limit: int) -> list[str]:
    parts: list[str] = []
    while len(text) > limit:
        cut = text.rfind(" ", 0, limit)
        cut = cut if cut > limit // 2 else limit
        parts.append(text[:cut].strip())
        text = text[cut:].strip()
    if text:
        parts.append(text)
    return parts


def _text(text: Any, function: str) -> str:
    if not isinstance(text, str):
        raise TypeError(f"memory.{function}(): text must be a string")
    if not text.strip():
        raise ValueError(f"memory.{function}(): text is empty")
    return text


def _tags(tags: Any, function: str) -> tuple[str, ...]:
    if tags is None:
        return ()
    if isinstance(tags, str):
        tags = [tags]
    if not isinstance(tags, list | tuple) or not all(isinstance(t, str) for t in tags):
        raise TypeError(f"memory.{function}(): tags must be a list of strings")
    if len(tags) > MAX_TAGS or any(not t or len(t) > MAX_TAG_CHARS for t in tags):
        raise ValueError(
            f"memory.{function}(): at most {MAX_TAGS} tags of 1-{MAX_TAG_CHARS} characters"
        )
    return tuple(dict.fromkeys(tags))


def _public(record: MemoryRecord, *, score: bool = False) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": record.id, "text": record.text, "tags": list(record.tags)}
    if score:
        entry["score"] = float(f"{record.score or 0.0:.4g}")
    else:
        entry["created"] = record.created
    return entry
