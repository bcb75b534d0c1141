"""Tests for `codemode.typegen`: JSON Schema -> `.pyi` stubs.

The stubs have two consumers, so both check them: mypy (strict, one subprocess for all
stubs) and the type checker bundled with Monty (ty), which is what checks the model's
programs in the sandbox.
"""

import ast
import copy
import keyword
import random
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic_monty import ExternalModule, Monty, MontyTypingError

from codemode.catalog import Tool
from codemode.typegen import (
    FALLBACK_NOTE,
    MAX_DEPTH,
    namespace_stub,
    parameter_names,
    python_type,
    tool_signature,
    tool_stub,
)

# ----------------------------------------------------------------------- schema table

FILE = {
    "type": "object",
    "description": "A file or directory.",
    "properties": {
        "name": {"type": "string"},
        "size": {"type": "integer", "minimum": 0},
        "is_dir": {"type": "boolean"},
        "modified": {"type": "string", "format": "date-time"},
    },
    "required": ["name", "size", "is_dir"],
}
TREE = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "children": {"type": "array", "items": {"$ref": "#/$defs/TreeNode"}},
    },
    "required": ["name"],
}
JSON_VALUE = {
    "anyOf": [
        {"type": "string"},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "null"},
        {"type": "array", "items": {"$ref": "#/$defs/Json"}},
        {"type": "object", "additionalProperties": {"$ref": "#/$defs/Json"}},
    ]
}


