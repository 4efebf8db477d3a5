"""The setting `person_ids` (docs/webhooks.md): only those people, one `GET /people/{id}` each.

Against the Deel emulator over loopback: the requests made, the records (shaped like the list
endpoint's, derived fields included), the stream's end mark, 404s, retries, pacing, the
setting arriving as `TAP_DEEL_PERSON_IDS` through the real CLI, and the re-hire search: for a
named leaver with a work email, the other profiles with exactly that address.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest
import requests
from singer_sdk.exceptions import ConfigValidationError, RetriableAPIError
from tap_deel.derived import DERIVED_FIELDS
from tap_deel.people_by_id import configured_person_ids, person_of, person_path
from tap_deel.settings import DEFAULT_ACTIVE_HIRING_STATUSES
from tap_deel.streams import STREAM_END_KEYWORD
from tap_deel.tap import TapDeel

from tests.emulators.workforce import generate_workforce, work_email_of
from tests.tap_deel.tap_helpers import (
    DEEL_TOKEN,
    busiest_window,
    run_tap,
    tap_config,
    validate_records,
)

if TYPE_CHECKING:
    from pathlib import Path

    from tests.emulators.base import EmulatorServer
    from tests.emulators.deel import DeelEmulator

ONE_PERSON = r"/rest/v2/people/[0-9a-f-]{36}"
GONE = "00000000-0000-4000-8000-000000000000"
#: Fields only the list endpoint sends (Deel's schema for GET /people/{id} lacks them).
LIST_ONLY = {"person_status", "is_pwac", "hris_organization_user_id"}
EMPLOYMENT_LIST_ONLY = {"band_placement", "comparative_ratio", "compensation_band_id"}


@pytest.fixture
def deel(deel_emulator: EmulatorServer[DeelEmulator]) -> DeelEmulator:
    """60 people, the rate limit off (pacing has its own test below)."""
    app = deel_emulator.app
    app.set_workforce(generate_workforce(60, seed=16))
    app.rate_limit_enabled = False
    return app


def chosen(deel: DeelEmulator, *indexes: int) -> list[str]:
    return [deel.people[i]["id"] for i in indexes]


def alone(deel: DeelEmulator, person: dict[str, Any]) -> bool:
    """Whether no other profile has the person's work email (not one of a re-hire's two)."""
    email = (work_email_of(person) or "").casefold()
    return sum((work_email_of(p) or "").casefold() == email for p in deel.people) == 1


def leavers_of(deel: DeelEmulator, ids: list[str]) -> list[dict[str, Any]]:
    """The named people who are not active (default statuses) and have a work email."""
    people = [deel.get_person(i) for i in ids]
    return [
        p
        for p in people
        if p is not None
        and p["hiring_status"] not in DEFAULT_ACTIVE_HIRING_STATUSES
        and work_email_of(p)
    ]


def without_list_only(record: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in record.items() if k not in LIST_ONLY}
    out["employments"] = [
        {k: v for k, v in e.items() if k not in EMPLOYMENT_LIST_ONLY}
        for e in record.get("employments") or []
    ]
    return out


def test_only_the_named_people_one_request_each_shaped_like_the_list(
    deel: DeelEmulator, deel_api_url: str
) -> None:
    ids = chosen(deel, 3, 41, 7)
    targeted = run_tap(tap_config(deel_api_url, person_ids=ids), ["people"])

    assert targeted.ids("people") == ids  # in the order given
    assert [e.path for e in deel.requests()] == [f"/rest/v2/people/{i}" for i in ids]
    assert validate_records(targeted) == 3
    full = run_tap(tap_config(deel_api_url), ["people"])
    listed = {r["id"]: r for r in full.records["people"]}
    for record in targeted.records["people"]:
        assert set(DERIVED_FIELDS) <= set(record)
        assert record == without_list_only(listed[record["id"]])
    # Same schema, and the end mark: SCHEMA announces it, a STATE follows the last person.
    assert targeted.schemas["people"] == full.schemas["people"]
    assert targeted.schemas["people"][STREAM_END_KEYWORD] == "STATE"
    kinds = [m["type"] for m in targeted.lines]
    last_record = max(i for i, kind in enumerate(kinds) if kind == "RECORD")
    assert kinds[last_record + 1] == "STATE"


def test_a_terminated_worker_reads_inactive(deel: DeelEmulator, deel_api_url: str) -> None:
    leaver = next(p for p in deel.people if p["hiring_status"] == "active" and alone(deel, p))
    deel.terminate_person(leaver["id"])
    result = run_tap(tap_config(deel_api_url, person_ids=[leaver["id"]]), ["people"])
    (record,) = result.records["people"]
    assert record["hiring_status"] == "inactive"
    assert record["active"] is False


def test_404_is_logged_and_skipped_and_the_end_mark_stays(
    deel: DeelEmulator, deel_api_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    ids = [GONE, *chosen(deel, 2)]
    with caplog.at_level(logging.WARNING):
        result = run_tap(tap_config(deel_api_url, person_ids=ids), ["people"])
    assert result.ids("people") == ids[1:]
    assert [e.status for e in deel.requests()] == [404, 200]
    skipped = [r.getMessage() for r in caplog.records if GONE in r.getMessage()]
    assert len(skipped) == 1
    assert "404" in skipped[0]

    nobody = run_tap(tap_config(deel_api_url, person_ids=[GONE]), ["people"])
    assert nobody.records.get("people", []) == []
    assert nobody.schemas["people"][STREAM_END_KEYWORD] == "STATE"
    assert "people" in nobody.states[0]["bookmarks"]  # the closing STATE, with no person


def test_retries_429_5xx_and_a_dropped_connection(deel: DeelEmulator, deel_api_url: str) -> None:
    ids = chosen(deel, 1, 2)
    for kind in ("503", "429", "drop", "500"):
        deel.faults.script(kind, path=ONE_PERSON)
    result = run_tap(tap_config(deel_api_url, person_ids=ids), ["people"])
    assert result.ids("people") == ids
    statuses = [e.status for e in deel.requests()]
    assert Counter(statuses) == Counter({200: 2, 503: 1, 429: 1, 0: 1, 500: 1})


def test_paced_under_deels_limit(deel: DeelEmulator, deel_api_url: str) -> None:
    deel.rate_limit_enabled = True
    deel.rate_limit_per_second = 5
    ids = chosen(deel, *range(12))
    result = run_tap(
        tap_config(deel_api_url, person_ids=ids, max_requests_per_second=5), ["people"]
    )
    assert result.ids("people")[:12] == ids
    log = deel.requests()
    searches = [e for e in log if e.path == "/rest/v2/people"]  # for the leavers among them
    assert len(searches) == len(leavers_of(deel, ids)) > 0
    assert len(log) == 12 + len(searches)
    assert all(e.status == 200 for e in log)
    assert busiest_window(log) <= 5


def test_repeats_are_fetched_once_and_hiring_types_still_filter(
    deel: DeelEmulator, deel_api_url: str
) -> None:
    people = deel.people
    kept_type = people[0]["hiring_type"]
    other = next(p for p in people if p["hiring_type"] != kept_type)
    ids = [people[0]["id"], people[0]["id"].upper(), other["id"]]
    result = run_tap(tap_config(deel_api_url, person_ids=ids, hiring_types=[kept_type]), ["people"])
    assert result.ids("people") == [people[0]["id"]]
    one_by_one = [e for e in deel.requests() if e.path != "/rest/v2/people"]
    assert len(one_by_one) == 2  # the repeat was never asked for


def test_unset_or_empty_lists_everyone(deel: DeelEmulator, deel_api_url: str) -> None:
    result = run_tap(tap_config(deel_api_url, person_ids=[]), ["people"])
    assert len(result.ids("people")) == 60
    assert {e.path for e in deel.requests()} == {"/rest/v2/people"}


@pytest.mark.parametrize("bad", [["not-a-uuid"], [""], "7c9e6679-7425-40de-944b-e07fc1f90ae7", [7]])
def test_bad_person_ids_are_refused(bad: Any) -> None:
    with pytest.raises(ConfigValidationError):
        TapDeel(config=tap_config("https://api.letsdeel.com/rest/v2", person_ids=bad))


def test_pure_helpers() -> None:
    upper = "7C9E6679-7425-40DE-944B-E07FC1F90AE7"
    assert configured_person_ids({}) is None
    assert configured_person_ids({"person_ids": None}) is None
    assert configured_person_ids({"person_ids": [upper, upper.lower()]}) == (upper,)
    assert person_path("a/b c") == "/people/a%2Fb%20c"
    assert person_of({"data": {"id": "x", "custom_fields": [], "a": 1}}) == {"id": "x", "a": 1}
    assert person_of({"data": [{"id": "x"}]}) is None
    assert person_of([]) is None


def run_cli_env(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tap_deel", "--config", "ENV"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
        cwd=tmp_path,
    )


def test_the_cli_reads_tap_deel_person_ids_as_a_json_list(
    deel: DeelEmulator, deel_api_url: str, tmp_path: Path
) -> None:
    ids = chosen(deel, 9, 10)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TAP_DEEL_")}
    env = {
        **clean,
        "TAP_DEEL_API_TOKEN": DEEL_TOKEN,
        "TAP_DEEL_API_URL": deel_api_url,
        "TAP_DEEL_PERSON_IDS": json.dumps([*ids, GONE]),
    }
    done = run_cli_env(env, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    people = [m["record"]["id"] for m in lines if m["type"] == "RECORD" and m["stream"] == "people"]
    assert people == ids
    assert lines[-1]["type"] == "STATE"
    assert "Traceback" not in done.stderr
    read = {e.path for e in deel.requests() if e.path.startswith("/rest/v2/people")}
    assert read == {f"/rest/v2/people/{i}" for i in [*ids, GONE]}  # never the list


def test_a_refused_token_on_one_person_is_one_line_and_exit_1(
    deel: DeelEmulator, deel_api_url: str, tmp_path: Path
) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TAP_DEEL_")}
    env = {
        **clean,
        "TAP_DEEL_API_TOKEN": "not-the-token-SECRET",
        "TAP_DEEL_API_URL": deel_api_url,
        "TAP_DEEL_PERSON_IDS": json.dumps(chosen(deel, 1)),
    }
    done = run_cli_env(env, tmp_path)
    assert done.returncode == 1
    assert "api_token" in done.stderr
    assert "Traceback" not in done.stderr
    assert "not-the-token-SECRET" not in done.stderr + done.stdout
    assert '"type":"RECORD"' not in done.stdout


# -- re-hires: a leaver's other profiles with the same work email ------------------------------

LIST = "/rest/v2/people"


def searches(deel: DeelEmulator) -> list[str]:
    """The `search` of each list request made (the tap lists only to search, with person_ids)."""
    return [e.query["search"][0] for e in deel.requests() if e.path == LIST]


def rehire_pair(deel: DeelEmulator) -> tuple[dict[str, Any], dict[str, Any]]:
    """The workforce's re-hire: an old inactive profile and a new active one, one work email."""
    old, new = deel.people[0], deel.people[1]
    assert work_email_of(old) == work_email_of(new) is not None
    assert (old["hiring_status"], new["hiring_status"]) == ("inactive", "active")
    return old, new


