"""Producer -> broker -> consumer, topic provisioning, the offsets store across process restarts, and tail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from connector.config import KafkaSettings
from connector.kafka.client import client_options
from connector.kafka.offsets import OffsetStore
from connector.kafka.producer import EventProducer
from connector.kafka.topics import connector_topics, provision_topics
from connector.model import AgentState
from connector.serde.codec import EventDeserializer
from tests.support.events import state_change

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


async def test_provisioning_creates_partitions_and_compaction(kafka_settings: KafkaSettings) -> None:
    specs = connector_topics(kafka_settings)
    created = await provision_topics(kafka_settings, specs)
    assert sorted(created) == sorted(s.name for s in specs)
    assert await provision_topics(kafka_settings, specs) == []  # idempotent
    admin = AIOKafkaAdminClient(**client_options(kafka_settings))
    await admin.start()
    try:
        described = {t["topic"]: t for t in await admin.describe_topics([kafka_settings.topics.agent_state])}
        assert len(described[kafka_settings.topics.agent_state]["partitions"]) == 3
        configs = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, kafka_settings.topics.offsets)])
        entries = {e[0]: e[1] for e in configs[0].resources[0][4]}
        assert entries.get("cleanup.policy") == "compact"
    finally:
        await admin.close()


async def test_round_trip_keeps_per_agent_order_with_keys_and_headers(kafka_settings: KafkaSettings) -> None:
    await provision_topics(kafka_settings, connector_topics(kafka_settings))
    topic = kafka_settings.topics.agent_state
    states = [AgentState.AVAILABLE, AgentState.BUSY, AgentState.WRAP_UP, AgentState.AWAY, AgentState.OFFLINE]
    events = [state_change(agent_id=f"agent-{a}", state=s, record=f"{a}-{i}")
              for i, s in enumerate(states) for a in range(4)]
    async with EventProducer(kafka_settings) as producer:
        acks = await producer.send_all((topic, e) for e in events)
    assert len(acks) == len(events)
    consumer = AIOKafkaConsumer(topic, **client_options(kafka_settings), auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    received = []
    try:
        while len(received) < len(events):
            for messages in (await consumer.getmany(timeout_ms=2000)).values():
                received.extend(messages)
    finally:
        await consumer.stop()
    deserializer = EventDeserializer()
    by_agent: dict[str, list[AgentState]] = {}
    partitions: dict[bytes, set[int]] = {}
    for message in received:
        event = deserializer.decode_event(message.value)
        assert message.key == f"acme:vonage:{event.agent_id}".encode()  # type: ignore[attr-defined]
        assert dict(message.headers)["event_type"] == b"AgentStateChanged"
        assert dict(message.headers)["schema"] == b"agentconnector.events.AgentStateChanged"
        partitions.setdefault(message.key, set()).add(message.partition)
        by_agent.setdefault(event.agent_id, []).append(event.state)  # type: ignore[attr-defined]
    assert all(len(p) == 1 for p in partitions.values())  # one agent, one partition
    assert by_agent == {f"agent-{a}": states for a in range(4)}


_OWNER = textwrap.dedent("""
    import asyncio, json, os, sys
    from connector.config import KafkaSettings, TopicNames
    from connector.kafka.offsets import OffsetStore
    from connector.kafka.producer import EventProducer

    async def main():
        settings = KafkaSettings.model_validate_json(os.environ["SETTINGS"])
        async with EventProducer(settings) as producer:
            store = OffsetStore(settings, producer)
            print(json.dumps(await store.load()), flush=True)
            for line in sys.stdin:
                source, cursor = line.split(" ", 1)
                if cursor.strip() == "FORGET":
                    await store.forget(source)
                else:
                    await store.commit(source, json.loads(cursor))
                print("committed", flush=True)
            os._exit(9) if os.environ.get("CRASH") else None

    asyncio.run(main())
