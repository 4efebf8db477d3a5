"""The target's settings as the Singer SDK declares them (`--about`, Meltano, validation).

The declarations only: what each setting means is checked and typed by `settings`, which
reports every problem of a config at once.
"""

from __future__ import annotations

from typing import Any, Final

from singer_sdk import typing as th

from target_jumpcloud.settings.alerting import DEFAULT_NOTIFY_STATE_PATH
from target_jumpcloud.settings.effective_dating import DEFAULT_TIMEZONE
from target_jumpcloud.settings.groups import (
    DEFAULT_LEDGER_ATTRIBUTE,
    DEFAULT_MAX_GROUP_REMOVAL_PERCENT,
)
from target_jumpcloud.settings.leavers import (
    DEFAULT_ID_PATTERN,
    DEFAULT_OUT_OF_SCOPE_AFTER,
    LeaverStep,
    OutOfScopeMode,
)
from target_jumpcloud.settings.sync_settings import (
    DEFAULT_API_URL,
    DEFAULT_MAX_SUSPENSIONS,
    DEFAULT_WORKER_STREAM,
)

#: The leaver settings (docs/leavers.md).
LEAVER_SETTINGS: Final = (
    th.Property(
        "out_of_scope",
        th.StringType,
        default=OutOfScopeMode.REPORT.value,
        allowed_values=[mode.value for mode in OutOfScopeMode],
        title="Out of scope",
        description=(
            "What to do with a JumpCloud user linked to a Deel profile id that Deel's "
            "complete listing no longer has (deleted in Deel, or filtered away): `report` "
            "(default) lists it in the report and writes nothing; `suspend` counts the "
            "complete runs that missed it (custom attribute deelSyncMissing) and suspends it "
            "once out_of_scope_after of them did. Only a complete input (ACTIVATE_VERSION "
            "after the worker stream's last record) is checked. See docs/leavers.md."
        ),
    ),
    th.Property(
        "out_of_scope_after",
        th.IntegerType,
        default=DEFAULT_OUT_OF_SCOPE_AFTER,
        title="Out of scope after (runs)",
        description=(
            "With out_of_scope suspend: how many complete runs in a row must miss a user "
            "before it is suspended (1 or more)."
        ),
    ),
    th.Property(
        "out_of_scope_id_pattern",
        th.StringType,
        default=DEFAULT_ID_PATTERN,
        title="Out of scope id pattern",
        description=(
            "Regular expression an employeeIdentifier must match in full to be checked "
            "against the listing (default: a UUID, Deel's profile ids); users linked to any "
            "other id are never out of scope."
        ),
    ),
    th.Property(
        "protected_group",
        th.StringType(nullable=True),
        title="Protected group",
        description=(
            "A JumpCloud user group (name, any case; dynamic groups too) whose members are "
            "never suspended as out of scope (break-glass and service accounts): they are "
            "reported as protected. A name no group has protects everyone, with a warning."
        ),
    ),
    th.Property(
        "leaver_steps",
        th.ArrayType(th.StringType),
        default=[LeaverStep.REMOVE_GROUPS.value],
        title="Leaver steps",
        description=(
            "Run after a user is suspended (by this run, or by a scheduled job since the "
            "last one), once: remove_groups (leave every group the sync added the user to), "
            "reset_mfa, expire_password. Done is recorded in the custom attribute "
            "deelSyncLeaver; a failed step is retried by the next run."
        ),
    ),
)


#: The effective-dating settings (docs/effective-dates.md).
EFFECTIVE_DATING_SETTINGS: Final = (
    th.Property(
        "effective_dating",
        th.BooleanType,
        default=False,
        description=(
            "Read each worker's start date and last day in the worker's own time zone: "
            "accounts made before day one, opened on the start date, closed when the last "
            "day ends (JumpCloud scheduled user states). See docs/effective-dates.md."
        ),
    ),
    th.Property(
        "create_days_before_start",
        th.IntegerType(nullable=True),
        description=(
            "Pre-hire window: a new worker whose start date is more than this many days "
            "ahead is not created yet. Null (the default): no window."
        ),
    ),
    th.Property(
        "activate_on_start_date",
        th.BooleanType,
        default=False,
        description=(
            "Create future starters STAGED and schedule their activation for activation_time "
            "local time on the start date."
        ),
    ),
    th.Property(
        "activation_time",
        th.StringType,
        default="09:00",
        description="Local time (HH:MM) at which an account opens on the start date.",
    ),
    th.Property(
        "suspension_time",
        th.StringType,
        default="23:59",
        description="Local time (HH:MM) on the last day at which an account is suspended.",
    ),
    th.Property(
        "default_timezone",
        th.StringType,
        default=DEFAULT_TIMEZONE,
        description=(
            "IANA time zone for workers whose time zone is missing or unknown (each such "
            "record gets a warning)."
        ),
    ),
    th.Property(
        "as_of",
        th.DateTimeType,
        description=(
            "Dry runs only: plan as if it were this time (ISO 8601 with offset), to preview "
            "what a later run will do."
        ),
    ),
)

