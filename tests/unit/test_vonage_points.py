"""Vonage's fast paths give exactly what the general code gives: start times, record-id texts,
point order and the merged state (against the straightforward reading kept here)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.model import AgentState, from_millis, to_millis
from connector.sources.base import RecordError, iso_z, parse_iso_utc
from connector.sources.vonage_points import StartTimes, activity_points
from connector.sources.vonage_state import (
    INTERACTION_CATEGORIES,
    AgentParts,
    Merged,
    Point,
    point_order,
)

moments = st.integers(min_value=-62_135_596_800_000, max_value=253_402_300_799_999).map(
    lambda ms: datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms))


@settings(max_examples=300, deadline=None)
@given(moments)
def test_canonical_starts_read_as_the_general_parser_reads_them(moment: datetime) -> None:
    starts = StartTimes()
    text = iso_z(moment)
    assert starts.millis(text) == to_millis(parse_iso_utc(text, field="start")) == to_millis(moment)
    assert starts.text_of(to_millis(moment)) == text


@pytest.mark.parametrize("text", [
    "2026-11-22T05:16:02.470+00:00", "2026-11-22T05:16:02.470z", " 2026-11-22T05:16:02.470Z",
    "2026-11-22T05:16:02Z", "2026-11-22T05:16:02.4701Z", "2026-11-22T07:16:02.470+02:00",
])
def test_other_spellings_go_through_the_general_parser(text: str) -> None:
    expected = to_millis(parse_iso_utc(text, field="start"))
    starts = StartTimes()
    assert starts.millis(text) == expected
    assert starts.text_of(expected) == iso_z(from_millis(expected))  # never the non-canonical text


@pytest.mark.parametrize("text", [
    "2026-02-30T05:16:02.470Z", "2026-11-22T24:00:00.000Z", "2026-11-22T23:60:00.000Z",
    "2026-11-22T23:59:60.000Z", "0000-01-01T00:00:00.000Z", "2026-11-22T05:16:02.470", "", None, 17,
    "\uff12\uff10\uff12\uff16-11-22T05:16:02.470Z",  # full-width digits: not ASCII
])
def test_bad_starts_are_refused_with_the_general_parsers_error(text: Any) -> None:
    with pytest.raises(RecordError) as expected:
        parse_iso_utc(text, field="start")
    with pytest.raises(RecordError) as got:
        StartTimes().millis(text)
    assert (got.value.kind, str(got.value)) == (expected.value.kind, str(expected.value))


def test_a_remembered_day_or_text_never_answers_for_another() -> None:
    starts = StartTimes()
    first = starts.millis("2026-11-22T05:16:02.470Z")
    assert starts.millis("2026-11-23T05:16:02.470Z") == first + 86_400_000
    assert starts.millis("2026-11-22T05:16:02.471Z") == first + 1
    for n in range(20_000):  # past both bounds: the maps are cleared, answers stay right
        day = datetime(2000, 1, 1, tzinfo=UTC) + timedelta(days=n % 3000, milliseconds=n)
        assert starts.millis(iso_z(day)) == to_millis(day)
    assert starts.text_of(first) == "2026-11-22T05:16:02.470Z"


def test_unknown_categories_are_counted_once_per_activity() -> None:
    unknown: Counter[str] = Counter()
    item = {"agentId": 7, "type": "Presence", "category": "Lunch", "name": "Lunch",
            "start": "2026-11-22T05:16:02.470Z", "duration": 5}
    agent, _, start_ms, end_ms, points = activity_points(item, unknown, StartTimes())
    assert (agent, end_ms, len(points), unknown) == ("7", start_ms + 5, 1, Counter({"Presence:Lunch": 1}))


point_values = st.tuples(st.integers(-5, 5), st.booleans(), st.sampled_from(["Presence", "Workload"]),
                         st.just(""), st.integers(-5, 5), st.none(), st.just(""), st.just((0, 0, 0)))


@given(st.lists(point_values, max_size=12))
def test_the_integer_sort_key_orders_by_time_ends_first(points: list[Point]) -> None:
    assert sorted(points, key=point_order) == sorted(points, key=lambda p: (p[0], 0 if p[1] else 1))


def reference_merged(table: dict[str, Any]) -> Merged | None:
    """The precedence of ``vonage_state`` read the plain way (what ``merged`` was before its fast paths)."""
    presence = table["p"]
    if presence is not None and presence[0] == "LoggedOut":
        return Merged(AgentState.OFFLINE, "Presence:LoggedOut", None)
    open_ = sorted(table["i"].values(), key=lambda v: v[1])
    working = [v for v in open_ if v[0] in ("Ringing", "Connected")]
    if working:
        return Merged(AgentState.BUSY, f"Interaction:{working[-1][0]}", None)
    workload = table["w"]
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


categories = st.sampled_from(["Ringing", "Connected", "Wrap", "Unexpected", "Failed", "Odd"])
counts = st.integers(0, 2) | st.sampled_from([True, False, 1.0])
tables = st.fixed_dictionaries({
    "p": st.none() | st.tuples(st.sampled_from(["Ready", "Away", "ExtendedAway", "LoggedOut", "Odd"]),
                               st.none() | st.sampled_from(["", "Lunch"]), st.integers(0, 9)).map(list),
    "w": st.none() | st.tuples(counts, counts, counts, st.integers(0, 9)).map(list),
    "i": st.dictionaries(st.text("abc", min_size=1, max_size=2),
                         st.tuples(categories, st.integers(0, 3)).map(list), max_size=4),
})


@settings(max_examples=500, deadline=None)
@given(st.lists(tables, min_size=1, max_size=3))
def test_merged_is_the_plain_precedence(sequence: list[dict[str, Any]]) -> None:
    for table in sequence:  # several in a row: what one table made once must not answer for another
        assert AgentParts(table).merged() == reference_merged(table)
