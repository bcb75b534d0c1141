"""`codemode.toml`: loading tools and limits, and clear errors for mistakes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codemode import ConfigError
from codemode.artifacts import FileArtifacts, StoreArtifacts
from codemode.config import load_config
from codemode.store.sqlite import SQLiteStore

TOOLS = '''
def double(x: int) -> int:
    """Double a number."""
    return 2 * x

def _private() -> None:
    pass

from os.path import join  # imported, so not a tool
'''


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "codemode.toml"
    path.write_text(text)
    return path


def test_functions_from_a_relative_file_and_limits(tmp_path: Path) -> None:
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "math_tools.py").write_text(TOOLS)
    config = load_config(
        write(
            tmp_path,
            '[functions.m]\nmodule = "tools/math_tools.py"\n[limits]\ntimeout = 7\n'
            "[sandbox]\nmax_workers = 2\n",
        )
    )
    assert config.limits.timeout == 7
    with config.build() as cm:
        assert [t.identifier for t in cm.tools()] == ["double"]
        assert cm.execute("m.double(x=21)").result == 42


def test_functions_from_a_module_with_a_selection(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            '[functions.ops]\nmodule = "codemode.examples.ops"\nfunctions = ["list_services"]\n',
        )
    )
    with config.build() as cm:
        assert [t.qualified for t in cm.tools()] == ["ops.list_services"]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[functions.m]\nmodule = 'missing.py'\n", "missing.py"),
        ("[functions.m]\n", "module"),
        ("[functions.m]\nmodule = 'codemode.examples.ops'\nfunctions = ['nope']\n", "nope"),
        ("[limits]\ntimeout = -1\n", "timeout"),
        ("[limits]\ntimout = 1\n", "timout"),
        ("[sandbox]\ntype_check = 'yes'\n", "type_check"),
        ("[plugins]\n", "unknown table"),
        ("[artifacts]\nttl = 0\n", "ttl"),
        ("[artifacts]\ndirectory = 'x'\n", "directory"),
        ("[artifacts]\ndir = 3\n", "dir"),
        ("[store]\nurl = 'mysql://x/y'\n", "unsupported store URL"),
        ("[store]\nproject = 'a/b'\n", "project must be"),
        ("[store]\nworkspace_max_files = 0\n", "positive"),
        ("[store]\ndatabase = 'x'\n", "unknown key 'database'"),
        ("[store]\nurl = '${CODEMODE_UNSET_VARIABLE}'\n", "CODEMODE_UNSET_VARIABLE"),
        ("[functions.search]\nmodule = 'codemode.examples.ops'\n", "rename"),
        ("this is not toml", "invalid TOML"),
    ],
)
def test_mistakes_are_config_errors(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        load_config(write(tmp_path, text)).build().close()


def test_artifacts_table(tmp_path: Path) -> None:
    text = "[artifacts]\ndir = 'store'\nttl = 60\nmax_bytes = 1000\n"
    config = load_config(write(tmp_path, text))
    assert config.artifacts_dir == tmp_path / "store"
    assert (config.artifact_policy.ttl, config.artifact_policy.max_bytes) == (60, 1000)
    with config.build() as cm:
        assert isinstance(cm.artifacts, FileArtifacts)
        assert cm.artifacts.policy.ttl == 60
        handle = cm.execute("artifacts.put('kept')").result
    assert (tmp_path / "store" / f"{handle}.json").read_text() == '"kept"'
    with load_config(write(tmp_path, "[artifacts]\nttl = 60\n")).build() as cm:
        assert isinstance(cm.artifacts, StoreArtifacts)  # in the store, under the policy
        assert cm.artifacts.policy.ttl == 60


def test_store_table(tmp_path: Path) -> None:
    db = tmp_path / "state" / "c.db"
    text = (
        f"[store]\nurl = 'sqlite:///{db}'\nproject = 'web'\nagent = 'triage'\n"
        "memory_profile = 'team'\nworkspace = 'shared'\nworkspace_max_files = 1\n"
    )
    config = load_config(write(tmp_path, text))
    with config.build() as cm:
        assert cm.state.scope == "web/triage"
        assert (cm.state.profile, cm.state.workspace_id) == ("team", "shared")
        assert cm.execute("memory.remember('kept')\nopen('a', 'w').write('1')").ok
        full = cm.execute("open('b', 'w').write('2')")
        assert full.error is not None
        assert "quota" in full.error.message
    store = SQLiteStore(db)
    try:
        assert [m.text for m in store.list_memories("team")] == ["kept"]
        assert store.read_file("shared", "a") == b"1"
    finally:
        store.close()


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "nope.toml")


def test_server_tables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CANARY_TOKEN", "s3cr3t-canary")
    config = load_config(
        write(
            tmp_path,
            '[servers.fs]\ncommand = "node"\nargs = ["server.js", "${CANARY_TOKEN}"]\n'
            'env = { TOKEN = "${CANARY_TOKEN}", PORT = 8 }\ncwd = "sub"\ntimeout = 5\n'
            '[servers.remote]\nurl = "http://127.0.0.1:9/mcp"\n'
            'headers = { Authorization = "Bearer ${CANARY_TOKEN}" }\n',
        )
    )
    fs, remote = config.servers
    assert (fs.namespace, fs.command, fs.args) == ("fs", "node", ("server.js", "s3cr3t-canary"))
    assert fs.env == {"TOKEN": "s3cr3t-canary", "PORT": "8"}
    assert fs.timeout == 5
    assert remote.headers == {"Authorization": "Bearer s3cr3t-canary"}
    assert "s3cr3t" not in repr(config)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('[servers.x]\ncommand = "a"\nurl = "http://h/mcp"\n', "either 'command'"),
        ("[servers.x]\nargs = []\n", "either 'command'"),
        ('[servers.x]\ncommand = "a"\nenv = { K = "${NOT_SET_ANYWHERE_42}" }\n', "NOT_SET"),
        ('[servers.x]\ncommand = "a"\ntransport = "carrier-pigeon"\n', "transport"),
        ('[servers.x]\ncommand = "a"\nretries = 3\n', "retries"),
        ('[servers.time]\ncommand = "a"\n', "rename"),
        (
            '[servers.ops]\ncommand = "a"\n[functions.ops]\nmodule = "codemode.examples.ops"\n',
            "declared twice",
        ),
    ],
)
def test_server_mistakes(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        load_config(write(tmp_path, text))


def test_mcp_servers_json_is_accepted_as_is(tmp_path: Path) -> None:
    path = tmp_path / "claude_desktop_config.json"
    path.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "server-filesystem": {"command": "npx", "args": ["-y", "pkg", "/data"]},
                    "memory": {"command": "npx", "args": ["-y", "@x/server-memory"]},
                    "remote": {"type": "streamable-http", "url": "http://127.0.0.1:1/mcp"},
                    "off": {"command": "x", "disabled": True},
                }
            }
        )
    )
    config = load_config(path)
    names = [(s.namespace, s.renamed_from) for s in config.servers]
    assert names == [
        ("server_filesystem", "server-filesystem"),
        ("memory_tools", "memory"),
        ("remote", None),
    ]
    assert config.servers[2].transport == "http"


def test_bad_json_config(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text('{"servers": {}}')
    with pytest.raises(ConfigError, match="mcpServers"):
        load_config(path)


API = '[openapi.x]\nspec = "a.json"\n'


def test_openapi_tables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CANARY_TOKEN", "s3cr3t-canary")
    config = load_config(
        write(
            tmp_path,
            '[openapi.github]\nspec = "specs/github.json"\nbase_url = "https://api.github.com"\n'
            'auth = { type = "bearer", token = "${CANARY_TOKEN}" }\nallowed_hosts = ["x.io"]\n'
            '[openapi.shop]\nspec = "https://shop.example/openapi.yaml"\nauth = { type = "api_key",'
            ' name = "X-Key", value = "${CANARY_TOKEN}", in = "query" }\n',
        )
    )
    github, shop = config.openapi
    assert (github.namespace, github.spec) == ("github", "specs/github.json")
    assert github.allowed_hosts == ("x.io",)
    assert github.auth == {"type": "bearer", "token": "s3cr3t-canary"}
    assert shop.auth == {
        "type": "api_key",
        "name": "X-Key",
        "value": "s3cr3t-canary",
        "in": "query",
    }
    assert "s3cr3t" not in repr(config)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[openapi.x]\n", "'spec'"),
        (API + 'auth = { type = "magic" }\n', "type = one of"),
        (API + 'auth = { type = "bearer" }\n', "needs token"),
        (API + 'auth = { type = "basic", username = "u", password = "p", x = 1 }\n', "not take x"),
        (
            API + 'auth = { type = "api_key", name = "k", value = "v", in = "body" }\n',
            "header, query",
        ),
        (API + 'base_url = "api.example.com"\n', "base_url"),
        (API + "retries = 2\n", "retries"),
        (API.replace(".x]", ".ops]") + '[functions.ops]\nmodule = "m"\n', "declared twice"),
    ],
)
def test_openapi_mistakes(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        load_config(write(tmp_path, text))
