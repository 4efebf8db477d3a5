"""The tap's streams: people (with derived fields) and the organisation data around them."""

from __future__ import annotations

import copy
import sys
from functools import cached_property
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, ClassVar

from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.helpers._util import utc_now
from singer_sdk.singerlib import SchemaMessage, StateMessage
from typing_extensions import override

from tap_deel import schemas
from tap_deel.client import DeelStream
from tap_deel.derived import (
    DERIVED_FIELDS,
    DERIVED_FROM,
    add_derived_fields,
    has_work_email,
    rehire_search_email,
)
from tap_deel.errors import PersonNotFoundError
from tap_deel.pagination import DeelCursorPaginator, DeelOffsetPaginator, parse_body
from tap_deel.people_by_id import configured_person_ids, person_of, person_path
from tap_deel.settings import DEFAULT_ACTIVE_HIRING_STATUSES, MAX_PAGE_SIZE

#: A keyword in a stream's JSON schema: "STATE" means the tap writes a STATE message after the
#: stream's last record, so a stream that ends without one was cut short.
STREAM_END_KEYWORD = "x-singer-stream-end"

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable, Iterator

    import requests
    from singer_sdk import metrics
    from singer_sdk.helpers.types import Context
    from singer_sdk.streams.rest import HTTPRequest, PageContext


class _PagedStream(DeelStream):
    """A paged endpoint; `max_page_size` is the endpoint's own largest `limit`."""

    max_page_size: ClassVar[int] = MAX_PAGE_SIZE

    @cached_property
    def page_size(self) -> int:
        """The `limit` sent: the setting `page_size`, capped at the endpoint's maximum."""
        return max(1, min(int(self.config.get("page_size") or MAX_PAGE_SIZE), self.max_page_size))


class OffsetStream(_PagedStream):
    """Record-offset paging (`offset`, `limit`).

    Every row Deel returns is emitted, repeats included: should a row move between pages
    while Deel's data changes, or Deel list one profile twice, deciding which copy counts is
    the consumer's job (target-jumpcloud takes the last one, docs/sync-rules.md; a warehouse
    loader upserts by key).
    """

    @override
    def get_new_paginator(self) -> DeelOffsetPaginator:
        return DeelOffsetPaginator(self.page_size)

    @override
    def get_http_request(self, *, page: PageContext[Any]) -> HTTPRequest:
        request = super().get_http_request(page=page)
        request.params["offset"] = page.next_page_token or 0
        request.params["limit"] = self.page_size
        return request


class CursorStream(_PagedStream):
    """Opaque-cursor paging: `page.cursor` goes back as `cursor_param`."""

    cursor_param: ClassVar[str] = "cursor"

    @override
    def get_new_paginator(self) -> DeelCursorPaginator:
        return DeelCursorPaginator()

    @override
    def get_http_request(self, *, page: PageContext[Any]) -> HTTPRequest:
        request = super().get_http_request(page=page)
        request.params[self.cursor_param] = page.next_page_token  # None: not sent
        request.params["limit"] = self.page_size
        return request


