"""The `/workspace` filesystem, exercised by real programs in a real sandbox."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import pydantic_monty as pm
import pytest
from pydantic_monty.os_access import OsFunction

from codemode.store import Quota, Store
from codemode.store.memory import MemoryStore
from codemode.store.sqlite import SQLiteStore
from codemode.workspace import ROOT, WorkspaceOS

LIMITS: pm.ResourceLimits = {"max_feed_duration_secs": 5, "max_memory": 64 * 1024 * 1024}


@pytest.fixture(scope="module")
def pool() -> Iterator[pm.Monty]:
    with pm.Monty(min_processes=1, max_processes=2) as monty:
        yield monty


@pytest.fixture
def session(pool: pm.Monty) -> Iterator[pm.MontySession]:
    with pool.checkout(limits=LIMITS) as live:
        yield live


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def fs(store: MemoryStore) -> WorkspaceOS:
    return WorkspaceOS(store, "ws")


def run(session: pm.MontySession, code: str, handler: WorkspaceOS | None) -> Any:
    """Run `code` the way codemode does: the workspace handler, with /workspace as cwd."""
    return session.feed_run(code, os=handler, cwd=ROOT)


def error(session: pm.MontySession, code: str, handler: WorkspaceOS | None) -> str:
    """The `Type: message` of the exception `code` raises in the sandbox."""
    with pytest.raises(pm.MontyRuntimeError) as caught:
        run(session, code, handler)
    return caught.value.display("type-msg")


# -- files round trip -------------------------------------------------------------------


def test_open_write_then_read_in_a_later_feed(
    session: pm.MontySession, fs: WorkspaceOS, store: MemoryStore
) -> None:
    run(session, "with open('/workspace/a.txt', 'w') as f:\n    f.write('a')\n    f.write('b')", fs)
    assert store.read_file("ws", "a.txt") == b"ab"
    assert run(session, "open('/workspace/a.txt').read()", fs) == "ab"


def test_reopening_for_write_truncates(session: pm.MontySession, fs: WorkspaceOS) -> None:
    code = (
        "open('t.txt', 'w').write('a long first line')\n"
        "open('t.txt', 'w').write('short')\n"
        "open('t.txt').read()"
    )
    assert run(session, code, fs) == "short"


def test_relative_paths_land_in_the_workspace(
    session: pm.MontySession, fs: WorkspaceOS, store: MemoryStore
) -> None:
    code = "import os\nopen('notes.txt', 'w').write('hi')\n[os.getcwd(), open('notes.txt').read()]"
    assert run(session, code, fs) == ["/workspace", "hi"]
    assert store.read_file("ws", "notes.txt") == b"hi"


def test_without_a_workspace_cwd_relative_paths_are_outside(
    session: pm.MontySession, fs: WorkspaceOS
) -> None:
    # The sandbox resolves relative paths against its cwd (`/` by default) before
    # the handler sees them, which is why a feed passes `cwd=ROOT`.
    with pytest.raises(pm.MontyRuntimeError) as caught:
        session.feed_run("open('notes.txt', 'w')", os=fs)
    assert caught.value.display("type-msg") == f"{OUTSIDE}: '/notes.txt'"


def test_persists_across_handlers_and_store_instances(
    pool: pm.Monty, session: pm.MontySession, tmp_path: Path
) -> None:
    first = SQLiteStore(tmp_path / "ws.db")
    code = "from pathlib import Path\np = Path('/workspace/keep/data.txt')\np.parent.mkdir()\n"
    run(session, code + "p.write_text('kept')", WorkspaceOS(first, "w"))
    first.close()
    second = SQLiteStore(tmp_path / "ws.db")
    try:
        with pool.checkout(limits=LIMITS) as fresh:
            read = "open('/workspace/keep/data.txt').read()"
            assert run(fresh, read, WorkspaceOS(second, "w")) == "kept"
    finally:
        second.close()


def test_append_mode_and_append_methods(session: pm.MontySession, fs: WorkspaceOS) -> None:
    code = (
        "from pathlib import Path\n"
        "with open('log.txt', 'a') as f:\n    f.write('1')\n"
        "with open('log.txt', 'a') as f:\n    f.write('2')\n    f.write('3')\n"
        "Path('log.txt').read_text()"
    )
    assert run(session, code, fs) == "123"
    assert run(session, "open('log.txt', 'a').write('4')\nopen('log.txt').read()", fs) == "1234"


def test_binary_mode(session: pm.MontySession, fs: WorkspaceOS, store: MemoryStore) -> None:
    code = (
        "with open('b.bin', 'wb') as f:\n    f.write(b'\\x00\\xff')\n    f.write(b'!')\n"
        "with open('b.bin', 'ab') as f:\n    f.write(b'?')\n"
        "open('b.bin', 'rb').read()"
    )
    assert run(session, code, fs) == b"\x00\xff!?"
    assert store.read_file("ws", "b.bin") == b"\x00\xff!?"


def test_text_is_utf8(session: pm.MontySession, fs: WorkspaceOS, store: MemoryStore) -> None:
    assert run(session, "open('u.txt', 'w').write('é€')", fs) == 2
    assert store.read_file("ws", "u.txt") == "é€".encode()
    assert run(session, "open('u.txt').read()", fs) == "é€"


def test_binary_data_read_as_text_fails_to_decode(
    session: pm.MontySession, fs: WorkspaceOS
) -> None:
    fs.store.write_file("ws", "raw.bin", b"\xff")
    assert error(session, "open('raw.bin').read()", fs).startswith("UnicodeDecodeError: 'utf-8'")


def test_reading_a_file_by_lines(session: pm.MontySession, fs: WorkspaceOS) -> None:
    fs.store.write_file("ws", "lines.txt", b"one\ntwo\n")
    code = "out = []\nfor line in open('lines.txt'):\n    out.append(line)\nout"
    assert run(session, code, fs) == ["one\n", "two\n"]


# -- pathlib and os ---------------------------------------------------------------------


def test_pathlib_api(session: pm.MontySession, fs: WorkspaceOS, store: MemoryStore) -> None:
    code = """
