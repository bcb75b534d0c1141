"""JSON Schema -> a small type model, the first half of `codemode.typegen`.

A schema becomes a `Type`: an atom string (`"str"`, `"Any"`, ...) or a tuple
`("list", t)`, `("dict", t)`, `("ref", key)`, `("lit", values)`, `("union", members)`;
objects with properties become `Def`s (TypedDicts), referred to by a unique key (names
are only wishes: `typegen` picks the final, unique class names). `analyse(tool)` converts
a tool's input schema into keyword parameters and its output schema into a return type.
Rendering the model as stub text is `codemode.typegen`'s job.

A class for a `$defs` entry is converted on its own, never as part of the tool that
reached it: same depth budget, names derived from its own name, references to other
entries by key. Its `Def`s are then the same whichever tool (or path) reached it, so the
conversion is cached and shared by every tool whose `$ref`s resolve to the same schema
objects (OpenAPI sources share them across operations), and a namespace stub can emit
each such class once.

Conversion never raises: schemas are untrusted data from MCP servers and OpenAPI
documents, so anything unsupported or malformed degrades to `Any`, with a short summary
of the schema in the documentation instead.
"""

from __future__ import annotations

import functools
import itertools
import keyword
import math
import re
import threading
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from codemode.catalog import Tool, to_identifier

MAX_DEPTH = 20
"""Schemas nested deeper than this degrade to `Any`. Counted within a tool's own schemas
or within one `$defs` entry: a `$ref` to a definition class does not add to it."""
FALLBACK_NOTE = "typegen could not type this tool"
"""Appears in a stub when conversion failed unexpectedly (a bug; the stub is untyped)."""

# per conversion (a tool's own schemas, or one `$defs` entry); bounds the work on
# pathological (e.g. shared-subtree) schemas
_NODE_BUDGET = 5000
_UNIT_LIMIT = 50_000  # converted `$defs` entries kept for reuse across tools
DESCRIPTION_LIMIT = 800
_FIELD_DOC_LIMIT = 300
_LITERAL_MAX = 25  # longer enums become their base type, values listed in the docs
_DEFAULT_MAX = 60  # longer defaults are documented instead of shown in the signature

Type = str | tuple[Any, ...]
ANY, STR, INT, FLOAT, BOOL, NONE = "Any", "str", "int", "float", "bool", "None"
_ATOMS = {"string": STR, "integer": INT, "number": FLOAT, "boolean": BOOL, "null": NONE}
TYPING = ("Any", "Literal", "NotRequired", "Required", "TypedDict")
# Names a generated TypedDict may not take: they would shadow what annotations refer to.
RESERVED = frozenset(
    {*TYPING, "str", "int", "float", "bool", "list", "dict", "tuple", "object", "type", "bytes"}
)
_TYPING_KEYS = frozenset(
    {"type", "properties", "items", "prefixItems", "enum", "const", "$ref", "allOf", "anyOf"}
    | {"oneOf", "additionalProperties", "patternProperties"}
)
_CONSTRAINT_KEYS = frozenset(
    {"format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength"}
    | {"maxLength", "minItems", "maxItems", "multipleOf", "pattern", "uniqueItems", "enum"}
    | {"default", "deprecated"}
)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")
_SENTENCE_END = re.compile(r"[.!?](?=\s)")
_WORD_SPLIT = re.compile(r"[^0-9A-Za-z]+")
_DEF_PATH = re.compile(r"^/(?:\$defs|definitions|components/schemas)/([^/]+)$")


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


@dataclass(kw_only=True)
class ObjectView:
    """An object schema's properties, with `allOf` parts merged in."""

    props: dict[str, Any]
    required: list[str]
    additional: Any = None


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


def _enum_type(values: list[Any]) -> Type:
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


