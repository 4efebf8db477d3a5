"""The generator's opt-in effective dates: dated workers and zones, the rest unchanged."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json

import pytest
from tap_deel.derived import is_active, last_day
from tap_deel.settings import DEFAULT_ACTIVE_HIRING_STATUSES
from target_jumpcloud.zones import find_zone

from tests.emulators.workforce import (
    EXOTIC_ZONES,
    UNKNOWN_ZONES,
    EffectiveDates,
    Workforce,
    add_effective_dates,
    generate_workforce,
    primary_employment,
)

TODAY = dt.date(2027, 1, 1)
ACTIVE = frozenset(DEFAULT_ACTIVE_HIRING_STATUSES)


def digest(workforce: Workforce) -> str:
    parts = [
        workforce.people,
        workforce.legal_entities,
        workforce.departments,
        workforce.teams,
        workforce.groups,
        workforce.working_locations,
        workforce.organizations,
    ]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


@pytest.mark.parametrize(
    ("n", "seed", "expected"),
    [
        (0, 0, "15cbb3c16fdc2af8"),
        (1, 5, "d23b960a07c35411"),
        (150, 31, "072bd09c29d51faa"),
        (1000, 7, "1b11ef1d3c22f97b"),
        (3000, 1, "d42db6d3caf6b83a"),
    ],
)
def test_workforces_without_the_option_are_byte_for_byte_as_before(
    n: int, seed: int, expected: str
) -> None:
    """Digests taken from the generator before effective dates existed."""
    assert digest(generate_workforce(n, seed)) == expected


def test_the_counts_and_dates_of_the_dated_workers() -> None:
    workforce = generate_workforce(1000, 7, effective_dates=EffectiveDates(today=TODAY))
    by_id = {p["id"]: p for p in workforce.people}
    effective = workforce.effective
    assert [len(effective[k]) for k in ("future_starters", "future_leavers", "past_leavers")] == [
        20,
        10,
        5,
    ]
    assert len({i for ids in effective.values() for i in ids}) == 35  # 35 different people
    for person_id in effective["future_starters"]:
        person = by_id[person_id]
        start = dt.date.fromisoformat(person["start_date"])
        assert TODAY < start <= TODAY + dt.timedelta(days=45)
        assert person["hiring_status"] == "onboarding"
        assert is_active(person, ACTIVE)  # so the sync creates them (window permitting)
        employment = primary_employment(person)
        assert employment is not None
        assert employment["start_date"] == person["start_date"]
        assert last_day(person) is None
    for person_id in effective["future_leavers"]:
        person = by_id[person_id]
        ends = last_day(person)
        assert ends is not None
        assert TODAY < dt.date.fromisoformat(ends) <= TODAY + dt.timedelta(days=30)
        assert is_active(person, ACTIVE)
    for person_id in effective["past_leavers"]:
        person = by_id[person_id]
        ends = last_day(person)
        assert ends is not None
        assert TODAY - dt.timedelta(days=5) <= dt.date.fromisoformat(ends) < TODAY
        assert is_active(person, ACTIVE)  # Deel lags behind the date


def test_zones_come_from_everywhere_and_the_table_knows_them() -> None:
    options = EffectiveDates(today=TODAY, exotic_zones=0.5, unknown_zones=0.05)
    workforce = generate_workforce(2000, 3, effective_dates=options)
    zones = [p["timezone"] for p in workforce.people]
    assert {"Pacific/Kiritimati", "Pacific/Pago_Pago", "EST", "CET", "IST"} <= set(zones)
    assert 0.45 < sum(z in EXOTIC_ZONES for z in zones) / len(zones) < 0.6
    unknown = [z for z in zones if find_zone(z) is None]
    assert set(unknown) == set(UNKNOWN_ZONES)
    assert 0.03 < len(unknown) / len(zones) < 0.07
    for person in workforce.people:
        employment = primary_employment(person)
        assert employment is not None
        assert employment["timezone"] == person["timezone"]


def test_the_option_is_deterministic_and_changes_only_dates_and_zones() -> None:
    plain = generate_workforce(600, 11)
    options = EffectiveDates(today=TODAY)
    dated = generate_workforce(600, 11, effective_dates=options)
    again = add_effective_dates(copy.deepcopy(plain), options)
    assert dated.people == again.people
    assert dated.effective == again.effective
    touched = {i for ids in dated.effective.values() for i in ids}
    allowed = {
        "start_date",
        "hiring_status",
        "new_hiring_status",
        "person_status",
        "active_worker_termination_status",
        "direct_employee_termination_last_day",
        "timezone",
        "employments",
    }
    for before, after in zip(plain.people, dated.people, strict=True):
        changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
        if before["id"] in touched:
            assert changed <= allowed
        else:
            assert changed <= {"timezone", "employments"}
    assert plain.effective == {}


def test_small_workforces_and_no_candidates() -> None:
    tiny = generate_workforce(3, 1, effective_dates=EffectiveDates(today=TODAY))
    assert sum(len(ids) for ids in tiny.effective.values()) == 0  # 2% of 3 rounds to 0
    empty = generate_workforce(0, 1, effective_dates=EffectiveDates(today=TODAY))
    assert empty.people == []
