"""Making `import textwrap` work: rewrite a program's imports of polyfilled modules.

The sandbox resolves `import X` only from its own stdlib and from host modules, and a
polyfill is a module object built inside the sandbox. So the import statements that name
a polyfilled module are rewritten, in place, into assignments from that object:

    import textwrap as tw                ->  tw = cm_poly_textwrap
    from collections import OrderedDict  ->  OrderedDict = cm_poly_collections.OrderedDict
    import urllib.parse                  ->  urllib = cm_package("urllib", parse=...)

Every rewritten statement stays on its own lines (a multi-line import keeps its line
count), so line numbers in errors still point at the program the model wrote.
`setup_code` builds the objects the rewritten program needs, in a feed the type checker
skips; the checker knows the objects from declarations in the sandbox's stubs instead
(their names have no leading underscore because a stub does not export private names).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from codemode.prelude import (
    DEPENDS,
    EXTENDED,
    GLOBALS,
    HOST_MODULES,
    NATIVE_NAMES,
    extra_names,
    polyfilled,
    source,
)

__all__ = [
    "LIBRARY",
    "LIBRARY_GET",
    "LibraryImport",
    "Rewrite",
    "library_setup",
    "module_variable",
    "rewrite_imports",
    "setup_code",
]

LIBRARY = "library"
LIBRARY_GET = "cm_library_get"
"""The sandbox function that hands out the library functions a program imports."""

SUPPORT = "_cm_module"
"""The name the support code binds (a session that has it needs no support code again)."""

_SUPPORT_CODE = """\
from typing import Any as _cm_Any
class _cm_Module:
    def __init__(self, name, attrs):
        self._cm_name = name
        for key, value in attrs.items():
            if not key.startswith("__"):
                setattr(self, key, value)
    def __repr__(self):
        return "<module '" + self._cm_name + "'>"
def _cm_module(name: str, source: str, deps: dict = {}) -> _cm_Any:
    namespace = dict(deps)
    exec(source, namespace)
    return _cm_Module(name, namespace)
def _cm_extend(name: str, native: _cm_Any, names: list, source: str) -> _cm_Any:
    namespace = {}
    for key in names:
        namespace[key] = getattr(native, key)
    exec(source, namespace)
    return _cm_Module(name, namespace)
def cm_package(name: str, **parts: _cm_Any) -> _cm_Any:
    return _cm_Module(name, parts)
"""


@dataclass(frozen=True)
class Rewrite:
    """A program with its polyfilled imports rewritten."""

    code: str
    """The program to run (the original when nothing was rewritten)."""
    modules: frozenset[str]
    """The polyfilled modules it imports (whole or extended)."""
    library: frozenset[str] = frozenset()
    """Names it imports from the library (`from library import parse_invoice`)."""


def module_variable(module: str) -> str:
    """The sandbox global holding a polyfill module's object."""
    return _var(module)


def _var(module: str) -> str:
    return "cm_poly_" + module.replace(".", "_")


def rewrite_imports(code: str, tree: ast.Module) -> Rewrite:
    """Rewrite the imports of polyfilled modules in `code` (parsed as `tree`)."""
    if "import" not in code:  # most programs: no need to walk the tree again
        return Rewrite(code=code, modules=frozenset())
    edits: list[tuple[ast.stmt, str]] = []
    modules: set[str] = set()
    library: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            text = _import(node, modules)
        elif isinstance(node, ast.ImportFrom) and node.module == LIBRARY and not node.level:
            text = _import_library(node, library)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            text = _import_from(node, modules)
        else:
            continue
        if text is not None:
            edits.append((node, text))
    if not edits:
        return Rewrite(code=code, modules=frozenset())
    return Rewrite(code=_apply(code, edits), modules=frozenset(modules), library=frozenset(library))


def _import_library(node: ast.ImportFrom, library: set[str]) -> str | None:
    """`from library import f as g` -> `g = cm_library_get('f')` (a saved function,
    built by the setup code from its source)."""
    if any(a.name == "*" for a in node.names):
        return None  # left to fail: the library is not a module of the sandbox
    library.update(a.name for a in node.names)
    return "; ".join(
        f"{alias.asname or alias.name} = {LIBRARY_GET}({alias.name!r})" for alias in node.names
    )


def _import(node: ast.Import, modules: set[str]) -> str | None:
    parts: list[str] = []
    changed = False
    for alias in node.names:
        name = alias.name
        if polyfilled(name) or (name in EXTENDED and source(name) is not None):
            modules.add(name)
            changed = True
            if alias.asname:
                parts.append(f"{alias.asname} = {_var(name)}")
            elif "." in name:  # import urllib.parse binds `urllib`
                package, _, sub = name.partition(".")
                parts.append(f"{package} = cm_package({package!r}, {sub}={_var(name)})")
            else:
                parts.append(f"{name} = {_var(name)}")
        else:
            parts.append(f"import {name}" + (f" as {alias.asname}" if alias.asname else ""))
    return "; ".join(parts) if changed else None


def _import_from(node: ast.ImportFrom, modules: set[str]) -> str | None:
    module = node.module or ""
    if any(a.name == "*" for a in node.names):
        return None  # star imports of polyfills are left to fail with a clear error
    # `from urllib import parse` names a polyfilled submodule
    if not polyfilled(module) and all(polyfilled(f"{module}.{a.name}") for a in node.names):
        for alias in node.names:
            modules.add(f"{module}.{alias.name}")
        return "; ".join(
            f"{alias.asname or alias.name} = {_var(f'{module}.{alias.name}')}"
            for alias in node.names
        )
    if polyfilled(module):
        modules.add(module)
        return "; ".join(
            f"{alias.asname or alias.name} = {_var(module)}.{alias.name}" for alias in node.names
        )
    if module in EXTENDED and source(module) is not None:
        extras = extra_names(module)
        wanted = [a for a in node.names if a.name in extras]
        if not wanted:
            return None
        modules.add(module)
        native = [a for a in node.names if a.name not in extras]
        parts = [f"{alias.asname or alias.name} = {_var(module)}.{alias.name}" for alias in wanted]
        if native:
            names = ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in native)
            parts.insert(0, f"from {module} import {names}")
        return "; ".join(parts)
    return None


