"""Shared fixtures: a real Kafka-protocol broker for the whole session.

By default the embedded Tansu broker is started on a free loopback port; set
KAFKA_BOOTSTRAP_SERVERS (and KAFKA_PROFILE=kafka) to run the same suite against a real cluster.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.broker import EmbeddedBroker
from connector.config import KafkaSettings, TopicNames

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap address of the session's broker (embedded unless KAFKA_BOOTSTRAP_SERVERS is set)."""
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        yield external
        return
    log = tmp_path_factory.mktemp("broker") / "tansu.log"
    with EmbeddedBroker(log_path=log) as broker:
        yield broker.bootstrap


@pytest.fixture
def topic_names() -> TopicNames:
    """Topic names unique to one test, so tests sharing the broker never see each other's records."""
    suffix = uuid.uuid4().hex[:8]
    defaults = TopicNames()
    return TopicNames(**{field: f"{getattr(defaults, field)}-{suffix}" for field in TopicNames.model_fields})


@pytest.fixture
def kafka_settings(kafka_bootstrap: str, topic_names: TopicNames) -> KafkaSettings:
    profile = os.environ.get("KAFKA_PROFILE", "kafka" if os.environ.get("KAFKA_BOOTSTRAP_SERVERS") else "embedded")
    return KafkaSettings(bootstrap_servers=kafka_bootstrap, profile=profile,  # type: ignore[arg-type]
                         partitions=3, topics=topic_names)
