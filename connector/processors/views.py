"""The query API on the faust web server; any worker answers any request.

Single keys (a group, its windows, an agent) are routed with ``app.table_route``
to the worker owning the key's partition, which answers from its local table.
Lists (groups, alerts) are scattered: a worker answers the keys it owns and asks
every other worker of the group (``?scope=local``) for theirs, then merges and
sorts, so the answer does not depend on which worker was asked. Keys are owned
as faust's router says, so a standby copy or a partition being handed over is
never counted twice.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

import aiohttp
import faust
from faust.exceptions import SameNode
from faust.web import Request, Response, View
from faust.web.exceptions import ServiceUnavailable

from connector.processors.agent_state import AgentRecord
from connector.processors.groups import GroupRecord, pane_key
from connector.processors.presenters import (
    agent_view,
    alert_view,
    group_matches,
    group_view,
    parse_instant,
    resolve_window,
    windows_view,
)
from connector.processors.streams import Processors, RecordTable

__all__ = ["register_views", "routed", "scatter"]

log = logging.getLogger(__name__)
_FILTERS = ("tenant", "vendor", "type", "id")
Handler = TypeVar("Handler", bound=Callable[..., Awaitable[Response]])


async def _ensure_metadata(app: faust.App, table: RecordTable) -> None:
    """Load the producer's metadata of the table's changelog: the router hashes keys with it.

    A worker that has not written to a changelog yet has none, and faust's router then fails
    with a TypeError instead of answering. The changelog is declared first (faust does it once):
    asking a broker for metadata of a topic that does not exist yet makes it create the topic with
    its own default partition count, and the table's writes then fail with PartitionsMismatch.
    """
    await table.table.changelog_topic.maybe_declare()
    topic = table.table.changelog_topic.get_topic_name()
    producer: Any = app.producer
    # faust's aiokafka driver: no public way to await metadata
    await producer._ensure_producer().partitions_for(topic)


def routed(app: faust.App, table: RecordTable, param: str) -> Callable[[Handler], Handler]:
    """Like ``app.table_route``: answer here if this worker owns the key, else forward to its owner.

    503 when no worker owns the key's partition right now (starting, rebalancing) or the
    owner cannot be reached, rather than faust's 500.
    """

    def decorator(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def get(view: View, request: Request, **kwargs: Any) -> Response:
            try:
                await _ensure_metadata(app, table)
                return await app.router.route_req(table.name, kwargs[param], view.web, request)
            except SameNode:
                return await handler(view, request, **kwargs)
            except (TimeoutError, ServiceUnavailable, KeyError, aiohttp.ClientError) as exc:
                reason = "starting or rebalancing" if isinstance(exc, ServiceUnavailable | KeyError) else repr(exc)
                return view.error(503, f"no worker can answer for this key right now ({reason})")

        return cast(Handler, get)

    return decorator


def _filters(request: Request, names: tuple[str, ...] = _FILTERS) -> dict[str, str | None]:
    return {name: request.query.get(name) or None for name in names}


def _ownership(app: faust.App, table: RecordTable) -> tuple[list[tuple[str, Any]], bool]:
    """The table's local entries (``RecordTable.entries``) this worker is the active owner of, and whether
    some key had no owner."""
    me = str(app.conf.canonical_url)
    owned, orphans = [], False
    for key, value in table.entries():
        try:
            owner = str(app.router.key_store(table.name, key.encode()))
        except KeyError:  # partition not assigned to anyone right now (rebalancing)
            orphans = True
            continue
        if owner == me:
            owned.append((key, value))
    return owned, orphans


async def _gather_remote(app: faust.App, request: Request) -> tuple[list[Any], list[str]]:
    """Ask every other worker for its local part of the same list; returns items and unreachable workers."""
    me = str(app.conf.canonical_url)
    others = sorted({str(url) for url in app.router.tables_metadata()} - {me})
    query = {**request.query, "scope": "local"}

    async def ask(base: str) -> list[Any]:
        url = f"{base.rstrip('/')}{request.url.path}"
        async with app.http_client.get(url, params=query) as response:
            response.raise_for_status()
            body = json.loads(await response.text())
            items: list[Any] = body["items"]
            return items

    results = await asyncio.gather(*(ask(url) for url in others), return_exceptions=True)
    items: list[Any] = []
    missing: list[str] = []
    for url, result in zip(others, results, strict=True):
        if isinstance(result, BaseException):
            log.warning("worker %s did not answer: %s", url, result)
            missing.append(url)
        else:
            items.extend(result)
    return items, missing


LocalItems = Callable[[list[tuple[str, Any]], dict[str, str | None]], list[Any]]


async def scatter(app: faust.App, table: RecordTable, view: View, request: Request, local: LocalItems,
                  sort_key: Callable[[Any], Any], filters: tuple[str, ...] = _FILTERS) -> Response:
    """A list answered by every worker: ``local`` renders this worker's owned entries of ``table``
    (with the request's ``filters``), the others' parts are gathered unless ``?scope=local``.
    503 with ``incomplete`` naming the workers whose part is missing."""
    await _ensure_metadata(app, table)
    owned, orphans = _ownership(app, table)
    items = local(owned, _filters(request, filters))
    missing: list[str] = [app.conf.canonical_url.human_repr()] if orphans else []
    if request.query.get("scope") != "local":
        remote, unreachable = await _gather_remote(app, request)
        items.extend(remote)
        missing.extend(unreachable)
    items.sort(key=sort_key)
    body: dict[str, Any] = {"count": len(items), "items": items}
    if missing:
        body["incomplete"] = missing
    return view.json(body, status=503 if missing else 200)


def register_views(p: Processors) -> None:
    """Attach the query API pages to ``p.app``'s web server."""
    app, tables, settings = p.app, p.tables, p.options.settings

    def local_groups(owned: list[tuple[str, GroupRecord]], filters: dict[str, str | None]) -> list[Any]:
        return [
            group_view(record, settings) for key, record in owned
            if group_matches(key, filters["tenant"], filters["vendor"], filters["type"], filters["id"])
        ]

    def local_alerts(owned: list[tuple[str, GroupRecord]], filters: dict[str, str | None]) -> list[Any]:
        alerts: list[Any] = []
        for key, record in owned:
            if group_matches(key, filters["tenant"], filters["vendor"], filters["type"], filters["id"]):
                alerts.extend(alert_view(a) for a in record.recent_alerts)
        return alerts

    @app.page("/availability/groups")
    class Groups(View):
        """``GET /availability/groups?tenant=&vendor=&type=&id=``: every group's live availability."""

        async def get(self, request: Request) -> Response:
            return await scatter(app, tables.groups, self, request, local_groups, lambda item: item["group"])

    @app.page("/availability/alerts")
    class Alerts(View):
        """``GET /availability/alerts?tenant=&vendor=&type=&id=``: each group's recent alerts, by group and sequence.

        By sequence, not event time: transitions happen in the order changes reach the group,
        which for late events is not the order they occurred in.
        """

        async def get(self, request: Request) -> Response:
            return await scatter(app, tables.groups, self, request, local_alerts,
                                 lambda item: (item["group"], item["sequence"]))

    @app.page("/availability/groups/{group_key}")
    class Group(View):
        """``GET /availability/groups/{group_key}``: one group, answered by the worker owning it."""

        @routed(app, tables.groups, "group_key")
        async def get(self, request: Request, group_key: str) -> Response:
            record = tables.groups.load(group_key)
            if record is None:
                return self.error(404, f"no group {group_key!r}")
            return self.json(group_view(record, settings))

    @app.page("/availability/groups/{group_key}/windows")
    class GroupWindows(View):
        """``GET .../windows?window=15m|1h&at=``: retained windows up to ``at`` (default: the group's event clock)."""

        @routed(app, tables.groups, "group_key")
        async def get(self, request: Request, group_key: str) -> Response:
            record = tables.groups.load(group_key)
            if record is None:
                return self.error(404, f"no group {group_key!r}")
            try:
                spec = resolve_window(request.query.get("window", "15m"), settings)
                at = request.query.get("at")
                watermark = parse_instant(at) if at else record.clock_ms
            except (KeyError, ValueError) as exc:
                return self.error(400, str(exc))
            panes = {start: pane for start in record.panes
                     if (pane := tables.panes.load(pane_key(group_key, start))) is not None}
            return self.json({"group": group_key, **windows_view(record, panes, spec, watermark, settings)})

    @app.page("/availability/agents/{agent_key}")
    class Agent(View):
        """``GET /availability/agents/{tenant:vendor:agent_id}``: one agent's current state."""

        @routed(app, tables.agents, "agent_key")
        async def get(self, request: Request, agent_key: str) -> Response:
            raw = tables.agents.get(agent_key)
            if raw is None:
                return self.error(404, f"no agent {agent_key!r}")
            return self.json(agent_view(AgentRecord.from_json(raw)))
