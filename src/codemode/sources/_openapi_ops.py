"""OpenAPI operations -> `Tool`s and request plans, for `codemode.sources.openapi`.

Each operation becomes one tool whose keyword arguments are its path, query, header and
cookie parameters plus its request body: an object body's properties become keywords of
their own, anything else is one `body` keyword. A name used twice (a query parameter and
a body property both called `name`) keeps its first owner; the later one is suffixed with
its location (`name_body`). The `Plan` records, for every keyword, where and under which
name it travels, and how it is serialized (`style`/`explode`).
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from codemode.catalog import Tool, ToolAnnotations
from codemode.sources._openapi_load import deref
from codemode.sources._openapi_schema import SchemaTable, admits_null

__all__ = [
    "PAGE_PARAMS",
    "Arg",
    "OperationBuilder",
    "Plan",
    "clean_text",
    "is_json_media",
]

Location = Literal["path", "query", "header", "cookie", "body", "whole"]
BodyKind = Literal["none", "json", "form", "multipart", "raw"]

DESCRIPTION_LIMIT = 1000
_PARAM_DOC_LIMIT = 400
_LOCATIONS = ("path", "query", "header", "cookie")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Headers the HTTP layer sets itself, and credentials, which only the host supplies (a
# program has none to give, and must not be invited to embed one).
_HOST_HEADERS = frozenset(
    {"content-type", "content-length", "host", "transfer-encoding", "authorization"}
)
PAGE_PARAMS = frozenset(
    {
        "page",
        "per_page",
        "page_size",
        "pageSize",
        "limit",
        "offset",
        "cursor",
        "starting_after",
        "after",
        "page_token",
        "pageToken",
        "next_token",
        "nextToken",
        "next_cursor",
        "nextCursor",
        "next_page_token",
        "nextPageToken",
        "continuation_token",
        "continuationToken",
    }
)
_PAGE_FIELDS = frozenset(
    {"has_more", "next_cursor", "nextCursor", "next_page_token", "nextPageToken", "cursor"}
    | {"next", "result_info", "next_page", "links", "pagination", "response_metadata"}
)
_HTML_TAGS = re.compile(
    r"</?(?:a|abbr|b|blockquote|br|caption|center|code|dd|del|details|div|dl|dt|em|figure|"
    r"font|h[1-6]|hr|i|img|ins|kbd|li|ol|p|pre|s|samp|section|small|span|strike|strong|sub|"
    r"summary|sup|table|tbody|td|tfoot|th|thead|tr|tt|u|ul|var)\b[^<>]*/?>",
    re.IGNORECASE,
)
_MD_LINK = re.compile(r"!?\[([^\]\n]*)\]\((?:[^()\s]|\([^()\s]*\))*\)")
_PARAGRAPHS = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")
# A line break before a list item survives whitespace collapsing: lists stay lists.
_LIST_ITEM = re.compile(r"\s*\n(?=\s*(?:[-*+]|\d+[.)])\s)")


@dataclass(frozen=True, slots=True)
class Arg:
    """Where one keyword argument goes in the request."""

    location: Location
    name: str
    """The name on the wire (the parameter's or body property's original name)."""
    style: str = "form"
    explode: bool = True
    json: bool = False
    """The parameter is declared with `content` (its value is sent JSON-encoded)."""
    nullable: bool = False
    """For body properties: an explicit None is sent as null (else it is left out)."""


@dataclass(frozen=True, kw_only=True)
class Plan:
    """Everything needed to turn one tool call into an HTTP request."""

    method: str
    path: str
    server: str | None = None
    """A server URL the operation declares for itself (used unless base_url was given)."""
    args: Mapping[str, Arg] = field(default_factory=dict)
    """Input schema property name -> where it goes."""
    body: BodyKind = "none"
    media_type: str | None = None
    encoding: Mapping[str, tuple[str, bool]] = field(default_factory=dict)
    """Form/multipart body property -> (style, explode), from the media type's `encoding`."""
    pageable: bool = False
    """Some sign of pagination: a page/cursor parameter, a Link header, a cursor field."""

    @property
    def idempotent(self) -> bool:
        """Safe to send again (retries): GET, HEAD, OPTIONS, PUT, DELETE."""
        return self.method in ("GET", "HEAD", "OPTIONS", "PUT", "DELETE")

    def query_property(self, wire: str) -> str | None:
        """The property that fills query parameter `wire`, if the operation has one."""
        for prop, arg in self.args.items():
            if arg.location == "query" and arg.name == wire:
                return prop
        return None


