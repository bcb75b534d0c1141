"""Polyfill of CPython's ``operator`` for the Monty sandbox.

Covers: ``itemgetter``, ``attrgetter`` (dotted names), ``methodcaller`` and the function
forms ``add sub mul truediv floordiv mod pow neg pos abs eq ne lt le gt ge not_ truth
is_ is_not contains getitem concat and_ or_ xor invert inv lshift rshift index countOf
indexOf``.

Differs from CPython: the getter objects are plain classes (not picklable, no
``__reduce__``); ``methodcaller`` falls back to ``exec`` for methods of built-in types
because Monty cannot fetch bound methods of built-ins with ``getattr``; argument checks
are looser (e.g. ``concat`` only rejects numbers).
"""

_builtin_abs = abs


def _call_method(obj, name, args, kwargs):
    try:
        meth = getattr(obj, name)
    except AttributeError:
        meth = None
    if meth is not None:
        return meth(*args, **kwargs)
    ns = {"o": obj, "a": args, "k": kwargs}
    exec("r = o." + name + "(*a, **k)", ns)
    return ns["r"]


def _resolve_attr(obj, attr):
    for name in attr.split("."):
        obj = getattr(obj, name)
    return obj


class itemgetter:
    def __init__(self, item, *items):
        self._items = (item, *items)
        self._single = not items

    def __call__(self, obj):
        if self._single:
            return obj[self._items[0]]
        return tuple([obj[i] for i in self._items])

    def __repr__(self):
        return "operator.itemgetter(%s)" % ", ".join([repr(i) for i in self._items])


class attrgetter:
    def __init__(self, attr, *attrs):
        for a in (attr, *attrs):
            if not isinstance(a, str):
                raise TypeError("attribute name must be a string")
        self._attrs = (attr, *attrs)
        self._single = not attrs

    def __call__(self, obj):
        if self._single:
            return _resolve_attr(obj, self._attrs[0])
        return tuple([_resolve_attr(obj, a) for a in self._attrs])

    def __repr__(self):
        return "operator.attrgetter(%s)" % ", ".join([repr(a) for a in self._attrs])


class methodcaller:
    def __init__(self, name, *args, **kwargs):
        if not isinstance(name, str):
            raise TypeError("method name must be a string")
        self._name = name
        self._args = args
        self._kwargs = kwargs

    def __call__(self, obj):
        return _call_method(obj, self._name, self._args, self._kwargs)

    def __repr__(self):
        parts = [repr(self._name)]
        parts.extend([repr(a) for a in self._args])
        parts.extend(["%s=%r" % (k, v) for k, v in self._kwargs.items()])
        return "operator.methodcaller(%s)" % ", ".join(parts)


def lt(a, b):
    return a < b


def le(a, b):
    return a <= b


def eq(a, b):
    return a == b


def ne(a, b):
    return a != b


def ge(a, b):
    return a >= b


def gt(a, b):
    return a > b


def not_(a):
    return not a


def truth(a):
    return bool(a)


def is_(a, b):
    return a is b


def is_not(a, b):
    return a is not b


def add(a, b):
    return a + b


def sub(a, b):
    return a - b


def mul(a, b):
    return a * b


def truediv(a, b):
    return a / b


def floordiv(a, b):
    return a // b


def mod(a, b):
    return a % b


def pow(a, b):
    return a**b


def neg(a):
    return -a


def pos(a):
    return +a


def abs(a):
    return _builtin_abs(a)


def and_(a, b):
    return a & b


def or_(a, b):
    return a | b


def xor(a, b):
    return a ^ b


def invert(a):
    return ~a


inv = invert


def lshift(a, b):
    return a << b


def rshift(a, b):
    return a >> b


def index(a):
    if isinstance(a, int):
        return a + 0
    raise TypeError("'%s' object cannot be interpreted as an integer" % type(a).__name__)


def concat(a, b):
    if isinstance(a, (int, float, bool)):
        raise TypeError("'%s' object can't be concatenated" % type(a).__name__)
    return a + b


def contains(a, b):
    return b in a


def countOf(a, b):
    n = 0
    for x in a:
        if x is b or x == b:
            n += 1
    return n


def indexOf(a, b):
    i = 0
    for x in a:
        if x is b or x == b:
            return i
        i += 1
    raise ValueError("sequence.index(x): x not in sequence")


def getitem(a, b):
    return a[b]
