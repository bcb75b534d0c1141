"""Table helpers added to the `csv` module: a table is a list of dicts (one per row).

    csv.parse(data, *, delimiter=",", types=True, columns=None, header=True, max_field=131072)
    csv.filter(rows, where=None, **equals)
    csv.select(rows, *columns)                 # or a list; {"new": "old"} renames
    csv.sort(rows, by, *, reverse=False)
    csv.group(rows, by)
    csv.aggregate(rows, by=None, **aggregates)  # name=(column, fn)
    csv.to_csv(rows, columns=None, *, delimiter=",")

This source is exec'd in a namespace that already holds the sandbox's native csv names
(`reader`, `writer`, `Error`, ...); every top-level name without a leading underscore
becomes `csv.<name>`. Top-level names shadow builtins here: `filter` and `sort` are the
table helpers in this file, never the builtins.
"""

import json as _json
import re as _re

_NATIVE_FIELD_LIMIT = 131072  # the sandbox's reader cannot be given a higher limit

# One value of each inferred type; surrounding spaces/tabs are allowed (int()/float()
# ignore them). Numbers with a leading zero ("007", zip codes) are not numbers: they stay
# str so that no digits are lost.
_INT = r"[ \t]*[+-]?(?:0|[1-9][0-9]*)[ \t]*"
_FLOAT = r"[ \t]*[+-]?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[ \t]*"
_BOOL = r"[ \t]*(?i:true|false)[ \t]*"
# A whole column's non-empty values joined with "\n": one regex call per column instead
# of one Python-level check per cell (the sandbox's engine is linear for these).
_KINDS = (
    ("int", _re.compile(_INT), _re.compile(f"{_INT}(?:\n{_INT})*")),
    ("float", _re.compile(_FLOAT), _re.compile(f"{_FLOAT}(?:\n{_FLOAT})*")),
    ("bool", _re.compile(_BOOL), _re.compile(f"{_BOOL}(?:\n{_BOOL})*")),
)
_BOOLS = {"true": True, "false": False}
_AGGREGATES = tuple("count sum mean avg min max median first last distinct list".split())


def _type_name(value):
    return type(value).__name__


def _check_rows(func, rows):
    if not isinstance(rows, (list, tuple)):
        raise TypeError(f"{func}: rows must be a list of dicts, got {_type_name(rows)}")
    if all(isinstance(row, dict) for row in rows):  # one fast pass; find the culprit after
        return
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise TypeError(f"{func}: row {i} is {_type_name(row)}, not a dict")


def _columns_of(rows):
    """The union of the rows' keys, in first-seen order."""
    seen = {}
    for row in rows:
        for key in row:
            if key not in seen:
                seen[key] = True
    return list(seen)


def _check_columns(func, rows, columns):
    """Raise unless some row has each of `columns` (a typo would silently give None)."""
    first = rows[0] if rows else None
    if first is None or all(c in first for c in columns):
        return  # no rows to check against, or the common case: all in the first row
    known = _columns_of(rows)
    for c in columns:
        if c not in known:
            names = ", ".join(str(k) for k in known)
            raise ValueError(f"{func}: no column {c!r} (columns: {names})")


def _check_delimiter(func, delimiter):
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '\r\n"':
        raise ValueError(f"{func}: delimiter must be one character, got {delimiter!r}")


def _is_names(value):
    """A non-empty list/tuple of column names."""
    return (
        isinstance(value, (list, tuple)) and bool(value) and all(isinstance(c, str) for c in value)
    )


def _is_function(value):
    # The sandbox has no callable(); reject the plain data types instead.
    return value is not None and not isinstance(
        value, (str, int, float, bool, list, tuple, dict, set, bytes)
    )


# ---- parse -------------------------------------------------------------------------


def _read(lines, delimiter, max_field):
    rd = reader(lines, delimiter=delimiter)
    try:
        rows = list(rd)
    except Error as e:
        if "field limit" in str(e):
            raise ValueError(
                f"csv.parse: a field on line {rd.line_num} is longer than {max_field} "
                "characters; split the data differently or read that field another way"
            ) from None
        raise ValueError(f"csv.parse: malformed CSV on line {rd.line_num}: {e}") from None
    if max_field < _NATIVE_FIELD_LIMIT:
        _check_field_size(rows, max_field)
    if [] in rows:  # blank lines give []; skip them like DictReader (native scan first)
        rows = [row for row in rows if row]
    return rows


def _check_field_size(rows, max_field):
    for i, row in enumerate(rows):
        for value in row:
            if len(value) > max_field:
                raise ValueError(
                    f"csv.parse: a field in row {i + 1} is longer than {max_field} characters; "
                    "raise max_field to accept it"
                )


