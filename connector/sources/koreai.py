"""Kore.ai SmartAssist agentstatusdetails (POST) -> AgentStateChanged.

Kore.ai reports self-reported status intervals per agent for one day at a time, with the
day cut by ``timeZoneOffSet`` (minutes WEST of UTC: New York winter 300, India -330), and
pages agents 50 at a time with ``hasMore``. Interval times come back as naive local times
of that offset. Decisions (see docs/vendors.md, "Mapping tables"):

* offset per day: computed from the IANA ``timezone`` for that day. A DST day has two
  offsets (start and end of the day); it is queried once with each, so the two fixed-offset
  windows together cover the 23/25-hour day. Each response's times are converted with the
  offset its request sent, so an interval spanning the DST change is exact either way.
* gaps: an interval starting more than GAP_TOLERANCE after the previous one ended, or a
  closed last interval ending before the queried window ends, means no status was reported,
  i.e. the agent was not logged in to SmartAssist: OFFLINE ("(no status)") at the gap start.
  The open interval (``endTime: "-"``) is the current state.
"""

from __future__ import annotations

import functools
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, field_validator, model_validator

from connector.model import AgentState, DeadLetter, Event, to_millis
from connector.sources.base import (
    AGENT_MEMORY_DAYS,
    CURSOR_VERSION,
    DEAD_MEMORY,
    AgentMemory,
    AuthKind,
    AuthParts,
    AuthSpec,
    PageResult,
    RecordError,
    RequestSpec,
    StreamBase,
    VendorError,
    fingerprint,
    guard_page,
    hs256_jwt,
    iso_z,
    koreai_offsets_of_day,
    local_date,
    require_mapping,
)
from connector.sources.koreai_intervals import STATE_MAP, WRAP_SECONDARY, Row, interval_state, read_rows
from connector.sources.settings import OFFLINE_SECRET, SourceSettings, check_timezone, offline_common
from connector.sources.timeutil import FOREVER, expiry, next_day_start

__all__ = ["GAP_REASON", "GAP_STATE", "GAP_TOLERANCE", "STATE_MAP", "WRAP_SECONDARY", "KoreaiSource", "KoreaiStream",
           "interval_state", "koreai_jwt"]

GAP_TOLERANCE = timedelta(seconds=5)   # rounding of second-granular times is not a gap
GAP_STATE = "(no status)"              # vendor_state of the OFFLINE emitted at a gap's start
GAP_REASON = "no status reported"      # its reason, which tells it apart from a reported OFFLINE
_TOLERANCE_MS = int(GAP_TOLERANCE.total_seconds() * 1000)
INTERVAL_MEMORY = timedelta(days=31)   # a forgotten agent's interval mark is kept this long
JWT_TTL = timedelta(hours=1)
JWT_RENEW_BEFORE = timedelta(minutes=5)  # a signed JWT is used until this long before it expires

def koreai_jwt(client_id: str, client_secret: str, now: datetime, *, subject: str = "agent-connector") -> str:
    """Kore.ai's documented app JWT: HS256 over ``{"appId": client_id, "sub": ...}``."""
    issued = int(now.timestamp())
    claims = {"appId": client_id, "sub": subject, "iat": issued, "exp": issued + int(JWT_TTL.total_seconds())}
    return hs256_jwt(claims, client_secret)


@functools.lru_cache(maxsize=64)
def _offsets_of_day(zone: ZoneInfo, day: date) -> tuple[int, ...]:
    """``koreai_offsets_of_day``, cached: every poll asks again for the same day (zone arithmetic)."""
    return tuple(koreai_offsets_of_day(zone, day))


class KoreaiSource(SourceSettings):
    vendor: Literal["koreai"]
    account_id: str
    stream_id: str = Field(description="The iId header: stream or application id, e.g. st-...")
    jwt: SecretStr | None = Field(None, description="A static JWT, or use client_id + client_secret.")
    client_id: str | None = None
    client_secret: SecretStr | None = None
    timezone: str = Field("UTC", description="IANA zone the day windows are cut in; DST is applied per day.")
    agent_emails: list[str] = Field(default_factory=list)
    page_size: int = Field(50, ge=1, le=50)

    _tz = field_validator("timezone")(check_timezone)

    @model_validator(mode="after")
    def _one_credential(self) -> KoreaiSource:
        if self.jwt is None and not (self.client_id and self.client_secret):
            raise ValueError("needs jwt, or client_id + client_secret to sign one")
        return self

    @classmethod
    def for_saved_response(cls, tenant: str, zone: str) -> KoreaiSource:
        return cls(**offline_common("koreai", tenant), account_id="offline", stream_id="offline", jwt=OFFLINE_SECRET,
                   timezone=zone)


