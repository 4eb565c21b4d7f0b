"""The agent state table: one record per agent, and the deltas an event sends to its groups.

The record holds the agent's transitions (one per accepted event, sorted by
``(occurred_at, event_id)``) back to the retention cutoff; the newest is the live
state. What at-least-once delivery and vendor APIs produce is handled here:

* duplicate (event_id already in the history): the record does not change, but
  the deltas are sent again as current snapshots, so a crash after the table write
  and before the deltas went out loses nothing;
* out of order: the event is inserted where it belongs; the live state moves
  only if it is the newest, but the closed segments it splits are re-sent;
* too late: an event before the retained history, which ends at or before the
  cutoff, could only change expired windows; it is counted and dropped. Replays
  decide the same, since the history only moves forward. It still re-sends the
  agent's live snapshot to every group it was in within its former (pruned)
  history: a replayed too-late event may be one whose "left the group" delta was
  lost with a crash, and its entry, which knew the group, is gone.

Why the history completes deduplication: it is pruned as a prefix (entries whose
segment ended at or before the cutoff), so any seen event at or after its first
entry is still in it, and anything before it is dropped either way.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Literal

from connector.model import AgentState, AgentStateChanged, to_millis
from connector.processors.deltas import GroupDelta, LiveSnapshot, PaneContribution
from connector.processors.keys import agent_key, event_group_suffixes, group_keys
from connector.processors.settings import ProcessorSettings
from connector.processors.windows import Segment, WindowSpec, WindowStats, clip_segments, pane_starts, summarize

__all__ = [
    "AgentRecord",
    "AgentUpdate",
    "HistoryEntry",
    "agent_segments",
    "agent_window_series",
    "agent_window_stats",
    "apply_agent_event",
]


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One accepted event, and what its arrival changed, so a duplicate can re-send exactly that.

    ``emit_lo``/``emit_hi``: the time range whose segments changed; ``prior_groups``:
    the groups of the entry before it then (the segment it closed or split), which
    may have been pruned since.
    """

    occurred_ms: int
    event_id: str
    state: AgentState
    reason: str | None
    groups: tuple[str, ...]  # group suffixes, 'type:id'
    emit_lo: int
    emit_hi: int
    prior_groups: tuple[str, ...] = ()

    @property
    def order(self) -> tuple[int, str]:
        return (self.occurred_ms, self.event_id)

    def to_json(self) -> list[Any]:
        return [
            self.occurred_ms, self.event_id, self.state.value, self.reason, list(self.groups),
            self.emit_lo, self.emit_hi, list(self.prior_groups),
        ]

    @classmethod
    def from_json(cls, data: list[Any]) -> HistoryEntry:
        t, event_id, state, reason, groups, lo, hi, prior = data
        return cls(t, event_id, AgentState(state), reason, tuple(groups), lo, hi, tuple(prior))


