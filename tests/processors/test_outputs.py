"""Output records conform to schemas/AgentAvailability.avsc and AvailabilityAlert.avsc."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import fastavro
import pytest

from connector.model import AgentState
from connector.processors.deltas import GroupDelta, LiveSnapshot
from connector.processors.groups import apply_group_delta, apply_group_observation
from connector.processors.observed import ObservedSnapshot
from connector.processors.outputs import ALERT_SCHEMA, AVAILABILITY_SCHEMA, alert_record, availability_record
from connector.processors.settings import ProcessorSettings
from connector.schemas import load_schema
from tests.processors.harness import BASE_MS

S = ProcessorSettings()
SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def roundtrip(schema_name: str, record: dict[str, Any]) -> dict[str, Any]:
    parsed = load_schema(schema_name).parsed
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, parsed, record)
    buffer.seek(0)
    result = fastavro.schemaless_reader(buffer, parsed, parsed)
    assert isinstance(result, dict)
    return result


def test_availability_and_alert_records_encode_with_their_schemas() -> None:
    group = "acme:*:tenant:all"
    delta = GroupDelta(group, "acme:v1:a", 1, "e1", BASE_MS, BASE_MS, LiveSnapshot(AgentState.BUSY, BASE_MS, "e1",
                       None, None), ())
    update = apply_group_delta(None, {}, delta, S)
    record = apply_group_observation(update.record, group, ObservedSnapshot("o1", "x", "all", BASE_MS, 1, 2))
    availability = availability_record(record, S)
    decoded = roundtrip(AVAILABILITY_SCHEMA, availability)
    assert decoded["vendor"] == "*" and decoded["group_type"] == "tenant" and decoded["group_id"] == "all"
    assert (decoded["logged_in"], decoded["busy"], decoded["health"]) == (1, 1, "UNAVAILABLE")
    assert decoded["utilization"] == 1.0 and decoded["percent_available"] == 0.0
    assert decoded["last_event_id"] == "e1" and decoded["observed_logged_in"] == 2
    assert decoded["updated_at"].timestamp() * 1000 == BASE_MS  # timestamp-millis
    [alert] = update.alerts
    decoded_alert = roundtrip(ALERT_SCHEMA, alert_record(alert))
    assert (decoded_alert["from_status"], decoded_alert["to_status"]) == ("NO_AGENTS", "UNAVAILABLE")
    assert decoded_alert["alert_id"] == alert.alert_id and decoded_alert["sequence"] == 1


@pytest.mark.parametrize("name", ["AgentAvailability", "AvailabilityAlert"])
def test_schemas_document_every_field_and_default_every_optional_one(name: str) -> None:
    source = json.loads((SCHEMAS / f"{name}.avsc").read_text())
    assert source["namespace"] == "agentconnector.events" and source["doc"]
    for field in source["fields"]:
        assert field.get("doc"), field["name"]
        if isinstance(field["type"], list) and "null" in field["type"]:
            assert "default" in field and field["default"] is None, field["name"]
