"""The tap's settings: their JSON schema, defaults, and the `api_url` safety check."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from singer_sdk import typing as th

from tap_deel.people_by_id import ENV_VAR as PERSON_IDS_ENV_VAR
from tap_deel.people_by_id import PERSON_ID_PATTERN

if TYPE_CHECKING:
    from collections.abc import Mapping

DEFAULT_API_URL = "https://api.letsdeel.com/rest/v2"
SANDBOX_API_URL = "https://api-sandbox.demo.deel.com/rest/v2"
MAX_PAGE_SIZE = 200  # Deel's largest `limit` on /people

DEFAULT_ACTIVE_HIRING_STATUSES = (
    "active",
    "onboarding",
    "onboarding_at_risk",
    "onboarding_overdue",
    "onboarded",
    "offboarding",
)

HIRING_STATUSES = (
    "pending_invite",
    "draft",
    "invited",
    "onboarding",
    "onboarding_at_risk",
    "onboarding_overdue",
    "onboarded",
    "offboarding",
    "active",
    "inactive",
    "in_review",
    "quote_requires_changes",
)

HIRING_TYPES = (
    "contractor",
    "eor",
    "peo",
    "hris_direct_employee",
    "hris_direct_contractor",
    "direct_employee",
    "contractor_outside_deel",
    "person_without_contract",
)

LOOPBACK_NAMES = frozenset({"localhost"})

CONFIG_SCHEMA = th.PropertiesList(
    th.Property(
        "api_token",
        th.StringType(nullable=False),
        required=True,
        secret=True,
        title="API token",
        description=(
            "Deel API token (organization token), sent as a bearer token. Needs the scopes "
            "people:read, and for the other streams contracts:read, organizations:read and "
            "groups:read."
        ),
    ),
    th.Property(
        "api_url",
        th.StringType(nullable=False),
        default=DEFAULT_API_URL,
        title="API URL",
        description=(
            "Base URL of Deel's REST API v2. Use "
            f"{SANDBOX_API_URL} for the sandbox. Must be HTTPS unless the host is loopback."
        ),
    ),
    th.Property(
        "max_requests_per_second",
        th.IntegerType(nullable=False, minimum=1),
        default=5,
        title="Max requests per second",
        description=(
            "Client-side pacing: never more than this many requests in any one-second "
            "window, across all streams and retries. Deel allows 5 per organisation."
        ),
    ),
    th.Property(
        "page_size",
        th.IntegerType(nullable=False, minimum=1, maximum=MAX_PAGE_SIZE),
        default=MAX_PAGE_SIZE,
        title="Page size",
        description=(
            "Records per request (1-200, Deel's maximum on /people). Endpoints with a lower "
            "maximum use it instead: /contracts 99; /groups, /legal-entities, /managers 100."
        ),
    ),
    th.Property(
        "active_hiring_statuses",
        th.ArrayType(th.StringType(nullable=False, allowed_values=list(HIRING_STATUSES))),
        default=list(DEFAULT_ACTIVE_HIRING_STATUSES),
        title="Active hiring statuses",
        description=(
            "Deel hiring statuses for which the derived `active` field of a person is true "
            "(at least one; a misspelt status is refused rather than making everyone inactive)."
        ),
        minItems=1,
    ),
    th.Property(
        "hiring_types",
        th.ArrayType(th.StringType(nullable=False, allowed_values=list(HIRING_TYPES))),
        title="Hiring types",
        description=(
            "Only extract people of these worker types (server-side `hiring_types` filter "
            'on /people), e.g. ["eor", "direct_employee"]. Empty or unset: every type.'
        ),
    ),
    th.Property(
        "person_ids",
        th.ArrayType(th.StringType(nullable=False, pattern=PERSON_ID_PATTERN)),
        title="Person IDs",
        description=(
            "Only read these people (Deel profile ids, UUIDs) in the people stream, one "
            "GET /people/{id} each, paced and retried like every request; a person Deel "
            "answers 404 for is logged and skipped, and so is one whose type the setting "
            "hiring_types leaves out. Empty or unset: every person (GET /people). The webhook "
            f"receiver sets it through {PERSON_IDS_ENV_VAR} (a JSON list). For a named "
            "person who is not active and has a work email, every other profile with that "
            "work email is read too (GET /people?search=, one request each), so a re-hire's "
            "new profile comes with the old one."
        ),
    ),
    th.Property(
        "emit_activate_version_messages",
        th.BooleanType(nullable=False),
        default=False,
        title="Emit ACTIVATE_VERSION messages",
        description=(
            "singer-sdk's setting, to say that a stream's records are the whole list: its "
            "records carry the run's table version, and an ACTIVATE_VERSION message with it "
            "follows the stream's last message once the listing ended normally. Never with "
            "person_ids, never after a listing cut short (an error, retries running out, a "
            "kill). target-jumpcloud needs it to act on accounts no record backs; the "
            "deel-to-jumpcloud job turns it on."
        ),
    ),
).to_dict()


def configured_api_url(config: Mapping[str, Any]) -> str:
    """The `api_url` setting as the tap uses it (the production URL when unset or empty).

    Args:
        config: The tap's config.

    Returns:
        The URL, not yet checked (see `check_api_url`).
    """
    return str(config.get("api_url") or DEFAULT_API_URL)


class ApiUrlError(ValueError):
    """The `api_url` setting is not a URL the tap may send a token to."""


def is_loopback_host(host: str) -> bool:
    """Whether `host` (a name or an IP literal, without brackets) is the loopback interface.

    Args:
        host: The host part of a URL, lower-cased.

    Returns:
        True for `localhost`, any 127.0.0.0/8 address and `::1`.
    """
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_api_url(url: str) -> str:
    """Validate the `api_url` setting and return it without a trailing slash.

    HTTPS is required, except for a loopback host, where plain HTTP is allowed (the local
    emulator). The check runs before any connection, so a token never travels in clear text.
    Messages show only the scheme and host, never the rest of the URL.

    Args:
        url: The configured `api_url`.

    Returns:
        The base URL, ready to have `/people` and friends appended.

    Raises:
        ApiUrlError: When the URL is malformed, has no host, carries credentials, a query or a
            fragment, uses another scheme, or uses plain HTTP for a host that is not loopback.
    """
    url = url.strip()
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        raise ApiUrlError("api_url is not a valid URL (bad host or port)") from None
    shown = f"{scheme}://{host}" + (f":{port}" if port else "")
    if scheme not in {"http", "https"}:
        raise ApiUrlError(f"api_url must start with https:// (got scheme {scheme!r})")
    if not host:
        raise ApiUrlError(f"api_url has no host; expected e.g. {DEFAULT_API_URL}")
    if parts.username or parts.password:
        raise ApiUrlError("api_url must not carry credentials; set api_token instead")
    if parts.query or parts.fragment:
        raise ApiUrlError(f"api_url ({shown}) must not have a query or a fragment")
    if scheme == "http" and not is_loopback_host(host):
        raise ApiUrlError(
            f"api_url ({shown}) uses plain http: HTTPS is required for every host except "
            "loopback (localhost, 127.0.0.0/8, ::1)"
        )
    return url.rstrip("/")
