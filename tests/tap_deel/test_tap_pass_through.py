"""Records passed through as Deel's JSON text mean exactly what parsed and shaped ones mean.

The tap writes most people as the text Deel sent plus the derived fields (passthrough.py);
anything the projection would change goes the slow way. These tests pin that the two ways
give the same records, key order included, and that the fast way is really taken.
"""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING, Any
from unittest import mock

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tap_deel import schemas
from tap_deel.pagination import parse_body
from tap_deel.passthrough import PassedRecord
from tap_deel.projection import RecordChecker, compile_projector

from tests.emulators.workforce import generate_workforce, primary_employment, work_email_of
from tests.tap_deel.tap_helpers import run_tap, tap_config
from tests.tap_deel.test_tap_fast_paths import _response

if TYPE_CHECKING:
    from tests.emulators.base import EmulatorServer

PERSON = generate_workforce(1, seed=5).people[0]
PLAIN = ("id", "hiring_status", "emails", "employments", "work_email", "active", "team")


@pytest.fixture
def server(deel_emulator: EmulatorServer) -> EmulatorServer:
    deel_emulator.app.rate_limit_enabled = False
    return deel_emulator


def ordered(value: Any) -> Any:
    """Objects as lists of pairs, so that comparing two values compares key order too."""
    return json.loads(json.dumps(value), object_pairs_hook=list)


def person(**changes: Any) -> dict[str, Any]:
    changed = copy.deepcopy(PERSON)
    changed.update(changes)
    return changed


def odd_people() -> dict[str, dict[str, Any]]:
    """People each of which must take the slow way, or tests an edge of the fast one."""
    employment = PERSON["employments"][0]
    return {
        "new top-level key": person(id="p-01", brand_new="x"),
        "new key in an object": person(id="p-02", department={"id": "d", "name": "D", "x": 1}),
        "new key in an array item": person(
            id="p-03", emails=[{"type": "work", "value": "a@b.c", "x": 1}]
        ),
        "new key deep in employments": person(
            id="p-04", employments=[dict(employment, team={"id": "t", "name": "T", "x": 1})]
        ),
        "a field the tap sets": person(id="p-05", work_email="sent@deel.example", team={"a": 1}),
        "object where a string is": person(id="p-06", department="Sales"),
        "no keys but the id": {"id": "p-07"},
        "nulls everywhere": dict.fromkeys(PERSON, None) | {"id": "p-08"},
        "non-ASCII and escapes": person(
            id="p-09", first_name='Zoë \u2028 \\ "q" 😀', last_name="王\u0000伟"
        ),
        "numbers of every kind": person(id="p-10", worker_id=10**20, direct_reports_count=-0.0),
    }


