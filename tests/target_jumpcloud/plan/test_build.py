"""Planning (docs/sync-rules.md): stream rules, matching, the action table, diffs, the guard."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from target_jumpcloud.model import (
    REASON_KEPT_SUSPENDED,
    Action,
    ActionKind,
    DesiredUser,
    DirectoryUser,
    Outcome,
    Plan,
    RecordResult,
    RejectedRecord,
    UserState,
)
from target_jumpcloud.plan.build import (
    REASON_ADOPTED,
    REASON_INACTIVE_NEW,
    PlanOptions,
    diff_attributes,
    plan_sync,
)
from target_jumpcloud.plan.dedupe import REASON_SUPERSEDED_SAME_ID, dedupe
from target_jumpcloud.settings.sync_settings import SuspensionLimit, parse_settings
from target_jumpcloud.sync.directory import Directory, compared_fields, directory_user
from target_jumpcloud.sync.mapping import DEFAULT_MAPPING, map_record
from target_jumpcloud.sync.usernames import UsernameAllocator

from tests.target_jumpcloud.directory_helpers import apply_to_directory

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

MAPPING = dict(DEFAULT_MAPPING)
FIELDS = compared_fields(MAPPING)
ATTRIBUTES = [name for name in MAPPING if name != "state"]


def worker(
    pid: str | None,
    email: str | None,
    *,
    active: object = True,
    first: str | None = "Alpha",
    last: str | None = "Zed",
    **extra: Any,
) -> dict[str, Any]:
    record = {
        "id": pid,
        "work_email": email,
        "first_name": first,
        "last_name": last,
        "full_name": f"{first} {last}",
        "job_title": "Engineer",
        "department": {"name": "Engineering"},
        "work_location": "Remote",
        "team": "Platform",
        "hiring_type": "employee",
        "client_legal_entity": {"name": "Example Ltd"},
        "active": active,
    }
    record.update(extra)
    return record


def records(*workers: dict[str, Any]) -> list[DesiredUser | RejectedRecord]:
    return [map_record(w, MAPPING, i) for i, w in enumerate(workers)]


def jc_user(
    user_id: str,
    username: str,
    email: str,
    *,
    eid: str | None = None,
    state: str = "ACTIVATED",
    like: dict[str, Any] | None = None,
    **attrs: Any,
) -> DirectoryUser:
    """A JumpCloud user as the API returns it; `like` copies the mapped attributes of a worker."""
    obj: dict[str, Any] = {"_id": user_id, "username": username, "email": email, "state": state}
    obj["suspended"] = state == "SUSPENDED"
    if like is not None:
        obj.update(
            {
                "firstname": like["first_name"],
                "lastname": like["last_name"],
                "displayname": like["full_name"],
                "jobTitle": like["job_title"],
                "department": like["department"]["name"],
                "location": like["work_location"],
                "costCenter": like["team"],
                "employeeType": like["hiring_type"],
                "company": like["client_legal_entity"]["name"],
            }
        )
    obj["employeeIdentifier"] = eid
    obj.update(attrs)
    return directory_user(obj, FIELDS)


def plan(
    recs: Sequence[DesiredUser | RejectedRecord],
    users: Iterable[DirectoryUser] = (),
    **options: Any,
) -> Plan:
    return plan_sync(recs, Directory(users), PlanOptions(**options))


def only(plan_: Plan) -> Action | RecordResult:
    everything: list[Action | RecordResult] = [*plan_.actions, *plan_.results]
    assert len(everything) == 1, everything
    return everything[0]


def check_coverage(recs: Sequence[DesiredUser | RejectedRecord], plan_: Plan) -> None:
    """Every input record ends exactly once; each list keeps stream order."""
    action_positions = [a.desired.position for a in plan_.actions]
    result_positions = [r.position for r in plan_.results]
    assert sorted(action_positions + result_positions) == [r.position for r in recs]
    assert action_positions == sorted(action_positions)
    assert result_positions == sorted(result_positions)


# -- diff_attributes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("desired", "current", "expected"),
    [
        ({"jobTitle": "A"}, {"jobTitle": "A"}, {}),
        ({"jobTitle": "A"}, {"jobTitle": "B"}, {"jobTitle": ("B", "A")}),
        ({"jobTitle": " A "}, {"jobTitle": "A  "}, {}),
        ({"jobTitle": "A"}, {"jobTitle": " B "}, {"jobTitle": ("B", "A")}),
        ({"jobTitle": "A"}, {}, {"jobTitle": (None, "A")}),
        ({"jobTitle": "A"}, {"jobTitle": ""}, {"jobTitle": (None, "A")}),
        ({"jobTitle": "A"}, {"jobTitle": None}, {"jobTitle": (None, "A")}),
        ({"jobTitle": None}, {"jobTitle": "B"}, {}),  # empty never clears
        ({"jobTitle": ""}, {"jobTitle": "B"}, {}),
        ({"jobTitle": "  "}, {"jobTitle": "B"}, {}),
        ({"jobTitle": None}, {}, {}),
        ({"jobTitle": "a"}, {"jobTitle": "A"}, {"jobTitle": ("A", "a")}),  # case matters here
        ({"email": "Ada@X.io"}, {"email": "ada@x.IO"}, {}),  # but not for email
        ({"email": "ada@x.io"}, {"email": "bob@x.io"}, {"email": ("bob@x.io", "ada@x.io")}),
        ({"email": "ada@x.io"}, {}, {"email": (None, "ada@x.io")}),
        (
            {"employeeIdentifier": "P1"},
            {"employeeIdentifier": "p1"},
            {"employeeIdentifier": ("p1", "P1")},
        ),
        (
            {"jobTitle": "A", "department": "D", "company": None},
            {"jobTitle": "A", "department": "E", "company": "C"},
            {"department": ("E", "D")},
        ),
    ],
)
def test_diff_attributes(desired, current, expected):
    assert diff_attributes(desired, current) == expected


def test_diff_ignores_attributes_not_desired():
    assert diff_attributes({"jobTitle": "A"}, {"jobTitle": "A", "middlename": "Q"}) == {}


# -- stream-wide rules -----------------------------------------------------------------------------


def test_duplicate_profile_id_last_one_counts_once():
    recs = records(
        worker("P1", "old@x.io", job_title="Old"),
        worker("P2", "b@x.io"),
        worker("P1", "new@x.io", job_title="New"),
    )
    result = plan(recs)
    check_coverage(recs, result)
    assert [a.desired.position for a in result.actions] == [1, 2]
    assert result.actions[1].payload["jobTitle"] == "New"
    assert result.results == [
        RecordResult(
            position=0,
            deel_id="P1",
            email="old@x.io",
            outcome=Outcome.SKIPPED,
            reason=REASON_SUPERSEDED_SAME_ID,
        )
    ]


def test_duplicate_profile_id_whose_last_record_is_invalid_applies_nothing():
    recs = records(worker("P1", "a@x.io"), worker("P1", "not an email"))
    result = plan(recs)
    check_coverage(recs, result)
    assert result.actions == []
    assert [(r.outcome, r.reason) for r in result.results] == [
        (Outcome.SKIPPED, REASON_SUPERSEDED_SAME_ID),
        (Outcome.SKIPPED, "work email 'not an email' is not a valid address"),
    ]


def test_shared_email_with_exactly_one_active_record_uses_it():
    recs = records(
        worker("C-1", "Ada@x.io", active=False),
        worker("E-2", "ada@X.IO", active=True),
        worker("C-0", "ADA@x.io", active=False),
    )
    result = plan(recs)
    check_coverage(recs, result)
    assert [a.desired.profile_id for a in result.actions] == ["E-2"]
    assert [(r.deel_id, r.outcome, r.reason) for r in result.results] == [
        ("C-1", Outcome.SKIPPED, "superseded by E-2 (same work email)"),
        ("C-0", Outcome.SKIPPED, "superseded by E-2 (same work email)"),
    ]


@pytest.mark.parametrize(
    ("flags", "which"),
    [((False, False), "none of them is active"), ((True, True), "2 of them are active")],
)
def test_shared_email_without_exactly_one_active_record_is_a_conflict(flags, which):
    recs = records(
        worker("P1", "ada@x.io", active=flags[0]),
        worker("P2", "b@x.io"),
        worker("P3", "Ada@x.io", active=flags[1]),
    )
    user = jc_user("u1", "ada", "ada@x.io", eid="P1")
    result = plan(recs, [user])
    check_coverage(recs, result)
    assert [a.desired.profile_id for a in result.actions] == ["P2"]
    reason = f"work email is shared by 2 records (profile ids P1, P3) and {which}"
    assert [(r.deel_id, r.outcome, r.reason) for r in result.results] == [
        ("P1", Outcome.CONFLICT, reason),
        ("P3", Outcome.CONFLICT, reason),
    ]
    assert result.matched_users == 0  # the linked user is left alone


def test_shared_email_reason_names_at_most_five_ids():
    recs = records(*[worker(f"P{n}", "same@x.io", active=False) for n in range(8)])
    result = plan(recs)
    assert result.results[0].reason == (
        "work email is shared by 8 records (profile ids P0, P1, P2, P3, P4 and 3 more) "
        "and none of them is active"
    )


def test_profile_dedupe_happens_before_email_dedupe():
    # P1's older record shares the email with P2, but P1's latest record moved on.
    recs = records(
        worker("P1", "ada@x.io", active=True),
        worker("P2", "ada@x.io", active=True),
        worker("P1", "ada.old@x.io", active=False),
    )
    result = plan(recs)
    assert [a.desired.profile_id for a in result.actions] == ["P2"]
    assert result.results[0].reason == REASON_SUPERSEDED_SAME_ID
    assert result.results[1].reason == REASON_INACTIVE_NEW


def test_dedupe_reports_superseded_profile_ids():
    recs = records(worker("C-1", "a@x.io", active=False), worker("E-2", "a@x.io"))
    deduped = dedupe(recs)
    assert [d.profile_id for d in deduped.applied] == ["E-2"]
    assert deduped.superseded == {"E-2": frozenset({"C-1"})}
    assert set(deduped.decided) == {0}


def test_rejected_records_are_skipped_with_their_reason_and_warnings_travel():
    recs = records(worker(None, "a@x.io"), worker("P2", "b@x.io", job_title="t" * 1100))
    user = jc_user("u2", "b", "b@x.io", eid="P2", like=worker("P2", "b@x.io"))
    result = plan(recs, [user])
    check_coverage(recs, result)
    assert result.results[0].outcome is Outcome.SKIPPED
    assert result.results[0].reason == "no profile id (id is empty)"
    assert result.results[0].email == "a@x.io"
    action = result.actions[0]
    assert action.desired.warnings == ("jobTitle cut to 1024 characters (job_title had 1100)",)


# -- the action table ------------------------------------------------------------------------------


def test_no_match_active_creates_with_the_full_payload():
    recs = records(worker("P1", "Alpha.Zed@x.io", team=None))
    action = only(plan(recs))
    assert isinstance(action, Action)
    assert action.kind is ActionKind.CREATE
    assert action.outcome is Outcome.CREATED
    assert action.user_id is None
    assert action.username == "alpha.zed"
    assert action.payload == {
        "username": "alpha.zed",
        "email": "Alpha.Zed@x.io",
        "firstname": "Alpha",
        "lastname": "Zed",
        "displayname": "Alpha Zed",
        "jobTitle": "Engineer",
        "department": "Engineering",
        "location": "Remote",
        "employeeType": "employee",
        "company": "Example Ltd",
        "employeeIdentifier": "P1",
        "state": "STAGED",
        "suspended": False,
    }
    assert "costCenter" not in action.payload  # empty values are not sent
    assert next(iter(action.payload)) == "username"
    assert list(action.payload)[-2:] == ["state", "suspended"]


def test_create_state_follows_the_setting():
    action = only(plan(records(worker("P1", "a@x.io")), user_state_on_create=UserState.ACTIVATED))
    assert isinstance(action, Action)
    assert action.payload["state"] == "ACTIVATED"
    assert action.payload["suspended"] is False


def test_no_match_inactive_is_skipped():
    result = only(plan(records(worker("P1", "a@x.io", active=False))))
    assert isinstance(result, RecordResult)
    assert (result.outcome, result.reason) == (Outcome.SKIPPED, REASON_INACTIVE_NEW)


@pytest.mark.parametrize("state", ["STAGED", "ACTIVATED"])
def test_match_active_updates_changed_attributes_and_leaves_the_state(state):
    w = worker("P1", "a@x.io", job_title="Principal Engineer")
    user = jc_user("u1", "alpha.zed", "a@x.io", eid="P1", state=state, like=worker("P1", "a@x.io"))
    action = only(plan(records(w), [user]))
    assert isinstance(action, Action)
    assert action.kind is ActionKind.UPDATE
    assert action.outcome is Outcome.UPDATED
    assert action.reason is None
    assert action.payload == {"jobTitle": "Principal Engineer"}
    assert action.changes == {"jobTitle": ("Engineer", "Principal Engineer")}
    assert (action.user_id, action.username) == ("u1", "alpha.zed")


@pytest.mark.parametrize("state", ["STAGED", "ACTIVATED"])
def test_match_active_without_changes_is_unchanged(state):
    w = worker("P1", "a@x.io")
    user = jc_user("u1", "alpha.zed", "A@X.io", eid="P1", state=state, like=w)
    result = only(plan(records(w), [user]))
    assert result == RecordResult(
        position=0,
        deel_id="P1",
        email="a@x.io",
        outcome=Outcome.UNCHANGED,
        username="alpha.zed",
        jumpcloud_id="u1",
    )


def test_suspended_and_active_with_reactivation_reactivates():
    w = worker("P1", "a@x.io", job_title="Lead")
    user = jc_user("u1", "az", "a@x.io", eid="P1", state="SUSPENDED", like=worker("P1", "a@x.io"))
    action = only(plan(records(w), [user], reactivate_suspended_users=True))
    assert isinstance(action, Action)
    assert action.kind is ActionKind.REACTIVATE
    assert action.outcome is Outcome.REACTIVATED
    assert action.payload == {"jobTitle": "Lead", "state": "ACTIVATED", "suspended": False}


def test_suspended_and_active_with_reactivation_and_no_changes_still_reactivates():
    w = worker("P1", "a@x.io")
    user = jc_user("u1", "az", "a@x.io", eid="P1", state="SUSPENDED", like=w)
    action = only(plan(records(w), [user], reactivate_suspended_users=True))
    assert isinstance(action, Action)
    assert action.payload == {"state": "ACTIVATED", "suspended": False}
    assert action.changes == {}


def test_suspended_and_active_without_reactivation_updates_and_says_so():
    w = worker("P1", "a@x.io", job_title="Lead")
    user = jc_user("u1", "az", "a@x.io", eid="P1", state="SUSPENDED", like=worker("P1", "a@x.io"))
    action = only(plan(records(w), [user]))
    assert isinstance(action, Action)
    assert action.kind is ActionKind.UPDATE
    assert action.outcome is Outcome.UPDATED
    assert action.payload == {"jobTitle": "Lead"}
    assert action.reason == REASON_KEPT_SUSPENDED
    assert action.reason == "suspended in JumpCloud; reactivate_suspended_users is off"


def test_suspended_and_active_without_reactivation_or_changes_is_unchanged_and_says_so():
    w = worker("P1", "a@x.io")
    user = jc_user("u1", "az", "a@x.io", eid="P1", state="SUSPENDED", like=w)
    result = only(plan(records(w), [user]))
    assert isinstance(result, RecordResult)
    assert (result.outcome, result.reason) == (Outcome.UNCHANGED, REASON_KEPT_SUSPENDED)


def test_suspended_flag_alone_counts_as_suspended():
    w = worker("P1", "a@x.io")
    user = jc_user("u1", "az", "a@x.io", eid="P1", state="ACTIVATED", like=w, suspended=True)
    assert user.state is UserState.SUSPENDED
    result = only(plan(records(w), [user]))
    assert result.outcome is Outcome.UNCHANGED


@pytest.mark.parametrize("state", ["STAGED", "ACTIVATED"])
def test_match_inactive_not_suspended_suspends(state):
    w = worker("P1", "a@x.io", active=False, job_title="Former")
    user = jc_user("u1", "az", "a@x.io", eid="P1", state=state, like=worker("P1", "a@x.io"))
    action = only(plan(records(w), [user]))
    assert isinstance(action, Action)
    assert action.kind is ActionKind.SUSPEND
    assert action.outcome is Outcome.SUSPENDED
    assert action.payload == {"jobTitle": "Former", "state": "SUSPENDED", "suspended": True}


def test_suspend_without_attribute_changes_sends_the_state_pair_only():
    w = worker("P1", "a@x.io", active=False)
    user = jc_user("u1", "az", "a@x.io", eid="P1", like=w)
    action = only(plan(records(w), [user]))
    assert isinstance(action, Action)
    assert action.payload == {"state": "SUSPENDED", "suspended": True}


def test_match_inactive_suspended_updates_only():
    w = worker("P1", "a@x.io", active=False, job_title="Former")
    user = jc_user("u1", "az", "a@x.io", eid="P1", state="SUSPENDED", like=worker("P1", "a@x.io"))
    action = only(plan(records(w), [user], reactivate_suspended_users=True))
    assert isinstance(action, Action)
    assert action.kind is ActionKind.UPDATE
    assert action.payload == {"jobTitle": "Former"}
    assert action.reason is None


def test_match_inactive_suspended_without_changes_is_unchanged():
    w = worker("P1", "a@x.io", active=False)
    user = jc_user("u1", "az", "a@x.io", eid="P1", state="SUSPENDED", like=w)
    result = only(plan(records(w), [user]))
    assert isinstance(result, RecordResult)
    assert (result.outcome, result.reason) == (Outcome.UNCHANGED, None)


def test_empty_hr_values_never_clear_jumpcloud_values():
    w = worker("P1", "a@x.io", job_title=None, team="", department=None)
    user = jc_user("u1", "az", "a@x.io", eid="P1", like=worker("P1", "a@x.io"))
    assert only(plan(records(w), [user])).outcome is Outcome.UNCHANGED


# -- matching


def test_profile_id_match_wins_over_email():
    w = worker("P1", "a@x.io")
    by_id = jc_user("u1", "az", "old@x.io", eid="P1", like=w)
    action = only(plan(records(w), [by_id]))
    assert isinstance(action, Action)
    assert action.user_id == "u1"
    assert action.payload == {"email": "a@x.io"}  # the address moves to the linked user


@pytest.mark.parametrize("eid", [None, "", "   "])
def test_adoption_by_email_of_an_unlinked_user(eid):
    w = worker("P1", "Ada@X.io")
    user = jc_user("u1", "ada", "ada@x.io", eid=eid, like=w)
    action = only(plan(records(w), [user]))
    assert isinstance(action, Action)
    assert action.kind is ActionKind.UPDATE
    assert action.outcome is Outcome.UPDATED
    assert action.reason == REASON_ADOPTED
    assert action.payload == {"employeeIdentifier": "P1"}
    assert action.changes == {"employeeIdentifier": (None, "P1")}


def test_adoption_of_the_user_of_a_superseded_record():
    """The re-hire case: the contractor's account passes to the employee profile."""
    contractor = worker("C-1", "ada@x.io", active=False)
    employee = worker("E-2", "ada@x.io", job_title="Staff Engineer")
    user = jc_user("u1", "ada", "ada@x.io", eid="C-1", like=contractor)
    result = plan(records(contractor, employee), [user])
    assert [(r.deel_id, r.reason) for r in result.results] == [
        ("C-1", "superseded by E-2 (same work email)")
    ]
    (action,) = result.actions
    assert action.reason == REASON_ADOPTED
    assert action.payload == {"jobTitle": "Staff Engineer", "employeeIdentifier": "E-2"}
    assert result.suspensions == 0


