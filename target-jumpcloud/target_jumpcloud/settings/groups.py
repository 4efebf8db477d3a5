"""The settings of groups from HR data (docs/groups.md), read and checked into one value.

`read_group_settings` reads `group_rules`, `create_missing_groups`, `group_ledger_attribute`
and `max_group_removal_percent` from the raw config and returns every problem instead of
stopping at the first (one line each, starting with the setting's name), as
`effective_dating.read_effective_dating` does; the settings parser adds them to its own.

A rule is `{"group": TEMPLATE, "when": {ATTR: VALUE | [VALUES]}}`. TEMPLATE is literal text
with placeholders that name JumpCloud attributes the mapping produces (`{department}`,
`{attributes.costCode}`); `when` names such attributes too. So a typo in a rule can never
silently put nobody (or everybody) in a group: it stops the run before any connection.
"""

from __future__ import annotations

import json
import math
import re
import string
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from target_jumpcloud.settings.mapping_table import (
    CUSTOM_NAME_LIMIT,
    MANAGER,
    READ_ONLY_KEYS,
    custom_name,
)
from target_jumpcloud.shown import shown

if TYPE_CHECKING:
    from collections.abc import Mapping

DEFAULT_LEDGER_ATTRIBUTE: Final = "deelSyncGroups"
DEFAULT_MAX_GROUP_REMOVAL_PERCENT: Final = 20.0
#: JumpCloud's longest group name (not documented: the strict reading).
GROUP_NAME_LIMIT: Final = 255
#: Custom attributes other parts of the sync keep (docs/leavers.md); the ledger must not be one.
RESERVED_ATTRIBUTES: Final = ("deelSyncMissing", "deelSyncLeaver")
_CUSTOM_NAME: Final = re.compile(rf"[A-Za-z0-9]{{1,{CUSTOM_NAME_LIMIT}}}")
_PERCENT_MAX: Final = 100


@dataclass(frozen=True)
class GroupRule:
    """One rule: the template's parts and the `when` conditions.

    `parts` alternates literal text and placeholders: `(literal, attribute | None)` pairs, in
    order (the attribute is a mapping key: `department`, `attributes.costCode`). `when` maps
    an attribute to the values (trimmed) any one of which it must equal.
    """

    template: str
    parts: tuple[tuple[str, str | None], ...]
    when: tuple[tuple[str, frozenset[str]], ...] = ()

    @property
    def placeholders(self) -> tuple[str, ...]:
        """The attributes the template fills in, in order."""
        return tuple(name for _, name in self.parts if name is not None)


@dataclass(frozen=True)
class GroupSettings:
    """The validated group settings (defaults: a config that sets none: no groups at all)."""

    rules: tuple[GroupRule, ...] = ()
    create_missing: bool = False
    ledger_attribute: str = DEFAULT_LEDGER_ATTRIBUTE
    max_removal_percent: float = DEFAULT_MAX_GROUP_REMOVAL_PERCENT

    @property
    def enabled(self) -> bool:
        """Whether the sync manages group memberships at all (some rule is set)."""
        return bool(self.rules)


def group_attributes(mapping: Mapping[str, str]) -> list[str]:
    """The mapping keys a rule may name: the JumpCloud attributes the mapping produces.

    Not the read-only keys (`state`, dates, zone: never sent) nor `manager` (a user id).
    """
    return [key for key in mapping if key not in READ_ONLY_KEYS and key != MANAGER]


def read_group_settings(
    config: Mapping[str, Any], mapping: Mapping[str, str]
) -> tuple[GroupSettings, list[str]]:
    """The group settings of `config`, checked against the (merged) `mapping`.

    Returns:
        The settings (defaults for each one that is bad) and every problem found.
    """
    problems: list[str] = []
    allowed = group_attributes(mapping)
    rules = _rules(config.get("group_rules"), allowed, problems)
    create_missing = _flag(config, "create_missing_groups", problems)
    ledger = _ledger_attribute(config.get("group_ledger_attribute"), mapping, problems)
    percent = _percent(config.get("max_group_removal_percent"), problems)
    settings = GroupSettings(
        rules=rules,
        create_missing=create_missing,
        ledger_attribute=ledger,
        max_removal_percent=percent,
    )
    return settings, problems


def _rules(raw: object, allowed: list[str], problems: list[str]) -> tuple[GroupRule, ...]:
    setting = "group_rules"
    if raw is None or raw == "":
        return ()
    if isinstance(raw, str):  # an environment variable holds the JSON text
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            problems.append(f"{setting}: not a valid JSON list ({exc.msg})")
            return ()
    if not isinstance(raw, list):
        problems.append(
            f'{setting}: expected a list of rules like {{"group": "Dept - {{department}}"}}, '
            f"got {type(raw).__name__}"
        )
        return ()
    rules = []
    for number, item in enumerate(raw, start=1):
        rule = _rule(item, f"{setting}[{number}]", allowed, problems)
        if rule is not None:
            rules.append(rule)
    return tuple(rules)


