"""Vonage's cursor stays small and cheap: ended keys in buckets pruned per page, copy-on-write, old cursors."""

from __future__ import annotations

import base64
import copy
import itertools
import json
from datetime import datetime, timedelta
from typing import Any

from connector.sources.base import RequestSpec
from connector.sources.vonage import ENDED_RETENTION_MS, MAX_SEEN, VonageStream
from connector.sources.vonage_keys import ENDED_BUCKET_MS, KEY_CHARS
from tests.sources.helpers import ids, roundtrip, utc, vonage
from tests.sources.test_vonage import body, interaction, presence

START = utc(2019, 12, 19, 6)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def calls(hours: int, agents: int = 20, per_hour: int = 20) -> list[dict[str, Any]]:
    """Each agent Ready, then short ended calls over ``hours``, in the API's order (by start)."""
    items = [presence("Ready", iso(START), agent=f"a{agent}") for agent in range(agents)]
    for minute in range(0, hours * 60, 60 // per_hour):
        for agent in range(agents):
            start = START + timedelta(minutes=minute, seconds=agent)
            items.append(interaction("Connected", iso(start), f"g-{agent}-{minute}", 20_000, agent=f"a{agent}"))
    return items


def read_window(stream: VonageStream, cursor: dict[str, Any], items: list[dict[str, Any]], end: datetime,
                page_size: int = 100) -> tuple[list[str], list[dict[str, Any]]]:
    """One catch-up window read page by page; the events' ids and the cursor after every page."""
    pages = max(1, -(-len(items) // page_size))
    out: list[str] = []
    cursors = []
    for page in range(1, pages + 1):
        request = RequestSpec("GET", "/stats/agent-activities", {
            "start": iso(START), "end": iso(end), "include": "Processed", "page": str(page)})
        if page == 1:
            cursor = {**cursor, "next": {"start": iso(START), "end": iso(end), "page": 1, "up_to": None}}
        result = stream.handle_response(cursor, request, body(items[(page - 1) * page_size:page * page_size],
                                                              up_to=iso(end), page=page, pages=pages), end)
        out += ids(result.events)
        cursor = result.next_cursor
        cursors.append(cursor)
    return out, cursors


def ended_keys(cursor: dict[str, Any]) -> int:
    return sum(len(bucket) // KEY_CHARS for bucket in cursor["ended"].values())


def test_a_catch_up_window_keeps_about_an_hour_of_ended_keys_not_the_whole_window() -> None:
    end = START + timedelta(hours=6)
    stream = VonageStream(vonage(start_at=START, presence_lookback_seconds=0))
    items = calls(6)  # 20 agents x 20 calls an hour x 6 hours = 2,400 ended activities
    _, cursors = read_window(stream, stream.initial_cursor(end), items, end)
    per_hour = 20 * 20
    # pruned on every page against the page's earliest start: never much more than the retention's worth
    limit = per_hour * (ENDED_RETENTION_MS / 3_600_000) + per_hour // 2
    assert max(ended_keys(c) for c in cursors) <= limit
    sizes = [len(json.dumps(c)) for c in cursors]
    assert max(sizes) < 2 * sizes[len(sizes) // 2]  # flat, not growing with the window
    assert ended_keys(cursors[-1]) <= per_hour


def test_pruning_keeps_every_re_report_of_the_re_read_window_de_duplicated() -> None:
    """Pages re-read within the retention (a shifted page, the next poll's overlap) emit nothing again."""
    end = START + timedelta(hours=3)
    stream = VonageStream(vonage(start_at=START, presence_lookback_seconds=0))
    items = calls(3)
    first, cursors = read_window(stream, stream.initial_cursor(end), items, end)
    assert len(first) == len(set(first)) > 2 * (len(items) - 20)  # Ready, then BUSY and AVAILABLE per call
    # the next poll re-reads the last 50 minutes (inside the hour kept past the reading position)
    tail = [i for i in items if i["start"] >= iso(end - timedelta(minutes=50))]
    again, _ = read_window(stream, roundtrip(cursors[-1]), tail, end + timedelta(minutes=1))
    assert again == []
    # and a page boundary re-served mid-window: the last page's items again on the next page
    mid = cursors[len(cursors) // 2]
    request = RequestSpec("GET", "/stats/agent-activities", {
        "start": iso(START), "end": iso(end), "include": "Processed", "page": str(mid["next"]["page"])})
    shifted = items[(mid["next"]["page"] - 2) * 100 + 90:(mid["next"]["page"] - 1) * 100]
    repeat = stream.handle_response(mid, request, body(shifted, up_to=iso(end), page=mid["next"]["page"],
                                                       pages=len(cursors)), end)
    assert repeat.events == []


def test_the_ended_keys_are_capped_too() -> None:
    end = START + timedelta(minutes=50)
    stream = VonageStream(vonage(start_at=START, presence_lookback_seconds=0))
    items = calls(1, agents=300, per_hour=40)[: MAX_SEEN + 2_000]  # more than MAX_SEEN within the retention
    _, cursors = read_window(stream, stream.initial_cursor(end), items, end, page_size=5_000)
    assert all(ended_keys(c) + len(c["seen"]) <= MAX_SEEN for c in cursors)


def test_handle_response_never_changes_its_input_cursor() -> None:
    end = START + timedelta(hours=2)
    stream = VonageStream(vonage(start_at=START, presence_lookback_seconds=0))
    items = calls(2)
    _, cursors = read_window(stream, stream.initial_cursor(end), items, end)
    before = copy.deepcopy(cursors[3])
    request = RequestSpec("GET", "/stats/agent-activities", {
        "start": iso(START), "end": iso(end), "include": "Processed", "page": str(cursors[3]["next"]["page"])})
    stream.handle_response(cursors[3], request, body(items[400:500], up_to=iso(end), page=5,
                                                     pages=len(cursors)), end)
    assert cursors[3] == before


def hex_of(token: str) -> str:
    """A key as cursors before the compact form spelled it: 16 hex digits of the same 8 bytes."""
    return base64.urlsafe_b64decode(token + "=").hex()


def older_shapes(cursor: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The cursor as written before buckets (ended keys in "seen"), and with ``{hex key: end_ms}`` buckets."""
    seen_only, hex_buckets = copy.deepcopy(cursor), copy.deepcopy(cursor)
    for shape in (seen_only, hex_buckets):
        shape["seen"] = {hex_of(k): v for k, v in shape["seen"].items()}
    hex_buckets["ended"] = {}
    for name, text in seen_only.pop("ended").items():
        end_ms = int(name) * ENDED_BUCKET_MS
        keys = [hex_of(text[i:i + KEY_CHARS]) for i in range(0, len(text), KEY_CHARS)]
        seen_only["seen"].update({key: [end_ms - 20_000, end_ms] for key in keys})
        hex_buckets["ended"][name] = dict.fromkeys(keys, end_ms)
    return seen_only, hex_buckets


def test_cursors_written_before_the_compact_keys_are_read_as_before() -> None:
    end = START + timedelta(hours=1)
    stream = VonageStream(vonage(start_at=START, presence_lookback_seconds=0))
    items = calls(1, agents=3)
    _, cursors = read_window(stream, stream.initial_cursor(end), items, end)
    for old in older_shapes(cursors[-1]):
        again, migrated = read_window(stream, roundtrip(old), items, end + timedelta(minutes=1))
        assert again == [] and ended_keys(migrated[-1]) == ended_keys(cursors[-1])
        assert all(v[1] is None for v in migrated[-1]["seen"].values())
        assert set(migrated[-1]["seen"]) == set(cursors[-1]["seen"])


def test_the_ended_index_is_taken_over_only_from_the_page_before() -> None:
    """A cursor used twice (a page retried after a failure) de-duplicates exactly as the first time."""
    end = START + timedelta(hours=2)
    stream = VonageStream(vonage(start_at=START, presence_lookback_seconds=0))
    items = calls(2)
    _, cursors = read_window(stream, stream.initial_cursor(end), items, end)
    mid = cursors[len(cursors) // 2]
    page = mid["next"]["page"]
    request = RequestSpec("GET", "/stats/agent-activities", {
        "start": iso(START), "end": iso(end), "include": "Processed", "page": str(page)})
    shifted = items[(page - 2) * 100 + 50:page * 100]
    first = stream.handle_response(mid, request, body(shifted, up_to=iso(end), page=page, pages=len(cursors)), end)
    second = stream.handle_response(mid, request, body(shifted, up_to=iso(end), page=page, pages=len(cursors)), end)
    fresh = VonageStream(vonage(start_at=START, presence_lookback_seconds=0)).handle_response(
        roundtrip(mid), request, body(shifted, up_to=iso(end), page=page, pages=len(cursors)), end)
    assert ids(first.events) == ids(second.events) == ids(fresh.events) != []
    assert first.next_cursor == second.next_cursor == fresh.next_cursor


def test_pages_read_in_a_row_map_as_pages_read_from_stored_cursors() -> None:
    """What one page hands the next (ended index, held points) changes nothing a restart would not see."""
    end = START + timedelta(hours=2)
    stream = VonageStream(vonage(start_at=START, presence_lookback_seconds=0))
    items = calls(2)
    in_a_row, cursors = read_window(stream, stream.initial_cursor(end), items, end, page_size=37)
    assert any(c.get("held") for c in cursors)
    restarted: list[str] = []
    cursor = stream.initial_cursor(end)
    pages = -(-len(items) // 37)
    for page in range(1, pages + 1):
        request = RequestSpec("GET", "/stats/agent-activities", {
            "start": iso(START), "end": iso(end), "include": "Processed", "page": str(page)})
        if page == 1:
            cursor = {**cursor, "next": {"start": iso(START), "end": iso(end), "page": 1, "up_to": None}}
        fresh = VonageStream(vonage(start_at=START, presence_lookback_seconds=0))
        result = fresh.handle_response(roundtrip(cursor), request, body(items[(page - 1) * 37:page * 37],
                                                                        up_to=iso(end), page=page, pages=pages), end)
        restarted += ids(result.events)
        assert result.next_cursor == cursors[page - 1]
        cursor = result.next_cursor
    assert restarted == in_a_row


def test_an_agent_whose_held_rows_did_not_change_keeps_the_very_list() -> None:
    """The cursor's JSON of unchanged held rows is then reused by the offsets store (cursor_json)."""
    end = START + timedelta(hours=2)
    stream = VonageStream(vonage(start_at=START, presence_lookback_seconds=0))
    _, cursors = read_window(stream, stream.initial_cursor(end), calls(2), end, page_size=7)  # few agents a page
    kept = changed = 0
    for before, after in itertools.pairwise(cursors):
        for agent, rows in (after.get("held") or {}).items():
            previous = (before.get("held") or {}).get(agent)
            if previous is rows:
                kept += 1
            elif previous is not None:
                assert previous != rows  # a new list only for rows that changed
                changed += 1
    assert kept and changed
