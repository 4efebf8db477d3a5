"""Generated usernames for new JumpCloud users (contract §§5, 11.5): a template, then a number.

The base comes from `username_template` (default `{first}.{last}`); usernames are handed
out by one `UsernameAllocator` seeded with every username JumpCloud already has, so a run
is deterministic and never reuses a name. `username_max_length` cuts the base before the
collision number is added, so base + number never exceeds it.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from anyascii import anyascii

from target_jumpcloud.settings import ConfigError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

USERNAME_LIMIT = 1024  # JumpCloud's maxLength for username
# A base is cut to this length so that base + a collision number still fits the limit.
BASE_LIMIT = 1000
DEFAULT_TEMPLATE = "{first}.{last}"
MIN_MAX_LENGTH = 8  # `username_max_length` below this leaves too little of a name

_NOT_KEPT = re.compile(r"[^a-z0-9-]+")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_LITERAL = re.compile(r"[a-z0-9._-]*")
_TRAILING = ".-_"  # stripped from a cut base: `alexandra.` is no one's name


def clean(text: str | None) -> str:
    """Transliterate to ASCII, lower-case, keep only a-z, 0-9 and '-', strip outer '-'.

    Examples: José → jose, Łukasz → lukasz, Ærø → aero, O'Brien → obrien,
    "van der Berg" → vanderberg. Symbols and emoji are dropped before transliteration:
    anyascii would spell them out (😀 → "grinning", ™ → "tm"), which no one expects in a
    username.
    """
    if not text:
        return ""
    if not text.isascii():
        text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("S"))
    return _NOT_KEPT.sub("", anyascii(text).lower()).strip("-")


def _email_local(email: str) -> str:
    return email.rpartition("@")[0] or email


# What each placeholder is made of: (cleaned first name, cleaned last name, email) → text.
_PLACEHOLDERS: dict[str, Callable[[str, str, str], str]] = {
    "first": lambda first, last, email: first,
    "last": lambda first, last, email: last,
    "f": lambda first, last, email: first[:1],
    "email_local": lambda first, last, email: clean(_email_local(email)),
}


@dataclass(frozen=True)
class UsernameTemplate:
    """A parsed `username_template` (§11.5): literal text around placeholders.

    `parts` alternates literals and placeholder names: literal, name, literal, ..., literal
    (so it always has an odd length). Literals before the first and after the last
    placeholder are kept; one between two placeholders is kept only when both sides have
    text (of several between two parts with text, the first).
    """

    text: str
    parts: tuple[str, ...]

    @classmethod
    def parse(cls, template: object, setting: str = "username_template") -> UsernameTemplate:
        """Check and split a template; every problem is a `ConfigError` naming the setting."""
        if not isinstance(template, str) or not template.strip():
            raise ConfigError(f"{setting}: expected a template such as '{DEFAULT_TEMPLATE}'")
        text = template.strip()
        allowed = ", ".join(f"{{{name}}}" for name in _PLACEHOLDERS)
        parts: list[str] = []
        position = 0
        for match in _PLACEHOLDER.finditer(text):
            parts.append(text[position : match.start()])
            name = match.group(1)
            if name not in _PLACEHOLDERS:
                raise ConfigError(
                    f"{setting}: unknown placeholder {{{name}}} in {text!r}; allowed: {allowed}"
                )
            parts.append(name)
            position = match.end()
        parts.append(text[position:])
        literals = parts[::2]
        if any("{" in literal or "}" in literal for literal in literals):
            raise ConfigError(f"{setting}: unbalanced brace in {text!r}")
        if len(parts) == 1:
            raise ConfigError(f"{setting}: {text!r} has no placeholder; use some of {allowed}")
        for literal in literals:
            if _LITERAL.fullmatch(literal) is None:
                raise ConfigError(
                    f"{setting}: the text between placeholders may hold only a-z, 0-9, '.', "
                    f"'_' and '-' (got {literal!r} in {text!r})"
                )
        return cls(text, tuple(parts))

    def base(self, first_name: str | None, last_name: str | None, email: str) -> str:
        """The username before any collision number (§11.5; §5 for the default template)."""
        first, last = clean(first_name), clean(last_name)
        parts = self.parts
        pieces = [parts[0]]  # the literal before the first placeholder
        separator: str | None = None  # the literal after the last placeholder with text
        for index in range(1, len(parts), 2):
            value = _PLACEHOLDERS[parts[index]](first, last, email)
            if not value:
                continue
            if separator is not None:
                pieces.append(separator)
            pieces.append(value)
            separator = parts[index + 1]
        if separator is None:  # every placeholder came out empty
            base = clean(_email_local(email))
        else:
            pieces.append(parts[-1])  # the literal after the last placeholder
            base = "".join(pieces)
        if not base[:1].isalpha():
            base = "u" + base
        if len(base) > BASE_LIMIT:
            base = base[:BASE_LIMIT].rstrip(_TRAILING)
        return base


DEFAULT_USERNAME_TEMPLATE = UsernameTemplate.parse(DEFAULT_TEMPLATE)


def base_username(first_name: str | None, last_name: str | None, email: str) -> str:
    """The username before any collision number: `first.last` (rule §5).

    `clean(first).clean(last)`; one side alone if the other is empty; both empty → the
    cleaned local part of the email. A base that does not start with a letter gets the
    prefix "u" (JumpCloud usernames must start with a letter), so an empty base is "u".
    """
    return DEFAULT_USERNAME_TEMPLATE.base(first_name, last_name, email)


def parse_max_length(value: object, setting: str = "username_max_length") -> int | None:
    """`username_max_length`: None (no cap, the default) or an integer ≥ 8 (text accepted)."""
    if value is None or value == "":
        return None
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if number is None:
        raise ConfigError(f"{setting}: expected an integer of at least {MIN_MAX_LENGTH} or null")
    if not MIN_MAX_LENGTH <= number <= USERNAME_LIMIT:
        raise ConfigError(
            f"{setting}: must be between {MIN_MAX_LENGTH} and {USERNAME_LIMIT}, got {number}"
        )
    return number


def cut(base: str, length: int | None) -> str:
    """`base` cut to `length` characters (no trailing '.', '-' or '_'); None = uncut."""
    if length is None or len(base) <= length:
        return base
    return base[:length].rstrip(_TRAILING) or base[:length]


class UsernameAllocator:
    """Hands out free usernames: base, base1, base2, … (taken = case-insensitively in use).

    Thread-safe, because the applier asks for the next name from worker threads when a
    create is refused for a username taken in the meantime. A per-base counter remembers
    where the search stopped, so hundreds of workers sharing a name cost O(1) each.
    """

    def __init__(self, taken: Iterable[str] = ()) -> None:
        self._taken = {name.lower() for name in taken}
        self._next: dict[str, int] = {}
        self._lock = threading.Lock()

    def allocate(self, base: str, max_length: int | None = None) -> str:
        """The first free name of base, base1, base2, …; it is marked taken.

        With `max_length`, the base is cut before the number is added (`alexandra.pa`,
        `alexandra.p1`, …), so no name given out is longer.
        """
        if max_length is not None:
            return self._allocate_capped(base, max_length)
        key = base.lower()
        with self._lock:
            if key not in self._taken:
                self._taken.add(key)
                return base
            number = self._next.get(key, 1)
            while f"{key}{number}" in self._taken:
                number += 1
            self._next[key] = number + 1
            self._taken.add(f"{key}{number}")
            return f"{base}{number}"

    def _allocate_capped(self, base: str, max_length: int) -> str:
        first = cut(base, max_length)
        counter = f"{base.lower()}\0{max_length}"
        with self._lock:
            if first.lower() not in self._taken:
                self._taken.add(first.lower())
                return first
            number = self._next.get(counter, 1)
            while True:
                suffix = str(number)
                name = cut(base, max_length - len(suffix)) + suffix
                if name.lower() not in self._taken:
                    break
                number += 1
            self._next[counter] = number + 1
            self._taken.add(name.lower())
            return name

    def mark_taken(self, username: str) -> None:
        """Record a name found in use (for example a create refused as a duplicate)."""
        with self._lock:
            self._taken.add(username.lower())

    def is_taken(self, username: str) -> bool:
        """True when JumpCloud has the name or this run gave it out (any case)."""
        with self._lock:
            return username.lower() in self._taken
