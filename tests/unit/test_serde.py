"""Serde round trips in both wire formats, format detection, and decoding by Apache avro."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import avro.io
import avro.schema
import fastavro
import pytest
from hypothesis import HealthCheck, given, settings

from connector.model import AgentState, Event, to_millis
from connector.schemas import load_schema, schema_dir
from connector.serde.codec import DecodeError, EventDeserializer, EventSerializer
from connector.serde.fingerprint import crc64_avro
from connector.serde.registry import SchemaRegistryClient, SchemaRegistryError
from tests.support.events import any_event, state_change, state_changes
from tests.support.schema_registry import schema_registry


@settings(max_examples=150, deadline=None)
@given(any_event)
def test_single_object_round_trip(event: Event) -> None:
    payload = EventSerializer().serialize("events", event)
    assert payload[:2] == b"\xc3\x01"
    assert payload[2:10] == load_schema(event.schema_name).fingerprint
    assert EventDeserializer().decode_event(payload) == event


def test_registry_round_trip_and_id_cache() -> None:
    with schema_registry() as (url, state):
        registry = SchemaRegistryClient(url)
        serializer = EventSerializer(registry)
        events = [state_change(agent_id=f"a{i}", record=str(i)) for i in range(20)]
        payloads = [serializer.serialize("agent-state-changed", e) for e in events]
        # one registration for the topic's subject (topic-name strategy), then cached
        assert state.requests.count(("POST", "/subjects/agent-state-changed-value/versions")) == 1
        schema_id = int.from_bytes(payloads[0][1:5], "big")
        assert payloads[0][0] == 0 and schema_id in state.schemas
        # a consumer with its own client fetches the writer schema by id once
        reader = EventDeserializer(SchemaRegistryClient(url))
        assert [reader.decode_event(p) for p in payloads] == events
        assert state.requests.count(("GET", f"/schemas/ids/{schema_id}")) == 1


@pytest.fixture(scope="module")
def registry_url() -> Iterator[str]:
    with schema_registry() as (url, _):
        yield url


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=any_event)
def test_registry_format_property(registry_url: str, event: Event) -> None:
    payload = EventSerializer(SchemaRegistryClient(registry_url)).serialize("t", event)
    assert payload[:1] == b"\x00"
    assert EventDeserializer(SchemaRegistryClient(registry_url)).decode_event(payload) == event


def test_registry_errors_name_the_problem_and_hide_the_password() -> None:
    with schema_registry(username="svc", password="s3cret-pass") as (url, _):
        client = SchemaRegistryClient(url, username="svc", password="wrong-password")
        with pytest.raises(SchemaRegistryError) as caught:
            client.register("t-value", load_schema("AgentStateChanged").text)
        assert "401" in str(caught.value) and "/subjects/t-value/versions" in str(caught.value)
        assert "wrong-password" not in str(caught.value) and "wrong-password" not in repr(client)
        good = SchemaRegistryClient(url, username="svc", password="s3cret-pass")
        assert good.register("t-value", load_schema("AgentStateChanged").text) == 1


def test_registry_payload_without_registry_is_refused_clearly() -> None:
    with schema_registry() as (url, _):
        payload = EventSerializer(SchemaRegistryClient(url)).serialize("t", state_change())
    with pytest.raises(DecodeError, match="no registry URL is configured"):
        EventDeserializer().decode(payload)


@pytest.mark.parametrize("payload, message", [
    (b"", "neither Avro single-object"),
    (b"{\"json\": 1}", "neither Avro single-object"),
    (b"\xc3\x01\x00\x01", "shorter than its 10-byte header"),
    (b"\xc3\x01" + b"\x00" * 8 + b"\x02", "unknown schema fingerprint"),
])
def test_undecodable_payloads_say_why(payload: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        EventDeserializer().decode(payload)


def test_encoder_reuses_one_buffer_per_schema() -> None:
    serializer = EventSerializer()
    first = serializer.serialize("t", state_change(agent_id="a-long-agent-identifier"))
    writer = serializer._writers["agentconnector.events.AgentStateChanged"]
    buffer = writer._buffer
    second = serializer.serialize("t", state_change(agent_id="b"))
    assert writer._buffer is buffer
    assert len(second) < len(first)  # the shorter record was not polluted by the longer one's tail
    assert EventDeserializer().decode_event(second).agent_id == "b"  # type: ignore[attr-defined]


@settings(max_examples=60, deadline=None)
@given(state_changes)
def test_apache_avro_decodes_single_object_payloads(event: Event) -> None:
    """A second, independent Avro implementation reads what we write."""
    payload = EventSerializer().serialize("t", event)
    info = load_schema(event.schema_name)
    schema = avro.schema.parse(json.dumps(info.source))
    decoder = avro.io.BinaryDecoder(io.BytesIO(payload[10:]))
    record = avro.io.DatumReader(schema).read(decoder)
    expected = event.as_avro()
    assert record["event_id"] == expected["event_id"]
    assert record["agent_id"] == expected["agent_id"]
    assert record["state"] == expected["state"]
    assert record["previous_state"] == expected["previous_state"]
    assert record["skills"] == expected["skills"]
    # apache avro turns timestamp-millis into aware datetimes
    assert to_millis(record["occurred_at"]) == expected["occurred_at"]


def test_fingerprint_matches_apache_avro_where_its_canonical_form_follows_the_spec() -> None:
    """Apache avro's Python canonical form keeps {"type":"long"} for logical types (the spec reduces
    it to "long"), so compare on schemas without logical types, plus the spec's own examples."""
    for text in ['"int"', '"string"', '{"type":"enum","name":"AgentState","namespace":"agentconnector.events",'
                 '"symbols":["OFFLINE","AVAILABLE","BUSY","WRAP_UP","AWAY","UNKNOWN"]}']:
        parsed = avro.schema.parse(text)
        assert crc64_avro(parsed.canonical_form.encode()) == parsed.fingerprint("CRC-64-AVRO")
    # the empty input fingerprints to the spec's EMPTY constant, little-endian
    assert crc64_avro(b"") == (0xC15D213AA4D7A795).to_bytes(8, "little")


