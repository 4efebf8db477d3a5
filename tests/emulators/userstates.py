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
  `state`, `systemUserId` and `scheduledJobId` (repeated or joined by commas: all must hold).
  No `x-total-count` header (none is declared).
* `DELETE /{id}` answers 204 with no body; an unknown id is 404.
* A job whose time has come is run (the user's state changes) and leaves the list.
* `scheduledDate` is written as UTC with a `Z`, to the second (`2027-01-04T08:00:00Z`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tests.emulators.jumpcloud_shared import (
    EMAIL,
    OBJECT_ID,
    RefusedRequestError,
    bad,
    format_seconds,
    page_slice,
    parse_date_time,
    v2_filter,
)

if TYPE_CHECKING:
    from collections.abc import Callable

JOB_STATES = ("ACTIVATED", "SUSPENDED")
MAX_USERS_PER_JOB = 100  # not documented: the strict reading of "Limited to 100"
FIRST_JOB_ID = 0x67C0A1B2C3D4E5F600000000
_BODY_KEYS = frozenset(
    {"user_ids", "state", "start_date", "send_activation_emails", "activation_email_override"}
)
_FILTER_FIELDS = ("state", "systemUserId", "scheduledJobId")


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
            "scheduledDate": format_seconds(self.at),
            "state": self.state,
            "systemUserId": self.user_id,
        }


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
            raise bad(f"unknown field '{unknown[0]}'")
        for name in ("user_ids", "state", "start_date"):
            if name not in body:
                raise bad(f"{name} is required")
        user_ids = body["user_ids"]
        if not isinstance(user_ids, list) or not user_ids:
            raise bad("user_ids must be a non-empty array of user ids")
        if len(user_ids) > MAX_USERS_PER_JOB:
            raise bad(f"user_ids must hold at most {MAX_USERS_PER_JOB} ids")
        for position, user_id in enumerate(user_ids):
            if not isinstance(user_id, str) or not OBJECT_ID.fullmatch(user_id):
                raise bad(f"user_ids[{position}] must be a 24-hex user id")
            if not is_user(user_id):
                raise bad(f"user_ids[{position}] {user_id} is not a user of this organization")
        if len(set(user_ids)) != len(user_ids):
            raise bad("user_ids must not hold the same id twice")
        state = body["state"]
        if state not in JOB_STATES:
            raise bad(f"state must be one of {', '.join(JOB_STATES)}")
        at = parse_date_time(body["start_date"], "start_date")
        if at <= now:
            raise bad("start_date must be in the future")
        self._check_emails(body, state, len(user_ids))
        return [self.add(user_id, state, at) for user_id in user_ids]

    @staticmethod
    def _check_emails(body: dict[str, Any], state: str, users: int) -> None:
        send = body.get("send_activation_emails")
        if "send_activation_emails" in body:
            if not isinstance(send, bool):
                raise bad("send_activation_emails must be a boolean")
            if state != "ACTIVATED":
                raise bad("send_activation_emails can only be used with scheduled activations")
        if "activation_email_override" in body:
            override = body["activation_email_override"]
            if not isinstance(override, str) or not EMAIL.fullmatch(override):
                raise bad("activation_email_override must be an email address")
            if state != "ACTIVATED" or users != 1:
                raise bad(
                    "activation_email_override can only be used with a single user_id and a "
                    "scheduled activation"
                )

    def page(
        self, *, limit: str | None, skip: str | None, userid: str | None, filters: list[str]
    ) -> list[Job]:
        """`GET /bulk/userstates`: one page of the matching jobs, in creation order."""
        window = page_slice(limit, skip)
        tests = [v2_filter(expression, _FILTER_FIELDS) for expression in filters]
        found = [
            job
            for job in self._jobs.values()
            if (userid is None or job.user_id == userid) and all(test(job.json()) for test in tests)
        ]
        return found[window]

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