class KoreaiStream(StreamBase[KoreaiSource]):
    """Cursor: ``{"v", "day", "next", "poll", "agents", "intervals"}``.

    ``day``: first local day the next poll reads; ``next``: ``{"day", "phase", "offset"}``
    of the next page of an unfinished poll (phase = which offset of a DST day);
    ``intervals``: userId -> ``[start_ms, end_ms | null]`` of the latest interval applied,
    the watermark that makes re-reading a day idempotent.
    """

    vendor: ClassVar[str] = "koreai"
    settings_model: ClassVar[type[SourceSettings]] = KoreaiSource
    auth: ClassVar[AuthSpec] = AuthSpec(AuthKind.KOREAI_JWT, name="auth", headers={"Content-Type": "application/json"})
    personal_fields: ClassVar[frozenset[str]] = frozenset({"firstname", "lastname", "email"})
    position_keys: ClassVar[tuple[str, ...]] = ("day", "next")
    #: per agent, what its last mapping read and left: ``(day, offset, status list, mark after)``.
    #: In memory only: a restart maps everything once, as before.
    _applied: dict[str, tuple[str, int, list[Any], list[Any]]] | None = None
    #: the JWT signed from client credentials: ``(token, signed at, renew from)``; one per request was
    #: a JSON encoding, base64 and an HMAC a poll for nothing
    _signed: tuple[str, datetime, datetime] | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.config.timezone)

    @property
    def path(self) -> str:
        return f"/agentassist/api/public/analytics/account/{self.config.account_id}/agentstatusdetails"

    def auth_parts(self, now: datetime, *, access_token: str | None = None) -> AuthParts:
        """``auth: <JWT>`` (static, or signed from client_id/client_secret and reused until
        ``JWT_RENEW_BEFORE`` its expiry, or a 401: ``forget_credentials``) and ``iId``."""
        if self.config.jwt is not None:
            token = self.config.jwt.get_secret_value()
        else:
            assert self.config.client_id and self.config.client_secret  # config validation guarantees one
            signed = self._signed
            if signed is not None and signed[1] <= now < signed[2]:
                token = signed[0]
            else:
                token = koreai_jwt(self.config.client_id, self.config.client_secret.get_secret_value(), now)
                issued = now.replace(microsecond=0)  # the ``iat`` claim (whole seconds)
                self._signed = (token, issued, issued + JWT_TTL - JWT_RENEW_BEFORE)
        return AuthParts(headers={**self.auth.headers, "auth": token, "iId": self.config.stream_id})

    def forget_credentials(self) -> None:
        """After a 401: the next request signs a new JWT."""
        self._signed = None

    def initial_cursor(self, now: datetime) -> dict[str, Any]:
        day = local_date(self.start_of_history(now), self.zone)
        return {"v": CURSOR_VERSION, "day": day.isoformat(), "next": None, "poll": None,
                "agents": {}, "intervals": {}, "dead": {}}

    def _position(self, cursor: dict[str, Any]) -> dict[str, Any]:
        return dict(cursor["next"] or {"day": cursor["day"], "phase": 0, "offset": 0})

    def first_request(self, cursor: dict[str, Any], now: datetime) -> RequestSpec | None:
        return self._request(self._position(cursor))

    def _request(self, position: dict[str, Any]) -> RequestSpec:
        day = date.fromisoformat(position["day"])
        offsets = _offsets_of_day(self.zone, day)
        offset = offsets[min(int(position["phase"]), len(offsets) - 1)]
        # the table documents startDate/endDate, the sample request sends "date": send both forms
        date_filter = {"date": day.isoformat(), "startDate": day.isoformat(), "endDate": day.isoformat(),
                       "timeZoneOffSet": offset}
        flt: dict[str, Any] = {"dateFilter": date_filter}
        if self.config.agent_emails:
            flt["agents"] = list(self.config.agent_emails)
        params = {"limit": str(self.config.page_size), "offset": str(position["offset"])}
        return RequestSpec("POST", self.path, params, json_body={"filter": flt})

    # --- response ---------------------------------------------------------------------------

    def _check(self, body: Any) -> dict[str, Any]:
        doc = require_mapping(self.vendor, body, "the agentstatusdetails response")
        errors = doc.get("errors")
        if isinstance(errors, list) and errors:
            first = errors[0] if isinstance(errors[0], dict) else {"msg": str(errors[0])}
            raise VendorError(self.vendor, f"error response: {first.get('msg') or first.get('message')}",
                              code=first.get("code"), vendor_message=str(first.get("msg") or ""))
        if not isinstance(doc.get("data"), list) or not isinstance(doc.get("hasMore"), bool):
            raise VendorError(self.vendor, "expected 'data' (an array of agents) and 'hasMore' (a boolean)",
                              kind="unknown_shape")
        return doc

    def handle_response(self, cursor: dict[str, Any], request: RequestSpec, body: Any,
                        now: datetime) -> PageResult:
        body = self._check(body)
        state = self.copy_cursor(cursor)
        position = self._position(state)
        assert request.json_body is not None
        date_filter = request.json_body["filter"]["dateFilter"]
        offset, day = int(date_filter["timeZoneOffSet"]), date.fromisoformat(date_filter["startDate"])
        source_cursor = self.source_cursor({**state, "next": position})
        ctx = _Page(self, state, source_cursor, now, min(_window_end(day, offset), now))
        ctx.day = day.isoformat()
        user_ids = []
        for index, agent in enumerate(body["data"]):
            user_id = ctx.agent(agent, f"data[{index}]", offset)
            if user_id is not None:
                user_ids.append(user_id)
        where = f"day={day.isoformat()} timeZoneOffSet={offset} offset={position['offset']}"
        state["poll"] = guard_page(state.get("poll"), vendor=self.vendor, position=where,
                                   page_print=fingerprint(user_ids) if user_ids else None)
        next_request = None
        if body["hasMore"] and body["data"]:
            state["next"] = {**position, "offset": int(position["offset"]) + self.config.page_size}
            next_request = self._request(state["next"])
        else:
            following = self._next_window(position, now)
            state["poll"] = None  # paging memory is per window: each day lists the same agents again
            if following is None:
                back = local_date(now - timedelta(seconds=self.config.lookback_seconds), self.zone)
                state["day"] = min(back, local_date(now, self.zone)).isoformat()
                state["next"] = None
                self._prune(state, now)
            else:
                state["next"] = following
                next_request = self._request(following)
        return PageResult(ctx.events, ctx.dead, ctx.unknown, state, next_request)

    def unchanged(self, user_id: str, day: str, offset: int, statuses: list[Any], mark: list[Any] | None) -> bool:
        """Whether an agent's intervals are the very ones its last mapping applied, onto the mark it left.

        Re-reading a day returns every interval again; applied to the mark they left, each is
        "read before" and changes nothing, so sorting and parsing them again is skipped.
        """
        last = (self._applied or {}).get(user_id)
        return (last is not None and mark is not None and last[3] == mark and last[0] == day
                and last[1] == offset and last[2] == statuses)

    def remember(self, user_id: str, day: str, offset: int, statuses: list[Any], mark: list[Any] | None) -> None:
        """What an agent's mapping read and left (not when a record of it was dead-lettered)."""
        if mark is None:
            return
        if self._applied is None:
            self._applied = {}
        self._applied[user_id] = (day, offset, statuses, mark)

    def replay_until(self, cursor: dict[str, Any], request: RequestSpec, body: Any, page: PageResult,
                     now: datetime) -> datetime | None:
        """Until when mapping this body onto this cursor again maps to ``page`` (the runtime skips
        re-reading an unchanged day meanwhile; see connector/runtime/replay.py).

        The clock enters three ways: a closed last interval becomes a gap once the window's end
        (now, within the day) is GAP_TOLERANCE past it; the date (today, and now - lookback)
        decides where the poll goes on; the poll's end prunes memory by age."""
        assert request.json_body is not None
        date_filter = request.json_body["filter"]["dateFilter"]
        day_end = to_millis(_window_end(date.fromisoformat(date_filter["startDate"]),
                                        int(date_filter["timeZoneOffSet"])))
        window_end = min(day_end, to_millis(now))
        marks: dict[str, Any] = page.next_cursor["intervals"]
        until, agents = FOREVER, set()
        for agent in body["data"]:
            user_id = agent.get("userId") if isinstance(agent, dict) else None
            if user_id in agents:
                return None  # an agent twice in a page: its first gap check saw a mark we do not keep
            agents.add(user_id)
            mark = marks.get(user_id) if isinstance(user_id, str) else None
            due = mark[1] + _TOLERANCE_MS + 1 if mark is not None and mark[1] is not None else None
            if due is not None and window_end < due <= day_end:  # a gap not yet due, due before the day ends
                until = min(until, datetime.fromtimestamp(due / 1000, tz=UTC))
        if body["hasMore"] and body["data"]:
            return until
        lookback = timedelta(seconds=self.config.lookback_seconds)
        until = min(until, next_day_start(now, self.zone), next_day_start(now - lookback, self.zone) + lookback)
        if page.next_request is not None:
            return until
        state = page.next_cursor
        forgotten = (mark[0] for agent, mark in state["intervals"].items() if agent not in state["agents"])
        return min(until, expiry((entry[2] for entry in state["agents"].values()), timedelta(days=AGENT_MEMORY_DAYS)),
                   expiry(state.get("dead", {}).values(), DEAD_MEMORY), expiry(forgotten, INTERVAL_MEMORY))

    def _next_window(self, position: dict[str, Any], now: datetime) -> dict[str, Any] | None:
        """The next (day, phase) of this poll, or None once today's last phase was read."""
        day = date.fromisoformat(position["day"])
        if int(position["phase"]) + 1 < len(_offsets_of_day(self.zone, day)):
            return {"day": day.isoformat(), "phase": int(position["phase"]) + 1, "offset": 0}
        if day < local_date(now, self.zone):
            return {"day": (day + timedelta(days=1)).isoformat(), "phase": 0, "offset": 0}
        return None

    def _prune(self, state: dict[str, Any], now: datetime) -> None:
        self.prune_dead(state, now)
        memory = AgentMemory(state["agents"])
        memory.prune(now)
        horizon = to_millis(now - INTERVAL_MEMORY)
        state["intervals"] = {agent: mark for agent, mark in state["intervals"].items()
                              if agent in state["agents"] or mark[0] >= horizon}


