"""Manager links: resolve each worker's manager, and order the writes.

The mapping key `manager` gives the manager's profile id; JumpCloud's `manager` attribute
wants the `_id` of the manager's JumpCloud user. That is known only once the whole plan is
made (a manager may be listed after their reports, or be created by this very run), so
`link_managers` runs after every record is planned:

- the manager is the JumpCloud user whose `employeeIdentifier` is that profile id as it
  stands after this run's matching, adoption and creation (a manager who is not in the
  input but is in JumpCloud is linked too);
- no such user, or the worker named as their own manager: the manager is left as it is,
  with a warning on the record; an empty source never clears a manager (docs/sync-rules.md);
- compared by id: no change, no write.

A manager created by this run has no `_id` yet: the action that needs it records the
manager's create (`Action.manager_pending`), and `apply_waves` orders the writes so that
every create or update runs in a wave after its manager's create. A cycle among new users
(A manages B, B manages A) cannot be ordered: one member of each cycle is created without
its manager and gets it by one PUT afterwards (`Action.manager_followup`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from msgspec.structs import replace

from target_jumpcloud.model import (
    Action,
    ActionKind,
    DesiredUser,
    DirectoryUser,
    Outcome,
    RecordResult,
    RejectedRecord,
)
from target_jumpcloud.settings.mapping_table import EMPLOYEE_ID, MANAGER

if TYPE_CHECKING:
    from collections.abc import Sequence

    from target_jumpcloud.sync.directory import Directory

Change = tuple[str | None, str | None]

_MISSING = re.compile(r"manager (?P<id>.+?) not found: ")


def missing_manager_warning(profile_id: str, why: str) -> str:
    """The warning on a record whose manager has no JumpCloud user (`missing_manager_id`)."""
    return f"manager {profile_id} not found: {why}; manager left as it is"


def missing_manager_id(warning: str) -> str | None:
    """The manager's profile id named by a `missing_manager_warning`, else None."""
    match = _MISSING.match(warning)
    return match["id"] if match else None


NOT_IN_JUMPCLOUD = "no JumpCloud user has this profile id and this run creates none"
NOT_CREATED = "its create did not succeed"


def self_manager_warning(profile_id: str) -> str:
    """The warning on a worker named as their own manager."""
    return f"named as their own manager ({profile_id}); manager left as it is"


@dataclass(frozen=True)
class _Target:
    """The manager's JumpCloud user: an existing one (`user_id`) or one this run creates."""

    user_id: str | None
    username: str | None
    create: Action | None = None


class _Links:
    """Who holds each profile id once this run's writes are made."""

    def __init__(self, directory: Directory, actions: Sequence[Action]) -> None:
        self.directory = directory
        self.created: dict[str, Action] = {}
        self.adopted: dict[str, DirectoryUser] = {}  # profile id → the user that takes it
        self.moved: set[str] = set()  # users whose employeeIdentifier this run changes
        for action in actions:
            profile_id = action.desired.profile_id
            if action.kind is ActionKind.CREATE:
                self.created[profile_id] = action
            elif EMPLOYEE_ID in action.payload and action.user_id is not None:
                user = directory.get(action.user_id)
                if user is not None:
                    self.adopted[profile_id] = user
                    self.moved.add(user.id)

    def resolve(self, profile_id: str) -> _Target | str:
        """The manager's user, or why there is none (a warning's reason)."""
        create = self.created.get(profile_id)
        if create is not None:
            return _Target(None, create.username, create)
        adopted = self.adopted.get(profile_id)
        if adopted is not None:
            return _Target(adopted.id, adopted.username)
        holders = [u for u in self.directory.linked_users(profile_id) if u.id not in self.moved]
        if len(holders) == 1:
            return _Target(holders[0].id, holders[0].username)
        if holders:
            return f"{len(holders)} JumpCloud users have this profile id"
        return NOT_IN_JUMPCLOUD


class _Linker:
    """One pass over the plan: set or change each record's manager."""

    def __init__(
        self, directory: Directory, actions: Sequence[Action], *, update_too: bool
    ) -> None:
        self.directory = directory
        self.links = _Links(directory, actions)
        self.update_too = (
            update_too  # False when `manager` is create-only (docs/directory-attributes.md)
        )

    def username_of(self, user_id: str | None) -> str | None:
        """How the report names a manager: the username (the id if the user is not known)."""
        if user_id is None:
            return None
        user = self.directory.get(user_id)
        return user.username if user is not None else user_id

    def target(self, desired: DesiredUser) -> tuple[_Target | None, str | None]:
        """The manager to link, or the warning that explains why none is."""
        profile_id = desired.manager
        if profile_id is None:
            return None, None
        if profile_id == desired.profile_id:
            return None, self_manager_warning(profile_id)
        found = self.links.resolve(profile_id)
        if isinstance(found, str):
            return None, missing_manager_warning(profile_id, found)
        return found, None

    def link_create(self, action: Action) -> None:
        found, warning = self.target(action.desired)
        if warning is not None:
            action.desired = _warned(action.desired, warning)
        if found is None:
            return
        if found.create is not None:
            action.manager_pending = found.create.desired.position
        else:
            action.payload[MANAGER] = found.user_id

    def change(
        self, desired: DesiredUser, user: DirectoryUser
    ) -> tuple[_Target | None, str | None]:
        """The new manager of an existing user, if it changes, and any warning."""
        if not self.update_too:
            return None, None
        found, warning = self.target(desired)
        if found is None or (found.user_id is not None and found.user_id == user.manager):
            return None, warning
        if found.user_id == user.id:  # (distinct profile ids never share a user)
            return None, self_manager_warning(desired.profile_id)
        return found, warning

    def link_update(self, action: Action) -> None:
        user = self.directory.get(action.user_id or "")
        if user is None:
            return
        found, warning = self.change(action.desired, user)
        if warning is not None:
            action.desired = _warned(action.desired, warning)
        if found is not None:
            _set_manager(action, found, self.username_of(user.manager))

    def link_unchanged(self, result: RecordResult, desired: DesiredUser) -> Action | None:
        """An unchanged record whose manager changes becomes an update (else None)."""
        user = self.directory.get(result.jumpcloud_id or "")
        if user is None:
            return None
        found, warning = self.change(desired, user)
        if warning is not None:
            result.warnings = (*result.warnings, warning)
        if found is None:
            return None
        action = Action(
            kind=ActionKind.UPDATE,
            desired=replace(desired, warnings=result.warnings),
            payload={},
            user_id=user.id,
            username=user.username,
            outcome=Outcome.UPDATED,
            reason=result.reason,
            schedule=result.schedule,  # its kept jobs stay in its report line
        )
        _set_manager(action, found, self.username_of(user.manager))
        return action


