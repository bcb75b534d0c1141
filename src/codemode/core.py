"""`CodeMode`: register tools, then run programs that call them.

```python
from codemode import CodeMode

cm = CodeMode()
cm.add_function(get_weather, namespace="weather")
result = cm.execute('weather.get_weather(city="Paris")["temp_c"]')
```
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import json
import os
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import anyio

from codemode.analysis import Analysis, Problem, analyze
from codemode.approvals import Carry, Paused, is_approval_id, new_approval_id
from codemode.artifacts import ArtifactPolicy, ArtifactStore, FileArtifacts, StoreArtifacts
from codemode.audit import audit_record
from codemode.bridge import Bridge
from codemode.catalog import Tool
from codemode.errors import ApprovalError, ConfigError
from codemode.library import resolve as resolve_library
from codemode.library import search_tool
from codemode.limits import Limits
from codemode.policy import Policy
from codemode.prelude.imports import LIBRARY
from codemode.registry import Registry
from codemode.results import ErrorInfo, ExecutionResult, cap_json
from codemode.sandbox.discovery import Discovery
from codemode.sandbox.driver import Outcome, RunControl
from codemode.sandbox.host import ExecutionHost, store_value
from codemode.sandbox.modules import BUILTIN_STUBS, NamespaceModules
from codemode.sandbox.monty import MontyExecutor, Resume
from codemode.search import SearchHit, SearchIndex
from codemode.secret import Secrets
from codemode.state import DurableState, check_scope_part
from codemode.store import ApprovalRecord, Quota, Store, open_store
from codemode.telemetry import ExecutionSpan, Metrics, Tracing
from codemode.tokens import count_tokens
from codemode.typegen import namespace_stub, tool_signature

__all__ = ["CodeMode"]

Progress = Callable[[int, float], Awaitable[None]]
"""`progress(tool_calls_done, elapsed_seconds)`, awaited about once a second by `aexecute`."""

_CACHED_ANALYSES = 256
_CACHED_PROGRAM_CHARS = 16_384


class CodeMode(Registry):
    """Tools as typed functions in a sandbox, driven by programs.

    Args:
        limits: What one execution may consume (`Limits()` defaults when omitted).
        type_check: Also type-check each program against the generated stubs with the
            sandbox's bundled checker before running it. Calls are always checked against
            the tools' schemas; the full check adds ~10 ms per stateless execution and
            ~0.5 ms per execution in a warm session.
        max_workers: Sandbox worker processes (default: twice the CPU count, at least 4).
        session_ttl: Seconds an idle session is kept before it is forgotten.
        artifacts: Where values too big to return are kept: an `ArtifactStore`, a
            directory path (`FileArtifacts`, shared by processes using it), or None (or an
            `ArtifactPolicy` for other limits) for the store.
        store: Where durable state lives (sessions, artifacts, workspace files, the
            library, memory): a `Store`, a URL (`sqlite:////abs/path.db`,
            `postgresql://user@host:port/db`, `memory://`), or None for a SQLite file
            in the user's data dir (`$CODEMODE_HOME`, else `~/.local/share/codemode`).
        project: With `agent`, the scope of the library and the default workspace
            and memory profile (`project/agent`): every session of that agent shares them.
        agent: See `project`.
        memory_profile: The `memory` profile programs use (default `project/agent`);
            agents that name the same profile share their memories.
        workspace: The `/workspace` programs see (default `project/agent`).
        workspace_quota: Bytes and files one workspace may hold.
        policy: Which tool calls run (`allow`), are refused (`deny`) or pause the
            program for a person's approval (`approve`, or `approve_run` to approve a
            tool once for the rest of a run): `{"ns.tool": "approve", "ns.*": "allow"}`
            or a `Policy`. Tools without a rule follow their hints (destructive ones
            need approval). See `codemode.policy`.
        approval_ttl: Seconds a paused program waits for a decision before it is dropped.
        audit: Record every execution in the store (`codemode audit` reads it).
        secrets: Named credentials (`{"GITHUB_TOKEN": value}`) that sources reference as
            `${secret:NAME}`; their values never reach a program (see `codemode.secret`).
        tracer_provider: The OpenTelemetry provider for spans (`codemode.execute` with a
            `codemode.tool_call` child per call); default the global one. Prometheus
            metrics are in `cm.metrics` (served at `/metrics` by the HTTP server).

    Use as a context manager, or call `close()` when done, to stop the sandbox workers.
    """

    def __init__(
        self,
        *,
        limits: Limits | None = None,
        type_check: bool = False,
        max_workers: int | None = None,
        session_ttl: float = 24 * 3600.0,
        artifacts: ArtifactStore | ArtifactPolicy | str | os.PathLike[str] | None = None,
        store: Store | str | None = None,
        project: str = "default",
        agent: str = "default",
        memory_profile: str | None = None,
        workspace: str | None = None,
        workspace_quota: Quota | None = None,
        policy: Mapping[str, str] | Policy | None = None,
        approval_ttl: float = 7 * 24 * 3600.0,
        audit: bool = True,
        secrets: Mapping[str, str] | Secrets | None = None,
        tracer_provider: Any = None,
    ) -> None:
        self.limits = limits or Limits()
        super().__init__(policy=policy, secrets=secrets)
        self.approval_ttl = approval_ttl
        self.audit = audit
        self._next_approval_expiry = 0.0
        self.tracing = Tracing(tracer_provider)
        self._owns_store = store is None or isinstance(store, str)
        self.store: Store = open_store(store) if store is None or isinstance(store, str) else store
        self.state = DurableState(
            store=self.store,
            scope=f"{check_scope_part(project, 'project')}/{check_scope_part(agent, 'agent')}",
            memory_profile=memory_profile,
            workspace=workspace,
            quota=workspace_quota or Quota(),
        )
        self.artifacts = _artifact_store(artifacts, self.store)
        self.type_check = type_check
        self._modules = NamespaceModules(self.catalog, with_stubs=type_check)
        self._discovery = Discovery(self.catalog, self._modules, self.search, self.stubs)
        self._bridge = Bridge(
            self.catalog,
            builtins=self._discovery.functions(),
            policy=self.policy,
            secrets=self.secrets,
        )
        self._executor = MontyExecutor(
            limits=self.limits,
            modules=self._modules,
            max_workers=max_workers or max(4, 2 * (os.cpu_count() or 2)),
            type_check=type_check,
            type_check_stubs=BUILTIN_STUBS if type_check else None,
            session_ttl=session_ttl,
            store=self.store,
        )
        self._index: SearchIndex | None = None
        self._index_version: tuple[int, tuple[tuple[str, int], ...]] | None = None
        self._index_lock = threading.Lock()
        self._metrics: Metrics | None = None
        self._metrics_lock = threading.Lock()
        self._analyses: collections.OrderedDict[tuple[str, int], Analysis] = (
            collections.OrderedDict()
        )
        self._analyses_lock = threading.Lock()
        self._closed = False

    @property
    def metrics(self) -> Metrics:
        """Prometheus metrics of this instance's executions (made on first use)."""
        if self._metrics is None:
            with self._metrics_lock:
                if self._metrics is None:
                    self._metrics = Metrics(
                        active_sessions=lambda: len(self.sessions()),
                        approvals_pending=lambda: len(self.store.list_approvals()),
                    )
        return self._metrics

    # -- discovery ----------------------------------------------------------------------

    def namespaces(self) -> list[str]:
        """Registered namespace names, sorted."""
        self._ensure_started()
        return self.catalog.namespaces()

    def tools(self, namespace: str | None = None) -> list[Tool]:
        """Registered tools, optionally of one namespace."""
        self._ensure_started()
        if namespace is not None and namespace not in self.catalog:
            raise ConfigError(self._unknown_namespace(namespace))
        return self.catalog.tools(namespace)

    def stubs(self, namespace: str | None = None) -> str:
        """The Python stub (`.pyi`) programs are written against, for one or all namespaces."""
        if namespace is not None:
            return namespace_stub(namespace, self.tools(namespace))
        self._ensure_started()
        parts = [
            f"# ---- namespace {ns} ----\n{namespace_stub(ns, self.catalog.tools(ns))}"
            for ns in self.catalog.namespaces()
        ]
        return "\n\n".join(parts)

    def search(self, query: str, limit: int = 8) -> list[SearchHit]:
        """The tools (and saved library functions) that best match `query`, best first."""
        self._ensure_started()
        return self._search_index().search(query, limit)

    def _search_index(self) -> SearchIndex:
        """The index over the catalog and the saved functions, rebuilt when either
        changes (the library's version numbers are one cheap query per search)."""
        versions = self.store.function_versions(self.state.scope)
        key = (self.catalog.version, tuple(versions.items()))
        if self._index is None or self._index_version != key:
            with self._index_lock:
                if self._index is None or self._index_version != key:
                    saved = {f.name: f for f in self.store.list_functions(self.state.scope)}
                    tools = [*self.catalog.tools(), *(search_tool(f) for f in saved.values())]

                    def signature(tool: Tool) -> str:
                        if tool.namespace == LIBRARY and tool.name in saved:
                            return saved[tool.name].signature
                        return tool_signature(tool)

                    self._index = SearchIndex(tools, signature)
                    self._index_version = key
        return self._index

    def _unknown_namespace(self, namespace: str) -> str:
        known = ", ".join(self.catalog.namespaces()) or "none registered"
        return f"unknown namespace {namespace!r} (namespaces: {known})"

    # -- execution ----------------------------------------------------------------------

    def execute(self, code: str, *, session: str | None = None) -> ExecutionResult:
        """Run a program and return what it produced. Never raises for program errors.

        With `session`, variables and functions persist for the next execution with the
        same id (until it is idle for `session_ttl`); sessions are isolated from each other.

        A program that reaches a call needing approval stops there: the result has
        `status == "approval_required"`, an `approval_id` and the `pending` call;
        `resume(approval_id, approve=...)` continues it.
        """
        started, wall = time.perf_counter(), time.time()
        self._check_open()
        with self.tracing.execution(code, session) as span:
            self._ensure_started()
            analysis = self._analyze(code)
            result = self._refuse_early(analysis, started, session)
            if result is None:
                host = self._host(code, session)
                outcome = self._executor.run(
                    code, analysis, host, session_id=session, loop=self._async_loop(analysis)
                )
                result = self._result(outcome, started, host)
            return self._finish(result, code=code, started=wall, span=span)

    async def aexecute(
        self, code: str, *, session: str | None = None, progress: Progress | None = None
    ) -> ExecutionResult:
        """`execute` for async callers: async tools run on the caller's event loop.

        `progress(tool_calls_done, elapsed_seconds)` is awaited about once a second while
        the program runs. Cancelling the awaiting task stops the program: it is
        interrupted at its next tool call, or its worker is stopped if it keeps computing.
        """
        started, wall = time.perf_counter(), time.time()
        self._check_open()
        with self.tracing.execution(code, session) as span:
            if self._pending:
                await anyio.to_thread.run_sync(self._ensure_started)
            analysis = await anyio.to_thread.run_sync(self._analyze, code)
            result = self._refuse_early(analysis, started, session)
            if result is None:
                host = self._host(code, session)
                outcome = await self._run_async(code, analysis, host, progress, started)
                result = self._result(outcome, started, host)
            return self._finish(result, code=code, started=wall, span=span)

    def resume(self, approval_id: str, *, approve: bool = True) -> ExecutionResult:
        """Decide a paused program's pending call and continue the program.

        Approved, the call runs and the program goes on (it may pause again at a later
        call: a new `approval_id`). Denied, the call raises `ToolError("denied: ...")`
        inside the program, which may catch it. Calls made before the pause are not
        made again. Works in any process using the same store, with the same project,
        agent and tools. Raises `ApprovalError` for an unknown, expired or decided
        approval, or one this `CodeMode` cannot continue (the decision is then not
        taken, so another can).
        """
        started, wall = time.perf_counter(), time.time()
        self._check_open()
        self._ensure_started()
        record, carry, analysis = self._claim(approval_id, approve)
        with self.tracing.execution(carry.code, record.session, kind="resume") as span:
            host = self._host(carry.code, record.session, execution=carry.execution)
            outcome = self._executor.run(
                carry.code,
                analysis,
                host,
                session_id=record.session,
                loop=self._async_loop(analysis),
                resume=Resume(state=record.state, carry=carry, approved=approve),
            )
            result = self._result(outcome, started, host)
            return self._finish(result, started=wall, span=span, resumed=(approval_id, carry))

    async def aresume(
        self, approval_id: str, *, approve: bool = True, progress: Progress | None = None
    ) -> ExecutionResult:
        """`resume` for async callers (async tools run on the caller's event loop)."""
        started, wall = time.perf_counter(), time.time()
        self._check_open()
        if self._pending:
            await anyio.to_thread.run_sync(self._ensure_started)
        record, carry, analysis = await anyio.to_thread.run_sync(self._claim, approval_id, approve)
        with self.tracing.execution(carry.code, record.session, kind="resume") as span:
            host = self._host(carry.code, record.session, execution=carry.execution)
            resume = Resume(state=record.state, carry=carry, approved=approve)
            outcome = await self._run_async(carry.code, analysis, host, progress, started, resume)
            result = self._result(outcome, started, host)
            return self._finish(result, started=wall, span=span, resumed=(approval_id, carry))

    def approvals(self, *, session: str | None = None) -> list[ApprovalRecord]:
        """Programs waiting for a decision (of one session, or all), oldest first."""
        return self.store.list_approvals(session=session)

    def _claim(self, approval_id: str, approve: bool) -> tuple[ApprovalRecord, Carry, Analysis]:
        """Check that this `CodeMode` can continue the paused program, then take the
        decision on it (exactly one caller anywhere wins). Nothing is decided when a
        check fails."""
        if not is_approval_id(approval_id):
            raise ApprovalError(f"{approval_id!r} is not an approval id (apr_ + 24 hex digits)")
        found = self.store.get_approval(approval_id)
        if found is None:
            raise ApprovalError(f"no approval {approval_id} (unknown, or expired)")
        if found.status != "pending":
            raise ApprovalError(f"approval {approval_id} was already decided ({found.status})")
        if found.scope != self.state.scope:
            raise ApprovalError(
                f"approval {approval_id} belongs to project/agent {found.scope!r}; continue "
                f"it with a CodeMode of that project and agent (this one is "
                f"{self.state.scope!r})"
            )
        carry = Carry.from_json(found.context)
        analysis = self._analyze(carry.code)
        if analysis.problems:
            raise ApprovalError(
                f"approval {approval_id} cannot continue here: its program no longer fits "
                f"the registered tools ({analysis.problems[0].message}); register the tools "
                "it was written for"
            )
        record = self.store.decide_approval(approval_id, "approved" if approve else "denied")
        if record is None:
            raise ApprovalError(f"approval {approval_id} was already decided (just now, elsewhere)")
        return record, carry, analysis

    async def _run_async(
        self,
        code: str,
        analysis: Analysis,
        host: ExecutionHost,
        progress: Progress | None,
        started: float,
        resume: Resume | None = None,
    ) -> Outcome:
        loop = asyncio.get_running_loop()
        control = RunControl()

        async def run() -> Outcome:
            return await anyio.to_thread.run_sync(
                lambda: self._executor.run(
                    code,
                    analysis,
                    host,
                    session_id=host.session,
                    loop=loop,
                    control=control,
                    resume=resume,
                ),
                abandon_on_cancel=True,
            )

        try:
            if progress is None:
                return await run()
            return await _with_progress(run, control, progress, started)
        except BaseException:
            control.cancel()  # the caller went away (cancellation): stop the program too
            raise

    def _refuse_early(
        self, analysis: Analysis, started: float, session: str | None
    ) -> ExecutionResult | None:
        """The result for a program that must not run: its calls are wrong, or its
        session waits for a decision on a paused program."""
        if analysis.problems:
            return _rejected(analysis.problems, started, session)
        if session is None:
            return None
        waiting = self.store.list_approvals(session=session)
        if not waiting:
            return None
        first = waiting[0]
        error = ErrorInfo(
            type="ApprovalPending",
            message=f"session {session!r} has a program paused at a call to {first.tool} "
            f"waiting for approval ({first.id}); it continues once that call is approved "
            "or denied, and the session runs nothing else meanwhile",
        )
        return ExecutionResult(
            ok=False,
            error=error,
            duration_ms=(time.perf_counter() - started) * 1000,
            session=session,
        )

    def _host(
        self, code: str, session: str | None, *, execution: str | None = None
    ) -> ExecutionHost:
        def programs() -> list[str]:
            earlier = self._executor.programs(session) if session is not None else []
            return [*earlier, code]

        return ExecutionHost(
            self._bridge,
            self.artifacts,
            self.limits,
            session=session,
            state=self.state,
            programs=programs,
            run_test=self._run_test,
            execution=execution,
        )

    def _analyze(self, code: str) -> Analysis:
        """The program's analysis, with the library functions it imports resolved.

        The static pass depends only on the program and the catalog, so programs run
        again (retries, a session's repeated snippets, a resumed program) reuse it."""
        specs = self._bridge.specs()
        key = (code, self.catalog.version)
        analysis = self._analyses.get(key)
        if analysis is None:
            analysis = analyze(code, specs)
            if len(code) <= _CACHED_PROGRAM_CHARS:
                with self._analyses_lock:
                    self._analyses[key] = analysis
                    while len(self._analyses) > _CACHED_ANALYSES:
                        self._analyses.popitem(last=False)
        if not analysis.library or analysis.problems:
            return analysis
        return resolve_library(code, analysis, self.state, lambda source: analyze(source, specs))

    def _run_test(self, code: str) -> ErrorInfo | None:
        """Run a library function's test as a fresh stateless program."""
        analysis = self._analyze(code)
        if analysis.problems:
            first = analysis.problems[0]
            return ErrorInfo(type="ToolError", message=first.message, line=first.line)
        host = self._host(code, None)
        outcome = self._executor.run(code, analysis, host, loop=self._async_loop(analysis))
        return outcome.error

    def _async_loop(self, analysis: Analysis) -> asyncio.AbstractEventLoop | None:
        # Start the private loop only for programs that may call async tools.
        return self._loop.loop if analysis.namespaces or not analysis.parsed else None

    def _result(self, outcome: Outcome, started: float, host: ExecutionHost) -> ExecutionResult:
        value, cut = self._fit_result(outcome.value, host)
        approval_id = pending = None
        if outcome.paused is not None:
            approval_id = self._save_pause(outcome.paused, host)
            pending = {"tool": outcome.paused.tool, "args": outcome.paused.args}
        return ExecutionResult(
            ok=outcome.ok,
            result=value,
            stdout=outcome.stdout,
            error=outcome.error,
            tool_calls=tuple(outcome.tool_calls),
            duration_ms=(time.perf_counter() - started) * 1000,
            truncated=outcome.truncated or cut,
            session=host.session,
            approval_id=approval_id,
            pending=pending,
        )

    def _save_pause(self, paused: Paused, host: ExecutionHost) -> str:
        """Keep a paused program in the store; returns its approval id."""
        now = time.time()
        if now >= self._next_approval_expiry:
            self._next_approval_expiry = now + 60.0
            self.store.expire_approvals(now - self.approval_ttl)
        paused.carry.execution = host.execution
        record = ApprovalRecord(
            id=new_approval_id(),
            created=now,
            scope=self.state.scope,
            session=host.session,
            tool=paused.tool,
            args=paused.args,
            state=paused.state,
            context=paused.carry.to_json(),
        )
        self.store.save_approval(record)
        return record.id

    def _finish(
        self,
        result: ExecutionResult,
        *,
        started: float,
        span: ExecutionSpan,
        code: str = "",
        resumed: tuple[str, Carry] | None = None,
    ) -> ExecutionResult:
        """Count the result's tokens and record the execution (audit, metrics, span)
        before returning it. `resumed`: the approval and carry of a paused run this
        continued; its result lists the calls made before the pause too, the records
        only those made now."""
        result = dataclasses.replace(result, tokens=count_tokens(result.to_dict()))
        part, kind, approval_id = result, "execute", None
        if resumed is not None:
            approval_id, carry = resumed
            code, kind = carry.code, "resume"
            part = dataclasses.replace(result, tool_calls=result.tool_calls[len(carry.calls) :])
        if self.audit:
            self.store.add_audit(
                audit_record(
                    part,
                    code=code,
                    scope=self.state.scope,
                    started=started,
                    kind=kind,
                    approval_id=approval_id,
                )
            )
        self.metrics.observe(part)
        span.finish(part)
        return result

    def _fit_result(self, value: Any, host: ExecutionHost) -> tuple[Any, bool]:
        """The result as returned: as is when it fits `Limits.result_bytes`, else kept as
        an artifact and replaced by its handle (id, size, preview)."""
        if value is None or isinstance(value, bool | int | float):
            return value, False
        try:
            data = json.dumps(value, ensure_ascii=False, allow_nan=False).encode()
        except (TypeError, ValueError):
            return cap_json(value, self.limits.result_bytes)
        if len(data) <= self.limits.result_bytes:
            return value, False
        try:
            handle = store_value(
                self.artifacts,
                value,
                session=host.session,
                execution=host.execution,
                name="result",
                data=data,
                preview_bytes=min(1024, self.limits.result_bytes // 2),
            )
        except (ValueError, OSError):  # too big even for the store: shorten it instead
            return cap_json(value, self.limits.result_bytes)
        handle["note"] = (
            "the result was too big to return; this is a preview. Read it in a program "
            "with artifacts.get(id, start, stop), or as the resource at uri"
        )
        return handle, True

    def sessions(self) -> list[str]:
        """Ids of the sessions currently kept."""
        return self._executor.sessions()

    def dump_session(self, session: str) -> bytes | None:
        """A session's state (variables, functions) as opaque bytes, or None if unknown.

        Restore it with `load_session`, in this process or another with the same tools.
        """
        return self._executor.dump_session(session)

    def load_session(self, session: str, state: bytes) -> None:
        """Create or replace a session from `dump_session` bytes.

        Only load bytes produced by codemode: the sandbox does not authenticate them.
        """
        self._executor.load_session(session, state)

    def end_session(self, session: str) -> bool:
        """Forget a session's state now (in the store too). Returns whether it existed."""
        return self._executor.drop_session(session)

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> CodeMode:
        """Start every registered source (in parallel) and the sandbox workers now, rather
        than on first use. Sources that failed before are retried. Returns self."""
        self._check_open()
        self._ensure_started(retry_failed=True)
        self._executor.start()
        return self

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this CodeMode is closed")

    def close(self) -> None:
        """Stop the sandbox workers and threads. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._close_sources()
        self._executor.close()
        self._bridge.close()
        self._loop.close()
        if self._owns_store:
            self.store.close()

    async def aclose(self) -> None:
        """Close the sources and stop the workers."""
        await anyio.to_thread.run_sync(self.close)

    def __enter__(self) -> CodeMode:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> CodeMode:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def _artifact_store(
    artifacts: ArtifactStore | ArtifactPolicy | str | os.PathLike[str] | None, store: Store
) -> ArtifactStore:
    if artifacts is None or isinstance(artifacts, ArtifactPolicy):
        return StoreArtifacts(store, artifacts or ArtifactPolicy())
    if isinstance(artifacts, str | os.PathLike):
        return FileArtifacts(artifacts, ArtifactPolicy())
    return artifacts


def _rejected(problems: Sequence[Problem], started: float, session: str | None) -> ExecutionResult:
    """The result for a program whose tool calls were refused before it ran."""
    first = problems[0]
    if len(problems) == 1:
        message = first.message
    else:
        message = "\n".join(f"line {p.line}, column {p.column}: {p.message}" for p in problems)
    error = ErrorInfo(
        type="ToolError",
        message=f"{message}\n(checked before running: nothing was executed)",
        line=first.line,
        column=first.column,
        tool=first.tool,
        parameter=first.parameter,
    )
    return ExecutionResult(
        ok=False,
        error=error,
        duration_ms=(time.perf_counter() - started) * 1000,
        session=session,
    )


async def _with_progress(
    run: Callable[[], Awaitable[Outcome]], control: RunControl, progress: Progress, started: float
) -> Outcome:
    """Run the execution while reporting progress about once a second."""
    outcome: Outcome | None = None
    async with anyio.create_task_group() as group:

        async def report() -> None:
            while True:
                await anyio.sleep(1.0)
                await progress(control.tool_calls, time.perf_counter() - started)

        group.start_soon(report)
        outcome = await run()
        group.cancel_scope.cancel()
    assert outcome is not None
    return outcome
