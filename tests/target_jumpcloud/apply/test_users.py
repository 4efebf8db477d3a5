"""apply_plan against the JumpCloud emulator: one result per action, never a duplicate user."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest
from target_jumpcloud.apply.users import apply_plan
from target_jumpcloud.jumpcloud.retries import MIN_ATTEMPTS
from target_jumpcloud.model import ActionKind, Outcome, Plan
from target_jumpcloud.plan.build import PlanOptions, plan_sync
from target_jumpcloud.sync.directory import Directory, compared_fields, directory_user
from target_jumpcloud.sync.mapping import DEFAULT_MAPPING, STATE_KEY, map_record
from target_jumpcloud.sync.usernames import UsernameAllocator

from tests.target_jumpcloud.target_io_helpers import KEY, fast_client, person

if TYPE_CHECKING:
    from target_jumpcloud.jumpcloud.client import JumpCloudClient

    from tests.emulators.jumpcloud import JumpCloudEmulator

MAPPING = dict(DEFAULT_MAPPING)
ATTRIBUTES = [name for name in MAPPING if name != STATE_KEY]


def _plan(client: JumpCloudClient, people: list[dict[str, Any]]) -> tuple[Plan, UsernameAllocator]:
    directory = Directory(
        directory_user(u, ATTRIBUTES) for u in client.iter_users(compared_fields(MAPPING))
    )
    records = [map_record(p, MAPPING, i) for i, p in enumerate(people)]
    plan = plan_sync(records, directory, PlanOptions())
    planned = {a.username for a in plan.actions if a.kind is ActionKind.CREATE and a.username}
    return plan, UsernameAllocator(directory.usernames() | planned)


def _by_email(app: JumpCloudEmulator, email: str) -> list[dict[str, Any]]:
    return [u for u in app.users() if u["email"].casefold() == email.casefold()]


@pytest.fixture
def app(jumpcloud_emulator):
    emulator: JumpCloudEmulator = jumpcloud_emulator.app
    emulator.log_bodies = True
    return emulator


@pytest.fixture
def client(jumpcloud_api_url):
    return fast_client(jumpcloud_api_url)


def test_every_action_gets_one_result_in_plan_order(app, client):
    app.add_user(
        username="old.timer",
        email="old.timer@acme.example",
        employeeIdentifier="p9",
        jobTitle="Intern",
    )
    people = [
        person("p1", "Ada", "Lovelace"),
        person("p9", "Old", "Timer", job_title="CTO"),
        person("p2", "Alan", "Turing"),
    ]
    plan, allocator = _plan(client, people)
    progress: list[tuple[int, int]] = []
    results = apply_plan(
        plan, client, allocator, concurrency=3, on_progress=lambda d, t: progress.append((d, t))
    )
    assert [r.position for r in results] == [a.desired.position for a in plan.actions]
    assert [r.outcome for r in results] == [Outcome.CREATED, Outcome.UPDATED, Outcome.CREATED]
    assert sorted(progress) == [(1, 3), (2, 3), (3, 3)]
    assert results[1].changes["jobTitle"] == ("Intern", "CTO")
    created = {r.username: r.jumpcloud_id for r in results if r.outcome is Outcome.CREATED}
    assert created == {u["username"]: u["_id"] for u in app.users() if u["username"] != "old.timer"}


@pytest.mark.parametrize("kind", ["commit_then_503", "commit_then_drop"])
def test_a_create_committed_but_unanswered_is_found_not_repeated(app, client, kind):
    app.faults.script(kind, method="POST", path="/api/systemusers")
    plan, allocator = _plan(client, [person("p1", "Ada", "Lovelace")])
    (result,) = apply_plan(plan, client, allocator)
    assert result.outcome is Outcome.CREATED
    (user,) = _by_email(app, "ada.lovelace@acme.example")
    assert result.jumpcloud_id == user["_id"]
    assert result.username == "ada.lovelace"
    assert "confirmed by a look-up" in (result.reason or "")
    assert len(app.requests("POST", "/api/systemusers")) == 1
    lookups = [
        e.query["filter"] for e in app.requests("GET", "/api/systemusers") if "filter" in e.query
    ]
    assert lookups == [["email:$eq:ada.lovelace@acme.example"]]


@pytest.mark.parametrize("kind", ["500", "502", "503", "drop"])
def test_a_create_refused_by_a_transient_error_is_sent_again_after_a_look_up(app, client, kind):
    app.faults.script(kind, method="POST", path="/api/systemusers", count=2)
    plan, allocator = _plan(client, [person("p1", "Ada", "Lovelace")])
    (result,) = apply_plan(plan, client, allocator)
    assert result.outcome is Outcome.CREATED
    assert len(_by_email(app, "ada.lovelace@acme.example")) == 1
    assert len(app.requests("POST", "/api/systemusers")) == 3
    assert result.reason is None


def test_a_create_that_never_gets_through_fails_after_bounded_attempts(app, client):
    app.faults.script("503", method="POST", path="/api/systemusers", count=100)
    plan, allocator = _plan(client, [person("p1", "Ada", "Lovelace"), person("p2", "Alan", "T")])
    results = apply_plan(plan, client, allocator)
    assert [r.outcome for r in results] == [Outcome.FAILED, Outcome.FAILED]
    assert "not created" in (results[0].reason or "")
    assert app.user_count == 0
    posts = app.requests("POST", "/api/systemusers")
    assert len(posts) == 2 * MIN_ATTEMPTS  # as many as any other request gets
    assert "gave up after 6 attempts" in (results[0].reason or "")


def test_a_create_gets_as_many_attempts_as_any_other_request(app, client):
    # Five failures whose outcome is unknown, then the create gets through: the look-ups
    # between them do not shorten its budget, the one a read or an update gets.
    for kind in ("503", "drop", "500", "502", "drop"):
        app.faults.script(kind, method="POST", path="/api/systemusers")
    plan, allocator = _plan(client, [person("p1", "Ada", "Lovelace")])
    (result,) = apply_plan(plan, client, allocator)
    assert result.outcome is Outcome.CREATED, result.reason
    assert len(_by_email(app, "ada.lovelace@acme.example")) == 1
    assert len(app.requests("POST", "/api/systemusers")) == MIN_ATTEMPTS


def test_a_create_shares_its_budget_between_429s_and_unknown_outcomes(app, client):
    # A 429 is retried in place (nothing was stored) and an unknown outcome after a look-up:
    # both spend the same budget, so six failures of either kind end the create.
    for kind in ("429", "503", "429", "drop", "429", "500"):
        app.faults.script(kind, method="POST", path="/api/systemusers")
    plan, allocator = _plan(client, [person("p1", "Ada", "Lovelace")])
    (result,) = apply_plan(plan, client, allocator)
    assert result.outcome is Outcome.FAILED
    assert "gave up after 6 attempts" in (result.reason or "")
    assert len(app.requests("POST", "/api/systemusers")) == MIN_ATTEMPTS
    assert app.user_count == 0


def test_a_create_keeps_trying_for_its_time_budget_and_is_created_once(app, jumpcloud_api_url):
    # Twelve failures in a row, far more than the minimum attempts: within the time budget
    # (a minute here, of millisecond waits) the create keeps going and succeeds exactly once.
    client = fast_client(jumpcloud_api_url, retry_budget=60.0)
    for kind in ("503", "drop", "502", "500") * 3:
        app.faults.script(kind, method="POST", path="/api/systemusers")
    plan, allocator = _plan(client, [person("p1", "Ada", "Lovelace")])
    (result,) = apply_plan(plan, client, allocator)
    assert result.outcome is Outcome.CREATED, result.reason
    assert len(_by_email(app, "ada.lovelace@acme.example")) == 1
    assert len(app.requests("POST", "/api/systemusers")) == 13
    assert app.writes["create"] == 1


def test_no_post_is_repeated_when_the_look_up_itself_fails(app, client):
    app.faults.script("commit_then_503", method="POST", path="/api/systemusers")
    app.faults.script("503", method="GET", path="/api/systemusers", count=100)
    client.retry_policy = replace(client.retry_policy, min_attempts=2)
    allocator = UsernameAllocator()
    records = [map_record(person("p1", "Ada", "Lovelace"), MAPPING, 0)]
    plan = plan_sync(records, Directory(), PlanOptions())
    (result,) = apply_plan(plan, client, allocator)
    assert result.outcome is Outcome.FAILED
    assert "check by email failed" in (result.reason or "")
    assert len(app.requests("POST", "/api/systemusers")) == 1
    assert app.user_count == 1  # the committed one; the next run adopts it by profile id


def test_a_username_taken_after_the_plan_gets_the_next_number(app, client):
    plan, allocator = _plan(client, [person("p1", "Ada", "Lovelace")])
    assert plan.actions[0].username == "ada.lovelace"
    app.add_user(username="ada.lovelace", email="someone.else@acme.example")
    (result,) = apply_plan(plan, client, allocator)
    assert result.outcome is Outcome.CREATED
    assert result.username == "ada.lovelace1"
    assert "ada.lovelace was taken meanwhile" in (result.reason or "")
    (user,) = _by_email(app, "ada.lovelace@acme.example")
    assert user["username"] == "ada.lovelace1"
    assert user["employeeIdentifier"] == "p1"


def test_a_username_taken_with_other_case_and_numbers_skips_all_taken(app, client):
    plan, allocator = _plan(client, [person("p1", "Ada", "Lovelace")])
    app.add_user(username="ada.lovelace", email="a1@acme.example")
    app.add_user(username="ada.lovelace1", email="a2@acme.example")
    (result,) = apply_plan(plan, client, allocator)
    assert result.outcome is Outcome.CREATED
    assert result.username == "ada.lovelace2"


def test_an_email_taken_after_the_plan_is_a_conflict(app, client):
    plan, allocator = _plan(client, [person("p1", "Ada", "Lovelace")])
    app.add_user(username="ada", email="Ada.Lovelace@acme.example", employeeIdentifier="x-7")
    (result,) = apply_plan(plan, client, allocator)
    assert result.outcome is Outcome.CONFLICT
    assert "work email is held by JumpCloud user ada" in (result.reason or "")
    assert len(app.users()) == 1


def test_a_profile_id_taken_after_the_plan_is_a_conflict(app, client):
    plan, allocator = _plan(client, [person("p1", "Ada", "Lovelace")])
    app.add_user(username="someone", email="someone@acme.example", employeeIdentifier="p1")
    (result,) = apply_plan(plan, client, allocator)
    assert result.outcome is Outcome.CREATED  # p1 is ours by definition: never a second user
    assert result.username == "someone"
    assert app.user_count == 1


def test_a_create_jumpcloud_refuses_for_another_reason_fails_with_its_message(app, client):
    plan, allocator = _plan(client, [person("p1", "Ada", "Lovelace"), person("p2", "Bo", "B")])
    plan.actions[0].payload["unknownField"] = "x"
    results = apply_plan(plan, client, allocator)
    assert results[0].outcome is Outcome.FAILED
    assert "unknown field 'unknownField'" in (results[0].reason or "")
    assert results[1].outcome is Outcome.CREATED  # the others go on


def test_updates_suspends_and_reactivations_put_only_the_payload(app, client):
    a = app.add_user(
        username="a",
        email="a@acme.example",
        employeeIdentifier="pa",
        firstname="A",
        lastname="A",
        jobTitle="Old",
    )
    b = app.add_user(username="b", email="b@acme.example", employeeIdentifier="pb")
    c = app.add_user(
        username="c", email="c@acme.example", employeeIdentifier="pc", state="SUSPENDED"
    )
    people = [
        person("pa", "A", "A", email="a@acme.example", job_title="New"),
        person(
            "pb",
            None,
            None,
            email="b@acme.example",
            active=False,
            job_title=None,
            work_location=None,
            hiring_type=None,
            team=None,
            department=None,
            client_legal_entity=None,
        ),
        person(
            "pc",
            None,
            None,
            email="c@acme.example",
            job_title=None,
            work_location=None,
            hiring_type=None,
            team=None,
            department=None,
            client_legal_entity=None,
        ),
    ]
    directory = Directory(
        directory_user(u, ATTRIBUTES) for u in client.iter_users(compared_fields(MAPPING))
    )
    records = [map_record(p, MAPPING, i) for i, p in enumerate(people)]
    plan = plan_sync(records, directory, PlanOptions(reactivate_suspended_users=True))
    results = apply_plan(plan, client, UsernameAllocator(directory.usernames()))
    outcomes = {r.deel_id: r.outcome for r in results}
    assert outcomes == {"pa": Outcome.UPDATED, "pb": Outcome.SUSPENDED, "pc": Outcome.REACTIVATED}
    bodies = {e.path: e.body for e in app.requests("PUT")}
    assert bodies[f"/api/systemusers/{a['_id']}"]["jobTitle"] == "New"
    assert bodies[f"/api/systemusers/{b['_id']}"] == {"state": "SUSPENDED", "suspended": True}
    assert bodies[f"/api/systemusers/{c['_id']}"] == {"state": "ACTIVATED", "suspended": False}
    assert app.get_user(b["_id"])["state"] == "SUSPENDED"
    assert app.get_user(c["_id"])["state"] == "ACTIVATED"


def test_an_update_that_fails_after_retries_fails_alone(app, client):
    a = app.add_user(username="a", email="a@acme.example", employeeIdentifier="pa")
    app.add_user(username="b", email="b@acme.example", employeeIdentifier="pb")
    client.retry_policy = replace(client.retry_policy, min_attempts=3)
    app.faults.script("500", method="PUT", path=f"/api/systemusers/{a['_id']}", count=10)
    people = [
        person("pa", "A", "A", email="a@acme.example"),
        person("pb", "B", "B", email="b@acme.example"),
    ]
    plan, allocator = _plan(client, people)
    results = apply_plan(plan, client, allocator)
    assert [r.outcome for r in results] == [Outcome.FAILED, Outcome.UPDATED]
    assert "HTTP 500" in (results[0].reason or "")
    assert results[0].jumpcloud_id == a["_id"]
    assert not results[0].changes


def test_an_email_change_blocked_meanwhile_is_a_conflict(app, client):
    app.add_user(username="a", email="a@acme.example", employeeIdentifier="pa")
    plan, allocator = _plan(client, [person("pa", "A", "A", email="new@acme.example")])
    app.add_user(username="n", email="new@acme.example")
    (result,) = apply_plan(plan, client, allocator)
    assert result.outcome is Outcome.CONFLICT
    assert "held by JumpCloud user n" in (result.reason or "")


def test_a_refused_key_stops_the_remaining_actions_without_requests(app, client):
    people = [person(f"p{i}", "Ada", f"L{i}") for i in range(6)]
    plan, allocator = _plan(client, people)
    app.set_api_key("rotated-key")  # the client's key is revoked after the plan
    results = apply_plan(plan, client, allocator, concurrency=1)
    assert [r.outcome for r in results] == [Outcome.FAILED] * 6
    assert "JumpCloud rejected the API key" in (results[0].reason or "")
    assert all("not applied" in (r.reason or "") for r in results[1:])
    assert len(app.requests("POST", "/api/systemusers")) == 1
    assert KEY not in " ".join(r.reason or "" for r in results)


def test_a_stop_signal_leaves_unstarted_actions_failed(app, client):
    plan, allocator = _plan(client, [person("p1", "Ada", "L"), person("p2", "Bo", "B")])
    stop = threading.Event()
    stop.set()
    results = apply_plan(plan, client, allocator, stop=stop)
    assert [r.outcome for r in results] == [Outcome.FAILED, Outcome.FAILED]
    assert app.requests("POST") == []


def test_random_faults_never_create_a_user_twice(app, client):
    people = [person(f"p{i}", "Sam", "Same", email=f"sam{i}@acme.example") for i in range(30)]
    plan, allocator = _plan(client, people)
    app.faults.randomize(
        0.3, ("429", "500", "503", "drop", "commit_then_503", "commit_then_drop"), seed=7
    )
    results = apply_plan(plan, client, allocator, concurrency=4)
    app.faults.clear()
    created = [r for r in results if r.outcome is Outcome.CREATED]
    users = app.users()
    assert len({u["employeeIdentifier"] for u in users}) == len(users)
    assert {r.deel_id for r in created} <= {u["employeeIdentifier"] for u in users}
    assert all(r.outcome in {Outcome.CREATED, Outcome.FAILED} for r in results)
    assert sum(app.faults.injected.values()) > 0
    # A second run converges: everything left over is created, nothing twice.
    plan2, allocator2 = _plan(client, people)
    apply_plan(plan2, client, allocator2)
    users = app.users()
    assert sorted(u["employeeIdentifier"] for u in users) == sorted(f"p{i}" for i in range(30))
