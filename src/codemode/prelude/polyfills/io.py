"""Sandbox polyfill for `io`: in-memory text and byte streams.

Covers: `StringIO(initial_value="")` and `BytesIO(initial_bytes=b"")` with write,
writelines, read(n), readline(size), readlines(hint), getvalue, seek(pos, whence),
tell, truncate, flush, close/closed, readable/writable/seekable, isatty, iteration over
lines and use as a context manager. Both work as the file argument of `csv.writer`,
`csv.DictWriter`, `print(..., file=...)`-style code that calls `.write(str)`, and
`json.dump`. Also `SEEK_SET`, `SEEK_CUR`, `SEEK_END` and `UnsupportedOperation`.

Differences from CPython:
- `StringIO` does no newline translation: `newline` is accepted and ignored, lines
  always end at "\\n" (CPython's default `newline="\\n"` behaves the same way).
- There is no `TextIOWrapper`, `BufferedReader`, `open`, `BytesIO.getbuffer`,
  `readinto` or `read1`; `isinstance(x, io.IOBase)` is not possible.
- `UnsupportedOperation` is `OSError` itself (the sandbox has no class inheritance).
- The sandbox does not dispatch `__bool__`, so a stream is always truthy.
"""

SEEK_SET = 0
SEEK_CUR = 1
SEEK_END = 2
UnsupportedOperation = OSError
DEFAULT_BUFFER_SIZE = 8192


# Shared implementation: `self._empty` is "" or b"", `self._nl` is "\n" or b"\n".


def _check_open(self):
    if self.closed:
        raise ValueError(self._closed_msg)


def _value(self):
    if self._chunks:
        self._buf = self._buf + self._empty.join(self._chunks)
        self._chunks = []
    return self._buf


def _write(self, s):
    n = len(s)
    if n == 0:
        return 0
    if self._pos == self._size:
        # The common case, appending: O(1) until the buffer is next read.
        self._chunks.append(s)
    else:
        buf = _value(self)
        if self._pos > len(buf):
            buf = buf + self._pad * (self._pos - len(buf))
        self._buf = buf[: self._pos] + s + buf[self._pos + n :]
    self._pos += n
    if self._pos > self._size:
        self._size = self._pos
    return n


def _read(self, size=-1):
    _check_open(self)
    buf = _value(self)
    if size is None or size < 0:
        end = len(buf)
    else:
        end = min(len(buf), self._pos + size)
    if self._pos >= end:
        return self._empty
    out = buf[self._pos : end]
    self._pos = end
    return out


def _readline(self, size=-1):
    _check_open(self)
    buf = _value(self)
    if self._pos >= len(buf):
        return self._empty
    i = buf.find(self._nl, self._pos)
    end = len(buf) if i < 0 else i + 1
    if size is not None and size >= 0:
        end = min(end, self._pos + size)
    out = buf[self._pos : end]
    self._pos = end
    return out


def _readlines(self, hint=-1):
    lines = []
    total = 0
    while True:
        line = _readline(self)
        if not line:
            break
        lines.append(line)
        total += len(line)
        if hint is not None and 0 < hint <= total:
            break
    return lines


def _truncate(self, size=None):
    _check_open(self)
    if size is None:
        size = self._pos
    if size < 0:
        raise ValueError("negative size value %d" % size)
    buf = _value(self)
    if size < len(buf):
        self._buf = buf[:size]
        self._size = size
    return size


def _next(self):
    line = _readline(self)
    if not line:
        raise StopIteration
    return line


