"""Simulated time: the contact centre and every simulator read "now" from one clock.

Tests freeze it (``speed=0``) and move it with :meth:`SimClock.advance`, so nothing sleeps;
the CLI runs it at wall speed or faster (``speed=60`` = one simulated minute per second).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

__all__ = ["SimClock", "from_ms", "to_ms"]


def to_ms(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime (the simulator's internal time unit)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: give the simulator aware (UTC) datetimes")
    return round(moment.timestamp() * 1000)


def from_ms(millis: int) -> datetime:
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


class SimClock:
    """Start instant + speed factor, plus manual jumps.

    ``speed=0`` is a frozen clock that only moves when told; ``speed=1`` follows the wall clock.
    """

    def __init__(self, start: datetime, speed: float = 0.0) -> None:
        if speed < 0:
            raise ValueError("speed must be >= 0")
        self._base_ms = to_ms(start)
        self._speed = speed
        self._wall0 = time.monotonic()

    @property
    def speed(self) -> float:
        return self._speed

    def now_ms(self) -> int:
        elapsed = (time.monotonic() - self._wall0) * self._speed
        return self._base_ms + int(elapsed * 1000)

    def now(self) -> datetime:
        return from_ms(self.now_ms())

    def advance(self, seconds: float | timedelta) -> datetime:
        """Jump forward (or back, with a negative amount); returns the new now."""
        if isinstance(seconds, timedelta):
            seconds = seconds.total_seconds()
        self._base_ms += round(seconds * 1000)
        return self.now()

    def set(self, moment: datetime) -> None:
        """Make ``moment`` the current time (the speed keeps applying from here)."""
        self._base_ms = to_ms(moment)
        self._wall0 = time.monotonic()

    def set_speed(self, speed: float) -> None:
        if speed < 0:
            raise ValueError("speed must be >= 0")
        now = self.now_ms()
        self._speed = speed
        self._base_ms = now
        self._wall0 = time.monotonic()
