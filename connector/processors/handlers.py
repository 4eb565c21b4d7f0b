"""The stream handlers (faust agents): load table values, call the pure functions, store and send results.

At least once, and why that is enough: faust writes table changes and sends
messages through one producer and flushes it before committing input offsets
(and the flush first sends what handlers hold back: batched group deltas, cached
group and pane records, coalesced availability records), so after a crash (even
SIGKILL) the input is replayed from the last commit onto tables that may already
hold some of its effects. Every pure function is
idempotent under exactly that: a replayed agent event is a duplicate that
re-sends its snapshots, a replayed delta is ignored by revision (and re-sends
its alerts with the same ``alert_id``), a replayed observation or conversation
count replaces itself.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from datetime import UTC, datetime
from typing import Any

import faust

from connector.model import (
    AgentConversationsObserved,
    AgentGroupObserved,
    AgentStateChanged,
    DeadLetter,
    Event,
    deterministic_event_id,
)
from connector.processors.agent_state import AgentRecord, apply_agent_event
from connector.processors.batching import GroupDeltaBatcher
from connector.processors.continuity import ContinuityGuard, InputRecord
from connector.processors.conversations import (
    AgentConversations,
    WindowConversations,
    apply_agent_conversations,
    apply_window_conversations,
    conversation_agent_key,
    conversation_window_key,
)
from connector.processors.deltas import GroupDelta
from connector.processors.groups import GroupRecord, apply_group_deltas, apply_group_observation, pane_key
from connector.processors.keys import agent_key
from connector.processors.messages import (
    DeltaBatch,
    GroupObservation,
    decode_conversation,
    decode_group_message,
    encode_conversation,
)
from connector.processors.observed import derived_group_key, snapshot_of
from connector.processors.outputs import ALERT_SCHEMA, AVAILABILITY_SCHEMA, alert_record, availability_record
from connector.processors.publishing import INTERVAL_SECONDS as PUBLISH_INTERVAL_SECONDS
from connector.processors.publishing import AvailabilityPublisher
from connector.processors.streams import Processors
from connector.processors.transport import KeyPartitions, direct_producer
from connector.serde.codec import DecodeError

__all__ = ["register_handlers"]

log = logging.getLogger(__name__)

Headers = list[tuple[str, bytes]]


async def _decode(p: Processors, record: InputRecord, expected: type[Event]) -> Any:
    """The typed event; None for a tombstone, or for a record that cannot be read, which goes whole
    to the dead-letter topic (nothing is lost, and one bad record never stops the stream)."""
    payload = record.value
    if payload is None:
        return None
    try:
        decoded = p.deserializer.decode(payload)
        if decoded.schema_name != expected.schema_name:
            raise ValueError(f"a {decoded.schema_name} record where {expected.schema_name} records belong")
        return expected.from_avro(decoded.record)
    except (DecodeError, KeyError, ValueError, TypeError, EOFError) as exc:
        where = record.location
        log.warning("undecodable record sent to the dead-letter topic", extra={"where": where, "error": str(exc)})
        letter = DeadLetter(
            event_id=deterministic_event_id("processors", "", where), vendor="unknown", tenant="",
            source=p.options.app_id, error=f"{type(exc).__name__}: {exc}", error_kind="undecodable",
            raw_record=base64.b64encode(payload).decode(), source_cursor=where, failed_at=datetime.now(UTC),
            location=where, extra={"encoding": "base64", "topic": record.topic},
        )
        dead_topic = p.options.kafka.topics.dead_letter
        await p.topics.dead_letter.send(key=letter.kafka_key(), value=p.serializer.serialize(dead_topic, letter))
        return None


def _headers(p: Processors, event_type: str, schema: str) -> Headers:
    return [
        ("event_type", event_type.encode()),
        ("schema", schema.encode()),
        ("content-type", p.serializer.content_type().encode()),
    ]


def register_handlers(p: Processors) -> None:
    """Attach the five stream handlers to ``p.app``."""
    app, topics, tables, settings = p.app, p.topics, p.tables, p.options.settings
    names = p.options.kafka.topics
    guard = ContinuityGuard(p.options.kafka, p.options.app_id, app)

    async def forget(sender: Any, partitions: set[Any], **_: Any) -> None:
        guard.forget(partitions)  # revoked or (re)assigned: start again from the committed offset
        tables.groups.forget_restored_parts()  # faust restores newly assigned partitions' records
        tables.panes.forget_restored_parts()

    app.on_partitions_revoked.connect(forget)  # type: ignore[arg-type]
    app.on_partitions_assigned.connect(forget)  # type: ignore[arg-type]

    @app.on_before_shutdown.connect  # type: ignore[arg-type]
    async def stop_guard(sender: Any, **_: Any) -> None:
        await guard.stop()

    group_changes_topic = topics.group_changes.get_topic_name()
    group_partition = KeyPartitions()  # where a group's records live: its key's partition

    async def send_batch(partition: int, batch: DeltaBatch) -> None:
        await direct_producer(app).send_direct(group_changes_topic, None, batch.encode(), partition=partition)

    async def send_observation(message: GroupObservation) -> None:
        await direct_producer(app).send_direct(group_changes_topic, message.group.encode(), message.encode(),
                                               partition=group_partition(message.group))

    delta_batcher = GroupDeltaBatcher(send_batch, group_partition)

    @app.agent(topics.agent_state, name="agent-events")
    async def agent_events(stream: faust.StreamT[Any]) -> None:
        await topics.group_changes.maybe_declare()
        await group_partition.load(direct_producer(app), group_changes_topic)
        if delta_batcher.flush not in direct_producer(app).before_flush:
            direct_producer(app).before_flush.append(delta_batcher.flush)
        async for item in guard.records(stream):
            change: AgentStateChanged | None = await _decode(p, item, AgentStateChanged)
            if change is None:
                continue
            key = agent_key(change.tenant, change.vendor, change.agent_id)
            raw = tables.agents.get(key)
            update = apply_agent_event(AgentRecord.from_json(raw) if raw is not None else None, change, settings)
            stored_json = update.record.to_json()
            if stored_json != raw:
                await tables.agents.set(key, stored_json)
            await delta_batcher.add(update.deltas)

    @app.agent(topics.group_observations, name="group-observations")
    async def group_observations(stream: faust.StreamT[Any]) -> None:
        await topics.group_changes.maybe_declare()
        await group_partition.load(direct_producer(app), group_changes_topic)
        async for item in guard.records(stream):
            observation: AgentGroupObserved | None = await _decode(p, item, AgentGroupObserved)
            if observation is None:
                continue
            group = derived_group_key(observation, settings)
            if group is not None:  # filters we derive no group for stay out of the comparison
                await send_observation(GroupObservation(group, snapshot_of(observation)))

    availability_headers = _headers(p, "AgentAvailability", AVAILABILITY_SCHEMA)
    alert_headers = _headers(p, "AvailabilityAlert", ALERT_SCHEMA)

    availability_partition, alert_partition = KeyPartitions(), KeyPartitions()

    async def send_availability(record: GroupRecord) -> None:
        value = p.serializer.serialize_record(names.availability, AVAILABILITY_SCHEMA,
                                              availability_record(record, settings))
        await direct_producer(app).send_direct(names.availability, record.group.encode(), value,
                                               availability_headers, partition=availability_partition(record.group))

    publisher = AvailabilityPublisher(send_availability)
    publish = publisher.changed

    @app.timer(PUBLISH_INTERVAL_SECONDS)  # type: ignore[untyped-decorator]
    async def publish_availability() -> None:
        await publisher.tick()

    @app.agent(topics.group_changes, name="group-changes")
    async def group_changes(stream: faust.StreamT[Any]) -> None:
        # output topics are not subscribed, so faust would not create them: do it before the first send
        await topics.availability.maybe_declare()
        await topics.alerts.maybe_declare()
        await asyncio.to_thread(p.serializer.prepare, names.availability, AVAILABILITY_SCHEMA)
        await availability_partition.load(direct_producer(app), names.availability)
        await asyncio.to_thread(p.serializer.prepare, names.alerts, ALERT_SCHEMA)
        await alert_partition.load(direct_producer(app), names.alerts)
        for hook in (publisher.publish_all, tables.groups.write_back, tables.panes.write_back):
            if hook not in direct_producer(app).before_flush:
                direct_producer(app).before_flush.append(hook)
        async for item in guard.records(stream):
            if item.value is None:
                continue
            message = decode_group_message(item.value)
            if isinstance(message, GroupObservation):
                record = tables.groups.load(message.group)
                observed = apply_group_observation(record, message.group, message.observed)
                if observed is not record:
                    tables.groups.stage(message.group, observed)
                    publish(observed)
                continue
            for group, deltas in message.by_group().items():
                await apply_deltas(group, deltas)

    async def apply_deltas(group: str, deltas: list[GroupDelta]) -> None:
        record = tables.groups.load(group)
        stored = {}
        for start in {c.pane_start_ms for delta in deltas for c in delta.panes}:
            pane = tables.panes.load(pane_key(group, start))
            if pane is not None:
                stored[start] = pane
        update = apply_group_deltas(record, stored, deltas, settings)
        tables.groups.stage(group, update.record)
        for start, changed in update.panes.items():
            tables.panes.stage(pane_key(group, start), changed)
        if update.publish:
            publish(update.record)
        for alert in update.alerts:
            value = p.serializer.serialize_record(names.alerts, ALERT_SCHEMA, alert_record(alert))
            await direct_producer(app).send_direct(names.alerts, alert.group.encode(), value, alert_headers,
                                                   partition=alert_partition(alert.group))

    @app.agent(topics.conversation_observations, name="agent-conversations")
    async def agent_conversations(stream: faust.StreamT[Any]) -> None:
        async for item in guard.records(stream):
            observation: AgentConversationsObserved | None = await _decode(p, item, AgentConversationsObserved)
            if observation is None:
                continue
            key = conversation_agent_key(observation)
            raw = tables.conversation_agents.get(key)
            held = AgentConversations.from_json(raw) if raw is not None else None
            record = apply_agent_conversations(held, observation, settings)
            if record is not held:
                await tables.conversation_agents.set(key, record.to_json())
            await topics.conversation_windows.send(
                key=conversation_window_key(observation).encode(), value=encode_conversation(observation))

    @app.agent(topics.conversation_windows, name="window-conversations")
    async def window_conversations(stream: faust.StreamT[Any]) -> None:
        async for item in guard.records(stream):
            if item.value is None:
                continue
            observation = decode_conversation(item.value)
            key = conversation_window_key(observation)
            raw = tables.conversation_windows.get(key)
            held = WindowConversations.from_json(raw) if raw is not None else None
            record = apply_window_conversations(held, observation)
            if record is not held:
                await tables.conversation_windows.set(key, record.to_json())