def _py_literal(value: Any, depth: int = 0) -> str | None:
    """`value` as a Python literal if it is a small JSON value, else None."""
    if value is None or type(value) is bool:
        return repr(value)
    if type(value) is int:
        return repr(value) if abs(value) < 2**63 else None
    if type(value) is float:
        return repr(value) if math.isfinite(value) else None
    if type(value) is str:
        return str_literal(value) if len(value) <= _DEFAULT_MAX else None
    if depth > 3 or not isinstance(value, list | dict) or len(value) > 8:
        return None
    if isinstance(value, list):
        items = [_py_literal(v, depth + 1) for v in value]
        return None if None in items else "[" + ", ".join(items) + "]"  # type: ignore[arg-type]
    if not all(type(k) is str for k in value):
        return None
    pairs = [(str_literal(k), _py_literal(v, depth + 1)) for k, v in value.items()]
    return (
        None
        if any(v is None for _, v in pairs)
        else "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"
    )


def _accepts(t: Type, value: Any, defs: Mapping[str, Def], depth: int = 0) -> bool:
    """Whether a type checker accepts `value` (a JSON literal) where `t` is expected."""
    if depth > 8:
        return False
    if isinstance(t, str):
        simple = {STR: (str,), INT: (int,), FLOAT: (int, float), BOOL: (bool,)}
        if t in simple:
            return type(value) in simple[t]
        return value is None if t == NONE else t == ANY
    kind, arg = t
    if kind == "lit":
        return any(type(value) is type(v) and value == v for v in arg)
    if kind == "union":
        return any(_accepts(m, value, defs, depth + 1) for m in arg)
    if kind == "list":
        return isinstance(value, list) and all(_accepts(arg, v, defs, depth + 1) for v in value)
    if not isinstance(value, dict) or not all(type(k) is str for k in value):
        return False
    if kind == "dict":
        return all(_accepts(arg, v, defs, depth + 1) for v in value.values())
    fields = {f.key: f for f in defs[arg].fields} if arg in defs else None
    return (
        fields is not None
        and all(
            k in fields and _accepts(fields[k].type, v, defs, depth + 1) for k, v in value.items()
        )
        and all(f.key in value for f in fields.values() if f.required)
    )


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


def _describe(s: Any, notes: list[str], *, default: bool = True) -> str:
    """One line of documentation for a parameter or field: description + constraints."""
    if not isinstance(s, dict):
        return "; ".join(notes)
    text = one_line(s.get("description"))
    extra = _constraints(s, default=default) + notes
    return f"{text} ({'; '.join(extra)})" if text and extra else text or "; ".join(extra)


# -------------------------------------------------------------------------- conversion


_KEYS = itertools.count(1)


def _new_key(name: str) -> str:
    # `#` is never part of a class name, so a key cannot pass for a (final) name
    return f"{name}#{next(_KEYS)}"


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


@functools.lru_cache(maxsize=8192)  # the same few thousand `$ref`s recur in every tool
def _ref_paths(ref: str) -> tuple[tuple[tuple[str, ...], ...], str, bool]:
    """Where a local `$ref` may point (paths into the root, in order of preference), the
    class name it suggests and whether it names a definition (`#/$defs/X` and the like)."""
    if not ref.startswith("#"):
        return (), "", False
    pointer = unquote(ref[1:])
    if pointer and not pointer.startswith("/"):
        return (), "", False  # `#anchor` style: not supported
    parts = tuple(p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:])
    candidates = [parts]
    match = _DEF_PATH.match(pointer)
    if match:  # OpenAPI refs often land in `$defs` and back
        name = parts[-1]
        candidates += [("$defs", name), ("definitions", name), ("components", "schemas", name)]
    return tuple(candidates), type_name(parts[-1], "Model") if match else "", bool(match)


