"""The hand-written fast paths of the event model give exactly what the generic code gives."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.model import (
    EVENT_ID_NAMESPACE,
    AgentConversationsObserved,
    AgentGroupObserved,
    AgentStateChanged,
    Event,
    deterministic_event_id,
    new_agent_state_changed,
    to_millis,
)
from connector.serde.codec import EventSerializer
from connector.sources.base import STATE_CHANGED_FIELDS
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


@pytest.mark.parametrize("cls", [AgentStateChanged, AgentGroupObserved, AgentConversationsObserved])
def test_the_quick_init_keeps_the_dataclass_contract(cls: type[Event]) -> None:
    """Same parameters and defaults as the generated ``__init__``, and the instances stay frozen."""
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    parameters = list(inspect.signature(cls).parameters.values())
    assert [p.name for p in parameters] == [f.name for f in fields]
    assert [p.default for p in parameters] == [inspect.Parameter.empty if f.default is dataclasses.MISSING
                                               else f.default for f in fields]
    assert all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in parameters)


@settings(max_examples=50, deadline=None)
@given(state_changes)
def test_a_quickly_built_event_is_the_same_event_and_immutable(event: AgentStateChanged) -> None:
    values = [getattr(event, f.name) for f in dataclasses.fields(event)]
    again = AgentStateChanged(*values)
    assert again == event and hash(again) == hash(event)
    assert dataclasses.replace(event, agent_id="other").agent_id == "other"
    with pytest.raises(dataclasses.FrozenInstanceError):
        again.agent_id = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        AgentStateChanged(*values[:3])  # type: ignore[call-arg]


def test_state_changed_passes_the_fields_in_the_class_order() -> None:
    """``StreamBase.state_changed`` builds the event by position: the order must be the dataclass's."""
    from connector.sources.base import STATE_CHANGED_FIELDS
    assert tuple(f.name for f in dataclasses.fields(AgentStateChanged)) == STATE_CHANGED_FIELDS
    assert tuple(inspect.signature(AgentStateChanged).parameters) == STATE_CHANGED_FIELDS


@settings(max_examples=300, deadline=None)
@given(st.datetimes(timezones=st.timezones()))
def test_to_millis_is_the_floor_of_the_microseconds_in_every_zone(moment: datetime) -> None:
    """``to_millis`` floor-divides by a millisecond in C: the same as days, seconds and microseconds added up."""
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    assert to_millis(moment) == (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
    with pytest.raises(ValueError):
        to_millis(moment.replace(tzinfo=None))


@settings(max_examples=200, deadline=None)
@given(state_changes)
def test_the_quick_factory_builds_the_very_event_the_class_builds(event: AgentStateChanged) -> None:
    """``new_agent_state_changed`` (an unfrozen twin filled, then made an ``AgentStateChanged``) gives the
    same class, fields, equality, hash and immutability as the constructor, and pickles the same."""
    values = [getattr(event, name) for name in STATE_CHANGED_FIELDS]
    built = new_agent_state_changed(*values)
    assert type(built) is AgentStateChanged and built == AgentStateChanged(*values) == event
    assert hash(built) == hash(event) and repr(built) == repr(event)
    assert pickle.loads(pickle.dumps(built)) == event and isinstance(built, Event)
    assert dataclasses.replace(built, agent_id="other") == dataclasses.replace(event, agent_id="other")
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.agent_id = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        new_agent_state_changed(*values[:3])
    assert EventSerializer().serialize("t", built) == EventSerializer().serialize("t", event)
