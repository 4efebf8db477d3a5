"""The base stream for Deel's REST API: auth, pacing, retries, error handling, page parsing."""

from __future__ import annotations

import random
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property, wraps
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from singer_sdk import RESTStream
from singer_sdk.authenticators import BearerTokenAuthenticator
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.helpers._util import utc_now
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.pagination import SinglePagePaginator
from singer_sdk.singerlib import RecordMessage
from typing_extensions import override

from tap_deel import errors
from tap_deel.pagination import page_rows, parse_body, parse_json
from tap_deel.passthrough import PassedRecord, PassThrough
from tap_deel.projection import Projector, RecordChecker, compile_projector
from tap_deel.retries import BackoffPolicy, backoff_scale, parse_retry_after
from tap_deel.settings import check_api_url, configured_api_url
from tap_deel.throttle import DEFAULT_MARGIN_SECONDS, SlidingWindowThrottle

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable

    from backoff.types import Details
    from singer_sdk import Tap
    from singer_sdk.helpers._batch import BatchConfig
    from singer_sdk.helpers.types import Context
    from singer_sdk.pagination import BaseAPIPaginator

REQUEST_TIMEOUT_SECONDS = 60


class WholeBodyAdapter(HTTPAdapter):
    """requests' transport, reading each body in one piece instead of 10 kB at a time.

    `Response.content` joins 10 kB chunks: 54 reads for a page of 200 people, about 1.2 ms of
    CPU per page more than one read (measured against the emulator). The body is read by
    requests' own `iter_content`, so transport errors are translated exactly as before.
    """

    @override
    def send(  # type: ignore[override]  # (the base's stub spells the arguments loosely)
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        **kwargs: Any,
    ) -> requests.Response:
        response = super().send(request, stream=True, **kwargs)
        if not stream:  # what `Response.content` does, with one chunk
            response._content = b"".join(response.iter_content(chunk_size=None))
        return response


def http_session() -> requests.Session:
    """A requests session whose bodies are read in one piece (`WholeBodyAdapter`)."""
    session = requests.Session()
    adapter = WholeBodyAdapter()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


@dataclass
class SharedHttp:
    """What every stream of one tap shares: the API base URL, one session, one throttle.

    One `requests.Session` keeps the connection to Deel alive across pages and streams; one
    throttle keeps the whole tap (all streams, retries included) under Deel's rate limit.
    """

    api_url: str
    max_requests_per_second: int
    throttle_margin: float = DEFAULT_MARGIN_SECONDS
    session: requests.Session = field(default_factory=http_session)

    @cached_property
    def base_url(self) -> str:
        """The validated `api_url` (HTTPS unless loopback), checked before the first request."""
        return check_api_url(self.api_url)

    @cached_property
    def throttle(self) -> SlidingWindowThrottle:
        """The tap's one request limiter."""
        return SlidingWindowThrottle(self.max_requests_per_second, margin=self.throttle_margin)


def _path_of(response: requests.Response) -> str:
    return urlsplit(response.url).path or "/"


def _method_of(response: requests.Response) -> str:
    return response.request.method or "GET"


