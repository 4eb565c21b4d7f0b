"""Convoso agent productivity: seed example, dedupe on re-reads, dead letters, DST, paging guard."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from connector.model import AgentState, AgentStateChanged
from connector.sources.base import PagingError, VendorError
from connector.sources.convoso_productivity import ConvosoProductivityStream
from tests.sources.helpers import SECRET, convoso_productivity, fixture, ids, roundtrip, states, utc

NOW = utc(2025, 5, 28, 12)


def record(record_id: str, user: str, state: str, epoch: int, **extra: Any) -> dict[str, Any]:
    return {"id": record_id, "user_id": user, "state": state, "event_epoch": str(epoch), "campaign_id": "1234",
            "campaign_name": "Campaign 1", "availability_name": extra.pop("name", ""),
            "ip_address": "124.106.110.20", "browser": "Mozilla/5.0", "user_name": "Example Agent", **extra}


def page(entries: list[Any], total: int | None = None, offset: int = 0) -> dict[str, Any]:
    return {"success": True, "data": {"offset": offset, "limit": "1000",
                                      "total": str(len(entries) if total is None else total), "entries": entries}}


def start(stream: ConvosoProductivityStream) -> tuple[dict[str, Any], Any]:
    cursor = stream.initial_cursor(NOW)
    request = stream.first_request(cursor, NOW)
    assert request is not None
    return cursor, request


def test_seed_example_maps_to_one_login_event() -> None:
    stream = ConvosoProductivityStream(convoso_productivity())
    cursor, request = start(stream)
    assert request.method == "GET" and request.path == "/v1/agent-productivity/search"
    assert request.params == {"date_start": "2025-05-26", "date_end": "2025-05-28", "offset": "0", "limit": "1000"}
    result = stream.handle_response(cursor, request, fixture("convoso_productivity_seed.json"), NOW)
    assert result.dead_letters == [] and not result.unknown_vendor_states
    (event,) = result.events
    assert isinstance(event, AgentStateChanged)
    assert (event.agent_id, event.state, event.previous_state) == ("12345678", AgentState.AWAY, None)
    assert event.occurred_at == utc(2025, 5, 28, 11, 57, 17)  # event_epoch 1748433437
    assert (event.vendor_state, event.reason) == ("LOGIN", "Login")
    assert (event.campaign_id, event.campaign_name, event.vendor_record_id) == ("1234", "Campaign 1", "999999993")
    assert (event.tenant, event.source, event.ingested_at) == ("acme", "convoso-productivity-src", NOW)
    assert json.loads(event.source_cursor)["next"]["offset"] == 0
    assert "agents" not in event.source_cursor  # the position only, not the per-agent memory
    # total "14" with one entry read: the next page starts at offset 1 of the same dates
    assert result.next_request is not None and result.next_request.params["offset"] == "1"
    assert result.next_request.params["date_start"] == "2025-05-26"


def test_auth_token_is_a_query_parameter() -> None:
    stream = ConvosoProductivityStream(convoso_productivity(campaign_id="1234", agent_emails=["a@x", "b@x"]))
    _, request = start(stream)
    wire = stream.authorize(request, NOW)
    assert wire.params["auth_token"] == SECRET and "auth_token" not in request.params
    assert wire.params["campaign_id"] == "1234" and wire.params["agent_emails"] == "a@x,b@x"


def test_states_and_previous_states_in_time_order_across_pages_and_restart() -> None:
    stream = ConvosoProductivityStream(convoso_productivity(page_size=2))
    cursor, request = start(stream)
    entries = [record("5", "7", "Ready", 1748433500), record("4", "7", "LOGIN", 1748433437, name="Login")]
    first = stream.handle_response(cursor, request, page(entries, total=4), NOW)
    assert states(first.events) == [("AWAY", None, "2025-05-28T11:57:17+00:00"),
                                    ("AVAILABLE", "AWAY", "2025-05-28T11:58:20+00:00")]
    cursor = roundtrip(first.next_cursor)  # restart between pages
    assert first.next_request is not None
    second = stream.handle_response(cursor, first.next_request, page(
        [record("6", "7", "NotReady", 1748433600, name="Break", availability_code_name="Short break"),
         record("7", "7", "LogOut", 1748433700)], total=4, offset=2), NOW)
    assert states(second.events) == [("AWAY", "AVAILABLE", "2025-05-28T12:00:00+00:00"),
                                     ("OFFLINE", "AWAY", "2025-05-28T12:01:40+00:00")]
    assert [e.reason for e in second.events if isinstance(e, AgentStateChanged)] == ["Break", None]
    assert second.next_request is None  # offset 4 == total: poll finished
    assert second.next_cursor["next"] is None and second.next_cursor["poll"] is None
    assert second.next_cursor["day"] == "2025-05-28"  # re-read the current day next time (lookback 1h)


def test_re_reading_the_day_emits_nothing_twice() -> None:
    stream = ConvosoProductivityStream(convoso_productivity())
    cursor, request = start(stream)
    body = page([record("1", "7", "LOGIN", 1748433437), record("2", "7", "Ready", 1748433500)])
    first = stream.handle_response(cursor, request, body, NOW)
    assert len(first.events) == 2 and first.next_request is None
    cursor = roundtrip(first.next_cursor)
    again = stream.first_request(cursor, NOW)
    assert again is not None and again.params["offset"] == "0"
    grown = copy.deepcopy(body)
    grown["data"]["entries"].append(record("3", "7", "NotReady", 1748433900, name="Lunch"))
    second = stream.handle_response(cursor, again, grown, NOW)
    assert states(second.events) == [("AWAY", "AVAILABLE", "2025-05-28T12:05:00+00:00")]
    assert second.next_cursor["seen"].keys() >= {"1", "2", "3"}


def test_same_state_with_same_reason_emits_nothing() -> None:
    stream = ConvosoProductivityStream(convoso_productivity())
    cursor, request = start(stream)
    body = page([record("1", "7", "Ready", 1748433437), record("2", "7", "READY", 1748433500)])
    assert len(stream.handle_response(cursor, request, body, NOW).events) == 1


def test_ids_are_deterministic_and_distinct() -> None:
    body = page([record("1", "7", "LOGIN", 1748433437), record("2", "7", "Ready", 1748433500),
                 record("3", "8", "Ready", 1748433500)])
    runs = []
    for _ in range(2):
        stream = ConvosoProductivityStream(convoso_productivity())
        cursor, request = start(stream)
        runs.append(ids(stream.handle_response(cursor, request, body, NOW).events))
    assert runs[0] == runs[1] and len(set(runs[0])) == 3


def test_broken_records_become_dead_letters_and_the_rest_goes_on() -> None:
    stream = ConvosoProductivityStream(convoso_productivity())
    cursor, request = start(stream)
    entries = [record("1", "7", "LOGIN", 1748433437), {**record("2", "", "Ready", 1748433440)},
               {**record("3", "7", "Ready", 0), "event_epoch": "yesterday"}, "not an object",
               record("4", "7", "Ready", 1748433500)]
    result = stream.handle_response(cursor, request, page(entries), NOW)
    assert len(result.events) == 2
    kinds = [(d.location, d.error_kind) for d in result.dead_letters]
    assert kinds == [("data.entries[1]", "missing_field"), ("data.entries[2]", "bad_timestamp"),
                     ("data.entries[3]", "unknown_shape")]
    first = result.dead_letters[0]
    assert "user_id" in first.error and "data.entries[1]" in first.error
    raw = json.loads(first.raw_record)
    assert raw["id"] == "2" and "ip_address" not in raw and "browser" not in raw and "user_name" not in raw
    assert SECRET not in first.raw_record and first.source_cursor == result.events[0].source_cursor  # type: ignore[attr-defined]
    # the same broken records are not dead-lettered again when the day is re-read
    again = stream.handle_response(result.next_cursor, request, page(entries), NOW)
    assert again.dead_letters == [] and again.events == []


def test_personal_data_kept_only_when_asked() -> None:
    stream = ConvosoProductivityStream(convoso_productivity(), drop_personal_data=False)
    cursor, request = start(stream)
    result = stream.handle_response(cursor, request, page([record("2", "", "Ready", 1748433440)]), NOW)
    assert json.loads(result.dead_letters[0].raw_record)["ip_address"] == "124.106.110.20"


def test_unknown_state_maps_to_unknown_and_is_counted() -> None:
    stream = ConvosoProductivityStream(convoso_productivity())
    cursor, request = start(stream)
    body = page([record("1", "7", "INCALL", 1748433437), record("2", "8", "INCALL", 1748433437)])
    result = stream.handle_response(cursor, request, body, NOW)
    assert [e.state for e in result.events] == [AgentState.UNKNOWN, AgentState.UNKNOWN]  # type: ignore[attr-defined]
    assert [e.vendor_state for e in result.events] == ["INCALL", "INCALL"]  # type: ignore[attr-defined]
    assert result.unknown_vendor_states == {"INCALL": 2}


def test_a_record_older_than_the_agents_state_is_emitted_late_without_moving_the_state() -> None:
    """A record a skipped page or an unreadable first read held back is a real change: emitted with its
    own time (the processors count late events in their windows), previous_state unknown, and the
    agent's current state is left where it is."""
    stream = ConvosoProductivityStream(convoso_productivity(page_size=1))
    cursor, request = start(stream)
    first = stream.handle_response(cursor, request, page([record("2", "7", "Ready", 1748433500)], total=2), NOW)
    assert first.next_request is not None
    late = stream.handle_response(first.next_cursor, first.next_request,
                                  page([record("1", "7", "LOGIN", 1748433437)], total=2, offset=1), NOW)
    assert late.dead_letters == []
    assert [(e.state, e.previous_state, e.occurred_at) for e in late.events] == [  # type: ignore[attr-defined]
        (AgentState.AWAY, None, datetime.fromtimestamp(1748433437, UTC))]
    assert late.next_cursor["agents"]["7"][0] == "AVAILABLE"  # the live state did not roll back


