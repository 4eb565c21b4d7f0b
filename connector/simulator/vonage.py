"""Vonage Contact Center Insights Stats ``GET /stats/agent-activities`` (seed 002).

Presence, Interaction and Workload activities rendered from the shared timeline. The stats
pipeline is modelled: every activity is *processed* a little after it starts and again a little
after it ends (when its duration becomes known). The API only knows what has been processed, so
``include=Processed`` re-reports activities when they end, and ``upTo`` (= now minus the longest
processing lag) is the instant up to which the answer is complete.
"""

from __future__ import annotations

import base64
import math
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar

from aiohttp import web

from connector.simulator.base import VendorSimulator, iso_ms, json_response, parse_instant
from connector.simulator.faults import DriftRules
from connector.simulator.model import Interaction, PresenceSpan

__all__ = ["ACCEPT", "VonageSimulator", "presence_category"]

ACCEPT = "application/vnd.newvoicemedia.v3+json"
ACTIVITIES_PATH = "/stats/agent-activities"
TOKEN_PATH = "/Auth/connect/token"
PIPELINE_LAG_MS = 5000
WINDOW_LIMIT = {"message": "Request window size limit exceeded 31 days"}
UNAUTHORIZED = {"message": "Authorization has been denied for this request."}
_INCLUDES = ("Started", "StartedOrEnded", "Processed")
_TYPES = ("Presence", "Interaction", "Workload")
_TYPE_ORDER = {"Presence": 0, "Workload": 1, "Interaction": 2}


def presence_category(span: PresenceSpan) -> tuple[str, str, bool]:
    """(category, name, eligibleForRouting) of a presence span."""
    if span.kind == "ready":
        return "Ready", "Ready", True
    if span.kind == "offline":
        return "LoggedOut", "Logged Out", False
    if span.kind == "pause" and span.reason is not None:
        return ("ExtendedAway" if span.reason.extended else "Away"), span.reason.name, False
    return "Away", "Logging In", False


def _lag(instant: int, salt: int) -> int:
    """A deterministic processing lag between 0.5 s and the pipeline maximum."""
    return 500 + ((instant * 2654435761 + salt * 40503) >> 5) % (PIPELINE_LAG_MS - 500)


@dataclass(frozen=True, slots=True)
class _Activity:
    """One activity plus when the pipeline processed its start and its end."""

    agent_id: str
    type: str
    start: int
    end: int | None
    body: dict[str, Any]
    interaction: Interaction | None = None
    start_processed: int = 0
    end_processed: int | None = None
    completed_at: int | None = None  # when the whole interaction's completion was processed


def _activity(agent_id: str, kind: str, start: int, end: int | None, body: dict[str, Any],
              inter: Interaction | None = None) -> _Activity:
    salt = _TYPE_ORDER[kind]
    return _Activity(agent_id, kind, start, end, body, inter, start + _lag(start, salt),
                     None if end is None else end + _lag(end, salt + 7),
                     None if inter is None else inter.end + _lag(inter.end, 11))


