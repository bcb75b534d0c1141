"""OpenAPI documents as a tool source: one tool per operation.

```python
source = OpenAPISource("github", spec="github.json", auth=BearerAuth(token))
await source.start()
issue = await source.caller(tool)({"owner": "octo", "repo": "hello", "title": "Bug"})
```

`OpenAPISource` reads an OpenAPI 3.0/3.1 or Swagger 2.0 document (a path, JSON or YAML;
an http(s) URL; or a parsed mapping) and turns each operation into a `Tool`: the
identifier from the operationId (`repos/list-for-org` -> `repos_list_for_org`), the
description from the summary and description, the input schema from the parameters and
the request body merged into keyword arguments (see `_openapi_ops`), the output schema
from the first 2xx JSON response. Referenced schemas are shared `$defs`, never inlined,
so recursive schemas work.

Calls become HTTP requests (see `_openapi_encode` and `_openapi_http`): only to allowed
hosts, authenticated host-side, retried when safe, answered with plain data. Headers,
credentials and fetched tokens never reach a program: the parameters they fill are
hidden from the model, and their values are redacted from every result and message.

Requests run on one event loop, a private loop thread started on the first call, so the
callers work whichever loop awaits them. Not supported: file uploads (multipart fields
are sent as text), XML bodies, callbacks and webhooks, external `$ref`s (other files or
URLs; they are typed `Any`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

from codemode.bridge import EventLoopThread
from codemode.catalog import Tool, check_namespace, to_identifier
from codemode.errors import ConfigError, SourceError, ToolError
from codemode.sources._openapi_auth import (
    ApiKeyAuth,
    Auth,
    BasicAuth,
    BearerAuth,
    OAuth2ClientCredentials,
)
from codemode.sources._openapi_encode import RequestParts, build_request
from codemode.sources._openapi_http import Reply, Secrets, Transport, decode, status_error
from codemode.sources._openapi_load import (
    HTTP_METHODS,
    Document,
    deref,
    fetch_text,
    is_url,
    parse_document,
    read_file,
)
from codemode.sources._openapi_ops import OperationBuilder, Plan, clean_text
from codemode.sources._openapi_paginate import Page, collect
from codemode.sources._openapi_schema import SchemaTable

__all__ = [
    "ApiKeyAuth",
    "Auth",
    "BasicAuth",
    "BearerAuth",
    "OAuth2ClientCredentials",
    "OpenAPISource",
]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")
# Header names whose values are configuration, not credentials: redacting every
# "application/json" from results would garble them without protecting anything.
_PUBLIC_HEADERS = frozenset({"accept", "accept-language", "content-type", "user-agent"})


class OpenAPISource:
    """The operations of one OpenAPI document, as one namespace (implements `Source`)."""

    def __init__(
        self,
        namespace: str,
        *,
        spec: str | os.PathLike[str] | Mapping[str, Any],
        base_url: str | None = None,
        headers: Mapping[str, str] | None = None,
        auth: Auth | None = None,
        allowed_hosts: Sequence[str] | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        include: Callable[[Tool], bool] | None = None,
        loop: EventLoopThread | None = None,
    ) -> None:
        """Check the arguments (ConfigError); nothing is read or fetched until `start()`.

        `base_url` defaults to the document's first server; `allowed_hosts` to the base
        URL's host. `headers` and `auth` are secrets: sent with every request, never
        shown. `include` keeps only the tools it returns True for. `loop` is the loop
        thread requests run on (a private one, started on the first call, when omitted).
        """
        check_namespace(namespace)
        where = f"OpenAPI source {namespace!r}"
        if not isinstance(spec, str | os.PathLike | Mapping):
            raise ConfigError(f"{where}: spec must be a path, an URL or a parsed document")
        if base_url is not None and not (
            isinstance(base_url, str) and base_url.startswith(("http://", "https://"))
        ):
            raise ConfigError(f"{where}: base_url must be an http(s) URL")
        pairs = (headers or {}).items()
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in pairs):
            raise ConfigError(f"{where}: headers must map strings to strings")
        if auth is not None and not isinstance(
            auth, BearerAuth | ApiKeyAuth | BasicAuth | OAuth2ClientCredentials
        ):
            raise ConfigError(
                f"{where}: auth must be a BearerAuth, ApiKeyAuth, BasicAuth or "
                f"OAuth2ClientCredentials"
            )
        if allowed_hosts is not None and (
            isinstance(allowed_hosts, str) or not all(isinstance(h, str) for h in allowed_hosts)
        ):
            raise ConfigError(f"{where}: allowed_hosts must be a list of host names")
        if not (isinstance(timeout, int | float) and timeout > 0):
            raise ConfigError(f"{where}: timeout must be a positive number of seconds")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ConfigError(f"{where}: max_retries must be a non-negative integer")
        if include is not None and not callable(include):
            raise ConfigError(f"{where}: include must be a function of a Tool")
        self._namespace = namespace
        self._spec = spec
        self._base_url_arg = base_url
        self._headers = dict(headers or {})
        self._auth = auth
        self._allowed_arg = tuple(allowed_hosts) if allowed_hosts is not None else None
        self._timeout = float(timeout)
        self._max_retries = max_retries
        self._include = include
        self._secrets = Secrets(_header_secrets(self._headers))
        if auth is not None:
            self._secrets.add(*auth.secrets())
        self._started = False
        self._loop_lock = threading.Lock()
        self._own_loop = loop is None
        self._loop_thread = loop
        self._transport: Transport | None = None
        self._base_url: str | None = None
        self._description = ""
        self._tools: tuple[Tool, ...] = ()
        self._plans: dict[str, tuple[Tool, Plan]] = {}
        self.skipped: list[tuple[str, str]] = []
        """Operations that could not become tools: (endpoint, reason)."""

    def __repr__(self) -> str:
        spec = self._spec
        if isinstance(spec, Mapping):
            shown = "<document>"
        elif isinstance(spec, str) and is_url(spec):
            parts = urlsplit(spec)  # no credentials or query: either may carry secrets
            shown = f"{parts.scheme}://{parts.hostname or ''}{parts.path}"
        else:
            shown = os.fspath(spec)
        base = self._base_url or self._base_url_arg
        return (
            f"OpenAPISource({self._namespace!r}, spec={shown!r}, base_url={base!r}, "
            f"tools={len(self._tools)})"
        )

    @property
    def namespace(self) -> str:
        """The namespace every tool of this source lives in."""
        return self._namespace

    @property
    def description(self) -> str:
        """The API's title and the first sentence of its description (≤ 120 characters);
        empty before `start()`."""
        return self._description

    @property
    def base_url(self) -> str | None:
        """Where requests go (known after `start()` when taken from the document)."""
        return self._base_url

    def tools(self) -> Sequence[Tool]:
        """One tool per operation, in document order; empty before `start()`."""
        return self._tools

    # -- loading ----------------------------------------------------------------------

    async def start(self) -> None:
        """Read, parse and convert the document; SourceError on any failure.

        Starting a started source does nothing. Parsing and conversion run in a worker
        thread, so the awaiting loop stays responsive.
        """
        if self._started:
            return
        spec = self._spec
        name = "the OpenAPI document"
        spec_url: str | None = None
        raw: bytes | Mapping[str, Any]
        if isinstance(spec, Mapping):
            raw = spec
        elif isinstance(spec, str) and is_url(spec):
            spec_url = spec
            name = urlsplit(spec).path.rsplit("/", 1)[-1] or spec
            raw = await fetch_text(spec, self._timeout)
        else:
            name = os.fspath(spec)
            raw = b""  # read in the worker thread below
        try:
            await asyncio.to_thread(self._load, raw, name, spec_url)
        except SourceError:
            raise
        except Exception as exc:  # a bug, or an `include` that raised: still the setup's
            raise SourceError(
                f"OpenAPI source {self._namespace!r}: loading {name} failed: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        self._started = True

    def _load(self, raw: bytes | Mapping[str, Any], name: str, spec_url: str | None) -> None:
        if not isinstance(raw, Mapping) and not raw:
            raw = read_file(name)
        document = parse_document(raw, name=name, spec_url=spec_url)
        base_url = self._base_url_arg or document.server_url
        if not base_url:
            raise SourceError(
                f"OpenAPI source {self._namespace!r}: {name} declares no absolute server URL "
                f"(servers/host); pass base_url=..."
            )
        host = urlsplit(base_url).hostname
        if not host or urlsplit(base_url).scheme not in ("http", "https"):
            raise SourceError(
                f"OpenAPI source {self._namespace!r}: base URL {base_url!r} is not an http(s) URL"
            )
        allowed = self._allowed_arg if self._allowed_arg is not None else (host,)
        self._transport = Transport(
            headers=self._headers,
            auth=self._auth,
            allowed_hosts=allowed,
            timeout=self._timeout,
            max_retries=self._max_retries,
            secrets=self._secrets,
        )
        self._base_url = base_url
        self._description = _describe(document)
        self._build(document)

    def _build(self, document: Document) -> None:
        data = document.data
        builder = OperationBuilder(
            self._namespace, data, SchemaTable(data), hidden=self._hidden_parameters()
        )
        taken: set[str] = set()
        tools: list[Tool] = []
        plans: dict[str, tuple[Tool, Plan]] = {}
        skipped: list[tuple[str, str]] = []
        for path, item in data["paths"].items():
            item = deref(data, item)
            if not isinstance(path, str) or not isinstance(item, Mapping):
                skipped.append((str(path), "the path item is not an object"))
                continue
            for method, op in item.items():
                if method not in HTTP_METHODS:
                    continue
                endpoint = f"{method.upper()} {path}"
                if not isinstance(op, Mapping):
                    skipped.append((endpoint, "the operation is not an object"))
                    continue
                op_id = op.get("operationId")
                name = op_id if isinstance(op_id, str) and op_id.strip() else None
                base = to_identifier(name or f"{method} {path}", snake_case=True)
                identifier, n = base, 1
                while identifier in taken:
                    n += 1
                    identifier = f"{base}_{n}"
                try:
                    tool, plan = builder.build(path, method, op, item, identifier, name or base)
                except Exception as exc:  # one odd operation must not cost the others
                    skipped.append((endpoint, f"{type(exc).__name__}: {exc}"))
                    continue
                taken.add(identifier)  # also when filtered out: numbering stays stable
                if self._include is not None and not self._include(tool):
                    continue
                tools.append(tool)
                plans[identifier] = (tool, plan)
        for endpoint, reason in skipped:
            logger.warning("OpenAPI source %r: skipped %s: %s", self._namespace, endpoint, reason)
        self._tools, self._plans, self.skipped = tuple(tools), plans, skipped

    def _hidden_parameters(self) -> dict[str, frozenset[str]]:
        """Parameters the host fills (auth, configured headers), by location."""
        headers = {h.lower() for h in self._headers}
        query: set[str] = set()
        cookie: set[str] = set()
        auth = self._auth
        if isinstance(auth, ApiKeyAuth):
            {"header": headers, "query": query, "cookie": cookie}[auth.location].add(
                auth.name.lower() if auth.location == "header" else auth.name
            )
        elif auth is not None:
            headers.add("authorization")
        return {
            "header": frozenset(headers),
            "query": frozenset(query),
            "cookie": frozenset(cookie),
        }

    # -- calls ------------------------------------------------------------------------

    def _entry(self, tool: Tool) -> tuple[Tool, Plan]:
        entry = self._plans.get(tool.identifier)
        if entry is None or entry[0].name != tool.name:
            raise ConfigError(f"tool {tool.qualified} does not belong to this source")
        return entry

    def caller(self, tool: Tool) -> Callable[[dict[str, Any]], Awaitable[Any]]:
        """The coroutine function performing `tool`'s calls, awaitable from any loop.

        It returns the decoded response and raises ToolError for a refused, failed or
        non-2xx request.
        """
        _, plan = self._entry(tool)
        qualified = tool.qualified

        async def call(arguments: dict[str, Any]) -> Any:
            async def run() -> Any:
                reply = await self._send(plan, arguments, qualified)
                return decode(reply, self._secrets)

            return await self._on_loop(run)

        call.__name__ = call.__qualname__ = tool.identifier
        return call

    def paginator(self, tool: Tool) -> Callable[[dict[str, Any], int], Awaitable[list[Any]]]:
        """The coroutine function `(arguments, max_pages) -> items` that follows the
        operation's pagination and collects every page's items (see `_openapi_paginate`).
        ToolError when the operation shows no sign of pagination."""
        _, plan = self._entry(tool)
        qualified = tool.qualified

        async def paginate(arguments: dict[str, Any], max_pages: int) -> list[Any]:
            async def run() -> list[Any]:
                first = build_request(plan, self._request_base(plan), arguments, qualified)
                last_url = first.url

                def page(reply: Reply) -> Page:
                    nonlocal last_url
                    last_url = str(reply.url)  # relative next-page URLs resolve against it
                    return decode(reply, self._secrets), reply.link

                async def fetch(args: dict[str, Any]) -> Page:
                    return page(await self._send(plan, args, qualified))

                async def follow(url: str) -> Page:
                    # a next-page URL carries the query; headers (and auth) are sent again
                    parts = RequestParts(
                        method="GET",
                        url=urljoin(last_url, url),
                        headers={k: v for k, v in first.headers.items() if k != "Content-Type"},
                    )
                    return page(await self._transmit(parts, True, qualified))

                return await collect(plan, arguments, max_pages, qualified, fetch, follow)

            return await self._on_loop(run)

        paginate.__name__ = paginate.__qualname__ = tool.identifier
        return paginate

    def _request_base(self, plan: Plan) -> str:
        if self._base_url is None:
            raise ToolError(f"OpenAPI source {self._namespace!r} is not started")
        return plan.server if plan.server and not self._base_url_arg else self._base_url

    async def _send(self, plan: Plan, arguments: dict[str, Any], qualified: str) -> Reply:
        parts = build_request(plan, self._request_base(plan), arguments, qualified)
        return await self._transmit(parts, plan.idempotent, qualified)

    async def _transmit(self, parts: RequestParts, idempotent: bool, qualified: str) -> Reply:
        transport = self._transport
        if transport is None:
            raise ToolError(f"OpenAPI source {self._namespace!r} is not started", tool=qualified)
        reply = await transport.send(parts, idempotent=idempotent, qualified=qualified)
        if not 200 <= reply.status < 300:
            raise status_error(reply, self._secrets, qualified)
        return reply

    # -- loop plumbing ----------------------------------------------------------------

    async def _on_loop(self, fn: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
        """Run `fn()` on the source's loop; cancelling the caller cancels it there."""
        with self._loop_lock:  # callers may arrive from several threads at once
            if self._loop_thread is None:
                self._loop_thread = EventLoopThread()
            thread = self._loop_thread
        loop = thread.loop
        if _running_loop() is loop:
            return await fn()
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(fn(), loop))

    async def aclose(self) -> None:
        """Close the HTTP connections (and the private loop thread). Idempotent; a later
        call opens new connections."""
        thread = self._loop_thread
        if thread is None:
            return
        transport = self._transport
        if transport is not None:
            with contextlib.suppress(RuntimeError):  # the loop may already be gone
                await self._on_loop(transport.aclose)
        if self._own_loop and _running_loop() is not thread.loop:
            with self._loop_lock:
                self._loop_thread = None
            await asyncio.to_thread(thread.close)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _header_secrets(headers: Mapping[str, str]) -> list[str]:
    """Configured header values (and the token of `Bearer <token>`), as secrets."""
    found: list[str] = []
    for name, value in headers.items():
        if name.lower() in _PUBLIC_HEADERS or name.lower().endswith("-version"):
            continue
        found.append(value)
        found += value.split()[1:]  # "Bearer abc" -> also "abc"
    return found


def _describe(document: Document) -> str:
    info = document.data.get("info")
    if not isinstance(info, Mapping):
        return ""
    raw_title = info.get("title")
    title = raw_title if isinstance(raw_title, str) else ""
    text = clean_text(info["description"], 400) if isinstance(info.get("description"), str) else ""
    first = text.split("\n\n", 1)[0]
    for end in (". ", "! ", "? "):
        if end in first:
            first = first.split(end, 1)[0] + end.strip()
            break
    line = " ".join(f"{title.strip()}: {first}".split()).strip(": ") if first else title.strip()
    return line if len(line) <= 120 else line[:119].rstrip() + "…"
