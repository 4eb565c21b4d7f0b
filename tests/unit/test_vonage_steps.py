"""Vonage's page passes give what the plain reading gives: an agent's steps (``step_agent``), the
points held back between pages (``HeldPoints``) and the one-pass read of an activity."""

from __future__ import annotations

import copy
import json
from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from connector.model import AgentState
from connector.sources.base import RecordError
from connector.sources.vonage_held import HeldPoints
from connector.sources.vonage_points import StartTimes, _checked, activity_points
from connector.sources.vonage_state import Point, own_parts, point_from_json, point_order, point_to_json
from connector.sources.vonage_steps import apply_in_order, step_agent
from tests.unit.test_vonage_points import reference_merged, tables


def reference_apply(table: dict[str, Any], point: Point) -> None:
    """One point applied to a cursor table, the plain way (what ``AgentParts.apply`` did)."""
    at_ms, ending, kind, category, start_ms, name, guid, load, _ = point
    if kind == "Presence":
        if not ending and (table["p"] is None or start_ms >= table["p"][2]):
            table["p"] = [category, name, start_ms]
            if category == "LoggedOut":
                table["i"] = {g: v for g, v in table["i"].items() if v[1] > start_ms}
    elif kind == "Workload":
        if ending:
            if table["w"] is not None and table["w"][3] == start_ms:
                table["w"] = [0, 0, 0, at_ms]
        elif table["w"] is None or start_ms >= table["w"][3]:
            table["w"] = [*load, start_ms]
    else:
        current = table["i"].get(guid)
        if ending:
            if current == [category, start_ms]:
                del table["i"][guid]
        elif current is None or start_ms >= current[1]:
            table["i"][guid] = [category, start_ms]


def reference_steps(table: dict[str, Any], points: list[Point], last: tuple[Any, Any] | None,
                    floor: int | None) -> list[tuple[int, Any, Point]]:
    """The steps of an agent as ``VonageStream._advance`` read them before ``vonage_steps``."""
    pending = sorted(points, key=point_order)
    changes = []
    index = 0
    while index < len(pending):
        at = max(pending[index][0], floor) if floor is not None else pending[index][0]
        while index < len(pending) and pending[index][0] <= at:
            reference_apply(table, pending[index])
            index += 1
        merged = reference_merged(table)
        if merged is None or (last is not None and last == (merged.state, merged.reason)):
            continue
        changes.append((at, merged, pending[index - 1]))
        last, floor = (merged.state, merged.reason), at
    return changes


def point(at: int, ending: bool, kind: str, category: str, start: int, name: str | None, guid: str,
          load: tuple[int, int, int]) -> Point:
    return point_from_json([max(at, start) if ending else start, ending, kind, category, start, name, guid,
                            list(load)])


points_ = st.builds(
    point, st.integers(0, 6), st.booleans(), st.sampled_from(["Presence", "Workload", "Interaction"]),
    st.sampled_from(["Ready", "Away", "LoggedOut", "Connected", "Wrap", "Ringing", "Odd", ""]),
    st.integers(0, 6), st.none() | st.just("Lunch"), st.sampled_from(["", "g1", "g2"]),
    st.tuples(st.integers(0, 1), st.integers(0, 1), st.integers(0, 1)))
lasts = st.none() | st.tuples(st.sampled_from(list(AgentState)), st.none() | st.just("Lunch"), st.integers(0, 6))


@settings(max_examples=400, deadline=None)
@given(tables, st.lists(points_, max_size=10), lasts)
def test_an_agents_steps_are_the_plain_reading(table: dict[str, Any], points: list[Point],
                                               last: tuple[Any, Any, int] | None) -> None:
    expected_table = copy.deepcopy(table)
    expected = reference_steps(expected_table, points, last[:2] if last else None, last[2] if last else None)
    parts = own_parts(copy.deepcopy(table))
    got = step_agent(parts, list(points), *(last if last else (None, None, None)))
    assert got == expected
    assert {"p": parts[0], "w": parts[1], "i": parts[2]} == expected_table


