"""The connector process: every configured source as its own task, one producer, one offsets store.

Start-up provisions the topics, reads every source's committed cursor, then starts the
tasks and the ops server. Shutdown (SIGINT/SIGTERM) lets each task finish and commit
the page it is on for up to ``grace`` seconds; a page still unfinished then is
abandoned uncommitted and re-read on the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from connector.config import ConnectorConfig
from connector.kafka.offsets import OffsetStore
from connector.kafka.producer import EventProducer
from connector.kafka.topics import connector_topics, provision_topics
from connector.runtime.auth import AuthSession
from connector.runtime.gcsetup import tune_gc
from connector.runtime.http import RetryPolicy, SourceHttp
from connector.runtime.metrics import SourceMetrics
from connector.runtime.server import OpsServer
from connector.runtime.task import SourceTask
from connector.serde.codec import EventSerializer
from connector.serde.registry import SchemaRegistryClient
from connector.sources import make_stream

__all__ = ["ConnectorRuntime", "run_connector"]

log = logging.getLogger(__name__)
#: the longest a live source's cursor of pages without events stays unwritten (Kafka Connect's
#: offset.flush.interval.ms default); a restart re-reads at most this much of event-less pages
IDLE_COMMIT_INTERVAL = 60.0
Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def build_serializer(config: ConnectorConfig) -> EventSerializer:
    serde = config.serde
    if serde.schema_registry_url is None:
        return EventSerializer()
    password = serde.schema_registry_password.get_secret_value() if serde.schema_registry_password else None
    return EventSerializer(SchemaRegistryClient(str(serde.schema_registry_url),
                                                username=serde.schema_registry_username, password=password))


class ConnectorRuntime:
    def __init__(self, config: ConnectorConfig, *, clock: Clock = _utc_now, serve_http: bool = True,
                 transport: httpx.AsyncBaseTransport | None = None, retry: RetryPolicy | None = None) -> None:
        self.config = config
        self.clock = clock
        self.serve_http = serve_http
        self.transport = transport
        self.retry = retry
        self.metrics = SourceMetrics()
        self.producer = EventProducer(config.kafka, build_serializer(config))
        self.offsets = OffsetStore(config.kafka, self.producer)
        self.tasks: dict[str, SourceTask] = {}
        self.server: OpsServer | None = None
        self._running: dict[str, asyncio.Task[None]] = {}
        self._stop = asyncio.Event()

    def health(self) -> dict[str, Any]:
        return {"sources": {name: task.health.as_json() for name, task in self.tasks.items()}}

    async def start(self) -> None:
        kafka = self.config.kafka
        await provision_topics(kafka, connector_topics(kafka))
        await self.producer.start()
        for topic, schema in ((kafka.topics.agent_state, "AgentStateChanged"),
                              (kafka.topics.group_observations, "AgentGroupObserved"),
                              (kafka.topics.conversation_observations, "AgentConversationsObserved"),
                              (kafka.topics.dead_letter, "DeadLetter")):
            await self.producer.prepare(topic, schema)
        await self.offsets.load()
        for source in self.config.sources:
            if not source.enabled:
                continue
            stream = make_stream(source, drop_personal_data=self.config.privacy.drop_personal_data)
            http = SourceHttp(
                source.name, str(source.base_url), timeout=source.timeout_seconds,
                max_concurrency=source.max_concurrency, requests_per_second=source.max_requests_per_second,
                retry=self.retry or RetryPolicy(max_retries=source.max_retries), metrics=self.metrics,
                transport=self.transport, client=source.http_client,
            )
            self.tasks[source.name] = SourceTask(
                name=source.name, stream=stream, http=http, auth=AuthSession(stream, http),
                producer=self.producer, offsets=self.offsets, topics=kafka.topics, metrics=self.metrics,
                poll_interval=source.poll_interval_seconds, poll_jitter=source.poll_jitter_seconds,
                clock=None if self.clock is _utc_now else self.clock,  # None: the wall clock (task.py)
                idle_commit_interval=IDLE_COMMIT_INTERVAL,
            )
        if self.serve_http:
            self.server = OpsServer(self.config.http.host, self.config.http.port, self.metrics.registry, self.health)
            await self.server.start()
        for name, task in self.tasks.items():
            self._running[name] = asyncio.create_task(task.run(self._stop), name=f"source:{name}")
        log.info("connector started", extra={"sources": sorted(self.tasks),
                                             "ops_port": self.server.port if self.server else None})

    def request_stop(self) -> None:
        self._stop.set()

    async def wait(self) -> None:
        """Until every source task has ended (they end only when asked to stop)."""
        await self._stop.wait()

    async def stop(self, grace: float = 5.0) -> None:
        self._stop.set()
        running = list(self._running.values())
        if running:
            _, pending = await asyncio.wait(running, timeout=grace)
            for task in pending:  # an unfinished page: abandoned uncommitted, re-read on next start
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
        for source_task in self.tasks.values():
            await source_task.http.close()
        if self.server is not None:
            await self.server.stop()
        await self.producer.stop()
        log.info("connector stopped")


async def run_connector(config: ConnectorConfig, *, on_started: Callable[[ConnectorRuntime], None] | None = None
                        ) -> None:
    """Run until SIGINT or SIGTERM."""
    runtime = ConnectorRuntime(config)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, runtime.request_stop)
    try:
        await runtime.start()
        tune_gc()  # start-up is done: what it built stays out of later collections (gcsetup.py)
        if on_started is not None:
            on_started(runtime)
        await runtime.wait()
    finally:
        await runtime.stop()
