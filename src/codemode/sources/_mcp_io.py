"""Plumbing for `codemode.sources.mcp`: stderr capture, stream watching, error text.

Kept apart from the source's lifecycle logic; like that module, it is the only place
(with `_mcp_results`) where MCP SDK types appear.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, TextIO
from urllib.parse import urlsplit

import anyio
import httpx2
import mcp_types as types
from mcp import MCPError
from mcp.shared.message import SessionMessage

from codemode.errors import SourceError

__all__ = [
    "StderrTail",
    "WatchedStream",
    "describe",
    "display_url",
    "main_error",
    "secret_values",
    "startup_failure",
]

STDERR_KEEP = 4096
"""Bytes of a server's stderr kept for error messages."""
_SECRET_NAME_HINTS = ("KEY", "TOKEN", "SECRET", "PASS", "AUTH", "CRED", "COOKIE", "SESSION")


class StderrTail:
    """The server's stderr: a pipe drained by a daemon thread that keeps the last 4 KB.

    Servers log freely; that output must not reach the host's stderr (or a terminal the
    model's output is shown on), but its last lines explain most failures. A thread
    rather than an event-loop pipe reader: it works on every platform and loop.
    """

    def __init__(self) -> None:
        read_fd, write_fd = os.pipe()
        self.writer: TextIO = os.fdopen(write_fd, "w")
        self.eof = threading.Event()
        self._buf = bytearray()
        self._lock = threading.Lock()
        threading.Thread(
            target=self._drain, args=(read_fd,), name="codemode-mcp-stderr", daemon=True
        ).start()

    def _drain(self, fd: int) -> None:
        try:
            while chunk := os.read(fd, 65536):
                with self._lock:
                    self._buf += chunk
                    del self._buf[:-STDERR_KEEP]
        except OSError:
            pass
        finally:
            os.close(fd)
            self.eof.set()

    def close_writer(self) -> None:
        """Drop our copy of the write end; EOF then means the server (and heirs) exited."""
        if not self.writer.closed:
            self.writer.close()

    async def settle(self, timeout: float) -> None:
        """Wait (bounded) for the server's last words to arrive."""
        for _ in range(int(timeout / 0.02)):
            if self.eof.is_set():
                return
            await asyncio.sleep(0.02)

    def text(self) -> str:
        """The kept tail, decoded leniently."""
        with self._lock:
            return bytes(self._buf).decode("utf-8", "replace")


class WatchedStream:
    """A transport's read stream that reports its end (the connection is gone)."""

    def __init__(self, inner: Any, on_end: Callable[[], None]) -> None:
        self._inner = inner
        self._on_end = on_end

    @property
    def last_context(self) -> Any:
        """The sender's contextvars snapshot, when the inner stream carries one."""
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> SessionMessage | Exception:
        """The next message; reports the end before re-raising it."""
        try:
            item: SessionMessage | Exception = await self._inner.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._on_end()
            raise
        return item

    async def aclose(self) -> None:
        """Close the inner stream."""
        await self._inner.aclose()

    def __aiter__(self) -> WatchedStream:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> WatchedStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> bool | None:
        await self.aclose()
        return None


def secret_values(env: Mapping[str, str], headers: Mapping[str, str]) -> list[str]:
    """The values to mask in messages, longest first (so parts never mask whole ones).

    Every header value is a secret (and so is the token of `Bearer <token>`); env values
    are when long enough or named like one: masking every `1` or `true` an env happens
    to hold would garble messages without protecting anything.
    """
    found: set[str] = set()
    named = [(v, any(h in k.upper() for h in _SECRET_NAME_HINTS)) for k, v in env.items()]
    for value, named_secret in [*named, *((v, True) for v in headers.values())]:
        for part in (value, *value.split()[1:]):  # "Bearer abc" -> also "abc"
            if len(part) >= 8 or (named_secret and len(part) >= 3):
                found.add(part)
    return sorted(found, key=len, reverse=True)


def startup_failure(namespace: str, exc: BaseException, command: str | None, url: str) -> str:
    """One line on why connecting failed, from the most telling part of `exc`."""
    ns, leaf = repr(namespace), main_error(exc)
    if isinstance(leaf, FileNotFoundError) and command:
        return f"cannot start MCP server {ns}: command {command!r} not found"
    if isinstance(leaf, PermissionError) and command:
        return f"cannot start MCP server {ns}: command {command!r} is not executable"
    if isinstance(leaf, MCPError) and leaf.code == types.CONNECTION_CLOSED and command:
        return f"MCP server {ns} exited during startup"
    if isinstance(leaf, httpx2.HTTPStatusError):
        return f"MCP server {ns} at {url} answered HTTP {leaf.response.status_code}"
    if isinstance(leaf, httpx2.TransportError):
        return f"cannot connect to MCP server {ns} at {url}: {describe(leaf)}"
    if isinstance(leaf, SourceError):  # ours, already worded for the developer
        return str(leaf)
    return f"MCP server {ns} failed to start: {describe(leaf)}"


def display_url(url: str | None) -> str:
    """The URL without credentials or query (either may carry secrets)."""
    if not url:
        return ""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def main_error(exc: BaseException) -> BaseException:
    """The most telling leaf of an exception group (not a cancellation or a bare close)."""

    def leaves(e: BaseException) -> list[BaseException]:
        if isinstance(e, BaseExceptionGroup):
            return [leaf for sub in e.exceptions for leaf in leaves(sub)]
        return [e]

    def rank(e: BaseException) -> int:
        if isinstance(e, asyncio.CancelledError):
            return 2
        if isinstance(e, MCPError) and e.code == types.CONNECTION_CLOSED:
            return 1
        return 0

    return min(leaves(exc), key=rank)


def describe(exc: BaseException) -> str:
    """`Type: message` of the most telling part of `exc`."""
    leaf = main_error(exc)
    if isinstance(leaf, MCPError):
        return leaf.message
    text = str(leaf)
    return f"{type(leaf).__name__}: {text}" if text else type(leaf).__name__
