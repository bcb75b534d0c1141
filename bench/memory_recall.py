"""Memory recall: does `store.recall` find the memory an agent needs?

Run from the repository root:

    .venv/bin/python bench/memory_recall.py

`fixtures/memories.json` is an agent's long-term memory across a few software projects
and one user (conventions, hosts and ports, preferences, decisions and their reasons, API
quirks, meetings, people, deadlines, post-mortems, commands that worked), with many
memories sharing vocabulary so that ranking matters, and questions an agent would ask
when it needs one of them, each with the 1-3 memories that answer it. The questions were
written with the memories, before anything was measured, and are not tuned to the ranker.

For each store (`memory://`, a SQLite file in a temporary directory, and PostgreSQL when
`CODEMODE_BENCH_POSTGRES_URL` is set) it adds every memory to a fresh profile, runs every
question with `recall(profile, question, k=5)` and reports recall@5 (per question, the
share of its relevant memories in the top 5, averaged), MRR (rank of the first relevant
memory, within the top 5) and hit@1, plus recall latency p50/p99 over a few timed passes
after an untimed one. It prints the questions that missed with what came back instead,
and exits with status 1 if recall@5 is under the target on any store.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness import Stats
from report import Target, markdown_table

from codemode.errors import ConfigError
from codemode.store import Store, mask_password, open_store

__all__ = [
    "FIXTURE_PATH",
    "Fixture",
    "MemoryResults",
    "StoreResult",
    "bench_memory_recall",
    "evaluate_store",
    "load_fixture",
    "memory_targets",
    "render_memory_recall",
]

FIXTURE_PATH = Path(__file__).resolve().parent / "fixtures" / "memories.json"
POSTGRES_ENV = "CODEMODE_BENCH_POSTGRES_URL"
K = 5
RECALL_TARGET = 0.8
MIN_MEMORIES = 200
MIN_QUERIES = 30
LATENCY_ROUNDS = 5
"""Timed passes over every question per store (after one untimed pass)."""


@dataclass(frozen=True)
class Query:
    """A question and the keys of the memories that answer it."""

    text: str
    relevant: tuple[str, ...]


@dataclass(frozen=True)
class Fixture:
    """The memories (key, text, tags) and the questions."""

    memories: tuple[tuple[str, str, tuple[str, ...]], ...]
    queries: tuple[Query, ...]


def load_fixture(path: Path = FIXTURE_PATH) -> Fixture:
    """Load and check the fixture: unique keys, known relevant keys, enough of both."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    memories = tuple((m["key"], m["text"], tuple(m["tags"])) for m in raw["memories"])
    queries = tuple(Query(q["query"], tuple(q["relevant"])) for q in raw["queries"])
    keys = [key for key, _, _ in memories]
    if len(set(keys)) != len(keys):
        raise ValueError(f"{path.name}: duplicate memory keys")
    for q in queries:
        unknown = set(q.relevant) - set(keys)
        if not q.relevant or len(q.relevant) > 3 or unknown:
            raise ValueError(f"{path.name}: bad relevant keys for {q.text!r}: {q.relevant}")
    if len(memories) < MIN_MEMORIES or len(queries) < MIN_QUERIES:
        raise ValueError(
            f"{path.name}: {len(memories)} memories and {len(queries)} queries; "
            f"the benchmark needs at least {MIN_MEMORIES} and {MIN_QUERIES}"
        )
    return Fixture(memories, queries)


@dataclass(frozen=True)
class Miss:
    """A question whose relevant memories were not all in the top K."""

    query: str
    relevant: tuple[str, ...]
    got: tuple[str, ...]


@dataclass(frozen=True)
class StoreResult:
    """One store's scores and latency, or why it was skipped."""

    name: str
    url: str
    recall: float = 0.0
    mrr: float = 0.0
    hit1: float = 0.0
    latency: Stats | None = None
    misses: tuple[Miss, ...] = ()
    skipped: str | None = None


@dataclass(frozen=True)
class MemoryResults:
    """What the memory recall benchmark measured."""

    memories: int
    queries: int
    stores: tuple[StoreResult, ...]

    @property
    def measured(self) -> list[StoreResult]:
        """The stores that were not skipped."""
        return [s for s in self.stores if s.skipped is None]

    @property
    def passed(self) -> bool:
        """Whether every measured store meets the recall target."""
        return all(s.recall >= RECALL_TARGET for s in self.measured)


def _score(fixture: Fixture, ranked: Sequence[Sequence[str]]) -> tuple[float, float, float]:
    """(recall@K, MRR@K, hit@1) of the top-K keys returned per question."""
    recall = mrr = hit1 = 0.0
    for q, keys in zip(fixture.queries, ranked, strict=True):
        top = list(keys[:K])
        recall += sum(key in top for key in q.relevant) / len(q.relevant)
        first = next((i for i, key in enumerate(top, 1) if key in q.relevant), None)
        mrr += 1 / first if first else 0.0
        hit1 += first == 1
    n = len(fixture.queries)
    return recall / n, mrr / n, hit1 / n


def _time_recalls(store: Store, profile: str, fixture: Fixture) -> Stats:
    for q in fixture.queries:  # warm-up pass, untimed
        store.recall(profile, q.text, k=K)
    gc.collect()
    gc.disable()  # collector pauses would be charged to whichever recall triggers them
    samples: list[int] = []
    try:
        for _ in range(LATENCY_ROUNDS):
            for q in fixture.queries:
                start = time.perf_counter_ns()
                store.recall(profile, q.text, k=K)
                samples.append(time.perf_counter_ns() - start)
    finally:
        gc.enable()
    return Stats.from_samples(samples)


