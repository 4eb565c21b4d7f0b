"""The faust app, its topics and tables, built from ``WorkerOptions``; handlers and views attach to it.

Every topic and changelog has the input's partition count, so faust assigns
partition *p* of all of them to one worker (co-partitioning): the agent table
beside its events, the group and pane tables beside the group-change topic.
Tables hold the stage-1 records as JSON (``to_json``/``from_json``); raw bytes on
our Avro topics, decoded and encoded with the connector's own serde.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any

import faust
from faust.types import TableT

from connector.kafka.topics import TopicSpec
from connector.processors.groups import GroupRecord, Member, PaneRecord
from connector.processors.options import WorkerOptions
from connector.processors.tables import CachedRecordTable, RecordParts, RecordTable
from connector.processors.transport import AvailabilityApp
from connector.serde.codec import EventDeserializer, EventSerializer
from connector.serde.registry import SchemaRegistryClient

__all__ = ["CachedRecordTable", "Processors", "RecordTable", "Tables", "Topics", "build_app", "processor_topics"]


def _group_changes_topic(options: WorkerOptions) -> str:
    return f"{options.app_id}-group-changes"


def _conversation_windows_topic(options: WorkerOptions) -> str:
    return f"{options.app_id}-conversation-windows"


def processor_topics(options: WorkerOptions) -> list[TopicSpec]:
    """Every topic the processors read or write besides faust's changelogs: the input's partitions for
    all but the dead-letter topic, which the sources share (one partition, as they create it)."""
    names, partitions = options.kafka.topics, options.kafka.partitions
    return [
        TopicSpec(names.agent_state, partitions),
        TopicSpec(names.group_observations, partitions),
        TopicSpec(names.conversation_observations, partitions),
        TopicSpec(_group_changes_topic(options), partitions),
        TopicSpec(_conversation_windows_topic(options), partitions),
        TopicSpec(names.availability, partitions, compact=True),
        TopicSpec(names.alerts, partitions),
        TopicSpec(names.dead_letter, 1),
    ]


@dataclass(frozen=True, slots=True)
class Topics:
    agent_state: faust.TopicT
    group_observations: faust.TopicT
    conversation_observations: faust.TopicT
    group_changes: faust.TopicT
    conversation_windows: faust.TopicT
    availability: faust.TopicT
    alerts: faust.TopicT
    dead_letter: faust.TopicT


#: A group record's members, and a pane record's agents, go to the changelog one by one.
GROUP_PARTS: RecordParts[GroupRecord] = RecordParts(
    GroupRecord.header_json, lambda record: record.members, Member.to_json, GroupRecord.join)
PANE_PARTS: RecordParts[PaneRecord] = RecordParts(
    PaneRecord.header_json, lambda record: record.contributions, PaneRecord.contribution_json, PaneRecord.join)


@dataclass(frozen=True, slots=True)
class Tables:
    agents: RecordTable
    groups: CachedRecordTable[GroupRecord]
    panes: CachedRecordTable[PaneRecord]
    conversation_agents: RecordTable
    conversation_windows: RecordTable


@dataclass(frozen=True, slots=True)
class Processors:
    """One worker's app with what handlers and views share."""

    app: faust.App
    options: WorkerOptions
    topics: Topics
    tables: Tables
    serializer: EventSerializer
    deserializer: EventDeserializer


#: How long the producer holds a record to batch it with others (aiokafka ``linger_ms``; 0 by default).
PRODUCER_LINGER_SECONDS = 0.005
#: One producer batch per partition, at most (aiokafka ``max_batch_size``; 16 KiB by default).
PRODUCER_MAX_BATCH_BYTES = 256 * 1024


