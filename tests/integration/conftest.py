"""Fixtures for the integration tests: real upstream MCP servers, installed on first use.

The first run installs the pinned servers and tools into the cache (see `upstream.py`);
later runs find them there. Tests that need them are skipped, with the reason, only
when a package registry cannot be reached for that install.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .upstream import RegistryUnreachable, Upstreams, ensure_installed

GIT_TIMEOUT = 30.0


def pytest_configure(config: pytest.Config) -> None:
    """Register the `integration` marker (harmless if pyproject also registers it)."""
    config.addinivalue_line(
        "markers", "integration: uses real third-party MCP servers installed into a cache"
    )


@pytest.fixture(scope="session")
def upstreams(request: pytest.FixtureRequest) -> Upstreams:
    """The installed upstream servers and acceptance tools (installing them if needed).

    Output capture is off meanwhile, so a first run's install progress shows live.
    """
    capture = request.config.pluginmanager.getplugin("capturemanager")
    uncaptured = capture.global_and_fixture_disabled() if capture else contextlib.nullcontext()
    try:
        with uncaptured:
            return ensure_installed()
    except RegistryUnreachable as exc:
        pytest.skip(f"cannot install the upstream MCP servers, registry unreachable: {exc}")


@pytest.fixture
def allowed_dir(tmp_path: Path) -> Path:
    """An empty directory the filesystem server may read and write."""
    path = tmp_path / "allowed"
    path.mkdir()
    return path


@pytest.fixture
def memory_file(tmp_path: Path) -> Path:
    """Where the memory server keeps its knowledge graph (not created yet)."""
    return tmp_path / "memory.jsonl"


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """A git repository with one commit (`README.md`) and a local author identity."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Codemode Tests")
    git(repo, "config", "user.email", "tests@codemode.invalid")
    (repo / "README.md").write_text("# scratch repo\n", encoding="utf-8")
    git(repo, "add", "README.md")
    git(repo, "commit", "-q", "-m", "initial commit")
    return repo


def git(repo: Path, *args: str) -> str:
    """Run git in `repo` (never the project's own repository) and return its stdout."""
    executable = shutil.which("git")
    if executable is None:
        pytest.fail("`git` is not installed; mcp-server-git and these fixtures need it")
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0"}
    done = subprocess.run(
        [executable, "-C", str(repo), *args],
        capture_output=True,
        text=True,
        timeout=GIT_TIMEOUT,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout
