"""The Deel emulator answers like Deel's REST API: envelopes, paging, errors, limits, faults."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.emulators.base import EmulatorServer
from tests.emulators.deel import RATE_LIMIT_BODY, DeelEmulator
from tests.emulators.workforce import (
    all_emails_of,
    generate_workforce,
    primary_employment,
    promote,
    work_email_of,
)

TOKEN = "deel-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def deel(deel_emulator: EmulatorServer) -> DeelEmulator:
    """The emulator behind `deel_api_url`, with 450 people and the rate limit off."""
    app = deel_emulator.app
    assert isinstance(app, DeelEmulator)
    app.set_workforce(generate_workforce(450, 1))
    app.rate_limit_enabled = False
    return app


def current(person: dict[str, Any]) -> dict[str, Any]:
    employment = primary_employment(person)
    assert employment is not None
    return employment


def get(
    url: str, path: str, params: Any = None, headers: dict[str, str] | None = None
) -> requests.Response:
    return requests.get(url + path, params=params, headers=AUTH if headers is None else headers,
                        timeout=30)  # fmt: skip


def people_ids(url: str, params: Any = None) -> list[str]:
    """Every person id for a query, paged with limit 200 the way a tap does."""
    ids: list[str] = []
    offset = 0
    while True:
        base = list(params.items()) if isinstance(params, dict) else list(params or [])
        page = get(url, "/people", [*base, ("offset", offset), ("limit", 200)]).json()
        ids.extend(p["id"] for p in page["data"])
        offset += len(page["data"])
        if len(page["data"]) < 200:
            return ids


def assert_api_error(
    response: requests.Response, status: int, path: str | None = None
) -> dict[str, Any]:
    """Deel's ApiErrorContainer: a request object echoing the status, and a list of errors."""
    assert response.status_code == status
    body: dict[str, Any] = response.json()
    assert set(body) == {"request", "errors"}
    assert body["request"]["status"] == status
    assert body["request"]["method"] == "GET"
    assert isinstance(body["request"]["api_req_id"], str)
    assert body["errors"]
    assert isinstance(body["errors"][0]["message"], str)
    if path is not None:
        assert body["errors"][0]["path"] == path
    return body


# -- GET /people ----------------------------------------------------------------------------------


def test_people_envelope_and_default_limit(deel, deel_api_url):
    response = get(deel_api_url, "/people")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"data", "page"}
    assert body["page"] == {"offset": 0, "total_rows": 450, "items_per_page": 50}
    assert [p["id"] for p in body["data"]] == [p["id"] for p in deel.people[:50]]
    assert body["data"][0] == json.loads(json.dumps(deel.people[0]))


def test_people_are_served_as_utf8_with_names_intact(deel, deel_api_url):
    response = get(deel_api_url, "/people", {"limit": 200})
    names = {p["full_name"] for p in response.json()["data"]}
    assert names == {p["full_name"] for p in deel.people[:200]}
    assert "\\u" not in response.text  # raw UTF-8, not escapes


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"limit": "abc"}, "limit"),
        ({"limit": "1.5"}, "limit"),
        ({"limit": ""}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": "x"}, "offset"),
        ({"offset": 1_000_000_000}, "offset"),
        ({"hiring_statuses": "retired"}, "hiring_statuses"),
        ({"hiring_types": "intern"}, "hiring_types"),
        ({"person_statuses": "active"}, "person_statuses"),
        ({"teams": "not-a-uuid"}, "teams"),
        ({"sort_by": "updated_at"}, "sort_by"),
        ({"sort_order": "up"}, "sort_order"),
        ({"fields": "salary"}, "fields"),
    ],
)
def test_people_bad_parameters_are_400_naming_the_parameter(deel, deel_api_url, params, path):
    assert_api_error(get(deel_api_url, "/people", params), 400, path)


def test_people_limit_bounds_are_inclusive(deel, deel_api_url):
    assert len(get(deel_api_url, "/people", {"limit": 1}).json()["data"]) == 1
    body = get(deel_api_url, "/people", {"limit": 200}).json()
    assert len(body["data"]) == 200
    assert body["page"]["items_per_page"] == 200


def test_paging_450_people_by_200_sees_each_exactly_once_in_order(deel, deel_api_url):
    pages = []
    offset = 0
    while True:
        body = get(deel_api_url, "/people", {"offset": offset, "limit": 200}).json()
        assert body["page"] == {"offset": offset, "total_rows": 450, "items_per_page": 200}
        pages.append(len(body["data"]))
        offset += len(body["data"])
        if len(body["data"]) < 200:
            break
    assert pages == [200, 200, 50]
    ids = people_ids(deel_api_url)
    assert ids == [p["id"] for p in deel.people]
    assert len(set(ids)) == 450


