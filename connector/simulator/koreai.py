"""Kore.ai SmartAssist ``POST .../agentstatusdetails`` (seed 003): self-reported status intervals.

Times in the response are local to the requested ``timeZoneOffSet``, whose sign is inverted
(minutes *behind* UTC: New York 300, India -330; seed 003 line 50). Logged-out time is a gap
between intervals, as in the sample; the ongoing interval has ``endTime``/``duration`` "-";
durations are ``HH:MM:SS`` with hours past 24 (sample: "32:17:04"), cut to whole seconds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from aiohttp import web

from connector.model import AgentState
from connector.simulator.base import VendorSimulator, hms, json_response
from connector.simulator.faults import DriftRules, apply_drift
from connector.simulator.model import Agent, Segment

__all__ = ["KoreaiSimulator", "koreai_status", "sign_jwt", "verify_jwt"]

PATH = "/agentassist/api/public/analytics/account/{account_id}/agentstatusdetails"
MAX_LIMIT = 50
_INTERVAL_DRIFT = DriftRules(
    unknown_fields={"reasonCode": "R-17", "channel": "chat"},
    optional_fields=("secondaryStatus",),
    nullable_fields=("secondaryStatus", "duration"),
    state_field="primaryStatus",
    unseen_states=("DND", "ON_CALL", "TRAINING"),
    breaking=("startTime", "not-a-time"),
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign_jwt(claims: dict[str, Any], secret: str) -> str:
    """An HS256 JWT, as Kore.ai clients sign with their app's client secret."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(claims).encode())
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def verify_jwt(token: str, secret: str) -> dict[str, Any] | None:
    """The claims of a valid, unexpired HS256 token; None otherwise."""
    try:
        header, payload, signature = token.split(".")
        expected = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(_b64(expected), signature):
            return None
        claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, TypeError):
        return None
    if "exp" in claims and float(claims["exp"]) < time.time():
        return None
    return claims


def koreai_status(segment: Segment) -> tuple[str, str] | None:
    """(primaryStatus, secondaryStatus) of a ground-truth segment; None while logged out."""
    presence = segment.presence
    if segment.state is AgentState.OFFLINE:
        return None
    if segment.state is AgentState.AVAILABLE:
        return "AVAILABLE", "AVAILABLE"
    if segment.state is AgentState.WRAP_UP:
        return "BUSY", "ACW"  # after-conversation work
    if segment.active:
        return "BUSY", "BUSY"
    if presence.kind == "login":
        return "AWAY", "LOGIN"
    code = presence.reason.code if presence.reason else "AWAY"
    return ("BUSY" if segment.state is AgentState.BUSY else "AWAY"), code


def _error(message: str, status: int) -> web.Response:
    return json_response({"errors": [{"msg": message, "code": status}]}, status)


