"""The repairs behind the processors' at-least-once guarantee, on the real broker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from connector.config import KafkaSettings
from connector.kafka.client import client_options
from connector.kafka.topics import TopicSpec, provision_topics
from connector.processors.continuity import ContinuityGuard
from connector.processors.transport import fetched_end_offsets

pytestmark = pytest.mark.integration


async def write_batches(settings: KafkaSettings, topic: str, batches: list[int]) -> None:
    """``batches[i]`` records in one produce batch each, all to partition 0."""
    await provision_topics(settings, [TopicSpec(topic, 1)])
    producer = AIOKafkaProducer(**client_options(settings), linger_ms=100)
    await producer.start()
    try:
        written = 0
        for size in batches:
            futures = [await producer.send(topic, f"r{written + i}".encode(), partition=0) for i in range(size)]
            await asyncio.gather(*futures)
            written += size
    finally:
        await producer.stop()


async def listed_end(settings: KafkaSettings, tp: TopicPartition) -> int:
    consumer = AIOKafkaConsumer(**client_options(settings))
    await consumer.start()
    try:
        end: int = (await consumer.end_offsets([tp]))[tp]
        return end
    finally:
        await consumer.stop()


async def test_end_offsets_are_checked_against_a_fetch(kafka_settings: KafkaSettings) -> None:
    topic = kafka_settings.topics.agent_state
    await write_batches(kafka_settings, topic, [10, 5])
    tp = TopicPartition(topic, 0)
    listed = await listed_end(kafka_settings, tp)
    checked = await fetched_end_offsets(kafka_settings, {tp: listed})
    assert checked[tp] == 15, f"listed end offset {listed}, checked {checked[tp]}"


@dataclass
class Message:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass
class Event:
    message: Message


class SkippingStream:
    """A stream that delivers only some offsets of the partition, as faust does when it drops records."""

    def __init__(self, topic: str, offsets: list[int]) -> None:
        self.topic, self.offsets = topic, offsets

    async def events(self) -> AsyncIterator[Event]:
        for offset in self.offsets:
            yield Event(Message(self.topic, 0, offset, None, f"r{offset}".encode()))


async def test_guard_reads_back_what_the_stream_skipped(kafka_settings: KafkaSettings) -> None:
    topic = kafka_settings.topics.agent_state
    await write_batches(kafka_settings, topic, [4, 4, 4])
    group = f"guard-{topic}"
    # the group had committed up to offset 2: the stream restarts there but its first record is 4
    committer = AIOKafkaConsumer(**client_options(kafka_settings), group_id=group, enable_auto_commit=False)
    await committer.start()
    committer.assign([TopicPartition(topic, 0)])
    await committer.commit({TopicPartition(topic, 0): OffsetAndMetadata(2, "")})
    await committer.stop()

    guard = ContinuityGuard(kafka_settings, group)
    try:
        seen = [(r.offset, r.value) async for r in guard.records(SkippingStream(topic, [4, 5, 9, 10, 11]))]
        assert [offset for offset, _ in seen] == list(range(2, 12))
        assert all(value == f"r{offset}".encode() for offset, value in seen)
        assert guard.refetched == 5
        # a revoked partition starts again from the committed offset; a re-delivered record is passed on
        guard.forget([TopicPartition(topic, 0)])
        again = [r.offset async for r in guard.records(SkippingStream(topic, [2, 3, 3]))]
        assert again == [2, 3, 3]
    finally:
        await guard.stop()


async def test_guard_starts_at_the_beginning_without_a_committed_offset(kafka_settings: KafkaSettings) -> None:
    topic = kafka_settings.topics.group_observations
    await write_batches(kafka_settings, topic, [3])
    guard = ContinuityGuard(kafka_settings, f"fresh-{topic}")
    stream: Any = SkippingStream(topic, [2])
    try:
        assert [r.offset async for r in guard.records(stream)] == [0, 1, 2]
    finally:
        await guard.stop()
