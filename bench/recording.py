"""Vendor pages recorded from the simulators, so the pipeline can be timed without the simulators' cost.

A stream is pure (cursor in, page and next cursor out), so replaying the recorded
``(cursor, request, body, now)`` tuples through a fresh stream does exactly the work
the live runtime did on those pages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from connector.config import SourceConfig, parse_config
from connector.runtime.auth import AuthSession
from connector.runtime.http import RetryPolicy, SourceHttp
from connector.runtime.metrics import SourceMetrics
from connector.simulator.model import Flavour, TenantSpec
from connector.simulator.population import daytime_zone
from connector.simulator.server import SimulatorCluster
from connector.simulator.simulation import Simulation
from connector.sources import make_stream
from connector.sources.base import RequestSpec

__all__ = ["FLAVOUR", "STATE_VENDORS", "RecordedPage", "Recording", "bench_tenant", "record_vendor"]

#: Which population each simulator serves.
FLAVOUR: dict[str, Flavour] = {
    "convoso-productivity": "convoso",
    "convoso-user-activity": "convoso",
    "vonage": "vonage",
    "koreai": "koreai",
    "rocketchat": "rocketchat",
}
#: The vendors whose pages are mostly AgentStateChanged events (the pipeline's main load).
STATE_VENDORS = ("convoso-productivity", "vonage", "koreai", "rocketchat")


def bench_tenant(name: str, vendor: str, agents: int, at: datetime) -> TenantSpec:
    """A tenant where it is early afternoon, so its agents are at work and busy."""
    return TenantSpec(name, FLAVOUR[vendor], daytime_zone(at, 13), agents=agents, inactive_agents=0)


@dataclass(frozen=True)
class RecordedPage:
    cursor: dict[str, Any]
    request: RequestSpec
    body: bytes  # the page as JSON, parsed again on replay (the runtime parses every page too)
    now: datetime
    records: int


@dataclass
class Recording:
    vendor: str
    source: SourceConfig
    pages: list[RecordedPage]

    @property
    def body_bytes(self) -> int:
        return sum(len(p.body) for p in self.pages)


def _records_in(body: Any) -> int:
    """Rough count of vendor records in a page (the largest list in it), for the JSON parse rate."""
    if isinstance(body, list):
        return len(body)
    if isinstance(body, dict):
        return max((_records_in(v) for v in body.values()), default=0)
    return 0


async def record_vendor(vendor: str, *, agents: int, hours: float, seed: int = 11,
                        page_size: int | None = None) -> Recording:
    """Every page one poll reads from ``vendor``'s simulator over the last ``hours`` of a busy tenant."""
    now = datetime.now(UTC).replace(microsecond=0)
    tenant = bench_tenant(f"bench-{FLAVOUR[vendor]}", vendor, agents, now)
    sim = Simulation(seed=seed, start=now, speed=0.0, history_days=hours / 24 + 0.05, tenants=[tenant])
    options = {vendor: {"page_size": page_size}} if page_size else None
    async with SimulatorCluster(sim, [vendor], tenants={vendor: tenant.name}, options=options) as cluster:
        raw = cluster.config_dict()
        raw["sources"][0]["start_at"] = (now - timedelta(hours=hours)).isoformat().replace("+00:00", "Z")
        source = parse_config(raw).sources[0]
        stream = make_stream(source)
        metrics = SourceMetrics()
        http = SourceHttp(source.name, str(source.base_url), timeout=30.0, max_concurrency=1,
                          requests_per_second=1e6, retry=RetryPolicy(max_retries=0), metrics=metrics)
        auth = AuthSession(stream, http, clock=sim.now)
        pages: list[RecordedPage] = []
        try:
            clock = sim.now()
            cursor = stream.initial_cursor(clock)
            request = stream.first_request(cursor, clock)
            while request is not None:
                current = request
                body = await http.fetch_json(lambda spec=current: auth.build(spec))  # type: ignore[misc]
                pages.append(RecordedPage(cursor, current, json.dumps(body).encode(), clock, _records_in(body)))
                page = stream.handle_response(cursor, current, body, clock)
                cursor, request = page.next_cursor, page.next_request
        finally:
            await http.close()
    return Recording(vendor, source, pages)