class KoreaiSimulator(VendorSimulator):
    vendor = "koreai"
    reauth_possible: ClassVar[bool] = True
    drift_rules: ClassVar[DriftRules | None] = DriftRules(
        unknown_fields={"role": "agent", "teams": ["t-1"]},
        optional_fields=("customId", "firstName", "lastName"),
        nullable_fields=("firstName", "lastName"),
        state_field=None,
        unseen_states=(),
    )

    def __init__(self, *args: Any, client_id: str = "cs-sim-koreai-client", client_secret: str = "sim-koreai-secret",
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.client_id, self.client_secret = client_id, client_secret
        tenant = self.sim.centre.tenant(self.tenant)
        self.account_id, self.stream_id = tenant.account_id, tenant.stream_id
        self.static_jwt = sign_jwt({"appId": client_id, "sub": "sim-static"}, client_secret)

    @property
    def path(self) -> str:
        return PATH.format(account_id=self.account_id)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(PATH.format(account_id="{account_id}"), self.status_details)

    def credentials(self) -> dict[str, str]:
        return {"account_id": self.account_id, "iId": self.stream_id, "client_id": self.client_id,
                "client_secret": self.client_secret, "jwt": self.static_jwt}

    def source_config(self, name: str) -> dict[str, Any]:
        return {"name": name, "vendor": self.vendor, "tenant": self.tenant, "base_url": self.base_url,
                "account_id": self.account_id, "stream_id": self.stream_id, "client_id": self.client_id,
                "client_secret": self.client_secret,
                "timezone": self.sim.centre.tenant(self.tenant).timezone, "page_size": MAX_LIMIT}

    def example_curl(self) -> str:
        zone = ZoneInfo(self.sim.centre.tenant(self.tenant).timezone)
        day = self.sim.now().astimezone(zone).date().isoformat()
        minutes = -int((self.sim.now().astimezone(zone).utcoffset() or timedelta()).total_seconds() // 60)
        return (f"curl -X POST '{self.base_url}{self.path}?limit=8&offset=0' -H 'auth: {self.static_jwt}' "
                f"-H 'Content-Type: application/json' -H 'iId: {self.stream_id}' "
                f"--data-raw '{{\"filter\":{{\"dateFilter\":{{\"date\":\"{day}\",\"timeZoneOffSet\":{minutes}}}}}}}'")

    def _auth_error(self, request: web.Request) -> web.Response | None:
        token = request.headers.get("auth", "")
        claims = verify_jwt(token, self.client_secret) if token else None
        if claims is None or claims.get("appId") != self.client_id:
            return _error("Invalid or expired token", 401)
        if not self.faults.credential_ok(token, request.path):
            return _error("Invalid or expired token", self.faults.expired_status(401))
        if request.match_info["account_id"] != self.account_id:
            return _error("Account not found", 404)
        if not request.headers.get("iId"):
            return _error("iId header is required", 400)
        if request.headers["iId"] != self.stream_id:
            return _error("You do not have access to this stream", 403)
        return None

    async def status_details(self, request: web.Request) -> web.Response:
        failure = self._auth_error(request)
        if failure is not None:
            return failure
        try:
            body = await request.json()
            date_filter = body["filter"]["dateFilter"]
            offset_minutes = int(float(date_filter["timeZoneOffSet"]))
            # the sample request sends "date"; the parameter table says startDate / endDate
            first = date.fromisoformat(date_filter.get("startDate") or date_filter["date"])
            last = date.fromisoformat(date_filter.get("endDate") or date_filter.get("date") or first.isoformat())
        except (ValueError, KeyError, TypeError, AttributeError):
            return _error("filter.dateFilter needs startDate and endDate (or date) as yyyy-mm-dd, "
                          "and timeZoneOffSet in minutes", 400)
        agents_filter = body["filter"].get("agents")
        if isinstance(agents_filter, str):
            agents_filter = [a for a in agents_filter.split(",") if a.strip()]
        wanted = {str(a).strip().lower() for a in agents_filter} if agents_filter else None
        try:
            limit = min(int(request.query.get("limit", MAX_LIMIT)), MAX_LIMIT)
            offset = max(int(request.query.get("offset", 0)), 0)
        except ValueError:
            return _error("limit and offset must be numbers", 400)
        limit = MAX_LIMIT if limit <= 0 else limit
        shift = timedelta(minutes=-offset_minutes)  # local = UTC - offset
        low = int((datetime(first.year, first.month, first.day, tzinfo=UTC) - shift).timestamp() * 1000)
        high = int((datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1) - shift)
                   .timestamp() * 1000)
        now = self.sim.now_ms()
        agents = [a for a in self.sim.centre.tenant(self.tenant).agents
                  if wanted is None or a.email.lower() in wanted]
        records = [self.agent_record(a, low, high, now, shift) for a in agents]
        page = self.page(request, records, offset, limit)
        for fault in self.request_faults(request):
            if fault.kind == "schema_drift":
                for record in page:
                    apply_drift(record.get("status", []), fault.variant, _INTERVAL_DRIFT, fault.corrupted)
        return json_response({"hasMore": offset + limit < len(records), "limit": limit, "offset": offset,
                              "data": page})

    def intervals(self, agent: Agent, low: int, high: int, now: int) -> list[tuple[int, int | None, str, str]]:
        """(start, end or None if ongoing, primary, secondary) overlapping [low, high), seen by ``now``."""
        self.sim.centre.ensure(max(high, now))
        found: list[tuple[int, int | None, str, str, int]] = []
        for segment in self.sim.centre.segments(self.tenant, agent.agent_id):
            if segment.start > now:
                break
            status = koreai_status(segment)
            if status is None:
                continue
            end = segment.end if segment.end is not None and segment.end <= now else None
            last = found[-1] if found else None
            if last and last[1] == segment.start and last[2:4] == status and last[4] == segment.presence.seq:
                found[-1] = (last[0], end, *status, segment.presence.seq)
            else:
                found.append((segment.start, end, *status, segment.presence.seq))
        return [(s, e, p, q) for s, e, p, q, _ in found if s < high and (e is None or e > low)]

    def agent_record(self, agent: Agent, low: int, high: int, now: int, shift: timedelta) -> dict[str, Any]:
        record: dict[str, Any] = {"userId": agent.agent_id, "firstName": agent.first_name,
                                  "lastName": agent.last_name, "email": agent.email}
        if agent.custom_id is not None:
            record["customId"] = agent.custom_id
        statuses = []
        for start, end, primary, secondary in self.intervals(agent, low, high, now):
            statuses.append({
                "primaryStatus": primary,
                "secondaryStatus": secondary,
                "startTime": _local(start, shift),
                "endTime": "-" if end is None else _local(end, shift),
                "duration": "-" if end is None else hms(end - start),
            })
        if statuses:  # agents without status in the window have no "status" key (sample)
            record["status"] = statuses
        return record


def _local(millis: int, shift: timedelta) -> str:
    moment = datetime.fromtimestamp(millis // 1000, tz=UTC) + shift
    return moment.strftime("%Y-%m-%dT%H:%M:%S")
