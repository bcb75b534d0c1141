"""Search quality and speed on the real 3,173-operation catalog, against fastmcp's BM25.

Run from the repository root:

    .venv/bin/python bench/search/evaluate.py

It loads Cloudflare's, GitHub's and Stripe's OpenAPI documents into one catalog (see
`corpus.py`), runs every query of `queries.json` through codemode's `SearchIndex` and,
on the same tools and queries, through fastmcp's `BM25SearchTransform`, and reports for
each: recall@1, recall@5 and MRR (over the top 10), overall and per corpus; search
latency p50/p99 with a warm index; and index build time. It also scores both engines on
`queries_holdout.json`, a second set written before any ranking work and never used to
tune it, as a check that the ranking generalises. `run()` returns the Markdown section
for bench/RESULTS.md and the raw numbers; running the file prints a summary.

A query counts as found at rank k when any of its expected operations is at rank <= k
(several are listed when several would do the job).
"""

from __future__ import annotations

import asyncio
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codemode.catalog import Tool
from codemode.search import SearchIndex
from codemode.typegen import tool_signature

try:  # imported as a package (bench/run.py: `from search.evaluate import run`)
    from .corpus import CORPORA, load_catalog
except ImportError:  # run as a script: this directory is sys.path[0]
    from corpus import CORPORA, load_catalog  # type: ignore[no-redef]

__all__ = ["HOLDOUT_PATH", "QUERIES_PATH", "Engine", "Query", "load_queries", "run", "score"]

QUERIES_PATH = Path(__file__).resolve().parent / "queries.json"
HOLDOUT_PATH = Path(__file__).resolve().parent / "queries_holdout.json"
DEPTH = 10
"""How many results each engine returns per query; MRR counts ranks up to this depth."""
LATENCY_ROUNDS = 5
"""Timed passes over the whole query set per engine (after one untimed warm-up pass)."""
FASTMCP_FULL_ROUNDS = 2
"""The same for fastmcp's whole `_search` call, which hashes the catalog on every call."""
BUILD_ROUNDS = 3


@dataclass(frozen=True)
class Query:
    """One task phrasing and the operations that would do it."""

    text: str
    expected: frozenset[str]
    corpus: str


def load_queries(path: Path = QUERIES_PATH) -> list[Query]:
    """The query set."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    return [Query(q["query"], frozenset(q["expected"]), q["corpus"]) for q in raw]


@dataclass
class Engine:
    """One search engine's results and timings on the query set."""

    name: str
    ranked: list[list[str]] = field(default_factory=list)
    """Qualified names returned per query, best first (same order as the queries)."""
    holdout: list[list[str]] = field(default_factory=list)
    """The same for the held-out queries."""
    latencies_ms: list[float] = field(default_factory=list)
    build_ms: float = 0.0
    """Time to build the index the first time in the process."""
    rebuild_ms: float | None = None
    """Median time of later builds (tokeniser caches warm), where measured."""
    notes: str = ""


def _rank(hits: Sequence[str], expected: frozenset[str]) -> int | None:
    for i, name in enumerate(hits, 1):
        if name in expected:
            return i
    return None


def score(queries: Sequence[Query], ranked: Sequence[Sequence[str]]) -> dict[str, float]:
    """recall@1, recall@5 and MRR@DEPTH of `ranked` (one hit list per query)."""
    ranks = [_rank(hits, q.expected) for q, hits in zip(queries, ranked, strict=True)]
    n = max(len(ranks), 1)
    return {
        "n": float(len(ranks)),
        "recall@1": sum(r is not None and r <= 1 for r in ranks) / n,
        "recall@5": sum(r is not None and r <= 5 for r in ranks) / n,
        "mrr": sum(1 / r for r in ranks if r is not None and r <= DEPTH) / n,
    }


