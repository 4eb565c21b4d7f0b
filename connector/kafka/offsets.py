"""Source cursors kept in a compacted Kafka topic, the way Kafka Connect keeps source offsets.

The key names the source (``["agent-connector", {"source": NAME}]``, Kafka Connect's
shape), the value is the cursor as JSON; the latest value per key wins and a null
value (tombstone) forgets a source. On start the whole topic is read to its end.
Cursors are written only after the events they cover are acknowledged (the caller's
duty), and each write is itself awaited with acks=all. A cursor equal to the one already
committed is not written again; the JSON of the large maps' entries a page did not change is
reused (``CursorEncoder`` in ``cursor_json``), so a commit costs what the page changed.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from connector.config import KafkaSettings
from connector.kafka.client import client_options
from connector.kafka.cursor_json import CursorEncoder, dumps
from connector.kafka.producer import EventProducer

__all__ = ["CursorEncoder", "OffsetStore"]

log = logging.getLogger(__name__)
_NAMESPACE = "agent-connector"
_dumps = dumps


def _key(source: str) -> bytes:
    return json.dumps([_NAMESPACE, {"source": source}], separators=(",", ":")).encode()


def _source_of(key: bytes | None) -> str | None:
    try:
        namespace, partition = json.loads(key or b"")
        return str(partition["source"]) if namespace == _NAMESPACE else None
    except (ValueError, TypeError, KeyError):
        return None


class OffsetStore:
    def __init__(self, settings: KafkaSettings, producer: EventProducer, topic: str | None = None) -> None:
        self.settings = settings
        self.topic = topic or settings.topics.offsets
        self._producer = producer
        self._cursors: dict[str, dict[str, Any]] = {}
        self._encoders: dict[str, CursorEncoder] = {}

    async def load(self) -> dict[str, dict[str, Any]]:
        """Read the topic from the beginning to its current end; return every source's cursor."""
        consumer = AIOKafkaConsumer(**client_options(self.settings), enable_auto_commit=False,
                                    auto_offset_reset="earliest")
        await consumer.start()
        try:
            await consumer.topics()  # refreshes cluster metadata
            partitions = [TopicPartition(self.topic, p) for p in consumer.partitions_for_topic(self.topic) or ()]
            if not partitions:
                raise RuntimeError(f"offsets topic {self.topic!r} does not exist; provision topics first")
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            end = await consumer.end_offsets(partitions)
            remaining = {tp for tp in partitions if end[tp] > 0}
            while remaining:
                batches = await consumer.getmany(*remaining, timeout_ms=1000)
                for messages in batches.values():
                    for message in messages:
                        self._apply(message.key, message.value)
                for tp in list(remaining):
                    if await consumer.position(tp) >= end[tp]:
                        remaining.discard(tp)
        finally:
            await consumer.stop()
        log.info("loaded source cursors", extra={"topic": self.topic, "sources": sorted(self._cursors)})
        return dict(self._cursors)

    def _apply(self, key: bytes | None, value: bytes | None) -> None:
        source = _source_of(key)
        if source is None:
            log.warning("ignoring a record with a foreign key on the offsets topic", extra={"topic": self.topic})
            return
        if value is None:
            self._cursors.pop(source, None)
            return
        try:
            self._cursors[source] = json.loads(value)["cursor"]
        except (ValueError, KeyError, TypeError):
            log.error("unreadable cursor on the offsets topic; ignoring it", extra={"source": source})

    def get(self, source: str) -> dict[str, Any] | None:
        return self._cursors.get(source)

    async def commit(self, source: str, cursor: dict[str, Any]) -> bool:
        """Write a cursor and wait for the broker's acknowledgement; False when it was committed already."""
        return await (await self.begin_commit(source, cursor))

    async def begin_commit(self, source: str, cursor: dict[str, Any]) -> asyncio.Future[bool]:
        """Hand a cursor's record over (at once, no linger); the future resolves once it is acknowledged.

        The caller may do other work meanwhile (map and produce the next page) but must await
        the future before it begins the source's next commit, so cursors land in order.
        """
        last = self._cursors.get(source)
        if last is not None and (last is cursor or last == cursor):
            done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
            done.set_result(False)
            return done
        encoder = self._encoders.get(source)
        if encoder is None:
            encoder = self._encoders[source] = CursorEncoder()
        text = f'{{"cursor":{encoder.encode(cursor)},"committed_at":{_dumps(datetime.now(UTC).isoformat())}}}'
        future = await self._producer.send_now(self.topic, _key(source), text.encode())
        return asyncio.ensure_future(self._acknowledged(source, cursor, future))

    async def _acknowledged(self, source: str, cursor: dict[str, Any], future: Awaitable[Any]) -> bool:
        await future
        self._cursors[source] = cursor
        return True

    async def forget(self, source: str) -> None:
        """Tombstone a source's cursor: its next start begins afresh."""
        future = await self._producer.send_raw(self.topic, _key(source), None)
        await future
        self._cursors.pop(source, None)
