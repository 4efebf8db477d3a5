"""The stream-wide rules of a plan (docs/sync-rules.md): one record per profile id and per email.

Run before matching: a rejected record is skipped with its reason; the same profile id twice,
the last one counts; records sharing a work email, exactly one active one is used and the
others are superseded by it, else each is a conflict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from target_jumpcloud.model import DesiredUser, Outcome, RecordResult, RejectedRecord

if TYPE_CHECKING:
    from collections.abc import Sequence

    from target_jumpcloud.model import DirectoryUser

REASON_SUPERSEDED_SAME_ID = "superseded by a later record with the same profile id"
_LISTED_MAX = 5  # how many profile ids or users a reason names before "and N more"
Change = tuple[str | None, str | None]


def superseded_by_email_reason(profile_id: str) -> str:
    """The reason on a record that lost to the one active record with its work email."""
    return f"superseded by {profile_id} (same work email)"


@dataclass
class Deduplicated:
    """The stream-wide rules applied: who goes on to matching, who ends here."""

    applied: list[DesiredUser]  # stream order
    decided: dict[int, RecordResult]  # stream index → skipped/conflict result
    superseded: dict[str, frozenset[str]]  # winner's profile id → profile ids it superseded


def dedupe(records: Sequence[DesiredUser | RejectedRecord]) -> Deduplicated:
    """Apply the stream-wide rules: rejected records, duplicate profile ids, shared emails.

    - A rejected record is skipped with its validation reason.
    - The same profile id more than once: the last record counts (even a rejected one: the
      newest HR data wins and stale data is never applied); earlier ones are skipped.
    - Surviving valid records sharing a work email (any case): exactly one active → it is
      used and the others are skipped as superseded by it; otherwise each is a conflict.
    """
    last_index: dict[str, int] = {}
    for index, record in enumerate(records):
        if record.profile_id is not None:
            last_index[record.profile_id] = index

    decided: dict[int, RecordResult] = {}
    first_with_email: dict[str, tuple[int, DesiredUser]] = {}
    # Only emails held by more than one record get a group (most records have their own).
    shared_emails: dict[str, list[tuple[int, DesiredUser]]] = {}
    for index, record in enumerate(records):
        if isinstance(record, RejectedRecord):
            decided[index] = record_result(record, Outcome.SKIPPED, record.reason)
        elif last_index[record.profile_id] != index:
            decided[index] = record_result(record, Outcome.SKIPPED, REASON_SUPERSEDED_SAME_ID)
        else:
            key = record.email_key
            entry = (index, record)
            first = first_with_email.setdefault(key, entry)
            if first is not entry:
                shared_emails.setdefault(key, [first]).append(entry)

    superseded: dict[str, frozenset[str]] = {}
    for group in shared_emails.values():
        active = [desired for _, desired in group if desired.active]
        if len(active) == 1:
            winner = active[0]
            losers = [(i, d) for i, d in group if d is not winner]
            reason = superseded_by_email_reason(winner.profile_id)
            for index, desired in losers:
                decided[index] = record_result(desired, Outcome.SKIPPED, reason)
            superseded[winner.profile_id] = frozenset(d.profile_id for _, d in losers)
        else:
            reason = _shared_email_reason([d for _, d in group], len(active))
            for index, desired in group:
                decided[index] = record_result(desired, Outcome.CONFLICT, reason)

    applied = [
        record
        for index, record in enumerate(records)
        if index not in decided and isinstance(record, DesiredUser)
    ]
    return Deduplicated(applied=applied, decided=decided, superseded=superseded)


def _shared_email_reason(group: list[DesiredUser], active: int) -> str:
    ids = listed([d.profile_id for d in group])
    which = "none of them is active" if active == 0 else f"{active} of them are active"
    return f"work email is shared by {len(group)} records (profile ids {ids}) and {which}"


def listed(items: list[str]) -> str:
    """A comma list that names at most a few items, so reasons stay one line."""
    shown = ", ".join(items[:_LISTED_MAX])
    extra = len(items) - _LISTED_MAX
    return f"{shown} and {extra} more" if extra > 0 else shown


def record_result(
    record: DesiredUser | RejectedRecord,
    outcome: Outcome,
    reason: str | None,
    user: DirectoryUser | None = None,
    changes: dict[str, Change] | None = None,
) -> RecordResult:
    """A record that ends here (or in the planner) without a write: its outcome and reason."""
    return RecordResult(
        position=record.position,
        deel_id=record.profile_id,
        email=record.email,
        outcome=outcome,
        reason=reason,
        username=user.username if user else None,
        jumpcloud_id=user.id if user else None,
        changes=changes or {},
        warnings=record.warnings if isinstance(record, DesiredUser) else (),
    )
