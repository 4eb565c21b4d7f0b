"""Conversation counts from Rocket.Chat (AgentConversationsObserved): per agent and per vendor window.

A vendor window may be re-reported (a later poll over the same window, with a
higher count as conversations close): the count of an (agent, window) is replaced,
never added, so repeats and re-reports are idempotent. Within one agent's
partition re-reports arrive in order, so the latest arrival is the latest count.

* agent table, key ``tenant:vendor:agent_label`` (the input key, '' for the
  vendor's unspecified bucket): the agent's windows back to the retention cutoff.
* window table, key ``tenant:vendor:start_ms:end_ms`` (repartitioned): every
  agent's count in that window and the vendor's total.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from connector.model import AgentConversationsObserved, to_millis
from connector.processors.settings import ProcessorSettings

__all__ = [
    "AgentConversations",
    "ConversationCount",
    "WindowConversations",
    "apply_agent_conversations",
    "apply_window_conversations",
    "conversation_agent_key",
    "conversation_window_key",
]

UNSPECIFIED = ""


def conversation_agent_key(observation: AgentConversationsObserved) -> str:
    return f"{observation.tenant}:{observation.vendor}:{observation.agent_label or UNSPECIFIED}"


def conversation_window_key(observation: AgentConversationsObserved) -> str:
    start, end = to_millis(observation.window_start), to_millis(observation.window_end)
    return f"{observation.tenant}:{observation.vendor}:{start}:{end}"


@dataclass(frozen=True, slots=True)
class ConversationCount:
    """Conversations of one agent in one vendor window."""

    start_ms: int
    end_ms: int
    conversations: int
    window_total: int
    event_id: str

    def to_json(self) -> list[Any]:
        return [self.start_ms, self.end_ms, self.conversations, self.window_total, self.event_id]

    @classmethod
    def from_json(cls, data: list[Any]) -> ConversationCount:
        return cls(*data)


def _count(observation: AgentConversationsObserved) -> ConversationCount:
    return ConversationCount(
        to_millis(observation.window_start), to_millis(observation.window_end),
        observation.conversations, observation.window_total, observation.event_id,
    )


@dataclass(frozen=True, slots=True)
class AgentConversations:
    """Value of the per-agent conversation table: the agent's windows, oldest first."""

    key: str
    windows: tuple[ConversationCount, ...]

    @property
    def total(self) -> int:
        return sum(w.conversations for w in self.windows)

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "windows": [w.to_json() for w in self.windows], "total": self.total}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AgentConversations:
        return cls(data["key"], tuple(ConversationCount.from_json(w) for w in data["windows"]))


def apply_agent_conversations(
    record: AgentConversations | None, observation: AgentConversationsObserved, settings: ProcessorSettings
) -> AgentConversations:
    """Replace the agent's count for the observation's window; drop windows ended before the cutoff."""
    count = _count(observation)
    key = conversation_agent_key(observation)
    windows = {(w.start_ms, w.end_ms): w for w in (record.windows if record else ())}
    windows[(count.start_ms, count.end_ms)] = count
    cutoff = max(end for _, end in windows) - settings.retention_ms
    kept = tuple(w for _, w in sorted(windows.items()) if w.end_ms > cutoff)
    if record is not None and kept == record.windows:
        return record
    return AgentConversations(key, kept)


@dataclass(frozen=True, slots=True)
class WindowConversations:
    """Value of the per-window conversation table: each agent's count (``''``: unspecified)."""

    key: str
    start_ms: int
    end_ms: int
    by_agent: Mapping[str, int]
    window_total: int

    @property
    def attributed(self) -> int:
        """Conversations attributed to named agents (the unspecified bucket left out)."""
        return sum(n for label, n in self.by_agent.items() if label != UNSPECIFIED)

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key, "start_ms": self.start_ms, "end_ms": self.end_ms,
            "by_agent": dict(sorted(self.by_agent.items())), "window_total": self.window_total,
            "attributed": self.attributed,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WindowConversations:
        return cls(data["key"], data["start_ms"], data["end_ms"], dict(data["by_agent"]), data["window_total"])


def apply_window_conversations(
    record: WindowConversations | None, observation: AgentConversationsObserved
) -> WindowConversations:
    """Set one agent's count in the window (replacing a re-report) and the vendor's total.

    The total is the largest reported: reports of one window come from every agent's partition, so
    they arrive here in no particular order, and a window's total only grows as conversations close.
    """
    count = _count(observation)
    label = observation.agent_label or UNSPECIFIED
    if record is None:
        record = WindowConversations(conversation_window_key(observation), count.start_ms, count.end_ms, {}, 0)
    total = max(record.window_total, count.window_total)
    if record.by_agent.get(label) == count.conversations and record.window_total == total:
        return record
    return replace(record, by_agent={**record.by_agent, label: count.conversations}, window_total=total)
