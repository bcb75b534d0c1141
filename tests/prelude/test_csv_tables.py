"""The table helpers on `csv` (parse, filter, select, sort, group, aggregate, to_csv),
run in the sandbox.

Expected values come from CPython where it has an equivalent (`csv.DictReader`,
`statistics`, comprehensions over the same rows) and are written out by hand otherwise.
Large CSV text reaches the program through a tool (`t.data(name)`).
"""

from __future__ import annotations

import csv
import io
import random
import statistics
import time
from collections.abc import Iterator
from typing import Any

import pytest

from codemode import CodeMode, Limits

TIMEOUT = 5


def random_rows(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    names = ["ann", "bob, jr", 'say "hi"', "multi\nline", "é ü", " padded "]
    return [
        {
            "id": i,
            "name": rng.choice(names),
            "score": rng.randint(-1000, 1000),
            "flag": rng.choice([True, False]),
            "price": round(rng.uniform(-100, 100), 3),
            "note": rng.choice(["", "x", "y z"]),
        }
        for i in range(n)
    ]


def csv_text(rows: list[dict[str, Any]], **options: Any) -> str:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n", **options)
    w.writeheader()
    w.writerows(rows)
    return out.getvalue()


RANDOM_ROWS = random_rows(300, seed=7)
DATA = {
    "random": csv_text(RANDOM_ROWS),
    "random_semicolon": csv_text(RANDOM_ROWS, delimiter=";"),
    "big": csv_text(random_rows(20_000, seed=1)),
}


def data(name: str) -> str:
    """Test CSV text by name."""
    return DATA[name]


@pytest.fixture(scope="module")
def box() -> Iterator[CodeMode]:
    with CodeMode(limits=Limits(timeout=TIMEOUT)) as instance:
        instance.add_function(data, namespace="t")
        yield instance


def run(box: CodeMode, code: str) -> Any:
    result = box.execute(code)
    assert result.ok, result.error
    return result.result


# ---- parse -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "options", "expected"),
    [
        (
            "a,b,c,d\n1,2.5,true,x\n-3,,FALSE,\n+4,1e3,True,y",
            "",
            [
                {"a": 1, "b": 2.5, "c": True, "d": "x"},
                {"a": -3, "b": None, "c": False, "d": ""},
                {"a": 4, "b": 1000.0, "c": True, "d": "y"},
            ],
        ),
        # One non-number anywhere keeps the whole column str, even in the last row.
        ("n\n1\n2\n3\nthree", "", [{"n": "1"}, {"n": "2"}, {"n": "3"}, {"n": "three"}]),
        ("n\n1\n2.0\n", "", [{"n": 1.0}, {"n": 2.0}]),  # ints and floats -> float
        ("n\n1\ntrue", "", [{"n": "1"}, {"n": "true"}]),
        ("n,m\n,\n,", "", [{"n": "", "m": ""}, {"n": "", "m": ""}]),  # no evidence of a type
        ("zip\n02134\n10001", "", [{"zip": "02134"}, {"zip": "10001"}]),  # leading zeros kept
        ("a,b\n 1 , 2.5 \n3,  -4", "", [{"a": 1, "b": 2.5}, {"a": 3, "b": -4.0}]),
        ("a, b \n1,2", "", [{"a": 1, "b": 2}]),  # header names are stripped
        ("a,b\n1,x", "types=False", [{"a": "1", "b": "x"}]),
        (
            "1;2\n3;4",
            "header=False, delimiter=';'",
            [{"col1": 1, "col2": 2}, {"col1": 3, "col2": 4}],
        ),
        ("1,2\n3", "header=False", [{"col1": 1, "col2": 2}, {"col1": 3, "col2": None}]),
        ("1,2\n3,4", "header=False, columns=['x', 'y']", [{"x": 1, "y": 2}, {"x": 3, "y": 4}]),
        ("a,b\n1,2", "columns=['x', 'y']", [{"x": 1, "y": 2}]),  # replaces the header
        ("a\tb\n1\tq r", "delimiter='\\t'", [{"a": 1, "b": "q r"}]),
        (
            "a,b\n1,2,3,4\n5\n\n6,7",
            "",
            [{"a": 1, "b": 2, "_extra": ["3", "4"]}, {"a": 5, "b": None}, {"a": 6, "b": 7}],
        ),
        ("a,b\n1\nx,y", "types=False", [{"a": "1", "b": None}, {"a": "x", "b": "y"}]),
        ('a,b\n"1\n2",3\n4,5', "", [{"a": "1\n2", "b": 3}, {"a": "4", "b": 5}]),
        ('a,b\n"x, ""q""",1', "", [{"a": 'x, "q"', "b": 1}]),
        ("a,,a\n1,2,3", "", [{"a": 1, "col2": 2, "a_2": 3}]),
        ("a,b\r\n1,2\r\n", "", [{"a": 1, "b": 2}]),
        ("", "", []),
        ("a,b", "", []),
        ("\n\n", "", []),
    ],
)
def test_parse(box: CodeMode, text: str, options: str, expected: list[dict[str, Any]]) -> None:
    assert run(box, f"csv.parse({text!r}, {options})") == expected


