"""`codemode.toml`: the tools, limits and options of a deployment, in one file.

```toml
[functions.ops]                     # namespace "ops"
module = "mypkg.ops"                # a module, or a path to a .py file (relative to this file)
functions = ["search_logs"]         # optional: only these (default: every public function)

[limits]                            # any field of codemode.Limits
timeout = 10

[sandbox]
type_check = false                  # also run the full type checker before each program
max_workers = 4
session_ttl = 3600
```
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codemode.core import CodeMode
from codemode.errors import ConfigError
from codemode.limits import Limits
from codemode.sources.functions import load_module, public_functions

__all__ = ["Config", "FunctionsConfig", "data_dir", "load_config"]

_TOP_LEVEL = {"functions", "limits", "sandbox"}
_SANDBOX_KEYS: dict[str, type | tuple[type, ...]] = {
    "type_check": bool,
    "max_workers": int,
    "session_ttl": (int, float),
}


@dataclass(frozen=True, kw_only=True)
class FunctionsConfig:
    """A `[functions.NAMESPACE]` table."""

    namespace: str
    module: str
    functions: tuple[str, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class Config:
    """A parsed configuration file."""

    path: Path | None = None
    """The file it came from (relative module paths resolve against its folder)."""
    functions: tuple[FunctionsConfig, ...] = ()
    limits: Limits = dataclasses.field(default_factory=Limits)
    type_check: bool = False
    max_workers: int | None = None
    session_ttl: float = 3600.0

    def build(self) -> CodeMode:
        """A `CodeMode` with every configured tool registered."""
        cm = CodeMode(
            limits=self.limits,
            type_check=self.type_check,
            max_workers=self.max_workers,
            session_ttl=self.session_ttl,
        )
        base = self.path.parent if self.path else Path.cwd()
        try:
            for table in self.functions:
                module = load_module(table.module, base_dir=base)
                for fn in public_functions(module, table.functions):
                    cm.add_function(fn, namespace=table.namespace)
        except BaseException:
            cm.close()
            raise
        return cm


def data_dir() -> Path:
    """Where codemode keeps state on this machine: `$CODEMODE_HOME`, else
    `$XDG_DATA_HOME/codemode`, else `~/.local/share/codemode`. Not created here."""
    explicit = os.environ.get("CODEMODE_HOME")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
    return Path(base) / "codemode"


def load_config(path: str | Path) -> Config:
    """Read and check a `codemode.toml`. Every mistake is a `ConfigError` naming the key."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config {str(file)!r}: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: invalid TOML: {exc}") from None
    return parse_config(data, path=file.resolve())


def parse_config(data: Mapping[str, Any], *, path: Path | None = None) -> Config:
    """Check an already-parsed configuration mapping."""
    where = str(path) if path else "config"
    unknown = sorted(set(data) - _TOP_LEVEL)
    if unknown:
        raise ConfigError(
            f"{where}: unknown table(s) {', '.join(unknown)}; "
            f"expected {', '.join(sorted(_TOP_LEVEL))}"
        )
    functions = tuple(_functions(where, data.get("functions", {})))
    limits_table = _table(where, "limits", data.get("limits", {}))
    try:
        limits = Limits.from_mapping(limits_table)
    except (ConfigError, TypeError) as exc:
        raise ConfigError(f"{where}: [limits]: {exc}") from None
    sandbox = _table(where, "sandbox", data.get("sandbox", {}))
    for key, value in sandbox.items():
        expected = _SANDBOX_KEYS.get(key)
        if expected is None:
            raise ConfigError(
                f"{where}: [sandbox]: unknown key {key!r}; expected one of "
                f"{', '.join(sorted(_SANDBOX_KEYS))}"
            )
        if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
            raise ConfigError(f"{where}: [sandbox] {key} has the wrong type: {value!r}")
    return Config(
        path=path,
        functions=functions,
        limits=limits,
        type_check=sandbox.get("type_check", False),
        max_workers=sandbox.get("max_workers"),
        session_ttl=float(sandbox.get("session_ttl", 3600.0)),
    )


def _table(where: str, name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [{name}] must be a table")
    return value


def _functions(where: str, tables: Any) -> list[FunctionsConfig]:
    out = []
    for namespace, table in _table(where, "functions", tables).items():
        label = f"{where}: [functions.{namespace}]"
        if not isinstance(table, dict):
            raise ConfigError(f"{label} must be a table with a 'module' key")
        extra = sorted(set(table) - {"module", "path", "functions"})
        if extra:
            raise ConfigError(
                f"{label}: unknown key(s) {', '.join(extra)}; expected module, functions"
            )
        module = table.get("module", table.get("path"))
        if not isinstance(module, str) or not module:
            raise ConfigError(f"{label}: 'module' must name a module or a .py file")
        names = table.get("functions")
        if names is not None and (
            not isinstance(names, list) or not all(isinstance(n, str) for n in names)
        ):
            raise ConfigError(f"{label}: 'functions' must be a list of function names")
        out.append(
            FunctionsConfig(
                namespace=namespace,
                module=module,
                functions=tuple(names) if names is not None else None,
            )
        )
    return out
