"""JumpCloud's V2 scheduled user states: list, schedule (looked up before re-sending), cancel."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, TypeVar
from urllib.parse import quote

from target_jumpcloud.jumpcloud.errors import (
    AuthenticationError,
    JumpCloudError,
    UnknownOutcomeError,
)
from target_jumpcloud.jumpcloud.transport import (
    HTTP_BAD_REQUEST,
    HTTP_NOT_FOUND,
    PAGE_SIZE,
    Transport,
)
from target_jumpcloud.sync.schedules import JOB_STATES, ScheduledJob, read_job
from target_jumpcloud.zones import format_instant

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from target_jumpcloud.model import UserState


logger = logging.getLogger("target-jumpcloud.client")
T = TypeVar("T")

JOBS_PATH: Final = "/v2/bulk/userstates"  # V2 scheduled user states (under `api_url`)


#: Users per schedule POST: the spec gives no maximum, so the lists' own limit is kept.
MAX_USERS_PER_SCHEDULE: Final = 100


#: After a lost schedule answer, up to this many users are looked up one by one
#: (`?userid=`); a larger batch reads the whole job list instead (fewer requests).
_LOOKUP_ONE_BY_ONE_MAX: Final = 3


@dataclass
class ScheduleResult:
    """What `schedule_state` achieved: each user's job, or why there is none."""

    jobs: dict[str, ScheduledJob] = field(default_factory=dict)  # user id → its job
    failed: dict[str, JumpCloudError] = field(default_factory=dict)  # user id → the error

    def fail(self, user_ids: list[str], reason: str) -> None:
        """Record one error for each of the users."""
        for user_id in user_ids:
            self.failed[user_id] = JumpCloudError(reason)