def test_email_held_by_a_user_linked_elsewhere_is_a_conflict():
    w = worker("P2", "ada@x.io")
    user = jc_user("u1", "ada", "ada@x.io", eid="P9", like=w)
    result = only(plan(records(w), [user]))
    assert isinstance(result, RecordResult)
    assert result.outcome is Outcome.CONFLICT
    assert result.reason == (
        "work email is held by JumpCloud user 'ada' (u1), which is linked to another "
        "profile id (P9)"
    )


def test_a_superseded_id_only_helps_the_record_that_superseded_it():
    recs = records(
        worker("C-1", "ada@x.io", active=False),
        worker("E-2", "ada@x.io"),
        worker("E-3", "bob@x.io"),
    )
    users = [
        jc_user("u1", "ada", "ada@x.io", eid="C-1"),
        jc_user("u2", "bob", "bob@x.io", eid="C-1"),
    ]
    result = plan(recs, users)
    assert [a.desired.profile_id for a in result.actions] == ["E-2"]
    assert result.results[-1].outcome is Outcome.CONFLICT


def test_adoption_then_suspension():
    w = worker("P1", "ada@x.io", active=False)
    user = jc_user("u1", "ada", "ada@x.io", like=w)
    action = only(plan(records(w), [user]))
    assert isinstance(action, Action)
    assert action.kind is ActionKind.SUSPEND
    assert action.reason == REASON_ADOPTED
    assert action.payload == {"employeeIdentifier": "P1", "state": "SUSPENDED", "suspended": True}