def test_offset_past_the_end_is_an_empty_page(deel, deel_api_url):
    body = get(deel_api_url, "/people", {"offset": 10_000}).json()
    assert body == {"data": [], "page": {"offset": 10_000, "total_rows": 450, "items_per_page": 50}}


@pytest.mark.parametrize(
    "encode",
    [
        lambda k, vs: [(k, v) for v in vs],  # k=a&k=b
        lambda k, vs: [(f"{k}[]", v) for v in vs],  # k[]=a&k[]=b
        lambda k, vs: [(k, ",".join(vs))],  # k=a,b
    ],
    ids=["repeated", "brackets", "comma"],
)
@pytest.mark.parametrize(
    "case",
    [
        ("hiring_statuses", ["inactive", "onboarding"], "hiring_status"),
        ("hiring_types", ["eor", "direct_employee"], "hiring_type"),
        ("person_statuses", ["INACTIVE", "NOT_STARTED"], "person_status"),
    ],
    ids=lambda case: case[0],
)
def test_array_filters_in_all_three_encodings(deel, deel_api_url, encode, case):
    param, values, field = case
    expected = [p["id"] for p in deel.people if p[field] in values]
    assert expected
    assert len(expected) < 450
    body = get(deel_api_url, "/people", [*encode(param, values), ("limit", 200)]).json()
    assert [p["id"] for p in body["data"]] == expected[:200]
    assert body["page"]["total_rows"] == len(expected)


def test_teams_filter_matches_any_employment_team(deel, deel_api_url):
    team_a, team_b = deel.workforce.team("Platform")["id"], deel.workforce.team("Brand")["id"]
    expected = [
        p["id"] for p in deel.people
        if any(e["team"]["id"] in (team_a, team_b) for e in p["employments"])
    ]  # fmt: skip
    assert expected
    for params in ([("teams", team_a), ("teams", team_b)], {"teams[]": [team_a, team_b]},
                   {"teams": f"{team_a},{team_b}"}):  # fmt: skip
        assert people_ids(deel_api_url, params) == expected


def test_filters_combine(deel, deel_api_url):
    params = {"hiring_statuses": "active", "hiring_types": "contractor"}
    expected = [p["id"] for p in deel.people
                if p["hiring_status"] == "active" and p["hiring_type"] == "contractor"]  # fmt: skip
    assert people_ids(deel_api_url, params) == expected


def test_search_is_a_case_insensitive_substring_of_name_or_any_email(deel, deel_api_url):
    garcias = [p["id"] for p in deel.people if p["full_name"] == "Maria Garcia"]
    assert len(garcias) >= 3
    assert people_ids(deel_api_url, {"search": "MARIA garcia"}) == garcias
    someone = deel.people[123]
    work = work_email_of(someone)
    assert work is not None
    assert people_ids(deel_api_url, {"search": work.upper()}) == [
        p["id"] for p in deel.people if any(work in email for email in all_emails_of(p))
    ]  # its owner, and anyone whose address merely contains it (john.li in john.lin)
    personal = next(e["value"] for e in someone["emails"] if e["type"] == "personal")
    assert someone["id"] in people_ids(deel_api_url, {"search": personal})
    # An address only on the employment is found too.
    only_there = next(p for p in deel.people
                      if not any(e["type"] == "work" and e["value"] for e in p["emails"])
                      and current(p)["work_email"])  # fmt: skip
    found = people_ids(deel_api_url, {"search": current(only_there)["work_email"]})
    assert only_there["id"] in found
    assert people_ids(deel_api_url, {"search": "zzz-nobody-zzz"}) == []
    wang = next(p for p in deel.people if p["last_name"] == "王")
    assert wang["id"] in people_ids(deel_api_url, {"search": "王"})


