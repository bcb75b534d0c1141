"""What the model reads from codemode's MCP server, and the schemas beside it.

The server's instructions; the `search` and `execute` tool definitions, with `execute`'s
description (the sandbox's rules and limits, and a capped overview of the namespaces,
which keeps the `tools/list` answer under 1,000 tokens); the text form of an execution
result and of a search hit; and the approval question put to the user.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from mcp_types import Tool, ToolAnnotations

from codemode.catalog import Tool as CatalogTool
from codemode.core import CodeMode
from codemode.results import ExecutionResult
from codemode.typegen import tool_stub

__all__ = [
    "APPROVAL_SCHEMA",
    "INSTRUCTIONS",
    "MAX_SEARCH_LIMIT",
    "approval_question",
    "execute_description",
    "hit_stub",
    "plural",
    "render_result",
    "tool_definitions",
]


_MAX_NAMESPACE_LINES = 30
_NAMESPACE_TOKENS = 480  # the namespace overview's share of the 1,000-token budget
_LINE_CHARS = 100
# Pieces of at least one o200k token each in identifier-like text, so counting them
# over-estimates; long letter runs count several, for rare words that split into many.
_TOKENISH = re.compile(r"[A-Za-z]{1,4}|\d{1,3}|\S")
MAX_SEARCH_LIMIT = 50
"""The most hits one `search` returns; its input schema says so too."""
_DOC_LINES = 12  # docstring lines kept per search hit; help(ns.tool) has the rest

INSTRUCTIONS = (
    "Use `search` to find tools by what they do, then `execute` one Python program that "
    "calls them as `namespace.tool(keyword=value)`. Loop, filter and chain calls inside the "
    "program and print or return only what you need; variables persist between `execute` "
    "calls in a session. Each namespace's stub is a resource, codemode://stubs/{namespace}."
)

_EXECUTE_OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "ok": {"type": "boolean"},
        "result": {},
        "stdout": {"type": "string"},
        "error": {"type": ["object", "null"]},
        "status": {"enum": ["ok", "error", "approval_required"]},
        "approval_id": {"type": "string"},
        "pending": {"type": "object"},
    },
    "required": ["ok"],
}
APPROVAL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "approve": {
            "type": "boolean",
            "title": "Allow this call",
            "description": "Yes runs the call and the program continues; no makes the call "
            "fail inside the program.",
        }
    },
    "required": ["approve"],
}
"""The form the user answers when a program pauses for approval (elicitation)."""


# ------------------------------------------------------------------------ tool definitions


def tool_definitions(cm: CodeMode) -> list[Tool]:
    """The two tools, `search` and `execute`, as `tools/list` gives them."""
    search = Tool(
        name="search",
        description="Find tools by what they do. Returns the best matches as Python "
        "signatures with their docs, to call from `execute`.",
        input_schema={
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "what you want to do"},
                "limit": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_SEARCH_LIMIT,
                    "default": 8,
                },
            },
            "required": ["query"],
        },
        annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False),
    )
    execute = Tool(
        name="execute",
        description=execute_description(cm),
        input_schema={
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "the Python program"},
                "approval_id": {
                    "type": "string",
                    "description": "continue a program paused for approval (with approve)",
                },
                "approve": {"type": "boolean", "description": "the user's decision"},
            },
        },
        output_schema=_EXECUTE_OUTPUT_SCHEMA,
        annotations=ToolAnnotations(read_only_hint=False, open_world_hint=True),
    )
    return [search, execute]


def execute_description(cm: CodeMode) -> str:
    """The `execute` tool's description: how programs run, the sandbox's rules and limits,
    and an overview of the namespaces (capped, deterministic)."""
    limits = cm.limits
    rules = (
        "Run one Python program against the tools below; get back what it printed and the "
        "value of its last expression.\n"
        "- Each namespace is a global: call `ns.tool(name=value)`, keyword arguments only.\n"
        "- The last expression is the result; print() goes to stdout. Only what the program "
        "prints or returns comes back, so loop, filter and aggregate inside it.\n"
        "- Sandbox: no filesystem, network or environment variables. "
        "`await asyncio.gather(ns.a(...), ns.b(...))` runs calls concurrently. "
        "A failing call raises ToolError (`except ToolError:`).\n"
        "- Some calls need the user's approval: the program pauses there "
        "(status approval_required); ask the user, then `execute(approval_id=..., "
        "approve=...)` continues it. A refused call raises ToolError.\n"
        f"- Limits per run: {limits.timeout:g} s, {limits.tool_calls} tool calls.\n"
        "- Variables and functions persist to later runs in the same session.\n"
        '- Discover: the `search` tool, or `search("...")` in a program; '
        "`help(ns.tool)` prints a tool's full signature and docs.\n"
        "- Built in, no import needed:\n"
        "  grep(pattern, text_or_lines, ignore_case=False, context=0): matching lines\n"
        '  jq(expr, data): jq query, e.g. jq(".items[] | select(.n > 1) | .name", d)\n'
        "  text.split(s, by=lines|paragraphs|sentences|words), text.chunk(s, size=2000), "
        "text.truncate(s, 200), text.word_count(s), text.diff(a, b)\n"
        "  csv.parse(s) -> typed dicts; csv.filter(rows, where=fn, col=v), csv.select, "
        "csv.sort(rows, by), csv.group, csv.aggregate(rows, by=, total=(col, 'sum')), "
        "csv.to_csv\n"
        f"  artifacts.put(value) -> id, artifacts.get(id, start, stop), artifacts.list(): "
        f"big values kept by id; results over {limits.result_bytes // 1024} KB "
        "come back as an artifact\n"
    )
    return rules + "\n" + "\n".join(_namespace_overview(cm))


def _namespace_overview(cm: CodeMode) -> list[str]:
    """`Namespaces:` then one `name (N tools): description` line per namespace, most tools
    first: at most 30 lines of at most 100 characters, within a fixed token budget; the
    namespaces left out are counted."""
    spaces = sorted(
        ((ns, cm.tools(ns)) for ns in cm.namespaces()), key=lambda item: (-len(item[1]), item[0])
    )
    if not spaces:
        return ["Namespaces: none registered yet."]
    # Many namespaces get shorter lines (down to name and count), so the overview, and
    # with it the tools/list answer, stays within budget whatever the catalog.
    per_line = _NAMESPACE_TOKENS // min(len(spaces), _MAX_NAMESPACE_LINES)
    lines = ["Namespaces:"]
    used = 0
    for namespace, tools in spaces[:_MAX_NAMESPACE_LINES]:
        line = _namespace_line(namespace, tools, cm.namespace_description(namespace), per_line)
        used += _estimate_tokens(line) + 1  # and the newline
        if used > _NAMESPACE_TOKENS:
            break
        lines.append(line)
    if len(spaces) > len(lines) - 1:
        lines.append(f"... and {len(spaces) - len(lines) + 1} more namespaces; use search")
    return lines


def _namespace_line(
    namespace: str, tools: Sequence[CatalogTool], description: str, tokens: int
) -> str:
    """`name (N tools): what it is for`, within `tokens` and 100 characters.

    The line describes the namespace (its server's instructions, its module's docstring),
    not its tools, so its length does not grow with the tool count: `search` finds tools.
    """
    head = f"{namespace} ({plural(len(tools), 'tool')})"
    if not description:
        return head
    line = f"{head}: {description}"
    while len(line) > _LINE_CHARS or _estimate_tokens(line) > tokens:
        cut = line[: min(len(line), _LINE_CHARS) - 4].rsplit(" ", 1)[0]
        if len(cut) <= len(head) + 2:
            return head
        line = cut + " ..."
    return line


def _estimate_tokens(text: str) -> int:
    """An upper estimate of `text`'s length in o200k tokens (no tokenizer at run time)."""
    return len(_TOKENISH.findall(text))


