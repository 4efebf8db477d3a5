"""A small JumpCloud V1 client: the only place that talks HTTP to JumpCloud (contract §§9-10).

Why not the SDK's REST machinery: a target has none, and the create path needs a rule the
generic retry decorators cannot express: a POST whose outcome is unknown (timeout, dropped
connection, 5xx) must not be retried blindly, because JumpCloud may already have stored the
user. `create_user` raises `UnknownOutcomeError` instead and leaves the decision to the
applier, which looks the user up first.

Credentials come from an auth provider (`auth.py`): a personal API key (`x-api-key`) or a
service account's access token (`Authorization: Bearer`), added to each request by a
`requests` auth hook. A 401 on an API call renews the token once and repeats the call.

Secrets: the key, the client secret and the tokens only ever live in the provider and in
the request headers. Every message this module builds is scrubbed of them, and error
messages carry the HTTP status and JumpCloud's short `message`, never a response body with
people's data (nor a token endpoint's answer, which may hold a token).
"""

from __future__ import annotations

import email.utils
import logging
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeVar
from urllib.parse import quote, urlsplit

import msgspec
import requests
from requests.adapters import HTTPAdapter
from typing_extensions import override

from target_jumpcloud.auth import (
    GRANT_FORM,
    ApiKeyAuth,
    ServiceAccountAuth,
    TokenGrant,
    TokenResponseError,
    read_token_response,
)
from target_jumpcloud.schedules import JOB_STATES, ScheduledJob, read_job
from target_jumpcloud.settings import require_secure_url
from target_jumpcloud.zones import format_instant

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence

    from requests.sessions import _Cert, _Settings, _TextMapping, _Verify

    from target_jumpcloud.auth import AuthProvider, Credential, ServiceAccount
    from target_jumpcloud.model import UserState

logger = logging.getLogger("target-jumpcloud.client")
T = TypeVar("T")

PAGE_SIZE: Final = 100  # JumpCloud's documented maximum `limit` on list endpoints
JOBS_PATH: Final = "/v2/bulk/userstates"  # V2 scheduled user states (under `api_url`)
#: Users per schedule POST: the spec gives no maximum, so the lists' own limit is kept.
MAX_USERS_PER_SCHEDULE: Final = 100
#: After a lost schedule answer, up to this many users are looked up one by one
#: (`?userid=`); a larger batch reads the whole job list instead (fewer requests).
_LOOKUP_ONE_BY_ONE_MAX: Final = 3
_MESSAGE_LIMIT: Final = 300  # JumpCloud's `message` is cut to this many characters
_RETRY_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
_HTTP_TOO_MANY: Final = 429
_HTTP_SERVER_ERROR: Final = 500
_HTTP_BAD_REQUEST: Final = 400
_HTTP_UNAUTHORIZED: Final = 401
_HTTP_FORBIDDEN: Final = 403
_HTTP_NOT_FOUND: Final = 404
_TRANSPORT_ERRORS: Final = (requests.ConnectionError, requests.Timeout)
#: OAuth error codes of a token endpoint that mean: these client credentials are refused.
_REFUSED_CLIENT: Final = frozenset({"invalid_client", "invalid_grant", "unauthorized_client"})
_FORM_HEADERS: Final = {
    "Content-Type": "application/x-www-form-urlencoded",
    "x-org-id": None,  # (None removes the session's header: the token endpoint needs none)
}
#: Test knob: a factor in (0, 1] applied to the computed backoff (never to a server's
#: Retry-After). The reliability suites run the real CLI with e.g. 0.01 so that hundreds of
#: retries take seconds, not hours. Unset in production.
BACKOFF_SCALE_ENV: Final = "TARGET_JUMPCLOUD_BACKOFF_SCALE"


