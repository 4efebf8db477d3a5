"""Groups from HR data (docs/groups.md): which groups a user should be in, and what to write.

Pure rules, no I/O. The pieces:

* `group_names(rules, desired)`: the group names the rules yield for one worker.
* The ledger: the ids of the groups the sync manages for a user, kept in one custom attribute
  (sorted, joined by `,`). `ledger_of(user, attribute)` reads it from a directory user;
  `with_ledger(items, attribute, ids)` puts it in a custom attribute list to send.
* `GroupSnapshot`: the groups JumpCloud has (listed once) and the members of those read.
* `decide_groups(...)`: per user, the lines (`added` / `removed` / `kept` / `missing`), the
  ledger after the run and the warnings (a missing or dynamic group, a garbled ledger).

Only memberships recorded in the ledger are ever removed: one an administrator (or a
dynamic group) made is never in it, so the sync leaves it alone forever.
"""

from __future__ import annotations

import functools
import operator
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import msgspec

from target_jumpcloud.model import GroupChange, GroupLine
from target_jumpcloud.settings.groups import GROUP_NAME_LIMIT
from target_jumpcloud.settings.mapping_table import custom_name
from target_jumpcloud.sync import custom_attributes as custom

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from target_jumpcloud.model import DesiredUser, DirectoryUser, GroupsChange
    from target_jumpcloud.settings.groups import GroupRule

DYNAMIC_METHODS: Final = frozenset({"DYNAMIC_AUTOMATED", "DYNAMIC_REVIEW_REQUIRED"})
LEDGER_SEPARATOR: Final = ","
_GROUP_ID: Final = re.compile(r"[0-9a-f]{24}")
_SHOWN_MAX: Final = 40


class DirectoryGroup(msgspec.Struct, frozen=True, gc=False):
    """A JumpCloud user group as the listing gives it."""

    id: str
    name: str
    membership_method: str = "NOTSET"

    @property
    def dynamic(self) -> bool:
        """Whether JumpCloud computes the members (a manual write would be superseded)."""
        return self.membership_method in DYNAMIC_METHODS


def read_group(item: object) -> DirectoryGroup | None:
    """A `UserGroup` of the V2 listing; None for an item without a usable id and name."""
    if not isinstance(item, dict):
        return None
    group_id, name = item.get("id"), item.get("name")
    if not isinstance(group_id, str) or not group_id or not isinstance(name, str):
        return None
    method = item.get("membershipMethod")
    return DirectoryGroup(group_id, name, method if isinstance(method, str) else "NOTSET")


def group_key(name: str) -> str:
    """How group names are compared: JumpCloud keeps them unique ignoring case."""
    return name.casefold()


