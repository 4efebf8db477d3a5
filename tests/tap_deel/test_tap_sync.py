"""The tap against the Deel emulator over loopback: records, schemas, paging, derived fields."""

from __future__ import annotations

import copy
import math
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest
from tap_deel.derived import DERIVED_FIELDS
from tap_deel.settings import DEFAULT_ACTIVE_HIRING_STATUSES

from tests.emulators.workforce import generate_workforce, primary_employment, work_email_of
from tests.tap_deel.tap_helpers import (
    ALL_STREAMS,
    expected_pages,
    run_tap,
    tap_config,
    validate_records,
)

if TYPE_CHECKING:
    from tests.emulators.base import EmulatorServer

PEOPLE_PATH = r"/rest/v2/people"


@pytest.fixture
def server(deel_emulator: EmulatorServer) -> EmulatorServer:
    """The emulator with its rate limit off (pacing has its own tests)."""
    deel_emulator.app.rate_limit_enabled = False
    return deel_emulator


def test_every_stream_every_record_matches_its_schema(server: EmulatorServer, deel_api_url: str):
    workforce = generate_workforce(450, seed=5)
    server.app.set_workforce(workforce)
    result = run_tap(tap_config(deel_api_url, page_size=40))

    assert set(result.schemas) == set(ALL_STREAMS)
    expected_counts = {
        "people": len(workforce.people),
        "contracts": len(workforce.contracts),
        "legal_entities": len(workforce.legal_entities),
        "groups": len(workforce.groups),
        "managers": len(workforce.managers),
        "teams": len(workforce.teams),
        "departments": len(workforce.departments),
        "working_locations": len(workforce.working_locations),
        "organizations": len(workforce.organizations),
    }
    assert {s: len(r) for s, r in result.records.items()} == expected_counts
    assert validate_records(result) == sum(expected_counts.values())
    for stream in ALL_STREAMS:
        ids = result.ids(stream)
        assert len(ids) == len(set(ids)), f"duplicate ids in {stream}"
    # Full table, state as the SDK emits it: one final bookmark map naming every stream.
    assert set(result.states[-1]["bookmarks"]) == set(ALL_STREAMS)


def test_records_are_deel_objects_unchanged_plus_derived_fields(
    server: EmulatorServer, deel_api_url: str
) -> None:
    """Nothing Deel sends is dropped or altered: the schema covers the whole person object."""
    workforce = generate_workforce(300, seed=8)
    server.app.set_workforce(workforce)
    expected = {p["id"]: copy.deepcopy(p) for p in workforce.people}
    result = run_tap(tap_config(deel_api_url), ["people", "contracts", "legal_entities"])

    for record in result.records["people"]:
        without_derived = {k: v for k, v in record.items() if k not in DERIVED_FIELDS}
        assert without_derived == expected[record["id"]]
    assert sorted(result.records["contracts"], key=lambda c: c["id"]) == sorted(
        workforce.contracts, key=lambda c: c["id"]
    )
    assert result.records["legal_entities"] == workforce.legal_entities


@pytest.mark.parametrize("n", [0, 1, 199, 200, 201, 450])
def test_each_person_exactly_once_with_the_fewest_requests(
    server: EmulatorServer, deel_api_url: str, n: int
) -> None:
    workforce = generate_workforce(n, seed=n + 1)
    server.app.set_workforce(workforce)
    result = run_tap(tap_config(deel_api_url), ["people"])

    ids = result.ids("people")
    assert Counter(ids) == Counter(p["id"] for p in workforce.people)
    requests = server.app.requests("GET", PEOPLE_PATH)
    assert len(requests) == expected_pages(n, 200)
    assert [int(r.query["offset"][0]) for r in requests] == [200 * i for i in range(len(requests))]
    assert all(r.query["limit"] == ["200"] for r in requests)
    assert all(r.status == 200 for r in requests)


def test_small_pages_on_every_paged_endpoint(server: EmulatorServer, deel_api_url: str) -> None:
    workforce = generate_workforce(130, seed=21)
    server.app.set_workforce(workforce)
    page_size = 7
    result = run_tap(
        tap_config(deel_api_url, page_size=page_size),
        ["people", "contracts", "groups", "legal_entities", "managers"],
    )
    counts = {
        "people": (len(workforce.people), r"/rest/v2/people"),
        "contracts": (len(workforce.contracts), r"/rest/v2/contracts"),
        "groups": (len(workforce.groups), r"/rest/v2/groups"),
        "legal_entities": (len(workforce.legal_entities), r"/rest/v2/legal-entities"),
        "managers": (len(workforce.managers), r"/rest/v2/managers"),
    }
    for stream, (n, path) in counts.items():
        ids = result.ids(stream)
        assert len(ids) == n
        assert len(set(ids)) == n
        # Cursors are followed to the end, and no page is fetched twice or after the last.
        assert len(server.app.requests("GET", path)) == math.ceil(n / page_size), stream