class DeelStream(RESTStream[Any]):
    """A Deel list endpoint: `GET {api_url}{path}` answering `{"data": [...], "page": {...}}`.

    Subclasses set `name`, `path`, `schema`, `required_scope` and, when the endpoint pages,
    `get_new_paginator` and `get_http_request`.
    """

    #: The record schema (see schemas.py); every stream's primary key is `id`.
    record_schema: ClassVar[dict[str, Any]]
    #: The Deel scope the endpoint needs, named when Deel answers 403.
    required_scope: ClassVar[str] = "people:read"
    #: Top-level fields `post_process` reads, and those it sets on every record: a record
    #: passed through as Deel's text (see `passthrough.py`) has these decoded (`_sync_records`).
    read_fields: ClassVar[tuple[str, ...]] = ("id",)
    added_fields: ClassVar[tuple[str, ...]] = ()
    allow_redirects = False  # a redirect never gets to carry the token elsewhere
    #: Records are parsed JSON; `post_process` drops unknown keys, which is all they need
    #: (the SDK's recursive conformance took most of the tap's time on the people schema).
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    #: Retry timing; tests swap in a fast policy.
    backoff_policy: ClassVar[BackoffPolicy] = BackoffPolicy()
    #: Extra random wait as a fraction of each computed wait (never shortens a Retry-After).
    jitter_fraction: ClassVar[float] = 0.1

    def __init__(self, tap: Tap, *, shared: SharedHttp) -> None:
        """Create the stream.

        Args:
            tap: The tap this stream belongs to.
            shared: The tap-wide session, throttle and base URL.
        """
        self.shared = shared
        super().__init__(tap=tap, schema=self.record_schema)
        self._requests_session = shared.session
        # Full table (no replication key): Deel offers no updated-since filter.
        self.primary_keys = ("id",)
        self._warned_paths: set[str] = set()
        self._passing_through = False
        self._page_received_at = utc_now()

    @cached_property
    def projector(self) -> Projector:
        """Drops, in place, whatever the stream schema does not declare."""
        return compile_projector(self.schema)

    @cached_property
    def pass_through(self) -> PassThrough:
        """Reads a row's text into a `PassedRecord` when the projector would change nothing."""
        checker = RecordChecker(self.schema, (*self.read_fields, *self.added_fields))
        return PassThrough(checker, self.added_fields)

    # -- request -----------------------------------------------------------------------------

    @override
    @property
    def url_base(self) -> str:
        return self.shared.base_url

    @override
    @property
    def requests_session(self) -> requests.Session:
        return self.shared.session

    @override
    @cached_property
    def authenticator(self) -> BearerTokenAuthenticator:
        return BearerTokenAuthenticator(token=self.config["api_token"])

    @override
    @cached_property
    def user_agent(self) -> str:
        return f"tap-deel/{self._tap.plugin_version}"

    @override
    @property
    def http_headers(self) -> dict[str, str]:
        return {"Accept": "application/json"}

    @override
    @property
    def timeout(self) -> int:
        return REQUEST_TIMEOUT_SECONDS

    @override
    def request_decorator(
        self, func: Callable[..., requests.Response]
    ) -> Callable[..., requests.Response]:
        """Pace every attempt through the shared throttle, then retry with backoff.

        The throttle sits inside the retry loop, so retries are paced like first attempts.
        """
        throttle = self.shared.throttle

        @wraps(func)
        def paced(*args: Any, **kwargs: Any) -> requests.Response:  # noqa: ANN401
            with throttle.slot():
                return func(*args, **kwargs)

        return super().request_decorator(paced)

    # -- answers -----------------------------------------------------------------------------

    @override
    def validate_response(self, response: requests.Response) -> None:
        """Classify Deel's answer, then parse the body (once; a garbled body is retried).

        Raises:
            DeelAccessError: On 401 (names `api_token`) or 403 (names the missing scope).
            RetriableAPIError: On 429, 5xx, or a 2xx body that is not JSON.
            FatalAPIError: On any other non-2xx status, or a body without a `data` array.
        """
        status = response.status_code
        method, path = _method_of(response), _path_of(response)
        if status == HTTPStatus.UNAUTHORIZED:
            raise errors.DeelAccessError(errors.unauthorized_message(method, path))
        if status == HTTPStatus.FORBIDDEN:
            raise errors.DeelAccessError(
                errors.forbidden_message(method, path, self.name, self.required_scope)
            )
        if status in self.extra_retry_statuses or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            raise RetriableAPIError(self.response_error_message(response), response)
        if not HTTPStatus.OK <= status < HTTPStatus.MULTIPLE_CHOICES:
            raise FatalAPIError(self.response_error_message(response))
        try:
            body = parse_body(response, rows_as_text=self._passing_through)
        except ValueError:
            msg = f"Deel answered {method} {path} with a body that is not JSON"
            raise RetriableAPIError(msg, response) from None
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            msg = f"Deel answered {method} {path} without a `data` array"
            raise FatalAPIError(msg)

    @override
    def response_error_message(self, response: requests.Response) -> str:
        """Status, reason, method and path only: Deel's error bodies can carry people's data."""
        return errors.http_error_message(
            response.status_code,
            response.reason,
            _method_of(response),
            _path_of(response),
            self.name,
        )

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        """The page's `data` rows (the body was parsed once, in `validate_response`).

        While passing through, rows are their JSON text (bytes) and `post_process` reads
        them; an object's text starts with `{` (msgspec gives each row's exact text).
        """
        rows = page_rows(parse_body(response))
        for row in rows:
            if not (isinstance(row, dict) or (isinstance(row, bytes) and row[:1] == b"{")):
                msg = f"Deel answered {_path_of(response)} with a row that is not an object"
                raise FatalAPIError(msg)
        return rows

    @override
    def post_process(
        self, row: dict[str, Any], context: Context | None = None
    ) -> dict[str, Any] | None:
        """Make the row match the schema: fields Deel added since are dropped, with a warning.

        A row still in its JSON text becomes a `PassedRecord` when nothing needs dropping;
        otherwise it is parsed and shaped like any other.
        """
        text: object = row  # (while passing through, rows are JSON text: `_sync_records`)
        if isinstance(text, bytes):
            passed = self.pass_through(text)
            if passed is not None:
                return passed
            row = self._parse_row(text)
        dropped = self.projector(row)
        if dropped and not dropped <= self._warned_paths:
            self._warned_paths |= dropped
            self.logger.warning(
                "Dropping fields the %s schema does not declare: %s",
                self.name,
                ", ".join(sorted(dropped)),
            )
        return row

    def _parse_row(self, text: bytes) -> dict[str, Any]:
        """A row's JSON text, parsed (one the pass-through could not take)."""
        try:
            row = parse_json(text)
        except ValueError:  # (the page was valid JSON: a string that is not UTF-8)
            msg = f"Deel sent a {self.name} row that is not valid UTF-8 JSON"
            raise FatalAPIError(msg) from None
        if not isinstance(row, dict):  # pragma: no cover - parse_response checked the text
            msg = f"Deel sent a {self.name} row that is not an object"
            raise FatalAPIError(msg)
        return row

    @cached_property
    def _plain_records(self) -> bool:
        """Whether a record goes out exactly as `post_process` left it.

        True when every property is selected, the stream map is the SDK's identity map (no
        alias, filter or flattening) and type conformance is off: then the SDK's per-record
        steps (dropping deselected properties, conforming, mapping) all leave the record
        as it is, and skipping them saves about a fifth of the tap's time per person.
        """
        maps = self.stream_maps
        return (
            self.TYPE_CONFORMANCE_LEVEL is TypeConformanceLevel.NONE
            and all(self.mask.values())
            and len(maps) == 1
            and type(maps[0]) is SameRecordTransform
            and maps[0].stream_alias == self.name
            and not maps[0].flattening_enabled
        )

    @override
    def _process_record(
        self,
        record: dict[str, Any],
        child_context: Context | None = None,
        partition_context: Context | None = None,
    ) -> None:
        """The SDK's step for child streams and partitions: nothing to do without either."""
        if self.child_streams or partition_context:
            super()._process_record(record, child_context, partition_context)

    @override
    def _write_record_message(self, record: dict[str, Any]) -> None:
        """Write the SDK's RECORD message for the record, without its no-op steps.

        When `_plain_records` holds, the message is the record as it is; a writer with
        `write_record` (the tap's) encodes it at once, without a message object in between.
        """
        if not self._plain_records:
            super()._write_record_message(record)
            return
        if type(record) is PassedRecord:  # (only while `sync` passes records through)
            self._tap.message_writer.write_record_text(  # type: ignore[attr-defined]
                self.name, record.json(), self._stream_version, self._page_received_at
            )
            return
        write_record = getattr(self._tap.message_writer, "write_record", None)
        if write_record is not None:
            write_record(self.name, record, self._stream_version, self._page_received_at)
            return
        self._tap.write_message(
            RecordMessage(
                stream=self.name,
                record=record,
                version=self._stream_version,
                time_extracted=utc_now(),
            )
        )

    # -- a complete listing: ACTIVATE_VERSION ------------------------------------------------

    @property
    def lists_everything(self) -> bool:
        """Whether this run reads the endpoint's whole list (only then can it be complete)."""
        return True

    @override
    def _write_activate_version_message(self, full_table_version: int) -> None:
        """Hold the ACTIVATE_VERSION the SDK writes as the stream starts, until it is true.

        With `emit_activate_version_messages` on, singer-sdk gives a full-table stream a
        version (its records carry it) and announces it before the first record. A consumer
        that reads the message as "this is the whole table" could not then tell a complete
        listing from one that failed on its first page. So the message waits: it is written
        after the stream's last message, once the listing ended normally
        (`_activate_listed_version`), and never for a run that reads only some records,
        whose records then carry no version either.
        """
        if self.lists_everything:
            self._version_to_activate = full_table_version
        else:
            self._version_to_activate = None
            self._stream_version = None

    def _activate_listed_version(self) -> None:
        """The listing ended normally: write the ACTIVATE_VERSION held back (if any)."""
        version, self._version_to_activate = self._version_to_activate, None
        if version is not None:
            super()._write_activate_version_message(version)

    #: The version the SDK announced for this run, not yet written (see above).
    _version_to_activate: int | None = None

    @override
    def _sync_batches(self, batch_config: BatchConfig, context: Context | None = None) -> None:
        """The SDK's BATCH loop; after its last BATCH message, the held ACTIVATE_VERSION."""
        super()._sync_batches(batch_config, context=context)
        self._activate_listed_version()

    @override
    def _sync_records(
        self, context: Context | None = None, *, write_messages: bool = True
    ) -> Generator[dict[str, Any], Any, Any]:
        """The SDK's record loop, passing rows through as Deel's JSON text where it can.

        Only in this loop are rows and records ours from the page to the output
        (`post_process`, `_write_record_message`), so only here may a row stay text: when
        records are written (not batched) and go out unchanged (`_plain_records`), with no
        child stream, and the tap's writer takes record text. `get_records` called on its
        own always gives parsed rows.
        """
        self._passing_through = (
            write_messages
            and self._plain_records
            and not self.child_streams
            and hasattr(self._tap.message_writer, "write_record_text")
        )
        try:
            yield from super()._sync_records(context, write_messages=write_messages)
        finally:
            self._passing_through = False
        if write_messages:  # (reached only when the listing ended without an error)
            self._activate_listed_version()

    @override
    def request_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """The SDK's paging loop, with the next page requested while this one is emitted.

        Each page is asked for (in a helper thread, still one request at a time through the
        throttle and the retries) as soon as the previous answer says where it starts, so the
        network and Deel's side of the work overlap with shaping and writing the records.
        Requests, their order and their errors are the SDK's: the next page's failure is
        raised only after this page's records are out, where the SDK would have asked for it.
        """
        paginator = self.get_new_paginator() or SinglePagePaginator()
        send = self.request_decorator(self._request)
        flush_output = getattr(self._tap.message_writer, "flush", None)
        pages = 0
        with (
            self.get_http_request_counter() as request_counter,
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{self.name}-fetch") as fetch,
        ):
            request_counter.with_context(context)
            ahead: tuple[requests.PreparedRequest, Future[requests.Response]] | None = None
            try:
                while not paginator.finished:
                    if ahead is None:
                        prepared = self._prepare_request(context=context, page=paginator)
                        ahead = (prepared, fetch.submit(send, prepared, context))
                    prepared, answer = ahead
                    ahead = None
                    response = answer.result()
                    # A page's records were extracted when it arrived: one `time_extracted`
                    # for all of them (the tap's writer then frames them alike, see output.py).
                    self._page_received_at = utc_now()
                    request_counter.increment()
                    self.update_sync_costs(prepared, response, context)
                    records = iter(self.parse_response(response))
                    try:
                        first_record = next(records)
                    except StopIteration:
                        if paginator.continue_if_empty(response):
                            paginator.advance(response)
                            continue
                        self.log(
                            "Pagination stopped after %d pages because no records were "
                            "found in the last response",
                            pages,
                        )
                        break
                    paginator.advance(response)  # (reads this answer only: safe to do early)
                    if not paginator.finished:
                        upcoming = self._prepare_request(context=context, page=paginator)
                        ahead = (upcoming, fetch.submit(send, upcoming, context))
                    yield first_record
                    yield from records
                    pages += 1
                    if flush_output is not None:
                        flush_output()  # this page's records go out before we wait for the next
            finally:
                if ahead is not None:  # stopped early: drop the next page if not yet asked for
                    ahead[1].cancel()

    @override
    def get_new_paginator(self) -> BaseAPIPaginator[Any] | None:
        """Unpaged by default: one request answers the whole list."""
        return None

    # -- retries -----------------------------------------------------------------------------

    @staticmethod
    def _retry_after_of(exception: BaseException) -> float | None:
        response = getattr(exception, "response", None)
        if response is None:
            return None
        return parse_retry_after(response.headers.get("Retry-After"))

    @override
    def backoff_wait_generator(self) -> Generator[float, Any, None]:
        """Capped exponential waits, or the server's Retry-After when it sends one."""
        policy = self.backoff_policy.scaled(backoff_scale())  # 1.0 unless the test knob is set
        return policy.wait_generator(self._retry_after_of)

    @override
    def backoff_max_tries(self) -> int:
        return self.backoff_policy.max_tries

    @override
    def backoff_jitter(self, value: float) -> float:
        """Add up to `jitter_fraction` of the wait, at random; never shorten it."""
        return value * (1.0 + self.jitter_fraction * random.random())  # noqa: S311 -- not crypto

    @override
    def backoff_handler(self, details: Details) -> None:
        """One warning line per retry: what failed and how long we wait (no body, no token)."""
        exception = details.get("exception")
        if isinstance(exception, RetriableAPIError) and exception.response is not None:
            cause = f"HTTP {exception.response.status_code}"
        else:
            cause = type(exception).__name__ if exception is not None else "an error"
        self.logger.warning(
            "Retrying %s (stream '%s') in %.2f s after attempt %d failed with %s",
            self.path,
            self.name,
            details.get("wait", 0.0),
            details.get("tries", 0),
            cause,
        )


def default_shared_http(config: dict[str, Any]) -> SharedHttp:
    """The shared HTTP state for a tap config (no network access).

    Args:
        config: The tap's (validated) config.

    Returns:
        A `SharedHttp` for it.
    """
    return SharedHttp(
        api_url=configured_api_url(config),
        max_requests_per_second=int(config.get("max_requests_per_second") or 5),
    )
