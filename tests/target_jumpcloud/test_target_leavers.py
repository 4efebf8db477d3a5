"""Leavers through the whole target over HTTP (docs/leavers.md): complete input, out of scope,
the missed-runs count, leaver steps once, failures retried, the guard, dry runs."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from target_jumpcloud.engine import GuardTripped, RecordsFailed

from tests.target_jumpcloud.target_io_helpers import (
    person,
    run_target,
    seed_user,
    singer_text,
    writes,
)

if TYPE_CHECKING:
    from tests.emulators.jumpcloud import JumpCloudEmulator

P1 = "0b4f3a52-1111-4c4c-8c8c-000000000001"
P2 = "0b4f3a52-2222-4c4c-8c8c-000000000002"
GONE = "0b4f3a52-9999-4c4c-8c8c-000000000009"
ADA = person(P1, "Ada", "Lovelace")
ALAN = person(P2, "Alan", "Turing")
ACTIVATE = {"type": "ACTIVATE_VERSION", "stream": "people", "version": 1700000000000}
SUSPEND = {"out_of_scope": "suspend", "out_of_scope_after": 2}


@pytest.fixture
def app(jumpcloud_emulator):
    emulator: JumpCloudEmulator = jumpcloud_emulator.app
    emulator.log_bodies = True
    return emulator


def _complete(records: list[dict[str, Any]]) -> str:
    """The worker stream as a complete listing: ACTIVATE_VERSION after its last record."""
    return singer_text(records, extra=[ACTIVATE], state={"bookmark": 1})


def _seed(app: JumpCloudEmulator, username: str, profile_id: str | None, **fields: Any) -> str:
    extra: dict[str, Any] = {"state": "ACTIVATED"}
    if profile_id:
        extra["employeeIdentifier"] = profile_id
    extra.update(fields)
    user = seed_user(app, username, f"{username}@acme.example", **extra)
    return str(user["_id"])


def _seed_team(app: JumpCloudEmulator) -> str:
    _seed(app, "ada.lovelace", P1, firstname="Ada")
    _seed(app, "alan.turing", P2)
    return _seed(app, "gone.person", GONE)


def _custom(app: JumpCloudEmulator, user_id: str) -> dict[str, Any]:
    user = app.get_user(user_id)
    assert user is not None
    return {item["name"]: item["value"] for item in user.get("attributes") or []}


def _report(tmp_path) -> dict[str, Any]:
    return json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))


def _writes_to(app: JumpCloudEmulator, user_id: str) -> list[Any]:
    return [e for e in writes(app) if user_id in e.path]


def test_report_mode_lists_the_user_and_writes_nothing(app, jumpcloud_api_url, tmp_path):
    gone = _seed_team(app)
    _seed(app, "admin", None)  # no employeeIdentifier: unlinked
    report_path = str(tmp_path / "report.json")
    run_target(jumpcloud_api_url, _complete([ADA, ALAN]), report_path=report_path)
    directory = _report(tmp_path)["directory"]
    assert directory["complete_input"] is True
    assert directory["out_of_scope"] == [
        {
            "jumpcloud_id": gone,
            "username": "gone.person",
            "email": "gone.person@acme.example",
            "employeeIdentifier": GONE,
            "missed_runs": 1,
            "action": "reported",
        }
    ]
    assert directory["unlinked"] == {"count": 1, "first": ["admin"]}
    assert _writes_to(app, gone) == []


def test_suspend_counts_then_suspends_then_leaves_the_user_alone(app, jumpcloud_api_url, tmp_path):
    gone = _seed_team(app)
    report_path = str(tmp_path / "report.json")
    settings = {**SUSPEND, "leaver_steps": ["reset_mfa", "expire_password"]}

    run_target(jumpcloud_api_url, _complete([ADA, ALAN]), report_path=report_path, **settings)
    (entry,) = _report(tmp_path)["directory"]["out_of_scope"]
    assert (entry["action"], entry["missed_runs"]) == ("counted", 1)
    assert _custom(app, gone) == {"deelSyncMissing": "1"}
    assert app.get_user(gone)["state"] == "ACTIVATED"
    assert [e.method for e in _writes_to(app, gone)] == ["PUT"]  # one PUT per run

    app.reset_log()
    run_target(jumpcloud_api_url, _complete([ADA, ALAN]), report_path=report_path, **settings)
    (entry,) = _report(tmp_path)["directory"]["out_of_scope"]
    assert entry["action"] == "suspended"
    assert entry["reason"] == "not in Deel's complete listing for 2 runs"
    assert entry["leaver_steps"] == [
        {"step": "reset_mfa", "result": "done"},
        {"step": "expire_password", "result": "done"},
    ]
    user = app.get_user(gone)
    assert (user["state"], user["suspended"]) == ("SUSPENDED", True)
    custom = _custom(app, gone)
    assert custom["deelSyncMissing"] == "2"
    assert custom["deelSyncLeaver"]  # the date the steps completed
    credentials = app.credential_actions(gone)
    assert (credentials["mfa_resets"], credentials["password_expirations"]) == (1, 1)

    app.reset_log()
    run_target(jumpcloud_api_url, _complete([ADA, ALAN]), report_path=report_path, **settings)
    assert _report(tmp_path)["directory"]["out_of_scope"] == []  # suspended already
    assert writes(app) == []
    credentials = app.credential_actions(gone)
    assert (credentials["mfa_resets"], credentials["password_expirations"]) == (1, 1)


@pytest.mark.parametrize(
    "text",
    [
        singer_text([ADA, ALAN], state={"bookmark": 1}),  # no ACTIVATE_VERSION at all
        # announced before the records (singer-sdk's default), so not after the last one
        singer_text([], extra=[ACTIVATE]).rstrip("\n")
        + "\n"
        + "".join(
            json.dumps({"type": "RECORD", "stream": "people", "record": r}) + "\n"
            for r in (ADA, ALAN)
        ),
        # an ACTIVATE_VERSION for another stream
        singer_text([ADA, ALAN], extra=[{**ACTIVATE, "stream": "contracts"}]),
    ],
    ids=["none", "before-the-records", "another-stream"],
)
def test_an_incomplete_input_never_counts(app, jumpcloud_api_url, tmp_path, text):
    gone = _seed_team(app)
    report_path = str(tmp_path / "report.json")
    for _ in range(3):
        run_target(jumpcloud_api_url, text, report_path=report_path, **SUSPEND)
    directory = _report(tmp_path)["directory"]
    assert directory["complete_input"] is False
    assert directory["out_of_scope"] == []
    assert "not made" in directory["note"]
    assert _writes_to(app, gone) == []
    assert app.get_user(gone)["state"] == "ACTIVATED"


def test_a_user_seen_again_loses_its_count(app, jumpcloud_api_url, tmp_path):
    gone = _seed_team(app)
    run_target(jumpcloud_api_url, _complete([ADA, ALAN]), **SUSPEND)
    assert _custom(app, gone) == {"deelSyncMissing": "1"}
    back = person(GONE, "Gone", "Person", email="gone.person@acme.example")
    report_path = str(tmp_path / "report.json")
    run_target(jumpcloud_api_url, _complete([ADA, ALAN, back]), report_path=report_path, **SUSPEND)
    assert _custom(app, gone) == {}
    assert app.get_user(gone)["state"] == "ACTIVATED"
    assert _report(tmp_path)["directory"]["out_of_scope"] == []


def test_a_record_that_cannot_be_applied_still_carries_its_user(app, jumpcloud_api_url):
    gone = _seed_team(app)
    broken = person(GONE, "Gone", "Person", email="not-an-email")  # skipped by validation
    for _ in range(3):
        run_target(jumpcloud_api_url, _complete([ADA, ALAN, broken]), **SUSPEND)
    assert app.get_user(gone)["state"] == "ACTIVATED"
    assert _custom(app, gone) == {}


def test_an_id_that_does_not_look_like_deels_is_never_out_of_scope(app, jumpcloud_api_url):
    other = _seed(app, "csv.person", "E-1001")
    for _ in range(3):
        run_target(jumpcloud_api_url, _complete([ADA]), **SUSPEND)
    assert app.get_user(other)["state"] == "ACTIVATED"


def test_the_guard_counts_out_of_scope_suspensions(app, jumpcloud_api_url, tmp_path):
    gone = _seed_team(app)
    run_target(jumpcloud_api_url, _complete([ADA, ALAN]), **SUSPEND)
    app.reset_log()
    with pytest.raises(GuardTripped, match="suspends 1 users"):
        run_target(jumpcloud_api_url, _complete([ADA, ALAN]), max_suspensions=0, **SUSPEND)
    assert writes(app) == []
    assert app.get_user(gone)["state"] == "ACTIVATED"


def test_a_dry_run_lists_the_suspension_and_its_steps(app, jumpcloud_api_url, tmp_path):
    gone = _seed_team(app)
    run_target(jumpcloud_api_url, _complete([ADA, ALAN]), **SUSPEND)
    app.reset_log()
    report_path = str(tmp_path / "report.json")
    run_target(
        jumpcloud_api_url,
        _complete([ADA, ALAN]),
        dry_run=True,
        report_path=report_path,
        leaver_steps=["reset_mfa"],
        **SUSPEND,
    )
    (entry,) = _report(tmp_path)["directory"]["out_of_scope"]
    assert entry["action"] == "suspended"
    assert entry["leaver_steps"] == [{"step": "reset_mfa", "result": "planned"}]
    assert writes(app) == []
    assert app.get_user(gone)["state"] == "ACTIVATED"


def test_a_terminated_worker_gets_its_steps_once(app, jumpcloud_api_url, tmp_path):
    ada = _seed(app, "ada.lovelace", P1)
    settings = {"leaver_steps": ["reset_mfa", "expire_password"]}
    report_path = str(tmp_path / "report.json")
    left = person(P1, "Ada", "Lovelace", active=False)
    run_target(jumpcloud_api_url, singer_text([left]), report_path=report_path, **settings)
    (record,) = _report(tmp_path)["records"]
    assert record["outcome"] == "suspended"
    assert record["leaver_steps"] == [
        {"step": "reset_mfa", "result": "done"},
        {"step": "expire_password", "result": "done"},
    ]
    assert app.get_user(ada)["state"] == "SUSPENDED"
    assert _custom(app, ada)["deelSyncLeaver"]
    app.reset_log()
    run_target(jumpcloud_api_url, singer_text([left]), report_path=report_path, **settings)
    assert writes(app) == []
    (record,) = _report(tmp_path)["records"]
    assert (record["outcome"], record["leaver_steps"]) == ("unchanged", [])
    assert app.credential_actions(ada)["mfa_resets"] == 1


def test_suspensions_made_between_runs_get_their_steps_once(app, jumpcloud_api_url, tmp_path):
    """Ten users suspended outside the run (a scheduled job fired): each gets the steps once."""
    ids = [f"0b4f3a52-3333-4c4c-8c8c-{n:012d}" for n in range(10)]
    users = [_seed(app, f"leaver{n}", pid, state="SUSPENDED") for n, pid in enumerate(ids)]
    records = [person(pid, f"Leaver{n}", "X", active=False) for n, pid in enumerate(ids)]
    settings = {"leaver_steps": ["reset_mfa", "expire_password"]}
    report_path = str(tmp_path / "report.json")
    run_target(jumpcloud_api_url, _complete(records), report_path=report_path, **settings)
    outcomes = {r["outcome"] for r in _report(tmp_path)["records"]}
    assert outcomes == {"updated"}
    for user_id in users:
        credentials = app.credential_actions(user_id)
        assert (credentials["mfa_resets"], credentials["password_expirations"]) == (1, 1)
        assert _custom(app, user_id)["deelSyncLeaver"]
    app.reset_log()
    run_target(jumpcloud_api_url, _complete(records), report_path=report_path, **settings)
    assert writes(app) == []
    assert all(app.credential_actions(u)["mfa_resets"] == 1 for u in users)


def test_a_failed_step_fails_the_record_keeps_the_suspension_and_is_retried(
    app, jumpcloud_api_url, tmp_path
):
    ada = _seed(app, "ada.lovelace", P1)
    settings = {"leaver_steps": ["reset_mfa", "expire_password"]}
    report_path = str(tmp_path / "report.json")
    left = person(P1, "Ada", "Lovelace", active=False)
    app.faults.script("503", method="POST", path=r".*/resetmfa$", count=50)
    with pytest.raises(RecordsFailed):
        run_target(jumpcloud_api_url, singer_text([left]), report_path=report_path, **settings)
    (record,) = _report(tmp_path)["records"]
    assert record["outcome"] == "failed"
    assert "leaver step reset_mfa failed" in record["reason"]
    assert record["leaver_steps"] == [
        {"step": "reset_mfa", "result": "failed"},
        {"step": "expire_password", "result": "done"},
    ]
    assert app.get_user(ada)["state"] == "SUSPENDED"  # the suspension stays
    assert "deelSyncLeaver" not in _custom(app, ada)
    app.faults.clear()
    run_target(jumpcloud_api_url, singer_text([left]), report_path=report_path, **settings)
    (record,) = _report(tmp_path)["records"]
    assert record["outcome"] == "updated"
    assert [s["result"] for s in record["leaver_steps"]] == ["done", "done"]
    assert app.credential_actions(ada)["mfa_resets"] == 1
    assert _custom(app, ada)["deelSyncLeaver"]


def test_reactivation_removes_the_leaver_record(app, jumpcloud_api_url):
    ada = _seed(app, "ada.lovelace", P1)
    left = person(P1, "Ada", "Lovelace", active=False)
    run_target(jumpcloud_api_url, singer_text([left]), leaver_steps=["expire_password"])
    assert "deelSyncLeaver" in _custom(app, ada)
    run_target(jumpcloud_api_url, singer_text([ADA]), reactivate_suspended_users=True)
    assert app.get_user(ada)["state"] == "ACTIVATED"
    assert "deelSyncLeaver" not in _custom(app, ada)


def test_no_step_with_work_means_no_request(app, jumpcloud_api_url):
    """The default step, remove_groups, has nothing to do for a user in no group of the sync."""
    ada = _seed(app, "ada.lovelace", P1)
    left = person(P1, "Ada", "Lovelace", active=False)
    run_target(jumpcloud_api_url, singer_text([left]))
    assert [e.method for e in _writes_to(app, ada)] == ["PUT"]  # the suspension only
    assert _custom(app, ada) == {}


def _apply_plan(api_url: str, plan_path: str, report_path: str, **settings: Any) -> None:
    from tests.target_jumpcloud.target_io_helpers import make_target

    target = make_target(api_url, apply_plan=plan_path, report_path=report_path, **settings)
    target.listen_after_start(None)


def test_a_plan_lists_the_out_of_scope_suspension_and_the_steps_and_is_applied_exactly(
    app, jumpcloud_api_url, tmp_path
):
    gone = _seed_team(app)
    ada_left = person(P1, "Ada", "Lovelace", active=False)
    ada = app.find_users(employeeIdentifier=P1)[0]["_id"]
    run_target(jumpcloud_api_url, _complete([ada_left, ALAN]), **SUSPEND, dry_run=False)
    app.reset_log()
    # Ada was suspended by the run above; GONE was counted once. Now a reviewed plan.
    plan_path = str(tmp_path / "plan.json")
    report_path = str(tmp_path / "report.json")
    settings = {**SUSPEND, "leaver_steps": ["reset_mfa"]}
    run_target(
        jumpcloud_api_url,
        _complete([ada_left, ALAN]),
        dry_run=True,
        plan_path=plan_path,
        report_path=report_path,
        **settings,
    )
    assert writes(app) == []
    document = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))
    (action,) = [a for a in document["actions"] if a.get("out_of_scope")]
    assert (action["kind"], action["jumpcloud_id"], action["deel_id"]) == ("suspend", gone, GONE)
    assert action["attributes"] == {"attributes.deelSyncMissing": {"before": "1", "after": "2"}}
    assert action["leaver_steps"] == ["reset_mfa"]
    ada_action = next(a for a in document["actions"] if a["jumpcloud_id"] == ada)
    assert ada_action["leaver_steps"] == ["reset_mfa"]  # suspended before, steps never recorded
    assert document["directory"]["out_of_scope"][0]["action"] == "suspended"

    _apply_plan(jumpcloud_api_url, plan_path, report_path, **settings)
    user = app.get_user(gone)
    assert user["state"] == "SUSPENDED"
    assert _custom(app, gone)["deelSyncMissing"] == "2"
    assert _custom(app, gone)["deelSyncLeaver"]
    assert app.credential_actions(gone)["mfa_resets"] == 1
    assert app.credential_actions(ada)["mfa_resets"] == 1
    records = {r["jumpcloud_id"]: r for r in _report(tmp_path)["records"]}
    assert records[gone]["outcome"] == "suspended"
    assert records[gone]["leaver_steps"] == [{"step": "reset_mfa", "result": "done"}]

    app.reset_log()
    _apply_plan(jumpcloud_api_url, plan_path, report_path, **settings)  # the same plan again
    assert writes(app) == []
    assert app.credential_actions(gone)["mfa_resets"] == 1


@pytest.mark.parametrize("method", ["STATIC", "DYNAMIC_AUTOMATED"])
def test_members_of_the_protected_group_are_never_suspended_as_out_of_scope(
    app, jumpcloud_api_url, tmp_path, method
):
    gone = _seed_team(app)
    other = _seed(app, "other.gone", "0b4f3a52-8888-4c4c-8c8c-000000000008")
    app.add_group("Break glass", members=[gone], membershipMethod=method)
    report_path = str(tmp_path / "report.json")
    settings = {**SUSPEND, "protected_group": "break glass"}  # names ignore case
    for _ in range(2):
        run_target(jumpcloud_api_url, _complete([ADA, ALAN]), report_path=report_path, **settings)
    actions = {
        e["jumpcloud_id"]: e["action"] for e in _report(tmp_path)["directory"]["out_of_scope"]
    }
    assert actions == {gone: "protected", other: "suspended"}
    assert app.get_user(gone)["state"] == "ACTIVATED"
    assert _custom(app, gone) == {}
    assert app.get_user(other)["state"] == "SUSPENDED"


def test_a_protected_group_jumpcloud_lacks_protects_everyone(
    app, jumpcloud_api_url, tmp_path, caplog
):
    gone = _seed_team(app)
    report_path = str(tmp_path / "report.json")
    settings = {**SUSPEND, "protected_group": "No such group"}
    for _ in range(3):
        run_target(jumpcloud_api_url, _complete([ADA, ALAN]), report_path=report_path, **settings)
    (entry,) = _report(tmp_path)["directory"]["out_of_scope"]
    assert entry["action"] == "protected"
    assert app.get_user(gone)["state"] == "ACTIVATED"
    assert "protected_group 'No such group' is not a JumpCloud user group" in caplog.text


def test_a_user_seen_again_keeps_its_groups_and_loses_only_its_count(
    app, jumpcloud_api_url, tmp_path
):
    group = app.add_group("All staff")
    ada = _seed(
        app,
        "ada.lovelace",
        P1,
        firstname="Ada",
        lastname="Lovelace",
        attributes=[
            {"name": "deelSyncGroups", "value": str(group["id"])},
            {"name": "deelSyncMissing", "value": "1"},
        ],
    )
    app.set_group_members(str(group["id"]), [ada])
    report_path = str(tmp_path / "report.json")
    run_target(
        jumpcloud_api_url,
        _complete([ADA]),
        report_path=report_path,
        group_rules=[{"group": "All staff"}],
    )
    (record,) = _report(tmp_path)["records"]
    assert record["outcome"] == "updated"
    assert record["changes"]["attributes.deelSyncMissing"] == ["1", None]
    assert [(g["group"], g["change"]) for g in record["groups"]] == [("All staff", "kept")]
    assert _custom(app, ada) == {"deelSyncGroups": str(group["id"])}
