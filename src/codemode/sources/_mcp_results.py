"""Turning MCP tool results into plain Python data (used by `codemode.sources.mcp`).

Programs want values, not content blocks: structured content when the server sends it,
parsed JSON when the only content is JSON text, plain text otherwise. Binary content is
never passed on (a base64 image in a result would waste the model's context and the
sandbox's memory); it becomes a small typed reference saying what it was and how big.
"""

from __future__ import annotations

import collections
import json
from typing import Any

import mcp_types as types

__all__ = [
    "CALL_LOG_LEVEL",
    "WRAP_MARKER",
    "CallLogs",
    "error_text",
    "is_wrapped_schema",
    "log_line",
    "tool_output_schema",
    "unwrap_result",
]

WRAP_MARKER = "x-fastmcp-wrap-result"
"""fastmcp marks output schemas it wrapped as `{"result": <value>}` with this key."""

_INLINE_TEXT_LIMIT = 4096  # embedded text resources up to this size are returned inline
_ERROR_LIMIT = 2000


_WRAPPER_KEYS = frozenset(
    {"type", "title", "properties", "required", "$defs", "definitions", "additionalProperties"}
)


def is_wrapped_schema(schema: dict[str, Any] | None) -> bool:
    """True for an output schema that wraps a non-object result as `{"result": x}`.

    Two servers do this: fastmcp marks such schemas with `x-fastmcp-wrap-result`, and the
    MCP SDK's `MCPServer` builds a model titled `<function>Output` whose only field is a
    required `result`. Programs should get `x`, not `{"result": x}`.
    """
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        return False
    if schema.get(WRAP_MARKER) is True:
        return "result" in schema["properties"]
    title = schema.get("title")
    return (
        set(schema["properties"]) == {"result"}
        and schema.get("required") == ["result"]
        and isinstance(title, str)
        and title.endswith("Output")
        and set(schema) <= _WRAPPER_KEYS
    )


def tool_output_schema(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    """The schema of what the caller returns: the inner `result` schema when wrapped.

    The caller unwraps `{"result": x}` to `x`, so the schema the model sees must describe
    `x`; `$defs` move along so references inside the result schema still resolve.
    """
    if schema is None or not is_wrapped_schema(schema):
        return schema
    inner = schema["properties"]["result"]
    result: dict[str, Any] = dict(inner) if isinstance(inner, dict) else {}
    for key in ("$defs", "definitions"):
        if key in schema and key not in result:
            result[key] = schema[key]
    return result


def unwrap_result(result: types.CallToolResult, output_schema: dict[str, Any] | None) -> Any:
    """The value a successful call returns to the program."""
    if result.structured_content is not None or "structured_content" in result.model_fields_set:
        value = result.structured_content
        wrapped = is_wrapped_schema(output_schema)
        if wrapped and isinstance(value, dict) and set(value) == {"result"}:
            return value["result"]
        return value
    blocks = result.content
    if not blocks:
        return None
    if len(blocks) == 1:
        only = blocks[0]
        if isinstance(only, types.TextContent):
            return _maybe_json(only.text)
        return _reference(only)
    return [b.text if isinstance(b, types.TextContent) else _reference(b) for b in blocks]


CALL_LOG_LEVEL: types.LoggingLevel = "warning"
"""Log notifications at this level and above are passed on with the call's result."""


def log_line(params: types.LoggingMessageNotificationParams) -> str:
    """One log notification as a line: `warning [logger] message`, at most ~300 chars."""
    data = params.data if isinstance(params.data, str) else json.dumps(params.data, default=str)
    where = f" [{params.logger}]" if params.logger else ""
    line = f"{params.level}{where} {data}"
    return line if len(line) <= 300 else line[:290] + " … (cut)"


class CallLogs:
    """The log notifications a server sent, numbered, so a call collects those that
    arrived while it ran (a concurrent call on the same server may contribute some:
    notifications do not say which request they belong to)."""

    def __init__(self, keep: int = 200) -> None:
        self._count = 0
        self._lines: collections.deque[tuple[int, str]] = collections.deque(maxlen=keep)

    def add(self, line: str) -> None:
        """Record one line."""
        self._count += 1
        self._lines.append((self._count, line))

    def mark(self) -> int:
        """A position to collect from (`since(mark)`)."""
        return self._count + 1

    def since(self, mark: int) -> tuple[str, ...]:
        """The lines recorded at or after `mark`."""
        return tuple(line for number, line in self._lines if number >= mark)


def error_text(result: types.CallToolResult) -> str:
    """The message of an `isError` result, capped at about 2000 characters."""
    parts = [b.text for b in result.content if isinstance(b, types.TextContent) and b.text]
    if not parts and result.structured_content is not None:
        parts = [json.dumps(result.structured_content, default=str)]
    if not parts:
        parts = [json.dumps(_reference(b)) for b in result.content]
    text = "\n".join(parts).strip() or "the tool reported an error without a message"
    if len(text) > _ERROR_LIMIT:
        text = text[: _ERROR_LIMIT - 20] + " … (message cut)"
    return text


def _maybe_json(text: str) -> Any:
    """`text` parsed when it is a JSON object or array; otherwise the text itself."""
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            value = json.loads(stripped)
        except ValueError:
            return text
        if isinstance(value, dict | list):
            return value
    return text


def _reference(block: types.ContentBlock) -> dict[str, Any]:
    """A small description of a non-text content block (never its binary data)."""
    if isinstance(block, types.ImageContent | types.AudioContent):
        return {"type": block.type, "mime_type": block.mime_type, "bytes": _b64_size(block.data)}
    if isinstance(block, types.EmbeddedResource):
        res = block.resource
        ref: dict[str, Any] = {"type": "resource", "uri": str(res.uri), "mime_type": res.mime_type}
        if isinstance(res, types.TextResourceContents):
            size = len(res.text.encode())
            if size < _INLINE_TEXT_LIMIT:
                ref["text"] = res.text
            ref["bytes"] = size
        else:
            ref["bytes"] = _b64_size(res.blob)
        return ref
    if isinstance(block, types.ResourceLink):
        return {
            "type": "resource_link",
            "uri": str(block.uri),
            "name": block.name,
            "mime_type": block.mime_type,
        }
    if isinstance(block, types.TextContent):  # only reached for text inside an error
        return {"type": "text", "text": block.text}
    return {"type": str(getattr(block, "type", "unknown"))}


def _b64_size(data: str) -> int:
    """Decoded size of base64 `data`, computed without decoding it."""
    compact = "".join(data.split())
    padding = len(compact) - len(compact.rstrip("="))
    return max(len(compact) * 3 // 4 - padding, 0)
