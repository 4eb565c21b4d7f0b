"""Ground-truth queries: what every agent really was at T, and what each group's counts were.

Tests compare what the connector and processors concluded against these answers.
"logged in" = every state but OFFLINE; "available" = AVAILABLE (ready to take work).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from connector.model import AgentState
from connector.simulator.clock import to_ms
from connector.simulator.contact_centre import ContactCentre
from connector.simulator.model import Agent, Segment

__all__ = ["ConversationCounts", "GroundTruth", "GroupCounts"]


@dataclass(frozen=True, slots=True)
class GroupCounts:
    logged_in: int
    available: int


@dataclass(frozen=True, slots=True)
class ConversationCounts:
    """Rocket.Chat's report shape: ``total`` sums ``by_label`` (as in its example); ``unspecified`` apart."""

    by_label: dict[str, int]
    unspecified: int

    @property
    def total(self) -> int:
        return sum(self.by_label.values())


def _ms(at: int | datetime) -> int:
    return to_ms(at) if isinstance(at, datetime) else at


class GroundTruth:
    """Answers about a :class:`ContactCentre`; instants are datetimes or epoch milliseconds."""

    def __init__(self, centre: ContactCentre) -> None:
        self.centre = centre

    def segment_at(self, tenant: str, agent_id: str, at: int | datetime) -> Segment:
        at_ms = _ms(at)
        self.centre.ensure(at_ms)
        segments = self.centre.segments(tenant, agent_id)
        index = bisect.bisect_right([s.start for s in segments], at_ms) - 1
        if index < 0:
            raise ValueError(f"{at!r} is before the simulated history of tenant {tenant}")
        return segments[index]

    def agent_state(self, tenant: str, agent_id: str, at: int | datetime) -> AgentState:
        return self.segment_at(tenant, agent_id, at).state

    def states_at(self, tenant: str, at: int | datetime) -> dict[str, AgentState]:
        """Every agent's normalized state at ``at``, keyed by the vendor's agent id."""
        return {a.agent_id: self.agent_state(tenant, a.agent_id, at) for a in self.centre.tenant(tenant).agents}

    def timeline(self, tenant: str, agent_id: str, start: int | datetime, end: int | datetime) -> list[Segment]:
        """The agent's ground-truth segments overlapping [start, end)."""
        start_ms, end_ms = _ms(start), _ms(end)
        self.centre.ensure(end_ms)
        return [s for s in self.centre.segments(tenant, agent_id)
                if s.start < end_ms and (s.end is None or s.end > start_ms)]

    def counts(self, tenant: str, at: int | datetime, *, campaign_id: str | None = None,
               queue_id: str | None = None, user_id: str | None = None,
               skills: Iterable[str] = ()) -> GroupCounts:
        """Logged-in / available agents matching every given filter (AND); skills match any (OR).

        ``campaign_id`` matches the campaign the agent is logged into at ``at``; ``queue_id`` and
        ``skills`` match the agent's assignments.
        """
        wanted_skills = {s.strip().lower() for s in skills if s.strip()}
        logged_in = available = 0
        for agent in self.centre.tenant(tenant).agents:
            if not _assigned(agent, queue_id, user_id, wanted_skills):
                continue
            segment = self.segment_at(tenant, agent.agent_id, at)
            if campaign_id is not None and segment.presence.campaign_id != campaign_id:
                continue
            if segment.state.logged_in:
                logged_in += 1
            if segment.state is AgentState.AVAILABLE:
                available += 1
        return GroupCounts(logged_in, available)

    def group_counts(self, tenant: str, at: int | datetime) -> dict[str, GroupCounts]:
        """Counts for the whole tenant (``all``) and per ``campaign:ID``, ``queue:ID``, ``skill:NAME``."""
        t = self.centre.tenant(tenant)
        result = {"all": self.counts(tenant, at)}
        for campaign in t.campaigns:
            result[f"campaign:{campaign.campaign_id}"] = self.counts(tenant, at, campaign_id=campaign.campaign_id)
        for queue in t.queues:
            result[f"queue:{queue.queue_id}"] = self.counts(tenant, at, queue_id=queue.queue_id)
        for skill in t.skills:
            result[f"skill:{skill}"] = self.counts(tenant, at, skills=[skill])
        return result

    def conversations_by_agent(self, tenant: str, start: int | datetime, end: int | datetime) -> ConversationCounts:
        """Conversations created in [start, end] (both ends included), by agent label."""
        start_ms, end_ms = _ms(start), _ms(end)
        self.centre.ensure(end_ms)
        by_label: dict[str, int] = {}
        unspecified = 0
        for conversation in self.centre.conversations(tenant):
            if start_ms <= conversation.ts <= end_ms:
                if conversation.label is None:
                    unspecified += 1
                else:
                    by_label[conversation.label] = by_label.get(conversation.label, 0) + 1
        return ConversationCounts(by_label, unspecified)

    def snapshot(self, tenant: str, at: int | datetime) -> dict[str, object]:
        """JSON-ready truth at ``at`` (served by ``GET /_sim/truth``)."""
        return {
            "tenant": tenant,
            "at_ms": _ms(at),
            "agents": {agent_id: state.value for agent_id, state in self.states_at(tenant, at).items()},
            "counts": {key: {"logged_in": c.logged_in, "available": c.available}
                       for key, c in self.group_counts(tenant, at).items()},
        }


def _assigned(agent: Agent, queue_id: str | None, user_id: str | None, skills: set[str]) -> bool:
    if user_id is not None and agent.agent_id != user_id:
        return False
    if queue_id is not None and queue_id not in agent.queue_ids:
        return False
    return not skills or bool(skills & set(agent.skills))
