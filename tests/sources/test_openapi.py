"""Tests of `codemode.sources.openapi`.

Three parts: loading the real OpenAPI documents in /work/shared/corpora (Cloudflare,
GitHub, Stripe) and small Swagger 2.0 / OpenAPI 3.1 documents written here; calls against
a real HTTP server on 127.0.0.1 (a tiny issue tracker in a thread, which records every
request it gets); and the secrets canaries. Sources run their requests on their own loop
thread, so every call here also crosses event loops.
"""

from __future__ import annotations

import ast
import asyncio
import base64
import email.parser
import email.policy
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import yaml

from codemode import CodeMode
from codemode.catalog import Tool
from codemode.errors import ConfigError, SourceError, ToolError
from codemode.sources._openapi_encode import form_pairs
from codemode.sources._openapi_http import Reply, Secrets, _retry_after
from codemode.sources.openapi import (
    ApiKeyAuth,
    BasicAuth,
    BearerAuth,
    OAuth2ClientCredentials,
    OpenAPISource,
)
from codemode.typegen import parameter_names, tool_stub

CORPORA = Path("/work/shared/corpora")
FILES = {
    "cloudflare": ("cloudflare-api-schemas-openapi.2024-08-06.json", 1533),
    "github": ("github-api.github.com.octokit-openapi-23.0.2.json", 1223),
    "stripe": ("stripe-openapi-spec3.2022-04-12.json", 417),
}
TOKEN = "canary-bearer-5d1c9e7a"
API_KEY = "canary-apikey-83b0f2"
PASSWORD = "canary-password-4471"
CLIENT_SECRET = "canary-client-secret-9e02"
HEADER_SECRET = "canary-header-61f7aa"
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"}
CANARIES = (TOKEN, API_KEY, PASSWORD, CLIENT_SECRET, HEADER_SECRET)


# ----------------------------------------------------------------------- the server


