"""Avro binary encoding of our flat event records, compiled once per schema into plain Python.

``fastavro.schemaless_writer`` interprets the schema on every call; for our records (strings,
ints, longs, enums, ``["null", X]`` unions, arrays and maps of strings) that interpretation
cost more than the encoding itself. ``compile_record`` turns each field into a function from
its value to its bytes, and the record into one generated expression that joins them: no loop
over the fields, no call per field where a cache answers. Strings, enum symbols, longs and
nullable values of those are encoded once and cached (vendor, tenant, source, states, cursors
and a page's ``ingested_at`` repeat). Given the event class's conversions, the encoder reads
the event's attributes itself (no ``as_avro`` dict per event). The output is byte-for-byte
fastavro's (checked in tests/unit); a schema using anything else is not compiled (``None``)
and fastavro encodes it.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Collection, Mapping
from typing import Any, NamedTuple

__all__ = ["Encoder", "compile_record"]

Encoder = Callable[[Any], bytes]
_Write = Callable[[Any], bytes]
_SMALL = [bytes([n]) for n in range(128)]
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
_CACHE_LIMIT = 4096


class _Field(NamedTuple):
    """A field's encoder: ``write`` (value -> bytes), the cache ``write`` fills (asked first), and
    the one type whose values (besides None) the cache may be asked for: ``True`` and ``1.0`` equal
    ``1`` as dict keys, but an Avro long must refuse them."""

    write: _Write
    cache: dict[Any, bytes] | None = None
    exact: type | None = None
    #: an uncached string (or ``["null", "string"]``): its branch tag, and the null branch's bytes
    #: (None when not nullable), so the generated code writes a short one without a call
    text: tuple[bytes, bytes | None] | None = None
    #: an array: an empty one (the usual ``skills``) is a zero byte, written without a call
    empty: bool = False
    #: a cached ``["null", X]``: the null branch's bytes, written without a lookup (the usual reason, queue)
    null: bytes | None = None


class Unsupported(Exception):
    """The schema uses a type this compiler does not handle: fastavro encodes it."""


def _remember(cache: dict[Any, bytes], value: Any, encoded: bytes) -> bytes:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[value] = encoded
    return encoded


def _varint(value: int) -> bytes:
    """A zig-zag encoded long."""
    n = (value << 1) ^ (value >> 63)
    if n < 128:
        return _SMALL[n]
    if n < 16384:
        return bytes(((n & 0x7F) | 0x80, n >> 7))
    # past two bytes (epoch ms are six): the two low bytes from a table, the rest remembered by
    # value (it changes every 16 s of a timestamp)
    return _LOW[n & 0x3FFF] + (_HIGH.get(n >> 14) or _high(n >> 14))


#: the first two bytes of every varint longer than two bytes, by its low 14 bits (arithmetic on a
#: six-byte int allocates per operation: the table halves a timestamp's encoding)
_LOW = [bytes(((n & 0x7F) | 0x80, (n >> 7) | 0x80)) for n in range(16384)]
_HIGH: dict[int, bytes] = {}


def _high(key: int) -> bytes:
    """The varint bytes of ``key`` (not zig-zagged: the upper part of a longer varint); remembered."""
    out, n = [], key
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    if len(_HIGH) >= _CACHE_LIMIT:
        _HIGH.clear()
    encoded = _HIGH[key] = bytes(out)
    return encoded


def _integer(low: int, high: int, prefix: bytes = b"", cached: bool = True) -> _Field:
    """Integers, cached by value (asked for exact ints only) unless not ``cached``; ``prefix`` is a
    union's branch tag."""
    cache: dict[Any, bytes] = {}

    def write(value: Any) -> bytes:
        if type(value) is not int or not low <= value <= high:  # bool is refused too
            raise ValueError(f"{value!r} is not an Avro integer in [{low}, {high}]")
        return _remember(cache, value, prefix + _varint(value))

    small = [prefix + one for one in _SMALL]

    def write_once(value: Any) -> bytes:
        """``prefix + _varint(value)`` written out (an epoch-ms timestamp per event: a call less)."""
        if type(value) is not int or not low <= value <= high:
            raise ValueError(f"{value!r} is not an Avro integer in [{low}, {high}]")
        n = (value << 1) ^ (value >> 63)
        if n < 128:
            return small[n]
        if n < 16384:
            return prefix + bytes(((n & 0x7F) | 0x80, n >> 7))
        return prefix + _LOW[n & 0x3FFF] + (_HIGH.get(n >> 14) or _high(n >> 14))
    return _Field(write, cache, int) if cached else _Field(write_once)


