"""The HTTP side of `codemode.sources.openapi`: sending, retrying, decoding, redacting.

One pooled `httpx.AsyncClient` per source. Each request is checked against the allowed
hosts (redirects too: only same-host redirects are followed, at most 5), authenticated
on the host, and retried when that is safe: idempotent methods on 429/502/503/504 and
connection failures, with exponential backoff and jitter, honouring `Retry-After`
(capped at 10 s per wait); other methods only when the connection failed before
anything was sent. Responses become plain values (JSON, text, None, or a small
description of binary content) with every secret the source knows replaced by
`[redacted]`. httpx stays in this module.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import httpx

from codemode.errors import ToolError
from codemode.sources._openapi_auth import (
    ApiKeyAuth,
    Auth,
    OAuth2ClientCredentials,
)
from codemode.sources._openapi_encode import RequestParts
from codemode.sources._openapi_ops import is_json_media

__all__ = ["REDACTED", "Reply", "Secrets", "Transport", "decode", "status_error"]

REDACTED = "[redacted]"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_WAIT = 10.0  # seconds, per retry wait
MAX_REDIRECTS = 5
MAX_BODY = 64 * 1024 * 1024  # a bigger response is refused rather than held in memory
EXCERPT = 300
_TEXT_MEDIA = re.compile(
    r"^(text/|application/(xml|javascript|ecmascript|yaml|x-yaml|x-ndjson|"
    r"x-www-form-urlencoded|graphql|sql|csv)$|.*\+xml$|.*\+yaml$)"
)
_ERROR_FIELDS = ("message", "error_description", "error", "detail", "title", "errors", "msg")
_TAGS = re.compile(r"<[^>]{0,200}>")
_LINK = re.compile(r"<([^>]*)>([^<]*)")
_REL = re.compile(r'rel\s*=\s*(?:"([^"]*)"|([^\s;,]*))', re.IGNORECASE)


class Secrets:
    """The values no program may see, and their redaction from text and data."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._plain = True  # every secret survives JSON encoding unchanged
        self.add(*values)

    def add(self, *values: str) -> None:
        """Add secrets (shorter than 4 characters: not worth garbling text for)."""
        new = {v for v in values if isinstance(v, str) and len(v) >= 4} - self._values
        if not new:
            return
        self._values |= new
        ordered = sorted(self._values, key=len, reverse=True)  # longest first
        self._pattern = re.compile("|".join(re.escape(v) for v in ordered))
        self._plain = all(
            v.isascii() and v.isprintable() and not set(v) & set('"\\/') for v in self._values
        )

    def text(self, text: str) -> str:
        """`text` with every secret replaced by `[redacted]`."""
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(REDACTED, text)

    def value(self, value: Any, raw: str | None = None) -> Any:
        """A decoded JSON value with secrets redacted in every string (keys included).

        `raw` is the text it was decoded from: when no secret occurs in it (and JSON
        escaping cannot hide one), the walk is skipped.
        """
        if self._pattern is None:
            return value
        if raw is not None and self._plain and self._pattern.search(raw) is None:
            return value
        return self._walk(value)

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self._walk(v) for v in value]
        if isinstance(value, dict):
            return {self.text(k): self._walk(v) for k, v in value.items()}
        return value


@dataclass(frozen=True, kw_only=True)
class Reply:
    """A response that has been read completely."""

    status: int
    reason: str
    headers: httpx.Headers
    body: bytes
    url: httpx.URL
    method: str

    def link(self, rel: str) -> str | None:
        """The absolute URL of the `Link` header entry with relation `rel`, if any."""
        for value in self.headers.get_list("link"):
            # `<url>; rel="next", <url2>; rel="prev last"`: a URL may hold commas, so
            # entries are found by their `<...>`, not by splitting at commas
            for match in _LINK.finditer(value):
                rels = _REL.search(match.group(2))
                if rels and rel in (rels.group(1) or rels.group(2) or "").lower().split():
                    return str(self.url.join(match.group(1)))
        return None