class StringIO:
    """Text I/O over an in-memory str buffer."""

    def __init__(self, initial_value="", newline="\n"):
        if initial_value is None:
            initial_value = ""
        if not isinstance(initial_value, str):
            raise TypeError(
                "initial_value must be str or None, not %s" % type(initial_value).__name__
            )
        self._empty = ""
        self._closed_msg = "I/O operation on closed file"
        self._nl = "\n"
        self._pad = "\0"
        self._buf = initial_value
        self._chunks = []
        self._size = len(initial_value)
        self._pos = 0
        self.closed = False
        self.newline = newline

    def write(self, s):
        _check_open(self)
        if not isinstance(s, str):
            raise TypeError("string argument expected, got '%s'" % type(s).__name__)
        return _write(self, s)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def read(self, size=-1):
        return _read(self, size)

    def readline(self, size=-1):
        return _readline(self, size)

    def readlines(self, hint=-1):
        return _readlines(self, hint)

    def getvalue(self):
        _check_open(self)
        return _value(self)

    def seek(self, pos, whence=0):
        _check_open(self)
        if whence == 0:
            if pos < 0:
                raise ValueError("Negative seek position %d" % pos)
            self._pos = pos
        elif whence == 1:
            if pos != 0:
                raise OSError("Can't do nonzero cur-relative seeks")
        elif whence == 2:
            if pos != 0:
                raise OSError("Can't do nonzero end-relative seeks")
            self._pos = self._size
        else:
            raise ValueError("Invalid whence (%d, should be 0, 1 or 2)" % whence)
        return self._pos

    def tell(self):
        _check_open(self)
        return self._pos

    def truncate(self, size=None):
        return _truncate(self, size)

    def close(self):
        self.closed = True

    def flush(self):
        _check_open(self)

    def readable(self):
        _check_open(self)
        return True

    def writable(self):
        _check_open(self)
        return True

    def seekable(self):
        _check_open(self)
        return True

    def isatty(self):
        _check_open(self)
        return False

    def __iter__(self):
        _check_open(self)
        return self

    def __next__(self):
        return _next(self)

    def __enter__(self):
        _check_open(self)
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        return "<_io.StringIO object>"


class BytesIO:
    """Binary I/O over an in-memory bytes buffer."""

    def __init__(self, initial_bytes=b""):
        if initial_bytes is None:
            initial_bytes = b""
        if not isinstance(initial_bytes, bytes):
            raise TypeError(
                "a bytes-like object is required, not '%s'" % type(initial_bytes).__name__
            )
        self._empty = b""
        self._closed_msg = "I/O operation on closed file."
        self._nl = b"\n"
        self._pad = b"\0"
        self._buf = initial_bytes
        self._chunks = []
        self._size = len(initial_bytes)
        self._pos = 0
        self.closed = False

    def write(self, b):
        _check_open(self)
        if not isinstance(b, bytes):
            raise TypeError("a bytes-like object is required, not '%s'" % type(b).__name__)
        return _write(self, b)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def read(self, size=-1):
        return _read(self, size)

    def read1(self, size=-1):
        return _read(self, size)

    def readline(self, size=-1):
        return _readline(self, size)

    def readlines(self, hint=-1):
        return _readlines(self, hint)

    def getvalue(self):
        _check_open(self)
        return _value(self)

    def seek(self, pos, whence=0):
        _check_open(self)
        if whence == 0:
            if pos < 0:
                raise ValueError("negative seek value %d" % pos)
            self._pos = pos
        elif whence == 1:
            self._pos = max(0, self._pos + pos)
        elif whence == 2:
            self._pos = max(0, self._size + pos)
        else:
            raise ValueError("invalid whence (%d, should be 0, 1 or 2)" % whence)
        return self._pos

    def tell(self):
        _check_open(self)
        return self._pos

    def truncate(self, size=None):
        return _truncate(self, size)

    def close(self):
        self.closed = True

    def flush(self):
        _check_open(self)

    def readable(self):
        _check_open(self)
        return True

    def writable(self):
        _check_open(self)
        return True

    def seekable(self):
        _check_open(self)
        return True

    def isatty(self):
        _check_open(self)
        return False

    def __iter__(self):
        _check_open(self)
        return self

    def __next__(self):
        return _next(self)

    def __enter__(self):
        _check_open(self)
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        return "<_io.BytesIO object>"
