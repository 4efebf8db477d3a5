"""The synthetic workforce: deterministic, Deel-shaped, and holding every awkward case."""

from __future__ import annotations

import re
import time
import unicodedata
from collections import Counter
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.emulators import workforce as wfmod
from tests.emulators.workforce import (
    AS_OF,
    Workforce,
    derive_contracts,
    email_local,
    generate_workforce,
    new_hire,
    primary_employment,
    promote,
    terminate,
    transfer,
    work_email_of,
)

UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Every top-level key of a person on GET /people (deel-api.md docs/sync-rules.md / the 2026 spec).
PERSON_KEYS = {
    "id", "worker_id", "external_id", "first_name", "last_name", "full_name",
    "preferred_first_name", "preferred_last_name", "emails", "birth_date", "start_date",
    "created_at", "updated_at", "completion_date", "hiring_status", "new_hiring_status",
    "person_status", "hiring_type", "is_pwac", "job_title", "seniority", "department",
    "work_location", "country", "state", "timezone", "nationalities", "addresses",
    "client_legal_entity", "direct_manager", "direct_reports", "direct_reports_count",
    "hris_organization_user_id", "active_worker_termination_status", "employments",
}  # fmt: skip
EMPLOYMENT_KEYS = {
    "id", "name", "team", "email", "work_email", "state", "country", "timezone", "job_title",
    "seniority", "start_date", "hiring_type", "hiring_status", "new_hiring_status",
    "contract_status", "is_ended", "contract_is_archived", "is_user_contract_deleted",
    "contract_has_contractor", "termination_last_day", "completion_date", "voluntarily_left",
    "has_eor_termination", "payment", "client_legal_entity", "contract_coverage",
    "band_placement", "comparative_ratio", "compensation_band_id",
    "hris_direct_employee_invitation",
}  # fmt: skip


@cache
def workforce(n: int = 1000, seed: int = 42) -> Workforce:
    """Generated once per (n, seed) for the read-only tests below."""
    return generate_workforce(n, seed)


def fresh(n: int = 200, seed: int = 3) -> Workforce:
    """A workforce a test may change."""
    return generate_workforce(n, seed)


def current(person: dict[str, Any]) -> dict[str, Any]:
    """The primary employment, which every generated person has."""
    employment = primary_employment(person)
    assert employment is not None
    return employment


def email_of(person: dict[str, Any]) -> str:
    """The derived work email of a person known to have one."""
    email = work_email_of(person)
    assert email is not None
    return email


# -- determinism and size ------------------------------------------------------------------------


def test_same_seed_and_size_give_an_identical_workforce():
    assert generate_workforce(300, 11) == generate_workforce(300, 11)


def test_another_seed_gives_another_workforce():
    a, b = generate_workforce(300, 11), generate_workforce(300, 12)
    assert [p["id"] for p in a.people] != [p["id"] for p in b.people]
    assert [p["full_name"] for p in a.people] != [p["full_name"] for p in b.people]


@pytest.mark.parametrize("n", [0, 1, 2, 7, 8, 9, 50, 123, 124, 125, 501])
def test_the_size_is_exactly_n(n):
    people = generate_workforce(n, 5).people
    assert len(people) == n
    assert len({p["id"] for p in people}) == n


def test_small_workforces_hold_the_most_important_scenarios_first():
    tiny = generate_workforce(8, 1).people  # a quarter of 8 fits the re-hire pair only
    assert len({work_email_of(p) for p in tiny}) == 7
    smaller = generate_workforce(7, 1).people  # no room for it
    assert len({work_email_of(p) for p in smaller}) == 7
    full = Counter(p["full_name"] for p in generate_workforce(128, 1).people)
    assert full["Alpha Zed"] == 3
    _kind, _culture, first, last = wfmod._SPECIALS[-1]  # the least important scenario
    assert full[f"{first} {last}"] >= 1
    assert full["Maria Garcia"] >= 3


def test_negative_size_is_refused():
    with pytest.raises(ValueError, match="n must be"):
        generate_workforce(-1, 0)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(0, 260), seed=st.integers(0, 2**32))
