"""Vonage's three activity kinds of one agent merged into one normalized state.

Presence (Ready / Away / ExtendedAway / LoggedOut), workload (calls, semiLive, nonLive)
and interaction activities (Ringing / Connected / Wrap / Unexpected / Failed, one at a
time per interaction guid, several interactions at once) each say part of the truth.
An agent's parts are ``[presence, workload, interactions]`` (``Parts``), kept as JSON in the
cursor; ``merged_state`` reads them with one precedence, most work-related first:

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
from operator import itemgetter
from typing import Any

from connector.model import AgentState

__all__ = ["INTERACTION_CATEGORIES", "NO_LOAD", "PRESENCE_CATEGORIES", "AgentParts", "Merged", "Parts", "Point",
           "by_order", "merged_state", "own_parts", "point_from_json", "point_order", "point_to_json"]

PRESENCE_CATEGORIES = frozenset({"Ready", "Away", "ExtendedAway", "LoggedOut"})
INTERACTION_CATEGORIES = frozenset({"Ringing", "Connected", "Wrap", "Unexpected", "Failed"})
STALE_INTERACTION_MS = 48 * 3600 * 1000  # an interaction open this long without an end is dropped
NO_LOAD = (0, 0, 0)

#: One moment of an agent's timeline, an activity starting or (with a duration) ending:
#: ``(at_ms, ending, kind, category, start_ms, name, guid, load, order)``. A plain tuple: a page
#: makes one or two per activity, and a tuple display is the cheapest object Python builds.
#: ``kind`` is Presence | Workload | Interaction; ``category`` "" for workload; ``start_ms`` (with
#: kind and guid) identifies the activity the point belongs to; ``order`` is ``point_order``'s,
#: made with the point, so sorting an agent's points calls no Python function per point.
Point = tuple[int, bool, str, str, int, "str | None", str, tuple[int, int, int], int]
#: ``[presence [category, name, start_ms] | None, workload [calls, semiLive, nonLive, since_ms] | None,
#: interactions {guid: [category, start_ms]}]``: one agent's parts while a page steps it
Parts = list[Any]


def point_order(point: Point) -> int:
    """Time, then ends before starts at one instant (a Connected ending and a Wrap starting is
    one step), as one integer: a sort key without a tuple per point. Each point carries its own."""
    return point[0] * 2 + (0 if point[1] else 1)


#: the sort key of points: the order they carry
by_order = itemgetter(8)


@dataclass(frozen=True, slots=True)
class Merged:
    state: AgentState
    vendor_state: str
    reason: str | None


def own_parts(table: dict[str, Any] | None) -> Parts:
    """An agent's parts from its cursor table (``{"p", "w", "i"}``), copied: the input cursor stays intact."""
    if table is None:
        return [None, None, {}]
    return [table.get("p"), table.get("w"), dict(table.get("i") or {})]


def merged_state(presence: list[Any] | None, workload: list[Any] | None,
                 interactions: dict[str, list[Any]]) -> Merged | None:
    """The normalized state by the module's precedence; None while nothing is known.

    Runs once per step of an agent: most agents have no interaction open, or one."""
    if presence is not None and presence[0] == "LoggedOut":
        return _OFFLINE
    single = None
    if len(interactions) == 1:
        (single,) = interactions.values()
        working = _WORKING.get(single[0])
        if working is not None:
            return working
    elif interactions:
        return _interactions(sorted(interactions.values(), key=_start), workload, presence)
    if workload is not None and workload[0] + workload[1] + workload[2] > 0:
        return _busy(workload)
    if single is not None:
        if single[0] == "Wrap":
            return _WRAP_UP
        if single[0] not in INTERACTION_CATEGORIES:
            return Merged(AgentState.UNKNOWN, f"Interaction:{single[0]}", None)
    return _by_presence(presence)


def _interactions(open_: list[list[Any]], workload: list[Any] | None, presence: list[Any] | None) -> Merged | None:
    """``merged_state`` with several interactions open (``open_``, by start: ties keep their order)."""
    for value in reversed(open_):
        working = _WORKING.get(value[0])
        if working is not None:
            return working
    if workload is not None and workload[0] + workload[1] + workload[2] > 0:
        return _busy(workload)
    if any(v[0] == "Wrap" for v in open_):
        return _WRAP_UP
    strange = [v for v in open_ if v[0] not in INTERACTION_CATEGORIES]
    if strange:
        return Merged(AgentState.UNKNOWN, f"Interaction:{strange[-1][0]}", None)
    return _by_presence(presence)


def _by_presence(presence: list[Any] | None) -> Merged | None:
    """The state when only the presence speaks."""
    if presence is None:
        return None
    category = presence[0]
    if category == "Ready":
        return _AVAILABLE
    return _presence(category, presence[1])


class AgentParts:
    """One agent's cursor table ``{"p": [category, name, start_ms] | null, "w": [calls, semiLive,
    nonLive, since_ms] | null, "i": {guid: [category, start_ms]}}`` read whole: the window's pruning
    (a page steps agents on ``Parts``, see ``vonage_steps``)."""

    def __init__(self, table: dict[str, Any]) -> None:
        self.table = table
        table.setdefault("p", None)
        table.setdefault("w", None)
        table.setdefault("i", {})

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
        return merged_state(self.table["p"], self.table["w"], self.table["i"])


def _start(value: list[Any]) -> Any:
    return value[1]


_OFFLINE = Merged(AgentState.OFFLINE, "Presence:LoggedOut", None)
_WRAP_UP = Merged(AgentState.WRAP_UP, "Interaction:Wrap", None)
_AVAILABLE = Merged(AgentState.AVAILABLE, "Presence:Ready", None)
#: the interaction categories that are work, and what an open one of them merges to
_WORKING = {category: Merged(AgentState.BUSY, f"Interaction:{category}", None) for category in ("Ringing", "Connected")}
_BUSY: dict[tuple[Any, Any, Any], Merged] = {}
_PRESENCE: dict[tuple[str, Any], Merged] = {}


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


def _presence(category: str, name: Any) -> Merged:
    """AWAY (reason: the name, else the category) or UNKNOWN (reason: the name) of a presence other
    than Ready; made once per (category, name) when the name is a string or None."""
    key = (category, name)
    cached = type(name) is str or name is None
    merged = _PRESENCE.get(key) if cached else None
    if merged is None:
        if category in ("Away", "ExtendedAway"):
            merged = Merged(AgentState.AWAY, f"Presence:{category}", name or category)
        else:
            merged = Merged(AgentState.UNKNOWN, f"Presence:{category}", name)
        if cached:
            if len(_PRESENCE) >= 1024:
                _PRESENCE.clear()
            _PRESENCE[key] = merged
    return merged


def point_to_json(point: Point) -> list[Any]:
    """A held point's cursor row (its order is not written: it follows from the rest)."""
    at_ms, ending, kind, category, start_ms, name, guid, load, _ = point
    return [at_ms, ending, kind, category, start_ms, name, guid, [load[0], load[1], load[2]]]


def point_from_json(raw: list[Any]) -> Point:
    at_ms, ending, kind, category, start_ms, name, guid, load = raw
    return (at_ms, ending, kind, category, start_ms, name, guid, (load[0], load[1], load[2]),
            at_ms * 2 + (0 if ending else 1))
