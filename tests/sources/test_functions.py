"""Tests for codemode.sources.functions: Python functions as tools."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import enum
import functools
import inspect
import sys
import textwrap
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, NotRequired, Optional, Union

import pytest
from pydantic import BaseModel, Field
from typing_extensions import TypedDict  # pydantic rejects typing.TypedDict on Python < 3.12

from codemode.catalog import Catalog, Source, Tool, ToolAnnotations
from codemode.errors import ConfigError, ToolError
from codemode.sources.functions import FunctionSource, load_module, public_functions

# --- types used in hints (module level, so string annotations resolve) ----------------


class Color(enum.StrEnum):
    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Options(TypedDict):
    depth: int
    label: NotRequired[str]


@dataclasses.dataclass
class Point:
    x: float
    y: float = 0.0


class User(BaseModel):
    """A person."""

    name: str
    age: int = 0


def register(fn: Callable[..., Any], **kwargs: Any) -> tuple[Tool, Callable[..., Any]]:
    """Register `fn` in a fresh `ops` source; return the tool and its caller."""
    source = FunctionSource("ops")
    tool = source.add(fn, **kwargs)
    return tool, source.caller(tool)


def schema_of(fn: Callable[..., Any], name: str) -> dict[str, Any]:
    """The input schema of parameter `name` of `fn`."""
    tool, _ = register(fn)
    return dict(tool.parameters[name])


def titles(node: Any, path: str = "") -> list[str]:
    """Paths of generated `title` keywords left in a schema (property names excluded)."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "title" and isinstance(value, str):
                found.append(path)
            elif key in ("properties", "$defs"):
                for name, sub in value.items():
                    found += titles(sub, f"{path}/{key}/{name}")
            elif key not in ("default", "enum", "const"):
                found += titles(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            found += titles(item, f"{path}/{index}")
    return found


# --- the tool and its schema -----------------------------------------------------------


def add(a: int, b: int = 0) -> int:
    """Add two numbers.

    Args:
        a: The first number.
        b: The second number.
    """
    return a + b


def test_representative_schema_is_clean_and_exact() -> None:
    tool, _ = register(add)
    assert tool.namespace == "ops"
    assert tool.name == "add"
    assert tool.identifier == "add"
    assert tool.qualified == "ops.add"
    assert tool.description == "Add two numbers."
    assert tool.input_schema == {
        "type": "object",
        "properties": {
            "a": {"description": "The first number.", "type": "integer"},
            "b": {"default": 0, "description": "The second number.", "type": "integer"},
        },
        "required": ["a"],
        "additionalProperties": False,
    }
    assert tool.output_schema == {"type": "integer"}
    assert tool.annotations == ToolAnnotations()
    assert tool.required == frozenset({"a"})


def test_scalar_types() -> None:
    def f(s: str, i: int, x: float, flag: bool, nothing: None = None) -> None:
        """Scalars."""

    tool, call = register(f)
    props = tool.parameters
    assert props["s"] == {"type": "string"}
    assert props["i"] == {"type": "integer"}
    assert props["x"] == {"type": "number"}
    assert props["flag"] == {"type": "boolean"}
    assert props["nothing"] == {"default": None, "type": "null"}
    assert tool.output_schema is None
    assert call({"s": "a", "i": 1, "x": 2, "flag": True}) is None


def test_optional_and_pipe_none() -> None:
    def f(a: Optional[int] = None, b: str | None = None) -> None:  # noqa: UP045
        """Optionals."""

    tool, _ = register(f)
    nullable_int = {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None}
    assert tool.parameters["a"] == nullable_int
    assert tool.parameters["b"] == {
        "anyOf": [{"type": "string"}, {"type": "null"}],
        "default": None,
    }
    assert tool.required == frozenset()


def test_union_and_literal() -> None:
    def f(value: Union[int, str], mode: Literal["fast", "slow"] = "fast") -> str:  # noqa: UP007
        return f"{type(value).__name__}:{mode}"

    tool, call = register(f)
    assert tool.parameters["value"] == {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    assert tool.parameters["mode"] == {
        "default": "fast",
        "enum": ["fast", "slow"],
        "type": "string",
    }
    assert call({"value": 3}) == "int:fast"
    assert call({"value": "x", "mode": "slow"}) == "str:slow"
    with pytest.raises(ToolError) as info:
        call({"value": 1, "mode": "medium"})
    assert info.value.parameter == "mode"


def test_enums_str_and_int() -> None:
    seen: list[Any] = []

    def f(color: Color, level: Level = Level.LOW) -> Color:
        seen.append((color, level))
        return color

    tool, call = register(f)
    schema = tool.input_schema
    assert schema["properties"]["color"] == {"$ref": "#/$defs/Color"}
    assert schema["properties"]["level"] == {"$ref": "#/$defs/Level", "default": 1}
    assert schema["$defs"]["Color"] == {"enum": ["red", "blue"], "type": "string"}
    assert schema["$defs"]["Level"] == {"enum": [1, 2], "type": "integer"}
    assert call({"color": "blue", "level": 2}) == "blue"
    assert seen == [(Color.BLUE, Level.HIGH)]
    assert type(seen[0][0]) is Color


def test_collections() -> None:
    received: dict[str, Any] = {}

    def f(
        items: list[int], counts: dict[str, float], pair: tuple[int, str], tags: set[str]
    ) -> None:
        received.update(items=items, counts=counts, pair=pair, tags=tags)

    tool, call = register(f)
    props = tool.parameters
    assert props["items"] == {"items": {"type": "integer"}, "type": "array"}
    assert props["counts"] == {"additionalProperties": {"type": "number"}, "type": "object"}
    assert props["pair"]["prefixItems"] == [{"type": "integer"}, {"type": "string"}]
    assert props["tags"] == {"items": {"type": "string"}, "type": "array", "uniqueItems": True}
    call({"items": [1, "2"], "counts": {"a": 1}, "pair": [1, "x"], "tags": ["a", "a"]})
    assert received == {"items": [1, 2], "counts": {"a": 1.0}, "pair": (1, "x"), "tags": {"a"}}


def test_typeddict_with_notrequired() -> None:
    received: list[Any] = []

    def f(options: Options) -> None:
        received.append(options)

    tool, call = register(f)
    assert tool.parameters["options"] == {"$ref": "#/$defs/Options"}
    options = tool.input_schema["$defs"]["Options"]
    assert options["properties"] == {"depth": {"type": "integer"}, "label": {"type": "string"}}
    assert options["required"] == ["depth"]
    call({"options": {"depth": "3"}})
    assert received == [{"depth": 3}]


def test_dataclass_and_model_parameters_arrive_as_instances() -> None:
    received: list[Any] = []

    def f(at: Point, user: User) -> None:
        received.extend([at, user])

    tool, call = register(f)
    defs = tool.input_schema["$defs"]
    assert defs["Point"]["required"] == ["x"]
    assert defs["User"]["description"] == "A person."
    assert defs["User"]["properties"]["age"] == {"default": 0, "type": "integer"}
    call({"at": {"x": 1}, "user": {"name": "ada"}})
    assert received == [Point(1.0, 0.0), User(name="ada")]


def test_datetime_date_uuid() -> None:
    received: list[Any] = []

    def f(when: dt.datetime, day: dt.date, ident: uuid.UUID) -> dt.datetime:
        received.extend([when, day, ident])
        return when + dt.timedelta(days=1)

    tool, call = register(f)
    assert tool.parameters["when"] == {"format": "date-time", "type": "string"}
    assert tool.parameters["day"] == {"format": "date", "type": "string"}
    assert tool.parameters["ident"] == {"format": "uuid", "type": "string"}
    assert tool.output_schema == {"format": "date-time", "type": "string"}
    ident = "12345678-1234-5678-1234-567812345678"
    result = call({"when": "2024-01-01T00:00:00", "day": "2024-02-03", "ident": ident})
    assert result == "2024-01-02T00:00:00"
    assert received == [dt.datetime(2024, 1, 1), dt.date(2024, 2, 3), uuid.UUID(ident)]


def test_annotated_field_constraints_and_descriptions() -> None:
    def f(
        limit: Annotated[int, Field(description="How many.", ge=1, le=50)] = 10,
        word: Annotated[str, "A word."] = "",
    ) -> None:
        """Search.

        Args:
            limit: Loses to the Field description.
            word: Loses to the Annotated string.
        """

    tool, call = register(f)
    assert tool.parameters["limit"] == {
        "default": 10,
        "description": "How many.",
        "maximum": 50,
        "minimum": 1,
        "type": "integer",
    }
    assert tool.parameters["word"]["description"] == "A word."
    with pytest.raises(ToolError) as info:
        call({"limit": 0})
    assert info.value.parameter == "limit"
    assert "greater than or equal to 1" in info.value.message


def test_string_annotations_resolve() -> None:
    def f(at: Point) -> Point:  # annotations are strings: `from __future__ import annotations`
        return at

    tool, call = register(f)
    assert tool.parameters["at"] == {"$ref": "#/$defs/Point"}
    assert tool.output_schema is not None
    assert tool.output_schema["properties"]["x"] == {"type": "number"}
    assert call({"at": {"x": 2, "y": 3}}) == {"x": 2.0, "y": 3.0}


def test_unannotated_parameter_accepts_anything() -> None:
    def f(thing, other=5):  # type: ignore[no-untyped-def]
        return [thing, other]

    tool, call = register(f)
    assert tool.parameters["thing"] == {}
    assert tool.parameters["other"] == {"default": 5}
    assert tool.output_schema is None
    assert call({"thing": {"any": ["thing"]}}) == [{"any": ["thing"]}, 5]


def test_no_titles_anywhere_but_property_names_kept() -> None:
    def f(title: str, user: User, at: list[Point], options: Options | None = None) -> User:
        return user

    tool, _ = register(f)
    assert titles(tool.input_schema) == []
    assert titles(tool.output_schema) == []
    assert "title" in tool.parameters
    assert set(tool.input_schema["$defs"]) == {"User", "Point", "Options"}


def test_parameter_names_that_clash_with_pydantic() -> None:
    def f(json: str, model_config: int = 0, copy: bool = False) -> list[Any]:
        return [json, model_config, copy]

    tool, call = register(f)
    assert list(tool.parameters) == ["json", "model_config", "copy"]
    assert call({"json": "x", "copy": True}) == ["x", 0, True]


def test_only_passed_arguments_are_forwarded_so_defaults_keep_identity() -> None:
    sentinel: list[int] = []

    def f(a: int = 1, items: list[int] = sentinel) -> bool:
        return items is sentinel

    _, call = register(f)
    assert call({}) is True
    assert call({"items": []}) is False


# --- docstrings ------------------------------------------------------------------------


def google(path: str, depth: int = 1) -> None:
    """List files.

    Walks the tree below `path`.

    Args:
        path: Where to start.
        depth: How deep to go,
            at most.

    Returns:
        Nothing.
    """


def numpy(path: str, depth: int = 1) -> None:
    """List files.

    Walks the tree below `path`.

    Parameters
    ----------
    path : str
        Where to start.
    depth : int, optional
        How deep to go.
    """


def rest(path: str, depth: int = 1) -> None:
    """List files.

    Walks the tree below `path`.

    :param path: Where to start.
    :param depth: How deep to go.
    :returns: nothing
    """


@pytest.mark.parametrize("fn", [google, numpy, rest])
def test_docstring_styles(fn: Callable[..., Any]) -> None:
    tool, _ = register(fn)
    assert tool.description == "List files.\n\nWalks the tree below `path`."
    assert tool.summary == "List files."
    assert tool.parameters["path"]["description"] == "Where to start."
    assert tool.parameters["depth"]["description"].startswith("How deep to go")


def test_explicit_name_description_annotations() -> None:
    hints = ToolAnnotations(read_only=True)
    tool, call = register(add, name="add-numbers", description="Sum.", annotations=hints)
    assert tool.name == "add-numbers"
    assert tool.identifier == "add_numbers"
    assert tool.description == "Sum."
    assert tool.annotations == hints
    assert call({"a": 2}) == 2


def test_no_docstring_means_empty_description() -> None:
    def f() -> None:
        pass

    tool, call = register(f)
    assert tool.description == ""
    assert tool.input_schema == {"type": "object", "properties": {}, "additionalProperties": False}
    assert call({}) is None


class Counter:
    """Counts."""

    def __init__(self) -> None:
        self.total = 0

    def bump(self, by: int = 1) -> int:
        """Bump the counter."""
        self.total += by
        return self.total

    async def __call__(self, by: int) -> int:
        """Bump asynchronously."""
        return self.bump(by)


def logged(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    return wrapper


@logged
def decorated(x: int) -> int:
    """Double x."""
    return 2 * x


def test_bound_method_decorated_function_and_callable_instance() -> None:
    counter = Counter()
    tool, call = register(counter.bump)
    assert tool.name == "bump"
    assert list(tool.parameters) == ["by"]
    assert call({"by": 2}) == 2

    tool, call = register(decorated)  # the signature and hints of the wrapped function
    assert tool.parameters == {"x": {"type": "integer"}}
    assert tool.description == "Double x."
    assert call({"x": 4}) == 8

    tool, call = register(counter)
    assert tool.name == "Counter"
    assert tool.required == frozenset({"by"})
    assert inspect.iscoroutinefunction(call)
    assert asyncio.run(call({"by": 1})) == 3


# --- binding ---------------------------------------------------------------------------


class Env:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix


def greet(env: Env, name: str, punctuation: str = "!") -> str:
    """Greet someone."""
    return f"{env.prefix} {name}{punctuation}"


def test_bind_hides_parameter_and_passes_value() -> None:
    tool, call = register(greet, bind={"env": Env("hi")})
    assert list(tool.parameters) == ["name", "punctuation"]
    assert call({"name": "ada"}) == "hi ada!"
    with pytest.raises(ToolError) as info:
        call({"name": "ada", "env": "sneaky"})
    assert info.value.parameter == "env"


def test_partial_keyword_and_positional_binding() -> None:
    tool, call = register(functools.partial(greet, env=Env("yo")))
    assert tool.name == "greet"
    assert tool.description == "Greet someone."
    assert list(tool.parameters) == ["name", "punctuation"]
    assert call({"name": "bo", "punctuation": "?"}) == "yo bo?"

    tool, call = register(functools.partial(greet, Env("hey"), "cy"))
    assert list(tool.parameters) == ["punctuation"]
    assert call({}) == "hey cy!"


def test_bind_errors() -> None:
    source = FunctionSource("ops")
    with pytest.raises(ConfigError, match="'nope'"):
        source.add(greet, bind={"nope": 1})
    with pytest.raises(ConfigError, match="'nope'"):
        source.add(functools.partial(greet, nope=1))


def test_unsupported_signatures() -> None:
    def star_args(*values: int) -> None: ...
    def star_kwargs(a: int, **extra: Any) -> None: ...
    def positional_only(a: int, /) -> None: ...

    source = FunctionSource("ops")
    with pytest.raises(ConfigError, match=r"\*values"):
        source.add(star_args)
    with pytest.raises(ConfigError, match=r"\*\*extra"):
        source.add(star_kwargs)
    with pytest.raises(ConfigError, match="positional-only"):
        source.add(positional_only)
    # Filling the positional-only parameter with a partial makes it acceptable.
    tool = source.add(functools.partial(positional_only, 1))
    assert tool.parameters == {}


class Opaque:
    """A class pydantic cannot validate or describe."""


def test_unsupported_or_unresolvable_types_and_lambda_and_duplicate() -> None:
    class Local:
        pass

    def opaque(x: Opaque) -> None: ...
    def local(x: Local) -> None: ...  # a string annotation naming a function-local class

    source = FunctionSource("ops")
    with pytest.raises(ConfigError, match=r"ops\.opaque: its parameters cannot be validated"):
        source.add(opaque)
    with pytest.raises(ConfigError, match=r"ops\.local: its type hints do not resolve"):
        source.add(local)
    with pytest.raises(ConfigError, match="name="):
        source.add(lambda: 1)
    assert source.add(lambda: 1, name="one").name == "one"
    source.add(add)
    with pytest.raises(ConfigError, match="already registered"):
        source.add(add)


# --- calling ---------------------------------------------------------------------------


async def fetch(url: str, retries: int = 0) -> dict[str, Any]:
    """Fetch a URL."""
    await asyncio.sleep(0)
    return {"url": url, "retries": retries, "at": dt.date(2024, 1, 1)}


def test_async_function_gives_coroutine_caller() -> None:
    _, call = register(fetch)
    assert inspect.iscoroutinefunction(call)
    assert asyncio.run(call({"url": "x"})) == {"url": "x", "retries": 0, "at": "2024-01-01"}
    with pytest.raises(ToolError) as info:
        asyncio.run(call({"url": 5}))
    assert info.value.parameter == "url"


def test_async_partial_and_sync_caller() -> None:
    _, call = register(functools.partial(fetch, retries=3))
    assert inspect.iscoroutinefunction(call)
    assert asyncio.run(call({"url": "y"}))["retries"] == 3
    _, sync_call = register(add)
    assert not inspect.iscoroutinefunction(sync_call)


def test_validation_error_names_parameter_and_lists_valid_ones() -> None:
    _, call = register(add)
    with pytest.raises(ToolError) as info:
        call({"a": "x"})
    err = info.value
    assert err.tool == "ops.add"
    assert err.parameter == "a"
    assert "'a'" in err.message
    assert "ops.add" in err.message
    assert "a: int (required)" in err.message
    assert "b: int = 0" in err.message


def test_missing_and_unknown_parameters() -> None:
    _, call = register(add)
    with pytest.raises(ToolError) as info:
        call({})
    assert info.value.parameter == "a"
    assert "missing" in info.value.message

    with pytest.raises(ToolError) as info:
        call({"a": 1, "bb": 2})
    assert info.value.parameter == "bb"
    assert info.value.tool == "ops.add"
    assert "'bb'" in info.value.message
    assert "'b'" in info.value.message  # suggested as the likely intended name

    with pytest.raises(ToolError) as info:
        call([1, 2])  # type: ignore[arg-type]
    assert info.value.parameter is None


def test_nested_validation_error_reports_top_level_parameter() -> None:
    def f(points: list[Point]) -> int:
        return len(points)

    _, call = register(f)
    with pytest.raises(ToolError) as info:
        call({"points": [{"x": 1}, {"x": "far"}]})
    assert info.value.parameter == "points"
    assert "points[1].x" in info.value.message


def test_function_exceptions_propagate_unchanged() -> None:
    def boom(a: int) -> None:
        raise KeyError(a)

    _, call = register(boom)
    with pytest.raises(KeyError):
        call({"a": 1})


def test_return_values_are_converted() -> None:
    def f() -> dict[str, Any]:
        return {
            "user": User(name="ada", age=3),
            "at": Point(1, 2),
            "when": dt.datetime(2024, 5, 6, 7, 8, 9),
            "color": Color.RED,
            "level": Level.HIGH,
            "tags": {"b", "a"},
        }

    _, call = register(f)
    assert call({}) == {
        "user": {"name": "ada", "age": 3},
        "at": {"x": 1, "y": 2},
        "when": "2024-05-06T07:08:09",
        "color": "red",
        "level": 2,
        "tags": ["a", "b"],
    }


def test_output_schema_for_models_and_none() -> None:
    def make_user() -> User:
        return User(name="x")

    def nothing() -> None: ...
    def anything() -> Any: ...
    def durations() -> list[dt.timedelta]:
        return [dt.timedelta(minutes=1)]

    user_tool, call = register(make_user)
    assert user_tool.output_schema == {
        "description": "A person.",
        "properties": {"name": {"type": "string"}, "age": {"default": 0, "type": "integer"}},
        "required": ["name"],
        "type": "object",
    }
    assert call({}) == {"name": "x", "age": 0}
    assert register(nothing)[0].output_schema is None
    assert register(anything)[0].output_schema is None
    # to_jsonable sends timedeltas as seconds; the schema says number, not a duration string
    duration_tool, duration_call = register(durations)
    assert duration_tool.output_schema == {"items": {"type": "number"}, "type": "array"}
    assert duration_call({}) == [60.0]


# --- the Source protocol ---------------------------------------------------------------


def test_source_protocol_and_catalog() -> None:
    source = FunctionSource("math_ops")
    assert isinstance(source, Source)
    first = source.add(add)
    second = source.add(greet, bind={"env": Env("x")})
    assert source.namespace == "math_ops"
    assert list(source.tools()) == [first, second]
    catalog = Catalog()
    catalog.add_source(source)
    entry = catalog.get("math_ops.add")
    assert entry is not None
    assert entry.caller({"a": 1, "b": 1}) == 2
    with pytest.raises(ConfigError):
        FunctionSource("other").caller(first)
    asyncio.run(source.aclose())
    asyncio.run(source.aclose())


def test_bad_namespace_rejected() -> None:
    with pytest.raises(ConfigError):
        FunctionSource("json")
    with pytest.raises(ConfigError):
        FunctionSource("not valid")


# --- public_functions and load_module --------------------------------------------------

TOOLS_FILE = '''\
"""Some tools."""
from os.path import join
from dataclasses import dataclass


@dataclass
class Box:
    size: int


def zeta(box: Box) -> int:
    """Last alphabetically, first in the file."""
    return box.size


def _helper() -> None:
    pass


def alpha(a: int) -> int:
    return a


alias = alpha
'''


def test_load_module_from_relative_path_and_public_functions(tmp_path: Path) -> None:
    (tmp_path / "pkgdir").mkdir()
    (tmp_path / "pkgdir" / "tools.py").write_text(TOOLS_FILE)
    module = load_module("pkgdir/tools.py", base_dir=tmp_path)
    assert module.__name__ in sys.modules
    functions = public_functions(module)
    assert [f.__name__ for f in functions] == ["zeta", "alpha"]  # source order, no imports
    assert public_functions(module, ["alpha", "join"]) == [module.alpha, module.join]
    with pytest.raises(ConfigError, match="'missing'") as info:
        public_functions(module, ["missing"])
    assert "zeta, alpha" in str(info.value)

    source = FunctionSource("files")
    for fn in functions:
        source.add(fn)
    assert source.caller(source.tools()[0])({"box": {"size": 4}}) == 4

    again = load_module(str(tmp_path / "pkgdir" / "tools.py"))
    assert again is not module
    assert again.__name__ != module.__name__


def test_load_module_dotted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "cm_test_pkg_functions"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "ops.py").write_text("def ping() -> str:\n    return 'pong'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = load_module("cm_test_pkg_functions.ops")
    assert [f.__name__ for f in public_functions(module)] == ["ping"]
    assert load_module("json").__name__ == "json"
    with pytest.raises(ConfigError, match="no module named"):
        load_module("cm_test_pkg_functions.absent")


def test_load_module_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found") as info:
        load_module("nowhere/tools.py", base_dir=tmp_path)
    assert str(tmp_path / "nowhere" / "tools.py") in str(info.value)

    broken = tmp_path / "broken.py"
    broken.write_text(textwrap.dedent("x = 1\ndef f(:\n    pass\n"))
    with pytest.raises(ConfigError, match="syntax error") as info:
        load_module(str(broken))
    assert "line 2" in str(info.value)
    assert "broken.py" in str(info.value)

    failing = tmp_path / "failing.py"
    failing.write_text("import cm_no_such_module_anywhere\n")
    with pytest.raises(ConfigError, match="cm_no_such_module_anywhere"):
        load_module("failing.py", base_dir=tmp_path)
    assert not any(name.startswith("codemode_user_failing") for name in sys.modules)
