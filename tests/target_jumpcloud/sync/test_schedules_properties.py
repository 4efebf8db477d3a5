"""Properties of the effective-dating decisions: a second run after the first changes nothing.

Whatever the worker, the user, its jobs, the settings and the time: apply a decision (the
state change it asks for, the jobs it makes, keeps and cancels), decide again at the same
time, and every job is kept, no state changes, no user is created twice; and no decision
ever leaves a user two jobs for one state and instant, or one nearer than 5 minutes.
"""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from target_jumpcloud.model import UserState
from target_jumpcloud.settings.effective_dating import EffectiveDating
from target_jumpcloud.sync.schedules import (
    JOB_STATES,
    MIN_LEAD,
    Decision,
    JobChange,
    ScheduledJob,
    decide,
    read_worker_dates,
)
from target_jumpcloud.zones import local_instant

BASE = dt.datetime(2027, 3, 20, tzinfo=dt.UTC)  # a week before Europe's clocks move
ZONES = [
    "Africa/Lagos", "America/New_York", "Europe/Berlin", "Pacific/Kiritimati",
    "Pacific/Pago_Pago", "Asia/Kolkata", "EST", "IST", "CET", "Mars/Olympus", None,
]  # fmt: skip
DAYS = st.integers(-20, 40).map(lambda n: (BASE + dt.timedelta(days=n)).date())
CLOCKS = st.sampled_from([dt.time(9), dt.time(23, 59), dt.time(2, 30), dt.time(0, 0)])
USER_STATES = st.sampled_from([None, UserState.STAGED, UserState.ACTIVATED, UserState.SUSPENDED])
_ids = itertools.count()


@st.composite
def worlds(draw: st.DrawFn) -> dict[str, object]:
    """A worker, their user and its jobs, the settings and "now"."""
    effective = EffectiveDating(
        enabled=True,
        create_days_before_start=draw(st.sampled_from([None, 0, 3, 14])),
        activate_on_start_date=draw(st.booleans()),
        activation_time=draw(CLOCKS),
        suspension_time=draw(CLOCKS),
        default_timezone=ZoneInfo(draw(st.sampled_from(["UTC", "Europe/Paris"]))),
    )
    start = draw(st.none() | DAYS)
    last = draw(st.none() | DAYS)
    zone_name = draw(st.sampled_from(ZONES))
    dates = read_worker_dates(start, last, zone_name, default_timezone=effective.default_timezone)
    # The instants the decision turns on: the dates at the configured times.
    clocks = (effective.activation_time, effective.suspension_time)
    turning = [
        local_instant(day, clock, dates.zone)
        for day in (start, last)
        if day is not None
        for clock in clocks
    ]
    # "Now" anywhere, or a few minutes either side of one of those instants (the 5-minute
    # rule and the day boundaries live there).
    anywhere = st.integers(-20 * 1440, 40 * 1440).map(lambda m: BASE + dt.timedelta(minutes=m))
    near = (
        st.tuples(st.sampled_from(turning), st.integers(-12 * 60, 12 * 60)).map(
            lambda pair: pair[0] + dt.timedelta(seconds=pair[1] * 5)
        )
        if turning
        else anywhere
    )
    now = draw(anywhere | near)
    user_state = draw(USER_STATES)
    # Jobs at instants the decision might want, near "now", and some whose time has come.
    candidates = [now + dt.timedelta(minutes=m) for m in (-90, -1, 3, 5, 6, 600)] + turning
    jobs = []
    if user_state is not None:
        specs = draw(
            st.lists(
                st.tuples(st.sampled_from(JOB_STATES), st.sampled_from(candidates)), max_size=4
            )
        )
        jobs = [ScheduledJob(f"old{n}", "u1", state, at) for n, (state, at) in enumerate(specs)]
    return {
        "dates": dates,
        "active": draw(st.booleans()),
        "user_state": user_state,
        "jobs": jobs,
        "settings": effective,
        "now": now,
        "reactivate_suspended_users": draw(st.booleans()),
        "on_create": draw(st.sampled_from([UserState.STAGED, UserState.ACTIVATED])),
    }


def applied(
    decision: Decision, world: dict[str, object]
) -> tuple[UserState | None, list[ScheduledJob]]:
    """The user's state and jobs once a decision is applied (with `effectively_active`)."""
    state = world["user_state"]
    assert state is None or isinstance(state, UserState)
    jobs = world["jobs"]
    assert isinstance(jobs, list)
    if state is None:
        if decision.skip_reason is not None or not decision.effectively_active:
            return None, []
        on_create = world["on_create"]
        assert isinstance(on_create, UserState)
        state = decision.create_state or on_create
    elif not decision.effectively_active:
        state = UserState.SUSPENDED
    elif decision.activate_now or (
        state is UserState.SUSPENDED
        and world["reactivate_suspended_users"]
        and not decision.hold_reactivation
    ):
        state = UserState.ACTIVATED
    cancelled = set(decision.to_cancel)
    after = [job for job in jobs if job.id not in cancelled]
    after += [
        ScheduledJob(f"new{next(_ids)}", "u1", job_state, at)
        for job_state, at in decision.to_schedule
    ]
    return state, after


def decide_in(
    world: dict[str, object], user_state: UserState | None, jobs: list[ScheduledJob]
) -> Decision:
    return decide(
        world["dates"],  # type: ignore[arg-type]
        active=bool(world["active"]),
        user_state=user_state,
        jobs=jobs,
        settings=world["settings"],  # type: ignore[arg-type]
        now=world["now"],  # type: ignore[arg-type]
        reactivate_suspended_users=bool(world["reactivate_suspended_users"]),
    )


@settings(max_examples=400, deadline=None)
@given(worlds())
def test_deciding_again_against_what_a_decision_made_keeps_everything(
    world: dict[str, object],
) -> None:
    first = decide_in(world, world["user_state"], world["jobs"])  # type: ignore[arg-type]
    state, jobs = applied(first, world)
    second = decide_in(world, state, jobs)

    assert all(plan.change is JobChange.KEPT for plan in second.jobs), second.jobs
    assert not second.activate_now
    assert second.effectively_active is first.effectively_active
    if world["user_state"] is None and state is not None:  # created: no second create
        assert second.skip_reason is None
    if state is UserState.SUSPENDED and first.hold_reactivation:
        assert second.hold_reactivation  # still held, by the job the first run made
    # and a third time, nothing moves either
    assert applied(second, {**world, "user_state": state, "jobs": jobs}) == (state, jobs)


@settings(max_examples=300, deadline=None)
@given(worlds())
def test_a_decision_never_leaves_two_jobs_for_one_state_and_instant_nor_one_too_near(
    world: dict[str, object],
) -> None:
    decision = decide_in(world, world["user_state"], world["jobs"])  # type: ignore[arg-type]
    now = world["now"]
    assert isinstance(now, dt.datetime)
    _, jobs = applied(decision, world)
    pending = [(job.state, job.at) for job in jobs if job.at > now]
    managed_states = {plan.state for plan in decision.jobs if plan.change is not JobChange.KEPT}
    for state in managed_states:
        instants = [at for job_state, at in pending if job_state is state]
        assert len(instants) <= 1, decision.jobs
    for plan in decision.jobs:
        if plan.schedules:
            assert plan.at > now + MIN_LEAD
    if decision.skip_reason is not None:  # a worker not created has nothing scheduled
        assert decision.jobs == ()