def test_created_at_is_read_in_the_account_zone_when_event_epoch_is_missing() -> None:
    stream = ConvosoProductivityStream(convoso_productivity(account_timezone="America/New_York",
                                                           start_at=utc(2025, 3, 8)))
    now = utc(2025, 3, 9, 12)
    cursor = stream.initial_cursor(now)
    request = stream.first_request(cursor, now)
    assert request is not None
    entries = [{**record("1", "7", "LOGIN", 0), "event_epoch": "", "created_at": "2025-03-09 01:30:00"},
               {**record("2", "7", "Ready", 0), "event_epoch": None, "created_at": "2025-03-09 03:30:00"}]
    result = stream.handle_response(cursor, request, page(entries), now)
    assert [e.occurred_at for e in result.events] == [utc(2025, 3, 9, 6, 30), utc(2025, 3, 9, 7, 30)]  # type: ignore[attr-defined]


def test_account_day_follows_the_zone_across_dst() -> None:
    stream = ConvosoProductivityStream(convoso_productivity(account_timezone="America/New_York",
                                                           start_at=utc(2025, 11, 2, 4, 30)))
    now = utc(2025, 11, 3, 4, 30)  # 23:30 EST on Nov 2: still the 25-hour day
    request = stream.first_request(stream.initial_cursor(now), now)
    assert request is not None
    assert (request.params["date_start"], request.params["date_end"]) == ("2025-11-02", "2025-11-02")


