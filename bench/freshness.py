"""Freshness: from a state change becoming visible in a simulator's API to its group updated in the query API.

Simulators (own process, real time), the connector (own process, 1 s polls) and one processors
worker run together. This process watches both ends:

* an observer polls every simulator every 0.1 s with the vendor's own stream and notes when each
  event first *can* be read (vendors hold some records back until they are complete, so "visible"
  means: the earliest the connector could map it);
* a prober reads ``/availability/groups`` every 0.1 s and notes when each group's
  ``last_event_id`` changes.

A sample is the time from the first to the second for the same event id; events overwritten in
their groups before a probe saw them give no sample. Both clocks are this process's.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.common import kafka_settings
from bench.processors_bench import _group_changes_end, _wait_web, committed, write_config
from bench.services import Connector, Simulators, Worker
from bench.stats import Series
from connector.config import load_config
from connector.runtime.auth import AuthSession
from connector.runtime.http import RetryPolicy, SourceHttp
from connector.runtime.metrics import SourceMetrics
from connector.sources import make_stream

__all__ = ["FreshnessFigures", "freshness_bench"]

VENDORS = "convoso-productivity,vonage,koreai"


@dataclass
class FreshnessFigures:
    rows: list[Series] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    samples: list[float] = field(default_factory=list)


async def _observe(config: Path, seen: dict[str, float], stop: asyncio.Event,
                   vendors: dict[str, str] | None = None) -> None:
    loaded = load_config(config)
    metrics = SourceMetrics()
    watchers: list[tuple[Any, SourceHttp, AuthSession, dict[str, Any]]] = []
    for source in loaded.sources:
        stream = make_stream(source)
        http = SourceHttp(source.name, str(source.base_url), timeout=10.0, max_concurrency=1,
                          requests_per_second=1e6, retry=RetryPolicy(max_retries=2), metrics=metrics)
        watchers.append((stream, http, AuthSession(stream, http), {}))

    async def watch(stream: Any, http: SourceHttp, auth: AuthSession, state: dict[str, Any]) -> None:
        from datetime import UTC, datetime

        cursor = stream.initial_cursor(datetime.now(UTC))
        first_pass = True  # what the first poll reads was visible before the observer looked: no sample
        while not stop.is_set():
            now = datetime.now(UTC)
            request = stream.first_request(cursor, now)
            while request is not None:
                current = request
                body = await http.fetch_json(lambda spec=current: auth.build(spec), auth.reauthenticate)
                page = stream.handle_response(cursor, current, body, datetime.now(UTC))
                at = time.monotonic()
                for event in page.events:
                    seen.setdefault(event.event_id, float("nan") if first_pass else at)
                    if vendors is not None:
                        vendors.setdefault(event.event_id, getattr(event, "vendor", "?"))
                cursor, request = page.next_cursor, page.next_request
            first_pass = False
            await asyncio.sleep(0.1)

    try:
        await asyncio.gather(*(watch(*w) for w in watchers))
    finally:
        for _, http, _, _ in watchers:
            await http.close()


async def _probe(url: str, updated: dict[str, float], stop: asyncio.Event) -> None:
    last: dict[str, str | None] = {}
    async with httpx.AsyncClient(timeout=5) as client:
        while not stop.is_set():
            try:
                body = (await client.get(f"{url}/availability/groups")).json()
            except (httpx.HTTPError, ValueError):
                await asyncio.sleep(0.1)
                continue
            at = time.monotonic()
            for item in body.get("items", []):
                event_id = item.get("last_event_id")
                if event_id and last.get(item["group"]) != event_id:
                    last[item["group"]] = event_id
                    updated.setdefault(event_id, at)
            await asyncio.sleep(0.1)


async def freshness_bench(bootstrap: str, workdir: Path, *, duration: float, agents: int,
                          figures: FreshnessFigures) -> None:
    settings = kafka_settings(bootstrap)
    sims = Simulators(workdir, settings, tenants=3, agents=agents, poll_interval=1.0, poll_jitter=0.0,
                      start_minutes_ago=0.5, vendors=VENDORS, name="fresh-sim").wait_ready()
    worker = Worker(write_config(workdir / "fresh-processors.yaml", settings), f"fresh-{uuid.uuid4().hex[:8]}",
                    workdir, "fresh-worker")
    connector: Connector | None = None
    stop = asyncio.Event()
    seen: dict[str, float] = {}
    vendors: dict[str, str] = {}
    updated: dict[str, float] = {}
    try:
        await _wait_web(worker)
        connector = Connector(sims.config, sims.http_port, workdir / "fresh-connector.log")
        await asyncio.to_thread(connector.wait_started)
        await asyncio.sleep(3.0)
        # the history the first polls read must be through the (slow) processors first, or every live
        # change waits behind that backlog and the figure measures the catch-up instead
        caught_up = time.monotonic()
        while True:
            produced = await asyncio.to_thread(connector.records)
            done = await committed(settings, worker.app_id, settings.topics.agent_state)
            group_topic = f"{worker.app_id}-group-changes"
            if produced and done >= produced and await committed(settings, worker.app_id, group_topic) >= \
                    await _group_changes_end(settings, group_topic):  # both stages, not only the first
                break
            if time.monotonic() - caught_up > 150:
                figures.notes.append(f"freshness: processors still behind after 150 s ({done} of {produced})")
                break
            await asyncio.sleep(1.0)
        figures.notes.append(f"freshness: processors caught up with the connector's first polls "
                             f"({produced} records) in {time.monotonic() - caught_up:.0f} s before measuring")
        observer = asyncio.create_task(_observe(sims.config, seen, stop, vendors))
        prober = asyncio.create_task(_probe(worker.url, updated, stop))
        await asyncio.sleep(duration)
        stop.set()
        for outcome in await asyncio.gather(observer, prober, return_exceptions=True):
            if isinstance(outcome, BaseException):
                figures.notes.append(f"freshness: a watcher failed: {type(outcome).__name__}: {outcome}")
    finally:
        if connector is not None:
            connector.stop()
        worker.stop(timeout=30)
        sims.stop()
    live = {e: t for e, t in seen.items() if not math.isnan(t)}
    samples = sorted(updated[e] - t for e, t in live.items() if e in updated)
    figures.samples = samples
    if not samples:
        figures.notes.append("freshness: no event was seen at both ends (no samples)")
        return
    for name, q in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99)):
        series = Series(f"freshness {name} (1 s polls, {len(samples)} events)", "ms")
        series.add(1000 * _quantile(samples, q))
        figures.rows.append(series)
    figures.notes.append(f"freshness: {len(samples)} events seen at both ends over {duration:.0f} s; "
                         f"{len(seen)} seen in the simulators' APIs, {len(updated)} as a group's last event")
    by_vendor: dict[str, list[float]] = {}
    for event_id, t in live.items():
        if event_id in updated:
            by_vendor.setdefault(vendors.get(event_id, "?"), []).append(updated[event_id] - t)
    first = min(live.values(), default=0.0)
    slowest = sorted(((updated[e] - t, t - first, vendors.get(e, "?")) for e, t in live.items() if e in updated),
                     reverse=True)[:5]
    figures.notes.append("freshness, slowest samples (ms, seen at s, vendor): " + ", ".join(
        f"{1000 * lat:,.0f} at {at:.1f} {v}" for lat, at, v in slowest))
    figures.notes.append("freshness by vendor (samples: median / max ms): " + ", ".join(
        f"{v} {len(x)}: {1000 * sorted(x)[len(x) // 2]:,.0f} / {1000 * max(x):,.0f}"
        for v, x in sorted(by_vendor.items())))


def _quantile(values: list[float], q: float) -> float:
    index = min(len(values) - 1, max(0, round(q * (len(values) - 1))))
    return values[index]
