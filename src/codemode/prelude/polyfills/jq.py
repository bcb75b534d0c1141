"""`jq(expr, data, all=False)`: query JSON-like data with a jq expression.

This source runs inside the sandbox, so it keeps to that interpreter's subset: module-level
functions, tuples for syntax nodes and dicts for state; no generators, classes or `global`.
The expression is tokenized, parsed by recursive descent into nested tuples (cached per
expression) and evaluated in continuation-passing style: a node calls `emit(value)` once per
output, which keeps `first(f)`, `limit(n; f)`, `any(g; c)` and `range` lazy.

Supported, with jq 1.7 semantics: `.`, `.a`, `."a-b"`, `.["a"]`, `.[0]`, `.[-1]`, `.[2:5]`,
`.[]`, `..`, `E?`, `|`, `,`, literals, `[...]`, `{a, "b": .x, (.k): .v, $x}`, string
interpolation (also `@csv "\\(.)"`), `+ - * / %`, comparisons in jq's order across types,
`and`, `or`, `//`, `if`/`elif`/`else`, `try`/`catch`, `E as $x | ...`, `reduce`, `$ENV`
(empty), and the builtins named in `_VALUES`, `_FILTERS` and `_SELECTORS` below.
Not supported: `def`, `foreach`, `label`, assignments (`=`, `|=`, `+=`, ...), `del`/`path`,
destructuring, `input`/`inputs`, dates, SQL-style and streaming builtins.

Errors are `ValueError("jq: ...")`. Hostile input cannot exhaust the sandbox: expressions over
20,000 characters or nested over 100 levels, data nested over 200 levels, more than 500,000
values generated in one call (counted at `.[]`, `..`, `range`, `recurse(f)` and regex
matches), arrays or strings beyond that size, and regular expressions that backtrack too much
all end the call with an error that `try`, `?` and `//` cannot catch.
"""

_MAX_EXPR = 20000
_MAX_NEST = 100
_MAX_DEPTH = 200
_MAX_VALUES = 500000
_MAX_CHARS = 10000000
_DEPTH_MSG = "data nested deeper than 200 levels"
_NEST_MSG = "expression nested too deeply (more than 100 levels of brackets, pipes or bindings)"
_CACHE = {}


# ---------------------------------------------------------------------------------- values


def _fail(msg):
    raise ValueError("jq: " + msg)


def _abort(msg):
    # Limits travel as OverflowError, which `try`, `?` and `//` (they catch ValueError)
    # let through; jq() turns it back into ValueError.
    raise OverflowError("jq: " + msg)


def _tick(ctx, n):
    ctx["n"] += n
    if ctx["n"] > _MAX_VALUES:
        _abort("more than 500000 values generated; narrow the query with select, first or limit")


def _sized(v):
    if len(v) > (_MAX_CHARS if type(v) is str else _MAX_VALUES):
        _abort(("string" if type(v) is str else "array") + " too large")
    return v


def _isnum(v):
    return type(v) is int or type(v) is float


def _truthy(v):
    return not (v is None or v is False)


def _floor(v):
    i = int(v)
    return i - 1 if i > v else i


def _num(v):
    """Integral floats from arithmetic become ints, the way jq prints them."""
    return int(v) if type(v) is float and abs(v) < 1e17 and v == int(v) else v


_TYPES = {
    type(None): "null",
    bool: "boolean",
    int: "number",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
}


def _type(v):
    name = _TYPES.get(type(v))
    if name is None:
        _fail("cannot use a Python " + type(v).__name__ + " (data must be JSON-like)")
    return name


def _need(v, kind, what):
    if _type(v) != kind:
        _fail(_desc(v) + " " + what)
    return v


def _dumps(v):
    import json

    try:
        return json.dumps(v, ensure_ascii=False, separators=(",", ":"))
    except RecursionError:
        _abort(_DEPTH_MSG)
    except TypeError as e:  # a set or other non-JSON value inside the data
        _fail("cannot convert to JSON: " + str(e))


def _desc(v):
    text = _dumps(v)
    return _type(v) + " (" + (text if len(text) <= 30 else text[:27] + "...") + ")"


def _tostring(v):
    return v if type(v) is str else _dumps(v)


def _key(v, d=0):
    """A tuple that sorts like jq orders values: null < false < true < numbers < strings
    < arrays < objects (objects by their sorted keys, then their values)."""
    t = _type(v)
    if t == "null" or t == "boolean":
        return (0,) if v is None else ((2,) if v else (1,))
    if t == "number" or t == "string":
        return (3, v) if t == "number" else (4, v)
    if d > _MAX_DEPTH:
        _abort(_DEPTH_MSG)
    if t == "array":
        return (5, tuple(_key(e, d + 1) for e in v))
    ks = sorted(v)
    return (6, tuple(ks), tuple(_key(v[k], d + 1) for k in ks))


def _eq(a, b):
    if type(a) is str or type(b) is str:
        return type(a) is type(b) and a == b
    if _isnum(a) and _isnum(b):
        return a == b
    return _key(a) == _key(b)  # unlike Python, jq has true != 1


def _cmp(a, b):
    if not ((_isnum(a) and _isnum(b)) or (type(a) is str and type(b) is str)):
        a, b = _key(a), _key(b)
    return -1 if a < b else (1 if a > b else 0)


# ------------------------------------------------------------------------------- tokenizer

_TOKEN = (
    r"(\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|([.$@]?[A-Za-z_][A-Za-z0-9_]*)"
    r"|(//=|[|+\-*/%]=|==|!=|<=|>=|//|\.\.|[|,.\[\](){}:;+\-*/%<>=?])"
)


def _where(src, pos):
    text = src if len(src) <= 60 else "..." + src[max(0, pos - 30) : pos + 30] + "..."
    return " at column " + str(pos + 1) + " in '" + text + "'"


def _tokenize(src, start, end, nest):
    """Tokens (kind, value, start, end); kinds: num str ident field var format op eof."""
    import re

    rx = re.compile(_TOKEN)
    toks, i = [], start
    while i < end:
        c = src[i]
        if c in " \t\r\n#":
            j = src.find("\n", i, end) if c == "#" else i + 1
            i = end if j < 0 else j
            continue
        if c == '"':
            parts, j = _scan_string(src, i, end, nest)
            toks.append(("str", parts, i, j))
            i = j
            continue
        m = rx.match(src[i : min(end, i + 256)])  # match() takes no start position here
        if m is None:
            _fail("unexpected character " + repr(c) + _where(src, i))
        text = m.group(0)
        if m.group(1) is not None:
            frac = "." in text or "e" in text or "E" in text
            kind, val = "num", float(text) if frac else int(text)
        elif m.group(2) is not None and c in ".$@":
            kind, val = {".": "field", "$": "var", "@": "format"}[c], text[1:]
        else:
            kind, val = "op" if m.group(3) is not None else "ident", text
        toks.append((kind, val, i, i + len(text)))
        i += len(text)
    toks.append(("eof", None, end, end))
    return toks


