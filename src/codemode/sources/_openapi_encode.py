"""Tool arguments -> HTTP request parts, for `codemode.sources.openapi`.

Serialization follows the OpenAPI parameter styles: path parameters `simple` (also
`label`, `matrix`), query parameters `form` (arrays as repeated keys when `explode` is
true, the default; comma-separated when false), `spaceDelimited`, `pipeDelimited` and
`deepObject` (`filter[status]=open`). Bodies are JSON, form-encoded (nested objects in
bracket notation, `metadata[key]=value`, as Stripe expects), multipart (string fields
only) or, for other media types, the text given.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from codemode.errors import ToolError
from codemode.sources._openapi_ops import Arg, Plan

__all__ = ["RequestParts", "build_request", "form_pairs", "multipart_body", "scalar"]

_PLACEHOLDER = re.compile(r"{([^{}]+)}")


@dataclass(kw_only=True)
class RequestParts:
    """One request, before auth: what the HTTP layer sends."""

    method: str
    url: str
    """Base URL + path, without the query."""
    params: list[tuple[str, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None


def scalar(value: Any) -> str:
    """One value as text: JSON spelling for booleans and null, compact JSON for containers."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return json.dumps(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def build_request(
    plan: Plan, base_url: str, arguments: Mapping[str, Any], qualified: str
) -> RequestParts:
    """The request for one call; ToolError for an unknown or missing argument."""
    path_values: dict[str, str] = {}
    parts = RequestParts(method=plan.method, url="")
    cookies: list[str] = []
    body: dict[str, Any] = {}
    whole: Any = None
    has_whole = False
    for prop, value in arguments.items():
        arg = plan.args.get(prop)
        if arg is None:
            valid = ", ".join(plan.args) or "none"
            raise ToolError(
                f"{qualified}() got an unexpected argument {prop!r} (parameters: {valid})",
                tool=qualified,
                parameter=prop,
            )
        if arg.location == "body":
            if value is not None or arg.nullable:
                body[arg.name] = value
            continue
        if arg.location == "whole":
            has_whole, whole = value is not None, value
            continue
        if value is None:  # an optional parameter left at its default
            continue
        if arg.location == "path":
            path_values[arg.name] = _path_value(arg, value)
        elif arg.location == "query":
            parts.params += _query_pairs(arg, value)
        elif arg.location == "header":
            parts.headers[arg.name] = _joined(value, arg.explode)
        else:
            cookies.append(f"{arg.name}={quote(_joined(value, False), safe='')}")
    parts.url = base_url.rstrip("/") + _fill_path(plan, path_values, qualified)
    if cookies:
        parts.headers["Cookie"] = "; ".join(cookies)
    if has_whole or body:
        payload = whole if has_whole else body
        parts.content, content_type = _encode_body(plan, payload)
        parts.headers["Content-Type"] = content_type
    return parts


def _fill_path(plan: Plan, values: Mapping[str, str], qualified: str) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            prop = next(
                (p for p, a in plan.args.items() if a.location == "path" and a.name == name), name
            )
            raise ToolError(
                f"{qualified}() is missing required argument {prop!r}",
                tool=qualified,
                parameter=prop,
            )
        return values[name]

    return _PLACEHOLDER.sub(fill, plan.path)


def _segment(value: Any) -> str:
    text = quote(scalar(value), safe="")
    # "." and ".." would move up the URL's path once normalised: keep them literal.
    return text.replace(".", "%2E") if text in (".", "..") else text


def _path_value(arg: Arg, value: Any) -> str:
    if arg.json:
        return _segment(scalar(value) if isinstance(value, str) else json.dumps(value))
    if isinstance(value, list | tuple):
        items = [_segment(v) for v in value]
        joiner = (
            ","
            if not arg.explode
            else {"label": ".", "matrix": f";{arg.name}="}.get(arg.style, ",")
        )
        text = joiner.join(items)
    elif isinstance(value, Mapping):
        pairs = [(_segment(k), _segment(v)) for k, v in value.items()]
        text = ",".join(f"{k}={v}" if arg.explode else f"{k},{v}" for k, v in pairs)
    else:
        text = _segment(value)
    if arg.style == "label":
        return "." + text
    if arg.style == "matrix":
        return f";{arg.name}={text}"
    return text