@dataclass(kw_only=True, eq=False)
class _Unit:
    """The class of one `$defs` entry, converted on its own (see `Converter.unit`).

    Its content depends only on the entry's schema and on what the `$ref`s met while
    converting it resolved to (`deps`), so any tool whose refs resolve to the same
    objects can reuse it, classes (and keys) included.
    """

    target: dict[str, Any]  # the entry's schema; kept alive, as units are found by its id
    name: str
    key: str  # its class's `Def.key`
    type: Type  # how a reference to the entry converts: the class, maybe `| None`
    defs: list[Def] = field(default_factory=list)  # its class and the inline ones inside
    uses: list[_Unit] = field(default_factory=list)  # the units its classes refer to
    deps: dict[str, Any] = field(default_factory=dict)  # `$ref` -> what it resolved to
    closure_: list[_Unit] | None = None

    def closure(self) -> list[_Unit]:
        """This unit and every unit it reaches, each after those it refers to (but for
        cycles). Iterative: chains of definitions can be longer than the Python stack."""
        if self.closure_ is None:
            out: list[_Unit] = []
            seen = {id(self)}
            stack = [(self, iter(self.uses))]
            while stack:
                unit, rest = stack[-1]
                for other in rest:
                    if id(other) not in seen:
                        seen.add(id(other))
                        stack.append((other, iter(other.uses)))
                        break
                else:
                    stack.pop()
                    out.append(unit)
            self.closure_ = out
        return self.closure_


# (id(schema), name) -> the unit converted for it; shared by all tools (see `Converter.unit`)
_UNITS: dict[tuple[int, str], _Unit] = {}
_UNITS_LOCK = threading.Lock()  # tools may be analysed on several threads


class _Session:
    """What the conversions for one tool share: the root `$ref`s resolve against, and the
    units usable under it (converted for this tool, or cached ones whose refs resolve to
    the same objects here)."""

    def __init__(self) -> None:
        self.root: Any = {}
        self.root_name = ""
        self.resolved: dict[str, tuple[Any, str, bool]] = {}  # under the current root
        self.units: dict[tuple[int, str], _Unit] = {}  # usable under the current root
        self.checked: dict[int, bool] = {}  # id(unit) -> its own deps hold under the root
        self.queue: list[_Unit] = []  # units to convert
        self.made: list[_Unit] = []  # units converted for this tool, not yet published
        self.mine: dict[tuple[int, str], _Unit] = {}  # all units converted for this tool

    def set_root(self, root: Any, name: str) -> None:
        self.root, self.root_name = root, name
        self.resolved.clear()
        self.units.clear()
        self.checked.clear()

    def resolve(self, ref: str) -> tuple[Any, str, bool]:
        """Target, class name, whether it is a definition; (None, "", False) if not found."""
        known = self.resolved.get(ref)
        if known is not None:
            return known
        candidates, name, is_def = _ref_paths(ref)
        found: tuple[Any, str, bool] = (None, "", False)
        for path in candidates:
            node = self.root
            for part in path:
                if isinstance(node, dict) and part in node:
                    node = node[part]
                elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                    node = node[int(part)]
                else:
                    break
            else:
                found = (node, name or (self.root_name if not path else ""), is_def)
                break
        self.resolved[ref] = found
        return found

    def adopt(self, key: tuple[int, str], target: Any) -> _Unit | None:
        """A unit converted before for `key` (for this tool under its other root, or for
        another tool) if it, and everything it reaches, holds here."""
        for unit in (self.mine.get(key), _UNITS.get(key)):
            if unit is not None and unit.target is target and self._holds(unit):
                return unit
        return None

    def _holds(self, unit: _Unit) -> bool:
        """Whether every `$ref` met converting `unit` and the units it reaches resolves
        to the same object under the current root; if so, they become usable here."""
        closure = unit.closure()
        for other in closure:
            ok = self.checked.get(id(other))
            if ok is None:
                ok = self.checked[id(other)] = all(
                    self.resolve(ref)[0] is node for ref, node in other.deps.items()
                )
            if not ok:
                return False
        for other in closure:
            self.units.setdefault((id(other.target), other.name), other)
        return True

    def publish(self) -> None:
        """Offer the units converted so far to later tools (they are complete now)."""
        with _UNITS_LOCK:
            for unit in self.made:
                key = (id(unit.target), unit.name)
                self.mine[key] = unit
                if len(_UNITS) >= _UNIT_LIMIT:
                    del _UNITS[next(iter(_UNITS))]
                _UNITS.setdefault(key, unit)  # one that holds elsewhere stays
        self.made.clear()


