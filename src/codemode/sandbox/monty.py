"""The Monty tier: programs run in pydantic-monty's Rust interpreter, in pooled workers.

One warm pool serves every execution (creating a pool costs ~9 ms; a warm checkout
~0.1 ms); the driver (`driver.py`) runs each program on a checked-out worker.

Sessions keep a worker while hot (bounded, least recently used first out); colder ones
are dumped to bytes and restored into a fresh worker on their next execution, so open
sessions never exhaust the pool: an execution that finds every worker taken cools an idle
hot session to free one, rather than waiting for it.

With a `Store`, a session's state is saved there after every execution, before the
result is returned: the session continues after a restart, in another process sharing
the store, and after its worker dies (from its last saved state). The store is the
truth: before each execution a session checks the store's save time and reloads when
another process saved it later.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pydantic_monty as pm

from codemode.analysis import Analysis
from codemode.approvals import Carry
from codemode.limits import Limits
from codemode.results import ErrorInfo, OutputBuffer
from codemode.sandbox.driver import KILL_GRACE, Host, Outcome, Run, RunControl
from codemode.sandbox.watchdog import Watchdog
from codemode.store import Store

__all__ = ["MontyExecutor", "Resume"]

_KEPT_PROGRAMS = 50
_KEPT_PROGRAM_CHARS = 1_000_000
_SUSPENSION_BUDGET = 10_000_000  # our own per-execution counters enforce the real limits
_GC_FLOOR = 100_000


class _Abort(Exception):
    """Raised when no worker can be had for a program."""

    def __init__(self, error: ErrorInfo):
        super().__init__(error.message)
        self.error = error


@dataclass(frozen=True, kw_only=True)
class Resume:
    """Continue a paused run from its dump, with a person's decision on its call."""

    state: bytes
    carry: Carry
    approved: bool


