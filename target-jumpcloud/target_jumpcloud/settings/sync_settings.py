"""Turn the raw target config into validated, typed settings (docs/sync-rules.md).

Every problem is a `ConfigError` whose message names the setting, so a bad config stops the
run before any connection with a message an administrator can act on. The API key and the
client secret are never echoed: not in an error message, not in a repr.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from target_jumpcloud.model import UserState
from target_jumpcloud.settings.alerting import AlertSettings, read_alert_settings
from target_jumpcloud.settings.credentials import ServiceAccount, default_token_url
from target_jumpcloud.settings.effective_dating import EffectiveDating, read_effective_dating
from target_jumpcloud.settings.groups import GroupSettings, read_group_settings
from target_jumpcloud.settings.leavers import LeaverSettings, read_leaver_settings
from target_jumpcloud.settings.mapping_table import READ_ONLY_KEYS, check_mapping
from target_jumpcloud.settings.username_template import (
    UsernameTemplate,
    check_max_length,
    check_template,
)
from target_jumpcloud.shown import shown

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

_T = TypeVar("_T")

DEFAULT_API_URL = "https://console.jumpcloud.com/api"
DEFAULT_WORKER_STREAM = "people"
DEFAULT_MAX_SUSPENSIONS = "20%"
DEFAULT_PLAN_MAX_AGE_HOURS = 24.0
MIN_PERCENT_LIMIT = 5  # a percentage limit never allows fewer suspensions than this
_PERCENT_MAX = 100

_PERCENT_RE = re.compile(r"^(\d+)\s*%$")
_INTEGER_RE = re.compile(r"^\d+$")
_CREATE_STATES = (UserState.STAGED, UserState.ACTIVATED)


class ConfigError(ValueError):
    """Settings are missing or invalid; each problem starts with the setting's name.

    It carries every problem found (`problems`), so one run reports a whole bad config.
    """

    def __init__(self, *problems: str) -> None:
        super().__init__("; ".join(problems))
        self.problems: tuple[str, ...] = problems


@dataclass(frozen=True)
class SuspensionLimit:
    """The `max_suspensions` guard: a fixed count or a percentage of matched users."""

    value: int
    percent: bool

    def limit_for(self, matched_users: int) -> int:
        """How many suspensions one run may plan, given the users matched to HR records.

        A percentage rounds down and never allows fewer than 5, so a small directory is not
        blocked by a single leaver; an integer is taken as given (0 means every suspension
        needs a person).
        """
        if not self.percent:
            return self.value
        return max(MIN_PERCENT_LIMIT, math.floor(matched_users * self.value / _PERCENT_MAX))

    def __str__(self) -> str:
        return f"{self.value}%" if self.percent else str(self.value)


def parse_suspension_limit(raw: object) -> SuspensionLimit:
    """Read `max_suspensions`: an integer ≥ 0, a digit string, or a whole percentage 0-100%."""
    error = ConfigError(
        f"max_suspensions: expected an integer or a percentage like '20%', got {shown(raw)}"
    )
    if isinstance(raw, bool):  # bool is an int subclass: True must not mean 1
        raise error
    if isinstance(raw, int):
        if raw < 0:
            raise ConfigError(f"max_suspensions: must not be negative, got {raw}")
        return SuspensionLimit(raw, percent=False)
    if not isinstance(raw, str):
        raise error
    text = raw.strip()
    if _INTEGER_RE.fullmatch(text):
        return SuspensionLimit(int(text), percent=False)
    match = _PERCENT_RE.fullmatch(text)
    if match is None:
        raise error
    value = int(match.group(1))
    if value > _PERCENT_MAX:
        raise ConfigError(f"max_suspensions: a percentage must be between 0% and 100%, got {raw!r}")
    return SuspensionLimit(value, percent=True)


def _is_loopback(host: str) -> bool:
    """True for `localhost`, 127.0.0.0/8 and ::1: the only hosts allowed without TLS."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_secure_url(url: str, setting: str) -> str:
    """Check that `url` uses HTTPS (plain HTTP only for loopback); return it without a trailing /.

    Checked before any connection so an API key is never sent in clear text. The message
    shows only scheme and host, so credentials written into a URL are not echoed.
    """
    if not url.strip():
        raise ConfigError(f"{setting}: expected a URL such as 'https://host/path'")
    text = url.strip()
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
        _ = parts.port  # raises ValueError for a malformed port
    except ValueError as exc:
        raise ConfigError(f"{setting}: not a valid URL") from exc
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"} or not host:
        raise ConfigError(f"{setting}: expected an https:// URL with a host name")
    if parts.username is not None or parts.password is not None:
        # requests would send them as Basic auth, to every host the URL names.
        raise ConfigError(
            f"{setting}: must not carry credentials ({scheme}://{host}); give them as "
            "settings (api_key, or client_id and client_secret) instead"
        )
    if parts.query or parts.fragment:
        raise ConfigError(f"{setting}: must not have a query or a fragment ({scheme}://{host})")
    if scheme == "http" and not _is_loopback(host):
        raise ConfigError(
            f"{setting}: HTTPS is required for every host except loopback "
            f"(localhost, 127.0.0.0/8, ::1), got http://{host}"
        )
    return text.rstrip("/")


