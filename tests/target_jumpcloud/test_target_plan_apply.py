"""Plan → (someone edits JumpCloud) → apply, against the JumpCloud emulator over loopback.

The plan file, the drift check and the existing applier, as the engine will chain them for
`apply_plan`: the directory is read over HTTP when planning and again when applying, one user
is edited through the API in between, and the emulator's request log shows every write.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
import requests
from target_jumpcloud.apply.users import apply_plan
from target_jumpcloud.model import ActionKind, Outcome, RecordResult
from target_jumpcloud.plan.build import PlanOptions, plan_sync
from target_jumpcloud.plan.document import plan_document, write_plan
from target_jumpcloud.plan.drift import check_drift
from target_jumpcloud.plan.load import load_plan
from target_jumpcloud.plan.schema import PlanFileError
from target_jumpcloud.settings.sync_settings import parse_settings
from target_jumpcloud.sync.directory import Directory, UserReader, compared_fields
from target_jumpcloud.sync.mapping import DEFAULT_MAPPING, map_record
from target_jumpcloud.sync.usernames import UsernameAllocator

from tests.target_jumpcloud.target_io_helpers import KEY, fast_client, person, writes

if TYPE_CHECKING:
    from pathlib import Path

    from target_jumpcloud.jumpcloud.client import JumpCloudClient

    from tests.emulators.jumpcloud import JumpCloudEmulator

MAPPING = dict(DEFAULT_MAPPING)
NOW = datetime(2026, 5, 4, 6, 0, tzinfo=UTC)

ADA = person("p1", "Ada", "Lovelace", job_title="Lead")  # JumpCloud: Engineer → update
ALAN = person("p2", "Alan", "Turing", job_title="Cryptanalyst")  # → update, edited meanwhile
GRACE = person("p3", "Grace", "Hopper", active=False)  # leaver → suspend
KATE = person("p4", "Kate", "Johnson")  # new → create
LIN = person("p5", "Lin", "Wei")  # in step → no action
WORKERS = [ADA, ALAN, GRACE, KATE, LIN]


def seed(app: JumpCloudEmulator) -> dict[str, str]:
    """Users for every worker but Kate, as a first sync left them; returns profile id → _id."""
    ids = {}
    for worker in (ADA, ALAN, GRACE, LIN):
        user = app.add_user(
            username=f"{worker['first_name'].lower()}.{worker['last_name'].lower()}",
            email=worker["work_email"],
            firstname=worker["first_name"],
            lastname=worker["last_name"],
            displayname=worker["full_name"],
            jobTitle="Engineer",
            department=worker["department"]["name"],
            location=worker["work_location"],
            costCenter=worker["team"],
            employeeType=worker["hiring_type"],
            company=worker["client_legal_entity"]["name"],
            employeeIdentifier=worker["id"],
            state="ACTIVATED",
        )
        ids[worker["id"]] = str(user["_id"])
    return ids


def read_directory(
    client: JumpCloudClient,
    extra: list[str] | None = None,
    mapping: dict[str, str] | None = None,
) -> Directory:
    """JumpCloud's users with the mapping's attributes and `extra` ones (a plan's)."""
    fields = compared_fields({**(mapping or MAPPING), **dict.fromkeys(extra or [], "")})
    reader = UserReader(name for name in fields)
    return Directory(user for page in client.iter_user_pages(reader, fields) for user in page)


def make_plan_file(client: JumpCloudClient, path: Path) -> dict[str, Any]:
    directory = read_directory(client)
    records = [map_record(w, MAPPING, i) for i, w in enumerate(WORKERS)]
    plan = plan_sync(records, directory, PlanOptions())
    settings = parse_settings({"api_key": KEY, "api_url": client.api_url})
    document = plan_document(plan, directory, settings, created_at=NOW)
    write_plan(path, document)
    return document


def apply_file(client: JumpCloudClient, path: Path, **pins: Any) -> list[RecordResult]:
    """What an apply run does with a plan file: load, re-read JumpCloud, check, apply."""
    loaded = load_plan(path, now=NOW + timedelta(hours=2), **pins)
    directory = read_directory(client, loaded.attribute_names())
    check = check_drift(loaded.actions, directory)
    plan = check.as_plan(
        matched_users=loaded.matched_users,
        max_suspensions=parse_settings({"api_key": KEY}).max_suspensions,
    )
    assert not plan.guard_tripped
    planned = {a.username for a in plan.actions if a.kind is ActionKind.CREATE and a.username}
    allocator = UsernameAllocator(directory.usernames() | planned)
    return [*check.results, *apply_plan(plan, client, allocator)]


def edit_by_hand(app_url: str, user_id: str, **fields: Any) -> None:
    """An administrator's edit, through the API like the console makes it."""
    response = requests.put(
        f"{app_url}/systemusers/{user_id}", json=fields, headers={"x-api-key": KEY}, timeout=10
    )
    response.raise_for_status()


@pytest.fixture
def app(jumpcloud_emulator):
    emulator: JumpCloudEmulator = jumpcloud_emulator.app
    emulator.log_bodies = True
    return emulator


@pytest.fixture
def client(jumpcloud_api_url):
    return fast_client(jumpcloud_api_url)


def outcomes(results: list[RecordResult]) -> dict[str, Outcome]:
    return {str(r.deel_id): r.outcome for r in results}


def test_an_edited_user_is_a_conflict_and_every_other_action_is_applied(
    app, client, jumpcloud_api_url, tmp_path
):
    ids = seed(app)
    document = make_plan_file(client, tmp_path / "plan.json")
    assert sorted((a["deel_id"], a["kind"]) for a in document["actions"]) == [
        ("p1", "update"),
        ("p2", "update"),
        ("p3", "suspend"),
        ("p4", "create"),
    ]
    edit_by_hand(jumpcloud_api_url, ids["p2"], jobTitle="Head of Cryptanalysis")
    app.reset_log()

    results = apply_file(client, tmp_path / "plan.json", apply_plan_id=document["plan_id"])

    assert outcomes(results) == {
        "p1": Outcome.UPDATED,
        "p2": Outcome.CONFLICT,
        "p3": Outcome.SUSPENDED,
        "p4": Outcome.CREATED,
    }
    conflict = next(r for r in results if r.deel_id == "p2")
    assert conflict.reason == (
        "changed since the plan was made: jobTitle: 'Engineer' → 'Head of Cryptanalysis'"
    )
    # Exactly the three unchanged actions were written, each with its planned body.
    sent = sorted((e.method, e.path, json.dumps(e.body, sort_keys=True)) for e in writes(app))
    kate = next(a for a in document["actions"] if a["deel_id"] == "p4")
    expected_post = {"username": "kate.johnson", "state": "STAGED", "suspended": False}
    expected_post |= {name: change["after"] for name, change in kate["attributes"].items()}
    assert sent == sorted(
        [
            ("PUT", f"/api/systemusers/{ids['p1']}", json.dumps({"jobTitle": "Lead"})),
            (
                "PUT",
                f"/api/systemusers/{ids['p3']}",
                json.dumps({"state": "SUSPENDED", "suspended": True}, sort_keys=True),
            ),
            ("POST", "/api/systemusers", json.dumps(expected_post, sort_keys=True)),
        ]
    )
    assert app.get_user(ids["p2"])["jobTitle"] == "Head of Cryptanalysis"  # left as edited


def test_applying_the_same_plan_twice_writes_nothing_the_second_time(app, client, tmp_path):
    seed(app)
    make_plan_file(client, tmp_path / "plan.json")
    first = apply_file(client, tmp_path / "plan.json")
    assert set(outcomes(first).values()) == {Outcome.UPDATED, Outcome.SUSPENDED, Outcome.CREATED}
    users_after_first = app.users()
    app.reset_log()

    second = apply_file(client, tmp_path / "plan.json")

    assert writes(app) == []
    assert outcomes(second) == dict.fromkeys(["p1", "p2", "p3", "p4"], Outcome.UNCHANGED)
    assert all((r.reason or "").startswith("already as planned") for r in second)
    assert app.users() == users_after_first


def test_a_create_whose_email_was_taken_since_is_not_sent(app, client, jumpcloud_api_url, tmp_path):
    seed(app)
    make_plan_file(client, tmp_path / "plan.json")
    squatter = app.add_user(username="kj", email=KATE["work_email"].upper())
    app.reset_log()

    results = apply_file(client, tmp_path / "plan.json")

    kate = next(r for r in results if r.deel_id == "p4")
    assert kate.outcome is Outcome.CONFLICT
    assert f"is now held by JumpCloud user 'kj' ({squatter['_id']})" in (kate.reason or "")
    assert [e.method for e in writes(app)] == ["PUT", "PUT", "PUT"]  # the three updates only


@pytest.mark.parametrize(
    "tamper",
    [
        lambda doc: doc["actions"][0]["attributes"]["jobTitle"].update(after="CEO"),
        lambda doc: doc.update(plan_id="f" * 64),
    ],
)
def test_a_tampered_plan_is_refused_before_any_request(app, client, tmp_path, tamper):
    seed(app)
    path = tmp_path / "plan.json"
    document = make_plan_file(client, path)
    tamper(document)
    path.write_text(json.dumps(document), encoding="utf-8")
    app.reset_log()
    with pytest.raises(PlanFileError, match="was changed after it was made"):
        apply_file(client, path)
    assert app.requests() == []  # not even a read


def test_a_plan_pinned_to_another_id_is_refused_before_any_request(app, client, tmp_path):
    seed(app)
    make_plan_file(client, tmp_path / "plan.json")
    app.reset_log()
    with pytest.raises(PlanFileError, match=r"^apply_plan_id: "):
        apply_file(client, tmp_path / "plan.json", apply_plan_id="0" * 64)
    assert app.requests() == []


def test_the_directory_is_read_with_every_attribute_the_plan_writes(app, client, tmp_path):
    """The apply run's mapping may no longer sync an attribute the plan writes: the directory
    is then read with the plan's attributes too, or its before values could not be checked."""
    ids = seed(app)
    make_plan_file(client, tmp_path / "plan.json")
    loaded = load_plan(tmp_path / "plan.json", now=NOW)
    narrow = {k: v for k, v in MAPPING.items() if k != "jobTitle"}
    app.reset_log()
    directory = read_directory(client, loaded.attribute_names(), mapping=narrow)
    (listing,) = app.requests("GET", "/api/systemusers")
    assert "jobTitle" in listing.query["fields"][0].split(" ")
    check = check_drift(loaded.actions, directory)
    assert check.results == []
    # Read without them, every update would look drifted (jobTitle: 'Engineer' → (empty)).
    blind = check_drift(loaded.actions, read_directory(client, mapping=narrow))
    assert {r.deel_id for r in blind.results} == {"p1", "p2"}
    assert app.get_user(ids["p1"])["jobTitle"] == "Engineer"
