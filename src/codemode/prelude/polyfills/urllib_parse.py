"""Sandbox polyfill for `urllib.parse`, ported from CPython 3.11 (str inputs).

Covers: `urlparse`, `urlsplit`, `urlunparse`, `urlunsplit`, `urljoin`, `urldefrag`,
`urlencode` (with `doseq`, `safe`, `quote_via`), `quote`, `quote_plus`,
`quote_from_bytes`, `unquote`, `unquote_plus`, `unquote_to_bytes`, `parse_qs`,
`parse_qsl` (keep_blank_values, strict_parsing, max_num_fields, separator). Results are
`ParseResult` / `SplitResult` / `DefragResult` objects that unpack, index and compare
like CPython's named tuples and carry scheme, netloc, path, (params,) query, fragment,
username, password, hostname and port, plus `geturl()` and `_replace()`.

Differences from CPython:
- URLs must be str (bytes URLs and the `*ResultBytes` types are not supported);
  `quote()` does accept bytes.
- Result attributes are computed when the result is made: an invalid or
  out-of-range port gives `port` None instead of raising ValueError on access.
- Results are not real tuples: `isinstance(r, tuple)` is False and `len(r)` does not
  work in the sandbox (use `tuple(r)`); equality with tuples works.
- Only UTF-8 is supported as `encoding` (the sandbox's codecs).
"""

import re as _re

uses_relative = ["", "ftp", "http", "gopher", "nntp", "imap", "wais", "file", "https",
                 "shttp", "mms", "prospero", "rtsp", "rtspu", "sftp", "svn", "svn+ssh",
                 "ws", "wss"]  # fmt: skip
uses_netloc = ["", "ftp", "http", "gopher", "nntp", "telnet", "imap", "wais", "file",
               "mms", "https", "shttp", "snews", "prospero", "rtsp", "rtspu", "rsync",
               "svn", "svn+ssh", "sftp", "nfs", "git", "git+ssh", "ws", "wss"]  # fmt: skip
uses_params = ["", "ftp", "hdl", "prospero", "http", "imap", "https", "shttp", "rtsp",
               "rtspu", "sip", "sips", "mms", "sftp", "tel"]  # fmt: skip
scheme_chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-."
_WHATWG_C0_CONTROL_OR_SPACE = "".join(chr(i) for i in range(33))
_UNSAFE_URL_BYTES_TO_REMOVE = ["\t", "\r", "\n"]
_ALWAYS_SAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~"


def _userinfo(netloc):
    userinfo, have_info, _ = netloc.rpartition("@")
    if have_info:
        username, have_password, password = userinfo.partition(":")
        if not have_password:
            password = None
        return username, password
    return None, None


def _hostinfo(netloc):
    _, _, hostinfo = netloc.rpartition("@")
    _, have_open_br, bracketed = hostinfo.partition("[")
    if have_open_br:
        hostname, _, port = bracketed.partition("]")
        _, _, port = port.partition(":")
    else:
        hostname, _, port = hostinfo.partition(":")
    if not port:
        port = None
    return hostname, port


def _fill(result, fields, values):
    result._fields = fields
    result._values = tuple(values)
    for name, value in zip(fields, values):
        setattr(result, name, value)
    if "netloc" in fields:
        netloc = result.netloc
        result.username, result.password = _userinfo(netloc)
        hostname, port = _hostinfo(netloc)
        if hostname:
            hostname, percent, zone = hostname.partition("%")
            result.hostname = hostname.lower() + percent + zone
        else:
            result.hostname = None
        if port is not None:
            if port.isdigit() and port.isascii() and 0 <= int(port) <= 65535:
                port = int(port)
            else:
                port = None
        result.port = port


def _result_eq(self, other):
    if isinstance(other, tuple):
        return self._values == other
    if hasattr(other, "_values"):
        return self._values == other._values
    return NotImplemented


def _result_repr(self):
    parts = ["%s=%r" % (n, v) for n, v in zip(self._fields, self._values)]
    return "%s(%s)" % (self._name, ", ".join(parts))


