"""The live dashboard on the processors' web server: one page, its assets, an agents list, a live feed.

* ``GET /dashboard``: the page (``static/dashboard.html`` with its CSS and JS, no build step,
  nothing fetched from outside this server);
* ``GET /dashboard/static/{name}``: the page's assets;
* ``GET /availability/agents?tenant=&vendor=&state=``: every agent's current state, scattered
  over the workers and merged like the groups list of ``views``;
* ``GET /dashboard/events?tenant=&window=15m|1h``: server-sent events, one ``snapshot`` event
  about every second: the query API's own answers (groups, agents, alerts, the windows of the
  tenant-level groups) fetched from this worker's API, so the page shows exactly what the API
  says at that moment. One snapshot per (tenant, window) is built per interval, however many
  pages are open.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Any
from urllib.parse import quote

from aiohttp import ClientTimeout, web
from faust.web import Request, Response, View

from connector.processors.agent_state import AgentRecord
from connector.processors.keys import ALL_VENDORS, GroupKey
from connector.processors.presenters import WINDOW_ALIASES, agent_view
from connector.processors.streams import Processors
from connector.processors.views import scatter

__all__ = ["ASSETS", "SNAPSHOT_INTERVAL", "SnapshotSource", "register_dashboard", "tenant_level_groups"]

log = logging.getLogger(__name__)

#: Seconds between two snapshots on the live feed.
SNAPSHOT_INTERVAL = 1.0
#: The page's files under ``connector/processors/static/`` and their content types.
ASSETS = {
    "dashboard.html": "text/html",
    "dashboard.css": "text/css",
    "dashboard.js": "text/javascript",
}
_AGENT_FILTERS = ("tenant", "vendor", "state")
#: Most windows per group sent on the feed (the newest ones): 3 h of 15-minute windows.
_MAX_WINDOWS = 12


def _asset(name: str) -> str:
    return resources.files("connector.processors").joinpath("static", name).read_text(encoding="utf-8")


def tenant_level_groups(groups: list[dict[str, Any]]) -> list[str]:
    """Whole-tenant group keys to chart: the cross-vendor one per tenant, else each vendor's."""
    tenants: dict[str, list[GroupKey]] = {}
    for item in groups:
        key = GroupKey.parse(item["group"])
        if key.group_type == "tenant":
            tenants.setdefault(key.tenant, []).append(key)
    chosen: list[str] = []
    for keys in tenants.values():
        cross = [k for k in keys if k.vendor == ALL_VENDORS]
        chosen.extend(k.key for k in (cross or keys))
    return sorted(chosen)


@dataclass
class _Cached:
    built: float = 0.0
    body: bytes = b""
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class SnapshotSource:
    """Builds the feed's snapshots from this worker's query API, at most one per interval per query."""

    def __init__(self, p: Processors, interval: float = SNAPSHOT_INTERVAL) -> None:
        self.p = p
        self.interval = interval
        self.seq = 0
        self._cache: dict[tuple[str | None, str], _Cached] = {}

    @property
    def base_url(self) -> str:
        return str(self.p.app.conf.canonical_url).rstrip("/")

    async def _get(self, path: str, params: dict[str, str], *, partial_ok: bool) -> tuple[Any, list[str]]:
        """One query API answer (its JSON) and the workers it says did not answer.

        ``partial_ok``: a list's 503 (some worker did not answer) still carries the other workers' items.
        """
        client = self.p.app.http_client
        timeout = ClientTimeout(total=max(5.0, 3 * self.interval))
        async with client.get(f"{self.base_url}{path}", params=params, timeout=timeout) as response:
            body = json.loads(await response.text())
            if response.status != 200 and not (partial_ok and response.status == 503 and "items" in body):
                raise RuntimeError(f"{path}: HTTP {response.status}: {body.get('error', body)}")
            missing: list[str] = body.get("incomplete", [])
            return body, missing

    async def build(self, tenant: str | None, window: str) -> dict[str, Any]:
        """A fresh snapshot: groups (all tenants), and agents, alerts, windows of ``tenant`` (all if None)."""
        filters = {"tenant": tenant} if tenant else {}
        (groups, missing_g), (agents, missing_a), (alerts, missing_al) = await asyncio.gather(
            self._get("/availability/groups", {}, partial_ok=True),
            self._get("/availability/agents", filters, partial_ok=True),
            self._get("/availability/alerts", filters, partial_ok=True),
        )
        charted = [k for k in tenant_level_groups(groups["items"]) if not tenant or GroupKey.parse(k).tenant == tenant]

        async def windows_of(key: str) -> dict[str, Any] | None:
            try:
                body, _ = await self._get(f"/availability/groups/{quote(key, safe=':*@')}/windows",
                                          {"window": window}, partial_ok=False)
            except (RuntimeError, OSError, TimeoutError) as exc:  # a group being handed over: next time
                log.debug("no windows for %s: %s", key, exc)
                return None
            result: dict[str, Any] = body
            result["windows"] = result["windows"][-_MAX_WINDOWS:]
            return result

        windows = await asyncio.gather(*(windows_of(key) for key in charted))
        self.seq += 1
        return {
            "seq": self.seq,
            "generated_at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "tenant": tenant,
            "window": window,
            "thresholds": _thresholds(self.p),
            "groups": groups["items"],
            "agents": agents["items"],
            "alerts": alerts["items"],
            "windows": {key: w for key, w in zip(charted, windows, strict=True) if w is not None},
            "incomplete": sorted({*missing_g, *missing_a, *missing_al}),
        }

    async def get(self, tenant: str | None, window: str) -> bytes:
        """The current snapshot as JSON bytes, rebuilt when older than the interval."""
        cached = self._cache.setdefault((tenant, window), _Cached())
        async with cached.lock:
            if time.monotonic() - cached.built >= self.interval * 0.9 or not cached.body:
                cached.body = json.dumps(await self.build(tenant, window), separators=(",", ":")).encode()
                cached.built = time.monotonic()
            return cached.body