class Converter:
    """Converts schemas (a tool's own, or one `$defs` entry), collecting the TypedDicts
    they need. Conversions for one tool share a `_Session`."""

    def __init__(self, prefix: str, *, flat: bool = False, session: _Session | None = None) -> None:
        self.prefix = prefix  # long nested class names restart from it
        self.flat = flat  # objects become dict[str, Any] (for `python_type`)
        self.session = session if session is not None else _Session()
        self.defs: list[Def] = []  # each after the classes it contains
        self.uses: dict[int, _Unit] = {}  # id -> unit, those referred to here, in order
        self.deps: dict[str, Any] = {}  # every `$ref` resolved here -> its target
        self.preset: tuple[int, str] | None = None  # (id(schema), key): a unit's own class
        self.memo: dict[int, Type] = {}  # by id(schema); also what makes recursion work
        self.active: set[int] = set()
        self.keep: list[Any] = []  # keeps memoised schemas alive, so their ids stay unique
        self.notes: list[str] = []
        self.budget = _NODE_BUDGET

    def child(self, name: str, suffix: str) -> str:
        """A class-name hint for a nested schema; long paths restart from the prefix (the
        tool's name, or the definition's: never the path that happened to get here)."""
        return name + suffix if len(name) + len(suffix) <= 48 else self.prefix + suffix

    def degrade(self, schema: Any, why: str) -> Type:
        """`Any`, noting why and what the schema was for the documentation."""
        note = f"{why}: {brief(schema)}"
        if note not in self.notes:
            self.notes.append(note)
        return ANY

    def resolve(self, ref: str) -> tuple[Any, str, bool]:
        """The target of a local `$ref`, a class name for it and whether it is a
        definition; (None, "", False) if not found. Recorded: a unit depends on it."""
        found = self.session.resolve(ref)
        self.deps[ref] = found[0]
        return found

    def unit(self, target: dict[str, Any], name: str, nullable: bool) -> Type:
        """The type of a reference to definition `target`, a class (see `class_view`).

        The class is converted on its own, as a unit (queued: definitions can chain
        further than the stack goes), not within what refers to it: the depth and node
        budgets, the names of nested classes and the references out of it then do not
        depend on which tool, or which path, reached it first. That is what lets tools
        share it (`_Session.adopt`), and a namespace stub print it once.
        """
        s = self.session
        key = (id(target), name)
        unit = s.units.get(key) or s.adopt(key, target)
        if unit is None:
            new_key = _new_key(name)
            t: Type = ("ref", new_key)
            if nullable or target.get("nullable") is True or target.get("x-nullable") is True:
                t = union([t, NONE])  # as `convert` adds it, so the types agree
            unit = s.units[key] = _Unit(target=target, name=name, key=new_key, type=t)
            s.queue.append(unit)
            s.made.append(unit)
        self.uses.setdefault(id(unit), unit)
        return unit.type

    def drain(self) -> None:
        """Convert the queued units (which may queue more), then publish them."""
        s = self.session
        while s.queue:
            unit = s.queue.pop()
            conv = Converter(unit.name, session=s)
            conv.preset = (id(unit.target), unit.key)
            t = conv.convert(unit.target, unit.name, 0)
            if t != unit.type:  # `class_view` promised a class; a bug if not
                raise AssertionError(f"definition {unit.name} converted to {t!r}")
            unit.defs, unit.uses, unit.deps = conv.defs, list(conv.uses.values()), conv.deps
        s.publish()

    def collected(self) -> dict[str, Def]:
        """Every class this conversion needs, by key: the units' first, dependencies
        before the classes using them (but for cycles)."""
        out: dict[str, Def] = {}
        seen: set[int] = set()
        for unit in self.uses.values():
            for other in unit.closure():
                if id(other) not in seen:
                    seen.add(id(other))
                    out.update((d.key, d) for d in other.defs)
        out.update((d.key, d) for d in self.defs)
        return out

    def convert(self, schema: Any, hint: str, depth: int) -> Type:
        """The type of `schema`; `hint` names the TypedDict if it is an object."""
        if schema is True or schema == {}:
            return ANY
        if not isinstance(schema, dict):
            return self.degrade(schema, "not a schema")
        key = id(schema)
        if key in self.memo:
            return self.memo[key]
        if key in self.active:
            return self.degrade(schema, "recursive")
        if depth > MAX_DEPTH or self.budget <= 0:
            return self.degrade(schema, "too deep")
        self.budget -= 1
        self.active.add(key)
        try:
            t = self._convert(schema, hint, depth)
        finally:
            self.active.discard(key)
        if schema.get("nullable") is True or schema.get("x-nullable") is True:
            t = union([t, NONE])
        self.memo[key] = t
        self.keep.append(schema)
        return t

    def class_view(self, s: dict[str, Any], depth: int) -> tuple[ObjectView, bool] | None:
        """The properties of `s` if it converts to exactly one TypedDict, and whether
        `| None` goes with it (`type: [object, null]`); None for anything else.

        `_convert` decides with this first, so a reference to a definition can know its
        type (`Converter.unit`) before the definition is converted.
        """
        if isinstance(s.get("$ref"), str):
            return None
        nullable = False
        if isinstance(s.get("allOf"), list):
            parts = [p for p in s["allOf"] if isinstance(p, dict) and _TYPING_KEYS & p.keys()]
            if len(parts) == 1 and not _TYPING_KEYS.intersection(k for k in s if k != "allOf"):
                return None  # a wrapper adding docs, e.g. `allOf: [{$ref}]`
        else:
            for keyword_ in ("anyOf", "oneOf"):
                members = s.get(keyword_)
                if isinstance(members, list) and members and "properties" not in s:
                    return None
            if "const" in s or "enum" in s:
                return None
            typ = s.get("type")
            if isinstance(typ, list):
                kinds = {t for t in typ if isinstance(t, str)}
                if "object" not in kinds or not kinds <= {"object", "null"}:
                    return None
                nullable = "null" in kinds
            elif typ is None:
                if not {"properties", "additionalProperties", "patternProperties"} & s.keys():
                    return None
            elif typ != "object":
                return None
        view = self.object_view(s, depth, set())
        return (view, nullable) if view is not None and (view.props or view.required) else None

    def _convert(self, s: dict[str, Any], hint: str, depth: int) -> Type:
        ref = s.get("$ref")
        if isinstance(ref, str):
            target, name, is_def = self.resolve(ref)
            if target is None:
                return self.degrade(ref, "unresolved $ref")
            if is_def and not self.flat and isinstance(target, dict):
                shape = self.class_view(target, 0)
                if shape is not None:
                    return self.unit(target, name, shape[1])
            view = None if id(target) in self.memo else self.object_view(target, depth, set())
            if view is not None and view.props:
                # A class may refer back through schemas still in progress (a `#` ref in an
                # array parameter). Its name, memoised before its fields, ends any cycle
                # through it, so convert it afresh rather than cut the cycle at `Any`.
                saved, self.active = self.active, set()
                try:
                    return self.convert(target, name or hint, depth + 1)
                finally:
                    self.active = saved
            return self.convert(target, name or hint, depth + 1)
        shape = self.class_view(s, depth)
        if shape is not None:
            t = self.typed_dict(s, shape[0], hint, depth)
            return union([t, NONE]) if shape[1] else t
        if isinstance(s.get("allOf"), list):
            parts = [p for p in s["allOf"] if isinstance(p, dict) and _TYPING_KEYS & p.keys()]
            own = _TYPING_KEYS.intersection(k for k in s if k != "allOf")
            if len(parts) == 1 and not own:  # a wrapper adding docs, e.g. `allOf: [{$ref}]`
                return self.convert(parts[0], hint, depth + 1)
            view = self.object_view(s, depth, set())
            if view is not None and (view.props or view.required):
                return self.typed_dict(s, view, hint, depth)
            if len(parts) > 1 and not own:
                # Not all objects: no one part is the type of the intersection, and a type
                # too narrow makes the checker reject valid calls. `Any` is honest.
                return self.degrade(s, "allOf of different types")
        for keyword_ in ("anyOf", "oneOf"):
            members = s.get(keyword_)
            if isinstance(members, list) and members and "properties" not in s:
                # several object variants need distinct names: by title, else by position
                many = sum(isinstance(m, dict) and "properties" in m for m in members) > 1
                types = []
                for i, m in enumerate(members):
                    title = m.get("title") if isinstance(m, dict) and many else None
                    suffix = type_name(title, "") if isinstance(title, str) else ""
                    suffix = suffix or f"Variant{i + 1}" if many else ""
                    types.append(self.convert(m, self.child(hint, suffix), depth + 1))
                either = union(types)
                if either != ANY or "type" not in s:  # else constraint-only variants
                    return either
        if "const" in s:
            return _enum_type([s["const"]])
        if "enum" in s:
            if isinstance(s["enum"], list) and s["enum"]:
                return _enum_type(s["enum"])
            self.degrade(s["enum"], "bad enum")
        typ = s.get("type")
        if isinstance(typ, list):
            return union([self.typed(s, t, hint, depth) for t in typ if isinstance(t, str)])
        if isinstance(typ, str):
            return self.typed(s, typ, hint, depth)
        if typ is not None:
            return self.degrade(typ, "bad type")
        if {"properties", "additionalProperties", "patternProperties"} & s.keys():
            return self.typed(s, "object", hint, depth)
        if "items" in s or "prefixItems" in s:
            return self.typed(s, "array", hint, depth)
        return ANY

    def typed(self, s: dict[str, Any], typ: str, hint: str, depth: int) -> Type:
        """The type for one value of the `type` keyword."""
        if typ in _ATOMS:
            return _ATOMS[typ]
        if typ == "array":
            items, prefix = s.get("items"), s.get("prefixItems")
            if isinstance(items, list):  # draft 4 tuple form
                items, prefix = s.get("additionalItems", True), items
            if isinstance(prefix, list) and prefix:
                # JSON arrays arrive as lists, so a tuple annotation would reject real values.
                parts = [self.convert(p, self.child(hint, "Item"), depth + 1) for p in prefix]
                if items is not False:
                    parts.append(
                        self.convert(items, self.child(hint, "Item"), depth + 1) if items else ANY
                    )
                return ("list", union(parts))
            return (
                "list",
                ANY if items is None else self.convert(items, self.child(hint, "Item"), depth + 1),
            )
        if typ == "object":
            view = self.object_view(s, depth, set())
            if view is not None and (view.props or view.required):
                return self.typed_dict(s, view, hint, depth)
            extra = s.get("additionalProperties")
            values = [extra] if isinstance(extra, dict) and extra else []
            if isinstance(s.get("patternProperties"), dict):
                values += s["patternProperties"].values()
            if values:
                return (
                    "dict",
                    union([self.convert(v, self.child(hint, "Value"), depth + 1) for v in values]),
                )
            return ("dict", ANY)
        if typ == "any":
            return ANY
        return self.degrade(typ, "unsupported type")

    def object_view(self, s: Any, depth: int, seen: set[int]) -> ObjectView | None:
        """Properties of an object schema, merging `allOf` parts; None if not object-like."""
        if not isinstance(s, dict) or id(s) in seen or depth > MAX_DEPTH:
            return None
        seen.add(id(s))
        if isinstance(s.get("$ref"), str):
            return self.object_view(self.resolve(s["$ref"])[0], depth + 1, seen)
        typ = s.get("type")
        props = s.get("properties")
        view = ObjectView(props=dict(props) if isinstance(props, dict) else {}, required=[])
        objectish = (
            isinstance(props, dict)
            or typ == "object"
            or (isinstance(typ, list) and "object" in typ)
        )
        parts = s.get("allOf")
        for part in parts if isinstance(parts, list) else ():
            if isinstance(part, dict) and not _TYPING_KEYS & part.keys():
                sub: ObjectView | None = ObjectView(props={}, required=[])
            else:
                sub = self.object_view(part, depth + 1, seen)
                if sub is None:
                    return None
                objectish = True
            assert sub is not None
            view.props.update(sub.props)
            view.required += sub.required
            view.additional = view.additional if sub.additional is None else sub.additional
        required = s.get("required")
        for r in required if isinstance(required, list) else ():
            if type(r) is str and r not in view.required:
                view.required.append(r)
        if "additionalProperties" in s:
            view.additional = s["additionalProperties"]
        return view if objectish else None

    def typed_dict(self, s: dict[str, Any], view: ObjectView, hint: str, depth: int) -> Type:
        """Register the TypedDict for object schema `s` and return a reference to it."""
        if self.flat:
            return ("dict", ANY)
        if self.preset is not None and self.preset[0] == id(s):
            key, self.preset = self.preset[1], None  # the key references already use
        else:
            key = _new_key(hint)
        self.memo[id(s)] = ref = ("ref", key)  # before the fields, so recursion finds it
        self.keep.append(s)
        fields = []
        for name, sub in view.props.items():
            if type(name) is not str:
                continue
            saved, self.notes = self.notes, []
            t = self.convert(sub, self.child(hint, type_name(name, "Field")), depth + 1)
            fields.append(
                Field(
                    key=name,
                    type=t,
                    required=name in view.required,
                    doc=_describe(sub, self.notes),
                )
            )
            self.notes = saved
        fields += [
            Field(key=r, type=ANY, required=True, doc="")
            for r in view.required
            if r not in view.props
        ]
        doc = one_line(s.get("description"))
        extra = view.additional
        if extra is not None and extra is not False:
            what = "" if extra is True or extra == {} else f" ({brief(extra, 60)})"
            doc = f"{doc} (additional keys allowed{what})".strip()
        refs: dict[str, None] = {}
        for f in fields:
            type_refs(f.type, refs)
        self.defs.append(Def(key=key, name=hint, fields=fields, doc=doc, refs=tuple(refs)))
        return ref