""")


def _owner(settings: KafkaSettings, lines: list[str], crash: bool = False) -> tuple[dict, list[str]]:  # type: ignore[type-arg]
    env = {**os.environ, "SETTINGS": settings.model_dump_json(), **({"CRASH": "1"} if crash else {})}
    done = subprocess.run([sys.executable, "-c", _OWNER], input="".join(f"{line}\n" for line in lines), env=env,
                          capture_output=True, text=True, timeout=60, cwd=REPO)
    out = done.stdout.splitlines()
    assert out, done.stderr
    return json.loads(out[0]), out[1:]


async def test_offsets_store_survives_restarts_of_its_owner(kafka_settings: KafkaSettings) -> None:
    await provision_topics(kafka_settings, connector_topics(kafka_settings))
    loaded, acks = _owner(kafka_settings, ['vonage-1 {"upTo": "2025-01-01T00:00:00Z"}',
                                           'koreai-1 {"date": "2025-01-01", "offset": 50}',
                                           'vonage-1 {"upTo": "2025-01-01T00:05:00Z"}'])
    assert loaded == {} and acks == ["committed"] * 3
    # a second process, killed hard right after its commits were acknowledged
    loaded, _ = _owner(kafka_settings, ['rocket-1 {"window_end": 5}'], crash=True)
    assert loaded == {"vonage-1": {"upTo": "2025-01-01T00:05:00Z"}, "koreai-1": {"date": "2025-01-01", "offset": 50}}
    loaded, _ = _owner(kafka_settings, ["koreai-1 FORGET"])
    assert loaded["rocket-1"] == {"window_end": 5} and loaded["vonage-1"]["upTo"].endswith("00:05:00Z")
    async with EventProducer(kafka_settings) as producer:
        final = await OffsetStore(kafka_settings, producer).load()
    assert set(final) == {"vonage-1", "rocket-1"}


def test_tail_prints_events_another_process_produced(kafka_settings: KafkaSettings, tmp_path: Path) -> None:
    producer_script = textwrap.dedent("""
        import asyncio, os
        from connector.config import KafkaSettings
        from connector.kafka.producer import EventProducer
        from connector.kafka.topics import connector_topics, provision_topics
        from connector.model import AgentState
        from tests.support.events import state_change

        async def main():
            settings = KafkaSettings.model_validate_json(os.environ["SETTINGS"])
            await provision_topics(settings, connector_topics(settings))
            async with EventProducer(settings) as producer:
                await producer.send_all((settings.topics.agent_state,
                                         state_change(agent_id=f"a{i}", state=AgentState.BUSY, record=str(i)))
                                        for i in range(5))
        asyncio.run(main())
    """)
    env = {**os.environ, "SETTINGS": kafka_settings.model_dump_json()}
    subprocess.run([sys.executable, "-c", producer_script], env=env, check=True, timeout=60, cwd=REPO)
    tail = subprocess.run(
        [sys.executable, "-m", "connector.cli", "--log-level", "WARNING", "tail", kafka_settings.topics.agent_state,
         "--bootstrap-servers", kafka_settings.bootstrap_servers, "--from-beginning"],
        capture_output=True, text=True, timeout=60, cwd=REPO, env=os.environ.copy())
    assert tail.returncode == 0, tail.stderr
    lines = [json.loads(line) for line in tail.stdout.splitlines()]
    assert sorted(line["agent_id"] for line in lines) == [f"a{i}" for i in range(5)]
    first = lines[0]
    assert first["event_type"] == "AgentStateChanged" and first["state"] == "BUSY"
    assert first["occurred_at"] == "2025-05-28T11:57:17.000Z"
    assert first["key"] == f"acme:vonage:{first['agent_id']}"


async def test_handed_over_events_are_on_their_way_before_the_caller_awaits_their_acks(
        kafka_settings: KafkaSettings) -> None:
    """begin_send_all returns once the sender has written the batches: the broker answers while the caller works.

    Without those loop turns the batches wait for the caller's work to end and the acks for a
    whole round trip after it (hundreds of turns of the loop below, not a handful)."""
    import asyncio
    import time

    await provision_topics(kafka_settings, connector_topics(kafka_settings))
    topic = kafka_settings.topics.agent_state
    events = [state_change(agent_id="agent-1", record=f"r-{n}") for n in range(6)]
    async with EventProducer(kafka_settings) as producer:
        await producer.send_all([(topic, events[0])])  # metadata and connection warm
        acks = await producer.begin_send_all((topic, e) for e in events)
        time.sleep(0.3)  # noqa: ASYNC251 - the caller's CPU-bound work: no loop turns for anyone
        turns = 0
        while not acks.done() and turns < 1000:
            await asyncio.sleep(0)
            turns += 1
        assert turns <= 30
        offsets = [m.offset for m in acks.result()]
        assert offsets == list(range(offsets[0], offsets[0] + len(events)))
        bare = await producer.begin_send_all(((topic, e) for e in events), metadata=False)
        assert await bare == []
