"""The event model: what every vendor's activity is converted into.

These dataclasses mirror the Avro schemas in ``schemas/`` one to one. Times are
timezone-aware UTC ``datetime`` objects inside the system; ``as_avro()`` turns
them into epoch milliseconds for the wire.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

__all__ = [
    "EVENT_ID_NAMESPACE",
    "AgentConversationsObserved",
    "AgentGroupObserved",
    "AgentState",
    "AgentStateChanged",
    "DeadLetter",
    "Event",
    "deterministic_event_id",
    "from_millis",
    "to_millis",
]


class AgentState(enum.StrEnum):
    """Normalized agent state shared by every vendor.

    AVAILABLE means ready to take work (Convoso user-activity's definition);
    every state except OFFLINE counts as logged in.
    """

    OFFLINE = "OFFLINE"
    AVAILABLE = "AVAILABLE"
    BUSY = "BUSY"
    WRAP_UP = "WRAP_UP"
    AWAY = "AWAY"
    UNKNOWN = "UNKNOWN"

    @property
    def logged_in(self) -> bool:
        return self is not AgentState.OFFLINE


#: uuid5 namespace of our event ids; never change it, or every id changes.
EVENT_ID_NAMESPACE = uuid.UUID("5b0c8f52-7d2e-4c1e-9a77-2f6a3c1d9e10")


def deterministic_event_id(vendor: str, tenant: str, *record_key: object) -> str:
    """Same vendor record -> same id, so consumers can de-duplicate repeats."""
    name = "\x1f".join([vendor, tenant, *(str(part) for part in record_key)])
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, name))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_millis(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime; naive datetimes are refused (no guessing zones)."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()} has no time zone; convert it to UTC first")
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def from_millis(millis: int) -> datetime:
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


def _as_utc(value: datetime | int) -> datetime:
    if isinstance(value, int):
        return from_millis(value)
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value.isoformat()} has no time zone; convert it to UTC first")
    return value.astimezone(UTC)


class Event:
    """Base of every event type: knows its Avro schema name and Kafka key."""

    schema_name: ClassVar[str]
    event_type: ClassVar[str]

    def as_avro(self) -> dict[str, Any]:
        raise NotImplementedError

    def kafka_key(self) -> bytes:
        raise NotImplementedError

    @classmethod
    def from_avro(cls, record: Mapping[str, Any]) -> Event:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class AgentStateChanged(Event):
    """One agent moved from one normalized state to another."""

    schema_name: ClassVar[str] = "agentconnector.events.AgentStateChanged"
    event_type: ClassVar[str] = "AgentStateChanged"

    event_id: str
    vendor: str
    tenant: str
    source: str
    agent_id: str
    state: AgentState
    previous_state: AgentState | None
    vendor_state: str
    occurred_at: datetime
    source_cursor: str
    reason: str | None = None
    campaign_id: str | None = None
    campaign_name: str | None = None
    queue_id: str | None = None
    skills: tuple[str, ...] = ()
    vendor_record_id: str | None = None
    ingested_at: datetime | None = None

    def kafka_key(self) -> bytes:
        """``tenant:vendor:agent_id`` keeps one agent's events on one partition, in order."""
        return f"{self.tenant}:{self.vendor}:{self.agent_id}".encode()

    def as_avro(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "vendor": self.vendor,
            "tenant": self.tenant,
            "source": self.source,
            "agent_id": self.agent_id,
            "state": self.state.value,
            "previous_state": self.previous_state.value if self.previous_state is not None else None,
            "vendor_state": self.vendor_state,
            "reason": self.reason,
            "occurred_at": to_millis(self.occurred_at),
            "campaign_id": self.campaign_id,
            "campaign_name": self.campaign_name,
            "queue_id": self.queue_id,
            "skills": list(self.skills),
            "vendor_record_id": self.vendor_record_id,
            "source_cursor": self.source_cursor,
            "ingested_at": to_millis(self.ingested_at) if self.ingested_at is not None else None,
        }

    @classmethod
    def from_avro(cls, record: Mapping[str, Any]) -> AgentStateChanged:
        previous = record.get("previous_state")
        ingested = record.get("ingested_at")
        return cls(
            event_id=record["event_id"],
            vendor=record["vendor"],
            tenant=record["tenant"],
            source=record["source"],
            agent_id=record["agent_id"],
            state=AgentState(record["state"]),
            previous_state=AgentState(previous) if previous is not None else None,
            vendor_state=record["vendor_state"],
            reason=record.get("reason"),
            occurred_at=_as_utc(record["occurred_at"]),
            campaign_id=record.get("campaign_id"),
            campaign_name=record.get("campaign_name"),
            queue_id=record.get("queue_id"),
            skills=tuple(record.get("skills") or ()),
            vendor_record_id=record.get("vendor_record_id"),
            source_cursor=record["source_cursor"],
            ingested_at=_as_utc(ingested) if ingested is not None else None,
        )


@dataclass(frozen=True, slots=True)
class AgentGroupObserved(Event):
    """A vendor's point-in-time count of logged-in and available agents for one group filter.

    Convoso user-activity only gives counts, never per-agent states, so it is an
    observation beside the per-agent event stream, not a source of state changes.
    """

    schema_name: ClassVar[str] = "agentconnector.events.AgentGroupObserved"
    event_type: ClassVar[str] = "AgentGroupObserved"

    event_id: str
    vendor: str
    tenant: str
    source: str
    group_key: str
    observed_at: datetime
    available_agents: int
    logged_in_agents: int
    source_cursor: str
    campaign_id: str | None = None
    queue_id: str | None = None
    user_id: str | None = None
    skills: tuple[str, ...] = ()

    def kafka_key(self) -> bytes:
        return f"{self.tenant}:{self.vendor}:{self.group_key}".encode()

    def as_avro(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "vendor": self.vendor,
            "tenant": self.tenant,
            "source": self.source,
            "group_key": self.group_key,
            "campaign_id": self.campaign_id,
            "queue_id": self.queue_id,
            "user_id": self.user_id,
            "skills": list(self.skills),
            "observed_at": to_millis(self.observed_at),
            "available_agents": self.available_agents,
            "logged_in_agents": self.logged_in_agents,
            "source_cursor": self.source_cursor,
        }

    @classmethod
    def from_avro(cls, record: Mapping[str, Any]) -> AgentGroupObserved:
        return cls(
            event_id=record["event_id"],
            vendor=record["vendor"],
            tenant=record["tenant"],
            source=record["source"],
            group_key=record["group_key"],
            campaign_id=record.get("campaign_id"),
            queue_id=record.get("queue_id"),
            user_id=record.get("user_id"),
            skills=tuple(record.get("skills") or ()),
            observed_at=_as_utc(record["observed_at"]),
            available_agents=record["available_agents"],
            logged_in_agents=record["logged_in_agents"],
            source_cursor=record["source_cursor"],
        )


@dataclass(frozen=True, slots=True)
class AgentConversationsObserved(Event):
    """How many conversations one agent (or nobody: ``agent_label`` None) had in a time window.

    Rocket.Chat's conversations-by-agent report gives counts per agent label plus
    an ``unspecified`` bucket; each becomes one of these.
    """

    schema_name: ClassVar[str] = "agentconnector.events.AgentConversationsObserved"
    event_type: ClassVar[str] = "AgentConversationsObserved"

    event_id: str
    vendor: str
    tenant: str
    source: str
    agent_label: str | None
    window_start: datetime
    window_end: datetime
    conversations: int
    window_total: int
    source_cursor: str

    def kafka_key(self) -> bytes:
        return f"{self.tenant}:{self.vendor}:{self.agent_label or ''}".encode()

    def as_avro(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "vendor": self.vendor,
            "tenant": self.tenant,
            "source": self.source,
            "agent_label": self.agent_label,
            "window_start": to_millis(self.window_start),
            "window_end": to_millis(self.window_end),
            "conversations": self.conversations,
            "window_total": self.window_total,
            "source_cursor": self.source_cursor,
        }

    @classmethod
    def from_avro(cls, record: Mapping[str, Any]) -> AgentConversationsObserved:
        return cls(
            event_id=record["event_id"],
            vendor=record["vendor"],
            tenant=record["tenant"],
            source=record["source"],
            agent_label=record.get("agent_label"),
            window_start=_as_utc(record["window_start"]),
            window_end=_as_utc(record["window_end"]),
            conversations=record["conversations"],
            window_total=record["window_total"],
            source_cursor=record["source_cursor"],
        )


@dataclass(frozen=True, slots=True)
class DeadLetter(Event):
    """A vendor record the connector could not map, kept whole so nothing is lost."""

    schema_name: ClassVar[str] = "agentconnector.events.DeadLetter"
    event_type: ClassVar[str] = "DeadLetter"

    event_id: str
    vendor: str
    tenant: str
    source: str
    error: str
    error_kind: str
    raw_record: str
    source_cursor: str
    failed_at: datetime
    location: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)

    def kafka_key(self) -> bytes:
        return f"{self.tenant}:{self.vendor}:{self.source}".encode()

    def as_avro(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "vendor": self.vendor,
            "tenant": self.tenant,
            "source": self.source,
            "error": self.error,
            "error_kind": self.error_kind,
            "location": self.location,
            "raw_record": self.raw_record,
            "source_cursor": self.source_cursor,
            "failed_at": to_millis(self.failed_at),
            "extra": dict(self.extra),
        }

    @classmethod
    def from_avro(cls, record: Mapping[str, Any]) -> DeadLetter:
        return cls(
            event_id=record["event_id"],
            vendor=record["vendor"],
            tenant=record["tenant"],
            source=record["source"],
            error=record["error"],
            error_kind=record["error_kind"],
            location=record.get("location", ""),
            raw_record=record["raw_record"],
            source_cursor=record["source_cursor"],
            failed_at=_as_utc(record["failed_at"]),
            extra=dict(record.get("extra") or {}),
        )


EVENT_TYPES: dict[str, type[Event]] = {
    cls.schema_name: cls
    for cls in (AgentStateChanged, AgentGroupObserved, AgentConversationsObserved, DeadLetter)
}


def event_from_avro(schema_name: str, record: Mapping[str, Any]) -> Event:
    """Rebuild the typed event for a decoded Avro record of the named schema."""
    try:
        cls = EVENT_TYPES[schema_name]
    except KeyError:
        raise ValueError(f"unknown event schema {schema_name!r}; known: {sorted(EVENT_TYPES)}") from None
    return cls.from_avro(record)


def skills_tuple(skills: Iterable[str] | None) -> tuple[str, ...]:
    """Skills as a sorted, de-duplicated tuple, so the same set always encodes the same way."""
    return tuple(sorted({s.strip() for s in skills or () if s and s.strip()}))
