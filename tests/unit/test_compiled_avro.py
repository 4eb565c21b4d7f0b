"""The compiled Avro encoder writes exactly fastavro's bytes for every event type, and refuses bad values."""

from __future__ import annotations

import dataclasses
import io

import fastavro
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.model import Event
from connector.schemas import load_schema
from connector.serde.codec import SINGLE_OBJECT_MAGIC, EventSerializer
from connector.serde.compiled import compile_record
from tests.support.events import any_event, state_change


def fastavro_bytes(event: Event) -> bytes:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(load_schema(event.schema_name).source), event.as_avro())
    return buffer.getvalue()


@settings(max_examples=300, deadline=None)
@given(any_event)
def test_compiled_bytes_are_fastavros(event: Event) -> None:
    encode = compile_record(load_schema(event.schema_name).source)
    assert encode is not None
    assert encode(event.as_avro()) == fastavro_bytes(event)


def test_every_event_schema_compiles() -> None:
    for name in ("AgentStateChanged", "AgentGroupObserved", "AgentConversationsObserved", "DeadLetter"):
        assert compile_record(load_schema(name).source) is not None


def test_bad_values_are_refused_not_written() -> None:
    encode = compile_record(load_schema("AgentStateChanged").source)
    assert encode is not None
    good = state_change().as_avro()
    for field, bad in (("state", "ASLEEP"), ("vendor", None), ("occurred_at", 2**64), ("skills", "a")):
        with pytest.raises(ValueError):
            encode({**good, field: bad})


def test_a_schema_with_other_types_is_left_to_fastavro() -> None:
    assert compile_record({"type": "record", "name": "R", "fields": [{"name": "x", "type": "double"}]}) is None


def test_cached_values_stay_right_past_the_cache_limit() -> None:
    """Strings and nullable strings are cached by value: a full cache is cleared, never wrong."""
    encode = compile_record(load_schema("AgentStateChanged").source)
    assert encode is not None
    for n in range(10_000):  # more than the cache keeps: it is cleared on the way
        event = dataclasses.replace(state_change(agent_id=f"agent-{n % 5000}"),
                                    reason=None if n % 3 else f"r{n % 4500}",
                                    vendor_record_id=None if n % 2 else f"rec-{n}")
        if n % 997 == 0 or n > 9_990:
            assert encode(event.as_avro()) == fastavro_bytes(event)
        else:
            encode(event.as_avro())


def test_a_nested_nullable_and_map_encode_as_fastavro_does() -> None:
    schema = {"type": "record", "name": "R", "fields": [
        {"name": "a", "type": ["string", "null"]}, {"name": "b", "type": ["null", "long"], "default": None},
        {"name": "m", "type": {"type": "map", "values": "string"}},
        {"name": "e", "type": ["null", {"type": "enum", "name": "E", "symbols": ["X", "Y"]}]},
    ]}
    encode = compile_record(schema)
    assert encode is not None
    parsed = fastavro.parse_schema(schema)
    for record in ({"a": "x", "b": None, "m": {}, "e": None}, {"a": None, "b": -5, "m": {"k": "v", "j": ""}, "e": "Y"},
                   {"a": "x", "m": {"k": "v"}, "e": "X"}):
        buffer = io.BytesIO()
        fastavro.schemaless_writer(buffer, parsed, record)
        assert encode(record) == buffer.getvalue()
    with pytest.raises(ValueError):
        encode({"a": "x", "m": {}, "e": "Z"})


serializer = EventSerializer()


@settings(max_examples=300, deadline=None)
@given(st.lists(any_event, min_size=1, max_size=4))
def test_events_encoded_from_their_attributes_are_fastavros_bytes(events: list[Event]) -> None:
    """``serialize`` reads the event itself (no ``as_avro`` dict): the same bytes, header first.
    One serializer for every example: what its caches hold must never answer for another value."""
    for event in events:
        payload = serializer.serialize("t", event)
        assert payload == SINGLE_OBJECT_MAGIC + load_schema(event.schema_name).fingerprint + fastavro_bytes(event)


def test_cached_longs_still_refuse_what_is_not_an_int() -> None:
    encode = compile_record(load_schema("AgentStateChanged").source)
    assert encode is not None
    good = state_change().as_avro()
    encode({**good, "occurred_at": 1, "ingested_at": 1})  # 1 is cached now, for both fields
    for bad in (True, 1.0):
        with pytest.raises(ValueError):
            encode({**good, "occurred_at": bad})
        with pytest.raises(ValueError):
            encode({**good, "ingested_at": bad})
    assert encode({**good, "ingested_at": None}) == fastavro_bytes(
        dataclasses.replace(state_change(), ingested_at=None))


def test_an_object_without_a_schema_field_gets_its_default() -> None:
    schema = {"type": "record", "name": "R", "fields": [
        {"name": "a", "type": "string"}, {"name": "b", "type": ["null", "string"], "default": None}]}
    encode = compile_record(schema, {"a": str.upper}, b"H")
    assert encode is not None

    class Thing:
        a = "x"
    assert encode(Thing()) == b"H" + b"\x02X" + b"\x00"
    assert compile_record(schema, {"b": None}) is None  # "a" has no default: left to as_avro