def test_a_leaver_brings_the_other_profiles_with_their_work_email(
    deel: DeelEmulator, deel_api_url: str
) -> None:
    old, new = rehire_pair(deel)
    result = run_tap(tap_config(deel_api_url, person_ids=[old["id"]]), ["people"])

    assert result.ids("people") == [old["id"], new["id"]]
    assert [e.path for e in deel.requests()] == [f"/rest/v2/people/{old['id']}", LIST]
    (search,) = [e for e in deel.requests() if e.path == LIST]
    assert search.query["search"] == [work_email_of(old)]
    assert search.query["sort_by"] == ["id"]
    # The profile found is the list endpoint's record, with the same derived fields as any.
    assert validate_records(result) == 2
    full = {r["id"]: r for r in run_tap(tap_config(deel_api_url), ["people"]).records["people"]}
    found = result.records["people"][1]
    assert found == full[new["id"]]
    assert (found["active"], found["work_email"]) == (True, work_email_of(old))
    assert result.records["people"][0]["active"] is False


def test_a_profile_both_named_and_found_is_emitted_once(
    deel: DeelEmulator, deel_api_url: str
) -> None:
    old, new = rehire_pair(deel)
    for ids in ([old["id"], new["id"]], [new["id"], old["id"]]):
        deel.reset_log()
        result = run_tap(tap_config(deel_api_url, person_ids=ids), ["people"])
        assert result.ids("people") == ids
        assert searches(deel) == [work_email_of(old)]  # for the leaver; none for the active one


