"""The simulated contact centre: determinism, life cycles, and ground-truth queries."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from connector.model import AgentState
from connector.simulator import SimClock, Simulation
from connector.simulator.contact_centre import ContactCentre
from connector.simulator.simulation import DEFAULT_START

START = datetime(2025, 5, 26, tzinfo=UTC)
HOUR = 3_600_000


def _fingerprint(centre: ContactCentre, tenant: str) -> list[tuple[object, ...]]:
    return [(a.agent_id, s.start, s.end, s.state, s.presence.record_id)
            for a in centre.tenant(tenant).agents for s in centre.segments(tenant, a.agent_id)]


def test_same_seed_same_centre_whatever_the_generation_order() -> None:
    far = ContactCentre(11, history_start=START)
    far.ensure(START + timedelta(days=3))
    step = ContactCentre(11, history_start=START)
    for hours in range(0, 73, 5):
        step.ensure(START + timedelta(hours=hours))
    step.ensure(START + timedelta(days=3))
    other = ContactCentre(12, history_start=START)
    other.ensure(START + timedelta(days=3))
    for tenant in far.tenants:
        assert _fingerprint(far, tenant) == _fingerprint(step, tenant)
        assert _fingerprint(far, tenant) != _fingerprint(other, tenant)
    assert [a.email for a in far.tenant("demo-vonage").agents] == [a.email for a in step.tenant("demo-vonage").agents]


def test_life_cycles_cover_what_the_issue_asks_for() -> None:
    sim = Simulation(seed=7)
    centre = sim.centre
    centre.ensure(sim.now_ms())
    for name, tenant in centre.tenants.items():
        states: Counter[AgentState] = Counter()
        reasons: set[str] = set()
        concurrent = 0
        for agent in tenant.agents:
            for seg in centre.segments(name, agent.agent_id):
                if seg.end is not None and seg.end <= sim.now_ms():
                    states[seg.state] += 1
                    concurrent += len(seg.active) > 1
            reasons |= {s.reason.name for s in centre.presence(name, agent.agent_id) if s.reason}
        assert set(AgentState) - {AgentState.UNKNOWN} <= set(states), (name, states)
        assert {"Break", "Lunch"} <= reasons, name
        if name != "demo-convoso":  # phone-only dialer: no overlapping work
            assert concurrent > 0, name  # e.g. a chat while an email is open
        idle = [a for a in tenant.agents if a.inactive]
        assert idle and all(len(centre.presence(name, a.agent_id)) == 1 for a in idle)  # never active
        phases = {p.category for a in tenant.agents for i in centre.interactions(name, a.agent_id) for p in i.phases}
        assert {"Ringing", "Connected", "Wrap", "Unexpected"} <= phases


def test_chat_during_email_in_truth() -> None:
    sim = Simulation(seed=7)
    tenant = "demo-vonage"
    sim.centre.ensure(sim.now_ms())
    mixed = [seg for a in sim.centre.tenant(tenant).agents for seg in sim.centre.segments(tenant, a.agent_id)
             if {m for _, m, _ in seg.active} == {"Email", "Chat"}]
    assert mixed and all(seg.state is AgentState.BUSY for seg in mixed
                         if any(c in ("Connected", "Ringing", "Offered") for _, _, c in seg.active))


def test_counts_agree_with_states_and_filters() -> None:
    sim = Simulation(seed=7)
    tenant = sim.centre.tenant("demo-convoso")
    at = sim.now_ms() - HOUR
    states = sim.truth.states_at(tenant.name, at)
    everyone = sim.truth.counts(tenant.name, at)
    assert everyone.logged_in == sum(s.logged_in for s in states.values()) > 0
    assert everyone.available == sum(s is AgentState.AVAILABLE for s in states.values())
    groups = sim.truth.group_counts(tenant.name, at)
    assert groups["all"] == everyone
    per_campaign = [groups[f"campaign:{c.campaign_id}"] for c in tenant.campaigns]
    assert sum(c.logged_in for c in per_campaign) == everyone.logged_in  # each session is in one campaign
    for skill in tenant.skills:
        assert groups[f"skill:{skill}"].logged_in <= everyone.logged_in
    agent = tenant.agents[0]
    alone = sim.truth.counts(tenant.name, at, user_id=agent.agent_id)
    assert alone.logged_in == int(states[agent.agent_id].logged_in)


def test_truth_at_now_moves_with_the_clock() -> None:
    sim = Simulation(seed=7)
    first = sim.truth.states_at("demo-rocketchat", sim.now())
    changed = False
    for _ in range(30):
        sim.advance(60)
        changed |= sim.truth.states_at("demo-rocketchat", sim.now()) != first
    assert changed
    assert sim.now() == DEFAULT_START + timedelta(minutes=30)


def test_clock_speeds() -> None:
    frozen = SimClock(DEFAULT_START)
    assert frozen.now() == frozen.now() == DEFAULT_START
    assert frozen.advance(timedelta(seconds=1.5)) == DEFAULT_START + timedelta(seconds=1.5)
    fast = SimClock(DEFAULT_START, speed=100_000)
    first = fast.now_ms()
    for _ in range(1000):
        if fast.now_ms() > first:
            break
    assert fast.now_ms() > first
    fast.set(START)
    assert abs(fast.now_ms() - int(START.timestamp() * 1000)) < 60_000


def test_a_tenant_larger_than_the_name_catalogue_is_built() -> None:
    """24 x 23 first/last names: a 2,000-agent tenant (demo --agents, benchmarks) still gets unique names."""
    import dataclasses

    from connector.simulator.population import DEFAULT_TENANTS, build_tenant

    spec = dataclasses.replace(DEFAULT_TENANTS[1], agents=2000)
    tenant = build_tenant(spec, 3)
    names = {f"{a.first_name} {a.last_name}" for a in tenant.agents}
    assert len(tenant.agents) == 2000 and len(names) == 2000
