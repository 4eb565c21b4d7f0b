"""Group deltas, held for a moment and sent as one message per partition instead of one per delta.

Every agent event makes a delta for each group the agent is in (tenant, campaign,
queue, skills...). Sent one by one, each became a message the group handler had
to take through faust's stream machinery (a few hundred microseconds each, more
than the handling itself). Held for a few milliseconds (5 while quiet, 50 while busy), the deltas of a busy moment
go as one ``DeltaBatch`` per partition of the group-changes topic, to the partition
their groups' records live on (the one the group key hashes to, as if each delta
were sent with its group as key), and the group handler applies each group's share
in one step. Deltas are versioned snapshots, so batching changes no result.

Nothing held may be lost to a commit: ``flush`` runs before every commit (a
``DrainingProducer.before_flush`` hook), and faust picks the offsets to commit
before it flushes, so every event those offsets cover had its deltas here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

from connector.processors.deltas import GroupDelta
from connector.processors.messages import DeltaBatch

__all__ = ["GroupDeltaBatcher"]

log = logging.getLogger(__name__)

#: Most a delta waits before it is sent (when the worker is not committing sooner), while busy.
MAX_DELAY_SECONDS = 0.05
#: ... and while quiet: deltas came at fewer than BUSY_DELTAS_PER_SECOND between the last two sends.
QUIET_DELAY_SECONDS = 0.005
BUSY_DELTAS_PER_SECOND = 1000.0
#: Deltas held before they are sent at once.
MAX_HELD = 5000
#: Deltas per message: ~300 bytes each keeps a message well under Kafka's 1 MB default.
MAX_PER_MESSAGE = 1000


class GroupDeltaBatcher:
    """Collects deltas by partition; sends them after a delay, at ``max_held``, or on ``flush``.

    The delay is ``max_delay`` while busy (deltas came at ``busy_rate`` a second or more between the
    last two sends), else ``quiet_delay``: under load, longer batches cost less per event; a trickle
    goes out at once."""

    def __init__(self, send: Callable[[int, DeltaBatch], Awaitable[None]], partition_of: Callable[[str], int], *,
                 max_delay: float = MAX_DELAY_SECONDS, quiet_delay: float = QUIET_DELAY_SECONDS,
                 busy_rate: float = BUSY_DELTAS_PER_SECOND, max_held: int = MAX_HELD,
                 max_per_message: int = MAX_PER_MESSAGE) -> None:
        if not 0 <= quiet_delay <= max_delay or max_held < 1 or max_per_message < 1:
            raise ValueError("need 0 <= quiet_delay <= max_delay, max_held and max_per_message >= 1")
        self._send = send
        self._partition_of = partition_of
        self.max_delay, self.max_held, self.max_per_message = max_delay, max_held, max_per_message
        self.quiet_delay, self.busy_rate = quiet_delay, busy_rate
        # deltas per second between the last two flushes: a busy worker batches longer, a quiet one answers sooner
        self._rate = 0.0
        self._flushed_at = 0.0
        self._held: dict[int, list[GroupDelta]] = {}
        self._count = 0
        self._timer: asyncio.TimerHandle | None = None
        self._timed_flush: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._failure: BaseException | None = None
        self.messages_sent = 0

    @property
    def held(self) -> int:
        """Deltas waiting to be sent."""
        return self._count

    async def add(self, deltas: Iterable[GroupDelta]) -> None:
        partition_of = self._partition_of
        for delta in deltas:
            self._held.setdefault(partition_of(delta.group), []).append(delta)
            self._count += 1
        if self._count >= self.max_held:
            await self.flush()
        elif self._count and self._timer is None:
            delay = self.max_delay if self._rate >= self.busy_rate else self.quiet_delay
            self._timer = asyncio.get_running_loop().call_later(delay, self._flush_soon)

    def _flush_soon(self) -> None:
        self._timer = None
        self._timed_flush = asyncio.ensure_future(self._flush_logged())

    async def _flush_logged(self) -> None:
        try:
            await self.flush()
        except Exception as exc:  # every later flush (before a commit) raises it too: no commit passes it
            log.error("could not send held group deltas: %s", exc)

    async def flush(self) -> None:
        """Hand every held delta to the producer. Once a send has failed, every flush raises: the
        deltas it held are gone, so no commit may pass them (after a restart the input is replayed
        from the last commit and makes them again)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        async with self._lock:  # one flush at a time: a commit's flush returns only once all are handed over
            if self._failure is not None:
                raise RuntimeError("held group deltas were not sent; not committing past them") from self._failure
            now = asyncio.get_running_loop().time()
            self._rate, self._flushed_at = self._count / max(now - self._flushed_at, 1e-3), now
            while self._held:
                partition, deltas = self._held.popitem()
                self._count -= len(deltas)
                try:
                    for i in range(0, len(deltas), self.max_per_message):
                        await self._send(partition, DeltaBatch(tuple(deltas[i:i + self.max_per_message])))
                        self.messages_sent += 1
                except BaseException as exc:
                    self._failure = exc
                    raise
