"""The derived person fields as pure functions: every edge case, plus properties."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tap_deel.derived import (
    DERIVED_FIELDS,
    add_derived_fields,
    is_active,
    primary_employment,
    team_name,
    work_email,
)
from tap_deel.settings import DEFAULT_ACTIVE_HIRING_STATUSES, HIRING_STATUSES


def employment(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": "c1", "is_ended": False}
    base.update(fields)
    return base


# -- work_email --------------------------------------------------------------------------------


def test_work_email_from_emails_wins_over_employments() -> None:
    person = {
        "emails": [
            {"type": "primary", "value": "me@gmail.com"},
            {"type": "personal", "value": "me@gmail.com"},
            {"type": "work", "value": "me@acme.io"},
        ],
        "employments": [employment(work_email="other@acme.io")],
    }
    assert work_email(person) == "me@acme.io"


def test_first_non_empty_work_entry_counts() -> None:
    person = {
        "emails": [
            {"type": "work", "value": None},
            {"type": "work", "value": "   "},
            {"type": "work", "value": "second@acme.io"},
            {"type": "work", "value": "third@acme.io"},
        ]
    }
    assert work_email(person) == "second@acme.io"


def test_work_email_is_stripped() -> None:
    assert work_email({"emails": [{"type": "work", "value": "  a@acme.io \n"}]}) == "a@acme.io"


def test_never_a_personal_or_primary_address() -> None:
    person = {
        "emails": [
            {"type": "primary", "value": "me@gmail.com"},
            {"type": "personal", "value": "me@yahoo.com"},
        ],
        "employments": [employment(email="contract@acme.io", work_email=None)],
    }
    assert work_email(person) is None


def test_no_emails_and_no_employments_gives_none() -> None:
    assert work_email({}) is None
    assert work_email({"emails": None, "employments": None}) is None
    assert work_email({"emails": [], "employments": []}) is None


def test_work_email_only_on_an_employment() -> None:
    person = {
        "emails": [{"type": "personal", "value": "me@gmail.com"}],
        "employments": [employment(work_email="me@acme.io")],
    }
    assert work_email(person) == "me@acme.io"


def test_primary_employment_work_email_comes_first() -> None:
    # The first employment is ended, so the second one is primary and is checked first.
    person = {
        "employments": [
            employment(id="old", is_ended=True, work_email="old@acme.io"),
            employment(id="new", is_ended=False, work_email="new@acme.io"),
        ]
    }
    assert work_email(person) == "new@acme.io"


def test_other_employments_follow_in_order_when_primary_has_none() -> None:
    person = {
        "employments": [
            employment(id="a", is_ended=True, work_email="a@acme.io"),
            employment(id="b", is_ended=False, work_email=""),
            employment(id="c", is_ended=True, work_email="c@acme.io"),
        ]
    }
    # Primary is b (empty); then a, then c in Deel's order.
    assert work_email(person) == "a@acme.io"


def test_all_employments_ended_primary_is_the_first() -> None:
    person = {
        "employments": [
            employment(id="a", is_ended=True, work_email=None),
            employment(id="b", is_ended=True, work_email="b@acme.io"),
        ]
    }
    assert work_email(person) == "b@acme.io"


def test_emails_type_is_compared_case_insensitively() -> None:
    assert work_email({"emails": [{"type": "Work", "value": "w@acme.io"}]}) == "w@acme.io"


def test_malformed_entries_are_skipped() -> None:
    person = {
        "emails": ["w@acme.io", None, {"type": None, "value": "x@acme.io"}, {"value": "y@a.io"}],
        "employments": ["junk", employment(work_email=42), employment(work_email="z@acme.io")],
    }
    assert work_email(person) == "z@acme.io"


# -- primary employment and team ------------------------------------------------------------------


def test_primary_employment_is_first_not_ended() -> None:
    employments = [employment(id="a", is_ended=True), employment(id="b"), employment(id="c")]
    chosen = primary_employment({"employments": employments})
    assert chosen is not None
    assert chosen["id"] == "b"


def test_primary_employment_missing_is_ended_counts_as_not_ended() -> None:
    employments = [employment(id="a", is_ended=True), {"id": "b"}]
    chosen = primary_employment({"employments": employments})
    assert chosen is not None
    assert chosen["id"] == "b"


def test_primary_employment_none_without_employments() -> None:
    assert primary_employment({"employments": []}) is None
    assert primary_employment({}) is None


def test_team_is_the_primary_employments_team() -> None:
    person = {
        "employments": [
            employment(id="a", is_ended=True, team={"id": "t1", "name": "Old Team"}),
            employment(id="b", team={"id": "t2", "name": "Data Platform"}),
        ]
    }
    assert team_name(person) == "Data Platform"


def test_team_none_when_primary_has_no_team_even_if_another_has_one() -> None:
    person = {
        "employments": [
            employment(id="a", team=None),
            employment(id="b", is_ended=True, team={"id": 384149, "name": "Other"}),
        ]
    }
    assert team_name(person) is None


@pytest.mark.parametrize("team", [None, {}, {"id": "t"}, {"name": ""}, {"name": None}, "Team"])
def test_team_none_for_missing_or_blank_names(team: Any) -> None:
    assert team_name({"employments": [employment(team=team)]}) is None


def test_team_none_without_employments() -> None:
    assert team_name({}) is None


# -- active ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", HIRING_STATUSES)
def test_active_for_each_hiring_status_with_the_default_setting(status: str) -> None:
    expected = status in {
        "active",
        "onboarding",
        "onboarding_at_risk",
        "onboarding_overdue",
        "onboarded",
        "offboarding",
    }
    assert is_active({"hiring_status": status}, DEFAULT_ACTIVE_HIRING_STATUSES) is expected


def test_inactive_and_pre_contract_states_are_not_active() -> None:
    for status in ("inactive", "invited", "draft", "pending_invite", "in_review"):
        assert not is_active({"hiring_status": status}, DEFAULT_ACTIVE_HIRING_STATUSES)


def test_missing_or_odd_hiring_status_is_not_active() -> None:
    assert is_active({}, DEFAULT_ACTIVE_HIRING_STATUSES) is False
    assert is_active({"hiring_status": None}, DEFAULT_ACTIVE_HIRING_STATUSES) is False
    assert is_active({"hiring_status": "ACTIVE"}, DEFAULT_ACTIVE_HIRING_STATUSES) is False


def test_custom_active_hiring_statuses() -> None:
    custom = frozenset({"active"})
    assert is_active({"hiring_status": "active"}, custom) is True
    assert is_active({"hiring_status": "onboarding"}, custom) is False
    assert is_active({"hiring_status": "active"}, frozenset()) is False


# -- add_derived_fields ----------------------------------------------------------------------------


def test_add_derived_fields_sets_them_all_in_place() -> None:
    person: dict[str, Any] = {
        "id": "p1",
        "hiring_status": "onboarded",
        "work_email": "stale@acme.io",  # a Deel field of the same name is replaced
        "emails": [{"type": "work", "value": "p1@acme.io"}],
        "employments": [employment(team={"id": "t", "name": "Payroll"})],
    }
    result = add_derived_fields(person, frozenset(DEFAULT_ACTIVE_HIRING_STATUSES))
    assert result is person
    assert {k: person[k] for k in DERIVED_FIELDS} == {
        "work_email": "p1@acme.io",
        "active": True,
        "team": "Payroll",
        "last_day": None,
    }


# -- properties ------------------------------------------------------------------------------------

ADDRESSES = st.sampled_from(["a@x.io", "b@x.io", "", "  ", None])
EMAIL_ENTRY = st.fixed_dictionaries(
    {"type": st.sampled_from(["work", "personal", "primary", None]), "value": ADDRESSES}
)
EMPLOYMENT = st.fixed_dictionaries(
    {
        "is_ended": st.sampled_from([True, False, None]),
        "work_email": ADDRESSES,
        "email": ADDRESSES,
        "team": st.one_of(st.none(), st.fixed_dictionaries({"name": st.sampled_from(["T", ""])})),
    }
)
PERSON = st.fixed_dictionaries(
    {
        "emails": st.one_of(st.none(), st.lists(EMAIL_ENTRY, max_size=4)),
        "employments": st.one_of(st.none(), st.lists(EMPLOYMENT, max_size=4)),
    }
)


@given(PERSON)
def test_work_email_comes_only_from_work_entries_or_employment_work_emails(
    person: dict[str, Any],
) -> None:
    result = work_email(person)
    allowed = {
        (e["value"] or "").strip() for e in person["emails"] or [] if e["type"] == "work"
    } | {(e["work_email"] or "").strip() for e in person["employments"] or []}
    if result is None:
        assert all(not value for value in allowed)
    else:
        assert result in allowed
        assert result == result.strip()
        assert result


@given(PERSON)
def test_a_work_entry_in_emails_always_wins(person: dict[str, Any]) -> None:
    firsts = [
        e["value"].strip()
        for e in person["emails"] or []
        if e["type"] == "work" and e["value"] and e["value"].strip()
    ]
    if firsts:
        assert work_email(person) == firsts[0]
