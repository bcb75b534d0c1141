"""Polyfill of CPython's ``string`` for the Monty sandbox.

Covers: the constants ``ascii_letters ascii_lowercase ascii_uppercase digits hexdigits
octdigits punctuation printable whitespace``, ``capwords`` and ``Template``
(``substitute``, ``safe_substitute``, ``get_identifiers``, ``is_valid``, ``$name``,
``${name}``, ``$$``).

Differs from CPython: ``Template`` cannot be subclassed in Monty, so ``delimiter`` /
``idpattern`` customisation is not supported; identifiers are ASCII
``[_a-zA-Z][_a-zA-Z0-9]*`` exactly like CPython's default; no ``Formatter`` class.
"""

import re

whitespace = " \t\n\r\x0b\x0c"
ascii_lowercase = "abcdefghijklmnopqrstuvwxyz"
ascii_uppercase = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ascii_letters = ascii_lowercase + ascii_uppercase
digits = "0123456789"
hexdigits = digits + "abcdef" + "ABCDEF"
octdigits = "01234567"
punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
printable = digits + ascii_letters + punctuation + whitespace


def capwords(s, sep=None):
    return (sep or " ").join([x.capitalize() for x in s.split(sep)])


_template_re = re.compile(
    "\\$(?:(?P<escaped>\\$)|(?P<named>[_a-zA-Z][_a-zA-Z0-9]*)"
    "|\\{(?P<braced>[_a-zA-Z][_a-zA-Z0-9]*)\\}|(?P<invalid>))"
)


class Template:
    delimiter = "$"

    def __init__(self, template):
        self.template = template

    def __repr__(self):
        return "<string.Template object>"

    def _invalid(self, mo):
        i = mo.end()  # the empty "invalid" group ends the match
        lines = self.template[:i].splitlines(True)
        if not lines:
            colno = 1
            lineno = 1
        else:
            colno = i - len("".join(lines[:-1]))
            lineno = len(lines)
        raise ValueError("Invalid placeholder in string: line %d, col %d" % (lineno, colno))

    def _sub(self, mapping, kws, safe):
        out = []
        pos = 0
        text = self.template
        for mo in _template_re.finditer(text):
            out.append(text[pos : mo.start()])
            pos = mo.end()
            named = mo.group("named")
            if named is None:
                named = mo.group("braced")
            if named is not None:
                if named in kws:
                    out.append(str(kws[named]))
                elif safe:
                    try:
                        out.append(str(mapping[named]))
                    except KeyError:
                        out.append(mo.group(0))
                else:
                    out.append(str(mapping[named]))
            elif mo.group("escaped") is not None:
                out.append("$")
            elif safe:
                out.append(mo.group(0))
            else:
                self._invalid(mo)
        out.append(text[pos:])
        return "".join(out)

    def substitute(self, mapping=None, **kws):
        return self._sub({} if mapping is None else mapping, kws, False)

    def safe_substitute(self, mapping=None, **kws):
        return self._sub({} if mapping is None else mapping, kws, True)

    def is_valid(self):
        for mo in _template_re.finditer(self.template):
            if mo.group("invalid") is not None:
                return False
        return True

    def get_identifiers(self):
        ids = []
        for mo in _template_re.finditer(self.template):
            named = mo.group("named")
            if named is None:
                named = mo.group("braced")
            if named is not None and named not in ids:
                ids.append(named)
            elif named is None and mo.group("escaped") is None:
                raise ValueError("Unrecognized named group in pattern")
        return ids
