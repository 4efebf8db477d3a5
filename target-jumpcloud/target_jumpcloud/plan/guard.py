"""The guard: a plan that would do too much harm at once is stopped before any write.

The planner counts; this module says what a count means and words the refusal. The engine
enforces it (nothing written, exit code of a tripped guard), and a dry run only reports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from target_jumpcloud.sync.schedules import counts_as_suspension

if TYPE_CHECKING:
    from collections.abc import Iterable

    from target_jumpcloud.model import Action, Plan
    from target_jumpcloud.settings.sync_settings import SuspensionLimit


def count_suspensions(actions: Iterable[Action]) -> int:
    """How many of the actions the suspension guard counts (now, or a job that suspends)."""
    return sum(1 for action in actions if counts_as_suspension(action))


def guard_message(plan: Plan, limit: SuspensionLimit) -> str | None:
    """Why the plan must not be applied, in one message; None when it may be."""
    if not plan.guard_tripped:
        return None
    basis = f"{limit} of {plan.matched_users} matched users" if limit.percent else str(limit)
    return (
        f"Suspension guard tripped: the plan suspends {plan.suspensions} users, more than "
        f"the limit of {plan.suspension_limit} set by max_suspensions ({basis}); nothing "
        "was written. Check the HR data; if the suspensions are expected, raise "
        "max_suspensions for one run."
    )


#: A group loses this many members at least before its share can trip the group guard.
MIN_GROUP_REMOVALS = 5


def group_guard_message(plan: Plan, max_percent: float) -> str | None:
    """Why the plan's group removals must not be applied (docs/groups.md); None when they may.

    It trips when one group would lose more than `max_percent` of its current members and
    at least 5 of them; the message names the group (the first such, largest share first).
    """
    for removal in plan.group_removals:
        share = 100 * removal.removed / max(1, removal.members)
        if removal.removed >= MIN_GROUP_REMOVALS and share > max_percent:
            return (
                f"Group guard tripped: the plan removes {removal.removed} of the "
                f"{removal.members} members of group {removal.group!r} ({share:.0f}%), more "
                f"than max_group_removal_percent ({max_percent:g}%); nothing was written. "
                "Check the group rules and the HR data; if the removals are expected, raise "
                "max_group_removal_percent for one run."
            )
    return None
