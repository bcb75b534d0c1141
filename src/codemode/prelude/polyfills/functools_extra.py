"""Sandbox polyfill for the parts of `functools` the sandbox lacks (it has `reduce`,
`partial` and `lru_cache`, re-exported here for convenience).

Covers: `cache` (= `lru_cache(maxsize=None)`), `wraps` / `update_wrapper`,
`cmp_to_key`, `total_ordering`, `singledispatch` (with `.register(type)`,
`.dispatch(type)`, `.registry`), and `sorted_by_cmp(iterable, cmp, reverse=False)`.

Differences from CPython:
- Sandbox functions carry no attributes (`__name__`, `__doc__`, `__wrapped__`), so
  `wraps` / `update_wrapper` copy nothing and return the wrapper unchanged.
- The sandbox does not dispatch `<`, `<=`, `>`, `>=` to classes, so `cmp_to_key`
  returns keys that are one-element lists of ranks, kept current as items are keyed
  (see its docstring): `sorted(items, key=cmp_to_key(cmp))` gives CPython's result,
  `min`/`max` work too, and keys of equal items compare equal. `total_ordering` only
  fills in the missing methods (callable explicitly, e.g. `a.__le__(b)`).
  `sorted_by_cmp(items, cmp)` (not in CPython) is a stable merge sort with the same
  result, without the O(n^2) renumbering, for large inputs.
- `singledispatch` matches the exact type first, then registered types in
  registration order via `isinstance` (there is no MRO); registering by annotation
  (`@f.register` without a type) is not supported. Decorators cannot be used inside
  class bodies, so there is no `singledispatchmethod`.
- `cached_property` cannot work (no descriptors, no decorators in class bodies): it
  raises TypeError explaining the alternative.
"""

import functools as _functools

# Re-exported; bound explicitly so they are attributes of the exec-loaded module.
lru_cache = _functools.lru_cache
partial = _functools.partial
reduce = _functools.reduce

WRAPPER_ASSIGNMENTS = (
    "__module__", "__name__", "__qualname__", "__doc__", "__dict__", "__annotations__",
)  # fmt: skip
WRAPPER_UPDATES = ("__dict__",)

cache = lru_cache(maxsize=None)


def update_wrapper(wrapper, wrapped, assigned=WRAPPER_ASSIGNMENTS,
                   updated=WRAPPER_UPDATES):  # fmt: skip
    """Copy what metadata the sandbox allows from `wrapped` to `wrapper` (usually
    none) and return `wrapper`."""
    for attr in assigned:
        try:
            setattr(wrapper, attr, getattr(wrapped, attr))
        except Exception:
            continue
    try:
        wrapper.__wrapped__ = wrapped
    except Exception:
        pass
    return wrapper


def wraps(wrapped, assigned=WRAPPER_ASSIGNMENTS, updated=WRAPPER_UPDATES):
    """Decorator form of `update_wrapper`."""

    def decorator(wrapper):
        return update_wrapper(wrapper, wrapped, assigned, updated)

    return decorator


def cmp_to_key(mycmp):
    """Convert a cmp= function into a key= function.

    The sandbox does not dispatch `<` to `__lt__`, so a key object cannot carry the
    comparison. Instead each key is a one-element list holding the item's rank among all
    items keyed so far (lists compare natively): every call inserts the item into an
    ordered list with a binary search using `mycmp` and renumbers the ranks in place,
    items that compare equal sharing a rank. `sorted()` computes every key before it
    compares any, so by then the ranks are final, and keys of equal items are equal.
    Cost: O(n log n) calls of `mycmp` and O(n^2) renumbering, fine for the few thousand
    items programs sort.
    """
    entries = []  # [rank cell, item, equal to the previous entry], kept in `mycmp` order

    def key(obj):
        lo, hi = 0, len(entries)
        while lo < hi:
            mid = (lo + hi) // 2
            if mycmp(obj, entries[mid][1]) < 0:
                hi = mid
            else:
                lo = mid + 1
        # The search lands after every item equal to obj, so only the left neighbour
        # can be equal, and the right one (if any) is now strictly greater.
        same = lo > 0 and mycmp(entries[lo - 1][1], obj) == 0
        cell = [0]
        entries.insert(lo, [cell, obj, same])
        if lo + 1 < len(entries):
            entries[lo + 1][2] = False
        rank = entries[lo - 1][0][0] if lo > 0 else 0
        for i in range(lo, len(entries)):
            if i > 0 and not entries[i][2]:
                rank += 1
            entries[i][0][0] = rank
        return cell

    return key


