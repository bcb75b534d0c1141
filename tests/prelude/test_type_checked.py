"""With `type_check=True`, programs keep the prelude globals and polyfilled imports: the
checker sees their declarations, not the setup code that builds them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from codemode import CodeMode


@pytest.fixture(scope="module")
def checked() -> Iterator[CodeMode]:
    with CodeMode(type_check=True) as cm:
        yield cm


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ('grep("b", "a\\nb")', ["b"]),
        ('jq(".a", {"a": 1})', 1),
        ('text.word_count("a b c")', 3),
        ('csv.parse("a\\n1")', [{"a": 1}]),
        ('import csv\nlist(csv.reader(["x,y"]))', [["x", "y"]]),
        ('import textwrap\ntextwrap.wrap("aa bb", 2)', ["aa", "bb"]),
        ("from collections import OrderedDict\nlist(OrderedDict(a=1).items())", [["a", 1]]),
        ("import urllib.parse\nurllib.parse.quote('a b')", "a%20b"),
        ("artifacts.get(artifacts.put([1, 2]), 1)", [2]),
    ],
)
def test_prelude_and_polyfills_pass_the_checker(
    checked: CodeMode, code: str, expected: object
) -> None:
    result = checked.execute(code)
    assert result.error is None
    assert result.result == expected


def test_in_a_session_too(checked: CodeMode) -> None:
    assert checked.execute("rows = csv.parse('n\\n2')", session="s").ok
    result = checked.execute(
        "import heapq\nheapq.nsmallest(1, [r['n'] for r in rows])", session="s"
    )
    assert result.result == [2]


def test_the_checker_still_refuses_wrong_calls(checked: CodeMode) -> None:
    result = checked.execute('grep("a", "b", ignore_case="yes")\nartifacts.put(1, name=2)')
    assert result.error is not None
    assert result.error.type == "TypeCheckError"
