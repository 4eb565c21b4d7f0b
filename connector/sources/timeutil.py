"""Time at the edge: every vendor time is turned into an aware UTC ``datetime`` here.

Vendors send epoch seconds (Convoso), ISO-8601 with ``Z`` (Vonage), naive local times
in a requested fixed offset (Kore.ai) or local wall-clock times of an account zone
(Convoso ``created_at``). Inside the connector everything is UTC.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

__all__ = [
    "FOREVER",
    "LocalParts",
    "RecordError",
    "day_bounds_utc",
    "expiry",
    "iso_z",
    "koreai_offset",
    "koreai_offsets_of_day",
    "local_date",
    "local_to_utc",
    "next_day_start",
    "parse_epoch_seconds",
    "parse_hms_duration",
    "parse_iso_utc",
    "parse_west_offset_local",
    "west_offset_local_parts",
    "west_offset_local_times",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class RecordError(ValueError):
    """One record cannot be mapped; becomes a DeadLetter naming ``field`` and ``kind``."""

    def __init__(self, kind: str, field: str, message: str) -> None:
        self.kind = kind
        self.field = field
        super().__init__(f"{field}: {message}")


def iso_z(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds and a ``Z``: the one text form of a time we print or send."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()} has no time zone")
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso_utc(value: object, *, field: str) -> datetime:
    """An ISO-8601 time with a zone (``Z`` or ``+hh:mm``); naive times are refused, never guessed."""
    if not isinstance(value, str) or not value.strip():
        raise RecordError("missing_field" if value in (None, "") else "bad_timestamp", field,
                          f"expected an ISO-8601 time, got {value!r}")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise RecordError("bad_timestamp", field, f"not an ISO-8601 time: {value!r}") from None
    if moment.tzinfo is None:
        raise RecordError("bad_timestamp", field, f"time {value!r} has no zone; expected UTC ('Z')")
    return moment.astimezone(UTC)


def parse_epoch_seconds(value: object, *, field: str) -> datetime:
    """Unix seconds, as an int or a decimal string (Convoso sends ``"1748433437"``)."""
    if value is None or value == "":
        raise RecordError("missing_field", field, "missing")
    if isinstance(value, bool) or not isinstance(value, (int, str, float)):
        raise RecordError("bad_timestamp", field, f"expected unix seconds, got {value!r}")
    try:
        seconds = float(value)
    except ValueError:
        raise RecordError("bad_timestamp", field, f"expected unix seconds, got {value!r}") from None
    if not 0 < seconds < 32_503_680_000:  # 3000-01-01: anything later is a unit mistake (millis)
        raise RecordError("bad_timestamp", field, f"unix seconds out of range: {value!r}")
    return datetime.fromtimestamp(seconds, tz=UTC)


def local_to_utc(naive: datetime, zone: tzinfo) -> datetime:
    """Wall-clock time of ``zone`` -> UTC.

    Ambiguous times (the repeated hour when clocks go back) read as the first occurrence
    (``fold=0``); times that do not exist (the skipped hour when clocks go forward) read
    with the offset in force before the change, as PEP 495 does (02:30 -> 03:30 new time).
    """
    return naive.replace(tzinfo=zone, fold=0).astimezone(UTC)


def local_date(moment: datetime, zone: tzinfo) -> date:
    """The calendar day ``moment`` falls on in ``zone`` (a report day of the account)."""
    return moment.astimezone(zone).date()


def day_bounds_utc(day: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar day in UTC; 23 or 25 hours long on DST days."""
    start = local_to_utc(datetime.combine(day, time()), zone)
    end = local_to_utc(datetime.combine(day + timedelta(days=1), time()), zone)
    return start, end


#: "no moment yet": later than any time a mapping will ever be read at
FOREVER = datetime.max.replace(tzinfo=UTC)


def next_day_start(moment: datetime, zone: tzinfo) -> datetime:
    """The UTC instant the local day after ``moment``'s begins: when ``local_date`` next changes."""
    return day_bounds_utc(local_date(moment, zone), zone)[1]


def expiry(millis: Iterable[int], keep: timedelta) -> datetime:
    """When the oldest of these epoch-ms moments gets older than ``keep`` (FOREVER when there are none):
    the first moment a prune by age would drop something."""
    oldest = min(millis, default=None)
    return FOREVER if oldest is None else datetime.fromtimestamp(oldest / 1000, tz=UTC) + keep


