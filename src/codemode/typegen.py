"""JSON Schema -> Python stub (`.pyi`) text, so the model sees each tool as a typed function.

A tool's input schema becomes a keyword-only `def`; object schemas with properties become
`TypedDict`s named after the tool (`ListFilesResult`) or after their `$defs` entry (`File`).
The stubs serve two readers: the model, which reads them as documentation, and the
sandbox's type checker (ty, bundled with Monty), which checks programs against them.
Hence every stub must be valid without `from __future__ import annotations` (references
to classes not defined yet are quoted) and defaults must match their annotations.

Schemas are first converted to a small type model (`codemode._schema`); this module renders
it, sharing identical TypedDicts between the tools of a namespace and renaming clashing
ones. Nothing here raises on a malformed schema: it degrades to `Any`, documented.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from codemode import _schema
from codemode._schema import (
    DESCRIPTION_LIMIT,
    FALLBACK_NOTE,
    MAX_DEPTH,
    RESERVED,
    TYPING,
    Converter,
    Def,
    ToolTypes,
    Type,
    analyse,
    clean,
    is_identifier,
    str_literal,
    trim,
)
from codemode.catalog import Tool

__all__ = [
    "FALLBACK_NOTE",
    "MAX_DEPTH",
    "namespace_stub",
    "parameter_names",
    "python_type",
    "tool_signature",
    "tool_stub",
]


def _doc_literal(text: str) -> str:
    """Opening quotes + `text`, safe inside a triple-quoted docstring (closing not included).

    Raw when the text has backslashes, so regexes and paths read as written.
    """
    raw = "\\" in text
    text = "\n".join(line.rstrip() for line in text.split("\n")).replace('"""', '""\\"')
    if "\n" not in text and text.endswith(('"', "\\")):
        text += " "  # a one-line docstring closes right after the text
    return ('r"""' if raw else '"""') + text


# --------------------------------------------------------------------------- rendering


class _Emitter:
    """Renders types and definitions, tracking imports and which classes exist so far.

    `functions` are the module's function names: a tool called `list` or `Any` hides the
    builtin or typing name, so annotations then spell it `_builtins.list`, `_typing.Any`.
    """

    def __init__(self, functions: Iterable[str] = ()) -> None:
        self.used: set[str] = set()
        self.defined: set[str] = set()
        self.shadowed = _SHADOWABLE.intersection(functions)

    def name(self, name: str) -> str:
        """How the stub spells a builtin or typing name, recording the import it needs."""
        if name in self.shadowed:
            module = "typing" if name in TYPING else "builtins"
            self.used.add(module)
            return f"_{module}.{name}"
        self.used.add(name)
        return name

    def render(self, t: Type, names: Mapping[str, str], refs: list[str]) -> str:
        if isinstance(t, str):
            return t if t == "None" else self.name(t)
        kind, arg = t
        if kind == "ref":
            refs.append(names.get(arg, arg))
            return refs[-1]
        if kind == "list":
            return f"{self.name('list')}[{self.render(arg, names, refs)}]"
        if kind == "dict":
            return f"{self.name('dict')}[{self.name('str')}, {self.render(arg, names, refs)}]"
        if kind == "lit":
            values = ", ".join(str_literal(v) if type(v) is str else repr(v) for v in arg)
            return f"{self.name('Literal')}[{values}]"
        return " | ".join(self.render(m, names, refs) for m in arg)

    def annotation(self, t: Type, names: Mapping[str, str], *, quote: bool = True) -> str:
        """Rendered type, quoted when it refers to a class not defined yet (recursion)."""
        refs: list[str] = []
        text = self.render(t, names, refs)
        return str_literal(text) if quote and any(r not in self.defined for r in refs) else text

    def typed_dict(self, d: Def, names: Mapping[str, str]) -> str:
        name = names.get(d.name, d.name)
        typed_dict = self.name("TypedDict")
        # total=False + Required[...] when most keys are optional keeps the stub short
        total = sum(f.required for f in d.fields) * 2 >= len(d.fields)
        fields = []
        for f in d.fields:
            ann = self.annotation(f.type, names)
            if f.required != total:
                ann = f"{self.name('Required' if f.required else 'NotRequired')}[{ann}]"
            fields.append((f, ann))
        suffix = "" if total else ", total=False"
        if all(is_identifier(f.key) and _class_key(f.key) for f in d.fields):
            lines = [f"class {name}({typed_dict}{suffix}):"]
            if d.doc:
                lines.append(f'    {_doc_literal(d.doc)}"""')
            for f, ann in fields:
                lines.append(f"    {f.key}: {ann}")
                if f.doc:
                    lines.append(f'    {_doc_literal(f.doc)}"""')
            if len(lines) == 1:
                lines.append("    pass")
        else:  # keys that are not identifiers need the functional syntax
            lines = [f"# {x}" for x in [d.doc] if x]
            lines += [f"# {str_literal(f.key)}: {f.doc}" for f, _ in fields if f.doc]
            body = ", ".join(f"{str_literal(f.key)}: {ann}" for f, ann in fields)
            lines.append(f'{name} = {typed_dict}("{name}", {{{body}}}{suffix})')
        self.defined.add(name)
        return "\n".join(lines)

    def signature(self, tt: ToolTypes, names: Mapping[str, str]) -> str:
        # No quoting: functions come after every class they use.
        params = []
        for p in tt.params:
            ann = self.annotation(p.type, names, quote=False)
            params.append(f"{p.name}: {ann}" if p.required else f"{p.name}: {ann} = {p.default}")
        if params:
            params.insert(0, "*")
        if tt.kwargs:
            params.append(f"**{tt.kwargs[0]}: {self.annotation(tt.kwargs[1], names, quote=False)}")
        returns = self.annotation(tt.returns, names, quote=False)
        return f"def {tt.tool.identifier}({', '.join(params)}) -> {returns}"

    def function(self, tt: ToolTypes, names: Mapping[str, str]) -> str:
        lines = [self.signature(tt, names) + ":"]
        doc = _docstring(tt)
        if doc:
            body = [f"    {line}" if line else "" for line in _doc_literal(doc).split("\n")]
            lines += body
            lines[-1] += '"""' if len(body) == 1 else '\n    """'
        lines.append("    ...")
        return "\n".join(lines)

    def module(self, blocks: list[str]) -> str:
        """The module text: the imports the blocks used, then the blocks."""
        header = [f"import {m} as _{m}" for m in ("builtins", "typing") if m in self.used]
        if used := [n for n in TYPING if n in self.used]:
            header.append(f"from typing import {', '.join(used)}")
        return "\n\n\n".join(["\n".join(header), *blocks] if header else blocks) + "\n"


