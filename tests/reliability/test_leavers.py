"""Leavers through a real pipe, `tap-deel | target-jumpcloud` (docs/leavers.md).

The three ways an account outlived the person's work, each closed end to end:

1. A worker deleted in Deel: the complete listing (tap-deel's ACTIVATE_VERSION) misses the
   account, which is counted on the first run and suspended on the second with
   `out_of_scope: suspend`. A listing that is not complete (person_ids, a tap killed
   mid-list, a 5xx storm that ends the tap) never counts a single user as missing.
2. Leaver steps: a terminated worker leaves the group the sync put them in, and their MFA is
   reset and password expired, exactly once; ten suspensions made by scheduled jobs between
   two runs each get their steps exactly once.
3. A webhook-targeted sync (person_ids) naming only an old, inactive profile no longer
   suspends the account that the new, active profile with the same email keeps.
"""

from __future__ import annotations

import datetime as dt
import signal
from typing import TYPE_CHECKING, Any

from tests.emulators.workforce import new_hire, terminate, work_email_of
from tests.reliability.harness import Scenario, World, run_pipeline, world

if TYPE_CHECKING:
    from pathlib import Path

    from tests.emulators.base import Request, Response

SCENARIO = Scenario(60, 1)
COMPLETE = {"emit_activate_version_messages": True}  # as the deel-to-jumpcloud job runs it
SUSPEND = {"out_of_scope": "suspend", "out_of_scope_after": 2}
GROUPS = {"group_rules": [{"group": "All staff"}], "create_missing_groups": True}
STEPS = {"leaver_steps": ["remove_groups", "reset_mfa", "expire_password"], **GROUPS}


def _account(w: World, profile_id: str) -> dict[str, Any]:
    (user,) = w.jc.find_users(employeeIdentifier=profile_id)
    return user


def _custom(user: dict[str, Any]) -> dict[str, Any]:
    return {item["name"]: item["value"] for item in user.get("attributes") or []}


def _synced_world(w: World, tmp_path: Path) -> None:
    """The first sync: everyone created, and in the group `All staff` (the sync's ledger)."""
    run = run_pipeline(w, tmp_path / "first", tap_settings=COMPLETE, target_settings=GROUPS)
    assert run.ok, run.explain()


def _in_all_staff(w: World, user_id: str) -> bool:
    group = w.jc.find_group("All staff")
    assert group is not None
    return user_id in group["members"]


def _arm_tap_kill(w: World, people_page: int) -> None:
    """SIGKILL the tap when it asks for that page (1-based) of /people."""
    pages = [0]

    def hook(request: Request, response: Response | None) -> None:
        del response
        if request.path.rstrip("/").endswith("/people"):
            pages[0] += 1
            if pages[0] == people_page:
                w.kill("tap")

    w.deel.hook = hook


def test_a_worker_deleted_in_deel_is_counted_then_suspended(tmp_path):
    with world(SCENARIO.workforce()) as w:
        _synced_world(w, tmp_path)
        gone = SCENARIO._eligible(w.deel)[3]
        before = _account(w, gone["id"])
        w.deel.remove_person(gone["id"])
        others = {u["_id"]: u["state"] for u in w.jc.users() if u["_id"] != before["_id"]}

        first = run_pipeline(
            w, tmp_path / "counted", tap_settings=COMPLETE, target_settings=SUSPEND
        )
        assert first.ok, first.explain()
        report = first.report
        assert report is not None
        (entry,) = report["directory"]["out_of_scope"]
        assert (entry["jumpcloud_id"], entry["action"], entry["missed_runs"]) == (
            before["_id"],
            "counted",
            1,
        )
        assert _account(w, gone["id"])["state"] == before["state"]

        second = run_pipeline(
            w, tmp_path / "suspended", tap_settings=COMPLETE, target_settings=SUSPEND
        )
        assert second.ok, second.explain()
        report = second.report
        assert report is not None
        (entry,) = report["directory"]["out_of_scope"]
        assert entry["action"] == "suspended"
        assert entry["reason"] == "not in Deel's complete listing for 2 runs"
        assert _account(w, gone["id"])["state"] == "SUSPENDED"
        assert {u["_id"]: u["state"] for u in w.jc.users() if u["_id"] != before["_id"]} == others


