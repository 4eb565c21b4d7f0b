"""The event producer: acks=all, per-agent keys, typed headers, Avro values.

``send`` only enqueues and hands back a delivery future; callers that need the
at-least-once guarantee (the source runtime) await every future of a page before
committing the page's cursor.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import MessageSizeTooLargeError
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from aiokafka.structs import RecordMetadata, TopicPartition

from connector.config import KafkaSettings
from connector.kafka.client import client_options
from connector.model import Event
from connector.serde.codec import EventSerializer
from connector.serde.compiled import Encoder

__all__ = ["EventProducer"]

Headers = list[tuple[str, bytes]]


class EventProducer:
    def __init__(self, settings: KafkaSettings, serializer: EventSerializer | None = None) -> None:
        self.settings = settings
        self.serializer = serializer or EventSerializer()
        self._producer: AIOKafkaProducer | None = None
        self._headers: dict[str, Headers] = {}
        self._partitioner = DefaultPartitioner()
        self._partitions: dict[str, list[int]] = {}
        self._known_partitions: dict[str, list[int]] = {}
        self._partition_cache: dict[str, dict[bytes, TopicPartition]] = {}

    @property
    def producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise RuntimeError("EventProducer is not started: call 'await producer.start()' first")
        return self._producer

    async def start(self) -> None:
        self._producer = AIOKafkaProducer(
            **client_options(self.settings),
            acks="all",
            enable_idempotence=self.settings.idempotence,
            linger_ms=self.settings.linger_ms,
            max_batch_size=256 * 1024,
            request_timeout_ms=30_000,
        )
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            await producer.stop()  # flushes what is still buffered

    async def __aenter__(self) -> EventProducer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def _headers_for(self, event: Event) -> Headers:
        headers = self._headers.get(event.schema_name)
        if headers is None:
            headers = [
                ("event_type", event.event_type.encode()),
                ("schema", event.schema_name.encode()),
                ("content-type", self.serializer.content_type().encode()),
            ]
            self._headers[event.schema_name] = headers
        return headers

    async def prepare(self, topic: str, schema_name: str) -> None:
        """Register the schema for a topic ahead of time (registry mode does I/O once here)."""
        await asyncio.to_thread(self.serializer.prepare, topic, schema_name)

    async def send(self, topic: str, event: Event) -> asyncio.Future[RecordMetadata]:
        """Enqueue one event; the returned future resolves when the broker acknowledges it."""
        value = self.serializer.serialize(topic, event)
        future: asyncio.Future[RecordMetadata] = await self.producer.send(
            topic, value=value, key=event.kafka_key(), headers=self._headers_for(event)
        )
        return future

    async def send_raw(self, topic: str, key: bytes | None, value: bytes | None,
                       headers: Headers | None = None) -> asyncio.Future[RecordMetadata]:
        future: asyncio.Future[RecordMetadata] = await self.producer.send(
            topic, value=value, key=key, headers=headers or []
        )
        return future

    async def send_now(self, topic: str, key: bytes | None, value: bytes | None,
                       headers: Headers | None = None) -> asyncio.Future[RecordMetadata]:
        """One record in a batch of its own, handed over at once: no ``linger_ms`` wait.

        For a record the caller awaits right away (a cursor commit): ``send`` would hold it
        for ``linger_ms`` hoping for company that never comes. Same partition as ``send``.
        """
        headers = headers or []
        if value is not None and len(value) + len(key or b"") > _SIZE_CHECK_FROM:
            self._check_size(key, value, headers)
        self._partitions.pop(topic, None)  # the partition count is read afresh, as send does
        batch = _Batch(TopicPartition(topic, await self._partition_for(topic, key)), self.producer.create_batch())
        if batch.append(0, None, key, value, headers) is None:
            raise MessageSizeTooLargeError(f"a record of {len(value or b'')} bytes does not fit in a batch")
        batch.count = 1
        await self._hand_over(batch)
        assert batch.future is not None
        return batch.future

    async def _partition_for(self, topic: str, key: bytes | None) -> int:
        """The partition ``send`` would choose (aiokafka's default murmur2 partitioner), cached per key."""
        return int(self._route(topic, key, await self._partitions_of(topic)).partition)

    async def _partitions_of(self, topic: str) -> list[int]:
        """The topic's partitions, asked once per ``begin_send_all`` call (``_partitions`` is cleared then);
        a change (new topic, partitions added) forgets the topic's routes."""
        partitions = self._partitions.get(topic)
        if partitions is None:
            partitions = sorted(await self.producer.partitions_for(topic))
            if partitions != self._known_partitions.get(topic):  # new topic, or partitions were added
                self._known_partitions[topic] = partitions
                self._partition_cache[topic] = {}
            self._partitions[topic] = partitions
        return partitions

    def _route(self, topic: str, key: bytes | None, partitions: list[int]) -> TopicPartition:
        """Where a key's records go, remembered per key (no key: chosen afresh each time, as aiokafka does).

        murmur2 is pure Python in aiokafka (about 18 µs a key, as much as the Avro encoding);
        our keys are agents, which repeat, so each is hashed once per partition count.
        """
        if key is None:
            return TopicPartition(topic, int(self._partitioner(None, partitions, partitions)))
        cache = self._partition_cache[topic]
        tp = cache.get(key)
        if tp is None:
            tp = cache[key] = TopicPartition(topic, int(self._partitioner(key, partitions, partitions)))
        return tp

    async def send_all(self, items: Iterable[tuple[str, Event]]) -> list[RecordMetadata]:
        """Send events and wait until the broker has acknowledged every one of them (see ``begin_send_all``)."""
        return await (await self.begin_send_all(items))

    async def begin_send_all(self, items: Iterable[tuple[str, Event]], *,
                             metadata: bool = True) -> asyncio.Future[list[RecordMetadata]]:
        """Hand events over to the producer; the future resolves once every one is acknowledged.

        With ``metadata=False`` it resolves to an empty list: a caller that only needs to know the
        events are acknowledged (the source task) is spared a ``RecordMetadata`` per event.

        The caller may map its next page meanwhile (its acks' round trip is then hidden) but
        must not hand over more events that share keys before this future resolves: a batch
        that fails for good must not be followed by later events of the same agents.

        Records go into one aiokafka batch per topic-partition (``create_batch`` /
        ``send_batch``) instead of one awaited ``send`` each: the same partitions, keys,
        headers and order per partition, but no per-record coroutine, future and
        accumulator round. A full batch is handed over at once and a new one started.
        Per event only a key's cached topic-partition is looked up (the partitioner is
        awaited for a key seen first). Returns one ``RecordMetadata`` per event, in order.
        """
        producer = self.producer
        self._partitions.clear()  # partition counts are read afresh once per call
        batches: list[_Batch] = []
        placements: list[tuple[_Batch, int]] = []  # per event (with metadata): its batch and offset within it
        routes: dict[tuple[str, type[Event]], tuple[Encoder, Headers, dict[bytes | None, _Slot], list[int]]] = {}
        slots_of: dict[str, dict[bytes | None, _Slot]] = {}  # topic -> key -> its partition's slot, this call
        by_partition: dict[TopicPartition, _Slot] = {}
        last_topic, last_cls = None, None
        encode: Encoder  # these three are set at the first event
        headers: Headers
        slots: dict[bytes | None, _Slot]
        partitions: list[int]
        for topic, event in items:
            if topic is not last_topic or type(event) is not last_cls:  # per run of one topic and class, not per event
                last_topic, last_cls = topic, type(event)
                route = routes.get((topic, last_cls))
                if route is None:
                    route = routes[(topic, last_cls)] = (self.serializer.serialize_fn(topic, last_cls),
                                                         self._headers_for(event), slots_of.setdefault(topic, {}),
                                                         await self._partitions_of(topic))
                encode, headers, slots, partitions = route
            value, key = encode(event), event.kafka_key()
            if len(value) + len(key or b"") > _SIZE_CHECK_FROM:
                self._check_size(key, value, headers)
            slot = slots.get(key)
            if slot is None:
                slot = _slot(self._route(topic, key, partitions), key, slots, by_partition)
            batch = slot.batch
            if batch is not None:
                if batch.append(batch.count, None, key, value, headers) is not None:
                    if metadata:
                        placements.append((batch, batch.count))
                    batch.count += 1
                    continue
                await self._hand_over(batch)  # full: send it now, start the next one
            batch = slot.batch = _Batch(slot.tp, producer.create_batch())
            if batch.append(0, None, key, value, headers) is None:
                raise MessageSizeTooLargeError(f"a record of {len(value)} bytes does not fit in a batch")
            batch.count = 1
            batches.append(batch)
            if metadata:
                placements.append((batch, 0))
        for slot in by_partition.values():
            if slot.batch is not None and slot.batch.future is None:
                await self._hand_over(slot.batch)
        acks = asyncio.ensure_future(_acknowledged(batches, placements))
        for _ in range(_SENDER_TURNS):  # the acks' round trip starts now, not after the caller's next work
            await asyncio.sleep(0)
        return acks

    async def _hand_over(self, batch: _Batch) -> None:
        batch.seal()
        batch.future = await self.producer.send_batch(batch.builder, batch.tp.topic, partition=batch.tp.partition)

    def _check_size(self, key: bytes | None, value: bytes, headers: Headers) -> None:
        """The check ``AIOKafkaProducer.send`` makes: a record larger than max_request_size is refused."""
        size = DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, headers)
        limit = self.producer._max_request_size
        if size > limit:
            raise MessageSizeTooLargeError(f"The message is {size} bytes when serialized which is larger than "
                                           f"the maximum request size you have configured ({limit})")


