"""JumpCloud's V2 scheduled user state jobs (`/api/v2/bulk/userstates`), for the emulator.

`JobBook` holds the jobs of one organisation and checks requests against the V2 spec
(`bulk-scheduled-statechange-create`, `scheduled-userstate-result`); `JumpCloudEmulator`
serves it and runs the jobs whose time has come. Where the spec is silent it errs on the
strict side, as the V1 routes do, so that code which passes here also passes there:

* `POST` answers 201 with one `{scheduledJobId, scheduledDate, state, systemUserId}` per
  user, each with its own job id. Unknown fields, a missing or empty `user_ids`, an id that
  is no user of the org, the same id twice, more than 100 ids, a `start_date` without an
  offset or not in the future, `send_activation_emails` with SUSPENDED, and
  `activation_email_override` with SUSPENDED or several users are refused with 400.
* The same user, state and instant may be scheduled twice (nothing in the spec forbids it):
  two jobs then exist, which is exactly what a client must never cause.
* `GET` answers a bare array in job-id (creation) order: `limit` 1-100 (default 10, above
  100 a 400), `skip` >= 0, `userid`, and V2 filters `field:eq:value` / `field:ne:value` on
  `state`, `systemUserId` and `scheduledJobId`. No `x-total-count` header (none is declared).
* `DELETE /{id}` answers 204 with no body; an unknown id is 404.
* A job whose time has come is run (the user's state changes) and leaves the list.
* `scheduledDate` is written as UTC with a `Z`, to the second (`2027-01-04T08:00:00Z`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

JOB_STATES = ("ACTIVATED", "SUSPENDED")
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
MAX_USERS_PER_JOB = 100  # not documented: the strict reading of "Limited to 100"
FIRST_JOB_ID = 0x67C0A1B2C3D4E5F600000000
_BODY_KEYS = frozenset(
    {"user_ids", "state", "start_date", "send_activation_emails", "activation_email_override"}
)
_FILTER_FIELDS = ("state", "systemUserId", "scheduledJobId")
_OBJECT_ID = re.compile(r"[0-9a-f]{24}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# RFC 3339 (OpenAPI's `date-time`): a date, a time, and an offset or Z.
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|z|[+-]\d{2}:\d{2})")


class RefusedRequestError(ValueError):
    """A request JumpCloud would refuse: `status` and `message` become the error body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _bad(message: str) -> RefusedRequestError:
    return RefusedRequestError(400, message)


def format_date(at: dt.datetime) -> str:
    """`scheduledDate` as the emulator writes it: UTC, to the second, with a Z."""
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_start_date(value: object) -> dt.datetime:
    """A `start_date` as the spec types it (RFC 3339 date-time with an offset), in UTC."""
    if not isinstance(value, str) or not _DATE_TIME.fullmatch(value):
        raise _bad("start_date must be an RFC 3339 date-time with an offset, e.g. ...T08:00:00Z")
    try:
        when = dt.datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise _bad("start_date is not a valid date-time") from None
    return when.astimezone(dt.UTC)


@dataclass(frozen=True, slots=True)
class Job:
    """One scheduled state change of one user."""

    id: str
    user_id: str
    state: str
    at: dt.datetime

    def json(self) -> dict[str, str]:
        """The `scheduled-userstate-result` object."""
        return {
            "scheduledJobId": self.id,
            "scheduledDate": format_date(self.at),
            "state": self.state,
            "systemUserId": self.user_id,
        }


def _filter(expression: str) -> Callable[[Job], bool]:
    """A V2 filter `field:op:value` (eq or ne) on one of `_FILTER_FIELDS`."""
    name, _, rest = expression.partition(":")
    operator, sep, value = rest.partition(":")
    if not sep or name not in _FILTER_FIELDS or operator not in ("eq", "ne"):
        raise _bad(
            f"filter {expression!r} is not supported: use <field>:eq|ne:<value> on "
            f"{', '.join(_FILTER_FIELDS)}"
        )

    def matches(job: Job) -> bool:
        found = job.json()[name] == value
        return found if operator == "eq" else not found

    return matches


def _int_arg(raw: str | None, name: str, default: int, *, minimum: int, maximum: int | None) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _bad(f"{name} must be an integer") from None
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise _bad(f"{name} must be {bound}")
    return value


