"""Kore.ai intervals as rows: the cached fast path reads exactly what the field-by-field read does."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from connector.model import AgentState
from connector.sources.koreai_intervals import read_interval, read_rows, status_of
from connector.sources.timeutil import RecordError

DAY = "2031-05-06"  # a day no other test reads: the first read of each text is a cache miss


def iv(primary: Any, start: Any, end: Any = "-", secondary: Any = None, **more: Any) -> dict[str, Any]:
    return {"primaryStatus": primary, "secondaryStatus": secondary, "startTime": start, "endTime": end, **more}


VALID = [
    iv("BUSY", f"{DAY}T09:00:00", f"{DAY}T09:05:00", " acw "),
    iv(" AVAILABLE ", f" {DAY} 09:05:00 ", f"{DAY}T09:05:00"),
    iv("AWAY", f"{DAY}T09:05:00", f"{DAY}T09:07:00.250", "Lunch"),
    iv("AWAY", f"{DAY}T08:00:00.000900", "", duration="1:00:00"),
    iv("AWAY", f"{DAY}T08:00:00.000100", None, "AWAY", duration="0:00:01"),
    iv("DND", f"{DAY}T10:00:00", "-", 7),
    {"primaryStatus": "OFFLINE", "startTime": f"{DAY}T11:00:00", "endTime": f"{DAY}T11:30:00"},
    iv("BUSY", f"{DAY}T10:00:00", "-", {"unhashable": 1}),  # no text: no secondary
]
BROKEN = [
    "text", None, [1], iv("", f"{DAY}T10:00:00"), iv(["BUSY"], f"{DAY}T10:00:00"), iv("BUSY", [f"{DAY}"]),
    iv("BUSY", f"{DAY}T10:00:00Z"), iv("BUSY", f"{DAY}T10:00:00", ""), iv("BUSY", f"{DAY}T10:00:00", None,
                                                                            duration="5 min"),
    iv("BUSY", f"{DAY}T10:00:00", {"at": 1}),
]


def errors_of(statuses: list[Any], offset: int) -> list[tuple[int, str, str, str]]:
    return [(index, error.kind, error.field, str(error)) for index, _, error in read_rows(statuses, offset)[1]]


@pytest.mark.parametrize("offset", [-330, 240])
def test_cold_and_warm_reads_give_the_rows_of_a_field_by_field_read(offset: int) -> None:
    statuses = copy.deepcopy(VALID + BROKEN)
    cold_rows, cold_errors = read_rows(statuses, offset)
    warm_rows, warm_errors = read_rows(statuses, offset)  # every text and status cached now
    expected, failures = [], []
    for index, raw in enumerate(statuses):
        try:
            expected.append(read_interval(raw, index, offset))
        except RecordError as error:
            failures.append((index, error.kind, error.field, str(error)))
    assert cold_rows == warm_rows == sorted(expected)
    assert [row[1] for row in warm_rows] == [4, 3, 0, 1, 2, 5, 7, 6]  # by start µs, then the vendor's order
    assert errors_of(statuses, offset) == [(i, e.kind, e.field, str(e)) for i, _, e in cold_errors] == failures
    assert [index for index, _, _ in warm_errors] == list(range(len(VALID), len(statuses)))
    assert statuses == VALID + BROKEN  # nothing is changed in place


def test_a_row_holds_start_parts_end_millis_and_the_mapped_statuses() -> None:
    start_us, index, start, end_ms, status = read_interval(VALID[0], 3, -330)
    moment, start_ms, text, micros = start
    assert (start_us, index, micros, start_ms * 1000) == (micros, 3, moment.timestamp() * 1_000_000, micros)
    assert text == f"{DAY}T03:30:00.000Z" and end_ms == start_ms + 300_000
    assert status == (AgentState.WRAP_UP, "BUSY/acw", "acw", "BUSY")
    assert read_interval(VALID[3], 0, 0)[3] == read_interval(VALID[3], 0, 0)[2][1] + 3_600_000  # from its duration
    assert read_interval(VALID[5], 0, 0)[3] is None  # open


def test_statuses_are_stripped_and_a_non_text_secondary_is_none() -> None:
    assert status_of(" AWAY ", " Lunch ") == (AgentState.AWAY, "AWAY/Lunch", "Lunch", "AWAY")
    assert status_of("AWAY", "AWAY") == (AgentState.AWAY, "AWAY/AWAY", None, "AWAY")
    assert status_of("AWAY", "   ") == status_of("AWAY", None) == status_of("AWAY", 3) == (
        AgentState.AWAY, "AWAY", None, "AWAY")
    assert status_of("Ready?", None)[0] is AgentState.UNKNOWN


def test_an_empty_list_reads_as_nothing() -> None:
    assert read_rows([], 0) == ([], [])
