"""Metrics, spans and the /metrics endpoint, from hand-built `ExecutionResult`s."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import anyio
import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from prometheus_client.parser import text_string_to_metric_families
from starlette.types import Message, Receive, Scope, Send

from codemode import telemetry
from codemode.results import ErrorInfo, ExecutionResult, ToolCall
from codemode.telemetry import (
    MAX_ERROR_TYPE_LABELS,
    MAX_TOOL_LABELS,
    Metrics,
    Tracing,
    metrics_endpoint,
)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(metrics: Metrics) -> Samples:
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }


def value(data: Samples, name: str, **labels: str) -> float:
    return data[(name, frozenset(labels.items()))]


def ok_result(**kwargs: object) -> ExecutionResult:
    return ExecutionResult(ok=True, **kwargs)  # type: ignore[arg-type]


def calls(*tools: str) -> tuple[ToolCall, ...]:
    return tuple(ToolCall(tool=t, duration_ms=1.0, ok=True) for t in tools)


TOOL_ERROR = ErrorInfo(type="ToolError", message="boom", tool="ns.b")


# Metrics


def test_observe_counts_executions_errors_durations_tokens_and_tool_calls() -> None:
    metrics = Metrics()
    metrics.observe(
        ok_result(
            duration_ms=250.0,
            tokens=10,
            tool_calls=(
                ToolCall(tool="ns.a", duration_ms=2.0, ok=True),
                ToolCall(tool="ns.a", duration_ms=0.05, ok=True),
                ToolCall(tool="ns.b", duration_ms=30.0, ok=False),
            ),
        )
    )
    metrics.observe(ExecutionResult(ok=False, error=TOOL_ERROR, duration_ms=1500.0, tokens=7))
    metrics.observe(ExecutionResult(ok=False, approval_id="ap1", duration_ms=5.0))
    data = samples(metrics)

    assert value(data, "codemode_executions_total", status="ok") == 1
    assert value(data, "codemode_executions_total", status="error") == 1
    assert value(data, "codemode_executions_total", status="approval_required") == 1
    assert value(data, "codemode_execution_errors_total", type="ToolError") == 1
    assert [k for k in data if k[0] == "codemode_execution_errors_total"] == [
        ("codemode_execution_errors_total", frozenset({("type", "ToolError")}))
    ]

    assert value(data, "codemode_execution_duration_seconds_count") == 3
    assert value(data, "codemode_execution_duration_seconds_sum") == pytest.approx(1.755)
    assert value(data, "codemode_execution_duration_seconds_bucket", le="0.001") == 0
    assert value(data, "codemode_execution_duration_seconds_bucket", le="0.005") == 1
    assert value(data, "codemode_execution_duration_seconds_bucket", le="0.25") == 2
    assert value(data, "codemode_execution_duration_seconds_bucket", le="1.0") == 2
    assert value(data, "codemode_execution_duration_seconds_bucket", le="2.5") == 3
    assert value(data, "codemode_execution_duration_seconds_bucket", le="+Inf") == 3

    assert value(data, "codemode_tool_calls_total", tool="ns.a", ok="true") == 2
    assert value(data, "codemode_tool_calls_total", tool="ns.a", ok="false") == 0
    assert value(data, "codemode_tool_calls_total", tool="ns.b", ok="true") == 0
    assert value(data, "codemode_tool_calls_total", tool="ns.b", ok="false") == 1
    duration = "codemode_tool_call_duration_seconds"
    assert value(data, f"{duration}_count", tool="ns.a") == 2
    assert value(data, f"{duration}_sum", tool="ns.a") == pytest.approx(0.00205)
    assert value(data, f"{duration}_bucket", tool="ns.a", le="0.0001") == 1
    assert value(data, f"{duration}_bucket", tool="ns.a", le="0.0025") == 2
    assert value(data, f"{duration}_count", tool="ns.b") == 1
    assert value(data, f"{duration}_bucket", tool="ns.b", le="0.025") == 0
    assert value(data, f"{duration}_bucket", tool="ns.b", le="0.05") == 1
    assert value(data, "codemode_tokens_returned_total") == 17


def test_every_status_is_exported_from_zero() -> None:
    data = samples(Metrics())
    for status in ("ok", "error", "approval_required"):
        assert value(data, "codemode_executions_total", status=status) == 0
    assert value(data, "codemode_tokens_returned_total") == 0
    assert value(data, "codemode_execution_duration_seconds_count") == 0


def test_an_error_without_error_info_counts_as_unknown() -> None:
    metrics = Metrics()
    metrics.observe(ExecutionResult(ok=False))
    assert value(samples(metrics), "codemode_execution_errors_total", type="unknown") == 1


def test_gauges_are_read_from_their_callables_at_each_scrape() -> None:
    sessions = [4]
    metrics = Metrics(active_sessions=lambda: sessions[0], approvals_pending=lambda: 2)
    data = samples(metrics)
    assert value(data, "codemode_active_sessions") == 4
    assert value(data, "codemode_approvals_pending") == 2
    sessions[0] = 9
    assert value(samples(metrics), "codemode_active_sessions") == 9


def test_gauges_without_a_callable_are_left_out() -> None:
    names = {name for name, _ in samples(Metrics(approvals_pending=lambda: 1))}
    assert "codemode_approvals_pending" in names
    assert "codemode_active_sessions" not in names


def test_a_raising_callable_keeps_the_last_value_and_the_scrape(
    caplog: pytest.LogCaptureFixture,
) -> None:
    answers: list[int | Exception] = [5, RuntimeError("store down")]

    def flaky() -> int:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def broken() -> int:
        raise RuntimeError("never works")

    metrics = Metrics(active_sessions=flaky, approvals_pending=broken)
    metrics.observe(ok_result())
    first = samples(metrics)
    assert value(first, "codemode_active_sessions") == 5
    assert value(first, "codemode_approvals_pending") == 0
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="codemode.telemetry"):
        second = samples(metrics)
    assert value(second, "codemode_active_sessions") == 5
    assert value(second, "codemode_executions_total", status="ok") == 1
    assert [r.name for r in caplog.records] == ["codemode.telemetry"] * 2


def test_registration_does_not_call_the_callables() -> None:
    def fail() -> int:
        raise AssertionError("called at construction")

    Metrics(active_sessions=fail, approvals_pending=fail)


def test_two_instances_are_independent() -> None:
    first, second = Metrics(), Metrics()
    first.observe(ok_result(tool_calls=calls("ns.a")))
    assert value(samples(first), "codemode_executions_total", status="ok") == 1
    data = samples(second)
    assert value(data, "codemode_executions_total", status="ok") == 0
    assert not [k for k in data if k[0] == "codemode_tool_calls_total"]


def test_tools_beyond_the_cap_fold_into_other() -> None:
    metrics = Metrics()
    metrics.observe(ok_result(tool_calls=calls(*(f"ns.t{i}" for i in range(MAX_TOOL_LABELS)))))
    metrics.observe(ok_result(tool_calls=calls("ns.new1", "ns.new2", "ns.t0")))
    data = samples(metrics)
    tools = {dict(labels)["tool"] for name, labels in data if name == "codemode_tool_calls_total"}
    assert len(tools) == MAX_TOOL_LABELS + 1
    assert "ns.new1" not in tools
    assert value(data, "codemode_tool_calls_total", tool="other", ok="true") == 2
    assert value(data, "codemode_tool_call_duration_seconds_count", tool="other") == 2
    assert value(data, "codemode_tool_calls_total", tool="ns.t0", ok="true") == 2


def test_error_types_beyond_the_cap_fold_into_other() -> None:
    metrics = Metrics()
    for i in range(MAX_ERROR_TYPE_LABELS + 3):
        error = ErrorInfo(type=f"Error{i}", message="x")
        metrics.observe(ExecutionResult(ok=False, error=error))
    data = samples(metrics)
    types = [k for k in data if k[0] == "codemode_execution_errors_total"]
    assert len(types) == MAX_ERROR_TYPE_LABELS + 1
    assert value(data, "codemode_execution_errors_total", type="other") == 3


def test_observe_is_thread_safe() -> None:
    metrics = Metrics()
    result = ok_result(tokens=1, tool_calls=calls("ns.a", "ns.b"))

    def work() -> None:
        for _ in range(500):
            metrics.observe(result)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    data = samples(metrics)
    assert value(data, "codemode_executions_total", status="ok") == 4000
    assert value(data, "codemode_tokens_returned_total") == 4000
    assert value(data, "codemode_tool_calls_total", tool="ns.b", ok="true") == 4000


def test_render_negotiates_openmetrics() -> None:
    body, content_type = Metrics().render("application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    assert body.endswith(b"# EOF\n")


# Tracing


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracing(exporter: InMemorySpanExporter) -> Iterator[Tracing]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield Tracing(provider)
    provider.shutdown()


def by_name(spans: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]


def test_execution_span_with_tool_call_children(
    tracing: Tracing, exporter: InMemorySpanExporter
) -> None:
    started = 1_700_000_000.25
    result = ok_result(
        tokens=42,
        session="s1",
        tool_calls=(
            ToolCall(tool="ns.a", duration_ms=2.5, ok=True, arg_bytes=17, started=started),
            ToolCall(tool="ns.b", duration_ms=10.0, ok=False, started=started + 0.01),
        ),
    )
    code = "x = 'é'"
    with tracing.execution(code, "s1") as span:
        span.finish(result)

    spans = exporter.get_finished_spans()
    assert len(spans) == 3
    [execute] = by_name(spans, "codemode.execute")
    assert execute.parent is None
    assert dict(execute.attributes or {}) == {
        "codemode.session": "s1",
        "codemode.code_bytes": len(code.encode()),
        "codemode.status": "ok",
        "codemode.tool_calls": 2,
        "codemode.tokens": 42,
    }
    assert execute.status.status_code is StatusCode.UNSET

    first, second = sorted(by_name(spans, "codemode.tool_call"), key=lambda s: s.start_time or 0)
    assert execute.context is not None
    for child in (first, second):
        assert child.parent is not None
        assert child.parent.span_id == execute.context.span_id
        assert child.context is not None
        assert child.context.trace_id == execute.context.trace_id
    assert first.start_time == int(started * 1e9)
    assert first.end_time == int(started * 1e9) + 2_500_000
    assert dict(first.attributes or {}) == {
        "codemode.tool": "ns.a",
        "codemode.ok": True,
        "codemode.arg_bytes": 17,
    }
    assert first.status.status_code is StatusCode.UNSET
    assert second.start_time == int((started + 0.01) * 1e9)
    assert second.end_time == int((started + 0.01) * 1e9) + 10_000_000
    assert dict(second.attributes or {})["codemode.ok"] is False
    assert second.status.status_code is StatusCode.ERROR


def test_error_result_sets_error_status(tracing: Tracing, exporter: InMemorySpanExporter) -> None:
    with tracing.execution("t.fail()", None) as span:
        span.finish(ExecutionResult(ok=False, error=TOOL_ERROR))
    [execute] = exporter.get_finished_spans()
    attributes = dict(execute.attributes or {})
    assert attributes["codemode.status"] == "error"
    assert attributes["codemode.error.type"] == "ToolError"
    assert "codemode.session" not in attributes
    assert "codemode.approval_id" not in attributes
    assert execute.status.status_code is StatusCode.ERROR


def test_resume_span_with_approval(tracing: Tracing, exporter: InMemorySpanExporter) -> None:
    with tracing.execution("x", "s2", kind="resume") as span:
        span.finish(ExecutionResult(ok=False, approval_id="ap-1", session="s2"))
    [resume] = exporter.get_finished_spans()
    assert resume.name == "codemode.resume"
    attributes = dict(resume.attributes or {})
    assert attributes["codemode.status"] == "approval_required"
    assert attributes["codemode.approval_id"] == "ap-1"
    assert resume.status.status_code is StatusCode.UNSET


def test_escaping_exception_is_recorded_and_reraised(
    tracing: Tracing, exporter: InMemorySpanExporter
) -> None:
    with pytest.raises(ValueError, match="bad"), tracing.execution("x", None):
        raise ValueError("bad")
    [execute] = exporter.get_finished_spans()
    assert execute.status.status_code is StatusCode.ERROR
    [event] = execute.events
    assert event.name == "exception"
    assert dict(event.attributes or {})["exception.type"] == "ValueError"
    assert trace.get_current_span() is trace.INVALID_SPAN


def test_spans_started_inside_are_children_and_context_is_restored(
    tracing: Tracing, exporter: InMemorySpanExporter
) -> None:
    inner_tracer = TracerProvider()
    inner_tracer.add_span_processor(SimpleSpanProcessor(exporter))
    with tracing.execution("x", None), inner_tracer.get_tracer("t").start_as_current_span("http"):
        pass
    assert trace.get_current_span() is trace.INVALID_SPAN
    [http] = by_name(exporter.get_finished_spans(), "http")
    [execute] = by_name(exporter.get_finished_spans(), "codemode.execute")
    assert http.parent is not None
    assert execute.context is not None
    assert http.parent.span_id == execute.context.span_id


def test_tool_call_without_start_time_ends_now(
    tracing: Tracing, exporter: InMemorySpanExporter
) -> None:
    before = time.time_ns()
    with tracing.execution("x", None) as span:
        span.finish(ok_result(tool_calls=(ToolCall(tool="ns.a", duration_ms=3.0, ok=True),)))
    [call] = by_name(exporter.get_finished_spans(), "codemode.tool_call")
    assert call.start_time is not None
    assert call.end_time is not None
    assert call.end_time - call.start_time == 3_000_000
    assert call.end_time >= before


def test_global_provider_api_works() -> None:
    tracing = Tracing()
    assert tracing.enabled
    with tracing.execution("x", "s") as span:
        span.finish(ok_result(tool_calls=calls("ns.a")))


def test_without_opentelemetry_everything_is_a_noop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(telemetry, "_OTEL_AVAILABLE", False)
    tracing = Tracing()
    assert not tracing.enabled
    with tracing.execution("x", "s", kind="resume") as span:
        span.finish(ExecutionResult(ok=False, error=TOOL_ERROR, tool_calls=calls("ns.a")))
    with pytest.raises(KeyError), tracing.execution("x", None):
        raise KeyError("k")


# metrics_endpoint


class Inner:
    """An ASGI app that answers "inner" and remembers the scopes it saw."""

    def __init__(self) -> None:
        self.scopes: list[Scope] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scopes.append(scope)
        if scope["type"] == "lifespan":
            message = await receive()
            assert message["type"] == "lifespan.startup"
            await send({"type": "lifespan.startup.complete"})
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"inner"})


@pytest.mark.anyio
async def test_metrics_endpoint_serves_metrics_and_passes_the_rest() -> None:
    metrics = Metrics(active_sessions=lambda: 3)
    metrics.observe(ok_result())
    inner = Inner()
    app = metrics_endpoint(inner, metrics)
    transport = httpx.ASGITransport(app=app)
    with anyio.fail_after(10):
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/metrics")
            assert response.status_code == 200
            assert response.headers["content-type"] == metrics.render()[1]
            families = {f.name for f in text_string_to_metric_families(response.text)}
            assert {"codemode_executions", "codemode_active_sessions"} <= families
            assert inner.scopes == []

            head = await client.head("/metrics")
            assert head.status_code == 200
            assert head.content == b""

            other = await client.get("/mcp")
            assert other.text == "inner"
            posted = await client.post("/metrics")
            assert posted.text == "inner"
            assert [s["path"] for s in inner.scopes] == ["/mcp", "/metrics"]

            openmetrics = await client.get(
                "/metrics", headers={"accept": "application/openmetrics-text"}
            )
            assert openmetrics.headers["content-type"].startswith("application/openmetrics-text")


@pytest.mark.anyio
async def test_metrics_endpoint_custom_path_and_lifespan() -> None:
    inner = Inner()
    app = metrics_endpoint(inner, Metrics(), path="/internal/metrics")
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        sent.append(message)

    with anyio.fail_after(10):
        await app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)
        assert sent == [{"type": "lifespan.startup.complete"}]
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:
            assert (await client.get("/internal/metrics")).status_code == 200
            assert (await client.get("/metrics")).text == "inner"
