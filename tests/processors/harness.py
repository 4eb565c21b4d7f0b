"""A simulated deployment of the pure functions: tables as dicts of JSON, topics as lists.

It behaves like faust at-least-once: the agent handler writes the agent table and
emits deltas; the group handler writes the group and pane tables and emits
outputs. A commit is assumed to cover every write and send of the steps before
it (faust flushes the producer before committing offsets). A crash loses
whatever was not flushed (any undelivered delta, any
output since the last commit), rolls each table back, independently of the
others, to any of its writes since the last commit (each changelog may hold more
than the offsets say, and a step's group record may be lost while its pane
records survive, or the reverse) and replays the input from the last commit.
Everything goes through ``json`` on the way, as it would through a changelog.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from connector.model import AgentState, AgentStateChanged, deterministic_event_id, from_millis
from connector.processors.agent_state import AgentRecord, apply_agent_event
from connector.processors.deltas import GroupDelta
from connector.processors.groups import Alert, GroupRecord, PaneRecord, apply_group_delta, pane_key
from connector.processors.health import SEVERITY, Counts, HealthStatus, classify
from connector.processors.settings import ProcessorSettings

BASE_MS = int(datetime(2026, 3, 3, 9, 0, tzinfo=UTC).timestamp() * 1000)
TENANT = "acme"


def make_event(
    vendor: str,
    agent: str,
    index: int,
    t_ms: int,
    state: AgentState,
    *,
    campaign: str | None = None,
    queue: str | None = None,
    skills: Sequence[str] = (),
    reason: str | None = None,
    tenant: str = TENANT,
) -> AgentStateChanged:
    return AgentStateChanged(
        event_id=deterministic_event_id(vendor, tenant, agent, index),
        vendor=vendor, tenant=tenant, source=f"{vendor}-src", agent_id=agent, state=state,
        previous_state=None, vendor_state=state.value, occurred_at=from_millis(t_ms), source_cursor="{}",
        reason=reason, campaign_id=campaign, queue_id=queue, skills=tuple(sorted(set(skills))),
    )


def _roundtrip(value: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(json.dumps(value))
    return result


@dataclass
class Pipeline:
    settings: ProcessorSettings
    agents: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    panes: dict[str, dict[str, Any]] = field(default_factory=dict)
    outbox: list[GroupDelta] = field(default_factory=list)
    alerts: dict[str, Alert] = field(default_factory=dict)
    published: int = 0
    group_writes: list[tuple[str, str, dict[str, Any] | None]] = field(default_factory=list)

    def agent(self, key: str) -> AgentRecord | None:
        raw = self.agents.get(key)
        return AgentRecord.from_json(raw) if raw is not None else None

    def group(self, key: str) -> GroupRecord | None:
        raw = self.groups.get(key)
        return GroupRecord.from_json(raw) if raw is not None else None

    def group_panes(self, group: str) -> dict[int, PaneRecord]:
        """The group's panes as the query API finds them: through the group record's pane index."""
        record = self.group(group)
        if record is None:
            return {}
        return {
            start: PaneRecord.from_json(self.panes[key])
            for start in record.panes if (key := pane_key(group, start)) in self.panes
        }

    def process(self, event: AgentStateChanged) -> None:
        key = f"{event.tenant}:{event.vendor}:{event.agent_id}"
        update = apply_agent_event(self.agent(key), event, self.settings)
        self.agents[key] = _roundtrip(update.record.to_json())
        self.outbox.extend(GroupDelta.from_json(_roundtrip(d.to_json())) for d in update.deltas)

    def deliver(self, delta: GroupDelta) -> list[Alert]:
        stored = {
            c.pane_start_ms: PaneRecord.from_json(self.panes[k])
            for c in delta.panes if (k := pane_key(delta.group, c.pane_start_ms)) in self.panes
        }
        update = apply_group_delta(self.group(delta.group), stored, delta, self.settings)
        self.write("groups", delta.group, _roundtrip(update.record.to_json()))
        for start, pane in update.panes.items():
            self.write("panes", pane_key(delta.group, start), None if pane is None else _roundtrip(pane.to_json()))
        check_group_invariants(update.record, self.settings)
        self.published += update.publish
        return list(update.alerts)

    def write(self, table: str, key: str, value: dict[str, Any] | None) -> None:
        """One changelog record of the group or pane table (None: delete), journaled for crashes."""
        rows = self.groups if table == "groups" else self.panes
        if value is None:
            rows.pop(key, None)
        else:
            rows[key] = value
        self.group_writes.append((table, key, value))

    def record_alerts(self, alerts: list[Alert]) -> None:
        for alert in alerts:
            previous = self.alerts.setdefault(alert.alert_id, alert)
            assert previous == alert, f"alert id {alert.alert_id} re-used for different content"


def check_group_invariants(record: GroupRecord, settings: ProcessorSettings) -> None:
    """Counts are exactly the members' states; the alert status obeys the hysteresis rule."""
    recount = Counts()
    for state in record.live_members().values():
        recount = recount.moved(None, state)
    assert record.counts == recount
    raw = classify(record.counts.available, record.counts.logged_in, settings.thresholds)
    status = record.alert_status
    if raw is HealthStatus.NO_AGENTS or status is HealthStatus.NO_AGENTS:
        assert status is raw
    else:
        shifted = classify(
            record.counts.available, record.counts.logged_in, settings.thresholds,
            shift_pct=settings.thresholds.hysteresis_pct,
        )
        assert SEVERITY[raw] <= SEVERITY[status] <= SEVERITY[shifted]