def test_cursor_is_sent_back_under_each_endpoints_name(
    server: EmulatorServer, deel_api_url: str
) -> None:
    server.app.set_workforce(generate_workforce(40, seed=2))
    run_tap(tap_config(deel_api_url, page_size=10), ["contracts", "groups"])
    contracts = server.app.requests("GET", r"/rest/v2/contracts")
    groups = server.app.requests("GET", r"/rest/v2/groups")
    assert "after_cursor" not in contracts[0].query
    assert all("after_cursor" in r.query for r in contracts[1:])
    assert all("cursor" in r.query for r in groups[1:])
    assert len(contracts) > 1
    assert len(groups) > 1


def test_endpoint_limits_are_respected_with_the_largest_page_size(
    server: EmulatorServer, deel_api_url: str
) -> None:
    server.app.set_workforce(generate_workforce(250, seed=4))
    result = run_tap(tap_config(deel_api_url, page_size=200))
    assert all(entry.status == 200 for entry in server.app.requests())
    limits = {
        path: {r.query["limit"][0] for r in server.app.requests("GET", path)}
        for path in (r"/rest/v2/contracts", r"/rest/v2/groups", r"/rest/v2/managers")
    }
    assert limits == {
        r"/rest/v2/contracts": {"99"},
        r"/rest/v2/groups": {"100"},
        r"/rest/v2/managers": {"100"},
    }
    assert len(result.records["contracts"]) > 99


# -- derived fields over the wire ------------------------------------------------------------------


