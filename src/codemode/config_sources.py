"""The `codemode.toml` tables that declare tools and what they may do: `[servers.NS]`,
`[openapi.NS]`, `[functions.NS]`, `[commands.NS.TOOL]`, `[secrets]` and `[policy]`.

Parsed and checked here (every mistake a `ConfigError` naming the key), applied by
`codemode.config.Config.build`.
"""

from __future__ import annotations

import dataclasses
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
    from codemode.core import CodeMode

__all__ = [
    "ENV_REF",
    "SERVER_KEYS",
    "CommandConfig",
    "FunctionsConfig",
    "OpenAPIConfig",
    "ServerConfig",
    "add_command",
    "add_functions",
    "commands_tables",
    "credential",
    "expand",
    "functions_tables",
    "openapi_table",
    "policy_table",
    "secrets_table",
    "section",
    "server_table",
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


_TRUST_KEYS = {"policy", "read_only"}
_FUNCTIONS_KEYS = {"module", "path", "functions", "description", "secrets", "policy"}
_OPENAPI_KEYS = {
    "spec",
    "base_url",
    "headers",
    "auth",
    "allowed_hosts",
    "timeout",
    "max_retries",
    *_TRUST_KEYS,
}
_AUTH_KEYS: dict[str, tuple[set[str], set[str]]] = {  # type -> (required, optional)
    "bearer": ({"token"}, set()),
    "api_key": ({"name", "value"}, {"in"}),
    "basic": ({"username", "password"}, set()),
    "oauth2_client_credentials": ({"token_url", "client_id", "client_secret"}, {"scopes"}),
}
SERVER_KEYS = {
    "command",
    "args",
    "env",
    "cwd",
    "url",
    "headers",
    "transport",
    "timeout",
    *_TRUST_KEYS,
}
Transport = Literal["stdio", "http", "sse"]
_TRANSPORTS: dict[str, Transport] = {"stdio": "stdio", "http": "http", "sse": "sse"}


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


@dataclass(frozen=True, kw_only=True)
class FunctionsConfig:
    """A `[functions.NAMESPACE]` table."""

    namespace: str
    module: str
    functions: tuple[str, ...] | None = None
    description: str | None = None
    """What the namespace is for, in one line (default: the module docstring's first line)."""
    secrets: dict[str, str] = dataclasses.field(default_factory=dict)
    """Parameter -> secret name, filled in on the host for every function that has it."""
    policy: PolicyValue | None = None


@dataclass(frozen=True, kw_only=True)
class ServerConfig:
    """A `[servers.NAMESPACE]` table (or one entry of `mcpServers`)."""

    namespace: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    transport: Transport | None = None
    timeout: float = 30.0
    """Seconds to wait for the server to start and list its tools."""
    renamed_from: str | None = None
    """The name in the file, when it had to change to become a namespace."""
    policy: PolicyValue | None = None
    read_only: bool = False
    secrets: dict[str, str] = dataclasses.field(default_factory=dict)
    """Environment variables its env and headers read: they are scrubbed as secrets."""

    def __repr__(self) -> str:
        # env, headers and args often hold credentials: never print their values.
        if self.url is not None:
            return f"ServerConfig({self.namespace!r}, url={self.url.split('?')[0]!r})"
        return f"ServerConfig({self.namespace!r}, command={self.command!r}, {len(self.args)} args)"


@dataclass(frozen=True, kw_only=True)
class OpenAPIConfig:
    """An `[openapi.NAMESPACE]` table."""

    namespace: str
    spec: str
    base_url: str | None = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    auth: dict[str, Any] | None = None
    """`{"type": "bearer" | "api_key" | "basic" | "oauth2_client_credentials", ...}`."""
    allowed_hosts: tuple[str, ...] | None = None
    timeout: float = 30.0
    max_retries: int = 3
    policy: PolicyValue | None = None
    read_only: bool = False
    secrets: dict[str, str] = dataclasses.field(default_factory=dict)
    """Environment variables its headers and auth read: they are scrubbed as secrets."""

    def __repr__(self) -> str:
        # headers and auth hold credentials: never print their values.
        return f"OpenAPIConfig({self.namespace!r}, spec={self.spec!r})"

    def make_auth(self) -> Any:
        """The auth object for `CodeMode.add_openapi` (None without an `auth` table)."""
        if self.auth is None:
            return None
        from codemode.sources import openapi

        kind, values = self.auth["type"], {k: v for k, v in self.auth.items() if k != "type"}
        if kind == "bearer":
            return openapi.BearerAuth(values["token"])
        if kind == "api_key":
            return openapi.ApiKeyAuth(values["name"], values["value"], values.get("in", "header"))
        if kind == "basic":
            return openapi.BasicAuth(values["username"], values["password"])
        return openapi.OAuth2ClientCredentials(
            values["token_url"],
            values["client_id"],
            values["client_secret"],
            tuple(values.get("scopes", ())),
        )


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


def section(where: str, name: str, value: Any) -> dict[str, Any]:
    """The top-level table `[name]`, checked to be a table."""
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [{name}] must be a table")
    return value


def functions_tables(where: str, tables: Any) -> list[FunctionsConfig]:
    out = []
    for namespace, table in section(where, "functions", tables).items():
        label = f"{where}: [functions.{namespace}]"
        table = keyed_table(label, table, _FUNCTIONS_KEYS)
        description = table.get("description")
        if description is not None and not isinstance(description, str):
            raise ConfigError(f"{label}: 'description' must be a string")
        module = table.get("module", table.get("path"))
        if not isinstance(module, str) or not module:
            raise ConfigError(f"{label}: 'module' must name a module or a .py file")
        names = table.get("functions")
        if names is not None and (
            not isinstance(names, list) or not all(isinstance(n, str) for n in names)
        ):
            raise ConfigError(f"{label}: 'functions' must be a list of function names")
        bound = table.get("secrets", {})
        if not isinstance(bound, dict) or not all(isinstance(v, str) for v in bound.values()):
            raise ConfigError(f"{label}: 'secrets' must be a table of parameter = secret name")
        out.append(
            FunctionsConfig(
                namespace=namespace,
                module=module,
                functions=tuple(names) if names is not None else None,
                description=description,
                secrets=dict(bound),
                policy=policy_value(label, table.get("policy")),
            )
        )
    return out


def expand(label: str, value: str) -> str:
    """Replace `${VAR}` with the environment variable's value (a missing one is an error).
    `${secret:NAME}` is left for `CodeMode` to fill in on the host."""

    def lookup(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise ConfigError(f"{label}: environment variable {name} is not set")
        return os.environ[name]

    return ENV_REF.sub(lookup, value)


def _strings(label: str, key: str, value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str | int | float) for k, v in value.items()
    ):
        raise ConfigError(f"{label}: {key!r} must be a table of strings")
    return {k: expand(f"{label} {key}.{k}", str(v)) for k, v in value.items()}


def keyed_table(label: str, table: Any, allowed: set[str]) -> dict[str, Any]:
    """`table`, checked to be a table whose keys are all in `allowed`."""
    if not isinstance(table, dict):
        raise ConfigError(f"{label} must be a table")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(
            f"{label}: unknown key(s) {', '.join(unknown)}; expected {', '.join(sorted(allowed))}"
        )
    return table


def _seconds(label: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"{label}: 'timeout' must be a positive number of seconds")
    return float(value)


def server_table(label: str, namespace: str, table: Any) -> ServerConfig:
    table = keyed_table(label, table, SERVER_KEYS)
    command, url = table.get("command"), table.get("url")
    if (command is None) == (url is None):
        raise ConfigError(f"{label}: give either 'command' (stdio) or 'url' (HTTP), not both")
    if command is not None and (not isinstance(command, str) or not command):
        raise ConfigError(f"{label}: 'command' must be a non-empty string")
    if url is not None and (not isinstance(url, str) or "://" not in url):
        raise ConfigError(f"{label}: 'url' must be an http(s) URL")
    args = table.get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, str | int | float) for a in args):
        raise ConfigError(f"{label}: 'args' must be a list of strings")
    transport = _TRANSPORTS.get(table.get("transport", ""))
    if table.get("transport") is not None and transport is None:
        raise ConfigError(f"{label}: 'transport' must be one of {', '.join(sorted(_TRANSPORTS))}")
    timeout = _seconds(label, table.get("timeout", 30.0))
    cwd = table.get("cwd")
    if cwd is not None and not isinstance(cwd, str):
        raise ConfigError(f"{label}: 'cwd' must be a path")
    return ServerConfig(
        namespace=namespace,
        command=expand(label, command) if command else None,
        args=tuple(expand(f"{label} args", str(a)) for a in args),
        env=_strings(label, "env", table.get("env", {})),
        cwd=cwd,
        url=expand(label, url) if url else None,
        headers=_strings(label, "headers", table.get("headers", {})),
        transport=transport,
        timeout=timeout,
        policy=policy_value(label, table.get("policy")),
        read_only=read_only_flag(label, table.get("read_only", False)),
        secrets=credential(table.get("env"), table.get("headers")),
    )