def test_the_pass_through_and_the_sdk_writer_emit_the_same_records(
    server: EmulatorServer, deel_api_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    workforce = generate_workforce(150, seed=31)
    server.app.set_workforce(workforce)
    cases = odd_people()
    for case in cases.values():
        server.app.add_person(case)
    config = tap_config(deel_api_url, page_size=40)

    with mock.patch.object(
        PassedRecord, "json", autospec=True, side_effect=PassedRecord.json
    ) as spy:
        fast = run_tap(config, ["people"])
    slow = run_tap(config, ["people"], sdk_writer=True)

    assert ordered(fast.records["people"]) == ordered(slow.records["people"])
    assert len(fast.records["people"]) == len(workforce.people) + len(cases)
    # Every generated person and the plain odd ones went the fast way; the rest did not.
    slow_way = {"p-01", "p-02", "p-03", "p-04", "p-05", "p-06"}
    passed = {call.args[0]["id"] for call in spy.call_args_list}
    assert passed == {p["id"] for p in workforce.people} | {
        case["id"] for case in cases.values() if case["id"] not in slow_way
    }
    assert "brand_new" in caplog.text  # the dropped field is still named once
    by_id = {record["id"]: record for record in fast.records["people"]}
    # Derived, replacing the values Deel sent under those names:
    assert by_id["p-05"]["work_email"] == work_email_of(PERSON) != "sent@deel.example"
    employment = primary_employment(PERSON)
    assert employment is not None
    assert by_id["p-05"]["team"] == employment["team"]["name"]


def test_passed_records_keep_deels_text_and_append_the_derived_fields() -> None:
    text = b'{"id": "a", "emails": [] }'
    record = PassedRecord(text, {"id": "a", "emails": []})
    assert record.json() == text  # nothing added: the very text
    record["work_email"] = "é@x"
    record["active"] = True
    assert record.json() == b'{"id": "a", "emails": [],"work_email":"\xc3\xa9@x","active":true}'
    empty = PassedRecord(b"{ }", {})
    empty["team"] = None
    assert empty.json() == b'{"team":null}'
    assert json.loads(empty.json()) == {"team": None}


@pytest.mark.parametrize(
    ("content", "rows_as_text"),
    [
        (b'{"data": [{"id": "a"}, {"id" : "b"}], "page": {"offset": 0}, "x": 1}', True),
        (b'{"data": [{"id": "a"}],\n "page": {}}', False),  # a line break: parsed in full
        (b'{"data": {"id": "a"}}', False),  # not an envelope with rows: parsed in full
        (b'{"data": [{"v": NaN}]}', False),  # msgspec refuses it: json.loads decides
    ],
)
def test_pages_keep_their_rows_as_text_only_when_they_can(
    content: bytes, rows_as_text: bool
) -> None:
    body = parse_body(_response(content), rows_as_text=True)
    if rows_as_text:
        assert body == {"data": [b'{"id": "a"}', b'{"id" : "b"}'], "page": {"offset": 0}}
    else:
        assert not any(isinstance(row, bytes) for row in body["data"] or [])
        assert json.dumps(body, default=str) == json.dumps(json.loads(content), default=str)


CHECKER = RecordChecker(schemas.PEOPLE, PLAIN)
PROJECT = compile_projector(schemas.PEOPLE)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every object in a record (as a path of keys and indexes), the record itself first."""
    found = [path] if isinstance(value, dict) else []
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, child in items:
        found += _paths(child, (*path, key))
    return found


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_the_checker_takes_a_record_exactly_when_the_projection_would_drop_nothing(
    data: st.DataObject,
) -> None:
    record = copy.deepcopy(PERSON)
    for _ in range(data.draw(st.integers(0, 2))):  # new keys at random places, or none
        where = data.draw(st.sampled_from(_paths(record)))
        target = record
        for step in where:
            target = target[step]
        target[data.draw(st.sampled_from(["x", "name", "id", "é"]))] = data.draw(
            st.none() | st.integers() | st.text(max_size=3)
        )
    text = msgspec.json.encode(record)
    decoded = CHECKER(text)
    projected = copy.deepcopy(record)
    dropped = PROJECT(projected)
    assert (decoded is not None) == (not dropped)
    if decoded is not None:
        assert decoded == {key: record[key] for key in PLAIN if key in record}


def test_the_checker_gives_the_fields_it_reads_as_plain_json_values() -> None:
    text = (
        b'{"id": "a", "hiring_status": "active", "emails": [{"type": "work"}],'
        b' "employments": [{"is_ended": null, "team": {"name": "T"}}, null],'
        b' "first_name": "Zo\xc3\xab"}'
    )
    assert CHECKER(text) == {
        "id": "a",
        "hiring_status": "active",
        "emails": [{"type": "work"}],  # (absent keys stay absent, nulls stay null)
        "employments": [{"is_ended": None, "team": {"name": "T"}}, None],
    }
    assert CHECKER(b'{"id": "a", "employments": [{"team": {"name": "T", "x": 1}}]}') is None
    assert CHECKER(b'{"id": "a", "emails": "work@x.io"}') is None  # (another shape)
    assert CHECKER(b'{"id": "a"') is None  # (not JSON)
