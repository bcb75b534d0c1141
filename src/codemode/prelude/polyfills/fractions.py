"""Sandbox polyfill for `fractions`: exact rational numbers.

Covers: `Fraction(numerator=0, denominator=None)` from ints, Fractions, floats (exact
binary value, like CPython), `decimal.Decimal`, and strings ("3/4", " -1.5e3 ", "7");
sign and gcd normalisation; `numerator` / `denominator`; `+ - * / // % divmod **`
with ints, Fractions (exact) and floats (float result); unary `- + abs`; `==` / `!=`
with ints, floats and Fractions; `float()`, `int()`, `round()` (half to even, with
ndigits), `math.floor/ceil/trunc`, `hash()`; `limit_denominator`,
`as_integer_ratio`, `is_integer`, `Fraction.from_float`, `Fraction.from_decimal`;
`str()` ("3/4", "2") and `repr()` ("Fraction(3, 4)") as CPython.

Differences from CPython:
- The sandbox does not dispatch `<`, `<=`, `>`, `>=` to classes, so ordering
  comparisons between Fractions raise TypeError even though the methods are defined.
  Compare `float(x)`, or use the helper `compare(a, b)` (-1, 0 or 1, exact).
  For the same reason `sorted()`, `min()` and `max()` of Fractions do not work
  (use `sorted(xs, key=float)`), and `bool(Fraction(0))` is True (use `x == 0`).
- `hash()` equals `hash()` of the equal int or float when one exists (so dict keys
  interoperate), but the values are not CPython's.
- `numerator` / `denominator` are plain attributes; do not assign them.
- Not `numbers.Rational` (no `numbers` module); no complex arithmetic; no
  `format()` specs (Python 3.12's `format(Fraction, ".2f")`).
"""

import decimal as _decimal
import math as _math
import re as _re

_RATIONAL_FORMAT = _re.compile(
    r"\A\s*(?P<sign>[-+]?)(?=\d|\.\d)(?P<num>\d*|\d+(_\d+)*)"
    r"(?:(?:/(?P<denom>\d+(_\d+)*))?"
    r"|(?:\.(?P<decimal>\d*|\d+(_\d+)*))?(?:E(?P<exp>[-+]?\d+(_\d+)*))?)\s*\Z",
    _re.IGNORECASE,
)


def _float_ratio(x):
    """The exact (numerator, denominator) of a finite float, in lowest terms."""
    if x != x:
        raise ValueError("cannot convert NaN to integer ratio")
    if x in (float("inf"), float("-inf")):
        raise OverflowError("cannot convert Infinity to integer ratio")
    if x == 0.0:
        return 0, 1
    m, e = _math.frexp(x)
    n = int(m * 9007199254740992.0)  # m * 2**53 is an exact integer
    e -= 53
    if e >= 0:
        return n * 2**e, 1
    d = 2 ** (-e)
    g = _math.gcd(n, d)
    return n // g, d // g


def _is_int(x):
    return isinstance(x, int)


def _is_rational(x):
    return isinstance(x, int) or isinstance(x, Fraction)


def _make(n, d):
    """A Fraction from ints already in lowest terms with d > 0."""
    f = Fraction(0)
    f._numerator = n
    f._denominator = d
    f.numerator = n
    f.denominator = d
    return f


def _nd(x):
    if isinstance(x, Fraction):
        return x._numerator, x._denominator
    return int(x), 1


