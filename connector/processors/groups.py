"""The group tables: live counts per group, closed segments per (group, pane), and alerting.

The group record (key: group key) holds each member's last applied snapshot
(revision, state, since) and the counts, which are only ever changed by moving one
member from its stored state to its new one, in the same step. Members that left
stay as tombstones (state None, one small entry per agent ever seen, like the
agent table), so a replayed older snapshot can never bring them back; pruning
them by time would reopen that hole for replays of late events.

The pane record (key: group key + pane start) holds each agent's closed segments
in that pane, replaced whole by a newer revision. Window statistics combine the
panes of the window with the members' open segments (up to a watermark).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from connector.model import EVENT_ID_NAMESPACE, AgentState
from connector.processors.deltas import GroupDelta
from connector.processors.health import Counts, HealthStatus, next_alert_status
from connector.processors.observed import ObservedComparison, ObservedSnapshot, compare_observed
from connector.processors.settings import ProcessorSettings
from connector.processors.windows import Segment, WindowSpec, WindowStats, summarize

__all__ = [
    "Alert",
    "GroupRecord",
    "GroupUpdate",
    "Member",
    "PaneRecord",
    "apply_group_delta",
    "apply_group_deltas",
    "apply_group_observation",
    "group_window_series",
    "group_window_stats",
    "observed_vs_derived",
    "pane_key",
]


def pane_key(group: str, pane_start_ms: int) -> str:
    """Key of the pane table; written from the group's partition, so it lives beside the group record."""
    return f"{group}@{pane_start_ms}"


def _state(value: str | None) -> AgentState | None:
    return AgentState(value) if value is not None else None


@dataclass(frozen=True, slots=True)
class Member:
    """An agent's last applied live snapshot in a group; ``state`` None: not counted (a tombstone)."""

    rev: int
    state: AgentState | None
    since_ms: int
    event_id: str
    reason: str | None

    def to_json(self) -> list[Any]:
        return [self.rev, self.state.value if self.state else None, self.since_ms, self.event_id, self.reason]

    @classmethod
    def from_json(cls, data: list[Any]) -> Member:
        rev, state, since, event_id, reason = data
        return cls(rev, _state(state), since, event_id, reason)