_SHADOWABLE = frozenset({*TYPING, "str", "int", "float", "bool", "list", "dict"})


def _class_key(key: str) -> bool:
    # In a class body a key could shadow a name later annotations use (`list`, `File`),
    # and `__key` would be name-mangled; such keys go to the functional syntax.
    return key not in RESERVED and not key[:1].isupper() and not key.startswith("__")


def _docstring(tt: ToolTypes) -> str:
    tool = tt.tool
    desc = tool.description if isinstance(tool.description, str) else ""
    parts = [trim(clean(inspect.cleandoc(desc)), DESCRIPTION_LIMIT)] if desc.strip() else []
    args = []
    for p in tt.params:
        label = p.name if p.name == p.original else f"{p.name} (sent as {str_literal(p.original)})"
        if p.doc or p.name != p.original:
            args.append(f"    {label}: {p.doc}".rstrip())
    if tt.kwargs:
        args.append(f"    **{tt.kwargs[0]}: Further arguments, passed on as given.")
    if args:
        parts.append("Args:\n" + "\n".join(clean(a) for a in args))
    if tt.returns_doc:
        parts.append(f"Returns:\n    {clean(tt.returns_doc)}")
    return "\n\n".join(parts)


def _body_key(d: Def, names: Mapping[str, str]) -> str:
    """A TypedDict's structure under a renaming, for de-duplication across tools."""
    em = _Emitter()
    return repr([(f.key, f.required, em.render(f.type, names, [])) for f in d.fields])


def _base(name: str) -> str:
    return name.rstrip("0123456789") or name


def _refs(t: Type, out: set[str]) -> set[str]:
    if isinstance(t, tuple):
        if t[0] == "ref":
            out.add(t[1])
        elif t[0] in ("list", "dict"):
            _refs(t[1], out)
        elif t[0] == "union":
            for m in t[1]:
                _refs(m, out)
    return out


