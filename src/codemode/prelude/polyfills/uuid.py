"""Polyfill of CPython's ``uuid`` for the Monty sandbox.

Covers: ``UUID`` (construct from a hex string in any of CPython's accepted spellings,
``hex=``, ``int=``, ``bytes=``, ``fields=``, optional ``version=``; attributes ``hex int
bytes urn version variant fields time_low time_mid time_hi_version clock_seq_hi_variant
clock_seq_low node time clock_seq``; ``str()``, ``repr()``, ``==``, ``hash``),
``uuid4`` (bits from ``random.getrandbits``), ``uuid3`` (MD5) and ``uuid5`` (SHA-1), the
namespaces ``NAMESPACE_DNS NAMESPACE_URL NAMESPACE_OID NAMESPACE_X500`` and the variant
constants.

Differs from CPython: attributes are computed once in ``__init__`` (Monty has no
properties), so a UUID is not enforced immutable; no ``bytes_le``, ``uuid1``, ``getnode``
or ``is_safe``; ordering with ``<`` is not available (Monty does not dispatch ``__lt__``);
``uuid4`` uses the sandbox's ``random`` module, which is not a CSPRNG.
"""

import hashlib
import random

RESERVED_NCS = "reserved for NCS compatibility"
RFC_4122 = "specified in RFC 4122"
RESERVED_MICROSOFT = "reserved for Microsoft compatibility"
RESERVED_FUTURE = "reserved for future definition"

_int = int
_bytes = bytes


class UUID:
    def __init__(self, hex=None, bytes=None, bytes_le=None, fields=None, int=None, version=None):
        given = [x is not None for x in (hex, bytes, bytes_le, fields, int)]
        if given.count(True) != 1:
            raise TypeError(
                "one of the hex, bytes, bytes_le, fields, or int arguments must be given"
            )
        if bytes_le is not None:
            raise NotImplementedError("bytes_le is not supported in the sandbox polyfill")
        if hex is not None:
            hex = hex.replace("urn:", "").replace("uuid:", "")
            hex = hex.strip("{}").replace("-", "")
            if len(hex) != 32:
                raise ValueError("badly formed hexadecimal UUID string")
            for ch in hex:
                if ch not in "0123456789abcdefABCDEF":
                    raise ValueError("badly formed hexadecimal UUID string")
            int = _int(hex, 16)
        if bytes is not None:
            if len(bytes) != 16:
                raise ValueError("bytes is not a 16-char string")
            int = _int(bytes.hex(), 16)
        if fields is not None:
            if len(fields) != 6:
                raise ValueError("fields is not a 6-tuple")
            time_low, time_mid, time_hi_version, clock_seq_hi_variant, clock_seq_low, node = fields
            if not 0 <= time_low < 1 << 32:
                raise ValueError("field 1 out of range (need a 32-bit value)")
            if not 0 <= time_mid < 1 << 16:
                raise ValueError("field 2 out of range (need a 16-bit value)")
            if not 0 <= time_hi_version < 1 << 16:
                raise ValueError("field 3 out of range (need a 16-bit value)")
            if not 0 <= clock_seq_hi_variant < 1 << 8:
                raise ValueError("field 4 out of range (need an 8-bit value)")
            if not 0 <= clock_seq_low < 1 << 8:
                raise ValueError("field 5 out of range (need an 8-bit value)")
            if not 0 <= node < 1 << 48:
                raise ValueError("field 6 out of range (need a 48-bit value)")
            clock_seq = (clock_seq_hi_variant << 8) | clock_seq_low
            int = (
                (time_low << 96)
                | (time_mid << 80)
                | (time_hi_version << 64)
                | (clock_seq << 48)
                | node
            )
        if not 0 <= int < 1 << 128:
            raise ValueError("int is out of range (need a 128-bit value)")
        if version is not None:
            if not 1 <= version <= 5:
                raise ValueError("illegal version number")
            int = int & ~(0xC000 << 48)
            int = int | (0x8000 << 48)
            int = int & ~(0xF000 << 64)
            int = int | (version << 76)
        self.int = int
        self.hex = "%032x" % int
        h = self.hex
        self.bytes = _bytes.fromhex(h)
        self.urn = (
            "urn:uuid:" + h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
        )
        self.time_low = int >> 96
        self.time_mid = (int >> 80) & 0xFFFF
        self.time_hi_version = (int >> 64) & 0xFFFF
        self.clock_seq_hi_variant = (int >> 56) & 0xFF
        self.clock_seq_low = (int >> 48) & 0xFF
        self.node = int & 0xFFFFFFFFFFFF
        self.fields = (
            self.time_low,
            self.time_mid,
            self.time_hi_version,
            self.clock_seq_hi_variant,
            self.clock_seq_low,
            self.node,
        )
        self.time = ((self.time_hi_version & 0x0FFF) << 48) | (self.time_mid << 32) | self.time_low
        self.clock_seq = ((self.clock_seq_hi_variant & 0x3F) << 8) | self.clock_seq_low
        if not int & (0x8000 << 48):
            self.variant = RESERVED_NCS
        elif not int & (0x4000 << 48):
            self.variant = RFC_4122
        elif not int & (0x2000 << 48):
            self.variant = RESERVED_MICROSOFT
        else:
            self.variant = RESERVED_FUTURE
        self.version = (int >> 76) & 0xF if self.variant == RFC_4122 else None

    def __str__(self):
        return self.urn[9:]

    def __repr__(self):
        return "UUID('%s')" % self.urn[9:]

    def __eq__(self, other):
        if isinstance(other, UUID):
            return self.int == other.int
        return NotImplemented

    def __ne__(self, other):
        if isinstance(other, UUID):
            return self.int != other.int
        return NotImplemented

    def __hash__(self):
        return hash(self.int)

    def __int__(self):
        return self.int


def uuid4():
    return UUID(int=random.getrandbits(128), version=4)


def _name_bytes(name):
    return name.encode("utf-8") if isinstance(name, str) else name


def uuid3(namespace, name):
    digest = hashlib.md5(namespace.bytes + _name_bytes(name)).digest()
    return UUID(bytes=digest[:16], version=3)


def uuid5(namespace, name):
    digest = hashlib.sha1(namespace.bytes + _name_bytes(name)).digest()
    return UUID(bytes=digest[:16], version=5)


NAMESPACE_DNS = UUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8")
NAMESPACE_URL = UUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8")
NAMESPACE_OID = UUID("6ba7b812-9dad-11d1-80b4-00c04fd430c8")
NAMESPACE_X500 = UUID("6ba7b814-9dad-11d1-80b4-00c04fd430c8")
