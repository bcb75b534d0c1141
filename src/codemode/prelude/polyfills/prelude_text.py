"""Text helpers for programs: the `text` global, and `grep` (= `text.grep`).

    grep(pattern, text_or_lines, *, ignore_case=False, invert=False, fixed=False,
         line_numbers=False, context=0, max_matches=None)
    text.split(s, by="lines")        # "lines" | "paragraphs" | "sentences" | "words" | sep
    text.chunk(s, size=2000, overlap=0)
    text.truncate(s, limit=200, *, where="end", marker="…")
    text.word_count(s)
    text.diff(a, b, *, context=3, a_name="a", b_name="b")
    text.lines(s)

This source runs inside the sandbox (a Python subset: no generators, no decorators), and
its namespace already holds `difflib` (the difflib polyfill). The sandbox's `re` refuses
patterns that backtrack too much instead of hanging; `grep` turns that into a clear
ValueError. Every function validates its arguments and names itself in its errors.
"""

import json as _json
import re as _re

_SPLIT_MODES = ("lines", "paragraphs", "sentences", "words")
_WHERE = ("end", "middle", "start")
# A blank line: only whitespace between two newlines (runs of them collapse into one; a
# "\r" left before the break is removed when the pieces are stripped).
_PARAGRAPH_BREAK = _re.compile(r"\n[ \t\r\f\v]*\n\s*")
# Sentence end: . ! ? (repeated), closing quotes/brackets, then whitespace.
_SENTENCE_END = _re.compile(r"([.!?]+[\"')\]]*)\s+")
# Long strings are cut into blocks of at most _BLOCK_SIZE characters first: the sandbox's
# str.find/rfind with bounds cost O(len(s)) and slicing a non-ASCII str costs O(position),
# so working on a big string directly would make chunk() quadratic.
_BLOCK_SIZE = 1024
_BLOCK = _re.compile("(?s).{1,%d}" % _BLOCK_SIZE)


def _type_name(value):
    return type(value).__name__


def _need_str(func, name, value):
    if not isinstance(value, str):
        raise TypeError(f"{func}: {name} must be a str, got {_type_name(value)}")


def _need_int(func, name, value, low):
    # bool is an int subclass; True as a size is always a mistake.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{func}: {name} must be an int, got {_type_name(value)}")
    if value < low:
        raise ValueError(f"{func}: {name} must be >= {low}, got {value}")


