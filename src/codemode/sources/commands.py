"""Command-line programs as tools.

`CommandSource` turns argv templates into `Tool`s of one namespace:
`add("greet", ["echo", "hello {name}"])` is a tool `greet(name: str)` that runs `echo`
with one argument. Each `{placeholder}` becomes a required parameter (a string unless
`parameters=` says otherwise) and is substituted inside its argv element, so a value
never splits into several arguments and no shell ever parses it. `{{` and `}}` are
literal braces, as in `str.format`.

A call runs the program in its own process group, with a small environment (a few
harmless host variables, then the tool's `env`), and returns
`{"exit_code", "stdout", "stderr"}`; a timeout or a cancelled call kills the whole group,
and nothing the call started outlives it. `env` values stay on the host: no tool
description, schema or repr shows them. (The program's own output is returned as it is:
a command that prints its environment reveals it.)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import keyword
import os
import shlex
import signal
import string
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio

from codemode.catalog import Tool, ToolAnnotations, check_namespace, to_identifier
from codemode.errors import ConfigError, ToolError

__all__ = ["HOST_ENV", "CommandSource"]

HOST_ENV: tuple[str, ...] = (
    "HOME",
    "LOGNAME",
    "PATH",
    "SHELL",
    "TERM",
    "USER",
    "LANG",
    "LC_ALL",
    "TMPDIR",
)
"""The host environment variables a command inherits (when set); everything else in its
environment comes from the tool's `env`."""

_STDIN = "stdin"
_ERROR_LINES = 20  # of stderr quoted when a command fails
_ERROR_CHARS = 2000
_JSON_QUOTE = 200  # chars of invalid JSON output quoted in the error
_CHUNK = 65536
_REAP_GRACE = 5.0  # seconds to wait for a killed process group's pipes to close
_RESULT_DOCS = {
    "exit_code": "The exit status; negative when the process was killed by that signal.",
    "stdout": "The standard output.",
    "stderr": "The standard error output.",
    "truncated": "Present (true) when an output exceeded the size limit and was cut.",
}


@dataclass(frozen=True, slots=True)
class _Template:
    """One argv element: literal text and placeholder names, alternating."""

    parts: tuple[tuple[str, str | None], ...]  # (literal, placeholder or None)

    def source(self) -> str:
        """The element as written (literal braces doubled again)."""
        return "".join(
            text.replace("{", "{{").replace("}", "}}") + ("" if name is None else f"{{{name}}}")
            for text, name in self.parts
        )

    def render(self, values: Mapping[str, Any]) -> str:
        """The element with each placeholder replaced by `str()` of its value."""
        return "".join(
            text + ("" if name is None else str(values[name])) for text, name in self.parts
        )


@dataclass(kw_only=True)
class _Calls:
    """A source's calls in flight (their process groups), and whether it is closed."""

    groups: set[int] = field(default_factory=set)
    closed: bool = False