def test_adoption_of_a_suspended_user_with_reactivation_off_gives_both_reasons():
    w = worker("P1", "ada@x.io")
    user = jc_user("u1", "ada", "ada@x.io", state="SUSPENDED", like=w)
    action = only(plan(records(w), [user]))
    assert isinstance(action, Action)
    assert action.outcome is Outcome.UPDATED
    assert action.reason == f"{REASON_ADOPTED}; {REASON_KEPT_SUSPENDED}"


def test_email_change_to_an_address_another_user_holds_is_a_conflict():
    w = worker("P1", "new@x.io")
    linked = jc_user("u1", "az", "old@x.io", eid="P1", like=w)
    other = jc_user("u2", "someone", "NEW@x.io")
    result = plan(records(w), [linked, other])
    assert result.actions == []
    (conflict,) = result.results
    assert conflict.outcome is Outcome.CONFLICT
    assert conflict.reason == (
        "work email changes to 'new@x.io', which JumpCloud user 'someone' (u2) already holds"
    )
    assert (conflict.username, conflict.jumpcloud_id) == ("az", "u1")
    assert result.matched_users == 1


def test_email_case_change_is_not_a_change():
    w = worker("P1", "Ada@X.io")
    user = jc_user("u1", "ada", "ada@x.io", eid="P1", like=w)
    assert only(plan(records(w), [user])).outcome is Outcome.UNCHANGED


