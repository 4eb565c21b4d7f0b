"""Fault injection: every switch, from tests and over the admin endpoint."""

from __future__ import annotations

import json
from datetime import date

import httpx
import pytest

from connector.simulator import Simulation, SimulatorCluster
from connector.simulator.faults import FaultPlan, parse_fault_spec
from connector.simulator.koreai import KoreaiSimulator, sign_jwt
from connector.simulator.vonage import ACCEPT

from .helpers import VONAGE_HEADERS, convoso_entries, iso, koreai_body, koreai_headers

TOKEN = "sim-convoso-token"
PRODUCTIVITY = "/v1/agent-productivity/search"
PARAMS = {"auth_token": TOKEN, "date_start": "2025-05-27", "date_end": "2025-05-28"}


def _url(cluster: SimulatorCluster) -> str:
    return cluster.base_url("convoso-productivity") + PRODUCTIVITY


@pytest.mark.parametrize("retry_after", [None, 2.5])
async def test_rate_limit(cluster: SimulatorCluster, http: httpx.AsyncClient, retry_after: float | None) -> None:
    cluster.faults("convoso-productivity").add("rate_limit", times=2, retry_after=retry_after)
    for _ in range(2):
        response = await http.get(_url(cluster), params=PARAMS)
        assert response.status_code == 429
        assert response.headers.get("Retry-After") == (None if retry_after is None else "2.5")
    assert (await http.get(_url(cluster), params=PARAMS)).json()["success"] is True


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors(cluster: SimulatorCluster, http: httpx.AsyncClient, status: int) -> None:
    cluster.faults("vonage").add("server_error", status=status)
    url = cluster.base_url("vonage") + "/stats/agent-activities"
    params = {"start": "2025-05-28T10:00:00Z"}
    assert (await http.get(url, params=params, headers=VONAGE_HEADERS)).status_code == status
    assert (await http.get(url, params=params, headers=VONAGE_HEADERS)).status_code == 200


async def test_slow_drop_and_malformed(cluster: SimulatorCluster, http: httpx.AsyncClient) -> None:
    plan = cluster.faults("convoso-productivity")
    plan.add("slow", delay=0.6)
    with pytest.raises(httpx.ReadTimeout):
        await http.get(_url(cluster), params=PARAMS, timeout=0.2)
    plan.add("drop")
    with pytest.raises(httpx.RemoteProtocolError):
        await http.get(_url(cluster), params=PARAMS)
    plan.add("malformed")
    response = await http.get(_url(cluster), params=PARAMS)
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    assert (await http.get(_url(cluster), params=PARAMS)).json()["success"] is True


async def test_page_repeat_and_skip(cluster: SimulatorCluster, http: httpx.AsyncClient) -> None:
    clean = await convoso_entries(http, cluster, date(2025, 5, 27), date(2025, 5, 28), limit=20)
    plan = cluster.faults("convoso-productivity")
    plan.add("page_repeat", records=5, after=1)  # the second page starts 5 records early
    repeated = await convoso_entries(http, cluster, date(2025, 5, 27), date(2025, 5, 28), limit=20)
    ids = [e["id"] for e in repeated]
    # page 2 served records 15-34 instead of 20-39: five repeats, and a naive offset client misses 35-39
    assert ids[20:25] == ids[15:20] and len(ids) - len(set(ids)) == 5
    assert {e["id"] for e in clean} - set(ids) == {e["id"] for e in clean[35:40]}
    plan.add("page_skip", records=3, after=2)
    skipped = await convoso_entries(http, cluster, date(2025, 5, 27), date(2025, 5, 28), limit=20)
    assert len({e["id"] for e in clean} - {e["id"] for e in skipped}) == 3


async def test_duplicates_and_out_of_order(cluster: SimulatorCluster, http: httpx.AsyncClient) -> None:
    plan = cluster.faults("convoso-productivity")
    params: dict[str, str | int] = {**PARAMS, "limit": 12}
    clean = (await http.get(_url(cluster), params=params)).json()["data"]["entries"]
    plan.add("duplicate", records=4)
    doubled = (await http.get(_url(cluster), params=params)).json()["data"]["entries"]
    assert len(doubled) == 15 and [e["id"] for e in doubled][:2] == [clean[0]["id"]] * 2
    plan.add("out_of_order")
    reversed_page = (await http.get(_url(cluster), params=params)).json()["data"]["entries"]
    assert reversed_page == clean[::-1]


