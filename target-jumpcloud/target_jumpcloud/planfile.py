"""The plan file of contract §14: a plan as a reviewable value on disk, and applying exactly it.

Three jobs, all pure (no HTTP, no Singer, no clock: "now" is an argument):

- `plan_document` turns a `model.Plan` and the directory it was made against into the plan
  document: every action with the user's `_id`, username, email and profile id, each attribute
  it writes with its value `before` (as read from JumpCloud) and `after`, the state change and
  the reason; plus the counts, the guard's figures and the non-secret settings (an allow-list).
  `plan_id` is the SHA-256 of the canonical JSON of the actions, so the same input and
  directory give the same id whatever the key order, the record order or the time.
- `load_plan` reads a plan file back for an apply run: it refuses, with one line, a file that
  is not a plan, one whose actions no longer hash to its `plan_id` (edited), one that is not
  the pinned `apply_plan_id`, and one older than `plan_max_age_hours`.
- `check_drift` compares each action's `before` values with the directory as it is now:
  unchanged → applied (only what is still to write); changed → `conflict`, "changed since
  the plan was made: …"; already at `after` (the plan was applied before) → `unchanged`.

`plan_id` is an integrity check, not a signature: whoever can edit the file can recompute
it. The approval is the pin, `apply_plan_id`, kept where the approver controls it.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NamedTuple, TypeGuard

import jsonschema
import msgspec

from target_jumpcloud import attributes as custom
from target_jumpcloud.atomic import write_atomically
from target_jumpcloud.managers import break_cycles
from target_jumpcloud.mapping import EMAIL, EMPLOYEE_ID
from target_jumpcloud.mapping_rules import CUSTOM_FIELD, CUSTOM_PREFIX, MANAGER, custom_name
from target_jumpcloud.model import (
    Action,
    ActionKind,
    DesiredUser,
    DirectoryUser,
    Outcome,
    Plan,
    RecordResult,
    UserState,
)
from target_jumpcloud.schedules import JobChange, JobPlan
from target_jumpcloud.scheduling import counts_as_suspension
from target_jumpcloud.settings import (
    ConfigError,
    SuspensionLimit,
    parse_plan_max_age_hours,
)
from target_jumpcloud.username_rules import UsernameTemplate
from target_jumpcloud.zones import format_instant, parse_instant

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable, Mapping, Sequence

    from target_jumpcloud.directory import Directory
    from target_jumpcloud.schedules import ScheduledJob

PLAN_FORMAT: Final = "target-jumpcloud-plan"
PLAN_VERSION: Final = 1
# A plan stamped a little in the future is clock skew between two machines; more is refused.
CLOCK_SKEW: Final = timedelta(minutes=5)
REASON_CHANGED: Final = "changed since the plan was made"
REASON_ALREADY: Final = "already as planned"

# The settings a plan records, by name: an allow-list, so a secret added to the target later
# (client_secret, a token…) can never end up in a plan file by default.
PLAN_SETTINGS: Final = (
    "api_url",
    "org_id",
    "worker_stream",
    "mapping",
    "user_state_on_create",
    "reactivate_suspended_users",
    "max_suspensions",
    "dry_run",
    "create_only_attributes",
    "username_template",
    "username_max_length",
)

_OUTCOME_OF: Final = {
    ActionKind.CREATE: Outcome.CREATED,
    ActionKind.UPDATE: Outcome.UPDATED,
    ActionKind.SUSPEND: Outcome.SUSPENDED,
    ActionKind.REACTIVATE: Outcome.REACTIVATED,
    ActionKind.SCHEDULE: Outcome.SCHEDULED,
}
_STATE_FIELDS: Final = frozenset({"state", "suspended"})
_NOT_ATTRIBUTES: Final = frozenset({"username", "state", "suspended"})
# Written by an action's own `manager` entry, or item by item as `attributes.<name>`.
_NOT_ATTRIBUTE_ENTRIES: Final = _NOT_ATTRIBUTES | {MANAGER, CUSTOM_FIELD}
_CUSTOM_PREFIX_LENGTH: Final = len(CUSTOM_PREFIX)
_SHOWN_LENGTH: Final = 80  # a value longer than this is cut in a reason


class PlanFormatError(ValueError):
    """A file is not a usable plan file; the message names the file and says why."""


class PlanFileError(ConfigError):
    """`apply_plan` (or `apply_plan_id`, `plan_max_age_hours`) cannot be used: nothing is written.

    A `ConfigError`, so a run stops before any write with one line naming the setting.
    """


# -- the document's shape (JSON Schema) -------------------------------------------------------
# Sub-schemas are shared as Python objects rather than `$ref`s: resolving a reference for each
# of 100,000 actions took a third of the validation time (measured).

_TEXT: Final = {"type": "string"}
_NULLABLE_TEXT: Final = {"type": ["string", "null"]}
_ID_TEXT: Final = {"type": "string", "minLength": 1}
_STATES: Final = [state.value for state in UserState]
_OUTCOMES: Final = [outcome.value for outcome in Outcome]


def _kind_is(kind: ActionKind) -> dict[str, Any]:
    return {"properties": {"kind": {"const": kind.value}}, "required": ["kind"]}


def _state_is(before: Sequence[str | None], after: Sequence[str]) -> dict[str, Any]:
    """The `state` an action of one kind must have: an object with these values."""
    return {
        "properties": {
            "state": {
                "type": "object",
                "properties": {"before": {"enum": list(before)}, "after": {"enum": list(after)}},
            }
        }
    }


_MANAGER_SCHEMA: Final = {
    # The manager's JumpCloud `_id` before and after, their usernames for people; a manager
    # this plan creates has no `_id` yet: `after` is null and `after_deel_id` names the create.
    "type": "object",
    "required": ["before", "after", "before_username", "after_username"],
    "additionalProperties": False,
    "properties": {
        "before": _NULLABLE_TEXT,
        "after": _NULLABLE_TEXT,
        "before_username": _NULLABLE_TEXT,
        "after_username": _NULLABLE_TEXT,
        "after_deel_id": _ID_TEXT,
    },
    "if": {"properties": {"after": {"type": "null"}}},
    "then": {"required": ["after_deel_id"]},
    "else": {"properties": {"after": _ID_TEXT}, "not": {"required": ["after_deel_id"]}},
}
_CHANGE_SCHEMA: Final = {
    "type": "object",
    "required": ["before", "after"],
    "additionalProperties": False,
    "properties": {"before": _NULLABLE_TEXT, "after": _NULLABLE_TEXT},
}
_SCHEDULE_SCHEMA: Final = {
    # Scheduled state changes (contract §12) are written by the version that plans them, in
    # the report's shape; a plan carrying them is recognised, and refused by an apply that
    # cannot check them (see `load_plan`).
    "type": "array",
    "items": {
        "type": "object",
        "required": ["state", "at", "change"],
        "properties": {
            "state": {"enum": _STATES},
            "at": _TEXT,
            "change": {"enum": ["scheduled", "rescheduled", "cancelled", "kept"]},
        },
    },
}
_ACTION_SCHEMA: Final = {
    "type": "object",
    "required": [
        "kind",
        "deel_id",
        "jumpcloud_id",
        "username",
        "email",
        "attributes",
        "state",
        "reason",
        "warnings",
    ],
    "additionalProperties": False,
    "properties": {
        "kind": {"enum": [kind.value for kind in ActionKind]},
        "deel_id": _ID_TEXT,
        "jumpcloud_id": _NULLABLE_TEXT,
        "username": _ID_TEXT,
        "email": _ID_TEXT,
        "name_parts": {
            "type": "object",
            "required": ["first", "last"],
            "additionalProperties": False,
            "properties": {"first": _NULLABLE_TEXT, "last": _NULLABLE_TEXT},
        },
        "attributes": {"type": "object", "additionalProperties": _CHANGE_SCHEMA},
        "manager": _MANAGER_SCHEMA,
        "state": {
            "type": ["object", "null"],
            "required": ["before", "after"],
            "additionalProperties": False,
            "properties": {"before": {"enum": [*_STATES, None]}, "after": {"enum": _STATES}},
        },
        "reason": _NULLABLE_TEXT,
        "warnings": {"type": "array", "items": _TEXT},
        "schedule": _SCHEDULE_SCHEMA,
    },
    "allOf": [
        {
            "if": _kind_is(ActionKind.CREATE),
            "then": {
                "required": ["name_parts"],
                "properties": {
                    "jumpcloud_id": {"type": "null"},
                    **_state_is([None], ["STAGED", "ACTIVATED"])["properties"],
                },
            },
            "else": {
                "properties": {"jumpcloud_id": _ID_TEXT},
                "not": {"required": ["name_parts"]},  # (only a create names its username)
            },
        },
        {"if": _kind_is(ActionKind.UPDATE), "then": {"properties": {"state": {"type": "null"}}}},
        {
            "if": _kind_is(ActionKind.SUSPEND),
            "then": _state_is(["STAGED", "ACTIVATED"], ["SUSPENDED"]),
        },
        {"if": _kind_is(ActionKind.REACTIVATE), "then": _state_is(["SUSPENDED"], ["ACTIVATED"])},
    ],
}
#: A record's `changes` in a report or a plan: attribute → [old, new].
CHANGES_SCHEMA: Final = {
    "type": "object",
    "additionalProperties": {
        "type": "array",
        "prefixItems": [_NULLABLE_TEXT, _NULLABLE_TEXT],
        "minItems": 2,
        "maxItems": 2,
    },
}
_RECORD_SCHEMA: Final = {
    "type": "object",
    "required": ["deel_id", "email", "username", "jumpcloud_id", "outcome", "reason"],
    "properties": {
        "deel_id": _NULLABLE_TEXT,
        "email": _NULLABLE_TEXT,
        "username": _NULLABLE_TEXT,
        "jumpcloud_id": _NULLABLE_TEXT,
        "outcome": {"enum": _OUTCOMES},
        "reason": _NULLABLE_TEXT,
        "changes": CHANGES_SCHEMA,
        "warnings": {"type": "array", "items": _TEXT},
    },
}
PLAN_SCHEMA: Final[dict[str, Any]] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "target-jumpcloud plan file",
    "type": "object",
    "required": [
        "format",
        "version",
        "plan_id",
        "created_at",
        "settings",
        "counts",
        "guard",
        "actions",
        "records",
    ],
    "additionalProperties": False,
    "properties": {
        "format": {"const": PLAN_FORMAT},
        "version": {"const": PLAN_VERSION},
        "plan_id": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "created_at": _TEXT,
        "settings": {"type": "object"},
        "counts": {
            "type": "object",
            "required": _OUTCOMES,
            "additionalProperties": {"type": "integer", "minimum": 0},
        },
        "guard": {
            "type": "object",
            "required": ["matched_users", "suspensions", "suspension_limit", "tripped"],
            "additionalProperties": False,
            "properties": {
                "matched_users": {"type": "integer", "minimum": 0},
                "suspensions": {"type": "integer", "minimum": 0},
                "suspension_limit": {"type": "integer", "minimum": 0},
                "tripped": {"type": "boolean"},
            },
        },
        "actions": {"type": "array", "items": _ACTION_SCHEMA},
        "records": {"type": "array", "items": _RECORD_SCHEMA},
    },
}
jsonschema.Draft202012Validator.check_schema(PLAN_SCHEMA)
_VALIDATOR: Final = jsonschema.Draft202012Validator(PLAN_SCHEMA)


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
    return snapshot


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
            if name not in _NOT_ATTRIBUTE_ENTRIES and value is not None
        }
        attributes.update(
            (custom.change_key(name), {"before": None, "after": value})
            for name, value in _created_list(action.payload.get(CUSTOM_FIELD))
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
            if name != MANAGER
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
    if action.schedule:  # §12: checked against the user's jobs again on apply
        document["schedule"] = [schedule_line_document(line) for line in action.schedule]
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


def _schedule_line(entry: Mapping[str, Any]) -> JobPlan:
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
    unexpected = set(action.payload) - set(action.changes) - _STATE_FIELDS - {MANAGER, CUSTOM_FIELD}
    if CUSTOM_FIELD in action.payload and not any(
        custom_name(name) is not None for name in action.changes
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
    actions = canonical_actions(
        action_document(action, directory, creates) for action in plan.actions
    )
    counts = dict.fromkeys(_OUTCOMES, 0)
    for action in plan.actions:
        counts[action.outcome.value] += 1
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


# -- reading a plan ---------------------------------------------------------------------------


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise PlanFormatError(f"the key {key!r} appears twice in one object")
        seen[key] = value
    return seen


def _no_constant(name: str) -> None:
    raise PlanFormatError(f"{name} is not a JSON value")


def parse_json_file(path: str | os.PathLike[str]) -> Any:  # noqa: ANN401 - any JSON
    """A file's JSON value; one-line `PlanFormatError` for unreadable, non-UTF-8, non-JSON.

    Duplicate keys and NaN/Infinity are refused: two readers could see different values.
    """
    shown = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise PlanFormatError(f"{shown}: no such file") from None
    except IsADirectoryError:
        raise PlanFormatError(f"{shown}: is a folder, not a file") from None
    except OSError as exc:
        raise PlanFormatError(f"{shown}: cannot be read ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise PlanFormatError(f"{shown}: not UTF-8 text") from None
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise PlanFormatError(
            f"{shown}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except PlanFormatError as exc:
        raise PlanFormatError(f"{shown}: not valid JSON for a plan ({exc})") from None
    except RecursionError:
        raise PlanFormatError(f"{shown}: not valid JSON (nested too deeply)") from None


def is_plan_document(value: object) -> TypeGuard[dict[str, Any]]:
    """True when `value` claims to be a plan file (its `format`); it may still be invalid."""
    return isinstance(value, dict) and value.get("format") == PLAN_FORMAT


# Where the schema looks at a string's value (an enum or a const); everywhere else it only
# asks for a string, non-empty for ids. Paths are dict keys from the item, list steps skipped.
_VALUE_CHECKED: Final = frozenset(
    {
        ("kind",),
        ("state", "before"),
        ("state", "after"),
        ("schedule", "state"),
        ("schedule", "change"),
        ("outcome",),
    }
)
_ITEM_VALIDATORS: Final = {
    "actions": jsonschema.Draft202012Validator(_ACTION_SCHEMA),
    "records": jsonschema.Draft202012Validator(_RECORD_SCHEMA),
}


def _shape(value: object, path: tuple[str, ...] = ()) -> object:
    """`value` with every free text replaced by "x" (or "" when empty): what the schema sees.

    Two items with the same shape get the same verdict from the item schemas, so each shape
    is validated once: 100,000 creates have a handful of shapes, and validating every one of
    them took 38 s (measured) against well under one for their shapes.
    """
    if isinstance(value, str):
        return value if path in _VALUE_CHECKED else ("x" if value else "")
    if isinstance(value, dict):
        return {key: _shape(item, (*path, key)) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(item, path) for item in value]
    return value


def _problem_text(error: jsonschema.ValidationError, prefix: Sequence[str | int] = ()) -> str:
    where = "/".join(str(part) for part in (*prefix, *error.absolute_path)) or "the top level"
    message = error.message
    if isinstance(error.instance, dict | list):  # a whole object quoted helps no one
        what = "this object" if isinstance(error.instance, dict) else "this list"
        message = message.replace(repr(error.instance), what)
    if len(message) > 2 * _SHOWN_LENGTH:
        message = message[: 2 * _SHOWN_LENGTH - 3] + "..."
    return f"{where}: {message}"


def _schema_problem(document: Mapping[str, Any]) -> str | None:
    """The first problem `PLAN_SCHEMA` finds in `document` (validated by item shape), if any."""
    lists: dict[str, list[Any]] = {}
    for name in _ITEM_VALIDATORS:
        items = document.get(name)
        if not isinstance(items, list):
            error = jsonschema.exceptions.best_match(_VALIDATOR.iter_errors(document))
            return None if error is None else _problem_text(error)
        lists[name] = items
    frame = {**document, **{name: [] for name in _ITEM_VALIDATORS}}
    error = jsonschema.exceptions.best_match(_VALIDATOR.iter_errors(frame))
    if error is not None:
        return _problem_text(error)
    for name, validator in _ITEM_VALIDATORS.items():
        seen: set[str] = set()
        for index, item in enumerate(lists[name]):
            shape = repr(_shape(item))  # (a key only: repr is C code, no sorting needed)
            if shape in seen:
                continue
            seen.add(shape)
            error = jsonschema.exceptions.best_match(validator.iter_errors(item))
            if error is not None:
                return _problem_text(error, (name, index))
    return None


def check_plan_document(document: object, shown: str) -> dict[str, Any]:
    """Check the shape and the integrity of a parsed plan file; return it.

    Raises `PlanFormatError` (one line, starting with `shown`) for a value that is not a
    plan file, a `plan_id` that does not match the actions (an edited action or id), and a
    plan that is not self-consistent (two actions for one worker or one JumpCloud user, counts
    that do not add up).
    """
    if not is_plan_document(document):
        raise PlanFormatError(
            f"{shown}: not a target-jumpcloud plan file (no format {PLAN_FORMAT!r})"
        )
    problem = _schema_problem(document)
    if problem is not None:
        raise PlanFormatError(f"{shown}: not a valid plan file: {problem}")
    actions: list[dict[str, Any]] = document["actions"]
    expected = compute_plan_id(actions)
    if expected != document["plan_id"]:
        raise PlanFormatError(
            f"{shown}: was changed after it was made: its actions hash to {expected[:12]}…, "
            f"not to its plan_id {document['plan_id'][:12]}…; refusing it (make and review a "
            "new plan)"
        )
    for action in actions:
        misplaced = _NOT_ATTRIBUTE_ENTRIES.intersection(action["attributes"])
        if misplaced:
            raise PlanFormatError(
                f"{shown}: the action for profile id {action['deel_id']} lists "
                f"{sorted(misplaced)[0]!r} as an attribute (it is set by the action's kind, "
                "its manager entry, or one attributes.<name> entry per custom attribute)"
            )
    _check_unique(actions, shown)
    _check_manager_links(actions, shown)
    tally = Counter(_OUTCOME_OF[ActionKind(a["kind"])].value for a in actions)
    tally.update(record["outcome"] for record in document["records"])
    wrong = [name for name, count in document["counts"].items() if tally.get(name, 0) != count]
    if wrong or set(tally) - set(document["counts"]):
        raise PlanFormatError(
            f"{shown}: its counts do not match its actions and records ({', '.join(wrong)})"
        )
    return document


def _check_unique(actions: Sequence[Mapping[str, Any]], shown: str) -> None:
    def twice(what: str, keys: Iterable[str]) -> None:
        seen: set[str] = set()
        for key in keys:
            if key in seen:
                raise PlanFormatError(f"{shown}: two actions for {what} {key!r}")
            seen.add(key)

    twice("profile id", (a["deel_id"] for a in actions))
    twice("JumpCloud user", (a["jumpcloud_id"] for a in actions if a["jumpcloud_id"]))
    creates = [a for a in actions if a["kind"] == ActionKind.CREATE.value]
    twice("new username", (a["username"].lower() for a in creates))
    twice("new user with the email", (a["email"].casefold() for a in creates))


def _check_manager_links(actions: Sequence[Mapping[str, Any]], shown: str) -> None:
    """A manager this plan creates must be one of its creates, and not the worker themself."""
    created = {a["deel_id"] for a in actions if a["kind"] == ActionKind.CREATE.value}
    for action in actions:
        target = (action.get("manager") or {}).get("after_deel_id")
        if target is not None and (target not in created or target == action["deel_id"]):
            raise PlanFormatError(
                f"{shown}: the action for profile id {action['deel_id']} names as its manager "
                f"the new user {target!r}, whom the plan does not create"
            )


def read_plan_document(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse and check a plan file (shape and integrity; not its age nor a pin)."""
    return check_plan_document(parse_json_file(path), str(path))