def _deep(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for i in range(levels):
        schema = {"type": "object", "properties": {f"level{i}": schema}, "required": [f"level{i}"]}
    return schema


def _obj(props: dict[str, Any], *required: str, **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": list(required), **extra}


STR, INT, NUM, BOOL = (
    {"type": "string"},
    {"type": "integer"},
    {"type": "number"},
    {"type": "boolean"},
)

# (tool name, input schema, output schema or None, description)
CASES: list[tuple[str, Any, Any, str]] = [
    (
        "list_files",
        _obj({"path": STR, "recursive": {**BOOL, "default": False}}, "path"),
        {"type": "array", "items": {"$ref": "#/$defs/File"}, "$defs": {"File": FILE}},
        "List the files in a directory.",
    ),
    (
        "read_file",
        _obj(
            {
                "path": {**STR, "minLength": 1},
                "encoding": {"enum": ["utf-8", "latin-1"], "default": "utf-8"},
                "offset": {**INT, "minimum": 0, "default": 0},
                "limit": {**INT, "nullable": True},
            },
            "path",
        ),
        _obj({"content": STR, "truncated": BOOL}, "content", "truncated"),
        "Read a file.",
    ),
    (
        "write_file",
        _obj(
            {"path": STR, "content": STR, "overwrite": {**BOOL, "default": True}}, "path", "content"
        ),
        None,
        "",
    ),
    (
        "tree",
        _obj({"root": {"$ref": "#/$defs/TreeNode"}}, "root", **{"$defs": {"TreeNode": TREE}}),
        {"$ref": "#/$defs/TreeNode", "$defs": {"TreeNode": TREE}},
        "Recursive tree in and out.",
    ),
    (
        "linked_list",
        _obj(
            {"head": {"$ref": "#/definitions/Node"}},
            "head",
            definitions={
                "Node": _obj(
                    {
                        "value": INT,
                        "next": {"anyOf": [{"$ref": "#/definitions/Node"}, {"type": "null"}]},
                    },
                    "value",
                    "next",
                )
            },
        ),
        None,
        "A linked list via definitions/.",
    ),
    (
        "create_issue",
        _obj(
            {
                "title": STR,
                "body": {**STR, "nullable": True},
                "labels": {"type": "array", "items": STR, "uniqueItems": True},
                "assignees": {"type": "array", "items": _obj({"login": STR, "id": INT}, "login")},
                "milestone": {"type": ["integer", "null"]},
            },
            "title",
        ),
        _obj({"number": INT, "html_url": {**STR, "format": "uri"}}, "number"),
        "Create an issue.\n\nRequires push access.",
    ),
    (
        "search_code",
        _obj(
            {
                "q": {**STR, "minLength": 1, "maxLength": 256},
                "per-page": {**INT, "default": 30, "minimum": 1, "maximum": 100},
                "page": {**INT, "default": 1},
                "sort": {
                    "type": "string",
                    "enum": ["indexed", "best-match"],
                    "default": "best-match",
                },
                "order": {"enum": ["asc", "desc"]},
            },
            "q",
        ),
        None,
        "Search code.",
    ),
    (
        "keywords",
        _obj(
            dict.fromkeys(("from", "class", "import", "lambda", "def", "global"), STR),
            "from",
            "class",
        ),
        None,
        "Parameters that are Python keywords.",
    ),
    (
        "weird_names",
        _obj(
            {
                "content-type": STR,
                "@id": STR,
                "x.y": INT,
                "2fa": BOOL,
                "名前": STR,
                "": STR,
                "per_page": INT,
                "per-page": INT,
                "match": STR,
                "type": STR,
            },
            "content-type",
        ),
        None,
        "Names that are not identifiers.",
    ),
    (
        "get_weather",
        _obj({"location": STR, "units": {"enum": ["metric", "imperial"]}}, "location"),
        _obj(
            {
                "current": _obj(
                    {"temperature": NUM, "humidity": {**NUM, "minimum": 0, "maximum": 100}},
                    "temperature",
                ),
                "forecast": {
                    "type": "array",
                    "items": _obj(
                        {"day": {**STR, "format": "date"}, "high": NUM, "low": NUM}, "day"
                    ),
                },
            },
            "current",
        ),
        "Weather now and soon.",
    ),
    (
        "send_email",
        _obj(
            {
                "to": {"type": "array", "items": {**STR, "format": "email"}, "minItems": 1},
                "cc": {"type": "array", "items": {**STR, "format": "email"}},
                "subject": STR,
                "attachments": {
                    "type": "array",
                    "items": _obj(
                        {
                            "filename": STR,
                            "content": {**STR, "format": "byte"},
                            "content-type": STR,
                        },
                        "filename",
                        "content",
                    ),
                },
            },
            "to",
            "subject",
        ),
        None,
        "Send an email.",
    ),
    (
        "http_request",
        _obj(
            {
                "method": {"enum": ["GET", "POST", "PUT", "DELETE"], "default": "GET"},
                "url": {**STR, "format": "uri"},
                "headers": {"type": "object", "additionalProperties": STR},
                "body": {"anyOf": [STR, {"type": "object"}, {"type": "null"}]},
                "timeout": {**NUM, "exclusiveMinimum": 0, "default": 30.0},
            },
            "url",
        ),
        _obj({"status": INT, "headers": {"additionalProperties": STR}, "body": STR}, "status"),
        "Make an HTTP request.",
    ),
    (
        "json_roundtrip",
        _obj({"value": {"$ref": "#/$defs/Json"}}, "value", **{"$defs": {"Json": JSON_VALUE}}),
        None,
        "Recursive non-object.",
    ),
    (
        "add_pet",
        _obj(
            {"pet": {"$ref": "#/components/schemas/Pet"}},
            "pet",
            components={
                "schemas": {
                    "NewPet": _obj({"name": STR, "tag": STR}, "name"),
                    "Pet": {
                        "allOf": [
                            {"$ref": "#/components/schemas/NewPet"},
                            _obj({"id": {**INT, "format": "int64"}}, "id"),
                        ]
                    },
                }
            },
        ),
        {
            "$ref": "#/components/schemas/Pet",
            "components": {
                "schemas": {
                    "NewPet": _obj({"name": STR, "tag": STR}, "name"),
                    "Pet": {
                        "allOf": [{"$ref": "#/components/schemas/NewPet"}, _obj({"id": INT}, "id")]
                    },
                }
            },
        },
        "OpenAPI petstore allOf.",
    ),
    (
        "adopt",
        _obj(
            {
                "animal": {
                    "oneOf": [
                        {
                            "title": "Cat",
                            **_obj({"pet_type": {"const": "cat"}, "lives": INT}, "pet_type"),
                        },
                        {
                            "title": "Dog",
                            **_obj({"pet_type": {"const": "dog"}, "bark": BOOL}, "pet_type"),
                        },
                    ],
                    "discriminator": {"propertyName": "pet_type"},
                }
            },
            "animal",
        ),
        None,
        "Discriminated oneOf.",
    ),
    (
        "maybe_user",
        _obj({"user": {"oneOf": [_obj({"id": INT}, "id"), {"type": "null"}]}}, "user"),
        None,
        "oneOf with null.",
    ),
    ("empty_input", {}, None, "Input schema is {}."),
    ("bare_object", {"type": "object"}, {"type": "object"}, "No properties at all."),
    ("open_input", _obj({"name": STR}, "name", additionalProperties=True), None, "Extra keys ok."),
    ("open_typed", _obj({"name": STR}, additionalProperties=INT), None, "Extra keys are ints."),
    (
        "wrapped_result",
        _obj({"a": INT, "b": INT}, "a", "b"),
        {**_obj({"result": INT}, "result"), "x-fastmcp-wrap-result": True},
        "FastMCP wrapped int.",
    ),
    (
        "const_param",
        _obj(
            {"api_version": {"const": "2023-01-01", "default": "2023-01-01"}, "kind": {"const": 3}},
            "kind",
        ),
        None,
        "Const.",
    ),
    (
        "defaults",
        _obj(
            {
                "s": {**STR, "default": 'hello "world"\n'},
                "i": {**INT, "default": -3},
                "f": {**NUM, "default": 2.5},
                "f_int": {**NUM, "default": 2},
                "b": {**BOOL, "default": True},
                "n": {"type": ["string", "null"], "default": None},
                "l": {"type": "array", "items": STR, "default": ["a", "b"]},
                "d": {"type": "object", "additionalProperties": INT, "default": {"x": 1}},
                "nested": {
                    "type": "array",
                    "items": {"type": "array", "items": INT},
                    "default": [[1], []],
                },
                "td": {**_obj({"k": STR}, "k"), "default": {"k": "v"}},
                "bad": {**INT, "default": "10"},
                "bad_enum": {"enum": ["a", "b"], "default": "c"},
                "long": {"type": "array", "items": STR, "default": ["x" * 30, "y" * 30, "z" * 30]},
                "inf": {**NUM, "default": float("inf")},
                "obj_none": {**_obj({"k": STR}), "default": None},
            }
        ),
        None,
        "Defaults of each kind.",
    ),
    ("float_enum", _obj({"ratio": {"enum": [0.5, 1.0, 2.0]}}, "ratio"), None, "Float enum."),
    ("mixed_enum", _obj({"v": {"enum": [1, "a", True, None]}}, "v"), None, "Mixed enum."),
    (
        "long_enum",
        _obj({"country": {"type": "string", "enum": [f"C{i:02d}" for i in range(40)]}}, "country"),
        None,
        "Enum too long for a Literal.",
    ),
    ("object_enum", _obj({"v": {"enum": [{"a": 1}, [1], "x"]}}, "v"), None, "Enum of objects."),
    ("type_list", _obj({"id": {"type": ["string", "integer"]}}, "id"), None, "type: [..]."),
    (
        "nullable_array",
        _obj(
            {
                "rows": {
                    "type": ["array", "null"],
                    "items": _obj({"cells": {"type": "array", "items": STR}}),
                }
            },
            "rows",
        ),
        None,
        "Array or null.",
    ),
    (
        "pattern_props",
        _obj({"env": {"type": "object", "patternProperties": {"^[A-Z_]+$": STR}}}, "env"),
        None,
        "patternProperties.",
    ),
    (
        "point",
        _obj({"at": {"type": "array", "prefixItems": [NUM, NUM], "items": False}}, "at"),
        None,
        "prefixItems.",
    ),
    (
        "draft4_tuple",
        _obj({"pair": {"type": "array", "items": [STR, INT], "additionalItems": False}}, "pair"),
        None,
        "Tuple items.",
    ),
    (
        "formats",
        _obj(
            {
                "when": {**STR, "format": "date-time"},
                "id": {**STR, "format": "uuid"},
                "site": {**STR, "format": "uri", "pattern": "^https://"},
            },
            "when",
        ),
        None,
        "Formats stay str.",
    ),
    ("deprecated_param", _obj({"q": STR, "old": {**STR, "deprecated": True}}, "q"), None, "Old."),
    (
        "draft4_bounds",
        _obj(
            {
                "n": {
                    **NUM,
                    "minimum": 0,
                    "exclusiveMinimum": True,
                    "maximum": 1,
                    "exclusiveMaximum": True,
                    "multipleOf": 0.1,
                }
            },
            "n",
        ),
        None,
        "",
    ),
    ("not_schema", _obj({"x": {"not": {"type": "string"}}}, "x"), None, "`not` is untyped."),
    ("remote_ref", _obj({"x": {"$ref": "https://example.com/schema.json#/X"}}, "x"), None, ""),
    ("missing_ref", _obj({"x": {"$ref": "#/$defs/Missing"}}, "x"), None, ""),
    (
        "components_in_defs",
        _obj(
            {"u": {"$ref": "#/components/schemas/User"}},
            "u",
            **{"$defs": {"User": _obj({"login": STR}, "login")}},
        ),
        None,
        "",
    ),
    (
        "allof_cycle",
        _obj(
            {"a": {"$ref": "#/$defs/A"}},
            "a",
            **{"$defs": {"A": {"allOf": [{"$ref": "#/$defs/A"}]}}},
        ),
        None,
        "",
    ),
    ("too_deep", _obj({"deep": _deep(MAX_DEPTH + 5)}, "deep"), None, "Deeper than the limit."),
    (
        "odd_types",
        _obj(
            {
                "upload": {"type": "file"},
                "anything": {"type": "any"},
                "junk": {"type": 42},
                "nope": "not a schema",
            },
            "upload",
        ),
        None,
        "",
    ),
    (
        "escapes",
        _obj({"p": {**STR, "description": 'Ends with """ and \\ and "'}}, "p"),
        None,
        'Docstring """hazards""" with \\backslashes\\ and a trailing quote"',
    ),
    (
        "huge_description",
        _obj({"x": STR}),
        None,
        "Intro paragraph. " * 10 + "\n\n" + "A long sentence that keeps going. " * 200,
    ),
    (
        "control_chars",
        _obj({"x": {**STR, "description": "nul\x00 bell\x07 cr\r\n ok \ud800"}}),
        None,
        "Control\x00 chars\x0c and a lone surrogate \udc80.",
    ),
    (
        "shadowing_keys",
        _obj(
            {
                "config": _obj(
                    {
                        "list": INT,
                        "str": STR,
                        "None": BOOL,
                        "True": BOOL,
                        "Any": STR,
                        "TypedDict": STR,
                        "dict": INT,
                        "__private": STR,
                        "Config": STR,
                        "items": INT,
                        "keys": STR,
                    },
                    "list",
                )
            },
            "config",
        ),
        None,
        "Keys that would shadow names in a class body.",
    ),
    (
        "GetUser",
        _obj(
            {
                "who": {"$ref": "#/$defs/GetUser"},
                "any": {"$ref": "#/$defs/Any"},
                "lst": {"$ref": "#/$defs/list"},
            },
            "who",
            **{
                "$defs": {
                    "GetUser": _obj({"id": INT}, "id"),
                    "Any": _obj({"x": INT}),
                    "list": _obj({"y": INT}),
                }
            },
        ),
        None,
        "Defs named like the tool, a typing name, a builtin.",
    ),
    (
        "def_names",
        _obj(
            {
                "a": {"$ref": "#/$defs/models__User"},
                "b": {"$ref": "#/$defs/1stPlace"},
                "c": {"$ref": "#/$defs/User-Profile"},
            },
            "a",
            **{
                "$defs": {
                    "models__User": _obj({"x": INT}),
                    "1stPlace": _obj({"y": INT}),
                    "User-Profile": _obj({"z": INT}),
                }
            },
        ),
        None,
        "Odd $defs names.",
    ),
    (
        "deep_inline",
        _obj(
            {
                "order": _obj(
                    {
                        "lines": {
                            "type": "array",
                            "items": _obj(
                                {
                                    "product": _obj(
                                        {"sku": STR, "dims": _obj({"w": NUM, "h": NUM}, "w", "h")},
                                        "sku",
                                    ),
                                    "qty": INT,
                                },
                                "product",
                                "qty",
                            ),
                        }
                    },
                    "lines",
                )
            },
            "order",
        ),
        None,
        "Nested inline objects.",
    ),
    (
        "mostly_optional",
        _obj({"id": INT, **{f"opt{i}": STR for i in range(5)}}, "id"),
        _obj({"id": INT, **{f"opt{i}": STR for i in range(5)}}, "id"),
        "total=False + Required.",
    ),
    (
        "pydantic_model",
        {
            "type": "object",
            "title": "pydantic_modelArguments",
            "properties": {
                "user": {"$ref": "#/$defs/User"},
                "tags": {
                    "anyOf": [{"type": "array", "items": STR}, {"type": "null"}],
                    "default": None,
                    "title": "Tags",
                },
                "limit": {"default": 10, "title": "Limit", "type": "integer"},
            },
            "required": ["user"],
            "$defs": {
                "Address": {
                    "title": "Address",
                    "type": "object",
                    "properties": {
                        "street": {"title": "Street", "type": "string"},
                        "zip": {"anyOf": [STR, {"type": "null"}], "default": None},
                    },
                    "required": ["street"],
                },
                "User": {
                    "title": "User",
                    "type": "object",
                    "properties": {
                        "name": {"title": "Name", "type": "string"},
                        "address": {
                            "anyOf": [{"$ref": "#/$defs/Address"}, {"type": "null"}],
                            "default": None,
                        },
                        "friends": {
                            "type": "array",
                            "items": {"$ref": "#/$defs/User"},
                            "default": [],
                        },
                    },
                    "required": ["name"],
                },
            },
        },
        None,
        "A pydantic-generated schema.",
    ),
    (
        "pulls_create",
        _obj(
            {
                "owner": STR,
                "repo": STR,
                "title": STR,
                "head": STR,
                "base": STR,
                "body": STR,
                "draft": {**BOOL, "default": False},
                "maintainer_can_modify": BOOL,
                "issue": {**INT, "description": "An issue in the repository to convert."},
            },
            "owner",
            "repo",
            "head",
            "base",
        ),
        _obj(
            {
                "id": INT,
                "number": INT,
                "state": {"enum": ["open", "closed"]},
                "user": {"$ref": "#/$defs/SimpleUser"},
                "labels": {
                    "type": "array",
                    "items": _obj(
                        {"id": INT, "name": STR, "color": {**STR, "nullable": True}}, "id"
                    ),
                },
                "merged_at": {**STR, "format": "date-time", "nullable": True},
            },
            "id",
            "number",
            "state",
            **{
                "$defs": {
                    "SimpleUser": _obj(
                        {"login": STR, "id": INT, "avatar_url": {**STR, "format": "uri"}},
                        "login",
                        "id",
                    )
                }
            },
        ),
        "Create a pull request.",
    ),
    (
        "post_message",
        _obj(
            {
                "channel": STR,
                "blocks": {
                    "type": "array",
                    "items": {
                        "oneOf": [
                            _obj(
                                {
                                    "type": {"const": "section"},
                                    "text": _obj(
                                        {"type": {"enum": ["mrkdwn", "plain_text"]}, "text": STR},
                                        "type",
                                        "text",
                                    ),
                                },
                                "type",
                            ),
                            _obj({"type": {"const": "divider"}}, "type"),
                            _obj(
                                {"type": {"const": "image"}, "image_url": STR, "alt_text": STR},
                                "type",
                                "image_url",
                            ),
                        ]
                    },
                },
            },
            "channel",
        ),
        _obj({"ok": BOOL, "ts": STR}, "ok"),
        "Slack-style blocks.",
    ),
    (
        "stripe_charge",
        _obj(
            {
                "amount": {**INT, "minimum": 50},
                "currency": {**STR, "minLength": 3, "maxLength": 3},
                "metadata": {"type": "object", "additionalProperties": {**STR, "maxLength": 500}},
                "expand": {"type": "array", "items": STR},
            },
            "amount",
            "currency",
        ),
        None,
        "Stripe-like.",
    ),
    ("boolean_schemas", _obj({"anything": True, "nothing": False}, "anything"), None, ""),
    ("int_enum", _obj({"level": {"type": "integer", "enum": [1, 2, 3], "default": 2}}), None, ""),
    (
        "recursive_output_root",
        _obj({"id": INT}, "id"),
        _obj({"id": INT, "parent": {"anyOf": [{"$ref": "#"}, {"type": "null"}]}}, "id"),
        "Output refers to its own root.",
    ),
    (
        "query",
        _obj(
            {
                "field": STR,
                "and": {"type": "array", "items": {"$ref": "#"}},
                "or": {"type": "array", "items": {"$ref": "#"}},
            }
        ),
        None,
        "Input refers to its own root.",
    ),
    (
        "mutual",
        _obj(
            {"a": {"$ref": "#/$defs/A"}},
            "a",
            **{
                "$defs": {
                    "A": _obj({"b": {"$ref": "#/$defs/B"}, "n": INT}, "n"),
                    "B": _obj({"a": {"$ref": "#/$defs/A"}, "s": STR}, "s"),
                }
            },
        ),
        None,
        "Mutual recursion.",
    ),
    (
        "other_file",
        _obj(
            {"f": {"$ref": "#/$defs/File"}},
            "f",
            **{"$defs": {"File": _obj({"path": STR, "bytes": {**STR, "format": "byte"}}, "path")}},
        ),
        {"$ref": "#/$defs/File", "$defs": {"File": FILE}},
        "Another `File` (different shape).",
    ),
    (
        "nullable_object",
        _obj({"opts": {**_obj({"fast": BOOL}), "nullable": True}}, "opts"),
        None,
        "",
    ),
    (
        "required_missing",
        _obj({"a": STR}, "a", "ghost"),
        _obj({"x": INT}, "x", "ghost"),
        "required lists names with no property.",
    ),
    ("no_description", {"type": "object", "properties": {}}, None, ""),
    (
        "allof_annotated",
        _obj(
            {"u": {"allOf": [{"$ref": "#/$defs/U"}], "description": "Owner.", "nullable": True}},
            "u",
            **{"$defs": {"U": _obj({"x": INT})}},
        ),
        None,
        "pydantic v1 style allOf wrapper.",
    ),
    # tools named like what annotations use: `list[...]` must still mean the builtin
    (
        "list",
        _obj({"prefix": STR, "tags": {"type": "array", "items": STR}, "meta": _obj({"k": STR})}),
        {"type": "array", "items": _obj({"name": STR, "size": INT}, "name")},
        "A tool named like a builtin.",
    ),
    ("Any", _obj({"x": {}, "d": {"type": "object"}}), None, "A tool named like a typing name."),
    (
        "TypedDict",
        _obj({"o": _obj({"a": INT, "b": STR}, "a"), "e": {"enum": ["a", "b"]}}, "o"),
        None,
        "Shadows the class factory.",
    ),
]


def _tool(name: str, input_schema: Any, output_schema: Any, description: str) -> Tool:
    return Tool(
        namespace="ns",
        name=name,
        description=description,
        input_schema=input_schema,
        output_schema=output_schema,
    )


TOOLS = [_tool(*case) for case in CASES]
# without the tools that make the whole stub spell `_builtins.list`, `_typing.TypedDict`
PLAIN_TOOLS = [t for t in TOOLS if t.identifier not in {"list", "Any", "TypedDict"}]


# ---------------------------------------------- a large `$defs` graph many tools share

# Class names must not end in digits here: numbered variants would be ambiguous.
_GRAPH_NAMES = [f"node_{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(30)]


def _graph_defs() -> dict[str, Any]:
    """30 mutually recursive definitions shaped like Stripe's: an "expandable" reference
    (`str | Node | None`) to the next one, lists of others, nested inline objects (one
    with a long name) referring back, every field documented: ~30 KB of stub."""
    names, n = _GRAPH_NAMES, len(_GRAPH_NAMES)
    doc = {"description": "A field documented at some length, as real API schemas do. " * 2}
    return {
        name: _obj(
            {
                "id": {**STR, **doc},
                "next": {
                    "anyOf": [
                        {**STR, "maxLength": 5000},
                        {"$ref": f"#/$defs/{names[(i + 1) % n]}"},
                    ],
                    "nullable": True,
                    **doc,
                },
                "related": {
                    "type": "array",
                    "items": {"$ref": f"#/$defs/{names[(i * 7 + 3) % n]}"},
                },
                "details": _obj(
                    {
                        "created": {**INT, **doc},
                        "owner_settings_for_the_longer_named_section": _obj(
                            {"flag": BOOL, "back": {"$ref": f"#/$defs/{names[(i - 1) % n]}"}}
                        ),
                    }
                ),
                "metadata": {"type": "object", "additionalProperties": STR, **doc},
            },
            "id",
            description=f"The {name} object. " * 3,
        )
        for i, name in enumerate(names)
    }


def _graph_tools(count: int, *, shared: bool) -> list[Tool]:
    """Tools that each enter the same graph at different definitions (in and out).

    `shared`: their `$defs` hold the same schema objects (as OpenAPI sources build them);
    else each tool has its own copy (as separate MCP tool schemas are).
    """
    defs = _graph_defs()
    tools = []
    for k in range(count):
        own = dict(defs) if shared else copy.deepcopy(defs)
        entry_in, entry_out = _GRAPH_NAMES[k * 11 % 30], _GRAPH_NAMES[k % 30]
        input_schema = _obj(
            {"q": STR, "node": {"$ref": f"#/$defs/{entry_in}"}}, "q", **{"$defs": own}
        )
        output_schema = {"$ref": f"#/$defs/{entry_out}", "$defs": own}
        tools.append(_tool(f"graph_{k}", input_schema, output_schema, "Walk the graph."))
    return tools


GRAPH_TOOLS = _graph_tools(100, shared=True)


def test_table_is_large_and_names_are_unique() -> None:
    assert len(CASES) >= 50
    assert len({t.identifier for t in TOOLS}) == len(TOOLS)


# ------------------------------------------------------------- valid example arguments


class _NoExample(Exception):
    pass


def _resolve(ref: str, root: Any) -> Any:
    node = root
    parts = ref.lstrip("#").split("/")[1:]
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            if isinstance(root, dict):  # refs into components/schemas that live in $defs
                name = parts[-1]
                return root.get("$defs", {}).get(name) or root.get("definitions", {}).get(name)
            return None
        node = node[part]
    return node


_TYPED_KEYS = {"type", "properties", "items", "enum", "const", "$ref", "allOf", "anyOf", "oneOf"}


def _deref(schema: dict[str, Any], root: Any) -> Any:
    for _ in range(10):
        if not isinstance(schema, dict) or "$ref" not in schema:
            break
        schema = _resolve(schema["$ref"], root)
    return schema


def _objectish(schema: dict[str, Any]) -> bool:
    typ = schema.get("type")
    return "properties" in schema or typ == "object" or (isinstance(typ, list) and "object" in typ)


def _example(schema: Any, root: Any, depth: int = 0) -> Any:
    """A minimal value valid for `schema` as far as types go (constraints ignored)."""
    if depth > 12:
        raise _NoExample
    if not isinstance(schema, dict) or schema is True:
        return "anything"
    if "$ref" in schema:
        target = _resolve(schema["$ref"], root)
        return "anything" if target is None else _example(target, root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            for member in schema[key]:
                try:
                    return _example(member, root, depth + 1)
                except _NoExample:
                    pass
            raise _NoExample
    if "allOf" in schema:
        # parts that only annotate (`{"nullable": true}`) constrain no type
        parts = [_deref(p, root) for p in schema["allOf"] if isinstance(p, dict)]
        parts = [p for p in parts if isinstance(p, dict) and _TYPED_KEYS & p.keys()]
        if parts and all(_objectish(p) for p in parts):
            merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
            for part in parts:  # later parts win, as in typegen
                merged["properties"] |= part.get("properties", {})
                merged["required"] += part.get("required", [])
            return _example(merged, root, depth + 1)
        return _example(parts[0], root, depth + 1) if parts else "anything"
    typ = schema.get("type")
    if isinstance(typ, list):
        typ = next((t for t in typ if t != "null"), "null")
    if typ == "array" or "items" in schema or "prefixItems" in schema:
        prefix = schema.get("prefixItems") or (
            schema["items"] if isinstance(schema.get("items"), list) else None
        )
        if prefix:
            return [_example(p, root, depth + 1) for p in prefix]
        items = schema.get("items")
        return [_example(items, root, depth + 1)] if isinstance(items, dict) and items else []
    if typ == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {
            key: _example(props.get(key, {}), root, depth + 1) for key in schema.get("required", [])
        }
    simple = {"string": "x", "integer": 1, "number": 1.5, "boolean": True, "null": None}
    return simple.get(typ, "anything") if isinstance(typ, str) else "anything"


def _call(tool: Tool, *, optional: bool = True) -> str | None:
    """Source of a call to `ns.<tool>` with valid arguments, or None if none can be built."""
    schema = tool.input_schema
    props = schema.get("properties", {}) if isinstance(schema, dict) else {}
    args = []
    for python_name, original in parameter_names(tool).items():
        if original not in tool.required and not optional:
            continue
        try:
            value = _example(props[original], schema)
        except _NoExample:
            if original in tool.required:
                return None
            continue
        args.append(f"{python_name}={value!r}")
    return f"ns.{tool.identifier}({', '.join(args)})"


# ------------------------------------------------------------------ every stub is valid


@pytest.mark.parametrize("tool", TOOLS, ids=[t.identifier for t in TOOLS])
def test_tool_stubs_parse_and_execute(tool: Tool) -> None:
    stub = tool_stub(tool)
    ast.parse(stub)
    ast.parse(tool_stub(tool, with_types=False))
    signature = tool_signature(tool)
    assert "\n" not in signature
    assert signature.startswith(f"def {tool.identifier}(")
    assert not signature.endswith(":")
    ast.parse(signature + ": ...")
    assert FALLBACK_NOTE not in stub
    # valid as a plain module too, so forward references really are quoted
    exec(compile(stub, f"<{tool.identifier}>", "exec"), {})


def test_namespace_stub_parses_and_executes() -> None:
    stub = namespace_stub("ns", TOOLS)
    tree = ast.parse(stub)
    functions = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]
    assert functions == sorted(t.identifier for t in TOOLS)
    assert "from __future__" not in stub
    exec(compile(stub, "<ns>", "exec"), {})
    assert namespace_stub("empty", []) == "\n"


def _fuzz_schemas(count: int, seed: int) -> list[Any]:
    """Random schema-like dicts from a fixed seed, for the (slow) type checkers."""
    rng = random.Random(seed)
    names = ["a", "b", "class", "content-type", "list", "Node", "__x", "2fa", "from", "@id"]
    leaves: list[Any] = [
        {"type": t} for t in ("string", "integer", "number", "boolean", "null", "object")
    ] + [{}, True, {"enum": ["x", 1, None]}, {"const": 2.5}, {"$ref": "#/$defs/A"}, {"$ref": "#"}]

    def make(depth: int) -> Any:
        if depth > 3 or rng.random() < 0.3:
            leaf = rng.choice(leaves)
            return dict(leaf) if isinstance(leaf, dict) else leaf
        kind = rng.choice(["object", "array", "anyOf", "allOf", "typelist", "nullable", "defs"])
        if kind == "object":
            keys = rng.sample(names, rng.randint(1, 4))
            schema: dict[str, Any] = {
                "type": "object",
                "properties": {k: make(depth + 1) for k in keys},
            }
            schema["required"] = [k for k in keys if rng.random() < 0.5]
            if rng.random() < 0.3:
                schema["additionalProperties"] = make(depth + 1)
            return schema
        if kind == "array":
            return {"type": "array", "items": make(depth + 1)}
        if kind in ("anyOf", "allOf"):
            return {kind: [make(depth + 1) for _ in range(rng.randint(1, 3))]}
        if kind == "typelist":
            return {"type": rng.sample(["string", "integer", "null", "array", "object"], 2)}
        if kind == "nullable":
            inner = make(depth + 1)
            return {**inner, "nullable": True} if isinstance(inner, dict) else inner
        return {"$ref": "#/$defs/A", "$defs": {"A": make(depth + 1)}}

    schemas = []
    for _ in range(count):
        schema = make(0)
        props = {k: make(1) for k in rng.sample(names, rng.randint(0, 4))}
        for k in props:  # defaults that may or may not fit the type
            if rng.random() < 0.3:
                props[k] = (
                    {**props[k], "default": rng.choice([None, 1, "x", [1], {"a": 1}, 2.5])}
                    if isinstance(props[k], dict)
                    else props[k]
                )
        schemas.append(({"type": "object", "properties": props, "$defs": {"A": schema}}, schema))
    return schemas


FUZZ_TOOLS = [
    _tool(f"fuzz_{i}", input_schema, output_schema, "")
    for i, (input_schema, output_schema) in enumerate(_fuzz_schemas(150, seed=20240601))
]


def test_mypy_strict_accepts_every_stub(tmp_path: Path) -> None:
    files = [tmp_path / "ns.pyi", tmp_path / "fuzz.pyi", tmp_path / "graph.pyi"]
    files[0].write_text(namespace_stub("ns", TOOLS), encoding="utf-8")
    files[1].write_text(namespace_stub("fuzz", FUZZ_TOOLS), encoding="utf-8")
    files[2].write_text(namespace_stub("graph", GRAPH_TOOLS), encoding="utf-8")
    files.append(tmp_path / "graph_tool.pyi")  # capped: deeper classes elided
    files[-1].write_text(tool_stub(GRAPH_TOOLS[1]), encoding="utf-8")
    for tool in TOOLS:
        files.append(tmp_path / f"tool_{tool.identifier.lower()}.pyi")
        files[-1].write_text(tool_stub(tool), encoding="utf-8")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--cache-dir",
            "/dev/null",
            "--python-version",
            "3.11",
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ----------------------------------------------------------------- Monty's type checker


@pytest.fixture(scope="module")
def pool() -> Iterator[Monty]:
    with Monty() as monty:
        yield monty


def _check(pool: Monty, stub: str, tools: list[Tool], code: str) -> None:
    """Type-check (and run) `code` against `stub` as module `ns`; raises MontyTypingError."""
    attrs = {t.identifier: (lambda **kwargs: None) for t in tools}
    module = ExternalModule(attrs, stubs=stub)
    with pool.checkout(type_check=True, external_modules={"ns": module}) as session:
        session.feed_run("import ns\n" + code)


def test_monty_accepts_valid_calls_to_every_tool(pool: Monty) -> None:
    calls = [call for tool in TOOLS if (call := _call(tool)) is not None]
    assert len(calls) >= len(TOOLS) - 3
    minimal = [call for tool in TOOLS if (call := _call(tool, optional=False)) is not None]
    _check(pool, namespace_stub("ns", TOOLS), TOOLS, "\n".join(calls + minimal))


def test_monty_accepts_valid_calls_to_fuzzed_tools(pool: Monty) -> None:
    calls = [call for tool in FUZZ_TOOLS if (call := _call(tool)) is not None]
    _check(pool, namespace_stub("fuzz", FUZZ_TOOLS), FUZZ_TOOLS, "\n".join(calls))


@pytest.mark.parametrize("name", ["list_files", "tree", "weird_names", "pydantic_model", "query"])
def test_monty_accepts_a_single_tool_stub(pool: Monty, name: str) -> None:
    tool = next(t for t in TOOLS if t.identifier == name)
    call = _call(tool)
    assert call is not None
    _check(pool, tool_stub(tool), [tool], call)


@pytest.mark.parametrize(
    "code",
    [
        'ns.list_files(path="x", bogus=1)',  # unknown keyword
        "ns.list_files()",  # missing required argument
        "ns.list_files(path=1)",  # wrong type
        'ns.search_code(q="x", order="sideways")',  # not one of the Literal values
        'ns.tree(root={"name": "a", "children": [{"nme": "b"}]})',  # bad key, recursive type
        'ns.weird_names(content_type="x", per_page="3")',
        'ns.create_issue(title="t", assignees=[{"id": 1}])',  # missing required key
        'x: str = ns.list_files(path="/")[0]["size"]',  # return type is used
        'ns.keywords(from_="a")',  # required `class` (as class_) missing
    ],
)
def test_monty_rejects_wrong_calls(pool: Monty, code: str) -> None:
    with pytest.raises(MontyTypingError):
        _check(pool, namespace_stub("ns", TOOLS), TOOLS, code)


# ---------------------------------------------------------------------- focused checks


def _one(input_schema: Any = None, output_schema: Any = None, description: str = "") -> Tool:
    return _tool("f", input_schema or {"type": "object"}, output_schema, description)


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "string"}, "str"),
        ({"type": "integer"}, "int"),
        ({"type": "number"}, "float"),
        ({"type": "boolean"}, "bool"),
        ({"type": "null"}, "None"),
        ({}, "Any"),
        (True, "Any"),
        (42, "Any"),
        ({"type": "array"}, "list[Any]"),
        ({"type": "array", "items": {"type": "string"}}, "list[str]"),
        ({"type": "object"}, "dict[str, Any]"),
        ({"additionalProperties": {"type": "integer"}}, "dict[str, int]"),
        ({"type": "object", "properties": {"a": {}}}, "dict[str, Any]"),  # standalone: no classes
        ({"enum": ["a", "b"]}, 'Literal["a", "b"]'),
        ({"enum": ["a", None]}, 'Literal["a"] | None'),
        ({"enum": [1, True, "it's"]}, 'Literal[1, True, "it\'s"]'),
        ({"enum": [0.5, 1]}, "float | int"),
        ({"enum": []}, "Any"),
        ({"enum": "nope", "type": "string"}, "str"),
        ({"const": "v1"}, 'Literal["v1"]'),
        ({"const": None}, "None"),
        ({"const": 1.5}, "float"),
        ({"type": ["string", "null"]}, "str | None"),
        ({"type": "string", "nullable": True}, "str | None"),
        ({"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "string"}]}, "str | int"),
        ({"oneOf": [{"type": "null"}, {"type": "integer"}]}, "int | None"),
        (
            {"anyOf": [{"enum": ["a"]}, {"enum": ["b"]}, {"type": "null"}]},
            'Literal["a", "b"] | None',
        ),
        ({"anyOf": [{"const": "a"}, {"type": "string"}]}, "str"),
        ({"anyOf": [{"type": "string"}, {}]}, "Any"),
        ({"allOf": [{"type": "integer"}]}, "int"),
        ({"allOf": [{"type": "integer"}, {"minimum": 1}]}, "int"),  # constraint-only part
        ({"allOf": [{"type": "integer"}, {"type": "string"}]}, "Any"),  # no honest narrowing
        ({"allOf": [{"properties": {"a": {}}}, {"type": "string"}]}, "Any"),
        ({"$ref": "#/$defs/X", "$defs": {"X": {"type": "integer"}}}, "int"),
        ({"$ref": "#/$defs/Missing"}, "Any"),
        ({"$ref": "http://example.com/x"}, "Any"),
        ({"type": "array", "prefixItems": [{"type": "number"}, {"type": "string"}]}, "list[Any]"),
        ({"type": "array", "prefixItems": [{"type": "number"}], "items": False}, "list[float]"),
        ({"type": "weird"}, "Any"),
        ({"not": {"type": "string"}}, "Any"),
        (_deep(MAX_DEPTH + 3), "dict[str, Any]"),
    ],
)
def test_python_type(schema: Any, expected: str) -> None:
    assert python_type(schema) == expected


def test_parameter_names_map_keywords_and_non_identifiers() -> None:
    tool = _one(
        _obj(
            {"from": STR, "per-page": INT, "per_page": INT, "2fa": BOOL, "class": STR, "ok": STR},
            "from",
        )
    )
    names = parameter_names(tool)
    assert names == {
        "from_": "from",
        "per_page": "per_page",  # already an identifier, so it keeps its name
        "per_page_2": "per-page",
        "_2fa": "2fa",
        "class_": "class",
        "ok": "ok",
    }
    signature = tool_signature(tool)
    assert signature.startswith("def f(*, from_: str, ")
    stub = tool_stub(tool)
    assert 'from_ (sent as "from")' in stub
    assert 'per_page_2 (sent as "per-page")' in stub
    assert "ok (sent as" not in stub


def test_defaults_render_as_literals_when_they_fit() -> None:
    tool = next(t for t in TOOLS if t.identifier == "defaults")
    signature = tool_signature(tool)
    for fragment in [
        "s: str = 'hello \"world\"\\n'",
        "i: int = -3",
        "f: float = 2.5",
        "f_int: float = 2",
        "b: bool = True",
        "n: str | None = None",
        'l: list[str] = ["a", "b"]',
        'd: dict[str, int] = {"x": 1}',
        "nested: list[list[int]] = [[1], []]",
        'td: DefaultsTd = {"k": "v"}',
        # defaults a type checker would reject, or too long/odd to show, are documented
        "bad: int | None = None",
        'bad_enum: Literal["a", "b"] | None = None',
        "long: list[str] | None = None",
        "inf: float | None = None",
        "obj_none: DefaultsObjNone | None = None",
    ]:
        assert fragment in signature, fragment
    stub = tool_stub(tool)
    assert 'bad: default: "10"' in stub
    assert 'bad_enum: default: "c"' in stub
    assert "inf: default: inf" in stub
    assert "        obj_none:" not in stub  # the default None is what the signature says


def test_optional_params_without_default_are_none() -> None:
    tool = _one(_obj({"a": STR, "b": {"type": ["integer", "null"]}, "c": {}}, "a"))
    assert tool_signature(tool) == "def f(*, a: str, b: int | None = None, c: Any = None) -> Any"


def test_required_params_come_first_in_schema_order() -> None:
    tool = _one(_obj({"z": STR, "y": INT, "x": BOOL, "w": NUM}, "x", "z"))
    assert tool_signature(tool) == (
        "def f(*, z: str, x: bool, y: int | None = None, w: float | None = None) -> Any"
    )


def test_signature_format() -> None:
    tool = TOOLS[0]
    assert tool_signature(tool) == (
        "def list_files(*, path: str, recursive: bool = False) -> list[File]"
    )
    assert tool_signature(_one({})) == "def f() -> Any"
    assert tool_signature(_one(_obj({}, additionalProperties=True))) == (
        "def f(**kwargs: Any) -> Any"
    )
    assert tool_signature(_one(_obj({"kwargs": STR}, additionalProperties=INT))) == (
        "def f(*, kwargs: str | None = None, **kwargs_: int) -> Any"
    )
    assert tool_signature(_tool("g", [1, 2], 7, "")) == "def g(**kwargs: Any) -> Any"


def test_docstring_escaping() -> None:
    for text in ['a """ b', 'ends with "', "ends with \\", "\\d+ and \\n", '""""""', 'x"""', "\\"]:
        for description, prop in [(text, ""), ("Summary.", text), (f"Para.\n\n{text}", text)]:
            tool = _one(_obj({"p": {"type": "string", "description": prop}}), None, description)
            stub = tool_stub(tool)
            tree = ast.parse(stub)
            function = tree.body[-1]
            assert isinstance(function, ast.FunctionDef)
            doc = ast.get_docstring(function, clean=False) or ""
            assert " ".join(description.split()).replace('"""', "") in " ".join(
                doc.replace('\\"', '"').split()
            ).replace('"""', ""), (text, stub)


def test_raw_docstring_keeps_backslashes_readable() -> None:
    tool = _one(_obj({"p": {"type": "string", "pattern": "^\\d{3}$"}}), None, "C:\\temp")
    stub = tool_stub(tool)
    assert 'r"""C:\\temp' in stub
    assert "pattern: ^\\d{3}$" in stub


def test_description_is_trimmed_at_a_boundary() -> None:
    tool = next(t for t in TOOLS if t.identifier == "huge_description")
    doc = ast.get_docstring(ast.parse(tool_stub(tool)).body[-1]) or ""  # type: ignore[arg-type]
    assert len(doc) < 900
    assert doc.endswith(". …")


def test_control_characters_are_dropped() -> None:
    tool = next(t for t in TOOLS if t.identifier == "control_chars")
    stub = tool_stub(tool)
    for char in "\x00\x07\x0c":
        assert char not in stub
    stub.encode("utf-8")  # no lone surrogates left


def test_recursive_ref_shape() -> None:
    tool = next(t for t in TOOLS if t.identifier == "tree")
    stub = tool_stub(tool)
    assert (
        'class TreeNode(TypedDict):\n    name: str\n    children: NotRequired["list[TreeNode]"]\n'
    ) in stub
    assert tool_signature(tool) == "def tree(*, root: TreeNode) -> TreeNode"
    linked = tool_stub(next(t for t in TOOLS if t.identifier == "linked_list"))
    assert 'class Node(TypedDict):\n    value: int\n    next: "Node | None"\n' in linked


def test_root_refs_and_mutual_recursion() -> None:
    query = tool_stub(next(t for t in TOOLS if t.identifier == "query"))
    assert 'and_: NotRequired["list[QueryParams]"]' not in query  # keys keep their names
    assert (
        'QueryParams = TypedDict("QueryParams", {"field": str, "and": "list[QueryParams]", '
        '"or": "list[QueryParams]"}, total=False)'
    ) in query
    assert "def query(*, field: str | None = None, and_: list[QueryParams] | None = None" in query
    output = tool_signature(next(t for t in TOOLS if t.identifier == "recursive_output_root"))
    assert output.endswith("-> RecursiveOutputRootResult")
    mutual = tool_stub(next(t for t in TOOLS if t.identifier == "mutual"))
    # B comes first (A needs it); only B's reference back to A is quoted
    assert 'class B(TypedDict):\n    a: NotRequired["A"]' in mutual
    assert "class A(TypedDict):\n    b: NotRequired[B]" in mutual


def test_python_dict_cycles_and_shared_subtrees() -> None:
    node: dict[str, Any] = {"type": "object", "properties": {}}
    node["properties"]["next"] = node
    stub = tool_stub(_one(_obj({"node": node}, "node")))
    assert 'class FNode(TypedDict, total=False):\n    next: "FNode"' in stub
    array: dict[str, Any] = {"type": "array"}
    array["items"] = array
    assert python_type(array) == "list[list[Any]]" or "Any" in python_type(array)
    shared: dict[str, Any] = {"type": "string"}
    for _ in range(40):  # 2**40 paths; must be linear in the number of distinct dicts
        shared = {"type": "object", "properties": {"a": shared, "b": shared}}
    start = time.perf_counter()
    ast.parse(tool_stub(_one(_obj({"x": shared}))))
    assert time.perf_counter() - start < 1


def test_literal_for_enums_and_long_enums_documented() -> None:
    assert 'order: Literal["asc", "desc"] | None = None' in tool_signature(
        next(t for t in TOOLS if t.identifier == "search_code")
    )
    long = tool_stub(next(t for t in TOOLS if t.identifier == "long_enum"))
    assert "country: str" in long
    assert "(40 values)" in long


def test_not_required_and_total_false() -> None:
    stub = tool_stub(next(t for t in TOOLS if t.identifier == "create_issue"))
    assert (
        "class CreateIssueAssigneesItem(TypedDict):\n    login: str\n    id: NotRequired[int]"
        in stub
    )
    mostly = tool_stub(next(t for t in TOOLS if t.identifier == "mostly_optional"))
    assert (
        "class MostlyOptionalResult(TypedDict, total=False):\n    id: Required[int]\n    opt0: str"
        in mostly
    )


def test_functional_syntax_for_unsafe_keys() -> None:
    stub = tool_stub(next(t for t in TOOLS if t.identifier == "shadowing_keys"))
    assert 'TypedDict("ShadowingKeysConfig", {"list": Required[int], ' in stub
    assert '"__private": str' in stub
    assert "total=False)" in stub
    email = tool_stub(next(t for t in TOOLS if t.identifier == "send_email"))
    assert '"content-type": NotRequired[str]' in email


def test_reserved_and_odd_def_names() -> None:
    stub = tool_stub(next(t for t in TOOLS if t.identifier == "GetUser"))
    assert "class GetUser2(TypedDict):" in stub  # the function is `GetUser`
    assert "class Any2(TypedDict" in stub
    assert "class List(TypedDict" in stub
    odd = tool_signature(next(t for t in TOOLS if t.identifier == "def_names"))
    assert "a: ModelsUser, b: T1stPlace | None = None, c: UserProfile | None = None" in odd


def test_namespace_shares_identical_classes_and_renames_clashes() -> None:
    stub = namespace_stub("ns", PLAIN_TOOLS)
    assert stub.count("class File(TypedDict") == 1
    assert 'File2 = TypedDict("File2", {"path": str, "bytes": ' in stub  # other `File`
    assert "def list_files(*, path: str, recursive: bool = False) -> list[File]:" in stub
    assert "def other_file(*, f: File2) -> File:" in stub
    assert stub.count("class TreeNode(TypedDict") == 1


def test_tools_named_like_builtins_and_typing_names() -> None:
    listing = tool_stub(next(t for t in TOOLS if t.identifier == "list"))
    assert "import builtins as _builtins" in listing
    assert "def list(*, prefix: str | None = None, tags: _builtins.list[str] | None" in listing
    stub = namespace_stub("ns", TOOLS)
    assert "import builtins as _builtins\nimport typing as _typing\nfrom typing import" in stub
    assert "class TypedDictO(_typing.TypedDict):" in stub
    # only the names a function hides are qualified (`dict` is not hidden here)
    assert "def Any(*, x: _typing.Any = None, d: dict[str, _typing.Any] | None = None) -> " in stub
    assert "from typing import Literal, NotRequired, Required\n" in stub  # no Any, TypedDict


def test_namespace_shares_recursive_classes() -> None:
    tools = [_tool(n, TOOLS[3].input_schema, None, "") for n in ("a", "b")]
    assert namespace_stub("x", tools).count("class TreeNode(") == 1
    changed = _obj(
        {"r": {"$ref": "#/$defs/TreeNode"}},
        "r",
        **{
            "$defs": {
                "TreeNode": _obj(
                    {
                        "name": INT,
                        "children": {"type": "array", "items": {"$ref": "#/$defs/TreeNode"}},
                    }
                )
            }
        },
    )
    stub = namespace_stub("x", [*tools, _tool("c", changed, None, "")])
    assert (
        'class TreeNode2(TypedDict, total=False):\n    name: int\n    children: "list[TreeNode2]"'
        in stub
    )


# ------------------------------------------- many tools sharing one large `$defs` graph


def _class_names(stub: str) -> list[str]:
    return re.findall(r"^(?:class (\w+)\(|(\w+) = TypedDict\()", stub, re.M)


def _graph_class_names(name: str) -> list[str]:
    base = "".join(part.title() for part in name.split("_"))
    return [base, f"{base}Details", f"{base}OwnerSettingsForTheLongerNamedSection"]


@pytest.mark.parametrize("shared", [True, False], ids=["shared-objects", "copies"])
def test_tools_sharing_identical_defs_emit_each_class_once(shared: bool) -> None:
    # Each definition's class must not depend on which tool, or which path, reached it
    # first (depth, names of nested classes, quoting of forward references): before, the
    # depth limit counted from each tool's root cut each class at a different place, and
    # one differing class made every class referring to it differ too.
    tools = GRAPH_TOOLS if shared else _graph_tools(100, shared=False)
    start = time.perf_counter()
    stub = namespace_stub("ns", tools)
    elapsed = time.perf_counter() - start
    names = [a or b for a, b in _class_names(stub)]
    expected = [type_name for n in _GRAPH_NAMES for type_name in _graph_class_names(n)]
    assert sorted(names) == sorted(expected)  # 3 per definition, none numbered
    assert "too deep" not in stub
    assert "recursive" not in stub
    # a nested class whose name would be too long is named after its definition
    assert "class NodeAaOwnerSettingsForTheLongerNamedSection(TypedDict, total=False):" in stub
    assert "    next: str | NodeAb | None\n" in stub
    assert "def graph_1(*, q: str, node: NodeAl | None = None) -> NodeAb:" in stub
    ast.parse(stub)
    assert elapsed < 5


def test_same_named_but_different_definitions_are_still_numbered() -> None:
    defs = _graph_defs()
    defs["node_aa"] = _obj({"id": INT}, "id")  # a different `NodeAa`, referred to by others
    odd = _tool("odd", _obj({"n": {"$ref": "#/$defs/node_aa"}}, "n", **{"$defs": defs}), None, "")
    stub = namespace_stub("ns", [*GRAPH_TOOLS[:3], odd])
    assert stub.count("class NodeAa(") == 1
    assert "class NodeAa2(TypedDict):\n    id: int\n" in stub
    assert "def odd(*, n: NodeAa2) -> Any:" in stub


def test_tool_stub_of_a_large_def_graph_is_help_sized() -> None:
    tool = GRAPH_TOOLS[1]
    start = time.perf_counter()
    stub = tool_stub(tool)
    assert time.perf_counter() - start < 1
    assert len(stub) < 10_000, len(stub)  # the whole graph would be ~30 KB
    ast.parse(stub)
    exec(compile(stub, "<graph_1>", "exec"), {})
    assert stub.startswith("# Classes more than 2 levels deep are shown as dict[str, Any]")
    assert "(full type: " in stub
    # the signature keeps its real classes, and agrees with tool_signature
    assert "def graph_1(*, q: str, node: NodeAl | None = None) -> NodeAb:" in stub
    assert tool_signature(tool) == "def graph_1(*, q: str, node: NodeAl | None = None) -> NodeAb"
    ast.parse(tool_stub(tool, with_types=False))
    # deeper classes are elided; their names are documented instead
    assert "class NodeAb(" in stub
    assert "class NodeAc(" in stub
    assert "class NodeAd(" not in stub
    assert "NodeAd" in stub
    assert all(len(tool_stub(t)) < 10_000 for t in GRAPH_TOOLS)
    # the namespace stub stays fully typed
    assert "dict[str, Any]" not in namespace_stub("ns", [tool])


def test_monty_accepts_a_capped_tool_stub(pool: Monty) -> None:
    tool = GRAPH_TOOLS[1]
    call = 'ns.graph_1(q="x", node={"id": "a", "next": {"id": "b", "next": {"id": "c"}}})'
    _check(pool, tool_stub(tool), [tool], call)
    _check(pool, namespace_stub("ns", GRAPH_TOOLS), GRAPH_TOOLS, call)
    with pytest.raises(MontyTypingError):
        _check(pool, tool_stub(tool), [tool], 'ns.graph_1(q="x", node={"id": 1})')


def test_degraded_schemas_are_summarised_in_docs() -> None:
    stub = tool_stub(next(t for t in TOOLS if t.identifier == "odd_types"))
    assert 'upload: unsupported type: "file"' in stub
    assert "nope: not a schema" in stub
    assert "unresolved $ref" in tool_stub(next(t for t in TOOLS if t.identifier == "remote_ref"))
    assert "too deep" in tool_stub(next(t for t in TOOLS if t.identifier == "too_deep"))
    assert "additional keys allowed" in tool_stub(
        next(t for t in TOOLS if t.identifier == "open_typed")
    ) or "**kwargs: int" in tool_signature(next(t for t in TOOLS if t.identifier == "open_typed"))


# ------------------------------------------------------------------------- hypothesis

_NAMES = st.sampled_from(
    [
        "a",
        "b",
        "class",
        "content-type",
        "@id",
        "from",
        "Node",
        "list",
        "__x",
        "",
        "1x",
        "é",
        "None",
        "a b",
        "A",
        "kwargs",
    ]
)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from(['"""', "\\", '"', "\x00", "\ud800", "\r\n"])
)
_JUNK = _SCALARS | st.lists(_SCALARS, max_size=3) | st.dictionaries(_NAMES, _SCALARS, max_size=2)
_TYPES = st.sampled_from(
    ["string", "integer", "number", "boolean", "null", "array", "object", "file", "any", "weird"]
)
_REFS = st.sampled_from(
    [
        "#",
        "#/$defs/A",
        "#/$defs/B",
        "#/definitions/A",
        "#/components/schemas/B",
        "#/properties/a",
        "http://x/y",
        "#bad",
        "#/$defs/missing",
        "#/$defs/A/properties/a",
    ]
)


