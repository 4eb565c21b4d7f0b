"""Skipping the mapping of a page that cannot map to anything new.

Kore.ai and Convoso productivity re-read the current day on every poll: an idle tenant's
page comes back byte for byte, and mapping it onto the cursor it left again yields no events
and the same cursor. ``PageMemo`` remembers, per request, the body and the cursor a mapping
read and what it produced when that was nothing but a cursor; the same request, the same bytes
and the very same cursor object (streams never change a cursor in place) give that result
again without parsing or mapping.

Mappings also read the clock (a gap that opens once an agent's last interval is old enough,
the day changing, memory pruned by age). Only streams that say until when a result stays
valid take part: ``stream.replay_until(cursor, request, body, page, now)`` returns the moment
the same inputs could first map differently (None: never replay). A stream without it is
always mapped.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connector.sources.base import PageResult, RequestSpec

__all__ = ["MEMO_SIZE", "PageMemo", "ReplayUntil", "request_key"]

#: requests remembered per source: a poll's pages (a day, or each offset of a DST day)
MEMO_SIZE = 64

ReplayUntil = Callable[[dict[str, Any], RequestSpec, Any, PageResult, datetime], datetime | None]


def request_key(request: RequestSpec) -> str:
    """Everything that makes a request what it is, auth excluded (added per attempt)."""
    return json.dumps([request.method, request.path, request.params, request.json_body, request.form],
                      sort_keys=True, separators=(",", ":"), default=str)


@dataclass(frozen=True, slots=True)
class _Entry:
    content: bytes
    cursor: dict[str, Any]  # the cursor the mapping read (compared by identity)
    next_cursor: dict[str, Any]
    next_request: RequestSpec | None
    until: datetime


class PageMemo:
    """One source's remembered event-less pages, keyed by ``request_key``."""

    def __init__(self, replay_until: ReplayUntil, size: int = MEMO_SIZE) -> None:
        self._until = replay_until
        self._size = size
        self._entries: dict[str, _Entry] = {}
        self.replayed = 0

    def known(self, key: str) -> bytes | None:
        """The body last seen for a request, for the HTTP layer to compare the new one with."""
        entry = self._entries.get(key)
        return entry.content if entry is not None else None

    def replay(self, key: str, content: bytes, cursor: dict[str, Any], now: datetime) -> PageResult | None:
        """The remembered result when this body mapped onto this very cursor gave nothing but a cursor."""
        entry = self._entries.get(key)
        if entry is None or entry.cursor is not cursor or now >= entry.until or entry.content != content:
            return None
        self.replayed += 1
        return PageResult([], [], Counter(), entry.next_cursor, entry.next_request)

    def remember(self, key: str, content: bytes, cursor: dict[str, Any], request: RequestSpec, body: Any,
                 page: PageResult, now: datetime, *, poll_start: dict[str, Any]) -> PageResult:
        """Keep an event-less page's result; returns the page, its cursor made the very object it
        equals (the page's own cursor, or the poll's first one) so the next poll finds it by identity."""
        self._entries.pop(key, None)
        if page.events or page.dead_letters or page.unknown_vendor_states:
            return page
        until = self._until(cursor, request, body, page, now)
        if until is None or until <= now:
            return page
        same = next((c for c in (cursor, poll_start) if c == page.next_cursor), None)
        if same is not None:
            page = PageResult([], [], Counter(), same, page.next_request)
        if len(self._entries) >= self._size:
            del self._entries[next(iter(self._entries))]
        self._entries[key] = _Entry(content, cursor, page.next_cursor, page.next_request, until)
        return page
