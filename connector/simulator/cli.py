"""``agent-connector simulate``: the contact centre and the vendor simulators on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from datetime import UTC, datetime
from pathlib import Path

import click

from connector.simulator.faults import parse_fault_spec
from connector.simulator.server import VENDORS, SimulatorCluster
from connector.simulator.simulation import Simulation

__all__ = ["simulate"]


def _vendors(text: str) -> list[str]:
    chosen = [v.strip() for v in text.split(",") if v.strip()]
    expanded: list[str] = []
    for vendor in chosen:
        if vendor == "all":
            expanded.extend(VENDORS)
        elif vendor == "convoso":
            expanded.extend(["convoso-productivity", "convoso-user-activity"])
        elif vendor in VENDORS:
            expanded.append(vendor)
        else:
            raise click.BadParameter(f"{vendor!r}; choose from all, convoso, {', '.join(VENDORS)}")
    return list(dict.fromkeys(expanded))


@click.command("simulate")
@click.option("--vendors", default="all", show_default=True,
              help="Comma-separated subset: all, convoso, " + ", ".join(VENDORS) + ".")
@click.option("--seed", default=1, show_default=True, type=int, help="Same seed, same contact centre.")
@click.option("--start", "start", default=None,
              help="Simulated start instant (ISO 8601, UTC if no zone); default: now.")
@click.option("--speed", default=1.0, show_default=True, type=float,
              help="Simulated seconds per wall second (0 freezes the clock).")
@click.option("--history-days", default=2.0, show_default=True, type=float,
              help="How much history exists before the start.")
@click.option("--port-base", default=0, show_default=True, type=int,
              help="First port (simulators take consecutive ports); 0 picks free ports.")
@click.option("--config-out", type=click.Path(dir_okay=False, path_type=Path), default=Path("simulate-config.yaml"),
              show_default=True, help="Where to write a connector config pointing at the simulators.")
@click.option("--bootstrap-servers", default="127.0.0.1:9092", show_default=True,
              help="Kafka bootstrap servers written into the config.")
@click.option("--kafka-profile", type=click.Choice(["kafka", "embedded"]), default="embedded", show_default=True)
@click.option("--fault", "faults", multiple=True,
              help="VENDOR:KIND[:key=value,...], e.g. vonage:rate_limit:times=3,retry_after=2 (repeatable).")
@click.option("--run-for", type=float, default=None, help="Stop after this many wall seconds (default: until Ctrl-C).")
def simulate(vendors: str, seed: int, start: str | None, speed: float, history_days: float, port_base: int,
             config_out: Path, bootstrap_servers: str, kafka_profile: str, faults: tuple[str, ...],
             run_for: float | None) -> None:
    """Run the simulated contact centre and vendor API simulators on loopback."""
    chosen = _vendors(vendors)
    if start is None:
        start_at = datetime.now(UTC).replace(microsecond=0)
    else:
        try:
            start_at = datetime.fromisoformat(start.replace("Z", "+00:00"))
        except ValueError:
            raise click.BadParameter(f"{start!r} is not an ISO 8601 instant", param_hint="--start") from None
        start_at = start_at if start_at.tzinfo else start_at.replace(tzinfo=UTC)
    parsed = []
    for spec in faults:
        try:
            vendor, params = parse_fault_spec(spec)
        except (ValueError, TypeError) as exc:
            raise click.BadParameter(str(exc), param_hint="--fault") from None
        if vendor not in chosen:
            raise click.BadParameter(f"{spec!r}: simulator {vendor!r} is not running", param_hint="--fault")
        parsed.append((vendor, params))
    ports = {v: port_base + i for i, v in enumerate(chosen)} if port_base else None
    sim = Simulation(seed=seed, start=start_at, speed=speed, history_days=history_days)
    asyncio.run(_serve(sim, chosen, ports, parsed, config_out, bootstrap_servers, kafka_profile, run_for))


async def _serve(sim: Simulation, vendors: list[str], ports: dict[str, int] | None,
                 faults: list[tuple[str, dict[str, object]]], config_out: Path, bootstrap_servers: str,
                 kafka_profile: str, run_for: float | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread (e.g. tests)
            loop.add_signal_handler(sig, stop.set)
    async with SimulatorCluster(sim, vendors, ports=ports) as cluster:
        for vendor, params in faults:
            cluster.faults(vendor).add_dict(params)
        path = cluster.write_config(config_out, bootstrap_servers=bootstrap_servers, kafka_profile=kafka_profile)
        click.echo(cluster.describe())
        click.echo(f"\nconnector config: {path}")
        click.echo("admin: GET|POST|DELETE <base>/_sim/faults, GET <base>/_sim/truth?at=ISO, POST <base>/_sim/clock")
        click.echo("Ctrl-C to stop.", err=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=run_for)
