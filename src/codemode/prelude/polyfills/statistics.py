"""Polyfill of CPython's ``statistics`` for the Monty sandbox.

Covers: ``mean fmean median median_low median_high mode multimode pstdev stdev pvariance
variance quantiles`` and ``StatisticsError``. A port of CPython 3.11: sums are exact
rationals (kept as ``(numerator, denominator)`` int pairs instead of ``Fraction``), so
results, including the int-vs-float result type and the correctly rounded ``stdev``,
match CPython for int / bool / float data.

Differs from CPython: ``StatisticsError`` is ``ValueError`` itself (Monty has no class
inheritance); ``Fraction`` and ``Decimal`` data are not supported by the exact-sum
functions (``mean``, ``variance``, ``stdev`` and friends raise ``TypeError``); no
``geometric_mean``, ``harmonic_mean``, ``median_grouped``, ``covariance``,
``correlation``, ``linear_regression`` or ``NormalDist``; ``stdev``/``pstdev`` of data
containing inf return inf where CPython 3.11 raises ``AttributeError``.
"""

import math

StatisticsError = ValueError

_TWO53 = 9007199254740992.0


def _bit_length(n):
    if n < 0:
        n = -n
    return 0 if n == 0 else len(bin(n)) - 2


def _norm(n, d):
    if d < 0:
        n = -n
        d = -d
    g = math.gcd(n, d)
    if g > 1:
        n = n // g
        d = d // g
    return (n, d)


def _add(a, b):
    return _norm(a[0] * b[1] + b[0] * a[1], a[1] * b[1])


def _to_float(n, d):
    """Correctly rounded n / d."""
    if -(1 << 53) <= n <= (1 << 53) and d <= (1 << 53):
        return n / d
    neg = n < 0
    if neg:
        n = -n
    shift = _bit_length(d) - _bit_length(n) + 55
    if shift > 0:
        q, r = divmod(n << shift, d)
    else:
        q, r = divmod(n, d << -shift)
    if r:
        q = q | 1
    x = math.ldexp(float(q), -shift)
    return -x if neg else x


def _exact_ratio(x):
    t = type(x)
    if t is int or t is bool:
        return (int(x), 1)
    if t is float:
        if not math.isfinite(x):
            return (x, None)
        m, e = math.frexp(x)
        n = int(m * _TWO53)
        e -= 53
        if e >= 0:
            return (n << e, 1)
        return _norm(n, 1 << -e)
    raise TypeError("can't convert type '%s' to numerator/denominator" % t.__name__)


def _result_type(types):
    if float in types:
        return float
    return int


def _convert(value, t):
    n, d = value
    if t is int and d == 1:
        return n
    return _to_float(n, d)


def _sum(data):
    count = 0
    types = set()
    partials = {}
    nonfinite = None
    for x in data:
        types.add(type(x))
        n, d = _exact_ratio(x)
        count += 1
        if d is None:
            nonfinite = n if nonfinite is None else nonfinite + n
        else:
            partials[d] = partials.get(d, 0) + n
    total = (0, 1)
    for d, n in partials.items():
        total = _add(total, (n, d))
    return (_result_type(types), total, count, nonfinite)


def _ss(data, c=None):
    if c is not None:
        devs = []
        for x in data:
            dv = x - c
            devs.append(dv * dv)
        t, ssd, count, nonfinite = _sum(devs)
        return (t, ssd, count, nonfinite)
    count = 0
    types = set()
    sx_partials = {}
    sxx_partials = {}
    nonfinite = None
    for x in data:
        types.add(type(x))
        n, d = _exact_ratio(x)
        count += 1
        if d is None:
            nonfinite = n if nonfinite is None else nonfinite + n
        else:
            sx_partials[d] = sx_partials.get(d, 0) + n
            sxx_partials[d] = sxx_partials.get(d, 0) + n * n
    if not count or nonfinite is not None:
        return (_result_type(types), (0, 1), count, nonfinite)
    sx = (0, 1)
    for d, n in sx_partials.items():
        sx = _add(sx, (n, d))
    sxx = (0, 1)
    for d, n in sxx_partials.items():
        sxx = _add(sxx, (n, d * d))
    num = count * sxx[0] * sx[1] * sx[1] - sx[0] * sx[0] * sxx[1]
    ssd = _norm(num, sxx[1] * sx[1] * sx[1] * count)
    return (_result_type(types), ssd, count, nonfinite)


