"""Tool-call policy: which decision each tool gets, and what `deny` does to a program.

Precedence, most specific first: an exact rule or the source's own mapping, the longest
wildcard rule, the source's single value, a read-only source, then the tool's hints.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from codemode import CodeMode
from codemode.catalog import Tool, ToolAnnotations
from codemode.errors import ConfigError
from codemode.policy import DECISIONS, Policy, check_decision


def tool(name: str, namespace: str = "ns", **hints: bool) -> Tool:
    return Tool(namespace=namespace, name=name, annotations=ToolAnnotations(**hints))


# -- decisions from the hints ---------------------------------------------------------


def test_decisions_are_the_four_documented_values() -> None:
    assert DECISIONS == ("allow", "deny", "approve", "approve_run")
    for decision in DECISIONS:
        assert check_decision(decision, "x") == decision


def test_without_rules_hints_decide() -> None:
    policy = Policy()
    assert policy.decide(tool("plain")) == "allow"
    assert policy.decide(tool("reader", read_only=True)) == "allow"
    assert policy.decide(tool("wiper", destructive=True)) == "approve"
    assert policy.decide(tool("wiper", destructive=True, read_only=False)) == "approve"
    # read-only wins over a contradictory destructive hint
    assert policy.decide(tool("odd", destructive=True, read_only=True)) == "allow"
    assert policy.decide(tool("safe", destructive=False)) == "allow"


# -- explicit rules -------------------------------------------------------------------


def test_exact_rule_beats_wildcards_and_hints() -> None:
    policy = Policy({"ns.*": "deny", "*": "deny", "ns.wiper": "allow"})
    assert policy.decide(tool("wiper", destructive=True)) == "allow"
    assert policy.decide(tool("other")) == "deny"


def test_longest_wildcard_wins_whatever_the_order() -> None:
    rules = {"*": "deny", "ns.*": "approve", "ns.w*": "allow", "ns.wr?te": "approve_run"}
    for ordered in (rules, dict(reversed(list(rules.items())))):
        policy = Policy(ordered)
        assert policy.decide(tool("write")) == "approve_run"  # "ns.wr?te" is the longest
        assert policy.decide(tool("wipe")) == "allow"
        assert policy.decide(tool("read")) == "approve"
        assert policy.decide(tool("read", namespace="other")) == "deny"


def test_wildcards_beat_hints_and_match_case_sensitively() -> None:
    policy = Policy({"ns.*": "allow", "NS.*": "deny"})
    assert policy.decide(tool("wiper", destructive=True)) == "allow"
    assert policy.decide(tool("plain", namespace="other", destructive=True)) == "approve"


def test_setting_a_rule_again_replaces_it() -> None:
    policy = Policy({"ns.*": "deny", "ns.t": "deny"})
    policy.set("ns.*", "approve")
    policy.set("ns.t", "allow")
    assert policy.decide(tool("t")) == "allow"
    assert policy.decide(tool("u")) == "approve"
    assert policy.rules() == {"ns.t": "allow", "ns.*": "approve"}


# -- a source's own policy ------------------------------------------------------------


def test_source_mapping_beats_wildcards() -> None:
    policy = Policy({"ns.*": "deny", "*": "deny"})
    policy.set_source("ns", {"write": "approve", "read": "allow"})
    assert policy.decide(tool("write")) == "approve"
    assert policy.decide(tool("read")) == "allow"
    assert policy.decide(tool("other")) == "deny"
    # the mapping belongs to its namespace only
    assert policy.decide(tool("read", namespace="else")) == "deny"


def test_exact_rule_beats_source_mapping() -> None:
    policy = Policy({"ns.write": "deny"})
    policy.set_source("ns", {"write": "allow"})
    assert policy.decide(tool("write")) == "deny"


def test_source_mapping_by_original_name_or_identifier() -> None:
    policy = Policy()
    policy.set_source("ns", {"delete-item": "deny", "put_item": "approve"})
    assert policy.decide(tool("delete-item")) == "deny"
    assert policy.decide(tool("put-item")) == "approve"  # its identifier is put_item
    assert policy.decide(tool("get-item")) == "allow"


def test_wildcard_beats_source_single_value() -> None:
    policy = Policy({"ns.read*": "allow"})
    policy.set_source("ns", "approve")
    assert policy.decide(tool("read_all")) == "allow"
    assert policy.decide(tool("write")) == "approve"
    assert policy.decide(tool("harmless", read_only=True)) == "approve"


def test_source_single_value_beats_read_only_and_hints() -> None:
    policy = Policy()
    policy.set_source("ns", "allow", read_only=True)
    assert policy.decide(tool("write", read_only=False)) == "allow"
    assert policy.decide(tool("wiper", destructive=True)) == "allow"


def test_read_only_source_denies_tools_not_marked_read_only() -> None:
    policy = Policy()
    policy.set_source("ns", read_only=True)
    assert policy.decide(tool("read", read_only=True)) == "allow"
    assert policy.decide(tool("unknown")) == "deny"  # no hint: not known to be read-only
    assert policy.decide(tool("write", read_only=False)) == "deny"
    assert policy.decide(tool("wiper", destructive=True)) == "deny"  # not even approvable
    # rules still win over read-only
    policy.set("ns.write", "approve")
    policy.set("ns.u*", "allow")
    assert policy.decide(tool("write", read_only=False)) == "approve"
    assert policy.decide(tool("unknown")) == "allow"


def test_set_tool_adds_to_the_sources_mapping() -> None:
    policy = Policy({"ns.*": "deny"})
    policy.set_source("ns", {"a": "approve"})
    policy.set_tool("ns", "b", "allow")
    assert policy.decide(tool("a")) == "approve"
    assert policy.decide(tool("b")) == "allow"
    assert policy.decide(tool("c")) == "deny"


# -- invalid values -------------------------------------------------------------------


@pytest.mark.parametrize("value", ["yes", "Allow", "", None, 1, "approve-run"])
def test_invalid_decisions_are_config_errors(value: Any) -> None:
    with pytest.raises(ConfigError) as info:
        Policy({"ns.t": value})
    message = str(info.value)
    assert "ns.t" in message
    assert "'allow', 'deny', 'approve', 'approve_run'" in message
    if value is not None:  # None: the source has no policy of its own
        with pytest.raises(ConfigError):
            Policy().set_source("ns", value)
    with pytest.raises(ConfigError):
        Policy().set_source("ns", {"t": value})
    with pytest.raises(ConfigError):
        Policy().set_tool("ns", "t", value)


def test_an_empty_pattern_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="names a tool or a pattern"):
        Policy({"": "allow"})


def test_codemode_refuses_a_bad_policy_rule() -> None:
    with pytest.raises(ConfigError, match=r"'ops\.write'"):
        CodeMode(store="memory://", policy={"ops.write": "sometimes"})


# -- through CodeMode -----------------------------------------------------------------


class Ops:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def read(self) -> str:
        """Read something."""
        self.calls.append("read")
        return "data"

    def write(self, text: str) -> str:
        """Write something."""
        self.calls.append(f"write {text}")
        return f"wrote {text}"

    def wipe(self) -> str:
        """Wipe everything."""
        self.calls.append("wipe")
        return "wiped"


@pytest.fixture
def ops() -> Ops:
    return Ops()


@pytest.fixture
def made() -> Iterator[list[CodeMode]]:
    instances: list[CodeMode] = []
    yield instances
    for instance in instances:
        instance.close()


def codemode(made: list[CodeMode], **kwargs: Any) -> CodeMode:
    instance = CodeMode(store="memory://", **kwargs)
    made.append(instance)
    return instance


def test_bad_add_function_policy_registers_nothing(ops: Ops, made: list[CodeMode]) -> None:
    cm = codemode(made)
    with pytest.raises(ConfigError, match=r"ops\.write"):
        cm.add_function(ops.write, namespace="ops", policy="maybe")
    assert cm.namespaces() == []
    cm.add_function(ops.read, namespace="ops")
    with pytest.raises(ConfigError):
        cm.add_function(ops.write, namespace="ops", policy="maybe")
    assert [t.qualified for t in cm.tools()] == ["ops.read"]
    with pytest.raises(ConfigError):
        cm.add_functions("more", [ops.write, ops.wipe], policy="no")
    assert cm.namespaces() == ["ops"]
    result = cm.execute("ops.write(text='x')")
    assert result.error is not None
    assert result.error.type == "ToolError"
    assert result.error.message.startswith("namespace 'ops' has no tool 'write'")
    assert ops.calls == []


def test_bad_source_policy_registers_nothing(made: list[CodeMode]) -> None:
    cm = codemode(made)
    spec = _spec()
    with pytest.raises(ConfigError, match="'api'"):
        cm.add_openapi("api", spec=spec, policy="whatever")
    with pytest.raises(ConfigError, match=r"api\.deleteItem"):
        cm.add_openapi("api", spec=spec, policy={"deleteItem": "nope"})
    with pytest.raises(ConfigError, match="'srv'"):
        cm.add_mcp("srv", command="never-started-xyz", policy="on")
    with pytest.raises(ConfigError, match=r"srv\.t"):
        cm.add_mcp("srv", command="never-started-xyz", policy={"t": "off"})
    assert cm.source_status() == {}
    # the names are still free
    cm.add_openapi("api", spec=spec, policy={"deleteItem": "deny"})
    assert [t.qualified for t in cm.tools("api")] == [
        "api.create_item",
        "api.delete_item",
        "api.get_item",
    ]


def test_deny_refuses_without_calling_the_tool(ops: Ops, made: list[CodeMode]) -> None:
    cm = codemode(made)
    cm.add_function(ops.read, namespace="ops")
    cm.add_function(ops.wipe, namespace="ops", policy="deny")
    result = cm.execute("a = ops.read()\nops.wipe()\n'unreachable'")
    assert result.ok is False
    assert result.status == "error"
    assert result.error is not None
    assert result.error.type == "ToolError"
    assert result.error.message == "ops.wipe is not allowed here (policy: deny)"
    assert result.error.line == 2
    assert result.approval_id is None
    assert [(c.tool, c.ok) for c in result.tool_calls] == [("ops.read", True), ("ops.wipe", False)]
    assert ops.calls == ["read"]


def test_a_denied_call_can_be_caught(ops: Ops, made: list[CodeMode]) -> None:
    cm = codemode(made, policy={"ops.wipe": "deny"})
    cm.add_functions("ops", [ops.read, ops.wipe])
    code = (
        "try:\n    ops.wipe()\n    out = 'wiped'\n"
        "except ToolError as exc:\n    out = 'refused: ' + str(exc)\n"
        "[out, ops.read()]"
    )
    result = cm.execute(code)
    assert result.ok, result.error
    assert result.result == ["refused: ops.wipe is not allowed here (policy: deny)", "data"]
    assert ops.calls == ["read"]


def test_deny_applies_through_paginate(ops: Ops, made: list[CodeMode]) -> None:
    cm = codemode(made, policy={"ops.*": "deny"})
    cm.add_function(ops.read, namespace="ops")
    result = cm.execute("paginate(ops.read)")
    assert result.error is not None
    assert result.error.type == "ToolError"
    assert result.error.message == "ops.read is not allowed here (policy: deny)"
    assert ops.calls == []


def test_destructive_hint_needs_approval_unless_a_policy_says_otherwise(
    ops: Ops, made: list[CodeMode]
) -> None:
    cm = codemode(made)
    cm.add_function(ops.wipe, namespace="ops", annotations=ToolAnnotations(destructive=True))
    cm.add_function(
        ops.write,
        namespace="ops",
        annotations=ToolAnnotations(destructive=True),
        policy="allow",
    )
    paused = cm.execute("ops.wipe()")
    assert paused.status == "approval_required"
    assert paused.pending == {"tool": "ops.wipe", "args": {}}
    ran = cm.execute("ops.write(text='ok')")
    assert ran.ok, ran.error
    assert ran.result == "wrote ok"
    assert ops.calls == ["write ok"]


def test_codemode_rules_against_add_function_policy(ops: Ops, made: list[CodeMode]) -> None:
    # exact rule > the source's own mapping > wildcard rule
    cm = codemode(made, policy={"ops.*": "deny", "ops.wipe": "allow"})
    cm.add_function(ops.read, namespace="ops", policy="allow")
    cm.add_function(ops.wipe, namespace="ops", policy="deny")
    cm.add_function(ops.write, namespace="ops")
    result = cm.execute(
        "out = [ops.read(), ops.wipe()]\n"
        "try:\n    ops.write(text='x')\nexcept ToolError as exc:\n    out.append(str(exc))\nout"
    )
    assert result.ok, result.error
    assert result.result == ["data", "wiped", "ops.write is not allowed here (policy: deny)"]
    assert ops.calls == ["read", "wipe"]


def test_openapi_delete_needs_approval_and_read_only_denies_writes(made: list[CodeMode]) -> None:
    cm = codemode(made)
    cm.add_openapi("api", spec=_spec())
    cm.add_openapi("ro", spec=_spec(), read_only=True)
    cm.add_openapi("mapped", spec=_spec(), policy={"create_item": "approve", "deleteItem": "deny"})
    paused = cm.execute("api.delete_item(id=3)")
    assert paused.status == "approval_required"
    assert paused.pending == {"tool": "api.delete_item", "args": {"id": 3}}
    for code, tool_name in [
        ("ro.delete_item(id=3)", "ro.delete_item"),
        ("ro.create_item(name='n')", "ro.create_item"),
        ("mapped.delete_item(id=3)", "mapped.delete_item"),
    ]:
        result = cm.execute(code)
        assert result.error is not None, code
        assert result.error.message == f"{tool_name} is not allowed here (policy: deny)"
    paused = cm.execute("mapped.create_item(name='n')")
    assert paused.pending == {"tool": "mapped.create_item", "args": {"name": "n"}}


def test_add_functions_policy_is_a_mapping_that_beats_wildcards(
    ops: Ops, made: list[CodeMode]
) -> None:
    cm = codemode(made, policy={"ops.re*": "allow"})
    cm.add_functions("ops", [ops.read, ops.write], policy="approve")
    paused = cm.execute("ops.read()")
    assert paused.status == "approval_required"
    assert paused.pending == {"tool": "ops.read", "args": {}}
    assert ops.calls == []


def test_wildcard_beats_a_source_single_value(made: list[CodeMode]) -> None:
    cm = codemode(made, policy={"api.get*": "deny"})
    cm.add_openapi("api", spec=_spec(), policy="approve")
    denied = cm.execute("api.get_item(id=1)")
    assert denied.error is not None
    assert denied.error.message == "api.get_item is not allowed here (policy: deny)"
    paused = cm.execute("api.create_item(name='n')")  # no hint of its own: the source's value
    assert paused.pending == {"tool": "api.create_item", "args": {"name": "n"}}


def _spec() -> dict[str, Any]:
    """An API with a GET, a POST and a DELETE; its server is never reached."""
    item_id = [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]
    body = {"type": "object", "properties": {"name": {"type": "string"}}}
    return {
        "openapi": "3.0.0",
        "info": {"title": "items", "version": "1"},
        "servers": [{"url": "http://127.0.0.1:9"}],
        "paths": {
            "/items/{id}": {
                "get": {
                    "operationId": "getItem",
                    "parameters": item_id,
                    "responses": {"200": {"description": "ok"}},
                },
                "delete": {
                    "operationId": "deleteItem",
                    "parameters": item_id,
                    "responses": {"204": {"description": "gone"}},
                },
            },
            "/items": {
                "post": {
                    "operationId": "createItem",
                    "requestBody": {"content": {"application/json": {"schema": body}}},
                    "responses": {"200": {"description": "ok"}},
                }
            },
        },
    }
