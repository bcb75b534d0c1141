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

A namespace stub is complete. A one-tool stub (`help(ns.tool)`) is meant to be read, so
when a tool's classes would not fit in a few KB it shows those within `_HELP_LEVELS`
of the signature and spells deeper ones `dict[str, Any]`, naming the full type.
"""

from __future__ import annotations

import inspect
import keyword
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from codemode import _schema
from codemode._schema import FALLBACK_NOTE, analyse
from codemode._schema_convert import MAX_DEPTH, Converter
from codemode._schema_model import (
    DESCRIPTION_LIMIT,
    RESERVED,
    TYPING,
    Def,
    ToolTypes,
    Type,
    clean,
    is_identifier,
    str_literal,
    trim,
    type_refs,
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

    def __init__(self, functions: Iterable[str] = (), elided: Mapping[str, str] = {}) -> None:
        self.used: set[str] = set()
        self.defined: set[str] = set()
        self.shadowed = _SHADOWABLE.intersection(functions)
        self.elided = elided  # key -> name of the classes not shown (spelled dict[str, Any])

    def name(self, name: str) -> str:
        """How the stub spells a builtin or typing name, recording the import it needs."""
        if name in self.shadowed:
            module = "typing" if name in TYPING else "builtins"
            self.used.add(module)
            return f"_{module}.{name}"
        self.used.add(name)
        return name

    def render(
        self, t: Type, names: Mapping[str, str], refs: list[str], *, full: bool = False
    ) -> str:
        """`t` as an annotation; the class names it uses are added to `refs`.

        `names` maps class keys to class names. Elided classes are `dict[str, Any]`, or
        with `full` their wished-for names (for documentation only).
        """
        if isinstance(t, str):
            return t if t == "None" else self.name(t)
        kind, arg = t
        if kind == "ref":
            if arg in self.elided:
                if full:
                    return self.elided[arg]
                return f"{self.name('dict')}[{self.name('str')}, {self.name('Any')}]"
            refs.append(names[arg])
            return refs[-1]
        if kind == "list":
            return f"{self.name('list')}[{self.render(arg, names, refs, full=full)}]"
        if kind == "dict":
            value = self.render(arg, names, refs, full=full)
            return f"{self.name('dict')}[{self.name('str')}, {value}]"
        if kind == "lit":
            values = ", ".join(str_literal(v) if type(v) is str else repr(v) for v in arg)
            return f"{self.name('Literal')}[{values}]"
        # members are distinct types, but elided classes all look alike
        return " | ".join(dict.fromkeys(self.render(m, names, refs, full=full) for m in arg))

    def annotation(self, t: Type, names: Mapping[str, str], *, quote: bool = True) -> str:
        """Rendered type, quoted when it refers to a class not defined yet (recursion)."""
        refs: list[str] = []
        text = self.render(t, names, refs)
        return str_literal(text) if quote and any(r not in self.defined for r in refs) else text

    def typed_dict(self, d: Def, names: Mapping[str, str]) -> str:
        name = names[d.key]
        typed_dict = self.name("TypedDict")
        # total=False + Required[...] when most keys are optional keeps the stub short
        total = sum(f.required for f in d.fields) * 2 >= len(d.fields)
        fields = []
        for f in d.fields:
            ann = self.annotation(f.type, names)
            if f.required != total:
                ann = f"{self.name('Required' if f.required else 'NotRequired')}[{ann}]"
            doc = f.doc
            if self.elided and not self.elided.keys().isdisjoint(type_refs(f.type, {})):
                full = trim(self.render(f.type, names, [], full=True), _FULL_TYPE_LIMIT)
                doc = f"{doc} (full type: {full})".lstrip()
            fields.append((f, ann, doc))
        suffix = "" if total else ", total=False"
        if all(is_identifier(f.key) and _class_key(f.key) for f in d.fields):
            lines = [f"class {name}({typed_dict}{suffix}):"]
            if d.doc:
                lines.append(f'    {_doc_literal(d.doc)}"""')
            for f, ann, doc in fields:
                lines.append(f"    {f.key}: {ann}")
                if doc:
                    lines.append(f'    {_doc_literal(doc)}"""')
            if len(lines) == 1:
                lines.append("    pass")
        else:  # keys that are not identifiers need the functional syntax
            lines = [f"# {x}" for x in [d.doc] if x]
            lines += [f"# {str_literal(f.key)}: {doc}" for f, _, doc in fields if doc]
            body = ", ".join(f"{str_literal(f.key)}: {ann}" for f, ann, _ in fields)
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
        header = [f"# {line}" for line in _ELIDED_NOTE.split("\n")] if self.elided else []
        header += [f"import {m} as _{m}" for m in ("builtins", "typing") if m in self.used]
        if used := [n for n in TYPING if n in self.used]:
            header.append(f"from typing import {', '.join(used)}")
        return "\n\n\n".join(["\n".join(header), *blocks] if header else blocks) + "\n"


