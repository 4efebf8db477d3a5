"""A plan as a document: canonical JSON, `plan_id`, and the file that is written.

`plan_document` turns a `model.Plan` and the directory it was made against into the plan
document: every action with the user's `_id`, username, email and profile id, each attribute
it writes with its value `before` (as read from JumpCloud) and `after`, the state change and
the reason; plus the counts, the guard's figures and the non-secret settings (an allow-list).
`plan_id` is the SHA-256 of the canonical JSON of the actions, so the same input and
directory give the same id whatever the key order, the record order or the time.

`plan_id` is an integrity check, not a signature: whoever can edit the file can recompute
it. The approval is the pin, `apply_plan_id`, kept where the approver controls it.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, Final

import msgspec

from target_jumpcloud.atomic import write_atomically
from target_jumpcloud.model import (
    Action,
    ActionKind,
    DirectoryUser,
    OutOfScopeUser,
    Plan,
    UserState,
)
from target_jumpcloud.plan.group_file import groups_document
from target_jumpcloud.settings.groups import GroupSettings
from target_jumpcloud.settings.mapping_table import (
    CUSTOM_FIELD,
    MANAGER,
    custom_name,
)
from target_jumpcloud.settings.sync_settings import (
    SuspensionLimit,
)
from target_jumpcloud.settings.username_template import UsernameTemplate
from target_jumpcloud.sync import custom_attributes as custom
from target_jumpcloud.sync.schedules import JobChange, JobPlan
from target_jumpcloud.zones import format_instant, parse_instant

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable, Mapping
    from pathlib import Path

    from target_jumpcloud.sync.directory import Directory
from target_jumpcloud.plan.schema import (
    NOT_ATTRIBUTE_ENTRIES,
    OUTCOME_OF,
    OUTCOMES,
    PLAN_FORMAT,
    PLAN_SETTINGS,
    PLAN_VERSION,
    STATE_FIELDS,
    PlanFileError,
)

# -- canonical JSON and plan_id ---------------------------------------------------------------


def canonical_json(value: object) -> bytes:
    """The one byte form of a JSON value: sorted keys, no whitespace, ASCII (escapes beyond)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False).encode("ascii")


def _action_key(action: Mapping[str, Any]) -> tuple[str, str]:
    return (str(action["deel_id"]), str(action["kind"]))


