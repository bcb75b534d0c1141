"""Gateway benchmarks: codemode serve as an MCP server over stdio, as a client sees it.

1. `tools/list` tokens vs catalog size: `codemode serve` in front of three synthetic
   upstream MCP servers (bench/upstream_server.py) holding 3, 100 and 1,000 tools in all,
   against the tokens of those tools' own definitions (what classic tool calling puts in
   context).
2. `execute` over stdio vs `cm.execute` in-process, interleaved in the same rounds, on
   a configuration holding the bundled example functions.

Every subprocess is started through the MCP SDK's `stdio_client`, which ends it (and its
process tree) when its context exits; every configuration lives in a temporary directory.
After each server is gone, /proc is checked for leftover processes of this benchmark.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import anyio
from harness import Stats, Variant, atime_rounds
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from report import Target, markdown_table
from upstream_server import DOMAINS
from workloads import BenchCheckError, expect_ok

from codemode.config import load_config
from codemode.tokens import count_tokens

__all__ = [
    "CatalogTokens",
    "GatewayResults",
    "bench_gateway",
    "gateway_method",
    "gateway_targets",
    "render_gateway",
]

UPSTREAM_SCRIPT = Path(__file__).resolve().parent / "upstream_server.py"
CATALOG_SIZES = (3, 100, 1000)
NAMESPACES = tuple(DOMAINS)  # billing, orders, users: one upstream server each
EXAMPLE_MODULE = "codemode.examples.ops"

ONE_PLUS_ONE = "1+1"
TWENTY_CALLS = "t=0\nfor i in range(20):\n    t += len(ops.list_services())\nt"
TWENTY_CALLS_RESULT = 100  # 20 × five services

EXECUTE_ROUNDS, EXECUTE_WARMUP = 600, 50
TWENTY_ROUNDS, TWENTY_WARMUP = 300, 20
CONNECT_TIMEOUT_S = 120
EXIT_GRACE_S = 5.0

# Targets.
TOOLS_LIST_MAX_TOKENS = 1000
TOOLS_LIST_SPREAD_PCT = 5.0
STDIO_OVERHEAD_MS = 3.0


@dataclass(frozen=True)
class CatalogTokens:
    """tools/list of codemode serve vs the upstream definitions, for one catalog size."""

    upstream_tools: int
    split: tuple[int, ...]
    codemode_tools: int
    codemode_tokens: int
    upstream_tokens: int
    startup_s: float


@dataclass(frozen=True)
class GatewayResults:
    """Everything the gateway benchmarks measured."""

    catalog: list[CatalogTokens]
    execute: dict[str, dict[str, Stats]]

    @property
    def tools_list_spread_pct(self) -> float:
        """(max − min) / min of the codemode tools/list tokens over catalog sizes, in %."""
        tokens = [c.codemode_tokens for c in self.catalog]
        return (max(tokens) - min(tokens)) / min(tokens) * 100


# -- processes and configuration --------------------------------------------------------


def split_tools(n: int, parts: int = len(NAMESPACES)) -> tuple[int, ...]:
    """`n` tools over `parts` servers, as evenly as possible, the first ones larger."""
    return tuple(n // parts + (i < n % parts) for i in range(parts))


def _toml_list(items: Sequence[str]) -> str:
    return "[" + ", ".join(json.dumps(item) for item in items) + "]"


def upstream_args(count: int, namespace: str) -> list[str]:
    """Command-line arguments of one synthetic upstream server."""
    return [str(UPSTREAM_SCRIPT), str(count), namespace]


def upstreams_config(split: Sequence[int]) -> str:
    """codemode.toml with one `[servers.NS]` per namespace, holding `split[i]` tools."""
    tables = [
        f"[servers.{ns}]\ncommand = {json.dumps(sys.executable)}\n"
        f"args = {_toml_list(upstream_args(count, ns))}\ntimeout = {CONNECT_TIMEOUT_S}\n"
        for ns, count in zip(NAMESPACES, split, strict=True)
    ]
    return "\n".join(tables)


def functions_config() -> str:
    """codemode.toml with the bundled example functions as namespace `ops`."""
    return f'[functions.ops]\nmodule = "{EXAMPLE_MODULE}"\n'


def serve_params(config: Path) -> StdioServerParameters:
    """`codemode serve --config CONFIG` with this interpreter."""
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "codemode.cli", "serve", "--config", str(config)],
    )


@asynccontextmanager
async def mcp_session(
    params: StdioServerParameters, errlog: TextIO
) -> AsyncIterator[ClientSession]:
    """An initialized client session to a stdio server; the server is ended on exit."""
    async with (
        stdio_client(params, errlog=errlog) as (read, write),
        ClientSession(read, write) as session,
    ):
        with anyio.fail_after(CONNECT_TIMEOUT_S):
            await session.initialize()
        yield session


def _proc_cmdlines() -> dict[int, str]:
    """Command line of every process visible in /proc (empty off Linux)."""
    lines = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            raw = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if raw:
            lines[int(entry.name)] = raw.replace(b"\0", b" ").decode(errors="replace")
    return lines


def leftover_processes(markers: Sequence[str]) -> list[int]:
    """Processes other than this one whose command line contains one of `markers`."""
    return [
        pid
        for pid, line in _proc_cmdlines().items()
        if pid != os.getpid() and any(m in line for m in markers)
    ]


async def assert_no_leftovers(markers: Sequence[str]) -> None:
    """Wait up to EXIT_GRACE_S for the benchmark's processes to exit; raise if any stay."""
    deadline = time.monotonic() + EXIT_GRACE_S
    while pids := leftover_processes(markers):
        if time.monotonic() > deadline:
            raise RuntimeError(f"benchmark processes still running: {pids}")
        await anyio.sleep(0.1)


