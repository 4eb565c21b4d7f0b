"""Live counts of one group and their health status, with hysteresis for alerts.

Thresholds follow Convoso's user-activity recommendations (seeds/001): over 20 %
available is healthy, 10-20 % monitor, 5-10 % warning, under 5 % critical, 0
available with agents logged in is unavailable. Its table leaves the boundaries
ambiguous (is 10 % "monitor" or "warning"?); we read each range as including its
lower bound: 20 % is MONITOR, 10 % is MONITOR, 5 % is WARNING, 4.99 % CRITICAL.
(Its "Response Interpretation" table calls 5/100 "critical capacity", which
contradicts "< 5 % critical"; we follow the threshold table.) Percentages are
compared exactly, with fractions, so 1 of 20 is exactly 5 %, never 4.999 %.
No agent logged in is its own status, NO_AGENTS, not a division by zero.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from connector.model import AgentState

__all__ = [
    "LOGGED_IN_STATES",
    "SEVERITY",
    "Counts",
    "HealthStatus",
    "Thresholds",
    "classify",
    "held_status_limit",
    "next_alert_status",
    "percent_available",
    "utilization",
]

#: The states that count as logged in, in the order counts and time totals use.
LOGGED_IN_STATES: tuple[AgentState, ...] = (
    AgentState.AVAILABLE,
    AgentState.BUSY,
    AgentState.WRAP_UP,
    AgentState.AWAY,
    AgentState.UNKNOWN,
)


class HealthStatus(enum.StrEnum):
    """Health of a group's availability; NO_AGENTS is outside the severity order."""

    HEALTHY = "HEALTHY"
    MONITOR = "MONITOR"
    WARNING = "WARNING"
    CRITICAL = "CRITICAL"
    UNAVAILABLE = "UNAVAILABLE"
    NO_AGENTS = "NO_AGENTS"


