"""Test-side readers: fetch everything a simulator serves and rebuild agent states from it.

These deliberately re-implement the vendor -> normalized mapping from the documents' words
instead of importing the simulators' renderers, so a rendering mistake shows up as a mismatch.
"""

from __future__ import annotations

import bisect
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from connector.model import AgentState
from connector.simulator import Simulation, SimulatorCluster
from connector.simulator.koreai import KoreaiSimulator
from connector.simulator.vonage import ACCEPT

VONAGE_HEADERS = {"Authorization": "bearer sim-vonage-static-token", "Accept": ACCEPT}


def iso(millis: int) -> str:
    return datetime.fromtimestamp(millis / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def quiet_instant(sim: Simulation, tenant: str, around: int, margin: int = 2500, busy: bool = True) -> int:
    """An instant at or before ``around`` with no ground-truth change within ``margin`` ms for any agent.

    With ``busy``, also require at least three logged-in agents, so comparisons say something.
    """
    sim.centre.ensure(around + margin)
    edges = sorted(seg.start for agent in sim.centre.tenant(tenant).agents
                   for seg in sim.centre.segments(tenant, agent.agent_id))
    for step in range(12_000):
        at = around - step * 7_300
        index = bisect.bisect_left(edges, at - margin)
        if index < len(edges) and edges[index] < at + margin:
            continue
        if busy and sim.truth.counts(tenant, at).logged_in < 3:
            continue
        return at
    raise AssertionError("no quiet instant found")


async def convoso_entries(http: httpx.AsyncClient, cluster: SimulatorCluster, first: date, last: date,
                          limit: int = 1000, **params: str) -> list[dict[str, Any]]:
    base = cluster.base_url("convoso-productivity") + "/v1/agent-productivity/search"
    entries: list[dict[str, Any]] = []
    offset = 0
    while True:
        response = await http.get(base, params={"auth_token": "sim-convoso-token", "date_start": first.isoformat(),
                                               "date_end": last.isoformat(), "offset": offset, "limit": limit,
                                               **params})
        data = response.json()["data"]
        entries.extend(data["entries"])
        offset += len(data["entries"])
        if not data["entries"] or offset >= int(data["total"]):
            return entries


def convoso_states_at(entries: list[dict[str, Any]], user_ids: list[str], at: int) -> dict[str, AgentState]:
    """Per user, the state of the last entry at or before ``at`` (LOGIN/NotReady: not ready = AWAY)."""
    words = {"LOGIN": AgentState.AWAY, "Ready": AgentState.AVAILABLE, "NotReady": AgentState.AWAY,
             "LogOut": AgentState.OFFLINE}
    latest: dict[str, tuple[int, int, str]] = {}
    for entry in entries:
        moment = int(entry["event_epoch"]) * 1000
        key = (moment, int(entry["id"]), entry["state"])
        if moment <= at and key > latest.get(entry["user_id"], (-1, -1, "")):
            latest[entry["user_id"]] = key
    return {u: words[latest[u][2]] if u in latest else AgentState.OFFLINE for u in user_ids}


async def vonage_items(http: httpx.AsyncClient, cluster: SimulatorCluster, start: int, end: int,
                       include: str | None = "Started", **params: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    base = cluster.base_url("vonage") + "/stats/agent-activities"
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        query: dict[str, str | int] = {"start": iso(start), "end": iso(end), "page": page, **params}
        if include is not None:
            query["include"] = include
        response = await http.get(base, headers=VONAGE_HEADERS, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        items.extend(body["items"])
        if page >= body["meta"]["pageCount"]:
            return items, body
        page += 1


def _ms(text: str) -> int:
    return round(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def vonage_states_at(items: list[dict[str, Any]], agent_ids: list[str], at: int) -> dict[str, AgentState]:
    """Presence category, then interactions and workload covering ``at`` (seed 002's rules)."""
    result = {}
    for agent_id in agent_ids:
        covering = []
        for item in items:
            if item["agentId"] != agent_id:
                continue
            start = _ms(item["start"])
            end = None if item["duration"] is None else start + item["duration"]
            if start <= at and (end is None or at < end):
                covering.append(item)
        presence = [i for i in covering if i["type"] == "Presence"]
        categories = {i["category"] for i in covering if i["type"] == "Interaction"}
        workloads = [i["workload"] for i in covering if i["type"] == "Workload"]
        busy_load = any(w["calls"] + w["semiLive"] + w["nonLive"] > 0 for w in workloads)
        category = max(presence, key=lambda i: i["start"])["category"] if presence else "LoggedOut"
        if category == "LoggedOut":
            state = AgentState.OFFLINE
        elif categories & {"Ringing", "Connected", "Unexpected"} or busy_load:
            state = AgentState.BUSY
        elif "Wrap" in categories:
            state = AgentState.WRAP_UP
        elif category == "Ready":
            state = AgentState.AVAILABLE
        else:
            state = AgentState.AWAY
        result[agent_id] = state
    return result


def koreai_body(day: date, offset: int, *, last: date | None = None, agents: list[str] | None = None,
                legacy: bool = False) -> dict[str, Any]:
    date_filter: dict[str, Any] = {"timeZoneOffSet": offset}
    if legacy:
        date_filter["date"] = day.isoformat()
    else:
        date_filter.update(startDate=day.isoformat(), endDate=(last or day).isoformat())
    body: dict[str, Any] = {"filter": {"dateFilter": date_filter}}
    if agents is not None:
        body["filter"]["agents"] = agents
    return body


def koreai_headers(sim: KoreaiSimulator, token: str | None = None) -> dict[str, str]:
    return {"auth": token or sim.static_jwt, "iId": sim.stream_id, "Content-Type": "application/json"}


async def koreai_agents(http: httpx.AsyncClient, cluster: SimulatorCluster, body: dict[str, Any],
                        limit: int = 50) -> list[dict[str, Any]]:
    simulator = cluster["koreai"]
    assert isinstance(simulator, KoreaiSimulator)
    url = cluster.base_url("koreai") + simulator.path
    agents: list[dict[str, Any]] = []
    offset = 0
    while True:
        response = await http.post(url, params={"limit": limit, "offset": offset}, json=body,
                                   headers=koreai_headers(simulator))
        assert response.status_code == 200, response.text
        page = response.json()
        agents.extend(page["data"])
        if not page["hasMore"]:
            return agents
        offset += page["limit"]


def koreai_local_ms(text: str, offset: int) -> int:
    """A Kore.ai local time string -> epoch ms, undoing the inverted-sign offset (local = UTC - offset)."""
    local = datetime.fromisoformat(text).replace(tzinfo=UTC)
    return round((local + timedelta(minutes=offset)).timestamp() * 1000)


def koreai_states_at(agents: list[dict[str, Any]], at: int, offset: int) -> dict[str, AgentState]:
    result = {}
    for agent in agents:
        state = AgentState.OFFLINE  # logged-out time is a gap between intervals
        for interval in agent.get("status", []):
            start = koreai_local_ms(interval["startTime"], offset)
            end = None if interval["endTime"] == "-" else koreai_local_ms(interval["endTime"], offset)
            if start <= at and (end is None or at < end):
                primary, secondary = interval["primaryStatus"], interval["secondaryStatus"]
                if primary == "AVAILABLE":
                    state = AgentState.AVAILABLE
                elif primary == "AWAY":
                    state = AgentState.AWAY
                else:
                    state = AgentState.WRAP_UP if secondary == "ACW" else AgentState.BUSY
        result[agent["userId"]] = state
    return result


def local_day(at: int, zone: str) -> date:
    return datetime.fromtimestamp(at / 1000, tz=ZoneInfo(zone)).date()