def sorted_by_cmp(iterable, mycmp, reverse=False):
    """Stable sort with an old-style cmp function (sandbox helper, not in CPython)."""
    items = list(iterable)
    if reverse:
        # sorted(reverse=True) keeps equal items in their original order.
        def cmp(a, b):
            return mycmp(b, a)
    else:
        cmp = mycmp
    width = 1
    n = len(items)
    while width < n:
        merged = []
        for lo in range(0, n, 2 * width):
            left = items[lo : lo + width]
            right = items[lo + width : lo + 2 * width]
            i = j = 0
            while i < len(left) and j < len(right):
                if cmp(right[j], left[i]) < 0:
                    merged.append(right[j])
                    j += 1
                else:
                    merged.append(left[i])
                    i += 1
            merged.extend(left[i:])
            merged.extend(right[j:])
        items = merged
        width *= 2
    return items


def _not(f):
    def g(self, other):
        r = f(self, other)
        if r is NotImplemented:
            return r
        return not r

    return g


def _lt_from_lt(lt):
    return {
        "__gt__": lambda self, other: _flip(lt(self, other), self == other),
        "__le__": lambda self, other: _either(lt(self, other), self == other),
        "__ge__": _not(lt),
    }


def _lt_from_gt(gt):
    return {
        "__lt__": lambda self, other: _flip(gt(self, other), self == other),
        "__ge__": lambda self, other: _either(gt(self, other), self == other),
        "__le__": _not(gt),
    }


def _lt_from_le(le):
    return {
        "__ge__": lambda self, other: _either(_neg(le(self, other)), self == other),
        "__lt__": lambda self, other: _both(le(self, other), self != other),
        "__gt__": _not(le),
    }


def _lt_from_ge(ge):
    return {
        "__le__": lambda self, other: _either(_neg(ge(self, other)), self == other),
        "__gt__": lambda self, other: _both(ge(self, other), self != other),
        "__lt__": _not(ge),
    }


def _neg(r):
    return r if r is NotImplemented else not r


def _flip(r, eq):
    # "not (a < b) and a != b"
    if r is NotImplemented:
        return r
    return not r and not eq


def _either(r, eq):
    if r is NotImplemented:
        return r
    return r or eq


def _both(r, ne):
    if r is NotImplemented:
        return r
    return r and ne


def total_ordering(cls):
    """Fill in missing ordering methods from one of __lt__/__le__/__gt__/__ge__."""
    makers = (
        ("__lt__", _lt_from_lt), ("__le__", _lt_from_le),
        ("__gt__", _lt_from_gt), ("__ge__", _lt_from_ge),
    )  # fmt: skip
    defined = [name for name, _ in makers if getattr(cls, name, None) is not None]
    if not defined:
        raise ValueError("must define at least one ordering operation: < > <= >=")
    for name, maker in makers:
        if name in defined:
            for other_name, method in maker(getattr(cls, name)).items():
                if other_name not in defined:
                    setattr(cls, other_name, method)
            break
    return cls


def cached_property(func):
    """Not available in the sandbox (see the module docstring)."""
    raise TypeError(
        "cached_property is not supported in the sandbox (no descriptors); "
        "compute the value in __init__ or cache it in a method"
    )


class _SingleDispatch:
    def __init__(self, func):
        self._default = func
        self.registry = {object: func}
        self._order = []

    def register(self, cls, func=None):
        if func is None:
            if type(cls).__name__ != "type":
                raise TypeError("register() needs a type in the sandbox: use @f.register(int)")

            def decorator(f):
                self.register(cls, f)
                return f

            return decorator
        self.registry[cls] = func
        if cls not in self._order:
            self._order.append(cls)
        return func

    def dispatch(self, cls):
        if cls in self.registry:
            return self.registry[cls]
        for registered in self._order:
            if cls is bool and registered is int:
                return self.registry[registered]
        return self._default

    def _dispatch_value(self, value):
        cls = type(value)
        if cls in self.registry:
            return self.registry[cls]
        for registered in self._order:
            if isinstance(value, registered):
                return self.registry[registered]
        return self._default

    def __call__(self, *args, **kwargs):
        if not args:
            raise TypeError("singledispatch function requires at least 1 positional argument")
        return self._dispatch_value(args[0])(*args, **kwargs)


def singledispatch(func):
    """Single-dispatch generic function on the type of the first argument."""
    return _SingleDispatch(func)