@dataclass(frozen=True)
class SyncSettings:
    """The validated target settings. `api_key` is kept out of the repr on purpose.

    Exactly one of `api_key` and `service_account` is set (see `parse_credentials`).
    """

    api_url: str
    api_key: str | None = field(repr=False)
    org_id: str | None
    worker_stream: str
    mapping: dict[str, str]  # the merged attribute mapping (JumpCloud attribute → record path)
    user_state_on_create: UserState
    reactivate_suspended_users: bool
    max_suspensions: SuspensionLimit
    dry_run: bool
    report_path: str | None
    service_account: ServiceAccount | None = None
    # docs/directory-attributes.md (the defaults keep part one's behaviour)
    create_only_attributes: frozenset[str] = frozenset()
    username_template: UsernameTemplate | None = None  # None: the default `{first}.{last}`
    username_max_length: int | None = None
    plan_path: str | None = None  # write every run's plan here (docs/plan-and-review.md)
    apply_plan: str | None = None  # apply this reviewed plan instead of reading a stream
    apply_plan_id: str | None = None  # the plan_id an approval pins
    plan_max_age_hours: float = DEFAULT_PLAN_MAX_AGE_HOURS
    review_html: bool = False  # write the report's review page beside it
    effective_dating: EffectiveDating = field(
        default_factory=EffectiveDating
    )  # docs/effective-dates.md
    alerts: AlertSettings = field(default_factory=AlertSettings)  # docs/alerts.md
    groups: GroupSettings = field(default_factory=GroupSettings)  # docs/groups.md
    leavers: LeaverSettings = field(default_factory=LeaverSettings)  # docs/leavers.md


_IGNORED_SDK_SETTINGS = {
    "batch_size_rows": "the whole worker stream is planned before anything is written",
    "add_record_metadata": "_sdc_* fields are never sent to JumpCloud",
}


