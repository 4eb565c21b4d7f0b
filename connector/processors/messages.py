"""The JSON messages of the two internal repartition topics, and the table value codec.

Both internal topics are ours alone, so they carry compact JSON rather than Avro:

* group changes (key: group key): an agent's ``GroupDelta`` or a vendor's count
  (``ObservedSnapshot``) for the group, so the group handler owns every write to a group;
* conversation windows (key: window key): one ``AgentConversationsObserved`` as Avro fields.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from connector.model import AgentConversationsObserved
from connector.processors.deltas import GroupDelta
from connector.processors.observed import ObservedSnapshot

__all__ = ["GroupMessage", "decode_conversation", "decode_group_message", "dumps", "encode_conversation"]


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


@dataclass(frozen=True, slots=True)
class GroupMessage:
    """One message to a group: exactly one of ``delta`` and ``observed`` is set."""

    group: str
    delta: GroupDelta | None = None
    observed: ObservedSnapshot | None = None

    def encode(self) -> bytes:
        if self.delta is not None:
            return dumps({"delta": self.delta.to_json()})
        if self.observed is not None:
            return dumps({"group": self.group, "observed": self.observed.to_json()})
        raise ValueError("a group message needs a delta or an observation")


def decode_group_message(payload: bytes) -> GroupMessage:
    data = json.loads(payload)
    if "delta" in data:
        delta = GroupDelta.from_json(data["delta"])
        return GroupMessage(delta.group, delta=delta)
    return GroupMessage(data["group"], observed=ObservedSnapshot.from_json(data["observed"]))


def encode_conversation(observation: AgentConversationsObserved) -> bytes:
    return dumps(observation.as_avro())


def decode_conversation(payload: bytes) -> AgentConversationsObserved:
    return AgentConversationsObserved.from_avro(json.loads(payload))
