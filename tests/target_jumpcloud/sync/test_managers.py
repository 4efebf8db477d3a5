"""Manager links: resolution, warnings, diffing and the order of the writes."""

from __future__ import annotations

from typing import Any

import pytest
from target_jumpcloud.model import (
    Action,
    ActionKind,
    DesiredUser,
    DirectoryUser,
    Outcome,
    Plan,
    RecordResult,
    RejectedRecord,
)
from target_jumpcloud.output.report import RunReport, utc_now
from target_jumpcloud.plan.build import PlanOptions, plan_sync
from target_jumpcloud.sync.directory import Directory, compared_fields, directory_user
from target_jumpcloud.sync.managers import (
    apply_waves,
    break_cycles,
    missing_manager_id,
    missing_manager_warning,
)
from target_jumpcloud.sync.mapping import DEFAULT_MAPPING, map_record, merge_mapping

from tests.target_jumpcloud.directory_helpers import apply_to_directory

MAPPING = merge_mapping({"manager": "direct_manager.id"})
FIELDS = compared_fields(MAPPING)


def worker(
    profile_id: str,
    first: str,
    last: str,
    manager: str | None = None,
    *,
    active: bool = True,
    email: str | None = None,
) -> dict[str, Any]:
    return {
        "id": profile_id,
        "first_name": first,
        "last_name": last,
        "work_email": email if email is not None else f"{first}.{last}@acme.example".lower(),
        "active": active,
        "job_title": "Engineer",
        "direct_manager": {"id": manager} if manager is not None else None,
    }


def mapped(*raw: dict[str, Any]) -> list[DesiredUser | RejectedRecord]:
    return [map_record(r, MAPPING, i) for i, r in enumerate(raw)]


def jc_user(
    user_id: str,
    username: str,
    profile_id: str | None,
    manager: str | None = None,
    *,
    state: str = "ACTIVATED",
    email: str | None = None,
) -> DirectoryUser:
    first, _, last = username.partition(".")
    obj = {
        "_id": user_id,
        "username": username,
        "email": email or f"{username}@acme.example",
        "employeeIdentifier": profile_id,
        "firstname": first.title(),
        "lastname": last.title(),
        "jobTitle": "Engineer",
        "state": state,
        "suspended": state == "SUSPENDED",
        "manager": manager,
    }
    return directory_user(obj, FIELDS)


def plan(
    records: list[DesiredUser | RejectedRecord],
    users: list[DirectoryUser] | None = None,
    **options: Any,
) -> Plan:
    return plan_sync(records, Directory(users or []), PlanOptions(**options))


def by_id(result: Plan) -> dict[str, Action | RecordResult]:
    found: dict[str, Action | RecordResult] = {a.desired.profile_id: a for a in result.actions}
    found.update((str(r.deel_id), r) for r in result.results)
    return found


def action(result: Plan, profile_id: str) -> Action:
    found = by_id(result)[profile_id]
    assert isinstance(found, Action), found
    return found


def warnings_of(item: Action | RecordResult) -> tuple[str, ...]:
    return item.desired.warnings if isinstance(item, Action) else item.warnings


def wave_ids(result: Plan) -> list[list[str]]:
    waves, _ = apply_waves(result.actions)
    return [[result.actions[i].desired.profile_id for i in wave] for wave in waves]


# -- the mapping key --------------------------------------------------------------------------


def test_manager_is_not_in_the_default_mapping():
    assert "manager" not in DEFAULT_MAPPING
    records = [map_record(worker("p1", "Ada", "Lovelace", "p9"), DEFAULT_MAPPING, 0)]
    assert isinstance(records[0], DesiredUser)
    assert records[0].manager is None
    created = plan(records).actions[0]
    assert "manager" not in created.payload
    assert created.manager_pending is None


def test_the_manager_key_is_read_as_a_profile_id_and_never_sent_as_text():
    (desired,) = mapped(worker("p1", "Ada", "Lovelace", " p9 "))
    assert isinstance(desired, DesiredUser)
    assert desired.manager == "p9"
    assert "manager" not in desired.attributes
    assert compared_fields(MAPPING).count("manager") == 1


def test_a_manager_path_holding_an_object_is_a_warning_not_a_rejection():
    raw = {**worker("p1", "Ada", "Lovelace"), "direct_manager": {"id": {"nested": 1}}}
    (desired,) = mapped(raw)
    assert isinstance(desired, DesiredUser)
    assert desired.manager is None
    assert any("manager not synced" in w for w in desired.warnings)


# -- first sync: managers first ----------------------------------------------------------------