# -- 1. tools/list tokens vs catalog size -----------------------------------------------


def _tool_json(tools: Sequence[Any]) -> list[dict[str, Any]]:
    return [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]


def classic_definitions(tools: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """What classic tool calling puts in context per tool: name, description, inputSchema."""
    return [
        {
            "name": t["name"],
            "description": t.get("description", ""),
            "inputSchema": t["inputSchema"],
        }
        for t in tools
    ]


async def upstream_tools(count: int, namespace: str, errlog: TextIO) -> list[dict[str, Any]]:
    """The tools/list answer of one upstream server, asked directly."""
    params = StdioServerParameters(command=sys.executable, args=upstream_args(count, namespace))
    async with mcp_session(params, errlog) as session:
        return _tool_json((await session.list_tools()).tools)


def check_overview(tools: Sequence[dict[str, Any]], split: Sequence[int]) -> None:
    """Raise unless every upstream server made it into `execute`'s namespace overview."""
    execute = next(t for t in tools if t["name"] == "execute")
    for ns, count in zip(NAMESPACES, split, strict=True):
        expected = f"{ns} ({count} tool{'' if count == 1 else 's'})"
        if expected not in execute["description"]:
            raise BenchCheckError(f"{expected!r} missing from execute's description")


async def measure_catalog(n: int, tmp: Path, errlog: TextIO) -> CatalogTokens:
    """Count tools/list tokens of codemode serve and of the upstream servers for `n` tools."""
    split = split_tools(n)
    config = tmp / f"codemode-{n}.toml"
    config.write_text(upstreams_config(split))
    started = time.perf_counter()
    async with mcp_session(serve_params(config), errlog) as session:
        startup_s = time.perf_counter() - started
        listed = _tool_json((await session.list_tools()).tools)
    check_overview(listed, split)
    upstream: list[dict[str, Any]] = []
    for ns, count in zip(NAMESPACES, split, strict=True):
        upstream += await upstream_tools(count, ns, errlog)
    if len(upstream) != n:
        raise BenchCheckError(f"upstream servers listed {len(upstream)} tools, expected {n}")
    await assert_no_leftovers([str(tmp), str(UPSTREAM_SCRIPT)])
    return CatalogTokens(
        upstream_tools=n,
        split=split,
        codemode_tools=len(listed),
        codemode_tokens=count_tokens(listed),
        upstream_tokens=count_tokens(classic_definitions(upstream)),
        startup_s=startup_s,
    )


# -- 2. execute over stdio vs in-process ------------------------------------------------


def expect_structured(expected: Any) -> Callable[[Any], None]:
    """Check an `execute` CallToolResult: ok and `result == expected`."""

    def check(result: Any) -> None:
        data = result.structured_content or {}
        if result.is_error or not data.get("ok") or data.get("result") != expected:
            raise BenchCheckError(f"expected {expected!r}, got {result!r}")

    return check


async def measure_execute(tmp: Path, errlog: TextIO) -> dict[str, dict[str, Stats]]:
    """`execute` through codemode serve over stdio vs `cm.execute`, interleaved."""
    config = tmp / "codemode-ops.toml"
    config.write_text(functions_config())
    programs = {
        "1+1": (ONE_PLUS_ONE, 2, EXECUTE_ROUNDS, EXECUTE_WARMUP),
        "20 calls": (TWENTY_CALLS, TWENTY_CALLS_RESULT, TWENTY_ROUNDS, TWENTY_WARMUP),
    }
    results: dict[str, dict[str, Stats]] = {}
    with load_config(config).build() as cm:
        cm.start()
        async with mcp_session(serve_params(config), errlog) as session:
            for key, (code, expected, rounds, warmup) in programs.items():
                variants = {
                    "stdio": Variant(
                        lambda code=code: session.call_tool("execute", {"code": code}),
                        expect_structured(expected),
                    ),
                    "library": Variant(lambda code=code: cm.execute(code), expect_ok(expected)),
                }
                results[key] = await atime_rounds(variants, rounds=rounds, warmup=warmup)
    await assert_no_leftovers([str(tmp)])
    return results


# -- entry point ------------------------------------------------------------------------


async def _bench_gateway() -> GatewayResults:
    with tempfile.TemporaryDirectory(prefix="codemode-bench-") as name:
        tmp = Path(name)
        with (tmp / "stderr.log").open("w") as errlog:
            try:
                catalog = [await measure_catalog(n, tmp, errlog) for n in CATALOG_SIZES]
                execute = await measure_execute(tmp, errlog)
            except BaseException:
                errlog.flush()
                sys.stderr.write((tmp / "stderr.log").read_text()[-4000:])
                raise
    return GatewayResults(catalog=catalog, execute=execute)


def bench_gateway() -> GatewayResults:
    """Run both gateway benchmarks (servers' stderr goes to a log, shown on failure)."""
    return anyio.run(_bench_gateway)


# -- targets and report -----------------------------------------------------------------


def stdio_overhead_ms(results: GatewayResults, key: str = "1+1") -> float:
    """stdio p50 − library p50 for one program, in milliseconds."""
    pair = results.execute[key]
    return pair["stdio"].p50_ms - pair["library"].p50_ms


def gateway_targets(results: GatewayResults) -> list[Target]:
    """The gateway numbers held against their targets."""
    targets = [
        Target(
            f"codemode tools/list, {c.upstream_tools:,} upstream tools",
            c.codemode_tokens,
            TOOLS_LIST_MAX_TOKENS,
            "tokens",
        )
        for c in results.catalog
    ]
    sizes = "/".join(f"{n:,}" for n in CATALOG_SIZES)
    targets.append(
        Target(
            f"codemode tools/list spread over {sizes} tools, (max − min)/min",
            results.tools_list_spread_pct,
            TOOLS_LIST_SPREAD_PCT,
            "%",
        )
    )
    targets.append(
        Target(
            'execute("1+1") over stdio p50 − cm.execute p50',
            stdio_overhead_ms(results),
            STDIO_OVERHEAD_MS,
            "ms",
        )
    )
    return targets


def catalog_table(results: GatewayResults) -> str:
    """One row per catalog size: codemode's tools/list vs the upstream definitions."""
    headers = [
        "upstream tools (billing/orders/users)",
        "codemode tools/list (tokens)",
        "upstream definitions (tokens)",
        "upstream / codemode",
        "serve start + connect (s)",
    ]
    rows = [
        [
            f"{c.upstream_tools:,} ({'/'.join(map(str, c.split))})",
            f"{c.codemode_tokens:,} ({c.codemode_tools} tools)",
            f"{c.upstream_tokens:,}",
            f"{c.upstream_tokens / c.codemode_tokens:.1f}×",
            f"{c.startup_s:.1f}",
        ]
        for c in results.catalog
    ]
    return markdown_table(headers, rows)


def execute_table(results: GatewayResults) -> str:
    """stdio vs library, one row per program, with the p50 difference."""
    headers = [
        "program",
        "stdio p50 (ms)",
        "stdio p99 (ms)",
        "library p50 (ms)",
        "library p99 (ms)",
        "iterations (each)",
        "stdio − library (p50, ms)",
    ]
    labels = {"1+1": '"1+1"', "20 calls": "20 calls to `ops.list_services`"}
    rows = []
    for key, label in labels.items():
        stdio, library = results.execute[key]["stdio"], results.execute[key]["library"]
        rows.append(
            [
                label,
                f"{stdio.p50_ms:.3f}",
                f"{stdio.p99_ms:.3f}",
                f"{library.p50_ms:.3f}",
                f"{library.p99_ms:.3f}",
                str(stdio.n),
                f"{stdio_overhead_ms(results, key):.3f}",
            ]
        )
    return markdown_table(headers, rows)


def render_gateway(results: GatewayResults, number: int) -> list[str]:
    """The gateway sections of RESULTS.md, numbered from `number`."""
    return [
        f"## {number}. `codemode serve` tools/list tokens vs catalog size",
        "Three upstream MCP servers (bench/upstream_server.py, MCP SDK `MCPServer`) behind "
        "`codemode serve` over stdio. o200k tokens of the whole tools/list `tools` array, "
        "against the upstream tools' own definitions (name, description, inputSchema).",
        catalog_table(results),
        f"Spread of codemode's tools/list over the sizes: {results.tools_list_spread_pct:.1f} %.",
        f"## {number + 1}. `execute` over stdio vs `cm.execute` in-process (same run)",
        f"```python\n{TWENTY_CALLS}\n```",
        execute_table(results),
    ]


def gateway_method() -> str:
    """How the gateway numbers were taken."""
    sizes = ", ".join(f"{n:,}" for n in CATALOG_SIZES)
    return f"""\
**Gateway, tools/list**: for each catalog size ({sizes} tools) a temporary codemode.toml
declares three `[servers.NS]` (billing, orders, users), each `bench/upstream_server.py N NS`:
an MCP SDK `MCPServer` with a one-sentence `instructions` and N tools named like
`get_invoice_17` or `list_orders_42`, each with a one- or two-sentence description and two
to four typed, described parameters. `codemode serve --config …` is started as a
subprocess and driven by the SDK's `stdio_client` + `ClientSession`; the count is
`count_tokens([tool.model_dump(mode="json", by_alias=True, exclude_none=True) …])` of the
`tools/list` answer (o200k, compact JSON). The reference is the same count over every
upstream tool's `name`, `description` and `inputSchema`, listed by connecting to each
upstream server directly. The run checks that `execute`'s description names all three
namespaces with their tool counts (so no upstream server silently failed to start). The
spread target is (max − min) / min over the sizes.

**Gateway, execute**: a temporary codemode.toml with `[functions.ops] module =
"{EXAMPLE_MODULE}"`; `codemode serve` on it over stdio, and, in this process, the
`CodeMode` that `load_config(path).build()` returns (started before timing). In each
round `await session.call_tool("execute", {{"code": …}})` and the synchronous
`cm.execute(…)` run once each, on the same event loop ({EXECUTE_WARMUP} warm-up rounds,
then {EXECUTE_ROUNDS} timed, for "1+1"; {TWENTY_WARMUP} and {TWENTY_ROUNDS} for the
20-call program). The stdio side includes JSON-RPC over pipes, the SDK's client and server
layers and codemode's server handler (which runs the program in the client's MCP session);
both sides are checked for the right result. Servers' stderr goes to a log in the
temporary directory, printed if the run fails; after each server exits, /proc is checked
for leftover processes of the benchmark."""