def test_profile_id_linked_to_two_users_is_a_conflict():
    w = worker("P1", "a@x.io")
    users = [jc_user("u1", "a1", "a1@x.io", eid="P1"), jc_user("u2", "a2", "a2@x.io", eid="P1")]
    result = only(plan(records(w), users))
    assert result.outcome is Outcome.CONFLICT
    assert result.reason == "profile id P1 is linked to 2 JumpCloud users ('a1' (u1), 'a2' (u2))"


def test_email_held_by_two_users_is_a_conflict():
    w = worker("P1", "a@x.io")
    users = [jc_user("u1", "a1", "a@x.io"), jc_user("u2", "a2", "A@X.IO")]
    result = only(plan(records(w), users))
    assert result.outcome is Outcome.CONFLICT
    assert result.reason == (
        "work email is held by 2 JumpCloud users ('a1' (u1), 'a2' (u2)); "
        "cannot tell which one to adopt"
    )


def test_unmatched_jumpcloud_users_are_never_touched():
    users = [
        jc_user("u1", "alpha.zed", "other@x.io", eid="X-9"),
        jc_user("u2", "beta", "beta@x.io"),
    ]
    recs = records(worker("P1", "a@x.io"), worker("P2", "b@x.io", active=False))
    result = plan(recs, users)
    assert {a.user_id for a in result.actions} == {None}
    assert result.matched_users == 0