class Fraction:
    """A rational number numerator/denominator in lowest terms, denominator > 0."""

    def __init__(self, numerator=0, denominator=None):
        if denominator is None:
            if isinstance(numerator, int):
                n, d = int(numerator), 1
            elif isinstance(numerator, Fraction):
                n, d = numerator._numerator, numerator._denominator
            elif isinstance(numerator, float):
                n, d = _float_ratio(numerator)
            elif isinstance(numerator, _decimal.Decimal):
                n, d = numerator.as_integer_ratio()
            elif isinstance(numerator, str):
                n, d = _parse(numerator)
            else:
                raise TypeError("argument should be a string or a Rational instance")
        elif _is_rational(numerator) and _is_rational(denominator):
            an, ad = _nd(numerator)
            bn, bd = _nd(denominator)
            n, d = an * bd, bn * ad
        else:
            raise TypeError("both arguments should be Rational instances")
        if d == 0:
            raise ZeroDivisionError("Fraction(%s, 0)" % n)
        g = _math.gcd(n, d)
        if d < 0:
            g = -g
        n //= g
        d //= g
        self._numerator = n
        self._denominator = d
        self.numerator = n
        self.denominator = d

    # -- conversions -------------------------------------------------------------

    def as_integer_ratio(self):
        return (self._numerator, self._denominator)

    def is_integer(self):
        return self._denominator == 1

    def limit_denominator(self, max_denominator=1000000):
        """Closest Fraction to self with denominator at most max_denominator."""
        if max_denominator < 1:
            raise ValueError("max_denominator should be at least 1")
        if self._denominator <= max_denominator:
            return _make(self._numerator, self._denominator)
        p0, q0, p1, q1 = 0, 1, 1, 0
        n, d = self._numerator, self._denominator
        while True:
            a = n // d
            q2 = q0 + a * q1
            if q2 > max_denominator:
                break
            p0, q0, p1, q1 = p1, q1, p0 + a * p1, q2
            n, d = d, n - a * d
        k = (max_denominator - q0) // q1
        bound1 = Fraction(p0 + k * p1, q0 + k * q1)
        bound2 = Fraction(p1, q1)
        if compare(abs(bound2 - self), abs(bound1 - self)) <= 0:
            return bound2
        return bound1

    def __float__(self):
        return self._numerator / self._denominator

    def __int__(self):
        if self._numerator < 0:
            return -(-self._numerator // self._denominator)
        return self._numerator // self._denominator

    def __trunc__(self):
        return self.__int__()

    def __floor__(self):
        return self._numerator // self._denominator

    def __ceil__(self):
        return -(-self._numerator // self._denominator)

    def __round__(self, ndigits=None):
        if ndigits is None:
            floor, remainder = divmod(self._numerator, self._denominator)
            if remainder * 2 < self._denominator:
                return floor
            if remainder * 2 > self._denominator:
                return floor + 1
            if floor % 2 == 0:
                return floor
            return floor + 1
        shift = 10 ** abs(ndigits)
        if ndigits > 0:
            return Fraction((self * shift).__round__(), shift)
        return Fraction((self / shift).__round__() * shift)

    def __hash__(self):
        if self._denominator == 1:
            return hash(self._numerator)
        f = self._numerator / self._denominator
        if _float_ratio(f) == (self._numerator, self._denominator):
            return hash(f)
        return hash((self._numerator, self._denominator))

    def __str__(self):
        if self._denominator == 1:
            return str(self._numerator)
        return "%s/%s" % (self._numerator, self._denominator)

    def __repr__(self):
        return "Fraction(%s, %s)" % (self._numerator, self._denominator)

    # -- arithmetic ----------------------------------------------------------------

    def __add__(self, other):
        if _is_rational(other):
            bn, bd = _nd(other)
            return Fraction(self._numerator * bd + bn * self._denominator, self._denominator * bd)
        if isinstance(other, float):
            return float(self) + other
        return NotImplemented

    def __radd__(self, other):
        return self.__add__(other)

    def __sub__(self, other):
        if _is_rational(other):
            bn, bd = _nd(other)
            return Fraction(self._numerator * bd - bn * self._denominator, self._denominator * bd)
        if isinstance(other, float):
            return float(self) - other
        return NotImplemented

    def __rsub__(self, other):
        if _is_rational(other):
            return Fraction(other).__sub__(self)
        if isinstance(other, float):
            return other - float(self)
        return NotImplemented

    def __mul__(self, other):
        if _is_rational(other):
            bn, bd = _nd(other)
            return Fraction(self._numerator * bn, self._denominator * bd)
        if isinstance(other, float):
            return float(self) * other
        return NotImplemented

    def __rmul__(self, other):
        return self.__mul__(other)

    def __truediv__(self, other):
        if _is_rational(other):
            bn, bd = _nd(other)
            if bn == 0:
                raise ZeroDivisionError("Fraction(%s, 0)" % (self._numerator * bd))
            return Fraction(self._numerator * bd, self._denominator * bn)
        if isinstance(other, float):
            return float(self) / other
        return NotImplemented

    def __rtruediv__(self, other):
        if _is_rational(other):
            return Fraction(other).__truediv__(self)
        if isinstance(other, float):
            return other / float(self)
        return NotImplemented

    def __floordiv__(self, other):
        if _is_rational(other):
            bn, bd = _nd(other)
            return (self._numerator * bd) // (self._denominator * bn)
        if isinstance(other, float):
            return float(self) // other
        return NotImplemented

    def __rfloordiv__(self, other):
        if _is_rational(other):
            return Fraction(other).__floordiv__(self)
        if isinstance(other, float):
            return other // float(self)
        return NotImplemented

    def __mod__(self, other):
        if _is_rational(other):
            bn, bd = _nd(other)
            return Fraction(
                (self._numerator * bd) % (bn * self._denominator),
                self._denominator * bd,
            )
        if isinstance(other, float):
            return float(self) % other
        return NotImplemented

    def __rmod__(self, other):
        if _is_rational(other):
            return Fraction(other).__mod__(self)
        if isinstance(other, float):
            return other % float(self)
        return NotImplemented

    def __divmod__(self, other):
        if _is_rational(other):
            return (self.__floordiv__(other), self.__mod__(other))
        if isinstance(other, float):
            return divmod(float(self), other)
        return NotImplemented

    def __rdivmod__(self, other):
        if _is_rational(other):
            return Fraction(other).__divmod__(self)
        if isinstance(other, float):
            return divmod(other, float(self))
        return NotImplemented

    def __pow__(self, other):
        if _is_rational(other):
            bn, bd = _nd(other)
            if bd == 1:
                power = bn
                n, d = self._numerator, self._denominator
                if power >= 0:
                    return _make(n**power, d**power)
                if n == 0:
                    raise ZeroDivisionError("Fraction(%s, 0)" % (d**-power))
                if n > 0:
                    return _make(d**-power, n**-power)
                return _make((-d) ** -power, (-n) ** -power)
            return float(self) ** (bn / bd)
        if isinstance(other, float):
            return float(self) ** other
        return NotImplemented

    def __rpow__(self, other):
        if self._denominator == 1 and self._numerator >= 0 and _is_int(other):
            return other**self._numerator
        if _is_rational(other):
            return Fraction(other).__pow__(self)
        if isinstance(other, float):
            return other ** float(self)
        return NotImplemented

    def __pos__(self):
        return _make(self._numerator, self._denominator)

    def __neg__(self):
        return _make(-self._numerator, self._denominator)

    def __abs__(self):
        return _make(abs(self._numerator), self._denominator)

    def __bool__(self):
        return self._numerator != 0

    # -- comparisons ---------------------------------------------------------------

    def __eq__(self, other):
        if _is_rational(other):
            bn, bd = _nd(other)
            return self._numerator == bn and self._denominator == bd
        if isinstance(other, float):
            if other != other or other in (float("inf"), float("-inf")):
                return False
            return (self._numerator, self._denominator) == _float_ratio(other)
        return NotImplemented

    def __ne__(self, other):
        result = self.__eq__(other)
        if result is NotImplemented:
            return result
        return not result

    def __lt__(self, other):
        return _ordered(self, other, (-1,))

    def __le__(self, other):
        return _ordered(self, other, (-1, 0))

    def __gt__(self, other):
        return _ordered(self, other, (1,))

    def __ge__(self, other):
        return _ordered(self, other, (1, 0))


def _ordered(a, b, accept):
    if _is_rational(b):
        return compare(a, b) in accept
    if isinstance(b, float):
        if b != b:
            return False
        if b in (float("inf"), float("-inf")):
            return (-1 if b > 0 else 1) in accept
        return compare(a, Fraction(b)) in accept
    return NotImplemented


def compare(a, b):
    """-1, 0 or 1 as a < b, a == b or a > b, exactly (ints, floats or Fractions).

    Not in CPython's module: the sandbox does not dispatch `<` to classes.
    """
    a = a if isinstance(a, Fraction) else Fraction(a)
    b = b if isinstance(b, Fraction) else Fraction(b)
    x = a._numerator * b._denominator
    y = b._numerator * a._denominator
    if x < y:
        return -1
    if x > y:
        return 1
    return 0


def _parse(text):
    m = _RATIONAL_FORMAT.match(text)
    if m is None:
        raise ValueError("Invalid literal for Fraction: %r" % (text,))
    n = int((m.group("num") or "0").replace("_", ""))
    denom = m.group("denom")
    if denom:
        d = int(denom.replace("_", ""))
    else:
        d = 1
        dec = m.group("decimal")
        if dec:
            dec = dec.replace("_", "")
            scale = 10 ** len(dec)
            n = n * scale + int(dec)
            d *= scale
        exp = m.group("exp")
        if exp:
            e = int(exp.replace("_", ""))
            if e >= 0:
                n *= 10**e
            else:
                d *= 10**-e
    if m.group("sign") == "-":
        n = -n
    return n, d


def _from_float(f):
    if isinstance(f, int):
        return Fraction(f)
    if not isinstance(f, float):
        raise TypeError(
            "Fraction.from_float() only takes floats, not %r (%s)" % (f, type(f).__name__)
        )
    return Fraction(f)


def _from_decimal(dec):
    if isinstance(dec, int):
        dec = _decimal.Decimal(dec)
    elif not isinstance(dec, _decimal.Decimal):
        raise TypeError(
            "Fraction.from_decimal() only takes Decimals, not %r (%s)" % (dec, type(dec).__name__)
        )
    return Fraction(dec)


# Class-level "classmethods" (the sandbox has no decorators in class bodies): call
# them on the class, `Fraction.from_float(0.5)`.
Fraction.from_float = _from_float
Fraction.from_decimal = _from_decimal
