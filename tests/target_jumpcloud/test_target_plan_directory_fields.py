"""Plan → review → apply with managers and custom attributes.

The target in process against the JumpCloud emulator over loopback: a dry run writes the plan
file, an administrator may edit JumpCloud in between, and the apply run performs exactly the
reviewed plan, checked against JumpCloud as it is then.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
import requests

from tests.target_jumpcloud.target_io_helpers import (
    KEY,
    assert_three_levels_created_managers_first,
    by_profile,
    make_target,
    managers,
    reports_to,
    run_target,
    singer_text,
    writes,
)

if TYPE_CHECKING:
    from pathlib import Path

    from target_jumpcloud.target import TargetJumpCloud

    from tests.emulators.jumpcloud import JumpCloudEmulator

MAPPING = {"manager": "direct_manager.id", "attributes.workerType": "hiring_type"}


@pytest.fixture
def app(jumpcloud_emulator: Any) -> JumpCloudEmulator:
    emulator: JumpCloudEmulator = jumpcloud_emulator.app
    emulator.log_bodies = True
    return emulator


# Listed reports first: the apply must still create the managers first.
ORG = [
    reports_to("p4", "Grace", "Hopper", "p2"),
    reports_to("p5", "Kat", "Johnson", "p2", hiring_type="eor"),
    reports_to("p6", "Edsger", "Dijkstra", "p3"),
    reports_to("p7", "Barbara", "Liskov", "p3"),
    reports_to("p2", "Alan", "Turing", "p1"),
    reports_to("p3", "John", "Neumann", "p1"),
    reports_to("p1", "Ada", "Lovelace", None),
]


def admin_edit(url: str, user_id: str, **fields: Any) -> None:
    """An administrator's edit in JumpCloud, through the API as the console makes it."""
    response = requests.put(
        f"{url}/systemusers/{user_id}", json=fields, headers={"x-api-key": KEY}, timeout=10
    )
    assert response.status_code == 200, response.text


def make_plan(url: str, people: list[dict[str, Any]], path: Path, **settings: Any) -> dict:
    """A dry run with `plan_path`: the plan file's document."""
    run_target(
        url,
        singer_text(people),
        mapping=MAPPING,
        dry_run=True,
        plan_path=str(path),
        **settings,
    )
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def apply(url: str, path: Path, **settings: Any) -> TargetJumpCloud:
    """An apply run of the plan file at `path` (it reads no input)."""
    settings.setdefault("mapping", MAPPING)
    target = make_target(url, apply_plan=str(path), **settings)
    target.listen_after_start(None)
    return target


def records(target: TargetJumpCloud) -> dict[str, dict[str, Any]]:
    assert target.sync_run.report is not None
    return {r["deel_id"]: r for r in target.sync_run.report.to_json()["records"]}


def test_a_dry_run_with_a_plan_path_writes_manager_and_custom_attribute_changes(
    app, jumpcloud_api_url, tmp_path
):
    document = make_plan(jumpcloud_api_url, ORG, tmp_path / "plan.json")
    assert writes(app) == []
    actions = {a["deel_id"]: a for a in document["actions"]}
    assert sorted(actions) == ["p1", "p2", "p3", "p4", "p5", "p6", "p7"]
    assert "manager" not in actions["p1"]
    assert actions["p2"]["manager"] == {
        "before": None,
        "after": None,
        "before_username": None,
        "after_username": "ada.lovelace",
        "after_deel_id": "p1",
    }
    assert actions["p5"]["attributes"]["attributes.workerType"] == {"before": None, "after": "eor"}
    assert actions["p5"]["manager"]["after_deel_id"] == "p2"
    assert "attributes" not in {
        name for action in actions.values() for name in action["attributes"]
    }  # never the whole list


def test_a_new_three_level_organisation_is_applied_managers_first_and_once(
    app, jumpcloud_api_url, tmp_path
):
    path = tmp_path / "plan.json"
    make_plan(jumpcloud_api_url, ORG, path)
    target = apply(jumpcloud_api_url, path)
    assert [e.method for e in writes(app)] == ["POST"] * 7  # no follow-up PUT
    assert_three_levels_created_managers_first(app)
    assert by_profile(app)["p5"]["attributes"] == [{"name": "workerType", "value": "eor"}]
    assert {pid: r["outcome"] for pid, r in records(target).items()} == dict.fromkeys(
        ["p1", "p2", "p3", "p4", "p5", "p6", "p7"], "created"
    )

    app.reset_log()
    again = apply(jumpcloud_api_url, path)
    assert writes(app) == []
    assert {r["outcome"] for r in records(again).values()} == {"unchanged"}


