"""`plan_leavers`: out-of-scope users, bookkeeping of matched users, leaver steps (pure)."""

from __future__ import annotations

from target_jumpcloud.model import ActionKind, DesiredUser, DirectoryUser, Outcome, UserState
from target_jumpcloud.plan.build import PlanOptions, plan_sync
from target_jumpcloud.plan.leavers import LeaverInputs, plan_leavers
from target_jumpcloud.settings.leavers import LeaverStep, OutOfScopeMode, read_leaver_settings
from target_jumpcloud.sync.directory import Directory

P1 = "0b4f3a52-1111-4c4c-8c8c-000000000001"
GONE = "0b4f3a52-9999-4c4c-8c8c-000000000009"


def _user(uid, profile_id, *, state=UserState.ACTIVATED, items=(), email=None):
    attributes = {"employeeIdentifier": profile_id} if profile_id else {}
    return DirectoryUser(
        uid, uid, email or f"{uid}@x.example", state, attributes, None, tuple(items)
    )


def _record(profile_id, email, *, active=True, position=0):
    return DesiredUser(
        position=position,
        profile_id=profile_id,
        email=email,
        active=active,
        attributes={"employeeIdentifier": profile_id, "email": email},
        first_name="A",
        last_name="B",
    )


def _plan(records, users, *, complete=True, protected=frozenset(), **config):
    settings, problems = read_leaver_settings(config)
    assert problems == []
    directory = Directory(users)
    options = PlanOptions()
    plan = plan_sync(records, directory, options)
    inputs = LeaverInputs(settings, complete_input=complete, protected_ids=protected)
    return plan_leavers(plan, records, directory, options, inputs)


def test_an_incomplete_input_checks_nothing_but_lists_the_unlinked():
    plan = _plan(
        [_record(P1, "u1@x.example")],
        [_user("u1", P1), _user("u9", GONE), _user("admin", None)],
        complete=False,
        out_of_scope="suspend",
    )
    assert plan.directory is not None
    assert plan.directory.complete_input is False
    assert plan.directory.out_of_scope == []
    assert (plan.directory.unlinked_count, plan.directory.unlinked_first) == (1, ("admin",))
    assert plan.actions == []
    assert plan.suspensions == 0


def test_counted_then_suspended_and_counted_by_the_guard():
    records = [_record(P1, "u1@x.example")]
    users = [_user("u1", P1), _user("u9", GONE)]
    plan = _plan(records, users, out_of_scope="suspend")
    (entry,) = plan.directory.out_of_scope
    assert (entry.action.value, entry.missed_runs) == ("counted", 1)
    assert entry.payload == {"attributes": [{"name": "deelSyncMissing", "value": "1"}]}
    assert plan.suspensions == 0

    counted = [
        _user("u1", P1),
        _user("u9", GONE, items=[{"name": "deelSyncMissing", "value": "1"}]),
    ]
    plan = _plan(records, counted, out_of_scope="suspend", leaver_steps=["reset_mfa"])
    (entry,) = plan.directory.out_of_scope
    assert entry.action.value == "suspended"
    assert entry.payload["state"] == "SUSPENDED"
    assert entry.payload["suspended"] is True
    assert entry.leaver_steps == ("reset_mfa",)
    assert plan.suspensions == 1
    assert plan.guard_tripped is False

    protected = _plan(records, counted, out_of_scope="suspend", protected=frozenset({"u9"}))
    (entry,) = protected.directory.out_of_scope
    assert (entry.action.value, entry.payload) == ("protected", {})
    assert protected.suspensions == 0


def test_report_mode_writes_nothing():
    plan = _plan([_record(P1, "u1@x.example")], [_user("u1", P1), _user("u9", GONE)])
    (entry,) = plan.directory.out_of_scope
    assert (entry.action.value, entry.payload, entry.missed_runs) == ("reported", {}, 1)


