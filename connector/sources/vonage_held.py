"""The points a Vonage page holds back until the next page of its poll (``cursor["held"]``).

Pages are ordered by activity start, so the next page may still hold activities of the
instants at or after a page's latest start (a Connected ending here, its Wrap starting
there): those points wait, as JSON rows in the cursor, for the page that can see them whole.
Most of them are ends of activities still running, held page after page; so an agent's rows
are only looked at again when the agent has new points or the page's horizon reached them.
"""

from __future__ import annotations

from typing import Any

from connector.sources.vonage_state import Point, point_from_json, point_to_json

__all__ = ["HeldPoints"]

_Rows = dict[str, list[list[Any]]]
#: per agent: the held rows (the cursor's), the same points parsed, the earliest of their times
_Held = tuple[_Rows, dict[str, list[Point]], dict[str, int]]
_NEVER = 1 << 62  # later than any time


class HeldPoints:
    """Held points of one stream, handed from each page to the next.

    The next page reads the cursor this one wrote: when its ``held`` is the very map written,
    the points are taken over instead of parsed again. Anything else (a restart, a retried
    page) parses the rows. A page's handover counts only once the page is mapped whole
    (``handed``). An agent's rows that did not change are the very list of the cursor read,
    so the offsets store reuses their JSON too.
    """

    def __init__(self) -> None:
        self._last: _Held | None = None
        self._pending: _Held | None = None
        self._restored: _Held = ({}, {}, {})

    def restore(self, held: _Rows | None) -> dict[str, list[Point]]:
        """Each agent's held points, as new lists the page may extend (in the rows' order)."""
        last, self._last, self._pending = self._last, None, None
        if not held:
            self._restored = ({}, {}, {})
            return {}
        if last is not None and last[0] is held:
            self._restored = last
        else:
            points = {agent: [point_from_json(raw) for raw in rows] for agent, rows in held.items()}
            self._restored = (held, points, {agent: min(p[0] for p in agent_points)
                                             for agent, agent_points in points.items() if agent_points})
        return {agent: list(points) for agent, points in self._restored[1].items()}

    def hold(self, points: dict[str, list[Point]], horizon: int) -> _Rows:
        """Take the points at or after ``horizon`` out of ``points``; their rows for the cursor."""
        held: _Held = ({}, {}, {})
        rows, kept, earliest = held
        before_rows, before_points, before_earliest = self._restored
        for agent, agent_points in points.items():
            previous = before_rows.get(agent)
            count = len(previous) if previous is not None else 0
            if count == len(agent_points) and agent in before_earliest and before_earliest[agent] >= horizon:
                # nothing new for the agent, and the horizon did not reach its held points: all stay
                rows[agent], kept[agent], earliest[agent] = previous, before_points[agent], before_earliest[agent]  # type: ignore[assignment]
                points[agent] = []
                continue
            self._split(agent, agent_points, previous, count, horizon, held, points)
        self._pending = held if rows else None
        return rows

    @staticmethod
    def _split(agent: str, agent_points: list[Point], previous: list[list[Any]] | None, count: int, horizon: int,
               held: _Held, points: dict[str, list[Point]]) -> None:
        """One agent's points cut at ``horizon``; the rows of restored points are the cursor's own."""
        later: list[Point] = []
        now: list[Point] = []
        agent_rows: list[list[Any]] = []
        first = _NEVER
        fresh = 0
        for index, point in enumerate(agent_points):
            if point[0] < horizon:
                now.append(point)
                continue
            later.append(point)
            if index < count:
                agent_rows.append(previous[index])  # type: ignore[index]
            else:
                agent_rows.append(point_to_json(point))
                fresh += 1
            if not first < point[0]:
                first = point[0]
        if not later:
            return
        if not fresh and len(agent_rows) == count:
            agent_rows = previous  # type: ignore[assignment]  # the very list: its JSON is reused too
        held[0][agent], held[1][agent], held[2][agent] = agent_rows, later, first
        points[agent] = now

    def handed(self) -> None:
        """The page is mapped: its held points go to the next page."""
        self._last, self._pending = self._pending, None
