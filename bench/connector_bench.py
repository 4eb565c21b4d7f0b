"""The connector as a whole process against simulators in another one: idle CPU, and CPU / memory at scale."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bench.common import kafka_settings
from bench.services import Connector, Simulators
from bench.stats import Series

__all__ = ["ConnectorFigures", "idle_bench", "scale_bench"]


@dataclass
class ConnectorFigures:
    rows: list[Series] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    growth: list[dict[str, float]] = field(default_factory=list)


def _subset(config: Path, sources: int, out: Path) -> Path:
    raw = yaml.safe_load(config.read_text())
    raw["sources"] = raw["sources"][:sources]
    out.write_text(yaml.safe_dump(raw, sort_keys=False))
    return out


def _wait_polls(connector: Connector, polls: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while connector.polls() < polls:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {connector.polls()} of {polls} polls done")
        time.sleep(0.5)


IDLE_POLL_INTERVAL, IDLE_POLL_JITTER = 5.0, 0.5


def whole_poll_periods(window: float, interval: float = IDLE_POLL_INTERVAL, jitter: float = IDLE_POLL_JITTER) -> float:
    """``window`` rounded to a whole number (at least one) of mean poll periods.

    Sources start together and poll in bursts; a window that is not a whole number of periods
    holds one burst or two depending on where it falls (8 s windows read 2.4 % or 5 % of a
    core for the same connector), so its median says more about phase than about cost."""
    period = interval + jitter / 2
    return max(1, round(window / period)) * period


def idle_bench(bootstrap: str, workdir: Path, *, sources: int, windows: int, window: float,
               figures: ConnectorFigures) -> None:
    """``sources`` tenants with little data polled every 5 s: the connector's CPU share once every source ran."""
    settings = kafka_settings(bootstrap)
    window = whole_poll_periods(window)
    sims = Simulators(workdir, settings, tenants=sources, agents=2, poll_interval=IDLE_POLL_INTERVAL,
                      poll_jitter=IDLE_POLL_JITTER, start_minutes_ago=1, name="idle-sim").wait_ready()
    connector = Connector(sims.config, sims.http_port, workdir / "idle-connector.log")
    try:
        connector.wait_started()
        _wait_polls(connector, 2 * sources, timeout=60)  # every source through its first polls
        idle = Series(f"connector idle CPU, {sources} sources polling every 5 s", "% of a core")
        rss = Series(f"connector resident memory, idle with {sources} sources", "MB")
        for _ in range(windows):
            before, started = connector.stat(), time.monotonic()
            time.sleep(window)
            after = connector.stat()
            idle.add(100.0 * (after.cpu_seconds - before.cpu_seconds) / (time.monotonic() - started))
            rss.add(after.rss_mb)
        figures.rows += [idle, rss]
        figures.notes.append(f"idle: {windows} windows of {window:.1f} s (whole poll periods) after "
                             f"{connector.polls()} polls; simulators in their own process (not counted)")
    finally:
        connector.stop()
        sims.stop()


def scale_bench(bootstrap: str, workdir: Path, *, agents_per_tenant: int, points: tuple[int, ...],
                run_for: float, windows: int, figures: ConnectorFigures) -> None:
    """1 / 10 / 100 sources (tenants) of ``agents_per_tenant`` agents each, polling every 2 s from 15 min back.

    CPU per event is the connector's CPU since it started (catch-up of 15 minutes of history, then live polls)
    over the records it produced, read at the end of each window; memory is the resident size.
    """
    settings = kafka_settings(bootstrap)
    sims = Simulators(workdir, settings, tenants=max(points), agents=agents_per_tenant, poll_interval=2.0,
                      start_minutes_ago=15, poll_jitter=0.2, name="scale-sim").wait_ready()
    try:
        for count in points:
            agents = count * agents_per_tenant
            config = _subset(sims.config, count, workdir / f"scale-{count}.yaml")
            connector = Connector(config, sims.http_port, workdir / f"scale-connector-{count}.log")
            try:
                connector.wait_started()
                base, started = connector.stat(), time.monotonic()
                _wait_polls(connector, 2 * count, timeout=120)  # the catch-up of the history is done
                cpu = Series(f"connector CPU per event, {count} sources, {agents:,} agents", "µs/event")
                rate = Series(f"connector events/s, {count} sources, {agents:,} agents", "events/s")
                rss = Series(f"connector resident memory, {count} sources, {agents:,} agents", "MB")
                window = max(1.0, (run_for - (time.monotonic() - started)) / windows)
                for _ in range(windows):  # CPU and records counted from the start, sampled at each window's end
                    time.sleep(window)
                    now, records = connector.stat(), connector.records()
                    if records:
                        cpu.add(1e6 * (now.cpu_seconds - base.cpu_seconds) / records)
                    rate.add(records / (time.monotonic() - started))
                    rss.add(now.rss_mb)
                if not cpu.values:
                    cpu.add(float("nan"))
                figures.rows += [cpu, rate, rss]
                figures.growth.append({"sources": count, "agents": agents, "cpu_us_per_event": cpu.median,
                                       "rss_mb": rss.max, "events_per_s": rate.median,
                                       "records_total": connector.records()})
            finally:
                connector.stop()
    finally:
        sims.stop()
