"""Avro binary encoding of our flat event records, compiled once per schema into plain Python.

``fastavro.schemaless_writer`` interprets the schema on every call; for our records (strings,
ints, longs, enums, ``["null", X]`` unions, arrays and maps of strings) that interpretation
cost more than the encoding itself. ``compile_record`` turns each field into a function from
its value to its bytes, and the record into one generated expression that joins them: no loop
over the fields, no call per field where a cache answers. Strings, enum symbols and nullable
values of those are encoded once and cached (vendor, tenant, source, states, cursors repeat).
The output is byte-for-byte fastavro's (checked in tests/unit); a schema using anything else
is not compiled (``None``) and fastavro encodes it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["Encoder", "compile_record"]

Encoder = Callable[[Mapping[str, Any]], bytes]
_Write = Callable[[Any], bytes]
#: a field's encoder: the function, and the cache of values it fills (None when it keeps none)
_Field = tuple[_Write, dict[Any, bytes] | None]
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
    def write(value: Any) -> bytes:
        if type(value) is not int or not low <= value <= high:  # bool is refused too
            raise ValueError(f"{value!r} is not an Avro integer in [{low}, {high}]")
        return _varint(value)
    return write, None


def _string(prefix: bytes = b"") -> _Field:
    """Strings, cached by value; ``prefix`` is a union's branch tag written before each."""
    cache: dict[Any, bytes] = {}

    def write(value: Any) -> bytes:
        if not isinstance(value, str):
            raise ValueError(f"{value!r} is not an Avro string")
        raw = value.encode()
        encoded = prefix + _varint(len(raw)) + raw
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[value] = encoded
        return encoded
    return write, cache


def _enum(symbols: list[str], prefix: bytes = b"") -> _Field:
    index = {symbol: prefix + _varint(n) for n, symbol in enumerate(symbols)}

    def write(value: Any) -> bytes:
        try:
            return index[value]
        except (KeyError, TypeError):
            raise ValueError(f"{value!r} is not one of the symbols {symbols}") from None
    return write, None  # not cached: an unhashable value must be refused by ``write`` as ValueError


def _nullable(schema: Any, null_first: bool, named: dict[str, list[str]], namespace: str) -> _Field:
    null_tag, value_tag = (_SMALL[0], _varint(1)) if null_first else (_varint(1), _SMALL[0])
    if schema == "string" or (isinstance(schema, dict) and schema.get("type") == "string"
                              and set(schema) <= {"type", "logicalType", "doc"}):
        write, cache = _string(value_tag)
        assert cache is not None
        cache[None] = null_tag  # the usual answer; ``write_string`` answers it once the cache is cleared

        def write_string(value: Any) -> bytes:
            return null_tag if value is None else write(value)
        return write_string, cache
    symbols = (named.get(schema) or named.get(f"{namespace}.{schema}")) if isinstance(schema, str) else None
    if symbols is not None:  # a named enum: the branch tag goes into each symbol's bytes
        symbol, _ = _enum(symbols, value_tag)

        def write_symbol(value: Any) -> bytes:
            return null_tag if value is None else symbol(value)
        return write_symbol, None
    inner = _cached(_type(schema, named, namespace))

    def write_value(value: Any) -> bytes:
        return null_tag if value is None else value_tag + inner(value)
    return write_value, None


def _cached(field: _Field) -> _Write:
    """A field's encoder that asks its cache first (for values inside unions, arrays and maps)."""
    write, cache = field
    if cache is None:
        return write
    lookup = cache.get

    def cached(value: Any) -> bytes:
        return lookup(value) or write(value)
    return cached


def _array(items: _Write) -> _Field:
    def write(value: Any) -> bytes:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{value!r} is not an Avro array")
        if not value:
            return _SMALL[0]
        return b"".join([_varint(len(value)), *[items(item) for item in value], _SMALL[0]])
    return write, None


def _map(values: _Write) -> _Field:
    keys = _cached(_string())

    def write(value: Any) -> bytes:
        if not isinstance(value, Mapping):
            raise ValueError(f"{value!r} is not an Avro map")
        if not value:
            return _SMALL[0]
        parts = [_varint(len(value))]
        for key, item in value.items():
            parts += (keys(key), values(item))
        parts.append(_SMALL[0])
        return b"".join(parts)
    return write, None


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
            return _nullable(other, schema[0] == "null", named, namespace)
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
            return _array(_cached(_type(schema["items"], named, namespace)))
        if kind == "map":
            return _map(_cached(_type(schema["values"], named, namespace)))
    raise Unsupported(str(schema))


def compile_record(schema: Mapping[str, Any]) -> Encoder | None:
    """An encoder of records of this (flat) record schema, or None when it uses other types."""
    if schema.get("type") != "record":
        return None
    namespace = str(schema.get("namespace", ""))
    named: dict[str, list[str]] = {}
    try:
        fields = [(str(f["name"]), _type(f["type"], named, namespace), "default" in f, f.get("default"))
                  for f in schema["fields"]]
    except (Unsupported, KeyError, TypeError):
        return None
    return _generate(fields)


def _generate(fields: list[tuple[str, _Field, bool, Any]]) -> Encoder:
    """One function joining every field's bytes, written out: ``C0.get(v0 := r["a"]) or W0(v0)`` per
    cached field, ``W1(r["b"])`` otherwise; a field with a default reads ``r.get(name, D1)``."""
    scope: dict[str, Any] = {}
    parts = []
    for n, (name, (write, cache), has_default, default) in enumerate(fields):
        scope[f"W{n}"], scope[f"C{n}"], scope[f"D{n}"] = write, cache, default
        read = f"r.get({name!r}, D{n})" if has_default else f"r[{name!r}]"
        parts.append(f"C{n}.get(v{n} := {read}) or W{n}(v{n})" if cache is not None else f"W{n}({read})")
    source = "def encode(r):\n    return b''.join((\n        " + ",\n        ".join(parts) + ",\n    ))\n"
    exec(compile(source, "<compiled avro encoder>", "exec"), scope)  # our own code, from the schema's field names
    encoder: Encoder = scope["encode"]
    return encoder
