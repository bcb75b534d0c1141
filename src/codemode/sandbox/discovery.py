"""Discovery from inside programs: the `search`, `help` and `dir` globals.

Programs reach these like any other call leaving the sandbox; they run on the host
against the catalog and are not counted as tool calls. A function object handed out of
the sandbox arrives as its qualified name (`"github.issues_create"`), and a namespace as
its module, so `help(github.issues_create)` and `help(github)` both work.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pydantic_monty as pm

from codemode.catalog import Catalog
from codemode.results import Printed
from codemode.sandbox.modules import NamespaceModules
from codemode.search import SearchHit
from codemode.typegen import tool_signature, tool_stub

__all__ = ["Discovery"]

GLOBALS = (
    "search",
    "help",
    "dir",
    "paginate",
    "ToolError",
    "artifacts",
    "grep",
    "jq",
    "text",
    "csv",
)
"""The names codemode defines in every program (besides the namespaces)."""


class Discovery:
    """The host side of the sandbox's discovery globals."""

    def __init__(
        self,
        catalog: Catalog,
        modules: NamespaceModules,
        search: Callable[[str, int], list[SearchHit]],
        stubs: Callable[[str], str],
    ) -> None:
        self._catalog = catalog
        self._modules = modules
        self._search = search
        self._stubs = stubs

    def functions(self) -> dict[str, Callable[..., Any]]:
        """The host functions, by the global name programs call."""
        return {"search": self.search, "help": self.help, "dir": self.dir}

    def search(self, query: Any = "", limit: Any = 8) -> list[dict[str, object]]:
        """`search("create an issue", limit=5)`: the best-matching tools, best first."""
        if not isinstance(query, str):
            raise TypeError(f"search() query must be a string, not {type(query).__name__}")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError("search() limit must be a positive integer")
        return [hit.to_dict() for hit in self._search(query, min(limit, 50))]

    def help(self, obj: Any = None) -> Printed:
        """`help(ns.tool)` prints the tool's stub; `help(ns)` lists a namespace's tools."""
        if obj is None:
            return Printed(self._overview())
        name = self._name_of(obj)
        if name is not None and name in self._catalog:
            return Printed(self._namespace_help(name))
        if name is not None and (entry := self._catalog.get(name)) is not None:
            return Printed(tool_stub(entry.tool) + "\n")
        shown = repr(obj) if not isinstance(obj, pm.ExternalModule) else "that module"
        return Printed(
            f"help() covers tools and namespaces; {shown[:80]} is neither. "
            "Try search('what you want to do').\n"
        )

    def dir(self, *args: Any) -> list[str]:
        """`dir(ns)` lists a namespace's tools; `dir()` the namespaces and globals."""
        if not args:
            return sorted([*self._catalog.namespaces(), *GLOBALS])
        if len(args) > 1:
            raise TypeError(f"dir expected at most 1 argument, got {len(args)}")
        name = self._name_of(args[0])
        if name is not None and name in self._catalog:
            return sorted(self._catalog.namespace_tools(name))
        if isinstance(args[0], pm.ExternalModule):
            return sorted(args[0].attrs)
        return sorted(dir(args[0]))

    def _name_of(self, obj: Any) -> str | None:
        if isinstance(obj, pm.ExternalModule):
            return self._modules.namespace_of(obj)
        if isinstance(obj, str):
            return obj.strip()
        return None

    def _namespace_help(self, namespace: str) -> str:
        tools = self._catalog.tools(namespace)
        lines = [f"namespace {namespace}: {len(tools)} tools"]
        for tool in tools:
            lines.append(f"  {tool_signature(tool).removeprefix('def ')}")
            if tool.summary:
                lines.append(f"      {tool.summary[:160]}")
        return "\n".join(lines) + "\n"

    def _overview(self) -> str:
        lines = ["Namespaces (call tools as ns.tool(keyword=value)):"]
        for namespace in self._catalog.namespaces():
            count = len(self._catalog.namespace_tools(namespace))
            lines.append(f"  {namespace}: {count} tools")
        lines.append("help(ns) lists a namespace; help(ns.tool) shows a tool; search('...') finds.")
        return "\n".join(lines) + "\n"