class Tracker(ThreadingHTTPServer):
    """A tiny issue tracker; it accepts the test credentials and records every request."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.counts: dict[str, int] = {}
        self.tokens_issued = 0
        self.oauth_body_only = False  # the token endpoint refuses HTTP Basic
        self.accepted: set[str] = {f"Bearer {TOKEN}"}
        self.issues = [{"id": i, "title": f"issue {i}", "labels": []} for i in range(1, 26)]

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def count(self, key: str) -> int:
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1
            return self.counts[key]

    def hits(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r["path"] == path]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so the client's pool is exercised
    server: Tracker

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    # -- plumbing ---------------------------------------------------------------------

    def _send(
        self,
        status: int,
        body: Any = None,
        *,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        if isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if data:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self, query: dict[str, str]) -> bool:
        auth = self.headers.get("Authorization", "")
        basic = "Basic " + base64.b64encode(f"me:{PASSWORD}".encode()).decode()
        cookie = self.headers.get("Cookie", "")
        return (
            auth in self.server.accepted
            or auth == basic
            or self.headers.get("X-API-Key") == API_KEY
            or query.get("api_key") == API_KEY
            or f"apikey={API_KEY}" in cookie
        )

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        path, query = parts.path, dict(parse_qsl(parts.query))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with self.server.lock:
            self.server.requests.append(
                {
                    "method": self.command,
                    "path": path,
                    "raw_path": parts.path,
                    "query": parts.query,
                    "headers": dict(self.headers.items()),
                    "body": body,
                }
            )
        base = f"http://127.0.0.1:{self.server.port}"
        if path == "/token":
            return self._token(body)
        if path == "/spec.yaml":
            spec = tracker_spec(self.server.port)
            spec["servers"] = [{"url": "/api"}]  # relative: resolved against the spec URL
            return self._send(200, yaml.safe_dump(spec), content_type="application/yaml")
        if not self._authorized(query):
            return self._send(401, {"message": "bad credentials"})
        if path == "/api/issues" and self.command == "GET":
            page, per_page = int(query.get("page", 1)), int(query.get("per_page", 10))
            items = self.server.issues[(page - 1) * per_page : page * per_page]
            links = {}
            if page * per_page < len(self.server.issues):
                nxt = f"{base}/api/issues?page={page + 1}&per_page={per_page}"
                links["Link"] = f'<{nxt}>; rel="next", <{base}/api/issues?page=1>; rel="first"'
            return self._send(200, items, headers=links)
        if path == "/api/issues" and self.command == "POST":
            issue = {"id": 100 + self.server.count("created"), **json.loads(body)}
            return self._send(201, issue)
        if path.startswith("/api/issues/"):
            issue_id = path.rsplit("/", 1)[1]
            if self.command == "DELETE":
                return self._send(204)
            found = [i for i in self.server.issues if str(i["id"]) == issue_id]
            if not found:
                return self._send(404, {"message": f"issue {issue_id} not found"})
            return self._send(200, found[0])
        if path == "/api/flaky":
            n = self.server.count("flaky:" + query["key"])
            if n <= int(query.get("failures", 2)):
                return self._send(429, {"message": "slow down"}, headers={"Retry-After": "0"})
            return self._send(200, {"attempts": n})
        if path == "/api/flaky-post":
            self.server.count("flaky-post")
            return self._send(503, "unavailable", content_type="text/plain")
        if path == "/api/broken":
            return self._send(500, {"error": {"message": "database exploded", "code": 17}})
        if path in ("/api/echo", "/api/echo-error"):
            echoed = {"headers": dict(self.headers.items()), "query": parts.query}
            return self._send(200 if path == "/api/echo" else 400, echoed)
        if path == "/api/echo-text":
            text = "\n".join(f"{k}: {v}" for k, v in self.headers.items())
            return self._send(200, text, content_type="text/plain; charset=utf-8")
        if path in ("/api/form", "/api/query") or path.startswith("/api/files/"):
            return self._send(
                200,
                {
                    "pairs": parse_qsl(body.decode() if body else parts.query),
                    "raw": parts.query,
                    "path": parts.path,
                    "content_type": self.headers.get("Content-Type"),
                    "body": body.decode(),
                },
            )
        if path == "/api/multipart":
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"Content-Type: " + self.headers["Content-Type"].encode() + b"\r\n\r\n" + body
            )
            fields = [
                [part.get_param("name", header="content-disposition"), part.get_content()]
                for part in message.iter_parts()
            ]
            return self._send(200, {"fields": fields})
        if path == "/api/stripe-list":
            ids = [f"obj_{i}" for i in range(1, 8)]
            start = ids.index(query["starting_after"]) + 1 if "starting_after" in query else 0
            page = ids[start : start + int(query.get("limit", 3))]
            data = [{"id": i} for i in page]
            return self._send(
                200, {"object": "list", "data": data, "has_more": page[-1] != ids[-1]}
            )
        if path == "/api/cf-list":
            page = int(query.get("page", 1))
            info = {"page": page, "per_page": 2, "total_pages": 3, "count": 2}
            result = [{"n": (page - 1) * 2 + 1}, {"n": (page - 1) * 2 + 2}]
            return self._send(200, {"success": True, "result": result, "result_info": info})
        if path == "/api/cursor-list":
            cursor = int(query.get("cursor", 0))
            nxt = str(cursor + 1) if cursor < 2 else None
            return self._send(200, {"items": [cursor], "meta": {"next_cursor": nxt}})
        if path == "/api/link-away":
            away = f"http://localhost:{self.server.port}/api/issues?page=2"
            return self._send(200, [1], headers={"Link": f'<{away}>; rel="next"'})
        if path == "/api/redirect-same":
            return self._send(302, headers={"Location": "/api/issues/3"})
        if path == "/api/redirect-away":
            away = f"http://localhost:{self.server.port}/api/echo?secret=1"
            return self._send(302, headers={"Location": away})
        if path == "/api/binary":
            return self._send(200, b"\x89PNG\x00\x01" * 10, content_type="image/png")
        if path == "/api/text":
            return self._send(200, "plain words", content_type="text/plain")
        if path == "/api/slow":
            time.sleep(1.5)
            return self._send(200, {"slow": True})
        if path == "/api/not-paged":
            return self._send(200, {"ok": True})
        return self._send(
            404, "<html><body><h1>Not Found</h1></body></html>", content_type="text/html"
        )

    def _token(self, body: bytes) -> None:
        form = dict(parse_qsl(body.decode()))
        expected = "Basic " + base64.b64encode(f"client:{CLIENT_SECRET}".encode()).decode()
        by_basic = self.headers.get("Authorization") == expected and not self.server.oauth_body_only
        by_body = form.get("client_id") == "client" and form.get("client_secret") == CLIENT_SECRET
        if form.get("grant_type") != "client_credentials" or not (by_basic or by_body):
            self._send(401, {"error": "invalid_client"})
            return
        with self.server.lock:
            self.server.tokens_issued += 1
            token = f"oauth-token-{self.server.tokens_issued}-{'x' * 8}"
            self.server.accepted.add(f"Bearer {token}")
        self._send(200, {"access_token": token, "token_type": "bearer", "expires_in": 3600})


def tracker_spec(port: int) -> dict[str, Any]:
    """The OpenAPI 3.0 document of the tracker."""

    def op(op_id: str, *params: dict[str, Any], **extra: Any) -> dict[str, Any]:
        ok = {"200": {"description": "ok", "content": {"application/json": {"schema": {}}}}}
        return {"operationId": op_id, "parameters": list(params), "responses": ok, **extra}

    def q(name: str, typ: str = "string", **extra: Any) -> dict[str, Any]:
        return {"name": name, "in": "query", "schema": {"type": typ}, **extra}

    issue_list = {"type": "array", "items": {"$ref": "#/components/schemas/Issue"}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Tracker", "description": "A tiny issue tracker. Used in tests."},
        "servers": [{"url": f"http://127.0.0.1:{port}/api"}],
        "components": {
            "schemas": {
                "Issue": {
                    "type": "object",
                    "required": ["id", "title"],
                    "properties": {
                        "id": {"type": "integer", "readOnly": True},
                        "title": {"type": "string"},
                        "labels": {"type": "array", "items": {"type": "string"}},
                        "parent": {"$ref": "#/components/schemas/Issue"},
                    },
                },
                "NewIssue": {
                    "type": "object",
                    "required": ["title"],
                    "properties": {
                        "title": {"type": "string", "description": "One line."},
                        "body": {"type": "string", "nullable": True},
                        "labels": {"type": "array", "items": {"type": "string"}},
                    },
                },
            },
            "parameters": {
                "IssueId": {
                    "name": "issue_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer"},
                }
            },
        },
        "paths": {
            "/issues": {
                "get": {
                    "operationId": "listIssues",
                    "summary": "List issues",
                    "tags": ["issues"],
                    "parameters": [
                        q("page", "integer"),
                        q("per_page", "integer"),
                        {"name": "Authorization", "in": "header", "schema": {"type": "string"}},
                    ],
                    "responses": {
                        "200": {
                            "description": "ok",
                            "headers": {"Link": {"schema": {"type": "string"}}},
                            "content": {"application/json": {"schema": issue_list}},
                        }
                    },
                },
                "post": {
                    "operationId": "createIssue",
                    "summary": "Create an issue",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/NewIssue"}
                            }
                        },
                    },
                    "responses": {
                        "201": {
                            "description": "created",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Issue"}
                                }
                            },
                        }
                    },
                },
            },
            "/issues/{issue_id}": {
                "parameters": [{"$ref": "#/components/parameters/IssueId"}],
                "get": op("getIssue"),
                "delete": {"operationId": "deleteIssue", "responses": {"204": {"description": ""}}},
            },
            "/flaky": {"get": op("flaky", q("key", required=True), q("failures", "integer"))},
            "/flaky-post": {"post": op("flakyPost")},
            "/broken": {"get": op("broken")},
            "/echo": {
                "get": op(
                    "echo",
                    {"name": "X-Request-Id", "in": "header", "schema": {"type": "string"}},
                    {"name": "X-API-Key", "in": "header", "schema": {"type": "string"}},
                    {"name": "theme", "in": "cookie", "schema": {"type": "string"}},
                )
            },
            "/echo-text": {"get": op("echoText")},
            "/echo-error": {"get": op("echoError")},
            "/form": {
                "post": op(
                    "createCustomer",
                    q("name"),
                    requestBody={
                        "content": {
                            "application/x-www-form-urlencoded": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "name": {"type": "string"},
                                        "metadata": {
                                            "type": "object",
                                            "additionalProperties": {"type": "string"},
                                        },
                                        "expand": {"type": "array", "items": {"type": "string"}},
                                        "tags": {"type": "array", "items": {"type": "string"}},
                                        "active": {"type": "boolean"},
                                    },
                                },
                                "encoding": {
                                    "metadata": {"style": "deepObject", "explode": True},
                                    "expand": {"style": "deepObject", "explode": True},
                                },
                            }
                        }
                    },
                )
            },
            "/multipart": {
                "post": op(
                    "upload",
                    requestBody={
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "purpose": {"type": "string"},
                                        "count": {"type": "integer"},
                                        "options": {"type": "object"},
                                    },
                                }
                            }
                        }
                    },
                )
            },
            "/query": {
                "get": op(
                    "queryStyles",
                    q("tags", "array", explode=False),
                    q("labels", "array"),
                    {
                        "name": "filter",
                        "in": "query",
                        "style": "deepObject",
                        "schema": {"type": "object"},
                    },
                    q("flag", "boolean"),
                    q("words", "array", style="pipeDelimited"),
                )
            },
            "/files/{path}": {"get": op("getFile")},
            "/stripe-list": {"get": op("stripeList", q("limit", "integer"), q("starting_after"))},
            "/cf-list": {"get": op("cfList", q("page", "integer"))},
            "/cursor-list": {"get": op("cursorList", q("cursor"))},
            "/link-away": {"get": op("linkAway", q("page", "integer"))},
            "/redirect-same": {"get": op("redirectSame")},
            "/redirect-away": {"get": op("redirectAway")},
            "/binary": {"get": op("binary")},
            "/text": {"get": op("text")},
            "/slow": {"get": op("slow")},
            "/not-paged": {"get": op("notPaged")},
            "/missing": {"get": op("missing")},
        },
    }


@pytest.fixture(scope="module")
def server() -> Iterator[Tracker]:
    tracker = Tracker()
    thread = threading.Thread(target=tracker.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield tracker
    tracker.shutdown()
    tracker.server_close()
    thread.join(5)


@pytest.fixture
def make(server: Tracker) -> Iterator[Callable[..., OpenAPISource]]:
    """Build (not start) tracker sources; every one is closed after the test."""
    made: list[OpenAPISource] = []

    def build(**kwargs: Any) -> OpenAPISource:
        kwargs.setdefault("spec", tracker_spec(server.port))
        kwargs.setdefault("auth", BearerAuth(TOKEN))
        kwargs.setdefault("timeout", 5.0)  # a hung test server fails the test quickly
        source = OpenAPISource(kwargs.pop("namespace", "tracker"), **kwargs)
        made.append(source)
        return source

    yield build
    for source in made:
        asyncio.run(source.aclose())


def tool_of(source: OpenAPISource, identifier: str) -> Tool:
    return next(t for t in source.tools() if t.identifier == identifier)


async def call(source: OpenAPISource, identifier: str, **arguments: Any) -> Any:
    if not source.tools():
        await source.start()
    return await source.caller(tool_of(source, identifier))(arguments)


async def pages(source: OpenAPISource, identifier: str, max_pages: int = 10, **args: Any) -> Any:
    if not source.tools():
        await source.start()
    return await source.paginator(tool_of(source, identifier))(args, max_pages)


# -------------------------------------------------------------------- real corpora


@pytest.fixture(scope="module")
def corpora() -> dict[str, OpenAPISource]:
    async def load() -> dict[str, OpenAPISource]:
        loaded = {}
        for namespace, (file, _) in FILES.items():
            started = time.perf_counter()
            source = OpenAPISource(namespace, spec=CORPORA / file)
            await source.start()
            print(f"{namespace}: {time.perf_counter() - started:.3f} s")
            loaded[namespace] = source
        return loaded

    if not CORPORA.is_dir():
        pytest.skip("the OpenAPI corpora are not available")
    started = time.perf_counter()
    loaded = asyncio.run(load())
    print(f"three corpora loaded in {time.perf_counter() - started:.3f} s")
    return loaded


def test_corpora_load_every_operation(corpora: dict[str, OpenAPISource]) -> None:
    for namespace, (_, expected) in FILES.items():
        source = corpora[namespace]
        tools = source.tools()
        assert len(tools) == expected, namespace
        assert source.skipped == []
        assert len({t.identifier for t in tools}) == len(tools)
        for tool in tools:
            assert tool.input_schema["type"] == "object"
            assert isinstance(tool.input_schema["properties"], dict)
            assert set(tool.required) <= set(tool.parameters)
            assert tool.endpoint is not None
            assert tool.endpoint.split()[0] in METHODS
        assert source.description


def test_github_spot_checks(corpora: dict[str, OpenAPISource]) -> None:
    tools = {t.identifier: t for t in corpora["github"].tools()}
    tool = tools["issues_create"]
    assert tool.name == "issues/create"
    assert tool.endpoint == "POST /repos/{owner}/{repo}/issues"
    assert tool.tags == ("issues",)
    assert tool.required == {"owner", "repo", "title"}
    assert {"owner", "repo", "title", "body", "labels", "assignees", "milestone"} <= set(
        tool.parameters
    )
    assert tool.annotations.read_only is False
    assert tool.description.startswith("Create an issue\n\nAny user with pull access")
    assert "\n- **`application/vnd.github.raw+json`**: Returns" in tool.description
    assert "](https://" not in tool.description  # Markdown links reduced to their text
    listing = tools["repos_list_for_org"]
    assert listing.annotations.read_only is True
    assert {"org", "per_page", "page"} <= set(listing.parameters)
    assert corpora["github"]._plans["repos_list_for_org"][1].pageable
    assert tools["repos_delete"].annotations.destructive is True
    assert tools["repos_delete"].annotations.idempotent is True
    # the output schema refers to shared definitions instead of inlining them
    output = tools["issues_get"].output_schema
    assert output is not None
    assert output["$ref"] == "#/$defs/issue"
    assert "simple-user" in output["$defs"]


def test_stripe_and_cloudflare_spot_checks(corpora: dict[str, OpenAPISource]) -> None:
    stripe = {t.identifier: t for t in corpora["stripe"].tools()}
    customers = stripe["post_customers"]
    assert customers.name == "PostCustomers"
    plan = corpora["stripe"]._plans["post_customers"][1]
    assert plan.body == "form"
    assert plan.encoding["metadata"] == ("deepObject", True)
    assert {"email", "metadata", "address", "expand"} <= set(customers.parameters)
    assert "body" not in stripe["get_customers"].parameters  # the empty GET body is dropped
    assert stripe["get_customers_customer"].endpoint == "GET /v1/customers/{customer}"
    cloudflare = {t.identifier: t for t in corpora["cloudflare"].tools()}
    zone = cloudflare["zone_settings_get_all_zone_settings"]
    assert zone.endpoint == "GET /zones/{zone_id}/settings"
    assert zone.required == {"zone_id"}
    assert corpora["cloudflare"].base_url == "https://api.cloudflare.com/client/v4"


def test_recursive_schemas_become_defs(corpora: dict[str, OpenAPISource]) -> None:
    # Stripe's `customer` reaches itself through expandable fields: a cycle, kept as refs
    tool = next(t for t in corpora["stripe"].tools() if t.identifier == "get_customers_customer")
    assert tool.output_schema is not None
    defs = tool.output_schema["$defs"]
    assert "customer" in defs
    assert len(json.dumps(tool.output_schema)) < 5_000_000  # nothing expanded inline
    found = 0
    for source in corpora.values():
        for t in source.tools():
            for schema in (t.input_schema, t.output_schema or {}):
                for ref in _refs(schema):
                    assert ref.startswith("#/$defs/")
                    assert ref[len("#/$defs/") :] in schema["$defs"]
                    found += 1
    assert found > 1000


def _refs(schema: Any) -> Iterator[str]:
    stack = [v for k, v in schema.items() if k != "$defs"] + list(schema.get("$defs", {}).values())
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                yield node["$ref"]
            stack += node.values()
        elif isinstance(node, list):
            stack += node


def test_stubs_of_a_sample_parse(corpora: dict[str, OpenAPISource]) -> None:
    tools = [t for s in corpora.values() for t in s.tools()]
    sample = tools[:: max(len(tools) // 500, 1)]
    started = time.perf_counter()
    for tool in sample:
        ast.parse(tool_stub(tool))
    print(f"{len(sample)} stubs in {time.perf_counter() - started:.2f} s")


@pytest.mark.slow
def test_every_stub_parses(corpora: dict[str, OpenAPISource]) -> None:
    # ~25 s, nearly all Stripe: its expandable fields make each response reach ~400 schemas
    for source in corpora.values():
        started = time.perf_counter()
        for tool in source.tools():
            ast.parse(tool_stub(tool))
        print(f"{source.namespace}: stubs in {time.perf_counter() - started:.2f} s")


# -------------------------------------------------------------- other document kinds

SWAGGER = """
swagger: "2.0"
info: {title: Pets, description: "Pets of the world! Really."}
host: 127.0.0.1:{port}
basePath: /api
schemes: [http]
consumes: [application/json]
paths:
  /issues/{issue_id}:
    get:
      operationId: getIssue
      parameters:
        - {name: issue_id, in: path, required: true, type: integer}
        - {name: tags, in: query, type: array, items: {type: string}}
        - {name: ids, in: query, type: array, items: {type: integer}, collectionFormat: multi}
      responses:
        200: {description: ok, schema: {$ref: "#/definitions/Node"}}
  /nodes:
    post:
      operationId: addNode
      parameters:
        - {name: node, in: body, required: true, schema: {$ref: "#/definitions/Node"}}
      responses:
        201: {description: created, schema: {$ref: "#/definitions/Node"}}
  /upload:
    post:
      operationId: upload
      consumes: [multipart/form-data]
      parameters:
        - {name: file, in: formData, type: file, required: true}
        - {name: note, in: formData, type: string}
      responses:
        204: {description: done}