def test_search_finds_both_profiles_of_a_rehire_and_pages_like_any_list(deel, deel_api_url):
    """What tap-deel's re-hire check relies on: `search=EMAIL` lists every profile with it."""
    emails = [(work_email_of(p) or "").casefold() for p in deel.people]
    email = next(e for e in emails if e and emails.count(e) == 2)
    pair = [p for p in deel.people if (work_email_of(p) or "").casefold() == email]
    assert sorted(p["hiring_status"] for p in pair) == ["active", "inactive"]
    for spelt in (email, email.upper(), email.title()):
        found = people_ids(deel_api_url, {"search": spelt})
        assert {p["id"] for p in pair} <= set(found)
        for person_id in found:  # and only people whose name or an address holds it
            person = deel.get_person(person_id)
            assert person is not None
            assert any(email in text.casefold()
                       for text in (person["full_name"], *all_emails_of(person)))  # fmt: skip
    # Paged and counted like the plain list, and combined with the other parameters.
    everyone = people_ids(deel_api_url, {"search": email, "sort_by": "id"})
    first = get(deel_api_url, "/people", {"search": email, "sort_by": "id", "limit": 1}).json()
    assert first["page"] == {"offset": 0, "total_rows": len(everyone), "items_per_page": 1}
    assert [p["id"] for p in first["data"]] == everyone[:1]
    assert everyone == sorted(everyone)
    second = get(deel_api_url, "/people",
                 {"search": email, "sort_by": "id", "limit": 1, "offset": 1}).json()  # fmt: skip
    assert [p["id"] for p in second["data"]] == everyone[1:2]
    (active,) = [p for p in pair if p["hiring_status"] == "active"]
    filtered = people_ids(deel_api_url, {"search": email, "hiring_types": active["hiring_type"]})
    assert active["id"] in filtered
    assert {p["hiring_type"] for p in deel.people if p["id"] in filtered} == {active["hiring_type"]}


def test_search_is_a_substring_so_an_address_also_finds_longer_ones(deel, deel_api_url):
    """Deel matches any part of a name or address: `ann@x` also finds `joann@x`."""
    short = deel.hire("Ann", "Short", seed=11, work_email="ann@acme.example")
    longer = deel.hire("Jo", "Longer", seed=12, work_email="joann@acme.example")
    found = people_ids(deel_api_url, {"search": "ANN@acme.example"})
    assert short["id"] in found
    assert longer["id"] in found
    assert people_ids(deel_api_url, {"search": "joann@"}) == [longer["id"]]
    # Part of a name matches; the words in another order do not (a substring, not words).
    assert short["id"] in people_ids(deel_api_url, {"search": "nn sho"})
    assert people_ids(deel_api_url, {"search": "Short Ann"}) == []
    # An empty search is no filter.
    assert len(people_ids(deel_api_url, {"search": ""})) == len(deel.people)


def test_sort_by_full_name_both_ways_is_stable(deel, deel_api_url):
    asc = people_ids(deel_api_url, {"sort_by": "full_name", "sort_order": "asc"})
    expected = [p["id"] for p in sorted(deel.people, key=lambda p: p["full_name"].casefold())]
    assert asc == expected
    desc = people_ids(deel_api_url, {"sort_by": "full_name", "sort_order": "desc"})
    expected_desc = [p["id"] for p in sorted(deel.people, key=lambda p: p["full_name"].casefold(),
                                             reverse=True)]  # fmt: skip
    assert desc == expected_desc
    # Stable: people with the same name keep their insertion order in both directions.
    order = {p["id"]: i for i, p in enumerate(deel.people)}
    garcias = [i for i in asc if deel.get_person(i)["full_name"] == "Maria Garcia"]
    assert garcias == sorted(garcias, key=order.__getitem__)
    garcias_desc = [i for i in desc if deel.get_person(i)["full_name"] == "Maria Garcia"]
    assert garcias_desc == garcias


def test_sort_by_every_documented_field_is_accepted(deel, deel_api_url):
    for field in ("id", "first_name", "last_name", "email", "country", "birth_date",
                  "hiring_type", "start_date", "team", "job_title", "hiring_status",
                  "completion_date", "direct_manager", "direct_reports_count", "band_placement",
                  "comparative_ratio"):  # fmt: skip
        body = get(deel_api_url, "/people", {"sort_by": field, "limit": 5}).json()
        assert len(body["data"]) == 5, field
    counts = people_ids(deel_api_url, {"sort_by": "direct_reports_count", "sort_order": "desc"})
    assert deel.get_person(counts[0])["direct_reports_count"] == max(
        p["direct_reports_count"] for p in deel.people
    )
    births = people_ids(deel_api_url, {"sort_by": "birth_date"})
    dated = [deel.get_person(i)["birth_date"] for i in births]
    nulls = dated.index(None)
    assert dated[:nulls] == sorted(dated[:nulls])
    assert set(dated[nulls:]) == {None}  # nulls last ascending


