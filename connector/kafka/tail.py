"""Read a topic and yield decoded events: the engine of ``agent-connector tail``.

No consumer group: partitions are assigned directly, so tailing never disturbs
the offsets of real consumers.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from connector.config import KafkaSettings
from connector.kafka.client import client_options
from connector.serde.codec import DecodeError, EventDeserializer

__all__ = ["TailedRecord", "tail_topic"]


@dataclass(frozen=True)
class TailedRecord:
    partition: int
    offset: int
    key: bytes | None
    headers: dict[str, str]
    schema_name: str | None
    record: dict[str, Any] | None
    error: str | None  # set when the value could not be decoded

    def as_json(self, topic: str) -> dict[str, Any]:
        base: dict[str, Any] = {"topic": topic, "partition": self.partition, "offset": self.offset,
                                "key": self.key.decode("utf-8", "backslashreplace") if self.key else None}
        if self.record is not None:
            if self.schema_name != "json":
                base["event_type"] = (self.schema_name or "").rsplit(".", 1)[-1]
            base.update(self.record)
        else:
            base["error"] = self.error
        return base


def _plain_json(value: bytes | None) -> dict[str, Any] | None:
    """Topics of our own that are not Avro (the offsets topic holds JSON cursors) still print."""
    if value is None:
        return {"value": None}  # a tombstone
    try:
        return {"value": json.loads(value)}
    except ValueError:
        return None


async def tail_topic(
    settings: KafkaSettings,
    topic: str,
    deserializer: EventDeserializer,
    *,
    from_beginning: bool = True,
    follow: bool = False,
    max_records: int | None = None,
    idle_timeout_ms: int = 1000,
) -> AsyncIterator[TailedRecord]:
    """Yield decoded records; without ``follow``, stop at the end offsets seen at start."""
    consumer = AIOKafkaConsumer(**client_options(settings), enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()
        partition_ids = consumer.partitions_for_topic(topic)
        if not partition_ids:
            raise LookupError(f"topic {topic!r} does not exist on {settings.bootstrap_servers}")
        partitions = [TopicPartition(topic, p) for p in sorted(partition_ids)]
        consumer.assign(partitions)
        if from_beginning:
            await consumer.seek_to_beginning(*partitions)
        else:
            await consumer.seek_to_end(*partitions)
        end = await consumer.end_offsets(partitions)
        pending = {tp for tp in partitions if follow or await consumer.position(tp) < end[tp]}
        seen = 0
        while pending:
            batches = await consumer.getmany(*pending, timeout_ms=idle_timeout_ms)
            for tp, messages in batches.items():
                for message in messages:
                    headers = {k: v.decode("utf-8", "replace") for k, v in message.headers or ()}
                    try:
                        decoded = deserializer.decode(message.value or b"")
                        item = TailedRecord(tp.partition, message.offset, message.key, headers,
                                            decoded.schema_name, decoded.record, None)
                    except (DecodeError, ValueError, EOFError) as exc:
                        plain = _plain_json(message.value)
                        item = TailedRecord(tp.partition, message.offset, message.key, headers,
                                            None if plain is None else "json", plain,
                                            None if plain is not None else f"{type(exc).__name__}: {exc}")
                    yield item
                    seen += 1
                    if max_records is not None and seen >= max_records:
                        return
            if not follow:
                for tp in list(pending):
                    if await consumer.position(tp) >= end[tp]:
                        pending.discard(tp)
    finally:
        await consumer.stop()
