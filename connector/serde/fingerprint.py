"""CRC-64-AVRO (Rabin) fingerprint, straight from the Avro specification.

Written out rather than borrowed: the Apache ``avro`` Python package (1.12.2) keeps
``{"type": "long"}`` for logical types in its canonical form, which the specification
reduces to ``"long"``, so its fingerprints differ from Java's and fastavro's.
"""

from __future__ import annotations

_EMPTY = 0xC15D213AA4D7A795
_MASK = 0xFFFFFFFFFFFFFFFF


def _table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (_EMPTY & -(fp & 1))
        table.append(fp & _MASK)
    return tuple(table)


_TABLE = _table()


def crc64_avro(data: bytes) -> bytes:
    """Fingerprint of a schema's Parsing Canonical Form, as 8 little-endian bytes."""
    fp = _EMPTY
    for byte in data:
        fp = (fp >> 8) ^ _TABLE[(fp ^ byte) & 0xFF]
    return fp.to_bytes(8, "little")