#: Alerts and metrics (docs/alerts.md).
ALERT_SETTINGS: Final = (
    th.Property(
        "notify",
        th.ArrayType(th.StringType),
        secret=True,
        title="Notification URLs",
        description=(
            "Apprise URLs (`slack://…`, `msteams://…`, `mailto://…`, `json://…`) that get one "
            "message after a run that tripped the guard, stopped on a bad key or config, or "
            "ended with failed or conflicting records, and one when a clean run follows. "
            "Secret: give it from the environment (`TARGET_JUMPCLOUD_NOTIFY`, a JSON list)."
        ),
    ),
    th.Property(
        "notify_state_path",
        th.StringType,
        default=DEFAULT_NOTIFY_STATE_PATH,
        title="Notification state path",
        description=(
            "With `notify`: the last run's status is kept here, so a recovery is announced "
            "once and clean runs after clean runs send nothing."
        ),
    ),
    th.Property(
        "metrics_path",
        th.StringType,
        title="Metrics file",
        description=(
            "Write a Prometheus text file here at the end of every run (completed or "
            "stopped), atomically, for node_exporter's textfile collector: records by "
            "outcome, run seconds, last run and last success times, guard tripped, requests."
        ),
    ),
)

#: The group settings (docs/groups.md).
GROUP_SETTINGS: Final = (
    th.Property(
        "group_rules",
        th.CustomType({"type": ["array", "string", "null"], "items": {"type": "object"}}),
        description=(
            'Group memberships from HR data: a list of rules {"group": TEMPLATE, "when": '
            "{ATTR: VALUE or [VALUES]}}; TEMPLATE names mapped JumpCloud attributes, as in "
            '"Dept - {department}". Empty (the default): groups are never read or touched. '
            "See docs/groups.md."
        ),
    ),
    th.Property(
        "create_missing_groups",
        th.BooleanType,
        default=False,
        description=(
            "Create a group a rule names that JumpCloud does not have (once, before any "
            "membership write); off: the record gets a warning instead."
        ),
    ),
    th.Property(
        "group_ledger_attribute",
        th.StringType,
        default=DEFAULT_LEDGER_ATTRIBUTE,
        description=(
            "The custom attribute in which each user's groups managed by the sync are "
            "recorded (group ids, sorted, comma-separated); only those are ever removed."
        ),
    ),
    th.Property(
        "max_group_removal_percent",
        th.NumberType,
        default=DEFAULT_MAX_GROUP_REMOVAL_PERCENT,
        description=(
            "Stop before any write when a run would remove more than this share of one "
            "group's current members, and at least 5 of them (default 20)."
        ),
    ),
)

