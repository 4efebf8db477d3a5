"""The settings of effective dating, read and checked into one frozen value.

`read_effective_dating` reads them from the raw target config and returns every problem
instead of stopping at the first, each one line that starts with the setting's name, as
`mapping_rules.check_mapping` does: the settings parser adds them to its own and raises one
`ConfigError` for the whole config. So this module sits below the settings parser and imports
nothing of the package but the zones. The settings' declarations for `--about` and Meltano
are in `singer/config_schema.py`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from target_jumpcloud.settings.reading import InvalidSetting, setting_reader
from target_jumpcloud.shown import shown
from target_jumpcloud.zones import ABBREVIATIONS, find_zone, zone_label

if TYPE_CHECKING:
    from collections.abc import Mapping

DEFAULT_ACTIVATION_TIME: Final = dt.time(9, 0)
DEFAULT_SUSPENSION_TIME: Final = dt.time(23, 59)
DEFAULT_TIMEZONE: Final = "UTC"
_UTC: Final[dt.tzinfo] = dt.UTC
_CLOCK = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True)
class EffectiveDating:
    """The validated effective-dating settings (defaults: those of a config that sets none)."""

    enabled: bool = False  # setting `effective_dating`
    create_days_before_start: int | None = None  # None: no pre-hire window
    activate_on_start_date: bool = False
    activation_time: dt.time = DEFAULT_ACTIVATION_TIME
    suspension_time: dt.time = DEFAULT_SUSPENSION_TIME
    default_timezone: dt.tzinfo = field(default=dt.UTC)
    as_of: dt.datetime | None = None  # aware; only with dry_run

    def plan_time(self, clock_now: dt.datetime) -> dt.datetime:
        """The time the plan is made: `as_of` when set, else the run's clock (aware)."""
        if clock_now.tzinfo is None:
            raise ValueError("clock_now must be an aware datetime")
        return (self.as_of or clock_now).astimezone(dt.UTC)

    @property
    def default_timezone_name(self) -> str:
        """The fallback zone's IANA name."""
        return zone_label(self.default_timezone)


def read_effective_dating(
    config: Mapping[str, Any], *, dry_run: bool
) -> tuple[EffectiveDating, list[str]]:
    """Read the effective-dating settings, collecting every problem instead of the first.

    The settings parser adds the problems to its own list (and raises one `ConfigError` for
    the whole config). A setting with a problem takes its default in the value returned.

    Args:
        config: The raw config; other keys are ignored.
        dry_run: The validated `dry_run` setting.

    Returns:
        (settings, problems): each problem is one line that starts with the setting's name,
        in the order of the settings table.
    """
    problems: list[str] = []
    read = setting_reader(config, problems)

    settings = EffectiveDating(
        enabled=read("effective_dating", _flag, default=False),
        create_days_before_start=read("create_days_before_start", _days, default=None),
        activate_on_start_date=read("activate_on_start_date", _flag, default=False),
        activation_time=read("activation_time", _clock, DEFAULT_ACTIVATION_TIME),
        suspension_time=read("suspension_time", _clock, DEFAULT_SUSPENSION_TIME),
        default_timezone=read("default_timezone", _zone, _UTC),
        as_of=read("as_of", _as_of, default=None),
    )
    if settings.as_of is not None and not dry_run:
        problems.append(
            "as_of: allowed only with dry_run: true (it previews a run as of another time, "
            "so nothing may be written)"
        )
    return settings, problems


def _flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    raise InvalidSetting(f"expected true or false, got {shown(value)}")


def _days(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        raise InvalidSetting(
            f"expected a whole number of days (0 or more) or null, got {shown(value)}"
        )
    if number < 0:
        raise InvalidSetting(f"must not be negative, got {number}")
    return number


def _clock(value: object) -> dt.time:
    match = _CLOCK.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise InvalidSetting(f"expected a local time HH:MM (00:00 to 23:59), got {shown(value)}")
    return dt.time(int(match.group(1)), int(match.group(2)))


def _zone(value: object) -> dt.tzinfo:
    zone = find_zone(value) if isinstance(value, str) else None
    if zone is None:
        raise InvalidSetting(
            f"expected an IANA time zone name such as 'Africa/Lagos' (or one of the "
            f"abbreviations {', '.join(list(ABBREVIATIONS)[:4])}, ...), got {shown(value)}"
        )
    return zone


def _as_of(value: object) -> dt.datetime:
    if isinstance(value, str):
        try:
            when = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            when = None
        if when is not None and when.tzinfo is not None:
            return when.astimezone(dt.UTC)
    raise InvalidSetting(
        "expected an ISO 8601 date-time with its offset, such as "
        f"'2027-01-04T06:00:00+01:00' or '2027-01-04T05:00:00Z', got {shown(value)}"
    )
