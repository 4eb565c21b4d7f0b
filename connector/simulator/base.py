"""What every vendor simulator shares: the aiohttp app, fault middleware and admin endpoints.

Admin endpoints (never faulted, no auth), on every simulator:
``GET /_sim/info``, ``GET|POST|DELETE /_sim/faults``, ``GET /_sim/truth?at=ISO``,
``GET|POST /_sim/clock`` (body ``{"advance": seconds}`` or ``{"set": ISO}``).
"""

from __future__ import annotations

import asyncio
import json
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar, cast

from aiohttp import web

from connector.simulator.faults import DriftRules, Fault, FaultPlan, apply_record_faults, page_start, pre_faults
from connector.simulator.simulation import DEFAULT_TENANT_FOR, Simulation

__all__ = ["VendorSimulator", "iso_ms", "json_response", "parse_instant"]

T = TypeVar("T")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
FAULTS_KEY: web.RequestKey[list[Fault]] = web.RequestKey("faults", list)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=json.dumps(data).encode(), status=status, headers=headers,
                        content_type="application/json")


def parse_instant(text: str | None) -> datetime | None:
    """ISO 8601 instant (``Z`` allowed); None when missing or not a date. Naive means UTC."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def iso_ms(millis: int) -> str:
    """``2019-12-19T15:47:07.077Z``: UTC with milliseconds, as Vonage's examples show."""
    moment = datetime.fromtimestamp(millis / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis % 1000:03d}Z"


_ERROR_BODIES = {
    500: ("application/json", b'{"message":"An error has occurred."}'),
    502: ("text/html", b"<html><head><title>502 Bad Gateway</title></head><body>Bad Gateway</body></html>"),
    503: ("text/html", b"<html><head><title>503 Service Unavailable</title></head><body>"
                       b"Service Temporarily Unavailable</body></html>"),
}