def test_fields_projects_each_person(deel, deel_api_url):
    params = [("fields", "id"), ("fields", "work_email"), ("fields", "employments[0].team"),
              ("limit", 3)]  # fmt: skip
    data = get(deel_api_url, "/people", params).json()["data"]
    for item, person in zip(data, deel.people, strict=False):
        assert set(item) == {"id", "work_email", "employments"}
        assert item["work_email"] == work_email_of(person)
        assert item["employments"] == [{"team": e["team"]} for e in person["employments"]]


# -- GET /people/{id} and /people/me --------------------------------------------------------------


def test_one_person_is_wrapped_in_data_with_custom_fields(deel, deel_api_url):
    person = deel.people[42]
    body = get(deel_api_url, f"/people/{person['id']}").json()
    assert set(body) == {"data"}
    data = body["data"]
    assert data["custom_fields"] == []
    assert data["id"] == person["id"]
    assert [e["id"] for e in data["employments"]] == [e["id"] for e in person["employments"]]
    assert "person_status" not in data  # not in Deel's schema for this endpoint


def test_unknown_person_is_404_and_a_malformed_id_400(deel, deel_api_url):
    assert_api_error(get(deel_api_url, "/people/00000000-0000-4000-8000-000000000000"), 404)
    assert_api_error(get(deel_api_url, "/people/12345"), 400, "hris_profile_id")


def test_me_is_the_caller_profile_without_a_data_wrapper(deel, deel_api_url):
    body = get(deel_api_url, "/people/me").json()
    assert "data" not in body
    assert {"id", "email", "user_id", "username", "full_name", "first_name", "last_name",
            "profile_type", "organization_id", "organization_name"} <= set(body)  # fmt: skip
    assert isinstance(body["id"], int)
    assert body["profile_type"] in ("client", "service_account")
    assert body["organization_name"] == deel.workforce.organizations[0]["name"]


# -- auth, scopes, versions, unknown routes -------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Token {TOKEN}"},
     {"Authorization": "Bearer"}],
    ids=["missing", "wrong-token", "wrong-scheme", "empty"],
)  # fmt: skip
def test_missing_or_bad_token_is_401(deel, deel_api_url, headers):
    for path in ("/people", "/people/me", "/contracts", "/teams"):
        body = assert_api_error(get(deel_api_url, path, headers=headers), 401)
        assert TOKEN not in json.dumps(body)
    assert deel.requests(path=r"/rest/v2/.*")[-1].status == 401


def test_scopes_decide_which_endpoints_a_token_may_read(deel, deel_api_url):
    deel.add_token("contracts-only", {"contracts:read"})
    deel.add_token("accounting", {"accounting:read"})
    deel.add_token("worker", {"worker:read"})
    deel.add_token("orgs", {"organizations:read"})

    def status(token: str, path: str) -> int:
        return get(deel_api_url, path, headers={"Authorization": f"Bearer {token}"}).status_code

    assert status("contracts-only", "/contracts") == 200
    assert_api_error(
        get(deel_api_url, "/people", headers={"Authorization": "Bearer contracts-only"}), 403
    )
    assert status("contracts-only", f"/people/{deel.people[0]['id']}") == 403
    assert status("contracts-only", "/people/me") == 403
    assert status("worker", "/people/me") == 200
    assert status("worker", "/people") == 403
    assert status("accounting", "/legal-entities") == 200
    assert status("accounting", "/teams") == 403
    for path in ("/teams", "/departments", "/organizations", "/working-locations", "/managers",
                 "/legal-entities"):  # fmt: skip
        assert status("orgs", path) == 200, path
    assert status("orgs", "/groups") == 403
    assert status("orgs", "/people") == 403


def test_constructor_scopes_apply_to_the_main_token():
    with EmulatorServer(DeelEmulator(scopes={"people:read"})) as server:
        url = server.url + "/rest/v2"
        assert get(url, "/people").status_code == 200
        assert_api_error(get(url, "/contracts"), 403)


def test_x_version_header_is_optional_but_must_be_known(deel, deel_api_url):
    ok = get(deel_api_url, "/people", headers={**AUTH, "X-Version": "2026-01-01"})
    assert ok.status_code == 200
    assert_api_error(get(deel_api_url, "/people", headers={**AUTH, "X-Version": "1999-01-01"}), 400)


def test_unknown_routes_are_404_in_the_short_form(deel, deel_api_url):
    response = get(deel_api_url, "/peoples")
    assert response.status_code == 404
    assert response.json() == {"errors": [{"message": "path not found"}]}


