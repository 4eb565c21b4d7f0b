"""Simulators -> `agent-connector run` (a real subprocess) -> embedded Kafka -> consumer, under faults,
with the connector SIGKILLed and restarted mid-run. Compared with the simulated contact centre's truth."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from connector.config import KafkaSettings
from connector.kafka.offsets import OffsetStore
from connector.kafka.producer import EventProducer
from connector.kafka.tail import tail_topic
from connector.kafka.topics import connector_topics, provision_topics
from connector.model import AgentState, to_millis
from connector.serde.codec import EventDeserializer
from connector.simulator.population import daytime_tenants
from connector.simulator.server import SimulatorCluster
from connector.simulator.simulation import Simulation

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
SECRETS = ["sim-convoso-token", "sim-vonage-secret", "sim-vonage-static-token", "sim-koreai-secret",
           "sim-rocketchat-token"]


def start_connector(config: Path, log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("ab")
    return subprocess.Popen([sys.executable, "-m", "connector.cli", "--log-level", "DEBUG", "run", str(config)],
                            stdout=handle, stderr=handle, cwd=REPO, env=os.environ.copy())


async def read_topic(settings: KafkaSettings, topic: str) -> list[Any]:
    return [item async for item in tail_topic(settings, topic, EventDeserializer())]


async def committed(settings: KafkaSettings) -> dict[str, Any]:
    async with EventProducer(settings) as producer:
        return await OffsetStore(settings, producer).load()


def add_faults(cluster: SimulatorCluster) -> dict[str, Any]:
    """Every fault kind the simulators offer, spread over the five of them.

    Schema drift that changes what a record means (Kore.ai without ``secondaryStatus``, a Vonage
    ``duration`` nulled, unseen state names) cannot leave the truth intact and is tested apart."""
    f = cluster.faults
    f("vonage").add("rate_limit", times=2, retry_after=0.5)
    f("vonage").add("server_error", status=500, times=1, after=2)
    f("vonage").add("duplicate", records=3, times=2, after=1)
    f("vonage").add("out_of_order", times=2, after=3)
    f("vonage").add("expire_credentials", after=4)
    f("vonage").add("schema_drift", variant="unknown_fields", times=3)
    f("vonage").add("page_repeat", records=4, times=1, after=2)
    f("koreai").add("rate_limit", times=2)  # no Retry-After: exponential backoff
    f("koreai").add("server_error", status=502, times=1, after=1)
    f("koreai").add("slow", delay=3.0, times=1, after=2)
    f("koreai").add("expire_credentials", after=3)
    f("koreai").add("schema_drift", variant="unknown_fields", times=2)
    f("convoso-productivity").add("drop", times=1)
    f("convoso-productivity").add("malformed", times=1, after=1)
    f("convoso-productivity").add("server_error", status=503, times=1, after=2)
    f("convoso-productivity").add("page_skip", records=5, times=1, after=3)  # the day's re-read recovers it
    f("convoso-productivity").add("out_of_order", times=1, after=4)
    f("convoso-productivity").add("expire_credentials", times=1, after=5)
    # last, on a request no other fault touches: what it corrupts is what the connector receives
    unmappable = f("convoso-productivity").add("schema_drift", variant="unmappable", times=1, after=9)
    # drift that drops or nulls fields the state does not depend on (reason names, campaign, browser)
    f("convoso-productivity").add("schema_drift", variant="missing_optional", times=1, after=6)
    f("convoso-productivity").add("schema_drift", variant="nulls", times=1, after=7)
    f("convoso-user-activity").add("rate_limit", times=1, retry_after=0.2)
    f("convoso-user-activity").add("schema_drift", variant="unknown_fields", times=2)
    f("rocketchat").add("server_error", status=500, times=1)
    f("rocketchat").add("slow", delay=3.0, times=1, after=1)
    f("rocketchat").add("schema_drift", variant="unknown_fields", times=2)
    return {"unmappable": unmappable}


def truth_changes(sim: Simulation, tenant: str, agent_id: str, start: datetime, end: datetime,
                  collapse: dict[AgentState, AgentState]) -> list[tuple[int, AgentState]]:
    """(ms, state) where the agent's normalized truth changed inside [start, end]."""
    changes: list[tuple[int, AgentState]] = []
    previous: AgentState | None = None
    for segment in sim.truth.timeline(tenant, agent_id, start, end):
        state = collapse.get(segment.state, segment.state)
        if previous is not None and state != previous and segment.start > to_millis(start):
            changes.append((segment.start, state))
        previous = state
    return changes