def _rule(item: object, where: str, allowed: list[str], problems: list[str]) -> GroupRule | None:
    if not isinstance(item, dict):
        problems.append(f'{where}: expected an object {{"group": TEMPLATE, "when": {{...}}}}')
        return None
    unknown = sorted(str(key) for key in item if key not in {"group", "when"})
    before = len(problems)
    if unknown:
        problems.append(f"{where}: unknown key(s) {', '.join(unknown)} (a rule has group and when)")
    template = item.get("group")
    parts: tuple[tuple[str, str | None], ...] = ()
    if not isinstance(template, str) or not template.strip():
        problems.append(f"{where}: group: the template is empty (give a group name)")
    else:
        parts = _template_parts(template, where, allowed, problems)
        literal = " ".join("".join(text for text, _ in parts).split())
        if not any(name for _, name in parts) and len(literal) > GROUP_NAME_LIMIT:
            problems.append(
                f"{where}: group: {len(literal)} characters, more than JumpCloud's "
                f"{GROUP_NAME_LIMIT} for a group name"
            )
    when = _when(item.get("when"), where, allowed, problems)
    if len(problems) > before or not isinstance(template, str):
        return None
    return GroupRule(template=template, parts=parts, when=when)


def _unknown(name: str, allowed: list[str]) -> str:
    hint = next((key for key in allowed if key.casefold() == name.casefold()), None)
    if hint is not None:
        return f"did you mean {hint!r}?"
    return f"the mapping produces: {', '.join(allowed)}"


def _template_parts(
    template: str, where: str, allowed: list[str], problems: list[str]
) -> tuple[tuple[str, str | None], ...]:
    """The literal/placeholder pairs of a template; `{{` and `}}` are literal braces."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        problems.append(f"{where}: group: {template!r} is not a valid template ({exc})")
        return ()
    parts: list[tuple[str, str | None]] = []
    for literal, name, spec, conversion in parsed:
        if name is None:
            parts.append((literal, None))
            continue
        field = name.strip()
        if spec or conversion:
            problems.append(
                f"{where}: group: {{{name}...}} has a format or conversion; write just {{{field}}}"
            )
        elif not field:
            problems.append(f"{where}: group: an empty placeholder {{}} (name an attribute)")
        elif field not in allowed:
            problems.append(
                f"{where}: group: unknown placeholder {{{field}}}: {_unknown(field, allowed)}"
            )
        parts.append((literal, field))
    return tuple(parts)


def _values(raw: object) -> list[str] | None:
    """A `when` value or list of values as text (booleans as true/false, as sent)."""
    items = raw if isinstance(raw, list) else [raw]
    values = []
    for value in items:
        if isinstance(value, bool):
            values.append("true" if value else "false")
        elif isinstance(value, str | int) and not isinstance(value, bool):
            text = str(value).strip()
            if not text:
                return None
            values.append(text)
        else:
            return None
    return values or None


def _when(
    raw: object, where: str, allowed: list[str], problems: list[str]
) -> tuple[tuple[str, frozenset[str]], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        problems.append(f"{where}: when: expected an object from attribute to value(s)")
        return ()
    conditions = []
    for attribute, value in raw.items():
        name = str(attribute).strip()
        if name not in allowed:
            problems.append(
                f"{where}: when: {name!r} is not an attribute the mapping produces: "
                f"{_unknown(name, allowed)}"
            )
            continue
        values = _values(value)
        if values is None:
            problems.append(
                f"{where}: when: {name}: expected a non-empty text or a list of them, "
                f"got {shown(value)}"
            )
            continue
        conditions.append((name, frozenset(values)))
    return tuple(conditions)


def _flag(config: Mapping[str, Any], name: str, problems: list[str]) -> bool:
    value = config.get(name)
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    problems.append(f"{name}: expected true or false, got {shown(value)}")
    return False


def _ledger_attribute(raw: object, mapping: Mapping[str, str], problems: list[str]) -> str:
    setting = "group_ledger_attribute"
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return DEFAULT_LEDGER_ATTRIBUTE
    name = raw.strip() if isinstance(raw, str) else raw
    if not isinstance(name, str) or _CUSTOM_NAME.fullmatch(name) is None:
        problems.append(
            f"{setting}: {shown(raw)} is not a custom attribute name "
            f"(1-{CUSTOM_NAME_LIMIT} letters or digits)"
        )
        return DEFAULT_LEDGER_ATTRIBUTE
    for key in mapping:
        mapped = custom_name(key)
        if mapped is not None and mapped.casefold() == name.casefold():
            problems.append(
                f"{setting}: {name} is also mapped as {key}; the ledger needs a custom "
                "attribute of its own"
            )
    if name.casefold() in {reserved.casefold() for reserved in RESERVED_ATTRIBUTES}:
        problems.append(f"{setting}: {name} is kept by the sync for another purpose")
    return name


def _percent(raw: object, problems: list[str]) -> float:
    setting = "max_group_removal_percent"
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return DEFAULT_MAX_GROUP_REMOVAL_PERCENT
    value: float | None = None
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        value = float(raw)
    elif isinstance(raw, str):
        try:
            value = float(raw.strip().removesuffix("%"))
        except ValueError:
            value = None
    if value is None or not math.isfinite(value) or not 0 <= value <= _PERCENT_MAX:
        problems.append(f"{setting}: expected a number from 0 to 100, got {shown(raw)}")
        return DEFAULT_MAX_GROUP_REMOVAL_PERCENT
    return value
