"""``agent-connector demo``: the whole pipeline on loopback, in one command.

Embedded broker -> simulated contact centre with the five vendor simulators -> the
connector (in this process, reading simulated time) -> the availability processors (a
worker subprocess, whose web server also serves the dashboard). Ctrl-C stops everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import yaml

from connector.broker import EmbeddedBroker, free_port
from connector.config import parse_config
from connector.runtime.runner import ConnectorRuntime
from connector.simulator.population import daytime_tenants
from connector.simulator.server import SimulatorCluster
from connector.simulator.simulation import Simulation

__all__ = ["DemoOptions", "run_demo"]


@dataclasses.dataclass(frozen=True)
class DemoOptions:
    agents: int = 12
    speed: float = 1.0
    seed: int = 1
    poll_interval: float = 2.0
    processors: bool = True
    web_port: int = 6066
    run_for: float | None = None
    workdir: Path | None = None


def _processors(config_path: Path, port: int, workdir: Path) -> subprocess.Popen[bytes]:
    log = (workdir / "processors.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "connector.cli", "--log-format", "text", "--log-level", "WARNING", "process",
         str(config_path), "--web-port", str(port), "--data-dir", str(workdir / "processors-data"),
         "--loglevel", "warning"],
        stdout=log, stderr=log, env=os.environ.copy(), start_new_session=True,
    )


def _stop_process(process: subprocess.Popen[bytes] | None, grace: float = 8.0) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def _status_block(broker: EmbeddedBroker, cluster: SimulatorCluster, runtime: ConnectorRuntime,
                  config_path: Path, web_port: int | None, speed: float) -> str:
    lines = ["", "agent-connector demo — everything on loopback, memory only", ""]
    lines.append(f"  Kafka (embedded Tansu)   {broker.bootstrap}")
    for vendor in cluster.simulators:
        lines.append(f"  simulator {vendor:<22} {cluster.base_url(vendor)}  tenant {cluster.tenant(vendor)}")
    ops = runtime.server.port if runtime.server else None
    lines.append(f"  connector                http://127.0.0.1:{ops}/healthz  /metrics")
    if web_port is not None:
        lines.append(f"  dashboard                http://127.0.0.1:{web_port}/dashboard")
        lines.append(f"  query API                http://127.0.0.1:{web_port}/availability/groups")
    lines.append(f"  connector config         {config_path}")
    lines.append(f"  simulated time           {speed:g}x the wall clock")
    lines.append("")
    lines.append("  tail the events:  agent-connector tail agent-state-changed -f "
                 f"--bootstrap-servers {broker.bootstrap}")
    lines.append("  Ctrl-C stops everything.")
    lines.append("")
    return "\n".join(lines)


def _progress(runtime: ConnectorRuntime) -> str:
    total = sum(task.health.events_produced for task in runtime.tasks.values())
    parts = []
    for name, task in runtime.tasks.items():
        mark = {"healthy": "ok", "starting": "..", "unhealthy": "FAILING", "stopped": "stopped"}[task.health.status]
        parts.append(f"{name.removeprefix('sim-')} {mark}")
    return f"{time.strftime('%H:%M:%S')}  events produced {total:>7}  |  " + "  ".join(parts)


async def run_demo(options: DemoOptions, *, echo: Callable[[str], None] = print) -> int:
    """Run until SIGINT/SIGTERM (or ``run_for`` seconds); returns the events produced."""
    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="agent-connector-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    tenants = tuple(dataclasses.replace(t, agents=options.agents) for t in daytime_tenants(now))
    sim = Simulation(seed=options.seed, start=now, speed=options.speed, history_days=0.1, tenants=tenants)
    broker = EmbeddedBroker(log_path=workdir / "broker.log").start()
    processors: subprocess.Popen[bytes] | None = None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        async with SimulatorCluster(sim) as cluster:
            raw = cluster.config_dict(bootstrap_servers=broker.bootstrap, poll_interval_seconds=options.poll_interval)
            raw["http"] = {"host": "127.0.0.1", "port": 0}
            config_path = workdir / "connector.yaml"
            config_path.write_text(yaml.safe_dump(raw, sort_keys=False))
            runtime = ConnectorRuntime(parse_config(raw), clock=sim.now)
            await runtime.start()
            web_port = None
            if options.processors:
                web_port = options.web_port or free_port()
                processors = _processors(config_path, web_port, workdir)
            echo(_status_block(broker, cluster, runtime, config_path, web_port, options.speed))
            started = loop.time()
            interactive = sys.stdout.isatty()
            last_line = 0.0
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=1.0)
                if processors is not None and processors.poll() is not None:
                    echo(f"\nthe processors worker exited ({processors.returncode}); see {workdir / 'processors.log'}")
                    break
                if interactive:
                    sys.stdout.write("\r" + _progress(runtime)[:160])
                    sys.stdout.flush()
                elif loop.time() - last_line >= 10:
                    echo(_progress(runtime))
                    last_line = loop.time()
                if options.run_for is not None and loop.time() - started >= options.run_for:
                    break
            produced = sum(task.health.events_produced for task in runtime.tasks.values())
            echo("\nstopping ...")
            _stop_process(processors)
            await runtime.stop()
        return produced
    finally:
        _stop_process(processors)
        broker.stop()
        echo(f"stopped; logs in {workdir}")