@dataclass(frozen=True, slots=True)
class AgentRecord:
    """Value of the agent table (key ``tenant:vendor:agent_id``); JSON-able via to_json/from_json."""

    tenant: str
    vendor: str
    agent_id: str
    rev: int
    latest_ms: int
    history: tuple[HistoryEntry, ...]
    dropped_late: int = 0
    #: ids of the latest too-late events, so a replayed one is not counted twice
    dropped_ids: tuple[str, ...] = ()
    #: group suffixes of pruned history entries (their own and prior groups), latest last
    former_groups: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return agent_key(self.tenant, self.vendor, self.agent_id)

    @property
    def current(self) -> HistoryEntry:
        return self.history[-1]

    @property
    def state(self) -> AgentState:
        return self.current.state

    @property
    def since_ms(self) -> int:
        """When the current record took effect: the newest event's occurred_at."""
        return self.current.occurred_ms

    @property
    def reason(self) -> str | None:
        return self.current.reason

    @property
    def groups(self) -> tuple[str, ...]:
        return self.current.groups

    @property
    def event_id(self) -> str:
        return self.current.event_id

    def group_keys_of(self, entry: HistoryEntry, settings: ProcessorSettings) -> tuple[str, ...]:
        return self.keys_for(entry.groups, settings)

    def keys_for(self, suffixes: tuple[str, ...], settings: ProcessorSettings) -> tuple[str, ...]:
        return group_keys(self.tenant, self.vendor, suffixes, cross_vendor=settings.cross_vendor_tenant)

    def to_json(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "vendor": self.vendor,
            "agent_id": self.agent_id,
            "rev": self.rev,
            "latest_ms": self.latest_ms,
            "dropped_late": self.dropped_late,
            "dropped_ids": list(self.dropped_ids),
            "former_groups": list(self.former_groups),
            "history": [entry.to_json() for entry in self.history],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AgentRecord:
        return cls(
            data["tenant"], data["vendor"], data["agent_id"], data["rev"], data["latest_ms"],
            tuple(HistoryEntry.from_json(e) for e in data["history"]), data.get("dropped_late", 0),
            tuple(data.get("dropped_ids", ())), tuple(data.get("former_groups", ())),
        )

    def view(self) -> dict[str, Any]:
        """The agent's current state for the query API."""
        return {
            "agent": self.key,
            "tenant": self.tenant,
            "vendor": self.vendor,
            "agent_id": self.agent_id,
            "state": self.state.value,
            "since_ms": self.since_ms,
            "reason": self.reason,
            "groups": list(self.groups),
            "event_id": self.event_id,
            "dropped_late": self.dropped_late,
        }


Outcome = Literal["live", "late", "duplicate", "too_late"]
#: Too-late event ids an agent remembers: replays after a crash repeat at most a commit interval's worth.
MAX_DROPPED_IDS = 32
#: Former groups an agent remembers (an agent moves among a handful of campaigns, queues and skills).
MAX_FORMER_GROUPS = 64


@dataclass(frozen=True, slots=True)
class AgentUpdate:
    """Result of one event: the record to store, the deltas to send (keyed by ``delta.group``)."""

    record: AgentRecord
    deltas: tuple[GroupDelta, ...]
    outcome: Outcome


def _prune(history: tuple[HistoryEntry, ...], cutoff: int) -> int:
    """How many leading entries to drop: those whose segment ended at or before the cutoff (never the newest)."""
    drop = 0
    while drop + 1 < len(history) and history[drop + 1].occurred_ms <= cutoff:
        drop += 1
    return drop


def _former(former: tuple[str, ...], pruned: tuple[HistoryEntry, ...]) -> tuple[str, ...]:
    """``former`` with the groups of the pruned entries, each moved to the end (latest), bounded."""
    if not pruned:
        return former
    latest = dict.fromkeys(former)
    for entry in pruned:
        for group in (*entry.prior_groups, *entry.groups):
            latest.pop(group, None)
            latest[group] = None
    return tuple(latest)[-MAX_FORMER_GROUPS:]


def _resend_live(record: AgentRecord, event: AgentStateChanged, settings: ProcessorSettings) -> tuple[GroupDelta, ...]:
    """The agent's current live snapshot (None where it is not a member now) to its former groups, the
    groups of a too-late event and its current ones: what a lost delta of a pruned entry would have said."""
    groups = {*record.keys_for(record.former_groups, settings), *record.keys_for(event_group_suffixes(event), settings),
              *record.group_keys_of(record.current, settings)}
    current = record.current
    return _deltas(record, groups, (), current.occurred_ms, current.occurred_ms, current, settings, replay=True)


def _closed_segments(record: AgentRecord) -> list[tuple[int, int, AgentState, int]]:
    """``(start, end, state, history index)`` of every closed segment, empty ones included."""
    h = record.history
    return [(h[i].occurred_ms, h[i + 1].occurred_ms, h[i].state, i) for i in range(len(h) - 1)]


def _contribution(
    record: AgentRecord, group: str, entry: HistoryEntry, settings: ProcessorSettings
) -> AgentState | None:
    in_group = group in record.group_keys_of(entry, settings)
    return entry.state if in_group and entry.state.logged_in else None


def _deltas(
    record: AgentRecord,
    live_groups: Iterable[str],
    pane_groups: Iterable[str],
    lo: int,
    hi: int,
    cause: HistoryEntry,
    settings: ProcessorSettings,
    *,
    replay: bool = False,
) -> tuple[GroupDelta, ...]:
    """Snapshots for the given groups: live membership, and closed segments in the panes over [lo, hi)."""
    cutoff = record.latest_ms - settings.retention_ms
    panes = [p for p in pane_starts(settings.pane_ms, lo, hi) if p >= cutoff]
    live_set = set(live_groups)
    pane_set = set(pane_groups) if panes else set()
    closed = _closed_segments(record) if pane_set else []
    current = record.current
    before = record.history[-2] if len(record.history) > 1 else None
    out = []
    for group in sorted(live_set | pane_set):
        live = None
        if group in live_set:
            live = LiveSnapshot(
                state=_contribution(record, group, current, settings),
                since_ms=current.occurred_ms,
                event_id=current.event_id,
                reason=current.reason,
                previous=_contribution(record, group, before, settings) if before else None,
            )
        contributions = []
        if group in pane_set:
            mine: list[Segment] = [
                (s, e, st) for s, e, st, i in closed
                if group in record.group_keys_of(record.history[i], settings)
            ]
            for pane in panes:
                contributions.append(
                    PaneContribution(pane, tuple(clip_segments(mine, pane, pane + settings.pane_ms)))
                )
        out.append(GroupDelta(
            group=group, agent=record.key, rev=record.rev, event_id=cause.event_id,
            occurred_ms=cause.occurred_ms, latest_ms=record.latest_ms, live=live,
            panes=tuple(contributions), replay=replay,
        ))
    return tuple(out)


def apply_agent_event(
    record: AgentRecord | None, event: AgentStateChanged, settings: ProcessorSettings
) -> AgentUpdate:
    """Fold one event into the agent's record; return the new record and the group deltas to send."""
    if record is None:
        record = AgentRecord(event.tenant, event.vendor, event.agent_id, 0, to_millis(event.occurred_at), ())
    history = record.history
    for entry in history:
        if entry.event_id == event.event_id:
            # re-send what this event's first processing sent (its deltas may have been lost with a
            # crash after the table write), as current snapshots: superseded parts are ignored by groups
            groups = {
                *record.group_keys_of(entry, settings),
                *record.keys_for(entry.prior_groups, settings),
                *record.group_keys_of(record.current, settings),
            }
            deltas = _deltas(record, groups, groups, entry.emit_lo, entry.emit_hi, entry, settings, replay=True)
            return AgentUpdate(record, deltas, "duplicate")
    t = to_millis(event.occurred_at)
    order = (t, event.event_id)
    cutoff = record.latest_ms - settings.retention_ms
    if history and order < history[0].order and history[0].occurred_ms <= cutoff:
        if event.event_id in record.dropped_ids:
            return AgentUpdate(record, _resend_live(record, event, settings), "too_late")
        remembered = (*record.dropped_ids, event.event_id)[-MAX_DROPPED_IDS:]
        return AgentUpdate(replace(record, dropped_late=record.dropped_late + 1, dropped_ids=remembered),
                           _resend_live(record, event, settings), "too_late")

    position = bisect.bisect_left([e.order for e in history], order)
    live = position == len(history)
    previous = history[position - 1] if position else None
    if live:
        lo, hi = (previous.occurred_ms if previous else t), t
    else:
        lo, hi = t, history[position].occurred_ms
    entry = HistoryEntry(
        t, event.event_id, event.state, event.reason, event_group_suffixes(event), lo, hi,
        previous.groups if previous else (),
    )
    latest = max(record.latest_ms, t) if history else t
    grown = (*history[:position], entry, *history[position:])
    drop = _prune(grown, latest - settings.retention_ms)
    new = replace(record, rev=record.rev + 1, latest_ms=latest, history=grown[drop:],
                  former_groups=_former(record.former_groups, grown[:drop]))

    previous_groups = record.group_keys_of(previous, settings) if previous else ()
    own_groups = new.group_keys_of(entry, settings)
    if live:
        # the open segment of `previous` closes: its groups get closed segments, both get live snapshots
        deltas = _deltas(new, {*previous_groups, *own_groups}, previous_groups, lo, hi, entry, settings)
    else:
        # a segment of `previous` splits: [t, next) now belongs to this event; live state unchanged
        deltas = _deltas(new, (), {*previous_groups, *own_groups}, lo, hi, entry, settings)
    return AgentUpdate(new, deltas, "live" if live else "late")


def agent_segments(record: AgentRecord, watermark: int) -> list[Segment]:
    """The agent's retained segments, the open one counted up to the watermark."""
    segments: list[Segment] = [(s, e, st) for s, e, st, _ in _closed_segments(record)]
    current = record.current
    if watermark > current.occurred_ms:
        segments.append((current.occurred_ms, watermark, current.state))
    return segments


def agent_window_stats(record: AgentRecord, spec: WindowSpec, start_ms: int, watermark: int) -> WindowStats:
    """One window of one agent, computed from its own bounded history (its per-agent windowed view)."""
    return summarize(spec.name, start_ms, start_ms + spec.size_ms, watermark, agent_segments(record, watermark))


def agent_window_series(
    record: AgentRecord, spec: WindowSpec, watermark: int, settings: ProcessorSettings
) -> list[WindowStats]:
    """Every retained window of the agent up to the watermark, oldest first."""
    starts = spec.starts_from(record.latest_ms - settings.retention_ms, watermark)
    segments = agent_segments(record, watermark)
    return [summarize(spec.name, s, s + spec.size_ms, watermark, segments) for s in starts]
