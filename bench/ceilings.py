"""What the hardware and libraries allow at best: the ceilings our pipeline is compared against."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from connector.serde.codec import EventSerializer
from tests.support.events import state_change


def sample_payload() -> bytes:
    """An encoded AgentStateChanged of typical size: the ceilings use payloads of the same size."""
    return EventSerializer().serialize("bench", state_change(agent_id="agent-000123", record="bench"))


async def create_topic(bootstrap: str, partitions: int = 3) -> str:
    name = f"bench-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, partitions, 1)])
    finally:
        await admin.close()
    return name


async def producer_ceiling(bootstrap: str, topic: str, count: int, payload: bytes) -> float:
    """Raw aiokafka: acks=all, same linger and batch size as our producer; events/s until all acked."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=256 * 1024)
    await producer.start()
    try:
        keys = [f"acme:vonage:agent-{i % 500}".encode() for i in range(count)]
        started = time.perf_counter()
        futures = [await producer.send(topic, payload, key=key) for key in keys]
        await asyncio.gather(*futures)
        return count / (time.perf_counter() - started)
    finally:
        await producer.stop()


async def consumer_ceiling(bootstrap: str, topic: str, count: int) -> float:
    """Raw aiokafka: fetch and iterate ``count`` records without decoding them."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        seen = 0
        started = time.perf_counter()
        while seen < count:
            for messages in (await consumer.getmany(timeout_ms=1000, max_records=10_000)).values():
                seen += len(messages)
        return seen / (time.perf_counter() - started)
    finally:
        await consumer.stop()


def avro_encode_rate(count: int) -> float:
    serializer = EventSerializer()
    events = [state_change(agent_id=f"agent-{i}", record=str(i)) for i in range(1000)]
    records = [e.as_avro() for e in events]
    serializer.prepare("bench", events[0].schema_name)
    started = time.perf_counter()
    for i in range(count):
        serializer.serialize_record("bench", events[0].schema_name, records[i % 1000])
    return count / (time.perf_counter() - started)


def json_parse_rate(page: bytes, records_per_page: int, rounds: int) -> float:
    """Records/s of parsing a vendor page with the stdlib json module (what httpx uses)."""
    started = time.perf_counter()
    for _ in range(rounds):
        json.loads(page)
    return rounds * records_per_page / (time.perf_counter() - started)


def convoso_page(records: int) -> bytes:
    entry = {"id": "999999993", "user_id": "12345678", "state": "LOGIN", "availability_code": "1",
             "campaign_id": "1234", "event_epoch": "1748433437", "event_sec": "00:00:03",
             "created_at": "2025-05-28 04:57:17", "browser": "agent-dt.convoso.com ---- Mozilla/5.0",
             "ip_address": "124.106.110.20", "user_uid": "xxxxisbvax4z4mgembpadlrws6xxxx",
             "user_name": "Example Agent", "availability_code_name": "", "campaign_uid": "x86t69rrnncou5aj0oqm",
             "campaign_name": "Campaign 1", "campaign_type": "Normal", "availability_name": "Login"}
    return json.dumps({"success": True, "data": {"offset": 0, "limit": str(records), "total": str(records),
                                                 "entries": [entry] * records}}).encode()
