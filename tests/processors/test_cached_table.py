"""The cached record table: decoded once, changed in place, logged once per commit (latest value wins)."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

import pytest

from connector.processors import streams
from connector.processors.groups import GroupRecord
from connector.processors.streams import CachedRecordTable
from tests.processors.harness import BASE_MS


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes | None, int | None]] = []

    async def send_direct(self, topic: str, key: bytes | None, value: bytes | None,
                          headers: Any = None, partition: int | None = None) -> None:
        self.sent.append((topic, key, value, partition))


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> tuple[CachedRecordTable[GroupRecord], FakeProducer, dict[str, int]]:
    producer = FakeProducer()
    handling = {"partition": 0}
    monkeypatch.setattr(streams, "direct_producer", lambda app: producer)
    monkeypatch.setattr(streams, "current_event",
                        lambda: SimpleNamespace(message=SimpleNamespace(partition=handling["partition"])))
    faust_table = SimpleNamespace(name="groups", data={}, app=None,
                                  changelog_topic=SimpleNamespace(get_topic_name=lambda: "app-groups-changelog"))
    return CachedRecordTable(faust_table, GroupRecord.from_json), producer, handling  # type: ignore[arg-type]


def test_a_restored_record_is_decoded_once_and_kept_decoded(table: Any) -> None:
    records, _, _ = table
    stored = GroupRecord.empty("t:v:tenant:all", BASE_MS)
    records.table.data[b"t:v:tenant:all"] = json.dumps(stored.to_json()).encode()  # as restored from the changelog
    first = records.load("t:v:tenant:all")
    assert first == stored
    assert records.load("t:v:tenant:all") is first
    assert records.get("t:v:tenant:all") == stored.to_json()  # the query API still sees JSON
    assert records.load("missing") is None


def test_staged_records_are_visible_at_once_and_logged_once_per_write_back(table: Any) -> None:
    records, producer, handling = table
    first = GroupRecord.empty("g1", BASE_MS)
    latest = GroupRecord.empty("g1", BASE_MS + 5)
    handling["partition"] = 2
    records.stage("g1", first)
    records.stage("g1", latest)
    records.stage("g2", GroupRecord.empty("g2", BASE_MS))
    assert records.get("g1") == latest.to_json() and dict(records.items())["g2"]["group"] == "g2"
    assert producer.sent == [] and records.unlogged == 2
    asyncio.run(records.write_back())
    logged = {key: (json.loads(value), partition) for _, key, value, partition in producer.sent}
    assert logged == {b"g1": (latest.to_json(), 2), b"g2": (GroupRecord.empty("g2", BASE_MS).to_json(), 2)}
    assert {topic for topic, *_ in producer.sent} == {"app-groups-changelog"}
    producer.sent.clear()
    asyncio.run(records.write_back())
    assert producer.sent == []  # nothing changed since


def test_a_dropped_record_is_logged_as_a_tombstone_and_dropping_nothing_logs_nothing(table: Any) -> None:
    records, producer, handling = table
    handling["partition"] = 1
    records.stage("g1", GroupRecord.empty("g1", BASE_MS))
    asyncio.run(records.write_back())
    producer.sent.clear()
    records.stage("g1", None)
    records.stage("never-there", None)
    assert "g1" not in records
    asyncio.run(records.write_back())
    assert producer.sent == [("app-groups-changelog", b"g1", None, 1)]


def test_writing_outside_a_stream_handler_is_refused(table: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    records, _, _ = table
    monkeypatch.setattr(streams, "current_event", lambda: None)
    with pytest.raises(RuntimeError, match="outside a stream handler"):
        records.stage("g1", GroupRecord.empty("g1", BASE_MS))
