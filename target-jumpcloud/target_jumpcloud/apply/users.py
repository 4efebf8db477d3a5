"""Carry out a plan against JumpCloud: every action ends in exactly one `RecordResult`.

The hard part is the create. A POST whose answer is lost may still have stored the user, so
an unknown outcome is always followed by a look-up by email before any new POST, and a 400
is explained by looking at who holds the username, the email or the profile id. JumpCloud's
own uniqueness rules are the last line of defence: even a look-up that misses a fresh user
only leads to a second POST that JumpCloud refuses, which the 400 path then recognises as
ours. So no fault pattern creates a user twice.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Final

from msgspec.structs import replace

from target_jumpcloud.apply.groups import GroupApply
from target_jumpcloud.apply.jobs import apply_schedules
from target_jumpcloud.jumpcloud.errors import (
    AuthenticationError,
    JumpCloudError,
    UnknownOutcomeError,
)
from target_jumpcloud.model import Action, ActionKind, Outcome, Plan, RecordResult
from target_jumpcloud.settings.groups import DEFAULT_LEDGER_ATTRIBUTE
from target_jumpcloud.settings.mapping_table import MANAGER
from target_jumpcloud.sync.managers import NOT_CREATED, apply_waves, missing_manager_warning
from target_jumpcloud.sync.usernames import base_username

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from target_jumpcloud.jumpcloud.client import JumpCloudClient
    from target_jumpcloud.sync.usernames import UsernameAllocator

logger = logging.getLogger("target-jumpcloud.applier")

MAX_USERNAME_RETRIES: Final = 10  # next numbers tried when a username was taken meanwhile
_HTTP_BAD_REQUEST: Final = 400


def apply_plan(
    plan: Plan,
    client: JumpCloudClient,
    allocator: UsernameAllocator,
    *,
    concurrency: int = 4,
    on_progress: Callable[[int, int], None] | None = None,
    stop: threading.Event | None = None,
    ledger_attribute: str = DEFAULT_LEDGER_ATTRIBUTE,
) -> list[RecordResult]:
    """Apply every action of `plan`; one result per action, in the order of `plan.actions`.

    Up to `concurrency` requests run at once. The actions run in waves (`apply_waves`): a
    create or update whose manager this run creates waits for that create's answer (and
    sends its `_id`); every other action is in the first wave, so independent users keep
    the full concurrency. A create in a cycle of new managers gets its manager by one PUT
    after every wave. An error on one action never stops the others, except a refused
    key: then the actions not yet started end as failed without a request, because every
    one of them would be refused the same way. `stop` (set on a termination signal) does
    the same. Group memberships (docs/groups.md) go around the users' writes: creates of
    groups and removals before, adds after (`apply/groups.py`).
    """
    run = _Run(plan.actions, client, allocator, stop or threading.Event(), on_progress)
    groups = None
    if GroupApply.needed(plan.actions):
        groups = GroupApply(
            plan.actions,
            client,
            ledger_attribute=ledger_attribute,
            stop=run.halt,
            concurrency=concurrency,
        )
        groups.before_users()
    if run.total:
        waves, followups = apply_waves(plan.actions)
        with ThreadPoolExecutor(
            max_workers=max(1, concurrency), thread_name_prefix="jumpcloud-apply"
        ) as pool:
            for wave in waves:
                for future in [pool.submit(run.apply, i) for i in wave]:
                    future.result()
            for future in [pool.submit(run.follow_up, i) for i in followups]:
                future.result()
    results = [r for r in run.results if r is not None]
    if groups is not None:
        results = groups.after_users(results)
    if any(action.schedule for action in plan.actions):
        results = apply_schedules(
            plan.actions, results, client, stop=run.halt, concurrency=concurrency
        )
    return results


class _Run:
    """The state one `apply_plan` shares between its worker threads."""

    def __init__(
        self,
        actions: list[Action],
        client: JumpCloudClient,
        allocator: UsernameAllocator,
        halt: threading.Event,
        on_progress: Callable[[int, int], None] | None,
    ) -> None:
        self.actions = actions
        self.client = client
        self.allocator = allocator
        self.halt = halt
        self.on_progress = on_progress
        self.total = len(actions)
        self.results: list[RecordResult | None] = [None] * self.total
        self.created_ids: dict[int, str | None] = {}  # position of a create → its `_id`
        self._halt_reason: list[str] = []
        self._lock = threading.Lock()
        self._done = 0

    def halted(self, action: Action) -> RecordResult | None:
        """The failed result of an action that must not start (key refused, stop asked)."""
        if not self.halt.is_set():
            return None
        why = self._halt_reason[0] if self._halt_reason else "the run was interrupted"
        return _result(action, Outcome.FAILED, reason=f"not applied: {why}")

    def guarded(self, action: Action, step: Callable[[], RecordResult]) -> RecordResult:
        """Run one step; a refused key halts the run, any other error fails this record only."""
        try:
            return step()
        except AuthenticationError as exc:
            with self._lock:
                if not self._halt_reason:
                    self._halt_reason.append(f"JumpCloud refused the credentials ({exc})")
            self.halt.set()
            return _result(action, Outcome.FAILED, reason=str(exc))
        except Exception as exc:
            logger.exception("unexpected error applying record #%d", action.desired.position + 1)
            return _result(
                action, Outcome.FAILED, reason=f"unexpected error: {type(exc).__name__}: {exc}"
            )

    def apply(self, index: int) -> None:
        """Apply one action (its manager's create, if any, has answered already)."""
        action = self.actions[index]
        result = self.halted(action)
        if result is None:
            ready = _with_manager(action, self.created_ids)
            if isinstance(ready, RecordResult):
                result = ready
            else:
                result = self.guarded(ready, lambda: _apply_one(ready, self.client, self.allocator))
        if action.kind is ActionKind.CREATE:
            created = result.outcome is Outcome.CREATED
            self.created_ids[action.desired.position] = result.jumpcloud_id if created else None
        self.results[index] = result
        with self._lock:
            self._done += 1
            finished = self._done
        if self.on_progress is not None:
            self.on_progress(finished, self.total)

    def follow_up(self, index: int) -> None:
        """The manager of a create in a cycle of new users, set once both exist."""
        created = self.results[index]
        action = self.actions[index]
        if created is None or created.outcome is not Outcome.CREATED or not created.jumpcloud_id:
            return
        stopped = self.halted(action)
        if stopped is not None:
            self.results[index] = _result(
                action,
                Outcome.FAILED,
                username=created.username,
                jumpcloud_id=created.jumpcloud_id,
                reason=f"created as {created.username}, but its manager was {stopped.reason}",
            )
            return
        self.results[index] = self.guarded(
            action, lambda: _set_manager_after(action, created, self.client, self.created_ids)
        )


def _with_manager(action: Action, created_ids: Mapping[int, str | None]) -> Action | RecordResult:
    """The action with its new manager's `_id` in the payload, when it waits for one.

    The manager's create did not succeed: the action goes without a manager, with a
    warning; an update that had nothing else to send ends as unchanged, without a request.
    """
    pending = action.manager_pending
    if pending is None or action.manager_followup:
        return action
    manager_id = created_ids.get(pending)
    if manager_id is not None:
        return replace(action, payload={**action.payload, MANAGER: manager_id})
    warning = missing_manager_warning(_manager_profile_id(action), NOT_CREATED)
    desired = replace(action.desired, warnings=(*action.desired.warnings, warning))
    changes = {k: v for k, v in action.changes.items() if k != MANAGER}
    bare = replace(action, desired=desired, changes=changes, manager_pending=None)
    if action.kind is not ActionKind.CREATE and not action.payload:
        return _result(bare, Outcome.UNCHANGED, reason=action.reason)
    return bare


def _manager_profile_id(action: Action) -> str:
    return action.desired.manager or "?"


def _set_manager_after(
    action: Action,
    created: RecordResult,
    client: JumpCloudClient,
    created_ids: Mapping[int, str | None],
) -> RecordResult:
    """The follow-up PUT of a create in a cycle of new managers (docs/directory-attributes.md)."""
    manager_id = (
        created_ids.get(action.manager_pending) if action.manager_pending is not None else None
    )
    if manager_id is None:
        warning = missing_manager_warning(_manager_profile_id(action), NOT_CREATED)
        created.warnings = (*created.warnings, warning)
        return created
    user_id = created.jumpcloud_id or ""
    try:
        client.update_user(user_id, {MANAGER: manager_id})
    except AuthenticationError:
        raise
    except JumpCloudError as exc:
        return _result(
            action,
            Outcome.FAILED,
            username=created.username,
            jumpcloud_id=user_id,
            reason=(
                f"created as {created.username}, but setting its manager failed ({exc}); "
                "the next run sets it"
            ),
        )
    return created


def _apply_one(
    action: Action, client: JumpCloudClient, allocator: UsernameAllocator
) -> RecordResult:
    """Apply one action; JumpCloud errors become a `failed` or `conflict` result."""
    if action.kind is ActionKind.CREATE:
        return _create(action, client, allocator)
    if action.kind in (ActionKind.SCHEDULE, ActionKind.GROUPS):
        # docs/effective-dates.md, docs/groups.md: its jobs and memberships come after every write
        return _result(action, action.outcome, reason=action.reason)
    if not action.payload and action.leaver_steps:  # docs/leavers.md: only steps to run
        return _result(action, action.outcome, reason=action.reason, changes=action.changes)
    return _update(action, client)


# -- create ----------------------------------------------------------------------------------


def _create(  # noqa: PLR0911 - each way a create can end is one return
    action: Action, client: JumpCloudClient, allocator: UsernameAllocator
) -> RecordResult:
    """POST the new user; resolve unknown outcomes and 400s without ever creating twice.

    An unknown outcome the look-up by email does not explain is sent again under the retry
    budget of the first POST: the same time as any other request gets (`jumpcloud/retries.py`).
    """
    desired = action.desired
    payload = dict(action.payload)
    planned_username = str(payload["username"])
    retries = client.retry_budget()
    username_retries = 0
    while True:
        username = str(payload["username"])
        try:
            user = client.create_user(payload, budget=retries)
        except UnknownOutcomeError as exc:
            try:
                holder = _find(client, "email", str(payload["email"]))
            except AuthenticationError:
                raise
            except JumpCloudError as lookup_error:
                return _result(
                    action,
                    Outcome.FAILED,
                    username=username,
                    reason=(
                        f"create outcome unknown ({exc}) and the check by email failed "
                        f"({lookup_error}); run again: the next run finds the user if it exists"
                    ),
                )
            if holder is not None:
                return _resolve_holder(
                    action,
                    holder,
                    username,
                    planned_username,
                    via=f"confirmed by a look-up after: {exc}",
                )
            delay = retries.next_delay()
            if delay is None:
                return _result(
                    action,
                    Outcome.FAILED,
                    username=username,
                    reason=(
                        f"{exc}; not created (checked by email after each attempt; "
                        f"{retries.gave_up()})"
                    ),
                )
            logger.warning(
                "record #%d: %s; the user is not in JumpCloud, sending it again in %.1fs",
                desired.position + 1,
                exc,
                delay,
            )
            retries.pause(delay)
            continue
        except AuthenticationError:
            raise
        except JumpCloudError as exc:
            if exc.status != _HTTP_BAD_REQUEST:
                return _result(action, Outcome.FAILED, username=username, reason=str(exc))
            verdict = _explain_refused_create(action, client, payload, exc)
            if isinstance(verdict, RecordResult):
                return verdict
            # The username was taken in the meantime: mark it and take the next number.
            allocator.mark_taken(username)
            username_retries += 1
            if username_retries > MAX_USERNAME_RETRIES:
                return _result(
                    action,
                    Outcome.FAILED,
                    username=username,
                    reason=(
                        f"{exc}; gave up after {username_retries} usernames were taken meanwhile"
                    ),
                )
            base = action.username_base or base_username(
                desired.first_name, desired.last_name, desired.email
            )
            payload["username"] = allocator.allocate(base, action.username_max_length)
            logger.warning(
                "record #%d: username %s was taken meanwhile; trying %s",
                desired.position + 1,
                username,
                payload["username"],
            )
            continue
        allocator.mark_taken(username)
        return _result(
            action,
            Outcome.CREATED,
            username=username,
            jumpcloud_id=_user_id(user),
            reason=_renamed(planned_username, username, action.reason),
        )


def _explain_refused_create(
    action: Action, client: JumpCloudClient, payload: Mapping[str, Any], error: JumpCloudError
) -> RecordResult | None:
    """Find out why JumpCloud refused a create (400); None means: the username is taken.

    Looks at who holds the username, then the email, then the profile id: a user with our
    profile id is ours (an earlier attempt stored it); anyone else holding the email or the
    profile id is a conflict; a username held by someone else means try the next number.
    """
    desired = action.desired
    username = str(payload["username"])
    planned = str(action.payload["username"])
    try:
        holder = _find(client, "username", username)
        if holder is not None:
            if holder.get("employeeIdentifier") == desired.profile_id:
                return _resolve_holder(action, holder, username, planned, via="it already existed")
            return None
        holder = _find(client, "email", str(payload["email"]))
        if holder is None:
            holder = _find(client, "employeeIdentifier", desired.profile_id)
    except AuthenticationError:
        raise
    except JumpCloudError as lookup_error:
        return _result(
            action,
            Outcome.FAILED,
            username=username,
            reason=(f"{error}; could not check why ({lookup_error})"),
        )
    if holder is not None:
        return _resolve_holder(action, holder, username, planned, via="it already existed")
    return _result(
        action, Outcome.FAILED, username=username, reason=f"JumpCloud refused the create: {error}"
    )


def _resolve_holder(
    action: Action, holder: Mapping[str, Any], username: str, planned: str, *, via: str
) -> RecordResult:
    """A user found holding our email/username/profile id: ours (created) or a conflict."""
    desired = action.desired
    if holder.get("employeeIdentifier") == desired.profile_id:
        found_name = str(holder.get("username") or username)
        reason = _renamed(planned, found_name, action.reason)
        note = f"created ({via})"
        return _result(
            action,
            Outcome.CREATED,
            username=found_name,
            jumpcloud_id=_user_id(holder),
            reason=f"{reason}; {note}" if reason else note,
        )
    other = holder.get("username") or _user_id(holder) or "another user"
    holds_email = str(holder.get("email") or "").casefold() == desired.email_key
    what = "the work email" if holds_email else "the profile id"
    return _result(
        action,
        Outcome.CONFLICT,
        username=username,
        reason=(
            f"{what} is held by JumpCloud user {other} (appeared after the plan); nothing written"
        ),
    )


def _renamed(planned: str, actual: str, reason: str | None) -> str | None:
    """The reason of a create, noting a username changed because of a late collision."""
    if planned.lower() == actual.lower():
        return reason
    note = f"username {planned} was taken meanwhile; created as {actual}"
    return f"{reason}; {note}" if reason else note


# -- update, suspend, reactivate -----------------------------------------------------------------


def _update(action: Action, client: JumpCloudClient) -> RecordResult:
    """PUT the changed attributes (and the state pair); PUT is idempotent, so it is retried."""
    if not action.user_id:  # the planner sets it for every non-create; never PUT blindly
        return _result(action, Outcome.FAILED, reason="internal error: no JumpCloud id planned")
    try:
        client.update_user(action.user_id, action.payload)
    except AuthenticationError:
        raise
    except JumpCloudError as exc:
        if exc.status == _HTTP_BAD_REQUEST and "email" in action.payload:
            conflict = _email_conflict(action, client)
            if conflict is not None:
                return conflict
        return _result(
            action,
            Outcome.FAILED,
            jumpcloud_id=action.user_id,
            username=action.username,
            reason=str(exc),
        )
    return _result(
        action,
        action.outcome,
        jumpcloud_id=action.user_id,
        username=action.username,
        reason=action.reason,
        changes=action.changes,
    )


def _email_conflict(action: Action, client: JumpCloudClient) -> RecordResult | None:
    """A refused email change: a conflict when another user took the address meanwhile."""
    try:
        holder = _find(client, "email", str(action.payload["email"]))
    except JumpCloudError:
        return None
    if holder is None or _user_id(holder) == action.user_id:
        return None
    other = holder.get("username") or _user_id(holder)
    return _result(
        action,
        Outcome.CONFLICT,
        jumpcloud_id=action.user_id,
        username=action.username,
        reason=f"the new work email is held by JumpCloud user {other}; nothing written",
    )


# -- helpers -----------------------------------------------------------------------------------


def _find(client: JumpCloudClient, field: str, value: str) -> dict[str, Any] | None:
    """The user holding `value` in `field` (JumpCloud keeps all three unique), if any.

    Usernames and emails are unique regardless of case, so those look-ups ignore case;
    the profile id is compared exactly, as JumpCloud does.
    """
    users = client.find_users_by(field, value, ignore_case=field != "employeeIdentifier")
    return users[0] if users else None


def _user_id(user: Mapping[str, Any]) -> str | None:
    value = user.get("_id") or user.get("id")
    return str(value) if value else None


def _result(
    action: Action,
    outcome: Outcome,
    *,
    reason: str | None = None,
    username: str | None = None,
    jumpcloud_id: str | None = None,
    changes: dict[str, tuple[str | None, str | None]] | None = None,
) -> RecordResult:
    desired = action.desired
    return RecordResult(
        position=desired.position,
        deel_id=desired.profile_id,
        email=desired.email,
        outcome=outcome,
        reason=reason,
        username=username if username is not None else action.username,
        jumpcloud_id=jumpcloud_id if jumpcloud_id is not None else action.user_id,
        changes=dict(changes or {}),
        warnings=desired.warnings,
        schedule=action.schedule,
        groups=action.groups,
        groups_change=action.groups_change,
    )