def test_one_search_per_leaver_with_a_work_email_none_for_anyone_else(
    deel: DeelEmulator, deel_api_url: str
) -> None:
    singles = [
        p
        for p in deel.people
        if p["hiring_status"] == "active"
        and alone(deel, p)
        and any(e["type"] == "work" and e["value"] for e in p["emails"])
    ]
    leavers, stayers = singles[:3], singles[3:6]
    for person in leavers:
        deel.terminate_person(person["id"])
    no_email = deel.hire("Noor", "Mailless", seed=5, with_work_email=False)
    deel.terminate_person(no_email["id"])
    ids = [p["id"] for p in (*stayers, *leavers, no_email)]
    deel.reset_log()

    result = run_tap(tap_config(deel_api_url, person_ids=ids), ["people"])

    assert result.ids("people") == ids  # each leaver's search found only themselves
    assert searches(deel) == [work_email_of(p) for p in leavers]
    assert len(deel.requests()) == len(ids) + len(leavers)
    assert [r["active"] for r in result.records["people"]] == [True] * 3 + [False] * 4


def test_only_an_exact_match_of_the_work_email_counts(
    deel: DeelEmulator, deel_api_url: str
) -> None:
    leaver = deel.hire("Ann", "Lee", seed=1, work_email="ann@acme.example")
    deel.terminate_person(leaver["id"])
    joann = deel.hire("Jo", "Ann", seed=2, work_email="joann@acme.example")
    rehired = deel.hire("Ann", "Lee", seed=3, work_email="ANN@Acme.Example")
    # Deel's search finds Jo Ann too: her address contains the leaver's.
    answer = requests.get(
        f"{deel_api_url}/people",
        params={"search": "ann@acme.example"},
        headers={"Authorization": f"Bearer {DEEL_TOKEN}"},
        timeout=10,
    ).json()
    assert {joann["id"], rehired["id"], leaver["id"]} <= {p["id"] for p in answer["data"]}
    deel.reset_log()

    result = run_tap(tap_config(deel_api_url, person_ids=[leaver["id"]]), ["people"])

    # The tap kept only the same address, whatever its case.
    assert result.ids("people") == [leaver["id"], rehired["id"]]
    assert searches(deel) == ["ann@acme.example"]