# -- usernames


def test_usernames_in_stream_order_after_existing_ones():
    users = [jc_user("u0", "Alpha.Zed", "first@x.io", eid="P0")]
    recs = records(
        worker("P1", "a1@x.io"),
        worker("P2", "a2@x.io", active=False),  # not created: no username used
        worker("P3", "a3@x.io"),
        worker("P4", "a4@x.io", first="Beta", last=None),
        worker("P5", "a5@x.io", first=None, last=None),
    )
    result = plan(recs, users)
    assert [a.username for a in result.actions] == ["alpha.zed1", "alpha.zed2", "beta", "a5"]
    assert [a.payload["username"] for a in result.actions] == [a.username for a in result.actions]


def test_existing_usernames_are_never_changed():
    w = worker("P1", "a@x.io", first="New", last="Name")
    user = jc_user("u1", "old.name", "a@x.io", eid="P1", like=worker("P1", "a@x.io"))
    action = only(plan(records(w), [user]))
    assert isinstance(action, Action)
    assert "username" not in action.payload
    assert action.username == "old.name"


def test_a_given_allocator_keeps_the_planned_usernames():
    allocator = UsernameAllocator(["alpha.zed"])
    result = plan_sync(
        records(worker("P1", "a@x.io")), Directory(), PlanOptions(), allocator=allocator
    )
    assert result.actions[0].username == "alpha.zed1"
    assert allocator.is_taken("alpha.zed1")
    assert allocator.allocate("alpha.zed") == "alpha.zed2"


