"""A static pass over a program before it runs.

One walk of the program's AST (tens of microseconds) finds:

* which namespaces and codemode globals it references, so only those are bound;
* every call to a tool whose keywords, required arguments or literal argument types
  contradict the tool's input schema: such a program is rejected with line and column
  before anything runs, so no tool is called by a program that would fail halfway;
* which tool calls are awaited or handed to `asyncio.gather` (and friends), so the host
  runs them concurrently instead of one by one.

The pass is conservative: it only reports what is certainly wrong. Anything it cannot
see through (`**kwargs`, computed values, rebinding) is left to the runtime checks.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from codemode.prelude import GLOBALS, HOST_MODULES
from codemode.prelude.imports import LibraryImport, rewrite_imports

__all__ = [
    "Analysis",
    "CallSpec",
    "Problem",
    "accepts_extra_keywords",
    "analyze",
    "argument_problems",
    "describe_parameters",
    "json_types",
]

JSONSchema = dict[str, Any]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CONCURRENT_CALLS = frozenset({"gather", "create_task", "ensure_future", "wait", "as_completed"})
_ALL_TYPES = frozenset({"string", "integer", "number", "boolean", "null", "object", "array"})


@dataclass(frozen=True, kw_only=True)
class CallSpec:
    """What the analysis needs to know about one tool's parameters."""

    qualified: str
    """`namespace.identifier`."""
    parameters: Mapping[str, JSONSchema]
    """Schema of each parameter, by its Python name."""
    required: frozenset[str]
    """Python names of the required parameters."""
    root: JSONSchema = field(default_factory=dict)
    """The whole input schema, against which local `$ref`s resolve."""
    open: bool = False
    """The tool accepts keywords beyond `parameters` (its stub has `**kwargs`)."""


@dataclass(frozen=True, kw_only=True)
class Problem:
    """A call that would certainly fail."""

    message: str
    line: int
    column: int
    tool: str | None = None
    parameter: str | None = None


@dataclass(frozen=True, kw_only=True)
class Analysis:
    """What the static pass found."""

    parsed: bool
    """False when CPython's parser rejected the program (the sandbox reports why)."""
    namespaces: frozenset[str] = frozenset()
    """Namespace names the program references."""
    names: frozenset[str] = frozenset()
    """Every other global name the program reads (to bind codemode globals on demand)."""
    concurrent: frozenset[tuple[int, int]] = frozenset()
    """UTF-8 byte spans of tool calls to run concurrently (awaited or gathered)."""
    problems: tuple[Problem, ...] = ()
    """Calls that would certainly fail, in source order."""
    code: str | None = None
    """The program to run, with imports of polyfilled modules rewritten (None: as written)."""
    polyfills: frozenset[str] = frozenset()
    """Polyfilled modules the program imports (their objects are built before it runs)."""
    prelude: frozenset[str] = frozenset()
    """Globals codemode provides without an import (`grep`, `jq`, `text`, `csv`,
    `artifacts`) that the program reads without defining them itself."""
    library: frozenset[str] = frozenset()
    """Names the program imports from the library (`from library import f`)."""
    library_imports: tuple[LibraryImport, ...] = ()
    """Those functions' sources, once resolved from the store (see `codemode.library`)."""


_PRELUDE = frozenset(GLOBALS) | HOST_MODULES