#: Worse is higher. NO_AGENTS has no severity: it is entered and left at once.
SEVERITY: dict[HealthStatus, int] = {
    HealthStatus.HEALTHY: 0,
    HealthStatus.MONITOR: 1,
    HealthStatus.WARNING: 2,
    HealthStatus.CRITICAL: 3,
    HealthStatus.UNAVAILABLE: 4,
}


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Percent-available thresholds (each range includes its lower bound) and the hysteresis margin.

    ``hysteresis_pct``: a group enters a worse status as soon as it crosses that
    status's threshold, but returns to a better one only once the percentage
    clears the better status's threshold by this many percentage points.
    """

    healthy_above_pct: float = 20.0
    monitor_from_pct: float = 10.0
    warning_from_pct: float = 5.0
    hysteresis_pct: float = 2.0
    #: a better status must also hold with this many available agents fewer (0: no such rule)
    hysteresis_agents: int = 1

    def __post_init__(self) -> None:
        if not 0 < self.warning_from_pct < self.monitor_from_pct < self.healthy_above_pct <= 100:
            raise ValueError(
                "thresholds must satisfy 0 < warning_from_pct < monitor_from_pct < healthy_above_pct <= 100"
            )
        if self.hysteresis_pct < 0:
            raise ValueError("hysteresis_pct must be >= 0")


@functools.lru_cache(maxsize=256)
def _exact(value: float) -> Fraction:
    # via str so 12.5 or 0.1 mean the decimal the operator wrote, not a binary approximation; cached,
    # as every count change classifies with the same few thresholds
    return Fraction(str(value))


def _compare(available: int, logged_in: int, threshold: Fraction) -> int:
    """Sign of 100 * available / logged_in - threshold, exactly, in integers (no Fraction per call)."""
    left, right = 100 * available * threshold.denominator, threshold.numerator * logged_in
    return (left > right) - (left < right)


def percent_available(available: int, logged_in: int) -> float:
    """Percent of logged-in agents that are available; 0.0 when nobody is logged in."""
    return 0.0 if logged_in <= 0 else 100.0 * available / logged_in


def utilization(available: int, logged_in: int) -> float:
    """(logged in - available) / logged in, as Convoso defines it; 0.0 when nobody is logged in."""
    return 0.0 if logged_in <= 0 else (logged_in - available) / logged_in


def classify(available: int, logged_in: int, thresholds: Thresholds, *, shift_pct: float = 0.0) -> HealthStatus:
    """Health status of the counts; ``shift_pct`` raises every threshold (used for hysteresis)."""
    if logged_in <= 0:
        return HealthStatus.NO_AGENTS
    if available <= 0:
        return HealthStatus.UNAVAILABLE
    shift = _exact(shift_pct)
    if _compare(available, logged_in, _shifted(thresholds.healthy_above_pct, shift_pct)) > 0:
        return HealthStatus.HEALTHY
    if _compare(available, logged_in, _shifted(thresholds.monitor_from_pct, shift_pct)) >= 0:
        return HealthStatus.MONITOR
    if _compare(available, logged_in, _shifted(thresholds.warning_from_pct, shift_pct)) >= 0:
        return HealthStatus.WARNING
    if _compare(available, logged_in, shift) >= 0:
        return HealthStatus.CRITICAL
    return HealthStatus.UNAVAILABLE


@functools.lru_cache(maxsize=256)
def _shifted(threshold_pct: float, shift_pct: float) -> Fraction:
    return _exact(threshold_pct) + _exact(shift_pct)


def next_alert_status(
    previous: HealthStatus | None, available: int, logged_in: int, thresholds: Thresholds
) -> HealthStatus:
    """The alerting status after a count change, with hysteresis so a group on a threshold does not flap.

    Worse (or equal) statuses apply at once; a better one only when the counts
    classify as better even with every threshold raised by the margin (leaving
    UNAVAILABLE needs ``hysteresis_pct`` percent available) AND with one available
    agent fewer: in a small group one agent is worth more than any percentage margin
    (1 of 6 is 16.7 points), so one agent going back and forth must not flap the
    status. Leaving UNAVAILABLE is exempt from the one-agent rule: an available agent
    is a fact to show at once. NO_AGENTS is entered and left immediately.
    """
    raw = classify(available, logged_in, thresholds)
    if previous is None or raw is HealthStatus.NO_AGENTS or previous is HealthStatus.NO_AGENTS:
        return raw
    if SEVERITY[raw] >= SEVERITY[previous]:
        return raw
    cleared = held_status_limit(available, logged_in, thresholds)
    return cleared if SEVERITY[cleared] < SEVERITY[previous] else previous


def held_status_limit(available: int, logged_in: int, thresholds: Thresholds) -> HealthStatus:
    """The worst status hysteresis can still hold a group with these counts in (see next_alert_status)."""
    by_margin = classify(available, logged_in, thresholds, shift_pct=thresholds.hysteresis_pct)
    by_one_agent = classify(max(available - thresholds.hysteresis_agents, 1), logged_in, thresholds)
    return max(by_margin, by_one_agent, key=lambda status: SEVERITY[status])


@dataclass(frozen=True, slots=True)
class Counts:
    """How many agents of a group are in each logged-in state right now."""

    available: int = 0
    busy: int = 0
    wrap_up: int = 0
    away: int = 0
    unknown: int = 0

    @property
    def logged_in(self) -> int:
        return self.available + self.busy + self.wrap_up + self.away + self.unknown

    def as_tuple(self) -> tuple[int, ...]:
        return (self.available, self.busy, self.wrap_up, self.away, self.unknown)

    @classmethod
    def from_tuple(cls, values: tuple[int, ...] | list[int]) -> Counts:
        return cls(*values)

    def moved(self, old: AgentState | None, new: AgentState | None) -> Counts:
        """Subtract one agent's old state and add its new one, in one step (never one without the other)."""
        values = list(self.as_tuple())
        if old is not None and old.logged_in:
            values[LOGGED_IN_STATES.index(old)] -= 1
        if new is not None and new.logged_in:
            values[LOGGED_IN_STATES.index(new)] += 1
        if min(values) < 0:
            raise ValueError(f"count below zero moving {old} -> {new} from {self}")
        return Counts.from_tuple(values)

    @property
    def percent_available(self) -> float:
        return percent_available(self.available, self.logged_in)

    @property
    def utilization(self) -> float:
        return utilization(self.available, self.logged_in)

    def health(self, thresholds: Thresholds) -> HealthStatus:
        return classify(self.available, self.logged_in, thresholds)

    def to_json(self) -> dict[str, Any]:
        return {
            "available": self.available,
            "busy": self.busy,
            "wrap_up": self.wrap_up,
            "away": self.away,
            "unknown": self.unknown,
            "logged_in": self.logged_in,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Counts:
        return cls(data["available"], data["busy"], data["wrap_up"], data["away"], data["unknown"])
