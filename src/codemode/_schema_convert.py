"""Converting JSON Schemas to the type model (`codemode._schema_model`).

`Converter` turns one schema into a `Type`, collecting the TypedDicts (`Def`s) it needs;
`object_view` merges an object schema's `allOf` parts into one set of properties; local
`$ref`s are resolved against the root in hand (a tool's input or output schema).

A class for a `$defs` entry is converted on its own, never as part of the tool that
reached it: same depth budget, names derived from its own name, references to other
entries by key. Its `Def`s are then the same whichever tool (or path) reached it, so the
conversion (a `_Unit`) is cached and shared by every tool whose `$ref`s resolve to the
same schema objects (OpenAPI sources share them across operations), and a namespace stub
can emit each such class once.

Conversion never raises on a malformed schema: schemas are untrusted data from MCP
servers and OpenAPI documents, so anything unsupported or malformed degrades to `Any`,
with a short summary of the schema in the documentation instead.
"""

from __future__ import annotations

import functools
import itertools
import re
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from codemode._schema_model import (
    ANY,
    BOOL,
    FLOAT,
    INT,
    NONE,
    STR,
    Def,
    Field,
    Type,
    brief,
    describe,
    enum_type,
    one_line,
    type_name,
    type_refs,
    union,
)

MAX_DEPTH = 20
"""Schemas nested deeper than this degrade to `Any`. Counted within a tool's own schemas
or within one `$defs` entry: a `$ref` to a definition class does not add to it."""

# per conversion (a tool's own schemas, or one `$defs` entry); bounds the work on
# pathological (e.g. shared-subtree) schemas
_NODE_BUDGET = 5000
_UNIT_LIMIT = 50_000  # converted `$defs` entries kept for reuse across tools
_ATOMS = {"string": STR, "integer": INT, "number": FLOAT, "boolean": BOOL, "null": NONE}
_TYPING_KEYS = frozenset(
    {"type", "properties", "items", "prefixItems", "enum", "const", "$ref", "allOf", "anyOf"}
    | {"oneOf", "additionalProperties", "patternProperties"}
)
_DEF_PATH = re.compile(r"^/(?:\$defs|definitions|components/schemas)/([^/]+)$")


@dataclass(kw_only=True)
class ObjectView:
    """An object schema's properties, with `allOf` parts merged in."""

    props: dict[str, Any]
    required: list[str]
    additional: Any = None


_KEYS = itertools.count(1)


def _new_key(name: str) -> str:
    # `#` is never part of a class name, so a key cannot pass for a (final) name
    return f"{name}#{next(_KEYS)}"


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
            return enum_type([s["const"]])
        if "enum" in s:
            if isinstance(s["enum"], list) and s["enum"]:
                return enum_type(s["enum"])
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
                    doc=describe(sub, self.notes),
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
