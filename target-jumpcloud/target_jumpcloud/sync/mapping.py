"""Map one worker record to the JumpCloud user it should produce (docs/sync-rules.md).

Everything here looks at a single record. The rules that need the whole stream (duplicate
profile ids and work emails) live in `plan/dedupe.py`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from target_jumpcloud.model import DesiredUser, RejectedRecord
from target_jumpcloud.settings.mapping_table import (
    DEFAULT_MAPPING,
    EMAIL,
    EMPLOYEE_ID,
    EMPLOYEE_ID_LIMIT,
    FIRST_NAME,
    LAST_DAY_KEY,
    LAST_NAME,
    MANAGER,
    READ_ONLY_KEYS,
    REQUIRED_KEYS,
    START_DATE_KEY,
    STATE_KEY,
    TEXT_LIMIT,
    TIMEZONE_KEY,
    check_mapping,
    custom_name,
)
from target_jumpcloud.settings.sync_settings import ConfigError

__all__ = [
    "DEFAULT_MAPPING",
    "EMAIL",
    "EMPLOYEE_ID",
    "STATE_KEY",
    "RecordMapper",
    "date_value",
    "is_plausible_email",
    "map_record",
    "merge_mapping",
    "record_mapper",
    "resolve_path",
]

_LABELS = {EMAIL: "work email", EMPLOYEE_ID: "profile id", STATE_KEY: "active flag"}
# local part: anything but whitespace, "@" and the characters that mark a display-name form
# ("Ada <ada@x.io>", "a,b@x.io"); domain: labels of unicode letters/digits with inner hyphens
# (unambiguous, so matching stays linear), at least two, the last one not all digits.
_LABEL = r"[^\W_]+(?:-+[^\W_]+)*"
_EMAIL_RE = re.compile(rf'[^\s@<>()\[\]\\,;:"]+@(?:{_LABEL}\.)+(?!\d+$){_LABEL}')
_SHOWN_MAX = 80
_SURROGATE = re.compile("[\ud800-\udfff]")  # a JSON "\\ud800" escape gives one: never sent


_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def merge_mapping(overrides: Mapping[str, str | None] | None) -> dict[str, str]:
    """Merge `overrides` over `DEFAULT_MAPPING`; a key set to null stops syncing it.

    Raises:
        ConfigError: every problem `check_mapping` finds, at once.
    """
    merged, problems = check_mapping(overrides)
    if problems:
        raise ConfigError(*problems)
    return merged


@functools.lru_cache(maxsize=256)
def _steps(path: str) -> tuple[str, ...]:
    """A dotted path split once: the mapping's few paths are resolved for every record."""
    return tuple(path.split("."))


def resolve_path(record: Mapping[str, Any], path: str) -> Any:  # noqa: ANN401 - record values are arbitrary JSON
    """The value at dotted `path`; a missing key or a step into a non-object gives None."""
    return _at(record, _steps(path))


def is_plausible_email(text: str) -> bool:
    """`local@domain.tld` with no whitespace: the contract's plausibility check.

    Deliberately loose on the local part (mail systems differ) and strict on the domain:
    dot-separated labels of letters (unicode included), digits and inner hyphens, none
    empty (so no trailing dot), and a top-level label that is not all digits.
    """
    return text.isprintable() and _EMAIL_RE.fullmatch(text) is not None


def _as_text(value: Any) -> tuple[str | None, str | None]:  # noqa: ANN401 - arbitrary JSON
    """(trimmed text or None, None) for a scalar; (None, kind) for an object or array.

    Numbers become their text; booleans "true"/"false" (JSON spelling, not Python's).
    """
    text: str | None = None
    kind: str | None = None
    if isinstance(value, str):
        text = value.strip() or None
        if text is not None and not text.isascii() and _SURROGATE.search(text):
            text, kind = None, "invalid Unicode (a lone surrogate)"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int | float | Decimal):
        text = str(value)
    elif isinstance(value, Mapping):
        kind = "an object"
    elif isinstance(value, list | tuple):
        kind = "a list"
    elif value is not None:
        kind = f"a {type(value).__name__} value"
    return text, kind


def _shown(value: object) -> str:
    """A value quoted for a reason, shortened so one bad record cannot flood the report."""
    text = repr(value)
    return text if len(text) <= _SHOWN_MAX else text[: _SHOWN_MAX - 3] + "..."


def _active_flag(value: Any) -> bool | None:  # noqa: ANN401 - arbitrary JSON
    """True/False for a boolean or the strings "true"/"false" in any case; else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in {"true", "false"}:
            return lowered == "true"
    return None


def _required_text(
    record: Mapping[str, Any], key: str, path: str, problems: list[str]
) -> str | None:
    """The text at a required key's path, or None with the problem appended."""
    label = _LABELS[key]
    text, kind = _as_text(resolve_path(record, path))
    if kind is not None:
        problems.append(f"{label} ({path}) is {kind}, not text")
    elif text is None:
        problems.append(f"no {label} ({path} is empty)")
    return text