def ignored_sdk_settings(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The singer-sdk target settings that are set but mean nothing here, with why."""
    return [
        (name, why)
        for name, why in _IGNORED_SDK_SETTINGS.items()
        if config.get(name) not in {None, False}
    ]


def parse_settings(config: Mapping[str, Any]) -> SyncSettings:
    """Validate the raw config (as Singer/Meltano hands it over) into `SyncSettings`.

    Unknown keys are ignored: the Singer SDK adds its own settings to the same object.

    Raises:
        ConfigError: with every problem of the config, not just the first.
    """
    problems: list[str] = []

    def checked(parse: Callable[..., _T], *args: object, default: _T) -> _T:
        try:
            return parse(*args)
        except ConfigError as exc:
            problems.extend(exc.problems)
            return default

    checked(_check_load_method, config, default=None)
    api_url = checked(_api_url, config, default=DEFAULT_API_URL)
    no_credentials: tuple[str | None, ServiceAccount | None] = (None, None)
    api_key, service_account = checked(parse_credentials, config, api_url, default=no_credentials)
    mapping, mapping_problems = check_mapping(
        checked(_mapping_overrides, config.get("mapping"), default=None)
    )
    problems.extend(mapping_problems)
    no_files: tuple[str | None, str | None] = (None, None)
    plan_path, apply_plan = checked(_plan_files, config, default=no_files)
    dry_run = checked(_flag, config, "dry_run", default=False)
    effective_dating, effective_problems = read_effective_dating(config, dry_run=dry_run)
    problems.extend(effective_problems)
    alerts, alert_problems = read_alert_settings(config)
    problems.extend(alert_problems)
    groups, group_problems = read_group_settings(config, mapping)
    problems.extend(group_problems)
    leavers, leaver_problems = read_leaver_settings(config)
    problems.extend(leaver_problems)
    settings = SyncSettings(
        api_url=api_url,
        api_key=api_key,
        service_account=service_account,
        org_id=checked(_optional_text, config, "org_id", default=None),
        worker_stream=(
            checked(_optional_text, config, "worker_stream", default=None) or DEFAULT_WORKER_STREAM
        ),
        mapping=mapping,
        user_state_on_create=checked(
            _create_state, config.get("user_state_on_create"), default=UserState.STAGED
        ),
        reactivate_suspended_users=checked(
            _flag, config, "reactivate_suspended_users", default=False
        ),
        max_suspensions=checked(
            parse_suspension_limit,
            _raw_max_suspensions(config),
            default=SuspensionLimit(0, percent=False),
        ),
        dry_run=dry_run,
        report_path=checked(_optional_text, config, "report_path", default=None),
        create_only_attributes=checked(
            parse_create_only, config.get("create_only_attributes"), mapping, default=frozenset()
        ),
        username_template=checked(_username_template, config, default=None),
        username_max_length=checked(_username_max_length, config, default=None),
        plan_path=plan_path,
        apply_plan=apply_plan,
        apply_plan_id=checked(_optional_text, config, "apply_plan_id", default=None),
        plan_max_age_hours=checked(
            parse_plan_max_age_hours,
            config.get("plan_max_age_hours"),
            default=DEFAULT_PLAN_MAX_AGE_HOURS,
        ),
        review_html=checked(_flag, config, "review_html", default=False),
        effective_dating=effective_dating,
        alerts=alerts,
        groups=groups,
        leavers=leavers,
    )
    if problems:
        raise ConfigError(*problems)
    return settings


def _username_template(config: Mapping[str, Any]) -> UsernameTemplate | None:
    """`username_template`; blank counts as absent (an empty environment variable)."""
    value = config.get("username_template")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    template, problems = check_template(value)
    if problems:
        raise ConfigError(*problems)
    return template


def _username_max_length(config: Mapping[str, Any]) -> int | None:
    """`username_max_length` (docs/directory-attributes.md): None or an integer of at least 8."""
    length, problems = check_max_length(config.get("username_max_length"))
    if problems:
        raise ConfigError(*problems)
    return length


def _check_load_method(config: Mapping[str, Any]) -> None:
    """singer-sdk's `load_method`: only `upsert` (the sync never deletes or overwrites)."""
    if config.get("load_method") not in {None, "", "upsert"}:
        raise ConfigError(
            "load_method: target-jumpcloud always creates and updates users and never "
            "deletes one; only 'upsert' is accepted (or leave the setting out)"
        )


def parse_plan_max_age_hours(raw: object) -> float:
    """`plan_max_age_hours`: a positive number of hours (text from an environment variable too)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return DEFAULT_PLAN_MAX_AGE_HOURS
    value: float | None = None
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        value = float(raw)
    elif isinstance(raw, str):
        try:
            value = float(raw.strip())
        except ValueError:
            value = None
    if value is None or not math.isfinite(value) or value <= 0:
        raise ConfigError(
            f"plan_max_age_hours: expected a positive number of hours, got {shown(raw)}"
        )
    return value


def _plan_files(config: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """`plan_path` and `apply_plan`: applying a plan makes none, so not both."""
    plan_path = _optional_text(config, "plan_path")
    apply_plan = _optional_text(config, "apply_plan")
    if plan_path and apply_plan:
        raise ConfigError(
            "apply_plan: applies a reviewed plan and makes none; leave plan_path unset for this run"
        )
    return plan_path, apply_plan


def _api_url(config: Mapping[str, Any]) -> str:
    raw_url = config.get("api_url")
    if raw_url is not None and not isinstance(raw_url, str):
        raise ConfigError(f"api_url: expected a URL string, got {type(raw_url).__name__}")
    return require_secure_url(raw_url or DEFAULT_API_URL, "api_url")


_CREDENTIAL_SETTINGS = "api_key, client_id, client_secret"
_EITHER_WAY = (
    "set either `api_key` (a personal API key) or `client_id` and `client_secret` "
    "(a JumpCloud service account), from config or environment"
)


def parse_credentials(
    config: Mapping[str, Any], api_url: str
) -> tuple[str | None, ServiceAccount | None]:
    """The one way to authenticate: `(api_key, None)` or `(None, service account)`.

    Exactly one of `api_key` and the pair `client_id` + `client_secret` must be set; both,
    neither, or half a pair is one `ConfigError` naming the settings. `token_url` defaults
    from `api_url`'s region and must be set for any `api_url` that is not JumpCloud's. A
    blank value counts as absent (an empty environment variable). No value is ever echoed.

    Raises:
        ConfigError: The credentials settings do not give exactly one way.
    """
    api_key = _secret_text(config, "api_key")
    client_id = _secret_text(config, "client_id")
    client_secret = _secret_text(config, "client_secret")
    pair = client_id is not None or client_secret is not None
    if api_key is not None and pair:
        raise ConfigError(
            f"{_CREDENTIAL_SETTINGS}: both an API key and a service account are set; "
            "set either `api_key` or `client_id` and `client_secret`, not both"
        )
    if api_key is not None:
        return api_key, None
    if not pair:
        raise ConfigError(f"{_CREDENTIAL_SETTINGS}: no credentials; {_EITHER_WAY}")
    if client_id is None:
        raise ConfigError("client_id: required with client_secret (a service account needs both)")
    if client_secret is None:
        raise ConfigError("client_secret: required with client_id (a service account needs both)")
    raw_token_url = _optional_text(config, "token_url")
    token_url = raw_token_url or default_token_url(api_url)
    if token_url is None:
        raise ConfigError(
            "token_url: required with a service account when api_url is not a JumpCloud "
            "console URL (no region to derive it from); set the token endpoint's URL"
        )
    token_url = require_secure_url(token_url, "token_url")
    return None, ServiceAccount(client_id, client_secret, token_url)


def _secret_text(config: Mapping[str, Any], name: str) -> str | None:
    """A credential setting: a string or absent (blank = absent); its value is never shown."""
    value = config.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{name}: expected a string")
    return value.strip() or None


# Attributes that identify the user or carry its state: they must stay in step
# (docs/directory-attributes.md).
_NEVER_CREATE_ONLY = ("email", "employeeIdentifier", "state")
_NOT_CREATE_ONLY = frozenset({*_NEVER_CREATE_ONLY, *READ_ONLY_KEYS})


def parse_create_only(value: object, mapping: Mapping[str, str]) -> frozenset[str]:
    """`create_only_attributes`: mapped attribute names sent at creation only.

    A list of names (a JSON text of one is read too, as environment values are text). Each
    must be a key of the mapping (`department`, `manager`, `attributes.costCode`...), so a
    typo cannot silently leave an attribute synced; `email`, `employeeIdentifier` and
    `state` cannot be create-only.
    """
    setting = "create_only_attributes"
    if value is None or value == "":
        return frozenset()
    if isinstance(value, str):
        text = value
        try:
            value = json.loads(text)
        except json.JSONDecodeError:  # a comma list, as an environment value may be
            value = [part.strip() for part in text.split(",") if part.strip()]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{setting}: expected a list of JumpCloud attribute names")
    names = [item.strip() for item in value]
    problems = []
    for name in names:
        if name in _NEVER_CREATE_ONLY:
            problems.append(
                f"{setting}: {name} cannot be create-only (email, employeeIdentifier and "
                "state are always kept in step)"
            )
        elif name in READ_ONLY_KEYS:
            problems.append(f"{setting}: {name} is never sent to JumpCloud")
        elif name not in mapping:
            problems.append(
                f"{setting}: {name!r} is not an attribute of the mapping "
                f"(mapped: {', '.join(k for k in mapping if k not in _NOT_CREATE_ONLY)})"
            )
    if problems:
        raise ConfigError(*problems)
    return frozenset(names)


def _raw_max_suspensions(config: Mapping[str, Any]) -> object:
    """The raw `max_suspensions` value, or the default when absent or blank."""
    value = config.get("max_suspensions")
    return DEFAULT_MAX_SUSPENSIONS if value is None or value == "" else value


def _optional_text(config: Mapping[str, Any], name: str) -> str | None:
    """A string setting that may be absent; blank counts as absent (empty env var)."""
    value = config.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{name}: expected a string, got {shown(value)}")
    return value.strip() or None


def _flag(config: Mapping[str, Any], name: str) -> bool:
    """A boolean setting; "true"/"false" strings are accepted because env vars are text."""
    value = config.get(name)
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    raise ConfigError(f"{name}: expected true or false, got {shown(value)}")


def _create_state(value: object) -> UserState:
    """`user_state_on_create`: STAGED (default) or ACTIVATED, any case."""
    if value is None or value == "":
        return UserState.STAGED
    if isinstance(value, str):
        for state in _CREATE_STATES:
            if value.strip().upper() == state.value:
                return state
    raise ConfigError(f"user_state_on_create: expected 'STAGED' or 'ACTIVATED', got {shown(value)}")


def _mapping_overrides(value: object) -> Mapping[str, str | None] | None:
    """`mapping` as an object; a JSON string is decoded (Meltano passes objects via env vars)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"mapping: not a valid JSON object ({exc.msg})") from exc
    if not isinstance(value, dict):
        raise ConfigError(
            "mapping: expected an object from JumpCloud attribute to record path, "
            f"got {type(value).__name__}"
        )
    return value
