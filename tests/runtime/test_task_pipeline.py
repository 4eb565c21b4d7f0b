"""SourceTask.poll_once: a page's cursor commit overlaps the next page, never its own events' acks."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from connector.config import TopicNames
from connector.model import AgentState, AgentStateChanged
from connector.runtime.metrics import SourceMetrics
from connector.runtime.task import SourceTask
from connector.sources.base import PageResult, RequestSpec

NOW = datetime(2024, 1, 1, tzinfo=UTC)


def event(page: int) -> AgentStateChanged:
    return AgentStateChanged(event_id=f"e{page}", vendor="v", tenant="t", source="s", agent_id="a",
                             state=AgentState.BUSY, previous_state=None, vendor_state="x", occurred_at=NOW,
                             source_cursor="{}")


class Stream:
    """Pages 1..last; the cursor is ``{"page": n}`` of the last page read."""

    def __init__(self, last: int, fail_at: int | None = None, log: list[str] | None = None) -> None:
        self.last, self.fail_at = last, fail_at
        self.seen: list[dict[str, Any]] = []
        self.log = [] if log is None else log

    def first_request(self, cursor: dict[str, Any], now: datetime) -> RequestSpec | None:
        return RequestSpec("GET", "/p", {"page": str(cursor["page"] + 1)}) if cursor["page"] < self.last else None

    def handle_response(self, cursor: dict[str, Any], request: RequestSpec, body: Any, now: datetime) -> PageResult:
        self.seen.append(cursor)
        page = int(request.params["page"])
        self.log.append(f"map {page}")
        if page == self.fail_at:
            raise RuntimeError("mapping failed")
        following = RequestSpec("GET", "/p", {"page": str(page + 1)}) if page < self.last else None
        return PageResult([event(page)], [], Counter(), {"page": page}, following)


class Http:
    async def fetch_json(self, build: Any, reauthenticate: Any = None) -> Any:
        await asyncio.sleep(0)
        return {}


class Auth:
    async def build(self, spec: RequestSpec) -> Any:
        return spec

    async def reauthenticate(self) -> bool:
        return False


class Producer:
    def __init__(self, log: list[str], fail_at: int | None = None) -> None:
        self.log, self.fail_at = log, fail_at

    async def begin_send_all(self, items: list[tuple[str, Any]], *, metadata: bool = True) -> asyncio.Future[list[Any]]:
        ids = ",".join(e.event_id for _, e in items)
        self.log.append(f"send {ids}")
        return asyncio.ensure_future(self._acks(ids))

    async def _acks(self, ids: str) -> list[Any]:
        await asyncio.sleep(0.01)
        if ids == f"e{self.fail_at}":
            raise ConnectionError("batch lost")
        self.log.append(f"acked {ids}")
        return []


class Offsets:
    def __init__(self, log: list[str], fail_page: int | None = None) -> None:
        self.log, self.fail_page = log, fail_page

    async def begin_commit(self, source: str, cursor: dict[str, Any]) -> asyncio.Future[bool]:
        self.log.append(f"commit {cursor['page']}")
        return asyncio.ensure_future(self._ack(cursor))

    async def _ack(self, cursor: dict[str, Any]) -> bool:
        await asyncio.sleep(0.02)
        if cursor["page"] == self.fail_page:
            raise ConnectionError("commit lost")
        self.log.append(f"committed {cursor['page']}")
        return True


def task(stream: Stream, log: list[str], fail_commit: int | None = None, fail_acks: int | None = None) -> SourceTask:
    made = SourceTask(name="s", stream=stream, http=Http(), auth=Auth(), producer=Producer(log, fail_acks),  # type: ignore[arg-type]
                      offsets=Offsets(log, fail_commit), topics=TopicNames(),  # type: ignore[arg-type]
                      metrics=SourceMetrics(), poll_interval=1.0, poll_jitter=0.0, clock=lambda: NOW)
    made.cursor = {"page": 0}
    return made


async def test_each_commit_follows_its_pages_acks_and_the_previous_commit() -> None:
    log: list[str] = []
    stream = Stream(last=3, log=log)
    polling = task(stream, log)
    await polling.poll_once()
    assert polling.cursor == {"page": 3}
    for page in (2, 3):  # the next page is read while the one before waits for its acks, sent only after them
        assert log.index(f"send e{page - 1}") < log.index(f"map {page}") < log.index(f"acked e{page - 1}")
        assert log.index(f"acked e{page - 1}") < log.index(f"send e{page}")
    for page in (1, 2, 3):
        assert log.index(f"acked e{page}") < log.index(f"commit {page}")
    for page in (2, 3):
        assert log.index(f"committed {page - 1}") < log.index(f"commit {page}")
    assert log.index("send e2") < log.index("committed 1")  # the overlap: page 2 goes out while 1 commits
    assert [c["page"] for c in stream.seen] == [0, 1, 2]  # each page mapped from the one before


async def test_a_failing_page_leaves_the_last_acknowledged_cursor() -> None:
    log: list[str] = []
    polling = task(Stream(last=5, fail_at=3), log)
    with pytest.raises(RuntimeError):
        await polling.poll_once()
    assert polling.cursor == {"page": 2} and "committed 2" in log  # page 2's commit in flight was awaited


async def test_a_lost_commit_keeps_the_cursor_before_it() -> None:
    log: list[str] = []
    polling = task(Stream(last=5), log, fail_commit=2)
    with pytest.raises(ConnectionError):
        await polling.poll_once()
    assert polling.cursor == {"page": 1} and "commit 3" not in log


async def test_a_failing_next_page_still_delivers_and_commits_the_page_before() -> None:
    log: list[str] = []
    polling = task(Stream(last=5, fail_at=2, log=log), log)
    with pytest.raises(RuntimeError):
        await polling.poll_once()
    assert log.index("map 2") < log.index("acked e1") < log.index("commit 1")
    assert polling.cursor == {"page": 1} and "send e2" not in log


async def test_lost_acks_leave_the_cursor_and_produce_nothing_after_them() -> None:
    log: list[str] = []
    polling = task(Stream(last=5, log=log), log, fail_acks=2)
    with pytest.raises(ConnectionError):
        await polling.poll_once()
    assert polling.cursor == {"page": 1} and "commit 2" not in log
    assert "map 3" in log and "send e3" not in log  # page 3 was read meanwhile, never produced


async def test_a_stop_while_the_next_page_is_read_ends_the_poll_after_the_page_before() -> None:
    log: list[str] = []
    stop = asyncio.Event()

    class Stopping(Stream):
        def handle_response(self, cursor: dict[str, Any], request: RequestSpec, body: Any,
                            now: datetime) -> PageResult:
            if request.params["page"] == "2":
                stop.set()
            return super().handle_response(cursor, request, body, now)

    polling = task(Stopping(last=5, log=log), log)
    await polling.poll_once(stop)
    assert polling.cursor == {"page": 1} and "send e2" not in log and "map 3" not in log


async def test_produced_events_are_counted_by_state_name() -> None:
    log: list[str] = []
    polling = task(Stream(last=3), log)
    await polling.poll_once()
    registry = polling.metrics.registry
    assert registry.get_sample_value("connector_events_total", {"source": "s", "state": "BUSY"}) == 3
    assert registry.get_sample_value("connector_events_total", {"source": "s", "state": "AVAILABLE"}) is None