CONFIG_JSONSCHEMA: Final[dict[str, Any]] = th.PropertiesList(
    th.Property(
        "api_key",
        th.StringType(nullable=False),
        secret=True,
        title="API key",
        description=(
            "A personal JumpCloud API key (sent as `x-api-key`); set this or the service "
            "account's `client_id` and `client_secret`, not both. Give it in the config "
            "file or as the environment variable `TARGET_JUMPCLOUD_API_KEY`; it is never "
            "logged."
        ),
    ),
    th.Property(
        "client_id",
        th.StringType(nullable=False),
        title="Service account client ID",
        description=(
            "The client id of a JumpCloud service account (the recommended way, instead "
            "of `api_key`); needs `client_secret`. Environment variable "
            "`TARGET_JUMPCLOUD_CLIENT_ID`."
        ),
    ),
    th.Property(
        "client_secret",
        th.StringType(nullable=False),
        secret=True,
        title="Service account client secret",
        description=(
            "The service account's client secret, exchanged for a short-lived access "
            "token (OAuth 2.0 client credentials). Config file or environment variable "
            "`TARGET_JUMPCLOUD_CLIENT_SECRET`; it is never logged."
        ),
    ),
    th.Property(
        "token_url",
        th.StringType,
        title="Token URL",
        description=(
            "The service account's token endpoint. Default from `api_url`'s region: "
            "`https://admin-oauth.id.jumpcloud.com/oauth2/token` (EU "
            "`admin-oauth.id.eu.jumpcloud.com`, IN `admin-oauth.id.in.jumpcloud.com`); "
            "required when `api_url` is not JumpCloud's. HTTPS except for loopback hosts."
        ),
    ),
    th.Property(
        "api_url",
        th.StringType,
        default=DEFAULT_API_URL,
        title="API URL",
        description=(
            "JumpCloud V1 API base URL. EU: `https://console.eu.jumpcloud.com/api`, "
            "IN: `https://console.in.jumpcloud.com/api`. HTTPS is required except for "
            "loopback hosts."
        ),
    ),
    th.Property(
        "org_id",
        th.StringType,
        title="Organisation ID",
        description=(
            "JumpCloud organisation id, sent as `x-org-id`; needed only for "
            "multi-tenant (MSP) API keys."
        ),
    ),
    th.Property(
        "worker_stream",
        th.StringType,
        default=DEFAULT_WORKER_STREAM,
        title="Worker stream",
        description=(
            "The input stream that holds the workers (after stream maps). Every other "
            "stream is ignored, with one log line per stream."
        ),
    ),
    th.Property(
        "mapping",
        th.CustomType(
            {
                "type": ["object", "null"],
                "additionalProperties": {"type": ["string", "null"]},
            }
        ),
        title="Attribute mapping",
        description=(
            "JumpCloud attribute (or `state`, `start_date`, `last_day`, `timezone`) → dotted "
            "path in the worker record, merged over the default mapping; a key set to null "
            "stops syncing that attribute. `email`, `employeeIdentifier` and `state` must keep "
            "a path. "
            "`start_date` orders the usernames of new users; `start_date`, `last_day` and "
            "`timezone` are read for effective dating; none of them is sent. Special keys: "
            "`manager` (the manager's profile id, e.g. `direct_manager.id`, sent as the "
            "manager's JumpCloud user id) and `attributes.<name>` (a custom attribute; "
            "name: 1-31 letters or digits)."
        ),
    ),
    th.Property(
        "create_only_attributes",
        th.ArrayType(th.StringType),
        title="Create-only attributes",
        description=(
            "Mapped attributes sent only when a user is created, never compared or "
            "updated afterwards (an administrator may then edit them in JumpCloud). "
            "Not `email`, `employeeIdentifier` or `state`."
        ),
    ),
    th.Property(
        "username_template",
        th.StringType,
        default="{first}.{last}",
        title="Username template",
        description=(
            "Pattern of new usernames: `{first}`, `{last}`, `{f}` (first letter of the "
            "first name) and `{email_local}`, each transliterated and cleaned; a number "
            "is added on collision."
        ),
    ),
    th.Property(
        "username_max_length",
        th.IntegerType,
        title="Username max length",
        description=(
            "Longest new username (at least 8; default: no limit). The base is cut "
            "before a collision number is added."
        ),
    ),
    th.Property(
        "user_state_on_create",
        th.StringType,
        default="STAGED",
        allowed_values=["STAGED", "ACTIVATED"],
        title="State of new users",
        description="State of newly created users: `STAGED` (default) or `ACTIVATED`.",
    ),
    th.Property(
        "reactivate_suspended_users",
        th.BooleanType,
        default=False,
        title="Reactivate suspended users",
        description=(
            "Set `ACTIVATED` on a suspended JumpCloud user whose worker is active again. "
            "Off by default: such users are reported and left suspended."
        ),
    ),
    th.Property(
        "max_suspensions",
        # Declared as a string: with an integer type the SDK would parse an environment
        # value such as "20%" as an integer and crash. An integer given in a config file
        # is turned into its text before validation (see __init__); parse_settings then
        # checks the value.
        th.StringType,
        default=DEFAULT_MAX_SUSPENSIONS,
        title="Suspension guard",
        description=(
            "Most suspensions one run may make: an integer, or a percentage of the "
            "JumpCloud users matched to workers (rounded down, never below 5), e.g. "
            '`"20%"`. Over the limit, nothing is written and the run exits non-zero.'
        ),
    ),
    th.Property(
        "dry_run",
        th.BooleanType,
        default=False,
        title="Dry run",
        description="Plan and report as usual but write nothing to JumpCloud; exit 0.",
    ),
    th.Property(
        "report_path",
        th.StringType,
        title="Report path",
        description=(
            "Write a JSON report here at the end of each run: counts and one entry per "
            "record with its outcome and reason (written atomically)."
        ),
    ),
    th.Property(
        "plan_path",
        th.StringType,
        title="Plan path",
        description=(
            "Write every run's plan here (dry or not; atomically, JSON): each action with the "
            "user's `_id`, the attributes it writes `before` and `after`, and a `plan_id` "
            "(SHA-256 of the actions) that an approval can pin."
        ),
    ),
    th.Property(
        "apply_plan",
        th.StringType,
        title="Apply a reviewed plan",
        description=(
            "A plan file to apply exactly, instead of reading a worker stream (standard input "
            "may be empty). The directory is read again; an action whose `before` values "
            "changed since the plan was made ends as `conflict`. Not with `plan_path`."
        ),
    ),
    th.Property(
        "apply_plan_id",
        th.StringType,
        title="Approved plan id",
        description=(
            "With `apply_plan`: the `plan_id` that was approved; any other plan file is "
            "refused before anything is written."
        ),
    ),
    th.Property(
        "plan_max_age_hours",
        th.NumberType,
        default=24,
        title="Plan max age (hours)",
        description="With `apply_plan`: a plan made longer ago than this is refused.",
    ),
    th.Property(
        "review_html",
        th.BooleanType,
        default=False,
        title="Review page",
        description=(
            "Also write the report as a self-contained HTML page beside `report_path` "
            "(same name, `.html`): counts, every record, a filter and a search box."
        ),
    ),
    *EFFECTIVE_DATING_SETTINGS,
    *ALERT_SETTINGS,
    *GROUP_SETTINGS,
    *LEAVER_SETTINGS,
    th.Property(
        "validate_records",
        th.BooleanType,
        default=True,
        title="Validate records",
        description=(
            "Check the fields the mapping reads against the stream's SCHEMA; a record "
            "that does not match is skipped with the reason (never a stopped run)."
        ),
    ),
).to_dict()
