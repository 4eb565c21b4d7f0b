"""The agent handler: duplicates, out-of-order and too-late events, bounded history, the deltas sent."""

from __future__ import annotations

from connector.model import AgentState
from connector.processors.agent_state import AgentRecord, agent_window_series, apply_agent_event
from connector.processors.deltas import GroupDelta
from connector.processors.groups import apply_group_delta
from connector.processors.settings import ProcessorSettings
from connector.processors.windows import MINUTE_MS, TUMBLING_15M
from tests.processors.harness import BASE_MS, make_event

M = MINUTE_MS
S = ProcessorSettings()
A, B, OFF = AgentState.AVAILABLE, AgentState.BUSY, AgentState.OFFLINE
CAMPAIGN = "acme:v1:campaign:c1"
TENANT_GROUP = "acme:v1:tenant:all"


def by_group(deltas: tuple[GroupDelta, ...]) -> dict[str, GroupDelta]:
    return {d.group: d for d in deltas}


def fold(*events: object) -> AgentRecord:
    record = None
    for event in events:
        record = apply_agent_event(record, event, S).record  # type: ignore[arg-type]
    assert record is not None
    return record


def test_first_event_sends_live_snapshots_to_every_group_and_no_panes() -> None:
    update = apply_agent_event(None, make_event("v1", "a", 0, BASE_MS, A, campaign="c1", skills=["en"]), S)
    assert update.outcome == "live"
    assert update.record.state is A and update.record.since_ms == BASE_MS and update.record.rev == 1
    deltas = by_group(update.deltas)
    assert set(deltas) == {TENANT_GROUP, "acme:*:tenant:all", CAMPAIGN, "acme:v1:skill:en"}
    for delta in deltas.values():
        assert delta.live is not None and delta.live.state is A and delta.live.previous is None
        assert delta.panes == ()
        assert delta.agent == "acme:v1:a" and delta.rev == 1


def test_duplicate_changes_nothing_but_resends_current_snapshots() -> None:
    first = make_event("v1", "a", 0, BASE_MS, A, campaign="c1")
    second = make_event("v1", "a", 1, BASE_MS + 7 * M, B, campaign="c1")
    record = fold(first, second)
    again = apply_agent_event(record, second, S)
    assert again.outcome == "duplicate"
    assert again.record == record
    original = by_group(apply_agent_event(fold(first), second, S).deltas)
    resent = by_group(again.deltas)
    assert set(original) <= set(resent)
    for group, delta in original.items():
        assert resent[group].rev == delta.rev and resent[group].replay
        assert resent[group].live == delta.live
        assert resent[group].panes == delta.panes


def test_live_event_closes_previous_segment_and_moves_groups() -> None:
    record = fold(make_event("v1", "a", 0, BASE_MS, A, campaign="c1"))
    update = apply_agent_event(record, make_event("v1", "a", 1, BASE_MS + 7 * M, B, campaign="c2"), S)
    deltas = by_group(update.deltas)
    left, joined = deltas[CAMPAIGN], deltas["acme:v1:campaign:c2"]
    assert left.live is not None and left.live.state is None and left.live.previous is A
    assert joined.live is not None and joined.live.state is B and joined.live.previous is None
    # the closed AVAILABLE segment [0, 7) goes to the old campaign's panes 0-5 and 5-10
    assert [(p.pane_start_ms - BASE_MS, p.segments) for p in left.panes] == [
        (0, ((BASE_MS, BASE_MS + 5 * M, A),)),
        (5 * M, ((BASE_MS + 5 * M, BASE_MS + 7 * M, A),)),
    ]
    assert joined.panes == ()


def test_older_event_does_not_roll_back_but_corrects_the_segment_it_splits() -> None:
    record = fold(
        make_event("v1", "a", 0, BASE_MS, A, campaign="c1"),
        make_event("v1", "a", 2, BASE_MS + 20 * M, B, campaign="c1"),
    )
    late = apply_agent_event(record, make_event("v1", "a", 1, BASE_MS + 10 * M, OFF, campaign="c1"), S)
    assert late.outcome == "late"
    assert late.record.state is B and late.record.since_ms == BASE_MS + 20 * M  # live state unchanged
    assert [e.state for e in late.record.history] == [A, OFF, B]
    delta = by_group(late.deltas)[CAMPAIGN]
    assert delta.live is None
    # panes over [10, 20) are re-sent: the AVAILABLE time there is gone (the agent was offline)
    assert [p.pane_start_ms - BASE_MS for p in delta.panes] == [10 * M, 15 * M]
    assert all(p.segments == () for p in delta.panes)
    stats = agent_window_series(late.record, TUMBLING_15M, BASE_MS + 30 * M, S)
    assert [s.available_ms for s in stats[-2:]] == [10 * M, 0]


