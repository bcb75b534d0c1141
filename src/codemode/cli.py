"""The `codemode` command.

```
codemode exec   [--config FILE] [--session ID] [--json] CODE|FILE|-
codemode search [--config FILE] [--json] [--limit N] QUERY
codemode stubs  [--config FILE] [NAMESPACE]
codemode serve  [--config FILE] [--http HOST:PORT]
codemode doctor [--config FILE]
codemode demo
```

Without `--config`, `./codemode.toml` is used when it exists. With `--session`, the
session's state is kept between invocations in the data directory (`$CODEMODE_HOME`,
default `~/.local/share/codemode`). Exit status: 0 when the program ran, 1 when it
failed, 2 for a usage or configuration error.

`serve` runs an MCP server with two tools, `search` and `execute`, over stdio (or
streamable HTTP with `--http`) until the client disconnects; it logs to stderr only.
Upstream servers that fail to start are reported on stderr, one line each, and do not
stop the others; `doctor` shows every source's state and checks the sandbox. `demo`
shows code mode end to end on bundled example tools.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from codemode.config import Config, data_dir, load_config
from codemode.core import CodeMode
from codemode.errors import ConfigError, SourceError
from codemode.results import ExecutionResult

__all__ = ["main"]

DEFAULT_CONFIG = "codemode.toml"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="codemode",
        description="Run LLM-written Python programs against typed tools in a sandbox.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_config(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--config",
            metavar="FILE",
            help=f"codemode.toml with tools and limits (default: ./{DEFAULT_CONFIG} if present)",
        )

    run = commands.add_parser("exec", help="run a program and print what it produced")
    with_config(run)
    run.add_argument(
        "--session",
        metavar="ID",
        help="keep variables and functions in this session, across invocations",
    )
    run.add_argument("--json", action="store_true", help="print the full result as JSON")
    run.add_argument("code", metavar="CODE|FILE|-", help="program text, a .py file, or - for stdin")

    find = commands.add_parser("search", help="find tools by what they do")
    with_config(find)
    find.add_argument("--json", action="store_true", help="print hits as JSON")
    find.add_argument("--limit", type=int, default=8, metavar="N", help="hits to show (default 8)")
    find.add_argument("query", nargs="+", help="what you want to do")

    stubs = commands.add_parser("stubs", help="print the Python stubs programs code against")
    with_config(stubs)
    stubs.add_argument("namespace", nargs="?", help="only this namespace")

    mcp = commands.add_parser("serve", help="serve the tools as an MCP server (stdio by default)")
    with_config(mcp)
    mcp.add_argument(
        "--http",
        metavar="HOST:PORT",
        type=_host_port,
        help="serve streamable HTTP at http://HOST:PORT/mcp instead of stdio",
    )

    doctor = commands.add_parser("doctor", help="start every source and report its state")
    with_config(doctor)
    commands.add_parser("demo", help="code mode end to end, on bundled example tools")
    return parser


def _host_port(text: str) -> tuple[str, int]:
    """`HOST:PORT` (`[::1]:PORT` for IPv6) as a pair; argparse turns errors into usage."""
    host, sep, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT such as 127.0.0.1:8000, got {text!r}")
    return host, int(port)


def _config(path: str | None) -> Config:
    if path is not None:
        config = load_config(path)
    elif Path(DEFAULT_CONFIG).is_file():
        config = load_config(DEFAULT_CONFIG)
    else:
        config = Config()
    if config.artifacts_dir is None:
        # Artifacts outlive one `codemode exec` and one server process.
        config = dataclasses.replace(config, artifacts_dir=data_dir() / "artifacts")
    return config


def _read_code(arg: str) -> str:
    if arg == "-":
        return sys.stdin.read()
    candidate = Path(arg)
    if "\n" not in arg and len(arg) < 4096 and candidate.suffix == ".py" and candidate.is_file():
        return candidate.read_text(encoding="utf-8")
    return arg


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `codemode` command."""
    args = _parser().parse_args(argv)
    if args.command == "demo":
        from codemode.demo import main as demo

        return demo()
    try:
        config = _config(args.config)
        cm = config.build()
    except (ConfigError, SourceError) as exc:
        print(f"codemode: {exc}", file=sys.stderr)
        return 2
    with cm:
        if args.command == "doctor":
            return _doctor(cm)
        if config.servers:
            _start(cm)
        if args.command == "exec":
            return _exec(cm, args)
        if args.command == "search":
            return _search(cm, args)
        if args.command == "serve":
            return _serve(cm, args)
        return _stubs(cm, args)


def _exec(cm: CodeMode, args: argparse.Namespace) -> int:
    try:
        code = _read_code(args.code)
    except OSError as exc:
        print(f"codemode: cannot read program: {exc}", file=sys.stderr)
        return 2
    state_file = _session_file(args.session) if args.session else None
    if state_file is not None and state_file.is_file():
        cm.load_session(args.session, state_file.read_bytes())
    result = cm.execute(code, session=args.session)
    if state_file is not None:
        _save_session(cm, args.session, state_file)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False, default=str))
    else:
        _print_result(result)
    return 0 if result.ok else 1


