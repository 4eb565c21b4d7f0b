"""Properties over generated histories: paging and re-reading never change what is emitted."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from connector.sources.convoso_productivity import ConvosoProductivityStream
from connector.sources.koreai import KoreaiStream
from tests.sources.helpers import convoso_productivity, ids, koreai, utc

NOW = utc(2025, 5, 28, 12)
STATES = ["LOGIN", "Ready", "NotReady", "LogOut"]

histories = st.lists(st.tuples(st.sampled_from(["7", "8"]), st.sampled_from(STATES), st.integers(1, 600)),
                     min_size=1, max_size=25)


def _entries(history: list[tuple[str, str, int]]) -> list[dict[str, Any]]:
    entries, epoch = [], 1748430000
    for n, (user, state, step) in enumerate(history):
        epoch += step
        entries.append({"id": str(1000 + n), "user_id": user, "state": state, "event_epoch": str(epoch),
                        "availability_name": "Break" if state == "NotReady" else ""})
    return entries


def _read(stream: ConvosoProductivityStream, cursor: dict[str, Any], entries: list[dict[str, Any]],
          size: int) -> tuple[list[str], dict[str, Any]]:
    request = stream.first_request(cursor, NOW)
    out: list[str] = []
    while request is not None:
        offset = int(request.params["offset"])
        body = {"success": True, "data": {"total": str(len(entries)), "entries": entries[offset:offset + size]}}
        result = stream.handle_response(cursor, request, body, NOW)
        out.extend(ids(result.events))
        cursor, request = result.next_cursor, result.next_request
    return out, cursor


@settings(max_examples=60, deadline=None)
@given(histories, st.integers(1, 7))
def test_convoso_paging_and_re_reading_do_not_change_the_events(history: list[tuple[str, str, int]],
                                                                 size: int) -> None:
    entries = _entries(history)
    whole_stream = ConvosoProductivityStream(convoso_productivity())
    whole, _ = _read(whole_stream, whole_stream.initial_cursor(NOW), entries, 1000)
    paged_stream = ConvosoProductivityStream(convoso_productivity(page_size=size))
    paged, cursor = _read(paged_stream, paged_stream.initial_cursor(NOW), entries, size)
    assert paged == whole
    again, _ = _read(paged_stream, cursor, entries, size)
    assert again == []
    # one event per change of (state, reason) per agent, so never more events than records
    assert len(whole) <= len(entries) and len(set(whole)) == len(whole)


intervals = st.lists(st.tuples(st.sampled_from(["AVAILABLE", "BUSY", "AWAY"]), st.integers(0, 30),
                               st.integers(1, 60)), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(intervals, st.booleans())
def test_koreai_re_reading_a_day_is_idempotent(spans: list[tuple[str, int, int]], open_last: bool) -> None:
    stream = KoreaiStream(koreai(start_at=utc(2023, 3, 10, 1)))
    now = utc(2023, 3, 10, 18)
    status, minute = [], 0
    for primary, gap, length in spans:
        minute += gap
        start = f"2023-03-10T{8 + minute // 60:02d}:{minute % 60:02d}:00"
        minute += length
        end = f"2023-03-10T{8 + minute // 60:02d}:{minute % 60:02d}:00"
        status.append({"primaryStatus": primary, "secondaryStatus": primary, "startTime": start, "endTime": end})
    if open_last:
        status[-1]["endTime"] = "-"
    body = {"hasMore": False, "data": [{"userId": "u-1", "status": status}]}
    cursor = stream.initial_cursor(now)
    request = stream.first_request(cursor, now)
    assert request is not None
    first = stream.handle_response(cursor, request, body, now)
    assert first.events and first.dead_letters == []
    times = [e.occurred_at for e in first.events]  # type: ignore[attr-defined]
    assert times == sorted(times)
    again = stream.handle_response(first.next_cursor, request, body, now)
    assert again.events == []