class UserStatesAPI(Transport):
    """The V2 `/bulk/userstates` calls, over the shared transport."""

    def iter_scheduled_job_pages(
        self, *, user_id: str | None = None
    ) -> Iterator[list[ScheduledJob]]:
        """Every pending scheduled state job (of one user, with `user_id`), 100 a page.

        The V2 list answers a bare array and declares no total, so pages are read one after
        the other until one comes back short: N jobs cost N // 100 + 1 requests. Meant to
        run in a background thread while the input is read, as the user list is. Items that
        cannot be jobs of ours (another state, no readable date) are left out.

        Raises:
            AuthenticationError: JumpCloud refused the key (or the key lacks the scope).
            JumpCloudError: JumpCloud could not be reached after retries, or answered oddly.
        """
        params: dict[str, Any] = {"limit": PAGE_SIZE}
        if user_id is not None:
            params["userid"] = user_id
        skip = 0
        while True:
            body = self._request("GET", JOBS_PATH, params={**params, "skip": skip})
            if not isinstance(body, list):
                raise JumpCloudError(f"GET {JOBS_PATH}: unexpected response (not a list)")
            yield [job for item in body if (job := read_job(item)) is not None]
            skip += len(body)
            if len(body) < PAGE_SIZE:
                return

    def list_scheduled_jobs(self, *, user_id: str | None = None) -> list[ScheduledJob]:
        """Every pending scheduled state job (see `iter_scheduled_job_pages`)."""
        return [job for page in self.iter_scheduled_job_pages(user_id=user_id) for job in page]

    def schedule_state(
        self, state: UserState, at: datetime, user_ids: Sequence[str]
    ) -> ScheduleResult:
        """Schedule `state` at `at` for every user: one POST per 100 users.

        A POST whose answer is lost (timeout, dropped connection, 5xx), or whose answer does
        not list a user's job, is never simply sent again: the users' jobs are looked up
        first, and only the users still without a job for this state and instant are sent
        again, with backoff, within the batch's retry budget (see `retries.py`: the time of
        the first POST's budget covers the re-sends). So no fault ever gives a user two
        jobs for one state and instant. A batch refused with 400 (say, a user deleted
        meanwhile) is sent again one user at a time, so only the bad one fails.

        Args:
            state: ACTIVATED or SUSPENDED.
            at: The instant (aware); sent in UTC, to the second, with a `Z`.
            user_ids: The users (repeats are sent once).

        Returns:
            The job of each user scheduled, and the error of each user that could not be.

        Raises:
            AuthenticationError: JumpCloud refused the key (the run must stop).
        """
        if state not in JOB_STATES:
            raise ValueError(f"a scheduled state is one of {[s.value for s in JOB_STATES]}")
        if at.tzinfo is None:
            raise ValueError("at must be an aware datetime")
        instant = at.astimezone(UTC).replace(microsecond=0)
        wanted = list(dict.fromkeys(user_ids))
        result = ScheduleResult()
        for start in range(0, len(wanted), MAX_USERS_PER_SCHEDULE):
            self._schedule_batch(
                state, instant, wanted[start : start + MAX_USERS_PER_SCHEDULE], result
            )
        return result

    def _schedule_batch(
        self, state: UserState, at: datetime, batch: list[str], result: ScheduleResult
    ) -> None:
        """One POST for up to 100 users, with the look-up rule of `schedule_state`."""
        what = f"POST {JOBS_PATH}"
        pending = batch
        doubt: str | None = None  # why the pending users' jobs are in doubt
        retries = self.retry_budget()
        while pending:
            if doubt is not None:
                # Wait first: a request that timed out here may still be landing there.
                delay = retries.next_delay()
                if delay is not None:
                    retries.pause(delay)
                try:
                    found = self._find_jobs(pending, state, at)
                except AuthenticationError:
                    raise
                except JumpCloudError as lookup_error:
                    result.fail(
                        pending,
                        f"{doubt}, and looking up the users' jobs failed ({lookup_error}); "
                        "the next run finds the job if it was made",
                    )
                    return
                result.jobs.update(found)
                pending = [user_id for user_id in pending if user_id not in found]
                if not pending:
                    return
                if delay is None:
                    result.fail(
                        pending,
                        f"{doubt}; not scheduled (looked up after each attempt; "
                        f"{retries.gave_up()})",
                    )
                    return
                logger.warning(
                    "%s: %s; %d users have no job yet, sending again", what, doubt, len(pending)
                )
            body = {"user_ids": pending, "state": state.value, "start_date": format_instant(at)}
            try:
                answer = self._request(
                    "POST", JOBS_PATH, json_body=body, idempotent=False, budget=retries
                )
            except AuthenticationError:
                raise
            except UnknownOutcomeError as exc:
                doubt = str(exc)
                continue
            except JumpCloudError as exc:
                if exc.status == HTTP_BAD_REQUEST and len(pending) > 1:
                    for user_id in pending:  # one bad user must not fail the others
                        self._schedule_batch(state, at, [user_id], result)
                    return
                result.failed.update(dict.fromkeys(pending, exc))
                return
            made = {
                job.user_id: job
                for item in (answer if isinstance(answer, list) else [])
                if (job := read_job(item)) is not None and job.state is state and job.at == at
            }
            result.jobs.update((user_id, made[user_id]) for user_id in pending if user_id in made)
            pending = [user_id for user_id in pending if user_id not in made]
            doubt = f"{what}: the answer did not list every user's job" if pending else None

    def _find_jobs(
        self, user_ids: list[str], state: UserState, at: datetime
    ) -> dict[str, ScheduledJob]:
        """The users' existing jobs for `state` at `at` (a look-up is a read: retries are safe)."""
        if len(user_ids) <= _LOOKUP_ONE_BY_ONE_MAX:
            jobs = [
                job for user_id in user_ids for job in self.list_scheduled_jobs(user_id=user_id)
            ]
        else:
            jobs = self.list_scheduled_jobs()
        wanted = set(user_ids)
        found: dict[str, ScheduledJob] = {}
        for job in jobs:
            if job.user_id in wanted and job.state is state and job.at == at:
                found.setdefault(job.user_id, job)
        return found

    def cancel_scheduled_job(self, job_id: str) -> bool:
        """DELETE one scheduled job; a retry after a lost answer is safe.

        Returns:
            True when this call deleted it; False when it was not there (it ran, was
            cancelled, or an earlier attempt whose answer was lost deleted it): gone either way.

        Raises:
            AuthenticationError: JumpCloud refused the key.
            JumpCloudError: any other refusal, or JumpCloud could not be reached after retries.
        """
        try:
            self._request("DELETE", f"{JOBS_PATH}/{quote(job_id, safe='')}")
        except AuthenticationError:
            raise
        except JumpCloudError as exc:
            if exc.status == HTTP_NOT_FOUND:
                return False
            raise
        return True