@dataclass(frozen=True, kw_only=True)
class _Command:
    """Everything one tool needs to run its program."""

    qualified: str
    argv: tuple[_Template, ...]
    placeholders: tuple[str, ...]
    env: Mapping[str, str] = field(repr=False)  # secrets: the caller's repr must not show them
    cwd: str | None
    timeout: float
    stdin: bool
    output: Literal["text", "json"]
    check: bool
    max_output_bytes: int
    calls: _Calls

    async def run(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """Run the program once with `arguments` substituted; see `CommandSource.add`."""
        self._check(arguments)
        argv = [element.render(arguments) for element in self.argv]
        text = arguments.get(_STDIN) if self.stdin else None
        data = text.encode() if isinstance(text, str) else None
        if self.cwd is not None and not os.path.isdir(self.cwd):
            raise ToolError(
                f"{self.qualified}: working directory {self.cwd!r} does not exist",
                tool=self.qualified,
            )
        if self.calls.closed:
            raise ToolError(f"{self.qualified}: the source is closed", tool=self.qualified)
        try:
            process = await self._spawn(argv, piped=data is not None)
        except FileNotFoundError:
            raise ToolError(
                f"{self.qualified}: command {argv[0]!r} not found", tool=self.qualified
            ) from None
        except PermissionError:
            raise ToolError(
                f"{self.qualified}: command {argv[0]!r} is not executable", tool=self.qualified
            ) from None
        except (OSError, ValueError) as exc:  # e.g. a NUL byte in an argument
            raise ToolError(
                f"{self.qualified}: cannot run {argv[0]!r}: {exc}", tool=self.qualified
            ) from None
        return await self._finish(process, argv, data)

    async def _spawn(self, argv: list[str], *, piped: bool) -> asyncio.subprocess.Process:
        """Start the program in a new process group with the minimal environment."""
        env = {name: os.environ[name] for name in HOST_ENV if name in os.environ}
        env.update(self.env)
        spawn = asyncio.ensure_future(
            asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE if piped else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                cwd=self.cwd,
                start_new_session=True,
            )
        )
        try:
            return await asyncio.shield(spawn)
        except asyncio.CancelledError:
            # Cancelled while starting: asyncio would kill the process but not the
            # children it may have started already, so let the start finish and end the
            # whole group.
            with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                process = await spawn
                _kill_group(process.pid)
                await _reap(process)
            raise

    async def _finish(
        self, process: asyncio.subprocess.Process, argv: list[str], data: bytes | None
    ) -> dict[str, Any]:
        """Feed, drain and wait for `process`; kill its group if that does not end well."""
        assert process.stdout is not None
        assert process.stderr is not None
        self.calls.groups.add(process.pid)
        if self.calls.closed:  # closed while the program was starting
            _kill_group(process.pid)
        finished = False
        try:
            async with asyncio.timeout(self.timeout):
                (out, out_cut), (err, err_cut), _, code = await asyncio.gather(
                    _read(process.stdout, self.max_output_bytes),
                    _read(process.stderr, self.max_output_bytes),
                    _feed(process.stdin, data),
                    process.wait(),
                )
            finished = True
        except TimeoutError:
            raise ToolError(
                f"{self.qualified}: `{shlex.join(argv)}` timed out after {self.timeout:g} s "
                f"and was killed",
                tool=self.qualified,
            ) from None
        finally:
            # Also after a normal exit: background children must not outlive the call.
            _kill_group(process.pid)
            self.calls.groups.discard(process.pid)
            if not finished:
                await _reap(process)
        stdout = out.decode("utf-8", errors="replace")
        stderr = err.decode("utf-8", errors="replace")
        if code != 0 and self.check:
            raise ToolError(
                f"{self.qualified}: `{argv[0]}` {_status(code)}: {_tail(stderr, stdout)}",
                tool=self.qualified,
            )
        result: dict[str, Any] = {"exit_code": code, "stdout": stdout, "stderr": stderr}
        if self.output == "json":
            result["stdout"] = self._parse(stdout, cut=out_cut, failed=code != 0)
        if out_cut or err_cut:
            result["truncated"] = True
        return result

    def _check(self, arguments: Mapping[str, Any]) -> None:
        """Refuse missing and unknown arguments (the bridge checks them too; direct
        callers of the source get the same protection)."""
        for name in self.placeholders:
            if name not in arguments:
                raise ToolError(
                    f"{self.qualified}() is missing required argument {name!r}",
                    tool=self.qualified,
                    parameter=name,
                )
        allowed = {*self.placeholders, *([_STDIN] if self.stdin else [])}
        for name in arguments:
            if name not in allowed:
                valid = ", ".join(sorted(allowed)) or "none"
                raise ToolError(
                    f"{self.qualified}() got an unexpected argument {name!r} (parameters: {valid})",
                    tool=self.qualified,
                    parameter=name,
                )
        text = arguments.get(_STDIN)
        if text is not None and not isinstance(text, str):
            raise ToolError(
                f"{self.qualified}(): stdin must be a string, got {type(text).__name__}",
                tool=self.qualified,
                parameter=_STDIN,
            )

    def _parse(self, stdout: str, *, cut: bool, failed: bool) -> Any:
        """The JSON value of `stdout`; a failed command's non-JSON message stays text."""
        try:
            return json.loads(stdout)
        except json.JSONDecodeError as exc:
            if failed:
                return stdout
            start = stdout[:_JSON_QUOTE] + ("..." if len(stdout) > _JSON_QUOTE else "")
            why = f" (it was cut at {self.max_output_bytes} bytes)" if cut else ""
            raise ToolError(
                f"{self.qualified}: the output is not valid JSON{why}: {exc.msg} at line "
                f"{exc.lineno} column {exc.colno}; it starts with {start!r}",
                tool=self.qualified,
            ) from None


