"""Managers and custom attributes end to end: the target in process against the emulator.

Over real HTTP on loopback: a first sync of a three-level organisation writes each user
once (managers first), a cycle costs one follow-up PUT, a manager change is one PUT, a
manager who leaves keeps their reports, and custom attributes an administrator set in
JumpCloud survive every sync.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import requests
from target_jumpcloud.engine import RecordsFailed
from target_jumpcloud.jumpcloud.retries import MIN_ATTEMPTS

from tests.target_jumpcloud.target_io_helpers import (
    KEY,
    assert_three_levels_created_managers_first,
    by_profile,
    managers,
    person,
    reports_to,
    run_target,
    singer_text,
    writes,
)

if TYPE_CHECKING:
    from target_jumpcloud.output.report import RunReport
    from target_jumpcloud.target import TargetJumpCloud

    from tests.emulators.jumpcloud import JumpCloudEmulator

MANAGED = {"manager": "direct_manager.id"}


@pytest.fixture
def app(jumpcloud_emulator: Any) -> JumpCloudEmulator:
    emulator: JumpCloudEmulator = jumpcloud_emulator.app
    emulator.log_bodies = True
    return emulator


# Listed reports first: the sync must still create the managers first.
ORG = [
    reports_to("p4", "Grace", "Hopper", "p2"),
    reports_to("p5", "Kat", "Johnson", "p2"),
    reports_to("p6", "Edsger", "Dijkstra", "p3"),
    reports_to("p7", "Barbara", "Liskov", "p3"),
    reports_to("p2", "Alan", "Turing", "p1"),
    reports_to("p3", "John", "Neumann", "p1"),
    reports_to("p1", "Ada", "Lovelace", None),
]


def report_of(target: TargetJumpCloud) -> RunReport:
    assert target.sync_run.report is not None
    return target.sync_run.report


def record(target: TargetJumpCloud, profile_id: str) -> dict[str, Any]:
    entries = report_of(target).to_json()["records"]
    return next(r for r in entries if r["deel_id"] == profile_id)


def test_a_first_sync_of_three_levels_writes_each_user_once_managers_first(app, jumpcloud_api_url):
    target = run_target(jumpcloud_api_url, singer_text(ORG), mapping=MANAGED)
    assert [e.method for e in writes(app)] == ["POST"] * 7  # no follow-up PUT
    assert report_of(target).counts["created"] == 7
    assert_three_levels_created_managers_first(app)
    app.reset_log()
    again = run_target(jumpcloud_api_url, singer_text(ORG), mapping=MANAGED)
    assert writes(app) == []
    assert report_of(again).counts["unchanged"] == 7


def test_a_cycle_among_new_users_costs_one_follow_up_put(app, jumpcloud_api_url):
    people = [
        reports_to("p1", "Ada", "Lovelace", "p2"),
        reports_to("p2", "Alan", "Turing", "p1"),
        reports_to("p3", "Grace", "Hopper", "p1"),
    ]
    target = run_target(jumpcloud_api_url, singer_text(people), mapping=MANAGED)
    assert sorted(e.method for e in writes(app)) == ["POST", "POST", "POST", "PUT"]
    (put,) = app.requests("PUT")
    assert put.body == {"manager": by_profile(app)["p2"]["_id"]}
    assert managers(app) == {"p1": "p2", "p2": "p1", "p3": "p1"}
    assert report_of(target).counts["created"] == 3
    app.reset_log()
    run_target(jumpcloud_api_url, singer_text(people), mapping=MANAGED)
    assert writes(app) == []


def test_a_manager_change_is_one_put_reported_by_usernames(app, jumpcloud_api_url):
    run_target(jumpcloud_api_url, singer_text(ORG), mapping=MANAGED)
    app.reset_log()
    moved = [reports_to("p4", "Grace", "Hopper", "p3"), *ORG[1:]]
    target = run_target(jumpcloud_api_url, singer_text(moved), mapping=MANAGED)
    (put,) = writes(app)
    assert put.body == {"manager": by_profile(app)["p3"]["_id"]}
    assert managers(app)["p4"] == "p3"
    entry = record(target, "p4")
    assert entry["outcome"] == "updated"
    assert entry["changes"] == {"manager": ["alan.turing", "john.neumann"]}


def test_a_manager_who_leaves_keeps_their_reports(app, jumpcloud_api_url):
    run_target(jumpcloud_api_url, singer_text(ORG), mapping=MANAGED)
    app.reset_log()
    left = [*ORG[:4], reports_to("p2", "Alan", "Turing", "p1", active=False), *ORG[5:]]
    target = run_target(jumpcloud_api_url, singer_text(left), mapping=MANAGED)
    (put,) = writes(app)
    assert put.body == {"state": "SUSPENDED", "suspended": True}
    assert by_profile(app)["p2"]["state"] == "SUSPENDED"
    assert managers(app)["p4"] == "p2"  # Grace still reports to Alan in JumpCloud
    assert record(target, "p4")["outcome"] == "unchanged"
    # Deel drops the link once the manager is gone: an empty source clears nothing.
    app.reset_log()
    dropped = [reports_to("p4", "Grace", "Hopper", None), *left[1:]]
    run_target(jumpcloud_api_url, singer_text(dropped), mapping=MANAGED)
    assert writes(app) == []
    assert managers(app)["p4"] == "p2"


def test_a_new_hire_who_manages_existing_users_is_created_before_their_update(
    app, jumpcloud_api_url
):
    run_target(jumpcloud_api_url, singer_text(ORG), mapping=MANAGED)
    app.reset_log()
    hired = [
        reports_to("p4", "Grace", "Hopper", "p8"),
        *ORG[1:],
        reports_to("p8", "Frances", "Allen", "p1"),
    ]
    target = run_target(jumpcloud_api_url, singer_text(hired), mapping=MANAGED)
    assert [e.method for e in writes(app)] == ["POST", "PUT"]
    assert managers(app)["p4"] == "p8"
    assert managers(app)["p8"] == "p1"
    assert record(target, "p4")["changes"] == {"manager": ["alan.turing", "frances.allen"]}


def test_a_missing_manager_is_a_warning_in_the_report_and_the_run_succeeds(app, jumpcloud_api_url):
    people = [reports_to("p1", "Ada", "Lovelace", "p404"), reports_to("p2", "Alan", "Turing", "p2")]
    target = run_target(jumpcloud_api_url, singer_text(people), mapping=MANAGED)
    assert report_of(target).counts["created"] == 2
    assert all("manager" not in e.body for e in writes(app))
    assert record(target, "p1")["warnings"] == [
        (
            "manager p404 not found: no JumpCloud user has this profile id and this run creates "
            "none; manager left as it is"
        )
    ]
    assert record(target, "p2")["warnings"] == [
        "named as their own manager (p2); manager left as it is"
    ]
    assert any("manager profile id(s) p404" in line for line in report_of(target).summary_lines())


def test_reports_of_a_manager_whose_create_failed_are_created_without_a_manager(
    app, jumpcloud_api_url
):
    people = [reports_to("p2", "Alan", "Turing", "p1"), reports_to("p1", "Ada", "Lovelace", None)]
    # The manager's POST (the only one in the first wave) fails every time: 500, then each
    # look-up finds nothing and the create is sent again, as often as any request is retried.
    app.faults.script("500", method="POST", path="^/api/systemusers$", count=MIN_ATTEMPTS)
    with pytest.raises(RecordsFailed):
        run_target(jumpcloud_api_url, singer_text(people), mapping=MANAGED)
    assert list(by_profile(app)) == ["p2"]
    assert "manager" not in by_profile(app)["p2"]
    app.reset_log()
    target = run_target(jumpcloud_api_url, singer_text(people), mapping=MANAGED)
    assert [e.method for e in writes(app)] == ["POST", "PUT"]  # Ada, then Alan's manager
    assert managers(app) == {"p1": None, "p2": "p1"}
    assert record(target, "p2")["changes"] == {"manager": [None, "ada.lovelace"]}


def test_a_manager_create_whose_answer_is_lost_still_links_the_reports(app, jumpcloud_api_url):
    people = [reports_to("p2", "Alan", "Turing", "p1"), reports_to("p1", "Ada", "Lovelace", None)]
    app.faults.script("commit_then_503", method="POST", path="^/api/systemusers$", count=1)
    target = run_target(jumpcloud_api_url, singer_text(people), mapping=MANAGED)
    assert report_of(target).counts["created"] == 2
    assert app.writes == {"create": 2}
    assert managers(app) == {"p1": None, "p2": "p1"}


def test_a_dry_run_reports_the_manager_change_and_writes_nothing(app, jumpcloud_api_url):
    run_target(jumpcloud_api_url, singer_text(ORG), mapping=MANAGED)
    app.reset_log()
    moved = [reports_to("p4", "Grace", "Hopper", "p3"), *ORG[1:]]
    target = run_target(jumpcloud_api_url, singer_text(moved), mapping=MANAGED, dry_run=True)
    assert writes(app) == []
    assert record(target, "p4")["changes"] == {"manager": ["alan.turing", "john.neumann"]}


# -- custom attributes ------------------------------------------------------------------------

ATTRIBUTES = {"attributes.workerType": "hiring_type", "attributes.hiringStatus": "hiring_status"}
ADMIN = [{"name": "hrSource", "value": "workday"}, {"name": "badge", "value": " 0042 "}]


def admin_sets(app: JumpCloudEmulator, url: str, profile_id: str, items: list[Any]) -> None:
    """An administrator edits a user's custom attributes in JumpCloud (over the API)."""
    user = by_profile(app)[profile_id]
    response = requests.put(
        f"{url}/systemusers/{user['_id']}",
        json={"attributes": items},
        headers={"x-api-key": KEY},
        timeout=10,
    )
    assert response.status_code == 200, response.text


