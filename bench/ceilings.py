"""What the hardware and libraries allow at best: the ceilings our pipeline is compared against.

Every ceiling uses our real records (the keys, Avro payloads and headers the pipeline
produced from the recorded vendor pages), so payload sizes are the same on both sides.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
import uuid
from collections.abc import Sequence
from typing import Any

import fastavro
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from fastavro import schemaless_writer

from connector.processors.transport import EMBEDDED_FETCH_MAX_WAIT_MS
from connector.schemas import load_schema

__all__ = ["Record", "avro_encode_rate", "consumer_ceiling", "create_topic", "json_parse_rate", "producer_ceiling"]

Record = tuple[bytes | None, bytes, list[tuple[str, bytes]]]  # key, value, headers


async def create_topic(bootstrap: str, partitions: int = 3) -> str:
    name = f"bench-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, partitions, 1)])
    finally:
        await admin.close()
    return name


async def producer_ceiling(bootstrap: str, topic: str, records: Sequence[Record]) -> float:
    """Raw aiokafka, the documented way: acks=all, our linger and batch size, ``await send`` each record,
    then gather every delivery future. Events/s until all are acknowledged."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=256 * 1024)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"warm-up", key=b"warm-up")
        started = time.perf_counter()
        futures = [await producer.send(topic, value, key=key, headers=headers) for key, value, headers in records]
        await asyncio.gather(*futures)
        return len(records) / (time.perf_counter() - started)
    finally:
        await producer.stop()


async def consumer_ceiling(bootstrap: str, topic: str, count: int) -> float:
    """Raw aiokafka: fetch and iterate ``count`` records from the start of ``topic`` without decoding them."""
    # the worker's own fetch wait on the embedded broker (EMBEDDED_FETCH_MAX_WAIT_MS), which holds a fetch that
    # spans several partitions for its whole wait once one of them is read out: with aiokafka's 500 ms a
    # partition that ends first stalled the others (18k records: 67k/s in some runs, 245k/s in others)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                fetch_max_wait_ms=EMBEDDED_FETCH_MAX_WAIT_MS)
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
                for message in messages:  # touch every record as a consumer loop would
                    seen += message.value is not None
        return seen / (time.perf_counter() - started)
    finally:
        await consumer.stop()


def avro_encode_rate(schema_name: str, records: Sequence[dict[str, Any]], count: int) -> float:
    """fastavro at its best on our schema: parsed once with its write hint, one reused buffer."""
    parsed = fastavro.parse_schema(load_schema(schema_name).source)
    buffer = io.BytesIO()
    n = len(records)
    started = time.perf_counter()
    for i in range(count):
        buffer.seek(0)
        buffer.truncate()
        schemaless_writer(buffer, parsed, records[i % n])
        buffer.getvalue()
    return count / (time.perf_counter() - started)


def json_parse_rate(pages: Sequence[bytes], records: int, min_seconds: float = 0.3) -> float:
    """Vendor records/s of parsing recorded vendor pages with the stdlib json module (what the runtime uses)."""
    rounds = 0
    started = time.perf_counter()
    while True:
        for page in pages:
            json.loads(page)
        rounds += 1
        elapsed = time.perf_counter() - started
        if elapsed >= min_seconds:
            return rounds * records / elapsed
