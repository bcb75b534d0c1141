"""The three real OpenAPI documents of the search benchmark, as codemode `Tool`s.

The benchmark catalog is every operation of Cloudflare's, GitHub's and Stripe's OpenAPI
documents in `/work/shared/corpora` (3,173 operations). `load_catalog()` prefers codemode's
own `OpenAPISource`, so the benchmark searches exactly the tools a real deployment would;
when that source is missing or fails, a small converter here builds equivalent tools
(name = operationId, description = summary + description, parameters = path, query and
body property names, tags, endpoint, deprecated) so the search work is not blocked on it.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from codemode.catalog import Tool, to_identifier

__all__ = ["CORPORA", "CORPUS_DIR", "convert", "load_catalog", "load_corpus"]

CORPUS_DIR = Path(os.environ.get("CODEMODE_CORPORA", "/work/shared/corpora"))

CORPORA: dict[str, str] = {
    "cloudflare": "cloudflare-api-schemas-openapi.2024-08-06.json",
    "github": "github-api.github.com.octokit-openapi-23.0.2.json",
    "stripe": "stripe-openapi-spec3.2022-04-12.json",
}
"""Namespace -> file name in `CORPUS_DIR`."""

_HTML_TAG = re.compile(r"</?[a-zA-Z][^<>]*>")
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def _resolve(doc: dict[str, Any], node: Any, depth: int = 0) -> Any:
    """Follow local `$ref`s (`#/components/...`) until a non-reference node."""
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and depth < 20:
        target: Any = doc
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target.get(part.replace("~1", "/").replace("~0", "~"), {})
        node, depth = target, depth + 1
    return node


def _properties(doc: dict[str, Any], schema: Any, depth: int = 0) -> dict[str, list[Any]]:
    """Top-level properties of an object schema, through `$ref`, `allOf` and `oneOf`:
    name -> every (resolved) schema a branch gives it, so the enums of a union's
    branches (fifty zone settings, each an `id` enum of one value) are all kept."""
    schema = _resolve(doc, schema)
    if not isinstance(schema, dict) or depth > 5:
        return {}
    props: dict[str, list[Any]] = {}
    own = schema.get("properties")
    if isinstance(own, dict):
        for name, sub in own.items():
            props.setdefault(name, []).append(_resolve(doc, sub))
    for key in ("allOf", "oneOf", "anyOf"):
        for branch in schema.get(key) or ():
            for name, subs in _properties(doc, branch, depth + 1).items():
                props.setdefault(name, []).extend(subs)
    return props


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any], list[Any]]]:
    for path, item in doc.get("paths", {}).items():
        item = _resolve(doc, item)
        shared = item.get("parameters") or []
        for method in _METHODS:
            op = item.get(method)
            if isinstance(op, dict):
                yield method.upper(), path, op, shared


def _describe(node: Any) -> str:
    text = node.get("description") if isinstance(node, dict) else None
    return text if isinstance(text, str) else ""


def convert(namespace: str, doc: dict[str, Any]) -> list[Tool]:
    """One `Tool` per operation of an OpenAPI 3 document (the fallback converter)."""
    tools: list[Tool] = []
    taken: set[str] = set()
    for method, path, op, shared in _operations(doc):
        name = str(op["operationId"])
        identifier = base = to_identifier(name, snake_case=True)
        suffix = 2
        while identifier in taken:
            identifier, suffix = f"{base}_{suffix}", suffix + 1
        taken.add(identifier)
        properties: dict[str, Any] = {}
        for param in [*shared, *(op.get("parameters") or [])]:
            param = _resolve(doc, param)
            if isinstance(param, dict) and isinstance(param.get("name"), str):
                properties[param["name"]] = {"description": _describe(param)}
        body = _resolve(doc, op.get("requestBody"))
        if isinstance(body, dict):
            for media in (body.get("content") or {}).values():
                for prop, subs in _properties(doc, media.get("schema")).items():
                    entry = properties.setdefault(prop, {"description": _describe(subs[0])})
                    enum = sorted(
                        {v for sub in subs for v in sub.get("enum") or () if isinstance(v, str)}
                    )
                    if enum:
                        entry["enum"] = enum
        summary, description = op.get("summary") or "", op.get("description") or ""
        description = _HTML_TAG.sub("", description)  # Stripe writes HTML; the source strips it
        tools.append(
            Tool(
                namespace=namespace,
                name=name,
                identifier=identifier,
                description="\n\n".join(p for p in (summary, description) if p),
                input_schema={"type": "object", "properties": properties},
                tags=tuple(op.get("tags") or ()),
                endpoint=f"{method} {path}",
                deprecated=bool(op.get("deprecated")),
            )
        )
    return tools


def load_corpus(namespace: str) -> list[Tool]:
    """The tools of one corpus via the fallback converter."""
    with (CORPUS_DIR / CORPORA[namespace]).open(encoding="utf-8") as f:
        return convert(namespace, json.load(f))


async def _load_with_source(namespace: str) -> list[Tool]:
    from codemode.sources.openapi import OpenAPISource

    source = OpenAPISource(namespace, spec=str(CORPUS_DIR / CORPORA[namespace]))
    await source.start()
    try:
        return list(source.tools())
    finally:
        await source.aclose()


def load_catalog(*, prefer_source: bool = True) -> tuple[list[Tool], str]:
    """Every tool of the three corpora, and which loader produced them.

    The loader is `"OpenAPISource"` when codemode's OpenAPI source is importable and loads
    all three documents, else `"converter (<reason>)"`.
    """
    if prefer_source:
        try:
            tools: list[Tool] = []
            for namespace in CORPORA:
                tools.extend(asyncio.run(_load_with_source(namespace)))
            return tools, "OpenAPISource"
        except Exception as exc:  # any failure: fall back, but say why
            reason = f"{type(exc).__name__}: {exc}"[:160]
    else:
        reason = "requested"
    tools = [tool for namespace in CORPORA for tool in load_corpus(namespace)]
    return tools, f"converter ({reason})"
