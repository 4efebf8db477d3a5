"""Generated usernames for new JumpCloud users (contract §5): `first.last`, then a number.

Usernames are handed out in stream order by one `UsernameAllocator` seeded with every
username JumpCloud already has, so a run is deterministic and never reuses a name.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from typing import TYPE_CHECKING

from anyascii import anyascii

if TYPE_CHECKING:
    from collections.abc import Iterable

USERNAME_LIMIT = 1024  # JumpCloud's maxLength for username
# A base is cut to this length so that base + a collision number still fits the limit.
BASE_LIMIT = 1000

_NOT_KEPT = re.compile(r"[^a-z0-9-]+")


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


def base_username(first_name: str | None, last_name: str | None, email: str) -> str:
    """The username before any collision number: `first.last` (rule §5).

    `clean(first).clean(last)`; one side alone if the other is empty; both empty → the
    cleaned local part of the email. A base that does not start with a letter gets the
    prefix "u" (JumpCloud usernames must start with a letter), so an empty base is "u".
    """
    first, last = clean(first_name), clean(last_name)
    if first and last:
        base = f"{first}.{last}"
    else:
        base = first or last or clean(email.rpartition("@")[0] or email)
    if not base[:1].isalpha():
        base = "u" + base
    if len(base) > BASE_LIMIT:
        base = base[:BASE_LIMIT].rstrip(".-")
    return base


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

    def allocate(self, base: str) -> str:
        """The first free name of base, base1, base2, …; it is marked taken."""
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

    def mark_taken(self, username: str) -> None:
        """Record a name found in use (for example a create refused as a duplicate)."""
        with self._lock:
            self._taken.add(username.lower())

    def is_taken(self, username: str) -> bool:
        """True when JumpCloud has the name or this run gave it out (any case)."""
        with self._lock:
            return username.lower() in self._taken