@pytest.mark.parametrize("variant", ["unknown_fields", "unseen_states", "missing_optional", "nulls"])
async def test_schema_drift(cluster: SimulatorCluster, http: httpx.AsyncClient, variant: str) -> None:
    cluster.faults("convoso-productivity").add("schema_drift", variant=variant)
    entries = (await http.get(_url(cluster), params=PARAMS)).json()["data"]["entries"]
    if variant == "unknown_fields":
        assert all("agent_extension" in e for e in entries)
    elif variant == "unseen_states":
        assert {"PAUSED", "INCALL", "Dispo"} & {e["state"] for e in entries}
    elif variant == "missing_optional":
        assert all("browser" not in e and "ip_address" not in e for e in entries)
    else:
        assert all(e["campaign_name"] is None and e["event_sec"] is None for e in entries)
    assert "browser" in (await http.get(_url(cluster), params=PARAMS)).json()["data"]["entries"][0]


async def test_schema_drift_reaches_every_vendor(sim: Simulation, cluster: SimulatorCluster,
                                                 http: httpx.AsyncClient) -> None:
    for vendor in ("vonage", "koreai", "rocketchat", "convoso-user-activity"):
        cluster.faults(vendor).add("schema_drift", variant="unknown_fields", times=None)
    now = sim.now_ms()
    vonage = (await http.get(cluster.base_url("vonage") + "/stats/agent-activities", headers=VONAGE_HEADERS,
                             params={"start": iso(now - 3_600_000)})).json()
    assert all("subCategory" in i for i in vonage["items"])
    koreai = cluster["koreai"]
    assert isinstance(koreai, KoreaiSimulator)
    kore = (await http.post(cluster.base_url("koreai") + koreai.path, json=koreai_body(date(2025, 5, 28), -330),
                            headers=koreai_headers(koreai))).json()
    assert all("role" in a for a in kore["data"])
    assert all("reasonCode" in i for a in kore["data"] for i in a.get("status", []))
    chat = (await http.get(cluster.base_url("rocketchat") + "/api/v1/livechat/analytics/dashboards/"
                           "conversations-by-agent", params={"start": iso(now - 3_600_000), "end": iso(now)},
                           headers={"X-User-Id": "rbAXPnMktTFbNpwtJ", "X-Auth-Token": "sim-rocketchat-token"})).json()
    assert all("percentage" in d for d in chat["data"])
    counts = (await http.post(cluster.base_url("convoso-user-activity") + "/v1/user-activity/search",
                              data={"auth_token": TOKEN})).json()
    assert "on_call_agents" in counts["data"]


async def test_expired_credentials_until_vonage_reauthenticates(cluster: SimulatorCluster,
                                                                http: httpx.AsyncClient) -> None:
    base = cluster.base_url("vonage")
    token_form = {"grant_type": "client_credentials", "client_id": "sim-vonage-client",
                  "client_secret": "sim-vonage-secret"}
    first = (await http.post(base + "/Auth/connect/token", data=token_form)).json()["access_token"]
    headers = {"Authorization": f"bearer {first}", "Accept": ACCEPT}
    url, params = base + "/stats/agent-activities", {"start": "2025-05-28T10:00:00Z"}
    assert (await http.get(url, params=params, headers=headers)).status_code == 200
    cluster.faults("vonage").add("expire_credentials")
    for _ in range(3):  # stays expired, however often the old token is retried
        assert (await http.get(url, params=params, headers=headers)).status_code == 401
    second = (await http.post(base + "/Auth/connect/token", data=token_form)).json()["access_token"]
    assert (await http.get(url, params=params, headers={**headers, "Authorization": f"bearer {second}"}
                           )).status_code == 200


