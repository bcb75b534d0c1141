"""Credentials: kept on the host, injected by the bridge, scrubbed from what comes back.

One mechanism serves every source. A secret has a name and a value, from the
environment (`NAME`, or another variable) or from configuration:

```python
cm = CodeMode(secrets={"GITHUB_TOKEN": "ghp_..."})   # or cm.add_secret("GITHUB_TOKEN")
cm.add_openapi("github", spec=..., headers={"Authorization": "Bearer ${secret:GITHUB_TOKEN}"})
cm.add_mcp("tickets", command="tickets-mcp", env={"API_KEY": "${secret:TICKETS_KEY}"})
cm.add_command("ops", "deploy", ["deploy", "{service}"], env={"TOKEN": "${secret:DEPLOY}"})
cm.add_function(create_issue, namespace="gh", secrets={"token": "GITHUB_TOKEN"})
```

`${secret:NAME}` is replaced on the host where a source takes a credential (MCP `env`
and `headers`, OpenAPI `headers`, command `env` and arguments); a function's
`secrets={"param": "NAME"}` fills that parameter on every call, hidden from the program.
Programs never see a value: the sandbox has no environment, and every value crossing
back into it — tool results, errors, log lines, discovery output — has each secret
value (and its URL-encoded, base64 and JSON-escaped forms) replaced by
`[REDACTED:NAME]`, so even a tool that echoes its credential cannot leak it.
"""

from __future__ import annotations

import base64
import json
import os
import re
import threading
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import quote

from codemode.catalog import Logged
from codemode.errors import ConfigError

__all__ = ["SECRET_REFERENCE", "Secrets"]

SECRET_REFERENCE: Final = re.compile(r"\$\{secret:([A-Za-z_][A-Za-z0-9_]*)\}")
"""`${secret:NAME}` in a credential string."""

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Secrets:
    """Named secret values of one `CodeMode`, and the scrubbing of their values."""

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self._values: dict[str, str] = {}
        self._lock = threading.Lock()
        self._pattern: re.Pattern[str] | None = None
        self._names: dict[str, str] = {}  # each scrubbed form -> its secret's name
        for name, value in (values or {}).items():
            self.add(name, value)

    def __repr__(self) -> str:
        return f"Secrets({', '.join(sorted(self._values))})"

    def __bool__(self) -> bool:
        return bool(self._values)

    def add(self, name: str, value: str | None = None, *, env: str | None = None) -> None:
        """Add (or replace) the secret `name`: `value`, else the environment variable
        `env` (default: `name`), read now."""
        if not isinstance(name, str) or not _NAME.match(name):
            raise ConfigError(f"a secret's name is an identifier like GITHUB_TOKEN, not {name!r}")
        if value is None:
            variable = env or name
            value = os.environ.get(variable)
            if value is None:
                raise ConfigError(f"secret {name}: the environment variable {variable} is not set")
        if not isinstance(value, str) or not value:
            raise ConfigError(f"secret {name}: the value must be a non-empty string")
        with self._lock:
            self._values[name] = value
            self._pattern = None

    def names(self) -> list[str]:
        """The secrets' names, sorted (never their values)."""
        return sorted(self._values)

    def get(self, name: str) -> str:
        """The value of `name`; a name not added is read from the environment variable
        of that name (and kept, so it is scrubbed from then on)."""
        value = self._values.get(name)
        if value is None:
            if name not in os.environ:
                raise ConfigError(
                    f"unknown secret {name!r}: add it (CodeMode(secrets=...), add_secret, "
                    f"[secrets] in codemode.toml) or set the environment variable {name}"
                )
            self.add(name)
            value = self._values[name]
        return value

    def expand(self, text: str) -> str:
        """`text` with every `${secret:NAME}` replaced by the secret's value."""
        if "${secret:" not in text:
            return text
        return SECRET_REFERENCE.sub(lambda m: self.get(m.group(1)), text)

    def expand_all(self, values: Mapping[str, str] | None) -> dict[str, str] | None:
        """`expand` on every value of a mapping (None stays None)."""
        if values is None:
            return None
        return {key: self.expand(value) for key, value in values.items()}

    # -- scrubbing ----------------------------------------------------------------------

    def scrub(self, value: Any) -> Any:
        """`value` with every secret value in it (in any string, at any depth, keys too)
        replaced by `[REDACTED:NAME]`. Returns `value` itself when nothing matched."""
        if not self._values:
            return value
        pattern = self._compiled()
        if not isinstance(value, str):
            # Most values hold no secret: looking for each form in their JSON text (where
            # a string appears JSON-escaped, one of the forms) says so at C speed, where
            # walking them in Python costs ~20 ms per MB.
            try:
                text = json.dumps(value, ensure_ascii=False)
            except (TypeError, ValueError):
                pass
            else:
                if not any(form in text for form in self._names):
                    return value
        return _scrub(value, pattern, self._names)

    def scrub_text(self, text: str) -> str:
        """`scrub` for one string."""
        if not self._values:
            return text
        scrubbed: str = _scrub(text, self._compiled(), self._names)
        return scrubbed

    def _compiled(self) -> re.Pattern[str]:
        pattern = self._pattern
        if pattern is None:
            with self._lock:
                names: dict[str, str] = {}
                for name, value in self._values.items():
                    for form in _forms(value):
                        names.setdefault(form, name)
                ordered = sorted(names, key=len, reverse=True)
                pattern = re.compile("|".join(re.escape(form) for form in ordered))
                self._names, self._pattern = names, pattern
        return pattern


def _forms(value: str) -> set[str]:
    """The ways a value commonly appears in text: as is, URL-encoded, base64 (both
    alphabets, unpadded) and JSON-escaped."""
    raw = value.encode()
    forms = {
        value,
        quote(value, safe=""),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        json.dumps(value)[1:-1],
    }
    return {form for form in forms if form}


def _scrub(value: Any, pattern: re.Pattern[str], names: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        if pattern.search(value) is None:
            return value
        return pattern.sub(lambda m: f"[REDACTED:{names.get(m.group(0), 'secret')}]", value)
    if isinstance(value, dict):
        pairs = [(_scrub(k, pattern, names), _scrub(v, pattern, names)) for k, v in value.items()]
        if all(k is k0 and v is v0 for (k, v), (k0, v0) in zip(pairs, value.items(), strict=True)):
            return value
        return dict(pairs)
    if isinstance(value, list | tuple):
        items = [_scrub(v, pattern, names) for v in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, Logged):
        return Logged(
            _scrub(value.value, pattern, names),
            tuple(_scrub(line, pattern, names) for line in value.logs),
        )
    if isinstance(value, bytes):
        text = value.decode("utf-8", "replace")
        return _scrub(text, pattern, names).encode() if pattern.search(text) else value
    return value
