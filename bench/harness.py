"""Timing and statistics helpers for the codemode benchmark suite.

Every workload is a set of named `Variant`s timed in interleaved rounds: each round runs
every variant once, in order, so slow drift of the machine (frequency, noisy neighbours)
affects all variants alike and differences and ratios between them stay meaningful.
Only the call itself is inside the timed region; result checks run after the clock stops.
"""

from __future__ import annotations

import gc
import inspect
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Stats", "Variant", "atime_rounds", "percentile", "time_rounds"]

NS_PER_MS = 1_000_000


@dataclass(frozen=True)
class Variant:
    """One thing to time.

    Attributes:
        call: Runs the thing once and returns its result (or an awaitable of it).
        check: Raises if the result is wrong; called outside the timed region.
    """

    call: Callable[[], Any]
    check: Callable[[Any], None]


def percentile(sorted_samples: tuple[int, ...], p: float) -> int:
    """The nearest-rank `p`-th percentile (0 < p <= 100) of already sorted samples."""
    if not sorted_samples:
        raise ValueError("no samples")
    rank = max(1, math.ceil(p / 100 * len(sorted_samples)))
    return sorted_samples[rank - 1]


@dataclass(frozen=True)
class Stats:
    """Sorted wall-time samples of one variant, in nanoseconds."""

    samples_ns: tuple[int, ...]

    @classmethod
    def from_samples(cls, samples: list[int]) -> Stats:
        """Build from unsorted samples."""
        return cls(tuple(sorted(samples)))

    @property
    def n(self) -> int:
        """Number of timed iterations."""
        return len(self.samples_ns)

    def ms(self, p: float) -> float:
        """The `p`-th percentile in milliseconds."""
        return percentile(self.samples_ns, p) / NS_PER_MS

    @property
    def p50_ms(self) -> float:
        """Median in milliseconds."""
        return self.ms(50)

    @property
    def p99_ms(self) -> float:
        """99th percentile in milliseconds."""
        return self.ms(99)

    @property
    def min_ms(self) -> float:
        """Fastest sample in milliseconds."""
        return self.samples_ns[0] / NS_PER_MS

    @property
    def max_ms(self) -> float:
        """Slowest sample in milliseconds."""
        return self.samples_ns[-1] / NS_PER_MS


def time_rounds(variants: Mapping[str, Variant], *, rounds: int, warmup: int) -> dict[str, Stats]:
    """Time synchronous variants in interleaved rounds after `warmup` untimed rounds."""
    for _ in range(warmup):
        for variant in variants.values():
            variant.check(variant.call())
    gc.collect()
    samples: dict[str, list[int]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, variant in variants.items():
            start = time.perf_counter_ns()
            result = variant.call()
            elapsed = time.perf_counter_ns() - start
            variant.check(result)
            samples[name].append(elapsed)
    return {name: Stats.from_samples(values) for name, values in samples.items()}


async def atime_rounds(
    variants: Mapping[str, Variant], *, rounds: int, warmup: int
) -> dict[str, Stats]:
    """`time_rounds` inside an event loop: awaitable results are awaited while timed.

    Synchronous variants may be mixed in (they block the loop while they run, which is
    fine: nothing else is scheduled on it between calls).
    """
    for _ in range(warmup):
        for variant in variants.values():
            variant.check(await _settle(variant.call()))
    gc.collect()
    samples: dict[str, list[int]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, variant in variants.items():
            start = time.perf_counter_ns()
            result = await _settle(variant.call())
            elapsed = time.perf_counter_ns() - start
            variant.check(result)
            samples[name].append(elapsed)
    return {name: Stats.from_samples(values) for name, values in samples.items()}


async def _settle(value: Any) -> Any:
    """Await `value` if it is awaitable, else return it unchanged."""
    if inspect.isawaitable(value):
        return await value
    return value