class CommandSource:
    """A namespace of tools that run command-line programs (implements `Source`)."""

    def __init__(self, namespace: str, *, description: str | None = None) -> None:
        # Checked here as well as by the catalog so a bad name fails where it is written.
        check_namespace(namespace)
        self._namespace = namespace
        self.description = description or ""
        """One line about the namespace, for overviews."""
        self._entries: dict[str, tuple[Tool, _Command]] = {}
        self._calls = _Calls()

    def __repr__(self) -> str:
        # The argv as given (the model sees it anyway); env values never.
        shown = ", ".join(
            f"{tool.name}={_command_repr(cmd)}" for tool, cmd in self._entries.values()
        )
        return f"CommandSource({self._namespace!r}{', ' + shown if shown else ''})"

    @property
    def namespace(self) -> str:
        """The namespace every tool of this source lives in."""
        return self._namespace

    def add(
        self,
        name: str,
        command: Sequence[str],
        *,
        description: str = "",
        parameters: Mapping[str, Mapping[str, Any]] | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        timeout: float = 60.0,
        stdin: bool = False,
        output: Literal["text", "json"] = "text",
        check: bool = True,
        max_output_bytes: int = 10 * 1024 * 1024,
        annotations: ToolAnnotations | None = None,
    ) -> Tool:
        """Register the tool `name`, which runs `command` (an argv list, never a shell).

        Each `{placeholder}` in an element is a required parameter, a string unless
        `parameters` gives its JSON Schema (`{"count": {"type": "integer"}}`); values are
        substituted with `str()`. `stdin=True` adds an optional `stdin` parameter whose
        text is written to the program's standard input. `env` is added to a minimal
        environment (`HOST_ENV`); put credentials there, not in `command`, whose text the
        model sees. `cwd` defaults to the host's working directory at call time.

        A call returns `{"exit_code", "stdout", "stderr"}` (plus `"truncated": True` when
        an output exceeded `max_output_bytes`); `output="json"` parses stdout as JSON (the
        text stays when a failed command printed no JSON). With `check`, a non-zero exit
        status is a `ToolError` quoting the end of stderr.
        Raises `ConfigError` for an empty command, a malformed or unknown placeholder, or
        a name already taken in this namespace.
        """
        identifier = to_identifier(name)
        qualified = f"{self._namespace}.{identifier}"
        if identifier in self._entries:
            raise ConfigError(f"{qualified} is already registered; pick another name")
        if isinstance(command, str) or not command:
            raise ConfigError(
                f"{qualified}: command must be a non-empty list of arguments "
                f"(e.g. ['ls', '-l', '{{path}}']), got {command!r}"
            )
        if not all(isinstance(part, str) for part in command):
            raise ConfigError(f"{qualified}: every element of command must be a string")
        argv = tuple(_template(part, qualified) for part in command)
        placeholders = tuple(
            dict.fromkeys(name for t in argv for _, name in t.parts if name is not None)
        )
        if stdin and _STDIN in placeholders:
            raise ConfigError(
                f"{qualified}: placeholder {{stdin}} clashes with the stdin parameter "
                f"that stdin=True adds; rename the placeholder"
            )
        _check_options(qualified, env, timeout, output, max_output_bytes)
        tool = Tool(
            namespace=self._namespace,
            name=name,
            identifier=identifier,
            description=description or _describe(command, stdin=stdin, check=check),
            input_schema=_input_schema(qualified, placeholders, parameters or {}, stdin=stdin),
            output_schema=_output_schema(output),
            annotations=annotations or ToolAnnotations(),
        )
        self._entries[identifier] = (
            tool,
            _Command(
                qualified=qualified,
                argv=argv,
                placeholders=placeholders,
                env=dict(env or {}),
                cwd=os.fspath(cwd) if cwd is not None else None,
                timeout=timeout,
                stdin=stdin,
                output=output,
                check=check,
                max_output_bytes=max_output_bytes,
                calls=self._calls,
            ),
        )
        return tool

    def tools(self) -> Sequence[Tool]:
        """The registered tools, in registration order."""
        return tuple(tool for tool, _ in self._entries.values())

    def caller(self, tool: Tool) -> Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]:
        """The coroutine function performing `tool`'s calls: `(args: dict) -> result`."""
        entry = self._entries.get(tool.identifier)
        if entry is None or entry[0].name != tool.name:
            raise ConfigError(f"tool {tool.qualified} does not belong to this source")
        return entry[1].run

    async def start(self) -> None:
        """Nothing to connect: the tools are known from registration. Starting a closed
        source makes its tools callable again."""
        self._calls.closed = False

    async def aclose(self) -> None:
        """Kill the process groups of the calls still running (they end with exit status
        -9) and refuse new calls until `start()`. Idempotent."""
        self._calls.closed = True
        for group in list(self._calls.groups):
            _kill_group(group)