def test_a_manager_listed_after_their_reports_is_created_first():
    records = mapped(
        worker("p3", "Grace", "Hopper", "p2"),
        worker("p2", "Alan", "Turing", "p1"),
        worker("p1", "Ada", "Lovelace"),
    )
    result = plan(records)
    assert [a.kind for a in result.actions] == [ActionKind.CREATE] * 3
    assert action(result, "p1").manager_pending is None
    assert action(result, "p2").manager_pending == 2  # Ada's stream position
    assert action(result, "p3").manager_pending == 1
    assert wave_ids(result) == [["p1"], ["p2"], ["p3"]]
    assert apply_waves(result.actions)[1] == []  # no follow-up PUT
    assert all("manager" not in a.payload for a in result.actions)  # ids are not known yet


def test_three_levels_and_independent_users_keep_the_first_wave_wide():
    records = mapped(
        worker("p1", "Ada", "Lovelace"),
        worker("p2", "Alan", "Turing", "p1"),
        worker("p3", "Grace", "Hopper", "p2"),
        worker("p4", "Kat", "Johnson", "p2"),
        worker("p5", "Edsger", "Dijkstra"),
        worker("p6", "Barbara", "Liskov"),
    )
    result = plan(records)
    assert wave_ids(result) == [["p1", "p5", "p6"], ["p2"], ["p3", "p4"]]


def test_a_manager_in_jumpcloud_but_not_in_the_input_is_linked_in_the_post():
    boss = jc_user("66b000000000000000000001", "ada.lovelace", "p1")
    result = plan(mapped(worker("p2", "Alan", "Turing", "p1")), [boss])
    created = action(result, "p2")
    assert created.payload["manager"] == boss.id
    assert created.manager_pending is None
    assert wave_ids(result) == [["p2"]]


def test_a_cycle_among_new_users_is_broken_at_its_first_member_with_one_follow_up():
    records = mapped(
        worker("p1", "Ada", "Lovelace", "p2"),
        worker("p2", "Alan", "Turing", "p1"),
        worker("p3", "Grace", "Hopper", "p1"),
    )
    result = plan(records)
    assert action(result, "p1").manager_followup
    assert not action(result, "p2").manager_followup
    _waves, followups = apply_waves(result.actions)
    assert wave_ids(result) == [["p1"], ["p2", "p3"]]
    assert [result.actions[i].desired.profile_id for i in followups] == ["p1"]


def test_a_three_person_cycle_needs_one_follow_up_and_its_tail_waits():
    records = mapped(
        worker("p4", "Kat", "Johnson", "p3"),  # reports into the cycle
        worker("p1", "Ada", "Lovelace", "p3"),
        worker("p2", "Alan", "Turing", "p1"),
        worker("p3", "Grace", "Hopper", "p2"),
    )
    result = plan(records)
    assert [a.desired.profile_id for a in result.actions if a.manager_followup] == ["p1"]
    assert wave_ids(result) == [["p1"], ["p2"], ["p3"], ["p4"]]


def test_break_cycles_counts_each_cycle_once():
    records = mapped(
        worker("a", "A", "One", "b"),
        worker("b", "B", "Two", "a"),
        worker("c", "C", "Three", "d"),
        worker("d", "D", "Four", "c"),
        worker("e", "E", "Five", "e"),  # self: a warning, never a cycle
    )
    result = plan(records)
    assert sum(a.manager_followup for a in result.actions) == 2
    assert break_cycles(result.actions) == 0  # already broken


def test_apply_waves_refuses_an_unbroken_cycle():
    result = plan(mapped(worker("a", "A", "One", "b"), worker("b", "B", "Two", "a")))
    for created in result.actions:
        created.manager_followup = False
    with pytest.raises(ValueError, match="cycle"):
        apply_waves(result.actions)


# -- warnings ----------------------------------------------------------------------------------


def test_a_missing_manager_is_a_warning_naming_the_profile_id_and_nothing_is_sent():
    result = plan(mapped(worker("p2", "Alan", "Turing", "p404")))
    created = action(result, "p2")
    assert "manager" not in created.payload
    assert created.manager_pending is None
    (warning,) = created.desired.warnings
    assert missing_manager_id(warning) == "p404"
    assert "p404" in warning
    assert warning.endswith("manager left as it is")


def test_a_manager_skipped_for_having_no_work_email_is_missing():
    records = mapped(
        worker("p1", "Ada", "Lovelace", email=""),
        worker("p2", "Alan", "Turing", "p1"),
    )
    result = plan(records)
    assert by_id(result)["p1"].outcome is Outcome.SKIPPED
    assert [missing_manager_id(w) for w in warnings_of(by_id(result)["p2"])] == ["p1"]


