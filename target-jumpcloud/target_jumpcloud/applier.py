"""Carry out a plan against JumpCloud: every action ends in exactly one `RecordResult` (§§7-9).

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

from target_jumpcloud.client import AuthenticationError, JumpCloudError, UnknownOutcomeError
from target_jumpcloud.model import Action, ActionKind, Outcome, Plan, RecordResult
from target_jumpcloud.usernames import base_username

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from target_jumpcloud.client import JumpCloudClient
    from target_jumpcloud.usernames import UsernameAllocator

logger = logging.getLogger("target-jumpcloud.applier")

MAX_UNKNOWN_OUTCOME_RETRIES: Final = 3  # new POSTs after a look-up found nothing
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
) -> list[RecordResult]:
    """Apply every action of `plan`; one result per action, in the order of `plan.actions`.

    Up to `concurrency` requests run at once. An error on one action never stops the others,
    except a refused key: then the actions not yet started end as failed without a request,
    because every one of them would be refused the same way. `stop` (set on a termination
    signal) does the same.
    """
    actions = plan.actions
    total = len(actions)
    results: list[RecordResult | None] = [None] * total
    halt = stop or threading.Event()
    halt_reason: list[str] = []
    lock = threading.Lock()
    done = 0

    def run(index: int, action: Action) -> None:
        nonlocal done
        if halt.is_set():
            why = halt_reason[0] if halt_reason else "the run was interrupted"
            result = _result(action, Outcome.FAILED, reason=f"not applied: {why}")
        else:
            try:
                result = _apply_one(action, client, allocator)
            except AuthenticationError as exc:
                with lock:
                    if not halt_reason:
                        halt_reason.append(f"JumpCloud refused the credentials ({exc})")
                halt.set()
                result = _result(action, Outcome.FAILED, reason=str(exc))
            except Exception as exc:
                logger.exception(
                    "unexpected error applying record #%d", action.desired.position + 1
                )
                result = _result(
                    action, Outcome.FAILED, reason=f"unexpected error: {type(exc).__name__}: {exc}"
                )
        results[index] = result
        with lock:
            done += 1
            finished = done
        if on_progress is not None:
            on_progress(finished, total)

    if total:
        with ThreadPoolExecutor(
            max_workers=max(1, concurrency), thread_name_prefix="jumpcloud-apply"
        ) as pool:
            for future in [pool.submit(run, i, a) for i, a in enumerate(actions)]:
                future.result()
    return [r for r in results if r is not None]


def _apply_one(
    action: Action, client: JumpCloudClient, allocator: UsernameAllocator
) -> RecordResult:
    """Apply one action; JumpCloud errors become a `failed` or `conflict` result."""
    if action.kind is ActionKind.CREATE:
        return _create(action, client, allocator)
    return _update(action, client)


# -- create ----------------------------------------------------------------------------------


def _create(  # noqa: PLR0911 - each way a create can end is one return
    action: Action, client: JumpCloudClient, allocator: UsernameAllocator
) -> RecordResult:
    """POST the new user; resolve unknown outcomes and 400s without ever creating twice."""
    desired = action.desired
    payload = dict(action.payload)
    planned_username = str(payload["username"])
    unknown_retries = 0
    username_retries = 0
    while True:
        username = str(payload["username"])
        try:
            user = client.create_user(payload)
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
            unknown_retries += 1
            if unknown_retries > MAX_UNKNOWN_OUTCOME_RETRIES:
                return _result(
                    action,
                    Outcome.FAILED,
                    username=username,
                    reason=(
                        f"{exc}; not created (checked by email after each of "
                        f"{unknown_retries} attempts)"
                    ),
                )
            logger.warning(
                "record #%d: %s; the user is not in JumpCloud, sending it again",
                desired.position + 1,
                exc,
            )
            client.pause(unknown_retries - 1)
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
            base = base_username(desired.first_name, desired.last_name, desired.email)
            payload["username"] = allocator.allocate(base)
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
    )
