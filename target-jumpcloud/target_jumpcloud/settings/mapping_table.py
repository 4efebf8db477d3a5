"""The `mapping` setting: the default table (docs/sync-rules.md), the attribute names, its checks.

It sits below the settings parser, which validates the setting with it, and below the mapper
and the directory, which read its constants; so it imports nothing of the package. Its checks
return every problem instead of stopping at the first, so one run reports a whole bad config.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

STATE_KEY = "state"  # the pseudo-attribute whose path holds the active flag
EMAIL = "email"
EMPLOYEE_ID = "employeeIdentifier"
FIRST_NAME = "firstname"
LAST_NAME = "lastname"
START_DATE_KEY = "start_date"  # read for the order of usernames (docs/sync-rules.md), never sent
LAST_DAY_KEY = "last_day"  # read for effective dating (docs/effective-dates.md), never sent
TIMEZONE_KEY = "timezone"  # the zone the dates are read in (docs/effective-dates.md), never sent
REQUIRED_KEYS = (EMAIL, EMPLOYEE_ID, STATE_KEY)
#: Keys the mapping reads that are not JumpCloud attributes: never compared or sent.
READ_ONLY_KEYS = (STATE_KEY, START_DATE_KEY, LAST_DAY_KEY, TIMEZONE_KEY)
#: The manager's profile id, sent as the manager's JumpCloud `_id` (docs/directory-attributes.md).
MANAGER = "manager"
CUSTOM_PREFIX = (
    "attributes."  # docs/directory-attributes.md: `attributes.<name>` syncs one custom attribute
)
CUSTOM_FIELD = "attributes"  # JumpCloud's list of custom attributes (read and sent whole)
CUSTOM_NAME_LIMIT = 31  # JumpCloud: "fewer than 32 characters"
_CUSTOM_NAME = re.compile(rf"[A-Za-z0-9]{{1,{CUSTOM_NAME_LIMIT}}}")

TEXT_LIMIT = 1024  # JumpCloud's maxLength for every mapped text attribute (and email)
EMPLOYEE_ID_LIMIT = 256  # employeeIdentifier's maxLength

DEFAULT_MAPPING: Mapping[str, str] = MappingProxyType(
    {
        EMAIL: "work_email",
        FIRST_NAME: "first_name",
        LAST_NAME: "last_name",
        "displayname": "full_name",
        "jobTitle": "job_title",
        "department": "department.name",
        "location": "work_location",
        "costCenter": "team",
        "employeeType": "hiring_type",
        "company": "client_legal_entity.name",
        EMPLOYEE_ID: "id",
        STATE_KEY: "active",
        START_DATE_KEY: "start_date",
        LAST_DAY_KEY: "last_day",
        TIMEZONE_KEY: "timezone",
    }
)

# The plain-string systemuser attributes a record may fill. Left out on purpose: `username`
# (generated, rule 5), password/key fields, external-directory fields, and every boolean,
# number, array or object attribute. `manager` (a JumpCloud user id, resolved from a profile
# id) and `attributes.<name>` (an item of the custom attribute list) are special keys.
SYNCABLE_ATTRIBUTES: frozenset[str] = frozenset(
    {
        EMAIL,
        EMPLOYEE_ID,
        FIRST_NAME,
        "middlename",
        LAST_NAME,
        "displayname",
        "jobTitle",
        "department",
        "company",
        "costCenter",
        "location",
        "employeeType",
        "description",
        "alternateEmail",
        "managedAppleId",
    }
)


def check_mapping(overrides: object) -> tuple[dict[str, str], list[str]]:
    """`overrides` merged over `DEFAULT_MAPPING` (a key set to null stops syncing it).

    Returns:
        The merged mapping and every problem found (each starting with "mapping: "): a
        required key that lost its path, an unknown attribute, a path that is not dotted.
        The mapping holds only the valid entries.
    """
    merged = dict(DEFAULT_MAPPING)
    problems: list[str] = []
    if overrides is None:
        return merged, problems
    if not isinstance(overrides, Mapping):
        return merged, ["mapping: expected an object from JumpCloud attribute to record path"]
    for key, path in overrides.items():
        problem = _attribute_name_problem(key)
        if problem is None and path is None:
            if key in REQUIRED_KEYS:
                problem = f"mapping: {key} must have a source path (it cannot be null)"
            else:
                merged.pop(key, None)
                continue
        if problem is None:
            text, problem = _checked_path(key, path)
            if text is not None:
                merged[key] = text
        if problem is not None:
            problems.append(problem)
    problems.extend(_custom_name_clashes(merged))
    return merged, problems


def custom_name(key: str) -> str | None:
    """The custom attribute a mapping key syncs (`attributes.costCode` → `costCode`), or None."""
    return key[len(CUSTOM_PREFIX) :] if key.startswith(CUSTOM_PREFIX) else None


def _custom_name_clashes(mapping: Mapping[str, str]) -> list[str]:
    """JumpCloud's custom attribute names must be unique; case is not trusted to tell them apart."""
    seen: dict[str, str] = {}
    problems = []
    for key in mapping:
        name = custom_name(key)
        if name is None:
            continue
        other = seen.setdefault(name.casefold(), key)
        if other != key:
            problems.append(
                f"mapping: {other} and {key} name the same custom attribute "
                "(names must be unique, ignoring case)"
            )
    return problems


def _attribute_name_problem(key: object) -> str | None:
    """Names JumpCloud would not store as plain text are refused, with a hint for case slips."""
    if not isinstance(key, str):
        return f"mapping: attribute names must be strings, got {key!r}"
    if key in READ_ONLY_KEYS or key == MANAGER or key in SYNCABLE_ATTRIBUTES:
        return None
    name = custom_name(key)
    if name is not None:
        if _CUSTOM_NAME.fullmatch(name) is None:
            return (
                f"mapping: {key!r}: a custom attribute name must be 1-{CUSTOM_NAME_LIMIT} "
                "letters or digits (no spaces, dots, dashes or other characters)"
            )
        return None
    if key == "username":
        return "mapping: username is generated by the sync and cannot be mapped"
    allowed = sorted(SYNCABLE_ATTRIBUTES | {*READ_ONLY_KEYS, MANAGER})
    hint = next((name for name in allowed if name.casefold() == key.casefold()), None)
    if hint is None and key.casefold().startswith(CUSTOM_PREFIX):
        hint = CUSTOM_PREFIX + key[len(CUSTOM_PREFIX) :]
    suffix = (
        f"; did you mean {hint!r}?"
        if hint
        else f"; allowed: {', '.join(allowed)}, or attributes.<name> for a custom attribute"
    )
    return f"mapping: unknown JumpCloud attribute {key!r}{suffix}"


def _checked_path(key: str, path: object) -> tuple[str | None, str | None]:
    """A path is a non-empty dotted string without empty steps (`department.name`)."""
    if not isinstance(path, str) or not path.strip():
        return None, f"mapping: {key}: expected a dotted record path, got {path!r}"
    text = path.strip()
    if any(not step.strip() for step in text.split(".")):
        return None, f"mapping: {key}: {text!r} is not a dotted path (empty step)"
    return text, None


def synced_attributes(mapping: Mapping[str, str]) -> list[str]:
    """The JumpCloud attributes a mapping syncs (its keys but the read-only ones)."""
    return [key for key in mapping if key not in READ_ONLY_KEYS]
