"""A plain reference fold: what the incremental tables must equal, computed the obvious way.

De-duplicate by event_id, sort each agent's events by (occurred_at, event_id),
replay them. Live state: the last event. Group counts: count the agents whose last
event puts them in the group in a logged-in state. Window statistics: cut the
window at every segment boundary and, in each piece, look up every agent's state.
No history bounds, no deltas, no panes: slow and obviously right. Used by tests.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from connector.model import AgentState, AgentStateChanged, to_millis
from connector.processors.health import LOGGED_IN_STATES, Counts
from connector.processors.keys import agent_key, event_group_suffixes, group_keys
from connector.processors.settings import ProcessorSettings
from connector.processors.windows import WindowSpec, WindowStats

__all__ = ["Reference", "ReferenceAgent"]


@dataclass(frozen=True, slots=True)
class ReferenceAgent:
    state: AgentState
    since_ms: int
    reason: str | None
    groups: tuple[str, ...]
    event_id: str


@dataclass(frozen=True, slots=True)
class _Span:
    start: int
    end: int  # the watermark for the last one
    state: AgentState
    groups: tuple[str, ...]  # full group keys


class Reference:
    """Every table, recomputed from the whole de-duplicated event set at a given watermark."""

    def __init__(self, events: Iterable[AgentStateChanged], settings: ProcessorSettings, watermark: int) -> None:
        self.watermark = watermark
        seen: set[str] = set()
        by_agent: dict[str, list[AgentStateChanged]] = {}
        for event in events:
            if event.event_id not in seen:
                seen.add(event.event_id)
                key = agent_key(event.tenant, event.vendor, event.agent_id)
                by_agent.setdefault(key, []).append(event)
        self.agents: dict[str, ReferenceAgent] = {}
        self.spans: dict[str, list[_Span]] = {}
        for key, agent_events in by_agent.items():
            ordered = sorted(agent_events, key=lambda e: (to_millis(e.occurred_at), e.event_id))
            last = ordered[-1]
            self.agents[key] = ReferenceAgent(
                last.state, to_millis(last.occurred_at), last.reason, event_group_suffixes(last), last.event_id
            )
            spans = []
            for i, event in enumerate(ordered):
                start = to_millis(event.occurred_at)
                end = to_millis(ordered[i + 1].occurred_at) if i + 1 < len(ordered) else max(watermark, start)
                keys = group_keys(
                    event.tenant, event.vendor, event_group_suffixes(event), cross_vendor=settings.cross_vendor_tenant
                )
                spans.append(_Span(start, end, event.state, keys))
            self.spans[key] = spans

    def all_groups(self) -> set[str]:
        return {g for spans in self.spans.values() for span in spans for g in span.groups}

    def group_members(self, group: str) -> dict[str, AgentState]:
        """Agents counted in the group now: their last event puts them there, logged in."""
        members = {}
        for key, spans in self.spans.items():
            last = spans[-1]
            if group in last.groups and last.state.logged_in:
                members[key] = last.state
        return members

    def group_counts(self, group: str) -> Counts:
        counts = Counts()
        for state in self.group_members(group).values():
            counts = counts.moved(None, state)
        return counts

    def agent_window(self, agent: str, spec: WindowSpec, start: int) -> WindowStats:
        return self._stats(spec, start, [self.spans[agent]])

    def group_window(self, group: str, spec: WindowSpec, start: int) -> WindowStats:
        timelines = [[s for s in spans if group in s.groups] for spans in self.spans.values()]
        return self._stats(spec, start, timelines)

    def _stats(self, spec: WindowSpec, start: int, timelines: list[list[_Span]]) -> WindowStats:
        end = start + spec.size_ms
        covered_end = min(end, max(self.watermark, start))
        cuts = {start, covered_end}
        for spans in timelines:
            for span in spans:
                cuts.update(t for t in (span.start, span.end) if start < t < covered_end)
        points = sorted(cuts)
        state_ms = [0] * len(LOGGED_IN_STATES)
        longest = run = 0
        for a, b in itertools.pairwise(points):
            counts = [0] * len(LOGGED_IN_STATES)
            for spans in timelines:
                for span in spans:
                    if span.start <= a < span.end and span.state.logged_in:
                        counts[LOGGED_IN_STATES.index(span.state)] += 1
            for i, n in enumerate(counts):
                state_ms[i] += n * (b - a)
            if sum(counts) > 0 and counts[LOGGED_IN_STATES.index(AgentState.AVAILABLE)] == 0:
                run += b - a
                longest = max(longest, run)
            else:
                run = 0
        return WindowStats(spec.name, start, end, covered_end - start, tuple(state_ms), longest)
