"""One Vonage activity (JSON) -> the points of an agent's timeline, with its de-duplication key.

Kept apart from the stream's paging and cursor: this is the per-record work of a page, so it
is written for speed (one pass over the item, starts parsed by arithmetic when they have
Vonage's own form) while refusing exactly what the general parser refuses.
"""

from __future__ import annotations

import binascii
import hashlib
import re
from collections import Counter
from datetime import date
from typing import Any

from connector.model import from_millis, to_millis
from connector.sources.base import RecordError, iso_z, parse_iso_utc
from connector.sources.vonage_keys import KEY_CHARS, activity_key
from connector.sources.vonage_state import INTERACTION_CATEGORIES, NO_LOAD, PRESENCE_CATEGORIES, Point

__all__ = ["Activity", "StartTimes", "activity_points"]

#: Vonage's own spelling of a time, ``2026-11-22T05:16:02.470Z`` (what ``iso_z`` writes too), in three
#: parts: the minute (read once per minute and remembered), ``:SS`` and ``.mmmZ`` (looked up whole:
#: a table holds every valid spelling, so a lookup is the check and the value at once)
_MINUTE = re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})", re.ASCII).fullmatch
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_DAY_MS = 86_400_000
_MAX_MINUTES = 4096  # minutes remembered; a page spans a few hundred at most
_MAX_TEXTS = 16_384  # start texts remembered, a few pages' worth
_SECONDS = {f":{second:02d}": second * 1000 for second in range(60)}
_MILLIS = {f".{milli:03d}Z": milli for milli in range(1000)}
_sha256 = hashlib.sha256
_b64 = binascii.b2a_base64
_URLSAFE = bytes.maketrans(b"+/", b"-_")


class StartTimes:
    """Start texts -> epoch ms, and back for the page's record ids.

    A canonical text is read by arithmetic on its minute (parsed once and remembered); anything
    else, and any out-of-range field, goes through ``parse_iso_utc``, so the same texts are
    accepted and refused with the same errors. ``text_of`` answers ``iso_z`` of a start this
    read canonically without formatting it again: the text is exactly ``iso_z``'s, so an entry
    is never stale, whichever page or cursor it came from; the map is only kept bounded.
    """

    def __init__(self) -> None:
        self._minutes: dict[str, int] = {}
        self._texts: dict[int, str] = {}

    def millis(self, value: Any) -> int:
        if type(value) is str and len(value) == 24:
            minute_ms = self._minutes.get(value[:16])
            if minute_ms is None:
                minute_ms = self._minute(value[:16])
            second_ms, milli = _SECONDS.get(value[16:19]), _MILLIS.get(value[19:])
            if minute_ms is not None and second_ms is not None and milli is not None:
                at: int = minute_ms + second_ms + milli
                if len(self._texts) >= _MAX_TEXTS:
                    self._texts.clear()
                self._texts[at] = value
                return at
        return to_millis(parse_iso_utc(value, field="start"))

    def _minute(self, minute: str) -> int | None:
        """Epoch ms of a canonical ``YYYY-MM-DDTHH:MM`` (None for anything else); remembered."""
        match = _MINUTE(minute)
        if match is None:
            return None
        day, hours, minutes = match.groups()
        try:
            ordinal = date.fromisoformat(day).toordinal()
        except ValueError:
            return None  # the general parser names the error
        if int(hours) > 23 or int(minutes) > 59:
            return None
        if len(self._minutes) >= _MAX_MINUTES:
            self._minutes.clear()
        at = (ordinal - _EPOCH_ORDINAL) * _DAY_MS + (int(hours) * 60 + int(minutes)) * 60_000
        self._minutes[minute] = at
        return at

    def text_of(self, millis: int) -> str:
        text = self._texts.get(millis)
        if text is None:
            text = iso_z(from_millis(millis))
        return text


#: (agent, de-duplication key, start_ms, end_ms, points) of one activity
Activity = tuple[str, str, int, int | None, list[Point]]


def activity_points(item: Any, unknown: Counter[str], starts: StartTimes) -> Activity:
    """The activity's agent, key, start, end and points; RecordError if it cannot be mapped.

    Well-formed items (every field present, as Vonage sends them) are read in one pass here;
    anything unusual goes through ``_checked``, which names what is wrong: the errors are its."""
    if type(item) is not dict:
        return _checked(item, unknown, starts)
    guid: Any
    try:
        agent, kind, duration, category = item["agentId"], item["type"], item["duration"], item["category"]
        if type(agent) is not str or not agent or not (duration is None or (type(duration) is int and duration >= 0)):
            return _checked(item, unknown, starts)
        if kind == "Workload":
            workload = item["workload"]
            load = (workload.get("calls", 0), workload.get("semiLive", 0), workload.get("nonLive", 0)) \
                if type(workload) is dict else (-1, -1, -1)
            if not (type(load[0]) is int and load[0] >= 0 and type(load[1]) is int and load[1] >= 0
                    and type(load[2]) is int and load[2] >= 0):
                return _checked(item, unknown, starts)
            category, name, guid, known = "", None, "", None
        elif type(category) is str and category and (kind == "Interaction" or kind == "Presence"):
            name, load = item["name"], NO_LOAD
            name = name if isinstance(name, str) else None
            guid, known = "", PRESENCE_CATEGORIES
            if kind == "Interaction":
                interaction = item["interaction"]
                guid, known = interaction["guid"] if type(interaction) is dict else None, INTERACTION_CATEGORIES
                if type(guid) is not str or not guid:
                    return _checked(item, unknown, starts)
        else:
            return _checked(item, unknown, starts)
    except KeyError:
        return _checked(item, unknown, starts)
    start_ms = starts.millis(item.get("start"))
    if known is not None and category not in known:
        unknown[f"{kind}:{category}"] += 1
    key = _b64(_sha256(f"{agent}|{kind}|{start_ms}|{category}|{guid}".encode()).digest()[:8],  # activity_key
               newline=False)[:KEY_CHARS].translate(_URLSAFE).decode()
    first = (start_ms, False, kind, category, start_ms, name, guid, load, start_ms * 2 + 1)
    if duration is None:
        return agent, key, start_ms, None, [first]
    end_ms = start_ms + duration
    if kind == "Presence":  # a presence ends only by the next one starting
        return agent, key, start_ms, end_ms, [first]
    return agent, key, start_ms, end_ms, [first, (end_ms, True, kind, category, start_ms, name, guid, load, end_ms * 2)]


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


def _checked(item: Any, unknown: Counter[str], starts: StartTimes) -> Activity:
    """``activity_points`` field by field, in the order the errors are named."""
    if not isinstance(item, dict):
        raise RecordError("unknown_shape", "(item)", f"expected an object, got {type(item).__name__}")
    agent = _agent(item)
    kind = item.get("type")
    start_ms = starts.millis(item.get("start"))
    duration = item.get("duration")
    end_ms = start_ms + _int(duration, "duration") if duration is not None else None
    category, guid, name, load = "", "", None, NO_LOAD
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
    points: list[Point] = [(start_ms, False, kind, category, start_ms, name, guid, load, start_ms * 2 + 1)]
    if end_ms is not None and kind != "Presence":
        points.append((end_ms, True, kind, category, start_ms, name, guid, load, end_ms * 2))
    return agent, activity_key(agent, kind, start_ms, category, guid), start_ms, end_ms, points
