"""Bearer tokens: refreshed a margin before they expire, and renewed inside a retry loop after a 401."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

from connector.runtime.auth import AuthSession
from connector.runtime.http import RetryPolicy, SourceHttp
from connector.runtime.metrics import SourceMetrics
from connector.sources import make_stream
from connector.sources.base import RequestSpec
from connector.sources.koreai import KoreaiSource
from connector.sources.vonage import VonageSource
from tests.runtime.conftest import AppServer


@pytest.fixture
async def vonage_like(app_server: AppServer) -> tuple[str, dict[str, Any]]:
    """Issues tokens valid 120 s; the stats endpoint accepts only the newest one."""
    state: dict[str, Any] = {"issued": [], "seen": []}

    async def token(request: web.Request) -> web.Response:
        form = await request.post()
        assert form["grant_type"] == "client_credentials" and form["client_secret"] == "the-secret"
        state["issued"].append(f"token-{len(state['issued']) + 1}")
        return web.json_response({"access_token": state["issued"][-1], "expires_in": 120, "token_type": "Bearer"})

    async def stats(request: web.Request) -> web.Response:
        presented = request.headers["Authorization"].split(" ", 1)[1]
        state["seen"].append(presented)
        if presented != state["issued"][-1] or state.get("revoke"):
            state["revoke"] = False
            return web.json_response({"message": "Unauthorized"}, status=401)
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/Auth/connect/token", token)
    app.router.add_get("/stats/agent-activities", stats)
    return await app_server(app), state


async def test_token_refreshed_before_expiry_and_after_401(vonage_like: tuple[str, dict[str, Any]]) -> None:
    url, state = vonage_like
    settings = VonageSource(vendor="vonage", name="v", tenant="t", base_url=url, client_id="c",
                            client_secret="the-secret", token_url=f"{url}/Auth/connect/token")
    stream = make_stream(settings)
    http = SourceHttp("v", url, timeout=2, max_concurrency=1, requests_per_second=100,
                      retry=RetryPolicy(max_retries=1, base_delay=0.01), metrics=SourceMetrics())
    now = {"t": datetime(2026, 1, 1, tzinfo=UTC)}
    auth = AuthSession(stream, http, clock=lambda: now["t"], refresh_margin=60)
    spec = RequestSpec("GET", "/stats/agent-activities")

    async def fetch() -> Any:
        return await http.fetch_json(lambda: auth.build(spec), auth.reauthenticate)

    assert await fetch() == {"ok": True} and state["issued"] == ["token-1"]
    now["t"] += timedelta(seconds=59)  # 61 s of life left: still used
    assert await fetch() == {"ok": True} and state["issued"] == ["token-1"]
    now["t"] += timedelta(seconds=2)  # 59 s left, inside the margin: renewed before it can expire mid-request
    assert await fetch() == {"ok": True} and state["issued"] == ["token-1", "token-2"]
    state["revoke"] = True  # the vendor drops the token early: a 401, a new token, the same call succeeds
    assert await fetch() == {"ok": True}
    assert state["issued"] == ["token-1", "token-2", "token-3"]
    assert state["seen"][-2:] == ["token-2", "token-3"]
    assert auth.token_fetches == 3
    await http.close()


async def test_koreai_jwt_reused_across_requests_and_signed_anew_after_a_401(app_server: AppServer) -> None:
    """One JWT for every request while it is valid; a 401 makes the very next attempt carry a new one."""
    seen: list[str] = []
    reject = {"next": False}

    async def statuses(request: web.Request) -> web.Response:
        seen.append(request.headers["auth"])
        if reject["next"]:
            reject["next"] = False
            return web.json_response({"message": "token expired"}, status=401)
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/agentassist/api/public/analytics/account/acc/agentstatusdetails", statuses)
    url = await app_server(app)
    settings = KoreaiSource(vendor="koreai", name="k", tenant="t", base_url=url, account_id="acc", stream_id="st",
                            client_id="cs", client_secret="the-secret", timezone="UTC")
    stream = make_stream(settings)
    http = SourceHttp("k", url, timeout=2, max_concurrency=1, requests_per_second=100,
                      retry=RetryPolicy(max_retries=1, base_delay=0.01), metrics=SourceMetrics())
    now = {"t": datetime(2026, 1, 1, tzinfo=UTC)}
    auth = AuthSession(stream, http, clock=lambda: now["t"])
    spec = RequestSpec("POST", "/agentassist/api/public/analytics/account/acc/agentstatusdetails", json_body={})
    try:
        for _ in range(3):
            assert await http.fetch_json(lambda: auth.build(spec), auth.reauthenticate) == {"ok": True}
            now["t"] += timedelta(seconds=1)
        assert len(set(seen)) == 1  # signed once, reused
        reject["next"] = True
        assert await http.fetch_json(lambda: auth.build(spec), auth.reauthenticate) == {"ok": True}
        assert seen[-2] == seen[0] and seen[-1] != seen[0]  # the retry after the 401 carried a new JWT
    finally:
        await http.close()