# -- the guard


def leavers(count: int, stayers: int, limit: SuspensionLimit) -> Plan:
    workers, users = [], []
    for n in range(count + stayers):
        w = worker(f"P{n}", f"p{n}@x.io", active=n >= count)
        workers.append(w)
        users.append(jc_user(f"u{n}", f"p{n}", f"p{n}@x.io", eid=f"P{n}", like=w))
    return plan(records(*workers), users, max_suspensions=limit)


@pytest.mark.parametrize(
    ("count", "stayers", "limit", "expected_limit", "tripped"),
    [
        (5, 5, SuspensionLimit(20, percent=True), 5, False),  # 20% of 10 → 2 → floor of 5
        (6, 4, SuspensionLimit(20, percent=True), 5, True),
        (6, 24, SuspensionLimit(20, percent=True), 6, False),  # equal: fine
        (7, 23, SuspensionLimit(20, percent=True), 6, True),  # one over
        (8, 36, SuspensionLimit(20, percent=True), 8, False),  # 8.8 rounds down to 8
        (9, 35, SuspensionLimit(20, percent=True), 8, True),
        (0, 3, SuspensionLimit(0, percent=False), 0, False),
        (1, 3, SuspensionLimit(0, percent=False), 0, True),  # 0: every suspension needs a person
        (3, 0, SuspensionLimit(3, percent=False), 3, False),
        (4, 0, SuspensionLimit(3, percent=False), 3, True),
    ],
)
def test_guard_arithmetic(count, stayers, limit, expected_limit, tripped):
    result = leavers(count, stayers, limit)
    assert result.matched_users == count + stayers
    assert result.suspensions == count
    assert result.suspension_limit == expected_limit
    assert result.guard_tripped is tripped