def evaluate_store(name: str, url: str, fixture: Fixture) -> StoreResult:
    """Fill a fresh profile of the store at `url`, score every question, time recall."""
    try:
        store = open_store(url)
    except ConfigError as error:
        return StoreResult(name, mask_password(url), skipped=str(error))
    profile = f"bench-memory-recall-{uuid.uuid4().hex[:8]}"
    try:
        records = store.add_memories(profile, [(text, tags) for _, text, tags in fixture.memories])
        key_of = {r.id: key for r, (key, _, _) in zip(records, fixture.memories, strict=True)}
        ranked = [
            [key_of[r.id] for r in store.recall(profile, q.text, k=K)] for q in fixture.queries
        ]
        latency = _time_recalls(store, profile, fixture)
        for record in records:  # leave a shared store (PostgreSQL) as it was
            store.forget(profile, record.id)
    finally:
        store.close()
    recall, mrr, hit1 = _score(fixture, ranked)
    misses = tuple(
        Miss(q.text, q.relevant, tuple(keys))
        for q, keys in zip(fixture.queries, ranked, strict=True)
        if not set(q.relevant) <= set(keys[:K])
    )
    return StoreResult(name, store.url, recall, mrr, hit1, latency, misses)


def bench_memory_recall(fixture_path: Path = FIXTURE_PATH) -> MemoryResults:
    """Run the fixture against every available store."""
    fixture = load_fixture(fixture_path)
    results = [evaluate_store("memory", "memory://", fixture)]
    with tempfile.TemporaryDirectory(prefix="codemode-memory-bench-") as tmp:
        results.append(evaluate_store("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", fixture))
    postgres = os.environ.get(POSTGRES_ENV)
    if postgres:
        results.append(evaluate_store("postgresql", postgres, fixture))
    else:
        results.append(StoreResult("postgresql", "", skipped=f"{POSTGRES_ENV} is not set"))
    return MemoryResults(len(fixture.memories), len(fixture.queries), tuple(results))


def memory_targets(results: MemoryResults) -> list[Target]:
    """recall@5 against the target, for every measured store."""
    return [
        Target(
            f"memory recall@{K}, {s.name} store ({results.memories} memories, "
            f"{results.queries} queries)",
            s.recall,
            RECALL_TARGET,
            "",
            higher_is_better=True,
        )
        for s in results.measured
    ]


def _table(results: MemoryResults) -> str:
    rows = []
    for s in results.stores:
        if s.skipped is not None:
            rows.append([s.name, "skipped", "", "", "", "", s.skipped])
            continue
        assert s.latency is not None
        rows.append(
            [
                s.name,
                f"{s.recall:.3f}",
                f"{s.mrr:.3f}",
                f"{s.hit1:.3f}",
                f"{s.latency.p50_ms:.3f}",
                f"{s.latency.p99_ms:.3f}",
                f"{len(s.misses)} of {results.queries} questions miss a relevant memory",
            ]
        )
    headers = [
        "store",
        f"recall@{K}",
        f"MRR@{K}",
        "hit@1",
        "recall p50 (ms)",
        "recall p99 (ms)",
        "notes",
    ]
    return markdown_table(headers, rows)


def _miss_lines(store: StoreResult) -> list[str]:
    return [
        f"- “{m.query}” — wanted {', '.join(f'`{k}`' for k in m.relevant)}; top {K}: "
        f"{', '.join(f'`{k}`' for k in m.got) or 'nothing'}"
        for m in store.misses
    ]


def render_memory_recall(results: MemoryResults, number: int) -> list[str]:
    """Markdown for RESULTS.md."""
    out = [
        f"## {number}. Memory recall",
        f"{results.memories} memories of an agent working on four projects for one user "
        f"and {results.queries} questions an agent would ask to find them "
        "(`bench/fixtures/memories.json`), each with 1-3 memories that answer it. Every "
        f"memory is added to a fresh profile, then each question runs `recall(k={K})`. "
        f"recall@{K} is the share of a question's relevant memories in its top {K}, averaged "
        f"over the questions; MRR and hit@1 look at the first relevant memory. Latency: "
        f"{LATENCY_ROUNDS} timed passes over the questions after an untimed one "
        f"(target: recall@{K} ≥ {RECALL_TARGET:g} on every store).",
        _table(results),
    ]
    for s in results.measured:
        if s.misses:
            out += [f"{s.name} misses ({len(s.misses)}):", "\n".join(_miss_lines(s))]
    return out


def main() -> int:
    """Print the table and the misses; exit 1 if recall@5 is under the target anywhere."""
    results = bench_memory_recall()
    print(
        f"{results.memories} memories, {results.queries} queries, k={K}, "
        f"target recall@{K} ≥ {RECALL_TARGET:g}\n"
    )
    print(_table(results))
    for s in results.measured:
        if s.misses:
            print(f"\n{s.name} misses ({len(s.misses)}):")
            print("\n".join(_miss_lines(s)))
    for t in memory_targets(results):
        print(" | ".join(t.row()))
    return 0 if results.passed else 1


if __name__ == "__main__":
    sys.exit(main())
