"""Contract tests for the JumpCloud emulator's `manager` and custom `attributes`, over HTTP.

The facts they pin: `manager` is the `_id` of another existing user (anything else is a
400), `null` clears it; custom attributes are `{name, value}` items whose names are 1-31
letters or digits, unique, whose values are text; a PUT with `attributes` replaces the
whole list, a PUT without it keeps the list.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.emulators.test_jumpcloud_contract import MISSING_ID, Api, api, app, assert_error, person

if TYPE_CHECKING:
    from tests.emulators.jumpcloud import JumpCloudEmulator

__all__ = ["api", "app"]  # the fixtures, shared with the main contract tests


def _attrs(*pairs: tuple[str, Any]) -> list[dict[str, Any]]:
    return [{"name": name, "value": value} for name, value in pairs]


def test_a_create_may_name_an_existing_manager(api: Api) -> None:
    boss = api.create(**person(1))
    worker = api.create(**person(2, manager=boss["_id"]))
    assert worker["manager"] == boss["_id"]
    assert api.get(f"/systemusers/{worker['_id']}").json()["manager"] == boss["_id"]


@pytest.mark.parametrize(
    "manager",
    [MISSING_ID, "not-an-id", "", "EMPLOYEE-1"],
    ids=["unknown id", "not an id", "empty", "a profile id"],
)
def test_a_create_naming_no_existing_user_as_manager_is_400(
    api: Api, app: JumpCloudEmulator, manager: str
) -> None:
    assert_error(api.post("/systemusers", json=person(2, manager=manager)), 400, "manager")
    assert app.user_count == 0


def test_manager_must_be_a_string_or_null(api: Api) -> None:
    boss = api.create(**person(1))
    assert_error(api.post("/systemusers", json=person(2, manager=[boss["_id"]])), 400, "manager")
    assert_error(api.post("/systemusers", json=person(2, manager=7)), 400, "manager")


def test_a_put_to_an_unknown_or_own_manager_is_400_and_changes_nothing(api: Api) -> None:
    boss = api.create(**person(1))
    worker = api.create(**person(2, manager=boss["_id"]))
    path = f"/systemusers/{worker['_id']}"
    assert_error(api.put(path, json={"manager": MISSING_ID, "jobTitle": "x"}), 400, "manager")
    assert_error(api.put(path, json={"manager": worker["_id"]}), 400, "manager")
    after = api.get(path).json()
    assert after["manager"] == boss["_id"]
    assert "jobTitle" not in after


def test_a_manager_is_listed_with_the_fields_projection(api: Api) -> None:
    boss = api.create(**person(1))
    api.create(**person(2, manager=boss["_id"]))
    listed = api.list(limit=10, sort="_id", fields="username manager")["results"]
    assert [u.get("manager") for u in listed] == [None, boss["_id"]]


def test_seeded_users_may_name_a_manager_listed_later(app: JumpCloudEmulator) -> None:
    boss_id = "66b0f2c4e1a9d3001f4c2a17"
    app.set_users([person(2, manager=boss_id), {**person(1), "_id": boss_id}])
    assert {u["username"]: u.get("manager") for u in app.users()} == {
        "user.0001": None,
        "user.0002": boss_id,
    }
    with pytest.raises(ValueError, match="manager"):
        app.set_users([person(2, manager=boss_id)])


def test_custom_attributes_are_stored_as_sent(api: Api) -> None:
    items = _attrs(("hrSource", "workday"), ("costCode", "CC100"), ("Level2", ""))
    user = api.create(**person(1, attributes=items))
    assert user["attributes"] == items
    listed = api.list(limit=10, fields="attributes")["results"]
    assert listed[0]["attributes"] == items


def test_a_put_with_attributes_replaces_the_whole_list(api: Api) -> None:
    user = api.create(**person(1, attributes=_attrs(("hrSource", "workday"), ("a1", "x"))))
    path = f"/systemusers/{user['_id']}"
    replaced = api.put(path, json={"attributes": _attrs(("costCode", "CC100"))}).json()
    assert replaced["attributes"] == _attrs(("costCode", "CC100"))
    assert api.put(path, json={"attributes": []}).json()["attributes"] == []


def test_a_put_without_attributes_keeps_the_list(api: Api) -> None:
    items = _attrs(("hrSource", "workday"))
    user = api.create(**person(1, attributes=items))
    updated = api.put(f"/systemusers/{user['_id']}", json={"jobTitle": "Lead"}).json()
    assert updated["attributes"] == items


@pytest.mark.parametrize(
    ("items", "fragment"),
    [
        (_attrs(("cost code", "1")), "letters or digits"),
        (_attrs(("cost.code", "1")), "letters or digits"),
        (_attrs(("cost_code", "1")), "letters or digits"),
        (_attrs(("", "1")), "letters or digits"),
        (_attrs(("a" * 32, "1")), "letters or digits"),
        (_attrs(("Ünit", "1")), "letters or digits"),
        (_attrs(("costCode", "1"), ("COSTCODE", "2")), "not unique"),
        (_attrs(("costCode", None)), "value must be a string"),
        (_attrs(("costCode", 5)), "value must be a string"),
        (_attrs(("costCode", "x" * 1025)), "at most 1024"),
        ([{"name": "costCode"}], "value is required"),
        ([{"name": "costCode", "value": "1", "extra": "y"}], "unknown field"),
    ],
)
def test_bad_custom_attributes_are_400(
    api: Api, app: JumpCloudEmulator, items: list[dict[str, Any]], fragment: str
) -> None:
    assert_error(api.post("/systemusers", json=person(1, attributes=items)), 400, fragment)
    assert app.user_count == 0
    user = api.create(**person(2, attributes=_attrs(("keep", "me"))))
    path = f"/systemusers/{user['_id']}"
    assert_error(api.put(path, json={"attributes": items}), 400, fragment)
    assert api.get(path).json()["attributes"] == _attrs(("keep", "me"))


def test_the_longest_allowed_name_and_value_are_accepted(api: Api) -> None:
    items = _attrs(("a" * 31, "v" * 1024))
    assert api.create(**person(1, attributes=items))["attributes"] == items