@dataclass(kw_only=True)
class _RawParam:
    """A parameter converted, its default not yet checked (the classes it may need are
    only all converted once the tool's schemas are)."""

    name: str
    original: str
    schema: Any
    required: bool
    type: Type
    notes: list[str]


def _param(raw: _RawParam, defs: Mapping[str, Def]) -> Param:
    """One parameter: its type, and its default if a type checker would accept it."""
    t, schema, required = raw.type, raw.schema, raw.required
    default = schema.get("default", ...) if isinstance(schema, dict) else ...
    literal = None if default is ... or required else _py_literal(default)
    if literal is not None and (len(literal) > _DEFAULT_MAX or not _accepts(t, default, defs)):
        literal = None  # the checker would reject it: documented instead
    shown = literal is not None
    if not required and (literal is None or literal == "None"):
        t, literal = union([t, NONE]), "None"
    doc = _describe(schema, raw.notes, default=not shown and default is not None)
    return Param(
        name=raw.name, original=raw.original, type=t, required=required, default=literal, doc=doc
    )


def analyse(tool: Tool) -> ToolTypes:
    """Convert one tool's schemas; cached, since search and help ask for the same tools."""
    cached = _CACHE.get(id(tool))
    if cached is not None and cached.tool is tool:
        return cached
    try:
        result = _convert_tool(tool)
    except Exception as exc:  # a bug here must not take a whole namespace down
        note = f"{FALLBACK_NOTE} ({type(exc).__name__})"
        result = ToolTypes(
            tool=tool, defs={}, params=[], kwargs=("kwargs", ANY), returns=ANY, returns_doc=note
        )
    if len(_CACHE) >= 4096:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[id(tool)] = result
    return result


