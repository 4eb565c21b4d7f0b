"""The simulated contact centre: tenants, agents, and their lazily generated timelines.

Timelines are generated a local day at a time for a whole tenant (so record ids are time
ordered) and never change once generated; everything before ``generated_until`` is final.
Ground-truth queries live in :mod:`connector.simulator.truth`.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from connector.model import AgentState
from connector.simulator.clock import to_ms
from connector.simulator.lifecycle import Change, local_midnight_ms, plan_agent_day, plan_tenant_extras
from connector.simulator.model import Conversation, Interaction, PresenceSpan, Segment, Tenant, TenantSpec
from connector.simulator.population import DEFAULT_TENANTS, build_tenant

__all__ = ["ContactCentre", "derive_state"]

_BUSY_CATEGORIES = frozenset({"Offered", "Ringing", "Connected", "Unexpected"})


def derive_state(presence: PresenceSpan, categories: Sequence[str]) -> AgentState:
    """The one rule from facts to normalized state, shared by every tenant and vendor."""
    if presence.kind == "offline":
        return AgentState.OFFLINE
    if any(c in _BUSY_CATEGORIES for c in categories):
        return AgentState.BUSY
    if categories:  # only wraps remain
        return AgentState.WRAP_UP
    if presence.kind == "ready":
        return AgentState.AVAILABLE
    assert presence.reason is not None
    return presence.reason.state


class _TenantTimeline:
    def __init__(self, tenant: Tenant, first_day: date, seed: int) -> None:
        self.tenant = tenant
        self.seed = seed
        self.zone = ZoneInfo(tenant.timezone)
        self.next_day = first_day
        self.generated_until = local_midnight_ms(first_day, self.zone)
        start = self.generated_until
        self.changes: dict[str, list[Change]] = {a.agent_id: [Change(start, "offline", None, None)]
                                                 for a in tenant.agents}
        self.record_ids: dict[str, list[int]] = {a.agent_id: [0] for a in tenant.agents}
        self.interactions: dict[str, list[Interaction]] = {a.agent_id: [] for a in tenant.agents}
        self.carry: dict[str, bool] = {a.agent_id: False for a in tenant.agents}
        self.extras: list[Conversation] = []
        self.unnumbered: list[tuple[int, int, str, int]] = []
        self._presence: dict[str, list[PresenceSpan]] = {}
        self._segments: dict[str, list[Segment]] = {}

    def extend_one_day(self) -> None:
        day = self.next_day
        for agent in self.tenant.agents:
            plan = plan_agent_day(self.tenant, agent, day, self.carry[agent.agent_id], self.seed)
            self.carry[agent.agent_id] = plan.carry_out
            changes = self.changes[agent.agent_id]
            for change in plan.changes:
                if change.at <= changes[-1].at:  # never reorder time; nudge by a millisecond
                    change = Change(changes[-1].at + 1, change.kind, change.reason, change.campaign_id)
                self.unnumbered.append((change.at, agent.index, agent.agent_id, len(changes)))
                changes.append(change)
                self.record_ids[agent.agent_id].append(0)
            self.interactions[agent.agent_id].extend(plan.interactions)
        self.extras.extend(plan_tenant_extras(self.tenant, day, self.seed))
        self.next_day = day + timedelta(days=1)
        self.generated_until = local_midnight_ms(self.next_day, self.zone)
        # Convoso-style record ids, 9 digits like the example's, in time order across the tenant:
        # number the changes of this local day now that it is final (night shifts spill into the next).
        final = sorted(u for u in self.unnumbered if u[0] < self.generated_until)
        self.unnumbered = [u for u in self.unnumbered if u[0] >= self.generated_until]
        for rank, (_, _, agent_id, position) in enumerate(final):
            self.record_ids[agent_id][position] = (day.toordinal() - 730_000) * 100_000 + rank + 1
        self._presence.clear()
        self._segments.clear()

    def presence(self, agent_id: str) -> list[PresenceSpan]:
        cached = self._presence.get(agent_id)
        if cached is None:
            changes, ids = self.changes[agent_id], self.record_ids[agent_id]
            cached = [
                PresenceSpan(seq, c.kind, c.at, changes[seq + 1].at if seq + 1 < len(changes) else None,
                             c.reason, c.campaign_id, ids[seq])
                for seq, c in enumerate(changes)
            ]
            self._presence[agent_id] = cached
        return cached

    def segments(self, agent_id: str) -> list[Segment]:
        cached = self._segments.get(agent_id)
        if cached is None:
            cached = _sweep(self.presence(agent_id), self.interactions[agent_id])
            self._segments[agent_id] = cached
        return cached


def _sweep(spans: list[PresenceSpan], interactions: list[Interaction]) -> list[Segment]:
    """Cut the agent's time at every presence change and interaction phase edge; merge equal runs."""
    points = {s.start for s in spans}
    for inter in interactions:
        points.add(inter.offered)
        points.update(p.start for p in inter.phases)
        points.update(p.end for p in inter.phases)
    offered = [i.offered for i in interactions]
    segments: list[Segment] = []
    span_index = 0
    for point in sorted(points):
        while span_index + 1 < len(spans) and spans[span_index + 1].start <= point:
            span_index += 1
        span = spans[span_index]
        high = bisect.bisect_right(offered, point)
        active = []
        for inter in interactions[max(0, high - 4):high]:
            category = inter.category_at(point)
            if category is not None:
                active.append((inter.guid, inter.medium, category))
        state = derive_state(span, [c for _, _, c in active])
        key = (state, span.seq, tuple(active))
        if segments and (segments[-1].state, segments[-1].presence.seq, segments[-1].active) == key:
            continue
        if segments:
            last = segments[-1]
            segments[-1] = Segment(last.start, point, last.state, last.presence, last.active)
        segments.append(Segment(point, None, state, span, tuple(active)))
    return segments


