"""Tools, identifiers, and the load-time checks of the catalog."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from codemode import ConfigError, Tool
from codemode.catalog import Caller, Catalog, to_identifier


@pytest.mark.parametrize(
    ("name", "identifier"),
    [
        ("list-files", "list_files"),
        ("get.user", "get_user"),
        ("class", "class_"),
        ("match", "match_"),
        ("2fa-verify", "_2fa_verify"),
        ("  spaced out  ", "spaced_out"),
        ("Ünïcode-näme", "Unicode_name"),
        ("!!!", "tool"),
        ("a--b__c", "a_b_c"),
    ],
)
def test_to_identifier(name: str, identifier: str) -> None:
    assert to_identifier(name) == identifier


def test_to_identifier_snake_case() -> None:
    assert to_identifier("listFilesForRepo", snake_case=True) == "list_files_for_repo"
    assert to_identifier("getHTTPResponse", snake_case=True) == "get_http_response"


class StaticSource:
    def __init__(self, namespace: str, names: Sequence[str]) -> None:
        self._namespace = namespace
        self._tools = [Tool(namespace=namespace, name=n) for n in names]

    @property
    def namespace(self) -> str:
        return self._namespace

    def tools(self) -> Sequence[Tool]:
        return self._tools

    def caller(self, tool: Tool) -> Caller:
        return lambda args: tool.name

    async def aclose(self) -> None:
        pass


def test_tool_defaults_and_views() -> None:
    tool = Tool(
        namespace="fs",
        name="list-files",
        description="List files.\n\nLonger text.",
        input_schema={"type": "object", "properties": {"p": {}}, "required": ["p"]},
    )
    assert tool.identifier == "list_files"
    assert tool.qualified == "fs.list_files"
    assert tool.summary == "List files."
    assert list(tool.parameters) == ["p"]
    assert tool.required == {"p"}


def test_collision_is_a_load_time_error() -> None:
    catalog = Catalog()
    with pytest.raises(ConfigError, match="list_files"):
        catalog.add_source(StaticSource("fs", ["list-files", "list_files"]))
    assert len(catalog) == 0  # nothing half-registered


def test_collision_across_sources_of_one_namespace() -> None:
    catalog = Catalog()
    catalog.add_source(StaticSource("fs", ["read"]))
    with pytest.raises(ConfigError):
        catalog.add_source(StaticSource("fs", ["read"]))


def test_re_adding_a_source_replaces_its_tools() -> None:
    catalog = Catalog()
    source = StaticSource("fs", ["read", "write"])
    catalog.add_source(source)
    version = catalog.version
    source._tools = source._tools[:1]
    catalog.add_source(source)
    assert [t.identifier for t in catalog.tools("fs")] == ["read"]
    assert catalog.version > version


@pytest.mark.parametrize("namespace", ["search", "help", "memory", "library", "json", "_x"])
def test_reserved_namespace_names_are_refused_with_a_hint(namespace: str) -> None:
    with pytest.raises(ConfigError, match="rename"):
        Catalog().add_source(StaticSource(namespace, ["a"]))


@pytest.mark.parametrize("namespace", ["my-tools", "class", "1st"])
def test_invalid_namespace_names_are_refused(namespace: str) -> None:
    with pytest.raises(ConfigError, match="not a valid Python name"):
        Catalog().add_source(StaticSource(namespace, ["a"]))


def test_lookup() -> None:
    catalog = Catalog()
    catalog.add_source(StaticSource("b", ["y"]))
    catalog.add_source(StaticSource("a", ["x-1"]))
    assert catalog.namespaces() == ["a", "b"]
    assert [t.qualified for t in catalog] == ["a.x_1", "b.y"]
    entry = catalog.get("a.x_1")
    assert entry is not None
    assert entry.tool.name == "x-1"
    assert catalog.get("a.nope") is None
    assert "a" in catalog
