"""The type model that JSON Schemas convert to, and the small helpers around it.

A schema becomes a `Type`: an atom string (`"str"`, `"Any"`, ...) or a tuple
`("list", t)`, `("dict", t)`, `("ref", key)`, `("lit", values)`, `("union", members)`;
objects with properties become `Def`s (TypedDicts), referred to by a unique key (names
are only wishes: `typegen` picks the final, unique class names). A tool converts to a
`ToolTypes`: keyword `Param`s and a return type.

The helpers build types (`union`, `enum_type`), names (`type_name`) and the one-line
documentation of fields and parameters (`describe`: description plus the validation
keywords an annotation cannot express). Converting schemas is `codemode._schema_convert`'s
job; rendering the model as stub text is `codemode.typegen`'s.
"""

from __future__ import annotations

import functools
import keyword
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from codemode.catalog import Tool

DESCRIPTION_LIMIT = 800
_FIELD_DOC_LIMIT = 300
_LITERAL_MAX = 25  # longer enums become their base type, values listed in the docs

Type = str | tuple[Any, ...]
ANY, STR, INT, FLOAT, BOOL, NONE = "Any", "str", "int", "float", "bool", "None"
TYPING = ("Any", "Literal", "NotRequired", "Required", "TypedDict")
# Names a generated TypedDict may not take: they would shadow what annotations refer to.
RESERVED = frozenset(
    {*TYPING, "str", "int", "float", "bool", "list", "dict", "tuple", "object", "type", "bytes"}
)
_CONSTRAINT_KEYS = frozenset(
    {"format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength"}
    | {"maxLength", "minItems", "maxItems", "multipleOf", "pattern", "uniqueItems", "enum"}
    | {"default", "deprecated"}
)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")
_SENTENCE_END = re.compile(r"[.!?](?=\s)")
_WORD_SPLIT = re.compile(r"[^0-9A-Za-z]+")


# ---------------------------------------------------------------------------- the model


@dataclass(kw_only=True)
class Field:
    """One key of a TypedDict."""

    key: str
    type: Type
    required: bool
    doc: str


@dataclass(kw_only=True, eq=False)
class Def:
    """A TypedDict: an object schema with properties.

    `key` identifies it (types say `("ref", key)`); `name` is the class name it would
    like, which need not be unique: the stub writer numbers clashing ones.
    """

    key: str
    name: str
    fields: list[Field]
    doc: str
    refs: tuple[str, ...] = ()  # keys of the classes its fields refer to


@dataclass(kw_only=True)
class Param:
    """One keyword parameter of a tool's function."""

    name: str
    original: str
    type: Type
    required: bool
    default: str | None  # a Python literal, shown in the signature
    doc: str


@dataclass(kw_only=True)
class ToolTypes:
    """Everything typegen derives from one tool, before rendering."""

    tool: Tool
    defs: dict[str, Def]  # by key, in dependency order (post-order), except inside cycles
    params: list[Param]
    kwargs: tuple[str, Type] | None  # `**name: type`, for open input schemas
    returns: Type
    returns_doc: str


# ------------------------------------------------------------------------ small helpers


def union(members: Sequence[Type]) -> Type:
    """Flatten, de-duplicate and simplify a union; `Any` absorbs everything."""
    out: list[Type] = []
    lits: dict[tuple[type, Any], Any] = {}
    for member in members:
        for m in member[1] if isinstance(member, tuple) and member[0] == "union" else (member,):
            if m == ANY:
                return ANY
            if isinstance(m, tuple) and m[0] == "lit":
                if not m[1]:
                    continue
                if not lits:
                    out.append(("lit", ()))  # placeholder keeps the literal's position
                lits.update(((type(v), v), v) for v in m[1])
            elif m not in out:
                out.append(m)
    if lits:
        base = {str: STR, int: INT, bool: BOOL}
        kept = tuple(v for (t, _), v in lits.items() if base[t] not in out)
        out = [("lit", kept) if m == ("lit", ()) else m for m in out if m != ("lit", ()) or kept]
    if NONE in out:  # by convention `| None` comes last
        out.remove(NONE)
        out.append(NONE)
    if not out:
        return ANY
    return out[0] if len(out) == 1 else ("union", tuple(out))


def _literal_ok(v: Any) -> bool:
    return type(v) in (str, bool) or (type(v) is int and abs(v) < 2**63)


def _base_type(v: Any) -> Type:
    if v is None:
        return NONE
    kinds: dict[type, Type] = {str: STR, bool: BOOL, int: INT, float: FLOAT}
    if type(v) in kinds:
        return kinds[type(v)]
    return ("list", ANY) if isinstance(v, list) else ("dict", ANY) if isinstance(v, dict) else ANY


def enum_type(values: list[Any]) -> Type:
    """`Literal[...]` for short enums of str/int/bool/None, else the union of base types."""
    if len(values) <= _LITERAL_MAX and all(v is None or _literal_ok(v) for v in values):
        lits = tuple(v for v in values if v is not None)
        return union([("lit", lits)] + ([NONE] if None in values else []))
    return union([_base_type(v) for v in values])