class VonageSimulator(VendorSimulator):
    vendor = "vonage"
    reauth_possible: ClassVar[bool] = True
    drift_rules: ClassVar[DriftRules | None] = DriftRules(
        unknown_fields={"subCategory": "Default", "tenantId": "sim"},
        optional_fields=("channel", "reason", "eligibleForRouting"),
        nullable_fields=("name", "status", "duration"),
        state_field="category",
        unseen_states=("Busy", "Offline", "Monitoring"),
        breaking=("start", "not-a-time"),
    )

    def __init__(self, *args: Any, client_id: str = "sim-vonage-client", client_secret: str = "sim-vonage-secret",
                 static_token: str = "sim-vonage-static-token", token_ttl: float = 3600.0, page_size: int = 100,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.client_id, self.client_secret, self.static_token = client_id, client_secret, static_token
        self.token_ttl, self.page_size = token_ttl, page_size
        self._tokens: dict[str, float] = {static_token: math.inf}  # token -> wall-clock expiry
        self._cache: dict[str, tuple[int, list[_Activity]]] = {}

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(TOKEN_PATH, self.token)
        app.router.add_get(ACTIVITIES_PATH, self.activities)

    def credentials(self) -> dict[str, str]:
        return {"client_id": self.client_id, "client_secret": self.client_secret,
                "token_url": self.base_url + TOKEN_PATH, "access_token": self.static_token}

    def source_config(self, name: str) -> dict[str, Any]:
        return {"name": name, "vendor": self.vendor, "tenant": self.tenant, "base_url": self.base_url,
                "client_id": self.client_id, "client_secret": self.client_secret,
                "token_url": self.base_url + TOKEN_PATH}

    def example_curl(self) -> str:
        start = iso_ms(self.sim.clock.now_ms() - 86_400_000)
        return (f"curl '{self.base_url}{ACTIVITIES_PATH}?start={start}&include=Processed' "
                f"-H 'Authorization: bearer {self.static_token}' -H 'Accept: {ACCEPT}'")

    # --- OAuth2 client credentials (not in seed 002; the connector config supports it) ------

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("basic "):
            decoded = base64.b64decode(header[6:]).decode(errors="replace")
            client_id, _, client_secret = decoded.partition(":")
        if form.get("grant_type") != "client_credentials":
            return json_response({"error": "unsupported_grant_type"}, 400)
        if client_id != self.client_id or client_secret != self.client_secret:
            return json_response({"error": "invalid_client"}, 400)
        token = secrets.token_urlsafe(24)
        self._tokens[token] = time.monotonic() + self.token_ttl
        return json_response({"access_token": token, "expires_in": int(self.token_ttl),
                              "token_type": "Bearer", "scope": "stats"})

    def _authorized(self, request: web.Request) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or self._tokens.get(token, 0.0) < time.monotonic():
            return False
        return self.faults.credential_ok(token, request.path)

    # --- activities -------------------------------------------------------------------------

    def all_activities(self, agent_filter: str | None) -> list[_Activity]:
        centre = self.sim.centre
        found: list[_Activity] = []
        for agent in centre.tenant(self.tenant).agents:
            if agent_filter is not None and agent.agent_id != agent_filter:
                continue
            found.extend(self._agent_activities(agent.agent_id))
        return found

    def _agent_activities(self, agent_id: str) -> list[_Activity]:
        horizon = self.sim.centre.generated_until(self.tenant)
        cached = self._cache.get(agent_id)
        if cached is not None and cached[0] == horizon:
            return cached[1]
        found = []
        for span in self.sim.centre.presence(self.tenant, agent_id):
            category, name, eligible = presence_category(span)
            found.append(_activity(agent_id, "Presence", span.start, span.end, {
                "category": category, "name": name, "eligibleForRouting": eligible}))
        inters = self.sim.centre.interactions(self.tenant, agent_id)
        for inter in inters:
            for phase in inter.phases:
                found.append(_activity(agent_id, "Interaction", phase.start, phase.end,
                                       {"category": phase.category, "reason": phase.reason}, inter))
        found.extend(_workloads(agent_id, inters))
        self._cache[agent_id] = (horizon, found)
        return found

    async def activities(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return json_response(UNAUTHORIZED, self.faults.expired_status(401))
        if ACCEPT not in request.headers.get("Accept", ""):
            return json_response({"message": f"Accept header must be {ACCEPT}"}, 406)
        query = request.query
        now = self.sim.now_ms()
        if "start" not in query:
            return json_response({"message": "The start parameter is required."}, 400)
        start = parse_instant(query.get("start"))
        end = parse_instant(query.get("end")) if "end" in query else self.sim.now()
        if start is None or end is None:
            return json_response({"message": "start and end must be ISO 8601 dates."}, 400)
        if end - start > timedelta(days=31):
            return json_response(WINDOW_LIMIT, 400)
        if end < start:
            return json_response({"message": "end must not be before start."}, 400)
        include = query.get("include", "Started")
        kind = query.get("type")
        if include not in _INCLUDES or (kind is not None and kind not in _TYPES):
            return json_response({"message": "include must be Started, StartedOrEnded or Processed; "
                                             "type must be Presence, Interaction or Workload."}, 400)
        try:
            page = int(query.get("page", "1"))
        except ValueError:
            page = 0
        if page < 1:
            return json_response({"message": "page must be a positive integer."}, 400)
        low, high = round(start.timestamp() * 1000), round(end.timestamp() * 1000)
        self.sim.centre.ensure(high)
        selected = []
        for activity in self.all_activities(query.get("agentId")):
            if kind is not None and activity.type != kind:
                continue
            shown = _select(activity, include, low, high, now)
            if shown is not None:
                selected.append(shown)
        selected.sort(key=lambda pair: (pair[0].start, pair[0].agent_id, _TYPE_ORDER[pair[0].type],
                                        pair[0].end or 0))
        paged = self.page(request, selected, (page - 1) * self.page_size, self.page_size,
                          lambda pair: self.render(pair[0], pair[1], now))
        return json_response({
            "meta": {"page": page, "count": len(paged), "pageCount": math.ceil(len(selected) / self.page_size),
                     "totalCount": len(selected)},
            "items": paged,
            "upTo": iso_ms(min(high, now - PIPELINE_LAG_MS)),
        })

    def render(self, activity: _Activity, known_end: int | None, now: int) -> dict[str, Any]:
        body = activity.body
        inter = activity.interaction
        status = None
        if activity.completed_at is not None:
            status = "Completed" if activity.completed_at <= now else "Ongoing"
        return {
            "agentId": activity.agent_id,
            "type": activity.type,
            "category": body.get("category"),
            "name": body.get("name"),
            "eligibleForRouting": body.get("eligibleForRouting"),
            "start": iso_ms(activity.start),
            "status": status,
            "duration": None if known_end is None else known_end - activity.start,
            "reason": body.get("reason"),
            "interaction": None if inter is None else {
                "guid": inter.guid, "medium": inter.medium, "mediumManager": "VCC", "direction": inter.direction},
            "channel": None if inter is None else {"guid": None},
            "workload": body.get("workload"),
        }


def _select(activity: _Activity, include: str, low: int, high: int, now: int) -> tuple[_Activity, int | None] | None:
    """Whether the API (knowing only what is processed by ``now``) returns it; with its known end."""
    start_processed, end_processed = activity.start_processed, activity.end_processed
    if start_processed > now:
        return None  # the pipeline has not seen it yet
    ended = activity.end is not None and end_processed is not None and end_processed <= now
    known_end = activity.end if ended else None
    if low <= activity.start < high:
        return activity, known_end
    if include in ("StartedOrEnded", "Processed") and known_end is not None and low <= known_end < high:
        return activity, known_end
    if include == "Processed" and (low <= start_processed < high or (
            ended and end_processed is not None and low <= end_processed < high)):
        return activity, known_end
    return None


def _workloads(agent_id: str, inters: list[Interaction]) -> list[_Activity]:
    """A new workload activity whenever the agent starts or stops working on something.

    Calls interrupt semi-live and non-live work, so those counts show 0 during a call (seed 002).
    """
    deltas: dict[int, list[int]] = {}
    column = {"Phone": 0, "Chat": 1, "Email": 2}
    for inter in inters:
        deltas.setdefault(inter.offered, [0, 0, 0])[column[inter.medium]] += 1
        deltas.setdefault(inter.workload_end, [0, 0, 0])[column[inter.medium]] -= 1
    found: list[_Activity] = []
    counts = [0, 0, 0]
    previous = (0, 0, 0)
    for edge in sorted(deltas):
        counts = [c + d for c, d in zip(counts, deltas[edge], strict=True)]
        calls = counts[0]
        shown = (calls, 0, 0) if calls else (0, counts[1], counts[2])
        if shown == previous:
            continue
        previous = shown
        if found:
            last = found[-1]
            found[-1] = _activity(agent_id, "Workload", last.start, edge, last.body)
        found.append(_activity(agent_id, "Workload", edge, None,
                               {"workload": {"calls": shown[0], "semiLive": shown[1], "nonLive": shown[2]}}))
    return found
