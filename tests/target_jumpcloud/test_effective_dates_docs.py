"""docs/effective-dates.md says what the code does: the table, the settings, the examples."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from target_jumpcloud.model import UserState
from target_jumpcloud.settings.effective_dating import EffectiveDating
from target_jumpcloud.singer.config_schema import EFFECTIVE_DATING_SETTINGS
from target_jumpcloud.sync.schedules import Decision, decide, read_worker_dates
from target_jumpcloud.zones import abbreviation_rows, find_zone, format_instant, local_instant

PAGE = Path(__file__).resolve().parents[2] / "docs" / "effective-dates.md"
TEXT = PAGE.read_text(encoding="utf-8")


def table_rows(text: str) -> list[list[str]]:
    return [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith("|") and not line.startswith("|---")
    ]


def test_the_abbreviation_table_is_the_codes() -> None:
    block = re.search(
        r"<!-- abbreviations: begin -->\n(.*?)<!-- abbreviations: end -->", TEXT, re.S
    )
    assert block is not None
    rows = table_rows(block.group(1))
    assert rows[0] == ["Abbreviations", "Zone"]
    assert [(names, zone.strip("`")) for names, zone in rows[1:]] == abbreviation_rows()


def test_the_settings_table_names_every_setting_with_its_default() -> None:
    section = TEXT.split("## Settings", 1)[1].split("\n## ", 1)[0]
    rows = {row[0].strip("`"): row[1] for row in table_rows(section)[1:]}
    assert list(rows) == [prop.name for prop in EFFECTIVE_DATING_SETTINGS]
    defaults = EffectiveDating()
    assert rows["activation_time"] == f"`{defaults.activation_time:%H:%M}`"
    assert rows["suspension_time"] == f"`{defaults.suspension_time:%H:%M}`"
    assert rows["default_timezone"] == f"`{defaults.default_timezone_name}`"
    assert rows["effective_dating"] == "`false`"


@pytest.mark.parametrize(
    ("zone", "day", "clock", "shown"),
    [
        ("Africa/Lagos", "2027-01-04", "09:00", "2027-01-04T08:00:00Z"),
        ("EST", "2027-01-08", "23:59", "2027-01-09T04:59:00Z"),
        ("EST", "2027-01-15", "23:59", "2027-01-16T04:59:00Z"),
        ("Africa/Lagos", "2027-01-11", "09:00", "2027-01-11T08:00:00Z"),
        ("Europe/Berlin", "2027-03-28", "09:00", "2027-03-28T07:00:00Z"),
        ("Europe/Berlin", "2027-03-28", "02:30", "2027-03-28T01:30:00Z"),
        ("Europe/Berlin", "2027-10-31", "02:30", "2027-10-31T00:30:00Z"),
        ("America/New_York", "2027-03-14", "09:00", "2027-03-14T13:00:00Z"),
        ("America/New_York", "2027-03-14", "23:59", "2027-03-15T03:59:00Z"),
        ("America/New_York", "2027-11-07", "01:30", "2027-11-07T05:30:00Z"),
        ("Pacific/Kiritimati", "2027-01-04", "09:00", "2027-01-03T19:00:00Z"),
        ("Pacific/Pago_Pago", "2027-01-04", "09:00", "2027-01-04T20:00:00Z"),
    ],
)
def test_every_instant_on_the_page_is_computed_by_the_code(
    zone: str, day: str, clock: str, shown: str
) -> None:
    found = find_zone(zone)
    assert found is not None
    instant = local_instant(dt.date.fromisoformat(day), dt.time.fromisoformat(clock), found)
    assert format_instant(instant) == shown
    assert f"`{shown}`" in TEXT


def test_the_lagos_example_run_by_run() -> None:
    settings = EffectiveDating(
        enabled=True, activate_on_start_date=True, create_days_before_start=3
    )
    ada = read_worker_dates("2027-01-04", None, "Africa/Lagos", default_timezone=dt.UTC)

    def at(text: str, state: UserState | None = None) -> Decision:
        now = dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
        return decide(ada, active=True, user_state=state, jobs=(), settings=settings, now=now)

    first = at("2026-12-28T01:00")
    assert first.skip_reason == "starts on 2027-01-04; created from 2027-01-01"
    assert first.skip_reason in TEXT
    created = at("2027-01-01T01:00")
    assert created.create_state is UserState.STAGED
    assert created.report_schedule() == [
        {"state": "ACTIVATED", "at": "2027-01-04T08:00:00Z", "change": "scheduled"}
    ]
    assert '[{"state": "ACTIVATED", "at": "2027-01-04T08:00:00Z", "change": "scheduled"}]' in TEXT
