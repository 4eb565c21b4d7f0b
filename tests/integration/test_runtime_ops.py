"""The runtime in-process against the simulators: health, metrics, unknown states, a failing source, backfill."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from connector.config import KafkaSettings, parse_config
from connector.kafka.offsets import OffsetStore
from connector.kafka.producer import EventProducer
from connector.kafka.tail import tail_topic
from connector.model import AgentState, to_millis
from connector.runtime.backfill import backfill_key, run_backfill
from connector.runtime.http import RetryPolicy
from connector.runtime.runner import ConnectorRuntime
from connector.serde.codec import EventDeserializer
from connector.simulator.population import daytime_tenants
from connector.simulator.server import SimulatorCluster
from connector.simulator.simulation import Simulation

pytestmark = pytest.mark.integration


def config_for(cluster: SimulatorCluster, settings: KafkaSettings, **source_overrides: Any) -> dict[str, Any]:
    config = cluster.config_dict(bootstrap_servers=settings.bootstrap_servers, poll_interval_seconds=0.5)
    config["kafka"].update(topics=settings.topics.model_dump(), partitions=3)
    for source in config["sources"]:
        source.update(timeout_seconds=2.0, poll_jitter_seconds=0.05, **source_overrides)
    return config


async def records(settings: KafkaSettings, topic: str) -> list[dict[str, Any]]:
    return [item.record async for item in tail_topic(settings, topic, EventDeserializer()) if item.record]


async def test_health_metrics_unknown_states_and_a_failing_source(kafka_settings: KafkaSettings) -> None:
    now = datetime.now(UTC)
    sim = Simulation(seed=5, start=now, speed=1.0, history_days=0.1, tenants=daytime_tenants(now))
    async with SimulatorCluster(sim, vendors=["vonage", "koreai", "rocketchat", "convoso-productivity"]) as cluster:
        cluster.faults("koreai").add("server_error", status=503, times=None)  # down for good
        cluster.faults("vonage").add("schema_drift", variant="unseen_states", times=None, after=1)
        cluster.faults("convoso-productivity").add("schema_drift", variant="unseen_states", times=None)
        config = parse_config(config_for(cluster, kafka_settings))
        runtime = ConnectorRuntime(config, retry=RetryPolicy(max_retries=1, base_delay=0.01, max_delay=0.02))
        await runtime.start()
        try:
            assert runtime.server is not None
            url = f"http://127.0.0.1:{runtime.server.port}"
            deadline = asyncio.get_running_loop().time() + 30
            async with httpx.AsyncClient(base_url=url) as client:
                while True:
                    health = await client.get("/healthz")
                    sources = health.json()["sources"]
                    if (sources["sim-koreai"]["status"] == "unhealthy"
                            and sources["sim-vonage"]["status"] == "healthy"
                            and sources["sim-rocketchat"]["status"] == "healthy"
                            and sources["sim-convoso-productivity"]["status"] == "healthy"):
                        break
                    assert asyncio.get_running_loop().time() < deadline, sources
                    await asyncio.sleep(0.2)
                assert health.status_code == 503 and health.json()["status"] == "degraded"
                assert "503" in sources["sim-koreai"]["last_error"]
                metrics = (await client.get("/metrics")).text
        finally:
            await runtime.stop()
    assert 'connector_polls_total{outcome="ok",source="sim-vonage"}' in metrics
    assert 'connector_errors_total{kind="server_error",source="sim-koreai"}' in metrics
    assert 'connector_source_healthy{source="sim-koreai"} 0.0' in metrics
    assert "connector_request_seconds_bucket" in metrics and "connector_cursor_lag_seconds" in metrics
    assert 'connector_unknown_vendor_states_total{source="sim-vonage",vendor_state="Presence:' in metrics \
        or 'connector_unknown_vendor_states_total{source="sim-vonage",vendor_state="Interaction:' in metrics
    assert 'connector_unknown_vendor_states_total{source="sim-convoso-productivity",vendor_state="PAUSED"}' in metrics
    events = await records(kafka_settings, kafka_settings.topics.agent_state)
    unknown = [e for e in events if e["state"] == "UNKNOWN"]
    assert unknown, "unseen vendor states map to UNKNOWN"
    assert {e["vendor"] for e in unknown} >= {"convoso-productivity"}
    unseen = ("Busy", "Offline", "Monitoring", "PAUSED", "INCALL", "Dispo")
    assert all(any(s in e["vendor_state"] for s in unseen) for e in unknown), "the raw state is kept"
    assert {e["vendor"] for e in events} >= {"vonage"}
    assert not [e for e in events if e["vendor"] == "koreai"]
    assert await records(kafka_settings, kafka_settings.topics.conversation_observations)


async def test_backfill_reads_a_past_range_without_moving_the_live_cursor(kafka_settings: KafkaSettings) -> None:
    now = datetime.now(UTC)
    sim = Simulation(seed=9, start=now, speed=1.0, history_days=0.3, tenants=daytime_tenants(now, local_hour=15))
    async with SimulatorCluster(sim, vendors=["vonage"], options={"vonage": {"page_size": 20}}) as cluster:
        config = parse_config(config_for(cluster, kafka_settings))
        end = sim.now() - timedelta(hours=2)
        start = end - timedelta(hours=2)
        result = await run_backfill(config, "sim-vonage", start, end)
        again = await run_backfill(config, "sim-vonage", start, end)  # resumes its finished cursor: nothing new
    assert result.events > 20 and again.events == 0
    async with EventProducer(kafka_settings) as producer:
        cursors = await OffsetStore(kafka_settings, producer).load()
    assert "sim-vonage" not in cursors and backfill_key("sim-vonage", start, end) in cursors
    events = await records(kafka_settings, kafka_settings.topics.agent_state)
    assert len(events) == result.events
    # Processed windows report activities processed in the range: some began before it or end after it
    assert all(to_millis(start) - 86_400_000 <= to_millis(e["occurred_at"]) <= to_millis(sim.now()) for e in events)
    assert sum(to_millis(start) <= to_millis(e["occurred_at"]) <= to_millis(end) for e in events) > 0.9 * len(events)
    # every change inside the range is there (from an hour in: the presences are known by then)
    tenant = cluster.tenant("vonage")
    for agent in sim.centre.tenant(tenant).agents:
        mine = {(to_millis(e["occurred_at"]), e["state"]) for e in events if e["agent_id"] == agent.agent_id}
        previous = None
        inside = (start + timedelta(hours=1), end - timedelta(minutes=1))
        for segment in sim.truth.timeline(tenant, agent.agent_id, *inside):
            if previous is not None and segment.state != previous:
                assert (segment.start, segment.state.value) in mine, (agent.agent_id, segment.start)
            previous = segment.state
    assert {e["state"] for e in events} <= {s.value for s in AgentState}
