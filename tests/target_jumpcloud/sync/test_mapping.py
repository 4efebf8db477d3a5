"""Mapping one record (docs/sync-rules.md): the default table, overrides, validation, cutting."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from target_jumpcloud.model import DesiredUser, RejectedRecord
from target_jumpcloud.settings.sync_settings import ConfigError
from target_jumpcloud.sync.mapping import (
    DEFAULT_MAPPING,
    is_plausible_email,
    map_record,
    merge_mapping,
    resolve_path,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

MAPPING = dict(DEFAULT_MAPPING)


def worker(**overrides: Any) -> dict[str, Any]:
    """A full Deel person record as the tap emits it (derived fields included)."""
    record = {
        "id": "P-1",
        "work_email": "ada.lovelace@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "full_name": "Ada Lovelace",
        "job_title": "Staff Engineer",
        "department": {"id": "d1", "name": "Engineering"},
        "work_location": "London",
        "team": "Platform",
        "hiring_type": "employee",
        "client_legal_entity": {"id": "e1", "name": "Example Ltd"},
        "active": True,
        "hiring_status": "active",
        "emails": [{"type": "work", "value": "ada.lovelace@example.com"}],
    }
    record.update(overrides)
    return record


def mapped(
    record: Mapping[str, Any], mapping: Mapping[str, str] | None = None, position: int = 0
) -> DesiredUser | RejectedRecord:
    return map_record(record, MAPPING if mapping is None else mapping, position)


def accepted(record: Mapping[str, Any], mapping: Mapping[str, str] | None = None) -> DesiredUser:
    result = mapped(record, mapping)
    assert isinstance(result, DesiredUser), result
    return result


def rejected(record: Mapping[str, Any], mapping: Mapping[str, str] | None = None) -> RejectedRecord:
    result = mapped(record, mapping)
    assert isinstance(result, RejectedRecord), result
    return result


# -- the default table ---------------------------------------------------------------------------


def test_default_mapping_is_the_contract_table():
    assert dict(DEFAULT_MAPPING) == {
        "email": "work_email",
        "firstname": "first_name",
        "lastname": "last_name",
        "displayname": "full_name",
        "jobTitle": "job_title",
        "department": "department.name",
        "location": "work_location",
        "costCenter": "team",
        "employeeType": "hiring_type",
        "company": "client_legal_entity.name",
        "employeeIdentifier": "id",
        "state": "active",
        "start_date": "start_date",  # read for username order, never sent
        "last_day": "last_day",  # read for effective dating, never sent
        "timezone": "timezone",
    }


def test_default_mapping_cannot_be_changed_in_place():
    with pytest.raises(TypeError):
        DEFAULT_MAPPING["email"] = "x"  # type: ignore[index]


def test_full_record_maps_every_attribute():
    user = accepted(worker())
    assert user == DesiredUser(
        position=0,
        profile_id="P-1",
        email="ada.lovelace@example.com",
        active=True,
        attributes={
            "email": "ada.lovelace@example.com",
            "firstname": "Ada",
            "lastname": "Lovelace",
            "displayname": "Ada Lovelace",
            "jobTitle": "Staff Engineer",
            "department": "Engineering",
            "location": "London",
            "costCenter": "Platform",
            "employeeType": "employee",
            "company": "Example Ltd",
            "employeeIdentifier": "P-1",
        },
        first_name="Ada",
        last_name="Lovelace",
        warnings=(),
    )
    assert "state" not in user.attributes


def test_position_is_kept():
    assert mapped(worker(), position=41).position == 41
    assert mapped(worker(id=None), position=42).position == 42


# -- merge_mapping ---------------------------------------------------------------------------------


def test_merge_none_and_empty_give_the_default():
    assert merge_mapping(None) == dict(DEFAULT_MAPPING)
    assert merge_mapping({}) == dict(DEFAULT_MAPPING)
    assert merge_mapping(None) is not DEFAULT_MAPPING


def test_override_replaces_and_adds():
    merged = merge_mapping({"jobTitle": "title.name", "middlename": "middle_name"})
    assert merged["jobTitle"] == "title.name"
    assert merged["middlename"] == "middle_name"
    assert merged["email"] == "work_email"
    assert len(merged) == len(DEFAULT_MAPPING) + 1


def test_null_stops_syncing_an_attribute():
    merged = merge_mapping({"location": None, "costCenter": None})
    assert "location" not in merged
    assert "costCenter" not in merged
    assert merge_mapping({"middlename": None}) == dict(DEFAULT_MAPPING)  # absent anyway


def test_paths_are_trimmed():
    assert merge_mapping({"jobTitle": "  job.title "})["jobTitle"] == "job.title"


@pytest.mark.parametrize("key", ["email", "employeeIdentifier", "state"])
def test_required_keys_cannot_be_nulled(key):
    with pytest.raises(ConfigError, match=rf"^mapping: {key} must have a source path"):
        merge_mapping({key: None})


@pytest.mark.parametrize("key", ["email", "employeeIdentifier", "state", "jobTitle"])
@pytest.mark.parametrize("path", ["", "   ", 5, ["a"], "a..b", ".a", "a.", "a. .b"])
def test_bad_paths_refused(key, path):
    with pytest.raises(ConfigError, match=rf"^mapping: {key}: "):
        merge_mapping({key: path})


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("username", r"^mapping: username is generated by the sync"),
        ("nickname", r"^mapping: unknown JumpCloud attribute 'nickname'; allowed: "),
        ("displayName", r"did you mean 'displayname'\?"),
        ("jobtitle", r"did you mean 'jobTitle'\?"),
        ("suspended", r"^mapping: unknown JumpCloud attribute 'suspended'"),
        ("password", r"^mapping: unknown JumpCloud attribute 'password'"),
        ("attributes", r"^mapping: unknown JumpCloud attribute 'attributes'"),
        ("phoneNumbers", r"^mapping: unknown JumpCloud attribute 'phoneNumbers'"),
        ("sudo", r"^mapping: unknown JumpCloud attribute 'sudo'"),
        (7, r"^mapping: attribute names must be strings"),
    ],
)
def test_unknown_attributes_refused(key, message):
    with pytest.raises(ConfigError, match=message):
        merge_mapping({key: "x"})


@pytest.mark.parametrize(
    "key",
    [
        "email",
        "employeeIdentifier",
        "firstname",
        "middlename",
        "lastname",
        "displayname",
        "jobTitle",
        "department",
        "company",
        "costCenter",
        "location",
        "employeeType",
        "description",
        "alternateEmail",
        "managedAppleId",
        "state",
    ],
)
def test_documented_string_attributes_allowed(key):
    assert merge_mapping({key: "some.path"})[key] == "some.path"


def test_merge_refuses_a_non_mapping():
    with pytest.raises(ConfigError, match=r"^mapping: expected an object"):
        merge_mapping(["email"])  # type: ignore[arg-type]


# -- resolve_path ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("a", 1),
        ("b.c", "x"),
        ("b.d.e", None),
        ("b", {"c": "x", "d": None}),
        ("missing", None),
        ("missing.deeper", None),
        ("a.b", None),  # a step into a number
        ("l.0", None),  # lists are not indexed
        ("s.x", None),  # a step into a string
    ],
)
def test_resolve_path(path, expected):
    record = {"a": 1, "b": {"c": "x", "d": None}, "l": ["first"], "s": "text"}
    assert resolve_path(record, path) == expected


# -- values ----------------------------------------------------------------------------------------


def test_values_are_trimmed_and_empty_is_none():
    user = accepted(
        worker(
            work_email="  ada@example.com\t",
            id="  P-1 ",
            job_title="  Engineer  ",
            team="   ",
            full_name="",
            work_location=None,
        )
    )
    assert user.email == "ada@example.com"
    assert user.profile_id == "P-1"
    assert user.attributes["jobTitle"] == "Engineer"
    assert user.attributes["costCenter"] is None
    assert user.attributes["displayname"] is None
    assert user.attributes["location"] is None


def test_missing_paths_give_none():
    record = worker()
    del record["department"]
    record["client_legal_entity"] = None
    user = accepted(record)
    assert user.attributes["department"] is None
    assert user.attributes["company"] is None
    assert user.warnings == ()


@pytest.mark.parametrize(
    ("value", "expected"),
    [(42, "42"), (4.5, "4.5"), (Decimal("1.50"), "1.50"), (True, "true"), (False, "false")],
)
def test_scalars_become_text(value, expected):
    assert accepted(worker(team=value)).attributes["costCenter"] == expected


def test_numeric_profile_id_becomes_text():
    user = accepted(worker(id=12345))
    assert user.profile_id == "12345"
    assert user.attributes["employeeIdentifier"] == "12345"


@pytest.mark.parametrize(("value", "kind"), [({"name": "x"}, "an object"), (["x"], "a list")])
def test_non_scalar_optional_value_is_left_unsynced_with_a_warning(value, kind):
    user = accepted(worker(job_title=value))
    assert user.attributes["jobTitle"] is None
    assert user.warnings == (f"jobTitle not synced: job_title is {kind}, not text",)


def test_email_case_is_kept_and_matched_case_insensitively():
    user = accepted(worker(work_email="Ada.Lovelace@Example.COM"))
    assert user.email == "Ada.Lovelace@Example.COM"
    assert user.email_key == "ada.lovelace@example.com"


def test_names_come_from_the_mapped_attributes():
    user = accepted(worker(first_name=" José ", last_name=None))
    assert (user.first_name, user.last_name) == ("José", None)
    custom = merge_mapping({"firstname": "preferred_name", "lastname": None})
    user = accepted(worker(preferred_name="Addie"), custom)
    assert (user.first_name, user.last_name) == ("Addie", None)
    assert "lastname" not in user.attributes


def test_overridden_paths_are_used():
    custom = merge_mapping(
        {"email": "contact.mail", "employeeIdentifier": "worker_id", "state": "flags.current"}
    )
    record = {"contact": {"mail": "x@y.io"}, "worker_id": "W9", "flags": {"current": "FALSE"}}
    user = accepted(record, custom)
    assert (user.email, user.profile_id, user.active) == ("x@y.io", "W9", False)


# -- cutting ---------------------------------------------------------------------------------------


def test_long_text_is_cut_to_1024_with_a_warning():
    user = accepted(worker(job_title="x" * 1500, full_name="y" * 1024))
    assert user.attributes["jobTitle"] == "x" * 1024
    assert user.attributes["displayname"] == "y" * 1024  # exactly the limit: untouched
    assert user.warnings == ("jobTitle cut to 1024 characters (job_title had 1500)",)


def test_cut_does_not_leave_trailing_space():
    user = accepted(worker(job_title="x" * 1023 + " " + "z" * 10))
    assert user.attributes["jobTitle"] == "x" * 1023


def test_several_warnings_are_kept_in_mapping_order():
    user = accepted(worker(job_title="x" * 1025, team={"a": 1}, full_name="d" * 2000))
    assert user.warnings == (
        "displayname cut to 1024 characters (full_name had 2000)",
        "jobTitle cut to 1024 characters (job_title had 1025)",
        "costCenter not synced: team is an object, not text",
    )


# -- validation (each rejected record names the field) ---------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"work_email": None}, "no work email (work_email is empty)"),
        ({"work_email": ""}, "no work email (work_email is empty)"),
        ({"work_email": "   "}, "no work email (work_email is empty)"),
        ({"work_email": "a b@x.io"}, "work email 'a b@x.io' is not a valid address"),
        ({"work_email": "ada"}, "work email 'ada' is not a valid address"),
        ({"work_email": "ada@example"}, "work email 'ada@example' is not a valid address"),
        ({"work_email": {"v": 1}}, "work email (work_email) is an object, not text"),
        ({"work_email": ["a@b.io"]}, "work email (work_email) is a list, not text"),
        ({"id": None}, "no profile id (id is empty)"),
        ({"id": " "}, "no profile id (id is empty)"),
        ({"id": "p" * 257}, "profile id is longer than 256 characters (257)"),
        ({"id": {"x": 1}}, "profile id (id) is an object, not text"),
        ({"active": None}, "no active flag (active is empty)"),
        ({"active": ""}, "no active flag (active is empty)"),
        ({"active": "yes"}, "active flag 'yes' (active) is not true or false"),
        ({"active": 1}, "active flag 1 (active) is not true or false"),
        ({"active": 0}, "active flag 0 (active) is not true or false"),
        ({"active": "t"}, "active flag 't' (active) is not true or false"),
        ({"active": ["true"]}, "active flag ['true'] (active) is not true or false"),
    ],
)
def test_rejections(overrides, reason):
    result = rejected(worker(**overrides))
    assert result.reason == reason


def test_too_long_email_is_rejected():
    email = "a" * 1015 + "@example.io"  # 1026 characters, otherwise plausible
    assert rejected(worker(work_email=email)).reason == (
        "work email is longer than 1024 characters (1026)"
    )
    email = "a" * 1013 + "@example.io"  # exactly 1024
    assert accepted(worker(work_email=email)).email == email


def test_profile_id_of_256_is_accepted():
    assert accepted(worker(id="p" * 256)).profile_id == "p" * 256


def test_every_problem_is_listed_and_known_values_are_kept():
    result = rejected(worker(work_email="not-an-email", id=None, active="maybe"))
    assert result.reason == (
        "work email 'not-an-email' is not a valid address; no profile id (id is empty); "
        "active flag 'maybe' (active) is not true or false"
    )
    assert result.email == "not-an-email"
    assert result.profile_id is None
    only_email_bad = rejected(worker(work_email=None))
    assert only_email_bad.profile_id == "P-1"
    assert only_email_bad.email is None


def test_long_bad_email_is_shortened_in_the_reason():
    result = rejected(worker(work_email="x y" * 200))
    assert len(result.reason) < 120
    assert result.reason.endswith("... is not a valid address")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), (False, False), ("true", True), ("FALSE", False), (" True ", True)],
)
def test_active_flag_accepts_booleans_and_their_text(value, expected):
    assert accepted(worker(active=value)).active is expected


# -- the email plausibility check ------------------------------------------------------------------


@pytest.mark.parametrize(
    "email",
    [
        "a@b.io",
        "Ada.Lovelace@Example.COM",
        "a+tag@mail.example.co.uk",
        "o'brien@example.ie",
        "josé@exämple.de",
        "user@xn--bcher-kva.ch",
        "王伟@例子.中国",
        "a@b-c.io",
        "a@b--c.io",
        "1234@example.com",
        "a@sub.123.io",
    ],
)
def test_plausible_emails(email):
    assert is_plausible_email(email)


@pytest.mark.parametrize(
    "email",
    [
        "",
        "ada",
        "@example.com",
        "ada@",
        "ada@example",
        "ada@example.",
        "ada@.example.com",
        "ada@example..com",
        "ada@@example.com",
        "ada@b@example.com",
        "a b@example.com",
        "ada@exa mple.com",
        "ada\t@example.com",
        "ada@example.com\n",
        "ada\u200b@example.com",
        "ada@-example.com",
        "ada@example-.com",
        "ada@exa_mple.com",
        "ada@1.2.3.4",
        "ada@[127.0.0.1]",
        "Ada <ada@example.com>",
        "<ada@example.com>",
        "ada,bob@example.com",
        '"ada"@example.com',
        "ada@example.com.",
    ],
)
def test_implausible_emails(email):
    assert not is_plausible_email(email)
