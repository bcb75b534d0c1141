"""Namespaces as importable sandbox modules.

Each namespace becomes a Monty `ExternalModule` whose attributes are its tools. The
attributes are placeholders: the driver answers every call itself (see `monty.py`), so
nothing host-side is reachable through them. With type checking on, each module carries
its generated stub so the checker sees the tools' signatures.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pydantic_monty as pm

from codemode.catalog import Catalog
from codemode.library import LIBRARY_FUNCTIONS
from codemode.memory import MEMORY_FUNCTIONS
from codemode.prelude import polyfill_modules
from codemode.prelude.imports import module_variable
from codemode.typegen import namespace_stub

__all__ = ["ARTIFACT_FUNCTIONS", "BUILTIN_STUBS", "NamespaceModules"]

_STUBS_HEAD = '''from typing import Any, Callable, TypedDict

class SearchHit(TypedDict):
    qualified: str
    original: str
    signature: str
    summary: str
    score: float

ToolError = RuntimeError

def search(query: str, limit: int = 8) -> list[SearchHit]:
    """Find tools by what they do; returns the best matches, best first."""
    ...

def paginate(tool: Callable[..., Any], /, *, max_pages: int = 10, **arguments: Any) -> list[Any]:
    """Call an API tool page after page; returns every page's items in one list."""
    ...

class _Artifacts:
    def put(self, value: Any, name: str | None = None) -> str:
        """Keep a JSON value on the host; returns its id (valid in later executions)."""
        ...
    def get(
        self,
        id: Any,
        start: int | None = None,
        stop: int | None = None,
        lines: bool = False,
        key: str | None = None,
    ) -> Any:
        """The value, or a slice of a string/list artifact (lines=True slices by lines);
        key= first picks one entry of a dict artifact."""
        ...
    def list(self) -> list[dict[str, Any]]:
        """This session's artifacts: id, bytes, kind, length, created, expires, name."""
        ...
    def info(self, id: Any) -> dict[str, Any]:
        """Size, kind, length and expiry of an artifact, without reading it."""
        ...
    def delete(self, id: Any) -> bool:
        """Remove an artifact; returns whether it existed."""
        ...

artifacts: _Artifacts

class MemoryEntry(TypedDict):
    id: str
    text: str
    tags: list[str]
    score: float

class _Memory:
    def remember(self, text: str, tags: list[str] | None = None) -> str:
        """Keep a text (with tags) for later sessions; returns its id."""
        ...
    def recall(self, query: str, k: int = 5) -> list[MemoryEntry]:
        """The k memories that best match the query's words, best first."""
        ...
    def list(self, tag: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Memories (with the tag, if given), newest first."""
        ...
    def forget(self, id: Any) -> bool:
        """Remove a memory; returns whether it existed."""
        ...
    def ingest(self, text: str, tags: list[str] | None = None) -> list[str]:
        """Keep a long text as chunks of about a paragraph; returns their ids."""
        ...

memory: _Memory

class _Library:
    def save(
        self, fn: Any, description: str | None = None, tests: list[str] | None = None
    ) -> dict[str, Any]:
        """Save a function defined in the program (with the helpers it uses) as a new
        version, after its tests (code strings with asserts) pass in a fresh sandbox."""
        ...
    def get(self, name: str, version: int | None = None) -> dict[str, Any]:
        """A saved function's source, signature, description and tests."""
        ...
    def list(self) -> list[dict[str, Any]]:
        """The latest version of each saved function."""
        ...
    def history(self, name: str) -> list[dict[str, Any]]:
        """Every version of a saved function, oldest first."""
        ...
    def rollback(self, name: str, version: int) -> dict[str, Any]:
        """Save an older version again as the newest."""
        ...
    def delete(self, name: str) -> int:
        """Remove every version of a saved function."""
        ...

library: _Library

def cm_library_get(name: str) -> Any: ...

def grep(
    pattern: str,
    text_or_lines: Any,
    *,
    ignore_case: bool = False,
    invert: bool = False,
    fixed: bool = False,
    line_numbers: bool = False,
    context: int = 0,
    max_matches: int | None = None,
) -> list[Any]:
    """Lines (or list items) matching a regular expression."""
    ...

def jq(expr: str, data: Any, all: bool = False) -> Any:
    """A jq query on JSON-like data: one result as is, several as a list."""
    ...

text: Any
csv: Any
'''


def _polyfill_declarations() -> str:
    # The objects behind rewritten imports (`import textwrap` -> `cm_poly_textwrap`)
    # are built by setup code the checker does not see; declare them.
    names = sorted(module_variable(m) for m in polyfill_modules())
    return "\n".join(f"{name}: Any" for name in names) + "\ncm_package: Any\n"


BUILTIN_STUBS = _STUBS_HEAD + _polyfill_declarations()
"""Declarations of codemode's sandbox globals, for the type checker."""


ARTIFACT_FUNCTIONS = ("put", "get", "list", "info", "delete")
"""The functions of the `artifacts` global in programs."""


def _placeholder(*args: Any, **kwargs: Any) -> Any:
    # Never called: the driver answers tool calls before Monty would reach the host.
    raise RuntimeError("tool called outside a codemode execution")


class NamespaceModules(Mapping[str, Callable[[], pm.ExternalModule]]):
    """A live mapping namespace -> module factory, following the catalog's changes."""

    def __init__(self, catalog: Catalog, *, with_stubs: bool) -> None:
        self._catalog = catalog
        self._with_stubs = with_stubs
        self._lock = threading.Lock()
        self._version = -1
        self._modules: dict[str, pm.ExternalModule] = {}
        self._ids: dict[uuid.UUID, str] = {}

    def _current(self) -> dict[str, pm.ExternalModule]:
        if self._version != self._catalog.version:
            with self._lock:
                if self._version != self._catalog.version:
                    modules = {
                        "artifacts": _host_module(ARTIFACT_FUNCTIONS),
                        "memory": _host_module(MEMORY_FUNCTIONS),
                        "library": _host_module(LIBRARY_FUNCTIONS),
                    }
                    for namespace in self._catalog.namespaces():
                        tools = self._catalog.tools(namespace)
                        attrs = {t.identifier: _placeholder for t in tools}
                        stubs = namespace_stub(namespace, tools) if self._with_stubs else None
                        modules[namespace] = pm.ExternalModule(attrs, stubs=stubs)
                    self._modules = modules
                    self._ids.update({m.id: ns for ns, m in modules.items()})
                    self._version = self._catalog.version
        return self._modules

    def namespace_of(self, module: pm.ExternalModule) -> str | None:
        """Which namespace a module value handed out of the sandbox stands for."""
        self._current()
        return self._ids.get(module.id)

    def __getitem__(self, namespace: str) -> Callable[[], pm.ExternalModule]:
        module = self._current()[namespace]
        return lambda: module

    def __iter__(self) -> Iterator[str]:
        return iter(self._current())

    def __len__(self) -> int:
        return len(self._current())


def _host_module(functions: tuple[str, ...]) -> pm.ExternalModule:
    """A global whose functions the host answers (`artifacts`, `memory`, `library`)."""
    return pm.ExternalModule(dict.fromkeys(functions, _placeholder))
