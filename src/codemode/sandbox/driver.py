"""The driver: one execution, from the first feed to its outcome.

The program starts with `feed_start`; the driver answers each suspension itself, which is
how tool calls reach the host:

* a call the static analysis saw awaited or gathered is answered with a future, and the
  host runs such calls concurrently, settling them when the program waits on them;
* any other call is performed and answered before the program continues;
* imports of namespaces are answered from the namespace modules.

Host-side limits (tool calls, the wall clock while waiting on tools, cancellation) are
delivered as `KeyboardInterrupt`, which `except Exception:` does not catch, so the program
unwinds at once and a session keeps the state it had.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import pydantic_monty as pm

from codemode.analysis import Analysis
from codemode.approvals import Carry, Paused
from codemode.catalog import Logged
from codemode.errors import ToolError
from codemode.limits import Limits
from codemode.prelude.imports import library_setup, setup_code
from codemode.results import ErrorInfo, LogBudget, OutputBuffer, Printed, ToolCall, cap_text
from codemode.sandbox.translate import (
    import_hint,
    limit_message,
    limit_of,
    plain,
    position,
    typing_error,
)
from codemode.sandbox.watchdog import Watch, Watchdog
from codemode.workspace import ROOT as WORKSPACE_ROOT

__all__ = ["KILL_GRACE", "TOOL_ERROR_BASE", "Host", "Outcome", "Run", "RunControl"]

# Programs catch tool errors with `except ToolError:`; programs cannot subclass, so the
# name is bound to a built-in exception type that `except Exception:` also catches.
TOOL_ERROR_BASE: Final = "RuntimeError"
KILL_GRACE = 1.0  # seconds past the deadline before the watchdog kills a worker
_FLOOD_FACTOR = 128  # printing this many times stdout_bytes stops the program
_CANCEL_GRACE = 0.5  # seconds a cancelled program may keep computing before it is stopped
_ERROR_CHARS = 4000  # an error message is for reading, not for carrying data


def _worker_stopped_for_memory(exc: pm.MontyError) -> bool:
    """A worker that exceeded its memory limit in one allocation is terminated, not
    interrupted: the checkout is finished and a session's state is gone."""
    inner = exc.exception()
    return isinstance(inner, MemoryError) and "was terminated" in str(inner)


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

    @property
    def filesystem(self) -> pm.AbstractOS | None:
        """What answers the program's file operations (None: it has no files)."""
        ...

    def decide(self, name: str, args: tuple[Any, ...]) -> tuple[str, str]:
        """The policy for a tool call: (`allow`|`deny`|`approve`|`approve_run`, the
        tool it concerns — `paginate(ns.tool)` concerns `ns.tool`)."""
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
    paused: Paused | None = None
    """Set when the program stopped at a call that needs approval."""


