"""The commit path's producer flush waits for every buffered table write (faust's gives up after 0.1 s)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from faust.transport.producer import ProducerBuffer

from connector.processors.transport import drain


class SlowChannel:
    """Stands in for a changelog topic whose publish takes ``delay`` seconds."""

    def __init__(self, delay: float) -> None:
        self.delay, self.published = delay, 0

    async def publish_message(self, fut: Any, wait: bool = False) -> None:
        await asyncio.sleep(self.delay)
        self.published += 1


async def running_buffer() -> ProducerBuffer:
    buffer = ProducerBuffer()
    buffer.app = SimpleNamespace(conf=SimpleNamespace(producer_threaded=False))  # type: ignore[assignment]
    await buffer.start()
    return buffer


def write(buffer: ProducerBuffer, channel: SlowChannel) -> None:
    buffer.put(SimpleNamespace(message=SimpleNamespace(channel=channel)))  # type: ignore[arg-type]


async def test_faust_flush_returns_with_writes_unsent_and_drain_does_not() -> None:
    buffer = await running_buffer()
    try:
        channel = SlowChannel(delay=0.25)
        for _ in range(3):
            write(buffer, channel)
        await buffer.flush()
        assert channel.published < 3, "faust's flush waited for everything: the repair would be unnecessary"
        await drain(buffer)
        assert channel.published == 3
    finally:
        await buffer.stop()


async def test_drain_is_not_starved_by_writes_made_while_it_waits() -> None:
    buffer = await running_buffer()
    channel = SlowChannel(delay=0.02)
    stop = asyncio.Event()

    async def keep_writing() -> None:
        while not stop.is_set():
            write(buffer, channel)
            write(buffer, channel)
            await asyncio.sleep(0.02)

    writer = asyncio.create_task(keep_writing())
    try:
        await asyncio.sleep(0.1)
        before = buffer.size
        await drain(buffer, timeout_seconds=30)
        assert channel.published >= before  # what was buffered when it was called went out
        assert buffer.size > 0  # and it returned while newer writes were still buffered
    finally:
        stop.set()
        await writer
        buffer.pending = asyncio.Queue()
        await buffer.stop()


async def test_drain_fails_loudly_when_nothing_leaves_the_buffer() -> None:
    buffer = await running_buffer()
    try:
        write(buffer, SlowChannel(delay=3600))
        write(buffer, SlowChannel(delay=0))
        with pytest.raises(RuntimeError, match="table writes still unsent"):
            await drain(buffer, timeout_seconds=0.3)
    finally:
        buffer.pending = asyncio.Queue()
        await buffer.stop()
