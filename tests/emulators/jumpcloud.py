"""An in-memory JumpCloud V1 system-users API, served over real HTTP for tests, demo and bench.

Every test, demo and benchmark talks to this instead of JumpCloud, so it answers like the
published V1 spec (field names, envelopes, status codes). Where the spec is silent it errs on
the strict side, so that code which passes here also passes against the real service:

* `POST /api/systemusers` answers 200 (not 201) with the full user; `_id` and `id` are equal.
* Unknown body fields, wrong JSON types, and strings over 1024 characters (256 for
  `employeeIdentifier`) are refused with 400, naming the field.
* `username` and `email` are unique case-insensitively, `employeeIdentifier` exactly (an empty
  one is not a value): a clash is 400 "User already exists: ...". Values are stored as sent.
* `filter` values are case-sensitive, as JumpCloud documents; `limit` defaults to 10 and above
  100 is a 400 (never silently clamped).
* `state` and `suspended` always agree: either one given moves both, a conflicting pair is 400,
  and PUT cannot set STAGED.
* `manager` must be the `_id` of another existing user (else 400); `null` clears it. A PUT
  with `attributes` replaces the whole custom attribute list; each name is 1-31 letters or
  digits, unique ignoring case, and each value text (400 otherwise).
* The `/state/*` endpoints answer 200 with an empty body (the spec promises no user object) and
  409 for a transition JumpCloud does not document (activate is STAGED → ACTIVATED only).
* Every API route takes `x-api-key` or a service account's `Authorization: Bearer` token
  (never both); the token endpoint is `/oauth2/token` (see jumpcloud_oauth.py).
* V2 scheduled user states (`/api/v2/bulk/userstates`) are served as `userstates.py`
  describes. The jobs run on the emulator's clock (`set_time`, `advance`; real time by
  default): before each request, every job whose time has come changes its user's state.
* V2 user groups and their members (`/api/v2/usergroups`) are served as `usergroups.py`
  describes, V1 `resetmfa` and `expire` as `credentials.py` does; deleting a user takes it
  out of every group.

Users are kept in `_id` order (ids are monotonic 24-hex ObjectIds), with dict indexes for the
unique fields and a small cache of sorted/filtered views, so paging through 100,000 users costs
a slice per request.
"""

from __future__ import annotations

import bisect
import hmac
import json
import re
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeAlias

from tests.emulators.base import EmulatorApp, Fault, Request, Response
from tests.emulators.credentials import ANSWER, CredentialBook
from tests.emulators.jumpcloud_oauth import (
    DEFAULT_TOKEN_LIFETIME,
    TOKEN_PATH,
    TOKEN_PREFIX,
    TokenAuthority,
)
from tests.emulators.jumpcloud_shared import EMAIL, OBJECT_ID, RefusedRequestError, format_millis
from tests.emulators.usergroups import GroupBook
from tests.emulators.userstates import JobBook

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

STATES = ("STAGED", "ACTIVATED", "SUSPENDED")
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
MAX_TEXT = 1024
MAX_EMPLOYEE_IDENTIFIER = 256
DEFAULT_ORG_ID = "5f1e0c0ffee0c0ffee000001"
FIRST_OBJECT_ID = 0x66B0F2C4E1A9D3001F000000  # a 2024 timestamp prefix, then a counter
FIRST_UNIX_ID = 5001
VIEW_CACHE_SIZE = 16

_CUSTOM_NAME = re.compile(r"[A-Za-z0-9]{1,31}")
_AND_FILTER_KEY = re.compile(r"filter(?:\[\d*\])?")
_OR_FILTER_KEY = re.compile(r"filter\[or\]\[\d*\]")
_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")
_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    409: "Conflict",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
# The unique fields, how they are compared, and how an error names them.
_INDEXED = ("username", "email", "employeeIdentifier")
_CASE_INSENSITIVE = frozenset({"username", "email"})
_LABELS = {"username": "username", "email": "email", "employeeIdentifier": "employeeIdentifier"}
# Filter operators: the plain ones, and those JumpCloud only serves with x-eventually-consistent.
_OPERATORS = frozenset({"$eq", "$ne", "$in", "$nin", "$gt", "$gte", "$lt", "$lte", "$sw"})
_CONSISTENT_ONLY = frozenset({"$ew", "$co", "$nco"})
_MULTI_TERM = frozenset({"$in", "$nin", "$sw", "$ew", "$co", "$nco"})
_NEGATED = {"$ne": "$eq", "$nin": "$in", "$nco": "$co"}
_SEARCH_BODY_KEYS = frozenset({"filter", "searchFilter", "fields", "limit", "skip", "sort"})

Json: TypeAlias = Any
# A compiled filter: ("all"|"any", clauses) | ("op", field, operator, terms)
# | ("is", field, type name, value) | ("text", fields, casefolded terms).
Clause: TypeAlias = tuple[Any, ...]
SortSpec: TypeAlias = tuple[tuple[str, bool], ...]


class JumpCloudApiError(ValueError):
    """A request JumpCloud would refuse: `status` and `message` become the error body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _bad(message: str) -> JumpCloudApiError:
    return JumpCloudApiError(400, message)


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """JumpCloud's `Error` shape: `{code, message, status}`; clients should read `message` only."""
    body = {"code": status, "message": message, "status": _REASONS.get(status, "Error")}
    return Response(status, body, headers or {})


# -- body schemas (from the V1 spec's systemuserputpost / systemuserput) -------------------------


@dataclass(frozen=True, slots=True)
class _Str:
    max_len: int = MAX_TEXT
    nullable: bool = False

    def check(self, value: Json, where: str) -> None:
        if value is None and self.nullable:
            return
        if not isinstance(value, str):
            raise _bad(f"{where} must be a string")
        if len(value) > self.max_len:
            raise _bad(f"{where} must be at most {self.max_len} characters")


@dataclass(frozen=True, slots=True)
class _Bool:
    def check(self, value: Json, where: str) -> None:
        if not isinstance(value, bool):
            raise _bad(f"{where} must be a boolean")


@dataclass(frozen=True, slots=True)
class _Int:
    minimum: int = 1

    def check(self, value: Json, where: str) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or value < self.minimum:
            raise _bad(f"{where} must be an integer >= {self.minimum}")


@dataclass(frozen=True, slots=True)
class _Enum:
    values: tuple[str, ...]

    def check(self, value: Json, where: str) -> None:
        if value not in self.values:
            raise _bad(f"{where} must be one of {', '.join(self.values)}")


@dataclass(frozen=True, slots=True)
class _List:
    item: _Str | _Obj

    def check(self, value: Json, where: str) -> None:
        if not isinstance(value, list):
            raise _bad(f"{where} must be an array")
        for position, item in enumerate(value):
            self.item.check(item, f"{where}[{position}]")


@dataclass(frozen=True, slots=True)
class _Obj:
    props: dict[str, _Type] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    nullable: bool = False

    def check(self, value: Json, where: str) -> None:
        if value is None and self.nullable:
            return
        if not isinstance(value, dict):
            raise _bad(f"{where} must be an object")
        for key, item in value.items():
            spec = self.props.get(key)
            if spec is None:
                raise _bad(f"unknown field '{where}.{key}'")
            spec.check(item, f"{where}.{key}")
        for key in self.required:
            if key not in value:
                raise _bad(f"{where}.{key} is required")


