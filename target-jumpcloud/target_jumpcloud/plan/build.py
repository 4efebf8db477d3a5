"""Decide every write before anything is written (docs/sync-rules.md): a pure function.

`plan_sync` takes the mapped records, a JumpCloud snapshot and the options, and returns a
`Plan`: the writes (`actions`) and the records that need none (`results`), together covering
every input record exactly once, in stream order. The same inputs always give the same plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from msgspec.structs import replace

from target_jumpcloud.model import (
    REASON_KEPT_SUSPENDED,
    Action,
    ActionKind,
    DesiredUser,
    DirectoryUser,
    Outcome,
    Plan,
    RecordResult,
    RejectedRecord,
    UserState,
)
from target_jumpcloud.plan.dedupe import (
    dedupe,
    listed,
)
from target_jumpcloud.plan.dedupe import record_result as _result
from target_jumpcloud.plan.groups import plan_groups
from target_jumpcloud.plan.guard import count_suspensions
from target_jumpcloud.settings.effective_dating import EffectiveDating
from target_jumpcloud.settings.groups import GroupSettings
from target_jumpcloud.settings.mapping_table import EMAIL, MANAGER, STATE_KEY, custom_name
from target_jumpcloud.settings.sync_settings import DEFAULT_MAX_SUSPENSIONS, parse_suspension_limit
from target_jumpcloud.sync import custom_attributes as custom
from target_jumpcloud.sync.compare import Change, diff_attributes
from target_jumpcloud.sync.managers import link_managers
from target_jumpcloud.sync.schedules import Decision, ScheduledJob, decide_for
from target_jumpcloud.sync.usernames import (
    DEFAULT_USERNAME_TEMPLATE,
    UsernameAllocator,
    template_base,
)

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Mapping, Sequence

    from target_jumpcloud.settings.sync_settings import SuspensionLimit, SyncSettings
    from target_jumpcloud.sync.directory import Directory
    from target_jumpcloud.sync.groups import GroupSnapshot
    from target_jumpcloud.sync.usernames import UsernameTemplate

REASON_ADOPTED = "adopted by email"
REASON_INACTIVE_NEW = "inactive and not in JumpCloud"
REASON_ACTIVATED_NOW = "start date reached: activated now"

# Looked up once: an enum member read through its class costs 0.17 µs, per record here.
_SUSPENDED = UserState.SUSPENDED
_UNCHANGED = Outcome.UNCHANGED


@dataclass(frozen=True)
class PlanOptions:
    """The settings that shape a plan."""

    user_state_on_create: UserState = UserState.STAGED
    reactivate_suspended_users: bool = False
    max_suspensions: SuspensionLimit = field(
        default_factory=lambda: parse_suspension_limit(DEFAULT_MAX_SUSPENSIONS)
    )
    create_only: frozenset[str] = (
        frozenset()
    )  # docs/directory-attributes.md: sent at creation, never compared
    username_template: UsernameTemplate = DEFAULT_USERNAME_TEMPLATE  # docs/directory-attributes.md
    username_max_length: int | None = None
    # docs/effective-dates.md: the settings, and the time the plan is made (required when they are
    # enabled).
    effective_dating: EffectiveDating = field(default_factory=EffectiveDating)
    now: dt.datetime | None = None
    groups: GroupSettings = field(default_factory=GroupSettings)  # docs/groups.md

    def __post_init__(self) -> None:
        if self.user_state_on_create is UserState.SUSPENDED:
            raise ValueError("user_state_on_create must be STAGED or ACTIVATED")
        if self.effective_dating.enabled and (self.now is None or self.now.tzinfo is None):
            raise ValueError("effective dating needs the (aware) time the plan is made: now")

    @classmethod
    def from_settings(
        cls, settings: SyncSettings, *, now: dt.datetime | None = None
    ) -> PlanOptions:
        """The plan options carried by validated target settings (`now`: see `plan_time`)."""
        effective = settings.effective_dating
        return cls(
            effective_dating=effective,
            now=effective.plan_time(now) if effective.enabled and now is not None else now,
            user_state_on_create=settings.user_state_on_create,
            reactivate_suspended_users=settings.reactivate_suspended_users,
            max_suspensions=settings.max_suspensions,
            create_only=settings.create_only_attributes,
            username_template=settings.username_template or DEFAULT_USERNAME_TEMPLATE,
            username_max_length=settings.username_max_length,
            groups=settings.groups,
        )


def _user_label(user: DirectoryUser) -> str:
    return f"{user.username!r} ({user.id})"


@dataclass
class _Match:
    """The JumpCloud user a record is linked to, or why it cannot be linked."""

    user: DirectoryUser | None = None
    adopted: bool = False
    conflict: str | None = None


def _match(
    desired: DesiredUser, directory: Directory, superseded: Mapping[str, frozenset[str]]
) -> _Match:
    """Find the record's JumpCloud user (docs/sync-rules.md).

    By profile id; else adopt by email when that user is unlinked or linked to a record
    this one superseded; a user linked to anything else is a conflict, never a guess.
    """
    linked = directory.linked_users(desired.profile_id)
    if len(linked) > 1:
        users = listed([_user_label(u) for u in linked])
        return _Match(
            conflict=f"profile id {desired.profile_id} is linked to {len(linked)} "
            f"JumpCloud users ({users})"
        )
    if linked:
        return _Match(user=linked[0])
    holders = directory.email_users(desired.email)
    if not holders:
        return _Match()
    if len(holders) > 1:
        users = listed([_user_label(u) for u in holders])
        return _Match(
            conflict=f"work email is held by {len(holders)} JumpCloud users ({users}); "
            "cannot tell which one to adopt"
        )
    holder = holders[0]
    linked_to = holder.employee_identifier
    if linked_to is None or linked_to in superseded.get(desired.profile_id, frozenset()):
        return _Match(user=holder, adopted=True)
    return _Match(
        conflict=f"work email is held by JumpCloud user {_user_label(holder)}, "
        f"which is linked to another profile id ({linked_to})"
    )


class _Planner:
    """One planning pass; holds the per-run state (allocator, matched users, suspensions)."""

    def __init__(
        self,
        directory: Directory,
        options: PlanOptions,
        superseded: Mapping[str, frozenset[str]],
        allocator: UsernameAllocator | None,
    ) -> None:
        self.directory = directory
        self.options = options
        self.superseded = superseded
        self._allocator = allocator
        self.matched: set[str] = set()
        create_only = options.create_only
        self._create_only = create_only
        self._custom_create_only = frozenset(
            name for key in create_only if (name := custom_name(key)) is not None
        )

    @property
    def allocator(self) -> UsernameAllocator:
        """The allocator passed in, else one seeded with the directory's usernames.

        Made on first use: a run without creates never needs the set of 100,000 names.
        """
        if self._allocator is None:
            self._allocator = UsernameAllocator(self.directory.usernames())
        return self._allocator

    def plan(self, desired: DesiredUser) -> Action | RecordResult:
        linked = self.directory.linked_users(desired.profile_id)
        effective = self.options.effective_dating.enabled
        if len(linked) == 1 and not effective:  # the common case, as `_match` decides it
            return self._existing_user(desired, linked[0], adopted=False)
        if len(linked) == 1:
            match = _Match(user=linked[0])
        else:
            match = _match(desired, self.directory, self.superseded)
        if match.conflict is not None:
            return _result(desired, Outcome.CONFLICT, match.conflict)
        if effective:
            return self._dated(desired, match.user, adopted=match.adopted)
        if match.user is None:
            return self._new_user(desired)
        return self._existing_user(desired, match.user, adopted=match.adopted)

    # -- docs/effective-dates.md: effective dates
    # ------------------------------------------------------------------

    def _decide(self, desired: DesiredUser, user: DirectoryUser | None) -> Decision:
        """What the worker's dates mean for their user now (`schedules.decide`)."""
        now = self.options.now
        assert now is not None  # noqa: S101 - PlanOptions checks it
        jobs: Sequence[ScheduledJob] = self.directory.jobs_of(user.id) if user else ()
        return decide_for(
            desired,
            user.state if user else None,
            jobs,
            self.options.effective_dating,
            now=now,
            reactivate_suspended_users=self.options.reactivate_suspended_users,
        )

    def _dated(
        self, desired: DesiredUser, user: DirectoryUser | None, *, adopted: bool
    ) -> Action | RecordResult:
        """The plan of one record with effective dating on: the dated decision folded in.

        The decision's jobs go with the record: on its create or update (applied once that
        write succeeded), or on a SCHEDULE action when they are its only writes; a record whose
        jobs are all kept stays unchanged, with the kept lines in its schedule.
        """
        decision = self._decide(desired, user)
        if decision.warnings:
            desired = replace(desired, warnings=(*desired.warnings, *decision.warnings))
        if user is None:
            if decision.skip_reason is not None:
                return _result(desired, Outcome.SKIPPED, decision.skip_reason)
            planned = self._new_user(desired, state=decision.create_state)
            if isinstance(planned, Action):
                planned.schedule = decision.jobs
                if decision.notes:
                    planned.reason = "; ".join(decision.notes)
            return planned
        planned = self._existing_user(desired, user, adopted=adopted, decision=decision)
        if isinstance(planned, Action):
            planned.schedule = decision.jobs
            return planned
        if planned.outcome is not Outcome.UNCHANGED:  # a conflict: nothing is written for it
            return planned
        if not decision.changes_jobs:
            planned.schedule = decision.jobs
            return planned
        return Action(
            kind=ActionKind.SCHEDULE,
            desired=desired,
            payload={},
            user_id=user.id,
            username=user.username,
            outcome=Outcome.SCHEDULED,
            reason=planned.reason,
            schedule=decision.jobs,
        )

    def _new_user(
        self, desired: DesiredUser, *, state: UserState | None = None
    ) -> Action | RecordResult:
        """A create; its username is given out later, in start-date order (`name_creates`)."""
        if not desired.active:
            return _result(desired, Outcome.SKIPPED, REASON_INACTIVE_NEW)
        payload: dict[str, object] = {"username": None}
        payload.update((k, v) for k, v in desired.attributes.items() if v is not None)
        if desired.custom_attributes:
            items = custom.create_list(desired.custom_attributes)
            if items:
                payload[custom.LIST_FIELD] = items
        payload["state"] = (state or self.options.user_state_on_create).value
        payload["suspended"] = False
        return Action(
            kind=ActionKind.CREATE, desired=desired, payload=payload, outcome=Outcome.CREATED
        )

    def name_creates(self, creates: list[Action]) -> None:
        """Give each create its username: earliest start date first, then stream order.

        So the colleague who joined first keeps the plain name, whatever order the source
        pages its records in. Records without a start date come after those with one. The
        base comes from `username_template`, cut to `username_max_length`
        (docs/directory-attributes.md).
        """
        creates.sort(key=_start_date_order)
        template, max_length = self.options.username_template, self.options.username_max_length
        for action in creates:
            desired = action.desired
            base = template_base(template, desired.first_name, desired.last_name, desired.email)
            username = self.allocator.allocate(base, max_length)
            action.username = username
            action.payload["username"] = username
            action.username_base = base
            action.username_max_length = max_length

    def _custom_changes(
        self, desired: DesiredUser, user: DirectoryUser
    ) -> tuple[list[object] | None, dict[str, Change]]:
        """The user's custom attribute list to send (None: unchanged) and its changes."""
        managed = desired.custom_attributes or {}
        if self._custom_create_only:
            managed = {k: v for k, v in managed.items() if k not in self._custom_create_only}
        if not managed:
            return None, {}
        if user.custom_attributes is None:  # never guess a list that PUT would replace
            raise ValueError(
                "internal error: custom attributes are mapped but the directory was read "
                "without the `attributes` field"
            )
        return custom.merge(managed, user.custom_attributes)

    def _compared(
        self, desired: DesiredUser, user: DirectoryUser
    ) -> tuple[Mapping[str, str | None], Mapping[str, str | None]]:
        """The attributes compared: desired and current, without the create-only ones."""
        current = user.attributes
        if EMAIL not in current:
            current = {**current, EMAIL: user.email}
        wanted = desired.attributes
        if self._create_only:  # docs/directory-attributes.md: never compared after creation
            wanted = {k: v for k, v in wanted.items() if k not in self._create_only}
            current = {k: v for k, v in current.items() if k not in self._create_only}
        return wanted, current

    def _existing_user(  # noqa: PLR0912 - docs/sync-rules.md's table, with docs/effective-dates.md's changes to it
        self,
        desired: DesiredUser,
        user: DirectoryUser,
        *,
        adopted: bool,
        decision: Decision | None = None,
    ) -> Action | RecordResult:
        self.matched.add(user.id)
        active = desired.active if decision is None else decision.effectively_active
        activate_now = decision is not None and decision.activate_now
        notes = list(decision.notes) if decision is not None else []
        wanted: Mapping[str, str | None] = desired.attributes
        current: Mapping[str, str | None] = user.attributes
        if self._create_only or EMAIL not in current:
            wanted, current = self._compared(desired, user)
        custom_list, custom_changes = (
            self._custom_changes(desired, user) if desired.custom_attributes else (None, None)
        )
        if wanted == current and not custom_changes:  # the common case: nothing changed
            if (
                not adopted
                and active is not (user.state is _SUSPENDED)
                and not activate_now
                and not notes
            ):
                # No change, no state to set, nothing to say: what the steps below conclude.
                return RecordResult(
                    position=desired.position,
                    deel_id=desired.profile_id,
                    email=desired.email,
                    outcome=_UNCHANGED,
                    username=user.username,
                    jumpcloud_id=user.id,
                    warnings=desired.warnings,
                )
            changes: dict[str, Change] = {}
        else:
            changes = diff_attributes(wanted, current)
        if EMAIL in changes:
            blocker = self.directory.email_holder(desired.email, exclude_id=user.id)
            if blocker is not None:
                reason = (
                    f"work email changes to {desired.email!r}, which JumpCloud user "
                    f"{_user_label(blocker)} already holds"
                )
                return _result(desired, Outcome.CONFLICT, reason, user)

        suspended = user.state is UserState.SUSPENDED
        reasons = [REASON_ADOPTED] if adopted else []
        reasons.extend(notes)
        kind, outcome = ActionKind.UPDATE, Outcome.UPDATED
        state_pair: dict[str, object] = {}
        if active and suspended:
            if decision is not None and decision.hold_reactivation:
                pass  # reactivated by a job on the start date (the note says so)
            elif self.options.reactivate_suspended_users:
                kind, outcome = ActionKind.REACTIVATE, Outcome.REACTIVATED
                state_pair = {"state": UserState.ACTIVATED.value, "suspended": False}
            else:
                reasons.append(REASON_KEPT_SUSPENDED)
        elif not active and not suspended:
            kind, outcome = ActionKind.SUSPEND, Outcome.SUSPENDED
            state_pair = {"state": UserState.SUSPENDED.value, "suspended": True}
        elif activate_now and user.state is UserState.STAGED:
            # docs/effective-dates.md: the activation is due (less than 5 minutes away): made at
            # once. An `updated` user shows the state it changes like any attribute.
            state_pair = {"state": UserState.ACTIVATED.value, "suspended": False}
            changes = {**changes, STATE_KEY: (user.state.value, UserState.ACTIVATED.value)}
            reasons.append(REASON_ACTIVATED_NOW)

        joined = "; ".join(reasons) or None
        if not changes and not state_pair and not custom_changes:
            return _result(desired, Outcome.UNCHANGED, joined, user)
        payload: dict[str, object] = {attr: new for attr, (_, new) in changes.items()}
        if custom_changes:
            changes.update(custom_changes)
            payload[custom.LIST_FIELD] = custom_list
        payload.update(state_pair)
        return Action(
            kind=kind,
            desired=desired,
            payload=payload,
            user_id=user.id,
            username=user.username,
            changes=changes,
            outcome=outcome,
            reason=joined,
        )