class PeopleStream(OffsetStream):
    """Every person from `GET /people`, plus the derived fields.

    With the setting `person_ids`, only those people, one `GET /people/{id}` each, and
    the other profiles with each named leaver's work email. With the setting
    `emit_activate_version_messages`, a complete listing ends with ACTIVATE_VERSION.
    """

    name = "people"
    path = "/people"
    record_schema = schemas.PEOPLE
    required_scope = "people:read"
    read_fields = ("id", *DERIVED_FROM)
    added_fields = DERIVED_FIELDS
    #: No STATE in the middle of the list (a full-table stream has no progress to save), so a
    #: STATE after a person is the end of the list.
    STATE_MSG_FREQUENCY = sys.maxsize

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """The people, then a STATE message that closes the list.

        A consumer that needs the whole list (target-jumpcloud plans suspensions from it) can
        then tell a list the tap finished from one cut short by a crash, a kill or retries
        running out: the STATE after the last person is missing. The SDK writes a STATE only
        when the state changed since the last one it wrote, so this one is written directly:
        the list is closed whatever the state holds.
        """
        yield from super().get_records(context)
        _ = self.stream_state  # the stream's entry exists in the state written
        self._tap.write_message(StateMessage(value=copy.deepcopy(self.tap_state)))

    @override
    def _generate_schema_messages(self) -> Generator[SchemaMessage, None, None]:
        """The SDK's SCHEMA messages, announcing the closing STATE (see `get_records`)."""
        for message in super()._generate_schema_messages():
            message.schema = {**message.schema, STREAM_END_KEYWORD: "STATE"}
            yield message

    @cached_property
    def active_hiring_statuses(self) -> frozenset[str]:
        """The setting `active_hiring_statuses`, as a set."""
        configured = self.config.get("active_hiring_statuses")
        if configured is None:
            configured = DEFAULT_ACTIVE_HIRING_STATUSES
        return frozenset(configured)

    @override
    def get_http_request(self, *, page: PageContext[Any]) -> HTTPRequest:
        request = super().get_http_request(page=page)
        # A fixed order keeps offset pages consistent with each other.
        request.params["sort_by"] = "id"
        request.params["sort_order"] = "asc"
        hiring_types = self.config.get("hiring_types")
        if hiring_types:
            request.params["hiring_types"] = list(hiring_types)  # sent as a repeated key
        if self._searching_for is not None:  # (the re-hire search, see below)
            request.params["search"] = self._searching_for
        return request

    @override
    def post_process(
        self, row: dict[str, Any], context: Context | None = None
    ) -> dict[str, Any] | None:
        person = super().post_process(row, context)
        if person is None:
            return None

        def warn(source: str) -> None:  # (rare: a last day Deel mistyped)
            self.logger.warning(
                "Person %s: %s holds no readable date; it does not count as a last day",
                person.get("id"),
                source,
            )

        return add_derived_fields(person, self.active_hiring_statuses, warn)

    # -- only some people: the setting `person_ids` ------------------------------------------

    @cached_property
    def person_ids(self) -> tuple[str, ...] | None:
        """The setting `person_ids` without repeats; None to list everyone."""
        return configured_person_ids(self.config)

    @override
    @property
    def lists_everything(self) -> bool:
        """Only a run without `person_ids` reads everyone (and may say so)."""
        return self.person_ids is None

    @override
    def request_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """The list endpoint's pages, or with `person_ids` one request per person."""
        if self.person_ids is None:
            yield from super().request_records(context)
            return
        yield from self._request_people_by_id(self.person_ids, context)

    def _request_people_by_id(
        self, person_ids: tuple[str, ...], context: Context | None
    ) -> Iterator[dict[str, Any]]:
        """`GET /people/{id}` for each id, in order, then the re-hire searches.

        Every request goes through the tap's throttle and retries. A 404 is one warning line
        and the next person; so is a person of a type that the setting `hiring_types` leaves
        out (the list endpoint would not have sent them either). Any other refusal ends the
        run as on the list endpoint.

        Then, for each person read who is not active and has a work email, the other
        profiles with that work email (`_people_with_work_email`): a re-hire's new, active
        profile is then read with the old one, so the target decides between them as it does
        in a full sync. Each profile is emitted once, whether named or found.
        """
        send = self.request_decorator(self._request)
        flush_output = getattr(self._tap.message_writer, "flush", None)
        emitted: set[str] = set()
        searches: dict[str, str] = {}  # work email (casefolded) -> as the person has it
        with self.get_http_request_counter() as request_counter:
            request_counter.with_context(context)
            for person_id in person_ids:
                person = self._request_one_person(person_id, send, request_counter, context)
                if person is None:
                    continue
                emitted.update({person_id.lower(), str(person.get("id")).lower()})
                email = rehire_search_email(person, self.active_hiring_statuses)
                if email is not None:
                    searches.setdefault(email.casefold(), email)
                yield person
                if flush_output is not None:
                    flush_output()  # a targeted sync is small: each person goes out at once
            for email in searches.values():
                for person in self._people_with_work_email(email, send, request_counter, context):
                    key = str(person.get("id")).lower()
                    if key in emitted:
                        continue
                    emitted.add(key)
                    yield person
                if flush_output is not None:
                    flush_output()

    def _request_one_person(
        self,
        person_id: str,
        send: Callable[..., requests.Response],
        request_counter: metrics.Counter,
        context: Context | None,
    ) -> dict[str, Any] | None:
        """One `GET /people/{id}`: the person, or None when skipped (404, or `hiring_types`)."""
        prepared = self.build_prepared_request(
            method="GET",
            url=self.url_base + person_path(person_id),
            headers=self.http_headers,
        )
        self._fetching_one_person = True
        try:
            response = send(prepared, context)
        except PersonNotFoundError:
            self.logger.warning(
                "Skipping person %s: Deel answered 404 (deleted, or not visible to this token)",
                person_id,
            )
            return None
        finally:
            self._fetching_one_person = False
        self._page_received_at = utc_now()
        request_counter.increment()
        self.update_sync_costs(prepared, response, context)
        person = person_of(parse_body(response))
        if person is None:  # pragma: no cover - validate_response checked the body
            return None
        if not self._of_wanted_type(person):
            self.logger.info(
                "Skipping person %s: hiring type %r is not in the setting hiring_types",
                person_id,
                person.get("hiring_type"),
            )
            return None
        return person

    def _people_with_work_email(
        self,
        email: str,
        send: Callable[..., requests.Response],
        request_counter: metrics.Counter,
        context: Context | None,
    ) -> list[dict[str, Any]]:
        """The profiles whose work email is `email` (any case), from `GET /people?search=`.

        Deel's search matches any part of a name or address, so only exact matches of the
        derived work email are kept. One request, with the list endpoint's parameters
        (`hiring_types` included); more pages only if Deel found more than a page of matches.
        Throttle, retries and errors are those of every request; a 404 skips the search
        with a warning, as it skips a person.
        """
        paginator = DeelOffsetPaginator(self.page_size)
        found: list[dict[str, Any]] = []
        self._searching_for = email
        try:
            while not paginator.finished:
                prepared = self._prepare_request(context=context, page=paginator)
                try:
                    response = send(prepared, context)
                except PersonNotFoundError:
                    self.logger.warning(
                        "Skipping the search for other profiles with a leaver's work email: "
                        "Deel answered 404"
                    )
                    return found
                self._page_received_at = utc_now()
                request_counter.increment()
                self.update_sync_costs(prepared, response, context)
                for row in self.parse_response(response):
                    text: object = row  # (Deel's JSON text while passing through: see client)
                    person = self._parse_row(text) if isinstance(text, bytes) else row
                    if has_work_email(person, email) and self._of_wanted_type(person):
                        found.append(person)
                paginator.advance(response)
        finally:
            self._searching_for = None
        return found

    def _of_wanted_type(self, person: dict[str, Any]) -> bool:
        """Whether the setting `hiring_types` (when set) lets this person through."""
        hiring_types = self.config.get("hiring_types")
        return not hiring_types or person.get("hiring_type") in hiring_types

    #: The work email being searched for (`_people_with_work_email`), else None.
    _searching_for: str | None = None

    #: Set while one person is being fetched: `validate_response` then expects `{data: {}}`.
    _fetching_one_person = False

    @override
    def validate_response(self, response: requests.Response) -> None:
        """The list endpoint's checks; for one person, a 404 skips and `data` is an object.

        A re-hire search is a list request: the list's checks, but a 404 skips it.

        Raises:
            PersonNotFoundError: Deel answered 404 for one person, or for a search.
            RetriableAPIError: A person's 2xx answer that is not JSON.
            FatalAPIError: A person's 2xx answer without a `data` object.
        """
        if self._searching_for is not None and response.status_code == HTTPStatus.NOT_FOUND:
            raise PersonNotFoundError(self.response_error_message(response))
        if not self._fetching_one_person:
            super().validate_response(response)
            return
        status = response.status_code
        if status == HTTPStatus.NOT_FOUND:
            raise PersonNotFoundError(self.response_error_message(response))
        if not HTTPStatus.OK <= status < HTTPStatus.MULTIPLE_CHOICES:
            super().validate_response(response)  # raises: the same errors as for a page
            return
        try:
            body = parse_body(response)
        except ValueError:
            msg = "Deel answered GET /people/{id} with a body that is not JSON"
            raise RetriableAPIError(msg, response) from None
        if person_of(body) is None:
            msg = "Deel answered GET /people/{id} without a `data` object"
            raise FatalAPIError(msg)


