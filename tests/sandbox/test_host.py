"""The `artifacts` global and oversized values, through `CodeMode.execute`."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codemode import CodeMode, Limits
from codemode.artifacts import (
    ArtifactPolicy,
    FileArtifacts,
    MemoryArtifacts,
    StoreArtifacts,
    estimate_size,
    valid_id,
)
from codemode.results import ExecutionResult
from codemode.sandbox.host import store_value

MB = 1024 * 1024
RESULT_BYTES = 1000
TOOL_RESULT_BYTES = 2000
HANDLE_KEYS = {"artifact", "bytes", "kind", "uri", "preview", "length", "note"}


def json_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, allow_nan=False).encode())


def big_text(n: int) -> str:
    """Lines `line 0`, `line 1`, ... up to n."""
    return "\n".join(f"line {i}" for i in range(n))


def big_list(n: int) -> list[dict[str, Any]]:
    """n small records."""
    return [{"id": i, "name": f"item {i}"} for i in range(n)]


def big_dict(n: int) -> dict[str, int]:
    """n keys."""
    return {f"key{i}": i for i in range(n)}


@pytest.fixture(scope="module")
def cm() -> Iterator[CodeMode]:
    limits = Limits(timeout=10, result_bytes=RESULT_BYTES, tool_result_bytes=TOOL_RESULT_BYTES)
    with CodeMode(limits=limits) as instance:
        instance.add_functions("t", [big_text, big_list, big_dict, big_page])
        instance.start()
        yield instance


def ok(cm: CodeMode, code: str, session: str | None = None) -> Any:
    result = cm.execute(code, session=session)
    assert result.ok, result.error
    return result.result


def new_session() -> str:
    return f"s-{uuid.uuid4().hex[:8]}"


# ------------------------------------------------------------------------- put and get


def test_put_then_get_the_whole_value(cm: CodeMode) -> None:
    value = {"a": [1, 2.5, "ü", None, True], "b": {"c": "d"}}
    artifact_id = ok(cm, f"artifacts.put({value!r})")
    assert valid_id(artifact_id)
    assert ok(cm, f"artifacts.get({artifact_id!r})") == value
    # The host reads what the program stored.
    assert json.loads(cm.artifacts.get(artifact_id) or b"") == value


def test_string_slices_by_characters_and_lines(cm: CodeMode) -> None:
    code = """
a = artifacts.put("one\\ntwo\\nthree\\nfour")
[
    artifacts.get(a, 0, 3),
    artifacts.get(a, 4),
    artifacts.get(a, None, 3),
    artifacts.get(a, -4),
    artifacts.get(a, lines=True),
    artifacts.get(a, 1, 3, lines=True),
    artifacts.get(a, -1, lines=True),
    artifacts.get(a, start=2, stop=100, lines=True),
]
"""
    assert ok(cm, code) == [
        "one",
        "two\nthree\nfour",
        "one",
        "four",
        ["one", "two", "three", "four"],
        ["two", "three"],
        ["four"],
        ["three", "four"],
    ]


def test_list_slices_by_items(cm: CodeMode) -> None:
    code = """
a = artifacts.put([10, 11, 12, 13, 14])
[artifacts.get(a, 1, 3), artifacts.get(a, 3), artifacts.get(a, -2), artifacts.get(a, 9, 20)]
"""
    assert ok(cm, code) == [[11, 12], [13, 14], [13, 14], []]


def test_a_handle_works_in_place_of_its_id(cm: CodeMode) -> None:
    code = """
h = {"artifact": artifacts.put([1, 2, 3]), "preview": "..."}
[artifacts.get(h), artifacts.get(h, 1), artifacts.info(h)["length"], artifacts.delete(h)]
"""
    assert ok(cm, code) == [[1, 2, 3], [2, 3], 3, True]


def test_put_takes_a_name_and_plain_values(cm: CodeMode) -> None:
    code = """
