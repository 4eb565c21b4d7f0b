"""The JSON messages of the two internal repartition topics, and the table value codec.

Both internal topics are ours alone, so they carry compact JSON rather than Avro:

* group changes: batches of agents' ``GroupDelta`` records, each batch for the groups of one
  partition (sent to that partition, so a batch is one message however many groups it
  touches), or a vendor's count (``ObservedSnapshot``) for one group (key: group key); so
  the group handler owns every write to a group;
* conversation windows (key: window key): one ``AgentConversationsObserved`` as Avro fields.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from connector.model import AgentConversationsObserved
from connector.processors.deltas import GroupDelta
from connector.processors.observed import ObservedSnapshot

__all__ = [
    "DeltaBatch",
    "GroupMessage",
    "GroupObservation",
    "decode_conversation",
    "decode_group_message",
    "dumps",
    "encode_conversation",
]


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


def _compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class DeltaBatch:
    """Agents' deltas to groups that share a partition, in the order the agent handler made them."""

    deltas: tuple[GroupDelta, ...]

    def encode(self) -> bytes:
        if not self.deltas:
            raise ValueError("a delta batch needs deltas")
        return _compact({"rows": [d.to_row() for d in self.deltas]})

    def by_group(self) -> dict[str, list[GroupDelta]]:
        """The deltas of each group, each group's in their order."""
        grouped: dict[str, list[GroupDelta]] = {}
        for delta in self.deltas:
            grouped.setdefault(delta.group, []).append(delta)
        return grouped


@dataclass(frozen=True, slots=True)
class GroupObservation:
    """A vendor's count for one group."""

    group: str
    observed: ObservedSnapshot

    def encode(self) -> bytes:
        return dumps({"group": self.group, "observed": self.observed.to_json()})


GroupMessage = DeltaBatch | GroupObservation


def decode_group_message(payload: bytes) -> GroupMessage:
    data = json.loads(payload)
    if "rows" in data:
        return DeltaBatch(tuple(GroupDelta.from_row(row) for row in data["rows"]))
    if "deltas" in data:  # deltas as objects, as the first batching release wrote them
        return DeltaBatch(tuple(GroupDelta.from_json(d) for d in data["deltas"]))
    if "delta" in data:  # one delta per message, as written before 0.2: still on the topic after an upgrade
        return DeltaBatch((GroupDelta.from_json(data["delta"]),))
    return GroupObservation(data["group"], ObservedSnapshot.from_json(data["observed"]))


def encode_conversation(observation: AgentConversationsObserved) -> bytes:
    return dumps(observation.as_avro())


def decode_conversation(payload: bytes) -> AgentConversationsObserved:
    return AgentConversationsObserved.from_avro(json.loads(payload))
