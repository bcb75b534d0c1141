"""An example upstream MCP server (built with the MCP SDK) serving the example logs.

`codemode demo` puts it behind `codemode serve` to show an MCP server's tools becoming a
namespace. Run it alone with `python -m codemode.examples.logs_server` (stdio).
"""

from __future__ import annotations

from typing import Literal

from mcp.server.mcpserver import MCPServer
from mcp_types import ToolAnnotations

from codemode.examples import ops

server = MCPServer(
    "example-logs",
    instructions="Service logs of an example system: search them, list the services.",
)


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def search_logs(
    query: str = "",
    level: Literal["debug", "info", "warning", "error"] | None = None,
    service: str | None = None,
    limit: int = 100,
) -> list[ops.LogEntry]:
    """Search service logs, newest first.

    Args:
        query: Case-insensitive text that must appear in the message ("" matches all).
        level: Only entries at exactly this level.
        service: Only entries from this service (api, billing, search, auth, worker).
        limit: Maximum number of entries to return (1-1000).
    """
    return ops.search_logs(query, level=level, service=service, limit=limit)


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def list_services() -> list[str]:
    """Names of the services that write logs."""
    return ops.list_services()


def main() -> None:
    """Serve over stdio."""
    server.run("stdio")


if __name__ == "__main__":
    main()