def _string(prefix: bytes = b"", cached: bool = True) -> _Field:
    """Strings, cached by value unless not ``cached``; ``prefix`` is a union's branch tag written before each."""
    cache: dict[Any, bytes] = {}

    def write(value: Any) -> bytes:
        if not isinstance(value, str):
            raise ValueError(f"{value!r} is not an Avro string")
        raw = value.encode()
        return _remember(cache, value, prefix + _varint(len(raw)) + raw)

    def write_once(value: Any) -> bytes:
        if not isinstance(value, str):
            raise ValueError(f"{value!r} is not an Avro string")
        raw = value.encode()
        return prefix + _varint(len(raw)) + raw
    return _Field(write, cache) if cached else _Field(write_once, text=(prefix, None))


def _enum(symbols: list[str], prefix: bytes = b"") -> _Field:
    index = {symbol: prefix + _varint(n) for n, symbol in enumerate(symbols)}

    def write(value: Any) -> bytes:
        try:
            return index[value]
        except (KeyError, TypeError):
            raise ValueError(f"{value!r} is not one of the symbols {symbols}") from None
    return _Field(write)  # not cached: an unhashable value must be refused by ``write`` as ValueError


def _nullable(schema: Any, null_first: bool, named: dict[str, list[str]], namespace: str,
              cached: bool = True) -> _Field:
    """``["null", X]``: a cached X carries the branch tag in its cached bytes, and None is cached too."""
    null_tag, value_tag = (_SMALL[0], _varint(1)) if null_first else (_varint(1), _SMALL[0])
    kind = _plain_kind(schema)
    if kind is not None and not cached:
        once = _string(value_tag, False) if kind == "string" else _integer(*_RANGES[kind], value_tag, False)
        write_once = once.write

        def write_tagged(value: Any) -> bytes:
            return null_tag if value is None else write_once(value)
        return _Field(write_tagged, text=(value_tag, null_tag) if kind == "string" else None)
    if kind is not None:
        inner = _string(value_tag) if kind == "string" else _integer(*_RANGES[kind], value_tag)
        assert inner.cache is not None
        inner.cache[None] = null_tag  # the usual answer; ``write`` answers it once the cache is cleared
        write = inner.write

        def write_cached(value: Any) -> bytes:
            return null_tag if value is None else write(value)
        return _Field(write_cached, inner.cache, inner.exact, null=null_tag)
    symbols = (named.get(schema) or named.get(f"{namespace}.{schema}")) if isinstance(schema, str) else None
    if symbols is not None:  # a named enum: the branch tag goes into each symbol's bytes
        symbol = _enum(symbols, value_tag).write

        def write_symbol(value: Any) -> bytes:
            return null_tag if value is None else symbol(value)
        return _Field(write_symbol)
    other = _cached(_type(schema, named, namespace))

    def write_value(value: Any) -> bytes:
        return null_tag if value is None else value_tag + other(value)
    return _Field(write_value)


_RANGES = {"long": (_LONG_MIN, _LONG_MAX), "int": (_INT_MIN, _INT_MAX)}


def _plain_kind(schema: Any) -> str | None:
    """``string``, ``long`` or ``int`` when the schema is one of those (a logical type is only a hint)."""
    if isinstance(schema, dict) and set(schema) <= {"type", "logicalType", "doc"}:
        schema = schema.get("type")
    return schema if schema in ("string", "long", "int") else None


def _cached(field: _Field) -> _Write:
    """A field's encoder that asks its cache first (for values inside unions, arrays and maps)."""
    write, cache, exact = field.write, field.cache, field.exact
    if cache is None:
        return write
    lookup = cache.get

    def cached(value: Any) -> bytes:
        if exact is not None and type(value) is not exact and value is not None:
            return write(value)
        return lookup(value) or write(value)
    return cached


def _array(items: _Write) -> _Field:
    def write(value: Any) -> bytes:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{value!r} is not an Avro array")
        if not value:
            return _SMALL[0]
        return b"".join([_varint(len(value)), *[items(item) for item in value], _SMALL[0]])
    return _Field(write, empty=True)


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
    return _Field(write)


