"""Source cursors kept in a compacted Kafka topic, the way Kafka Connect keeps source offsets.

The key names the source (``["agent-connector", {"source": NAME}]``, Kafka Connect's
shape), the value is the cursor as JSON; the latest value per key wins and a null
value (tombstone) forgets a source. On start the whole topic is read to its end.
Cursors are written only after the events they cover are acknowledged (the caller's
duty), and each write is itself awaited with acks=all. A cursor equal to the one already
committed is not written again; the JSON of the large maps a page did not change is reused
(``CursorEncoder``), so a commit costs what the page changed.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from connector.config import KafkaSettings
from connector.kafka.client import client_options
from connector.kafka.producer import EventProducer

__all__ = ["OffsetStore"]

log = logging.getLogger(__name__)
_NAMESPACE = "agent-connector"
_dumps = json.JSONEncoder(separators=(",", ":")).encode
#: maps at least this large are encoded apart and their text reused while the object is the same
_CACHED_FROM = 32
#: strings at least this long (Vonage's joined ended keys) are encoded apart and their text reused
_LONG_TEXT = 256
_quote = encode_basestring_ascii
Cache = dict[int, tuple[Any, int, str]]


def _worth_apart(item: object) -> bool:
    """A large map, or a map holding long strings: encoded apart, the text of unchanged parts reused."""
    if type(item) is not dict:
        return False
    return len(item) >= _CACHED_FROM or any(type(v) is str and len(v) >= _LONG_TEXT for v in item.values())


class CursorEncoder:
    """JSON of one source's successive cursors, reusing the text of unchanged large parts.

    Streams never change a cursor they were given (``handle_response`` copies before it
    writes, and copies an agent's table, or replaces a value, on write), so a map, table or
    string that is the very same object as in the previous commit has the same content: its
    text is reused instead of encoded again. The size is checked too, as a guard. A large map
    of tables (Vonage's ``parts``) or of strings (its ``ended`` buckets) is reused per entry.
    """

    def __init__(self) -> None:
        self._cache: Cache = {}

    def encode(self, cursor: dict[str, Any]) -> str:
        fresh: Cache = {}
        large = [key for key, item in cursor.items() if _worth_apart(item)]
        pieces = []
        if len(large) < len(cursor):
            skip = set(large)
            pieces.append(_dumps({k: v for k, v in cursor.items() if k not in skip})[1:-1])
        for key in large:
            pieces.append(f"{_quote(key)}:{self._reused(cursor[key], fresh, self._map)}")
        self._cache = fresh  # keeps exactly the parts of this cursor alive (ids stay unique)
        return "{" + ",".join(p for p in pieces if p) + "}"

    def _reused(self, item: Any, fresh: Cache, encode: Callable[[Any, Cache], str]) -> str:
        hit = self._cache.get(id(item))
        text = hit[2] if hit is not None and hit[0] is item and hit[1] == len(item) else encode(item, fresh)
        fresh[id(item)] = (item, len(item), text)
        return text

    def _map(self, value: dict[str, Any], fresh: Cache) -> str:
        """Entry by entry when every value is a table or a string (each reused), else in one go."""
        if not all(type(v) is dict or type(v) is str for v in value.values()):
            return _dumps(value)
        plain = _plain
        return "{" + ",".join(f"{_quote(k)}:{self._reused(v, fresh, plain)}" for k, v in value.items()) + "}"


def _plain(item: Any, fresh: Cache) -> str:
    return _dumps(item)


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
