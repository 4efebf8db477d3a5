"""The planner with effective dating on: each rule as the plan shows it, and a property.

The decision for one worker is tested in sync/test_schedules.py; here the table checks how
the planner folds it into actions, outcomes, reasons, payloads, the guard and the report's
`schedule`, and the property checks the whole plan: planning the same input again against
the directory the first plan produced (jobs included) asks for nothing.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from target_jumpcloud.model import ActionKind, DesiredUser, DirectoryUser, Outcome, UserState
from target_jumpcloud.plan.build import PlanOptions, plan_sync
from target_jumpcloud.plan.document import plan_document, write_plan
from target_jumpcloud.plan.load import load_plan
from target_jumpcloud.settings.effective_dating import EffectiveDating
from target_jumpcloud.settings.sync_settings import parse_suspension_limit
from target_jumpcloud.sync.directory import Directory
from target_jumpcloud.sync.schedules import ScheduledJob

from tests.target_jumpcloud.directory_helpers import apply_to_directory

if TYPE_CHECKING:
    from pathlib import Path

NOW = dt.datetime(2027, 1, 1, 1, 0, tzinfo=dt.UTC)  # a nightly run
ON = EffectiveDating(enabled=True, activate_on_start_date=True, create_days_before_start=14)


def worker(
    profile_id: str = "p1",
    *,
    active: bool = True,
    start: str | None = "2026-01-05",
    last: str | None = None,
    zone: str | None = "Africa/Lagos",
) -> DesiredUser:
    return DesiredUser(
        position=int(profile_id[1:]),
        profile_id=profile_id,
        email=f"{profile_id}@acme.example",
        active=active,
        attributes={"email": f"{profile_id}@acme.example", "employeeIdentifier": profile_id},
        first_name="W",
        last_name=profile_id,
        start_date=start,
        last_day=last,
        timezone=zone,
    )


def user(profile_id: str = "p1", state: UserState = UserState.ACTIVATED) -> DirectoryUser:
    return DirectoryUser(
        id=f"u-{profile_id}",
        username=f"w.{profile_id}",
        email=f"{profile_id}@acme.example",
        state=state,
        attributes={"email": f"{profile_id}@acme.example", "employeeIdentifier": profile_id},
    )


def job(at: str, state: UserState = UserState.SUSPENDED, user_id: str = "u-p1") -> ScheduledJob:
    return ScheduledJob(
        id=f"j-{at}", user_id=user_id, state=state, at=dt.datetime.fromisoformat(at)
    )


def plan(
    records: list[DesiredUser],
    users: list[DirectoryUser] = (),  # type: ignore[assignment]
    jobs: list[ScheduledJob] = (),  # type: ignore[assignment]
    *,
    effective: EffectiveDating = ON,
    **options: Any,
) -> Any:
    directory = Directory(users)
    for scheduled in jobs:
        directory.jobs.setdefault(scheduled.user_id, []).append(scheduled)
    return plan_sync(
        records, directory, PlanOptions(effective_dating=effective, now=NOW, **options)
    ), directory


def only(the_plan: Any) -> tuple[str, Any]:
    """(kind or outcome, the action or result) of a one-record plan."""
    if the_plan.actions:
        (action,) = the_plan.actions
        return action.kind.value, action
    (result,) = the_plan.results
    return result.outcome.value, result


def lines(item: Any) -> list[tuple[str, str, str]]:
    return [(e["state"], e["at"], e["change"]) for e in (p.report_entry() for p in item.schedule)]


# Lagos is UTC+1 all year: 09:00 there is 08:00Z; 23:59 is 22:59Z.
CASES: list[tuple[str, list[DirectoryUser], list[ScheduledJob], DesiredUser, str, Any]] = [
    (
        "a future starter inside the window: created STAGED with an activation job",
        [],
        [],
        worker(start="2027-01-04"),
        "create",
        [("ACTIVATED", "2027-01-04T08:00:00Z", "scheduled")],
    ),
    (
        "a starter outside the pre-hire window is not created yet",
        [],
        [],
        worker(start="2027-02-01"),
        "skipped",
        "starts on 2027-02-01; created from 2027-01-18",
    ),
    (
        "a worker whose last day is over is not created",
        [],
        [],
        worker(last="2026-12-30"),
        "skipped",
        "last day 2026-12-30 is over; not created",
    ),
    (
        "an active worker with a future last day gets a suspension job",
        [user()],
        [],
        worker(last="2027-01-08"),
        "schedule",
        [("SUSPENDED", "2027-01-08T22:59:00Z", "scheduled")],
    ),
    (
        "a last day that is over suspends now, whatever Deel says",
        [user()],
        [],
        worker(last="2026-12-31"),
        "suspend",
        "last day 2026-12-31 is over",
    ),
    (
        "a last day that moves later: rescheduled",
        [user()],
        [job("2027-01-08T22:59:00+00:00")],
        worker(last="2027-01-15"),
        "schedule",
        [("SUSPENDED", "2027-01-15T22:59:00Z", "rescheduled")],
    ),
    (
        "a termination cancelled: the job is cancelled",
        [user()],
        [job("2027-01-08T22:59:00+00:00")],
        worker(),
        "schedule",
        [("SUSPENDED", "2027-01-08T22:59:00Z", "cancelled")],
    ),
    (
        "the same job already there: kept, nothing to write",
        [user()],
        [job("2027-01-08T22:59:00+00:00")],
        worker(last="2027-01-08"),
        "unchanged",
        [("SUSPENDED", "2027-01-08T22:59:00Z", "kept")],
    ),
    (
        "a STAGED user whose start date has passed is reported, not activated",
        [user(state=UserState.STAGED)],
        [],
        worker(start="2026-12-28"),
        "unchanged",
        "start date 2026-12-28 has passed and the user is still STAGED; left to the administrator",
    ),
    (
        "an existing STAGED user with a future start gets the activation job",
        [user(state=UserState.STAGED)],
        [],
        worker(start="2027-01-04"),
        "schedule",
        [("ACTIVATED", "2027-01-04T08:00:00Z", "scheduled")],
    ),
    (
        "a leaver's activation job is cancelled when Deel says inactive",
        [user(state=UserState.STAGED)],
        [job("2027-01-04T08:00:00+00:00", UserState.ACTIVATED)],
        worker(active=False, start="2027-01-04"),
        "suspend",
        [("ACTIVATED", "2027-01-04T08:00:00Z", "cancelled")],
    ),
]


@pytest.mark.parametrize(
    ("users", "jobs", "record", "kind", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_each_rule_as_the_plan_shows_it(
    users: list[DirectoryUser],
    jobs: list[ScheduledJob],
    record: DesiredUser,
    kind: str,
    expected: Any,
) -> None:
    the_plan, _ = plan([record], users, jobs)
    found, item = only(the_plan)
    assert found == kind
    if isinstance(expected, list):
        assert lines(item) == expected
    else:
        assert item.reason == expected


def test_a_future_starter_is_created_staged_whatever_user_state_on_create_says() -> None:
    the_plan, _ = plan([worker(start="2027-01-04")], user_state_on_create=UserState.ACTIVATED)
    (create,) = the_plan.actions
    assert create.payload["state"] == "STAGED"


def test_a_staged_user_activated_at_once_shows_the_state_it_changes() -> None:
    # 02:02 in Lagos is 01:02Z, two minutes after the run: inside the 5 minutes, made now.
    due = EffectiveDating(enabled=True, activate_on_start_date=True, activation_time=dt.time(2, 2))
    the_plan, _ = plan(
        [worker(start="2027-01-01")],
        [user(state=UserState.STAGED)],
        [job("2027-01-01T01:02:00+00:00", UserState.ACTIVATED)],
        effective=due,
    )
    kind, action = only(the_plan)
    assert (kind, action.outcome) == ("update", Outcome.UPDATED)
    assert action.changes == {"state": ("STAGED", "ACTIVATED")}
    assert action.payload == {"state": "ACTIVATED", "suspended": False}
    assert action.reason == "start date reached: activated now"
    assert lines(action) == [("ACTIVATED", "2027-01-01T01:02:00Z", "cancelled")]


def test_an_activation_made_at_once_survives_the_plan_file(tmp_path: Path) -> None:
    due = EffectiveDating(enabled=True, activate_on_start_date=True, activation_time=dt.time(2, 2))
    the_plan, directory = plan(
        [worker(start="2027-01-01")], [user(state=UserState.STAGED)], effective=due
    )
    document = plan_document(the_plan, directory, {}, created_at=NOW)
    (entry,) = document["actions"]
    assert (entry["kind"], entry["attributes"]) == ("update", {})
    assert entry["state"] == {"before": "STAGED", "after": "ACTIVATED"}
    (loaded,) = load_plan(write_plan(tmp_path / "plan.json", document), now=NOW).actions
    again = loaded.to_action()
    assert (again.kind, again.changes) == (ActionKind.UPDATE, {"state": ("STAGED", "ACTIVATED")})
    assert again.payload == {"state": "ACTIVATED", "suspended": False}


def test_a_scheduled_suspension_counts_for_the_guard() -> None:
    records = [worker(f"p{i}", last="2027-01-08") for i in range(1, 4)]
    users = [user(f"p{i}") for i in range(1, 4)]
    the_plan, _ = plan(records, users, max_suspensions=parse_suspension_limit(2))
    assert the_plan.suspensions == 3
    assert the_plan.guard_tripped


def test_a_kept_job_and_a_cancellation_are_not_counted_for_the_guard() -> None:
    records = [worker("p1", last="2027-01-08"), worker("p2")]
    users = [user("p1"), user("p2")]
    jobs = [
        job("2027-01-08T22:59:00+00:00", user_id="u-p1"),
        job("2027-01-09T22:59:00+00:00", user_id="u-p2"),
    ]
    the_plan, _ = plan(records, users, jobs, max_suspensions=parse_suspension_limit(0))
    assert the_plan.suspensions == 0


def test_a_last_day_over_never_reactivates() -> None:
    the_plan, _ = plan(
        [worker(last="2026-12-20")],
        [user(state=UserState.SUSPENDED)],
        reactivate_suspended_users=True,
    )
    kind, result = only(the_plan)
    assert (kind, result.reason) == ("unchanged", "last day 2026-12-20 is over")


def test_jobs_of_users_no_record_matched_are_not_in_the_plan() -> None:
    stranger = job("2027-01-08T22:59:00+00:00", user_id="u-someone")
    the_plan, _ = plan([worker()], [user()], [stranger])
    assert the_plan.actions == []


def test_with_effective_dating_off_the_dates_change_nothing() -> None:
    the_plan, _ = plan([worker(last="2026-12-20")], [user()], effective=EffectiveDating())
    kind, _ = only(the_plan)
    assert kind == "unchanged"


# -- the property ------------------------------------------------------------------------------

DAY = st.integers(-30, 60).map(lambda n: (NOW + dt.timedelta(days=n)).date().isoformat())
ZONES = st.sampled_from(["Africa/Lagos", "EST", "Pacific/Kiritimati", "Pacific/Pago_Pago", None])
STATES = st.sampled_from([None, UserState.STAGED, UserState.ACTIVATED, UserState.SUSPENDED])
_job_ids = itertools.count()


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list[DesiredUser], list[DirectoryUser], list[ScheduledJob]]:
    records, users, jobs = [], [], []
    for index in range(1, draw(st.integers(1, 6)) + 1):
        profile_id = f"p{index}"
        records.append(
            worker(
                profile_id,
                active=draw(st.booleans()),
                start=draw(st.none() | DAY),
                last=draw(st.none() | DAY),
                zone=draw(ZONES),
            )
        )
        state = draw(STATES)
        if state is None:
            continue
        users.append(user(profile_id, state))
        for _ in range(draw(st.integers(0, 2))):
            offset = draw(st.integers(-3 * 24, 60 * 24))
            users_job = ScheduledJob(
                id=f"j{next(_job_ids)}",
                user_id=f"u-{profile_id}",
                state=draw(st.sampled_from([UserState.ACTIVATED, UserState.SUSPENDED])),
                at=NOW + dt.timedelta(hours=offset),
            )
            jobs.append(users_job)
    return records, users, jobs


@settings(max_examples=150, deadline=None)
@given(
    world=worlds(),
    window=st.sampled_from([None, 0, 7]),
    activate=st.booleans(),
    reactivate=st.booleans(),
)
def test_planning_again_against_what_the_plan_made_asks_for_nothing(
    world: tuple[list[DesiredUser], list[DirectoryUser], list[ScheduledJob]],
    window: int | None,
    activate: bool,
    reactivate: bool,
) -> None:
    records, users, jobs = world
    effective = EffectiveDating(
        enabled=True, create_days_before_start=window, activate_on_start_date=activate
    )
    first, directory = plan(
        records, users, jobs, effective=effective, reactivate_suspended_users=reactivate
    )
    after = apply_to_directory(first, directory)
    second = plan_sync(
        records,
        after,
        PlanOptions(effective_dating=effective, now=NOW, reactivate_suspended_users=reactivate),
    )
    assert second.actions == []
    assert all(line.change == "kept" for result in second.results for line in result.schedule)
    assert not any(r.outcome is Outcome.SCHEDULED for r in second.results)
    assert all(a.kind is not ActionKind.SCHEDULE or a.schedule for a in first.actions)
