"""Contract tests for the emulator's V2 user groups and V1 MFA reset / password expiry.

Group rules and leaver steps rest on `/api/v2/usergroups` (and its members) and on V1
`resetmfa` / `expire` answering like JumpCloud's specs, on the strict side where they are
silent, through the same auth, faults and log as every other route. Each promise is pinned
down here over real HTTP.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

import pytest
import requests

from tests.emulators.base import EmulatorServer
from tests.emulators.jumpcloud import JumpCloudEmulator
from tests.emulators.test_jumpcloud_contract import (
    KEY,
    MISSING_ID,
    ORG,
    Api,
    assert_error,
    person,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

GROUPS = "/v2/usergroups"
NOW = dt.datetime(2027, 3, 1, 9, 30, tzinfo=dt.UTC)
OBJECT_ID = re.compile(r"[0-9a-f]{24}")
GROUP_KEYS = {
    "id", "name", "type", "membershipMethod", "description", "email", "attributes",
    "memberQuery", "memberQueryExemptions", "memberSuggestionsNotify", "suggestionCounts",
}  # fmt: skip
DYNAMIC_QUERY = {"queryType": "FilterQuery", "filters": [{"field": "department", "value": "x"}]}


@pytest.fixture
def api(jumpcloud_emulator: EmulatorServer[JumpCloudEmulator]) -> Iterator[Api]:
    jumpcloud_emulator.app.set_time(NOW)
    client = Api(jumpcloud_emulator)
    yield client
    client.session.close()


@pytest.fixture
def app(api: Api) -> JumpCloudEmulator:
    return api.app


def users(api: Api, count: int) -> list[str]:
    return [api.create(**person(n))["_id"] for n in range(count)]


def create_group(api: Api, name: str, **fields: Any) -> dict[str, Any]:
    response = api.post(GROUPS, json={"name": name, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def list_groups(api: Api, **params: Any) -> list[dict[str, Any]]:
    response = api.get(GROUPS, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, list)
    return body


def members(api: Api, group_id: str, **params: Any) -> list[dict[str, Any]]:
    response = api.get(f"{GROUPS}/{group_id}/members", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def member_ids(api: Api, group_id: str) -> list[str]:
    return [item["to"]["id"] for item in members(api, group_id, limit=100)]


def change(api: Api, group_id: str, op: str, user_id: str, **extra: Any) -> requests.Response:
    body = {"op": op, "type": "user", "id": user_id, **extra}
    return api.post(f"{GROUPS}/{group_id}/members", json=body)


def page_all(api: Api, path: str, limit: int) -> list[dict[str, Any]]:
    """Page as a client must (no total count promised): until a page comes back short."""
    found: list[dict[str, Any]] = []
    while True:
        response = api.get(path, params={"limit": limit, "skip": len(found)})
        assert response.status_code == 200, response.text
        page = response.json()
        found.extend(page)
        if len(page) < limit:
            return found


# -- create and read a group ----------------------------------------------------------------


def test_a_new_group_answers_201_with_the_user_group_shape(
    api: Api, app: JumpCloudEmulator
) -> None:
    group = create_group(api, "All staff")
    assert set(group) == GROUP_KEYS
    assert OBJECT_ID.fullmatch(group["id"])
    assert group["name"] == "All staff"
    assert group["type"] == "user_group"
    assert group["membershipMethod"] == "NOTSET"
    assert (group["description"], group["email"], group["attributes"]) == ("", "", {})
    assert group["memberQuery"] is None
    response = api.get(f"{GROUPS}/{group['id']}")
    assert response.status_code == 200
    assert response.json() == group
    assert list_groups(api) == [group]
    assert app.writes == {"group_create": 1}


def test_a_group_keeps_the_fields_it_was_created_with(api: Api) -> None:
    fields = {
        "description": "Everyone in Berlin",
        "email": "berlin@example.com",
        "attributes": {"sudo": {"enabled": True, "withoutPassword": False}, "custom": 1},
        "membershipMethod": "STATIC",
        "memberSuggestionsNotify": True,
    }
    group = create_group(api, "Berlin office", **fields)
    for key, value in fields.items():
        assert group[key] == value, key
    dynamic = create_group(
        api, "Sales (rule)", membershipMethod="DYNAMIC_AUTOMATED", memberQuery=DYNAMIC_QUERY
    )
    assert dynamic["memberQuery"] == DYNAMIC_QUERY
    assert group["id"] < dynamic["id"]  # ids grow with creation


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({}, "name is required"),
        ({"name": ""}, "name must be at least 1 characters"),
        ({"name": "   "}, "name must not be blank"),
        ({"name": "x" * 256}, "name must be at most 255 characters"),
        ({"name": 7}, "name"),
        ({"name": None}, "name"),
        ({"name": "A", "color": "red"}, "unknown field 'color'"),
        ({"name": "A", "id": MISSING_ID}, "unknown field 'id'"),  # read-only: not on a POST
        ({"name": "A", "membershipMethod": "MANUAL"}, "membershipMethod"),
        ({"name": "A", "membershipMethod": "DYNAMIC_AUTOMATED"}, "memberQuery is required"),
        ({"name": "A", "membershipMethod": "DYNAMIC_REVIEW_REQUIRED"}, "memberQuery is required"),
        ({"name": "A", "description": 5}, "description"),
        ({"name": "A", "email": "not-an-email"}, "email"),
        ({"name": "A", "attributes": []}, "attributes"),
        ({"name": "A", "attributes": {"sudo": {"enabled": "yes"}}}, "attributes.sudo.enabled"),
        ({"name": "A", "memberQueryExemptions": [{"id": MISSING_ID}]}, "type is required"),
        ({"name": "A", "memberSuggestionsNotify": "no"}, "memberSuggestionsNotify"),
    ],
)
def test_a_bad_group_is_refused_naming_the_field(
    api: Api, app: JumpCloudEmulator, body: dict[str, Any], fragment: str
) -> None:
    assert_error(api.post(GROUPS, json=body), 400, fragment)
    assert app.groups() == []
    assert app.writes.get("group_create", 0) == 0


def test_a_name_of_255_characters_is_taken(api: Api) -> None:
    assert create_group(api, "n" * 255)["name"] == "n" * 255


def test_a_group_body_must_be_a_json_object(api: Api) -> None:
    assert_error(api.post(GROUPS), 400, "body is required")
    assert_error(api.post(GROUPS, json=["A"]), 400, "must be a JSON object")
    text = {"Content-Type": "text/plain"}
    assert_error(api.post(GROUPS, data='{"name": "A"}', headers=text), 415)


@pytest.mark.parametrize("again", ["Engineering", "engineering", "ENGINEERING"])
def test_a_name_in_use_is_409_ignoring_case(api: Api, app: JumpCloudEmulator, again: str) -> None:
    create_group(api, "Engineering")
    body = assert_error(api.post(GROUPS, json={"name": again}), 409, "Already Exists")
    assert body["code"] == 409
    assert [group["name"] for group in app.groups()] == ["Engineering"]
    assert app.writes == {"group_create": 1}


def test_an_unknown_group_is_404(api: Api) -> None:
    create_group(api, "One")
    for group_id in (MISSING_ID, "not-an-id"):
        assert_error(api.get(f"{GROUPS}/{group_id}"), 404, "User Group not found")
        assert_error(api.get(f"{GROUPS}/{group_id}/members"), 404)
        assert_error(api.delete(f"{GROUPS}/{group_id}"), 404)
        assert_error(api.put(f"{GROUPS}/{group_id}", json={"name": "Two"}), 404)


# -- list -----------------------------------------------------------------------------------


def test_the_list_pages_by_limit_and_skip_in_creation_order(api: Api) -> None:
    made = [create_group(api, f"Group {n:02d}") for n in range(25)]
    assert list_groups(api) == made[:10]  # default limit 10
    assert list_groups(api, limit=100) == made
    assert list_groups(api, limit=7, skip=21) == made[21:]  # a short last page
    assert list_groups(api, limit=5, skip=25) == []
    assert page_all(api, GROUPS, 10) == made
    assert page_all(api, GROUPS, 5) == made  # 25 = 5 full pages, then an empty one
    response = api.get(GROUPS, params={"limit": 100})
    assert "x-total-count" not in {key.lower() for key in response.headers}


@pytest.mark.parametrize(
    "params",
    [{"limit": 101}, {"limit": 0}, {"limit": -1}, {"limit": "ten"}, {"skip": -1}, {"skip": "x"}],
)
def test_bad_paging_is_400(api: Api, params: dict[str, Any]) -> None:
    assert_error(api.get(GROUPS, params=params), 400, next(iter(params)))


def test_the_list_filters_by_exact_case_sensitive_name(api: Api) -> None:
    sales = create_group(api, "Dept - Sales")
    create_group(api, "Dept - Sales EMEA")
    timed = create_group(api, "Shift 09:00")
    dynamic = create_group(
        api, "Dept - Rules", membershipMethod="DYNAMIC_AUTOMATED", memberQuery=DYNAMIC_QUERY
    )
    assert list_groups(api, filter="name:eq:Dept - Sales") == [sales]
    assert list_groups(api, filter="name:eq:dept - sales") == []  # case-sensitive
    assert list_groups(api, filter="name:eq:Dept") == []  # exact, not a prefix
    assert list_groups(api, filter="name:eq:Shift 09:00") == [timed]  # colons in the value
    assert len(list_groups(api, filter="name:ne:Dept - Sales")) == 3
    assert list_groups(api, filter="membershipMethod:eq:DYNAMIC_AUTOMATED") == [dynamic]
    assert len(list_groups(api, filter="type:eq:user_group")) == 4
    both = api.get(
        GROUPS,
        params=[("filter", "name:ne:Dept - Sales"), ("filter", "membershipMethod:eq:NOTSET")],
    )
    assert [group["name"] for group in both.json()] == ["Dept - Sales EMEA", "Shift 09:00"]
    joined = list_groups(api, filter="name:ne:Dept - Sales,membershipMethod:eq:NOTSET")
    assert joined == both.json()  # the spec's explode=false array: joined by commas


@pytest.mark.parametrize(
    "expression",
    ["email:eq:x@example.com", "name:gt:A", "name", "name:eq", "name:eq:Sales, EMEA"],
)
def test_an_unsupported_filter_is_400(api: Api, expression: str) -> None:
    create_group(api, "Sales, EMEA")
    assert_error(api.get(GROUPS, params={"filter": expression}), 400, "not supported")


def test_the_list_sorts_and_projects(api: Api) -> None:
    for name in ("beta", "Alpha", "gamma"):
        create_group(api, name)
    assert [g["name"] for g in list_groups(api, sort="name")] == ["Alpha", "beta", "gamma"]
    assert [g["name"] for g in list_groups(api, sort="-name")] == ["gamma", "beta", "Alpha"]
    assert [g["name"] for g in list_groups(api, sort="-id")] == ["gamma", "Alpha", "beta"]
    assert_error(api.get(GROUPS, params={"sort": "color"}), 400, "sort")
    projected = list_groups(api, fields="name,membershipMethod")
    assert all(set(g) == {"id", "name", "membershipMethod"} for g in projected)


# -- rename and delete ----------------------------------------------------------------------


def test_a_put_renames_and_is_a_full_update(api: Api, app: JumpCloudEmulator) -> None:
    (user,) = users(api, 1)
    group = create_group(api, "Old name", description="kept?", email="old@example.com")
    assert change(api, group["id"], "add", user).status_code == 204
    response = api.put(f"{GROUPS}/{group['id']}", json={"name": "New name"})
    assert response.status_code == 200, response.text
    renamed = response.json()
    assert (renamed["id"], renamed["name"]) == (group["id"], "New name")
    assert (renamed["description"], renamed["email"]) == ("", "")  # left out: back to defaults
    assert api.get(f"{GROUPS}/{group['id']}").json() == renamed
    assert member_ids(api, group["id"]) == [user]  # members stay
    assert list_groups(api, filter="name:eq:Old name") == []
    assert create_group(api, "Old name")["id"] != group["id"]  # the old name is free again
    assert app.writes == {"create": 1, "group_create": 2, "group_update": 1, "member_add": 1}


def test_a_put_takes_back_what_a_get_answered(api: Api) -> None:
    group = create_group(api, "Round trip", description="d")
    edited = {**api.get(f"{GROUPS}/{group['id']}").json(), "name": "Round trip 2"}
    response = api.put(f"{GROUPS}/{group['id']}", json=edited)
    assert response.status_code == 200, response.text
    assert response.json() == {**group, "name": "Round trip 2"}
    moved = {**edited, "id": MISSING_ID}
    assert_error(api.put(f"{GROUPS}/{group['id']}", json=moved), 400, "id")


def test_a_rename_to_a_name_in_use_is_409(api: Api) -> None:
    one = create_group(api, "One")
    create_group(api, "Two")
    assert_error(api.put(f"{GROUPS}/{one['id']}", json={"name": "two"}), 409, "Already Exists")
    recased = api.put(f"{GROUPS}/{one['id']}", json={"name": "ONE"})  # its own name: fine
    assert recased.status_code == 200
    assert_error(api.put(f"{GROUPS}/{one['id']}", json={"description": "x"}), 400, "name")
    patched = api.call("PATCH", f"/api{GROUPS}/{one['id']}", json={"name": "Three"})
    assert_error(patched, 405)
    assert [g["name"] for g in list_groups(api)] == ["ONE", "Two"]


def test_a_delete_answers_204_and_the_group_is_gone(api: Api, app: JumpCloudEmulator) -> None:
    one, two = users(api, 2)
    group = create_group(api, "Doomed")
    other = create_group(api, "Stays")
    for user in (one, two):
        change(api, group["id"], "add", user)
    change(api, other["id"], "add", one)
    response = api.delete(f"{GROUPS}/{group['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert_error(api.get(f"{GROUPS}/{group['id']}"), 404)
    assert_error(api.get(f"{GROUPS}/{group['id']}/members"), 404)
    assert_error(api.delete(f"{GROUPS}/{group['id']}"), 404)
    assert list_groups(api) == [other]
    assert app.user_groups(one) == [other["id"]]
    assert create_group(api, "doomed")["name"] == "doomed"  # the name is free again


# -- members --------------------------------------------------------------------------------


def test_members_are_added_with_204_and_listed_as_graph_connections(api: Api) -> None:
    ids = users(api, 3)
    group = create_group(api, "All staff")
    assert members(api, group["id"]) == []
    for user in (ids[2], ids[0], ids[1]):
        response = change(api, group["id"], "add", user)
        assert response.status_code == 204, response.text
        assert response.content == b""
    listed = members(api, group["id"])
    assert listed == [
        {"to": {"id": user, "type": "user"}, "attributes": None}
        for user in (ids[2], ids[0], ids[1])
    ]  # in the order they joined
    assert members(api, group["id"]) == listed  # a stable order


def test_the_member_list_pages_by_limit_and_skip(api: Api, app: JumpCloudEmulator) -> None:
    app.set_users([person(n) for n in range(23)])
    ids = [user["_id"] for user in app.users()]
    group = app.add_group("Big", members=ids)
    path = f"{GROUPS}/{group['id']}/members"
    assert [m["to"]["id"] for m in members(api, group["id"])] == ids[:10]
    assert [m["to"]["id"] for m in members(api, group["id"], limit=5, skip=20)] == ids[20:]
    assert [m["to"]["id"] for m in page_all(api, path, 10)] == ids
    assert members(api, group["id"], skip=23) == []
    assert_error(api.get(path, params={"limit": 101}), 400, "limit")
    assert_error(api.get(path, params={"skip": -1}), 400, "skip")


def test_adding_a_member_already_there_is_409(api: Api, app: JumpCloudEmulator) -> None:
    (user,) = users(api, 1)
    group = create_group(api, "Once")
    assert change(api, group["id"], "add", user).status_code == 204
    body = assert_error(change(api, group["id"], "add", user), 409, "Already Exists")
    assert body["code"] == 409
    assert member_ids(api, group["id"]) == [user]
    assert app.writes["member_add"] == 1


def test_removing_a_member_answers_204_and_a_non_member_is_400(
    api: Api, app: JumpCloudEmulator
) -> None:
    one, two = users(api, 2)
    group = create_group(api, "Team")
    change(api, group["id"], "add", one)
    change(api, group["id"], "add", two)
    response = change(api, group["id"], "remove", one)
    assert response.status_code == 204
    assert response.content == b""
    assert member_ids(api, group["id"]) == [two]
    assert_error(change(api, group["id"], "remove", one), 400, "not a member")
    assert member_ids(api, group["id"]) == [two]
    assert app.writes == {"create": 2, "group_create": 1, "member_add": 2, "member_remove": 1}


def test_an_unknown_user_or_group_is_404_on_a_member_write(api: Api) -> None:
    (user,) = users(api, 1)
    group = create_group(api, "Team")
    assert_error(change(api, group["id"], "add", MISSING_ID), 404, "User not found")
    assert_error(change(api, group["id"], "remove", MISSING_ID), 404, "User not found")
    assert_error(change(api, MISSING_ID, "add", user), 404, "User Group not found")
    assert_error(change(api, group["id"], "add", group["id"]), 404)  # a group is no user
    assert member_ids(api, group["id"]) == []


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"op": "update", "type": "user"}, "op"),
        ({"op": "ADD", "type": "user"}, "op"),
        ({"type": "user"}, "op is required"),
        ({"op": "add", "type": "system"}, "type"),
        ({"op": "add"}, "type is required"),
        ({"op": "add", "type": "user", "id": None}, "id"),
        ({"op": "add", "type": "user", "id": "not-an-id"}, "id"),
        ({"op": "add", "type": "user", "id": 12}, "id"),
        ({"op": "add", "type": "user", "color": "red"}, "unknown field 'color'"),
    ],
)
def test_a_bad_member_write_is_400(
    api: Api, app: JumpCloudEmulator, body: dict[str, Any], fragment: str
) -> None:
    (user,) = users(api, 1)
    group = create_group(api, "Team")
    sent = {"id": user, **body}
    response = api.post(f"{GROUPS}/{group['id']}/members", json=sent)
    assert_error(response, 400, fragment)
    assert member_ids(api, group["id"]) == []


def test_member_attributes_are_taken(api: Api) -> None:
    (user,) = users(api, 1)
    group = create_group(api, "Team")
    assert change(api, group["id"], "add", user, attributes={"sudo": {"enabled": False}}).ok
    assert member_ids(api, group["id"]) == [user]


@pytest.mark.parametrize("method", ["DYNAMIC_AUTOMATED", "DYNAMIC_REVIEW_REQUIRED"])
def test_a_dynamic_group_refuses_member_writes(
    api: Api, app: JumpCloudEmulator, method: str
) -> None:
    one, two = users(api, 2)
    group = app.add_group("Computed", membershipMethod=method, members=[one])
    assert member_ids(api, group["id"]) == [one]  # JumpCloud's computed members are listed
    assert_error(change(api, group["id"], "add", two), 400, method, "memberQuery")
    assert_error(change(api, group["id"], "remove", one), 400, method)
    assert member_ids(api, group["id"]) == [one]
    assert app.writes.get("member_add", 0) == 0
    assert app.writes.get("member_remove", 0) == 0


def test_deleting_a_user_removes_it_from_every_group(api: Api, app: JumpCloudEmulator) -> None:
    one, two = users(api, 2)
    static = create_group(api, "Static")
    dynamic = app.add_group("Dynamic", membershipMethod="DYNAMIC_AUTOMATED", members=[one, two])
    change(api, static["id"], "add", one)
    change(api, static["id"], "add", two)
    assert api.delete(f"/systemusers/{one}").status_code == 200
    assert member_ids(api, static["id"]) == [two]
    assert member_ids(api, dynamic["id"]) == [two]
    assert app.user_groups(one) == []


# -- faults, auth and the log ---------------------------------------------------------------


@pytest.mark.parametrize("kind", ["commit_then_503", "commit_then_drop"])
def test_a_commit_fault_stores_the_group_and_loses_the_answer(
    api: Api, app: JumpCloudEmulator, kind: str
) -> None:
    app.faults.script(kind, method="POST", path="/api/v2/usergroups")
    if kind == "commit_then_drop":
        with pytest.raises(requests.ConnectionError):
            api.post(GROUPS, json={"name": "Lost answer"})
    else:
        assert_error(api.post(GROUPS, json={"name": "Lost answer"}), 503)
    assert [group["name"] for group in list_groups(api)] == ["Lost answer"]
    assert_error(api.post(GROUPS, json={"name": "Lost answer"}), 409)  # a blind retry clashes
    assert app.requests("POST", "/api/v2/usergroups")[0].fault == kind


@pytest.mark.parametrize("kind", ["commit_then_503", "commit_then_drop"])
@pytest.mark.parametrize("op", ["add", "remove"])
def test_a_commit_fault_stores_the_member_write(
    api: Api, app: JumpCloudEmulator, kind: str, op: str
) -> None:
    (user,) = users(api, 1)
    group = create_group(api, "Team")
    if op == "remove":
        change(api, group["id"], "add", user)
    app.faults.script(kind, method="POST", path=r"/api/v2/usergroups/[0-9a-f]{24}/members")
    if kind == "commit_then_drop":
        with pytest.raises(requests.ConnectionError):
            change(api, group["id"], op, user)
    else:
        assert_error(change(api, group["id"], op, user), 503)
    assert member_ids(api, group["id"]) == ([user] if op == "add" else [])
    retry = change(api, group["id"], op, user)  # sent again blind: answered as already done
    assert_error(retry, 409 if op == "add" else 400)


@pytest.mark.parametrize("kind", ["500", "502", "503", "429", "drop"])
def test_a_fault_before_the_commit_stores_nothing(
    api: Api, app: JumpCloudEmulator, kind: str
) -> None:
    (user,) = users(api, 1)
    group = create_group(api, "Team")
    app.faults.script(kind, method="POST", path=r"/api/v2/usergroups(/[^/]+/members)?", count=2)
    for send in (
        lambda: api.post(GROUPS, json={"name": "Never"}),
        lambda: change(api, group["id"], "add", user),
    ):
        if kind == "drop":
            with pytest.raises(requests.ConnectionError):
                send()
        else:
            assert send().status_code == int(kind)
    assert [g["name"] for g in list_groups(api)] == ["Team"]
    assert member_ids(api, group["id"]) == []


def test_a_rate_limit_on_the_group_routes_carries_retry_after_or_not(
    api: Api, app: JumpCloudEmulator
) -> None:
    group = create_group(api, "Team")
    app.faults.script("429_retry_after", method="GET", path="/api/v2/usergroups", seconds=2)
    app.faults.script("429", method="GET", path=r"/api/v2/usergroups/[^/]+/members")
    limited = api.get(GROUPS)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "2"
    bare = api.get(f"{GROUPS}/{group['id']}/members")
    assert_error(bare, 429)
    assert "Retry-After" not in bare.headers
    assert api.get(GROUPS).status_code == 200
    assert api.get(f"{GROUPS}/{group['id']}/members").status_code == 200
    assert app.counters()["faults_injected"] == {"429_retry_after": 1, "429": 1}


def test_a_commit_fault_on_a_group_delete_deletes_it(api: Api, app: JumpCloudEmulator) -> None:
    group = create_group(api, "Doomed")
    app.faults.script("commit_then_503", method="DELETE", path=r"/api/v2/usergroups/.*")
    assert_error(api.delete(f"{GROUPS}/{group['id']}"), 503)
    assert app.groups() == []
    assert_error(api.delete(f"{GROUPS}/{group['id']}"), 404)


NEW_ROUTES = [
    ("GET", "/api/v2/usergroups"),
    ("POST", "/api/v2/usergroups"),
    ("GET", f"/api/v2/usergroups/{MISSING_ID}"),
    ("PUT", f"/api/v2/usergroups/{MISSING_ID}"),
    ("DELETE", f"/api/v2/usergroups/{MISSING_ID}"),
    ("GET", f"/api/v2/usergroups/{MISSING_ID}/members"),
    ("POST", f"/api/v2/usergroups/{MISSING_ID}/members"),
    ("POST", f"/api/systemusers/{MISSING_ID}/resetmfa"),
    ("POST", f"/api/systemusers/{MISSING_ID}/expire"),
]


@pytest.mark.parametrize(("method", "path"), NEW_ROUTES)
def test_every_new_route_needs_the_api_key(
    jumpcloud_emulator: EmulatorServer[JumpCloudEmulator], method: str, path: str
) -> None:
    app = jumpcloud_emulator.app
    app.add_group("Existing")
    for headers in ({}, {"x-api-key": "wrong"}, {"x-api-key": ""}):
        response = requests.request(
            method, f"{jumpcloud_emulator.url}{path}", headers=headers, json={}, timeout=10
        )
        assert_error(response, 401)
    assert len(app.groups()) == 1
    assert app.writes == {}


def test_a_multi_tenant_key_needs_x_org_id_on_the_group_routes() -> None:
    with EmulatorServer(JumpCloudEmulator(api_key=KEY, org_id=ORG)) as server:
        client = Api(server)
        assert_error(client.post(GROUPS, json={"name": "A"}), 401, "x-org-id")
        client.session.headers["x-org-id"] = ORG
        group = create_group(client, "A")
        (user,) = users(client, 1)
        assert change(client, group["id"], "add", user).status_code == 204
        assert client.post(f"/systemusers/{user}/resetmfa").status_code == 200
        client.session.close()


def test_the_group_calls_are_in_the_request_log(api: Api, app: JumpCloudEmulator) -> None:
    (user,) = users(api, 1)
    app.reset_log()
    app.log_bodies = True
    group = create_group(api, "Logged")
    change(api, group["id"], "add", user)
    list_groups(api, limit=100)
    logged = [(e.method, e.path, e.status) for e in app.requests()]
    assert logged == [
        ("POST", "/api/v2/usergroups", 201),
        ("POST", f"/api/v2/usergroups/{group['id']}/members", 204),
        ("GET", "/api/v2/usergroups", 200),
    ]
    assert app.requests("POST", r"/api/v2/usergroups/.*/members")[0].body == {
        "op": "add",
        "type": "user",
        "id": user,
    }
    counters = app.counters()
    assert counters["groups"] == 1
    assert counters["writes"] == {"group_create": 1, "member_add": 1}


# -- MFA reset and password expiry (V1) -----------------------------------------------------


def enrolled(**statuses: str) -> dict[str, str]:
    keys = ("overallStatus", "totpStatus", "webAuthnStatus", "pushStatus", "smsStatus")
    return {**dict.fromkeys(keys, "NOT_ENROLLED"), "jcGoStatus": "NOT_ENROLLED", **statuses}


def test_resetmfa_answers_200_with_a_json_string_and_resets_totp(
    api: Api, app: JumpCloudEmulator
) -> None:
    app.set_users(
        [
            person(
                1,
                mfa={"configured": True, "exclusion": False},
                totp_enabled=True,
                mfaEnrollment=enrolled(overallStatus="ENROLLED", totpStatus="ENROLLED"),
            ),
            person(
                2,
                totp_enabled=True,
                mfaEnrollment=enrolled(
                    overallStatus="ENROLLED", totpStatus="ENROLLED", pushStatus="ENROLLED"
                ),
            ),
        ]
    )
    user, other = (u["_id"] for u in app.users())
    response = api.post(f"/systemusers/{user}/resetmfa")
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == ""  # the spec's `type: string`: never a user object
    after = api.get(f"/systemusers/{user}").json()
    assert after["mfa"] == {"configured": False, "exclusion": False}
    assert after["totp_enabled"] is False
    assert after["mfaEnrollment"] == enrolled()
    state = app.credential_actions(user)
    assert state["mfa_resets"] == 1
    assert state["last_mfa_reset"] == {"at": "2027-03-01T09:30:00.000Z", "body": {}}
    assert state["password_expired"] is False
    assert app.writes == {"resetmfa": 1}
    assert api.post(f"/systemusers/{user}/resetmfa", json={}).status_code == 200
    assert app.credential_actions(user)["mfa_resets"] == 2
    assert api.post(f"/systemusers/{other}/resetmfa").status_code == 200
    kept = api.get(f"/systemusers/{other}").json()["mfaEnrollment"]  # push is still enrolled
    assert kept == enrolled(overallStatus="ENROLLED", pushStatus="ENROLLED")
    assert app.get_user(other)["totp_enabled"] is False  # type: ignore[index]


def test_resetmfa_sets_the_exclusion_it_is_given(api: Api, app: JumpCloudEmulator) -> None:
    (user,) = users(api, 1)
    path = f"/systemusers/{user}/resetmfa"
    assert api.post(path, json={"exclusion": True, "exclusionDays": 3}).status_code == 200
    mfa = app.get_user(user)["mfa"]  # type: ignore[index]
    assert mfa == {
        "configured": False,
        "exclusion": True,
        "exclusionDays": 3,
        "exclusionUntil": "2027-03-04T09:30:00Z",
    }
    until = {"exclusion": True, "exclusionUntil": "2027-03-10T12:00:00+01:00"}
    assert api.post(path, json=until).status_code == 200
    mfa = app.get_user(user)["mfa"]  # type: ignore[index]
    assert mfa == {"configured": False, "exclusion": True, "exclusionUntil": "2027-03-10T11:00:00Z"}
    assert api.post(path).status_code == 200  # no body: the exclusion stays
    assert app.get_user(user)["mfa"] == mfa  # type: ignore[index]
    assert api.post(path, json={"exclusion": False}).status_code == 200
    assert app.get_user(user)["mfa"] == {"configured": False, "exclusion": False}  # type: ignore[index]
    assert app.credential_actions(user)["mfa_resets"] == 4


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"color": "red"}, "unknown field 'color'"),
        ({"exclusion": "yes"}, "exclusion"),
        ({"exclusion": True, "exclusionDays": 0}, "exclusionDays"),
        ({"exclusion": True, "exclusionDays": "2"}, "exclusionDays"),
        ({"exclusionDays": 2}, '"exclusion": true'),
        ({"exclusion": False, "exclusionUntil": "2027-03-05T00:00:00Z"}, '"exclusion": true'),
        (
            {"exclusion": True, "exclusionDays": 2, "exclusionUntil": "2027-03-05T00:00:00Z"},
            "not both",
        ),
        ({"exclusion": True, "exclusionUntil": "2027-03-05"}, "RFC 3339"),
        ({"exclusion": True, "exclusionUntil": "2027-02-28T00:00:00Z"}, "in the future"),
    ],
)
def test_a_bad_resetmfa_body_is_400(
    api: Api, app: JumpCloudEmulator, body: dict[str, Any], fragment: str
) -> None:
    (user,) = users(api, 1)
    before = app.get_user(user)
    assert_error(api.post(f"/systemusers/{user}/resetmfa", json=body), 400, fragment)
    assert app.get_user(user) == before
    assert app.credential_actions(user)["mfa_resets"] == 0


def test_resetmfa_needs_a_json_body_when_one_is_sent(api: Api) -> None:
    (user,) = users(api, 1)
    text = {"Content-Type": "text/plain"}
    path = f"/systemusers/{user}/resetmfa"
    assert_error(api.post(path, data='{"exclusion": false}', headers=text), 415)
    assert_error(api.post(path, json=[1]), 400, "must be a JSON object")


def test_expire_answers_200_and_expires_the_password(api: Api, app: JumpCloudEmulator) -> None:
    user = api.create(**person(1), password="Initial-Passw0rd!")
    assert user["password_expired"] is False
    response = api.post(f"/systemusers/{user['_id']}/expire")
    assert response.status_code == 200, response.text
    assert response.json() == ""
    after = api.get(f"/systemusers/{user['_id']}").json()
    assert after["password_expired"] is True
    assert after["password_expiration_date"] == "2027-03-01T09:30:00.000Z"
    state = app.credential_actions(user["_id"])
    assert state["password_expired"] is True
    assert state["password_expired_at"] == "2027-03-01T09:30:00.000Z"
    assert state["password_expirations"] == 1
    app.advance(dt.timedelta(hours=1))
    assert api.post(f"/systemusers/{user['_id']}/expire").status_code == 200  # again: fine
    assert app.credential_actions(user["_id"])["password_expirations"] == 2
    assert app.writes == {"create": 1, "expire": 2}
    assert api.put(f"/systemusers/{user['_id']}", json={"password": "N3w-Passw0rd!"}).ok
    assert api.get(f"/systemusers/{user['_id']}").json()["password_expired"] is False
    assert app.credential_actions(user["_id"])["password_expired_at"] is None


def test_expire_takes_no_body(api: Api, app: JumpCloudEmulator) -> None:
    (user,) = users(api, 1)
    assert_error(api.post(f"/systemusers/{user}/expire", json={}), 400, "body must be empty")
    assert app.get_user(user)["password_expired"] is False  # type: ignore[index]


def test_mfa_and_expiry_of_an_unknown_user_are_404(api: Api, app: JumpCloudEmulator) -> None:
    for user_id in (MISSING_ID, "nope"):
        assert_error(api.post(f"/systemusers/{user_id}/resetmfa"), 404, "User not found")
        assert_error(api.post(f"/systemusers/{user_id}/expire"), 404, "User not found")
    assert app.writes == {}


def test_a_suspended_user_can_have_its_mfa_reset_and_password_expired(api: Api) -> None:
    (user,) = users(api, 1)
    assert api.post(f"/systemusers/{user}/state/suspend").status_code == 200
    assert api.post(f"/systemusers/{user}/resetmfa").status_code == 200
    assert api.post(f"/systemusers/{user}/expire").status_code == 200
    after = api.get(f"/systemusers/{user}").json()
    assert (after["state"], after["password_expired"]) == ("SUSPENDED", True)


@pytest.mark.parametrize("kind", ["commit_then_503", "commit_then_drop"])
def test_a_commit_fault_on_resetmfa_and_expire_keeps_the_change(
    api: Api, app: JumpCloudEmulator, kind: str
) -> None:
    (user,) = users(api, 1)
    app.faults.script(
        kind, method="POST", path=r"/api/systemusers/[^/]+/(resetmfa|expire)", count=2
    )
    for step in ("resetmfa", "expire"):
        if kind == "commit_then_drop":
            with pytest.raises(requests.ConnectionError):
                api.post(f"/systemusers/{user}/{step}")
        else:
            assert_error(api.post(f"/systemusers/{user}/{step}"), 503)
    state = app.credential_actions(user)
    assert (state["mfa_resets"], state["password_expired"]) == (1, True)


def test_a_deleted_users_credential_record_is_gone_with_it(
    api: Api, app: JumpCloudEmulator
) -> None:
    one, two = users(api, 2)
    api.post(f"/systemusers/{one}/resetmfa")
    api.post(f"/systemusers/{two}/resetmfa")
    api.delete(f"/systemusers/{one}")
    assert app.credential_actions(two)["mfa_resets"] == 1
    with pytest.raises(ValueError, match="User not found"):
        app.credential_actions(one)


# -- seeding and reading, from Python and over the control routes ---------------------------


def test_groups_are_seeded_and_read_from_python(app: JumpCloudEmulator) -> None:
    app.set_users([person(n) for n in range(3)])
    one, two, three = (user["_id"] for user in app.users())
    static = app.add_group("Static", membershipMethod="STATIC", members=[two, one, two])
    dynamic = app.add_group("Dynamic", membershipMethod="DYNAMIC_REVIEW_REQUIRED")
    assert static["members"] == [two, one]  # duplicates collapse, order kept
    assert dynamic["memberQuery"] == {"queryType": "FilterQuery", "filters": []}
    assert dynamic["members"] == []
    assert [g["name"] for g in app.groups()] == ["Static", "Dynamic"]
    assert app.find_group("sTaTiC") == app.group(static["id"]) == static
    assert app.find_group("Nope") is None
    assert app.group(MISSING_ID) is None
    app.set_group_members(dynamic["id"], [three, one])
    app.add_group_member(static["id"], three)
    app.add_group_member(static["id"], three)  # an administrator's hand: no error
    app.remove_group_member(static["id"], two)
    assert app.group(static["id"])["members"] == [one, three]  # type: ignore[index]
    assert app.user_groups(one) == [static["id"], dynamic["id"]]
    app.delete_group(dynamic["id"])
    assert app.user_groups(one) == [static["id"]]
    with pytest.raises(ValueError, match="User not found"):
        app.add_group("Ghosts", members=[MISSING_ID])
    with pytest.raises(ValueError, match="Already Exists"):
        app.add_group("STATIC")
    with pytest.raises(ValueError, match="name must be at most 255"):
        app.add_group("x" * 256)
    assert len(app.groups()) == 1
    app.clear()
    assert app.groups() == []


def test_seeded_groups_are_not_api_writes_and_not_logged(app: JumpCloudEmulator) -> None:
    app.add_group("Quiet")
    assert app.writes == {}
    assert app.requests() == []


def test_the_control_routes_seed_and_list_groups_and_show_credential_state(
    api: Api, app: JumpCloudEmulator
) -> None:
    root = api.root
    one, two = users(api, 2)
    answer = requests.post(
        f"{root}/_emulator/groups",
        json=[
            {"name": "Static", "members": [one, two]},
            {"name": "Rules", "membershipMethod": "DYNAMIC_AUTOMATED", "members": [two]},
        ],
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert [(g["name"], g["members"]) for g in answer.json()] == [
        ("Static", [one, two]),
        ("Rules", [two]),
    ]
    single = requests.post(f"{root}/_emulator/groups", json={"name": "Solo"}, timeout=10)
    assert single.json()["name"] == "Solo"
    listed = requests.get(f"{root}/_emulator/groups", timeout=10).json()
    assert listed == app.groups()
    assert [g["membershipMethod"] for g in listed] == ["NOTSET", "DYNAMIC_AUTOMATED", "NOTSET"]
    refused: list[tuple[Any, int, str]] = [
        ({"members": []}, 400, "name"),
        ({"name": "X", "members": "nope"}, 400, "members must be a list"),
        ([1], 400, "send a group object"),
        ({"name": "static"}, 409, "Already Exists"),
        ({"name": "X", "members": [MISSING_ID]}, 404, "User not found"),
    ]
    for body, status, fragment in refused:
        response = requests.post(f"{root}/_emulator/groups", json=body, timeout=10)
        assert_error(response, status, fragment)
    assert len(app.groups()) == 3
    api.post(f"/systemusers/{two}/resetmfa")
    api.post(f"/systemusers/{two}/expire")
    shown = {
        u["_id"]: u["_emulator"] for u in requests.get(f"{root}/_emulator/users", timeout=10).json()
    }
    assert shown[one] == {
        "mfa_resets": 0,
        "last_mfa_reset": None,
        "password_expirations": 0,
        "password_expired": False,
        "password_expired_at": None,
        "groups": ["Static"],
    }
    assert shown[two]["mfa_resets"] == 1
    assert shown[two]["password_expired"] is True
    assert shown[two]["password_expired_at"] == "2027-03-01T09:30:00.000Z"
    assert shown[two]["groups"] == ["Static", "Rules"]
    assert "_emulator" not in app.users()[0]  # the Python snapshot stays a plain user
    assert requests.post(f"{root}/_emulator/reset", timeout=10).json() == {"ok": True}
    assert requests.get(f"{root}/_emulator/groups", timeout=10).json() == []
    assert app.users() == []