from pathlib import Path
p = Path('/workspace/notes.txt')
before = p.exists()
p.write_text('hello')
info = p.stat()
p.append_text(' world')
Path('raw.bin').write_bytes(b'\\x01')
[before, p.exists(), p.is_file(), p.is_dir(), p.is_symlink(), p.read_text(),
 Path('raw.bin').read_bytes(), info.st_size, info.st_mtime > 0,
 sorted(str(c) for c in Path('/workspace').iterdir())]
"""
    before, *rest, listing = run(session, code, fs)
    assert before is False
    assert rest == [True, True, False, False, "hello world", b"\x01", 5, True]
    assert listing == ["/workspace/notes.txt", "/workspace/raw.bin"]
    assert store.file_info("ws", "notes.txt") is not None


def test_stat_reports_the_store_time(session: pm.MontySession, fs: WorkspaceOS) -> None:
    info = fs.store.write_file("ws", "t.txt", b"12345")
    code = "from pathlib import Path\ns = Path('t.txt').stat()\n[s.st_size, s.st_mtime]"
    assert run(session, code, fs) == [5, pytest.approx(info.modified)]


def test_unlink_and_rename(session: pm.MontySession, fs: WorkspaceOS, store: MemoryStore) -> None:
    code = """
from pathlib import Path
Path('a.txt').write_text('a')
Path('b.txt').write_text('b')
moved = Path('a.txt').rename('c.txt')
Path('b.txt').unlink()
Path('gone.txt').unlink(missing_ok=True)
[str(moved), Path('a.txt').exists(), Path('c.txt').read_text(), Path('b.txt').exists()]
"""
    assert run(session, code, fs) == ["c.txt", False, "a", False]
    assert [f.path for f in store.list_files("ws")] == ["c.txt"]


def test_rename_replaces_a_file(session: pm.MontySession, fs: WorkspaceOS) -> None:
    code = (
        "import os\nopen('x', 'w').write('new')\nopen('y', 'w').write('old')\n"
        "os.replace('x', 'y')\n[os.listdir('.'), open('y').read()]"
    )
    assert run(session, code, fs) == [["y"], "new"]


def test_rename_moves_a_directory(
    session: pm.MontySession, fs: WorkspaceOS, store: MemoryStore
) -> None:
    code = """
