"""One source's polling loop, following Kafka Connect's source-task model.

poll -> page -> map -> produce -> wait for every acknowledgement -> commit the page's
cursor -> next page. A crash anywhere re-reads at most the page whose cursor was not
committed; its events repeat with the same ``event_id``. A failing source backs off
and reports itself unhealthy; the other sources carry on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connector.config import TopicNames
from connector.kafka.offsets import OffsetStore
from connector.kafka.producer import EventProducer
from connector.model import (
    AgentConversationsObserved,
    AgentGroupObserved,
    AgentStateChanged,
    DeadLetter,
    Event,
)
from connector.runtime.auth import AuthSession
from connector.runtime.http import FetchError, SourceHttp
from connector.runtime.metrics import SourceMetrics
from connector.sources.base import PageResult, PagingError, VendorError, VendorStream

__all__ = ["SourceHealth", "SourceTask"]

log = logging.getLogger(__name__)


@dataclass
class SourceHealth:
    status: str = "starting"  # starting | healthy | unhealthy | stopped
    consecutive_failures: int = 0
    last_success: datetime | None = None
    last_error: str | None = None
    events_produced: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "consecutive_failures": self.consecutive_failures,
            "last_success": self.last_success.isoformat() if self.last_success else None,
            "last_error": self.last_error,
            "events_produced": self.events_produced,
        }


def topic_for(event: Event, topics: TopicNames) -> str:
    if isinstance(event, AgentStateChanged):
        return topics.agent_state
    if isinstance(event, AgentGroupObserved):
        return topics.group_observations
    if isinstance(event, AgentConversationsObserved):
        return topics.conversation_observations
    if isinstance(event, DeadLetter):
        return topics.dead_letter
    raise TypeError(f"no topic for {type(event).__name__}")


class SourceTask:
    def __init__(self, *, name: str, stream: VendorStream, http: SourceHttp, auth: AuthSession,
                 producer: EventProducer, offsets: OffsetStore, topics: TopicNames, metrics: SourceMetrics,
                 poll_interval: float, poll_jitter: float, clock: Callable[[], datetime] | None = None,
                 max_backoff: float = 300.0) -> None:
        self.name = name
        self.stream = stream
        self.http = http
        self.auth = auth
        self.producer = producer
        self.offsets = offsets
        self.topics = topics
        self.metrics = metrics
        self.poll_interval = poll_interval
        self.poll_jitter = poll_jitter
        self.clock = clock or (lambda: datetime.now(UTC))
        self.max_backoff = max_backoff
        self.health = SourceHealth()
        self.cursor: dict[str, Any] | None = None

    async def run(self, stop: asyncio.Event) -> None:
        self.cursor = self.offsets.get(self.name) or self.stream.initial_cursor(self.clock())
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            # polls start every interval (fixed rate), not an interval after the last one ended: a change
            # waits at most one interval plus one poll's duration, however long polls take
            next_start = loop.time() + self.poll_interval + random.uniform(0, self.poll_jitter)
            try:
                await self.poll_once(stop)
            except (FetchError, VendorError, PagingError) as exc:
                next_start = loop.time() + self._failed(exc)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug must not take the other sources down
                log.exception("source poll crashed", extra={"source": self.name})
                next_start = loop.time() + self._failed(exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=max(0.0, next_start - loop.time()))
        self.health.status = "stopped"

    def _failed(self, exc: Exception) -> float:
        kind = getattr(exc, "kind", None) or type(exc).__name__
        if isinstance(exc, VendorError):
            kind = f"vendor_{exc.kind}"
        elif isinstance(exc, PagingError):
            kind = "paging_loop"
            assert self.cursor is not None
            self.cursor = self.stream.reset_poll(self.cursor)
        self.metrics.errors.labels(self.name, kind).inc()
        self.metrics.polls.labels(self.name, "failed").inc()
        self.metrics.healthy.labels(self.name).set(0)
        self.health.consecutive_failures += 1
        self.health.status = "unhealthy"
        self.health.last_error = str(exc)
        log.warning("source poll failed", extra={"source": self.name, "kind": kind, "error": str(exc),
                                                 "consecutive_failures": self.health.consecutive_failures})
        backoff = self.poll_interval * 2 ** min(self.health.consecutive_failures, 16)
        return float(min(self.max_backoff, backoff)) + random.uniform(0, self.poll_jitter)

    async def poll_once(self, stop: asyncio.Event | None = None) -> None:
        """Read every page this poll has; commit each page's cursor once its events are acknowledged.

        A page's cursor commit is in flight while the next page is fetched, mapped and produced
        (it is awaited before that page's own commit begins): a page still never has its cursor
        written before its events are acknowledged, and cursors land in order. A crash re-reads
        from the last acknowledged cursor: at most the two pages whose cursors were not yet written.
        """
        assert self.cursor is not None
        cursor = self.cursor  # the newest page's cursor: committed, or its commit in flight
        request = self.stream.first_request(cursor, self.clock())
        committing: tuple[asyncio.Future[bool], dict[str, Any]] | None = None
        try:
            while request is not None:
                current = request
                body = await self.http.fetch_json(lambda spec=current: self.auth.build(spec),  # type: ignore[misc]
                                                  self.auth.reauthenticate)
                page = self.stream.handle_response(cursor, current, body, self.clock())
                await self._deliver(page)
                if committing is not None:
                    pending, committing = committing, None
                    await self._committed(*pending)
                committing = (await self.offsets.begin_commit(self.name, page.next_cursor), page.next_cursor)
                cursor, request = page.next_cursor, page.next_request
                if stop is not None and stop.is_set():
                    break  # committed below; the rest of the poll continues from this cursor next time
        finally:
            if committing is not None:
                await self._committed(*committing)
        self.metrics.polls.labels(self.name, "ok").inc()
        self.metrics.healthy.labels(self.name).set(1)
        self.health.status = "healthy"
        self.health.consecutive_failures = 0
        self.health.last_success = self.clock()
        self.health.last_error = None
        lag_from = self._cursor_time()
        if lag_from is not None:
            self.metrics.cursor_lag.labels(self.name).set(max(0.0, (self.clock() - lag_from).total_seconds()))

    async def _committed(self, pending: asyncio.Future[bool], cursor: dict[str, Any]) -> None:
        """Wait for a page's cursor commit; only then is it the cursor a restart or retry begins from."""
        await pending
        self.cursor = cursor
        self.metrics.pages.labels(self.name).inc()

    def _cursor_time(self) -> datetime | None:
        reader = getattr(self.stream, "cursor_time", None)
        if reader is None or self.cursor is None:
            return None
        value = reader(self.cursor)
        return value if isinstance(value, datetime) else None

    async def _deliver(self, page: PageResult) -> None:
        items: list[tuple[str, Event]] = [(topic_for(e, self.topics), e) for e in page.events]
        items += [(self.topics.dead_letter, d) for d in page.dead_letters]
        if items:
            await self.producer.send_all(items)
        self.metrics.records.labels(self.name).inc(len(items))
        labels: Counter[str] = Counter(  # one metrics update per label, not per event
            event.state.value if isinstance(event, AgentStateChanged) else event.event_type for event in page.events)
        for label, count in labels.items():
            self.metrics.events.labels(self.name, label).inc(count)
        if page.dead_letters:
            self.metrics.dead_letters.labels(self.name).inc(len(page.dead_letters))
            for dead in page.dead_letters:
                log.warning("record sent to the dead-letter topic",
                            extra={"source": self.name, "error": dead.error, "location": dead.location})
        for vendor_state, count in page.unknown_vendor_states.items():
            self.metrics.unknown_states.labels(self.name, vendor_state).inc(count)
        self.health.events_produced += len(page.events)
