"""``agent-connector convert``: map one saved vendor response to events, offline.

No Kafka, no network: the file is handed to the vendor's stream exactly as the runtime
would hand a response body, and the events are printed as JSON lines (dead letters go to
stderr with their error). Useful to check a mapping against a real response, and the
seed documents' examples are its first test cases.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import click
from pydantic import ValidationError

from connector.jsonout import plain
from connector.model import DeadLetter, Event
from connector.sources import STREAMS, make_stream
from connector.sources.base import PagingError, RequestSpec, VendorError, parse_iso_utc
from connector.sources.convoso_productivity import ConvosoProductivityStream
from connector.sources.timeutil import RecordError

__all__ = ["VENDOR_CHOICES", "convert", "event_json"]

VENDOR_CHOICES = tuple(STREAMS)
_TIME_FIELDS = ("occurred_at", "ingested_at", "observed_at", "window_start", "window_end", "failed_at")


def event_json(event: Event) -> dict[str, Any]:
    """An event as a JSON-able dict: ``event_type`` first, times as ISO-8601 UTC with ``Z``."""
    fields = plain(dataclasses.asdict(event))  # type: ignore[call-overload]
    fields.pop("source_cursor", None)
    return {"event_type": event.event_type, **fields}


def _config(vendor: str, tenant: str, zone: str) -> Any:
    return STREAMS[vendor].settings_model.for_saved_response(tenant, zone)


def _request(stream: Any, vendor: str, cursor: dict[str, Any], now: datetime, offset: int | None) -> RequestSpec:
    request: RequestSpec | None = stream.first_request(cursor, now)
    assert request is not None  # every stream has a first request at "now" with the default lookback
    if vendor == "koreai" and offset is not None and request.json_body is not None:
        # Kore.ai renders times in the offset the request sent (minutes WEST of UTC: the inverse sign)
        day = (now + timedelta(minutes=offset)).date().isoformat()
        body = json.loads(json.dumps(request.json_body))
        body["filter"]["dateFilter"].update(timeZoneOffSet=-offset, date=day, startDate=day, endDate=day)
        request = dataclasses.replace(request, json_body=body)
    return request


@click.command("convert")
@click.option("--vendor", required=True, type=click.Choice(VENDOR_CHOICES), help="Which API the response came from.")
@click.option("--tenant", default="convert", show_default=True, help="Tenant written into the events.")
@click.option("--timezone-offset", "offset", type=int, default=None,
              help="Minutes EAST of UTC the response's local times are in (New York winter -300, India 330). "
                   "For Kore.ai: the inverse of the timeZoneOffSet the response was requested with.")
@click.option("--timezone", "zone", default=None, help="IANA zone of local times instead (e.g. America/New_York).")
@click.option("--now", "now_text", default=None, help="Map as if at this ISO-8601 time (default: the clock).")
@click.argument("file", type=click.File("r"))
def convert(vendor: str, tenant: str, offset: int | None, zone: str | None, now_text: str | None,
            file: Any) -> None:
    """Print the events one saved API response (JSON FILE, '-' for stdin) maps to, as JSON lines."""
    try:
        now = parse_iso_utc(now_text, field="--now") if now_text else datetime.now(UTC)
    except RecordError as error:
        raise click.BadParameter(str(error), param_hint="--now") from None
    text = file.read()
    try:
        body = json.loads(text)
    except json.JSONDecodeError as error:
        raise click.ClickException(f"{file.name}: not valid JSON at line {error.lineno}, column {error.colno}: "
                                   f"{error.msg}") from None
    try:
        config = _config(vendor, tenant, zone or "UTC")
    except ValidationError as error:
        raise click.BadParameter(error.errors()[0]["msg"], param_hint="--timezone") from None
    stream = make_stream(config)
    if isinstance(stream, ConvosoProductivityStream) and offset is not None and zone is None:
        stream.zone_override = timezone(timedelta(minutes=offset))  # for created_at, when event_epoch is absent
    cursor = stream.initial_cursor(now)
    request = _request(stream, vendor, cursor, now, offset)
    try:
        result = stream.handle_response(cursor, request, body, now)
    except (VendorError, PagingError) as error:
        raise click.ClickException(str(error)) from None
    for event in result.events:
        click.echo(json.dumps(event_json(event), sort_keys=False))
    for dead in result.dead_letters:
        click.echo(json.dumps(_dead_json(dead)), err=True)
    if result.unknown_vendor_states:
        listing = ", ".join(f"{state} x{count}" for state, count in sorted(result.unknown_vendor_states.items()))
        click.echo(f"unknown vendor states (mapped to UNKNOWN): {listing}", err=True)


def _dead_json(dead: DeadLetter) -> dict[str, Any]:
    return {"event_type": "DeadLetter", "location": dead.location, "error": dead.error,
            "error_kind": dead.error_kind, "raw_record": json.loads(dead.raw_record)}

