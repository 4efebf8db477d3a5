"""A delivery's body, read for what the receiver needs: its type, its id, the people it names.

Nothing else in the body is trusted or kept: the sync fetches each person from Deel again, so
a forged, stale or reordered payload can at worst cause a re-read.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from tap_deel.people_by_id import is_person_id

#: Event types whose `data.resource` (or each of its items) carries a person's profile id.
PERSON_EVENT_PREFIX = "worker.v2."
#: Longest tracking id, event type or other text kept from a payload.
MAX_TEXT = 200


class EventError(ValueError):
    """The body is not a Deel event; the message is the 400 answer's reason."""


@dataclass(frozen=True)
class Event:
    """What one delivery asks for.

    Attributes:
        event_type: `data.meta.event_type`.
        dedupe_key: The event's identity: its tracking id, else its event id, else a hash of
            the raw body. Two deliveries with the same key are one event.
        tracking_id: `data.meta.tracking_id` (or `event_id`), for the logs; None if absent.
        person_ids: The profile ids it names (only for `worker.v2.*` events).
        full_sync: True when it cannot be served by reading some people (another event
            type, or a `worker.v2.*` event without a usable profile id).
        reason: Why a full sync, for the logs ("" when not).
    """

    event_type: str
    dedupe_key: str
    tracking_id: str | None
    person_ids: tuple[str, ...]
    full_sync: bool
    reason: str = ""


def _identifier(value: object) -> str | None:
    """A tracking or event id as text (Deel's examples show both strings and numbers)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()[:MAX_TEXT]
    return None


def _resources(resource: object) -> list[object]:
    """`data.resource` as a list: Deel's docs show an object and, elsewhere, a list."""
    if isinstance(resource, list):
        return resource
    if resource is None:
        return []
    return [resource]


def person_ids_of(resource: object) -> tuple[tuple[str, ...], bool]:
    """The profile ids in `data.resource`, and whether every item had a usable one.

    Args:
        resource: `data.resource`: an object, or a list of objects.

    Returns:
        `(ids, complete)`: the ids in order without repeats (compared ignoring case), and
        False when the resource is empty or any item lacks an id shaped like a profile id.
    """
    items = _resources(resource)
    ids: list[str] = []
    seen: set[str] = set()
    complete = bool(items)
    for item in items:
        value = item.get("id") if isinstance(item, dict) else None
        if not is_person_id(value):
            complete = False
            continue
        text = str(value)
        if text.lower() not in seen:
            seen.add(text.lower())
            ids.append(text)
    return tuple(ids), complete


def parse_event(raw: bytes) -> Event:
    """Read a delivery body (already known to be signed by Deel).

    Args:
        raw: The request body.

    Returns:
        The event.

    Raises:
        EventError: The body is not JSON, or has no `data.meta.event_type`.
    """
    try:
        body: Any = json.loads(raw)
    except (ValueError, RecursionError):  # JSONDecodeError, UnicodeDecodeError, deep nesting
        raise EventError("the body is not JSON") from None
    missing = EventError("the body has no data.meta.event_type")
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise missing
    meta = data.get("meta")
    if not isinstance(meta, dict):
        raise missing
    event_type = meta.get("event_type")
    if not isinstance(event_type, str) or not event_type.strip():
        raise missing
    event_type = event_type.strip()[:MAX_TEXT]
    tracking_id = _identifier(meta.get("tracking_id"))
    event_id = _identifier(meta.get("event_id"))
    if tracking_id is not None:
        key = "tracking_id:" + tracking_id
    elif event_id is not None:
        key = "event_id:" + event_id
    else:
        key = "sha256:" + hashlib.sha256(raw).hexdigest()
    shown_id = tracking_id if tracking_id is not None else event_id
    if not event_type.startswith(PERSON_EVENT_PREFIX):
        return Event(event_type, key, shown_id, (), True, f"{event_type} names no person")
    ids, complete = person_ids_of(data.get("resource"))
    if not complete:
        reason = f"{event_type} without a profile id in data.resource"
        return Event(event_type, key, shown_id, ids, True, reason)
    return Event(event_type, key, shown_id, ids, False)
