"""Every rule of docs/effective-dates.md at the schedules level, table-driven, at fixed times.

Each case is one worker (dates, zone, Deel's active flag), their JumpCloud user's state and
scheduled jobs, the settings and "now"; and what `decide` must say. Times are UTC unless a
comment says otherwise. The worked examples of docs/effective-dates.md are cases here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from target_jumpcloud.model import UserState
from target_jumpcloud.settings.effective_dating import EffectiveDating
from target_jumpcloud.sync.schedules import (
    MIN_LEAD,
    Decision,
    JobChange,
    JobPlan,
    ScheduledJob,
    batch_schedules,
    decide,
    diff_jobs,
    jobs_by_user,
    parse_date,
    read_job,
    read_worker_dates,
)

STAGED, ACTIVATED, SUSPENDED = UserState.STAGED, UserState.ACTIVATED, UserState.SUSPENDED
A, S = "ACTIVATED", "SUSPENDED"
SCHEDULED, RESCHEDULED, CANCELLED, KEPT = "scheduled", "rescheduled", "cancelled", "kept"
LAGOS, NEW_YORK, BERLIN = "Africa/Lagos", "America/New_York", "Europe/Berlin"
UTC_PLUS_14, UTC_MINUS_11 = "Pacific/Kiritimati", "Pacific/Pago_Pago"
MONDAY = "2027-01-04"  # a new hire in Lagos starts: 09:00 WAT = 08:00Z
MONDAY_9_LAGOS = "2027-01-04T08:00"
FRIDAY = "2027-01-08"  # a leaver in New York: the end of the day, 23:59 EST = 04:59Z
FRIDAY_END_NY = "2027-01-09T04:59"


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class Case:
    """One worker at one time, and what docs/effective-dates.md says about them."""

    now: str
    start: object = None
    last: object = None
    tz: object = LAGOS
    active: bool = True
    user: UserState | None = None  # None: no JumpCloud user yet
    jobs: tuple[tuple[str, str], ...] = ()  # the user's jobs (state, instant): ids j0, j1...
    reactivate: bool = False
    settings: dict[str, Any] = field(default_factory=dict)
    # What must come out:
    schedule: tuple[tuple[str, str, str] | tuple[str, str, str, str], ...] = ()
    skip: str | None = None
    effectively_active: bool | None = None  # None: the same as `active`
    create_state: UserState | None = None
    activate_now: bool = False
    hold: bool = False
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def settings_of(overrides: dict[str, Any]) -> EffectiveDating:
    values: dict[str, Any] = {"enabled": True, "activate_on_start_date": True, **overrides}
    for name in ("activation_time", "suspension_time"):
        if isinstance(values.get(name), str):
            values[name] = dt.time.fromisoformat(values[name])
    if isinstance(values.get("default_timezone"), str):
        values["default_timezone"] = ZoneInfo(values["default_timezone"])
    return EffectiveDating(**values)


def run(case: Case) -> Decision:
    settings = settings_of(case.settings)
    dates = read_worker_dates(
        case.start, case.last, case.tz, default_timezone=settings.default_timezone
    )
    jobs = [
        ScheduledJob(f"j{n}", "u1", UserState(state), utc(at))
        for n, (state, at) in enumerate(case.jobs)
    ]
    return decide(
        dates,
        active=case.active,
        user_state=case.user,
        jobs=jobs,
        settings=settings,
        now=utc(case.now),
        reactivate_suspended_users=case.reactivate,
    )


def shown(plan: JobPlan) -> tuple[str, ...]:
    at = plan.at.strftime("%Y-%m-%dT%H:%M")
    if plan.change in (JobChange.SCHEDULED, JobChange.KEPT) or plan.job_id is None:
        return (plan.state.value, at, plan.change.value)
    return (plan.state.value, at, plan.change.value, plan.job_id)


CASES = {
    # -- the worked examples -------------------------------------------------------------------
    "new hire in Lagos starting Monday": Case(
        now="2026-12-28T01:00",
        start=MONDAY,
        schedule=((A, MONDAY_9_LAGOS, SCHEDULED),),
        create_state=STAGED,
    ),
    "leaver in New York whose last day is Friday": Case(
        now="2027-01-06T01:00",
        last=FRIDAY,
        tz=NEW_YORK,
        user=ACTIVATED,
        schedule=((S, FRIDAY_END_NY, SCHEDULED),),
    ),
    # -- pre-hire window -------------------------------------------------------------------------
    "window: the boundary day is inside": Case(
        now="2026-12-21T12:00",
        start=MONDAY,  # 14 days ahead
        settings={"create_days_before_start": 14},
        schedule=((A, MONDAY_9_LAGOS, SCHEDULED),),
        create_state=STAGED,
    ),
    "window: one day more is outside": Case(
        now="2026-12-21T12:00",
        start="2027-01-05",
        settings={"create_days_before_start": 14},
        skip="starts on 2027-01-05; created from 2026-12-22",
    ),
    "window: counted on the worker's calendar, UTC+14 (already 22 Dec there)": Case(
        now="2026-12-21T12:00",
        start="2027-01-05",
        tz=UTC_PLUS_14,
        settings={"create_days_before_start": 14},
        schedule=((A, "2027-01-04T19:00", SCHEDULED),),
        create_state=STAGED,
    ),
    "window: counted on the worker's calendar, UTC-11 (still 21 Dec there)": Case(
        now="2026-12-21T12:00",
        start="2027-01-05",
        tz=UTC_MINUS_11,
        settings={"create_days_before_start": 14},
        skip="starts on 2027-01-05; created from 2026-12-22",
    ),
    "window 0: created on the start date": Case(
        now="2027-01-04T06:00",  # 07:00 in Lagos
        start=MONDAY,
        settings={"create_days_before_start": 0},
        schedule=((A, MONDAY_9_LAGOS, SCHEDULED),),
        create_state=STAGED,
    ),
    "window 0: not the day before": Case(
        now="2027-01-03T12:00",
        start=MONDAY,
        settings={"create_days_before_start": 0},
        skip="starts on 2027-01-04; created from 2027-01-04",
    ),
    "window: no start date is created as usual": Case(
        now="2026-12-21T12:00", settings={"create_days_before_start": 0}
    ),
    "window: an invalid start date is created as usual, with a warning": Case(
        now="2026-12-21T12:00",
        start="next week",
        settings={"create_days_before_start": 0},
        warnings=("start_date 'next week' is not a date (YYYY-MM-DD); treated as missing",),
    ),
    "window: an existing user is not affected": Case(
        now="2026-12-01T12:00",
        start=MONDAY,
        user=STAGED,
        settings={"create_days_before_start": 3},
        schedule=((A, MONDAY_9_LAGOS, SCHEDULED),),
    ),
    "window: an inactive worker is docs/sync-rules.md's skip": Case(
        now="2026-12-01T12:00",
        start=MONDAY,
        active=False,
        settings={"create_days_before_start": 3},
    ),
    "window without activation: created with user_state_on_create": Case(
        now="2026-12-30T12:00",
        start=MONDAY,
        settings={"create_days_before_start": 7, "activate_on_start_date": False},
    ),
    # -- activation on the start date ----------------------------------------------------------
    "activation off: no job, user_state_on_create": Case(
        now="2026-12-28T01:00", start=MONDAY, settings={"activate_on_start_date": False}
    ),
    "start today, before activation_time: scheduled for this morning": Case(
        now="2027-01-04T06:30",  # 07:30 in Lagos
        start=MONDAY,
        schedule=((A, MONDAY_9_LAGOS, SCHEDULED),),
        create_state=STAGED,
    ),
    "start today, after activation_time: a new user gets user_state_on_create": Case(
        now="2027-01-04T09:00", start=MONDAY
    ),
    "start today, after activation_time: a STAGED user is reported, not activated": Case(
        now="2027-01-04T09:00",
        start=MONDAY,
        user=STAGED,
        notes=(
            (
                "start date 2027-01-04 has passed and the user is still STAGED; "
                "left to the administrator"
            ),
        ),
    ),
    "STAGED past its start date: an administrator's own activation job is left alone": Case(
        now="2027-01-06T09:00",
        start=MONDAY,
        user=STAGED,
        jobs=((A, "2027-01-11T08:00"),),
        schedule=((A, "2027-01-11T08:00", KEPT),),
        notes=(
            (
                "start date 2027-01-04 has passed and the user is still STAGED; "
                "left to the administrator"
            ),
        ),
    ),
    "start in the past: user_state_on_create": Case(now="2027-01-06T09:00", start=MONDAY),
    "5-minute rule: a new user 3 minutes before is created ACTIVATED": Case(
        now="2027-01-04T07:57", start=MONDAY, create_state=ACTIVATED
    ),
    "5-minute rule: exactly 5 minutes before is now": Case(
        now="2027-01-04T07:55", start=MONDAY, create_state=ACTIVATED
    ),
    "5-minute rule: 5 minutes and a second before is scheduled": Case(
        now="2027-01-04T07:54:59",
        start=MONDAY,
        schedule=((A, MONDAY_9_LAGOS, SCHEDULED),),
        create_state=STAGED,
    ),
    "5-minute rule: a STAGED user is activated now, its job cancelled": Case(
        now="2027-01-04T07:57",
        start=MONDAY,
        user=STAGED,
        jobs=((A, MONDAY_9_LAGOS),),
        schedule=((A, MONDAY_9_LAGOS, CANCELLED, "j0"),),
        activate_now=True,
    ),
    "STAGED: scheduled": Case(
        now="2026-12-28T01:00",
        start=MONDAY,
        user=STAGED,
        schedule=((A, MONDAY_9_LAGOS, SCHEDULED),),
    ),
    "STAGED: the same job again is kept (no request)": Case(
        now="2026-12-28T01:00",
        start=MONDAY,
        user=STAGED,
        jobs=((A, MONDAY_9_LAGOS),),
        schedule=((A, MONDAY_9_LAGOS, KEPT),),
    ),
    "start date moves later: rescheduled": Case(
        now="2026-12-28T01:00",
        start="2027-01-11",
        user=STAGED,
        jobs=((A, MONDAY_9_LAGOS),),
        schedule=((A, "2027-01-11T08:00", RESCHEDULED, "j0"),),
    ),
    "start date moves earlier: rescheduled": Case(
        now="2026-12-28T01:00",
        start=MONDAY,
        user=STAGED,
        jobs=((A, "2027-01-11T08:00"),),
        schedule=((A, MONDAY_9_LAGOS, RESCHEDULED, "j0"),),
    ),
    "two copies of one job: one kept, the other cancelled": Case(
        now="2026-12-28T01:00",
        start=MONDAY,
        user=STAGED,
        jobs=((A, MONDAY_9_LAGOS), (A, MONDAY_9_LAGOS)),
        schedule=((A, MONDAY_9_LAGOS, KEPT), (A, MONDAY_9_LAGOS, CANCELLED, "j1")),
    ),
    "a stray activation beside the right one is cancelled": Case(
        now="2026-12-28T01:00",
        start=MONDAY,
        user=STAGED,
        jobs=((A, "2027-02-01T08:00"), (A, MONDAY_9_LAGOS)),
        schedule=((A, MONDAY_9_LAGOS, KEPT), (A, "2027-02-01T08:00", CANCELLED, "j0")),
    ),
    "an ACTIVATED user's activation job is left alone": Case(
        now="2026-12-28T01:00",
        start=MONDAY,
        user=ACTIVATED,
        jobs=((A, "2027-01-05T08:00"),),
        schedule=((A, "2027-01-05T08:00", KEPT),),
    ),
    "re-hire: a SUSPENDED user is reactivated on the start date, not now": Case(
        now="2026-12-28T01:00",
        start=MONDAY,
        user=SUSPENDED,
        reactivate=True,
        schedule=((A, MONDAY_9_LAGOS, SCHEDULED),),
        hold=True,
        notes=("reactivation scheduled for the start date 2027-01-04",),
    ),
    "re-hire without reactivate_suspended_users: nothing scheduled": Case(
        now="2026-12-28T01:00", start=MONDAY, user=SUSPENDED
    ),
    "re-hire whose start date passed: docs/sync-rules.md reactivates now": Case(
        now="2027-01-05T01:00", start=MONDAY, user=SUSPENDED, reactivate=True
    ),
    "no longer active: the activation is cancelled": Case(
        now="2026-12-28T01:00",
        start=MONDAY,
        active=False,
        user=STAGED,
        jobs=((A, MONDAY_9_LAGOS),),
        schedule=((A, MONDAY_9_LAGOS, CANCELLED, "j0"),),
    ),
    "no longer active: even with activation off, no activation is left": Case(
        now="2026-12-28T01:00",
        start=MONDAY,
        active=False,
        user=SUSPENDED,
        jobs=((A, MONDAY_9_LAGOS),),
        settings={"activate_on_start_date": False},
        schedule=((A, MONDAY_9_LAGOS, CANCELLED, "j0"),),
    ),
    "activation_time is configurable": Case(
        now="2026-12-28T01:00",
        start=MONDAY,
        settings={"activation_time": "07:30"},
        schedule=((A, "2027-01-04T06:30", SCHEDULED),),
        create_state=STAGED,
    ),
    # -- suspension after the last day ---------------------------------------------------------
    "last day: the same job again is kept": Case(
        now="2027-01-06T12:00",
        last=FRIDAY,
        tz=NEW_YORK,
        user=ACTIVATED,
        jobs=((S, FRIDAY_END_NY),),
        schedule=((S, FRIDAY_END_NY, KEPT),),
    ),
    "last day moves later: rescheduled": Case(
        now="2027-01-06T12:00",
        last="2027-01-15",
        tz=NEW_YORK,
        user=ACTIVATED,
        jobs=((S, FRIDAY_END_NY),),
        schedule=((S, "2027-01-16T04:59", RESCHEDULED, "j0"),),
    ),
    "last day moves earlier: rescheduled": Case(
        now="2027-01-06T12:00",
        last="2027-01-07",
        tz=NEW_YORK,
        user=ACTIVATED,
        jobs=((S, FRIDAY_END_NY),),
        schedule=((S, "2027-01-08T04:59", RESCHEDULED, "j0"),),
    ),
    "termination cancelled: the suspension is cancelled": Case(
        now="2027-01-06T12:00",
        tz=NEW_YORK,
        user=ACTIVATED,
        jobs=((S, FRIDAY_END_NY),),
        schedule=((S, FRIDAY_END_NY, CANCELLED, "j0"),),
    ),
    "last day today, not over yet: scheduled for tonight": Case(
        now="2027-01-08T20:00",  # 15:00 in New York
        last=FRIDAY,
        tz=NEW_YORK,
        user=ACTIVATED,
        schedule=((S, FRIDAY_END_NY, SCHEDULED),),
    ),
    "last day over, Deel still says active: suspended now": Case(
        now="2027-01-09T05:00",
        last=FRIDAY,
        tz=NEW_YORK,
        user=ACTIVATED,
        jobs=((S, FRIDAY_END_NY),),  # its time came: JumpCloud's to run, not ours
        effectively_active=False,
        notes=("last day 2027-01-08 is over",),
    ),
    "last day over: a new user is not created": Case(
        now="2027-01-09T05:00",
        last=FRIDAY,
        tz=NEW_YORK,
        effectively_active=False,
        skip="last day 2027-01-08 is over; not created",
    ),
    "last day over: a SUSPENDED user is never reactivated": Case(
        now="2027-01-10T05:00",
        last=FRIDAY,
        tz=NEW_YORK,
        user=SUSPENDED,
        reactivate=True,
        effectively_active=False,
        notes=("last day 2027-01-08 is over",),
    ),
    "5-minute rule: a suspension 3 minutes away is made now, its job cancelled": Case(
        now="2027-01-09T04:56",
        last=FRIDAY,
        tz=NEW_YORK,
        user=ACTIVATED,
        jobs=((S, FRIDAY_END_NY),),
        effectively_active=False,
        schedule=((S, FRIDAY_END_NY, CANCELLED, "j0"),),
        notes=("last day 2027-01-08 is over",),
    ),
    "a new user with a future last day is created and gets its job": Case(
        now="2027-01-06T12:00",
        start="2025-03-01",
        last=FRIDAY,
        tz=NEW_YORK,
        schedule=((S, FRIDAY_END_NY, SCHEDULED),),
    ),
    "a new user with both dates ahead gets both jobs": Case(
        now="2026-12-28T01:00",
        start=MONDAY,
        last="2027-03-31",
        schedule=((A, MONDAY_9_LAGOS, SCHEDULED), (S, "2027-03-31T22:59", SCHEDULED)),
        create_state=STAGED,
    ),
    "a SUSPENDED user of an active worker still gets the suspension": Case(
        now="2027-01-06T12:00",
        last=FRIDAY,
        tz=NEW_YORK,
        user=SUSPENDED,
        schedule=((S, FRIDAY_END_NY, SCHEDULED),),
    ),
    "Deel says inactive before the last day: suspended now, job cancelled": Case(
        now="2027-01-06T12:00",
        last=FRIDAY,
        tz=NEW_YORK,
        active=False,
        user=ACTIVATED,
        jobs=((S, FRIDAY_END_NY),),
        schedule=((S, FRIDAY_END_NY, CANCELLED, "j0"),),
    ),
    "suspension_time is configurable": Case(
        now="2027-01-06T12:00",
        last=FRIDAY,
        tz=NEW_YORK,
        user=ACTIVATED,
        settings={"suspension_time": "18:00"},
        schedule=((S, "2027-01-08T23:00", SCHEDULED),),
    ),
    "re-hire: the old suspension job must go": Case(
        now="2027-01-06T12:00",
        start="2027-02-01",
        tz=NEW_YORK,
        user=ACTIVATED,
        jobs=((S, FRIDAY_END_NY),),
        schedule=((S, FRIDAY_END_NY, CANCELLED, "j0"),),
    ),
    "re-hire: a last day before the new start date is ignored, the job goes": Case(
        now="2027-01-06T12:00",
        start="2027-02-01",
        last=FRIDAY,
        tz=NEW_YORK,
        user=ACTIVATED,
        jobs=((S, FRIDAY_END_NY),),
        schedule=((S, FRIDAY_END_NY, CANCELLED, "j0"),),
        warnings=(
            "last_day 2027-01-08 is before start_date 2027-02-01 (an earlier engagement); ignored",
        ),
    ),
    "jobs of both kinds are planned together": Case(
        now="2026-12-28T01:00",
        start="2027-01-11",
        last="2027-03-31",
        user=STAGED,
        jobs=((S, "2027-03-31T22:59"), (A, MONDAY_9_LAGOS)),
        schedule=((A, "2027-01-11T08:00", RESCHEDULED, "j1"), (S, "2027-03-31T22:59", KEPT)),
    ),
    # -- daylight saving time ------------------------------------------------------------------
    "DST Berlin: a start on the night clocks spring forward, at 09:00 CEST": Case(
        now="2027-03-20T12:00",
        start="2027-03-28",
        tz=BERLIN,
        user=STAGED,
        schedule=((A, "2027-03-28T07:00", SCHEDULED),),
    ),
    "DST Berlin: 02:30 does not exist that night; it is 03:30 CEST": Case(
        now="2027-03-20T12:00",
        start="2027-03-28",
        tz=BERLIN,
        user=STAGED,
        settings={"activation_time": "02:30"},
        schedule=((A, "2027-03-28T01:30", SCHEDULED),),
    ),
    "DST Berlin: 02:30 happens twice when clocks fall back; the first one": Case(
        now="2027-10-20T12:00",
        start="2027-10-31",
        tz=BERLIN,
        user=STAGED,
        settings={"activation_time": "02:30"},
        schedule=((A, "2027-10-31T00:30", SCHEDULED),),
    ),
    "DST Berlin: a last day on the night clocks fall back ends at 23:59 CET": Case(
        now="2027-10-20T12:00",
        last="2027-10-31",
        tz=BERLIN,
        user=ACTIVATED,
        schedule=((S, "2027-10-31T22:59", SCHEDULED),),
    ),
    "DST New York: a start on the night clocks spring forward, at 09:00 EDT": Case(
        now="2027-03-01T12:00",
        start="2027-03-14",
        tz=NEW_YORK,
        user=STAGED,
        schedule=((A, "2027-03-14T13:00", SCHEDULED),),
    ),
    "DST New York: 02:30 does not exist that night; it is 03:30 EDT": Case(
        now="2027-03-01T12:00",
        start="2027-03-14",
        tz=NEW_YORK,
        user=STAGED,
        settings={"activation_time": "02:30"},
        schedule=((A, "2027-03-14T07:30", SCHEDULED),),
    ),
    "DST New York: 01:30 happens twice when clocks fall back; the first one (EDT)": Case(
        now="2027-11-01T12:00",
        start="2027-11-07",
        tz=NEW_YORK,
        user=STAGED,
        settings={"activation_time": "01:30"},
        schedule=((A, "2027-11-07T05:30", SCHEDULED),),
    ),
    "DST New York: a last day on the spring-forward day ends at 23:59 EDT": Case(
        now="2027-03-01T12:00",
        last="2027-03-14",
        tz=NEW_YORK,
        user=ACTIVATED,
        schedule=((S, "2027-03-15T03:59", SCHEDULED),),
    ),
    # -- time zones ----------------------------------------------------------------------------
    "UTC+14: a Monday start opens on Sunday UTC": Case(
        now="2026-12-28T01:00",
        start=MONDAY,
        tz=UTC_PLUS_14,
        user=STAGED,
        schedule=((A, "2027-01-03T19:00", SCHEDULED),),
    ),
    "UTC-11: a Monday start opens Monday evening UTC": Case(
        now="2026-12-28T01:00",
        start=MONDAY,
        tz=UTC_MINUS_11,
        user=STAGED,
        schedule=((A, "2027-01-04T20:00", SCHEDULED),),
    ),
    "UTC+14: the last day is already over at 11:00Z": Case(
        now="2027-01-08T11:00",
        last=FRIDAY,
        tz=UTC_PLUS_14,
        user=ACTIVATED,
        effectively_active=False,
        notes=("last day 2027-01-08 is over",),
    ),
    "UTC-11: the same last day at the same instant is still ahead": Case(
        now="2027-01-08T11:00",
        last=FRIDAY,
        tz=UTC_MINUS_11,
        user=ACTIVATED,
        schedule=((S, "2027-01-09T10:59", SCHEDULED),),
    ),
    "abbreviation EST is New York": Case(
        now="2027-01-06T01:00",
        last=FRIDAY,
        tz="EST",
        user=ACTIVATED,
        schedule=((S, FRIDAY_END_NY, SCHEDULED),),
    ),
    "abbreviation IST is Kolkata": Case(
        now="2026-12-28T01:00",
        start=MONDAY,
        tz="IST",
        user=STAGED,
        schedule=((A, "2027-01-04T03:30", SCHEDULED),),
    ),
    "abbreviation CET is Paris, summer time included": Case(
        now="2027-06-01T01:00",
        start="2027-06-07",
        tz="CET",
        user=STAGED,
        schedule=((A, "2027-06-07T07:00", SCHEDULED),),
    ),
    "an unknown zone falls back to default_timezone, with a warning": Case(
        now="2026-12-28T01:00",
        start=MONDAY,
        tz="Mars/Olympus",
        user=STAGED,
        settings={"default_timezone": "Europe/Paris"},
        schedule=((A, MONDAY_9_LAGOS, SCHEDULED),),  # 09:00 in Paris in January = 08:00Z
        warnings=(
            (
                "timezone 'Mars/Olympus' is not a known time zone; dates read in Europe/Paris "
                "(default_timezone)"
            ),
        ),
    ),
    "a missing zone falls back to default_timezone, with a warning": Case(
        now="2026-12-28T01:00",
        start=MONDAY,
        tz=None,
        user=STAGED,
        schedule=((A, "2027-01-04T09:00", SCHEDULED),),
        warnings=("no timezone; dates read in UTC (default_timezone)",),
    ),
    "a zone matters only with a date: no warning without one": Case(
        now="2026-12-28T01:00", tz="Mars/Olympus", user=ACTIVATED
    ),
    "a date-time is cut to its date": Case(
        now="2026-12-28T01:00",
        start="2027-01-04T00:00:00.000Z",
        user=STAGED,
        schedule=((A, MONDAY_9_LAGOS, SCHEDULED),),
    ),
    "a last day that is no date is missing, with a warning": Case(
        now="2027-01-06T12:00",
        last="2027-02-30",
        tz=NEW_YORK,
        user=ACTIVATED,
        jobs=((S, FRIDAY_END_NY),),
        schedule=((S, FRIDAY_END_NY, CANCELLED, "j0"),),
        warnings=("last_day '2027-02-30' is not a date (YYYY-MM-DD); treated as missing",),
    ),
    # -- off -------------------------------------------------------------------------------------
    "effective_dating off: nothing changes and no job is touched": Case(
        now="2027-01-09T05:00",
        start=MONDAY,
        last=FRIDAY,
        tz=NEW_YORK,
        user=STAGED,
        jobs=((S, "2027-03-01T00:00"),),
        settings={"enabled": False},
    ),
}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_rule(case: Case) -> None:
    decision = run(case)
    assert tuple(shown(plan) for plan in decision.jobs) == case.schedule
    assert decision.skip_reason == case.skip
    expected_active = case.active if case.effectively_active is None else case.effectively_active
    assert decision.effectively_active is expected_active
    assert decision.create_state == case.create_state
    assert decision.activate_now is case.activate_now
    assert decision.hold_reactivation is case.hold
    assert decision.notes == case.notes
    assert decision.warnings == case.warnings
    lead = utc(case.now) + MIN_LEAD
    assert all(plan.at > lead for plan in decision.jobs if plan.schedules)  # never too near


def test_the_rescheduled_line_remembers_the_old_instant() -> None:
    decision = run(CASES["last day moves later: rescheduled"])
    (plan,) = decision.jobs
    assert plan.previous_at == utc(FRIDAY_END_NY)
    assert decision.to_cancel == ["j0"]
    assert decision.to_schedule == [(SUSPENDED, utc("2027-01-16T04:59"))]
    assert decision.changes_jobs
    assert decision.schedules_suspension
    assert decision.report_schedule() == [
        {"state": "SUSPENDED", "at": "2027-01-16T04:59:00Z", "change": "rescheduled"}
    ]


def test_the_guard_counts_new_and_moved_suspensions_only() -> None:
    def counts(name: str) -> bool:
        return run(CASES[name]).schedules_suspension

    assert counts("leaver in New York whose last day is Friday")
    assert counts("last day moves earlier: rescheduled")
    assert not counts("last day: the same job again is kept")
    assert not counts("termination cancelled: the suspension is cancelled")
    assert not counts("new hire in Lagos starting Monday")
    kept = run(CASES["last day: the same job again is kept"])
    assert not kept.changes_jobs
    assert kept.to_cancel == []
    assert kept.to_schedule == []


def test_the_report_lines_are_utc_with_a_z() -> None:
    decision = run(CASES["a new user with both dates ahead gets both jobs"])
    assert decision.report_schedule() == [
        {"state": "ACTIVATED", "at": "2027-01-04T08:00:00Z", "change": "scheduled"},
        {"state": "SUSPENDED", "at": "2027-03-31T22:59:00Z", "change": "scheduled"},
    ]


def test_now_must_be_aware() -> None:
    dates = read_worker_dates(MONDAY, None, LAGOS, default_timezone=dt.UTC)
    with pytest.raises(ValueError, match="aware"):
        decide(
            dates,
            active=True,
            user_state=None,
            jobs=(),
            settings=settings_of({}),
            now=dt.datetime(2027, 1, 1),
        )


# -- the parts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected", "warned"),
    [
        ("2027-01-04", dt.date(2027, 1, 4), False),
        ("2027-01-04T23:30:00-05:00", dt.date(2027, 1, 4), False),  # as written
        (" 2027-01-04 ", dt.date(2027, 1, 4), False),
        (dt.date(2027, 1, 4), dt.date(2027, 1, 4), False),
        (dt.datetime(2027, 1, 4, 23, tzinfo=dt.UTC), dt.date(2027, 1, 4), False),
        (None, None, False),
        ("", None, False),
        ("04/01/2027", None, True),
        ("2027-13-01", None, True),
        (20270104, None, True),
    ],
)
def test_parse_date(value: object, expected: dt.date | None, warned: bool) -> None:
    day, warning = parse_date(value, "start_date")
    assert day == expected
    assert (warning is not None) is warned
    if warning:
        assert warning.startswith("start_date ")


def test_read_job_takes_only_what_can_be_ours() -> None:
    good = {
        "scheduledJobId": "j1",
        "systemUserId": "u1",
        "state": "SUSPENDED",
        "scheduledDate": "2027-01-09T04:59:00.000Z",
    }
    assert read_job(good) == ScheduledJob("j1", "u1", SUSPENDED, utc(FRIDAY_END_NY))
    assert read_job({**good, "scheduledDate": "2027-01-09T04:59:00"}) == read_job(good)  # UTC
    for broken in (
        {**good, "state": "STAGED"},
        {**good, "state": None},
        {**good, "scheduledDate": "soon"},
        {**good, "scheduledJobId": ""},
        {**good, "systemUserId": 7},
        {k: v for k, v in good.items() if k != "scheduledDate"},
        "not an object",
    ):
        assert read_job(broken) is None


def test_diff_jobs_leaves_unmanaged_states_alone() -> None:
    jobs = [
        ScheduledJob("a", "u", ACTIVATED, utc("2027-01-04T08:00")),
        ScheduledJob("s", "u", SUSPENDED, utc("2027-01-09T04:59")),
    ]
    assert diff_jobs({}, frozenset(), jobs) == (
        JobPlan(ACTIVATED, utc("2027-01-04T08:00"), JobChange.KEPT, "a"),
        JobPlan(SUSPENDED, utc("2027-01-09T04:59"), JobChange.KEPT, "s"),
    )
    assert [p.change for p in diff_jobs({}, frozenset({SUSPENDED}), jobs)] == [
        JobChange.KEPT,
        JobChange.CANCELLED,
    ]


def test_jobs_are_grouped_by_user_and_batched_by_state_and_instant() -> None:
    jobs = [
        ScheduledJob("1", "u1", SUSPENDED, utc(FRIDAY_END_NY)),
        ScheduledJob("2", "u2", ACTIVATED, utc(MONDAY_9_LAGOS)),
        ScheduledJob("3", "u1", ACTIVATED, utc(MONDAY_9_LAGOS)),
    ]
    assert {user: [job.id for job in mine] for user, mine in jobs_by_user(jobs).items()} == {
        "u1": ["1", "3"],
        "u2": ["2"],
    }
    batches = batch_schedules(
        [
            ("u1", SUSPENDED, utc(FRIDAY_END_NY)),
            ("u2", SUSPENDED, utc(FRIDAY_END_NY)),
            ("u3", ACTIVATED, utc(MONDAY_9_LAGOS)),
            ("u1", SUSPENDED, utc(FRIDAY_END_NY)),  # once
            ("u4", SUSPENDED, utc("2027-01-09T05:00")),  # another instant: another batch
        ]
    )
    assert batches == {
        (SUSPENDED, utc(FRIDAY_END_NY)): ["u1", "u2"],
        (ACTIVATED, utc(MONDAY_9_LAGOS)): ["u3"],
        (SUSPENDED, utc("2027-01-09T05:00")): ["u4"],
    }
