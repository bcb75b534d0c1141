"""codemode benchmark suite: latency, per-call overhead, concurrency, and fastmcp comparison.

Run from the repository root:

    .venv/bin/python bench/run.py

It measures, in one process and one run:

1. warm `cm.execute("1+1")` latency;
2. a program making 20 sequential calls to a trivial sync tool;
3. per-tool-call overhead for sync and async tools (N-call program vs 0-call program);
4. ten 0.2 s tool calls gathered with `asyncio.gather` (async and sync tools);
5. the same workloads through fastmcp's CodeMode transform, at two levels (its sandbox
   provider alone, and its `execute` tool through an in-memory MCP client), as ratios;
6. `codemode serve`'s tools/list tokens in front of 3, 100 and 1,000 upstream MCP tools,
   against those tools' own definitions (bench/gateway.py);
7. `execute` through `codemode serve` over stdio vs `cm.execute` in-process, interleaved.

It overwrites bench/RESULTS.md and prints a summary. Every number comes from this run.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from apis import ApiResults, api_targets, bench_apis, render_apis
from data_plane import DataResults, bench_data_plane, data_targets, render_data_plane
from fastmcp import Client, FastMCP
from fastmcp.experimental.transforms.code_mode import CodeMode as FastMCPCodeMode
from fastmcp.experimental.transforms.code_mode import MontySandboxProvider
from gateway import (
    GatewayResults,
    bench_gateway,
    gateway_method,
    gateway_targets,
    render_gateway,
    stdio_overhead_ms,
)
from harness import Stats, Variant, atime_rounds, time_rounds
from memory_recall import (
    MemoryResults,
    bench_memory_recall,
    memory_targets,
    render_memory_recall,
)
from report import Target, machine_info, markdown_table, stats_table
from search.evaluate import run as evaluate_search
from trust import TrustResults, bench_trust, render_trust
from workloads import (
    CM_GATHER_ASYNC,
    CM_GATHER_SYNC,
    FM_GATHER_ASYNC,
    FM_GATHER_SYNC,
    NAMESPACE,
    ONE_PLUS_ONE,
    SLOW_SECONDS,
    aadd,
    add,
    cm_loop,
    engine_call_tool,
    expect_mcp_json,
    expect_mcp_text,
    expect_ok,
    expect_value,
    fm_loop,
    gather_expected,
    loop_sum,
    slow,
    slow_sync,
)

from codemode import CodeMode

T = TypeVar("T")

RESULTS_PATH = Path(__file__).resolve().parent / "RESULTS.md"

# Iteration counts (timed rounds, untimed warm-up rounds), sized for a run of ~1 minute.
ONE_PLUS_ONE_ROUNDS, ONE_PLUS_ONE_WARMUP = 2000, 100
SEQ_CALLS = 20
SEQ_ROUNDS, SEQ_WARMUP = 1000, 50
OVERHEAD_CALLS = 100
OVERHEAD_ROUNDS, OVERHEAD_WARMUP = 300, 10
GATHER_ROUNDS, GATHER_WARMUP = 5, 1
ENGINE_ROUNDS, ENGINE_WARMUP = 500, 30
ENGINE_OVERHEAD_ROUNDS, ENGINE_OVERHEAD_WARMUP = 200, 5
MCP_ROUNDS, MCP_WARMUP = 300, 20
MCP_GATHER_ROUNDS, MCP_GATHER_WARMUP = 3, 1

# Targets.
ONE_PLUS_ONE_TARGET_MS = 1.0
SEQ_TARGET_MS = 8.0
GATHER_TARGET_S = 0.5
RATIO_TARGET = 5.0
SEARCH_RECALL_TARGET = 0.9
SEARCH_P50_TARGET_MS = 5.0


@dataclass(frozen=True)
class Results:
    """Everything measured in one run."""

    one_plus_one: Stats
    sequential: Stats
    overhead: dict[str, Stats]
    gather: dict[str, Stats]
    engine: dict[str, dict[str, Stats]]
    mcp: dict[str, dict[str, Stats]]
    gateway: GatewayResults
    apis: ApiResults
    search: tuple[str, dict[str, Any]]
    data: DataResults
    memory: MemoryResults
    trust: TrustResults


# -- setup ------------------------------------------------------------------------------


def setup_codemode(cm: CodeMode) -> None:
    """Register the benchmark tools in namespace `m` and spawn the workers."""
    cm.add_functions(NAMESPACE, [add, aadd, slow, slow_sync])
    cm.start()


def make_fastmcp_server() -> FastMCP[Any]:
    """A FastMCP server with the benchmark tools behind fastmcp's CodeMode transform."""
    server: FastMCP[Any] = FastMCP("codemode-bench")
    for fn in (add, slow, slow_sync):
        server.tool(fn)
    server.add_transform(FastMCPCodeMode())
    return server


