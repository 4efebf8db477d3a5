"""JumpCloud's V1 system users: the listing (the directory snapshot), look-ups, writes."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeVar

import msgspec

from target_jumpcloud.jumpcloud.errors import AuthenticationError, JumpCloudError
from target_jumpcloud.jumpcloud.transport import (
    HTTP_BAD_REQUEST,
    HTTP_NOT_FOUND,
    PAGE_SIZE,
    Transport,
    decode_json,
    list_body,
    suffix,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    import requests

    from target_jumpcloud.jumpcloud.retries import RetryBudget


logger = logging.getLogger("target-jumpcloud.client")
T = TypeVar("T")


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
        return list_body(decode_json(body), "GET /systemusers")

    def read_users(self, users: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return users


_USER_OBJECTS: Final = _UserObjects()


def _list_params(fields: list[str] | None) -> dict[str, Any]:
    """The query of the user list: 100 per page, by `_id`, only `fields` when given."""
    params: dict[str, Any] = {"limit": PAGE_SIZE, "sort": "_id"}
    if fields:
        params["fields"] = " ".join(fields)
    return params


def _user_body(body: Any, what: str) -> dict[str, Any]:  # noqa: ANN401
    """A user object with an id (`_id`, or `id` as some responses have it)."""
    if not isinstance(body, dict) or not (body.get("_id") or body.get("id")):
        raise JumpCloudError(f"{what}: unexpected response (no user id)")
    if not body.get("_id"):
        body["_id"] = body["id"]
    return body


class UsersAPI(Transport):
    """The V1 `/systemusers` calls, over the shared transport."""

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
        if self.org_id and exc.status in {HTTP_BAD_REQUEST, HTTP_NOT_FOUND}:
            return AuthenticationError(
                f"JumpCloud refused the organisation id (HTTP {exc.status}"
                f"{suffix(exc.api_message)}); check the setting `org_id`",
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
            results, total = list_body(self._decode(response, what), what)
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

    def create_user(
        self, payload: Mapping[str, Any], *, budget: RetryBudget | None = None
    ) -> dict[str, Any]:
        """POST a new user; returns JumpCloud's user object (with `_id`).

        Only a 429 is retried here (JumpCloud refused the request, nothing was stored).
        `budget`: the retries of this create's first POST, when the applier sends it again.

        Raises:
            UnknownOutcomeError: timeout, dropped connection or 5xx: the user may exist now.
            JumpCloudError: any other refusal (a 400 carries JumpCloud's message).
        """
        body = self._request(
            "POST", "/systemusers", json_body=payload, idempotent=False, budget=budget
        )
        return _user_body(body, "POST /systemusers")

    def update_user(self, user_id: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """PUT the changed attributes of one user; idempotent, so every transient error retries."""
        body = self._request("PUT", f"/systemusers/{user_id}", json_body=payload)
        return _user_body(body, "PUT /systemusers/{id}")

    # -- leaver steps (docs/leavers.md) ------------------------------------------------------

    def reset_mfa(self, user_id: str) -> None:
        """Reset the user's MFA (`POST /systemusers/{id}/resetmfa`, no exclusion).

        Safe to repeat (a second reset leaves the user as the first did), so every transient
        error is retried as for a PUT.
        """
        self._request("POST", f"/systemusers/{user_id}/resetmfa", json_body={})

    def expire_password(self, user_id: str) -> None:
        """Expire the user's password (`POST /systemusers/{id}/expire`): a new one at next login.

        Safe to repeat, so retried as a PUT is.
        """
        self._request("POST", f"/systemusers/{user_id}/expire")