def _scan_string(src, i, end, nest):
    """The string literal at src[i]: (parts, end), the parts being literal text and the
    (start, end) spans of `\\(...)` interpolations."""
    parts, j, seg = [], i + 1, i + 1
    while True:
        q, b = src.find('"', j, end), src.find("\\", j, end)
        if q < 0:
            _fail("unterminated string" + _where(src, i))
        if b < 0 or q < b:
            parts.append(_unescape(src, seg, q))
            return [part for part in parts if part != ""], q + 1
        j = b + 2
        if src[b + 1 : b + 2] != "(":
            continue  # an escape, decoded with the whole segment
        if nest >= _MAX_NEST:
            _abort(_NEST_MSG)
        parts.append(_unescape(src, seg, b))
        depth = 1
        while depth:
            if j >= end:
                _fail("unterminated string interpolation" + _where(src, b))
            if src[j] == '"':
                j = _scan_string(src, j, end, nest + 1)[1]
                continue
            depth += {"(": 1, ")": -1}.get(src[j], 0)
            j += 1
        parts.append((b + 2, j - 1))
        seg = j


def _unescape(src, a, b):
    import json

    text = src[a:b].replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    try:
        return json.loads('"' + text + '"')  # jq's escapes are JSON's
    except Exception:
        _fail("invalid escape in string" + _where(src, a))


# ---------------------------------------------------------------------------------- parser

_PREC = {",": 1, "//": 2, "or": 4, "and": 5, "+": 7, "-": 7, "*": 8, "/": 8, "%": 8}
_PREC.update({op: 6 for op in ("==", "!=", "<", "<=", ">", ">=")})
_KINDS = {1: "comma", 2: "alt", 4: "logic", 5: "logic"}
_RESERVED = ("then", "elif", "else", "end", "as", "catch", "and", "or")
_UNSUPPORTED = ("def", "foreach", "label", "import", "include")


def _parse(src):
    node = _CACHE.get(src)
    if node is None:
        if len(src) > _MAX_EXPR:
            _fail("expression longer than 20000 characters")
        p = {"toks": _tokenize(src, 0, len(src), 0), "i": 0, "src": src, "nest": 0, "vars": []}
        node = _p_pipe(p)
        _expect(p, None)
        if len(_CACHE) > 500:
            _CACHE.clear()
        _CACHE[src] = node
    return node


def _peek(p, ahead=0):
    return p["toks"][min(p["i"] + ahead, len(p["toks"]) - 1)]


def _next(p):
    p["i"] += 1
    return p["toks"][p["i"] - 1]


def _is(p, value):
    tok = p["toks"][p["i"]]
    return tok[1] == value and (tok[0] == "op" or tok[0] == "ident")


def _take(p, value):
    if _is(p, value):
        p["i"] += 1
        return True
    return False


def _syntax(p, tok, expected=None):
    what = "end of expression" if tok[0] == "eof" else "'" + p["src"][tok[2] : tok[3]] + "'"
    hint = "" if expected is None else " (expected " + expected + ")"
    _fail("unexpected " + what + hint + _where(p["src"], tok[2]))


def _expect(p, value):
    tok = _next(p)
    if (tok[0] != "eof") if value is None else (tok[1] != value or tok[0] not in ("op", "ident")):
        _syntax(p, tok, None if value is None else "'" + value + "'")


def _enter(p):
    # Nesting is counted while parsing, so evaluation never meets the sandbox's recursion
    # limit: brackets, calls, pipe stages, `?` and bindings each add a level.
    p["nest"] += 1
    if p["nest"] > _MAX_NEST:
        _abort(_NEST_MSG)
    return p["nest"] - 1


def _p_pipe(p, minprec=1):
    saved = _enter(p)
    stages = [_p_expr(p, minprec)]
    while _take(p, "|"):
        _enter(p)
        stages.append(_p_expr(p, minprec))
    p["nest"] = saved
    return stages[0] if len(stages) == 1 else ("pipe", stages)


def _p_expr(p, minprec):
    """Binary operators by precedence climbing. Chains stay flat, so evaluating
    `1 + 1 + ... + 1` needs no recursion."""
    left = _p_postfix(p)
    while True:
        tok = _peek(p)
        if tok[0] == "op" and tok[1].endswith("=") and tok[1] not in ("==", "!=", "<=", ">="):
            _fail("assignment operators are not supported" + _where(p["src"], tok[2]))
        is_op = tok[0] == "op" or (tok[0] == "ident" and tok[1] in ("and", "or"))
        prec = _PREC.get(tok[1]) if is_op else None
        if prec is None or prec < minprec:
            return left
        op = _next(p)[1]
        right = _p_expr(p, prec if op == "//" else prec + 1)  # '//' is right-associative
        kind = _KINDS.get(prec, "arith")
        if kind == "comma" or kind == "alt":
            items = right[1] if right[0] == kind else [right]
            left = (kind, (left[1] if left[0] == kind else [left]) + items)
        elif left[0] == kind:
            left = (kind, left[1], left[2] + [(op, right)])
        else:
            left = (kind, left, [(op, right)])
        if prec == 6 and _PREC.get(_peek(p)[1]) == 6:
            _syntax(p, _peek(p))  # comparisons do not chain


def _p_postfix(p, allow_as=True):
    """A term with its suffixes (`.a`, `[e]`, `[a:b]`, `[]`, `?`), unary minus, `as`."""
    saved = p["nest"]
    if _take(p, "-"):
        _enter(p)
        node = ("neg", _p_postfix(p, False))
        p["nest"] = saved
        return node
    base, steps = _p_term(p), []
    while True:
        tok, after = _peek(p), _peek(p, 1)
        if tok[0] == "field":
            steps.append(("key", _next(p)[1]))
        elif tok[0] == "op" and tok[1] == "." and after[0] == "str":
            _next(p)
            steps.append(_keystep(_p_string(p, _next(p), None)))
        elif tok[0] == "op" and (tok[1] == "[" or (tok[1] == "." and after[1] == "[")):
            p["i"] += 2 if tok[1] == "." else 1
            steps.append(_p_bracket(p))
        elif _take(p, "?"):
            _enter(p)
            base, steps = ("try", _mkpath(base, steps), None), []
        else:
            break
    p["nest"] = saved
    node = _mkpath(base, steps)
    if allow_as and _take(p, "as"):
        name = _p_name(p)
        _expect(p, "|")
        p["vars"].append(name)
        node = ("as", node, name, _p_pipe(p))
        p["vars"].pop()
    return node


def _mkpath(base, steps):
    """A path node; `.a.b`-style ones also carry their keys, for a fast path."""
    if not steps:
        return base
    if base[0] == "path":
        base, steps = base[1], base[2] + steps
    plain = base[0] == "dot" and all(st[0] == "key" for st in steps)
    return ("path", base, steps, [st[1] for st in steps] if plain else None)


def _keystep(node):
    return ("key", node[1]) if node[0] == "lit" else ("index", node)


def _p_bracket(p):
    """After '[' in a suffix: `[]`, `[e]`, `[e:e]`, `[:e]` or `[e:]`."""
    if _take(p, "]"):
        return ("iter",)
    lo = ("lit", None) if _is(p, ":") else _p_pipe(p)
    if not _take(p, ":"):
        _expect(p, "]")
        return _keystep(lo)
    hi = ("lit", None) if _is(p, "]") else _p_pipe(p)
    _expect(p, "]")
    return ("slice", lo, hi)


