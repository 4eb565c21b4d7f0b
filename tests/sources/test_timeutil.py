"""Time at the edge: offsets, DST days (America/New_York 2025-03-09 and 2025-11-02), odd formats."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from connector.sources.timeutil import (
    RecordError,
    day_bounds_utc,
    iso_z,
    koreai_offset,
    koreai_offsets_of_day,
    local_date,
    local_to_utc,
    parse_epoch_seconds,
    parse_hms_duration,
    parse_iso_utc,
    parse_west_offset_local,
)
from tests.sources.helpers import utc

NY = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")


def test_iso_with_z_and_offset_become_utc() -> None:
    assert parse_iso_utc("2019-12-19T15:47:07.077Z", field="start") == utc(2019, 12, 19, 15, 47, 7, 77000)
    assert parse_iso_utc("2019-12-19T10:47:07-05:00", field="start") == utc(2019, 12, 19, 15, 47, 7)


@pytest.mark.parametrize("value", ["2019-12-19T15:47:07", "yesterday", 17, None, ""])
def test_iso_without_zone_or_garbage_is_refused(value: object) -> None:
    with pytest.raises(RecordError) as caught:
        parse_iso_utc(value, field="start")
    assert caught.value.field == "start"


def test_epoch_seconds_as_string() -> None:
    assert parse_epoch_seconds("1748433437", field="event_epoch") == utc(2025, 5, 28, 11, 57, 17)


@pytest.mark.parametrize("value,kind", [("", "missing_field"), ("abc", "bad_timestamp"),
                                        ("1748433437000", "bad_timestamp"), (True, "bad_timestamp")])
def test_bad_epoch(value: object, kind: str) -> None:
    with pytest.raises(RecordError) as caught:
        parse_epoch_seconds(value, field="event_epoch")
    assert caught.value.kind == kind


def test_iso_z_prints_milliseconds_and_z() -> None:
    assert iso_z(utc(2025, 3, 9, 7, 30)) == "2025-03-09T07:30:00.000Z"
    with pytest.raises(ValueError):
        iso_z(datetime(2025, 3, 9))


def test_spring_forward_day_is_23_hours_and_skipped_time_reads_with_old_offset() -> None:
    start, end = day_bounds_utc(date(2025, 3, 9), NY)
    assert (start, end) == (utc(2025, 3, 9, 5), utc(2025, 3, 10, 4))
    assert end - start == timedelta(hours=23)
    assert local_to_utc(datetime(2025, 3, 9, 1, 59), NY) == utc(2025, 3, 9, 6, 59)
    assert local_to_utc(datetime(2025, 3, 9, 2, 30), NY) == utc(2025, 3, 9, 7, 30)  # 02:30 does not exist
    assert local_to_utc(datetime(2025, 3, 9, 3, 0), NY) == utc(2025, 3, 9, 7, 0)


def test_fall_back_day_is_25_hours_and_repeated_hour_reads_first() -> None:
    start, end = day_bounds_utc(date(2025, 11, 2), NY)
    assert (start, end) == (utc(2025, 11, 2, 4), utc(2025, 11, 3, 5))
    assert local_to_utc(datetime(2025, 11, 2, 1, 30), NY) == utc(2025, 11, 2, 5, 30)  # EDT, the first 01:30
    assert local_to_utc(datetime(2025, 11, 2, 2, 30), NY) == utc(2025, 11, 2, 7, 30)


def test_local_date_across_midnight() -> None:
    assert local_date(utc(2025, 3, 10, 3, 59), NY) == date(2025, 3, 9)
    assert local_date(utc(2025, 3, 10, 4, 0), NY) == date(2025, 3, 10)


def test_koreai_offset_has_inverted_sign() -> None:
    assert koreai_offset(NY, utc(2025, 1, 15, 12)) == 300
    assert koreai_offset(NY, utc(2025, 7, 15, 12)) == 240
    assert koreai_offset(KOLKATA, utc(2025, 7, 15, 12)) == -330


def test_koreai_offsets_of_dst_days() -> None:
    assert koreai_offsets_of_day(NY, date(2025, 3, 8)) == [300]
    assert koreai_offsets_of_day(NY, date(2025, 3, 9)) == [300, 240]
    assert koreai_offsets_of_day(NY, date(2025, 11, 2)) == [240, 300]
    assert koreai_offsets_of_day(NY, date(2025, 11, 3)) == [300]
    assert koreai_offsets_of_day(KOLKATA, date(2025, 11, 2)) == [-330]


def test_west_offset_local_times() -> None:
    assert parse_west_offset_local("2023-03-10T21:37:42", -330, field="startTime") == utc(2023, 3, 10, 16, 7, 42)
    assert parse_west_offset_local("2025-11-02T01:30:00", 240, field="startTime") == utc(2025, 11, 2, 5, 30)
    assert parse_west_offset_local("2025-11-02T01:30:00", 300, field="startTime") == utc(2025, 11, 2, 6, 30)
    for bad in ("-", "2023-03-10T21:37:42Z", "2023-02-30T00:00:00", None):
        with pytest.raises(RecordError):
            parse_west_offset_local(bad, 300, field="startTime")


def test_durations_beyond_24_hours() -> None:
    assert parse_hms_duration("32:17:04", field="duration") == timedelta(hours=32, minutes=17, seconds=4)
    assert parse_hms_duration("00:00:55", field="duration") == timedelta(seconds=55)
    for bad in ("-", "1:2", "00:61:00", 5):
        with pytest.raises(RecordError):
            parse_hms_duration(bad, field="duration")


@pytest.mark.parametrize("text", ["2023-03-10T21:37:42", "2023-03-10 23:59:59.5", "2023-12-31T23:30:00",
                                  "1969-12-31T23:59:59.000001", " 2023-03-10T21:37:42.123999 "])
def test_west_offset_parts_are_the_moment_its_millis_its_text_and_its_micros_cached_or_not(text: str) -> None:
    from connector.model import to_millis
    from connector.sources.timeutil import iso_z, west_offset_local_parts, west_offset_local_times

    first = west_offset_local_parts(text, 360, field="startTime")
    moment = parse_west_offset_local(text, 360, field="startTime")
    micros = (moment - utc(1970, 1, 1)) // timedelta(microseconds=1)
    assert first == (moment, to_millis(moment), iso_z(moment), micros)
    assert west_offset_local_parts(text, 360, field="startTime") is first  # the second read is the cached one
    assert west_offset_local_times(360)[text] is first  # the offset's cache, looked up by the text as sent
    assert west_offset_local_parts(text, -60, field="startTime")[1] == first[1] - 420 * 60_000
    with pytest.raises(RecordError):
        west_offset_local_parts(text + "Z", 360, field="startTime")
    assert text + "Z" not in west_offset_local_times(360)  # only valid texts are kept