#: loop turns aiokafka's sender takes to write a handed-over batch (woken by the accumulator, drains it
#: into a request task, which writes it): yielded after a hand-over, so a caller that maps its next page
#: without suspending (a fetch answered from memory) does not hold the batches back meanwhile; one spare
_SENDER_TURNS = 4
#: records smaller than this cannot exceed any sane max_request_size: only larger ones are measured
_SIZE_CHECK_FROM = 64 * 1024


class _Batch:
    """One topic-partition's batch being filled, and its delivery future once handed over.

    Records go straight into aiokafka's record builder (its C ``append``, by offset): its
    ``BatchBuilder.append`` is Python around that call (a key and value serializer we never set,
    the offset kept), about half a microsecond a record. ``seal`` sets what that wrapper would have
    counted (the idempotent producer's sequence numbers read it) and closes the batch.
    """

    __slots__ = ("append", "builder", "count", "direct", "future", "tp")

    def __init__(self, tp: TopicPartition, builder: Any) -> None:
        self.tp = tp
        self.builder = builder
        self.count = 0  # records appended (the builder's record_count, without the call)
        self.future: asyncio.Future[RecordMetadata] | None = None
        self.direct = (type(builder) is BatchBuilder and builder._key_serializer is None
                       and builder._value_serializer is None and not builder._closed)
        self.append: Callable[[int, None, bytes | None, bytes | None, Headers], Any] = (
            builder._builder.append if self.direct else self._append)

    def _append(self, offset: int, timestamp: None, key: bytes | None, value: bytes | None, headers: Headers) -> Any:
        """Through the public ``append`` (another builder than aiokafka's own: tests' stand-ins)."""
        return self.builder.append(timestamp=timestamp, key=key, value=value, headers=headers)

    def seal(self) -> None:
        if self.direct:
            self.builder._relative_offset = self.count
        self.builder.close()


