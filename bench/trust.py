"""Trust and control: what approvals, the audit log, secrets and telemetry cost.

Run from the repository root (it is also section 12 of `bench/run.py`):

    .venv/bin/python bench/trust.py

It measures, on `memory://`, a SQLite file in a temporary directory, and PostgreSQL when
`CODEMODE_BENCH_POSTGRES_URL` is set (in a schema of its own, dropped at the end):

1. a program paused at an `approve` call and resumed: `execute` up to the pause (the
   sandbox dumped, the approval saved) and `resume` (loaded, decided, finished) timed
   apart, and the size of what the store keeps for the pause, for a small program and
   for one holding ~1 MB in variables;
2. a loop of 50 writes run to the end under `approve_run` (one pause) and `approve`
   (50 pauses), against the same loop with the tool allowed;
3. the audit record: `execute("1+1")` with `audit=True` vs `audit=False` on SQLite and
   PostgreSQL, interleaved;
4. secret scrubbing of a ~1 MB tool result (a list of dicts of strings) with 0 and 3
   registered secrets, none or some of them in it: `cm.execute` and `cm.secrets.scrub`;
5. telemetry: `cm.metrics.observe(result)`, and one execution span with the default
   (no-op) provider and with an SDK provider exporting to memory;
6. `count_tokens(result.to_dict())`, which every execution pays, for a small and a 64 KB
   result.

Nothing here is held against a target. It prints the tables it would add to RESULTS.md.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from harness import NS_PER_MS, Stats, Variant, time_rounds
from report import machine_info, markdown_table
from workloads import expect_ok

from codemode import CodeMode
from codemode.results import ExecutionResult
from codemode.store import mask_password
from codemode.telemetry import Tracing
from codemode.tokens import count_tokens

__all__ = ["TrustResults", "bench_trust", "render_trust"]

POSTGRES_ENV = "CODEMODE_BENCH_POSTGRES_URL"
NAMESPACE = "ops"

# Iteration counts (timed, untimed warm-up), sized for ~1 minute on 2 cores.
PAUSE_ROUNDS, PAUSE_WARMUP = 200, 10
BIG_PAUSE_ROUNDS, BIG_PAUSE_WARMUP = 20, 2
LOOP_WRITES = 50
LOOP_ROUNDS, LOOP_WARMUP = 10, 1
AUDIT_ROUNDS, AUDIT_WARMUP = 2000, 100
SCRUB_EXECUTE_ROUNDS, SCRUB_EXECUTE_WARMUP = 15, 2
SCRUB_ROUNDS, SCRUB_WARMUP = 30, 3
MICRO_ROUNDS, MICRO_WARMUP = 200, 20
"""Telemetry and token counting: timed batches; each sample is a batch's mean per call."""

BIG_STRINGS = 10_000
"""The ~1 MB program holds this many 100-character strings at its pause."""
PAYLOAD_BYTES = 1_000_000
"""Approximate JSON size of the tool result scrubbed in section 4."""
LEAKED_RECORDS = 40
"""Records of that result carrying a secret value, in the `some match` variant."""
TOKENS_BIG_BYTES = 64_000
"""JSON size of the large result whose tokens are counted (just under the encoder's
64 KiB chunk, so it is encoded whole)."""


# -- tools and programs -----------------------------------------------------------------


def read(i: int) -> int:
    """Read item i (allowed).

    Args:
        i: The item.
    """
    return i


def write(i: int) -> int:
    """Write item i; returns twice i.

    Args:
        i: The item.
    """
    return 2 * i


PAUSE_PROGRAM = """\
t = 0
for i in range(3):
    t += ops.read(i=i)
t += ops.write(i=10)
for i in range(2):
    t += ops.read(i=i)
t"""
PAUSE_EXPECTED = 0 + 1 + 2 + 20 + 0 + 1

BIG_PROGRAM = f"""\
data = ["x" * 96 + str(1000 + i % 9000) for i in range({BIG_STRINGS})]
w = ops.write(i=1)
len(data) + w"""
BIG_EXPECTED = BIG_STRINGS + 2

LOOP_TOOLS = {"allow": "write_allowed", "approve_run": "write_run", "approve": "write"}
"""The same `write` function under each policy."""


