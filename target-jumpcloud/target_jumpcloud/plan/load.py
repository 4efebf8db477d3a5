"""The plan an apply run executes: the loaded actions as typed values, and `load_plan`.

`load_plan` refuses, with one line, a file that is not a plan, one whose actions no longer
hash to its `plan_id` (edited), one that is not the pinned `apply_plan_id`, and one older
than `plan_max_age_hours`. Pure: "now" is an argument.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import msgspec

from target_jumpcloud.model import (
    Action,
    ActionKind,
    DesiredUser,
    Outcome,
    UserState,
)
from target_jumpcloud.settings.mapping_table import (
    CUSTOM_FIELD,
    CUSTOM_PREFIX,
    MANAGER,
    STATE_KEY,
)
from target_jumpcloud.settings.sync_settings import (
    parse_plan_max_age_hours,
)
from target_jumpcloud.sync import custom_attributes as custom
from target_jumpcloud.sync.leavers import without
from target_jumpcloud.sync.schedules import JobChange, JobPlan

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable, Mapping, Sequence

from target_jumpcloud.plan.document import canonical_actions, schedule_line_from_entry
from target_jumpcloud.plan.group_file import WRITES as GROUP_WRITES
from target_jumpcloud.plan.group_file import PlannedGroups, groups_from_document
from target_jumpcloud.plan.parse import read_plan_document
from target_jumpcloud.plan.schema import (
    CLOCK_SKEW,
    CUSTOM_PREFIX_LENGTH,
    OUTCOME_OF,
    PlanFileError,
    PlanFormatError,
)
from target_jumpcloud.sync.groups import with_ledger

# -- the loaded plan --------------------------------------------------------------------------


class AttributeChange(msgspec.Struct, frozen=True, gc=False):
    """One attribute an action writes: its value in JumpCloud when planned, and the new one."""

    before: str | None
    after: str | None


class ManagerChange(msgspec.Struct, frozen=True, gc=False):
    """The manager an action sets: JumpCloud `_id`s, or the profile id of a create of the plan."""

    before: str | None
    after: str | None
    before_username: str | None
    after_username: str | None
    after_deel_id: str | None = None  # a manager this plan creates (then `after` is None)


class StateChange(msgspec.Struct, frozen=True, gc=False):
    """The state an action sets; `before` is None for a create."""

    before: UserState | None
    after: UserState


class PlannedAction(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """An action of a loaded plan file: what was reviewed, and how to turn it into an `Action`.

    `position` is the action's index in the plan's canonical order (the apply run has no
    worker stream, so this is the order of its report). msgspec Structs, like the model's:
    a plan of 100,000 creates holds 1.2 million attribute changes, and frozen dataclasses
    took 2.4 s of the load to build them (measured).
    """

    position: int
    kind: ActionKind
    deel_id: str
    jumpcloud_id: str | None
    username: str
    email: str
    attributes: dict[str, AttributeChange]
    state: StateChange | None
    reason: str | None
    warnings: tuple[str, ...] = ()
    first_name: str | None = None
    last_name: str | None = None
    schedule: tuple[JobPlan, ...] = ()  # docs/effective-dates.md: the reviewed job lines
    manager: ManagerChange | None = None
    groups: PlannedGroups | None = None  # docs/groups.md: the reviewed membership lines
    leaver_steps: tuple[str, ...] = ()  # docs/leavers.md: run once the write succeeded

    @property
    def outcome(self) -> Outcome:
        """The outcome when the write succeeds."""
        return OUTCOME_OF[self.kind]

    @classmethod
    def from_document(cls, position: int, document: Mapping[str, Any]) -> PlannedAction:
        """Read one (already validated) action of a plan file."""
        state = document["state"]
        names = document.get("name_parts") or {}
        manager = document.get("manager")
        return cls(
            position=position,
            kind=ActionKind(document["kind"]),
            deel_id=document["deel_id"],
            jumpcloud_id=document["jumpcloud_id"],
            username=document["username"],
            email=document["email"],
            attributes={
                name: AttributeChange(change["before"], change["after"])
                for name, change in document["attributes"].items()
            },
            state=(
                None
                if state is None
                else StateChange(
                    UserState(state["before"]) if state["before"] else None,
                    UserState(state["after"]),
                )
            ),
            reason=document["reason"],
            warnings=tuple(document["warnings"]),
            first_name=names.get("first"),
            last_name=names.get("last"),
            schedule=tuple(
                schedule_line_from_entry(entry) for entry in document.get("schedule") or ()
            ),
            groups=groups_from_document(document.get("groups")),
            manager=(
                None
                if manager is None
                else ManagerChange(
                    manager["before"],
                    manager["after"],
                    manager["before_username"],
                    manager["after_username"],
                    manager.get("after_deel_id"),
                )
            ),
            leaver_steps=tuple(document.get("leaver_steps") or ()),
        )

    def to_action(
        self,
        attributes: Iterable[str] | None = None,
        *,
        with_state: bool = True,
        reason: str | None = None,
        schedule: tuple[JobPlan, ...] | None = None,
        manager: ManagerWrite | None = None,
        custom_list: Sequence[Any] | None = None,
        groups: PlannedGroups | None = None,
    ) -> Action:
        """The `Action` the applier runs: the whole action, or only `attributes` (and the state).

        A SUSPEND or REACTIVATE whose state is left out becomes a plain UPDATE; one with
        nothing left to write but jobs (`schedule`, default: every line) a SCHEDULE. `manager` is
        the manager to write (None: none); `custom_list` the user's custom attribute list as
        JumpCloud has it now, which an update that sets an `attributes.<name>` entry sends
        back whole with those set (every other item kept as it is, docs/directory-attributes.md).
        `groups` is what is left of the group entry (default: all of it, docs/groups.md).
        """
        lines = self.schedule if schedule is None else schedule
        planned_groups = self.groups if groups is None else groups
        planned = self.attributes
        names = list(planned) if attributes is None else list(attributes)
        after, customs = _split_custom(planned, names)
        desired = DesiredUser(
            position=self.position,
            profile_id=self.deel_id,
            email=self.email,
            active=self.kind is not ActionKind.SUSPEND,  # (not read by the applier)
            attributes=after,
            first_name=self.first_name,
            last_name=self.last_name,
            warnings=self.warnings,
            manager=self.manager.after_deel_id if self.manager is not None else None,
            custom_attributes=customs or None,
        )
        kind = self.kind
        payload: dict[str, Any]
        changes: dict[str, tuple[str | None, str | None]] = {}
        if kind is ActionKind.CREATE:
            if self.state is None:  # (the schema requires it for a create)
                raise ValueError(f"create for profile id {self.deel_id} has no state")
            payload = {"username": self.username}
            payload.update((name, value) for name, value in after.items() if value is not None)
            items = custom.create_list(customs) if customs else None
            if items:
                payload[CUSTOM_FIELD] = items
            payload["state"] = self.state.after.value
            payload["suspended"] = False
        else:
            changes = {name: (planned[name].before, planned[name].after) for name in names}
            payload = dict(after)
            if customs:
                self._set_custom_list(payload, customs, custom_list)
            if self.state is not None and with_state:
                payload["state"] = self.state.after.value
                payload["suspended"] = self.state.after is UserState.SUSPENDED
                if kind is ActionKind.UPDATE:  # (an activation made at once: shown as a change)
                    before = self.state.before.value if self.state.before else None
                    changes[STATE_KEY] = (before, self.state.after.value)
            elif kind not in {ActionKind.UPDATE, ActionKind.GROUPS}:
                kind = ActionKind.UPDATE
        pending = None
        if manager is not None and self.manager is not None:
            if manager.user_id is not None:
                payload[MANAGER] = manager.user_id
            pending = manager.pending
            if kind is not ActionKind.CREATE:
                change = self.manager  # (as the planner reports it: the `_id` of an unknown user)
                changes[MANAGER] = (
                    change.before_username or change.before,
                    change.after_username or change.after,
                )
        ledger_ids = self._set_ledger(payload, kind, planned_groups, custom_list)
        if kind is not ActionKind.CREATE:
            kind = _write_kind(kind, payload, pending, lines, planned_groups)
        return Action(
            kind=kind,
            desired=desired,
            payload=payload,
            user_id=self.jumpcloud_id,
            username=self.username,
            changes=changes,
            outcome=OUTCOME_OF[kind],
            reason=self.reason if reason is None else reason,
            manager_pending=pending,
            schedule=lines,
            groups=planned_groups.lines if planned_groups is not None else (),
            ledger_after=ledger_ids,
            groups_change=planned_groups.names if planned_groups is not None else None,
            ledger_attribute=planned_groups.attribute if planned_groups is not None else None,
            leaver_steps=self.leaver_steps,
        )

    def _set_ledger(
        self,
        payload: dict[str, Any],
        kind: ActionKind,
        groups: PlannedGroups | None,
        custom_list: Sequence[Any] | None,
    ) -> tuple[str, ...] | None:
        """Put the group ledger into the payload's custom list when it is written (its ids)."""
        ledger_ids = groups.ledger_ids if groups is not None else None
        if groups is None or ledger_ids is None:
            return None
        base = payload.get(CUSTOM_FIELD)
        if base is None and kind is not ActionKind.CREATE:
            if custom_list is None:  # never guess a list that the PUT would replace
                raise ValueError(
                    f"update for profile id {self.deel_id} writes its group ledger "
                    "without the user's current custom attributes"
                )
            base = custom_list
        payload[CUSTOM_FIELD] = with_ledger(base or [], groups.attribute, ledger_ids)
        return ledger_ids

    def _set_custom_list(
        self,
        payload: dict[str, Any],
        customs: Mapping[str, str | None],
        custom_list: Sequence[Any] | None,
    ) -> None:
        """Put the user's whole custom attribute list, with `customs` set, into `payload`."""
        if custom_list is None:  # never guess a list that the PUT would replace
            raise ValueError(
                f"update for profile id {self.deel_id} sets custom attributes "
                "without the user's current list"
            )
        merged, _ = custom.merge(customs, custom_list)
        # An entry whose `after` is null removes the attribute (the leaver bookkeeping,
        # docs/leavers.md); a mapped value is never planned empty.
        removed = [name for name, value in customs.items() if value is None]
        if removed:
            merged = without(merged if merged is not None else custom_list, removed) or merged
        if merged is not None:
            payload[CUSTOM_FIELD] = merged