class _Slot:
    """A topic-partition's batch being filled in one ``begin_send_all`` call, shared by the keys it takes."""

    __slots__ = ("batch", "tp")

    def __init__(self, tp: TopicPartition) -> None:
        self.tp = tp
        self.batch: _Batch | None = None


def _slot(tp: TopicPartition, key: bytes | None, slots: dict[bytes | None, _Slot],
          by_partition: dict[TopicPartition, _Slot]) -> _Slot:
    """Where a key's records go in one call: its partition's slot (its open batch), shared by the
    partition's keys; remembered per key (no key: a partition of its own each time, as aiokafka chooses)."""
    slot = by_partition.get(tp)
    if slot is None:
        slot = by_partition[tp] = _Slot(tp)
    if key is not None:
        slots[key] = slot
    return slot


async def _acknowledged(batches: list[_Batch], placements: list[tuple[_Batch, int]]) -> list[RecordMetadata]:
    await asyncio.gather(*(batch.future for batch in batches if batch.future is not None))
    return [_record_metadata(batch, offset) for batch, offset in placements]


def _record_metadata(batch: _Batch, offset: int) -> RecordMetadata:
    """One record's acknowledgement from its batch's: the batch's base offset plus the record's place."""
    assert batch.future is not None
    base: RecordMetadata = batch.future.result()
    return RecordMetadata(base.topic, base.partition, base.topic_partition, base.offset + offset,
                          base.timestamp, base.timestamp_type, base.log_start_offset)
