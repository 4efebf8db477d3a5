"""Custom attributes and create-only attributes: config, merge, plan."""

from __future__ import annotations

import json
from typing import Any

import pytest
from target_jumpcloud.model import ActionKind, DesiredUser, DirectoryUser, Outcome
from target_jumpcloud.plan.build import PlanOptions, plan_sync
from target_jumpcloud.settings.sync_settings import ConfigError, parse_settings
from target_jumpcloud.sync.custom_attributes import create_list, item_text, merge
from target_jumpcloud.sync.directory import Directory, UserReader, compared_fields, directory_user
from target_jumpcloud.sync.mapping import DEFAULT_MAPPING, map_record, merge_mapping

from tests.target_jumpcloud.directory_helpers import apply_to_directory

MAPPING = merge_mapping(
    {"attributes.workerType": "hiring_type", "attributes.hiringStatus": "hiring_status"}
)
FIELDS = compared_fields(MAPPING)
ADMIN_SET = [
    {"name": "hrSource", "value": "workday"},
    {"name": "badge", "value": " 0042 "},  # padded: still never touched
    {"name": "legacy", "value": ""},
]


def worker(**extra: Any) -> dict[str, Any]:
    record = {
        "id": "p1",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "work_email": "ada.lovelace@acme.example",
        "active": True,
        "hiring_type": "eor",
        "hiring_status": "active",
    }
    record.update(extra)
    return record


def desired(**extra: Any) -> DesiredUser:
    result = map_record(worker(**extra), MAPPING, 0)
    assert isinstance(result, DesiredUser)
    return result


def jc_user(attributes: list[Any] | None, **extra: Any) -> DirectoryUser:
    obj = {
        "_id": "66b000000000000000000001",
        "username": "ada.lovelace",
        "email": "ada.lovelace@acme.example",
        "employeeIdentifier": "p1",
        "firstname": "Ada",
        "lastname": "Lovelace",
        "employeeType": "eor",
        "state": "ACTIVATED",
        "attributes": attributes,
        **extra,
    }
    return directory_user(obj, FIELDS)


def plan_one(user: DirectoryUser | None, **extra: Any) -> Any:
    users = [user] if user is not None else []
    plan = plan_sync([desired(**extra)], Directory(users), PlanOptions())
    return (plan.actions or plan.results)[0]


# -- config --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a", "costCode", "Level2", "X" * 31, "007"])
def test_valid_custom_attribute_names(name):
    assert merge_mapping({f"attributes.{name}": "x"})[f"attributes.{name}"] == "x"


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("attributes.", "1-31 letters or digits"),
        ("attributes.cost code", "1-31 letters or digits"),
        ("attributes.cost-code", "1-31 letters or digits"),
        ("attributes.cost_code", "1-31 letters or digits"),
        ("attributes.a.b", "1-31 letters or digits"),
        ("attributes.Ünit", "1-31 letters or digits"),
        ("attributes." + "x" * 32, "1-31 letters or digits"),
        ("Attributes.costCode", "did you mean 'attributes.costCode'"),
        ("attributes", "unknown JumpCloud attribute 'attributes'"),
    ],
)
def test_invalid_custom_attribute_keys_are_config_errors(key, message):
    with pytest.raises(ConfigError, match=message):
        merge_mapping({key: "x"})


def test_custom_attribute_names_must_be_unique_ignoring_case():
    with pytest.raises(ConfigError, match="same custom attribute"):
        merge_mapping({"attributes.costCode": "a", "attributes.COSTCODE": "b"})


def test_a_custom_attribute_set_to_null_is_simply_not_synced():
    assert "attributes.x" not in merge_mapping({"attributes.x": None})


def test_custom_attributes_are_read_as_text_and_kept_apart_from_the_plain_ones():
    mapping = merge_mapping(
        {
            "attributes.flag": "flag",
            "attributes.level": "level",
            "attributes.note": "note",
            "attributes.empty": "empty",
            "attributes.deep": "org.unit.name",
        }
    )
    raw = {
        **worker(),
        "flag": True,
        "level": 3,
        "note": "  x" + "y" * 2000,
        "empty": "   ",
        "org": {"unit": {"name": " R&D "}},
    }
    result = map_record(raw, mapping, 0)
    assert isinstance(result, DesiredUser)
    assert not any(key.startswith("attributes") for key in result.attributes)
    assert result.custom_attributes == {
        "flag": "true",
        "level": "3",
        "note": ("x" + "y" * 2000)[:1024],
        "empty": None,
        "deep": "R&D",
    }
    assert any("attributes.note cut to 1024 characters" in w for w in result.warnings)


