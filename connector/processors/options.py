"""What a processors worker needs to know, from the connector config file plus environment overrides.

The faust CLI (``faust -A connector.processors worker``) imports the app with no
arguments, so everything comes from the environment: ``AGENT_CONNECTOR_CONFIG``
names the connector config file (its ``kafka`` and ``serde`` sections are used),
and ``PROCESSORS_*`` variables hold what the config file has no section for yet.
``agent-connector process CONFIG`` sets the same variables and starts the same app.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from connector.broker import free_port
from connector.config import ConnectorConfig, KafkaSettings, load_config
from connector.processors.settings import ProcessorSettings

__all__ = ["ENV", "WorkerOptions"]


class ENV:
    """Names of the environment variables the worker reads."""

    CONFIG = "AGENT_CONNECTOR_CONFIG"
    BOOTSTRAP = "KAFKA_BOOTSTRAP_SERVERS"
    APP_ID = "PROCESSORS_APP_ID"
    WEB_HOST = "PROCESSORS_WEB_HOST"
    WEB_BIND = "PROCESSORS_WEB_BIND"
    WEB_PORT = "PROCESSORS_WEB_PORT"
    DATA_DIR = "PROCESSORS_DATA_DIR"
    STANDBY_REPLICAS = "PROCESSORS_STANDBY_REPLICAS"
    COMMIT_INTERVAL = "PROCESSORS_COMMIT_INTERVAL"


DEFAULT_APP_ID = "agent-availability"
DEFAULT_WEB_PORT = 6066


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    """Everything ``build_app`` needs; ``from_env`` is what the faust CLI path uses."""

    kafka: KafkaSettings = field(default_factory=KafkaSettings)
    schema_registry_url: str | None = None
    app_id: str = DEFAULT_APP_ID
    web_host: str = "127.0.0.1"
    web_bind: str = "127.0.0.1"
    web_port: int = DEFAULT_WEB_PORT
    data_dir: Path = Path(".agent-processors")
    standby_replicas: int = 0
    commit_interval: float = 2.8
    settings: ProcessorSettings = field(default_factory=ProcessorSettings)

    @property
    def web_url(self) -> str:
        return f"http://{self.web_host}:{self.web_port}"

    @classmethod
    def from_config(cls, config: ConnectorConfig, env: Mapping[str, str] | None = None) -> WorkerOptions:
        """Options from a loaded connector config, with the ``PROCESSORS_*`` / Kafka overrides of ``env``."""
        env = os.environ if env is None else env
        kafka = config.kafka
        if env.get(ENV.BOOTSTRAP):
            kafka = kafka.model_copy(update={"bootstrap_servers": env[ENV.BOOTSTRAP]})
        registry = config.serde.schema_registry_url
        host = env.get(ENV.WEB_HOST, "127.0.0.1")
        port = int(env.get(ENV.WEB_PORT, DEFAULT_WEB_PORT))
        if port == 0:
            # faust advertises web_host:web_port to the other workers (table routing), so the port
            # must be known before the server starts: pick a free one now
            port = free_port(host)
        return cls(
            kafka=kafka,
            schema_registry_url=str(registry) if registry else None,
            app_id=env.get(ENV.APP_ID, DEFAULT_APP_ID),
            web_host=host,
            web_bind=env.get(ENV.WEB_BIND, host),
            web_port=port,
            data_dir=Path(env.get(ENV.DATA_DIR, ".agent-processors")),
            standby_replicas=int(env.get(ENV.STANDBY_REPLICAS, 0)),
            commit_interval=float(env.get(ENV.COMMIT_INTERVAL, 2.8)),
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> WorkerOptions:
        """Options for the faust CLI: the config file named by ``AGENT_CONNECTOR_CONFIG`` (defaults without)."""
        env = os.environ if env is None else env
        path = env.get(ENV.CONFIG)
        config = load_config(path, env=env) if path else ConnectorConfig()
        return cls.from_config(config, env)