class ManagersStream(OffsetStream):
    """`GET /managers`: people who manage others (offset-paged; `limit` at most 100)."""

    name = "managers"
    path = "/managers"
    record_schema = schemas.MANAGERS
    required_scope = "organizations:read"
    max_page_size = 100


class ContractsStream(CursorStream):
    """`GET /contracts` (cursor-paged with `after_cursor`; `limit` at most 99)."""

    name = "contracts"
    path = "/contracts"
    record_schema = schemas.CONTRACTS
    required_scope = "contracts:read"
    cursor_param = "after_cursor"
    max_page_size = 99


class LegalEntitiesStream(CursorStream):
    """`GET /legal-entities` (cursor-paged; `limit` at most 100)."""

    name = "legal_entities"
    path = "/legal-entities"
    record_schema = schemas.LEGAL_ENTITIES
    required_scope = "organizations:read"
    max_page_size = 100


class GroupsStream(CursorStream):
    """`GET /groups` (cursor-paged; `limit` at most 100)."""

    name = "groups"
    path = "/groups"
    record_schema = schemas.GROUPS
    required_scope = "groups:read"
    max_page_size = 100


class TeamsStream(DeelStream):
    """`GET /teams` (one page)."""

    name = "teams"
    path = "/teams"
    record_schema = schemas.TEAMS
    required_scope = "organizations:read"


class DepartmentsStream(DeelStream):
    """`GET /departments` (one page)."""

    name = "departments"
    path = "/departments"
    record_schema = schemas.DEPARTMENTS
    required_scope = "organizations:read"


class WorkingLocationsStream(DeelStream):
    """`GET /working-locations` (one page)."""

    name = "working_locations"
    path = "/working-locations"
    record_schema = schemas.WORKING_LOCATIONS
    required_scope = "organizations:read"


class OrganizationsStream(DeelStream):
    """`GET /organizations` (one page: the token's own organisation)."""

    name = "organizations"
    path = "/organizations"
    record_schema = schemas.ORGANIZATIONS
    required_scope = "organizations:read"


STREAM_TYPES: tuple[type[DeelStream], ...] = (
    PeopleStream,
    ContractsStream,
    LegalEntitiesStream,
    GroupsStream,
    ManagersStream,
    TeamsStream,
    DepartmentsStream,
    WorkingLocationsStream,
    OrganizationsStream,
)