# --- registration --------------------------------------------------------------------


def _template(element: str, qualified: str) -> _Template:
    """Parse one argv element; `ConfigError` for a placeholder that is not a plain name."""
    try:
        pieces = list(string.Formatter().parse(element))
    except ValueError as exc:
        raise ConfigError(
            f"{qualified}: cannot parse command element {element!r} ({exc}); "
            f"write literal braces as {{{{ and }}}}"
        ) from None
    parts: list[tuple[str, str | None]] = []
    for text, name, spec, conversion in pieces:
        if name is None:
            parts.append((text, None))
            continue
        if not name.isidentifier() or keyword.iskeyword(name) or spec or conversion:
            raise ConfigError(
                f"{qualified}: placeholder {{{name}{'!' + conversion if conversion else ''}"
                f"{':' + spec if spec else ''}}} in {element!r}: a placeholder is a Python name "
                f"like {{path}}, with no conversion or format spec; write literal braces "
                f"as {{{{ and }}}}"
            )
        parts.append((text, name))
    return _Template(tuple(parts))


def _check_options(
    qualified: str,
    env: Mapping[str, str] | None,
    timeout: float,
    output: str,
    max_output_bytes: int,
) -> None:
    # The message names the variable, never its value.
    for key, value in (env or {}).items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ConfigError(f"{qualified}: env must map strings to strings (see {key!r})")
    if not timeout > 0:
        raise ConfigError(f"{qualified}: timeout must be positive, got {timeout!r}")
    if output not in ("text", "json"):
        raise ConfigError(f"{qualified}: output must be 'text' or 'json', got {output!r}")
    if max_output_bytes < 0:
        raise ConfigError(f"{qualified}: max_output_bytes must not be negative")


def _input_schema(
    qualified: str,
    placeholders: Sequence[str],
    overrides: Mapping[str, Mapping[str, Any]],
    *,
    stdin: bool,
) -> dict[str, Any]:
    """Object schema: each placeholder (a string unless overridden), then `stdin`."""
    for key, override in overrides.items():
        if key not in placeholders:
            found = ", ".join(f"{{{p}}}" for p in placeholders) or "none"
            raise ConfigError(
                f"{qualified}: parameters names {key!r}, but the command has no "
                f"placeholder {{{key}}} (placeholders: {found})"
            )
        if not isinstance(override, Mapping):
            raise ConfigError(f"{qualified}: parameters[{key!r}] must be a JSON Schema object")
    properties: dict[str, Any] = {}
    for name in placeholders:
        given = dict(overrides.get(name, {}))
        typed = {"type", "anyOf", "oneOf", "allOf", "enum", "const", "$ref"} & given.keys()
        properties[name] = given if typed else {"type": "string", **given}
    if stdin:
        properties[_STDIN] = {
            "type": "string",
            "description": "Text written to the program's standard input.",
        }
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if placeholders:
        schema["required"] = list(placeholders)
    schema["additionalProperties"] = False
    return schema


