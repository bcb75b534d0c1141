"""The `text` global and `grep`, run in the sandbox and checked against CPython.

Expected values are computed in CPython from the same inputs where a stdlib equivalent
exists (`re`, `str.split`, `difflib.unified_diff`, a reference chunker below); the rest are
written out by hand. `text.diff` is defined as CPython's
``"\\n".join(difflib.unified_diff(a.splitlines(), b.splitlines(), a_name, b_name,
n=context, lineterm=""))``: no newline at the end, "" for equal texts.
"""

from __future__ import annotations

import difflib
import json
import random
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from codemode import CodeMode, Limits

TIMEOUT = 5


@pytest.fixture(scope="module")
def box() -> Iterator[CodeMode]:
    with CodeMode(limits=Limits(timeout=TIMEOUT)) as instance:
        yield instance


def run(box: CodeMode, code: str) -> Any:
    result = box.execute(code)
    assert result.ok, result.error
    return result.result


# ---- grep ----------------------------------------------------------------------------

LOG = "INFO start\nERROR disk full\nwarn: a.b\nerror retry\nINFO done\nab"


def ref_grep(pattern: str, text: str, *, ignore_case: bool, invert: bool, fixed: bool) -> list[str]:
    flags = re.IGNORECASE if ignore_case else 0
    needle = re.escape(pattern) if fixed else pattern
    return [line for line in text.splitlines() if bool(re.search(needle, line, flags)) != invert]


@pytest.mark.parametrize("pattern", ["error", "^INFO", r"a\.b", ".", "a.b", "x|full"])
@pytest.mark.parametrize("ignore_case", [False, True])
@pytest.mark.parametrize("invert", [False, True])
@pytest.mark.parametrize("fixed", [False, True])
def test_grep_matches_cpython_re(
    box: CodeMode, pattern: str, ignore_case: bool, invert: bool, fixed: bool
) -> None:
    code = f"grep({pattern!r}, {LOG!r}, ignore_case={ignore_case}, invert={invert}, fixed={fixed})"
    expected = ref_grep(pattern, LOG, ignore_case=ignore_case, invert=invert, fixed=fixed)
    assert run(box, code) == expected


def test_grep_line_numbers_and_max_matches(box: CodeMode) -> None:
    assert run(box, f"grep('INFO', {LOG!r}, line_numbers=True)") == [
        {"line": 1, "text": "INFO start"},
        {"line": 5, "text": "INFO done"},
    ]
    assert run(box, f"grep('o', {LOG!r}, max_matches=2)") == ["error retry", "INFO done"]
    assert run(box, f"grep('o', {LOG!r}, max_matches=1, invert=True)") == ["INFO start"]


def test_grep_context(box: CodeMode) -> None:
    assert run(box, f"grep('(?i)error', {LOG!r}, context=1)") == [
        {"line": 2, "text": "ERROR disk full", "before": ["INFO start"], "after": ["warn: a.b"]},
        {"line": 4, "text": "error retry", "before": ["warn: a.b"], "after": ["INFO done"]},
    ]
    # Context stops at the edges of the text.
    assert run(box, "grep('a', 'a\\nb\\nc', context=5)") == [
        {"line": 1, "text": "a", "before": [], "after": ["b", "c"]}
    ]


ITEMS: list[Any] = [
    {"level": "error", "msg": "disk full"},
    {"level": "info", "msg": "café ouvert"},
    "error: plain string",
    42,
    [1, "error"],
    None,
]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("error", [ITEMS[0], ITEMS[2], ITEMS[4]]),
        ('"level": "info"', [ITEMS[1]]),  # dicts are searched as JSON
        ("café", [ITEMS[1]]),  # ... without \\u escapes
        ("^42$", [ITEMS[3]]),
        ("None", [None]),
        ("nothing", []),
    ],
)
def test_grep_list_items_returns_originals(
    box: CodeMode, pattern: str, expected: list[Any]
) -> None:
    assert run(box, f"grep({pattern!r}, {ITEMS!r})") == expected


