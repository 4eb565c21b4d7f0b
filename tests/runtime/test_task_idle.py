"""SourceTask when little happens: unchanged pages are not mapped again, cursors of pages without events are
written later, and a sleeping task wakes when asked to stop."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from connector.config import TopicNames
from connector.runtime.http import UNCHANGED
from connector.runtime.metrics import SourceMetrics
from connector.runtime.task import SourceTask
from connector.sources.base import PageResult, RequestSpec
from tests.runtime.test_task_pipeline import NOW, Auth, event


class Stream:
    """One page a poll. The body says how many events it has and whether the cursor moves (``step``)."""

    def __init__(self, until: datetime | None = None) -> None:
        self.mapped = 0
        self.until = until

    def initial_cursor(self, now: datetime) -> dict[str, Any]:
        return {"n": 0}

    def first_request(self, cursor: dict[str, Any], now: datetime) -> RequestSpec:
        return RequestSpec("GET", "/day", {"day": "2024-01-01"})

    def handle_response(self, cursor: dict[str, Any], request: RequestSpec, body: Any, now: datetime) -> PageResult:
        self.mapped += 1
        step = body["events"] or body.get("step", 0)
        events = [event(cursor["n"] + i) for i in range(body["events"])]
        return PageResult(list(events), [], Counter(), {"n": cursor["n"] + step}, None)


class ReplayingStream(Stream):
    def replay_until(self, cursor: dict[str, Any], request: RequestSpec, body: Any, page: PageResult,
                     now: datetime) -> datetime | None:
        return self.until


class Http:
    def __init__(self) -> None:
        self.content = b'{"events": 0}'
        self.parsed = 0

    async def fetch_page(self, build: Any, reauthenticate: Any = None, known: bytes | None = None) -> tuple[bytes, Any]:
        await build()
        if known is not None and self.content == known:
            return self.content, UNCHANGED
        self.parsed += 1
        return self.content, json.loads(self.content)

    async def fetch_json(self, build: Any, reauthenticate: Any = None) -> Any:
        return (await self.fetch_page(build))[1]


class Producer:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def begin_send_all(self, items: list[tuple[str, Any]], *, metadata: bool = True) -> asyncio.Future[list[Any]]:
        self.sent += [e.event_id for _, e in items]
        acked: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        acked.set_result([])
        return acked


class Offsets:
    def __init__(self) -> None:
        self.written: list[int] = []

    def get(self, source: str) -> dict[str, Any] | None:
        return None

    async def begin_commit(self, source: str, cursor: dict[str, Any]) -> asyncio.Future[bool]:
        self.written.append(cursor["n"])
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        done.set_result(True)
        return done


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def make(stream: Stream, *, idle_commit_interval: float = 0.0, poll_interval: float = 1.0
         ) -> tuple[SourceTask, Http, Offsets, Clock]:
    http, offsets, clock = Http(), Offsets(), Clock()
    task = SourceTask(name="s", stream=stream, http=http, auth=Auth(), producer=Producer(),  # type: ignore[arg-type]
                      offsets=offsets, topics=TopicNames(), metrics=SourceMetrics(),  # type: ignore[arg-type]
                      poll_interval=poll_interval, poll_jitter=0.0, clock=clock,
                      idle_commit_interval=idle_commit_interval)
    task.cursor = {"n": 0}
    return task, http, offsets, clock


async def test_an_unchanged_page_onto_its_own_cursor_is_not_mapped_again() -> None:
    stream = ReplayingStream(until=NOW + timedelta(hours=1))
    task, http, _, _ = make(stream)
    http.content = b'{"events": 1}'
    await task.poll_once()  # events: mapped, never remembered
    http.content = b'{"events": 0}'
    await task.poll_once()  # nothing new: mapped, remembered
    settled = task.cursor
    for _ in range(3):
        await task.poll_once()
    assert stream.mapped == 2 and http.parsed == 2
    assert task.cursor is settled and task.cursor == {"n": 1}


async def test_a_page_with_events_is_mapped_every_time() -> None:
    stream = ReplayingStream(until=NOW + timedelta(hours=1))
    task, http, _, _ = make(stream)
    http.content = b'{"events": 1}'
    for _ in range(3):
        await task.poll_once()
    assert stream.mapped == 3 and task.cursor == {"n": 3}


async def test_a_changed_page_is_mapped() -> None:
    stream = ReplayingStream(until=NOW + timedelta(hours=1))
    task, http, _, _ = make(stream)
    await task.poll_once()
    await task.poll_once()
    http.content = b'{"events": 0, "other": 1}'
    await task.poll_once()
    assert stream.mapped == 2
    await task.poll_once()
    assert stream.mapped == 2  # remembered again as it is now


async def test_the_clock_ends_a_replay_and_a_stream_may_refuse_one() -> None:
    stream = ReplayingStream(until=NOW + timedelta(seconds=5))
    task, _, _, clock = make(stream)
    await task.poll_once()
    await task.poll_once()
    assert stream.mapped == 1
    clock.now = NOW + timedelta(seconds=5)  # e.g. a gap comes due: the mapping must run
    await task.poll_once()
    assert stream.mapped == 2
    stream.until = None
    clock.now += timedelta(seconds=1)
    await task.poll_once()
    await task.poll_once()
    assert stream.mapped == 4


async def test_streams_without_replay_until_and_replaced_cursors_are_mapped() -> None:
    plain = Stream()
    task, _, _, _ = make(plain)
    for _ in range(3):
        await task.poll_once()
    assert plain.mapped == 3
    stream = ReplayingStream(until=NOW + timedelta(hours=1))
    task, _, _, _ = make(stream)
    await task.poll_once()
    assert task.cursor is not None
    task.cursor = dict(task.cursor)  # equal, but not the cursor the page was mapped onto
    await task.poll_once()
    assert stream.mapped == 2


async def test_cursors_of_pages_without_events_are_written_with_the_next_events() -> None:
    stream = Stream()
    task, http, offsets, _ = make(stream, idle_commit_interval=60.0)
    http.content = b'{"events": 0, "step": 1}'  # the cursor moves (a time position), nothing to produce
    await task.poll_once()
    await task.poll_once()
    assert offsets.written == [] and task.cursor == {"n": 2} and task.unwritten
    http.content = b'{"events": 1}'
    await task.poll_once()
    assert offsets.written == [3] and not task.unwritten
    await task.flush()
    assert offsets.written == [3]


async def test_a_held_back_cursor_is_written_once_the_interval_has_passed_and_on_flush() -> None:
    stream = Stream()
    task, http, offsets, _ = make(stream, idle_commit_interval=60.0)
    http.content = b'{"events": 0, "step": 1}'
    await task.poll_once()
    task._written_at = time.monotonic() - 61
    await task.poll_once()
    assert offsets.written == [2]
    await task.poll_once()
    assert offsets.written == [2] and task.unwritten
    await task.flush()
    assert offsets.written == [2, 3] and not task.unwritten


async def test_without_an_interval_every_page_is_written() -> None:
    task, http, offsets, _ = make(Stream())
    http.content = b'{"events": 0, "step": 1}'
    await task.poll_once()
    await task.poll_once()
    assert offsets.written == [1, 2]


async def test_a_sleeping_task_stops_at_once_and_writes_what_it_held_back() -> None:
    task, http, offsets, _ = make(Stream(), idle_commit_interval=60.0, poll_interval=30.0)
    http.content = b'{"events": 0, "step": 1}'
    stop = asyncio.Event()
    running = asyncio.create_task(task.run(stop))
    await asyncio.sleep(0.05)  # the first poll is done; the next is 30 s away
    started = time.monotonic()
    stop.set()
    await asyncio.wait_for(running, 2)
    assert time.monotonic() - started < 1
    assert offsets.written == [1] and task.health.status == "stopped"