def test_an_inactive_manager_not_in_jumpcloud_is_missing():
    records = mapped(worker("p1", "Ada", "Lovelace", active=False), worker("p2", "A", "T", "p1"))
    result = plan(records)
    assert [missing_manager_id(w) for w in warnings_of(by_id(result)["p2"])] == ["p1"]


def test_a_worker_named_as_their_own_manager_is_a_warning():
    result = plan(mapped(worker("p1", "Ada", "Lovelace", "p1")))
    created = action(result, "p1")
    assert "manager" not in created.payload
    assert created.manager_pending is None
    assert created.desired.warnings == ("named as their own manager (p1); manager left as it is",)


def test_an_existing_user_named_as_their_own_manager_keeps_their_manager():
    boss = jc_user("66b000000000000000000001", "ada.lovelace", "p1")
    user = jc_user("66b000000000000000000002", "alan.turing", "p2", manager=boss.id)
    result = plan(mapped(worker("p2", "Alan", "Turing", "p2")), [boss, user])
    (unchanged,) = result.results
    assert unchanged.outcome is Outcome.UNCHANGED
    assert unchanged.warnings == ("named as their own manager (p2); manager left as it is",)


def test_two_jumpcloud_users_with_the_managers_profile_id_is_a_warning_not_a_guess():
    users = [
        jc_user("66b000000000000000000001", "ada.lovelace", "p1"),
        jc_user("66b000000000000000000002", "ada.lovelace2", "p1"),
    ]
    result = plan(mapped(worker("p2", "Alan", "Turing", "p1")), users)
    (warning,) = action(result, "p2").desired.warnings
    assert missing_manager_id(warning) == "p1"
    assert "2 JumpCloud users have this profile id" in warning


def test_the_summary_names_the_missing_managers_profile_ids():
    records = mapped(
        worker("p2", "Alan", "Turing", "p404"),
        worker("p3", "Grace", "Hopper", "p404"),
        worker("p4", "Kat", "Johnson", "p405"),
    )
    result = plan(records)
    report = RunReport.from_results(
        [
            RecordResult(
                position=a.desired.position,
                deel_id=a.desired.profile_id,
                email=a.desired.email,
                outcome=Outcome.CREATED,
                warnings=a.desired.warnings,
            )
            for a in result.actions
        ],
        started_at=utc_now(),
        dry_run=False,
    )
    assert report.missing_managers() == {"p404": 2, "p405": 1}
    (line,) = [line for line in report.summary_lines() if "name a manager" in line]
    assert line.startswith("3 record(s) name a manager with no JumpCloud user")
    assert line.endswith("manager profile id(s) p404, p405")


def test_missing_manager_warnings_round_trip():
    warning = missing_manager_warning("a b-1", "why")
    assert missing_manager_id(warning) == "a b-1"
    assert missing_manager_id("manager cut to 1024 characters") is None


# -- existing users: compared by id, never cleared ---------------------------------------------


BOSS = jc_user("66b000000000000000000001", "ada.lovelace", "p1")
OTHER_BOSS = jc_user("66b000000000000000000003", "grace.hopper", "p3")


def test_an_unchanged_manager_is_compared_by_id_and_makes_no_write():
    user = jc_user("66b000000000000000000002", "alan.turing", "p2", manager=BOSS.id)
    result = plan(mapped(worker("p2", "Alan", "Turing", "p1")), [BOSS, user])
    assert result.actions == []
    assert result.results[0].outcome is Outcome.UNCHANGED


def test_a_changed_manager_is_one_update_reported_by_usernames():
    user = jc_user("66b000000000000000000002", "alan.turing", "p2", manager=BOSS.id)
    result = plan(mapped(worker("p2", "Alan", "Turing", "p3")), [BOSS, OTHER_BOSS, user])
    update = action(result, "p2")
    assert update.kind is ActionKind.UPDATE
    assert update.outcome is Outcome.UPDATED
    assert update.payload == {"manager": OTHER_BOSS.id}
    assert update.changes == {"manager": ("ada.lovelace", "grace.hopper")}


def test_a_first_manager_is_reported_from_none():
    user = jc_user("66b000000000000000000002", "alan.turing", "p2")
    result = plan(mapped(worker("p2", "Alan", "Turing", "p1")), [BOSS, user])
    assert action(result, "p2").changes == {"manager": (None, "ada.lovelace")}


def test_a_manager_change_joins_the_other_changes_of_an_update():
    user = jc_user("66b000000000000000000002", "alan.turing", "p2", manager=BOSS.id)
    raw = {**worker("p2", "Alan", "Turing", "p3"), "job_title": "Lead"}
    update = action(plan(mapped(raw), [BOSS, OTHER_BOSS, user]), "p2")
    assert update.payload == {"jobTitle": "Lead", "manager": OTHER_BOSS.id}
    assert set(update.changes) == {"jobTitle", "manager"}