def map_record(
    record: Mapping[str, Any], mapping: Mapping[str, str], position: int
) -> DesiredUser | RejectedRecord:
    """Validate and map one record; a failing record becomes a `RejectedRecord`.

    Every problem with the email, the profile id and the active flag is listed in the
    reason, so one look at the report is enough to fix the HR data. Optional attributes never
    reject a record: too long → cut with a warning; an object or array → left unsynced with
    a warning (a mapping slip should not stop suspensions for everyone).
    """
    return record_mapper(mapping)(record, position)


def record_mapper(mapping: Mapping[str, str]) -> RecordMapper:
    """The `RecordMapper` of a mapping (one per distinct mapping, kept for the process)."""
    try:
        return _record_mapper(tuple(mapping.items()))
    except TypeError:  # an unhashable path: not a valid mapping, but map it all the same
        return RecordMapper(mapping)


@functools.lru_cache(maxsize=16)
def _record_mapper(items: tuple[tuple[str, str], ...]) -> RecordMapper:
    return RecordMapper(dict(items))


# Equal attribute values are shared between records up to this many distinct values per
# attribute (past it, an attribute is taken for one whose values rarely repeat, like names).
_SHARED_VALUES = 4096
_SHARED_LENGTH = 64  # longer values are not worth looking up


class RecordMapper:
    """`map_record` for one mapping, prepared once: it runs for every worker record.

    The paths are split once, and equal attribute values are shared between records: 100,000
    workers have a few hundred departments, job titles and locations, and keeping one string
    per distinct value instead of one per worker takes tens of megabytes off a large run.
    """

    def __init__(self, mapping: Mapping[str, str]) -> None:
        self.mapping = mapping
        # Every attribute in mapping order, None until set (email and employeeIdentifier are
        # set from the required values), copied for each record.
        self._template: dict[str, str | None] = dict.fromkeys(
            key for key in mapping if key not in READ_ONLY_KEYS
        )
        # (key, path, first step, other steps, shared values) of the optional attributes.
        self._optional: tuple[tuple[str, str, str, tuple[str, ...], dict[str, str]], ...] = tuple(
            (key, path, _steps(path)[0], _steps(path)[1:], {})
            for key, path in mapping.items()
            if key not in REQUIRED_KEYS and key not in READ_ONLY_KEYS
        )
        self._required = tuple(_steps(mapping[key]) for key in REQUIRED_KEYS)
        start_path = mapping.get(START_DATE_KEY)
        self._start_date = (start_path, _steps(start_path)) if start_path else None
        last_path = mapping.get(LAST_DAY_KEY)
        self._last_day = (last_path, _steps(last_path)) if last_path else None
        zone_path = mapping.get(TIMEZONE_KEY)
        self._timezone = _steps(zone_path) if zone_path else None
        # The special keys (docs/directory-attributes.md) are read like any text, then moved out of
        # `attributes`.
        self._manager = MANAGER in mapping
        self._custom = tuple((key, name) for key in mapping if (name := custom_name(key)))
        self._special = self._manager or bool(self._custom)

    def __call__(self, record: Mapping[str, Any], position: int) -> DesiredUser | RejectedRecord:
        """Validate and map one record (see `map_record`)."""
        email, profile_id, active = (_at(record, steps) for steps in self._required)
        # The common case, decided here without the general checks below (which would find
        # nothing to report): ASCII email and profile id, a boolean flag.
        if (
            email.__class__ is str
            and profile_id.__class__ is str
            and active.__class__ is bool
            and email.isascii()
            and profile_id.isascii()
        ):
            email, profile_id = email.strip(), profile_id.strip()
            if (
                email
                and profile_id
                and len(email) <= TEXT_LIMIT
                and len(profile_id) <= EMPLOYEE_ID_LIMIT
                and is_plausible_email(email)
            ):
                return self._desired(
                    record, position, email=email, profile_id=profile_id, active=active
                )
        problems: list[str] = []
        email, profile_id, active = _required_values(record, self.mapping, problems)
        # (The None checks only narrow the types: each None has already added a problem.)
        if problems or email is None or profile_id is None or active is None:
            return RejectedRecord(
                position=position, profile_id=profile_id, email=email, reason="; ".join(problems)
            )
        return self._desired(record, position, email=email, profile_id=profile_id, active=active)

    def _desired(
        self,
        record: Mapping[str, Any],
        position: int,
        *,
        email: str,
        profile_id: str,
        active: bool,
    ) -> DesiredUser:
        attributes, warnings = self._optional_values(record)
        attributes[EMAIL] = email
        attributes[EMPLOYEE_ID] = profile_id
        start_date = None
        if self._start_date is not None:
            path, steps = self._start_date
            start_date = date_value(_at(record, steps), START_DATE_KEY, path, warnings)
        last_day = None
        if self._last_day is not None:
            path, steps = self._last_day
            last_day = date_value(_at(record, steps), LAST_DAY_KEY, path, warnings)
        timezone = None
        if self._timezone is not None:
            zone = _at(record, self._timezone)
            timezone = zone.strip() or None if isinstance(zone, str) else None
        manager: str | None = None
        custom: dict[str, str | None] | None = None
        if self._special:
            manager = attributes.pop(MANAGER, None)
            if self._custom:
                custom = {name: attributes.pop(key) for key, name in self._custom}
        return DesiredUser(
            position=position,
            profile_id=profile_id,
            email=email,
            active=active,
            attributes=attributes,
            first_name=attributes.get(FIRST_NAME),
            last_name=attributes.get(LAST_NAME),
            start_date=start_date,
            last_day=last_day,
            timezone=timezone,
            warnings=tuple(warnings),
            manager=manager,
            custom_attributes=custom,
        )

    def _optional_values(
        self, record: Mapping[str, Any]
    ) -> tuple[dict[str, str | None], list[str]]:
        """The optional attributes (trimmed, cut, shared) and the warnings they raise."""
        attributes = self._template.copy()
        warnings: list[str] = []
        mapping = record.__class__ is dict or isinstance(record, Mapping)
        for key, path, first, rest, shared in self._optional:
            value: Any = record.get(first) if mapping else None  # (resolve_path, inline)
            for step in rest:
                if value.__class__ is not dict and not isinstance(value, Mapping):
                    value = None
                    break
                value = value.get(step)
            if value.__class__ is str:
                # A value seen before as it is: kept values passed every check already (and a
                # non-ASCII one would otherwise pay `_as_text`'s lone-surrogate search).
                known = shared.get(value)
                if known is not None:
                    attributes[key] = known
                    continue
                if value.isascii():  # the common case, as _as_text
                    text: str | None = value.strip() or None
                    if text is not None:
                        known = shared.get(text)  # (only short texts are kept: nothing to cut)
                        text = (
                            known if known is not None else _kept(key, path, text, shared, warnings)
                        )
                    attributes[key] = text
                    continue
            text, kind = _as_text(value)
            if kind is not None:
                warnings.append(f"{key} not synced: {path} is {kind}, not text")
            elif text is not None:
                known = shared.get(text)
                text = known if known is not None else _kept(key, path, text, shared, warnings)
            attributes[key] = text
        return attributes, warnings


