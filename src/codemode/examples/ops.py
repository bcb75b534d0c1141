"""A small operations world: service logs and a ticket tracker, with deterministic data.

Register them with `cm.add_functions("ops", public_functions(ops))` or, in
`codemode.toml`, `[functions.ops] module = "codemode.examples.ops"`.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Literal

from typing_extensions import TypedDict

Level = Literal["debug", "info", "warning", "error"]


class LogEntry(TypedDict):
    """One log line."""

    timestamp: str
    service: str
    level: Level
    message: str


class Ticket(TypedDict):
    """A ticket in the tracker."""

    id: int
    title: str
    service: str
    priority: Literal["low", "medium", "high"]
    status: Literal["open", "closed"]


_SERVICES = ("api", "billing", "search", "auth", "worker")
_ERRORS = (
    ("billing", "database timeout after 30s on query invoices_by_customer"),
    ("api", "upstream 502 from search service"),
    ("billing", "database connection pool exhausted (max=20)"),
    ("auth", "token signature invalid for client web-7"),
    ("worker", "database deadlock detected on table jobs"),
    ("search", "index shard 3 unavailable"),
)
_START = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)


def _make_logs() -> list[LogEntry]:
    rng = random.Random(7)
    logs: list[LogEntry] = []
    for i in range(2000):
        at = _START + timedelta(seconds=45 * i)
        if i % 9 == 5:
            service, message = _ERRORS[(i // 9) % len(_ERRORS)]
            level: Level = "error"
        else:
            service = rng.choice(_SERVICES)
            level = rng.choice(("debug", "info", "info", "info", "warning"))
            request, took = rng.randrange(10**6), rng.randrange(5, 900)
            message = f"{service} handled request {request:06d} in {took} ms"
        logs.append(
            {"timestamp": at.isoformat(), "service": service, "level": level, "message": message}
        )
    return logs


_LOGS = _make_logs()
_TICKETS: list[Ticket] = [
    {
        "id": 101,
        "title": "Checkout slow at peak",
        "service": "billing",
        "priority": "medium",
        "status": "open",
    },
    {
        "id": 102,
        "title": "Search results stale",
        "service": "search",
        "priority": "low",
        "status": "closed",
    },
]


def search_logs(
    query: str = "",
    *,
    level: Level | None = None,
    service: str | None = None,
    limit: int = 100,
) -> list[LogEntry]:
    """Search service logs, newest first.

    Args:
        query: Case-insensitive text that must appear in the message ("" matches all).
        level: Only entries at exactly this level.
        service: Only entries from this service (api, billing, search, auth, worker).
        limit: Maximum number of entries to return (1-1000).
    """
    limit = max(1, min(limit, 1000))
    needle = query.lower()
    found = [
        e
        for e in reversed(_LOGS)
        if needle in e["message"].lower()
        and (level is None or e["level"] == level)
        and (service is None or e["service"] == service)
    ]
    return found[:limit]


def list_services() -> list[str]:
    """Names of the services that write logs."""
    return list(_SERVICES)


def list_tickets(status: Literal["open", "closed"] | None = None) -> list[Ticket]:
    """Tickets in the tracker.

    Args:
        status: Only tickets with this status.
    """
    return [t for t in _TICKETS if status is None or t["status"] == status]


def create_ticket(
    title: str,
    service: str,
    priority: Literal["low", "medium", "high"] = "medium",
) -> Ticket:
    """Open a ticket for a service.

    Args:
        title: One-line summary of the problem.
        service: The service the ticket is about.
        priority: How urgent it is.
    """
    if service not in _SERVICES:
        raise ValueError(f"unknown service {service!r}; known: {', '.join(_SERVICES)}")
    ticket: Ticket = {
        "id": 100 + len(_TICKETS) + 1,
        "title": title,
        "service": service,
        "priority": priority,
        "status": "open",
    }
    _TICKETS.append(ticket)
    return ticket