def test_parse_list_of_lines(box: CodeMode) -> None:
    assert run(box, "csv.parse(['a,b', '1,2', 'x,3'])") == [
        {"a": "1", "b": 2},
        {"a": "x", "b": 3},
    ]


@pytest.mark.parametrize("name", ["random", "random_semicolon"])
def test_parse_untyped_matches_dictreader(box: CodeMode, name: str) -> None:
    delimiter = ";" if "semicolon" in name else ","
    expected = list(csv.DictReader(io.StringIO(DATA[name]), delimiter=delimiter))
    got = run(box, f"csv.parse(t.data(name={name!r}), types=False, delimiter={delimiter!r})")
    assert got == expected


def test_parse_typed_random_table(box: CodeMode) -> None:
    got = run(box, "csv.parse(t.data(name='random'))")
    assert got == RANDOM_ROWS  # ints, bools ("True"/"False"), floats; "" stays in str columns


def test_parse_speed(box: CodeMode) -> None:
    code = (
        "import time\n"
        "d = t.data(name='big')\n"
        "t0 = time.time()\n"
        "rows = csv.parse(d)\n"
        "[time.time() - t0, len(rows), rows[-1]]"
    )
    _, count, last = run(box, code)
    assert count == 20_000
    assert last == random_rows(20_000, seed=1)[-1]


@pytest.mark.slow
def test_parse_100k_rows_within_the_default_limits() -> None:
    """100,000 rows x 6 columns (~6 MB) with types, in the default sandbox memory (the
    speed is measured in bench/data_plane.py)."""
    text = csv_text(random_rows(100_000, seed=2))

    def big() -> str:
        """The CSV text."""
        return text

    with CodeMode() as instance:
        instance.add_function(big, namespace="t")
        code = (
            "import time\n"
            "d = t.big()\n"
            "t0 = time.time()\n"
            "rows = csv.parse(d)\n"
            "[time.time() - t0, len(rows)]"
        )
        _, count = run(instance, code)
    assert count == 100_000


def test_parse_max_field(box: CodeMode) -> None:
    assert run(box, "csv.parse('a\\n' + 'x' * 10, max_field=10)") == [{"a": "x" * 10}]
    result = box.execute("csv.parse('a,b\\n1,2\\n' + 'x' * 11 + ',3', max_field=10)")
    assert result.error is not None
    assert result.error.type == "ValueError"
    assert result.error.message.startswith("csv.parse: a field in row 3 is longer than 10")


# ---- filter / select / sort / group ---------------------------------------------------------

