"""What a processors worker needs to know, from the connector config file plus environment overrides.

The faust CLI (``faust -A connector.processors worker``) imports the app with no
arguments, so everything comes from the environment: ``AGENT_CONNECTOR_CONFIG``
names the connector config file (its ``kafka``, ``serde`` and ``processors``
sections are used), and ``PROCESSORS_*`` variables override the ``processors``
section per worker (ports and data directories differ between workers of one
deployment). ``agent-connector process CONFIG`` starts the same app.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from connector.broker import free_port
from connector.config import ConnectorConfig, KafkaSettings, ProcessorsConfig, load_config
from connector.processors.health import Thresholds
from connector.processors.settings import ProcessorSettings
from connector.processors.windows import MINUTE_MS, WindowSpec

__all__ = ["ENV", "WorkerOptions", "processor_settings"]


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


def processor_settings(section: ProcessorsConfig) -> ProcessorSettings:
    """The pure functions' settings from the config file's ``processors`` section (already validated)."""
    t = section.thresholds
    return ProcessorSettings(
        retention_ms=section.retention_minutes * MINUTE_MS,
        pane_ms=section.pane_minutes * MINUTE_MS,
        windows=tuple(WindowSpec(w.name, w.size_minutes * MINUTE_MS, w.step_minutes * MINUTE_MS)
                      for w in section.windows),
        thresholds=Thresholds(t.healthy_above_pct, t.monitor_from_pct, t.warning_from_pct, t.hysteresis_pct,
                              t.hysteresis_agents),
        cross_vendor_tenant=section.cross_vendor_tenant,
        max_recent_alerts=section.max_recent_alerts,
    )


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
        section = config.processors
        host = env.get(ENV.WEB_HOST, section.web_host)
        port = int(env.get(ENV.WEB_PORT, section.web_port))
        if port == 0:
            # faust advertises web_host:web_port to the other workers (table routing), so the port
            # must be known before the server starts: pick a free one now
            port = free_port(host)
        return cls(
            kafka=kafka,
            schema_registry_url=str(registry) if registry else None,
            app_id=env.get(ENV.APP_ID, section.app_id),
            web_host=host,
            web_bind=env.get(ENV.WEB_BIND, host),
            web_port=port,
            data_dir=Path(env.get(ENV.DATA_DIR, section.data_dir)),
            standby_replicas=int(env.get(ENV.STANDBY_REPLICAS, section.standby_replicas)),
            commit_interval=float(env.get(ENV.COMMIT_INTERVAL, section.commit_interval_seconds)),
            settings=processor_settings(section),
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> WorkerOptions:
        """Options for the faust CLI: the config file named by ``AGENT_CONNECTOR_CONFIG`` (defaults without)."""
        env = os.environ if env is None else env
        path = env.get(ENV.CONFIG)
        config = load_config(path, env=env) if path else ConnectorConfig()
        return cls.from_config(config, env)
