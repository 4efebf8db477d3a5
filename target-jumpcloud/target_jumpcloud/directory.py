"""The JumpCloud side of the sync: a snapshot of users, indexed for O(1) matching (§4).

JumpCloud promises unique emails and employee identifiers, but a snapshot is kept honest
anyway: every index holds all users with a key, so the planner can refuse to guess when
two users claim the same profile id or the same email.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from target_jumpcloud.mapping import STATE_KEY
from target_jumpcloud.model import DirectoryUser, UserState

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping, Sequence

_ALWAYS_FETCHED = ("_id", "username", "email", "state", "suspended")
# Identity and state fields are DirectoryUser fields of their own, never compared attributes.
_NOT_ATTRIBUTES = frozenset({"_id", "id", "username", "state", "suspended", STATE_KEY})


def compared_fields(mapping: Mapping[str, str]) -> list[str]:
    """The `fields` projection for listing users: identity, state and every mapped attribute."""
    fields = list(_ALWAYS_FETCHED)
    fields.extend(key for key in mapping if key != STATE_KEY and key not in _ALWAYS_FETCHED)
    return fields


def _text(value: Any) -> str | None:  # noqa: ANN401 - API values are arbitrary JSON
    """A trimmed string, numbers as text; "", null, missing and non-scalars are None."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    return None


_STATES: dict[str, UserState] = {state.value: state for state in UserState}


def _state(obj: Mapping[str, Any]) -> UserState:
    """`suspended: true` or state SUSPENDED is SUSPENDED; a missing state counts as ACTIVATED.

    (JumpCloud always sends `state`; very old accounts only had the `suspended` flag.)
    """
    if obj.get("suspended") is True:
        return UserState.SUSPENDED
    raw = obj.get("state")
    if isinstance(raw, str):
        return _STATES.get(raw.strip().upper(), UserState.ACTIVATED)
    return UserState.ACTIVATED


def directory_user(obj: Mapping[str, Any], attributes: Iterable[str]) -> DirectoryUser:
    """Build a `DirectoryUser` from a JumpCloud user object, keeping the compared attributes.

    `attributes` may be the mapping's keys or the whole `compared_fields` list: identity and
    state fields are left out of `DirectoryUser.attributes` either way.
    """
    return UserReader(attributes)(obj)


# Equal attribute values are shared between users up to this many distinct values per
# attribute (past it, the attribute is taken for one whose values rarely repeat).
_SHARED_VALUES = 4096
_SHARED_LENGTH = 64  # longer values are not worth looking up


class UserReader:
    """`directory_user` for one list of attributes, prepared once: it runs for every user.

    Equal attribute values (departments, titles, locations...) are kept as one string each:
    for 100,000 users that takes tens of megabytes off the snapshot.
    """

    def __init__(self, attributes: Iterable[str]) -> None:
        self._shared: tuple[tuple[str, dict[str, str]], ...] = tuple(
            (name, {}) for name in dict.fromkeys(attributes) if name not in _NOT_ATTRIBUTES
        )

    def __call__(self, obj: Mapping[str, Any]) -> DirectoryUser:
        """The `DirectoryUser` of one JumpCloud user object."""
        get = obj.get
        attributes: dict[str, str | None] = {}
        for name, shared in self._shared:
            value = get(name)
            if value.__class__ is not str:
                attributes[name] = _text(value)
                continue
            known = shared.get(value)  # (kept values are trimmed already)
            if known is not None:
                attributes[name] = known
                continue
            text: str | None = value.strip() or None  # as _text does it
            if text is not None and len(text) <= _SHARED_LENGTH and len(shared) < _SHARED_VALUES:
                shared[text] = text
            attributes[name] = text
        return DirectoryUser(
            id=_text(get("_id")) or _text(get("id")) or "",
            username=_text(get("username")) or "",
            email=_text(get("email")) or "",
            state=_state(obj),
            attributes=attributes,
        )


class Directory:
    """JumpCloud users indexed by id, employee identifier, email (any case) and username."""

    def __init__(self, users: Iterable[DirectoryUser] = ()) -> None:
        self._by_id: dict[str, DirectoryUser] = {}
        self._by_employee_id: dict[str, list[DirectoryUser]] = {}
        self._by_email: dict[str, list[DirectoryUser]] = {}
        self._usernames: dict[str, int] = {}  # lower-cased username → number of users
        for user in users:
            self.add(user)

    def add(self, user: DirectoryUser) -> None:
        """Insert `user`, or replace the user with the same id (as after an update)."""
        old = self._by_id.get(user.id)
        if old is not None:
            self._unindex(old)
        self._by_id[user.id] = user
        employee_id = user.employee_identifier
        if employee_id:
            self._by_employee_id.setdefault(employee_id, []).append(user)
        if user.email:
            self._by_email.setdefault(user.email.casefold(), []).append(user)
        name = user.username.lower()
        self._usernames[name] = self._usernames.get(name, 0) + 1

    def _unindex(self, user: DirectoryUser) -> None:
        """Drop `user` from the secondary indexes (before it is replaced)."""
        employee_id = user.employee_identifier
        if employee_id:
            _remove(self._by_employee_id, employee_id, user.id)
        if user.email:
            _remove(self._by_email, user.email.casefold(), user.id)
        name = user.username.lower()
        self._usernames[name] -= 1
        if not self._usernames[name]:
            del self._usernames[name]

    def get(self, user_id: str) -> DirectoryUser | None:
        """The user with this JumpCloud id."""
        return self._by_id.get(user_id)

    def employee_id_holders(self, profile_id: str) -> list[DirectoryUser]:
        """Every user whose employeeIdentifier is `profile_id` (normally zero or one)."""
        return list(self._by_employee_id.get(profile_id, ()))

    def linked_users(self, profile_id: str) -> Sequence[DirectoryUser]:
        """`employee_id_holders` without the copy (read only: the planner asks 100,000 times)."""
        return self._by_employee_id.get(profile_id, ())

    def email_users(self, email: str) -> Sequence[DirectoryUser]:
        """`email_holders` without the copy (read only)."""
        return self._by_email.get(email.casefold(), ())

    def by_employee_id(self, profile_id: str) -> DirectoryUser | None:
        """The (first) user linked to `profile_id`."""
        holders = self._by_employee_id.get(profile_id)
        return holders[0] if holders else None

    def email_holders(self, email: str) -> list[DirectoryUser]:
        """Every user whose email equals `email`, compared case-insensitively."""
        return list(self._by_email.get(email.casefold(), ()))

    def by_email(self, email: str) -> DirectoryUser | None:
        """The (first) user whose email equals `email`, case-insensitively."""
        holders = self._by_email.get(email.casefold())
        return holders[0] if holders else None

    def email_holder(self, email: str, exclude_id: str | None = None) -> DirectoryUser | None:
        """A user other than `exclude_id` holding `email`: who would block a change to it."""
        for user in self._by_email.get(email.casefold(), ()):
            if user.id != exclude_id:
                return user
        return None

    def usernames(self) -> set[str]:
        """Every username in use, lower-cased (to seed the `UsernameAllocator`)."""
        return set(self._usernames)

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[DirectoryUser]:
        return iter(list(self._by_id.values()))

    def __contains__(self, user_id: object) -> bool:
        return user_id in self._by_id


def _remove(index: dict[str, list[DirectoryUser]], key: str, user_id: str) -> None:
    """Remove the user with `user_id` from `index[key]`, dropping the key when empty."""
    remaining = [user for user in index.get(key, ()) if user.id != user_id]
    if remaining:
        index[key] = remaining
    else:
        index.pop(key, None)