ROWS: list[dict[str, Any]] = [
    {"city": "NY", "year": 2024, "sales": 10, "rep": "ann"},
    {"city": "SF", "year": 2024, "sales": None, "rep": "bob"},
    {"city": "NY", "year": 2023, "sales": 5, "rep": "cy"},
    {"city": "LA", "year": 2024, "sales": 7.5, "rep": "ann"},
    {"city": "SF", "year": 2023, "sales": 3, "rep": None},
]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("city='NY'", [r for r in ROWS if r["city"] == "NY"]),
        ("city='NY', year=2023", [r for r in ROWS if r["city"] == "NY" and r["year"] == 2023]),
        ("lambda r: (r['sales'] or 0) > 4", [r for r in ROWS if (r["sales"] or 0) > 4]),
        ("where=lambda r: r['rep'] == 'ann', year=2024", [ROWS[0], ROWS[3]]),
        ("rep=None", [ROWS[4]]),
        ("city='Paris'", []),
        ("", ROWS),
    ],
)
def test_filter(box: CodeMode, args: str, expected: list[dict[str, Any]]) -> None:
    assert run(box, f"csv.filter({ROWS!r}, {args})") == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("'rep', 'city'", [{"rep": r["rep"], "city": r["city"]} for r in ROWS]),
        ("['sales']", [{"sales": r["sales"]} for r in ROWS]),
        ("'city', {'total': 'sales'}", [{"city": r["city"], "total": r["sales"]} for r in ROWS]),
        ("{'y': 'year', 'c': 'city'}", [{"y": r["year"], "c": r["city"]} for r in ROWS]),
    ],
)
def test_select(box: CodeMode, args: str, expected: list[dict[str, Any]]) -> None:
    assert run(box, f"csv.select({ROWS!r}, {args})") == expected


def test_select_missing_keys_become_none(box: CodeMode) -> None:
    assert run(box, "csv.select([{'a': 1}, {'b': 2}], 'b', 'a')") == [
        {"b": None, "a": 1},
        {"b": 2, "a": None},
    ]


def present_sorted(column: str, reverse: bool) -> list[dict[str, Any]]:
    present = [r for r in ROWS if r[column] is not None]
    missing = [r for r in ROWS if r[column] is None]
    return sorted(present, key=lambda r: r[column], reverse=reverse) + missing


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("'sales'", present_sorted("sales", reverse=False)),
        ("'sales', reverse=True", present_sorted("sales", reverse=True)),  # None still last
        ("'rep'", present_sorted("rep", reverse=False)),
        ("['city', 'year']", sorted(ROWS, key=lambda r: (r["city"], r["year"]))),
        (
            "['year', 'city'], reverse=True",
            sorted(ROWS, key=lambda r: (r["year"], r["city"]), reverse=True),
        ),
        ("lambda r: -r['year']", sorted(ROWS, key=lambda r: -r["year"])),
        ("('year',)", sorted(ROWS, key=lambda r: r["year"])),  # stable
    ],
)
def test_sort(box: CodeMode, args: str, expected: list[dict[str, Any]]) -> None:
    assert run(box, f"csv.sort({ROWS!r}, {args})") == expected


def test_sort_mixed_types(box: CodeMode) -> None:
    rows = [{"v": 3}, {"v": "b"}, {"v": None}, {"v": 1.5}, {"v": [1]}, {"v": "a"}, {"v": True}, {}]
    got = run(box, f"[r.get('v') for r in csv.sort({rows!r}, 'v')]")
    assert got == [True, 1.5, 3, "a", "b", [1], None, None]
    got = run(box, f"[r.get('v') for r in csv.sort({rows!r}, 'v', reverse=True)]")
    assert got == [[1], "b", "a", 3, 1.5, True, None, None]


