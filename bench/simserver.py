"""Simulators for many tenants in their own process, so their CPU is never counted as the connector's.

    python -m bench.simserver --tenants 100 --agents 200 --config-out sim.yaml --bootstrap HOST:PORT

writes a connector config whose sources point at one simulator per tenant (vendors
taken in turn), prints ``READY`` and serves until SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

import connector.simulator.population as population
from bench.recording import bench_tenant
from connector.simulator.server import SimulatorCluster
from connector.simulator.simulation import Simulation

__all__ = ["SCALE_VENDORS", "allow_large_tenants", "main"]

#: Vendors whose sources carry per-agent state events, taken in turn for tenant i.
SCALE_VENDORS = ("vonage", "koreai", "rocketchat", "convoso-productivity")


def allow_large_tenants() -> None:
    """``build_tenant`` needs a unique "first last" name per agent but has only 24 x 23 = 552 of them, so a
    tenant of more than 552 agents never finishes building; give it more (the simulator's own lists first,
    so small tenants are unchanged)."""
    first, last = population._FIRST[:24], population._LAST[:23]
    population._FIRST = first + tuple(f"{name}{i}" for i in range(1, 12) for name in first)
    population._LAST = last + tuple(f"{name}{i}" for i in range(1, 12) for name in last)


async def serve(args: argparse.Namespace) -> None:
    allow_large_tenants()
    now = datetime.now(UTC).replace(microsecond=0)
    vendors = args.vendors.split(",") if args.vendors else list(SCALE_VENDORS)
    specs = [bench_tenant(f"t{i:03d}-{vendors[i % len(vendors)]}", vendors[i % len(vendors)], args.agents, now)
             for i in range(args.tenants)]
    sim = Simulation(seed=args.seed, start=now, speed=args.speed, tenants=specs,
                     history_days=(args.start_minutes_ago + 5) / 1440)
    sim.now_ms()  # generate the history now, not during the first request
    clusters = []
    sources: list[dict[str, Any]] = []
    start_at = (now - timedelta(minutes=args.start_minutes_ago)).isoformat().replace("+00:00", "Z")
    for i, spec in enumerate(specs):
        vendor = vendors[i % len(vendors)]
        cluster = await SimulatorCluster(sim, [vendor], tenants={vendor: spec.name}).start()
        clusters.append(cluster)
        source = cluster[vendor].source_config(f"s{i:03d}-{vendor}")
        source.update(poll_interval_seconds=args.poll_interval, poll_jitter_seconds=args.poll_jitter,
                      start_at=start_at, timeout_seconds=30.0)
        sources.append(source)
    kafka = json.loads(args.kafka_json)
    config = {"kafka": kafka, "http": {"host": "127.0.0.1", "port": args.http_port}, "sources": sources}
    await asyncio.to_thread(Path(args.config_out).write_text, yaml.safe_dump(config, sort_keys=False))
    print(json.dumps({"ready": True, "sim_start": now.isoformat(), "tenants": [s.name for s in specs]}),
          flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for cluster in clusters:
        with contextlib.suppress(Exception):
            await cluster.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tenants", type=int, default=1)
    parser.add_argument("--agents", type=int, default=100, help="agents per tenant")
    parser.add_argument("--vendors", default="", help="comma-separated, taken in turn (default: the four)")
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--start-minutes-ago", type=float, default=5.0)
    parser.add_argument("--poll-interval", type=float, default=5.0)
    parser.add_argument("--poll-jitter", type=float, default=0.5)
    parser.add_argument("--http-port", type=int, default=0)
    parser.add_argument("--kafka-json", required=True, help="the config's kafka section as JSON")
    parser.add_argument("--config-out", required=True)
    asyncio.run(serve(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
