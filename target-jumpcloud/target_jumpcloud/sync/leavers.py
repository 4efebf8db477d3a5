"""Leavers (docs/leavers.md): accounts a complete listing no longer backs, and leaver steps.

Pure rules over the values the planner has: which users the input carries, what a missed
run means for a user, which leaver steps have work to do, and the bookkeeping the sync keeps
in each user's custom attributes:

- `deelSyncMissing`: how many complete listings in a row missed the user (removed once a
  record carries the user again);
- `deelSyncLeaver`: the UTC date the user's leaver steps completed (so they run once;
  removed once the user is no longer suspended);
- the group ledger (docs/groups.md, `sync/groups.py`): the ids of the groups the sync made
  the user a member of, the only ones `remove_groups` leaves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from target_jumpcloud.model import DesiredUser, OutOfScopeAction
from target_jumpcloud.settings.leavers import LeaverStep, OutOfScopeMode
from target_jumpcloud.settings.mapping_table import CUSTOM_PREFIX
from target_jumpcloud.sync import custom_attributes as custom
from target_jumpcloud.sync.groups import ledger_of

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from target_jumpcloud.model import DirectoryUser, RejectedRecord
    from target_jumpcloud.sync.groups import GroupSnapshot

MISSING_ATTRIBUTE: Final = "deelSyncMissing"
LEAVER_ATTRIBUTE: Final = "deelSyncLeaver"

#: The custom attributes the leaver rules read (and the group ledger): the directory is read
#: with them.
BOOKKEEPING_ATTRIBUTES: Final = (MISSING_ATTRIBUTE, LEAVER_ATTRIBUTE)


def bookkeeping_keys(ledger_attribute: str) -> dict[str, str]:
    """Mapping keys that make the directory read the bookkeeping attributes (every user's list)."""
    return {CUSTOM_PREFIX + name: "" for name in (*BOOKKEEPING_ATTRIBUTES, ledger_attribute)}


def out_of_scope_reason(missed_runs: int) -> str:
    """The reason on a user suspended because the complete listings missed it."""
    return f"not in Deel's complete listing for {missed_runs} runs"


class Carried:
    """What the records of an input name: their profile ids and their work emails.

    A user is carried when any record names its employeeIdentifier or its email, whatever
    became of that record (skipped, superseded, refused by validation, in conflict): only a
    user that no line of the listing mentions at all can be out of scope. So a record that
    cannot be applied never makes its account look deleted in Deel.
    """

    def __init__(self, records: Iterable[DesiredUser | RejectedRecord]) -> None:
        self.profile_ids: set[str] = set()
        self.emails: set[str] = set()
        for record in records:
            if record.profile_id:
                self.profile_ids.add(record.profile_id.strip())
            email = record.email
            if email:
                self.emails.add(email.strip().casefold())

    def carries(self, user: DirectoryUser) -> bool:
        """Whether some record names this user's profile id or email."""
        linked = user.employee_identifier
        if linked is not None and linked in self.profile_ids:
            return True
        return bool(user.email) and user.email.casefold() in self.emails


def custom_list(user: DirectoryUser) -> tuple[Any, ...]:
    """The user's custom attribute list as read (empty when it was not read)."""
    return user.custom_attributes or ()


def missed_runs(items: Sequence[Any]) -> int:
    """The count in `deelSyncMissing`: a whole number >= 0 (anything else counts as 0)."""
    text = custom.current_text(items, MISSING_ATTRIBUTE)
    return int(text) if text is not None and text.isdigit() else 0


def has_leaver_record(items: Sequence[Any]) -> bool:
    """Whether the user's leaver steps completed (a `deelSyncLeaver` value is set)."""
    return custom.current_text(items, LEAVER_ATTRIBUTE) is not None


def groups_to_leave(
    user: DirectoryUser, attribute: str, groups: GroupSnapshot | None
) -> tuple[str, ...]:
    """The ledger's groups `remove_groups` leaves: the ones the user is still a member of.

    With the groups read (`groups`), a group gone from JumpCloud, a dynamic one (JumpCloud's
    to decide) or one the user was taken out of by hand needs no request; without them,
    every ledger group is tried (a group gone answers 404: done).
    """
    ledger = ledger_of(user, attribute)
    if groups is None:
        return ledger
    kept = []
    for group_id in ledger:
        group = groups.by_id(group_id)
        if group is None or group.dynamic:
            continue
        members = groups.members_of(group_id)
        if members is None or user.id in members:
            kept.append(group_id)
    return tuple(kept)


def steps_with_work(steps: Sequence[LeaverStep], ledger: Sequence[str]) -> tuple[str, ...]:
    """The configured steps that have something to do for this user, in order.

    `remove_groups` has nothing to do for an empty ledger (the sync added the user to no
    group); the other steps always act. No step, no request and no record.
    """
    return tuple(
        step.value for step in steps if step is not LeaverStep.REMOVE_GROUPS or len(ledger) > 0
    )


def out_of_scope_action(
    missed: int, *, mode: OutOfScopeMode, after: int, protected: bool
) -> OutOfScopeAction:
    """What this run does with a user missed by `missed` complete listings in a row.

    `report` writes nothing; `suspend` counts and suspends once the count reaches
    `out_of_scope_after`; a protected user is never suspended this way (and not counted).
    """
    if mode is OutOfScopeMode.REPORT:
        return OutOfScopeAction.REPORTED
    if protected:
        return OutOfScopeAction.PROTECTED
    if missed >= after:
        return OutOfScopeAction.SUSPENDED
    return OutOfScopeAction.COUNTED


def without(items: Sequence[Any], names: Iterable[str]) -> list[Any] | None:
    """The custom attribute list without the items named (ignoring case); None: none there.

    Every other item stays exactly as read, in its place (JumpCloud replaces the whole list).
    """
    dropped = {name.casefold() for name in names}
    kept = [
        item
        for item in items
        if not (
            isinstance(item, dict)
            and isinstance(item.get("name"), str)
            and item["name"].casefold() in dropped
        )
    ]
    return kept if len(kept) < len(items) else None


def with_value(items: Sequence[Any], name: str, value: str) -> list[Any]:
    """The custom attribute list with `name` set to `value` (merge-safe, see `merge`)."""
    merged, _ = custom.merge({name: value}, items)
    return merged if merged is not None else list(items)