def _p_name(p):
    tok = _next(p)
    if tok[0] != "var":
        _syntax(p, tok, "a $name; destructuring is not supported")
    return tok[1]


def _p_term(p):
    tok = _next(p)
    kind, val, src = tok[0], tok[1], p["src"]
    if kind == "num" or (kind == "ident" and val in ("true", "false", "null")):
        return ("lit", {"true": True, "false": False, "null": None}.get(val, val))
    if kind == "str":
        return _p_string(p, tok, None)
    if kind == "field" or (val == "." and _peek(p)[0] == "str"):
        p["i"] -= 1  # the suffix loop reads `.name` and `."name"`
        return ("dot",)
    if kind == "format":
        if val not in _FORMATS:
            _fail("unknown format '@" + val + "'" + _where(src, tok[2]))
        return _p_string(p, _next(p), val) if _peek(p)[0] == "str" else ("format", val)
    if kind == "var":
        return _p_var(p, tok)
    if kind == "op" and val in (".", ".."):
        return ("dot",) if val == "." else ("recall",)
    if kind == "op" and val == "[" and _take(p, "]"):
        return ("collect", None)
    if kind == "op" and val in ("(", "["):
        saved = _enter(p)
        node = _p_pipe(p)
        _expect(p, ")" if val == "(" else "]")
        p["nest"] = saved
        return ("collect", node) if val == "[" else node
    if kind == "op" and val == "{":
        return _p_object(p)
    if kind == "ident" and val in ("if", "try", "reduce"):
        saved = _enter(p)
        node = {"if": _p_if, "try": _p_try, "reduce": _p_reduce}[val](p)
        p["nest"] = saved
        return node
    if kind == "ident" and val in _UNSUPPORTED:
        _fail("'" + val + "' is not supported" + _where(src, tok[2]))
    if kind == "ident" and val not in _RESERVED:
        return _p_call(p, tok)
    _syntax(p, tok)


def _p_var(p, tok):
    if tok[1] == "ENV":
        return ("lit", {})
    if tok[1] not in p["vars"]:
        _fail("$" + tok[1] + " is not defined" + _where(p["src"], tok[2]))
    return ("var", tok[1])


def _p_call(p, tok):
    args = []
    if _take(p, "("):
        saved = _enter(p)
        args.append(_p_pipe(p))
        while _take(p, ";"):
            args.append(_p_pipe(p))
        _expect(p, ")")
        p["nest"] = saved
    key = tok[1] + "/" + str(len(args))
    if key in _VALUES:
        return ("value", _VALUES[key], args)
    if key in _FILTERS:
        return ("call", _FILTERS[key], args)
    if key in _SELECTORS:
        return ("sel", _SELECTORS[key])
    known = sorted(k for t in (_VALUES, _FILTERS) for k in t if k.split("/")[0] == tok[1])
    hint = " (there is " + ", ".join(known) + ")" if known else ""
    _fail("unknown function '" + key + "'" + hint + _where(p["src"], tok[2]))


def _p_string(p, tok, fmt):
    if tok[0] != "str":
        _syntax(p, tok, "a string")
    nodes = []
    for part in tok[1]:
        if type(part) is str:
            nodes.append(part)
            continue
        toks = _tokenize(p["src"], part[0], part[1], p["nest"] + 1)
        sub = {"toks": toks, "i": 0, "src": p["src"], "nest": p["nest"] + 1, "vars": p["vars"]}
        nodes.append(_p_pipe(sub))
        _expect(sub, None)
    if all(type(n) is str for n in nodes):
        return ("lit", "".join(nodes))
    return ("string", fmt, nodes)


def _p_object(p):
    saved = _enter(p)
    pairs = []
    while not _take(p, "}"):
        if pairs:
            _expect(p, ",")
        tok = _next(p)
        kind, val, value = tok[0], tok[1], None
        if kind == "var":
            key, value = ("lit", val), _p_var(p, tok)
        elif kind == "ident" or kind == "str":
            key = ("lit", val) if kind == "ident" else _p_string(p, tok, None)
            value = _mkpath(("dot",), [_keystep(key)])  # `{a}` is `{a: .a}`
        elif kind == "op" and val == "(":
            key = _p_pipe(p)
            _expect(p, ")")
        else:
            _syntax(p, tok, "an object key")
        if value is None or _is(p, ":"):
            _expect(p, ":")
            value = _p_pipe(p, 2)  # a value ends at ','
        pairs.append((key, value))
    p["nest"] = saved
    return ("object", pairs)


def _p_if(p):
    branches, other = [], None
    while True:
        cond = _p_pipe(p)
        _expect(p, "then")
        branches.append((cond, _p_pipe(p)))
        if not _take(p, "elif"):
            break
    if _take(p, "else"):
        other = _p_pipe(p)
    _expect(p, "end")
    return ("if", branches, other)


def _p_try(p):
    body = _p_postfix(p, False)  # `try` binds tighter than any operator
    return ("try", body, _p_postfix(p, False) if _take(p, "catch") else None)


def _p_reduce(p):
    """`reduce SOURCE as $x (INIT; UPDATE)`."""
    source = _p_postfix(p, False)
    _expect(p, "as")
    name = _p_name(p)
    _expect(p, "(")
    init = _p_pipe(p)
    _expect(p, ";")
    p["vars"].append(name)
    update = _p_pipe(p)
    p["vars"].pop()
    _expect(p, ")")
    return ("reduce", source, name, init, update)


# ------------------------------------------------------------------------------- evaluator


def _ev(node, x, env, ctx, emit):
    _EVAL[node[0]](node, x, env, ctx, emit)


def _collect(node, x, env, ctx):
    kind = node[0]
    if kind == "dot" or kind == "lit":  # the commonest arguments, without a callback
        return [x if kind == "dot" else node[1]]
    if kind == "path" and node[3] is not None:
        for k in node[3]:
            x = _index(x, k)
        return [x]
    out = []
    _EVAL[kind](node, x, env, ctx, lambda v: out.append(v))
    return out


def _combos(args, x, env, ctx):
    """The cartesian product of the arguments' outputs, first argument outermost."""
    combos = [()]
    for arg in args:
        vals = _collect(arg, x, env, ctx)
        combos = [c + (v,) for c in combos for v in vals]
    return combos


def _caught(ctx, e):
    """What `catch` receives for error `e`: error(v)'s v, or else jq's message."""
    held, ctx["err"] = ctx["err"], None
    if held is not None:
        return held[0]
    msg = str(e)[4:] if str(e).startswith("jq: ") else str(e)
    return "C" + msg[1:] if msg.startswith("cannot ") else msg  # as jq capitalizes them


def _stop_when(node, x, env, ctx, found):
    """Run `node` until found(output) is true; whether that happened."""
    ctx["stops"] += 1
    token = "jq-stop-" + str(ctx["stops"])

    def visit(v):
        if found(v):
            raise StopIteration(token)

    try:
        _ev(node, x, env, ctx, visit)
    except StopIteration as e:
        if str(e) != token:  # an enclosing limit's stop
            raise
        return True
    return False