def plan_sync(
    records: Sequence[DesiredUser | RejectedRecord],
    directory: Directory,
    options: PlanOptions,
    *,
    allocator: UsernameAllocator | None = None,
    groups: GroupSnapshot | None = None,
) -> Plan:
    """Plan the whole run (docs/sync-rules.md); pure and deterministic.

    Usernames are allocated in start-date order, then stream order (docs/sync-rules.md),
    against every username in `directory`. Pass `allocator` (seeded with
    `directory.usernames()`) to keep it for the applier: it then also holds the planned
    usernames, so a create retried with the next number can never take a name planned for
    someone else. The guard is computed, not enforced: `Plan.guard_tripped` tells the
    caller. `groups` (the JumpCloud groups and the members read) is needed when group rules
    are set (docs/groups.md).
    """
    deduped = dedupe(records)
    planner = _Planner(directory, options, deduped.superseded, allocator)
    actions: list[Action] = []
    results: list[RecordResult] = []
    creates: list[Action] = []
    for index, record in enumerate(records):
        if not isinstance(record, DesiredUser) or index in deduped.decided:
            results.append(deduped.decided[index])  # every rejected record is decided
            continue
        outcome = planner.plan(record)
        if isinstance(outcome, Action):
            actions.append(outcome)
            if outcome.kind is ActionKind.CREATE:
                creates.append(outcome)
        else:
            results.append(outcome)
    planner.name_creates(creates)

    actions, results = link_managers(
        actions, results, records, directory, create_only=MANAGER in options.create_only
    )
    # A manager link makes a SCHEDULE action an update (docs/directory-attributes.md).
    for action in actions:
        if action.kind is ActionKind.SCHEDULE and (
            action.payload or action.changes or action.manager_pending is not None
        ):
            action.kind, action.outcome = ActionKind.UPDATE, Outcome.UPDATED
    removals: tuple[object, ...] = ()
    if options.groups.enabled:
        if groups is None:
            raise ValueError("group rules are set but no group snapshot was given")
        actions, results, removals = plan_groups(
            actions, results, records, directory, groups, options.groups
        )
    suspensions = count_suspensions(actions)
    matched = len(planner.matched)
    return Plan(
        actions=actions,
        results=results,
        matched_users=matched,
        suspensions=suspensions,
        suspension_limit=options.max_suspensions.limit_for(matched),
        group_removals=removals,
    )


def _start_date_order(action: Action) -> tuple[bool, str, int]:
    start = action.desired.start_date
    return (start is None, start or "", action.desired.position)
