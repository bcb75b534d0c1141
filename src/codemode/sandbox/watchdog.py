"""Stops sandbox workers that outlive their execution's wall-clock deadline.

The sandbox's own time limit counts only time spent running sandboxed code, not time
spent waiting on tools, so a program that waits 29 s on tools could then compute for 30 s
more. The watchdog enforces the wall clock: at deadline + grace it kills the worker
process, which the pool replaces; the driver then reports `LimitExceeded`.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import signal
import threading
import time
from dataclasses import dataclass, field

__all__ = ["Watch", "Watchdog"]


@dataclass(kw_only=True)
class Watch:
    """One watched execution. `fired` tells the driver the worker was killed, and why."""

    pid: int
    deadline: float
    reason: str = "timeout"
    fired: bool = False
    active: bool = True
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def kill(self, reason: str) -> None:
        """Kill the worker now (used for the deadline and for output floods)."""
        with self._lock:
            if not self.active or self.fired:
                return
            self.fired = True
            self.reason = reason
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self.pid, signal.SIGKILL)

    def cancel(self) -> None:
        """The execution ended; never kill for it."""
        with self._lock:
            self.active = False


class Watchdog:
    """One daemon thread serving every execution of a `MontyExecutor`."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Watch]] = []
        self._counter = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    def watch(self, pid: int, deadline: float, reason: str = "timeout") -> Watch:
        """Kill `pid` at `deadline` (a `time.monotonic()` value) unless cancelled first;
        `reason` tells the driver why."""
        watch = Watch(pid=pid, deadline=deadline, reason=reason)
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="codemode-watchdog", daemon=True
                )
                self._thread.start()
            heapq.heappush(self._heap, (deadline, next(self._counter), watch))
            if self._heap[0][2] is watch:
                self._cond.notify()
        return watch

    def _run(self) -> None:
        with self._cond:
            while not self._closed:
                while self._heap and not self._heap[0][2].active:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                deadline, _, watch = self._heap[0]
                delay = deadline - time.monotonic()
                if delay > 0:
                    self._cond.wait(delay)
                    continue
                heapq.heappop(self._heap)
                watch.kill(watch.reason)

    def close(self) -> None:
        """Stop the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout=2)
