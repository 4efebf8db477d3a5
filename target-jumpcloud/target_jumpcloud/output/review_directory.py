"""The review pages' view of the users no HR record backs (docs/leavers.md).

A report's (or a plan's) `directory` section: whether the input was a complete listing, the
out-of-scope users with what the run does to them, and the unlinked users. The pages show
both lists below the records; this module reads the section (its shape is checked by
`plan.schema.DIRECTORY_SCHEMA`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping


def read_steps(value: object) -> tuple[tuple[str, str], ...]:
    """`[{"step", "result"}]` as (step, result) pairs (anything else is left out)."""
    if not isinstance(value, list):
        return ()
    return tuple(
        (str(item["step"]), str(item["result"]))
        for item in value
        if isinstance(item, dict) and "step" in item and "result" in item
    )


@dataclass(frozen=True)
class OutOfScopeRow:
    """One out-of-scope user as the pages show it."""

    username: str
    email: str | None
    jumpcloud_id: str
    employee_identifier: str
    missed_runs: int
    action: str
    reason: str | None
    error: str | None
    steps: tuple[tuple[str, str], ...]

    @property
    def search(self) -> str:
        """What the search box matches, lower-cased."""
        parts = (self.username, self.email, self.jumpcloud_id, self.employee_identifier)
        return " ".join(part for part in parts if part).lower()


@dataclass(frozen=True)
class DirectoryView:
    """The `directory` section, ready to render."""

    complete_input: bool
    note: str | None
    out_of_scope: tuple[OutOfScopeRow, ...]
    unlinked_count: int
    unlinked_first: tuple[str, ...]


def directory_view(section: Mapping[str, Any] | None) -> DirectoryView | None:
    """The view of a (schema-checked) `directory` section; None when there is none."""
    if not section:
        return None
    rows = tuple(
        OutOfScopeRow(
            username=user["username"],
            email=user.get("email"),
            jumpcloud_id=user["jumpcloud_id"],
            employee_identifier=user["employeeIdentifier"],
            missed_runs=int(user.get("missed_runs") or 0),
            action=user["action"],
            reason=user.get("reason"),
            error=user.get("error"),
            steps=read_steps(user.get("leaver_steps")),
        )
        for user in section["out_of_scope"]
    )
    unlinked = section["unlinked"]
    return DirectoryView(
        complete_input=section["complete_input"] is True,
        note=section.get("note"),
        out_of_scope=rows,
        unlinked_count=int(unlinked["count"]),
        unlinked_first=tuple(unlinked["first"]),
    )
