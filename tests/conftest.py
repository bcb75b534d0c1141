"""Shared fixtures: one warm `CodeMode` per test module, with a few tools that count calls."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import pytest

from codemode import CodeMode, Limits
from store.postgres_server import ServerUnavailable, fresh_schema, postgres_server

REQUIRE_POSTGRES_ENV = "CODEMODE_REQUIRE_POSTGRES"
"""Set to 1 (as CI does) to fail, not skip, when no PostgreSQL server can be provided."""

Make = Callable[..., CodeMode]

_HOME: str | None = None


def pytest_configure(config: pytest.Config) -> None:
    """Keep every test's durable state (the default SQLite store, artifacts) out of the
    user's data dir: a throwaway CODEMODE_HOME for the run, inherited by subprocesses."""
    global _HOME
    _HOME = tempfile.mkdtemp(prefix="codemode-tests-")
    os.environ["CODEMODE_HOME"] = _HOME


def pytest_unconfigure(config: pytest.Config) -> None:
    if _HOME is not None:
        shutil.rmtree(_HOME, ignore_errors=True)


@pytest.fixture(scope="module", autouse=True)
def _module_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Each test module's shared CodeModes get a store of their own."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CODEMODE_HOME", str(tmp_path_factory.mktemp("home")))
        yield


@pytest.fixture(autouse=True)
def _test_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """And each test's own CodeModes one of theirs: sessions never leak between tests."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CODEMODE_HOME", str(tmp_path_factory.mktemp("home")))
        yield


class Counter:
    """Tools whose calls the tests can count."""

    def __init__(self) -> None:
        self.calls = 0

    def add(self, a: int, b: int = 0) -> int:
        """Add two integers.

        Args:
            a: The first number.
            b: The second number.
        """
        self.calls += 1
        return a + b

    def pick(self, color: Literal["red", "green"], note: str | None = None) -> str:
        """Pick a color."""
        self.calls += 1
        return color

    async def slow(self, i: int, delay: float = 0.2) -> int:
        """Wait `delay` seconds, then return i."""
        self.calls += 1
        await asyncio.sleep(delay)
        return i

    def sleepy(self, seconds: float) -> float:
        """Block the calling thread for `seconds`."""
        self.calls += 1
        time.sleep(seconds)
        return seconds

    def fail(self, message: str) -> None:
        """Always raise ValueError(message)."""
        self.calls += 1
        raise ValueError(message)


def make_codemode(counter: Counter, **kwargs: object) -> CodeMode:
    cm = CodeMode(**kwargs)  # type: ignore[arg-type]
    cm.add_functions("t", [counter.add, counter.pick, counter.slow, counter.sleepy, counter.fail])
    return cm


@pytest.fixture(scope="module")
def counter() -> Counter:
    return Counter()


@pytest.fixture(scope="module")
def cm(counter: Counter) -> Iterator[CodeMode]:
    with make_codemode(counter, limits=Limits(timeout=5, tool_timeout=2)) as instance:
        instance.start()
        yield instance


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def postgres_server_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A database on a private PostgreSQL server, started once for the whole run."""
    capture = request.config.pluginmanager.getplugin("capturemanager")

    def log(message: str) -> None:
        with capture.global_and_fixture_disabled():
            print(f"\n{message}", file=sys.stderr, flush=True)

    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(postgres_server(log))
        except ServerUnavailable as exc:
            if os.environ.get(REQUIRE_POSTGRES_ENV) == "1":
                pytest.fail(f"no PostgreSQL server (${REQUIRE_POSTGRES_ENV}=1): {exc}")
            pytest.skip(f"no PostgreSQL server: {exc}")
        yield url


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """The server's URL with an empty schema of its own for one test."""
    with fresh_schema(postgres_server_url) as url:
        yield url


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    """A SQLite store of this test's own (modules may override it)."""
    return f"sqlite:///{tmp_path / 'state.db'}"


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def any_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each kind of store in turn: a module runs its tests on all three with
    `store_url = any_store_url` overriding the SQLite-only default."""
    if request.param == "memory":
        yield "memory://"
    elif request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state.db'}"
    else:
        with fresh_schema(request.getfixturevalue("postgres_server_url")) as url:
            yield url


@pytest.fixture
def make(store_url: str) -> Iterator[Make]:
    """CodeModes on this test's store (closed at the end of the test)."""
    made: list[CodeMode] = []

    def factory(**kwargs: Any) -> CodeMode:
        kwargs.setdefault("store", store_url)
        instance = CodeMode(**kwargs)
        made.append(instance)
        return instance

    yield factory
    for instance in made:
        instance.close()


@contextlib.contextmanager
def codemode_http(config: str | Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`codemode serve --http` with `config` on a free port of 127.0.0.1: yields its base
    URL (the MCP endpoint is `/mcp`) and the process, stopped at the end."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "codemode.cli", "serve", "--config", str(config)]
    command += ["--http", f"127.0.0.1:{port}"]
    with subprocess.Popen(command, stderr=subprocess.PIPE, text=True) as proc:
        try:
            deadline = time.monotonic() + 15
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    assert proc.poll() is None, "the server exited"
                    assert time.monotonic() < deadline, "the server did not start listening"
                    time.sleep(0.05)
            yield f"http://127.0.0.1:{port}", proc
        finally:
            proc.terminate()
            proc.wait(10)
