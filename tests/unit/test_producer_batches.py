"""Records go straight into aiokafka's record builder: the batch is the one its ``append`` would build."""

from __future__ import annotations

from typing import Any

from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.record.default_records import DefaultRecordBatch
from aiokafka.structs import TopicPartition

from connector.kafka.producer import _Batch

HEADERS = [("event_type", b"AgentStateChanged"), ("schema", b"s")]


def _records(builder: BatchBuilder) -> list[tuple[Any, ...]]:
    batch = DefaultRecordBatch(bytes(builder._build()))
    return [(r.offset, r.key, r.value, list(r.headers)) for r in batch]


def test_the_direct_path_builds_what_append_builds_and_counts_the_records() -> None:
    """Same records, offsets and headers; ``record_count`` (the idempotent producer's sequence step) set."""
    records = [(f"k{n % 3}".encode(), b"v" * n, HEADERS) for n in range(50)]
    direct = _Batch(TopicPartition("t", 0), BatchBuilder(1 << 20, 0))
    assert direct.direct
    for n, (key, value, headers) in enumerate(records):
        assert direct.append(n, None, key, value, headers) is not None
        direct.count += 1
    direct.seal()
    public = BatchBuilder(1 << 20, 0)
    for key, value, headers in records:
        public.append(timestamp=None, key=key, value=value, headers=headers)
    public.close()
    assert direct.builder.record_count() == public.record_count() == 50
    assert direct.builder.closed()
    assert _records(direct.builder) == _records(public)


def test_a_full_batch_refuses_and_another_builder_goes_through_its_append() -> None:
    full = _Batch(TopicPartition("t", 0), BatchBuilder(200, 0))
    assert full.append(0, None, b"k", b"x" * 100, []) is not None  # the first record always fits
    assert full.append(1, None, b"k", b"x" * 300, []) is None

    class StandIn:
        def __init__(self) -> None:
            self.appended: list[tuple[Any, ...]] = []
            self.closed = False

        def append(self, *, timestamp: Any, key: Any, value: Any, headers: Any) -> object:
            self.appended.append((timestamp, key, value, headers))
            return object()

        def close(self) -> None:
            self.closed = True

    stand_in = StandIn()
    other = _Batch(TopicPartition("t", 1), stand_in)
    assert not other.direct
    assert other.append(0, None, b"k", b"v", HEADERS) is not None
    other.seal()
    assert stand_in.appended == [(None, b"k", b"v", HEADERS)] and stand_in.closed
