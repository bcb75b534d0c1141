"""The `codemode` command.

```
codemode exec   [--config FILE] [--session ID] [--json] CODE|FILE|-
codemode search [--config FILE] [--json] [--limit N] QUERY
codemode stubs  [--config FILE] [NAMESPACE]
codemode serve  [--config FILE] [--http HOST:PORT] [--session ID]
codemode workspace ls [PREFIX] | cat PATH | rm PATH
codemode library   ls | show NAME [--version N] | rm NAME
codemode approve  [--config FILE] [--json] ID
codemode deny     [--config FILE] [--json] ID
codemode approvals [--config FILE] [--json] [--session ID]
codemode audit    [--config FILE] [--json] [--session ID] [--since WHEN] [--limit N]
codemode doctor [--config FILE]
codemode demo
```

Without `--config`, `./codemode.toml` is used when it exists. State lives in the store
(`[store] url`; default a SQLite file in `$CODEMODE_HOME`, else
`~/.local/share/codemode`): with `--session`, a session's variables are kept there
between invocations, and `serve --session` continues the same session across
reconnections and restarts. `workspace` and `library` show and remove what programs
saved (for the configured project and agent). Exit status: 0 when the program ran (or
the command succeeded), 1 when it failed, 2 for a usage or configuration error, 3 when
the program paused at a call that needs approval.

A paused program is continued with `approve ID` (the call runs, the program goes on) or
`deny ID` (the call raises ToolError in the program), from any process using the same
store and configuration; `approvals` lists the programs waiting. `audit` prints every
execution recorded in the store (`--since 2h`, `--since 2026-11-21T09:00`).

`serve` runs an MCP server with two tools, `search` and `execute`, over stdio (or
streamable HTTP with `--http`) until the client disconnects; it logs to stderr only.
Upstream servers that fail to start are reported on stderr, one line each, and do not
stop the others; `doctor` shows every source's state and checks the sandbox. `demo`
shows code mode end to end on bundled example tools.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from codemode.audit import format_audit, parse_since
from codemode.config import Config, load_config
from codemode.core import CodeMode
from codemode.errors import ApprovalError, ConfigError, SourceError
from codemode.library import missing_message
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
    mcp.add_argument(
        "--session",
        metavar="ID",
        help="run every execute in this session, kept across reconnections and restarts "
        "(default: a fresh session per connection)",
    )

    files = commands.add_parser("workspace", help="list, print or remove /workspace files")
    with_config(files)
    file_actions = files.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = file_actions.add_parser("ls", help="list files (under PREFIX)")
    listing.add_argument("prefix", nargs="?", default="", help="a folder or path prefix")
    file_actions.add_parser("cat", help="print a file").add_argument("path")
    file_actions.add_parser("rm", help="remove a file").add_argument("path")

    library = commands.add_parser("library", help="list, show or remove saved functions")
    with_config(library)
    library_actions = library.add_subparsers(dest="action", required=True, metavar="ACTION")
    library_actions.add_parser("ls", help="list saved functions (latest versions)")
    show = library_actions.add_parser("show", help="print a function's source and history")
    show.add_argument("name")
    show.add_argument("--version", type=int, metavar="N", help="this version (default: latest)")
    library_actions.add_parser("rm", help="remove every version of a function").add_argument("name")

    for verb, what in (("approve", "run the call and continue"), ("deny", "refuse the call")):
        decide = commands.add_parser(verb, help=f"decide a paused program's call: {what}")
        with_config(decide)
        decide.add_argument("--json", action="store_true", help="print the result as JSON")
        decide.add_argument("approval_id", metavar="ID", help="the approval id (apr_...)")

    waiting = commands.add_parser("approvals", help="list programs waiting for approval")
    with_config(waiting)
    waiting.add_argument("--json", action="store_true", help="print them as JSON lines")
    waiting.add_argument("--session", metavar="ID", help="only this session's")

    audit = commands.add_parser("audit", help="print the executions recorded in the store")
    with_config(audit)
    audit.add_argument("--json", action="store_true", help="print records as JSON lines")
    audit.add_argument("--session", metavar="ID", help="only this session's executions")
    audit.add_argument(
        "--since", metavar="WHEN", help="only since then: 30m, 2h, 7d, or an ISO date/time"
    )
    audit.add_argument("--limit", type=int, metavar="N", help="only the latest N")

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
        if args.command == "workspace":
            return _workspace(cm, args)
        if args.command == "library":
            return _library(cm, args)
        if args.command == "audit":
            return _audit(cm, args)
        if args.command == "approvals":
            return _approvals(cm, args)
        if config.servers:
            _start(cm)
        if args.command == "exec":
            return _exec(cm, args)
        if args.command in ("approve", "deny"):
            return _decide(cm, args)
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
    result = cm.execute(code, session=args.session)  # a session is saved in the store
    return _report(result, as_json=args.json)


def _decide(cm: CodeMode, args: argparse.Namespace) -> int:
    try:
        result = cm.resume(args.approval_id, approve=args.command == "approve")
    except ApprovalError as exc:
        print(f"codemode: {exc}", file=sys.stderr)
        return 2
    return _report(result, as_json=args.json)


def _report(result: ExecutionResult, *, as_json: bool) -> int:
    if as_json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False, default=str))
    else:
        _print_result(result)
    if result.approval_id is not None and result.pending is not None:
        shown = json.dumps(result.pending["args"], ensure_ascii=False, default=str)
        print(
            f"paused: {result.pending['tool']}({shown[:500]}) needs approval.\n"
            f"  codemode approve {result.approval_id}   # run it and continue\n"
            f"  codemode deny {result.approval_id}      # refuse it (ToolError in the program)",
            file=sys.stderr,
        )
        return 3
    return 0 if result.ok else 1


def _approvals(cm: CodeMode, args: argparse.Namespace) -> int:
    waiting = cm.approvals(session=args.session)
    for a in waiting:
        if args.json:
            data = {
                "id": a.id,
                "created": a.created,
                "session": a.session,
                "tool": a.tool,
                "args": a.args,
            }
            print(json.dumps(data, ensure_ascii=False, default=str))
        else:
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(a.created))
            shown = json.dumps(a.args, ensure_ascii=False, default=str)
            shown = shown if len(shown) <= 200 else shown[:197] + "..."
            print(f"{a.id}  {when}  session={a.session or '-'}  {a.tool}({shown})")
    if not waiting and not args.json:
        print("no programs are waiting for approval")
    return 0


def _audit(cm: CodeMode, args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 1:
        print("codemode: --limit must be at least 1", file=sys.stderr)
        return 2
    try:
        since = parse_since(args.since, time.time()) if args.since else None
    except ConfigError as exc:
        print(f"codemode: {exc}", file=sys.stderr)
        return 2
    records = cm.store.list_audit(session=args.session, since=since, limit=args.limit)
    text = format_audit(records, as_json=args.json)
    if text:
        print(text)
    return 0


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
            serve(cm, "stdio", session=args.session)
        else:
            # uvicorn stops gracefully on SIGTERM, then re-raises it: leave through `with cm`
            # (stopping workers and upstream servers) rather than by the default action.
            signal.signal(signal.SIGTERM, _interrupt)
            serve(cm, "http", host, port, session=args.session)
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


def _workspace(cm: CodeMode, args: argparse.Namespace) -> int:
    """`codemode workspace ls|cat|rm`: the files programs keep under /workspace."""
    store, workspace = cm.store, cm.state.workspace_id
    path = _workspace_path(str(getattr(args, "path", None) or getattr(args, "prefix", "")))
    if args.action == "ls":
        files = store.list_files(workspace, path)
        for info in files:
            stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(info.modified))
            print(f"{info.size:>12,}  {stamp}  /workspace/{info.path}")
        total = sum(f.size for f in files)
        print(
            f"{len(files)} file{'s' if len(files) != 1 else ''}, {total:,} bytes "
            f"(workspace {workspace!r})",
            file=sys.stderr,
        )
        return 0
    if args.action == "cat":
        data = store.read_file(workspace, path)
        if data is None:
            print(
                f"codemode: no file /workspace/{path} in workspace {workspace!r}", file=sys.stderr
            )
            return 1
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return 0
    if not store.delete_file(workspace, path):
        print(f"codemode: no file /workspace/{path} in workspace {workspace!r}", file=sys.stderr)
        return 1
    print(f"removed /workspace/{path}", file=sys.stderr)
    return 0


def _workspace_path(text: str) -> str:
    """A path as the store keeps it: relative to /workspace, no leading slash."""
    return text.removeprefix("/workspace").lstrip("/")


def _library(cm: CodeMode, args: argparse.Namespace) -> int:
    """`codemode library ls|show|rm`: the functions programs saved with library.save."""
    store, scope = cm.store, cm.state.scope
    if args.action == "ls":
        functions = store.list_functions(scope)
        for f in functions:
            about = f"  # {f.description.splitlines()[0]}" if f.description else ""
            print(f"{f.signature.removeprefix('def ')}  [v{f.version}]{about}")
        print(
            f"{len(functions)} function{'s' if len(functions) != 1 else ''} in {scope!r}",
            file=sys.stderr,
        )
        return 0
    if args.action == "show":
        function = store.get_function(scope, args.name, args.version)
        if function is None:
            print(
                f"codemode: {missing_message(cm.state, args.name, args.version)}", file=sys.stderr
            )
            return 1
        history = store.function_history(scope, args.name)
        print(function.source, end="" if function.source.endswith("\n") else "\n")
        if function.tests:
            print("\n# tests")
            for test in function.tests:
                print(f"# {test}".replace("\n", "\n# "))
        versions = ", ".join(
            f"v{f.version} {time.strftime('%Y-%m-%d %H:%M', time.localtime(f.created))}"
            for f in history
        )
        print(
            f"{args.name} version {function.version} of {len(history)}: {versions}", file=sys.stderr
        )
        return 0
    removed = store.delete_function(scope, args.name)
    if not removed:
        print(f"codemode: {missing_message(cm.state, args.name)}", file=sys.stderr)
        return 1
    print(f"removed {args.name} ({removed} version{'s' if removed != 1 else ''})", file=sys.stderr)
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