async def test_expired_credentials_until_koreai_jwt_is_resigned(cluster: SimulatorCluster,
                                                                http: httpx.AsyncClient) -> None:
    koreai = cluster["koreai"]
    assert isinstance(koreai, KoreaiSimulator)
    url, body = cluster.base_url("koreai") + koreai.path, koreai_body(date(2025, 5, 28), -330)
    old = sign_jwt({"appId": koreai.client_id, "jti": "1"}, koreai.client_secret)
    assert (await http.post(url, json=body, headers=koreai_headers(koreai, old))).status_code == 200
    cluster.faults("koreai").add("expire_credentials")
    assert (await http.post(url, json=body, headers=koreai_headers(koreai, old))).status_code == 401
    new = sign_jwt({"appId": koreai.client_id, "jti": "2"}, koreai.client_secret)
    assert (await http.post(url, json=body, headers=koreai_headers(koreai, new))).status_code == 200


async def test_expired_static_token_fails_for_n_requests(cluster: SimulatorCluster, http: httpx.AsyncClient) -> None:
    cluster.faults("convoso-productivity").add("expire_credentials", times=2)
    for _ in range(2):
        response = await http.get(_url(cluster), params=PARAMS)
        assert response.status_code == 401
        assert response.json() == {"success": False, "error": "Invalid authentication token"}
    assert (await http.get(_url(cluster), params=PARAMS)).status_code == 200


async def test_admin_endpoint_and_path_filter(cluster: SimulatorCluster, http: httpx.AsyncClient) -> None:
    base = cluster.base_url("vonage")
    added = await http.post(base + "/_sim/faults", json=[
        {"kind": "rate_limit", "times": None, "path": "/stats/"}, {"kind": "server_error", "status": 502}])
    assert added.status_code == 201 and len(added.json()) == 2
    listed = (await http.get(base + "/_sim/faults")).json()
    assert [f["kind"] for f in listed] == ["rate_limit", "server_error"]
    token = await http.post(base + "/Auth/connect/token", data={  # the path filter spares the token endpoint
        "grant_type": "client_credentials", "client_id": "sim-vonage-client", "client_secret": "sim-vonage-secret"})
    assert token.status_code == 502  # ...but not the unfiltered 502
    url, params = base + "/stats/agent-activities", {"start": "2025-05-28T10:00:00Z"}
    for _ in range(3):
        assert (await http.get(url, params=params, headers=VONAGE_HEADERS)).status_code == 429
    assert (await http.delete(base + "/_sim/faults")).json() == []
    assert (await http.get(url, params=params, headers=VONAGE_HEADERS)).status_code == 200
    bad = await http.post(base + "/_sim/faults", json={"kind": "gremlins"})
    assert bad.status_code == 400 and "unknown fault kind" in bad.json()["error"]
    assert cluster["vonage"].requests[-1] == ("GET", "/stats/agent-activities", 200)


async def test_admin_truth_and_clock(sim: Simulation, cluster: SimulatorCluster, http: httpx.AsyncClient) -> None:
    base = cluster.base_url("convoso-user-activity")
    before = sim.now()
    clock = (await http.post(base + "/_sim/clock", json={"advance": 90})).json()
    assert (sim.now() - before).total_seconds() == 90 and clock["now"].startswith(sim.now().strftime("%Y-%m-%dT%H"))
    truth = (await http.get(base + "/_sim/truth")).json()
    counts = (await http.post(base + "/v1/user-activity/search", data={"auth_token": TOKEN})).json()["data"]
    assert truth["counts"]["all"] == {"logged_in": counts["logged_in_agents"], "available": counts["available_agents"]}
    assert len(truth["agents"]) == len(sim.centre.tenant(cluster.tenant("convoso-user-activity")).agents)


def test_cli_fault_spec_and_plan_rules() -> None:
    assert parse_fault_spec("vonage:rate_limit:times=3,retry_after=2") == (
        "vonage", {"kind": "rate_limit", "times": 3, "retry_after": 2.0})
    assert parse_fault_spec("koreai:schema_drift:variant=nulls,times=forever")[1]["times"] is None
    for bad in ("vonage", "vonage:gremlins", "vonage:server_error:status=404", "vonage:slow:colour=red"):
        with pytest.raises(ValueError):
            parse_fault_spec(bad)
    plan = FaultPlan()
    fault = plan.add("rate_limit", times=1, after=2)
    assert [len(plan.take("/x")) for _ in range(4)] == [0, 0, 1, 0] and fault.exhausted