from pathlib import Path
Path('d/e').mkdir(parents=True)
Path('d/e/f.txt').write_text('f')
Path('d/g.txt').write_text('g')
Path('d/empty').mkdir()
Path('d').rename('moved')
[Path('d').exists(), sorted(str(p) for p in Path('.').rglob('*'))]
"""
    assert run(session, code, fs) == [
        False,
        ["moved", "moved/e", "moved/e/f.txt", "moved/empty", "moved/g.txt"],
    ]
    assert [f.path for f in store.list_files("ws")] == ["moved/e/f.txt", "moved/g.txt"]


def test_nested_directories_listing(session: pm.MontySession, fs: WorkspaceOS) -> None:
    for path in ["top.txt", "a/one.txt", "a/b/two.txt", "a/b/c/three.txt"]:
        fs.store.write_file("ws", path, b"x")
    code = """
import os
from pathlib import Path
[sorted(os.listdir('/workspace')), sorted(os.listdir('a')),
 sorted(str(p) for p in Path('a').iterdir()),
 [(e.name, e.is_dir()) for e in sorted(os.scandir('a/b'), key=lambda e: e.name)],
 list(os.walk('/workspace/a')),
 Path('a/b').is_dir(), Path('a/b/c').exists(), Path('a/x').exists()]
"""
    assert run(session, code, fs) == [
        ["a", "top.txt"],
        ["b", "one.txt"],
        ["a/b", "a/one.txt"],
        [("c", True), ("two.txt", False)],
        [
            ("/workspace/a", ["b"], ["one.txt"]),
            ("/workspace/a/b", ["c"], ["two.txt"]),
            ("/workspace/a/b/c", [], ["three.txt"]),
        ],
        True,
        True,
        False,
    ]


def test_glob(session: pm.MontySession, fs: WorkspaceOS) -> None:
    for path in ["a.txt", "b.csv", "d/c.txt", "d/e/f.txt"]:
        fs.store.write_file("ws", path, b"x")
    code = """
from pathlib import Path
root = Path('/workspace')
[sorted(str(p) for p in root.glob('*.txt')), sorted(str(p) for p in root.rglob('*.txt')),
 sorted(str(p) for p in root.glob('d/*'))]
"""
    assert run(session, code, fs) == [
        ["/workspace/a.txt"],
        ["/workspace/a.txt", "/workspace/d/c.txt", "/workspace/d/e/f.txt"],
        ["/workspace/d/c.txt", "/workspace/d/e"],
    ]


def test_mkdir_makes_an_empty_directory_for_this_execution(
    session: pm.MontySession, store: MemoryStore
) -> None:
    fs = WorkspaceOS(store, "ws")
    code = """
import os
from pathlib import Path
Path('out').mkdir()
Path('deep/er').mkdir(parents=True)
os.makedirs('deep/er', exist_ok=True)
[Path('out').is_dir(), Path('out').exists(), Path('deep').is_dir(), sorted(os.listdir('.')),
 os.listdir('out')]
