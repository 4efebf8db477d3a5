"""Leaver steps and out-of-scope writes (docs/leavers.md), after the users' own writes.

A record's steps run only once its own write (the suspension) succeeded; a record whose
write failed keeps its steps for the next run, which plans them again. Each step is tried
even when an earlier one failed (a leaver should lose as much access as can be taken); once
every step is done, one PUT records the date in `deelSyncLeaver` (and empties the group
ledger the user left). A failed step leaves that record unset, so the next run tries the
steps again (all of them are safe to repeat), and makes the record `failed`, naming the
step: the suspension itself stays.

The out-of-scope users' writes (the missed-runs count, a suspension) are PUTs of their own,
followed by the same steps for a suspension.
"""

from __future__ import annotations

import datetime as dt
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

from msgspec.structs import replace

from target_jumpcloud.jumpcloud.errors import AuthenticationError, JumpCloudError
from target_jumpcloud.jumpcloud.transport import HTTP_NOT_FOUND
from target_jumpcloud.model import STEP_DONE, STEP_FAILED, Outcome
from target_jumpcloud.settings.groups import DEFAULT_LEDGER_ATTRIBUTE
from target_jumpcloud.settings.leavers import LeaverStep
from target_jumpcloud.sync import custom_attributes as custom
from target_jumpcloud.sync import leavers as rules

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable, Mapping, Sequence

    from target_jumpcloud.model import Action, DirectoryCheck, OutOfScopeUser, Plan, RecordResult

logger = logging.getLogger("target-jumpcloud.applier")

#: The outcomes after which a record's own write is done, so its steps may run.
_WRITTEN = frozenset({Outcome.SUSPENDED, Outcome.UPDATED, Outcome.SCHEDULED, Outcome.UNCHANGED})


class LeaverClient(Protocol):
    """The JumpCloud calls the leaver steps make (the run's `JumpCloudClient`)."""

    def update_user(self, user_id: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """PUT attributes of one user."""
        ...

    def reset_mfa(self, user_id: str) -> None:
        """POST /systemusers/{id}/resetmfa."""
        ...

    def expire_password(self, user_id: str) -> None:
        """POST /systemusers/{id}/expire."""
        ...

    def remove_group_member(self, group_id: str, user_id: str) -> None:
        """Take the user out of the group (a user not in it, or a group gone, is done)."""
        ...


def utc_today() -> dt.date:
    """The date `deelSyncLeaver` records: today in UTC."""
    return dt.datetime.now(dt.UTC).date()


class StepRunner:
    """Runs one user's leaver steps, then records them; shared by records and directory users."""

    def __init__(
        self,
        client: LeaverClient,
        *,
        ledger_attribute: str = DEFAULT_LEDGER_ATTRIBUTE,
        today: Callable[[], dt.date] = utc_today,
    ) -> None:
        self.client = client
        self.ledger_attribute = ledger_attribute
        self.today = today

    def _step(self, step: str, user_id: str, ledger: Sequence[str]) -> None:
        if step == LeaverStep.REMOVE_GROUPS:
            for group_id in ledger:
                try:
                    self.client.remove_group_member(group_id, user_id)
                except JumpCloudError as exc:
                    if exc.status != HTTP_NOT_FOUND:  # a group gone: nothing to leave
                        raise
        elif step == LeaverStep.RESET_MFA:
            self.client.reset_mfa(user_id)
        elif step == LeaverStep.EXPIRE_PASSWORD:
            self.client.expire_password(user_id)
        else:  # pragma: no cover - the settings parser allows only the steps above
            raise ValueError(f"unknown leaver step {step!r}")

    def run(
        self,
        user_id: str,
        steps: Sequence[str],
        ledger: Sequence[str],
        custom_after: Sequence[Any] | None,
    ) -> tuple[tuple[tuple[str, str], ...], str | None]:
        """((step, result) for each step, the error or None); a refused key is raised."""
        done: list[tuple[str, str]] = []
        errors: list[str] = []
        for step in steps:
            try:
                self._step(step, user_id, ledger)
            except AuthenticationError:
                raise
            except JumpCloudError as exc:
                done.append((step, STEP_FAILED))
                errors.append(f"leaver step {step} failed ({exc})")
            else:
                done.append((step, STEP_DONE))
        if errors:
            return tuple(done), (
                "; ".join(errors) + "; the suspension stays and the next run tries the steps again"
            )
        items = rules.with_value(
            custom_after or (), rules.LEAVER_ATTRIBUTE, self.today().isoformat()
        )
        if LeaverStep.REMOVE_GROUPS in steps:
            items = rules.without(items, [self.ledger_attribute]) or items
        try:
            self.client.update_user(user_id, {custom.LIST_FIELD: items})
        except AuthenticationError:
            raise
        except JumpCloudError as exc:
            return tuple(done), (
                f"leaver steps done, but recording them in {rules.LEAVER_ATTRIBUTE} failed "
                f"({exc}); the next run runs them again"
            )
        return tuple(done), None


def run_record_steps(
    actions: Sequence[Action],
    results: list[RecordResult],
    runner: StepRunner,
    *,
    stop: threading.Event,
    concurrency: int = 4,
) -> list[RecordResult]:
    """Each record's leaver steps, once its own write succeeded; the results updated."""
    by_position = {action.desired.position: action for action in actions if action.leaver_steps}
    if not by_position:
        return results
    due = [
        index
        for index, result in enumerate(results)
        if result.position in by_position and result.outcome in _WRITTEN
    ]

    def one(index: int) -> None:
        result = results[index]
        action = by_position[result.position]
        if stop.is_set():
            results[index] = replace(
                result,
                outcome=Outcome.FAILED,
                reason=_joined(result.reason, "leaver steps not run: the run was interrupted"),
            )
            return
        user_id = result.jumpcloud_id or action.user_id or ""
        try:
            steps, error = runner.run(
                user_id, action.leaver_steps, action.ledger, action.custom_after
            )
        except AuthenticationError as exc:
            stop.set()
            steps, error = (), f"leaver steps not run: JumpCloud refused the credentials ({exc})"
        if error is None:
            results[index] = replace(result, leaver_steps=steps)
        else:
            results[index] = replace(
                result,
                outcome=Outcome.FAILED,
                reason=_joined(result.reason, error),
                leaver_steps=steps,
            )

    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="leavers") as pool:
        for future in [pool.submit(one, index) for index in due]:
            future.result()
    return results