def test_admin_set_custom_attributes_survive_every_sync(app, jumpcloud_api_url):
    ada = person("p1", "Ada", "Lovelace", hiring_type="contractor")
    run_target(jumpcloud_api_url, singer_text([ada]), mapping=ATTRIBUTES)
    assert by_profile(app)["p1"]["attributes"] == [
        {"name": "workerType", "value": "contractor"},
        {"name": "hiringStatus", "value": "active"},
    ]
    # The administrator adds two of their own, before and after the synced ones.
    admin_sets(
        app,
        jumpcloud_api_url,
        "p1",
        [ADMIN[0], *by_profile(app)["p1"]["attributes"], ADMIN[1]],
    )
    app.reset_log()
    run_target(jumpcloud_api_url, singer_text([ada]), mapping=ATTRIBUTES)
    assert writes(app) == []  # in step: no request at all

    promoted = {**ada, "hiring_type": "eor"}
    target = run_target(jumpcloud_api_url, singer_text([promoted]), mapping=ATTRIBUTES)
    (put,) = writes(app)
    assert put.body == {
        "employeeType": "eor",
        "attributes": [
            ADMIN[0],
            {"name": "workerType", "value": "eor"},
            {"name": "hiringStatus", "value": "active"},
            ADMIN[1],
        ],
    }
    assert record(target, "p1")["changes"] == {
        "employeeType": ["contractor", "eor"],
        "attributes.workerType": ["contractor", "eor"],
    }
    assert by_profile(app)["p1"]["attributes"] == put.body["attributes"]

    # A field the source no longer has removes nothing; other changes leave the list out.
    app.reset_log()
    blank = {**promoted, "hiring_type": None, "job_title": "Lead"}
    run_target(jumpcloud_api_url, singer_text([blank]), mapping=ATTRIBUTES)
    (put,) = writes(app)
    assert put.body == {"jobTitle": "Lead"}
    assert by_profile(app)["p1"]["attributes"] == [
        ADMIN[0],
        {"name": "workerType", "value": "eor"},
        {"name": "hiringStatus", "value": "active"},
        ADMIN[1],
    ]