def test_the_search_keeps_to_hiring_types(deel: DeelEmulator, deel_api_url: str) -> None:
    old, new = rehire_pair(deel)  # a contractor who became an employee (eor)
    assert (old["hiring_type"], new["hiring_type"]) == ("contractor", "eor")
    only_old = run_tap(
        tap_config(deel_api_url, person_ids=[old["id"]], hiring_types=["contractor"]), ["people"]
    )
    assert only_old.ids("people") == [old["id"]]
    (search,) = [e for e in deel.requests() if e.path == LIST]
    assert search.query["hiring_types"] == ["contractor"]  # asked of Deel, as the list does
    both = run_tap(
        tap_config(deel_api_url, person_ids=[old["id"]], hiring_types=["contractor", "eor"]),
        ["people"],
    )
    assert both.ids("people") == [old["id"], new["id"]]


def test_a_failing_search_is_retried_and_ends_the_run_like_any_request(
    deel: DeelEmulator, deel_api_url: str, fast_backoff: Any
) -> None:
    old, new = rehire_pair(deel)
    for kind in ("503", "429", "drop"):
        deel.faults.script(kind, path=LIST)
    result = run_tap(tap_config(deel_api_url, person_ids=[old["id"]]), ["people"])
    assert result.ids("people") == [old["id"], new["id"]]
    assert [e.status for e in deel.requests() if e.path == LIST] == [503, 429, 0, 200]

    deel.reset_log()
    deel.faults.script("500", path=LIST, count=10_000)
    with pytest.raises(RetriableAPIError, match="500"):
        run_tap(tap_config(deel_api_url, person_ids=[old["id"]]), ["people"])
    assert len([e for e in deel.requests() if e.path == LIST]) == fast_backoff.max_tries
    deel.faults.clear()