def _upto(node, x, env, ctx, n):
    out = []
    if n > 0:
        _stop_when(node, x, env, ctx, lambda v: out.append(v) or len(out) >= n)
    return out


def _pipe_from(stages, i, x, env, ctx, emit):
    if i == len(stages) - 1:
        _ev(stages[i], x, env, ctx, emit)
    else:
        _ev(stages[i], x, env, ctx, lambda y: _pipe_from(stages, i + 1, y, env, ctx, emit))


def _ev_comma(node, x, env, ctx, emit):
    for item in node[1]:
        _ev(item, x, env, ctx, emit)


def _ev_alt(node, x, env, ctx, emit):
    # `a // b`: a's truthy outputs (an error ends a quietly), or else all of b's outputs.
    for item in node[1][:-1]:
        found = []
        try:
            _ev(item, x, env, ctx, lambda v, found=found: found.append(v) if _truthy(v) else 0)
        except ValueError as e:
            _caught(ctx, e)
        if found:
            for v in found:
                emit(v)
            return
    _ev(node[1][len(node[1]) - 1], x, env, ctx, emit)


def _ev_path(node, x, env, ctx, emit):
    base, steps = node[1], node[2]
    if node[3] is not None:
        emit(_collect(node, x, env, ctx)[0])
    elif base[0] == "dot":
        _steps(steps, 0, x, x, env, ctx, emit)
    else:
        _ev(base, x, env, ctx, lambda v: _steps(steps, 0, v, x, env, ctx, emit))


def _steps(steps, i, v, orig, env, ctx, emit):
    """Apply suffixes, single-valued ones in a loop so `.a.b.c...` needs no recursion.
    Index expressions see the input of the whole path, as in jq."""
    while i < len(steps):
        st = steps[i]
        if st[0] == "key":
            v = _index(v, st[1])
        elif st[0] == "iter":
            for c in _iterate(v, ctx):
                _steps(steps, i + 1, c, orig, env, ctx, emit)
            return
        else:
            if st[0] == "index":
                keys = _collect(st[1], orig, env, ctx)
            else:
                keys = [{"start": b[0], "end": b[1]} for b in _combos(st[1:], orig, env, ctx)]
            if len(keys) != 1:
                for k in keys:
                    _steps(steps, i + 1, _index(v, k), orig, env, ctx, emit)
                return
            v = _index(v, keys[0])
        i += 1
    emit(v)


def _index(v, k):
    tk = type(k)
    if v is None and (tk in (str, int, float, dict) or k is None):
        return None
    if type(v) is dict and tk is str:
        return v.get(k)
    if type(v) is list and (tk is int or tk is float):
        i = _floor(k) + (len(v) if k < 0 else 0)
        return v[i] if 0 <= i < len(v) else None
    if tk is dict and type(v) in (list, str):  # a slice, {"start": a, "end": b}
        n, lo, hi = len(v), k.get("start"), k.get("end")
        if not all(b is None or _isnum(b) for b in (lo, hi)):
            _fail("start and end indices of a slice must be numbers")
        lo = 0 if lo is None else _floor(lo) + (n if lo < 0 else 0)
        hi = n if hi is None else -_floor(-hi) + (n if hi < 0 else 0)
        return v[max(0, lo) : max(0, hi)]
    if type(v) is list and tk is list:
        return _indices(None, v, k)
    _fail("cannot index " + _type(v) + " with " + ('"' + k + '"' if tk is str else _type(k)))


def _iterate(v, ctx):
    if type(v) is list or type(v) is dict:
        _tick(ctx, len(v))
        return v if type(v) is list else list(v.values())
    _fail("cannot iterate over " + ("null" if v is None else _desc(v)))


def _descend(x, ctx, emit, with_paths=False):
    """`..` in pre-order with an explicit stack; emits values, or (path, value) pairs."""
    stack = [(x, [])]
    while stack:
        v, path = stack.pop()
        emit((path, v) if with_paths else v)
        if (type(v) is list or type(v) is dict) and v:
            if len(path) >= _MAX_DEPTH:
                _abort(_DEPTH_MSG)
            _tick(ctx, len(v))
            keys = range(len(v)) if type(v) is list else list(v)
            stack += [(v[k], path + [k]) for k in reversed(keys)]


def _ev_neg(node, x, env, ctx, emit):
    for v in _collect(node[1], x, env, ctx):
        emit(-v if _isnum(v) else _fail(_desc(v) + " cannot be negated"))


def _ev_arith(node, x, env, ctx, emit):
    # jq loops over the right operand outermost: [(1,2) + (10,20)] is [11,12,21,22].
    vals = _collect(node[1], x, env, ctx)
    for op, rhs in node[2]:
        rights = _collect(rhs, x, env, ctx)
        vals = [_binop(op, a, b) for b in rights for a in vals]
    for v in vals:
        emit(v)


def _ev_logic(node, x, env, ctx, emit):
    vals = [_truthy(v) for v in _collect(node[1], x, env, ctx)]
    for op, rhs in node[2]:
        nxt = []
        for v in vals:
            if v == (op == "or"):  # decided without the right side
                nxt.append(v)
            else:
                nxt += [_truthy(r) for r in _collect(rhs, x, env, ctx)]
        vals = nxt
    for v in vals:
        emit(v)


def _ev_object(node, x, env, ctx, emit):
    objs = [{}]
    for knode, vnode in node[1]:
        keys, vals = _collect(knode, x, env, ctx), _collect(vnode, x, env, ctx)
        for k in keys:
            if type(k) is not str:
                _fail("object keys must be strings, not " + _desc(k))
        if len(objs) == 1 and len(keys) == 1 and len(vals) == 1:
            objs[0][keys[0]] = vals[0]
        else:
            objs = [_with(o, k, v) for o in objs for k in keys for v in vals]
    for o in objs:
        emit(o)


def _with(obj, k, v):
    c = dict(obj)
    c[k] = v
    return c


def _ev_string(node, x, env, ctx, emit):
    vals = [""]
    for part in node[2]:
        if type(part) is str:
            texts = [part]
        else:
            texts = [_format(node[1], v) for v in _collect(part, x, env, ctx)]
        vals = [_sized(a + t) for t in texts for a in vals]
    for v in vals:
        emit(v)


def _ev_if(node, x, env, ctx, emit, i=0):
    branches = node[1]
    while i < len(branches):
        conds = _collect(branches[i][0], x, env, ctx)
        if len(conds) != 1:  # a generator condition runs a branch per output
            for c in conds:
                if _truthy(c):
                    _ev(branches[i][1], x, env, ctx, emit)
                else:
                    _ev_if(node, x, env, ctx, emit, i + 1)
            return
        if _truthy(conds[0]):
            _ev(branches[i][1], x, env, ctx, emit)
            return
        i += 1
    _ev(node[2] or ("dot",), x, env, ctx, emit)


