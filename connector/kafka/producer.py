"""The event producer: acks=all, per-agent keys, typed headers, Avro values.

``send`` only enqueues and hands back a delivery future; callers that need the
at-least-once guarantee (the source runtime) await every future of a page before
committing the page's cursor.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.structs import RecordMetadata

from connector.config import KafkaSettings
from connector.kafka.client import client_options
from connector.model import Event
from connector.serde.codec import EventSerializer

__all__ = ["EventProducer"]

Headers = list[tuple[str, bytes]]


class EventProducer:
    def __init__(self, settings: KafkaSettings, serializer: EventSerializer | None = None) -> None:
        self.settings = settings
        self.serializer = serializer or EventSerializer()
        self._producer: AIOKafkaProducer | None = None
        self._headers: dict[str, Headers] = {}

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

    async def send_all(self, items: Iterable[tuple[str, Event]]) -> list[RecordMetadata]:
        """Send events and wait until the broker has acknowledged every one of them."""
        futures = [await self.send(topic, event) for topic, event in items]
        results: list[Any] = await asyncio.gather(*futures)
        return results
