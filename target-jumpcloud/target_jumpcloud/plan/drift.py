"""The drift check: each planned action against the directory as JumpCloud has it now.

Unchanged -> applied (only what is still to write); changed -> `conflict`, "changed since
the plan was made: ..."; already at `after` (the plan was applied before) -> `unchanged`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec

from target_jumpcloud.model import (
    Action,
    ActionKind,
    DirectoryUser,
    Outcome,
    Plan,
    RecordResult,
)
from target_jumpcloud.settings.mapping_table import (
    MANAGER,
    custom_name,
)
from target_jumpcloud.sync import custom_attributes as custom
from target_jumpcloud.sync.compare import same_value
from target_jumpcloud.sync.leavers import has_leaver_record
from target_jumpcloud.sync.managers import break_cycles
from target_jumpcloud.sync.mapping import EMAIL, EMPLOYEE_ID
from target_jumpcloud.sync.schedules import JobChange, JobPlan, counts_as_suspension
from target_jumpcloud.zones import format_instant

if TYPE_CHECKING:
    from collections.abc import Sequence

    from target_jumpcloud.settings.sync_settings import (
        SuspensionLimit,
    )
    from target_jumpcloud.sync.directory import Directory
    from target_jumpcloud.sync.groups import GroupSnapshot
    from target_jumpcloud.sync.schedules import ScheduledJob
from target_jumpcloud.plan.group_file import check_groups
from target_jumpcloud.plan.load import ManagerChange, ManagerWrite, PlannedAction
from target_jumpcloud.plan.schema import REASON_ALREADY, REASON_CHANGED, SHOWN_LENGTH

# -- drift --------------------------------------------------------------------------------------


@dataclass
class DriftCheck:
    """The verdict of `check_drift`: what is still to apply, and the actions that are not.

    `results` holds one `conflict` (drifted) or `unchanged` (already as planned) result per
    action left out; together with `actions` they cover every action of the plan once.
    """

    actions: list[Action]
    results: list[RecordResult]

    def as_plan(self, *, matched_users: int, max_suspensions: SuspensionLimit) -> Plan:
        """A `Plan` for the applier and the guard (counted on what is still to apply)."""
        suspensions = sum(1 for action in self.actions if counts_as_suspension(action))
        return Plan(
            actions=list(self.actions),
            results=list(self.results),
            matched_users=matched_users,
            suspensions=suspensions,
            suspension_limit=max_suspensions.limit_for(matched_users),
        )


def _current(user: DirectoryUser, attribute: str) -> str | None:
    name = custom_name(attribute)
    if name is not None:
        return custom.current_text(_custom_list(user), name)
    if attribute == EMAIL and EMAIL not in user.attributes:
        return user.email
    return user.attributes.get(attribute)


def _custom_list(user: DirectoryUser) -> tuple[Any, ...]:
    if user.custom_attributes is None:  # (the engine reads it for a plan that needs it)
        raise ValueError(
            f"internal error: JumpCloud user {user.id} was read without its custom attributes"
        )
    return user.custom_attributes


def _shown_manager(user_id: str | None, directory: Directory) -> str:
    """A manager as a person reads it: the username, else the `_id`, else "(none)"."""
    if not user_id:
        return "(none)"
    user = directory.get(user_id)
    return repr(user.username) if user is not None else user_id


def _planned_manager(change: ManagerChange, user_id: str | None) -> str:
    if change.before_username:
        return repr(change.before_username)
    return user_id or "(none)"


def _shown_value(value: str | None) -> str:
    if value is None:
        return "(empty)"
    text = value if len(value) <= SHOWN_LENGTH else value[: SHOWN_LENGTH - 3] + "..."
    return repr(text)


def _label(user: DirectoryUser) -> str:
    return f"{user.username!r} ({user.id})"


def _conflict(
    action: PlannedAction, details: Sequence[str], user: DirectoryUser | None
) -> RecordResult:
    return RecordResult(
        position=action.position,
        deel_id=action.deel_id,
        email=action.email,
        outcome=Outcome.CONFLICT,
        reason=f"{REASON_CHANGED}: {'; '.join(details)}",
        username=user.username if user else action.username,
        jumpcloud_id=user.id if user else action.jumpcloud_id,
        warnings=action.warnings,
    )


def _already(action: PlannedAction, what: str, user: DirectoryUser) -> RecordResult:
    return RecordResult(
        position=action.position,
        deel_id=action.deel_id,
        email=action.email,
        outcome=Outcome.UNCHANGED,
        reason=f"{REASON_ALREADY} ({what}); nothing written",
        username=user.username,
        jumpcloud_id=user.id,
        warnings=action.warnings,
    )


class _UsernameIndex:
    """Lower-cased username → users, built on first use (only creates need it)."""

    def __init__(self, directory: Directory) -> None:
        self._directory = directory
        self._index: dict[str, list[DirectoryUser]] | None = None

    def holders(self, username: str) -> list[DirectoryUser]:
        if self._index is None:
            self._index = {}
            for user in self._directory:
                self._index.setdefault(user.username.lower(), []).append(user)
        return self._index.get(username.lower(), [])


def check_drift(
    actions: Sequence[PlannedAction],
    directory: Directory,
    groups: GroupSnapshot | None = None,
) -> DriftCheck:
    """Compare every planned action with `directory` as JumpCloud has it now.

    For each attribute (and the state) an action writes, the value now is compared with the
    plan's `before` and `after` (as the planner compares values):
    - every one still at `before`: the action is applied as planned;
    - some at `after` already, none elsewhere: only the rest is written (all of them: the
      action is `unchanged`, "already as planned": so applying a plan twice writes nothing);
    - any at a third value: `conflict`, "changed since the plan was made: attr: before →
      now", and nothing of that action is written.
    A create conflicts when its username, its email or its profile id is now held by a
    JumpCloud user; when the user linked to its profile id has its email, the create was done
    (by an earlier apply) and it is `unchanged`. An update conflicts when its user is gone,
    or when the email or profile id it sets is now held by another user. Group lines
    (docs/groups.md, checked against `groups`): a group deleted since the plan is a conflict,
    a membership already as planned is not written again.
    """
    usernames = _UsernameIndex(directory)
    managers = _NewManagers(actions, directory)
    to_apply: list[Action] = []
    results: list[RecordResult] = []
    for action in actions:
        if action.kind is ActionKind.CREATE:
            verdict = _check_create(action, directory, usernames, managers, groups)
        else:
            verdict = _check_existing(action, directory, managers, groups)
        if isinstance(verdict, Action):
            to_apply.append(verdict)
        else:
            results.append(verdict)
    if any(action.manager_pending is not None for action in to_apply):
        break_cycles(
            to_apply
        )  # (docs/directory-attributes.md: only a cycle of new users needs a follow-up PUT)
    return DriftCheck(actions=to_apply, results=results)


class _NewManagers:
    """Where each manager of a plan is now: an existing user's `_id`, or a create to wait for."""

    def __init__(self, actions: Sequence[PlannedAction], directory: Directory) -> None:
        self._directory = directory
        self._creates = {a.deel_id: a.position for a in actions if a.kind is ActionKind.CREATE}

    def resolve(self, change: ManagerChange) -> ManagerWrite | str:
        """The manager to write, or why it cannot be (a conflict's detail)."""
        if change.after is not None:
            if change.after not in self._directory:
                shown = _planned_manager(
                    ManagerChange(None, None, change.after_username, None), change.after
                )
                return f"manager: JumpCloud user {shown} ({change.after}) no longer exists"
            return ManagerWrite(change.after)
        profile_id = change.after_deel_id or ""
        linked = self._directory.linked_users(profile_id)
        if len(linked) == 1:  # the manager's create was applied (by an earlier apply)
            return ManagerWrite(linked[0].id)
        if linked:
            return (
                f"manager: the new user's profile id {profile_id} is now linked to "
                f"{len(linked)} JumpCloud users"
            )
        return ManagerWrite(None, self._creates[profile_id])


