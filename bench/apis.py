"""Large API catalogs: the three OpenAPI documents (Cloudflare, GitHub, Stripe) at once.

1. Cold load + search index: a fresh Python process imports codemode, loads all three
   documents (3,173 operations) and answers its first search; measured three times, each
   in its own process, and the median reported. The first `execute` is timed too, since
   it is when the bridge first maps every tool's parameters.
2. `tools/list` of codemode's MCP server over that catalog, in o200k tokens, through an
   in-memory MCP client.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import anyio
from report import Target, markdown_table

__all__ = ["ApiResults", "api_targets", "bench_apis", "render_apis"]

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
DOCUMENTS = {
    "cloudflare": "cloudflare-api-schemas-openapi.2024-08-06.json",
    "github": "github-api.github.com.octokit-openapi-23.0.2.json",
    "stripe": "stripe-openapi-spec3.2022-04-12.json",
}
COLD_RUNS = 3
COLD_TARGET_S = 3.0
TOKENS_TARGET = 1000

_COLD_SCRIPT = """
import json, sys, time
t0 = time.perf_counter()
from codemode import CodeMode
cm = CodeMode()
for name, path in json.loads(sys.argv[1]).items():
    cm.add_openapi(name, spec=path)
cm.start()
t1 = time.perf_counter()
hits = cm.search("open a new issue in a repository")
t2 = time.perf_counter()
result = cm.execute("1 + 1")
t3 = time.perf_counter()
assert result.ok and hits, (result.error, hits)
print(json.dumps({"load": t1 - t0, "index": t2 - t1, "first_execute": t3 - t2,
                  "tools": len(cm.tools()), "status": cm.source_status()}))
cm.close()
"""


@dataclass(frozen=True)
class ApiResults:
    """What the API-catalog benchmarks measured."""

    tools: int
    load_s: list[float]
    index_s: list[float]
    first_execute_s: list[float]
    tools_list_tokens: int

    @property
    def cold_s(self) -> float:
        """Median of (load + first search) over the cold runs."""
        return statistics.median(a + b for a, b in zip(self.load_s, self.index_s, strict=True))


def _paths() -> dict[str, str]:
    return {name: str(CORPORA / file) for name, file in DOCUMENTS.items()}


def _cold_run() -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-c", _COLD_SCRIPT, json.dumps(_paths())],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"cold load failed:\n{proc.stderr[-2000:]}")
    data: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return data


async def _tools_list_tokens() -> int:
    from mcp.client.client import Client

    from codemode import CodeMode
    from codemode.server import build_server
    from codemode.tokens import count_tokens

    with CodeMode() as cm:
        for name, path in _paths().items():
            cm.add_openapi(name, spec=path)
        cm.start()
        async with Client(build_server(cm)) as client:
            listed = await client.list_tools()
        wire = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in listed.tools]
        return count_tokens(wire)


def bench_apis() -> ApiResults:
    """Run both measurements."""
    runs = [_cold_run() for _ in range(COLD_RUNS)]
    tools = {int(str(r["tools"])) for r in runs}
    if tools != {3173}:
        raise RuntimeError(f"expected 3,173 operations, loaded {tools}: {runs[-1]['status']}")
    return ApiResults(
        tools=3173,
        load_s=[float(str(r["load"])) for r in runs],
        index_s=[float(str(r["index"])) for r in runs],
        first_execute_s=[float(str(r["first_execute"])) for r in runs],
        tools_list_tokens=anyio.run(_tools_list_tokens),
    )


def api_targets(results: ApiResults) -> list[Target]:
    """The acceptance targets these numbers are held against."""
    return [
        Target("cold load + index, 3,173 operations (median)", results.cold_s, COLD_TARGET_S, "s"),
        Target(
            "tools/list over 3,173 operations",
            results.tools_list_tokens,
            TOKENS_TARGET,
            "tokens",
        ),
    ]


def render_apis(results: ApiResults, number: int) -> list[str]:
    """Markdown for RESULTS.md."""
    rows = [
        [
            str(i + 1),
            f"{load:.2f}",
            f"{index:.2f}",
            f"{load + index:.2f}",
            f"{first:.3f}",
        ]
        for i, (load, index, first) in enumerate(
            zip(results.load_s, results.index_s, results.first_execute_s, strict=True)
        )
    ]
    return [
        f"## {number}. Three API documents at once: {results.tools:,} operations",
        "Each run is a fresh process: import codemode, load the Cloudflare, GitHub and Stripe "
        "OpenAPI documents in parallel, build the search index with the first search, then "
        "the first `execute` (which maps every tool's parameters).",
        markdown_table(
            ["run", "import + load (s)", "index + search (s)", "total (s)", "first execute (s)"],
            rows,
        ),
        f"Median cold load + index: **{results.cold_s:.2f} s** (target ≤ {COLD_TARGET_S:g} s). "
        f"codemode's `tools/list` over this catalog: **{results.tools_list_tokens} tokens** "
        f"(target ≤ {TOKENS_TARGET}).",
    ]
