"""Reading OpenAPI documents for `codemode.sources.openapi`: fetch, parse, check, normalise.

A document arrives as a path (JSON or YAML), an http(s) URL or an already parsed mapping.
It is checked to be OpenAPI 3.x or Swagger 2.0; Swagger 2.0 is rewritten into the
OpenAPI 3 shape (parameters, bodies, responses, `consumes`/`produces`) so that the rest
of the source reads one format. Component schemas are left where they are: `$ref`s are
JSON pointers into the document, resolved by `resolve_ref`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import httpx
import yaml

from codemode.errors import SourceError

__all__ = ["HTTP_METHODS", "Document", "deref", "fetch_text", "parse_document", "resolve_ref"]

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_SWAGGER_TYPE_KEYS = (
    "type",
    "format",
    "items",
    "enum",
    "default",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
    "multipleOf",
    "x-nullable",
)
# Swagger 2 `collectionFormat` -> OpenAPI 3 (style, explode). csv is Swagger's default.
_COLLECTION_FORMATS = {
    "csv": ("form", False),
    "ssv": ("spaceDelimited", False),
    "tsv": ("form", False),  # no OpenAPI 3 equivalent; comma-separated is the closest
    "pipes": ("pipeDelimited", False),
    "multi": ("form", True),
}


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """YAML's safe loader (the C one when available), without implicit timestamps.

    `2024-01-01` in an example or a default must stay a string: JSON has no dates.
    """


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True, kw_only=True)
class Document:
    """A parsed document, in the OpenAPI 3 shape."""

    data: dict[str, Any]
    """The document (Swagger 2.0 converted; component schemas untouched)."""
    version: str
    """`2.0`, `3.0.3`, `3.1.0`, ... as the document declares it."""
    server_url: str | None
    """The first server's URL, variables substituted, made absolute when possible."""


def is_url(spec: str) -> bool:
    """Whether `spec` is an http(s) URL rather than a path."""
    return spec.startswith(("http://", "https://"))


async def fetch_text(url: str, timeout: float) -> bytes:
    """The bytes at `url` (SourceError on any failure; the URL's query is never shown)."""
    shown = _display(url)
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=True) as client:
            response = await client.get(url)
    except httpx.HTTPError as exc:
        raise SourceError(f"cannot fetch the OpenAPI document {shown}: {_describe(exc)}") from None
    if response.status_code >= 400:
        raise SourceError(
            f"cannot fetch the OpenAPI document {shown}: HTTP {response.status_code} "
            f"{response.reason_phrase}"
        )
    return response.content