_SHADOWABLE = frozenset({*TYPING, "str", "int", "float", "bool", "list", "dict"})
# Names no class may take: what annotations use, and the capitalised keywords.
_TAKEN = frozenset({*RESERVED, *(k for k in keyword.kwlist if k[:1].isupper())})

_HELP_LEVELS = 2  # a capped one-tool stub shows classes this many references deep
_HELP_BUDGET = 6000  # about how many characters of classes a one-tool stub may show
_FULL_TYPE_LIMIT = 160
_ELIDED_NOTE = (
    f"Classes more than {_HELP_LEVELS} levels deep are shown as dict[str, Any] (each such "
    "field names its full type);\nthe namespace stub (`codemode stubs`), which programs are "
    "checked against, has them all."
)


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
    """A TypedDict's structure under a naming of the classes it refers to, for sharing
    classes across tools. Never quoted: whether a reference needs quotes depends on what
    was emitted before, which must not make two identical classes differ."""
    em = _Emitter()
    return repr([(f.key, f.required, em.render(f.type, names, [])) for f in d.fields])


def _base(name: str) -> str:
    return name.rstrip("0123456789") or name


@dataclass(kw_only=True)
class _Namespace:
    """The TypedDicts emitted so far in one stub, for sharing and renaming."""

    classes: dict[str, tuple[str, str]]  # class name -> (wished name, structure)
    index: dict[tuple[str, str], str]  # (wished name, structure) -> class name
    assigned: dict[str, str]  # Def.key -> class name

    @classmethod
    def new(cls, functions: Iterable[str]) -> _Namespace:
        # names no class may take, held by a structure no class has
        taken = dict.fromkeys([*_TAKEN, *functions], ("", "\0taken"))
        return cls(classes=taken, index={}, assigned={})

    def merge(
        self, defs: Iterable[Def], outside: Mapping[str, str] = {}
    ) -> tuple[dict[str, str], list[Def]]:
        """Fit one tool's TypedDicts in: reuse identical ones, number clashing ones.

        Returns the naming (key -> class name) and the definitions that are new. A key
        seen before keeps its class: the same `Def` (a `$defs` class shared between
        tools) is the same class. New ones are first assumed identical to the class
        named as they wish to be, and the assumptions that fail are refuted until none
        does (a greatest fixpoint, so identical recursive classes are shared too). The
        rest reuse a class of the same wished name and structure, or are new and get
        their wished name, numbered if taken. `outside` spells the classes referred to
        but not merged (those a one-tool stub elides), in the structures compared.
        """
        names: dict[str, str] = dict(outside)
        fresh: list[Def] = []
        for d in defs:
            known = self.assigned.get(d.key)
            if known is None:
                fresh.append(d)
            else:
                names[d.key] = known
        if not fresh:
            return names, []
        same: dict[str, Def] = {}
        for d in fresh:
            if self.classes.get(d.name, ("",))[0] == d.name:
                names[d.key] = d.name
                same[d.key] = d
            else:
                names[d.key] = "\0" + d.key  # matches nothing while undecided
        changed = True
        while changed:
            changed = False
            for key, d in list(same.items()):
                if _body_key(d, names) != self.classes[d.name][1]:
                    del same[key]
                    names[key] = "\0" + key
                    changed = True
        decided = {key for key, name in names.items() if name[:1] != "\0"}
        decided.update(outside)
        new: list[Def] = []
        pending: list[Def] = []
        for d in fresh:  # dependency order: referenced classes come first
            if d.key in same:
                self.assigned[d.key] = names[d.key]
                continue
            # Share a class of the same structure, but only under the same wished name
            # (`File2` may become `File`; `User` never becomes `Owner`: names inform).
            final = decided.issuperset(d.refs)  # else the key may change as names are decided
            index_key = (d.name, _body_key(d, names)) if final else None
            decided.add(d.key)
            if index_key in self.index:
                names[d.key] = self.assigned[d.key] = self.index[index_key]
                continue
            name, i = d.name, 1
            while name in self.classes or keyword.iskeyword(name):
                i += 1
                name = f"{_base(d.name)}{i}"
            names[d.key] = self.assigned[d.key] = name
            self.classes[name] = (d.name, "\0pending")
            new.append(d)
            if index_key is None:
                pending.append(d)
            else:
                self._register(d, name, index_key[1])
        for d in pending:
            self._register(d, names[d.key], _body_key(d, names))
        return names, new

    def _register(self, d: Def, name: str, body: str) -> None:
        self.classes[name] = (d.name, body)
        self.index.setdefault((d.name, body), name)