class RunControl:
    """Watch and stop one execution from another thread (used by `aexecute`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._run: Run | None = None
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

    def attach(self, run: Run) -> None:
        with self._lock:
            self._run = run
            cancelled = self._cancelled
        if cancelled:
            run.cancel()


@dataclass(kw_only=True)
class _Call:
    name: str
    future: concurrent.futures.Future[Any]
    started: float
    is_tool: bool
    deadline: float
    arg_bytes: int = 0
    wall: float = 0.0


class _Pause(Exception):
    """Unwinds the driver loop at a call that needs approval."""

    def __init__(self, snap: pm.FunctionSnapshot, tool: str) -> None:
        super().__init__(tool)
        self.snap = snap
        self.tool = tool


class Run:
    """The state of one execution while the driver answers its suspensions."""

    def __init__(
        self,
        *,
        limits: Limits,
        watchdog: Watchdog,
        code: str,
        analysis: Analysis,
        host: Host,
        loop: asyncio.AbstractEventLoop | None,
        deadline: float,
        out: OutputBuffer,
        carry: Carry | None = None,
        approved: bool | None = None,
    ) -> None:
        self.limits = limits
        self.watchdog = watchdog
        self.code = code
        self.analysis = analysis
        self.host = host
        self.loop = loop
        self.deadline = deadline
        self.out = out
        self.calls: list[ToolCall] = []
        self.log_budget = LogBudget()
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
        # Approvals: tools approved for the rest of the run, answers of concurrent calls
        # settled while pausing, and (when continuing a paused run) the call decided.
        self.approved_run: set[str] = set()
        self.early: dict[int, pm.ExternalSettledResult] = {}
        self.resume_call: int | None = None
        self.approved = approved
        if carry is not None:
            self.calls = list(carry.calls)
            self.started = carry.started
            self.approved_run = set(carry.approved_run)
            self.early = dict(carry.settled)
            self.tool_errors = {
                message: ToolError(message, tool=e.get("tool"), parameter=e.get("parameter"))
                for message, e in carry.tool_errors.items()
            }
            self.resume_call = carry.call_id

    def outcome(self, *, error: ErrorInfo | None = None, value: Any = None) -> Outcome:
        truncated = self.out.truncated
        if error is not None:
            # A program can raise an exception carrying megabytes of text: cap it too.
            message, cut = cap_text(error.message, _ERROR_CHARS)
            if cut:
                error = dataclasses.replace(error, message=message)
                truncated = True
        return Outcome(
            ok=error is None,
            value=value,
            stdout=self.out.getvalue(),
            truncated=truncated,
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
            self._grace_watch = self.watchdog.watch(
                self.pid, time.monotonic() + _CANCEL_GRACE, reason="cancelled"
            )

    def execute(
        self,
        live: pm.MontySession,
        *,
        imported: set[str],
        stateful: bool = False,
        snapshot: bytes | None = None,
    ) -> Outcome:
        """Run the program on `live` (or continue it from a paused run's `snapshot`)."""
        pid = self.pid = live.worker_pid
        if pid is not None:
            self.watch = self.watchdog.watch(pid, self.deadline + KILL_GRACE)
            if self.cancelled:  # cancelled before the worker was known
                self.cancelled = False
                self.cancel()
        try:
            if snapshot is None:
                checked, unchecked, names = self._setup(imported, stateful=stateful)
                if checked:
                    live.feed_run(checked, print_callback=self._print)
                if unchecked:
                    # Polyfill sources are not written for the checker; the stubs declare
                    # the names they bind.
                    live.feed_run(unchecked, print_callback=self._print, skip_type_check=True)
                imported.update(names)
            value = self._drive(live, snapshot)
        except _Pause as pause:
            return self._pause(pause)
        except pm.MontyCrashedError as exc:
            self.worker_lost = True
            return self.outcome(error=self._crash_error(exc))
        except pm.MontyError as exc:
            if _worker_stopped_for_memory(exc):
                # The worker is gone, and a session's state with it.
                self.worker_lost = True
                return self.outcome(error=self._memory_kill_error(stateful=stateful))
            return self.outcome(error=self._program_error(exc))
        except RuntimeError as exc:
            if "finished" not in str(exc):
                raise
            # The checkout ended under us: its worker was stopped.
            self.worker_lost = True
            return self.outcome(
                error=ErrorInfo(
                    type="SandboxError",
                    message=f"the sandbox worker was lost ({exc}); "
                    "a session's state since its last save is lost",
                )
            )
        finally:
            for watch in (self.watch, self._grace_watch):
                if watch is not None:
                    watch.cancel()
            for call in self.pending.values():
                call.future.cancel()
        return self.outcome(value=plain(value))

    def _setup(self, bound: set[str], *, stateful: bool) -> tuple[str, str, set[str]]:
        """Code binding the namespaces and globals this program uses and a session lacks:
        what the type checker may see, what it may not, and the names bound."""
        lines = []
        missing = sorted(self.analysis.namespaces - bound)
        if missing:
            lines.append("import " + ", ".join(missing))
        names = set(missing)
        if "ToolError" in self.analysis.names and "ToolError" not in bound:
            lines.append(f"ToolError = {TOOL_ERROR_BASE}")
            names.add("ToolError")
        polyfill_code, polyfill_names = setup_code(
            self.analysis.polyfills, bound, prelude=self.analysis.prelude, stateful=stateful
        )
        library_code, library_names = library_setup(
            self.analysis.library_imports, bound | polyfill_names
        )
        unchecked = "\n".join(part for part in (polyfill_code, library_code) if part)
        return "\n".join(lines), unchecked, names | polyfill_names | library_names

    # -- the driver loop ------------------------------------------------------------------

    def _drive(self, live: pm.MontySession, snapshot: bytes | None = None) -> Any:
        filesystem = self.host.filesystem
        snap: pm.SyncSnapshot
        if snapshot is not None:
            # The dump carries its cwd; the call it stopped at is announced again.
            snap = live.load_snapshot(snapshot, print_callback=self._print, os=filesystem)
        else:
            # Stubs declare tools as plain functions, so the checker would refuse `await`
            # on them; programs that await tool calls keep the static call check only.
            snap = live.feed_start(
                self.analysis.code or self.code,
                print_callback=self._print,
                skip_type_check=bool(self.analysis.concurrent),
                os=filesystem,
                cwd=WORKSPACE_ROOT if filesystem is not None else None,
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
            refusal = self._check_policy(snap, name)
            if refusal is not None:
                return snap.resume(refusal)
        now = time.monotonic()
        kwargs = dict(snap.kwargs)
        call = _Call(
            name=name,
            future=self.host.start(name, snap.args, kwargs, self.loop),
            started=now,
            is_tool=is_tool,
            deadline=min(now + self.limits.tool_timeout, self.deadline),
            arg_bytes=_json_size(kwargs) if is_tool else 0,
            wall=time.time(),
        )
        position = snap.position
        if is_tool and (position.start, position.end) in self.analysis.concurrent:
            self.pending[snap.call_id] = call
            return snap.resume({"future": ...})
        return snap.resume(self._settle(call, wait=True))

    # -- policy and approvals -------------------------------------------------------------

    def _check_policy(
        self, snap: pm.FunctionSnapshot, name: str
    ) -> pm.ExternalSettledResult | None:
        """None when the call may go ahead; else the refusal the program receives.
        Raises `_Pause` at a call that needs approval."""
        decision, tool = self.host.decide(name, snap.args)
        if self.resume_call is not None and snap.call_id == self.resume_call:
            self.resume_call = None  # the call a person just decided
            if not self.approved:
                message = f"denied: a person declined this call to {tool}"
                return self._refuse(tool, snap, message)
            if decision == "approve_run":
                self.approved_run.add(tool)
            return None
        if decision == "allow" or (decision == "approve_run" and tool in self.approved_run):
            return None
        if decision == "deny":
            return self._refuse(tool, snap, f"{tool} is not allowed here (policy: deny)")
        # Calls already running concurrently finish first; their answers are kept.
        for cid, call in list(self.pending.items()):
            self.early[cid] = self._settle(call, wait=True)
            del self.pending[cid]
        if self.abort_error is not None:
            return self._interrupt()
        self.started -= 1  # counted again when it is made
        raise _Pause(snap, tool)

    def _refuse(
        self, tool: str, snap: pm.FunctionSnapshot, message: str
    ) -> pm.ExternalSettledResult:
        """Refuse the call to `tool` (recorded as a failed call): a `ToolError` in the
        program."""
        size = _json_size(dict(snap.kwargs))
        self.calls.append(
            ToolCall(tool=tool, duration_ms=0.0, ok=False, arg_bytes=size, started=time.time())
        )
        err = ToolError(message, tool=tool)
        self.tool_errors[err.message] = err
        return {"exc_type": TOOL_ERROR_BASE, "message": err.message}

    def _pause(self, pause: _Pause) -> Outcome:
        snap = pause.snap
        try:
            state = snap.dump()
        except pm.MontyError as exc:
            self.worker_lost = True
            return self.outcome(
                error=ErrorInfo(
                    type="LimitExceeded",
                    limit="memory",
                    message=f"the program could not be paused for approval ({exc}); "
                    "it holds too much in memory",
                )
            )
        carry = Carry(
            code=self.code,
            call_id=snap.call_id,
            stdout=self.out.getvalue(),
            calls=list(self.calls),
            started=self.started,
            approved_run=sorted(self.approved_run),
            settled=dict(self.early),
            tool_errors={
                m: {"tool": e.tool, "parameter": e.parameter} for m, e in self.tool_errors.items()
            },
        )
        paused = Paused(state=state, tool=pause.tool, args=_plain_args(snap), carry=carry)
        outcome = self.outcome()
        return dataclasses.replace(outcome, ok=False, paused=paused)

    def _settle_some(self, call_ids: list[int]) -> dict[int, pm.ExternalSettledResult]:
        results: dict[int, pm.ExternalSettledResult] = {}
        for cid in call_ids:
            if cid in self.early:
                results[cid] = self.early.pop(cid)
        calls = {cid: self.pending[cid] for cid in call_ids if cid in self.pending}
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
            logs: tuple[str, ...] = ()
            if isinstance(value, Logged):
                value, logs = value.value, value.logs
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
            self._record(call, ok=True, logs=logs)
        elif isinstance(value, Printed):
            self.out.write(value.text)
            value = None
        return {"return_value": value}

    def _raise_tool_error(self, call: _Call, err: ToolError) -> pm.ExternalSettledResult:
        if call.is_tool:
            self._record(call, ok=False, logs=err.logs)
        self.tool_errors[err.message] = err
        return {"exc_type": TOOL_ERROR_BASE, "message": err.message}

    def _record(self, call: _Call, *, ok: bool, logs: tuple[str, ...] = ()) -> None:
        duration = (time.monotonic() - call.started) * 1000
        kept = self.log_budget.take(logs) if logs else ()
        self.calls.append(
            ToolCall(
                tool=call.name,
                duration_ms=duration,
                ok=ok,
                logs=kept,
                arg_bytes=call.arg_bytes,
                started=call.wall,
            )
        )

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

    def _memory_kill_error(self, *, stateful: bool) -> ErrorInfo:
        megabytes = self.limits.memory // (1024 * 1024)
        message = (
            f"the program used more than {megabytes} MB of memory and its sandbox worker "
            "was stopped; process data in smaller pieces"
        )
        if stateful:
            message += (
                ". The session's variables since its last save are lost; large variables "
                "kept from earlier "
                "runs count too, so compute inside functions or drop what you no longer "
                "need (x = None)"
            )
        return ErrorInfo(type="LimitExceeded", limit="memory", message=message)

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
        if kind in ("ModuleNotFoundError", "ImportError"):
            message = import_hint(message)
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


def _json_size(value: Any) -> int:
    try:
        return len(json.dumps(value, ensure_ascii=False, default=repr))
    except (TypeError, ValueError):
        return len(repr(value))


def _plain_args(snap: pm.FunctionSnapshot) -> dict[str, Any]:
    """The paused call's arguments as JSON data (positional ones by index)."""
    args: dict[str, Any] = {str(i): a for i, a in enumerate(snap.args)}
    args.update(snap.kwargs)
    data: dict[str, Any] = plain(args)  # JSON-able data, as the store keeps it
    return data
