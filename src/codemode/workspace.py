"""The `/workspace` filesystem that programs in the sandbox see, kept in the store.

`WorkspaceOS` is the OS handler the sandbox consults for file access: pass one as
`os=` to `MontySession.feed_run` / `feed_start`. Every path at or under `/workspace`
maps to a file of one store workspace (`/workspace/dir/a.txt` is the store path
`dir/a.txt`); any other path is refused with `PermissionError`, as in a sandbox
without a filesystem.

* Every write goes to the store before the call returns, so it is durable at once
  and visible to the next execution (and to any other process sharing the store).
  A write that would go over the workspace's quota raises `OSError` (ENOSPC) inside
  the program and writes nothing.
* Directories are implicit: a directory exists while some file lives under it.
  `mkdir` records a new, empty directory in the handler for the rest of the execution
  (so `mkdir` then `is_dir()` holds); empty directories are not stored and do not
  persist. A directory the execution emptied (by `unlink`, `rename` or `rmdir` of its
  last entry) likewise stays until the execution ends or it is removed.
* Text is UTF-8. There are no symlinks.
* Relative paths: the sandbox resolves them against its working directory before the
  handler sees them, and that directory is `/` unless the feed says otherwise. Pass
  `cwd=ROOT` to the feed so `open("notes.txt", "w")` lands in `/workspace/notes.txt`.
* Everything that is not a path operation (environment, clocks, sleeps, randomness)
  gets `NOT_HANDLED`, so the sandbox behaves exactly as it does without a handler.
"""

from __future__ import annotations

import errno
import posixpath
import time
from pathlib import PurePosixPath
from typing import Any, Literal, TypeAlias

from pydantic_monty import NOT_HANDLED, AbstractOS, MontyFileHandle, ScanEntry, StatResult
from pydantic_monty.os_access import OsFunction

from codemode.store import Quota, QuotaExceeded, Store

__all__ = ["MAX_PATH_LENGTH", "ROOT", "WorkspaceOS"]

ROOT = "/workspace"
"""Where the workspace appears inside the sandbox."""

MAX_PATH_LENGTH = 1024
"""Longest path (in characters) a program may name; longer ones fail with ENAMETOOLONG."""

_OUTSIDE = f"Permission denied (only {ROOT} is available to programs)"

PathArg: TypeAlias = PurePosixPath | MontyFileHandle | str
Kind: TypeAlias = Literal["file", "dir"]


def _store_path(path: PathArg) -> tuple[str, str]:
    """`path` as (store path, absolute sandbox path); the store path of ROOT is `''`.

    Relative paths count from ROOT; `.` and `..` are resolved lexically, and whatever
    ends up outside ROOT is refused with PermissionError.
    """
    text = path.path if isinstance(path, MontyFileHandle) else str(path)
    absolute = _normalise(text)
    if absolute == ROOT:
        return "", absolute
    if absolute.startswith(ROOT + "/"):
        return absolute[len(ROOT) + 1 :], absolute
    raise PermissionError(errno.EACCES, _OUTSIDE, absolute)


def _normalise(text: str) -> str:
    """`text` as a normal absolute path (relative to ROOT if relative); refuses NUL
    bytes and paths longer than MAX_PATH_LENGTH, as an operating system would."""
    if "\x00" in text:
        raise ValueError("embedded null byte")
    if len(text) > MAX_PATH_LENGTH:
        raise OSError(errno.ENAMETOOLONG, "File name too long", text)
    # `normpath` keeps a leading `//`; POSIX leaves it implementation-defined, Linux reads `/`.
    return "/" + posixpath.normpath(posixpath.join(ROOT, text)).lstrip("/")


def _parent(rel: str) -> str:
    """The store path of `rel`'s directory (`''` for ROOT)."""
    return posixpath.dirname(rel)


def _error(code: int, shown: str, target: str | None = None) -> OSError:
    """The CPython-style OSError for `code` (the matching subclass, e.g. FileNotFoundError),
    naming `shown` and, for two-path operations, `target`."""
    return OSError(code, _STRERROR[code], shown, None, target)


_STRERROR = {
    errno.ENOENT: "No such file or directory",
    errno.EEXIST: "File exists",
    errno.EISDIR: "Is a directory",
    errno.ENOTDIR: "Not a directory",
    errno.ENOTEMPTY: "Directory not empty",
    errno.EINVAL: "Invalid argument",
    errno.EBUSY: "Device or resource busy",
}