def _check_create(
    action: PlannedAction,
    directory: Directory,
    usernames: _UsernameIndex,
    managers: _NewManagers,
    groups: GroupSnapshot | None,
) -> Action | RecordResult:
    linked = list(directory.linked_users(action.deel_id))
    if len(linked) == 1 and same_value(EMAIL, linked[0].email, action.email):
        user = linked[0]
        what = (
            "created"
            if user.username.lower() == action.username.lower()
            else (f"created as {user.username!r}, not {action.username!r}")
        )
        pending_jobs, _, _ = _check_jobs(action.schedule, directory.jobs_of(user.id))
        left = None
        if action.groups is not None:  # its ledger went with the create; its adds may not have
            left = check_groups(
                action.groups, user, groups, done=[], drifted=[], ledger_written=True
            )
        if any(line.change is not JobChange.KEPT for line in pending_jobs) or (
            left is not None and left.writes
        ):
            # The create was done by an earlier apply whose jobs or memberships were not all made.
            existing = msgspec.structs.replace(
                action,
                kind=ActionKind.UPDATE,
                jumpcloud_id=user.id,
                username=user.username,
                attributes={},
                state=None,
            )
            note = f"{REASON_ALREADY} ({what})"
            return existing.to_action(
                [], with_state=False, reason=note, schedule=pending_jobs, groups=left
            )
        return _already(action, what, user)
    details = [
        f"profile id {action.deel_id} is now linked to JumpCloud user {_label(user)}"
        for user in linked
    ]
    details.extend(
        f"username {action.username!r} is now held by JumpCloud user {_label(user)}"
        for user in usernames.holders(action.username)
        if user not in linked
    )
    details.extend(
        f"email {action.email!r} is now held by JumpCloud user {_label(user)}"
        for user in directory.email_users(action.email)
        if user not in linked
    )
    manager: ManagerWrite | None = None
    if action.manager is not None:
        found = managers.resolve(action.manager)
        if isinstance(found, str):
            details.append(found)
        else:
            manager = found
    if details:
        return _conflict(action, details, None)
    return action.to_action(manager=manager)