def _named_params(view: ObjectView, taken: set[str]) -> list[tuple[str, str, Any]]:
    """(python name, original name, schema) of each property, in schema order.

    Names that are already identifiers keep them; the others are mapped around them.
    `taken` collects the names used.
    """
    out = []
    ordered = sorted(view.props.items(), key=lambda kv: not is_identifier(kv[0]))
    for original, sub in ordered:
        if type(original) is not str:
            continue
        name = original if is_identifier(original) else to_identifier(original)
        if name == "tool" and "tool" not in original.lower():
            name = "param"  # what to_identifier makes of a name with no ASCII letters
        base, n = name, 1
        while name in taken:
            n += 1
            name = f"{base}_{n}"
        taken.add(name)
        out.append((name, original, sub))
    return out


def parameter_names(tool: Tool) -> dict[str, str]:
    """Python name -> original name of each parameter, without converting any types.

    The bridge needs this for every tool when a catalog loads; converting whole schemas
    (output schemas of some APIs reach hundreds of definitions) would cost seconds.
    """
    cached = _CACHE.get(id(tool))
    if cached is not None and cached.tool is tool:
        return {p.name: p.original for p in cached.params}
    schema = tool.input_schema
    if not isinstance(schema, dict):
        return {}
    try:
        conv = Converter(type_name(tool.identifier, "Tool"))
        conv.session.set_root(schema, conv.prefix + "Params")
        view = conv.object_view(schema, 0, set())
    except Exception:  # malformed schemas degrade, as in the full conversion
        return {p.name: p.original for p in analyse(tool).params}
    if view is None:
        return {}
    return {name: original for name, original, _ in _named_params(view, set())}


