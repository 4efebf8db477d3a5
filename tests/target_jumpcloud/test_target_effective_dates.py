"""Effective dates through the whole target, over loopback against the emulator.

The engine plans at the real clock and the emulator runs on real time too, so the dates are
written relative to today (days ahead or behind, in UTC): the jobs land in the future.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest
from target_jumpcloud.apply.jobs import apply_schedules
from target_jumpcloud.engine import DirectoryUnavailable, GuardTripped, RecordsFailed
from target_jumpcloud.model import (
    Action,
    ActionKind,
    DesiredUser,
    Outcome,
    RecordResult,
    UserState,
)
from target_jumpcloud.output.review import ReviewChange, load_review
from target_jumpcloud.sync.schedules import JobChange, JobPlan

from tests.target_jumpcloud.target_io_helpers import (
    PEOPLE_SCHEMA,
    fast_client,
    make_target,
    person,
    record_message,
    run_target,
    schema_message,
    seed_user,
    writes,
)

if TYPE_CHECKING:
    from pathlib import Path

    from tests.emulators.jumpcloud import JumpCloudEmulator

JOBS = "/api/v2/bulk/userstates"
TODAY = dt.datetime.now(dt.UTC).date()
EFFECTIVE: dict[str, Any] = {
    "effective_dating": True,
    "activate_on_start_date": True,
    "user_state_on_create": "ACTIVATED",
}
SCHEMA = {
    **PEOPLE_SCHEMA,
    "properties": {
        **PEOPLE_SCHEMA["properties"],
        "last_day": {"type": ["string", "null"], "format": "date"},
        "timezone": {"type": ["string", "null"]},
    },
}


def day(offset: int) -> str:
    return (TODAY + dt.timedelta(days=offset)).isoformat()


def at(offset: int, clock: str) -> str:
    return f"{day(offset)}T{clock}:00Z"


STARTER = person("p1", "Ada", "Obi", start_date=day(10), timezone="UTC")
LEAVER = person("p2", "Ben", "Cole", start_date=day(-400), last_day=day(5), timezone="GMT")
STAYER = person("p3", "Cy", "Dunn", start_date=day(-400), timezone="UTC")


def text(*records: dict[str, Any]) -> str:
    messages = [schema_message(schema=SCHEMA), *(record_message(r) for r in records)]
    return "".join(json.dumps(m) + "\n" for m in messages)


@pytest.fixture
def app(jumpcloud_emulator: Any) -> JumpCloudEmulator:
    emulator: JumpCloudEmulator = jumpcloud_emulator.app
    emulator.log_bodies = True
    return emulator


def sync(api_url: str, tmp_path: Path, *records: dict[str, Any], **settings: Any) -> dict[str, Any]:
    report = tmp_path / "report.json"
    run_target(api_url, text(*records), report_path=str(report), **{**EFFECTIVE, **settings})
    data: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    return data


def by_id(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["deel_id"]: entry for entry in report["records"]}


def user_id(app: JumpCloudEmulator, profile_id: str) -> str:
    (user,) = app.find_users(employeeIdentifier=profile_id)
    return str(user["_id"])


def jobs_of(app: JumpCloudEmulator, profile_id: str) -> list[tuple[str, str]]:
    return sorted(
        (str(j["state"]), str(j["scheduledDate"])) for j in app.jobs(user_id(app, profile_id))
    )


def job_keys(app: JumpCloudEmulator) -> Counter[tuple[str, str, str]]:
    return Counter(
        (str(j["systemUserId"]), str(j["state"]), str(j["scheduledDate"])) for j in app.jobs()
    )


def test_the_first_sync_creates_the_users_and_schedules_their_jobs(
    app: JumpCloudEmulator, jumpcloud_api_url: str, tmp_path: Path
) -> None:
    report = sync(jumpcloud_api_url, tmp_path, STARTER, LEAVER, STAYER)

    records = by_id(report)
    assert records["p1"]["outcome"] == "created"
    assert records["p1"]["schedule"] == [
        {"state": "ACTIVATED", "at": at(10, "09:00"), "change": "scheduled"}
    ]
    assert records["p2"]["outcome"] == "created"
    assert records["p2"]["schedule"] == [
        {"state": "SUSPENDED", "at": at(5, "23:59"), "change": "scheduled"}
    ]
    assert records["p3"]["schedule"] == []
    assert report["counts"]["scheduled"] == 0
    # The starter is made STAGED, whatever user_state_on_create says; the others as it says.
    assert app.find_users(employeeIdentifier="p1")[0]["state"] == "STAGED"
    assert app.find_users(employeeIdentifier="p2")[0]["state"] == "ACTIVATED"
    assert jobs_of(app, "p1") == [("ACTIVATED", at(10, "09:00"))]
    assert jobs_of(app, "p2") == [("SUSPENDED", at(5, "23:59"))]
    assert len(app.requests("POST", JOBS)) == 2  # one per (state, instant)


def test_a_second_sync_sends_no_write_at_all(
    app: JumpCloudEmulator, jumpcloud_api_url: str, tmp_path: Path
) -> None:
    sync(jumpcloud_api_url, tmp_path, STARTER, LEAVER, STAYER)
    app.reset_log()

    report = sync(jumpcloud_api_url, tmp_path, STARTER, LEAVER, STAYER)

    assert writes(app) == []
    assert len(app.requests("GET", JOBS)) == 1  # the jobs are read once, 100 a page
    assert {e["outcome"] for e in report["records"]} == {"unchanged"}
    assert by_id(report)["p1"]["schedule"][0]["change"] == "kept"
    assert by_id(report)["p2"]["schedule"][0]["change"] == "kept"


def test_a_last_day_that_moves_is_rescheduled(
    app: JumpCloudEmulator, jumpcloud_api_url: str, tmp_path: Path
) -> None:
    sync(jumpcloud_api_url, tmp_path, STARTER, LEAVER)
    app.reset_log()

    report = sync(jumpcloud_api_url, tmp_path, STARTER, {**LEAVER, "last_day": day(7)})

    leaver = by_id(report)["p2"]
    assert leaver["outcome"] == "scheduled"
    assert leaver["schedule"] == [
        {"state": "SUSPENDED", "at": at(7, "23:59"), "change": "rescheduled"}
    ]
    assert report["counts"]["scheduled"] == 1
    assert jobs_of(app, "p2") == [("SUSPENDED", at(7, "23:59"))]
    assert [(e.method, e.path.startswith(JOBS)) for e in writes(app)] == [
        ("DELETE", True),
        ("POST", True),
    ]


def test_a_cancelled_termination_cancels_the_job(
    app: JumpCloudEmulator, jumpcloud_api_url: str, tmp_path: Path
) -> None:
    sync(jumpcloud_api_url, tmp_path, LEAVER)
    app.reset_log()

    report = sync(jumpcloud_api_url, tmp_path, {**LEAVER, "last_day": None})

    leaver = by_id(report)["p2"]
    assert leaver["outcome"] == "scheduled"
    assert leaver["schedule"] == [
        {"state": "SUSPENDED", "at": at(5, "23:59"), "change": "cancelled"}
    ]
    assert jobs_of(app, "p2") == []
    assert [e.method for e in writes(app)] == ["DELETE"]


def test_jobs_of_users_no_record_matched_are_never_touched(
    app: JumpCloudEmulator, jumpcloud_api_url: str, tmp_path: Path
) -> None:
    other = seed_user(app, "zed.admin", "zed@acme.example")
    app.add_job(other["_id"], "SUSPENDED", dt.datetime.now(dt.UTC) + dt.timedelta(days=3))
    before = app.jobs(other["_id"])

    sync(jumpcloud_api_url, tmp_path, STAYER)

    assert app.jobs(other["_id"]) == before
    assert app.requests("DELETE", f"{JOBS}/.*") == []


@pytest.mark.parametrize("kind", ["commit_then_503", "commit_then_drop", "503"])
def test_faults_on_the_schedule_post_never_make_two_jobs(
    app: JumpCloudEmulator, jumpcloud_api_url: str, tmp_path: Path, kind: str
) -> None:
    app.faults.script(kind, method="POST", path=JOBS)

    report = sync(jumpcloud_api_url, tmp_path, STARTER, LEAVER)

    assert {e["outcome"] for e in report["records"]} == {"created"}
    assert max(job_keys(app).values()) == 1
    assert len(job_keys(app)) == 2
    app.reset_log()
    sync(jumpcloud_api_url, tmp_path, STARTER, LEAVER)
    assert writes(app) == []


def test_a_failed_cancel_fails_the_record_and_the_next_run_finishes_it(
    app: JumpCloudEmulator, jumpcloud_api_url: str, tmp_path: Path
) -> None:
    sync(jumpcloud_api_url, tmp_path, LEAVER)
    app.faults.script("500", method="DELETE", path=f"{JOBS}/.*", count=100)
    moved = {**LEAVER, "last_day": day(8)}

    with pytest.raises(RecordsFailed):
        sync(jumpcloud_api_url, tmp_path, moved)
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert by_id(report)["p2"]["outcome"] == "failed"
    assert jobs_of(app, "p2") == [("SUSPENDED", at(5, "23:59"))]  # no second job beside it

    app.faults.clear()
    sync(jumpcloud_api_url, tmp_path, moved)
    assert jobs_of(app, "p2") == [("SUSPENDED", at(8, "23:59"))]


def test_scheduled_suspensions_trip_the_guard_and_nothing_is_written(
    app: JumpCloudEmulator, jumpcloud_api_url: str, tmp_path: Path
) -> None:
    seed_user(app, "ben.cole", "ben.cole@acme.example", employeeIdentifier="p2")
    seed_user(app, "cy.dunn", "cy.dunn@acme.example", employeeIdentifier="p3")
    app.reset_log()
    leaving = {**STAYER, "last_day": day(3)}

    with pytest.raises(GuardTripped):
        sync(jumpcloud_api_url, tmp_path, LEAVER, leaving, max_suspensions=1)

    assert writes(app) == []
    assert app.jobs() == []
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["status"] == "guard_tripped"
    assert "suspends 2 users" in report["message"]


def test_a_dry_run_as_of_a_later_time_previews_it_and_writes_nothing(
    app: JumpCloudEmulator, jumpcloud_api_url: str, tmp_path: Path
) -> None:
    sync(jumpcloud_api_url, tmp_path, STARTER, LEAVER)
    app.reset_log()

    report = sync(
        jumpcloud_api_url,
        tmp_path,
        STARTER,
        LEAVER,
        dry_run=True,
        as_of=f"{day(6)}T12:00:00+00:00",
    )

    assert writes(app) == []
    records = by_id(report)
    assert records["p2"]["outcome"] == "suspended"
    assert records["p2"]["reason"] == f"last day {day(5)} is over"
    assert records["p1"]["outcome"] == "unchanged"
    assert records["p1"]["schedule"][0]["change"] == "kept"


def test_with_effective_dating_off_no_scheduled_state_request_is_made(
    app: JumpCloudEmulator, jumpcloud_api_url: str, tmp_path: Path
) -> None:
    report = sync(jumpcloud_api_url, tmp_path, STARTER, LEAVER, effective_dating=False)

    assert app.requests(path=f"{JOBS}.*") == []
    assert {e["outcome"] for e in report["records"]} == {"created"}
    assert all(e["schedule"] == [] for e in report["records"])


def test_scheduled_states_that_cannot_be_loaded_stop_the_run_before_any_write(
    app: JumpCloudEmulator, jumpcloud_api_url: str, tmp_path: Path
) -> None:
    app.faults.script("500", method="GET", path=JOBS, count=100)

    with pytest.raises(DirectoryUnavailable, match="scheduled user states"):
        sync(jumpcloud_api_url, tmp_path, STARTER, LEAVER)

    assert writes(app) == []


def test_a_stop_asked_before_the_jobs_leaves_them_for_the_next_run(
    app: JumpCloudEmulator, jumpcloud_api_url: str
) -> None:
    seed_user(app, "ben.cole", "ben.cole@acme.example", employeeIdentifier="p2")
    (ben,) = app.find_users(employeeIdentifier="p2")
    line = JobPlan(
        UserState.SUSPENDED,
        dt.datetime.fromisoformat(at(5, "23:59").replace("Z", "+00:00")),
        JobChange.SCHEDULED,
    )
    desired = DesiredUser(
        position=0,
        profile_id="p2",
        email="ben.cole@acme.example",
        active=True,
        attributes={},
        first_name="Ben",
        last_name="Cole",
    )
    action = Action(
        kind=ActionKind.SCHEDULE,
        desired=desired,
        payload={},
        user_id=str(ben["_id"]),
        username="ben.cole",
        outcome=Outcome.SCHEDULED,
        schedule=(line,),
    )
    planned = RecordResult(
        position=0,
        deel_id="p2",
        email=desired.email,
        outcome=Outcome.SCHEDULED,
        jumpcloud_id=str(ben["_id"]),
        schedule=(line,),
    )
    stop = threading.Event()
    stop.set()

    (result,) = apply_schedules([action], [planned], fast_client(jumpcloud_api_url), stop=stop)

    assert result.outcome is Outcome.FAILED
    assert result.reason is not None
    assert "not applied: the run was interrupted" in result.reason
    assert app.requests(path=f"{JOBS}.*") == []


def apply(api_url: str, plan: Path, tmp_path: Path) -> dict[str, Any]:
    report = tmp_path / "applied.json"
    # Effective dating need not be on: a plan with job changes has the jobs read.
    target = make_target(api_url, apply_plan=str(plan), report_path=str(report))
    target.listen_after_start(None)
    data: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    return data


def test_a_reviewed_plan_applies_its_jobs_and_a_second_apply_writes_nothing(
    app: JumpCloudEmulator, jumpcloud_api_url: str, tmp_path: Path
) -> None:
    sync(jumpcloud_api_url, tmp_path, LEAVER)
    plan = tmp_path / "plan.json"
    moved = {**LEAVER, "last_day": day(9)}
    sync(jumpcloud_api_url, tmp_path, STARTER, moved, dry_run=True, plan_path=str(plan))
    document = json.loads(plan.read_text(encoding="utf-8"))
    lines = {a["deel_id"]: a["schedule"] for a in document["actions"]}
    assert lines["p2"][0]["change"] == "rescheduled"
    assert lines["p2"][0]["previous_at"] == at(5, "23:59")
    assert jobs_of(app, "p2") == [("SUSPENDED", at(5, "23:59"))]  # the dry run wrote nothing

    apply(jumpcloud_api_url, plan, tmp_path)
    assert jobs_of(app, "p1") == [("ACTIVATED", at(10, "09:00"))]
    assert jobs_of(app, "p2") == [("SUSPENDED", at(9, "23:59"))]

    app.reset_log()
    report = apply(jumpcloud_api_url, plan, tmp_path)
    assert writes(app) == []
    assert {e["outcome"] for e in report["records"]} == {"unchanged"}


def test_a_job_gone_since_the_plan_was_made_is_a_conflict(
    app: JumpCloudEmulator, jumpcloud_api_url: str, tmp_path: Path
) -> None:
    sync(jumpcloud_api_url, tmp_path, LEAVER)
    plan = tmp_path / "plan.json"
    moved = {**LEAVER, "last_day": day(9)}
    sync(jumpcloud_api_url, tmp_path, moved, dry_run=True, plan_path=str(plan))
    for scheduled in app.jobs():  # an administrator cancels it by hand
        fast_client(jumpcloud_api_url).cancel_scheduled_job(str(scheduled["scheduledJobId"]))
    app.reset_log()

    report = apply(jumpcloud_api_url, plan, tmp_path)

    (entry,) = report["records"]
    assert entry["outcome"] == "conflict"
    assert f"SUSPENDED job at {at(5, '23:59')} is gone" in entry["reason"]
    assert writes(app) == []


def _due_now(record: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """`record` starting today with its activation 2-3 minutes ahead (inside the 5 minutes)."""
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=3)
    return (
        {**record, "start_date": soon.date().isoformat()},
        {"activation_time": soon.strftime("%H:%M")},
    )


def test_a_staged_user_activated_at_once_reports_the_state_it_changes(
    app: JumpCloudEmulator, jumpcloud_api_url: str, tmp_path: Path
) -> None:
    sync(jumpcloud_api_url, tmp_path, STARTER)  # created STAGED, its activation scheduled
    assert app.find_users(employeeIdentifier="p1")[0]["state"] == "STAGED"
    record, timing = _due_now(STARTER)

    entry = by_id(sync(jumpcloud_api_url, tmp_path, record, **timing))["p1"]

    assert entry["outcome"] == "updated"
    assert entry["changes"] == {"state": ["STAGED", "ACTIVATED"]}
    assert entry["reason"] == "start date reached: activated now"
    assert app.find_users(employeeIdentifier="p1")[0]["state"] == "ACTIVATED"
    assert jobs_of(app, "p1") == []  # the activation job was cancelled


def test_a_reviewed_plan_shows_and_applies_an_activation_made_at_once(
    app: JumpCloudEmulator, jumpcloud_api_url: str, tmp_path: Path
) -> None:
    sync(jumpcloud_api_url, tmp_path, STARTER)
    record, timing = _due_now(STARTER)
    plan = tmp_path / "plan.json"
    sync(jumpcloud_api_url, tmp_path, record, dry_run=True, plan_path=str(plan), **timing)
    (action,) = json.loads(plan.read_text(encoding="utf-8"))["actions"]
    assert (action["kind"], action["attributes"]) == ("update", {})
    assert action["state"] == {"before": "STAGED", "after": "ACTIVATED"}
    (row,) = load_review(plan).rows
    assert (row.outcome, row.changes) == (
        "updated",
        (ReviewChange("state", "STAGED", "ACTIVATED"),),
    )

    (entry,) = apply(jumpcloud_api_url, plan, tmp_path)["records"]

    assert entry["outcome"] == "updated"
    assert entry["changes"] == {"state": ["STAGED", "ACTIVATED"]}
    assert app.find_users(employeeIdentifier="p1")[0]["state"] == "ACTIVATED"
    assert jobs_of(app, "p1") == []


def test_a_last_day_over_suspends_now_with_the_leaver_steps_once(app, jumpcloud_api_url, tmp_path):
    """docs/leavers.md: Deel still lists the worker as active, the last day is over."""
    seed_user(app, "ben.cole", "ben.cole@acme.example", employeeIdentifier="p2", state="ACTIVATED")
    gone = {**LEAVER, "last_day": day(-2)}
    report = sync(jumpcloud_api_url, tmp_path, gone, leaver_steps=["expire_password"])
    entry = by_id(report)["p2"]
    assert entry["outcome"] == "suspended"
    assert entry["leaver_steps"] == [{"step": "expire_password", "result": "done"}]
    app.reset_log()
    report = sync(jumpcloud_api_url, tmp_path, gone, leaver_steps=["expire_password"])
    assert by_id(report)["p2"]["leaver_steps"] == []
    assert app.credential_actions(user_id(app, "p2"))["password_expirations"] == 1
