"""MCP tool listings and server descriptions, translated into codemode's terms."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import mcp_types as types
from mcp import Client

from codemode.catalog import Tool, ToolAnnotations
from codemode.errors import SourceError
from codemode.sources._mcp_results import tool_output_schema

__all__ = ["describe_server", "list_all_tools", "tools_from_mcp"]

_MAX_PAGES = 1000  # tools/list pages; a server that never stops paging is broken


async def list_all_tools(client: Client, namespace: str) -> list[types.Tool]:
    """Every tool, following `nextCursor`."""
    tools: list[types.Tool] = []
    cursor: str | None = None
    seen: set[str] = set()
    for _ in range(_MAX_PAGES):
        page = await client.list_tools(cursor=cursor)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if cursor is None:
            return tools
        if cursor in seen:
            raise SourceError(f"MCP server {namespace!r} repeats a tools/list cursor")
        seen.add(cursor)
    raise SourceError(f"MCP server {namespace!r} lists more than {_MAX_PAGES} pages")


def tools_from_mcp(
    namespace: str, scrub: Callable[[str], str], listing: list[types.Tool]
) -> tuple[tuple[Tool, ...], dict[str, dict[str, Any] | None]]:
    """SDK tools -> codemode `Tool`s (and the raw output schemas, for unwrapping)."""
    tools: list[Tool] = []
    names: dict[str, str] = {}
    raw: dict[str, dict[str, Any] | None] = {}
    for spec in listing:
        hints = spec.annotations or types.ToolAnnotations()
        description = spec.description or spec.title or hints.title or ""
        tool = Tool(
            namespace=namespace,
            name=spec.name,
            description=scrub(description),
            input_schema=dict(spec.input_schema) or {"type": "object", "properties": {}},
            output_schema=tool_output_schema(spec.output_schema),
            annotations=ToolAnnotations(
                read_only=hints.read_only_hint,
                destructive=hints.destructive_hint,
                idempotent=hints.idempotent_hint,
                open_world=hints.open_world_hint,
            ),
        )
        other = names.get(tool.identifier)
        if other is not None:
            raise SourceError(
                f"MCP server {namespace!r} has tools {other!r} and {spec.name!r}, which "
                f"both map to the Python name {tool.identifier!r}"
            )
        names[tool.identifier] = spec.name
        raw[spec.name] = spec.output_schema
        tools.append(tool)
    return tuple(tools), raw


def describe_server(instructions: str | None, info: Any) -> str:
    """The first sentence of the server's instructions, else its title or name."""
    text = " ".join((instructions or "").split())
    if text:
        first = text.split(". ")[0].rstrip(".")
        return first[:120]
    for attr in ("title", "name"):
        value = getattr(info, attr, None)
        if isinstance(value, str) and value.strip():
            return value.strip()[:120]
    return ""