def _type(schema: Any, named: dict[str, list[str]], namespace: str, cached: bool = True) -> _Field:
    """A type's encoder; ``cached=False`` (a field whose values are unique) remembers no values."""
    if isinstance(schema, str):
        if schema == "string":
            return _string(cached=cached)
        if schema == "long":
            return _integer(_LONG_MIN, _LONG_MAX, cached=cached)
        if schema == "int":
            return _integer(_INT_MIN, _INT_MAX, cached=cached)
        symbols = named.get(schema) or named.get(f"{namespace}.{schema}")
        if symbols is not None:
            return _enum(symbols)
        raise Unsupported(schema)
    if isinstance(schema, list):
        if len(schema) == 2 and "null" in schema:
            other = schema[1] if schema[0] == "null" else schema[0]
            return _nullable(other, schema[0] == "null", named, namespace, cached)
        raise Unsupported(str(schema))
    if isinstance(schema, dict):
        kind = schema.get("type")
        if kind in ("long", "int", "string") and set(schema) <= {"type", "logicalType", "doc"}:
            return _type(kind, named, namespace, cached)
        if kind == "enum":
            name = schema["name"] if "." in schema["name"] else f"{schema.get('namespace', namespace)}.{schema['name']}"
            named[name] = list(schema["symbols"])
            return _enum(named[name])
        if kind == "array":
            return _array(_cached(_type(schema["items"], named, namespace)))
        if kind == "map":
            return _map(_cached(_type(schema["values"], named, namespace)))
    raise Unsupported(str(schema))


def compile_record(schema: Mapping[str, Any], conversions: Mapping[str, Callable[[Any], Any] | None] | None = None,
                   prefix: bytes = b"", unique: Collection[str] = (),
                   by_value: Mapping[str, type] | None = None) -> Encoder | None:
    """An encoder of records of this (flat) record schema, or None when it uses other types.

    Without ``conversions`` it encodes a record dict (``as_avro``'s). With them it encodes an
    event object: each field is the attribute of its name, through its conversion when there
    is one and the value is not None (what ``Event.as_avro`` does); a schema field the object
    does not have takes its default. ``prefix`` (a wire-format header) starts every output.
    The fields named in ``unique`` (values that never repeat, such as event ids) are not cached:
    remembering them would only fill and clear a cache that is never hit. A field named in
    ``by_value`` (with a conversion) has its bytes cached by the attribute itself when it is exactly
    of the type given, so a repeated value (a page's ``ingested_at``, a state) is not converted
    again: only for conversions whose result depends on nothing but the value's equality.
    """
    if schema.get("type") != "record":
        return None
    namespace = str(schema.get("namespace", ""))
    named: dict[str, list[str]] = {}
    try:
        fields = [(str(f["name"]), _type(f["type"], named, namespace, f["name"] not in unique), "default" in f,
                   f.get("default"))
                  for f in schema["fields"]]
    except (Unsupported, KeyError, TypeError):
        return None
    return _generate(fields, conversions, prefix, by_value or {})


def _read(n: int, name: str, has_default: bool, conversions: Mapping[str, Any] | None,
          scope: dict[str, Any]) -> str:
    """The expression that reads field ``n`` from ``r`` (a dict, or an object given conversions)."""
    if conversions is None:
        return f"r.get({name!r}, D{n})" if has_default else f"r[{name!r}]"
    if name not in conversions:
        if not has_default:
            raise Unsupported(name)
        return f"D{n}"
    if not name.isidentifier() or keyword.iskeyword(name):
        raise Unsupported(name)
    convert = conversions[name]
    if convert is None:
        return f"r.{name}"
    scope[f"X{n}"] = convert
    return f"(None if (a{n} := r.{name}) is None else X{n}(a{n}))"


def _by_value(field: _Field, convert: Callable[[Any], Any], kind: type, remembered: dict[Any, bytes]) -> _Write:
    """A converted field's bytes as the generated expression gives them, remembered by the
    unconverted value when it is exactly of type ``kind``."""
    write, cache, exact = field.write, field.cache, field.exact

    def encode(value: Any) -> bytes:
        converted = None if value is None else convert(value)
        if cache is not None and (exact is None or type(converted) is exact or converted is None):
            encoded = cache.get(converted) or write(converted)
        else:
            encoded = write(converted)
        if type(value) is kind or value is None:  # None's bytes (a null branch) depend on nothing else
            _remember(remembered, value, encoded)
        return encoded
    return encode


