"""Custom attributes: merge the managed ones into the user's whole list.

JumpCloud keeps a user's custom attributes as one list of `{name, value}` items and a PUT
replaces the whole list. So an update that changes a managed attribute sends the list back
whole: every item the mapping does not manage exactly as it was read (same object, same
place), the managed ones set. Names are matched ignoring case (the mapping's names are
unique that way, docs/directory-attributes.md); when JumpCloud holds a name twice, the first item
is the synced one
and the others are kept as they are. An empty source value never removes or clears an item.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from target_jumpcloud.settings.mapping_table import CUSTOM_FIELD, CUSTOM_PREFIX

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

Change = tuple[str | None, str | None]
LIST_FIELD = CUSTOM_FIELD  # the user field that holds the list


def change_key(name: str) -> str:
    """How the report names a custom attribute's change: `attributes.<name>`."""
    return CUSTOM_PREFIX + name


def item_text(item: object) -> str | None:
    """The value of a list item as text (trimmed; null, "" and non-scalars are None)."""
    value = item.get("value") if isinstance(item, dict) else None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    return None


def _item_name(item: object) -> str | None:
    name = item.get("name") if isinstance(item, dict) else None
    return name if isinstance(name, str) else None


def create_list(desired: Mapping[str, str | None]) -> list[dict[str, str]]:
    """The `attributes` of a new user: the managed attributes that have a value, in order."""
    return [{"name": name, "value": value} for name, value in desired.items() if value is not None]


def merge(
    desired: Mapping[str, str | None], current: Sequence[Any]
) -> tuple[list[Any] | None, dict[str, Change]]:
    """The full list to send and the changes (`attributes.<name>` → (old, new)).

    The list is None when nothing changes: then no `attributes` key is sent at all.
    `current` is the user's list as JumpCloud sent it; its items are never modified.
    """
    first_index: dict[str, int] = {}
    for index, item in enumerate(current):
        name = _item_name(item)
        if name is not None:
            first_index.setdefault(name.casefold(), index)
    merged: list[Any] | None = None
    changes: dict[str, Change] = {}
    for name, raw in desired.items():
        new = raw.strip() or None if raw is not None else None
        if new is None:
            continue  # an empty source value never removes or clears an attribute
        at = first_index.get(name.casefold())
        old = item_text(current[at]) if at is not None else None
        if old == new:
            continue
        if merged is None:
            merged = list(current)
        if at is None:
            merged.append({"name": name, "value": new})
        else:
            merged[at] = {**current[at], "value": new}
        changes[change_key(name)] = (old, new)
    return merged, changes


def current_text(current: Sequence[Any], name: str) -> str | None:
    """The value of custom attribute `name` in `current` as text: the first item, ignoring case.

    The item `merge` would set; None when the user has no such attribute.
    """
    key = name.casefold()
    for item in current:
        item_name = _item_name(item)
        if item_name is not None and item_name.casefold() == key:
            return item_text(item)
    return None
