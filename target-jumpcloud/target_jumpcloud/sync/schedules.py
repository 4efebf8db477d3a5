"""Effective dates: what a worker's dates mean for their account, and when.

Pure: no HTTP and no clock. "Now" is an argument, so a plan made at 02:00 and a preview
made with `as_of` follow the very same rules, and every rule can be tested at a fixed time.

For one worker, `decide` takes the worker's dates (`read_worker_dates`), whether Deel lists
them as active, their JumpCloud user's state (None: no user yet) and that user's scheduled
state jobs, and says:

- whether a new user is created now (the pre-hire window; a last day already over),
- with which state (STAGED when its activation is scheduled),
- which state change is due now (a last day over; an activation less than 5 minutes away),
- and which jobs to schedule, reschedule (cancel + schedule), cancel or keep.

A planner folds the `Decision` into its actions; the rules are in docs/effective-dates.md.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from target_jumpcloud.model import ActionKind, UserState
from target_jumpcloud.settings.mapping_table import START_DATE_KEY
from target_jumpcloud.shown import shown
from target_jumpcloud.zones import (
    find_zone,
    format_instant,
    local_date,
    local_instant,
    parse_instant,
    zone_label,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from target_jumpcloud.model import Action, DesiredUser
    from target_jumpcloud.settings.effective_dating import EffectiveDating

#: An instant closer to "now" than this is not scheduled: the change is made at once.
MIN_LEAD: Final = dt.timedelta(minutes=5)
#: The states a job can move a user to (V2 `bulk-scheduled-statechange-create`).
JOB_STATES: Final = (UserState.ACTIVATED, UserState.SUSPENDED)
_JOB_STATES_BY_NAME: Final = {state.value: state for state in JOB_STATES}
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ]|$)")
_SHOWN_MAX = 40

# The mapping keys whose values are read here (docs/directory-attributes.md), as warnings name them.
LAST_DAY_KEY: Final = "last_day"
TIMEZONE_KEY: Final = "timezone"


class JobChange(StrEnum):
    """What a run does with one scheduled job (the report's `schedule[].change`)."""

    SCHEDULED = "scheduled"  # a new job
    RESCHEDULED = "rescheduled"  # the old job cancelled, a new one at the new instant
    CANCELLED = "cancelled"
    KEPT = "kept"  # already there, same state and instant (or not this run's to change)


@dataclass(frozen=True, slots=True)
class ScheduledJob:
    """A JumpCloud scheduled state change of one user (`GET /api/v2/bulk/userstates`)."""

    id: str  # `scheduledJobId`
    user_id: str  # `systemUserId`
    state: UserState  # ACTIVATED or SUSPENDED
    at: dt.datetime  # `scheduledDate`, aware, UTC


def read_job(item: object) -> ScheduledJob | None:
    """A job from JumpCloud's JSON object; None for one that cannot be one of ours.

    Such a job (no id, another state, no readable date) is never cancelled or counted: the
    sync only manages what it can read.
    """
    if not isinstance(item, dict):
        return None
    job_id, user_id = item.get("scheduledJobId"), item.get("systemUserId")
    raw_state = item.get("state")
    state = _JOB_STATES_BY_NAME.get(raw_state) if isinstance(raw_state, str) else None
    at = parse_instant(item.get("scheduledDate"))
    if not (isinstance(job_id, str) and job_id and isinstance(user_id, str) and user_id):
        return None
    if state is None or at is None:
        return None
    return ScheduledJob(id=job_id, user_id=user_id, state=state, at=at)


@dataclass(frozen=True, slots=True)
class JobPlan:
    """One line of a record's schedule: a job this run makes, moves, cancels or keeps.

    `job_id` is the existing job (kept, cancelled, or cancelled to be made again at `at`
    when rescheduled); None for a new one. `previous_at` is the instant a rescheduled job
    had.
    """

    state: UserState
    at: dt.datetime
    change: JobChange
    job_id: str | None = None
    previous_at: dt.datetime | None = None

    @property
    def cancels(self) -> str | None:
        """The job id to DELETE, if this line deletes one."""
        return self.job_id if self.change in (JobChange.CANCELLED, JobChange.RESCHEDULED) else None

    @property
    def schedules(self) -> bool:
        """Whether this line POSTs a new job (for `state` at `at`)."""
        return self.change in (JobChange.SCHEDULED, JobChange.RESCHEDULED)

    def report_entry(self) -> dict[str, str]:
        """`{"state", "at", "change"}` as the report shows it (`at` in UTC with a `Z`)."""
        return {"state": self.state.value, "at": format_instant(self.at), "change": self.change}


# -- a worker's dates -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WorkerDates:
    """A worker's start date, last day and time zone, read and checked."""

    start_date: dt.date | None
    last_day: dt.date | None
    zone: dt.tzinfo
    warnings: tuple[str, ...] = ()


def parse_date(value: object, key: str) -> tuple[dt.date | None, str | None]:
    """A date from a record value: `YYYY-MM-DD`, or a date-time cut to its date (as written).

    Args:
        value: The value (text, a date, or None).
        key: The mapping key it came from, for the warning.

    Returns:
        (date, warning): the date or None; a warning when a value was there but is no date.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    if isinstance(value, dt.datetime):
        return value.date(), None
    if isinstance(value, dt.date):
        return value, None
    match = _DATE.match(value.strip()) if isinstance(value, str) else None
    if match is not None:
        try:
            return dt.date(*(int(part) for part in match.groups())), None
        except ValueError:  # 2027-02-30
            pass
    return None, f"{key} {shown(value, _SHOWN_MAX)} is not a date (YYYY-MM-DD); treated as missing"


def read_worker_dates(
    start_date: object,
    last_day: object,
    timezone: object,
    *,
    default_timezone: dt.tzinfo,
) -> WorkerDates:
    """Read a worker's three values (the mapping keys `start_date`, `last_day`, `timezone`).

    The zone is looked up only when there is a date to read in it; a missing or unknown one
    falls back to `default_timezone`, with a warning. A last day before the start date
    belongs to an earlier engagement (a re-hire): it is ignored, with a warning.
    """
    start, start_warning = parse_date(start_date, START_DATE_KEY)
    last, last_warning = parse_date(last_day, LAST_DAY_KEY)
    warnings = [w for w in (start_warning, last_warning) if w is not None]
    if start is not None and last is not None and last < start:
        warnings.append(
            f"last_day {last} is before start_date {start} (an earlier engagement); ignored"
        )
        last = None
    zone = default_timezone
    if start is not None or last is not None:
        found = find_zone(timezone) if isinstance(timezone, str) else None
        if found is not None:
            zone = found
        else:
            fallback = zone_label(default_timezone)
            warnings.append(
                f"no timezone; dates read in {fallback} (default_timezone)"
                if timezone is None or (isinstance(timezone, str) and not timezone.strip())
                else f"timezone {shown(timezone, _SHOWN_MAX)} is not a known time zone; dates "
                f"read in {fallback} (default_timezone)"
            )
    return WorkerDates(start_date=start, last_day=last, zone=zone, warnings=tuple(warnings))


# -- the decision -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Decision:
    """What a worker's dates mean for their JumpCloud user in this run (see `decide`).

    - `effectively_active`: the `active` to use in the docs/sync-rules.md table (false once the
    last day is
      over, whatever Deel says: suspended now, never created, never reactivated).
    - `skip_reason`: a new user is not created, for this reason (outcome `skipped`).
    - `create_state`: the state a new user is created with; None = `user_state_on_create`.
    - `activate_now`: an existing STAGED user is activated now (its activation is due).
    - `hold_reactivation`: a SUSPENDED user that docs/sync-rules.md would reactivate now is
    reactivated by
      a scheduled job on the start date instead.
    - `jobs`: the record's schedule (also for a new user: its jobs follow the create).
    - `notes`: facts for the record's reason; `warnings`: for its `warnings`.
    """

    effectively_active: bool
    jobs: tuple[JobPlan, ...] = ()
    skip_reason: str | None = None
    create_state: UserState | None = None
    activate_now: bool = False
    hold_reactivation: bool = False
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def to_cancel(self) -> list[str]:
        """The job ids to DELETE (cancellations and the old half of reschedules)."""
        return [job_id for plan in self.jobs if (job_id := plan.cancels) is not None]

    @property
    def to_schedule(self) -> list[tuple[UserState, dt.datetime]]:
        """The (state, instant) jobs to POST for this user."""
        return [(plan.state, plan.at) for plan in self.jobs if plan.schedules]

    @property
    def changes_jobs(self) -> bool:
        """Whether the run writes any job for this record (anything but `kept`)."""
        return any(plan.change is not JobChange.KEPT for plan in self.jobs)

    @property
    def schedules_suspension(self) -> bool:
        """Whether the run schedules (or moves) a suspension: the guard counts it as one."""
        return any(plan.schedules and plan.state is UserState.SUSPENDED for plan in self.jobs)

    def report_schedule(self) -> list[dict[str, str]]:
        """The record's `schedule` for the report."""
        return [plan.report_entry() for plan in self.jobs]


def decide(
    dates: WorkerDates,
    *,
    active: bool,
    user_state: UserState | None,
    jobs: Sequence[ScheduledJob],
    settings: EffectiveDating,
    now: dt.datetime,
    reactivate_suspended_users: bool = False,
) -> Decision:
    """Apply docs/effective-dates.md to one worker (the rules are in docs/effective-dates.md).

    Args:
        dates: The worker's dates and zone.
        active: Deel's `active` (the mapped `state` key).
        user_state: The state of the worker's JumpCloud user; None when there is none yet.
        jobs: That user's scheduled jobs (any order; none for a new user).
        settings: The docs/effective-dates.md settings. With `effective_dating` off nothing
        changes: the
            decision is `active` as given, with no jobs.
        now: The time the plan is made (aware).
        reactivate_suspended_users: The setting of docs/sync-rules.md.

    Returns:
        The decision.
    """
    if not settings.enabled:
        return Decision(effectively_active=active)
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    now = now.astimezone(dt.UTC)
    last = dates.last_day
    suspend_at = local_instant(last, settings.suspension_time, dates.zone) if last else None
    last_over = suspend_at is not None and suspend_at <= now + MIN_LEAD
    effectively_active = active and not last_over
    if user_state is None:
        not_yet = _not_created(
            dates, active=active, last_over=last_over, settings=settings, now=now
        )
        if not_yet is not None:
            return not_yet

    desired: dict[UserState, dt.datetime] = {}
    managed = {UserState.SUSPENDED}  # suspension jobs always follow the last day
    if effectively_active and suspend_at is not None:
        desired[UserState.SUSPENDED] = suspend_at
    opening = _Opening()
    if not effectively_active:
        managed.add(UserState.ACTIVATED)  # nothing ever opens a leaver's account
        if active:
            opening = _Opening(note=f"last day {last} is over")
    elif settings.activate_on_start_date and dates.start_date is not None:
        opening = _opening(
            dates,
            user_state=user_state,
            settings=settings,
            now=now,
            reactivate_suspended_users=reactivate_suspended_users,
        )
        if opening.manage:
            managed.add(UserState.ACTIVATED)
        if opening.at is not None:
            desired[UserState.ACTIVATED] = opening.at

    pending = [job for job in jobs if job.at > now]  # a job whose time came is JumpCloud's
    return Decision(
        effectively_active=effectively_active,
        jobs=diff_jobs(desired, frozenset(managed), pending),
        create_state=opening.create_state,
        activate_now=opening.activate_now,
        hold_reactivation=opening.hold_reactivation,
        notes=() if opening.note is None else (opening.note,),
        warnings=dates.warnings,
    )


def decide_for(
    desired: DesiredUser,
    user_state: UserState | None,
    jobs: Sequence[ScheduledJob],
    settings: EffectiveDating,
    *,
    now: dt.datetime,
    reactivate_suspended_users: bool,
) -> Decision:
    """`decide` for one mapped record: its dates read in its zone (`read_worker_dates`)."""
    dates = read_worker_dates(
        desired.start_date,
        desired.last_day,
        desired.timezone,
        default_timezone=settings.default_timezone,
    )
    return decide(
        dates,
        active=desired.active,
        user_state=user_state,
        jobs=jobs,
        settings=settings,
        now=now,
        reactivate_suspended_users=reactivate_suspended_users,
    )


def _not_created(
    dates: WorkerDates,
    *,
    active: bool,
    last_over: bool,
    settings: EffectiveDating,
    now: dt.datetime,
) -> Decision | None:
    """The decision for a worker with no user who is not created in this run, else None."""
    if not active:  # docs/sync-rules.md: never created; nothing to schedule
        return Decision(effectively_active=False, warnings=dates.warnings)
    if last_over:
        return Decision(
            effectively_active=False,
            skip_reason=f"last day {dates.last_day} is over; not created",
            warnings=dates.warnings,
        )
    window, start = settings.create_days_before_start, dates.start_date
    if window is None or start is None or (start - local_date(now, dates.zone)).days <= window:
        return None
    opens = start - dt.timedelta(days=window)
    return Decision(
        effectively_active=True,
        skip_reason=f"starts on {start}; created from {opens}",
        warnings=dates.warnings,
    )


@dataclass(frozen=True, slots=True)
class _Opening:
    """How an active worker's account opens (the activation half of a decision)."""

    manage: bool = False  # the user's ACTIVATED jobs are this run's to manage
    at: dt.datetime | None = None  # the activation job wanted
    create_state: UserState | None = None
    activate_now: bool = False
    hold_reactivation: bool = False
    note: str | None = None


def _opening(
    dates: WorkerDates,
    *,
    user_state: UserState | None,
    settings: EffectiveDating,
    now: dt.datetime,
    reactivate_suspended_users: bool,
) -> _Opening:
    """`activate_on_start_date` for an active worker with a start date."""
    start = dates.start_date
    assert start is not None  # noqa: S101 - the caller checks
    opening = user_state is None or user_state is UserState.STAGED
    reopening = user_state is UserState.SUSPENDED and reactivate_suspended_users
    activate_at = local_instant(start, settings.activation_time, dates.zone)
    if not (opening or reopening) or activate_at <= now:
        if user_state is UserState.STAGED:
            return _Opening(
                note=f"start date {start} has passed and the user is still STAGED; "
                "left to the administrator"
            )
        return (
            _Opening()
        )  # (an ACTIVATED user, or docs/sync-rules.md decides: its jobs are left alone)
    if activate_at > now + MIN_LEAD:
        if reopening:
            return _Opening(
                manage=True,
                at=activate_at,
                hold_reactivation=True,
                note=f"reactivation scheduled for the start date {start}",
            )
        return _Opening(
            manage=True,
            at=activate_at,
            create_state=UserState.STAGED if user_state is None else None,
        )
    # Less than 5 minutes ahead: the change is made at once (a reopening: docs/sync-rules.md
    # reactivates).
    if user_state is None:
        return _Opening(manage=True, create_state=UserState.ACTIVATED)
    return _Opening(manage=True, activate_now=opening)


def diff_jobs(
    desired: Mapping[UserState, dt.datetime],
    managed: frozenset[UserState],
    jobs: Iterable[ScheduledJob],
) -> tuple[JobPlan, ...]:
    """The schedule that turns a user's `jobs` into the `desired` ones.

    For each state in `managed`: a job already at the desired instant is kept (one: any
    copy of it is cancelled, so a user never holds two jobs for one state and instant);
    else the earliest job of that state is rescheduled to it, or a job is scheduled when
    there is none; every other job of that state is cancelled. Jobs of a state that is not
    `managed` are kept as they are.

    Args:
        desired: The instant wanted for each state (a state left out: no job wanted).
        managed: The states whose jobs this run manages for the user.
        jobs: The user's pending jobs.

    Returns:
        ACTIVATED lines first, then SUSPENDED; each state's kept or new job first.
    """
    plans: list[JobPlan] = []
    for state in JOB_STATES:
        mine = sorted((job for job in jobs if job.state is state), key=lambda j: (j.at, j.id))
        if state not in managed:
            plans.extend(JobPlan(state, job.at, JobChange.KEPT, job.id) for job in mine)
            continue
        wanted = desired.get(state)
        rest = mine
        if wanted is not None:
            same = next((job for job in mine if job.at == wanted), None)
            if same is not None:
                plans.append(JobPlan(state, wanted, JobChange.KEPT, same.id))
                rest = [job for job in mine if job is not same]
            elif mine:
                first = mine[0]
                plans.append(JobPlan(state, wanted, JobChange.RESCHEDULED, first.id, first.at))
                rest = mine[1:]
            else:
                plans.append(JobPlan(state, wanted, JobChange.SCHEDULED))
        plans.extend(JobPlan(state, job.at, JobChange.CANCELLED, job.id) for job in rest)
    return tuple(plans)


# -- across records ---------------------------------------------------------------------------


def jobs_by_user(jobs: Iterable[ScheduledJob]) -> dict[str, list[ScheduledJob]]:
    """The jobs of a listing, by user id (how a directory snapshot holds them)."""
    grouped: dict[str, list[ScheduledJob]] = {}
    for job in jobs:
        grouped.setdefault(job.user_id, []).append(job)
    return grouped


def batch_schedules(
    wanted: Iterable[tuple[str, UserState, dt.datetime]],
) -> dict[tuple[UserState, dt.datetime], list[str]]:
    """Group (user id, state, instant) into one batch of user ids per (state, instant).

    One `POST /bulk/userstates` then serves every user of a batch; user ids keep their
    first-seen order and appear once.
    """
    batches: dict[tuple[UserState, dt.datetime], list[str]] = {}
    seen: set[tuple[str, UserState, dt.datetime]] = set()
    for user_id, state, at in wanted:
        key = (user_id, state, at)
        if key not in seen:
            seen.add(key)
            batches.setdefault((state, at), []).append(user_id)
    return batches


def counts_as_suspension(action: Action) -> bool:
    """Whether the guard counts the action: it suspends now, or makes or moves a suspension job.

    (docs/effective-dates.md: a kept job was counted when it was made; a cancellation suspends no
    one.)
    """
    if action.kind is ActionKind.SUSPEND:
        return True
    return any(line.state is UserState.SUSPENDED and line.schedules for line in action.schedule)
