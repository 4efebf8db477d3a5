"""Managers and custom attributes in the plan file, pure: no HTTP.

The document (ids and usernames, one entry per custom attribute), plan_id stability with
them, the settings that shape them, the shape checks, the drift check and the review rows.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from target_jumpcloud.model import ActionKind, DirectoryUser, Outcome
from target_jumpcloud.output.review import render_html, render_markdown, review_from_plan
from target_jumpcloud.plan.build import PlanOptions, plan_sync
from target_jumpcloud.plan.document import compute_plan_id, plan_document, plan_settings
from target_jumpcloud.plan.drift import check_drift
from target_jumpcloud.plan.load import PlannedAction
from target_jumpcloud.plan.parse import check_plan_document
from target_jumpcloud.plan.schema import PlanFormatError
from target_jumpcloud.settings.sync_settings import parse_settings
from target_jumpcloud.sync.directory import Directory, compared_fields, directory_user
from target_jumpcloud.sync.mapping import DEFAULT_MAPPING, map_record

from tests.target_jumpcloud.plan.test_document import MADE, SETTINGS, worker
from tests.target_jumpcloud.plan.test_properties import FAST

if TYPE_CHECKING:
    from collections.abc import Sequence

    from target_jumpcloud.model import Plan

MAPPING = {
    **DEFAULT_MAPPING,
    "manager": "direct_manager.id",
    "attributes.workerType": "hiring_type",
}
FIELDS = compared_fields(MAPPING)
ADMIN = {"name": "hrSource", "value": "workday"}


def reports_to(pid: str, first: str, last: str, manager: str | None, **extra: Any) -> dict:
    return worker(pid, first, last, direct_manager={"id": manager} if manager else None, **extra)


ADA = reports_to("p1", "Ada", "Lovelace", None)
ALAN = reports_to("p2", "Alan", "Turing", "p1")
GRACE = reports_to("p3", "Grace", "Hopper", "p2", hiring_type="contractor")  # was employee
KATE = reports_to("p4", "Kate", "Johnson", "p5")  # new, reports to a new manager
FRAN = reports_to("p5", "Frances", "Allen", "p1")  # new manager, reports to Ada
WORKERS = [ADA, ALAN, GRACE, KATE, FRAN]


def jc_user(user_id: str, like: dict[str, Any], **attrs: Any) -> DirectoryUser:
    obj: dict[str, Any] = {
        "_id": user_id,
        "username": f"{like['first_name'].lower()}.{like['last_name'].lower()}",
        "email": like["work_email"],
        "state": "ACTIVATED",
        "firstname": like["first_name"],
        "lastname": like["last_name"],
        "displayname": like["full_name"],
        "jobTitle": like["job_title"],
        "department": like["department"]["name"],
        "location": like["work_location"],
        "costCenter": like["team"],
        "employeeType": like["hiring_type"],
        "company": like["client_legal_entity"]["name"],
        "employeeIdentifier": like["id"],
        "attributes": [ADMIN, {"name": "workerType", "value": like["hiring_type"]}],
    }
    obj.update(attrs)
    return directory_user(obj, FIELDS)


def directory(**grace: Any) -> Directory:
    """Ada and Alan in step; Grace reports to Ada (planned: to Alan) and was an employee."""
    fields: dict[str, Any] = {"employeeType": "employee", "manager": "u1"}
    fields["attributes"] = [ADMIN, {"name": "workerType", "value": "employee"}]
    fields.update(grace)
    return Directory(
        [
            jc_user("u1", ADA),
            jc_user("u2", ALAN, manager="u1"),
            jc_user("u3", {**GRACE, "hiring_type": "employee"}, **fields),
        ]
    )


def make_plan(workers: Sequence[dict[str, Any]], users: Directory, **options: Any) -> Plan:
    records = [map_record(w, MAPPING, i) for i, w in enumerate(workers)]
    return plan_sync(records, users, PlanOptions(**options))


def document(workers: Sequence[dict[str, Any]] = WORKERS, users: Directory | None = None) -> dict:
    users = users or directory()
    return plan_document(make_plan(workers, users), users, SETTINGS, created_at=MADE)


def action_of(doc: dict[str, Any], deel_id: str) -> dict[str, Any]:
    return next(a for a in doc["actions"] if a["deel_id"] == deel_id)


def loaded(doc: dict[str, Any]) -> list[PlannedAction]:
    check_plan_document(doc, "plan.json")
    actions = sorted(doc["actions"], key=lambda a: (a["deel_id"], a["kind"]))
    return [PlannedAction.from_document(i, a) for i, a in enumerate(actions)]


# -- the document ------------------------------------------------------------------------------


def test_managers_are_ids_with_usernames_and_custom_attributes_one_entry_each() -> None:
    doc = document()
    assert sorted(a["deel_id"] for a in doc["actions"]) == ["p3", "p4", "p5"]
    grace = action_of(doc, "p3")
    assert grace["manager"] == {
        "before": "u1",
        "after": "u2",
        "before_username": "ada.lovelace",
        "after_username": "alan.turing",
    }
    assert grace["attributes"] == {
        "employeeType": {"before": "employee", "after": "contractor"},
        "attributes.workerType": {"before": "employee", "after": "contractor"},
    }
    kate, fran = action_of(doc, "p4"), action_of(doc, "p5")
    assert kate["manager"] == {
        "before": None,
        "after": None,
        "before_username": None,
        "after_username": "frances.allen",
        "after_deel_id": "p5",
    }
    assert fran["manager"]["after"] == "u1"
    assert fran["attributes"]["attributes.workerType"] == {"before": None, "after": "employee"}
    assert "attributes" not in fran["attributes"]
    assert "manager" not in action_of(doc, "p3")["attributes"]


def test_the_apply_sends_what_the_plan_shows() -> None:
    doc = document()
    users = directory()
    check = check_drift(loaded(doc), users)
    assert check.results == []
    by_id = {a.desired.profile_id: a for a in check.actions}
    assert by_id["p3"].payload == {
        "employeeType": "contractor",
        "attributes": [ADMIN, {"name": "workerType", "value": "contractor"}],
        "manager": "u2",
    }
    assert by_id["p3"].changes == {
        "employeeType": ("employee", "contractor"),
        "attributes.workerType": ("employee", "contractor"),
        "manager": ("ada.lovelace", "alan.turing"),
    }
    assert by_id["p5"].payload["manager"] == "u1"
    assert by_id["p5"].payload["attributes"] == [{"name": "workerType", "value": "employee"}]
    assert by_id["p4"].manager_pending == by_id["p5"].desired.position
    assert "manager" not in by_id["p4"].payload
    assert not any(a.manager_followup for a in check.actions)


# -- plan_id --------------------------------------------------------------------------------


@FAST
@given(st.permutations(range(len(WORKERS))))
def test_plan_id_is_stable_with_managers_and_custom_attributes(order: list[int]) -> None:
    first = document()
    second = document([WORKERS[i] for i in order])
    assert second["plan_id"] == first["plan_id"]
    assert second["actions"] == first["actions"]


def test_plan_id_ignores_unmanaged_attributes_and_changes_with_a_manager() -> None:
    base = document()["plan_id"]
    # An administrator's own attribute is not the plan's business.
    other = directory(attributes=[{"name": "badge", "value": "7"}, *directory_list()])
    assert document(users=other)["plan_id"] == base
    # Another manager before, or another manager planned: another plan.
    assert document(users=directory(manager="u3"))["plan_id"] != base
    moved = [*WORKERS[:2], reports_to("p3", "Grace", "Hopper", "p1", hiring_type="contractor")]
    assert document([*moved, *WORKERS[3:]])["plan_id"] != base


def directory_list() -> list[dict[str, str]]:
    return [ADMIN, {"name": "workerType", "value": "employee"}]


def test_settings_that_shape_a_plan_are_plain_json() -> None:
    settings = parse_settings(
        {
            "api_key": "jc-secret",
            "mapping": {"attributes.workerType": "hiring_type"},
            "create_only_attributes": ["jobTitle", "attributes.workerType"],
            "username_template": "{f}{last}",
            "username_max_length": 12,
        }
    )
    snapshot = plan_settings(settings)
    assert snapshot["create_only_attributes"] == ["attributes.workerType", "jobTitle"]
    assert snapshot["username_template"] == "{f}{last}"
    assert snapshot["username_max_length"] == 12
    assert json.loads(json.dumps(snapshot)) == snapshot
    defaults = plan_settings(parse_settings({"api_key": "jc-secret"}))
    assert defaults["create_only_attributes"] == []
    assert defaults["username_template"] is None
    assert "jc-secret" not in json.dumps(snapshot)


# -- shape checks -------------------------------------------------------------------------------


def rehashed(doc: dict[str, Any]) -> dict[str, Any]:
    doc["plan_id"] = compute_plan_id(doc["actions"])
    return doc


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (lambda d: action_of(d, "p4")["manager"].update(after_deel_id="p9"), "does not create"),
        (lambda d: action_of(d, "p4")["manager"].update(after_deel_id="p4"), "does not create"),
        (lambda d: action_of(d, "p4")["manager"].pop("after_deel_id"), "after_deel_id"),
        (lambda d: action_of(d, "p3")["manager"].update(after_deel_id="p5"), "manager"),
        (
            lambda d: action_of(d, "p3")["attributes"].update(
                manager={"before": None, "after": "u9"}
            ),
            "'manager' as an attribute",
        ),
        (
            lambda d: action_of(d, "p3")["attributes"].update(
                attributes={"before": None, "after": "[]"}
            ),
            "'attributes' as an attribute",
        ),
    ],
)
def test_a_hand_made_manager_or_attribute_entry_is_refused(edit: Any, says: str) -> None:
    doc = document()
    edit(doc)
    with pytest.raises(PlanFormatError) as caught:
        check_plan_document(rehashed(doc), "plan.json")
    assert says in str(caught.value)


# -- drift -------------------------------------------------------------------------------------


def test_a_manager_or_attribute_changed_since_the_plan_is_a_conflict_naming_it() -> None:
    actions = loaded(document())
    check = check_drift(actions, directory(manager="u3"))
    (grace,) = [r for r in check.results if r.deel_id == "p3"]
    assert grace.outcome is Outcome.CONFLICT
    assert (
        grace.reason == "changed since the plan was made: manager: 'ada.lovelace' → 'grace.hopper'"
    )
    edited = [ADMIN, {"name": "WorkerType", "value": "intern"}]
    (grace,) = check_drift(actions, directory(attributes=edited)).results
    assert grace.reason == (
        "changed since the plan was made: attributes.workerType: 'employee' → 'intern'"
    )


def test_what_is_already_as_planned_is_not_written_again() -> None:
    actions = loaded(document())
    done = [ADMIN, {"name": "workerType", "value": "contractor"}]
    users = directory(manager="u2", attributes=done, employeeType="contractor")
    check = check_drift(actions, users)
    (grace,) = [r for r in check.results if r.deel_id == "p3"]
    assert grace.outcome is Outcome.UNCHANGED
    assert grace.reason == (
        "already as planned (employeeType, attributes.workerType, manager); nothing written"
    )
    # Only the manager is done: the rest is still written, and only the rest.
    check = check_drift(actions, directory(manager="u2"))
    (update,) = [a for a in check.actions if a.desired.profile_id == "p3"]
    assert "manager" not in update.payload
    assert "manager" not in update.changes
    assert update.reason == "already as planned: manager"


def test_a_new_manager_created_meanwhile_is_linked_by_its_id() -> None:
    actions = loaded(document())
    users = Directory([*directory(), jc_user("u5", FRAN, manager="u1")])
    check = check_drift(actions, users)
    assert {r.deel_id: r.outcome for r in check.results} == {"p5": Outcome.UNCHANGED}
    (kate,) = [a for a in check.actions if a.desired.profile_id == "p4"]
    assert kate.kind is ActionKind.CREATE
    assert kate.manager_pending is None
    assert kate.payload["manager"] == "u5"


def test_a_manager_gone_since_the_plan_is_a_conflict() -> None:
    actions = loaded(document())
    users = Directory([u for u in directory() if u.id != "u2"])
    check = check_drift(actions, users)
    (grace,) = [r for r in check.results if r.deel_id == "p3"]
    assert grace.outcome is Outcome.CONFLICT
    assert "manager: JumpCloud user 'alan.turing' (u2) no longer exists" in str(grace.reason)


# -- review ------------------------------------------------------------------------------------


def test_the_review_shows_managers_by_username_and_each_custom_attribute() -> None:
    review = review_from_plan(document())
    rows = {row.deel_id: row for row in review.rows}
    changes = {c.attribute: (c.old, c.new) for c in rows["p3"].changes}
    assert changes["manager"] == ("ada.lovelace", "alan.turing")
    assert changes["attributes.workerType"] == ("employee", "contractor")
    kate = {c.attribute: (c.old, c.new) for c in rows["p4"].changes}
    assert kate["manager"] == (None, "frances.allen")
    page = render_html(review)
    assert "attributes.workerType" in page
    assert "ada.lovelace" in page
    assert "alan.turing" in page
    # The Markdown summary lists creates (not updates): a new manager by username there too.
    summary = render_markdown(review)
    assert "manager: ∅ → frances.allen" in summary
    assert "attributes.workerType: ∅ → employee" in summary


# -- property: the apply sends what the run would have sent -----------------------------------

STAFF = [
    reports_to(f"s{n}", f"First{n}", f"Last{n}", None, hiring_type=kind)
    for n, kind in enumerate(["employee", "contractor", "eor", "employee", "contractor", "eor"])
]


@FAST
@given(
    managers=st.lists(
        st.integers(min_value=-1, max_value=len(STAFF) - 1),
        min_size=len(STAFF),
        max_size=len(STAFF),
    ),
    existing=st.lists(st.booleans(), min_size=len(STAFF), max_size=len(STAFF)),
    kinds=st.lists(
        st.sampled_from(["employee", "contractor", "eor"]), min_size=len(STAFF), max_size=len(STAFF)
    ),
)
def test_applying_a_fresh_plan_sends_exactly_what_the_run_would_send(
    managers: list[int], existing: list[bool], kinds: list[str]
) -> None:
    workers = [
        {**w, "direct_manager": {"id": f"s{m}"} if m >= 0 else None, "hiring_type": kinds[n]}
        for n, (w, m) in enumerate(zip(STAFF, managers, strict=True))
    ]
    users = Directory(
        [
            jc_user(f"u{n}", w, manager="u0" if n else None)
            for n, w in enumerate(STAFF)
            if existing[n]
        ]
    )
    plan = make_plan(workers, users)
    doc = plan_document(plan, users, SETTINGS, created_at=MADE)
    check = check_drift(loaded(doc), users)
    assert check.results == []
    planned = {a.desired.profile_id: a for a in plan.actions}
    applied = {a.desired.profile_id: a for a in check.actions}
    assert set(applied) == set(planned)
    profile_at = {a.desired.position: a.desired.profile_id for a in plan.actions}
    profile_at_apply = {a.desired.position: a.desired.profile_id for a in check.actions}
    for pid, action in planned.items():
        again = applied[pid]
        assert again.kind is action.kind
        assert again.payload == action.payload
        assert again.changes == action.changes
        waits = action.manager_pending
        assert (
            profile_at_apply.get(again.manager_pending)
            if again.manager_pending is not None
            else None
        ) == (profile_at[waits] if waits is not None else None)
    # One follow-up per cycle of new users, in the run as in the apply.
    assert sum(a.manager_followup for a in check.actions) == sum(
        a.manager_followup for a in plan.actions
    )
