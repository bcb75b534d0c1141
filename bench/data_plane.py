"""Data larger than the context: a 10 MB CSV in, one row out.

A tool returns a 10 MB CSV export (100,000 orders). Through codemode's MCP server, one
`execute` parses it inside the sandbox with `csv.DictReader`, keeps the one row asked
for and returns it. Measured: the execute's wall time and the o200k tokens of its MCP
response, against the tokens the same CSV would have put in the model's context as a
classic tool result.
"""

from __future__ import annotations

import csv
import io
import random
import time
from dataclasses import dataclass
from typing import Any

import anyio
from report import Target

__all__ = [
    "DataResults",
    "bench_data_plane",
    "data_targets",
    "make_csv",
    "measure",
    "render_data_plane",
]

ROWS = 100_000
EXECUTE_TARGET_S = 2.0
TOKENS_TARGET = 300
PROGRAM = """\
import csv
rows = csv.DictReader(shop.export_orders().splitlines())
match = [r for r in rows if r["order_id"] == "ORD-077777"]
match[0]
"""


# A function, so the 100,000 parsed rows are not kept in the MCP session between runs.
TABLE_PROGRAM = """\
def revenue_by_country():
    rows = csv.parse(shop.export_orders())
    return csv.aggregate(rows, by="country", orders=("*", "count"), revenue=("amount", "sum"))
revenue_by_country()
"""


def make_csv(rows: int = ROWS) -> str:
    """A deterministic ~10 MB CSV of orders."""
    rng = random.Random(7)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["order_id", "customer", "country", "amount", "status", "note"])
    for i in range(rows):
        writer.writerow(
            [
                f"ORD-{i:06d}",
                f"customer-{rng.randrange(10**6):06d}@example.com",
                rng.choice(["FR", "DE", "US", "JP", "BR"]),
                f"{rng.random() * 1000:.2f}",
                rng.choice(["paid", "open", "refunded"]),
                "gift wrap requested; deliver to the back door " + "x" * rng.randrange(1, 4),
            ]
        )
    return out.getvalue()


@dataclass(frozen=True)
class DataResults:
    """What the data-plane benchmark measured."""

    csv_bytes: int
    csv_tokens: int
    execute_s: list[float]
    response_tokens: int
    result: Any
    table_s: list[float]
    table_tokens: int

    @property
    def table_p50_s(self) -> float:
        """Median wall time of the typed-parse-and-aggregate execute."""
        ordered = sorted(self.table_s)
        return ordered[len(ordered) // 2]

    @property
    def execute_p50_s(self) -> float:
        """Median wall time of the execute call."""
        ordered = sorted(self.execute_s)
        return ordered[len(ordered) // 2]


async def measure(data: str, runs: int, program: str = PROGRAM) -> tuple[list[float], int, Any]:
    """Run `program` `runs` times through the MCP server; (times, response tokens, result)."""
    from mcp.client.client import Client

    from codemode import CodeMode
    from codemode.server import build_server
    from codemode.tokens import count_tokens

    def export_orders() -> str:
        """Every order, as CSV."""
        return data

    with CodeMode() as cm:
        cm.add_function(export_orders, namespace="shop")
        cm.start()
        async with Client(build_server(cm)) as client:
            times, tokens, result = [], 0, None
            for _ in range(runs):
                started = time.perf_counter()
                response = await client.call_tool("execute", {"code": program})
                times.append(time.perf_counter() - started)
                structured = response.structured_content or {}
                if response.is_error or not structured.get("ok"):
                    raise RuntimeError(f"the program failed: {structured.get('error')}")
                result = structured["result"]
                # What reaches the model: the content blocks plus the structured content.
                wire = response.model_dump(mode="json", by_alias=True, exclude_none=True)
                tokens = count_tokens({k: wire[k] for k in ("content", "structuredContent")})
    return times, tokens, result


def bench_data_plane(runs: int = 5) -> DataResults:
    """Run the measurement."""
    from codemode.tokens import count_tokens

    data = make_csv()
    times, tokens, result = anyio.run(measure, data, runs)
    if result.get("order_id") != "ORD-077777":
        raise RuntimeError(f"wrong row: {result}")
    table_times, table_tokens, table = anyio.run(measure, data, runs, TABLE_PROGRAM)
    if sum(group["orders"] for group in table) != ROWS:
        raise RuntimeError(f"wrong aggregate: {table}")
    return DataResults(
        csv_bytes=len(data.encode()),
        csv_tokens=count_tokens(data),
        execute_s=times,
        response_tokens=tokens,
        result=result,
        table_s=table_times,
        table_tokens=table_tokens,
    )


def data_targets(results: DataResults) -> list[Target]:
    """The acceptance targets."""
    return [
        Target("10 MB CSV -> one row: execute p50", results.execute_p50_s, EXECUTE_TARGET_S, "s"),
        Target(
            "10 MB CSV -> one row: MCP response",
            results.response_tokens,
            TOKENS_TARGET,
            "tokens",
        ),
        Target(
            "10 MB CSV -> csv.parse (typed) + aggregate: execute p50",
            results.table_p50_s,
            EXECUTE_TARGET_S,
            "s",
        ),
    ]


def render_data_plane(results: DataResults, number: int) -> list[str]:
    """Markdown for RESULTS.md."""
    times = ", ".join(f"{t:.2f}" for t in results.execute_s)
    return [
        f"## {number}. Data larger than the context: a 10 MB CSV in, one row out",
        f"A tool returns {results.csv_bytes / 1e6:.1f} MB of CSV ({ROWS:,} orders). One "
        "`execute` through codemode's MCP server (in-memory client) parses it inside the "
        "sandbox and returns the one matching row:",
        f"```python\n{PROGRAM.rstrip()}\n```",
        f"- execute wall time: p50 **{results.execute_p50_s:.2f} s** (runs: {times}; "
        f"target ≤ {EXECUTE_TARGET_S:g} s)",
        f"- MCP response (content + structuredContent): **{results.response_tokens} tokens** "
        f"(target ≤ {TOKENS_TARGET})",
        f"- the same CSV as a classic tool result in the model's context: "
        f"**{results.csv_tokens:,} tokens** "
        f"({results.csv_tokens / max(results.response_tokens, 1):,.0f}× more)",
        "",
        "The prelude's typed table helpers on the same data (every row parsed into typed "
        "dicts, then grouped):",
        f"```python\n{TABLE_PROGRAM.rstrip()}\n```",
        f"- execute wall time: p50 **{results.table_p50_s:.2f} s** (runs: "
        f"{', '.join(f'{t:.2f}' for t in results.table_s)}); MCP response "
        f"**{results.table_tokens} tokens**",
    ]