def _header_names(names):
    """Stripped names; empty ones become colN, repeated ones get _2, _3, ..."""
    out = []
    seen = {}
    for i, name in enumerate(names):
        name = name.strip() or f"col{i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        seen[name] = 1
        out.append(name)
    return out


def _kind_by_cell(values):
    for kind, one, _ in _KINDS:
        if all(one.fullmatch(v) for v in values):
            return kind
    return "str"


def _kind(values):
    """The inferred type of a column's non-empty values."""
    joined = "\n".join(values)
    if joined.count("\n") != len(values) - 1:
        return _kind_by_cell(values)  # some value holds a newline
    for kind, _, whole in _KINDS:
        if whole.fullmatch(joined):
            return kind
    return "str"


def _convert(column, kind, has_empty):
    if kind == "bool":
        # One lookup per cell; the few distinct spellings are normalised once.
        lookup = {v: _BOOLS[v.strip().lower()] for v in set(column) if v}
        lookup[""] = None
        return [lookup[v] for v in column]
    conv = int if kind == "int" else float
    if has_empty:
        return [conv(v) if v else None for v in column]
    return list(map(conv, column))


def _typed(column):
    has_empty = "" in column  # a native scan; most columns have no empty cell
    values = [v for v in column if v] if has_empty else column
    if not values:
        return column  # no evidence of a type: keep the empty strings
    kind = _kind(values)
    if kind == "str":
        return column
    return _convert(column, kind, has_empty)


def _square(rows, width):
    """Rows padded/cut to `width`; {row index: (missing count, extra values)} for the
    ragged ones (padding is "" so type inference treats it as empty)."""
    ragged = {}
    if set(map(len, rows)) == {width}:
        return rows, ragged  # the common case, checked without a Python-level loop
    out = list(rows)
    for i, row in enumerate(rows):
        if len(row) != width:
            ragged[i] = (width - len(row), row[width:])
            out[i] = row[:width] + [""] * (width - len(row))
    return out, ragged


def _fix_ragged(table, names, ragged):
    for i, (missing, extra) in ragged.items():
        row = table[i]
        for name in names[len(names) - missing :] if missing > 0 else ():
            row[name] = None
        if extra:
            row["_extra"] = extra


def _parse_args(data, delimiter, columns, max_field):
    if isinstance(data, str):
        lines = data.splitlines(True)  # keep the ends: quoted fields may span lines
    elif isinstance(data, (list, tuple)):
        for i, line in enumerate(data):
            if not isinstance(line, str):
                raise TypeError(f"csv.parse: line {i} is {_type_name(line)}, not str")
        lines = data
    else:
        raise TypeError(f"csv.parse: data must be a str or a list of lines, got {_type_name(data)}")
    _check_delimiter("csv.parse", delimiter)
    if columns is not None and not _is_names(columns):
        raise TypeError("csv.parse: columns must be a list of column names (str)")
    if isinstance(max_field, bool) or not isinstance(max_field, int) or max_field < 1:
        raise ValueError(f"csv.parse: max_field must be a positive int, got {max_field!r}")
    if max_field > _NATIVE_FIELD_LIMIT:
        raise ValueError(
            f"csv.parse: max_field cannot exceed {_NATIVE_FIELD_LIMIT} (the sandbox's csv limit)"
        )
    return lines


def parse(data, *, delimiter=",", types=True, columns=None, header=True, max_field=131072):
    """Rows of CSV text (a str or a list of lines) as a list of dicts.

    header=True: the first row names the columns (columns=[...] replaces those names).
    header=False: columns=[...] names them, else "col1", "col2", ...
    types=True: a column whose non-empty values are all ints becomes int, else all
    floats -> float, else all true/false (any case) -> bool, else it stays str; in typed
    columns "" becomes None. Rows shorter than the header get None for the missing
    columns; values beyond the header go to "_extra" (a list).
    """
    lines = _parse_args(data, delimiter, columns, max_field)
    rows = _read(lines, delimiter, max_field)
    if header and rows:
        names = rows[0]
        rows = rows[1:]
    else:
        names = [f"col{i + 1}" for i in range(max(map(len, rows), default=0))]
    names = list(columns) if columns is not None else _header_names(names)
    if not rows or not names:
        return []
    rows, ragged = _square(rows, len(names))
    if types:
        # Inference and conversion work on whole columns, then rows are rebuilt.
        rows = zip(*[_typed(c) for c in zip(*rows)])
    pairs = list(enumerate(names))
    # A comprehension building each dict is the fastest way the sandbox offers.
    table = [{name: row[i] for i, name in pairs} for row in rows]
    if ragged:
        _fix_ragged(table, names, ragged)
    return table


