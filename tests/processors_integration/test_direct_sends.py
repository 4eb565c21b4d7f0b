"""Direct sends (table writes, group changes, availability, alerts) straight to aiokafka.

Against the real broker: records reach their partitions in the order sent, a record leaves on
its own after the producer's linger, and a flush returns only once everything sent is acknowledged.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from connector.config import KafkaSettings
from connector.kafka.client import client_options
from connector.kafka.topics import TopicSpec, provision_topics
from connector.processors.streams import PRODUCER_MAX_BATCH_BYTES
from connector.processors.transport import AvailabilityApp, DrainingProducer, direct_producer, fetched_end_offsets

PARTITIONS = 2


@pytest.fixture
async def producer(kafka_settings: KafkaSettings, tmp_path: Path) -> AsyncIterator[DrainingProducer]:
    app = AvailabilityApp(f"direct-{uuid.uuid4().hex[:8]}", kafka_settings=kafka_settings, autodiscover=False,
                          datadir=str(tmp_path), store="memory://", broker=f"kafka://{kafka_settings.bootstrap_servers}",
                          producer_acks=-1, producer_max_batch_size=PRODUCER_MAX_BATCH_BYTES)
    sender = direct_producer(app)
    await sender.start()
    try:
        yield sender
    finally:
        await sender.stop()


async def topic(settings: KafkaSettings) -> str:
    name = f"direct-{uuid.uuid4().hex[:8]}"
    await provision_topics(settings, [TopicSpec(name, PARTITIONS)])
    return name


async def read(settings: KafkaSettings, name: str, expected: int, within: float = 20.0) -> dict[int, list[bytes]]:
    """Every record's value per partition, in offset order, once ``expected`` have arrived."""
    consumer = AIOKafkaConsumer(**client_options(settings), enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    found: dict[int, list[bytes]] = {p: [] for p in range(PARTITIONS)}
    try:
        consumer.assign([TopicPartition(name, p) for p in range(PARTITIONS)])
        deadline = asyncio.get_running_loop().time() + within
        while sum(map(len, found.values())) < expected and asyncio.get_running_loop().time() < deadline:
            for tp, records in (await consumer.getmany(timeout_ms=200)).items():
                found[tp.partition] += [r.value for r in records if r.value is not None]
    finally:
        await consumer.stop()
    return found


async def end_offsets(settings: KafkaSettings, name: str) -> int:
    """Records on the topic now (listed ends, checked by a fetch: the embedded broker lists them short)."""
    consumer = AIOKafkaConsumer(**client_options(settings), enable_auto_commit=False)
    await consumer.start()
    try:
        listed = await consumer.end_offsets([TopicPartition(name, p) for p in range(PARTITIONS)])
    finally:
        await consumer.stop()
    return sum((await fetched_end_offsets(settings, listed)).values())


async def test_full_batches_and_concurrent_senders_keep_each_partitions_order(
        producer: DrainingProducer, kafka_settings: KafkaSettings) -> None:
    name = await topic(kafka_settings)
    value = b"x" * 2000  # ~130 to a batch: each sender fills several

    async def sender(tag: bytes, count: int) -> None:
        for i in range(count):
            await producer.send_direct(name, tag, tag + b"%05d" % i + value, partition=i % PARTITIONS)
            if i % 50 == 0:
                await asyncio.sleep(0)  # interleave with the other sender

    await asyncio.gather(sender(b"a", 600), sender(b"b", 600))
    await producer.flush()
    found = await read(kafka_settings, name, 1200)
    for partition, values in found.items():
        for tag in (b"a", b"b"):
            sequence = [int(v[1:6]) for v in values if v[:1] == tag]
            assert sequence == list(range(partition, 600, PARTITIONS)), f"{tag!r} out of order on {partition}"


async def test_a_part_filled_batch_leaves_without_a_flush(producer: DrainingProducer,
                                                         kafka_settings: KafkaSettings) -> None:
    name = await topic(kafka_settings)
    for i in range(3):
        await producer.send_direct(name, b"k", b"v%d" % i, [("h", b"1")], partition=1)
    found = await read(kafka_settings, name, 3, within=10)  # no flush: the linger hands it over
    assert found[1] == [b"v0", b"v1", b"v2"]


async def test_flush_returns_once_every_record_sent_is_acknowledged(producer: DrainingProducer,
                                                                     kafka_settings: KafkaSettings) -> None:
    name = await topic(kafka_settings)
    for i in range(500):
        await producer.send_direct(name, b"k%d" % i, b"v" * 100, partition=i % PARTITIONS)
    await producer.flush()
    assert await end_offsets(kafka_settings, name) == 500