class Transport:
    """Sends the requests of one source (one pooled client, on the source's loop)."""

    def __init__(
        self,
        *,
        headers: Mapping[str, str],
        auth: Auth | None,
        allowed_hosts: Iterable[str],
        timeout: float,
        max_retries: int,
        secrets: Secrets,
    ) -> None:
        self._headers = dict(headers)
        self._auth = auth
        self._allowed = frozenset(h.lower() for h in allowed_hosts)
        self._timeout = timeout
        self._max_retries = max_retries
        self._secrets = secrets
        self._client: httpx.AsyncClient | None = None
        self._token_lock: asyncio.Lock | None = None
        self.backoff = 0.5  # seconds before the first retry (doubling); tests lower it

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self._timeout, follow_redirects=False, trust_env=False
            )
        return self._client

    async def aclose(self) -> None:
        """Close the pooled connections (a later request opens new ones)."""
        client, self._client = self._client, None
        self._token_lock = None
        if client is not None:
            await client.aclose()

    def allowed(self, url: httpx.URL) -> bool:
        """Whether requests may go to `url`'s host."""
        host = url.host.lower()
        return url.scheme in ("http", "https") and (
            host in self._allowed or f"{host}:{url.port}" in self._allowed
        )

    # -- sending ----------------------------------------------------------------------

    async def send(self, parts: RequestParts, *, idempotent: bool, qualified: str) -> Reply:
        """Send one request (auth, retries, redirects); ToolError when it cannot be done."""
        url = httpx.URL(parts.url, params=parts.params) if parts.params else httpx.URL(parts.url)
        what = f"{parts.method} {url.path}"
        if not self.allowed(url):
            raise ToolError(
                f"{what}: refused, host {url.host!r} is not an allowed host of this API "
                f"(allowed: {', '.join(sorted(self._allowed)) or 'none'})",
                tool=qualified,
            )
        attempt = 0
        refreshed = False
        while True:
            token = await self._token(qualified) if self._oauth else None
            try:
                reply = await self._follow(parts, url, token, qualified)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                # Nothing was sent: safe to try again whatever the method.
                if attempt < self._max_retries:
                    attempt += 1
                    await asyncio.sleep(self._delay(attempt, None))
                    continue
                raise ToolError(
                    f"{what} failed: cannot connect to {url.host} ({type(exc).__name__})",
                    tool=qualified,
                ) from None
            except httpx.TimeoutException:
                raise ToolError(
                    f"{what} timed out after {self._timeout:g} s", tool=qualified
                ) from None
            except httpx.RemoteProtocolError as exc:
                if idempotent and attempt < self._max_retries:
                    attempt += 1
                    await asyncio.sleep(self._delay(attempt, None))
                    continue
                raise ToolError(
                    f"{what} failed: {self._secrets.text(str(exc)) or 'connection lost'}",
                    tool=qualified,
                ) from None
            except httpx.HTTPError as exc:
                detail = self._secrets.text(str(exc)) or type(exc).__name__
                raise ToolError(f"{what} failed: {detail}", tool=qualified) from None
            if reply.status == 401 and token is not None and not refreshed:
                assert isinstance(self._auth, OAuth2ClientCredentials)
                self._auth.invalidate(token)  # expired or revoked early: fetch a new one
                refreshed = True
                continue
            if reply.status in RETRY_STATUSES and idempotent and attempt < self._max_retries:
                attempt += 1
                await asyncio.sleep(self._delay(attempt, reply.headers.get("retry-after")))
                continue
            return reply

    @property
    def _oauth(self) -> bool:
        return isinstance(self._auth, OAuth2ClientCredentials)

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        """Seconds to wait before retry `attempt` (1-based)."""
        if retry_after is not None:
            wait = _retry_after(retry_after)
            if wait is not None:
                return min(wait, MAX_WAIT)
        base = min(self.backoff * 2.0 ** (attempt - 1), MAX_WAIT)
        return min(base * (0.5 + random.random() / 2) + base / 2, MAX_WAIT)

    def _authorize(
        self, parts: RequestParts, url: httpx.URL, token: str | None
    ) -> tuple[httpx.URL, dict[str, str]]:
        headers = {"User-Agent": "codemode", **self._headers, **parts.headers}
        auth = self._auth
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        elif isinstance(auth, ApiKeyAuth):
            if auth.location == "header":
                headers[auth.name] = auth.value
            elif auth.location == "query":
                url = url.copy_set_param(auth.name, auth.value)
            else:
                cookie = f"{auth.name}={auth.value}"
                headers["Cookie"] = (
                    f"{headers['Cookie']}; {cookie}" if "Cookie" in headers else cookie
                )
        elif auth is not None and not isinstance(auth, OAuth2ClientCredentials):
            headers.update(auth.headers())
        return url, headers

    async def _follow(
        self, parts: RequestParts, url: httpx.URL, token: str | None, qualified: str
    ) -> Reply:
        """One attempt, following same-host redirects."""
        method, content = parts.method, parts.content
        client = self._http()
        for _ in range(MAX_REDIRECTS + 1):
            sent_url, headers = self._authorize(parts, url, token)
            if content is None:
                headers.pop("Content-Type", None)
            request = client.build_request(method, sent_url, headers=headers, content=content)
            response = await client.send(request, stream=True)
            try:
                location = response.headers.get("location")
                if response.status_code in (301, 302, 303, 307, 308) and location:
                    target = url.join(location)
                    if (target.scheme, target.host, target.port) != (
                        url.scheme,
                        url.host,
                        url.port,
                    ):
                        shown = f"{target.scheme}://{target.host}{target.path}"
                        raise ToolError(
                            f"{parts.method} {url.path} -> {response.status_code} redirect to "
                            f"another host ({self._secrets.text(shown)}), not followed",
                            tool=qualified,
                        )
                    if response.status_code == 303 or (
                        response.status_code in (301, 302) and method == "POST"
                    ):
                        method, content = "GET", None  # what browsers (and httpx) do
                    url = target
                    continue
                body = await _read(response, qualified)
            finally:
                await response.aclose()
            return Reply(
                status=response.status_code,
                reason=response.reason_phrase or _phrase(response.status_code),
                headers=response.headers,
                body=body,
                url=url,
                method=parts.method,
            )
        raise ToolError(
            f"{parts.method} {parts.url.split('?')[0]}: more than {MAX_REDIRECTS} redirects",
            tool=qualified,
        )

    # -- OAuth 2 ----------------------------------------------------------------------

    async def _token(self, qualified: str) -> str:
        auth = self._auth
        assert isinstance(auth, OAuth2ClientCredentials)
        cached = auth.cached_token()
        if cached is not None:
            return cached
        if self._token_lock is None:
            self._token_lock = asyncio.Lock()
        async with self._token_lock:  # one fetch, however many calls are waiting
            cached = auth.cached_token()
            if cached is not None:
                return cached
            token, expires_in = await self._fetch_token(auth, qualified)
            self._secrets.add(token)
            auth.store(token, expires_in)
            return token

    async def _fetch_token(
        self, auth: OAuth2ClientCredentials, qualified: str
    ) -> tuple[str, float]:
        client = self._http()
        shown = auth.token_url.split("?", 1)[0]
        response: httpx.Response | None = None
        for in_body in (False, True):
            form, headers = auth.grant(in_body=in_body)
            headers["Accept"] = "application/json"
            try:
                response = await client.post(auth.token_url, data=form, headers=headers)
            except httpx.HTTPError as exc:
                raise ToolError(
                    f"OAuth2 token request to {shown} failed: {type(exc).__name__}",
                    tool=qualified,
                ) from None
            if response.status_code not in (400, 401):
                break
        assert response is not None
        if not response.is_success:
            excerpt = self._secrets.text(_excerpt(response.content, response.headers))
            raise ToolError(
                f"OAuth2 token request to {shown} -> {response.status_code} "
                f"{response.reason_phrase}: {excerpt}",
                tool=qualified,
            )
        try:
            data = response.json()
        except ValueError:
            data = dict(httpx.QueryParams(response.text))  # some endpoints answer form-encoded
        token = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise ToolError(
                f"OAuth2 token response from {shown} has no access_token", tool=qualified
            )
        try:
            expires_in = float(data.get("expires_in", 3600))
        except (TypeError, ValueError):
            expires_in = 3600.0
        return token, expires_in