# -- cursor-paged and plain lists -----------------------------------------------------------------


def test_contracts_follow_the_cursor_to_the_end(deel, deel_api_url):
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 99, **({"after_cursor": cursor} if cursor else {})}
        body = get(deel_api_url, "/contracts", params).json()
        assert set(body) == {"data", "page"}
        assert set(body["page"]) == {"cursor", "total_rows"}
        seen.extend(c["id"] for c in body["data"])
        cursor = body["page"]["cursor"]
        pages += 1
        if not cursor:
            break
    expected = [e["id"] for p in deel.people for e in p["employments"]]
    assert seen == expected
    assert body["page"]["cursor"] == ""
    assert pages == -(-len(expected) // 99)
    first = get(deel_api_url, "/contracts", {"limit": 1}).json()["data"][0]
    keys = {"id", "title", "type", "status", "client", "worker", "created_at", "signatures",
            "invitations", "is_archived", "is_shielded", "termination_date"}  # fmt: skip
    assert keys <= set(first)


def test_contracts_default_limit_filters_and_errors(deel, deel_api_url):
    assert len(get(deel_api_url, "/contracts").json()["data"]) == 50
    eor = get(deel_api_url, "/contracts", {"types[]": "eor", "limit": 99}).json()
    assert eor["data"]
    assert {c["type"] for c in eor["data"]} == {"eor"}
    for params in ({"limit": 100}, {"limit": 0}, {"limit": "x"},
                   {"after_cursor": "not-a-cursor"}, {"types": "freelance"}):  # fmt: skip
        response = get(deel_api_url, "/contracts", params)
        assert response.status_code == 400, params
        assert response.json()["errors"][0]["message"]


def test_cursors_are_opaque_strings(deel, deel_api_url):
    cursor = get(deel_api_url, "/contracts", {"limit": 5}).json()["page"]["cursor"]
    assert isinstance(cursor, str)
    assert not cursor.isdigit()
    base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))  # decodes, but means nothing


def test_legal_entities_follow_the_cursor_and_end_with_null(deel, deel_api_url):
    seen: list[str] = []
    cursor = None
    while True:
        body = get(deel_api_url, "/legal-entities",
                   {"limit": 2, **({"cursor": cursor} if cursor else {})}).json()  # fmt: skip
        seen.extend(e["id"] for e in body["data"])
        cursor = body["page"]["cursor"]
        if cursor is None:
            break
    assert seen == [e["id"] for e in deel.workforce.legal_entities]
    current = get(deel_api_url, "/legal-entities", {"include_archived": "false"}).json()["data"]
    assert len(current) == len(seen) - 1
    assert all(e["archived_at"] is None for e in current)
    assert get(deel_api_url, "/legal-entities", {"limit": 101}).status_code == 400


def test_groups_follow_the_cursor_with_total_rows(deel, deel_api_url):
    seen: list[str] = []
    cursor = None
    while True:
        body = get(deel_api_url, "/groups", {"limit": 10, **({"cursor": cursor} if cursor else {})})
        page = body.json()["page"]
        assert page["total_rows"] == len(deel.workforce.groups)
        seen.extend(g["id"] for g in body.json()["data"])
        cursor = page["cursor"]
        if not cursor:
            break
    assert seen == [g["id"] for g in deel.workforce.groups]
    active = get(deel_api_url, "/groups", {"include_archived_groups": "false"}).json()
    assert {g["status"] for g in active["data"]} == {"active"}
    bad = get(deel_api_url, "/groups", {"limit": 101})
    assert bad.status_code == 400
    assert "limit" in bad.json()["message"]


def test_managers_are_offset_paged(deel, deel_api_url):
    expected = [p["id"] for p in deel.people if p["direct_reports_count"]]
    seen: list[str] = []
    offset = 0
    while True:
        body = get(deel_api_url, "/managers", {"offset": offset, "limit": 20}).json()
        assert body["page"]["total_rows"] == len(expected)
        assert body["page"]["offset"] == offset
        seen.extend(m["id"] for m in body["data"])
        offset += len(body["data"])
        if len(body["data"]) < 20:
            break
    assert seen == expected
    assert set(body["data"][0]) == {"id", "email", "first_name", "last_name"}


@pytest.mark.parametrize(
    ("path", "source", "keys"),
    [
        ("/teams", "teams", {"id", "name"}),
        ("/departments", "departments", {"id", "name", "parent"}),
        ("/working-locations", "working_locations", {"id", "name"}),
        ("/organizations", "organizations", {"id", "name"}),
    ],
)
def test_unpaged_lists(deel, deel_api_url, path, source, keys):
    body = get(deel_api_url, path).json()
    assert set(body) == {"data"}
    assert body["data"] == getattr(deel.workforce, source)
    assert all(set(item) == keys for item in body["data"])