definitions:
  Node:
    type: object
    required: [name]
    properties:
      name: {type: string, x-nullable: true, example: "root"}
      created: {type: string, format: date-time, default: 2024-01-01}
      children: {type: array, items: {$ref: "#/definitions/Node"}}
"""


@pytest.mark.anyio
async def test_swagger_2_yaml(tmp_path: Path, server: Tracker) -> None:
    path = tmp_path / "pets.yaml"
    path.write_text(SWAGGER.replace("{port}", str(server.port)))
    source = OpenAPISource("pets", spec=path, auth=BearerAuth(TOKEN))
    try:
        await source.start()
        assert source.base_url == f"http://127.0.0.1:{server.port}/api"
        assert source.description == "Pets: Pets of the world!"
        tools = {t.identifier: t for t in source.tools()}
        assert set(tools) == {"get_issue", "add_node", "upload"}
        add = tools["add_node"]
        assert add.required == {"name"}  # the body's properties are keywords
        assert add.parameters["children"]["items"] == {"$ref": "#/$defs/Node"}
        node = add.input_schema["$defs"]["Node"]
        assert node["properties"]["name"] == {"type": "string", "nullable": True}
        assert node["properties"]["created"]["default"] == "2024-01-01"  # no YAML dates
        upload = tools["upload"]
        assert upload.parameters["file"] == {"type": "string", "format": "binary"}
        assert source._plans["upload"][1].body == "multipart"
        get = tools["get_issue"]
        assert get.output_schema is not None
        assert "Node" in get.output_schema["$defs"]
        for tool in tools.values():
            ast.parse(tool_stub(tool))
        # Swagger's default collectionFormat is csv; multi repeats the key
        await source.caller(get)({"issue_id": 2, "tags": ["a", "b"], "ids": [1, 2]})
        assert server.hits("/api/issues/2")[-1]["query"] == "tags=a%2Cb&ids=1&ids=2"
    finally:
        await source.aclose()


OPENAPI_31 = {
    "openapi": "3.1.0",
    "info": {"title": "Trees"},
    "servers": [{"url": "https://trees.example/v1"}],
    "paths": {
        "/trees/{id}": {
            "put": {
                "operationId": "putTree",
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Tree"}}
                    },
                },
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/A"}}
                        },
                    }
                },
            }
        },
        "/values": {
            "post": {
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {"type": "array", "items": {"type": ["string", "null"]}}
                        }
                    }
                },
                "responses": {"default": {"description": "whatever"}},
                "deprecated": True,
            }
        },
    },
    "components": {
        "schemas": {
            "Tree": {
                "type": "object",
                "required": ["label"],
                "properties": {
                    "label": {"type": ["string", "null"], "examples": ["oak"]},
                    "kind": {"const": "tree"},
                    "children": {"type": "array", "items": {"$ref": "#/components/schemas/Tree"}},
                },
            },
            "A": {"type": "object", "properties": {"b": {"$ref": "#/components/schemas/B"}}},
            "B": {"type": "object", "properties": {"a": {"$ref": "#/components/schemas/A"}}},
        }
    },
}


@pytest.mark.anyio
async def test_openapi_3_1_json_with_cycles(tmp_path: Path) -> None:
    path = tmp_path / "trees.json"
    path.write_text(json.dumps(OPENAPI_31))
    source = OpenAPISource("trees", spec=str(path))
    await source.start()
    tools = {t.identifier: t for t in source.tools()}
    put = tools["put_tree"]
    assert put.required == {"id", "label"}
    assert put.parameters["label"] == {"type": ["string", "null"]}  # `examples` dropped
    assert put.parameters["children"] == {"type": "array", "items": {"$ref": "#/$defs/Tree"}}
    assert set(put.input_schema["$defs"]) == {"Tree"}
    assert put.output_schema is not None
    assert set(put.output_schema["$defs"]) == {"A", "B"}
    assert put.annotations.idempotent is True
    # no operationId: named after method and path; a non-object body is one `body` keyword
    values = tools["post_values"]
    assert values.name == "post_values"
    assert values.deprecated is True
    assert values.description == "[deprecated] POST /values"
    assert values.parameters["body"]["items"] == {"type": ["string", "null"]}
    assert values.output_schema is None  # only a `default` response
    for tool in tools.values():
        stub = tool_stub(tool)
        ast.parse(stub)
    assert "label: str | None" in tool_stub(put)


@pytest.mark.anyio
async def test_identifiers_duplicates_and_include() -> None:
    ok = {"responses": {"200": {"description": "ok"}}}
    spec = {
        "openapi": "3.0.0",
        "info": {"title": "Dup"},
        "servers": [{"url": "https://dup.example"}],
        "paths": {
            "/a": {"get": {"operationId": "getThing", **ok}},
            "/b": {"get": {"operationId": "get-thing", **ok}},
            "/c/{thing_id}": {"get": {**ok, "summary": "<b>Bold</b> &amp; <code>x</code>"}},
            "/d": {"post": {"operationId": "class", **ok}},
        },
    }
    source = OpenAPISource("dup", spec=spec)
    await source.start()
    tools = {t.identifier: t for t in source.tools()}
    assert set(tools) == {"get_thing", "get_thing_2", "get_c_thing_id", "class_"}
    assert tools["get_thing_2"].name == "get-thing"
    assert tools["get_c_thing_id"].description == "Bold & x"
    filtered = OpenAPISource("dup", spec=spec, include=lambda t: t.identifier != "get_thing")
    await filtered.start()
    assert {t.identifier for t in filtered.tools()} == {"get_thing_2", "get_c_thing_id", "class_"}


@pytest.mark.anyio
async def test_load_failures(tmp_path: Path) -> None:
    cases: list[tuple[Any, str]] = [
        (tmp_path / "missing.json", "not found"),
        ("{not json", "neither valid JSON nor valid YAML"),
        ('{"a": 1', "not valid JSON"),
        ('{"info": {}}', "not an OpenAPI 3.x or Swagger 2.0 document"),
        ('{"openapi": "3.0.0", "paths": {}}', "no absolute server URL"),
        ('{"openapi": "3.0.0", "paths": []}', "'paths' must be an object"),
    ]
    for i, (content, message) in enumerate(cases):
        if isinstance(content, Path):
            spec = content
        else:
            spec = tmp_path / f"case{i}.{'json' if message == 'not valid JSON' else 'yaml'}"
            spec.write_text(content)
        with pytest.raises(SourceError, match=message):
            await OpenAPISource("bad", spec=spec).start()
    with pytest.raises(ConfigError, match="base_url"):
        OpenAPISource("bad", spec={}, base_url="ftp://x")
    with pytest.raises(ConfigError, match="namespace"):
        OpenAPISource("json", spec={})


# ------------------------------------------------------------------------ requests


@pytest.mark.anyio
async def test_schema_and_hidden_parameters(make: Callable[..., OpenAPISource]) -> None:
    source = make(auth=ApiKeyAuth("X-API-Key", API_KEY))
    await source.start()
    echo = tool_of(source, "echo")
    assert set(echo.parameters) == {"X-Request-Id", "theme"}  # the key's header is hidden
    assert parameter_names(echo)["X_Request_Id"] == "X-Request-Id"
    listing = tool_of(source, "list_issues")
    assert "Authorization" not in listing.parameters  # credentials come from the host only
    assert set(listing.parameters) == {"page", "per_page"}
    create = tool_of(source, "create_issue")
    assert create.required == {"title"}
    assert create.parameters["title"]["description"] == "One line."
    assert set(create.parameters) == {"title", "body", "labels"}
    get = tool_of(source, "get_issue")
    assert get.required == {"issue_id"}
    # `id` is readOnly: it is in the output, never an input
    assert "id" not in create.parameters
    assert create.output_schema is not None
    assert create.output_schema["$ref"] == "#/$defs/Issue"
    issue = create.output_schema["$defs"]["Issue"]
    assert issue["properties"]["parent"] == {"$ref": "#/$defs/Issue"}  # recursive, by ref


@pytest.mark.anyio
async def test_calls_and_results(make: Callable[..., OpenAPISource], server: Tracker) -> None:
    source = make()
    created = await call(source, "create_issue", title="Bug", labels=["x"], body=None)
    assert created["title"] == "Bug"
    assert created["id"] > 100
    sent = server.hits("/api/issues")[-1]
    assert json.loads(sent["body"]) == {"title": "Bug", "labels": ["x"], "body": None}
    assert sent["headers"]["Content-Type"] == "application/json"
    assert await call(source, "get_issue", issue_id=3) == {
        "id": 3,
        "title": "issue 3",
        "labels": [],
    }
    assert await call(source, "delete_issue", issue_id=3) is None
    assert await call(source, "text") == "plain words"
    binary = await call(source, "binary")
    assert binary == {"type": "binary", "mime_type": "image/png", "bytes": 60}
    assert await call(source, "redirect_same") == {"id": 3, "title": "issue 3", "labels": []}
    with pytest.raises(ToolError, match="unexpected argument 'nope'"):
        await call(source, "get_issue", issue_id=1, nope=1)


@pytest.mark.anyio
async def test_parameter_styles(make: Callable[..., OpenAPISource], server: Tracker) -> None:
    source = make()
    await call(
        source,
        "query_styles",
        tags=["a", "b"],
        labels=["x", "y"],
        filter={"status": "open", "kind": "bug"},
        flag=True,
        words=["p", "q"],
    )
    query = server.hits("/api/query")[-1]["query"]
    assert query == (
        "tags=a%2Cb&labels=x&labels=y&filter%5Bstatus%5D=open&filter%5Bkind%5D=bug"
        "&flag=true&words=p%7Cq"
    )
    result = await call(source, "get_file", path="dir/a b.txt")
    assert result["path"] == "/api/files/dir%2Fa%20b.txt"
    result = await call(source, "get_file", path="..")
    assert result["path"] == "/api/files/%2E%2E"
    echoed = await call(source, "echo", **{"X-Request-Id": "r-1", "theme": "dark mode"})
    assert echoed["headers"]["X-Request-Id"] == "r-1"
    assert echoed["headers"]["Cookie"] == "theme=dark%20mode"


@pytest.mark.anyio
async def test_form_and_multipart_bodies(
    make: Callable[..., OpenAPISource], server: Tracker
) -> None:
    source = make()
    await source.start()
    customer = tool_of(source, "create_customer")
    # `name` is a query parameter and a body property: the body's gets the suffix
    assert set(customer.parameters) == {"name", "name_body", "metadata", "expand", "tags", "active"}
    plan = source._plans["create_customer"][1]
    assert (plan.args["name_body"].location, plan.args["name_body"].name) == ("body", "name")
    result = await call(
        source,
        "create_customer",
        name="q",
        name_body="Ada",
        metadata={"plan": "pro", "seats": "3"},
        expand=["invoice", "tax"],
        tags=["a", "b"],
        active=False,
    )
    assert result["raw"] == "name=q"
    assert result["content_type"] == "application/x-www-form-urlencoded"
    assert result["pairs"] == [
        ["name", "Ada"],
        ["metadata[plan]", "pro"],
        ["metadata[seats]", "3"],
        ["expand[0]", "invoice"],
        ["expand[1]", "tax"],
        ["tags", "a"],
        ["tags", "b"],
        ["active", "false"],
    ]
    uploaded = await call(source, "upload", purpose="dispute", count=2, options={"a": 1})
    assert uploaded["fields"] == [["purpose", "dispute"], ["count", "2"], ["options", '{"a":1}']]
    nested = form_pairs({"items": [{"price": "p1", "qty": 2}]}, {}, multipart=False)
    assert nested == [("items[0][price]", "p1"), ("items[0][qty]", "2")]


@pytest.mark.anyio
async def test_retries(make: Callable[..., OpenAPISource], server: Tracker) -> None:
    source = make()
    assert await call(source, "flaky", key="a") == {"attempts": 3}
    assert server.counts["flaky:a"] == 3  # two 429s (Retry-After: 0), then 200
    few = make(max_retries=1)
    with pytest.raises(ToolError, match=r"GET /api/flaky -> 429 Too Many Requests: slow down"):
        await call(few, "flaky", key="b", failures=5)
    assert server.counts["flaky:b"] == 2
    with pytest.raises(ToolError, match="-> 503 Service Unavailable: unavailable"):
        await call(source, "flaky_post")
    assert server.counts["flaky-post"] == 1  # POST is not retried on a status
    assert _retry_after("0") == 0.0
    assert _retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert (
        55
        < (
            _retry_after(time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 60)))
            or 0
        )
        <= 60
    )
    assert source._transport is not None
    assert source._transport._delay(1, "120") == 10.0  # capped
    assert 0.5 <= source._transport._delay(1, None) <= 0.75


@pytest.mark.anyio
async def test_errors(make: Callable[..., OpenAPISource], server: Tracker) -> None:
    source = make()
    with pytest.raises(ToolError) as info:
        await call(source, "broken")
    assert info.value.message == "GET /api/broken -> 500 Internal Server Error: database exploded"
    assert info.value.tool == "tracker.broken"
    with pytest.raises(ToolError, match=r"-> 404 Not Found: issue 99 not found"):
        await call(source, "get_issue", issue_id=99)
    with pytest.raises(ToolError, match=r"GET /api/missing -> 404 Not Found: Not Found$"):
        await call(source, "missing")
    with pytest.raises(ToolError, match=r"redirect to another host .*localhost.*not followed"):
        await call(source, "redirect_away")
    assert not [r for r in server.hits("/api/echo") if "secret=1" in r["query"]]
    slow = make(timeout=0.3)
    with pytest.raises(ToolError, match=r"timed out after 0\.3 s"):
        await call(slow, "slow")
    closed = make(base_url="http://127.0.0.1:9", max_retries=0)
    with pytest.raises(ToolError, match=r"cannot connect to 127\.0\.0\.1"):
        await call(closed, "text")


@pytest.mark.anyio
async def test_disallowed_hosts(make: Callable[..., OpenAPISource], server: Tracker) -> None:
    before = len(server.requests)
    source = make(allowed_hosts=["api.example.com"])
    with pytest.raises(ToolError, match=r"host '127\.0\.0\.1' is not an allowed host"):
        await call(source, "text")
    assert len(server.requests) == before  # refused before sending anything
    with pytest.raises(ToolError, match="host 'localhost' is not an allowed host"):
        await pages(make(), "link_away")


@pytest.mark.anyio
async def test_pagination(make: Callable[..., OpenAPISource], server: Tracker) -> None:
    source = make()
    issues = await pages(source, "list_issues", per_page=10)
    assert [i["id"] for i in issues] == list(range(1, 26))  # Link: rel="next", 3 pages
    assert len(await pages(source, "list_issues", max_pages=2, per_page=10)) == 20
    stripe = await pages(source, "stripe_list", limit=3)
    assert [i["id"] for i in stripe] == [f"obj_{i}" for i in range(1, 8)]
    assert "starting_after=obj_6" in server.hits("/api/stripe-list")[-1]["query"]
    cloudflare = await pages(source, "cf_list")
    assert [i["n"] for i in cloudflare] == [1, 2, 3, 4, 5, 6]
    assert await pages(source, "cursor_list") == [0, 1, 2]
    with pytest.raises(ToolError, match="no recognisable pagination"):
        await pages(source, "not_paged")


@pytest.mark.anyio
async def test_every_auth_kind(make: Callable[..., OpenAPISource], server: Tracker) -> None:
    bearer = await call(make(), "echo")
    assert bearer["headers"]["Authorization"] == "Bearer [redacted]"
    header = await call(make(auth=ApiKeyAuth("X-API-Key", API_KEY)), "echo")
    assert header["headers"]["X-API-Key"] == "[redacted]"
    query = await call(make(auth=ApiKeyAuth("api_key", API_KEY, "query")), "echo")
    assert query["query"] == "api_key=[redacted]"
    cookie = await call(make(auth=ApiKeyAuth("apikey", API_KEY, "cookie")), "echo", theme="t")
    assert cookie["headers"]["Cookie"] == "theme=t; apikey=[redacted]"
    basic = await call(make(auth=BasicAuth("me", PASSWORD)), "echo")
    assert basic["headers"]["Authorization"] == "Basic [redacted]"
    with pytest.raises(ToolError, match="401 Unauthorized: bad credentials"):
        await call(make(auth=BasicAuth("me", "wrong-password")), "echo")


@pytest.mark.anyio
async def test_oauth2_client_credentials(
    make: Callable[..., OpenAPISource], server: Tracker
) -> None:
    token_url = f"http://127.0.0.1:{server.port}/token"
    auth = OAuth2ClientCredentials(token_url, "client", CLIENT_SECRET, ["read", "write"])
    source = make(auth=auth)
    issued = server.tokens_issued
    first = await call(source, "echo")
    assert first["headers"]["Authorization"] == "Bearer [redacted]"
    await call(source, "echo")
    assert server.tokens_issued == issued + 1  # cached
    grant = server.hits("/token")[-1]
    assert dict(parse_qsl(grant["body"].decode())) == {
        "grant_type": "client_credentials",
        "scope": "read write",
    }
    # the API revokes the token: one 401, a new token, the call succeeds
    server.accepted = {a for a in server.accepted if not a.startswith("Bearer oauth-token")}
    await call(source, "echo")
    assert server.tokens_issued == issued + 2
    # an endpoint that refuses HTTP Basic gets the credentials in the body
    server.oauth_body_only = True
    try:
        other = make(auth=OAuth2ClientCredentials(token_url, "client", CLIENT_SECRET))
        await call(other, "echo")
        assert server.tokens_issued == issued + 3
        bad = make(auth=OAuth2ClientCredentials(token_url, "client", "wrong-secret"))
        with pytest.raises(ToolError, match=r"OAuth2 token request to .*/token -> 401"):
            await call(bad, "echo")
    finally:
        server.oauth_body_only = False


@pytest.mark.anyio
async def test_secrets_never_reach_the_program(
    make: Callable[..., OpenAPISource], server: Tracker
) -> None:
    token_url = f"http://127.0.0.1:{server.port}/token"
    sources = [
        make(headers={"X-Secret": HEADER_SECRET, "Accept": "application/json"}),
        make(auth=ApiKeyAuth("api_key", API_KEY, "query")),
        make(auth=BasicAuth("me", PASSWORD)),
        make(auth=OAuth2ClientCredentials(token_url, "client", CLIENT_SECRET)),
    ]
    seen: list[str] = []
    for source in sources:
        seen.append(json.dumps(await call(source, "echo")))
        seen.append(await call(source, "echo_text"))
        with pytest.raises(ToolError) as info:
            await call(source, "echo_error")
        seen.append(str(info.value))
        seen.append(repr(source))
        seen.append(
            json.dumps([(t.description, t.input_schema, t.output_schema) for t in source.tools()])
        )
        seen.append("".join(tool_stub(t) for t in source.tools()))
    seen.append(repr(sources[3]._auth) + repr(BearerAuth(TOKEN)) + repr(ApiKeyAuth("k", API_KEY)))
    seen.append(repr(BasicAuth("me", PASSWORD)))
    text = "\n".join(seen)
    assert "[redacted]" in text
    assert "application/json" in text  # configuration headers are not secrets
    tokens = {a.split()[1] for a in server.accepted if a.startswith("Bearer oauth-token")}
    for secret in (*CANARIES, *tokens):
        assert secret not in text, secret
    basic = base64.b64encode(f"me:{PASSWORD}".encode()).decode()
    assert basic not in text
    secrets = Secrets([TOKEN])
    assert secrets.value({TOKEN: [f"x{TOKEN}y", 1]}) == {"[redacted]": ["x[redacted]y", 1]}


def test_awaited_from_different_loops(make: Callable[..., OpenAPISource]) -> None:
    source = make()
    asyncio.run(source.start())
    assert asyncio.run(call(source, "text")) == "plain words"
    assert asyncio.run(call(source, "text")) == "plain words"
    asyncio.run(source.aclose())
    asyncio.run(source.aclose())  # idempotent
    assert asyncio.run(call(source, "text")) == "plain words"  # reopens


@pytest.mark.anyio
async def test_spec_from_url(make: Callable[..., OpenAPISource], server: Tracker) -> None:
    source = make(spec=f"http://127.0.0.1:{server.port}/spec.yaml?sig=abc")
    await source.start()
    assert source.base_url == f"http://127.0.0.1:{server.port}/api"
    assert "sig=abc" not in repr(source)
    assert await call(source, "text") == "plain words"
    with pytest.raises(SourceError, match="HTTP 401"):
        await OpenAPISource("x", spec=f"http://127.0.0.1:{server.port}/nope.json").start()


def test_through_codemode(server: Tracker) -> None:
    source = OpenAPISource("tracker", spec=tracker_spec(server.port), auth=BearerAuth(TOKEN))
    with CodeMode() as cm:
        cm.add_source(source)
        result = cm.execute(
            "issue = tracker.get_issue(issue_id=2)\n"
            'created = tracker.create_issue(title="From a program")\n'
            '[issue["title"], created["title"]]'
        )
        assert result.ok, result.error
        assert result.result == ["issue 2", "From a program"]
        failed = cm.execute("tracker.get_issue(issue_id=99)")
        assert not failed.ok
        assert failed.error is not None
        assert failed.error.type == "ToolError"
        assert "404 Not Found: issue 99 not found" in failed.error.message


def test_link_header_parsing() -> None:
    headers = httpx.Headers(
        [
            ("Link", '<https://a.example/x?ids=1,2&page=3>; rel="next last", </first>; rel=first'),
            ("Link", "<https://a.example/prev>; rel=prev"),
        ]
    )
    reply = Reply(
        status=200,
        reason="OK",
        headers=headers,
        body=b"",
        url=httpx.URL("https://a.example/x"),
        method="GET",
    )
    assert reply.link("next") == "https://a.example/x?ids=1,2&page=3"
    assert reply.link("first") == "https://a.example/first"
    assert reply.link("prev") == "https://a.example/prev"
    assert reply.link("self") is None


@pytest.mark.anyio
async def test_include_failure_is_a_source_error(server: Tracker) -> None:
    def include(tool: Tool) -> bool:
        raise ValueError("no")

    source = OpenAPISource("tracker", spec=tracker_spec(server.port), include=include)
    with pytest.raises(SourceError, match="ValueError: no"):
        await source.start()
