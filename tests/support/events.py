"""Hypothesis strategies and builders of our events, for serde and processor tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from connector.model import (
    AgentConversationsObserved,
    AgentGroupObserved,
    AgentState,
    AgentStateChanged,
    DeadLetter,
    deterministic_event_id,
)

# millisecond precision: what timestamp-millis keeps
moments = st.integers(min_value=0, max_value=4_102_444_800_000).map(
    lambda ms: datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
)
texts = st.text(max_size=40)
names = st.text(alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs")), min_size=1, max_size=30)
states = st.sampled_from(list(AgentState))
skills = st.lists(names, max_size=4).map(lambda s: tuple(sorted(set(s))))

state_changes = st.builds(
    AgentStateChanged,
    event_id=st.uuids().map(str), vendor=names, tenant=names, source=names, agent_id=names,
    state=states, previous_state=st.none() | states, vendor_state=texts, occurred_at=moments,
    source_cursor=texts, reason=st.none() | texts, campaign_id=st.none() | names,
    campaign_name=st.none() | texts, queue_id=st.none() | names, skills=skills,
    vendor_record_id=st.none() | names, ingested_at=st.none() | moments,
)
group_observations = st.builds(
    AgentGroupObserved,
    event_id=st.uuids().map(str), vendor=names, tenant=names, source=names, group_key=names,
    observed_at=moments, available_agents=st.integers(0, 100_000), logged_in_agents=st.integers(0, 100_000),
    source_cursor=texts, campaign_id=st.none() | names, queue_id=st.none() | names,
    user_id=st.none() | names, skills=skills,
)
conversation_observations = st.builds(
    AgentConversationsObserved,
    event_id=st.uuids().map(str), vendor=names, tenant=names, source=names, agent_label=st.none() | names,
    window_start=moments, window_end=moments, conversations=st.integers(0, 10_000),
    window_total=st.integers(0, 100_000), source_cursor=texts,
)
dead_letters = st.builds(
    DeadLetter,
    event_id=st.uuids().map(str), vendor=names, tenant=names, source=names, error=texts, error_kind=names,
    raw_record=texts, source_cursor=texts, failed_at=moments, location=texts,
    extra=st.dictionaries(names, texts, max_size=3),
)
any_event = st.one_of(state_changes, group_observations, conversation_observations, dead_letters)


def state_change(agent_id: str = "agent-1", state: AgentState = AgentState.AVAILABLE, *,
                 at: datetime | None = None, tenant: str = "acme", vendor: str = "vonage",
                 previous: AgentState | None = None, record: str = "r1") -> AgentStateChanged:
    """A concrete event for tests that need one, with a deterministic id."""
    return AgentStateChanged(
        event_id=deterministic_event_id(vendor, tenant, agent_id, record),
        vendor=vendor, tenant=tenant, source=f"{vendor}-test", agent_id=agent_id, state=state,
        previous_state=previous, vendor_state=state.value.title(), reason=None,
        occurred_at=at or datetime(2025, 5, 28, 11, 57, 17, tzinfo=UTC), source_cursor='{"page":1}',
        campaign_id="1234", skills=("english",),
    )
