"""Imports of polyfilled modules: rewritten in place, built before the program runs."""

from __future__ import annotations

import ast

from codemode import CodeMode
from codemode.prelude import polyfilled
from codemode.prelude.imports import rewrite_imports


def rewrite(code: str) -> tuple[str, set[str]]:
    result = rewrite_imports(code, ast.parse(code))
    return result.code, set(result.modules)


def test_rewrites_keep_lines_and_bind_the_polyfill() -> None:
    code = (
        "import json, textwrap as tw\n"
        "from heapq import heappush, heappop as pop\n"
        "import urllib.parse\n"
        "from urllib import parse\n"
        "from collections import (\n"
        "    Counter,\n"
        ")\n"
        "x = 1\n"
    )
    new, modules = rewrite(code)
    assert modules == {"textwrap", "heapq", "urllib.parse"}
    assert new.count("\n") == code.count("\n")
    lines = new.splitlines()
    assert lines[0] == "import json; tw = cm_poly_textwrap"
    assert lines[1] == "heappush = cm_poly_heapq.heappush; pop = cm_poly_heapq.heappop"
    assert lines[2] == "urllib = cm_package('urllib', parse=cm_poly_urllib_parse)"
    assert lines[3] == "parse = cm_poly_urllib_parse"
    assert lines[4] == "from collections import ("  # Counter is native: untouched
    assert lines[7] == "x = 1"


def test_every_promised_polyfill_ships() -> None:
    for module in (
        "textwrap",
        "statistics",
        "operator",
        "string",
        "enum",
        "uuid",
        "difflib",
        "heapq",
        "io",
        "fractions",
        "urllib.parse",
        "html",
        "fnmatch",
    ):
        assert polyfilled(module), module


def test_nothing_to_rewrite_returns_the_program() -> None:
    code = "import json\nfrom collections import Counter\njson.dumps(1)"
    assert rewrite(code) == (code, set())


def test_programs_import_polyfills_and_errors_keep_their_lines() -> None:
    with CodeMode() as cm:
        result = cm.execute(
            "import textwrap\n"
            "from heapq import heappush\n"
            "h = []\n"
            "for x in [5, 1, 3]:\n"
            "    heappush(h, x)\n"
            "from urllib.parse import urlparse\n"
            "(textwrap.wrap('aaa bbb ccc', 7), h[0], urlparse('https://x.io/p?q=1').path)"
        )
        assert result.result == [["aaa bbb", "ccc"], 1, "/p"], result.error
        failing = cm.execute("import textwrap\n\nx = 1\nraise ValueError('here')")
        assert failing.error is not None
        assert failing.error.line == 4
        # In a session the module object is built once and stays bound.
        assert cm.execute("import heapq\nh = [3]\nheapq.heapify(h)", session="s").ok
        assert cm.execute("heapq.heappush(h, 1)\nh[0]", session="s").result == 1


def test_unavailable_modules_say_what_to_use_instead() -> None:
    with CodeMode() as cm:
        result = cm.execute("import subprocess")
        assert result.error is not None
        assert result.error.type == "ModuleNotFoundError"
        assert "cannot start processes" in result.error.message
        other = cm.execute("import leftpad")
        assert other.error is not None
        assert "modules programs can import" in other.error.message