def apply_out_of_scope(
    check: DirectoryCheck,
    runner: StepRunner,
    *,
    stop: threading.Event,
    concurrency: int = 4,
) -> int:
    """The out-of-scope users' writes and steps; returns how many of them failed."""
    todo = [user for user in check.out_of_scope if user.payload or user.leaver_steps]

    def one(user: OutOfScopeUser) -> None:
        if stop.is_set():
            user.failed = "not applied: the run was interrupted"
            return
        try:
            if user.payload:
                runner.client.update_user(user.jumpcloud_id, user.payload)
        except AuthenticationError as exc:
            stop.set()
            user.failed = f"not applied: JumpCloud refused the credentials ({exc})"
            return
        except JumpCloudError as exc:
            user.failed = str(exc)
            return
        if not user.leaver_steps:
            return
        try:
            user.step_results, user.failed = runner.run(
                user.jumpcloud_id, user.leaver_steps, user.ledger, user.custom_after
            )
        except AuthenticationError as exc:
            stop.set()
            user.failed = f"leaver steps not run: JumpCloud refused the credentials ({exc})"

    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="leavers") as pool:
        for future in [pool.submit(one, user) for user in todo]:
            future.result()
    failed = [user for user in todo if user.failed]
    for user in failed:
        logger.error("out-of-scope user %s (%s): %s", user.username, user.jumpcloud_id, user.failed)
    return len(failed)


def apply_leavers(
    plan: Plan,
    applied: list[RecordResult],
    client: LeaverClient,
    *,
    ledger_attribute: str,
    stop: threading.Event,
    concurrency: int = 4,
) -> tuple[list[RecordResult], int]:
    """After the plan's own writes: the records' leaver steps, then the out-of-scope users'.

    Returns the records' results and how many out-of-scope users failed.
    """
    runner = StepRunner(client, ledger_attribute=ledger_attribute)
    results = run_record_steps(plan.actions, applied, runner, stop=stop, concurrency=concurrency)
    failed = 0
    if plan.directory is not None:
        failed = apply_out_of_scope(plan.directory, runner, stop=stop, concurrency=concurrency)
    return results, failed


def _joined(reason: str | None, extra: str) -> str:
    return f"{reason}; {extra}" if reason else extra
