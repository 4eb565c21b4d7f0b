"""The compiled Avro encoder writes exactly fastavro's bytes for every event type, and refuses bad values."""

from __future__ import annotations

import io

import fastavro
import pytest
from hypothesis import given, settings

from connector.model import Event
from connector.schemas import load_schema
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
