"""Where an execution's durable features live: one store, and the names that scope them.

The library is scoped per project and agent (`project/agent`), so every session of an
agent shares its saved functions; memory profiles and workspaces default to the same
scope and may be named to be shared by several agents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from codemode.errors import ConfigError
from codemode.store import Quota, Store

__all__ = ["DurableState", "check_scope_part"]

_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def check_scope_part(value: str, what: str) -> str:
    """`value` if it is a valid project or agent name, else a ConfigError."""
    if not isinstance(value, str) or not _PART.fullmatch(value):
        raise ConfigError(
            f"{what} must be 1-64 letters, digits, '_', '.' or '-' (starting with a letter "
            f"or digit), got {value!r}"
        )
    return value


@dataclass(frozen=True, kw_only=True)
class DurableState:
    """The store and scopes of the durable features (`library`, `memory`, `/workspace`)."""

    store: Store
    scope: str
    """`project/agent`: the library's scope."""
    memory_profile: str | None = None
    workspace: str | None = None
    quota: Quota = field(default_factory=Quota)

    @property
    def profile(self) -> str:
        """The memory profile programs use."""
        return self.memory_profile or self.scope

    @property
    def workspace_id(self) -> str:
        """The workspace programs see under /workspace."""
        return self.workspace or self.scope