def test_any_size_and_seed_gives_consistent_people(n, seed):
    wf = generate_workforce(n, seed)
    assert len(wf.people) == n
    ids = [p["id"] for p in wf.people]
    assert len(set(ids)) == n
    contract_ids = [c["id"] for c in derive_contracts(wf.people)]
    assert len(set(contract_ids)) == len(contract_ids)
    emails = Counter((work_email_of(p) or "").lower() for p in wf.people)
    emails.pop("", None)
    shared = [e for e, count in emails.items() if count > 1]
    assert len(shared) <= 1  # only the re-hire pair shares an address
    for p in wf.people:
        assert p["full_name"] == f"{p['first_name']} {p['last_name']}"
        assert p["hiring_status"] in wfmod.PERSON_STATUS


# -- the mix -----------------------------------------------------------------------------------


def test_status_mix_is_about_3_percent_inactive_2_percent_onboarding():
    people = workforce().people
    counts = Counter(p["hiring_status"] for p in people)
    n = len(people)
    assert 0.025 * n <= counts["inactive"] <= 0.035 * n
    onboarding = sum(counts[s] for s in wfmod.ONBOARDING_STATUSES)
    assert 0.015 * n <= onboarding <= 0.025 * n
    assert all(counts[s] > 0 for s in wfmod.ONBOARDING_STATUSES)
    assert counts["invited"] > 0
    assert counts["draft"] > 0
    assert counts["invited"] + counts["draft"] <= 0.01 * n
    assert (
        counts["active"]
        == n - counts["inactive"] - onboarding - counts["invited"] - (counts["draft"])
    )


def test_worker_types_entities_departments_teams_and_locations_vary():
    wf = workforce()
    types = Counter(p["hiring_type"] for p in wf.people)
    assert set(types) == {"eor", "contractor", "hris_direct_employee", "direct_employee"}
    assert all(count >= 20 for count in types.values())
    assert len({p["client_legal_entity"]["id"] for p in wf.people}) >= 4
    assert len({p["department"]["id"] for p in wf.people}) >= 10
    assert len({current(p)["team"]["id"] for p in wf.people}) >= 20
    assert len({p["work_location"] for p in wf.people}) >= 4
    assert len({p["country"] for p in wf.people}) >= 15


def test_names_cover_diacritics_apostrophes_hyphens_multi_word_and_other_scripts():
    names = [f"{p['first_name']} {p['last_name']}" for p in generate_workforce(500, 9).people]
    text = " ".join(names)
    scripts = {
        "CJK": r"[\u4e00-\u9fff]",
        "Cyrillic": r"[\u0400-\u04ff]",
        "Arabic": r"[\u0600-\u06ff]",
        "Hangul": r"[\uac00-\ud7af]",
        "Greek": r"[\u0370-\u03ff]",
    }
    for script, pattern in scripts.items():
        assert re.search(pattern, text), f"no {script} name"
    latin_marks = [
        n for n in names if any(unicodedata.combining(c) for c in unicodedata.normalize("NFD", n))
    ]
    assert len(latin_marks) >= 10
    for needle in ("José", "Łukasz", "Ærø", "Zoë", "Nguyễn", "O'Brien", "D'Angelo",
                   "Anne-Marie", "Smith-Jones", "van der Berg", "de la Cruz", "María José",
                   "王", "Дмитрий", "محمد", "김", "Αλέξανδρος"):  # fmt: skip
        assert needle in text, needle


def test_identical_names_repeat():
    full_names = Counter(p["full_name"] for p in workforce().people)
    assert full_names["Maria Garcia"] >= 3
    assert full_names["Alpha Zed"] >= 3


def test_some_workers_have_no_work_email_at_all():
    people = workforce().people
    missing = [p for p in people if work_email_of(p) is None]
    assert len(missing) >= 3
    for p in missing:
        assert {e["type"] for e in p["emails"]} <= {"primary", "personal", "work"}
        assert all(e["value"] is None for e in p["emails"] if e["type"] == "work")
        assert any(e["value"] for e in p["emails"] if e["type"] in ("primary", "personal"))
        assert all(e["work_email"] is None for e in p["employments"])
    assert any(any(e["type"] == "work" for e in p["emails"]) for p in missing), (
        "a work entry with a null value should occur"
    )


def test_some_work_emails_are_only_on_the_employment():
    people = workforce().people
    only_there = [
        p for p in people
        if not any(e["type"] == "work" and e["value"] for e in p["emails"])
        and current(p)["work_email"]
    ]  # fmt: skip
    assert len(only_there) >= 3
    for p in only_there:
        assert work_email_of(p) == current(p)["work_email"]


