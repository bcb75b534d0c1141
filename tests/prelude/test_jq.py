"""The prelude's `jq(expr, data, all=False)` global, run inside the sandbox.

Expected values are what jq 1.7 outputs for the same expression and input. Data goes into
each program as a Python literal (``repr`` of JSON-like values).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from codemode import CodeMode, ExecutionResult, Limits

TIMEOUT = 5.0


@pytest.fixture(scope="module")
def cm() -> Iterator[CodeMode]:
    with CodeMode(limits=Limits(timeout=TIMEOUT)) as session:
        yield session


def outputs(cm: CodeMode, expr: str, data: Any) -> list[Any]:
    r = cm.execute(f"jq({expr!r}, {data!r}, all=True)")
    assert r.ok, (expr, r.error)
    assert isinstance(r.result, list)
    return r.result


# (expression, input, every output jq prints)
PATHS = [
    (".", {"a": 1}, [{"a": 1}]),
    (".foo", {"foo": 42}, [42]),
    (".foo", {}, [None]),
    (".foo.bar", {"foo": {"bar": "x"}}, ["x"]),
    ('."foo-bar"', {"foo-bar": 1}, [1]),
    ('.["foo"]', {"foo": 2}, [2]),
    (".foo?", [1], []),
    ("[.[] | .a?]", [1, {"a": 2}], [[2]]),
    (".[0]", [5, 6], [5]),
    (".[-1]", [5, 6], [6]),
    (".[5]", [1], [None]),
    (".[2:4]", [0, 1, 2, 3, 4], [[2, 3]]),
    (".[:2]", [0, 1, 2, 3, 4], [[0, 1]]),
    (".[-2:]", [0, 1, 2, 3, 4], [[3, 4]]),
    (".[1:3]", "abcd", ["bc"]),
    (".[]", [1, 2], [1, 2]),
    (".[]", {"a": 1, "b": 2}, [1, 2]),
    (".[]?", 3, []),
    ("..", [[1]], [[[1]], [1], 1]),
    (".foo[]", {"foo": [1, 2]}, [1, 2]),
    (".a.b[0].c", {"a": {"b": [{"c": 7}]}}, [7]),
    (".a.b.c", None, [None]),
    (".[.k]", {"k": "x", "x": 9}, [9]),
    (".a[1:]", {"a": "hello"}, ["ello"]),
    (".[1.7]", [0, 1, 2], [1]),
]

OPERATORS = [
    (".a | .b", {"a": {"b": 3}}, [3]),
    (".a, .b", {"a": 1, "b": 2}, [1, 2]),
    ("(.a, .b) | . * 10", {"a": 1, "b": 2}, [10, 20]),
    ('1, 2.5, "s", true, false, null', None, [1, 2.5, "s", True, False, None]),
    (r'"\u00e9\n\t\"\\"', None, ['é\n\t"\\']),
    ("[]", None, [[]]),
    ("[1, [2], {}]", None, [[1, [2], {}]]),
    ('{a: .x, "b": .y}', {"x": 1, "y": 2}, [{"a": 1, "b": 2}]),
    ("{name}", {"name": "n", "z": 1}, [{"name": "n"}]),
    ("{(.k): .v}", {"k": "key", "v": 3}, [{"key": 3}]),
    (".v as $x | {$x}", {"v": 1}, [{"x": 1}]),
    ("{a: (1, 2)}", None, [{"a": 1}, {"a": 2}]),
    ("{if: 1, a: .b | length}", {"b": "xy"}, [{"if": 1, "a": 2}]),
    (r'"\(.a) and \(.b)"', {"a": 1, "b": "x"}, ["1 and x"]),
    (r'"v: \(.)"', [1, "a"], ['v: [1,"a"]']),
    (r'"\(1, 2)-\(3, 4)"', None, ["1-3", "2-3", "1-4", "2-4"]),
    (r'"\(.a // "none")"', {}, ["none"]),
    (".a + .b", {"a": 1, "b": 2}, [3]),
    ("{a: 1} + {b: 2} + {a: 3}", None, [{"a": 3, "b": 2}]),
    ("[1, 2] + [3]", None, [[1, 2, 3]]),
    ('"a" + "b"', None, ["ab"]),
    ("null + 1", None, [1]),
    (".x + 1", {}, [1]),
    ("[1, 2, 3, 1] - [1]", None, [[2, 3]]),
    ("10 - 4 - 3", None, [3]),
    ('"ab" * 3', None, ["ababab"]),
    ('"ab" * 0', None, [None]),
    ('{"a": {"b": 1}} * {"a": {"c": 2}}', None, [{"a": {"b": 1, "c": 2}}]),
    ("10 / 4", None, [2.5]),
    ("6 / 3", None, [2]),
    ('"a,b,c" / ","', None, [["a", "b", "c"]]),
    ("7 % 3, -7 % 3, 5.5 % 2", None, [1, -1, 1]),
    ("1 + 2 * 3, (1 + 2) * 3, 2 * 3 % 4", None, [7, 9, 2]),
    ("[(1, 2) + (10, 20)]", None, [[11, 12, 21, 22]]),
    ("-.a", {"a": 2}, [-2]),
    ("1 == 1.0, 1 == true, 1 != 2", None, [True, False, True]),
    ('"a" < "b", 1 < "a", [1] > {"a": 1}, null < false', None, [True, True, False, True]),
    (". >= 3, . <= 2, . > 2", 3, [True, False, True]),
    (
        '[true, {}, null, 1, [], false, "a", 0] | sort',
        None,
        [[None, False, True, 0, 1, "a", [], {}]],
    ),
    ("sort", [{"b": 1}, {"a": 1, "b": 0}, {"a": 2}], [[{"a": 2}, {"a": 1, "b": 0}, {"b": 1}]]),
    ("true and false, false or true", None, [False, True]),
    ("(true, false) and true", None, [True, False]),
    ('false and error("x")', None, [False]),
    ("[.[] | . > 1 and . < 4]", [1, 2, 3, 4], [[False, True, True, False]]),
    ("map(not)", [None, False, 0, ""], [[True, True, False, False]]),
    ('.a // "d"', {}, ["d"]),
    ('.a // "d"', {"a": False}, ["d"]),
    ('.a // "d"', {"a": 0}, [0]),
    ("(1, null, 2) // 3", None, [1, 2]),
    ("empty // 3", None, [3]),
    ('error("x") // 1', None, [1]),
    ('.a // .b // "c"', {"b": 2}, [2]),
    ('if . > 1 then "big" else "small" end', 2, ["big"]),
    ("if . then 1 end", None, [None]),
    ('if . == 1 then "a" elif . == 2 then "b" else "c" end', 2, ["b"]),
    ('[.[] | if . then "t" else "f" end]', [None, False, 0, ""], [["f", "f", "t", "t"]]),
    ('try error("x") catch .', None, ["x"]),
    ('try error({"a": 1}) catch .a', None, [1]),
    (
        '[.[] | try (if . == 2 then error("bad") else . end) catch "caught"]',
        [1, 2, 3],
        [[1, "caught", 3]],
    ),
    (
        "try (.a / .b) catch .",
        {"a": 1, "b": 0},
        ["number (1) and number (0) cannot be divided because the divisor is zero"],
    ),
    ("try .a catch .", 5, ['Cannot index number with "a"']),
    ("try error catch .", "msg", ["msg"]),
    ('[try error("x")]', None, [[]]),
    ('.a? // "none"', 5, ["none"]),
    ("[.[] | tonumber?]", ["1", "x", "3"], [[1, 3]]),
    (".a as $x | .b + $x", {"a": 1, "b": 2}, [3]),
    ("[.[] as $x | $x * 2]", [1, 2], [[2, 4]]),
    (
        ". as $d | .items[] | {name, cost: (.n * $d.rate)}",
        {"rate": 2, "items": [{"name": "a", "n": 3}]},
        [{"name": "a", "cost": 6}],
    ),
    ("reduce .[] as $x (0; . + $x)", [1, 2, 3], [6]),
    ("reduce range(5) as $i ([]; . + [$i * 2])", None, [[0, 2, 4, 6, 8]]),
]

BUILTINS = [
    ("[1, empty, 2]", None, [[1, 2]]),
    ("[.[] | select(. > 1)]", [1, 2, 3], [[2, 3]]),
    (".[] | select(.x > 5) | .name", [{"x": 6, "name": "a"}, {"x": 1, "name": "b"}], ["a"]),
    ("map(. + 1)", [1, 2], [[2, 3]]),
    ("map(.a)", {"x": {"a": 1}}, [[1]]),
    ("map_values(. * 2)", {"a": 1, "b": 2}, [{"a": 2, "b": 4}]),
    ("map_values(select(. > 1))", {"a": 1, "b": 2}, [{"b": 2}]),
    ("map_values(empty)", [1, 2], [[]]),
    ("map(length)", [[1, 2], "abc", {"a": 1}, None, -5], [[2, 3, 1, 0, 5]]),
    ("utf8bytelength", "é", [2]),
    ("keys", {"b": 1, "a": 2}, [["a", "b"]]),
    ("keys_unsorted", {"b": 1, "a": 2}, [["b", "a"]]),
    ("keys", [4, 5], [[0, 1]]),
    ("[.[] | values]", [1, None, False], [[1, False]]),
    ('has("a")', {"a": None}, [True]),
    ("has(2)", [1, 2], [False]),
    ('[has("a", "z")]', {"a": 1}, [[True, False]]),
    ('.[] | in({"a": 1})', ["a", "b"], [True, False]),
    ('contains("bar")', "foobar", [True]),
    ('contains(["baz", "bar"])', ["foobar", "foobaz", "blarp"], [True]),
    (
        "contains({foo: 12, bar: [{barp: 12}]})",
        {"foo": 12, "bar": [1, 2, {"barp": 12, "blip": 13}]},
        [True],
    ),
    (
        "contains({foo: 12, bar: [{barp: 15}]})",
        {"foo": 12, "bar": [1, 2, {"barp": 12, "blip": 13}]},
        [False],
    ),
    ('inside("foobar")', "bar", [True]),
    ('inside({"a": 1, "b": 2})', {"a": 1}, [True]),
    (
        "map(type)",
        [0, False, [], {}, None, "hello"],
        [["number", "boolean", "array", "object", "null", "string"]],
    ),
    ("sort", [8, 3, None, 6], [[None, 3, 6, 8]]),
    ("sort_by(.foo)", [{"foo": 4}, {"foo": 3}, {"foo": 2}], [[{"foo": 2}, {"foo": 3}, {"foo": 4}]]),
    (
        "sort_by(.a, .b)",
        [{"a": 1, "b": 2}, {"a": 1, "b": 1}, {"a": 0, "b": 5}],
        [[{"a": 0, "b": 5}, {"a": 1, "b": 1}, {"a": 1, "b": 2}]],
    ),
    (
        "group_by(.foo)",
        [{"foo": 1, "bar": 10}, {"foo": 3, "bar": 100}, {"foo": 1, "bar": 1}],
        [[[{"foo": 1, "bar": 10}, {"foo": 1, "bar": 1}], [{"foo": 3, "bar": 100}]]],
    ),
    ("unique", [1, 2, 5, 3, 5, 3, 1, 3], [[1, 2, 3, 5]]),
    (
        "unique_by(length)",
        ["chunky", "bacon", "kitten", "cicada", "asparagus"],
        [["bacon", "chunky", "asparagus"]],
    ),
    ("min, max", [5, 4, 2, 7], [2, 7]),
    ("max", [], [None]),
    (
        "max_by(.foo), min_by(.foo)",
        [{"foo": 1, "b": 14}, {"foo": 2, "b": 3}],
        [{"foo": 2, "b": 3}, {"foo": 1, "b": 14}],
    ),
    ("add", ["a", "b", "c"], ["abc"]),
    ("add", [1, 2, 3], [6]),
    ("add", [], [None]),
    ("add", [[1], None, [2]], [[1, 2]]),
    ("add", {"a": 1, "b": 2}, [3]),
    ("any, all", [True, False], [True, False]),
    ("any, all", [], [False, True]),
    ("any(. > 2), all(. > 0)", [1, 3], [True, True]),
    ("any(.[]; . == 2), all(.[]; . == 2)", [1, 2], [True, False]),
    ("flatten", [1, [2], [[3]]], [[1, 2, 3]]),
    ("flatten(1)", [1, [2], [[3]]], [[1, 2, [3]]]),
    ("[range(4)]", None, [[0, 1, 2, 3]]),
    ("[range(2; 5)]", None, [[2, 3, 4]]),
    ("[range(0; 10; 3)], [range(5; 0; -2)]", None, [[0, 3, 6, 9], [5, 3, 1]]),
    ("[range(0, 1; 3, 4)]", None, [[0, 1, 2, 0, 1, 2, 3, 1, 2, 1, 2, 3]]),
    ("map(floor), map(ceil), map(round)", [2.5, -2.5, 1.4], [[2, -3, 1], [3, -2, 2], [3, -3, 1]]),
    ("sqrt, (-. | fabs), (-. | abs)", 9, [3, 9, 9]),
    ("map(tostring)", [1, "1", [1]], [["1", "1", "[1]"]]),
    ("map(tonumber)", ["1", "2.5", 3], [[1, 2.5, 3]]),
    ("tojson", {"a": [1, "x", None, 1.5]}, ['{"a":[1,"x",null,1.5]}']),
    ("fromjson", '{"a": [1, true]}', [{"a": [1, True]}]),
    ("ascii_downcase, ascii_upcase", "aBCé", ["abcé", "ABCé"]),
    (
        '[.[] | ltrimstr("foo")]',
        ["fo", "foo", "barfoo", "foobar", "afoo", 1],
        [["fo", "", "barfoo", "bar", "afoo", 1]],
    ),
    ('rtrimstr("foo")', "barfoo", ["bar"]),
    ('[.[] | startswith("foo")]', ["fo", "foo", "barfoo", "foobar"], [[False, True, False, True]]),
    ('endswith("bar")', "foobar", [True]),
    ('split(", ")', "a, b,c, d", [["a", "b,c", "d"]]),
    ('join(", ")', ["a", "b", "c"], ["a, b, c"]),
    ('join(" ")', ["a", 1, None, True], ["a 1  true"]),
    ('test("foo")', "foo", [True]),
    ('[.[] | test("a b c # spaces are ignored"; "ix")]', ["xabcd", "ABC"], [[True, True]]),
    (
        'match("(abc)+"; "g") | [.offset, .length, .captures[0].string]',
        "abc abc",
        [[0, 3, "abc"], [4, 3, "abc"]],
    ),
    (
        'match("foo (?<bar123>bar)? foo"; "ig")',
        "foo bar foo foo  foo",
        [
            {
                "offset": 0,
                "length": 11,
                "string": "foo bar foo",
                "captures": [{"offset": 4, "length": 3, "string": "bar", "name": "bar123"}],
            },
            {
                "offset": 12,
                "length": 8,
                "string": "foo  foo",
                "captures": [{"offset": -1, "length": 0, "string": None, "name": "bar123"}],
            },
        ],
    ),
    ('[match("é"; "g").offset]', "aébé", [[1, 3]]),
    ('capture("(?<a>[a-z]+)-(?<n>[0-9]+)")', "xyzzy-14", [{"a": "xyzzy", "n": "14"}]),
    ('[scan("c")], [scan("(a)(b)")]', "abcab", [["c"], [["a", "b"], ["a", "b"]]]),
    ('[splits(", *")], split(", *"; null)', "ab,cd, ef", [["ab", "cd", "ef"], ["ab", "cd", "ef"]]),
    (r'sub("^[^a-z]*(?<x>[a-z]*).*"; "Z\(.x)")', "123abc456", ["Zabc"]),
    ('sub("a"; "b"), gsub("a"; "b"), gsub("A"; "b"; "i")', "aAa", ["bAa", "bAb", "bbb"]),
    (r'gsub("(?<d>\\d)"; "<\(.d)>")', "a1b2", ["a<1>b<2>"]),
    ("first, last, nth(1)", [5, 6, 7], [5, 7, 6]),
    ("first(range(10; 0; -1)), last(range(5)), nth(2; range(10))", None, [10, 4, 2]),
    ("[first(empty)]", None, [[]]),
    ("[limit(3; .[])], [limit(0; 1, 2)]", [1, 2, 3, 4], [[1, 2, 3], []]),
    ("[limit(5; range(100000000))]", None, [[0, 1, 2, 3, 4]]),
    ("[limit(-1; 1, 2)]", None, [[1, 2]]),
    ("reverse", [1, 2, 3], [[3, 2, 1]]),
    ("reverse", "abc", ["cba"]),
    ("to_entries", {"a": 1, "b": 2}, [[{"key": "a", "value": 1}, {"key": "b", "value": 2}]]),
    (
        "from_entries",
        [{"key": "a", "value": 1}, {"k": "b", "v": 2}, {"name": "c", "value": 3}],
        [{"a": 1, "b": 2, "c": 3}],
    ),
    ("with_entries(select(.value > 1))", {"a": 1, "b": 2}, [{"b": 2}]),
    ("with_entries({key: (.value | tostring), value: .key})", {"a": 1}, [{"1": "a"}]),
    ("[paths]", {"a": [1, {"b": 2}]}, [[["a"], ["a", 0], ["a", 1], ["a", 1, "b"]]]),
    ("[leaf_paths]", {"a": [1, {"b": 2}]}, [[["a", 0], ["a", 1, "b"]]]),
    ('[paths(type == "number")]', [1, [2]], [[[0], [1, 0]]]),
    ('getpath(["a", "b"])', {"a": {"b": 5}}, [5]),
    ('[getpath(["a", "b"], ["a", "c"], ["x", "y"])]', {"a": {"b": 0}}, [[0, None, None]]),
    ('indices(", ")', "a,b, cd, efg", [[3, 7]]),
    ("indices(1)", [0, 1, 2, 1, 3, 1, 4], [[1, 3, 5]]),
    ("indices([1, 2])", [0, 1, 2, 3, 1, 4, 2, 5, 1, 2, 6, 7], [[1, 8]]),
    ('index(","), rindex(","), index("z")', "a,b, cd", [1, 3, None]),
    ("map(ascii)", [65, 97], [["A", "a"]]),
    ("explode, (explode | implode)", "AB", [[65, 66], "AB"]),
    ("env, $ENV", None, [{}, {}]),
    ("@csv", [1, 'a"b', None, True], ['1,"a""b",,true']),
    ("@tsv", ["a\tb", 1], ["a\\tb\t1"]),
    ("@json, @text", [1, "x"], ['[1,"x"]', '[1,"x"]']),
    ("@base64", "hi é", ["aGkgw6k="]),
    ("map(isnan)", [1, 2.5], [[False, False]]),
    (r'@csv "row: \(.)"', [1, "a"], ['row: 1,"a"']),
    ("[recurse]", [[1]], [[[[1]], [1], 1]]),
    (
        "[recurse(.children[]) | .name]",
        {"name": "a", "children": [{"name": "b", "children": []}]},
        [["a", "b"]],
    ),
    ("[recurse(if . < 3 then . + 1 else empty end)]", 0, [[0, 1, 2, 3]]),
    (
        "[.[] | numbers], [.[] | strings], [.[] | nulls], [.[] | booleans]",
        [1, "a", None, True, [], {}],
        [[1], ["a"], [None], [True]],
    ),
    (
        "[.[] | arrays], [.[] | objects], [.[] | iterables], [.[] | scalars]",
        [1, [], {}],
        [[[]], [{}], [[], {}], [1]],
    ),
]

CASES = PATHS + OPERATORS + BUILTINS


@pytest.mark.parametrize(("expr", "data", "expected"), CASES, ids=[c[0] for c in CASES])
def test_jq_matches_jq(cm: CodeMode, expr: str, data: Any, expected: list[Any]) -> None:
    assert outputs(cm, expr, data) == expected


@pytest.mark.parametrize(
    ("program", "expected"),
    [
        ("jq('.[]', [1])", 1),
        ("jq('.[]', [])", None),
        ("jq('.[]', [1, 2])", [1, 2]),
        ("jq('.a', {'a': [1]})", [1]),
        ("jq('.[]', [1], all=True)", [1]),
        ("jq('empty', 1, all=True)", []),
        ("jq('.', None)", None),
        ("[jq('.x', d) for d in [{'x': 1}, {'x': 2}]]", [1, 2]),
    ],
)
def test_one_none_or_many(cm: CodeMode, program: str, expected: Any) -> None:
    r = cm.execute(program)
    assert r.ok, r.error
    assert r.result == expected


def test_data_from_a_tool(cm: CodeMode) -> None:
    def rows() -> list[dict[str, Any]]:
        return [{"id": i, "tags": ["a"] if i % 2 else []} for i in range(4)]

    cm.add_function(rows, namespace="t")
    r = cm.execute('jq("[.[] | select(.tags | length > 0) | .id]", t.rows())')
    assert r.ok, r.error
    assert r.result == [1, 3]


def failure(cm: CodeMode, program: str) -> ExecutionResult:
    r = cm.execute(program)
    assert r.ok is False, program
    assert r.error is not None
    return r


@pytest.mark.parametrize(
    ("expr", "data", "message"),
    [
        (".a | )", None, "jq: unexpected ')' at column 6 in '.a | )'"),
        ("[1", None, "jq: unexpected end of expression"),
        ('"abc', None, "jq: unterminated string"),
        ("1 < 2 < 3", None, "jq: unexpected '<'"),
        ("foo", None, "jq: unknown function 'foo/0'"),
        ("map", None, "jq: unknown function 'map/0' (there is map/1)"),
        ("$x", None, "jq: $x is not defined"),
        (".a = 1", None, "jq: assignment operators are not supported"),
        ("def f: 1; f", None, "jq: 'def' is not supported"),
        (".foo", 5, 'jq: cannot index number with "foo"'),
        (".[0]", {"a": 1}, "jq: cannot index object with number"),
        (".[]", "abc", "jq: cannot iterate over string"),
        ("{} + 1", None, "jq: object ({}) and number (1) cannot be added"),
        (".a / .b", {"a": 1, "b": 0}, "jq: number (1) and number (0) cannot be divided"),
        ("length", True, "jq: boolean (true) has no length"),
        ("keys", 1, "jq: number (1) has no keys"),
        ('error("boom")', None, "jq: error: boom"),
        ("error({a: 1})", None, 'jq: error: {"a":1} (not a string)'),
        (
            '(try (1, 2) catch "c") | if . == 2 then error("down") else . end',
            None,
            "jq: error: down",
        ),
        ('test("(")', "a", "jq: ( is not a valid regex"),
        ('test("a"; "q")', "a", "jq: q is not a valid modifier string"),
        ("fromjson", "{bad", "jq: "),
        ("input", None, "jq: input and inputs are not supported"),
        ('"x" | test(1)', None, "jq: number (1) cannot be matched"),
    ],
)
def test_errors(cm: CodeMode, expr: str, data: Any, message: str) -> None:
    r = failure(cm, f"jq({expr!r}, {data!r})")
    assert r.error.type == "ValueError"
    assert r.error.message.startswith(message), r.error.message


def test_error_is_catchable_in_the_program(cm: CodeMode) -> None:
    program = "try:\n    jq('.a', 1)\nexcept ValueError as e:\n    out = str(e)\nout"
    r = cm.execute(program)
    assert r.ok, r.error
    assert r.result == 'jq: cannot index number with "a"'


def test_expression_must_be_a_string(cm: CodeMode) -> None:
    r = failure(cm, "jq(1, 2)")
    assert r.error.type == "TypeError"


NESTED = "x = []\nfor _ in range(5000):\n    x = [x]\n"

HOSTILE = [
    pytest.param(NESTED + "jq('..', x)", id="deep-data-recurse"),
    pytest.param(NESTED + "jq('tojson', x)", id="deep-data-tojson"),
    pytest.param(NESTED + "jq('flatten', x)", id="deep-data-flatten"),
    pytest.param(NESTED + "jq('[.] | sort', x)", id="deep-data-sort"),
    pytest.param(NESTED + "jq('. == .', x)", id="deep-data-equal"),
    pytest.param(NESTED + "jq('contains(.)', x)", id="deep-data-contains"),
    pytest.param(NESTED + "jq('[paths]', x)", id="deep-data-paths"),
    pytest.param("jq('[' * 5000 + ']' * 5000, 1)", id="deep-brackets"),
    pytest.param("jq('(' * 5000 + '.' + ')' * 5000, 1)", id="deep-parens"),
    pytest.param("jq('-' * 5000 + '1', 1)", id="deep-negation"),
    pytest.param("jq('\"\\\\(' * 300 + '1' + ')\"' * 300, 1)", id="deep-interpolation"),
    pytest.param("jq('. as $x | ' * 200 + '.', 1)", id="deep-bindings"),
    pytest.param("jq('.a | ' * 20000 + '.', {})", id="100kb-expression"),
    pytest.param("jq('range(100000000)', None)", id="huge-range"),
    pytest.param("jq('[.[]]' + ' | [.[], .[]]' * 40, [1, 2, 3])", id="exponential"),
    pytest.param("jq('[range(1000)] | .[] as $a | .[] as $b | .[] as $c | empty', 1)", id="cubic"),
    pytest.param("jq('[recurse(. + 1)]', 0)", id="endless-recurse"),
    pytest.param("jq('[range(1000)]' + ' | . + .' * 20, 1)", id="array-doubling"),
    pytest.param("jq('\"x\" * 100000' + ' | . + .' * 20, 1)", id="string-doubling"),
    pytest.param("jq('\"x\" * 100000 | . * 1000000', 1)", id="string-repeat"),
    pytest.param("jq('test(\"(a*)*\\\\\\\\1b\")', 'a' * 30 + '!')", id="regex-test"),
    pytest.param(
        "jq('match(\"^(\\\\\\\\w+\\\\\\\\s?)*$(?<=x)\")', 'a' * 30 + '!')", id="regex-match"
    ),
    pytest.param(
        "jq('try test(\"(a*)*\\\\\\\\1b\") catch 0', 'a' * 30 + '!')", id="regex-uncatchable"
    ),
]


@pytest.mark.parametrize("program", HOSTILE)
def test_hostile_input_fails_fast_and_cleanly(cm: CodeMode, program: str) -> None:
    started = time.perf_counter()
    r = failure(cm, program)
    assert time.perf_counter() - started < TIMEOUT
    assert r.error.type == "ValueError", r.error
    assert "jq:" in r.error.message
    assert cm.execute("1 + 1").result == 2
