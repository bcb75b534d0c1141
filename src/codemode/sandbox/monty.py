"""The Monty tier: programs run in pydantic-monty's Rust interpreter, in pooled workers.

One warm pool serves every execution (creating a pool costs ~9 ms; a warm checkout
~0.1 ms). The driver feeds the program with `feed_start` and answers each suspension
itself, which is how tool calls reach the host:

* a call the static analysis saw awaited or gathered is answered with a future, and the
  host runs such calls concurrently, settling them when the program waits on them;
* any other call is performed and answered before the program continues;
* imports of namespaces are answered from the namespace modules.

Sessions keep a worker while hot (bounded, least recently used first out); colder ones
are dumped to bytes and restored into a fresh worker on their next execution, so open
sessions never exhaust the pool.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import pydantic_monty as pm

from codemode.analysis import Analysis
from codemode.errors import ToolError
from codemode.limits import Limits
from codemode.results import ErrorInfo, OutputBuffer, Printed, ToolCall
from codemode.sandbox.translate import limit_message, limit_of, plain, position, typing_error
from codemode.sandbox.watchdog import Watch, Watchdog

__all__ = ["Host", "MontyExecutor", "Outcome", "RunControl"]

# Programs catch tool errors with `except ToolError:`; programs cannot subclass, so the
# name is bound to a built-in exception type that `except Exception:` also catches.
TOOL_ERROR_BASE: Final = "RuntimeError"
_SUSPENSION_BUDGET = 10_000_000  # our own per-execution counters enforce the real limits
_FLOOD_FACTOR = 128  # printing this many times stdout_bytes stops the program
_KILL_GRACE = 1.0  # seconds past the deadline before the watchdog kills a worker
_CANCEL_GRACE = 0.5  # seconds a cancelled program may keep computing before it is stopped


class Host(Protocol):
    """What the executor needs from the host side (the bridge)."""

    def is_tool(self, name: str) -> bool:
        """True when a call named `name` is a tool call (counted, recorded)."""
        ...

    def start(
        self,
        name: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        loop: asyncio.AbstractEventLoop | None,
    ) -> concurrent.futures.Future[Any]:
        """Begin a call; the future raises `ToolError` (or NameError, ...) on failure."""
        ...


@dataclass(kw_only=True)
class Outcome:
    """What running one program produced, before it becomes an `ExecutionResult`."""

    ok: bool
    value: Any = None
    stdout: str = ""
    truncated: bool = False
    error: ErrorInfo | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)


class RunControl:
    """Watch and stop one execution from another thread (used by `aexecute`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._run: _Run | None = None
        self._cancelled = False

    @property
    def tool_calls(self) -> int:
        """Tool calls the execution has started so far."""
        run = self._run
        return run.started if run is not None else 0

    def cancel(self) -> None:
        """Stop the execution: it is interrupted at its next tool call, or its worker is
        stopped if it keeps computing. Safe to call at any time, more than once."""
        with self._lock:
            self._cancelled = True
            run = self._run
        if run is not None:
            run.cancel()

    def _attach(self, run: _Run) -> None:
        with self._lock:
            self._run = run
            cancelled = self._cancelled
        if cancelled:
            run.cancel()


class _Abort(Exception):
    """Raised inside the driver to stop a program for a host-side limit."""

    def __init__(self, error: ErrorInfo):
        super().__init__(error.message)
        self.error = error


@dataclass(kw_only=True)
class _Session:
    id: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    live: pm.MontySession | None = None
    dump: bytes | None = None
    imported: set[str] = field(default_factory=set)
    last_used: float = field(default_factory=time.monotonic)


@dataclass(kw_only=True)
class _Call:
    name: str
    future: concurrent.futures.Future[Any]
    started: float
    is_tool: bool
    deadline: float


class MontyExecutor:
    """Runs programs in a shared pool of Monty workers."""

    def __init__(
        self,
        *,
        limits: Limits,
        modules: Mapping[str, Callable[[], pm.ExternalModule]],
        max_workers: int = 4,
        type_check: bool = False,
        type_check_stubs: str | None = None,
        session_ttl: float = 3600.0,
        max_hot_sessions: int | None = None,
    ) -> None:
        self.limits = limits
        self.type_check = type_check
        self.type_check_stubs = type_check_stubs
        self.session_ttl = session_ttl
        self.max_workers = max(2, max_workers)
        self.max_hot_sessions = (
            max_hot_sessions if max_hot_sessions is not None else max(1, self.max_workers - 2)
        )
        self._modules = modules
        self._pool: pm.Monty | None = None
        self._pool_lock = threading.Lock()
        self._sessions: OrderedDict[str, _Session] = OrderedDict()
        self._sessions_lock = threading.Lock()
        self._watchdog = Watchdog()
        self._monty_limits: pm.ResourceLimits = {
            "max_feed_duration_secs": limits.timeout,
            "max_memory": limits.memory,
            "max_recursion_depth": limits.recursion_depth,
            "max_suspensions": _SUSPENSION_BUDGET,
        }

    # -- lifecycle ----------------------------------------------------------------------

    def _get_pool(self) -> pm.Monty:
        if self._pool is None:
            with self._pool_lock:
                if self._pool is None:
                    pool = pm.Monty(
                        min_processes=min(2, self.max_workers),
                        max_processes=self.max_workers,
                        checkout_timeout=self.limits.timeout,
                        feed_duration_limit_grace=_KILL_GRACE,
                    )
                    pool.__enter__()
                    self._pool = pool
        return self._pool

    def start(self) -> None:
        """Spawn the warm workers now rather than on the first execution."""
        self._get_pool()

    def close(self) -> None:
        """Release every session and stop the workers. Idempotent."""
        with self._sessions_lock:
            sessions = list(self._sessions.values())
            self._sessions.clear()
        for session in sessions:
            self._release(session)
        self._watchdog.close()
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.__exit__(None, None, None)

    # -- sessions -----------------------------------------------------------------------

    def sessions(self) -> list[str]:
        """Ids of the sessions currently kept."""
        self._expire()
        with self._sessions_lock:
            return list(self._sessions)

    def drop_session(self, session_id: str) -> bool:
        """Forget a session and its state. Returns whether it existed."""
        with self._sessions_lock:
            session = self._sessions.pop(session_id, None)
        if session is None:
            return False
        with session.lock:
            self._release(session)
        return True

    def dump_session(self, session_id: str) -> bytes | None:
        """The session's state as opaque bytes (None if there is no such session)."""
        with self._sessions_lock:
            session = self._sessions.get(session_id)
        if session is None:
            return None
        with session.lock:
            if session.live is not None:
                return session.live.dump()
            return session.dump

    def load_session(self, session_id: str, state: bytes) -> None:
        """Create (or replace) a session from `dump_session` bytes; it is restored into a
        worker on its next execution. Only load bytes this library produced."""
        with self._sessions_lock:
            old = self._sessions.pop(session_id, None)
            self._sessions[session_id] = _Session(id=session_id, dump=state)
        if old is not None:
            with old.lock:
                self._release(old)

    def _checkout(self) -> pm.MontySession:
        try:
            live = self._get_pool().checkout(
                limits=self._monty_limits,
                type_check=self.type_check,
                type_check_stubs=self.type_check_stubs,
                type_check_format="concise",
                external_modules=self._modules,
            )
            live.__enter__()
        except TimeoutError as exc:
            raise _Abort(
                ErrorInfo(
                    type="SandboxError",
                    message=f"all {self.max_workers} sandbox workers stayed busy for "
                    f"{self.limits.timeout:g} s; try again",
                )
            ) from exc
        return live

    @staticmethod
    def _release(session: _Session) -> None:
        live, session.live = session.live, None
        if live is not None:
            _exit(live)

    def _session(self, session_id: str) -> _Session:
        with self._sessions_lock:
            session = self._sessions.get(session_id)
            if session is None:
                session = self._sessions[session_id] = _Session(id=session_id)
            self._sessions.move_to_end(session_id)
            return session

    def _expire(self) -> None:
        now = time.monotonic()
        with self._sessions_lock:
            stale = [s for s in self._sessions.values() if now - s.last_used > self.session_ttl]
            for s in stale:
                if not s.lock.locked():
                    del self._sessions[s.id]
        for s in stale:
            if s.lock.acquire(blocking=False):
                try:
                    self._release(s)
                finally:
                    s.lock.release()

    def _cool_down(self, keep: _Session) -> None:
        """Before `keep` takes a worker, dump the least recently used hot sessions so that
        at most `max_hot_sessions` hold one, leaving workers for stateless executions."""
        with self._sessions_lock:
            hot = [s for s in self._sessions.values() if s.live is not None and s is not keep]
        excess = len(hot) + 1 - self.max_hot_sessions
        for victim in hot:
            if excess <= 0:
                break
            if not victim.lock.acquire(blocking=False):
                continue
            try:
                if victim.live is not None:
                    victim.dump = victim.live.dump()
                    self._release(victim)
                    excess -= 1
            except pm.MontyError:
                self._release(victim)
            finally:
                victim.lock.release()

    # -- running ------------------------------------------------------------------------

    def run(
        self,
        code: str,
        analysis: Analysis,
        host: Host,
        *,
        session_id: str | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
        control: RunControl | None = None,
    ) -> Outcome:
        """Run one program to completion (or to its first error) and report the outcome."""
        deadline = time.monotonic() + self.limits.timeout
        out = OutputBuffer(self.limits.stdout_bytes)
        run = _Run(self, code, analysis, host, loop, deadline, out)
        if control is not None:
            control._attach(run)
        if session_id is None:
            try:
                live = self._checkout()
            except _Abort as abort:
                return run.outcome(error=abort.error)
            try:
                return run.execute(live, imported=set())
            finally:
                _exit(live)
        self._expire()
        session = self._session(session_id)
        with session.lock:
            session.last_used = time.monotonic()
            try:
                if session.live is None:
                    self._cool_down(keep=session)
                    session.live = self._checkout()
                    if session.dump is not None:
                        state, session.dump = session.dump, None
                        session.live.load_session(state)
            except _Abort as abort:
                return run.outcome(error=abort.error)
            except pm.MontyError as exc:
                self._release(session)
                session.imported.clear()
                return run.outcome(
                    error=ErrorInfo(
                        type="SandboxError",
                        message=f"the session's saved state could not be restored ({exc}); "
                        "it starts empty",
                    )
                )
            outcome = run.execute(session.live, imported=session.imported)
            if run.worker_lost:
                # The worker died and took the session's state with it (the result says
                # so); the next execution in this session starts empty.
                self._release(session)
                session.imported.clear()
            session.last_used = time.monotonic()
        return outcome


class _Run:
    """The state of one execution while the driver answers its suspensions."""

    def __init__(
        self,
        executor: MontyExecutor,
        code: str,
        analysis: Analysis,
        host: Host,
        loop: asyncio.AbstractEventLoop | None,
        deadline: float,
        out: OutputBuffer,
    ) -> None:
        self.executor = executor
        self.limits = executor.limits
        self.code = code
        self.analysis = analysis
        self.host = host
        self.loop = loop
        self.deadline = deadline
        self.out = out
        self.calls: list[ToolCall] = []
        self.tool_errors: dict[str, ToolError] = {}
        self.abort_error: ErrorInfo | None = None
        self.pending: dict[int, _Call] = {}
        self.worker_lost = False
        self.started = 0
        self.watch: Watch | None = None
        self.pid: int | None = None
        self.cancelled = False
        # Completed by cancel(): every wait on tools also waits on it, so a cancellation
        # never sits behind a slow tool.
        self._wake: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._grace_watch: Watch | None = None
        self._flood = max(self.limits.stdout_bytes * _FLOOD_FACTOR, 8 * 1024 * 1024)

    def outcome(self, *, error: ErrorInfo | None = None, value: Any = None) -> Outcome:
        stdout = self.out.getvalue()
        return Outcome(
            ok=error is None,
            value=value,
            stdout=stdout,
            truncated=self.out.truncated,
            error=error,
            tool_calls=self.calls,
        )

    def _print(self, stream: str, text: str) -> None:
        self.out.write(text)
        if self.out.total > self._flood and self.watch is not None:
            self.watch.kill("stdout")

    def cancel(self) -> None:
        """Interrupt at the next suspension; stop the worker if it keeps computing."""
        if self.cancelled:
            return
        self.cancelled = True
        if self.abort_error is None:
            self.abort_error = ErrorInfo(type="Cancelled", message="the execution was cancelled")
        if not self._wake.done():
            self._wake.set_result(None)
        if self.pid is not None:
            self._grace_watch = self.executor._watchdog.watch(
                self.pid, time.monotonic() + _CANCEL_GRACE, reason="cancelled"
            )

    def execute(self, live: pm.MontySession, *, imported: set[str]) -> Outcome:
        pid = self.pid = live.worker_pid
        if pid is not None:
            self.watch = self.executor._watchdog.watch(pid, self.deadline + _KILL_GRACE)
            if self.cancelled:  # cancelled before the worker was known
                self.cancelled = False
                self.cancel()
        try:
            setup, names = self._setup(imported)
            if setup:
                live.feed_run(setup, print_callback=self._print)
                imported.update(names)
            value = self._drive(live)
        except _Abort as abort:
            return self.outcome(error=abort.error)
        except pm.MontyCrashedError as exc:
            self.worker_lost = True
            return self.outcome(error=self._crash_error(exc))
        except pm.MontyError as exc:
            return self.outcome(error=self._program_error(exc))
        finally:
            for watch in (self.watch, self._grace_watch):
                if watch is not None:
                    watch.cancel()
            for call in self.pending.values():
                call.future.cancel()
        return self.outcome(value=plain(value))

    def _setup(self, bound: set[str]) -> tuple[str, set[str]]:
        """Code binding the namespaces and globals this program uses and a session lacks."""
        lines = []
        missing = sorted(self.analysis.namespaces - bound)
        if missing:
            lines.append("import " + ", ".join(missing))
        names = set(missing)
        if "ToolError" in self.analysis.names and "ToolError" not in bound:
            lines.append(f"ToolError = {TOOL_ERROR_BASE}")
            names.add("ToolError")
        return "\n".join(lines), names

    # -- the driver loop ------------------------------------------------------------------

    def _drive(self, live: pm.MontySession) -> Any:
        # Stubs declare tools as plain functions, so the checker would refuse `await` on
        # them; programs that await tool calls keep the static call check only.
        snap: pm.SyncSnapshot = live.feed_start(
            self.code,
            print_callback=self._print,
            skip_type_check=bool(self.analysis.concurrent),
        )
        while True:
            if isinstance(snap, pm.MontyComplete):
                return snap.output
            if isinstance(snap, pm.FunctionSnapshot):
                snap = snap.resume_auto() if snap.is_os_function else self._on_call(snap)
            elif isinstance(snap, pm.FutureSnapshot):
                snap = snap.resume(self._settle_some(snap.pending_call_ids))
            else:  # a name the program reads but never defined
                snap = snap.resume()

    def _on_call(self, snap: pm.FunctionSnapshot) -> pm.SyncSnapshot:
        name = str(snap.function_name)
        if self.abort_error is not None:
            return snap.resume(self._interrupt())
        is_tool = self.host.is_tool(name)
        if is_tool and self.started >= self.limits.tool_calls:
            self.abort_error = ErrorInfo(
                type="LimitExceeded",
                limit="tool_calls",
                message=f"the program made more than {self.limits.tool_calls} tool calls; "
                "batch the work or use fewer calls",
            )
            return snap.resume(self._interrupt())
        if is_tool:
            self.started += 1
        now = time.monotonic()
        call = _Call(
            name=name,
            future=self.host.start(name, snap.args, dict(snap.kwargs), self.loop),
            started=now,
            is_tool=is_tool,
            deadline=min(now + self.limits.tool_timeout, self.deadline),
        )
        position = snap.position
        if is_tool and (position.start, position.end) in self.analysis.concurrent:
            self.pending[snap.call_id] = call
            return snap.resume({"future": ...})
        return snap.resume(self._settle(call, wait=True))

    def _settle_some(self, call_ids: list[int]) -> dict[int, pm.ExternalSettledResult]:
        calls = {cid: self.pending[cid] for cid in call_ids if cid in self.pending}
        results: dict[int, pm.ExternalSettledResult] = {}
        if self.abort_error is None and calls:
            timeout = min(c.deadline for c in calls.values()) - time.monotonic()
            concurrent.futures.wait(
                [self._wake, *(c.future for c in calls.values())],
                timeout=max(timeout, 0),
                return_when=concurrent.futures.FIRST_COMPLETED,
            )
        now = time.monotonic()
        for cid, call in calls.items():
            if self.abort_error is not None:
                call.future.cancel()
                results[cid] = self._interrupt()
            elif call.future.done() or now >= call.deadline:
                results[cid] = self._settle(call, wait=False)
            else:
                continue
            del self.pending[cid]
        for cid in call_ids:
            if cid not in results and cid not in self.pending:
                results[cid] = self._interrupt()
        return results

    def _settle(self, call: _Call, *, wait: bool) -> pm.ExternalSettledResult:
        """Wait for one call (up to its deadline) and turn it into the sandbox's answer."""
        if wait:
            concurrent.futures.wait(
                [call.future, self._wake],
                timeout=max(call.deadline - time.monotonic(), 0),
                return_when=concurrent.futures.FIRST_COMPLETED,
            )
        if self.abort_error is not None and not call.future.done():
            call.future.cancel()
            return self._interrupt()
        try:
            value = call.future.result(timeout=0)
        except concurrent.futures.TimeoutError:
            call.future.cancel()
            if time.monotonic() >= self.deadline:
                self._record(call, ok=False)
                self.abort_error = self._timeout_error()
                return self._interrupt()
            err = ToolError(
                f"{call.name} timed out after {self.limits.tool_timeout:g} s",
                tool=call.name,
            )
            return self._raise_tool_error(call, err)
        except ToolError as err:
            return self._raise_tool_error(call, err)
        except Exception as exc:  # NameError/TypeError from a codemode global
            if call.is_tool:
                self._record(call, ok=False)
            return {"exception": exc}
        if call.is_tool:
            self._record(call, ok=True)
        elif isinstance(value, Printed):
            self.out.write(value.text)
            value = None
        return {"return_value": value}

    def _raise_tool_error(self, call: _Call, err: ToolError) -> pm.ExternalSettledResult:
        if call.is_tool:
            self._record(call, ok=False)
        self.tool_errors[err.message] = err
        return {"exc_type": TOOL_ERROR_BASE, "message": err.message}

    def _record(self, call: _Call, *, ok: bool) -> None:
        duration = (time.monotonic() - call.started) * 1000
        self.calls.append(ToolCall(tool=call.name, duration_ms=duration, ok=ok))

    def _interrupt(self) -> pm.ExternalSettledResult:
        # KeyboardInterrupt is not caught by `except Exception:`, so the program unwinds
        # promptly while a session keeps whatever state it had before.
        message = self.abort_error.message if self.abort_error else "execution stopped"
        return {"exc_type": "KeyboardInterrupt", "message": message}

    def _timeout_error(self) -> ErrorInfo:
        return ErrorInfo(
            type="LimitExceeded",
            limit="timeout",
            message=f"the program ran longer than {self.limits.timeout:g} s (wall clock)",
        )

    # -- errors ---------------------------------------------------------------------------

    def _crash_error(self, exc: pm.MontyCrashedError) -> ErrorInfo:
        watch = self.watch
        grace = self._grace_watch
        if grace is not None and grace.fired:
            return ErrorInfo(type="Cancelled", message="the execution was cancelled")
        if watch is not None and watch.fired:
            if watch.reason == "stdout":
                return ErrorInfo(
                    type="LimitExceeded",
                    limit="stdout_bytes",
                    message=f"the program printed more than {self._flood} characters and was "
                    f"stopped; only {self.limits.stdout_bytes} are kept, so print summaries",
                )
            return self._timeout_error()
        return ErrorInfo(
            type="SandboxError",
            message=f"the sandbox worker stopped unexpectedly ({exc}); "
            "a session's state since its last save is lost",
        )

    def _program_error(self, exc: pm.MontyError) -> ErrorInfo:
        if isinstance(exc, pm.MontyTypingError):
            return typing_error(exc.display())
        inner = exc.exception()
        kind = type(inner).__name__
        message = str(inner)
        line = column = None
        if isinstance(exc, pm.MontyRuntimeError | pm.MontySyntaxError):
            line, column = position(exc.traceback())
        if self.abort_error is not None and kind == "KeyboardInterrupt":
            return ErrorInfo(**{**self.abort_error.__dict__, "line": line, "column": column})
        if kind == TOOL_ERROR_BASE and message in self.tool_errors:
            err = self.tool_errors[message]
            return ErrorInfo(
                type="ToolError",
                message=message,
                line=line,
                column=column,
                tool=err.tool,
                parameter=err.parameter,
            )
        limit = limit_of(kind, message)
        if limit is not None:
            return ErrorInfo(
                type="LimitExceeded",
                limit=limit,
                message=limit_message(limit, self.limits, message),
                line=line,
                column=column,
            )
        return ErrorInfo(type=kind, message=message, line=line, column=column)


def _exit(live: pm.MontySession) -> None:
    """Return a worker to the pool; a worker that already died needs nothing more."""
    with contextlib.suppress(pm.MontyError, RuntimeError):
        live.__exit__(None, None, None)