def test_matched_users_counts_every_matched_user_once():
    already = worker("P1", "a@x.io", active=False)
    recs = records(already, worker("P2", "b@x.io"), worker("P3", "c@x.io"))
    users = [
        jc_user("u1", "a", "a@x.io", eid="P1", state="SUSPENDED", like=already),
        jc_user("u2", "b", "b@x.io"),  # adopted
        jc_user("u9", "z", "z@x.io", eid="Z"),  # unmatched
    ]
    result = plan(recs, users)
    assert result.matched_users == 2
    assert result.suspensions == 0


# -- options


def test_plan_options_defaults_and_from_settings():
    assert PlanOptions() == PlanOptions(
        user_state_on_create=UserState.STAGED,
        reactivate_suspended_users=False,
        max_suspensions=SuspensionLimit(20, percent=True),
    )
    settings = parse_settings(
        {
            "api_key": "k",
            "user_state_on_create": "ACTIVATED",
            "reactivate_suspended_users": True,
            "max_suspensions": 3,
        }
    )
    assert PlanOptions.from_settings(settings) == PlanOptions(
        UserState.ACTIVATED, True, SuspensionLimit(3, percent=False)
    )


def test_plan_options_refuse_creating_suspended_users():
    with pytest.raises(ValueError, match="STAGED or ACTIVATED"):
        PlanOptions(user_state_on_create=UserState.SUSPENDED)


# -- the directory


def test_compared_fields():
    assert compared_fields(MAPPING) == [
        "_id",
        "username",
        "email",
        "state",
        "suspended",
        "firstname",
        "lastname",
        "displayname",
        "jobTitle",
        "department",
        "location",
        "costCenter",
        "employeeType",
        "company",
        "employeeIdentifier",
    ]
    small = {"email": "e", "employeeIdentifier": "id", "state": "active", "middlename": "m"}
    assert compared_fields(small) == [
        "_id",
        "username",
        "email",
        "state",
        "suspended",
        "employeeIdentifier",
        "middlename",
    ]


@pytest.mark.parametrize(
    ("obj", "state"),
    [
        ({"state": "ACTIVATED", "suspended": False}, UserState.ACTIVATED),
        ({"state": "STAGED"}, UserState.STAGED),
        ({"state": "SUSPENDED", "suspended": True}, UserState.SUSPENDED),
        ({"state": "SUSPENDED", "suspended": False}, UserState.SUSPENDED),
        ({"state": "ACTIVATED", "suspended": True}, UserState.SUSPENDED),
        ({"suspended": True}, UserState.SUSPENDED),
        ({"state": "activated"}, UserState.ACTIVATED),
        ({}, UserState.ACTIVATED),
        ({"state": "UNKNOWN"}, UserState.ACTIVATED),
    ],
)
def test_directory_user_state(obj, state):
    assert directory_user({"_id": "x", **obj}, []).state is state


def test_directory_user_fields():
    user = directory_user(
        {
            "id": "66b0",
            "username": "ada",
            "email": " Ada@X.io ",
            "jobTitle": "  Engineer ",
            "department": "",
            "costCenter": 100,
            "employeeIdentifier": None,
            "attributes": [{"name": "n", "value": "v"}],
            "unrelated": "ignored",
        },
        ["jobTitle", "department", "costCenter", "employeeIdentifier", "company", "attributes"],
    )
    assert user == DirectoryUser(
        id="66b0",
        username="ada",
        email="Ada@X.io",
        state=UserState.ACTIVATED,
        attributes={
            "jobTitle": "Engineer",
            "department": None,
            "costCenter": "100",
            "employeeIdentifier": None,
            "company": None,
        },
        custom_attributes=({"name": "n", "value": "v"},),  # the custom list is read whole
    )
    assert directory_user({"_id": "a", "id": "b"}, []).id == "a"


def test_directory_lookups():
    a = jc_user("u1", "Ada", "Ada@X.io", eid="P1")
    b = jc_user("u2", "bob", "bob@x.io")
    directory = Directory([a, b])
    assert len(directory) == 2
    assert list(directory) == [a, b]
    assert "u1" in directory
    assert directory.get("u2") is b
    assert directory.by_employee_id("P1") is a
    assert directory.by_employee_id("p1") is None
    assert directory.by_employee_id("") is None
    assert directory.by_email("ADA@x.io") is a
    assert directory.by_email("nobody@x.io") is None
    assert directory.email_holder("ada@x.io") is a
    assert directory.email_holder("ada@x.io", exclude_id="u1") is None
    assert directory.usernames() == {"ada", "bob"}