def test_a_cycle_of_new_managers_costs_one_follow_up_put_on_apply(app, jumpcloud_api_url, tmp_path):
    people = [
        reports_to("p1", "Ada", "Lovelace", "p2"),
        reports_to("p2", "Alan", "Turing", "p1"),
        reports_to("p3", "Grace", "Hopper", "p1"),
    ]
    path = tmp_path / "plan.json"
    make_plan(jumpcloud_api_url, people, path)
    apply(jumpcloud_api_url, path)
    assert sorted(e.method for e in writes(app)) == ["POST", "POST", "POST", "PUT"]
    assert managers(app) == {"p1": "p2", "p2": "p1", "p3": "p1"}
    app.reset_log()
    apply(jumpcloud_api_url, path)
    assert writes(app) == []


def first_sync(url: str, people: list[dict[str, Any]]) -> None:
    run_target(url, singer_text(people), mapping=MAPPING)


def test_a_manager_change_is_planned_by_ids_and_applied_once(app, jumpcloud_api_url, tmp_path):
    first_sync(jumpcloud_api_url, ORG)
    app.reset_log()
    moved = [reports_to("p4", "Grace", "Hopper", "p3"), *ORG[1:]]
    path = tmp_path / "plan.json"
    document = make_plan(jumpcloud_api_url, moved, path)
    ids = {pid: u["_id"] for pid, u in by_profile(app).items()}
    (action,) = document["actions"]
    assert action["deel_id"] == "p4"
    assert action["attributes"] == {}
    assert action["manager"] == {
        "before": ids["p2"],
        "after": ids["p3"],
        "before_username": "alan.turing",
        "after_username": "john.neumann",
    }
    target = apply(jumpcloud_api_url, path)
    (put,) = writes(app)
    assert put.body == {"manager": ids["p3"]}
    assert records(target)["p4"]["changes"] == {"manager": ["alan.turing", "john.neumann"]}
    app.reset_log()
    again = apply(jumpcloud_api_url, path)
    assert writes(app) == []
    assert records(again)["p4"]["outcome"] == "unchanged"


def test_a_manager_changed_by_hand_since_the_plan_is_a_conflict(app, jumpcloud_api_url, tmp_path):
    first_sync(jumpcloud_api_url, ORG)
    moved = [reports_to("p4", "Grace", "Hopper", "p3"), *ORG[1:]]
    path = tmp_path / "plan.json"
    make_plan(jumpcloud_api_url, moved, path)
    ids = {pid: u["_id"] for pid, u in by_profile(app).items()}
    admin_edit(jumpcloud_api_url, ids["p4"], manager=ids["p1"])  # IT moves Grace meanwhile
    app.reset_log()
    target = apply(jumpcloud_api_url, path)
    assert writes(app) == []
    entry = records(target)["p4"]
    assert entry["outcome"] == "conflict"
    assert entry["reason"] == (
        "changed since the plan was made: manager: 'alan.turing' → 'ada.lovelace'"
    )
    assert by_profile(app)["p4"]["manager"] == ids["p1"]  # the edit stands


def test_a_new_manager_of_an_existing_user_is_created_before_the_update(
    app, jumpcloud_api_url, tmp_path
):
    first_sync(jumpcloud_api_url, ORG)
    app.reset_log()
    hired = [
        reports_to("p4", "Grace", "Hopper", "p8"),
        *ORG[1:],
        reports_to("p8", "Frances", "Allen", "p1"),
    ]
    path = tmp_path / "plan.json"
    document = make_plan(jumpcloud_api_url, hired, path)
    grace = next(a for a in document["actions"] if a["deel_id"] == "p4")
    assert grace["manager"]["after_deel_id"] == "p8"
    assert grace["manager"]["after_username"] == "frances.allen"
    target = apply(jumpcloud_api_url, path)
    assert [e.method for e in writes(app)] == ["POST", "PUT"]
    assert managers(app)["p4"] == "p8"
    assert managers(app)["p8"] == "p1"
    assert records(target)["p4"]["changes"] == {"manager": ["alan.turing", "frances.allen"]}
    app.reset_log()
    apply(jumpcloud_api_url, path)
    assert writes(app) == []


# -- custom attributes ------------------------------------------------------------------------

ADMIN = {"name": "hrSource", "value": "workday"}