def test_error_body_raises_vendor_error_with_code() -> None:
    stream = ConvosoProductivityStream(convoso_productivity())
    cursor, request = start(stream)
    with pytest.raises(VendorError) as caught:
        stream.handle_response(cursor, request, {"success": False, "code": 6026, "error": "Invalid campaign ID"}, NOW)
    assert caught.value.code == 6026 and "Invalid campaign ID" in str(caught.value)
    with pytest.raises(VendorError, match=r"data\.entries"):
        stream.handle_response(cursor, request, {"success": True, "data": {"total": "1"}}, NOW)
    with pytest.raises(VendorError, match="JSON object"):
        stream.handle_response(cursor, request, ["not", "an", "object"], NOW)


def test_data_as_an_array_per_the_response_table_is_accepted() -> None:
    stream = ConvosoProductivityStream(convoso_productivity())
    cursor, request = start(stream)
    result = stream.handle_response(cursor, request, {"success": True, "total": "1",
                                                      "data": [record("1", "7", "Ready", 1748433437)]}, NOW)
    assert len(result.events) == 1 and result.next_request is None
    assert result.dead_letters == []


def test_a_server_ignoring_offset_is_stopped() -> None:
    stream = ConvosoProductivityStream(convoso_productivity(page_size=2))
    cursor, request = start(stream)
    body = page([record("1", "7", "LOGIN", 1748433437), record("2", "7", "Ready", 1748433500)], total=10)
    first = stream.handle_response(cursor, request, body, NOW)
    assert first.next_request is not None
    with pytest.raises(PagingError, match="repeats the records"):
        stream.handle_response(first.next_cursor, first.next_request, body, NOW)