async def test_five_sources_under_faults_survive_sigkill_and_match_ground_truth(
        kafka_settings: KafkaSettings, tmp_path: Path) -> None:
    now = datetime.now(UTC)  # tenants moved to where it is early afternoon: busy whenever the test runs
    sim = Simulation(seed=23, start=now, speed=1.0, history_days=0.2, tenants=daytime_tenants(now))
    options = {"vonage": {"page_size": 15}}
    async with SimulatorCluster(sim, options=options) as cluster:
        config = cluster.config_dict(bootstrap_servers=kafka_settings.bootstrap_servers, poll_interval_seconds=1.0)
        config["kafka"].update(topics=kafka_settings.topics.model_dump(), partitions=3)
        for source in config["sources"]:
            source.update(timeout_seconds=2.0, poll_jitter_seconds=0.1, max_retries=6)
            if source["vendor"] == "convoso-productivity":
                source["page_size"] = 40
            if source["vendor"] == "koreai":
                source["page_size"] = 5
            if source["vendor"] == "rocketchat":
                source["window_seconds"] = 60
        start_at = datetime.fromisoformat(config["sources"][0]["start_at"].replace("Z", "+00:00"))
        path = tmp_path / "connector.yaml"
        path.write_text(yaml.safe_dump(config))
        injected = add_faults(cluster)
        log = tmp_path / "connector.log"

        # first run: killed hard as soon as some (not all) pages are committed
        await provision_topics(kafka_settings, connector_topics(kafka_settings))
        first = start_connector(path, log)
        deadline = asyncio.get_running_loop().time() + 60
        while len(await committed(kafka_settings)) < 3:
            assert first.poll() is None, log.read_text()[-3000:]
            assert asyncio.get_running_loop().time() < deadline, "no cursor committed within 60 s"
            await asyncio.sleep(0.3)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        # second run: resumes from the committed cursors and catches up
        second = start_connector(path, log)
        await asyncio.sleep(20)
        cut = sim.now() - timedelta(seconds=8)  # Vonage reports activity up to 5 s late
        await asyncio.sleep(6)
        second.send_signal(signal.SIGTERM)
        assert second.wait(15) == 0, "graceful stop on SIGTERM"

    settings = kafka_settings
    state_events = await read_topic(settings, settings.topics.agent_state)
    dead = await read_topic(settings, settings.topics.dead_letter)
    groups = await read_topic(settings, settings.topics.group_observations)
    conversations = await read_topic(settings, settings.topics.conversation_observations)
    assert all(item.error is None for item in state_events + dead + groups + conversations)

    # duplicates only with the same event_id; per agent in order on one partition
    by_id: dict[str, tuple[Any, ...]] = {}
    per_agent: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    partitions: dict[bytes | None, set[int]] = defaultdict(set)
    for item in sorted(state_events, key=lambda i: (i.partition, i.offset)):
        record = item.record
        identity = (record["vendor"], record["agent_id"], record["state"], record["occurred_at"])
        assert by_id.setdefault(record["event_id"], identity) == identity, "one event_id, one change"
        partitions[item.key].add(item.partition)
        per_agent[(record["vendor"], record["agent_id"])].append(record)
    assert all(len(p) == 1 for p in partitions.values())
    deduped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for key, records in per_agent.items():
        seen: set[str] = set()
        unique = [r for r in records if not (r["event_id"] in seen or seen.add(r["event_id"]))]
        latest = None
        for r in unique:
            if latest is not None and r["occurred_at"] < latest:
                # only a record a vendor served late (Convoso's skipped page) arrives late, marked as such
                assert key[0] == "convoso-productivity" and r["previous_state"] is None, f"{key}: out of order"
            latest = r["occurred_at"] if latest is None else max(latest, r["occurred_at"])
        deduped[key] = sorted(unique, key=lambda r: r["occurred_at"])
    # a restart re-emits at most the page whose cursor was not committed: repeats come from one page per source
    copies: dict[str, int] = defaultdict(int)
    for item in state_events + groups + conversations:
        copies[item.record["event_id"]] += 1
    repeated_pages: dict[str, set[str]] = defaultdict(set)
    for item in state_events + groups + conversations:
        if copies[item.record["event_id"]] > 1:
            repeated_pages[item.record["source"]].add(item.record["source_cursor"])
    assert all(len(pages) <= 1 for pages in repeated_pages.values()), repeated_pages
    identities = defaultdict(set)
    for event_id, identity in by_id.items():
        identities[identity].add(event_id)
    assert all(len(ids) == 1 for ids in identities.values()), "the same change under two event ids"

    # every ground-truth change of the window is on Kafka, and nothing contradicts the truth
    available_only = {AgentState.BUSY: AgentState.AVAILABLE, AgentState.WRAP_UP: AgentState.AVAILABLE}
    checks = {"vonage": ("vonage", {}), "koreai": ("koreai", {}),
              "convoso-productivity": ("convoso-productivity", available_only)}
    window_start = start_at + timedelta(hours=1) - timedelta(minutes=50)  # well after where sources begin
    compared = 0
    for vendor, (simulator, collapse) in checks.items():
        tenant = cluster.tenant(simulator)
        for agent in sim.centre.tenant(tenant).agents:
            events = deduped.get((vendor, agent.agent_id), [])
            on_kafka = [(to_millis(r["occurred_at"]), AgentState(r["state"])) for r in events]
            for at, state in truth_changes(sim, tenant, agent.agent_id, window_start, cut, collapse):
                compared += 1
                assert any(s == state and abs(t - at) <= 1000 for t, s in on_kafka), (
                    f"{vendor} {agent.agent_id}: truth change to {state} at {at} is missing; kafka: "
                    f"{[(x, y.value) for x, y in on_kafka if abs(x - at) < 120_000]}")
            for t, s in on_kafka:
                if to_millis(window_start) < t < to_millis(cut):
                    # Kore.ai reports whole seconds: any truth state within that second will do
                    truths = {collapse.get(g.state, g.state)
                              for g in sim.truth.timeline(tenant, agent.agent_id, t, t + 999)}
                    assert s in truths, f"{vendor} {agent.agent_id}: {s} at {t} contradicts the truth {truths}"
    assert compared > 30, f"only {compared} truth changes in the window: the test would prove little"

    # the dead-letter topic holds exactly the records the simulator made unmappable
    corrupted = injected["unmappable"].corrupted
    assert corrupted, "the unmappable fault corrupted nothing"
    dead_raw = sorted(json.loads(item.record["raw_record"])["id"] for item in dead)
    assert dead_raw == sorted(r["id"] for r in corrupted), [(i.record["error_kind"], i.record["error"]) for i in dead]
    assert {i.record["error_kind"] for i in dead} == {"bad_timestamp"}
    assert all(item.record["source"] == "sim-convoso-productivity" for item in dead)

    # observation events: counts per filter and conversations per window
    assert {g.record["group_key"] for g in groups} >= {"all", "campaign:1234"}
    conv_tenant = cluster.tenant("rocketchat")
    windows: dict[tuple[int, int], dict[str | None, int]] = defaultdict(dict)
    for item in conversations:
        r = item.record
        windows[(to_millis(r["window_start"]), to_millis(r["window_end"]))][r["agent_label"]] = r["conversations"]
    assert len(windows) >= 10
    for (ws, we), counts in windows.items():
        truth = sim.truth.conversations_by_agent(conv_tenant, ws, we)
        assert sum(counts.values()) == truth.total + truth.unspecified, (ws, we)

    # secrets never reach the logs
    text = log.read_text()
    assert "sim-convoso-productivity" in text  # the log is there to be checked
    leaked = [secret for secret in SECRETS if secret in text]
    assert not leaked, f"secrets in the connector log: {leaked}"