def test_the_directory_reads_the_whole_list_once_when_a_custom_attribute_is_mapped():
    assert FIELDS.count("attributes") == 1
    assert "attributes.workerType" not in FIELDS
    assert "attributes" not in compared_fields(DEFAULT_MAPPING)
    assert jc_user(ADMIN_SET).custom_attributes == tuple(ADMIN_SET)
    assert jc_user(None).custom_attributes == ()
    unread = directory_user({"_id": "x", "attributes": ADMIN_SET}, compared_fields(DEFAULT_MAPPING))
    assert unread.custom_attributes is None


def test_a_page_read_fast_keeps_the_list_exactly_as_sent():
    odd = [*ADMIN_SET, {"name": "n", "value": 7}, {"name": "x", "value": None, "extra": [1]}]
    obj = {"_id": "a", "username": "u", "email": "u@x.io", "attributes": odd}
    page = {"totalCount": 1, "results": [obj]}
    users, total = UserReader(MAPPING).read_page(json.dumps(page).encode())
    assert total == 1
    assert users[0].custom_attributes == tuple(odd)
    assert users == [directory_user(obj, MAPPING)]  # as the general way reads


# -- the merge -----------------------------------------------------------------------------------


def test_unmanaged_attributes_are_kept_byte_for_byte_in_their_order():
    current = [
        *ADMIN_SET,
        {"name": "workerType", "value": "contractor"},
        {"name": "z", "value": "1"},
    ]
    items, changes = merge({"workerType": "eor"}, current)
    assert items is not None
    assert json.dumps(items) == json.dumps(
        [*ADMIN_SET, {"name": "workerType", "value": "eor"}, {"name": "z", "value": "1"}]
    )
    assert all(item is current[i] for i, item in enumerate(items) if i != 3)  # not copies
    assert changes == {"attributes.workerType": ("contractor", "eor")}


def test_a_new_managed_attribute_is_appended_after_the_existing_ones():
    items, changes = merge({"workerType": "eor", "hiringStatus": "active"}, ADMIN_SET)
    assert items == [
        *ADMIN_SET,
        {"name": "workerType", "value": "eor"},
        {"name": "hiringStatus", "value": "active"},
    ]
    assert changes == {
        "attributes.workerType": (None, "eor"),
        "attributes.hiringStatus": (None, "active"),
    }


def test_an_empty_source_never_removes_or_clears_an_attribute():
    current = [{"name": "workerType", "value": "contractor"}, *ADMIN_SET]
    assert merge({"workerType": None}, current) == (None, {})
    assert merge({"workerType": None, "hiringStatus": "x"}, current)[0] == [
        *current,
        {"name": "hiringStatus", "value": "x"},
    ]


def test_no_change_means_no_list():
    current = [{"name": "workerType", "value": " eor "}, *ADMIN_SET]
    assert merge({"workerType": "eor"}, current) == (None, {})
    assert merge({}, current) == (None, {})


def test_names_match_ignoring_case_and_the_first_of_a_repeated_name_is_synced():
    current = [{"name": "WorkerType", "value": "a"}, {"name": "workertype", "value": "b"}]
    items, changes = merge({"workerType": "c"}, current)
    assert items == [{"name": "WorkerType", "value": "c"}, current[1]]
    assert changes == {"attributes.workerType": ("a", "c")}


def test_other_keys_of_a_managed_item_are_kept():
    items, _ = merge({"n": "new"}, [{"name": "n", "value": "old", "id": "x1"}])
    assert items == [{"name": "n", "value": "new", "id": "x1"}]


@pytest.mark.parametrize(
    ("value", "text"), [(7, "7"), (True, "true"), (" a ", "a"), ("", None), (None, None)]
)
def test_existing_values_compare_as_text(value, text):
    assert item_text({"name": "n", "value": value}) == text


def test_a_new_user_gets_only_the_managed_attributes_with_a_value():
    assert create_list({"a": "1", "b": None, "c": "3"}) == [
        {"name": "a", "value": "1"},
        {"name": "c", "value": "3"},
    ]


# -- in the plan --------------------------------------------------------------------------------


def test_a_create_sends_the_custom_list():
    created = plan_one(None, hiring_status=None)
    assert created.kind is ActionKind.CREATE
    assert created.payload["attributes"] == [{"name": "workerType", "value": "eor"}]
    assert "attributes.workerType" not in created.payload


def test_a_create_with_no_custom_value_sends_no_list():
    assert "attributes" not in plan_one(None, hiring_type=None, hiring_status="").payload


def test_an_update_sends_the_full_list_with_the_admins_attributes_as_they_were():
    user = jc_user([*ADMIN_SET, {"name": "workerType", "value": "contractor"}])
    update = plan_one(user)
    assert update.kind is ActionKind.UPDATE
    assert update.payload == {
        "attributes": [
            *ADMIN_SET,
            {"name": "workerType", "value": "eor"},
            {"name": "hiringStatus", "value": "active"},
        ]
    }
    assert update.changes == {
        "attributes.workerType": ("contractor", "eor"),
        "attributes.hiringStatus": (None, "active"),
    }


