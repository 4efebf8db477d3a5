"""When two attribute values are the same: the one rule the planner and the drift check share.

Values are compared trimmed; null, missing and "" are equal; `email` ignores case (JumpCloud
keeps emails unique regardless of case). The planner asks what to change
(`diff_attributes`); the drift check asks whether a value is still the one a plan saw
(`same_value`). One rule, so that what a plan calls unchanged an apply never calls drifted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from target_jumpcloud.settings.mapping_table import EMAIL

if TYPE_CHECKING:
    from collections.abc import Mapping

#: An attribute as it changes: (old, new), trimmed, None for empty.
Change = tuple[str | None, str | None]


def trimmed(value: str | None) -> str | None:
    """`value` without surrounding whitespace; None for missing, empty or blank."""
    return (value.strip() or None) if value is not None else None


def _same_trimmed(attribute: str, left: str | None, right: str | None) -> bool:
    if attribute == EMAIL and left is not None and right is not None:
        return left.casefold() == right.casefold()
    return left == right


def same_value(attribute: str, left: str | None, right: str | None) -> bool:
    """Whether `left` and `right` are the same value of `attribute` (see the module's rule)."""
    return _same_trimmed(attribute, trimmed(left), trimmed(right))


def diff_attributes(
    desired: Mapping[str, str | None], current: Mapping[str, str | None]
) -> dict[str, Change]:
    """Attribute → (old, new) for what must change (docs/sync-rules.md).

    Compared by `same_value`'s rule; an empty desired value never clears what JumpCloud has.
    """
    changes: dict[str, Change] = {}
    for attribute, raw_new in desired.items():
        if raw_new is None or raw_new == current.get(attribute):
            continue  # nothing to set, or the very same text: equal however it is trimmed
        new = trimmed(raw_new)
        if new is None:
            continue
        old = trimmed(current.get(attribute))
        if not _same_trimmed(attribute, old, new):
            changes[attribute] = (old, new)
    return changes
