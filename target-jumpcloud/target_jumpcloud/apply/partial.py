"""A record whose own write went through but whose follow-up writes (jobs, groups) did not all.

Its outcome becomes `failed`, and the reason says both what was written and what was not, so
a person reading the report knows the user exists and what the next run will finish.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from msgspec.structs import replace

from target_jumpcloud.model import Outcome

if TYPE_CHECKING:
    from target_jumpcloud.model import RecordResult

logger = logging.getLogger("target-jumpcloud.applier")

_WRITTEN = {
    Outcome.UPDATED: "updated",
    Outcome.SUSPENDED: "suspended",
    Outcome.REACTIVATED: "reactivated",
}


def failed_after_write(result: RecordResult, errors: list[str], next_run: str) -> RecordResult:
    """`result` as failed: written as it says, `errors` not; `next_run` says what comes next."""
    written = (
        f"created as {result.username}"
        if result.outcome is Outcome.CREATED
        else _WRITTEN.get(result.outcome)
    )
    what = "; ".join(dict.fromkeys(errors))
    reason = f"{written}, but {what}" if written else what
    logger.warning("%s: %s", result.email or result.deel_id, reason)
    return replace(result, outcome=Outcome.FAILED, reason=f"{reason}; {next_run}")