def _ev_try(node, x, env, ctx, emit):
    state = {"downstream": False}

    def through(v):
        # Errors raised after `try` has emitted are not its business (jq 1.7).
        try:
            emit(v)
        except ValueError:
            state["downstream"] = True
            raise

    try:
        _ev(node[1], x, env, ctx, through)
    except ValueError as e:
        if state["downstream"]:
            raise
        err = _caught(ctx, e)
        if node[2] is not None:
            _ev(node[2], err, env, ctx, emit)


def _ev_reduce(node, x, env, ctx, emit):
    for start in _collect(node[3], x, env, ctx):
        state = {"acc": start}

        def step(v, state=state):
            outs = _collect(node[4], state["acc"], _with(env, node[2], v), ctx)
            state["acc"] = outs[len(outs) - 1] if outs else None

        _ev(node[1], x, env, ctx, step)
        emit(state["acc"])


def _ev_value(node, x, env, ctx, emit):
    fn, args = node[1], node[2]
    if not args:
        emit(fn(ctx, x))
        return
    for vals in _combos(args, x, env, ctx):
        emit(fn(ctx, x, *vals))


_EVAL = {
    "dot": lambda node, x, env, ctx, emit: emit(x),
    "lit": lambda node, x, env, ctx, emit: emit(node[1]),
    "var": lambda node, x, env, ctx, emit: emit(env[node[1]]),
    "recall": lambda node, x, env, ctx, emit: _descend(x, ctx, emit),
    "format": lambda node, x, env, ctx, emit: emit(_format(node[1], x)),
    "sel": lambda node, x, env, ctx, emit: emit(x) if _type(x) in node[1] else None,
    "call": lambda node, x, env, ctx, emit: node[1](node[2], x, env, ctx, emit),
    "pipe": lambda node, x, env, ctx, emit: _pipe_from(node[1], 0, x, env, ctx, emit),
    "comma": _ev_comma,
    "as": lambda node, x, env, ctx, emit: _ev(
        node[1], x, env, ctx, lambda v: _ev(node[3], x, _with(env, node[2], v), ctx, emit)
    ),
    "collect": lambda node, x, env, ctx, emit: emit(
        [] if node[1] is None else _collect(node[1], x, env, ctx)
    ),
    "value": _ev_value,
    "alt": _ev_alt,
    "path": _ev_path,
    "neg": _ev_neg,
    "arith": _ev_arith,
    "logic": _ev_logic,
    "object": _ev_object,
    "string": _ev_string,
    "if": _ev_if,
    "try": _ev_try,
    "reduce": _ev_reduce,
}


# ------------------------------------------------------------------------------- operators


def _binop(op, a, b):
    if op == "==" or op == "!=":
        return _eq(a, b) == (op == "==")
    if op in _COMPARE:
        return _COMPARE[op](_cmp(a, b))
    if op == "+":
        if a is None or b is None:
            return b if a is None else a
        if _isnum(a) and _isnum(b):
            return a + b
        if type(a) is type(b) and type(a) in (str, list):
            return _sized(a + b)
        if type(a) is dict and type(b) is dict:
            return _merge(a, b, -1)
    elif op == "-":
        if _isnum(a) and _isnum(b):
            return a - b
        if type(a) is list and type(b) is list:
            return [e for e in a if not any(_eq(e, r) for r in b)]
    elif op == "*":
        if _isnum(a) and _isnum(b):
            return a * b
        if type(a) is dict and type(b) is dict:
            return _merge(a, b, 0)
        s, n = (a, b) if type(a) is str else (b, a)
        if type(s) is str and _isnum(n):  # jq 1.7: repeated, or null for n <= 0
            if n > 0 and len(s) * n > _MAX_CHARS:
                _abort("string too large")
            return s * -_floor(-n) if n > 0 else None
    elif _isnum(a) and _isnum(b):
        if b == 0 or (op == "%" and int(b) == 0):
            _fail(_desc(a) + " and " + _desc(b) + " cannot be divided because the divisor is zero")
        if op == "/":
            return _num(a / b)
        r = abs(int(a)) % abs(int(b))  # on integers, with the dividend's sign, as in C
        return -r if a < 0 else r
    elif op == "/" and type(a) is str and type(b) is str:
        return _split(a, b)
    verb = {"+": "added", "-": "subtracted", "*": "multiplied"}.get(op, "divided")
    _fail(_desc(a) + " and " + _desc(b) + " cannot be " + verb)


_COMPARE = {
    "<": lambda c: c < 0,
    "<=": lambda c: c <= 0,
    ">": lambda c: c > 0,
    ">=": lambda c: c >= 0,
}


def _merge(a, b, d):
    """`a + b` on objects (d < 0), or the recursive `a * b` at depth d."""
    if d > _MAX_DEPTH:
        _abort(_DEPTH_MSG)
    c = dict(a)
    for k, v in b.items():
        deep = d >= 0 and type(v) is dict and type(c.get(k)) is dict
        c[k] = _merge(c[k], v, d + 1) if deep else v
    return c


def _split(s, sep):
    return [] if s == "" else (list(s) if sep == "" else s.split(sep))


# ------------------------------------------------------------------------ value builtins


def _length(ctx, x):
    t = _type(x)
    if t == "boolean":
        _fail(_desc(x) + " has no length")
    return 0 if x is None else (abs(x) if t == "number" else len(x))


def _keys(ctx, x, ordered=True):
    if type(x) is dict:
        return sorted(x) if ordered else list(x)
    if type(x) is list:
        return list(range(len(x)))
    _fail(_desc(x) + " has no keys")


def _has(ctx, x, k):
    if type(x) is dict and type(k) is str:
        return k in x
    if type(x) is list and _isnum(k):
        return 0 <= k < len(x)
    _fail("cannot check whether " + _type(x) + " has a " + _type(k) + " key")


def _contains(a, b, d=0):
    ta = _type(a)
    if ta != _type(b):
        if d == 0:
            _fail(_desc(a) + " and " + _desc(b) + " cannot have their containment checked")
        return False
    if d > _MAX_DEPTH:
        _abort(_DEPTH_MSG)
    if ta == "object":
        return all(k in a and _contains(a[k], b[k], d + 1) for k in b)
    if ta == "array":
        return all(any(_contains(e, f, d + 1) for e in a) for f in b)
    return b in a if ta == "string" else _eq(a, b)


def _ordered(kind, x, keys):
    """sort, unique, group, min and max of array x by the given jq order keys."""
    order = sorted(range(len(x)), key=lambda i: keys[i])  # stable, like jq
    if kind == "sort":
        return [x[i] for i in order]
    if kind == "min" or kind == "max":  # jq keeps the first minimum and the last maximum
        return x[order[0] if kind == "min" else order[len(order) - 1]] if x else None
    groups = []
    for i in order:
        if groups and keys[i] == keys[groups[len(groups) - 1][0]]:
            groups[len(groups) - 1].append(i)
        else:
            groups.append([i])
    return [x[g[0]] for g in groups] if kind == "unique" else [[x[i] for i in g] for g in groups]


def _by(kind):
    """The builtin `kind` (sort, unique, min, max) and its `kind_by(f)` filter."""
    what = "cannot be sorted, as it is not an array"

    def value(ctx, x):
        return _ordered(kind, x, [_key(v) for v in _need(x, "array", what)])

    def by(args, x, env, ctx, emit):
        keys = [_key(_collect(args[0], v, env, ctx)) for v in _need(x, "array", what)]
        emit(_ordered(kind, x, keys))

    return value, by


