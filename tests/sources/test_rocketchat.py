"""Rocket.Chat conversations-by-agent: aligned [start, end) windows, counts, errors."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from connector.model import AgentConversationsObserved
from connector.sources.base import VendorError
from connector.sources.rocketchat import RocketchatStream
from tests.sources.helpers import SECRET, fixture, ids, rocketchat, roundtrip, utc

NOW = utc(2025, 1, 1, 12, 3, 20)


def observed(result_events: list[Any]) -> list[AgentConversationsObserved]:
    assert all(isinstance(e, AgentConversationsObserved) for e in result_events)
    return list(result_events)


def test_seed_example_one_observation_per_label_plus_unspecified() -> None:
    stream = RocketchatStream(rocketchat(lookback_seconds=600))
    cursor = stream.initial_cursor(NOW)
    assert cursor["window_start"] == "2025-01-01T11:50:00.000Z"  # aligned to the 5-minute grid
    request = stream.first_request(cursor, NOW)
    assert request is not None and request.method == "GET"
    assert request.path == "/api/v1/livechat/analytics/dashboards/conversations-by-agent"
    assert request.params == {"start": "2025-01-01T11:50:00.000Z", "end": "2025-01-01T11:54:59.999Z"}
    result = stream.handle_response(cursor, request, fixture("rocketchat_seed.json"), NOW)
    events = observed(result.events)
    assert len(events) == 11
    assert [(e.agent_label, e.conversations) for e in events][:3] == [("9iN96PXnDK7XAYESA", 4), ("Dialog Bot", 1),
                                                                      ("Jane Kim", 15)]
    assert (events[-1].agent_label, events[-1].conversations) == (None, 9)
    assert {(e.window_start, e.window_end, e.window_total) for e in events} == {
        (utc(2025, 1, 1, 11, 50), utc(2025, 1, 1, 11, 55), 51)}
    assert len(set(ids(events))) == 11
    assert result.dead_letters == []
    # catching up: the next closed window follows at once; the open one waits
    assert result.next_request is not None and result.next_request.params["start"] == "2025-01-01T11:55:00.000Z"
    second = stream.handle_response(roundtrip(result.next_cursor), result.next_request,
                                    fixture("rocketchat_seed.json"), NOW)
    assert second.next_request is None and second.next_cursor["window_start"] == "2025-01-01T12:00:00.000Z"
    assert stream.first_request(second.next_cursor, NOW) is None
    assert stream.first_request(second.next_cursor, utc(2025, 1, 1, 12, 5)) is not None
    assert set(ids(second.events)).isdisjoint(ids(list(events)))


def test_ids_are_deterministic() -> None:
    runs: list[list[str]] = []
    for _ in range(2):
        stream = RocketchatStream(rocketchat())
        cursor = stream.initial_cursor(NOW)
        request = stream.first_request(cursor, NOW)
        assert request is not None
        runs.append(ids(stream.handle_response(cursor, request, fixture("rocketchat_seed.json"),
                                                                NOW).events))
    assert runs[0] == runs[1]


def test_user_id_and_token_headers() -> None:
    stream = RocketchatStream(rocketchat())
    request = stream.first_request(stream.initial_cursor(NOW), NOW)
    assert request is not None
    assert stream.authorize(request, NOW).headers == {"X-User-Id": "rbAXPnMktTFbNpwtJ", "X-Auth-Token": SECRET}


def test_bad_entries_are_dead_letters_and_duplicate_labels_sum() -> None:
    stream = RocketchatStream(rocketchat())
    cursor = stream.initial_cursor(NOW)
    request = stream.first_request(cursor, NOW)
    assert request is not None
    body = {"total": 9, "success": True, "unspecified": "x", "data": [
        {"label": "Rod", "value": 2}, {"label": "", "value": 1}, {"label": "Ann", "value": -1}, "junk",
        {"label": "Rod", "value": 3}]}
    result = stream.handle_response(cursor, request, body, NOW)
    assert [(e.agent_label, e.conversations) for e in observed(result.events)] == [("Rod", 5)]
    assert [(d.location, d.error_kind) for d in result.dead_letters] == [
        ("data[1]", "missing_field"), ("data[2]", "bad_value"), ("data[3]", "unknown_shape"),
        ("unspecified", "bad_value")]


@pytest.mark.parametrize("body,match", [
    ({"success": False, "error": "must have required property 'start' [invalid-params]",
      "errorType": "invalid-params"}, "required property 'start'"),
    ({"status": "error", "message": "You must be logged in to do this."}, "logged in"),
    ({"success": False, "error": "unauthorized"}, "unauthorized"),
    ({"success": True, "data": "nope"}, "total"),
])
def test_error_bodies_raise_vendor_error(body: dict[str, Any], match: str) -> None:
    stream = RocketchatStream(rocketchat())
    cursor = stream.initial_cursor(NOW)
    request = stream.first_request(cursor, NOW)
    assert request is not None
    with pytest.raises(VendorError, match=match):
        stream.handle_response(cursor, request, body, NOW)


def test_idle_until_is_when_the_next_window_closes_and_a_poll_can_request() -> None:
    """The runtime sleeps through the polls before ``idle_until``: none of them could request anything."""
    stream = RocketchatStream(rocketchat(lookback_seconds=600))
    cursor = {**stream.initial_cursor(NOW), "window_start": "2025-01-01T12:00:00.000Z"}
    until = stream.idle_until(cursor)
    assert until == utc(2025, 1, 1, 12, 5)
    assert stream.first_request(cursor, until - timedelta(milliseconds=1)) is None
    assert stream.first_request(cursor, until) is not None
