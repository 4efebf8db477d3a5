"""The JumpCloud side of the sync: a snapshot of users, indexed for O(1) matching.

JumpCloud promises unique emails and employee identifiers, but a snapshot is kept honest
anyway: every index holds all users with a key, so the planner can refuse to guess when
two users claim the same profile id or the same email.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import msgspec
from msgspec.structs import astuple

from target_jumpcloud.model import DirectoryUser, UserState
from target_jumpcloud.settings.mapping_table import (
    CUSTOM_FIELD,
    CUSTOM_PREFIX,
    MANAGER,
    READ_ONLY_KEYS,
    synced_attributes,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

    from target_jumpcloud.sync.schedules import ScheduledJob

_ALWAYS_FETCHED = ("_id", "username", "email", "state", "suspended")
# The fields a `DirectoryUser` is built from besides the attributes (`id` stands in for `_id`).
_IDENTITY = ("_id", "id", "username", "email", "state", "suspended")
# Identity and state fields are DirectoryUser fields of their own, never compared attributes.
_NOT_ATTRIBUTES = frozenset({"_id", "id", "username", "state", "suspended", *READ_ONLY_KEYS})


def compared_fields(mapping: Mapping[str, str]) -> list[str]:
    """The `fields` projection for listing users: identity, state and every mapped attribute.

    The special keys name the JumpCloud field they compare with: `manager` is read as it
    is, and any `attributes.<name>` key reads the whole `attributes` list once (an update
    must send it back whole, docs/directory-attributes.md).
    """
    fields = list(_ALWAYS_FETCHED)
    for key in synced_attributes(mapping):
        name = CUSTOM_FIELD if key.startswith(CUSTOM_PREFIX) else key
        if name not in fields:
            fields.append(name)
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
    """The state of a JumpCloud user object (see `_state_of`)."""
    return _state_of(obj.get("state"), obj.get("suspended"))


def _state_of(raw: object, suspended: object) -> UserState:
    """`suspended: true` or state SUSPENDED is SUSPENDED; a missing state counts as ACTIVATED.

    (JumpCloud always sends `state`; very old accounts only had the `suspended` flag.)
    """
    if suspended is True:
        return UserState.SUSPENDED
    if isinstance(raw, str):
        return _STATES.get(raw.strip().upper(), UserState.ACTIVATED)
    return UserState.ACTIVATED


# `_state_of` without a call, for the states JumpCloud sends (suspended not true).
_PLAIN_STATES: dict[str | None, UserState] = {None: UserState.ACTIVATED}
_PLAIN_STATES.update(_STATES)
_SUSPENDED = UserState.SUSPENDED


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


class _SharedValues(dict[str | None, str | None]):
    """One attribute's values as JumpCloud sent them → as kept (trimmed, "" → None, shared).

    A plain dict look-up for the values seen before (most of them: departments, titles,
    locations...); only a new value runs Python code. Keys are strings (and None), never
    other JSON values: `True == 1`, so a number's text could be returned for a bool.
    """

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__({None: None})

    def __missing__(self, raw: str) -> str | None:
        text = raw.strip() or None  # as _text does it
        if text is not None and len(text) <= _SHARED_LENGTH and len(self) < _SHARED_VALUES:
            text = self.setdefault(text, text)  # one string for equal values, however padded
            self[raw] = text
        return text

    def read(self, column: Sequence[str | None]) -> list[str | None]:
        """Each value of a column (strings and None) as kept.

        Once the table is full, new values are trimmed inline rather than by `__missing__`:
        a column of unique values (names, ids) would otherwise make a Python call for
        nearly every user (measured 0.25 against 0.06 us a value).
        """
        if len(self) < _SHARED_VALUES:
            return list(map(self.__getitem__, column))
        get = self.get
        return [get(raw) or (raw and raw.strip()) or None for raw in column]


_SHARED_ITEM_KEYS = 2  # a custom attribute item `{name, value}`
_SHARED_LISTS_MAX = 100_000


class UserReader:
    """`directory_user` for one list of attributes, prepared once: it runs for every user.

    Equal attribute values (departments, titles, locations...) are kept as one string each:
    for 100,000 users that takes tens of megabytes off the snapshot.

    `read_page` reads a whole page of the user list from its body (the client's fast path,
    see `JumpCloudClient.iter_user_pages`); `read_users` reads already decoded objects.
    """

    def __init__(self, attributes: Iterable[str]) -> None:
        wanted = dict.fromkeys(attributes)
        # The special fields (docs/directory-attributes.md) are DirectoryUser fields of their own.
        self._manager = MANAGER in wanted
        self._custom = CUSTOM_FIELD in wanted or any(k.startswith(CUSTOM_PREFIX) for k in wanted)
        self._lists: dict[tuple[tuple[tuple[str, str], ...], ...], tuple[Any, ...]] = {}
        names = tuple(
            name
            for name in wanted
            if name not in _NOT_ATTRIBUTES
            and name not in {MANAGER, CUSTOM_FIELD}
            and not name.startswith(CUSTOM_PREFIX)
        )
        self._names = names
        self._shared = tuple(_SharedValues() for _ in names)
        self._by_name = tuple(zip(names, self._shared, strict=True))
        # The page as msgspec decodes it: one Struct field per JSON field read, in this order.
        fields = dict.fromkeys((*_IDENTITY, *names))
        fields.pop("suspended")  # (a bool, decoded on its own below)
        self._columns = {name: index for index, name in enumerate(fields)}
        self._suspended = len(fields)
        user_type = msgspec.defstruct(
            "JumpCloudUserFields",
            [
                *(
                    (f"f{i}", str | None, msgspec.field(name=name, default=None))
                    for name, i in self._columns.items()
                ),
                ("suspended", bool | None, None),
                ("manager", str | None, None),
                ("attributes", list[Any] | None, None),
            ],
            gc=False,
        )
        page_type = msgspec.defstruct(
            "JumpCloudUserPage",
            [("results", list[user_type]), ("totalCount", int | None, None)],  # type: ignore[valid-type]
        )
        self._decode_page: Callable[[bytes], Any] = msgspec.json.Decoder(page_type).decode

    def __call__(self, obj: Mapping[str, Any]) -> DirectoryUser:
        """The `DirectoryUser` of one JumpCloud user object."""
        get = obj.get
        attributes: dict[str, str | None] = {}
        for name, shared in self._by_name:
            value = get(name)
            attributes[name] = shared[value] if value.__class__ is str else _text(value)
        return DirectoryUser(
            _text(get("_id")) or _text(get("id")) or "",
            _text(get("username")) or "",
            _text(get("email")) or "",
            _state(obj),
            attributes,
            _text(get(MANAGER)) if self._manager else None,
            self._custom_list(get(CUSTOM_FIELD)) if self._custom else None,
        )

    def _custom_list(self, value: object) -> tuple[Any, ...]:
        """The custom attribute list as JumpCloud sent it; null or a non-list counts as empty.

        Lists of plain text items that repeat (a group ledger, a worker type) are kept once:
        users with equal lists share one tuple of the very items (never modified: an update
        sends a new list). 100,000 users with a ledger each hold a few hundred lists.
        """
        if not isinstance(value, list) or not value:
            return ()
        key = []
        for item in value:
            if item.__class__ is not dict or len(item) > _SHARED_ITEM_KEYS:
                return tuple(value)
            pairs = tuple(item.items())
            if any(v.__class__ is not str for _, v in pairs):
                return tuple(value)
            key.append(pairs)
        shared = self._lists.get(tuple(key))
        if shared is None:
            shared = tuple(value)
            if len(self._lists) < _SHARED_LISTS_MAX:
                self._lists[tuple(key)] = shared
        return shared

    def read_users(self, objs: Iterable[Mapping[str, Any]]) -> list[DirectoryUser]:
        """The `DirectoryUser`s of decoded JumpCloud user objects."""
        return [self(obj) for obj in objs]

    def read_page(self, body: bytes) -> tuple[list[DirectoryUser], int | None]:
        """A page of the user list, `{results, totalCount}`, read straight from its body.

        Only for the plain case, where every compared field is a string or null and
        `suspended` a bool or null: anything else (a number, an object, a non-object in
        `results`...) raises `msgspec.DecodeError`, and the page is read the general way
        with `read_users`, to the same result. Measured on a page of 100 users: 0.25 against
        0.9 ms to decode it to dicts and read those one by one; the values are read a column
        at a time, each through its `_SharedValues` at C speed.
        """
        page = self._decode_page(body)
        users = page.results
        total: int | None = page.totalCount
        if not users:
            return [], total
        columns: list[tuple[Any, ...]] = list(zip(*map(astuple, users), strict=True))
        at = self._columns
        if self._names:
            values = [shared.read(columns[at[name]]) for name, shared in self._by_name]
            attributes = [
                dict(zip(self._names, row, strict=True)) for row in zip(*values, strict=True)
            ]
        else:
            attributes = [{} for _ in users]
        # `(s and s.strip()) or ...` is `_text(s) or ...` for a string or None.
        ids = [
            (a and a.strip()) or (b and b.strip()) or ""
            for a, b in zip(columns[at["_id"]], columns[at["id"]], strict=True)
        ]
        usernames = [(s and s.strip()) or "" for s in columns[at["username"]]]
        emails = [(s and s.strip()) or "" for s in columns[at["email"]]]
        known = _PLAIN_STATES.get
        states = [
            known(raw) or _state_of(raw, suspended) if suspended is not True else _SUSPENDED
            for raw, suspended in zip(columns[at["state"]], columns[self._suspended], strict=True)
        ]
        if not (self._manager or self._custom):
            return list(map(DirectoryUser, ids, usernames, emails, states, attributes)), total
        # The special fields (docs/directory-attributes.md), when the mapping has them.
        none = [None] * len(users)
        managers = (
            [(u.manager and u.manager.strip()) or None for u in users] if self._manager else none
        )
        customs = [self._custom_list(u.attributes) for u in users] if self._custom else none
        made = map(DirectoryUser, ids, usernames, emails, states, attributes, managers, customs)
        return list(made), total


class Directory:
    """JumpCloud users indexed by id, employee identifier, email (any case) and username."""

    def __init__(self, users: Iterable[DirectoryUser] = ()) -> None:
        # docs/effective-dates.md: each user's pending scheduled state jobs, by user id (read only
        # with
        # effective dating on; empty otherwise). A copy made of another directory keeps them.
        self.jobs: dict[str, list[ScheduledJob]] = (
            {user_id: list(jobs) for user_id, jobs in users.jobs.items()}
            if isinstance(users, Directory)
            else {}
        )
        users = list(users)
        self._by_id: dict[str, DirectoryUser] = {user.id: user for user in users}
        if len(self._by_id) < len(users):  # an id twice: the later one replaces, as in `add`
            self._by_id = {}
            self._by_employee_id: dict[str, list[DirectoryUser]] = {}
            self._by_email: dict[str, list[DirectoryUser]] = {}
            self._usernames: dict[str, int] = {}  # lower-cased username → number of users
            for user in users:
                self.add(user)
            return
        # What `add` builds one user at a time, built in bulk: 100,000 users took 0.5 s
        # through `add` (measured), most of it in method calls and `setdefault`.
        self._by_employee_id = _group(
            [(key, user) for user in users if (key := user.employee_identifier)]
        )
        self._by_email = _group([(user.email.casefold(), user) for user in users if user.email])
        self._usernames = dict(Counter([user.username.lower() for user in users]))

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

    def jobs_of(self, user_id: str) -> Sequence[ScheduledJob]:
        """The user's pending scheduled state jobs (docs/effective-dates.md), any order."""
        return self.jobs.get(user_id, ())

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


def _group(pairs: list[tuple[str, DirectoryUser]]) -> dict[str, list[DirectoryUser]]:
    """The users of `pairs` by key, in order: `setdefault(key, []).append(user)` for each.

    Keys are nearly always unique, so a one-user list per key is made at comprehension
    speed first, and only a key that came twice sends the whole index the slow way.
    """
    index = {key: [user] for key, user in pairs}
    if len(index) < len(pairs):
        index = {}
        for key, user in pairs:
            index.setdefault(key, []).append(user)
    return index
