"""Apply the group memberships of a plan (docs/groups.md), around the users' own writes.

The order keeps the ledger true through any fault or kill, so a run always converges:

1. `before_users`: every group the plan creates is created, once each (a lost answer is
   looked up by name before re-sending: never a duplicate), then every removal is sent.
   The ledgers are then finished: a created group's id joins the ledger of its members; a
   removal that failed stays in it (the next run retries it). A removal that went through
   before a kill is harmless: the ledger still names the group, and the next run, finding the
   user out of it, just drops it from the ledger.
2. the users' creates and updates carry the ledger (`apply/users.py`);
3. `after_users`: every add, for the users whose create or update went through (a user whose
   create failed gets none). The ledger already names the group: a kill before the add
   leaves the user out of a group the ledger names, and the next run adds them.

A record whose membership writes did not all go through ends as `failed`, naming the group.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from msgspec.structs import replace

from target_jumpcloud.apply.partial import failed_after_write
from target_jumpcloud.jumpcloud.errors import AuthenticationError, JumpCloudError
from target_jumpcloud.model import GroupChange, GroupLine, Outcome
from target_jumpcloud.sync import custom_attributes as custom
from target_jumpcloud.sync.groups import group_key, names_to_create, with_ledger

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable, Sequence

    from target_jumpcloud.jumpcloud.client import JumpCloudClient
    from target_jumpcloud.model import Action, RecordResult

logger = logging.getLogger("target-jumpcloud.applier")

_NOT_WRITTEN = (Outcome.FAILED, Outcome.CONFLICT, Outcome.SKIPPED)


class GroupApply:
    """The group writes of one `apply_plan`, before and after the users' writes."""

    def __init__(
        self,
        actions: Sequence[Action],
        client: JumpCloudClient,
        *,
        ledger_attribute: str,
        stop: threading.Event,
        concurrency: int = 4,
    ) -> None:
        self.actions = actions
        self.client = client
        self.ledger_attribute = ledger_attribute
        self.stop = stop
        self.concurrency = max(1, concurrency)
        self.created: dict[str, str] = {}  # group key → id of a group this run created
        self.errors: dict[int, list[str]] = {}  # action index → what failed
        self._halt_reason: str | None = None

    @staticmethod
    def needed(actions: Sequence[Action]) -> bool:
        """Whether any action has a group line that writes."""
        return any(
            line.change in {GroupChange.ADDED, GroupChange.REMOVED}
            for action in actions
            for line in action.groups
        )

    def _write(self, what: str, call: Callable[[], object]) -> str | None:
        """One group request; the error text, or None when it went through."""
        if self.stop.is_set():
            return f"{what}: not applied: {self._halt_reason or 'the run was interrupted'}"
        try:
            call()
        except AuthenticationError as exc:
            self._halt_reason = f"JumpCloud refused the credentials ({exc})"
            self.stop.set()
            return f"{what}: {exc}"
        except JumpCloudError as exc:
            return f"{what} failed ({exc})"
        return None

    def _create(self, name: str) -> tuple[str, str | None, str | None]:
        found: list[str] = []
        error = self._write(
            f"creating group {name!r}", lambda: found.append(self.client.create_group(name).id)
        )
        return name, (found[0] if found else None), error

    def before_users(self) -> None:
        """Create the missing groups, send the removals, then finish each ledger to send."""
        names = names_to_create(line for action in self.actions for line in action.groups)
        removals = [
            (index, line)
            for index, action in enumerate(self.actions)
            for line in action.groups
            if line.change is GroupChange.REMOVED and line.id is not None and action.user_id
        ]
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="groups") as pool:
            create_errors: dict[str, str] = {}
            for name, group_id, error in pool.map(self._create, names):
                if group_id is not None:
                    self.created[group_key(name)] = group_id
                    logger.info("Created JumpCloud group %r (%s)", name, group_id)
                if error is not None:
                    create_errors[group_key(name)] = error
            answers = pool.map(lambda item: self._remove(self.actions[item[0]], item[1]), removals)
            failed_removals: dict[int, set[str]] = {}
            for (index, line), error in zip(removals, answers, strict=True):
                if error is not None:
                    self.errors.setdefault(index, []).append(error)
                    failed_removals.setdefault(index, set()).add(line.id or "")
        for index, action in enumerate(self.actions):
            if not action.groups:
                continue
            lines = []
            for line in action.groups:
                key = group_key(line.group)
                if line.id is None and line.change is GroupChange.ADDED:
                    if key in self.created:
                        line = GroupLine(line.group, self.created[key], line.change)  # noqa: PLW2901
                    elif key in create_errors:
                        self.errors.setdefault(index, []).append(create_errors[key])
                lines.append(line)
            action.groups = tuple(lines)
            if action.ledger_after is None:
                continue
            ids = {
                *action.ledger_after,
                *(
                    line.id
                    for line in lines
                    if line.change is GroupChange.ADDED and line.id is not None
                ),
                *failed_removals.get(index, ()),
            }
            action.ledger_after = tuple(sorted(ids))
            items = action.payload.get(custom.LIST_FIELD)
            action.payload[custom.LIST_FIELD] = with_ledger(
                items if isinstance(items, list) else [], self.ledger_attribute, ids
            )

    def _remove(self, action: Action, line: GroupLine) -> str | None:
        user_id, group_id = action.user_id or "", line.id or ""
        return self._write(
            f"removing from group {line.group!r}",
            lambda: self.client.remove_group_member(group_id, user_id),
        )

    def after_users(self, results: Sequence[RecordResult]) -> list[RecordResult]:
        """Send the adds of the users whose own write went through; the results updated.

        `results[i]` is the result of `actions[i]`'s own write.
        """
        out = list(results)
        adds: list[tuple[int, str, GroupLine]] = []
        for index, (action, result) in enumerate(zip(self.actions, results, strict=True)):
            wanted = [
                line
                for line in action.groups
                if line.change is GroupChange.ADDED and line.id is not None
            ]
            if not action.groups:
                continue
            if result.outcome in _NOT_WRITTEN or not result.jumpcloud_id:
                out[index] = replace(result, groups=action.groups)
                continue
            adds.extend((index, result.jumpcloud_id, line) for line in wanted)
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="groups") as pool:
            answers = pool.map(
                lambda item: self._write(
                    f"adding to group {item[2].group!r}",
                    lambda: self.client.add_group_member(item[2].id or "", item[1]),
                ),
                adds,
            )
            for (index, _, _), error in zip(adds, answers, strict=True):
                if error is not None:
                    self.errors.setdefault(index, []).append(error)
        for index, action in enumerate(self.actions):
            if not action.groups or out[index].outcome in _NOT_WRITTEN:
                continue
            result = replace(out[index], groups=action.groups, groups_change=action.groups_change)
            if index in self.errors:
                result = failed_after_write(
                    result, self.errors[index], "the next run tries the groups again"
                )
            out[index] = result
        return out