@dataclass(frozen=True, slots=True)
class Alert:
    """A change of a group's alerting (hysteresis) status; ``alert_id`` is stable across re-sends."""

    alert_id: str
    group: str
    sequence: int
    from_status: HealthStatus
    to_status: HealthStatus
    raw_status: HealthStatus
    counts: Counts
    occurred_ms: int
    cause_agent: str
    cause_rev: int
    cause_event_id: str

    def to_json(self) -> dict[str, Any]:
        return {
            "alert_id": self.alert_id, "group": self.group, "sequence": self.sequence,
            "from_status": self.from_status.value, "to_status": self.to_status.value,
            "raw_status": self.raw_status.value, "counts": self.counts.to_json(),
            "occurred_ms": self.occurred_ms, "cause_agent": self.cause_agent,
            "cause_rev": self.cause_rev, "cause_event_id": self.cause_event_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Alert:
        return cls(
            data["alert_id"], data["group"], data["sequence"], HealthStatus(data["from_status"]),
            HealthStatus(data["to_status"]), HealthStatus(data["raw_status"]), Counts.from_json(data["counts"]),
            data["occurred_ms"], data["cause_agent"], data["cause_rev"], data["cause_event_id"],
        )


@dataclass(frozen=True, slots=True)
class GroupRecord:
    """Value of the group table (key: group key). ``apply_group_delta`` builds it by position, every field."""

    group: str
    members: Mapping[str, Member]
    counts: Counts
    clock_ms: int
    updated_ms: int | None = None
    last_event_id: str | None = None
    panes: tuple[int, ...] = ()
    alert_status: HealthStatus = HealthStatus.NO_AGENTS
    alert_seq: int = 0
    recent_alerts: tuple[Alert, ...] = ()
    observed: ObservedSnapshot | None = None

    @classmethod
    def empty(cls, group: str, clock_ms: int) -> GroupRecord:
        return cls(group, {}, Counts(), clock_ms)

    def to_json(self) -> dict[str, Any]:
        return {**self.header_json(), "members": {agent: m.to_json() for agent, m in sorted(self.members.items())}}

    def header_json(self) -> dict[str, Any]:
        """Everything but the members (which the changelog carries one by one, see ``tables``)."""
        return {
            "group": self.group,
            "counts": self.counts.to_json(),
            "clock_ms": self.clock_ms,
            "updated_ms": self.updated_ms,
            "last_event_id": self.last_event_id,
            "panes": list(self.panes),
            "alert_status": self.alert_status.value,
            "alert_seq": self.alert_seq,
            "recent_alerts": [a.to_json() for a in self.recent_alerts],
            "observed": self.observed.to_json() if self.observed else None,
        }

    @classmethod
    def join(cls, header: dict[str, Any], members: dict[str, Any]) -> GroupRecord:
        """A record from its header and members' JSON (a header may hold members too: whole records).

        The counts are recounted from the members: a crash in the middle of a write-back can leave
        members newer than the header that counted them, and the replayed deltas of those members
        are then not newer, so they would never correct counts taken from the header."""
        record = cls.from_json({**header, "members": {**header.get("members", {}), **members}})
        counts = Counts()
        for state in record.live_members().values():
            counts = counts.moved(None, state)
        return record if counts == record.counts else replace(record, counts=counts)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GroupRecord:
        return cls(
            group=data["group"],
            members={agent: Member.from_json(m) for agent, m in data["members"].items()},
            counts=Counts.from_json(data["counts"]),
            clock_ms=data["clock_ms"],
            updated_ms=data["updated_ms"],
            last_event_id=data["last_event_id"],
            panes=tuple(data["panes"]),
            alert_status=HealthStatus(data["alert_status"]),
            alert_seq=data["alert_seq"],
            recent_alerts=tuple(Alert.from_json(a) for a in data["recent_alerts"]),
            observed=ObservedSnapshot.from_json(data["observed"]) if data["observed"] else None,
        )

    def live_members(self) -> dict[str, AgentState]:
        return {agent: m.state for agent, m in self.members.items() if m.state is not None}


@dataclass(frozen=True, slots=True)
class PaneRecord:
    """Value of the pane table: each agent's closed segments in one pane of one group, with revision."""

    group: str
    pane_start_ms: int
    contributions: Mapping[str, tuple[int, tuple[Segment, ...]]]

    def segments(self) -> list[Segment]:
        return [seg for _, segs in self.contributions.values() for seg in segs]

    def to_json(self) -> dict[str, Any]:
        return {**self.header_json(), "agents": {
            agent: self.contribution_json(held) for agent, held in sorted(self.contributions.items())}}

    def header_json(self) -> dict[str, Any]:
        """Everything but the agents' contributions (which the changelog carries one by one)."""
        return {"group": self.group, "pane": self.pane_start_ms}

    @staticmethod
    def contribution_json(held: tuple[int, tuple[Segment, ...]]) -> list[Any]:
        rev, segs = held
        return [rev, [[s, e, st.value] for s, e, st in segs]]

    @classmethod
    def join(cls, header: dict[str, Any], agents: dict[str, Any]) -> PaneRecord:
        """A record from its header and agents' JSON (a header may hold agents too: whole records)."""
        return cls.from_json({**header, "agents": {**header.get("agents", {}), **agents}})

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PaneRecord:
        return cls(data["group"], data["pane"], {
            agent: (rev, tuple((s, e, AgentState(st)) for s, e, st in segs))
            for agent, (rev, segs) in data["agents"].items()
        })


@dataclass(frozen=True, slots=True)
class GroupUpdate:
    """Result of one delta: the group record, pane records to write (None: delete), outputs to send.

    ``publish``: send the group's availability record (it changed, or this was a
    duplicate whose first outputs may have been lost). ``alerts``: new transitions,
    or on a duplicate the ones this same delta caused before (same ``alert_id``).
    """

    record: GroupRecord
    panes: Mapping[int, PaneRecord | None]
    publish: bool
    alerts: tuple[Alert, ...]
    duplicate: bool


def _alert_id(group: str, sequence: int) -> str:
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"availability-alert\x1f{group}\x1f{sequence}"))