_Type: TypeAlias = _Str | _Bool | _Int | _Enum | _List | _Obj

_TEXT = _Str()
_FLAG = _Bool()
_TEXT_FIELDS = (
    "username", "email", "firstname", "lastname", "middlename", "displayname", "jobTitle",
    "department", "company", "costCenter", "location", "employeeType", "description",
    "alternateEmail", "external_dn", "external_source_type", "external_password_expiration_date",
    "password", "public_key", "managedAppleId",
)  # fmt: skip
_FLAG_FIELDS = (
    "account_locked", "allow_public_key", "disableDeviceMaxLoginAttempts", "enable_managed_uid",
    "enable_user_portal_multifactor", "externally_managed", "ldap_binding_user",
    "password_never_expires", "samba_service_user", "sudo", "suspended",
)  # fmt: skip
_RESTRICTABLE = (
    "addresses", "company", "costCenter", "department", "description", "displayname", "email",
    "employeeIdentifier", "employeeType", "firstname", "jobTitle", "lastname", "location",
    "middlename", "password", "phoneNumbers", "sudo", "username",
)  # fmt: skip
_ADDRESS_KEYS = (
    "type", "poBox", "extendedAddress", "streetAddress", "locality", "region", "postalCode",
    "country", "id",  # `id` is what a GET returns: tolerated so a read-modify-write works
)  # fmt: skip
_COMMON_FIELDS: dict[str, _Type] = {
    **dict.fromkeys(_TEXT_FIELDS, _TEXT),
    "employeeIdentifier": _Str(MAX_EMPLOYEE_IDENTIFIER),
    "manager": _Str(nullable=True),
    **dict.fromkeys(_FLAG_FIELDS, _FLAG),
    "unix_uid": _Int(1),
    "unix_guid": _Int(1),
    "addresses": _List(_Obj(dict.fromkeys(_ADDRESS_KEYS, _TEXT))),
    "phoneNumbers": _List(_Obj({"type": _TEXT, "number": _TEXT, "id": _TEXT})),
    "attributes": _List(_Obj({"name": _TEXT, "value": _TEXT}, required=("name", "value"))),
    "relationships": _List(_Obj({"type": _TEXT, "value": _TEXT})),
    "restrictedFields": _List(
        _Obj({"field": _Enum(_RESTRICTABLE), "type": _Str(128), "id": _Str(24)})
    ),
    "tags": _List(_TEXT),
    "mfa": _Obj(
        {"configured": _FLAG, "exclusion": _FLAG, "exclusionUntil": _TEXT, "exclusionDays": _Int(1)}
    ),
    "delegatedAuthority": _Obj({"name": _Enum(("ActiveDirectory",)), "id": _TEXT}, nullable=True),
}
# What POST /systemusers accepts (systemuserputpost) and what PUT accepts (systemuserput).
POST_FIELDS: dict[str, _Type] = {
    **_COMMON_FIELDS,
    "state": _Enum(STATES),
    "activated": _FLAG,
    "passwordless_sudo": _FLAG,
    "recoveryEmail": _Obj({"address": _TEXT}),
}
PUT_FIELDS: dict[str, _Type] = {
    **_COMMON_FIELDS,
    "state": _Enum(("ACTIVATED", "SUSPENDED")),
    "ssh_keys": _List(_Obj({"name": _TEXT, "public_key": _TEXT}, required=("name", "public_key"))),
}
# Response-only fields a seeded user (`set_users`) may carry, stored as given.
SEED_ONLY_FIELDS = frozenset({
    "_id", "id", "created", "organization", "account_locked_date", "badLoginAttempts",
    "password_date", "password_expiration_date", "password_expired", "totp_enabled",
    "mfaEnrollment", "creationSource", "admin", "ssh_keys",
})  # fmt: skip
_ENROLLMENT_KEYS = (
    "overallStatus", "totpStatus", "webAuthnStatus", "pushStatus", "smsStatus", "jcGoStatus",
)  # fmt: skip


def _check_body(body: dict[str, Json], allowed: dict[str, _Type]) -> None:
    for key, value in body.items():
        spec = allowed.get(key)
        if spec is None:
            raise _bad(f"unknown field '{key}'")
        spec.check(value, key)


def _check_custom_attributes(body: dict[str, Json]) -> None:
    """Custom attribute names: letters and digits, fewer than 32, unique (here: ignoring case).

    JumpCloud's console states the rule; whether the API enforces it is not documented, so
    the emulator does (strict side). Values are text of at most 1024 characters, never null
    (checked with the body's types).
    """
    seen: set[str] = set()
    for position, item in enumerate(body.get("attributes") or ()):
        name = item["name"]
        if not _CUSTOM_NAME.fullmatch(name):
            raise _bad(f"attributes[{position}].name must be 1-31 letters or digits, got {name!r}")
        if name.casefold() in seen:
            raise _bad(f"attributes[{position}].name {name!r} is not unique")
        seen.add(name.casefold())


def _check_identity(body: dict[str, Json]) -> None:
    """An empty username or a non-address email is refused (assumed: the spec is silent)."""
    if "username" in body and (not body["username"] or any(c.isspace() for c in body["username"])):
        raise _bad("username must be non-empty and contain no whitespace")
    if "email" in body and not EMAIL.fullmatch(body["email"]):
        raise _bad("email is not a valid email address")


def _state_on_create(state: str | None, suspended: bool | None, default: str) -> tuple[str, bool]:
    if state is not None and suspended is not None and (state == "SUSPENDED") != suspended:
        raise _bad(f"state {state} conflicts with suspended {str(suspended).lower()}")
    if state is not None:
        return state, state == "SUSPENDED"
    if suspended:
        return "SUSPENDED", True
    return default, False


def _state_on_update(current: str, state: str | None, suspended: bool | None) -> tuple[str, bool]:
    if state is not None or suspended:
        return _state_on_create(state, suspended, current)
    if suspended is False and current == "SUSPENDED":
        return "ACTIVATED", False
    return current, current == "SUSPENDED"


def _now_iso() -> str:
    """ISO-8601 UTC with milliseconds and a Z, as JumpCloud writes `created`."""
    return format_millis(datetime.now(UTC))


def _fresh_defaults() -> dict[str, Json]:
    """The fields JumpCloud returns for every user, with their values for a brand-new one."""
    return {
        "account_locked": False,
        "account_locked_date": None,
        "activated": False,
        "addresses": [],
        "allow_public_key": True,
        "attributes": [],
        "badLoginAttempts": 0,
        "disableDeviceMaxLoginAttempts": False,
        "enable_managed_uid": False,
        "enable_user_portal_multifactor": False,
        "externally_managed": False,
        "ldap_binding_user": False,
        "mfa": {"configured": False, "exclusion": False},
        "mfaEnrollment": dict.fromkeys(_ENROLLMENT_KEYS, "NOT_ENROLLED"),
        "password_date": None,
        "password_expiration_date": None,
        "password_expired": False,
        "password_never_expires": False,
        "passwordless_sudo": False,
        "phoneNumbers": [],
        "relationships": [],
        "restrictedFields": [],
        "samba_service_user": False,
        "ssh_keys": [],
        "sudo": False,
        "tags": [],
        "totp_enabled": False,
    }