# --------------------------------------------------------------------------- rendering


def render_result(result: ExecutionResult) -> str:
    """A compact text form of an execution, for clients that ignore structured content:
    a status line, then stdout, the result as JSON, or the error."""
    notes = [plural(len(result.tool_calls), "tool call"), f"{result.duration_ms:.0f} ms"]
    if result.truncated:
        notes.append("output truncated")
    parts = [f"{result.status} ({', '.join(notes)})"]
    if result.stdout:
        parts.append("stdout:\n" + result.stdout.rstrip("\n"))
    if result.ok and result.result is not None:
        parts.append("result: " + json.dumps(result.result, ensure_ascii=False, default=str))
    if result.error is not None:
        err = result.error
        where = f" (line {err.line})" if err.line else ""
        parts.append(f"{err.type}{where}: {err.message}")
    if result.approval_id is not None and result.pending is not None:
        shown = json.dumps(result.pending["args"], ensure_ascii=False, default=str)
        parts.append(
            f"paused before {result.pending['tool']}({shown[:1000]}): it needs the user's "
            f"approval. Ask them; then call execute(approval_id={result.approval_id!r}, "
            "approve=true or false)"
        )
    return "\n".join(parts)


def hit_stub(tool: CatalogTool) -> str:
    """The tool's `def`, named as programs call it, and its docstring (cut to 12 lines)."""
    lines = tool_stub(tool, with_types=False).rstrip("\n").split("\n")
    if lines[-1].strip() == "...":
        lines.pop()
    lines[0] = lines[0].replace(f"def {tool.identifier}(", f"def {tool.qualified}(", 1)
    if len(lines) > _DOC_LINES + 2:
        lines = [*lines[: _DOC_LINES + 1], f"    … (help({tool.qualified}) shows all)", '    """']
    return "\n".join(lines)


def approval_question(result: ExecutionResult) -> str:
    """The question put to the user about the call a paused program wants to make."""
    pending = result.pending or {}
    shown = json.dumps(pending.get("args"), ensure_ascii=False, default=str)
    if len(shown) > 2000:
        shown = shown[:2000] + " …"
    return (
        f"A program wants to call {pending.get('tool')} with {shown}. Allow this call? "
        f"(approval {result.approval_id})"
    )


def plural(n: int, noun: str) -> str:
    """`n` and `noun`, pluralised unless `n` is 1: "1 tool", "3 tools"."""
    return f"{n} {noun}{'' if n == 1 else 's'}"