class SplitResult:
    """The result of `urlsplit`: (scheme, netloc, path, query, fragment)."""

    _name = "SplitResult"

    def __init__(self, scheme, netloc, path, query, fragment):
        _fill(self, ("scheme", "netloc", "path", "query", "fragment"),
              (scheme, netloc, path, query, fragment))  # fmt: skip

    def geturl(self):
        return urlunsplit(self._values)

    def _replace(self, **kwargs):
        values = [kwargs.pop(n, v) for n, v in zip(self._fields, self._values)]
        if kwargs:
            raise ValueError("Got unexpected field names: %r" % list(kwargs))
        return SplitResult(*values)

    def _asdict(self):
        return dict(zip(self._fields, self._values))

    def __iter__(self):
        return iter(self._values)

    def __getitem__(self, i):
        return self._values[i]

    def __len__(self):
        return len(self._values)

    def __eq__(self, other):
        return _result_eq(self, other)

    def __hash__(self):
        return hash(self._values)

    def __repr__(self):
        return _result_repr(self)


class ParseResult:
    """The result of `urlparse`: (scheme, netloc, path, params, query, fragment)."""

    _name = "ParseResult"

    def __init__(self, scheme, netloc, path, params, query, fragment):
        _fill(self, ("scheme", "netloc", "path", "params", "query", "fragment"),
              (scheme, netloc, path, params, query, fragment))  # fmt: skip

    def geturl(self):
        return urlunparse(self._values)

    def _replace(self, **kwargs):
        values = [kwargs.pop(n, v) for n, v in zip(self._fields, self._values)]
        if kwargs:
            raise ValueError("Got unexpected field names: %r" % list(kwargs))
        return ParseResult(*values)

    def _asdict(self):
        return dict(zip(self._fields, self._values))

    def __iter__(self):
        return iter(self._values)

    def __getitem__(self, i):
        return self._values[i]

    def __len__(self):
        return len(self._values)

    def __eq__(self, other):
        return _result_eq(self, other)

    def __hash__(self):
        return hash(self._values)

    def __repr__(self):
        return _result_repr(self)


class DefragResult:
    """The result of `urldefrag`: (url, fragment)."""

    _name = "DefragResult"

    def __init__(self, url, fragment):
        _fill(self, ("url", "fragment"), (url, fragment))

    def geturl(self):
        if self.fragment:
            return self.url + "#" + self.fragment
        return self.url

    def __iter__(self):
        return iter(self._values)

    def __getitem__(self, i):
        return self._values[i]

    def __len__(self):
        return len(self._values)

    def __eq__(self, other):
        return _result_eq(self, other)

    def __hash__(self):
        return hash(self._values)

    def __repr__(self):
        return _result_repr(self)


def _splitnetloc(url, start=0):
    delim = len(url)
    for c in "/?#":
        wdelim = url.find(c, start)
        if wdelim >= 0:
            delim = min(delim, wdelim)
    return url[start:delim], url[delim:]


def _splitparams(url):
    if "/" in url:
        i = url.find(";", url.rfind("/"))
        if i < 0:
            return url, ""
    else:
        i = url.find(";")
    return url[:i], url[i + 1 :]


def urlsplit(url, scheme="", allow_fragments=True):
    """Split a URL into 5 components: scheme://netloc/path?query#fragment."""
    url = url.lstrip(_WHATWG_C0_CONTROL_OR_SPACE)
    scheme = scheme.strip(_WHATWG_C0_CONTROL_OR_SPACE)
    for b in _UNSAFE_URL_BYTES_TO_REMOVE:
        url = url.replace(b, "")
        scheme = scheme.replace(b, "")
    netloc = query = fragment = ""
    i = url.find(":")
    if i > 0 and url[0].isascii() and url[0].isalpha():
        ok = True
        for c in url[:i]:
            if c not in scheme_chars:
                ok = False
                break
        if ok:
            scheme, url = url[:i].lower(), url[i + 1 :]
    if url[:2] == "//":
        netloc, url = _splitnetloc(url, 2)
        if ("[" in netloc and "]" not in netloc) or ("]" in netloc and "[" not in netloc):
            raise ValueError("Invalid IPv6 URL")
    if allow_fragments and "#" in url:
        url, fragment = url.split("#", 1)
    if "?" in url:
        url, query = url.split("?", 1)
    return SplitResult(scheme, netloc, url, query, fragment)


def urlparse(url, scheme="", allow_fragments=True):
    """Parse a URL into 6 components: scheme://netloc/path;params?query#fragment."""
    s = urlsplit(url, scheme, allow_fragments)
    scheme, netloc, url, query, fragment = s._values
    if scheme in uses_params and ";" in url:
        url, params = _splitparams(url)
    else:
        params = ""
    return ParseResult(scheme, netloc, url, params, query, fragment)


