"""Record tables over faust tables: plain JSON records, and cached records logged in parts.

faust serializes table keys as JSON unless their type is ``bytes``; raw bytes keep a
changelog key identical to the input's key, so the router's partition for a key
(``app.router.key_store``) is the partition its records were written from. Records
are written to the changelog partition of the event being handled, as faust would,
but straight to aiokafka (``DrainingProducer.send_direct``); the next commit waits
for their acknowledgement.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, cast

from faust.streams import current_event
from faust.types import TableT

from connector.processors.transport import direct_producer

__all__ = ["PART_SEPARATOR", "CachedRecordTable", "RecordParts", "RecordTable", "event_partition"]

#: Between a record's key and a part's id in the changelog key of that part.
PART_SEPARATOR = b"\x1f"


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def event_partition(what: str) -> int:
    """The partition of the event being handled: a table's changelog partition for what it writes."""
    event = current_event()
    if event is None:
        raise RuntimeError(f"{what} written outside a stream handler")
    partition: int = event.message.partition
    return partition


class RecordTable:
    """A faust table of JSON records under text keys, values held as compact JSON bytes (a record
    takes a fraction of the memory of its nested Python objects; the changelog carries the same JSON)."""

    def __init__(self, table: TableT[bytes, Any]) -> None:
        self.table = table
        self._changelog: str | None = None

    @property
    def name(self) -> str:
        name: str = self.table.name
        return name

    def get(self, key: str) -> Any:
        """The record as JSON (a dict), or None."""
        value = self.table.data.get(key.encode())
        return json.loads(value) if value is not None else None

    async def set(self, key: str, value: Any) -> None:
        """Store a record and send it to the changelog partition of the event being handled."""
        raw_key, raw_value = key.encode(), _dumps(value)
        self.table.data[raw_key] = raw_value
        await self._log(raw_key, raw_value, event_partition(f"table {self.name}"))

    async def delete(self, key: str) -> None:
        """Drop a record and send its tombstone to the changelog."""
        raw_key = key.encode()
        if raw_key in self.table.data:
            del self.table.data[raw_key]
            await self._log(raw_key, None, event_partition(f"table {self.name}"))

    async def _log(self, key: bytes, value: bytes | None, partition: int) -> None:
        await direct_producer(self.table.app).send_direct(self.changelog, key, value, partition=partition)

    @property
    def changelog(self) -> str:
        if self._changelog is None:  # named once faust has set the table up; asked on every write
            self._changelog = self.table.changelog_topic.get_topic_name()
        return self._changelog

    def __contains__(self, key: str) -> bool:
        return key.encode() in self.table.data

    def items(self) -> list[tuple[str, Any]]:
        return [(key.decode(), json.loads(value)) for key, value in list(self.table.data.items())]

    def entries(self) -> list[tuple[str, Any]]:
        """What the query API reads: each key with its record as JSON (a cached table: decoded)."""
        return self.items()


class Record(Protocol):
    def to_json(self) -> Any: ...


R = TypeVar("R", bound=Record)


@dataclass(frozen=True, slots=True)
class RecordParts(Generic[R]):
    """How a record splits into a small header and many parts (a group's members, a pane's agents).

    ``parts`` must keep an unchanged part the *same object* from one version of a record to the
    next (the pure functions copy the mapping and replace only what changed), so a write-back
    finds the changed parts by identity."""

    header: Callable[[R], Any]  # the record's JSON without its parts
    parts: Callable[[R], Mapping[str, Any]]  # part id -> part
    part_json: Callable[[Any], Any]
    join: Callable[[Any, dict[str, Any]], R]  # header JSON, part JSON by id -> record


