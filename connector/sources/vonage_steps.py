"""One agent's points of a page applied in time order: the changes of its merged state.

Points of one instant are one step (ends before starts, see ``vonage_state.point_order``), so a Connected
ending and a Wrap starting at the same millisecond never show a state in between. Points
older than the agent's last event (late Processed reports) are folded in at that event's
time, so an agent's events never go back in time. An older activity never replaces a newer
one, so replays are harmless.
"""

from __future__ import annotations

from connector.model import AgentState
from connector.sources.vonage_state import Merged, Parts, Point, by_order, merged_state

__all__ = ["Change", "apply_in_order", "step_agent"]

#: (at_ms, merged state, the step's last point: the vendor record the event names)
Change = tuple[int, Merged, Point]


def step_agent(parts: Parts, points: list[Point], last_state: AgentState | None, last_reason: str | None,
               floor: int | None) -> list[Change]:
    """Apply ``points`` (sorted in place) to ``parts`` (changed in place); one change per step that moves
    the merged state away from (``last_state``, ``last_reason``), the agent's last event at ``floor`` ms.

    The parts are followed in locals and each point applied inline: this runs per point of a page."""
    if len(points) > 1:
        points.sort(key=by_order)
    presence, workload, interactions = parts
    changes: list[Change] = []
    index, count = 0, len(points)
    while index < count:
        at = points[index][0]
        if floor is not None and floor > at:
            at = floor
        while index < count:  # the step: the points up to ``at`` (sorted by time: a prefix)
            at_ms, ending, kind, category, start_ms, name, guid, load, _ = points[index]
            if at_ms > at:
                break
            index += 1
            if kind == "Presence":
                if not ending and (presence is None or start_ms >= presence[2]):  # ends by the next one starting
                    presence = [category, name, start_ms]
                    if category == "LoggedOut":  # a logged-out agent holds no interaction
                        interactions = {g: v for g, v in interactions.items() if v[1] > start_ms}
            elif kind == "Workload":
                if ending:
                    if workload is not None and workload[3] == start_ms:
                        workload = [0, 0, 0, at_ms]  # ended; the next workload starts here
                elif workload is None or start_ms >= workload[3]:
                    workload = [load[0], load[1], load[2], start_ms]
            else:  # one open interaction activity per guid, the latest started
                current = interactions.get(guid)
                if ending:
                    if current == [category, start_ms]:
                        del interactions[guid]
                elif current is None or start_ms >= current[1]:
                    interactions[guid] = [category, start_ms]
        merged = merged_state(presence, workload, interactions)
        if merged is None or (last_state is not None and last_state == merged.state
                              and last_reason == merged.reason):
            continue
        changes.append((at, merged, points[index - 1]))
        last_state, last_reason, floor = merged.state, merged.reason, at
    parts[0], parts[1], parts[2] = presence, workload, interactions
    return changes


def apply_in_order(parts: Parts, points: list[Point]) -> None:
    """Apply ``points`` one by one in the given order (no steps, no events): the presence bootstrap."""
    for point in points:
        step_agent(parts, [point], None, None, None)
