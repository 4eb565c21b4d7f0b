"""The group-delta batcher: one message per partition, sent on time, on size and before every commit."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.partitioner import DefaultPartitioner

from connector.processors.batching import GroupDeltaBatcher
from connector.processors.deltas import GroupDelta
from connector.processors.messages import DeltaBatch, decode_group_message
from tests.processors.harness import BASE_MS

PARTITIONS = [0, 1, 2]


def partition_of(group: str) -> int:
    return int(DefaultPartitioner()(group.encode(), PARTITIONS, PARTITIONS))


def delta(group: str, agent: str, rev: int) -> GroupDelta:
    return GroupDelta(group, agent, rev, f"e-{agent}-{rev}", BASE_MS + rev, BASE_MS + rev, None, ())


class Outbox:
    def __init__(self, fail_after: int | None = None) -> None:
        self.messages: list[tuple[int, DeltaBatch]] = []
        self.fail_after = fail_after

    async def send(self, partition: int, batch: DeltaBatch) -> None:
        if self.fail_after is not None and len(self.messages) >= self.fail_after:
            raise ConnectionError("broker gone")
        decoded = decode_group_message(batch.encode())  # what the group handler will read
        assert isinstance(decoded, DeltaBatch)
        self.messages.append((partition, decoded))


def groups_on_distinct_partitions() -> list[str]:
    found: dict[int, str] = {}
    for i in range(100):
        found.setdefault(partition_of(f"t:v:campaign:{i}"), f"t:v:campaign:{i}")
    return [found[p] for p in PARTITIONS]


def test_deltas_go_as_one_message_per_partition_to_their_groups_partition_in_order() -> None:
    g1, g2, g3 = groups_on_distinct_partitions()

    async def scenario() -> list[tuple[int, DeltaBatch]]:
        outbox = Outbox()
        batcher = GroupDeltaBatcher(outbox.send, partition_of, max_delay=10, quiet_delay=10)
        await batcher.add([delta(g1, "a", 1), delta(g2, "a", 1)])
        await batcher.add([delta(g1, "b", 1), delta(g1, "a", 2), delta(g3, "c", 1)])
        assert outbox.messages == [] and batcher.held == 5  # held until the delay, a size limit or a flush
        await batcher.flush()
        assert batcher.held == 0
        return outbox.messages

    sent = {partition: batch for partition, batch in asyncio.run(scenario())}
    assert len(sent) == 3
    assert [(d.agent, d.rev) for d in sent[partition_of(g1)].deltas] == [("a", 1), ("b", 1), ("a", 2)]
    assert [d.group for d in sent[partition_of(g2)].deltas] == [g2]
    assert [d.group for d in sent[partition_of(g3)].deltas] == [g3]


def test_held_deltas_are_sent_after_the_delay_without_a_flush() -> None:
    async def scenario() -> int:
        outbox = Outbox()
        batcher = GroupDeltaBatcher(outbox.send, partition_of, max_delay=0.01, quiet_delay=0.01)
        await batcher.add([delta("g1", "a", 1)])
        for _ in range(100):
            await asyncio.sleep(0.01)
            if outbox.messages:
                break
        return len(outbox.messages)

    assert asyncio.run(scenario()) == 1


def test_reaching_the_size_limit_sends_at_once_and_large_batches_are_split() -> None:
    async def scenario() -> list[int]:
        outbox = Outbox()
        batcher = GroupDeltaBatcher(outbox.send, partition_of, max_delay=10, quiet_delay=10, max_held=10,
                                    max_per_message=4)
        await batcher.add([delta("g1", f"a{i}", 1) for i in range(9)])
        assert outbox.messages == []
        await batcher.add([delta("g1", "a9", 1)])
        return [len(batch.deltas) for _, batch in outbox.messages]

    assert asyncio.run(scenario()) == [4, 4, 2]


def test_a_failed_send_fails_every_later_flush_so_no_commit_passes_lost_deltas() -> None:
    async def scenario() -> None:
        outbox = Outbox(fail_after=0)
        batcher = GroupDeltaBatcher(outbox.send, partition_of, max_delay=0.001, quiet_delay=0.001)
        await batcher.add([delta("g1", "a", 1)])
        await asyncio.sleep(0.05)  # the timed send fails in the background
        outbox.fail_after = None
        for _ in range(2):
            with pytest.raises(RuntimeError, match="not committing past them"):
                await batcher.flush()

    asyncio.run(scenario())


def test_a_commit_flush_waits_for_a_timed_flush_already_sending() -> None:
    async def scenario() -> tuple[int, int]:
        release = asyncio.Event()
        sent: list[DeltaBatch] = []

        async def slow_send(partition: int, batch: DeltaBatch) -> None:
            await release.wait()
            sent.append(batch)

        batcher = GroupDeltaBatcher(slow_send, partition_of, max_delay=0.001, quiet_delay=0.001)
        await batcher.add([delta("g1", "a", 1)])
        await asyncio.sleep(0.02)  # the timed flush has taken the delta and waits in send
        commit_flush = asyncio.ensure_future(batcher.flush())
        await asyncio.sleep(0.02)
        assert not commit_flush.done()  # a commit must not pass the delta still being sent
        release.set()
        await commit_flush
        return len(sent), batcher.held

    assert asyncio.run(scenario()) == (1, 0)


def test_bad_limits_are_refused() -> None:
    async def send(partition: int, batch: DeltaBatch) -> None: ...

    with pytest.raises(ValueError, match="max_held"):
        GroupDeltaBatcher(send, partition_of, max_held=0)
    with pytest.raises(ValueError, match="quiet_delay <= max_delay"):
        GroupDeltaBatcher(send, partition_of, max_delay=0.01, quiet_delay=0.05)


def test_a_quiet_worker_sends_soon_and_a_busy_one_batches_longer() -> None:
    async def first_send_after(batcher: GroupDeltaBatcher, outbox: Outbox) -> float:
        loop = asyncio.get_running_loop()
        before, started = len(outbox.messages), loop.time()
        await batcher.add([delta("g1", "a", 1)])
        for _ in range(500):
            if len(outbox.messages) > before:
                break
            await asyncio.sleep(0.002)
        return loop.time() - started

    async def scenario() -> tuple[float, float]:
        outbox = Outbox()
        batcher = GroupDeltaBatcher(outbox.send, partition_of, max_delay=0.3, quiet_delay=0.01, busy_rate=1000)
        quiet = await first_send_after(batcher, outbox)  # one delta since the start: quiet
        await batcher.add([delta("g1", f"b{i}", 1) for i in range(50)])
        await batcher.flush()  # 50 deltas within a few ms of the last send: busy from now on
        busy = await first_send_after(batcher, outbox)
        return quiet, busy

    quiet, busy = asyncio.run(scenario())
    assert quiet < 0.2 <= busy


def test_key_partitions_follow_the_default_partitioner_and_wait_to_be_loaded() -> None:
    from connector.processors.transport import KeyPartitions

    class Producer:
        async def partitions_for(self, topic: str) -> set[int]:
            return {2, 0, 1}

    partitions = KeyPartitions()
    with pytest.raises(RuntimeError, match="before they were loaded"):
        partitions("t:v:tenant:all")
    asyncio.run(partitions.load(Producer(), "topic"))  # type: ignore[arg-type]
    for i in range(50):
        key = f"t:v:campaign:{i}"
        assert partitions(key) == partition_of(key) == partitions(key)