def _query_pairs(arg: Arg, value: Any) -> list[tuple[str, str]]:
    name = arg.name
    if arg.json:
        return [(name, value if isinstance(value, str) else scalar(value))]
    if arg.style == "deepObject":
        out: list[tuple[str, str]] = []
        _brackets(name, value, out)
        return out
    if isinstance(value, list | tuple):
        if arg.style == "spaceDelimited":
            return [(name, " ".join(scalar(v) for v in value))]
        if arg.style == "pipeDelimited":
            return [(name, "|".join(scalar(v) for v in value))]
        if arg.explode:
            return [(name, scalar(v)) for v in value]
        return [(name, ",".join(scalar(v) for v in value))]
    if isinstance(value, Mapping):
        if arg.explode:
            return [(str(k), scalar(v)) for k, v in value.items()]
        return [(name, ",".join(f"{k},{scalar(v)}" for k, v in value.items()))]
    return [(name, scalar(value))]


def _joined(value: Any, explode: bool) -> str:
    """A header or cookie value (`simple` style)."""
    if isinstance(value, list | tuple):
        return ",".join(scalar(v) for v in value)
    if isinstance(value, Mapping):
        sep = "=" if explode else ","
        return ",".join(f"{k}{sep}{scalar(v)}" for k, v in value.items())
    return scalar(value)


def _brackets(prefix: str, value: Any, out: list[tuple[str, str]]) -> None:
    """`a[b][0][c]=v` bracket notation for nested objects and arrays (Stripe, Rails, PHP)."""
    if isinstance(value, Mapping):
        for key, sub in value.items():
            _brackets(f"{prefix}[{key}]", sub, out)
    elif isinstance(value, list | tuple):
        for i, sub in enumerate(value):
            _brackets(f"{prefix}[{i}]", sub, out)
    elif value is not None:
        out.append((prefix, scalar(value)))


def form_pairs(
    payload: Mapping[str, Any], encoding: Mapping[str, tuple[str, bool]], *, multipart: bool
) -> list[tuple[str, str]]:
    """The fields of a form body.

    Objects use bracket notation (`metadata[key]=value`); arrays are repeated keys unless
    the property's `encoding` says `deepObject` (`expand[0]=a`) or `explode: false`
    (comma-separated). In multipart bodies objects without a deepObject encoding are sent
    as JSON text, OpenAPI's default for object parts.
    """
    out: list[tuple[str, str]] = []
    for key, value in payload.items():
        if value is None:
            continue
        style, explode = encoding.get(key, ("form", True))
        if isinstance(value, Mapping):
            if multipart and style != "deepObject":
                out.append((key, scalar(value)))
            else:
                _brackets(key, value, out)
        elif isinstance(value, list | tuple):
            if style == "deepObject" or any(isinstance(v, Mapping | list) for v in value):
                _brackets(key, value, out)
            elif explode:
                out += [(key, scalar(v)) for v in value]
            else:
                out.append((key, ",".join(scalar(v) for v in value)))
        else:
            out.append((key, scalar(value)))
    return out


def multipart_body(fields: list[tuple[str, str]]) -> tuple[bytes, str]:
    """A multipart/form-data body of text fields, and its Content-Type."""
    boundary = secrets.token_hex(16)
    chunks: list[bytes] = []
    for name, value in fields:
        safe = name.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "").replace("\n", "")
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{safe}"\r\n\r\n'.encode()
            + value.encode("utf-8")
            + b"\r\n"
        )
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def _encode_body(plan: Plan, payload: Any) -> tuple[bytes, str]:
    media = plan.media_type or "application/json"
    if plan.body == "json":
        content_type = media if "*" not in media else "application/json"
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str)
        return text.encode("utf-8"), content_type
    if plan.body in ("form", "multipart"):
        if not isinstance(payload, Mapping):
            raise ToolError(f"the request body of {plan.method} {plan.path} must be an object")
        fields = form_pairs(payload, plan.encoding, multipart=plan.body == "multipart")
        if plan.body == "multipart":
            return multipart_body(fields)
        return urlencode(fields).encode("ascii"), "application/x-www-form-urlencoded"
    content_type = media if "*" not in media else "application/octet-stream"
    data = payload if isinstance(payload, str) else scalar(payload)
    return data.encode("utf-8"), content_type
