"""Polyfill of CPython's ``fnmatch`` for the Monty sandbox.

Covers: ``fnmatch fnmatchcase filter translate``; ``translate`` is a port of CPython 3.11's
and returns the same regex text (``(?s:...)\\Z``, atomic groups for inner ``*``).

Differs from CPython: matching is always case-sensitive (``fnmatch`` behaves as on POSIX,
where ``os.path.normcase`` is the identity); the regex engine is Monty's.
"""

import re

_special = "()[]{}?*+-|^$\\.&~# \t\n\r\x0b\x0c"
_cache = {}


def _escape(s):
    return "".join(["\\" + c if c in _special else c for c in s])


def translate(pat):
    star = None
    res = []
    i = 0
    n = len(pat)
    while i < n:
        c = pat[i]
        i = i + 1
        if c == "*":
            if (not res) or res[-1] is not star:
                res.append(star)
        elif c == "?":
            res.append(".")
        elif c == "[":
            j = i
            if j < n and pat[j] == "!":
                j = j + 1
            if j < n and pat[j] == "]":
                j = j + 1
            while j < n and pat[j] != "]":
                j = j + 1
            if j >= n:
                res.append("\\[")
            else:
                stuff = pat[i:j]
                if "-" not in stuff:
                    stuff = stuff.replace("\\", "\\\\")
                else:
                    chunks = []
                    k = i + 2 if pat[i] == "!" else i + 1
                    while True:
                        k = pat.find("-", k, j)
                        if k < 0:
                            break
                        chunks.append(pat[i:k])
                        i = k + 1
                        k = k + 3
                    chunk = pat[i:j]
                    if chunk:
                        chunks.append(chunk)
                    else:
                        chunks[-1] += "-"
                    for k in range(len(chunks) - 1, 0, -1):
                        if chunks[k - 1][-1] > chunks[k][0]:
                            chunks[k - 1] = chunks[k - 1][:-1] + chunks[k][1:]
                            chunks.pop(k)
                    stuff = "-".join([s.replace("\\", "\\\\").replace("-", "\\-") for s in chunks])
                stuff = "".join(["\\" + ch if ch in "&~|" else ch for ch in stuff])
                i = j + 1
                if not stuff:
                    res.append("(?!)")
                elif stuff == "!":
                    res.append(".")
                else:
                    if stuff[0] == "!":
                        stuff = "^" + stuff[1:]
                    elif stuff[0] in ("^", "["):
                        stuff = "\\" + stuff
                    res.append("[" + stuff + "]")
        else:
            res.append(_escape(c))

    inp = res
    res = []
    i = 0
    n = len(inp)
    while i < n and inp[i] is not star:
        res.append(inp[i])
        i += 1
    while i < n:
        i += 1
        if i == n:
            res.append(".*")
            break
        fixed = []
        while i < n and inp[i] is not star:
            fixed.append(inp[i])
            i += 1
        fixed = "".join(fixed)
        if i == n:
            res.append(".*")
            res.append(fixed)
        else:
            res.append("(?>.*?" + fixed + ")")
    return "(?s:" + "".join(res) + ")\\Z"


def _compile(pat):
    rx = _cache.get(pat)
    if rx is None:
        rx = re.compile(translate(pat))
        if len(_cache) < 256:
            _cache[pat] = rx
    return rx


def fnmatchcase(name, pat):
    return _compile(pat).match(name) is not None


def fnmatch(name, pat):
    return fnmatchcase(name, pat)


def filter(names, pat):
    rx = _compile(pat)
    return [name for name in names if rx.match(name) is not None]
