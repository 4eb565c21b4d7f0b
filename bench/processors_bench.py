"""Processors side: events/s through the availability tables per worker, worker memory by agents, freshness.

Workers run as real subprocesses (``agent-connector process``), as in production. Throughput is
the time from the first record produced to the last one committed through both stages, read
from the consumer group's committed offsets (commit interval 1 s), so it is a slight
underestimate of what the worker did.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import yaml
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench import ceilings
from bench.common import kafka_settings
from bench.services import Worker
from bench.stats import Series, ratios
from connector.config import KafkaSettings
from connector.kafka.client import client_options
from connector.kafka.producer import EventProducer
from connector.kafka.topics import connector_topics, provision_topics
from connector.model import AgentState, AgentStateChanged, deterministic_event_id
from connector.processors.transport import fetched_end_offsets

__all__ = ["ProcessorFigures", "synthetic_events", "throughput_and_memory"]

STATES = (AgentState.AVAILABLE, AgentState.BUSY, AgentState.WRAP_UP, AgentState.AVAILABLE, AgentState.AWAY)


@dataclass
class ProcessorFigures:
    rows: list[Series] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    memory: list[dict[str, float]] = field(default_factory=list)


def synthetic_events(first_agent: int, last_agent: int, per_agent: int, start: datetime) -> list[AgentStateChanged]:
    """``per_agent`` state changes for each agent in [first, last): 100 tenants (one per source at scale), each
    with up to 20 campaigns, 8 queues and 5 skills."""
    events = []
    for round_ in range(per_agent):
        for a in range(first_agent, last_agent):
            tenant, agent = f"tenant-{a % 100:03d}", f"agent-{a:06d}"
            state = STATES[(a + round_) % len(STATES)]
            previous = STATES[(a + round_ - 1) % len(STATES)] if round_ else None
            events.append(AgentStateChanged(
                event_id=deterministic_event_id("vonage", tenant, agent, f"{a}-{round_}"),
                vendor="vonage", tenant=tenant, source="bench", agent_id=agent, state=state, previous_state=previous,
                vendor_state=state.value.title(), reason=None,
                occurred_at=start + timedelta(seconds=a % 600 + 30 * round_),
                source_cursor='{"page":1}', campaign_id=str(1000 + a // 100 % 20), queue_id=str(200 + a // 100 % 8),
                skills=(("english", "sales", "support", "billing", "spanish")[a // 100 % 5],),
            ))
    return events


def write_config(path: Path, settings: KafkaSettings) -> Path:
    path.write_text(yaml.safe_dump({"kafka": settings.model_dump(mode="json", exclude_none=True)}))
    return path


async def committed(settings: KafkaSettings, group: str, topic: str) -> int:
    """Input records the group has committed (one producer, so offsets count records)."""
    consumer = AIOKafkaConsumer(**client_options(settings), group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        return sum([await consumer.committed(tp) or 0 for tp in partitions])
    finally:
        await consumer.stop()


async def _group_changes_end(settings: KafkaSettings, topic: str) -> int:
    """Records on the worker's group-changes topic (end offsets confirmed by a fetch)."""
    consumer = AIOKafkaConsumer(**client_options(settings), enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        listed = await consumer.end_offsets(partitions) if partitions else {}
    finally:
        await consumer.stop()
    return sum((await fetched_end_offsets(settings, listed)).values())


async def _wait_committed(settings: KafkaSettings, worker: Worker, target: int, started: float,
                          limit: float) -> float:
    """Seconds from ``started`` until ``target`` input events are through both stages: agent events committed, then
    every group-change message they caused committed (the second stage is what makes the group
    tables right, so it is what counts)."""
    group_topic = f"{worker.app_id}-group-changes"
    while True:
        if not worker.alive():
            raise RuntimeError(f"processors worker exited: {worker.tail()}")
        agent_done = await committed(settings, worker.app_id, settings.topics.agent_state)
        now = time.perf_counter()
        if agent_done >= target:
            group_done = await committed(settings, worker.app_id, group_topic)
            if group_done >= await _group_changes_end(settings, group_topic):
                return now - started
        if now - started > limit:
            raise TimeoutError(f"worker committed {agent_done} of {target} events in {limit:.0f} s")
        await asyncio.sleep(0.1)


def faust_ceiling(config: Path, topic: str, count: int, workdir: Path, limit: float = 180.0) -> float:
    """Events/s of a faust agent doing nothing with ``count`` records of ``topic`` (``bench.faust_ceiling``)."""
    out = workdir / f"faust-ceiling-{uuid.uuid4().hex[:8]}.json"
    with (workdir / "faust-ceiling.log").open("ab") as log:
        try:
            subprocess.run([sys.executable, "-m", "bench.faust_ceiling", str(config), topic, str(count), str(out)],
                           stdout=log, stderr=log, cwd=Path(__file__).resolve().parent.parent, timeout=limit,
                           check=False)
        except subprocess.TimeoutExpired:
            raise TimeoutError(f"the faust ceiling did not read {count} records in {limit:.0f} s") from None
    if not out.exists():
        raise RuntimeError("the faust ceiling exited without a result; see faust-ceiling.log")
    rate: float = json.loads(out.read_text())["events_per_second"]
    return rate


async def _ceilings(bootstrap: str, workdir: Path, events: list[AgentStateChanged]) -> tuple[float, float]:
    """The raw consumer and the faust agent ceilings over ``events``, written to a topic of their own."""
    twin = kafka_settings(bootstrap)
    await provision_topics(twin, connector_topics(twin))
    config = write_config(workdir / f"ceiling-{uuid.uuid4().hex[:8]}.yaml", twin)
    producer = EventProducer(twin)
    await producer.start()
    try:
        await _produce(producer, twin.topics.agent_state, events)
    finally:
        await producer.stop()
    raw = await ceilings.consumer_ceiling(bootstrap, twin.topics.agent_state, len(events))
    framework = await asyncio.to_thread(faust_ceiling, config, twin.topics.agent_state, len(events), workdir)
    return raw, framework


async def _produce(producer: EventProducer, topic: str, events: list[AgentStateChanged]) -> None:
    for i in range(0, len(events), 5000):
        await producer.send_all([(topic, e) for e in events[i:i + 5000]])


async def throughput_and_memory(bootstrap: str, workdir: Path, *, repeats: int, agent_steps: tuple[int, ...],
                                per_agent: int, figures: ProcessorFigures, profile_to: Path | None = None) -> None:
    """Per repeat: a fresh worker; feed agents step by step; after each step the worker's RSS; the last
    step's events/s against the raw consumer and faust agent ceilings over the same records, measured
    just before on a topic of their own."""
    rate = Series(f"processors events/s, 1 worker ({agent_steps[-1] - agent_steps[-2]:,} agents x {per_agent} "
                  f"changes)", "events/s")
    cpu = Series("processors worker CPU per event, both stages", "µs/event")
    ceiling = Series("raw aiokafka consumer ceiling (same records)", "events/s")
    framework = Series("faust agent ceiling: a no-op agent (same records, same transport)", "events/s")
    rss: dict[int, Series] = {n: Series(f"processors worker resident memory, {n:,} agents", "MB")
                              for n in (0, *agent_steps)}
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    for repeat in range(repeats):
        settings = kafka_settings(bootstrap)
        await provision_topics(settings, connector_topics(settings))
        config = write_config(workdir / f"processors-{repeat}.yaml", settings)
        worker = Worker(config, f"bench-{uuid.uuid4().hex[:8]}", workdir, f"worker-{repeat}",
                        profile_to=profile_to if repeat == repeats - 1 else None)
        producer = EventProducer(settings)
        await producer.start()
        try:
            await _wait_web(worker)
            await asyncio.sleep(2.0)  # let the worker settle its assignment
            rss[0].add(worker.stat().rss_mb)
            produced, previous, measured, measured_faust = 0, 0, 0.0, 0.0
            for step, agents in enumerate(agent_steps):
                events = synthetic_events(previous, agents, per_agent, start)
                last = step == len(agent_steps) - 1
                if last:  # the ceilings over the same records on a twin topic, before the worker sees them
                    measured, measured_faust = await _ceilings(bootstrap, workdir, events)
                started, cpu_before = time.perf_counter(), worker.stat().cpu_seconds
                await _produce(producer, settings.topics.agent_state, events)
                produced += len(events)
                seconds = await _wait_committed(settings, worker, produced, started, limit=400)
                if last:  # each run's rate paired with the ceilings measured in the same run
                    cpu.add(1e6 * (worker.stat().cpu_seconds - cpu_before) / len(events))
                    rate.add(len(events) / seconds)
                    ceiling.add(measured)
                    framework.add(measured_faust)
                await asyncio.sleep(1.0)  # table writes after the last commit
                rss[agents].add(worker.stat().rss_mb)
                previous = agents
        finally:
            await producer.stop()
            worker.stop(timeout=30)
    figures.rows += [rate, cpu, ceiling, ratios(rate, ceiling, "processors / consumer ceiling"), framework,
                     ratios(rate, framework, "processors / faust agent ceiling"), *rss.values()]
    for agents, series in rss.items():
        figures.memory.append({"agents": agents, "rss_mb": series.median})


async def _wait_web(worker: Worker, limit: float = 90.0) -> None:
    deadline = time.monotonic() + limit
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            if not worker.alive():
                raise RuntimeError(f"processors worker exited: {worker.tail()}")
            try:
                response = await client.get(f"{worker.url}/availability/groups")
                if response.status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
    raise TimeoutError(f"processors worker query API did not answer: {worker.tail()}")


