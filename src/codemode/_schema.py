"""JSON Schema -> a small type model, the first half of `codemode.typegen`.

`analyse(tool)` converts a tool's input schema into keyword parameters (with their
defaults, when a type checker would accept them) and its output schema into a return
type; `parameter_names(tool)` maps parameter names without converting any types. The
model is `codemode._schema_model`, the conversion `codemode._schema_convert`; rendering
the model as stub text is `codemode.typegen`'s job.

Analysis never raises: a bug in the conversion degrades the tool to an untyped stub
that says so (`FALLBACK_NOTE`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from codemode._schema_convert import Converter, ObjectView
from codemode._schema_model import (
    ANY,
    BOOL,
    DESCRIPTION_LIMIT,
    FLOAT,
    INT,
    NONE,
    STR,
    Def,
    Param,
    ToolTypes,
    Type,
    describe,
    is_identifier,
    one_line,
    str_literal,
    type_name,
    union,
)
from codemode.catalog import Tool, to_identifier

FALLBACK_NOTE = "typegen could not type this tool"
"""Appears in a stub when conversion failed unexpectedly (a bug; the stub is untyped)."""
_DEFAULT_MAX = 60  # longer defaults are documented instead of shown in the signature


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
    doc = describe(schema, raw.notes, default=not shown and default is not None)
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