def date_value(value: object, key: str, path: str, warnings: list[str]) -> str | None:
    """A date-valued key as `YYYY-MM-DD`: a date-time is cut to its date.

    Anything else that is not empty is treated as missing, with a warning on the record.
    """
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        head = text[:10]
        if _DATE_RE.fullmatch(head) and (len(text) == len(head) or text[10] in "T "):
            try:
                return date.fromisoformat(head).isoformat()
            except ValueError:
                pass
    elif value is None:
        return None
    warnings.append(f"{key} ignored: {path} is {_shown(value)}, not a date (YYYY-MM-DD)")
    return None


def _at(record: Mapping[str, Any], steps: tuple[str, ...]) -> Any:  # noqa: ANN401 - any JSON
    """`resolve_path` with the path split already."""
    value: Any = record
    for step in steps:
        if value.__class__ is not dict and not isinstance(value, Mapping):
            return None
        value = value.get(step)
    return value


def _kept(key: str, path: str, text: str, shared: dict[str, str], warnings: list[str]) -> str:
    """A text seen for the first time: cut to the limit (with a warning), else shared."""
    if len(text) > TEXT_LIMIT:
        warnings.append(f"{key} cut to {TEXT_LIMIT} characters ({path} had {len(text)})")
        return text[:TEXT_LIMIT].rstrip()
    if len(text) <= _SHARED_LENGTH and len(shared) < _SHARED_VALUES:
        shared[text] = text
    return text


def _required_values(
    record: Mapping[str, Any], mapping: Mapping[str, str], problems: list[str]
) -> tuple[str | None, str | None, bool | None]:
    """Email, profile id and active flag; what is wrong with them goes to `problems`."""
    email = _required_text(record, EMAIL, mapping[EMAIL], problems)
    if email is not None:
        if len(email) > TEXT_LIMIT:
            problems.append(f"work email is longer than {TEXT_LIMIT} characters ({len(email)})")
        elif not is_plausible_email(email):
            problems.append(f"work email {_shown(email)} is not a valid address")

    profile_id = _required_text(record, EMPLOYEE_ID, mapping[EMPLOYEE_ID], problems)
    if profile_id is not None and len(profile_id) > EMPLOYEE_ID_LIMIT:
        problems.append(
            f"profile id is longer than {EMPLOYEE_ID_LIMIT} characters ({len(profile_id)})"
        )

    state_path = mapping[STATE_KEY]
    raw_active = resolve_path(record, state_path)
    active = _active_flag(raw_active)
    if active is None:
        if raw_active is None or (isinstance(raw_active, str) and not raw_active.strip()):
            problems.append(f"no active flag ({state_path} is empty)")
        else:
            problems.append(f"active flag {_shown(raw_active)} ({state_path}) is not true or false")
    return email, profile_id, active
