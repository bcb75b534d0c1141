"""Credentials for OpenAPI sources (re-exported by `codemode.sources.openapi`).

Every value here is a host-side secret: the objects never show them in a repr, the
source redacts them from everything a program receives, and the parameters they fill
(an `Authorization` header, an API-key query parameter) are hidden from the model.
`OAuth2ClientCredentials` fetches its access token itself (client credentials grant),
caches it until shortly before it expires and fetches a new one after a 401.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Sequence
from typing import Literal
from urllib.parse import quote

from codemode.errors import ConfigError

__all__ = ["ApiKeyAuth", "Auth", "BasicAuth", "BearerAuth", "OAuth2ClientCredentials"]

_EXPIRY_MARGIN = 30.0  # refresh a token this many seconds before it says it expires


def _text(kind: str, field: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{kind}: {field} must be a non-empty string")
    return value


class BearerAuth:
    """`Authorization: Bearer <token>` on every request."""

    __slots__ = ("_token",)

    def __init__(self, token: str) -> None:
        self._token = _text("BearerAuth", "token", token)

    def __repr__(self) -> str:
        return "BearerAuth(token='***')"

    def headers(self) -> dict[str, str]:
        """The headers this credential adds."""
        return {"Authorization": f"Bearer {self._token}"}

    def secrets(self) -> list[str]:
        """The values to redact."""
        return [self._token]


class ApiKeyAuth:
    """An API key sent as a header (default), a query parameter or a cookie."""

    __slots__ = ("_location", "_name", "_value")

    def __init__(
        self, name: str, value: str, location: Literal["header", "query", "cookie"] = "header"
    ) -> None:
        self._name = _text("ApiKeyAuth", "name", name)
        self._value = _text("ApiKeyAuth", "value", value)
        if location not in ("header", "query", "cookie"):
            raise ConfigError(
                f"ApiKeyAuth: location must be 'header', 'query' or 'cookie', not {location!r}"
            )
        self._location: Literal["header", "query", "cookie"] = location

    def __repr__(self) -> str:
        return f"ApiKeyAuth(name={self._name!r}, value='***', location={self._location!r})"

    @property
    def name(self) -> str:
        """The header, query parameter or cookie name."""
        return self._name

    @property
    def location(self) -> Literal["header", "query", "cookie"]:
        """Where the key goes."""
        return self._location

    @property
    def value(self) -> str:
        """The key (host-side only)."""
        return self._value

    def secrets(self) -> list[str]:
        """The values to redact (also URL-encoded, as a query string would carry it)."""
        return [self._value, quote(self._value, safe="")]


class BasicAuth:
    """HTTP Basic authentication."""

    __slots__ = ("_password", "_username")

    def __init__(self, username: str, password: str) -> None:
        self._username = _text("BasicAuth", "username", username)
        if not isinstance(password, str):
            raise ConfigError("BasicAuth: password must be a string")
        self._password = password

    def __repr__(self) -> str:
        return f"BasicAuth(username={self._username!r}, password='***')"

    def headers(self) -> dict[str, str]:
        """The headers this credential adds."""
        return {"Authorization": "Basic " + self._encoded()}

    def _encoded(self) -> str:
        return base64.b64encode(f"{self._username}:{self._password}".encode()).decode("ascii")

    def secrets(self) -> list[str]:
        """The values to redact: the password and the encoded pair."""
        return [v for v in (self._password, self._encoded()) if v]


class OAuth2ClientCredentials:
    """OAuth 2 client credentials: a token from `token_url`, sent as a bearer token.

    The token is fetched on first use, cached until `expires_in` (minus 30 s), and fetched
    again when the API answers 401 (once per request). The client authenticates to the
    token endpoint with HTTP Basic (RFC 6749 §2.3.1), falling back to credentials in the
    form body when the endpoint refuses that.
    """

    __slots__ = ("_client_id", "_client_secret", "_expires", "_lock", "_scopes", "_token", "_url")

    def __init__(
        self, token_url: str, client_id: str, client_secret: str, scopes: Sequence[str] = ()
    ) -> None:
        self._url = _text("OAuth2ClientCredentials", "token_url", token_url)
        if not self._url.startswith(("http://", "https://")):
            raise ConfigError("OAuth2ClientCredentials: token_url must be an http(s) URL")
        self._client_id = _text("OAuth2ClientCredentials", "client_id", client_id)
        self._client_secret = _text("OAuth2ClientCredentials", "client_secret", client_secret)
        if isinstance(scopes, str) or not all(isinstance(s, str) for s in scopes):
            raise ConfigError("OAuth2ClientCredentials: scopes must be a list of strings")
        self._scopes = tuple(scopes)
        self._token: str | None = None
        self._expires = 0.0
        self._lock = threading.Lock()  # the token may be shared by sources on other loops

    def __repr__(self) -> str:
        url = self._url.split("?", 1)[0]
        return (
            f"OAuth2ClientCredentials(token_url={url!r}, client_id={self._client_id!r}, "
            f"client_secret='***', scopes={list(self._scopes)!r})"
        )

    @property
    def token_url(self) -> str:
        """Where tokens come from."""
        return self._url

    def cached_token(self) -> str | None:
        """The current token, unless there is none or it is about to expire."""
        with self._lock:
            if self._token is not None and time.monotonic() < self._expires:
                return self._token
            return None

    def store(self, token: str, expires_in: float) -> None:
        """Remember a freshly fetched token."""
        with self._lock:
            self._token = token
            self._expires = time.monotonic() + max(expires_in - _EXPIRY_MARGIN, 1.0)

    def invalidate(self, token: str) -> None:
        """Forget `token` (the API refused it), unless another request replaced it."""
        with self._lock:
            if self._token == token:
                self._token, self._expires = None, 0.0

    def grant(self, *, in_body: bool) -> tuple[dict[str, str], dict[str, str]]:
        """(form fields, headers) of a token request, credentials in the body or as Basic."""
        form = {"grant_type": "client_credentials"}
        if self._scopes:
            form["scope"] = " ".join(self._scopes)
        if in_body:
            form |= {"client_id": self._client_id, "client_secret": self._client_secret}
            return form, {}
        pair = f"{quote(self._client_id, safe='')}:{quote(self._client_secret, safe='')}"
        return form, {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}

    def secrets(self) -> list[str]:
        """The values to redact (fetched tokens are added as they arrive)."""
        pair = f"{quote(self._client_id, safe='')}:{quote(self._client_secret, safe='')}"
        return [self._client_secret, base64.b64encode(pair.encode()).decode()]


Auth = BearerAuth | ApiKeyAuth | BasicAuth | OAuth2ClientCredentials
"""Any of the credentials an OpenAPI source accepts."""
