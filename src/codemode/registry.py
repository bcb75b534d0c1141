"""`Registry`: the tools `CodeMode` knows and the sources they come from.

`CodeMode` inherits it. The registry owns the catalog, the policy and secrets that
registration fills in, every source (functions, commands, pending, failed) with its
status, and the I/O loop that sources start and close on.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from codemode.bridge import EventLoopThread
from codemode.catalog import Catalog, Source, Tool, ToolAnnotations, check_namespace
from codemode.errors import ConfigError, SourceError
from codemode.policy import Policy, PolicyValue, check_decision
from codemode.secret import Secrets
from codemode.sources.commands import CommandSource
from codemode.sources.functions import FunctionSource

if TYPE_CHECKING:
    from codemode.sources.mcp import MCPSource
    from codemode.sources.openapi import Auth, OpenAPISource

__all__ = ["Registry"]

_CLOSE_TIMEOUT = 10.0


class Registry:
    """The registration half of `CodeMode`: sources, the tools they bring, and their state.

    Args:
        policy: Which tool calls run, are refused or need approval (see `CodeMode`).
        secrets: Named credentials sources reference as `${secret:NAME}`.
    """

    def __init__(
        self,
        *,
        policy: Mapping[str, str] | Policy | None = None,
        secrets: Mapping[str, str] | Secrets | None = None,
    ) -> None:
        self.policy = policy if isinstance(policy, Policy) else Policy(policy)
        self.secrets = secrets if isinstance(secrets, Secrets) else Secrets(secrets)
        self.catalog = Catalog()
        self._function_sources: dict[str, FunctionSource] = {}
        self._command_sources: dict[str, CommandSource] = {}
        self._pending: list[Source] = []  # registered, not yet started
        self._failed: list[Source] = []
        self._status: dict[str, str] = {}
        self._start_lock = threading.Lock()
        self._loop = EventLoopThread()

    def add_function(
        self,
        fn: Callable[..., Any],
        *,
        namespace: str,
        name: str | None = None,
        bind: Mapping[str, Any] | None = None,
        description: str | None = None,
        annotations: ToolAnnotations | None = None,
        policy: str | None = None,
        secrets: Mapping[str, str] | None = None,
    ) -> Tool:
        """Register a Python function (sync or async) as the tool `namespace.name`.

        Type hints become the input schema, the docstring the description and parameter
        docs. Parameters in `bind` (or bound with `functools.partial`) are supplied by the
        host on every call and hidden from the program; `secrets` maps parameters to
        secret names (`{"token": "GITHUB_TOKEN"}`) the same way. `policy` (`allow`,
        `deny`, `approve`, `approve_run`) overrides what its `annotations` imply.
        """
        if secrets:
            bind = {**(bind or {}), **{p: self.secrets.get(n) for p, n in secrets.items()}}
        if policy is not None:
            check_decision(policy, f"{namespace}.{name or getattr(fn, '__name__', '?')}")
        source = self._function_sources.get(namespace)
        if source is None:
            source = FunctionSource(namespace)
        tool = source.add(
            fn, name=name, bind=bind, description=description, annotations=annotations
        )
        self.catalog.add_source(source)  # a new source is dropped if this refuses it
        self._function_sources[namespace] = source
        if policy is not None:
            self.policy.set_tool(namespace, tool.name, policy)
        return tool

    def add_functions(
        self,
        namespace: str,
        functions: Iterable[Callable[..., Any]],
        *,
        description: str | None = None,
        policy: PolicyValue | None = None,
        secrets: Mapping[str, str] | None = None,
    ) -> list[Tool]:
        """Register several functions in one namespace; `description` says in one line
        what the namespace is for (shown in the `execute` tool's overview). `policy` is
        one decision for all of them or function name -> decision; `secrets`
        (parameter -> secret name) fills that parameter of each function that has it."""
        functions = list(functions)
        self._check_policy_value(namespace, policy)
        tools = []
        for fn in functions:
            name = getattr(fn, "__name__", "")
            decision = policy.get(name) if isinstance(policy, Mapping) else policy
            taken = {p: n for p, n in (secrets or {}).items() if _takes(fn, p)}
            tools.append(self.add_function(fn, namespace=namespace, policy=decision, secrets=taken))
        if description is not None and namespace in self._function_sources:
            self._function_sources[namespace].description = description
        return tools

    def add_command(
        self,
        namespace: str,
        name: str,
        command: Sequence[str],
        *,
        description: str = "",
        parameters: Mapping[str, Mapping[str, Any]] | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        timeout: float = 60.0,
        stdin: bool = False,
        output: Literal["text", "json"] = "text",
        check: bool = True,
        annotations: ToolAnnotations | None = None,
        policy: str | None = None,
    ) -> Tool:
        """Register a command-line program as the tool `namespace.name`.

        `command` is an argv list (never a shell); each `{placeholder}` in it is a
        parameter (a string unless `parameters` gives its JSON Schema). The tool returns
        `{"exit_code", "stdout", "stderr"}` (`output="json"`: stdout parsed); a non-zero
        exit raises `ToolError` unless `check=False`. The process gets a minimal
        environment plus `env`; `${secret:NAME}` in `env` or `command` is filled in on
        the host. See `codemode.sources.commands.CommandSource.add` for every option.
        """
        if policy is not None:
            check_decision(policy, f"{namespace}.{name}")
        source = self._command_sources.get(namespace)
        if source is None:
            self._check_new_namespace(namespace)
            source = CommandSource(namespace)
        tool = source.add(
            name,
            [self.secrets.expand(part) for part in command],
            description=description,
            parameters=parameters,
            env=self.secrets.expand_all(env),
            cwd=cwd,
            timeout=timeout,
            stdin=stdin,
            output=output,
            check=check,
            annotations=annotations,
        )
        self.catalog.add_source(source)
        self._command_sources[namespace] = source
        if policy is not None:
            self.policy.set_tool(namespace, tool.name, policy)
        return tool

    def namespace_description(self, namespace: str) -> str:
        """One line about a namespace (an MCP server's instructions, a module's docstring)."""
        return self.catalog.description(namespace)

    def add_source(self, source: Source) -> None:
        """Register a `Source`; it is started, and its tools registered, by `start()` or
        on first use. Adding a registered source again refreshes its tools."""
        if source in self.catalog.sources:
            self.catalog.add_source(source)
            return
        self._check_new_namespace(source.namespace)
        self._pending.append(source)
        self._status[source.namespace] = "not started"

    def add_mcp(
        self,
        name: str,
        *,
        command: str | None = None,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        url: str | None = None,
        headers: Mapping[str, str] | None = None,
        transport: Literal["stdio", "http", "sse"] | None = None,
        connect_timeout: float = 30.0,
        policy: PolicyValue | None = None,
        read_only: bool = False,
    ) -> MCPSource:
        """Put an upstream MCP server's tools in namespace `name`.

        Give `command` (+ `args`, `env`, `cwd`) for a server over stdio, or `url`
        (+ `headers`) for streamable HTTP (a URL ending in `/sse` uses SSE). Servers are
        started in parallel by `start()` (or on first use); one that fails is reported in
        `source_status()` and does not block the others. `env` and `headers` stay on the
        host: programs can never read them.

        `policy` is one decision for all its tools or a mapping of tool name ->
        decision; `read_only=True` refuses every tool the server does not mark
        read-only. Tools marked destructive need approval unless a policy says otherwise.
        """
        self._check_policy_value(name, policy)
        from codemode.sources.mcp import MCPSource  # the MCP SDK loads only when used

        source = MCPSource(
            name,
            command=command,
            args=args,
            env=self.secrets.expand_all(env),
            cwd=cwd,
            url=url,
            headers=self.secrets.expand_all(headers),
            transport=transport,
            loop=self._loop,
            connect_timeout=connect_timeout,
            on_change=self._source_changed,
        )
        self.add_source(source)
        self.policy.set_source(name, policy, read_only=read_only)
        return source

    def add_openapi(
        self,
        name: str,
        *,
        spec: str | os.PathLike[str] | Mapping[str, Any],
        base_url: str | None = None,
        headers: Mapping[str, str] | None = None,
        auth: Auth | None = None,
        allowed_hosts: Sequence[str] | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        include: Callable[[Tool], bool] | None = None,
        policy: PolicyValue | None = None,
        read_only: bool = False,
    ) -> OpenAPISource:
        """Put every operation of an OpenAPI document (3.0, 3.1 or Swagger 2.0; JSON or
        YAML; a path, an URL or a parsed dict) in namespace `name`, one tool each.

        Requests go to `base_url` (default: the document's first server) and only to
        `allowed_hosts` (default: that host). `headers` and `auth` (`BearerAuth`,
        `ApiKeyAuth`, `BasicAuth`, `OAuth2ClientCredentials`) are applied on the host:
        no program can read them, and they are redacted from anything it receives.
        Idempotent requests are retried on 429 and 5xx, honouring Retry-After.

        `policy` and `read_only` as in `add_mcp`: `read_only=True` refuses every
        operation but GET, HEAD and OPTIONS; DELETE operations need approval by default.
        """
        self._check_policy_value(name, policy)
        from codemode.sources.openapi import OpenAPISource

        for i, value in enumerate(auth.secrets() if auth is not None else ()):
            self.secrets.add(f"{name.upper()}_AUTH{i or ''}", value)
        source = OpenAPISource(
            name,
            spec=spec,
            base_url=base_url,
            headers=self.secrets.expand_all(headers),
            auth=auth,
            allowed_hosts=allowed_hosts,
            timeout=timeout,
            max_retries=max_retries,
            include=include,
        )
        self.add_source(source)
        self.policy.set_source(name, policy, read_only=read_only)
        return source

    @staticmethod
    def _check_policy_value(namespace: str, policy: PolicyValue | None) -> None:
        """Refuse a bad policy before its source is registered."""
        if isinstance(policy, Mapping):
            for tool, value in policy.items():
                check_decision(value, f"{namespace}.{tool}")
        elif policy is not None:
            check_decision(policy, f"namespace {namespace!r}")

    def add_secret(self, name: str, value: str | None = None, *, env: str | None = None) -> None:
        """Add the secret `name` (`value`, else the environment variable `env`, default
        `name`), for sources to reference as `${secret:NAME}`."""
        self.secrets.add(name, value, env=env)

    def _check_new_namespace(self, namespace: str) -> None:
        check_namespace(namespace)
        taken = {s.namespace for s in (*self.catalog.sources, *self._pending, *self._failed)}
        if (
            namespace in taken
            or namespace in self._function_sources
            or namespace in self._command_sources
        ):
            raise ConfigError(f"namespace {namespace!r} is already registered")

    def _source_changed(self, source: Source) -> None:
        # Called from the I/O loop when an upstream's tool list changes.
        try:
            self.catalog.add_source(source)
            self._status[source.namespace] = _ready(source)
        except ConfigError as exc:
            self._status[source.namespace] = f"failed: {exc}"

    def source_status(self) -> dict[str, str]:
        """Each namespace's state: `ready (N tools)`, `not started`, or `failed: why`."""
        status = dict(self._status)
        for source in self.catalog.sources:
            live = getattr(source, "status", None)
            if isinstance(live, str) and live.startswith("failed"):
                status[source.namespace] = live
            else:
                status.setdefault(source.namespace, _ready(source))
        return dict(sorted(status.items()))

    def _ensure_started(self, *, retry_failed: bool = False) -> None:
        """Start pending sources, all at once, and register the tools of those that start."""
        if not self._pending and not (retry_failed and self._failed):
            return
        with self._start_lock:
            pending, self._pending = self._pending, []
            if retry_failed:
                pending += self._failed
                self._failed = []
            if not pending:
                return
            outcomes = self._loop.run(_start_all(pending))
            for source, error in zip(pending, outcomes, strict=True):
                if error is None:
                    try:
                        self.catalog.add_source(source)
                    except ConfigError as exc:
                        error = exc
                if error is None:
                    self._status[source.namespace] = _ready(source)
                else:
                    self._failed.append(source)
                    self._status[source.namespace] = f"failed: {error}"

    def _close_sources(self) -> None:
        """Close every registered source, waiting at most `_CLOSE_TIMEOUT` seconds."""
        sources = [*self.catalog.sources, *self._pending, *self._failed]
        if any(not isinstance(s, FunctionSource) for s in sources):
            # A source that will not close must not keep the process alive.
            with contextlib.suppress(TimeoutError):
                self._loop.run(_close_all(sources), timeout=_CLOSE_TIMEOUT)


def _ready(source: Source) -> str:
    count = len(source.tools())
    return f"ready ({count} tool{'s' if count != 1 else ''})"


async def _start_all(sources: Sequence[Source]) -> list[BaseException | None]:
    """Start sources concurrently; one failure does not stop the others."""

    async def one(source: Source) -> BaseException | None:
        try:
            start = getattr(source, "start", None)
            if start is not None:
                await start()
        except Exception as exc:
            return (
                exc if isinstance(exc, SourceError) else SourceError(f"{type(exc).__name__}: {exc}")
            )
        return None

    return list(await asyncio.gather(*(one(s) for s in sources)))


async def _close_all(sources: Sequence[Source]) -> None:
    await asyncio.gather(*(s.aclose() for s in sources), return_exceptions=True)


def _takes(fn: Callable[..., Any], parameter: str) -> bool:
    """Whether `fn` has a parameter named `parameter`."""
    try:
        return parameter in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
