"""Convoso agent productivity (GET /v1/agent-productivity/search) -> AgentStateChanged.

The API filters by whole days of the account's time zone (``date_start``/``date_end``)
and pages with ``offset``/``limit`` (max 1000, ``total`` sent as a string). So every poll
re-reads from the current day (or the day of ``now - lookback``) and de-duplicates by
record id; ``event_epoch`` is the event time. Records are applied per agent in time order.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Annotated, Any, ClassVar, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, field_validator

from connector.model import AgentState, DeadLetter, Event
from connector.sources.base import (
    AGENT_MEMORY_DAYS,
    CURSOR_VERSION,
    DEAD_MEMORY,
    AgentMemory,
    AuthKind,
    AuthSpec,
    PageResult,
    RecordError,
    RequestSpec,
    StreamBase,
    VendorError,
    day_bounds_utc,
    fingerprint,
    guard_page,
    local_date,
    local_to_utc,
    parse_epoch_seconds,
    require_mapping,
    vendor_failure,
)
from connector.sources.settings import OFFLINE_SECRET, SourceSettings, check_timezone, offline_common
from connector.sources.timeutil import FOREVER, expiry, next_day_start

__all__ = ["STATE_MAP", "ConvosoProductivitySource", "ConvosoProductivityStream"]

PATH = "/v1/agent-productivity/search"
MAX_SEEN = 10_000  # record ids remembered for de-duplication; older ones fall under the horizon

#: vendor state (lower-cased, letters only) -> normalized state
STATE_MAP: dict[str, AgentState] = {
    "login": AgentState.AWAY,        # logged in, not yet Ready: not available to take work
    "ready": AgentState.AVAILABLE,
    "notready": AgentState.AWAY,     # pause / break; availability_name says why
    "logout": AgentState.OFFLINE,
    "loggedout": AgentState.OFFLINE,
}


_STATE_KEYS: dict[str, str] = {}


def _state_key(value: str) -> str:
    """Lower-case letters only; cached (an account has a handful of states, every record names one)."""
    key = _STATE_KEYS.get(value)
    if key is None:
        if len(_STATE_KEYS) >= 1024:  # states nobody configured (schema drift): never grows without bound
            _STATE_KEYS.clear()
        key = _STATE_KEYS[value] = re.sub(r"[^a-z]", "", value.lower())
    return key


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


class ConvosoProductivitySource(SourceSettings):
    vendor: Literal["convoso-productivity"]
    auth_token: SecretStr
    campaign_id: str | None = None
    agent_emails: list[str] = Field(default_factory=list)
    account_timezone: Annotated[str, Field(description="Zone the account's dates are in.")] = "UTC"
    page_size: int = Field(1000, ge=1, le=1000)

    _tz = field_validator("account_timezone")(check_timezone)

    @classmethod
    def for_saved_response(cls, tenant: str, zone: str) -> ConvosoProductivitySource:
        # a saved response may be of any date: nothing counts as "before the start of history"
        return cls(**offline_common("convoso-productivity", tenant), auth_token=OFFLINE_SECRET, account_timezone=zone,
                   start_at=datetime(2000, 1, 1, tzinfo=UTC))


@dataclass(frozen=True, slots=True)
class _Record:
    """One mapped entry, before de-duplication and ordering."""

    record_id: str
    agent: str
    at: datetime
    state: AgentState
    vendor_state: str
    reason: str | None
    campaign_id: str | None
    campaign_name: str | None
    index: int
    record: Any


def _order_key(record: _Record) -> tuple[datetime, int, str]:
    return (record.at, int(record.record_id) if record.record_id.isdigit() else 0, record.record_id)


class ConvosoProductivityStream(StreamBase[ConvosoProductivitySource]):
    """Cursor: ``{"v", "day", "next", "poll", "agents", "seen", "horizon"}``.

    ``day``: first account day the next poll reads; ``next``: the position of the next page
    of an unfinished poll (``date_start``, ``date_end``, ``offset``); ``seen``: record id ->
    event epoch, pruned to the re-read window and MAX_SEEN; ``horizon``: epoch seconds below
    which every record counts as already read.
    """

    vendor: ClassVar[str] = "convoso-productivity"
    settings_model: ClassVar[type[SourceSettings]] = ConvosoProductivitySource
    auth: ClassVar[AuthSpec] = AuthSpec(AuthKind.QUERY_PARAM, name="auth_token")
    personal_fields: ClassVar[frozenset[str]] = frozenset(
        {"ip_address", "browser", "user_name", "email", "agent_email", "first_name", "last_name"})
    position_keys: ClassVar[tuple[str, ...]] = ("day", "next")

    zone_override: tzinfo | None = None  # a fixed offset instead of the account zone (convert only)

    @property
    def zone(self) -> tzinfo:
        return self.zone_override or ZoneInfo(self.config.account_timezone)

    def initial_cursor(self, now: datetime) -> dict[str, Any]:
        """A new source reads from the start of the account day of its start (the API's
        granularity), so every agent active that day has a known state from the first poll."""
        day = local_date(self.start_of_history(now), self.zone)
        start, _ = day_bounds_utc(day, self.zone)
        return {"v": CURSOR_VERSION, "day": day.isoformat(), "next": None, "poll": None, "agents": {},
                "seen": {}, "horizon": int(start.timestamp()), "dead": {}}

    def first_request(self, cursor: dict[str, Any], now: datetime) -> RequestSpec | None:
        position = cursor.get("next")
        if position is None:
            today = local_date(now, self.zone).isoformat()
            position = {"date_start": cursor["day"], "date_end": max(cursor["day"], today), "offset": 0}
        return self._request(position)

    def _request(self, position: dict[str, Any]) -> RequestSpec:
        params = {"date_start": position["date_start"], "date_end": position["date_end"],
                  "offset": str(position["offset"]), "limit": str(self.config.page_size)}
        if self.config.campaign_id:
            params["campaign_id"] = self.config.campaign_id
        if self.config.agent_emails:
            params["agent_emails"] = ",".join(self.config.agent_emails)
        return RequestSpec("GET", PATH, params)

    # --- response ---------------------------------------------------------------------------

    def _entries(self, body: Any) -> tuple[list[Any], int | None, str]:
        """The entries and total of a success body; the documented example and table disagree
        (``data.entries`` vs ``data`` as an array): both are accepted."""
        body = require_mapping(self.vendor, body, "the agent-productivity response")
        if body.get("success") is not True:
            raise vendor_failure(self.vendor, body)
        data = body.get("data")
        total_raw = body.get("total")
        if isinstance(data, dict) and isinstance(data.get("entries"), list):
            entries, where = data["entries"], "data.entries"
            total_raw = data.get("total", total_raw)
        elif isinstance(data, list):
            entries, where = data, "data"
        else:
            raise VendorError(self.vendor, "success response without data.entries (or a data array)",
                              kind="unknown_shape")
        try:
            total = int(str(total_raw)) if total_raw is not None else None
        except ValueError:
            total = None
        return entries, total, where

    def _map(self, record: Any, index: int) -> _Record:
        if not isinstance(record, dict):
            raise RecordError("unknown_shape", "(record)", f"expected an object, got {type(record).__name__}")
        record_id = _text(record.get("id"))
        if record_id is None:
            raise RecordError("missing_field", "id", "missing record id")
        agent = _text(record.get("user_id"))
        if agent is None:
            raise RecordError("missing_field", "user_id", "missing agent id")
        vendor_state = _text(record.get("state"))
        if vendor_state is None:
            raise RecordError("missing_field", "state", "missing state")
        if record.get("event_epoch") not in (None, ""):
            at = parse_epoch_seconds(record.get("event_epoch"), field="event_epoch")
        elif record.get("created_at") not in (None, ""):
            at = self._created_at(record["created_at"])
        else:
            raise RecordError("missing_field", "event_epoch", "missing event time (no event_epoch nor created_at)")
        state = STATE_MAP.get(_state_key(vendor_state), AgentState.UNKNOWN)
        reason = None
        if state is not AgentState.AVAILABLE and state is not AgentState.OFFLINE:
            reason = _text(record.get("availability_name")) or _text(record.get("availability_code_name"))
        return _Record(record_id=record_id, agent=agent, at=at, state=state, vendor_state=vendor_state,
                       reason=reason, campaign_id=_text(record.get("campaign_id")),
                       campaign_name=_text(record.get("campaign_name")), index=index, record=record)

    def _created_at(self, value: Any) -> datetime:
        """Fallback time: ``created_at`` is wall-clock time of the account zone."""
        try:
            naive = datetime.strptime(str(value).strip(), "%Y-%m-%d %H:%M:%S")
        except ValueError:
            raise RecordError("bad_timestamp", "created_at", f"expected 'YYYY-MM-DD HH:MM:SS', got {value!r}") from None
        return local_to_utc(naive, self.zone)

    def handle_response(self, cursor: dict[str, Any], request: RequestSpec, body: Any,
                        now: datetime) -> PageResult:
        entries, total, where = self._entries(body)
        state = self.copy_cursor(cursor)
        offset = int(request.params["offset"])
        position: dict[str, Any] = {"date_start": request.params["date_start"],
                                    "date_end": request.params["date_end"], "offset": offset}
        read_with = {**state, "next": position}
        source_cursor = self.source_cursor(read_with)
        events: list[Event] = []
        dead: list[DeadLetter] = []
        unknown: Counter[str] = Counter()
        mapped: list[_Record] = []
        seen: dict[str, int] = state["seen"]
        for index, record in enumerate(entries):
            location = f"{where}[{index}]"
            try:
                mapped.append(self._map(record, index))
            except RecordError as error:
                letter = self.dead_letter_once(state, record=record, location=location, error=error,
                                               source_cursor=source_cursor, now=now)
                dead.extend([letter] if letter else [])
        page_print = fingerprint(r.record_id for r in mapped) if mapped else None
        state["poll"] = guard_page(state.get("poll"), vendor=self.vendor, page_print=page_print, total=total,
                                   position=f"{position['date_start']}..{position['date_end']} "
                                            f"offset={offset}",
                                   page_size=self.config.page_size)
        memory = AgentMemory(state["agents"])
        for item in sorted(mapped, key=_order_key):
            epoch = int(item.at.timestamp())
            if item.record_id in seen or epoch < int(state["horizon"]):
                continue
            seen[item.record_id] = epoch
            known = memory.get(item.agent)
            if item.state is AgentState.UNKNOWN:
                unknown[item.vendor_state] += 1
            if known is not None and item.at < known.at:
                # a late record (a page the vendor skipped, a record unreadable when first served):
                # still a real change, emitted with its own time; the agent's current state stays
                events.append(self.state_changed(
                    key=("record", item.record_id), agent_id=item.agent, state=item.state, previous=None,
                    vendor_state=item.vendor_state, reason=item.reason, occurred_at=item.at,
                    source_cursor=source_cursor, now=now, campaign_id=item.campaign_id,
                    campaign_name=item.campaign_name, vendor_record_id=item.record_id))
                continue
            if known is not None and (known.state, known.reason) == (item.state, item.reason):
                continue
            events.append(self.state_changed(
                key=("record", item.record_id), agent_id=item.agent, state=item.state,
                previous=known.state if known else None, vendor_state=item.vendor_state, reason=item.reason,
                occurred_at=item.at, source_cursor=source_cursor, now=now, campaign_id=item.campaign_id,
                campaign_name=item.campaign_name, vendor_record_id=item.record_id))
            memory.set(item.agent, item.state, item.reason, item.at)
        self._cap_seen(state)
        next_offset = offset + len(entries)
        more = bool(entries) and (next_offset < total if total is not None
                                  else len(entries) >= self.config.page_size)
        next_request = None
        if more:
            state["next"] = {**position, "offset": next_offset}
            next_request = self._request(state["next"])
        else:
            self._finish_poll(state, now)
        return PageResult(events, dead, unknown, state, next_request)

    def replay_until(self, cursor: dict[str, Any], request: RequestSpec, body: Any, page: PageResult,
                     now: datetime) -> datetime | None:
        """Until when mapping this body onto this cursor again maps to ``page`` (the runtime skips
        re-reading an unchanged day meanwhile; see connector/runtime/replay.py).

        Records map the same at any time; only the poll's end reads the clock: the date (today,
        and now - lookback) and the memory pruned by age."""
        if page.next_request is not None:
            return FOREVER
        zone, lookback = self.zone, timedelta(seconds=self.config.lookback_seconds)
        state = page.next_cursor
        return min(next_day_start(now, zone), next_day_start(now - lookback, zone) + lookback,
                   expiry((entry[2] for entry in state["agents"].values()), timedelta(days=AGENT_MEMORY_DAYS)),
                   expiry(state.get("dead", {}).values(), DEAD_MEMORY))

    def _finish_poll(self, state: dict[str, Any], now: datetime) -> None:
        """Next poll re-reads from the day of ``now - lookback``; what precedes it cannot recur."""
        zone = self.zone
        today = local_date(now, zone)
        back = local_date(now - timedelta(seconds=self.config.lookback_seconds), zone)
        day = min(today, back)
        state["day"], state["next"], state["poll"] = day.isoformat(), None, None
        self._prune(state, day, now)

    def _prune(self, state: dict[str, Any], day: date, now: datetime) -> None:
        start, _ = day_bounds_utc(day, self.zone)
        floor = int(start.timestamp()) - 3600
        state["horizon"] = max(int(state["horizon"]), floor)
        state["seen"] = {k: v for k, v in state["seen"].items() if v >= floor}
        AgentMemory(state["agents"]).prune(now)
        self.prune_dead(state, now)

    @staticmethod
    def _cap_seen(state: dict[str, Any]) -> None:
        """Keep the newest MAX_SEEN ids; the horizon rises past the dropped ones (cursor stays small)."""
        seen: dict[str, int] = state["seen"]
        if len(seen) > MAX_SEEN:
            ordered = sorted(seen.items(), key=lambda item: item[1])
            dropped, kept = ordered[:-MAX_SEEN], ordered[-MAX_SEEN:]
            state["horizon"] = max(int(state["horizon"]), dropped[-1][1] + 1)
            state["seen"] = dict(kept)
