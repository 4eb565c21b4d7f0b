"""Convoso: agent-productivity search (seed 000) and user-activity search (seed 001).

Both serve the same account (tenant), whose zone is America/Los_Angeles by default: the
productivity example's ``event_epoch`` 1748433437 is ``created_at`` 04:57:17, i.e. UTC-7.
Productivity entries are presence records only (Login, Ready, NotReady, LogOut: seed 000
line 63); calls do not appear there, while user-activity counts agents on calls as not available.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from aiohttp import web

from connector.simulator.base import VendorSimulator, hms, json_response
from connector.simulator.faults import DriftRules
from connector.simulator.model import Agent, PresenceSpan, Tenant

__all__ = ["ConvosoProductivitySimulator", "ConvosoUserActivitySimulator", "convoso_state"]

DEFAULT_TOKEN = "sim-convoso-token"
PRODUCTIVITY_PATH = "/v1/agent-productivity/search"
USER_ACTIVITY_PATHS = ("/v1/user-activity/search", "/user-activity/search")
INVALID_TOKEN = {"success": False, "error": "Invalid authentication token"}
_DIGITS = re.compile(r"^\d+$")

#: Presence kind -> (state, availability_code, availability_name). LOGIN is spelled as in the
#: example (line 31); the others as in the field table (line 63).
_STATES = {"login": "LOGIN", "ready": "Ready", "pause": "NotReady", "offline": "LogOut"}


def convoso_state(span: PresenceSpan) -> tuple[str, str, str, str]:
    """(state, availability_code, availability_name, availability_code_name) of a presence span."""
    if span.kind == "login":
        return "LOGIN", "1", "Login", ""
    if span.kind == "pause" and span.reason is not None:
        return "NotReady", span.reason.code, span.reason.name, span.reason.description
    if span.kind == "ready":
        return "Ready", "", "Ready", ""
    return "LogOut", "", "Logout", ""


class _ConvosoBase(VendorSimulator):
    def __init__(self, *args: Any, auth_token: str = DEFAULT_TOKEN, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.auth_token = auth_token

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.sim.centre.tenant(self.tenant).timezone)

    def credentials(self) -> dict[str, str]:
        return {"auth_token": self.auth_token}

    def auth_failure(self, token: str | None, path: str) -> web.Response | None:
        if token != self.auth_token:
            return json_response(INVALID_TOKEN)
        if not self.faults.credential_ok(token, path):
            return json_response(INVALID_TOKEN, self.faults.expired_status(401))
        return None


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text not in (None, "") else default  # type: ignore[arg-type]
    except ValueError:
        return default


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


class ConvosoProductivitySimulator(_ConvosoBase):
    """``GET /v1/agent-productivity/search``: one entry per agent state event, offset/limit paged."""

    vendor = "convoso-productivity"
    drift_rules: ClassVar[DriftRules | None] = DriftRules(
        unknown_fields={"queue_id": "222", "agent_extension": "7001"},
        optional_fields=("browser", "ip_address", "availability_code_name", "campaign_uid", "user_uid"),
        nullable_fields=("campaign_name", "event_sec", "availability_code", "campaign_id"),
        state_field="state",
        unseen_states=("PAUSED", "INCALL", "Dispo"),
        breaking=("event_epoch", "not-a-time"),
    )

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(PRODUCTIVITY_PATH, self.search)

    def source_config(self, name: str) -> dict[str, Any]:
        return {"name": name, "vendor": self.vendor, "tenant": self.tenant, "base_url": self.base_url,
                "auth_token": self.auth_token, "account_timezone": str(self.zone), "page_size": 1000}

    def example_curl(self) -> str:
        today = self.sim.now().astimezone(self.zone).date().isoformat()
        return (f"curl '{self.base_url}{PRODUCTIVITY_PATH}?auth_token={self.auth_token}"
                f"&date_start={today}&date_end={today}&offset=0&limit=10'")

    def entries(self, day_start: date, day_end: date, campaign_id: str | None,
                emails: set[str] | None) -> list[dict[str, Any]]:
        """Every visible entry whose event falls on [day_start, day_end] in the account zone, by id."""
        now = self.sim.now_ms()
        tenant = self.sim.centre.tenant(self.tenant)
        zone = self.zone
        low = datetime.combine(day_start, time(), zone).timestamp() * 1000
        high = datetime.combine(day_end + timedelta(days=1), time(), zone).timestamp() * 1000
        found: list[tuple[int, dict[str, Any]]] = []
        for agent in tenant.agents:
            if emails is not None and agent.email.lower() not in emails:
                continue
            for span in self.sim.centre.presence(self.tenant, agent.agent_id):
                if span.record_id == 0 or not (low <= span.start < high) or span.start > now:
                    continue
                if campaign_id is not None and span.campaign_id != campaign_id:
                    continue
                found.append((span.record_id, self.entry(tenant, agent, span, now)))
        return [entry for _, entry in sorted(found, key=lambda pair: pair[0])]

    def entry(self, tenant: Tenant, agent: Agent, span: PresenceSpan, now: int) -> dict[str, Any]:
        state, code, name, code_name = convoso_state(span)
        campaign = next((c for c in tenant.campaigns if c.campaign_id == span.campaign_id), None)
        if span.kind == "offline":
            seconds = hms(0)  # logging out is an instant
        else:
            end = span.end if span.end is not None and span.end <= now else now
            seconds = hms(end - span.start)
        local = datetime.fromtimestamp(span.start // 1000, tz=self.zone)
        return {
            "id": str(span.record_id),
            "user_id": agent.agent_id,
            "state": state,
            "availability_code": code,
            "campaign_id": span.campaign_id or "",
            "event_epoch": str(span.start // 1000),
            "event_sec": seconds,
            "created_at": local.strftime("%Y-%m-%d %H:%M:%S"),
            "browser": agent.browser,
            "ip_address": agent.ip_address,
            "user_uid": agent.uid,
            "user_name": agent.name,
            "availability_code_name": code_name,
            "campaign_uid": campaign.uid if campaign else "",
            "campaign_name": campaign.name if campaign else "",
            "campaign_type": campaign.type if campaign else "",
            "availability_name": name,
        }

    async def search(self, request: web.Request) -> web.Response:
        query = request.query
        failure = self.auth_failure(query.get("auth_token"), request.path)
        if failure is not None:
            return failure
        today = self.sim.now().astimezone(self.zone).date()
        for key in ("date_start", "date_end"):
            if query.get(key) and _day(query.get(key)) is None:
                return json_response({"success": False, "error": f"Invalid {key}, expected YYYY-MM-DD"})
        start = _day(query.get("date_start"))
        end = _day(query.get("date_end"))
        if start is None:
            start = end or today  # only date_end: that one day; neither: today
        if end is None:
            end = max(start, today)  # only date_start: from then through today
        emails_text = query.get("agent_emails")
        emails = {e.strip().lower() for e in emails_text.split(",") if e.strip()} if emails_text else None
        entries = self.entries(start, end, query.get("campaign_id") or None, emails)
        offset = max(0, _int(query.get("offset"), 0))
        limit = _int(query.get("limit"), 1000)
        limit = 1000 if limit <= 0 else min(limit, 1000)
        page = self.page(request, entries, offset, limit)
        return json_response({"success": True, "data": {
            "offset": offset, "limit": str(limit), "total": str(len(entries)), "entries": page}})


class ConvosoUserActivitySimulator(_ConvosoBase):
    """``POST /v1/user-activity/search``: point-in-time available / logged-in counts."""

    vendor = "convoso-user-activity"
    drift_rules: ClassVar[DriftRules | None] = DriftRules(
        unknown_fields={"paused_agents": 0, "on_call_agents": 0},
        optional_fields=("logged_in_agents",),
        nullable_fields=("available_agents",),
        state_field=None,
        unseen_states=(),
    )

    def add_routes(self, app: web.Application) -> None:
        for path in USER_ACTIVITY_PATHS:
            app.router.add_post(path, self.search)

    def source_config(self, name: str) -> dict[str, Any]:
        tenant = self.sim.centre.tenant(self.tenant)
        return {"name": name, "vendor": self.vendor, "tenant": self.tenant, "base_url": self.base_url,
                "auth_token": self.auth_token,
                "filters": [{}, {"campaign_id": tenant.campaigns[0].campaign_id},
                            {"queue_id": tenant.queues[0].queue_id}, {"skills": ["english", "sales"]}]}

    def example_curl(self) -> str:
        return f"curl -X POST '{self.base_url}{USER_ACTIVITY_PATHS[0]}' -d 'auth_token={self.auth_token}'"

    async def search(self, request: web.Request) -> web.Response:
        params: dict[str, str] = dict(request.query)
        if request.content_type == "application/json":
            body = await request.json() if request.can_read_body else {}
            params.update({k: str(v) for k, v in (body or {}).items() if v is not None})
        else:
            params.update({k: str(v) for k, v in (await request.post()).items()})
        failure = self.auth_failure(params.get("auth_token"), request.path)
        if failure is not None:
            return failure
        checks = (("campaign_id", 6026, "Invalid campaign ID"), ("queue_id", 6041, "Invalid queue ID"),
                  ("user_id", 6006, "Invalid user ID"))
        for key, code, message in checks:
            value = params.get(key)
            if value not in (None, "") and not _DIGITS.match(value):
                return json_response({"success": False, "code": code, "error": message})
        skills = [s for s in params.get("filter_by_skill_options", "").split(",") if s.strip()]
        counts = self.sim.truth.counts(
            self.tenant, self.sim.now_ms(), campaign_id=params.get("campaign_id") or None,
            queue_id=params.get("queue_id") or None, user_id=params.get("user_id") or None, skills=skills)
        data = self.drift(request, [{"available_agents": counts.available, "logged_in_agents": counts.logged_in}])
        return json_response({"success": True, "data": data[0]})
