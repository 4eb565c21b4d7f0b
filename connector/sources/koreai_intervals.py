"""Kore.ai status intervals read into plain sorted rows: the per-interval half of the mapping.

A page holds a whole day per agent, and nearly every interval read the first time is an event,
so what each interval costs adds up. An interval becomes one tuple (no object per interval);
its times are looked up in timeutil's cache of the page's offset (a day comes back every poll,
and each interval's end is the next one's start) and its statuses in a cache keyed by their
raw texts. Whatever that fast path does not recognise is read by ``read_interval``, which
raises the exact ``RecordError`` of a record that cannot be mapped. Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from typing import Any

from connector.model import AgentState, to_millis
from connector.sources.timeutil import (
    LocalParts,
    RecordError,
    parse_hms_duration,
    west_offset_local_parts,
    west_offset_local_times,
)

__all__ = ["STATE_MAP", "WRAP_SECONDARY", "Row", "Status", "interval_state", "read_interval", "read_rows",
           "status_of"]

STATE_MAP: dict[str, AgentState] = {
    "AVAILABLE": AgentState.AVAILABLE,
    "BUSY": AgentState.BUSY,
    "AWAY": AgentState.AWAY,
    "BREAK": AgentState.AWAY,
    "OFFLINE": AgentState.OFFLINE,
    "LOGGEDOUT": AgentState.OFFLINE,
    "LOGOUT": AgentState.OFFLINE,
    "WRAPUP": AgentState.WRAP_UP,
    "ACW": AgentState.WRAP_UP,
}

#: secondary statuses that refine a BUSY primary into after-conversation work
WRAP_SECONDARY = frozenset({"ACW", "WRAPUP", "WRAP", "AFTERCALLWORK"})

#: an interval's statuses as mapped: ``(state, vendor_state, reason, primary)``, primary stripped
Status = tuple[AgentState, str, str | None, str]
#: one interval: ``(start µs, index in the vendor's list, start parts, end ms or None when open, status)``;
#: as a tuple it sorts by start, then the vendor's order (a stable sort by start)
Row = tuple[int, int, LocalParts, int | None, Status]


def interval_state(primary: str, secondary: str | None) -> AgentState:
    """Primary status decides, except that a wrap-up secondary (BUSY/ACW) is WRAP_UP."""
    state = STATE_MAP.get(_status_key(primary), AgentState.UNKNOWN)
    if state is AgentState.BUSY and secondary and _status_key(secondary) in WRAP_SECONDARY:
        return AgentState.WRAP_UP
    return state


_STATUS_KEYS: dict[str, str] = {}
_CACHE_LIMIT = 10_000


def _status_key(value: str) -> str:
    """Letters only, upper case; cached (a tenant uses a handful of statuses, every interval names one)."""
    key = _STATUS_KEYS.get(value)
    if key is None:
        key = re.sub(r"[^A-Z]", "", value.upper())
        if len(_STATUS_KEYS) < _CACHE_LIMIT:
            _STATUS_KEYS[value] = key
    return key


#: (raw primaryStatus, raw secondaryStatus: a text or None) -> its Status; only valid primaries
_STATUSES: dict[tuple[str, str | None], Status] = {}


def status_of(primary: str, secondary: object) -> Status:
    """The mapped statuses of a (valid) primary and any secondary, cached by the raw values."""
    key = (primary, secondary) if secondary is None or type(secondary) is str else None
    known = _STATUSES.get(key) if key is not None else None
    if known is not None:
        return known
    text = primary.strip()
    extra = secondary.strip() if isinstance(secondary, str) and secondary.strip() else None
    status = (interval_state(text, extra), f"{text}/{extra}" if extra else text,
              extra if extra and extra != text else None, text)
    if key is not None and len(_STATUSES) < _CACHE_LIMIT:
        _STATUSES[key] = status
    return status


def read_interval(raw: Any, index: int, offset: int) -> Row:
    """One interval, every field checked: a missing or unreadable one is a RecordError."""
    if not isinstance(raw, dict):
        raise RecordError("unknown_shape", "(interval)", f"expected an object, got {type(raw).__name__}")
    primary = raw.get("primaryStatus")
    if not isinstance(primary, str) or not primary.strip():
        raise RecordError("missing_field", "primaryStatus", "missing status")
    start = west_offset_local_parts(raw.get("startTime"), offset, field="startTime")
    end_raw = raw.get("endTime")
    end_ms: int | None
    if end_raw == "-":
        end_ms = None
    elif end_raw in (None, "") and raw.get("duration") not in (None, "", "-"):
        end_ms = to_millis(start[0] + parse_hms_duration(raw.get("duration"), field="duration"))
    else:
        end_ms = west_offset_local_parts(end_raw, offset, field="endTime")[1]
    return start[3], index, start, end_ms, status_of(primary, raw.get("secondaryStatus"))


def read_rows(statuses: list[Any], offset: int) -> tuple[list[Row], list[tuple[int, Any, RecordError]]]:
    """An agent's intervals as rows sorted by start (vendor order within a start), and the
    ``(index, raw, error)`` of those that cannot be mapped, in the vendor's order.

    The fast path takes an interval whose statuses and times were all read before (the usual
    case); any lookup that misses, or a value of the wrong type, sends it to ``read_interval``."""
    times = west_offset_local_times(offset)
    statuses_known = _STATUSES
    rows: list[Row] = []
    errors: list[tuple[int, Any, RecordError]] = []
    for index, raw in enumerate(statuses):
        try:
            status = statuses_known[raw["primaryStatus"], raw.get("secondaryStatus")]
            start = times[raw["startTime"]]
            end = raw["endTime"]
            rows.append((start[3], index, start, None if end == "-" else times[end][1], status))
            continue
        except (KeyError, TypeError):
            pass  # not (all) read before, or not the expected shape: read it field by field
        try:
            rows.append(read_interval(raw, index, offset))
        except RecordError as error:
            errors.append((index, raw, error))
    rows.sort()
    return rows, errors