def test_an_empty_source_never_clears_a_manager():
    user = jc_user("66b000000000000000000002", "alan.turing", "p2", manager=BOSS.id)
    result = plan(mapped(worker("p2", "Alan", "Turing", None)), [BOSS, user])
    assert result.actions == []
    assert result.results[0].warnings == ()


def test_a_missing_manager_leaves_the_current_one():
    user = jc_user("66b000000000000000000002", "alan.turing", "p2", manager=BOSS.id)
    result = plan(mapped(worker("p2", "Alan", "Turing", "p404")), [BOSS, user])
    assert result.actions == []
    assert [missing_manager_id(w) for w in result.results[0].warnings] == ["p404"]


def test_reports_keep_the_link_to_a_manager_who_leaves():
    user = jc_user("66b000000000000000000002", "alan.turing", "p2", manager=BOSS.id)
    records = mapped(
        worker("p1", "Ada", "Lovelace", active=False), worker("p2", "Alan", "Turing", "p1")
    )
    result = plan(records, [BOSS, user])
    assert [(a.desired.profile_id, a.kind) for a in result.actions] == [("p1", ActionKind.SUSPEND)]
    assert "manager" not in result.actions[0].payload
    report = next(r for r in result.results if r.deel_id == "p2")
    assert report.outcome is Outcome.UNCHANGED
    assert report.warnings == ()


def test_an_existing_user_whose_new_manager_is_created_this_run_waits_for_that_create():
    user = jc_user("66b000000000000000000002", "alan.turing", "p2", manager=BOSS.id)
    records = mapped(worker("p2", "Alan", "Turing", "p9"), worker("p9", "Kat", "Johnson"))
    result = plan(records, [BOSS, user])
    update = action(result, "p2")
    assert update.manager_pending == 1
    assert "manager" not in update.payload
    assert update.changes == {"manager": ("ada.lovelace", "kat.johnson")}
    assert wave_ids(result) == [["p9"], ["p2"]]


def test_an_adopted_manager_is_linked_by_the_user_it_adopts():
    unlinked = jc_user("66b000000000000000000001", "ada.lovelace", None)
    records = mapped(worker("p1", "Ada", "Lovelace"), worker("p2", "Alan", "Turing", "p1"))
    result = plan(records, [unlinked])
    assert action(result, "p1").reason == "adopted by email"
    assert action(result, "p2").payload["manager"] == unlinked.id


def test_a_superseded_managers_profile_id_no_longer_names_anyone():
    old = jc_user("66b000000000000000000001", "ada.lovelace", "p1-old", email="ada@acme.example")
    records = mapped(
        worker("p1-old", "Ada", "Lovelace", active=False, email="ada@acme.example"),
        worker("p1-new", "Ada", "Lovelace", email="ada@acme.example"),
        worker("p2", "Alan", "Turing", "p1-old"),
        worker("p3", "Grace", "Hopper", "p1-new"),
    )
    result = plan(records, [old])
    assert action(result, "p1-new").payload.get("employeeIdentifier") == "p1-new"
    assert [missing_manager_id(w) for w in warnings_of(by_id(result)["p2"])] == ["p1-old"]
    assert action(result, "p3").payload["manager"] == old.id


def test_a_create_only_manager_is_set_at_creation_and_never_updated():
    user = jc_user("66b000000000000000000002", "alan.turing", "p2", manager=BOSS.id)
    records = mapped(worker("p2", "Alan", "Turing", "p3"), worker("p4", "Kat", "Johnson", "p1"))
    result = plan(records, [BOSS, OTHER_BOSS, user], create_only=frozenset({"manager"}))
    assert [a.desired.profile_id for a in result.actions] == ["p4"]
    assert result.actions[0].payload["manager"] == BOSS.id


# -- after the plan: nothing left ----------------------------------------------------------------


def test_a_first_sync_applied_leaves_nothing_to_do_and_links_everyone():
    records = mapped(
        worker("p3", "Grace", "Hopper", "p2"),
        worker("p2", "Alan", "Turing", "p1"),
        worker("p1", "Ada", "Lovelace", "p2"),  # a cycle with Alan
        worker("p4", "Kat", "Johnson", "p404"),
    )
    first = plan(records)
    directory = apply_to_directory(first, Directory())
    managers = {u.employee_identifier: u.manager for u in directory}
    ids = {u.employee_identifier: u.id for u in directory}
    assert managers == {"p1": ids["p2"], "p2": ids["p1"], "p3": ids["p2"], "p4": None}
    again = plan_sync(records, directory, PlanOptions())
    assert again.actions == []