def _generate(fields: list[tuple[str, _Field, bool, Any]], conversions: Mapping[str, Any] | None,
              prefix: bytes, by_value: Mapping[str, type]) -> Encoder | None:
    """One function joining every field's bytes, written out: ``C0.get(v0 := r["a"]) or W0(v0)`` per
    cached field (the lookup guarded by the type the cache may be asked for), ``W1(r["b"])`` otherwise."""
    scope: dict[str, Any] = {"P": prefix, "E": (), "Z": _SMALL[0]}
    parts = ["P"] if prefix else []
    for n, (name, field, has_default, default) in enumerate(fields):
        scope[f"W{n}"], scope[f"C{n}"], scope[f"D{n}"], scope[f"T{n}"] = field.write, field.cache, default, field.exact
        try:
            read = _read(n, name, has_default, conversions, scope)
        except Unsupported:
            return None
        convert = conversions.get(name) if conversions is not None else None
        if convert is not None and name in by_value and name.isidentifier() and not keyword.iskeyword(name):
            remembered: dict[Any, bytes] = {}
            scope[f"R{n}"], scope[f"K{n}"] = remembered, by_value[name]
            scope[f"Y{n}"] = _by_value(field, convert, by_value[name], remembered)
            parts.append(f"(R{n}.get(a{n}) if type(a{n} := r.{name}) is K{n} or a{n} is None else None) or Y{n}(a{n})")
        elif field.text is not None:
            parts.append(_inline_text(n, read, *field.text, scope))
        elif field.empty and convert in (list, tuple):  # an empty tuple is the one (): a zero byte, no list made
            parts.append(f"(Z if (a{n} := r.{name}) is E else W{n}(None if a{n} is None else X{n}(a{n})))")
        elif field.cache is None:
            parts.append(f"W{n}({read})")
        elif field.null is not None:
            scope[f"N{n}"] = field.null
            lookup = f"C{n}.get(v{n})" if field.exact is None else f"(C{n}.get(v{n}) if type(v{n}) is T{n} else None)"
            parts.append(f"(N{n} if (v{n} := {read}) is None else {lookup} or W{n}(v{n}))")
        elif field.exact is None:
            parts.append(f"C{n}.get(v{n} := {read}) or W{n}(v{n})")
        else:
            parts.append(f"(C{n}.get(v{n}) if type(v{n} := {read}) is T{n} or v{n} is None else None) or W{n}(v{n})")
    source = "def encode(r):\n    return b''.join((\n        " + ",\n        ".join(parts) + ",\n    ))\n"
    exec(compile(source, "<compiled avro encoder>", "exec"), scope)  # our own code, from the schema's field names
    encoder: Encoder = scope["encode"]
    return encoder


#: strings shorter than this (in UTF-8 bytes) have their tag and length bytes looked up (``_tagged_lengths``)
_TEXT_LIMIT = 8192
_LENGTHS: dict[bytes, list[bytes]] = {}


def _tagged_lengths(tag: bytes) -> list[bytes]:
    """``tag + _varint(n)`` for every length below ``_TEXT_LIMIT``; one table per tag (there are two)."""
    table = _LENGTHS.get(tag)
    if table is None:
        table = _LENGTHS[tag] = [tag + _varint(n) for n in range(_TEXT_LIMIT)]
    return table


def _inline_text(n: int, read: str, tag: bytes, null: bytes | None, scope: dict[str, Any]) -> str:
    """An uncached string field as an expression: tag and length from a table, then the UTF-8 bytes;
    anything else (not exactly a str, too long) goes to the field's ``write``, which refuses or writes it."""
    scope[f"Q{n}"], scope[f"N{n}"] = _tagged_lengths(tag), null
    value = f"v{n} := {read}" if null is None else f"v{n}"
    short = f"type({value}) is str and len(e{n} := v{n}.encode()) < {_TEXT_LIMIT}"
    text = f"Q{n}[len(e{n})] + e{n} if {short} else W{n}(v{n})"
    return f"({text})" if null is None else f"(N{n} if (v{n} := {read}) is None else {text})"
