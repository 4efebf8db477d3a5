"""When the next sync runs, what it reads, and how long a failed one waits: pure functions.

- Debounce: the sync runs `debounce_seconds` after the oldest event not yet done arrived, so
  a burst of deliveries (Deel sends an event per changed field, and duplicates) becomes one
  sync.
- Coalesce: one sync serves every open event. It reads only the people they name, unless an
  event needs a full read or they name more people than `DEEL_WEBHOOKS_FULL_SYNC_ABOVE`.
  A targeted sync of k people costs k Deel requests, plus one for each of them who turns
  out to be a leaver (not active, with a work email: tap-deel then searches for other
  profiles with that address, the re-hire check); a full sync costs ⌈N / 200⌉ (N people in
  Deel, 200 per page). With the threshold set to ⌈N / 200⌉, a sync without leavers costs
  min(k, ⌈N / 200⌉), and any sync at most twice that.
- Retry: after `n` failed syncs in a row the next waits `min(cap, base * 2**(n - 1))`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from collections.abc import Iterable

#: People per page of Deel's list endpoint, the unit of a full read's cost.
DEEL_PAGE_SIZE = 200


@dataclass(frozen=True)
class OpenEvent:
    """What planning needs of one event that is not done yet."""

    event_type: str
    person_ids: tuple[str, ...]
    full_sync: bool
    reason: str = ""


@dataclass(frozen=True)
class SyncPlan:
    """One sync: `targeted` reads `person_ids`, `full` reads everyone."""

    kind: Literal["targeted", "full"]
    person_ids: tuple[str, ...]
    reason: str


def plan_sync(events: Iterable[OpenEvent], full_sync_above: int) -> SyncPlan | None:
    """The one sync that serves all these events, or None when there are none.

    Args:
        events: The open events, oldest first.
        full_sync_above: `DEEL_WEBHOOKS_FULL_SYNC_ABOVE`: more people than this, a full sync.

    Returns:
        The plan: full when any event needs it or the people are too many, else targeted at
        the people named (in the order first named, no repeats).
    """
    ids: list[str] = []
    seen: set[str] = set()
    full_reason = ""
    count = 0
    for event in events:
        count += 1
        if event.full_sync and not full_reason:
            full_reason = event.reason or f"{event.event_type} needs a full sync"
        for person_id in event.person_ids:
            if person_id.lower() not in seen:
                seen.add(person_id.lower())
                ids.append(person_id)
    if count == 0:
        return None
    if full_reason:
        return SyncPlan("full", (), full_reason)
    if len(ids) > full_sync_above:
        return SyncPlan(
            "full",
            (),
            f"{len(ids)} people is more than DEEL_WEBHOOKS_FULL_SYNC_ABOVE={full_sync_above}",
        )
    return SyncPlan("targeted", tuple(ids), f"{len(ids)} people named by {count} events")


def deel_requests(
    plan: SyncPlan,
    people_in_deel: int,
    page_size: int = DEEL_PAGE_SIZE,
    *,
    leavers: int = 0,
) -> int:
    """Deel requests the plan's people stream costs, retries aside.

    Args:
        plan: The sync.
        people_in_deel: N, the people the list endpoint returns.
        page_size: People per page.
        leavers: Of a targeted sync's people, those Deel reports not active and with a work
            email: for each, tap-deel also asks `GET /people?search=EMAIL` for the other
            profiles with that address (a re-hire's new profile). Only the sync finds out.

    Returns:
        For a targeted sync, one per person plus one per leaver; for a full one,
        ⌈N / page_size⌉ (at least 1), whoever has left.

    Raises:
        ValueError: `leavers` is negative or more than the people of a targeted sync.
    """
    if plan.kind == "targeted":
        if not 0 <= leavers <= len(plan.person_ids):
            msg = f"leavers must be between 0 and {len(plan.person_ids)}, got {leavers}"
            raise ValueError(msg)
        return len(plan.person_ids) + leavers
    return max(1, math.ceil(people_in_deel / page_size))


def threshold_for(
    people_in_deel: int, page_size: int = DEEL_PAGE_SIZE, *, for_leavers: bool = False
) -> int:
    """The `DEEL_WEBHOOKS_FULL_SYNC_ABOVE` that makes syncs as cheap as the receiver can tell.

    Reading k people one by one costs k requests and a full read ⌈N / page_size⌉; with this
    threshold the receiver picks whichever is fewer (a tie reads the people one by one:
    those requests are smaller). Each leaver among the k adds one request to a targeted
    sync (see `deel_requests`), which the receiver cannot know before the sync reads them,
    so a targeted sync costs at most twice the full read.

    Args:
        people_in_deel: N, e.g. `page.total_rows` of `GET /people`, or the people count of
            the nightly run's report.
        page_size: People per page.
        for_leavers: Plan for bursts of leavers (each costing two requests): half the
            threshold, rounded down, so that no sync ever costs more than the full read.

    Returns:
        ⌈N / page_size⌉, at least 1; with `for_leavers`, half of that, rounded down.
    """
    full_read = max(1, math.ceil(people_in_deel / page_size))
    return full_read // 2 if for_leavers else full_read


def sync_due_at(
    oldest_open_at: float | None, debounce_seconds: float, retry_not_before: float | None
) -> float | None:
    """When the next sync should start (a wall-clock time), or None when nothing is open.

    Args:
        oldest_open_at: When the oldest event not yet done arrived; None when none is open.
        debounce_seconds: `DEEL_WEBHOOKS_DEBOUNCE_SECONDS`.
        retry_not_before: After failed syncs, the earliest time for the next; None after a
            success.

    Returns:
        The later of the debounce's end and the retry time.
    """
    if oldest_open_at is None:
        return None
    due = oldest_open_at + debounce_seconds
    if retry_not_before is not None:
        due = max(due, retry_not_before)
    return due


def retry_delay(failures_in_a_row: int, base_seconds: float, cap_seconds: float) -> float:
    """Seconds between the last failed sync and the next try.

    Args:
        failures_in_a_row: Failed syncs since the last success (at least 1).
        base_seconds: The first wait (`DEEL_WEBHOOKS_RETRY_SECONDS`).
        cap_seconds: The longest wait (`DEEL_WEBHOOKS_RETRY_MAX_SECONDS`).

    Returns:
        `base * 2**(failures - 1)`, capped; 0 when nothing failed.
    """
    if failures_in_a_row <= 0:
        return 0.0
    return float(min(cap_seconds, base_seconds * 2 ** min(failures_in_a_row - 1, 64)))
