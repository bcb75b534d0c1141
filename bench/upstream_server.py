"""A synthetic upstream MCP server with N realistic tools, for the gateway benchmarks.

    python bench/upstream_server.py N [DOMAIN]

serves, over stdio, N tools of one business domain (`billing`, `orders` or `users`), named
like `get_invoice_17` or `list_orders_42`, each with a one- or two-sentence description
and two to four typed, documented parameters. The tools only echo their arguments: the
benchmarks measure what the tools cost in a model's context, not what they do.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from pydantic import Field

__all__ = ["DOMAINS", "build_server", "main", "tool_specs"]


@dataclass(frozen=True)
class Domain:
    """One business domain: what the server says about itself and the nouns of its tools."""

    instructions: str
    nouns: tuple[str, ...]


DOMAINS: dict[str, Domain] = {
    "billing": Domain(
        "Billing system of an online shop: invoices, payments, refunds and credit notes.",
        ("invoice", "payment", "refund", "credit_note", "tax_rate", "payout"),
    ),
    "orders": Domain(
        "Order management of an online shop: orders, shipments, returns and carts.",
        ("order", "shipment", "return", "cart", "parcel", "warehouse"),
    ),
    "users": Domain(
        "Identity service of an online shop: user accounts, teams, roles and API keys.",
        ("user", "team", "role", "api_key", "session", "invitation"),
    ),
}

Status = Literal["open", "pending", "closed", "archived"]


def _param(name: str, annotation: Any, doc: str, default: Any = inspect.Parameter.empty) -> Any:
    """A keyword parameter with a type and a one-line description."""
    return inspect.Parameter(
        name,
        inspect.Parameter.KEYWORD_ONLY,
        annotation=Annotated[annotation, Field(description=doc)],
        default=default,
    )


def _verb_specs(noun: str) -> dict[str, tuple[str, list[inspect.Parameter]]]:
    """Per verb: the description and the parameters of a tool acting on `noun`."""
    label = noun.replace("_", " ")
    ident = _param(f"{noun}_id", str, f"Identifier of the {label}, e.g. '{noun[:3]}_8f2k'.")
    since = _param("since", str | None, "Only records created on or after this ISO date.", None)
    status = _param("status", Status | None, f"Only {label}s in this status.", None)
    return {
        "get": (
            f"Fetch one {label} by its identifier. Returns the full record with its status "
            "and timestamps.",
            [ident, _param("include_deleted", bool, "Also find deleted records.", False)],
        ),
        "list": (
            f"List {label}s, newest first, optionally filtered by status and creation date.",
            [status, since, _param("limit", int, "Maximum number of records (1-500).", 50)],
        ),
        "create": (
            f"Create a new {label}. Returns the created record, including its identifier.",
            [
                _param("name", str, f"Display name of the {label}."),
                _param("amount", float, "Amount in the smallest currency unit."),
                _param("currency", str, "ISO 4217 currency code.", "USD"),
                _param("notes", str | None, "Free-text notes for operators.", None),
            ],
        ),
        "update": (
            f"Change the status of a {label}. The reason is stored in its audit log.",
            [
                ident,
                _param("status", Status, "The new status."),
                _param("reason", str | None, "Why the status changes.", None),
            ],
        ),
        "delete": (
            f"Delete a {label}. Deleted records stay recoverable for 30 days unless forced.",
            [ident, _param("force", bool, "Delete permanently, skipping the grace period.", False)],
        ),
        "search": (
            f"Full-text search over {label}s. Matches names, notes and identifiers.",
            [
                _param("query", str, "Words to look for."),
                _param("limit", int, "Maximum number of hits (1-100).", 20),
                _param(
                    "sort_by", Literal["relevance", "created_at"], "Order of hits.", "relevance"
                ),
            ],
        ),
        "count": (
            f"Count {label}s matching a status and creation date, without fetching them.",
            [status, since],
        ),
        "export": (
            f"Export {label}s created in a date range as a downloadable file. Returns its URL.",
            [
                _param("start", str, "First day of the range (ISO date)."),
                _param("end", str, "Last day of the range (ISO date)."),
                _param("file_format", Literal["csv", "json"], "Format of the file.", "csv"),
            ],
        ),
    }


@dataclass(frozen=True)
class ToolSpec:
    """A tool to register: its name, description and parameters."""

    name: str
    description: str
    parameters: list[inspect.Parameter]


def tool_specs(domain: str, n: int) -> list[ToolSpec]:
    """The `n` tools of `domain`: verbs and nouns cycle, the index makes each name unique."""
    nouns = DOMAINS[domain].nouns
    specs = []
    for i in range(n):
        noun = nouns[i % len(nouns)]
        verbs = _verb_specs(noun)
        verb = list(verbs)[(i // len(nouns)) % len(verbs)]
        description, parameters = verbs[verb]
        noun_form = f"{noun}s" if verb in ("list", "search", "count", "export") else noun
        specs.append(ToolSpec(f"{verb}_{noun_form}_{i + 1}", description, parameters))
    return specs


def _echo_tool(spec: ToolSpec) -> Callable[..., dict[str, Any]]:
    """A function with `spec`'s signature that returns its own name and arguments."""

    def tool(**arguments: Any) -> dict[str, Any]:
        return {"tool": spec.name, "arguments": arguments}

    tool.__name__ = spec.name
    tool.__doc__ = spec.description
    tool.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        spec.parameters, return_annotation=dict[str, Any]
    )
    return tool


def build_server(domain: str, n: int) -> MCPServer:
    """An MCP server for `domain` with `n` tools."""
    server = MCPServer(f"bench-{domain}", instructions=DOMAINS[domain].instructions)
    for spec in tool_specs(domain, n):
        server.add_tool(_echo_tool(spec), name=spec.name, description=spec.description)
    return server


def main(argv: list[str]) -> int:
    """Serve `N [DOMAIN]` tools over stdio."""
    n = int(argv[1])
    domain = argv[2] if len(argv) > 2 else "billing"
    build_server(domain, n).run("stdio")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
