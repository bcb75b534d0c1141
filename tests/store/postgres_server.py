"""A private, throwaway PostgreSQL server for the store tests.

`postgres_server()` yields the URL of a database on a server that lives only as long as
the `with` block: `$CODEMODE_TEST_POSTGRES_URL` if set (a server someone else runs),
otherwise a cluster initialised in a temporary folder and bound to 127.0.0.1 on a free
port, with trust authentication. Server binaries are looked for where Debian puts them
(`/usr/lib/postgresql/<version>/bin`, newest first) and on PATH; when there are none, and
this is root on a machine with apt-get, Debian's `postgresql` package is installed first.
PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres`
system user (created when missing). Anything that prevents a server is raised as
`ServerUnavailable`, so the caller decides between skipping and failing.

`fresh_schema(url)` yields that URL with a new, empty schema as its search path, dropped
afterwards, so every test starts from nothing.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

import psycopg
from psycopg import sql

__all__ = ["URL_ENV", "ServerUnavailable", "fresh_schema", "postgres_server"]

URL_ENV = "CODEMODE_TEST_POSTGRES_URL"
"""Use this database instead of starting a server (its user must be allowed to create
schemas in it; the URL must not set `options`)."""

_DATABASE = "codemode_test"
_INSTALL_TIMEOUT_S = 900
_START_TIMEOUT_S = 60

Log = Callable[[str], None]


class ServerUnavailable(Exception):
    """No PostgreSQL server could be provided; the message says why."""


@dataclass(frozen=True)
class _Binaries:
    initdb: Path
    pg_ctl: Path


@dataclass(frozen=True)
class _Account:
    """Who runs the server: None for this process's own user."""

    uid: int | None = None
    gid: int | None = None


@contextlib.contextmanager
def postgres_server(log: Log) -> Iterator[str]:
    """The URL of a database on a server that exists for the block's duration."""
    configured = os.environ.get(URL_ENV)
    if configured:
        log(f"PostgreSQL: using ${URL_ENV}")
        yield configured
        return
    binaries = _find_binaries() or _install_binaries(log)
    account = _server_account()
    # Under /tmp when the server runs as another user, who may not reach $TMPDIR.
    base = Path(
        tempfile.mkdtemp(prefix="codemode-pg-", dir=None if account.uid is None else "/tmp")
    )
    try:
        if account.uid is not None:
            os.chown(base, account.uid, account.gid if account.gid is not None else -1)
        with _running_cluster(binaries, account, base, log) as port:
            url = f"postgresql://postgres@127.0.0.1:{port}/"
            _create_database(url + "postgres", _DATABASE)
            yield url + _DATABASE
    finally:
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def fresh_schema(url: str) -> Iterator[str]:
    """`url` with a new, empty schema of its own as the search path; dropped at the end.

    A schema is what keeps each test apart: creating one is instant where creating a
    database takes a few hundred milliseconds."""
    name = f"codemode_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    parts = urlsplit(url)
    option = "options=" + quote(f"-c search_path={name}")
    try:
        yield parts._replace(query="&".join(q for q in (parts.query, option) if q)).geturl()
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


def _create_database(url: str, name: str) -> None:
    """Create the database `name` (from `template0`) on the server of `url`."""
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(
                sql.Identifier(name)
            )
        )


# -- binaries -------------------------------------------------------------------------


def _find_binaries() -> _Binaries | None:
    """initdb and pg_ctl of the newest installed version, or None."""
    found: list[tuple[tuple[int, ...], Path]] = []
    for initdb in glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        version = Path(initdb).parents[1].name
        if re.fullmatch(r"\d+(\.\d+)*", version):
            found.append((tuple(int(p) for p in version.split(".")), Path(initdb).parent))
    found.sort(reverse=True)
    folders = [folder for _, folder in found]
    on_path = shutil.which("initdb")
    if on_path:
        folders.append(Path(on_path).resolve().parent)
    for folder in folders:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return _Binaries(initdb=folder / "initdb", pg_ctl=folder / "pg_ctl")
    return None


