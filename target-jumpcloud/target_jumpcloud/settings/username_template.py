"""The `username_template` and `username_max_length` settings: their checks.

It sits below the settings parser, which validates the settings with it, and below
`usernames`, which builds the names; so it imports nothing of the package. Its checks
return every problem instead of raising, so one run reports a whole bad config.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

USERNAME_LIMIT = 1024  # JumpCloud's maxLength for username
DEFAULT_TEMPLATE = "{first}.{last}"
MIN_MAX_LENGTH = 8  # `username_max_length` below this leaves too little of a name
#: The placeholders: the cleaned first and last name, the first letter of the cleaned first
#: name, and the work email's local part, cleaned.
PLACEHOLDERS = ("first", "last", "f", "email_local")

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_LITERAL = re.compile(r"[a-z0-9._-]*")


@dataclass(frozen=True)
class UsernameTemplate:
    """A parsed `username_template`: literal text around placeholders.

    `parts` alternates literals and placeholder names: literal, name, literal, ..., literal
    (so it always has an odd length). `usernames.template_base` builds a name from it.
    """

    text: str
    parts: tuple[str, ...]


def check_template(
    template: object, setting: str = "username_template"
) -> tuple[UsernameTemplate | None, list[str]]:
    """The parsed template and its problems (each starting with the setting's name)."""
    if not isinstance(template, str) or not template.strip():
        return None, [f"{setting}: expected a template such as '{DEFAULT_TEMPLATE}'"]
    text = template.strip()
    allowed = ", ".join(f"{{{name}}}" for name in PLACEHOLDERS)
    parts: list[str] = []
    problems: list[str] = []
    position = 0
    for match in _PLACEHOLDER.finditer(text):
        parts.append(text[position : match.start()])
        name = match.group(1)
        if name not in PLACEHOLDERS:
            problems.append(
                f"{setting}: unknown placeholder {{{name}}} in {text!r}; allowed: {allowed}"
            )
        parts.append(name)
        position = match.end()
    parts.append(text[position:])
    literals = parts[::2]
    if any("{" in literal or "}" in literal for literal in literals):
        problems.append(f"{setting}: unbalanced brace in {text!r}")
    elif len(parts) == 1:
        problems.append(f"{setting}: {text!r} has no placeholder; use some of {allowed}")
    else:
        problems.extend(
            f"{setting}: the text between placeholders may hold only a-z, 0-9, '.', '_' "
            f"and '-' (got {literal!r} in {text!r})"
            for literal in literals
            if _LITERAL.fullmatch(literal) is None
        )
    if problems:
        return None, problems
    return UsernameTemplate(text, tuple(parts)), []


def check_max_length(
    value: object, setting: str = "username_max_length"
) -> tuple[int | None, list[str]]:
    """`username_max_length`: None (no cap) or an integer from 8 to 1024 (text accepted)."""
    if value is None or value == "":
        return None, []
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if number is None:
        return None, [f"{setting}: expected an integer of at least {MIN_MAX_LENGTH} or null"]
    if not MIN_MAX_LENGTH <= number <= USERNAME_LIMIT:
        return None, [
            f"{setting}: must be between {MIN_MAX_LENGTH} and {USERNAME_LIMIT}, got {number}"
        ]
    return number, []


DEFAULT_USERNAME_TEMPLATE = UsernameTemplate(DEFAULT_TEMPLATE, ("", "first", ".", "last", ""))
