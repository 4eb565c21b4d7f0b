"""One source's polling loop, following Kafka Connect's source-task model.

poll -> page -> map -> produce -> wait for every acknowledgement -> commit the page's
cursor -> next page; the next page is fetched and mapped while the acknowledgements are
awaited, and produced only after them (``poll_once``). A crash anywhere re-reads from the
last committed cursor; events repeat with the same ``event_id``. Cursors of pages without events may be written later
(``idle_commit_interval``), and an unchanged page is not mapped again (``replay.py``):
an idle source costs a request per poll and little else. A failing source backs off and
reports itself unhealthy; the other sources carry on.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
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
    AgentState,
    AgentStateChanged,
    DeadLetter,
    Event,
)
from connector.runtime.auth import AuthSession
from connector.runtime.http import UNCHANGED, FetchError, SourceHttp
from connector.runtime.metrics import SourceMetrics
from connector.runtime.replay import PageMemo, request_key
from connector.sources.base import HttpRequest, PageResult, PagingError, RequestSpec, VendorError, VendorStream

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


def _release(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


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
                 max_backoff: float = 300.0, idle_commit_interval: float = 0.0) -> None:
        """``idle_commit_interval``: how long the cursor of pages without events may stay unwritten
        (0: every page's cursor is written); see ``poll_once``."""
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
        #: the wall clock runs at the loop's speed: a moment it names converts to a loop time
        #: (an injected clock may be simulated time: ``_first_useful_tick`` then leaves the schedule alone)
        self._wall_clock = clock is None
        self.max_backoff = max_backoff
        self.idle_commit_interval = idle_commit_interval
        self.health = SourceHealth()
        self.cursor: dict[str, Any] | None = None
        self.unwritten = False  # ``cursor`` is ahead of the last written one (pages without events)
        self._written_at = time.monotonic()
        self._sleeping: asyncio.Future[None] | None = None
        replay_until = getattr(stream, "replay_until", None)
        self._memo = PageMemo(replay_until) if replay_until is not None and hasattr(http, "fetch_page") else None
        self._polls_ok = metrics.polls.labels(name, "ok")  # children looked up once, not every poll
        self._healthy = metrics.healthy.labels(name)
        self._pages = metrics.pages.labels(name)
        self._records = metrics.records.labels(name)
        self._lag = metrics.cursor_lag.labels(name)

    async def run(self, stop: asyncio.Event) -> None:
        self.cursor = self.offsets.get(self.name) or self.stream.initial_cursor(self.clock())
        loop = asyncio.get_running_loop()
        watcher = asyncio.ensure_future(stop.wait())  # one waiter for the task's life, not one per poll
        watcher.add_done_callback(self._wake)
        try:
            while not stop.is_set():
                # polls start every interval (fixed rate), not an interval after the last one ended: a change
                # waits at most one interval plus one poll's duration, however long polls take
                next_start = loop.time() + self.poll_interval + random.uniform(0, self.poll_jitter)
                try:
                    await self.poll_once(stop)
                    next_start = self._first_useful_tick(loop, next_start)
                except (FetchError, VendorError, PagingError) as exc:
                    next_start = loop.time() + self._failed(exc)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # a bug must not take the other sources down
                    log.exception("source poll crashed", extra={"source": self.name})
                    next_start = loop.time() + self._failed(exc)
                if not stop.is_set():
                    await self._sleep_until(loop, next_start)
        finally:
            watcher.cancel()
        await self.flush()
        self.health.status = "stopped"

    def _first_useful_tick(self, loop: asyncio.AbstractEventLoop, tick: float) -> float:
        """The first poll tick, from ``tick`` on as the fixed-rate schedule has them, at which a poll can
        request anything (the stream's ``idle_until``: Rocket.Chat's next window is still open).

        The ticks before it are skipped, not slept through one by one: they would wake the task
        only to find nothing to request. The tick that polls is the one that would have anyway,
        so a change is read exactly when it was before."""
        idle_until = getattr(self.stream, "idle_until", None)
        if idle_until is None or not self._wall_clock or self.cursor is None:
            return tick
        until = idle_until(self.cursor)
        if until is None:
            return tick
        due = loop.time() + (until - self.clock()).total_seconds()
        longest = self.poll_interval + self.poll_jitter
        if due - tick > 1000 * longest:  # a month-long window polled every second: most of it in one step
            tick += (int((due - tick) / longest) - 1) * longest
        while tick < due:
            tick += self.poll_interval + random.uniform(0, self.poll_jitter)
        return tick

    async def _sleep_until(self, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
        """A bare future and a timer (``asyncio.wait_for`` made a task, a waiter and a timer per poll)."""
        waiter = self._sleeping = loop.create_future()
        timer = loop.call_at(deadline, _release, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._sleeping = None

    def _wake(self, _: object = None) -> None:
        if self._sleeping is not None:
            _release(self._sleeping)

    async def flush(self) -> None:
        """Write the cursor of pages without events that is not written yet (on stop)."""
        if not self.unwritten or self.cursor is None:
            return
        try:
            await (await self.offsets.begin_commit(self.name, self.cursor))
            self.unwritten = False
        except Exception as exc:  # the pages are read again after a restart, nothing is lost
            log.warning("could not write the last cursor", extra={"source": self.name, "error": str(exc)})

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
        self._healthy.set(0)
        self.health.consecutive_failures += 1
        self.health.status = "unhealthy"
        self.health.last_error = str(exc)
        log.warning("source poll failed", extra={"source": self.name, "kind": kind, "error": str(exc),
                                                 "consecutive_failures": self.health.consecutive_failures})
        backoff = self.poll_interval * 2 ** min(self.health.consecutive_failures, 16)
        return float(min(self.max_backoff, backoff)) + random.uniform(0, self.poll_jitter)

    async def poll_once(self, stop: asyncio.Event | None = None) -> None:
        """Read every page this poll has; commit each page's cursor once its events are acknowledged.

        While a page's events wait for their acknowledgements the next page is fetched and
        mapped (not yet produced: no event goes out before every earlier page's are
        acknowledged, so a failed batch is never followed by later events of its agents).
        A page's cursor commit is in flight while the next page is produced (it is awaited
        before that page's own commit begins): a page never has its cursor written before its
        events are acknowledged, and cursors land in order. A crash re-reads from the last
        acknowledged cursor: at most the two pages whose cursors were not yet written.

        A page without events has nothing to acknowledge: with ``idle_commit_interval`` its cursor
        is written with the next page that has events, or once that long has passed since the last
        write (Kafka Connect flushes offsets on an interval too). A crash then also re-reads those
        pages; they map to nothing again, or to what the next polls would have produced.
        """
        assert self.cursor is not None
        start = self.cursor
        request = self.stream.first_request(start, self.clock())
        page = None if request is None else await self._page(start, request, start)
        committing: tuple[asyncio.Future[bool], dict[str, Any]] | None = None
        try:
            while page is not None:
                acks = await self._hand_over(page)
                try:
                    upcoming, failure = await self._next_page(page, start, stop)
                    if acks is not None:
                        await acks
                except BaseException:
                    if acks is not None:
                        acks.cancel()  # cancelled: nobody waits for these acks any more
                    raise
                self._delivered(page)
                if committing is not None:
                    pending, committing = committing, None
                    await self._committed(*pending)
                committing = await self._commit_or_hold(page)
                self._pages.inc()
                if failure is not None:
                    raise failure  # after the page before it is delivered and its commit begun
                if stop is not None and stop.is_set():
                    break  # committed below; the rest of the poll continues from this cursor next time
                page = upcoming
        finally:
            if committing is not None:
                await self._committed(*committing)
        self._polls_ok.inc()
        self._healthy.set(1)
        self.health.status = "healthy"
        self.health.consecutive_failures = 0
        self.health.last_success = now = self.clock()
        self.health.last_error = None
        lag_from = self._cursor_time()
        if lag_from is not None:
            self._lag.set(max(0.0, (now - lag_from).total_seconds()))

    async def _next_page(self, page: PageResult, start: dict[str, Any],
                         stop: asyncio.Event | None) -> tuple[PageResult | None, Exception | None]:
        """The page after ``page`` (None at the poll's end or on stop), or what failed reading it."""
        if page.next_request is None or (stop is not None and stop.is_set()):
            return None, None
        try:
            return await self._page(page.next_cursor, page.next_request, start), None
        except Exception as exc:  # raised once ``page`` is delivered: its events and cursor still count
            return None, exc

    async def _commit_or_hold(self, page: PageResult) -> tuple[asyncio.Future[bool], dict[str, Any]] | None:
        """Begin the page's cursor commit; a page without events may hold its cursor back instead."""
        if page.events or page.dead_letters or self._write_due():
            self._written_at = time.monotonic()
            return await self.offsets.begin_commit(self.name, page.next_cursor), page.next_cursor
        if page.next_cursor is not self.cursor:
            self.cursor, self.unwritten = page.next_cursor, True  # nothing to acknowledge
        return None

    def _write_due(self) -> bool:
        return time.monotonic() - self._written_at >= self.idle_commit_interval

    async def _page(self, cursor: dict[str, Any], request: RequestSpec, poll_start: dict[str, Any]) -> PageResult:
        """Fetch and map one page; an unchanged page onto an unchanged cursor is not mapped again (replay.py)."""
        async def build() -> HttpRequest:
            return await self.auth.build(request)
        memo = self._memo
        if memo is None:
            body = await self.http.fetch_json(build, self.auth.reauthenticate)
            return self.stream.handle_response(cursor, request, body, self.clock())
        key = request_key(request)
        content, body = await self.http.fetch_page(build, self.auth.reauthenticate, memo.known(key))
        now = self.clock()
        if body is UNCHANGED:
            replayed = memo.replay(key, content, cursor, now)
            if replayed is not None:
                return replayed
            body = json.loads(content)  # it parsed when it was remembered
        page = self.stream.handle_response(cursor, request, body, now)
        return memo.remember(key, content, cursor, request, body, page, now, poll_start=poll_start)

    async def _committed(self, pending: asyncio.Future[bool], cursor: dict[str, Any]) -> None:
        """Wait for a page's cursor commit; only then is it the cursor a restart or retry begins from."""
        await pending
        self.cursor = cursor
        self.unwritten = False

    def _cursor_time(self) -> datetime | None:
        reader = getattr(self.stream, "cursor_time", None)
        if reader is None or self.cursor is None:
            return None
        value = reader(self.cursor)
        return value if isinstance(value, datetime) else None

    async def _hand_over(self, page: PageResult) -> asyncio.Future[Any] | None:
        """Give the page's events and dead letters to the producer; the future is their acks."""
        items: list[tuple[str, Event]] = [(topic_for(e, self.topics), e) for e in page.events]
        items += [(self.topics.dead_letter, d) for d in page.dead_letters]
        return await self.producer.begin_send_all(items, metadata=False) if items else None

    def _delivered(self, page: PageResult) -> None:
        """Count an acknowledged page's records in the metrics and health."""
        if page.events or page.dead_letters:
            self._records.inc(len(page.events) + len(page.dead_letters))
        labels: Counter[object] = Counter(  # one metrics update per label, not per event; a state's
            [event.state if type(event) is AgentStateChanged else event.event_type for event in page.events])
        for label, count in labels.items():  # ...name read once per label (an enum's .value is a property)
            name = label.value if isinstance(label, AgentState) else str(label)
            self.metrics.events.labels(self.name, name).inc(count)
        if page.dead_letters:
            self.metrics.dead_letters.labels(self.name).inc(len(page.dead_letters))
            for dead in page.dead_letters:
                log.warning("record sent to the dead-letter topic",
                            extra={"source": self.name, "error": dead.error, "location": dead.location})
        for vendor_state, count in page.unknown_vendor_states.items():
            self.metrics.unknown_states.labels(self.name, vendor_state).inc(count)
        self.health.events_produced += len(page.events)
