"""The pure group rules (docs/groups.md): names from rules, the ledger, the decision per user."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from target_jumpcloud.model import DesiredUser, DirectoryUser, GroupChange, UserState
from target_jumpcloud.settings.groups import read_group_settings
from target_jumpcloud.settings.mapping_table import DEFAULT_MAPPING
from target_jumpcloud.sync.groups import (
    DirectoryGroup,
    GroupSnapshot,
    decide_groups,
    group_names,
    ledger_of,
    ledger_text,
    parse_ledger,
    with_ledger,
)

A, B, C, D = (f"{n:024x}" for n in range(1, 5))
USER = "66b0f2c4e1a9d3001f000000"


def rules(*items: dict[str, Any]):
    settings, problems = read_group_settings(
        {"group_rules": list(items)}, {**DEFAULT_MAPPING, "attributes.level": "level"}
    )
    assert problems == []
    return settings.rules


def worker(**attributes: str | None) -> DesiredUser:
    custom = {"level": attributes.pop("level")} if "level" in attributes else None
    return DesiredUser(
        position=0,
        profile_id="p1",
        email="ada@acme.example",
        active=True,
        attributes=attributes,
        first_name="Ada",
        last_name="Lovelace",
        custom_attributes=custom,
    )


def test_names_are_filled_trimmed_and_collapsed() -> None:
    names, warnings = group_names(
        rules({"group": "  Dept -   {department}  "}, {"group": "{location} office"}),
        worker(department="Research  and Development", location="Lagos"),
    )
    assert names == ("Dept - Research and Development", "Lagos office")
    assert warnings == ()


def test_an_empty_placeholder_or_a_failed_condition_yields_nothing() -> None:
    chosen = rules(
        {"group": "Dept - {department}"},
        {"group": "Contractors", "when": {"employeeType": ["contractor", "freelancer"]}},
        {"group": "Level {attributes.level}", "when": {"attributes.level": "3"}},
    )
    assert group_names(chosen, worker(department=None, employeeType="employee"))[0] == ()
    assert group_names(chosen, worker(department="X", employeeType="freelancer", level="3"))[0] == (
        "Dept - X",
        "Contractors",
        "Level 3",
    )


def test_two_rules_yielding_one_group_give_one_name() -> None:
    chosen = rules({"group": "All staff"}, {"group": "all  STAFF"})
    assert group_names(chosen, worker())[0] == ("All staff",)


def test_an_over_long_name_is_left_out_with_a_warning() -> None:
    names, warnings = group_names(rules({"group": "T {costCenter}"}), worker(costCenter="x" * 300))
    assert names == ()
    assert "more than JumpCloud's 255" in warnings[0]


def test_the_ledger_is_sorted_ids_joined_by_commas_and_garbage_is_set_apart() -> None:
    assert parse_ledger(None) == ((), ())
    assert parse_ledger(f" {B},{A},,{B} , junk,{'AB' * 12}") == ((A, B), ("junk", "AB" * 12))
    assert ledger_text([B, A, B]) == f"{A},{B}"


@given(st.sets(st.integers(min_value=0, max_value=2**96 - 1), max_size=8))
def test_the_ledger_reads_back_what_was_written(numbers: set[int]) -> None:
    ids = {f"{n:024x}" for n in numbers}
    assert parse_ledger(ledger_text(ids)) == (tuple(sorted(ids)), ())


def test_with_ledger_keeps_every_other_item_and_drops_an_empty_ledger() -> None:
    items = [{"name": "badge", "value": "1"}, {"name": "DEELSYNCGROUPS", "value": A}, {"name": "z"}]
    assert with_ledger(items, "deelSyncGroups", [B, A]) == [
        items[0],
        {"name": "DEELSYNCGROUPS", "value": f"{A},{B}"},
        items[2],
    ]
    assert with_ledger(items, "deelSyncGroups", []) == [items[0], items[2]]
    assert with_ledger([], "deelSyncGroups", [A]) == [{"name": "deelSyncGroups", "value": A}]


def test_ledger_of_reads_a_directory_user() -> None:
    user = DirectoryUser(
        USER,
        "ada",
        "ada@acme.example",
        UserState.ACTIVATED,
        {},
        None,
        ({"name": "deelSyncGroups", "value": f"{B},{A},x"},),
    )
    assert ledger_of(user, "deelSyncGroups") == (A, B)
    assert ledger_of(user, "other") == ()


def snapshot(members: dict[str, set[str]], **methods: str) -> GroupSnapshot:
    names = {A: "All staff", B: "Dept - Eng", C: "Dept - Fin", D: "Dynamic"}
    groups = [DirectoryGroup(i, n, methods.get(n.split()[0], "NOTSET")) for i, n in names.items()]
    return GroupSnapshot(groups, members)


def decide(wanted: list[str], ledger: str | None, snap: GroupSnapshot, **options: Any):
    return decide_groups(
        wanted,
        ledger,
        USER,
        snap,
        create_missing=options.get("create", False),
        attribute="deelSyncGroups",
    )


def test_the_decision_adds_removes_keeps_and_never_touches_hand_made_memberships() -> None:
    snap = snapshot({A: {USER}, B: {USER}, C: set(), D: set()})
    # A: in ledger and wanted: kept. B: hand-made (not in ledger), not wanted: untouched.
    # C: wanted, not a member: added.
    decision = decide(["All staff", "Dept - Fin"], A, snap)
    assert {(line.group, line.change) for line in decision.lines} == {
        ("All staff", GroupChange.KEPT),
        ("Dept - Fin", GroupChange.ADDED),
    }
    assert decision.ledger_after == (A, C)
    assert decision.ledger_changes
    assert decision.change == (("All staff",), ("All staff", "Dept - Fin"))
    # B in the ledger and no longer wanted: removed
    moved = decide(["All staff"], f"{A},{B}", snap)
    assert [(line.group, line.change) for line in moved.lines] == [
        ("All staff", GroupChange.KEPT),
        ("Dept - Eng", GroupChange.REMOVED),
    ]
    assert moved.ledger_after == (A,)


def test_a_group_already_joined_by_hand_is_kept_out_of_the_ledger() -> None:
    decision = decide(["Dept - Eng"], None, snapshot({B: {USER}}))
    assert [line.change for line in decision.lines] == [GroupChange.KEPT]
    assert decision.ledger_after == ()
    assert not decision.ledger_changes


def test_missing_and_dynamic_groups_are_warnings() -> None:
    snap = snapshot({}, Dynamic="DYNAMIC_REVIEW_REQUIRED")
    decision = decide(["Nope", "Dynamic"], None, snap)
    assert decision.warnings == (
        "group 'Nope' does not exist in JumpCloud",
        "group 'Dynamic' is dynamic",
    )
    assert [(line.group, line.id, line.change) for line in decision.lines] == [
        ("Nope", None, GroupChange.MISSING)
    ]
    created = decide(["Nope"], None, snap, create=True)
    assert [(line.id, line.change) for line in created.lines] == [(None, GroupChange.ADDED)]
    assert created.ledger_changes


def test_deleted_groups_and_groups_left_by_hand_just_leave_the_ledger() -> None:
    gone = "f" * 24
    decision = decide([], f"{gone},{B}", snapshot({B: set()}))
    assert decision.lines == ()
    assert decision.ledger_after == ()
    assert decision.ledger_changes
    assert decision.change == (("Dept - Eng", gone), ())
