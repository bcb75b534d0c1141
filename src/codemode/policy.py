"""Which tool calls run, which wait for a human, and which are refused.

Every tool has one decision:

* `allow` — the call runs;
* `deny` — the call raises `ToolError` in the program, and nothing is sent;
* `approve` — the program pauses at the call until someone approves or denies it
  (`CodeMode.resume`, `codemode approve|deny ID`, or the MCP client); each call waits;
* `approve_run` — like `approve`, but one approval lets every later call of the same
  tool in that run go through (a loop of 50 writes is approved once).

Where a decision comes from, most specific first:

1. a rule naming the tool exactly (`CodeMode(policy={"ns.tool": ...})`, `[policy]` in
   `codemode.toml`), or the source's own mapping (`add_mcp(..., policy={"tool": ...})`);
2. the longest wildcard rule that matches (`"ns.*"`, `"*"`);
3. the source's single value (`add_openapi(..., policy="approve")`);
4. a read-only source (`read_only=True`) denies every tool not marked read-only;
5. the tool's own hints: a tool marked destructive (MCP `destructiveHint`, HTTP
   `DELETE`) needs approval; anything else is allowed.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from codemode.catalog import Tool
from codemode.errors import ConfigError

__all__ = ["DECISIONS", "Decision", "Policy", "PolicyValue", "check_decision"]

Decision = Literal["allow", "deny", "approve", "approve_run"]
DECISIONS: Final[tuple[Decision, ...]] = ("allow", "deny", "approve", "approve_run")

PolicyValue = Decision | Mapping[str, Decision]
"""What a source takes: one decision for all its tools, or tool name -> decision."""


def check_decision(value: object, where: str) -> Decision:
    """`value` as a decision, or a ConfigError naming `where` and the valid values."""
    if value not in DECISIONS:
        valid = ", ".join(repr(d) for d in DECISIONS)
        raise ConfigError(f"{where}: policy must be one of {valid}, not {value!r}")
    return value


@dataclass
class _SourceRules:
    default: Decision | None = None
    tools: dict[str, Decision] = field(default_factory=dict)
    read_only: bool = False


class Policy:
    """Decisions for tool calls, from rules and the tools' hints (see module docs)."""

    def __init__(self, rules: Mapping[str, str] | None = None) -> None:
        self._exact: dict[str, Decision] = {}
        self._patterns: list[tuple[str, Decision]] = []
        self._sources: dict[str, _SourceRules] = {}
        for pattern, value in (rules or {}).items():
            self.set(pattern, value)

    def set(self, pattern: str, value: str) -> None:
        """Add (or replace) a rule: `ns.tool`, or a wildcard such as `ns.*` or `*`."""
        if not isinstance(pattern, str) or not pattern:
            raise ConfigError(f"policy rule names a tool or a pattern, not {pattern!r}")
        decision = check_decision(value, f"policy rule {pattern!r}")
        if any(c in pattern for c in "*?["):
            self._patterns = [(p, d) for p, d in self._patterns if p != pattern]
            self._patterns.append((pattern, decision))
            # Longest (most specific) pattern first; equal lengths keep their order.
            self._patterns.sort(key=lambda item: -len(item[0]))
        else:
            self._exact[pattern] = decision

    def set_source(
        self, namespace: str, value: PolicyValue | None = None, *, read_only: bool = False
    ) -> None:
        """A source's own policy: one decision, or tool name -> decision."""
        rules = _SourceRules(read_only=read_only)
        if isinstance(value, Mapping):
            for name, decision in value.items():
                rules.tools[str(name)] = check_decision(decision, f"{namespace}.{name}")
        elif value is not None:
            rules.default = check_decision(value, f"namespace {namespace!r}")
        self._sources[namespace] = rules

    def set_tool(self, namespace: str, name: str, value: str) -> None:
        """One tool's decision within its source's policy (`add_function(policy=...)`)."""
        rules = self._sources.setdefault(namespace, _SourceRules())
        rules.tools[name] = check_decision(value, f"{namespace}.{name}")

    def rules(self) -> dict[str, Decision]:
        """The explicit rules (exact and wildcard), for display."""
        return {**self._exact, **dict(self._patterns)}

    def decide(self, tool: Tool) -> Decision:
        """The decision for calls of `tool`."""
        exact = self._exact.get(tool.qualified)
        if exact is not None:
            return exact
        source = self._sources.get(tool.namespace)
        if source is not None:
            named = source.tools.get(tool.name) or source.tools.get(tool.identifier)
            if named is not None:
                return named
        for pattern, decision in self._patterns:
            if fnmatch.fnmatchcase(tool.qualified, pattern):
                return decision
        if source is not None:
            if source.default is not None:
                return source.default
            if source.read_only and tool.annotations.read_only is not True:
                return "deny"
        hints = tool.annotations
        if hints.destructive is True and hints.read_only is not True:
            return "approve"
        return "allow"