def _broker_settings(options: WorkerOptions) -> dict[str, Any]:
    kafka = options.kafka
    settings: dict[str, Any] = {
        "broker": [f"kafka://{server.strip()}" for server in kafka.bootstrap_servers.split(",") if server.strip()],
        "broker_client_id": kafka.client_id,
        "broker_commit_interval": options.commit_interval,
        # at least once: the handlers are idempotent (versioned snapshots, deterministic alert ids);
        # exactly_once needs transactions, which the embedded broker does not have
        "processing_guarantee": "at_least_once",
        "producer_acks": -1,
        "consumer_auto_offset_reset": "earliest",
        # a produce request per record costs the worker more than its handlers: wait a few ms to batch
        # them, with room for the largest table records (group records grow with their members)
        "producer_linger": PRODUCER_LINGER_SECONDS,
        "producer_max_batch_size": PRODUCER_MAX_BATCH_BYTES,
        "topic_partitions": kafka.partitions,
        "topic_replication_factor": kafka.replication_factor,
    }
    if kafka.profile == "embedded":
        # joins wait for the rebalance timeout when a member is missing: 30 s by default, 3 s with these
        settings.update(broker_rebalance_timeout=5, broker_session_timeout=6, broker_heartbeat_interval=1)
    if kafka.security_protocol.startswith("SASL"):
        settings["broker_credentials"] = faust.SASLCredentials(
            username=kafka.sasl_username,
            password=kafka.sasl_password.get_secret_value() if kafka.sasl_password else None,
            mechanism=kafka.sasl_mechanism,
            ssl_context=ssl.create_default_context() if kafka.security_protocol == "SASL_SSL" else None,
        )
    elif kafka.security_protocol == "SSL":
        settings["broker_credentials"] = faust.SSLCredentials(ssl.create_default_context())
    return settings


def build_app(options: WorkerOptions) -> Processors:
    """A configured faust app with its topics and tables (no handlers or views yet)."""
    options.data_dir.mkdir(parents=True, exist_ok=True)
    app = AvailabilityApp(
        options.app_id,
        kafka_settings=options.kafka,
        autodiscover=False,
        datadir=str(options.data_dir),
        store="memory://",
        key_serializer="raw",
        value_serializer="raw",
        table_standby_replicas=options.standby_replicas,
        web_host=options.web_host,
        web_bind=options.web_bind,
        web_port=options.web_port,
        **_broker_settings(options),
    )
    names, partitions = options.kafka.topics, options.kafka.partitions

    def topic(name: str, *, internal: bool = True, compacting: bool | None = None) -> faust.TopicT:
        return app.topic(
            name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw",
            partitions=partitions, internal=internal, compacting=compacting,
        )

    topics = Topics(
        # declared (created when missing) with our partition count, so a worker started before the
        # sources still co-partitions with them
        agent_state=topic(names.agent_state),
        group_observations=topic(names.group_observations),
        conversation_observations=topic(names.conversation_observations),
        group_changes=topic(_group_changes_topic(options)),
        conversation_windows=topic(_conversation_windows_topic(options)),
        availability=topic(names.availability, compacting=True),
        alerts=topic(names.alerts),
        dead_letter=app.topic(names.dead_letter, key_type=bytes, value_type=bytes, key_serializer="raw",
                              value_serializer="raw"),  # shared with the sources: declared there, 1 partition
    )

    def faust_table(name: str, help_text: str) -> TableT[bytes, Any]:
        return app.Table(name, partitions=partitions, key_type=bytes, value_type=bytes, help=help_text)

    def table(name: str, help_text: str) -> RecordTable:
        return RecordTable(faust_table(name, help_text))

    tables = Tables(
        agents=table("agents", "AgentRecord per agent key tenant:vendor:agent_id"),
        groups=CachedRecordTable(faust_table("groups", "GroupRecord per group key tenant:vendor:type:id"),
                                 GROUP_PARTS),
        panes=CachedRecordTable(faust_table("panes", "PaneRecord per group@pane_start, from the group's partition"),
                                PANE_PARTS),
        conversation_agents=table("conversation-agents", "AgentConversations per tenant:vendor:agent_label"),
        conversation_windows=table("conversation-windows", "WindowConversations per tenant:vendor:start:end"),
    )
    serde = options.schema_registry_url
    registry = SchemaRegistryClient(serde) if serde else None
    return Processors(app, options, topics, tables, EventSerializer(registry), EventDeserializer(registry))