@dataclass(kw_only=True)
class _Session:
    id: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    live: pm.MontySession | None = None
    dump: bytes | None = None
    imported: set[str] = field(default_factory=set)
    last_used: float = field(default_factory=time.monotonic)
    saved: float | None = None
    """The store's save time of the state this session holds (None: never saved)."""
    programs: collections.deque[str] = field(
        default_factory=lambda: collections.deque(maxlen=_KEPT_PROGRAMS)
    )
    """Its latest programs, oldest first (saved with its state)."""


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
        store: Store | None = None,
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
        self._store = store
        self._next_store_expiry = 0.0
        self._pool: pm.Monty | None = None
        self._pool_lock = threading.Lock()
        self._sessions: OrderedDict[str, _Session] = OrderedDict()
        self._sessions_lock = threading.Lock()
        # Workers checked out (running a program, or held by a hot session): at most
        # max_workers, so a checkout never waits on the pool for a worker an idle hot
        # session could give back.
        self._out = 0
        self._capacity = threading.Condition()
        self._watchdog = Watchdog()
        self._monty_limits: pm.ResourceLimits = {
            "max_feed_duration_secs": limits.timeout,
            "max_memory": limits.memory,
            "max_recursion_depth": limits.recursion_depth,
            "max_suspensions": _SUSPENSION_BUDGET,
            "gc_interval": gc_interval(limits.memory),
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
        """Ids of the sessions kept (in the store too, when there is one)."""
        self._expire()
        with self._sessions_lock:
            ids = list(self._sessions)
        if self._store is not None:
            ids += [i for i in self._store.sessions() if i not in ids]
        return ids

    def drop_session(self, session_id: str) -> bool:
        """Forget a session and its state (in the store too). Returns whether it existed."""
        with self._sessions_lock:
            session = self._sessions.pop(session_id, None)
        stored = self._store.delete_session(session_id) if self._store is not None else False
        if session is None:
            return stored
        with session.lock:
            self._release(session)
        return True

    def dump_session(self, session_id: str) -> bytes | None:
        """The session's state as opaque bytes (None if there is no such session)."""
        with self._sessions_lock:
            session = self._sessions.get(session_id)
        if session is None:
            record = self._store.load_session(session_id) if self._store is not None else None
            return record.state if record is not None else None
        with session.lock:
            if session.live is not None:
                return session.live.dump()
            if session.dump is None and self._store is not None:
                record = self._store.load_session(session_id)
                return record.state if record is not None else None
            return session.dump

    def programs(self, session_id: str) -> list[str]:
        """The session's earlier programs held here, oldest first."""
        with self._sessions_lock:
            session = self._sessions.get(session_id)
        return list(session.programs) if session is not None else []

    def load_session(self, session_id: str, state: bytes) -> None:
        """Create (or replace) a session from `dump_session` bytes; it is restored into a
        worker on its next execution. Only load bytes this library produced."""
        session = _Session(id=session_id, dump=state)
        if self._store is not None:
            session.saved = self._store.save_session(session_id, state, frozenset())
        with self._sessions_lock:
            old = self._sessions.pop(session_id, None)
            self._sessions[session_id] = session
        if old is not None:
            with old.lock:
                self._release(old)

    def _checkout(self) -> pm.MontySession:
        self._reserve()
        try:
            live = self._get_pool().checkout(
                limits=self._monty_limits,
                type_check=self.type_check,
                type_check_stubs=self.type_check_stubs,
                type_check_format="concise",
                external_modules=self._modules,
            )
            live.__enter__()
        except BaseException as exc:
            self._give_back()
            if not isinstance(exc, TimeoutError):
                raise
            raise _Abort(
                ErrorInfo(
                    type="SandboxError",
                    message=f"all {self.max_workers} sandbox workers stayed busy for "
                    f"{self.limits.timeout:g} s; try again",
                )
            ) from exc
        return live

    def _forget(self, session: _Session) -> None:
        """Drop what this process holds of a session's state (its worker, dump and bound
        names); the next execution starts from the store's last save, or empty."""
        self._release(session)
        session.dump = None
        session.imported.clear()
        session.saved = None

    def _reserve(self) -> None:
        """Take one of the `max_workers` places, cooling idle hot sessions to free one
        while all are taken; `_Abort` when none frees up within the timeout."""
        deadline = time.monotonic() + self.limits.timeout
        while True:
            with self._capacity:
                if self._out < self.max_workers:
                    self._out += 1
                    return
            if self._cool_one():
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Abort(
                    ErrorInfo(
                        type="SandboxError",
                        message=f"all {self.max_workers} sandbox workers stayed busy for "
                        f"{self.limits.timeout:g} s; try again",
                    )
                )
            with self._capacity:
                if self._out >= self.max_workers:
                    self._capacity.wait(min(remaining, 0.05))

    def _give_back(self) -> None:
        with self._capacity:
            self._out -= 1
            self._capacity.notify()

    def _exit(self, live: pm.MontySession) -> None:
        """Return a worker to the pool and its place to the next checkout."""
        try:
            _exit(live)
        finally:
            self._give_back()

    def _release(self, session: _Session) -> None:
        live, session.live = session.live, None
        if live is not None:
            self._exit(live)

    def _cool_one(self) -> bool:
        """Give back the worker of the least recently used idle hot session (its state
        is kept: saved in the store, or dumped here). Returns whether one was freed."""
        with self._sessions_lock:
            hot = [s for s in self._sessions.values() if s.live is not None]
        for victim in hot:
            if not victim.lock.acquire(blocking=False):
                continue
            try:
                if victim.live is None:
                    continue
                self._cool(victim)
                return True
            finally:
                victim.lock.release()
        return False

    def _cool(self, victim: _Session) -> None:
        """Dump a hot session (unless its saved state is current) and free its worker."""
        live = victim.live
        if live is not None:
            # With a store the saved state is current: nothing to keep here.
            with contextlib.suppress(pm.MontyError):
                victim.dump = None if victim.saved is not None else live.dump()
        self._release(victim)

    def _session(self, session_id: str) -> _Session:
        with self._sessions_lock:
            session = self._sessions.get(session_id)
            if session is None:
                session = self._sessions[session_id] = _Session(id=session_id)
            self._sessions.move_to_end(session_id)
            return session

    def _expire(self) -> None:
        if self._store is not None and time.monotonic() >= self._next_store_expiry:
            self._next_store_expiry = time.monotonic() + min(60.0, self.session_ttl / 4)
            self._store.expire_sessions(time.time() - self.session_ttl)
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
                    self._cool(victim)
                    excess -= 1
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
        resume: Resume | None = None,
    ) -> Outcome:
        """Run one program to completion (or to its first error, or to a call that needs
        approval) and report the outcome. With `resume`, continue a paused run instead."""
        deadline = time.monotonic() + self.limits.timeout
        out = OutputBuffer(self.limits.stdout_bytes)
        carry = resume.carry if resume is not None else None
        if carry is not None:
            out.write(carry.stdout)
        snapshot = resume.state if resume is not None else None
        run = Run(
            limits=self.limits,
            watchdog=self._watchdog,
            code=code,
            analysis=analysis,
            host=host,
            loop=loop,
            deadline=deadline,
            out=out,
            carry=carry,
            approved=resume.approved if resume is not None else None,
        )
        if control is not None:
            control.attach(run)
        if session_id is None:
            try:
                live = self._checkout()
            except _Abort as abort:
                return run.outcome(error=abort.error)
            try:
                return run.execute(live, imported=set(), snapshot=snapshot)
            finally:
                self._exit(live)
        self._expire()
        session = self._session(session_id)
        with session.lock:
            session.last_used = time.monotonic()
            try:
                if carry is not None:
                    # The paused run's dump holds the session's state: it replaces
                    # whatever this process held.
                    self._forget(session)
                    session.imported.update(carry.imported)
                else:
                    self._sync_with_store(session)
                if session.live is None:
                    self._cool_down(keep=session)
                    session.live = self._checkout()
                    if session.dump is not None:
                        state, session.dump = session.dump, None
                        session.live.load_session(state)
            except _Abort as abort:
                return run.outcome(error=abort.error)
            except pm.MontyError as exc:
                if session.saved is not None and self._store is not None:
                    self._store.delete_session(session.id)  # unusable: start afresh
                self._forget(session)
                return run.outcome(
                    error=ErrorInfo(
                        type="SandboxError",
                        message=f"the session's saved state could not be restored ({exc}); "
                        "it starts empty",
                    )
                )
            outcome = run.execute(
                session.live, imported=session.imported, stateful=True, snapshot=snapshot
            )
            if outcome.paused is not None:
                # The worker is stopped mid-program; the dump in the approval carries it.
                outcome.paused.carry.imported = sorted(session.imported)
                self._forget(session)
                return outcome
            _keep_program(session.programs, code)
            if run.worker_lost:
                # The worker died and took the session's state with it (the result says
                # so); the next execution starts from the last saved state, or empty.
                self._forget(session)
            elif self._store is not None:
                outcome = self._save(session, outcome)
            session.last_used = time.monotonic()
        return outcome

    def _sync_with_store(self, session: _Session) -> None:
        """Make `session` hold the store's latest state for it (another process may have
        saved it since, or this process may have never loaded it)."""
        if self._store is None:
            return
        updated = self._store.session_updated(session.id)
        if (
            updated is not None
            and updated == session.saved
            and (session.live is not None or session.dump is not None)
        ):
            return
        if updated is None and session.saved is None:
            return  # a session nobody saved yet: keep what this process has
        self._forget(session)
        session.programs.clear()
        record = self._store.load_session(session.id) if updated is not None else None
        if record is not None:
            session.dump = record.state
            session.imported.update(record.bound)
            session.programs.extend(record.programs)
            session.saved = record.updated

    def _save(self, session: _Session, outcome: Outcome) -> Outcome:
        """Save the session's state to the store before the result goes back."""
        assert self._store is not None
        assert session.live is not None
        try:
            state = session.live.dump()
        except pm.MontyError as exc:
            # Dumping runs in the worker under its memory limit; a failure ends it.
            self._forget(session)
            megabytes = self.limits.memory // (1024 * 1024)
            return _with_error(
                outcome,
                ErrorInfo(
                    type="LimitExceeded",
                    limit="memory",
                    message=f"the session's variables could not be saved within the "
                    f"sandbox's {megabytes} MB ({exc}); this execution's changes are lost "
                    "and the session continues from its last save. Keep large values with "
                    "artifacts.put, or compute inside functions so they are not kept",
                ),
            )
        limit = self.limits.session_bytes
        if len(state) > limit:
            return _with_error(
                outcome,
                ErrorInfo(
                    type="LimitExceeded",
                    limit="session_bytes",
                    message=f"the session's variables take {len(state):,} bytes, more than "
                    f"the {limit:,} a session may keep; this execution's changes were not "
                    "saved. Drop what you no longer need (x = None) or keep large values "
                    "with artifacts.put",
                ),
            )
        session.saved = self._store.save_session(
            session.id, state, frozenset(session.imported), tuple(session.programs)
        )
        return outcome


def gc_interval(memory: int) -> int:
    """Allocations between the sandbox's cycle collections: fewer collections make
    data-heavy programs faster (a 10 MB CSV parsed and aggregated: 1.25 s -> 0.94 s),
    but cyclic garbage builds up between them, so the interval shrinks with the memory
    limit (256 MB: ~500,000; the interpreter's own default, ~100,000, as a floor)."""
    return max(_GC_FLOOR, memory // 512)


def _keep_program(programs: collections.deque[str], code: str) -> None:
    """Remember `code` among a session's latest programs, within a total size."""
    programs.append(code)
    while len(programs) > 1 and sum(map(len, programs)) > _KEPT_PROGRAM_CHARS:
        programs.popleft()


def _with_error(outcome: Outcome, error: ErrorInfo) -> Outcome:
    """`outcome`, failed with `error` unless it already failed."""
    if outcome.error is not None:
        return outcome
    return dataclasses.replace(outcome, ok=False, error=error)


def _exit(live: pm.MontySession) -> None:
    """Return a worker to the pool; a worker that already died needs nothing more."""
    with contextlib.suppress(pm.MontyError, RuntimeError):
        live.__exit__(None, None, None)
