"""The value types that flow through the sync: record → desired user → action → outcome.

They carry no behaviour beyond small conveniences, so the pure modules (mapping, usernames,
planner) and the I/O modules (client, applier, report) can agree on them without importing
each other. The ones made once per record are msgspec structs: a frozen dataclass took
2.8 µs to build against 0.2 µs (measured), and a run builds several per worker. They are
untracked by the cyclic collector (`gc=False`): they hold strings, enums, tuples and dicts
of those, so they can be in no reference cycle, and planning 100,000 records spent a
quarter of its time in collections that walked them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import msgspec

#: The reason on a suspended user whose worker is active while reactivation is off
# (docs/sync-rules.md).
REASON_KEPT_SUSPENDED = "suspended in JumpCloud; reactivate_suspended_users is off"


class Outcome(StrEnum):
    """How one input record ended (docs/sync-rules.md). Exactly one per record."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    SUSPENDED = "suspended"
    REACTIVATED = "reactivated"
    SCHEDULED = (
        "scheduled"  # docs/effective-dates.md: the record's only writes are scheduled state changes
    )
    SKIPPED = "skipped"
    CONFLICT = "conflict"
    FAILED = "failed"


class UserState(StrEnum):
    """JumpCloud's user states."""

    STAGED = "STAGED"
    ACTIVATED = "ACTIVATED"
    SUSPENDED = "SUSPENDED"


