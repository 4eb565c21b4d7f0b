"""Time windows, panes and time-in-state statistics over segments.

Windows are stored as *panes*: fixed slices (default 5 min) that every window size
and step is a multiple of. A tumbling 15-minute window is 3 panes, a hopping
1-hour window (5-minute step) 12; a change to one segment touches only the panes it
overlaps, not the 12 hopping windows that contain them, and late corrections are
per pane. Window statistics are computed from the panes' segments when read.

Definitions (all times in epoch milliseconds, intervals half-open ``[start, end)``):

* covered: ``[start, min(end, watermark))``; the open segment of an agent counts up
  to the watermark the caller passes, never the wall clock.
* state_ms: agent-milliseconds in each logged-in state (``LOGGED_IN_STATES`` order).
* occupancy: (BUSY + WRAP_UP) / (AVAILABLE + BUSY + WRAP_UP): the contact-centre
  definition, handling time over staffed time; AWAY (breaks) and UNKNOWN are
  left out of both. None when the denominator is 0.
* utilization: (logged in - AVAILABLE) / logged in, time-weighted; Convoso's
  formula over the window. 0.0 when nobody was logged in.
* avg_available_agents / avg_logged_in_agents: agent-time / covered time.
* longest_unavailable_ms: the longest stretch inside the covered part during which
  at least one agent was logged in and none was AVAILABLE. For one agent: the
  longest stretch logged in but not AVAILABLE (BUSY -> WRAP_UP -> AWAY is one stretch).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from connector.model import AgentState
from connector.processors.health import LOGGED_IN_STATES

__all__ = [
    "HOPPING_1H",
    "MINUTE_MS",
    "TUMBLING_15M",
    "Segment",
    "WindowSpec",
    "WindowStats",
    "clip_segments",
    "pane_starts",
    "summarize",
]

MINUTE_MS = 60_000

#: ``(start_ms, end_ms, state)`` of one agent, half-open.
Segment = tuple[int, int, AgentState]

_AVAILABLE = LOGGED_IN_STATES.index(AgentState.AVAILABLE)
_BUSY = LOGGED_IN_STATES.index(AgentState.BUSY)
_WRAP_UP = LOGGED_IN_STATES.index(AgentState.WRAP_UP)


@dataclass(frozen=True, slots=True)
class WindowSpec:
    """Windows ``[k*step, k*step + size)``; tumbling when size == step."""

    name: str
    size_ms: int
    step_ms: int

    def __post_init__(self) -> None:
        if self.size_ms <= 0 or self.step_ms <= 0 or self.size_ms % self.step_ms:
            raise ValueError(f"window {self.name}: size must be a positive multiple of the step")

    def starts_overlapping(self, lo: int, hi: int) -> range:
        """Starts of every window that overlaps ``[lo, hi)``."""
        if hi <= lo:
            return range(0)
        first = ((lo - self.size_ms) // self.step_ms + 1) * self.step_ms
        last = ((hi - 1) // self.step_ms) * self.step_ms
        return range(first, last + 1, self.step_ms)

    def starts_from(self, earliest: int, before: int) -> range:
        """Starts ``s`` with ``earliest <= s < before``."""
        first = -(-earliest // self.step_ms) * self.step_ms
        return range(first, max(first, before), self.step_ms)

    def window_id(self, start_ms: int) -> str:
        return f"{self.name}@{start_ms}"


TUMBLING_15M = WindowSpec("tumbling-15m", 15 * MINUTE_MS, 15 * MINUTE_MS)
HOPPING_1H = WindowSpec("hopping-1h", 60 * MINUTE_MS, 5 * MINUTE_MS)


def pane_starts(pane_ms: int, lo: int, hi: int) -> range:
    """Starts of the panes overlapping ``[lo, hi)``."""
    if hi <= lo:
        return range(0)
    return range((lo // pane_ms) * pane_ms, ((hi - 1) // pane_ms) * pane_ms + 1, pane_ms)


def clip_segments(segments: Iterable[Segment], lo: int, hi: int) -> list[Segment]:
    """The parts of logged-in segments inside ``[lo, hi)``; empty and OFFLINE parts dropped."""
    out = []
    for start, end, state in segments:
        s, e = max(start, lo), min(end, hi)
        if s < e and state.logged_in:
            out.append((s, e, state))
    return out


@dataclass(frozen=True, slots=True)
class WindowStats:
    """Time-in-state of an agent or a group in one window, up to a watermark."""

    window: str
    start_ms: int
    end_ms: int
    covered_ms: int
    state_ms: tuple[int, ...]
    longest_unavailable_ms: int

    @property
    def logged_in_ms(self) -> int:
        return sum(self.state_ms)

    @property
    def available_ms(self) -> int:
        return self.state_ms[_AVAILABLE]

    @property
    def occupancy(self) -> float | None:
        handling = self.state_ms[_BUSY] + self.state_ms[_WRAP_UP]
        staffed = handling + self.available_ms
        return handling / staffed if staffed else None

    @property
    def utilization(self) -> float:
        return (self.logged_in_ms - self.available_ms) / self.logged_in_ms if self.logged_in_ms else 0.0

    @property
    def avg_available_agents(self) -> float | None:
        return self.available_ms / self.covered_ms if self.covered_ms else None

    @property
    def avg_logged_in_agents(self) -> float | None:
        return self.logged_in_ms / self.covered_ms if self.covered_ms else None

    def to_json(self) -> dict[str, Any]:
        return {
            "window": self.window,
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "covered_ms": self.covered_ms,
            "seconds_in_state": {
                state.value: ms / 1000 for state, ms in zip(LOGGED_IN_STATES, self.state_ms, strict=True)
            },
            "logged_in_seconds": self.logged_in_ms / 1000,
            "occupancy": self.occupancy,
            "utilization": self.utilization,
            "avg_available_agents": self.avg_available_agents,
            "avg_logged_in_agents": self.avg_logged_in_agents,
            "longest_unavailable_seconds": self.longest_unavailable_ms / 1000,
        }


def summarize(window: str, start: int, end: int, watermark: int, segments: Iterable[Segment]) -> WindowStats:
    """Statistics of possibly overlapping segments (any number of agents) in ``[start, min(end, watermark))``.

    One sweep over the change points: every change at an instant applies before the
    next interval is measured, so an agent handing over at the same millisecond
    (or a segment split at a pane boundary) leaves no gap.
    """
    covered_end = min(end, max(watermark, start))
    changes: list[tuple[int, int, int]] = []
    for s, e, state in clip_segments(segments, start, covered_end):
        index = LOGGED_IN_STATES.index(state)
        changes.append((s, index, 1))
        changes.append((e, index, -1))
    changes.sort()
    counts = [0] * len(LOGGED_IN_STATES)
    state_ms = [0] * len(LOGGED_IN_STATES)
    longest = run = 0
    i, now = 0, start
    while now < covered_end:
        while i < len(changes) and changes[i][0] <= now:
            counts[changes[i][1]] += changes[i][2]
            i += 1
        following = min(changes[i][0], covered_end) if i < len(changes) else covered_end
        duration = following - now
        for k, count in enumerate(counts):
            state_ms[k] += count * duration
        if counts[_AVAILABLE] == 0 and sum(counts) > 0:
            run += duration
            longest = max(longest, run)
        else:
            run = 0
        now = following
    return WindowStats(window, start, end, covered_end - start, tuple(state_ms), longest)
