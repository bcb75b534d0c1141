"""`CodeMode`: register tools, then run programs that call them.

```python
from codemode import CodeMode

cm = CodeMode()
cm.add_function(get_weather, namespace="weather")
result = cm.execute('weather.get_weather(city="Paris")["temp_c"]')
```
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import anyio

from codemode.analysis import Analysis, Problem, analyze
from codemode.bridge import Bridge, EventLoopThread
from codemode.catalog import Catalog, Source, Tool, ToolAnnotations
from codemode.errors import ConfigError
from codemode.limits import Limits
from codemode.results import ErrorInfo, ExecutionResult, cap_json
from codemode.sandbox.discovery import Discovery
from codemode.sandbox.modules import BUILTIN_STUBS, NamespaceModules
from codemode.sandbox.monty import MontyExecutor, Outcome
from codemode.search import SearchHit, SearchIndex
from codemode.sources.functions import FunctionSource
from codemode.typegen import namespace_stub, tool_signature

__all__ = ["CodeMode"]


class CodeMode:
    """Tools as typed functions in a sandbox, driven by programs.

    Args:
        limits: What one execution may consume (`Limits()` defaults when omitted).
        type_check: Also type-check each program against the generated stubs with the
            sandbox's bundled checker before running it. Calls are always checked against
            the tools' schemas; the full check adds ~10 ms per stateless execution and
            ~0.5 ms per execution in a warm session.
        max_workers: Sandbox worker processes (default: twice the CPU count, at least 4).
        session_ttl: Seconds an idle session is kept before it is forgotten.

    Use as a context manager, or call `close()` when done, to stop the sandbox workers.
    """

    def __init__(
        self,
        *,
        limits: Limits | None = None,
        type_check: bool = False,
        max_workers: int | None = None,
        session_ttl: float = 3600.0,
    ) -> None:
        self.limits = limits or Limits()
        self.type_check = type_check
        self.catalog = Catalog()
        self._function_sources: dict[str, FunctionSource] = {}
        self._modules = NamespaceModules(self.catalog, with_stubs=type_check)
        self._discovery = Discovery(self.catalog, self._modules, self.search, self.stubs)
        self._bridge = Bridge(self.catalog, builtins=self._discovery.functions())
        self._loop = EventLoopThread()
        self._executor = MontyExecutor(
            limits=self.limits,
            modules=self._modules,
            max_workers=max_workers or max(4, 2 * (os.cpu_count() or 2)),
            type_check=type_check,
            type_check_stubs=BUILTIN_STUBS if type_check else None,
            session_ttl=session_ttl,
        )
        self._index: SearchIndex | None = None
        self._index_version = -1
        self._index_lock = threading.Lock()
        self._closed = False

    # -- registration -------------------------------------------------------------------

    def add_function(
        self,
        fn: Callable[..., Any],
        *,
        namespace: str,
        name: str | None = None,
        bind: Mapping[str, Any] | None = None,
        description: str | None = None,
        annotations: ToolAnnotations | None = None,
    ) -> Tool:
        """Register a Python function (sync or async) as the tool `namespace.name`.

        Type hints become the input schema, the docstring the description and parameter
        docs. Parameters in `bind` (or bound with `functools.partial`) are supplied by the
        host on every call and hidden from the program.
        """
        source = self._function_sources.get(namespace)
        if source is None:
            source = FunctionSource(namespace)
        tool = source.add(
            fn, name=name, bind=bind, description=description, annotations=annotations
        )
        self.catalog.add_source(source)  # a new source is dropped if this refuses it
        self._function_sources[namespace] = source
        return tool

    def add_functions(self, namespace: str, functions: Iterable[Callable[..., Any]]) -> list[Tool]:
        """Register several functions in one namespace."""
        return [self.add_function(fn, namespace=namespace) for fn in functions]

    def add_source(self, source: Source) -> None:
        """Register every tool of a `Source` (or refresh them, if already registered)."""
        self.catalog.add_source(source)

    # -- discovery ----------------------------------------------------------------------

    def namespaces(self) -> list[str]:
        """Registered namespace names, sorted."""
        return self.catalog.namespaces()

    def tools(self, namespace: str | None = None) -> list[Tool]:
        """Registered tools, optionally of one namespace."""
        if namespace is not None and namespace not in self.catalog:
            raise ConfigError(self._unknown_namespace(namespace))
        return self.catalog.tools(namespace)

    def stubs(self, namespace: str | None = None) -> str:
        """The Python stub (`.pyi`) programs are written against, for one or all namespaces."""
        if namespace is not None:
            return namespace_stub(namespace, self.tools(namespace))
        parts = [
            f"# ---- namespace {ns} ----\n{namespace_stub(ns, self.catalog.tools(ns))}"
            for ns in self.catalog.namespaces()
        ]
        return "\n\n".join(parts)

    def search(self, query: str, limit: int = 8) -> list[SearchHit]:
        """The tools that best match `query`, best first."""
        return self._search_index().search(query, limit)

    def _search_index(self) -> SearchIndex:
        if self._index is None or self._index_version != self.catalog.version:
            with self._index_lock:
                if self._index is None or self._index_version != self.catalog.version:
                    self._index = SearchIndex(self.catalog.tools(), tool_signature)
                    self._index_version = self.catalog.version
        return self._index

    def _unknown_namespace(self, namespace: str) -> str:
        known = ", ".join(self.catalog.namespaces()) or "none registered"
        return f"unknown namespace {namespace!r} (namespaces: {known})"

    # -- execution ----------------------------------------------------------------------

    def execute(self, code: str, *, session: str | None = None) -> ExecutionResult:
        """Run a program and return what it produced. Never raises for program errors.

        With `session`, variables and functions persist for the next execution with the
        same id (until it is idle for `session_ttl`); sessions are isolated from each other.
        """
        started = time.perf_counter()
        self._check_open()
        analysis = analyze(code, self._bridge.specs())
        if analysis.problems:
            return _rejected(analysis.problems, started, session)
        outcome = self._executor.run(
            code, analysis, self._bridge, session_id=session, loop=self._async_loop(analysis)
        )
        return self._result(outcome, started, session)

    async def aexecute(self, code: str, *, session: str | None = None) -> ExecutionResult:
        """`execute` for async callers: async tools run on the caller's event loop."""
        started = time.perf_counter()
        self._check_open()
        analysis = analyze(code, self._bridge.specs())
        if analysis.problems:
            return _rejected(analysis.problems, started, session)
        loop = asyncio.get_running_loop()
        outcome = await anyio.to_thread.run_sync(
            lambda: self._executor.run(code, analysis, self._bridge, session_id=session, loop=loop),
            abandon_on_cancel=True,
        )
        return self._result(outcome, started, session)

    def _async_loop(self, analysis: Analysis) -> asyncio.AbstractEventLoop | None:
        # Start the private loop only for programs that may call async tools.
        return self._loop.loop if analysis.namespaces or not analysis.parsed else None

    def _result(self, outcome: Outcome, started: float, session: str | None) -> ExecutionResult:
        value, cut = cap_json(outcome.value, self.limits.result_bytes)
        return ExecutionResult(
            ok=outcome.ok,
            result=value,
            stdout=outcome.stdout,
            error=outcome.error,
            tool_calls=tuple(outcome.tool_calls),
            duration_ms=(time.perf_counter() - started) * 1000,
            truncated=outcome.truncated or cut,
            session=session,
        )

    def sessions(self) -> list[str]:
        """Ids of the sessions currently kept."""
        return self._executor.sessions()

    def dump_session(self, session: str) -> bytes | None:
        """A session's state (variables, functions) as opaque bytes, or None if unknown.

        Restore it with `load_session`, in this process or another with the same tools.
        """
        return self._executor.dump_session(session)

    def load_session(self, session: str, state: bytes) -> None:
        """Create or replace a session from `dump_session` bytes.

        Only load bytes produced by codemode: the sandbox does not authenticate them.
        """
        self._executor.load_session(session, state)

    def end_session(self, session: str) -> bool:
        """Forget a session's state now. Returns whether it existed."""
        return self._executor.drop_session(session)

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> CodeMode:
        """Spawn the sandbox workers now instead of on the first execution."""
        self._check_open()
        self._executor.start()
        return self

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this CodeMode is closed")

    def close(self) -> None:
        """Stop the sandbox workers and threads. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._executor.close()
        self._bridge.close()
        self._loop.close()

    async def aclose(self) -> None:
        """Close the sources and stop the workers."""
        for source in self.catalog.sources:
            await source.aclose()
        await anyio.to_thread.run_sync(self.close)

    def __enter__(self) -> CodeMode:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> CodeMode:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def _rejected(problems: Sequence[Problem], started: float, session: str | None) -> ExecutionResult:
    """The result for a program whose tool calls were refused before it ran."""
    first = problems[0]
    if len(problems) == 1:
        message = first.message
    else:
        message = "\n".join(f"line {p.line}, column {p.column}: {p.message}" for p in problems)
    error = ErrorInfo(
        type="ToolError",
        message=f"{message}\n(checked before running: nothing was executed)",
        line=first.line,
        column=first.column,
        tool=first.tool,
        parameter=first.parameter,
    )
    return ExecutionResult(
        ok=False,
        error=error,
        duration_ms=(time.perf_counter() - started) * 1000,
        session=session,
    )
