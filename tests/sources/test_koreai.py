"""Kore.ai agentstatusdetails: seed example, inverted offsets per DST day, gaps, paging, JWT."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta
from typing import Any

import pytest

from connector.model import AgentState, AgentStateChanged
from connector.sources.base import PagingError, RequestSpec, VendorError
from connector.sources.koreai import GAP_STATE, KoreaiStream
from tests.sources.helpers import SECRET, fixture, koreai, roundtrip, states, utc

NOW = utc(2023, 3, 10, 17)   # 22:30 in India


def interval(primary: str, start: str, end: str = "-", secondary: str | None = None) -> dict[str, Any]:
    return {"primaryStatus": primary, "secondaryStatus": secondary or primary, "startTime": start, "endTime": end,
            "duration": "-" if end == "-" else "00:00:01"}


def agent(user: str, *intervals: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"userId": user, "firstName": "Jane", "lastName": "Doe", "email": f"{user}@example.com"}
    if intervals:
        entry["status"] = list(intervals)
    return entry


def page(*agents: dict[str, Any], more: bool = False) -> dict[str, Any]:
    return {"hasMore": more, "limit": 50, "offset": 0, "data": list(agents)}


def begin(stream: KoreaiStream, now: Any = NOW) -> tuple[dict[str, Any], RequestSpec]:
    cursor = stream.initial_cursor(now)
    request = stream.first_request(cursor, now)
    assert request is not None
    return cursor, request


def offset_of(request: RequestSpec) -> tuple[str, int]:
    assert request.json_body is not None
    date_filter = request.json_body["filter"]["dateFilter"]
    return date_filter["startDate"], date_filter["timeZoneOffSet"]


def test_seed_example_in_india() -> None:
    stream = KoreaiStream(koreai(start_at=utc(2023, 3, 10, 12)))
    cursor, request = begin(stream)
    assert request.method == "POST"
    assert request.path == "/agentassist/api/public/analytics/account/63f07d26f04465685df4abcd/agentstatusdetails"
    assert request.params == {"limit": "50", "offset": "0"}
    assert request.json_body == {"filter": {"dateFilter": {"date": "2023-03-10", "startDate": "2023-03-10",
                                                           "endDate": "2023-03-10", "timeZoneOffSet": -330}}}
    result = stream.handle_response(cursor, request, fixture("koreai_seed_fixed.json"), NOW)
    assert states(result.events) == [
        ("AVAILABLE", None, "2023-03-09T07:50:38+00:00"),      # 13:20:38 IST; lasted 32:17:04
        ("BUSY", "AVAILABLE", "2023-03-10T16:08:52+00:00"),    # the second AVAILABLE changed nothing
        ("OFFLINE", "BUSY", "2023-03-10T16:09:48+00:00"),      # 29 s without a status: not logged in
        ("AVAILABLE", "OFFLINE", "2023-03-10T16:10:17+00:00"),
        ("OFFLINE", "AVAILABLE", "2023-03-10T16:10:28+00:00"),
        ("BUSY", "OFFLINE", "2023-03-10T16:21:02+00:00"),      # the open interval: the current state
    ]
    events = [e for e in result.events if isinstance(e, AgentStateChanged)]
    assert {e.agent_id for e in events} == {"u-fdc72ca0-a35d-57ff-bcb3-a33904a4xxxx"}  # two roster-only agents
    assert (events[-1].vendor_state, events[-1].reason) == ("BUSY/NBK", "NBK")
    assert (events[2].vendor_state, events[2].reason) == (GAP_STATE, "no status reported")
    assert len({e.event_id for e in events}) == 6
    assert result.dead_letters == [] and not result.unknown_vendor_states
    assert result.next_request is None and result.next_cursor["next"] is None


def test_re_reading_a_day_is_idempotent_and_a_closed_interval_continues() -> None:
    stream = KoreaiStream(koreai(start_at=utc(2023, 3, 10, 12)))
    cursor, request = begin(stream)
    first = stream.handle_response(cursor, request, fixture("koreai_seed_fixed.json"), NOW)
    cursor = roundtrip(first.next_cursor)
    again = stream.first_request(cursor, NOW)
    assert again is not None
    request = again
    assert stream.handle_response(cursor, request, fixture("koreai_seed_fixed.json"), NOW).events == []
    later = utc(2023, 3, 10, 17, 30)
    grown = page(agent("u-fdc72ca0-a35d-57ff-bcb3-a33904a4xxxx",
                       interval("BUSY", "2023-03-10T21:51:02", "2023-03-10T22:40:00", "NBK"),
                       interval("AVAILABLE", "2023-03-10T22:40:00")))
    result = stream.handle_response(cursor, request, grown, later)
    assert states(result.events) == [("AVAILABLE", "BUSY", "2023-03-10T17:10:00+00:00")]


def test_a_closed_last_interval_is_a_gap_until_the_next_one() -> None:
    stream = KoreaiStream(koreai(start_at=utc(2023, 3, 10, 12)))
    cursor, request = begin(stream)
    result = stream.handle_response(cursor, request, page(agent(
        "u-1", interval("AVAILABLE", "2023-03-10T20:00:00", "2023-03-10T21:00:00"))), NOW)
    assert states(result.events) == [("AVAILABLE", None, "2023-03-10T14:30:00+00:00"),
                                     ("OFFLINE", "AVAILABLE", "2023-03-10T15:30:00+00:00")]
    again = stream.handle_response(result.next_cursor, request, page(agent(
        "u-1", interval("AVAILABLE", "2023-03-10T20:00:00", "2023-03-10T21:00:00"))), NOW)
    assert again.events == []


def test_short_gaps_are_rounding_not_gaps() -> None:
    stream = KoreaiStream(koreai(start_at=utc(2023, 3, 10, 12)))
    cursor, request = begin(stream)
    result = stream.handle_response(cursor, request, page(agent(
        "u-1", interval("AVAILABLE", "2023-03-10T20:00:00", "2023-03-10T20:10:00"),
        interval("BUSY", "2023-03-10T20:10:03"))), NOW)
    assert [e.state for e in result.events] == [AgentState.AVAILABLE, AgentState.BUSY]  # type: ignore[attr-defined]


def test_dst_days_are_queried_once_per_offset() -> None:
    stream = KoreaiStream(koreai(timezone="America/New_York", start_at=utc(2025, 11, 2, 12)))
    now = utc(2025, 11, 3, 12)
    cursor, request = begin(stream, now)
    seen = []
    next_request: RequestSpec | None = request
    while next_request is not None:
        seen.append(offset_of(next_request))
        result = stream.handle_response(cursor, next_request, page(), now)
        cursor, next_request = roundtrip(result.next_cursor), result.next_request
    assert seen == [("2025-11-02", 240), ("2025-11-02", 300), ("2025-11-03", 300)]
    assert cursor["day"] == "2025-11-03" and cursor["next"] is None

    spring = KoreaiStream(koreai(timezone="America/New_York", start_at=utc(2025, 3, 9, 12)))
    now = utc(2025, 3, 9, 20)
    cursor, request = begin(spring, now)
    first = spring.handle_response(cursor, request, page(), now)
    assert first.next_request is not None
    assert [offset_of(request), offset_of(first.next_request)] == [("2025-03-09", 300), ("2025-03-09", 240)]


def test_interval_spanning_the_dst_change_is_exact_under_either_offset() -> None:
    stream = KoreaiStream(koreai(timezone="America/New_York", start_at=utc(2025, 11, 2, 12)))
    now = utc(2025, 11, 2, 12)
    cursor, request = begin(stream, now)
    edt = stream.handle_response(cursor, request, page(agent(   # rendered in -04:00 (offset 240)
        "u-1", interval("AVAILABLE", "2025-11-02T00:30:00", "2025-11-02T03:30:00"), interval("BUSY",
                                                                                              "2025-11-02T03:30:00"))),
        now)
    assert states(edt.events) == [("AVAILABLE", None, "2025-11-02T04:30:00+00:00"),
                                  ("BUSY", "AVAILABLE", "2025-11-02T07:30:00+00:00")]
    assert edt.next_request is not None and offset_of(edt.next_request) == ("2025-11-02", 300)
    est = stream.handle_response(edt.next_cursor, edt.next_request, page(agent(  # same intervals in -05:00
        "u-1", interval("AVAILABLE", "2025-11-01T23:30:00", "2025-11-02T02:30:00"), interval("BUSY",
                                                                                              "2025-11-02T02:30:00"))),
        now)
    assert est.events == []


def test_paging_with_has_more_and_loop_detection() -> None:
    stream = KoreaiStream(koreai(start_at=utc(2023, 3, 10, 12), agent_emails=["a@x.com"]))
    cursor, request = begin(stream)
    assert request.json_body is not None and request.json_body["filter"]["agents"] == ["a@x.com"]
    first = stream.handle_response(cursor, request, page(agent("u-1"), agent("u-2"), more=True), NOW)
    assert first.next_request is not None and first.next_request.params["offset"] == "50"
    assert offset_of(first.next_request) == offset_of(request)
    with pytest.raises(PagingError, match=r"koreai: .*repeats the records"):
        stream.handle_response(first.next_cursor, first.next_request, page(agent("u-2"), agent("u-1"), more=True),
                               NOW)
    last = stream.handle_response(first.next_cursor, first.next_request, page(agent("u-3")), NOW)
    assert last.next_request is None and last.next_cursor["poll"] is None


def test_broken_entries_become_dead_letters_and_the_rest_goes_on() -> None:
    stream = KoreaiStream(koreai(start_at=utc(2023, 3, 10, 12)))
    cursor, request = begin(stream)
    nameless = agent("", interval("AVAILABLE", "2023-03-10T20:00:00"))
    result = stream.handle_response(cursor, request, page(
        nameless,
        agent("u-2", interval("AVAILABLE", "10/03/2023 20:00"), interval("BUSY", "2023-03-10T20:30:00"),
              {"secondaryStatus": "X", "startTime": "2023-03-10T20:40:00", "endTime": "-"}),
        {"userId": "u-3", "status": "AVAILABLE"}), NOW)
    assert states(result.events) == [("BUSY", None, "2023-03-10T15:00:00+00:00")]
    assert [(d.location, d.error_kind) for d in result.dead_letters] == [
        ("data[0]", "missing_field"), ("data[1].status[0]", "bad_timestamp"),
        ("data[1].status[2]", "missing_field"), ("data[2].status", "unknown_shape")]
    assert "startTime" in result.dead_letters[1].error and "primaryStatus" in result.dead_letters[2].error
    raw = json.loads(result.dead_letters[0].raw_record)
    assert "email" not in raw and "firstName" not in raw and raw["status"][0]["primaryStatus"] == "AVAILABLE"


def test_unknown_status_maps_to_unknown_and_is_counted() -> None:
    stream = KoreaiStream(koreai(start_at=utc(2023, 3, 10, 12)))
    cursor, request = begin(stream)
    result = stream.handle_response(cursor, request, page(agent("u-1", interval("ON_CALL", "2023-03-10T20:00:00"))),
                                    NOW)
    (event,) = result.events
    assert isinstance(event, AgentStateChanged)
    assert (event.state, event.vendor_state) == (AgentState.UNKNOWN, "ON_CALL/ON_CALL")
    assert result.unknown_vendor_states == {"ON_CALL": 1}


def test_error_bodies_raise_vendor_error() -> None:
    stream = KoreaiStream(koreai(start_at=utc(2023, 3, 10, 12)))
    cursor, request = begin(stream)
    with pytest.raises(VendorError) as caught:
        stream.handle_response(cursor, request, {"errors": [{"msg": "Invalid token", "code": 401}]}, NOW)
    assert caught.value.code == 401 and "Invalid token" in str(caught.value)
    with pytest.raises(VendorError, match="hasMore"):
        stream.handle_response(cursor, request, {"data": []}, NOW)


def _claims(token: str) -> dict[str, Any]:
    header, payload, signature = token.split(".")
    expected = hmac.new(SECRET.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(signature + "==") == expected
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=="))
    return claims


def test_auth_header_is_a_jwt_signed_from_client_credentials_plus_iid() -> None:
    stream = KoreaiStream(koreai())
    _, request = begin(stream)
    headers = stream.authorize(request, NOW).headers
    assert headers["iId"] == "st-e19d" and headers["Content-Type"] == "application/json"
    claims = _claims(headers["auth"])
    assert claims["appId"] == "cs-client" and claims["sub"]
    assert claims["exp"] - claims["iat"] == 3600 and claims["iat"] == int(NOW.timestamp())
    static = KoreaiStream(koreai(jwt="a.b.c", client_id=None, client_secret=None))
    assert static.authorize(request, NOW).headers["auth"] == "a.b.c"


def test_a_signed_jwt_is_reused_until_five_minutes_before_it_expires_then_signed_anew() -> None:
    stream = KoreaiStream(koreai())
    _, request = begin(stream)
    first = stream.authorize(request, NOW).headers["auth"]
    assert stream.authorize(request, NOW + timedelta(minutes=54, seconds=59)).headers["auth"] == first
    renewed = stream.authorize(request, NOW + timedelta(minutes=55)).headers["auth"]
    assert renewed != first and _claims(renewed)["iat"] == int((NOW + timedelta(minutes=55)).timestamp())
    assert _claims(renewed)["exp"] - _claims(renewed)["iat"] == 3600
    assert stream.authorize(request, NOW + timedelta(minutes=56)).headers["auth"] == renewed
    earlier = stream.authorize(request, NOW).headers["auth"]  # a clock set back: never a JWT issued in its future
    assert _claims(earlier)["iat"] == int(NOW.timestamp())
    stream.forget_credentials()  # after a 401
    assert _claims(stream.authorize(request, NOW + timedelta(seconds=1)).headers["auth"])["iat"] == \
        int(NOW.timestamp()) + 1


def test_a_broken_interval_is_dead_lettered_once_across_re_reads() -> None:
    stream = KoreaiStream(koreai(start_at=utc(2023, 3, 10, 12)))
    cursor, request = begin(stream)
    body = page(agent("u-1", interval("AVAILABLE", "yesterday"), interval("BUSY", "2023-03-10T20:30:00")))
    first = stream.handle_response(cursor, request, body, NOW)
    assert len(first.dead_letters) == 1 and len(first.events) == 1
    again = stream.handle_response(roundtrip(first.next_cursor), request, body, NOW)
    assert again.dead_letters == [] and again.events == []


def test_a_reported_offline_status_is_told_apart_from_a_gap() -> None:
    stream = KoreaiStream(koreai(start_at=utc(2023, 3, 10, 12)))
    cursor, request = begin(stream)
    result = stream.handle_response(cursor, request, page(agent(
        "u-1", interval("AVAILABLE", "2023-03-10T20:00:00", "2023-03-10T20:10:00"),
        interval("OFFLINE", "2023-03-10T20:30:00"))), NOW)
    events = [e for e in result.events if isinstance(e, AgentStateChanged)]
    assert [(e.state, e.vendor_state, e.reason) for e in events] == [
        (AgentState.AVAILABLE, "AVAILABLE/AVAILABLE", None),
        (AgentState.OFFLINE, GAP_STATE, "no status reported"),
        (AgentState.OFFLINE, "OFFLINE/OFFLINE", None)]


def test_a_wrap_up_secondary_status_refines_busy() -> None:
    from connector.sources.koreai import interval_state

    assert interval_state("BUSY", "ACW") is AgentState.WRAP_UP
    assert interval_state("BUSY", "wrap-up") is AgentState.WRAP_UP
    assert interval_state("BUSY", "NBK") is AgentState.BUSY
    assert interval_state("BUSY", None) is AgentState.BUSY
    assert interval_state("AVAILABLE", "ACW") is AgentState.AVAILABLE
    assert interval_state("DND", None) is AgentState.UNKNOWN


def test_two_intervals_starting_in_one_second_are_both_applied_once() -> None:
    """Kore.ai times are whole seconds: a 0.4 s AVAILABLE followed by AWAY start in the same second.
    Both are changes; re-reading the day repeats neither."""
    stream = KoreaiStream(koreai(start_at=utc(2023, 3, 10, 12)))
    cursor, request = begin(stream)
    body = page(agent("u-1",
                      interval("BUSY", "2023-03-10T21:00:00", "2023-03-10T21:05:07", "ACW"),
                      interval("AVAILABLE", "2023-03-10T21:05:07", "2023-03-10T21:05:07"),
                      interval("AWAY", "2023-03-10T21:05:07", "-", "BREAK")))
    first = stream.handle_response(cursor, request, body, NOW)
    assert [s[0] for s in states(first.events)] == ["WRAP_UP", "AVAILABLE", "AWAY"]
    again = stream.handle_response(roundtrip(first.next_cursor), request, body, NOW)
    assert again.events == []


def test_an_unchanged_agent_is_not_mapped_again_but_its_trailing_gap_still_comes() -> None:
    """A re-read of the same intervals skips their parsing; the gap that begins as the window moves on is kept."""
    stream = KoreaiStream(koreai(start_at=utc(2023, 3, 10, 12)))
    cursor, request = begin(stream)
    body = page(agent("u-1", interval("AVAILABLE", "2023-03-10T20:00:00", "2023-03-10T21:00:00")),
                agent("u-2", interval("BUSY", "2023-03-10T20:00:00")))
    first = stream.handle_response(cursor, request, body, utc(2023, 3, 10, 15, 30, 2))  # u-1 ended 2 s ago
    assert [e.agent_id for e in first.events] == ["u-1", "u-2"]
    assert stream.unchanged("u-2", "2023-03-10", -330, body["data"][1]["status"],
                            first.next_cursor["intervals"]["u-2"])
    later = utc(2023, 3, 10, 15, 31)
    again = stream.handle_response(first.next_cursor, request, json.loads(json.dumps(body)), later)
    fresh = KoreaiStream(koreai(start_at=utc(2023, 3, 10, 12))).handle_response(
        roundtrip(first.next_cursor), request, body, later)
    assert states(again.events) == states(fresh.events) == [("OFFLINE", "AVAILABLE", "2023-03-10T15:30:00+00:00")]
    assert again.next_cursor == fresh.next_cursor


def test_an_agent_is_mapped_again_when_its_intervals_or_the_cursor_differ() -> None:
    stream = KoreaiStream(koreai(start_at=utc(2023, 3, 10, 12)))
    cursor, request = begin(stream)
    body = page(agent("u-1", interval("AVAILABLE", "2023-03-10T20:00:00")))
    first = stream.handle_response(cursor, request, body, NOW)
    statuses = body["data"][0]["status"]
    mark = first.next_cursor["intervals"]["u-1"]
    assert stream.unchanged("u-1", "2023-03-10", -330, statuses, mark)
    assert not stream.unchanged("u-1", "2023-03-10", -330, statuses, [mark[0] - 1000, None, 0])  # another cursor
    assert not stream.unchanged("u-1", "2023-03-10", -300, statuses, mark)  # another offset
    assert not stream.unchanged("u-1", "2023-03-10", -330, [*statuses, statuses[0]], mark)
    # from the initial cursor (a retried first page) everything is mapped again, with the same events
    assert stream.handle_response(cursor, request, body, NOW).events == first.events


def test_an_agent_with_a_dead_lettered_interval_is_always_mapped() -> None:
    stream = KoreaiStream(koreai(start_at=utc(2023, 3, 10, 12)))
    cursor, request = begin(stream)
    body = page(agent("u-1", interval("AVAILABLE", "2023-03-10T20:00:00", "2023-03-10T21:00:00"),
                      {"primaryStatus": "BUSY", "startTime": "garbage", "endTime": "-"}))
    first = stream.handle_response(cursor, request, body, NOW)
    assert len(first.dead_letters) == 1
    assert not stream.unchanged("u-1", "2023-03-10", -330, body["data"][0]["status"],
                                first.next_cursor["intervals"]["u-1"])


def test_intervals_older_than_the_agents_last_event_never_step_back_onto_an_old_cursor() -> None:
    """A cursor's memory later than the intervals (another poll's events): the gap and the interval
    come at the remembered time, not before it; a mark without ordinal (older cursors) still reads."""
    stream = KoreaiStream(koreai(start_at=utc(2023, 3, 10, 12)))
    cursor, request = begin(stream)
    millis = int(utc(2023, 3, 10, 16).timestamp() * 1000)  # 21:30 in India
    cursor["agents"] = {"u-1": ["BUSY", None, millis]}
    cursor["intervals"] = {"u-1": [millis - 5_400_000, millis - 4_800_000]}  # 20:00-20:10, read before
    body = page(agent("u-1",
                      interval("AVAILABLE", "2023-03-10T20:00:00", "2023-03-10T20:10:00"),
                      interval("AWAY", "2023-03-10T20:30:00", "2023-03-10T21:00:00", "Lunch"),
                      interval("AVAILABLE", "2023-03-10T21:40:00")))
    result = stream.handle_response(cursor, request, body, NOW)
    assert states(result.events) == [("OFFLINE", "BUSY", "2023-03-10T16:00:00+00:00"),
                                     ("AWAY", "OFFLINE", "2023-03-10T16:00:00+00:00"),
                                     ("OFFLINE", "AWAY", "2023-03-10T16:00:00+00:00"),
                                     ("AVAILABLE", "OFFLINE", "2023-03-10T16:10:00+00:00")]
    assert [e.vendor_record_id for e in result.events if isinstance(e, AgentStateChanged)] == [
        "u-1@2023-03-10T14:40:00.000Z", "u-1@2023-03-10T15:00:00.000Z", "u-1@2023-03-10T15:30:00.000Z",
        "u-1@2023-03-10T16:10:00.000Z"]
    assert result.next_cursor["agents"] == {"u-1": ["AVAILABLE", None, millis + 600_000]}
    assert result.next_cursor["intervals"] == {"u-1": [millis + 600_000, None, 0]}
    assert cursor["intervals"] == {"u-1": [millis - 5_400_000, millis - 4_800_000]}  # the input is left as it was
