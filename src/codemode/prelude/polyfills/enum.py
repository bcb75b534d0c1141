"""Sandbox polyfill for `enum`: the functional API only.

The sandbox has no class inheritance, so `class Color(Enum): RED = 1` is NOT possible.
Build enums with the functional API instead:

    Color = Enum("Color", "RED GREEN BLUE")            # values 1, 2, 3
    Color = Enum("Color", ["RED", "GREEN"], start=0)   # values 0, 1
    Color = Enum("Color", [("RED", "r"), ("GREEN", "g")])
    Color = Enum("Color", {"RED": 1, "GREEN": auto()})
    Level = IntEnum("Level", "LOW HIGH")               # members == 1, 2
    Mode = StrEnum("Mode", "READ WRITE")               # members == "read", "write"

Covers: members with `.name` / `.value`; `Color.RED`, `Color["RED"]`, `Color(1)` (by
value; unknown values raise ValueError), iteration in definition order (aliases, i.e.
repeated values, are skipped and resolve to the first member), `x in Color`,
`Color.__members__`, identity/equality comparison, hashing, repr `<Color.RED: 1>`,
str `Color.RED`; `auto()`; `unique()`. `IntEnum` members compare equal to (and hash
like) their int value and support int arithmetic; `StrEnum` members compare equal to
their str value, `str()` is the value and `auto()` gives the lower-cased name.

Differences from CPython:
- No subclass syntax, no methods on enums, no `Flag`/`IntFlag`.
- `len(Color)` does not work in the sandbox (it does not dispatch `__len__`): use
  `len(list(Color))` or `len(Color.__members__)`.
- `isinstance(Color.RED, Color)` is False; use `Color.RED in Color` or
  `type(Color.RED).__name__`. `<`/`>` on IntEnum members are not dispatched: compare
  `.value`.
"""


class auto:
    """Placeholder for an automatically chosen value (the next int, or the
    lower-cased name for StrEnum)."""

    def __init__(self):
        self.value = None

    def __repr__(self):
        return "auto()"


def _is_auto(value):
    return type(value) is auto


class _Member:
    def __init__(self, enum, name, value, kind):
        self._enum = enum
        self._kind = kind
        self.name = name
        self.value = value
        self._name_ = name
        self._value_ = value

    def __repr__(self):
        return "<%s.%s: %r>" % (self._enum.__name__, self.name, self.value)

    def __str__(self):
        if self._kind == "int":
            return str(self.value)
        if self._kind == "str":
            return self.value
        return "%s.%s" % (self._enum.__name__, self.name)

    def __eq__(self, other):
        if self is other:
            return True
        if type(other) is _Member:
            if self._kind != "enum" and other._kind != "enum":
                return self.value == other.value
            return False
        if self._kind != "enum":
            return self.value == other
        return False

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        if self._kind == "enum":
            return hash(self.name)
        return hash(self.value)

    def __reduce_ex__(self, proto):
        return (self._enum, (self.value,))

    # IntEnum / StrEnum behave like their value in arithmetic.
    def __int__(self):
        return int(self.value)

    def __index__(self):
        return int(self.value)

    def __float__(self):
        return float(self.value)

    def __add__(self, other):
        return self.value + _plain(other)

    def __radd__(self, other):
        return _plain(other) + self.value

    def __sub__(self, other):
        return self.value - _plain(other)

    def __rsub__(self, other):
        return _plain(other) - self.value

    def __mul__(self, other):
        return self.value * _plain(other)

    def __rmul__(self, other):
        return _plain(other) * self.value

    def __truediv__(self, other):
        return self.value / _plain(other)

    def __floordiv__(self, other):
        return self.value // _plain(other)

    def __mod__(self, other):
        return self.value % _plain(other)

    def __lt__(self, other):
        return _ordered(self, other) < 0

    def __le__(self, other):
        return _ordered(self, other) <= 0

    def __gt__(self, other):
        return _ordered(self, other) > 0

    def __ge__(self, other):
        return _ordered(self, other) >= 0


