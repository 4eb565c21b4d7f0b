"""``agent-connector process CONFIG``: run one availability processors worker (registered by connector/cli.py)."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

import click

from connector.config import ConfigError, load_config
from connector.processors.options import ENV, WorkerOptions

__all__ = ["process"]


@click.command("process")
@click.argument("config", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--web-host", envvar=ENV.WEB_HOST, default=None,
              help="Host other workers reach this one's query API at (also the bind address unless "
                   f"{ENV.WEB_BIND} is set). Default: processors.web_host of CONFIG.")
@click.option("--web-port", envvar=ENV.WEB_PORT, default=None, type=int,
              help="Port of the query API (0: a free one). Default: processors.web_port of CONFIG.")
@click.option("--data-dir", envvar=ENV.DATA_DIR, default=None,
              type=click.Path(file_okay=False, path_type=Path),
              help="Where faust keeps its local table data. Default: processors.data_dir of CONFIG.")
@click.option("--loglevel", default="info", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"]), help="faust worker log level.")
def process(config: Path, web_host: str | None, web_port: int | None, data_dir: Path | None, loglevel: str) -> None:
    """Run an availability processors worker: agent states -> group counts, windows, alerts, query API.

    Start several with the same CONFIG (and different --web-port) to split the partitions;
    any worker answers any query. Same as `faust -A connector.processors worker` with
    AGENT_CONNECTOR_CONFIG=CONFIG.
    """
    given = {ENV.WEB_HOST: web_host, ENV.WEB_PORT: web_port, ENV.DATA_DIR: data_dir}
    os.environ.update({ENV.CONFIG: str(config), **{name: str(v) for name, v in given.items() if v is not None}})
    try:
        options = WorkerOptions.from_config(load_config(config))
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    run_worker(options, loglevel)


def run_worker(options: WorkerOptions, loglevel: str = "info") -> None:
    """Create the topics, then run the worker until SIGTERM/SIGINT (a clean stop commits offsets)."""
    from faust import Worker

    from connector.kafka.topics import provision_topics
    from connector.processors.streams import processor_topics
    from connector.processors.wiring import create_processors

    asyncio.run(provision_topics(options.kafka, processor_topics(options)))
    processors = create_processors(options)
    # keep the connector's logging when `agent-connector` set it up; otherwise let faust configure its own
    configured = bool(logging.getLogger().handlers)
    worker = Worker(processors.app, loglevel=loglevel, redirect_stdouts=False, override_logging=not configured)
    # faust's terminal spinner sets the root logger to DEBUG (so every debug line moves it) at levels of
    # WARNING and above: every aiokafka send then builds a log record, a third of the worker's CPU
    worker.spinner = None
    worker.execute_from_commandline()


if __name__ == "__main__":  # pragma: no cover - `python -m connector.processors.cli CONFIG`
    process()