def test_a_total_that_keeps_growing_is_stopped() -> None:
    stream = ConvosoProductivityStream(convoso_productivity(page_size=1))
    cursor, request = start(stream)
    with pytest.raises(PagingError, match="total keeps growing"):
        for n in range(50):
            result = stream.handle_response(cursor, request, page(
                [record(str(100 + n), "7", "Ready" if n % 2 else "LOGIN", 1748433437 + n)], total=2 + 2 * n,
                offset=n), NOW)
            assert result.next_request is not None
            cursor, request = result.next_cursor, result.next_request


def test_handle_response_does_not_mutate_the_cursor() -> None:
    stream = ConvosoProductivityStream(convoso_productivity())
    cursor, request = start(stream)
    before = copy.deepcopy(cursor)
    stream.handle_response(cursor, request, fixture("convoso_productivity_seed.json"), NOW)
    assert cursor == before
    reset = stream.reset_poll(stream.handle_response(cursor, request, fixture("convoso_productivity_seed.json"),
                                                     NOW).next_cursor)
    assert reset["next"] is None and reset["poll"] is None


def test_the_cursor_stays_bounded_on_a_busy_day() -> None:
    stream = ConvosoProductivityStream(convoso_productivity())
    cursor, request = start(stream)
    base = 1748420000  # 2025-05-28 08:13 UTC, within the day being re-read
    entries = [record(str(10_000 + n), str(n % 200), "Ready" if (n // 200) % 2 else "NotReady", base + n)
               for n in range(12_000)]
    result = stream.handle_response(cursor, request, page(entries, total=20_000), NOW)
    assert len(result.events) == 12_000
    cursor = result.next_cursor
    assert len(cursor["seen"]) == 10_000 and cursor["horizon"] == base + 2_000
    assert len(json.dumps(cursor)) < 1_000_000
    again = stream.handle_response(stream.reset_poll(cursor), request, page(entries, total=20_000), NOW)
    assert again.events == [] and again.dead_letters == []  # dropped ids fall under the horizon


def test_a_new_source_reads_from_the_start_of_its_first_account_day() -> None:
    stream = ConvosoProductivityStream(convoso_productivity(start_at=utc(2025, 5, 28, 11)))  # 04:00 in LA
    cursor, request = start(stream)
    assert request.params["date_start"] == "2025-05-28"
    early = record("1", "7", "Ready", 1748418000)   # 07:40 UTC = 00:40 in LA, before start_at
    before = record("2", "8", "Ready", 1748415000)  # 23:50 in LA the day before: not this day
    result = stream.handle_response(cursor, request, page([early, before]), NOW)
    assert [e.agent_id for e in result.events] == ["7"]  # type: ignore[attr-defined]
