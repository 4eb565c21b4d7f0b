"""Rocket.Chat ``GET /api/v1/livechat/analytics/dashboards/conversations-by-agent`` (seed 004).

Counts conversations created in [start, end] per agent label (name, else username, else id),
plus a bot ("Dialog Bot") and ``unspecified`` for conversations nobody served. ``total`` is the
sum of the values and excludes ``unspecified``, as in the example (values sum to 51; unspecified 9).
"""

from __future__ import annotations

from typing import Any, ClassVar

from aiohttp import web

from connector.simulator.base import VendorSimulator, iso_ms, json_response, parse_instant
from connector.simulator.faults import DriftRules

__all__ = ["RocketchatSimulator"]

PATH = "/api/v1/livechat/analytics/dashboards/conversations-by-agent"
UNAUTHORIZED = {"status": "error", "message": "You must be logged in to do this."}
FORBIDDEN = {"success": False, "error": "User does not have the permissions required for this action "
                                        "[error-unauthorized]"}
UNLICENSED = {"success": False, "error": "unauthorized"}


def _missing(name: str) -> dict[str, Any]:
    return {"success": False, "error": f"must have required property '{name}' [invalid-params]",
            "errorType": "invalid-params"}


def _invalid(name: str) -> dict[str, Any]:
    return {"success": False, "error": f'The "{name}" query parameter must be a valid date.'}


class RocketchatSimulator(VendorSimulator):
    vendor = "rocketchat"
    drift_rules: ClassVar[DriftRules | None] = DriftRules(
        unknown_fields={"_id": "sim", "percentage": 0.0},
        optional_fields=(),
        nullable_fields=("label",),
        state_field=None,
        unseen_states=(),
    )

    def __init__(self, *args: Any, user_id: str = "rbAXPnMktTFbNpwtJ",
                 auth_token: str = "sim-rocketchat-token", viewer_user_id: str = "viewerNoPermsXyz1",
                 viewer_token: str = "sim-rocketchat-no-permission", licensed: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user_id, self.auth_token = user_id, auth_token
        self.viewer_user_id, self.viewer_token = viewer_user_id, viewer_token
        self.licensed = licensed  # the endpoint is Premium: without a licence every caller gets 403

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(PATH, self.conversations_by_agent)

    def credentials(self) -> dict[str, str]:
        return {"X-User-Id": self.user_id, "X-Auth-Token": self.auth_token,
                "no_permission_user_id": self.viewer_user_id, "no_permission_token": self.viewer_token}

    def source_config(self, name: str) -> dict[str, Any]:
        return {"name": name, "vendor": self.vendor, "tenant": self.tenant, "base_url": self.base_url,
                "user_id": self.user_id, "auth_token": self.auth_token, "window_seconds": 300.0}

    def example_curl(self) -> str:
        now = self.sim.clock.now_ms()
        return (f"curl '{self.base_url}{PATH}?start={iso_ms(now - 86_400_000)}&end={iso_ms(now)}' "
                f"-H 'X-User-Id: {self.user_id}' -H 'X-Auth-Token: {self.auth_token}'")

    async def conversations_by_agent(self, request: web.Request) -> web.Response:
        user, token = request.headers.get("X-User-Id"), request.headers.get("X-Auth-Token")
        known = {(self.user_id, self.auth_token), (self.viewer_user_id, self.viewer_token)}
        if (user, token) not in known:
            return json_response(UNAUTHORIZED, 401)
        if not self.faults.credential_ok(f"{user}:{token}", request.path):
            return json_response(UNAUTHORIZED, self.faults.expired_status(401))
        if not self.licensed:
            return json_response(UNLICENSED, 403)
        if user == self.viewer_user_id:
            return json_response(FORBIDDEN, 403)
        query = request.query
        for name in ("start", "end"):
            if name not in query:
                return json_response(_missing(name), 400)
            if parse_instant(query[name]) is None:
                return json_response(_invalid(name), 400)
        start, end = parse_instant(query["start"]), parse_instant(query["end"])
        assert start is not None and end is not None
        now = self.sim.now_ms()
        end_ms = min(round(end.timestamp() * 1000), now)  # nothing after now exists yet
        counts = self.sim.truth.conversations_by_agent(self.tenant, round(start.timestamp() * 1000), end_ms)
        data = [{"label": label, "value": value} for label, value in counts.by_label.items()]
        data = self.drift(request, data)
        return json_response({"total": counts.total, "data": data, "unspecified": counts.unspecified,
                              "success": True})
