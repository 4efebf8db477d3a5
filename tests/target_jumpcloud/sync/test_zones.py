"""Time zones for effective dates: the abbreviation table, IANA names, DST-safe instants."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from target_jumpcloud.zones import (
    ABBREVIATIONS,
    abbreviation_rows,
    find_zone,
    format_instant,
    local_date,
    local_instant,
    parse_instant,
    zone_label,
)

UTC = dt.UTC


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "zone"),
    [
        ("UTC", "UTC"),
        ("GMT", "UTC"),
        ("EST", "America/New_York"),
        ("EDT", "America/New_York"),
        ("CST", "America/Chicago"),
        ("MST", "America/Denver"),
        ("PDT", "America/Los_Angeles"),
        ("BST", "Europe/London"),
        ("CET", "Europe/Paris"),
        ("CEST", "Europe/Paris"),
        ("EET", "Europe/Athens"),
        ("WAT", "Africa/Lagos"),
        ("EAT", "Africa/Nairobi"),
        ("SAST", "Africa/Johannesburg"),
        ("GST", "Asia/Dubai"),
        ("IST", "Asia/Kolkata"),
        ("SGT", "Asia/Singapore"),
        ("HKT", "Asia/Hong_Kong"),
        ("JST", "Asia/Tokyo"),
        ("KST", "Asia/Seoul"),
        ("AEDT", "Australia/Sydney"),
        ("NZST", "Pacific/Auckland"),
        ("BRT", "America/Sao_Paulo"),
        ("est", "America/New_York"),  # abbreviations in any case
        (" IST ", "Asia/Kolkata"),
        ("Africa/Lagos", "Africa/Lagos"),
        ("africa/lagos", "Africa/Lagos"),  # IANA names exactly, then ignoring case
        ("AMERICA/NEW_YORK", "America/New_York"),
        ("Pacific/Kiritimati", "Pacific/Kiritimati"),
        ("Etc/GMT-14", "Etc/GMT-14"),
    ],
)
def test_a_zone_name_is_an_abbreviation_first_then_an_iana_name(name: str, zone: str) -> None:
    found = find_zone(name)
    assert found is not None
    assert zone_label(found) == zone


def test_est_means_new_york_with_its_summer_time_not_the_fixed_legacy_zone() -> None:
    est = find_zone("EST")
    assert est is not None
    july = dt.datetime(2027, 7, 1, 12, tzinfo=est)
    assert july.utcoffset() == dt.timedelta(hours=-4)  # EDT; the legacy "EST" zone says -5
    assert zoneinfo.ZoneInfo("EST").utcoffset(july.replace(tzinfo=None)) == dt.timedelta(hours=-5)


@pytest.mark.parametrize(
    "name",
    ["", "   ", "Mars/Olympus", "America", "America/", "/etc/passwd", "../etc", ".", "a\x00b",
     "UTC+1", "x" * 200, "Europe/Berlin/extra"],
)  # fmt: skip
def test_anything_else_is_no_zone(name: str) -> None:
    assert find_zone(name) is None


def test_the_table_is_exactly_the_contracts_and_every_zone_exists() -> None:
    assert len(ABBREVIATIONS) == 29
    assert all(name == name.upper() for name in ABBREVIATIONS)
    for zone in set(ABBREVIATIONS.values()):
        assert zoneinfo.ZoneInfo(zone).key == zone
    rows = abbreviation_rows()
    assert rows[0] == ("UTC, GMT", "UTC")
    assert ("AEST, AEDT", "Australia/Sydney") in rows
    assert sum(len(names.split(", ")) for names, _ in rows) == len(ABBREVIATIONS)


def test_zones_come_from_the_tzdata_package_where_the_system_has_none() -> None:
    """`tzdata` is a dependency: with no system zone database, names still resolve."""
    find_zone.cache_clear()
    zoneinfo.reset_tzpath(to=[])
    zoneinfo.ZoneInfo.clear_cache()
    try:
        lagos = find_zone("Africa/Lagos")
        assert lagos is not None
        assert local_instant(dt.date(2027, 1, 4), dt.time(9), lagos) == utc("2027-01-04T08:00")
    finally:
        zoneinfo.reset_tzpath()
        zoneinfo.ZoneInfo.clear_cache()
        find_zone.cache_clear()


# -- local times to instants ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "clock", "instant"),
    [
        # Ordinary days.
        ("Africa/Lagos", "2027-01-04", "09:00", "2027-01-04T08:00"),
        ("America/New_York", "2027-01-08", "23:59", "2027-01-09T04:59"),
        ("Asia/Kolkata", "2027-01-04", "09:00", "2027-01-04T03:30"),
        ("Pacific/Kiritimati", "2027-01-04", "09:00", "2027-01-03T19:00"),  # UTC+14
        ("Pacific/Pago_Pago", "2027-01-04", "09:00", "2027-01-04T20:00"),  # UTC-11
        # Europe/Berlin, spring forward (2027-03-28, 02:00 -> 03:00).
        ("Europe/Berlin", "2027-03-28", "09:00", "2027-03-28T07:00"),  # already summer time
        ("Europe/Berlin", "2027-03-28", "01:59", "2027-03-28T00:59"),
        ("Europe/Berlin", "2027-03-28", "02:30", "2027-03-28T01:30"),  # no 02:30: it is 03:30
        ("Europe/Berlin", "2027-03-28", "03:00", "2027-03-28T01:00"),
        ("Europe/Berlin", "2027-03-27", "23:59", "2027-03-27T22:59"),
        # Europe/Berlin, fall back (2027-10-31, 03:00 -> 02:00): 02:30 happens twice.
        ("Europe/Berlin", "2027-10-31", "02:30", "2027-10-31T00:30"),  # the first one
        ("Europe/Berlin", "2027-10-31", "09:00", "2027-10-31T08:00"),  # winter time again
        # America/New_York, spring forward (2027-03-14, 02:00 -> 03:00).
        ("America/New_York", "2027-03-14", "09:00", "2027-03-14T13:00"),
        ("America/New_York", "2027-03-14", "02:30", "2027-03-14T07:30"),  # = 03:30 EDT
        ("America/New_York", "2027-03-14", "23:59", "2027-03-15T03:59"),
        ("America/New_York", "2027-03-13", "23:59", "2027-03-14T04:59"),
        # America/New_York, fall back (2027-11-07, 02:00 -> 01:00).
        ("America/New_York", "2027-11-07", "01:30", "2027-11-07T05:30"),  # the first (EDT)
        ("America/New_York", "2027-11-07", "09:00", "2027-11-07T14:00"),
        # A zone whose clocks fall back at midnight: 23:30 happens twice on 2027-04-03.
        ("America/Santiago", "2027-04-03", "23:30", "2027-04-04T02:30"),
    ],
)
def test_local_times_become_utc_instants(zone: str, day: str, clock: str, instant: str) -> None:
    found = find_zone(zone)
    assert found is not None
    at = local_instant(dt.date.fromisoformat(day), dt.time.fromisoformat(clock), found)
    assert at == utc(instant)
    assert at.tzinfo is UTC


ZONES = st.sampled_from(
    ["Europe/Berlin", "America/New_York", "America/Santiago", "Australia/Lord_Howe",
     "Pacific/Chatham", "Asia/Kolkata", "Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC"]
)  # fmt: skip


@given(
    ZONES,
    st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2035, 12, 31)),
    st.times(),
)
def test_an_instant_shows_its_wall_clock_or_lands_just_after_a_jump(
    zone_name: str, day: dt.date, clock: dt.time
) -> None:
    zone = find_zone(zone_name)
    assert zone is not None
    at = local_instant(day, clock, zone)
    assert at.microsecond == 0
    asked = dt.datetime.combine(day, clock.replace(microsecond=0))
    shown = at.astimezone(zone).replace(tzinfo=None)
    # The wall clock shows the time asked for, or (in a gap) as long after the jump as the
    # time asked for was after the jump's start: never earlier, never more than an hour on.
    assert dt.timedelta(0) <= shown - asked <= dt.timedelta(hours=1)
    if shown != asked:
        skipped = dt.datetime.combine(day, clock.replace(microsecond=0), zone)
        assert skipped.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != asked


def test_local_date_is_the_workers_calendar() -> None:
    instant = utc("2027-01-08T11:00")
    assert local_date(instant, find_zone("Pacific/Kiritimati")) == dt.date(2027, 1, 9)  # type: ignore[arg-type]
    assert local_date(instant, find_zone("Pacific/Pago_Pago")) == dt.date(2027, 1, 8)  # type: ignore[arg-type]


def test_instants_are_written_in_utc_with_a_z_and_read_back() -> None:
    lagos = dt.timezone(dt.timedelta(hours=1))
    assert format_instant(dt.datetime(2027, 1, 4, 9, 0, 0, 999, lagos)) == "2027-01-04T08:00:00Z"
    for text in ("2027-01-04T08:00:00Z", "2027-01-04T08:00:00.000Z", "2027-01-04T08:00:00",
                 "2027-01-04T09:00:00+01:00", " 2027-01-04T08:00:00Z "):  # fmt: skip
        assert parse_instant(text) == utc("2027-01-04T08:00")
    for bad in (None, "", "soon", 1799999999, "2027-02-30T00:00:00Z"):
        assert parse_instant(bad) is None