def test_a_worker_type_attribute_for_a_dynamic_group(app, jumpcloud_api_url):
    """The docs' example: `attributes.workerType: hiring_type` on everyone."""
    people = [
        person("p1", "Ada", "Lovelace", hiring_type="eor"),
        person("p2", "Alan", "Turing", hiring_type="contractor"),
    ]
    run_target(
        jumpcloud_api_url, singer_text(people), mapping={"attributes.workerType": "hiring_type"}
    )
    assert {pid: u["attributes"] for pid, u in by_profile(app).items()} == {
        "p1": [{"name": "workerType", "value": "eor"}],
        "p2": [{"name": "workerType", "value": "contractor"}],
    }


def test_create_only_attributes_are_left_to_the_administrator(app, jumpcloud_api_url):
    ada = person("p1", "Ada", "Lovelace", hiring_type="contractor")
    config = {
        "mapping": ATTRIBUTES,
        "create_only_attributes": ["jobTitle", "attributes.workerType"],
    }
    run_target(jumpcloud_api_url, singer_text([ada]), **config)
    assert by_profile(app)["p1"]["jobTitle"] == "Engineer"
    user = by_profile(app)["p1"]
    admin_sets(app, jumpcloud_api_url, "p1", [{"name": "workerType", "value": "intern"}])
    requests.put(
        f"{jumpcloud_api_url}/systemusers/{user['_id']}",
        json={"jobTitle": "Set by IT"},
        headers={"x-api-key": KEY},
        timeout=10,
    ).raise_for_status()
    app.reset_log()
    changed = {
        **ada,
        "job_title": "Principal",
        "hiring_type": "eor",
        "hiring_status": "offboarding",
    }
    run_target(jumpcloud_api_url, singer_text([changed]), **config)
    (put,) = writes(app)
    assert put.body == {
        "employeeType": "eor",
        "attributes": [
            {"name": "workerType", "value": "intern"},
            {"name": "hiringStatus", "value": "offboarding"},
        ],
    }
    assert by_profile(app)["p1"]["jobTitle"] == "Set by IT"


def test_username_template_and_cap_through_the_target(app, jumpcloud_api_url):
    people = [
        person(f"p{i}", "Alexandra", "Papadopoulou", email=f"alexandra{i}@acme.example")
        for i in range(3)
    ]
    run_target(jumpcloud_api_url, singer_text(people), username_max_length=12)
    assert sorted(u["username"] for u in app.users()) == [
        "alexandra.p1",
        "alexandra.p2",
        "alexandra.pa",
    ]
    app.clear()
    run_target(jumpcloud_api_url, singer_text(people[:1]), username_template="{f}{last}")
    assert [u["username"] for u in app.users()] == ["apapadopoulou"]
