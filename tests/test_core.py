"""The `CodeMode` facade: registration, discovery, lifecycle."""

from __future__ import annotations

import ast
import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from codemode import CodeMode, ConfigError, SourceError, Tool
from codemode.catalog import Caller


def greet(name: str, punctuation: str = "!") -> str:
    """Greet someone by name."""
    return f"hello {name}{punctuation}"


def lookup(db: dict[str, int], key: str) -> int:
    """Look a key up in the host's database."""
    return db[key]


def test_add_function_returns_the_tool() -> None:
    with CodeMode() as cm:
        tool = cm.add_function(greet, namespace="people")
        assert tool.qualified == "people.greet"
        assert cm.execute("people.greet(name='ada')").result == "hello ada!"


def test_bound_parameters_are_hidden_and_supplied() -> None:
    db = {"answer": 42}
    with CodeMode() as cm:
        cm.add_function(lookup, namespace="kv", bind={"db": db})
        cm.add_function(functools.partial(lookup, db=db), namespace="kv2", name="get")
        assert "db" not in cm.tools("kv")[0].parameters
        assert "db" not in cm.stubs("kv2")
        assert cm.execute("kv.lookup(key='answer') + kv2.get(key='answer')").result == 84
        refused = cm.execute("kv.lookup(key='answer', db={})")
        assert refused.error is not None
        assert refused.error.parameter == "db"


def test_functions_added_later_are_callable() -> None:
    with CodeMode() as cm:
        cm.add_function(greet, namespace="p")
        assert cm.execute("p.greet(name='a')").ok
        cm.add_function(lookup, namespace="p", bind={"db": {"k": 1}})
        assert cm.execute("p.lookup(key='k')").result == 1
        assert [t.identifier for t in cm.tools("p")] == ["greet", "lookup"]


def test_duplicate_identifier_is_refused() -> None:
    with CodeMode() as cm:
        cm.add_function(greet, namespace="p")
        with pytest.raises(ConfigError):
            cm.add_function(greet, namespace="p")
        assert len(cm.tools()) == 1


def test_reserved_namespace_is_refused() -> None:
    with CodeMode() as cm, pytest.raises(ConfigError, match="rename"):
        cm.add_function(greet, namespace="search")


def test_stubs_parse_and_cover_every_namespace() -> None:
    with CodeMode() as cm:
        cm.add_functions("a", [greet])
        cm.add_function(lookup, namespace="b", bind={"db": {}})
        ast.parse(cm.stubs("a"))
        everything = cm.stubs()
        assert "def greet(" in everything
        assert "def lookup(" in everything
        with pytest.raises(ConfigError, match="unknown namespace"):
            cm.stubs("zzz")


def test_search_finds_tools() -> None:
    with CodeMode() as cm:
        cm.add_functions("people", [greet])
        cm.add_function(lookup, namespace="kv", bind={"db": {}})
        hits = cm.search("say hello to a person by name")
        assert hits[0].qualified == "people.greet"
        assert hits[0].signature.startswith("def greet(")
        assert cm.search("database key")[0].qualified == "kv.lookup"
        assert cm.search("") == []


def test_closed_instance_refuses_work() -> None:
    cm = CodeMode()
    cm.execute("1")
    cm.close()
    cm.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        cm.execute("1")


@pytest.mark.anyio
async def test_async_context_manager() -> None:
    async with CodeMode() as cm:
        cm.add_function(greet, namespace="p")
        result = await cm.aexecute("p.greet(name='x', punctuation='?')")
        assert result.result == "hello x?"


class SlowSource:
    """A source that takes a while to start, or fails to."""

    def __init__(self, namespace: str, *, delay: float, fail: bool = False) -> None:
        self._namespace = namespace
        self.delay = delay
        self.fail = fail
        self.started = False

    @property
    def namespace(self) -> str:
        return self._namespace

    def tools(self) -> list[Tool]:
        return [Tool(namespace=self._namespace, name="ping")] if self.started else []

    def caller(self, tool: Tool) -> Caller:
        return lambda arguments: "pong"

    async def start(self) -> None:
        await asyncio.sleep(self.delay)
        if self.fail:
            raise SourceError(f"{self._namespace} is down")
        self.started = True

    async def aclose(self) -> None:
        pass