def koreai_offset(zone: ZoneInfo, moment: datetime) -> int:
    """Kore.ai's ``timeZoneOffSet`` at ``moment``: minutes WEST of UTC (New York winter 300, India -330)."""
    offset = moment.astimezone(zone).utcoffset()
    assert offset is not None  # a ZoneInfo always has one
    return -int(offset.total_seconds() // 60)


def koreai_offsets_of_day(zone: ZoneInfo, day: date) -> list[int]:
    """The distinct Kore.ai offsets of a local day: its offset at the start, then at the end.

    An ordinary day has one; a DST day has two, and the connector queries the day once
    with each so the union of the two fixed-offset windows covers the whole 23/25-hour day.
    """
    start, end = day_bounds_utc(day, zone)
    first = koreai_offset(zone, start)
    last = koreai_offset(zone, end - timedelta(seconds=1))
    return [first] if first == last else [first, last]


_NAIVE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?$")


#: a Kore.ai local time read: the UTC moment, its epoch ms, its ``iso_z`` text and its epoch µs
LocalParts = tuple[datetime, int, str, int]
#: minutes west -> {text: its parts}; bounded per offset, and in the number of offsets
_LOCAL_TIMES: dict[int, dict[str, LocalParts]] = {}
_LOCAL_TIMES_LIMIT = 50_000
_LOCAL_OFFSETS_LIMIT = 64


def parse_west_offset_local(value: object, minutes_west: int, *, field: str) -> datetime:
    """A naive local time rendered in a fixed Kore.ai offset -> UTC (local + minutes west).

    Kore.ai answers a whole day every poll, so the same texts come back poll after poll: the
    results of valid texts are cached (a pure function of text and offset; bounded)."""
    return west_offset_local_parts(value, minutes_west, field=field)[0]


def west_offset_local_times(minutes_west: int) -> dict[str, LocalParts]:
    """The cache of one offset's valid texts, for a caller to look texts up in directly (a miss
    goes to ``west_offset_local_parts``): every time of a Kore.ai page has the page's offset, and
    a tuple key per lookup was most of a hit's cost. Read it, never write it."""
    cache = _LOCAL_TIMES.get(minutes_west)
    if cache is None:
        if len(_LOCAL_TIMES) >= _LOCAL_OFFSETS_LIMIT:
            for known in _LOCAL_TIMES.values():
                known.clear()  # emptied, not dropped: a caller may hold one
            _LOCAL_TIMES.clear()
        cache = _LOCAL_TIMES[minutes_west] = {}
    return cache


def west_offset_local_parts(value: object, minutes_west: int, *, field: str) -> LocalParts:
    """``parse_west_offset_local`` with the moment's epoch ms, ``iso_z`` text and epoch µs, cached with
    it: an interval's start is sorted, keyed, remembered and printed as those (each ~1 µs to derive)."""
    cache = west_offset_local_times(minutes_west)
    if type(value) is str:
        known = cache.get(value)
        if known is not None:
            return known
    moment = _parse_west_offset_local(value, minutes_west, field=field)
    if len(cache) >= _LOCAL_TIMES_LIMIT:
        cache.clear()
    delta = moment - _EPOCH
    seconds = delta.days * 86_400 + delta.seconds
    parts = moment, seconds * 1000 + delta.microseconds // 1000, iso_z(moment), seconds * 1_000_000 + delta.microseconds
    cache[str(value)] = parts
    return parts


def _parse_west_offset_local(value: object, minutes_west: int, *, field: str) -> datetime:
    if not isinstance(value, str) or not value.strip():
        raise RecordError("missing_field" if value in (None, "") else "bad_timestamp", field,
                          f"expected a local time like 2023-03-10T21:37:42, got {value!r}")
    text = value.strip()
    if not _NAIVE.match(text):
        raise RecordError("bad_timestamp", field, f"expected a local time like 2023-03-10T21:37:42, got {value!r}")
    try:
        naive = datetime.fromisoformat(text)
    except ValueError:
        raise RecordError("bad_timestamp", field, f"not a valid date/time: {value!r}") from None
    return (naive + _minutes(minutes_west)).replace(tzinfo=UTC)  # local + minutes west = UTC


_MINUTES: dict[int, timedelta] = {}


def _minutes(count: int) -> timedelta:
    """A cached ``timedelta(minutes=count)``: every interval of a page has the same offset."""
    delta = _MINUTES.get(count)
    if delta is None:
        delta = _MINUTES[count] = timedelta(minutes=count)
    return delta


_HMS = re.compile(r"^(\d+):([0-5]\d):([0-5]\d)$")


def parse_hms_duration(value: object, *, field: str) -> timedelta:
    """``"32:17:04"``: hours are not capped at 24 (Kore.ai intervals can span days)."""
    match = _HMS.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise RecordError("bad_duration", field, f"expected H:MM:SS, got {value!r}")
    hours, minutes, seconds = (int(part) for part in match.groups())
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)