def cm_variant(cm: CodeMode, code: str, expected: Any) -> Variant:
    """`cm.execute(code)`, checked against `expected`."""
    return Variant(lambda: cm.execute(code), expect_ok(expected))


def cm_async_variant(cm: CodeMode, code: str, expected: Any) -> Variant:
    """`await cm.aexecute(code)`, checked against `expected`."""
    return Variant(lambda: cm.aexecute(code), expect_ok(expected))


# -- 1-4: codemode alone ----------------------------------------------------------------


def bench_one_plus_one(cm: CodeMode) -> Stats:
    """Warm `cm.execute("1+1")`."""
    variants = {"1+1": cm_variant(cm, ONE_PLUS_ONE, 2)}
    return time_rounds(variants, rounds=ONE_PLUS_ONE_ROUNDS, warmup=ONE_PLUS_ONE_WARMUP)["1+1"]


def bench_sequential(cm: CodeMode) -> Stats:
    """A program making SEQ_CALLS sequential calls to the sync `add` tool."""
    code = cm_loop(SEQ_CALLS, "add")
    variants = {"seq": cm_variant(cm, code, loop_sum(SEQ_CALLS))}
    return time_rounds(variants, rounds=SEQ_ROUNDS, warmup=SEQ_WARMUP)["seq"]


def overhead_programs() -> dict[str, str]:
    """The per-call overhead programs: a 0-call baseline and N-call variants."""
    n = OVERHEAD_CALLS
    return {
        "0 calls (baseline)": cm_loop(n, None),
        "sync tool": cm_loop(n, "add"),
        "async tool, called plainly": cm_loop(n, "aadd"),
        "async tool, awaited": cm_loop(n, "aadd", awaited=True),
    }


def bench_overhead(cm: CodeMode) -> dict[str, Stats]:
    """The 0-call loop and the N-call loops, interleaved."""
    expected = loop_sum(OVERHEAD_CALLS)
    variants = {
        label: cm_variant(cm, code, expected) for label, code in overhead_programs().items()
    }
    return time_rounds(variants, rounds=OVERHEAD_ROUNDS, warmup=OVERHEAD_WARMUP)


def bench_gather(cm: CodeMode) -> dict[str, Stats]:
    """Ten slow calls gathered: async tool and sync (thread-pool) tool."""
    expected = gather_expected()
    variants = {
        "async tool (asyncio.sleep)": cm_variant(cm, CM_GATHER_ASYNC, expected),
        "sync tool (time.sleep)": cm_variant(cm, CM_GATHER_SYNC, expected),
    }
    return time_rounds(variants, rounds=GATHER_ROUNDS, warmup=GATHER_WARMUP)


# -- 5a: engine only --------------------------------------------------------------------


async def _bench_engine(cm: CodeMode) -> dict[str, dict[str, Stats]]:
    provider = MontySandboxProvider()  # as CodeMode() constructs it: default limits
    host = {"call_tool": engine_call_tool({"add": add})}

    def fm_variant(code: str, expected: Any) -> Variant:
        return Variant(lambda: provider.run(code, external_functions=host), expect_value(expected))

    seq = loop_sum(SEQ_CALLS)
    total = loop_sum(OVERHEAD_CALLS)
    results = {
        "1+1": await atime_rounds(
            {
                "codemode": cm_variant(cm, ONE_PLUS_ONE, 2),
                "fastmcp": fm_variant(ONE_PLUS_ONE, 2),
            },
            rounds=ENGINE_ROUNDS,
            warmup=ENGINE_WARMUP,
        ),
        "seq": await atime_rounds(
            {
                "codemode": cm_variant(cm, cm_loop(SEQ_CALLS, "add"), seq),
                "fastmcp": fm_variant(fm_loop(SEQ_CALLS, "add"), seq),
            },
            rounds=ENGINE_ROUNDS,
            warmup=ENGINE_WARMUP,
        ),
    }
    gc.collect()
    results["overhead"] = await atime_rounds(
        {
            "codemode 0": cm_variant(cm, cm_loop(OVERHEAD_CALLS, None), total),
            "codemode N": cm_variant(cm, cm_loop(OVERHEAD_CALLS, "add"), total),
            "fastmcp 0": fm_variant(fm_loop(OVERHEAD_CALLS, None), total),
            "fastmcp N": fm_variant(fm_loop(OVERHEAD_CALLS, "add"), total),
        },
        rounds=ENGINE_OVERHEAD_ROUNDS,
        warmup=ENGINE_OVERHEAD_WARMUP,
    )
    return results