def _text_of(func, value):
    """A str, or a list/tuple of str lines joined with newlines."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        for i, line in enumerate(value):
            if not isinstance(line, str):
                raise TypeError(f"{func}: line {i} of the list is {_type_name(line)}, not str")
        return "\n".join(value)
    raise TypeError(f"{func}: expected a str or a list of lines, got {_type_name(value)}")


def _item_text(index, item):
    """What grep searches for one list item: dicts and lists as JSON, others as str()."""
    if isinstance(item, str):
        return item
    if isinstance(item, (dict, list)):
        try:
            return _json.dumps(item, ensure_ascii=False)
        except (TypeError, ValueError, RecursionError):
            pass  # not JSON-able or too deeply nested: str() below still shows the data
    try:
        return str(item)
    except RecursionError:
        raise ValueError(f"grep: item {index} is nested too deeply to search") from None


def _compile(pattern, ignore_case, fixed):
    """A function line -> truthy when it matches (compiled once)."""
    if fixed:
        if ignore_case:
            needle = pattern.lower()
            return lambda line: needle in line.lower()
        return lambda line: pattern in line
    try:
        compiled = _re.compile(pattern, _re.IGNORECASE if ignore_case else 0)
    except Exception as e:
        raise ValueError(f"grep: invalid pattern {pattern!r}: {e}") from None
    return lambda line: compiled.search(line)


def _matching_indexes(pattern, match, strings, invert, max_matches):
    found = []
    try:
        for i, line in enumerate(strings):
            if (not match(line)) if invert else match(line):
                found.append(i)
                if max_matches is not None and len(found) >= max_matches:
                    break
    except Exception as e:
        # The sandbox's regex engine gives up on catastrophic backtracking.
        if "backtrack" in str(e):
            raise ValueError(
                f"grep: pattern {pattern!r} is too expensive to match "
                "(catastrophic backtracking); simplify it"
            ) from None
        raise
    return found


def grep(
    pattern,
    text_or_lines,
    *,
    ignore_case=False,
    invert=False,
    fixed=False,
    line_numbers=False,
    context=0,
    max_matches=None,
):
    """Lines of a text (or items of a list) that match a regular expression.

    A str is split into lines; list items that are not str are searched as text (dicts and
    lists as JSON) and returned unchanged. With `line_numbers=True` or `context > 0`,
    each match is a dict {"line": 1-based number, "text": line or item} plus "before"
    and "after" lists of up to `context` neighbours.
    """
    _need_str("grep", "pattern", pattern)
    _need_int("grep", "context", context, 0)
    if max_matches is not None:
        _need_int("grep", "max_matches", max_matches, 1)
    if isinstance(text_or_lines, str):
        items = text_or_lines.splitlines()
        strings = items
    elif isinstance(text_or_lines, (list, tuple)):
        items = text_or_lines
        strings = [_item_text(i, item) for i, item in enumerate(items)]
    else:
        raise TypeError(
            f"grep: expected a str or a list of lines/items, got {_type_name(text_or_lines)}"
        )
    match = _compile(pattern, ignore_case, fixed)
    found = _matching_indexes(pattern, match, strings, invert, max_matches)
    if not line_numbers and context == 0:
        return [items[i] for i in found]
    out = []
    for i in found:
        hit = {"line": i + 1, "text": items[i]}
        if context > 0:
            hit["before"] = list(items[max(0, i - context) : i])
            hit["after"] = list(items[i + 1 : i + 1 + context])
        out.append(hit)
    return out


def lines(s):
    """The lines of `s` (any line ending), without trailing empty lines."""
    _need_str("text.lines", "s", s)
    out = s.splitlines()
    while out and not out[-1].strip():
        out.pop()
    return out


def _sentences(s):
    # split() with a group keeps the punctuation: [text, end, text, end, ..., text].
    parts = _SENTENCE_END.split(s)
    out = [parts[i] + parts[i + 1] for i in range(0, len(parts) - 1, 2)]
    out.append(parts[-1])
    return out


def split(s, by="lines"):
    """Pieces of `s`, stripped, empty ones dropped.

    by: "lines", "paragraphs" (separated by blank lines), "sentences" (ending in . ! or ?
    before whitespace; the punctuation is kept), "words", or any other string, used as a
    literal separator.
    """
    _need_str("text.split", "s", s)
    _need_str("text.split", "by", by)
    if by == "lines":
        pieces = s.splitlines()
    elif by == "paragraphs":
        pieces = _PARAGRAPH_BREAK.split(s)
    elif by == "sentences":
        pieces = _sentences(s)
    elif by == "words":
        return s.split()
    elif by == "":
        raise ValueError(f"text.split: by must be one of {', '.join(_SPLIT_MODES)} or a separator")
    else:
        pieces = s.split(by)
    return [p.strip() for p in pieces if p.strip()]


def _blocks(s):
    return _BLOCK.findall(s) if len(s) > _BLOCK_SIZE else [s]


def _cut(buf, size, overlap):
    """Where the chunk at the start of `buf` ends: after the last paragraph break,
    newline or space in the second half of the window (past the overlap), else at size."""
    low = max(size // 2, overlap + 1)
    for sep in ("\n\n", "\n", " "):
        i = buf.rfind(sep, low, size)
        if i >= 0:
            return i + len(sep)
    return size


def chunk(s, size=2000, overlap=0):
    """Pieces of at most `size` characters, preferably ending at a paragraph break, else a
    newline, else a space. Consecutive chunks share `overlap` characters; with
    overlap=0, "".join(chunks) == s. A list of lines is joined with newlines first."""
    s = _text_of("text.chunk", s)
    _need_int("text.chunk", "size", size, 1)
    _need_int("text.chunk", "overlap", overlap, 0)
    if overlap >= size:
        raise ValueError(f"text.chunk: overlap ({overlap}) must be smaller than size ({size})")
    blocks = _blocks(s)
    out = []
    buf = ""
    nxt = 0
    while True:
        # Refill a small buffer from the blocks: every operation below costs O(size).
        more = []
        have = len(buf)
        while have <= size and nxt < len(blocks):
            more.append(blocks[nxt])
            have += len(blocks[nxt])
            nxt += 1
        if more:
            buf = buf + "".join(more)
        if len(buf) <= size:
            if buf:
                out.append(buf)
            return out
        cut = _cut(buf, size, overlap)
        out.append(buf[:cut])
        buf = buf[cut - overlap :]  # _cut keeps cut > overlap, so this always advances


def truncate(s, limit=200, *, where="end", marker="…"):
    """`s` shortened to at most `limit` characters, the marker included; where = "end"
    (keep the start), "start" (keep the end) or "middle" (keep both ends)."""
    _need_str("text.truncate", "s", s)
    _need_int("text.truncate", "limit", limit, 0)
    _need_str("text.truncate", "marker", marker)
    if where not in _WHERE:
        raise ValueError(f"text.truncate: where must be one of {', '.join(_WHERE)}, got {where!r}")
    if len(s) <= limit:
        return s
    keep = limit - len(marker)
    if keep < 0:
        raise ValueError(
            f"text.truncate: limit ({limit}) is shorter than the marker ({len(marker)} characters)"
        )
    if where == "end":
        return s[:keep] + marker
    if where == "start":
        return marker + s[len(s) - keep :]
    head = (keep + 1) // 2
    return s[:head] + marker + s[len(s) - (keep - head) :]


def word_count(s):
    """The number of whitespace-separated words in `s`."""
    _need_str("text.word_count", "s", s)
    if len(s) <= 1_000_000:
        return len(s.split())
    # Count block by block (millions of word strings would exhaust the memory limit); a
    # word cut by a block boundary is counted in both blocks once too often.
    blocks = _blocks(s)
    count = 0
    for i, block in enumerate(blocks):
        count += len(block.split())
        if i and not block[0].isspace() and not blocks[i - 1][-1].isspace():
            count -= 1
    return count


def _diff_lines(name, value):
    if isinstance(value, str):
        return value.splitlines()
    if isinstance(value, (list, tuple)):
        out = []
        for i, line in enumerate(value):
            if not isinstance(line, str):
                raise TypeError(f"text.diff: line {i} of {name} is {_type_name(line)}, not str")
            # Lines read with their newline would otherwise show as doubled breaks.
            out.append(line[:-1] if line.endswith("\n") else line)
        return out
    raise TypeError(f"text.diff: {name} must be a str or a list of lines, got {_type_name(value)}")


def diff(a, b, *, context=3, a_name="a", b_name="b"):
    """Unified diff of two texts (or lists of lines), "" when they are equal.

    Same text as "\\n".join(difflib.unified_diff(a.splitlines(), b.splitlines(), a_name,
    b_name, n=context, lineterm="")) in CPython: "--- a", "+++ b", "@@ ... @@" hunks,
    lines joined with "\\n" and no newline at the end.
    """
    _need_int("text.diff", "context", context, 0)
    _need_str("text.diff", "a_name", a_name)
    _need_str("text.diff", "b_name", b_name)
    old = _diff_lines("a", a)
    new = _diff_lines("b", b)
    return "\n".join(difflib.unified_diff(old, new, a_name, b_name, n=context, lineterm=""))