class CachedRecordTable(RecordTable, Generic[R]):
    """A record table whose handler keeps records decoded and logs what changed, once per commit.

    A group record holds every member of the group, a pane record every agent's segments in
    it: re-encoding and re-sending a whole record on each change made the changelog the
    worker's bottleneck. Here ``load`` decodes a record once and keeps the object in the table,
    ``stage`` replaces it in place, and ``write_back`` (before every commit) sends, for each
    record changed since, its header under the record's key and only its changed parts, each
    under ``key + PART_SEPARATOR + part id`` (tombstones for removed ones). A commit covers only
    what its changelog holds; a crash loses no more than the uncommitted input, which is replayed.

    A restored table holds those changelog records as bytes: ``load`` joins a header with its
    parts (found through an index of part keys, rebuilt after partitions are assigned, which is
    when faust restores them) and keeps the joined record instead.
    """

    def __init__(self, table: TableT[bytes, Any], parts: RecordParts[R]) -> None:
        super().__init__(table)
        self._parts = parts
        self._unlogged: dict[bytes, int] = {}  # key -> changelog partition, for keys changed since write-back
        self._logged: dict[bytes, R] = {}  # key -> the version the changelog holds (loaded or written)
        self._part_keys: dict[bytes, list[bytes]] | None = None  # record key -> its restored part keys

    def forget_restored_parts(self) -> None:
        """Partitions were (re)assigned: faust may restore part records, so index them anew when needed."""
        self._part_keys = None

    def _index(self) -> dict[bytes, list[bytes]]:
        if self._part_keys is None:
            index: dict[bytes, list[bytes]] = {}
            for raw_key in list(self.table.data):
                owner, separator, _ = raw_key.partition(PART_SEPARATOR)
                if separator:
                    index.setdefault(owner, []).append(raw_key)
            self._part_keys = index
        return self._part_keys

    def _load(self, raw_key: bytes) -> R | None:
        value = self.table.data.get(raw_key)
        if value is None or not isinstance(value, bytes):
            return cast("R | None", value)
        data = self.table.data
        parts: dict[str, Any] = {}
        for part_key in self._index().pop(raw_key, ()):
            part = data.pop(part_key, None)  # joined into the record from now on
            if part is not None:
                parts[part_key[len(raw_key) + 1:].decode()] = json.loads(part)
        record = self._parts.join(json.loads(value), parts)
        data[raw_key] = self._logged[raw_key] = record
        return record

    def load(self, key: str) -> R | None:
        """The decoded record, or None; decoded once, then kept decoded."""
        return self._load(key.encode())

    def stage(self, key: str, record: R | None) -> None:
        """Replace (None: drop) a record now; its changelog writes wait for ``write_back``."""
        raw_key = key.encode()
        if record is None:
            if self._load(raw_key) is None:
                return
            del self.table.data[raw_key]
        else:
            self.table.data[raw_key] = record
        self._unlogged[raw_key] = event_partition(f"table {self.name}")

    @property
    def unlogged(self) -> int:
        """Records changed since the last write-back."""
        return len(self._unlogged)

    async def write_back(self) -> None:
        """Send what changed in every record changed since the last call to its changelog partition."""
        while self._unlogged:
            raw_key, partition = self._unlogged.popitem()
            current = cast("R | None", self.table.data.get(raw_key))
            logged = self._logged.pop(raw_key, None)
            before = self._parts.parts(logged) if logged is not None else {}
            after = self._parts.parts(current) if current is not None else {}
            for part_id, part in after.items():
                if before.get(part_id) is not part:
                    await self._log(raw_key + PART_SEPARATOR + part_id.encode(), _dumps(self._parts.part_json(part)),
                                    partition)
            for part_id in before.keys() - after.keys():
                await self._log(raw_key + PART_SEPARATOR + part_id.encode(), None, partition)
            await self._log(raw_key, None if current is None else _dumps(self._parts.header(current)), partition)
            if current is not None:
                self._logged[raw_key] = current

    def get(self, key: str) -> Any:
        record = self._load(key.encode())
        return record.to_json() if record is not None else None

    def entries(self) -> list[tuple[str, R]]:
        """Each key with its decoded record: the query API reads them as they are, no JSON in between."""
        keys = [raw_key for raw_key in list(self.table.data) if PART_SEPARATOR not in raw_key]
        return [(raw_key.decode(), record) for raw_key in keys if (record := self._load(raw_key)) is not None]

    def items(self) -> list[tuple[str, Any]]:
        return [(key, record.to_json()) for key, record in self.entries()]