def read_file(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a local document (SourceError when missing or unreadable)."""
    file = Path(path).expanduser()
    try:
        return file.read_bytes()
    except FileNotFoundError:
        raise SourceError(f"OpenAPI document not found: {file}") from None
    except OSError as exc:
        raise SourceError(f"cannot read OpenAPI document {file}: {exc.strerror or exc}") from None


def parse_document(
    raw: bytes | Mapping[str, Any], *, name: str, spec_url: str | None = None
) -> Document:
    """Parse (JSON or YAML), check and normalise a document; SourceError when it is not one.

    `name` says where it came from, for messages; `spec_url` is its URL when fetched, the
    base that relative server URLs resolve against.
    """
    data = raw if isinstance(raw, Mapping) else _parse_bytes(raw, name)
    if not isinstance(data, Mapping):
        raise SourceError(f"{name} is not an OpenAPI document: it is not a JSON/YAML object")
    data = dict(data)
    version = data.get("openapi", data.get("swagger"))
    if isinstance(version, int | float):  # YAML reads `swagger: 2.0` as a number
        version = str(version)
    if "swagger" in data and str(version).startswith("2"):
        data = swagger_to_openapi(data)
        version = "2.0"
    elif not (isinstance(version, str) and version.startswith("3.")):
        found = f" (found version {version!r})" if version is not None else ""
        raise SourceError(
            f"{name} is not an OpenAPI 3.x or Swagger 2.0 document: no 'openapi: 3.x' or "
            f"'swagger: \"2.0\"' field{found}"
        )
    paths = data.get("paths", {})
    if paths is None:
        paths = {}
    if not isinstance(paths, Mapping):
        raise SourceError(f"{name}: 'paths' must be an object, not {type(paths).__name__}")
    data["paths"] = paths
    return Document(data=data, version=str(version), server_url=_first_server(data, spec_url))


def _parse_bytes(raw: bytes, name: str) -> Any:
    text = raw.decode("utf-8-sig", "replace")
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            return json.loads(text)
        except ValueError as exc:
            if name.lower().endswith(".json"):
                raise SourceError(f"{name} is not valid JSON: {exc}") from None
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        problem = getattr(exc, "problem", None) or "invalid syntax"
        raise SourceError(f"{name} is neither valid JSON nor valid YAML{line}: {problem}") from None


def _first_server(data: Mapping[str, Any], spec_url: str | None) -> str | None:
    servers = data.get("servers")
    if not isinstance(servers, list) or not servers or not isinstance(servers[0], Mapping):
        # OpenAPI 3: no servers means "/", relative to where the document was served.
        return urljoin(spec_url, "/") if spec_url else None
    return server_url(servers[0], spec_url)


def server_url(server: Mapping[str, Any], spec_url: str | None) -> str | None:
    """A server object's URL with its variables' defaults filled in; relative URLs are
    resolved against `spec_url` (None when relative and there is nothing to resolve with)."""
    url = server.get("url")
    if not isinstance(url, str):
        return None
    variables = server.get("variables")
    if isinstance(variables, Mapping):
        for var, spec in variables.items():
            if isinstance(spec, Mapping) and "default" in spec:
                url = url.replace("{" + str(var) + "}", str(spec["default"]))
    if urlsplit(url).scheme:
        return url
    if url.startswith("//"):
        return "https:" + url
    return urljoin(spec_url, url) if spec_url else None


def resolve_ref(data: Mapping[str, Any], ref: str) -> Any:
    """The target of a local `$ref` (`#/a/b`), or None when it is absent or not local."""
    if not ref.startswith("#"):
        return None
    node: Any = data
    pointer = unquote(ref[1:])
    if not pointer:
        return node
    if not pointer.startswith("/"):
        return None
    for part in pointer[1:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping):
            if part not in node:
                return None
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def deref(data: Mapping[str, Any], node: Any, limit: int = 16) -> Any:
    """`node`, following `$ref` chains (parameters, bodies, responses, path items).

    Returns None for a reference that does not resolve or a chain longer than `limit`.
    """
    for _ in range(limit):
        if not isinstance(node, Mapping):
            return node
        ref = node.get("$ref")
        if not isinstance(ref, str):
            return node
        node = resolve_ref(data, ref)
    return None


# ------------------------------------------------------------------------ Swagger 2.0


def swagger_to_openapi(doc: dict[str, Any]) -> dict[str, Any]:
    """Rewrite a Swagger 2.0 document into the OpenAPI 3 shape this source reads.

    Operations get `requestBody` (from `in: body` and `formData` parameters, with the
    `consumes` media types), parameters with a `schema` and a style, and responses with
    `content`. `definitions` stay where they are, so `#/definitions/X` still resolves.
    """
    out = {k: v for k, v in doc.items() if k not in ("swagger", "paths")}
    out["openapi"] = "3.0.0"
    host = doc.get("host")
    if isinstance(host, str) and host:
        raw_schemes = doc.get("schemes")
        schemes = raw_schemes if isinstance(raw_schemes, list) else []
        scheme = "https" if "https" in schemes or not schemes else str(schemes[0])
        base = doc.get("basePath") if isinstance(doc.get("basePath"), str) else ""
        out["servers"] = [{"url": f"{scheme}://{host}{base}"}]
    elif isinstance(doc.get("basePath"), str):
        out["servers"] = [{"url": doc["basePath"]}]
    consumes = _media_list(doc.get("consumes"))
    produces = _media_list(doc.get("produces"))
    paths: dict[str, Any] = {}
    raw_paths = doc.get("paths")
    for path, item in (raw_paths if isinstance(raw_paths, Mapping) else {}).items():
        item = deref(doc, item)
        if not isinstance(item, Mapping):
            continue
        shared = _params(doc, item.get("parameters"))
        new_item: dict[str, Any] = {}
        for method, op in item.items():
            if method in HTTP_METHODS and isinstance(op, Mapping):
                new_item[method] = _swagger_operation(doc, op, shared, consumes, produces)
        paths[path] = new_item
    out["paths"] = paths
    return out


def _media_list(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _params(doc: Mapping[str, Any], raw: Any) -> list[dict[str, Any]]:
    resolved = [deref(doc, p) for p in raw] if isinstance(raw, list) else []
    return [dict(p) for p in resolved if isinstance(p, Mapping)]


def _swagger_operation(
    doc: Mapping[str, Any],
    op: Mapping[str, Any],
    shared: list[dict[str, Any]],
    consumes: list[str],
    produces: list[str],
) -> dict[str, Any]:
    new = {k: v for k, v in op.items() if k not in ("parameters", "responses", "consumes")}
    own = _params(doc, op.get("parameters"))
    merged = {(p.get("name"), p.get("in")): p for p in [*shared, *own]}  # own ones win
    consumes = _media_list(op.get("consumes")) or consumes or ["application/json"]
    produces = _media_list(op.get("produces")) or produces or ["application/json"]
    params, form = [], []
    for p in merged.values():
        where = p.get("in")
        if where == "body":
            body: dict[str, Any] = {
                "content": {m: {"schema": p.get("schema", {})} for m in consumes}
            }
            body["required"] = p.get("required") is True
            if isinstance(p.get("description"), str):
                body["description"] = p["description"]
            new["requestBody"] = body
        elif where == "formData":
            form.append(p)
        elif where in ("path", "query", "header", "cookie"):
            params.append(_swagger_parameter(p))
    if form:
        files = any(p.get("type") == "file" for p in form)
        media = "multipart/form-data"
        if not files and "multipart/form-data" not in consumes:
            media = "application/x-www-form-urlencoded"
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {str(p.get("name")): _swagger_schema(p) for p in form},
        }
        required = [str(p.get("name")) for p in form if p.get("required") is True]
        if required:
            schema["required"] = required
        new["requestBody"] = {"content": {media: {"schema": schema}}, "required": bool(required)}
    if params:
        new["parameters"] = params
    responses: dict[str, Any] = {}
    raw = op.get("responses")
    for code, response in (raw if isinstance(raw, Mapping) else {}).items():
        response = deref(doc, response)
        if not isinstance(response, Mapping):
            continue
        converted = {k: v for k, v in response.items() if k not in ("schema", "examples")}
        if "schema" in response:
            converted["content"] = {m: {"schema": response["schema"]} for m in produces}
        responses[str(code)] = converted
    new["responses"] = responses
    return new


def _swagger_parameter(p: Mapping[str, Any]) -> dict[str, Any]:
    new = {k: v for k, v in p.items() if k not in _SWAGGER_TYPE_KEYS and k != "collectionFormat"}
    new["schema"] = _swagger_schema(p)
    if p.get("type") == "array":
        style, explode = _COLLECTION_FORMATS.get(str(p.get("collectionFormat", "csv")), ("", False))
        if p.get("in") in ("path", "header"):
            style = "simple"
        if style:
            new["style"], new["explode"] = style, explode
    return new


def _swagger_schema(p: Mapping[str, Any]) -> dict[str, Any]:
    schema = {k: p[k] for k in _SWAGGER_TYPE_KEYS if k in p}
    if isinstance(p.get("description"), str):
        schema["description"] = p["description"]
    if schema.get("type") == "file":
        schema.update(type="string", format="binary")
    items = schema.get("items")
    if isinstance(items, Mapping) and "collectionFormat" in items:
        schema["items"] = {k: v for k, v in items.items() if k != "collectionFormat"}
    return schema


# ------------------------------------------------------------------------- messages


def _display(url: str) -> str:
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
