"""The `library` global: functions an agent saves from a program and imports later.

```python
def parse_invoice(text: str) -> dict:
    ...

library.save(parse_invoice, description="Invoice text -> fields",
             tests=["assert parse_invoice('INV-1 total 3')['total'] == 3"])
# in any later program of the same project and agent:
from library import parse_invoice
```

`save` finds the function's source in the program (or an earlier program of the
session) and keeps it self-contained: the imports, constants and helper functions it
uses come along. Its tests run in a fresh sandbox against exactly that source; a failing
test refuses the save. Every save is a new version; `history`, `get` and `rollback`
reach the older ones.
"""

from __future__ import annotations

import ast
import builtins
import copy
import dataclasses
import re
from collections.abc import Callable, Sequence
from typing import Any

from codemode.analysis import Analysis, Problem
from codemode.catalog import Tool
from codemode.prelude.imports import LIBRARY, LIBRARY_GET, LibraryImport, module_variable
from codemode.results import ErrorInfo
from codemode.state import DurableState
from codemode.store import LibraryFunction

__all__ = [
    "LIBRARY_FUNCTIONS",
    "LibraryFunctions",
    "compose",
    "function_name",
    "missing_message",
    "resolve",
    "search_tool",
]

LIBRARY_FUNCTIONS = ("save", "get", "list", "history", "rollback", "delete")
"""The functions of the `library` global in programs."""

MAX_TESTS = 50
MAX_TEST_CHARS = 20_000
MAX_DESCRIPTION_CHARS = 2_000
MAX_SOURCE_CHARS = 200_000

_FUNCTION_REPR = re.compile(r"<function '([A-Za-z_][A-Za-z0-9_]*)' at ")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

TestRunner = Callable[[str], ErrorInfo | None]
"""Runs a program in a fresh sandbox; returns its error, or None when it passed."""


def function_name(fn: Any) -> str:
    """The name of the function a program passed (it arrives as its repr) or named."""
    if isinstance(fn, str):
        match = _FUNCTION_REPR.match(fn)
        if match:
            return match.group(1)
        if _NAME.fullmatch(fn):
            return fn
        if fn.startswith("<function '<lambda>'"):
            raise ValueError("library.save(): save a function defined with def, not a lambda")
    raise TypeError("library.save(): pass a function defined in the program (or its name)")


def compose(name: str, programs: Sequence[str]) -> tuple[str, str]:
    """The self-contained source of top-level function `name` (its newest definition in
    `programs`, oldest program first), with the imports, literal constants and functions
    or classes it uses, each as last defined by the time of that definition, wherever in
    `programs` that was; and its `def` line. ValueError if no program defines it."""
    definitions: dict[str, tuple[int, int, ast.stmt, str]] = {}
    target: tuple[int, int, ast.stmt, str] | None = None
    for index, program in enumerate(programs):
        try:
            tree = ast.parse(program)
        except (SyntaxError, ValueError, RecursionError):
            continue
        for position, (bound, node) in enumerate(_top_level(tree)):
            definitions[bound] = (index, position, node, program)
            if bound == name and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                target = definitions[bound]
    if target is None:
        raise ValueError(
            f"library.save(): no top-level function {name!r} in this program"
            + (" or this session's earlier programs" if len(programs) > 1 else "")
            + " (define it with def at the top level)"
        )
    wanted = _closure(target, definitions)
    ordered = sorted(wanted.values(), key=lambda entry: (entry[0], entry[1]))
    source = "\n\n".join(_source(program, node) for _, _, node, program in ordered)
    node = target[2]
    assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    return source + "\n", _signature(node)


def _top_level(tree: ast.Module) -> list[tuple[str, ast.stmt]]:
    """(name, statement) for each name a top-level statement binds, in order."""
    found: list[tuple[str, ast.stmt]] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found.append((node.name, node))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            found.extend(((a.asname or a.name).partition(".")[0], node) for a in node.names)
        elif isinstance(node, ast.Assign | ast.AnnAssign) and _is_literal(node.value):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            found.extend((t.id, node) for t in targets if isinstance(t, ast.Name))
    return found


def _is_literal(value: ast.expr | None) -> bool:
    if value is None:
        return False
    try:
        ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


_Definition = tuple[int, int, ast.stmt, str]
"""(program index, position, statement, program text)."""


def _closure(root: _Definition, definitions: dict[str, _Definition]) -> dict[int, _Definition]:
    """The statements `root` needs, itself included, by statement identity."""
    wanted: dict[int, _Definition] = {}
    queue = [root]
    while queue:
        entry = queue.pop()
        if id(entry[2]) in wanted:
            continue
        wanted[id(entry[2])] = entry
        for used in _names_read(entry[2]):
            dependency = definitions.get(used)
            if dependency is not None and id(dependency[2]) not in wanted:
                queue.append(dependency)
    return wanted


