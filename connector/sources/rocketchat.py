"""Rocket.Chat livechat conversations-by-agent -> AgentConversationsObserved.

The report counts conversations per agent label in a time range. The connector asks for
consecutive, non-overlapping windows [start, end) of ``window_seconds``, aligned to the
epoch so the same windows come back after a restart, and only once a window has closed.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr

from connector.model import AgentConversationsObserved, DeadLetter, Event, deterministic_event_id, to_millis
from connector.sources.base import (
    CURSOR_VERSION,
    AuthKind,
    AuthSpec,
    PageResult,
    RequestSpec,
    StreamBase,
    VendorError,
    iso_z,
    parse_iso_utc,
    require_mapping,
    vendor_failure,
)
from connector.sources.settings import OFFLINE_SECRET, SourceSettings, offline_common

__all__ = ["RocketchatSource", "RocketchatStream"]

PATH = "/api/v1/livechat/analytics/dashboards/conversations-by-agent"
_UNSPECIFIED = "\x00unspecified"  # event-id key of the unattributed bucket; no label can equal it
_MILLI = timedelta(milliseconds=1)


def _nonneg_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value



class RocketchatSource(SourceSettings):
    vendor: Literal["rocketchat"]
    user_id: str
    auth_token: SecretStr
    window_seconds: float = Field(300.0, gt=0, le=31 * 86_400)

    @classmethod
    def for_saved_response(cls, tenant: str, zone: str) -> RocketchatSource:
        return cls(**offline_common("rocketchat", tenant), user_id="offline", auth_token=OFFLINE_SECRET,
                   lookback_seconds=300, window_seconds=300)


class RocketchatStream(StreamBase[RocketchatSource]):
    """Cursor: ``{"v", "window_start", "next", "poll"}``; ``window_start`` (ISO UTC) is the
    start of the next window to read. No per-agent memory: counts are per window."""

    vendor: ClassVar[str] = "rocketchat"
    settings_model: ClassVar[type[SourceSettings]] = RocketchatSource
    auth: ClassVar[AuthSpec] = AuthSpec(AuthKind.USER_TOKEN_HEADERS)
    position_keys: ClassVar[tuple[str, ...]] = ("window_start",)

    @property
    def window(self) -> timedelta:
        return timedelta(seconds=self.config.window_seconds)

    def _align(self, moment: datetime) -> datetime:
        """Floor to a multiple of the window since the epoch (in milliseconds)."""
        step = int(self.config.window_seconds * 1000)
        millis = to_millis(moment) // step * step
        return datetime.fromtimestamp(millis / 1000, tz=UTC)

    def initial_cursor(self, now: datetime) -> dict[str, Any]:
        start = self._align(self.start_of_history(now))
        return {"v": CURSOR_VERSION, "window_start": iso_z(start), "next": None, "poll": None}

    def first_request(self, cursor: dict[str, Any], now: datetime) -> RequestSpec | None:
        return self._request(parse_iso_utc(cursor["window_start"], field="cursor.window_start"), now)

    def idle_until(self, cursor: dict[str, Any]) -> datetime:
        """Until the next window closes a poll requests nothing (``first_request`` is None): the
        runtime lets the polls before it pass without waking (``SourceTask._first_useful_tick``)."""
        return parse_iso_utc(cursor["window_start"], field="cursor.window_start") + self.window

    def _request(self, start: datetime, now: datetime) -> RequestSpec | None:
        """None until the window has closed. ``end`` is sent 1 ms before the next window's
        start: Rocket.Chat does not say whether ``end`` is inclusive, so neither reading
        counts a conversation in two windows."""
        end = start + self.window
        if end > now:
            return None
        return RequestSpec("GET", PATH, {"start": iso_z(start), "end": iso_z(end - _MILLI)})

    def _check(self, body: Any) -> dict[str, Any]:
        doc = require_mapping(self.vendor, body, "the conversations-by-agent response")
        if doc.get("success") is False or doc.get("status") == "error":
            raise vendor_failure(self.vendor, doc)
        if not isinstance(doc.get("data"), list) or _nonneg_int(doc.get("total")) is None:
            raise VendorError(self.vendor, "expected 'total' (an integer) and 'data' (an array of "
                                           "{label, value})", kind="unknown_shape")
        return doc

    def handle_response(self, cursor: dict[str, Any], request: RequestSpec, body: Any,
                        now: datetime) -> PageResult:
        body = self._check(body)
        state = self.copy_cursor(cursor)
        start = parse_iso_utc(request.params["start"], field="request.start")
        end = start + self.window
        source_cursor = self.source_cursor({"window_start": iso_z(start)})
        total = int(body["total"])
        dead: list[DeadLetter] = []
        counts: dict[str, int] = {}
        for index, entry in enumerate(body["data"]):
            location = f"data[{index}]"
            label = entry.get("label") if isinstance(entry, dict) else None
            value = _nonneg_int(entry.get("value")) if isinstance(entry, dict) else None
            if not isinstance(entry, dict):
                problem, kind = f"expected an object, got {type(entry).__name__}", "unknown_shape"
            elif not isinstance(label, str) or not label.strip():
                problem, kind = "label: missing agent label", "missing_field"
            elif value is None:
                problem, kind = f"value: expected a non-negative integer, got {entry.get('value')!r}", "bad_value"
            else:
                # one label twice (two agents with one display name) is summed: one key, one count
                counts[label] = counts.get(label, 0) + value
                continue
            dead.append(self.dead_letter(record=entry, location=location, error=problem, kind=kind,
                                         source_cursor=source_cursor, now=now))
        buckets: list[tuple[str | None, int]] = list(counts.items())
        if "unspecified" in body:
            unspecified = _nonneg_int(body["unspecified"])
            if unspecified is None:
                dead.append(self.dead_letter(
                    record={"unspecified": body["unspecified"]}, location="unspecified", kind="bad_value",
                    error=f"unspecified: expected a non-negative integer, got {body['unspecified']!r}",
                    source_cursor=source_cursor, now=now))
            else:
                buckets.append((None, unspecified))
        events: list[Event] = [
            AgentConversationsObserved(
                event_id=deterministic_event_id(self.vendor, self.tenant, to_millis(start), to_millis(end),
                                                label if label is not None else _UNSPECIFIED),
                vendor=self.vendor, tenant=self.tenant, source=self.source, agent_label=label,
                window_start=start, window_end=end, conversations=count, window_total=total,
                source_cursor=source_cursor)
            for label, count in buckets
        ]
        state["window_start"] = iso_z(end)
        return PageResult(events, dead, Counter(), state, self._request(end, now))