def analyze(code: str, namespaces: Mapping[str, Mapping[str, CallSpec]]) -> Analysis:
    """Analyse `code` against the tool specs of `namespaces` (namespace -> identifier -> spec)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        # The sandbox accepts some syntax CPython 3.11 does not (3.12 f-strings such as
        # f"{d["key"]}"): bind every namespace the text names, and let runtime checks work.
        words = frozenset(_IDENTIFIER.findall(code))
        return Analysis(
            parsed=False,
            namespaces=words & namespaces.keys(),
            names=words,
            prelude=words & _PRELUDE,
        )
    walker = _Walker(namespaces)
    try:
        walker.run(tree)
    except RecursionError:  # absurdly deep expressions: let the sandbox judge
        return Analysis(parsed=True, namespaces=frozenset(namespaces))
    rewrite = rewrite_imports(code, tree)
    # Rewriting keeps every line, so AST lines map onto the rewritten text's lines.
    offsets = _line_offsets(rewrite.code)
    spans = frozenset(
        (offsets[n.lineno - 1] + n.col_offset, offsets[n.end_lineno - 1] + n.end_col_offset)
        for n in walker.concurrent_nodes()
        if n.end_lineno is not None and n.end_col_offset is not None
    )
    return Analysis(
        parsed=True,
        namespaces=frozenset(walker.used_namespaces),
        names=frozenset(walker.names),
        concurrent=spans,
        problems=tuple(sorted(walker.problems, key=lambda p: (p.line, p.column))),
        code=rewrite.code if rewrite.modules or rewrite.library else None,
        polyfills=rewrite.modules,
        prelude=frozenset(n for n in _PRELUDE if n in walker.names and n not in walker.rebound),
        library=rewrite.library,
    )


def _line_offsets(code: str) -> list[int]:
    """Byte offset of the start of each line (AST columns are UTF-8 byte offsets)."""
    offsets = [0]
    total = 0
    for line in code.encode().splitlines(keepends=True):
        total += len(line)
        offsets.append(total)
    return offsets


class _Walker(ast.NodeVisitor):
    def __init__(self, namespaces: Mapping[str, Mapping[str, CallSpec]]) -> None:
        self.namespaces = namespaces
        self.used_namespaces: set[str] = set()
        self.names: set[str] = set()
        self.problems: list[Problem] = []
        self.rebound: set[str] = set()
        self.aliases: dict[str, str] = {}  # local name -> qualified tool (from ns import t)
        self.tool_calls: list[ast.Call] = []
        self.concurrent: set[int] = set()  # id() of Call nodes
        self.gathered_names: set[str] = set()
        self.parents: dict[int, ast.AST] = {}

    def run(self, tree: ast.Module) -> None:
        # First pass: names bound by the program itself (they shadow namespaces), aliases.
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                self.parents[id(child)] = node
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
                self.rebound.add(node.id)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                self.rebound.add(node.name)
            elif isinstance(node, ast.ImportFrom) and (module := node.module) in self.namespaces:
                self.used_namespaces.add(module or "")
                for alias in node.names:
                    self.aliases[alias.asname or alias.name] = f"{module}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in self.namespaces:
                        self.used_namespaces.add(alias.name)
                    if alias.asname:
                        self.rebound.add(alias.asname)
            elif isinstance(node, ast.arg):
                self.rebound.add(node.arg)
        self.visit(tree)
        self._mark_gathered_assignments(tree)

    # -- visiting -------------------------------------------------------------------

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            if node.id in self.namespaces:
                self.used_namespaces.add(node.id)
            else:
                self.names.add(node.id)

    def visit_Call(self, node: ast.Call) -> None:
        spec_name = self._tool_of(node.func)
        paginated = self._paginated_tool(node)
        if paginated is not None:
            # paginate(ns.tool, max_pages=..., **arguments) takes the tool's arguments.
            self.tool_calls.append(node)
            self._check_call(node, paginated, skip={"max_pages"}, first_is_tool=True)
        elif spec_name is not None:
            self.tool_calls.append(node)
            self._check_call(node, spec_name)
        if spec_name is not None or paginated is not None:
            parent = self.parents.get(id(node))
            if isinstance(parent, ast.Await):
                self.concurrent.add(id(node))
        if self._is_concurrent_helper(node.func):
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                for inner in ast.walk(arg):
                    if isinstance(inner, ast.Call):
                        self.concurrent.add(id(inner))
                    elif isinstance(inner, ast.Name):
                        self.gathered_names.add(inner.id)
        self.generic_visit(node)

    def _mark_gathered_assignments(self, tree: ast.Module) -> None:
        """`tasks = [ns.f(x) for x in xs]; await asyncio.gather(*tasks)`: the calls that
        build a gathered collection run concurrently too."""
        if not self.gathered_names:
            return
        for node in ast.walk(tree):
            values: list[ast.AST] = []
            if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(self._names_in(t) & self.gathered_names for t in targets) and node.value:
                    values.append(node.value)
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"append", "extend", "insert", "add"}
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in self.gathered_names
            ):
                values.extend(node.args)
            for value in values:
                for inner in ast.walk(value):
                    if isinstance(inner, ast.Call):
                        self.concurrent.add(id(inner))

    @staticmethod
    def _names_in(target: ast.AST) -> set[str]:
        return {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}

    def concurrent_nodes(self) -> Iterable[ast.Call]:
        return (c for c in self.tool_calls if id(c) in self.concurrent)

    @staticmethod
    def _is_concurrent_helper(func: ast.expr) -> bool:
        if isinstance(func, ast.Attribute):
            return func.attr in _CONCURRENT_CALLS
        return isinstance(func, ast.Name) and func.id in _CONCURRENT_CALLS

    def _paginated_tool(self, node: ast.Call) -> str | None:
        func = node.func
        if not (
            isinstance(func, ast.Name) and func.id == "paginate" and "paginate" not in self.rebound
        ):
            return None
        return self._tool_of(node.args[0]) if node.args else None

    def _tool_of(self, func: ast.expr) -> str | None:
        """The qualified name a call expression targets, if it is a tool."""
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in self.namespaces
            and func.value.id not in self.rebound
        ):
            return f"{func.value.id}.{func.attr}"
        if isinstance(func, ast.Name) and func.id in self.aliases:
            return self.aliases[func.id]
        return None

    # -- checking -------------------------------------------------------------------

    def _problem(self, node: ast.AST, message: str, tool: str, parameter: str | None) -> None:
        self.problems.append(
            Problem(
                message=message,
                line=getattr(node, "lineno", 1),
                column=getattr(node, "col_offset", 0) + 1,
                tool=tool,
                parameter=parameter,
            )
        )

    def _check_call(
        self,
        node: ast.Call,
        qualified: str,
        *,
        skip: frozenset[str] | set[str] = frozenset(),
        first_is_tool: bool = False,
    ) -> None:
        namespace, _, identifier = qualified.partition(".")
        tools = self.namespaces.get(namespace, {})
        spec = tools.get(identifier)
        if spec is None:
            close = difflib.get_close_matches(identifier, list(tools), n=3, cutoff=0.6)
            hint = f" Did you mean {', '.join(f'{namespace}.{c}' for c in close)}?" if close else ""
            self._problem(
                node,
                f"namespace {namespace!r} has no tool {identifier!r}.{hint} "
                f"Use search(...) or help({namespace}) to find tools.",
                qualified,
                None,
            )
            return
        named = {kw.arg: kw for kw in node.keywords if kw.arg is not None and kw.arg not in skip}
        complete = all(kw.arg is not None for kw in node.keywords)  # no **splat
        positional = node.args[1:] if first_is_tool else node.args
        for parameter, message in argument_problems(
            spec, len(positional), named, complete=complete
        ):
            if parameter is None:
                at: ast.AST = positional[0]
            else:
                at = named.get(parameter, node)
            self._problem(at, message, qualified, parameter)
        if positional:
            return
        for name, kw in named.items():
            schema = spec.parameters.get(name)
            mismatch = _literal_mismatch(kw.value, schema, spec.root) if schema else None
            if mismatch:
                self._problem(
                    kw.value,
                    f"{qualified}(): argument {name!r} {mismatch}. "
                    f"Parameters: {describe_parameters(spec)}",
                    qualified,
                    name,
                )


def argument_problems(
    spec: CallSpec, positional: int, keywords: Iterable[str], *, complete: bool = True
) -> list[tuple[str | None, str]]:
    """What is wrong with the *names* of a call's arguments, as (parameter, message) pairs.

    Tools take keyword arguments only; every keyword must be a parameter (unless the tool
    is open); with `complete` (no `**splat`), every required parameter must be given.
    Shared by the static pass and the bridge, so the model reads one wording.
    """
    if positional:
        return [
            (
                None,
                f"{spec.qualified}() takes keyword arguments only ({positional} positional "
                f"given). Parameters: {describe_parameters(spec)}",
            )
        ]
    given = list(keywords)
    found: list[tuple[str | None, str]] = []
    if not spec.open:
        for name in given:
            if name in spec.parameters:
                continue
            close = difflib.get_close_matches(name, list(spec.parameters), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            found.append(
                (
                    name,
                    f"{spec.qualified}() got an unexpected keyword argument {name!r}.{hint} "
                    f"Parameters: {describe_parameters(spec)}",
                )
            )
    if complete:
        for name in sorted(spec.required - set(given)):
            found.append(
                (
                    name,
                    f"{spec.qualified}() is missing required argument {name!r}. "
                    f"Parameters: {describe_parameters(spec)}",
                )
            )
    return found


_PY_NAMES = {
    "string": "str",
    "integer": "int",
    "number": "float",
    "boolean": "bool",
    "null": "None",
    "object": "dict",
    "array": "list",
}


def describe_parameters(spec: CallSpec) -> str:
    """`path: str (required), recursive: bool = False` — the valid parameters, in one line."""
    if not spec.parameters:
        return "(none)"
    parts = []
    ordered = sorted(spec.parameters, key=lambda n: (n not in spec.required, n))
    for name in ordered:
        schema = spec.parameters[name]
        types = json_types(schema, spec.root)
        shown = " | ".join(sorted(_PY_NAMES[t] for t in types)) if types is not None else "Any"
        if name in spec.required:
            parts.append(f"{name}: {shown} (required)")
        elif isinstance(schema, dict) and "default" in schema:
            parts.append(f"{name}: {shown} = {schema['default']!r}"[:80])
        else:
            parts.append(f"{name}: {shown}")
    return ", ".join(parts)


def accepts_extra_keywords(input_schema: Any) -> bool:
    """Whether a tool takes keywords beyond its declared properties.

    True for a non-object input schema and for an explicit `additionalProperties` that is
    `true` or a non-empty schema; the stub then declares `**kwargs`. An absent
    `additionalProperties` counts as closed, so misspelled keywords are caught.
    """
    if not isinstance(input_schema, dict):
        return True
    if input_schema.get("type", "object") != "object" and "properties" not in input_schema:
        return True
    extra = input_schema.get("additionalProperties")
    return extra is True or (isinstance(extra, dict) and bool(extra))


def json_types(schema: Any, root: JSONSchema, depth: int = 0) -> frozenset[str] | None:
    """The JSON types a schema admits, or None when it admits anything (or is unclear)."""
    if depth > 16 or not isinstance(schema, dict):
        return None
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return json_types(_resolve(ref, root), root, depth + 1)
    for key in ("anyOf", "oneOf"):
        branches = schema.get(key)
        if isinstance(branches, list) and branches:
            union: set[str] = set()
            for branch in branches:
                types = json_types(branch, root, depth + 1)
                if types is None:
                    return None
                union |= types
            return frozenset(union)
    all_of = schema.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1:
        return json_types(all_of[0], root, depth + 1)
    found: set[str] = set()
    declared = schema.get("type")
    if isinstance(declared, str):
        found.add(declared)
    elif isinstance(declared, list):
        found.update(t for t in declared if isinstance(t, str))
    elif "enum" in schema and isinstance(schema["enum"], list):
        found.update(_type_of_value(v) for v in schema["enum"])
    elif "const" in schema:
        found.add(_type_of_value(schema["const"]))
    elif "properties" in schema:
        found.add("object")
    elif "items" in schema:
        found.add("array")
    else:
        return None
    if schema.get("nullable") is True:
        found.add("null")
    if not found <= _ALL_TYPES:
        return None
    return frozenset(found)


def _resolve(ref: str, root: JSONSchema) -> Any:
    if not ref.startswith("#/"):
        return None
    node: Any = root
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _type_of_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "unknown"


def _literal_of(node: ast.expr) -> tuple[bool, Any]:
    """(True, value) when `node` is a literal whose JSON type is certain."""
    if isinstance(node, ast.Constant):
        return True, node.value
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub | ast.UAdd)
        and isinstance(node.operand, ast.Constant)
        and isinstance(node.operand.value, int | float)
        and not isinstance(node.operand.value, bool)
    ):
        return True, -node.operand.value if isinstance(node.op, ast.USub) else node.operand.value
    return False, None


def _literal_type(node: ast.expr) -> str | None:
    ok, value = _literal_of(node)
    if ok:
        kind = _type_of_value(value)
        return kind if kind in _ALL_TYPES else None
    if isinstance(node, ast.JoinedStr):
        return "string"
    if isinstance(node, ast.List | ast.ListComp | ast.Tuple):
        return "array"
    if isinstance(node, ast.Dict | ast.DictComp):
        return "object"
    return None


def _literal_mismatch(node: ast.expr, schema: JSONSchema, root: JSONSchema) -> str | None:
    """Why a literal argument certainly violates `schema`, or None."""
    kind = _literal_type(node)
    if kind is None:
        return None
    accepted = json_types(schema, root)
    if accepted is None:
        return None
    if (
        kind in accepted
        or (kind == "integer" and "number" in accepted)
        or (kind == "array" and isinstance(node, ast.Tuple) and "array" in accepted)
    ):
        enum = _enum_of(schema, root)
        ok, value = _literal_of(node)
        if enum is not None and ok and value not in enum:
            allowed = ", ".join(repr(v) for v in enum[:12])
            return f"must be one of {allowed}; got {value!r}"
        return None
    shown = ast.unparse(node)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return f"should be {' or '.join(sorted(accepted))}, got {kind} {shown}"


def _enum_of(schema: JSONSchema, root: JSONSchema) -> list[Any] | None:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target = _resolve(ref, root)
        schema = target if isinstance(target, dict) else {}
    enum = schema.get("enum")
    if isinstance(enum, list) and enum and not schema.get("nullable"):
        return enum
    return None