def test_in_step_custom_attributes_mean_no_write_and_no_attributes_key():
    user = jc_user(
        [
            {"name": "hiringStatus", "value": "active"},
            *ADMIN_SET,
            {"name": "workerType", "value": "eor"},
        ]
    )
    assert plan_one(user).outcome is Outcome.UNCHANGED
    other = plan_one(user, job_title=None, first_name="Adah")
    assert "attributes" not in other.payload
    assert other.payload == {"firstname": "Adah"}


def test_a_directory_read_without_the_list_is_never_written_over():
    unread = directory_user(
        {"_id": "66b000000000000000000001", "username": "ada.lovelace", "employeeIdentifier": "p1"},
        compared_fields(DEFAULT_MAPPING),
    )
    with pytest.raises(ValueError, match="without the `attributes` field"):
        plan_one(unread)


def test_apply_to_directory_replaces_the_whole_list_as_a_put_does():
    user = jc_user(ADMIN_SET)
    plan = plan_sync([desired()], Directory([user]), PlanOptions())
    after = apply_to_directory(plan, Directory([user]))
    (changed,) = list(after)
    assert changed.custom_attributes == tuple(plan.actions[0].payload["attributes"])
    assert plan_sync([desired()], after, PlanOptions()).actions == []


# -- create-only (docs/directory-attributes.md)
# -----------------------------------------------------------------------


def settings(**config: Any) -> Any:
    return parse_settings({"api_key": "k", **config})


def test_create_only_attributes_are_read_from_a_list_or_text():
    mapping = {"attributes.costCode": "cost"}
    assert settings(create_only_attributes=["department", "attributes.costCode"], mapping=mapping)
    parsed = settings(create_only_attributes='["department"]').create_only_attributes
    assert parsed == frozenset({"department"})
    assert settings(create_only_attributes="department, jobTitle").create_only_attributes == {
        "department",
        "jobTitle",
    }
    assert settings().create_only_attributes == frozenset()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (["email"], "email cannot be create-only"),
        (["employeeIdentifier"], "employeeIdentifier cannot be create-only"),
        (["state"], "state cannot be create-only"),
        (["middlename"], "'middlename' is not an attribute of the mapping"),
        (["Department"], "'Department' is not an attribute of the mapping"),
        ([7], "expected a list"),
        ({"department": True}, "expected a list"),
    ],
)
def test_bad_create_only_attributes_are_config_errors(value, message):
    with pytest.raises(ConfigError, match=f"^create_only_attributes: .*{message}"):
        settings(create_only_attributes=value)


def test_create_only_attributes_are_sent_at_creation_and_never_compared_again():
    options = PlanOptions(create_only=frozenset({"jobTitle", "attributes.workerType"}))
    raw = worker(job_title="Engineer")
    record = map_record(raw, MAPPING, 0)
    created = plan_sync([record], Directory(), options).actions[0]
    assert created.payload["jobTitle"] == "Engineer"
    assert {"name": "workerType", "value": "eor"} in created.payload["attributes"]
    # An administrator edited both in JumpCloud: the sync leaves them alone.
    user = jc_user(
        [{"name": "workerType", "value": "admin-set"}, {"name": "hiringStatus", "value": "active"}],
        jobTitle="Admin-set title",
    )
    plan = plan_sync([record], Directory([user]), options)
    assert plan.actions == []
    assert plan.results[0].outcome is Outcome.UNCHANGED
    # Other attributes still sync, and the create-only custom item rides along as it is.
    moved = map_record({**raw, "hiring_status": "offboarding"}, MAPPING, 0)
    update = plan_sync([moved], Directory([user]), options).actions[0]
    assert update.payload == {
        "attributes": [
            {"name": "workerType", "value": "admin-set"},
            {"name": "hiringStatus", "value": "offboarding"},
        ]
    }


def test_every_problem_of_these_settings_is_reported_at_once():
    with pytest.raises(ConfigError) as caught:
        settings(
            mapping={"attributes.cost code": "x", "attributes.a": "y", "attributes.A": "z"},
            create_only_attributes=["email", "middlename"],
            username_template="{first}.{middle} {last}",
            username_max_length=4,
        )
    names = [problem.split(":", 1)[0] for problem in caught.value.problems]
    assert names == [
        "mapping",  # the bad name
        "mapping",  # a and A
        "create_only_attributes",  # email
        "create_only_attributes",  # middlename
        "username_template",  # {middle}
        "username_template",  # the space
        "username_max_length",
    ]