def urlunsplit(components):
    """Combine a 5-item (scheme, netloc, path, query, fragment) back into a URL."""
    scheme, netloc, url, query, fragment = tuple(components)
    if netloc or (scheme and scheme in uses_netloc and url[:2] != "//"):
        if url and url[:1] != "/":
            url = "/" + url
        url = "//" + (netloc or "") + url
    if scheme:
        url = scheme + ":" + url
    if query:
        url = url + "?" + query
    if fragment:
        url = url + "#" + fragment
    return url


def urlunparse(components):
    """Combine a 6-item (scheme, netloc, path, params, query, fragment) into a URL."""
    scheme, netloc, url, params, query, fragment = tuple(components)
    if params:
        url = "%s;%s" % (url, params)
    return urlunsplit((scheme, netloc, url, query, fragment))


def urljoin(base, url, allow_fragments=True):
    """Join a base URL and a possibly relative URL into an absolute URL."""
    if not base:
        return url
    if not url:
        return base
    bscheme, bnetloc, bpath, bparams, bquery, bfragment = urlparse(
        base, "", allow_fragments
    )._values
    scheme, netloc, path, params, query, fragment = urlparse(url, bscheme, allow_fragments)._values

    if scheme != bscheme or scheme not in uses_relative:
        return url
    if scheme in uses_netloc:
        if netloc:
            return urlunparse((scheme, netloc, path, params, query, fragment))
        netloc = bnetloc

    if not path and not params:
        path = bpath
        params = bparams
        if not query:
            query = bquery
        return urlunparse((scheme, netloc, path, params, query, fragment))

    base_parts = bpath.split("/")
    if base_parts[-1] != "":
        base_parts.pop()

    if path[:1] == "/":
        segments = path.split("/")
    else:
        segments = base_parts + path.split("/")
        if len(segments) > 2:
            middle = [s for s in segments[1:-1] if s]
            segments = [segments[0]] + middle + [segments[-1]]

    resolved_path = []
    for seg in segments:
        if seg == "..":
            if resolved_path:
                resolved_path.pop()
        elif seg == ".":
            continue
        else:
            resolved_path.append(seg)

    if segments[-1] in (".", ".."):
        resolved_path.append("")

    return urlunparse((scheme, netloc, "/".join(resolved_path) or "/", params, query, fragment))


def urldefrag(url):
    """Split off the fragment: DefragResult(url_without_fragment, fragment)."""
    if "#" in url:
        s, n, p, a, q, frag = urlparse(url)._values
        defrag = urlunparse((s, n, p, a, q, ""))
    else:
        frag = ""
        defrag = url
    return DefragResult(defrag, frag)


_HEX = "0123456789ABCDEFabcdef"


def unquote_to_bytes(string):
    """unquote_to_bytes('abc%20def') -> b'abc def'."""
    if not string:
        return b""
    if isinstance(string, str):
        string = string.encode("utf-8")
    bits = string.split(b"%")
    if len(bits) == 1:
        return string
    res = [bits[0]]
    for item in bits[1:]:
        head = item[:2]
        if len(head) == 2 and chr(head[0]) in _HEX and chr(head[1]) in _HEX:
            res.append(bytes.fromhex(head.decode("ascii")))
            res.append(item[2:])
        else:
            res.append(b"%")
            res.append(item)
    return b"".join(res)


_ASCII_RUN = _re.compile("([\x00-\x7f]+)")


def unquote(string, encoding="utf-8", errors="replace"):
    """Replace %xx escapes by their characters (decoded as UTF-8)."""
    if isinstance(string, bytes):
        return unquote_to_bytes(string).decode(encoding, errors)
    if "%" not in string:
        return string
    if encoding is None:
        encoding = "utf-8"
    if errors is None:
        errors = "replace"
    bits = _ASCII_RUN.split(string)
    res = [bits[0]]
    for i in range(1, len(bits), 2):
        res.append(unquote_to_bytes(bits[i]).decode(encoding, errors))
        res.append(bits[i + 1])
    return "".join(res)


def unquote_plus(string, encoding="utf-8", errors="replace"):
    """Like unquote(), but also replace plus signs by spaces."""
    return unquote(string.replace("+", " "), encoding, errors)


