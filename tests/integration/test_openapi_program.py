"""An OpenAPI source end to end: a real HTTP server on 127.0.0.1, a program that chains
list -> filter -> create with the credential injected by the host, and a canary showing
the credential reaches nothing a program can see."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from codemode import CodeMode
from codemode.sources.openapi import BearerAuth

CANARY = "canary-7f3a9c41d2e8b6a0"
PROJECT_ID = {"name": "project_id", "in": "path", "required": True, "schema": {"type": "integer"}}
ISSUE = {
    "type": "object",
    "required": ["title"],
    "properties": {"title": {"type": "string"}, "body": {"type": "string"}},
}

SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Tracker", "version": "1", "description": "A tiny issue tracker."},
    "paths": {
        "/projects": {
            "get": {
                "operationId": "listProjects",
                "summary": "List projects",
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/Project"},
                                }
                            }
                        },
                    }
                },
            }
        },
        "/projects/{project_id}/issues": {
            "post": {
                "operationId": "createIssue",
                "summary": "Open an issue in a project",
                "parameters": [
                    {
                        "name": "project_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer"},
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["title"],
                                "properties": {
                                    "title": {"type": "string"},
                                    "body": {"type": "string"},
                                },
                            }
                        }
                    },
                },
                "responses": {"201": {"description": "created"}},
            }
        },
        "/echo": {
            "get": {
                "operationId": "echoRequest",
                "summary": "Echo the request headers back (a leaky endpoint)",
                "responses": {"200": {"description": "ok"}},
            }
        },
        "/fail": {
            "get": {
                "operationId": "failLoudly",
                "summary": "Fail, quoting the Authorization header in the error",
                "responses": {"200": {"description": "ok"}},
            }
        },
    },
    "components": {
        "schemas": {
            "Project": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "name": {"type": "string"},
                    "active": {"type": "boolean"},
                },
            }
        }
    },
}


class _Tracker(BaseHTTPRequestHandler):
    created: ClassVar[list[dict[str, Any]]] = []

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self) -> bool:
        if self.headers.get("Authorization") == f"Bearer {CANARY}":
            return True
        self._send(401, {"message": "missing or bad token"})
        return False

    def do_GET(self) -> None:
        if not self._authorized():
            return
        if self.path == "/projects":
            self._send(
                200,
                [
                    {"id": 1, "name": "legacy", "active": False},
                    {"id": 2, "name": "web", "active": True},
                    {"id": 3, "name": "api", "active": True},
                ],
            )
        elif self.path == "/echo":
            self._send(200, {"headers": dict(self.headers.items())})
        elif self.path == "/fail":
            auth = self.headers.get("Authorization")
            self._send(403, {"message": f"token {auth} is not allowed here"})
        else:
            self._send(404, {"message": "no such thing"})

    def do_POST(self) -> None:
        if not self._authorized():
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        project = int(self.path.split("/")[2])
        issue = {"id": 100 + len(self.created), "project": project, **body}
        self.created.append(issue)
        self._send(201, issue)


@pytest.fixture
def tracker() -> Iterator[str]:
    _Tracker.created = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Tracker)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def cm(tracker: str) -> Iterator[CodeMode]:
    with CodeMode() as instance:
        instance.add_openapi("tracker", spec=SPEC, base_url=tracker, auth=BearerAuth(CANARY))
        instance.start()
        yield instance


def test_program_chains_list_filter_create_with_auth_injected(cm: CodeMode) -> None:
    code = (
        "projects = tracker.list_projects()\n"
        "active = [p for p in projects if p['active']]\n"
        "issue = tracker.create_issue(project_id=active[-1]['id'], title='Flaky deploy')\n"
        "{'active': [p['name'] for p in active], 'issue': issue}"
    )
    result = cm.execute(code)
    assert result.ok, result.error
    assert result.result["active"] == ["web", "api"]
    assert result.result["issue"]["project"] == 3
    assert [c.tool for c in result.tool_calls] == ["tracker.list_projects", "tracker.create_issue"]
    assert _Tracker.created == [{"id": 100, "project": 3, "title": "Flaky deploy"}]


PROBES = {
    "echoed headers": "tracker.echo_request()",
    "error quoting the header": "tracker.fail_loudly()",
    "caught error": (
        "try:\n    tracker.fail_loudly()\nexcept ToolError as e:\n    msg = str(e)\nmsg"
    ),
    "printed everything": "print(tracker.echo_request())\nprint(dir(tracker))\nprint(dir())",
    "help and stubs": "help(tracker)\nhelp(tracker.list_projects)",
    "search hits": "search('projects issues echo', limit=10)",
    "walking globals": (
        "seen = []\n"
        "for name in dir():\n"
        "    seen.append(name)\n"
        "for name in dir(tracker):\n"
        "    seen.append(str(getattr(tracker, name)))\n"
        "seen"
    ),
    "vars": "vars()",
    "globals": "globals()",
    "argument echo": "tracker.create_issue(project_id=1, title='x', body=str(dir(tracker)))",
    "bad call": "tracker.create_issue(project_id='nope', title=1)",
}


@pytest.mark.parametrize("probe", list(PROBES))
def test_the_credential_reaches_nothing_a_program_can_see(cm: CodeMode, probe: str) -> None:
    result = cm.execute(PROBES[probe], session="canary")
    everything = json.dumps(result.to_dict(), default=str)
    assert CANARY not in everything
    assert "Bearer" not in everything or "[redacted]" in everything
    assert CANARY not in cm.stubs("tracker")
    assert all(CANARY not in repr(t) for t in cm.tools("tracker"))
