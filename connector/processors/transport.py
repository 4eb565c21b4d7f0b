"""faust's aiokafka transport with the two repairs at-least-once needs here.

1. **Commit only after every table write is sent.** faust writes table changes
   through a producer buffer and, before committing input offsets, flushes it;
   but its flush gives up after 0.1 s without a message leaving the buffer, so
   on a busy worker offsets can be committed while changelog writes still sit
   in memory, and a SIGKILL then loses them for good. ``DrainingProducer``
   waits until the buffer is empty (or fails the commit loudly).
2. **Restore tables to the true end of their changelogs** (embedded profile).
   faust restores a table by reading its changelog up to the end offset the
   broker lists. The embedded broker lists the first offset of the last record
   batch + 1 instead of the last offset + 1, so recovery would stop short and
   drop the rest of that batch. ``FetchCheckedConsumer`` confirms each end
   offset with the high watermark of a fetch, which that broker gets right;
   on Apache Kafka both agree and the profile leaves the check off.
3. **Short fetch waits** (embedded profile). A fetch that spans several
   partitions is held by the embedded broker for its whole wait even once
   records arrive, and faust waits up to 1.5 s, so each hop between handlers
   cost ~0.5 s there; Apache Kafka answers as soon as records arrive.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, cast

import faust
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.partitioner import DefaultPartitioner
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.transport.producer import ProducerBuffer
from faust.types import TP, AppT, TransportT

from connector.config import KafkaSettings
from connector.kafka.client import client_options

__all__ = ["AvailabilityApp", "DrainingProducer", "KeyPartitions", "direct_producer", "drain", "fetched_end_offsets"]

log = logging.getLogger(__name__)

#: How long a commit waits for the producer buffer to drain before it fails.
DRAIN_TIMEOUT_SECONDS = 60.0


class _DrainMarker:
    """Queued behind the buffered writes; faust's buffer "publishes" it once every write before it is
    handed to aiokafka. Waiting for it, rather than for an empty buffer, cannot be starved by
    handlers that keep writing while the commit waits."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()
        self.message = self
        self.channel = self

    async def publish_message(self, fut: Any, wait: bool = False) -> None:
        self.reached.set()


async def drain(buffer: ProducerBuffer, timeout_seconds: float = DRAIN_TIMEOUT_SECONDS) -> None:
    """Return once every write buffered when called has been handed to aiokafka; raise after
    ``timeout_seconds`` (the commit then fails rather than pass writes that were never sent)."""
    if not buffer.size:
        return
    marker = _DrainMarker()
    buffer.pending.put_nowait(marker)
    try:
        await asyncio.wait_for(marker.reached.wait(), timeout=timeout_seconds)
    except TimeoutError:
        raise RuntimeError(f"table writes still unsent after {timeout_seconds:.0f} s ({buffer.size} buffered); "
                           "not committing input offsets past them") from None


#: Table writes buffered before faust holds the streams back to let the buffer drain. faust's 100
#: stalls the worker for up to 0.1 s every 25 or so agent events (each writes several records).
BUFFER_HIGH_WATER = 5000