def bench_engine(cm: CodeMode) -> dict[str, dict[str, Stats]]:
    """`cm.execute` vs fastmcp's `MontySandboxProvider().run`, interleaved."""
    return asyncio.run(_bench_engine(cm))


# -- 5b: through MCP in-process ---------------------------------------------------------


async def _bench_mcp(cm: CodeMode) -> dict[str, dict[str, Stats]]:
    server = make_fastmcp_server()
    seq = loop_sum(SEQ_CALLS)
    async with Client(server) as client:

        def fm_variant(code: str, check: Any) -> Variant:
            return Variant(lambda: client.call_tool("execute", {"code": code}), check)

        results = {
            "1+1": await atime_rounds(
                {
                    "codemode": cm_async_variant(cm, ONE_PLUS_ONE, 2),
                    "fastmcp": fm_variant(ONE_PLUS_ONE, expect_mcp_text("2")),
                },
                rounds=MCP_ROUNDS,
                warmup=MCP_WARMUP,
            ),
            "seq": await atime_rounds(
                {
                    "codemode": cm_async_variant(cm, cm_loop(SEQ_CALLS, "add"), seq),
                    "fastmcp": fm_variant(fm_loop(SEQ_CALLS, "add"), expect_mcp_text(str(seq))),
                },
                rounds=MCP_ROUNDS,
                warmup=MCP_WARMUP,
            ),
        }
        gc.collect()
        wrapped = [{"result": i} for i in gather_expected()]
        results["gather"] = await atime_rounds(
            {
                "codemode async": cm_async_variant(cm, CM_GATHER_ASYNC, gather_expected()),
                "fastmcp async": fm_variant(FM_GATHER_ASYNC, expect_mcp_json(wrapped)),
                "codemode sync": cm_async_variant(cm, CM_GATHER_SYNC, gather_expected()),
                "fastmcp sync": fm_variant(FM_GATHER_SYNC, expect_mcp_json(wrapped)),
            },
            rounds=MCP_GATHER_ROUNDS,
            warmup=MCP_GATHER_WARMUP,
        )
    return results


def bench_mcp(cm: CodeMode) -> dict[str, dict[str, Stats]]:
    """`await cm.aexecute` vs fastmcp's `execute` tool via an in-memory `fastmcp.Client`."""
    return asyncio.run(_bench_mcp(cm))


# -- derived numbers --------------------------------------------------------------------


def per_call_us(with_calls: Stats, baseline: Stats, n: int) -> float:
    """(p50 of the n-call program − p50 of the 0-call program) / n, in microseconds."""
    return (with_calls.p50_ms - baseline.p50_ms) * 1000 / n


def ratio(pair: dict[str, Stats]) -> float:
    """fastmcp p50 / codemode p50."""
    return pair["fastmcp"].p50_ms / pair["codemode"].p50_ms


def build_targets(results: Results) -> list[Target]:
    """The run's numbers held against the targets."""
    gather_async = results.gather["async tool (asyncio.sleep)"]
    gather_sync = results.gather["sync tool (time.sleep)"]
    return [
        Target('execute("1+1") p50', results.one_plus_one.p50_ms, ONE_PLUS_ONE_TARGET_MS, "ms"),
        Target(
            f"{SEQ_CALLS} sequential sync calls p50", results.sequential.p50_ms, SEQ_TARGET_MS, "ms"
        ),
        Target(
            f"{len(gather_expected())} async calls gathered, slowest run",
            gather_async.max_ms / 1000,
            GATHER_TARGET_S,
            "s",
        ),
        Target(
            f"{len(gather_expected())} sync calls gathered, slowest run",
            gather_sync.max_ms / 1000,
            GATHER_TARGET_S,
            "s",
        ),
        Target(
            '"1+1" fastmcp/codemode, engine only (p50 ratio)',
            ratio(results.engine["1+1"]),
            RATIO_TARGET,
            "×",
            higher_is_better=True,
        ),
        Target(
            '"1+1" fastmcp/codemode, through MCP vs aexecute (p50 ratio)',
            ratio(results.mcp["1+1"]),
            RATIO_TARGET,
            "×",
            higher_is_better=True,
        ),
        *gateway_targets(results.gateway),
        *api_targets(results.apis),
        *search_targets(results.search[1]),
        *data_targets(results.data),
        *memory_targets(results.memory),
    ]


