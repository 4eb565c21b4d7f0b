"""Start any subset of the five simulators on loopback ports; hand back URLs, credentials, config.

    sim = Simulation(seed=7)
    async with SimulatorCluster(sim, ["vonage", "koreai"]) as cluster:
        url = cluster.base_url("vonage")
        cluster.faults("vonage").add("rate_limit", times=2, retry_after=1)
        sim.advance(60)
        truth = sim.truth.states_at(cluster.tenant("vonage"), sim.now())
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml
from aiohttp import web

from connector.simulator.base import VendorSimulator
from connector.simulator.convoso import ConvosoProductivitySimulator, ConvosoUserActivitySimulator
from connector.simulator.faults import FaultPlan
from connector.simulator.koreai import KoreaiSimulator
from connector.simulator.rocketchat import RocketchatSimulator
from connector.simulator.simulation import Simulation
from connector.simulator.vonage import VonageSimulator

__all__ = ["SIMULATORS", "VENDORS", "SimulatorCluster"]

SIMULATORS: dict[str, type[VendorSimulator]] = {
    "convoso-productivity": ConvosoProductivitySimulator,
    "convoso-user-activity": ConvosoUserActivitySimulator,
    "vonage": VonageSimulator,
    "koreai": KoreaiSimulator,
    "rocketchat": RocketchatSimulator,
}
VENDORS: tuple[str, ...] = tuple(SIMULATORS)
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class SimulatorCluster:
    """The chosen simulators over one :class:`Simulation`; ``port`` 0 (default) picks free ports.

    ``tenants`` overrides which tenant a simulator serves; ``options`` passes constructor
    keywords per vendor (e.g. ``{"vonage": {"page_size": 10}}``).
    """

    def __init__(self, sim: Simulation, vendors: Iterable[str] = VENDORS, *, host: str = "127.0.0.1",
                 ports: Mapping[str, int] | None = None, tenants: Mapping[str, str] | None = None,
                 options: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        if host not in _LOOPBACK:
            raise ValueError(f"simulators bind loopback only, not {host!r}")
        self.sim, self.host = sim, host
        self.ports = dict(ports or {})
        self.simulators: dict[str, VendorSimulator] = {}
        for vendor in vendors:
            if vendor not in SIMULATORS:
                raise ValueError(f"unknown simulator {vendor!r}; known: {', '.join(VENDORS)}")
            kwargs = dict((options or {}).get(vendor, {}))
            self.simulators[vendor] = SIMULATORS[vendor](sim, (tenants or {}).get(vendor), **kwargs)
        self._runners: list[web.AppRunner] = []

    async def start(self) -> SimulatorCluster:
        for vendor, simulator in self.simulators.items():
            runner = web.AppRunner(simulator.build_app(), access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, self.host, self.ports.get(vendor, 0))
            await site.start()
            self._runners.append(runner)
            port = runner.addresses[0][1]
            self.ports[vendor] = port
            host = f"[{self.host}]" if ":" in self.host else self.host
            simulator.base_url = f"http://{host}:{port}"
        return self

    async def stop(self) -> None:
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()

    async def __aenter__(self) -> SimulatorCluster:
        return await self.start()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    def __getitem__(self, vendor: str) -> VendorSimulator:
        return self.simulators[vendor]

    def base_url(self, vendor: str) -> str:
        return self.simulators[vendor].base_url

    def faults(self, vendor: str) -> FaultPlan:
        return self.simulators[vendor].faults

    def tenant(self, vendor: str) -> str:
        return self.simulators[vendor].tenant

    def credentials(self) -> dict[str, dict[str, str]]:
        return {vendor: s.credentials() for vendor, s in self.simulators.items()}

    def config_dict(self, *, bootstrap_servers: str = "127.0.0.1:9092", kafka_profile: str = "embedded",
                    poll_interval_seconds: float = 5.0) -> dict[str, Any]:
        """A connector config (``connector.config``) whose sources point at these simulators."""
        start_at = (self.sim.now() - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
        sources = []
        for vendor, simulator in self.simulators.items():
            source = simulator.source_config(f"sim-{vendor}")
            source.update(poll_interval_seconds=poll_interval_seconds, start_at=start_at)
            sources.append(source)
        return {"kafka": {"bootstrap_servers": bootstrap_servers, "profile": kafka_profile},
                "http": {"host": "127.0.0.1", "port": 0}, "sources": sources}

    def write_config(self, path: str | Path, **kwargs: Any) -> Path:
        path = Path(path)
        header = "# Written by `agent-connector simulate`; points at loopback simulators.\n"
        path.write_text(header + yaml.safe_dump(self.config_dict(**kwargs), sort_keys=False))
        return path

    def describe(self) -> str:
        """Human-readable base URLs, tenants, credentials and an example curl per simulator."""
        lines = [f"simulated now: {self.sim.now().isoformat()} (speed {self.sim.clock.speed:g}x)"]
        for vendor, simulator in self.simulators.items():
            lines.append(f"\n{vendor}: {simulator.base_url}  tenant={simulator.tenant}")
            lines.extend(f"    {key}: {value}" for key, value in simulator.credentials().items())
            lines.append(f"    try: {simulator.example_curl()}")
        return "\n".join(lines)
