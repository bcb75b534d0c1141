"""What programs can import although the sandbox's interpreter lacks it.

Models write the imports they know from CPython (`import textwrap`, `from collections
import OrderedDict`); every `ModuleNotFoundError` costs a round trip. Each polyfill is a
pure-Python source file in `polyfills/` that runs inside the sandbox: the setup of an
execution builds it into a module object (`exec(source, namespace)`), and the program's
import statements for it are rewritten in place to bind that object (see `imports.py`).
Polyfills run under the sandbox's limits like the program itself.

Two kinds:

* whole modules the sandbox lacks (`textwrap`, `io`, `urllib.parse`, ...);
* extras for modules the sandbox has only in part (`collections.OrderedDict`,
  `functools.cmp_to_key`): the program gets one module object with both.
"""

from __future__ import annotations

import ast
import functools
from importlib import resources

__all__ = [
    "DEPENDS",
    "EXTENDED",
    "GLOBALS",
    "HOST_MODULES",
    "NATIVE_NAMES",
    "UNAVAILABLE",
    "extra_names",
    "polyfill_modules",
    "polyfilled",
    "source",
]

# module name as imported -> polyfill file (without .py)
_WHOLE = {
    "textwrap": "textwrap",
    "statistics": "statistics",
    "operator": "operator",
    "string": "string",
    "heapq": "heapq",
    "fnmatch": "fnmatch",
    "html": "html",
    "uuid": "uuid",
    "io": "io",
    "difflib": "difflib",
    "fractions": "fractions",
    "urllib.parse": "urllib_parse",
    "enum": "enum",
}

EXTENDED = {
    "collections": "collections_extra",
    "functools": "functools_extra",
    "csv": "csv_extra",
}
"""Modules the sandbox has in part -> the polyfill file with their missing names."""

NATIVE_NAMES = {
    "collections": ("Counter", "defaultdict", "deque", "namedtuple"),
    "functools": ("cache", "lru_cache", "partial", "reduce"),
    "csv": (
        "reader",
        "writer",
        "DictReader",
        "DictWriter",
        "QUOTE_MINIMAL",
        "QUOTE_ALL",
        "QUOTE_NONNUMERIC",
        "QUOTE_NONE",
        "Error",
        "field_size_limit",
        "excel",
        "excel_tab",
        "unix_dialect",
        "get_dialect",
        "list_dialects",
        "Dialect",
    ),
}
"""What the sandbox's own `collections`, `functools` and `csv` provide (measured)."""

# Modules only the prelude's globals use; programs cannot import them by these names.
_PRELUDE = {"codemode.text": "prelude_text", "codemode.jq": "jq"}

GLOBALS: dict[str, tuple[str, str | None]] = {
    "csv": ("csv", None),
    "text": ("codemode.text", None),
    "grep": ("codemode.text", "grep"),
    "jq": ("codemode.jq", "jq"),
}
"""Globals every program has without an import: name -> (module, attribute or None for
the module itself). `csv` is the stdlib module with the prelude's table helpers added."""

HOST_MODULES = frozenset({"artifacts", "memory", "library"})
"""Globals whose functions run on the host (modules of the sandbox, like namespaces)."""

DEPENDS: dict[str, tuple[str, ...]] = {"codemode.text": ("difflib",)}
"""Polyfill modules another polyfill's source receives as globals (built first)."""

UNAVAILABLE = {
    "subprocess": "programs cannot start processes; call a tool instead (search(...) finds one)",
    "socket": "programs have no network; call a tool that reaches the service instead",
    "requests": "programs have no network; call a tool that reaches the API instead",
    "urllib.request": "programs have no network; call a tool that reaches the API instead",
    "http.client": "programs have no network; call a tool that reaches the API instead",
    "httpx": "programs have no network; call a tool that reaches the API instead",
    "multiprocessing": "programs cannot start processes; use asyncio.gather for concurrency",
    "threading": "programs cannot start threads; use asyncio.gather for concurrency",
    "shutil": "programs have no host filesystem; call a tool that manages files instead",
    "sqlite3": "programs have no database access; call a tool that queries it instead",
    "pandas": "not available in the sandbox; use lists of dicts, itertools and statistics",
    "numpy": "not available in the sandbox; use lists, math and statistics",
}
"""Modules that cannot exist in the sandbox, and what to use instead."""


@functools.cache
def source(module: str) -> str | None:
    """The polyfill source for `module` (or for an extended module's extras), if any."""
    stem = _WHOLE.get(module) or EXTENDED.get(module) or _PRELUDE.get(module)
    if stem is None:
        return None
    try:
        return resources.files(__package__).joinpath("polyfills", f"{stem}.py").read_text()
    except (FileNotFoundError, OSError):
        return None


def polyfill_modules() -> list[str]:
    """Every module built from a polyfill (whole, extended, or behind a prelude global)."""
    return sorted({*_WHOLE, *EXTENDED, *_PRELUDE})


def polyfilled(module: str) -> bool:
    """True when `module` as a whole comes from a polyfill."""
    return module in _WHOLE and source(module) is not None


@functools.cache
def extra_names(module: str) -> frozenset[str]:
    """The public names an extended module's polyfill adds (empty if none)."""
    text = source(module) if module in EXTENDED else None
    if text is None:
        return frozenset()
    names: set[str] = set()
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return frozenset(n for n in names if not n.startswith("_"))
