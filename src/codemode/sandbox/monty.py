"""The Monty tier: programs run in pydantic-monty's Rust interpreter, in pooled workers.

One warm pool serves every execution (creating a pool costs ~9 ms; a warm checkout
~0.1 ms); the driver (`driver.py`) runs each program on a checked-out worker.

Sessions keep a worker while hot (bounded, least recently used first out); colder ones
are dumped to bytes and restored into a fresh worker on their next execution, so open
sessions never exhaust the pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pydantic_monty as pm

from codemode.analysis import Analysis
from codemode.limits import Limits
from codemode.results import ErrorInfo, OutputBuffer
from codemode.sandbox.driver import KILL_GRACE, Host, Outcome, Run, RunControl
from codemode.sandbox.watchdog import Watchdog

__all__ = ["MontyExecutor"]

_SUSPENSION_BUDGET = 10_000_000  # our own per-execution counters enforce the real limits


class _Abort(Exception):
    """Raised when no worker can be had for a program."""

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
                        feed_duration_limit_grace=KILL_GRACE,
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
        run = Run(
            limits=self.limits,
            watchdog=self._watchdog,
            code=code,
            analysis=analysis,
            host=host,
            loop=loop,
            deadline=deadline,
            out=out,
        )
        if control is not None:
            control.attach(run)
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
            outcome = run.execute(session.live, imported=session.imported, stateful=True)
            if run.worker_lost:
                # The worker died and took the session's state with it (the result says
                # so); the next execution in this session starts empty.
                self._release(session)
                session.imported.clear()
            session.last_used = time.monotonic()
        return outcome


def _exit(live: pm.MontySession) -> None:
    """Return a worker to the pool; a worker that already died needs nothing more."""
    with contextlib.suppress(pm.MontyError, RuntimeError):
        live.__exit__(None, None, None)
