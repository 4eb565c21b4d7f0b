"""The commit path's producer flush waits for every buffered table write (faust's gives up after 0.1 s)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
from faust.transport.producer import ProducerBuffer

from connector.processors.transport import drain


class SlowBuffer:
    """What ``drain`` and faust's flush read of a producer buffer, sending one message per ``delay``."""

    state = "running"

    def __init__(self, messages: int, delay: float) -> None:
        self.pending, self.delay = messages, delay
        self.message_sent = asyncio.Event()

    @property
    def size(self) -> int:
        return self.pending

    async def send_all(self) -> None:
        while self.pending:
            await asyncio.sleep(self.delay)
            self.pending -= 1
            self.message_sent.set()


async def test_faust_flush_returns_with_writes_unsent_and_drain_does_not() -> None:
    faust_buffer = SlowBuffer(messages=3, delay=0.25)
    sender = asyncio.create_task(faust_buffer.send_all())
    await ProducerBuffer.flush_atmost(cast(Any, faust_buffer), None)
    assert faust_buffer.size > 0, "faust's flush waited for everything: the repair would be unnecessary"
    await sender

    ours = SlowBuffer(messages=3, delay=0.25)
    sender = asyncio.create_task(ours.send_all())
    await drain(cast(Any, ours))
    assert ours.size == 0
    await sender


async def test_drain_fails_loudly_when_nothing_leaves_the_buffer() -> None:
    stuck = SlowBuffer(messages=2, delay=3600)
    with pytest.raises(RuntimeError, match="2 table writes still unsent"):
        await drain(cast(Any, stuck), timeout_seconds=0.3)
