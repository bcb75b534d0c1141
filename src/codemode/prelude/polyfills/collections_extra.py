"""Sandbox polyfill for the parts of `collections` the sandbox lacks: `OrderedDict`
and `ChainMap` (the sandbox already has Counter, defaultdict, deque, namedtuple).

Covers: `OrderedDict(mapping_or_pairs, **kw)` with `[]` get/set, `in`, iteration,
keys/values/items, get, pop, popitem(last=True), setdefault, update, clear, copy,
fromkeys, `move_to_end(key, last=True)`, `|`, and CPython's equality rules
(order-sensitive between OrderedDicts, order-insensitive against a plain dict).
`ChainMap(*maps)` with lookups through the chain, writes/deletes on `maps[0]`,
`maps`, `new_child(m=None)`, `parents()`, keys/values/items/get/pop/copy, iteration in
CPython's order.

Differences from CPython:
- Neither class is a `dict` subclass (`isinstance(od, dict)` is False); pass
  `dict(od.items())` where a real dict is needed (e.g. `json.dumps`).
- The sandbox does not dispatch `len()`, `bool()`, `reversed()` or `del x[k]` to
  classes: use `len(od.keys())`, `od.keys()` truthiness, `reversed(list(od))`,
  `od.pop(k)`.
- `ChainMap.parents` is a method, `cm.parents()`, not a property.
- repr follows Python 3.12+: `OrderedDict({'a': 1})`.
"""


def _pairs(other):
    if isinstance(other, dict):
        return list(other.items())
    if hasattr(other, "items") and hasattr(other, "keys"):
        return list(other.items())
    return [(k, v) for k, v in other]


class OrderedDict:
    """A dict that remembers insertion order and can reorder entries."""

    def __init__(self, other=None, **kwargs):
        self._d = {}
        if other is not None:
            self.update(other)
        if kwargs:
            self.update(kwargs)

    def __getitem__(self, key):
        return self._d[key]

    def __setitem__(self, key, value):
        self._d[key] = value

    def __delitem__(self, key):
        self._d.pop(key)

    def __contains__(self, key):
        return key in self._d

    def __iter__(self):
        return iter(list(self._d))

    def __reversed__(self):
        return iter(list(reversed(list(self._d))))

    def __len__(self):
        return len(self._d)

    def __bool__(self):
        return len(self._d) > 0

    def keys(self):
        return self._d.keys()

    def values(self):
        return self._d.values()

    def items(self):
        return self._d.items()

    def get(self, key, default=None):
        return self._d.get(key, default)

    def pop(self, key, *default):
        if key in self._d:
            return self._d.pop(key)
        if default:
            return default[0]
        raise KeyError(key)

    def setdefault(self, key, default=None):
        if key not in self._d:
            self._d[key] = default
        return self._d[key]

    def update(self, other=None, **kwargs):
        if other is not None:
            for k, v in _pairs(other):
                self._d[k] = v
        for k, v in kwargs.items():
            self._d[k] = v

    def clear(self):
        self._d = {}

    def copy(self):
        return OrderedDict(self._d)

    def popitem(self, last=True):
        if not self._d:
            raise KeyError("dictionary is empty")
        keys = list(self._d)
        key = keys[-1] if last else keys[0]
        return (key, self._d.pop(key))

    def move_to_end(self, key, last=True):
        if key not in self._d:
            raise KeyError(key)
        value = self._d.pop(key)
        if last:
            self._d[key] = value
        else:
            rest = self._d
            self._d = {key: value}
            for k, v in rest.items():
                self._d[k] = v

    def __eq__(self, other):
        if type(other) is OrderedDict:
            return list(self._d.items()) == list(other._d.items())
        if isinstance(other, dict):
            return self._d == other
        return NotImplemented

    def __ne__(self, other):
        result = self.__eq__(other)
        if result is NotImplemented:
            return result
        return not result

    def __or__(self, other):
        new = self.copy()
        new.update(other)
        return new

    def __ror__(self, other):
        new = OrderedDict(other)
        new.update(self._d)
        return new

    def __repr__(self):
        if not self._d:
            return "OrderedDict()"
        return "OrderedDict(%r)" % (self._d,)


def _fromkeys(iterable, value=None):
    od = OrderedDict()
    for k in iterable:
        od[k] = value
    return od


# A class-level "classmethod" (no decorators in sandbox class bodies):
# `OrderedDict.fromkeys(keys, value)`.
OrderedDict.fromkeys = _fromkeys


class ChainMap:
    """Several mappings searched in order as one view; writes go to maps[0]."""

    def __init__(self, *maps):
        self.maps = list(maps) or [{}]

    def __getitem__(self, key):
        for mapping in self.maps:
            if key in mapping:
                return mapping[key]
        raise KeyError(key)

    def get(self, key, default=None):
        for mapping in self.maps:
            if key in mapping:
                return mapping[key]
        return default

    def __contains__(self, key):
        return any(key in m for m in self.maps)

    def _keys(self):
        d = {}
        for mapping in reversed(self.maps):
            for k in mapping:
                d[k] = None
        return list(d)

    def __iter__(self):
        return iter(self._keys())

    def __len__(self):
        return len(self._keys())

    def __bool__(self):
        return any(self.maps)

    def keys(self):
        return self._keys()

    def values(self):
        return [self[k] for k in self._keys()]

    def items(self):
        return [(k, self[k]) for k in self._keys()]

    def __setitem__(self, key, value):
        self.maps[0][key] = value

    def __delitem__(self, key):
        self.pop(key)

    def pop(self, key, *default):
        if key in self.maps[0]:
            return self.maps[0].pop(key)
        if default:
            return default[0]
        raise KeyError("Key not found in the first mapping: %r" % (key,))

    def popitem(self):
        if not self.maps[0]:
            raise KeyError("No keys found in the first mapping.")
        key = list(self.maps[0])[-1]
        return (key, self.maps[0].pop(key))

    def clear(self):
        self.maps[0].clear()

    def new_child(self, m=None, **kwargs):
        if m is None:
            m = kwargs
        elif kwargs:
            m.update(kwargs)
        return ChainMap(m, *self.maps)

    def parents(self):
        return ChainMap(*self.maps[1:])

    def copy(self):
        return ChainMap(dict(self.maps[0]), *self.maps[1:])

    def __eq__(self, other):
        if type(other) is ChainMap:
            other = dict(other.items())
        if isinstance(other, dict):
            return dict(self.items()) == other
        return NotImplemented

    def __repr__(self):
        return "ChainMap(%s)" % ", ".join(repr(m) for m in self.maps)
