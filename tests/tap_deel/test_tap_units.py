"""Pure pieces of the tap: throttle (fake clock), Retry-After and backoff, api_url, paginators."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime
from typing import Any

import jsonschema
import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st
from singer_sdk.singerlib import RecordMessage, SchemaMessage, StateMessage
from singer_sdk.singerlib.encoding.simple import SimpleSingerWriter
from tap_deel import schemas
from tap_deel.errors import forbidden_message, http_error_message, unauthorized_message
from tap_deel.output import FastSingerWriter
from tap_deel.pagination import DeelCursorPaginator, DeelOffsetPaginator, parse_body
from tap_deel.projection import compile_projector
from tap_deel.retries import BackoffPolicy, parse_retry_after
from tap_deel.settings import ApiUrlError, check_api_url, is_loopback_host
from tap_deel.tap import TapDeel
from tap_deel.throttle import SlidingWindowThrottle

from tests.emulators.workforce import generate_workforce

# -- throttle ------------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def run_requests(
    throttle: SlidingWindowThrottle, clock: FakeClock, durations: list[float]
) -> list[tuple[float, float]]:
    """Send one request per duration; return (start, end) of each."""
    spans = []
    for duration in durations:
        with throttle.slot():
            start = clock.now
            clock.now += duration
        spans.append((start, clock.now))
    return spans


def test_throttle_lets_the_first_burst_through_without_waiting() -> None:
    clock = FakeClock()
    throttle = SlidingWindowThrottle(5, margin=0.05, clock=clock, sleep=clock.sleep)
    run_requests(throttle, clock, [0.01] * 5)
    assert clock.sleeps == []


def test_throttle_spaces_request_n_plus_k_a_window_after_request_ns_completion() -> None:
    clock = FakeClock()
    throttle = SlidingWindowThrottle(5, margin=0.05, clock=clock, sleep=clock.sleep)
    spans = run_requests(throttle, clock, [0.02] * 23)
    for k in range(5, len(spans)):
        assert spans[k][0] >= spans[k - 5][1] + 1.05 - 1e-9
    # ...and not more than needed: the sixth starts exactly one span after the first ended.
    assert spans[5][0] == pytest.approx(spans[0][1] + 1.05)


@given(
    limit=st.integers(min_value=1, max_value=8),
    durations=st.lists(st.floats(min_value=0.0, max_value=0.7), min_size=1, max_size=40),
)
def test_no_window_ever_holds_more_than_the_limit(limit: int, durations: list[float]) -> None:
    clock = FakeClock()
    throttle = SlidingWindowThrottle(limit, margin=0.0, clock=clock, sleep=clock.sleep)
    spans = run_requests(throttle, clock, durations)
    # Any arrival time inside [start, end] is possible; the worst case for a window is the
    # earliest arrival of the later request against the latest arrival of the earlier one.
    for k in range(limit, len(spans)):
        assert spans[k][0] - spans[k - limit][1] >= 1.0 - 1e-9


def test_throttle_counts_failed_requests() -> None:
    clock = FakeClock()
    throttle = SlidingWindowThrottle(2, margin=0.0, clock=clock, sleep=clock.sleep)
    for _ in range(2):
        with pytest.raises(RuntimeError), throttle.slot():
            raise RuntimeError("connection dropped")
    with throttle.slot():
        pass
    assert clock.sleeps == [pytest.approx(1.0)]


def test_throttle_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        SlidingWindowThrottle(0)


# -- Retry-After and backoff ---------------------------------------------------------------------

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("3", 3.0),
        (" 1.5 ", 1.5),
        ("0", 0.0),
        ("-4", 0.0),
        (format_datetime(NOW + timedelta(seconds=7), usegmt=True), 7.0),
        (format_datetime(NOW - timedelta(seconds=30), usegmt=True), 0.0),
        ("Fri, 02 Jan 2026 03:04:15 GMT", 10.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("nan", None),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == expected


def test_backoff_is_exponential_and_capped() -> None:
    policy = BackoffPolicy(base=1.0, factor=2.0, cap=10.0)
    assert [policy.wait(n, None) for n in range(6)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert policy.wait(10_000, None) == 10.0


def test_retry_after_wins_and_is_capped() -> None:
    policy = BackoffPolicy(base=1.0, cap=10.0, retry_after_cap=60.0)
    assert policy.wait(0, 25.0) == 25.0
    assert policy.wait(3, 0.0) == 0.0
    assert policy.wait(0, 3600.0) == 60.0


def test_wait_generator_follows_the_backoff_protocol() -> None:
    class BoomError(Exception):
        def __init__(self, retry_after: float | None) -> None:
            super().__init__("boom")
            self.retry_after = retry_after

    policy = BackoffPolicy(base=0.5, factor=2.0, cap=100.0)
    gen = policy.wait_generator(lambda exc: getattr(exc, "retry_after", None))
    gen.send(None)  # priming, as the backoff library does
    assert gen.send(BoomError(None)) == 0.5
    assert gen.send(BoomError(None)) == 1.0
    assert gen.send(BoomError(4.0)) == 4.0
    assert gen.send(BoomError(None)) == 4.0  # the exponential sequence kept counting


# -- api_url ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://api.letsdeel.com/rest/v2",
        "https://api-sandbox.demo.deel.com/rest/v2/",
        "HTTPS://API.LETSDEEL.COM/rest/v2",
        "http://localhost:8080/rest/v2",
        "http://127.0.0.1:5000/rest/v2",
        "http://127.9.8.7/rest/v2",
        "http://[::1]:8000/rest/v2",
    ],
)
def test_allowed_api_urls(url: str) -> None:
    assert check_api_url(url) == url.rstrip("/")


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("http://api.letsdeel.com/rest/v2", "HTTPS is required"),
        ("http://10.0.0.5/rest/v2", "HTTPS is required"),
        ("http://localhost.evil.com/rest/v2", "HTTPS is required"),
        ("http://128.0.0.1/rest/v2", "HTTPS is required"),
        ("ftp://api.letsdeel.com", "must start with https"),
        ("api.letsdeel.com/rest/v2", "must start with https"),
        ("https:///rest/v2", "no host"),
        ("https://user:pw@api.letsdeel.com/rest/v2", "credentials"),
        ("https://api.letsdeel.com/rest/v2?token=abc", "query"),
        ("https://api.letsdeel.com:99999/rest/v2", "not a valid URL"),
    ],
)
def test_refused_api_urls_name_the_setting(url: str, fragment: str) -> None:
    with pytest.raises(ApiUrlError, match=fragment) as info:
        check_api_url(url)
    assert "api_url" in str(info.value)
    assert "abc" not in str(info.value)
    assert "pw" not in str(info.value)


def test_loopback_hosts() -> None:
    assert is_loopback_host("localhost")
    assert is_loopback_host("127.0.0.1")
    assert is_loopback_host("::1")
    assert not is_loopback_host("0.0.0.0")
    assert not is_loopback_host("example.com")


# -- paginators ------------------------------------------------------------------------------------


def make_response(body: Any, status: int = 200) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    response.url = "http://127.0.0.1/rest/v2/people"
    return response


def people_page(n: int, offset: int = 0, total: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"data": [{"id": f"p{offset + i}"} for i in range(n)]}
    if total is not None:
        body["page"] = {"offset": offset, "total_rows": total, "items_per_page": 200}
    return body


def walk_offsets(pages: list[dict[str, Any]], page_size: int) -> list[int]:
    """Feed pages to the paginator; return the offsets it asked for."""
    paginator = DeelOffsetPaginator(page_size)
    asked = []
    for body in pages:
        asked.append(paginator.current_value)
        paginator.advance(make_response(body))
        if paginator.finished:
            break
    return asked


def test_offset_exact_multiple_stops_on_total_rows_without_an_empty_page() -> None:
    pages = [people_page(200, 0, 400), people_page(200, 200, 400), people_page(0, 400, 400)]
    assert walk_offsets(pages, 200) == [0, 200]


def test_offset_short_page_stops_without_total() -> None:
    pages = [people_page(200, 0), people_page(5, 200), people_page(0, 205)]
    assert walk_offsets(pages, 200) == [0, 200]


def test_offset_full_page_without_total_needs_one_more() -> None:
    pages = [people_page(200, 0), people_page(0, 200)]
    assert walk_offsets(pages, 200) == [0, 200]


def test_offset_empty_first_page_stops() -> None:
    assert walk_offsets([people_page(0, 0, 0)], 200) == [0]


def test_offset_total_rows_wins_over_a_short_page() -> None:
    # Deel capping the limit at 100 while 250 rows exist: keep going, advance by rows received.
    pages = [people_page(100, 0, 250), people_page(100, 100, 250), people_page(50, 200, 250)]
    assert walk_offsets(pages, 200) == [0, 100, 200]


def test_cursor_paginator_follows_to_the_end() -> None:
    paginator = DeelCursorPaginator()
    seen = [paginator.current_value]
    for body in (
        {"data": [{"id": 1}], "page": {"cursor": "c1"}},
        {"data": [{"id": 2}], "page": {"cursor": "c2"}},
        {"data": [{"id": 3}], "page": {"cursor": ""}},
    ):
        paginator.advance(make_response(body))
        if paginator.finished:
            break
        seen.append(paginator.current_value)
    assert seen == [None, "c1", "c2"]
    assert paginator.finished


@pytest.mark.parametrize(
    "body",
    [
        {"data": [{"id": 1}], "page": {"cursor": None}},
        {"data": [{"id": 1}], "page": {}},
        {"data": [{"id": 1}]},
        {"data": [], "page": {"cursor": "more"}},
    ],
)
def test_cursor_paginator_stops_on_absent_cursor_or_empty_page(body: dict[str, Any]) -> None:
    paginator = DeelCursorPaginator()
    paginator.advance(make_response(body))
    assert paginator.finished


def test_cursor_loop_is_detected() -> None:
    paginator = DeelCursorPaginator()
    paginator.advance(make_response({"data": [{"id": 1}], "page": {"cursor": "same"}}))
    with pytest.raises(RuntimeError, match="Loop detected"):
        paginator.advance(make_response({"data": [{"id": 2}], "page": {"cursor": "same"}}))


def test_body_is_parsed_once_and_errors_hide_the_body() -> None:
    response = make_response({"data": []})
    first = parse_body(response)
    assert parse_body(response) is first
    garbled = requests.Response()
    garbled._content = b"<html>Jane Doe, salary 100000</html>"
    with pytest.raises(ValueError, match="not JSON") as info:
        parse_body(garbled)
    assert "Jane" not in str(info.value)


# -- messages -------------------------------------------------------------------------------------


def test_error_messages_name_the_setting_or_scope() -> None:
    assert "api_token" in unauthorized_message("GET", "/rest/v2/people")
    forbidden = forbidden_message("GET", "/rest/v2/contracts", "contracts", "contracts:read")
    assert "contracts:read" in forbidden
    assert "'contracts'" in forbidden
    assert http_error_message(503, "", "GET", "/x", "people").startswith(
        "Deel answered 503 Service Unavailable to GET /x"
    )


# -- projection -----------------------------------------------------------------------------------


def test_projection_drops_unknown_keys_at_every_level() -> None:
    project = compile_projector(schemas.PEOPLE)
    record = {
        "id": "p",
        "surprise": 1,
        "emails": [{"type": "work", "value": "a@b.c", "primary": True}, None],
        "department": {"id": "d", "name": "Eng", "parent": None, "code": "E"},
        "employments": [
            {"id": "e", "team": {"id": 1, "name": "T", "lead": "x"}, "extra": []},
            "junk",
        ],
        "direct_manager": None,
    }
    dropped = project(record)
    assert dropped == {
        "surprise",
        "emails[].primary",
        "department.code",
        "employments[].extra",
        "employments[].team.lead",
    }
    assert record == {
        "id": "p",
        "emails": [{"type": "work", "value": "a@b.c"}, None],
        "department": {"id": "d", "name": "Eng", "parent": None},
        "employments": [{"id": "e", "team": {"id": 1, "name": "T"}}, "junk"],
        "direct_manager": None,
    }


def test_projection_keeps_free_form_objects_and_known_records_intact() -> None:
    group = {"id": "g", "name": "G", "external_metadata": {"anything": {"goes": 1}}}
    assert compile_projector(schemas.GROUPS)(group) == set()
    assert group["external_metadata"] == {"anything": {"goes": 1}}

    people = compile_projector(schemas.PEOPLE)
    for person in generate_workforce(60, seed=2).people:
        before = json.dumps(person, sort_keys=True)
        assert people(person) == set()
        assert json.dumps(person, sort_keys=True) == before


def test_every_stream_schema_is_a_valid_json_schema() -> None:
    tap = TapDeel(config={"api_token": "x"})
    for stream in tap.streams.values():
        jsonschema.Draft202012Validator.check_schema(stream.schema)
        jsonschema.Draft7Validator.check_schema(stream.schema)
        assert stream.schema["properties"]["id"]["type"] in (["string"], ["integer", "string"])


# -- output ---------------------------------------------------------------------------------------


def test_fast_writer_writes_what_the_sdk_writer_writes() -> None:
    record = {
        "id": "p",
        "full_name": "Łukasz Wójcik 王伟",
        "rate": 7800.5,
        "count": 3,
        "big": 10**20,
        "none": None,
        "flags": [True, False],
        "nested": {"a": [1.25, 'x\n"y"']},
    }
    messages = [
        SchemaMessage("people", {"type": "object"}, ["id"]),
        RecordMessage("people", record, time_extracted=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        RecordMessage("people", record, version=3),
        StateMessage({"bookmarks": {"people": {}}}),
    ]
    fast, sdk = FastSingerWriter(), SimpleSingerWriter()
    for message in messages:
        # The same JSON, keys in the same order; RECORD lines are UTF-8 (`Ł`, not `\u0141`).
        ours, theirs = fast.format_message(message), sdk.format_message(message)
        assert json.loads(ours, object_pairs_hook=list) == json.loads(
            theirs, object_pairs_hook=list
        )
        assert ours == theirs or isinstance(message, RecordMessage)


def test_fast_writer_writes_decimals_and_nan_as_the_sdk_writes_them() -> None:
    for value in (Decimal("1.10"), float("nan")):
        message = RecordMessage("s", {"id": "x", "v": value})
        line = FastSingerWriter().format_message(message)
        assert line == SimpleSingerWriter().format_message(message)
        json.loads(line)  # still valid JSON (NaN becomes null)
