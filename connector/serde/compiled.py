"""Avro binary encoding of our flat event records, compiled once per schema into plain Python.

``fastavro.schemaless_writer`` interprets the schema on every call; for our records (strings,
ints, longs, enums, ``["null", X]`` unions, arrays and maps of strings) that interpretation
cost more than the encoding itself. ``compile_record`` turns a record schema into one
function per field, and repeated strings (vendor, tenant, source, states, cursors) are encoded
once and cached. The output is byte-for-byte fastavro's (checked in tests/unit); a schema
using anything else is not compiled (``None``) and fastavro encodes it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["Encoder", "compile_record"]

Encoder = Callable[[Mapping[str, Any]], bytes]
_Field = Callable[[Any, list[bytes]], None]
_SMALL = [bytes([n]) for n in range(128)]
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
_CACHE_LIMIT = 4096


class Unsupported(Exception):
    """The schema uses a type this compiler does not handle: fastavro encodes it."""


def _varint(value: int) -> bytes:
    """A zig-zag encoded long."""
    n = (value << 1) ^ (value >> 63)
    if n < 128:
        return _SMALL[n]
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _integer(low: int, high: int) -> _Field:
    def write(value: Any, out: list[bytes]) -> None:
        if type(value) is not int or not low <= value <= high:  # bool is refused too
            raise ValueError(f"{value!r} is not an Avro integer in [{low}, {high}]")
        out.append(_varint(value))
    return write


def _string() -> _Field:
    cache: dict[str, bytes] = {}

    def write(value: Any, out: list[bytes]) -> None:
        encoded = cache.get(value)
        if encoded is None:
            if not isinstance(value, str):
                raise ValueError(f"{value!r} is not an Avro string")
            raw = value.encode()
            encoded = _varint(len(raw)) + raw
            if len(cache) >= _CACHE_LIMIT:
                cache.clear()
            cache[value] = encoded
        out.append(encoded)
    return write


def _enum(symbols: list[str]) -> _Field:
    index = {symbol: _varint(n) for n, symbol in enumerate(symbols)}

    def write(value: Any, out: list[bytes]) -> None:
        try:
            out.append(index[value])
        except (KeyError, TypeError):
            raise ValueError(f"{value!r} is not one of the symbols {symbols}") from None
    return write


def _nullable(inner: _Field, null_first: bool) -> _Field:
    null_tag, value_tag = (_SMALL[0], _varint(1)) if null_first else (_varint(1), _SMALL[0])

    def write(value: Any, out: list[bytes]) -> None:
        if value is None:
            out.append(null_tag)
        else:
            out.append(value_tag)
            inner(value, out)
    return write


def _array(items: _Field) -> _Field:
    def write(value: Any, out: list[bytes]) -> None:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{value!r} is not an Avro array")
        if value:
            out.append(_varint(len(value)))
            for item in value:
                items(item, out)
        out.append(_SMALL[0])
    return write


def _map(values: _Field) -> _Field:
    keys = _string()

    def write(value: Any, out: list[bytes]) -> None:
        if not isinstance(value, Mapping):
            raise ValueError(f"{value!r} is not an Avro map")
        if value:
            out.append(_varint(len(value)))
            for key, item in value.items():
                keys(key, out)
                values(item, out)
        out.append(_SMALL[0])
    return write


def _type(schema: Any, named: dict[str, list[str]], namespace: str) -> _Field:
    if isinstance(schema, str):
        if schema == "string":
            return _string()
        if schema == "long":
            return _integer(_LONG_MIN, _LONG_MAX)
        if schema == "int":
            return _integer(_INT_MIN, _INT_MAX)
        symbols = named.get(schema) or named.get(f"{namespace}.{schema}")
        if symbols is not None:
            return _enum(symbols)
        raise Unsupported(schema)
    if isinstance(schema, list):
        if len(schema) == 2 and "null" in schema:
            other = schema[1] if schema[0] == "null" else schema[0]
            return _nullable(_type(other, named, namespace), schema[0] == "null")
        raise Unsupported(str(schema))
    if isinstance(schema, dict):
        kind = schema.get("type")
        if kind in ("long", "int", "string") and set(schema) <= {"type", "logicalType", "doc"}:
            return _type(kind, named, namespace)
        if kind == "enum":
            name = schema["name"] if "." in schema["name"] else f"{schema.get('namespace', namespace)}.{schema['name']}"
            named[name] = list(schema["symbols"])
            return _enum(named[name])
        if kind == "array":
            return _array(_type(schema["items"], named, namespace))
        if kind == "map":
            return _map(_type(schema["values"], named, namespace))
    raise Unsupported(str(schema))


def compile_record(schema: Mapping[str, Any]) -> Encoder | None:
    """An encoder of records of this (flat) record schema, or None when it uses other types."""
    if schema.get("type") != "record":
        return None
    namespace = str(schema.get("namespace", ""))
    named: dict[str, list[str]] = {}
    try:
        fields = [(f["name"], _type(f["type"], named, namespace), "default" in f, f.get("default"))
                  for f in schema["fields"]]
    except (Unsupported, KeyError, TypeError):
        return None

    def encode(record: Mapping[str, Any]) -> bytes:
        out: list[bytes] = []
        for name, write, has_default, default in fields:
            value = record[name] if not has_default else record.get(name, default)
            write(value, out)
        return b"".join(out)
    return encode