def test_group(box: CodeMode) -> None:
    assert run(box, f"csv.group({ROWS!r}, 'city')") == {
        "NY": [ROWS[0], ROWS[2]],
        "SF": [ROWS[1], ROWS[4]],
        "LA": [ROWS[3]],
    }
    assert list(run(box, f"csv.group({ROWS!r}, 'city')")) == ["NY", "SF", "LA"]  # first seen
    assert list(run(box, f"csv.group({ROWS!r}, ['city', 'year'])")) == [
        "NY | 2024",
        "SF | 2024",
        "NY | 2023",
        "LA | 2024",
        "SF | 2023",
    ]
    assert run(box, f"csv.group({ROWS!r}, lambda r: r['year'] > 2023)") == {
        "True": [ROWS[0], ROWS[1], ROWS[3]],
        "False": [ROWS[2], ROWS[4]],
    }
    assert list(run(box, f"csv.group({ROWS!r}, lambda r: (r['rep'], r['year']))")) == [
        "ann | 2024",
        "bob | 2024",
        "cy | 2023",
        "None | 2023",
    ]


# ---- aggregate -----------------------------------------------------------------------------

SALES = [r["sales"] for r in ROWS if r["sales"] is not None]


def test_aggregate_without_by(box: CodeMode) -> None:
    code = (
        f"csv.aggregate({ROWS!r}, n=('*', 'count'), sold=('sales', 'count'), "
        "total=('sales', 'sum'), mean=('sales', 'mean'), avg=('sales', 'avg'), "
        "med=('sales', 'median'), lo=('sales', 'min'), hi=('sales', 'max'), "
        "first=('rep', 'first'), last=('rep', 'last'), reps=('rep', 'distinct'), "
        "all=('sales', 'list'), top_city=('city', 'max'))"
    )
    assert run(box, code) == {
        "n": len(ROWS),
        "sold": len(SALES),
        "total": sum(SALES),
        "mean": statistics.mean(SALES),
        "avg": statistics.mean(SALES),
        "med": statistics.median(SALES),
        "lo": min(SALES),
        "hi": max(SALES),
        "first": "ann",
        "last": "ann",  # None is skipped
        "reps": len({r["rep"] for r in ROWS if r["rep"] is not None}),
        "all": [r["sales"] for r in ROWS],
        "top_city": "SF",
    }


def test_aggregate_by(box: CodeMode) -> None:
    got = run(
        box,
        f"csv.aggregate({ROWS!r}, 'city', n=('*', 'count'), total=('sales', 'sum'), "
        "mean=('sales', 'mean'))",
    )
    expected = []
    for city in ["NY", "SF", "LA"]:
        members = [r for r in ROWS if r["city"] == city]
        values = [r["sales"] for r in members if r["sales"] is not None]
        expected.append(
            {"city": city, "n": len(members), "total": sum(values), "mean": statistics.mean(values)}
        )
    assert got == expected
    got = run(box, f"csv.aggregate({ROWS!r}, ['year', 'rep'], n=('*', 'count'))")
    assert got == [
        {"year": 2024, "rep": "ann", "n": 2},
        {"year": 2024, "rep": "bob", "n": 1},
        {"year": 2023, "rep": "cy", "n": 1},
        {"year": 2023, "rep": None, "n": 1},
    ]


def test_aggregate_empty_and_all_none(box: CodeMode) -> None:
    code = (
        "csv.aggregate([{'x': None}], s=('x', 'sum'), m=('x', 'mean'), lo=('x', 'min'), "
        "d=('x', 'distinct'), md=('x', 'median'))"
    )
    assert run(box, code) == {"s": 0, "m": None, "lo": None, "d": 0, "md": None}
    assert run(box, "csv.aggregate([], n=('*', 'count'))") == {"n": 0}
    assert run(box, "csv.aggregate([], 'a', n=('*', 'count'))") == []


def test_aggregate_median_even(box: CodeMode) -> None:
    values = [4, 1, 3, 2]
    rows = [{"v": v} for v in values]
    assert run(box, f"csv.aggregate({rows!r}, m=('v', 'median'))") == {
        "m": statistics.median(values)
    }


# ---- to_csv ----------------------------------------------------------------------------------


def cpython_view(rows: list[dict[str, Any]], columns: list[str]) -> list[dict[str, str]]:
    """What CPython's DictReader reads back from to_csv's text."""
    return [{c: "" if r.get(c) is None else str(r.get(c)) for c in columns} for r in rows]