def _add(ctx, x):
    vals = _iterate(x, ctx)
    if vals and all(type(v) is str for v in vals):
        return _sized("".join(vals))  # without quadratic concatenation
    acc = None
    for v in vals:
        acc = _binop("+", acc, v)
    return acc


def _flatten(ctx, x, depth=1e9):
    if not _isnum(depth) or depth < 0:
        _fail("flatten depth must not be negative")
    out = []
    _flatten_into(_need(x, "array", "cannot be flattened"), depth, 0, out)
    return _sized(out)


def _flatten_into(v, depth, d, out):
    if d > _MAX_DEPTH:
        _abort(_DEPTH_MSG)
    for e in v:
        if type(e) is list and depth >= 1:
            _flatten_into(e, depth - 1, d + 1, out)
        else:
            out.append(e)


def _math(fn):
    return lambda ctx, x: _num(fn(_need(x, "number", "number required")))


def _round(v):
    return _floor(v + 0.5) if v >= 0 else -_floor(-v + 0.5)  # half away from zero, as C


def _sqrt(v):
    return v**0.5 if v >= 0 else float("nan")


def _tonumber(ctx, x):
    import re

    if _isnum(x):
        return x
    t = _need(x, "string", "cannot be parsed as a number").strip()
    if not re.fullmatch(r"-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", t):
        _fail("cannot parse '" + x + "' as a number")
    return int(t) if re.fullmatch(r"-?\d+", t) else float(t)


def _fromjson(ctx, x):
    import json

    _need(x, "string", "cannot be parsed as JSON, as it is not a string")
    try:
        return json.loads(x)
    except Exception as e:  # JSONDecodeError, including its own depth limit
        _fail(str(e) + " (while parsing '" + (x if len(x) < 40 else x[:37] + "...") + "')")


def _case(upper):
    def apply(ctx, x):
        s = _need(x, "string", "cannot be case-converted, as it is not a string")
        if s.isascii():
            return s.upper() if upper else s.lower()
        lo, hi = ("a", "z") if upper else ("A", "Z")  # only ASCII letters change
        return "".join((c.upper() if upper else c.lower()) if lo <= c <= hi else c for c in s)

    return apply


def _affix(kind):
    def apply(ctx, x, s):
        if kind == "startswith" or kind == "endswith":
            if type(x) is not str or type(s) is not str:
                _fail(kind + "() requires string inputs")
            return x.startswith(s) if kind == "startswith" else x.endswith(s)
        if type(x) is str and type(s) is str and s:  # other input passes through
            if kind == "ltrimstr" and x.startswith(s):
                return x[len(s) :]
            if kind == "rtrimstr" and x.endswith(s):
                return x[: len(x) - len(s)]
        return x

    return apply


def _join(ctx, x, sep):
    parts = []
    for v in _iterate(x, ctx):
        if type(v) is list or type(v) is dict:
            _fail("cannot join with " + _type(v))
        parts.append("" if v is None else _tostring(v))
    return _sized(_need(sep, "string", "cannot be used to join").join(parts))


def _indices(ctx, x, i):
    if x is None:
        return None
    if type(x) is str and type(i) is str:
        out, at = [], x.find(i) if i else -1
        while at >= 0:  # overlapping, like jq
            out.append(at)
            at = x.find(i, at + 1)
        return out
    if type(x) is list and type(i) is list:
        n = len(i)
        starts = range(len(x) - n + 1) if n else []
        return [k for k in starts if all(_eq(x[k + j], i[j]) for j in range(n))]
    if type(x) is list:
        return [k for k in range(len(x)) if _eq(x[k], i)]
    _fail("cannot determine the indices of " + _desc(i) + " in " + _desc(x))


def _from_entries(ctx, x):
    out = {}
    for e in _iterate(x, ctx):
        if type(e) is not dict:
            _fail("cannot index " + _type(e) + ' with "key"')
        k = e.get("key")
        for alt in ("k", "name", "Name", "K", "Key"):
            k = e.get(alt) if k is None or k is False else k
        out[k if type(k) is str else _dumps(k)] = e["value"] if "value" in e else e.get("v")
    return out


def _getpath(ctx, x, path):
    for k in _need(path, "array", "is not a path (an array)"):
        x = None if x is None else _index(x, k)
    return x


def _error(ctx, x):
    ctx["err"] = (x,)  # the value `catch` receives
    raise ValueError("jq: error: " + (x if type(x) is str else _dumps(x) + " (not a string)"))


def _implode(ctx, x):
    if type(x) is not list or not all(_isnum(c) and 0 <= c <= 0x10FFFF for c in x):
        _fail("implode input must be an array of codepoints")
    return "".join(chr(int(c)) for c in x)


def _ascii(ctx, x):
    if not _isnum(x) or not 0 <= x <= 127:
        _fail("ascii only takes numbers from 0 to 127")
    return chr(int(x))


def _no_input(ctx, x):
    _fail("input and inputs are not supported; pass all data as jq()'s second argument")


# -------------------------------------------------------------------------------- regexes


def _regex(ctx, pattern, flags):
    """(compiled, global, skip_empty, group_names), cached for the call."""
    _need(pattern, "string", "cannot be matched, as it is not a string")
    flags = "" if flags is None else _need(flags, "string", "is not a string")
    entry = ctx["re"].get(flags + "/" + pattern)
    if entry is None:
        if any(f not in "gixsnlp" for f in flags):
            _fail(flags + " is not a valid modifier string")
        inline = "".join({"i": "i", "x": "x", "s": "s", "p": "sx"}.get(f, "") for f in flags)
        import re

        try:
            compiled = re.compile(("(?" + inline + ")" if inline else "") + pattern)
        except Exception as e:
            _fail(pattern + " is not a valid regex: " + str(e))
        entry = (compiled, "g" in flags, "n" in flags, _group_names(pattern))
        ctx["re"][flags + "/" + pattern] = entry
    return entry


def _group_names(pattern):
    """The names (or None) of the capturing groups in order: the sandbox's compiled
    patterns do not expose them."""
    names, i, in_class = [], 0, False
    while i < len(pattern):
        c, ahead = pattern[i], pattern[i + 1 : i + 4]
        if c == "\\":
            i += 1
        elif in_class or c == "[":
            in_class = c != "]" or not in_class
        elif c == "(" and not ahead.startswith("?"):
            names.append(None)
        elif c == "(" and (
            ahead.startswith("?P<") or (ahead[1:2] == "<" and ahead[2:3] not in "=!")
        ):
            start = i + (4 if ahead.startswith("?P<") else 3)
            names.append(pattern[start : pattern.find(">", start)])
        i += 1
    return names