def test_some_people_have_an_ended_employment_before_an_active_one():
    people = workforce().people
    found = [p for p in people if len(p["employments"]) == 2]
    assert len(found) >= 3
    for p in found:
        old, job = p["employments"]
        assert old["is_ended"] is True
        assert job["is_ended"] is False
        assert current(p) is job
        assert p["job_title"] == job["job_title"]
        assert p["hiring_type"] == job["hiring_type"]
        assert old["termination_last_day"][:10] < job["start_date"]


def test_the_rehire_pair_shares_one_work_email_and_all_others_are_unique():
    people = workforce().people
    by_email: dict[str, list[dict[str, Any]]] = {}
    for p in people:
        email = work_email_of(p)
        if email:
            by_email.setdefault(email.lower(), []).append(p)
    shared = {e: ps for e, ps in by_email.items() if len(ps) > 1}
    assert len(shared) == 1
    (pair,) = shared.values()
    old, new = pair
    assert old["full_name"] == new["full_name"]
    assert (old["hiring_status"], old["hiring_type"]) == ("inactive", "contractor")
    assert new["hiring_status"] == "active"
    assert new["hiring_type"] != "contractor"
    assert old["id"] != new["id"]
    assert new["start_date"] > old["employments"][0]["termination_last_day"][:10]


def test_work_emails_derive_from_the_cleaned_name_at_the_domain():
    wf = generate_workforce(400, 8, domain="globex.test")
    seen = 0
    for p in wf.people:
        email = work_email_of(p)
        if email is None:
            continue
        local, domain = email.split("@")
        assert domain == "globex.test"
        assert re.fullmatch(r"[a-z0-9.-]+", local), email
        if p["first_name"].isascii() and p["last_name"].isascii():
            base = f"{email_local(p['first_name'])}.{email_local(p['last_name'])}"
            assert re.fullmatch(re.escape(base) + r"\d*", local), (email, p["full_name"])
            seen += 1
    assert seen > 100


# -- shape ---------------------------------------------------------------------------------------


def test_every_person_has_deels_fields_and_types():
    wf = workforce()
    entity_ids = {e["id"] for e in wf.legal_entities}
    team_ids = {t["id"] for t in wf.teams}
    locations = {loc["name"] for loc in wf.working_locations}
    parents = {d["id"]: d["name"] for d in wf.departments}
    leaf_parent = {d["id"]: parents[d["parent"]] for d in wf.departments if d["parent"]}
    for p in wf.people:
        assert set(p) - {"direct_employee_termination_last_day"} == PERSON_KEYS
        assert UUID4.fullmatch(p["id"])
        assert UUID4.fullmatch(p["hris_organization_user_id"])
        assert p["worker_id"].isdigit()
        assert STAMP.fullmatch(p["created_at"])
        assert STAMP.fullmatch(p["updated_at"])
        assert p["updated_at"] >= p["created_at"]
        assert DATE.fullmatch(p["start_date"])
        assert p["birth_date"] is None or DATE.fullmatch(p["birth_date"])
        assert p["full_name"] == f"{p['first_name']} {p['last_name']}"
        assert p["new_hiring_status"] == p["hiring_status"]
        assert p["client_legal_entity"]["id"] in entity_ids
        assert p["work_location"] in locations
        assert p["department"]["parent"] == leaf_parent[p["department"]["id"]]
        assert p["direct_reports_count"] == len(p["direct_reports"])
        assert p["nationalities"] == [p["country"]]
        for e in p["employments"]:
            assert set(e) == EMPLOYMENT_KEYS
            assert re.fullmatch(r"[a-z0-9]{7}", e["id"])
            assert e["team"]["id"] in team_ids
            assert isinstance(e["payment"]["rate"], float)
            assert e["payment"]["contract_name"] == e["name"]
        job = current(p)
        assert job["hiring_status"] == p["hiring_status"]
        assert job["hiring_type"] == p["hiring_type"]
        assert job["job_title"] == p["job_title"]
        assert job["seniority"] == p["seniority"]
        assert job["start_date"] == p["start_date"]
        assert job["client_legal_entity"] == p["client_legal_entity"]


