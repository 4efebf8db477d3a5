"""The pure leaver rules: what a record carries, the counts, which steps have work."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from target_jumpcloud.model import (
    DesiredUser,
    DirectoryUser,
    OutOfScopeAction,
    RejectedRecord,
    UserState,
)
from target_jumpcloud.settings.leavers import LeaverStep, OutOfScopeMode
from target_jumpcloud.sync import leavers as rules


def _user(profile_id: str | None, email: str = "a@x.example", items: tuple = ()) -> DirectoryUser:
    attributes: dict[str, str | None] = {"employeeIdentifier": profile_id} if profile_id else {}
    return DirectoryUser("u1", "a", email, UserState.ACTIVATED, attributes, None, items)


def _desired(profile_id: str, email: str) -> DesiredUser:
    return DesiredUser(
        position=0,
        profile_id=profile_id,
        email=email,
        active=True,
        attributes={},
        first_name=None,
        last_name=None,
    )


def test_a_record_carries_its_profile_id_and_its_email_whatever_became_of_it():
    carried = rules.Carried(
        [
            _desired("p1", "One@X.example"),
            RejectedRecord(position=1, profile_id="p2", email=None, reason="bad"),
            RejectedRecord(position=2, profile_id=None, email="three@x.example", reason="bad"),
        ]
    )
    assert carried.carries(_user("p1", "other@x.example"))
    assert carried.carries(_user("zz", "one@x.example"))  # by email, any case
    assert carried.carries(_user("p2", "b@x.example"))  # a refused record still carries it
    assert carried.carries(_user("zz", "THREE@x.example"))
    assert not carried.carries(_user("p9", "nine@x.example"))


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ((), 0),
        (({"name": "deelSyncMissing", "value": "3"},), 3),
        (({"name": "DEELSYNCMISSING", "value": 2},), 2),
        (({"name": "deelSyncMissing", "value": "x"},), 0),
        (({"name": "deelSyncMissing", "value": "-1"},), 0),
    ],
)
def test_the_missed_runs_count(items, expected):
    assert rules.missed_runs(items) == expected


@pytest.mark.parametrize(
    ("missed", "mode", "protected", "expected"),
    [
        (1, OutOfScopeMode.REPORT, False, OutOfScopeAction.REPORTED),
        (5, OutOfScopeMode.REPORT, True, OutOfScopeAction.REPORTED),
        (1, OutOfScopeMode.SUSPEND, False, OutOfScopeAction.COUNTED),
        (2, OutOfScopeMode.SUSPEND, False, OutOfScopeAction.SUSPENDED),
        (9, OutOfScopeMode.SUSPEND, True, OutOfScopeAction.PROTECTED),
    ],
)
def test_what_a_missed_run_means(missed, mode, protected, expected):
    assert rules.out_of_scope_action(missed, mode=mode, after=2, protected=protected) is expected


def test_remove_groups_has_work_only_with_a_ledger():
    all_steps = tuple(LeaverStep)
    assert rules.steps_with_work(all_steps, ()) == ("reset_mfa", "expire_password")
    assert rules.steps_with_work(all_steps, ("g1",)) == (
        "remove_groups",
        "reset_mfa",
        "expire_password",
    )
    assert rules.steps_with_work((LeaverStep.REMOVE_GROUPS,), ()) == ()


def test_only_the_ledger_groups_the_user_is_still_in_are_left():
    from target_jumpcloud.sync.groups import DirectoryGroup, GroupSnapshot

    g1, g2, g3, g4 = (f"{n:024x}" for n in range(1, 5))
    items = ({"name": "deelSyncGroups", "value": f"{g2},{g1},{g3},{g4}"},)
    user = _user("p1", items=items)
    groups = GroupSnapshot(
        [
            DirectoryGroup(g1, "One"),
            DirectoryGroup(g2, "Two"),
            DirectoryGroup(g3, "Dynamic", "DYNAMIC_AUTOMATED"),
        ],
        {g1: ["u1"], g2: ["someone-else"]},
    )
    # g2: taken out by hand; g3: dynamic; g4: gone from JumpCloud.
    assert rules.groups_to_leave(user, "deelSyncGroups", groups) == (g1,)
    assert rules.groups_to_leave(user, "deelSyncGroups", None) == (g1, g2, g3, g4)
    assert rules.groups_to_leave(_user("p1"), "deelSyncGroups", None) == ()


def test_bookkeeping_keeps_every_other_attribute_as_it_was():
    other = {"name": "costCode", "value": "42", "extra": True}
    items = [other, {"name": "deelSyncMissing", "value": "1"}]
    assert rules.without(items, ["DEELSYNCMISSING"]) == [other]
    assert rules.without(items, ["deelSyncLeaver"]) is None  # nothing to remove
    counted = rules.with_value(items, rules.MISSING_ATTRIBUTE, "2")
    assert counted[0] is other
    assert counted[1] == {"name": "deelSyncMissing", "value": "2"}
    assert rules.has_leaver_record([{"name": "deelSyncLeaver", "value": "2027-01-04"}])
    assert not rules.has_leaver_record(items)


@given(st.lists(st.integers(min_value=1, max_value=6), max_size=8))
def test_counting_then_removing_leaves_the_list_as_it_was(counts):
    original = [{"name": "costCode", "value": "42"}]
    items = list(original)
    for count in counts:
        items = rules.with_value(items, rules.MISSING_ATTRIBUTE, str(count))
        assert rules.missed_runs(items) == count
    assert (rules.without(items, [rules.MISSING_ATTRIBUTE]) or items) == original