@settings(max_examples=200, deadline=None)
@given(tables, st.lists(points_, max_size=8))
def test_the_bootstrap_applies_in_the_given_order(table: dict[str, Any], points: list[Point]) -> None:
    expected = copy.deepcopy(table)
    for one in points:
        reference_apply(expected, one)
    parts = own_parts(copy.deepcopy(table))
    apply_in_order(parts, points)
    assert {"p": parts[0], "w": parts[1], "i": parts[2]} == expected


agents = st.sampled_from(["a", "b", "c"])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(agents, st.lists(points_, min_size=1, max_size=4), max_size=3),
       st.lists(st.tuples(agents, points_), max_size=8), st.integers(0, 7), st.booleans(), st.booleans())
def test_held_points_are_the_plain_cut(held: dict[str, list[Point]], new: list[tuple[str, Point]], horizon: int,
                                       handed: bool, holding: bool) -> None:
    keeper = HeldPoints()
    if handed:  # the previous page of this stream wrote the rows read
        keeper.restore(None)
        read = keeper.hold({agent: list(agent_points) for agent, agent_points in held.items()}, -1)
        keeper.handed()
    else:
        read = json.loads(json.dumps({a: [point_to_json(p) for p in ps] for a, ps in held.items()}))
    keeper.restore(read)
    page: dict[str, list[Point]] = {}
    for agent, one in new:
        page.setdefault(agent, []).append(one)
    combined = {agent: list(agent_points) for agent, agent_points in held.items()}  # held first, as read
    for agent, agent_points in page.items():
        combined.setdefault(agent, []).extend(agent_points)
    if not holding:
        keeper.release(page)
        assert {a: p for a, p in page.items() if p} == {a: p for a, p in combined.items() if p}
        return
    got = keeper.hold(page, horizon)
    expected = {a: [point_to_json(p) for p in ps if p[0] >= horizon] for a, ps in combined.items()}
    assert json.dumps(got) == json.dumps({a: r for a, r in expected.items() if r})
    assert {a: p for a, p in page.items() if p} == {
        a: [p for p in ps if p[0] < horizon] for a, ps in combined.items() if any(p[0] < horizon for p in ps)}
    for agent, agent_points in held.items():  # an agent's rows that did not change are the very list read
        if agent not in {a for a, _ in new} and all(p[0] >= horizon for p in agent_points):
            assert got[agent] is read[agent]


field_values = st.sampled_from([None, "", "x", 0, 3, -1, True, 2.5, [], {}])
items = st.fixed_dictionaries(
    {"agentId": st.sampled_from(["7", "", None]) | field_values,
     "type": st.sampled_from(["Presence", "Workload", "Interaction", "Other"]),
     "start": st.sampled_from(["2026-11-22T05:16:02.470Z", "2026-11-22T05:16:02Z", "bad"]),
     "category": st.sampled_from(["Ready", "Connected", "Lunch", None, ""]),
     "name": st.sampled_from(["Lunch", None, 3]),
     "duration": st.sampled_from([None, 0, 5, -1, True, 2.5]),
     "interaction": st.sampled_from([None, {"guid": "g"}, {"guid": ""}, {}, "g"]),
     "workload": st.sampled_from([None, {"calls": 1}, {"calls": -1}, {"semiLive": True}, {}, []])},
).flatmap(lambda item: st.sets(st.sampled_from(sorted(item))).map(
    lambda dropped: {k: v for k, v in item.items() if k not in dropped}))


def outcome(read: Any, item: Any) -> tuple[Any, Counter[str]]:
    unknown: Counter[str] = Counter()
    try:
        return read(item, unknown, StartTimes()), unknown
    except RecordError as error:
        return (error.kind, str(error)), unknown


@settings(max_examples=600, deadline=None)
@given(items | st.sampled_from([None, [], "x"]))
def test_the_one_pass_read_is_the_checked_read(item: Any) -> None:
    assert outcome(activity_points, item) == outcome(_checked, item)