def _apply(code: str, edits: list[tuple[ast.stmt, str]]) -> str:
    """Replace each statement's source span, keeping the program's line count."""
    data = code.encode()
    starts = [0]
    for line in data.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    out = data
    # Apply from the end so earlier offsets stay valid.
    for node, text in sorted(edits, key=lambda e: (e[0].lineno, e[0].col_offset), reverse=True):
        end_line = node.end_lineno or node.lineno
        start = starts[node.lineno - 1] + node.col_offset
        end = starts[end_line - 1] + (node.end_col_offset or 0)
        replacement = (text + "\n" * (end_line - node.lineno)).encode()
        out = out[:start] + replacement + out[end:]
    return out.decode()


def setup_code(
    modules: frozenset[str],
    bound: set[str],
    *,
    prelude: frozenset[str] = frozenset(),
    stateful: bool = False,
) -> tuple[str, set[str]]:
    """Code that builds the polyfill objects `modules` need and binds the `prelude`
    globals (`GLOBALS`, `HOST_MODULES`) a program reads, skipping what a session
    already has.

    In a session (`stateful`) a prelude global is bound only if the name is still free,
    so a variable the program defined in an earlier execution keeps its value.
    Returns the code and the names it binds (to add to the session's bound names).
    """
    wanted_globals = sorted(g for g in prelude if g in GLOBALS and g not in bound)
    wanted_hosted = sorted(g for g in prelude if g in HOST_MODULES and g not in bound)
    needed = set(modules) | {GLOBALS[g][0] for g in wanted_globals}
    missing = [m for m in _with_dependencies(needed) if _var(m) not in bound]
    if not missing and not wanted_globals and not wanted_hosted:
        return "", set()
    lines: list[str] = []
    names = {_var(m) for m in missing}
    if missing and SUPPORT not in bound:
        lines.append(_SUPPORT_CODE)
        names.add(SUPPORT)
    for module in missing:
        text = source(module) or ""
        if module in EXTENDED:
            native = f"_cm_native_{module}"
            lines.append(f"import {module} as {native}")
            lines.append(
                f"{_var(module)} = _cm_extend({module!r}, {native}, "
                f"{list(NATIVE_NAMES.get(module, ()))!r}, {text!r})"
            )
        else:
            deps = ", ".join(
                f"{d.rpartition('.')[2]!r}: {_var(d)}" for d in DEPENDS.get(module, ())
            )
            extra = f", {{{deps}}}" if deps else ""
            lines.append(f"{_var(module)} = _cm_module({module!r}, {text!r}{extra})")
    for name in wanted_globals:
        module, attribute = GLOBALS[name]
        value = _var(module) + (f".{attribute}" if attribute else "")
        lines.append(_bind(name, f"{name} = {value}", stateful=stateful))
    for name in wanted_hosted:  # modules of host functions, like namespaces
        lines.append(_bind(name, f"import {name}", stateful=stateful))
    names.update(wanted_globals, wanted_hosted)
    return "\n".join(lines), names


@dataclass(frozen=True)
class LibraryImport:
    """A library function a program imports, ready to be built in the sandbox."""

    name: str
    source: str
    """Its saved source, with its own imports rewritten like a program's."""
    deps: tuple[str, ...]
    """Sandbox globals the source reads (namespaces, prelude globals, polyfill objects),
    passed into the module it is built in."""


def library_setup(functions: tuple[LibraryImport, ...], bound: set[str]) -> tuple[str, set[str]]:
    """Code that builds each imported library function (in its own module namespace,
    afresh every time, so a new version is picked up) and `cm_library_get`."""
    if not functions:
        return "", set()
    lines: list[str] = []
    names: set[str] = set()
    if SUPPORT not in bound:
        lines.append(_SUPPORT_CODE)
        names.add(SUPPORT)
    lines.append("cm_library_loaded = {}")
    lines.append(f"def {LIBRARY_GET}(name):\n    return cm_library_loaded[name]")
    for function in functions:
        deps = ", ".join(f"{d!r}: {d}" for d in function.deps)
        lines.append(
            f"cm_library_loaded[{function.name!r}] = _cm_module("
            f"{'library.' + function.name!r}, {function.source!r}, {{{deps}}})"
            f".{function.name}"
        )
    names.update({"cm_library_loaded", LIBRARY_GET})
    return "\n".join(lines), names


def _bind(name: str, statement: str, *, stateful: bool) -> str:
    """`statement` binding `name`; in a session only if the name is still free, so a
    variable the program defined earlier keeps its value."""
    if not stateful:
        return statement
    return f"try:\n    {name}\nexcept NameError:\n    {statement}"


def _with_dependencies(modules: set[str]) -> list[str]:
    """`modules` and the polyfills they depend on, dependencies first, deterministic."""
    ordered: list[str] = []

    def visit(module: str) -> None:
        if module in ordered:
            return
        for dependency in DEPENDS.get(module, ()):
            visit(dependency)
        ordered.append(module)

    for module in sorted(modules):
        visit(module)
    return ordered