def test_sources_start_in_parallel_and_a_failure_blocks_nothing() -> None:
    with CodeMode() as cm:
        for name in ("a", "b", "c"):
            cm.add_source(SlowSource(name, delay=0.4))
        cm.add_source(SlowSource("broken", delay=0.1, fail=True))
        assert cm.source_status()["a"] == "not started"
        started = time.perf_counter()
        cm.start()
        assert time.perf_counter() - started < 1.0  # not 3 x 0.4 s
        status = cm.source_status()
        assert status["a"] == "ready (1 tool)"
        assert status["broken"] == "failed: broken is down"
        assert cm.execute("[a.ping(), b.ping(), c.ping()]").result == ["pong"] * 3
        missing = cm.execute("broken.ping()")
        assert missing.error is not None
        assert missing.error.type == "NameError"


def test_sources_start_on_first_use() -> None:
    with CodeMode() as cm:
        cm.add_source(SlowSource("lazy", delay=0.01))
        assert cm.execute("lazy.ping()").result == "pong"
        assert [t.qualified for t in cm.tools()] == ["lazy.ping"]


def test_namespace_taken_twice_is_refused() -> None:
    with CodeMode() as cm:
        cm.add_source(SlowSource("dup", delay=0))
        with pytest.raises(ConfigError, match="already registered"):
            cm.add_source(SlowSource("dup", delay=0))


class PagedSource:
    """An API-like source whose tool pages through numbers."""

    namespace = "api"

    def __init__(self) -> None:
        schema = {
            "type": "object",
            "properties": {"page_size": {"type": "integer"}},
            "required": ["page_size"],
        }
        self._tool = Tool(namespace="api", name="list-items", input_schema=schema)
        self.pages_requested: list[int] = []

    def tools(self) -> list[Tool]:
        return [self._tool]

    def caller(self, tool: Tool) -> Caller:
        async def first_page(arguments: dict[str, Any]) -> list[int]:
            return list(range(arguments["page_size"]))

        return first_page

    def paginator(self, tool: Tool) -> Callable[[dict[str, Any], int], Awaitable[list[Any]]]:
        async def pages(arguments: dict[str, Any], max_pages: int) -> list[Any]:
            self.pages_requested.append(max_pages)
            return list(range(arguments["page_size"] * max_pages))

        return pages

    async def start(self) -> None:
        pass

    async def aclose(self) -> None:
        pass


def test_paginate_collects_pages_through_the_source() -> None:
    source = PagedSource()
    with CodeMode() as cm:
        cm.add_source(source)
        result = cm.execute("paginate(api.list_items, page_size=2, max_pages=3)")
        assert result.result == [0, 1, 2, 3, 4, 5], result.error
        assert [c.tool for c in result.tool_calls] == ["paginate"]
        awaited = cm.execute("await paginate(api.list_items, page_size=1)")
        assert awaited.result == list(range(10))
        assert source.pages_requested == [3, 10]
        refused = cm.execute("paginate(api.list_items, pagesize=2)")
        assert refused.error is not None
        assert refused.error.parameter in {"pagesize", "page_size"}
        assert "'pagesize'" in refused.error.message
        assert source.pages_requested == [3, 10]  # refused before anything ran


def test_paginate_needs_a_paginating_source() -> None:
    with CodeMode() as cm:
        cm.add_function(greet, namespace="people")
        result = cm.execute("paginate(people.greet, name='x')")
        assert result.error is not None
        assert (result.error.type, result.error.tool) == ("ToolError", "people.greet")
        assert cm.execute("paginate('nope')").error is not None


def test_a_program_run_again_is_checked_against_the_current_tools() -> None:
    """Analyses are reused for a program run again, but never across catalog changes."""

    def first(x: int) -> int:
        """First."""
        return x

    def second(y: int) -> int:
        """Second."""
        return y * 2

    with CodeMode(store="memory://") as cm:
        cm.add_function(first, namespace="ns")
        code = "ns.second(y=4)"
        refused = cm.execute(code)
        assert refused.error is not None
        assert "second" in refused.error.message
        assert cm.execute(code).error == refused.error  # the same answer, reused
        cm.add_function(second, namespace="ns")
        assert cm.execute(code).result == 8