class GroupSnapshot:
    """The groups JumpCloud has, by id and by name, and the members of the groups read.

    Members are read only for the groups a rule yields or a ledger names (and any extra
    group a caller asks for); `members_of` is None for a group whose members were not read.
    """

    def __init__(
        self,
        groups: Iterable[DirectoryGroup] = (),
        members: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self._by_id: dict[str, DirectoryGroup] = {}
        self._by_name: dict[str, DirectoryGroup] = {}
        for group in groups:
            self._by_id[group.id] = group
            self._by_name.setdefault(group_key(group.name), group)
        self._members: dict[str, frozenset[str]] = {
            group_id: frozenset(users) for group_id, users in (members or {}).items()
        }

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Any:  # noqa: ANN401 - an iterator of DirectoryGroup
        return iter(self._by_id.values())

    def by_name(self, name: str) -> DirectoryGroup | None:
        """The group of this name (ignoring case), if JumpCloud has one."""
        return self._by_name.get(group_key(name))

    def by_id(self, group_id: str) -> DirectoryGroup | None:
        """The group with this id, if JumpCloud has it."""
        return self._by_id.get(group_id)

    def set_members(self, group_id: str, user_ids: Iterable[str]) -> None:
        """Record the members read for one group."""
        self._members[group_id] = frozenset(user_ids)

    def members_of(self, group_id: str) -> frozenset[str] | None:
        """The user ids in the group, or None when its members were not read."""
        return self._members.get(group_id)

    def is_member(self, group_id: str, user_id: str) -> bool:
        """Whether the user is in the group (the group's members must have been read)."""
        members = self._members.get(group_id)
        if members is None:
            raise ValueError(f"internal error: the members of group {group_id} were not read")
        return user_id in members

    def needs_members(self, group: DirectoryGroup) -> bool:
        """Whether a group's members still need reading (dynamic ones are never written)."""
        return not group.dynamic and group.id not in self._members


# -- the rules -----------------------------------------------------------------------------


def _value(desired: DesiredUser, attribute: str) -> str | None:
    name = custom_name(attribute)
    if name is not None:
        values = desired.custom_attributes or {}
        return values.get(name)
    return desired.attributes.get(attribute)


def _filled(rule: GroupRule, desired: DesiredUser) -> str | None:
    """The rule's group name for this worker; None when a condition fails or a value is empty."""
    for condition, values in rule.when:
        value = _value(desired, condition)
        if value is None or value.strip() not in values:
            return None
    pieces = []
    for literal, attribute in rule.parts:
        pieces.append(literal)
        if attribute is not None:
            filled = _value(desired, attribute)
            if filled is None or not filled.strip():
                return None
            pieces.append(filled)
    return " ".join("".join(pieces).split()) or None


def group_names(
    rules: Sequence[GroupRule], desired: DesiredUser
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The group names the rules yield for a worker, and the warnings.

    Each name once (its first spelling, in rule order); a name longer than JumpCloud allows
    is left out, with a warning.
    """
    names: dict[str, str] = {}
    warnings: list[str] = []
    for rule in rules:
        name = _filled(rule, desired)
        if name is None:
            continue
        if len(name) > GROUP_NAME_LIMIT:
            warnings.append(
                f"group name {name[:_SHOWN_MAX]!r}... from rule {rule.template!r} is "
                f"{len(name)} characters, more than JumpCloud's {GROUP_NAME_LIMIT}: left out"
            )
            continue
        names.setdefault(group_key(name), name)
    return tuple(names.values()), tuple(warnings)


class GroupNamer:
    """`group_names` for one set of rules, remembered by the values the rules read.

    Departments and locations repeat across a workforce, so 100,000 workers come down to a
    few hundred distinct cases: each is worked out once.
    """

    _CACHE_MAX: Final = 100_000

    def __init__(self, rules: Sequence[GroupRule]) -> None:
        self.rules = tuple(rules)
        read = dict.fromkeys(
            a for rule in self.rules for a in (*rule.placeholders, *(c for c, _ in rule.when))
        )
        plain = [a for a in read if custom_name(a) is None]
        self._custom = tuple(name for a in read if (name := custom_name(a)) is not None)
        # `DesiredUser.attributes` holds every mapped attribute, and a rule names only those
        self._key = operator.itemgetter(*plain) if plain else None
        self._single = len(plain) == 1
        self._cache: dict[object, tuple[tuple[str, ...], tuple[str, ...]]] = {}

    def __call__(self, desired: DesiredUser) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The names and warnings `group_names` gives this worker."""
        try:
            key: object = self._key(desired.attributes) if self._key is not None else ()
        except KeyError:  # (a record made by hand, without every mapped attribute)
            return group_names(self.rules, desired)
        if self._custom:
            custom_values = desired.custom_attributes or {}
            key = (key, *[custom_values.get(name) for name in self._custom])
        found = self._cache.get(key)
        if found is None:
            found = group_names(self.rules, desired)
            if len(self._cache) < self._CACHE_MAX:
                self._cache[key] = found
        return found


@functools.cache
def namer_for(rules: tuple[GroupRule, ...]) -> GroupNamer:
    """The one `GroupNamer` of these rules (the read and the planner share its cache)."""
    return GroupNamer(rules)


# -- the ledger ----------------------------------------------------------------------------


def parse_ledger(text: str | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The group ids a ledger value holds (sorted, once each) and its garbage tokens."""
    if not text:
        return (), ()
    ids: set[str] = set()
    garbage: list[str] = []
    for token in text.split(LEDGER_SEPARATOR):
        token = token.strip()  # noqa: PLW2901 - the token, trimmed
        if not token:
            continue
        if _GROUP_ID.fullmatch(token):
            ids.add(token)
        else:
            garbage.append(token)
    return tuple(sorted(ids)), tuple(garbage)


def ledger_text(ids: Iterable[str]) -> str:
    """The ledger's value: the ids sorted, joined by `,`."""
    return LEDGER_SEPARATOR.join(sorted(set(ids)))


def ledger_raw(user: DirectoryUser, attribute: str) -> str | None:
    """The ledger attribute's text as JumpCloud holds it for a user (None: not set)."""
    if not user.custom_attributes:
        return None
    return custom.current_text(user.custom_attributes, attribute)


def ledger_of(user: DirectoryUser, attribute: str) -> tuple[str, ...]:
    """The ids of the groups the sync manages for `user` (sorted; garbage left out).

    The leaver step `remove_groups` removes the user from exactly these groups.
    """
    return parse_ledger(ledger_raw(user, attribute))[0]


def ledger_ids(users: Iterable[DirectoryUser], attribute: str) -> set[str]:
    """Every group id the users' ledgers name (each distinct ledger text parsed once)."""
    texts = {ledger_raw(user, attribute) for user in users if user.custom_attributes}
    return {group_id for text in texts for group_id in parse_ledger(text)[0]}


def with_ledger(items: Sequence[Any], attribute: str, ids: Iterable[str]) -> list[Any]:
    """The custom attribute list with the ledger set to `ids` (the item removed when empty).

    Every other item is kept exactly as it was (same object, same place); the ledger's item
    keeps its place too.
    """
    value = ledger_text(ids)
    key = attribute.casefold()
    result: list[Any] = []
    placed = False
    for item in items:
        name = item.get("name") if isinstance(item, dict) else None
        if isinstance(name, str) and name.casefold() == key:
            if not placed and value:
                result.append({**item, "value": value})
            placed = True
            continue
        result.append(item)
    if not placed and value:
        result.append({"name": attribute, "value": value})
    return result


# -- the decision per user -----------------------------------------------------------------


@dataclass(frozen=True)
class GroupDecision:
    """What the run does about one user's groups."""

    lines: tuple[GroupLine, ...] = ()
    ledger_before: tuple[str, ...] = ()
    ledger_after: tuple[str, ...] = ()  # the known ids; groups this run creates come on top
    warnings: tuple[str, ...] = ()
    ledger_changes: bool = False  # the ledger attribute must be written
    change: GroupsChange | None = None  # managed names before/after, when they differ

    @property
    def writes_members(self) -> bool:
        """Whether any membership is added or removed."""
        return any(line.change in _WRITES for line in self.lines)


_WRITES: Final = frozenset({GroupChange.ADDED, GroupChange.REMOVED})
NO_GROUPS: Final = GroupDecision()


def missing_warning(name: str) -> str:
    """The warning on a record whose rule names a group JumpCloud does not have."""
    return f"group {name!r} does not exist in JumpCloud"


def dynamic_warning(name: str) -> str:
    """The warning on a record whose rule names a dynamic group."""
    return f"group {name!r} is dynamic"


def decide_groups(  # noqa: PLR0912 - one branch per case of docs/groups.md
    wanted: Sequence[str],
    ledger: str | None,
    user_id: str | None,
    snapshot: GroupSnapshot,
    *,
    create_missing: bool,
    attribute: str,
) -> GroupDecision:
    """The group lines of one user (`user_id` None: created by this run, in no group yet).

    `wanted` is what `group_names` yields, `ledger` the ledger attribute's text as read.
    """
    before, garbage = parse_ledger(ledger)
    in_ledger = set(before)
    after: set[str] = set()
    lines: list[GroupLine] = []
    warnings: list[str] = []
    if garbage:
        shown = ", ".join(repr(token[:_SHOWN_MAX]) for token in garbage[:3])
        warnings.append(
            f"the group ledger {attribute} held text that is not a group id ({shown}): "
            "ignored and cleaned up"
        )
    wanted_ids: set[str] = set()
    created_names: list[str] = []
    for name in wanted:
        group = snapshot.by_name(name)
        if group is None:
            if create_missing:
                lines.append(GroupLine(name, None, GroupChange.ADDED))
                created_names.append(name)
            else:
                lines.append(GroupLine(name, None, GroupChange.MISSING))
                warnings.append(missing_warning(name))
            continue
        wanted_ids.add(group.id)
        if group.dynamic:
            warnings.append(dynamic_warning(group.name))
            continue
        if user_id is not None and snapshot.is_member(group.id, user_id):
            lines.append(GroupLine(group.name, group.id, GroupChange.KEPT))
            if group.id in in_ledger:
                after.add(group.id)
        else:
            lines.append(GroupLine(group.name, group.id, GroupChange.ADDED))
            after.add(group.id)
    for group_id in before:
        if group_id in wanted_ids:
            continue
        group = snapshot.by_id(group_id)
        if group is None or group.dynamic or user_id is None:
            continue  # gone, or JumpCloud's to decide: it just leaves the ledger
        if snapshot.is_member(group_id, user_id):
            lines.append(GroupLine(group.name, group_id, GroupChange.REMOVED))
        # not a member any more (removed by hand): it leaves the ledger, nothing written
    known_after = tuple(sorted(after))
    ledger_changes = bool(garbage) or set(before) != after or bool(created_names)
    change: GroupsChange | None = None
    names_before = _names(before, snapshot)
    names_after = tuple(sorted({*_names(known_after, snapshot), *created_names}))
    if names_before != names_after:
        change = (names_before, names_after)
    return GroupDecision(
        lines=tuple(lines),
        ledger_before=before,
        ledger_after=known_after,
        warnings=tuple(warnings),
        ledger_changes=ledger_changes,
        change=change,
    )


def _names(ids: Iterable[str], snapshot: GroupSnapshot) -> tuple[str, ...]:
    """The groups' names, sorted (a group JumpCloud no longer has is shown by its id)."""
    return tuple(sorted((g.name if (g := snapshot.by_id(i)) else i) for i in ids))


def removals_by_group(lines: Iterable[GroupLine]) -> dict[str, int]:
    """How many users the lines remove from each group (by id): the guard counts them."""
    counts: dict[str, int] = {}
    for line in lines:
        if line.change is GroupChange.REMOVED and line.id is not None:
            counts[line.id] = counts.get(line.id, 0) + 1
    return counts


def names_to_create(lines: Iterable[GroupLine]) -> list[str]:
    """The groups the run creates (once each, first spelling), in the order first named."""
    names: dict[str, str] = {}
    for line in lines:
        if line.id is None and line.change is GroupChange.ADDED:
            names.setdefault(group_key(line.group), line.group)
    return list(names.values())
