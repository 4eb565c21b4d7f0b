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
from typing import Any, NamedTuple

from connector.model import AgentState

__all__ = ["INTERACTION_CATEGORIES", "PRESENCE_CATEGORIES", "AgentParts", "HeldPoints", "Merged", "Point",
           "point_from_json", "point_order", "point_to_json"]

PRESENCE_CATEGORIES = frozenset({"Ready", "Away", "ExtendedAway", "LoggedOut"})
INTERACTION_CATEGORIES = frozenset({"Ringing", "Connected", "Wrap", "Unexpected", "Failed"})
STALE_INTERACTION_MS = 48 * 3600 * 1000  # an interaction open this long without an end is dropped


class Point(NamedTuple):
    """One moment of an agent's timeline: an activity starting, or (with a duration) ending.

    A named tuple, not a dataclass: a page makes one or two per activity, and a tuple is
    built several times faster than a frozen dataclass."""

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


def point_order(point: Point) -> int:
    """``point.order`` as one integer (the same order, no tuple built): a sort key."""
    return point[0] * 2 + (0 if point[1] else 1)


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
            return _OFFLINE
        interactions: dict[str, list[Any]] = self.table["i"]
        # by start (stable: ties keep their order); most agents have none or one open
        open_ = sorted(interactions.values(), key=_start) if len(interactions) > 1 else list(interactions.values())
        for value in reversed(open_):
            working = _WORKING.get(value[0])
            if working is not None:
                return working
        workload = self.table["w"]
        if workload is not None and sum(workload[:3]) > 0:
            return _busy(workload)
        if open_:
            if any(v[0] == "Wrap" for v in open_):
                return _WRAP_UP
            strange = [v for v in open_ if v[0] not in INTERACTION_CATEGORIES]
            if strange:
                return Merged(AgentState.UNKNOWN, f"Interaction:{strange[-1][0]}", None)
        if presence is None:
            return None
        category, name = presence[0], presence[1]
        if category in ("Away", "ExtendedAway"):
            return Merged(AgentState.AWAY, f"Presence:{category}", name or category)
        if category == "Ready":
            return _AVAILABLE
        return Merged(AgentState.UNKNOWN, f"Presence:{category}", name)


def _start(value: list[Any]) -> Any:
    return value[1]


_OFFLINE = Merged(AgentState.OFFLINE, "Presence:LoggedOut", None)
_WRAP_UP = Merged(AgentState.WRAP_UP, "Interaction:Wrap", None)
_AVAILABLE = Merged(AgentState.AVAILABLE, "Presence:Ready", None)
#: the interaction categories that are work, and what an open one of them merges to
_WORKING = {category: Merged(AgentState.BUSY, f"Interaction:{category}", None) for category in ("Ringing", "Connected")}
_BUSY: dict[tuple[Any, Any, Any], Merged] = {}


def _busy(workload: list[Any]) -> Merged:
    """BUSY with these workload counts; the few distinct ones are made once (ints only: ``True``
    or ``1.0`` would find the entry of ``1`` but must spell themselves)."""
    counts = calls, semi, non = workload[0], workload[1], workload[2]
    exact = type(calls) is int and type(semi) is int and type(non) is int
    merged = _BUSY.get(counts) if exact else None
    if merged is None:
        merged = Merged(AgentState.BUSY, f"Workload:calls={calls},semiLive={semi},nonLive={non}", None)
        if exact:
            if len(_BUSY) >= 1024:
                _BUSY.clear()
            _BUSY[counts] = merged
    return merged


def point_to_json(point: Point) -> list[Any]:
    return [point.at_ms, point.ending, point.kind, point.category, point.start_ms, point.name, point.guid,
            list(point.load)]


def point_from_json(raw: list[Any]) -> Point:
    at_ms, ending, kind, category, start_ms, name, guid, load = raw
    return Point(at_ms, ending, kind, category, start_ms, name, guid, (load[0], load[1], load[2]))


_Rows = dict[str, list[list[Any]]]
_JsonOf = dict[int, tuple[Point, list[Any]]]


class HeldPoints:
    """The points a page holds back (``cursor["held"]``), handed to the next page of the poll.

    The next page reads the cursor this one wrote: when its ``held`` is the very map written,
    the Points are taken over instead of parsed again, and the JSON of those held once more
    is reused instead of written again. Anything else (a restart, a retried page) parses.
    A page's handover counts only once the page is mapped whole (``handed``).
    """

    def __init__(self) -> None:
        self._last: tuple[_Rows, dict[str, list[Point]], _JsonOf] | None = None
        self._pending: tuple[_Rows, dict[str, list[Point]], _JsonOf] | None = None
        self._json_of: _JsonOf = {}
        self._rows_before: _Rows = {}  # the handed-over rows: an agent's unchanged list is kept as it was

    def restore(self, held: _Rows | None) -> dict[str, list[Point]]:
        """Each agent's held points, as new lists the page may extend."""
        last, self._last, self._pending, self._json_of, self._rows_before = self._last, None, None, {}, {}
        if not held:
            return {}
        if last is not None and last[0] is held:
            self._json_of, self._rows_before = last[2], held
            return {agent: list(points) for agent, points in last[1].items()}
        return {agent: [point_from_json(raw) for raw in rows] for agent, rows in held.items()}

    def hold(self, points: dict[str, list[Point]], horizon: int) -> _Rows:
        """Take the points at or after ``horizon`` out of ``points``; their rows for the cursor."""
        rows: _Rows = {}
        kept: dict[str, list[Point]] = {}
        json_of: _JsonOf = {}
        known, before = self._json_of, self._rows_before
        for agent, agent_points in points.items():
            later = [p for p in agent_points if p.at_ms >= horizon]
            if not later:
                continue
            agent_rows = []
            for point in later:
                hit = known.get(id(point))
                row = hit[1] if hit is not None and hit[0] is point else point_to_json(point)
                agent_rows.append(row)
                json_of[id(point)] = (point, row)
            previous = before.get(agent)
            if previous is not None and len(previous) == len(agent_rows) and all(
                    a is b for a, b in zip(previous, agent_rows, strict=True)):
                agent_rows = previous  # the very list again: the cursor's JSON of it is reused too
            rows[agent], kept[agent] = agent_rows, later
            points[agent] = [p for p in agent_points if p.at_ms < horizon]
        self._pending = (rows, kept, json_of) if rows else None
        return rows

    def handed(self) -> None:
        """The page is mapped: its held points go to the next page."""
        self._last, self._pending, self._json_of = self._pending, None, {}