a = artifacts.put((1, (2, 3)), name="pairs")
[artifacts.get(a), artifacts.info(a)["name"], artifacts.info(a)["kind"]]
"""
    assert ok(cm, code) == [[1, [2, 3]], "pairs", "list"]


def test_info_describes_without_reading(cm: CodeMode) -> None:
    session = new_session()
    info = ok(cm, "artifacts.info(artifacts.put('héllo', name='greeting'))", session)
    assert set(info) == {"id", "bytes", "kind", "length", "created", "expires", "session", "name"}
    assert (info["kind"], info["length"], info["bytes"]) == ("str", 5, json_size("héllo"))
    assert (info["session"], info["name"]) == (session, "greeting")
    assert info["expires"] > info["created"]
    stateless = ok(cm, "artifacts.info(artifacts.put(7))")
    assert (stateless["kind"], stateless["length"], stateless["bytes"]) == ("int", None, 1)
    assert "session" not in stateless
    assert "name" not in stateless
    cm.end_session(session)


def test_delete(cm: CodeMode) -> None:
    artifact_id = ok(cm, "artifacts.put('gone soon')")
    assert ok(cm, f"artifacts.delete({artifact_id!r})") is True
    assert ok(cm, f"artifacts.delete({artifact_id!r})") is False
    assert cm.artifacts.get(artifact_id) is None
    result = cm.execute(f"artifacts.get({artifact_id!r})")
    assert result.error is not None
    assert result.error.type == "ValueError"


def test_ids_stay_valid_across_executions_and_sessions(cm: CodeMode) -> None:
    one, two = new_session(), new_session()
    artifact_id = ok(cm, "artifacts.put([1, 2])", one)
    # An id is a capability: whoever holds it can read it, in any session.
    assert ok(cm, f"artifacts.get({artifact_id!r})", two) == [1, 2]
    assert ok(cm, f"artifacts.get({artifact_id!r})") == [1, 2]
    cm.end_session(one)
    cm.end_session(two)


# -------------------------------------------------------------------------------- list


def test_list_is_scoped_to_the_session(cm: CodeMode) -> None:
    one, two = new_session(), new_session()
    a = ok(cm, "artifacts.put('a', name='first')", one)
    b = ok(cm, "artifacts.put('b')", two)
    a2 = ok(cm, "artifacts.put('a2')", one)
    listed_one = ok(cm, "artifacts.list()", one)
    assert [i["id"] for i in listed_one] == [a, a2]  # oldest first
    assert [i.get("name") for i in listed_one] == ["first", None]
    assert all(i["session"] == one for i in listed_one)
    assert [i["id"] for i in ok(cm, "artifacts.list()", two)] == [b]
    # A stateless execution sees neither session's artifacts, only its own.
    code = "mine = artifacts.put('c')\n[mine, [i['id'] for i in artifacts.list()]]"
    mine, listed = ok(cm, code)
    assert listed == [mine]
    assert ok(cm, "artifacts.list()") == []
    # A session's artifacts outlive the session's state.
    cm.end_session(one)
    assert [i["id"] for i in ok(cm, "artifacts.list()", one)] == [a, a2]
    cm.end_session(one)
    cm.end_session(two)


def test_list_entries_are_the_public_fields(cm: CodeMode) -> None:
    session = new_session()
    ok(cm, "artifacts.put([1, 2, 3], name='n')", session)
    (entry,) = ok(cm, "artifacts.list()", session)
    assert set(entry) == {"id", "bytes", "kind", "length", "created", "expires", "session", "name"}
    assert (entry["kind"], entry["length"], entry["bytes"]) == ("list", 3, json_size([1, 2, 3]))
    cm.end_session(session)


# ------------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("code", "error_type"),
    [
        pytest.param("artifacts.get('art_' + '0' * 20)", "ValueError", id="unknown id"),
        pytest.param("artifacts.info('art_' + '0' * 20)", "ValueError", id="info unknown"),
        pytest.param("artifacts.get('not an id')", "ValueError", id="malformed id"),
        pytest.param("artifacts.get('../etc/passwd')", "ValueError", id="path-like id"),
        pytest.param("artifacts.delete('nope')", "ValueError", id="delete malformed"),
        pytest.param("artifacts.get(5)", "TypeError", id="int id"),
        pytest.param("artifacts.get(None)", "TypeError", id="None id"),
        pytest.param("artifacts.get({'id': 'x'})", "TypeError", id="dict without artifact"),
        pytest.param("artifacts.get({'artifact': 5})", "TypeError", id="handle with bad id"),
        pytest.param("artifacts.info([1])", "TypeError", id="info list"),
        pytest.param("artifacts.delete(3)", "TypeError", id="delete int"),
        pytest.param("artifacts.put(1, name=3)", "TypeError", id="name not str"),
        pytest.param("artifacts.get(artifacts.put([1]), 'a')", "TypeError", id="start str"),
        pytest.param("artifacts.get(artifacts.put([1]), 0, 1.5)", "TypeError", id="stop float"),
        pytest.param("artifacts.get(artifacts.put([1]), True)", "TypeError", id="start bool"),
        pytest.param("artifacts.get(artifacts.put({'a': 1}), 0, 1)", "TypeError", id="slice dict"),
        pytest.param("artifacts.get(artifacts.put(5), 0)", "TypeError", id="slice int"),
        pytest.param("artifacts.get(artifacts.put([1]), lines=True)", "TypeError", id="lines list"),
        pytest.param(
            "artifacts.get(artifacts.put({'a': 'b'}), lines=True)", "TypeError", id="lines dict"
        ),
    ],
)
def test_errors_are_python_exceptions_in_the_program(
    cm: CodeMode, code: str, error_type: str
) -> None:
    result = cm.execute(code)
    assert not result.ok
    assert result.error is not None
    assert result.error.type == error_type
    assert result.error.line == 1


def test_errors_are_catchable(cm: CodeMode) -> None:
    code = """