# -- rate limit -----------------------------------------------------------------------------------


def test_sixth_request_in_a_second_is_429_without_rate_limit_headers(deel_emulator, deel_api_url):
    app = deel_emulator.app
    assert app.rate_limit_enabled  # the fixture's default
    with requests.Session() as session:
        session.headers.update(AUTH)
        start = time.monotonic()
        answers = [session.get(deel_api_url + "/people", timeout=10) for _ in range(6)]
        assert time.monotonic() - start < 0.9, "too slow to test a one-second window"
        assert [r.status_code for r in answers] == [200] * 5 + [429]
        limited = answers[-1]
        assert limited.json() == RATE_LIMIT_BODY
        assert "retry-after" not in {k.lower() for k in limited.headers}
        assert not any(k.lower().startswith(("x-ratelimit", "ratelimit"))
                       for k in limited.headers)  # fmt: skip
        # Rejected requests do not count: retrying late in the window does not push it out.
        time.sleep(max(0.0, start + 0.6 - time.monotonic()))
        for _ in range(5):
            assert session.get(deel_api_url + "/people", timeout=10).status_code == 429
        time.sleep(max(0.0, start + 1.05 - time.monotonic()))
        assert session.get(deel_api_url + "/people", timeout=10).status_code == 200


def test_rate_limit_is_shared_by_every_token_of_the_organisation(deel_emulator, deel_api_url):
    app = deel_emulator.app
    app.add_token("second-token")
    statuses = []
    for i in range(6):
        token = TOKEN if i % 2 else "second-token"
        statuses.append(get(deel_api_url, "/teams",
                            headers={"Authorization": f"Bearer {token}"}).status_code)  # fmt: skip
    assert statuses == [200] * 5 + [429]


def test_rate_limit_can_be_switched_off_and_tuned(deel_emulator, deel_api_url):
    app = deel_emulator.app
    app.rate_limit_enabled = False
    with requests.Session() as session:
        session.headers.update(AUTH)
        assert {session.get(deel_api_url + "/teams", timeout=10).status_code
                for _ in range(20)} == {200}  # fmt: skip
        control = requests.post(deel_emulator.url + "/_emulator/rate-limit",
                                json={"enabled": True, "per_second": 2}, timeout=10)  # fmt: skip
        assert control.json() == {"enabled": True, "per_second": 2}
        codes = [session.get(deel_api_url + "/teams", timeout=10).status_code for _ in range(3)]
        assert codes == [200, 200, 429]


def test_unauthorised_requests_do_not_use_up_the_window(deel_emulator, deel_api_url):
    for _ in range(10):
        assert get(deel_api_url, "/teams", headers={}).status_code == 401
    assert [get(deel_api_url, "/teams").status_code for _ in range(5)] == [200] * 5


# -- fault injection ------------------------------------------------------------------------------


def test_scripted_429_without_and_with_retry_after(deel, deel_emulator, deel_api_url):
    deel.faults.script("429", path=r"/rest/v2/people")
    deel.faults.script("429_retry_after", path=r"/rest/v2/people", seconds=2)
    plain = get(deel_api_url, "/people")
    assert plain.status_code == 429
    assert plain.json() == RATE_LIMIT_BODY
    assert "Retry-After" not in plain.headers
    hinted = get(deel_api_url, "/people")
    assert hinted.status_code == 429
    assert hinted.headers["Retry-After"] == "2"
    assert get(deel_api_url, "/people").status_code == 200
    assert [e.fault for e in deel.requests(path=r"/rest/v2/people")] == [
        "429", "429_retry_after", None,
    ]  # fmt: skip


@pytest.mark.parametrize("status", [500, 502, 503])
def test_scripted_server_errors_use_deels_error_shape(deel, deel_api_url, status):
    deel.faults.script(str(status), path=r"/rest/v2/people")
    response = get(deel_api_url, "/people")
    assert response.status_code == status
    error = response.json()["error"]
    assert isinstance(error["code"], str)
    assert isinstance(error["message"], str)
    assert get(deel_api_url, "/people").status_code == 200