@functools.lru_cache(maxsize=8192)  # the same keys recur in every tool of an API
def type_name(text: str, fallback: str) -> str:
    """CamelCase `text` into a class-name fragment: `list_files` -> `ListFiles`."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    name = "".join(p[:1].upper() + p[1:] for p in _WORD_SPLIT.split(text) if p) or fallback
    return "T" + name if name[:1].isdigit() else name


def str_literal(text: str) -> str:
    """A Python string literal for `text`, double-quoted when possible."""
    r = repr(text)
    return f'"{r[1:-1]}"' if r[0] == "'" and '"' not in text else r


class _Full(Exception):
    pass


def brief(value: Any, limit: int = 80) -> str:
    """A short, bounded, JSON-like summary of a schema (safe on huge or cyclic input)."""
    parts: list[str] = []
    size = 0

    def emit(s: str) -> None:
        nonlocal size
        parts.append(s)
        size += len(s)
        if size > limit:
            raise _Full

    def walk(v: Any, depth: int) -> None:
        if isinstance(v, dict | list) and depth > 3:
            emit("…")
        elif isinstance(v, dict):
            emit("{")
            for i, (k, x) in enumerate(v.items()):
                emit(f"{', ' if i else ''}{_scalar(k)}: ")
                walk(x, depth + 1)
            emit("}")
        elif isinstance(v, list):
            emit("[")
            for i, x in enumerate(v):
                emit(", " if i else "")
                walk(x, depth + 1)
            emit("]")
        else:
            emit(_scalar(v))

    def _scalar(v: Any) -> str:
        if type(v) is str:
            return str_literal(v[: limit + 1])
        if v is None or type(v) in (bool, float) or (type(v) is int and abs(v) < 2**256):
            return repr(v)
        return f"<{type(v).__name__}>"

    try:
        walk(value, 0)
    except _Full:
        return "".join(parts)[:limit] + "…"
    return "".join(parts)


def clean(text: str) -> str:
    """Drop characters a source file cannot carry (NUL, lone surrogates, other controls)."""
    return _CONTROL.sub(" ", text.replace("\r\n", "\n"))


def trim(text: str, limit: int) -> str:
    """Cut `text` to about `limit` characters at a paragraph or sentence boundary."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    at = cut.rfind("\n\n")
    if at < limit // 2:
        ends = [m.end() for m in _SENTENCE_END.finditer(cut)]
        at = ends[-1] if ends and ends[-1] > limit // 2 else cut.rfind(" ")
    return cut[: at if at > 0 else limit].rstrip() + " …"


def one_line(text: Any, limit: int = _FIELD_DOC_LIMIT) -> str:
    return _one_line_str(text, limit) if isinstance(text, str) else ""


@functools.lru_cache(maxsize=8192)  # shared components repeat their descriptions
def _one_line_str(text: str, limit: int) -> str:
    return trim(" ".join(clean(text).split()), limit)


def _constraints(s: Mapping[str, Any], *, default: bool) -> list[str]:
    """Short notes on the validation keywords a Python annotation cannot express."""
    out: list[str] = []
    if _CONSTRAINT_KEYS.isdisjoint(s):  # the common case, kept cheap
        return out
    if isinstance(s.get("format"), str):
        out.append(f"format: {one_line(s['format'], 40)}")
    bounds = (
        ("minimum", ">="),
        ("exclusiveMinimum", ">"),
        ("maximum", "<="),
        ("exclusiveMaximum", "<"),
    )
    for key, op in bounds:
        if type(s.get(key)) in (int, float):
            # draft 4 spells exclusive bounds as booleans next to minimum/maximum
            exclusive = s.get("exclusive" + key.title()) is True
            out.append(f"{op[0] if exclusive else op} {brief(s[key], 30)}")
    for key, label in (
        ("minLength", "min length"),
        ("maxLength", "max length"),
        ("minItems", "min items"),
        ("maxItems", "max items"),
        ("multipleOf", "multiple of"),
    ):
        if type(s.get(key)) in (int, float):
            out.append(f"{label} {brief(s[key], 30)}")
    if isinstance(s.get("pattern"), str):
        out.append(f"pattern: {one_line(s['pattern'], 80)}")
    if s.get("uniqueItems") is True:
        out.append("unique items")
    enum = s.get("enum")
    if isinstance(enum, list) and len(enum) > _LITERAL_MAX:
        out.append(f"one of: {brief(enum, 120)} ({len(enum)} values)")
    if default and "default" in s:
        out.append(f"default: {brief(s['default'], 60)}")
    if s.get("deprecated") is True:
        out.append("deprecated")
    return out


def describe(s: Any, notes: list[str], *, default: bool = True) -> str:
    """One line of documentation for a parameter or field: description + constraints."""
    if not isinstance(s, dict):
        return "; ".join(notes)
    text = one_line(s.get("description"))
    extra = _constraints(s, default=default) + notes
    return f"{text} ({'; '.join(extra)})" if text and extra else text or "; ".join(extra)


def type_refs(t: Type, out: dict[str, None]) -> dict[str, None]:
    """The class keys `t` refers to, added to `out` (an ordered set) in order."""
    if isinstance(t, tuple):
        if t[0] == "ref":
            out[t[1]] = None
        elif t[0] in ("list", "dict"):
            type_refs(t[1], out)
        elif t[0] == "union":
            for m in t[1]:
                type_refs(m, out)
    return out


@functools.lru_cache(maxsize=8192)  # always called with dict keys, so hashable
def is_identifier(name: Any) -> bool:
    # ASCII only: Python NFKC-normalises identifiers, which would change the name sent.
    return (
        type(name) is str and name.isascii() and name.isidentifier() and not keyword.iskeyword(name)
    )