caught = []
for bad in ['art_' + '0' * 20, 5]:
    try:
        artifacts.get(bad)
    except ValueError:
        caught.append('ValueError')
    except TypeError:
        caught.append('TypeError')
caught
"""
    assert ok(cm, code) == ["ValueError", "TypeError"]


def test_put_over_the_store_limit_is_a_value_error() -> None:
    store = MemoryArtifacts(ArtifactPolicy(max_artifact_bytes=100))
    with CodeMode(artifacts=store) as small:
        result = small.execute("artifacts.put('x' * 200)")
        assert result.error is not None
        assert result.error.type == "ValueError"
        assert store.list() == []
        assert small.execute("artifacts.get(artifacts.put('x' * 50))").result == "x" * 50


# --------------------------------------------------------------------- oversized results


def check_handle(result: ExecutionResult, cm: CodeMode, value: Any, kind: str) -> dict[str, Any]:
    assert result.ok, result.error
    assert result.truncated is True
    handle = result.result
    assert isinstance(handle, dict)
    assert set(handle) == HANDLE_KEYS
    artifact_id = handle["artifact"]
    assert valid_id(artifact_id)
    assert handle["uri"] == f"codemode://artifacts/{artifact_id}"
    assert (handle["kind"], handle["length"]) == (kind, len(value))
    assert handle["bytes"] == json_size(value)
    assert isinstance(handle["note"], str)
    assert handle["note"]
    # The preview is plain JSON, well under the result cap.
    assert json_size(handle["preview"]) <= RESULT_BYTES
    assert json.loads(json.dumps(handle["preview"])) == handle["preview"]
    assert json.loads(cm.artifacts.get(artifact_id) or b"") == value
    info = cm.artifacts.info(artifact_id)
    assert info is not None
    assert (info.name, info.session, info.bytes) == ("result", result.session, handle["bytes"])
    return handle


def test_a_big_string_result_becomes_a_handle(cm: CodeMode) -> None:
    value = big_text(300)
    assert json_size(value) > RESULT_BYTES
    code = "'\\n'.join(['line ' + str(i) for i in range(300)])"
    handle = check_handle(cm.execute(code), cm, value, "str")
    assert isinstance(handle["preview"], str)
    assert handle["preview"].startswith("line 0\nline 1")


def test_a_big_list_result_becomes_a_handle(cm: CodeMode) -> None:
    code = "[{'id': i, 'name': 'item ' + str(i)} for i in range(100)]"
    handle = check_handle(cm.execute(code), cm, big_list(100), "list")
    assert handle["preview"][0] == {"id": 0, "name": "item 0"}


def test_a_big_result_is_readable_by_the_next_execution(cm: CodeMode) -> None:
    session = new_session()
    result = cm.execute("x = 'y' * 5000\nx", session=session)
    handle = check_handle(result, cm, "y" * 5000, "str")
    code = f"[artifacts.get({handle['artifact']!r}, 4990), [i['name'] for i in artifacts.list()]]"
    assert ok(cm, code, session) == ["y" * 10, ["result"]]
    cm.end_session(session)


def test_results_that_fit_are_returned_as_is(cm: CodeMode) -> None:
    small = cm.execute("'z' * 500")
    assert (small.result, small.truncated) == ("z" * 500, False)
    exact = cm.execute(f"'z' * {RESULT_BYTES - 2}")  # the JSON is exactly the cap
    assert (exact.result, exact.truncated) == ("z" * (RESULT_BYTES - 2), False)
    number = cm.execute("10 ** 2000")  # scalars are never stored
    assert number.truncated is False
    assert number.result == 10**2000


def test_a_result_too_big_for_the_store_is_shortened_instead() -> None:
    store = MemoryArtifacts(ArtifactPolicy(max_artifact_bytes=2000))
    with CodeMode(limits=Limits(result_bytes=500), artifacts=store) as small:
        result = small.execute("'w' * 5000")
    assert result.ok
    assert result.truncated is True
    assert isinstance(result.result, str)  # a cut string, not a handle
    assert result.result.startswith("w" * 50)
    assert json_size(result.result) <= 500
    assert store.list() == []


# ------------------------------------------------------------------ oversized tool results


def test_a_big_tool_result_reaches_the_program_as_a_handle(cm: CodeMode) -> None:
    value = big_text(1000)
    assert estimate_size(value, TOOL_RESULT_BYTES) > TOOL_RESULT_BYTES
    code = """
