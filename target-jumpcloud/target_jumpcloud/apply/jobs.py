"""Apply the scheduled state changes of a plan, once the users' writes are done.

A record's jobs follow its own write: a record whose create or update failed (or ended as a
conflict) has its jobs left for the next run, which plans them again. Then every
cancellation is sent (the old half of a reschedule included), then every new job, one POST
per (state, instant) for all its users (`JumpCloudClient.schedule_state`, which looks a lost
answer up before sending again: never two jobs for one user, state and instant). A record
whose cancellation failed gets no new job (it would sit beside the old one): it fails, and
the next run finishes it.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from msgspec.structs import replace

from target_jumpcloud.apply.partial import failed_after_write
from target_jumpcloud.jumpcloud.errors import AuthenticationError, JumpCloudError
from target_jumpcloud.model import Outcome, UserState
from target_jumpcloud.sync.schedules import JobChange, batch_schedules

if TYPE_CHECKING:
    import datetime as dt
    import threading
    from collections.abc import Sequence

    from target_jumpcloud.jumpcloud.client import JumpCloudClient
    from target_jumpcloud.model import Action, RecordResult

logger = logging.getLogger("target-jumpcloud.applier")

_NOT_WRITTEN = (Outcome.FAILED, Outcome.CONFLICT, Outcome.SKIPPED)


def changes_jobs(action: Action) -> bool:
    """Whether the action's schedule writes anything (a line other than `kept`)."""
    return any(line.change is not JobChange.KEPT for line in action.schedule)


class _JobRun:
    """The errors and the stop of one jobs phase, shared by its threads."""

    def __init__(self, client: JumpCloudClient, stop: threading.Event) -> None:
        self.client = client
        self.stop = stop
        self.halt_reason: str | None = None

    def stopped(self) -> str | None:
        """Why no new request may start, or None."""
        if not self.stop.is_set():
            return None
        return self.halt_reason or "the run was interrupted"

    def cancel(self, job_id: str) -> str | None:
        """DELETE one job; the error text, or None when it is gone."""
        why = self.stopped()
        if why is not None:
            return f"not applied: {why}"
        try:
            self.client.cancel_scheduled_job(job_id)
        except AuthenticationError as exc:
            self.halt_reason = f"JumpCloud refused the credentials ({exc})"
            self.stop.set()
            return str(exc)
        except JumpCloudError as exc:
            return f"cancelling scheduled job {job_id} failed ({exc})"
        return None

    def schedule(self, state: UserState, at: dt.datetime, user_ids: list[str]) -> dict[str, str]:
        """One (state, instant) for its users; the error text of each user that failed."""
        why = self.stopped()
        if why is not None:
            return dict.fromkeys(user_ids, f"not applied: {why}")
        try:
            made = self.client.schedule_state(state, at, user_ids)
        except AuthenticationError as exc:
            self.halt_reason = f"JumpCloud refused the credentials ({exc})"
            self.stop.set()
            return dict.fromkeys(user_ids, str(exc))
        return {user_id: f"scheduling failed ({exc})" for user_id, exc in made.failed.items()}


def apply_schedules(
    actions: Sequence[Action],
    results: Sequence[RecordResult],
    client: JumpCloudClient,
    *,
    stop: threading.Event,
    concurrency: int = 4,
) -> list[RecordResult]:
    """Apply the jobs of every action whose write went through; the results updated.

    `results[i]` is the result of `actions[i]`'s own write. A record whose jobs could not
    all be applied ends as `failed` (its reason says what was written and what was not);
    one that had nothing to write but its jobs is `scheduled`.
    """
    out = list(results)
    users: dict[int, str] = {}  # action index → the user whose jobs it changes
    for index, (action, result) in enumerate(zip(actions, results, strict=True)):
        if not changes_jobs(action):
            continue
        if result.outcome in _NOT_WRITTEN or not result.jumpcloud_id:
            note = "its scheduled state changes were not applied (the next run plans them)"
            out[index] = replace(
                result, reason=f"{result.reason}; {note}" if result.reason else note
            )
            continue
        users[index] = result.jumpcloud_id
    if not users:
        return out
    run = _JobRun(client, stop)
    errors: dict[int, list[str]] = {}
    cancels = [
        (index, job_id)
        for index in users
        for line in actions[index].schedule
        if (job_id := line.cancels) is not None
    ]
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="jobs") as pool:
        cancelled = pool.map(run.cancel, [job_id for _, job_id in cancels])
        for (index, _), error in zip(cancels, cancelled, strict=True):
            if error is not None:
                errors.setdefault(index, []).append(error)
        index_of = {user_id: index for index, user_id in users.items()}
        wanted = [
            (user_id, line.state, line.at)
            for index, user_id in users.items()
            if index not in errors
            for line in actions[index].schedule
            if line.schedules
        ]
        batches = list(batch_schedules(wanted).items())
        answers = pool.map(lambda batch: run.schedule(batch[0][0], batch[0][1], batch[1]), batches)
        for failed in answers:
            for user_id, error in failed.items():
                errors.setdefault(index_of[user_id], []).append(error)
    for index in users:
        result = out[index]
        if index in errors:
            out[index] = failed_after_write(
                result, errors[index], "the next run schedules them again"
            )
        elif result.outcome is Outcome.UNCHANGED:  # (its manager's create failed: jobs only)
            out[index] = replace(result, outcome=Outcome.SCHEDULED)
    return out