def _percentile(samples: Sequence[float], p: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _time_queries(
    engine: Engine,
    queries: Sequence[Query],
    search: Callable[[str], Any],
    rounds: int = LATENCY_ROUNDS,
) -> None:
    for q in queries:  # warm-up pass, untimed
        search(q.text)
    gc.collect()
    gc.disable()  # collector pauses would be charged to whichever query triggers them
    try:
        for _ in range(rounds):
            for q in queries:
                start = time.perf_counter()
                search(q.text)
                engine.latencies_ms.append((time.perf_counter() - start) * 1000)
    finally:
        gc.enable()


def run_codemode(
    tools: Sequence[Tool], queries: Sequence[Query], holdout: Sequence[Query]
) -> Engine:
    """codemode's `SearchIndex` with codemode's real signature renderer: first build,
    median rebuild, results, latency."""
    engine = Engine("codemode", notes="hits carry rendered signatures (memoised per tool)")
    start = time.perf_counter()
    index = SearchIndex(tools, tool_signature)
    engine.build_ms = (time.perf_counter() - start) * 1000
    builds = []
    for _ in range(BUILD_ROUNDS):
        start = time.perf_counter()
        index = SearchIndex(tools, tool_signature)
        builds.append((time.perf_counter() - start) * 1000)
    engine.rebuild_ms = statistics.median(builds)
    engine.ranked = [[h.qualified for h in index.search(q.text, DEPTH)] for q in queries]
    engine.holdout = [[h.qualified for h in index.search(q.text, DEPTH)] for q in holdout]
    _time_queries(engine, queries, lambda text: index.search(text, DEPTH))
    return engine


def run_fastmcp(
    tools: Sequence[Tool], queries: Sequence[Query], holdout: Sequence[Query]
) -> tuple[Engine, Engine]:
    """fastmcp's `BM25SearchTransform` on the same tools, as its `search_tools` runs it.

    Each codemode tool becomes a fastmcp `Tool` (name = qualified name, description,
    parameters = input schema). `_search(tools, query)` is what fastmcp's search tool
    awaits per call: it hashes the catalog to detect changes, (re)builds the index when
    the hash changed, and queries it. The first engine times that whole call; the second
    times only the index query, for a like-for-like comparison with codemode's index.
    """
    from fastmcp.server.transforms.search.bm25 import BM25SearchTransform, _BM25Index
    from fastmcp.tools.base import Tool as FastMCPTool

    fm_tools = [
        FastMCPTool(name=t.qualified, description=t.description, parameters=t.input_schema)
        for t in tools
    ]
    full = Engine("fastmcp BM25", notes="per-call `_search`, including its catalog-hash check")
    bare = Engine("fastmcp BM25 (index only)", notes="`_BM25Index.query` alone")
    transform = BM25SearchTransform(max_results=DEPTH)

    async def search(text: str) -> list[str]:
        return [t.name for t in await transform._search(fm_tools, text)]

    loop = asyncio.new_event_loop()
    try:
        start = time.perf_counter()
        loop.run_until_complete(search("warm up"))  # first call builds the index
        full.build_ms = (time.perf_counter() - start) * 1000
        full.ranked = [loop.run_until_complete(search(q.text)) for q in queries]
        full.holdout = [loop.run_until_complete(search(q.text)) for q in holdout]
        _time_queries(
            full,
            queries,
            lambda text: loop.run_until_complete(search(text)),
            FASTMCP_FULL_ROUNDS,
        )
    finally:
        loop.close()

    index: _BM25Index = transform._index
    names = transform._indexed_names
    start = time.perf_counter()
    from fastmcp.server.transforms.search.base import _extract_searchable_text

    rebuilt = _BM25Index()
    rebuilt.build([_extract_searchable_text(t) for t in fm_tools])
    bare.build_ms = (time.perf_counter() - start) * 1000
    bare.ranked = [[names[i] for i in index.query(q.text, DEPTH)] for q in queries]
    bare.holdout = [[names[i] for i in index.query(q.text, DEPTH)] for q in holdout]
    _time_queries(bare, queries, lambda text: index.query(text, DEPTH))
    return full, bare


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _scopes(queries: Sequence[Query], ranked: Sequence[Sequence[str]]) -> dict[str, Any]:
    scopes: dict[str, Any] = {"overall": score(queries, ranked)}
    for corpus in CORPORA:
        picked = [(q, r) for q, r in zip(queries, ranked, strict=True) if q.corpus == corpus]
        scopes[corpus] = score([q for q, _ in picked], [r for _, r in picked])
    return scopes


def _metrics(engine: Engine, queries: Sequence[Query], holdout: Sequence[Query]) -> dict[str, Any]:
    return {
        "scores": _scopes(queries, engine.ranked),
        "holdout": _scopes(holdout, engine.holdout),
        "p50_ms": _percentile(engine.latencies_ms, 50),
        "p99_ms": _percentile(engine.latencies_ms, 99),
        "build_ms": engine.build_ms,
        "rebuild_ms": engine.rebuild_ms,
        "notes": engine.notes,
    }


def run() -> tuple[str, dict[str, Any]]:
    """Evaluate both engines; return (Markdown section, raw numbers)."""
    start = time.perf_counter()
    tools, loader = load_catalog()
    load_s = time.perf_counter() - start
    queries = load_queries()
    holdout = load_queries(HOLDOUT_PATH)
    engines = [run_codemode(tools, queries, holdout), *run_fastmcp(tools, queries, holdout)]
    data: dict[str, Any] = {
        "tools": len(tools),
        "queries": len(queries),
        "queries_per_corpus": {c: sum(q.corpus == c for q in queries) for c in CORPORA},
        "holdout_queries": len(holdout),
        "loader": loader,
        "load_s": load_s,
        "engines": {e.name: _metrics(e, queries, holdout) for e in engines},
    }
    codemode = engines[0]
    data["misses"] = [
        {"query": q.text, "expected": sorted(q.expected), "got": hits[:3]}
        for q, hits in zip(queries, codemode.ranked, strict=True)
        if _rank(hits[:5], q.expected) is None
    ]
    return _render(data), data


def _render(data: dict[str, Any]) -> str:
    per_corpus = ", ".join(f"{n} {c}" for c, n in data["queries_per_corpus"].items())
    out = [
        "## Tool search: codemode vs fastmcp BM25",
        "",
        f"{data['queries']} task phrasings ({per_corpus}; `bench/search/queries.json`) over "
        f"one catalog of {data['tools']:,} operations from the Cloudflare, GitHub and Stripe "
        f"OpenAPI documents (tools built by: {data['loader']}). A query is a hit at k when "
        f"any acceptable operation ranks <= k; MRR counts ranks up to {DEPTH}. Latency is "
        f"per search with a warm index, after one untimed pass over the queries.",
        "",
    ]
    rows = []
    for name, m in data["engines"].items():
        for scope, s in m["scores"].items():
            first = scope == "overall"
            build = f"{m['build_ms']:.0f}"
            if m["rebuild_ms"] is not None:
                build += f" (rebuild {m['rebuild_ms']:.0f})"
            rows.append(
                [
                    name if first else "",
                    scope,
                    f"{s['recall@1']:.3f}",
                    f"{s['recall@5']:.3f}",
                    f"{s['mrr']:.3f}",
                    f"{m['p50_ms']:.2f}" if first else "",
                    f"{m['p99_ms']:.2f}" if first else "",
                    build if first else "",
                ]
            )
    headers = ("engine", "queries", "recall@1", "recall@5", "MRR", "p50 ms", "p99 ms", "build ms")
    out += [_table(headers, rows), ""]
    for name, m in data["engines"].items():
        if m["notes"]:
            out.append(f"- {name}: {m['notes']}.")
    out += [
        "- codemode build: the first `SearchIndex` over the whole catalog in the process; "
        f"rebuild: median of {BUILD_ROUNDS} more (tokeniser caches warm). fastmcp build: its "
        "first `_search` call (catalog hash + index build + one query); index only: "
        "`_BM25Index.build`.",
        "",
        f"Held-out check: {data['holdout_queries']} more phrasings "
        "(`bench/search/queries_holdout.json`), written with the main set before any "
        "ranking work and never looked at while tuning:",
        "",
    ]
    rows = []
    for name, m in data["engines"].items():
        for scope, s in m["holdout"].items():
            rows.append(
                [
                    name if scope == "overall" else "",
                    f"{scope} ({s['n']:.0f})",
                    f"{s['recall@1']:.3f}",
                    f"{s['recall@5']:.3f}",
                    f"{s['mrr']:.3f}",
                ]
            )
    out += [_table(("engine", "queries", "recall@1", "recall@5", "MRR"), rows)]
    if data["misses"]:
        out += ["", f"codemode misses at 5 on the main set ({len(data['misses'])}):", ""]
        for miss in data["misses"]:
            got = ", ".join(f"`{g}`" for g in miss["got"]) or "nothing"
            want = ", ".join(f"`{e}`" for e in miss["expected"])
            out.append(f"- “{miss['query']}” — wanted {want}; top 3: {got}")
    return "\n".join(out) + "\n"


def main() -> int:
    """Print the Markdown section and a one-line summary per engine."""
    start = time.perf_counter()
    markdown, data = run()
    print(markdown)
    for name, m in data["engines"].items():
        s = m["scores"]["overall"]
        h = m["holdout"]["overall"]
        print(
            f"{name:26} R@1 {s['recall@1']:.3f}  R@5 {s['recall@5']:.3f}  MRR {s['mrr']:.3f}  "
            f"p50 {m['p50_ms']:.2f} ms  p99 {m['p99_ms']:.2f} ms  build {m['build_ms']:.0f} ms"
            f"  | held-out R@5 {h['recall@5']:.3f}"
        )
    print(f"(loader: {data['loader']}; total {time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