def _matches(ctx, x, pattern, flags, every):
    """The matches of `pattern` in string x (all of them if `every` or flag g)."""
    rx, glob, skip_empty = _regex(ctx, pattern, flags)[:3]
    _need(x, "string", "cannot be matched, as it is not a string")
    try:
        found = list(rx.finditer(x)) if glob or every else [rx.search(x)]
    except Exception as e:  # re.PatternError; the backtracking limit is the one to expect
        if "backtrack" in str(e):
            _abort("regular expression too expensive (backtracking limit exceeded): " + pattern)
        _fail("regular expression failed: " + str(e))
    _tick(ctx, len(found))
    return [m for m in found if m is not None and not (skip_empty and m.end() == m.start())]


def _match_obj(ctx, m, pattern, flags):
    caps, names = [], _regex(ctx, pattern, flags)[3]
    for gi in range(1, len(m.groups()) + 1):
        s, name = m.group(gi), names[gi - 1] if gi <= len(names) else None
        start = -1 if s is None else m.start(gi)
        caps.append({"offset": start, "length": len(s or ""), "string": s, "name": name})
    return {"offset": m.start(), "length": len(m.group(0)), "string": m.group(0), "captures": caps}


def _regex_filter(kind):
    """match, capture, scan, splits, sub and gsub: streams over the matches."""
    flags_at = 2 if kind == "sub" or kind == "gsub" else 1

    def call(args, x, env, ctx, emit):
        for vals in _combos([args[0]] + args[flags_at:], x, env, ctx):
            flags = vals[1] if len(vals) > 1 else None
            found = _matches(ctx, x, vals[0], flags, kind in ("scan", "splits", "gsub"))
            if kind == "match" or kind == "capture" or kind == "scan":
                for m in found:
                    if kind == "match":
                        emit(_match_obj(ctx, m, vals[0], flags))
                    elif kind == "capture":
                        emit(m.groupdict())
                    else:
                        emit(list(m.groups()) if m.groups() else m.group(0))
                continue
            results, pos = [""], 0
            for m in found:  # splits, sub and gsub work on the text between matches
                if kind == "splits":
                    emit(x[pos : m.start()])
                else:  # the replacement is a filter on the named captures
                    reps = _collect(args[1], m.groupdict(), env, ctx)
                    for r in reps:
                        _need(r, "string", "cannot be added to a string")
                    results = [_sized(a + x[pos : m.start()] + r) for a in results for r in reps]
                pos = m.end()
            for r in results:
                emit(r + x[pos:])

    return call


def _split2(ctx, x, pattern, flags):
    out, pos = [], 0
    for m in _matches(ctx, x, pattern, flags, True):
        out.append(x[pos : m.start()])
        pos = m.end()
    return out + [x[pos:]]


# -------------------------------------------------------------------------------- formats


def _format(fmt, v):
    if fmt is None or fmt == "text" or fmt == "json":
        return _dumps(v) if fmt == "json" else _tostring(v)
    if fmt == "base64":
        import base64

        return base64.b64encode(_tostring(v).encode("utf-8")).decode("ascii")
    cells = []
    for e in _need(v, "array", "cannot be " + fmt + "-formatted, only an array can be"):
        t = _type(e)
        if t == "array" or t == "object":
            _fail(_desc(e) + " is not valid in a " + fmt + " row")
        if t != "string":
            cells.append("" if e is None else _dumps(e))
        elif fmt == "csv":
            cells.append('"' + e.replace('"', '""') + '"')
        else:
            escapes = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))
            for a, b in escapes:
                e = e.replace(a, b)
            cells.append(e)
    return ("," if fmt == "csv" else "\t").join(cells)


_FORMATS = ("text", "json", "csv", "tsv", "base64")


# ----------------------------------------------------------------------- filter builtins


def _f_map(args, x, env, ctx, emit):
    out = []
    for v in _iterate(x, ctx):
        _ev(args[0], v, env, ctx, lambda r: out.append(r))
    emit(out)


def _f_map_values(args, x, env, ctx, emit):
    # `.[] |= f`: each value becomes f's first output; no output drops it.
    if type(x) is dict:
        firsts = [(k, _upto(args[0], v, env, ctx, 1)) for k, v in x.items()]
        emit({k: r[0] for k, r in firsts if r})
    else:
        emit([r[0] for r in [_upto(args[0], v, env, ctx, 1) for v in _iterate(x, ctx)] if r])


def _f_recurse(args, x, env, ctx, emit):
    if not args:
        _descend(x, ctx, emit)
        return
    # `def recurse(f): def r: ., (f | r); r;` with an explicit stack, so it can go any
    # number of levels deep without meeting the sandbox's recursion limit.
    stack = [x]
    while stack:
        v = stack.pop()
        emit(v)
        kids = _collect(args[0], v, env, ctx)
        _tick(ctx, len(kids) + 1)
        stack += kids[::-1]


def _f_range(args, x, env, ctx, emit):
    for vals in _combos(args, x, env, ctx):
        if not all(_isnum(v) for v in vals):
            _fail("range bounds must be numbers")
        lo, hi = (0, vals[0]) if len(vals) == 1 else (vals[0], vals[1])
        step = vals[2] if len(vals) == 3 else 1
        while (step > 0 and lo < hi) or (step < 0 and lo > hi):
            _tick(ctx, 1)
            emit(lo)
            lo += step


def _f_limit(args, x, env, ctx, emit):
    for n in _collect(args[0], x, env, ctx):
        if not _isnum(n):
            _fail("invalid limit " + _desc(n))
        if n < 0:  # jq 1.7 passes everything through
            _ev(args[1], x, env, ctx, emit)
        for v in _upto(args[1], x, env, ctx, n):
            emit(v)


def _f_last(args, x, env, ctx, emit):
    out = _collect(args[0], x, env, ctx)
    if out:
        emit(out[len(out) - 1])


def _f_nth(args, x, env, ctx, emit):
    for n in _collect(args[0], x, env, ctx):
        if not _isnum(n) or n < 0:
            _fail("out of bounds negative array index")
        out = _upto(args[1], x, env, ctx, _floor(n) + 1)
        if len(out) > n:
            emit(out[len(out) - 1])


def _anyall(want):
    """any/all with 0, 1 or 2 arguments, stopping at the first deciding value."""

    def call(args, x, env, ctx, emit):
        gen = args[0] if len(args) == 2 else _mkpath(("dot",), [("iter",)])
        cond = args[len(args) - 1] if args else ("dot",)
        hit = _stop_when(
            gen, x, env, ctx, lambda v: any(_truthy(c) == want for c in _collect(cond, v, env, ctx))
        )
        emit(hit == want)

    return call


def _f_error(args, x, env, ctx, emit):
    for v in _collect(args[0], x, env, ctx):
        _error(ctx, v)


def _f_with_entries(args, x, env, ctx, emit):
    out = []
    for e in _to_entries(ctx, x):
        _ev(args[0], e, env, ctx, lambda r: out.append(r))
    emit(_from_entries(ctx, out))


def _to_entries(ctx, x):
    return [{"key": k, "value": x[k]} for k in _keys(ctx, x, False)]


def _f_paths(args, x, env, ctx, emit):
    def visit(pv):
        if pv[0] and (not args or any(_truthy(c) for c in _collect(args[0], pv[1], env, ctx))):
            emit(pv[0])

    _descend(x, ctx, visit, True)


