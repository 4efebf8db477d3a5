"""Group memberships in the plan file (docs/groups.md, docs/plan-and-review.md).

An action's `groups` entry holds what a reviewer needs and what the apply checks again:

    "groups": {
      "ledger_attribute": "deelSyncGroups",
      "ledger": {"before": "id1,id2", "after": "id1,id3"},   (null: the ledger is not written)
      "names": {"before": ["Dept - A"], "after": ["Dept - B"]},  (null: no managed change)
      "lines": [{"group", "id", "change", "before": member?, "after": member?}]
    }

A line's id is null for a group the plan creates. Applying the plan checks each line
against JumpCloud now: a group deleted since the plan is a `conflict`; a membership already
as planned is not written again; the ledger must still hold its `before` value (or already
its `after`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from target_jumpcloud.model import GroupChange, GroupLine
from target_jumpcloud.sync.groups import ledger_raw, ledger_text, parse_ledger

if TYPE_CHECKING:
    from collections.abc import Mapping

    from target_jumpcloud.model import Action, DirectoryUser, GroupsChange
    from target_jumpcloud.sync.groups import GroupSnapshot

_MEMBER_BEFORE = {
    GroupChange.ADDED: False,
    GroupChange.REMOVED: True,
    GroupChange.KEPT: True,
    GroupChange.MISSING: False,
}
WRITES = frozenset({GroupChange.ADDED, GroupChange.REMOVED})

#: The JSON Schema of an action's `groups` entry (plan/schema.py puts it in the action's).
GROUPS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["ledger_attribute", "ledger", "names", "lines"],
    "properties": {
        "ledger_attribute": {"type": "string", "pattern": "^[A-Za-z0-9]{1,31}$"},
        "ledger": {
            "type": ["object", "null"],
            "additionalProperties": False,
            "required": ["before", "after"],
            "properties": {"before": {"type": ["string", "null"]}, "after": {"type": "string"}},
        },
        "names": {
            "type": ["object", "null"],
            "additionalProperties": False,
            "required": ["before", "after"],
            "properties": {
                "before": {"type": "array", "items": {"type": "string"}},
                "after": {"type": "array", "items": {"type": "string"}},
            },
        },
        "lines": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["group", "id", "change", "before", "after"],
                "properties": {
                    "group": {"type": "string", "minLength": 1, "maxLength": 255},
                    "id": {"type": ["string", "null"], "pattern": "^[0-9a-f]{24}$"},
                    "change": {"enum": [change.value for change in GroupChange]},
                    "before": {"type": "boolean"},
                    "after": {"type": "boolean"},
                },
            },
        },
    },
}


class PlannedGroups(msgspec.Struct, frozen=True, gc=False):
    """An action's reviewed group entry, as loaded (see the module docstring)."""

    attribute: str
    lines: tuple[GroupLine, ...]
    ledger_before: str | None = None
    ledger_after: str | None = None  # None: the ledger is not written
    names: GroupsChange | None = None

    @property
    def ledger_ids(self) -> tuple[str, ...] | None:
        """The ledger's ids after the apply (None: the ledger is not written)."""
        return None if self.ledger_after is None else parse_ledger(self.ledger_after)[0]

    @property
    def writes(self) -> bool:
        """Whether anything is left to write: a membership, or the ledger."""
        return self.ledger_after is not None or any(line.change in WRITES for line in self.lines)


def groups_document(action: Action, user: DirectoryUser | None) -> dict[str, Any] | None:
    """The action's `groups` entry (None when it has no group lines and no ledger write)."""
    attribute = action.ledger_attribute
    if attribute is None or (not action.groups and action.ledger_after is None):
        return None
    ledger = None
    if action.ledger_after is not None:
        before = ledger_raw(user, attribute) if user is not None else None
        ledger = {"before": before, "after": ledger_text(action.ledger_after)}
    names = None
    if action.groups_change is not None:
        names = {"before": list(action.groups_change[0]), "after": list(action.groups_change[1])}
    return {
        "ledger_attribute": attribute,
        "ledger": ledger,
        "names": names,
        "lines": [
            {
                "group": line.group,
                "id": line.id,
                "change": line.change.value,
                "before": _MEMBER_BEFORE[line.change],
                "after": line.change in {GroupChange.ADDED, GroupChange.KEPT},
            }
            for line in action.groups
        ],
    }


def groups_from_document(entry: Mapping[str, Any] | None) -> PlannedGroups | None:
    """A loaded (already validated) `groups` entry."""
    if not entry:
        return None
    ledger = entry.get("ledger")
    names = entry.get("names")
    return PlannedGroups(
        attribute=entry["ledger_attribute"],
        lines=tuple(
            GroupLine(line["group"], line["id"], GroupChange(line["change"]))
            for line in entry["lines"]
        ),
        ledger_before=ledger["before"] if ledger else None,
        ledger_after=ledger["after"] if ledger else None,
        names=(tuple(names["before"]), tuple(names["after"])) if names else None,
    )


def check_groups(
    planned: PlannedGroups,
    user: DirectoryUser,
    snapshot: GroupSnapshot | None,
    *,
    done: list[str],
    drifted: list[str],
    ledger_written: bool = False,
) -> PlannedGroups:
    """What of `planned` is still to apply to `user` now (details noted in `done`/`drifted`).

    `ledger_written`: the ledger was written already (by the create of an earlier apply).
    """
    lines = []
    for line in planned.lines:
        if line.id is None or snapshot is None:
            lines.append(line)
            continue
        group = snapshot.by_id(line.id)
        if group is None:
            drifted.append(f"group {line.group!r} ({line.id}) no longer exists in JumpCloud")
            continue
        members = snapshot.members_of(line.id)
        if line.change not in WRITES or members is None:
            lines.append(line)
            continue
        member = user.id in members
        if member is (line.change is GroupChange.ADDED):  # already as planned
            done.append(f"group {line.group!r}")
            lines.append(GroupLine(line.group, line.id, GroupChange.KEPT))
        else:
            lines.append(line)
    ledger_after = planned.ledger_after
    if ledger_after is not None and not ledger_written:
        now = parse_ledger(ledger_raw(user, planned.attribute))[0]
        if now == parse_ledger(ledger_after)[0]:
            done.append(planned.attribute)
            ledger_after = None
        elif now != parse_ledger(planned.ledger_before)[0]:
            drifted.append(
                f"{planned.attribute}: {planned.ledger_before or '(empty)'!r} → "
                f"{ledger_text(now) or '(empty)'!r}"
            )
    elif ledger_written:
        ledger_after = None
    return PlannedGroups(
        attribute=planned.attribute,
        lines=tuple(lines),
        ledger_before=planned.ledger_before,
        ledger_after=ledger_after,
        names=planned.names,
    )
