"""Vonage agent-activities: merged state machine, re-reports, 31-day windows, paging, errors."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from typing import Any

import pytest

from connector.model import AgentState, AgentStateChanged
from connector.sources.base import PagingError, RequestSpec, VendorError
from connector.sources.vonage import MAX_WINDOW, VonageStream, parse_token_response
from tests.sources.helpers import SECRET, fixture, ids, roundtrip, states, utc, vonage

NOW = utc(2019, 12, 19, 15, 50)
CALL = "016f1c6b-9766-498c-9756-30afb0354d5b"
CASE = "015cd2ff-f696-4458-a6a4-01909f155ac5"


def presence(category: str, start: str, name: str | None = None, duration: int | None = None,
             agent: str = "01") -> dict[str, Any]:
    return {"agentId": agent, "type": "Presence", "category": category, "name": name or category,
            "eligibleForRouting": category == "Ready", "start": start, "status": None, "duration": duration,
            "reason": None, "interaction": None, "channel": None, "workload": None}


def interaction(category: str, start: str, guid: str, duration: int | None = None,
                agent: str = "01") -> dict[str, Any]:
    return {"agentId": agent, "type": "Interaction", "category": category, "name": None, "eligibleForRouting": None,
            "start": start, "status": "Ongoing" if duration is None else "Completed", "duration": duration,
            "reason": None, "interaction": {"guid": guid, "medium": "Phone", "mediumManager": "VCC",
                                            "direction": "Inbound"}, "channel": {"guid": None}, "workload": None}


def workload(calls: int, start: str, duration: int | None = None, semi: int = 0, non: int = 0) -> dict[str, Any]:
    return {"agentId": "01", "type": "Workload", "category": None, "name": None, "eligibleForRouting": None,
            "start": start, "status": None, "duration": duration, "reason": None, "interaction": None,
            "channel": None, "workload": {"calls": calls, "semiLive": semi, "nonLive": non}}


def body(items: list[Any], up_to: str = "2019-12-19T15:49:39.389Z", page: int = 1, pages: int = 1) -> dict[str, Any]:
    return {"meta": {"page": page, "count": len(items), "pageCount": pages, "totalCount": len(items) * pages},
            "items": items, "upTo": up_to}


def begin(stream: VonageStream, now: Any = NOW) -> tuple[dict[str, Any], RequestSpec]:
    cursor = stream.initial_cursor(now)
    request = stream.first_request(cursor, now)
    assert request is not None
    return cursor, request


def test_seed_example_merges_into_five_changes() -> None:
    stream = VonageStream(vonage())
    cursor, request = begin(stream)
    assert request.path == "/stats/agent-activities"
    assert request.params == {"start": "2019-12-19T15:40:00.000Z", "end": "2019-12-19T15:50:00.000Z",
                              "include": "Processed", "page": "1"}
    result = stream.handle_response(cursor, request, fixture("vonage_seed.json"), NOW)
    assert states(result.events) == [
        ("OFFLINE", None, "2019-12-19T15:47:07.077000+00:00"),
        ("AVAILABLE", "OFFLINE", "2019-12-19T15:47:16.600000+00:00"),
        ("BUSY", "AVAILABLE", "2019-12-19T15:47:30.246000+00:00"),      # workload calls=1
        ("WRAP_UP", "BUSY", "2019-12-19T15:48:56.600000+00:00"),        # Connected ended, Wrap started
        ("AVAILABLE", "WRAP_UP", "2019-12-19T15:49:00.512000+00:00"),   # Wrap ended (duration 3912)
    ]
    assert len(set(ids(result.events))) == 5
    assert result.dead_letters == [] and not result.unknown_vendor_states
    assert result.next_request is None  # one page, window ends at now
    assert result.next_cursor["up_to"] == "2019-12-19T15:49:39.389Z"
    follow = stream.first_request(roundtrip(result.next_cursor), NOW)
    assert follow is not None and follow.params["start"] == "2019-12-19T15:49:39.389Z"


def test_bearer_and_accept_headers_and_client_credentials() -> None:
    stream = VonageStream(vonage())
    _, request = begin(stream)
    assert stream.authorize(request, NOW).headers == {"Accept": "application/vnd.newvoicemedia.v3+json",
                                                      "Authorization": f"bearer {SECRET}"}
    assert stream.token_request() is None
    oauth = VonageStream(vonage(access_token=None, client_id="cid", client_secret=SECRET,
                                token_url="https://emea.newvoicemedia.com/Auth/connect/token"))
    token = oauth.token_request()
    assert token is not None and token.method == "POST" and token.path.startswith("https://emea.")
    assert token.form == {"grant_type": "client_credentials", "client_id": "cid", "client_secret": SECRET,
                          "scope": "stats"}
    assert oauth.authorize(request, NOW, access_token="fresh").headers["Authorization"] == "bearer fresh"
    with pytest.raises(ValueError, match="token_request"):
        oauth.authorize(request, NOW)
    assert parse_token_response({"access_token": "t", "expires_in": 600}, NOW) == ("t", NOW + timedelta(minutes=10))
    with pytest.raises(VendorError):
        parse_token_response({"error": "invalid_client"}, NOW)


def test_ongoing_activity_re_reported_when_it_ends_applies_only_its_end() -> None:
    stream = VonageStream(vonage())
    cursor, request = begin(stream)
    first = stream.handle_response(cursor, request, body([
        presence("Ready", "2019-12-19T15:41:00.000Z"),
        interaction("Connected", "2019-12-19T15:42:00.000Z", CALL),
    ], up_to="2019-12-19T15:45:00.000Z"), NOW)
    assert states(first.events) == [("AVAILABLE", None, "2019-12-19T15:41:00+00:00"),
                                    ("BUSY", "AVAILABLE", "2019-12-19T15:42:00+00:00")]
    cursor = roundtrip(first.next_cursor)
    follow = stream.first_request(cursor, NOW)
    assert follow is not None and follow.params["start"] == "2019-12-19T15:45:00.000Z"
    request = follow
    second = stream.handle_response(cursor, request, body([
        presence("Ready", "2019-12-19T15:41:00.000Z"),                        # repeated: nothing
        interaction("Connected", "2019-12-19T15:42:00.000Z", CALL, 120_000),  # re-reported with its end
        interaction("Wrap", "2019-12-19T15:44:00.000Z", CALL),
    ], up_to="2019-12-19T15:49:00.000Z"), NOW)
    assert states(second.events) == [("WRAP_UP", "BUSY", "2019-12-19T15:44:00+00:00")]
    third = stream.handle_response(second.next_cursor, request, body([
        interaction("Wrap", "2019-12-19T15:44:00.000Z", CALL, 30_000)]), NOW)
    assert states(third.events) == [("AVAILABLE", "WRAP_UP", "2019-12-19T15:44:30+00:00")]
    repeat = stream.handle_response(third.next_cursor, request, body([
        interaction("Wrap", "2019-12-19T15:44:00.000Z", CALL, 30_000)]), NOW)
    assert repeat.events == []


def test_wrap_on_a_call_while_connected_on_a_case_is_busy() -> None:
    stream = VonageStream(vonage())
    cursor, request = begin(stream)
    result = stream.handle_response(cursor, request, body([
        presence("Ready", "2019-12-19T15:41:00.000Z"),
        interaction("Connected", "2019-12-19T15:42:00.000Z", CASE, 300_000),   # case until 15:47
        interaction("Connected", "2019-12-19T15:43:00.000Z", CALL, 60_000),
        interaction("Wrap", "2019-12-19T15:44:00.000Z", CALL, 240_000),        # wrap until 15:48
    ]), NOW)
    assert states(result.events) == [
        ("AVAILABLE", None, "2019-12-19T15:41:00+00:00"),
        ("BUSY", "AVAILABLE", "2019-12-19T15:42:00+00:00"),    # stays BUSY through the call's wrap
        ("WRAP_UP", "BUSY", "2019-12-19T15:47:00+00:00"),      # the case ended, the call's wrap goes on
        ("AVAILABLE", "WRAP_UP", "2019-12-19T15:48:00+00:00"),
    ]


def test_away_presence_keeps_its_name_as_reason_and_logged_out_is_offline() -> None:
    stream = VonageStream(vonage())
    cursor, request = begin(stream)
    result = stream.handle_response(cursor, request, body([
        presence("Ready", "2019-12-19T15:41:00.000Z"),
        presence("ExtendedAway", "2019-12-19T15:42:00.000Z", name="Lunch"),
        presence("Away", "2019-12-19T15:43:00.000Z", name="Break"),
        presence("Away", "2019-12-19T15:44:00.000Z", name="Break"),
        presence("LoggedOut", "2019-12-19T15:45:00.000Z", name="Logged Out"),
    ]), NOW)
    events = [e for e in result.events if isinstance(e, AgentStateChanged)]
    assert [(e.state, e.reason, e.vendor_state) for e in events] == [
        (AgentState.AVAILABLE, None, "Presence:Ready"),
        (AgentState.AWAY, "Lunch", "Presence:ExtendedAway"),
        (AgentState.AWAY, "Break", "Presence:Away"),
        (AgentState.OFFLINE, None, "Presence:LoggedOut"),
    ]


def test_unknown_categories_map_to_unknown_and_are_counted() -> None:
    stream = VonageStream(vonage())
    cursor, request = begin(stream)
    result = stream.handle_response(cursor, request, body([
        presence("Training", "2019-12-19T15:41:00.000Z", name="Course"),
        presence("Training", "2019-12-19T15:41:00.000Z", name="Course", agent="02"),
    ]), NOW)
    assert [(e.state, e.vendor_state) for e in result.events] == [  # type: ignore[attr-defined]
        (AgentState.UNKNOWN, "Presence:Training"), (AgentState.UNKNOWN, "Presence:Training")]
    assert result.unknown_vendor_states == {"Presence:Training": 2}


def test_broken_items_become_dead_letters_and_the_rest_goes_on() -> None:
    stream = VonageStream(vonage())
    cursor, request = begin(stream)
    no_agent = presence("Away", "2019-12-19T15:42:00.000Z")
    del no_agent["agentId"]
    no_guid = interaction("Connected", "2019-12-19T15:43:00.000Z", CALL)
    no_guid["interaction"] = None
    result = stream.handle_response(cursor, request, body([
        presence("Ready", "2019-12-19T15:41:00.000Z"), no_agent, no_guid,
        {**presence("Away", "2019-12-19T15:44:00"), "agentId": "01"},   # no zone on the time
        {"agentId": "01", "type": "Telepathy", "start": "2019-12-19T15:45:00.000Z"},
        presence("Away", "2019-12-19T15:46:00.000Z", name="Break"),
    ]), NOW)
    assert [e.state for e in result.events] == [AgentState.AVAILABLE, AgentState.AWAY]  # type: ignore[attr-defined]
    assert [(d.location, d.error_kind) for d in result.dead_letters] == [
        ("items[1]", "missing_field"), ("items[2]", "missing_field"), ("items[3]", "bad_timestamp"),
        ("items[4]", "unknown_shape")]
    assert "agentId" in result.dead_letters[0].error and "interaction.guid" in result.dead_letters[1].error


def test_windows_are_split_to_respect_31_days() -> None:
    now = utc(2020, 3, 15)
    stream = VonageStream(vonage(start_at=utc(2020, 1, 1)))
    cursor, request = begin(stream, now)
    windows = []
    empty: dict[str, Any] = {"meta": {"page": 1, "count": 0, "pageCount": 0, "totalCount": 0}, "items": []}
    next_request: RequestSpec | None = request
    while next_request is not None:
        windows.append((next_request.params["start"], next_request.params["end"]))
        result = stream.handle_response(cursor, next_request, empty, now)  # no upTo: the window's end
        cursor, next_request = roundtrip(result.next_cursor), result.next_request
    assert windows == [("2020-01-01T00:00:00.000Z", "2020-01-31T23:59:00.000Z"),
                       ("2020-01-31T23:59:00.000Z", "2020-03-02T23:58:00.000Z"),
                       ("2020-03-02T23:58:00.000Z", "2020-03-15T00:00:00.000Z")]
    assert timedelta(days=31) > MAX_WINDOW
    assert cursor["up_to"] == "2020-03-15T00:00:00.000Z" and cursor["next"] is None


def test_31_day_error_raises_vendor_error() -> None:
    stream = VonageStream(vonage())
    cursor, request = begin(stream)
    with pytest.raises(VendorError, match="Request window size limit exceeded 31 days"):
        stream.handle_response(cursor, request, {"message": "Request window size limit exceeded 31 days"}, NOW)
    with pytest.raises(VendorError, match="items"):
        stream.handle_response(cursor, request, {"unexpected": True}, NOW)


def test_pages_until_page_count_then_up_to_is_the_smallest_seen() -> None:
    stream = VonageStream(vonage())
    cursor, request = begin(stream)
    first = stream.handle_response(cursor, request, body([presence("Ready", "2019-12-19T15:41:00.000Z")],
                                                         up_to="2019-12-19T15:49:00.000Z", pages=2), NOW)
    assert first.next_request is not None and first.next_request.params["page"] == "2"
    assert first.next_request.params["start"] == request.params["start"]
    second = stream.handle_response(roundtrip(first.next_cursor), first.next_request, body(
        [presence("Away", "2019-12-19T15:42:00.000Z", name="Break")], up_to="2019-12-19T15:49:30.000Z",
        page=2, pages=2), NOW)
    assert second.next_request is None and second.next_cursor["up_to"] == "2019-12-19T15:49:00.000Z"
    # the Ready at page 1's last instant waited for page 2 (which could have held more of that instant)
    assert first.events == [] and "held" in first.next_cursor
    assert states(second.events) == [("AVAILABLE", None, "2019-12-19T15:41:00+00:00"),
                                     ("AWAY", "AVAILABLE", "2019-12-19T15:42:00+00:00")]
    assert "held" not in second.next_cursor


def test_an_instant_split_by_a_page_boundary_is_one_change() -> None:
    """A call's Connected ends at t on page 1 and its Wrap starts at t on page 2: the agent goes from
    BUSY straight to WRAP_UP, never through a zero-length AVAILABLE."""
    stream = VonageStream(vonage())
    cursor, request = begin(stream)
    first = stream.handle_response(cursor, request, body([
        presence("Ready", "2019-12-19T15:41:00.000Z"),
        interaction("Connected", "2019-12-19T15:42:00.000Z", "g1", duration=60_000),
        interaction("Ringing", "2019-12-19T15:42:30.000Z", "g2", duration=1_000, agent="02"),
    ], pages=2), NOW)
    assert states(first.events) == [("AVAILABLE", None, "2019-12-19T15:41:00+00:00"),
                                    ("BUSY", "AVAILABLE", "2019-12-19T15:42:00+00:00")]
    second = stream.handle_response(roundtrip(first.next_cursor), first.next_request, body([
        interaction("Wrap", "2019-12-19T15:43:00.000Z", "g1", duration=5_000),
    ], page=2, pages=2), NOW)
    changes = states([e for e in second.events if e.agent_id == "01"])  # type: ignore[attr-defined]
    assert changes == [("WRAP_UP", "BUSY", "2019-12-19T15:43:00+00:00"),
                       ("AVAILABLE", "WRAP_UP", "2019-12-19T15:43:05+00:00")]
    # agent 02's Ringing began at page 1's latest start, so it too waited for page 2
    assert "02" not in [e.agent_id for e in first.events]  # type: ignore[attr-defined]
    assert "02" in [e.agent_id for e in second.events]  # type: ignore[attr-defined]


def test_paging_loops_are_stopped() -> None:
    stream = VonageStream(vonage())
    cursor, request = begin(stream)
    page = body([presence("Ready", "2019-12-19T15:41:00.000Z")], pages=5)
    first = stream.handle_response(cursor, request, page, NOW)
    assert first.next_request is not None
    with pytest.raises(PagingError, match="asked for page 2"):
        stream.handle_response(first.next_cursor, first.next_request, page, NOW)  # server sent page 1 again
    same = copy.deepcopy(page)
    same["meta"]["page"] = 2
    with pytest.raises(PagingError, match="repeats the records"):
        stream.handle_response(first.next_cursor, first.next_request, same, NOW)


def test_up_to_that_never_advances_in_a_split_window_is_stopped() -> None:
    now = utc(2020, 3, 1)
    stream = VonageStream(vonage(start_at=utc(2020, 1, 1)))
    cursor, request = begin(stream, now)
    stuck = {"meta": {"page": 1, "pageCount": 1}, "items": [], "upTo": "2019-12-31T00:00:00.000Z"}
    with pytest.raises(PagingError, match="upTo did not advance"):
        stream.handle_response(cursor, request, stuck, now)


def test_late_reports_never_step_back_in_time() -> None:
    stream = VonageStream(vonage())
    cursor, request = begin(stream)
    first = stream.handle_response(cursor, request, body([presence("Ready", "2019-12-19T15:45:00.000Z")]), NOW)
    late = stream.handle_response(first.next_cursor, request, body([
        interaction("Connected", "2019-12-19T15:44:00.000Z", CALL)]), NOW)   # still ongoing, started earlier
    assert states(late.events) == [("BUSY", "AVAILABLE", "2019-12-19T15:45:00+00:00")]
    closed = stream.handle_response(late.next_cursor, request, body([
        interaction("Connected", "2019-12-19T15:40:00.000Z", CASE, 60_000)]), NOW)  # begun and ended long ago
    assert closed.events == []


def test_ids_deterministic_and_cursor_bounded() -> None:
    runs: list[list[str]] = []
    for _ in range(2):
        stream = VonageStream(vonage())
        cursor, request = begin(stream)
        result = stream.handle_response(cursor, request, fixture("vonage_seed.json"), NOW)
        runs.append(ids(result.events))
    assert runs[0] == runs[1]
    later = utc(2019, 12, 19, 18)
    stream = VonageStream(vonage())
    cursor, request = begin(stream)
    result = stream.handle_response(cursor, request, fixture("vonage_seed.json"), NOW)
    follow = stream.handle_response(result.next_cursor, RequestSpec("GET", "/stats/agent-activities", {
        "start": "2019-12-19T15:49:39.389Z", "end": "2019-12-19T18:00:00.000Z", "include": "Processed",
        "page": "1"}), body([], up_to="2019-12-19T18:00:00.000Z"), later)
    # ended activities are forgotten an hour past upTo; the ongoing Ready presence is kept
    assert list(follow.next_cursor["seen"].values()) == [[1576770436600, None]]
    assert json.loads(json.dumps(follow.next_cursor))["parts"]["01"]["p"][0] == "Ready"


def test_a_broken_item_is_dead_lettered_once_across_re_reports() -> None:
    stream = VonageStream(vonage())
    cursor, request = begin(stream)
    broken = presence("Away", "2019-12-19T15:42:00.000Z")
    broken["agentId"] = None
    first = stream.handle_response(cursor, request, body([broken]), NOW)
    assert len(first.dead_letters) == 1
    again = stream.handle_response(first.next_cursor, request, body([broken]), NOW)
    assert again.dead_letters == []


def test_the_cursor_stays_bounded_on_a_busy_window() -> None:
    stream = VonageStream(vonage(start_at=utc(2019, 12, 19, 15)))
    cursor, request = begin(stream)
    items = []
    for agent_no in range(300):
        items.append(presence("Ready", "2019-12-19T14:59:00.000Z", agent=f"a{agent_no}"))
        for call in range(40):  # 40 short calls each within the hour: 12,000 ended activities
            start = utc(2019, 12, 19, 15) + timedelta(seconds=call * 60 + agent_no % 30)
            items.append(interaction("Connected", start.isoformat().replace("+00:00", "Z"), f"g-{agent_no}-{call}",
                                     20_000, agent=f"a{agent_no}"))
    result = stream.handle_response(cursor, request, body(items, up_to="2019-12-19T15:49:00.000Z"), NOW)
    size = len(json.dumps(result.next_cursor))
    assert len(result.next_cursor["seen"]) <= 10_000 and size < 1_000_000
    assert len(result.events) == 300 * (1 + 40 * 2)  # Ready, then BUSY and AVAILABLE per call


def test_a_first_start_learns_presences_that_began_before_it_without_emitting() -> None:
    """Processed windows never show a presence that began before them and is still on: without the
    bootstrap, an agent Ready since before start_at would be unknown when their wrap ends."""
    stream = VonageStream(vonage(presence_lookback_seconds=3600))
    cursor = stream.initial_cursor(NOW)
    request = stream.first_request(cursor, NOW)
    assert request is not None
    assert request.params["type"] == "Presence"
    assert (request.params["start"], request.params["end"]) == ("2019-12-19T14:40:00.000Z", "2019-12-19T15:40:00.000Z")
    boot = stream.handle_response(cursor, request, body([presence("Ready", "2019-12-19T15:10:00.000Z")]), NOW)
    assert boot.events == []
    assert boot.next_request is not None and "type" not in boot.next_request.params
    assert boot.next_request.params["start"] == "2019-12-19T15:40:00.000Z"
    window = stream.handle_response(roundtrip(boot.next_cursor), boot.next_request, body([
        interaction("Wrap", "2019-12-19T15:41:00.000Z", "g1", duration=3_000)]), NOW)
    assert states(window.events) == [("WRAP_UP", None, "2019-12-19T15:41:00+00:00"),
                                     ("AVAILABLE", "WRAP_UP", "2019-12-19T15:41:03+00:00")]


def test_handle_response_leaves_the_input_cursor_intact() -> None:
    """The cursor is copied cheaply (maps that are only assigned to are copied shallowly): a failed
    page must still leave the committed cursor exactly as it was."""
    stream = VonageStream(vonage())
    cursor, request = begin(stream)
    first = stream.handle_response(cursor, request, body([
        presence("Ready", "2019-12-19T15:41:00.000Z"),
        interaction("Connected", "2019-12-19T15:42:00.000Z", "g1")]), NOW)
    committed = roundtrip(first.next_cursor)
    before = copy.deepcopy(committed)
    again = stream.first_request(committed, NOW)
    assert again is not None
    stream.handle_response(committed, again, body([
        interaction("Connected", "2019-12-19T15:42:00.000Z", "g1", duration=60_000),
        interaction("Wrap", "2019-12-19T15:43:00.000Z", "g1", duration=5_000)]), NOW)
    assert committed == before