def _schema_keys(children: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    defs = st.dictionaries(st.sampled_from(["A", "B"]), children, max_size=2)
    return st.fixed_dictionaries(
        {},
        optional={
            "type": _TYPES | st.lists(_TYPES, max_size=3) | _JUNK,
            "properties": st.dictionaries(_NAMES, children, max_size=4) | _JUNK,
            "items": children | st.lists(children, max_size=2),
            "prefixItems": st.lists(children, max_size=2),
            "anyOf": st.lists(children, max_size=3) | _JUNK,
            "oneOf": st.lists(children, max_size=3),
            "allOf": st.lists(children, max_size=3) | _JUNK,
            "enum": st.lists(_JUNK, max_size=4) | _JUNK,
            "const": _JUNK,
            "$ref": _REFS | _JUNK,
            "$defs": defs,
            "definitions": defs,
            "required": st.lists(_NAMES, max_size=3) | _JUNK,
            "additionalProperties": children,
            "patternProperties": st.dictionaries(_NAMES, children, max_size=2),
            "nullable": st.booleans() | _JUNK,
            "default": _JUNK,
            "format": st.text(max_size=6) | _JUNK,
            "description": st.text(max_size=40) | _JUNK,
            "minimum": _JUNK,
            "pattern": _JUNK,
            "title": _JUNK,
            "not": children,
            "deprecated": _JUNK,
        },
    )


_SCHEMAS = st.recursive(
    st.booleans() | st.just({}) | _JUNK | _schema_keys(st.just({"type": "string"})),
    _schema_keys,
    max_leaves=25,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    input_schema=_SCHEMAS,
    output_schema=st.none() | _SCHEMAS,
    description=st.text(max_size=60),
    name=st.sampled_from(["fuzz", "list", "Any", "TypedDict", "File", "typing"]),
)
def test_typegen_never_raises_and_always_parses(
    input_schema: Any, output_schema: Any, description: str, name: str
) -> None:
    tool = _tool(name, input_schema, output_schema, description)
    # a second tool with the schemas swapped exercises sharing and renaming classes
    other = _tool("other", output_schema or {}, input_schema, "")
    stubs = [
        namespace_stub("ns", [tool, other]),
        tool_stub(tool),
        tool_stub(tool, with_types=False),
    ]
    for stub in stubs:
        ast.parse(stub)
        assert FALLBACK_NOTE not in stub
    ast.parse(tool_signature(tool) + ": ...")
    names = parameter_names(tool)
    assert all(n.isidentifier() and not keyword.iskeyword(n) for n in names)
    assert len(set(names.values())) == len(names)
    ast.parse(python_type(input_schema), mode="eval")