def _check_existing(
    action: PlannedAction,
    directory: Directory,
    managers: _NewManagers,
    groups: GroupSnapshot | None,
) -> Action | RecordResult:
    user = directory.get(action.jumpcloud_id or "")
    if user is None:
        return _conflict(
            action,
            [f"JumpCloud user {action.username!r} ({action.jumpcloud_id}) no longer exists"],
            None,
        )
    pending: list[str] = []
    done: list[str] = []
    drifted: list[str] = []
    for name, change in action.attributes.items():
        now = _current(user, name)
        if same_value(name, now, change.before):
            pending.append(name)
        elif same_value(name, now, change.after):
            done.append(name)
        else:
            drifted.append(f"{name}: {_shown_value(change.before)} → {_shown_value(now)}")
    state_pending = _check_state(action, user, done=done, drifted=drifted)
    manager = None
    if action.manager is not None:
        manager = _check_manager(
            action.manager, user, directory, managers, done=done, drifted=drifted
        )
    drifted.extend(_taken_since(action, user, directory, pending))
    jobs, jobs_done, jobs_drifted = _check_jobs(action.schedule, directory.jobs_of(user.id))
    done.extend(jobs_done)
    drifted.extend(jobs_drifted)
    left = None
    if action.groups is not None:  # docs/groups.md
        left = check_groups(action.groups, user, groups, done=done, drifted=drifted)
    if drifted:
        return _conflict(action, drifted, user)
    jobs_pending = any(line.change is not JobChange.KEPT for line in jobs)
    groups_pending = left is not None and left.writes
    # docs/leavers.md: steps not yet recorded as done still run (an earlier apply may have
    # made the write and failed a step).
    steps_due = bool(action.leaver_steps) and not has_leaver_record(user.custom_attributes or ())
    waiting = pending or state_pending or jobs_pending or groups_pending or steps_due
    if not waiting and manager is None:
        return _already(action, ", ".join(done), user)
    reason = action.reason
    if done:
        note = f"{REASON_ALREADY}: {', '.join(done)}"
        reason = f"{reason}; {note}" if reason else note
    return action.to_action(
        pending,
        with_state=state_pending,
        reason=reason,
        manager=manager,
        custom_list=user.custom_attributes,
        schedule=jobs,
        groups=left,
    )


