"""The hand-written fast paths of the event model give exactly what the generic code gives."""

from __future__ import annotations

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from connector.model import EVENT_ID_NAMESPACE, AgentStateChanged, Event, deterministic_event_id
from tests.support.events import state_changes


@settings(max_examples=200, deadline=None)
@given(st.text(), st.text(), st.lists(st.one_of(st.text(), st.integers())))
def test_event_ids_are_uuid5_of_the_joined_key(vendor: str, tenant: str, key: list[object]) -> None:
    name = "\x1f".join([vendor, tenant, *(str(part) for part in key)])
    assert deterministic_event_id(vendor, tenant, *key) == str(uuid.uuid5(EVENT_ID_NAMESPACE, name))


@settings(max_examples=100, deadline=None)
@given(state_changes)
def test_agent_state_changed_as_avro_matches_the_generic_conversion(event: AgentStateChanged) -> None:
    assert event.as_avro() == Event.as_avro(event)
