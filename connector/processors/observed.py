"""Observed vs derived: Convoso user-activity counts beside the counts derived from per-agent events.

A snapshot's ``group_key`` ('all', 'campaign:111', 'queue:222', ...) names the
filter it was counted with; we map it onto the derived group with the same
meaning, with the vendor mapped to the vendor of the per-agent events of the same
account (convoso-user-activity -> convoso-productivity by default). Filters we do
not derive (a single user, several skills OR-ed, several filters AND-ed) have no
derived counterpart and are kept out of the comparison.

A difference means the event feed and the vendor disagree: events missing or
late, or an agent the vendor counts in a group our events do not place it in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connector.model import AgentGroupObserved, to_millis
from connector.processors.health import Counts
from connector.processors.keys import TENANT_SUFFIX
from connector.processors.settings import ProcessorSettings

__all__ = ["ObservedComparison", "ObservedSnapshot", "compare_observed", "derived_group_key", "snapshot_of"]


@dataclass(frozen=True, slots=True)
class ObservedSnapshot:
    """The newest vendor count for a group, kept in the group's record."""

    event_id: str
    vendor: str
    group_key: str
    observed_ms: int
    available: int
    logged_in: int

    @property
    def order(self) -> tuple[int, str]:
        return (self.observed_ms, self.event_id)

    def to_json(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "vendor": self.vendor,
            "group_key": self.group_key,
            "observed_ms": self.observed_ms,
            "available": self.available,
            "logged_in": self.logged_in,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ObservedSnapshot:
        return cls(
            data["event_id"], data["vendor"], data["group_key"], data["observed_ms"],
            data["available"], data["logged_in"],
        )


def snapshot_of(observation: AgentGroupObserved) -> ObservedSnapshot:
    return ObservedSnapshot(
        observation.event_id,
        observation.vendor,
        observation.group_key,
        to_millis(observation.observed_at),
        observation.available_agents,
        observation.logged_in_agents,
    )


def derived_group_key(observation: AgentGroupObserved, settings: ProcessorSettings) -> str | None:
    """The derived group the observation counts (the repartition key), or None when we derive no such group."""
    vendor = settings.observed_vendors.get(observation.vendor, observation.vendor)
    key = observation.group_key
    if key == "all":
        return f"{observation.tenant}:{vendor}:{TENANT_SUFFIX}"
    if "|" in key or ":" not in key:
        return None
    kind, _, value = key.partition(":")
    if kind in ("campaign", "queue") and value:
        return f"{observation.tenant}:{vendor}:{kind}:{value}"
    if kind == "skills" and value and "," not in value:
        return f"{observation.tenant}:{vendor}:skill:{value}"
    return None


@dataclass(frozen=True, slots=True)
class ObservedComparison:
    """Observed minus derived; positive: the vendor counts more agents than our events explain."""

    observed: ObservedSnapshot
    derived_available: int
    derived_logged_in: int

    @property
    def available_difference(self) -> int:
        return self.observed.available - self.derived_available

    @property
    def logged_in_difference(self) -> int:
        return self.observed.logged_in - self.derived_logged_in

    @property
    def matches(self) -> bool:
        return self.available_difference == 0 and self.logged_in_difference == 0

    def to_json(self) -> dict[str, Any]:
        return {
            "observed": self.observed.to_json(),
            "derived": {"available": self.derived_available, "logged_in": self.derived_logged_in},
            "difference": {"available": self.available_difference, "logged_in": self.logged_in_difference},
            "matches": self.matches,
        }


def compare_observed(snapshot: ObservedSnapshot, derived: Counts) -> ObservedComparison:
    """Pair a vendor snapshot with the derived live counts of the same group."""
    return ObservedComparison(snapshot, derived.available, derived.logged_in)