def test_grep_items_with_context_and_tuples(box: CodeMode) -> None:
    assert run(box, f"grep('disk', {ITEMS!r}, context=1)") == [
        {"line": 1, "text": ITEMS[0], "before": [], "after": [ITEMS[1]]}
    ]
    assert run(box, "grep('b', ('a', 'b', 'bc'))") == ["b", "bc"]


def test_grep_is_text_grep_and_compiles_once(box: CodeMode) -> None:
    assert run(box, "grep is text.grep") is True
    # 50,000 lines with one compiled pattern: well inside the time limit.
    expected = [str(i) for i in range(50000) if re.search(r"\d{3}7$", str(i))]
    assert run(box, "grep(r'\\d{3}7$', [str(i) for i in range(50000)])") == expected


def test_grep_unconvertible_items_fall_back_to_str(box: CodeMode) -> None:
    code = "grep('1', [{'s': {1, 2}}, {'ok': 3}])"  # a set is not JSON-able
    assert run(box, code) == [{"s": [1, 2]}]


# ---- split / lines / word_count -------------------------------------------------------

SAMPLE = "  First line. Second one!\n\n  Third? yes\n   \nlast, words\tand\r\nmore  "


@pytest.mark.parametrize(
    ("by", "expected"),
    [
        ("lines", [p.strip() for p in SAMPLE.splitlines() if p.strip()]),
        ("words", SAMPLE.split()),
        (",", [p.strip() for p in SAMPLE.split(",") if p.strip()]),
        ("e", [p.strip() for p in SAMPLE.split("e") if p.strip()]),
        ("paragraphs", ["First line. Second one!", "Third? yes", "last, words\tand\r\nmore"]),
        (
            "sentences",
            ["First line.", "Second one!", "Third?", "yes\n   \nlast, words\tand\r\nmore"],
        ),
    ],
)
def test_split(box: CodeMode, by: str, expected: list[str]) -> None:
    assert run(box, f"text.split({SAMPLE!r}, {by!r})") == expected


@pytest.mark.parametrize(
    ("s", "expected"),
    [
        (
            'He said "Stop." Then left... Really?! 3.5 stays',
            ['He said "Stop."', "Then left...", "Really?!", "3.5 stays"],
        ),
        ("(See note.) Done.", ["(See note.)", "Done."]),
        ("no end", ["no end"]),
        ("", []),
    ],
)
def test_split_sentences(box: CodeMode, s: str, expected: list[str]) -> None:
    assert run(box, f"text.split({s!r}, 'sentences')") == expected


def test_split_paragraphs_crlf_and_default(box: CodeMode) -> None:
    assert run(box, "text.split('a\\r\\n\\r\\nb\\n\\n\\n\\nc')") == ["a", "b", "c"]
    assert run(box, "text.split('a\\r\\n\\r\\nb\\n \\t\\nc', 'paragraphs')") == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("s", "expected"),
    [
        ("a\nb\n\n\n", ["a", "b"]),
        ("a\r\n\r\nb", ["a", "", "b"]),
        ("", []),
        ("\n\n", []),
        ("x", ["x"]),
    ],
)
def test_lines(box: CodeMode, s: str, expected: list[str]) -> None:
    assert run(box, f"text.lines({s!r})") == expected


@pytest.mark.parametrize("s", ["", "one", "  a  b\tc\nd  ", "é ü\u00a0x", "word " * 1000, "\n\n\t"])
def test_word_count(box: CodeMode, s: str) -> None:
    assert run(box, f"text.word_count({s!r})") == len(s.split())


@pytest.mark.parametrize(
    "build",
    [
        "'abcdefg ' * 200_000",  # words cut by the 1024-character blocks
        "('x' * 3000 + ' ' * 3000) * 200",  # words and whitespace runs longer than a block
        "'é' * 1_500_000",  # one huge non-ASCII word
        "(' ' * 1023 + 'ab') * 1000",
    ],
)
def test_word_count_large(box: CodeMode, build: str) -> None:
    s = eval(build)  # the same expression in CPython gives the expected count
    assert run(box, f"text.word_count({build})") == len(s.split())