def search_targets(data: dict[str, Any]) -> list[Target]:
    """Search quality and speed over the three API documents (bench/search)."""
    codemode = data["engines"]["codemode"]
    overall = codemode["scores"]["overall"]
    return [
        Target(
            f"search recall@5, {data['queries']} task phrasings over {data['tools']:,} tools",
            overall["recall@5"],
            SEARCH_RECALL_TARGET,
            "",
            higher_is_better=True,
        ),
        Target("search p50", codemode["p50_ms"], SEARCH_P50_TARGET_MS, "ms"),
    ]


# -- report -----------------------------------------------------------------------------


def _ms(value: float) -> str:
    return f"{value:.3f}"


def comparison_table(pairs: dict[str, dict[str, Stats]], labels: dict[str, str]) -> str:
    """codemode vs fastmcp, one row per workload, with the p50 ratio."""
    headers = [
        "workload",
        "codemode p50 (ms)",
        "codemode p99 (ms)",
        "fastmcp p50 (ms)",
        "fastmcp p99 (ms)",
        "iterations (each)",
        "fastmcp/codemode (p50)",
    ]
    rows = []
    for key, label in labels.items():
        pair = pairs[key]
        cm, fm = pair["codemode"], pair["fastmcp"]
        rows.append(
            [
                label,
                _ms(cm.p50_ms),
                _ms(cm.p99_ms),
                _ms(fm.p50_ms),
                _ms(fm.p99_ms),
                str(cm.n),
                f"{ratio(pair):.1f}×",
            ]
        )
    return markdown_table(headers, rows)


def render_overhead(results: Results) -> str:
    """Section 3: the overhead programs and the per-call overhead derived from them."""
    baseline = results.overhead["0 calls (baseline)"]
    programs = stats_table(
        [(f"{label}, {OVERHEAD_CALLS}-iteration loop", s) for label, s in results.overhead.items()]
    )
    derived = markdown_table(
        ["tool", "per-call overhead (µs, from p50s)"],
        [
            [label, f"{per_call_us(stats, baseline, OVERHEAD_CALLS):.1f}"]
            for label, stats in results.overhead.items()
            if stats is not baseline
        ],
    )
    return f"{programs}\n\n{derived}"


def render_engine_overhead(results: Results) -> str:
    """Per-call overhead at engine level, codemode vs fastmcp, from the same rounds."""
    o = results.engine["overhead"]
    cm_us = per_call_us(o["codemode N"], o["codemode 0"], OVERHEAD_CALLS)
    fm_us = per_call_us(o["fastmcp N"], o["fastmcp 0"], OVERHEAD_CALLS)
    programs = stats_table(
        [
            (f"codemode, {OVERHEAD_CALLS}-iteration loop, 0 calls", o["codemode 0"]),
            (f"codemode, {OVERHEAD_CALLS} sync calls", o["codemode N"]),
            (f"fastmcp engine, {OVERHEAD_CALLS}-iteration loop, 0 calls", o["fastmcp 0"]),
            (f"fastmcp engine, {OVERHEAD_CALLS} calls", o["fastmcp N"]),
        ]
    )
    derived = markdown_table(
        ["", "codemode (µs/call)", "fastmcp engine (µs/call)", "fastmcp/codemode"],
        [["per-call overhead, sync tool", f"{cm_us:.1f}", f"{fm_us:.1f}", f"{fm_us / cm_us:.1f}×"]],
    )
    return f"{programs}\n\n{derived}"


def render_mcp_gather(results: Results) -> str:
    """Gather workloads through MCP (reference only)."""
    g = results.mcp["gather"]
    return stats_table(
        [
            ("codemode aexecute, async tool", g["codemode async"]),
            ("fastmcp execute via Client, async tool", g["fastmcp async"]),
            ("codemode aexecute, sync tool", g["codemode sync"]),
            ("fastmcp execute via Client, sync tool", g["fastmcp sync"]),
        ]
    )


