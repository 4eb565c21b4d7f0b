"""Availability publishing: latest record per group, every round while quiet, less often while busy, all on commit."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from connector.processors.groups import GroupRecord
from connector.processors.publishing import AvailabilityPublisher
from tests.processors.harness import BASE_MS


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_each_group_is_published_once_with_its_latest_record() -> None:
    sent: list[GroupRecord] = []

    async def send(record: GroupRecord) -> None:
        sent.append(record)

    publisher = AvailabilityPublisher(send)
    first = GroupRecord.empty("g1", BASE_MS)
    latest = replace(first, clock_ms=BASE_MS + 5)
    publisher.changed(first)
    publisher.changed(GroupRecord.empty("g2", BASE_MS))
    publisher.changed(latest)
    assert publisher.waiting == 2
    asyncio.run(publisher.tick())
    assert sorted(r.group for r in sent) == ["g1", "g2"] and latest in sent and first not in sent
    assert publisher.waiting == 0


def test_a_busy_round_waits_for_the_busy_interval_but_a_commit_publishes_everything() -> None:
    sent: list[GroupRecord] = []

    async def send(record: GroupRecord) -> None:
        sent.append(record)

    clock = Clock()
    publisher = AvailabilityPublisher(send, busy_interval=1.0, busy_groups=3, clock=clock)

    def change(n: int) -> None:
        for i in range(n):
            publisher.changed(GroupRecord.empty(f"g{i}", BASE_MS))

    change(2)
    clock.now += 0.2
    asyncio.run(publisher.tick())
    assert len(sent) == 2  # quiet: every round
    change(10)
    clock.now += 0.2
    asyncio.run(publisher.tick())
    assert len(sent) == 2  # busy, and only 0.2 s since the last round
    clock.now += 1.0
    asyncio.run(publisher.tick())
    assert len(sent) == 12  # busy, but the busy interval has passed
    change(10)
    asyncio.run(publisher.publish_all())  # before a commit: whatever the rounds
    assert len(sent) == 22