def test_teams_belong_to_the_persons_department():
    for p in workforce().people:
        dept = p["department"]
        leaves = wfmod._DEPARTMENTS[dept["parent"]]
        assert current(p)["team"]["name"] in leaves[dept["name"]][1]


def test_statuses_match_dates_and_contract_states():
    as_of = AS_OF.isoformat()
    for p in workforce().people:
        status = p["hiring_status"]
        employments = p["employments"]
        if status == "inactive":
            assert p["person_status"] == "INACTIVE"
            assert all(e["is_ended"] for e in employments)
            assert all(e["termination_last_day"] for e in employments)
            assert p["active_worker_termination_status"] == "COMPLETED"
        else:
            assert not current(p)["is_ended"]
        if status in wfmod.ONBOARDING_STATUSES or status in wfmod.PRE_CONTRACT_STATUSES:
            assert p["start_date"] > as_of
            assert p["person_status"] == "NOT_STARTED"
        if status == "active":
            assert p["start_date"] <= as_of
            assert p["person_status"] in ("ACTIVE", "OFFBOARDING")


def test_reporting_lines_form_a_tree():
    wf = workforce()
    by_id = {p["id"]: p for p in wf.people}
    roots = [p for p in wf.people if p["direct_manager"] is None]
    assert len(roots) == 1
    assert roots[0]["job_title"] == "Chief Executive Officer"
    for p in wf.people:
        seen = {p["id"]}
        node = p
        while node["direct_manager"] is not None:
            manager = by_id[node["direct_manager"]["id"]]
            assert manager["hiring_status"] == "active"
            assert manager["id"] not in seen, "cycle"
            seen.add(manager["id"])
            node = manager
        for report in p["direct_reports"]:
            assert by_id[report["id"]]["direct_manager"]["id"] == p["id"]
    managers = wf.managers
    assert {m["id"] for m in managers} == {p["id"] for p in wf.people if p["direct_reports"]}
    assert all(isinstance(p["direct_manager"]["worker_id"], int)
               for p in wf.people if p["direct_manager"])  # fmt: skip


def test_org_data_has_the_endpoint_shapes():
    wf = workforce()
    assert {t["id"] for t in wf.teams} <= {g["id"] for g in wf.groups}
    assert any(g["status"] == "archived" for g in wf.groups)
    for g in wf.groups:
        assert set(g) == {"id", "name", "status", "managers", "created_at", "updated_at",
                          "archived_at", "external_metadata"}  # fmt: skip
    assert any(d["parent"] is None for d in wf.departments)
    assert all(isinstance(loc["id"], int) for loc in wf.working_locations)
    assert [set(o) for o in wf.organizations] == [{"id", "name"}]
    assert any(e["archived_at"] for e in wf.legal_entities)
    contracts = wf.contracts
    assert len(contracts) == sum(len(p["employments"]) for p in wf.people)
    for c in contracts:
        assert {"id", "title", "type", "status", "client", "worker", "created_at",
                "termination_date", "is_archived", "is_shielded", "invitations",
                "signatures"} <= set(c)  # fmt: skip


def test_email_local_folds_names_to_mailbox_letters():
    assert email_local("Łukasz") == "lukasz"
    assert email_local("Ærø") == "aero"
    assert email_local("Zoë") == "zoe"
    assert email_local("O'Brien") == "obrien"
    assert email_local("van der Berg") == "vanderberg"
    assert email_local("Anne-Marie") == "anne-marie"
    assert email_local("Nguyễn") == "nguyen"
    assert email_local("Groß") == "gross"
    assert email_local("王") == ""


# -- helpers ---------------------------------------------------------------------------------------


def test_by_id_finds_people_and_follows_changes():
    wf = fresh()
    person = wf.people[17]
    assert wf.by_id(person["id"]) is person
    added = new_hire(wf, "Zoë", "Ærø", 1)
    wf.people.append(added)
    assert wf.by_id(added["id"]) is added
    with pytest.raises(KeyError):
        wf.by_id("00000000-0000-4000-8000-000000000000")


