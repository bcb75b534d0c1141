"""Python functions as tools.

`FunctionSource` turns sync or async functions into `Tool`s of one namespace, deriving
everything once, at registration: the input schema from the type hints via a pydantic
model (unions, Literal, Enum, TypedDict, dataclasses, models, datetimes,
`Annotated[int, Field(ge=0)]`, ...) with parameter descriptions from the docstring
(Google, NumPy or reST); the output schema from the return annotation; and a caller that
validates the program's arguments with the same model (lax mode: `"2024-01-01"` becomes a
`date`, a dict a dataclass), calls the function and converts the result to plain data.

Parameters meant for the host (a database handle, an API client) are hidden from the
model and supplied on every call with `bind={"db": db}` or `functools.partial(fn, db=db)`.
`public_functions` and `load_module` register the functions of a module or `.py` file.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import importlib
import importlib.util
import inspect
import itertools
import json
import sys
import types
import typing
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import docstring_parser
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model
from pydantic.fields import FieldInfo
from pydantic.json_schema import PydanticJsonSchemaWarning

from codemode.catalog import Caller, Tool, ToolAnnotations, check_namespace, to_identifier
from codemode.convert import to_jsonable
from codemode.errors import ConfigError, ToolError

__all__ = ["FunctionSource", "load_module", "public_functions"]

_EMPTY: Any = inspect.Parameter.empty
# extra="forbid": an unknown keyword is a mistake the model should hear about, not lose.
_ARGUMENTS_CONFIG = ConfigDict(extra="forbid")
# Return values go through `to_jsonable`, which turns timedeltas into seconds; make the
# output schema say so.
_OUTPUT_CONFIG = ConfigDict(ser_json_timedelta="float")
# Schema keywords whose values are data, not subschemas: never strip "title" inside them.
_DATA_KEYWORDS = frozenset({"default", "const", "enum", "examples", "example"})
# Schema keywords whose values map arbitrary names to subschemas.
_SCHEMA_MAPS = frozenset(
    {"properties", "$defs", "definitions", "patternProperties", "dependentSchemas"}
)
_REPR_LIMIT = 60


@dataclass(frozen=True, slots=True)
class _Param:
    """One parameter the model sees."""

    name: str
    hint: Any
    default: Any  # `_EMPTY` when the parameter is required
    description: str | None

    def render(self) -> str:
        """`a: int (required)` or `b: int = 0`, for error messages."""
        text = f"{self.name}: {_type_name(self.hint)}"
        if self.default is _EMPTY:
            return text + " (required)"
        # Rendered as the program would write it: an enum default shows its value.
        return f"{text} = {_short_repr(to_jsonable(self.default))}"


class FunctionSource:
    """A namespace of tools backed by Python functions (implements `Source`)."""

    description: str = ""
    """One line about the namespace, for overviews (e.g. the module docstring's first line)."""

    def __init__(self, namespace: str) -> None:
        # Checked here as well as by the catalog so a bad name fails where it is written.
        check_namespace(namespace)
        self._namespace = namespace
        self._entries: dict[str, tuple[Tool, Caller]] = {}

    @property
    def namespace(self) -> str:
        """The namespace every tool of this source lives in."""
        return self._namespace

    def add(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        bind: Mapping[str, Any] | None = None,
        description: str | None = None,
        annotations: ToolAnnotations | None = None,
    ) -> Tool:
        """Register one function (sync or async, or a `functools.partial` of one).

        `name` overrides the function's name; `bind` supplies parameters host-side and
        hides them from the model; `description` overrides the docstring. Raises
        `ConfigError` when the function cannot be a tool (`*args`, `**kwargs`,
        positional-only parameters, unresolvable or unsupported type hints, a bound name
        that is not a parameter, or a name already taken in this namespace).
        """
        if not callable(fn):
            raise ConfigError(f"cannot register {fn!r} as a tool: it is not callable")
        target, n_positional, partial_keywords = _unwrap_partial(fn)
        tool_name = name or _function_name(target)
        identifier = to_identifier(tool_name)
        qualified = f"{self._namespace}.{identifier}"
        if identifier in self._entries:
            raise ConfigError(
                f"{qualified} is already registered; pass name=... to register "
                f"{tool_name!r} under another name"
            )
        bound = dict(bind or {})
        hints = _type_hints(target, qualified)
        doc, param_docs = _parse_docstring(target)
        params = [
            _Param(p.name, hints.get(p.name, Any), p.default, param_docs.get(p.name))
            for p in _exposed(target, qualified, n_positional, partial_keywords, bound)
        ]
        model = _arguments_model(qualified, identifier, params)
        tool = Tool(
            namespace=self._namespace,
            name=tool_name,
            identifier=identifier,
            description=doc if description is None else description,
            input_schema=_input_schema(model, qualified),
            output_schema=_output_schema(hints.get("return", _EMPTY)),
            annotations=annotations or ToolAnnotations(),
        )
        validate = _make_validator(model, params, qualified)
        caller = _make_caller(fn, validate, bound, is_async=_is_async(fn, target))
        self._entries[identifier] = (tool, caller)
        return tool

    def tools(self) -> Sequence[Tool]:
        """The registered tools, in registration order."""
        return tuple(tool for tool, _ in self._entries.values())

    def caller(self, tool: Tool) -> Caller:
        """The callable performing `tool`'s calls: `(args: dict) -> result`.

        A plain function for sync tools, a coroutine function for async ones. It raises
        `ToolError` for invalid arguments; exceptions of the tool itself propagate as is.
        """
        entry = self._entries.get(tool.identifier)
        if entry is None or entry[0].name != tool.name:
            raise ConfigError(f"tool {tool.qualified} does not belong to this source")
        return entry[1]

    async def start(self) -> None:
        """Nothing to connect: the tools are known from registration."""

    async def aclose(self) -> None:
        """Nothing to release: functions hold no resources of ours. Idempotent."""


def public_functions(
    module: types.ModuleType, names: Sequence[str] | None = None
) -> list[Callable[..., Any]]:
    """The functions of `module` to register as tools.

    Without `names`: every public function *defined in* the module (not imported into
    it, name not starting with `_`), in source order. With `names`: exactly those
    attributes, in that order; a missing or non-callable one raises `ConfigError`.
    """
    if names is not None:
        missing = [n for n in names if not callable(getattr(module, n, None))]
        if missing:
            available = ", ".join(f.__name__ for f in public_functions(module)) or "none"
            raise ConfigError(
                f"module {module.__name__!r} has no function {missing[0]!r} "
                f"(its public functions: {available})"
            )
        return [getattr(module, n) for n in names]
    found: dict[int, Callable[..., Any]] = {}
    for attr, obj in vars(module).items():
        if (
            inspect.isfunction(obj)
            and not attr.startswith("_")
            and not obj.__name__.startswith("_")
            and obj.__module__ == module.__name__
        ):
            found.setdefault(id(obj), obj)  # an alias of a function is the same tool
    # Namespace order is assignment order; the first line is the order a reader sees.
    return sorted(found.values(), key=_first_line)


_module_counter = itertools.count(1)


def load_module(spec: str, base_dir: Path | None = None) -> types.ModuleType:
    """Import `spec`: a dotted module name, or a path to a `.py` file.

    Relative paths are resolved against `base_dir` (default: the working directory); a
    file is loaded under a fresh module name each time, so two files both called
    `tools.py` do not collide. Failures raise `ConfigError` saying what went wrong
    (file not found, syntax error with its line, an import inside the module failed).
    """
    if spec.endswith(".py") or "/" in spec or "\\" in spec or spec.startswith("."):
        return _load_file(spec, base_dir)
    try:
        return importlib.import_module(spec)
    except ModuleNotFoundError as exc:
        if exc.name and (spec == exc.name or spec.startswith(exc.name + ".")):
            raise ConfigError(
                f"no module named {spec!r}: is it installed and importable? "
                f"(to load a file, give its path ending in .py)"
            ) from exc
        raise ConfigError(_import_failure(exc, f"importing module {spec!r}")) from exc
    except Exception as exc:
        raise ConfigError(_import_failure(exc, f"importing module {spec!r}")) from exc


def _load_file(spec: str, base_dir: Path | None) -> types.ModuleType:
    """Execute a `.py` file as a new module registered in `sys.modules`."""
    base = base_dir if base_dir is not None else Path.cwd()
    path = Path(spec).expanduser()
    if not path.is_absolute():
        path = base / path
    path = path.resolve()
    if not path.is_file():
        raise ConfigError(f"module file not found: {path} (from {spec!r}, relative to {base})")
    module_name = f"codemode_user_{to_identifier(path.stem)}_{next(_module_counter)}"
    file_spec = importlib.util.spec_from_file_location(module_name, path)
    if file_spec is None or file_spec.loader is None:
        raise ConfigError(f"cannot load {path} as a Python module (is it a .py file?)")
    module = importlib.util.module_from_spec(file_spec)
    # Registered before running: dataclasses, pydantic and typing look a class's module
    # up in sys.modules to resolve its annotations.
    sys.modules[module_name] = module
    try:
        file_spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(module_name, None)
        raise ConfigError(_import_failure(exc, f"loading {path}")) from exc
    return module


def _import_failure(exc: Exception, doing: str) -> str:
    """What went wrong while importing; a syntax error says where (possibly another file)."""
    if isinstance(exc, SyntaxError):
        line = f", line {exc.lineno}" if exc.lineno else ""
        text = f": {exc.text.strip()}" if exc.text and exc.text.strip() else ""
        return f"{doing} failed: syntax error in {exc.filename}{line}: {exc.msg}{text}"
    return f"{doing} failed: {type(exc).__name__}: {exc}"


def _first_line(fn: Callable[..., Any]) -> int:
    code = getattr(inspect.unwrap(fn), "__code__", None)
    return code.co_firstlineno if code is not None else sys.maxsize


# --- introspection -------------------------------------------------------------------


def _unwrap_partial(fn: Callable[..., Any]) -> tuple[Callable[..., Any], int, frozenset[str]]:
    """The wrapped function, how many positional arguments the partial fills, its keywords."""
    if isinstance(fn, functools.partial):
        # functools.partial flattens nested partials itself, so one level is enough.
        return fn.func, len(fn.args), frozenset(fn.keywords)
    return fn, 0, frozenset()


def _function_name(target: Callable[..., Any]) -> str:
    name = getattr(target, "__name__", None)
    if not isinstance(name, str):
        name = type(target).__name__  # a callable instance: name it after its class
    if name == "<lambda>":
        raise ConfigError("a lambda has no usable name; register it with name=...")
    return name


def _type_hints(target: Callable[..., Any], qualified: str) -> dict[str, Any]:
    """Resolved type hints (string annotations included) of what is actually called."""
    source: Any = target
    if inspect.isclass(target):
        source = target.__init__
    elif not (inspect.isfunction(target) or inspect.ismethod(target)):
        source = type(target).__call__  # a callable instance
    try:
        return typing.get_type_hints(inspect.unwrap(source), include_extras=True)
    except Exception as exc:
        raise _refusal(
            qualified, f"its type hints do not resolve ({exc}); define their types at module level"
        ) from exc


_KIND_PROBLEMS = {
    inspect.Parameter.VAR_POSITIONAL: "*{} is not supported: tools are called with keyword "
    "arguments only, so declare each parameter by name",
    inspect.Parameter.VAR_KEYWORD: "**{} is not supported: the model can only pass parameters "
    "it can see, so declare each one by name",
    inspect.Parameter.POSITIONAL_ONLY: "parameter {!r} is positional-only, but tools are "
    "called with keyword arguments only (remove the '/')",
}


def _exposed(
    target: Callable[..., Any],
    qualified: str,
    n_positional: int,
    partial_keywords: frozenset[str],
    bound: Mapping[str, Any],
) -> list[inspect.Parameter]:
    """The parameters the model fills in, after partial and `bind` took theirs."""
    try:
        params = list(inspect.signature(target).parameters.values())
    except (TypeError, ValueError) as exc:
        raise _refusal(qualified, f"no readable signature ({exc})") from exc
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if any(p.kind not in positional for p in params[:n_positional]) or n_positional > len(params):
        raise _refusal(qualified, f"the partial passes {n_positional} positional arguments")
    remaining = {p.name: p for p in params[n_positional:]}
    hidden = partial_keywords | bound.keys()
    for key in sorted(hidden):
        param = remaining.get(key)
        if param is None or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            valid = ", ".join(remaining) or "none"
            raise _refusal(qualified, f"cannot bind {key!r}: not a parameter (parameters: {valid})")
        if param.kind is param.POSITIONAL_ONLY:
            raise _refusal(qualified, f"cannot bind positional-only {key!r} by name")
    for param in remaining.values():
        if param.name not in hidden and param.kind in _KIND_PROBLEMS:
            raise _refusal(qualified, _KIND_PROBLEMS[param.kind].format(param.name))
    return [p for p in remaining.values() if p.name not in hidden]


def _refusal(qualified: str, reason: str) -> ConfigError:
    return ConfigError(f"cannot register {qualified}: {reason}")


def _parse_docstring(target: Callable[..., Any]) -> tuple[str, dict[str, str]]:
    """The description (summary and body, no sections) and the parameter descriptions."""
    doc = inspect.getdoc(target)
    if not doc:
        return "", {}
    try:
        parsed = docstring_parser.parse(doc)  # detects Google, NumPy, reST and Epydoc
    except Exception:
        return doc.strip(), {}
    short, long = parsed.short_description or "", parsed.long_description or ""
    joiner = "\n\n" if parsed.blank_after_short_description else "\n"
    description = joiner.join(part for part in (short, long) if part)
    params = {
        p.arg_name.lstrip("*"): p.description.strip()
        for p in parsed.params
        if p.arg_name and p.description and p.description.strip()
    }
    return description, params


def _is_async(fn: Callable[..., Any], target: Callable[..., Any]) -> bool:
    """Whether calling `fn` gives a coroutine (async def, possibly decorated or partial)."""
    candidates: list[Any] = [fn, target]
    with contextlib.suppress(ValueError):  # ValueError: a __wrapped__ cycle
        candidates.append(inspect.unwrap(target))
    if not (inspect.isfunction(target) or inspect.ismethod(target) or inspect.isclass(target)):
        candidates.append(type(target).__call__)  # a callable instance
    return any(inspect.iscoroutinefunction(c) for c in candidates)


# --- schemas -------------------------------------------------------------------------


def _arguments_model(qualified: str, identifier: str, params: list[_Param]) -> type[BaseModel]:
    """A pydantic model whose fields are the exposed parameters.

    Fields are named `f0`, `f1`, ... with the parameter name as alias, so parameter names
    that clash with `BaseModel` attributes (`json`, `copy`, `model_config`) or look private
    (`_x`) are fine; validation and the schema use the aliases.
    """
    fields: dict[str, Any] = {}
    for index, param in enumerate(params):
        options: dict[str, Any] = {"alias": param.name}
        if param.default is not _EMPTY:
            options["default"] = param.default
        has_field_doc, annotated_doc = _annotated_description(param.hint)
        if not has_field_doc and (annotated_doc or param.description):
            options["description"] = annotated_doc or param.description
        fields[f"f{index}"] = (param.hint, Field(**options))
    try:
        return create_model(f"{identifier}_arguments", __config__=_ARGUMENTS_CONFIG, **fields)
    except Exception as exc:
        reason = str(exc).split("\n", 1)[0]  # pydantic's first line names the type
        raise _refusal(
            qualified,
            f"its parameters cannot be validated ({reason}); use JSON-like types, dataclasses "
            f"or pydantic models, and pass host objects with bind=...",
        ) from exc


def _annotated_description(hint: Any) -> tuple[bool, str | None]:
    """(`Field(description=...)` present, first plain-string metadata) of `Annotated[...]`."""
    if get_origin(hint) is not Annotated:
        return False, None
    metadata = hint.__metadata__
    if any(isinstance(m, FieldInfo) and m.description for m in metadata):
        return True, None
    return False, next((m for m in metadata if isinstance(m, str)), None)


def _input_schema(model: type[BaseModel], qualified: str) -> dict[str, Any]:
    """The model's JSON schema, cleaned for LLMs, with the keys in a readable order."""
    try:
        with warnings.catch_warnings():
            # Defaults that are not JSON (a sentinel object) are left out of the schema;
            # that is the right outcome, not something to warn about.
            warnings.simplefilter("ignore", PydanticJsonSchemaWarning)
            raw = _strip_titles(model.model_json_schema(by_alias=True))
    except Exception as exc:
        raise _refusal(qualified, f"no JSON schema for its parameters ({exc})") from exc
    schema: dict[str, Any] = {"type": "object", "properties": raw.get("properties", {})}
    if raw.get("required"):
        schema["required"] = raw["required"]
    schema["additionalProperties"] = False
    schema.update((k, v) for k, v in raw.items() if k not in schema and k != "$defs")
    if raw.get("$defs"):
        schema["$defs"] = raw["$defs"]
    return schema


def _output_schema(hint: Any) -> dict[str, Any] | None:
    """The serialized shape of the return annotation, or None when there is nothing to say."""
    if hint is _EMPTY or hint is None or hint is type(None) or hint is Any:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PydanticJsonSchemaWarning)
            # Wrapped in list[...] because pydantic refuses a config for a bare model or
            # dataclass; the config still applies to everything that has none of its own.
            wrapped: TypeAdapter[Any] = TypeAdapter(list[hint], config=_OUTPUT_CONFIG)
            raw = _strip_titles(wrapped.json_schema(mode="serialization"))
    except Exception:
        return None  # an arbitrary class: the result is still converted, just undescribed
    schema: dict[str, Any] = dict(raw.get("items", {}))
    defs: dict[str, Any] = dict(raw.get("$defs", {}))
    ref = schema.get("$ref")
    if len(schema) == 1 and isinstance(ref, str) and ref.startswith("#/$defs/"):
        name = ref.removeprefix("#/$defs/")
        others = {k: v for k, v in defs.items() if k != name}
        # Inline the root definition unless something (e.g. itself) refers back to it.
        if name in defs and json.dumps(ref) not in json.dumps(defs, default=str):
            schema, defs = dict(defs[name]), others
    if defs:
        schema["$defs"] = defs
    return schema