def test_an_unmanaged_attribute_edited_between_plan_and_apply_is_kept(
    app, jumpcloud_api_url, tmp_path
):
    ada = reports_to("p1", "Ada", "Lovelace", None, hiring_type="contractor")
    first_sync(jumpcloud_api_url, [ada])
    (user,) = app.users()
    admin_edit(jumpcloud_api_url, user["_id"], attributes=[ADMIN, *user["attributes"]])
    app.reset_log()
    path = tmp_path / "plan.json"
    document = make_plan(jumpcloud_api_url, [{**ada, "hiring_type": "eor"}], path)
    (action,) = document["actions"]
    assert action["attributes"] == {
        "employeeType": {"before": "contractor", "after": "eor"},
        "attributes.workerType": {"before": "contractor", "after": "eor"},
    }
    # The administrator edits their own attribute and adds one after the plan was made.
    badge = {"name": "badge", "value": "0042"}
    admin_edit(
        jumpcloud_api_url,
        user["_id"],
        attributes=[{"name": "hrSource", "value": "sap"}, *user["attributes"], badge],
    )
    app.reset_log()
    target = apply(jumpcloud_api_url, path)
    (put,) = writes(app)
    assert put.body == {
        "employeeType": "eor",
        "attributes": [
            {"name": "hrSource", "value": "sap"},
            {"name": "workerType", "value": "eor"},
            badge,
        ],
    }
    assert records(target)["p1"]["changes"] == {
        "employeeType": ["contractor", "eor"],
        "attributes.workerType": ["contractor", "eor"],
    }
    app.reset_log()
    again = apply(jumpcloud_api_url, path)
    assert writes(app) == []
    assert records(again)["p1"]["outcome"] == "unchanged"


def test_a_managed_attribute_edited_since_the_plan_is_a_conflict(app, jumpcloud_api_url, tmp_path):
    ada = reports_to("p1", "Ada", "Lovelace", None, hiring_type="contractor")
    first_sync(jumpcloud_api_url, [ada])
    (user,) = app.users()
    path = tmp_path / "plan.json"
    make_plan(jumpcloud_api_url, [{**ada, "hiring_type": "eor"}], path)
    admin_edit(jumpcloud_api_url, user["_id"], attributes=[{"name": "workerType", "value": "x"}])
    app.reset_log()
    target = apply(jumpcloud_api_url, path)
    assert writes(app) == []
    entry = records(target)["p1"]
    assert entry["outcome"] == "conflict"
    assert entry["reason"] == (
        "changed since the plan was made: attributes.workerType: 'contractor' → 'x'"
    )


def test_create_only_attributes_are_in_the_create_and_never_in_an_update(
    app, jumpcloud_api_url, tmp_path
):
    settings = {"create_only_attributes": ["attributes.workerType", "jobTitle"]}
    ada = reports_to("p1", "Ada", "Lovelace", None, hiring_type="contractor")
    path = tmp_path / "plan.json"
    document = make_plan(jumpcloud_api_url, [ada], path, **settings)
    assert document["settings"]["create_only_attributes"] == ["attributes.workerType", "jobTitle"]
    apply(jumpcloud_api_url, path, **settings)
    (post,) = writes(app)
    assert post.body["attributes"] == [{"name": "workerType", "value": "contractor"}]
    assert post.body["jobTitle"] == "Engineer"
    app.reset_log()
    changed = {**ada, "hiring_type": "eor", "job_title": "Lead", "work_location": "Paris"}
    document = make_plan(jumpcloud_api_url, [changed], path, **settings)
    (action,) = document["actions"]
    assert action["attributes"] == {  # (employeeType is mapped from hiring_type too)
        "employeeType": {"before": "contractor", "after": "eor"},
        "location": {"before": "Berlin", "after": "Paris"},
    }
    apply(jumpcloud_api_url, path, **settings)
    (put,) = writes(app)
    assert put.body == {"employeeType": "eor", "location": "Paris"}
    assert by_profile(app)["p1"]["attributes"] == [{"name": "workerType", "value": "contractor"}]


def test_an_apply_reads_what_the_plan_writes_whatever_its_own_mapping(
    app, jumpcloud_api_url, tmp_path
):
    """The apply's config need not map `manager` or the custom attribute: the plan decides."""
    ada = reports_to("p1", "Ada", "Lovelace", None, hiring_type="contractor")
    first_sync(jumpcloud_api_url, [ada, reports_to("p2", "Alan", "Turing", "p1")])
    (user,) = [u for u in app.users() if u["employeeIdentifier"] == "p1"]
    admin_edit(jumpcloud_api_url, user["_id"], attributes=[ADMIN, *user["attributes"]])
    path = tmp_path / "plan.json"
    people = [{**ada, "hiring_type": "eor"}, reports_to("p2", "Alan", "Turing", None)]
    make_plan(jumpcloud_api_url, people, path)
    app.reset_log()
    apply(jumpcloud_api_url, path, mapping={})
    (put,) = writes(app)
    assert put.body["attributes"] == [ADMIN, {"name": "workerType", "value": "eor"}]
    app.reset_log()
    apply(jumpcloud_api_url, path, mapping={})
    assert writes(app) == []