class VendorSimulator(ABC):
    """One vendor API over one tenant of the shared simulation."""

    vendor: ClassVar[str]
    reauth_possible: ClassVar[bool] = False
    drift_rules: ClassVar[DriftRules | None] = None

    def __init__(self, sim: Simulation, tenant: str | None = None, *, faults: FaultPlan | None = None) -> None:
        self.sim = sim
        self.tenant = tenant or DEFAULT_TENANT_FOR[self.vendor]
        sim.centre.tenant(self.tenant)  # fail early on a wrong name
        self.faults = faults or FaultPlan(reauth_possible=self.reauth_possible)
        self.base_url = ""
        self.requests: deque[tuple[str, str, int]] = deque(maxlen=10_000)  # (method, path, status), for tests

    @abstractmethod
    def add_routes(self, app: web.Application) -> None: ...

    @abstractmethod
    def credentials(self) -> dict[str, str]:
        """What a user needs to call this API (printed by the CLI)."""

    @abstractmethod
    def source_config(self, name: str) -> dict[str, Any]:
        """The connector config entry (``sources[]``) that points at this simulator."""

    def example_curl(self) -> str:
        return ""

    # --- app -------------------------------------------------------------------------------

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._fault_middleware])
        app.router.add_get("/_sim/info", self._info)
        app.router.add_get("/_sim/faults", self._get_faults)
        app.router.add_post("/_sim/faults", self._post_faults)
        app.router.add_delete("/_sim/faults", self._delete_faults)
        app.router.add_get("/_sim/truth", self._truth)
        app.router.add_get("/_sim/clock", self._get_clock)
        app.router.add_post("/_sim/clock", self._post_clock)
        self.add_routes(app)
        return app

    @web.middleware
    async def _fault_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/_sim/"):
            return await handler(request)
        faults = self.faults.take(request.path)
        request[FAULTS_KEY] = faults
        response = await self._answer(request, handler, pre_faults(faults))
        self.requests.append((request.method, request.path, response.status))
        return response

    async def _answer(self, request: web.Request, handler: Handler, faults: list[Fault]) -> web.StreamResponse:
        for fault in faults:
            if fault.kind == "slow":
                await asyncio.sleep(fault.delay)
        for fault in faults:
            if fault.kind == "rate_limit":
                headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
                return json_response({"message": "Too Many Requests"}, 429, headers)
            if fault.kind == "server_error":
                content_type, body = _ERROR_BODIES[fault.status or 503]
                return web.Response(body=body, status=fault.status or 503, content_type=content_type)
        response = await handler(request)
        if not isinstance(response, web.Response) or response.body is None:
            return response
        body = bytes(response.body)  # type: ignore[arg-type]
        kinds = {f.kind for f in faults}
        if "drop" in kinds:
            stream = web.StreamResponse(status=response.status, headers={"Content-Type": "application/json"})
            stream.content_length = len(body)
            await stream.prepare(request)
            await stream.write(body[: max(1, len(body) // 2)])
            if request.transport is not None:
                request.transport.close()
            return stream
        if "malformed" in kinds:
            broken = body[: max(1, len(body) // 2)] + b'",}<!-- truncated'
            return web.Response(body=broken, status=response.status, content_type="application/json")
        return response

    # --- helpers for vendor handlers ----------------------------------------------------------

    @staticmethod
    def request_faults(request: web.Request) -> list[Fault]:
        faults: list[Fault] = request.get(FAULTS_KEY, [])
        return faults

    def page(self, request: web.Request, records: Sequence[T], start: int, size: int,
             render: Callable[[T], dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """Slice one page of ``records`` (rendering only that slice) and apply this request's page faults."""
        faults = self.request_faults(request)
        begin = page_start(faults, start)
        chosen = records[begin:begin + size]
        rendered = [render(r) if render else dict(cast(dict[str, Any], r)) for r in chosen]
        return apply_record_faults(faults, rendered, self.drift_rules)

    def drift(self, request: web.Request, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return apply_record_faults(self.request_faults(request), records, self.drift_rules)

    # --- admin -----------------------------------------------------------------------------

    async def _info(self, request: web.Request) -> web.Response:
        return json_response({"vendor": self.vendor, "tenant": self.tenant, "base_url": self.base_url,
                              "credentials": self.credentials(), "now": iso_ms(self.sim.clock.now_ms())})

    async def _get_faults(self, request: web.Request) -> web.Response:
        return json_response([f.as_dict() for f in self.faults.faults])

    async def _post_faults(self, request: web.Request) -> web.Response:
        try:
            payload = await request.json()
            specs = payload if isinstance(payload, list) else [payload]
            added = [self.faults.add_dict(spec).as_dict() for spec in specs]
        except (ValueError, TypeError, KeyError) as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response(added, 201)

    async def _delete_faults(self, request: web.Request) -> web.Response:
        self.faults.clear()
        return json_response([])

    async def _truth(self, request: web.Request) -> web.Response:
        at = parse_instant(request.query.get("at")) or self.sim.now()
        snapshot = self.sim.truth.snapshot(self.tenant, at)
        snapshot["at"] = iso_ms(int(at.timestamp() * 1000))
        return json_response(snapshot)

    async def _get_clock(self, request: web.Request) -> web.Response:
        return json_response({"now": iso_ms(self.sim.clock.now_ms()), "speed": self.sim.clock.speed})

    async def _post_clock(self, request: web.Request) -> web.Response:
        payload = await request.json()
        if "set" in payload:
            moment = parse_instant(str(payload["set"]))
            if moment is None:
                return json_response({"error": "set: not an ISO 8601 instant"}, 400)
            self.sim.clock.set(moment)
        if "advance" in payload:
            self.sim.clock.advance(float(payload["advance"]))
        if "speed" in payload:
            self.sim.clock.set_speed(float(payload["speed"]))
        return await self._get_clock(request)


def hms(millis: int) -> str:
    """``HH:MM:SS`` with hours past 24 kept (``32:17:04``); sub-second parts are cut, not rounded."""
    seconds = max(0, millis) // 1000
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
