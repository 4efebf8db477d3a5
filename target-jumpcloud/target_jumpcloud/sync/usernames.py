"""Generated usernames for new JumpCloud users: a template, then a number.

The base comes from `username_template` (default `{first}.{last}`); usernames are handed
out by one `UsernameAllocator` seeded with every username JumpCloud already has, so a run
is deterministic and never reuses a name. `username_max_length` cuts the base before the
collision number is added, so base + number never exceeds it.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from typing import TYPE_CHECKING

from anyascii import anyascii

from target_jumpcloud.settings.sync_settings import ConfigError
from target_jumpcloud.settings.username_template import (
    DEFAULT_USERNAME_TEMPLATE,
    USERNAME_LIMIT,
    UsernameTemplate,
    check_template,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

__all__ = [
    "DEFAULT_USERNAME_TEMPLATE",
    "USERNAME_LIMIT",
    "UsernameAllocator",
    "UsernameTemplate",
    "base_username",
    "clean",
    "cut",
    "parse_template",
    "template_base",
]

# A base is cut to this length so that base + a collision number still fits the limit.
BASE_LIMIT = 1000

_NOT_KEPT = re.compile(r"[^a-z0-9-]+")
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


def parse_template(template: object) -> UsernameTemplate:
    """A `username_template`, checked (`ConfigError` with every problem otherwise)."""
    parsed, problems = check_template(template)
    if parsed is None:
        raise ConfigError(*problems)
    return parsed


def template_base(
    template: UsernameTemplate, first_name: str | None, last_name: str | None, email: str
) -> str:
    """The username before any collision number (docs/directory-attributes.md, docs/sync-rules.md).

    Each placeholder is cleaned. Literals before the first and after the last placeholder
    are kept; one between two placeholders only when both sides have text (of several
    between two parts with text, the first). Every placeholder empty: the cleaned local part
    of the email. A base that does not start with a letter gets the prefix "u" (JumpCloud
    usernames must start with a letter), so an empty base is "u".
    """
    first, last = clean(first_name), clean(last_name)
    parts = template.parts
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


def base_username(first_name: str | None, last_name: str | None, email: str) -> str:
    """The username before any collision number: `first.last` (docs/sync-rules.md).

    `clean(first).clean(last)`; one side alone if the other is empty; both empty → the
    cleaned local part of the email. A base that does not start with a letter gets the
    prefix "u" (JumpCloud usernames must start with a letter), so an empty base is "u".
    """
    return template_base(DEFAULT_USERNAME_TEMPLATE, first_name, last_name, email)


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
