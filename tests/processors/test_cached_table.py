"""The cached record table: decoded once, changed in place, logged once per commit in parts (only what changed)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest

from connector.model import AgentState
from connector.processors import tables as tables_module
from connector.processors.groups import GroupRecord, Member
from connector.processors.health import Counts
from connector.processors.streams import GROUP_PARTS
from connector.processors.tables import PART_SEPARATOR, CachedRecordTable
from tests.processors.harness import BASE_MS

CHANGELOG = "app-groups-changelog"


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[bytes | None, bytes | None, int | None]] = []

    async def send_direct(self, topic: str, key: bytes | None, value: bytes | None,
                          headers: Any = None, partition: int | None = None) -> None:
        assert topic == CHANGELOG
        self.sent.append((key, value, partition))

    def logged(self) -> dict[bytes | None, Any]:
        return {key: None if value is None else json.loads(value) for key, value, _ in self.sent}


Fixture = tuple[CachedRecordTable[GroupRecord], FakeProducer, dict[str, int]]


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Fixture:
    producer = FakeProducer()
    handling = {"partition": 0}
    monkeypatch.setattr(tables_module, "direct_producer", lambda app: producer)
    monkeypatch.setattr(tables_module, "current_event",
                        lambda: SimpleNamespace(message=SimpleNamespace(partition=handling["partition"])))
    faust_table = SimpleNamespace(name="groups", data={}, app=None,
                                  changelog_topic=SimpleNamespace(get_topic_name=lambda: CHANGELOG))
    return CachedRecordTable(faust_table, GROUP_PARTS), producer, handling  # type: ignore[arg-type]


def group(name: str, **members: AgentState | None) -> GroupRecord:
    record = GroupRecord.empty(name, BASE_MS)
    counts = Counts()
    for state in members.values():
        counts = counts.moved(None, state)
    held = {agent: Member(1, state, BASE_MS, f"e-{agent}", None) for agent, state in members.items()}
    return replace(record, members=held, counts=counts)


def part(record: str, agent: str) -> bytes:
    return record.encode() + PART_SEPARATOR + agent.encode()


def test_a_record_is_logged_as_its_header_and_its_members_then_only_what_changed(table: Fixture) -> None:
    records, producer, handling = table
    handling["partition"] = 2
    first = group("g1", a=AgentState.AVAILABLE, b=AgentState.BUSY)
    records.stage("g1", first)
    asyncio.run(records.write_back())
    assert producer.logged() == {b"g1": first.header_json(), part("g1", "a"): first.members["a"].to_json(),
                                 part("g1", "b"): first.members["b"].to_json()}
    assert {p for _, _, p in producer.sent} == {2}
    producer.sent.clear()
    moved = Member(2, AgentState.AWAY, BASE_MS + 9, "e-b2", "lunch")
    second = replace(first, members={**first.members, "b": moved}, counts=Counts(available=1, away=1))
    records.stage("g1", second)
    assert records.get("g1") == second.to_json() and producer.sent == []  # visible at once, logged later
    asyncio.run(records.write_back())
    assert producer.logged() == {b"g1": second.header_json(), part("g1", "b"): moved.to_json()}  # not a
    assert b"members" not in producer.sent[-1][1]  # type: ignore[operator]
    producer.sent.clear()
    asyncio.run(records.write_back())
    assert producer.sent == []  # nothing changed since


def test_a_restored_record_is_joined_from_its_parts_once_and_kept_decoded(table: Fixture) -> None:
    records, producer, _ = table
    stored = group("g1", a=AgentState.AVAILABLE, b=AgentState.BUSY)
    data = records.table.data
    data[b"g1"] = json.dumps(stored.header_json()).encode()  # as faust restores the changelog
    for agent, member in stored.members.items():
        data[part("g1", agent)] = json.dumps(member.to_json()).encode()
    data[b"g2"] = json.dumps(group("g2", c=AgentState.BUSY).to_json()).encode()  # a whole record (older layout)
    records.forget_restored_parts()
    assert dict(records.items()) == {"g1": stored.to_json(), "g2": group("g2", c=AgentState.BUSY).to_json()}
    joined = records.load("g1")
    assert joined == stored and records.load("g1") is joined
    assert set(data) == {b"g1", b"g2"}  # the parts now live inside the record
    assert records.load("missing") is None
    changed = replace(joined, members={**joined.members, "a": Member(2, None, BASE_MS + 1, "e-a2", None)})
    records.stage("g1", changed)
    asyncio.run(records.write_back())
    assert set(producer.logged()) == {b"g1", part("g1", "a")}  # only the member that changed since restore


def test_a_dropped_record_is_logged_as_tombstones_of_its_header_and_parts(table: Fixture) -> None:
    records, producer, handling = table
    handling["partition"] = 1
    records.stage("g1", group("g1", a=AgentState.AVAILABLE))
    asyncio.run(records.write_back())
    producer.sent.clear()
    records.stage("g1", None)
    records.stage("never-there", None)
    assert "g1" not in records
    asyncio.run(records.write_back())
    assert sorted(producer.sent, key=str) == sorted([(b"g1", None, 1), (part("g1", "a"), None, 1)], key=str)


def test_writing_outside_a_stream_handler_is_refused(table: Fixture, monkeypatch: pytest.MonkeyPatch) -> None:
    records, _, _ = table
    monkeypatch.setattr(tables_module, "current_event", lambda: None)
    with pytest.raises(RuntimeError, match="outside a stream handler"):
        records.stage("g1", GroupRecord.empty("g1", BASE_MS))


def test_members_written_before_a_crash_cut_the_write_back_short_are_counted() -> None:
    """A write-back sends a record's changed members, then its header: a crash in between leaves the
    changelog with members newer than the header's counts; the joined record counts its members."""
    before = group("g1", a=AgentState.AVAILABLE, b=AgentState.BUSY)
    moved = {**before.members, "b": Member(2, AgentState.AVAILABLE, BASE_MS + 5, "e-b2", None)}
    joined = GroupRecord.join(before.header_json(), {agent: m.to_json() for agent, m in moved.items()})
    assert joined.counts == Counts(available=2)
    assert before.counts == Counts(available=1, busy=1)
