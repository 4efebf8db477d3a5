"""Leavers through the real `meltano run deel-to-jumpcloud` (docs/leavers.md).

The job's tap (`tap-deel-for-jumpcloud`) ends a complete listing with ACTIVATE_VERSION, so the
target can act on accounts the listing no longer backs. One test per leak of the issue:
a worker deleted in Deel, a leaver's steps, and a webhook-targeted sync of a re-hire's old
profile; plus the CSV job, whose tap sends no ACTIVATE_VERSION, never counting anyone.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from tap_deel.settings import DEFAULT_ACTIVE_HIRING_STATUSES

from tests.e2e.test_meltano import meltano, report
from tests.emulators.workforce import new_hire, terminate, work_email_of

if TYPE_CHECKING:
    from tests.emulators.base import EmulatorServer
    from tests.emulators.deel import DeelEmulator
    from tests.emulators.jumpcloud import JumpCloudEmulator

pytestmark = pytest.mark.meltano

SUSPEND = {"TARGET_JUMPCLOUD_OUT_OF_SCOPE": "suspend", "TARGET_JUMPCLOUD_OUT_OF_SCOPE_AFTER": "2"}
GROUPS = {
    "TARGET_JUMPCLOUD_GROUP_RULES": json.dumps([{"group": "All staff"}]),
    "TARGET_JUMPCLOUD_CREATE_MISSING_GROUPS": "true",
}
STEPS = {
    "TARGET_JUMPCLOUD_LEAVER_STEPS": json.dumps(["remove_groups", "reset_mfa", "expire_password"]),
    **GROUPS,
}


def _active_with_own_email(deel: DeelEmulator) -> list[dict[str, Any]]:
    people = sorted(deel.people, key=lambda p: str(p["id"]))
    emails = [(work_email_of(p) or "").lower() for p in people]
    return [
        p
        for p, email in zip(people, emails, strict=True)
        if email
        and emails.count(email) == 1
        and p.get("hiring_status") in DEFAULT_ACTIVE_HIRING_STATUSES
    ]


def _account(jc: JumpCloudEmulator, profile_id: str) -> dict[str, Any]:
    (user,) = jc.find_users(employeeIdentifier=profile_id)
    return user


def _custom(user: dict[str, Any]) -> dict[str, Any]:
    return {item["name"]: item["value"] for item in user.get("attributes") or []}


def test_a_worker_deleted_in_deel_is_reported_then_suspended(
    env: dict[str, str],
    deel: EmulatorServer[DeelEmulator],
    jumpcloud_emulator: EmulatorServer[JumpCloudEmulator],
) -> None:
    jc = jumpcloud_emulator.app
    meltano("run", "deel-to-jumpcloud", env=env)
    gone = _active_with_own_email(deel.app)[0]
    account = _account(jc, gone["id"])
    deel.app.remove_person(gone["id"])

    meltano("run", "deel-to-jumpcloud", env={**env, **SUSPEND})
    directory = report(env)["directory"]
    assert directory["complete_input"] is True
    (entry,) = directory["out_of_scope"]
    assert (entry["jumpcloud_id"], entry["action"], entry["missed_runs"]) == (
        account["_id"],
        "counted",
        1,
    )
    assert _account(jc, gone["id"])["state"] == account["state"]

    meltano("run", "deel-to-jumpcloud", env={**env, **SUSPEND})
    (entry,) = report(env)["directory"]["out_of_scope"]
    assert entry["action"] == "suspended"
    assert _account(jc, gone["id"])["state"] == "SUSPENDED"
    assert sum(1 for u in jc.users() if u["state"] == "SUSPENDED") == 1


def test_a_leaver_leaves_the_groups_with_mfa_reset_and_password_expired_once(
    env: dict[str, str],
    deel: EmulatorServer[DeelEmulator],
    jumpcloud_emulator: EmulatorServer[JumpCloudEmulator],
) -> None:
    jc = jumpcloud_emulator.app
    meltano("run", "deel-to-jumpcloud", env={**env, **GROUPS})
    leaver = _active_with_own_email(deel.app)[1]
    group = jc.find_group("All staff")
    assert group is not None
    assert _account(jc, leaver["id"])["_id"] in group["members"]
    deel.app.terminate_person(leaver["id"])
    meltano("run", "deel-to-jumpcloud", env={**env, **STEPS})
    (record,) = [r for r in report(env)["records"] if r["deel_id"] == leaver["id"]]
    assert record["outcome"] == "suspended"
    assert [s["step"] for s in record["leaver_steps"]] == [
        "remove_groups",
        "reset_mfa",
        "expire_password",
    ]
    assert {s["result"] for s in record["leaver_steps"]} == {"done"}
    jc.reset_log()
    meltano("run", "deel-to-jumpcloud", env={**env, **STEPS})
    assert jc.write_count == 0
    account = _account(jc, leaver["id"])
    group = jc.find_group("All staff")
    assert group is not None
    assert account["_id"] not in group["members"]
    actions = jc.credential_actions(account["_id"])
    assert (actions["mfa_resets"], actions["password_expirations"]) == (1, 1)
    assert _custom(account)["deelSyncLeaver"]


def test_a_targeted_sync_of_an_old_profile_keeps_the_rehires_account(
    env: dict[str, str],
    deel: EmulatorServer[DeelEmulator],
    jumpcloud_emulator: EmulatorServer[JumpCloudEmulator],
) -> None:
    jc = jumpcloud_emulator.app
    meltano("run", "deel-to-jumpcloud", env=env)
    old = _active_with_own_email(deel.app)[2]
    account = _account(jc, old["id"])
    hired = new_hire(
        deel.app.people, old["first_name"], old["last_name"], 5, work_email=work_email_of(old)
    )
    terminate(old)
    deel.app.update_person(old["id"])
    deel.app.add_person(hired)
    # What the webhook receiver runs for the old profile's termination.
    meltano("run", "deel-to-jumpcloud", env={**env, "TAP_DEEL_PERSON_IDS": json.dumps([old["id"]])})
    assert report(env)["directory"]["complete_input"] is False
    (kept,) = jc.find_users(email=account["email"])
    assert kept["_id"] == account["_id"]
    assert kept["state"] == account["state"] != "SUSPENDED"
    assert kept["employeeIdentifier"] == hired["id"]


def test_the_csv_job_is_never_a_complete_listing(
    env: dict[str, str],
    jumpcloud_emulator: EmulatorServer[JumpCloudEmulator],
) -> None:
    """tap-spreadsheets sends no ACTIVATE_VERSION: an account its export lacks is never counted."""
    jc = jumpcloud_emulator.app
    other = jc.add_user(
        username="left.csv",
        email="left.csv@acme.example",
        employeeIdentifier="0b4f3a52-9999-4c4c-8c8c-000000000009",
    )
    meltano("run", "csv-to-jumpcloud", env={**env, **SUSPEND})
    directory = report(env)["directory"]
    assert directory["complete_input"] is False
    assert directory["out_of_scope"] == []
    assert _custom(jc.get_user(str(other["_id"])) or {}) == {}
