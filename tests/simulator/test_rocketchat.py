"""Rocket.Chat conversations-by-agent (seed 004): shape, documented 400/401/403 bodies, end-before-start."""

from __future__ import annotations

import httpx

from connector.simulator import Simulation, SimulatorCluster
from connector.simulator.rocketchat import PATH

from .helpers import iso
from .seed_examples import ROCKETCHAT_400, ROCKETCHAT_401, ROCKETCHAT_403, ROCKETCHAT_RESPONSE, shape

HEADERS = {"X-User-Id": "rbAXPnMktTFbNpwtJ", "X-Auth-Token": "sim-rocketchat-token"}


async def test_shape_and_labels(sim: Simulation, cluster: SimulatorCluster, http: httpx.AsyncClient) -> None:
    now = sim.now_ms()
    body = (await http.get(cluster.base_url("rocketchat") + PATH, headers=HEADERS,
                           params={"start": iso(now - 48 * 3_600_000), "end": iso(now)})).json()
    assert shape(body) == shape(ROCKETCHAT_RESPONSE)
    assert list(body) == list(ROCKETCHAT_RESPONSE)
    labels = {d["label"] for d in body["data"]}
    agents = sim.centre.tenant(cluster.tenant("rocketchat")).agents
    assert "Dialog Bot" in labels
    assert agents[0].name in labels  # a display name, like "Jane Kim"
    assert agents[1].username in labels  # no name: the username, like "agent5"
    assert agents[2].agent_id in labels and len(agents[2].agent_id) == 17  # neither: the id
    assert body["total"] == sum(d["value"] for d in body["data"]) and body["unspecified"] > 0


async def test_example_with_end_before_start(cluster: SimulatorCluster, http: httpx.AsyncClient) -> None:
    # seed 004 lines 150-156: start 2020-09-10T23:59:22.345Z, end 2020-09-09T00:11:22.345Z
    response = await http.get(cluster.base_url("rocketchat") + PATH, headers=HEADERS,
                              params={"start": "2020-09-10T23:59:22.345Z", "end": "2020-09-09T00:11:22.345Z"})
    assert response.status_code == 200
    assert response.json() == {"total": 0, "data": [], "unspecified": 0, "success": True}


async def test_documented_errors(cluster: SimulatorCluster, http: httpx.AsyncClient) -> None:
    url = cluster.base_url("rocketchat") + PATH
    good_end = "2025-05-28T10:00:00.000Z"
    cases = [({"end": good_end}, ROCKETCHAT_400[0]), ({"start": "soon", "end": good_end}, ROCKETCHAT_400[1]),
             ({"start": good_end}, ROCKETCHAT_400[2]), ({"start": good_end, "end": "later"}, ROCKETCHAT_400[3])]
    for params, expected in cases:
        response = await http.get(url, headers=HEADERS, params=params)
        assert (response.status_code, response.json()) == (400, expected)
    params = {"start": "2025-05-28T00:00:00Z", "end": good_end}
    for headers in ({}, {"X-User-Id": HEADERS["X-User-Id"]}, {**HEADERS, "X-Auth-Token": "stale"}):
        response = await http.get(url, headers=headers, params=params)
        assert (response.status_code, response.json()) == (401, ROCKETCHAT_401)
    viewer = {"X-User-Id": "viewerNoPermsXyz1", "X-Auth-Token": "sim-rocketchat-no-permission"}
    response = await http.get(url, headers=viewer, params=params)
    assert (response.status_code, response.json()) == (403, ROCKETCHAT_403)


async def test_unlicensed_workspace(sim: Simulation, http: httpx.AsyncClient) -> None:
    async with SimulatorCluster(sim, ["rocketchat"], options={"rocketchat": {"licensed": False}}) as cluster:
        response = await http.get(cluster.base_url("rocketchat") + PATH, headers=HEADERS,
                                  params={"start": "2025-05-28T00:00:00Z", "end": "2025-05-28T10:00:00Z"})
    assert (response.status_code, response.json()) == (403, {"success": False, "error": "unauthorized"})
