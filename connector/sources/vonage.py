"""Vonage Contact Center Insights Stats GET /agent-activities -> AgentStateChanged.

Polling follows Vonage's advice: ``include=Processed`` and each poll starting at the
previous response's ``upTo``. Windows longer than 31 days are split (the API refuses them),
pages are read with ``page`` until ``meta.pageCount``. ``Processed`` re-reports an activity
when it ends (now with a ``duration``): the first report applies its start, the re-report
only its end. Each agent's presence, workload and interactions are merged by
``vonage_state`` into one state; an event is emitted only when that state changes.

A page flows in three passes, each over plain tuples and ints (a page is ~100 activities,
and this is the per-record cost of the source):

* ``_read``: each activity (``vonage_points``) becomes one or two points, ``(at_ms, ending, ...)``
  tuples, on its agent's list, unless its compact key (``vonage_keys``) says it was read before;
* ``HeldPoints`` (``vonage_held``) keeps back the points the next page may still complete;
* ``_advance``: each agent's points, sorted once, are stepped through with its parts in locals
  (``vonage_steps``); a datetime and an event are made only for a change of the merged state.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

from pydantic import AnyHttpUrl, Field, SecretStr, model_validator

from connector.model import DeadLetter, Event, from_millis, to_millis
from connector.sources.base import (
    CURSOR_VERSION,
    AgentMemory,
    AuthKind,
    AuthParts,
    AuthSpec,
    PageResult,
    PagingError,
    RecordError,
    RequestSpec,
    StreamBase,
    VendorError,
    fingerprint,
    guard_page,
    iso_z,
    parse_iso_utc,
    require_mapping,
)
from connector.sources.settings import OFFLINE_SECRET, SourceSettings, offline_common
from connector.sources.vonage_held import HeldPoints
from connector.sources.vonage_keys import EndedKeys, migrate_keys
from connector.sources.vonage_points import StartTimes, activity_points
from connector.sources.vonage_state import AgentParts, Parts, Point, own_parts
from connector.sources.vonage_steps import apply_in_order, step_agent

__all__ = ["MAX_WINDOW", "VonageSource", "VonageStream", "parse_token_response"]

PATH = "/stats/agent-activities"  # base_url is the host, as for every other vendor
ACCEPT = "application/vnd.newvoicemedia.v3+json"
MAX_WINDOW = timedelta(days=31) - timedelta(minutes=1)  # "Request window size limit exceeded 31 days"
ENDED_RETENTION_MS = 3600 * 1000          # ended activities are remembered this long past upTo
ONGOING_RETENTION_MS = 7 * 86400 * 1000   # ongoing ones until they end, or this long
MAX_SEEN = 10_000  # at most ~30 bytes each: the cursor stays well under Kafka's default 1 MB message


def parse_token_response(body: Any, now: datetime) -> tuple[str, datetime]:
    """The bearer token and its expiry from an OAuth2 token response (the runtime fetched it)."""
    doc = require_mapping("vonage", body, "the token response")
    token = doc.get("access_token")
    if not isinstance(token, str) or not token:
        raise VendorError("vonage", f"token response without access_token: {doc.get('error') or 'no error'}",
                          vendor_message=str(doc.get("error_description") or doc.get("error") or ""))
    expires_in = doc.get("expires_in")
    seconds = expires_in if isinstance(expires_in, int) and not isinstance(expires_in, bool) else 3600
    return token, now + timedelta(seconds=seconds)


def _table(parts: Parts) -> dict[str, Any]:
    """An agent's parts as its cursor table."""
    return {"p": parts[0], "w": parts[1], "i": parts[2]}


