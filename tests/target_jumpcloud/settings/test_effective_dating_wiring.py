"""The effective-dating settings and mapping keys as the target reads them."""

from __future__ import annotations

import datetime as dt

import pytest
from target_jumpcloud.model import DesiredUser
from target_jumpcloud.settings.sync_settings import ConfigError, parse_settings
from target_jumpcloud.singer.config_schema import CONFIG_JSONSCHEMA
from target_jumpcloud.sync.mapping import record_mapper

BASE = {"api_key": "k", "api_url": "http://127.0.0.1:1/api"}


def test_effective_dating_is_off_by_default() -> None:
    settings = parse_settings(BASE)
    assert settings.effective_dating.enabled is False
    assert settings.effective_dating.as_of is None


def test_the_settings_are_parsed_into_the_target_settings() -> None:
    settings = parse_settings(
        {
            **BASE,
            "effective_dating": "true",
            "create_days_before_start": 3,
            "activate_on_start_date": True,
            "activation_time": "08:30",
            "suspension_time": "18:00",
            "default_timezone": "Africa/Lagos",
            "dry_run": True,
            "as_of": "2027-01-04T06:00:00+01:00",
        }
    )
    effective = settings.effective_dating
    assert effective.enabled
    assert effective.create_days_before_start == 3
    assert effective.activate_on_start_date
    assert effective.activation_time == dt.time(8, 30)
    assert effective.suspension_time == dt.time(18, 0)
    assert effective.default_timezone_name == "Africa/Lagos"
    assert effective.as_of == dt.datetime(2027, 1, 4, 5, 0, tzinfo=dt.UTC)


def test_bad_values_are_reported_with_every_other_config_problem() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(
            {
                **BASE,
                "max_suspensions": "lots",
                "activation_time": "9am",
                "default_timezone": "Mars/Olympus",
                "as_of": "2027-01-04T06:00:00+01:00",  # not a dry run
            }
        )
    names = [problem.split(":")[0] for problem in caught.value.problems]
    assert sorted(names) == ["activation_time", "as_of", "default_timezone", "max_suspensions"]


def test_the_settings_are_declared_for_about_and_meltano() -> None:
    declared = CONFIG_JSONSCHEMA["properties"]
    for name in (
        "effective_dating",
        "create_days_before_start",
        "activate_on_start_date",
        "activation_time",
        "suspension_time",
        "default_timezone",
        "as_of",
    ):
        assert name in declared, name


def test_last_day_and_timezone_are_read_but_never_sent() -> None:
    mapper = record_mapper(parse_settings(BASE).mapping)
    record = {
        "id": "p1",
        "work_email": "ada@acme.example",
        "active": True,
        "first_name": "Ada",
        "last_name": "Obi",
        "start_date": "2027-01-04",
        "last_day": "2027-06-30T00:00:00.000Z",
        "timezone": " WAT ",
    }
    mapped = mapper(record, 0)
    assert isinstance(mapped, DesiredUser)
    assert (mapped.start_date, mapped.last_day, mapped.timezone) == (
        "2027-01-04",
        "2027-06-30",
        "WAT",
    )
    assert "last_day" not in mapped.attributes
    assert "timezone" not in mapped.attributes


def test_a_last_day_that_is_no_date_is_missing_with_a_warning() -> None:
    mapper = record_mapper(parse_settings(BASE).mapping)
    record = {"id": "p1", "work_email": "a@acme.example", "active": True, "last_day": "soon"}
    mapped = mapper(record, 0)
    assert isinstance(mapped, DesiredUser)
    assert mapped.last_day is None
    assert any(w.startswith("last_day ignored") for w in mapped.warnings)
