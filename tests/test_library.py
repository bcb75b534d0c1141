"""The `library` global: functions saved by one program and imported by later ones."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from codemode import CodeMode, ExecutionResult

Make = Callable[..., CodeMode]


@pytest.fixture
def cm(make: Make) -> CodeMode:
    return make()


def ok(result: ExecutionResult) -> Any:
    """The result's value, failing the test with the program's error if it failed."""
    assert result.ok, result.error
    return result.result


def error(result: ExecutionResult) -> tuple[str, str]:
    assert not result.ok
    assert result.error is not None
    return result.error.type, result.error.message


class Calls:
    """A tool that counts its calls."""

    def __init__(self) -> None:
        self.count = 0

    def add(self, a: int, b: int = 0) -> int:
        """Add two integers."""
        self.count += 1
        return a + b


SLUG = """\
import re

def slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")

library.save(
    slug,
    description="Text -> url slug",
    tests=["assert slug('Hello, World!') == 'hello-world'"],
)
"""


def test_saved_function_is_imported_by_a_later_program(cm: CodeMode) -> None:
    summary = ok(cm.execute(SLUG))
    assert summary["name"] == "slug"
    assert summary["version"] == 1
    assert summary["signature"] == "def slug(text)"
    assert summary["description"] == "Text -> url slug"
    assert isinstance(summary["created"], float)
    assert ok(cm.execute("from library import slug\nslug('  Code Mode: Durable ')")) == (
        "code-mode-durable"
    )


def test_helpers_imports_and_constants_travel_with_the_function(cm: CodeMode) -> None:
    code = textwrap.dedent(
        """\
        import re
        import textwrap
        import json
        SEP = " / "
        LIMIT = 3
        UNUSED = 99
        computed = len("abc")

        def _clean(text):
            return re.sub(r"\\s+", " ", text).strip()

        def unrelated():
            return json.dumps(UNUSED)

        def summarize(text):
            words = _clean(text).split(" ")[:LIMIT]
            return textwrap.shorten(SEP.join(words), width=40)

        library.save(summarize, tests=["assert summarize('a  b   c d') == 'a / b / c'"])
        """
    )
    ok(cm.execute(code))
    source = ok(cm.execute("library.get('summarize')['source']"))
    for needed in ("import re", "import textwrap", 'SEP = " / "', "LIMIT = 3", "def _clean("):
        assert needed in source
    for unneeded in ("import json", "UNUSED", "computed", "def unrelated("):
        assert unneeded not in source
    # A later program has none of the helpers itself, only the import.
    value = ok(cm.execute("from library import summarize\nsummarize('one  two\\nthree four five')"))
    assert value == "one / two / three"


def test_function_using_a_tool_and_a_prelude_global_works_after_import(make: Make) -> None:
    calls = Calls()
    cm = make()
    cm.add_function(calls.add, namespace="t")
    code = textwrap.dedent(
        """\
        def errors_plus(lines, extra):
            found = grep("ERROR", lines)
            return t.add(a=len(found), b=extra)

        library.save(
            errors_plus, tests=["assert errors_plus(['ERROR a', 'ok', 'ERROR b'], 10) == 12"]
        )
        """
    )
    ok(cm.execute(code))
    assert calls.count == 1  # the test ran against the real tool
    result = cm.execute("from library import errors_plus\nerrors_plus('x\\nERROR y\\nz', 100)")
    assert ok(result) == 101
    assert [c.tool for c in result.tool_calls] == ["t.add"]
    assert calls.count == 2


def test_failing_test_refuses_the_save(make: Make) -> None:
    calls = Calls()
    cm = make()
    cm.add_function(calls.add, namespace="t")
    code = textwrap.dedent(
        """\
        def double(x):
            return x + x + 1

        library.save(double, tests=["assert double(1) == 2"])
        print("not reached")
        """
    )
    result = cm.execute(code)
    kind, message = error(result)
    assert kind == "ValueError"
    assert "test 1 failed" in message
    assert "AssertionError" in message
    assert "double was not saved" in message
    assert result.stdout == ""
    assert ok(cm.execute("library.list()")) == []
    refused = cm.execute("t.add(a=1)\nfrom library import double\ndouble(1)")
    kind, message = error(refused)
    assert kind == "ToolError"
    assert "the library has no function 'double'" in message
    assert "nothing was executed" in message
    assert calls.count == 0


def test_a_later_test_failing_refuses_the_save_too(cm: CodeMode) -> None:
    code = (
        "def ident(x):\n    return x\n"
        "library.save(ident, tests=['assert ident(1) == 1', 'raise KeyError(\"k\")'])"
    )
    kind, message = error(cm.execute(code))
    assert kind == "ValueError"
    assert "test 2 failed" in message
    assert "KeyError" in message
    assert ok(cm.execute("library.list()")) == []


def test_helper_that_is_not_top_level_shows_up_as_a_name_error(cm: CodeMode) -> None:
    code = textwrap.dedent(
        """\
        if True:
            def helper(x):
                return x * 2

        def uses_helper(x):
            return helper(x)

        print(uses_helper(2))
        library.save(uses_helper, tests=["assert uses_helper(2) == 4"])
        """
    )
    result = cm.execute(code)
    assert result.stdout == "4\n"  # it works in the program itself ...
    kind, message = error(result)  # ... but not from the saved source alone
    assert kind == "ValueError"
    assert "NameError" in message
    assert "'helper'" in message
    assert "uses_helper was not saved" in message
    assert ok(cm.execute("library.list()")) == []


def test_versions_history_rollback_get_list_and_delete(cm: CodeMode) -> None:
    for factor in (2, 3):
        summary = ok(cm.execute(f"def scale(x):\n    return x * {factor}\nlibrary.save(scale)"))
        assert summary["version"] == factor - 1
    ok(cm.execute("def other():\n    return 0\nlibrary.save(other, description='zero')"))
    assert ok(cm.execute("from library import scale\nscale(5)")) == 15
    history = ok(cm.execute("library.history('scale')"))
    assert [h["version"] for h in history] == [1, 2]
    assert all(h["name"] == "scale" for h in history)
    assert "x * 2" in ok(cm.execute("library.get('scale', version=1)['source']"))
    latest = ok(cm.execute("library.get('scale')"))
    assert latest["version"] == 2
    assert "x * 3" in latest["source"]
    assert latest["tests"] == []

    rolled = ok(cm.execute("library.rollback('scale', 1)"))
    assert rolled["version"] == 3  # history is never rewritten
    assert ok(cm.execute("from library import scale\nscale(5)")) == 10
    assert [h["version"] for h in ok(cm.execute("library.history('scale')"))] == [1, 2, 3]

    listed = ok(cm.execute("[(f['name'], f['version'], f['description']) for f in library.list()]"))
    assert listed == [["other", 1, "zero"], ["scale", 3, None]]

    kind, message = error(cm.execute("library.get('scale', version=9)"))
    assert kind == "ValueError"
    assert "no version 9 of 'scale'" in message
    assert "[1, 2, 3]" in message
    kind, message = error(cm.execute("library.rollback('scale', 7)"))
    assert kind == "ValueError"
    assert "no version 7" in message
    kind, _ = error(cm.execute("library.get('scale', version='1')"))
    assert kind == "TypeError"

    assert ok(cm.execute("library.delete('scale')")) == 3
    assert ok(cm.execute("library.delete('scale')")) == 0
    assert [f["name"] for f in ok(cm.execute("library.list()"))] == ["other"]
    kind, message = error(cm.execute("library.history('scale')"))
    assert kind == "ValueError"
    assert "no function 'scale' (saved: other)" in message
    kind, message = error(cm.execute("from library import scale\nscale(1)"))
    assert kind == "ToolError"
    assert "no function 'scale'" in message


def test_save_a_function_defined_in_an_earlier_execute_of_the_session(cm: CodeMode) -> None:
    ok(cm.execute("import math\ndef hyp(a, b):\n    return math.sqrt(a * a + b * b)", session="s"))
    assert ok(cm.execute("hyp(3, 4)", session="s")) == 5.0
    summary = ok(cm.execute("library.save(hyp, tests=['assert hyp(6, 8) == 10.0'])", session="s"))
    assert summary["signature"] == "def hyp(a, b)"
    assert "import math" in ok(cm.execute("library.get('hyp')['source']"))
    assert ok(cm.execute("from library import hyp\nhyp(5, 12)")) == 13.0
    # Another session (or a stateless program) has no earlier programs to look in.
    kind, message = error(cm.execute("library.save(hyp)", session="other"))
    assert kind == "NameError"
    kind, message = error(cm.execute("library.save('hyp')"))
    assert kind == "ValueError"
    assert "no top-level function 'hyp'" in message


def test_the_newest_definition_in_the_session_is_saved(cm: CodeMode) -> None:
    ok(cm.execute("def pick():\n    return 'old'", session="s"))
    ok(cm.execute("def pick():\n    return 'new'", session="s"))
    ok(cm.execute("library.save(pick, tests=[\"assert pick() == 'new'\"])", session="s"))
    assert ok(cm.execute("from library import pick\npick()")) == "new"


@pytest.mark.parametrize(
    ("code", "kind", "fragment"),
    [
        ("library.save(lambda x: x)", "ValueError", "not a lambda"),
        ("f = lambda x: x\nlibrary.save(f)", "ValueError", "not a lambda"),
        ("library.save(3)", "TypeError", "pass a function defined in the program"),
        ("library.save(len)", "TypeError", "pass a function defined in the program"),
        ("class C:\n    pass\nlibrary.save(C)", "TypeError", "pass a function defined"),
        ("library.save('nope')", "ValueError", "no top-level function 'nope'"),
        ("def w():\n    pass\nlibrary.save(w, description=3)", "TypeError", "description"),
        ("def w():\n    pass\nlibrary.save(w, tests=[1])", "TypeError", "tests must be"),
    ],
)
def test_what_is_not_a_saveable_function_is_refused_clearly(
    cm: CodeMode, code: str, kind: str, fragment: str
) -> None:
    got_kind, message = error(cm.execute(code))
    assert got_kind == kind
    assert fragment in message
    assert message.startswith("library.save():")
    assert ok(cm.execute("library.list()")) == []


def test_importing_a_missing_function_is_refused_before_running(make: Make) -> None:
    calls = Calls()
    cm = make()
    cm.add_function(calls.add, namespace="t")
    ok(cm.execute(SLUG))
    code = "print('side effect')\nt.add(a=1)\nfrom library import missing\nmissing()"
    result = cm.execute(code)
    kind, message = error(result)
    assert kind == "ToolError"
    assert "ImportError: the library has no function 'missing' (saved: slug)" in message
    assert "nothing was executed" in message
    assert result.error is not None
    assert result.error.line == 3
    assert result.stdout == ""
    assert result.tool_calls == ()
    assert calls.count == 0


def test_library_scope_is_project_and_agent(make: Make) -> None:
    alice = make(project="p", agent="alice")
    ok(alice.execute(SLUG))
    for other in (make(project="p", agent="bob"), make(project="q", agent="alice")):
        kind, message = error(other.execute("from library import slug\nslug('A B')"))
        assert kind == "ToolError"
        assert "no function 'slug' (saved: none yet)" in message
        assert ok(other.execute("library.list()")) == []
    # The same project and agent in another CodeMode share the library, both ways.
    alice_again = make(project="p", agent="alice")
    assert ok(alice_again.execute("from library import slug\nslug('A B')")) == "a-b"
    ok(alice_again.execute("def shout(s):\n    return s.upper()\nlibrary.save(shout)"))
    assert ok(alice.execute("from library import shout\nshout('hi')")) == "HI"
    assert [f["name"] for f in ok(alice.execute("library.list()"))] == ["shout", "slug"]


def test_library_functions_import_other_library_functions(cm: CodeMode) -> None:
    ok(cm.execute("def double(x):\n    return 2 * x\nlibrary.save(double)"))
    code = textwrap.dedent(
        """\
        from library import double

        def quad(x):
            return double(double(x))

        library.save(quad, tests=["assert quad(1) == 4"])
        """
    )
    ok(cm.execute(code))
    assert ok(cm.execute("library.get('quad')['source']")).startswith("from library import double")
    assert ok(cm.execute("from library import quad\nquad(3)")) == 12
    # quad uses the latest double
    ok(cm.execute("def double(x):\n    return 3 * x\nlibrary.save(double)"))
    assert ok(cm.execute("from library import quad\nquad(1)")) == 9
    ok(cm.execute("library.rollback('double', 1)"))
    assert ok(cm.execute("from library import quad as q\nq(1)")) == 4
    # without its dependency, quad cannot be imported
    ok(cm.execute("library.delete('double')"))
    kind, message = error(cm.execute("from library import quad\nquad(1)"))
    assert kind == "ToolError"
    assert "no function 'double'" in message


def test_an_import_cycle_is_refused_before_running(cm: CodeMode) -> None:
    # Saves through programs refuse cycles; a store written by other means is checked too.
    scope = cm.state.scope
    for name, other in (("a", "b"), ("b", "a")):
        cm.store.save_function(
            scope,
            name,
            source=f"from library import {other}\ndef {name}():\n    return {other}()\n",
            signature=f"def {name}()",
            description=None,
            tests=(),
        )
    kind, message = error(cm.execute("from library import a\na()"))
    assert kind == "ToolError"
    assert "cycle: a -> b -> a" in message
    assert "nothing was executed" in message


def test_a_save_that_closes_an_import_cycle_is_refused(cm: CodeMode) -> None:
    ok(cm.execute("def a():\n    return 1\nlibrary.save(a)"))
    ok(cm.execute("from library import a\ndef b():\n    return a() + 1\nlibrary.save(b)"))
    _, message = error(
        cm.execute("from library import b\ndef a():\n    return b()\nlibrary.save(a)")
    )
    assert "cycle" in message
    assert ok(cm.execute("from library import b\nb()")) == 2


def test_helpers_from_earlier_programs_of_the_session_travel_too(cm: CodeMode) -> None:
    ok(cm.execute("FACTOR = 3\ndef helper(x):\n    return x * FACTOR", session="s"))
    ok(cm.execute("def scaled(x):\n    return helper(x) + 1\nscaled(2)", session="s"))
    ok(cm.execute("library.save(scaled)", session="s"))
    assert ok(cm.execute("from library import scaled\nscaled(2)")) == 7


def test_save_a_function_defined_before_the_session_moved_to_another_instance(
    make: Make,
) -> None:
    first = make()
    ok(first.execute("def triple(x):\n    return 3 * x", session="s"))
    first.close()
    second = make()
    assert ok(second.execute("triple(2)", session="s")) == 6  # the session continues ...
    ok(second.execute("library.save(triple)", session="s"))  # ... its functions should save


def test_save_a_function_from_a_program_that_failed_after_defining_it(cm: CodeMode) -> None:
    error(cm.execute("def ident(x):\n    return x\n1 / 0", session="s"))
    assert ok(cm.execute("ident(1)", session="s")) == 1
    ok(cm.execute("library.save(ident)", session="s"))


SAVE_SCRIPT = """
import json, os, sys
from codemode import CodeMode
with CodeMode(store=sys.argv[1], project="proc", agent="a") as cm:
    result = cm.execute(sys.stdin.read())
    print(json.dumps({"ok": result.ok, "result": result.result, "pid": os.getpid(),
                      "error": result.error and result.error.message}))
"""


def _run_process(url: str, code: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", SAVE_SCRIPT, url],
        input=code,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def test_function_saved_in_one_process_is_imported_in_a_new_process(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared' / 'x.db'}"
    (tmp_path / "shared").mkdir()
    saved = _run_process(url, SLUG)
    assert saved["ok"], saved["error"]
    assert saved["result"]["name"] == "slug"
    used = _run_process(url, "from library import slug\nslug('Saved In Another Process')")
    assert used["ok"], used["error"]
    assert used["result"] == "saved-in-another-process"
    assert used["pid"] != saved["pid"]
    # and this process sees it too, through a CodeMode of the same scope
    with CodeMode(store=url, project="proc", agent="a") as cm:
        assert ok(cm.execute("from library import slug\nslug('X Y')")) == "x-y"
