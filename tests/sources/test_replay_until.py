"""``replay_until``: mapping the same body onto the same cursor again gives the same nothing until then, and
something else from then on where the mapping reads the clock (a gap coming due, a new day, memory expiring)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from connector.sources.base import PageResult, RequestSpec
from connector.sources.convoso_productivity import ConvosoProductivityStream
from connector.sources.koreai import KoreaiStream
from connector.sources.timeutil import FOREVER
from tests.sources.helpers import convoso_productivity, koreai, utc
from tests.sources.test_convoso_productivity import page as convoso_page
from tests.sources.test_convoso_productivity import record
from tests.sources.test_koreai import agent, interval
from tests.sources.test_koreai import page as koreai_page

Stream = KoreaiStream | ConvosoProductivityStream
MS = timedelta(milliseconds=1)


def settled(stream: Stream, cursor: dict[str, Any], request: RequestSpec, body: Any,
            now: datetime) -> tuple[dict[str, Any], PageResult]:
    """Map until the cursor is a fixed point (the second read of an unchanged day): its cursor and result."""
    first = stream.handle_response(cursor, request, body, now)
    again = stream.handle_response(first.next_cursor, request, body, now)
    assert again.events == [] and again.dead_letters == [] and again.next_cursor == first.next_cursor
    return first.next_cursor, again


def same(stream: Stream, cursor: dict[str, Any], request: RequestSpec, body: Any, page: PageResult,
         at: datetime) -> bool:
    result = stream.handle_response(cursor, request, body, at)
    return (result.events == [] and result.dead_letters == [] and result.next_cursor == page.next_cursor
            and result.next_request == page.next_request)


KOREAI_NOW = utc(2023, 3, 10, 17)  # 22:30 in India


def koreai_start() -> tuple[KoreaiStream, dict[str, Any], RequestSpec]:
    stream = KoreaiStream(koreai(start_at=utc(2023, 3, 10, 12)))
    cursor = stream.initial_cursor(KOREAI_NOW)
    request = stream.first_request(cursor, KOREAI_NOW)
    assert request is not None
    return stream, cursor, request


def test_koreai_a_gap_not_yet_due_ends_the_replay_when_it_comes_due() -> None:
    stream, cursor, request = koreai_start()
    body = koreai_page(agent("u-1", interval("AVAILABLE", "2023-03-10T21:00:00", "2023-03-10T22:29:58")))
    cursor, page = settled(stream, cursor, request, body, KOREAI_NOW)  # ended 2 s ago: no gap yet
    until = stream.replay_until(cursor, request, body, page, KOREAI_NOW)
    assert until == utc(2023, 3, 10, 16, 59, 58) + timedelta(seconds=5) + MS  # more than GAP_TOLERANCE after
    assert same(stream, cursor, request, body, page, until - MS)
    later = stream.handle_response(cursor, request, body, until)
    assert [e.vendor_state for e in later.events] == ["(no status)"]  # replaying here would have lost it


def test_koreai_an_emitted_gap_or_an_open_interval_replays_until_the_day_ends() -> None:
    stream, cursor, request = koreai_start()
    body = koreai_page(agent("u-1", interval("AVAILABLE", "2023-03-10T20:00:00", "2023-03-10T21:00:00")),
                       agent("u-2", interval("BUSY", "2023-03-10T21:00:00")))
    cursor, page = settled(stream, cursor, request, body, KOREAI_NOW)
    until = stream.replay_until(cursor, request, body, page, KOREAI_NOW)
    assert until == utc(2023, 3, 10, 18, 30)  # midnight in India: the poll goes on to the next day
    assert same(stream, cursor, request, body, page, until - MS)
    assert not same(stream, cursor, request, body, page, until)


def test_koreai_a_page_with_more_after_it_does_not_depend_on_the_day() -> None:
    stream, cursor, request = koreai_start()
    body = koreai_page(agent("u-2", interval("BUSY", "2023-03-10T21:00:00")), more=True)
    first = stream.handle_response(cursor, request, body, KOREAI_NOW)
    assert stream.replay_until(cursor, request, body, first, KOREAI_NOW) == FOREVER


def test_koreai_an_agent_twice_in_a_page_is_never_replayed() -> None:
    stream, cursor, request = koreai_start()
    body = koreai_page(agent("u-1", interval("BUSY", "2023-03-10T21:00:00")),
                       agent("u-1", interval("BUSY", "2023-03-10T21:00:00")))
    cursor, page = settled(stream, cursor, request, body, KOREAI_NOW)
    assert stream.replay_until(cursor, request, body, page, KOREAI_NOW) is None


def test_koreai_memory_expiring_ends_the_replay() -> None:
    stream, cursor, request = koreai_start()
    body = koreai_page(agent("u-2", interval("BUSY", "2023-03-10T21:00:00")))
    cursor, page = settled(stream, cursor, request, body, KOREAI_NOW)
    old = {**cursor, "dead": {"abc": 1_000}}  # a dead letter reported long ago: pruned at the poll's end
    page = stream.handle_response(old, request, body, KOREAI_NOW)
    assert page.next_cursor["dead"] == {}
    kept = {**cursor, "dead": {"abc": 1_678_296_600_000}}  # 2023-03-08 17:30 UTC: kept two days
    page = stream.handle_response(kept, request, body, KOREAI_NOW)
    until = stream.replay_until(kept, request, body, page, KOREAI_NOW)
    assert until == utc(2023, 3, 10, 17, 30)  # before midnight in India
    assert same(stream, kept, request, body, page, until - MS)
    assert not same(stream, kept, request, body, page, until + MS)


CONVOSO_NOW = utc(2025, 5, 28, 12)  # 05:00 in Los Angeles


def convoso_start(**settings: Any) -> tuple[ConvosoProductivityStream, dict[str, Any], RequestSpec]:
    stream = ConvosoProductivityStream(convoso_productivity(**settings))
    cursor = stream.initial_cursor(CONVOSO_NOW)
    request = stream.first_request(cursor, CONVOSO_NOW)
    assert request is not None
    return stream, cursor, request


def test_convoso_the_last_page_replays_until_the_account_day_changes() -> None:
    stream, cursor, request = convoso_start(lookback_seconds=0)
    body = convoso_page([record("1", "7", "Ready", 1748433500)])
    cursor, page = settled(stream, cursor, request, body, CONVOSO_NOW)
    until = stream.replay_until(cursor, request, body, page, CONVOSO_NOW)
    assert until == utc(2025, 5, 29, 7)  # midnight in Los Angeles (PDT)
    assert same(stream, cursor, request, body, page, until - MS)
    assert not same(stream, cursor, request, body, page, until)


def test_convoso_agent_memory_expiring_ends_the_replay() -> None:
    stream, cursor, request = convoso_start(lookback_seconds=0)
    body = convoso_page([])
    old = {**cursor, "agents": {"7": ["AVAILABLE", None, 1_745_784_000_000]}}  # 2025-04-27 20:00 UTC
    page = stream.handle_response(old, request, body, CONVOSO_NOW)
    until = stream.replay_until(old, request, body, page, CONVOSO_NOW)
    assert until == utc(2025, 5, 28, 20)  # forgotten after 31 days, before the day changes
    assert same(stream, old, request, body, page, until - MS)
    assert not same(stream, old, request, body, page, until + MS)


def test_convoso_a_page_with_more_after_it_replays_for_ever() -> None:
    stream, cursor, request = convoso_start(page_size=1)
    body = convoso_page([record("1", "7", "Ready", 1748433500)], total=3)
    first = stream.handle_response(cursor, request, body, CONVOSO_NOW)
    assert first.next_request is not None
    assert stream.replay_until(cursor, request, body, first, CONVOSO_NOW) == FOREVER