def test_events_older_than_retained_history_are_dropped_and_history_is_bounded() -> None:
    cfg = ProcessorSettings(retention_ms=60 * M)
    record = None
    for i in range(30):  # one event every 10 minutes for 5 hours
        record = apply_agent_event(record, make_event("v1", "a", i, BASE_MS + i * 10 * M, [A, B][i % 2]), cfg).record
    assert record is not None
    assert len(record.history) <= 8  # about one hour's worth
    assert record.history[0].occurred_ms <= record.latest_ms - cfg.retention_ms < record.history[1].occurred_ms
    too_late = apply_agent_event(record, make_event("v1", "a", 99, BASE_MS + 5 * M, OFF), cfg)
    assert too_late.outcome == "too_late"
    assert too_late.deltas and all(d.panes == () and d.replay and d.rev == record.rev for d in too_late.deltas)
    assert {d.live.state for d in too_late.deltas if d.live} == {record.state}  # the live state, resent
    assert too_late.record.dropped_late == 1
    assert too_late.record.history == record.history
    # the same too-late event replayed (a restart re-reads uncommitted input) is not counted twice
    replayed = apply_agent_event(AgentRecord.from_json(too_late.record.to_json()),
                                 make_event("v1", "a", 99, BASE_MS + 5 * M, OFF), cfg)
    assert replayed.outcome == "too_late" and replayed.record.dropped_late == 1
    another = apply_agent_event(replayed.record, make_event("v1", "a", 97, BASE_MS + 6 * M, OFF), cfg)
    assert another.record.dropped_late == 2
    # still accepted: within the retained history
    recent = apply_agent_event(record, make_event("v1", "a", 98, record.latest_ms - 15 * M, OFF), cfg)
    assert recent.outcome == "late"


def test_record_round_trips_through_json() -> None:
    record = fold(
        make_event("v1", "a:b", 0, BASE_MS, A, campaign="c1", queue="q", skills=["es", "en"], reason="Ready"),
        make_event("v1", "a:b", 1, BASE_MS + M, B),
    )
    assert AgentRecord.from_json(record.to_json()) == record
    assert record.key == "acme:v1:a:b"
    assert record.view()["state"] == "BUSY"
    first = record.history[0]
    assert first.groups == ("campaign:c1", "queue:q", "skill:en", "skill:es", "tenant:all")


def test_a_too_late_replay_resends_the_leave_of_a_group_known_only_to_pruned_history() -> None:
    """A crash lost the delta that took the agent out of q1, but kept the agent record; by the
    replay, the entries that knew q1 are pruned, so the replayed event is too late. It must still
    tell q1 that the agent left (found by the property test's heavy chaos)."""
    cfg = ProcessorSettings(retention_ms=60 * M)
    queue = "acme:v1:queue:q1"
    joined = make_event("v1", "a", 0, BASE_MS, A, queue="q1")
    left = make_event("v1", "a", 1, BASE_MS + 1 * M, OFF)
    later = [make_event("v1", "a", 2, BASE_MS + 5 * M, OFF), make_event("v1", "a", 3, BASE_MS + 70 * M, OFF)]
    first = apply_agent_event(None, joined, cfg)
    group = apply_group_delta(None, {}, by_group(first.deltas)[queue], cfg).record
    record = apply_agent_event(first.record, left, cfg).record  # its deltas are lost
    for event in later:
        update = apply_agent_event(record, event, cfg)
        record = update.record
        assert queue not in by_group(update.deltas)
    assert [e.event_id for e in record.history] == [later[0].event_id, later[1].event_id]  # q1 pruned
    replayed = apply_agent_event(record, left, cfg)
    assert replayed.outcome == "too_late"
    resent = by_group(replayed.deltas)[queue]
    assert resent.live is not None and resent.live.state is None and resent.rev == record.rev
    assert group.live_members() == {"acme:v1:a": A}
    assert apply_group_delta(group, {}, resent, cfg).record.live_members() == {}
    # remembered across a restore, and bounded
    assert "queue:q1" in AgentRecord.from_json(record.to_json()).former_groups