class VonageSource(SourceSettings):
    vendor: Literal["vonage"]
    access_token: SecretStr | None = Field(None, description="A static bearer token, or use client credentials.")
    client_id: str | None = None
    client_secret: SecretStr | None = None
    token_url: AnyHttpUrl | None = None
    agent_id: str | None = None
    presence_lookback_seconds: float = Field(
        86_400.0, ge=0, le=31 * 86_400,
        description="On a first start, how far before start_at to look for each agent's current presence.",
    )

    @model_validator(mode="after")
    def _one_credential(self) -> VonageSource:
        if self.access_token is None and not (self.client_id and self.client_secret and self.token_url):
            raise ValueError("needs access_token, or client_id + client_secret + token_url (OAuth2 client credentials)")
        return self

    @classmethod
    def for_saved_response(cls, tenant: str, zone: str) -> VonageSource:
        # one saved response is the whole window: no presence bootstrap before it
        return cls(**offline_common("vonage", tenant), access_token=OFFLINE_SECRET, presence_lookback_seconds=0)


class VonageStream(StreamBase[VonageSource]):
    """Cursor: ``{"v", "up_to", "next", "poll", "agents", "parts", "seen", "ended"}``.

    ``up_to``: start of the next poll (the last ``upTo``); ``next``: ``{"start", "end", "page",
    "up_to"}`` of an unfinished poll; ``parts``: per agent, the presence / workload / open
    interactions (see ``vonage_state``); ``seen``: key of an ongoing activity -> ``[start_ms, null]``;
    ``ended``: keys of ended activities in end-time buckets (``EndedKeys``). Ended keys are
    pruned on every page against the page's earliest start, so a long catch-up window keeps
    about an hour of them, not the whole window.
    """

    vendor: ClassVar[str] = "vonage"
    settings_model: ClassVar[type[SourceSettings]] = VonageSource
    auth: ClassVar[AuthSpec] = AuthSpec(AuthKind.BEARER, name="Authorization", headers={"Accept": ACCEPT})
    position_keys: ClassVar[tuple[str, ...]] = ("up_to", "next")

    def __init__(self, source_config: VonageSource, *, drop_personal_data: bool = True) -> None:
        super().__init__(source_config, drop_personal_data=drop_personal_data)
        self._handover: tuple[dict[str, str], set[str]] | None = None  # the last page's ended buckets, indexed
        self._held = HeldPoints()  # the last page's held points, parsed
        self._starts = StartTimes()  # start texts <-> epoch ms

    # --- auth -------------------------------------------------------------------------------

    def token_request(self) -> RequestSpec | None:
        """OAuth2 client credentials (scope ``stats``) when no static ``access_token`` is set."""
        if self.config.access_token is not None or self.config.token_url is None:
            return None
        assert self.config.client_id and self.config.client_secret
        form = {"grant_type": "client_credentials", "client_id": self.config.client_id,
                "client_secret": self.config.client_secret.get_secret_value(), "scope": "stats"}
        return RequestSpec("POST", str(self.config.token_url), {}, form=form)

    def auth_parts(self, now: datetime, *, access_token: str | None = None) -> AuthParts:
        token = access_token or (self.config.access_token.get_secret_value() if self.config.access_token else None)
        if not token:
            raise ValueError("vonage: no bearer token: fetch one with token_request() and pass access_token")
        return AuthParts(headers={**self.auth.headers, "Authorization": f"bearer {token}"})

    # --- requests ---------------------------------------------------------------------------

    def initial_cursor(self, now: datetime) -> dict[str, Any]:
        start = self.start_of_history(now)
        cursor = {"v": CURSOR_VERSION, "up_to": iso_z(start), "next": None, "poll": None,
                  "agents": {}, "parts": {}, "seen": {}, "ended": {}, "dead": {}}
        lookback = timedelta(seconds=self.config.presence_lookback_seconds)
        if lookback:
            # Processed windows never show a presence that began before them and has not ended:
            # learn each agent's presence first, silently, from a window before the start
            cursor["next"] = {"start": iso_z(start - min(lookback, MAX_WINDOW)), "end": iso_z(start), "page": 1,
                              "up_to": None, "bootstrap": True}
        return cursor

    def _window(self, start: datetime, now: datetime) -> dict[str, Any] | None:
        end = min(now, start + MAX_WINDOW)
        if end <= start:
            return None
        return {"start": iso_z(start), "end": iso_z(end), "page": 1, "up_to": None}

    def first_request(self, cursor: dict[str, Any], now: datetime) -> RequestSpec | None:
        position = cursor["next"] or self._window(parse_iso_utc(cursor["up_to"], field="cursor.up_to"), now)
        return self._request(position) if position else None

    def _request(self, position: dict[str, Any]) -> RequestSpec:
        params = {"start": position["start"], "end": position["end"], "include": "Processed",
                  "page": str(position["page"])}
        if position.get("bootstrap"):
            params["type"] = "Presence"
        if self.config.agent_id:
            params["agentId"] = self.config.agent_id
        return RequestSpec("GET", PATH, params)

    # --- response ---------------------------------------------------------------------------

    def _check(self, body: Any) -> tuple[list[Any], dict[str, Any], str | None]:
        doc = require_mapping(self.vendor, body, "the agent-activities response")
        items, meta = doc.get("items"), doc.get("meta")
        if not isinstance(items, list) or not isinstance(meta, dict):
            message = doc.get("message") or doc.get("error")
            if message:
                raise VendorError(self.vendor, f"error response: {message}", code=doc.get("code"),
                                  vendor_message=str(message))
            raise VendorError(self.vendor, "expected 'items' (an array) and 'meta' (paging)", kind="unknown_shape")
        up_to = doc.get("upTo")
        if up_to is not None:
            try:
                parse_iso_utc(up_to, field="upTo")
            except RecordError as error:
                raise VendorError(self.vendor, f"{error}", kind="unknown_shape") from None
        return items, meta, up_to

    def handle_response(self, cursor: dict[str, Any], request: RequestSpec, body: Any,
                        now: datetime) -> PageResult:
        if (cursor.get("next") or {}).get("bootstrap"):
            return self._bootstrap(cursor, request, body, now)
        items, meta, up_to = self._check(body)
        state = self.copy_cursor(cursor)
        migrate_keys(state)
        ended = self._ended_keys(cursor, state)
        page = int(request.params.get("page", "1"))
        position = state["next"] or {"start": request.params["start"], "end": request.params["end"],
                                     "page": page, "up_to": None}
        source_cursor = self.source_cursor({**state, "next": position})
        if isinstance(meta.get("page"), int) and meta["page"] != page:
            raise PagingError(self.vendor, f"asked for page {page} of {position['start']}..{position['end']}, "
                                           f"got page {meta['page']}")
        unknown: Counter[str] = Counter()
        dead: list[DeadLetter] = []
        seen: dict[str, list[Any]] = state["seen"]
        self._held.restore(state.pop("held", None))  # instants the last page left open
        points: dict[str, list[Point]] = {}
        keys, starts = self._read(items, state, ended, points, unknown, dead, source_cursor, now)
        if starts:  # reads go forward in start order: ends this far behind cannot come back
            ended.prune(min(starts) - ENDED_RETENTION_MS)
            ended.cap(MAX_SEEN - len(seen))
        total = meta.get("totalCount") if isinstance(meta.get("totalCount"), int) else None
        state["poll"] = guard_page(state.get("poll"), vendor=self.vendor, total=total,
                                   position=f"{position['start']}..{position['end']} page={page}",
                                   page_print=fingerprint(keys) if keys else None, page_size=max(len(items), 1))
        raw_count = meta.get("pageCount")
        page_count = raw_count if isinstance(raw_count, int) else page
        more_pages = bool(items) and page < page_count
        if more_pages and starts:
            self._hold_open_instants(state, points, max(starts), self._held)
        else:
            self._held.release(points)
        events: list[Event] = []
        memory, parts = AgentMemory(state["agents"]), state["parts"]
        for agent in sorted(points):
            if points[agent]:  # an agent whose points are all held back has nothing to apply yet
                self._advance(parts, memory, agent, points[agent], source_cursor, now, events)
        if up_to is not None:  # the data is complete up to the smallest upTo of the window's pages
            this = iso_z(parse_iso_utc(up_to, field="upTo"))
            earlier = position.get("up_to")
            position["up_to"] = this if earlier is None or this < earlier else earlier
        next_request = None
        if more_pages:
            state["next"] = {**position, "page": page + 1}
            next_request = self._request(state["next"])
        else:
            next_request = self._end_window(state, position, now, ended)
        self._handover = (state["ended"], ended.index)
        self._held.handed()
        return PageResult(events, dead, unknown, state, next_request)

    def _read(self, items: list[Any], state: dict[str, Any], ended: EndedKeys, points: dict[str, list[Point]],
              unknown: Counter[str], dead: list[DeadLetter], source_cursor: str,
              now: datetime) -> tuple[list[str], list[int]]:
        """The page's activities onto each agent's ``points``, minus what was read before; the page's
        record keys (its fingerprint) and starts (every activity's, repeats too).

        ``seen`` holds ongoing activities: their repeat is skipped, their re-report with a duration
        brings only the end. ``ended`` holds ended ones: their repeat is skipped.
        """
        seen: dict[str, list[Any]] = state["seen"]
        starts_of, ended_index, add_ended = self._starts, ended.index, ended.add
        keys: list[str] = []
        starts: list[int] = []
        for index, item in enumerate(items):
            try:
                agent, key, start_ms, end_ms, new = activity_points(item, unknown, starts_of)
            except RecordError as error:
                letter = self.dead_letter_once(state, record=item, location=f"items[{index}]", error=error,
                                               source_cursor=source_cursor, now=now)
                dead.extend([letter] if letter else [])
                continue
            keys.append(f"{key}|{end_ms}")
            starts.append(start_ms)
            if seen.get(key) is not None:
                if end_ms is None:
                    continue  # a repeat of an ongoing activity
                new = new[1:]  # the re-report of an ended activity: only its end (if any) is news
                del seen[key]
            elif key in ended_index:
                continue  # a repeat of an ended activity
            if end_ms is None:
                seen[key] = [start_ms, None]
            else:
                add_ended(key, end_ms)
            agent_points = points.get(agent)
            if agent_points is None:
                points[agent] = new
            else:
                agent_points.extend(new)
        ended.flush()
        return keys, starts

    def _ended_keys(self, cursor: dict[str, Any], state: dict[str, Any]) -> EndedKeys:
        """The page's ended keys; their index is taken over from the previous page when ``cursor`` is its output.

        Rebuilding the index costs a split of every bucket; the runtime hands each page's cursor
        to the next page, so it is built once per run. The handover is taken (not shared): a
        page that fails, or a cursor used twice, finds none and rebuilds from the buckets.
        """
        handover, self._handover = self._handover, None
        if handover is not None and handover[0] is cursor.get("ended") and state["ended"] == handover[0]:
            return EndedKeys(state["ended"], handover[1])
        return EndedKeys(state["ended"])

    def _bootstrap(self, cursor: dict[str, Any], request: RequestSpec, body: Any, now: datetime) -> PageResult:
        """A presence-only page from before the start: it sets each agent's presence, emits nothing."""
        items, meta, _ = self._check(body)
        state = self.copy_cursor(cursor)
        position = state["next"]
        page = int(request.params.get("page", "1"))
        unknown: Counter[str] = Counter()
        dead: list[DeadLetter] = []
        keys = []
        touched: dict[str, Parts] = {}
        for index, item in enumerate(items):
            try:
                agent, key, _, end_ms, new = activity_points(item, unknown, self._starts)
            except RecordError as error:
                letter = self.dead_letter_once(state, record=item, location=f"items[{index}]", error=error,
                                               source_cursor=self.source_cursor(state), now=now)
                dead.extend([letter] if letter else [])
                continue
            keys.append(f"{key}|{end_ms}")
            parts = touched.get(agent)
            if parts is None:
                parts = touched[agent] = own_parts(state["parts"].get(agent))
            apply_in_order(parts, new)  # in the page's order
        for agent, parts in touched.items():
            state["parts"][agent] = _table(parts)
        state["poll"] = guard_page(state.get("poll"), vendor=self.vendor,
                                   page_print=fingerprint(keys) if keys else None,
                                   position=f"presence {position['start']}..{position['end']} page={page}")
        raw_count = meta.get("pageCount")
        if items and page < (raw_count if isinstance(raw_count, int) else page):
            state["next"] = {**position, "page": page + 1}
            return PageResult([], dead, unknown, state, self._request(state["next"]))
        state["next"] = None
        state["poll"] = None
        return PageResult([], dead, unknown, state, self.first_request(state, now))

    @staticmethod
    def _hold_open_instants(state: dict[str, Any], points: dict[str, list[Point]], horizon: int,
                            keeper: HeldPoints) -> None:
        """Keep back the points at or after the page's latest activity start until the next page.

        Pages are ordered by start, so the next page may still hold activities of those
        instants (a Connected ending here, its Wrap starting there): emitting now would
        report a zero-length state that never was. Held points live in the cursor.
        """
        held = keeper.hold(points, horizon)
        if held:
            state["held"] = held

    def _advance(self, parts: dict[str, Any], memory: AgentMemory, agent: str, points: list[Point],
                 source_cursor: str, now: datetime, events: list[Event]) -> None:
        """Step an agent through its new points (``step_agent``); one event (onto ``events``) per change.

        The agent's parts are copied before they change (the input cursor stays intact) and
        written back whole; its last event is read once and written once.
        """
        own = own_parts(parts.get(agent))
        known = memory.get(agent)
        previous, reason = (known.state, known.reason) if known is not None else (None, None)
        changes = step_agent(own, points, previous, reason, known.millis if known is not None else None)
        parts[agent] = _table(own)
        if not changes:
            return
        text_of, state_changed = self._starts.text_of, self.state_changed
        for at, merged, last in changes:
            occurred = from_millis(at)
            _, _, kind, category, start_ms, _, guid, _, _ = last  # the vendor record: kind[:category]@start[/guid]
            label = f"{kind}:{category}" if category else kind
            events.append(state_changed(
                key=("merged", agent, at, merged.state, merged.reason or ""), agent_id=agent,  # str(state): its value
                state=merged.state, previous=previous, vendor_state=merged.vendor_state,
                reason=merged.reason, occurred_at=occurred, source_cursor=source_cursor, now=now,
                vendor_record_id=f"{label}@{text_of(start_ms)}/{guid}" if guid else f"{label}@{text_of(start_ms)}"))
            previous = merged.state
        memory.set(agent, merged.state, merged.reason, occurred, at)

    def _end_window(self, state: dict[str, Any], position: dict[str, Any], now: datetime,
                    ended: EndedKeys) -> RequestSpec | None:
        """The window is read: move ``up_to`` on; a split (catch-up) window goes straight on."""
        start, end = (parse_iso_utc(position[k], field=f"cursor.next.{k}") for k in ("start", "end"))
        up_to = parse_iso_utc(position["up_to"], field="upTo") if position.get("up_to") else end
        up_to = min(up_to, end)
        caught_up = end >= now - timedelta(seconds=1) or end - start < MAX_WINDOW
        if up_to <= start and not caught_up:
            raise PagingError(self.vendor, f"upTo did not advance past the window start {iso_z(start)}")
        state["up_to"] = iso_z(max(up_to, start))
        state["poll"] = None
        self._prune(state, now, ended)
        if caught_up:
            state["next"] = None
            return None
        state["next"] = self._window(max(up_to, start), now)
        return self._request(state["next"]) if state["next"] else None

    def _prune(self, state: dict[str, Any], now: datetime, ended: EndedKeys) -> None:
        self.prune_dead(state, now)
        up_to_ms = to_millis(parse_iso_utc(state["up_to"], field="cursor.up_to"))
        seen = {k: v for k, v in state["seen"].items() if up_to_ms - v[0] < ONGOING_RETENTION_MS}
        if len(seen) > MAX_SEEN:
            seen = dict(sorted(seen.items(), key=lambda kv: kv[1][0])[-MAX_SEEN:])
        state["seen"] = seen
        ended.prune(up_to_ms - ENDED_RETENTION_MS + 1)
        ended.cap(MAX_SEEN - len(seen))
        memory = AgentMemory(state["agents"])
        memory.prune(now)
        parts = {}
        now_ms = to_millis(now)
        for agent, table in state["parts"].items():
            held = AgentParts(_table(own_parts(table)))
            held.prune(now_ms)
            if agent in state["agents"] or now_ms - held.latest_ms() < ONGOING_RETENTION_MS:
                parts[agent] = held.table
        state["parts"] = parts