class DrainingProducer(faust_aiokafka.Producer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.buffer.max_messages = BUFFER_HIGH_WATER  # type: ignore[attr-defined]
        self._undelivered: BaseException | None = None
        #: called first on every flush (so before every commit): handlers' deferred sends
        self.before_flush: list[Callable[[], Awaitable[None]]] = []

    async def partitions_for(self, topic: str) -> set[int]:
        """The topic's partitions, from the producer's metadata (as its partitioner sees them)."""
        partitions: set[int] = await self._ensure_producer().partitions_for(topic)
        return partitions

    async def send_direct(self, topic: str, key: bytes | None, value: bytes | None,
                          headers: list[tuple[str, bytes]] | None = None, partition: int | None = None) -> None:
        """Hand a message straight to aiokafka's batches, without faust's per-message machinery
        (a quarter of a millisecond of CPU per message). Same default partitioner, so keys land
        where faust would put them; the next commit waits for its acknowledgement."""
        delivery = await self._ensure_producer().send(topic, value=value, key=key, headers=headers,
                                                      partition=partition)
        delivery.add_done_callback(self._note_delivery)

    def _note_delivery(self, delivery: asyncio.Future[Any]) -> None:
        if not delivery.cancelled() and delivery.exception() is not None:
            self._undelivered = delivery.exception()
            log.error("a handler's message was not delivered: %s", delivery.exception())

    async def flush(self) -> None:
        """Every buffered message handed to aiokafka, then every aiokafka batch acknowledged;
        fails (and so the commit) when a message sent directly was not delivered."""
        for hook in self.before_flush:
            await hook()
        await drain(cast(ProducerBuffer, self.buffer))
        await super().flush()
        failure, self._undelivered = self._undelivered, None
        if failure is not None:
            raise RuntimeError("a message sent by a handler was not delivered; not committing past it") from failure


class KeyPartitions:
    """Where the producer's default partitioner puts each key of one topic, worked out once per key:
    ``send_direct`` is given the partition, so records keyed alike still land where faust (and any
    Kafka client) would put them, without hashing the key on every send."""

    def __init__(self) -> None:
        self._partitions: list[int] = []
        self._by_key: dict[str, int] = {}

    async def load(self, producer: DrainingProducer, topic: str) -> None:
        """The topic's partitions from the producer's metadata (declare the topic first)."""
        self._partitions = sorted(await producer.partitions_for(topic))
        self._by_key.clear()

    def __call__(self, key: str) -> int:
        partition = self._by_key.get(key)
        if partition is None:
            if not self._partitions:
                raise RuntimeError("partitions asked for before they were loaded")
            partition = self._by_key[key] = int(
                DefaultPartitioner()(key.encode(), self._partitions, self._partitions))
        return partition


def direct_producer(app: AppT) -> DrainingProducer:
    """The app's producer, which is always a ``DrainingProducer`` (see ``AvailabilityApp``)."""
    producer = app.producer
    if not isinstance(producer, DrainingProducer):
        raise TypeError(f"the app's producer is a {type(producer).__name__}, not a DrainingProducer")
    return producer


async def fetched_end_offsets(settings: KafkaSettings, listed: Mapping[TopicPartition, int],
                              wait_seconds: float = 10.0) -> dict[TopicPartition, int]:
    """The listed end offsets, raised to the high watermark a fetch reports where that is larger."""
    ends = dict(listed)
    probe = [tp for tp, end in listed.items() if end > 0]
    if not probe:
        return ends
    consumer = AIOKafkaConsumer(**client_options(settings), enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(probe)
        for tp in probe:
            consumer.seek(tp, listed[tp] - 1)  # the last batch starts there: it exists
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline and any(consumer.highwater(tp) is None for tp in probe):
            await consumer.getmany(timeout_ms=200)
        for tp in probe:
            highwater = consumer.highwater(tp)
            if highwater is None:
                log.warning("no fetch answered for %s; keeping its listed end offset %d", tp, listed[tp])
            elif highwater > listed[tp]:
                ends[tp] = highwater
    finally:
        await consumer.stop()
    return ends


#: The embedded profile's fetch wait: the most a record can sit unread on the embedded broker.
EMBEDDED_FETCH_MAX_WAIT_MS = 50


class ShortWaitConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        # faust passes a fixed 1500 ms; aiokafka hands this attribute to its fetcher on start
        consumer._fetch_max_wait_ms = EMBEDDED_FETCH_MAX_WAIT_MS
        return consumer


class FetchCheckedConsumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return ShortWaitConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def highwaters(self, *partitions: TP) -> Mapping[TP, int]:
        listed = await super().highwaters(*partitions)
        settings: KafkaSettings = self.app.kafka_settings  # type: ignore[attr-defined]
        checked = await fetched_end_offsets(
            settings, {TopicPartition(tp.topic, tp.partition): end for tp, end in listed.items()
                       if end is not None})
        return {tp: checked.get(TopicPartition(tp.topic, tp.partition), end) for tp, end in listed.items()}


class DrainingTransport(faust_aiokafka.Transport):
    Producer = DrainingProducer


class EmbeddedProfileTransport(DrainingTransport):
    """The embedded broker's profile: end offsets checked by a fetch, short fetch waits."""

    Consumer = FetchCheckedConsumer


class AvailabilityApp(faust.App):
    """A faust app whose transport is one of the above (chosen by the Kafka profile)."""

    kafka_settings: KafkaSettings

    def __init__(self, *args: Any, kafka_settings: KafkaSettings, **kwargs: Any) -> None:
        self.kafka_settings = kafka_settings  # before faust's __init__, which may build the transport
        super().__init__(*args, **kwargs)

    def _new_transport(self) -> TransportT:
        transport = EmbeddedProfileTransport if self.kafka_settings.profile == "embedded" else DrainingTransport
        return transport(self.conf.broker_consumer, self)
