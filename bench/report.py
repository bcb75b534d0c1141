"""Machine description, targets and Markdown rendering for the benchmark report."""

from __future__ import annotations

import importlib.metadata
import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness import Stats

__all__ = [
    "Target",
    "machine_info",
    "markdown_table",
    "stats_row",
    "stats_table",
]

STATS_HEADERS = ("workload", "p50 (ms)", "p99 (ms)", "min (ms)", "max (ms)", "iterations")


@dataclass(frozen=True)
class Target:
    """A goal a measured number is held against."""

    name: str
    measured: float
    threshold: float
    unit: str
    higher_is_better: bool = False

    @property
    def passed(self) -> bool:
        """Whether the measured value meets the threshold."""
        if self.higher_is_better:
            return self.measured >= self.threshold
        return self.measured <= self.threshold

    def row(self) -> list[str]:
        """This target as a Markdown table row."""
        op = "≥" if self.higher_is_better else "≤"
        return [
            self.name,
            f"{self.measured:.3g} {self.unit}",
            f"{op} {self.threshold:g} {self.unit}",
            "PASS" if self.passed else "FAIL",
        ]


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    for line in text.splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return platform.processor() or "unknown"


def _ram() -> str:
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return "unknown"
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            kib = int(line.split()[1])
            return f"{kib / 1024 / 1024:.1f} GiB"
    return "unknown"


def _usable_cpus() -> str:
    try:
        return str(len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return "unknown"


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine_info() -> dict[str, str]:
    """What the numbers were measured on."""
    return {
        "CPU": _cpu_model(),
        "cores (os.cpu_count)": str(os.cpu_count()),
        "cores this process may use": _usable_cpus(),
        "RAM": _ram(),
        "OS": f"{platform.system()} {platform.release()}",
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "codemode": _version("codemode"),
        "pydantic-monty": _version("pydantic-monty"),
        "fastmcp": _version("fastmcp"),
    }


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table."""
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def stats_row(label: str, stats: Stats) -> list[str]:
    """One workload's statistics as a table row."""
    return [
        label,
        f"{stats.p50_ms:.3f}",
        f"{stats.p99_ms:.3f}",
        f"{stats.min_ms:.3f}",
        f"{stats.max_ms:.3f}",
        str(stats.n),
    ]


def stats_table(rows: Sequence[tuple[str, Stats]]) -> str:
    """A table of labelled statistics."""
    return markdown_table(STATS_HEADERS, [stats_row(label, stats) for label, stats in rows])