# ---- filter / select / sort / group --------------------------------------------------


def filter(rows, where=None, **equals):
    """Rows for which where(row) is truthy (if given) and row[k] == v for each k=v."""
    _check_rows("csv.filter", rows)
    if where is not None and not _is_function(where):
        raise TypeError(f"csv.filter: where must be a function of a row, got {_type_name(where)}")
    _check_columns("csv.filter", rows, list(equals))
    items = list(equals.items())
    out = []
    for row in rows:
        if all(row.get(k) == v for k, v in items) and (where is None or where(row)):
            out.append(row)
    return out


def _select_spec(columns):
    """[(output name, source column)] from names, lists of names and {"new": "old"}."""
    if len(columns) == 1 and isinstance(columns[0], (list, tuple)):
        columns = columns[0]
    spec = []
    for c in columns:
        if isinstance(c, str):
            spec.append((c, c))
        elif isinstance(c, dict):
            for new, old in c.items():
                spec.append((new, old))
        else:
            raise TypeError(f"csv.select: columns are names or {{'new': 'old'}} dicts, got {c!r}")
    return spec


def select(rows, *columns):
    """Rows with only the given columns, in that order; {"new": "old"} renames."""
    _check_rows("csv.select", rows)
    spec = _select_spec(columns)
    if not spec:
        raise ValueError("csv.select: name at least one column")
    _check_columns("csv.select", rows, [old for _, old in spec])
    return [{new: row.get(old) for new, old in spec} for row in rows]


def _order(value):
    """A sort key that never compares across types: numbers, then str, then the rest."""
    if isinstance(value, (int, float)):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    if isinstance(value, (list, tuple)):
        return (2, tuple(_order(v) for v in value))
    return (3, str(value))


def _sort_once(rows, key, reverse):
    present = []
    missing = []
    for row in rows:
        value = key(row)
        if value is None:
            missing.append(row)
        else:
            present.append((_order(value), row))
    present = sorted(present, key=lambda pair: pair[0], reverse=reverse)
    return [pair[1] for pair in present] + missing  # None last, in either direction


def sort(rows, by, *, reverse=False):
    """Rows sorted by a column, a list of columns, or a function of a row. None values
    sort last either way; values of different types don't raise (numbers < str < rest)."""
    _check_rows("csv.sort", rows)
    if isinstance(by, str):
        by = [by]
    if isinstance(by, (list, tuple)):
        if not _is_names(by):
            raise TypeError("csv.sort: by must be a column name, a list of names or a function")
        _check_columns("csv.sort", rows, by)
        out = list(rows)
        # Stable sorts from the last key to the first = one sort by all keys.
        for c in reversed(by):
            out = _sort_once(out, lambda row, c=c: row.get(c), reverse)
        return out
    if not _is_function(by):
        raise TypeError(f"csv.sort: by must be a column name, a list or a function, not {by!r}")
    return _sort_once(list(rows), by, reverse)


def _key_function(func, rows, by):
    """A function row -> group key; several columns give one " | "-joined str key."""
    if isinstance(by, str):
        _check_columns(func, rows, [by])
        return lambda row: row.get(by)
    if _is_names(by):
        _check_columns(func, rows, by)
        return lambda row: " | ".join(str(row.get(c)) for c in by)
    if _is_function(by):
        return lambda row: _hashable_key(func, by(row))
    raise TypeError(f"{func}: by must be a column name, a list of names or a function, not {by!r}")


def _hashable_key(func, key):
    if isinstance(key, (list, tuple)):
        return " | ".join(str(k) for k in key)
    if isinstance(key, (dict, set)):
        kind = _type_name(key)
        raise TypeError(f"{func}: the by function returned a {kind}; return a str or number")
    return key


def group(rows, by):
    """{key: [rows]} in first-seen key order. by: a column, a list of columns (the key is
    their values joined with " | ", e.g. "NY | 2024", so the result stays JSON-able) or a
    function of a row."""
    _check_rows("csv.group", rows)
    return _group(rows, _key_function("csv.group", rows, by))


def _group(rows, key_of):
    groups = {}
    for row in rows:
        key = key_of(row)
        if key in groups:
            groups[key].append(row)
        else:
            groups[key] = [row]
    return groups


# ---- aggregate -----------------------------------------------------------------------