def _plain(x):
    if type(x) is _Member:
        return x.value
    return x


def _ordered(a, b):
    if a._kind == "enum":
        raise TypeError("'<' not supported between enum members")
    x, y = a.value, _plain(b)
    if x < y:
        return -1
    if x > y:
        return 1
    return 0


class _EnumType:
    """An enum made by the functional API (what `Enum(...)` returns)."""

    def __init__(self, name, members, kind):
        self.__name__ = name
        self._kind = kind
        self._member_names_ = []
        self._member_map_ = {}
        self._value2member_map_ = {}
        self.__members__ = self._member_map_
        for member_name, value in members:
            if member_name in self._member_map_:
                raise TypeError("%r already defined as %r" % (
                    member_name, self._member_map_[member_name].value))  # fmt: skip
            if member_name.startswith("_"):
                raise ValueError("_sunder_ and __dunder__ names are reserved")
            existing = None
            for m in self._member_map_.values():
                if m.value == value:
                    existing = m
                    break
            if existing is not None:
                member = existing  # an alias
            else:
                member = _Member(self, member_name, value, kind)
                self._member_names_.append(member_name)
                try:
                    self._value2member_map_[value] = member
                except TypeError:
                    pass
            self._member_map_[member_name] = member
            setattr(self, member_name, member)

    def __call__(self, value):
        if type(value) is _Member and value._enum is self:
            return value
        try:
            if value in self._value2member_map_:
                return self._value2member_map_[value]
        except TypeError:
            pass
        for m in self._member_map_.values():
            if m.value == value:
                return m
        raise ValueError("%r is not a valid %s" % (value, self.__name__))

    def __getitem__(self, name):
        return self._member_map_[name]

    def __iter__(self):
        return iter([self._member_map_[n] for n in self._member_names_])

    def __reversed__(self):
        return iter([self._member_map_[n] for n in reversed(self._member_names_)])

    def __len__(self):
        return len(self._member_names_)

    def __contains__(self, member):
        if type(member) is _Member:
            return member._enum is self
        return any(m.value == member for m in self._member_map_.values())

    def __repr__(self):
        return "<enum %r>" % self.__name__

    def __str__(self):
        return "<enum %r>" % self.__name__


def _names_values(names, start, kind):
    if isinstance(names, str):
        names = names.replace(",", " ").split()
    if isinstance(names, dict):
        items = list(names.items())
    else:
        items = list(names)
        if items and isinstance(items[0], str):
            items = [(n, auto()) for n in items]
    out = []
    last = start - 1
    for pair in items:
        name, value = pair[0], pair[1]
        if _is_auto(value):
            if kind == "str":
                value = name.lower()
            else:
                value = last + 1
        if kind == "int":
            value = int(value)
        elif kind == "str" and not isinstance(value, str):
            raise TypeError("%r is not a string" % (value,))
        if isinstance(value, int):
            last = value
        out.append((name, value))
    return out


def _factory(kind):
    def make(value, names=None, *, module=None, qualname=None, type=None, start=1):
        if names is None:
            raise TypeError(
                "Enum lookup by value needs an enum; create one with "
                "Enum('Name', 'A B C') (class syntax is not supported in the sandbox)"
            )
        return _EnumType(value, _names_values(names, start, kind), kind)

    return make


Enum = _factory("enum")
IntEnum = _factory("int")
StrEnum = _factory("str")


def unique(enumeration):
    """Raise ValueError if `enumeration` has aliases (repeated values)."""
    duplicates = [
        (name, member.name)
        for name, member in enumeration.__members__.items()
        if name != member.name
    ]
    if duplicates:
        details = ", ".join("%s -> %s" % (a, n) for a, n in duplicates)
        raise ValueError("duplicate values found in %r: %s" % (enumeration, details))
    return enumeration
