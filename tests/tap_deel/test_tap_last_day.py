"""The derived `last_day`: pure rules, then through the tap over loopback."""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tap_deel.derived import date_part, last_day, unreadable_last_days

from tests.emulators.workforce import EffectiveDates, generate_workforce, terminate
from tests.tap_deel.tap_helpers import run_tap, tap_config, validate_records

if TYPE_CHECKING:
    from tests.emulators.base import EmulatorServer


def employment(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": "c1", "is_ended": False, "termination_last_day": None}
    base.update(fields)
    return base


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-05-29", "2026-05-29"),
        ("2026-05-29T00:00:00.000Z", "2026-05-29"),
        ("2026-05-29T23:30:00-05:00", "2026-05-29"),  # as written: never moved to another zone
        ("2026-05-29 17:00:00+02:00", "2026-05-29"),
        ("  2026-05-29T00:00:00Z  ", "2026-05-29"),
        ("2024-02-29", "2024-02-29"),
        ("2026-02-30", None),  # no such day
        ("2026-13-01T00:00:00Z", None),
        ("2026-5-29", None),
        ("20260529", None),
        ("2026-05-29x", None),
        ("soon", None),
        ("", None),
        ("   ", None),
        (None, None),
        (20260529, None),
        (["2026-05-29"], None),
    ],
)
def test_date_part(value: object, expected: str | None) -> None:
    assert date_part(value) == expected


def test_the_direct_employee_last_day_comes_first() -> None:
    person = {
        "direct_employee_termination_last_day": "2026-06-30T00:00:00.000Z",
        "employments": [employment(termination_last_day="2026-07-15T00:00:00.000Z")],
    }
    assert last_day(person) == "2026-06-30"


def test_else_the_primary_employments_last_day() -> None:
    person = {
        "direct_employee_termination_last_day": None,
        "employments": [
            employment(id="old", is_ended=True, termination_last_day="2024-01-31T00:00:00Z"),
            employment(id="now", termination_last_day="2026-07-15T00:00:00.000Z"),
        ],
    }
    assert last_day(person) == "2026-07-15"  # the employment not ended, not the old one


def test_a_re_hire_does_not_inherit_the_ended_contracts_last_day() -> None:
    person = {
        "employments": [
            employment(id="old", is_ended=True, termination_last_day="2024-01-31T00:00:00Z"),
            employment(id="now"),
        ]
    }
    assert last_day(person) is None


def test_all_ended_uses_the_first_employment() -> None:
    person = {
        "employments": [
            employment(id="a", is_ended=True, termination_last_day="2025-03-31T00:00:00Z"),
            employment(id="b", is_ended=True, termination_last_day="2025-09-30T00:00:00Z"),
        ]
    }
    assert last_day(person) == "2025-03-31"


def test_no_last_day_anywhere_is_null() -> None:
    assert last_day({}) is None
    assert last_day({"employments": None}) is None
    assert last_day({"employments": [None, "x"]}) is None
    assert last_day({"employments": [employment()]}) is None


def test_an_unreadable_value_counts_as_absent_and_is_named() -> None:
    contract = employment(termination_last_day="2026-07-15T00:00:00Z")
    person = {"direct_employee_termination_last_day": "TBD", "employments": [contract]}
    assert last_day(person) == "2026-07-15"
    assert unreadable_last_days(person) == ["direct_employee_termination_last_day"]
    contract["termination_last_day"] = "2026-02-30T00:00:00Z"
    assert last_day(person) is None
    assert unreadable_last_days(person) == [
        "direct_employee_termination_last_day",
        "employments[].termination_last_day",
    ]
    assert unreadable_last_days({"direct_employee_termination_last_day": "  "}) == []


@given(
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2199, 12, 31)),
    st.sampled_from(["", "T00:00:00Z", "T00:00:00.000Z", "T23:59:59+14:00", " 08:00", "T12:00"]),
    st.booleans(),
)
def test_any_date_or_date_time_gives_its_own_date(
    day: dt.date, suffix: str, on_employment: bool
) -> None:
    text = day.isoformat() + suffix
    person: dict[str, Any] = (
        {"employments": [employment(termination_last_day=text)]}
        if on_employment
        else {"direct_employee_termination_last_day": text}
    )
    assert last_day(person) == day.isoformat()


# -- through the tap --------------------------------------------------------------------------


@pytest.fixture
def server(deel_emulator: EmulatorServer) -> EmulatorServer:
    deel_emulator.app.rate_limit_enabled = False
    return deel_emulator


def test_the_tap_emits_last_day_on_both_paths_and_warns_on_a_mistyped_one(
    server: EmulatorServer, deel_api_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    workforce = generate_workforce(60, seed=12)
    people = workforce.people
    leaver = terminate(copy.deepcopy(people[0]), last_day="2027-01-08", at="2026-12-01T10:00:00Z")
    leaver["id"] = "leaver-direct"
    leaver["hiring_type"] = "direct_employee"
    leaver["direct_employee_termination_last_day"] = "2027-01-08T00:00:00.000Z"
    mistyped = copy.deepcopy(people[1])
    mistyped["id"] = "mistyped"
    mistyped["direct_employee_termination_last_day"] = "next friday"
    server.app.set_workforce(workforce)
    server.app.add_person(leaver)
    server.app.add_person(mistyped)
    config = tap_config(deel_api_url, page_size=25)

    fast = run_tap(config, ["people"])
    slow = run_tap(config, ["people"], sdk_writer=True)

    assert json.dumps(fast.records["people"]) == json.dumps(slow.records["people"])
    assert validate_records(fast) == len(people) + 2
    by_id = {record["id"]: record for record in fast.records["people"]}
    assert by_id["leaver-direct"]["last_day"] == "2027-01-08"
    assert by_id["mistyped"]["last_day"] == last_day(mistyped)  # (the employment's, if any)
    assert "Person mistyped: direct_employee_termination_last_day holds no readable date" in (
        caplog.text
    )
    for person in people:  # the generated terminated people carry their contracts' last day
        assert by_id[person["id"]]["last_day"] == last_day(person)
    assert any(by_id[p["id"]]["last_day"] for p in people)
    assert list(by_id["leaver-direct"])[-4:] == ["work_email", "active", "team", "last_day"]


def test_the_dated_workforce_reaches_the_target_with_its_last_days_and_zones(
    server: EmulatorServer, deel_api_url: str
) -> None:
    today = dt.date(2027, 1, 1)
    options = EffectiveDates(today=today, future_leavers=0.05, past_leavers=0.05)
    workforce = generate_workforce(300, 4, effective_dates=options)
    server.app.set_workforce(workforce)

    records = {r["id"]: r for r in run_tap(tap_config(deel_api_url), ["people"]).records["people"]}

    for person_id in workforce.effective["future_leavers"]:
        assert dt.date.fromisoformat(records[person_id]["last_day"]) > today
        assert records[person_id]["active"] is True
    for person_id in workforce.effective["past_leavers"]:
        assert dt.date.fromisoformat(records[person_id]["last_day"]) < today
        assert records[person_id]["active"] is True
    for person in workforce.people:
        assert records[person["id"]]["timezone"] == person["timezone"]  # as Deel sends it
        assert records[person["id"]]["start_date"] == person["start_date"]