def _write_kind(
    kind: ActionKind,
    payload: Mapping[str, Any],
    pending: int | None,
    jobs: Sequence[JobPlan],
    groups: PlannedGroups | None,
) -> ActionKind:
    """The kind of an existing user's action by what is left to write.

    Nothing but memberships: GROUPS (docs/groups.md); nothing but jobs: SCHEDULE
    (docs/effective-dates.md); a GROUPS action that writes the user after all: UPDATE.
    """
    if not payload and pending is None:
        if groups is not None and any(line.change in GROUP_WRITES for line in groups.lines):
            return ActionKind.GROUPS
        if any(line.change is not JobChange.KEPT for line in jobs):
            return ActionKind.SCHEDULE
        return kind
    return ActionKind.UPDATE if kind is ActionKind.GROUPS else kind


def _split_custom(
    planned: Mapping[str, AttributeChange], names: Iterable[str]
) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """The `after` values of `names`: plain attributes, and custom ones by their own name."""
    after: dict[str, str | None] = {}
    customs: dict[str, str | None] = {}
    for name in names:  # (1.2 million for 100,000 creates: kept to plain statements)
        if name.startswith(CUSTOM_PREFIX):
            customs[name[CUSTOM_PREFIX_LENGTH:]] = planned[name].after
        else:
            after[name] = planned[name].after
    return after, customs