"""
    assert run(session, code, fs) == [True, True, True, ["deep", "out"], []]
    assert error(session, "from pathlib import Path\nPath('out').mkdir()", fs) == (
        "FileExistsError: [Errno 17] File exists: '/workspace/out'"
    )
    # Nothing was stored, so a later execution (a new handler) does not see it.
    assert store.list_files("ws") == []
    later = WorkspaceOS(store, "ws")
    assert run(session, "from pathlib import Path\nPath('out').exists()", later) is False


def test_writing_into_a_missing_directory_fails(session: pm.MontySession, fs: WorkspaceOS) -> None:
    assert error(session, "open('nodir/x.txt', 'w')", fs) == (
        "FileNotFoundError: [Errno 2] No such file or directory: '/workspace/nodir/x.txt'"
    )
    assert error(session, "from pathlib import Path\nPath('a/b').mkdir()", fs) == (
        "FileNotFoundError: [Errno 2] No such file or directory: '/workspace/a/b'"
    )


def test_rmdir(session: pm.MontySession, fs: WorkspaceOS) -> None:
    fs.store.write_file("ws", "full/x.txt", b"x")
    assert error(session, "import os\nos.rmdir('full')", fs) == (
        "OSError: [Errno 39] Directory not empty: '/workspace/full'"
    )
    code = """
import os
os.mkdir('empty')
os.rmdir('empty')
os.remove('full/x.txt')
kept = os.path.isdir('full')
os.rmdir('full')
[os.path.exists('empty'), kept, os.path.exists('full')]
"""
    assert run(session, code, fs) == [False, True, False]


def test_directory_errors(session: pm.MontySession, fs: WorkspaceOS) -> None:
    fs.store.write_file("ws", "d/f.txt", b"x")
    assert error(session, "open('d')", fs) == (
        "IsADirectoryError: [Errno 21] Is a directory: '/workspace/d'"
    )
    assert error(session, "open('d', 'w')", fs) == (
        "IsADirectoryError: [Errno 21] Is a directory: '/workspace/d'"
    )
    assert error(session, "open('d/f.txt/x', 'w')", fs) == (
        "NotADirectoryError: [Errno 20] Not a directory: '/workspace/d/f.txt/x'"
    )
    assert error(session, "import os\nos.listdir('d/f.txt')", fs) == (
        "NotADirectoryError: [Errno 20] Not a directory: '/workspace/d/f.txt'"
    )
    assert error(session, "import os\nos.remove('d')", fs) == (
        "IsADirectoryError: [Errno 21] Is a directory: '/workspace/d'"
    )


def test_file_not_found_messages(session: pm.MontySession, fs: WorkspaceOS) -> None:
    missing = "FileNotFoundError: [Errno 2] No such file or directory: '/workspace/nope.txt'"
    assert error(session, "open('/workspace/nope.txt')", fs) == missing
    for call in ["read_text()", "read_bytes()", "stat()", "unlink()", "iterdir()"]:
        assert error(session, f"from pathlib import Path\nPath('nope.txt').{call}", fs) == missing
    code = "try:\n    open('nope.txt')\nexcept FileNotFoundError as e:\n    m = str(e)\nm"
    assert run(session, code, fs) == "[Errno 2] No such file or directory: '/workspace/nope.txt'"


# -- the boundary -----------------------------------------------------------------------

OUTSIDE = "PermissionError: [Errno 13] Permission denied (only /workspace is available to programs)"


@pytest.mark.parametrize(
    ("code", "shown"),
    [
        ("open('/etc/passwd').read()", "/etc/passwd"),
        ("open('/workspace/../etc/passwd').read()", "/etc/passwd"),
        ("open('../etc/passwd').read()", "/etc/passwd"),
        ("open('/workspace/a/../../etc/passwd', 'w')", "/etc/passwd"),
        ("from pathlib import Path\nPath('/workspace/../etc/passwd').read_text()", "/etc/passwd"),
        ("from pathlib import Path\nPath('/etc').exists()", "/etc"),
        ("import os\nos.listdir('/')", "/"),
        ("open('/workspacex/a.txt', 'w')", "/workspacex/a.txt"),
        ("from pathlib import Path\nPath('/tmp/x').write_text('x')", "/tmp/x"),
    ],
)
def test_paths_outside_the_workspace_are_refused(
    session: pm.MontySession, fs: WorkspaceOS, code: str, shown: str
) -> None:
    assert error(session, code, fs) == f"{OUTSIDE}: {shown!r}"
    assert fs.store.list_files("ws") == []


def test_rename_out_of_the_workspace_is_refused(session: pm.MontySession, fs: WorkspaceOS) -> None:
    fs.store.write_file("ws", "a.txt", b"a")
    assert error(session, "import os\nos.rename('a.txt', '/tmp/a.txt')", fs) == (
        f"{OUTSIDE}: '/tmp/a.txt'"
    )
    assert fs.store.read_file("ws", "a.txt") == b"a"


def test_the_host_filesystem_is_never_touched(
    session: pm.MontySession, fs: WorkspaceOS, tmp_path: Path
) -> None:
    target = tmp_path / "host.txt"
    error(session, f"open({str(target)!r}, 'w').write('x')", fs)
    error(session, f"open('/workspace/../..{target}', 'w').write('x')", fs)
    assert not target.exists()


def test_the_program_can_catch_a_refusal(session: pm.MontySession, fs: WorkspaceOS) -> None:
    code = "try:\n    open('/etc/passwd')\nexcept PermissionError as e:\n    m = str(e)\nm"
    assert "only /workspace is available" in run(session, code, fs)


def test_bad_paths() -> None:
    fs = WorkspaceOS(MemoryStore(), "ws")
    with pytest.raises(ValueError, match="embedded null byte"):
        fs.path_exists(PurePosixPath("/workspace/a\x00b"))
    with pytest.raises(OSError, match="File name too long"):
        fs.path_exists(PurePosixPath("/workspace/" + "a" * 1100))


def test_long_paths_fail_in_the_program(session: pm.MontySession, fs: WorkspaceOS) -> None:
    assert error(session, f"open('{'a' * 1100}', 'w')", fs).startswith(
        "OSError: [Errno 36] File name too long"
    )


# -- quota --------------------------------------------------------------------------------


def test_max_files_is_enforced(session: pm.MontySession, store: MemoryStore) -> None:
    fs = WorkspaceOS(store, "ws", quota=Quota(max_files=2))
    code = """