def backoff_scale(environ: Mapping[str, str] | None = None) -> float:
    """The factor `TARGET_JUMPCLOUD_BACKOFF_SCALE` puts on backoff (1.0 when unset or invalid).

    The knob can only shorten waits: a value outside (0, 1] is ignored with a warning.
    """
    raw = (os.environ if environ is None else environ).get(BACKOFF_SCALE_ENV, "").strip()
    if not raw:
        return 1.0
    try:
        scale = float(raw)
    except ValueError:
        scale = 0.0
    if not 0.0 < scale <= 1.0:
        logger.warning("Ignoring %s=%r: expected a number in (0, 1]", BACKOFF_SCALE_ENV, raw)
        return 1.0
    return scale


class JumpCloudError(Exception):
    """A JumpCloud request that did not succeed. `status` is None for transport errors."""

    def __init__(
        self, message: str, *, status: int | None = None, api_message: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.api_message = api_message  # JumpCloud's own `message`, when it sent one


class AuthenticationError(JumpCloudError):
    """JumpCloud refused the credentials; `setting` names the one to fix.

    `api_key`, `org_id`, `client_id` (for the service account's pair) or `token_url`.
    """

    def __init__(
        self,
        message: str,
        *,
        setting: str,
        status: int | None = None,
        api_message: str | None = None,
    ) -> None:
        super().__init__(message, status=status, api_message=api_message)
        self.setting = setting


class UnknownOutcomeError(JumpCloudError):
    """A create whose result is unknown: JumpCloud may or may not have stored the user."""


class TokenUnavailableError(JumpCloudError):
    """The token endpoint could not be reached or kept failing (429/5xx) after retries.

    No `status`: the request that needed the token was never sent.
    """


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date).

    Returns None when the header is absent or unreadable, so the caller falls back to its
    own backoff; a date in the past gives 0.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if seconds == seconds else None  # noqa: PLR0124 - NaN check
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class JumpCloudClient:
    """JumpCloud's V1 system-user API over one keep-alive `requests.Session`.

    Retries 429, 5xx, dropped connections and timeouts with capped exponential backoff (with
    jitter) and honours `Retry-After`; never retries any other 4xx. Thread-safe for the
    applier's worker threads: the session's pool holds `pool_size` connections.

    Authenticates with `api_key` or with `service_account` (exactly one); the token grant
    goes through the same retry policy. `clock` is the service account's clock (tests).
    """

    def __init__(
        self,
        api_url: str,
        api_key: str | None = None,
        org_id: str | None = None,
        *,
        service_account: ServiceAccount | None = None,
        clock: Callable[[], float] = time.monotonic,
        timeout: float = 30.0,
        max_retries: int = 5,
        backoff_base: float = 1.0,
        backoff_cap: float = 30.0,
        retry_after_cap: float = 120.0,
        pool_size: int = 8,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api_url = require_secure_url(api_url, "api_url")  # before any connection
        self._service_account = service_account
        self._auth: AuthProvider
        if service_account is not None and api_key:
            raise AuthenticationError(
                "both an API key and a service account given; set either `api_key` or "
                "`client_id` and `client_secret`",
                setting="api_key",
            )
        if service_account is not None:
            require_secure_url(service_account.token_url, "token_url")  # before any connection
            self._auth = ServiceAccountAuth(service_account, self._grant_token, clock=clock)
        elif api_key:
            self._auth = ApiKeyAuth(api_key)
        else:
            raise AuthenticationError(
                "no credentials given; set `api_key`, or `client_id` and `client_secret`",
                setting="api_key",
            )
        self.org_id = org_id or None
        self.timeout = timeout
        self.max_retries = max(0, max_retries)
        scale = backoff_scale()  # 1.0 unless the test knob is set
        self.backoff_base = backoff_base * scale
        self.backoff_cap = backoff_cap * scale
        self.retry_after_cap = retry_after_cap
        self._sleep = sleep
        # The first page of the user list, fetched early as the key check (see
        # `start_user_listing`): (query, (users, totalCount)).
        self._first_page: tuple[dict[str, Any], tuple[list[dict[str, Any]], int | None]] | None
        self._first_page = None
        self._random = random.Random()  # noqa: S311 - jitter, not security
        self.session = _Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max(1, pool_size), max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.session.headers.update(
            {
                "Accept": "application/json",
                "Content-Type": "application/json",
                "User-Agent": "target-jumpcloud",
            }
        )
        if self.org_id:
            self.session.headers["x-org-id"] = self.org_id

    def __repr__(self) -> str:
        return f"JumpCloudClient(api_url={self.api_url!r}, org_id={self.org_id!r})"

    @property
    def credential_label(self) -> str:
        """What authenticates this client, for log lines: "API key" or "service account"."""
        return "service account" if self._service_account is not None else "API key"

    @property
    def grants(self) -> int:
        """Access tokens minted so far in this run (0 with an API key)."""
        return self._auth.grants if isinstance(self._auth, ServiceAccountAuth) else 0

    def pause(self, attempt: int) -> None:
        """Sleep the backoff of `attempt` (the applier's pause before re-sending a create)."""
        self._sleep(self._backoff(attempt))

    def close(self) -> None:
        """Release the pooled connections."""
        self.session.close()

    # -- public API ------------------------------------------------------------------------

    def check_access(self) -> None:
        """One cheap request that proves the key (and org id) work, before any input is read.

        Raises:
            AuthenticationError: JumpCloud refused the key, or the org id (400/404 on it).
            JumpCloudError: JumpCloud could not be reached after retries.
        """
        try:
            self._request("GET", "/systemusers", params={"limit": 1, "fields": "_id"})
        except JumpCloudError as exc:
            raise self._access_refusal(exc) from None

    def _access_refusal(self, exc: JumpCloudError) -> JumpCloudError:
        """The error to raise when the access check failed: a 400/404 with an org id names it."""
        if isinstance(exc, AuthenticationError):
            return exc
        if self.org_id and exc.status in {_HTTP_BAD_REQUEST, _HTTP_NOT_FOUND}:
            return AuthenticationError(
                f"JumpCloud refused the organisation id (HTTP {exc.status}"
                f"{_suffix(exc.api_message)}); check the setting `org_id`",
                setting="org_id",
                status=exc.status,
                api_message=exc.api_message,
            )
        return exc

    def start_user_listing(self, fields: list[str] | None = None) -> None:
        """Fetch the first page of the user list now; it proves the key, as `check_access`.

        The next `iter_users` with the same `fields` starts from this page instead of asking
        for it again, so checking the key costs no request of its own: N users still cost
        exactly ceil(N / 100) requests.

        Raises:
            AuthenticationError: JumpCloud refused the key, or the org id (400/404 on it).
            JumpCloudError: JumpCloud could not be reached after retries, or answered oddly.
        """
        params = _list_params(fields)
        try:
            page = self._user_page(params, 0, _USER_OBJECTS)
        except JumpCloudError as exc:
            raise self._access_refusal(exc) from None
        self._first_page = (params, page)

    def iter_users(
        self, fields: list[str] | None = None, *, concurrency: int = 1
    ) -> Iterator[dict[str, Any]]:
        """Every system user as JumpCloud sent it, in `_id` order (see `iter_user_pages`)."""
        for page in self.iter_user_pages(_USER_OBJECTS, fields, concurrency=concurrency):
            yield from page

    def iter_user_pages(
        self,
        reader: PageReader[T],
        fields: list[str] | None = None,
        *,
        concurrency: int = 1,
    ) -> Iterator[list[T]]:
        """Every system user, read by `reader`, a page of 100 at a time, sorted by `_id`.

        Stops without an extra request once `skip` reaches `totalCount` or a page comes back
        short, so N users cost exactly ceil(N / 100) requests (one for an empty directory).
        With `concurrency` > 1, the pages the first answer's `totalCount` announces are
        fetched that many at a time: 100,000 users are 1,000 round trips, and one at a time
        they would take minutes against the real service. (Over a fast link one thread
        would cost less CPU, but while the input is read it waits for the interpreter after
        every page: measured in the pipeline, four threads finished first.) Each page is
        read in the thread that fetched it. A first page fetched by `start_user_listing` is
        used (once) instead of asking for it again.
        """
        params = _list_params(fields)
        first, self._first_page = self._first_page, None
        if first is not None and first[0] == params:
            objects, total = first[1]
            results = reader.read_users(objects)
        else:
            results, total = self._user_page(params, 0, reader)
        yield results
        skip = len(results)
        if len(results) < PAGE_SIZE or (total is not None and skip >= total):
            return
        if concurrency > 1 and total is not None:
            skips = range(skip, total, PAGE_SIZE)
            with ThreadPoolExecutor(
                max_workers=concurrency, thread_name_prefix="jumpcloud-list"
            ) as pool:
                pages = pool.map(lambda start: self._user_page(params, start, reader), skips)
                for results, page_total in pages:
                    yield results
                    skip += len(results)
                    total = page_total
                    if len(results) < PAGE_SIZE:
                        return  # the directory shrank meanwhile: this was the last page
            if total is None or skip >= total:
                return
        while True:  # one page at a time (also: users added while the pages were fetched)
            results, total = self._user_page(params, skip, reader)
            yield results
            skip += len(results)
            if len(results) < PAGE_SIZE or (total is not None and skip >= total):
                return

    def _user_page(
        self, params: Mapping[str, Any], skip: int, reader: PageReader[T]
    ) -> tuple[list[T], int | None]:
        """One page of the user list, read from its body by `reader` where it can."""
        what = "GET /systemusers"

        def read(response: requests.Response) -> tuple[list[T], int | None]:
            try:
                return reader.read_page(response.content)
            except (msgspec.DecodeError, RecursionError):
                pass  # not a plain page: decoded and checked as any body, then read
            results, total = _list_body(self._decode(response, what), what)
            return reader.read_users(results), total

        page: tuple[list[T], int | None] = self._request(
            "GET", "/systemusers", params={**params, "skip": skip}, read=read
        )
        return page

    def find_users_by(
        self, field: str, value: str, *, ignore_case: bool = False
    ) -> list[dict[str, Any]]:
        """The users whose `field` equals `value`.

        JumpCloud's filters are case-sensitive, while usernames and emails are unique without
        regard to case. With `ignore_case`, an exact look-up that finds nothing is followed by
        a text search on that field, keeping only case-insensitively equal values.
        """
        users = self._all_pages(
            "GET", "/systemusers", {"sort": "_id", "filter": f"{field}:$eq:{value}"}
        )
        if users or not ignore_case:
            return users
        wanted = value.casefold()
        found = self._all_pages(
            "POST",
            "/search/systemusers",
            {"sort": "_id"},
            body={"searchFilter": {"searchTerm": value, "fields": [field]}},
        )
        return [
            user
            for user in found
            if isinstance(user.get(field), str) and user[field].casefold() == wanted
        ]

    def _all_pages(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any],
        *,
        body: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Every page of a (small) filtered list; a search is a read, so retries are safe."""
        users: list[dict[str, Any]] = []
        skip = 0
        while True:
            page = {**params, "limit": PAGE_SIZE, "skip": skip}
            answer = self._request(method, path, params=page, json_body=body)
            results, total = _list_body(answer, f"{method} {path}")
            users.extend(results)
            skip += len(results)
            if len(results) < PAGE_SIZE or (total is not None and skip >= total):
                return users

    def create_user(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """POST a new user; returns JumpCloud's user object (with `_id`).

        Only a 429 is retried here (JumpCloud refused the request, nothing was stored).

        Raises:
            UnknownOutcomeError: timeout, dropped connection or 5xx: the user may exist now.
            JumpCloudError: any other refusal (a 400 carries JumpCloud's message).
        """
        body = self._request("POST", "/systemusers", json_body=payload, idempotent=False)
        return _user_body(body, "POST /systemusers")

    def update_user(self, user_id: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """PUT the changed attributes of one user; idempotent, so every transient error retries."""
        body = self._request("PUT", f"/systemusers/{user_id}", json_body=payload)
        return _user_body(body, "PUT /systemusers/{id}")

    # -- V2 scheduled user states (contract §12) ---------------------------------------------

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
        again (with backoff, up to `max_retries` times). So no fault ever gives a user two
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
        attempts = 0
        while pending:
            if doubt is not None:
                # Wait first: a request that timed out here may still be landing there.
                self.pause(attempts - 1)
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
                if attempts > self.max_retries:
                    result.fail(
                        pending,
                        f"{doubt}; not scheduled (looked up after each of {attempts} attempts)",
                    )
                    return
                logger.warning(
                    "%s: %s; %d users have no job yet, sending again", what, doubt, len(pending)
                )
            attempts += 1
            body = {"user_ids": pending, "state": state.value, "start_date": format_instant(at)}
            try:
                answer = self._request("POST", JOBS_PATH, json_body=body, idempotent=False)
            except AuthenticationError:
                raise
            except UnknownOutcomeError as exc:
                doubt = str(exc)
                continue
            except JumpCloudError as exc:
                if exc.status == _HTTP_BAD_REQUEST and len(pending) > 1:
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
            if exc.status == _HTTP_NOT_FOUND:
                return False
            raise
        return True

    # -- transport ---------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Mapping[str, Any] | None = None,
        idempotent: bool = True,
        read: Callable[[requests.Response], Any] | None = None,
    ) -> Any:  # noqa: ANN401 - decoded JSON
        """Send one API request with the retry policy; return the decoded JSON body.

        `read`, when given, reads a successful response instead of `_decode`. Each attempt
        carries the provider's current credential; a 401 renews a service account's token
        once and repeats the request (see `_send`).
        """
        return self._send(
            method,
            self.api_url + path,
            f"{method} {path}",
            self._auth.current,
            params=params,
            json_body=json_body,
            idempotent=idempotent,
            read=read,
            renew=True,
        )

    def _send(
        self,
        method: str,
        url: str,
        what: str,
        credential: Callable[[], Credential],
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Mapping[str, Any] | None = None,
        idempotent: bool = True,
        read: Callable[[requests.Response], Any] | None = None,
        form: Mapping[str, str] | None = None,
        refusal: Callable[[str, int, str | None], JumpCloudError] | None = None,
        renew: bool = False,
    ) -> Any:  # noqa: ANN401 - decoded JSON
        """One request to `url` under the retry policy; `credential()` authenticates each attempt.

        Taking the credential per attempt means a retry after a long wait carries the token
        of that moment, not one that went stale meanwhile. With `renew`, a 401 asks the
        provider for a new credential once and sends again at once (JumpCloud refused the
        request before doing anything, so even a create is safe to repeat); a second 401 is
        the refusal. `form` sends a form body instead of JSON (the token grant); `refusal`
        builds the error of a non-retried 4xx (default: the API's, see `_refusal`).
        """
        attempt = 0
        renewed = False
        while True:
            sent = credential()
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    json=json_body,
                    data=form,
                    headers=_FORM_HEADERS if form is not None else None,
                    auth=sent,
                    timeout=self.timeout,
                )
            except _TRANSPORT_ERRORS as exc:
                reason = self._scrub(_transport_reason(exc))
                if not idempotent:
                    raise UnknownOutcomeError(
                        f"{what}: {reason}; the request may have been processed"
                    ) from None
                if attempt >= self.max_retries:
                    raise JumpCloudError(
                        f"{what}: {reason} (gave up after {attempt + 1} attempts)"
                    ) from None
                delay = self._backoff(attempt)
                logger.warning("%s: %s; retrying in %.1fs", what, reason, delay)
            else:
                status = response.status_code
                if status < _HTTP_BAD_REQUEST:
                    return self._decode(response, what) if read is None else read(response)
                if status == _HTTP_UNAUTHORIZED and renew and not renewed:
                    renewed = self._auth.renew(sent) is not None
                    if renewed:
                        logger.info("%s: the access token was refused (HTTP 401); renewed it", what)
                        continue
                api_message = self._api_message(response)
                if status not in _RETRY_STATUSES:
                    raise (refusal or self._refusal)(what, status, api_message)
                if not idempotent and status != _HTTP_TOO_MANY:
                    raise UnknownOutcomeError(
                        f"{what}: HTTP {status}{_suffix(api_message)}; "
                        "the request may have been processed",
                        status=status,
                        api_message=api_message,
                    )
                if attempt >= self.max_retries:
                    raise JumpCloudError(
                        f"{what}: HTTP {status}{_suffix(api_message)} "
                        f"(gave up after {attempt + 1} attempts)",
                        status=status,
                        api_message=api_message,
                    )
                delay = self._retry_delay(response, attempt)
                logger.warning("%s: HTTP %s; retrying in %.1fs", what, status, delay)
            self._sleep(delay)
            attempt += 1

    # -- the service account's token grant ---------------------------------------------------

    def _grant_token(self) -> TokenGrant:
        """Mint an access token: the client-credentials grant, retried as any API read.

        Called by the auth provider, one grant at a time. A grant is safe to repeat (a
        second token costs nothing), so 429, 5xx and dropped connections are retried.

        Raises:
            AuthenticationError: The token endpoint refused the grant (exit 3).
            TokenUnavailableError: It could not be reached, or kept failing (exit 6).
        """
        account = self._service_account
        assert account is not None  # noqa: S101 - only the service account's provider calls it
        assert isinstance(self._auth, ServiceAccountAuth)  # noqa: S101
        parts = urlsplit(account.token_url)
        what = f"POST {parts.hostname}{parts.path}"
        basic = self._auth.basic_credential()
        logger.debug("%s: requesting an access token for the service account", what)
        try:
            grant: TokenGrant = self._send(
                "POST",
                account.token_url,
                what,
                lambda: basic,
                form=GRANT_FORM,
                read=lambda response: self._read_grant(response, what),
                refusal=self._grant_refusal,
            )
        except AuthenticationError:
            raise
        except JumpCloudError as exc:
            raise TokenUnavailableError(
                f"Could not get an access token for the service account: {exc}"
            ) from None
        logger.info("Got an access token for the service account (valid %.0f s)", grant.expires_in)
        return grant

    def _read_grant(self, response: requests.Response, what: str) -> TokenGrant:
        """The token in a successful grant's answer; anything else names `token_url`."""
        try:
            return read_token_response(response.json())
        except (ValueError, TokenResponseError) as exc:
            reason = str(exc) if isinstance(exc, TokenResponseError) else "not JSON"
            raise AuthenticationError(
                f"{what}: HTTP {response.status_code}, but {reason}; check the setting "
                "`token_url` (it must be JumpCloud's admin OAuth token endpoint)",
                setting="token_url",
                status=response.status_code,
            ) from None

    def _grant_refusal(self, what: str, status: int, api_message: str | None) -> JumpCloudError:
        """The error of a refused grant: the client pair, the role, or the token URL."""
        if status == _HTTP_UNAUTHORIZED or (
            status == _HTTP_BAD_REQUEST and api_message in _REFUSED_CLIENT
        ):
            return AuthenticationError(
                f"JumpCloud refused the service account's credentials (HTTP {status}"
                f"{_suffix(api_message)}); check the settings `client_id` and `client_secret` "
                "(the secret may have expired or been rotated, or the service account "
                "removed)",
                setting="client_id",
                status=status,
                api_message=api_message,
            )
        if status == _HTTP_FORBIDDEN:
            return AuthenticationError(
                f"{what}: JumpCloud refused the service account a token (HTTP 403"
                f"{_suffix(api_message)}); check its role and the settings `client_id` and "
                "`client_secret`",
                setting="client_id",
                status=status,
                api_message=api_message,
            )
        return AuthenticationError(
            f"{what}: the token endpoint answered HTTP {status}{_suffix(api_message)}; check "
            "the setting `token_url` (it must be JumpCloud's admin OAuth token endpoint)",
            setting="token_url",
            status=status,
            api_message=api_message,
        )

    def _backoff(self, attempt: int) -> float:
        """Capped exponential backoff with jitter (half to full of the step)."""
        step: float = min(self.backoff_cap, self.backoff_base * (2**attempt))
        return step * (0.5 + self._random.random() / 2)

    def _retry_delay(self, response: requests.Response, attempt: int) -> float:
        """The server's `Retry-After` when it sends one (capped), else our own backoff."""
        told = parse_retry_after(response.headers.get("Retry-After"))
        if told is not None:
            return min(told, self.retry_after_cap)
        return self._backoff(attempt)

    def _refusal(self, what: str, status: int, api_message: str | None) -> JumpCloudError:
        """The exception for a non-retried 4xx; 401/403 name the setting to fix."""
        service_account = self._service_account is not None
        if status == _HTTP_UNAUTHORIZED:
            if service_account:
                message = (
                    f"JumpCloud rejected the service account's access token (HTTP 401"
                    f"{_suffix(api_message)}), a freshly granted one too; check the settings "
                    "`client_id` and `client_secret`"
                    + (
                        " and `org_id`"
                        if self.org_id
                        else " (a multi-tenant account also needs `org_id`)"
                    )
                )
                setting = "client_id"
            else:
                hint = (
                    "check the settings `api_key` and `org_id`"
                    if self.org_id
                    else "check the setting `api_key` (a multi-tenant key also needs `org_id`)"
                )
                message = f"JumpCloud rejected the API key (HTTP 401{_suffix(api_message)}); {hint}"
                setting = "api_key"
            return AuthenticationError(
                message, setting=setting, status=status, api_message=api_message
            )
        if status == _HTTP_FORBIDDEN:
            setting = "org_id" if self.org_id else self._auth.settings[0]
            holder = "the service account's role" if service_account else "the key"
            return AuthenticationError(
                f"{what}: JumpCloud refused access (HTTP 403{_suffix(api_message)}); "
                f"check the permissions of {holder} and the setting `{setting}`",
                setting=setting,
                status=status,
                api_message=api_message,
            )
        return JumpCloudError(
            f"{what}: HTTP {status}{_suffix(api_message)}", status=status, api_message=api_message
        )

    def _api_message(self, response: requests.Response) -> str | None:
        """JumpCloud's `message` (or `error`) field, shortened and scrubbed; never the body."""
        try:
            body = response.json()
        except ValueError:
            return None
        if not isinstance(body, dict):
            return None
        message = body.get("message") or body.get("error")
        if not isinstance(message, str) or not message.strip():
            return None
        text = " ".join(message.split())
        if len(text) > _MESSAGE_LIMIT:
            text = text[: _MESSAGE_LIMIT - 3] + "..."
        return self._scrub(text)

    def _decode(self, response: requests.Response, what: str) -> Any:  # noqa: ANN401
        """The JSON body of a success; an unreadable one is an error, not a crash.

        Parsed by msgspec (a page of users in a third of the time); whatever it refuses goes
        to `requests`' own parser, which has the last word.
        """
        if not response.content:
            return None
        try:
            return _decode_json(response.content)
        except (msgspec.DecodeError, RecursionError):
            pass
        try:
            return response.json()
        except ValueError:
            raise JumpCloudError(
                f"{what}: HTTP {response.status_code} with a body that is not JSON",
                status=response.status_code,
            ) from None

    def _scrub(self, text: str) -> str:
        """Remove every secret (key, client secret, tokens) from a message, whatever made it."""
        for secret in self._auth.secrets():
            if secret:
                text = text.replace(secret, "***")
        return text


_decode_json = msgspec.json.Decoder().decode


class _Session(requests.Session):
    """A `requests.Session` that reads the environment's proxy and CA settings once per host.

    `requests` reads them again for every request (`trust_env`): a quarter of the CPU time
    of a 50 kB page of users (measured 1.3 against 1.0 ms), for the 1,000 pages of 100,000
    users. They depend only on the scheme and host; a request with its own proxies, verify,
    cert or stream setting is merged as usual.
    """

    def __init__(self) -> None:
        super().__init__()
        self._environment: dict[tuple[str, str], _Settings] = {}

    @override
    def merge_environment_settings(
        self,
        url: str | bytes | None,
        proxies: _TextMapping | None,
        stream: bool | None,
        verify: _Verify | None,
        cert: _Cert | None,
    ) -> _Settings:
        """As `requests` merges them, from the first request's settings for the host."""
        own = proxies or stream is not None or verify is not None or cert is not None
        if own or not isinstance(url, str):
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        settings = self._environment.get(key)
        if settings is None:
            settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
            self._environment[key] = settings
        merged = settings.copy()
        merged["proxies"] = dict(settings["proxies"])  # (the caller may change its copy)
        return merged


class PageReader(Protocol[T]):
    """Reads a page of the user list into the caller's own objects (`iter_user_pages`)."""

    def read_page(self, body: bytes) -> tuple[list[T], int | None]:
        """(users, totalCount) straight from a page's body, when it is a plain one.

        Raises:
            msgspec.DecodeError: for anything else; the page is then decoded and checked
                as any body is, and its user objects go to `read_users`.
        """
        ...

    def read_users(self, users: list[dict[str, Any]]) -> list[T]:
        """The page's user objects (each a dict), read."""
        ...


class _UserObjects:
    """The `PageReader` of `iter_users`: the user objects as JumpCloud sent them."""

    def read_page(self, body: bytes) -> tuple[list[dict[str, Any]], int | None]:
        return _list_body(_decode_json(body), "GET /systemusers")

    def read_users(self, users: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return users


_USER_OBJECTS: Final = _UserObjects()


def _list_params(fields: list[str] | None) -> dict[str, Any]:
    """The query of the user list: 100 per page, by `_id`, only `fields` when given."""
    params: dict[str, Any] = {"limit": PAGE_SIZE, "sort": "_id"}
    if fields:
        params["fields"] = " ".join(fields)
    return params


def _suffix(api_message: str | None) -> str:
    return f": {api_message}" if api_message else ""


def _transport_reason(exc: Exception) -> str:
    """A one-line reason for a transport error, without the long urllib3 chain."""
    if isinstance(exc, requests.Timeout):
        return "timed out"
    return "connection failed or was dropped"


def _list_body(body: Any, what: str) -> tuple[list[dict[str, Any]], int | None]:  # noqa: ANN401
    """`{totalCount, results}` → (results, totalCount); a different shape is an error."""
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        raise JumpCloudError(f"{what}: unexpected response (no `results` list)")
    results = [item for item in body["results"] if isinstance(item, dict)]
    total = body.get("totalCount")
    return results, total if isinstance(total, int) and not isinstance(total, bool) else None


def _user_body(body: Any, what: str) -> dict[str, Any]:  # noqa: ANN401
    """A user object with an id (`_id`, or `id` as some responses have it)."""
    if not isinstance(body, dict) or not (body.get("_id") or body.get("id")):
        raise JumpCloudError(f"{what}: unexpected response (no user id)")
    if not body.get("_id"):
        body["_id"] = body["id"]
    return body


@dataclass
class ScheduleResult:
    """What `schedule_state` achieved: each user's job, or why there is none."""

    jobs: dict[str, ScheduledJob] = field(default_factory=dict)  # user id → its job
    failed: dict[str, JumpCloudError] = field(default_factory=dict)  # user id → the error

    def fail(self, user_ids: list[str], reason: str) -> None:
        """Record one error for each of the users."""
        for user_id in user_ids:
            self.failed[user_id] = JumpCloudError(reason)
