"""The host side of one execution: tool calls through the bridge, plus `artifacts`.

`ExecutionHost` is what the driver talks to for one execution. It knows the execution's
session, so `artifacts.list()` lists what this session stored, and it keeps tool results
larger than `Limits.tool_result_bytes` on the host as artifacts: the program receives a
handle and reads the value in slices, so a huge result never has to fit in sandbox
memory at once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import json
import secrets
from collections.abc import Callable, Sequence
from typing import Any

from codemode.artifacts import ARTIFACT_URI, ArtifactStore, describe, estimate_size, valid_id
from codemode.bridge import Bridge, completed
from codemode.catalog import Logged
from codemode.errors import ToolError
from codemode.library import LIBRARY_FUNCTIONS, LibraryFunctions, TestRunner
from codemode.limits import Limits
from codemode.memory import MEMORY_FUNCTIONS, MemoryFunctions
from codemode.results import cap_json
from codemode.sandbox.modules import ARTIFACT_FUNCTIONS
from codemode.sandbox.translate import plain
from codemode.state import DurableState
from codemode.workspace import WorkspaceOS

__all__ = ["ExecutionHost", "store_value"]

PREVIEW_BYTES = 1024
"""Size of the preview a spilled value carries."""

Future = concurrent.futures.Future


def store_value(
    store: ArtifactStore,
    value: Any,
    *,
    session: str | None = None,
    execution: str | None = None,
    name: str | None = None,
    data: bytes | None = None,
    preview_bytes: int = PREVIEW_BYTES,
) -> dict[str, Any]:
    """Store `value` as an artifact; returns the handle the model or program receives:
    `{"artifact": id, "bytes": n, "uri": ..., "preview": ...}`."""
    if data is None:
        data = _encode(value)
    info = describe(
        value, data, ttl=store.policy.ttl, session=session, execution=execution, name=name
    )
    store.put(info, data)
    preview, _ = cap_json(value, preview_bytes)
    handle: dict[str, Any] = {
        "artifact": info.id,
        "bytes": info.bytes,
        "kind": info.kind,
        "uri": f"{ARTIFACT_URI}/{info.id}",
        "preview": preview,
    }
    if info.length is not None:
        handle["length"] = info.length
    if isinstance(value, dict):
        handle["keys"] = list(value)[:20]
    return handle


def _encode(value: Any) -> bytes:
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise ValueError(f"artifacts hold JSON values only: {exc}") from None


class ExecutionHost:
    """The driver's `Host` for one execution (see `codemode.sandbox.driver.Host`)."""

    def __init__(
        self,
        bridge: Bridge,
        store: ArtifactStore,
        limits: Limits,
        *,
        session: str | None,
        state: DurableState | None = None,
        programs: Callable[[], Sequence[str]] = list,
        run_test: TestRunner | None = None,
        execution: str | None = None,
    ) -> None:
        self._bridge = bridge
        self._store = store
        self._limits = limits
        self.session = session
        self._state = state
        self._programs = programs
        self._run_test = run_test
        self._execution = execution

    @functools.cached_property
    def memory(self) -> MemoryFunctions:
        """The `memory` global's functions (made when first called)."""
        return MemoryFunctions(self._durable("memory"))

    @functools.cached_property
    def library(self) -> LibraryFunctions:
        """The `library` global's functions (made when first called)."""
        if self._run_test is None:
            raise RuntimeError("library is not available here")
        return LibraryFunctions(self._durable("library"), self._programs, self._run_test)

    @functools.cached_property
    def filesystem(self) -> WorkspaceOS | None:
        """`/workspace` for this execution: the store's files of its workspace."""
        if self._state is None:
            return None
        return WorkspaceOS(self._state.store, self._state.workspace_id, quota=self._state.quota)

    def _durable(self, what: str) -> DurableState:
        if self._state is None:
            raise RuntimeError(f"{what} is not available here (no store)")
        return self._state

    @property
    def execution(self) -> str:
        """This execution's id (made when first needed: most executions never are)."""
        if self._execution is None:
            self._execution = secrets.token_hex(8)
        return self._execution

    def is_tool(self, name: str) -> bool:
        return self._bridge.is_tool(name)

    def decide(self, name: str, args: tuple[Any, ...]) -> tuple[str, str]:
        return self._bridge.decide(name, args)

    def start(
        self,
        name: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        loop: asyncio.AbstractEventLoop | None,
    ) -> Future[Any]:
        function = _ARTIFACT_METHODS.get(name)
        if function is not None:
            return completed(function, self, *args, **kwargs)
        module, _, attribute = name.partition(".")
        if module in ("memory", "library") and attribute in _DURABLE_FUNCTIONS[module]:
            return completed(lambda: getattr(getattr(self, module), attribute)(*args, **kwargs))
        future = self._bridge.start(name, args, kwargs, loop)
        if self._bridge.is_tool(name):
            return _then(future, lambda value: self._keep_if_large(name, value))
        return future

    def _keep_if_large(self, tool: str, value: Any) -> Any:
        if isinstance(value, Logged):
            return Logged(self._keep_if_large(tool, value.value), value.logs)
        limit = self._limits.tool_result_bytes
        if estimate_size(value, limit) <= limit:
            return value
        try:
            handle = self._put_value(value, name=f"result of {tool}")
        except (ValueError, OSError) as exc:
            raise ToolError(
                f"{tool} returned more than the sandbox takes at once ({limit} bytes) and it "
                f"could not be kept as an artifact ({exc}); ask the tool for less "
                "(filter, paginate)",
                tool=tool,
            ) from None
        handle["note"] = (
            f"{tool} returned {handle['bytes']} bytes, more than the sandbox takes at once; "
            "read it in slices with artifacts.get(id, start, stop) "
            "(a dict: artifacts.get(id, key=..., start=..., stop=...))"
        )
        return handle

    def _put_value(self, value: Any, name: str | None = None) -> dict[str, Any]:
        return store_value(
            self._store, value, session=self.session, execution=self.execution, name=name
        )

    # -- the `artifacts` global -----------------------------------------------------------

    def _put(self, value: Any, name: Any = None) -> str:
        """`artifacts.put(value, name=None) -> id`."""
        if name is not None and not isinstance(name, str):
            raise TypeError("artifacts.put(): name must be a string")
        return str(self._put_value(plain(value), name=name)["artifact"])

    def _get(
        self,
        artifact_id: Any,
        start: Any = None,
        stop: Any = None,
        lines: Any = False,
        key: Any = None,
    ) -> Any:
        """`artifacts.get(id, start=None, stop=None, lines=False, key=None)`: the value,
        or a slice of a string (characters, or lines with `lines=True`) or of a list
        (items); `key` first picks one entry of a dict artifact (`"items"`)."""
        data = self._store.get(self._check_id(artifact_id, "get"))
        if data is None:
            raise ValueError(f"no artifact {artifact_id!r} (unknown or expired)")
        for label, bound in (("start", start), ("stop", stop)):
            if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int)):
                raise TypeError(f"artifacts.get(): {label} must be an integer or None")
        value = json.loads(data)
        if key is not None:
            if not isinstance(value, dict):
                raise TypeError("artifacts.get(): key= needs a dict artifact")
            if key not in value:
                shown = ", ".join(repr(k) for k in list(value)[:20])
                raise ValueError(f"artifacts.get(): no key {key!r} (keys: {shown})")
            value = value[key]
        if lines:
            if not isinstance(value, str):
                raise TypeError("artifacts.get(): lines=True needs a string artifact")
            return value.splitlines()[start:stop]
        if start is None and stop is None:
            return value
        if not isinstance(value, str | list):
            raise TypeError(f"artifacts.get(): cannot slice a {type(value).__name__} artifact")
        return value[start:stop]

    def _list(self) -> list[dict[str, Any]]:
        """`artifacts.list()`: this session's artifacts (or this execution's, without a
        session), oldest first."""
        if self.session is not None:
            mine = [i for i in self._store.list() if i.session == self.session]
        else:
            mine = [i for i in self._store.list() if i.execution == self.execution]
        return [i.to_dict() for i in mine]

    def _info(self, artifact_id: Any) -> dict[str, Any]:
        """`artifacts.info(id)`: size, kind, length and expiry, without reading it."""
        info = self._store.info(self._check_id(artifact_id, "info"))
        if info is None:
            raise ValueError(f"no artifact {artifact_id!r} (unknown or expired)")
        return info.to_dict()

    def _delete(self, artifact_id: Any) -> bool:
        """`artifacts.delete(id)`: remove it; returns whether it existed."""
        return self._store.delete(self._check_id(artifact_id, "delete"))

    @staticmethod
    def _check_id(artifact_id: Any, function: str) -> str:
        if isinstance(artifact_id, dict) and "artifact" in artifact_id:
            artifact_id = artifact_id["artifact"]  # a handle works as well as its id
        if not isinstance(artifact_id, str):
            raise TypeError(f"artifacts.{function}(): pass an artifact id (a string)")
        if not valid_id(artifact_id):
            raise ValueError(f"no artifact {artifact_id!r} (ids look like 'art_…')")
        return artifact_id


_DURABLE_FUNCTIONS = {"memory": MEMORY_FUNCTIONS, "library": LIBRARY_FUNCTIONS}

_ARTIFACT_METHODS: dict[str, Callable[..., Any]] = {
    f"artifacts.{name}": getattr(ExecutionHost, f"_{name}") for name in ARTIFACT_FUNCTIONS
}
"""The `artifacts` global's calls -> the unbound methods that answer them."""


def _then(future: Future[Any], transform: Callable[[Any], Any]) -> Future[Any]:
    """A future of `transform(result)`; cancelling it cancels `future`."""
    out: Future[Any] = Future()

    def settle(done: Future[Any]) -> None:
        if out.done():  # cancelled by the driver meanwhile
            return
        if done.cancelled():
            out.cancel()
            return
        error = done.exception()
        with contextlib.suppress(concurrent.futures.InvalidStateError):
            if error is not None:
                out.set_exception(error)
                return
            try:
                out.set_result(transform(done.result()))
            except Exception as exc:
                out.set_exception(exc)

    def propagate(done: Future[Any]) -> None:
        if done.cancelled():
            future.cancel()

    out.add_done_callback(propagate)
    future.add_done_callback(settle)
    return out
