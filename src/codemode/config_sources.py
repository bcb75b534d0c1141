"""The `codemode.toml` tables for trust and command tools: `[policy]`, `[secrets]`,
`[commands.NS.TOOL]`, a source's `policy` / `read_only`, and `[functions]` secrets.

Parsed here, applied by `codemode.config.Config.build`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from codemode.errors import ConfigError
from codemode.policy import Policy, PolicyValue, check_decision
from codemode.sources.functions import load_module, public_functions

if TYPE_CHECKING:
    from codemode.config import FunctionsConfig
    from codemode.core import CodeMode

__all__ = [
    "ENV_REF",
    "CommandConfig",
    "add_command",
    "add_functions",
    "commands_tables",
    "credential",
    "policy_table",
    "policy_value",
    "read_only_flag",
    "secrets_table",
]

ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_COMMAND_KEYS = {
    "command",
    "description",
    "parameters",
    "env",
    "cwd",
    "timeout",
    "stdin",
    "output",
    "check",
    "policy",
}


@dataclass(frozen=True, kw_only=True)
class CommandConfig:
    """A `[commands.NAMESPACE.TOOL]` table."""

    namespace: str
    name: str
    command: tuple[str, ...]
    description: str = ""
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    timeout: float = 60.0
    stdin: bool = False
    output: Literal["text", "json"] = "text"
    check: bool = True
    policy: str | None = None
    secrets: dict[str, str] = field(default_factory=dict)
    """Environment variables its env reads (`${VAR}`): they are scrubbed as secrets."""

    def __repr__(self) -> str:
        # env holds credentials: never print its values.
        return f"CommandConfig({self.namespace}.{self.name}, {self.command[:1]!r})"


def policy_table(where: str, table: Mapping[str, Any]) -> dict[str, str]:
    """`[policy]`: every rule checked (a bad decision names its key)."""
    try:
        Policy(table)
    except ConfigError as exc:
        raise ConfigError(f"{where}: [policy]: {exc}") from None
    return dict(table)


def policy_value(label: str, value: Any) -> PolicyValue | None:
    """A source table's `policy`: one decision, or a table of tool -> decision."""
    if value is None:
        return None
    try:
        if isinstance(value, dict):
            return {str(k): check_decision(v, f"policy.{k}") for k, v in value.items()}
        return check_decision(value, "policy")
    except ConfigError as exc:
        raise ConfigError(f"{label}: {exc}") from None


def read_only_flag(label: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{label}: 'read_only' must be true or false")
    return value


def secrets_table(
    where: str, table: Mapping[str, Any], expand: Callable[[str, str], str]
) -> dict[str, str]:
    """`[secrets]`: NAME = "value" (with `${VAR}` read from the environment)."""
    out: dict[str, str] = {}
    for name, value in table.items():
        label = f"{where}: [secrets] {name}"
        if not isinstance(value, str) or not value:
            raise ConfigError(f'{label} must be a non-empty string, such as "${{{name}}}"')
        out[name] = expand(label, value)
    return out


def credential(*values: Any) -> dict[str, str]:
    """The environment variables `${VAR}` in these raw credential values (strings, or
    tables of them) refer to, with their values: they are scrubbed as secrets."""
    found: dict[str, str] = {}
    stack = list(values)
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, str):
            for name in ENV_REF.findall(value):
                if os.environ.get(name):
                    found[name] = os.environ[name]
    return found


def commands_tables(
    where: str, tables: Mapping[str, Any], expand: Callable[[str, str], str]
) -> tuple[CommandConfig, ...]:
    """`[commands.NAMESPACE.TOOL]` tables (`expand` reads `${VAR}` in their env)."""
    out = []
    for namespace, tools in tables.items():
        if not isinstance(tools, dict):
            raise ConfigError(
                f"{where}: [commands.{namespace}] must hold [commands.{namespace}.TOOL] tables"
            )
        for name, table in tools.items():
            label = f"{where}: [commands.{namespace}.{name}]"
            out.append(_command(label, namespace, name, table, expand))
    return tuple(out)


def _command(
    label: str, namespace: str, name: str, table: Any, expand: Callable[[str, str], str]
) -> CommandConfig:
    if not isinstance(table, dict):
        raise ConfigError(f"{label} must be a table with a 'command' list")
    unknown = sorted(set(table) - _COMMAND_KEYS)
    if unknown:
        raise ConfigError(
            f"{label}: unknown key(s) {', '.join(unknown)}; "
            f"expected {', '.join(sorted(_COMMAND_KEYS))}"
        )
    command = table.get("command")
    if (
        not isinstance(command, list)
        or not command
        or not all(isinstance(a, str | int | float) for a in command)
    ):
        raise ConfigError(f"{label}: 'command' must be a non-empty list of strings (argv)")
    env = table.get("env", {})
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        raise ConfigError(f"{label}: 'env' must be a table of strings")
    parameters = table.get("parameters", {})
    if not isinstance(parameters, dict) or not all(
        isinstance(v, dict) for v in parameters.values()
    ):
        raise ConfigError(f"{label}: 'parameters' must be a table of JSON Schema tables")
    timeout = table.get("timeout", 60.0)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ConfigError(f"{label}: 'timeout' must be a positive number of seconds")
    output = table.get("output", "text")
    if output not in ("text", "json"):
        raise ConfigError(f'{label}: \'output\' must be "text" or "json"')
    for key in ("stdin", "check"):
        if key in table and not isinstance(table[key], bool):
            raise ConfigError(f"{label}: {key!r} must be true or false")
    for key in ("description", "cwd"):
        if key in table and not isinstance(table[key], str):
            raise ConfigError(f"{label}: {key!r} must be a string")
    policy = table.get("policy")
    if policy is not None:
        try:
            check_decision(policy, "policy")
        except ConfigError as exc:
            raise ConfigError(f"{label}: {exc}") from None
    return CommandConfig(
        namespace=namespace,
        name=name,
        command=tuple(str(a) for a in command),
        description=table.get("description", ""),
        parameters={k: dict(v) for k, v in parameters.items()},
        env={k: expand(f"{label} env.{k}", v) for k, v in env.items()},
        secrets=credential(env),
        cwd=table.get("cwd"),
        timeout=float(timeout),
        stdin=table.get("stdin", False),
        output=output,
        check=table.get("check", True),
        policy=policy,
    )


def add_functions(cm: CodeMode, table: FunctionsConfig, base: Path) -> None:
    """Register a `[functions.NS]` table's functions on `cm`."""
    module = load_module(table.module, base_dir=base)
    doc = (module.__doc__ or "").strip()
    cm.add_functions(
        table.namespace,
        public_functions(module, table.functions),
        description=table.description or doc.split("\n\n")[0].replace("\n", " "),
        policy=table.policy,
        secrets=table.secrets or None,
    )


def add_command(cm: CodeMode, command: CommandConfig, base: Path) -> None:
    """Register a `[commands.NS.TOOL]` table on `cm`."""
    cwd = command.cwd
    if cwd is not None and not Path(cwd).is_absolute():
        cwd = str(base / cwd)
    cm.add_command(
        command.namespace,
        command.name,
        command.command,
        description=command.description,
        parameters=command.parameters or None,
        env=command.env or None,
        cwd=cwd,
        timeout=command.timeout,
        stdin=command.stdin,
        output=command.output,
        check=command.check,
        policy=command.policy,
    )
