"""Tests for codemode.convert.to_jsonable."""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import enum
import json
import math
import uuid
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple

import pytest
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from codemode.convert import CYCLE_MARK, MAX_DEPTH, MAX_DEPTH_MARK, to_jsonable


class Color(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 2


class Mode(enum.StrEnum):
    FAST = "fast"


class Inner(BaseModel):
    when: dt.date


class Outer(BaseModel):
    inner: Inner
    ratio: float = 0.5
    # model_dump's own defaults apply: aliases only when the model's config asks for them
    alias_field: int = Field(default=1, serialization_alias="aliasField")


@dataclasses.dataclass
class Node:
    name: str
    children: list[Node] = dataclasses.field(default_factory=list)
    parent: Node | None = None


class Pair(NamedTuple):
    left: int
    right: str


class Movie(TypedDict):
    title: str
    year: int


class Opaque:
    def __str__(self) -> str:
        return "opaque!"


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no")


@pytest.mark.parametrize("value", [None, True, False, 0, -3, 1.5, "", "text"])
def test_scalars_pass_through(value: Any) -> None:
    assert to_jsonable(value) == value
    assert type(to_jsonable(value)) is type(value)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_floats_become_none(value: float) -> None:
    assert to_jsonable(value) is None
    assert to_jsonable([value]) == [None]


def test_pydantic_models_use_model_dump_json_mode() -> None:
    value = Outer(inner=Inner(when=dt.date(2024, 1, 2)), ratio=math.nan)
    assert to_jsonable(value) == {
        "inner": {"when": "2024-01-02"},
        "ratio": None,
        "alias_field": 1,
    }


def test_dataclasses_recursive_and_cycles() -> None:
    root = Node("root")
    child = Node("child", parent=root)
    root.children.append(child)
    assert to_jsonable(root) == {
        "name": "root",
        "children": [{"name": "child", "children": [], "parent": CYCLE_MARK}],
        "parent": None,
    }


def test_dict_keys_become_strings() -> None:
    movie: Movie = {"title": "Up", "year": 2009}
    assert to_jsonable(movie) == {"title": "Up", "year": 2009}
    value = {2: "a", None: "b", True: "c", Color.RED: "d", dt.date(2024, 1, 1): "e", (1, 2): "f"}
    assert to_jsonable(value) == {
        "2": "a",
        "null": "b",
        "true": "c",
        "red": "d",
        "2024-01-01": "e",
        "(1, 2)": "f",
    }
    assert to_jsonable(collections.OrderedDict(a=1)) == {"a": 1}


def test_temporal_values() -> None:
    assert to_jsonable(dt.datetime(2024, 1, 2, 3, 4, 5)) == "2024-01-02T03:04:05"
    aware = dt.datetime(2024, 1, 2, tzinfo=dt.UTC)
    assert to_jsonable(aware) == "2024-01-02T00:00:00+00:00"
    assert to_jsonable(dt.date(2024, 1, 2)) == "2024-01-02"
    assert to_jsonable(dt.time(3, 4)) == "03:04:00"
    assert to_jsonable(dt.timedelta(minutes=1, milliseconds=500)) == 60.5


def test_enums_become_values() -> None:
    assert to_jsonable(Color.RED) == "red"
    assert to_jsonable(Level.HIGH) == 2
    assert type(to_jsonable(Level.HIGH)) is int
    assert type(to_jsonable(Mode.FAST)) is str


def test_uuid_decimal_path() -> None:
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert to_jsonable(ident) == "12345678-1234-5678-1234-567812345678"
    assert to_jsonable(Decimal("0.10000000000000000001")) == "0.10000000000000000001"
    assert to_jsonable(PurePosixPath("/a/b")) == "/a/b"
    assert to_jsonable(Path("rel")) == "rel"


def test_sets_sorted_when_possible() -> None:
    assert to_jsonable({3, 1, 2}) == [1, 2, 3]
    assert to_jsonable(frozenset({"b", "a"})) == ["a", "b"]
    mixed = to_jsonable({1, "a"})
    assert sorted(mixed, key=str) == [1, "a"]


def test_tuples_generators_iterables() -> None:
    assert to_jsonable((1, (2, 3))) == [1, [2, 3]]
    assert to_jsonable(i * i for i in range(3)) == [0, 1, 4]
    assert to_jsonable(range(2)) == [0, 1]
    assert to_jsonable(collections.deque([1])) == [1]
    assert to_jsonable({"a": 1}.values()) == [1]
    assert to_jsonable(map(str, [1])) == ["1"]


def test_namedtuple_becomes_dict() -> None:
    assert to_jsonable(Pair(1, "x")) == {"left": 1, "right": "x"}


def test_bytes() -> None:
    assert to_jsonable(b"hello") == "hello"
    assert to_jsonable(bytearray(b"hi")) == "hi"
    assert to_jsonable(b"\xff\x00") == {"base64": "/wA="}


def test_other_objects_become_strings() -> None:
    assert to_jsonable(Opaque()) == "opaque!"
    assert to_jsonable([Unprintable()]) == ["<unprintable Unprintable>"]
    assert to_jsonable(Level).startswith("<enum")


def test_subclasses_of_scalars_become_plain() -> None:
    class MyStr(str):
        pass

    class MyInt(int):
        pass

    assert type(to_jsonable(MyStr("a"))) is str
    assert type(to_jsonable(MyInt(3))) is int


def test_cycles_in_lists_and_dicts() -> None:
    items: list[Any] = [1]
    items.append(items)
    assert to_jsonable(items) == [1, CYCLE_MARK]
    mapping: dict[str, Any] = {}
    mapping["self"] = mapping
    assert to_jsonable(mapping) == {"self": CYCLE_MARK}


def test_shared_references_are_not_cycles() -> None:
    shared = {"k": 1}
    assert to_jsonable([shared, shared]) == [{"k": 1}, {"k": 1}]


def test_max_depth() -> None:
    value: Any = "leaf"
    for _ in range(MAX_DEPTH + 10):
        value = [value]
    result = to_jsonable(value)
    depth = 0
    while isinstance(result, list):
        result = result[0]
        depth += 1
    assert result == MAX_DEPTH_MARK
    assert depth == MAX_DEPTH
    shallow: Any = "leaf"
    for _ in range(MAX_DEPTH):
        shallow = [shallow]
    assert json.dumps(to_jsonable(shallow)).count("leaf") == 1


def test_result_is_json_serializable_and_a_copy() -> None:
    source = {"a": [1, 2], "b": {"c": (3, {4})}}
    result = to_jsonable(source)
    assert json.loads(json.dumps(result, allow_nan=False)) == {"a": [1, 2], "b": {"c": [3, [4]]}}
    assert result["a"] is not source["a"]