def _json_copy(value: Json) -> Json:
    """A deep copy that also proves the value is plain JSON (faster than copy.deepcopy)."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError) as exc:
        raise _bad(f"not a JSON value: {exc}") from None


def _index_key(name: str, value: str) -> str:
    return value.casefold() if name in _CASE_INSENSITIVE else value


# -- query parsing ------------------------------------------------------------------------------


def _int_param(raw: Json, name: str, default: int, *, minimum: int, maximum: int | None) -> int:
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        raise _bad(f"{name} must be an integer")
    try:
        value = int(raw)
    except ValueError:
        raise _bad(f"{name} must be an integer") from None
    if value < minimum:
        raise _bad(f"{name} must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise _bad(f"{name} must be at most {maximum}")
    return value


def _page(limit: Json, skip: Json) -> tuple[int, int]:
    """(skip, limit) after JumpCloud's rules: limit 1..100 (default 10), skip >= 0."""
    return (
        _int_param(skip, "skip", 0, minimum=0, maximum=None),
        _int_param(limit, "limit", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT),
    )


def _parse_sort(raw: Json) -> SortSpec:
    if raw is None:
        return ()
    if not isinstance(raw, str):
        raise _bad("sort must be a string of space-separated fields")
    spec = []
    for token in raw.split():
        descending = token.startswith("-")
        name = token[1:] if descending else token
        if not name:
            raise _bad(f"sort field {token!r} is empty")
        spec.append((name, descending))
    return tuple(spec)


