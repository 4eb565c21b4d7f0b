"""Plain data of the simulated contact centre: who exists, and what happened when.

All instants are epoch milliseconds (``int``) so that every vendor rendering starts from
exactly the same numbers. Vendor vocabularies are *not* here: each vendor module renders
these facts in its own words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from connector.model import AgentState

__all__ = [
    "Agent",
    "Campaign",
    "Conversation",
    "Flavour",
    "Interaction",
    "Medium",
    "Phase",
    "PresenceKind",
    "PresenceSpan",
    "Queue",
    "Reason",
    "Segment",
    "Tenant",
    "TenantSpec",
]

#: Which vendor's habits a tenant's population follows (reason catalogue, ids, media).
Flavour = Literal["convoso", "vonage", "koreai", "rocketchat"]
#: Presence is what the agent chose: logged out, logging in, ready, or a named pause.
PresenceKind = Literal["offline", "login", "ready", "pause"]
Medium = Literal["Phone", "Chat", "Email"]
#: Interaction activity categories (Vonage's words, the richest of the five documents).
PhaseCategory = Literal["Ringing", "Connected", "Wrap", "Unexpected"]


@dataclass(frozen=True, slots=True)
class Reason:
    """A named not-ready reason (Break, Lunch, ...) and the normalized state it means."""

    code: str
    name: str
    state: AgentState
    mean_seconds: float
    extended: bool = False  # Vonage: ExtendedAway rather than Away
    description: str = ""


@dataclass(frozen=True, slots=True)
class Campaign:
    campaign_id: str
    name: str
    uid: str
    type: str


@dataclass(frozen=True, slots=True)
class Queue:
    queue_id: str
    name: str


@dataclass(frozen=True, slots=True)
class Agent:
    """One agent; ``agent_id`` is the id the tenant's vendor API shows for them."""

    index: int
    agent_id: str
    uid: str
    email: str
    first_name: str
    last_name: str
    username: str
    campaign_ids: tuple[str, ...]
    queue_ids: tuple[str, ...]
    skills: tuple[str, ...]
    workdays: frozenset[int]
    shift_start_hour: float
    shift_hours: float
    inactive: bool = False
    custom_id: str | None = None
    ip_address: str = "127.0.0.1"
    browser: str = ""

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def label(self) -> str:
        """Rocket.Chat's conversations-by-agent label: name, else username, else id."""
        return self.name or self.username or self.agent_id


@dataclass(frozen=True, slots=True)
class TenantSpec:
    """How to build one tenant; every rate is configurable."""

    name: str
    flavour: Flavour
    timezone: str
    agents: int = 12
    inactive_agents: int = 1
    mean_idle_seconds: float = 90.0
    mean_handle_seconds: float = 240.0
    mean_wrap_seconds: float = 30.0
    concurrency_rate: float = 0.3
    no_answer_rate: float = 0.05
    absence_rate: float = 0.05
    forgot_logout_rate: float = 0.08
    adhoc_pause_rate: float = 0.02
    login_settle_seconds: tuple[float, float] = (0.0, 0.0)
    unassigned_per_hour: float = 2.0
    bot_per_hour: float = 3.0


@dataclass(frozen=True, slots=True)
class Tenant:
    spec: TenantSpec
    agents: tuple[Agent, ...]
    campaigns: tuple[Campaign, ...]
    queues: tuple[Queue, ...]
    skills: tuple[str, ...]
    reasons: tuple[Reason, ...]
    media: tuple[tuple[Medium, float], ...]
    account_id: str
    stream_id: str

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def flavour(self) -> Flavour:
        return self.spec.flavour

    @property
    def timezone(self) -> str:
        return self.spec.timezone

    def agent(self, agent_id: str) -> Agent:
        for agent in self.agents:
            if agent.agent_id == agent_id:
                return agent
        raise KeyError(f"tenant {self.name} has no agent {agent_id!r}")


@dataclass(frozen=True, slots=True)
class PresenceSpan:
    """What the agent chose from ``start`` until ``end`` (None: still so at the generated horizon).

    ``record_id`` is a tenant-wide, time-ordered number (Convoso's record ``id`` uses it); 0 for the
    synthetic span at the start of history and for spans past the generated horizon.
    """

    seq: int
    kind: PresenceKind
    start: int
    end: int | None
    reason: Reason | None = None
    campaign_id: str | None = None
    record_id: int = 0


@dataclass(frozen=True, slots=True)
class Phase:
    category: PhaseCategory
    start: int
    end: int
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Interaction:
    """One offered piece of work. ``offered`` is when routing reserved the agent (workload +1)."""

    guid: str
    agent_id: str
    medium: Medium
    direction: str
    offered: int
    phases: tuple[Phase, ...]
    campaign_id: str | None = None
    queue_id: str | None = None

    @property
    def end(self) -> int:
        return self.phases[-1].end

    @property
    def answered(self) -> bool:
        return any(p.category == "Connected" for p in self.phases)

    @property
    def workload_end(self) -> int:
        """Workload counts the interaction until its wrap starts (Vonage example, lines 151-229)."""
        for phase in self.phases:
            if phase.category == "Wrap":
                return phase.start
        return self.end

    def category_at(self, at: int) -> str | None:
        """``Offered`` before ringing starts, else the phase covering ``at``; None outside."""
        if at < self.offered or at >= self.end:
            return None
        for phase in self.phases:
            if phase.start <= at < phase.end:
                return phase.category
        return "Offered"


@dataclass(frozen=True, slots=True)
class Conversation:
    """A Rocket.Chat-style conversation: created at ``ts``, served by ``label`` (None: nobody)."""

    ts: int
    label: str | None
    agent_id: str | None = None


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of constant ground truth for one agent: the normalized state plus its cause."""

    start: int
    end: int | None
    state: AgentState
    presence: PresenceSpan
    active: tuple[tuple[str, str, str], ...] = field(default=())  # (guid, medium, category)

    def covers(self, at: int) -> bool:
        return self.start <= at and (self.end is None or at < self.end)
