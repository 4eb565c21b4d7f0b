"""Deterministic tenants and agents: the same seed always gives the same people and ids.

Ids follow each vendor's documented shapes, because connectors break on exactly these
details: Convoso numeric strings, Vonage zero-padded ids ("0003"), Kore.ai ``u-<uuid>``,
Rocket.Chat 17-character Meteor ids.
"""

from __future__ import annotations

import dataclasses
import random
import uuid
from datetime import UTC, datetime

from connector.model import AgentState
from connector.simulator.model import Agent, Campaign, Flavour, Medium, Queue, Reason, Tenant, TenantSpec

__all__ = ["DEFAULT_TENANTS", "LOGIN_REASON", "REASONS", "build_tenant", "daytime_tenants", "daytime_zone"]

AWAY, BUSY = AgentState.AWAY, AgentState.BUSY

#: Convoso's login moment: the example's availability_code "1" / availability_name "Login".
LOGIN_REASON = Reason("1", "Login", AWAY, 4.0, description="")

REASONS: dict[Flavour, tuple[Reason, ...]] = {
    "convoso": (
        Reason("2", "Break", AWAY, 900, description="Scheduled break"),
        Reason("3", "Lunch", AWAY, 2700, description="Lunch break"),
        Reason("4", "Meeting", AWAY, 1500, description="Team meeting"),
        Reason("5", "Training", AWAY, 1800, description="Training session"),
    ),
    "vonage": (
        Reason("break", "Break", AWAY, 900),
        Reason("lunch", "Lunch", AWAY, 2700, extended=True),
        Reason("meeting", "Meeting", AWAY, 1500, extended=True),
        Reason("comfort", "Comfort Break", AWAY, 300),
    ),
    "koreai": (
        Reason("BREAK", "Break", AWAY, 900),
        Reason("LUNCH", "Lunch", AWAY, 2700),
        Reason("NBK", "Not bookable", BUSY, 1200, description="Back-office work"),
        Reason("MEETING", "Meeting", AWAY, 1500),
    ),
    "rocketchat": (
        Reason("break", "Break", AWAY, 900),
        Reason("lunch", "Lunch", AWAY, 2700),
        Reason("meeting", "Meeting", AWAY, 1500),
    ),
}

MEDIA: dict[Flavour, tuple[tuple[Medium, float], ...]] = {
    "convoso": (("Phone", 1.0),),
    "vonage": (("Phone", 0.6), ("Chat", 0.2), ("Email", 0.2)),
    "koreai": (("Chat", 0.7), ("Phone", 0.3)),
    "rocketchat": (("Chat", 1.0),),
}

DEFAULT_TENANTS: tuple[TenantSpec, ...] = (
    # The Convoso example's event_epoch 1748433437 has created_at 04:57:17: Pacific time.
    TenantSpec("demo-convoso", "convoso", "America/Los_Angeles", login_settle_seconds=(2.0, 6.0)),
    TenantSpec("demo-vonage", "vonage", "Europe/London"),
    TenantSpec("demo-koreai", "koreai", "Asia/Kolkata"),
    TenantSpec("demo-rocketchat", "rocketchat", "America/New_York", concurrency_rate=0.4),
)



def daytime_zone(at: datetime, local_hour: int = 13) -> str:
    """A fixed-offset zone (``Etc/GMT±N``) where it is about ``local_hour`` at ``at``.

    For live runs (tests, the demo) whose wall clock may be anyone's night: the default
    tenants keep their vocabularies, just moved to where their agents are at work now.
    """
    shift = (local_hour - at.astimezone(UTC).hour) % 24
    if shift > 12:
        shift -= 24
    return "Etc/GMT" + (f"{-shift:+d}" if shift else "")


def daytime_tenants(at: datetime, tenants: tuple[TenantSpec, ...] = DEFAULT_TENANTS,
                    local_hour: int = 13) -> tuple[TenantSpec, ...]:
    """``tenants`` with every time zone replaced by one where it is ``local_hour`` at ``at``."""
    zone = daytime_zone(at, local_hour)
    return tuple(dataclasses.replace(spec, timezone=zone) for spec in tenants)