def test_to_csv_round_trips_through_dictreader(box: CodeMode) -> None:
    text = run(box, f"csv.to_csv({RANDOM_ROWS!r})")
    columns = list(RANDOM_ROWS[0])
    assert list(csv.DictReader(io.StringIO(text))) == cpython_view(RANDOM_ROWS, columns)
    text = run(box, f"csv.to_csv({ROWS!r}, ['rep', 'sales'], delimiter=';')")
    back = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert back == cpython_view(ROWS, ["rep", "sales"])


def test_to_csv_format(box: CodeMode) -> None:
    rows = [{"a": 1, "b": None}, {"c": [1, "x,y"], "a": 'q"'}]
    assert run(box, f"csv.to_csv({rows!r})") == 'a,b,c\n1,,\n"q""",,"[1, ""x,y""]"\n'
    assert run(box, "csv.to_csv([])") == ""
    assert run(box, "csv.to_csv([], ['a', 'b'])") == "a,b\n"


def test_to_csv_then_parse_restores_types(box: CodeMode) -> None:
    assert run(box, f"csv.parse(csv.to_csv({RANDOM_ROWS!r}))") == RANDOM_ROWS


# ---- the csv module and the global ---------------------------------------------------------


def test_import_csv_is_native_plus_helpers(box: CodeMode) -> None:
    code = (
        "import csv\n"
        "import csv as c2\n"
        "from csv import DictReader, parse, QUOTE_ALL\n"
        "[list(csv.reader(['a,\"b,c\"'])), list(DictReader(['x,y', '1,2'])), "
        "parse('x\\n1'), QUOTE_ALL == csv.QUOTE_ALL, c2.to_csv([{'k': 1}])]"
    )
    assert run(box, code) == [[["a", "b,c"]], [{"x": "1", "y": "2"}], [{"x": 1}], True, "k\n1\n"]


def test_writer_and_errors_still_native(box: CodeMode) -> None:
    code = (
        "class S:\n"
        "    def __init__(self):\n"
        "        self.parts = []\n"
        "    def write(self, s):\n"
        "        self.parts.append(s)\n"
        "s = S()\n"
        "csv.writer(s).writerow(['a', 'b c'])\n"
        "''.join(s.parts)"
    )
    assert run(box, code) == "a,b c\r\n"
    code = (
        "try:\n"
        "    list(csv.reader(['x' * 200_000]))\n"
        "    caught = None\n"
        "except csv.Error as e:\n"
        "    caught = str(e)\n"
        "caught"
    )
    assert run(box, code) == "field larger than field limit (131072)"


def test_session_variable_named_csv_is_kept(box: CodeMode) -> None:
    box.execute("csv = 'mine'", session="csv-session")
    assert box.execute("csv", session="csv-session").result == "mine"
    assert box.execute("csv.parse('a\\n1')", session="fresh").result == [{"a": 1}]


# ---- bad arguments and hostile input --------------------------------------------------------

