"""A local emulator of Deel's REST API (`/rest/v2`), strict where Deel is strict or unclear.

It serves the people endpoints and the org-data lists tap-deel may read, with Deel's envelopes,
paging styles (record offsets for `/people` and `/managers`, opaque cursors for `/contracts`,
`/legal-entities` and `/groups`), error shapes, bearer-token scopes and Deel's header-less rate
limit. Where Deel's behaviour is not documented the emulator takes the stricter reading, so code
that works here also works against Deel.

Choices the docs leave open (see the repo's Deel notes):
- `GET /people` without `limit` returns 50 rows; `page.items_per_page` echoes the limit in effect.
- Default order is insertion order; `sort_by` sorts stably, nulls last ascending, first descending.
- `search` ("name or email") keeps the people whose `full_name` or any of their addresses
  (`emails[]`, and each employment's `email` and `work_email`) contains the text, ignoring case:
  a substring, so `ann@x.com` also finds `joann@x.com`, and every profile of a re-hire. It is
  paged, counted and combined with the other filters like the plain list; empty is no filter.
- The rate limit is a rolling one-second window per organisation (Deel counts per organisation,
  shared by all its tokens; every token here belongs to the one organisation). Only accepted
  requests count: a 429 does not extend the wait, and neither do 401/403 or injected faults.
"""

from __future__ import annotations

import base64
import binascii
import collections
import itertools
import json
import re
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

