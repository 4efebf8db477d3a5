"""The effective-dating settings: defaults, every accepted spelling, every refusal."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from target_jumpcloud.settings.effective_dating import (
    EffectiveDating,
    read_effective_dating,
)
from target_jumpcloud.settings.sync_settings import ConfigError
from target_jumpcloud.singer.config_schema import EFFECTIVE_DATING_SETTINGS
from target_jumpcloud.zones import zone_label


def parse_effective_dating(config: dict[str, Any], *, dry_run: bool) -> EffectiveDating:
    """As the settings parser calls it: the problems join its own in one ConfigError."""
    settings, problems = read_effective_dating(config, dry_run=dry_run)
    if problems:
        raise ConfigError(*problems)
    return settings


NAMES = (
    "effective_dating",
    "create_days_before_start",
    "activate_on_start_date",
    "activation_time",
    "suspension_time",
    "default_timezone",
    "as_of",
)


def test_a_config_without_them_gets_the_defaults_and_nothing_changes() -> None:
    settings = parse_effective_dating({"api_key": "k", "unrelated": 1}, dry_run=False)
    assert settings == EffectiveDating()
    assert settings.enabled is False
    assert settings.create_days_before_start is None
    assert settings.activate_on_start_date is False
    assert settings.activation_time == dt.time(9, 0)
    assert settings.suspension_time == dt.time(23, 59)
    assert settings.default_timezone_name == "UTC"
    assert settings.as_of is None


def test_blank_values_count_as_absent() -> None:
    """Meltano hands unset settings over as empty environment strings."""
    assert parse_effective_dating(dict.fromkeys(NAMES, ""), dry_run=False) == EffectiveDating()
    assert parse_effective_dating(dict.fromkeys(NAMES), dry_run=False) == EffectiveDating()


@pytest.mark.parametrize(
    ("config", "field", "expected"),
    [
        ({"effective_dating": True}, "enabled", True),
        ({"effective_dating": "TRUE"}, "enabled", True),
        ({"effective_dating": " false "}, "enabled", False),
        ({"create_days_before_start": 0}, "create_days_before_start", 0),
        ({"create_days_before_start": 14}, "create_days_before_start", 14),
        ({"create_days_before_start": " 30 "}, "create_days_before_start", 30),
        ({"activate_on_start_date": "true"}, "activate_on_start_date", True),
        ({"activation_time": "08:30"}, "activation_time", dt.time(8, 30)),
        ({"activation_time": "7:05"}, "activation_time", dt.time(7, 5)),
        ({"activation_time": "00:00"}, "activation_time", dt.time(0, 0)),
        ({"suspension_time": "18:00"}, "suspension_time", dt.time(18, 0)),
        ({"suspension_time": "23:59"}, "suspension_time", dt.time(23, 59)),
    ],
)
def test_accepted_values(config: dict[str, Any], field: str, expected: object) -> None:
    assert getattr(parse_effective_dating(config, dry_run=False), field) == expected


@pytest.mark.parametrize(
    ("value", "zone"),
    [
        ("Africa/Lagos", "Africa/Lagos"),
        ("europe/berlin", "Europe/Berlin"),
        ("EST", "America/New_York"),  # the table applies here too
        ("UTC", "UTC"),
    ],
)
def test_default_timezone(value: str, zone: str) -> None:
    settings = parse_effective_dating({"default_timezone": value}, dry_run=False)
    assert zone_label(settings.default_timezone) == zone
    assert settings.default_timezone_name == zone


def test_as_of_is_an_instant_with_its_offset_for_dry_runs_only() -> None:
    settings = parse_effective_dating({"as_of": "2027-01-04T06:00:00+01:00"}, dry_run=True)
    assert settings.as_of == dt.datetime(2027, 1, 4, 5, 0, tzinfo=dt.UTC)
    clock = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)
    assert settings.plan_time(clock) == settings.as_of
    assert EffectiveDating().plan_time(clock) == clock
    with pytest.raises(ValueError, match="aware"):
        EffectiveDating().plan_time(dt.datetime(2026, 12, 1))
    _, problems = read_effective_dating({"as_of": "2027-01-04T05:00:00Z"}, dry_run=False)
    assert problems == [
        (
            "as_of: allowed only with dry_run: true (it previews a run as of another time, "
            "so nothing may be written)"
        )
    ]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"effective_dating": "yes"}, "effective_dating: expected true or false, got 'yes'"),
        ({"effective_dating": 1}, "effective_dating: expected true or false, got 1"),
        ({"activate_on_start_date": "on"}, "activate_on_start_date: expected true or false"),
        ({"create_days_before_start": -1}, "create_days_before_start: must not be negative"),
        ({"create_days_before_start": "two"}, "create_days_before_start: expected a whole"),
        ({"create_days_before_start": 1.5}, "create_days_before_start: expected a whole"),
        ({"create_days_before_start": True}, "create_days_before_start: expected a whole"),
        ({"create_days_before_start": "-3"}, "create_days_before_start: expected a whole"),
        ({"activation_time": "9am"}, "activation_time: expected a local time HH:MM"),
        ({"activation_time": "24:00"}, "activation_time: expected a local time HH:MM"),
        ({"activation_time": "09:60"}, "activation_time: expected a local time HH:MM"),
        ({"activation_time": "09:00:00"}, "activation_time: expected a local time HH:MM"),
        ({"activation_time": 900}, "activation_time: expected a local time HH:MM"),
        ({"suspension_time": "midnight"}, "suspension_time: expected a local time HH:MM"),
        ({"default_timezone": "Mars/Olympus"}, "default_timezone: expected an IANA time zone"),
        ({"default_timezone": 5}, "default_timezone: expected an IANA time zone"),
        ({"as_of": "2027-01-04T05:00:00"}, "as_of: expected an ISO 8601 date-time with its off"),
        ({"as_of": "2027-01-04"}, "as_of: expected an ISO 8601 date-time with its offset"),
        ({"as_of": "Monday"}, "as_of: expected an ISO 8601 date-time with its offset"),
    ],
)
def test_a_bad_value_is_one_problem_naming_the_setting(
    config: dict[str, Any], message: str
) -> None:
    settings, problems = read_effective_dating(config, dry_run=True)
    assert len(problems) == 1
    assert problems[0].startswith(message)
    assert settings == EffectiveDating()  # the bad value took its default


def test_every_problem_is_reported_at_once_one_a_line() -> None:
    config = {
        "effective_dating": "maybe",
        "activation_time": "25:00",
        "default_timezone": "Nowhere/Land",
        "as_of": "2027-01-04T05:00:00Z",
    }
    settings, problems = read_effective_dating(config, dry_run=False)
    assert [line.split(":")[0] for line in problems] == [
        "effective_dating",
        "activation_time",
        "default_timezone",
        "as_of",
    ]
    assert settings.activation_time == dt.time(9, 0)  # a bad one takes its default
    with pytest.raises(ConfigError) as caught:
        parse_effective_dating(config, dry_run=False)
    assert caught.value.problems == tuple(problems)


def test_the_declared_settings_are_exactly_these() -> None:
    declared = [prop.name for prop in EFFECTIVE_DATING_SETTINGS]
    assert declared == list(NAMES)
    schema = {prop.name: prop.to_dict()[prop.name] for prop in EFFECTIVE_DATING_SETTINGS}
    assert schema["activation_time"]["default"] == "09:00"
    assert schema["suspension_time"]["default"] == "23:59"
    assert schema["default_timezone"]["default"] == "UTC"
    assert schema["effective_dating"]["default"] is False