h = t.big_text(n=1000)
[
    sorted(h),
    h["kind"],
    h["length"],
    h["bytes"],
    artifacts.get(h, 0, 6),
    artifacts.get(h, 998, 1000, lines=True),
    artifacts.info(h)["name"],
]
"""
    result = cm.execute(code)
    assert result.ok, result.error
    keys, kind, length, size, head, tail, name = result.result
    assert keys == sorted(HANDLE_KEYS)
    assert (kind, length, size) == ("str", len(value), json_size(value))
    assert (head, tail) == ("line 0", ["line 998", "line 999"])
    assert name == "result of t.big_text"
    assert [(c.tool, c.ok) for c in result.tool_calls] == [("t.big_text", True)]


def test_a_big_list_tool_result_is_read_by_items(cm: CodeMode) -> None:
    code = """
h = t.big_list(n=500)
total = 0
for start in range(0, h["length"], 100):
    for row in artifacts.get(h, start, start + 100):
        total += row["id"]
[h["kind"], h["length"], total, artifacts.get(h, 499)]
"""
    assert ok(cm, code) == ["list", 500, sum(range(500)), [{"id": 499, "name": "item 499"}]]


def big_page(n: int) -> dict[str, Any]:
    """An API page: a few fields and a long list of items."""
    return {"total": n, "items": big_list(n)}


def test_a_big_dict_tool_result_is_read_whole_or_by_key(cm: CodeMode) -> None:
    code = "h = t.big_dict(n=500)\n[h['kind'], h['length'], artifacts.get(h)['key499']]"
    assert ok(cm, code) == ["dict", 500, 499]
    sliced = cm.execute("artifacts.get(t.big_dict(n=500), 0, 10)")
    assert sliced.error is not None
    assert sliced.error.type == "TypeError"
    code = "h = t.big_page(n=300)\n[h['keys'], artifacts.get(h, key='items', start=2, stop=3)]"
    assert ok(cm, code) == [["total", "items"], [{"id": 2, "name": "item 2"}]]
    missing = cm.execute("artifacts.get(t.big_page(n=300), key='rows')")
    assert missing.error is not None
    assert missing.error.type == "ValueError"
    not_dict = cm.execute("artifacts.get(t.big_list(n=300), key='rows')")
    assert not_dict.error is not None
    assert not_dict.error.type == "TypeError"


def test_a_tool_handle_returned_as_the_result_is_not_stored_again(cm: CodeMode) -> None:
    before = len(cm.artifacts.list())
    result = cm.execute("t.big_text(n=1000)")
    assert result.ok, result.error
    handle = result.result
    assert set(handle) == HANDLE_KEYS
    assert json.loads(cm.artifacts.get(handle["artifact"]) or b"") == big_text(1000)
    assert len(cm.artifacts.list()) == before + 1


def test_small_tool_results_are_not_stored(cm: CodeMode) -> None:
    before = len(cm.artifacts.list())
    assert ok(cm, "t.big_text(n=3)") == "line 0\nline 1\nline 2"
    assert ok(cm, "len(t.big_list(n=5))") == 5
    assert len(cm.artifacts.list()) == before


def test_a_tool_result_beyond_the_sandbox_memory_is_read_in_slices() -> None:
    def huge() -> str:
        """40 MB of text."""
        return "ab" * (20 * MB)

    limits = Limits(timeout=20, memory=32 * MB, tool_result_bytes=1 * MB)
    with CodeMode(limits=limits) as small:
        small.add_function(huge, namespace="t")
        result = small.execute("h = t.huge()\n[artifacts.get(h, 0, 100), h['bytes'], h['length']]")
        assert result.ok, result.error
        assert result.result == ["ab" * 50, 40 * MB + 2, 40 * MB]
        # The whole value would not have fitted in the sandbox.
        whole = small.execute("h = t.huge()\nlen(artifacts.get(h))")
        assert not whole.ok
        assert whole.error is not None
        assert whole.error.type in {"LimitExceeded", "MemoryError"}


def test_a_big_non_ascii_tool_result_is_kept_on_the_host() -> None:
    def cjk() -> str:
        """900 CJK characters: 2,702 bytes of JSON."""
        return "日本語" * 300

    with CodeMode(limits=Limits(tool_result_bytes=TOOL_RESULT_BYTES)) as small:
        small.add_function(cjk, namespace="t")
        result = small.execute("t.cjk()")
    assert json_size("日本語" * 300) > TOOL_RESULT_BYTES
    assert isinstance(result.result, dict)
    assert result.result["bytes"] == json_size("日本語" * 300)


def test_a_tool_result_too_big_for_the_store_is_a_tool_error() -> None:
    def big() -> str:
        """5 kB."""
        return "x" * 5000

    store = MemoryArtifacts(ArtifactPolicy(max_artifact_bytes=2000))
    with CodeMode(limits=Limits(tool_result_bytes=1000), artifacts=store) as small:
        small.add_function(big, namespace="t")
        result = small.execute("t.big()")
    assert result.error is not None
    assert (result.error.type, result.error.tool) == ("ToolError", "t.big")


# -------------------------------------------------------------------------- configuration


def test_artifacts_default_to_the_store() -> None:
    with CodeMode(store="memory://") as plain:
        assert isinstance(plain.artifacts, StoreArtifacts)
        artifact_id = plain.execute("artifacts.put('kept')").result
        assert plain.store.get_artifact(artifact_id) == b'"kept"'
    store = MemoryArtifacts()
    with CodeMode(artifacts=store) as given:
        assert given.artifacts is store
        artifact_id = given.execute("artifacts.put('mine')").result
    assert store.get(artifact_id) == b'"mine"'


def test_a_directory_store_persists_across_instances(tmp_path: Path) -> None:
    with CodeMode(artifacts=str(tmp_path), limits=Limits(result_bytes=100)) as first:
        assert isinstance(first.artifacts, FileArtifacts)
        kept = first.execute("artifacts.put({'kept': [1, 2, 3]}, name='k')").result
        spilled = first.execute("'q' * 1000").result["artifact"]
    with CodeMode(artifacts=tmp_path) as second:
        assert second.execute(f"artifacts.get({kept!r})").result == {"kept": [1, 2, 3]}
        assert second.execute(f"artifacts.get({spilled!r}, 0, 3)").result == "qqq"
        assert second.execute(f"artifacts.info({kept!r})['name']").result == "k"
    assert {p.name for p in tmp_path.iterdir()} == {
        f"{i}{suffix}" for i in (kept, spilled) for suffix in (".json", ".meta")
    }


def test_type_checked_programs_can_use_artifacts() -> None:
    code = """