def test_a_dropped_connection_is_a_connection_error(deel, deel_api_url):
    deel.faults.script("drop", path=r"/rest/v2/people")
    with pytest.raises(requests.ConnectionError):
        get(deel_api_url, "/people")
    assert get(deel_api_url, "/people").status_code == 200
    assert deel.requests(path=r"/rest/v2/people")[0].status == 0


def test_latency_spike_and_constant_latency(deel, deel_emulator, deel_api_url):
    deel.faults.script("latency", path=r"/rest/v2/teams", seconds=0.3)
    start = time.monotonic()
    assert get(deel_api_url, "/teams").status_code == 200
    assert time.monotonic() - start >= 0.3
    requests.post(deel_emulator.url + "/_emulator/latency", json={"seconds": 0.2}, timeout=10)
    start = time.monotonic()
    assert get(deel_api_url, "/departments").status_code == 200
    assert time.monotonic() - start >= 0.2
    deel.latency = 0.0


def test_faults_over_the_control_route(deel, deel_emulator, deel_api_url):
    requests.post(deel_emulator.url + "/_emulator/faults",
                  json={"script": [{"kind": "503", "path": "/rest/v2/contracts"}]},
                  timeout=10)  # fmt: skip
    assert get(deel_api_url, "/contracts").status_code == 503
    assert get(deel_api_url, "/contracts").status_code == 200


# -- changing the data ----------------------------------------------------------------------------


def test_python_changes_show_up_over_http(deel, deel_api_url):
    person = deel.people[5]
    first = get(deel_api_url, "/people", {"limit": 10}).json()["data"][5]  # caches its JSON
    assert first["job_title"] == person["job_title"]
    deel.update_person(person["id"], job_title="Chief Emulation Officer")
    again = get(deel_api_url, "/people", {"limit": 10}).json()["data"][5]
    assert again["job_title"] == "Chief Emulation Officer"
    assert again["updated_at"] > first["updated_at"]
    # An in-place change through a helper (which moves updated_at) is seen as well.
    promote(deel.get_person(person["id"]), "Senior Emulation Officer")
    assert get(deel_api_url, f"/people/{person['id']}").json()["data"]["job_title"] == (
        "Senior Emulation Officer"
    )
    assert get(deel_api_url, "/people", {"limit": 10}).json()["data"][5]["job_title"] == (
        "Senior Emulation Officer"
    )


def test_add_and_remove_people_change_totals_and_queries(deel, deel_api_url):
    assert get(deel_api_url, "/people", {"search": "Zoë Ærø"}).json()["page"]["total_rows"] == 0
    hire = deel.hire("Zoë", "Ærø", seed=4)
    found = get(deel_api_url, "/people", {"search": "zoë ærø"}).json()
    assert [p["id"] for p in found["data"]] == [hire["id"]]
    assert get(deel_api_url, "/people").json()["page"]["total_rows"] == 451
    assert people_ids(deel_api_url)[-1] == hire["id"]
    deel.remove_person(hire["id"])
    assert get(deel_api_url, "/people").json()["page"]["total_rows"] == 450
    assert get(deel_api_url, f"/people/{hire['id']}").status_code == 404
    with pytest.raises(ValueError, match="already exists"):
        deel.add_person(deel.people[0])
    with pytest.raises(KeyError):
        deel.update_person("nope", job_title="x")