def loop_program(tool: str) -> str:
    """A loop of LOOP_WRITES calls to `ops.<tool>`."""
    return f"t = 0\nfor i in range({LOOP_WRITES}):\n    t += ops.{tool}(i=i)\nt"


LOOP_EXPECTED = sum(2 * i for i in range(LOOP_WRITES))


def register_ops(cm: CodeMode) -> None:
    """`ops.read` (allow) and `ops.write` under every policy of LOOP_TOOLS."""
    cm.add_function(read, namespace=NAMESPACE, policy="allow")
    for policy, name in LOOP_TOOLS.items():
        cm.add_function(write, namespace=NAMESPACE, name=name, policy=policy)


class TrustCheckError(RuntimeError):
    """A run did not pause, resume or finish as expected."""


def _paused(result: ExecutionResult) -> str:
    if result.status != "approval_required" or result.approval_id is None:
        raise TrustCheckError(f"expected a pause, got {result!r}")
    return result.approval_id


def _finished(result: ExecutionResult, expected: Any) -> None:
    if result.status != "ok" or result.result != expected:
        raise TrustCheckError(f"expected {expected!r}, got {result!r}")


# -- stores -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreSpec:
    """A store to measure on, or why it is skipped."""

    name: str
    url: str = ""
    skipped: str | None = None


@contextlib.contextmanager
def _postgres_schema(url: str) -> Iterator[str]:
    """`url` with a new schema of its own as the search path; dropped at the end, so a
    shared server keeps none of the approvals and audit records written here."""
    import psycopg
    from psycopg import sql

    name = f"codemode_bench_trust_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    parts = urlsplit(url)
    option = "options=" + quote(f"-c search_path={name}")
    try:
        yield parts._replace(query="&".join(q for q in (parts.query, option) if q)).geturl()
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


@contextlib.contextmanager
def stores() -> Iterator[list[StoreSpec]]:
    """memory, a fresh SQLite file, and PostgreSQL when configured."""
    with tempfile.TemporaryDirectory(prefix="codemode-trust-bench-") as tmp:
        specs = [
            StoreSpec("memory", "memory://"),
            StoreSpec("sqlite", f"sqlite:///{Path(tmp) / 'trust.db'}"),
        ]
        postgres = os.environ.get(POSTGRES_ENV)
        if not postgres:
            yield [*specs, StoreSpec("postgresql", skipped=f"{POSTGRES_ENV} is not set")]
            return
        with _postgres_schema(postgres) as url:
            yield [*specs, StoreSpec("postgresql", url)]


@contextlib.contextmanager
def codemodes(specs: list[StoreSpec], **kwargs: Any) -> Iterator[dict[str, CodeMode]]:
    """A started `CodeMode` with the `ops` tools on each store that is not skipped."""
    with contextlib.ExitStack() as stack:
        made: dict[str, CodeMode] = {}
        for spec in specs:
            if spec.skipped is None:
                cm = stack.enter_context(CodeMode(store=spec.url, **kwargs))
                register_ops(cm)
                made[spec.name] = cm.start()
        yield made


# -- timing helpers ---------------------------------------------------------------------


