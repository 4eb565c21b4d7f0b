"""A source whose stream says when a poll can next request anything (Rocket.Chat: its window closes)
sleeps through the polls before it, and still reads each window at the first poll after it closed."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

from connector.config import TopicNames
from connector.runtime.auth import AuthSession
from connector.runtime.http import RetryPolicy, SourceHttp
from connector.runtime.metrics import SourceMetrics
from connector.runtime.task import SourceTask
from connector.sources.base import parse_iso_utc
from connector.sources.rocketchat import RocketchatSource, RocketchatStream
from tests.runtime.conftest import AppServer
from tests.runtime.test_task_idle import Offsets, Producer

INTERVAL, JITTER, WINDOW = 0.25, 0.05, 1.0
Seen = list[tuple[float, datetime]]  # (wall time the request arrived, the end of the window it asked for)


@pytest.fixture
async def vendor(app_server: AppServer) -> tuple[str, Seen]:
    seen: Seen = []

    async def conversations(request: web.Request) -> web.Response:
        end = parse_iso_utc(request.query["end"], field="end") + timedelta(milliseconds=1)
        seen.append((time.time(), end))
        return web.json_response({"success": True, "total": 1, "data": [{"label": "ana", "value": 1}]})

    app = web.Application()
    app.router.add_get("/api/v1/livechat/analytics/dashboards/conversations-by-agent", conversations)
    return await app_server(app), seen


def rocketchat_task(url: str, clock: Any = None) -> SourceTask:
    settings = RocketchatSource(vendor="rocketchat", name="rc", tenant="t", base_url=url, user_id="u",
                                auth_token="tok-SECRET", window_seconds=WINDOW, lookback_seconds=WINDOW)
    stream = RocketchatStream(settings)
    http = SourceHttp("rc", url, timeout=2.0, max_concurrency=1, requests_per_second=1000,
                      retry=RetryPolicy(max_retries=0), metrics=SourceMetrics())
    offsets = Offsets()
    offsets.begin_commit = _commit  # type: ignore[method-assign]  # Rocket.Chat cursors have no "n"
    return SourceTask(name="rc", stream=stream, http=http, auth=AuthSession(stream, http),
                      producer=Producer(), offsets=offsets, topics=TopicNames(),  # type: ignore[arg-type]
                      metrics=SourceMetrics(), poll_interval=INTERVAL, poll_jitter=JITTER, clock=clock)


async def _commit(source: str, cursor: dict[str, Any]) -> asyncio.Future[bool]:
    done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    done.set_result(True)
    return done


async def _run_for(task: SourceTask, seconds: float) -> int:
    """Run the task's own loop for ``seconds``; the polls it made."""
    stop = asyncio.Event()
    running = asyncio.create_task(task.run(stop))
    await asyncio.sleep(seconds)
    stop.set()
    await running
    await task.http.close()
    return int(task.metrics.polls.labels("rc", "ok")._value.get())


async def test_polls_before_the_window_closes_are_skipped_and_each_window_is_read_on_time(
        vendor: tuple[str, Seen]) -> None:
    url, seen = vendor
    task = rocketchat_task(url)
    started = time.time()
    polls = await _run_for(task, 3.6)
    windows = [end for _, end in seen]
    assert windows == sorted(set(windows)) and len(windows) >= 3  # every window once, in order
    for arrived, end in seen:
        if end.timestamp() > started:  # a window that closed while the task ran (not the catch-up)
            assert end.timestamp() <= arrived <= end.timestamp() + INTERVAL + JITTER + 0.15
    # a poll every 0.25-0.3 s would be ~13; only the polls at which a window had closed were made
    assert polls <= len(windows) + 1


async def test_with_an_injected_clock_every_poll_is_made(vendor: tuple[str, Seen]) -> None:
    """An injected clock may be simulated time (the demo's): its moments say nothing about the loop's."""
    url, seen = vendor
    polls = await _run_for(rocketchat_task(url, clock=lambda: datetime.now(UTC)), 1.5)
    assert polls >= 4 and len(seen) <= 3
