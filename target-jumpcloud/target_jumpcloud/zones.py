"""Time zones for effective dates: names to zones, local times to UTC instants.

HR systems write zones both as IANA names (`Africa/Lagos`) and as the abbreviations people
say (`EST`, `IST`). The abbreviations are looked up first, in `ABBREVIATIONS`, so `EST` means
New York's time with its summer time, not the fixed legacy zone the zone database also calls
`EST`. Zones come from the standard library's `zoneinfo`; the `tzdata` package is a
dependency, so the same names work on a system without a zone database.

Local times are turned into instants with PEP 495's `fold=0`, which gives both awkward nights
one documented rule (see `local_instant`).
"""

from __future__ import annotations

import datetime as dt
import functools
from types import MappingProxyType
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

if TYPE_CHECKING:
    from collections.abc import Mapping

UTC = dt.UTC

#: The abbreviations of docs/effective-dates.md and the IANA zone each stands for. The one place
# they are kept:
#: the docs print this table (a test checks that they agree).
ABBREVIATIONS: Mapping[str, str] = MappingProxyType(
    {
        "UTC": "UTC",
        "GMT": "UTC",
        "EST": "America/New_York",
        "EDT": "America/New_York",
        "CST": "America/Chicago",
        "CDT": "America/Chicago",
        "MST": "America/Denver",
        "MDT": "America/Denver",
        "PST": "America/Los_Angeles",
        "PDT": "America/Los_Angeles",
        "BST": "Europe/London",
        "CET": "Europe/Paris",
        "CEST": "Europe/Paris",
        "EET": "Europe/Athens",
        "EEST": "Europe/Athens",
        "WAT": "Africa/Lagos",
        "EAT": "Africa/Nairobi",
        "SAST": "Africa/Johannesburg",
        "GST": "Asia/Dubai",
        "IST": "Asia/Kolkata",
        "SGT": "Asia/Singapore",
        "HKT": "Asia/Hong_Kong",
        "JST": "Asia/Tokyo",
        "KST": "Asia/Seoul",
        "AEST": "Australia/Sydney",
        "AEDT": "Australia/Sydney",
        "NZST": "Pacific/Auckland",
        "NZDT": "Pacific/Auckland",
        "BRT": "America/Sao_Paulo",
    }
)

_MAX_NAME = 100  # longer than any zone name: not worth a look-up


def abbreviation_rows() -> list[tuple[str, str]]:
    """The table as (abbreviations, zone) rows, abbreviations of one zone joined: for docs."""
    grouped: dict[str, list[str]] = {}
    for abbreviation, zone in ABBREVIATIONS.items():
        grouped.setdefault(zone, []).append(abbreviation)
    return [(", ".join(names), zone) for zone, names in grouped.items()]


@functools.cache
def _zone_keys_by_folded_name() -> dict[str, str]:
    """Every IANA name the zone database knows, by its case-folded spelling (built once)."""
    return {name.casefold(): name for name in available_timezones()}


@functools.lru_cache(maxsize=1024)
def find_zone(name: str) -> ZoneInfo | None:
    """The zone a name means: an abbreviation of the table, else an IANA name; else None.

    Abbreviations are matched in any case (`est`), IANA names exactly and then, failing
    that, ignoring case (`africa/lagos`). Surrounding blanks are ignored.

    Args:
        name: A zone name as an HR system or a setting gives it.

    Returns:
        The zone, or None when the name means none.
    """
    text = name.strip()
    if not text or len(text) > _MAX_NAME:
        return None
    key = ABBREVIATIONS.get(text.upper(), text)
    for candidate in (key, _zone_keys_by_folded_name().get(key.casefold())):
        if candidate is None:
            continue
        try:
            return ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # not a zone, or not a file name
            continue
    return None


def zone_label(zone: dt.tzinfo) -> str:
    """The name a zone is shown by (its IANA key)."""
    return getattr(zone, "key", None) or str(zone)


def local_instant(day: dt.date, clock: dt.time, zone: dt.tzinfo) -> dt.datetime:
    """The UTC instant at which the wall clocks of `zone` show `clock` on `day`.

    Two nights a year the wall clock is awkward, and `fold=0` (PEP 495) settles both:

    - A time that does not exist (clocks jump forward over it, e.g. 02:30 in Berlin on the
      last Sunday of March) is read with the offset from before the jump, so it lands as
      long after the jump as it was meant after its start: 02:30 becomes 03:30 summer time.
    - A time that happens twice (clocks fall back, e.g. 23:30 in Santiago in April) is its
      first occurrence, the earlier instant.

    Args:
        day: The local date.
        clock: The local wall-clock time (naive).
        zone: The zone.

    Returns:
        An aware datetime in UTC, to the second.
    """
    local = dt.datetime.combine(day, clock.replace(tzinfo=None, microsecond=0), tzinfo=zone)
    return local.replace(fold=0).astimezone(UTC)


def local_date(instant: dt.datetime, zone: dt.tzinfo) -> dt.date:
    """The date the wall calendars of `zone` show at `instant` (an aware datetime)."""
    return instant.astimezone(zone).date()


def format_instant(instant: dt.datetime) -> str:
    """An instant as JumpCloud is sent it: UTC, to the second, with a `Z`.

    Example: `2027-01-04T08:00:00Z`.
    """
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_instant(text: object) -> dt.datetime | None:
    """An ISO 8601 instant as JumpCloud writes them (`...Z`, `.000Z`, or no offset: UTC).

    Returns:
        An aware datetime in UTC, or None when the value is not one.
    """
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # "The UTC date and time" (V2 spec)
    return value.astimezone(UTC)
