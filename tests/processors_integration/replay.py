"""Ground-truth events: the simulated contact centre's segments as AgentStateChanged events, and its answers.

Each agent's segments overlapping the replayed span become one event each (the one
in force at the start included), with the campaign it is logged into and its skills,
so the tenant, campaign and skill groups can be compared with ``GroundTruth``
directly. Events carry one queue id (the model has one), so queue groups are checked
against the reference fold of the same events instead.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from connector.model import AgentGroupObserved, AgentStateChanged, deterministic_event_id, from_millis, to_millis
from connector.simulator.simulation import DEFAULT_START, Simulation

__all__ = ["VENDOR_OF_FLAVOUR", "Replay", "expected_counts", "observations"]

VENDOR_OF_FLAVOUR = {"convoso": "convoso-productivity", "vonage": "vonage", "koreai": "koreai",
                     "rocketchat": "rocketchat"}


@dataclass(frozen=True)
class Replay:
    """The events of ``[start, end]`` of a seeded simulation, in a mildly disordered arrival order."""

    sim: Simulation
    start: datetime
    end: datetime
    events: tuple[AgentStateChanged, ...]

    @classmethod
    def build(cls, *, seed: int = 7, minutes: float = 30, start: datetime = DEFAULT_START,
              duplicates: float = 0.03) -> Replay:
        sim = Simulation(seed=seed, start=start)
        end = start + timedelta(minutes=minutes)
        events = list(_events(sim, start, end))
        rng = random.Random(seed)
        events.sort(key=lambda e: to_millis(e.occurred_at))
        # arrival order: a few neighbours swapped (late events) and a few repeated (at-least-once sources)
        for i in range(len(events) - 1):
            if rng.random() < 0.05:
                events[i], events[i + 1] = events[i + 1], events[i]
        for i in sorted(rng.sample(range(len(events)), int(len(events) * duplicates)), reverse=True):
            events.insert(i + rng.randint(1, 20), events[i])
        return cls(sim, start, end, tuple(events))

    @property
    def end_ms(self) -> int:
        return to_millis(self.end)

    def tenants(self) -> dict[str, str]:
        """Tenant -> vendor of its per-agent events."""
        return {t.name: VENDOR_OF_FLAVOUR[t.flavour] for t in self.sim.centre.tenants.values()}


def _events(sim: Simulation, start: datetime, end: datetime) -> Iterator[AgentStateChanged]:
    for tenant in sim.centre.tenants.values():
        vendor = VENDOR_OF_FLAVOUR[tenant.flavour]
        for agent in tenant.agents:
            for segment in sim.truth.timeline(tenant.name, agent.agent_id, start, end + timedelta(milliseconds=1)):
                yield AgentStateChanged(
                    event_id=deterministic_event_id(vendor, tenant.name, agent.agent_id, segment.start),
                    vendor=vendor, tenant=tenant.name, source=f"{vendor}-replay", agent_id=agent.agent_id,
                    state=segment.state, previous_state=None, vendor_state=segment.state.value,
                    occurred_at=from_millis(segment.start), source_cursor="{}",
                    reason=segment.presence.reason.name if segment.presence.reason else None,
                    campaign_id=segment.presence.campaign_id, queue_id=agent.queue_ids[0] if agent.queue_ids else None,
                    skills=agent.skills,
                )


def expected_counts(replay: Replay) -> dict[str, tuple[int, int]]:
    """Ground truth at the end of the span: group key -> (logged_in, available), for the groups truth knows."""
    expected: dict[str, tuple[int, int]] = {}
    for tenant, vendor in replay.tenants().items():
        for key, counts in replay.sim.truth.group_counts(tenant, replay.end).items():
            if key.startswith("queue:"):
                continue
            suffix = "tenant:all" if key == "all" else key
            expected[f"{tenant}:{vendor}:{suffix}"] = (counts.logged_in, counts.available)
            if key == "all":
                expected[f"{tenant}:*:tenant:all"] = (counts.logged_in, counts.available)
    return expected


def observations(replay: Replay, tenant: str = "demo-convoso") -> list[AgentGroupObserved]:
    """Convoso user-activity counts at the end of the span: the whole account and each campaign."""
    truth = replay.sim.truth.group_counts(tenant, replay.end)
    out = []
    for key, counts in truth.items():
        if key == "all" or key.startswith("campaign:"):
            out.append(AgentGroupObserved(
                event_id=deterministic_event_id("convoso-user-activity", tenant, key, replay.end_ms),
                vendor="convoso-user-activity", tenant=tenant, source="user-activity-replay", group_key=key,
                observed_at=replay.end, available_agents=counts.available, logged_in_agents=counts.logged_in,
                source_cursor="{}", campaign_id=key.partition(":")[2] or None,
            ))
    return out