def _thresholds(p: Processors) -> dict[str, float]:
    t = p.options.settings.thresholds
    return {"healthy_above_pct": t.healthy_above_pct, "monitor_from_pct": t.monitor_from_pct,
            "warning_from_pct": t.warning_from_pct}



def _agent_matches(item: dict[str, Any], filters: dict[str, str | None]) -> bool:
    return all(wanted is None or item.get(name) == wanted for name, wanted in filters.items())


def register_dashboard(p: Processors, *, interval: float = SNAPSHOT_INTERVAL) -> None:
    """Attach the dashboard page, its assets, the agents list and the live feed to ``p.app``'s web server."""
    app, tables = p.app, p.tables
    source = SnapshotSource(p, interval)

    @app.page("/dashboard")
    class Dashboard(View):
        """``GET /dashboard``: the live dashboard page."""

        async def get(self, request: Request) -> Response:
            return self.html(_asset("dashboard.html"), headers={"Cache-Control": "no-cache"})

    @app.page("/dashboard/static/{name}")
    class Asset(View):
        """``GET /dashboard/static/{name}``: the page's CSS and JS."""

        async def get(self, request: Request, name: str) -> Response:
            if name not in ASSETS:
                return self.error(404, f"no asset {name!r}")
            return self.text(_asset(name), content_type=ASSETS[name], headers={"Cache-Control": "no-cache"})

    def local_agents(owned: list[tuple[str, Any]], filters: dict[str, str | None]) -> list[Any]:
        views = (agent_view(AgentRecord.from_json(raw)) for _, raw in owned)
        return [view for view in views if _agent_matches(view, filters)]

    @app.page("/availability/agents")
    class Agents(View):
        """``GET /availability/agents?tenant=&vendor=&state=``: every agent's current state, by agent key."""

        async def get(self, request: Request) -> Response:
            return await scatter(app, tables.agents, self, request, local_agents, lambda item: item["agent"],
                                 filters=_AGENT_FILTERS)

    @app.page("/dashboard/events")
    class Events(View):
        """``GET /dashboard/events?tenant=&window=15m|1h``: a ``snapshot`` server-sent event every interval."""

        async def get(self, request: web.Request) -> web.StreamResponse:
            window = request.query.get("window", "15m")
            if window not in WINDOW_ALIASES:
                return web.json_response({"error": f"window must be one of {sorted(WINDOW_ALIASES)}"}, status=400)
            tenant = request.query.get("tenant") or None
            response = web.StreamResponse(headers={
                "Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
            await response.prepare(request)
            await response.write(f"retry: {int(interval * 2000)}\n\n".encode())
            with contextlib.suppress(ConnectionError):  # the page went away
                # ends when the worker stops: its web server waits for open requests before it stops
                while not (self.web.should_stop or app.should_stop):
                    try:
                        body = await source.get(tenant, window)
                    except Exception as exc:  # the API did not answer this time: say so, try again
                        log.warning("dashboard snapshot failed: %s", exc)
                        error = json.dumps({"error": str(exc) or type(exc).__name__})
                        await response.write(f"event: failure\ndata: {error}\n\n".encode())
                    else:
                        await response.write(b"event: snapshot\ndata: " + body + b"\n\n")
                    await asyncio.sleep(interval)
            return response