def apply_group_delta(
    record: GroupRecord | None,
    panes: Mapping[int, PaneRecord | None],
    delta: GroupDelta,
    settings: ProcessorSettings,
) -> GroupUpdate:
    """Apply one agent's delta to its group. ``panes``: the stored records of ``delta.panes`` (absent: none)."""
    rec = record if record is not None else GroupRecord.empty(delta.group, delta.latest_ms)
    clock = max(rec.clock_ms, delta.latest_ms)
    cutoff = clock - settings.retention_ms
    members = dict(rec.members)
    counts, updated_ms, last_event_id = rec.counts, rec.updated_ms, rec.last_event_id
    live_changed = False

    live = delta.live
    held = members.get(delta.agent)
    if live is not None and (held is None or delta.rev > held.rev):
        members[delta.agent] = Member(delta.rev, live.state, live.since_ms, live.event_id, live.reason)
        counts = counts.moved(held.state if held else None, live.state)
        live_changed = held is None or (held.state, held.since_ms, held.event_id) != (
            live.state, live.since_ms, live.event_id)
        if updated_ms is None or (delta.occurred_ms, delta.event_id) > (updated_ms, last_event_id or ""):
            updated_ms, last_event_id = delta.occurred_ms, delta.event_id

    pane_updates: dict[int, PaneRecord | None] = {}
    # every retained pane the delta names is indexed, applied or not: the pane table's changelog may
    # be ahead of the group table's (a crash lost the group record of a step whose pane records were
    # written), and then the replayed delta is not newer for the pane but the index never saw it
    named: set[int] = set()
    applied_pane = False
    for contribution in delta.panes:
        start = contribution.pane_start_ms
        if start < cutoff:
            continue
        stored = panes.get(start)
        pane = stored or PaneRecord(delta.group, start, {})
        held_pane = pane.contributions.get(delta.agent)
        if held_pane is None or delta.rev > held_pane[0]:
            applied_pane = True
            pane_updates[start] = PaneRecord(  # by position: dataclasses.replace costs more than the rest
                pane.group, pane.pane_start_ms, {**pane.contributions, delta.agent: (delta.rev, contribution.segments)})
        elif stored is not None:
            named.add(start)
    pane_index = {p for p in (*rec.panes, *named, *pane_updates) if p >= cutoff}
    for expired in {*rec.panes, *pane_updates} - pane_index:
        pane_updates[expired] = None

    alerts: tuple[Alert, ...] = ()
    status, seq = rec.alert_status, rec.alert_seq
    if counts != rec.counts:
        status = next_alert_status(rec.alert_status, counts.available, counts.logged_in, settings.thresholds)
        if status is not rec.alert_status:
            seq += 1
            alerts = (Alert(
                _alert_id(delta.group, seq), delta.group, seq, rec.alert_status, status,
                counts.health(settings.thresholds), counts, delta.occurred_ms, delta.agent, delta.rev,
                delta.event_id,
            ),)
    applied_live = live is not None and (held is None or delta.rev > held.rev)
    duplicate = not applied_live and not applied_pane
    # the same (agent, rev) delta was applied before: its alerts may have been lost with a crash; re-send them
    resent = tuple(a for a in rec.recent_alerts if (a.cause_agent, a.cause_rev) == (delta.agent, delta.rev))
    new = GroupRecord(  # every field, by position (see GroupRecord)
        rec.group, members, counts, clock, updated_ms, last_event_id, tuple(sorted(pane_index)), status, seq,
        (*rec.recent_alerts, *alerts)[-settings.max_recent_alerts:], rec.observed,
    )
    return GroupUpdate(new, pane_updates, live_changed or duplicate or bool(resent), (*resent, *alerts), duplicate)


def apply_group_deltas(
    record: GroupRecord | None,
    panes: Mapping[int, PaneRecord | None],
    deltas: Sequence[GroupDelta],
    settings: ProcessorSettings,
) -> GroupUpdate:
    """Several deltas to one group, in order, as one update: exactly what applying them one by one
    leaves (the last group record, each pane's last write, every alert), so a batch costs one read
    and one write of the group. ``panes``: the stored records of every pane the deltas name."""
    if not deltas:
        raise ValueError("no deltas to apply")
    current, stored = record, dict(panes)
    written: dict[int, PaneRecord | None] = {}
    publish, duplicate = False, True
    alerts: list[Alert] = []
    for delta in deltas:
        update = apply_group_delta(current, stored, delta, settings)
        current = update.record
        for start, pane in update.panes.items():
            written[start] = stored[start] = pane
        publish |= update.publish
        duplicate &= update.duplicate
        alerts.extend(update.alerts)
    assert current is not None
    return GroupUpdate(current, written, publish, tuple(alerts), duplicate)


def apply_group_observation(record: GroupRecord | None, group: str, snapshot: ObservedSnapshot) -> GroupRecord:
    """Keep the newest vendor snapshot (by observed time, then event id); repeats change nothing."""
    rec = record if record is not None else GroupRecord.empty(group, snapshot.observed_ms)
    if rec.observed is not None and snapshot.order <= rec.observed.order:
        return rec
    return replace(rec, observed=snapshot)


def observed_vs_derived(record: GroupRecord) -> ObservedComparison | None:
    return compare_observed(record.observed, record.counts) if record.observed else None


def _open_segments(record: GroupRecord | None, watermark: int) -> list[Segment]:
    if record is None:
        return []
    return [
        (m.since_ms, watermark, m.state) for m in record.members.values()
        if m.state is not None and m.since_ms < watermark
    ]


def group_window_stats(
    record: GroupRecord | None,
    panes: Mapping[int, PaneRecord],
    spec: WindowSpec,
    start_ms: int,
    watermark: int,
) -> WindowStats:
    """One window of a group: closed segments from its panes plus members' open segments to the watermark."""
    end = start_ms + spec.size_ms
    segments = [seg for p, pane in panes.items() if start_ms <= p < end for seg in pane.segments()]
    segments.extend(_open_segments(record, watermark))
    return summarize(spec.name, start_ms, end, watermark, segments)


def group_window_series(
    record: GroupRecord | None,
    panes: Mapping[int, PaneRecord],
    spec: WindowSpec,
    watermark: int,
    settings: ProcessorSettings,
) -> list[WindowStats]:
    """Every retained window of the group up to the watermark, oldest first."""
    earliest = (record.clock_ms if record else watermark) - settings.retention_ms
    return [group_window_stats(record, panes, spec, s, watermark) for s in spec.starts_from(earliest, watermark)]
