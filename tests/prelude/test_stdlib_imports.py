"""Every import the data plane promises works in programs, with real behaviour.

Each case runs through `CodeMode.execute` (the path a model's program takes) and is
compared with what CPython computes for the same expression.
"""

from __future__ import annotations

import base64
import bisect
import copy
import csv
import datetime
import decimal
import difflib
import fnmatch
import fractions
import hashlib
import html
import io
import json
import math
import operator
import re
import statistics
import string
import textwrap
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from codemode import CodeMode

CASES: dict[str, tuple[str, Any]] = {
    "textwrap": (
        "import textwrap\ntextwrap.wrap('the quick brown fox jumps', 10)",
        textwrap.wrap("the quick brown fox jumps", 10),
    ),
    "statistics": (
        "import statistics\n[statistics.mean([1, 2, 4]), statistics.median([3, 1, 2]),"
        " statistics.stdev([2, 4, 4, 4, 5, 5, 7, 9])]",
        [
            statistics.mean([1, 2, 4]),
            statistics.median([3, 1, 2]),
            statistics.stdev([2, 4, 4, 4, 5, 5, 7, 9]),
        ],
    ),
    "operator": (
        "import operator\nsorted([{'n': 2}, {'n': 1}], key=operator.itemgetter('n'))",
        sorted([{"n": 2}, {"n": 1}], key=operator.itemgetter("n")),
    ),
    "string": (
        "import string\n"
        "(string.ascii_lowercase[:5], string.Template('$a-$b').substitute(a=1, b=2))",
        [string.ascii_lowercase[:5], string.Template("$a-$b").substitute(a=1, b=2)],
    ),
    "enum": (
        "from enum import Enum\nColor = Enum('Color', 'RED GREEN')\n"
        "[Color.GREEN.name, Color.GREEN.value, Color(1).name]",
        ["GREEN", 2, "RED"],
    ),
    "uuid": (
        "import uuid\nu = uuid.uuid4()\n(len(str(u)), u.version, str(uuid.UUID(str(u))) == str(u))",
        [36, 4, True],
    ),
    "difflib": (
        "import difflib\nround(difflib.SequenceMatcher(None, 'abcd', 'bcde').ratio(), 3)",
        round(difflib.SequenceMatcher(None, "abcd", "bcde").ratio(), 3),
    ),
    "heapq": (
        "import heapq\nh = []\nfor x in [5, 1, 4, 2]:\n    heapq.heappush(h, x)\n"
        "[heapq.heappop(h) for _ in range(4)]",
        [1, 2, 4, 5],
    ),
    "io": (
        "import io\nbuf = io.StringIO()\nbuf.write('a\\nb\\n')\nbuf.seek(0)\nbuf.readlines()",
        io.StringIO("a\nb\n").readlines(),
    ),
    "csv": (
        "import csv, io\nbuf = io.StringIO()\nw = csv.DictWriter(buf, fieldnames=['a', 'b'])\n"
        "w.writeheader()\nw.writerow({'a': 1, 'b': 'x,y'})\n"
        "(buf.getvalue(), list(csv.DictReader(buf.getvalue().splitlines())))",
        None,  # computed below
    ),
    "collections": (
        "from collections import Counter, defaultdict, deque, namedtuple, OrderedDict\n"
        "d = OrderedDict(a=1, b=2)\nd.move_to_end('a')\nP = namedtuple('P', 'x y')\n"
        "dd = defaultdict(list)\ndd['k'].append(1)\n"
        "(list(d), Counter('aab').most_common(1), deque([1, 2], maxlen=2)[0], P(1, 2).y, dict(dd))",
        [["b", "a"], [["a", 2]], 1, 2, {"k": [1]}],
    ),
    "functools": (
        "from functools import reduce, partial, lru_cache, cmp_to_key\n"
        "@lru_cache(maxsize=None)\ndef sq(x):\n    return x * x\n"
        "(reduce(lambda a, b: a + b, [1, 2, 3]), partial(pow, 2)(5), sq(4),"
        " sorted([3, 1, 2], key=cmp_to_key(lambda a, b: b - a)))",
        [6, 32, 16, [3, 2, 1]],
    ),
    "itertools": (
        "import itertools\n(list(itertools.islice(itertools.chain([1], [2, 3]), 2)),"
        " list(itertools.accumulate([1, 2, 3])), [k for k, _ in itertools.groupby('aab')],"
        " len(list(itertools.product('ab', repeat=2))),"
        " len(list(itertools.combinations('abcd', 2))), len(list(itertools.permutations('abc'))))",
        [[1, 2], [1, 3, 6], ["a", "b"], 4, 6, 6],
    ),
    "urllib.parse": (
        "from urllib.parse import urlparse, urlencode, quote, parse_qs\n"
        "u = urlparse('https://x.io/a b?q=1&q=2')\n"
        "(u.netloc, parse_qs(u.query), urlencode({'a': 'b c'}), quote('a/b c'))",
        [
            urllib.parse.urlparse("https://x.io/a b?q=1&q=2").netloc,
            urllib.parse.parse_qs("q=1&q=2"),
            urllib.parse.urlencode({"a": "b c"}),
            urllib.parse.quote("a/b c"),
        ],
    ),
    "html": (
        "import html\n(html.escape('<a&b>'), html.unescape('&lt;&amp;&#39;'))",
        [html.escape("<a&b>"), html.unescape("&lt;&amp;&#39;")],
    ),
    "fnmatch": (
        "import fnmatch\nfnmatch.filter(['a.py', 'b.txt', 'c.py'], '*.py')",
        fnmatch.filter(["a.py", "b.txt", "c.py"], "*.py"),
    ),
    "bisect": ("import bisect\nbisect.bisect_left([1, 2, 4], 3)", bisect.bisect_left([1, 2, 4], 3)),
    "copy": (
        "import copy\na = {'x': [1]}\nb = copy.deepcopy(a)\nb['x'].append(2)\na",
        copy.deepcopy({"x": [1]}),
    ),
    "decimal": (
        "from decimal import Decimal\nstr(Decimal('1.10') + Decimal('2.205'))",
        str(decimal.Decimal("1.10") + decimal.Decimal("2.205")),
    ),
    "fractions": (
        "from fractions import Fraction\nstr(Fraction(1, 3) + Fraction(1, 6))",
        str(fractions.Fraction(1, 3) + fractions.Fraction(1, 6)),
    ),
    "math": (
        "import math\n(math.gcd(12, 18), math.isclose(math.sqrt(2) ** 2, 2))",
        [math.gcd(12, 18), True],
    ),
    "random": ("import random\nrandom.seed(3)\nx = random.randint(1, 6)\n1 <= x <= 6", True),
    "datetime": (
        "import datetime\n(datetime.date(2024, 2, 28) + datetime.timedelta(days=2)).isoformat()",
        (datetime.date(2024, 2, 28) + datetime.timedelta(days=2)).isoformat(),
    ),
    "time": ("import time\ntime.time() > 1_600_000_000", True),
    "json": (
        "import json\njson.loads(json.dumps({'a': [1, 2]}))",
        json.loads(json.dumps({"a": [1, 2]})),
    ),
    "re": (
        "import re\nre.findall(r'(\\w+)@(\\w+)', 'a@b c@d')",
        [list(m) for m in re.findall(r"(\w+)@(\w+)", "a@b c@d")],
    ),
    "base64": ("import base64\nbase64.b64encode(b'hi').decode()", base64.b64encode(b"hi").decode()),
    "hashlib": (
        "import hashlib\nhashlib.sha256(b'x').hexdigest()",
        hashlib.sha256(b"x").hexdigest(),
    ),
}


def _csv_expected() -> list[Any]:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["a", "b"])
    writer.writeheader()
    writer.writerow({"a": 1, "b": "x,y"})
    return [buf.getvalue(), list(csv.DictReader(buf.getvalue().splitlines()))]


@pytest.fixture(scope="module")
def cm() -> Iterator[CodeMode]:
    with CodeMode() as instance:
        yield instance


@pytest.mark.parametrize("module", list(CASES))
def test_import_works_with_real_behaviour(cm: CodeMode, module: str) -> None:
    code, expected = CASES[module]
    if module == "csv":
        expected = _csv_expected()
    result = cm.execute(code)
    assert result.ok, result.error
    assert result.result == expected


def test_impossible_modules_say_what_to_use_instead(cm: CodeMode) -> None:
    for module in ("subprocess", "socket"):
        result = cm.execute(f"import {module}")
        assert result.error is not None
        assert result.error.type == "ModuleNotFoundError"
        assert "instead" in result.error.message
    system = cm.execute("import os\nos.system('ls')")
    assert system.error is not None
    assert system.error.type == "AttributeError"