def test_an_incomplete_listing_never_counts_anyone(tmp_path):
    """person_ids, a tap killed mid-list and a 5xx storm that ends the tap: no count, ever."""
    with world(SCENARIO.workforce()) as w:
        _synced_world(w, tmp_path)
        gone = SCENARIO._eligible(w.deel)[3]
        w.deel.remove_person(gone["id"])
        someone = SCENARIO._eligible(w.deel)[4]
        writes = w.jc.write_count

        targeted = run_pipeline(
            w,
            tmp_path / "targeted",
            tap_settings={**COMPLETE, "person_ids": [someone["id"]]},
            target_settings=SUSPEND,
        )
        assert targeted.ok, targeted.explain()
        report = targeted.report
        assert report is not None
        assert report["directory"]["complete_input"] is False
        assert report["directory"]["out_of_scope"] == []

        _arm_tap_kill(w, people_page=3)
        killed = run_pipeline(
            w, tmp_path / "killed", tap_settings=COMPLETE, target_settings=SUSPEND
        )
        w.calm()
        assert killed.tap_rc == -signal.SIGKILL, killed.explain()
        assert killed.target_rc != 0

        w.deel.faults.script("503", path=r".*/people$", count=1000)
        storm = run_pipeline(w, tmp_path / "storm", tap_settings=COMPLETE, target_settings=SUSPEND)
        w.calm()
        assert storm.tap_rc != 0, storm.explain()
        assert storm.target_rc != 0

        assert w.jc.write_count == writes  # not one count written
        account = _account(w, gone["id"])
        assert "deelSyncMissing" not in _custom(account)
        assert account["state"] != "SUSPENDED"

        counted = run_pipeline(w, tmp_path / "full", tap_settings=COMPLETE, target_settings=SUSPEND)
        assert counted.ok, counted.explain()
        assert _custom(_account(w, gone["id"]))["deelSyncMissing"] == "1"


def test_a_leaver_gets_its_steps_exactly_once(tmp_path):
    with world(SCENARIO.workforce()) as w:
        _synced_world(w, tmp_path)
        leaver = SCENARIO._eligible(w.deel)[5]
        w.deel.terminate_person(leaver["id"])
        w.jc.reset_log()
        for attempt in range(2):
            run = run_pipeline(
                w, tmp_path / f"run{attempt}", tap_settings=COMPLETE, target_settings=STEPS
            )
            assert run.ok, run.explain()
        account = _account(w, leaver["id"])
        assert account["state"] == "SUSPENDED"
        assert not _in_all_staff(w, account["_id"])
        removals = [e for e in w.jc.requests("POST") if e.path.endswith("/members")]
        assert len(removals) == 1  # one membership POST, in the first of the two runs
        actions = w.jc.credential_actions(account["_id"])
        assert (actions["mfa_resets"], actions["password_expirations"]) == (1, 1)
        assert _custom(account)["deelSyncLeaver"]


def test_ten_scheduled_suspensions_between_runs_each_get_their_steps_once(tmp_path):
    with world(SCENARIO.workforce()) as w:
        _synced_world(w, tmp_path)
        leavers = SCENARIO._eligible(w.deel)[6:16]
        accounts = [_account(w, person["id"]) for person in leavers]
        assert all(_in_all_staff(w, account["_id"]) for account in accounts)
        at = w.jc.now() + dt.timedelta(minutes=1)
        for person, account in zip(leavers, accounts, strict=True):
            w.jc.add_job(account["_id"], "SUSPENDED", at)  # as an earlier run scheduled them
            w.deel.terminate_person(person["id"])
        w.jc.advance(dt.timedelta(minutes=2))  # the jobs fire between the runs
        assert {(w.jc.get_user(a["_id"]) or {}).get("state") for a in accounts} == {"SUSPENDED"}

        for attempt in range(2):
            run = run_pipeline(
                w, tmp_path / f"run{attempt}", tap_settings=COMPLETE, target_settings=STEPS
            )
            assert run.ok, run.explain()
        for account in accounts:
            actions = w.jc.credential_actions(account["_id"])
            assert (actions["mfa_resets"], actions["password_expirations"]) == (1, 1), account
            assert _custom(w.jc.get_user(account["_id"]) or {})["deelSyncLeaver"]
            assert not _in_all_staff(w, account["_id"])


def test_a_targeted_sync_of_an_old_profile_keeps_the_rehires_account(tmp_path):
    with world(SCENARIO.workforce()) as w:
        _synced_world(w, tmp_path)
        old = SCENARIO._eligible(w.deel)[2]
        account = _account(w, old["id"])
        email = work_email_of(old)
        # A conversion: Deel ends the old profile and opens a new one with the same email.
        hired = new_hire(w.deel.people, old["first_name"], old["last_name"], 9, work_email=email)
        terminate(old)
        w.deel.update_person(old["id"])
        w.deel.add_person(hired)

        webhook = run_pipeline(
            w,
            tmp_path / "webhook",
            tap_settings={"person_ids": [old["id"]]},  # what the receiver sets for the old one
        )
        assert webhook.ok, webhook.explain()
        (kept,) = w.jc.find_users(email=account["email"])
        assert kept["_id"] == account["_id"]
        assert kept["state"] == account["state"] != "SUSPENDED"
        assert kept["employeeIdentifier"] == hired["id"]
