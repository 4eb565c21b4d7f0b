"""Topic provisioning through the admin client: explicit partitions and cleanup policies.

Topics are created up front because brokers that auto-create them on first produce
use their own defaults (the embedded broker picks 4 partitions), and the offsets and
availability topics must be compacted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from connector.config import KafkaSettings
from connector.kafka.client import client_options

__all__ = ["TopicSpec", "connector_topics", "provision_topics"]

log = logging.getLogger(__name__)
_TOPIC_ALREADY_EXISTS = 36


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    compact: bool = False
    configs: dict[str, str] = field(default_factory=dict)

    def new_topic(self, replication_factor: int) -> NewTopic:
        configs = dict(self.configs)
        if self.compact:
            configs.setdefault("cleanup.policy", "compact")
        return NewTopic(self.name, self.partitions, replication_factor, topic_configs=configs)


def connector_topics(settings: KafkaSettings) -> list[TopicSpec]:
    """The topics the source side writes: events, observations, dead letters, source offsets."""
    topics, partitions = settings.topics, settings.partitions
    return [
        TopicSpec(topics.agent_state, partitions),
        TopicSpec(topics.group_observations, partitions),
        TopicSpec(topics.conversation_observations, partitions),
        TopicSpec(topics.dead_letter, 1),
        # like Kafka Connect's offset.storage.topic: compacted, latest cursor per source wins
        TopicSpec(topics.offsets, 1, compact=True),
    ]


async def provision_topics(settings: KafkaSettings, specs: list[TopicSpec]) -> list[str]:
    """Create the topics that do not exist yet; return the names created. Existing ones are left alone."""
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [spec for spec in specs if spec.name not in existing]
        if not missing:
            return []
        response = await admin.create_topics([s.new_topic(settings.replication_factor) for s in missing])
        created = []
        for topic, code, message in response.topic_errors:
            if code == 0:
                created.append(topic)
            elif code != _TOPIC_ALREADY_EXISTS:  # a concurrent creator won the race: fine
                raise RuntimeError(f"could not create topic {topic!r}: error {code}: {message}")
        if created:
            log.info("created topics", extra={"topics": created})
        return created
    finally:
        await admin.close()