async def _read(response: httpx.Response, qualified: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_BODY:
            raise ToolError(
                f"{response.request.method} {response.request.url.path}: the response is larger "
                f"than {MAX_BODY // 2**20} MB; refused",
                tool=qualified,
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _retry_after(value: str) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _media(headers: httpx.Headers) -> str:
    value: str = headers.get("content-type", "")
    return value.split(";", 1)[0].strip().lower()


def _charset(headers: httpx.Headers) -> str:
    match = re.search(r"charset=\"?([\w.:-]+)", headers.get("content-type", ""), re.IGNORECASE)
    return match.group(1) if match else "utf-8"


def _as_text(body: bytes, headers: httpx.Headers) -> str:
    try:
        return body.decode(_charset(headers), "replace")
    except LookupError:  # an unknown charset name
        return body.decode("utf-8", "replace")


def decode(reply: Reply, secrets: Secrets) -> Any:
    """The response as a plain value: parsed JSON, text, None, or a binary description."""
    if reply.status == 204 or not reply.body or reply.method == "HEAD":
        return None
    media = _media(reply.headers)
    textual = is_json_media(media) or bool(_TEXT_MEDIA.match(media))
    if not media:  # undeclared: text if it decodes cleanly
        try:
            reply.body.decode("utf-8")
            textual = b"\x00" not in reply.body
        except UnicodeDecodeError:
            textual = False
    if not textual:
        return {
            "type": "binary",
            "mime_type": secrets.text(media) or "application/octet-stream",
            "bytes": len(reply.body),
        }
    text = _as_text(reply.body, reply.headers)
    if is_json_media(media) or (not media and text.lstrip()[:1] in ("{", "[")):
        try:
            return secrets.value(json.loads(text), text)
        except ValueError:
            pass
    return secrets.text(text)


def _excerpt(body: bytes, headers: httpx.Headers) -> str:
    """A short account of an error body: its message field when JSON, else its text."""
    if not body:
        return "(empty body)"
    media = _media(headers)
    text = _as_text(body, headers)
    if is_json_media(media) or text.lstrip()[:1] in ("{", "["):
        try:
            found = _message(json.loads(text), 0)
        except ValueError:
            found = None
        if found:
            text = found
    elif media and not (media.startswith("text/") or _TEXT_MEDIA.match(media)):
        return f"({len(body)} bytes of {media})"
    elif "html" in media or text.lstrip()[:1] == "<":
        text = _TAGS.sub(" ", text)
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"


def _message(data: Any, depth: int) -> str | None:
    """The human-readable message of a JSON error body (`message`, `error.message`,
    `errors[0].message`, ...), or None."""
    if depth > 3:
        return None
    if isinstance(data, str):
        return data or None
    if isinstance(data, list):
        parts = [m for m in (_message(d, depth + 1) for d in data[:3]) if m]
        return "; ".join(parts) or None
    if not isinstance(data, dict):
        return None
    for key in _ERROR_FIELDS:
        if key in data:
            found = _message(data[key], depth + 1)
            if found:
                return found
    return json.dumps(data, ensure_ascii=False)[:EXCERPT] if depth == 0 else None


def status_error(reply: Reply, secrets: Secrets, qualified: str) -> ToolError:
    """The ToolError for a non-2xx response: `GET /path -> 404 Not Found: <excerpt>`."""
    excerpt = _excerpt(reply.body, reply.headers)
    message = f"{reply.method} {reply.url.path} -> {reply.status} {reply.reason}: {excerpt}"
    return ToolError(secrets.text(message), tool=qualified)