BAD_ARGUMENTS = [
    ("csv.parse(5)", "TypeError", "csv.parse: data"),
    ("csv.parse(['a', 1])", "TypeError", "csv.parse: line 1"),
    ("csv.parse('a', delimiter=',,')", "ValueError", "csv.parse: delimiter"),
    ("csv.parse('a', delimiter='')", "ValueError", "csv.parse: delimiter"),
    ("csv.parse('a', columns='ab')", "TypeError", "csv.parse: columns"),
    ("csv.parse('a', max_field=0)", "ValueError", "csv.parse: max_field"),
    ("csv.parse('a', max_field=10**6)", "ValueError", "csv.parse: max_field cannot exceed 131072"),
    ("csv.filter('rows')", "TypeError", "csv.filter: rows"),
    ("csv.filter([1, 2])", "TypeError", "csv.filter: row 0"),
    ("csv.filter([{'a': 1}], 'a > 0')", "TypeError", "csv.filter: where"),
    ("csv.filter([{'a': 1}], b=1)", "ValueError", "csv.filter: no column 'b' (columns: a)"),
    (
        "csv.select([{'a': 1, 'b': 2}], 'x')",
        "ValueError",
        "csv.select: no column 'x' (columns: a, b)",
    ),
    ("csv.select([{'a': 1}], 3)", "TypeError", "csv.select"),
    ("csv.select([{'a': 1}])", "ValueError", "csv.select"),
    ("csv.sort([{'a': 1}], 'z')", "ValueError", "csv.sort: no column 'z'"),
    ("csv.sort([{'a': 1}], 5)", "TypeError", "csv.sort: by"),
    ("csv.sort([{'a': 1}], [])", "TypeError", "csv.sort: by"),
    ("csv.group([{'a': 1}], 'z')", "ValueError", "csv.group: no column 'z'"),
    ("csv.group([{'a': 1}], 5)", "TypeError", "csv.group: by"),
    ("csv.group([{'a': 1}], lambda r: {})", "TypeError", "csv.group"),
    ("csv.aggregate([{'a': 1}])", "ValueError", "csv.aggregate: name at least one"),
    ("csv.aggregate([{'a': 1}], s=('a', 'total'))", "ValueError", "valid: count, sum, mean"),
    ("csv.aggregate([{'a': 1}], s='a')", "TypeError", "csv.aggregate: s must be a (column, fn)"),
    ("csv.aggregate([{'a': 1}], s=('b', 'sum'))", "ValueError", "csv.aggregate: no column 'b'"),
    ("csv.aggregate([{'a': 1}], s=('*', 'sum'))", "ValueError", "csv.aggregate: '*'"),
    (
        "csv.aggregate([{'a': 'x'}], s=('a', 'sum'))",
        "TypeError",
        "csv.aggregate: s=('a', 'sum') needs numbers",
    ),
    ("csv.aggregate([{'a': 1}], by=5, n=('*', 'count'))", "TypeError", "csv.aggregate: by"),
    ("csv.aggregate([{'a': 1}], 'a', a=('*', 'count'))", "ValueError", "csv.aggregate"),
    ("csv.to_csv({'a': 1})", "TypeError", "csv.to_csv: rows"),
    ("csv.to_csv([{'a': 1}], 'a')", "TypeError", "csv.to_csv: columns"),
    ("csv.to_csv([{'a': 1}], ['b'])", "ValueError", "csv.to_csv: no column 'b'"),
    ("csv.to_csv([{'a': 1}], delimiter='\\n')", "ValueError", "csv.to_csv: delimiter"),
]

HOSTILE = [
    (
        'csv.parse("a,b\\n1,\\"" + "x" * 1_000_000 + "\\"\\n")',
        "ValueError",
        "csv.parse: a field on line 2 is longer than 131072",
    ),
    ('csv.parse("a\\n" + "x" * 200_000)', "ValueError", "csv.parse: a field on line 2"),
    (
        'csv.parse("a,b\\n" * 1000 + "1,\\"" + "y" * 300_000)',
        "ValueError",
        "csv.parse: a field on line",
    ),
]


@pytest.mark.parametrize(("code", "error_type", "fragment"), BAD_ARGUMENTS + HOSTILE)
def test_errors_are_clear_and_quick(
    box: CodeMode, code: str, error_type: str, fragment: str
) -> None:
    started = time.perf_counter()
    result = box.execute(code)
    assert time.perf_counter() - started < TIMEOUT
    assert result.ok is False
    assert result.error is not None
    assert result.error.type == error_type, result.error
    assert fragment in result.error.message
    assert box.execute("1 + 1").result == 2


def test_large_single_line_parses(box: CodeMode) -> None:
    # 10 MB in 100 long lines, every field under the native limit: quick and correct.
    code = (
        "rows = csv.parse('a,b\\n' + ('x' * 100_000 + ',1\\n') * 100, types=True)\n"
        "[len(rows), rows[0]['b'], len(rows[-1]['a'])]"
    )
    assert run(box, code) == [100, 1, 100_000]