from pathlib import Path
Path('a').write_text('a')
Path('b').write_text('b')
Path('a').write_text('replacing is fine')
try:
    Path('c').write_text('c')
except OSError as e:
    message = str(e)
message
"""
    assert run(session, code, fs) == (
        "[Errno 28] workspace quota exceeded: the workspace would hold 3 files; its quota is 2"
    )
    assert [f.path for f in store.list_files("ws")] == ["a", "b"]
    assert error(session, "open('c', 'w')", fs).startswith("OSError: [Errno 28] workspace quota")


def test_max_bytes_is_enforced(session: pm.MontySession, store: MemoryStore) -> None:
    fs = WorkspaceOS(store, "ws", quota=Quota(max_bytes=10))
    code = """
with open('log', 'w') as f:
    f.write('12345')
    f.write('67890')
    try:
        f.write('!')
    except OSError as e:
        message = str(e)
message
"""
    assert run(session, code, fs) == (
        "[Errno 28] workspace quota exceeded: the workspace would hold 11 bytes; its quota is 10"
    )
    assert store.read_file("ws", "log") == b"1234567890"
    assert error(session, "open('more', 'wb').write(b'x' * 11)", fs) == (
        "OSError: [Errno 28] workspace quota exceeded: "
        "the workspace would hold 21 bytes; its quota is 10"
    )
    assert store.file_info("ws", "more") is not None  # the open created it, empty
    assert store.read_file("ws", "more") == b""


# -- isolation and other OS calls -------------------------------------------------------


def test_workspaces_are_isolated(session: pm.MontySession, store: MemoryStore) -> None:
    one, two = WorkspaceOS(store, "one"), WorkspaceOS(store, "two")
    run(session, "open('secret.txt', 'w').write('1')", one)
    assert run(session, "import os\nos.listdir('.')", two) == []
    assert error(session, "open('secret.txt').read()", two).startswith("FileNotFoundError")
    assert run(session, "open('secret.txt').read()", one) == "1"


CLOCK = """
import datetime
import time
time.sleep(0.001)
[time.time(), datetime.datetime.now().year, datetime.date.today().year]
"""


@pytest.mark.parametrize("handler", [False, True])
def test_clocks_work_as_without_a_handler(
    session: pm.MontySession, fs: WorkspaceOS, handler: bool
) -> None:
    now, year, today = run(session, CLOCK, fs if handler else None)
    assert now == pytest.approx(time.time(), abs=60)
    assert year == today == time.gmtime().tm_year


@pytest.mark.parametrize(
    "code",
    [
        "import os\nos.getenv('CODEMODE_TEST_SECRET')",
        "import os\nos.environ",
        "import os\nos.urandom(4)",
    ],
)
def test_host_calls_behave_as_without_a_handler(
    session: pm.MontySession, fs: WorkspaceOS, code: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEMODE_TEST_SECRET", "host-only")
    assert error(session, code, fs) == error(session, code, None)
    assert "not supported in this environment" in error(session, code, fs)


def test_host_calls_are_not_handled() -> None:
    fs = WorkspaceOS(MemoryStore(), "ws")
    calls: list[tuple[OsFunction, tuple[Any, ...]]] = [
        ("os.getenv", ("HOME", None)),
        ("os.environ", ()),
        ("time.time", ("time.time",)),
        ("datetime.now", (None,)),
    ]
    for name, args in calls:
        assert fs(name=name, args=args, kwargs={}, is_async=False) is pm.NOT_HANDLED


def test_exclusive_create_when_asked_directly() -> None:
    # The sandbox refuses mode 'x' itself (as of pydantic-monty 1.4); the handler
    # still gives it its meaning for any caller that forwards it.
    store = MemoryStore()
    fs = WorkspaceOS(store, "ws")
    handle = fs.path_open(PurePosixPath("/workspace/new.txt"), "x")
    assert (handle.path, handle.mode) == ("/workspace/new.txt", "w")
    assert store.read_file("ws", "new.txt") == b""
    with pytest.raises(FileExistsError, match="File exists"):
        fs.path_open(PurePosixPath("/workspace/new.txt"), "x")


def test_resolve_and_absolute(session: pm.MontySession, fs: WorkspaceOS) -> None:
    code = """
