"""The source pipeline through the real runtime pieces: page -> JSON -> mapping -> Avro -> produce -> acks -> commit.

``replay`` drives :meth:`SourceTask.poll_once` over recorded pages (an HTTP stand-in hands
back each recorded body, parsed from its bytes as the runtime does), so the figure is
the connector's own cost, not the simulators'. ``live`` runs :class:`ConnectorRuntime`
over real HTTP against simulators in another process (``bench.simserver``).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bench.ceilings import Record
from bench.recording import Recording
from connector.config import KafkaSettings
from connector.kafka.offsets import OffsetStore
from connector.kafka.producer import EventProducer
from connector.kafka.topics import connector_topics, provision_topics
from connector.runtime.auth import AuthSession
from connector.runtime.metrics import SourceMetrics
from connector.runtime.task import SourceTask, topic_for
from connector.sources import make_stream
from connector.sources.base import HttpRequest

__all__ = ["PipelineRun", "events_of", "records_of", "replay"]


class ReplayHttp:
    """Stands in for ``SourceHttp``: answers each request with the next recorded page's JSON."""

    def __init__(self, recording: Recording) -> None:
        self.source = recording.source.name
        self.pages = recording.pages
        self.index = 0

    async def fetch_json(self, build: Callable[[], Awaitable[HttpRequest]], reauthenticate: Any = None) -> Any:
        await build()  # auth is built per request, as it is live
        page = self.pages[self.index]
        self.index += 1
        return json.loads(page.body)

    async def close(self) -> None:
        return None


@dataclass
class PipelineRun:
    events: int
    wall: float
    cpu: float

    @property
    def rate(self) -> float:
        return self.events / self.wall


def _task(recording: Recording, producer: EventProducer, offsets: OffsetStore, settings: KafkaSettings) -> SourceTask:
    stream = make_stream(recording.source)
    http = ReplayHttp(recording)
    frozen: datetime = recording.pages[0].now
    auth = AuthSession(stream, http, clock=lambda: frozen)  # type: ignore[arg-type]
    # a bearer token as if fetched before: replayed pages answer page requests only
    auth._token, auth._expires = "replayed-token", frozen + timedelta(days=1)
    task = SourceTask(name=recording.source.name, stream=stream, http=http,  # type: ignore[arg-type]
                      auth=auth,
                      producer=producer, offsets=offsets, topics=settings.topics, metrics=SourceMetrics(),
                      poll_interval=1.0, poll_jitter=0.0, clock=lambda: frozen)
    task.cursor = recording.pages[0].cursor
    return task


async def replay(settings: KafkaSettings, recordings: Sequence[Recording], producer: EventProducer) -> PipelineRun:
    """One poll over every recorded page of each recording, all sources concurrently (one event loop)."""
    offsets = OffsetStore(settings, producer)
    tasks = [_task(r, producer, offsets, settings) for r in recordings]
    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(t.poll_once() for t in tasks))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    for task in tasks:
        http = task.http
        assert isinstance(http, ReplayHttp) and http.index == len(http.pages), "replay read every page once"
    return PipelineRun(sum(records_produced(t.metrics) for t in tasks), wall, cpu)


def records_produced(metrics: SourceMetrics) -> int:
    """Every record the sources produced (events, observations and dead letters), from their metrics."""
    return int(sum(s.value for m in metrics.records.collect() for s in m.samples if s.name.endswith("_total")))


def events_of(recording: Recording) -> list[Any]:
    """The events the recording maps to (for ceilings with the same payloads)."""
    stream = make_stream(recording.source)
    events: list[Any] = []
    for page in recording.pages:
        result = stream.handle_response(page.cursor, page.request, json.loads(page.body), page.now)
        events += result.events
        events += result.dead_letters
    return events


def records_of(events: Sequence[Any], producer: EventProducer, settings: KafkaSettings) -> list[Record]:
    """Exactly the key, value and headers our producer sends for these events."""
    out: list[Record] = []
    for event in events:
        topic = topic_for(event, settings.topics)
        out.append((event.kafka_key(), producer.serializer.serialize(topic, event), producer._headers_for(event)))
    return out


async def prepared_producer(settings: KafkaSettings) -> EventProducer:
    await provision_topics(settings, connector_topics(settings))
    producer = EventProducer(settings)
    await producer.start()
    return producer
