"""Tests for codemode.sources.commands: command-line programs as tools (real processes)."""

from __future__ import annotations

import os
import select
import signal
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from codemode import CodeMode
from codemode.catalog import Catalog, Source, Tool, ToolAnnotations
from codemode.errors import ConfigError, ToolError
from codemode.sources.commands import CommandSource

PY = sys.executable


async def call(source: CommandSource, tool: Tool, arguments: dict[str, Any]) -> Any:
    """One call through the source's caller, as the bridge makes it."""
    caller = source.caller(tool)
    with anyio.fail_after(30):
        return await caller(arguments)


def script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "script.py"
    path.write_text(body)
    return str(path)


async def read_pid(fifo: Path) -> int:
    """The pid a command writes to the FIFO `fifo`, waited for without polling."""
    fd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)  # read-write: opening never blocks
    try:
        data = b""
        while not data.endswith(b"\n"):
            await anyio.wait_readable(fd)
            data += os.read(fd, 64)
        return int(data)
    finally:
        os.close(fd)


def wait_gone(pid: int, timeout: float = 10.0) -> bool:
    """True once process `pid` has ended (exited, or a zombie waiting to be reaped)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = select.select([fd], [], [], timeout)  # readable when it ends
        return bool(readable)
    finally:
        os.close(fd)


# --- registration ---------------------------------------------------------------------


def test_placeholders_become_required_string_parameters() -> None:
    source = CommandSource("sh", description="Shell helpers")
    tool = source.add("copy", ["cp", "{src}", "--to={dest}", "{src}.bak"])
    assert isinstance(source, Source)
    assert tool.qualified == "sh.copy"
    assert tool.input_schema == {
        "type": "object",
        "properties": {"src": {"type": "string"}, "dest": {"type": "string"}},
        "required": ["src", "dest"],
        "additionalProperties": False,
    }
    assert "cp '{src}' '--to={dest}' '{src}.bak'" in tool.description
    assert tool.output_schema is not None
    assert set(tool.output_schema["required"]) == {"exit_code", "stdout", "stderr"}
    assert tool.output_schema["properties"]["stdout"]["type"] == "string"
    assert source.tools() == (tool,)
    assert source.description == "Shell helpers"


def test_no_placeholders_means_no_parameters_and_description_wins() -> None:
    source = CommandSource("sh")
    annotations = ToolAnnotations(read_only=True)
    tool = source.add("today", ["date"], description="Today's date.", annotations=annotations)
    assert tool.input_schema["properties"] == {}
    assert "required" not in tool.input_schema
    assert tool.description == "Today's date."
    assert tool.annotations == annotations


def test_parameters_override_the_schema() -> None:
    source = CommandSource("sh")
    tool = source.add(
        "head",
        ["head", "-n", "{count}", "{path}"],
        parameters={
            "count": {"type": "integer", "minimum": 1, "description": "Lines to show."},
            "path": {"description": "The file."},
        },
    )
    assert tool.parameters["count"] == {
        "type": "integer",
        "minimum": 1,
        "description": "Lines to show.",
    }
    assert tool.parameters["path"] == {"type": "string", "description": "The file."}


def test_stdin_adds_an_optional_parameter() -> None:
    tool = CommandSource("sh").add("wc", ["wc", "-l"], stdin=True)
    assert tool.parameters["stdin"]["type"] == "string"
    assert "stdin" not in tool.required


def test_json_output_schema_leaves_stdout_untyped() -> None:
    tool = CommandSource("sh").add("js", ["echo", "{{}}"], output="json")
    assert tool.output_schema is not None
    assert "type" not in tool.output_schema["properties"]["stdout"]


@pytest.mark.parametrize(
    ("command", "parameters"),
    [
        ([], None),
        ("echo hi", None),  # a string, not an argv list
        (["echo", "{1}"], None),
        (["echo", "{}"], None),
        (["echo", "{a.b}"], None),
        (["echo", "{name!r}"], None),
        (["echo", "{name:>5}"], None),
        (["echo", "{class}"], None),
        (["echo", "a}b"], None),
        (["echo", "{open"], None),
        (["echo", "{name}"], {"nmae": {"type": "string"}}),
        (["echo", "hi"], {"name": {"type": "string"}}),
    ],
)
def test_bad_commands_are_config_errors(command: Any, parameters: Any) -> None:
    with pytest.raises(ConfigError):
        CommandSource("sh").add("bad", command, parameters=parameters)


def test_other_config_errors() -> None:
    source = CommandSource("sh")
    source.add("greet", ["echo", "hi"])
    with pytest.raises(ConfigError, match="already registered"):
        source.add("greet", ["echo", "again"])
    with pytest.raises(ConfigError):
        source.add("cat", ["cat", "{stdin}"], stdin=True)
    with pytest.raises(ConfigError):
        source.add("slow", ["sleep", "1"], timeout=0)
    with pytest.raises(ConfigError):
        source.add("fmt", ["echo"], output="yaml")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        source.add("envy", ["echo"], env={"A": 1})  # type: ignore[dict-item]
    with pytest.raises(ConfigError):
        CommandSource("print")  # would shadow a sandbox global
    assert [t.name for t in source.tools()] == ["greet"]


def test_caller_refuses_a_foreign_tool() -> None:
    source = CommandSource("sh")
    other = CommandSource("sh").add("greet", ["echo"])
    with pytest.raises(ConfigError):
        source.caller(other)


def test_env_values_never_appear_in_the_tool_or_repr() -> None:
    secret = "s3cr3t-value-do-not-show"
    source = CommandSource("sh")
    tool = source.add("api", ["curl", "{url}"], env={"API_TOKEN": secret, "MODE": "fast"})
    text = repr(source)
    assert secret not in text
    assert "fast" not in text
    assert "API_TOKEN" in text
    assert "'***'" in text
    assert "curl" in text
    assert secret not in repr(tool)
    assert secret not in repr(source.caller(tool))
    catalog = Catalog()
    catalog.add_source(source)
    assert secret not in repr(catalog.get("sh.api"))
    assert secret not in str(tool.input_schema) + str(tool.output_schema) + tool.description


def test_catalog_registers_the_tools() -> None:
    source = CommandSource("sh")
    source.add("list-files", ["ls", "{path}"])
    catalog = Catalog()
    catalog.add_source(source)
    entry = catalog.get("sh.list_files")
    assert entry is not None
    assert entry.tool.name == "list-files"


# --- running --------------------------------------------------------------------------


@pytest.mark.anyio
async def test_placeholder_values_stay_one_argument() -> None:
    source = CommandSource("sh")
    tool = source.add(
        "args", [PY, "-c", "import json, sys; print(json.dumps(sys.argv[1:]))", "{a}", "x{b}y"]
    )
    result = await call(source, tool, {"a": "two words; rm -rf /", "b": 7})
    assert result["exit_code"] == 0
    assert result["stdout"].strip() == '["two words; rm -rf /", "x7y"]'
    assert result["stderr"] == ""
    assert "truncated" not in result


@pytest.mark.anyio
async def test_literal_braces() -> None:
    source = CommandSource("sh")
    tool = source.add("braces", ["echo", "{{x}} {value} }}"])
    result = await call(source, tool, {"value": "v"})
    assert result["stdout"] == "{x} v }\n"


@pytest.mark.anyio
async def test_missing_and_unknown_arguments_are_tool_errors() -> None:
    source = CommandSource("sh")
    tool = source.add("greet", ["echo", "{name}"])
    with pytest.raises(ToolError) as missing:
        await call(source, tool, {})
    assert missing.value.parameter == "name"
    with pytest.raises(ToolError) as unknown:
        await call(source, tool, {"name": "x", "nmae": "y"})
    assert unknown.value.parameter == "nmae"


@pytest.mark.anyio
async def test_stdin_is_written_to_the_process() -> None:
    source = CommandSource("sh")
    tool = source.add(
        "upper", [PY, "-c", "import sys; print(sys.stdin.read().upper())"], stdin=True
    )
    result = await call(source, tool, {"stdin": "héllo\nworld"})
    assert result["stdout"] == "HÉLLO\nWORLD\n"
    empty = await call(source, tool, {})  # no stdin given: the program reads EOF at once
    assert empty["stdout"] == "\n"


@pytest.mark.anyio
async def test_large_stdin_to_a_program_that_does_not_read_it() -> None:
    source = CommandSource("sh")
    tool = source.add("ignore", ["true"], stdin=True)
    result = await call(source, tool, {"stdin": "x" * 1_000_000})
    assert result["exit_code"] == 0


@pytest.mark.anyio
async def test_json_output() -> None:
    source = CommandSource("sh")
    body = "import json; print(json.dumps({{'n': {n}, 'items': [1, 2]}}))"
    tool = source.add(
        "data", [PY, "-c", body], output="json", parameters={"n": {"type": "integer"}}
    )
    result = await call(source, tool, {"n": 3})
    assert result["stdout"] == {"n": 3, "items": [1, 2]}
    assert result["exit_code"] == 0


@pytest.mark.anyio
async def test_invalid_json_output_is_a_tool_error() -> None:
    source = CommandSource("sh")
    tool = source.add("notjson", ["echo", "this is not json"], output="json")
    with pytest.raises(ToolError) as caught:
        await call(source, tool, {})
    assert caught.value.tool == "sh.notjson"
    assert "this is not json" in caught.value.message


@pytest.mark.anyio
async def test_failed_command_with_json_output_and_check_false_keeps_its_text() -> None:
    source = CommandSource("sh")
    tool = source.add("fail", ["sh", "-c", "echo oops; exit 2"], output="json", check=False)
    result = await call(source, tool, {})
    assert result == {"exit_code": 2, "stdout": "oops\n", "stderr": ""}


@pytest.mark.anyio
async def test_non_zero_exit_raises_with_the_end_of_stderr() -> None:
    source = CommandSource("sh")
    body = "for i in $(seq 1 100); do echo line$i >&2; done; exit 3"
    tool = source.add("fail", ["sh", "-c", body])
    with pytest.raises(ToolError) as caught:
        await call(source, tool, {})
    message = caught.value.message
    assert caught.value.tool == "sh.fail"
    assert "status 3" in message
    assert "line100" in message
    assert "line80\n" not in message  # only the last 20 lines are quoted
    assert "line81" in message


@pytest.mark.anyio
async def test_non_zero_exit_with_check_false_returns_the_result() -> None:
    source = CommandSource("sh")
    tool = source.add("fail", ["sh", "-c", "echo out; echo err >&2; exit 4"], check=False)
    result = await call(source, tool, {})
    assert result == {"exit_code": 4, "stdout": "out\n", "stderr": "err\n"}


@pytest.mark.anyio
async def test_timeout_kills_the_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    source = CommandSource("sh")
    tool = source.add("hang", ["sh", "-c", f"sleep 30 & echo $! > {pidfile}; wait"], timeout=1.0)
    with anyio.fail_after(15):
        with pytest.raises(ToolError) as caught:
            await call(source, tool, {})
    assert "timed out after 1 s" in caught.value.message
    child = int(pidfile.read_text())
    assert wait_gone(child)


@pytest.mark.anyio
async def test_cancelled_call_kills_the_process_group(tmp_path: Path) -> None:
    fifo = tmp_path / "pid"
    os.mkfifo(fifo)
    source = CommandSource("sh")
    tool = source.add("hang", ["sh", "-c", f"sleep 30 & echo $! > {fifo}; wait"])

    async def run() -> None:
        await source.caller(tool)({})

    with anyio.fail_after(15):
        async with anyio.create_task_group() as tg:
            tg.start_soon(run)
            child = await read_pid(fifo)
            tg.cancel_scope.cancel()
    assert wait_gone(child)


@pytest.mark.anyio
async def test_aclose_kills_the_calls_still_running(tmp_path: Path) -> None:
    fifo = tmp_path / "pid"
    os.mkfifo(fifo)
    source = CommandSource("sh")
    tool = source.add("hang", ["sh", "-c", f"sleep 30 & echo $! > {fifo}; wait"], check=False)
    results: list[dict[str, Any]] = []

    async def run() -> None:
        results.append(await source.caller(tool)({}))

    with anyio.fail_after(15):
        async with anyio.create_task_group() as tg:
            tg.start_soon(run)
            child = await read_pid(fifo)
            await source.aclose()
    assert results[0]["exit_code"] == -signal.SIGKILL
    assert wait_gone(child)


@pytest.mark.anyio
async def test_background_children_do_not_outlive_the_call(tmp_path: Path) -> None:
    source = CommandSource("sh")
    tool = source.add("spawn", ["sh", "-c", "sleep 30 >/dev/null 2>&1 & echo $!"])
    result = await call(source, tool, {})
    assert wait_gone(int(result["stdout"]))


@pytest.mark.anyio
async def test_missing_executable_is_a_tool_error() -> None:
    source = CommandSource("sh")
    tool = source.add("nope", ["no-such-program-codemode-test", "{x}"])
    with pytest.raises(ToolError) as caught:
        await call(source, tool, {"x": "1"})
    assert caught.value.tool == "sh.nope"
    assert "no-such-program-codemode-test" in caught.value.message
    assert "Traceback" not in caught.value.message


@pytest.mark.anyio
async def test_env_is_passed_and_the_host_env_is_not(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEMODE_TEST_LEAK", "leaked")
    source = CommandSource("sh")
    body = "import json, os; print(json.dumps(dict(os.environ)))"
    tool = source.add("env", [PY, "-c", body], env={"GREETING": "hi"}, output="json")
    env = (await call(source, tool, {}))["stdout"]
    assert env["GREETING"] == "hi"
    assert "CODEMODE_TEST_LEAK" not in env
    assert "CODEMODE_HOME" not in env  # set by the test suite's conftest
    assert env["PATH"] == os.environ["PATH"]
    allowed = {"HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER", "LANG", "LC_ALL", "TMPDIR"}
    # The interpreter may add a few of its own (LC_CTYPE coercion), never host ones.
    assert set(env) - allowed - {"GREETING", "LC_CTYPE"} == set()


@pytest.mark.anyio
async def test_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = CommandSource("sh")
    fixed = source.add("fixed", ["pwd"], cwd=tmp_path)
    here = source.add("here", ["pwd"])
    assert (await call(source, fixed, {}))["stdout"].strip() == str(tmp_path.resolve())
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.chdir(other)  # the default is the working directory at call time
    assert (await call(source, here, {}))["stdout"].strip() == str(other.resolve())
    gone = source.add("gone", ["pwd"], cwd=tmp_path / "missing")
    with pytest.raises(ToolError):
        await call(source, gone, {})


@pytest.mark.anyio
async def test_output_beyond_the_limit_is_cut() -> None:
    source = CommandSource("sh")
    body = "import sys; sys.stdout.write('x' * 200_000); sys.stderr.write('e' * 50)"
    tool = source.add("chatty", [PY, "-c", body], max_output_bytes=100)
    result = await call(source, tool, {})
    assert result["stdout"] == "x" * 100
    assert result["stderr"] == "e" * 50
    assert result["truncated"] is True


@pytest.mark.anyio
async def test_invalid_utf8_is_replaced() -> None:
    source = CommandSource("sh")
    tool = source.add("bytes", [PY, "-c", "import sys; sys.stdout.buffer.write(b'a\\xffb')"])
    assert (await call(source, tool, {}))["stdout"] == "a\ufffdb"


@pytest.mark.anyio
async def test_script_file(tmp_path: Path) -> None:
    path = script(tmp_path, "import sys\nprint(sum(int(a) for a in sys.argv[1:]))\n")
    source = CommandSource("sh")
    tool = source.add("add", [PY, path, "{a}", "{b}"], parameters={"a": {"type": "integer"}})
    assert (await call(source, tool, {"a": 2, "b": "3"}))["stdout"] == "5\n"


@pytest.mark.anyio
async def test_a_closed_source_refuses_calls_until_started_again() -> None:
    source = CommandSource("sh")
    tool = source.add("hi", ["echo", "hi"])
    await source.start()
    await source.aclose()
    await source.aclose()  # idempotent
    with pytest.raises(ToolError):
        await call(source, tool, {})
    await source.start()
    assert (await call(source, tool, {}))["stdout"] == "hi\n"


# --- through the library ----------------------------------------------------------------


def test_through_codemode(tmp_path: Path) -> None:
    src = CommandSource("sh", description="Shell helpers")
    src.add("greet", ["echo", "hello {name}"])
    src.add(
        "count",
        [PY, "-c", "print(len(__import__('sys').stdin.read().split()))"],
        stdin=True,
    )
    src.add("fail", ["sh", "-c", "echo bad thing >&2; exit 1"])
    src.add(
        "double", [PY, "-c", "print({n} * 2)"], output="json", parameters={"n": {"type": "integer"}}
    )
    with CodeMode(store="memory://") as cm:
        cm.add_source(src)
        r = cm.execute('sh.greet(name="x")["stdout"]')
        assert r.ok, r.error
        assert r.result == "hello x\n"
        r = cm.execute('sh.count(stdin="a b c")["stdout"].strip()')
        assert r.result == "3"
        r = cm.execute("sh.double(n=21)['stdout']")
        assert r.result == 42
        r = cm.execute('sh.double(n="21")')  # the schema is checked before running
        assert not r.ok
        assert r.error is not None
        assert r.error.parameter == "n"
        r = cm.execute("sh.fail()")
        assert not r.ok
        assert r.error is not None
        assert r.error.type == "ToolError"
        assert r.error.tool == "sh.fail"
        assert "bad thing" in r.error.message
        r = cm.execute("try:\n    sh.fail()\nexcept ToolError as e:\n    out = 'caught'\nout")
        assert r.result == "caught"
        assert cm.namespace_description("sh") == "Shell helpers"