def _warned(desired: DesiredUser, warning: str) -> DesiredUser:
    return replace(desired, warnings=(*desired.warnings, warning))


def _set_manager(action: Action, found: _Target, old: str | None) -> None:
    action.changes[MANAGER] = (old, found.username)
    if found.create is not None:
        action.manager_pending = found.create.desired.position
    else:
        action.payload[MANAGER] = found.user_id


def link_managers(
    actions: list[Action],
    results: list[RecordResult],
    records: Sequence[DesiredUser | RejectedRecord],
    directory: Directory,
    *,
    create_only: bool = False,
) -> tuple[list[Action], list[RecordResult]]:
    """Set each planned record's manager; returns the new actions and results.

    Actions gain `manager` in their payload (an existing manager) or `manager_pending` (one
    this run creates) and, for updates, a `manager` change (old → new username). An
    unchanged record whose manager changes becomes an update. Both lists stay in stream
    order. `create_only`: `manager` is sent when a user is created, never updated.
    """
    if not any(isinstance(r, DesiredUser) and r.manager is not None for r in records):
        return actions, results
    linker = _Linker(directory, actions, update_too=not create_only)
    for action in actions:
        if action.desired.manager is None:
            continue
        if action.kind is ActionKind.CREATE:
            linker.link_create(action)
        else:
            linker.link_update(action)
    by_position = {r.position: r for r in records if isinstance(r, DesiredUser)}
    converted: list[Action] = []
    kept: list[RecordResult] = []
    for result in results:
        desired = by_position.get(result.position)
        if (
            result.outcome is Outcome.UNCHANGED
            and result.jumpcloud_id is not None
            and desired is not None
            and desired.manager is not None
        ):
            update = linker.link_unchanged(result, desired)
            if update is not None:
                converted.append(update)
                continue
        kept.append(result)
    if converted:
        actions = sorted([*actions, *converted], key=lambda a: a.desired.position)
    break_cycles(actions)
    return actions, kept


def break_cycles(actions: Sequence[Action]) -> int:
    """Mark one create of each cycle of new users as `manager_followup`; returns the count.

    The creates form a graph of at most one edge each (to the manager's create), so every
    cycle is found by walking from each create once. The member first in the stream is
    created without its manager; the others then follow it in manager order.
    """
    creates = _creates_by_position(actions)
    state: dict[int, int] = {}  # position → 1 on the current walk, 2 done
    cycles = 0
    for start in creates:
        walk: list[int] = []
        position: int | None = start
        while position is not None and position in creates and position not in state:
            state[position] = 1
            walk.append(position)
            action = creates[position]
            position = None if action.manager_followup else action.manager_pending
        if position is not None and state.get(position) == 1:
            cycle = walk[walk.index(position) :]
            creates[min(cycle)].manager_followup = True
            cycles += 1
        for seen in walk:
            state[seen] = 2
    return cycles


def _creates_by_position(actions: Sequence[Action]) -> dict[int, Action]:
    return {a.desired.position: a for a in actions if a.kind is ActionKind.CREATE}


def apply_waves(actions: Sequence[Action]) -> tuple[list[list[int]], list[int]]:
    """The order of the writes: waves of action indexes, then the follow-up PUTs.

    An action that waits for a manager's create (`manager_pending`, not a follow-up) is in
    a wave after that create's, so no write ever needs an `_id` that is not known yet; all
    other actions are in wave 0. The actions of one wave are independent of each other and
    may run concurrently. The follow-ups (indexes of creates) are sent after every wave.
    """
    index_of = {a.desired.position: i for i, a in enumerate(actions) if a.kind is ActionKind.CREATE}
    depth: list[int | None] = [None] * len(actions)
    for start in range(len(actions)):
        walk: list[int] = []
        on_walk: set[int] = set()
        index = start
        while depth[index] is None:
            action = actions[index]
            pending = action.manager_pending
            if pending is None or action.manager_followup or pending not in index_of:
                depth[index] = 0
                break
            walk.append(index)
            on_walk.add(index)
            index = index_of[pending]
            if index in on_walk:
                raise ValueError("a cycle of managers among new users was not broken")
        level = depth[index] or 0
        for waiting in reversed(walk):
            level += 1
            depth[waiting] = level
    waves: list[list[int]] = [[] for _ in range(max((d or 0 for d in depth), default=-1) + 1)]
    for index, found in enumerate(depth):
        waves[found or 0].append(index)
    followups = [i for i, a in enumerate(actions) if a.manager_followup]
    return waves, followups