from tests.emulators.base import EmulatorApp, Fault, Request, Response
from tests.emulators.deel_webhooks import WebhookHub
from tests.emulators.workforce import (
    Workforce,
    all_emails_of,
    derive_contracts,
    derive_managers,
    generate_workforce,
    new_hire,
    now_stamp,
    primary_employment,
    promote,
    terminate,
    transfer,
    work_email_of,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    Person = dict[str, Any]

API = "/rest/v2"
SUPPORTED_VERSIONS = frozenset({"2026-01-01"})
RATE_LIMIT_BODY = {
    "error": "Rate limit exceeded",
    "status": 429,
    "message": "Too many requests. Please wait before retrying.",
}
_UUID_RE = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
_INT_RE = re.compile(r"-?\d+")

HIRING_STATUSES = frozenset(
    {
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
    }
)
HIRING_TYPES = frozenset(
    {
        "contractor",
        "eor",
        "peo",
        "hris_direct_employee",
        "hris_direct_contractor",
        "direct_employee",
        "contractor_outside_deel",
        "person_without_contract",
    }
)
PERSON_STATUSES = frozenset({"ACTIVE", "OFFBOARDING", "NOT_STARTED", "INACTIVE"})
SORT_FIELDS = (
    "id",
    "first_name",
    "last_name",
    "full_name",
    "email",
    "country",
    "birth_date",
    "hiring_type",
    "start_date",
    "team",
    "job_title",
    "hiring_status",
    "completion_date",
    "direct_manager",
    "direct_reports_count",
    "band_placement",
    "comparative_ratio",
)
# The `fields` values Deel accepts on GET /people (everything else is a 400).
# fmt: off
_TOP_FIELDS = (
    "id", "first_name", "last_name", "full_name", "display_name", "preferred_name",
    "preferred_first_name", "preferred_last_name", "personal_id", "country", "country_name",
    "state", "email", "personal_email", "work_email", "phoneNumbers", "nationalities",
    "personal_address", "addresses", "pic_url", "birth_date", "nestedCustomFields", "start_date",
    "hris_original_start_date", "worker_id", "external_id", "direct_reports",
    "direct_reports_count", "direct_manager", "work_location", "custom_fields",
    "new_hiring_status", "hiring_status", "job_title", "seniority", "custom_field_values",
    "worker_relations", "timezone", "employments", "direct_employee_termination_state",
    "is_user_contract_deleted", "orgStructures", "ooo", "is_ended", "hris_service_provider",
    "contract_types", "contract_coverage", "payments", "pay_date", "nextPayment", "lastPayment",
    "hourly_report_total", "monthly_payment", "hris_is_active", "department", "currency",
    "contract_is_archived", "termination_last_day", "completion_date", "hiring_type",
    "worker_entity_name", "client_legal_entity", "parent_relations", "child_relations",
    "worker_termination_last_date_of_work", "active_worker_termination_status", "org_structures",
)
_EMPLOYMENT_FIELDS = (
    "id", "name", "start_date", "job_title", "hiring_status", "new_hiring_status", "seniority",
    "email", "work_email", "employee_number", "hiring_type", "team", "timezone",
    "client_legal_entity", "payment", "country", "state", "contract_status", "contract_type",
    "hris_service_provider", "hris_direct_employee_invitation", "voluntarily_left",
    "has_eor_termination", "contract_is_archived", "completion_date", "contract_has_contractor",
    "is_ended", "is_user_contract_deleted", "contract_coverage", "currency", "is_amending",
    "client_legal_entity_id", "is_eor_consultant_contract", "is_interview_process_required",
    "contract_timezone", "amendment_status", "pay_date", "termination_last_day",
    "custom_field_values", "hris_is_active", "isPrimary", "compensation_band_id", "band_placement",
    "comparative_ratio",
)
# fmt: on
PEOPLE_FIELDS = frozenset(_TOP_FIELDS) | {f"employments[0].{key}" for key in _EMPLOYMENT_FIELDS}
CONTRACT_TYPES = frozenset(
    {
        "ongoing_time_based",
        "milestones",
        "time_based",
        "pay_as_you_go_time_based",
        "commission",
        "payg_milestones",
        "payg_tasks",
        "eor",
        "unknown",
        "peo",
        "employee",
        "global_payroll",
        "shield_msa",
        "hris_direct_employee",
        "contractor_outside_deel",
    }
)
# The query key of a plain, unfiltered and unsorted `GET /people`.
_NO_QUERY: tuple[Any, ...] = (frozenset(), frozenset(), frozenset(), frozenset(), "", None, "asc")
# Fields the single-person endpoint does not carry (Deel's schema for it omits them).
_NOT_ON_DETAIL = ("person_status", "is_pwac", "hris_organization_user_id")
# Employment fields the single-person endpoint does not carry either.
_EMPLOYMENT_NOT_ON_DETAIL = ("band_placement", "comparative_ratio", "compensation_band_id")

# Which token scopes each route needs (any one of them), by path regex under /rest/v2.
SCOPES: tuple[tuple[re.Pattern[str], frozenset[str]], ...] = tuple(
    (re.compile(API + pattern), frozenset(scopes))
    for pattern, scopes in (
        (r"/people/me/?", {"people:read", "worker:read"}),
        (r"/people(/[^/]+)?/?", {"people:read"}),
        (r"/contracts/?", {"contracts:read"}),
        (r"/legal-entities/?", {"organizations:read", "accounting:read"}),
        (r"/groups/?", {"groups:read"}),
        (
            r"/(teams|departments|organizations|working-locations|managers)/?",
            {"organizations:read"},
        ),
    )
)
ALL_SCOPES = frozenset().union(*(scopes for _p, scopes in SCOPES))


class ParamError(ValueError):
    """A bad query parameter: becomes a 400 naming the parameter in `path`."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON, as Deel's servers send it."""
    return _ENCODER.encode(value).encode()


def _encode_cursor(index: int) -> str:
    return base64.urlsafe_b64encode(f"next:{index}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, name: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    prefix, _, number = text.partition(":")
    if prefix != "next" or not number.isdigit():
        raise ParamError(name, f'"{name}" is not a valid cursor')
    return int(number)


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.arg(name)
    if raw is None:
        return default
    if not _INT_RE.fullmatch(raw.strip()):
        raise ParamError(name, f'"{name}" must be an integer')
    value = int(raw)
    if not low <= value <= high:
        raise ParamError(name, f'"{name}" must be between {low} and {high}')
    return value


def _bool_param(request: Request, name: str, *, default: bool) -> bool:
    raw = request.arg(name)
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered not in ("true", "false"):
        raise ParamError(name, f'"{name}" must be a boolean')
    return lowered == "true"


def _enum_param(
    request: Request, name: str, allowed: Iterable[str], default: str | None = None
) -> str | None:
    raw = request.arg(name, default)
    if raw is not None and raw not in allowed:
        raise ParamError(name, f'"{name}" must be one of [{", ".join(sorted(allowed))}]')
    return raw


def _enum_list(request: Request, name: str, allowed: frozenset[str]) -> set[str]:
    values = request.args(name)
    for value in values:
        if value not in allowed:
            raise ParamError(name, f'"{name}" contains an invalid value: {value!r}')
    return set(values)


def _sort_key(field: str) -> Callable[[Person], Any]:
    """A key for `sort_by=field`: (is-null, value) so nulls sort last ascending."""

    def text(value: Any) -> tuple[bool, Any]:
        if value is None or value == "":
            return (True, "")
        if isinstance(value, str):
            return (False, value.casefold())
        return (False, value)

    if field == "email":
        return lambda p: text(work_email_of(p))
    if field == "team":
        return lambda p: text(((primary_employment(p) or {}).get("team") or {}).get("name"))
    if field == "direct_manager":

        def manager(p: Person) -> tuple[bool, Any]:
            m = p.get("direct_manager") or {}
            return text(f"{m.get('first_name', '')} {m.get('last_name', '')}".strip())

        return manager
    if field in ("band_placement", "comparative_ratio"):
        return lambda p: text((primary_employment(p) or {}).get(field))
    return lambda p: text(p.get(field))


def _project(person: Person, fields: list[str]) -> dict[str, Any]:
    """Deel's `fields` projection: the named keys only (`employments[0].x` keeps `x` per item)."""
    out: dict[str, Any] = {}
    employment_keys = [f.split(".", 1)[1] for f in fields if f.startswith("employments[0].")]
    for name in fields:
        if name.startswith("employments[0]."):
            continue
        if name == "work_email":
            out[name] = work_email_of(person)
        elif name in ("email", "personal_email"):
            kind = "primary" if name == "email" else "personal"
            out[name] = next(
                (e.get("value") for e in person.get("emails") or [] if e.get("type") == kind), None
            )
        elif name == "display_name":
            out[name] = person.get("full_name")
        elif name in person:
            out[name] = person[name]
    if employment_keys and "employments" not in fields:
        out["employments"] = [
            {k: e[k] for k in employment_keys if k in e} for e in person.get("employments") or []
        ]
    return out


class DeelEmulator(EmulatorApp):
    """Deel's `/rest/v2` people and org endpoints over a generated or hand-made workforce.

    State is changed from Python (`set_workforce`, `add_person`, `update_person`, ...) or over
    the unauthenticated `/_emulator/...` control routes; both are thread-safe.
    """

    name = "deel-emulator"

    def __init__(
        self,
        *,
        token: str = "deel-test-token",  # noqa: S107 - the emulator's well-known test token
        workforce: Workforce | None = None,
        rate_limit: bool = True,
        rate_limit_per_second: int = 5,
        scopes: set[str] | None = None,
    ) -> None:
        super().__init__()
        self.tokens: dict[str, frozenset[str] | None] = {}
        self.add_token(token, scopes)
        self.rate_limit_enabled = rate_limit
        self.rate_limit_per_second = rate_limit_per_second
        self._window: collections.deque[float] = collections.deque()
        self._window_lock = threading.Lock()
        self._req_ids = itertools.count(1)
        self._people: list[Person] = []
        self._by_id: dict[str, Person] = {}
        self._json_cache: dict[str, tuple[Any, bytes]] = {}
        self._queries: dict[tuple[Any, ...], list[Person]] = {}
        self._derived: dict[str, list[dict[str, Any]]] = {}
        self.version = 0  # bumped on every change of the people
        # Deel's webhooks: changes to people are delivered to subscriptions (none at first).
        self.webhooks = WebhookHub()
        self.workforce = workforce or generate_workforce(0, 0)
        self.me: dict[str, Any] = {}
        self.set_workforce(self.workforce)

        get = "GET"
        for path, handler in (
            ("/people/?", self._list_people),
            ("/people/me/?", self._get_me),
            ("/people/([^/]+)/?", self._get_one_person),
            ("/contracts/?", self._list_contracts),
            ("/legal-entities/?", self._list_legal_entities),
            ("/groups/?", self._list_groups),
            ("/teams/?", lambda _r: self._plain_list(self.workforce.teams)),
            ("/departments/?", lambda _r: self._plain_list(self.workforce.departments)),
            ("/working-locations/?", lambda _r: self._plain_list(self.workforce.working_locations)),
            ("/organizations/?", lambda _r: self._plain_list(self.workforce.organizations)),
            ("/managers/?", self._list_managers),
        ):
            self.route(get, API + path, handler)
        self.route("GET", "/_emulator/people", self._ctl_list)
        self.route("POST", "/_emulator/people", self._ctl_add)
        self.route("GET", "/_emulator/people/([^/]+)", self._ctl_get)
        self.route("PATCH", "/_emulator/people/([^/]+)", self._ctl_patch)
        self.route("DELETE", "/_emulator/people/([^/]+)", self._ctl_delete)
        self.route(
            "POST", "/_emulator/people/([^/]+)/(promote|transfer|terminate)", self._ctl_action
        )
        self.route("POST", "/_emulator/workforce", self._ctl_workforce)
        self.route("POST", "/_emulator/rate-limit", self._ctl_rate_limit)
        self.webhooks.install(self, API)

    # -- state, from Python ------------------------------------------------------------------

    def add_token(self, token: str, scopes: Iterable[str] | None = None) -> None:
        """Accept another bearer token of the same organisation (`None` scopes = all scopes)."""
        self.tokens[token] = None if scopes is None else frozenset(scopes)

    def set_workforce(self, workforce: Workforce) -> None:
        """Serve this workforce: its people (the same dicts, in order) and its org data."""
        with self.lock:
            self.workforce = workforce
            self._people = list(workforce.people)
            self._by_id = {p["id"]: p for p in self._people}
            if len(self._by_id) != len(self._people):
                raise ValueError("duplicate person ids in the workforce")
            self._json_cache.clear()
            org = workforce.organizations[0] if workforce.organizations else {"name": "Acme"}
            self.webhooks.organization_name = org["name"]
            self.me = {
                "id": 1_000_001,
                "email": f"it-admin@{workforce.domain}",
                "user_id": 2_000_001,
                "username": "it-admin",
                "full_name": "Avery Admin",
                "first_name": "Avery",
                "last_name": "Admin",
                "middle_name": None,
                "avatar_url": None,
                "hris_enabled": True,
                "profile_type": "client",
                "slack_team_id": None,
                "slack_user_id": None,
                "client_country": "US",
                "contractor_country": None,
                "organization_id": 90_001,
                "organization_name": org["name"],
                "hris_organization_user_id": str(
                    uuid.UUID(int=workforce.seed % 2**64 + 1, version=4)
                ),
            }
            self._changed()

    @property
    def people(self) -> list[Person]:
        """The people in serving order (the live dicts: change them via `update_person`)."""
        with self.lock:
            return list(self._people)

    def get_person(self, person_id: str) -> Person | None:
        """The live person dict with this id, or None."""
        with self.lock:
            return self._by_id.get(person_id)

    def add_person(self, person: Person) -> Person:
        """Append a person (a dict in the `GET /people` shape); its id must be new."""
        with self.lock:
            if person.get("id") in self._by_id:
                raise ValueError(f"person {person.get('id')!r} already exists")
            if not person.get("id"):
                raise ValueError("a person needs an id")
            self._people.append(person)
            self._by_id[person["id"]] = person
            self._changed()
            self.webhooks.emit("worker.v2.created", {"id": person["id"]})
            return person

    def update_person(self, person_id: str, **changes: Any) -> Person:
        """Merge top-level `changes` into the person and bump `updated_at` (unless given).

        Call it with no changes after editing a person dict in place (e.g. with
        `workforce.promote`) so the emulator re-serialises it.
        """
        with self.lock:
            person = self._by_id[person_id]
            if "id" in changes and changes["id"] != person_id:
                raise ValueError("a person's id cannot change")
            person.update(changes)
            if "updated_at" not in changes:
                person["updated_at"] = now_stamp()
            self._json_cache.pop(person_id, None)
            self._changed()
            self.webhooks.emit("worker.v2.updated", {"id": person_id})
            return person

    def terminate_person(self, person_id: str, *, last_day: str | None = None) -> Person:
        """Complete the person's termination, as HR does in Deel.

        Every contract still running ends (`workforce.terminate`); subscribers get
        `worker.v2.updated` for the person and `contract.terminated` for each contract.
        """
        with self.lock:
            person = self._by_id[person_id]
            running = [e for e in person.get("employments") or [] if not e.get("is_ended")]
            terminate(person, last_day=last_day)
            self.update_person(person_id)
            for employment in running:
                self.webhooks.emit(
                    "contract.terminated",
                    {
                        "id": employment["id"],
                        "completion_date": str(employment.get("termination_last_day"))[:10],
                    },
                )
            return person

    def remove_person(self, person_id: str) -> Person:
        """Delete a person from the emulated org (KeyError when unknown)."""
        with self.lock:
            person = self._by_id.pop(person_id)
            self._people = [p for p in self._people if p is not person]
            self._json_cache.pop(person_id, None)
            self._changed()
            self.webhooks.emit("worker.v2.deleted", {"id": person_id})
            return person

    def hire(self, first: str, last: str, seed: int = 0, **options: Any) -> Person:
        """Generate a new hire consistent with the current people and add it."""
        with self.lock:
            person = new_hire(self._hire_base(), first, last, seed, **options)
            return self.add_person(person)

    def prewarm(self, chunk: int = 500) -> None:
        """Serialise every person now, so that a first full read is as fast as later ones.

        Works in chunks (taking the lock briefly for each) so it can run in a background thread
        while requests are served.
        """
        start = 0
        while True:
            with self.lock:
                batch = self._people[start : start + chunk]
                for person in batch:
                    self._person_json(person)
            if len(batch) < chunk:
                return
            start += chunk

    def reset_rate_limit(self) -> None:
        """Forget the requests counted in the current window."""
        with self._window_lock:
            self._window.clear()

    def _hire_base(self) -> Workforce:
        wf = self.workforce
        return Workforce(
            self._people,
            wf.legal_entities,
            wf.departments,
            wf.teams,
            wf.groups,
            wf.working_locations,
            wf.organizations,
            wf.domain,
            wf.seed,
        )

    def _changed(self) -> None:
        self.version += 1
        self._queries.clear()
        self._derived.clear()

    def _person_json(self, person: Person) -> bytes:
        """The person's cached JSON (re-made when invalidated or `updated_at` moved)."""
        stamp = person.get("updated_at")
        cached = self._json_cache.get(person["id"])
        if cached is not None and cached[0] == stamp:
            return cached[1]
        raw = _dumps(person)
        self._json_cache[person["id"]] = (stamp, raw)
        return raw

    def _derive(self, name: str) -> list[dict[str, Any]]:
        found = self._derived.get(name)
        if found is None:
            found = (
                derive_contracts(self._people)
                if name == "contracts"
                else (derive_managers(self._people))
            )
            self._derived[name] = found
        return found

    # -- hooks of the base ---------------------------------------------------------------------

    def authenticate(self, request: Request) -> Response | None:
        """Bearer token, X-Version and scope checks, in Deel's ApiErrorContainer shape."""
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if not header:
            return self._error(request, 401, "Authorization header is missing")
        if scheme.lower() != "bearer" or token.strip() not in self.tokens:
            return self._error(request, 401, "Invalid or expired token")
        version = request.headers.get("x-version")
        if version is not None and version not in SUPPORTED_VERSIONS:
            return self._error(
                request, 400, f"Unsupported API version: {version}", path="X-Version"
            )
        needed = self._scopes_needed(request.path)
        granted = self.tokens[token.strip()]
        if granted is None or needed is None or granted & needed:
            return None
        message = "Insufficient scope: this endpoint needs " + " or ".join(sorted(needed))
        return self._error(request, 403, message)

    @staticmethod
    def _scopes_needed(path: str) -> frozenset[str] | None:
        """The scopes (any one of them) a path needs; None for paths outside the API."""
        for pattern, needed in SCOPES:
            if pattern.fullmatch(path):
                return needed
        return None

    def rate_limit(self, request: Request) -> Response | None:
        """A rolling one-second window; over it, Deel's 429 body and no rate-limit headers."""
        del request
        if not self.rate_limit_enabled:
            return None
        now = time.monotonic()
        with self._window_lock:
            while self._window and now - self._window[0] >= 1.0:
                self._window.popleft()
            if len(self._window) >= self.rate_limit_per_second:
                return Response(429, dict(RATE_LIMIT_BODY))
            self._window.append(now)
        return None

    def fault_response(self, fault: Fault) -> Response:
        """Injected faults in Deel's shapes: its 429 body, and `{"error": {...}}` for 5xx."""
        if fault.kind.startswith("429"):
            headers = (
                {"Retry-After": f"{fault.seconds:g}"} if fault.kind == "429_retry_after" else {}
            )
            return Response(429, dict(RATE_LIMIT_BODY), headers)
        status = int(fault.kind[-3:])
        code, message = {
            500: ("internal_server_error", "Something went wrong"),
            502: ("bad_gateway", "Bad gateway"),
            503: ("service_unavailable", "Service temporarily unavailable"),
        }.get(status, ("error", "Error"))
        return Response(status, {"error": {"code": code, "message": message, "details": None}})

    def not_found(self) -> Response:
        """Unknown routes: Deel's short error form."""
        return Response(404, {"errors": [{"message": "path not found"}]})

    def _error(
        self, request: Request, status: int, message: str, path: str | None = None
    ) -> Response:
        """An ApiErrorContainer body, as Deel sends for 400/401/403/404."""
        query = "&".join(f"{k}={v}" for k, values in request.query.items() for v in values)
        error: dict[str, Any] = {"message": message}
        if path is not None:
            error["path"] = path
        return Response(
            status,
            {
                "request": {
                    "method": request.method,
                    "url": request.path + (f"?{query}" if query else ""),
                    "status": status,
                    "api_req_id": f"emu-{next(self._req_ids):012x}",
                    "docs": "https://developer.deel.com/docs",
                    "source": "api",
                    "code": status,
                },
                "errors": [error],
            },
        )

    def _guarded(self, request: Request, serve: Callable[[], Response]) -> Response:
        try:
            return serve()
        except ParamError as exc:
            return self._error(request, 400, exc.message, path=exc.path)

    # -- /people ---------------------------------------------------------------------------------

    def _list_people(self, request: Request) -> Response:
        return self._guarded(request, lambda: self._people_page(request))

    def _people_page(self, request: Request) -> Response:
        offset = _int_param(request, "offset", 0, 0, 999_999_999)
        limit = _int_param(request, "limit", 50, 1, 200)
        statuses = _enum_list(request, "hiring_statuses", HIRING_STATUSES)
        types = _enum_list(request, "hiring_types", HIRING_TYPES)
        person_statuses = _enum_list(request, "person_statuses", PERSON_STATUSES)
        teams = set(request.args("teams"))
        for team in teams:
            if not _UUID_RE.fullmatch(team):
                raise ParamError("teams", f'"teams" must contain uuids, got {team!r}')
        search = (request.arg("search") or "").strip().casefold()
        sort_by = _enum_param(request, "sort_by", SORT_FIELDS)
        sort_order = _enum_param(request, "sort_order", ("asc", "desc"), "asc")
        fields = request.args("fields")
        for name in fields:
            if name not in PEOPLE_FIELDS:
                raise ParamError("fields", f'"fields" contains an invalid value: {name!r}')

        key = (
            frozenset(statuses),
            frozenset(types),
            frozenset(person_statuses),
            frozenset(teams),
            search,
            sort_by,
            sort_order,
        )
        with self.lock:
            rows = self._people if key == _NO_QUERY else self._query(key)
            total = len(rows)
            window = rows[offset : offset + limit]
            if fields:
                chunks = [_dumps(_project(p, fields)) for p in window]
            else:
                chunks = [self._person_json(p) for p in window]
        page = _dumps({"offset": offset, "total_rows": total, "items_per_page": limit})
        return Response(200, raw=b'{"data":[' + b",".join(chunks) + b'],"page":' + page + b"}")

    def _query(self, key: tuple[Any, ...]) -> list[Person]:
        """The filtered and sorted people for one query; cached until the people change."""
        cached = self._queries.get(key)
        if cached is not None:
            return cached
        statuses, types, person_statuses, teams, search, sort_by, sort_order = key
        rows = []
        for p in self._people:
            if statuses and p.get("hiring_status") not in statuses:
                continue
            if types and p.get("hiring_type") not in types:
                continue
            if person_statuses and p.get("person_status") not in person_statuses:
                continue
            if teams and not any(
                ((e.get("team") or {}).get("id")) in teams for e in p.get("employments") or []
            ):
                continue
            if (
                search
                and search not in (p.get("full_name") or "").casefold()
                and not any(search in email.casefold() for email in all_emails_of(p))
            ):
                continue
            rows.append(p)
        if sort_by:
            rows.sort(key=_sort_key(sort_by), reverse=sort_order == "desc")
        if len(self._queries) > 32:
            self._queries.clear()
        self._queries[key] = rows
        return rows

    def _get_me(self, request: Request) -> Response:
        del request
        return Response(200, dict(self.me))

    def _get_one_person(self, request: Request, person_id: str) -> Response:
        """`GET /people/{hris_profile_id}`: the person in Deel's detail shape, under `data`.

        The detail schema lacks a few list fields (`_NOT_ON_DETAIL`, and the employments'
        band fields) and adds `custom_fields` and `profile_organizational_structures`. Its
        two boolean flags are checked like every boolean parameter.
        """
        if not _UUID_RE.fullmatch(person_id):
            return self._error(
                request, 400, '"hris_profile_id" must be a valid uuid', path="hris_profile_id"
            )
        try:
            _bool_param(request, "include_custom_fields", default=False)
            _bool_param(request, "include_worker_relations", default=False)
        except ParamError as exc:
            return self._error(request, 400, exc.message, path=exc.path)
        with self.lock:
            person = self._by_id.get(person_id)
            if person is None:
                return self._error(request, 404, "Person not found")
            detail = {k: v for k, v in person.items() if k not in _NOT_ON_DETAIL}
            if isinstance(detail.get("employments"), list):
                detail["employments"] = [
                    {k: v for k, v in e.items() if k not in _EMPLOYMENT_NOT_ON_DETAIL}
                    if isinstance(e, dict)
                    else e
                    for e in detail["employments"]
                ]
            detail["custom_fields"] = []
            detail["profile_organizational_structures"] = []
            return Response(200, raw=b'{"data":' + _dumps(detail) + b"}")

    # -- cursor-paged lists ----------------------------------------------------------------------

    def _list_contracts(self, request: Request) -> Response:
        try:
            return self._contracts_page(request)
        except ParamError as exc:  # /contracts has its own, shorter 400 shape
            return Response(
                400,
                {
                    "errors": [{"message": exc.message}],
                    "request": {"method": request.method, "status": 400},
                },
            )

    def _contracts_page(self, request: Request) -> Response:
        limit = _int_param(request, "limit", 50, 1, 99)
        cursor = request.arg("after_cursor")
        start = _decode_cursor(cursor, "after_cursor") if cursor else 0
        direction = _enum_param(request, "order_direction", ("asc", "desc"), "asc")
        sort_by = _enum_param(request, "sort_by", ("contract_title", "worker_name"))
        types = _enum_list(request, "types", CONTRACT_TYPES)
        statuses = set(request.args("statuses"))
        team_id = request.arg("team_id")
        external_id = request.arg("external_id")
        search = (request.arg("search") or "").casefold()
        with self.lock:
            rows = self._derive("contracts")
            if types or statuses or team_id or external_id or search:
                rows = [
                    c
                    for c in rows
                    if (not types or c["type"] in types)
                    and (not statuses or c["status"] in statuses)
                    and (not team_id or c["client"]["team"]["id"] == team_id)
                    and (not external_id or c["external_id"] == external_id)
                    and (
                        not search
                        or search in (c["title"] or "").casefold()
                        or search in (c["worker"]["full_name"] or "").casefold()
                    )
                ]
            if sort_by:
                field = "title" if sort_by == "contract_title" else "worker"
                rows = sorted(
                    rows,
                    key=lambda c: (
                        c["title"] if field == "title" else c["worker"]["full_name"] or ""
                    ).casefold(),
                )
            if direction == "desc":
                rows = rows[::-1]
            window = rows[start : start + limit]
            end = start + len(window)
            body = {
                "data": window,
                "page": {
                    "cursor": _encode_cursor(end) if end < len(rows) else "",
                    "total_rows": len(rows),
                },
            }
            return Response(200, raw=_dumps(body))

    def _list_legal_entities(self, request: Request) -> Response:
        def serve() -> Response:
            limit = _int_param(request, "limit", 100, 1, 100)
            cursor = request.arg("cursor")
            start = _decode_cursor(cursor, "cursor") if cursor else 0
            order = _enum_param(request, "sort_order", ("ASC", "DESC"), "ASC")
            archived = _bool_param(request, "include_archived", default=True)
            kind, country = request.arg("type"), request.arg("country")
            entity_id = request.arg("legal_entity_id")
            rows = [
                e
                for e in self.workforce.legal_entities
                if (archived or not e.get("archived_at"))
                and (not kind or e.get("entity_type") == kind)
                and (not country or e.get("country") == country)
                and (not entity_id or e.get("id") == entity_id)
            ]
            if order == "DESC":
                rows.reverse()
            window = rows[start : start + limit]
            end = start + len(window)
            return Response(
                200,
                {
                    "data": window,
                    "page": {"cursor": _encode_cursor(end) if end < len(rows) else None},
                },
            )

        return self._guarded(request, serve)

    def _list_groups(self, request: Request) -> Response:
        try:
            limit = _int_param(request, "limit", 100, 1, 100)
            cursor = request.arg("cursor")
            start = _decode_cursor(cursor, "cursor") if cursor else 0
            order = _enum_param(request, "sort_order", ("ASC", "DESC"), "ASC")
            archived = _bool_param(request, "include_archived_groups", default=True)
        except ParamError as exc:  # /groups answers a 400 with a bare message
            return Response(400, {"message": exc.message})
        rows = [g for g in self.workforce.groups if archived or g.get("status") != "archived"]
        if order == "DESC":
            rows.reverse()
        window = rows[start : start + limit]
        end = start + len(window)
        return Response(
            200,
            {
                "data": window,
                "page": {
                    "cursor": _encode_cursor(end) if end < len(rows) else "",
                    "total_rows": len(rows),
                },
            },
        )

    # -- other lists -------------------------------------------------------------------------------

    def _plain_list(self, items: list[dict[str, Any]]) -> Response:
        with self.lock:
            return Response(200, {"data": list(items)})

    def _list_managers(self, request: Request) -> Response:
        def serve() -> Response:
            offset = _int_param(request, "offset", 0, 0, 999_999_999)
            limit = _int_param(request, "limit", 50, 1, 100)
            with self.lock:
                rows = self._derive("managers")
                return Response(
                    200,
                    {
                        "data": rows[offset : offset + limit],
                        "page": {
                            "offset": offset,
                            "total_rows": len(rows),
                            "items_per_page": limit,
                        },
                    },
                )

        return self._guarded(request, serve)

    # -- control routes (no auth) -------------------------------------------------------------

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        try:
            body = request.json()
        except ValueError as exc:
            raise ParamError("body", f"malformed JSON: {exc}") from exc
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise ParamError("body", "expected a JSON object")
        return body

    def _control(self, serve: Callable[[], Response]) -> Response:
        try:
            return serve()
        except ParamError as exc:
            return Response(400, {"message": exc.message})
        except KeyError as exc:
            return Response(404, {"message": f"not found: {exc}"})
        except (ValueError, TypeError) as exc:
            return Response(400, {"message": str(exc)})

    def _ctl_list(self, request: Request) -> Response:
        del request
        return Response(200, self.people)

    def _ctl_get(self, request: Request, person_id: str) -> Response:
        del request
        person = self.get_person(person_id)
        if person is None:
            return Response(404, {"message": f"no person {person_id}"})
        return Response(200, person)

    def _ctl_add(self, request: Request) -> Response:
        """Add people: full person objects (with `id`), or hire specs `{first_name, last_name,
        seed?, status?, hiring_type?, department?, team?, country?, with_work_email?}`; one
        object or a list of them.
        """

        def add_one(item: Any) -> Person:
            if not isinstance(item, dict):
                raise ParamError("body", "expected a JSON object or a list of objects")
            if "id" in item:
                return self.add_person(item)
            spec = dict(item)
            first, last = spec.pop("first_name", None), spec.pop("last_name", None)
            if not isinstance(first, str) or not isinstance(last, str):
                raise ParamError("body", "give a full person (with id) or first_name/last_name")
            seed = int(spec.pop("seed", self.version))
            return self.hire(first, last, seed, **spec)

        def serve() -> Response:
            try:
                body = request.json()
            except ValueError as exc:
                raise ParamError("body", f"malformed JSON: {exc}") from exc
            if isinstance(body, list):
                return Response(201, [add_one(item) for item in body])
            return Response(201, add_one(body))

        return self._control(serve)

    def _ctl_patch(self, request: Request, person_id: str) -> Response:
        return self._control(
            lambda: Response(200, self.update_person(person_id, **self._body(request)))
        )

    def _ctl_delete(self, request: Request, person_id: str) -> Response:
        del request
        return self._control(lambda: Response(200, self.remove_person(person_id)))

    def _ctl_action(self, request: Request, person_id: str, action: str) -> Response:
        def serve() -> Response:
            body = self._body(request)
            with self.lock:
                person = self._by_id[person_id]
                if action == "promote":
                    promote(person, str(body["job_title"]), seniority=body.get("seniority"))
                elif action == "transfer":
                    transfer(person, body["department"], body["team"], workforce=self.workforce)
                else:
                    return Response(
                        200, self.terminate_person(person_id, last_day=body.get("last_day"))
                    )
                return Response(200, self.update_person(person_id))

        return self._control(serve)

    def _ctl_workforce(self, request: Request) -> Response:
        def serve() -> Response:
            body = self._body(request)
            workers, seed = int(body.get("workers", 0)), int(body.get("seed", 0))
            domain = str(body.get("domain", self.workforce.domain))
            self.set_workforce(generate_workforce(workers, seed, domain=domain))
            return Response(200, {"ok": True, "workers": workers, "seed": seed})

        return self._control(serve)

    def _ctl_rate_limit(self, request: Request) -> Response:
        def serve() -> Response:
            body = self._body(request)
            if "enabled" in body:
                self.rate_limit_enabled = bool(body["enabled"])
            if "per_second" in body:
                self.rate_limit_per_second = int(body["per_second"])
            self.reset_rate_limit()
            return Response(
                200, {"enabled": self.rate_limit_enabled, "per_second": self.rate_limit_per_second}
            )

        return self._control(serve)