def _names_read(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _source(program: str, node: ast.stmt) -> str:
    """A statement's text as written (an import as one line: it may have bound other
    names too, but only this statement's form matters)."""
    if isinstance(node, ast.Import | ast.ImportFrom):
        return ast.unparse(node)
    segment = ast.get_source_segment(program, node) or ast.unparse(node)
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        decorators = (
            ast.get_source_segment(program, d) or ast.unparse(d) for d in node.decorator_list
        )
        segment = "".join(f"@{d}\n" for d in decorators) + segment
    return segment


def _signature(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    header = copy.copy(node)
    header.body = [ast.Pass()]
    header.decorator_list = []
    return ast.unparse(header).splitlines()[0].removesuffix(":")


class LibraryFunctions:
    """The host side of `library.*` for one execution."""

    def __init__(
        self, state: DurableState, programs: Callable[[], Sequence[str]], run_test: TestRunner
    ) -> None:
        self._state = state
        self._programs = programs
        self._run_test = run_test

    def save(self, fn: Any, description: Any = None, tests: Any = None) -> dict[str, Any]:
        """`library.save(fn, description=None, tests=None)`: the new version's summary."""
        name = function_name(fn)
        if description is not None and not isinstance(description, str):
            raise TypeError("library.save(): description must be a string")
        if description is not None and len(description) > MAX_DESCRIPTION_CHARS:
            raise ValueError(
                f"library.save(): description is longer than {MAX_DESCRIPTION_CHARS} characters"
            )
        checks = _tests(tests)
        source, signature = compose(name, self._programs())
        if len(source) > MAX_SOURCE_CHARS:
            raise ValueError(
                f"library.save(): {name} and its helpers exceed {MAX_SOURCE_CHARS:,} characters"
            )
        self._refuse_cycle(name, source)
        self._check(name, source, checks)
        saved = self._state.store.save_function(
            self._state.scope,
            name,
            source=source,
            signature=signature,
            description=description,
            tests=checks,
        )
        return _summary(saved)

    def _refuse_cycle(self, name: str, source: str) -> None:
        """Refuse a version of `name` that imports, directly or not, `name` itself."""
        store, scope = self._state.store, self._state.scope
        stack: list[tuple[str, tuple[str, ...]]] = [
            (imported, (name, imported)) for imported in sorted(_library_imports(source))
        ]
        seen: set[str] = set()
        while stack:
            current, path = stack.pop()
            if current == name:
                raise ValueError(
                    "library.save(): library functions would import each other in a cycle: "
                    + " -> ".join(path)
                )
            if current in seen:
                continue
            seen.add(current)
            found = store.get_function(scope, current)
            if found is not None:
                stack.extend((nxt, (*path, nxt)) for nxt in sorted(_library_imports(found.source)))

    def _check(self, name: str, source: str, tests: tuple[str, ...]) -> None:
        """Run each test against exactly the saved source; refuse the save on a failure."""
        offset = source.count("\n") + 1
        for number, test in enumerate(tests or ("pass",), start=1):
            error = self._run_test(f"{source}\n{test}\n")
            if error is None:
                continue
            where = ""
            if error.line is not None:
                where = (
                    f" (line {error.line - offset} of the test)"
                    if error.line > offset
                    else f" (line {error.line} of {name}'s saved source)"
                )
            label = f"test {number}" if tests else f"{name}'s saved source"
            raise ValueError(
                f"library.save(): {label} failed{where}: {error.type}: {error.message}; "
                f"{name} was not saved"
            )

    def get(self, name: Any, version: Any = None) -> dict[str, Any]:
        """`library.get(name, version=None)`: source, signature, description, tests."""
        found = self._function(name, "get", version)
        return {**_summary(found), "source": found.source, "tests": list(found.tests)}

    def history(self, name: Any) -> list[dict[str, Any]]:
        """`library.history(name)`: every version, oldest first."""
        self._function(name, "history")
        return [_summary(f) for f in self._state.store.function_history(self._state.scope, name)]

    def rollback(self, name: Any, version: Any) -> dict[str, Any]:
        """`library.rollback(name, version)`: save that version's source again, as a new
        version (history is never rewritten)."""
        old = self._function(name, "rollback", version)
        saved = self._state.store.save_function(
            self._state.scope,
            old.name,
            source=old.source,
            signature=old.signature,
            description=old.description,
            tests=old.tests,
        )
        return _summary(saved)

    def delete(self, name: Any) -> int:
        """`library.delete(name)`: remove every version; how many there were."""
        if not isinstance(name, str):
            raise TypeError("library.delete(): pass the function's name")
        return self._state.store.delete_function(self._state.scope, name)

    def list(self) -> builtins.list[dict[str, Any]]:
        """`library.list()`: the latest version of each saved function."""
        return [_summary(f) for f in self._state.store.list_functions(self._state.scope)]

    def _function(self, name: Any, function: str, version: Any = None) -> LibraryFunction:
        if not isinstance(name, str):
            raise TypeError(f"library.{function}(): pass the function's name (a string)")
        if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
            raise TypeError(f"library.{function}(): version must be an integer")
        found = self._state.store.get_function(self._state.scope, name, version)
        if found is None:
            raise ValueError(missing_message(self._state, name, version))
        return found


def _library_imports(source: str) -> set[str]:
    """Names `source` imports from the library."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return set()
    return {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == LIBRARY and not node.level
        for alias in node.names
    }


def missing_message(state: DurableState, name: str, version: int | None = None) -> str:
    """Why `name` (at `version`) cannot be had, listing what the library holds."""
    if version is not None and state.store.get_function(state.scope, name) is not None:
        versions = [f.version for f in state.store.function_history(state.scope, name)]
        return f"the library has no version {version} of {name!r} (versions: {versions})"
    saved = ", ".join(f.name for f in state.store.list_functions(state.scope)) or "none yet"
    return f"the library has no function {name!r} (saved: {saved})"


def _tests(tests: Any) -> tuple[str, ...]:
    if tests is None:
        return ()
    if isinstance(tests, str):
        tests = [tests]
    if not isinstance(tests, list | tuple) or not all(isinstance(t, str) for t in tests):
        raise TypeError("library.save(): tests must be a list of code strings (asserts)")
    if len(tests) > MAX_TESTS or any(len(t) > MAX_TEST_CHARS for t in tests):
        raise ValueError(
            f"library.save(): at most {MAX_TESTS} tests of {MAX_TEST_CHARS:,} characters"
        )
    return tuple(tests)


def _summary(function: LibraryFunction) -> dict[str, Any]:
    return {
        "name": function.name,
        "version": function.version,
        "signature": function.signature,
        "description": function.description,
        "created": function.created,
    }


def resolve(
    code: str, analysis: Analysis, state: DurableState, analyze: Callable[[str], Analysis]
) -> Analysis:
    """`analysis` (of `code`) with the library functions it imports attached
    (dependencies first) and what their sources need (namespaces, polyfills, prelude
    globals) merged in; or with a problem, at the import, naming a function the library
    does not have or an import cycle."""
    if not analysis.library:
        return analysis
    try:
        return _resolve(analysis, state, analyze)
    except LookupError as exc:
        problem = Problem(line=_import_line(code), column=0, message=f"ImportError: {exc}")
        return dataclasses.replace(analysis, problems=(problem,))


def _import_line(code: str) -> int:
    """The line of the program's first `from library import`, for the error."""
    for number, line in enumerate(code.splitlines(), start=1):
        if line.lstrip().startswith(f"from {LIBRARY} import"):
            return number
    return 1


def search_tool(function: LibraryFunction) -> Tool:
    """A saved function as search sees it (not callable as a tool: it is imported)."""
    about = function.description or ""
    return Tool(
        namespace=LIBRARY,
        name=function.name,
        description=f"{about}\n\nSaved function (version {function.version}); use it with "
        f"`from {LIBRARY} import {function.name}`".strip(),
        tags=(LIBRARY,),
    )


def _resolve(
    analysis: Analysis, state: DurableState, analyze: Callable[[str], Analysis]
) -> Analysis:
    imports: list[LibraryImport] = []
    namespaces, polyfills, prelude = (
        set(analysis.namespaces),
        set(analysis.polyfills),
        set(analysis.prelude),
    )
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in done:
            return
        if name in path:
            raise LookupError(
                "library functions import each other in a cycle: " + " -> ".join((*path, name))
            )
        found = state.store.get_function(state.scope, name)
        if found is None:
            raise LookupError(missing_message(state, name))
        sub = analyze(found.source)
        for dependency in sorted(sub.library):
            visit(dependency, (*path, name))
        source = sub.code or found.source
        deps = set(sub.namespaces) | set(sub.prelude)
        deps.update(module_variable(m) for m in sub.polyfills)
        if "cm_package(" in source:
            deps.add("cm_package")
        if sub.library:
            deps.add(LIBRARY_GET)
        imports.append(LibraryImport(name=name, source=source, deps=tuple(sorted(deps))))
        namespaces.update(sub.namespaces)
        polyfills.update(sub.polyfills)
        prelude.update(sub.prelude)
        done.add(name)

    for name in sorted(analysis.library):
        visit(name, ())
    return dataclasses.replace(
        analysis,
        namespaces=frozenset(namespaces),
        polyfills=frozenset(polyfills),
        prelude=frozenset(prelude),
        library_imports=tuple(imports),
    )