def is_json_media(media: str) -> bool:
    """`application/json`, `application/vnd.x+json`, `text/json`, ... (parameters ignored)."""
    base = media.split(";", 1)[0].strip().lower()
    return base.endswith(("/json", "+json"))


@functools.lru_cache(maxsize=16384)  # shared parameters repeat their descriptions
def clean_text(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    """Markdown/HTML prose made short: tags stripped, links reduced to their text,
    whitespace collapsed (paragraphs kept), cut near `limit` at a sentence boundary."""
    if "<" in text:
        text = _HTML_TAGS.sub("", text)
    if "&" in text:
        text = html.unescape(text)
    if "](" in text:
        text = _MD_LINK.sub(r"\1", text)
    paragraphs = (_collapse(p) for p in _PARAGRAPHS.split(text))
    text = "\n\n".join(p for p in paragraphs if p)
    if len(text) <= limit:
        return text
    cut = text[:limit]
    ends = [m.end() for m in _SENTENCE_END.finditer(cut)]
    at = ends[-1] if ends and ends[-1] > limit // 2 else cut.rfind(" ")
    return cut[: at if at > 0 else limit].rstrip() + " …"


def _collapse(paragraph: str) -> str:
    """One paragraph with its whitespace collapsed, except before list items."""
    lines = (" ".join(line.split()) for line in _LIST_ITEM.sub("\0", paragraph).split("\0"))
    return "\n".join(line for line in lines if line)


def _text(value: Any, limit: int = DESCRIPTION_LIMIT) -> str:
    return clean_text(value, limit) if isinstance(value, str) and value.strip() else ""


class OperationBuilder:
    """Builds the tools of one document's operations, sharing one `SchemaTable`."""

    def __init__(
        self,
        namespace: str,
        data: Mapping[str, Any],
        schemas: SchemaTable,
        *,
        hidden: Mapping[str, frozenset[str]],
    ) -> None:
        """`hidden` maps a location to the parameter names (lower-case for headers) the
        host supplies itself (auth, configured headers); the model never sees them."""
        self._namespace = namespace
        self._data = data
        self._schemas = schemas
        self._hidden = hidden

    def build(
        self,
        path: str,
        method: str,
        op: Mapping[str, Any],
        item: Mapping[str, Any],
        identifier: str,
        name: str,
    ) -> tuple[Tool, Plan]:
        """The tool for one operation (`identifier` already unique in the namespace)."""
        verb = method.upper()
        endpoint = f"{verb} {path}"
        refs: set[str] = set()
        props: dict[str, Any] = {}
        required: list[str] = []
        args: dict[str, Arg] = {}

        def claim(wire: str, location: str) -> str:
            prop, n = wire, 1
            if prop in props:
                prop = base = f"{wire}_{location if location != 'whole' else 'body'}"
                while prop in props:
                    n += 1
                    prop = f"{base}{n}"
            return prop

        params = self._parameters(path, op, item)
        for p in params:
            where, wire = p["in"], p["name"]
            schema, as_json = self._param_schema(p, refs)
            prop = claim(wire, where)
            props[prop] = schema
            style = p.get("style")
            default_style = "simple" if where in ("path", "header") else "form"
            style = style if isinstance(style, str) else default_style
            explode = p.get("explode")
            explode = explode if isinstance(explode, bool) else style == "form"
            args[prop] = Arg(where, wire, style, explode, as_json)
            if where == "path" or p.get("required") is True:
                required.append(prop)

        body, media, encoding = self._body(op, refs, props, required, args, claim)
        output, link = self._output(op)
        input_schema: dict[str, Any] = {"type": "object", "properties": props}
        if required:
            input_schema["required"] = required
        if refs:
            input_schema["$defs"] = self._schemas.defs_for(refs)
        deprecated = op.get("deprecated") is True
        pageable = bool(link or PAGE_PARAMS.intersection(a.name for a in args.values()))
        if not pageable and output is not None:
            view = self._schemas.object_view(output)
            pageable = view is not None and bool(_PAGE_FIELDS.intersection(view[0]))
        tool = Tool(
            namespace=self._namespace,
            name=name,
            identifier=identifier,
            description=_description(op, endpoint, deprecated),
            input_schema=input_schema,
            output_schema=output,
            annotations=ToolAnnotations(
                read_only=verb in _SAFE_METHODS,
                destructive=True if verb == "DELETE" else None,
                idempotent=verb in ("PUT", "DELETE") or verb in _SAFE_METHODS,
                open_world=True,
            ),
            tags=tuple(t for t in op.get("tags", ()) if isinstance(t, str))
            if isinstance(op.get("tags"), list)
            else (),
            endpoint=endpoint,
            deprecated=deprecated,
        )
        plan = Plan(
            method=verb,
            path=path,
            server=_own_server(op) or _own_server(item),
            args=args,
            body=body,
            media_type=media,
            encoding=encoding,
            pageable=pageable,
        )
        return tool, plan

    # -- parameters -------------------------------------------------------------------

    def _parameters(
        self, path: str, op: Mapping[str, Any], item: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """Path-item then operation parameters (the operation's win), by location,
        without those the host supplies; path placeholders nobody declared are added."""
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for raw in (item.get("parameters"), op.get("parameters")):
            for p in raw if isinstance(raw, list) else ():
                p = deref(self._data, p)
                if not isinstance(p, Mapping):
                    continue
                name, where = p.get("name"), p.get("in")
                if not isinstance(name, str) or where not in _LOCATIONS:
                    continue
                key = name.lower() if where == "header" else name
                if where == "header" and key in _HOST_HEADERS:
                    continue
                if key in self._hidden.get(where, ()):
                    continue
                found[(where, key)] = dict(p)
        for placeholder in re.findall(r"{([^{}]+)}", path):
            if ("path", placeholder) not in found:
                found[("path", placeholder)] = {"name": placeholder, "in": "path"}
        return sorted(found.values(), key=lambda p: _LOCATIONS.index(p["in"]))

    def _param_schema(self, p: Mapping[str, Any], refs: set[str]) -> tuple[dict[str, Any], bool]:
        as_json = False
        raw = p.get("schema")
        if raw is None and isinstance(p.get("content"), Mapping):
            media = next(iter(p["content"].values()), None)
            raw = media.get("schema") if isinstance(media, Mapping) else None
            as_json = True
        converted = self._schemas.convert(raw, refs) if raw is not None else {"type": "string"}
        schema = dict(converted) if isinstance(converted, Mapping) else {}
        doc = _text(p.get("description"), _PARAM_DOC_LIMIT)
        if doc:
            schema["description"] = doc
        elif isinstance(schema.get("description"), str):
            schema["description"] = _text(schema["description"], _PARAM_DOC_LIMIT)
        if p.get("deprecated") is True:
            schema["deprecated"] = True
        return schema, as_json

    # -- body -------------------------------------------------------------------------

    def _body(
        self,
        op: Mapping[str, Any],
        refs: set[str],
        props: dict[str, Any],
        required: list[str],
        args: dict[str, Arg],
        claim: Callable[[str, str], str],
    ) -> tuple[BodyKind, str | None, dict[str, tuple[str, bool]]]:
        body = deref(self._data, op.get("requestBody"))
        content = body.get("content") if isinstance(body, Mapping) else None
        if not isinstance(content, Mapping) or not content:
            return "none", None, {}
        assert isinstance(body, Mapping)
        media, kind = _pick_media(content)
        entry = content[media] if isinstance(content[media], Mapping) else {}
        body_required = body.get("required") is True
        raw = entry.get("schema")
        doc = _text(body.get("description"), _PARAM_DOC_LIMIT)
        if kind == "raw":
            text = f"The request body, sent as {media}."
            schema: dict[str, Any] = {"type": "string", "description": f"{doc} {text}".strip()}
            self._whole(schema, body_required, props, required, args, claim)
            return kind, media, {}
        converted = self._schemas.convert(raw, refs) if raw is not None else {}
        if _empty_object(self._schemas.target(converted)):
            return "none", None, {}  # e.g. Stripe's GETs declare a body that takes nothing
        encoding: dict[str, tuple[str, bool]] = {}
        if kind in ("form", "multipart") and isinstance(entry.get("encoding"), Mapping):
            for prop, enc in entry["encoding"].items():
                if isinstance(enc, Mapping):
                    raw_style = enc.get("style")
                    style = raw_style if isinstance(raw_style, str) else "form"
                    explode = enc.get("explode")
                    encoding[prop] = (style, explode if isinstance(explode, bool) else True)
        view = self._schemas.object_view(converted)
        if raw is None:  # a body of unknown shape: optional, whatever the document says
            body_required = False
        if view is None:
            schema = dict(converted) if isinstance(converted, Mapping) else {}
            if doc:
                schema["description"] = doc
            self._whole(schema, body_required, props, required, args, claim)
            return kind, media, encoding
        fields, needed, _ = view
        for wire, sub in fields.items():
            if not isinstance(wire, str):
                continue
            target = self._schemas.target(sub)
            if isinstance(target, Mapping) and target.get("readOnly") is True:
                continue  # the server sets it; the model cannot send it
            prop = claim(wire, "body")
            props[prop] = sub if isinstance(sub, Mapping) else {}
            args[prop] = Arg("body", wire, nullable=admits_null(target) or admits_null(sub))
            if body_required and wire in needed:
                required.append(prop)
        return kind, media, encoding

    @staticmethod
    def _whole(
        schema: dict[str, Any],
        body_required: bool,
        props: dict[str, Any],
        required: list[str],
        args: dict[str, Arg],
        claim: Callable[[str, str], str],
    ) -> None:
        prop = claim("body", "whole")
        props[prop] = schema
        args[prop] = Arg("whole", "body")
        if body_required:
            required.append(prop)

    # -- output -----------------------------------------------------------------------

    def _output(self, op: Mapping[str, Any]) -> tuple[dict[str, Any] | None, bool]:
        """The first 2xx JSON response schema (with its `$defs`), and whether a 2xx
        response declares a Link header."""
        responses = op.get("responses")
        if not isinstance(responses, Mapping):
            return None, False
        output: dict[str, Any] | None = None
        link = False
        for code in sorted(str(c) for c in responses):
            if not code.startswith("2"):
                continue
            response = deref(self._data, responses.get(code, responses.get(_int(code))))
            if not isinstance(response, Mapping):
                continue
            headers = response.get("headers")
            if isinstance(headers, Mapping) and any(str(h).lower() == "link" for h in headers):
                link = True
            content = response.get("content")
            if output is not None or not isinstance(content, Mapping):
                continue
            for media, entry in content.items():
                if is_json_media(str(media)) and isinstance(entry, Mapping) and "schema" in entry:
                    refs: set[str] = set()
                    converted = self._schemas.convert(entry["schema"], refs)
                    output = dict(converted) if isinstance(converted, Mapping) else {}
                    if refs:
                        defs = self._schemas.defs_for(refs)
                        inner = output.get("$defs")
                        output["$defs"] = {**inner, **defs} if isinstance(inner, dict) else defs
                    break
        return output, link


def _int(code: str) -> int | str:
    return int(code) if code.isdigit() else code


def _pick_media(content: Mapping[str, Any]) -> tuple[str, BodyKind]:
    """The media type to send: JSON first, then form, multipart, anything else."""
    medias = [str(m) for m in content]
    for media in medias:
        if is_json_media(media):
            return media, "json"
    for media in medias:
        base = media.split(";", 1)[0].strip().lower()
        if base == "application/x-www-form-urlencoded":
            return media, "form"
    for media in medias:
        if media.split(";", 1)[0].strip().lower() == "multipart/form-data":
            return media, "multipart"
    return medias[0], "raw"


def _empty_object(schema: Any) -> bool:
    """An object schema that admits no properties at all."""
    return (
        isinstance(schema, Mapping)
        and schema.get("properties") in ({}, None)
        and schema.get("additionalProperties") is False
        and not {"allOf", "anyOf", "oneOf", "patternProperties"} & schema.keys()
    )


def _own_server(node: Mapping[str, Any]) -> str | None:
    servers = node.get("servers")
    if isinstance(servers, list) and servers and isinstance(servers[0], Mapping):
        url = servers[0].get("url")
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            return url
    return None


def _description(op: Mapping[str, Any], endpoint: str, deprecated: bool) -> str:
    summary = _text(op.get("summary"), 300)
    description = _text(op.get("description"))
    if summary and description:
        norm = " ".join(summary.split()).rstrip(".").lower()
        text = (
            description if description.lower().startswith(norm) else f"{summary}\n\n{description}"
        )
    else:
        text = summary or description or endpoint
    if len(text) > DESCRIPTION_LIMIT:
        text = clean_text(text, DESCRIPTION_LIMIT)
    return "[deprecated] " + text if deprecated else text