def by_id(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {record["id"]: record for record in records}


def test_derived_fields_for_every_generated_person(
    server: EmulatorServer, deel_api_url: str
) -> None:
    workforce = generate_workforce(400, seed=13)
    server.app.set_workforce(workforce)
    records = by_id(run_tap(tap_config(deel_api_url), ["people"]).records["people"])
    for person in workforce.people:
        record = records[person["id"]]
        assert record["work_email"] == work_email_of(person)
        assert record["active"] is (person["hiring_status"] in DEFAULT_ACTIVE_HIRING_STATUSES)
        primary = primary_employment(person)
        assert record["team"] == ((primary or {}).get("team") or {}).get("name")
    # The generator's awkward people are all there.
    assert any(r["work_email"] is None for r in records.values())
    assert any(not r["active"] for r in records.values())
    assert any(
        len(p["employments"]) > 1 and p["employments"][0]["is_ended"] for p in workforce.people
    )


def make_person(workforce_person: dict[str, Any], **changes: Any) -> dict[str, Any]:
    person = copy.deepcopy(workforce_person)
    person.update(changes)
    return person


def test_derived_field_edge_cases_over_the_wire(server: EmulatorServer, deel_api_url: str):
    base = generate_workforce(1, seed=3).people[0]
    team = {"id": "3f6b1d2e-8c7a-4e59-b0d4-1a2c3e4f5a6b", "name": "Data Platform"}
    old_team = {"id": 384149, "name": "Old Team"}  # numeric id, as in older payloads
    ended = dict(base["employments"][0], id="old0001", is_ended=True, team=old_team)
    current = dict(base["employments"][0], id="new0001", is_ended=False, team=team)
    cases = {
        "no-email": make_person(
            base,
            id="00000000-0000-4000-8000-000000000001",
            emails=[{"type": "personal", "value": "me@gmail.com"}, {"type": "work", "value": None}],
            employments=[dict(current, work_email=None)],
        ),
        "employment-only": make_person(
            base,
            id="00000000-0000-4000-8000-000000000002",
            emails=[{"type": "primary", "value": "me@gmail.com"}],
            employments=[dict(current, work_email="emp@acme.example")],
        ),
        "ended-first": make_person(
            base,
            id="00000000-0000-4000-8000-000000000003",
            emails=[],
            employments=[
                dict(ended, work_email="old@acme.example"),
                dict(current, work_email="new@acme.example"),
            ],
            worker_id=4518823,  # a number, as older payloads send it
            client_legal_entity={"id": 232324, "name": "Acme Inc."},
        ),
        "no-employments": make_person(
            base,
            id="00000000-0000-4000-8000-000000000004",
            emails=[{"type": "work", "value": "w@acme.example"}],
            employments=[],
            hiring_status="invited",
        ),
    }
    server.app.set_workforce(generate_workforce(0, seed=0))
    for person in cases.values():
        server.app.add_person(person)

    result = run_tap(tap_config(deel_api_url), ["people"])
    validate_records(result)
    records = by_id(result.records["people"])
    got = {name: records[p["id"]] for name, p in cases.items()}
    assert got["no-email"]["work_email"] is None
    assert got["employment-only"]["work_email"] == "emp@acme.example"
    assert got["ended-first"]["work_email"] == "new@acme.example"
    assert got["ended-first"]["team"] == "Data Platform"
    assert got["ended-first"]["worker_id"] == 4518823
    assert got["no-employments"]["team"] is None
    assert got["no-employments"]["active"] is False
    assert got["no-employments"]["work_email"] == "w@acme.example"


@pytest.mark.parametrize(
    ("statuses", "active_ids"),
    [
        (["active"], {"a"}),
        (["active", "offboarding", "invited"], {"a", "o", "i"}),
        (["inactive"], {"n"}),
    ],
)
def test_custom_active_hiring_statuses(
    server: EmulatorServer, deel_api_url: str, statuses: list[str], active_ids: set[str]
) -> None:
    base = generate_workforce(1, seed=9).people[0]
    server.app.set_workforce(generate_workforce(0, seed=0))
    letters = {
        "a": "active",
        "o": "offboarding",
        "i": "invited",
        "n": "inactive",
        "b": "onboarding",
    }
    ids = {}
    for index, (letter, status) in enumerate(letters.items()):
        ids[letter] = f"00000000-0000-4000-8000-00000000010{index}"
        server.app.add_person(make_person(base, id=ids[letter], hiring_status=status))

    result = run_tap(tap_config(deel_api_url, active_hiring_statuses=statuses), ["people"])
    records = by_id(result.records["people"])
    assert {letter for letter, pid in ids.items() if records[pid]["active"]} == active_ids


def test_hiring_types_filter_is_sent_and_honoured(
    server: EmulatorServer, deel_api_url: str
) -> None:
    workforce = generate_workforce(300, seed=17)
    server.app.set_workforce(workforce)
    wanted = ["eor", "direct_employee"]
    result = run_tap(tap_config(deel_api_url, hiring_types=wanted, page_size=50), ["people"])

    expected = {p["id"] for p in workforce.people if p["hiring_type"] in wanted}
    assert 0 < len(expected) < len(workforce.people)
    assert set(result.ids("people")) == expected
    assert len(result.ids("people")) == len(expected)
    requests = server.app.requests("GET", PEOPLE_PATH)
    assert len(requests) == expected_pages(len(expected), 50)
    for request in requests:
        assert request.query["hiring_types"] == wanted


def test_no_hiring_types_setting_sends_no_filter(server: EmulatorServer, deel_api_url: str):
    server.app.set_workforce(generate_workforce(20, seed=1))
    run_tap(tap_config(deel_api_url, hiring_types=[]), ["people"])
    (request,) = server.app.requests("GET", PEOPLE_PATH)
    assert "hiring_types" not in request.query


def test_unknown_fields_are_dropped_so_records_still_match(
    server: EmulatorServer, deel_api_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    base = generate_workforce(1, seed=9).people[0]
    person = make_person(base, brand_new_field="x")
    person["employments"][0]["new_nested"] = {"a": 1}
    server.app.set_workforce(generate_workforce(0, seed=0))
    server.app.add_person(person)
    result = run_tap(tap_config(deel_api_url), ["people"])
    validate_records(result)
    (record,) = result.records["people"]
    assert "brand_new_field" not in record
    assert "new_nested" not in record["employments"][0]
    assert "employments[].new_nested" in caplog.text
    assert "brand_new_field" in caplog.text


def test_a_row_that_moves_between_pages_is_emitted_each_time_deel_returns_it(
    server: EmulatorServer, deel_api_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hire during the run shifts every later row by one, so offsets repeat a row.

    The tap emits every row Deel returns (docs/sync-rules.md): which copy counts is the target's
    decision (the last), not the tap's.
    """
    workforce = generate_workforce(120, seed=23)
    server.app.set_workforce(workforce)
    newcomer = make_person(workforce.people[0], id="00000000-0000-4000-8000-000000000000")
    original = server.app._list_people
    calls = []

    def list_people(request: Any) -> Any:
        response = original(request)
        calls.append(request.query)
        if len(calls) == 1:
            server.app.add_person(newcomer)  # sorts first by id: page 2 starts one row early
        return response

    monkeypatch.setattr(
        server.app,
        "routes",
        [
            (m, p, list_people if p.pattern.endswith("/people/?") else h)
            for m, p, h in server.app.routes
        ],
    )
    result = run_tap(tap_config(deel_api_url, page_size=50), ["people"])
    ids = result.ids("people")
    last_of_page_one = sorted(p["id"] for p in workforce.people)[49]
    assert len(ids) == len(workforce.people) + 1
    assert [i for i, n in Counter(ids).items() if n > 1] == [last_of_page_one]
    assert ids[49] == ids[50] == last_of_page_one
    assert {p["id"] for p in workforce.people} <= set(ids)
    assert all(q["sort_by"] == ["id"] and q["sort_order"] == ["asc"] for q in calls)