METHOD = f"""\
All workloads run in one process, one after another, against one warm `CodeMode` (workers
spawned with `cm.start()` before anything is timed). Each workload first runs untimed
warm-up rounds, then `gc.collect()`, then timed rounds; the garbage collector stays enabled
while timing. Variants that are compared (e.g. codemode vs fastmcp, or the 0-call and
N-call programs) are **interleaved**: each round runs every variant once, so drift of this
(virtualised, shared) machine hits all of them alike. Each sample is the wall time of one
call measured with `time.perf_counter_ns()`; the result of every call is checked (outside
the timed region) and a wrong result aborts the run. Percentiles are nearest-rank on the
sorted samples. Some codemode programs are timed twice in one run (sections 2/3 alone,
section 5a interleaved with fastmcp); the difference between the two shows how much these
numbers move within one run on this machine. Per-call overhead is (p50 of the
{OVERHEAD_CALLS}-call program − p50 of the same loop with no call) / {OVERHEAD_CALLS}.

**fastmcp, engine only**: `MontySandboxProvider()` (default limits: 30 s, 100 MB, as
fastmcp's `CodeMode()` builds it) and `await provider.run(code, external_functions=
{{"call_tool": f}})`, where `f` is a minimal async host function that looks the tool up by
name, calls it and returns `{{"result": value}}` (the shape fastmcp's real `call_tool`
returns for a tool with a scalar return type). It skips fastmcp's catalog lookup, argument
validation and server dispatch, so this level is the most favourable one for fastmcp. Note
that `provider.run` opens a new `pydantic_monty.AsyncMonty()` pool for every execution —
that is how fastmcp 4.1 runs code, so its cost is part of the measurement. The codemode
side is the synchronous `cm.execute(code)` (argument validation and tool-call records
included), called from the same event loop, interleaved with fastmcp's runs.

**fastmcp, through MCP in-process**: a `FastMCP` server with the tools `add`, `slow` and
`slow_sync` and `server.add_transform(CodeMode())` (fastmcp defaults: `search` and
`get_schema` discovery tools, `max_tool_calls=50`), called with an in-memory
`fastmcp.Client(server)`: `await client.call_tool("execute", {{"code": ...}})`. fastmcp
programs call tools as `(await call_tool("add", {{"a": i, "b": 1}}))["result"]`. codemode's
side of this comparison is `await cm.aexecute(code)` on the same event loop — an equally
thin async path, but without any MCP protocol layer; the ratio therefore includes fastmcp's
MCP client/server overhead, which codemode's own MCP server also pays in part (section 7
measures it, over stdio).

Gather workloads (`asyncio.gather` of {len(gather_expected())} calls to a tool that sleeps
{SLOW_SECONDS} s) are too slow for many iterations: {GATHER_ROUNDS} timed runs each; the
target is held against the slowest run.
"""


def render(results: Results, machine: dict[str, str], started: datetime, elapsed_s: float) -> str:
    """The full RESULTS.md text."""
    targets = build_targets(results)
    gather_rows = list(results.gather.items())
    sections = [
        "# codemode benchmark results",
        f"Date: {started:%Y-%m-%d %H:%M:%S} UTC · command: `.venv/bin/python bench/run.py` · "
        f"run took {elapsed_s:.0f} s",
        "## Machine",
        markdown_table(["", ""], [[k, v] for k, v in machine.items()]),
        "## Targets",
        markdown_table(["target", "measured", "goal", "result"], [t.row() for t in targets]),
        '## 1. `cm.execute("1+1")`, warm',
        stats_table([('execute("1+1")', results.one_plus_one)]),
        f"## 2. {SEQ_CALLS} sequential calls to a sync tool",
        f"```python\n{cm_loop(SEQ_CALLS, 'add')}\n```",
        stats_table([(f"{SEQ_CALLS} × m.add", results.sequential)]),
        f"## 3. Per-tool-call overhead (N = {OVERHEAD_CALLS})",
        "The async tool is `async def aadd(a: int, b: int = 0) -> int`. codemode lets a program "
        "call it like a sync function (the host awaits it) or `await` it; both are measured.",
        render_overhead(results),
        f"## 4. Concurrency: {len(gather_expected())} × {SLOW_SECONDS} s calls with "
        "`asyncio.gather` (`cm.execute`)",
        f"```python\n{CM_GATHER_ASYNC}\n```",
        stats_table([(label, s) for label, s in gather_rows]),
        "## 5. Comparison with fastmcp's CodeMode transform (same run)",
        "### 5a. Engine only: `cm.execute` vs `MontySandboxProvider().run`",
        comparison_table(
            results.engine,
            {"1+1": '"1+1"', "seq": f"{SEQ_CALLS} sequential calls to `add`"},
        ),
        render_engine_overhead(results),
        "### 5b. Through MCP in-process: `await cm.aexecute` vs fastmcp `execute` via "
        "`fastmcp.Client(server)`",
        "codemode is measured through `await cm.aexecute(...)`, without an MCP layer; its "
        "own MCP server (`codemode serve`, over stdio) is measured in section 7.",
        comparison_table(
            results.mcp,
            {"1+1": '"1+1"', "seq": f"{SEQ_CALLS} sequential calls to `add`"},
        ),
        "Reference (no target): gathered slow calls through the same async paths.",
        render_mcp_gather(results),
        *render_gateway(results.gateway, 6),
        *render_apis(results.apis, 8),
        results.search[0].replace("## Tool search", "## 9. Tool search", 1),
        *render_data_plane(results.data, 10),
        *render_memory_recall(results.memory, 11),
        *render_trust(results.trust, 12),
        "## Method",
        METHOD.strip(),
        gateway_method(),
    ]
    return "\n\n".join(sections) + "\n"