class JobBook:
    """The scheduled jobs of one organisation, in creation order. Not thread-safe on its own:
    the emulator calls it under its lock."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._next_id = FIRST_JOB_ID

    def __len__(self) -> int:
        return len(self._jobs)

    def all(self) -> list[Job]:
        """Every pending job, in creation order."""
        return list(self._jobs.values())

    def add(self, user_id: str, state: str, at: dt.datetime) -> Job:
        """Store one job as given (seeding: no checks beyond the state)."""
        if state not in JOB_STATES:
            raise ValueError(f"state must be one of {JOB_STATES}")
        if at.tzinfo is None:
            raise ValueError("at must be an aware datetime")
        job = Job(f"{self._next_id:024x}", user_id, state, at.astimezone(dt.UTC))
        self._next_id += 1
        self._jobs[job.id] = job
        return job

    def create(
        self, body: dict[str, Any], *, now: dt.datetime, is_user: Callable[[str], bool]
    ) -> list[Job]:
        """`POST /bulk/userstates`: check the body (see the module doc), store one job a user."""
        unknown = sorted(set(body) - _BODY_KEYS)
        if unknown:
            raise _bad(f"unknown field '{unknown[0]}'")
        for name in ("user_ids", "state", "start_date"):
            if name not in body:
                raise _bad(f"{name} is required")
        user_ids = body["user_ids"]
        if not isinstance(user_ids, list) or not user_ids:
            raise _bad("user_ids must be a non-empty array of user ids")
        if len(user_ids) > MAX_USERS_PER_JOB:
            raise _bad(f"user_ids must hold at most {MAX_USERS_PER_JOB} ids")
        for position, user_id in enumerate(user_ids):
            if not isinstance(user_id, str) or not _OBJECT_ID.fullmatch(user_id):
                raise _bad(f"user_ids[{position}] must be a 24-hex user id")
            if not is_user(user_id):
                raise _bad(f"user_ids[{position}] {user_id} is not a user of this organization")
        if len(set(user_ids)) != len(user_ids):
            raise _bad("user_ids must not hold the same id twice")
        state = body["state"]
        if state not in JOB_STATES:
            raise _bad(f"state must be one of {', '.join(JOB_STATES)}")
        at = parse_start_date(body["start_date"])
        if at <= now:
            raise _bad("start_date must be in the future")
        self._check_emails(body, state, len(user_ids))
        return [self.add(user_id, state, at) for user_id in user_ids]

    @staticmethod
    def _check_emails(body: dict[str, Any], state: str, users: int) -> None:
        send = body.get("send_activation_emails")
        if "send_activation_emails" in body:
            if not isinstance(send, bool):
                raise _bad("send_activation_emails must be a boolean")
            if state != "ACTIVATED":
                raise _bad("send_activation_emails can only be used with scheduled activations")
        if "activation_email_override" in body:
            override = body["activation_email_override"]
            if not isinstance(override, str) or not _EMAIL.fullmatch(override):
                raise _bad("activation_email_override must be an email address")
            if state != "ACTIVATED" or users != 1:
                raise _bad(
                    "activation_email_override can only be used with a single user_id and a "
                    "scheduled activation"
                )

    def page(
        self, *, limit: str | None, skip: str | None, userid: str | None, filters: list[str]
    ) -> list[Job]:
        """`GET /bulk/userstates`: one page of the matching jobs, in creation order."""
        first = _int_arg(skip, "skip", 0, minimum=0, maximum=None)
        count = _int_arg(limit, "limit", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT)
        tests = [_filter(expression) for expression in filters if expression]
        found = [
            job
            for job in self._jobs.values()
            if (userid is None or job.user_id == userid) and all(test(job) for test in tests)
        ]
        return found[first : first + count]

    def delete(self, job_id: str) -> Job:
        """`DELETE /bulk/userstates/{id}`."""
        job = self._jobs.pop(job_id, None)
        if job is None:
            raise RefusedRequestError(404, "Scheduled job not found")
        return job

    def take_due(self, now: dt.datetime) -> list[Job]:
        """Remove and return the jobs whose time has come, in the order they run."""
        due = sorted((job for job in self._jobs.values() if job.at <= now), key=_run_order)
        for job in due:
            del self._jobs[job.id]
        return due

    def drop_user(self, user_id: str) -> None:
        """Forget the jobs of a deleted user."""
        for job_id in [job.id for job in self._jobs.values() if job.user_id == user_id]:
            del self._jobs[job_id]


def _run_order(job: Job) -> tuple[dt.datetime, str]:
    return (job.at, job.id)