def _window_end(day: date, offset: int) -> datetime:
    """The end of a queried day window: local midnight after ``day`` at ``offset`` minutes west."""
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC) + timedelta(minutes=offset)


#: an agent's last emitted state while its intervals are applied: ``(state, reason, at ms, at)``;
#: ``at`` is None when read from the cursor's memory (only a new event's is written back)
_Known = tuple[AgentState, str | None, int, datetime | None]


class _Page:
    """Maps one response page, agent by agent, into events against the cursor's memory."""

    def __init__(self, stream: KoreaiStream, state: dict[str, Any], source_cursor: str, now: datetime,
                 window_end: datetime) -> None:
        self.stream, self.state, self.source_cursor, self.now = stream, state, source_cursor, now
        self.window_end_ms = to_millis(window_end)
        self.day = ""  # the local day the page is of (set by handle_response)
        self.memory = AgentMemory(state["agents"])
        self.events: list[Event] = []
        self.dead: list[DeadLetter] = []
        self.unknown: Counter[str] = Counter()

    def _dead(self, record: Any, location: str, error: RecordError | str, kind: str | None = None) -> None:
        letter = self.stream.dead_letter_once(self.state, record=record, location=location, error=error, kind=kind,
                                              source_cursor=self.source_cursor, now=self.now)
        self.dead.extend([letter] if letter else [])

    def agent(self, agent: Any, location: str, offset: int) -> str | None:
        """Apply one agent entry; returns its userId (None when it has none)."""
        if not isinstance(agent, dict):
            self._dead(agent, location, f"expected an agent object, got {type(agent).__name__}", "unknown_shape")
            return None
        statuses = agent.get("status")
        user_id = agent.get("userId")
        if not isinstance(user_id, str) or not user_id.strip():
            if statuses:
                self._dead(agent, location, RecordError("missing_field", "userId", "missing agent id"))
            return None
        if statuses is None or statuses == []:
            return user_id  # a roster entry: the agent reported no status in the window
        if not isinstance(statuses, list):
            self._dead(agent, f"{location}.status", "status: expected an array of intervals", "unknown_shape")
            return user_id
        day = self.day
        if self.stream.unchanged(user_id, day, offset, statuses, self.state["intervals"].get(user_id)):
            self._trailing_gap(user_id)  # the window's end moves with now: a gap may begin without news
            return user_id
        dead_before = len(self.dead)
        rows, errors = read_rows(statuses, offset)
        for index, raw, error in errors:
            self._dead({"userId": user_id, "status": raw}, f"{location}.status[{index}]", error)
        self._apply(user_id, rows)
        if len(self.dead) == dead_before:
            self.stream.remember(user_id, day, offset, statuses, self.state["intervals"].get(user_id))
        self._trailing_gap(user_id)
        return user_id

    def _apply(self, user_id: str, rows: list[Row]) -> None:
        """Apply an agent's intervals, in order, unless read before: the cursor's mark is the last
        applied. Times are whole seconds, so two intervals can start in one second (a 0.4 s
        AVAILABLE, then AWAY): the ordinal among those with the same start tells them apart.
        The mark and the agent's memory are kept in locals and written once, at the end."""
        marks = self.state["intervals"]
        mark = marks.get(user_id)
        has_mark, moved = mark is not None, False
        last_start: Any = None
        last_end: Any = None
        last_ordinal = 0
        if mark is not None:
            last_start, last_end = mark[0], mark[1]
            last_ordinal = mark[2] if len(mark) > 2 else 0
        known = first = self._known(user_id)
        unknown, emit = self.unknown, self._emit
        ordinal, previous_us = 0, None
        for start_us, _, start, end_ms, status in rows:
            ordinal = ordinal + 1 if start_us == previous_us else 0
            previous_us = start_us
            start_ms = start[1]
            if has_mark:
                if start_ms < last_start or (start_ms == last_start and ordinal < last_ordinal):
                    continue  # read before
                if start_ms == last_start and ordinal == last_ordinal:  # the same interval again; it may have closed
                    if last_end is None and end_ms is not None:
                        last_end, moved = end_ms, True
                    continue
                if last_end is not None and start_ms - last_end > _TOLERANCE_MS:
                    known = self._gap(user_id, known, last_end)
            state, vendor_state, reason, primary = status
            if state is AgentState.UNKNOWN:
                unknown[primary] += 1
            if known is None or known[0] is not state or known[1] != reason:  # else: no change
                known = emit(user_id, known, state, vendor_state, reason, start[0],
                             ("interval", user_id, start[2], vendor_state), start[2], start_ms)
            last_start, last_end, last_ordinal, has_mark, moved = start_ms, end_ms, ordinal, True, True
        if moved:
            marks[user_id] = [last_start, last_end, last_ordinal]
        self._keep(user_id, first, known)

    def _known(self, user_id: str) -> _Known | None:
        known = self.memory.get(user_id)
        return None if known is None else (known.state, known.reason, known.millis, None)

    def _keep(self, user_id: str, first: _Known | None, known: _Known | None) -> None:
        """Write an agent's memory back when its events changed it."""
        if known is not None and known is not first and known[3] is not None:
            self.memory.set(user_id, known[0], known[1], known[3], known[2])

    def _trailing_gap(self, user_id: str) -> None:
        """A closed last interval ending before the window does: the agent has no status now."""
        mark = self.state["intervals"].get(user_id)
        if mark is None or mark[1] is None:
            return
        if self.window_end_ms - mark[1] > _TOLERANCE_MS:
            first = self._known(user_id)
            self._keep(user_id, first, self._gap(user_id, first, mark[1]))

    def _gap(self, user_id: str, known: _Known | None, end_ms: int) -> _Known | None:
        at = datetime.fromtimestamp(end_ms / 1000, tz=UTC)
        at_text = iso_z(at)
        return self._emit(user_id, known, AgentState.OFFLINE, GAP_STATE, GAP_REASON, at, ("gap", user_id, at_text),
                          at_text, to_millis(at))

    def _emit(self, user_id: str, known: _Known | None, state: AgentState, vendor_state: str, reason: str | None,
              at: datetime, key: tuple[object, ...], at_text: str, at_ms: int) -> _Known | None:
        """The event of a change from ``known`` (the agent's last state), and what is known after it.
        ``at_text`` and ``at_ms`` are ``iso_z(at)`` and ``to_millis(at)``, which the caller already has."""
        if known is not None and known[0] is state and known[1] == reason:
            return known  # no change (also: a gap or an interval seen again on a re-read)
        occurred, occurred_ms = at, at_ms
        if known is not None and known[2] > at_ms:  # never step back in an agent's order
            occurred_ms = known[2]
            occurred = datetime.fromtimestamp(occurred_ms / 1000, tz=UTC)
        self.events.append(self.stream.state_changed(
            key=key, agent_id=user_id, state=state, previous=known[0] if known else None,
            vendor_state=vendor_state, reason=reason, occurred_at=occurred, source_cursor=self.source_cursor,
            now=self.now, vendor_record_id=f"{user_id}@{at_text}"))
        return state, reason, occurred_ms, occurred
