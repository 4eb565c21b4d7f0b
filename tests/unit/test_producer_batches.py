"""Records go straight into aiokafka's record builder: the batch is the one its ``append`` would build."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.record.default_records import DefaultRecordBatch
from aiokafka.structs import RecordMetadata, TopicPartition

from connector.config import KafkaSettings
from connector.kafka.producer import EventProducer, _Batch
from connector.model import AgentGroupObserved, Event
from tests.support.events import state_change

HEADERS = [("event_type", b"AgentStateChanged"), ("schema", b"s")]


def _records(builder: BatchBuilder) -> list[tuple[Any, ...]]:
    batch = DefaultRecordBatch(bytes(builder._build()))
    return [(r.offset, r.key, r.value, list(r.headers)) for r in batch]


def test_the_direct_path_builds_what_append_builds_and_counts_the_records() -> None:
    """Same records, offsets and headers; ``record_count`` (the idempotent producer's sequence step) set."""
    records = [(f"k{n % 3}".encode(), b"v" * n, HEADERS) for n in range(50)]
    direct = _Batch(TopicPartition("t", 0), BatchBuilder(1 << 20, 0))
    assert direct.direct
    for n, (key, value, headers) in enumerate(records):
        assert direct.append(n, None, key, value, headers) is not None
        direct.count += 1
    direct.seal()
    public = BatchBuilder(1 << 20, 0)
    for key, value, headers in records:
        public.append(timestamp=None, key=key, value=value, headers=headers)
    public.close()
    assert direct.builder.record_count() == public.record_count() == 50
    assert direct.builder.closed()
    assert _records(direct.builder) == _records(public)


def test_a_full_batch_refuses_and_another_builder_goes_through_its_append() -> None:
    full = _Batch(TopicPartition("t", 0), BatchBuilder(200, 0))
    assert full.append(0, None, b"k", b"x" * 100, []) is not None  # the first record always fits
    assert full.append(1, None, b"k", b"x" * 300, []) is None

    class StandIn:
        def __init__(self) -> None:
            self.appended: list[tuple[Any, ...]] = []
            self.closed = False

        def append(self, *, timestamp: Any, key: Any, value: Any, headers: Any) -> object:
            self.appended.append((timestamp, key, value, headers))
            return object()

        def close(self) -> None:
            self.closed = True

    stand_in = StandIn()
    other = _Batch(TopicPartition("t", 1), stand_in)
    assert not other.direct
    assert other.append(0, None, b"k", b"v", HEADERS) is not None
    other.seal()
    assert stand_in.appended == [(None, b"k", b"v", HEADERS)] and stand_in.closed


class FakeKafka:
    """aiokafka's producer as ``begin_send_all`` uses it: batches kept, acknowledged at once."""

    _max_request_size = 1 << 20

    def __init__(self, partitions: int) -> None:
        self.partitions = partitions
        self.sent: list[tuple[str, int, BatchBuilder]] = []

    def create_batch(self) -> BatchBuilder:
        return BatchBuilder(600, 0)  # small: a few records a batch, so full batches are handed over too

    async def partitions_for(self, topic: str) -> set[int]:
        return set(range(self.partitions))

    async def send_batch(self, builder: BatchBuilder, topic: str, *, partition: int) -> asyncio.Future[Any]:
        self.sent.append((topic, partition, builder))
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        base = sum(b.record_count() for t, p, b in self.sent[:-1] if (t, p) == (topic, partition))
        future.set_result(RecordMetadata(topic, partition, TopicPartition(topic, partition), base, -1, 0, -1))
        return future


def _observation(n: int) -> AgentGroupObserved:
    return AgentGroupObserved(event_id=f"g{n}", vendor="convoso", tenant="acme", source="s", group_key=f"q{n % 2}",
                              observed_at=state_change().occurred_at, available_agents=n, logged_in_agents=n,
                              source_cursor="c")


def test_records_go_to_the_murmur2_partition_of_their_key_in_order_with_their_offsets() -> None:
    """Two topics, two event classes interleaved, keys repeating, batches filling up: every record lands
    on its key's partition in order, and the metadata gives each its place."""
    async def run(partitions: int, items: list[tuple[str, Event]], producer: EventProducer) -> list[Any]:
        fake = producer._producer = FakeKafka(partitions)  # type: ignore[assignment]
        metadata = await (await producer.begin_send_all(items))
        got: dict[tuple[str, int], list[tuple[Any, ...]]] = {}
        for topic, partition, builder in fake.sent:
            got.setdefault((topic, partition), []).extend(r[1:3] for r in _records(builder))
        expected: dict[tuple[str, int], list[tuple[Any, ...]]] = {}
        choose = DefaultPartitioner()
        for n, (topic, event) in enumerate(items):
            key = event.kafka_key()
            where = (topic, int(choose(key, list(range(partitions)), list(range(partitions)))))
            expected.setdefault(where, []).append((key, producer.serializer.serialize(topic, event)))
            assert (metadata[n].topic, metadata[n].partition) == where
            assert metadata[n].offset == len(expected[where]) - 1
        assert got == expected
        return metadata

    items: list[tuple[str, Event]] = []
    for n in range(60):
        items.append(("states", state_change(agent_id=f"agent-{n % 7}", record=str(n))))
        if n % 5 == 0:
            items.append(("groups", _observation(n)))
    producer = EventProducer(KafkaSettings())
    asyncio.run(run(3, items, producer))
    asyncio.run(run(3, items[::-1], producer))  # routes remembered from the last call
    asyncio.run(run(7, items, producer))  # partitions added: every key routed afresh
