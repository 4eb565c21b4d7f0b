"""Every input record reaches its handler, even the ones faust drops around a rebalance.

faust hands records from its fetcher to the stream queues; when a rebalance
suspends the flow while a record is being handed over, that record is dropped,
yet faust still advances its read offset, and its gap tracking then lets the
commit move past it (faust-streaming issue #596). After a SIGKILL and restart
this showed up as lost state transitions in the windows.

The guard knows, per input partition, the next offset its handler must see:
the group's committed offset when the partition is (re)assigned, then the last
handled offset + 1. A record further ahead means records were skipped, so it
reads the skipped range itself (a plain consumer, no group) and hands those
records over first, then tells faust's consumer the range is done (as it does for
offsets it knows hold no records), or its commit would wait for them forever.
Handlers are idempotent, so a record seen twice is harmless; a range with no
records (transaction markers, compaction) costs one fetch.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

import faust
from aiokafka import AIOKafkaConsumer, TopicPartition
from faust.types import TP

from connector.config import KafkaSettings
from connector.kafka.client import client_options

__all__ = ["ContinuityGuard", "InputRecord"]

log = logging.getLogger(__name__)

#: How long reading a skipped range may take before the guard gives up on it (and says so).
REFETCH_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class InputRecord:
    """What a handler needs of one input record, wherever it was read from."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None

    @property
    def location(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"


class ContinuityGuard:
    """Per input partition, the next offset expected; fills any jump from the broker."""

    def __init__(self, settings: KafkaSettings, group_id: str, app: faust.App | None = None) -> None:
        self._settings = settings
        self._app = app
        self._group_id = group_id
        self._expected: dict[TopicPartition, int] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self._lock = asyncio.Lock()
        self.refetched = 0

    def forget(self, partitions: Iterable[Any]) -> None:
        """Partitions revoked or (re)assigned: their next offset is the group's committed one again."""
        for tp in partitions:
            self._expected.pop(TopicPartition(tp.topic, tp.partition), None)

    async def records(self, stream: faust.StreamT[Any]) -> AsyncIterator[InputRecord]:
        """The stream's records, each preceded by whatever was skipped before it on its partition."""
        async for event in stream.events():
            message = event.message
            tp = TopicPartition(message.topic, message.partition)
            expected = self._expected.get(tp)
            if expected is None:
                expected = await self._committed(tp)
            if message.offset > expected:
                for record in await self._read_range(tp, expected, message.offset):
                    yield record
                await self._mark_handled(tp, expected, message.offset)
            yield InputRecord(message.topic, message.partition, message.offset, message.key, message.value)
            self._expected[tp] = max(message.offset + 1, self._expected.get(tp, 0))

    async def _mark_handled(self, tp: TopicPartition, start: int, end: int) -> None:
        """Let faust's commit move past [start, end): every record there has been handled."""
        if self._app is not None:
            # faust's own bookkeeping for offsets that never reach a stream; no public API exposes it
            await self._app.consumer._add_gap(TP(tp.topic, tp.partition), start, end - 1)  # type: ignore[attr-defined]

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

    async def _client(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            # the group id only lets it read the group's committed offsets: it never subscribes, so never joins
            consumer = AIOKafkaConsumer(**client_options(self._settings), group_id=self._group_id,
                                        enable_auto_commit=False, auto_offset_reset="earliest")
            await consumer.start()
            self._consumer = consumer
        return self._consumer

    async def _committed(self, tp: TopicPartition) -> int:
        async with self._lock:
            consumer = await self._client()
            committed: int | None = await consumer.committed(tp)
            if committed is not None:
                return committed
            beginning: int = (await consumer.beginning_offsets([tp]))[tp]
            return beginning

    async def _read_range(self, tp: TopicPartition, start: int, end: int) -> list[InputRecord]:
        """Records of ``tp`` with offsets in [start, end), read directly from the broker."""
        log.warning("input records %s[%d]@%d..%d were skipped before reaching the handler; reading them again",
                    tp.topic, tp.partition, start, end - 1)
        found: list[InputRecord] = []
        async with self._lock:
            consumer = await self._client()
            consumer.assign([tp])
            consumer.seek(tp, start)
            deadline = time.monotonic() + REFETCH_TIMEOUT_SECONDS
            while await consumer.position(tp) < end:
                if time.monotonic() > deadline:
                    log.error("could not read skipped input records %s[%d]@%d..%d back; their effects are missing",
                              tp.topic, tp.partition, start, end - 1)
                    break
                batches = await consumer.getmany(tp, timeout_ms=500)
                for message in batches.get(tp, ()):
                    if start <= message.offset < end:
                        found.append(InputRecord(tp.topic, tp.partition, message.offset, message.key,
                                                 message.value))
        self.refetched += len(found)
        return found
