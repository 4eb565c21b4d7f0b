"""The group handler: idempotent versioned snapshots, one-step subtract/add, panes, alerts, re-sends."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from connector.model import AgentState
from connector.processors.deltas import GroupDelta, LiveSnapshot, PaneContribution
from connector.processors.groups import (
    Alert,
    GroupRecord,
    GroupUpdate,
    PaneRecord,
    apply_group_delta,
    apply_group_deltas,
    group_window_stats,
)
from connector.processors.health import Counts, HealthStatus
from connector.processors.settings import ProcessorSettings
from connector.processors.windows import MINUTE_MS, TUMBLING_15M
from tests.processors.harness import BASE_MS, Pipeline, make_event

M = MINUTE_MS
S = ProcessorSettings()
G = "acme:v1:campaign:c1"
A, B = AgentState.AVAILABLE, AgentState.BUSY


def delta(agent: str, rev: int, state: AgentState | None, t: int, *, panes: tuple[PaneContribution, ...] = (),
          live: bool = True) -> GroupDelta:
    snapshot = LiveSnapshot(state, t, f"e-{agent}-{rev}", None, None) if live else None
    return GroupDelta(G, agent, rev, f"e-{agent}-{rev}", t, t, snapshot, panes)


def apply(record: GroupRecord | None, d: GroupDelta, panes: dict[int, PaneRecord] | None = None) -> GroupUpdate:
    return apply_group_delta(record, panes or {}, d, S)


def test_applying_a_delta_twice_changes_nothing() -> None:
    first = apply(None, delta("a", 1, A, BASE_MS))
    assert first.record.counts == Counts(available=1)
    assert first.publish and not first.duplicate
    second = apply(first.record, delta("a", 1, A, BASE_MS))
    assert second.duplicate
    assert second.record == first.record
    assert second.alerts == first.alerts  # re-sent, same alert ids


def test_older_revision_is_ignored_and_newer_moves_the_member_in_one_step() -> None:
    record = apply(None, delta("a", 2, B, BASE_MS + M)).record
    stale = apply(record, delta("a", 1, A, BASE_MS))
    assert stale.duplicate and stale.record.counts == Counts(busy=1)
    moved = apply(record, delta("a", 3, A, BASE_MS + 2 * M)).record
    assert moved.counts == Counts(available=1)  # busy subtracted, available added
    left = apply(moved, delta("a", 4, None, BASE_MS + 3 * M)).record
    assert left.counts == Counts()
    assert left.members["a"].state is None  # tombstone: a replayed older join cannot resurrect it
    assert apply(left, delta("a", 3, A, BASE_MS + 2 * M)).record.counts == Counts()


def test_health_transitions_raise_alerts_with_hysteresis() -> None:
    record: GroupRecord | None = None
    alerts: list[Alert] = []
    # 10 agents log in available, then go busy one by one: 100 % ... 0 % available
    for i in range(10):
        update = apply(record, delta(f"a{i}", 1, A, BASE_MS))
        record, alerts = update.record, alerts + list(update.alerts)
    for i in range(10):
        update = apply(record, delta(f"a{i}", 2, B, BASE_MS + (i + 1) * M))
        record, alerts = update.record, alerts + list(update.alerts)
    assert record is not None
    assert [(a.from_status, a.to_status) for a in alerts] == [
        (HealthStatus.NO_AGENTS, HealthStatus.HEALTHY),
        (HealthStatus.HEALTHY, HealthStatus.MONITOR),  # 2 of 10 = 20 %
        (HealthStatus.MONITOR, HealthStatus.UNAVAILABLE),  # 0 of 10
    ]
    assert [a.sequence for a in alerts] == [1, 2, 3]
    assert alerts[-1].counts == Counts(busy=10)
    # one agent back: 10 % is MONITOR by the thresholds, but within the margin (12 %) of it,
    # so the alert recovers to WARNING only; the record's raw health says MONITOR
    update = apply(record, delta("a0", 3, A, BASE_MS + 20 * M))
    assert [(a.to_status, a.raw_status) for a in update.alerts] == [(HealthStatus.WARNING, HealthStatus.MONITOR)]
    assert update.record.alert_status is HealthStatus.WARNING


def test_redelivered_delta_resends_the_alert_it_caused_with_the_same_id() -> None:
    record = apply(None, delta("a", 1, A, BASE_MS)).record
    caused = apply(record, delta("a", 2, B, BASE_MS + M))
    assert [a.to_status for a in caused.alerts] == [HealthStatus.UNAVAILABLE]
    later = apply(caused.record, delta("b", 1, B, BASE_MS + 2 * M)).record
    resent = apply(later, delta("a", 2, B, BASE_MS + M))
    assert resent.duplicate
    assert resent.alerts == caused.alerts
    assert resent.record == later


def test_panes_replace_per_agent_and_expire_with_retention() -> None:
    pane = BASE_MS
    seg = PaneContribution(pane, ((pane, pane + 3 * M, A),))
    first = apply(None, delta("a", 1, B, pane + 3 * M, panes=(seg,)))
    stored = {pane: p for pane, p in first.panes.items() if p is not None}
    assert stored[pane].segments() == [(pane, pane + 3 * M, A)]
    # a late correction (newer rev) replaces the agent's segments in that pane
    fix = PaneContribution(pane, ((pane, pane + M, A),))
    second = apply(first.record, delta("a", 2, B, pane + 3 * M, panes=(fix,), live=False), stored)
    corrected = second.panes[pane]
    assert corrected is not None and corrected.segments() == [(pane, pane + M, A)]
    stats = group_window_stats(second.record, {pane: corrected}, TUMBLING_15M, pane, pane + 15 * M)
    assert stats.available_ms == M
    assert stats.state_ms[1] == 12 * M  # the open BUSY segment from minute 3 to the watermark
    # a delta far in the future moves the group clock: the old pane is deleted
    future = apply(second.record, delta("b", 1, A, pane + S.retention_ms + 6 * M), {pane: corrected})
    assert future.panes == {pane: None}
    assert future.record.panes == ()


def test_group_record_round_trips_through_json() -> None:
    record = apply(None, delta("a", 1, A, BASE_MS)).record
    record = apply(record, delta("a", 2, None, BASE_MS + M)).record
    record = replace(record, updated_ms=BASE_MS + M)
    assert GroupRecord.from_json(record.to_json()) == record
    pane = PaneRecord(G, BASE_MS, {"a": (1, ((BASE_MS, BASE_MS + M, A),))})
    assert PaneRecord.from_json(pane.to_json()) == pane
    d = delta("a", 1, A, BASE_MS, panes=(PaneContribution(BASE_MS, ((BASE_MS, BASE_MS + M, B),)),))
    assert GroupDelta.from_json(d.to_json()) == d


def test_a_replayed_delta_indexes_panes_whose_records_outlived_the_group_record() -> None:
    """A crash after one step wrote the group record and its pane, whose changelogs kept only the pane.

    The group and pane tables are written from one step but restored from two changelogs, each
    its own prefix: the replayed delta finds its pane contribution already there (not newer), and
    must still put the pane in the group's index, through which every window reads its panes.
    """
    pane = BASE_MS
    joined = apply(None, delta("a", 1, A, pane)).record
    seg = PaneContribution(pane, ((pane, pane + 3 * M, A),))
    step = delta("a", 2, B, pane + 3 * M, panes=(seg,))
    before = apply(joined, step)
    assert before.record.panes == (pane,)
    stored = {start: p for start, p in before.panes.items() if p is not None}

    replayed = apply(joined, step, stored)  # the group record as of the last commit, the pane as written
    assert replayed.record == before.record
    assert replayed.panes == {}  # nothing newer to write
    indexed = {start: stored[start] for start in replayed.record.panes}  # as the windows view reads them
    stats = group_window_stats(replayed.record, indexed, TUMBLING_15M, pane, pane + 15 * M)
    assert stats.available_ms == 3 * M  # the closed AVAILABLE segment; the open BUSY one adds busy time


def _deltas_by_group(seed: int) -> dict[str, list[GroupDelta]]:
    """Real deltas from the agent handler: 6 agents of two campaigns changing state over an hour,
    with a replayed event and an out-of-order one, so panes close, members leave and alerts fire."""
    rng = random.Random(seed)
    pipeline = Pipeline(S)
    states = [AgentState.AVAILABLE, AgentState.BUSY, AgentState.WRAP_UP, AgentState.AWAY, AgentState.OFFLINE]
    events = [
        make_event("v1", f"agent-{a}", i, BASE_MS + i * 97_000 + a * 1_000, rng.choice(states),
                   campaign=f"c{a % 2}")
        for i in range(40) for a in range(6)
    ]
    events += [events[10], events[3]]  # a duplicate and a late one
    for event in events:
        pipeline.process(event)
    grouped: dict[str, list[GroupDelta]] = {}
    for d in pipeline.outbox:
        grouped.setdefault(d.group, []).append(d)
    return grouped


def test_a_batch_of_deltas_leaves_what_applying_them_one_by_one_leaves() -> None:
    alerts_seen = 0
    for seed in range(5):
        for group, deltas in _deltas_by_group(seed).items():
            one_by_one: GroupRecord | None = None
            panes: dict[int, PaneRecord | None] = {}
            alerts: list[Alert] = []
            published = False
            for d in deltas:
                update = apply_group_delta(one_by_one, {k: v for k, v in panes.items() if v}, d, S)
                one_by_one = update.record
                panes.update(update.panes)
                alerts.extend(update.alerts)
                published |= update.publish
            cut = len(deltas) // 3 + 1  # a batch, then the rest as a second batch
            first = apply_group_deltas(None, {}, deltas[:cut], S)
            stored = {k: v for k, v in first.panes.items() if v is not None}
            second = apply_group_deltas(first.record, stored, deltas[cut:], S)
            assert second.record == one_by_one, group
            assert {**first.panes, **second.panes} == panes, group
            assert [*first.alerts, *second.alerts] == alerts
            assert (first.publish or second.publish) == published
            alerts_seen += len(alerts)
    assert alerts_seen, "the sample should raise alerts, or the comparison misses them"


def test_an_empty_batch_of_deltas_is_refused() -> None:
    with pytest.raises(ValueError, match="no deltas"):
        apply_group_deltas(None, {}, [], S)
