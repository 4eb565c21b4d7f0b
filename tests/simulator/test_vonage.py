"""Vonage GET /agent-activities (seed 002): shape, auth, window limit, include semantics, paging, upTo."""

from __future__ import annotations

from datetime import datetime

import httpx

from connector.simulator import Simulation, SimulatorCluster
from connector.simulator.vonage import ACCEPT, PIPELINE_LAG_MS

from .helpers import VONAGE_HEADERS, iso, vonage_items
from .seed_examples import VONAGE_INTERACTION, VONAGE_PRESENCE, VONAGE_RESPONSE, VONAGE_WORKLOAD, assert_like, shape

PATH = "/stats/agent-activities"
HOUR = 3_600_000


def _key(item: dict[str, object]) -> tuple[object, ...]:
    return item["agentId"], item["type"], item["start"], item["category"]


def _ms(text: str) -> int:
    return round(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


async def test_documented_requests_and_shapes(sim: Simulation, cluster: SimulatorCluster,
                                              http: httpx.AsyncClient) -> None:
    base = cluster.base_url("vonage")
    headers = {"Authorization": "bearer sim-vonage-static-token", "Accept": ACCEPT}
    # seed 002 lines 95 and 101, dates moved into the simulated history
    first = await http.get(f"{base}{PATH}?start=2025-05-27T14:18:23.857Z&end=2025-05-28T14:18:23.857Z"
                           "&include=Processed", headers=headers)
    page2 = await http.get(f"{base}{PATH}?start=2025-05-27T14:18:23.857Z&end=2025-05-28T14:18:23.857Z&page=2",
                           headers=headers)
    assert first.status_code == page2.status_code == 200
    body = first.json()
    assert shape({k: v for k, v in body.items() if k != "items"}) == shape(
        {k: v for k, v in VONAGE_RESPONSE.items() if k != "items"})
    assert body["meta"]["pageCount"] >= 2 and page2.json()["meta"]["page"] == 2
    examples = {"Presence": VONAGE_PRESENCE, "Workload": VONAGE_WORKLOAD, "Interaction": VONAGE_INTERACTION}
    seen = set()
    for item in body["items"] + page2.json()["items"]:
        assert_like(item, examples[item["type"]])
        seen.add((item["type"], item["category"]))
        assert item["start"].endswith("Z") and len(item["start"]) == len("2019-12-19T15:47:07.077Z")
        if item["type"] == "Interaction":
            assert item["status"] in ("Ongoing", "Completed") and item["name"] is None
            assert item["channel"] == {"guid": None} and item["interaction"]["mediumManager"] == "VCC"
        if item["type"] == "Presence":
            assert item["reason"] is item["interaction"] is item["workload"] is None
    categories = {c for _, c in seen}
    assert {"Ready", "Away", "ExtendedAway", "LoggedOut", "Ringing", "Connected", "Wrap"} <= categories
    assert body["upTo"] == "2025-05-28T14:18:23.857Z"  # the window ended long before now


async def test_auth_accept_and_token_endpoint(cluster: SimulatorCluster, http: httpx.AsyncClient) -> None:
    url = cluster.base_url("vonage") + PATH
    params = {"start": "2025-05-28T10:00:00Z"}
    assert (await http.get(url, params=params, headers={"Accept": ACCEPT})).status_code == 401
    bad = {"Authorization": "bearer nope", "Accept": ACCEPT}
    assert (await http.get(url, params=params, headers=bad)).status_code == 401
    no_accept = {"Authorization": "bearer sim-vonage-static-token"}
    assert (await http.get(url, params=params, headers=no_accept)).status_code == 406
    token_url = cluster.base_url("vonage") + "/Auth/connect/token"
    refused = await http.post(token_url, data={"grant_type": "client_credentials", "client_id": "sim-vonage-client",
                                               "client_secret": "wrong"})
    assert refused.status_code == 400 and refused.json() == {"error": "invalid_client"}
    granted = await http.post(token_url, data={"grant_type": "client_credentials"},
                              auth=("sim-vonage-client", "sim-vonage-secret"))
    token = granted.json()
    assert token["token_type"] == "Bearer" and token["expires_in"] == 3600
    fresh = {"Authorization": f"Bearer {token['access_token']}", "Accept": ACCEPT}
    assert (await http.get(url, params=params, headers=fresh)).status_code == 200


async def test_window_limit_and_parameter_errors(cluster: SimulatorCluster, http: httpx.AsyncClient) -> None:
    url = cluster.base_url("vonage") + PATH
    too_long = await http.get(url, headers=VONAGE_HEADERS,
                              params={"start": "2025-04-01T00:00:00Z", "end": "2025-05-02T00:00:01Z"})
    assert too_long.status_code == 400
    assert too_long.json() == {"message": "Request window size limit exceeded 31 days"}
    exactly = await http.get(url, headers=VONAGE_HEADERS,
                             params={"start": "2025-04-01T00:00:00Z", "end": "2025-05-02T00:00:00Z"})
    assert exactly.status_code == 200
    for params in ({}, {"start": "yesterday"}, {"start": "2025-05-28T10:00:00Z", "include": "Everything"},
                   {"start": "2025-05-28T10:00:00Z", "type": "Skill"}, {"start": "2025-05-28T10:00:00Z", "page": "0"}):
        assert (await http.get(url, headers=VONAGE_HEADERS, params=params)).status_code == 400, params


async def test_filters_by_agent_and_type(sim: Simulation, cluster: SimulatorCluster, http: httpx.AsyncClient) -> None:
    agent = sim.centre.tenant(cluster.tenant("vonage")).agents[0].agent_id
    assert agent.startswith("000")  # zero-padded ids, as the examples' "01" / "0003"
    now = sim.now_ms()
    items, _ = await vonage_items(http, cluster, now - 30 * HOUR, now, agentId=agent, type="Workload")
    assert items and {(i["agentId"], i["type"]) for i in items} == {(agent, "Workload")}
    loads = [i["workload"] for i in items]
    assert {"calls": 0, "semiLive": 0, "nonLive": 0} in loads and any(w["calls"] for w in loads)


async def test_include_semantics(sim: Simulation, cluster: SimulatorCluster, http: httpx.AsyncClient) -> None:
    now = sim.now_ms()
    low, high = now - 2 * HOUR, now - HOUR
    started, _ = await vonage_items(http, cluster, low, high, include="Started")
    either, _ = await vonage_items(http, cluster, low, high, include="StartedOrEnded")
    processed, _ = await vonage_items(http, cluster, low, high, include="Processed")
    default, _ = await vonage_items(http, cluster, low, high, include=None)
    assert all(low <= _ms(i["start"]) < high for i in started)
    assert default == started
    ended_only = [i for i in either if _ms(i["start"]) < low]
    assert ended_only, "activities that started before the window and ended inside it"
    assert all(low <= _ms(i["start"]) + i["duration"] < high for i in ended_only)
    assert {_key(i) for i in started} < {_key(i) for i in either} <= {_key(i) for i in processed}
    # Processed also returns an activity that ended just before the window (processed inside it)
    done = next(i for i in started if i["duration"] is not None and i["type"] == "Interaction")
    after_end = _ms(done["start"]) + done["duration"] + 1
    for include, expected in (("Started", False), ("StartedOrEnded", False), ("Processed", True)):
        items, _ = await vonage_items(http, cluster, after_end, high, include=include)
        assert (_key(done) in {_key(i) for i in items}) is expected, include


async def test_processed_polling_rereports_endings_and_loses_nothing(
        sim: Simulation, cluster: SimulatorCluster, http: httpx.AsyncClient) -> None:
    """Poll every 20 s with start = previous upTo (the document's advice) for 30 simulated minutes."""
    start = sim.now_ms()
    seen: dict[tuple[object, ...], list[dict[str, object]]] = {}
    cursor = start
    for _ in range(90):
        sim.advance(20)
        items, body = await vonage_items(http, cluster, cursor, sim.now_ms(), include="Processed")
        up_to = _ms(body["upTo"])
        assert up_to <= sim.now_ms() - PIPELINE_LAG_MS
        for item in items:
            seen.setdefault(_key(item), []).append(item)
        cursor = up_to
    end = cursor
    # everything that started in [start, end) was seen, and every ended one was seen with its duration
    everything, _ = await vonage_items(http, cluster, start, end, include="Started")
    assert len(everything) > 50
    for item in everything:
        reports = seen[_key(item)]
        if item["duration"] is not None:
            assert any(r["duration"] == item["duration"] for r in reports), item
    rereported = [r for r in seen.values() if r[0]["duration"] is None and r[-1]["duration"] is not None]
    assert len(rereported) > 10  # first seen ongoing (duration null), re-reported when it ended
    statuses = {(r[0]["status"], r[-1]["status"]) for r in rereported if r[0]["type"] == "Interaction"}
    assert ("Ongoing", "Completed") in statuses


async def test_paging(sim: Simulation, http: httpx.AsyncClient) -> None:
    async with SimulatorCluster(sim, ["vonage"], options={"vonage": {"page_size": 7}}) as cluster:
        now = sim.now_ms()
        url = cluster.base_url("vonage") + PATH
        params = {"start": iso(now - 3 * HOUR), "end": iso(now)}
        first = (await http.get(url, headers=VONAGE_HEADERS, params=params)).json()
        total = first["meta"]["totalCount"]
        assert first["meta"]["count"] == 7 and first["meta"]["pageCount"] == -(-total // 7)
        items, _ = await vonage_items(http, cluster, now - 3 * HOUR, now)
        assert len(items) == total == len({_key(i) for i in items})
        beyond = (await http.get(url, headers=VONAGE_HEADERS,
                                 params={**params, "page": first["meta"]["pageCount"] + 1})).json()
        assert beyond["items"] == [] and beyond["meta"]["count"] == 0