# ---- chunk -----------------------------------------------------------------------------


def ref_chunk(s: str, size: int, overlap: int) -> list[str]:
    """The documented rule, written directly on indexes."""
    out: list[str] = []
    pos = 0
    while pos < len(s):
        end = pos + size
        if end >= len(s):
            out.append(s[pos:])
            break
        low = pos + max(size // 2, overlap + 1)
        cut = end
        for sep in ("\n\n", "\n", " "):
            i = s.rfind(sep, low, end)
            if i >= 0:
                cut = i + len(sep)
                break
        out.append(s[pos:cut])
        pos = cut - overlap
    return out


def random_text(seed: int, n: int) -> str:
    rng = random.Random(seed)
    pieces = [
        "word",
        "é",
        "ünïcode",
        " ",
        " ",
        " ",
        "\n",
        "\n\n",
        "longerwordwithoutspaces" * 3,
        ".",
    ]
    out: list[str] = []
    while sum(map(len, out)) < n:
        out.append(rng.choice(pieces))
    return "".join(out)


@pytest.mark.parametrize(
    ("seed", "length", "size", "overlap"),
    [
        (1, 300, 50, 0),
        (2, 300, 50, 10),
        (3, 5000, 200, 0),  # longer than one internal block
        (4, 5000, 700, 100),
        (5, 5000, 2000, 0),
        (6, 600, 300, 299),  # overlap just below size: one new character per chunk
        (7, 40, 7, 3),
        (8, 4000, 1, 0),
    ],
)
def test_chunk_matches_reference(
    box: CodeMode, seed: int, length: int, size: int, overlap: int
) -> None:
    s = random_text(seed, length)
    got = run(box, f"text.chunk({s!r}, {size}, {overlap})")
    assert got == ref_chunk(s, size, overlap)
    assert all(len(c) <= size for c in got)
    if overlap == 0:
        assert "".join(got) == s


def test_chunk_prefers_paragraphs_then_lines_then_spaces(box: CodeMode) -> None:
    s = "aaaa aaaa\nbbbb\n\ncccc dddd eeee"
    assert run(box, f"text.chunk({s!r}, 18)") == ["aaaa aaaa\nbbbb\n\n", "cccc dddd eeee"]
    # Only the second half of the window is searched: "\n\n" at 4 of 12 is too early.
    assert run(box, f"text.chunk({s!r}, 12)") == ["aaaa aaaa\n", "bbbb\n\ncccc ", "dddd eeee"]
    assert run(box, f"text.chunk({s!r}, 12, 2)") == ref_chunk(s, 12, 2)
    assert run(box, "text.chunk('abcdefghij', 4)") == ["abcd", "efgh", "ij"]
    assert run(box, "text.chunk('abcdefghij', 4, 1)") == ["abcd", "defg", "ghij"]


def test_chunk_lists_and_edges(box: CodeMode) -> None:
    assert run(box, "text.chunk(['one', 'two', 'three'], 8)") == ["one\ntwo\n", "three"]
    assert run(box, "text.chunk(('one', 'two', 'three'), 7)") == ["one\n", "two\n", "three"]
    assert run(box, "text.chunk('')") == []
    assert run(box, "text.chunk('short')") == ["short"]


# ---- truncate -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("s", "limit", "options", "expected"),
    [
        ("abcdefghij", 5, "", "abcd…"),
        ("abcdefghij", 5, "where='middle'", "ab…ij"),
        ("abcdefghij", 6, "where='middle'", "abc…ij"),
        ("abcdefghij", 5, "where='start'", "…ghij"),
        ("abcdefghij", 10, "", "abcdefghij"),
        ("abcdefghij", 6, "marker='...'", "abc..."),
        ("abcdefghij", 3, "marker='...', where='start'", "..."),
        ("abcdefghij", 1, "", "…"),
        ("abcdefghij", 4, "marker=''", "abcd"),
        ("", 0, "", ""),
        ("x" * 500, 200, "", "x" * 199 + "…"),
    ],
)
def test_truncate(box: CodeMode, s: str, limit: int, options: str, expected: str) -> None:
    got = run(box, f"text.truncate({s!r}, {limit}, {options})")
    assert got == expected
    assert len(got) <= limit


