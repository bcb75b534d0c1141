"""The catalog: every tool codemode knows, grouped by namespace.

A `Tool` is pure data (names, description, schemas, annotations); a `Source` contributes
tools to one namespace and knows how to call them. The catalog maps the Python
identifiers the model writes (`fs.list_files`) back to the source and the tool's original
name (`list-files`), and refuses, at load time, names that would be ambiguous.
"""

from __future__ import annotations

import keyword
import re
import unicodedata
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

from codemode.errors import ConfigError

__all__ = [
    "RESERVED_NAMES",
    "Caller",
    "Catalog",
    "Logged",
    "Source",
    "Tool",
    "ToolAnnotations",
    "to_identifier",
]

JSONSchema = dict[str, Any]

Caller = Callable[[dict[str, Any]], Any] | Callable[[dict[str, Any]], Awaitable[Any]]
"""How a source performs one tool's calls: a plain function of the validated arguments
(run in a worker thread) or a coroutine function (run on the event loop)."""


@dataclass(frozen=True)
class Logged:
    """What a caller returns to pass on the log lines its source received during the
    call (an upstream MCP server's log notifications) along with the result."""

    value: Any
    logs: tuple[str, ...]


RESERVED_NAMES: frozenset[str] = frozenset(
    {
        # globals codemode provides inside programs, now or in later releases
        "search",
        "help",
        "dir",
        "ToolError",
        "artifacts",
        "library",
        "memory",
        "workspace",
        "paginate",
        "grep",
        "jq",
        "text",
        "csv",
        "codemode",
        # modules programs import: a namespace of the same name would replace the module
        *(
            "asyncio",
            "json",
            "re",
            "math",
            "datetime",
            "time",
            "random",
            "collections",
            "itertools",
            "functools",
            "typing",
            "dataclasses",
            "pathlib",
            "base64",
            "hashlib",
            "string",
            "statistics",
            "textwrap",
            "uuid",
            "decimal",
            "fractions",
            "copy",
            "enum",
            "heapq",
            "bisect",
            "csv",
            "io",
            "operator",
            "html",
            "urllib",
            "fnmatch",
            "difflib",
            "tomllib",
        ),
        # builtins programs commonly use
        "print",
        "len",
        "list",
        "dict",
        "str",
        "int",
        "float",
        "bool",
        "set",
        "tuple",
        "type",
        "range",
        "open",
        "sys",
        "os",
    }
)
"""Names a namespace may not take, because programs rely on them as sandbox globals."""


@dataclass(frozen=True, kw_only=True)
class ToolAnnotations:
    """Hints about a tool's behaviour, as in MCP's tool annotations."""

    read_only: bool | None = None
    """The tool does not modify its environment."""
    destructive: bool | None = None
    """The tool may perform destructive updates (only meaningful when not read-only)."""
    idempotent: bool | None = None
    """Calling the tool repeatedly with the same arguments has no additional effect."""
    open_world: bool | None = None
    """The tool interacts with an open world of external entities (e.g. the web)."""


@dataclass(frozen=True, kw_only=True)
class Tool:
    """One tool, as the catalog, typegen and search see it."""

    namespace: str
    """The namespace (a Python identifier) the tool lives in, e.g. `github`."""
    name: str
    """The tool's original name at its source (MCP tool name, operationId, function name)."""
    identifier: str = ""
    """The Python identifier programs call; derived from `name` when left empty."""
    description: str = ""
    """What the tool does, for the model. The first paragraph is its summary."""
    input_schema: JSONSchema = field(default_factory=lambda: {"type": "object", "properties": {}})
    """JSON Schema of the keyword arguments (an object schema)."""
    output_schema: JSONSchema | None = None
    """JSON Schema of the return value, when the source declares one."""
    annotations: ToolAnnotations = field(default_factory=ToolAnnotations)
    """Behaviour hints (read-only, destructive, idempotent)."""
    tags: tuple[str, ...] = ()
    """Free-form labels from the source (OpenAPI tags, ...), used by search."""
    endpoint: str | None = None
    """For API operations, the HTTP method and path (`GET /repos/{owner}/{repo}/issues`)."""
    deprecated: bool = False
    """The source marks the tool as deprecated (search ranks it lower)."""

    def __post_init__(self) -> None:
        if not self.identifier:
            object.__setattr__(self, "identifier", to_identifier(self.name))
        if not self.identifier.isidentifier() or keyword.iskeyword(self.identifier):
            raise ConfigError(f"tool identifier {self.identifier!r} is not a valid Python name")

    @property
    def qualified(self) -> str:
        """`namespace.identifier`, the name programs use."""
        return f"{self.namespace}.{self.identifier}"

    @property
    def summary(self) -> str:
        """The first paragraph of the description, on one line."""
        first = self.description.strip().split("\n\n", 1)[0]
        return " ".join(first.split())

    @property
    def parameters(self) -> Mapping[str, JSONSchema]:
        """The input schema's properties, by parameter name."""
        props = self.input_schema.get("properties")
        return props if isinstance(props, dict) else {}

    @property
    def required(self) -> frozenset[str]:
        """Names of the required parameters."""
        req = self.input_schema.get("required")
        return (
            frozenset(r for r in req if isinstance(r, str))
            if isinstance(req, list)
            else frozenset()
        )


_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NON_WORD = re.compile(r"[^0-9a-zA-Z_]+")