def test_directory_add_replaces_by_id():
    directory = Directory([jc_user("u1", "ada", "ada@x.io", eid="P1")])
    moved = jc_user("u1", "ada", "new@x.io", eid="P2")
    directory.add(moved)
    assert len(directory) == 1
    assert directory.by_email("ada@x.io") is None
    assert directory.by_email("new@x.io") is moved
    assert directory.by_employee_id("P1") is None
    assert directory.by_employee_id("P2") is moved
    assert directory.usernames() == {"ada"}
    directory.add(jc_user("u2", "ADA", "other@x.io"))
    directory.add(jc_user("u2", "zed", "other@x.io"))
    assert directory.usernames() == {"ada", "zed"}


def test_directory_keeps_duplicates_visible():
    a, b = jc_user("u1", "a", "x@x.io", eid="P"), jc_user("u2", "b", "X@x.io", eid="P")
    directory = Directory([a, b])
    assert directory.employee_id_holders("P") == [a, b]
    assert directory.email_holders("x@X.IO") == [a, b]
    assert directory.email_holder("x@x.io", exclude_id="u1") is b


# -- apply_to_directory


def test_apply_to_directory_then_nothing_left_to_do():
    contractor = worker("C-1", "ada@x.io", active=False)
    recs = records(
        worker("P1", "new@x.io"),
        contractor,
        worker("E-2", "ada@x.io", job_title="Boss"),
        worker("P3", "leaver@x.io", active=False),
        worker("P4", "back@x.io"),
    )
    users = [
        jc_user("u1", "ada", "ada@x.io", eid="C-1", like=contractor),
        jc_user("u3", "leaver", "leaver@x.io", eid="P3", like=worker("P3", "leaver@x.io")),
        jc_user(
            "u4", "back", "back@x.io", eid="P4", state="SUSPENDED", like=worker("P4", "back@x.io")
        ),
        jc_user("u9", "bystander", "by@x.io"),
    ]
    directory = Directory(users)
    first = plan_sync(recs, directory, PlanOptions(reactivate_suspended_users=True))
    assert [a.kind for a in first.actions] == [
        ActionKind.CREATE,
        ActionKind.UPDATE,
        ActionKind.SUSPEND,
        ActionKind.REACTIVATE,
    ]
    after = apply_to_directory(first, directory)
    assert len(directory) == 4  # the input is not changed
    assert len(after) == 5
    created = after.get("new-0")
    assert created is not None
    assert (created.username, created.state) == ("alpha.zed", UserState.STAGED)
    assert after.by_employee_id("E-2") is not None
    assert after.get("u1") == after.by_employee_id("E-2")
    leaver = after.get("u3")
    assert leaver is not None
    assert leaver.state is UserState.SUSPENDED
    reactivated = after.get("u4")
    assert reactivated is not None
    assert reactivated.state is UserState.ACTIVATED
    assert after.get("u9") == users[-1]
    second = plan_sync(recs, after, PlanOptions(reactivate_suspended_users=True))
    assert second.actions == []
    assert [r.outcome for r in second.results] == [
        Outcome.UNCHANGED,
        Outcome.SKIPPED,
        Outcome.UNCHANGED,
        Outcome.UNCHANGED,
        Outcome.UNCHANGED,
    ]


def test_apply_to_directory_refuses_unknown_users():
    w = worker("P1", "a@x.io", job_title="New")
    user = jc_user("u1", "a", "a@x.io", eid="P1", like=worker("P1", "a@x.io"))
    result = plan(records(w), [user])
    with pytest.raises(KeyError, match="u1"):
        apply_to_directory(result, Directory())


def test_plan_is_a_value():
    recs = records(worker("P1", "a@x.io"), worker("P2", "b@x.io", active=False))
    users = [jc_user("u2", "b", "b@x.io", eid="P2")]
    assert plan(recs, users) == plan(recs, users)
    assert isinstance(recs[0], DesiredUser)


def test_an_address_freed_by_an_email_change_is_reused_on_the_next_run():
    """Writes within a run are unordered, so a freed address is only given out next run."""
    mover = worker("P1", "new@x.io")
    newcomer = worker("P2", "old@x.io", first="Beta", last="Yu")
    recs = records(mover, newcomer)
    directory = Directory([jc_user("u1", "alpha.zed", "old@x.io", eid="P1", like=mover)])
    first = plan_sync(recs, directory, PlanOptions())
    assert [(a.desired.profile_id, a.payload) for a in first.actions] == [
        ("P1", {"email": "new@x.io"})
    ]
    assert [(r.deel_id, r.outcome) for r in first.results] == [("P2", Outcome.CONFLICT)]
    second = plan_sync(recs, apply_to_directory(first, directory), PlanOptions())
    assert [(a.kind, a.username) for a in second.actions] == [(ActionKind.CREATE, "beta.yu")]
