"""One agent's day: log in, take work, wrap, take breaks and lunch, log out (or forget to).

Each (tenant, agent, local day) has its own random stream, so a day's plan never depends on
which days were generated before or in what order: the timeline can be extended lazily and
stays identical for a given seed. The only thing carried between days is whether the agent
forgot to log out (their Ready status then runs on overnight, giving Kore.ai-style >24 h intervals).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from connector.simulator.model import (
    Agent,
    Conversation,
    Interaction,
    Medium,
    Phase,
    PresenceKind,
    Reason,
    Tenant,
)
from connector.simulator.population import LOGIN_REASON

__all__ = ["Change", "DayPlan", "local_midnight_ms", "plan_agent_day", "plan_tenant_extras"]

BOT_LABEL = "Dialog Bot"


@dataclass(frozen=True, slots=True)
class Change:
    """The agent chose a new presence at ``at``."""

    at: int
    kind: PresenceKind
    reason: Reason | None
    campaign_id: str | None


@dataclass(slots=True)
class DayPlan:
    changes: list[Change] = field(default_factory=list)
    interactions: list[Interaction] = field(default_factory=list)
    carry_out: bool = False


def local_midnight_ms(day: date, zone: ZoneInfo) -> int:
    return round(datetime.combine(day, time(), zone).timestamp() * 1000)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


class _DayBuilder:
    def __init__(self, tenant: Tenant, agent: Agent, rng: random.Random, campaign: str | None) -> None:
        self.tenant, self.agent, self.rng, self.campaign = tenant, agent, rng, campaign
        self.spec = tenant.spec
        self.plan = DayPlan()

    def change(self, at: int, kind: PresenceKind, reason: Reason | None = None) -> None:
        self.plan.changes.append(Change(at, kind, reason, self.campaign))

    def pause(self, at: int, reason: Reason) -> int:
        self.change(at, "pause", reason)
        at += int(reason.mean_seconds * self.rng.uniform(0.7, 1.3) * 1000)
        self.change(at, "ready")
        return at

    def interaction(self, at: int, medium: Medium) -> Interaction:
        rng, spec = self.rng, self.spec
        guid = _uuid(rng)
        ring_start = at + int(rng.uniform(300, 1500))
        ring_end = ring_start + int(rng.uniform(1000, 5000) if medium == "Email" else rng.uniform(3000, 15000))
        if rng.random() < spec.no_answer_rate:
            timeout = ring_start + 20_000
            phases: tuple[Phase, ...] = (
                Phase("Ringing", ring_start, timeout),
                Phase("Unexpected", timeout, timeout + 150, "NoAnswer"),
            )
        else:
            factor = {"Phone": 1.0, "Chat": 1.3, "Email": 2.0}[medium]
            handle = min(max(rng.expovariate(1 / (spec.mean_handle_seconds * factor)), 20.0), 3600.0)
            wrap = min(max(rng.expovariate(1 / spec.mean_wrap_seconds), 3.0), 600.0)
            connected_end = ring_end + int(handle * 1000)
            phases = (
                Phase("Ringing", ring_start, ring_end),
                Phase("Connected", ring_end, connected_end),
                Phase("Wrap", connected_end, connected_end + int(wrap * 1000)),
            )
        if self.tenant.flavour == "convoso":
            direction = "Outbound"  # a dialer campaign
        else:
            direction = "Outbound" if medium == "Phone" and rng.random() < 0.1 else "Inbound"
        queue = rng.choice(self.agent.queue_ids) if self.agent.queue_ids else None
        return Interaction(guid, self.agent.agent_id, medium, direction, at, phases, self.campaign, queue)

    def bundle(self, at: int) -> int:
        """One offered interaction, sometimes with a chat arriving while it is open; returns when all end."""
        media, weights = zip(*self.tenant.media, strict=True)
        medium: Medium = self.rng.choices(media, weights)[0]
        first = self.interaction(at, medium)
        self.plan.interactions.append(first)
        end = first.end
        can_overlap = medium in ("Chat", "Email") and "Chat" in media
        if first.answered and can_overlap and self.rng.random() < self.spec.concurrency_rate:
            connected = first.phases[1]
            offset = connected.start + int((connected.end - connected.start) * self.rng.uniform(0.1, 0.7))
            second = self.interaction(offset, "Chat")
            self.plan.interactions.append(second)
            end = max(end, second.end)
        return end + 200


def plan_agent_day(tenant: Tenant, agent: Agent, day: date, carry_in: bool, seed: int) -> DayPlan:
    """Plan ``agent``'s shift starting on local ``day``; ``carry_in``: still logged in from before."""
    rng = random.Random(f"{seed}:{tenant.name}:{agent.agent_id}:{day.isoformat()}")
    spec = tenant.spec
    absent = rng.random() < spec.absence_rate
    if agent.inactive or day.weekday() not in agent.workdays or absent:
        return DayPlan(carry_out=carry_in)
    zone = ZoneInfo(tenant.timezone)
    start_local = datetime.combine(day, time(), zone) + timedelta(hours=agent.shift_start_hour)
    start = round(start_local.timestamp() * 1000) + int(rng.uniform(-600, 600) * 1000)
    end = start + int(agent.shift_hours * 3_600_000 * rng.uniform(0.95, 1.05))
    campaign = rng.choice(agent.campaign_ids) if agent.campaign_ids else None
    day_builder = _DayBuilder(tenant, agent, rng, campaign)
    at = start
    if not carry_in:
        settle = rng.uniform(*spec.login_settle_seconds)
        if settle > 0:
            day_builder.change(at, "login", LOGIN_REASON)
            at += int(settle * 1000)
    day_builder.change(at, "ready")  # after a forgotten logout: the agent re-selects Ready
    reasons = tenant.reasons
    breaks = [(start + int((hours + rng.uniform(-0.3, 0.3)) * 3_600_000), reason)
              for hours, reason in ((2.0, reasons[0]), (4.0, reasons[1]), (6.0, reasons[0]))]
    adhoc = reasons[2:]
    while at < end:
        if breaks and at >= breaks[0][0]:
            at = day_builder.pause(at, breaks.pop(0)[1])
            continue
        if adhoc and rng.random() < spec.adhoc_pause_rate:
            at = day_builder.pause(at, rng.choice(adhoc))
            continue
        at += 1000 + int(rng.expovariate(1 / spec.mean_idle_seconds) * 1000)
        if at >= end or (breaks and at >= breaks[0][0]):
            continue
        at = day_builder.bundle(at)
    if rng.random() < spec.forgot_logout_rate:
        day_builder.plan.carry_out = True
    else:
        day_builder.change(at, "offline")
    return day_builder.plan


def _poisson_times(rng: random.Random, start: int, end: int, per_hour: float) -> list[int]:
    times: list[int] = []
    if per_hour <= 0:
        return times
    at = start
    while True:
        at += int(rng.expovariate(per_hour / 3_600_000))
        if at >= end:
            return times
        times.append(at)


def plan_tenant_extras(tenant: Tenant, day: date, seed: int) -> list[Conversation]:
    """Conversations nobody served (``unspecified``) and ones a bot served, for Rocket.Chat tenants."""
    if tenant.flavour != "rocketchat":
        return []
    rng = random.Random(f"{seed}:{tenant.name}:{day.isoformat()}:extras")
    zone = ZoneInfo(tenant.timezone)
    open_at = local_midnight_ms(day, zone) + 8 * 3_600_000
    close_at = open_at + 12 * 3_600_000
    found = [Conversation(ts, None) for ts in _poisson_times(rng, open_at, close_at, tenant.spec.unassigned_per_hour)]
    found += [Conversation(ts, BOT_LABEL) for ts in _poisson_times(rng, open_at, close_at, tenant.spec.bot_per_hour)]
    return sorted(found, key=lambda c: c.ts)