def _float_sqrt_of_frac(n, m):
    q = (_bit_length(n) - _bit_length(m) - 109) // 2
    if q >= 0:
        a = math.isqrt(n // (m << 2 * q))
        numerator = (a | (1 if a * a * (m << 2 * q) != n else 0)) << q
        denominator = 1
    else:
        nn = n << -2 * q
        a = math.isqrt(nn // m)
        numerator = a | (1 if a * a * m != nn else 0)
        denominator = 1 << -q
    return _to_float(numerator, denominator)


def mean(data):
    t, total, n, nonfinite = _sum(data)
    if n < 1:
        raise StatisticsError("mean requires at least one data point")
    if nonfinite is not None:
        return nonfinite / n
    return _convert(_norm(total[0], total[1] * n), t)


def fmean(data, weights=None):
    data = list(data)
    n = len(data)
    if weights is None:
        if not n:
            raise StatisticsError("fmean requires at least one data point")
        return math.fsum(data) / n
    weights = list(weights)
    if n != len(weights):
        raise StatisticsError("data and weights must be the same length")
    num = math.fsum([x * w for x, w in zip(data, weights)])
    den = math.fsum(weights)
    if not den:
        raise StatisticsError("sum of weights must be non-zero")
    return num / den


def median(data):
    data = sorted(data)
    n = len(data)
    if n == 0:
        raise StatisticsError("no median for empty data")
    if n % 2 == 1:
        return data[n // 2]
    i = n // 2
    return (data[i - 1] + data[i]) / 2


def median_low(data):
    data = sorted(data)
    n = len(data)
    if n == 0:
        raise StatisticsError("no median for empty data")
    if n % 2 == 1:
        return data[n // 2]
    return data[n // 2 - 1]


def median_high(data):
    data = sorted(data)
    n = len(data)
    if n == 0:
        raise StatisticsError("no median for empty data")
    return data[n // 2]


def _counts(data):
    counts = {}
    for x in data:
        counts[x] = counts.get(x, 0) + 1
    return counts


def mode(data):
    counts = _counts(data)
    if not counts:
        raise StatisticsError("no mode for empty data")
    best = None
    best_count = 0
    for value, c in counts.items():
        if c > best_count:
            best = value
            best_count = c
    return best


def multimode(data):
    counts = _counts(data)
    if not counts:
        return []
    maxcount = max(counts.values())
    return [value for value, c in counts.items() if c == maxcount]


def quantiles(data, *, n=4, method="exclusive"):
    if n < 1:
        raise StatisticsError("n must be at least 1")
    data = sorted(data)
    ld = len(data)
    if ld < 2:
        raise StatisticsError("must have at least two data points")
    result = []
    if method == "inclusive":
        m = ld - 1
        for i in range(1, n):
            j, delta = divmod(i * m, n)
            result.append((data[j] * (n - delta) + data[j + 1] * delta) / n)
        return result
    if method == "exclusive":
        m = ld + 1
        for i in range(1, n):
            j = i * m // n
            j = 1 if j < 1 else ld - 1 if j > ld - 1 else j
            delta = i * m - j * n
            result.append((data[j - 1] * (n - delta) + data[j] * delta) / n)
        return result
    raise ValueError("Unknown method: %r" % (method,))


def _spread(data, c, minimum, name):
    t, ss, n, nonfinite = _ss(data, c)
    if n < minimum:
        if minimum == 2:
            raise StatisticsError(name + " requires at least two data points")
        raise StatisticsError(name + " requires at least one data point")
    return t, ss, n, nonfinite


def variance(data, xbar=None):
    t, ss, n, nonfinite = _spread(data, xbar, 2, "variance")
    if nonfinite is not None:
        return nonfinite / (n - 1)
    return _convert(_norm(ss[0], ss[1] * (n - 1)), t)


def pvariance(data, mu=None):
    t, ss, n, nonfinite = _spread(data, mu, 1, "pvariance")
    if nonfinite is not None:
        return nonfinite / n
    return _convert(_norm(ss[0], ss[1] * n), t)


def stdev(data, xbar=None):
    t, ss, n, nonfinite = _spread(data, xbar, 2, "stdev")
    if nonfinite is not None:
        return math.sqrt(nonfinite / (n - 1))
    mss = _norm(ss[0], ss[1] * (n - 1))
    return _float_sqrt_of_frac(mss[0], mss[1])


def pstdev(data, mu=None):
    t, ss, n, nonfinite = _spread(data, mu, 1, "pstdev")
    if nonfinite is not None:
        return math.sqrt(nonfinite / n)
    mss = _norm(ss[0], ss[1] * n)
    return _float_sqrt_of_frac(mss[0], mss[1])
