"""Secrets: injected on the host, never observable from a program, for every source kind.

The canary is a fresh random value; each source is given it the way users give
credentials, and each tool then tries its best to hand it to the program (returning it,
raising it, logging it, printing it). Everything a program can read is checked.
"""

from __future__ import annotations

import base64
import json
import secrets
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from codemode import CodeMode, Limits
from codemode.config import load_config
from codemode.errors import ConfigError, ToolError
from codemode.secret import Secrets
from codemode.sources.openapi import BearerAuth

FIXTURE = str(Path(__file__).parent / "sources" / "mcp_fixture_server.py")


@pytest.fixture
def canary(monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh secret value, also in this process's environment as CANARY_TOKEN."""
    value = "canary-" + secrets.token_hex(16)
    monkeypatch.setenv("CANARY_TOKEN", value)
    return value


def observable(result: Any) -> str:
    """Everything a program and its caller see of an execution, as one text."""
    return json.dumps(result.to_dict(), ensure_ascii=False, default=str)


def assert_hidden(text: str, canary: str) -> None:
    forms = {canary, base64.b64encode(canary.encode()).decode().rstrip("=")}
    for form in forms:
        assert form not in text, f"secret leaked as {form!r}: {text[:2000]}"


class _EchoHandler(BaseHTTPRequestHandler):
    """Answers every request with the headers it received (a leaky API)."""

    def do_GET(self) -> None:
        body = json.dumps({"headers": dict(self.headers), "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_DELETE(self) -> None:
        body = f"cannot delete with {self.headers.get('Authorization')}".encode()
        self.send_response(403)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def echo_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def echo_spec(base_url: str) -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "echo", "version": "1"},
        "servers": [{"url": base_url}],
        "paths": {
            "/echo": {"get": {"operationId": "echo", "responses": {"200": {"description": "ok"}}}},
            "/thing": {
                "delete": {
                    "operationId": "remove",
                    "responses": {"204": {"description": "gone"}},
                }
            },
        },
    }


# -- the mechanism -------------------------------------------------------------------------


def test_scrub_replaces_every_form_at_any_depth() -> None:
    vault = Secrets({"API_KEY": "s3cr3t/value+1"})
    encoded = base64.b64encode(b"s3cr3t/value+1").decode().rstrip("=")
    value = {
        "s3cr3t/value+1": ["x s3cr3t/value+1 y", ("s3cr3t%2Fvalue%2B1",)],
        "b64": f"token={encoded}",
        "n": 3,
    }
    scrubbed = vault.scrub(value)
    assert scrubbed == {
        "[REDACTED:API_KEY]": ["x [REDACTED:API_KEY] y", ("[REDACTED:API_KEY]",)],
        "b64": "token=[REDACTED:API_KEY]",
        "n": 3,
    }
    untouched = {"a": ["b"]}
    assert vault.scrub(untouched) is untouched


def test_expand_reads_named_secrets_and_environment(canary: str) -> None:
    vault = Secrets({"ONE": "first-value"})
    assert vault.expand("Bearer ${secret:ONE}") == "Bearer first-value"
    # A name not added is read from the environment, and scrubbed from then on.
    assert vault.expand("${secret:CANARY_TOKEN}") == canary
    assert vault.scrub(f"x{canary}") == "x[REDACTED:CANARY_TOKEN]"
    assert vault.names() == ["CANARY_TOKEN", "ONE"]
    assert canary not in repr(vault)
    with pytest.raises(ConfigError, match="unknown secret 'NOPE_NOT_SET'"):
        vault.expand("${secret:NOPE_NOT_SET}")
    with pytest.raises(ConfigError, match="not set"):
        vault.add("MISSING", env="NOPE_NOT_SET")
    with pytest.raises(ConfigError, match="identifier"):
        vault.add("bad name", "v")


# -- the canary, for every source kind -----------------------------------------------------


def test_function_secret_is_injected_but_never_observable(canary: str) -> None:
    seen: list[str] = []

    def deploy(service: str, token: str) -> dict[str, str]:
        """Deploy a service (the token authenticates)."""
        seen.append(token)
        return {"service": service, "auth": f"Bearer {token}", "raw": token}

    def broken(token: str) -> str:
        """Fails, quoting its credential."""
        raise ToolError(f"rejected credential {token}")

    with CodeMode(store="memory://") as cm:
        cm.add_function(deploy, namespace="ops", secrets={"token": "CANARY_TOKEN"})
        cm.add_function(broken, namespace="ops", secrets={"token": "CANARY_TOKEN"})
        assert "token:" not in cm.stubs("ops")  # the parameter is hidden
        result = cm.execute(
            "r = ops.deploy(service='web')\n"
            "print(r, str(r))\n"
            "try:\n"
            "    ops.broken()\n"
            "except ToolError as e:\n"
            "    print('error:', e)\n"
            "help(ops.deploy)\n"
            "r"
        )
    assert result.ok, result.error
    assert seen == [canary]  # the function did get the real value
    assert result.result["raw"] == "[REDACTED:CANARY_TOKEN]"
    assert "error: rejected credential [REDACTED:CANARY_TOKEN]" in result.stdout
    assert_hidden(observable(result), canary)


def test_mcp_secret_reaches_the_server_env_but_never_the_program(canary: str) -> None:
    with CodeMode(store="memory://") as cm:
        cm.add_mcp(
            "fx",
            command=sys.executable,
            args=[FIXTURE],
            env={"API_TOKEN": "${secret:CANARY_TOKEN}"},
        )
        result = cm.execute(
            "value = fx.getenv(name='API_TOKEN')\n"
            "print('got', value)\n"
            "try:\n"
            "    fx.leak_env(name='API_TOKEN')\n"
            "except ToolError as e:\n"
            "    print('error:', e)\n"
            "value"
        )
        uncaught = cm.execute("fx.leak_env(name='API_TOKEN')")
    assert result.ok, result.error
    assert result.result == "[REDACTED:CANARY_TOKEN]"  # the server had the real value
    assert "error: Error executing tool leak_env: the secret is " in result.stdout
    assert_hidden(observable(result), canary)
    assert uncaught.error is not None
    assert uncaught.error.type == "ToolError"
    assert_hidden(observable(uncaught), canary)


def test_openapi_secret_header_and_auth_never_observable(canary: str, echo_api: str) -> None:
    with CodeMode(store="memory://", policy={"*": "allow"}) as cm:
        cm.add_openapi(
            "api",
            spec=echo_spec(echo_api),
            headers={"X-Api-Key": "${secret:CANARY_TOKEN}"},
        )
        cm.add_openapi("bearer", spec=echo_spec(echo_api), auth=BearerAuth(canary + "-b"))
        result = cm.execute(
            "a = api.echo()\n"
            "b = bearer.echo()\n"
            "print(a['headers'], b['headers'])\n"
            "try:\n"
            "    bearer.remove()\n"
            "except ToolError as e:\n"
            "    print('error:', e)\n"
            "[a['headers'].get('X-Api-Key'), b['headers'].get('Authorization')]"
        )
    assert result.ok, result.error
    key, auth = result.result
    # The source masks its own credentials; the bridge would catch any it missed.
    assert key is not None
    assert "redacted" in key.lower()
    assert auth is not None
    assert "redacted" in auth.lower()
    assert_hidden(observable(result), canary)


def test_command_secret_in_env_never_observable(canary: str) -> None:
    with CodeMode(store="memory://") as cm:
        cm.add_command(
            "sh",
            "show",
            ["sh", "-c", 'echo "token=$API_TOKEN"; echo "stderr $API_TOKEN" >&2'],
            env={"API_TOKEN": "${secret:CANARY_TOKEN}"},
        )
        cm.add_command(
            "sh",
            "fail",
            ["sh", "-c", 'echo "denied for $API_TOKEN" >&2; exit 3'],
            env={"API_TOKEN": "${secret:CANARY_TOKEN}"},
        )
        result = cm.execute(
            "out = sh.show()\n"
            "print(out)\n"
            "try:\n"
            "    sh.fail()\n"
            "except ToolError as e:\n"
            "    print('error:', e)\n"
            "out['stdout']"
        )
    assert result.ok, result.error
    assert result.result == "token=[REDACTED:CANARY_TOKEN]\n"
    assert "denied for [REDACTED:CANARY_TOKEN]" in result.stdout
    assert_hidden(observable(result), canary)


def test_program_cannot_read_the_environment(canary: str) -> None:
    with CodeMode(store="memory://") as cm:
        cm.add_secret("CANARY_TOKEN")
        result = cm.execute(
            "import os\n"
            "[os.getenv('CANARY_TOKEN'), os.environ.get('CANARY_TOKEN'), len(os.environ)]"
        )
    assert_hidden(observable(result), canary)
    if result.ok:
        assert result.result[:2] == [None, None]


def test_big_result_kept_as_artifact_is_scrubbed_too(canary: str) -> None:
    def dump(token: str) -> list[str]:
        """A big listing that mentions the credential everywhere."""
        return [f"row {i} {token}" for i in range(20_000)]

    with CodeMode(store="memory://", limits=Limits(tool_result_bytes=64 * 1024)) as cm:
        cm.add_function(dump, namespace="ops", secrets={"token": "CANARY_TOKEN"})
        result = cm.execute(
            "h = ops.dump()\nrows = artifacts.get(h['artifact'], 0, 3)\nprint(rows)\nh['bytes']"
        )
    assert result.ok, result.error
    assert result.result > 100_000  # it was spilled to an artifact
    assert "row 0 [REDACTED:CANARY_TOKEN]" in result.stdout
    assert_hidden(observable(result), canary)


def test_config_secrets_and_env_references_are_scrubbed(
    canary: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`${VAR}` in a source's credentials and `[secrets]` are both treated as secrets."""
    monkeypatch.setenv("OTHER_TOKEN", "other-" + secrets.token_hex(8))
    config = tmp_path / "codemode.toml"
    config.write_text(
        f"""
[store]
url = "memory://"

[secrets]
DEPLOY = "${{CANARY_TOKEN}}"

[servers.fx]
command = {json.dumps(sys.executable)}
args = [{json.dumps(FIXTURE)}]
env = {{ A = "${{secret:DEPLOY}}", B = "${{OTHER_TOKEN}}" }}

[commands.sh.show]
command = ["sh", "-c", "echo $T"]
env = {{ T = "${{secret:DEPLOY}}" }}

[commands.sh.other]
command = ["sh", "-c", "echo $U"]
env = {{ U = "${{OTHER_TOKEN}}" }}
"""
    )
    loaded = load_config(config)
    assert canary not in repr(loaded)
    with loaded.build() as cm:
        result = cm.execute(
            "[fx.getenv(name='A'), fx.getenv(name='B'), sh.show()['stdout'].strip(),"
            " sh.other()['stdout'].strip()]"
        )
    assert result.ok, result.error
    assert result.result == [
        "[REDACTED:DEPLOY]",
        "[REDACTED:OTHER_TOKEN]",
        "[REDACTED:DEPLOY]",
        "[REDACTED:OTHER_TOKEN]",
    ]
    assert_hidden(observable(result), canary)
