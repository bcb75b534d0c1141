"""Prometheus metrics and OpenTelemetry spans for executions.

`Metrics` counts what `ExecutionResult`s report, on a registry of its own so several
`CodeMode`s in one process never collide; `metrics_endpoint` serves it from an ASGI app.
`Tracing` wraps each execution in a `codemode.execute` span with one child span per tool
call. OpenTelemetry is optional: without it, `Tracing` is a no-op with the same API.

```python
metrics, tracing = Metrics(), Tracing()
with tracing.execution(code, session) as span:
    result = cm.execute(code, session=session)
    span.finish(result)
metrics.observe(result)
```
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Final

import anyio.to_thread

from codemode.results import ExecutionResult

try:
    from opentelemetry import context as _otel_context
    from opentelemetry import trace as _otel_trace
    from opentelemetry.trace import Status, StatusCode

    _OTEL_AVAILABLE = True
except ImportError:  # pragma: no cover - opentelemetry-api comes with mcp
    _OTEL_AVAILABLE = False

if TYPE_CHECKING:
    from contextvars import Token

    from opentelemetry.context import Context
    from opentelemetry.trace import Span, Tracer, TracerProvider
    from prometheus_client import Counter, Histogram
    from prometheus_client.metrics_core import Metric
    from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["ExecutionSpan", "Metrics", "Tracing", "metrics_endpoint"]

logger = logging.getLogger(__name__)

MAX_TOOL_LABELS: Final = 1000
"""Distinct `tool` label values kept; calls to further tools are counted as `"other"`."""
MAX_ERROR_TYPE_LABELS: Final = 100
"""Distinct `type` label values kept for errors: programs can define their own exception
classes, so their names are as unbounded as tool names."""
OTHER: Final = "other"
"""The label value that absorbs tools (and error types) beyond the caps."""

EXECUTION_BUCKETS: Final = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
)  # fmt: skip
"""Seconds: a cached lookup takes a millisecond, a long batch job minutes."""
TOOL_CALL_BUCKETS: Final = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)  # fmt: skip
"""Seconds: an in-process function answers in 0.1 ms, a slow upstream API in a minute."""

_STATUSES: Final = ("ok", "error", "approval_required")


class Metrics:
    """Prometheus metrics for one `CodeMode`, on a private `CollectorRegistry`.

    `active_sessions` and `approvals_pending` are called at each scrape (from a worker
    thread when served by `metrics_endpoint`); a gauge whose callable is None is left out.
    A callable that raises does not break the scrape: its gauge keeps its last value.
    """

    def __init__(
        self,
        active_sessions: Callable[[], int] | None = None,
        approvals_pending: Callable[[], int] | None = None,
    ) -> None:
        # prometheus_client is imported here: it costs ~20 ms, and a process that never
        # runs a program (codemode search, stubs, audit) never pays it.
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry: Final = CollectorRegistry()
        """The registry every metric of this instance is on (scrape it, or merge it)."""
        registry = self.registry
        self._executions = Counter(
            "codemode_executions",
            "Executions finished, by status (ok, error, approval_required).",
            ["status"],
            registry=registry,
        )
        self._errors = Counter(
            "codemode_execution_errors",
            "Failed executions, by error type (ToolError, LimitExceeded, KeyError, ...).",
            ["type"],
            registry=registry,
        )
        self._duration = Histogram(
            "codemode_execution_duration_seconds",
            "Wall time of executions, analysis included.",
            buckets=EXECUTION_BUCKETS,
            registry=registry,
        )
        self._tool_calls = Counter(
            "codemode_tool_calls",
            "Tool calls made by programs, by tool and outcome.",
            ["tool", "ok"],
            registry=registry,
        )
        self._tool_duration = Histogram(
            "codemode_tool_call_duration_seconds",
            "Time from a tool call leaving the sandbox to its result being ready.",
            ["tool"],
            buckets=TOOL_CALL_BUCKETS,
            registry=registry,
        )
        self._tokens = Counter(
            "codemode_tokens_returned",
            "o200k tokens of the results returned to the model.",
            registry=registry,
        )
        gauges = [
            _ScrapeGauge("codemode_active_sessions", "Sessions currently open.", active_sessions),
            _ScrapeGauge(
                "codemode_approvals_pending",
                "Executions paused at a call waiting for approval.",
                approvals_pending,
            ),
        ]
        registry.register(_ScrapeGauges([g for g in gauges if g.source is not None]))

        # Resolving label children costs more than the increment itself: keep them.
        self._status_children = {s: self._executions.labels(s) for s in _STATUSES}
        self._error_children: dict[str, Counter] = {}
        self._tool_children: dict[str, _ToolChildren] = {}
        self._lock = threading.Lock()

    def observe(self, result: ExecutionResult) -> None:
        """Record one execution: its status, error type, duration, tokens and tool calls."""
        status = result.status
        self._status_children[status].inc()
        self._duration.observe(result.duration_ms / 1000)
        if result.tokens:
            self._tokens.inc(result.tokens)
        if status == "error":
            error_type = result.error.type if result.error is not None else "unknown"
            child = self._error_children.get(error_type)
            if child is None:
                child = self._error_child(error_type)
            child.inc()
        for call in result.tool_calls:
            children = self._tool_children.get(call.tool)
            if children is None:
                children = self._tool_child(call.tool)
            (children.ok if call.ok else children.failed).inc()
            children.duration.observe(call.duration_ms / 1000)

    def render(self, accept: str = "") -> tuple[bytes, str]:
        """The exposition body and its content type, in the format an `Accept` header
        asks for (OpenMetrics, or by default the Prometheus text format)."""
        from prometheus_client.exposition import choose_encoder

        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type

    def _error_child(self, error_type: str) -> Counter:
        with self._lock:
            child = self._error_children.get(error_type)
            if child is not None:
                return child
            if len(self._error_children) >= MAX_ERROR_TYPE_LABELS:
                # Not cached under its own name, so the dict stays bounded.
                return self._errors.labels(OTHER)
            child = self._errors.labels(error_type)
            self._error_children[error_type] = child
            return child

    def _tool_child(self, tool: str) -> _ToolChildren:
        with self._lock:
            children = self._tool_children.get(tool)
            if children is not None:
                return children
            label = tool if len(self._tool_children) < MAX_TOOL_LABELS else OTHER
            children = _ToolChildren(
                ok=self._tool_calls.labels(label, "true"),
                failed=self._tool_calls.labels(label, "false"),
                duration=self._tool_duration.labels(label),
            )
            if label == tool:
                self._tool_children[tool] = children
            return children


class _ToolChildren:
    __slots__ = ("duration", "failed", "ok")

    def __init__(self, *, ok: Counter, failed: Counter, duration: Histogram) -> None:
        self.ok = ok
        self.failed = failed
        self.duration = duration


class _ScrapeGauge:
    """A gauge read from a callable at scrape time, remembering its last good value."""

    def __init__(self, name: str, documentation: str, source: Callable[[], int] | None):
        self.name = name
        self.documentation = documentation
        self.source = source
        self.last = 0.0

    def read(self) -> float:
        if self.source is not None:
            try:
                self.last = float(self.source())
            except Exception:
                logger.warning("metric %s: its callable failed", self.name, exc_info=True)
        return self.last


class _ScrapeGauges:
    """A collector for the gauges computed at scrape time."""

    def __init__(self, gauges: list[_ScrapeGauge]) -> None:
        self._gauges = gauges

    def describe(self) -> Iterable[Metric]:
        # Without `describe`, registering would call `collect`, and so the callables.
        from prometheus_client.metrics_core import GaugeMetricFamily

        return [GaugeMetricFamily(g.name, g.documentation) for g in self._gauges]

    def collect(self) -> Iterable[Metric]:
        from prometheus_client.metrics_core import GaugeMetricFamily

        return [GaugeMetricFamily(g.name, g.documentation, value=g.read()) for g in self._gauges]


class ExecutionSpan:
    """The span of one execution: a context manager that yields itself.

    Call `finish(result)` inside the `with` block to record what the execution returned;
    the span ends when the block exits. An exception escaping the block is recorded on the
    span (status ERROR) and re-raised.
    """

    __slots__ = ("_attributes", "_name", "_span", "_token", "_tracer")

    def __init__(self, tracer: Tracer | None, name: str, attributes: dict[str, str | int]):
        self._tracer = tracer
        self._name = name
        self._attributes = attributes
        self._span: Span | None = None
        self._token: Token[Context] | None = None

    def __enter__(self) -> ExecutionSpan:
        if self._tracer is None:
            return self
        span = self._tracer.start_span(self._name, attributes=self._attributes)
        self._span = span
        # Spans started during the execution (tool spans, instrumented HTTP clients)
        # become its children. A no-op tracer's invalid span has nothing to propagate.
        if span.get_span_context().is_valid:
            self._token = _otel_context.attach(_otel_trace.set_span_in_context(span))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        span = self._span
        if span is None:
            return
        self._span = None
        if exc is not None and span.is_recording():
            span.record_exception(exc, escaped=True)
            span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
        if self._token is not None:
            _otel_context.detach(self._token)
            self._token = None
        span.end()

    def finish(self, result: ExecutionResult) -> None:
        """Record the result on the span, with one `codemode.tool_call` child per call."""
        span = self._span
        if span is None or self._tracer is None or not span.is_recording():
            return
        status = result.status
        span.set_attribute("codemode.status", status)
        span.set_attribute("codemode.tool_calls", len(result.tool_calls))
        span.set_attribute("codemode.tokens", result.tokens)
        if result.approval_id is not None:
            span.set_attribute("codemode.approval_id", result.approval_id)
        if result.error is not None:
            span.set_attribute("codemode.error.type", result.error.type)
        if status == "error":
            message = result.error.message if result.error is not None else None
            span.set_status(Status(StatusCode.ERROR, message))
        if result.tool_calls:
            self._tool_spans(span, self._tracer, result)

    @staticmethod
    def _tool_spans(parent: Span, tracer: Tracer, result: ExecutionResult) -> None:
        context: Context = _otel_trace.set_span_in_context(parent)
        now = time.time_ns()
        for call in result.tool_calls:
            duration = int(call.duration_ms * 1_000_000)
            # A call without a start time is placed to end now rather than in 1970.
            start = int(call.started * 1_000_000_000) if call.started > 0 else now - duration
            child = tracer.start_span(
                "codemode.tool_call",
                context=context,
                start_time=start,
                attributes={
                    "codemode.tool": call.tool,
                    "codemode.ok": call.ok,
                    "codemode.arg_bytes": call.arg_bytes,
                },
            )
            if not call.ok:
                child.set_status(Status(StatusCode.ERROR))
            child.end(end_time=start + duration)


class _NoopSpan(ExecutionSpan):
    """What `Tracing` hands out without OpenTelemetry: stateless, so one is shared."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(None, "", {})

    def __enter__(self) -> ExecutionSpan:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def finish(self, result: ExecutionResult) -> None:
        return None


