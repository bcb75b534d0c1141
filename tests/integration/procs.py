"""Process helpers for the integration tests: local servers and `/proc` lookups.

No psutil: Linux's `/proc` is read directly. Every wait is bounded.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

STOP_TIMEOUT = 10.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait until 127.0.0.1:`port` accepts connections; fail early if `process` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout:.0f}s")


@contextmanager
def local_server(
    argv: Sequence[str],
    port: int,
    *,
    log: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    startup_timeout: float = 30.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server listening on 127.0.0.1:`port` for the duration of the block.

    Its stdout and stderr go to `log` (read it when the server misbehaves). On exit it is
    sent SIGTERM, then SIGKILL if it has not stopped after `STOP_TIMEOUT` seconds.
    """
    with log.open("wb") as out:
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            start_new_session=True,
        )
        try:
            try:
                wait_for_port(port, process, startup_timeout)
            except (RuntimeError, TimeoutError) as exc:
                raise RuntimeError(f"{exc}; its output:\n{read_tail(log)}") from None
            yield process
        finally:
            stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate a process group started with `start_new_session`, bounded."""
    if process.poll() is None:
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_TIMEOUT)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pid, sig)


def read_tail(path: Path, limit: int = 4000) -> str:
    """The last `limit` characters of a log file."""
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-limit:]
    except OSError:
        return "(no output)"


# -- /proc --------------------------------------------------------------------------------


def parent_pid(pid: int) -> int | None:
    """The parent of `pid`, or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may contain spaces.
    return int(stat.rsplit(")", 1)[1].split()[1])


def cmdline(pid: int) -> list[str]:
    """The command line of `pid` (empty if it is gone)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def descendants(root: int) -> list[int]:
    """Every live process below `root` in the process tree."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            ppid = parent_pid(int(entry.name))
            if ppid is not None:
                children.setdefault(ppid, []).append(int(entry.name))
    found: list[int] = []
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def environ(pid: int) -> list[str]:
    """The environment (`NAME=value` strings) of `pid` (empty if gone or not ours)."""
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def find_child(marker: str, root: int | None = None) -> int:
    """The one descendant of `root` (default: this process) with `marker` in its command
    line or environment."""
    root = os.getpid() if root is None else root
    matches = [
        pid
        for pid in descendants(root)
        if any(marker in part for part in (*cmdline(pid), *environ(pid)))
    ]
    if len(matches) != 1:
        raise LookupError(f"expected one child process with {marker!r}, found {matches}")
    return matches[0]


def is_alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_until_dead(pid: int, timeout: float = STOP_TIMEOUT) -> None:
    """Wait until `pid` has exited (or is a zombie awaiting its parent)."""
    deadline = time.monotonic() + timeout
    while is_alive(pid):
        if time.monotonic() > deadline:
            raise TimeoutError(f"process {pid} still alive after {timeout:.0f}s")
        time.sleep(0.05)
