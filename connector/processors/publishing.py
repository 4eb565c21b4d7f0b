"""Availability records: the latest of each changed group, published together, more rarely when busy.

The availability topic is compacted (latest wins), so a group changed by many deltas in a
moment needs only its latest record. Changed groups are published every ``interval``
seconds, every ``busy_interval`` while more than ``busy_groups`` groups change between two
rounds (a catching-up worker would otherwise publish every group every round: a fifth of
its work), and always before a commit, so what a commit covers is on the topic.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from connector.processors.groups import GroupRecord

__all__ = ["AvailabilityPublisher"]

#: Seconds between publishing rounds, and while busy.
INTERVAL_SECONDS = 0.2
BUSY_INTERVAL_SECONDS = 1.0
#: More changed groups than this in a round: busy.
BUSY_GROUPS = 200


class AvailabilityPublisher:
    """Holds each changed group's latest record until the next round."""

    def __init__(self, send: Callable[[GroupRecord], Awaitable[None]], *,
                 busy_interval: float = BUSY_INTERVAL_SECONDS, busy_groups: int = BUSY_GROUPS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._send = send
        self.busy_interval, self.busy_groups = busy_interval, busy_groups
        self._clock = clock
        self._changed: dict[str, GroupRecord] = {}
        self._published_at = clock()

    def changed(self, record: GroupRecord) -> None:
        """``record`` is now its group's latest."""
        self._changed[record.group] = record

    @property
    def waiting(self) -> int:
        return len(self._changed)

    async def tick(self) -> None:
        """A timer round: publish, unless busy and the busy interval has not passed."""
        busy = len(self._changed) > self.busy_groups
        if busy and self._clock() - self._published_at < self.busy_interval:
            return
        await self.publish_all()

    async def publish_all(self) -> None:
        """Publish every changed group now (before every commit)."""
        self._published_at = self._clock()
        while self._changed:
            _, record = self._changed.popitem()
            await self._send(record)