def openapi_table(label: str, namespace: str, table: Any) -> OpenAPIConfig:
    table = keyed_table(label, table, _OPENAPI_KEYS)
    spec = table.get("spec")
    if not isinstance(spec, str) or not spec:
        raise ConfigError(f"{label}: 'spec' must name an OpenAPI file or URL")
    base_url = table.get("base_url")
    if base_url is not None and (not isinstance(base_url, str) or "://" not in base_url):
        raise ConfigError(f"{label}: 'base_url' must be an http(s) URL")
    hosts = table.get("allowed_hosts")
    if hosts is not None and (
        not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts)
    ):
        raise ConfigError(f"{label}: 'allowed_hosts' must be a list of host names")
    timeout = _seconds(label, table.get("timeout", 30.0))
    retries = table.get("max_retries", 3)
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ConfigError(f"{label}: 'max_retries' must be a whole number")
    return OpenAPIConfig(
        namespace=namespace,
        spec=expand(label, spec),
        base_url=expand(label, base_url) if base_url else None,
        headers=_strings(label, "headers", table.get("headers", {})),
        auth=_auth(label, table.get("auth")),
        allowed_hosts=tuple(hosts) if hosts is not None else None,
        timeout=timeout,
        max_retries=retries,
        policy=policy_value(label, table.get("policy")),
        read_only=read_only_flag(label, table.get("read_only", False)),
        secrets=credential(table.get("headers"), table.get("auth")),
    )


def _auth(label: str, table: Any) -> dict[str, Any] | None:
    if table is None:
        return None
    if not isinstance(table, dict) or table.get("type") not in _AUTH_KEYS:
        raise ConfigError(
            f"{label}: 'auth' must be a table with type = one of {', '.join(_AUTH_KEYS)}"
        )
    kind = table["type"]
    required, optional = _AUTH_KEYS[kind]
    given = set(table) - {"type"}
    if missing := sorted(required - given):
        raise ConfigError(f"{label}: auth type {kind!r} needs {', '.join(missing)}")
    if extra := sorted(given - required - optional):
        raise ConfigError(f"{label}: auth type {kind!r} does not take {', '.join(extra)}")
    auth: dict[str, Any] = {"type": kind}
    for key in given:
        value = table[key]
        if key == "scopes":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{label}: auth 'scopes' must be a list of strings")
            auth[key] = value
        elif key == "in":
            if value not in ("header", "query", "cookie"):
                raise ConfigError(f"{label}: auth 'in' must be header, query or cookie")
            auth[key] = value
        elif not isinstance(value, str):
            raise ConfigError(f"{label}: auth {key!r} must be a string")
        else:
            auth[key] = expand(f"{label} auth.{key}", value)
    return auth