def _convert_tool(tool: Tool) -> ToolTypes:
    """Input schema -> keyword parameters (+ `**kwargs` if open), output -> return type."""
    prefix = type_name(tool.identifier, "Tool")
    conv = Converter(prefix)
    schema = tool.input_schema
    conv.session.set_root(schema, prefix + "Params")
    view = conv.object_view(schema, 0, set()) if isinstance(schema, dict) else None
    raw: list[_RawParam] = []
    kwargs: tuple[str, Type] | None = None
    if view is None:  # not an object schema: accept anything rather than nothing
        kwargs = ("kwargs", ANY)
    else:
        taken: set[str] = set()
        for name, original, sub in _named_params(view, taken):
            conv.notes = []
            t = conv.convert(sub, prefix + type_name(original, "Param"), 1)
            required = original in view.required
            raw.append(
                _RawParam(
                    name=name,
                    original=original,
                    schema=sub,
                    required=required,
                    type=t,
                    notes=conv.notes,
                )
            )
        order = {original: i for i, original in enumerate(view.props)}
        raw.sort(key=lambda p: (not p.required, order[p.original]))
        extra = view.additional
        if extra is True or (isinstance(extra, dict) and extra):
            kw = "kwargs"
            while kw in taken:
                kw += "_"
            conv.notes = []
            kwargs = (kw, conv.convert(extra, prefix + "Extra", 1))
    conv.drain()  # the definitions queued must resolve their refs against this root
    output = tool.output_schema
    conv.session.set_root(output, prefix + "Result")
    conv.notes = []
    returns = ANY if output is None else conv.convert(output, prefix + "Result", 0)
    conv.drain()
    doc = output.get("description") if isinstance(output, dict) else None
    if isinstance(output, dict) and doc is None and isinstance(output.get("$ref"), str):
        target = conv.session.resolve(output["$ref"])[0]
        doc = target.get("description") if isinstance(target, dict) else None
    returns_doc = " ".join(filter(None, [one_line(doc, DESCRIPTION_LIMIT), *conv.notes]))
    defs = conv.collected()
    return ToolTypes(
        tool=tool,
        defs=defs,
        params=[_param(p, defs) for p in raw],
        kwargs=kwargs,
        returns=returns,
        returns_doc=returns_doc,
    )


_CACHE: dict[int, ToolTypes] = {}  # id(tool) -> result; holds the tool, so ids stay unique


@functools.lru_cache(maxsize=8192)  # always called with dict keys, so hashable
def is_identifier(name: Any) -> bool:
    # ASCII only: Python NFKC-normalises identifiers, which would change the name sent.
    return (
        type(name) is str and name.isascii() and name.isidentifier() and not keyword.iskeyword(name)
    )