def _numbers(name, column, fn, values):
    if all(isinstance(v, (int, float)) for v in values):
        return values
    for v in values:
        if not isinstance(v, (int, float)):
            raise TypeError(
                f"csv.aggregate: {name}=({column!r}, {fn!r}) needs numbers, got {v!r} "
                f"({_type_name(v)}); parse with types=True or convert first"
            )
    return values


def _median(values):
    ordered = sorted(values)
    n = len(ordered)
    if n % 2:
        return ordered[n // 2]
    return (ordered[n // 2 - 1] + ordered[n // 2]) / 2


def _distinct(values):
    seen = {}
    for v in values:
        seen[_json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v] = True
    return len(seen)


def _apply(name, column, fn, rows):
    if column == "*":
        return len(rows)
    raw = [row.get(column) for row in rows]
    if fn == "list":
        return raw
    values = [v for v in raw if v is not None]  # None (missing/empty) never counts
    if fn == "count":
        return len(values)
    if fn == "distinct":
        return _distinct(values)
    if fn == "first":
        return values[0] if values else None
    if fn == "last":
        return values[-1] if values else None
    if fn in ("min", "max"):
        if not values:
            return None
        ordered = sorted(values, key=_order)
        return ordered[0] if fn == "min" else ordered[-1]
    values = _numbers(name, column, fn, values)
    if fn == "sum":
        return sum(values)
    if not values:
        return None
    if fn == "median":
        return _median(values)
    return sum(values) / len(values)  # mean / avg


def _aggregate_spec(rows, aggregates):
    spec = []
    valid = ", ".join(_AGGREGATES)
    for name, pair in aggregates.items():
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise TypeError(
                f"csv.aggregate: {name} must be a (column, fn) pair like ('price', 'sum'), "
                f"got {pair!r}"
            )
        column, fn = pair
        if fn not in _AGGREGATES:
            raise ValueError(f"csv.aggregate: unknown fn {fn!r} for {name}; valid: {valid}")
        if column == "*" and fn != "count":
            raise ValueError(f"csv.aggregate: '*' only works with 'count' ({name} asks {fn!r})")
        spec.append((name, column, fn))
    _check_columns("csv.aggregate", rows, [c for _, c, _ in spec if c != "*"])
    return spec


def aggregate(rows, by=None, **aggregates):
    """Summaries of rows: name=(column, fn), fn one of count, sum, mean (avg), min, max,
    median, first, last, distinct (number of distinct values), list; ("*", "count")
    counts rows. None values are skipped by all but ("*", "count") and "list".
    Without by: one dict. With by (a column or list of columns): one dict per group, in
    first-seen order, holding the group's columns then the aggregates."""
    _check_rows("csv.aggregate", rows)
    if not aggregates:
        raise ValueError("csv.aggregate: name at least one aggregate, e.g. n=('*', 'count')")
    spec = _aggregate_spec(rows, aggregates)
    if by is None:
        return {name: _apply(name, column, fn, rows) for name, column, fn in spec}
    names = [by] if isinstance(by, str) else by
    if not _is_names(names):
        raise TypeError("csv.aggregate: by must be a column name or a list of names")
    for name, _, _ in spec:
        if name in names:
            raise ValueError(f"csv.aggregate: aggregate {name!r} has the name of a by column")
    out = []
    key_of = _key_function("csv.aggregate", rows, names[0] if len(names) == 1 else names)
    for members in _group(rows, key_of).values():
        result = {c: members[0].get(c) for c in names}
        for name, column, fn in spec:
            result[name] = _apply(name, column, fn, members)
        out.append(result)
    return out


# ---- to_csv --------------------------------------------------------------------------


class _Sink:
    """The file-like object the native writer needs: collects what it writes."""

    def __init__(self):
        self.parts = []

    def write(self, s):
        self.parts.append(s)


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return _json.dumps(value, ensure_ascii=False)
    return value


def to_csv(rows, columns=None, *, delimiter=","):
    """CSV text (a header line, then one line per row, "\\n" line ends). columns default
    to every key in first-seen order; None is written as "", dicts/lists as JSON."""
    _check_rows("csv.to_csv", rows)
    if columns is None:
        columns = _columns_of(rows)
    elif not isinstance(columns, (list, tuple)) or not all(isinstance(c, str) for c in columns):
        raise TypeError("csv.to_csv: columns must be a list of column names (str)")
    _check_columns("csv.to_csv", rows, columns)
    _check_delimiter("csv.to_csv", delimiter)
    if not columns:
        return ""
    sink = _Sink()
    out = writer(sink, delimiter=delimiter, lineterminator="\n")
    out.writerow(columns)
    out.writerows([[_cell(row.get(c)) for c in columns] for row in rows])
    return "".join(sink.parts)
