"""Vonage's three activity kinds of one agent merged into one normalized state.

Presence (Ready / Away / ExtendedAway / LoggedOut), workload (calls, semiLive, nonLive)
and interaction activities (Ringing / Connected / Wrap / Unexpected / Failed, one at a
time per interaction guid, several interactions at once) each say part of the truth.
``AgentParts`` holds the current part of each, as JSON in the cursor; ``merged`` reads
them with one precedence, most work-related first:

    OFFLINE (presence LoggedOut)
    > BUSY (a Ringing or Connected interaction, or a non-zero workload)
    > WRAP_UP (a Wrap interaction)
    > UNKNOWN (an interaction of a category we do not know)
    > AWAY (presence Away / ExtendedAway; reason = the presence name)
    > AVAILABLE (presence Ready with zero workload)
    > UNKNOWN (a presence category we do not know)

So a Wrap on a call while Connected on a case is BUSY, and a manual Away during a call
stays BUSY until the call ends. Unexpected and Failed interactions are not work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connector.model import AgentState

__all__ = ["INTERACTION_CATEGORIES", "PRESENCE_CATEGORIES", "AgentParts", "Merged", "Point"]

PRESENCE_CATEGORIES = frozenset({"Ready", "Away", "ExtendedAway", "LoggedOut"})
INTERACTION_CATEGORIES = frozenset({"Ringing", "Connected", "Wrap", "Unexpected", "Failed"})
_WORKING = frozenset({"Ringing", "Connected"})
STALE_INTERACTION_MS = 48 * 3600 * 1000  # an interaction open this long without an end is dropped


@dataclass(frozen=True, slots=True)
class Point:
    """One moment of an agent's timeline: an activity starting, or (with a duration) ending."""

    at_ms: int
    ending: bool
    kind: str          # Presence | Workload | Interaction
    category: str      # presence/interaction category; "" for workload
    start_ms: int      # start of the activity the point belongs to (identifies it with kind/guid)
    name: str | None = None
    guid: str = ""
    load: tuple[int, int, int] = (0, 0, 0)

    @property
    def order(self) -> tuple[int, int]:
        """Ends before starts at one instant: a Connected ending and a Wrap starting is one step."""
        return (self.at_ms, 0 if self.ending else 1)


@dataclass(frozen=True, slots=True)
class Merged:
    state: AgentState
    vendor_state: str
    reason: str | None


class AgentParts:
    """``{"p": [category, name, start_ms] | null, "w": [calls, semiLive, nonLive, since_ms] | null,
    "i": {guid: [category, start_ms]}}``: the current part of each activity kind."""

    def __init__(self, table: dict[str, Any]) -> None:
        self.table = table
        table.setdefault("p", None)
        table.setdefault("w", None)
        table.setdefault("i", {})

    def apply(self, point: Point) -> None:
        """Apply a point; an older activity never replaces a newer one, so replays are harmless."""
        if point.kind == "Presence":
            if point.ending:
                return  # a presence ends only by the next presence starting
            current = self.table["p"]
            if current is None or point.start_ms >= current[2]:
                self.table["p"] = [point.category, point.name, point.start_ms]
                if point.category == "LoggedOut":  # a logged-out agent holds no interaction
                    self.table["i"] = {g: v for g, v in self.table["i"].items() if v[1] > point.start_ms}
        elif point.kind == "Workload":
            current = self.table["w"]
            if point.ending:
                if current is not None and current[3] == point.start_ms:
                    self.table["w"] = [0, 0, 0, point.at_ms]  # ended; the next workload starts here
            elif current is None or point.start_ms >= current[3]:
                self.table["w"] = [*point.load, point.start_ms]
        else:
            interactions: dict[str, list[Any]] = self.table["i"]
            current = interactions.get(point.guid)
            if point.ending:
                if current == [point.category, point.start_ms]:
                    del interactions[point.guid]
            elif current is None or point.start_ms >= current[1]:
                interactions[point.guid] = [point.category, point.start_ms]

    def prune(self, now_ms: int) -> None:
        self.table["i"] = {g: v for g, v in self.table["i"].items() if now_ms - v[1] < STALE_INTERACTION_MS}

    def latest_ms(self) -> int:
        """When any part last changed (0 if none): agents idle past retention are forgotten."""
        times = [v[1] for v in self.table["i"].values()]
        if self.table["p"] is not None:
            times.append(self.table["p"][2])
        if self.table["w"] is not None:
            times.append(self.table["w"][3])
        return max(times, default=0)

    def merged(self) -> Merged | None:
        """The normalized state by the module's precedence; None while nothing is known."""
        presence = self.table["p"]
        if presence is not None and presence[0] == "LoggedOut":
            return Merged(AgentState.OFFLINE, "Presence:LoggedOut", None)
        open_ = sorted(self.table["i"].values(), key=lambda v: v[1])
        working = [v for v in open_ if v[0] in _WORKING]
        if working:
            return Merged(AgentState.BUSY, f"Interaction:{working[-1][0]}", None)
        workload = self.table["w"]
        if workload is not None and sum(workload[:3]) > 0:
            calls, semi, non = workload[:3]
            return Merged(AgentState.BUSY, f"Workload:calls={calls},semiLive={semi},nonLive={non}", None)
        if any(v[0] == "Wrap" for v in open_):
            return Merged(AgentState.WRAP_UP, "Interaction:Wrap", None)
        strange = [v for v in open_ if v[0] not in INTERACTION_CATEGORIES]
        if strange:
            return Merged(AgentState.UNKNOWN, f"Interaction:{strange[-1][0]}", None)
        if presence is None:
            return None
        category, name = presence[0], presence[1]
        if category in ("Away", "ExtendedAway"):
            return Merged(AgentState.AWAY, f"Presence:{category}", name or category)
        if category == "Ready":
            return Merged(AgentState.AVAILABLE, "Presence:Ready", None)
        return Merged(AgentState.UNKNOWN, f"Presence:{category}", name)