# -------------------------------------------------------------------------------- tables

_SORT, _SORT_BY = _by("sort")
_UNIQUE, _UNIQUE_BY = _by("unique")
_MIN, _MIN_BY = _by("min")
_MAX, _MAX_BY = _by("max")

_VALUES = {
    "length/0": _length,
    "utf8bytelength/0": lambda ctx, x: len(_need(x, "string", "has no UTF-8 length").encode()),
    "not/0": lambda ctx, x: not _truthy(x),
    "keys/0": _keys,
    "keys_unsorted/0": lambda ctx, x: _keys(ctx, x, False),
    "type/0": lambda ctx, x: _type(x),
    "sort/0": _SORT,
    "unique/0": _UNIQUE,
    "min/0": _MIN,
    "max/0": _MAX,
    "add/0": _add,
    "flatten/0": _flatten,
    "flatten/1": _flatten,
    "floor/0": _math(_floor),
    "ceil/0": _math(lambda v: -_floor(-v)),
    "round/0": _math(_round),
    "sqrt/0": _math(_sqrt),
    "fabs/0": _math(abs),
    "abs/0": _math(abs),
    "tostring/0": lambda ctx, x: _tostring(x),
    "tonumber/0": _tonumber,
    "tojson/0": lambda ctx, x: _dumps(x),
    "fromjson/0": _fromjson,
    "ascii_downcase/0": _case(False),
    "ascii_upcase/0": _case(True),
    "ltrimstr/1": _affix("ltrimstr"),
    "rtrimstr/1": _affix("rtrimstr"),
    "startswith/1": _affix("startswith"),
    "endswith/1": _affix("endswith"),
    "split/1": lambda ctx, x, s: _split(
        _need(x, "string", "cannot be split"), _need(s, "string", "is not a separator")
    ),
    "split/2": _split2,
    "join/1": _join,
    "test/1": lambda ctx, x, r: len(_matches(ctx, x, r, None, False)) > 0,
    "test/2": lambda ctx, x, r, flags: len(_matches(ctx, x, r, flags, False)) > 0,
    "has/1": _has,
    "in/1": lambda ctx, x, obj: _has(ctx, obj, x),
    "contains/1": lambda ctx, x, b: _contains(x, b),
    "inside/1": lambda ctx, x, a: _contains(a, x),
    "indices/1": _indices,
    "index/1": lambda ctx, x, i: _index(_indices(ctx, x, i) or [None], 0),
    "rindex/1": lambda ctx, x, i: _index(_indices(ctx, x, i) or [None], -1),
    "first/0": lambda ctx, x: _index(x, 0),
    "last/0": lambda ctx, x: _index(x, -1),
    "nth/1": lambda ctx, x, n: _index(x, n),
    "reverse/0": lambda ctx, x: [] if x is None else _index(x, {"start": None, "end": None})[::-1],
    "to_entries/0": _to_entries,
    "from_entries/0": _from_entries,
    "getpath/1": _getpath,
    "any/0": lambda ctx, x: any(_truthy(v) for v in _iterate(x, ctx)),
    "all/0": lambda ctx, x: all(_truthy(v) for v in _iterate(x, ctx)),
    "explode/0": lambda ctx, x: [ord(c) for c in _need(x, "string", "cannot be exploded")],
    "implode/0": _implode,
    "ascii/0": _ascii,
    "isnan/0": lambda ctx, x: _need(x, "number", "number required") != x,
    "env/0": lambda ctx, x: {},
    "input/0": _no_input,
    "inputs/0": _no_input,
    "error/0": _error,
}

_FILTERS = {
    "empty/0": lambda args, x, env, ctx, emit: None,
    "select/1": lambda args, x, env, ctx, emit: _ev(
        args[0], x, env, ctx, lambda c: emit(x) if _truthy(c) else None
    ),
    "error/1": _f_error,
    "map/1": _f_map,
    "map_values/1": _f_map_values,
    "recurse/0": _f_recurse,
    "recurse/1": _f_recurse,
    "range/1": _f_range,
    "range/2": _f_range,
    "range/3": _f_range,
    "limit/2": _f_limit,
    "first/1": lambda args, x, env, ctx, emit: _f_limit([("lit", 1), args[0]], x, env, ctx, emit),
    "last/1": _f_last,
    "nth/2": _f_nth,
    "any/1": _anyall(True),
    "all/1": _anyall(False),
    "any/2": _anyall(True),
    "all/2": _anyall(False),
    "sort_by/1": _SORT_BY,
    "unique_by/1": _UNIQUE_BY,
    "min_by/1": _MIN_BY,
    "max_by/1": _MAX_BY,
    "group_by/1": _by("group")[1],
    "with_entries/1": _f_with_entries,
    "paths/0": _f_paths,
    "paths/1": _f_paths,
    "leaf_paths/0": lambda args, x, env, ctx, emit: _f_paths([_SCALARS], x, env, ctx, emit),
    "match/1": _regex_filter("match"),
    "match/2": _regex_filter("match"),
    "capture/1": _regex_filter("capture"),
    "capture/2": _regex_filter("capture"),
    "scan/1": _regex_filter("scan"),
    "scan/2": _regex_filter("scan"),
    "splits/1": _regex_filter("splits"),
    "splits/2": _regex_filter("splits"),
    "sub/2": _regex_filter("sub"),
    "sub/3": _regex_filter("sub"),
    "gsub/2": _regex_filter("gsub"),
    "gsub/3": _regex_filter("gsub"),
}

_SELECTORS = {
    "objects/0": ("object",),
    "arrays/0": ("array",),
    "strings/0": ("string",),
    "numbers/0": ("number",),
    "booleans/0": ("boolean",),
    "nulls/0": ("null",),
    "iterables/0": ("array", "object"),
    "scalars/0": ("null", "boolean", "number", "string"),
    "values/0": ("boolean", "number", "string", "array", "object"),
}
_SCALARS = ("sel", _SELECTORS["scalars/0"])


# ------------------------------------------------------------------------------------ API


def jq(expr, data, all=False):
    """Run the jq expression `expr` on JSON-like `data` (dict, list, str, int, float, bool,
    None). Returns the list of outputs if `all`; otherwise the one output, None for no
    output, or the list of several. Errors are ValueError("jq: ...").

        jq(".items[] | select(.price > 10) | .name", data)
        jq("[.[] | {id, total: (.qty * .price)}] | sort_by(.total)", rows)
    """
    if type(expr) is not str:
        raise TypeError("jq() expression must be a str, not " + type(expr).__name__)
    out = []
    try:
        node = _parse(expr)
        _ev(node, data, {}, {"n": 0, "err": None, "stops": 0, "re": {}}, lambda v: out.append(v))
    except (OverflowError, ValueError, TypeError) as e:  # limits, and Python's own errors
        msg = str(e)
        raise ValueError(msg if msg.startswith("jq: ") else "jq: " + msg) from None
    except RecursionError:  # a backstop: nesting is limited well below the sandbox's
        raise ValueError("jq: expression or data nested too deeply for the sandbox") from None
    if all:
        return out
    return None if not out else (out[0] if len(out) == 1 else out)