@dataclass(kw_only=True)
class _Namespace:
    """The TypedDicts emitted so far in one namespace stub, for sharing and renaming."""

    bodies: dict[str, str]  # name -> structure (function names map to a sentinel)
    index: dict[tuple[str, str], str]  # (base name, structure) -> name

    def merge(self, defs: Mapping[str, Def]) -> tuple[dict[str, str], list[Def]]:
        """Fit one tool's TypedDicts in: reuse identical ones, rename clashing ones.

        Returns the renaming and the definitions that are new. Same-named classes are
        first assumed identical, and the assumptions that fail are refuted until none
        does (a greatest fixpoint, so identical recursive classes are shared too). The
        rest reuse a class of the same structure, or are new and keep or get a free name.
        """
        names = {n: n for n in defs}
        same = {n for n in defs if n in self.bodies}
        changed = True
        while changed:
            changed = False
            for n in sorted(same):
                if _body_key(defs[n], names) != self.bodies[n]:
                    same.discard(n)
                    names[n] = "\0" + n  # matches nothing while undecided
                    changed = True
        decided, new, pending = set(same), [], []
        for n, d in defs.items():  # dependency order: referenced classes come first
            if n in same:
                continue
            refs: set[str] = set()
            for f in d.fields:
                _refs(f.type, refs)
            # Share a class of the same structure, but only under the same base name
            # (`File2` may become `File`; `User` never becomes `Owner`: names inform).
            final = refs <= decided  # else the key may change as names are decided
            key = (_base(n), _body_key(d, names)) if final else None
            decided.add(n)
            if key in self.index:
                names[n] = self.index[key]
                continue
            name, i = n, 1
            while name in self.bodies:
                i += 1
                name = f"{_base(n)}{i}"
            names[n] = name
            self.bodies[name] = "\0pending"
            new.append(d)
            if key is None:
                pending.append(d)
            else:
                self._register(d, names)
        for d in pending:
            self._register(d, names)
        return names, new

    def _register(self, d: Def, names: Mapping[str, str]) -> None:
        key = _body_key(d, names)
        self.bodies[names[d.name]] = key
        self.index.setdefault((_base(d.name), key), names[d.name])


# ------------------------------------------------------------------------------ public


def namespace_stub(namespace: str, tools: Sequence[Tool]) -> str:
    """The whole `.pyi` text for one namespace.

    Imports, then the TypedDicts every tool needs (identical ones shared, clashing names
    numbered), then one keyword-only `def` per tool, sorted by identifier.
    """
    ordered = sorted(tools, key=lambda t: t.identifier)
    # function names are taken, by a body no class has
    space = _Namespace(bodies={t.identifier: "\0function" for t in ordered}, index={})
    em = _Emitter(space.bodies)
    blocks, functions = [], []
    for tool in ordered:
        tt = analyse(tool)
        names, new = space.merge(tt.defs)
        blocks += [em.typed_dict(d, names) for d in new]
        functions.append(em.function(tt, names))
    return em.module(blocks + functions)


def _alone(tt: ToolTypes) -> tuple[dict[str, str], list[Def]]:
    """The tool's classes merged into an empty namespace (shares its identical classes)."""
    return _Namespace(bodies={tt.tool.identifier: "\0function"}, index={}).merge(tt.defs)


def tool_stub(tool: Tool, *, with_types: bool = True) -> str:
    """A self-contained stub for one tool: imports and the TypedDicts it uses (if
    `with_types`), then its `def` and docstring. Parses (and type-checks) on its own."""
    tt = analyse(tool)
    em = _Emitter([tool.identifier])
    names, new = _alone(tt)
    blocks = [em.typed_dict(d, names) for d in new] if with_types else []
    blocks.append(em.function(tt, names))
    if not with_types:
        return blocks[0] + "\n"
    return em.module(blocks)


def tool_signature(tool: Tool) -> str:
    """The one-line signature, e.g. `def list_files(*, path: str, recursive: bool = False)
    -> list[File]` (no trailing colon), as shown in search results."""
    tt = analyse(tool)
    return _Emitter([tool.identifier]).signature(tt, _alone(tt)[0])


def parameter_names(tool: Tool) -> dict[str, str]:
    """Python keyword name -> the tool's original parameter name, for every parameter.

    Names that are not identifiers or are keywords are renamed in the stub (`from` ->
    `from_`, `per-page` -> `per_page`); callers translate keyword arguments back with this.
    Keywords not in the mapping can only come from the `**kwargs` of a tool whose input
    schema allows additional properties; they are meant to be sent as given.
    """
    return _schema.parameter_names(tool)


def python_type(schema: Any) -> str:
    """The Python annotation for a JSON Schema, e.g. `list[str] | None`.

    Standalone, so objects with properties render as `dict[str, Any]` (no TypedDicts);
    local `$ref`s resolve against `schema` itself. Never raises.
    """
    conv = Converter("Model", set(RESERVED), flat=True)
    conv.root = schema
    return _Emitter().render(conv.convert(schema, "Model", 0), {}, [])