class ManagerWrite(NamedTuple):
    """The manager an apply writes: a JumpCloud `_id`, or the position of the create to wait for."""

    user_id: str | None
    pending: int | None = None


@dataclass(frozen=True)
class LoadedPlan:
    """A checked plan file, ready for `check_drift` and the applier."""

    path: Path
    plan_id: str
    created_at: datetime
    settings: dict[str, Any]
    counts: dict[str, int]
    matched_users: int
    actions: tuple[PlannedAction, ...]
    records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def has_schedules(self) -> bool:
        """Whether an action changes scheduled jobs (the apply run must read them)."""
        return any(line.change is not JobChange.KEPT for a in self.actions for line in a.schedule)

    def ledger_attributes(self) -> list[str]:
        """The group ledgers the plan writes or checks (the apply run reads them)."""
        return sorted({a.groups.attribute for a in self.actions if a.groups is not None})

    def group_ids(self) -> list[str]:
        """The groups the plan's membership lines name (the apply run reads their members)."""
        return sorted(
            {line.id for a in self.actions if a.groups for line in a.groups.lines if line.id}
        )

    def attribute_names(self) -> list[str]:
        """Every attribute some action writes (`manager` too): the directory is read with these."""
        names = {name for action in self.actions for name in action.attributes}
        if any(action.manager is not None for action in self.actions):
            names.add(MANAGER)
        return sorted(names)

    def model_actions(self) -> list[Action]:
        """Every action as the applier takes it, as planned (before any drift check).

        A manager this plan creates is waited for by its create's position. An update that
        sets custom attributes needs the user's list as JumpCloud has it: `check_drift`
        builds those (here they raise `ValueError`).
        """
        creates = {a.deel_id: a.position for a in self.actions if a.kind is ActionKind.CREATE}
        return [action.to_action(manager=_as_planned(action, creates)) for action in self.actions]


