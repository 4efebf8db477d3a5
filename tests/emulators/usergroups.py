"""JumpCloud's V2 user groups and their user members (`/api/v2/usergroups`), for the emulator.

`GroupBook` holds the user groups of one organisation and checks requests against the V2
spec (`UserGroupPost`, `UserGroupPut`, `UserGroup`, `GraphOperation (UserGroup-Member)`,
`GraphConnection`); `JumpCloudEmulator` serves it. Where the spec is silent it errs on the
strict side, as the other routes do, so that code which passes here also passes there:

* A group is `{id, name, type: "user_group", membershipMethod, description, email,
  attributes, memberQuery, memberQueryExemptions, memberSuggestionsNotify, suggestionCounts}`
  with a 24-hex id. A new group is `NOTSET`, with `""` for description and email, `{}` for
  attributes and a null `memberQuery` unless the body says otherwise.
* `GET /usergroups` answers a bare array in id (creation) order: `limit` 1-100 (default 10,
  above 100 a 400), `skip` >= 0, `sort` (comma-separated, `-` descending) on id, name, type
  and membershipMethod, `fields` (comma-separated; `id` always comes), and `filter`
  `field:eq|ne:value` on name, type and membershipMethod, exact and case-sensitive. Several
  filters (repeated, or joined by commas as the spec's `explode: false` array is) must all
  hold, so a name holding a comma cannot be filtered on. No `x-total-count`: page until a
  short page.
* `POST /usergroups` answers 201 with the group. `name` is required, 1-255 characters, not
  blank, and unique ignoring case (a clash is 409 "Already Exists"). Unknown or mistyped
  fields are 400; a `DYNAMIC_*` group needs a `memberQuery`. The emulator never evaluates a
  `memberQuery`: a dynamic group's members are those a test sets, as JumpCloud would compute
  them.
* `PUT /usergroups/{id}` is the spec's full update (the POST body): a field left out goes
  back to its default, members stay; the read-only `id` (the same one), `type` and
  `suggestionCounts` of a GET answer are tolerated so a read-modify-write works. 200 with
  the group. The spec has no PATCH (405).
* `DELETE /usergroups/{id}` answers 204 with no body; the group's memberships go with it.
* `GET /usergroups/{id}/members` answers `GraphConnection`s `{"to": {"id", "type": "user"},
  "attributes": null}` in the order the members joined, paged like the group list.
* `POST /usergroups/{id}/members` `{"op": "add"|"remove", "type": "user", "id"}` answers 204
  with no body. 400: unknown fields, another op (`update` too) or type, an id that is not
  24-hex, any write to a `DYNAMIC_*` group, and removing a user who is not a member. 404: an
  unknown group or user. 409 "Already Exists": adding a member already there.
* An unknown group id, or one that is not 24-hex, is 404 on every `/usergroups/{id}` route.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.emulators.jumpcloud_shared import (
    EMAIL,
    OBJECT_ID,
    RefusedRequestError,
    bad,
    body_checker,
    page_slice,
    v2_filter,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

MEMBERSHIP_METHODS = ("NOTSET", "STATIC", "DYNAMIC_REVIEW_REQUIRED", "DYNAMIC_AUTOMATED")
DYNAMIC_METHODS = frozenset({"DYNAMIC_REVIEW_REQUIRED", "DYNAMIC_AUTOMATED"})
MAX_NAME = 255  # not documented: the strict reading
FIRST_GROUP_ID = 0x67A1B2C3D4E5F60700000000
_FILTER_FIELDS = ("name", "type", "membershipMethod")
_SORT_FIELDS = ("id", "name", "type", "membershipMethod")
_SEED_QUERY = {"queryType": "FilterQuery", "filters": []}

_NULLABLE_OBJECT = {"type": ["object", "null"]}
# UserGroupPost / UserGroupPut, from the V2 spec (GroupAttributes-UserGroup is open-ended).
_GROUP_PROPERTIES: dict[str, Any] = {
    "name": {"type": "string", "minLength": 1, "maxLength": MAX_NAME},
    "description": {"type": "string"},
    "email": {"type": "string"},
    "attributes": {
        "type": ["object", "null"],
        "properties": {
            "sudo": {
                "type": ["object", "null"],
                "properties": {
                    "enabled": {"type": "boolean"},
                    "withoutPassword": {"type": "boolean"},
                },
            },
            "ldapGroups": {
                "type": "array",
                "items": {"type": "object", "properties": {"name": {"type": "string"}}},
            },
            "posixGroups": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "name"],
                    "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
                },
            },
            "radius": _NULLABLE_OBJECT,
            "sambaEnabled": {"type": "boolean"},
        },
    },
    "memberQuery": {
        "type": ["object", "null"],
        "properties": {
            "queryType": {"enum": ["Filter", "FilterQuery", "Search"]},
            "filters": {"type": "array"},
        },
    },
    "memberQueryExemptions": {
        "type": "array",
        "items": {
            "type": "object",
            "additionalProperties": False,
            "required": ["type", "id"],
            "properties": {
                "id": {"type": "string"},
                "organizationId": {"type": "string"},
                "type": {"type": "string"},
            },
        },
    },
    "memberSuggestionsNotify": {"type": "boolean"},
    "membershipMethod": {"enum": list(MEMBERSHIP_METHODS)},
}
_check_post = body_checker(
    {
        "type": "object",
        "additionalProperties": False,
        "required": ["name"],
        "properties": _GROUP_PROPERTIES,
    }
)
_READ_ONLY = {
    "id": {"type": "string"},
    "type": {"const": "user_group"},
    "suggestionCounts": {"type": "object"},
}
_check_put = body_checker(
    {
        "type": "object",
        "additionalProperties": False,
        "required": ["name"],
        "properties": {**_GROUP_PROPERTIES, **_READ_ONLY},
    }
)
_check_member_op = body_checker(
    {
        "type": "object",
        "additionalProperties": False,
        "required": ["op", "type", "id"],
        "properties": {
            "op": {"enum": ["add", "remove"]},
            "type": {"const": "user"},
            "id": {"type": "string", "pattern": "^[0-9a-f]{24}$"},
            "attributes": _NULLABLE_OBJECT,
        },
    }
)


def _defaults() -> dict[str, Any]:
    return {
        "description": "",
        "email": "",
        "attributes": {},
        "memberQuery": None,
        "memberQueryExemptions": [],
        "memberSuggestionsNotify": False,
        "membershipMethod": "NOTSET",
    }


@dataclass(slots=True)
class Group:
    """One user group: its settable fields and its members (user ids, in joining order)."""

    id: str
    fields: dict[str, Any]
    members: dict[str, None] = field(default_factory=dict)
    #: `members` as a list, made for the first page read after a change (`member_list`).
    _listed: list[str] | None = field(default=None, compare=False, repr=False)

    def member_list(self) -> list[str]:
        """The members in joining order, kept until they change (`changed`).

        A page is then a slice: skipping to page k of a 100,000-member group walked 100 k
        keys of the dict each time, 50 million for its 1,000 pages.
        """
        if self._listed is None:
            self._listed = list(self.members)
        return self._listed

    def changed(self) -> None:
        """The members changed: the next page lists them again."""
        self._listed = None

    @property
    def name(self) -> str:
        """The group's name."""
        return str(self.fields["name"])

    @property
    def dynamic(self) -> bool:
        """Whether JumpCloud computes the members (from `memberQuery`)."""
        return self.fields["membershipMethod"] in DYNAMIC_METHODS

    def json(self) -> dict[str, Any]:
        """The `UserGroup` object, a fresh copy."""
        return {
            "id": self.id,
            "type": "user_group",
            **copy.deepcopy(self.fields),
            "suggestionCounts": {"add": 0, "remove": 0, "total": 0},
        }