def _strip_titles(node: Any) -> Any:
    """Drop pydantic's generated `title`s (noise for an LLM); keep property/def names."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "title" and isinstance(value, str):
                continue
            if key in _DATA_KEYWORDS:
                out[key] = value
            elif key in _SCHEMA_MAPS and isinstance(value, dict):
                out[key] = {name: _strip_titles(sub) for name, sub in value.items()}
            else:
                out[key] = _strip_titles(value)
        return out
    if isinstance(node, list):
        return [_strip_titles(item) for item in node]
    return node


def _type_name(hint: Any) -> str:
    """A short Python spelling of a type hint (`list[int] | None`), for messages."""
    if hint is Any:
        return "Any"
    if hint is None or hint is type(None) or hint is Ellipsis:
        return "..." if hint is Ellipsis else "None"
    origin, args = get_origin(hint), get_args(hint)
    if origin is Annotated:
        return _type_name(args[0])
    if origin is typing.Union or origin is types.UnionType:
        return " | ".join(_type_name(arg) for arg in args)
    if origin is Literal:
        return "Literal[" + ", ".join(repr(arg) for arg in args) + "]"
    if origin is not None:
        base = getattr(origin, "__name__", None) or repr(origin).replace("typing.", "")
        return f"{base}[{', '.join(_type_name(arg) for arg in args)}]" if args else base
    if isinstance(hint, type):
        return hint.__name__
    return repr(hint).replace("typing.", "")


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _REPR_LIMIT else text[: _REPR_LIMIT - 3] + "..."


# --- calling -------------------------------------------------------------------------


def _make_validator(
    model: type[BaseModel], params: list[_Param], qualified: str
) -> Callable[[Any], dict[str, Any]]:
    """A function turning the program's arguments into validated keyword arguments.

    Only the arguments the program passed are forwarded, so the function's own defaults
    apply to the rest (and mutable defaults keep their identity).
    """
    validate_python = model.__pydantic_validator__.validate_python
    names = {f"f{index}": param.name for index, param in enumerate(params)}

    def validate(args: Any) -> dict[str, Any]:
        try:
            instance = validate_python(args)
        except ValidationError as exc:
            raise _argument_error(exc, params, qualified) from None
        values = instance.__dict__
        return {names[field]: values[field] for field in instance.__pydantic_fields_set__}

    return validate


def _make_caller(
    fn: Callable[..., Any],
    validate: Callable[[Any], dict[str, Any]],
    bound: dict[str, Any],
    *,
    is_async: bool,
) -> Caller:
    """The per-call path: validate, call with bound values added, convert the result."""
    if is_async:

        async def call_async(args: dict[str, Any]) -> Any:
            return to_jsonable(await fn(**validate(args), **bound))

        return call_async

    def call(args: dict[str, Any]) -> Any:
        return to_jsonable(fn(**validate(args), **bound))

    return call


def _argument_error(exc: ValidationError, params: list[_Param], qualified: str) -> ToolError:
    """A `ToolError` telling the model what was wrong and what the valid parameters are."""
    errors = exc.errors(include_url=False, include_context=False)
    unknown = [str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden" and e["loc"]]
    problems: list[str] = []
    reported: set[str] = set()
    for error in errors:
        loc, got = error["loc"], _short_repr(error["input"])
        if not loc:
            problems.append(f"arguments must be keyword arguments (name -> value), got {got}")
            continue
        param = str(loc[0])
        if param in reported:
            continue  # one problem per parameter: union branches repeat each other
        if error["type"] == "extra_forbidden":
            reported.update(unknown)  # all unknown names go in one phrase
            names = [_suggest(name, [p.name for p in params]) for name in unknown]
            noun = "parameter" if len(unknown) == 1 else "parameters"
            problems.append(f"unknown {noun} {', '.join(names)}")
        elif error["type"] == "missing" and len(loc) == 1:
            problems.append(f"missing required parameter {param!r}")
        else:
            where = f" (in {_loc_path(loc)})" if len(loc) > 1 else ""
            problems.append(f"parameter {param!r}{where}: {error['msg']} (got {got})")
        reported.add(param)
    valid = ", ".join(p.render() for p in params)
    hint = f"Valid parameters: {valid}" if params else "This tool takes no parameters"
    first = next((str(e["loc"][0]) for e in errors if e["loc"]), None)
    return ToolError(
        f"{qualified}(): {'; '.join(problems)}. {hint}", tool=qualified, parameter=first
    )


def _suggest(name: str, valid: list[str]) -> str:
    """`'limt' (did you mean 'limit'?)` for a likely typo, else just the quoted name."""
    close = difflib.get_close_matches(name, valid, n=1)
    return f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name)


def _loc_path(loc: tuple[int | str, ...]) -> str:
    """`items[0].name` from pydantic's `('items', 0, 'name')`."""
    return str(loc[0]) + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc[1:])