def quote_from_bytes(bs, safe="/"):
    """Like quote(), but takes bytes; always returns an ASCII str."""
    if not isinstance(bs, bytes):
        raise TypeError("quote_from_bytes() expected bytes")
    if not bs:
        return ""
    if isinstance(safe, bytes):
        safe = safe.decode("utf-8", "ignore")
    safe_chars = _ALWAYS_SAFE + "".join(c for c in safe if ord(c) < 128)
    out = []
    for b in bs:
        c = chr(b)
        if b < 128 and c in safe_chars:
            out.append(c)
        else:
            out.append("%{:02X}".format(b))
    return "".join(out)


def quote(string, safe="/", encoding=None, errors=None):
    """quote('abc def') -> 'abc%20def' (UTF-8, RFC 3986 unreserved chars kept)."""
    if isinstance(string, str):
        if not string:
            return string
        string = string.encode("utf-8" if encoding is None else encoding)
    else:
        if encoding is not None:
            raise TypeError("quote() doesn't support 'encoding' for bytes")
        if errors is not None:
            raise TypeError("quote() doesn't support 'errors' for bytes")
    return quote_from_bytes(string, safe)


def quote_plus(string, safe="", encoding=None, errors=None):
    """Like quote(), but also replaces ' ' with '+' (HTML form encoding)."""
    if (isinstance(string, str) and " " not in string) or (
        isinstance(string, bytes) and b" " not in string
    ):
        return quote(string, safe, encoding, errors)
    space = " " if isinstance(safe, str) else b" "
    return quote(string, safe + space, encoding, errors).replace(" ", "+")


def urlencode(query, doseq=False, safe="", encoding=None, errors=None,
              quote_via=quote_plus):  # fmt: skip
    """Encode a dict or sequence of pairs as a query string ("a=1&b=x+y")."""
    if isinstance(query, dict) or hasattr(query, "items"):
        query = list(query.items())
    else:
        query = list(query)
        if query and not isinstance(query[0], tuple):
            raise TypeError("not a valid non-string sequence or mapping object")

    def q(x):
        if isinstance(x, bytes):
            return quote_via(x, safe)
        return quote_via(str(x), safe, encoding, errors)

    parts = []
    for k, v in query:
        k = q(k)
        if not doseq or isinstance(v, (str, bytes)):
            parts.append(k + "=" + q(v))
        elif isinstance(v, (list, tuple, set, frozenset, dict)):
            for elt in v:
                parts.append(k + "=" + q(elt))
        else:
            parts.append(k + "=" + q(v))
    return "&".join(parts)


def parse_qsl(qs, keep_blank_values=False, strict_parsing=False, encoding="utf-8",
              errors="replace", max_num_fields=None, separator="&"):  # fmt: skip
    """Parse a query string into a list of (name, value) pairs."""
    if not separator or not isinstance(separator, str):
        raise ValueError("Separator must be of type string or bytes.")
    if max_num_fields is not None:
        num_fields = 1 + qs.count(separator) if qs else 0
        if max_num_fields < num_fields:
            raise ValueError("Max number of fields exceeded")
    r = []
    query_args = qs.split(separator) if qs else []
    for name_value in query_args:
        if not name_value and not strict_parsing:
            continue
        nv = name_value.split("=", 1)
        if len(nv) != 2:
            if strict_parsing:
                raise ValueError("bad query field: %r" % (name_value,))
            if keep_blank_values:
                nv.append("")
            else:
                continue
        if len(nv[1]) or keep_blank_values:
            name = unquote(nv[0].replace("+", " "), encoding=encoding, errors=errors)
            value = unquote(nv[1].replace("+", " "), encoding=encoding, errors=errors)
            r.append((name, value))
    return r


def parse_qs(qs, keep_blank_values=False, strict_parsing=False, encoding="utf-8",
             errors="replace", max_num_fields=None, separator="&"):  # fmt: skip
    """Parse a query string into a dict of name -> list of values."""
    parsed_result = {}
    pairs = parse_qsl(qs, keep_blank_values, strict_parsing, encoding=encoding,
                      errors=errors, max_num_fields=max_num_fields,
                      separator=separator)  # fmt: skip
    for name, value in pairs:
        if name in parsed_result:
            parsed_result[name].append(value)
        else:
            parsed_result[name] = [value]
    return parsed_result
