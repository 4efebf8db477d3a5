"""Drift: each planned action against the directory as it is when applied."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given
from target_jumpcloud.model import ActionKind, DirectoryUser, Outcome, RecordResult, UserState
from target_jumpcloud.plan.build import plan_sync
from target_jumpcloud.plan.document import plan_document
from target_jumpcloud.plan.drift import DriftCheck, check_drift
from target_jumpcloud.plan.load import AttributeChange, PlannedAction, StateChange
from target_jumpcloud.settings.sync_settings import SuspensionLimit
from target_jumpcloud.sync.directory import Directory

from tests.target_jumpcloud.directory_helpers import apply_to_directory
from tests.target_jumpcloud.plan.test_document import (
    FIELDS,
    MADE,
    SETTINGS,
    WORKERS,
    directory,
    jc_user,
    make_plan,
)
from tests.target_jumpcloud.plan.test_properties import (
    FAST,
    OPTIONS,
    jumpcloud_users,
    mapped,
    workers,
)

if TYPE_CHECKING:
    from target_jumpcloud.model import Action, Plan

from hypothesis import strategies as st
from target_jumpcloud.sync.directory import directory_user


def user(
    user_id: str,
    username: str,
    email: str,
    *,
    state: str = "ACTIVATED",
    eid: str | None = None,
    **attrs: Any,
) -> DirectoryUser:
    obj: dict[str, Any] = {
        "_id": user_id,
        "username": username,
        "email": email,
        "state": state,
        "suspended": state == "SUSPENDED",
        "employeeIdentifier": eid,
        **attrs,
    }
    return directory_user(obj, FIELDS)


def create(
    deel_id: str = "p4", username: str = "kate.johnson", email: str = "kate@acme.example"
) -> PlannedAction:
    return PlannedAction(
        position=0,
        kind=ActionKind.CREATE,
        deel_id=deel_id,
        jumpcloud_id=None,
        username=username,
        email=email,
        attributes={
            "email": AttributeChange(None, email),
            "employeeIdentifier": AttributeChange(None, deel_id),
            "jobTitle": AttributeChange(None, "Engineer"),
        },
        state=StateChange(None, UserState.STAGED),
        reason=None,
        first_name="Kate",
        last_name="Johnson",
    )


def existing(
    kind: ActionKind,
    attributes: dict[str, tuple[str | None, str | None]] | None = None,
    state: tuple[UserState, UserState] | None = None,
    *,
    reason: str | None = None,
) -> PlannedAction:
    return PlannedAction(
        position=3,
        kind=kind,
        deel_id="p2",
        jumpcloud_id="u2",
        username="alan.turing",
        email="alan@acme.example",
        attributes={name: AttributeChange(*pair) for name, pair in (attributes or {}).items()},
        state=None if state is None else StateChange(*state),
        reason=reason,
    )


def alan(email: str = "alan@acme.example", **attrs: Any) -> DirectoryUser:
    fields: dict[str, Any] = {"eid": "p2", "jobTitle": "Engineer", "department": "R&D"}
    fields.update(attrs)
    return user("u2", "alan.turing", email, **fields)


def one(check: DriftCheck) -> Action | RecordResult:
    everything: list[Action | RecordResult] = [*check.actions, *check.results]
    assert len(everything) == 1, everything
    return everything[0]


def conflict_reason(check: DriftCheck) -> str:
    result = one(check)
    assert isinstance(result, RecordResult), result
    assert result.outcome is Outcome.CONFLICT
    assert result.reason is not None
    assert result.reason.startswith("changed since the plan was made: ")
    return result.reason


# -- create ----------------------------------------------------------------------------------


def test_a_create_whose_names_are_still_free_is_applied_as_planned() -> None:
    check = check_drift([create()], Directory([user("u1", "ada", "ada@acme.example")]))
    action = one(check)
    assert not isinstance(action, RecordResult)
    assert action.kind is ActionKind.CREATE
    assert action.payload == {
        "username": "kate.johnson",
        "email": "kate@acme.example",
        "employeeIdentifier": "p4",
        "jobTitle": "Engineer",
        "state": "STAGED",
        "suspended": False,
    }


def test_a_create_whose_username_was_taken_since_is_a_conflict() -> None:
    taken = user("u9", "Kate.Johnson", "k.j@elsewhere.example")
    reason = conflict_reason(check_drift([create()], Directory([taken])))
    assert "username 'kate.johnson' is now held by JumpCloud user 'Kate.Johnson' (u9)" in reason


def test_a_create_whose_email_was_taken_since_is_a_conflict() -> None:
    taken = user("u9", "kj", "KATE@acme.example")
    reason = conflict_reason(check_drift([create()], Directory([taken])))
    assert "email 'kate@acme.example' is now held by JumpCloud user 'kj' (u9)" in reason


def test_a_create_whose_username_and_email_were_both_taken_names_both() -> None:
    users = Directory(
        [user("u8", "kate.johnson", "a@x.example"), user("u9", "kj", "kate@acme.example")]
    )
    reason = conflict_reason(check_drift([create()], users))
    assert "username 'kate.johnson'" in reason
    assert "email 'kate@acme.example'" in reason


def test_a_create_whose_profile_id_is_now_linked_elsewhere_is_a_conflict() -> None:
    other = user("u9", "someone", "someone@acme.example", eid="p4")
    reason = conflict_reason(check_drift([create()], Directory([other])))
    assert "profile id p4 is now linked to JumpCloud user 'someone' (u9)" in reason


def test_a_create_already_done_is_unchanged_so_applying_twice_creates_nothing() -> None:
    done = user("u9", "kate.johnson", "kate@acme.example", eid="p4", jobTitle="Engineer")
    result = one(check_drift([create()], Directory([done])))
    assert isinstance(result, RecordResult)
    assert result.outcome is Outcome.UNCHANGED
    assert result.reason == "already as planned (created); nothing written"
    assert (result.jumpcloud_id, result.username) == ("u9", "kate.johnson")
    # Created meanwhile under another number (a late collision): still this worker's user.
    renamed = user("u9", "kate.johnson1", "kate@acme.example", eid="p4")
    result = one(check_drift([create()], Directory([renamed])))
    assert isinstance(result, RecordResult)
    assert result.outcome is Outcome.UNCHANGED
    assert "created as 'kate.johnson1', not 'kate.johnson'" in (result.reason or "")


# -- update ------------------------------------------------------------------------------------


def test_an_update_whose_before_values_still_hold_is_applied_as_planned() -> None:
    action = existing(ActionKind.UPDATE, {"jobTitle": ("Engineer", "Lead")})
    applied = one(check_drift([action], Directory([alan(jobTitle=" Engineer ")])))
    assert not isinstance(applied, RecordResult)
    assert applied.payload == {"jobTitle": "Lead"}
    assert applied.changes == {"jobTitle": ("Engineer", "Lead")}
    assert applied.user_id == "u2"
    assert applied.outcome is Outcome.UPDATED


def test_an_update_whose_before_changed_is_a_conflict_naming_the_change() -> None:
    action = existing(
        ActionKind.UPDATE, {"jobTitle": ("Engineer", "Lead"), "department": ("R&D", "Sales")}
    )
    check = check_drift([action], Directory([alan(jobTitle="Manager", department=None)]))
    reason = conflict_reason(check)
    assert reason == (
        "changed since the plan was made: jobTitle: 'Engineer' → 'Manager'; "
        "department: 'R&D' → (empty)"
    )
    result = one(check)
    assert isinstance(result, RecordResult)
    assert (result.jumpcloud_id, result.username, result.deel_id) == ("u2", "alan.turing", "p2")
    assert result.position == 3


def test_an_email_compares_case_insensitively() -> None:
    action = existing(ActionKind.UPDATE, {"email": ("alan@acme.example", "alan.t@acme.example")})
    applied = one(check_drift([action], Directory([alan(email="ALAN@acme.example")])))
    assert not isinstance(applied, RecordResult)
    done = one(check_drift([action], Directory([alan(email="Alan.T@acme.example")])))
    assert isinstance(done, RecordResult)
    assert done.outcome is Outcome.UNCHANGED


def test_an_update_already_at_its_after_values_is_unchanged() -> None:
    action = existing(ActionKind.UPDATE, {"jobTitle": ("Engineer", "Lead")})
    result = one(check_drift([action], Directory([alan(jobTitle="Lead")])))
    assert isinstance(result, RecordResult)
    assert result.outcome is Outcome.UNCHANGED
    assert result.reason == "already as planned (jobTitle); nothing written"


def test_an_update_half_done_writes_only_the_rest() -> None:
    action = existing(
        ActionKind.UPDATE,
        {"jobTitle": ("Engineer", "Lead"), "department": ("R&D", "Sales")},
        reason="adopted by email",
    )
    applied = one(check_drift([action], Directory([alan(jobTitle="Lead")])))
    assert not isinstance(applied, RecordResult)
    assert applied.payload == {"department": "Sales"}
    assert applied.changes == {"department": ("R&D", "Sales")}
    assert applied.reason == "adopted by email; already as planned: jobTitle"


def test_an_update_of_a_user_deleted_since_is_a_conflict() -> None:
    action = existing(ActionKind.UPDATE, {"jobTitle": ("Engineer", "Lead")})
    reason = conflict_reason(check_drift([action], Directory([])))
    assert "JumpCloud user 'alan.turing' (u2) no longer exists" in reason


def test_an_email_change_to_an_address_taken_since_is_a_conflict() -> None:
    action = existing(ActionKind.UPDATE, {"email": ("alan@acme.example", "a.turing@acme.example")})
    thief = user("u7", "at", "A.Turing@acme.example")
    reason = conflict_reason(check_drift([action], Directory([alan(), thief])))
    assert "email 'a.turing@acme.example' is now held by JumpCloud user 'at' (u7)" in reason


def test_an_adoption_whose_profile_id_was_linked_elsewhere_since_is_a_conflict() -> None:
    action = existing(
        ActionKind.UPDATE, {"employeeIdentifier": (None, "p2")}, reason="adopted by email"
    )
    other = user("u7", "alan2", "alan2@acme.example", eid="p2")
    unlinked = alan(eid=None)
    reason = conflict_reason(check_drift([action], Directory([unlinked, other])))
    assert "profile id p2 is now linked to JumpCloud user 'alan2' (u7)" in reason
    assert isinstance(one(check_drift([action], Directory([unlinked]))), type(action.to_action()))


# -- suspend and reactivate ----------------------------------------------------------------


def test_a_suspension_is_applied_while_the_user_is_as_planned() -> None:
    action = existing(ActionKind.SUSPEND, state=(UserState.ACTIVATED, UserState.SUSPENDED))
    applied = one(check_drift([action], Directory([alan()])))
    assert not isinstance(applied, RecordResult)
    assert applied.kind is ActionKind.SUSPEND
    assert applied.payload == {"state": "SUSPENDED", "suspended": True}
    assert applied.outcome is Outcome.SUSPENDED


def test_a_suspension_of_a_user_suspended_by_hand_is_unchanged() -> None:
    action = existing(ActionKind.SUSPEND, state=(UserState.ACTIVATED, UserState.SUSPENDED))
    result = one(check_drift([action], Directory([alan(state="SUSPENDED")])))
    assert isinstance(result, RecordResult)
    assert result.outcome is Outcome.UNCHANGED
    assert result.reason == "already as planned (state); nothing written"


def test_a_suspension_suspended_by_hand_still_writes_its_attributes() -> None:
    action = existing(
        ActionKind.SUSPEND,
        {"jobTitle": ("Engineer", "Former engineer")},
        state=(UserState.ACTIVATED, UserState.SUSPENDED),
    )
    applied = one(check_drift([action], Directory([alan(state="SUSPENDED")])))
    assert not isinstance(applied, RecordResult)
    assert applied.kind is ActionKind.UPDATE  # the state is no longer to set
    assert applied.payload == {"jobTitle": "Former engineer"}
    assert applied.outcome is Outcome.UPDATED
    assert applied.reason == "already as planned: state"


def test_a_suspension_of_a_user_whose_state_moved_elsewhere_is_a_conflict() -> None:
    action = existing(ActionKind.SUSPEND, state=(UserState.ACTIVATED, UserState.SUSPENDED))
    reason = conflict_reason(check_drift([action], Directory([alan(state="STAGED")])))
    assert reason == "changed since the plan was made: state: ACTIVATED → STAGED"


def test_a_reactivation_follows_the_same_rule() -> None:
    action = existing(ActionKind.REACTIVATE, state=(UserState.SUSPENDED, UserState.ACTIVATED))
    applied = one(check_drift([action], Directory([alan(state="SUSPENDED")])))
    assert not isinstance(applied, RecordResult)
    assert applied.payload == {"state": "ACTIVATED", "suspended": False}
    assert applied.outcome is Outcome.REACTIVATED
    done = one(check_drift([action], Directory([alan(state="ACTIVATED")])))
    assert isinstance(done, RecordResult)
    assert done.outcome is Outcome.UNCHANGED
    reason = conflict_reason(check_drift([action], Directory([alan(state="STAGED")])))
    assert "state: SUSPENDED → STAGED" in reason


# -- the whole plan, through the real planner -------------------------------------------------


def _loaded(plan: Plan, users: Directory) -> list[PlannedAction]:
    doc = plan_document(plan, users, SETTINGS, created_at=MADE)
    return [PlannedAction.from_document(i, a) for i, a in enumerate(doc["actions"])]


def _same_writes(applied: list[Action], planned: list[Action]) -> None:
    by_id = {a.desired.profile_id: a for a in planned}
    assert sorted(by_id) == sorted(a.desired.profile_id for a in applied)
    for action in applied:
        original = by_id[action.desired.profile_id]
        assert (action.kind, action.payload, action.user_id, action.changes) == (
            original.kind,
            original.payload,
            original.user_id,
            original.changes,
        )


def test_a_plan_against_an_unchanged_directory_applies_every_action_as_planned() -> None:
    users = directory()
    plan = make_plan(WORKERS, users, reactivate_suspended_users=True)
    check = check_drift(_loaded(plan, users), users)
    assert check.results == []
    _same_writes(check.actions, plan.actions)
    assert {a.kind for a in check.actions} == set(ActionKind) - {
        ActionKind.SCHEDULE,
        ActionKind.GROUPS,
    }


def test_applying_a_plan_twice_writes_nothing_the_second_time() -> None:
    users = directory()
    plan = make_plan(WORKERS, users, reactivate_suspended_users=True)
    after = apply_to_directory(plan, users)  # JumpCloud once the first apply succeeded
    check = check_drift(_loaded(plan, users), after)
    assert check.actions == []
    assert [r.outcome for r in check.results] == [Outcome.UNCHANGED] * len(plan.actions)
    assert all((r.reason or "").startswith("already as planned") for r in check.results)


def test_one_edited_user_is_a_conflict_and_every_other_action_still_applies() -> None:
    users = directory()
    plan = make_plan(WORKERS, users)
    edited = Directory(users)
    edited.add(jc_user("u2", WORKERS[1], jobTitle="Head of Cryptanalysis"))
    check = check_drift(_loaded(plan, users), edited)
    assert [(r.deel_id, r.outcome) for r in check.results] == [("p2", Outcome.CONFLICT)]
    assert "jobTitle: 'Engineer' → 'Head of Cryptanalysis'" in (check.results[0].reason or "")
    _same_writes(check.actions, [a for a in plan.actions if a.desired.profile_id != "p2"])


def test_as_plan_counts_the_suspensions_still_to_apply_for_the_guard() -> None:
    users = directory()
    plan = make_plan(WORKERS, users)
    check = check_drift(_loaded(plan, users), users)
    guarded = check.as_plan(matched_users=5, max_suspensions=SuspensionLimit(0, percent=False))
    assert guarded.suspensions == 1
    assert guarded.suspension_limit == 0
    assert guarded.guard_tripped
    relaxed = check.as_plan(matched_users=100, max_suspensions=SuspensionLimit(20, percent=True))
    assert relaxed.suspension_limit == 20
    assert not relaxed.guard_tripped
    # A suspension done by hand meanwhile no longer counts.
    done = Directory(users)
    done.add(jc_user("u3", WORKERS[2], state="SUSPENDED"))
    later = check_drift(_loaded(plan, users), done)
    assert (
        later.as_plan(
            matched_users=5, max_suspensions=SuspensionLimit(0, percent=False)
        ).suspensions
        == 0
    )


@FAST
@given(st.lists(workers(), max_size=12), jumpcloud_users(), OPTIONS)
def test_any_plan_applies_whole_against_its_own_directory_and_not_at_all_twice(
    raw_workers: list[dict[str, Any]], users: list[DirectoryUser], options: Any
) -> None:
    snapshot = Directory(users)
    plan = plan_sync(mapped(raw_workers), snapshot, options)
    planned = _loaded(plan, snapshot)
    first = check_drift(planned, snapshot)
    assert first.results == []
    _same_writes(first.actions, plan.actions)
    second = check_drift(planned, apply_to_directory(plan, snapshot))
    assert second.actions == []
    assert all(r.outcome is Outcome.UNCHANGED for r in second.results)
    assert len(second.results) == len(plan.actions)


# What an administrator did by hand to the user of each kind of action in WORKERS' plan.
HAND_EDITS: dict[ActionKind, dict[str, Any]] = {
    ActionKind.UPDATE: {"jobTitle": "Edited by hand"},  # planned: Engineer → Cryptanalyst
    ActionKind.SUSPEND: {"state": UserState.ACTIVATED},  # planned: STAGED → SUSPENDED
    ActionKind.REACTIVATE: {"state": UserState.STAGED},  # planned: SUSPENDED → ACTIVATED
}


@pytest.mark.parametrize(
    "kind", [k for k in ActionKind if k not in {ActionKind.SCHEDULE, ActionKind.GROUPS}]
)
def test_every_kind_of_action_can_drift(kind: ActionKind) -> None:
    """One drifted action of each kind among untouched ones: only it is held back."""
    users = directory()
    plan = make_plan(WORKERS, users, reactivate_suspended_users=True)
    target = next(a for a in plan.actions if a.kind is kind)
    world = Directory(users)
    if kind is ActionKind.CREATE:  # someone took the planned username meanwhile
        world.add(user("x1", str(target.username), "someone@else.example"))
    else:
        current = users.get(target.user_id or "")
        assert current is not None
        edit = HAND_EDITS[kind]
        state = edit.get("state", current.state)
        assert isinstance(state, UserState)
        attributes = {**current.attributes, **{k: v for k, v in edit.items() if k != "state"}}
        world.add(DirectoryUser(current.id, current.username, current.email, state, attributes))
    check = check_drift(_loaded(plan, users), world)
    assert [r.deel_id for r in check.results] == [target.desired.profile_id]
    assert check.results[0].outcome is Outcome.CONFLICT
    _same_writes(check.actions, [a for a in plan.actions if a is not target])