def test_truncate_default_limit(box: CodeMode) -> None:
    assert run(box, "text.truncate('y' * 500)") == "y" * 199 + "…"


# ---- diff -------------------------------------------------------------------------------

OLD = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj"
NEW = "a\nB\nc\nd\ne\nf\ng\nh\ni\nj\nk"


@pytest.mark.parametrize(
    ("a", "b", "context", "names"),
    [
        (OLD, NEW, 3, ("a", "b")),
        (OLD, NEW, 0, ("a", "b")),
        (OLD, NEW, 1, ("old.txt", "new.txt")),
        (OLD, OLD, 3, ("a", "b")),
        ("", "x\ny", 3, ("a", "b")),
        ("x\ny", "", 3, ("a", "b")),
        ("same\n", "same", 3, ("a", "b")),  # splitlines ignores a final newline
    ],
)
def test_diff_matches_cpython(
    box: CodeMode, a: str, b: str, context: int, names: tuple[str, str]
) -> None:
    expected = "\n".join(
        difflib.unified_diff(
            a.splitlines(), b.splitlines(), names[0], names[1], n=context, lineterm=""
        )
    )
    code = f"text.diff({a!r}, {b!r}, context={context}, a_name={names[0]!r}, b_name={names[1]!r})"
    assert run(box, code) == expected


def test_diff_of_line_lists(box: CodeMode) -> None:
    got = run(box, "text.diff(['x\\n', 'y\\n'], ['x', 'z'])")
    assert got == "--- a\n+++ b\n@@ -1,2 +1,2 @@\n x\n-y\n+z"
    assert run(box, "text.diff('same', ['same'])") == ""


# ---- bad arguments and hostile input ----------------------------------------------------

BAD_ARGUMENTS = [
    ("grep(1, 'a')", "TypeError", "grep: pattern"),
    ("grep('a', 5)", "TypeError", "grep:"),
    ("grep('a', None)", "TypeError", "grep:"),
    ("grep('(', 'a')", "ValueError", "grep: invalid pattern"),
    ("grep('a', 'a', context=-1)", "ValueError", "grep: context"),
    ("grep('a', 'a', context='2')", "TypeError", "grep: context"),
    ("grep('a', 'a', max_matches=0)", "ValueError", "grep: max_matches"),
    ("text.split(5)", "TypeError", "text.split"),
    ("text.split('a', '')", "ValueError", "text.split"),
    ("text.split('a', None)", "TypeError", "text.split"),
    ("text.chunk(5)", "TypeError", "text.chunk"),
    ("text.chunk(['a', 1])", "TypeError", "text.chunk"),
    ("text.chunk('abc', 0)", "ValueError", "text.chunk: size"),
    ("text.chunk('abc', 2.5)", "TypeError", "text.chunk: size"),
    ("text.chunk('abc', 10, 10)", "ValueError", "text.chunk: overlap"),
    ("text.chunk('abc', 10, -1)", "ValueError", "text.chunk: overlap"),
    ("text.truncate(None)", "TypeError", "text.truncate"),
    ("text.truncate('abc', -1)", "ValueError", "text.truncate: limit"),
    ("text.truncate('abc', 2, where='left')", "ValueError", "text.truncate: where"),
    ("text.truncate('abc', 0)", "ValueError", "text.truncate: limit"),
    ("text.word_count(['a'])", "TypeError", "text.word_count"),
    ("text.diff('a', 5)", "TypeError", "text.diff"),
    ("text.diff(['a', 1], 'a')", "TypeError", "text.diff"),
    ("text.diff('a', 'b', context=-1)", "ValueError", "text.diff: context"),
    ("text.lines(b'a')", "TypeError", "text.lines"),
]

