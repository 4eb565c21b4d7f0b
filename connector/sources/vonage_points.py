"""One Vonage activity (JSON) -> the points of an agent's timeline, with its de-duplication key.

Kept apart from the stream's paging and cursor: this is the per-record work of a page, so it
is written for speed (one pass over the item, starts parsed by arithmetic when they have
Vonage's own form) while refusing exactly what the general parser refuses.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from typing import Any

from connector.model import from_millis, to_millis
from connector.sources.base import RecordError, iso_z, parse_iso_utc
from connector.sources.vonage_keys import activity_key
from connector.sources.vonage_state import INTERACTION_CATEGORIES, PRESENCE_CATEGORIES, Point

__all__ = ["Activity", "StartTimes", "activity_points"]

#: Vonage's own spelling of a time: ``2026-11-22T05:16:02.470Z`` (what ``iso_z`` writes too)
_CANONICAL = re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})Z", re.ASCII).fullmatch
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_DAY_MS = 86_400_000
_MAX_DAYS = 1024     # days remembered; a page spans a few at most
_MAX_TEXTS = 16_384  # start texts remembered, a few pages' worth


class StartTimes:
    """Start texts -> epoch ms, and back for the page's record ids.

    A canonical text is read by arithmetic on its day (parsed once and remembered); anything
    else, and any out-of-range field, goes through ``parse_iso_utc``, so the same texts are
    accepted and refused with the same errors. ``text_of`` answers ``iso_z`` of a start this
    read canonically without formatting it again: the text is exactly ``iso_z``'s, so an entry
    is never stale, whichever page or cursor it came from; the map is only kept bounded.
    """

    def __init__(self) -> None:
        self._days: dict[str, int] = {}
        self._texts: dict[int, str] = {}

    def millis(self, value: Any) -> int:
        match = _CANONICAL(value) if type(value) is str else None
        if match is not None:
            day, hours, minutes, seconds, millis = match.groups()
            day_ms = self._days.get(day)
            if day_ms is None:
                day_ms = self._day(day)
            h, m, s = int(hours), int(minutes), int(seconds)
            if day_ms is not None and h < 24 and m < 60 and s < 60:
                at = day_ms + ((h * 60 + m) * 60 + s) * 1000 + int(millis)
                if len(self._texts) >= _MAX_TEXTS:
                    self._texts.clear()
                self._texts[at] = value
                return at
        return to_millis(parse_iso_utc(value, field="start"))

    def _day(self, day: str) -> int | None:
        try:
            ordinal = date.fromisoformat(day).toordinal()
        except ValueError:
            return None  # the general parser names the error
        if len(self._days) >= _MAX_DAYS:
            self._days.clear()
        self._days[day] = at = (ordinal - _EPOCH_ORDINAL) * _DAY_MS
        return at

    def text_of(self, millis: int) -> str:
        text = self._texts.get(millis)
        if text is None:
            text = iso_z(from_millis(millis))
        return text


#: (agent, de-duplication key, start_ms, end_ms, points) of one activity
Activity = tuple[str, str, int, int | None, list[Point]]


def _int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RecordError("bad_value", field, f"expected a non-negative integer, got {value!r}")
    return value


def _agent(item: dict[str, Any]) -> str:
    agent = item.get("agentId")
    if type(agent) is str and agent:
        return agent
    if agent in (None, "") or isinstance(agent, (dict, list, bool)):
        raise RecordError("missing_field", "agentId", "missing agent id")
    return str(agent)


def activity_points(item: Any, unknown: Counter[str], starts: StartTimes) -> Activity:
    """The activity's agent, key, start, end and points; RecordError if it cannot be mapped."""
    if not isinstance(item, dict):
        raise RecordError("unknown_shape", "(item)", f"expected an object, got {type(item).__name__}")
    agent = _agent(item)
    kind = item.get("type")
    start_ms = starts.millis(item.get("start"))
    duration = item.get("duration")
    end_ms = start_ms + _int(duration, "duration") if duration is not None else None
    category, guid, name, load = "", "", None, (0, 0, 0)
    if kind == "Presence" or kind == "Interaction":
        raw_category = item.get("category")
        if not isinstance(raw_category, str) or not raw_category:
            raise RecordError("missing_field", "category", f"missing category of a {kind} activity")
        category = raw_category
        if category not in (PRESENCE_CATEGORIES if kind == "Presence" else INTERACTION_CATEGORIES):
            unknown[f"{kind}:{category}"] += 1
        raw_name = item.get("name")
        name = raw_name if isinstance(raw_name, str) else None
        if kind == "Interaction":
            interaction = item.get("interaction")
            raw_guid = interaction.get("guid") if isinstance(interaction, dict) else None
            if not isinstance(raw_guid, str) or not raw_guid:
                raise RecordError("missing_field", "interaction.guid", "missing interaction guid")
            guid = raw_guid
    elif kind == "Workload":
        workload = item.get("workload")
        if not isinstance(workload, dict):
            raise RecordError("missing_field", "workload", "missing workload counts")
        load = (_int(workload.get("calls", 0), "workload.calls"),
                _int(workload.get("semiLive", 0), "workload.semiLive"),
                _int(workload.get("nonLive", 0), "workload.nonLive"))
    else:
        raise RecordError("unknown_shape", "type", f"unknown activity type {kind!r}")
    points = [Point(start_ms, False, kind, category, start_ms, name, guid, load)]
    if end_ms is not None and kind != "Presence":
        points.append(Point(end_ms, True, kind, category, start_ms, name, guid, load))
    return agent, activity_key(agent, kind, start_ms, category, guid), start_ms, end_ms, points