def test_a_suspension_whose_steps_never_completed_is_retried():
    items = [{"name": "deelSyncMissing", "value": "2"}]
    users = [_user("u1", P1), _user("u9", GONE, state=UserState.SUSPENDED, items=items)]
    plan = _plan(
        [_record(P1, "u1@x.example")],
        users,
        out_of_scope="suspend",
        leaver_steps=["expire_password"],
    )
    (entry,) = plan.directory.out_of_scope
    assert (entry.action.value, entry.payload, entry.leaver_steps) == (
        "suspended",
        {},
        ("expire_password",),
    )
    done = [*items, {"name": "deelSyncLeaver", "value": "2027-01-04"}]
    users = [_user("u1", P1), _user("u9", GONE, state=UserState.SUSPENDED, items=done)]
    plan = _plan(
        [_record(P1, "u1@x.example")],
        users,
        out_of_scope="suspend",
        leaver_steps=["expire_password"],
    )
    assert plan.directory.out_of_scope == []


def test_a_user_seen_again_loses_its_count_in_an_update():
    items = [{"name": "other", "value": "x"}, {"name": "deelSyncMissing", "value": "1"}]
    plan = _plan([_record(GONE, "u9@x.example")], [_user("u9", GONE, items=items)])
    (action,) = plan.actions
    assert action.kind is ActionKind.UPDATE
    assert action.payload == {"attributes": [{"name": "other", "value": "x"}]}
    assert action.changes == {"attributes.deelSyncMissing": ("1", None)}
    assert plan.results == []


def test_a_leaver_found_suspended_gets_its_steps_once():
    users = [_user("u1", P1, state=UserState.SUSPENDED)]
    record = _record(P1, "u1@x.example", active=False)
    plan = _plan([record], users, leaver_steps=["reset_mfa", "expire_password"])
    (action,) = plan.actions
    assert (action.kind, action.payload, action.outcome) == (ActionKind.UPDATE, {}, Outcome.UPDATED)
    assert action.leaver_steps == ("reset_mfa", "expire_password")
    done = [{"name": "deelSyncLeaver", "value": "2027-01-04"}]
    plan = _plan(
        [record],
        [_user("u1", P1, state=UserState.SUSPENDED, items=done)],
        leaver_steps=["reset_mfa"],
    )
    assert plan.actions == []


def test_an_active_worker_kept_suspended_is_no_leaver():
    plan = _plan(
        [_record(P1, "u1@x.example")],
        [_user("u1", P1, state=UserState.SUSPENDED)],
        leaver_steps=["reset_mfa"],
    )
    assert plan.actions == []


def test_the_run_suspending_a_leaver_plans_its_steps_and_a_reactivation_drops_the_record():
    g1, g2 = "a" * 24, "b" * 24
    ledger = [{"name": "deelSyncGroups", "value": f"{g1},{g2}"}]
    plan = _plan(
        [_record(P1, "u1@x.example", active=False)],
        [_user("u1", P1, items=ledger)],
        leaver_steps=[s.value for s in LeaverStep],
    )
    (action,) = plan.actions
    assert action.kind is ActionKind.SUSPEND
    assert action.leaver_steps == ("remove_groups", "reset_mfa", "expire_password")
    assert action.ledger == (g1, g2)

    done = [{"name": "deelSyncLeaver", "value": "2027-01-04"}]
    settings, _ = read_leaver_settings({})
    directory = Directory([_user("u1", P1, state=UserState.SUSPENDED, items=done)])
    records = [_record(P1, "u1@x.example")]
    options = PlanOptions(reactivate_suspended_users=True)
    plan = plan_leavers(
        plan_sync(records, directory, options),
        records,
        directory,
        options,
        LeaverInputs(settings, complete_input=False),
    )
    (action,) = plan.actions
    assert action.kind is ActionKind.REACTIVATE
    assert action.payload["attributes"] == []
    assert action.changes["attributes.deelSyncLeaver"] == ("2027-01-04", None)
    assert settings.out_of_scope is OutOfScopeMode.REPORT