def time_batched(
    calls: dict[str, Callable[[], Any]],
    *,
    batch: int,
    rounds: int = MICRO_ROUNDS,
    warmup: int = MICRO_WARMUP,
    between: Callable[[], None] | None = None,
) -> dict[str, Stats]:
    """Per-call time of tiny operations: each sample is one batch of `batch` calls,
    divided by `batch`; the variants are interleaved batch by batch. `between` runs
    untimed after every batch (e.g. to clear an exporter)."""
    for _ in range(warmup):
        for call in calls.values():
            for _ in range(batch):
                call()
    gc.collect()
    samples: dict[str, list[int]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            start = time.perf_counter_ns()
            for _ in range(batch):
                call()
            samples[name].append((time.perf_counter_ns() - start) // batch)
            if between is not None:
                between()
    return {name: Stats.from_samples(values) for name, values in samples.items()}


# -- 1. pause -> resume -----------------------------------------------------------------


@dataclass(frozen=True)
class PauseResult:
    """One program's pause and resume on one store."""

    execute: Stats
    resume: Stats
    allowed: Stats
    """The same program with the tool allowed (no pause), timed in the same rounds."""
    state_bytes: int
    context_bytes: int


def _round_trips(
    made: dict[str, CodeMode], code: str, expected: Any, *, rounds: int, warmup: int
) -> dict[str, PauseResult]:
    """Pause and resume `code` `rounds` times per store, stores interleaved, each round
    also running the program with its `approve` tool swapped for the allowed one."""
    free = code.replace("ops.write(", f"ops.{LOOP_TOOLS['allow']}(")
    sizes: dict[str, tuple[int, int]] = {}
    for name, cm in made.items():
        approval_id = _paused(cm.execute(code))
        record = cm.store.get_approval(approval_id)
        assert record is not None
        sizes[name] = (len(record.state), len(record.context.encode()))
        _finished(cm.resume(approval_id), expected)
    for _ in range(warmup):
        for cm in made.values():
            _finished(cm.resume(_paused(cm.execute(code))), expected)
            _finished(cm.execute(free), expected)
    gc.collect()
    pauses: dict[str, list[int]] = {name: [] for name in made}
    resumes: dict[str, list[int]] = {name: [] for name in made}
    allowed: dict[str, list[int]] = {name: [] for name in made}
    for _ in range(rounds):
        for name, cm in made.items():
            t0 = time.perf_counter_ns()
            paused = cm.execute(code)
            t1 = time.perf_counter_ns()
            approval_id = _paused(paused)
            t2 = time.perf_counter_ns()
            done = cm.resume(approval_id)
            t3 = time.perf_counter_ns()
            _finished(done, expected)
            t4 = time.perf_counter_ns()
            plain = cm.execute(free)
            t5 = time.perf_counter_ns()
            _finished(plain, expected)
            pauses[name].append(t1 - t0)
            resumes[name].append(t3 - t2)
            allowed[name].append(t5 - t4)
    return {
        name: PauseResult(
            Stats.from_samples(pauses[name]),
            Stats.from_samples(resumes[name]),
            Stats.from_samples(allowed[name]),
            *sizes[name],
        )
        for name in made
    }


# -- 2. a loop of writes ----------------------------------------------------------------


@dataclass(frozen=True)
class LoopResult:
    """A loop of writes run to the end under one policy, on one store."""

    total: Stats
    pauses: int
    per_pause_ms: float | None
    """Median over rounds of (this run − the `allow` run of the same round) / pauses."""


def _run_to_end(cm: CodeMode, code: str) -> tuple[ExecutionResult, int]:
    """Execute, then approve every pause until the program finishes."""
    result = cm.execute(code)
    pauses = 0
    while result.status == "approval_required":
        pauses += 1
        result = cm.resume(_paused(result))
    return result, pauses


def _loops(made: dict[str, CodeMode]) -> dict[str, dict[str, LoopResult]]:
    """Every store, every policy, interleaved."""
    keys = [(store, policy) for store in made for policy in LOOP_TOOLS]
    counts: dict[tuple[str, str], int] = {}
    for _ in range(LOOP_WARMUP):
        for store, policy in keys:
            _run_to_end(made[store], loop_program(LOOP_TOOLS[policy]))
    gc.collect()
    samples: dict[tuple[str, str], list[int]] = {key: [] for key in keys}
    for _ in range(LOOP_ROUNDS):
        for key in keys:
            store, policy = key
            start = time.perf_counter_ns()
            result, pauses = _run_to_end(made[store], loop_program(LOOP_TOOLS[policy]))
            samples[key].append(time.perf_counter_ns() - start)
            _finished(result, LOOP_EXPECTED)
            counts[key] = pauses
    expected_pauses = {"allow": 0, "approve_run": 1, "approve": LOOP_WRITES}
    for (store, policy), pauses in counts.items():
        if pauses != expected_pauses[policy]:
            raise TrustCheckError(f"{store} {policy}: {pauses} pauses")

    def per_pause(store: str, policy: str) -> float | None:
        pauses = counts[store, policy]
        if not pauses:
            return None
        paired = zip(samples[store, policy], samples[store, "allow"], strict=True)
        return statistics.median((run - free) / pauses / NS_PER_MS for run, free in paired)

    return {
        store: {
            policy: LoopResult(
                Stats.from_samples(samples[store, policy]),
                counts[store, policy],
                per_pause(store, policy),
            )
            for policy in LOOP_TOOLS
        }
        for store in made
    }


# -- 3. audit ---------------------------------------------------------------------------


def _audit(specs: list[StoreSpec]) -> dict[str, dict[str, Stats]]:
    """`execute("1+1")` with and without the audit record, on the durable stores."""
    durable = [s for s in specs if s.name != "memory" and s.skipped is None]
    with contextlib.ExitStack() as stack:
        variants: dict[str, Variant] = {}
        for spec in durable:
            for audit in (True, False):
                cm = stack.enter_context(CodeMode(store=spec.url, audit=audit)).start()
                variants[f"{spec.name} {audit}"] = Variant(
                    lambda cm=cm: cm.execute("1+1"), expect_ok(2)
                )
        stats = time_rounds(variants, rounds=AUDIT_ROUNDS, warmup=AUDIT_WARMUP)
    return {
        spec.name: {"on": stats[f"{spec.name} True"], "off": stats[f"{spec.name} False"]}
        for spec in durable
    }


# -- 4. secret scrubbing ----------------------------------------------------------------

SECRETS = {
    "API_TOKEN": "tok_live_8f3a91c2d7e54b06a1f9c3e2",
    "DB_PASSWORD": "pw-Zq7!mR2#vX9tL4",
    "WEBHOOK_SECRET": "whsec_5d0c4e7b9a1f2e8c",
}
SCRUB_VARIANTS = {
    "none": "0 secrets",
    "no match": "3 secrets, none in the result",
    "match": f"3 secrets, one in {LEAKED_RECORDS} records",
}


def make_payload(leak: str | None = None) -> list[dict[str, str]]:
    """~PAYLOAD_BYTES of JSON: customer records of short strings; with `leak`, that
    value is written into the note of LEAKED_RECORDS records spread through the list."""
    records: list[dict[str, str]] = []
    size = 2
    i = 0
    while size < PAYLOAD_BYTES:
        record = {
            "id": f"cus_{i:06d}",
            "name": f"Customer {i}",
            "email": f"customer{i}@example.com",
            "plan": ("free", "pro", "team")[i % 3],
            "country": ("FR", "DE", "US", "JP", "BR")[i % 5],
            "note": f"account {i} renewed on 2026-{1 + i % 12:02d}-{1 + i % 28:02d}; "
            "prefers email over phone, invoices in EUR, net 30 terms",
        }
        records.append(record)
        size += len(json.dumps(record)) + 2
        i += 1
    if leak is not None:
        step = len(records) // LEAKED_RECORDS
        for k in range(LEAKED_RECORDS):
            records[k * step]["note"] += f" (token {leak})"
    return records


@dataclass(frozen=True)
class ScrubResults:
    """Scrubbing a ~1 MB tool result."""

    payload_bytes: int
    records: int
    execute: dict[str, Stats]
    scrub: dict[str, Stats]


def _scrub_bench() -> ScrubResults:
    plain = make_payload()
    leaky = make_payload(leak=SECRETS["API_TOKEN"])

    def export() -> list[dict[str, str]]:
        """All customer records."""
        return plain

    def export_leaky() -> list[dict[str, str]]:
        """All customer records (some notes carry a token)."""
        return leaky

    program = "rows = data.{}()\nlen(rows)"
    check_program = (
        "rows = data.export_leaky()\n"
        "[len(rows), len([r for r in rows if '[REDACTED:API_TOKEN]' in r['note']])]"
    )
    with (
        CodeMode(store="memory://") as bare,
        CodeMode(store="memory://", secrets=SECRETS) as guarded,
    ):
        for cm in (bare, guarded):
            cm.add_functions("data", [export, export_leaky])
            cm.start()
        _finished(guarded.execute(check_program), [len(leaky), LEAKED_RECORDS])
        n = len(plain)
        execute = time_rounds(
            {
                "none": Variant(lambda: bare.execute(program.format("export")), expect_ok(n)),
                "no match": Variant(
                    lambda: guarded.execute(program.format("export")), expect_ok(n)
                ),
                "match": Variant(
                    lambda: guarded.execute(program.format("export_leaky")), expect_ok(n)
                ),
            },
            rounds=SCRUB_EXECUTE_ROUNDS,
            warmup=SCRUB_EXECUTE_WARMUP,
        )

        def unchanged(value: Any) -> None:
            if value is not plain:
                raise TrustCheckError("scrub changed a value holding no secret")

        def redacted(value: Any) -> None:
            notes = [r["note"] for r in value]
            if sum("[REDACTED:API_TOKEN]" in note for note in notes) != LEAKED_RECORDS or any(
                SECRETS["API_TOKEN"] in note for note in notes
            ):
                raise TrustCheckError("scrub missed a secret")

        scrub = time_rounds(
            {
                "none": Variant(lambda: bare.secrets.scrub(plain), unchanged),
                "no match": Variant(lambda: guarded.secrets.scrub(plain), unchanged),
                "match": Variant(lambda: guarded.secrets.scrub(leaky), redacted),
            },
            rounds=SCRUB_ROUNDS,
            warmup=SCRUB_WARMUP,
        )
    return ScrubResults(len(json.dumps(plain).encode()), len(plain), execute, scrub)


# -- 5. telemetry -----------------------------------------------------------------------


@dataclass(frozen=True)
class TelemetryResults:
    """Metrics and spans, per call; and `execute("1+1")` without and with an SDK."""

    micro: dict[str, Stats]
    execute: dict[str, Stats]
    sdk: bool
    default_provider: str
    """The class of OpenTelemetry's global provider the default `Tracing` used."""


SIX_CALLS = "t = 0\nfor i in range(6):\n    t += ops.read(i=i)\nt"


def _span(tracing: Tracing, code: str, result: ExecutionResult) -> None:
    with tracing.execution(code, None) as span:
        span.finish(result)


def _telemetry() -> TelemetryResults:
    from opentelemetry import trace

    default_provider = type(trace.get_tracer_provider()).__name__
    try:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
            InMemorySpanExporter,
        )
    except ImportError:
        provider = exporter = None
    else:
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    with contextlib.ExitStack() as stack:
        cm = stack.enter_context(CodeMode(store="memory://"))
        register_ops(cm)
        cm.start()
        small = cm.execute("1+1")
        six = cm.execute(SIX_CALLS)
        _finished(small, 2)
        _finished(six, 15)
        micro = time_batched(
            {
                "observe 0": lambda: cm.metrics.observe(small),
                "observe 6": lambda: cm.metrics.observe(six),
                "noop span 0": lambda: _span(cm.tracing, "1+1", small),
                "noop span 6": lambda: _span(cm.tracing, SIX_CALLS, six),
            },
            batch=100,
        )
        variants = {"no-op provider": Variant(lambda: cm.execute("1+1"), expect_ok(2))}
        if provider is not None and exporter is not None:
            sdk = Tracing(provider)
            micro |= time_batched(
                {
                    "sdk span 0": lambda: _span(sdk, "1+1", small),
                    "sdk span 6": lambda: _span(sdk, SIX_CALLS, six),
                },
                batch=20,
                between=exporter.clear,
            )
            traced = stack.enter_context(CodeMode(store="memory://", tracer_provider=provider))
            traced.start()
            variants["SDK provider, in-memory exporter"] = Variant(
                lambda: traced.execute("1+1"), expect_ok(2)
            )
            if not traced.tracing.enabled:
                raise TrustCheckError("the SDK provider was not used")
        execute = time_rounds(variants, rounds=AUDIT_ROUNDS // 2, warmup=AUDIT_WARMUP)
        if exporter is not None:
            if not exporter.get_finished_spans():
                raise TrustCheckError("the SDK exporter received no span")
            exporter.clear()
    return TelemetryResults(micro, execute, provider is not None, default_provider)


# -- 6. token counting ------------------------------------------------------------------


@dataclass(frozen=True)
class TokenResults:
    """`count_tokens(result.to_dict())` for a small and a large result."""

    sizes: dict[str, tuple[int, int]]
    """Label -> (JSON bytes, tokens)."""
    stats: dict[str, Stats]


def _big_result() -> ExecutionResult:
    records = make_payload()
    kept: list[dict[str, str]] = []
    result = ExecutionResult(ok=True, result=kept, duration_ms=12.3)
    for record in records:
        kept.append(record)
        if len(json.dumps(result.to_dict(), ensure_ascii=False)) > TOKENS_BIG_BYTES:
            kept.pop()
            break
    return result


def _tokens() -> TokenResults:
    small = ExecutionResult(ok=True, result=2, duration_ms=0.4)
    big = _big_result()
    results = {"small": small, "64 KB": big}
    sizes = {
        label: (
            len(json.dumps(r.to_dict(), ensure_ascii=False).encode()),
            count_tokens(r.to_dict()),
        )
        for label, r in results.items()
    }
    stats = time_batched({"small": lambda: count_tokens(small.to_dict())}, batch=100)
    stats |= time_batched(
        {"64 KB": lambda: count_tokens(big.to_dict())}, batch=1, rounds=100, warmup=5
    )
    return TokenResults(sizes, stats)


# -- all --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrustResults:
    """Everything this benchmark measured."""

    stores: tuple[StoreSpec, ...]
    pause: dict[str, PauseResult]
    big_pause: dict[str, PauseResult]
    loops: dict[str, dict[str, LoopResult]]
    audit: dict[str, dict[str, Stats]]
    scrub: ScrubResults
    telemetry: TelemetryResults
    tokens: TokenResults
    cores: str


def _step(label: str, work: Callable[[], Any]) -> Any:
    gc.collect()
    t0 = time.perf_counter()
    value = work()
    print(f"    trust, {label}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return value


def bench_trust() -> TrustResults:
    """Run every part of the benchmark."""
    with stores() as specs:
        with codemodes(specs) as made:
            pause = _step(
                "pause/resume",
                lambda: _round_trips(
                    made, PAUSE_PROGRAM, PAUSE_EXPECTED, rounds=PAUSE_ROUNDS, warmup=PAUSE_WARMUP
                ),
            )
            big_pause = _step(
                "pause/resume, 1 MB",
                lambda: _round_trips(
                    made,
                    BIG_PROGRAM,
                    BIG_EXPECTED,
                    rounds=BIG_PAUSE_ROUNDS,
                    warmup=BIG_PAUSE_WARMUP,
                ),
            )
            loops = _step("loop of writes", lambda: _loops(made))
        audit = _step("audit", lambda: _audit(specs))
        masked = tuple(
            StoreSpec(s.name, mask_password(s.url) if s.url else "", s.skipped) for s in specs
        )
    return TrustResults(
        stores=masked,
        pause=pause,
        big_pause=big_pause,
        loops=loops,
        audit=audit,
        scrub=_step("secret scrubbing", _scrub_bench),
        telemetry=_step("telemetry", _telemetry),
        tokens=_step("token counting", _tokens),
        cores=machine_info()["cores (os.cpu_count)"],
    )


# -- report -----------------------------------------------------------------------------


def _ms(value: float) -> str:
    return f"{value:.3f}"


def _us(stats: Stats, p: float) -> str:
    return f"{stats.ms(p) * 1000:.1f}"


def _kb(size: int) -> str:
    return f"{size / 1000:,.1f} KB"


def _skipped(results: TrustResults) -> list[str]:
    return [f"{s.name}: skipped ({s.skipped})" for s in results.stores if s.skipped]


def _pause_table(results: TrustResults) -> str:
    rows = []
    for label, part in (("6 calls", results.pause), ("1 MB in variables", results.big_pause)):
        for store, r in part.items():
            rows.append(
                [
                    label,
                    store,
                    _ms(r.execute.p50_ms),
                    _ms(r.execute.p99_ms),
                    _ms(r.resume.p50_ms),
                    _ms(r.resume.p99_ms),
                    _ms(r.allowed.p50_ms),
                    _ms(r.execute.p50_ms + r.resume.p50_ms - r.allowed.p50_ms),
                    str(r.execute.n),
                    f"{r.state_bytes:,}",
                    f"{r.context_bytes:,}",
                ]
            )
    headers = [
        "program",
        "store",
        "execute to pause p50 (ms)",
        "p99 (ms)",
        "resume to end p50 (ms)",
        "p99 (ms)",
        "tool allowed p50 (ms)",
        "pause + resume cost (ms, from p50s)",
        "runs",
        "sandbox dump (bytes)",
        "carried context (bytes)",
    ]
    return markdown_table(headers, rows)


def _loop_table(results: TrustResults) -> str:
    rows = []
    for store, by_policy in results.loops.items():
        for policy, r in by_policy.items():
            extra = ""
            if policy == "approve" and r.per_pause_ms is not None:
                extra = f"{r.per_pause_ms:.2f}"
            rows.append(
                [
                    store,
                    f"`{policy}`",
                    str(r.pauses),
                    _ms(r.total.p50_ms),
                    _ms(r.total.min_ms),
                    _ms(r.total.max_ms),
                    str(r.total.n),
                    extra,
                ]
            )
    headers = [
        "store",
        "policy",
        "pauses",
        "wall to the end p50 (ms)",
        "min (ms)",
        "max (ms)",
        "runs",
        "per pause + resume (ms, vs `allow` in the same round, median)",
    ]
    return markdown_table(headers, rows)


def _audit_table(results: TrustResults) -> str:
    rows = []
    for store, pair in results.audit.items():
        on, off = pair["on"], pair["off"]
        rows.append(
            [
                store,
                _ms(on.p50_ms),
                _ms(on.p99_ms),
                _ms(off.p50_ms),
                _ms(off.p99_ms),
                str(on.n),
                f"{(on.p50_ms - off.p50_ms) * 1000:.0f}",
            ]
        )
    headers = [
        "store",
        "audit on p50 (ms)",
        "p99 (ms)",
        "audit off p50 (ms)",
        "p99 (ms)",
        "iterations (each)",
        "audit record (µs, from p50s)",
    ]
    return markdown_table(headers, rows)


def _scrub_table(results: TrustResults) -> str:
    s = results.scrub
    rows = [
        [
            label,
            _ms(s.execute[key].p50_ms),
            _ms(s.execute[key].p99_ms),
            _ms(s.scrub[key].p50_ms),
            _ms(s.scrub[key].p99_ms),
            f"{s.execute[key].n} / {s.scrub[key].n}",
        ]
        for key, label in SCRUB_VARIANTS.items()
    ]
    headers = [
        "secrets",
        "cm.execute p50 (ms)",
        "p99 (ms)",
        "secrets.scrub p50 (ms)",
        "p99 (ms)",
        "iterations (execute / scrub)",
    ]
    return markdown_table(headers, rows)


def _micro_table(rows: list[tuple[str, Stats]]) -> str:
    return markdown_table(
        ["operation", "p50 (µs)", "p99 (µs)", "batches"],
        [[label, _us(s, 50), _us(s, 99), str(s.n)] for label, s in rows],
    )


def _telemetry_tables(results: TrustResults) -> list[str]:
    t = results.telemetry
    labels = {
        "observe 0": "`cm.metrics.observe(result)`, 0 tool calls",
        "observe 6": "`cm.metrics.observe(result)`, 6 tool calls",
        "noop span 0": "execution span, no-op provider, 0 tool calls",
        "noop span 6": "execution span, no-op provider, 6 tool calls",
        "sdk span 0": "execution span, SDK + in-memory exporter, 0 tool calls",
        "sdk span 6": "execution span, SDK + in-memory exporter, 6 tool calls (7 spans)",
    }
    out = [_micro_table([(label, t.micro[key]) for key, label in labels.items() if key in t.micro])]
    if not t.sdk:
        out.append("opentelemetry-sdk is not installed: the SDK rows were not measured.")
    out.append(
        markdown_table(
            ['`execute("1+1")`', "p50 (ms)", "p99 (ms)", "iterations"],
            [[label, _ms(s.p50_ms), _ms(s.p99_ms), str(s.n)] for label, s in t.execute.items()],
        )
    )
    return out


def _token_table(results: TrustResults) -> str:
    t = results.tokens
    return markdown_table(
        ["result", "JSON", "tokens", "p50 (µs)", "p99 (µs)", "samples"],
        [
            [
                label,
                _kb(t.sizes[label][0]),
                f"{t.sizes[label][1]:,}",
                _us(s, 50),
                _us(s, 99),
                str(s.n),
            ]
            for label, s in t.stats.items()
        ],
    )


def render_trust(results: TrustResults, number: int) -> list[str]:
    """Markdown for RESULTS.md."""
    store_names = ", ".join(
        f"{s.name}" + (f" (skipped: {s.skipped})" if s.skipped else "") for s in results.stores
    )
    s = results.scrub
    out = [
        f"## {number}. Trust and control: approvals, audit, secrets, telemetry",
        f"No targets: what each mechanism costs, on the machine above ({results.cores} cores). "
        f"Stores: {store_names}; PostgreSQL runs in a schema of its own on a local server. "
        "Variants compared are interleaved round by round. On this shared, virtualised "
        "machine absolute times move by up to ~2× between runs (`bench/trust.py` run "
        "alone is usually faster than here, at the end of the suite); the differences "
        "between interleaved variants hold better.",
        f"### {number}a. Pause at an approval, then resume",
        "A program makes 3 allowed calls, 1 call to an `approve` tool, then 2 more; "
        "`execute` returns at the pause (the sandbox dumped mid-call, the approval saved) "
        "and `resume(approval_id)` takes the decision, loads the dump and finishes the "
        f"program (its audit record included). The 1 MB program holds {BIG_STRINGS:,} "
        "strings of 100 characters in a list at its pause. Each round also runs the same "
        "program with the tool allowed (no pause); the pause + resume cost is (execute + "
        "resume − allowed) from the p50s. Sizes are what the approval record keeps: the "
        "sandbox's dump and the JSON context carried to the continuation.",
        f"```python\n{PAUSE_PROGRAM}\n```",
        _pause_table(results),
        f"### {number}b. A loop of {LOOP_WRITES} writes, run to the end",
        f"`for i in range({LOOP_WRITES}): t += ops.<write>(i=i)`, with the tool allowed, "
        "`approve_run` (one approval for the rest of the run) or `approve` (each call "
        "waits): wall time from `execute` to the final result, every pause approved at "
        "once with `resume`. Per pause + resume: for `approve`, the median over rounds of "
        f"(`approve` run − `allow` run of the same round) / {LOOP_WRITES}; `approve_run`'s "
        "single pause is smaller than the run-to-run spread here (12a measures one).",
        _loop_table(results),
        f"### {number}c. The audit record",
        '`execute("1+1")` on two `CodeMode`s sharing one store, `audit=True` and '
        "`audit=False`, interleaved. The record is one INSERT committed before `execute` "
        "returns (SQLite: WAL, `synchronous=NORMAL`; PostgreSQL: default "
        "`synchronous_commit=on`, `fsync=on`).",
        _audit_table(results),
        f"### {number}d. Secret scrubbing of a 1 MB tool result",
        f"A tool returns {s.records:,} customer records ({_kb(s.payload_bytes)} of JSON, "
        "dicts of short strings). Every tool result is scrubbed on the host before it "
        "enters the sandbox; `cm.execute` runs `rows = data.export()` then `len(rows)`. "
        "Secrets: none registered, or 3 (each looked for in up to 5 forms: as is, "
        "URL-encoded, base64 in both alphabets, JSON-escaped). A value with no secret in "
        "it is returned as is; with matches, the strings and containers on the path to "
        "them are rebuilt.",
        _scrub_table(results),
        f"### {number}e. Telemetry",
        "Per call, from batches (100 calls per batch; 20 for the SDK, whose exporter is "
        "cleared between batches). Every execution observes its result and opens a span: "
        "with no provider configured (here the global provider is a "
        f"`{results.telemetry.default_provider}`), OpenTelemetry hands out a "
        "non-recording span. The SDK rows use a `TracerProvider` with a "
        "`SimpleSpanProcessor` and an `InMemorySpanExporter`.",
        *_telemetry_tables(results),
        f"### {number}f. Token counting",
        "`count_tokens(result.to_dict())` (o200k), which `execute` runs on every result "
        "before returning it, for the result of `1+1` and one whose JSON is 64 KB.",
        _token_table(results),
    ]
    skipped = _skipped(results)
    if skipped:
        out.append("\n".join(f"- {line}" for line in skipped))
    return out


def main() -> int:
    """Run everything and print the Markdown it would add to RESULTS.md."""
    started = time.perf_counter()
    results = bench_trust()
    print("\n\n".join(render_trust(results, 12)))
    print(f"\n(took {time.perf_counter() - started:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