@settings(max_examples=200, deadline=None)
@given(any_event)
def test_fields_named_unique_are_not_cached_and_still_fastavros(event: Event) -> None:
    """``unique`` fields (event ids, record ids, times) skip the cache; their bytes are the same."""
    encode = compile_record(load_schema(event.schema_name).source, None, b"",
                            {"event_id", "vendor_record_id", "occurred_at", "ingested_at", "reason"})
    assert encode is not None
    assert encode(event.as_avro()) == fastavro_bytes(event)


def test_unique_fields_still_refuse_bad_values() -> None:
    encode = compile_record(load_schema("AgentStateChanged").source, None, b"",
                            {"event_id", "vendor_record_id", "occurred_at", "ingested_at"})
    assert encode is not None
    good = state_change().as_avro()
    for field, bad in (("event_id", None), ("vendor_record_id", 3), ("occurred_at", True), ("occurred_at", 2**63),
                       ("ingested_at", 1.0)):
        with pytest.raises(ValueError):
            encode({**good, field: bad})


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_longs_of_every_size_are_fastavros_varints(value: int) -> None:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, "long", value)
    encode = compile_record({"type": "record", "name": "R", "fields": [{"name": "x", "type": "long"}]})
    assert encode is not None
    assert encode({"x": value}) == buffer.getvalue()
    assert encode({"x": value}) == buffer.getvalue()  # cached


def test_values_cached_by_value_give_fastavros_bytes_across_zones_and_refuse_naive_times() -> None:
    """``ingested_at`` and states are cached by the attribute itself: one instant in any zone, a
    state or None all encode as fastavro does; a naive time is still refused, cached or not."""
    from datetime import UTC, datetime, timedelta, timezone

    from connector.model import AgentState
    serializer = EventSerializer()
    at = datetime(2026, 11, 22, 8, 0, 0, 123456, tzinfo=UTC)
    zones = (UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8)))
    for n in range(30):
        event = dataclasses.replace(state_change(), ingested_at=at.astimezone(zones[n % 3]) + timedelta(seconds=n // 3),
                                    state=list(AgentState)[n % 6], previous_state=None if n % 4 == 0 else
                                    list(AgentState)[n % 5])
        assert serializer.serialize("t", event) == (SINGLE_OBJECT_MAGIC + load_schema(event.schema_name).fingerprint
                                                     + fastavro_bytes(event))
    with pytest.raises(ValueError):
        serializer.serialize("t", dataclasses.replace(state_change(), ingested_at=at.replace(tzinfo=None)))


def test_inline_strings_of_every_length_and_kind_are_fastavros() -> None:
    """Uncached strings (event and record ids) are written inline up to the length table's end, and by
    ``write`` past it; non-ASCII, a str subclass, None and a non-string take the same paths as before."""
    from connector.model import AgentState
    from connector.serde.compiled import _TEXT_LIMIT
    serializer = EventSerializer()
    for size in (0, 1, 63, 64, _TEXT_LIMIT - 2, _TEXT_LIMIT - 1, _TEXT_LIMIT, _TEXT_LIMIT + 1, 20_000):
        for text in ("x" * size, ("é" * size)[: size // 2 + 1]):
            event = dataclasses.replace(state_change(), event_id=text, vendor_record_id=text if size % 2 else None)
            assert serializer.serialize("t", event)[10:] == fastavro_bytes(event)
    subclass = dataclasses.replace(state_change(), event_id=AgentState.BUSY, vendor_record_id=AgentState.AWAY)
    assert serializer.serialize("t", subclass)[10:] == fastavro_bytes(subclass)
    for field, bad in (("event_id", None), ("event_id", b"x"), ("vendor_record_id", 3), ("vendor_record_id", b"")):
        with pytest.raises(ValueError):
            serializer.serialize("t", dataclasses.replace(state_change(), **{field: bad}))  # type: ignore[arg-type]


def test_skills_empty_or_not_and_previous_state_none_are_fastavros() -> None:
    """An empty skills tuple is a zero byte without a call; a list, a non-empty tuple or None take ``write``.
    A None previous state is remembered by value like a state: the same bytes after it is cached."""
    serializer = EventSerializer()
    for skills in ((), ("a",), ("b", "c"), (), ["x"], []):
        for previous in (None, None, state_change().state):
            event = dataclasses.replace(state_change(), skills=skills, previous_state=previous)  # type: ignore[arg-type]
            assert serializer.serialize("t", event)[10:] == fastavro_bytes(event)
    for bad in (None, (1,), [2]):
        with pytest.raises(ValueError):
            serializer.serialize("t", dataclasses.replace(state_change(), skills=bad))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        serializer.serialize("t", dataclasses.replace(state_change(), state=None))  # type: ignore[arg-type]


@given(st.integers(min_value=0, max_value=2**62))
def test_unique_longs_around_the_varint_tables_are_fastavros(value: int) -> None:
    """Uncached longs (epoch-ms times) take their two low bytes from a table: every size still fastavro's."""
    schema = {"type": "record", "name": "R", "fields": [{"name": "x", "type": "long"}, {"name": "y", "type": "long"}]}
    encode = compile_record(schema, None, b"", {"x"})
    assert encode is not None
    for n in (value, -value, value % 20_000, -(value % 20_000), 8191, 8192, -8193, 2**63 - 1, -(2**63)):
        buffer = io.BytesIO()
        fastavro.schemaless_writer(buffer, fastavro.parse_schema(schema), {"x": n, "y": n})
        assert encode({"x": n, "y": n}) == buffer.getvalue()
