"""Shared contract pieces: paging guard, JWT signing, scrubbing, agent memory, auth merging."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import pytest

from connector.model import AgentState
from connector.sources.base import (
    AgentMemory,
    AuthParts,
    Known,
    PagingError,
    RequestSpec,
    authorize,
    fingerprint,
    guard_page,
    hs256_jwt,
)
from connector.sources.convoso_productivity import ConvosoProductivityStream
from tests.sources.helpers import SECRET, convoso_productivity, utc


def test_guard_accepts_a_normal_sequence_of_pages() -> None:
    poll = None
    for offset in range(0, 3000, 1000):
        poll = guard_page(poll, vendor="v", position=f"offset={offset}", page_print=fingerprint([offset]),
                          total=3000, page_size=1000)
    assert poll is not None and poll["pages"] == 3
    assert json.loads(json.dumps(poll)) == poll


def test_guard_refuses_a_repeated_position() -> None:
    poll = guard_page(None, vendor="vonage", position="page=2", page_print="a")
    with pytest.raises(PagingError, match=r"vonage: .*page=2 was already read"):
        guard_page(poll, vendor="vonage", position="page=2", page_print="b")


def test_guard_detects_an_a_b_a_b_cycle() -> None:
    poll = guard_page(None, vendor="koreai", position="offset=0", page_print="A")
    poll = guard_page(poll, vendor="koreai", position="offset=50", page_print="B")
    with pytest.raises(PagingError, match="offset=100 repeats the records of the page at offset=0"):
        guard_page(poll, vendor="koreai", position="offset=100", page_print="A")


def test_guard_stops_a_total_that_keeps_growing() -> None:
    poll = None
    with pytest.raises(PagingError, match="total keeps growing"):
        for page in range(100):
            poll = guard_page(poll, vendor="convoso-productivity", position=f"offset={page * 10}",
                              page_print=str(page), total=20 + page * 10, page_size=10)
    assert poll is not None and poll["pages"] < 10


def test_hs256_jwt_verifies_with_hmac() -> None:
    token = hs256_jwt({"appId": "cs-1", "sub": "x"}, "secret")
    header, payload, signature = token.split(".")
    expected = hmac.new(b"secret", f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(signature + "==") == expected
    assert json.loads(base64.urlsafe_b64decode(payload + "==")) == {"appId": "cs-1", "sub": "x"}
    assert json.loads(base64.urlsafe_b64decode(header + "==")) == {"alg": "HS256", "typ": "JWT"}


def test_scrub_masks_secrets_and_drops_personal_fields() -> None:
    stream = ConvosoProductivityStream(convoso_productivity())
    record = {"id": "1", "auth_token": "abc", "note": f"leaked {SECRET}", "ip_address": "1.2.3.4",
              "nested": [{"Authorization": "bearer x", "user_name": "Ann"}]}
    text = stream.scrub(record)
    assert SECRET not in text and "abc" not in text and "bearer x" not in text
    assert "1.2.3.4" not in text and "Ann" not in text
    kept = ConvosoProductivityStream(convoso_productivity(), drop_personal_data=False).scrub(record)
    assert "1.2.3.4" in kept and "Ann" in kept and SECRET not in kept


def test_agent_memory_round_trip_and_prune() -> None:
    table: dict[str, list[object]] = {}
    memory = AgentMemory(table)
    memory.set("a", AgentState.AWAY, "Lunch", utc(2025, 1, 1))
    memory.set("b", AgentState.BUSY, None, utc(2025, 3, 1))
    known = AgentMemory(json.loads(json.dumps(table))).get("a")
    assert known is not None and (known.state, known.reason, known.at) == (AgentState.AWAY, "Lunch", utc(2025, 1, 1))
    memory.prune(utc(2025, 3, 1) + timedelta(days=1))
    assert set(table) == {"b"}


def test_a_known_state_makes_its_time_from_its_millis_when_asked() -> None:
    memory = AgentMemory({"a": ["AWAY", "Lunch", 1_735_689_600_123]})
    known = memory.get("a")
    assert known is not None and known.millis == 1_735_689_600_123
    assert known.at == utc(2025, 1, 1) + timedelta(milliseconds=123)
    assert known == Known(AgentState.AWAY, "Lunch", utc(2025, 1, 1) + timedelta(milliseconds=123), 1)
    assert known != Known(AgentState.AWAY, None, known.at)


def test_authorize_adds_auth_without_touching_the_spec() -> None:
    spec = RequestSpec("POST", "/x", {"a": "1"}, form={"f": "1"})
    wire = authorize(spec, AuthParts(headers={"H": "h"}, params={"p": "2"}, form={"auth_token": "t"}))
    assert wire.params == {"a": "1", "p": "2"} and wire.form == {"f": "1", "auth_token": "t"}
    assert wire.headers == {"H": "h"}
    assert spec.form == {"f": "1"} and spec.params == {"a": "1"}


def test_cursor_of_another_version_is_refused() -> None:
    stream = ConvosoProductivityStream(convoso_productivity())
    with pytest.raises(ValueError, match="cursor version"):
        stream.copy_cursor({"v": 99})


def test_every_stream_fulfils_the_contract() -> None:
    """Static (mypy) and runtime check that each vendor module has a VendorStream."""
    from connector.sources import STREAMS, make_stream
    from connector.sources.base import VendorStream
    from tests.sources import helpers

    configs = [helpers.convoso_productivity(), helpers.convoso_user_activity(), helpers.vonage(), helpers.koreai(),
               helpers.rocketchat()]
    streams: list[VendorStream] = [make_stream(config) for config in configs]
    assert sorted(s.vendor for s in streams) == sorted(STREAMS)
    now = utc(2025, 5, 28, 12)
    for stream in streams:
        cursor = stream.initial_cursor(now)
        assert json.loads(json.dumps(cursor)) == cursor
        request = stream.first_request(cursor, now)
        assert isinstance(request, RequestSpec)
        wire = stream.auth_parts(now, access_token="fetched")
        assert wire.headers or wire.params or wire.form, f"{stream.vendor} adds no credentials"
        assert stream.reset_poll(cursor)["next"] is None
