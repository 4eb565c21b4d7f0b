"""Convoso user activity: one observation per configured filter, canonical group keys, errors."""

from __future__ import annotations

import pytest

from connector.model import AgentGroupObserved
from connector.sources.base import VendorError
from connector.sources.convoso_user_activity import ConvosoUserActivityStream, UserActivityFilter, group_key
from tests.sources.helpers import SECRET, convoso_user_activity, fixture, roundtrip, utc

NOW = utc(2026, 3, 3, 14, 45)


def test_seed_example_is_one_whole_account_observation() -> None:
    stream = ConvosoUserActivityStream(convoso_user_activity())
    cursor = stream.initial_cursor(NOW)
    request = stream.first_request(cursor, NOW)
    assert request is not None
    assert (request.method, request.path, request.form) == ("POST", "/v1/user-activity/search", {})
    assert stream.authorize(request, NOW).form == {"auth_token": SECRET}
    result = stream.handle_response(cursor, request, fixture("convoso_user_activity_seed.json"), NOW)
    (event,) = result.events
    assert isinstance(event, AgentGroupObserved)
    assert (event.group_key, event.available_agents, event.logged_in_agents) == ("all", 36, 125)
    assert (event.observed_at, event.tenant, event.vendor) == (NOW, "acme", "convoso-user-activity")
    assert result.next_request is None and result.next_cursor["next"] is None


def test_each_filter_is_asked_in_turn_with_canonical_keys() -> None:
    filters = [UserActivityFilter(), UserActivityFilter(campaign_id="111"),
               UserActivityFilter(queue_id="222", skills=["sales", "english", "sales"]),
               UserActivityFilter(user_id="12345")]
    stream = ConvosoUserActivityStream(convoso_user_activity(filters=filters))
    cursor = stream.initial_cursor(NOW)
    request = stream.first_request(cursor, NOW)
    keys: list[str] = []
    forms: list[dict[str, str] | None] = []
    while request is not None:
        forms.append(request.form)
        result = stream.handle_response(cursor, request, fixture("convoso_user_activity_seed.json"), NOW)
        keys.extend(e.group_key for e in result.events if isinstance(e, AgentGroupObserved))
        cursor, request = roundtrip(result.next_cursor), result.next_request
    assert keys == ["all", "campaign:111", "queue:222|skills:english,sales", "user:12345"]
    assert forms == [{}, {"campaign_id": "111"}, {"queue_id": "222", "filter_by_skill_options": "english,sales"},
                     {"user_id": "12345"}]
    assert group_key(UserActivityFilter(campaign_id="1", queue_id="2", user_id="3", skills=["b", "a"])) == \
        "campaign:1|queue:2|user:3|skills:a,b"


def test_ids_differ_per_filter_and_time_but_repeat_for_the_same_reading() -> None:
    stream = ConvosoUserActivityStream(convoso_user_activity(filters=[UserActivityFilter(),
                                                                      UserActivityFilter(campaign_id="1")]))
    cursor = stream.initial_cursor(NOW)
    request = stream.first_request(cursor, NOW)
    assert request is not None
    body = fixture("convoso_user_activity_seed.json")
    one = stream.handle_response(cursor, request, body, NOW).events[0].event_id  # type: ignore[attr-defined]
    assert one == stream.handle_response(cursor, request, body, NOW).events[0].event_id  # type: ignore[attr-defined]
    later = stream.handle_response(cursor, request, body, utc(2026, 3, 3, 14, 46)).events[0]
    assert later.event_id != one  # type: ignore[attr-defined]


@pytest.mark.parametrize("body,code,match", [
    ({"success": False, "code": 6026, "error": "Invalid campaign ID"}, 6026, "Invalid campaign ID"),
    ({"success": False, "code": 6041, "error": "Invalid queue ID"}, 6041, "Invalid queue ID"),
    ({"success": False, "error": "Invalid authentication token"}, None, "Invalid authentication token"),
    ({"success": True}, None, "data"),
])
def test_error_bodies_raise_vendor_error(body: dict[str, object], code: int | None, match: str) -> None:
    stream = ConvosoUserActivityStream(convoso_user_activity())
    cursor = stream.initial_cursor(NOW)
    request = stream.first_request(cursor, NOW)
    assert request is not None
    with pytest.raises(VendorError, match=match) as caught:
        stream.handle_response(cursor, request, body, NOW)
    assert caught.value.code == code


def test_bad_counts_are_a_dead_letter() -> None:
    stream = ConvosoUserActivityStream(convoso_user_activity())
    cursor = stream.initial_cursor(NOW)
    request = stream.first_request(cursor, NOW)
    assert request is not None
    result = stream.handle_response(cursor, request, {"success": True, "data": {"available_agents": -1}}, NOW)
    assert result.events == []
    (dead,) = result.dead_letters
    assert "available_agents" in dead.error and "logged_in_agents: missing" in dead.error
    assert dead.error_kind == "missing_field" and dead.extra == {"group_key": "all"}


def test_each_broken_reading_is_its_own_dead_letter() -> None:
    stream = ConvosoUserActivityStream(convoso_user_activity())
    cursor = stream.initial_cursor(NOW)
    request = stream.first_request(cursor, NOW)
    assert request is not None
    bad = {"success": True, "data": {"available_agents": "many", "logged_in_agents": 3}}
    one = stream.handle_response(cursor, request, bad, NOW).dead_letters[0]
    two = stream.handle_response(cursor, request, bad, utc(2026, 3, 3, 14, 46)).dead_letters[0]
    assert one.event_id != two.event_id and one.error_kind == "bad_value"