a: str = artifacts.put([1, 2, 3], name="n")
part = artifacts.get(a, 0, 2)
whole = artifacts.get({"artifact": a})
text = artifacts.get(artifacts.put("x\\ny"), lines=True)
size: int = artifacts.info(a)["bytes"]
[part, whole, text, size, len(artifacts.list()), artifacts.delete(a)]
"""
    with CodeMode(type_check=True) as checked:
        result = checked.execute(code)
        assert result.ok, result.error
        assert result.result == [[1, 2], [1, 2, 3], ["x", "y"], 9, 2, True]
        wrong = checked.execute("artifacts.put(1, name=2)")
    assert wrong.error is not None
    assert wrong.error.type == "TypeCheckError"


def test_a_program_variable_named_artifacts_is_kept(cm: CodeMode) -> None:
    session = new_session()
    ok(cm, "artifacts = [1]", session)
    assert ok(cm, "artifacts", session) == [1]
    assert ok(cm, "artifacts.append(2)\nartifacts", session) == [1, 2]
    # Other sessions and stateless programs still have the global.
    assert valid_id(ok(cm, "artifacts.put(1)", new_session()))
    assert ok(cm, "artifacts = 'mine'\nartifacts") == "mine"
    assert valid_id(ok(cm, "artifacts.put(2)"))
    cm.end_session(session)


# --------------------------------------------------------------------------- store_value


def test_store_value_returns_a_handle() -> None:
    store = MemoryArtifacts()
    handle = store_value(store, ["a", "b"], session="s", execution="e", name="n")
    assert set(handle) == {"artifact", "bytes", "kind", "uri", "preview", "length"}
    assert (handle["kind"], handle["length"], handle["preview"]) == ("list", 2, ["a", "b"])
    assert handle["bytes"] == json_size(["a", "b"])
    info = store.info(handle["artifact"])
    assert info is not None
    assert (info.session, info.execution, info.name) == ("s", "e", "n")
    scalar = store_value(store, 12345)
    assert "length" not in scalar
    assert scalar["kind"] == "int"
    short = store_value(store, "x" * 5000, preview_bytes=100)
    assert json_size(short["preview"]) <= 100


@pytest.mark.parametrize("value", [{1, 2}, float("nan"), {"k": object()}])
def test_store_value_refuses_non_json(value: Any) -> None:
    store = MemoryArtifacts()
    with pytest.raises(ValueError, match="JSON"):
        store_value(store, value)
    assert store.list() == []