def test_control_routes_add_patch_act_delete_and_regenerate(deel, deel_emulator, deel_api_url):
    control = deel_emulator.url + "/_emulator"
    listed = requests.get(control + "/people", timeout=10).json()
    assert [p["id"] for p in listed] == [p["id"] for p in deel.people]

    added = requests.post(control + "/people", json={"first_name": "Ana", "last_name": "Lima"},
                          timeout=10)  # fmt: skip
    assert added.status_code == 201
    new_id = added.json()["id"]
    assert get(deel_api_url, f"/people/{new_id}").json()["data"]["full_name"] == "Ana Lima"
    assert requests.get(control + f"/people/{new_id}", timeout=10).json()["id"] == new_id

    several = requests.post(
        control + "/people",
        json=[{"first_name": "Noor", "last_name": "Haddad", "with_work_email": False, "seed": 1},
              {"first_name": "Ana", "last_name": "Lima", "team": "Brand", "seed": 2}],
        timeout=10,
    ).json()  # fmt: skip
    assert [p["full_name"] for p in several] == ["Noor Haddad", "Ana Lima"]
    assert work_email_of(several[0]) is None
    assert work_email_of(several[1]) != work_email_of(added.json())
    assert current(several[1])["team"]["name"] == "Brand"
    assert several[1]["department"]["name"] == "Marketing"

    patched = requests.patch(control + f"/people/{new_id}", json={"job_title": "Pilot"},
                             timeout=10)  # fmt: skip
    assert patched.json()["job_title"] == "Pilot"
    assert get(deel_api_url, f"/people/{new_id}").json()["data"]["job_title"] == "Pilot"

    ended = requests.post(control + f"/people/{new_id}/terminate", json={}, timeout=10)
    assert ended.json()["hiring_status"] == "inactive"
    assert new_id in people_ids(deel_api_url, {"hiring_statuses": "inactive"})

    moved = requests.post(control + f"/people/{new_id}/transfer",
                          json={"department": "Legal", "team": "Legal & Compliance"},
                          timeout=10)  # fmt: skip
    assert moved.json()["department"]["name"] == "Legal"
    promoted = requests.post(control + f"/people/{new_id}/promote",
                             json={"job_title": "Chief Pilot"}, timeout=10)  # fmt: skip
    assert get(deel_api_url, f"/people/{new_id}").json()["data"]["job_title"] == "Chief Pilot"
    assert promoted.json()["job_title"] == "Chief Pilot"

    assert requests.delete(control + f"/people/{new_id}", timeout=10).status_code == 200
    assert requests.delete(control + f"/people/{new_id}", timeout=10).status_code == 404
    assert requests.patch(control + "/people/nope", json={}, timeout=10).status_code == 404
    assert requests.post(control + "/people", data=b"{", timeout=10).status_code == 400
    assert requests.post(control + "/people", json={"first_name": "A"}, timeout=10).status_code == (
        400
    )
    assert requests.post(control + "/people", json={"first_name": "A", "last_name": "B",
                                                    "colour": "red"}, timeout=10).status_code == (
        400
    )  # fmt: skip

    regenerated = requests.post(control + "/workforce", json={"workers": 30, "seed": 2}, timeout=10)
    assert regenerated.json() == {"ok": True, "workers": 30, "seed": 2}
    assert people_ids(deel_api_url) == [p["id"] for p in generate_workforce(30, 2).people]


def test_people_can_be_read_while_they_change(deel, deel_api_url):
    errors: list[BaseException] = []

    def churn() -> None:
        try:
            for i in range(200):
                deel.update_person(deel.people[i]["id"], job_title=f"Title {i}")
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    thread = threading.Thread(target=churn)
    thread.start()
    for _ in range(10):
        assert len(people_ids(deel_api_url)) == 450
    thread.join()
    assert not errors


# -- volume ---------------------------------------------------------------------------------------


def test_twenty_thousand_people_in_pages_of_200():
    # Correctness at volume only; speed figures belong to the benchmark.
    wf = generate_workforce(20_000, 3)
    with EmulatorServer(DeelEmulator(workforce=wf, rate_limit=False)) as server:
        url = server.url + "/rest/v2"
        seen = people_ids(url)
    assert len(seen) == 20_000
    assert seen == [p["id"] for p in wf.people]


# -- the CLI --------------------------------------------------------------------------------------


def test_cli_serves_both_emulators_and_stops_cleanly_on_sigterm():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("DEEL_EMULATOR_TOKEN", None)
    env.pop("JUMPCLOUD_EMULATOR_KEY", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.emulators", "--deel-port", "0", "--jumpcloud-port", "0",
         "--workers", "40", "--seed", "5", "--no-rate-limit", "--deel-token", "cli-token",
         "--jumpcloud-key", "cli-key"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else ""
        assert "cli-token" not in line
        assert "cli-key" not in line
        urls = json.loads(line)
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/rest/v2", urls["deel_api_url"])
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/api", urls["jumpcloud_api_url"])
        people = get(urls["deel_api_url"], "/people",
                     headers={"Authorization": "Bearer cli-token"}).json()  # fmt: skip
        assert people["page"]["total_rows"] == 40
        assert [p["id"] for p in people["data"]] == [
            p["id"] for p in generate_workforce(40, 5).people
        ]
        assert get(urls["deel_api_url"], "/people").status_code == 401  # default token refused
        users = requests.get(urls["jumpcloud_api_url"] + "/systemusers",
                             headers={"x-api-key": "cli-key", "Accept": "application/json"},
                             timeout=10)  # fmt: skip
        assert users.status_code == 200
        assert users.json()["totalCount"] == 0
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_cli_stops_cleanly_on_sigint():
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.emulators", "--workers", "3"],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        assert json.loads(proc.stdout.readline())["workers"] == 3
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
