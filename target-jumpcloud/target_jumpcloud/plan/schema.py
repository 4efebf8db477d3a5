"""The plan file's shape: its constants, errors and JSON Schema.

A plan file is a reviewable value on disk (docs/plan-and-review.md). This module says what a
well-formed one looks like, so the writer, the reader and the review pages agree on it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

import jsonschema

from target_jumpcloud.model import (
    ActionKind,
    Outcome,
    UserState,
)
from target_jumpcloud.plan.group_file import GROUPS_SCHEMA
from target_jumpcloud.settings.leavers import LeaverStep
from target_jumpcloud.settings.mapping_table import (
    CUSTOM_FIELD,
    CUSTOM_PREFIX,
    MANAGER,
)
from target_jumpcloud.settings.sync_settings import (
    ConfigError,
)

if TYPE_CHECKING:
    from collections.abc import Sequence


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

OUTCOME_OF: Final = {
    ActionKind.CREATE: Outcome.CREATED,
    ActionKind.UPDATE: Outcome.UPDATED,
    ActionKind.SUSPEND: Outcome.SUSPENDED,
    ActionKind.REACTIVATE: Outcome.REACTIVATED,
    ActionKind.SCHEDULE: Outcome.SCHEDULED,
    ActionKind.GROUPS: Outcome.UPDATED,
}
STATE_FIELDS: Final = frozenset({"state", "suspended"})
_NOT_ATTRIBUTES: Final = frozenset({"username", "state", "suspended"})
# Written by an action's own `manager` entry, or item by item as `attributes.<name>`.
NOT_ATTRIBUTE_ENTRIES: Final = _NOT_ATTRIBUTES | {MANAGER, CUSTOM_FIELD}
CUSTOM_PREFIX_LENGTH: Final = len(CUSTOM_PREFIX)
SHOWN_LENGTH: Final = 80  # a value longer than this is cut in a reason


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
OUTCOMES: Final = [outcome.value for outcome in Outcome]


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
    # Scheduled state changes (docs/effective-dates.md) are written by the version that plans them,
    # in
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
ACTION_SCHEMA: Final = {
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
        "groups": GROUPS_SCHEMA,  # docs/groups.md
        # docs/leavers.md: the steps run once the action's write succeeded, in order.
        "leaver_steps": {"type": "array", "items": {"enum": [step.value for step in LeaverStep]}},
        # docs/leavers.md: the write is an out-of-scope user's (no record backs it).
        "out_of_scope": {"const": True},
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
        {
            # An update writes no state, except a STAGED user activated at once because the
            # activation is due (docs/effective-dates.md).
            "if": _kind_is(ActionKind.UPDATE),
            "then": {
                "properties": {
                    "state": {
                        "anyOf": [
                            {"type": "null"},
                            _state_is(["STAGED"], ["ACTIVATED"])["properties"]["state"],
                        ]
                    }
                }
            },
        },
        {
            "if": _kind_is(ActionKind.SUSPEND),
            "then": _state_is(["STAGED", "ACTIVATED"], ["SUSPENDED"]),
        },
        {"if": _kind_is(ActionKind.REACTIVATE), "then": _state_is(["SUSPENDED"], ["ACTIVATED"])},
    ],
}
#: `[{"step", "result"}]` on a record, an action or an out-of-scope user (docs/leavers.md).
STEPS_SCHEMA: Final[dict[str, Any]] = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["step", "result"],
        "properties": {"step": _TEXT, "result": _TEXT},
    },
}
#: The `directory` section as the report and the plan file write it (docs/leavers.md).
DIRECTORY_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["complete_input", "out_of_scope", "unlinked"],
    "properties": {
        "complete_input": {"type": "boolean"},
        "note": _NULLABLE_TEXT,
        "out_of_scope": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["jumpcloud_id", "username", "employeeIdentifier", "action"],
                "properties": {
                    "jumpcloud_id": _TEXT,
                    "username": _TEXT,
                    "email": _NULLABLE_TEXT,
                    "employeeIdentifier": _TEXT,
                    "missed_runs": {"type": "integer", "minimum": 0},
                    "action": _TEXT,
                    "reason": _NULLABLE_TEXT,
                    "error": _NULLABLE_TEXT,
                    "leaver_steps": STEPS_SCHEMA,
                },
            },
        },
        "unlinked": {
            "type": "object",
            "required": ["count", "first"],
            "properties": {
                "count": {"type": "integer", "minimum": 0},
                "first": {"type": "array", "items": _TEXT},
            },
        },
    },
}
#: A record's `changes` in a report or a plan: attribute → [old, new].
CHANGES_SCHEMA: Final = {
    "type": "object",
    "properties": {  # docs/groups.md: the managed groups' names before and after
        "groups": {
            "type": "array",
            "prefixItems": [
                {"type": "array", "items": _TEXT},
                {"type": "array", "items": _TEXT},
            ],
            "minItems": 2,
            "maxItems": 2,
        }
    },
    "additionalProperties": {
        "type": "array",
        "prefixItems": [_NULLABLE_TEXT, _NULLABLE_TEXT],
        "minItems": 2,
        "maxItems": 2,
    },
}
RECORD_SCHEMA: Final = {
    "type": "object",
    "required": ["deel_id", "email", "username", "jumpcloud_id", "outcome", "reason"],
    "properties": {
        "deel_id": _NULLABLE_TEXT,
        "email": _NULLABLE_TEXT,
        "username": _NULLABLE_TEXT,
        "jumpcloud_id": _NULLABLE_TEXT,
        "outcome": {"enum": OUTCOMES},
        "reason": _NULLABLE_TEXT,
        "changes": CHANGES_SCHEMA,
        "warnings": {"type": "array", "items": _TEXT},
        "leaver_steps": STEPS_SCHEMA,
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
            "required": OUTCOMES,
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
        "actions": {"type": "array", "items": ACTION_SCHEMA},
        "records": {"type": "array", "items": RECORD_SCHEMA},
        "directory": DIRECTORY_SCHEMA,
    },
}
jsonschema.Draft202012Validator.check_schema(PLAN_SCHEMA)
VALIDATOR: Final = jsonschema.Draft202012Validator(PLAN_SCHEMA)
