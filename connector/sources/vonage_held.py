"""The points a Vonage page holds back until the next page of its poll (``cursor["held"]``).

Pages are ordered by activity start, so the next page may still hold activities of the
instants at or after a page's latest start (a Connected ending here, its Wrap starting
there): those points wait, as JSON rows in the cursor, for the page that can see them whole.
Most of them are ends of activities still running, held page after page; so an agent's held
points are only looked at again when the agent has new points or the page's horizon reached
them, and its rows are otherwise the very list of the cursor read (whose JSON the offsets
store then reuses).
"""

from __future__ import annotations

from typing import Any

from connector.sources.vonage_state import Point, point_from_json, point_to_json

__all__ = ["HeldPoints"]

_Rows = dict[str, list[list[Any]]]
#: per agent: the held rows (the cursor's), the same points parsed, the earliest of their times
_Held = tuple[_Rows, dict[str, list[Point]], dict[str, int]]
_NONE: _Held = ({}, {}, {})


class HeldPoints:
    """Held points of one stream, handed from each page to the next.

    The next page reads the cursor this one wrote: when its ``held`` is the very map written,
    the points are taken over instead of parsed again. Anything else (a restart, a retried
    page) parses the rows. A page's handover counts only once the page is mapped whole
    (``handed``). An agent's held points always come before its new ones, as they were read.
    """

    def __init__(self) -> None:
        self._last: _Held | None = None
        self._pending: _Held | None = None
        self._held: _Held = _NONE

    def restore(self, held: _Rows | None) -> None:
        """The held points of the cursor read, for ``hold`` or ``release``."""
        last, self._last, self._pending = self._last, None, None
        if not held:
            self._held = _NONE
        elif last is not None and last[0] is held:
            self._held = last
        else:
            points = {agent: [point_from_json(raw) for raw in rows] for agent, rows in held.items()}
            self._held = (held, points, {agent: min(p[0] for p in agent_points)
                                         for agent, agent_points in points.items() if agent_points})

    def release(self, points: dict[str, list[Point]]) -> None:
        """Every held point onto ``points`` (each agent's before its new ones): the page holds nothing back."""
        for agent, held in self._held[1].items():
            new = points.get(agent)
            points[agent] = held + new if new else list(held)

    def hold(self, points: dict[str, list[Point]], horizon: int) -> _Rows:
        """Keep the points at or after ``horizon`` (held ones and ``points``) back; the rest onto ``points``.

        Returns the rows for the cursor: the held agents' in their order, then new agents' in
        the page's order."""
        before_rows, before_points, before_earliest = self._held
        held: _Held = (dict(before_rows), dict(before_points), dict(before_earliest))
        for agent in [a for a in before_rows if a in points or before_earliest.get(a, horizon - 1) < horizon]:
            previous = before_points[agent]
            new = points.get(agent)
            self._cut(held, points, agent, previous + new if new else list(previous), before_rows[agent], horizon)
        for agent, new in list(points.items()):
            if agent not in before_rows:
                self._cut(held, points, agent, new, [], horizon)
        self._pending = held if held[0] else None
        return held[0]

    @staticmethod
    def _cut(held: _Held, points: dict[str, list[Point]], agent: str, agent_points: list[Point],
             previous: list[list[Any]], horizon: int) -> None:
        """One agent's points cut at ``horizon``; the first ``len(previous)`` were held, with those rows."""
        later: list[Point] = []
        now: list[Point] = []
        agent_rows: list[list[Any]] = []
        count, first = len(previous), horizon
        for index, point in enumerate(agent_points):
            if point[0] < horizon:
                now.append(point)
                continue
            if not later or point[0] < first:
                first = point[0]
            later.append(point)
            agent_rows.append(previous[index] if index < count else point_to_json(point))
        points[agent] = now
        rows, kept, earliest = held
        if not later:
            rows.pop(agent, None)
            kept.pop(agent, None)
            earliest.pop(agent, None)
            return
        if count and len(agent_rows) == count and agent_rows[-1] is previous[-1]:
            agent_rows = previous  # all held stay, nothing new: the very list, its JSON is reused too
        rows[agent], kept[agent], earliest[agent] = agent_rows, later, first

    def handed(self) -> None:
        """The page is mapped: its held points go to the next page."""
        self._last, self._pending = self._pending, None
