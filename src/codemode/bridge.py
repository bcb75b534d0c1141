"""The bridge: a call leaving the sandbox becomes a tool call on the host.

For each call it resolves the name (`ns.identifier`) to a catalog entry, maps the
program's keyword names back to the tool's original parameter names, checks the
arguments against the input schema, and dispatches the source's caller: plain functions
to a worker thread, coroutine functions to an event loop. Every failure becomes a
`ToolError` written for the model: it names the tool and the parameter, lists the valid
parameters, and carries no host traceback or host paths.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import inspect
import os
import sys
import threading
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

from codemode.analysis import CallSpec, accepts_extra_keywords, argument_problems
from codemode.catalog import Catalog, Entry
from codemode.errors import ToolError
from codemode.policy import Decision, Policy
from codemode.secret import Secrets
from codemode.typegen import parameter_names

__all__ = ["PAGINATE", "Bridge", "EventLoopThread", "completed", "redact"]

PAGINATE = "paginate"
"""The sandbox global that calls a tool page after page."""

Future = concurrent.futures.Future


@dataclass(frozen=True, kw_only=True)
class _Binding:
    entry: Entry
    spec: CallSpec
    to_original: Mapping[str, str]
    is_async: bool


class Bridge:
    """Resolves and dispatches the calls programs make.

    `builtins` are the host functions behind codemode's sandbox globals (`search`,
    `help`, `dir`); they run inline and are not counted as tool calls. `policy` decides
    which tool calls run, wait for approval or are refused (see `codemode.policy`).
    Every value coming back — results, errors, log lines — has the values of `secrets`
    scrubbed from it (see `codemode.secret`).
    """

    def __init__(
        self,
        catalog: Catalog,
        *,
        builtins: Mapping[str, Callable[..., Any]] | None = None,
        policy: Policy | None = None,
        secrets: Secrets | None = None,
        max_threads: int = 32,
    ) -> None:
        self.catalog = catalog
        self.builtins = dict(builtins or {})
        self.policy = policy if policy is not None else Policy()
        self.secrets = secrets if secrets is not None else Secrets()
        self._threads: concurrent.futures.ThreadPoolExecutor | None = None
        self._max_threads = max_threads
        self._lock = threading.Lock()
        self._version = -1
        self._bindings: dict[str, _Binding] = {}
        self._specs: dict[str, dict[str, CallSpec]] = {}

    # -- catalog views ----------------------------------------------------------------

    def _refresh(self) -> None:
        if self._version == self.catalog.version:
            return
        with self._lock:
            if self._version == self.catalog.version:
                return
            bindings: dict[str, _Binding] = {}
            specs: dict[str, dict[str, CallSpec]] = {}
            for namespace in self.catalog.namespaces():
                specs[namespace] = {}
                for identifier, entry in self.catalog.namespace_tools(namespace).items():
                    tool = entry.tool
                    names = parameter_names(tool)  # python name -> original name
                    params = tool.parameters
                    spec = CallSpec(
                        qualified=tool.qualified,
                        parameters={py: params.get(orig, {}) for py, orig in names.items()},
                        required=frozenset(
                            py for py, orig in names.items() if orig in tool.required
                        ),
                        root=tool.input_schema,
                        open=accepts_extra_keywords(tool.input_schema),
                    )
                    specs[namespace][identifier] = spec
                    bindings[tool.qualified] = _Binding(
                        entry=entry,
                        spec=spec,
                        to_original=names,
                        is_async=inspect.iscoroutinefunction(entry.caller),
                    )
            self._bindings, self._specs = bindings, specs
            self._version = self.catalog.version

    def specs(self) -> Mapping[str, Mapping[str, CallSpec]]:
        """Call specs for the static analysis: namespace -> identifier -> spec."""
        self._refresh()
        return self._specs

    def is_tool(self, name: str) -> bool:
        """True when `name` is a qualified tool name (or `paginate`, which calls one)."""
        self._refresh()
        return name in self._bindings or name == PAGINATE

    def decide(self, name: str, args: tuple[Any, ...]) -> tuple[Decision, str]:
        """The policy's decision for a call of `name` and the tool it concerns
        (`paginate(ns.tool, ...)` concerns `ns.tool`)."""
        self._refresh()
        if name == PAGINATE and args and isinstance(args[0], str):
            name = args[0]
        binding = self._bindings.get(name)
        if binding is None:  # not a tool: the call fails on its own
            return "allow", name
        return self.policy.decide(binding.entry.tool), name

    # -- dispatch -----------------------------------------------------------------------

    def start(
        self,
        name: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        loop: asyncio.AbstractEventLoop | None,
    ) -> Future[Any]:
        """Begin one call and return a future of its result.

        The future raises `ToolError` for anything the model should see. `loop` runs
        coroutine callers; it must be running in another thread.
        """
        self._refresh()
        if name == PAGINATE:
            return self._paginate(args, kwargs, loop)
        binding = self._bindings.get(name)
        if binding is None:
            return completed(lambda: self.secrets.scrub(self._builtin(name, args, kwargs)))
        try:
            arguments = self._arguments(binding, args, kwargs)
        except ToolError as exc:
            return _failed(exc)
        caller = binding.entry.caller
        qualified = binding.spec.qualified
        scrub = self.secrets.scrub
        if binding.is_async:
            if loop is None:
                return _failed(ToolError(f"{qualified}: no event loop to run an async tool"))
            coro = _guarded_async(caller, arguments, qualified, scrub)
            return asyncio.run_coroutine_threadsafe(coro, loop)
        return self._thread_pool().submit(_guarded_sync, caller, arguments, qualified, scrub)

    def _paginate(
        self,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        loop: asyncio.AbstractEventLoop | None,
    ) -> Future[Any]:
        """`paginate(ns.tool, max_pages=10, **arguments)`: every page's items, one list.

        A tool handed out of the sandbox arrives as its qualified name. The arguments are
        checked against the tool's schema like a direct call; the tool's source follows
        its API's pagination (Link headers, cursors, page numbers).
        """
        usage = "paginate(ns.tool, max_pages=10, **arguments)"
        if len(args) != 1 or not isinstance(args[0], str):
            return _failed(ToolError(f"{usage}: pass the tool itself as the only positional"))
        binding = self._bindings.get(args[0])
        if binding is None:
            return _failed(ToolError(f"{usage}: {args[0]!r} is not a tool"))
        qualified = binding.spec.qualified
        max_pages = kwargs.pop("max_pages", 10)
        if isinstance(max_pages, bool) or not isinstance(max_pages, int) or not max_pages >= 1:
            return _failed(ToolError(f"{usage}: max_pages must be a positive integer"))
        paginator = getattr(binding.entry.source, "paginator", None)
        if paginator is None:
            return _failed(
                ToolError(
                    f"{qualified} cannot be paginated automatically; call it in a loop",
                    tool=qualified,
                )
            )
        try:
            arguments = self._arguments(binding, (), kwargs)
        except ToolError as exc:
            return _failed(exc)
        if loop is None:
            return _failed(ToolError(f"{qualified}: no event loop to run paginate()"))
        pages = paginator(binding.entry.tool)
        coro = _guarded_async(
            lambda a: pages(a, max_pages), arguments, qualified, self.secrets.scrub
        )
        return asyncio.run_coroutine_threadsafe(coro, loop)

    def _arguments(
        self, binding: _Binding, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        spec = binding.spec
        problems = argument_problems(spec, len(args), kwargs)
        if problems:
            parameter, message = problems[0]
            raise ToolError(message, tool=spec.qualified, parameter=parameter)
        names = binding.to_original
        return {names.get(k, k): v for k, v in kwargs.items()}

    def _builtin(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        fn = self.builtins.get(name)
        if fn is None:
            namespace = name.partition(".")[0]
            if "." in name and namespace in self.catalog:
                raise AttributeError(f"namespace {namespace!r} has no tool {name!r}")
            raise NameError(f"name {name!r} is not defined")
        return fn(*args, **kwargs)

    def _thread_pool(self) -> concurrent.futures.ThreadPoolExecutor:
        if self._threads is None:
            with self._lock:
                if self._threads is None:
                    self._threads = concurrent.futures.ThreadPoolExecutor(
                        self._max_threads, thread_name_prefix="codemode-tool"
                    )
        return self._threads

    def close(self) -> None:
        """Stop the worker threads (calls still running are abandoned)."""
        if self._threads is not None:
            self._threads.shutdown(wait=False, cancel_futures=True)
            self._threads = None


def completed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future[Any]:
    """A future already settled with `fn(*args, **kwargs)` (or its exception)."""
    future: Future[Any] = Future()
    try:
        future.set_result(fn(*args, **kwargs))
    except BaseException as exc:  # delivered into the program, like any call's error
        future.set_exception(exc)
    return future


def _failed(exc: BaseException) -> Future[Any]:
    future: Future[Any] = Future()
    future.set_exception(exc)
    return future


Scrub = Callable[[Any], Any]


def _guarded_sync(
    caller: Callable[..., Any], arguments: dict[str, Any], qualified: str, scrub: Scrub
) -> Any:
    try:
        return scrub(caller(arguments))
    except ToolError as exc:
        raise _qualified(exc, qualified, scrub) from None
    except Exception as exc:
        raise _as_tool_error(exc, qualified, scrub) from None


async def _guarded_async(
    caller: Callable[..., Any], arguments: dict[str, Any], qualified: str, scrub: Scrub
) -> Any:
    try:
        return scrub(await caller(arguments))
    except ToolError as exc:
        raise _qualified(exc, qualified, scrub) from None
    except Exception as exc:
        raise _as_tool_error(exc, qualified, scrub) from None


def _qualified(exc: ToolError, qualified: str, scrub: Scrub) -> ToolError:
    return ToolError(
        scrub(redact(exc.message)),
        tool=exc.tool or qualified,
        parameter=exc.parameter,
        logs=tuple(scrub(redact(line)) for line in exc.logs),
    )


def _as_tool_error(exc: Exception, qualified: str, scrub: Scrub) -> ToolError:
    detail = scrub(redact(str(exc) or type(exc).__name__))
    return ToolError(f"{qualified} failed: {type(exc).__name__}: {detail}", tool=qualified)


@functools.cache  # on first use, not at import: importing codemode has no side effects
def _host_prefixes() -> list[str]:
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.expanduser("~")}
    with contextlib.suppress(OSError):
        prefixes.add(os.getcwd())
    prefixes.update(p for p in sys.path if p and os.path.isabs(p))
    usable = [p.rstrip("/") for p in prefixes if p and len(p.rstrip("/")) > 1]
    return sorted(usable, key=len, reverse=True)


def redact(message: str, limit: int = 2000) -> str:
    """Remove host installation paths from an error message and cap its length."""
    for prefix in _host_prefixes():
        if prefix in message:
            message = message.replace(prefix, "<host>")
    if len(message) > limit:
        message = message[: limit - 20] + " … (message cut)"
    return message


class EventLoopThread:
    """A private asyncio loop in a daemon thread, for async tools called from sync code."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The running loop, started on first use."""
        if self._loop is None:
            with self._lock:
                if self._loop is None:
                    loop = asyncio.new_event_loop()
                    ready = threading.Event()

                    def run() -> None:
                        asyncio.set_event_loop(loop)
                        loop.call_soon(ready.set)
                        loop.run_forever()

                    thread = threading.Thread(target=run, name="codemode-loop", daemon=True)
                    thread.start()
                    ready.wait()
                    self._thread, self._loop = thread, loop
        return self._loop

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float | None = None) -> Any:
        """Run a coroutine on the loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        """Stop the loop and join its thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        if not loop.is_running():
            loop.close()
        self._loop = self._thread = None
