"""Kore.ai agentstatusdetails (seed 003): shape, JWT + iId auth, limit 50, inverted offsets, '-' and >24 h."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

import httpx

from connector.simulator import Simulation, SimulatorCluster
from connector.simulator.koreai import KoreaiSimulator, sign_jwt
from connector.simulator.model import TenantSpec

from .helpers import koreai_agents, koreai_body, koreai_headers, koreai_local_ms
from .seed_examples import KOREAI_RESPONSE, assert_like, shape


def _koreai(cluster: SimulatorCluster) -> tuple[KoreaiSimulator, str]:
    simulator = cluster["koreai"]
    assert isinstance(simulator, KoreaiSimulator)
    return simulator, cluster.base_url("koreai") + simulator.path


async def test_sample_request_shape(cluster: SimulatorCluster, http: httpx.AsyncClient) -> None:
    simulator, url = _koreai(cluster)
    # seed 003 lines 23-34: limit=8&offset=0, body with "date" and timeZoneOffSet -330
    response = await http.post(url + "?limit=8&offset=0", headers=koreai_headers(simulator),
                               content=b'{"filter":{"dateFilter":{"date": "2025-05-28","timeZoneOffSet" : -330}}}')
    assert response.status_code == 200
    body = response.json()
    assert (body["limit"], body["offset"], body["hasMore"]) == (8, 0, True)
    assert len(body["data"]) == 8
    assert shape({k: v for k, v in body.items() if k != "data"}) == shape(
        {k: v for k, v in KOREAI_RESPONSE.items() if k != "data"})
    plain, detailed = KOREAI_RESPONSE["data"]
    with_status = [a for a in body["data"] if "status" in a]
    without = [a for a in body["data"] if "status" not in a]
    assert with_status and without  # agents with nothing in the window have no "status" key
    for agent in body["data"]:
        assert agent["userId"].startswith("u-")
        expected = {k: v for k, v in detailed.items() if k in agent or k not in ("customId", "status")}
        assert_like(agent, expected if "customId" in agent or "status" in agent else plain)
        for interval in agent.get("status", []):
            assert_like(interval, detailed["status"][0])
    assert any(a["firstName"] == "" and a["lastName"] == "" for a in body["data"])


async def test_start_end_dates_equal_sample_date(cluster: SimulatorCluster, http: httpx.AsyncClient) -> None:
    legacy = await koreai_agents(http, cluster, koreai_body(date(2025, 5, 27), 300, legacy=True))
    table = await koreai_agents(http, cluster, koreai_body(date(2025, 5, 27), 300))
    assert legacy == table and any("status" in a for a in table)
    two_days = await koreai_agents(http, cluster, koreai_body(date(2025, 5, 26), 300, last=date(2025, 5, 27)))
    assert sum(len(a.get("status", [])) for a in two_days) > sum(len(a.get("status", [])) for a in table)


async def test_limit_is_capped_at_50_and_pages_by_agent(http: httpx.AsyncClient) -> None:
    sim = Simulation(seed=2, tenants=[TenantSpec("many", "koreai", "Asia/Kolkata", agents=60)], history_days=1)
    async with SimulatorCluster(sim, ["koreai"], tenants={"koreai": "many"}) as cluster:
        simulator, url = _koreai(cluster)
        body = koreai_body(date(2025, 5, 28), -330)
        first = (await http.post(url, params={"limit": 200}, json=body, headers=koreai_headers(simulator))).json()
        assert (first["limit"], len(first["data"]), first["hasMore"]) == (50, 50, True)
        rest = (await http.post(url, params={"limit": 50, "offset": 50}, json=body,
                                headers=koreai_headers(simulator))).json()
        assert (len(rest["data"]), rest["hasMore"], rest["offset"]) == (10, False, 50)
        everyone = await koreai_agents(http, cluster, body, limit=7)
        assert len({a["userId"] for a in everyone}) == 60
        emails = [sim.centre.tenant("many").agents[i].email for i in (3, 9)]
        chosen = await koreai_agents(http, cluster, koreai_body(date(2025, 5, 28), -330, agents=emails))
        assert [a["email"] for a in chosen] == emails


async def test_offset_sign_is_inverted(sim: Simulation, cluster: SimulatorCluster, http: httpx.AsyncClient) -> None:
    india = await koreai_agents(http, cluster, koreai_body(date(2025, 5, 28), -330))
    new_york = await koreai_agents(http, cluster, koreai_body(date(2025, 5, 28), 300))
    pairs = 0
    for a, b in zip(india, new_york, strict=True):
        starts_a = {koreai_local_ms(i["startTime"], -330) for i in a.get("status", [])}
        starts_b = {koreai_local_ms(i["startTime"], 300) for i in b.get("status", [])}
        common = starts_a & starts_b
        pairs += len(common)
    assert pairs > 20  # the same instants, written 10.5 hours apart
    tenant = cluster.tenant("koreai")
    agent = sim.centre.tenant(tenant).agents[0].agent_id
    truth_starts = {s.start // 1000 * 1000 for s in sim.centre.segments(tenant, agent)}
    served = next(a for a in india if a["userId"] == agent)
    first = koreai_local_ms(served["status"][0]["startTime"], -330)
    assert first in truth_starts  # India is UTC+5:30, written as -330
    assert served["status"][0]["startTime"] == datetime.fromtimestamp(first / 1000 + 19800, tz=UTC).strftime(
        "%Y-%m-%dT%H:%M:%S")


async def test_ongoing_interval_and_durations_over_a_day(http: httpx.AsyncClient) -> None:
    forgetful = TenantSpec("forgetful", "koreai", "Asia/Kolkata", agents=6, inactive_agents=0,
                           forgot_logout_rate=1.0, absence_rate=0.0)
    sim = Simulation(seed=4, tenants=[forgetful], history_days=4)
    async with SimulatorCluster(sim, ["koreai"], tenants={"koreai": "forgetful"}) as cluster:
        agents = await koreai_agents(http, cluster, koreai_body(date(2025, 5, 24), -330, last=date(2025, 5, 29)))
    intervals = [i for a in agents for i in a.get("status", [])]
    ongoing = [i for i in intervals if i["endTime"] == "-"]
    assert ongoing and all(i["duration"] == "-" for i in ongoing)
    assert sum(1 for a in agents if a.get("status") and a["status"][-1]["endTime"] == "-") == len(ongoing)
    hours = [int(i["duration"].split(":")[0]) for i in intervals if i["duration"] != "-"]
    assert max(hours) >= 24  # e.g. "32:17:04" in the sample
    for interval in intervals:
        if interval["endTime"] != "-":
            start = datetime.fromisoformat(interval["startTime"])
            end = datetime.fromisoformat(interval["endTime"])
            h, m, s = (int(x) for x in interval["duration"].split(":"))
            # cut to whole seconds on both sides, so the shown duration is within a second of end - start
            assert abs((end - start).total_seconds() - (h * 3600 + m * 60 + s)) <= 1


async def test_auth_and_headers(cluster: SimulatorCluster, http: httpx.AsyncClient) -> None:
    simulator, url = _koreai(cluster)
    body = koreai_body(date(2025, 5, 28), -330)
    good = koreai_headers(simulator)
    assert (await http.post(url, json=body, headers={**good, "auth": ""})).status_code == 401
    forged = sign_jwt({"appId": simulator.client_id}, "not-the-secret")
    assert (await http.post(url, json=body, headers={**good, "auth": forged})).status_code == 401
    expired = sign_jwt({"appId": simulator.client_id, "exp": time.time() - 5}, simulator.client_secret)
    assert (await http.post(url, json=body, headers={**good, "auth": expired})).status_code == 401
    signed = sign_jwt({"appId": simulator.client_id, "iat": int(time.time())}, simulator.client_secret)
    assert (await http.post(url, json=body, headers={**good, "auth": signed})).status_code == 200
    no_iid = {k: v for k, v in good.items() if k != "iId"}
    assert (await http.post(url, json=body, headers=no_iid)).status_code == 400
    assert (await http.post(url, json=body, headers={**good, "iId": "st-other"})).status_code == 403
    other_account = url.replace(simulator.account_id, "0" * 24)
    assert (await http.post(other_account, json=body, headers=good)).status_code == 404
    missing = {"filter": {"dateFilter": {"startDate": "2025-05-28"}}}
    response = await http.post(url, json=missing, headers=good)
    assert response.status_code == 400 and "errors" in response.json()