HOSTILE = [
    # Backreferences force the backtracking engine, which gives up: a clear error.
    ("grep(r'(a|aa)+\\1$', ['a' * 5000 + 'b'])", "ValueError", "catastrophic backtracking"),
    ("grep(r'(\\w+)+\\1x', 'ab' * 20000)", "ValueError", "catastrophic backtracking"),
    (
        'csv.parse("a,b\\n1,\\"" + "x" * 1_000_000 + "\\"\\n")',
        "ValueError",
        "csv.parse: a field on line 2",
    ),
]

# Large but legal: must finish with the right answer (the classic catastrophic patterns
# run on the sandbox's linear engine).
LARGE = [
    ("grep(r'(a+)+$', ['a' * 5000 + 'b'])", []),
    ("grep(r'(x+x+)+y', ['x' * 100_000, 'x' * 5000 + 'y'])", ["x" * 5000 + "y"]),
    ("len(grep(r'(x+x+)+y', 'x' * 10_000_000))", 0),
    ("[len(m) for m in grep('x$', 'x' * 10_000_000)]", [10_000_000]),
    ("len(text.chunk('x' * 10_000_000))", 5000),
    ("len(text.chunk('é' * 5_000_000, 3000, 500))", 2000),
    (
        "len(text.chunk('word ' * 2_000_000, 1000, 100))",
        len(ref_chunk("word " * 2_000_000, 1000, 100)),
    ),
    ("text.chunk('ab\\n' * 3_000_000, 2000)[-1]", ref_chunk("ab\n" * 3_000_000, 2000, 0)[-1]),
    ("text.split('x' * 10_000_000, 'sentences')[0][-3:]", "xxx"),
    ("len(text.split('x' * 10_000_000, 'paragraphs')[0])", 10_000_000),
    ("len(text.split('x' * 10_000_000, 'y'))", 1),
    ("text.word_count('x ' * 5_000_000)", 5_000_000),
    ("len(text.truncate('é' * 10_000_000, 100, where='middle'))", 100),
]


def check_failure(box: CodeMode, code: str, error_type: str, fragment: str) -> None:
    started = time.perf_counter()
    result = box.execute(code)
    assert time.perf_counter() - started < TIMEOUT
    assert result.ok is False
    assert result.error is not None
    assert result.error.type == error_type, result.error
    assert fragment in result.error.message
    assert box.execute("1 + 1").result == 2


@pytest.mark.parametrize(("code", "error_type", "fragment"), BAD_ARGUMENTS + HOSTILE)
def test_errors_are_clear_and_quick(
    box: CodeMode, code: str, error_type: str, fragment: str
) -> None:
    check_failure(box, code, error_type, fragment)


@pytest.mark.parametrize(("code", "expected"), LARGE)
def test_large_inputs_finish(box: CodeMode, code: str, expected: Any) -> None:
    started = time.perf_counter()
    assert run(box, code) == expected
    assert time.perf_counter() - started < TIMEOUT
    assert box.execute("1 + 1").result == 2


def test_grep_deeply_nested_item(box: CodeMode) -> None:
    # json.dumps gives up on 5,000 levels in the sandbox; grep falls back to str().
    code = (
        "x = {'msg': 'needle'}\n"
        "for i in range(5000):\n"
        "    x = {'k': [x]}\n"
        "[type(item).__name__ for item in grep('k', [x, 'plain', {'k': 1}])]"
    )
    assert run(box, code) == ["dict", "dict"]
    assert box.execute("1 + 1").result == 2


# ---- globals ---------------------------------------------------------------------------


def test_session_variables_named_text_or_grep_are_kept(box: CodeMode) -> None:
    assert run(box, "text = 'mine'\ngrep = 3") is None
    box.execute("text = 'mine'", session="text-session")
    assert box.execute("text", session="text-session").result == "mine"
    box.execute("grep = 'g'", session="text-session")
    assert box.execute("[grep, text]", session="text-session").result == ["g", "mine"]
    # A fresh session still gets the helpers.
    assert box.execute("text.word_count('a b')", session="other").result == 2


def test_results_are_json_like(box: CodeMode) -> None:
    got = run(box, f"grep('disk', {ITEMS!r}, line_numbers=True)")
    assert json.loads(json.dumps(got)) == [{"line": 1, "text": ITEMS[0]}]
