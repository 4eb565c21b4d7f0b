"""The ``agent-connector`` command line."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import UTC, datetime

import click

from connector import __version__
from connector.config import ConfigError, ConnectorConfig, KafkaSettings, load_config
from connector.logs import configure_logging

__all__ = ["main"]


def _load_or_exit(path: str) -> ConnectorConfig:
    try:
        return load_config(path)
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)


def _kafka_settings(config_path: str | None, bootstrap: str | None) -> tuple[KafkaSettings, ConnectorConfig]:
    config = _load_or_exit(config_path) if config_path else ConnectorConfig()
    kafka = config.kafka
    override = bootstrap or (None if config_path else os.environ.get("KAFKA_BOOTSTRAP_SERVERS"))
    if override:
        kafka = kafka.model_copy(update={"bootstrap_servers": override})
    return kafka, config


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="agent-connector")
@click.option("--log-level", default="INFO", show_default=True, envvar="AGENT_CONNECTOR_LOG_LEVEL",
              help="Logging level.")
@click.option("--log-format", type=click.Choice(["json", "text"]), default="json", show_default=True,
              envvar="AGENT_CONNECTOR_LOG_FORMAT", help="Structured JSON lines, or text for people.")
def main(log_level: str, log_format: str) -> None:
    """Contact-centre agent activity -> Avro events on Kafka -> rolling availability tables."""
    configure_logging(log_level, log_format)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=9092, show_default=True, type=int, help="Port to listen on (0: a free one).")
@click.option("--provision", "config_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Create the topics this connector config needs once the broker is up.")
def broker(host: str, port: int, config_path: str | None) -> None:
    """Run the embedded Kafka-protocol broker (Tansu) until Ctrl-C.

    Memory only: everything is lost when it stops. No idempotent producer and no
    transactions, so configs pointing at it use kafka.profile: embedded.
    """
    from connector.broker import EmbeddedBroker
    from connector.kafka.topics import connector_topics, provision_topics

    embedded = EmbeddedBroker(host, port).start()
    try:
        click.echo(f"embedded Kafka broker (Tansu) listening on {embedded.bootstrap}  [memory only]")
        click.echo(f"  export KAFKA_BOOTSTRAP_SERVERS={embedded.bootstrap}")
        if config_path:
            config = _load_or_exit(config_path)
            kafka = config.kafka.model_copy(update={"bootstrap_servers": embedded.bootstrap})
            created = asyncio.run(provision_topics(kafka, connector_topics(kafka)))
            click.echo(f"  created topics: {', '.join(created) or '(all existed)'}")
        click.echo("Ctrl-C stops it.")
        signal.signal(signal.SIGTERM, lambda *_: embedded.stop())
        embedded.wait()
    except KeyboardInterrupt:
        pass
    finally:
        embedded.stop()


@main.command("check-config")
@click.argument("config_path", metavar="FILE", type=click.Path(dir_okay=False))
def check_config(config_path: str) -> None:
    """Validate a config file: one message per problem, exit status 1 if there is any."""
    config = _load_or_exit(config_path)
    click.echo(f"{config_path}: OK")
    click.echo(f"  kafka: {config.kafka.bootstrap_servers} (profile {config.kafka.profile}, "
               f"idempotence {'on' if config.kafka.idempotence else 'off'})")
    serde = config.serde.schema_registry_url
    click.echo(f"  serde: {'schema registry ' + str(serde) if serde else 'Avro single-object encoding'}")
    for source in config.sources:
        state = "" if source.enabled else " (disabled)"
        click.echo(f"  source {source.name}: {source.vendor} tenant={source.tenant} "
                   f"every {source.poll_interval_seconds:g}s{state}")


@main.command()
@click.argument("topic")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Connector config to take Kafka and serde settings from.")
@click.option("--bootstrap-servers", envvar="KAFKA_BOOTSTRAP_SERVERS", default=None,
              help="Kafka bootstrap servers [env KAFKA_BOOTSTRAP_SERVERS]; overrides the config.")
@click.option("--schema-registry-url", default=None, help="Schema Registry, for registry-format payloads.")
@click.option("--from-beginning/--from-end", default=True, show_default=True, help="Where to start reading.")
@click.option("-f", "--follow", is_flag=True, help="Keep waiting for new records instead of stopping at the end.")
@click.option("-n", "--max", "max_records", type=int, default=None, help="Stop after this many records.")
def tail(topic: str, config_path: str | None, bootstrap_servers: str | None, schema_registry_url: str | None,
         from_beginning: bool, follow: bool, max_records: int | None) -> None:
    """Print the decoded events of TOPIC as JSON lines (either wire format, detected per record)."""
    from connector.jsonout import json_line
    from connector.kafka.tail import tail_topic
    from connector.serde.codec import EventDeserializer
    from connector.serde.registry import SchemaRegistryClient

    kafka, config = _kafka_settings(config_path, bootstrap_servers)
    registry_url = schema_registry_url or (str(config.serde.schema_registry_url)
                                           if config.serde.schema_registry_url else None)
    registry = None
    if registry_url:
        password = config.serde.schema_registry_password
        registry = SchemaRegistryClient(registry_url, username=config.serde.schema_registry_username,
                                        password=password.get_secret_value() if password else None)
    deserializer = EventDeserializer(registry)

    async def run() -> int:
        failures = 0
        async for item in tail_topic(kafka, topic, deserializer, from_beginning=from_beginning,
                                     follow=follow, max_records=max_records):
            if item.error is not None:
                failures += 1
                click.echo(f"{topic}[{item.partition}]@{item.offset}: cannot decode: {item.error}", err=True)
                continue
            click.echo(json_line(item.as_json(topic)))
        return failures

    try:
        failures = asyncio.run(run())
    except KeyboardInterrupt:
        return
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    if failures:
        sys.exit(3)


@main.command()
@click.argument("config_path", metavar="CONFIG", type=click.Path(exists=True, dir_okay=False))
def run(config_path: str) -> None:
    """Poll every configured source and produce its events to Kafka until SIGINT/SIGTERM.

    Each page's cursor is committed to the offsets topic only after all of the page's
    events are acknowledged; a restart resumes from there. /healthz and /metrics are
    served on the configured http port.
    """
    from connector.runtime.runner import run_connector

    config = _load_or_exit(config_path)
    asyncio.run(run_connector(config))


@main.command()
@click.argument("config_path", metavar="CONFIG", type=click.Path(exists=True, dir_okay=False))
@click.option("--source", "source_name", required=True, help="Name of the configured source to re-read.")
@click.option("--start", required=True, type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%SZ",
                                                             "%Y-%m-%d"]),
              help="Start of the range, UTC (e.g. 2026-01-01 or 2026-01-01T08:00:00Z).")
@click.option("--end", required=True, type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d"]),
              help="End of the range, UTC.")
def backfill(config_path: str, source_name: str, start: datetime, end: datetime) -> None:
    """Re-read a past time range of one source, without moving its live cursor.

    Split by the vendor's limits like live polling; events keep their deterministic ids,
    so consumers de-duplicate overlaps. An interrupted backfill resumes where it stopped.
    """
    from connector.runtime.backfill import run_backfill

    config = _load_or_exit(config_path)
    start_utc, end_utc = (d if d.tzinfo else d.replace(tzinfo=UTC) for d in (start, end))
    try:
        result = asyncio.run(run_backfill(config, source_name, start_utc, end_utc))
    except (LookupError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"backfill of {result.source}: {result.events} events in {result.polls} polls")


@main.command()
@click.option("--agents", default=12, show_default=True, type=click.IntRange(1, 20_000),
              help="Agents per simulated tenant (four tenants, one per vendor family).")
@click.option("--speed", default=1.0, show_default=True, type=click.FloatRange(0.1, 1000),
              help="Simulated seconds per wall second.")
@click.option("--seed", default=1, show_default=True, type=int, help="Same seed, same contact centre.")
@click.option("--poll-interval", default=2.0, show_default=True, type=float, help="Seconds between polls.")
@click.option("--web-port", default=6066, show_default=True, type=int,
              help="Port of the dashboard and query API (0: a free one).")
@click.option("--no-processors", is_flag=True, help="Run the connector side only.")
@click.option("--run-for", type=float, default=None, help="Stop after this many seconds (default: Ctrl-C).")
def demo(agents: int, speed: float, seed: int, poll_interval: float, web_port: int, no_processors: bool,
         run_for: float | None) -> None:
    """Run everything on loopback: broker, simulators, connector, processors and dashboard."""
    from connector.demo import DemoOptions, run_demo

    options = DemoOptions(agents=agents, speed=speed, seed=seed, poll_interval=poll_interval,
                          processors=not no_processors, web_port=web_port, run_for=run_for)
    asyncio.run(run_demo(options, echo=click.echo))


def _register_subcommands() -> None:
    """Commands that live next to what they drive."""
    from connector.convert import convert
    from connector.processors.cli import process
    from connector.simulator.cli import simulate

    main.add_command(simulate)
    main.add_command(convert)
    main.add_command(process)


_register_subcommands()

if __name__ == "__main__":  # pragma: no cover
    main()