class WorkspaceOS(AbstractOS):
    """Serves a program's file access under `/workspace` from one store workspace.

    Make one per execution (it remembers the empty directories the program made) and
    pass it as `os=` to the sandbox feed, with `cwd=ROOT` so relative paths land in
    the workspace.
    """

    def __init__(self, store: Store, workspace: str, *, quota: Quota | None = None) -> None:
        """Serve `workspace` of `store`; with `quota`, each write is checked against it."""
        self.store = store
        self.workspace = workspace
        self.quota = quota
        self._dirs: set[str] = set()
        """Directories (store paths) this execution made or emptied: no stored file
        implies them, so they last only as long as this handler."""

    def dispatch(
        self,
        function_name: OsFunction,
        args: tuple[Any, ...],
        kwargs: dict[str, Any] | None = None,
        *,
        is_async: bool = False,
    ) -> Any:
        """Path operations go to the `path_*` methods; anything else (environment,
        clocks, sleeps, randomness) is NOT_HANDLED, so the sandbox's defaults apply."""
        if function_name != "open" and not function_name.startswith("Path."):
            return NOT_HANDLED
        result = super().dispatch(function_name, args, kwargs, is_async=is_async)
        if function_name in ("Path.resolve", "Path.absolute"):
            # The sandbox passes a str answer on as a str; a path answer becomes the
            # `Path` that `resolve()` and `absolute()` return in CPython.
            return PurePosixPath(result)
        return result

    # -- what is where --------------------------------------------------------------------

    def _file_exists(self, rel: str) -> bool:
        """Whether the store holds a file at `rel`."""
        return bool(rel) and self.store.file_info(self.workspace, rel) is not None

    def _is_dir(self, rel: str) -> bool:
        """ROOT, a directory this execution keeps, or one some file lives under."""
        if not rel or rel in self._dirs:
            return True
        return bool(self.store.list_files(self.workspace, rel + "/"))

    def _kind(self, rel: str) -> Kind | None:
        """What is at `rel`: a file, a directory, or nothing (None)."""
        if self._file_exists(rel):
            return "file"
        return "dir" if self._is_dir(rel) else None

    def _under_file(self, rel: str) -> bool:
        """Whether a file stands where one of `rel`'s directories should be."""
        parent = _parent(rel)
        while parent:
            if self._file_exists(parent):
                return True
            parent = _parent(parent)
        return False

    def _missing(self, rel: str, shown: str, target: str | None = None) -> OSError:
        """The error for a path that is not there: ENOTDIR when a file stands in for
        one of its directories (as the OS reports it), ENOENT otherwise."""
        return _error(errno.ENOTDIR if self._under_file(rel) else errno.ENOENT, shown, target)

    def _require_parent(self, rel: str, shown: str, target: str | None = None) -> None:
        """Raise unless the directory that would hold `rel` exists."""
        if not self._is_dir(_parent(rel)):
            raise self._missing(rel, shown, target)

    def _keep_parent(self, rel: str) -> None:
        """Keep `rel`'s directory for the rest of the execution, though `rel` is gone."""
        if parent := _parent(rel):
            self._dirs.add(parent)

    def _children(self, rel: str) -> dict[str, bool]:
        """The entries directly in directory `rel`: name -> whether it is a directory."""
        prefix = rel + "/" if rel else ""
        children: dict[str, bool] = {}
        for info in self.store.list_files(self.workspace, prefix):
            name, sep, _ = info.path[len(prefix) :].partition("/")
            children[name] = children.get(name, False) or bool(sep)
        for directory in self._dirs:
            if directory.startswith(prefix) and directory != rel:
                children[directory[len(prefix) :].partition("/")[0]] = True
        return children

    # -- reading and writing --------------------------------------------------------------

    def _read(self, path: PathArg) -> bytes:
        """A file's bytes from the store, or the error the OS would give."""
        rel, shown = _store_path(path)
        data = self.store.read_file(self.workspace, rel) if rel else None
        if data is None:
            if self._is_dir(rel):
                raise _error(errno.EISDIR, shown)
            raise self._missing(rel, shown)
        return data

    def _write(self, path: PathArg, data: bytes, *, append: bool = False) -> None:
        """Create or replace (or extend) a file in the store, in one store write."""
        rel, shown = _store_path(path)
        old = self.store.read_file(self.workspace, rel) if rel and append else None
        if old is not None:
            data = old + data
        elif not self._file_exists(rel):
            if self._is_dir(rel):
                raise _error(errno.EISDIR, shown)
            self._require_parent(rel, shown)
        try:
            self.store.write_file(self.workspace, rel, data, quota=self.quota)
        except QuotaExceeded as exc:
            raise OSError(errno.ENOSPC, f"workspace quota exceeded: {exc}") from None

    def path_open(self, path: PurePosixPath, mode: str) -> MontyFileHandle:
        """The open-time effect of `open(path, mode)`: `r` checks the file is there,
        `w` truncates or creates it, `a` creates it if missing, `x` creates it unless
        something is there. Later reads and writes on the file arrive as `path_*` calls
        (each `write()` as an append)."""
        rel, shown = _store_path(path)
        exclusive = "x" in mode
        # Built first so a malformed mode fails before any effect; the sandbox's
        # handle type has no `x`, which opens like `w` once the file is known to be new.
        handle = MontyFileHandle(shown, mode.replace("x", "w") if exclusive else mode)
        action = handle.mode[0]
        if exclusive and self._kind(rel) is not None:
            raise _error(errno.EEXIST, shown)
        if action == "r":
            if not self._file_exists(rel):
                raise (
                    _error(errno.EISDIR, shown) if self._is_dir(rel) else self._missing(rel, shown)
                )
        elif action == "w" or not self._file_exists(rel):
            self._write(shown, b"")
        return handle

    def path_read_text(self, path: PurePosixPath | MontyFileHandle) -> str:
        """A file's text (UTF-8)."""
        return self._read(path).decode("utf-8")

    def path_read_bytes(self, path: PurePosixPath | MontyFileHandle) -> bytes:
        """A file's bytes."""
        return self._read(path)

    def path_write_text(self, path: PurePosixPath | MontyFileHandle, data: str) -> int:
        """Replace a file's content with `data` (UTF-8); how many characters."""
        self._write(path, data.encode("utf-8"))
        return len(data)

    def path_write_bytes(self, path: PurePosixPath | MontyFileHandle, data: bytes) -> int:
        """Replace a file's content with `data`; how many bytes."""
        self._write(path, bytes(data))
        return len(data)

    def path_append_text(self, path: PurePosixPath | MontyFileHandle, data: str) -> int:
        """Add `data` (UTF-8) to the end of a file, creating it if missing."""
        self._write(path, data.encode("utf-8"), append=True)
        return len(data)

    def path_append_bytes(self, path: PurePosixPath | MontyFileHandle, data: bytes) -> int:
        """Add `data` to the end of a file, creating it if missing."""
        self._write(path, bytes(data), append=True)
        return len(data)

    # -- questions ------------------------------------------------------------------------

    def path_exists(self, path: PurePosixPath) -> bool:
        """Whether a file or directory is at `path`."""
        return self._kind(_store_path(path)[0]) is not None

    def path_is_file(self, path: PurePosixPath) -> bool:
        """Whether a file is at `path`."""
        return self._file_exists(_store_path(path)[0])

    def path_is_dir(self, path: PurePosixPath) -> bool:
        """Whether a directory is at `path`."""
        rel = _store_path(path)[0]
        return not self._file_exists(rel) and self._is_dir(rel)

    def path_is_symlink(self, path: PurePosixPath) -> bool:
        """Always False (the workspace has no symlinks), but still refuses outside paths."""
        _store_path(path)
        return False

    def path_stat(self, path: PurePosixPath) -> StatResult:
        """Size and modification time from the store; a directory's time is its newest
        file's (or now, for one with no files)."""
        rel, shown = _store_path(path)
        info = self.store.file_info(self.workspace, rel) if rel else None
        if info is not None:
            return StatResult.file_stat(info.size, mtime=info.modified)
        files = self.store.list_files(self.workspace, rel + "/" if rel else "")
        if not (files or self._is_dir(rel)):
            raise self._missing(rel, shown)
        return StatResult.dir_stat(mtime=max((f.modified for f in files), default=time.time()))

    def path_iterdir(self, path: PurePosixPath) -> list[PurePosixPath]:
        """The entries directly in a directory, as full paths, sorted by name."""
        rel, shown = _store_path(path)
        kind = self._kind(rel)
        if kind != "dir":
            raise self._missing(rel, shown) if kind is None else _error(errno.ENOTDIR, shown)
        return [PurePosixPath(shown, name) for name in sorted(self._children(rel))]

    def path_scan(
        self,
        path: PurePosixPath,
        *,
        max_depth: int | None,
        follow_symlinks: bool,
        pattern: list[str] | None = None,
        case_sensitive: bool | None = None,
        recurse_symlinks: bool = False,
    ) -> list[ScanEntry]:
        """The subtree under `path` (for `glob`, `walk`, `os.scandir`) from one store
        listing: the entry itself (relative path `''`) and everything down to
        `max_depth` levels below it. The glob pattern is only a hint and is ignored."""
        rel, shown = _store_path(path)
        kind = self._kind(rel)
        if kind is None:
            raise self._missing(rel, shown)
        entries = [ScanEntry("", kind == "dir", kind == "file", False)]
        if kind == "file":
            return entries
        prefix = rel + "/" if rel else ""
        below: dict[str, bool] = {}  # relative path -> whether it is a directory
        for info in self.store.list_files(self.workspace, prefix):
            below[info.path[len(prefix) :]] = False
        below.update((d[len(prefix) :], True) for d in self._dirs if d.startswith(prefix))
        for relative in list(below):
            parts = relative.split("/")
            below.update(("/".join(parts[:i]), True) for i in range(1, len(parts)))
        below.pop("", None)
        entries += [
            ScanEntry(relative, is_dir, not is_dir, False)
            for relative, is_dir in sorted(below.items())
            if max_depth is None or relative.count("/") < max_depth
        ]
        return entries

    # -- changes --------------------------------------------------------------------------

    def path_mkdir(self, path: PurePosixPath, parents: bool, exist_ok: bool) -> None:
        """Make a directory (with `parents`, its missing ancestors too). It holds no
        file, so it lasts for this execution only, unless a file is written into it."""
        rel, shown = _store_path(path)
        kind = self._kind(rel)
        if kind is not None:
            if kind == "dir" and exist_ok:
                return
            raise _error(errno.EEXIST, shown)
        if not parents:
            self._require_parent(rel, shown)
        elif self._under_file(rel):
            raise _error(errno.ENOTDIR, shown)
        while rel and not self._is_dir(rel):
            self._dirs.add(rel)
            rel = _parent(rel)

    def path_unlink(self, path: PurePosixPath) -> None:
        """Remove a file."""
        rel, shown = _store_path(path)
        if rel and self.store.delete_file(self.workspace, rel):
            self._keep_parent(rel)
            return
        raise _error(errno.EISDIR, shown) if self._is_dir(rel) else self._missing(rel, shown)

    def path_rmdir(self, path: PurePosixPath) -> None:
        """Remove an empty directory (ROOT itself stays)."""
        rel, shown = _store_path(path)
        kind = self._kind(rel)
        if kind != "dir":
            raise self._missing(rel, shown) if kind is None else _error(errno.ENOTDIR, shown)
        if not rel:
            raise _error(errno.EBUSY, shown)
        if self._children(rel):
            raise _error(errno.ENOTEMPTY, shown)
        self._dirs.discard(rel)
        self._keep_parent(rel)

    def path_rename(self, path: PurePosixPath, target: PurePosixPath) -> None:
        """Move a file (replacing a file at `target`) or a directory (onto a missing or
        empty one). A directory moves file by file, each move its own store write."""
        rel, shown = _store_path(path)
        new, new_shown = _store_path(target)
        kind = self._kind(rel)
        if kind is None:
            raise self._missing(rel, shown, new_shown)
        if rel == new:
            return
        if not rel:
            raise _error(errno.EBUSY, shown, new_shown)
        target_kind = self._kind(new)
        if kind == "file" and target_kind == "dir":
            raise _error(errno.EISDIR, shown, new_shown)
        if kind == "dir":
            if target_kind == "file":
                raise _error(errno.ENOTDIR, shown, new_shown)
            if new.startswith(rel + "/"):
                raise _error(errno.EINVAL, shown, new_shown)
            if target_kind == "dir" and self._children(new):
                raise _error(errno.ENOTEMPTY, shown, new_shown)
        self._require_parent(new, shown, new_shown)
        if kind == "file":
            self.store.rename_file(self.workspace, rel, new)
        else:
            self._move_dir(rel, new)
        self._keep_parent(rel)

    def _move_dir(self, rel: str, new: str) -> None:
        """Move every file and kept directory under `rel` to the same place under `new`."""
        for info in self.store.list_files(self.workspace, rel + "/"):
            self.store.rename_file(self.workspace, info.path, new + info.path[len(rel) :])
        moved = {d for d in self._dirs if d == rel or d.startswith(rel + "/")}
        self._dirs -= moved
        self._dirs |= {new + d[len(rel) :] for d in moved}
        if not self._is_dir(new):
            self._dirs.add(new)

    # -- names ----------------------------------------------------------------------------

    def path_resolve(self, path: PurePosixPath) -> str:
        """`path` made absolute and normal (no symlinks to follow; the filesystem is not
        consulted, so any path may be resolved)."""
        return _normalise(str(path))

    def path_absolute(self, path: PurePosixPath) -> str:
        """`path` made absolute (relative paths count from ROOT)."""
        return _normalise(str(path))

    def getenv(self, key: str, default: str | None = None) -> str | None:
        """Not served: the sandbox keeps its own answer (the host environment stays hidden)."""
        raise NotImplementedError

    def get_environ(self) -> dict[str, str]:
        """Not served: the sandbox keeps its own answer (the host environment stays hidden)."""
        raise NotImplementedError
