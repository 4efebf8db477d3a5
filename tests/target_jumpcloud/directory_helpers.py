"""The directory as JumpCloud would hold it after a plan, for tests only.

Property tests use it to check that planning again against what a plan made asks for nothing;
production code never needs it (the applier writes, and the next run reads JumpCloud again).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from target_jumpcloud.model import ActionKind, DirectoryUser, UserState
from target_jumpcloud.settings.mapping_table import MANAGER
from target_jumpcloud.sync import custom_attributes as custom
from target_jumpcloud.sync.directory import Directory
from target_jumpcloud.sync.mapping import EMAIL
from target_jumpcloud.sync.schedules import JobChange, ScheduledJob

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from target_jumpcloud.model import Action, Plan
    from target_jumpcloud.sync.schedules import JobPlan


def _new_id(action: Action) -> str:
    return f"new-{action.desired.position}"


def apply_to_directory(
    plan: Plan, directory: Directory, new_id: Callable[[Action], str] = _new_id
) -> Directory:
    """A copy of `directory` as it would be after every action succeeded (nothing else changes).

    Pure: used to check that a second plan is empty. `new_id`
    names created users (default "new-<stream position>"). A manager this run creates
    (`manager_pending`) is linked by that id, follow-ups included; a custom attribute list
    sent replaces the user's whole list, as JumpCloud's PUT does.
    """
    result = Directory(directory)
    created = {a.desired.position: new_id(a) for a in plan.actions if a.kind is ActionKind.CREATE}
    for action in plan.actions:
        payload = action.payload
        manager = _payload_text(payload, MANAGER)
        if action.manager_pending is not None:
            manager = created[action.manager_pending]
        custom_list = payload.get(custom.LIST_FIELD)
        if action.kind is ActionKind.CREATE:
            attributes = {name: _payload_text(payload, name) for name in action.desired.attributes}
            result.add(
                DirectoryUser(
                    id=created[action.desired.position],
                    username=str(payload["username"]),
                    email=str(payload[EMAIL]),
                    state=UserState(str(payload["state"])),
                    attributes=attributes,
                    manager=manager,
                    custom_attributes=tuple(custom_list) if isinstance(custom_list, list) else (),
                )
            )
            continue
        user = result.get(action.user_id or "")
        if user is None:
            raise KeyError(f"action for unknown JumpCloud user {action.user_id!r}")
        attributes = dict(user.attributes)
        for name in action.desired.attributes:
            if name in payload:
                attributes[name] = _payload_text(payload, name)
        result.add(
            DirectoryUser(
                id=user.id,
                username=user.username,
                email=str(payload.get(EMAIL, user.email)),
                state=UserState(str(payload["state"])) if "state" in payload else user.state,
                attributes=attributes,
                manager=manager if manager is not None else user.manager,
                custom_attributes=(
                    tuple(custom_list) if isinstance(custom_list, list) else user.custom_attributes
                ),
            )
        )
    for action in plan.actions:
        user_id = created[action.desired.position] if action.kind is ActionKind.CREATE else None
        _apply_jobs(result, user_id or action.user_id or "", action.schedule)
    return result


def _apply_jobs(directory: Directory, user_id: str, schedule: Sequence[JobPlan]) -> None:
    """The user's jobs after the schedule's cancellations and new jobs (docs/effective-dates.md).

    As JumpCloud would hold them; a new job is named after its user, state and instant.
    """
    if not any(line.change is not JobChange.KEPT for line in schedule):
        return
    jobs = list(directory.jobs_of(user_id))
    for line in schedule:
        cancelled = line.cancels
        if cancelled is not None:
            jobs = [job for job in jobs if job.id != cancelled]
        if line.schedules:
            job_id = f"job-{user_id}-{line.state.value}-{line.at.isoformat()}"
            jobs.append(ScheduledJob(id=job_id, user_id=user_id, state=line.state, at=line.at))
    directory.jobs[user_id] = jobs


def _payload_text(payload: Mapping[str, object], name: str) -> str | None:
    value = payload.get(name)
    return None if value is None else str(value)