def _parse_fields(raw: Json) -> tuple[str, ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise _bad("fields must be a string of space-separated field names")
    return tuple(raw.split()) or None


def _parse_expression(expression: str, *, eventually_consistent: bool) -> Clause:
    """`field:$op:value` (the value may hold colons; `|` separates terms, `\\|` is a pipe)."""
    name, sep, rest = expression.partition(":")
    operator, sep2, value = rest.partition(":")
    if not name or not sep or not sep2:
        raise _bad(f"filter {expression!r} must look like <field>:<$operator>:<value>")
    if operator not in _OPERATORS and operator not in _CONSISTENT_ONLY:
        raise _bad(f"filter operator {operator!r} is not supported")
    if operator in _MULTI_TERM:
        terms = tuple(t.replace("\\|", "|") for t in _UNESCAPED_PIPE.split(value))
    else:
        terms = (value,)
    multi_sw = operator == "$sw" and len(terms) > 1
    if (operator in _CONSISTENT_ONLY or multi_sw) and not eventually_consistent:
        raise _bad(f"filter operator {operator} needs the header x-eventually-consistent: true")
    return ("op", name, operator, terms)


def _combine(kind: str, clauses: list[Clause]) -> Clause | None:
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else (kind, tuple(clauses))


def query_filter(request: Request) -> Clause | None:
    """The V1 `filter` query parameters: plain or indexed ones are ANDed, `filter[or][n]` ORed."""
    consistent = request.headers.get("x-eventually-consistent", "").lower() == "true"
    ands: list[Clause] = []
    ors: list[Clause] = []
    for key, values in request.query.items():
        target = ands if _AND_FILTER_KEY.fullmatch(key) else None
        target = ors if _OR_FILTER_KEY.fullmatch(key) else target
        if target is None:
            continue
        target.extend(
            _parse_expression(value, eventually_consistent=consistent) for value in values if value
        )
    either = _combine("any", ors)
    if either is not None:
        ands.append(either)
    return _combine("all", ands)


def _exact(name: str, value: Json) -> Clause:
    if value is not None and not isinstance(value, (str, int, float, bool)):
        raise _bad(f"filter value for {name!r} must be a string, number, boolean or null")
    return ("is", name, type(value).__name__, value)


def body_filter(value: Json) -> Clause | None:
    """The search body's `filter`: a list of exact-match objects, or `{"and"|"or": [...]}`."""
    if isinstance(value, list):
        return _combine("all", [_filter_item(item) for item in value])
    if isinstance(value, dict) and len(value) == 1 and ("and" in value or "or" in value):
        return _filter_item(value)
    raise _bad('filter must be a list of objects or {"and": [...]} / {"or": [...]}')


def _filter_item(item: Json) -> Clause:
    if not isinstance(item, dict):
        raise _bad("each filter item must be an object")
    if len(item) == 1 and ("and" in item or "or" in item):
        kind, parts = ("all", item["and"]) if "and" in item else ("any", item["or"])
        if not isinstance(parts, list):
            raise _bad("filter and/or must hold a list")
        return (kind, tuple(_filter_item(part) for part in parts))
    return ("all", tuple(_exact(name, value) for name, value in item.items()))


def search_filter(value: Json) -> Clause:
    """`{"searchTerm": str | [str], "fields": [str]}`: partial, case-insensitive text match."""
    if not isinstance(value, dict) or set(value) - {"searchTerm", "fields"}:
        raise _bad("searchFilter must be an object with searchTerm and fields")
    term = value.get("searchTerm")
    terms = [term] if isinstance(term, str) else term
    names = value.get("fields")
    if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
        raise _bad("searchFilter.searchTerm must be a string or a list of strings")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise _bad("searchFilter.fields must be a non-empty list of field names")
    return ("text", tuple(names), tuple(t.casefold() for t in terms))


# -- matching and ordering --------------------------------------------------------------------


def _resolve(user: dict[str, Json], path: str) -> Json:
    value: Json = user.get(path)
    if value is None and "." in path:
        value = user
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
    return value


def _term_equals(value: Json, term: str) -> bool:
    if isinstance(value, bool):
        return term == ("true" if value else "false")
    if isinstance(value, (int, float)):
        try:
            return float(term) == value
        except ValueError:
            return False
    return isinstance(value, str) and value == term


def _term_order(value: Json, term: str, operator: str) -> bool:
    left: Json = value
    right: Json = term
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            right = float(term)
        except ValueError:
            return False
    elif not isinstance(value, str):
        return False
    if operator == "$gt":
        return bool(left > right)
    if operator == "$gte":
        return bool(left >= right)
    if operator == "$lt":
        return bool(left < right)
    return bool(left <= right)


def _term_match(value: Json, operator: str, term: str) -> bool:
    if operator in ("$eq", "$in"):
        return _term_equals(value, term)
    if operator in ("$gt", "$gte", "$lt", "$lte"):
        return _term_order(value, term, operator)
    if not isinstance(value, str):
        return False
    if operator == "$sw":
        return value.startswith(term)
    if operator == "$ew":
        return value.endswith(term)
    return term in value  # $co


def _op_matches(value: Json, operator: str, terms: tuple[str, ...]) -> bool:
    positive = _NEGATED.get(operator)
    if positive is not None:
        return not _op_matches(value, positive, terms)
    if isinstance(value, list):  # an array matches when any element does (MongoDB semantics)
        return any(_op_matches(item, operator, terms) for item in value)
    return value is not None and any(_term_match(value, operator, term) for term in terms)


def json_equal(value: Json, wanted: Json) -> bool:
    """Equality without Python's True == 1."""
    return value == wanted and isinstance(value, bool) == isinstance(wanted, bool)


def _is_match(value: Json, wanted: Json) -> bool:
    if isinstance(value, list) and not isinstance(wanted, list):
        return any(json_equal(item, wanted) for item in value)
    return json_equal(value, wanted)


def matches(user: dict[str, Json], clause: Clause) -> bool:
    """Whether `user` satisfies a compiled filter."""
    kind = clause[0]
    if kind == "all":
        return all(matches(user, part) for part in clause[1])
    if kind == "any":
        return any(matches(user, part) for part in clause[1])
    if kind == "op":
        return _op_matches(_resolve(user, clause[1]), clause[2], clause[3])
    if kind == "is":
        return _is_match(_resolve(user, clause[1]), clause[3])
    for name in clause[1]:  # "text"
        value = _resolve(user, name)
        if isinstance(value, str) and any(term in value.casefold() for term in clause[2]):
            return True
    return False


def _sort_key(value: Json) -> tuple[int, Any]:
    """MongoDB's cross-type order: null < numbers < strings < objects < arrays < booleans."""
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (5, value)
    if isinstance(value, (int, float)):
        return (1, value)
    if isinstance(value, str):
        return (2, value)
    return (3 if isinstance(value, dict) else 4, json.dumps(value, sort_keys=True))


def _project(user: dict[str, Json], names: tuple[str, ...]) -> dict[str, Json]:
    picked = {"_id": user["_id"], "id": user["id"]}
    picked.update((name, user[name]) for name in names if name in user)
    return picked


def _control_items(request: Request, what: str) -> tuple[list[dict[str, Json]], bool]:
    """A control route's body: one object or a list of them (and whether it was a list)."""
    try:
        body: Json = json.loads(request.body) if request.body.strip() else None
    except ValueError:
        raise _bad("request body is not valid JSON") from None
    items = body if isinstance(body, list) else [body]
    if not all(isinstance(item, dict) for item in items):
        raise _bad(f"send {what} or a list of them")
    return items, isinstance(body, list)


# -- the emulator -----------------------------------------------------------------------------


class JumpCloudEmulator(EmulatorApp):
    """JumpCloud's V1 system-user routes under `/api`, plus `/_emulator/` control routes."""

    name = "jumpcloud-emulator"

    def __init__(
        self,
        *,
        api_key: str = "jc-test-key",
        org_id: str | None = None,
        default_state: str = "ACTIVATED",
        service_accounts: Mapping[str, str] | None = None,
        token_lifetime: float = DEFAULT_TOKEN_LIFETIME,
        token_prefix: str = TOKEN_PREFIX,
    ) -> None:
        super().__init__()
        #: Service accounts (client id → secret) and their tokens: `self.oauth.add_client`,
        #: `.revoke_client`, `.expire_all`, `.grants`, `.lifetime`.
        self.oauth = TokenAuthority(lifetime=token_lifetime, token_prefix=token_prefix)
        for client_id, client_secret in (service_accounts or {}).items():
            self.oauth.add_client(client_id, client_secret)
        if org_id is not None and not OBJECT_ID.fullmatch(org_id):
            raise ValueError("org_id must be a 24-hex organization id")
        if default_state not in ("STAGED", "ACTIVATED"):
            raise ValueError("default_state must be STAGED or ACTIVATED")
        self._api_key = api_key.encode()
        self.org_id = org_id
        self.default_state = default_state
        self._writes: Counter[str] = Counter()
        self._clock: datetime | None = None  # None: real time
        self.job_runs: list[dict[str, Json]] = []  # the scheduled jobs that ran, in order
        self._reset_directory()
        self.route("GET", r"/api/systemusers", self._guard(self._list))
        self.route("POST", r"/api/systemusers", self._guard(self._create))
        self.route("GET", r"/api/systemusers/([^/]+)", self._guard(self._get))
        self.route("PUT", r"/api/systemusers/([^/]+)", self._guard(self._update))
        self.route("DELETE", r"/api/systemusers/([^/]+)", self._guard(self._delete))
        self.route("POST", r"/api/systemusers/([^/]+)/state/suspend", self._guard(self._suspend))
        self.route("POST", r"/api/systemusers/([^/]+)/state/activate", self._guard(self._activate))
        self.route("POST", r"/api/search/systemusers", self._guard(self._search))
        self.route("POST", TOKEN_PATH, self.oauth.grant)
        self.route("POST", r"/_emulator/service-accounts", self._control_service_accounts)
        self.route("GET", r"/api/v2/bulk/userstates", self._guard(self._jobs_list))
        self.route("POST", r"/api/v2/bulk/userstates", self._guard(self._jobs_create))
        self.route("DELETE", r"/api/v2/bulk/userstates/([^/]+)", self._guard(self._jobs_delete))
        self.route("POST", r"/api/systemusers/([^/]+)/resetmfa", self._guard(self._reset_mfa))
        self.route("POST", r"/api/systemusers/([^/]+)/expire", self._guard(self._expire))
        for method, pattern, handler in (
            ("GET", r"", self._groups_list),
            ("POST", r"", self._groups_create),
            ("GET", r"/([^/]+)", self._groups_get),
            ("PUT", r"/([^/]+)", self._groups_update),
            ("DELETE", r"/([^/]+)", self._groups_delete),
            ("GET", r"/([^/]+)/members", self._members_list),
            ("POST", r"/([^/]+)/members", self._members_change),
        ):
            self.route(method, rf"/api/v2/usergroups{pattern}", self._guard(handler))
        self.route("GET", r"/_emulator/groups", self._control_groups)
        self.route("POST", r"/_emulator/groups", self._guard(self._control_add_groups))
        self.route("GET", r"/_emulator/jobs", self._control_jobs)
        self.route("POST", r"/_emulator/clock", self._guard(self._control_clock))
        self.route("GET", r"/_emulator/users", self._control_users)
        self.route("POST", r"/_emulator/users", self._guard(self._control_add))
        self.route("POST", r"/_emulator/reset", self._control_reset)

    # -- Python-side API for tests ------------------------------------------------------------

    def add_user(self, **fields: Json) -> dict[str, Json]:
        """Create a user as POST would (same validation); no auth, faults or log entry."""
        with self.lock:
            user = self._insert(_json_copy(fields))
            return self._copy(user["_id"])

    def users(self) -> list[dict[str, Json]]:
        """Copies of every user, in `_id` order (after running the jobs whose time came)."""
        with self.lock:
            self.run_due_jobs()
            return [self._copy(user_id) for user_id in self._order]

    def get_user(self, user_id: str) -> dict[str, Json] | None:
        """A copy of one user, or None (after running the jobs whose time came)."""
        with self.lock:
            self.run_due_jobs()
            return self._copy(user_id) if user_id in self._users else None

    # -- scheduled user states and the clock --------------------------------------------------

    def now(self) -> datetime:
        """The emulator's time (aware, UTC): the one set, else the real time."""
        with self.lock:
            return self._clock if self._clock is not None else datetime.now(UTC)

    def set_time(self, when: datetime) -> None:
        """Stop the emulator's clock at `when` (aware) and run the jobs whose time came."""
        if when.tzinfo is None:
            raise ValueError("when must be an aware datetime")
        with self.lock:
            self._clock = when.astimezone(UTC)
            self.run_due_jobs()

    def advance(self, delta: timedelta) -> None:
        """Move the emulator's clock on (from the real time when none is set)."""
        with self.lock:
            self.set_time(self.now() + delta)

    def use_real_time(self) -> None:
        """Let the emulator's clock follow the real time again."""
        with self.lock:
            self._clock = None
            self.run_due_jobs()

    def jobs(self, user_id: str | None = None) -> list[dict[str, Json]]:
        """The pending scheduled jobs (as the V2 list writes them), in creation order."""
        with self.lock:
            self.run_due_jobs()
            return [job.json() for job in self._jobs.all() if user_id in (None, job.user_id)]

    def add_job(self, user_id: str, state: str, at: datetime) -> dict[str, Json]:
        """Store a job as given: no auth, faults, checks of the time or log entry."""
        with self.lock:
            self._require(user_id)
            return self._jobs.add(user_id, state, at).json()

    def run_due_jobs(self) -> int:
        """Run every job whose time has come (its user's state changes); return how many."""
        if not len(self._jobs):  # (the common case, read without the lock: a hint only)
            return 0
        with self.lock:
            due = self._jobs.take_due(self.now())
            for job in due:
                user = self._users.get(job.user_id)
                if user is None:
                    continue
                suspended = job.state == "SUSPENDED"
                self._replace(user, {**user, "state": job.state, "suspended": suspended})
                self.job_runs.append(job.json())
            return len(due)

    # -- user groups and credential actions (usergroups.py, credentials.py) ------------------

    def add_group(
        self, name: str, *, members: Iterable[str] = (), **fields: Json
    ) -> dict[str, Json]:
        """Create a user group as POST would (same checks; a dynamic one needs no memberQuery),
        with `members` (user ids) even when dynamic; no auth, faults or log entry."""
        with self.lock:
            body = _json_copy({"name": name, **fields})
            group = self._groups.seed(body, members, is_user=self._users.__contains__)
            return self._group_view(group.id)

    def groups(self) -> list[dict[str, Json]]:
        """Every group as the API writes it, plus `members` (user ids, in joining order)."""
        with self.lock:
            return [self._group_view(group.id) for group in self._groups.all()]

    def group(self, group_id: str) -> dict[str, Json] | None:
        """One group as `groups()` writes it, or None."""
        with self.lock:
            try:
                return self._group_view(group_id)
            except RefusedRequestError:
                return None

    def find_group(self, name: str) -> dict[str, Json] | None:
        """The group of this name (ignoring case, as names are unique), or None."""
        with self.lock:
            found = self._groups.find(name)
            return None if found is None else self._group_view(found.id)

    def set_group_members(self, group_id: str, user_ids: Iterable[str]) -> None:
        """Replace a group's members, dynamic or not (an administrator's or JumpCloud's hand)."""
        with self.lock:
            self._groups.set_members(group_id, user_ids, is_user=self._users.__contains__)

    def add_group_member(self, group_id: str, user_id: str) -> None:
        """Put one user in a group, as an administrator would (no error if already there)."""
        with self.lock:
            members = [*self._groups.require(group_id).members, user_id]
            self.set_group_members(group_id, members)

    def remove_group_member(self, group_id: str, user_id: str) -> None:
        """Take one user out of a group, as an administrator would (no error if not there)."""
        with self.lock:
            members = [m for m in self._groups.require(group_id).members if m != user_id]
            self.set_group_members(group_id, members)

    def delete_group(self, group_id: str) -> None:
        """Delete a group, as an administrator would."""
        with self.lock:
            self._groups.delete(group_id)

    def user_groups(self, user_id: str) -> list[str]:
        """The ids of the groups a user is a member of, in group id order."""
        with self.lock:
            return [group.id for group in self._groups.groups_of(user_id)]

    def credential_actions(self, user_id: str) -> dict[str, Json]:
        """What resetmfa and expire did to a user: `mfa_resets` (count), `last_mfa_reset`
        (`{"at", "body"}` or None), `password_expirations` (count), `password_expired` and
        `password_expired_at` (None unless expired now)."""
        with self.lock:
            return self._credentials.state(self._require(user_id))

    def find_users(self, **equals: Json) -> list[dict[str, Json]]:
        """Copies of the users whose fields equal every given value exactly (missing = None)."""
        with self.lock:
            candidates: Iterable[str] = self._order
            for name, value in equals.items():
                if name in _INDEXED and isinstance(value, str) and value:
                    owner = self._index[name].get(_index_key(name, value))
                    candidates = [owner] if owner is not None else []
                    break
            return [
                self._copy(user_id)
                for user_id in candidates
                if all(json_equal(self._users[user_id].get(k), v) for k, v in equals.items())
            ]

    def set_users(self, users: list[dict[str, Json]]) -> None:
        """Replace the directory (its groups go too). Items are validated like POST and may also
        carry response-only fields (`_id`, `created`, ...), e.g. a snapshot taken with `users()`."""
        with self.lock:
            self._reset_directory()
            try:
                for item in users:
                    user = self._insert(_json_copy(item), seeded=True)
                    self._user_json(user["_id"])  # serialise now, not on the first page read
                for user in self._users.values():  # a manager may come later in the list
                    self._check_manager(user, user["_id"])
            except ValueError:
                self._reset_directory()
                raise
            self._order.sort()

    def prewarm(self, fields: str) -> None:
        """Serialise every user's `fields` projection now (as a list with `fields` asks).

        A first full listing is then as fast as later ones: a benchmark measures the client,
        not the emulator filling its cache.
        """
        names = _parse_fields(fields)
        if names is None:
            return
        with self.lock:
            for user_id in self._order:
                self._projected_json(user_id, names)

    def clear(self) -> None:
        """Empty the directory: users, jobs, groups and credential records (the request log,
        faults and write counters stay)."""
        with self.lock:
            self._reset_directory()

    @property
    def user_count(self) -> int:
        """How many users the directory holds."""
        with self.lock:
            return len(self._users)

    @property
    def write_count(self) -> int:
        """Writes committed through the API since the last log reset (a write whose answer
        was then lost to a commit fault counts: its change is stored)."""
        with self.lock:
            return sum(self._writes.values())

    @property
    def writes(self) -> dict[str, int]:
        """Committed API writes by kind: create, update, delete, suspend, activate, schedule,
        cancel, resetmfa, expire, group_create, group_update, group_delete, member_add and
        member_remove."""
        with self.lock:
            return dict(self._writes)

    def set_api_key(self, api_key: str) -> None:
        """The API key accepted from now on (the old one is refused: rotated or revoked)."""
        self._api_key = api_key.encode()

    def counters(self) -> dict[str, Any]:
        """The base counters plus the directory size, pending jobs, groups, writes by kind and
        grants."""
        result = super().counters()
        with self.lock:
            result["users"] = len(self._users)
            result["jobs"] = len(self._jobs)
            result["groups"] = len(self._groups)
            result["writes"] = dict(self._writes)
        result["grants"] = self.oauth.grants
        return result

    def reset_log(self) -> None:
        """Forget the request log, the write counters and the grant counts (state stays)."""
        super().reset_log()
        with self.lock:
            self._writes.clear()
        self.oauth.reset_counts()

    # -- EmulatorApp hooks --------------------------------------------------------------------

    def dispatch(self, request: Request) -> tuple[Response | None, Fault | None]:
        """Serve one request, after running the scheduled jobs whose time has come."""
        if not request.path.startswith("/_emulator/"):
            self.run_due_jobs()
        return super().dispatch(request)

    def authenticate(self, request: Request) -> Response | None:
        """`x-api-key` must match, or a live Bearer token be sent (not both); with an `org_id`,
        `x-org-id` is required and must match. The token endpoint checks its own Basic auth."""
        if request.path == TOKEN_PATH:
            return None
        return self._credential_refusal(request) or self._org_refusal(request)

    def _org_refusal(self, request: Request) -> Response | None:
        """With an `org_id`: the answer to a missing or wrong `x-org-id`."""
        if self.org_id is None:
            return None
        org = request.headers.get("x-org-id")
        if not org:
            return error_response(401, "Unauthorized: x-org-id is required for this key")
        if not OBJECT_ID.fullmatch(org):
            return error_response(400, "x-org-id is not a valid organization id")
        if org != self.org_id:
            return error_response(400, "x-org-id does not match an organization of this key")
        return None

    def _credential_refusal(self, request: Request) -> Response | None:
        """The answer to a request without a valid key or live token; None when it has one."""
        key = request.headers.get("x-api-key")
        bearer = request.headers.get("authorization")
        if key is not None and bearer is not None:
            return error_response(400, "send either x-api-key or Authorization, not both")
        if bearer is not None:
            refusal = self.oauth.bearer_refusal(bearer)
            return None if refusal is None else error_response(401, refusal)
        if key is None or not hmac.compare_digest(key.encode("utf-8", "replace"), self._api_key):
            return error_response(401, "Unauthorized")
        return None

    def is_write(self, request: Request) -> bool:
        """A search is a POST but changes nothing: commit faults never pick it."""
        return super().is_write(request) and not request.path.startswith("/api/search/")

    def fault_response(self, fault: Fault) -> Response:
        """Injected failures in JumpCloud's error shape (Retry-After kept from the base)."""
        generic = super().fault_response(fault)
        return error_response(
            generic.status, _REASONS.get(generic.status, "Error"), generic.headers
        )

    def not_found(self) -> Response:
        """An unknown route."""
        return error_response(404, "Not Found")

    # -- storage ------------------------------------------------------------------------------

    def _reset_directory(self) -> None:
        self._users: dict[str, dict[str, Json]] = {}
        self._order: list[str] = []  # ids, ascending
        self._index: dict[str, dict[str, str]] = {name: {} for name in _INDEXED}
        self._json: dict[str, bytes] = {}  # serialised users, filled on first read
        # Serialised `fields` projections, per projection: a full listing asks for the same
        # fields of every user on every page, run after run.
        self._projected: dict[tuple[str, ...], dict[str, bytes]] = {}
        self._views: OrderedDict[tuple[Any, ...], list[str]] = OrderedDict()
        self._next_object_id = FIRST_OBJECT_ID
        self._next_unix_id = FIRST_UNIX_ID
        self._jobs = JobBook()  # V2 scheduled user states
        self._groups = GroupBook()  # V2 user groups and their members
        self._credentials = CredentialBook()  # MFA resets and password expiries

    def _new_id(self) -> str:
        value = self._next_object_id
        self._next_object_id += 1
        return f"{value:024x}"

    def _copy(self, user_id: str) -> dict[str, Json]:
        result: dict[str, Json] = json.loads(self._user_json(user_id))
        return result

    def _group_view(self, group_id: str) -> dict[str, Json]:
        group = self._groups.require(group_id)
        return {**group.json(), "members": list(group.members)}

    def _user_json(self, user_id: str) -> bytes:
        cached = self._json.get(user_id)
        if cached is None:
            cached = json.dumps(self._users[user_id]).encode()
            self._json[user_id] = cached
        return cached

    def _changed(self, user_id: str) -> None:
        self._json.pop(user_id, None)
        for projected in self._projected.values():
            projected.pop(user_id, None)
        self._views.clear()

    def _projected_json(self, user_id: str, names: tuple[str, ...]) -> bytes:
        cache = self._projected.get(names)
        if cache is None:
            if len(self._projected) >= VIEW_CACHE_SIZE:
                self._projected.clear()
            cache = self._projected[names] = {}
        cached = cache.get(user_id)
        if cached is None:
            cached = cache[user_id] = json.dumps(_project(self._users[user_id], names)).encode()
        return cached

    def _index_add(self, user: dict[str, Json]) -> None:
        for name in _INDEXED:
            value = user.get(name)
            if isinstance(value, str) and value:
                self._index[name][_index_key(name, value)] = user["_id"]

    def _index_remove(self, user: dict[str, Json]) -> None:
        for name in _INDEXED:
            value = user.get(name)
            if isinstance(value, str) and value:
                self._index[name].pop(_index_key(name, value), None)

    def _check_unique(self, body: dict[str, Json], exclude: str | None) -> None:
        for name in _INDEXED:
            value = body.get(name)
            if not isinstance(value, str) or not value:
                continue
            owner = self._index[name].get(_index_key(name, value))
            if owner is not None and owner != exclude:
                raise _bad(f"User already exists: {_LABELS[name]} is already in use")

    def _check_manager(self, body: dict[str, Json], user_id: str | None) -> None:
        manager = body.get("manager")
        if manager is None:
            return
        if manager == user_id or manager not in self._users:
            raise _bad("manager must be the _id of another existing user")

    def _require(self, user_id: str) -> dict[str, Json]:
        user = self._users.get(user_id) if OBJECT_ID.fullmatch(user_id) else None
        if user is None:
            raise JumpCloudApiError(404, "User not found")
        return user

    def _store_field(self, user: dict[str, Json], name: str, value: Json) -> None:
        """Put one validated body field on a stored user (new objects only, never in place)."""
        if name == "password":  # never kept: only the fact that one was set
            user.update(
                password_date=_now_iso(), password_expired=False, password_expiration_date=None
            )
        elif name == "manager" and value is None:
            user.pop("manager", None)
        elif name in ("addresses", "phoneNumbers"):
            user[name] = [{**item, "id": item.get("id") or self._new_id()} for item in value]
        elif name == "mfa":
            user[name] = {"configured": False, "exclusion": False, **value}
        elif name == "recoveryEmail":
            user[name] = {**value, "verified": False}
        elif name == "ssh_keys":
            user[name] = [
                {"_id": self._new_id(), "create_date": _now_iso(), **item} for item in value
            ]
        else:
            user[name] = value

    def _insert(self, body: dict[str, Json], *, seeded: bool = False) -> dict[str, Json]:
        """Validate and store a new user (POST rules); `seeded` also takes response-only fields."""
        extra = {k: body.pop(k) for k in list(body) if k in SEED_ONLY_FIELDS} if seeded else {}
        _check_body(body, POST_FIELDS)
        for name in ("username", "email"):
            if name not in body:
                raise _bad(f"{name} is required")
        _check_identity(body)
        _check_custom_attributes(body)
        state, suspended = _state_on_create(
            body.get("state"), body.get("suspended"), self.default_state
        )
        self._check_unique(body, None)
        if not seeded:
            self._check_manager(body, None)
        user_id = self._seed_id(extra) if seeded else self._new_id()
        user: dict[str, Json] = {"_id": user_id, "id": user_id, **_fresh_defaults()}
        if "password" in body and "activated" not in body:
            user["activated"] = True
        for name, value in body.items():
            self._store_field(user, name, value)
        unix_uid = body.get("unix_uid") or self._next_unix_id
        self._next_unix_id = max(self._next_unix_id, unix_uid + 1)
        user.update(
            state=state,
            suspended=suspended,
            unix_uid=unix_uid,
            unix_guid=body.get("unix_guid") or unix_uid,
            created=_now_iso(),
            organization=self.org_id or DEFAULT_ORG_ID,
        )
        user.update(extra)
        self._users[user_id] = user
        self._order.append(user_id)
        self._index_add(user)
        self._changed(user_id)
        return user

    def _seed_id(self, extra: dict[str, Json]) -> str:
        given = extra.pop("_id", None) or extra.get("id")
        extra.pop("id", None)
        if given is None:
            return self._new_id()
        if not isinstance(given, str) or not OBJECT_ID.fullmatch(given) or given in self._users:
            raise _bad(f"seeded _id {given!r} is not a new 24-hex id")
        self._next_object_id = max(self._next_object_id, int(given, 16) + 1)
        return given

    def _update_user(self, user_id: str, body: dict[str, Json]) -> dict[str, Json]:
        """PUT: a partial update; only the given keys change, arrays are replaced whole."""
        current = self._require(user_id)
        if body.get("state") == "STAGED":
            raise _bad("state STAGED cannot be set on an existing user")
        _check_body(body, PUT_FIELDS)
        _check_identity(body)
        _check_custom_attributes(body)
        state, suspended = _state_on_update(
            current["state"], body.get("state"), body.get("suspended")
        )
        self._check_unique(body, user_id)
        self._check_manager(body, user_id)
        updated = dict(current)
        for name, value in body.items():
            self._store_field(updated, name, value)
        updated.update(state=state, suspended=suspended)
        self._replace(current, updated)
        return updated

    def _replace(self, current: dict[str, Json], updated: dict[str, Json]) -> None:
        self._index_remove(current)
        self._index_add(updated)
        self._users[updated["_id"]] = updated
        self._changed(updated["_id"])

    def _remove(self, user_id: str) -> None:
        user = self._users.pop(user_id)
        self._index_remove(user)
        position = bisect.bisect_left(self._order, user_id)
        del self._order[position]
        self._jobs.drop_user(user_id)
        self._groups.drop_user(user_id)
        self._credentials.drop_user(user_id)
        self._changed(user_id)

    # -- queries ------------------------------------------------------------------------------

    def _candidates(self, clause: Clause) -> list[str]:
        """Ids that may match, in `_id` order: an index look-up when the filter allows one."""
        parts = clause[1] if clause[0] == "all" else (clause,)
        for part in parts:
            name = part[1]
            if name not in _INDEXED:
                continue
            if part[0] == "op" and part[2] in ("$eq", "$in") and all(part[3]):
                terms = part[3]
            elif part[0] == "is" and isinstance(part[3], str) and part[3]:
                terms = (part[3],)
            else:
                continue
            found = {self._index[name].get(_index_key(name, term)) for term in terms}
            return sorted(user_id for user_id in found if user_id is not None)
        return self._order

    def _select(self, clause: Clause | None, sort: SortSpec) -> list[str]:
        """The matching ids in answer order; do not mutate (it may be the live `_id` list)."""
        if clause is None and sort in ((), (("_id", False),), (("id", False),)):
            return self._order
        key = (clause, sort)
        view = self._views.get(key)
        if view is not None:
            self._views.move_to_end(key)
            return view
        if clause is None:
            view = list(self._order)
        else:
            view = [i for i in self._candidates(clause) if matches(self._users[i], clause)]
        for name, descending in reversed(sort):  # stable sorts, last key first
            view.sort(key=lambda i: _sort_key(_resolve(self._users[i], name)), reverse=descending)
        self._views[key] = view
        if len(self._views) > VIEW_CACHE_SIZE:
            self._views.popitem(last=False)
        return view

    def _answer_list(
        self,
        clause: Clause | None,
        sort: SortSpec,
        names: tuple[str, ...] | None,
        page: tuple[int, int],
    ) -> Response:
        skip, limit = page
        with self.lock:
            view = self._select(clause, sort)
            window = view[skip : skip + limit]
            if names is None:
                parts = [self._user_json(user_id) for user_id in window]
            else:
                parts = [self._projected_json(i, names) for i in window]
            total = len(view)
        raw = b'{"totalCount": %d, "results": [%s]}' % (total, b", ".join(parts))
        return Response(200, raw=raw)

    # -- request plumbing ---------------------------------------------------------------------

    @staticmethod
    def _guard(handler: Any) -> Any:
        """Turn a `JumpCloudApiError` raised by a handler into JumpCloud's error answer."""

        def guarded(request: Request, *groups: str) -> Response:
            try:
                response: Response = handler(request, *groups)
            except (JumpCloudApiError, RefusedRequestError) as exc:
                return error_response(exc.status, exc.message)
            return response

        return guarded

    @staticmethod
    def _body(request: Request, *, optional: bool = False) -> dict[str, Json] | None:
        """The JSON object body; JumpCloud wants `Content-Type: application/json`."""
        if not request.body.strip():
            if optional:
                return None
            raise _bad("a JSON request body is required")
        content_type = request.headers.get("content-type", "")
        if "application/json" not in content_type.lower():
            raise JumpCloudApiError(415, "Content-Type must be application/json")
        try:
            body = json.loads(request.body)
        except ValueError:
            raise _bad("request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise _bad("request body must be a JSON object")
        return body

    # -- API routes ---------------------------------------------------------------------------

    def _list(self, request: Request) -> Response:
        if request.arg("search") is not None:
            raise _bad("the emulator serves searches on POST /api/search/systemusers only")
        page = _page(request.arg("limit"), request.arg("skip"))
        sort = _parse_sort(request.arg("sort"))
        names = _parse_fields(request.arg("fields"))
        return self._answer_list(query_filter(request), sort, names, page)

    def _search(self, request: Request) -> Response:
        body = self._body(request, optional=True) or {}
        unknown = sorted(set(body) - _SEARCH_BODY_KEYS)
        if unknown:
            raise _bad(f"unknown field '{unknown[0]}'")
        page = _page(request.arg("limit", body.get("limit")), request.arg("skip", body.get("skip")))
        sort = _parse_sort(request.arg("sort", body.get("sort")))
        names = _parse_fields(request.arg("fields", body.get("fields")))
        clauses = [query_filter(request)]
        if "filter" in body:
            clauses.append(body_filter(body["filter"]))
        if "searchFilter" in body:
            clauses.append(search_filter(body["searchFilter"]))
        clause = _combine("all", [c for c in clauses if c is not None])
        return self._answer_list(clause, sort, names, page)

    def _get(self, request: Request, user_id: str) -> Response:
        names = _parse_fields(request.arg("fields"))
        with self.lock:
            user = self._require(user_id)
            if names is not None:
                return Response(200, _project(user, names))
            return Response(200, raw=self._user_json(user_id))

    def _create(self, request: Request) -> Response:
        body = self._body(request) or {}
        with self.lock:
            user = self._insert(body)
            self._writes["create"] += 1
            return Response(200, raw=self._user_json(user["_id"]))

    def _update(self, request: Request, user_id: str) -> Response:
        body = self._body(request, optional=True) or {}
        with self.lock:
            self._update_user(user_id, body)
            self._writes["update"] += 1
            return Response(200, raw=self._user_json(user_id))

    def _delete(self, request: Request, user_id: str) -> Response:
        with self.lock:
            self._require(user_id)
            reports = [u for u in self._users.values() if u.get("manager") == user_id]
            if reports and "cascade_manager" not in request.query:
                raise JumpCloudApiError(
                    409, f"User is the manager of {len(reports)} users; pass cascade_manager"
                )
            for report in reports:
                self._replace(report, {k: v for k, v in report.items() if k != "manager"})
            answer = self._user_json(user_id)
            self._remove(user_id)
            self._writes["delete"] += 1
        return Response(200, raw=answer)

    def _suspend(self, request: Request, user_id: str) -> Response:
        if request.body.strip():
            raise _bad("the request body must be empty")
        with self.lock:
            user = self._require(user_id)
            if user["state"] == "SUSPENDED":
                raise JumpCloudApiError(409, "User is already SUSPENDED")
            self._replace(user, {**user, "state": "SUSPENDED", "suspended": True})
            self._writes["suspend"] += 1
        return Response(200)

    def _activate(self, request: Request, user_id: str) -> Response:
        body = self._body(request, optional=True) or {}
        unknown = sorted(set(body) - {"email"})
        if unknown:
            raise _bad(f"unknown field '{unknown[0]}'")
        email = body.get("email", True)
        if not isinstance(email, (bool, str)) or (
            isinstance(email, str) and not EMAIL.fullmatch(email)
        ):
            raise _bad("email must be true, false or an email address")
        with self.lock:
            user = self._require(user_id)
            if user["state"] != "STAGED":
                raise JumpCloudApiError(
                    409, f"User is {user['state']}: only a STAGED user can be activated here"
                )
            self._replace(user, {**user, "state": "ACTIVATED", "suspended": False})
            self._writes["activate"] += 1
        return Response(200)

    # -- V2 routes: scheduled user states (see userstates.py) --------------------------------

    def _jobs_list(self, request: Request) -> Response:
        with self.lock:
            page = self._jobs.page(
                limit=request.arg("limit"),
                skip=request.arg("skip"),
                userid=request.arg("userid"),
                filters=request.args("filter"),
            )
            return Response(200, [job.json() for job in page])

    def _jobs_create(self, request: Request) -> Response:
        body = self._body(request) or {}
        with self.lock:
            jobs = self._jobs.create(body, now=self.now(), is_user=self._users.__contains__)
            self._writes["schedule"] += 1
            return Response(201, [job.json() for job in jobs])

    def _jobs_delete(self, request: Request, job_id: str) -> Response:
        del request
        with self.lock:
            self._jobs.delete(job_id)
            self._writes["cancel"] += 1
        return Response(204)

    # -- V2 routes: user groups (see usergroups.py) ------------------------------------------

    def _groups_list(self, request: Request) -> Response:
        with self.lock:
            page = self._groups.page(
                limit=request.arg("limit"),
                skip=request.arg("skip"),
                filters=request.args("filter"),
                sort=request.args("sort"),
                fields=request.args("fields"),
            )
        return Response(200, page)

    def _groups_create(self, request: Request) -> Response:
        body = self._body(request) or {}
        with self.lock:
            group = self._groups.create(body)
            self._writes["group_create"] += 1
        return Response(201, group)

    def _groups_get(self, request: Request, group_id: str) -> Response:
        del request
        with self.lock:
            return Response(200, self._groups.get(group_id))

    def _groups_update(self, request: Request, group_id: str) -> Response:
        body = self._body(request) or {}
        with self.lock:
            group = self._groups.replace(group_id, body)
            self._writes["group_update"] += 1
        return Response(200, group)

    def _groups_delete(self, request: Request, group_id: str) -> Response:
        del request
        with self.lock:
            self._groups.delete(group_id)
            self._writes["group_delete"] += 1
        return Response(204)

    def _members_list(self, request: Request, group_id: str) -> Response:
        with self.lock:
            page = self._groups.members_page(
                group_id, limit=request.arg("limit"), skip=request.arg("skip")
            )
        return Response(200, page)

    def _members_change(self, request: Request, group_id: str) -> Response:
        body = self._body(request) or {}
        with self.lock:
            op = self._groups.change_member(group_id, body, is_user=self._users.__contains__)
            self._writes[f"member_{op}"] += 1
        return Response(204)

    # -- V1 routes: MFA reset and password expiry (see credentials.py) -----------------------

    def _reset_mfa(self, request: Request, user_id: str) -> Response:
        body = self._body(request, optional=True)
        with self.lock:
            user = self._require(user_id)
            self._replace(user, self._credentials.reset_mfa(user, body, self.now()))
            self._writes["resetmfa"] += 1
        return Response(200, raw=ANSWER)

    def _expire(self, request: Request, user_id: str) -> Response:
        if request.body.strip():
            raise _bad("the request body must be empty")
        with self.lock:
            user = self._require(user_id)
            self._replace(user, self._credentials.expire(user, self.now()))
            self._writes["expire"] += 1
        return Response(200, raw=ANSWER)

    # -- control routes (no auth, not logged) -------------------------------------------------

    def _control_jobs(self, request: Request) -> Response:
        del request
        return Response(200, self.jobs())

    def _control_clock(self, request: Request) -> Response:
        """`{"now": ISO 8601}`, `{"advance_seconds": n}` or `{"real_time": true}`."""
        try:
            body: Json = json.loads(request.body) if request.body.strip() else {}
        except ValueError:
            raise _bad("request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise _bad("send an object")
        if body.get("real_time"):
            self.use_real_time()
        elif "now" in body:
            try:
                when = datetime.fromisoformat(str(body["now"]))
            except ValueError:
                raise _bad("now must be an ISO 8601 date-time with an offset") from None
            if when.tzinfo is None:
                raise _bad("now must be an ISO 8601 date-time with an offset")
            self.set_time(when)
        elif "advance_seconds" in body:
            self.advance(timedelta(seconds=float(body["advance_seconds"])))
        return Response(200, {"now": self.now().isoformat()})

    def _control_users(self, request: Request) -> Response:
        """Every user, each with `_emulator`: its credential actions and group names."""
        del request
        with self.lock:
            users = self.users()
            for user in users:
                names = [group.name for group in self._groups.groups_of(user["_id"])]
                user["_emulator"] = {**self._credentials.state(user), "groups": names}
        return Response(200, users)

    def _control_add(self, request: Request) -> Response:
        items, many = _control_items(request, "a user object")
        added = [self.add_user(**item) for item in items]
        return Response(200, added if many else added[0])

    def _control_groups(self, request: Request) -> Response:
        del request
        return Response(200, self.groups())

    def _control_add_groups(self, request: Request) -> Response:
        """A group or a list: the POST body plus `members` (user ids)."""
        items, many = _control_items(request, "a group object")
        added = []
        for item in items:
            members = item.pop("members", [])
            if not isinstance(members, list):
                raise _bad("members must be a list of user ids")
            added.append(self.add_group(item.pop("name", None), members=members, **item))
        return Response(200, added if many else added[0])

    def _control_service_accounts(self, request: Request) -> Response:
        try:
            spec = json.loads(request.body) if request.body.strip() else {}
            if not isinstance(spec, dict):
                raise TypeError("send a JSON object")
            return Response(200, self.oauth.control(spec))
        except (ValueError, TypeError) as exc:
            return error_response(400, str(exc))

    def _control_reset(self, request: Request) -> Response:
        del request
        self.clear()
        self.faults.clear()
        self.faults.injected.clear()
        self.latency = 0.0
        with self.lock:
            self._clock = None
            self.job_runs.clear()
        self.reset_log()
        return Response(200, {"ok": True})