@dataclass
class Chaos:
    """How rough the simulated deployment is; all choices come from one seeded ``random.Random``."""

    rng: random.Random
    deliver_rate: float = 0.5
    duplicate_delta_rate: float = 0.1
    commit_rate: float = 0.3
    agent_crash_rate: float = 0.05
    group_crash_rate: float = 0.05


def run(arrivals: Sequence[AgentStateChanged], settings: ProcessorSettings, chaos: Chaos) -> Pipeline:
    """Feed events in arrival order through both handlers, with redelivery, crashes and replays."""
    rng = chaos.rng
    p = Pipeline(settings)
    committed = 0  # input offset of the last agent-side commit
    agent_journal = [dict(p.agents)]  # agent table after each write since that commit
    group_committed = (dict(p.groups), dict(p.panes))  # the group and pane tables at that commit
    group_inputs: list[GroupDelta] = []  # deltas applied since the last group-side commit
    group_outputs: list[list[Alert]] = []  # alerts each of them produced, not yet flushed
    delivered: list[GroupDelta] = []

    def deliver(delta: GroupDelta) -> None:
        group_outputs.append(p.deliver(delta))
        group_inputs.append(delta)
        delivered.append(delta)

    def group_commit() -> None:
        for alerts in group_outputs:
            p.record_alerts(alerts)
        group_outputs.clear()
        group_inputs.clear()
        start_group_journal()

    def start_group_journal() -> None:
        nonlocal group_committed
        group_committed = (dict(p.groups), dict(p.panes))
        p.group_writes.clear()

    def roll_back_group_tables() -> None:
        """Each table keeps what its changelog kept: the committed state plus any prefix of its later writes."""
        tables = {"groups": dict(group_committed[0]), "panes": dict(group_committed[1])}
        for name, rows in tables.items():
            writes = [(key, value) for table, key, value in p.group_writes if table == name]
            for key, value in writes[:rng.randint(0, len(writes))]:
                if value is None:
                    rows.pop(key, None)
                else:
                    rows[key] = value
        p.groups, p.panes = tables["groups"], tables["panes"]
        start_group_journal()

    def flush_outbox() -> None:
        while p.outbox:
            deliver(p.outbox.pop(0))

    offset = 0
    while offset < len(arrivals):
        p.process(arrivals[offset])
        offset += 1
        agent_journal.append(dict(p.agents))
        rng.shuffle(p.outbox)
        for _ in range(sum(rng.random() < chaos.deliver_rate for _ in p.outbox)):
            deliver(p.outbox.pop())
        if delivered and rng.random() < chaos.duplicate_delta_rate:
            deliver(rng.choice(delivered))
        if rng.random() < chaos.commit_rate:
            flush_outbox()  # faust flushes the producer before committing offsets
            committed = offset
            agent_journal = [dict(p.agents)]
        elif rng.random() < chaos.agent_crash_rate:
            p.outbox = [d for d in p.outbox if rng.random() < 0.5]  # lost unless already sent
            p.agents = dict(rng.choice(agent_journal))
            agent_journal = [dict(p.agents)]
            offset = committed
        if rng.random() < chaos.commit_rate:
            group_commit()
        elif rng.random() < chaos.group_crash_rate:
            replay = list(group_inputs)
            survivors = [alerts if rng.random() < 0.5 else [] for alerts in group_outputs]
            for alerts in survivors:  # some outputs were flushed before the crash
                p.record_alerts(alerts)
            roll_back_group_tables()
            group_inputs.clear()
            group_outputs.clear()
            for delta in replay:
                deliver(delta)
    flush_outbox()
    group_commit()
    return p
