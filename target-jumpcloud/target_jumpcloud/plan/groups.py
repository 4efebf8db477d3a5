"""Fold group memberships into a plan (docs/groups.md): a pure pass after the users are planned.

Who gets groups: every active worker whose user exists or is created in the run, STAGED ones
included (so access is ready on day one; the state still gates it). A user the run suspends,
or finds suspended, gets none here (the leaver steps deal with their groups).

Per record, `decide_groups` gives the lines; this pass puts them on the record's action:

* the ledger rides in the user's own create or PUT (the `attributes` list, merged so every
  other custom attribute is sent back as it was); a record with nothing else to write gets
  a PUT of that list alone, and is `updated`;
* a record whose only writes are memberships (the ledger unchanged) becomes a `GROUPS`
  action: no write to the user, `updated`;
* a record with nothing to write keeps its outcome, and its lines (`kept`, `missing`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from msgspec.structs import replace

from target_jumpcloud.model import (
    Action,
    ActionKind,
    DesiredUser,
    GroupChange,
    Outcome,
    RecordResult,
    UserState,
)
from target_jumpcloud.sync import custom_attributes as custom
from target_jumpcloud.sync.groups import (
    GroupDecision,
    GroupSnapshot,
    decide_groups,
    ledger_raw,
    namer_for,
    names_to_create,
    removals_by_group,
    with_ledger,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from target_jumpcloud.model import DirectoryUser, RejectedRecord
    from target_jumpcloud.settings.groups import GroupSettings
    from target_jumpcloud.sync.directory import Directory

_NO_GROUPS_KINDS = frozenset({ActionKind.SUSPEND})


@dataclass(frozen=True)
class GroupRemoval:
    """How many members the plan removes from one group, of how many it has now."""

    group: str
    id: str
    removed: int
    members: int


class _GroupPass:
    def __init__(
        self, directory: Directory, snapshot: GroupSnapshot, settings: GroupSettings
    ) -> None:
        self.directory = directory
        self.snapshot = snapshot
        self.settings = settings
        self.names = namer_for(settings.rules)
        # (names, ledger text) → the groups' ids and the decision of a user in all of them,
        # each in the ledger: nothing to do. Most users of a directory in step are such.
        self._in_step: dict[tuple[tuple[str, ...], str], tuple[list[frozenset[str]], GroupDecision]]
        self._in_step = {}

    def decide(self, desired: DesiredUser, user: DirectoryUser | None) -> GroupDecision:
        """The group decision for a worker whose user (None: created by this run) gets groups."""
        names, warnings = self.names(desired)
        attribute = self.settings.ledger_attribute
        ledger = ledger_raw(user, attribute) if user is not None else None
        if not names and not ledger:
            return GroupDecision(warnings=warnings)
        if user is not None and ledger is not None:
            known = self._in_step.get((names, ledger))
            if known is not None and all(user.id in members for members in known[0]):
                return known[1]
        decision = decide_groups(
            names,
            ledger,
            user.id if user is not None else None,
            self.snapshot,
            create_missing=self.settings.create_missing,
            attribute=attribute,
        )
        if user is not None and ledger is not None and not warnings:
            self._remember(names, ledger, decision)
        if warnings:
            decision = GroupDecision(
                lines=decision.lines,
                ledger_before=decision.ledger_before,
                ledger_after=decision.ledger_after,
                warnings=(*warnings, *decision.warnings),
                ledger_changes=decision.ledger_changes,
                change=decision.change,
            )
        return decision

    def _remember(self, names: tuple[str, ...], ledger: str, decision: GroupDecision) -> None:
        """Keep a decision that does nothing, for the next user with these names and ledger."""
        lines = decision.lines
        ids = [line.id for line in lines]
        if (
            decision.warnings
            or decision.ledger_changes
            or decision.change is not None
            or any(line.change is not GroupChange.KEPT for line in lines)
            or tuple(sorted(i for i in ids if i)) != decision.ledger_before
        ):
            return
        members = [self.snapshot.members_of(i) for i in ids if i]
        if all(m is not None for m in members):
            self._in_step[(names, ledger)] = ([m for m in members if m is not None], decision)

    def ledger_list(
        self, payload_list: object, user: DirectoryUser | None, ids: Sequence[str]
    ) -> list[object]:
        """The custom attribute list to send: the planned one (or the user's) with the ledger."""
        if isinstance(payload_list, list):
            base: Sequence[object] = payload_list
        elif user is not None:
            if user.custom_attributes is None:  # never guess a list that PUT would replace
                raise ValueError(
                    "internal error: groups are on but the directory was read without the "
                    "`attributes` field"
                )
            base = user.custom_attributes
        else:
            base = ()
        return with_ledger(base, self.settings.ledger_attribute, ids)

    def on_action(self, action: Action) -> Action:
        if action.kind in _NO_GROUPS_KINDS:
            return action
        user = self.directory.get(action.user_id) if action.user_id else None
        if (
            user is not None
            and user.state is UserState.SUSPENDED
            and action.kind is not ActionKind.REACTIVATE
        ):
            return action
        decision = self.decide(action.desired, None if action.kind is ActionKind.CREATE else user)
        desired = _warned(action.desired, decision)
        action = replace(action, desired=desired) if desired is not action.desired else action
        if not decision.lines and not decision.ledger_changes:
            return action
        action.groups = decision.lines
        action.groups_change = decision.change
        action.ledger_attribute = self.settings.ledger_attribute
        if decision.ledger_changes:
            action.ledger_after = decision.ledger_after
            action.payload[custom.LIST_FIELD] = self.ledger_list(
                action.payload.get(custom.LIST_FIELD), user, decision.ledger_after
            )
            if action.kind in {ActionKind.SCHEDULE, ActionKind.GROUPS}:
                action.kind, action.outcome = ActionKind.UPDATE, Outcome.UPDATED
        elif action.kind is ActionKind.SCHEDULE and decision.writes_members:
            action.kind, action.outcome = ActionKind.GROUPS, Outcome.UPDATED
        return action

    def on_result(self, result: RecordResult, desired: DesiredUser) -> Action | RecordResult:
        if result.outcome is not Outcome.UNCHANGED or result.jumpcloud_id is None:
            return result
        user = self.directory.get(result.jumpcloud_id)
        if user is None or user.state is UserState.SUSPENDED:
            return result
        decision = self.decide(desired, user)
        warned = _warned(desired, decision)
        if warned is not desired:
            result.warnings = warned.warnings
        if decision.ledger_changes or decision.writes_members:
            payload: dict[str, object] = {}
            kind = ActionKind.GROUPS
            if decision.ledger_changes:
                kind = ActionKind.UPDATE
                payload[custom.LIST_FIELD] = self.ledger_list(None, user, decision.ledger_after)
            return Action(
                kind=kind,
                desired=warned,
                payload=payload,
                user_id=user.id,
                username=user.username,
                outcome=Outcome.UPDATED,
                reason=result.reason,
                schedule=result.schedule,
                groups=decision.lines,
                ledger_after=decision.ledger_after if decision.ledger_changes else None,
                groups_change=decision.change,
                ledger_attribute=self.settings.ledger_attribute,
            )
        result.groups = decision.lines
        return result


def _warned(desired: DesiredUser, decision: GroupDecision) -> DesiredUser:
    if not decision.warnings:
        return desired
    return replace(desired, warnings=(*desired.warnings, *decision.warnings))


def plan_groups(  # noqa: PLR0917 - the plan's parts and what it is made from
    actions: list[Action],
    results: list[RecordResult],
    records: Sequence[DesiredUser | RejectedRecord],
    directory: Directory,
    snapshot: GroupSnapshot,
    settings: GroupSettings,
) -> tuple[list[Action], list[RecordResult], tuple[GroupRemoval, ...]]:
    """The plan's actions and results with every record's groups; and the removals by group."""
    groups = _GroupPass(directory, snapshot, settings)
    planned = [groups.on_action(action) for action in actions]
    by_position = {r.position: r for r in records if isinstance(r, DesiredUser)}
    kept: list[RecordResult] = []
    converted: list[Action] = []
    for result in results:
        desired = by_position.get(result.position)
        outcome = groups.on_result(result, desired) if desired is not None else result
        if isinstance(outcome, Action):
            converted.append(outcome)
        else:
            kept.append(outcome)
    if converted:
        planned = sorted([*planned, *converted], key=lambda a: a.desired.position)
    return planned, kept, group_removals(planned, snapshot)


def group_removals(actions: Sequence[Action], snapshot: GroupSnapshot) -> tuple[GroupRemoval, ...]:
    """The removals the actions make, by group (largest share first).

    A suspension's removals (the leaver step `remove_groups`) are not counted: the suspension
    guard decides whether a suspension may run, and its removals follow it.
    """
    counts = removals_by_group(
        line
        for action in actions
        if action.kind is not ActionKind.SUSPEND
        for line in action.groups
    )
    removals = []
    for group_id, removed in counts.items():
        group = snapshot.by_id(group_id)
        members = snapshot.members_of(group_id)
        removals.append(
            GroupRemoval(
                group=group.name if group else group_id,
                id=group_id,
                removed=removed,
                members=len(members) if members is not None else removed,
            )
        )
    removals.sort(key=lambda r: (-r.removed / max(1, r.members), r.group))
    return tuple(removals)


def groups_summary(actions: Sequence[Action]) -> str:
    """One log line on the plan's memberships: adds, removals, groups to create."""
    lines = [line for action in actions for line in action.groups]
    added = sum(1 for line in lines if line.change is GroupChange.ADDED)
    removed = sum(1 for line in lines if line.change is GroupChange.REMOVED)
    created = names_to_create(lines)
    shown = ", ".join(repr(name) for name in created[:5])
    more = f" and {len(created) - 5} more" if len(created) > 5 else ""  # noqa: PLR2004
    return (
        f"Group memberships: {added} to add, {removed} to remove; "
        f"{len(created)} group(s) to create{': ' + shown + more if created else ''}"
    )
