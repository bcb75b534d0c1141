"""Turn whatever a tool returns into plain JSON-able data.

Programs in the sandbox only ever see dicts, lists, strings, numbers, booleans and None,
so every tool result passes through `to_jsonable` on its way back. The rules:

* pydantic models -> `model_dump(mode="json")`; dataclasses, namedtuples -> dicts
* mappings -> dicts with string keys (keys converted like values, then stringified the way
  `json.dumps` does: `True` -> `"true"`, `None` -> `"null"`, `1` -> `"1"`)
* datetime / date / time -> ISO 8601 strings; timedelta -> total seconds (float)
* Enum -> its value; UUID, Decimal, paths -> `str` (Decimal as a string keeps its precision)
* set / frozenset -> a sorted list (iteration order when the items do not sort)
* tuples, lists, generators, iterators and other sequences -> lists
* bytes -> a UTF-8 string when it decodes, else `{"base64": "..."}`
* float NaN and +/-infinity -> None, because JSON has no spelling for them
* anything else -> `str(value)`

Cycles never hang: a container met again while it is being converted becomes
`"<cycle>"` (shared, non-cyclic references are converted each time they occur). Values
nested deeper than `MAX_DEPTH` containers become `"<max depth>"`.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import enum
import math
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence, Set, ValuesView
from decimal import Decimal
from pathlib import PurePath
from types import GeneratorType
from typing import Any

from pydantic import BaseModel

__all__ = ["CYCLE_MARK", "MAX_DEPTH", "MAX_DEPTH_MARK", "to_jsonable"]

MAX_DEPTH = 100
"""How many containers deep `to_jsonable` descends before giving up on a branch."""
CYCLE_MARK = "<cycle>"
"""Stands in for a container that (directly or indirectly) contains itself."""
MAX_DEPTH_MARK = "<max depth>"
"""Stands in for a value nested deeper than `MAX_DEPTH`."""

_ITERABLES = (Sequence, GeneratorType, Iterator, ValuesView)


def to_jsonable(value: Any) -> Any:
    """Convert `value` to plain JSON-able data (dict, list, str, int, float, bool, None).

    See the module docstring for the rules. The result never contains NaN or infinity
    (they become None), never shares structure with `value` for mutable containers, and
    is safe to pass to `json.dumps`.
    """
    cls = type(value)
    # The common results (scalars) skip the recursion machinery entirely.
    if cls is str or cls is int or cls is bool or value is None:
        return value
    return _convert(value, 0, set())


def _convert(value: Any, depth: int, active: set[int]) -> Any:
    """Convert one value; `active` holds the ids of the containers being converted above."""
    cls = type(value)
    if cls is str or cls is int or cls is bool or value is None:
        return value
    if cls is float:
        return value if math.isfinite(value) else None
    if cls is dict or cls is list:
        # Fast path for the plain containers most tools return; same logic as below.
        return _guarded(value, depth, active)
    # Enums first: a str or int enum member must become its plain value, not the member.
    if isinstance(value, enum.Enum):
        return _convert(value.value, depth, active)
    if isinstance(value, str):
        return str.__str__(value)  # a plain copy of a str subclass
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, dt.date | dt.time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID | Decimal | PurePath):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return _bytes(bytes(value))
    return _guarded(value, depth, active)


def _guarded(value: Any, depth: int, active: set[int]) -> Any:
    """Convert a (possibly) compound value with cycle and depth protection."""
    if depth >= MAX_DEPTH:
        return MAX_DEPTH_MARK
    ident = id(value)
    if ident in active:
        return CYCLE_MARK
    active.add(ident)
    try:
        return _compound(value, depth + 1, active)
    finally:
        # Only ancestors count: a value shared by two siblings is not a cycle.
        active.discard(ident)


def _compound(value: Any, depth: int, active: set[int]) -> Any:
    """Convert a container or object; `depth` is the depth of its items."""
    cls = type(value)
    if cls is list:
        return [_convert(item, depth, active) for item in value]
    if cls is dict or isinstance(value, Mapping):
        return {
            key if type(key) is str else _key(key, depth, active): _convert(item, depth, active)
            for key, item in value.items()
        }
    if isinstance(value, BaseModel):
        return _model(value, depth, active)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _convert(getattr(value, f.name), depth, active)
            for f in dataclasses.fields(value)
        }
    if isinstance(value, tuple) and hasattr(cls, "_fields"):  # a namedtuple
        return {
            name: _convert(item, depth, active)
            for name, item in zip(cls._fields, value, strict=False)
        }
    if isinstance(value, Set):
        return [_convert(item, depth, active) for item in _sorted_if_possible(value)]
    if isinstance(value, _ITERABLES):
        return [_convert(item, depth, active) for item in value]
    return _fallback_str(value)


def _model(value: BaseModel, depth: int, active: set[int]) -> Any:
    """A pydantic model, serialized the way its own config says (aliases, serializers)."""
    try:
        # warnings=False: a mismatched field value must not turn into a warning per call.
        dumped = value.model_dump(mode="json", warnings=False)
    except Exception:
        # Self-referencing models and unserializable arbitrary types: walk the fields
        # ourselves, which handles cycles and falls back to str for unknown objects.
        return {
            name: _convert(getattr(value, name, None), depth, active)
            for name in type(value).model_fields
        }
    # The dump is plain data already, but may hold NaN/inf floats; normalise those too.
    return _convert(dumped, depth - 1, active)


def _key(key: Any, depth: int, active: set[int]) -> str:
    """A mapping key as a string, following `json.dumps` for scalars."""
    converted = _convert(key, depth, active)
    if isinstance(converted, str):
        return converted
    if converted is True:
        return "true"
    if converted is False:
        return "false"
    if converted is None:
        return "null"
    if isinstance(converted, int | float):
        return str(converted)
    return _fallback_str(key)


def _bytes(data: bytes) -> Any:
    """UTF-8 text when the bytes are text, else a base64 wrapper the program can decode."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode("ascii")}


def _sorted_if_possible(items: Iterable[Any]) -> list[Any]:
    """Sorted items for a deterministic result; iteration order when they do not compare."""
    try:
        return sorted(items)
    except TypeError:
        return list(items)


def _fallback_str(value: Any) -> str:
    """`str(value)`, or a placeholder when the object cannot even print itself."""
    try:
        return str(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"