_NOOP_SPAN: Final = _NoopSpan()


class Tracing:
    """OpenTelemetry spans for executions, or a no-op when OpenTelemetry isn't installed.

    `tracer_provider=None` uses the global provider (set with
    `opentelemetry.trace.set_tracer_provider`, even after this is constructed).
    """

    def __init__(self, tracer_provider: TracerProvider | None = None) -> None:
        self._tracer: Tracer | None = None
        if not _OTEL_AVAILABLE:
            return
        version = getattr(sys.modules.get("codemode"), "__version__", None)
        if tracer_provider is None:
            self._tracer = _otel_trace.get_tracer("codemode", version)
        else:
            self._tracer = tracer_provider.get_tracer("codemode", version)

    @property
    def enabled(self) -> bool:
        """False when OpenTelemetry isn't installed (every span is a no-op)."""
        return self._tracer is not None

    def execution(self, code: str, session: str | None, kind: str = "execute") -> ExecutionSpan:
        """A `codemode.execute` span (`codemode.resume` for kind "resume") to wrap one
        execution in: `with tracing.execution(code, session) as span: span.finish(r)`."""
        if self._tracer is None:
            return _NOOP_SPAN
        code_bytes = len(code) if code.isascii() else len(code.encode("utf-8", "replace"))
        attributes: dict[str, str | int] = {"codemode.code_bytes": code_bytes}
        if session is not None:
            attributes["codemode.session"] = session
        return ExecutionSpan(self._tracer, f"codemode.{kind}", attributes)


def metrics_endpoint(app: ASGIApp, metrics: Metrics, path: str = "/metrics") -> ASGIApp:
    """Wrap an ASGI app so `GET {path}` (and HEAD) answers with `metrics.render()`; every
    other request, and the lifespan protocol, reaches `app` unchanged.

    Rendering runs in a worker thread: the gauges' callables may query a store.
    """

    async def metrics_app(scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != path
            or scope["method"] not in ("GET", "HEAD")
        ):
            await app(scope, receive, send)
            return
        accept = ""
        for name, value in scope["headers"]:
            if name == b"accept":
                accept = value.decode("latin-1")
        body, content_type = await anyio.to_thread.run_sync(metrics.render, accept)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", content_type.encode("latin-1")),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send(
            {"type": "http.response.body", "body": body if scope["method"] == "GET" else b""}
        )

    return metrics_app