def _as_planned(action: PlannedAction, creates: Mapping[str, int]) -> ManagerWrite | None:
    change = action.manager
    if change is None:
        return None
    if change.after is not None:
        return ManagerWrite(change.after)
    return ManagerWrite(None, creates[change.after_deel_id or ""])


def _created_at(text: str, shown: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise PlanFileError(
            f"apply_plan: {shown}: created_at {text[:40]!r} is not an ISO 8601 time with an offset"
        )
    return moment.astimezone(UTC)


def load_plan(
    path: str | os.PathLike[str],
    *,
    now: datetime,
    apply_plan_id: str | None = None,
    max_age_hours: object = None,
) -> LoadedPlan:
    """Read, check and return the plan file at `path` for an apply run (docs/plan-and-review.md).

    In this order, each refusal one line naming the setting (`PlanFileError`): the file must
    be a plan file whose actions hash to its `plan_id`; `apply_plan_id`, when given, must be
    that `plan_id`; the plan must be at most `max_age_hours` old at `now` (and not from the
    future beyond a few minutes of clock skew). Its scheduled state changes
    (docs/effective-dates.md) are
    checked against the users' jobs by `check_drift`.
    """
    shown = str(path)
    limit_hours = parse_plan_max_age_hours(max_age_hours)
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    try:
        document = read_plan_document(path)
    except PlanFormatError as exc:
        raise PlanFileError(f"apply_plan: {exc}") from None
    plan_id: str = document["plan_id"]
    pin = (apply_plan_id or "").strip()
    if pin and pin.lower() != plan_id:
        raise PlanFileError(
            f"apply_plan_id: {pin[:80]!r} is not the plan_id of {shown} "
            f"({plan_id}): that file is not the approved plan; nothing was written"
        )
    created = _created_at(document["created_at"], shown)
    age = now.astimezone(UTC) - created
    if age > timedelta(hours=limit_hours):
        raise PlanFileError(
            f"apply_plan: the plan in {shown} was made at {document['created_at']}, "
            f"{age.total_seconds() / 3600:.1f} hours ago, more than plan_max_age_hours "
            f"({limit_hours:g}): make and review a new plan"
        )
    if -age > CLOCK_SKEW:
        raise PlanFileError(
            f"apply_plan: the plan in {shown} says it was made at {document['created_at']}, "
            "in the future: check the clocks, then make a new plan"
        )
    actions = tuple(
        PlannedAction.from_document(position, action)
        for position, action in enumerate(canonical_actions(document["actions"]))
    )
    return LoadedPlan(
        path=Path(path),
        plan_id=plan_id,
        created_at=created,
        settings=dict(document["settings"]),
        counts=dict(document["counts"]),
        matched_users=document["guard"]["matched_users"],
        actions=actions,
        records=list(document["records"]),
    )