class ContactCentre:
    """Deterministic from ``seed``; timelines start at local midnight before ``history_start``."""

    def __init__(self, seed: int = 1, tenants: Sequence[TenantSpec] = DEFAULT_TENANTS, *,
                 history_start: datetime) -> None:
        self.seed = seed
        self.tenants: dict[str, Tenant] = {}
        self._timelines: dict[str, _TenantTimeline] = {}
        for spec in tenants:
            if spec.name in self.tenants:
                raise ValueError(f"tenant {spec.name!r} defined twice")
            tenant = build_tenant(spec, seed)
            first_day = history_start.astimezone(ZoneInfo(spec.timezone)).date()
            self.tenants[spec.name] = tenant
            self._timelines[spec.name] = _TenantTimeline(tenant, first_day, seed)

    def tenant(self, name: str) -> Tenant:
        try:
            return self.tenants[name]
        except KeyError:
            raise KeyError(f"no tenant {name!r}; known: {sorted(self.tenants)}") from None

    def ensure(self, until: int | datetime) -> None:
        """Generate every tenant's timeline at least past ``until`` (epoch ms or datetime)."""
        until_ms = to_ms(until) if isinstance(until, datetime) else until
        for timeline in self._timelines.values():
            while timeline.generated_until <= until_ms:
                timeline.extend_one_day()

    def history_start(self, tenant: str) -> int:
        return self._timelines[tenant].changes[self.tenant(tenant).agents[0].agent_id][0].at

    def generated_until(self, tenant: str) -> int:
        return self._timelines[tenant].generated_until

    def presence(self, tenant: str, agent_id: str) -> list[PresenceSpan]:
        return self._timelines[tenant].presence(agent_id)

    def interactions(self, tenant: str, agent_id: str) -> list[Interaction]:
        return self._timelines[tenant].interactions[agent_id]

    def segments(self, tenant: str, agent_id: str) -> list[Segment]:
        return self._timelines[tenant].segments(agent_id)

    def conversations(self, tenant: str) -> list[Conversation]:
        """Every conversation: each answered chat by its agent, plus unserved and bot ones."""
        timeline = self._timelines[tenant]
        found = list(timeline.extras)
        for agent in timeline.tenant.agents:
            for inter in timeline.interactions[agent.agent_id]:
                if inter.medium == "Chat":
                    served = inter.answered
                    found.append(Conversation(inter.offered, agent.label if served else None,
                                              agent.agent_id if served else None))
        return sorted(found, key=lambda c: c.ts)
