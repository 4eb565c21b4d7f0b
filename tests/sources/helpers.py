"""Builders shared by the source tests: configs with placeholder secrets, fixtures, cursor round-trips."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connector.model import AgentConversationsObserved, AgentGroupObserved, AgentStateChanged, Event
from connector.sources.convoso_productivity import ConvosoProductivitySource
from connector.sources.convoso_user_activity import ConvosoUserActivitySource
from connector.sources.koreai import KoreaiSource
from connector.sources.rocketchat import RocketchatSource
from connector.sources.vonage import VonageSource

FIXTURES = Path(__file__).parent / "fixtures"
SECRET = "s3cret-token-value"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0,
        micro: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


def roundtrip(cursor: dict[str, Any]) -> dict[str, Any]:
    """What the offsets topic gives back after a restart."""
    text = json.dumps(cursor)
    back: dict[str, Any] = json.loads(text)
    assert back == cursor
    return back


def states(events: list[Event]) -> list[tuple[str, str | None, str]]:
    """(state, previous_state, occurred_at ISO) per AgentStateChanged, for compact assertions."""
    out = []
    for event in events:
        assert isinstance(event, AgentStateChanged)
        previous = event.previous_state.value if event.previous_state else None
        out.append((event.state.value, previous, event.occurred_at.isoformat()))
    return out


def common(vendor: str, **extra: Any) -> dict[str, Any]:
    return {"vendor": vendor, "name": f"{vendor}-src", "tenant": "acme", "base_url": "https://api.example.com",
            **extra}


def convoso_productivity(**extra: Any) -> ConvosoProductivitySource:
    values = {"auth_token": SECRET, "account_timezone": "America/Los_Angeles", "start_at": utc(2025, 5, 27), **extra}
    return ConvosoProductivitySource(**common("convoso-productivity", **values))


def convoso_user_activity(**extra: Any) -> ConvosoUserActivitySource:
    return ConvosoUserActivitySource(**common("convoso-user-activity", auth_token=SECRET, **extra))


def vonage(**extra: Any) -> VonageSource:
    values = {"access_token": SECRET, "start_at": utc(2019, 12, 19, 15, 40), "presence_lookback_seconds": 0,
              **extra}
    return VonageSource(**common("vonage", **values))


def koreai(**extra: Any) -> KoreaiSource:
    values = {"account_id": "63f07d26f04465685df4abcd", "stream_id": "st-e19d", "client_id": "cs-client",
              "client_secret": SECRET, "timezone": "Asia/Kolkata", **extra}
    return KoreaiSource(**common("koreai", **values))


def rocketchat(**extra: Any) -> RocketchatSource:
    return RocketchatSource(**common("rocketchat", user_id="rbAXPnMktTFbNpwtJ", auth_token=SECRET, **extra))


def ids(events: Sequence[Event]) -> list[str]:
    """The event ids of a page's events (every event type has one)."""
    out = []
    for event in events:
        assert isinstance(event, (AgentStateChanged, AgentGroupObserved, AgentConversationsObserved))
        out.append(event.event_id)
    return out