def test_every_schema_field_has_a_doc_and_a_namespace() -> None:
    for path in sorted(schema_dir().glob("*.avsc")):
        source = json.loads(path.read_text())
        assert source.get("namespace") == "agentconnector.events", path.name
        assert source.get("doc"), path.name
        for field in source["fields"]:
            assert field.get("doc"), f"{path.name}: field {field['name']} has no doc"


def test_state_enum_matches_schema_symbols() -> None:
    state_field = next(f for f in load_schema("AgentStateChanged").source["fields"] if f["name"] == "state")
    assert state_field["type"]["symbols"] == [s.value for s in AgentState]


def test_records_of_an_older_writer_schema_are_resolved_to_todays() -> None:
    """Payloads of today's schema are read without resolution (faster); an older writer's still resolve."""
    from connector.schemas import _info
    from connector.serde.codec import SINGLE_OBJECT_MAGIC

    current = load_schema("agentconnector.events.AgentStateChanged")
    older_source = json.loads(json.dumps(current.source))
    older_source["fields"] = [f for f in older_source["fields"] if f["name"] != "skills"]  # a later addition
    older = _info(older_source)
    event = state_change()
    record = {k: v for k, v in event.as_avro().items() if k != "skills"}
    body = io.BytesIO()
    fastavro.schemaless_writer(body, older.parsed, record)
    deserializer = EventDeserializer()
    deserializer._by_fingerprint[older.fingerprint] = older  # as if it were a released version
    decoded = deserializer.decode(SINGLE_OBJECT_MAGIC + older.fingerprint + body.getvalue())
    assert decoded.schema_name == current.name
    assert decoded.record["skills"] == [] and decoded.record["agent_id"] == event.agent_id  # the default filled in
    today = deserializer.decode(EventSerializer().serialize("t", event))
    assert today.record["skills"] == list(event.skills)
