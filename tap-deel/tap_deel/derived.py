"""The top-level fields the tap adds to every person, as pure functions.

A target never has to know Deel's nesting: it reads `work_email`, `active`, `team` and
`last_day`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterator, Mapping

    Person = Mapping[str, Any]
    Employment = Mapping[str, Any]

DERIVED_FIELDS = ("work_email", "active", "team", "last_day")
#: The top-level fields of a person these are derived from (and all these functions read).
DERIVED_FROM = (
    "hiring_status",
    "emails",
    "employments",
    "direct_employee_termination_last_day",
)
#: A date, or the date part of a date-time, as Deel writes them: `2026-05-29`,
#: `2026-05-29T00:00:00.000Z`, `2026-05-29 17:00:00+02:00`.
_DATE_PART = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ]|$)")


def _employments(person: Person) -> list[Employment]:
    """The person's employments that are objects, in Deel's order."""
    employments = person.get("employments")
    if not isinstance(employments, list):
        return []
    return [item for item in employments if isinstance(item, dict)]


def _primary_index(employments: list[Employment]) -> int | None:
    """Index of the primary employment: the first not ended, else the first; None if none."""
    if not employments:
        return None
    for index, employment in enumerate(employments):
        if not employment.get("is_ended"):  # false, or not reported
            return index
    return 0


def primary_employment(person: Person) -> Employment | None:
    """The primary employment: the first one whose `is_ended` is false, else the first one.

    An employment whose `is_ended` is absent or null counts as not ended.

    Args:
        person: A Deel person object.

    Returns:
        That employment, or None when the person has no employments.
    """
    employments = _employments(person)
    index = _primary_index(employments)
    return None if index is None else employments[index]


def _employments_primary_first(person: Person) -> Iterator[Employment]:
    employments = _employments(person)
    index = _primary_index(employments)
    if index is None:
        return
    yield employments[index]
    for other, employment in enumerate(employments):
        if other != index:
            yield employment


def _text(value: object) -> str | None:
    """A non-blank string, stripped; None for anything else."""
    if isinstance(value, str):
        value = value.strip()
        if value:
            return value
    return None


def work_email(person: Person) -> str | None:
    """The person's work email address.

    The first non-empty `emails[].value` whose `type` is `work`; else the first non-empty
    `work_email` of the employments, the primary employment's first and then the others in
    order. A `personal` or `primary` address is never used.

    Args:
        person: A Deel person object.

    Returns:
        The address (stripped), or None when there is none.
    """
    emails = person.get("emails")
    if isinstance(emails, list):
        for entry in emails:
            if not isinstance(entry, dict):
                continue
            kind = entry.get("type")
            if isinstance(kind, str) and kind.strip().lower() == "work":
                value = _text(entry.get("value"))
                if value is not None:
                    return value
    for employment in _employments_primary_first(person):
        value = _text(employment.get("work_email"))
        if value is not None:
            return value
    return None


def is_active(person: Person, active_hiring_statuses: Collection[str]) -> bool:
    """Whether the person counts as active: `hiring_status` is one of the given statuses.

    Args:
        person: A Deel person object.
        active_hiring_statuses: The setting `active_hiring_statuses`.

    Returns:
        True when `hiring_status` is in the collection, else False (also when it is missing).
    """
    status = person.get("hiring_status")
    return isinstance(status, str) and status in active_hiring_statuses


def team_name(person: Person) -> str | None:
    """The name of the primary employment's team.

    Args:
        person: A Deel person object.

    Returns:
        `team.name` of the primary employment, or None when there is none.
    """
    return _team_of(primary_employment(person))


def _team_of(employment: Employment | None) -> str | None:
    if employment is None:
        return None
    team = employment.get("team")
    if not isinstance(team, dict):
        return None
    return _text(team.get("name"))


def date_part(value: object) -> str | None:
    """The `YYYY-MM-DD` a Deel date or date-time starts with, as written (no zone conversion).

    Deel stores a last day as a calendar date; a date-time such as `2026-05-29T00:00:00.000Z`
    means that date, so converting it to another zone would shift it by a day. Anything that
    does not start with a real calendar date (blank, `soon`, `2026-02-30`) gives None.

    Args:
        value: A value from a Deel person.

    Returns:
        The date as `YYYY-MM-DD`, or None.
    """
    if not isinstance(value, str):
        return None
    match = _DATE_PART.match(value.strip())
    if match is None:
        return None
    try:
        return dt.date(*(int(part) for part in match.groups())).isoformat()
    except ValueError:  # 2026-02-30, month 13...
        return None


_LAST_DAY_SOURCES = ("direct_employee_termination_last_day", "employments[].termination_last_day")


def last_day(person: Person) -> str | None:
    """The worker's last day (docs/directory-attributes.md).

    The date part of `direct_employee_termination_last_day`, else of the primary
    employment's `termination_last_day`, else None. A value with no readable date counts as
    absent, so the next one is used.

    Args:
        person: A Deel person object.

    Returns:
        `YYYY-MM-DD`, or None.
    """
    return _last_day_of(person, primary_employment(person), None)


def unreadable_last_days(person: Person) -> list[str]:
    """The last-day sources consulted that hold text with no readable date (for a warning)."""
    unreadable: list[str] = []
    _last_day_of(person, primary_employment(person), unreadable)
    return unreadable


def _last_day_of(
    person: Person, primary: Employment | None, unreadable: list[str] | None
) -> str | None:
    """`last_day`, with the primary employment already found; notes unreadable sources."""
    values = (
        person.get("direct_employee_termination_last_day"),
        None if primary is None else primary.get("termination_last_day"),
    )
    for name, value in zip(_LAST_DAY_SOURCES, values, strict=True):
        if value is None:
            continue
        found = date_part(value)
        if found is not None:
            return found
        if unreadable is not None and isinstance(value, str) and value.strip():
            unreadable.append(name)
    return None


def add_derived_fields(
    person: dict[str, Any],
    active_hiring_statuses: Collection[str],
    on_unreadable: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Set `work_email`, `active`, `team` and `last_day` on the person, in place; return it.

    Args:
        person: A Deel person object, as the API returned it.
        active_hiring_statuses: The setting `active_hiring_statuses` (a frozenset is fastest).
        on_unreadable: Called with the name of each last-day source that holds text with no
            readable date (so the caller can warn).

    Returns:
        The same dict, with the derived fields set (any values Deel sent under those names
        are replaced).
    """
    primary = primary_employment(person)
    person["work_email"] = work_email(person)
    person["active"] = is_active(person, active_hiring_statuses)
    person["team"] = _team_of(primary)
    unreadable: list[str] | None = [] if on_unreadable is not None else None
    person["last_day"] = _last_day_of(person, primary, unreadable)
    if on_unreadable is not None and unreadable:
        for name in unreadable:
            on_unreadable(name)
    return person


# -- re-hires: other profiles with the same work email ----------------------------------------


def rehire_search_email(person: Person, active_hiring_statuses: Collection[str]) -> str | None:
    """The work email to look for other profiles by, when reading only some people.

    A re-hire gets a new Deel profile with the old work email. A sync that reads only the
    old, inactive profile would act on it alone, where a full sync would let the new, active
    one take over. So for a person who is not active and has a work email, the other
    profiles with that address are read too; an active person needs none.

    Args:
        person: A Deel person object.
        active_hiring_statuses: The setting `active_hiring_statuses`.

    Returns:
        The person's work email, or None when they are active or have none.
    """
    if is_active(person, active_hiring_statuses):
        return None
    return work_email(person)


def has_work_email(person: Person, email: str) -> bool:
    """Whether the person's work email is `email`, ignoring case.

    Deel's `search` also finds addresses that merely contain the text (`ann@x.com` finds
    `joann@x.com`), and names; only this exact match counts as the same address.
    """
    own = work_email(person)
    return own is not None and own.casefold() == email.casefold()