def _connection(user_id: str) -> dict[str, Any]:
    """A member as the members list writes it (`GraphConnection`, `from` left out)."""
    return {"to": {"id": user_id, "type": "user"}, "attributes": None}


def _sort_keys(tokens: list[str]) -> list[tuple[str, bool]]:
    keys = []
    for token in tokens:
        descending = token.startswith("-")
        name = token[1:] if descending else token
        if name not in _SORT_FIELDS:
            raise bad(f"sort field {token!r} is not supported: use {', '.join(_SORT_FIELDS)}")
        keys.append((name, descending))
    return keys


class GroupBook:
    """The user groups of one organisation, in id order. Not thread-safe on its own: the
    emulator calls it under its lock."""

    def __init__(self) -> None:
        self._groups: dict[str, Group] = {}
        self._names: dict[str, str] = {}  # casefolded name -> group id
        self._next_id = FIRST_GROUP_ID

    def __len__(self) -> int:
        return len(self._groups)

    # -- the groups -------------------------------------------------------------------------

    def page(
        self,
        *,
        limit: str | None,
        skip: str | None,
        filters: list[str],
        sort: list[str],
        fields: list[str],
    ) -> list[dict[str, Any]]:
        """`GET /usergroups`: one page of the matching groups (see the module doc)."""
        window = page_slice(limit, skip)
        tests = [v2_filter(expression, _FILTER_FIELDS) for expression in filters]
        keys = _sort_keys(sort)
        found = [
            item
            for item in (group.json() for group in self._groups.values())
            if all(test(item) for test in tests)
        ]
        for name, descending in reversed(keys):  # stable sorts, last key first
            found.sort(key=lambda item: str(item[name]), reverse=descending)
        page = found[window]
        if not fields:
            return page
        return [{k: v for k, v in item.items() if k == "id" or k in fields} for item in page]

    def get(self, group_id: str) -> dict[str, Any]:
        """`GET /usergroups/{id}`."""
        return self.require(group_id).json()

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /usergroups`: check the body, store the group."""
        _check_post(body)
        return self._store(None, body).json()

    def replace(self, group_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """`PUT /usergroups/{id}`: a full update of the settable fields; members stay."""
        group = self.require(group_id)
        _check_put(body)
        if body.get("id", group_id) != group_id:
            raise bad(f"id {body['id']!r} is not the id of this group")
        settable = {key: value for key, value in body.items() if key not in _READ_ONLY}
        return self._store(group_id, settable, members=group.members).json()

    def delete(self, group_id: str) -> None:
        """`DELETE /usergroups/{id}`: the group and its memberships go."""
        group = self.require(group_id)
        del self._groups[group_id]
        del self._names[group.name.casefold()]

    def require(self, group_id: str) -> Group:
        """The group with this id, or a 404."""
        group = self._groups.get(group_id) if OBJECT_ID.fullmatch(group_id) else None
        if group is None:
            raise RefusedRequestError(404, "User Group not found")
        return group

    def find(self, name: str) -> Group | None:
        """The group of this name, ignoring case (names are unique that way)."""
        group_id = self._names.get(name.casefold())
        return None if group_id is None else self._groups[group_id]

    def all(self) -> list[Group]:
        """Every group, in id order."""
        return list(self._groups.values())

    def seed(
        self, body: dict[str, Any], members: Iterable[str], *, is_user: Callable[[str], bool]
    ) -> Group:
        """Store a group as POST would, with members (any group: a test plays JumpCloud
        computing a dynamic one); a dynamic group gets an empty `memberQuery` if none given."""
        if body.get("membershipMethod") in DYNAMIC_METHODS and body.get("memberQuery") is None:
            body = {**body, "memberQuery": copy.deepcopy(_SEED_QUERY)}
        _check_post(body)
        user_ids = list(dict.fromkeys(members))
        self._check_users(user_ids, is_user)
        return self._store(None, body, dict.fromkeys(user_ids))

    # -- members ----------------------------------------------------------------------------

    def members_page(self, group_id: str, *, limit: str | None, skip: str | None) -> list[Any]:
        """`GET /usergroups/{id}/members`: one page of `GraphConnection`s."""
        group = self.require(group_id)
        window = page_slice(limit, skip)
        return [_connection(user_id) for user_id in group.member_list()[window]]

    def change_member(
        self, group_id: str, body: dict[str, Any], *, is_user: Callable[[str], bool]
    ) -> str:
        """`POST /usergroups/{id}/members`: add or remove one user; returns the op done."""
        _check_member_op(body)
        group = self.require(group_id)
        if group.dynamic:
            raise bad(
                f"group {group.name!r} is {group.fields['membershipMethod']}: JumpCloud "
                "computes its members from its memberQuery"
            )
        user_id = str(body["id"])
        if not is_user(user_id):
            raise RefusedRequestError(404, "User not found")
        op = str(body["op"])
        if op == "add":
            if user_id in group.members:
                raise RefusedRequestError(
                    409, f"Already Exists: user {user_id} is a member of this group"
                )
            group.members[user_id] = None
            group.changed()
        else:
            if user_id not in group.members:
                raise bad(f"user {user_id} is not a member of this group")
            del group.members[user_id]
            group.changed()
        return op

    def set_members(
        self, group_id: str, user_ids: Iterable[str], *, is_user: Callable[[str], bool]
    ) -> None:
        """Replace a group's members (a test's hand: no checks of op, type or method)."""
        group = self.require(group_id)
        wanted = list(dict.fromkeys(user_ids))
        self._check_users(wanted, is_user)
        group.members = dict.fromkeys(wanted)
        group.changed()

    def groups_of(self, user_id: str) -> list[Group]:
        """The groups a user is a member of, in id order."""
        return [group for group in self._groups.values() if user_id in group.members]

    def drop_user(self, user_id: str) -> None:
        """A deleted user leaves every group."""
        for group in self._groups.values():
            if user_id in group.members:
                del group.members[user_id]
                group.changed()

    # -- storage ----------------------------------------------------------------------------

    def _new_id(self) -> str:
        value = self._next_id
        self._next_id += 1
        return f"{value:024x}"

    def _store(
        self, group_id: str | None, body: dict[str, Any], members: dict[str, None] | None = None
    ) -> Group:
        """Check the rules the schema cannot (blank name, email, query, unique name), then
        store the body whole: as a new group when `group_id` is None."""
        name = body["name"]
        if not name.strip():
            raise bad("name must not be blank")
        if body.get("email") and not EMAIL.fullmatch(body["email"]):
            raise bad("email is not a valid email address")
        method = body.get("membershipMethod", "NOTSET")
        if method in DYNAMIC_METHODS and body.get("memberQuery") is None:
            raise bad(f"memberQuery is required for a {method} group")
        owner = self._names.get(name.casefold())
        if owner is not None and owner != group_id:
            raise RefusedRequestError(
                409,
                f"Already Exists: a user group is named {self._groups[owner].name!r} "
                "(names are unique ignoring case)",
            )
        if group_id is None:
            group_id = self._new_id()
        else:
            del self._names[self._groups[group_id].name.casefold()]
        group = Group(group_id, {**_defaults(), **copy.deepcopy(body)}, dict(members or {}))
        self._groups[group_id] = group
        self._names[name.casefold()] = group_id
        return group

    @staticmethod
    def _check_users(user_ids: list[str], is_user: Callable[[str], bool]) -> None:
        for user_id in user_ids:
            if not is_user(user_id):
                raise RefusedRequestError(404, f"User not found: {user_id}")