def canonical_actions(actions: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The actions in their canonical order: by Deel profile id, then kind."""
    return sorted(actions, key=_action_key)


def compute_plan_id(actions: Iterable[Mapping[str, Any]]) -> str:
    """SHA-256 (hex) of the canonical JSON of the canonically ordered list of actions."""
    return hashlib.sha256(canonical_json(canonical_actions(actions))).hexdigest()


# -- writing a plan ---------------------------------------------------------------------------


def plan_settings(source: object) -> dict[str, Any]:
    """The allow-listed settings of `source` (a settings object or a config mapping), as JSON.

    Only the names in `PLAN_SETTINGS` are read; every other setting, the API key among them,
    is never looked at. Enum members are written as their value, a suspension limit and a
    username template as their text ("20%"), a set as a sorted list.
    """
    snapshot: dict[str, Any] = {}
    for name in PLAN_SETTINGS:
        value = source.get(name) if isinstance(source, dict) else getattr(source, name, None)
        snapshot[name] = _json_setting(value)
    groups = getattr(source, "groups", None)
    if isinstance(groups, GroupSettings) and groups.enabled:  # docs/groups.md
        snapshot["group_rules"] = [
            {"group": rule.template, "when": {a: sorted(v) for a, v in rule.when}}
            for rule in groups.rules
        ]
        snapshot["create_missing_groups"] = groups.create_missing
        snapshot["group_ledger_attribute"] = groups.ledger_attribute
        snapshot["max_group_removal_percent"] = groups.max_removal_percent
    elif isinstance(source, dict):
        for name in GROUP_SETTINGS:
            if name in source:
                snapshot[name] = _json_setting(source[name])
    return snapshot


#: The group settings a plan records (docs/groups.md).
GROUP_SETTINGS = (
    "group_rules",
    "create_missing_groups",
    "group_ledger_attribute",
    "max_group_removal_percent",
)


def _json_setting(value: object) -> Any:  # noqa: ANN401, PLR0911 - any JSON value; one return a type
    if isinstance(value, Enum):
        return value.value
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, SuspensionLimit):
        return str(value)
    if isinstance(value, UsernameTemplate):
        return value.text
    if isinstance(value, set | frozenset):
        return sorted(_json_setting(v) for v in value)
    if isinstance(value, dict):
        return {str(k): _json_setting(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_setting(v) for v in value]
    return str(value)


def new_users(actions: Iterable[Action]) -> dict[int, tuple[str, str]]:
    """Each create's stream position → (profile id, username): what a manager link names."""
    return {
        action.desired.position: (
            action.desired.profile_id,
            action.username or str(action.payload["username"]),
        )
        for action in actions
        if action.kind is ActionKind.CREATE
    }


def action_document(
    action: Action, directory: Directory, creates: Mapping[int, tuple[str, str]] | None = None
) -> dict[str, Any]:
    """One action as the plan file holds it (and hashes it): no stream position, no time.

    `before` values come from the snapshot the plan was made against: the old value of each
    change for an existing user (what JumpCloud had, trimmed), null for a create; the state
    before is the user's state in the snapshot. A custom attribute is one entry
    `attributes.<name>` (never the whole list: the list is rebuilt when the plan is applied);
    the manager is the action's `manager` entry (`creates`, from `new_users`, names a manager
    this plan creates).
    """
    desired = action.desired
    document: dict[str, Any] = {
        "kind": action.kind.value,
        "deel_id": desired.profile_id,
        "jumpcloud_id": action.user_id,
        "username": action.username,
        "email": desired.email,
    }
    user: DirectoryUser | None = None
    if action.kind is ActionKind.CREATE:
        attributes = {
            name: {"before": None, "after": _attribute_text(name, value)}
            for name, value in action.payload.items()
            if name not in NOT_ATTRIBUTE_ENTRIES and value is not None
        }
        ledger_key = (action.ledger_attribute or "").casefold()
        attributes.update(
            (custom.change_key(name), {"before": None, "after": value})
            for name, value in _created_list(action.payload.get(CUSTOM_FIELD))
            if name.casefold() != ledger_key  # (the ledger is the `groups` entry's)
        )
        state: dict[str, Any] | None = {"before": None, "after": str(action.payload["state"])}
        document["name_parts"] = {"first": desired.first_name, "last": desired.last_name}
        if not action.username:
            document["username"] = str(action.payload["username"])
    else:
        user = directory.get(action.user_id or "")
        if user is None:
            raise ValueError(
                f"action for record #{desired.position + 1} names JumpCloud user "
                f"{action.user_id!r}, which is not in the directory the plan was made against"
            )
        _check_representable(action)
        attributes = {
            name: {"before": old, "after": new}
            for name, (old, new) in action.changes.items()
            if name not in STATE_FIELDS and name != MANAGER  # (the state has its own entry)
        }
        state = None
        if "state" in action.payload:
            state = {"before": user.state.value, "after": str(action.payload["state"])}
        if not action.username:
            document["username"] = user.username
    document["attributes"] = attributes
    manager = _manager_document(action, user, directory, creates or {})
    if manager is not None:
        document["manager"] = manager
    document["state"] = state
    document["reason"] = action.reason
    document["warnings"] = list(desired.warnings)
    if action.schedule:  # docs/effective-dates.md: checked against the user's jobs again on apply
        document["schedule"] = [schedule_line_document(line) for line in action.schedule]
    groups = groups_document(action, user)  # docs/groups.md: checked again on apply
    if groups is not None:
        document["groups"] = groups
    if action.leaver_steps:  # docs/leavers.md
        document["leaver_steps"] = list(action.leaver_steps)
    return document


def out_of_scope_document(user: OutOfScopeUser, directory: Directory) -> dict[str, Any] | None:
    """An out-of-scope user's writes as a plan action (docs/leavers.md); None: it has none.

    Its `deel_id` is the profile id the user is linked to (no record backs it); the count is
    the entry `attributes.deelSyncMissing`, checked against JumpCloud again on apply, as is
    the state a suspension changes.
    """
    if not user.payload and not user.leaver_steps:
        return None
    current = directory.get(user.jumpcloud_id)
    if current is None:
        raise ValueError(f"out-of-scope user {user.jumpcloud_id!r} is not in the directory")
    suspends = "state" in user.payload
    document: dict[str, Any] = {
        "kind": (ActionKind.SUSPEND if suspends else ActionKind.UPDATE).value,
        "deel_id": user.employee_identifier,
        "jumpcloud_id": user.jumpcloud_id,
        "username": user.username,
        "email": user.email or user.username,
        "attributes": {
            name: {"before": old, "after": new} for name, (old, new) in user.changes.items()
        },
        "state": (
            {"before": current.state.value, "after": UserState.SUSPENDED.value}
            if suspends
            else None
        ),
        "reason": user.reason,
        "warnings": [],
        "out_of_scope": True,
    }
    if user.leaver_steps:
        document["leaver_steps"] = list(user.leaver_steps)
    return document


def schedule_line_document(line: JobPlan) -> dict[str, str]:
    """One schedule line as the plan file holds it: the report's fields, and the job's.

    `job_id` is the job it cancels or keeps; `previous_at` the instant a reschedule moves from.
    """
    entry = line.report_entry()
    if line.job_id is not None:
        entry["job_id"] = line.job_id
    if line.previous_at is not None:
        entry["previous_at"] = format_instant(line.previous_at)
    return entry


def schedule_line_from_entry(entry: Mapping[str, Any]) -> JobPlan:
    """A schedule line of a loaded plan (validated by the schema; `at` read as UTC)."""
    at = parse_instant(entry["at"])
    previous = parse_instant(entry.get("previous_at"))
    if at is None:
        raise PlanFileError(f"apply_plan: schedule time {entry['at']!r} is not an ISO 8601 time")
    return JobPlan(
        state=UserState(entry["state"]),
        at=at,
        change=JobChange(entry["change"]),
        job_id=entry.get("job_id"),
        previous_at=previous,
    )


def _check_representable(action: Action) -> None:
    """Refuse an update with a write the plan file cannot show: never hide one from a reviewer."""
    unexpected = set(action.payload) - set(action.changes) - STATE_FIELDS - {MANAGER, CUSTOM_FIELD}
    if (
        CUSTOM_FIELD in action.payload
        and action.ledger_after is None
        and not any(custom_name(name) is not None for name in action.changes)
    ):
        unexpected.add(CUSTOM_FIELD)
    if MANAGER in action.payload and MANAGER not in action.changes:
        unexpected.add(MANAGER)
    if unexpected:
        raise ValueError(f"the plan file cannot represent writes to {sorted(unexpected)}")


def _created_list(items: object) -> list[tuple[str, str]]:
    """The custom attributes of a create's list, as (name, text) pairs."""
    if items is None:
        return []
    if not isinstance(items, list):
        raise TypeError(f"the plan file cannot represent attributes of type {type(items).__name__}")
    pairs = []
    for item in items:
        name = item.get("name") if isinstance(item, dict) else None
        value = item.get("value") if isinstance(item, dict) else None
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError(f"the plan file cannot represent the custom attribute {item!r}")
        pairs.append((name, value))
    return pairs


def _manager_document(
    action: Action,
    user: DirectoryUser | None,
    directory: Directory,
    creates: Mapping[int, tuple[str, str]],
) -> dict[str, Any] | None:
    """The action's `manager` entry: ids before and after, with usernames; None: not written."""
    after = action.payload.get(MANAGER)
    pending = action.manager_pending
    if pending is None and after is None:
        return None
    before = user.manager if user is not None else None
    entry: dict[str, Any] = {
        "before": before,
        "after": None,
        "before_username": _username_of(directory, before),
        "after_username": None,
    }
    if pending is not None:
        if pending not in creates:
            raise ValueError(
                f"action for record #{action.desired.position + 1} waits for a manager's "
                f"create (record #{pending + 1}) that is not in the plan"
            )
        entry["after_deel_id"], entry["after_username"] = creates[pending]
    else:
        entry["after"] = str(after)
        entry["after_username"] = _username_of(directory, str(after))
    return entry


def _username_of(directory: Directory, user_id: str | None) -> str | None:
    user = directory.get(user_id) if user_id else None
    return user.username if user is not None else None


def _attribute_text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(
            f"the plan file cannot represent attribute {name!r} of type {type(value).__name__}"
        )
    return value


def plan_document(
    plan: Plan,
    directory: Directory,
    settings: object,
    *,
    created_at: datetime,
) -> dict[str, Any]:
    """The plan file's content for `plan`, made against `directory` with `settings`."""
    creates = new_users(plan.actions)
    documents = [action_document(action, directory, creates) for action in plan.actions]
    counts = dict.fromkeys(OUTCOMES, 0)
    for action in plan.actions:
        counts[action.outcome.value] += 1
    check = plan.directory
    for user in check.out_of_scope if check is not None else ():
        written = out_of_scope_document(user, directory)
        if written is not None:
            documents.append(written)
            counts[OUTCOME_OF[ActionKind(written["kind"])].value] += 1
    actions = canonical_actions(documents)
    for result in plan.results:
        counts[result.outcome.value] += 1
    return {
        "format": PLAN_FORMAT,
        "version": PLAN_VERSION,
        "plan_id": compute_plan_id(actions),
        "created_at": _iso(created_at),
        "settings": plan_settings(settings),
        "counts": counts,
        "guard": {
            "matched_users": plan.matched_users,
            "suspensions": plan.suspensions,
            "suspension_limit": plan.suspension_limit,
            "tripped": plan.guard_tripped,
        },
        "actions": actions,
        "records": [result.to_json() for result in sorted(plan.results, key=lambda r: r.position)],
        **({"directory": check.to_json()} if check is not None else {}),
    }


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("created_at must be an aware datetime")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


_ONE_LINE_LISTS: Final = frozenset({"actions", "records"})


def _json_bytes(value: object) -> bytes:
    """Compact UTF-8 JSON.

    Text msgspec cannot encode (a lone surrogate) goes through `json`, written as its
    backslash escape, which reads back as the same text.
    """
    try:
        return msgspec.json.encode(value)
    except (msgspec.EncodeError, UnicodeError, TypeError):
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        return text.encode("utf-8", errors="backslashreplace")


def plan_bytes(document: Mapping[str, Any]) -> bytes:
    """The plan file's bytes: UTF-8 JSON, the frame indented by 2, one line per action and record.

    One line per action keeps a plan of 100,000 creates at half the size of fully indented
    JSON, and makes a diff of two plan files show one changed line per changed action.
    """
    items = list(document.items())
    parts = [b"{\n"]
    for index, (key, value) in enumerate(items):
        if key in _ONE_LINE_LISTS and isinstance(value, list) and value:
            body = b"[\n" + b",\n".join(b"    " + _json_bytes(item) for item in value) + b"\n  ]"
        else:
            body = msgspec.json.format(_json_bytes(value), indent=2).replace(b"\n", b"\n  ")
        end = b",\n" if index < len(items) - 1 else b"\n"
        parts.append(b"  " + _json_bytes(key) + b": " + body + end)
    parts.append(b"}\n")
    return b"".join(parts)


def write_plan(path: str | os.PathLike[str], document: Mapping[str, Any]) -> Path:
    """Write the plan file atomically (temp file + rename); return its path."""
    return write_atomically(path, plan_bytes(document))