def print_summary(results: Results) -> None:
    """A short summary on stdout."""
    rows = [t.row() for t in build_targets(results)]
    print(markdown_table(["target", "measured", "goal", "result"], rows))
    baseline = results.overhead["0 calls (baseline)"]
    for label, stats in results.overhead.items():
        if stats is not baseline:
            us = per_call_us(stats, baseline, OVERHEAD_CALLS)
            print(f"per-call overhead, {label}: {us:.1f} µs")
    for level, pairs in (("engine", results.engine), ("MCP", results.mcp)):
        for key in ("1+1", "seq"):
            pair = pairs[key]
            print(
                f"{level} {key}: codemode p50 {pair['codemode'].p50_ms:.3f} ms, "
                f"fastmcp p50 {pair['fastmcp'].p50_ms:.3f} ms, ratio {ratio(pair):.1f}×"
            )
    for c in results.gateway.catalog:
        print(
            f"tools/list, {c.upstream_tools} upstream tools: codemode {c.codemode_tokens} "
            f"tokens, upstream definitions {c.upstream_tokens} tokens"
        )
    for key in results.gateway.execute:
        print(
            f"execute {key}: stdio − library p50 {stdio_overhead_ms(results.gateway, key):.3f} ms"
        )
    print(f"wrote {RESULTS_PATH}")


# -- main -------------------------------------------------------------------------------


def step(label: str, workload: Callable[[CodeMode], T], cm: CodeMode) -> T:
    """Run one workload after a collection, logging its duration to stderr."""
    gc.collect()
    t0 = time.perf_counter()
    value = workload(cm)
    print(f"  {label}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return value


def run_all(cm: CodeMode) -> Results:
    """Run every workload, in order."""
    return Results(
        one_plus_one=step('execute("1+1")', bench_one_plus_one, cm),
        sequential=step(f"{SEQ_CALLS} sequential calls", bench_sequential, cm),
        overhead=step("per-call overhead", bench_overhead, cm),
        gather=step("gather", bench_gather, cm),
        engine=step("fastmcp engine only", bench_engine, cm),
        mcp=step("fastmcp through MCP", bench_mcp, cm),
        gateway=step("codemode serve over stdio", lambda _: bench_gateway(), cm),
        apis=step("three API documents", lambda _: bench_apis(), cm),
        search=step("tool search vs fastmcp BM25", lambda _: evaluate_search(), cm),
        data=step("10 MB CSV in, one row out", lambda _: bench_data_plane(), cm),
        memory=step("memory recall", lambda _: bench_memory_recall(), cm),
        trust=step("trust and control", lambda _: bench_trust(), cm),
    )


def main() -> int:
    """Run the suite, write RESULTS.md, print the summary."""
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    with CodeMode() as cm:
        setup_codemode(cm)
        results = run_all(cm)
    elapsed = time.perf_counter() - t0
    RESULTS_PATH.write_text(render(results, machine_info(), started, elapsed))
    print_summary(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
