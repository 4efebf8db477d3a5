"""The V2 user-group calls (docs/groups.md) against the emulator: paging, retries, lost answers.

No fault pattern may make a duplicate group or a member write the sync did not mean: a
lost answer is checked (by name, or by listing the members) before anything is sent again.
"""

from __future__ import annotations

import pytest
from target_jumpcloud.jumpcloud.errors import JumpCloudError

from tests.target_jumpcloud.target_io_helpers import fast_client, seed_user

RETRIED = ["429", "500", "502", "503", "drop"]
LOST = ["commit_then_503", "commit_then_drop"]
MEMBERS = r"/api/v2/usergroups/[0-9a-f]{24}/members"


@pytest.fixture
def app(jumpcloud_emulator):
    return jumpcloud_emulator.app


@pytest.fixture
def client(jumpcloud_api_url):
    return fast_client(jumpcloud_api_url)


def users(app, count: int) -> list[str]:
    return [seed_user(app, f"u{i}", f"u{i}@acme.example")["_id"] for i in range(count)]


def test_groups_and_members_are_listed_100_a_page_until_a_short_page(app, client):
    ids = users(app, 250)
    for i in range(200):
        app.add_group(f"G{i:03d}")
    big = app.add_group("Big", members=ids)
    groups = client.list_groups()
    assert len(groups) == 201
    assert len(app.requests("GET", "/api/v2/usergroups")) == 3
    assert client.list_group_members(big["id"]) == ids
    assert len(app.requests("GET", f"/api/v2/usergroups/{big['id']}/members")) == 3
    assert client.find_group("big") is not None
    assert client.find_group("Nope") is None


@pytest.mark.parametrize("kind", RETRIED)
def test_every_group_endpoint_retries_transient_faults(app, client, kind):
    (user,) = users(app, 1)
    team = app.add_group("Team")
    app.faults.script(kind, path=r"/api/v2/usergroups.*", count=1)
    assert [g.name for g in client.list_groups()] == ["Team"]
    app.faults.script(kind, path=MEMBERS, count=1)
    assert client.list_group_members(team["id"]) == []
    app.faults.script(kind, method="POST", path="/api/v2/usergroups", count=1)
    made = client.create_group("New")
    app.faults.script(kind, method="POST", path=MEMBERS, count=1)
    client.add_group_member(made.id, user)
    app.faults.script(kind, method="POST", path=MEMBERS, count=1)
    client.remove_group_member(made.id, user)
    assert [g["name"] for g in app.groups()] == ["Team", "New"]
    assert app.group(made.id)["members"] == []
    assert app.writes["member_add"] == app.writes["member_remove"] == 1


@pytest.mark.parametrize("kind", LOST)
def test_a_create_whose_answer_is_lost_is_looked_up_never_made_twice(app, client, kind):
    app.faults.script(kind, method="POST", path="/api/v2/usergroups")
    made = client.create_group("Lost answer")
    assert [g["name"] for g in app.groups()] == ["Lost answer"]
    assert made.id == app.groups()[0]["id"]
    assert app.writes["group_create"] == 1


def test_a_create_refused_because_the_name_is_taken_finds_that_group(app, client):
    other = app.add_group("ALL STAFF")
    assert client.create_group("All staff").id == other["id"]
    assert len(app.groups()) == 1


@pytest.mark.parametrize("kind", LOST)
@pytest.mark.parametrize("op", ["add", "remove"])
def test_a_member_write_whose_answer_is_lost_is_checked_not_repeated(app, client, kind, op):
    (user,) = users(app, 1)
    team = app.add_group("Team", members=[user] if op == "remove" else [])
    app.faults.script(kind, method="POST", path=MEMBERS)
    if op == "add":
        client.add_group_member(team["id"], user)
    else:
        client.remove_group_member(team["id"], user)
    assert app.group(team["id"])["members"] == ([user] if op == "add" else [])
    assert app.writes[f"member_{op}"] == 1
    assert len(app.requests("GET", f"/api/v2/usergroups/{team['id']}/members")) == 1


def test_already_a_member_and_not_a_member_count_as_done(app, client):
    a, b = users(app, 2)
    team = app.add_group("Team", members=[a])
    client.add_group_member(team["id"], a)
    client.remove_group_member(team["id"], b)
    assert app.group(team["id"])["members"] == [a]


def test_a_write_to_a_dynamic_group_fails_with_jumpclouds_reason(app, client):
    (user,) = users(app, 1)
    dynamic = app.add_group("Auto", membershipMethod="DYNAMIC_AUTOMATED")
    with pytest.raises(JumpCloudError, match="DYNAMIC_AUTOMATED"):
        client.add_group_member(dynamic["id"], user)


def test_answers_lost_every_time_give_up_with_a_clear_error(app, client):
    (user,) = users(app, 1)
    dynamic = app.add_group("Team")
    app.faults.script("503", method="POST", path=MEMBERS, count=100)
    with pytest.raises(JumpCloudError, match="the next run tries again"):
        client.add_group_member(dynamic["id"], user)
    assert app.group(dynamic["id"])["members"] == []