def to_identifier(name: str, *, snake_case: bool = False) -> str:
    """Map a tool or namespace name to a valid Python identifier.

    `list-files` -> `list_files`, `get.user` -> `get_user`, `class` -> `class_`,
    `2fa` -> `_2fa`. With `snake_case=True`, camelCase is split too
    (`listFiles` -> `list_files`), which suits OpenAPI operationIds.
    Non-ASCII letters are transliterated where possible and dropped otherwise.
    """
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    if snake_case:
        text = _CAMEL_BOUNDARY.sub("_", text).lower()
    text = _NON_WORD.sub("_", text).strip("_")
    text = re.sub(r"__+", "_", text)
    if not text:
        text = "tool"
    if text[0].isdigit():
        text = "_" + text
    if keyword.iskeyword(text) or keyword.issoftkeyword(text):
        text += "_"
    return text


@runtime_checkable
class Source(Protocol):
    """Something that contributes tools to one namespace and performs their calls.

    Implementations: Python functions (`codemode.sources.functions`), MCP servers and
    OpenAPI documents (later releases). Lifecycle is part of the contract: `aclose()`
    releases whatever the source holds (processes, connections).
    """

    @property
    def namespace(self) -> str:
        """The namespace every tool of this source lives in."""
        ...

    def tools(self) -> Sequence[Tool]:
        """The tools, in a stable order."""
        ...

    def caller(self, tool: Tool) -> Caller:
        """The callable that performs `tool`'s calls with validated keyword arguments."""
        ...

    async def start(self) -> None:
        """Connect to whatever serves the tools and list them (raise `SourceError` on
        failure). Called once before the tools are registered; may be awaited from any
        event loop."""
        ...

    async def aclose(self) -> None:
        """Release the source's resources. Idempotent."""
        ...


@dataclass(frozen=True, kw_only=True)
class Entry:
    """A tool together with the source that performs it."""

    tool: Tool
    source: Source
    caller: Caller


class Catalog:
    """Every registered tool, by namespace and identifier.

    Registration is checked: namespace names must be identifiers that do not shadow a
    sandbox global, and no two tools of a namespace may share an identifier.
    """

    def __init__(self) -> None:
        self._namespaces: dict[str, dict[str, Entry]] = {}
        self._sources: list[Source] = []
        self._version = 0

    @property
    def version(self) -> int:
        """Increases on every change; caches derived from the catalog key on it."""
        return self._version

    @property
    def sources(self) -> Sequence[Source]:
        """Registered sources, in registration order."""
        return tuple(self._sources)

    def add_source(self, source: Source) -> None:
        """Register every tool of `source`; nothing is registered if any check fails.

        Adding a source again replaces the tools it registered before (its tool list
        may have changed).
        """
        namespace = source.namespace
        check_namespace(namespace)
        existing = {
            ident: entry
            for ident, entry in self._namespaces.get(namespace, {}).items()
            if entry.source is not source
        }
        staged: dict[str, Entry] = {}
        for tool in source.tools():
            if tool.namespace != namespace:
                raise ConfigError(
                    f"tool {tool.name!r} says namespace {tool.namespace!r} "
                    f"but its source is {namespace!r}"
                )
            clash = existing.get(tool.identifier) or staged.get(tool.identifier)
            if clash is not None:
                raise ConfigError(
                    f"tools {clash.tool.name!r} and {tool.name!r} in namespace {namespace!r} "
                    f"both map to the Python name {tool.identifier!r}; rename one of them "
                    f"(e.g. pass name=... when registering)"
                )
            staged[tool.identifier] = Entry(tool=tool, source=source, caller=source.caller(tool))
        self._namespaces[namespace] = {**existing, **staged}
        if source not in self._sources:
            self._sources.append(source)
        self._version += 1

    def namespaces(self) -> list[str]:
        """Namespace names, sorted."""
        return sorted(self._namespaces)

    def description(self, namespace: str) -> str:
        """One line about a namespace, from its sources (empty when none says anything)."""
        for source in self._sources:
            if source.namespace == namespace:
                text = getattr(source, "description", "")
                if isinstance(text, str) and text.strip():
                    return " ".join(text.split())
        return ""

    def tools(self, namespace: str | None = None) -> list[Tool]:
        """Every tool, or those of one namespace, sorted by qualified name."""
        if namespace is not None:
            if namespace not in self._namespaces:
                raise KeyError(namespace)
            spaces = [namespace]
        else:
            spaces = self.namespaces()
        return [e.tool for ns in spaces for _, e in sorted(self._namespaces[ns].items())]

    def namespace_tools(self, namespace: str) -> Mapping[str, Entry]:
        """The entries of one namespace, by identifier (read-only view)."""
        return MappingProxyType(self._namespaces.get(namespace, {}))

    def get(self, qualified: str) -> Entry | None:
        """The entry for `namespace.identifier`, or None."""
        namespace, _, identifier = qualified.partition(".")
        return self._namespaces.get(namespace, {}).get(identifier)

    def __contains__(self, namespace: object) -> bool:
        return namespace in self._namespaces

    def __iter__(self) -> Iterator[Tool]:
        return iter(self.tools())

    def __len__(self) -> int:
        return sum(len(tools) for tools in self._namespaces.values())


def check_namespace(namespace: str) -> None:
    """Raise `ConfigError` unless `namespace` can be a sandbox global."""
    if not namespace.isidentifier() or keyword.iskeyword(namespace):
        raise ConfigError(
            f"namespace {namespace!r} is not a valid Python name; try {to_identifier(namespace)!r}"
        )
    if namespace in RESERVED_NAMES or namespace.startswith("_"):
        raise ConfigError(
            f"namespace {namespace!r} would shadow a sandbox global of the same name; "
            f"rename it, e.g. {namespace.strip('_') + '_tools'!r}"
        )