class DesiredUser(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A valid worker record, mapped to the JumpCloud attributes it should produce.

    `attributes` holds every mapped JumpCloud attribute (API names, `email` and
    `employeeIdentifier` included, `state` excluded), already trimmed and cut to length;
    a value is `None` when the source was null, missing or empty.
    """

    position: int  # 0-based index of the record in the worker stream
    profile_id: str  # the record's `employeeIdentifier` value (Deel profile id)
    email: str  # the work email as given (trimmed)
    active: bool
    attributes: dict[str, str | None]
    first_name: str | None  # raw name parts, for the username
    last_name: str | None
    start_date: str | None = (
        None  # `YYYY-MM-DD`: new users get usernames in its order (docs/sync-rules.md)
    )
    # docs/directory-attributes.md, read for effective dating (docs/effective-dates.md): the last
    # day (`YYYY-MM-DD`) and the zone's text.
    last_day: str | None = None
    timezone: str | None = None
    warnings: tuple[str, ...] = ()
    # The mapping key `manager` (docs/directory-attributes.md): the manager's profile id, None when
    # not mapped or empty.
    manager: str | None = None
    # The mapping keys `attributes.<name>` (docs/directory-attributes.md): custom attribute name →
    # text or None;
    # None (not an empty dict per record) when the mapping has no such key.
    custom_attributes: dict[str, str | None] | None = None

    @property
    def email_key(self) -> str:
        """The email as matched: case-insensitive."""
        return self.email.casefold()


class RejectedRecord(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A record that failed validation (docs/sync-rules.md): it ends as `skipped` with `reason`."""

    position: int
    profile_id: str | None
    email: str | None
    reason: str


class DirectoryUser(msgspec.Struct, frozen=True, gc=False):
    """A JumpCloud user as the snapshot holds it: the compared attributes and the state.

    A frozen msgspec Struct rather than a frozen dataclass: one is built per JumpCloud user
    (100,000 in a big directory), and the dataclass's `__init__` took a third of the time
    to read a user (measured 1.3 of 4.4 us). `gc=False`: it only holds strings, an enum and
    a dict of strings, so it can be in no reference cycle, and the collector need not walk
    100,000 of them on every full collection.
    """

    id: str
    username: str
    email: str
    state: UserState
    attributes: dict[str, str | None]  # the mapped attributes as JumpCloud has them
    # Read only when the mapping has the key `manager`: the manager's JumpCloud `_id`.
    manager: str | None = None
    # Read only when the mapping has `attributes.<name>` keys: the user's whole custom
    # attribute list as JumpCloud sent it (each item kept as it came, to be sent back
    # unchanged); None when it was not read.
    custom_attributes: tuple[Any, ...] | None = None

    @property
    def employee_identifier(self) -> str | None:
        """The profile id this user is linked to, if any."""
        return self.attributes.get("employeeIdentifier") or None


class ActionKind(StrEnum):
    """What the applier has to do for one record."""

    CREATE = "create"
    UPDATE = "update"  # changed attributes only (adoption included)
    SUSPEND = "suspend"  # state SUSPENDED + suspended true, plus changed attributes
    REACTIVATE = "reactivate"  # state ACTIVATED + suspended false, plus changed attributes
    SCHEDULE = (
        "schedule"  # docs/effective-dates.md: scheduled state changes only (no write to the user)
    )
    GROUPS = "groups"  # docs/groups.md: membership writes only (no write to the user)


class GroupChange(StrEnum):
    """What the run does about one group of a user (docs/groups.md)."""

    ADDED = "added"  # the user is added (and the group joins the ledger)
    REMOVED = "removed"  # the user is removed (and the group leaves the ledger)
    KEPT = "kept"  # the user is in it already; nothing written
    MISSING = "missing"  # JumpCloud has no such group and create_missing_groups is off


class GroupLine(msgspec.Struct, frozen=True, gc=False):
    """One group of a record's plan: its name, its id (None: created by this run), the change."""

    group: str
    id: str | None
    change: GroupChange

    def report_entry(self) -> dict[str, str | None]:
        """The line as the report's `groups` lists it."""
        return {"group": self.group, "id": self.id, "change": self.change.value}


#: The managed groups of a user before and after the run (names, sorted): `changes.groups`.
GroupsChange = tuple[tuple[str, ...], tuple[str, ...]]


class Action(msgspec.Struct, kw_only=True, gc=False):
    """One planned write. `changes` maps attribute → (old, new) for reporting.

    `payload` is the exact JSON body to send: for CREATE the full user (username, state and
    suspended included), for the others only the changed attributes plus the state pair.
    """

    kind: ActionKind
    desired: DesiredUser
    payload: dict[str, Any]
    user_id: str | None = None  # None for CREATE
    username: str | None = None
    changes: dict[str, tuple[str | None, str | None]] = msgspec.field(default_factory=dict)
    outcome: Outcome = Outcome.UPDATED  # the outcome when the write succeeds
    reason: str | None = None  # e.g. "adopted by email"
    # Manager links to a user this run creates (docs/directory-attributes.md): the stream position
    # of that user's
    # CREATE action. Its `_id` goes into `payload["manager"]` once the create has answered;
    # the action waits for it, except `manager_followup` ones (a create in a cycle of new
    # users), which are created without it and get it by one PUT afterwards.
    manager_pending: int | None = None
    manager_followup: bool = False
    # The username rule of a CREATE (docs/directory-attributes.md), for a retry with the next
    # number.
    username_base: str | None = None
    username_max_length: int | None = None
    # docs/effective-dates.md: the record's scheduled jobs (`schedules.JobPlan` lines: schedule,
    # reschedule,
    # cancel, keep), applied after the user's own write has succeeded.
    schedule: tuple[Any, ...] = ()
    # docs/groups.md: the record's group lines; the ledger's group ids after the run when it
    # changes (None: unchanged; ids of groups this run creates are added once they exist), and
    # the managed groups' names before and after for the report.
    groups: tuple[GroupLine, ...] = ()
    ledger_after: tuple[str, ...] | None = None
    groups_change: GroupsChange | None = None
    ledger_attribute: str | None = None  # the custom attribute that holds the ledger
    # docs/leavers.md: the leaver steps to run once the user's own write (the suspension) has
    # succeeded, in order; `ledger` the group ids `remove_groups` leaves; `custom_after` the
    # user's custom attribute list as it is after the write (the steps' record is added to it).
    leaver_steps: tuple[str, ...] = ()
    ledger: tuple[str, ...] = ()
    custom_after: tuple[Any, ...] | None = None


#: A leaver step's result in a record (docs/leavers.md); `planned` in dry runs and plans.
STEP_DONE = "done"
STEP_FAILED = "failed"
STEP_PLANNED = "planned"


class RecordResult(msgspec.Struct, kw_only=True, gc=False):
    """The final word on one input record: what the report and the summary show."""

    position: int
    deel_id: str | None
    email: str | None
    outcome: Outcome
    reason: str | None = None
    username: str | None = None
    jumpcloud_id: str | None = None
    changes: dict[str, tuple[str | None, str | None]] = msgspec.field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    schedule: tuple[
        Any, ...
    ] = ()  # docs/effective-dates.md: `schedules.JobPlan` lines (the report's `schedule`)
    groups: tuple[GroupLine, ...] = ()  # docs/groups.md: the report's `groups`
    groups_change: GroupsChange | None = None  # the report's `changes.groups`
    # docs/leavers.md: (step, result) for each leaver step, in order.
    leaver_steps: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The record as the report writes it (and a plan file lists the records it leaves)."""
        entry: dict[str, Any] = {
            "deel_id": self.deel_id,
            "email": self.email,
            "username": self.username,
            "jumpcloud_id": self.jumpcloud_id,
            "outcome": self.outcome.value,
            "reason": self.reason,
        }
        if self.changes or self.groups_change:
            entry["changes"] = {name: [old, new] for name, (old, new) in self.changes.items()}
            if self.groups_change:
                before, after = self.groups_change
                entry["changes"]["groups"] = [list(before), list(after)]
        if self.warnings:
            entry["warnings"] = list(self.warnings)
        entry["schedule"] = [
            line.report_entry() for line in self.schedule
        ]  # docs/effective-dates.md
        entry["groups"] = _group_entries(self.groups)  # docs/groups.md
        entry["leaver_steps"] = steps_json(self.leaver_steps)  # docs/leavers.md
        return entry


_GROUP_ENTRIES: dict[tuple[GroupLine, ...], list[dict[str, str | None]]] = {}
_GROUP_ENTRIES_MAX = 10_000


def _group_entries(lines: tuple[GroupLine, ...]) -> list[dict[str, str | None]]:
    """The report's `groups` of a record (a shared list: never mutate it).

    Users in step share one list per set of lines: a report of 100,000 users holds a few
    hundred of them, not 300,000 dicts.
    """
    if not lines:
        return []
    found = _GROUP_ENTRIES.get(lines)
    if found is None:
        found = [line.report_entry() for line in lines]
        if len(_GROUP_ENTRIES) < _GROUP_ENTRIES_MAX:
            _GROUP_ENTRIES[lines] = found
    return found


def planned_steps(steps: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """Leaver steps not run yet, as a dry run and a plan list them (`planned`)."""
    return tuple((step, STEP_PLANNED) for step in steps)


def steps_json(steps: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
    """Leaver steps as the report and the plan write them: `[{"step", "result"}]`."""
    return [{"step": step, "result": result} for step, result in steps]


class OutOfScopeAction(StrEnum):
    """What a run does with a user Deel's complete listing no longer backs (docs/leavers.md)."""

    REPORTED = "reported"  # out_of_scope report: listed, nothing written
    COUNTED = "counted"  # the missed-runs count goes up; not yet suspended
    SUSPENDED = "suspended"  # missed out_of_scope_after times in a row: suspended
    PROTECTED = "protected"  # a member of protected_group: never suspended this way


class OutOfScopeUser(msgspec.Struct, kw_only=True, gc=False):
    """A JumpCloud user linked to a Deel profile id that a complete input did not carry.

    `payload` is the PUT to send (the count, and the state pair when suspended); empty when
    nothing is written. The leaver steps of a suspension are planned and reported as on an
    Action and a RecordResult.
    """

    jumpcloud_id: str
    username: str
    email: str
    employee_identifier: str
    missed_runs: int
    action: OutOfScopeAction
    payload: dict[str, Any] = msgspec.field(default_factory=dict)
    changes: dict[str, tuple[str | None, str | None]] = msgspec.field(default_factory=dict)
    reason: str | None = None
    leaver_steps: tuple[str, ...] = ()
    ledger: tuple[str, ...] = ()
    custom_after: tuple[Any, ...] | None = None
    step_results: tuple[tuple[str, str], ...] = ()
    failed: str | None = None  # why a write or a step failed (the report says so)

    def to_json(self) -> dict[str, Any]:
        """The entry of the report's `directory.out_of_scope`."""
        entry: dict[str, Any] = {
            "jumpcloud_id": self.jumpcloud_id,
            "username": self.username,
            "email": self.email,
            "employeeIdentifier": self.employee_identifier,
            "missed_runs": self.missed_runs,
            "action": self.action.value,
        }
        if self.reason:
            entry["reason"] = self.reason
        if self.leaver_steps or self.step_results:
            entry["leaver_steps"] = steps_json(
                self.step_results or planned_steps(self.leaver_steps)
            )
        if self.failed:
            entry["error"] = self.failed
        return entry


#: How many unlinked usernames the report names (the count covers them all).
UNLINKED_LISTED = 50


class DirectoryCheck(msgspec.Struct, kw_only=True, gc=False):
    """The report's `directory` section: the accounts no HR record backs (docs/leavers.md)."""

    complete_input: bool
    out_of_scope: list[OutOfScopeUser] = msgspec.field(default_factory=list)
    unlinked_count: int = 0
    unlinked_first: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The section as the report (and the plan file) write it."""
        section: dict[str, Any] = {
            "complete_input": self.complete_input,
            "out_of_scope": [user.to_json() for user in self.out_of_scope],
            "unlinked": {"count": self.unlinked_count, "first": list(self.unlinked_first)},
        }
        if not self.complete_input:
            section["note"] = NOT_CHECKED
        return section


NOT_CHECKED = (
    "out-of-scope check not made: the input was not a complete listing (no ACTIVATE_VERSION "
    "after the worker stream's last record)"
)


@dataclass(slots=True)
class Plan:
    """Everything the run will do, decided before anything is written (docs/sync-rules.md).

    `results` holds the records that need no write (skipped, conflict, unchanged); `actions`
    the writes. Together they cover every input record exactly once.
    """

    actions: list[Action]
    results: list[RecordResult]
    matched_users: int  # JumpCloud users matched to a Deel record (the base of a % limit)
    suspensions: int
    suspension_limit: int
    # docs/groups.md: the memberships removed, by group (`plan.groups.GroupRemoval`s)
    group_removals: tuple[Any, ...] = ()
    # docs/leavers.md: the users no record backs (None: not checked, e.g. a reviewed plan).
    directory: DirectoryCheck | None = None

    @property
    def guard_tripped(self) -> bool:
        """True when the plan suspends more users than allowed (equal is fine)."""
        return self.suspensions > self.suspension_limit
