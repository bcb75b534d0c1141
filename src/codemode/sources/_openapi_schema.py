"""OpenAPI schemas -> the JSON Schemas of tools, for `codemode.sources.openapi`.

Referenced schemas are never inlined: every `$ref` becomes `#/$defs/<Name>`, and each tool
schema carries, under `$defs`, exactly the definitions it reaches transitively. Cycles
then cost nothing, and each referenced schema is converted once per document however
many operations use it (the converted dicts are shared between tools, read-only).

Conversion also drops what only adds weight for the model (`example`, `xml`,
`externalDocs`, `discriminator`, `x-*` extensions), turns Swagger's `x-nullable` into
`nullable` and `type: file` into a binary string. `nullable` itself (OpenAPI 3.0) is
kept: codemode's typegen and argument checks read it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from codemode.sources._openapi_load import resolve_ref

__all__ = ["SchemaTable", "admits_null"]

# Keywords whose value is one subschema (or, for `items`, possibly a list of them).
_ONE = frozenset(
    {
        "items",
        "additionalProperties",
        "not",
        "if",
        "then",
        "else",
        "contains",
        "propertyNames",
        "unevaluatedProperties",
        "unevaluatedItems",
        "additionalItems",
        "contentSchema",
    }
)
_LIST = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
_MAP = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})
_DROP = frozenset({"example", "examples", "xml", "externalDocs", "discriminator"})
_MAX_DEPTH = 64  # deeper inline nesting is cut (and YAML aliases can make real cycles)
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")
_STANDARD = re.compile(r"^#/(?:components/schemas|definitions)/([^/]+)$")


class SchemaTable:
    """The referenced schemas of one document, converted lazily and exactly once."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = data
        self._names: dict[str, str] = {}  # $ref as written -> def name
        self._refs: dict[str, str] = {}  # def name -> $ref
        self._defs: dict[str, Any] = {}  # def name -> converted schema
        self._edges: dict[str, frozenset[str]] = {}  # def name -> names it refers to
        self._closures: dict[str, frozenset[str]] = {}

    # -- conversion -------------------------------------------------------------------

    def convert(self, schema: Any, refs: set[str]) -> Any:
        """`schema` converted; adds the names of the definitions it refers to to `refs`."""
        return self._walk(schema, refs, 0)

    def _walk(self, s: Any, refs: set[str], depth: int) -> Any:
        if not isinstance(s, Mapping):
            return s if isinstance(s, bool) else {}
        if depth > _MAX_DEPTH:
            return {}
        out: dict[str, Any] = {}
        for key, value in s.items():
            if key == "$ref":
                if isinstance(value, str):
                    name = self._name(value)
                    if name is None:
                        out.setdefault("description", f"(unresolved reference {value[:80]})")
                    else:
                        refs.add(name)
                        out["$ref"] = "#/$defs/" + name.replace("~", "~0")
            elif key in _ONE:
                if isinstance(value, list):  # draft-4 tuple `items`
                    out[key] = [self._walk(v, refs, depth + 1) for v in value]
                else:
                    out[key] = self._walk(value, refs, depth + 1)
            elif key in _LIST:
                if isinstance(value, list):
                    out[key] = [self._walk(v, refs, depth + 1) for v in value]
            elif key in _MAP:
                if isinstance(value, Mapping):
                    out[key] = {k: self._walk(v, refs, depth + 1) for k, v in value.items()}
            elif key in _DROP or (isinstance(key, str) and key.startswith("x-")):
                if key == "x-nullable" and value is True:
                    out["nullable"] = True
            elif key == "type" and value == "file":  # Swagger 2
                out["type"], out["format"] = "string", "binary"
            else:
                out[key] = value
        return out

    def _name(self, ref: str) -> str | None:
        """The def name for `ref`, registering it on first sight; None if unresolvable."""
        name = self._names.get(ref)
        if name is not None:
            return name
        if resolve_ref(self._data, ref) is None:
            return None
        match = _STANDARD.match(ref)
        if match:
            base = match.group(1).replace("~1", "/").replace("~0", "~")
        else:  # a pointer into anything else: name it after its path
            base = ref.lstrip("#/").replace("~1", "_").replace("~0", "_")
        base = _NAME_CHARS.sub("_", base).strip("_") or "Schema"
        name, n = base, 1
        while name in self._refs:
            n += 1
            name = f"{base}_{n}"
        self._names[ref] = name
        self._refs[name] = ref
        return name

    def _edges_of(self, name: str) -> frozenset[str]:
        edges = self._edges.get(name)
        if edges is None:
            found: set[str] = set()
            self._defs[name] = self._walk(resolve_ref(self._data, self._refs[name]), found, 0)
            edges = self._edges[name] = frozenset(found)
        return edges

    # -- definitions ------------------------------------------------------------------

    def closure(self, name: str) -> frozenset[str]:
        """`name` and every definition reachable from it."""
        cached = self._closures.get(name)
        if cached is not None:
            return cached
        seen = {name}
        stack = [name]
        while stack:
            for other in self._edges_of(stack.pop()):
                if other in seen:
                    continue
                known = self._closures.get(other)
                if known is not None:  # reuse: no need to walk below it again
                    seen |= known
                else:
                    seen.add(other)
                    stack.append(other)
        result = self._closures[name] = frozenset(seen)
        return result

    def defs_for(self, refs: Iterable[str]) -> dict[str, Any]:
        """The `$defs` a schema referring to `refs` needs (sorted by name)."""
        names: set[str] = set()
        for name in refs:
            names |= self.closure(name)
        return {name: self._defs[name] for name in sorted(names)}

    def target(self, schema: Any, limit: int = 16) -> Any:
        """`schema` with `#/$defs/...` references followed to the converted definitions."""
        for _ in range(limit):
            if not isinstance(schema, Mapping):
                return schema
            ref = schema.get("$ref")
            if not isinstance(ref, str) or not ref.startswith("#/$defs/"):
                return schema
            name = ref[len("#/$defs/") :].replace("~0", "~")
            if name not in self._refs:
                return {}
            self._edges_of(name)
            schema = self._defs[name]
        return {}

    def object_view(
        self, schema: Any, depth: int = 0
    ) -> tuple[dict[str, Any], list[str], bool] | None:
        """(properties, required, nullable) of an object schema with `allOf` parts merged;
        None when it is not an object with properties (a union, an array, a primitive)."""
        s = self.target(schema)
        if not isinstance(s, Mapping) or depth > 8:
            return None
        if ("oneOf" in s or "anyOf" in s) and "properties" not in s:
            return None
        props = dict(s["properties"]) if isinstance(s.get("properties"), Mapping) else {}
        required = [r for r in s.get("required", ()) if isinstance(r, str)]
        typ = s.get("type")
        if typ not in (None, "object") and not (isinstance(typ, list) and "object" in typ):
            return None
        for part in s.get("allOf", ()) if isinstance(s.get("allOf"), list) else ():
            part_target = self.target(part)
            if isinstance(part_target, Mapping) and not (
                {"properties", "allOf", "type", "oneOf", "anyOf"} & part_target.keys()
            ):
                more = [r for r in part_target.get("required", ()) if isinstance(r, str)]
                required += more
                continue
            sub = self.object_view(part, depth + 1)
            if sub is None:
                return None
            props.update(sub[0])
            required += sub[1]
        if not props:
            return None
        return props, required, admits_null(s)


def admits_null(schema: Any) -> bool:
    """Whether a (converted) schema says `null` is a valid value."""
    if not isinstance(schema, Mapping):
        return schema is True
    if schema.get("nullable") is True or schema.get("type") == "null":
        return True
    typ = schema.get("type")
    if isinstance(typ, list) and "null" in typ:
        return True
    for key in ("anyOf", "oneOf"):
        members = schema.get(key)
        if isinstance(members, list) and any(
            isinstance(m, Mapping) and (m.get("type") == "null" or m.get("nullable") is True)
            for m in members
        ):
            return True
    return False