from pathlib import Path
[Path('a/../b.txt').resolve(), Path('b.txt').absolute(), Path.cwd()]
"""
    assert run(session, code, fs) == [
        PurePosixPath("/workspace/b.txt"),
        PurePosixPath("/workspace/b.txt"),
        PurePosixPath("/workspace"),
    ]


def test_driven_by_feed_start(session: pm.MontySession, fs: WorkspaceOS) -> None:
    """The sandbox driver answers OS suspensions with `resume_auto()`."""
    snap = session.feed_start(
        "open('s.txt', 'w').write('x')\nopen('s.txt').read()", os=fs, cwd=ROOT
    )
    while not isinstance(snap, pm.MontyComplete):
        assert isinstance(snap, pm.FunctionSnapshot)
        assert snap.is_os_function
        snap = snap.resume_auto()
    assert snap.output == "x"


def test_sqlite_store(session: pm.MontySession, tmp_path: Path) -> None:
    store: Store = SQLiteStore(tmp_path / "s.db")
    try:
        fs = WorkspaceOS(store, "ws", quota=Quota(max_files=5))
        code = """
import os
os.makedirs('a/b')
open('a/b/c.txt', 'w').write('c')
open('a/b/c.txt', 'a').write('d')
[list(os.walk('.')), open('a/b/c.txt').read()]
"""
        assert run(session, code, fs) == [
            [(".", ["a"], []), ("./a", ["b"], []), ("./a/b", [], ["c.txt"])],
            "cd",
        ]
    finally:
        store.close()
