"""`codemode.toml`: the tools, limits and options of a deployment, in one file.

```toml
[servers.fs]                        # an upstream MCP server over stdio, namespace "fs"
command = "npx"
args = ["-y", "@modelcontextprotocol/server-filesystem", "/data"]
env = { API_TOKEN = "${API_TOKEN}" }  # ${VAR} is read from the environment at load time

[servers.tickets]                   # ... or over streamable HTTP (url ending in /sse: SSE)
url = "https://tickets.example/mcp"
headers = { Authorization = "Bearer ${TICKETS_TOKEN}" }

[openapi.github]                    # every operation of an OpenAPI document, namespace "github"
spec = "specs/github.json"          # a path (relative to this file), an URL; JSON or YAML
base_url = "https://api.github.com" # default: the document's first server
auth = { type = "bearer", token = "${GITHUB_TOKEN}" }
# auth = { type = "api_key", name = "X-API-Key", value = "${KEY}", in = "header" }  # or query
# auth = { type = "basic", username = "me", password = "${PASSWORD}" }
# auth = { type = "oauth2_client_credentials", token_url = "...", client_id = "...",
#          client_secret = "${SECRET}", scopes = ["read"] }

[functions.ops]                     # namespace "ops"
module = "mypkg.ops"                # a module, or a path to a .py file (relative to this file)
functions = ["search_logs"]         # optional: only these (default: every public function)
secrets = { token = "OPS_TOKEN" }   # parameter -> secret, filled in on the host, hidden

[commands.git.log]                  # a command-line program as the tool git.log
command = ["git", "log", "-n", "{count}", "--oneline"]   # argv, never a shell
parameters = { count = { type = "integer" } }            # {placeholders} are parameters
env = { GIT_TOKEN = "${secret:GIT_TOKEN}" }              # optional; also cwd, timeout,
                                                         # stdin, output = "json", check

[secrets]                           # credentials sources reference as ${secret:NAME}
OPS_TOKEN = "${OPS_TOKEN}"          # programs never see them; results are scrubbed

[policy]                            # allow | deny | approve | approve_run, per tool or pattern
"github.*" = "allow"
"github.delete_repo" = "deny"
"fs.write_file" = "approve"         # the program pauses until `codemode approve ID`
# Each source table also takes policy = "approve" (or a table tool -> decision) and
# read_only = true (only tools marked read-only may run). Tools marked destructive
# (MCP destructiveHint, HTTP DELETE) need approval unless a rule says otherwise.

[limits]                            # any field of codemode.Limits
timeout = 10

[sandbox]
type_check = false                  # also run the full type checker before each program
max_workers = 4
session_ttl = 86400

[store]                             # durable state: sessions, artifacts, workspace, library, memory
url = "sqlite:////var/lib/codemode/codemode.db"   # default: <data dir>/codemode.db
# url = "postgresql://codemode:${PGPASSWORD}@db.internal:5432/codemode"  # shared by machines
project = "default"                 # library scope, default workspace and memory profile:
agent = "default"                   #   project/agent
memory_profile = "team-notes"       # share memories with other agents (default: project/agent)
workspace = "shared"                # the /workspace programs see (default: project/agent)
workspace_max_bytes = 104857600     # quota per workspace
workspace_max_files = 10000

[artifacts]                         # values too big to return, kept by id
dir = "artifacts"                   # default: in the store; a folder, relative to this file
ttl = 86400                         # seconds an artifact is kept
max_bytes = 536870912               # total kept; the oldest are evicted beyond it
max_artifact_bytes = 67108864       # the largest single artifact
```

A Claude-Desktop / Cursor style JSON file (`{"mcpServers": {"name": {...}}}`) is accepted
as-is: server names become namespaces (`server-fs` -> `server_fs`), and a name that would
shadow a sandbox global (`memory`, `time`, ...) gets a `_tools` suffix.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codemode.artifacts import ArtifactPolicy, FileArtifacts
from codemode.catalog import RESERVED_NAMES, check_namespace, to_identifier
from codemode.config_sources import (
    SERVER_KEYS,
    CommandConfig,
    FunctionsConfig,
    OpenAPIConfig,
    ServerConfig,
    add_command,
    add_functions,
    commands_tables,
    expand,
    functions_tables,
    openapi_table,
    policy_table,
    secrets_table,
    section,
    server_table,
)
from codemode.core import CodeMode
from codemode.errors import ConfigError
from codemode.limits import Limits
from codemode.state import check_scope_part
from codemode.store import Quota

__all__ = ["Config", "FunctionsConfig", "ServerConfig", "data_dir", "load_config"]

_TOP_LEVEL = {
    "artifacts",
    "commands",
    "functions",
    "limits",
    "openapi",
    "policy",
    "sandbox",
    "secrets",
    "servers",
    "store",
}
_STORE_KEYS: dict[str, type] = {
    "url": str,
    "project": str,
    "agent": str,
    "memory_profile": str,
    "workspace": str,
    "workspace_max_bytes": int,
    "workspace_max_files": int,
}
_SANDBOX_KEYS: dict[str, type | tuple[type, ...]] = {
    "type_check": bool,
    "max_workers": int,
    "session_ttl": (int, float),
}


@dataclass(frozen=True, kw_only=True)
class Config:
    """A parsed configuration file."""

    path: Path | None = None
    """The file it came from (relative module paths resolve against its folder)."""
    functions: tuple[FunctionsConfig, ...] = ()
    servers: tuple[ServerConfig, ...] = ()
    openapi: tuple[OpenAPIConfig, ...] = ()
    limits: Limits = dataclasses.field(default_factory=Limits)
    type_check: bool = False
    max_workers: int | None = None
    session_ttl: float = 86400.0
    artifacts_dir: Path | None = None
    """Where artifacts are kept (None: in the store)."""
    artifact_policy: ArtifactPolicy = dataclasses.field(default_factory=ArtifactPolicy)
    store_url: str | None = None
    """The `[store] url` (None: SQLite in the data dir)."""
    project: str = "default"
    agent: str = "default"
    memory_profile: str | None = None
    workspace: str | None = None
    workspace_quota: Quota = dataclasses.field(default_factory=Quota)
    commands: tuple[CommandConfig, ...] = ()
    policy: dict[str, str] = dataclasses.field(default_factory=dict)
    """`[policy]`: tool or pattern -> decision."""
    secrets: dict[str, str] = dataclasses.field(default_factory=dict)
    """`[secrets]`, plus every `${VAR}` a source's credentials (env, headers, auth) read."""

    def __repr__(self) -> str:
        return f"Config({self.path!s}, secrets={sorted(self.secrets)})"

    def build(self) -> CodeMode:
        """A `CodeMode` with every configured tool registered."""
        artifacts = (
            FileArtifacts(self.artifacts_dir, self.artifact_policy)
            if self.artifacts_dir is not None
            else self.artifact_policy
        )
        cm = CodeMode(
            limits=self.limits,
            type_check=self.type_check,
            max_workers=self.max_workers,
            session_ttl=self.session_ttl,
            artifacts=artifacts,
            store=self.store_url,
            project=self.project,
            agent=self.agent,
            memory_profile=self.memory_profile,
            workspace=self.workspace,
            workspace_quota=self.workspace_quota,
            policy=self.policy,
            secrets=self.secrets,
        )
        base = self.path.parent if self.path else Path.cwd()
        try:
            for server in self.servers:
                cwd = server.cwd
                if cwd is not None and not Path(cwd).is_absolute():
                    cwd = str(base / cwd)
                cm.add_mcp(
                    server.namespace,
                    command=server.command,
                    args=server.args,
                    env=server.env or None,
                    cwd=cwd,
                    url=server.url,
                    headers=server.headers or None,
                    transport=server.transport,
                    connect_timeout=server.timeout,
                    policy=server.policy,
                    read_only=server.read_only,
                )
            for api in self.openapi:
                spec = api.spec
                if "://" not in spec and not Path(spec).is_absolute():
                    spec = str(base / spec)
                cm.add_openapi(
                    api.namespace,
                    spec=spec,
                    base_url=api.base_url,
                    headers=api.headers or None,
                    auth=api.make_auth(),
                    allowed_hosts=api.allowed_hosts,
                    timeout=api.timeout,
                    max_retries=api.max_retries,
                    policy=api.policy,
                    read_only=api.read_only,
                )
            for table in self.functions:
                add_functions(cm, table, base)
            for command in self.commands:
                add_command(cm, command, base)
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
    if file.suffix == ".json" or text.lstrip().startswith("{"):
        return _json_config(file, text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: invalid TOML: {exc}") from None
    return parse_config(data, path=file.resolve())


def _json_config(file: Path, text: str) -> Config:
    """A Claude-Desktop / Cursor style `{"mcpServers": {...}}` file, as-is."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{file}: invalid JSON: {exc}") from None
    servers = data.get("mcpServers") if isinstance(data, dict) else None
    if not isinstance(servers, dict):
        raise ConfigError(f'{file}: expected an object with an "mcpServers" object')
    out = []
    for name, entry in servers.items():
        label = f"{file}: mcpServers.{name}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{label} must be an object")
        if entry.get("disabled") is True:
            continue
        namespace = to_identifier(name)
        if namespace in RESERVED_NAMES or namespace.startswith("_"):
            namespace = namespace.strip("_") + "_tools"
        table = {k: v for k, v in entry.items() if k in SERVER_KEYS}
        kind = entry.get("type")
        if kind in ("http", "streamable-http", "streamableHttp"):
            table["transport"] = "http"
        elif kind == "sse":
            table["transport"] = "sse"
        server = server_table(label, namespace, table)
        if namespace != name:
            server = dataclasses.replace(server, renamed_from=name)
        out.append(server)
    return Config(path=file.resolve(), servers=tuple(out))


def parse_config(data: Mapping[str, Any], *, path: Path | None = None) -> Config:
    """Check an already-parsed configuration mapping."""
    where = str(path) if path else "config"
    unknown = sorted(set(data) - _TOP_LEVEL)
    if unknown:
        raise ConfigError(
            f"{where}: unknown table(s) {', '.join(unknown)}; "
            f"expected {', '.join(sorted(_TOP_LEVEL))}"
        )
    secrets = secrets_table(where, section(where, "secrets", data.get("secrets", {})), expand)
    functions = tuple(functions_tables(where, data.get("functions", {})))
    commands = commands_tables(where, section(where, "commands", data.get("commands", {})), expand)
    servers = tuple(
        server_table(f"{where}: [servers.{name}]", name, table)
        for name, table in section(where, "servers", data.get("servers", {})).items()
    )
    apis = tuple(
        openapi_table(f"{where}: [openapi.{name}]", name, table)
        for name, table in section(where, "openapi", data.get("openapi", {})).items()
    )
    for server in servers:
        secrets.update(server.secrets)
    for api in apis:
        secrets.update(api.secrets)
    for command in commands:
        secrets.update(command.secrets)
    taken: dict[str, str] = {}
    for kind, namespace in [
        *(("functions", f.namespace) for f in functions),
        *(("commands", c.namespace) for c in {c.namespace: c for c in commands}.values()),
        *(("server", s.namespace) for s in servers),
        *(("openapi", a.namespace) for a in apis),
    ]:
        check_namespace_or_config_error(where, namespace)
        if namespace in taken:
            raise ConfigError(
                f"{where}: namespace {namespace!r} is declared twice "
                f"(as {taken[namespace]} and as {kind})"
            )
        taken[namespace] = kind
    limits_table = section(where, "limits", data.get("limits", {}))
    try:
        limits = Limits.from_mapping(limits_table)
    except (ConfigError, TypeError) as exc:
        raise ConfigError(f"{where}: [limits]: {exc}") from None
    sandbox = section(where, "sandbox", data.get("sandbox", {}))
    for key, value in sandbox.items():
        expected = _SANDBOX_KEYS.get(key)
        if expected is None:
            raise ConfigError(
                f"{where}: [sandbox]: unknown key {key!r}; expected one of "
                f"{', '.join(sorted(_SANDBOX_KEYS))}"
            )
        if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
            raise ConfigError(f"{where}: [sandbox] {key} has the wrong type: {value!r}")
    store = _store(where, section(where, "store", data.get("store", {})))
    artifacts_dir, policy = _artifacts(
        where, section(where, "artifacts", data.get("artifacts", {}))
    )
    if artifacts_dir is not None and not artifacts_dir.is_absolute():
        artifacts_dir = (path.parent if path else Path.cwd()) / artifacts_dir
    return Config(
        path=path,
        functions=functions,
        servers=servers,
        openapi=apis,
        limits=limits,
        type_check=sandbox.get("type_check", False),
        max_workers=sandbox.get("max_workers"),
        session_ttl=float(sandbox.get("session_ttl", 86400.0)),
        artifacts_dir=artifacts_dir,
        artifact_policy=policy,
        commands=commands,
        policy=policy_table(where, section(where, "policy", data.get("policy", {}))),
        secrets=secrets,
        **store,
    )


def _store(where: str, table: dict[str, Any]) -> dict[str, Any]:
    """The `[store]` table, as `Config` fields."""
    label = f"{where}: [store]"
    for key, value in table.items():
        expected = _STORE_KEYS.get(key)
        if expected is None:
            raise ConfigError(
                f"{label}: unknown key {key!r}; expected one of {', '.join(sorted(_STORE_KEYS))}"
            )
        if not isinstance(value, expected) or isinstance(value, bool):
            raise ConfigError(f"{label} {key} must be a {expected.__name__}, got {value!r}")
    fields: dict[str, Any] = {}
    if "url" in table:
        fields["store_url"] = expand(f"{label} url", table["url"])
    for key in ("project", "agent"):
        if key in table:
            fields[key] = _config_checked(label, check_scope_part, table[key], key)
    for key in ("memory_profile", "workspace"):
        if key in table:
            if not table[key]:
                raise ConfigError(f"{label} {key} must not be empty")
            fields[key] = table[key]
    quota = {
        k.removeprefix("workspace_"): v for k, v in table.items() if k.startswith("workspace_")
    }
    if quota:
        try:
            fields["workspace_quota"] = Quota(**quota)
        except ConfigError as exc:
            raise ConfigError(f"{label}: {exc}") from None
    return fields


def _config_checked(label: str, check: Any, value: Any, what: str) -> Any:
    try:
        return check(value, what)
    except ConfigError as exc:
        raise ConfigError(f"{label}: {exc}") from None


def _artifacts(where: str, table: dict[str, Any]) -> tuple[Path | None, ArtifactPolicy]:
    """The `[artifacts]` table: `dir` and the fields of `ArtifactPolicy`."""
    label = f"{where}: [artifacts]"
    allowed = {"dir", "ttl", "max_bytes", "max_artifact_bytes"}
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(
            f"{label}: unknown key(s) {', '.join(unknown)}; expected {', '.join(sorted(allowed))}"
        )
    directory = table.get("dir")
    if directory is not None and (not isinstance(directory, str) or not directory):
        raise ConfigError(f"{label} dir must be a non-empty path string")
    try:
        policy = ArtifactPolicy(**{k: v for k, v in table.items() if k != "dir"})
    except ConfigError as exc:
        raise ConfigError(f"{label}: {exc}") from None
    return (Path(expand(f"{label} dir", directory)) if directory else None), policy


def check_namespace_or_config_error(where: str, namespace: str) -> None:
    """`check_namespace`, with the file named in the message."""
    try:
        check_namespace(namespace)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