def _check_state(
    action: PlannedAction, user: DirectoryUser, *, done: list[str], drifted: list[str]
) -> bool:
    """True when the state is still to set, noting it in `done` or `drifted` otherwise."""
    if action.state is None:
        return False
    if user.state is action.state.before:
        return True
    if user.state is action.state.after:
        done.append("state")
    else:
        before = action.state.before.value if action.state.before else "(none)"
        drifted.append(f"state: {before} → {user.state.value}")
    return False


def _check_manager(
    change: ManagerChange,
    user: DirectoryUser,
    directory: Directory,
    managers: _NewManagers,
    *,
    done: list[str],
    drifted: list[str],
) -> ManagerWrite | None:
    """The manager still to write (None: none), noting it in `done` or `drifted`."""
    now = user.manager
    target = managers.resolve(change)
    if isinstance(target, ManagerWrite) and target.user_id is not None and now == target.user_id:
        done.append(MANAGER)
        return None
    if not same_value(MANAGER, now, change.before):
        planned = _planned_manager(change, change.before)
        drifted.append(f"manager: {planned} → {_shown_manager(now, directory)}")
        return None
    if isinstance(target, str):
        drifted.append(target)
        return None
    return target


def _check_jobs(
    lines: Sequence[JobPlan], jobs: Sequence[ScheduledJob]
) -> tuple[tuple[JobPlan, ...], list[str], list[str]]:
    """The reviewed job lines against the user's jobs now (docs/effective-dates.md).

    Returns the lines still to apply (kept lines stay, for the report), what is already as
    planned, and what changed since the plan was made: a job to cancel or move that is gone
    while its replacement is not there.
    """
    ids = {job.id for job in jobs}
    made = {(job.state, job.at) for job in jobs}
    still: list[JobPlan] = []
    done: list[str] = []
    drifted: list[str] = []
    for line in lines:
        label = f"{line.state.value} job at {format_instant(line.at)}"
        there = (line.state, line.at) in made
        if line.change is JobChange.KEPT:
            still.append(line)
        elif line.change is JobChange.SCHEDULED:
            if there:
                done.append(label)
            else:
                still.append(line)
        elif line.change is JobChange.CANCELLED:
            if line.job_id in ids:
                still.append(line)
            else:
                done.append(f"{label} cancelled")
        elif line.job_id in ids:  # rescheduled, the old job still there
            still.append(line if not there else replace_change(line, JobChange.CANCELLED))
        elif there:
            done.append(label)
        else:
            old = format_instant(line.previous_at) if line.previous_at else "?"
            drifted.append(f"{line.state.value} job at {old} is gone")
    return tuple(still), done, drifted


def replace_change(line: JobPlan, change: JobChange) -> JobPlan:
    """`line` with another change (a reschedule half done: only its cancel is left)."""
    return JobPlan(line.state, line.previous_at or line.at, change, line.job_id)


def _taken_since(
    action: PlannedAction, user: DirectoryUser, directory: Directory, pending: Sequence[str]
) -> list[str]:
    """The unique values this update still sets that another user has taken since the plan."""
    details: list[str] = []
    if EMAIL in pending:
        email = action.attributes[EMAIL].after or ""
        holder = directory.email_holder(email, exclude_id=user.id) if email else None
        if holder is not None:
            details.append(f"email {email!r} is now held by JumpCloud user {_label(holder)}")
    if EMPLOYEE_ID in pending:
        profile_id = action.attributes[EMPLOYEE_ID].after or ""
        details.extend(
            f"profile id {profile_id} is now linked to JumpCloud user {_label(other)}"
            for other in (directory.linked_users(profile_id) if profile_id else ())
            if other.id != user.id
        )
    return details