_FIRST = ("Jane", "John", "Maria", "Wei", "Aisha", "Carlos", "Priya", "Tom", "Yuki", "Omar", "Lena", "Raj",
          "Sofia", "Ben", "Chloe", "Diego", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jon", "Kofi", "Lucia")
_LAST = ("Kim", "Doe", "Garcia", "Chen", "Khan", "Silva", "Patel", "Baker", "Sato", "Haddad", "Novak", "Iyer",
         "Rossi", "Moore", "Martin", "Lopez", "Brown", "Nazari", "Lee", "Tanaka", "Costa", "Berg", "Mensah")
_SKILLS = ("english", "spanish", "sales", "support", "billing")
_METEOR = "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz"
_CAMPAIGN_TYPES = ("Normal", "Normal", "Skill Routing", "Conversational AI", "SMS")


def _token(rng: random.Random, alphabet: str, length: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


def _agent_id(flavour: Flavour, index: int, rng: random.Random) -> str:
    if flavour == "convoso":
        return str(10_000_000 + index * 7919 + rng.randrange(7000))
    if flavour == "vonage":
        return f"{index + 1:04d}"
    if flavour == "koreai":
        return f"u-{uuid.UUID(int=rng.getrandbits(128), version=5)}"
    return _token(rng, _METEOR, 17)


def _shift(rng: random.Random) -> tuple[float, float]:
    """Day (70%), late (20%) or night (10%) shift start hour, and a shift length around 8 h."""
    pick = rng.random()
    if pick < 0.7:
        start = rng.uniform(6.0, 11.0)
    elif pick < 0.9:
        start = rng.uniform(12.0, 14.0)
    else:
        start = rng.uniform(20.0, 22.0)
    return round(start, 2), round(rng.uniform(7.5, 8.5), 2)


def build_tenant(spec: TenantSpec, seed: int) -> Tenant:
    """Build a tenant's agents, campaigns, queues and skills from ``seed`` alone."""
    rng = random.Random(f"{seed}:{spec.name}:population")
    flavour = spec.flavour
    campaigns = tuple(
        Campaign(str(1234 + 1111 * i), f"Campaign {i + 1}", _token(rng, "abcdefghijklmnopqrstuvwxyz0123456789", 31),
                 _CAMPAIGN_TYPES[i % len(_CAMPAIGN_TYPES)])
        for i in range(3)
    )
    queues = tuple(Queue(str(222 + 111 * i), f"Queue {i + 1}") for i in range(3))
    agents = []
    used_names: set[str] = set()
    for index in range(spec.agents):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        if len(used_names) >= len(_FIRST) * len(_LAST):
            last = f"{last}-{index}"  # every pair is taken (large tenants): the index keeps names unique
        while f"{first} {last}" in used_names:
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
        used_names.add(f"{first} {last}")
        email = f"{first}.{last}{index}@example.com".lower()
        username = f"{first}{last[0]}{index}".lower()
        if flavour == "koreai" and index == 2:
            first, last = "", ""  # the Kore.ai sample's third agent has empty names
        if flavour == "rocketchat" and index == 1:
            first, last = "", ""  # label falls back to the username ("agent5" in the example)
        if flavour == "rocketchat" and index == 2:
            first, last, username = "", "", ""  # label falls back to the id
        start_day = rng.randrange(7)
        workdays = frozenset((start_day + d) % 7 for d in range(5))
        shift_start, shift_hours = _shift(rng)
        skills = tuple(sorted(rng.sample(_SKILLS, rng.randint(1, 3))))
        agents.append(Agent(
            index=index,
            agent_id=_agent_id(flavour, index, rng),
            uid=_token(rng, "abcdefghijklmnopqrstuvwxyz0123456789", 30),
            email=email,
            first_name=first,
            last_name=last,
            username=username,
            campaign_ids=tuple(sorted({c.campaign_id for c in rng.sample(campaigns, rng.randint(1, 2))})),
            queue_ids=tuple(sorted({q.queue_id for q in rng.sample(queues, rng.randint(1, 2))})),
            skills=skills,
            workdays=workdays,
            shift_start_hour=shift_start,
            shift_hours=shift_hours,
            inactive=index >= spec.agents - spec.inactive_agents,
            custom_id=str(100000 + index * 37) if index % 3 == 2 else None,
            ip_address=f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
            browser="agent-dt.convoso.com ---- ---- agent-dt.convoso.com ---- Mozilla/5.0 (Windows NT 10.0; "
                    "Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/136.0.0.0 Safari/537.36",
        ))
    account = f"{rng.getrandbits(96):024x}"
    stream = f"st-{uuid.UUID(int=rng.getrandbits(128), version=5)}"
    return Tenant(
        spec=spec, agents=tuple(agents), campaigns=campaigns, queues=queues, skills=_SKILLS,
        reasons=REASONS[flavour], media=MEDIA[flavour], account_id=account, stream_id=stream,
    )