def _output_schema(output: str) -> dict[str, Any]:
    """The shape of a call's result."""
    properties: dict[str, Any] = {
        "exit_code": {"type": "integer", "description": _RESULT_DOCS["exit_code"]},
        "stdout": {"type": "string", "description": _RESULT_DOCS["stdout"]},
        "stderr": {"type": "string", "description": _RESULT_DOCS["stderr"]},
        "truncated": {"type": "boolean", "description": _RESULT_DOCS["truncated"]},
    }
    if output == "json":
        properties["stdout"] = {"description": "The standard output, parsed as JSON."}
    return {
        "type": "object",
        "properties": properties,
        "required": ["exit_code", "stdout", "stderr"],
    }


def _describe(command: Sequence[str], *, stdin: bool, check: bool) -> str:
    """The default description: what runs, and what the model should expect."""
    text = f"Runs `{shlex.join(command)}`."
    if stdin:
        text += " The `stdin` text is written to its standard input."
    if check:
        text += " Fails when it exits with a non-zero status."
    return text


def _command_repr(command: _Command) -> str:
    """The argv templates as written, and the env with every value masked."""
    argv = [element.source() for element in command.argv]
    env = f" env={_masked(command.env)!r}" if command.env else ""
    return f"{argv!r}{env}"


def _masked(env: Mapping[str, str]) -> dict[str, str]:
    """`env` with every value replaced by `***`: the names help, the values are secrets."""
    return dict.fromkeys(env, "***")


# --- running -------------------------------------------------------------------------


async def _read(stream: asyncio.StreamReader, limit: int) -> tuple[bytes, bool]:
    """Everything `stream` yields until EOF, kept up to `limit` bytes; (data, was cut).

    The rest is read and dropped, so a chatty program never blocks on a full pipe.
    """
    kept = bytearray()
    cut = False
    while chunk := await stream.read(_CHUNK):
        room = limit - len(kept)
        if len(chunk) > room:
            kept += chunk[:room]
            cut = True
        else:
            kept += chunk
    return bytes(kept), cut


async def _feed(stream: asyncio.StreamWriter | None, data: bytes | None) -> None:
    """Write `data` to the program's stdin and close it (a program may stop reading)."""
    if stream is None or data is None:
        return
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        stream.write(data)
        await stream.drain()
    stream.close()


async def _reap(process: asyncio.subprocess.Process) -> None:
    """Wait (briefly) for a killed process and its pipes, so its transport closes.

    Shielded: a cancelled call (a cancel scope cancels on every await) must still
    collect its process, or the transport would be left open.
    """
    if process.stdin is not None:
        process.stdin.close()
    streams = [s for s in (process.stdout, process.stderr) if s is not None]
    with anyio.CancelScope(shield=True), anyio.move_on_after(_REAP_GRACE):
        await asyncio.gather(process.wait(), *(_read(stream, 0) for stream in streams))


def _kill_group(group: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)


def _status(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by signal {signal.Signals(-code).name}"
    return f"exited with status {code}"


def _tail(stderr: str, stdout: str) -> str:
    """The end of stderr (else of stdout), where programs say what went wrong."""
    text, where = (stderr, "") if stderr.strip() else (stdout, "(stdout) ")
    if not text.strip():
        return "(no output)"
    lines = text.strip().splitlines()[-_ERROR_LINES:]
    tail = "\n".join(lines)
    if len(tail) > _ERROR_CHARS:
        tail = "..." + tail[-_ERROR_CHARS:]
    return where + tail
