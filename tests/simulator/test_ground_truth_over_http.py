"""Done-when proof: for each simulator, what it served over HTTP reproduces the ground truth at an instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from connector.model import AgentState
from connector.simulator import Simulation, SimulatorCluster

from .helpers import (
    convoso_entries,
    convoso_states_at,
    iso,
    koreai_agents,
    koreai_body,
    koreai_states_at,
    local_day,
    quiet_instant,
    vonage_items,
    vonage_states_at,
)

HOUR = 3_600_000


def _convoso_view(state: AgentState) -> AgentState:
    """Agent-productivity has only Login/Ready/NotReady/LogOut: an agent on a call is still Ready."""
    return AgentState.AVAILABLE if state in (AgentState.BUSY, AgentState.WRAP_UP) else state


@pytest.mark.parametrize("hours_back", [0.2, 5.0, 27.0])
async def test_convoso_productivity_reproduces_truth(sim: Simulation, cluster: SimulatorCluster,
                                                     http: httpx.AsyncClient, hours_back: float) -> None:
    tenant = cluster.tenant("convoso-productivity")
    zone = sim.centre.tenant(tenant).timezone
    at = quiet_instant(sim, tenant, sim.now_ms() - int(hours_back * HOUR))
    # read from two days before, so the last event before `at` is always included
    entries = await convoso_entries(http, cluster, local_day(at - 2 * 24 * HOUR, zone), local_day(at, zone),
                                    limit=250)
    agents = [a.agent_id for a in sim.centre.tenant(tenant).agents]
    served = convoso_states_at(entries, agents, at)
    truth = {a: _convoso_view(s) for a, s in sim.truth.states_at(tenant, at).items()}
    assert served == truth
    assert sum(s.logged_in for s in served.values()) >= 3


@pytest.mark.parametrize("minutes_later", [0, 7, 95])
async def test_convoso_user_activity_counts_are_truth(sim: Simulation, cluster: SimulatorCluster,
                                                      http: httpx.AsyncClient, minutes_later: int) -> None:
    sim.advance(timedelta(minutes=minutes_later))
    tenant = sim.centre.tenant(cluster.tenant("convoso-user-activity"))
    url = cluster.base_url("convoso-user-activity") + "/v1/user-activity/search"
    filters: list[dict[str, str]] = [{}, {"campaign_id": tenant.campaigns[0].campaign_id},
                                     {"queue_id": tenant.queues[1].queue_id},
                                     {"filter_by_skill_options": "spanish,english"},
                                     {"user_id": tenant.agents[0].agent_id},
                                     {"campaign_id": tenant.campaigns[1].campaign_id,
                                      "queue_id": tenant.queues[0].queue_id}]
    seen_logged_in = 0
    for extra in filters:
        response = await http.post(url, data={"auth_token": "sim-convoso-token", **extra})
        data = response.json()["data"]
        skills = extra.get("filter_by_skill_options", "").split(",") if "filter_by_skill_options" in extra else []
        truth = sim.truth.counts(tenant.name, sim.now_ms(), campaign_id=extra.get("campaign_id"),
                                 queue_id=extra.get("queue_id"), user_id=extra.get("user_id"), skills=skills)
        assert (data["logged_in_agents"], data["available_agents"]) == (truth.logged_in, truth.available), extra
        seen_logged_in += truth.logged_in
    assert seen_logged_in > 0


@pytest.mark.parametrize("hours_back", [0.5, 6.0, 30.0])
async def test_vonage_reproduces_truth(sim: Simulation, cluster: SimulatorCluster, http: httpx.AsyncClient,
                                       hours_back: float) -> None:
    tenant = cluster.tenant("vonage")
    at = quiet_instant(sim, tenant, sim.now_ms() - int(hours_back * HOUR))
    start = sim.centre.history_start(tenant)
    items, _ = await vonage_items(http, cluster, start, sim.now_ms(), include="Started")
    agents = [a.agent_id for a in sim.centre.tenant(tenant).agents]
    assert vonage_states_at(items, agents, at) == sim.truth.states_at(tenant, at)


@pytest.mark.parametrize(("hours_back", "offset"), [(0.3, -330), (4.0, 300), (20.0, 0)])
async def test_koreai_reproduces_truth(sim: Simulation, cluster: SimulatorCluster, http: httpx.AsyncClient,
                                       hours_back: float, offset: int) -> None:
    tenant = cluster.tenant("koreai")
    at = quiet_instant(sim, tenant, sim.now_ms() - int(hours_back * HOUR))
    # the day containing `at` in the offset's local time (local = UTC - offset)
    local_date = datetime.fromtimestamp((at - offset * 60_000) / 1000, tz=UTC).date()
    agents = await koreai_agents(http, cluster, koreai_body(local_date, offset), limit=5)
    assert len(agents) == len(sim.centre.tenant(tenant).agents)
    assert koreai_states_at(agents, at, offset) == sim.truth.states_at(tenant, at)


async def test_rocketchat_counts_are_truth(sim: Simulation, cluster: SimulatorCluster,
                                           http: httpx.AsyncClient) -> None:
    tenant = cluster.tenant("rocketchat")
    simulator = cluster["rocketchat"]
    url = cluster.base_url("rocketchat") + "/api/v1/livechat/analytics/dashboards/conversations-by-agent"
    headers = {"X-User-Id": simulator.credentials()["X-User-Id"],
               "X-Auth-Token": simulator.credentials()["X-Auth-Token"]}
    now = sim.now_ms()
    checked = 0
    for start, end in ((now - HOUR, now), (now - 24 * HOUR, now - 20 * HOUR), (now - 50 * HOUR, now)):
        body = (await http.get(url, params={"start": iso(start), "end": iso(end)}, headers=headers)).json()
        truth = sim.truth.conversations_by_agent(tenant, start, end)
        assert {d["label"]: d["value"] for d in body["data"]} == truth.by_label
        assert body["unspecified"] == truth.unspecified
        assert body["total"] == truth.total == sum(d["value"] for d in body["data"])
        # every served conversation is one an agent (or the bot) really had in the window
        agent_labels = {a.label for a in sim.centre.tenant(tenant).agents} | {"Dialog Bot"}
        assert set(truth.by_label) <= agent_labels
        checked += truth.total
    assert checked > 0