def test_promote_changes_the_title_everywhere_and_touches_updated_at():
    wf = fresh()
    person = next(p for p in wf.people if len(p["employments"]) == 2)
    before = person["updated_at"]
    promote(person, "Staff Engineer", seniority="Staff (Individual Contributor Level 5)")
    assert person["job_title"] == "Staff Engineer"
    assert current(person)["job_title"] == "Staff Engineer"
    assert person["employments"][0]["job_title"] != "Staff Engineer"  # the ended one stays
    assert person["seniority"] == "Staff (Individual Contributor Level 5)"
    assert person["updated_at"] > before
    assert STAMP.fullmatch(person["updated_at"])


def test_transfer_by_name_uses_the_workforce_ids():
    wf = fresh()
    person = next(p for p in wf.people if p["department"]["name"] != "Sales")
    transfer(person, "Sales", "SMB Sales", workforce=wf)
    assert person["department"] == {
        "id": wf.department("Sales")["id"],
        "name": "Sales",
        "parent": "Go-To-Market",
    }
    assert current(person)["team"] == wf.team("SMB Sales")
    with pytest.raises(KeyError):
        transfer(person, "Nope", "SMB Sales", workforce=wf)
    with pytest.raises(TypeError):
        transfer(person, "Sales", "SMB Sales")


def test_terminate_ends_every_contract():
    wf = fresh()
    person = next(p for p in wf.people if p["hiring_status"] == "active"
                  and p["hiring_type"] == "hris_direct_employee")  # fmt: skip
    terminate(person, last_day="2025-08-01")
    assert person["hiring_status"] == person["new_hiring_status"] == "inactive"
    assert person["person_status"] == "INACTIVE"
    assert all(e["is_ended"] and e["contract_status"] == "completed"
               for e in person["employments"])  # fmt: skip
    assert current(person)["termination_last_day"] == "2025-08-01T00:00:00.000Z"
    assert person["direct_employee_termination_last_day"] == "2025-08-01T00:00:00.000Z"


def test_new_hire_is_consistent_unique_and_deterministic():
    wf = fresh()
    taken = {(work_email_of(p) or "").lower() for p in wf.people}
    hire = new_hire(wf, "Maria", "Garcia", 7, department="Engineering", team="Platform")
    assert hire == new_hire(wf, "Maria", "Garcia", 7, department="Engineering", team="Platform")
    assert hire["id"] not in {p["id"] for p in wf.people}
    assert hire["full_name"] == "Maria Garcia"
    email = email_of(hire)
    assert email.lower() not in taken
    assert re.fullmatch(r"maria\.garcia\d*@acme\.example", email)
    assert hire["department"]["id"] == wf.department("Engineering")["id"]
    assert current(hire)["team"] == wf.team("Platform")
    assert hire["hiring_status"] == "active"
    assert hire not in wf.people  # returned, not added
    # From a plain list of people (what DeelEmulator.people gives) it still avoids clashes.
    other = new_hire(wf.people, "Maria", "Garcia", 7)
    assert email_of(other).lower() not in taken
    assert other["department"]["id"] in {p["department"]["id"] for p in wf.people}
    onboarding = new_hire(wf, "伟", "王", 3, status="onboarding")
    assert onboarding["hiring_status"] == "onboarding"
    assert email_of(onboarding).startswith("wei.wang")


def test_new_hire_options():
    wf = fresh()
    by_team = new_hire(wf, "Ana", "Lima", 1, team="Support APAC")
    assert current(by_team)["team"] == wf.team("Support APAC")
    assert by_team["department"]["name"] == "Customer Success"
    no_email = new_hire(wf, "Noor", "Haddad", 2, with_work_email=False)
    assert work_email_of(no_email) is None
    assert any(e["type"] == "personal" and e["value"] for e in no_email["emails"])
    contractor = new_hire(wf, "Ana", "Lima", 3, hiring_type="contractor", country="BR")
    assert (contractor["hiring_type"], contractor["country"]) == ("contractor", "BR")
    with pytest.raises(KeyError):
        new_hire(wf, "A", "B", 1, team="Nope")


def test_new_hire_rejects_unknown_department():
    with pytest.raises(KeyError):
        new_hire(fresh(), "A", "B", 1, department="Nope")


def test_generation_is_fast_enough_for_large_orgs():
    # Lenient on purpose (real figures belong to the benchmark): 10,000 people in well under
    # the time a slow CI machine needs for 100,000 with the original quadratic email search.
    start = time.perf_counter()
    people = generate_workforce(10_000, 1).people
    assert len(people) == 10_000
    assert time.perf_counter() - start < 20
