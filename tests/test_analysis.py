"""The static pass: problems found before running, concurrency spans, names used."""

from __future__ import annotations

from codemode.analysis import CallSpec, accepts_extra_keywords, analyze, json_types

SPECS = {
    "fs": {
        "list_files": CallSpec(
            qualified="fs.list_files",
            parameters={
                "path": {"type": "string"},
                "recursive": {"type": "boolean", "default": False},
                "mode": {"enum": ["fast", "full"]},
                "depth": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
                "node": {"$ref": "#/$defs/Node"},
            },
            required=frozenset({"path"}),
            root={"$defs": {"Node": {"type": "object", "properties": {}}}},
        ),
        "read": CallSpec(
            qualified="fs.read", parameters={"path": {"type": "string"}}, required=frozenset()
        ),
    }
}


def problems(code: str) -> list[tuple[int, int, str | None]]:
    return [(p.line, p.column, p.parameter) for p in analyze(code, SPECS).problems]


def test_valid_calls_have_no_problems() -> None:
    assert problems('fs.list_files(path="/", recursive=True, mode="fast", depth=None)') == []
    assert problems("x = {}\nfs.list_files(path=f'{x}', node={'a': 1}, depth=-3)") == []


def test_unknown_keyword_names_parameter_and_position() -> None:
    result = analyze('x = 1\nfs.list_files(path="/", pth="/")', SPECS)
    [problem] = result.problems
    assert (problem.line, problem.column, problem.parameter) == (2, 25, "pth")
    assert problem.tool == "fs.list_files"
    assert "path" in problem.message  # the valid parameters are listed


def test_missing_required_argument() -> None:
    assert problems("fs.list_files(recursive=True)") == [(1, 1, "path")]


def test_missing_check_skipped_with_kwargs_splat() -> None:
    assert problems("args = {'path': '/'}\nfs.list_files(**args)") == []


def test_literal_type_mismatch() -> None:
    assert problems("fs.list_files(path=1)") == [(1, 20, "path")]
    assert problems('fs.list_files(path="/", recursive="yes")') == [(1, 35, "recursive")]
    assert problems('fs.list_files(path="/", depth="3")') == [(1, 31, "depth")]
    assert problems('fs.list_files(path="/", node=[1])') == [(1, 30, "node")]


def test_enum_value_checked() -> None:
    assert problems('fs.list_files(path="/", mode="slow")') == [(1, 30, "mode")]


def test_non_literal_arguments_are_not_judged() -> None:
    assert problems("p = 1\nfs.list_files(path=p, recursive=p)") == []


def test_positional_arguments_rejected() -> None:
    assert problems('fs.read("/x")') == [(1, 9, None)]


def test_unknown_tool_suggests_close_names() -> None:
    [problem] = analyze('fs.list_file(path="/")', SPECS).problems
    assert problem.tool == "fs.list_file"
    assert "fs.list_files" in problem.message


def test_rebound_namespace_is_not_checked() -> None:
    assert problems("fs = object()\nfs.anything(1)") == []


def test_from_import_alias_is_checked() -> None:
    assert problems("from fs import read as r\nr(pth='/')") == [(2, 3, "pth")]


def test_namespaces_and_names_used() -> None:
    result = analyze("import json\nfs.read(path='x')\nsearch('q')\nToolError", SPECS)
    assert result.namespaces == {"fs"}
    assert {"search", "ToolError"} <= result.names


def test_unparsable_code_is_left_to_the_sandbox() -> None:
    assert analyze("def f(:\n  pass", SPECS).parsed is False


def test_namespaces_are_still_found_in_code_cpython_cannot_parse() -> None:
    # 3.12 f-string syntax: the sandbox runs it, CPython 3.11's parser refuses it.
    result = analyze('r = fs.read(path="x")\nf"{r["a"]}"', SPECS)
    assert result.parsed is False
    assert result.namespaces == {"fs"}


def span_texts(code: str) -> set[str]:
    data = code.encode()
    return {data[s:e].decode() for s, e in analyze(code, SPECS).concurrent}


def test_awaited_and_gathered_calls_are_concurrent() -> None:
    code = (
        "import asyncio\n"
        "a = fs.read(path='sync')\n"
        "b = await fs.read(path='awaited')\n"
        "c = await asyncio.gather(fs.read(path='g1'), *[fs.read(path=p) for p in 'xy'])\n"
    )
    assert span_texts(code) == {
        "fs.read(path='awaited')",
        "fs.read(path='g1')",
        "fs.read(path=p)",
    }


def test_calls_building_a_gathered_list_are_concurrent() -> None:
    code = (
        "import asyncio\n"
        "tasks = [fs.read(path=p) for p in 'ab']\n"
        "more = []\n"
        "more.append(fs.read(path='é'))\n"
        "other = fs.read(path='not gathered')\n"
        "await asyncio.gather(*tasks, *more)\n"
    )
    assert span_texts(code) == {"fs.read(path=p)", "fs.read(path='é')"}


def test_json_types() -> None:
    root = {"$defs": {"A": {"type": ["string", "null"]}}}
    assert json_types({"$ref": "#/$defs/A"}, root) == {"string", "null"}
    assert json_types({"type": "integer", "nullable": True}, root) == {"integer", "null"}
    assert json_types({"oneOf": [{"type": "string"}, {}]}, root) is None
    assert json_types({"enum": [1, "a"]}, root) == {"integer", "string"}
    assert json_types({"$ref": "http://remote"}, root) is None
    assert json_types({}, root) is None


def test_open_tools_accept_extra_keywords() -> None:
    spec = CallSpec(
        qualified="kv.put", parameters={"key": {"type": "string"}}, required=frozenset(), open=True
    )
    found = analyze("kv.put(key='a', anything=1)", {"kv": {"put": spec}})
    assert found.problems == ()


def test_accepts_extra_keywords() -> None:
    assert accepts_extra_keywords({"type": "object", "additionalProperties": True})
    assert accepts_extra_keywords({"type": "object", "additionalProperties": {"type": "string"}})
    assert not accepts_extra_keywords({"type": "object", "properties": {}})
    assert not accepts_extra_keywords({"type": "object", "additionalProperties": False})
    assert accepts_extra_keywords({"type": "string"})