# -- the loaded plan --------------------------------------------------------------------------


class AttributeChange(msgspec.Struct, frozen=True, gc=False):
    """One attribute an action writes: its value in JumpCloud when planned, and the new one."""

    before: str | None
    after: str | None


class ManagerChange(msgspec.Struct, frozen=True, gc=False):
    """The manager an action sets: JumpCloud `_id`s, or the profile id of a create of the plan."""

    before: str | None
    after: str | None
    before_username: str | None
    after_username: str | None
    after_deel_id: str | None = None  # a manager this plan creates (then `after` is None)


class StateChange(msgspec.Struct, frozen=True, gc=False):
    """The state an action sets; `before` is None for a create."""

    before: UserState | None
    after: UserState


class PlannedAction(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """An action of a loaded plan file: what was reviewed, and how to turn it into an `Action`.

    `position` is the action's index in the plan's canonical order (the apply run has no
    worker stream, so this is the order of its report). msgspec Structs, like the model's:
    a plan of 100,000 creates holds 1.2 million attribute changes, and frozen dataclasses
    took 2.4 s of the load to build them (measured).
    """

    position: int
    kind: ActionKind
    deel_id: str
    jumpcloud_id: str | None
    username: str
    email: str
    attributes: dict[str, AttributeChange]
    state: StateChange | None
    reason: str | None
    warnings: tuple[str, ...] = ()
    first_name: str | None = None
    last_name: str | None = None
    schedule: tuple[JobPlan, ...] = ()  # §12: the reviewed job lines
    manager: ManagerChange | None = None

    @property
    def outcome(self) -> Outcome:
        """The outcome when the write succeeds."""
        return _OUTCOME_OF[self.kind]

    @classmethod
    def from_document(cls, position: int, document: Mapping[str, Any]) -> PlannedAction:
        """Read one (already validated) action of a plan file."""
        state = document["state"]
        names = document.get("name_parts") or {}
        manager = document.get("manager")
        return cls(
            position=position,
            kind=ActionKind(document["kind"]),
            deel_id=document["deel_id"],
            jumpcloud_id=document["jumpcloud_id"],
            username=document["username"],
            email=document["email"],
            attributes={
                name: AttributeChange(change["before"], change["after"])
                for name, change in document["attributes"].items()
            },
            state=(
                None
                if state is None
                else StateChange(
                    UserState(state["before"]) if state["before"] else None,
                    UserState(state["after"]),
                )
            ),
            reason=document["reason"],
            warnings=tuple(document["warnings"]),
            first_name=names.get("first"),
            last_name=names.get("last"),
            schedule=tuple(_schedule_line(entry) for entry in document.get("schedule") or ()),
            manager=(
                None
                if manager is None
                else ManagerChange(
                    manager["before"],
                    manager["after"],
                    manager["before_username"],
                    manager["after_username"],
                    manager.get("after_deel_id"),
                )
            ),
        )

    def to_action(
        self,
        attributes: Iterable[str] | None = None,
        *,
        with_state: bool = True,
        reason: str | None = None,
        schedule: tuple[JobPlan, ...] | None = None,
        manager: ManagerWrite | None = None,
        custom_list: Sequence[Any] | None = None,
    ) -> Action:
        """The `Action` the applier runs: the whole action, or only `attributes` (and the state).

        A SUSPEND or REACTIVATE whose state is left out becomes a plain UPDATE; one with
        nothing left to write but jobs (`schedule`, default: every line) a SCHEDULE. `manager` is
        the manager to write (None: none); `custom_list` the user's custom attribute list as
        JumpCloud has it now, which an update that sets an `attributes.<name>` entry sends
        back whole with those set (every other item kept as it is, §11.3).
        """
        lines = self.schedule if schedule is None else schedule
        planned = self.attributes
        names = list(planned) if attributes is None else list(attributes)
        after, customs = _split_custom(planned, names)
        desired = DesiredUser(
            position=self.position,
            profile_id=self.deel_id,
            email=self.email,
            active=self.kind is not ActionKind.SUSPEND,  # (not read by the applier)
            attributes=after,
            first_name=self.first_name,
            last_name=self.last_name,
            warnings=self.warnings,
            manager=self.manager.after_deel_id if self.manager is not None else None,
            custom_attributes=customs or None,
        )
        kind = self.kind
        payload: dict[str, Any]
        changes: dict[str, tuple[str | None, str | None]] = {}
        if kind is ActionKind.CREATE:
            if self.state is None:  # (the schema requires it for a create)
                raise ValueError(f"create for profile id {self.deel_id} has no state")
            payload = {"username": self.username}
            payload.update((name, value) for name, value in after.items() if value is not None)
            items = custom.create_list(customs) if customs else None
            if items:
                payload[CUSTOM_FIELD] = items
            payload["state"] = self.state.after.value
            payload["suspended"] = False
        else:
            changes = {name: (planned[name].before, planned[name].after) for name in names}
            payload = dict(after)
            if customs:
                self._set_custom_list(payload, customs, custom_list)
            if self.state is not None and with_state:
                payload["state"] = self.state.after.value
                payload["suspended"] = self.state.after is UserState.SUSPENDED
            elif kind is not ActionKind.UPDATE:
                kind = ActionKind.UPDATE
        pending = None
        if manager is not None and self.manager is not None:
            if manager.user_id is not None:
                payload[MANAGER] = manager.user_id
            pending = manager.pending
            if kind is not ActionKind.CREATE:
                change = self.manager  # (as the planner reports it: the `_id` of an unknown user)
                changes[MANAGER] = (
                    change.before_username or change.before,
                    change.after_username or change.after,
                )
        if (
            kind is not ActionKind.CREATE
            and not payload
            and pending is None
            and any(line.change is not JobChange.KEPT for line in lines)
        ):
            kind = ActionKind.SCHEDULE  # §12: nothing left to write but jobs
        return Action(
            kind=kind,
            desired=desired,
            payload=payload,
            user_id=self.jumpcloud_id,
            username=self.username,
            changes=changes,
            outcome=_OUTCOME_OF[kind],
            reason=self.reason if reason is None else reason,
            manager_pending=pending,
            schedule=lines,
        )

    def _set_custom_list(
        self,
        payload: dict[str, Any],
        customs: Mapping[str, str | None],
        custom_list: Sequence[Any] | None,
    ) -> None:
        """Put the user's whole custom attribute list, with `customs` set, into `payload`."""
        if custom_list is None:  # never guess a list that the PUT would replace
            raise ValueError(
                f"update for profile id {self.deel_id} sets custom attributes "
                "without the user's current list"
            )
        merged, _ = custom.merge(customs, custom_list)
        if merged is not None:
            payload[CUSTOM_FIELD] = merged


def _split_custom(
    planned: Mapping[str, AttributeChange], names: Iterable[str]
) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """The `after` values of `names`: plain attributes, and custom ones by their own name."""
    after: dict[str, str | None] = {}
    customs: dict[str, str | None] = {}
    for name in names:  # (1.2 million for 100,000 creates: kept to plain statements)
        if name.startswith(CUSTOM_PREFIX):
            customs[name[_CUSTOM_PREFIX_LENGTH:]] = planned[name].after
        else:
            after[name] = planned[name].after
    return after, customs


class ManagerWrite(NamedTuple):
    """The manager an apply writes: a JumpCloud `_id`, or the position of the create to wait for."""

    user_id: str | None
    pending: int | None = None


@dataclass(frozen=True)
class LoadedPlan:
    """A checked plan file, ready for `check_drift` and the applier."""

    path: Path
    plan_id: str
    created_at: datetime
    settings: dict[str, Any]
    counts: dict[str, int]
    matched_users: int
    actions: tuple[PlannedAction, ...]
    records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def has_schedules(self) -> bool:
        """Whether an action changes scheduled jobs (the apply run must read them)."""
        return any(line.change is not JobChange.KEPT for a in self.actions for line in a.schedule)

    def attribute_names(self) -> list[str]:
        """Every attribute some action writes (`manager` too): the directory is read with these."""
        names = {name for action in self.actions for name in action.attributes}
        if any(action.manager is not None for action in self.actions):
            names.add(MANAGER)
        return sorted(names)

    def model_actions(self) -> list[Action]:
        """Every action as the applier takes it, as planned (before any drift check).

        A manager this plan creates is waited for by its create's position. An update that
        sets custom attributes needs the user's list as JumpCloud has it: `check_drift`
        builds those (here they raise `ValueError`).
        """
        creates = {a.deel_id: a.position for a in self.actions if a.kind is ActionKind.CREATE}
        return [action.to_action(manager=_as_planned(action, creates)) for action in self.actions]


def _as_planned(action: PlannedAction, creates: Mapping[str, int]) -> ManagerWrite | None:
    change = action.manager
    if change is None:
        return None
    if change.after is not None:
        return ManagerWrite(change.after)
    return ManagerWrite(None, creates[change.after_deel_id or ""])


def _created_at(text: str, shown: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise PlanFileError(
            f"apply_plan: {shown}: created_at {text[:40]!r} is not an ISO 8601 time with an offset"
        )
    return moment.astimezone(UTC)


def load_plan(
    path: str | os.PathLike[str],
    *,
    now: datetime,
    apply_plan_id: str | None = None,
    max_age_hours: object = None,
) -> LoadedPlan:
    """Read, check and return the plan file at `path` for an apply run (contract §14).

    In this order, each refusal one line naming the setting (`PlanFileError`): the file must
    be a plan file whose actions hash to its `plan_id`; `apply_plan_id`, when given, must be
    that `plan_id`; the plan must be at most `max_age_hours` old at `now` (and not from the
    future beyond a few minutes of clock skew). Its scheduled state changes (§12) are
    checked against the users' jobs by `check_drift`.
    """
    shown = str(path)
    limit_hours = parse_plan_max_age_hours(max_age_hours)
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    try:
        document = read_plan_document(path)
    except PlanFormatError as exc:
        raise PlanFileError(f"apply_plan: {exc}") from None
    plan_id: str = document["plan_id"]
    pin = (apply_plan_id or "").strip()
    if pin and pin.lower() != plan_id:
        raise PlanFileError(
            f"apply_plan_id: {pin[:80]!r} is not the plan_id of {shown} "
            f"({plan_id}): that file is not the approved plan; nothing was written"
        )
    created = _created_at(document["created_at"], shown)
    age = now.astimezone(UTC) - created
    if age > timedelta(hours=limit_hours):
        raise PlanFileError(
            f"apply_plan: the plan in {shown} was made at {document['created_at']}, "
            f"{age.total_seconds() / 3600:.1f} hours ago, more than plan_max_age_hours "
            f"({limit_hours:g}): make and review a new plan"
        )
    if -age > CLOCK_SKEW:
        raise PlanFileError(
            f"apply_plan: the plan in {shown} says it was made at {document['created_at']}, "
            "in the future: check the clocks, then make a new plan"
        )
    actions = tuple(
        PlannedAction.from_document(position, action)
        for position, action in enumerate(canonical_actions(document["actions"]))
    )
    return LoadedPlan(
        path=Path(path),
        plan_id=plan_id,
        created_at=created,
        settings=dict(document["settings"]),
        counts=dict(document["counts"]),
        matched_users=document["guard"]["matched_users"],
        actions=actions,
        records=list(document["records"]),
    )


# -- drift --------------------------------------------------------------------------------------


@dataclass
class DriftCheck:
    """The verdict of `check_drift`: what is still to apply, and the actions that are not.

    `results` holds one `conflict` (drifted) or `unchanged` (already as planned) result per
    action left out; together with `actions` they cover every action of the plan once.
    """

    actions: list[Action]
    results: list[RecordResult]

    def as_plan(self, *, matched_users: int, max_suspensions: SuspensionLimit) -> Plan:
        """A `Plan` for the applier and the guard (counted on what is still to apply)."""
        suspensions = sum(1 for action in self.actions if counts_as_suspension(action))
        return Plan(
            actions=list(self.actions),
            results=list(self.results),
            matched_users=matched_users,
            suspensions=suspensions,
            suspension_limit=max_suspensions.limit_for(matched_users),
        )


def _trimmed(value: str | None) -> str | None:
    return (value.strip() or None) if value is not None else None


def same_value(attribute: str, left: str | None, right: str | None) -> bool:
    """Equal as the planner compares (§6): trimmed, empty = null, email case-insensitive."""
    a, b = _trimmed(left), _trimmed(right)
    if attribute == EMAIL and a is not None and b is not None:
        return a.casefold() == b.casefold()
    return a == b


def _current(user: DirectoryUser, attribute: str) -> str | None:
    name = custom_name(attribute)
    if name is not None:
        return custom.current_text(_custom_list(user), name)
    if attribute == EMAIL and EMAIL not in user.attributes:
        return user.email
    return user.attributes.get(attribute)


def _custom_list(user: DirectoryUser) -> tuple[Any, ...]:
    if user.custom_attributes is None:  # (the engine reads it for a plan that needs it)
        raise ValueError(
            f"internal error: JumpCloud user {user.id} was read without its custom attributes"
        )
    return user.custom_attributes


def _shown_manager(user_id: str | None, directory: Directory) -> str:
    """A manager as a person reads it: the username, else the `_id`, else "(none)"."""
    if not user_id:
        return "(none)"
    user = directory.get(user_id)
    return repr(user.username) if user is not None else user_id


def _planned_manager(change: ManagerChange, user_id: str | None) -> str:
    if change.before_username:
        return repr(change.before_username)
    return user_id or "(none)"


def _shown_value(value: str | None) -> str:
    if value is None:
        return "(empty)"
    text = value if len(value) <= _SHOWN_LENGTH else value[: _SHOWN_LENGTH - 3] + "..."
    return repr(text)


def _label(user: DirectoryUser) -> str:
    return f"{user.username!r} ({user.id})"


def _conflict(
    action: PlannedAction, details: Sequence[str], user: DirectoryUser | None
) -> RecordResult:
    return RecordResult(
        position=action.position,
        deel_id=action.deel_id,
        email=action.email,
        outcome=Outcome.CONFLICT,
        reason=f"{REASON_CHANGED}: {'; '.join(details)}",
        username=user.username if user else action.username,
        jumpcloud_id=user.id if user else action.jumpcloud_id,
        warnings=action.warnings,
    )


def _already(action: PlannedAction, what: str, user: DirectoryUser) -> RecordResult:
    return RecordResult(
        position=action.position,
        deel_id=action.deel_id,
        email=action.email,
        outcome=Outcome.UNCHANGED,
        reason=f"{REASON_ALREADY} ({what}); nothing written",
        username=user.username,
        jumpcloud_id=user.id,
        warnings=action.warnings,
    )


class _UsernameIndex:
    """Lower-cased username → users, built on first use (only creates need it)."""

    def __init__(self, directory: Directory) -> None:
        self._directory = directory
        self._index: dict[str, list[DirectoryUser]] | None = None

    def holders(self, username: str) -> list[DirectoryUser]:
        if self._index is None:
            self._index = {}
            for user in self._directory:
                self._index.setdefault(user.username.lower(), []).append(user)
        return self._index.get(username.lower(), [])


def check_drift(actions: Sequence[PlannedAction], directory: Directory) -> DriftCheck:
    """Compare every planned action with `directory` as JumpCloud has it now (contract §14).

    For each attribute (and the state) an action writes, the value now is compared with the
    plan's `before` and `after` (as the planner compares values):
    - every one still at `before`: the action is applied as planned;
    - some at `after` already, none elsewhere: only the rest is written (all of them: the
      action is `unchanged`, "already as planned": so applying a plan twice writes nothing);
    - any at a third value: `conflict`, "changed since the plan was made: attr: before →
      now", and nothing of that action is written.
    A create conflicts when its username, its email or its profile id is now held by a
    JumpCloud user; when the user linked to its profile id has its email, the create was done
    (by an earlier apply) and it is `unchanged`. An update conflicts when its user is gone,
    or when the email or profile id it sets is now held by another user.
    """
    usernames = _UsernameIndex(directory)
    managers = _NewManagers(actions, directory)
    to_apply: list[Action] = []
    results: list[RecordResult] = []
    for action in actions:
        if action.kind is ActionKind.CREATE:
            verdict = _check_create(action, directory, usernames, managers)
        else:
            verdict = _check_existing(action, directory, managers)
        if isinstance(verdict, Action):
            to_apply.append(verdict)
        else:
            results.append(verdict)
    if any(action.manager_pending is not None for action in to_apply):
        break_cycles(to_apply)  # (§11.2: only a cycle of new users needs a follow-up PUT)
    return DriftCheck(actions=to_apply, results=results)


class _NewManagers:
    """Where each manager of a plan is now: an existing user's `_id`, or a create to wait for."""

    def __init__(self, actions: Sequence[PlannedAction], directory: Directory) -> None:
        self._directory = directory
        self._creates = {a.deel_id: a.position for a in actions if a.kind is ActionKind.CREATE}

    def resolve(self, change: ManagerChange) -> ManagerWrite | str:
        """The manager to write, or why it cannot be (a conflict's detail)."""
        if change.after is not None:
            if change.after not in self._directory:
                shown = _planned_manager(
                    ManagerChange(None, None, change.after_username, None), change.after
                )
                return f"manager: JumpCloud user {shown} ({change.after}) no longer exists"
            return ManagerWrite(change.after)
        profile_id = change.after_deel_id or ""
        linked = self._directory.linked_users(profile_id)
        if len(linked) == 1:  # the manager's create was applied (by an earlier apply)
            return ManagerWrite(linked[0].id)
        if linked:
            return (
                f"manager: the new user's profile id {profile_id} is now linked to "
                f"{len(linked)} JumpCloud users"
            )
        return ManagerWrite(None, self._creates[profile_id])


def _check_create(
    action: PlannedAction,
    directory: Directory,
    usernames: _UsernameIndex,
    managers: _NewManagers,
) -> Action | RecordResult:
    linked = list(directory.linked_users(action.deel_id))
    if len(linked) == 1 and same_value(EMAIL, linked[0].email, action.email):
        user = linked[0]
        what = (
            "created"
            if user.username.lower() == action.username.lower()
            else (f"created as {user.username!r}, not {action.username!r}")
        )
        pending_jobs, _, _ = _check_jobs(action.schedule, directory.jobs_of(user.id))
        if any(line.change is not JobChange.KEPT for line in pending_jobs):
            # The create was done by an earlier apply whose jobs were not all made.
            existing = msgspec.structs.replace(
                action,
                kind=ActionKind.UPDATE,
                jumpcloud_id=user.id,
                username=user.username,
                attributes={},
                state=None,
            )
            note = f"{REASON_ALREADY} ({what})"
            return existing.to_action([], with_state=False, reason=note, schedule=pending_jobs)
        return _already(action, what, user)
    details = [
        f"profile id {action.deel_id} is now linked to JumpCloud user {_label(user)}"
        for user in linked
    ]
    details.extend(
        f"username {action.username!r} is now held by JumpCloud user {_label(user)}"
        for user in usernames.holders(action.username)
        if user not in linked
    )
    details.extend(
        f"email {action.email!r} is now held by JumpCloud user {_label(user)}"
        for user in directory.email_users(action.email)
        if user not in linked
    )
    manager: ManagerWrite | None = None
    if action.manager is not None:
        found = managers.resolve(action.manager)
        if isinstance(found, str):
            details.append(found)
        else:
            manager = found
    if details:
        return _conflict(action, details, None)
    return action.to_action(manager=manager)


def _check_existing(
    action: PlannedAction, directory: Directory, managers: _NewManagers
) -> Action | RecordResult:
    user = directory.get(action.jumpcloud_id or "")
    if user is None:
        return _conflict(
            action,
            [f"JumpCloud user {action.username!r} ({action.jumpcloud_id}) no longer exists"],
            None,
        )
    pending: list[str] = []
    done: list[str] = []
    drifted: list[str] = []
    for name, change in action.attributes.items():
        now = _current(user, name)
        if same_value(name, now, change.before):
            pending.append(name)
        elif same_value(name, now, change.after):
            done.append(name)
        else:
            drifted.append(f"{name}: {_shown_value(change.before)} → {_shown_value(now)}")
    state_pending = _check_state(action, user, done=done, drifted=drifted)
    manager = None
    if action.manager is not None:
        manager = _check_manager(
            action.manager, user, directory, managers, done=done, drifted=drifted
        )
    drifted.extend(_taken_since(action, user, directory, pending))
    jobs, jobs_done, jobs_drifted = _check_jobs(action.schedule, directory.jobs_of(user.id))
    done.extend(jobs_done)
    drifted.extend(jobs_drifted)
    if drifted:
        return _conflict(action, drifted, user)
    jobs_pending = any(line.change is not JobChange.KEPT for line in jobs)
    if not pending and not state_pending and manager is None and not jobs_pending:
        return _already(action, ", ".join(done), user)
    reason = action.reason
    if done:
        note = f"{REASON_ALREADY}: {', '.join(done)}"
        reason = f"{reason}; {note}" if reason else note
    return action.to_action(
        pending,
        with_state=state_pending,
        reason=reason,
        manager=manager,
        custom_list=user.custom_attributes,
        schedule=jobs,
    )


def _check_state(
    action: PlannedAction, user: DirectoryUser, *, done: list[str], drifted: list[str]
) -> bool:
    """True when the state is still to set, noting it in `done` or `drifted` otherwise."""
    if action.state is None:
        return False
    if user.state is action.state.before:
        return True
    if user.state is action.state.after:
        done.append("state")
    else:
        before = action.state.before.value if action.state.before else "(none)"
        drifted.append(f"state: {before} → {user.state.value}")
    return False


def _check_manager(
    change: ManagerChange,
    user: DirectoryUser,
    directory: Directory,
    managers: _NewManagers,
    *,
    done: list[str],
    drifted: list[str],
) -> ManagerWrite | None:
    """The manager still to write (None: none), noting it in `done` or `drifted`."""
    now = user.manager
    target = managers.resolve(change)
    if isinstance(target, ManagerWrite) and target.user_id is not None and now == target.user_id:
        done.append(MANAGER)
        return None
    if not same_value(MANAGER, now, change.before):
        planned = _planned_manager(change, change.before)
        drifted.append(f"manager: {planned} → {_shown_manager(now, directory)}")
        return None
    if isinstance(target, str):
        drifted.append(target)
        return None
    return target


def _check_jobs(
    lines: Sequence[JobPlan], jobs: Sequence[ScheduledJob]
) -> tuple[tuple[JobPlan, ...], list[str], list[str]]:
    """The reviewed job lines against the user's jobs now (§12).

    Returns the lines still to apply (kept lines stay, for the report), what is already as
    planned, and what changed since the plan was made: a job to cancel or move that is gone
    while its replacement is not there.
    """
    ids = {job.id for job in jobs}
    made = {(job.state, job.at) for job in jobs}
    still: list[JobPlan] = []
    done: list[str] = []
    drifted: list[str] = []
    for line in lines:
        label = f"{line.state.value} job at {format_instant(line.at)}"
        there = (line.state, line.at) in made
        if line.change is JobChange.KEPT:
            still.append(line)
        elif line.change is JobChange.SCHEDULED:
            if there:
                done.append(label)
            else:
                still.append(line)
        elif line.change is JobChange.CANCELLED:
            if line.job_id in ids:
                still.append(line)
            else:
                done.append(f"{label} cancelled")
        elif line.job_id in ids:  # rescheduled, the old job still there
            still.append(line if not there else replace_change(line, JobChange.CANCELLED))
        elif there:
            done.append(label)
        else:
            old = format_instant(line.previous_at) if line.previous_at else "?"
            drifted.append(f"{line.state.value} job at {old} is gone")
    return tuple(still), done, drifted


def replace_change(line: JobPlan, change: JobChange) -> JobPlan:
    """`line` with another change (a reschedule half done: only its cancel is left)."""
    return JobPlan(line.state, line.previous_at or line.at, change, line.job_id)


def _taken_since(
    action: PlannedAction, user: DirectoryUser, directory: Directory, pending: Sequence[str]
) -> list[str]:
    """The unique values this update still sets that another user has taken since the plan."""
    details: list[str] = []
    if EMAIL in pending:
        email = action.attributes[EMAIL].after or ""
        holder = directory.email_holder(email, exclude_id=user.id) if email else None
        if holder is not None:
            details.append(f"email {email!r} is now held by JumpCloud user {_label(holder)}")
    if EMPLOYEE_ID in pending:
        profile_id = action.attributes[EMPLOYEE_ID].after or ""
        details.extend(
            f"profile id {profile_id} is now linked to JumpCloud user {_label(other)}"
            for other in (directory.linked_users(profile_id) if profile_id else ())
            if other.id != user.id
        )
    return details