# ------------------------------------------------------------------------------ public


def namespace_stub(namespace: str, tools: Sequence[Tool]) -> str:
    """The whole `.pyi` text for one namespace.

    Imports, then the TypedDicts every tool needs (identical ones shared, clashing names
    numbered), then one keyword-only `def` per tool, sorted by identifier.
    """
    ordered = sorted(tools, key=lambda t: t.identifier)
    functions = [t.identifier for t in ordered]
    space = _Namespace.new(functions)
    em = _Emitter(functions)
    blocks, defs = [], []
    for tool in ordered:
        tt = analyse(tool)
        names, new = space.merge(tt.defs.values())
        blocks += [em.typed_dict(d, names) for d in new]
        defs.append(em.function(tt, names))
    return em.module(blocks + defs)


def _size(d: Def) -> int:
    """About how many characters `d` takes in a stub (to stay within `_HELP_BUDGET`)."""
    return 40 + len(d.name) + len(d.doc) + sum(30 + len(f.key) + len(f.doc) for f in d.fields)


def _signature_refs(tt: ToolTypes) -> dict[str, None]:
    out: dict[str, None] = {}
    for p in tt.params:
        type_refs(p.type, out)
    if tt.kwargs:
        type_refs(tt.kwargs[1], out)
    return type_refs(tt.returns, out)


def _shown(tt: ToolTypes) -> tuple[list[Def], dict[str, str]]:
    """The classes a one-tool stub shows, and key -> wished name of those it elides.

    All of them if they fit in `_HELP_BUDGET`. Otherwise those the signature uses, then,
    breadth first, those within `_HELP_LEVELS` references of it while the budget lasts.
    """
    defs = tt.defs
    start = [k for k in _signature_refs(tt) if k in defs]
    order, seen, size = list(start), set(start), 0
    for key in order:  # breadth first over all of them (the list grows), unless over budget
        size += _size(defs[key])
        if size > _HELP_BUDGET:
            break
        order += [r for r in defs[key].refs if r not in seen]
        seen.update(defs[key].refs)
    else:
        return [d for d in defs.values() if d.key in seen], {}
    chosen: dict[str, None] = {}
    frontier, size = start, 0
    for level in range(1, _HELP_LEVELS + 1):
        deeper: list[str] = []
        for key in frontier:
            if key in chosen:
                continue
            cost = _size(defs[key])
            if level > 1 and size + cost > _HELP_BUDGET:
                continue  # a smaller class further on may still fit
            chosen[key] = None
            size += cost
            deeper += defs[key].refs
        frontier = deeper
    shown = [d for d in defs.values() if d.key in chosen]
    return shown, {d.key: d.name for d in defs.values() if d.key not in chosen}


def _alone(tt: ToolTypes) -> tuple[dict[str, str], list[Def], _Emitter]:
    """The naming and new classes of a one-tool stub (its shown classes merged into an
    empty namespace: shares identical ones, numbers clashes), and its emitter."""
    shown, elided = _shown(tt)
    outside = {key: "\0" + key for key in elided}  # distinct, like the classes they are
    names, new = _Namespace.new([tt.tool.identifier]).merge(shown, outside)
    return names, new, _Emitter([tt.tool.identifier], elided)


def tool_stub(tool: Tool, *, with_types: bool = True) -> str:
    """A self-contained stub for one tool: imports and the TypedDicts it uses (if
    `with_types`), then its `def` and docstring. Parses (and type-checks) on its own.

    Sized for reading (`help(ns.tool)`): a tool whose classes would not fit in a few KB
    shows those near its signature and spells deeper ones `dict[str, Any]`, each such
    field documented with its full type (see `_shown`).
    """
    tt = analyse(tool)
    names, new, em = _alone(tt)
    blocks = [em.typed_dict(d, names) for d in new] if with_types else []
    blocks.append(em.function(tt, names))
    if not with_types:
        return blocks[0] + "\n"
    return em.module(blocks)


def tool_signature(tool: Tool) -> str:
    """The one-line signature, e.g. `def list_files(*, path: str, recursive: bool = False)
    -> list[File]` (no trailing colon), as shown in search results."""
    tt = analyse(tool)
    names, _, em = _alone(tt)
    return em.signature(tt, names)


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
    conv = Converter("Model", flat=True)
    conv.session.set_root(schema, "Model")
    return _Emitter().render(conv.convert(schema, "Model", 0), {}, [])
