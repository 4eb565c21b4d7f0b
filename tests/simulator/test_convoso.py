"""Convoso agent-productivity (seed 000) and user-activity (seed 001) against their documents."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import httpx

from connector.simulator import Simulation, SimulatorCluster
from connector.simulator.model import TenantSpec
from connector.simulator.simulation import DEFAULT_START

from .helpers import convoso_entries, local_day
from .seed_examples import CONVOSO_PRODUCTIVITY, CONVOSO_USER_ACTIVITY, assert_like, shape

PRODUCTIVITY = "/v1/agent-productivity/search"
TOKEN = "sim-convoso-token"


async def test_documented_example_request(cluster: SimulatorCluster, http: httpx.AsyncClient) -> None:
    # seed 000 line 19, verbatim apart from the host
    url = (cluster.base_url("convoso-productivity") + PRODUCTIVITY + f"?auth_token={TOKEN}&date_start=2025-05-01"
           "&date_end=2025-05-28&campaign_id=1234&agent_emails=agent@example.com&offset=0&limit=10")
    body = (await http.get(url)).json()
    assert body == {"success": True, "data": {"offset": 0, "limit": "10", "total": "0", "entries": []}}


async def test_entries_have_the_example_shape(sim: Simulation, cluster: SimulatorCluster,
                                              http: httpx.AsyncClient) -> None:
    tenant = sim.centre.tenant(cluster.tenant("convoso-productivity"))
    agent = tenant.agents[0]
    response = await http.get(cluster.base_url("convoso-productivity") + PRODUCTIVITY, params={
        "auth_token": TOKEN, "date_start": "2025-05-26", "date_end": "2025-05-28",
        "agent_emails": f"{agent.email}, nobody@example.com", "offset": 0, "limit": 10})
    body = response.json()
    assert shape(body) == shape(CONVOSO_PRODUCTIVITY)
    assert int(body["data"]["total"]) > 10 and len(body["data"]["entries"]) == 10
    for entry in body["data"]["entries"]:
        assert_like(entry, CONVOSO_PRODUCTIVITY["data"]["entries"][0])  # type: ignore[index]
        assert entry["user_id"] == agent.agent_id
        assert entry["state"] in ("LOGIN", "Ready", "NotReady", "LogOut")
    states = {e["state"]: e for e in await convoso_entries(http, cluster, date(2025, 5, 26), date(2025, 5, 28))}
    assert set(states) == {"LOGIN", "Ready", "NotReady", "LogOut"}
    login = states["LOGIN"]
    assert (login["availability_code"], login["availability_name"], login["availability_code_name"]) == (
        "1", "Login", "")


async def test_created_at_is_account_local_time_across_dst(http: httpx.AsyncClient) -> None:
    # America/Los_Angeles switched to PDT on 2025-03-09: UTC-8 before, UTC-7 after
    sim = Simulation(seed=3, start=datetime.fromisoformat("2025-03-10T20:00:00+00:00"), history_days=4)
    async with SimulatorCluster(sim, ["convoso-productivity"]) as cluster:
        entries = await convoso_entries(http, cluster, date(2025, 3, 7), date(2025, 3, 10))
    offsets = set()
    zone = ZoneInfo("America/Los_Angeles")
    for entry in entries:
        local = datetime.fromisoformat(entry["created_at"]).replace(tzinfo=zone)
        assert int(local.timestamp()) == int(entry["event_epoch"])
        offsets.add(local.utcoffset())
        assert date(2025, 3, 7) <= local.date() <= date(2025, 3, 10)  # date_start/date_end are local days
    assert len(offsets) == 2


async def test_paging_limit_cap_and_total(http: httpx.AsyncClient) -> None:
    big = TenantSpec("big-convoso", "convoso", "America/Los_Angeles", agents=60, login_settle_seconds=(2.0, 6.0))
    sim = Simulation(seed=5, tenants=[big], history_days=3)
    async with SimulatorCluster(sim, ["convoso-productivity"], tenants={"convoso-productivity": big.name}) as cluster:
        url = cluster.base_url("convoso-productivity") + PRODUCTIVITY
        params = {"auth_token": TOKEN, "date_start": "2025-05-25", "date_end": "2025-05-28"}
        capped = (await http.get(url, params={**params, "limit": 5000})).json()["data"]
        assert capped["limit"] == "1000" and isinstance(capped["total"], str)
        total = int(capped["total"])
        assert total > 1000  # so the cap is visible
        assert len(capped["entries"]) == 1000
        default = (await http.get(url, params=params)).json()["data"]
        assert default["limit"] == "1000" and len(default["entries"]) == 1000
        tail = (await http.get(url, params={**params, "offset": total - 3})).json()["data"]
        assert tail["offset"] == total - 3 and len(tail["entries"]) == 3
        pages = await convoso_entries(http, cluster, date(2025, 5, 25), date(2025, 5, 28), limit=777)
    ids = [e["id"] for e in pages]
    assert len(ids) == total == len(set(ids))
    assert ids == sorted(ids, key=int)  # time-ordered ids, like a database's
    epochs = [int(e["event_epoch"]) for e in pages]
    assert epochs == sorted(epochs)


async def test_campaign_filter_and_default_dates(sim: Simulation, cluster: SimulatorCluster,
                                                 http: httpx.AsyncClient) -> None:
    tenant = sim.centre.tenant(cluster.tenant("convoso-productivity"))
    campaign = tenant.campaigns[0].campaign_id
    url = cluster.base_url("convoso-productivity") + PRODUCTIVITY
    only = (await http.get(url, params={"auth_token": TOKEN, "date_start": "2025-05-27",
                                        "campaign_id": campaign})).json()["data"]["entries"]
    assert only and {e["campaign_id"] for e in only} == {campaign}
    today = (await http.get(url, params={"auth_token": TOKEN})).json()["data"]["entries"]
    assert {e["created_at"][:10] for e in today} == {local_day(sim.now_ms(), tenant.timezone).isoformat()}
    assert all(int(e["event_epoch"]) * 1000 <= sim.now_ms() for e in today)  # nothing from the future


async def test_productivity_rejects_bad_token(cluster: SimulatorCluster, http: httpx.AsyncClient) -> None:
    url = cluster.base_url("convoso-productivity") + PRODUCTIVITY
    for params in ({}, {"auth_token": "wrong"}):
        body = (await http.get(url, params=params)).json()
        assert body == {"success": False, "error": "Invalid authentication token"}


async def test_user_activity_documented_requests(sim: Simulation, cluster: SimulatorCluster,
                                                 http: httpx.AsyncClient) -> None:
    base = cluster.base_url("convoso-user-activity")
    # seed 001 lines 93-101: form bodies; campaign 111 / queue 222 / user 12345 do not exist -> zeros
    for form in ("auth_token=abc123", f"auth_token={TOKEN}", f"auth_token={TOKEN}&campaign_id=111",
                 f"auth_token={TOKEN}&queue_id=222&filter_by_skill_options=english,sales",
                 f"auth_token={TOKEN}&user_id=12345"):
        response = await http.post(base + "/v1/user-activity/search", content=form,
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
        body = response.json()
        if "abc123" in form:
            assert body == {"success": False, "error": "Invalid authentication token"}
            continue
        assert shape(body) == shape(CONVOSO_USER_ACTIVITY)
        if "campaign_id=111" in form or "user_id=12345" in form:
            assert body["data"] == {"available_agents": 0, "logged_in_agents": 0}
    truth = sim.truth.counts(cluster.tenant("convoso-user-activity"), sim.now_ms())
    assert truth.logged_in > 0
    # "Filtering Examples" put the parameters in the query string of a POST, and the path has no /v1
    body = (await http.post(base + f"/user-activity/search?auth_token={TOKEN}")).json()
    assert body["data"] == {"available_agents": truth.available, "logged_in_agents": truth.logged_in}
    body = (await http.post(base + "/v1/user-activity/search", json={"auth_token": TOKEN})).json()
    assert body["data"]["logged_in_agents"] == truth.logged_in


async def test_user_activity_error_codes(cluster: SimulatorCluster, http: httpx.AsyncClient) -> None:
    url = cluster.base_url("convoso-user-activity") + "/v1/user-activity/search"
    cases = {"campaign_id": (6026, "Invalid campaign ID"), "queue_id": (6041, "Invalid queue ID"),
             "user_id": (6006, "Invalid user ID")}
    for field, (code, message) in cases.items():
        body = (await http.post(url, data={"auth_token": TOKEN, field: "abc"})).json()
        assert body == {"success": False, "code": code, "error": message}


def test_account_zone_matches_the_example() -> None:
    # seed 000: event_epoch 1748433437 is created_at 2025-05-28 04:57:17 -> America/Los_Angeles
    local = datetime.fromtimestamp(1748433437, tz=ZoneInfo(Simulation().centre.tenant("demo-convoso").timezone))
    assert local.strftime("%Y-%m-%d %H:%M:%S") == "2025-05-28 04:57:17"
    assert DEFAULT_START.date() == date(2025, 5, 28)