def _install_binaries(log: Log) -> _Binaries:
    """Install Debian's `postgresql` package (as root, with apt-get), then find it."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise ServerUnavailable(
            "no PostgreSQL server binaries (initdb, pg_ctl) were found, and they can only "
            "be installed automatically as root with apt-get; install PostgreSQL or set "
            f"${URL_ENV}"
        )
    install = ["apt-get", "install", "-y", "--no-install-recommends", "postgresql"]
    log("PostgreSQL: no server binaries; installing with apt-get install postgresql ...")
    started = time.monotonic()
    result = _apt(install)
    if result.returncode != 0:
        log("PostgreSQL: apt-get install failed; running apt-get update and retrying ...")
        update = _apt(["apt-get", "update"])
        if update.returncode != 0:
            raise ServerUnavailable(f"apt-get update failed: {_tail(update.stdout)}")
        result = _apt(install)
        if result.returncode != 0:
            raise ServerUnavailable(f"apt-get install postgresql failed: {_tail(result.stdout)}")
    log(f"PostgreSQL: installed in {time.monotonic() - started:.0f} s")
    binaries = _find_binaries()
    if binaries is None:
        raise ServerUnavailable("apt-get installed postgresql, but no initdb/pg_ctl were found")
    return binaries


def _apt(command: list[str]) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        return subprocess.run(
            command,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=_INSTALL_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ServerUnavailable(f"{' '.join(command)} took over {_INSTALL_TIMEOUT_S} s") from None


# -- the cluster ----------------------------------------------------------------------


def _server_account() -> _Account:
    """This process's user, or as root the `postgres` system user (created if missing)."""
    if os.geteuid() != 0:
        return _Account()
    try:
        entry = pwd.getpwnam("postgres")
    except KeyError:
        created = subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/bin/false", "postgres"],
            capture_output=True,
            text=True,
            check=False,
        )
        if created.returncode != 0:
            raise ServerUnavailable(
                f"PostgreSQL cannot run as root and useradd postgres failed: "
                f"{_tail(created.stderr)}"
            ) from None
        entry = pwd.getpwnam("postgres")
    return _Account(uid=entry.pw_uid, gid=entry.pw_gid)


@contextlib.contextmanager
def _running_cluster(binaries: _Binaries, account: _Account, base: Path, log: Log) -> Iterator[int]:
    """initdb into `base`, start the server on a free port; yields the port; stops it."""
    started = time.monotonic()
    data = base / "data"
    _run(
        account,
        base,
        [
            str(binaries.initdb),
            "--pgdata",
            str(data),
            "--username",
            "postgres",
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--locale",
            "C",
            "--no-sync",
        ],
        "initdb",
    )
    port = _free_port()
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {base} -c fsync=on"
    start = [str(binaries.pg_ctl), "--pgdata", str(data), "--log", str(base / "server.log")]
    try:
        _run(
            account,
            base,
            [*start, "--wait", "--timeout", str(_START_TIMEOUT_S), "-o", options, "start"],
            "pg_ctl start",
            log_file=base / "server.log",
        )
        _wait_until_accepting(port)
        log(f"PostgreSQL: server on 127.0.0.1:{port} up in {time.monotonic() - started:.1f} s")
        yield port
    finally:
        _stop(binaries, account, base, data)


def _stop(binaries: _Binaries, account: _Account, base: Path, data: Path) -> None:
    """Stop the server at once (its data is thrown away next)."""
    if not (data / "postmaster.pid").exists():
        return
    with contextlib.suppress(ServerUnavailable):
        _run(
            account,
            base,
            [str(binaries.pg_ctl), "--pgdata", str(data), "--mode", "immediate", "--wait", "stop"],
            "pg_ctl stop",
        )


def _run(
    account: _Account,
    cwd: Path,
    command: list[str],
    what: str,
    *,
    log_file: Path | None = None,
) -> None:
    """Run a server program as `account`; ServerUnavailable with its output if it fails."""
    try:
        result = subprocess.run(
            command,
            cwd=cwd,
            user=account.uid,
            group=account.gid,
            extra_groups=[] if account.uid is not None else None,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=_START_TIMEOUT_S + 30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ServerUnavailable(f"{what} failed: {exc}") from None
    if result.returncode != 0:
        details = _tail(result.stdout)
        if log_file is not None and log_file.exists():
            details += " | server log: " + _tail(log_file.read_text(errors="replace"))
        raise ServerUnavailable(f"{what} failed ({result.returncode}): {details}")


def _wait_until_accepting(port: int) -> None:
    """Return once the server answers a query (pg_ctl --wait already waited for it)."""
    deadline = time.monotonic() + _START_TIMEOUT_S
    while True:
        try:
            with psycopg.connect(
                f"postgresql://postgres@127.0.0.1:{port}/postgres", connect_timeout=5
            ) as connection:
                connection.execute("SELECT 1")
                return
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                raise ServerUnavailable(f"the server does not accept connections: {exc}") from None
            time.sleep(0.1)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _tail(text: str, lines: int = 15) -> str:
    return " | ".join(line for line in text.strip().splitlines()[-lines:] if line.strip())
