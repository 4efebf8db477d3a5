"""The leaver settings (docs/leavers.md), read and checked into one frozen value.

`read_leaver_settings` returns every problem instead of stopping at the first, each one line
that starts with the setting's name, like `read_effective_dating`: the settings parser adds
them to its own and raises one `ConfigError` for the whole config. Their declarations for
`--about` and Meltano are in `singer/config_schema.py`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from target_jumpcloud.settings.reading import InvalidSetting, setting_reader
from target_jumpcloud.shown import shown

if TYPE_CHECKING:
    from collections.abc import Mapping

#: A Deel profile id: a UUID, any case (the default `out_of_scope_id_pattern`).
DEFAULT_ID_PATTERN: Final = (
    "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
DEFAULT_OUT_OF_SCOPE_AFTER: Final = 2


class OutOfScopeMode(StrEnum):
    """What a run does with accounts that Deel's complete listing no longer backs."""

    REPORT = "report"  # list them in the report; nothing is written
    SUSPEND = "suspend"  # count the runs that missed them, then suspend


class LeaverStep(StrEnum):
    """One step run for a leaver after the suspension, in this order."""

    REMOVE_GROUPS = "remove_groups"  # leave every group the sync's ledger names
    RESET_MFA = "reset_mfa"  # POST /systemusers/{id}/resetmfa
    EXPIRE_PASSWORD = "expire_password"  # noqa: S105 - a step name; POST /systemusers/{id}/expire


DEFAULT_LEAVER_STEPS: Final = (LeaverStep.REMOVE_GROUPS,)


def _default_pattern() -> re.Pattern[str]:
    return re.compile(DEFAULT_ID_PATTERN)


@dataclass(frozen=True)
class LeaverSettings:
    """The validated leaver settings (defaults: those of a config that sets none)."""

    out_of_scope: OutOfScopeMode = OutOfScopeMode.REPORT
    out_of_scope_after: int = DEFAULT_OUT_OF_SCOPE_AFTER
    # Matched in full against a user's employeeIdentifier: only ids that look like Deel's
    # can be out of scope (an id from another HR system never is).
    out_of_scope_id_pattern: re.Pattern[str] = field(default_factory=_default_pattern)
    protected_group: str | None = None  # members are never suspended as out of scope
    leaver_steps: tuple[LeaverStep, ...] = DEFAULT_LEAVER_STEPS

    def is_deel_id(self, employee_identifier: str) -> bool:
        """Whether an employeeIdentifier looks like a Deel profile id (the pattern, in full)."""
        return self.out_of_scope_id_pattern.fullmatch(employee_identifier) is not None


def read_leaver_settings(config: Mapping[str, Any]) -> tuple[LeaverSettings, list[str]]:
    """Read the leaver settings, collecting every problem instead of the first.

    A setting with a problem takes its default in the value returned.

    Returns:
        (settings, problems): each problem is one line that starts with the setting's name.
    """
    problems: list[str] = []
    read = setting_reader(config, problems)

    settings = LeaverSettings(
        out_of_scope=read("out_of_scope", _mode, OutOfScopeMode.REPORT),
        out_of_scope_after=read("out_of_scope_after", _runs, DEFAULT_OUT_OF_SCOPE_AFTER),
        out_of_scope_id_pattern=read("out_of_scope_id_pattern", _pattern, _default_pattern()),
        protected_group=read("protected_group", _group_name, None),
        leaver_steps=read("leaver_steps", _steps, DEFAULT_LEAVER_STEPS),
    )
    return settings, problems


def _mode(value: object) -> OutOfScopeMode:
    text = value.strip().lower() if isinstance(value, str) else None
    for mode in OutOfScopeMode:
        if text == mode.value:
            return mode
    raise InvalidSetting(f"expected 'report' or 'suspend', got {shown(value)}")


def _runs(value: object) -> int:
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if number is None or number < 1:
        raise InvalidSetting(f"expected a whole number of runs, 1 or more, got {shown(value)}")
    return number


def _pattern(value: object) -> re.Pattern[str]:
    if not isinstance(value, str):
        raise InvalidSetting(f"expected a regular expression (text), got {shown(value)}")
    try:
        return re.compile(value.strip())
    except re.error as exc:
        raise InvalidSetting(f"not a valid regular expression ({exc})") from None


def _group_name(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidSetting(f"expected a JumpCloud user group's name, got {shown(value)}")
    return " ".join(value.split())


def _steps(value: object) -> tuple[LeaverStep, ...]:
    if isinstance(value, str):  # an environment value: a JSON list or a comma list
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                raise InvalidSetting(f"expected a list of steps, got {shown(value)}") from None
        else:
            value = [part for part in text.split(",") if part.strip()]
    if not isinstance(value, list | tuple):
        raise InvalidSetting(f"expected a list of steps, got {shown(value)}")
    known = {step.value: step for step in LeaverStep}
    chosen: set[LeaverStep] = set()
    unknown: list[str] = []
    for item in value:
        step = known.get(item.strip()) if isinstance(item, str) else None
        if step is None:
            unknown.append(shown(item))
        else:
            chosen.add(step)
    if unknown:
        raise InvalidSetting(
            f"unknown step(s) {', '.join(unknown)}; the steps are {', '.join(known)}"
        )
    return tuple(step for step in LeaverStep if step in chosen)  # always run in this order