def _session_file(session: str) -> Path:
    # Session ids are free text; hash them into a safe file name.
    digest = hashlib.sha256(session.encode()).hexdigest()[:32]
    return data_dir() / "sessions" / f"{digest}.state"


def _save_session(cm: CodeMode, session: str, path: Path) -> None:
    """Keep a CLI session's state between invocations (written atomically)."""
    state = cm.dump_session(session)
    if state is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as tmp:
            tmp.write(state)
        os.replace(tmp.name, path)
    except OSError as exc:
        print(f"codemode: could not save session {session!r}: {exc}", file=sys.stderr)


def _print_result(result: ExecutionResult) -> None:
    if result.stdout:
        sys.stdout.write(result.stdout if result.stdout.endswith("\n") else result.stdout + "\n")
    if result.ok and result.result is not None:
        print(json.dumps(result.result, indent=2, ensure_ascii=False, default=str))
    if result.error is not None:
        err = result.error
        where = f" (line {err.line})" if err.line else ""
        print(f"{err.type}{where}: {err.message}", file=sys.stderr)
    if result.truncated:
        print("(output truncated)", file=sys.stderr)
    calls = len(result.tool_calls)
    print(
        f"[{calls} tool call{'s' if calls != 1 else ''}, {result.duration_ms:.1f} ms]",
        file=sys.stderr,
    )


def _search(cm: CodeMode, args: argparse.Namespace) -> int:
    if args.limit < 1:
        print("codemode: --limit must be at least 1", file=sys.stderr)
        return 2
    query = " ".join(args.query)
    hits = cm.search(query, limit=args.limit)
    if args.json:
        print(json.dumps([h.to_dict() for h in hits], indent=2))
        return 0
    if not hits:
        print(f"no tools match {query!r} ({len(cm.tools())} tools registered)")
        return 0
    for hit in hits:
        print(f"{hit.signature.removeprefix('def ')}\n    {hit.summary[:200]}")
    print(f"\nshowing {len(hits)} of {len(cm.tools())} tools")
    return 0


def _stubs(cm: CodeMode, args: argparse.Namespace) -> int:
    try:
        text = cm.stubs(args.namespace)
    except ConfigError as exc:
        print(f"codemode: {exc}", file=sys.stderr)
        return 2
    print(text)
    return 0


def _serve(cm: CodeMode, args: argparse.Namespace) -> int:
    # stdout is the protocol channel on stdio: everything here goes to stderr.
    try:
        from codemode.server import serve  # the MCP SDK is needed only to serve
    except ImportError as exc:
        print(f"codemode: serve needs the MCP SDK ({exc}); pip install mcp", file=sys.stderr)
        return 2
    # Sources and sandbox workers start before the first client arrives (in main);
    # upstream servers that failed have reported there, one line each.
    cm.start()
    tools, namespaces = len(cm.tools()), len(cm.namespaces())
    if args.http is None:
        where = "stdio"
    else:
        host, port = args.http
        where = f"http://{f'[{host}]' if ':' in host else host}:{port}/mcp"
    print(
        f"codemode: serving {tools} tool{'' if tools == 1 else 's'} in {namespaces} "
        f"namespace{'' if namespaces == 1 else 's'} over {where}",
        file=sys.stderr,
    )
    try:
        if args.http is None:
            serve(cm, "stdio")
        else:
            # uvicorn stops gracefully on SIGTERM, then re-raises it: leave through `with cm`
            # (stopping workers and upstream servers) rather than by the default action.
            signal.signal(signal.SIGTERM, _interrupt)
            serve(cm, "http", host, port)
    except KeyboardInterrupt:
        pass
    return 0


def _start(cm: CodeMode) -> list[str]:
    """Start every source; report each one that failed on stderr. Returns the failed."""
    cm.start()
    failed = [ns for ns, state in cm.source_status().items() if state.startswith("failed")]
    for namespace in failed:
        state = cm.source_status()[namespace]
        print(
            f"codemode: server {namespace!r} {state} (its tools are unavailable)", file=sys.stderr
        )
    return failed


def _doctor(cm: CodeMode) -> int:
    """Print each source's state and check the sandbox; exit 1 if anything is wrong."""
    started = time.perf_counter()
    cm.start()
    elapsed = time.perf_counter() - started
    status = cm.source_status()
    width = max((len(ns) for ns in status), default=0)
    for namespace, state in status.items():
        mark = "ok  " if state.startswith("ready") else "FAIL"
        print(f"{mark} {namespace.ljust(width)}  {state}")
    probe = cm.execute("sum(range(10))")
    sandbox_ok = probe.ok and probe.result == 45
    print(
        f"{'ok  ' if sandbox_ok else 'FAIL'} sandbox{' ' * max(width - 7, 0)}  "
        f"{'runs programs' if sandbox_ok else probe.error} ({probe.duration_ms:.1f} ms)"
    )
    failures = sum(not state.startswith("ready") for state in status.values())
    failures += not sandbox_ok
    print(
        f"\n{len(cm.tools())} tools in {len(cm.namespaces())} namespaces, started in "
        f"{elapsed:.1f} s; {failures} problem{'s' if failures != 1 else ''}"
    )
    return 1 if failures else 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
