"""A clock plus a contact centre plus its ground truth: what every simulator is built on."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from connector.simulator.clock import SimClock
from connector.simulator.contact_centre import ContactCentre
from connector.simulator.model import TenantSpec
from connector.simulator.population import DEFAULT_TENANTS
from connector.simulator.truth import GroundTruth

__all__ = ["DEFAULT_START", "DEFAULT_TENANT_FOR", "Simulation"]

#: A Wednesday; 10:00 in Los Angeles, 18:00 in London, 22:30 in Kolkata, 13:00 in New York.
DEFAULT_START = datetime(2025, 5, 28, 17, 0, tzinfo=UTC)

#: Which default tenant each simulator serves (both Convoso endpoints share one account).
DEFAULT_TENANT_FOR: dict[str, str] = {
    "convoso-productivity": "demo-convoso",
    "convoso-user-activity": "demo-convoso",
    "vonage": "demo-vonage",
    "koreai": "demo-koreai",
    "rocketchat": "demo-rocketchat",
}


class Simulation:
    """Deterministic from ``seed``; ``speed=0`` freezes the clock (tests advance it by hand)."""

    def __init__(self, *, seed: int = 1, start: datetime | None = None, speed: float = 0.0,
                 tenants: Sequence[TenantSpec] = DEFAULT_TENANTS, history_days: float = 2.0) -> None:
        start = start or DEFAULT_START
        self.seed = seed
        self.clock = SimClock(start, speed)
        self.centre = ContactCentre(seed, tenants, history_start=start - timedelta(days=history_days))
        self.truth = GroundTruth(self.centre)

    def now_ms(self) -> int:
        """The simulated now, with the timeline generated past it."""
        now = self.clock.now_ms()
        self.centre.ensure(now)
        return now

    def now(self) -> datetime:
        return self.clock.now()

    def advance(self, seconds: float | timedelta) -> datetime:
        return self.clock.advance(seconds)
