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
