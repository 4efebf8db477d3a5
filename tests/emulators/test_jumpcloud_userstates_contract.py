"""Contract tests for the emulator's V2 scheduled user states, over real HTTP.

The target's effective dating rests on `/api/v2/bulk/userstates` answering like JumpCloud's
V2 spec (`bulk-scheduled-statechange-create`, `scheduled-userstate-result`), on the strict
side where the spec is silent, and on jobs that really change their users' states when their
time comes. Each of those promises is pinned down here.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

import pytest
import requests

from tests.emulators.test_jumpcloud_contract import KEY, Api, assert_error, person

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.emulators.base import EmulatorServer
    from tests.emulators.jumpcloud import JumpCloudEmulator

JOBS = "/v2/bulk/userstates"
NOW = dt.datetime(2027, 1, 1, 12, 0, tzinfo=dt.UTC)
LATER = "2027-01-04T08:00:00Z"
OBJECT_ID = re.compile(r"[0-9a-f]{24}")


@pytest.fixture
def api(jumpcloud_emulator: EmulatorServer) -> Iterator[Api]:
    jumpcloud_emulator.app.set_time(NOW)
    client = Api(jumpcloud_emulator)
    yield client
    client.session.close()


@pytest.fixture
def app(api: Api) -> JumpCloudEmulator:
    return api.app


def users(api: Api, count: int, **extra: Any) -> list[str]:
    return [api.create(**person(n, **extra))["_id"] for n in range(count)]


def schedule(api: Api, **body: Any) -> requests.Response:
    return api.post(JOBS, json=body)


def jobs(api: Api, **params: Any) -> list[dict[str, Any]]:
    response = api.get(JOBS, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, list)
    return body


# -- create -----------------------------------------------------------------------------------


def test_a_schedule_answers_201_with_one_job_per_user(api: Api) -> None:
    ids = users(api, 3)
    response = schedule(
        api, user_ids=ids, state="SUSPENDED", start_date="2027-01-04T09:00:00+01:00"
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert [item["systemUserId"] for item in body] == ids
    assert {item["state"] for item in body} == {"SUSPENDED"}
    assert {item["scheduledDate"] for item in body} == {LATER}  # UTC, with a Z
    job_ids = [item["scheduledJobId"] for item in body]
    assert len(set(job_ids)) == 3
    assert all(OBJECT_ID.fullmatch(job_id) for job_id in job_ids)
    assert set(body[0]) == {"scheduledJobId", "scheduledDate", "state", "systemUserId"}
    assert jobs(api, limit=100) == body


def test_activation_emails_can_be_chosen_for_activations(api: Api) -> None:
    one, two = users(api, 2, state="STAGED")
    answer = schedule(
        api, user_ids=[one, two], state="ACTIVATED", start_date=LATER, send_activation_emails=False
    )
    assert answer.status_code == 201, answer.text
    answer = schedule(
        api,
        user_ids=[one],
        state="ACTIVATED",
        start_date=LATER,
        activation_email_override="someone@example.com",
    )
    assert answer.status_code == 201, answer.text


def test_the_same_user_state_and_instant_may_be_scheduled_twice(api: Api) -> None:
    """Nothing in the spec forbids it: a client must make sure it never happens."""
    (user,) = users(api, 1)
    for _ in range(2):
        assert schedule(api, user_ids=[user], state="SUSPENDED", start_date=LATER).ok
    assert len(jobs(api)) == 2


def test_one_user_may_hold_an_activation_and_a_suspension(api: Api) -> None:
    (user,) = users(api, 1, state="STAGED")
    assert schedule(api, user_ids=[user], state="ACTIVATED", start_date=LATER).ok
    assert schedule(api, user_ids=[user], state="SUSPENDED", start_date=LATER).ok
    assert sorted(job["state"] for job in jobs(api)) == ["ACTIVATED", "SUSPENDED"]


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"color": "red"}, "unknown field 'color'"),
        ({"user_ids": None}, "user_ids"),
        ({"user_ids": []}, "non-empty"),
        ({"user_ids": "0123456789abcdef01234567"}, "non-empty array"),
        ({"user_ids": ["0123456789abcdef01234567"]}, "is not a user of this organization"),
        ({"user_ids": ["not-an-id"]}, "24-hex"),
        ({"user_ids": [7]}, "24-hex"),
        ({"state": "STAGED"}, "state must be one of ACTIVATED, SUSPENDED"),
        ({"state": "suspended"}, "state must be one of"),
        ({"start_date": "2027-01-04T08:00:00"}, "with an offset"),
        ({"start_date": "2027-01-04"}, "with an offset"),
        ({"start_date": "Monday"}, "with an offset"),
        ({"start_date": 1799999999}, "with an offset"),
        ({"start_date": "2027-02-30T08:00:00Z"}, "not a valid date-time"),
        ({"start_date": "2026-12-31T12:00:00Z"}, "must be in the future"),
        ({"start_date": "2027-01-01T12:00:00Z"}, "must be in the future"),  # now is not ahead
        ({"send_activation_emails": True}, "only be used with scheduled activations"),
        ({"send_activation_emails": "yes"}, "must be a boolean"),
        ({"activation_email_override": "x@example.com"}, "single user_id and a scheduled"),
    ],
)
def test_a_bad_schedule_is_refused_naming_the_field(
    api: Api, app: JumpCloudEmulator, change: dict[str, Any], fragment: str
) -> None:
    (user,) = users(api, 1)
    body: dict[str, Any] = {"user_ids": [user], "state": "SUSPENDED", "start_date": LATER}
    body.update(change)
    body = {key: value for key, value in body.items() if value is not None}
    assert_error(schedule(api, **body), 400, fragment)
    assert app.jobs() == []
    assert app.writes.get("schedule", 0) == 0


@pytest.mark.parametrize("missing", ["user_ids", "state", "start_date"])
def test_each_required_field_is_required(api: Api, missing: str) -> None:
    (user,) = users(api, 1)
    body: dict[str, Any] = {"user_ids": [user], "state": "SUSPENDED", "start_date": LATER}
    del body[missing]
    assert_error(schedule(api, **body), 400, f"{missing} is required")


def test_batches_are_checked_whole(api: Api, app: JumpCloudEmulator) -> None:
    ids = users(api, 2)
    assert_error(
        schedule(api, user_ids=[ids[0], ids[1], ids[0]], state="SUSPENDED", start_date=LATER),
        400,
        "same id twice",
    )
    assert_error(
        schedule(api, user_ids=[ids[0]] * 101, state="SUSPENDED", start_date=LATER),
        400,
        "at most 100",
    )
    override = {"activation_email_override": "a@example.com"}
    assert_error(
        schedule(api, user_ids=ids, state="ACTIVATED", start_date=LATER, **override),
        400,
        "single user_id",
    )
    assert app.jobs() == []


def test_a_schedule_needs_a_json_object(api: Api) -> None:
    assert_error(api.post(JOBS, data="x", headers={"Content-Type": "text/plain"}), 415)
    assert_error(api.post(JOBS, json=[1]), 400, "must be a JSON object")
    assert_error(api.post(JOBS), 400, "body is required")


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", JOBS), ("POST", JOBS), ("DELETE", f"{JOBS}/0123456789abcdef01234567")],
)
def test_every_v2_route_needs_the_api_key(
    jumpcloud_emulator: EmulatorServer, method: str, path: str
) -> None:
    for headers in ({}, {"x-api-key": "wrong"}):
        response = requests.request(
            method, f"{jumpcloud_emulator.url}/api{path}", headers=headers, json={}, timeout=10
        )
        assert_error(response, 401)
    response = requests.get(
        f"{jumpcloud_emulator.url}/api{JOBS}", headers={"x-api-key": KEY}, timeout=10
    )
    assert response.status_code == 200


# -- list -------------------------------------------------------------------------------------


def test_the_list_pages_by_limit_and_skip_in_creation_order(
    api: Api, app: JumpCloudEmulator
) -> None:
    ids = users(api, 25)
    made = [
        job
        for user in ids
        for job in schedule(api, user_ids=[user], state="SUSPENDED", start_date=LATER).json()
    ]
    assert jobs(api) == made[:10]  # default limit 10
    assert jobs(api, limit=100) == made
    assert jobs(api, limit=7, skip=21) == made[21:]
    assert jobs(api, limit=5, skip=25) == []
    response = api.get(JOBS, params={"limit": 100})
    assert "x-total-count" not in {key.lower() for key in response.headers}
    for bad in ({"limit": 101}, {"limit": 0}, {"limit": "ten"}, {"skip": -1}):
        assert_error(api.get(JOBS, params=bad), 400)


def test_the_list_filters_by_user_and_by_v2_filters(api: Api) -> None:
    one, two = users(api, 2, state="STAGED")
    schedule(api, user_ids=[one, two], state="SUSPENDED", start_date=LATER)
    schedule(api, user_ids=[one], state="ACTIVATED", start_date="2027-01-03T08:00:00Z")
    assert {job["state"] for job in jobs(api, userid=one)} == {"ACTIVATED", "SUSPENDED"}
    assert [job["systemUserId"] for job in jobs(api, userid=two)] == [two]
    assert jobs(api, userid="0123456789abcdef01234567") == []
    activations = jobs(api, filter="state:eq:ACTIVATED")
    assert [job["systemUserId"] for job in activations] == [one]
    assert len(jobs(api, filter="state:ne:ACTIVATED")) == 2
    both = api.get(
        JOBS, params=[("filter", "state:eq:SUSPENDED"), ("filter", f"systemUserId:eq:{two}")]
    )
    assert [job["systemUserId"] for job in both.json()] == [two]
    joined = jobs(api, filter=f"state:eq:SUSPENDED,systemUserId:eq:{two}")  # explode=false
    assert joined == both.json()
    assert_error(api.get(JOBS, params={"filter": "state:gt:A"}), 400, "not supported")
    assert_error(api.get(JOBS, params={"filter": "color:eq:red"}), 400, "not supported")


# -- cancel -----------------------------------------------------------------------------------


def test_a_cancel_answers_204_and_the_job_is_gone(api: Api, app: JumpCloudEmulator) -> None:
    ids = users(api, 2)
    made = schedule(api, user_ids=ids, state="SUSPENDED", start_date=LATER).json()
    response = api.delete(f"{JOBS}/{made[0]['scheduledJobId']}")
    assert response.status_code == 204
    assert response.content == b""
    assert jobs(api) == made[1:]  # the other user's job stays
    assert_error(api.delete(f"{JOBS}/{made[0]['scheduledJobId']}"), 404)
    assert_error(api.delete(f"{JOBS}/nope"), 404)
    assert app.writes == {"create": 2, "schedule": 1, "cancel": 1}


def test_deleting_a_user_forgets_its_jobs(api: Api, app: JumpCloudEmulator) -> None:
    ids = users(api, 2)
    schedule(api, user_ids=ids, state="SUSPENDED", start_date=LATER)
    assert api.delete(f"/systemusers/{ids[0]}").status_code == 200
    assert [job["systemUserId"] for job in app.jobs()] == [ids[1]]


# -- the clock --------------------------------------------------------------------------------


def test_jobs_change_their_users_state_when_their_time_comes(
    api: Api, app: JumpCloudEmulator
) -> None:
    starter, leaver = users(api, 2, state="STAGED")
    api.put(f"/systemusers/{leaver}", json={"state": "ACTIVATED"})
    schedule(api, user_ids=[starter], state="ACTIVATED", start_date=LATER)
    schedule(api, user_ids=[leaver], state="SUSPENDED", start_date="2027-01-05T04:59:00Z")

    app.set_time(dt.datetime(2027, 1, 4, 7, 59, 59, tzinfo=dt.UTC))
    assert api.get(f"/systemusers/{starter}").json()["state"] == "STAGED"
    app.set_time(dt.datetime(2027, 1, 4, 8, 0, tzinfo=dt.UTC))  # the instant itself
    user = api.get(f"/systemusers/{starter}").json()
    assert (user["state"], user["suspended"]) == ("ACTIVATED", False)
    assert [job["systemUserId"] for job in jobs(api)] == [leaver]  # ran: left the list

    app.advance(dt.timedelta(days=2))
    user = api.get(f"/systemusers/{leaver}").json()
    assert (user["state"], user["suspended"]) == ("SUSPENDED", True)
    assert jobs(api) == []
    assert [run["systemUserId"] for run in app.job_runs] == [starter, leaver]
    assert "schedule" in app.writes  # (runs are not API writes: only the two POSTs are)
    assert app.writes["schedule"] == 2


def test_due_jobs_run_in_time_order(api: Api, app: JumpCloudEmulator) -> None:
    (user,) = users(api, 1)
    schedule(api, user_ids=[user], state="SUSPENDED", start_date="2027-01-04T10:00:00Z")
    schedule(api, user_ids=[user], state="ACTIVATED", start_date="2027-01-04T09:00:00Z")
    app.set_time(dt.datetime(2027, 1, 5, tzinfo=dt.UTC))
    assert [run["state"] for run in app.job_runs] == ["ACTIVATED", "SUSPENDED"]
    assert app.get_user(user)["state"] == "SUSPENDED"  # type: ignore[index]


def test_the_clock_over_the_control_routes(jumpcloud_emulator: EmulatorServer) -> None:
    root = jumpcloud_emulator.url
    answer = requests.post(
        f"{root}/_emulator/clock", json={"now": "2030-05-01T00:00:00+02:00"}, timeout=10
    )
    assert answer.json() == {"now": "2030-04-30T22:00:00+00:00"}
    answer = requests.post(f"{root}/_emulator/clock", json={"advance_seconds": 90}, timeout=10)
    assert answer.json() == {"now": "2030-04-30T22:01:30+00:00"}
    assert (
        requests.post(f"{root}/_emulator/clock", json={"now": "2030-05-01"}, timeout=10).status_code
        == 400
    )
    answer = requests.post(f"{root}/_emulator/clock", json={"real_time": True}, timeout=10)
    assert dt.datetime.fromisoformat(answer.json()["now"]).year < 2030
    assert requests.get(f"{root}/_emulator/jobs", timeout=10).json() == []


def test_a_start_date_is_in_the_past_by_the_emulators_clock(
    api: Api, app: JumpCloudEmulator
) -> None:
    (user,) = users(api, 1)
    app.set_time(dt.datetime(2027, 1, 4, 8, 0, 1, tzinfo=dt.UTC))
    assert_error(schedule(api, user_ids=[user], state="SUSPENDED", start_date=LATER), 400, "future")


# -- faults -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["commit_then_503", "commit_then_drop"])
def test_a_commit_fault_stores_the_job_and_loses_the_answer(
    api: Api, app: JumpCloudEmulator, kind: str
) -> None:
    (user,) = users(api, 1)
    app.faults.script(kind, method="POST", path="/api/v2/bulk/userstates")
    if kind == "commit_then_drop":
        with pytest.raises(requests.ConnectionError):
            schedule(api, user_ids=[user], state="SUSPENDED", start_date=LATER)
    else:
        assert (
            schedule(api, user_ids=[user], state="SUSPENDED", start_date=LATER).status_code == 503
        )
    assert [job["systemUserId"] for job in app.jobs()] == [user]


@pytest.mark.parametrize("kind", ["500", "503", "429", "drop"])
def test_a_fault_before_the_commit_stores_nothing(
    api: Api, app: JumpCloudEmulator, kind: str
) -> None:
    (user,) = users(api, 1)
    app.faults.script(kind, method="POST", path="/api/v2/bulk/userstates")
    if kind == "drop":
        with pytest.raises(requests.ConnectionError):
            schedule(api, user_ids=[user], state="SUSPENDED", start_date=LATER)
    else:
        assert schedule(
            api, user_ids=[user], state="SUSPENDED", start_date=LATER
        ).status_code == int(kind)
    assert app.jobs() == []


def test_a_commit_fault_on_a_cancel_deletes_the_job(api: Api, app: JumpCloudEmulator) -> None:
    (user,) = users(api, 1)
    (job,) = schedule(api, user_ids=[user], state="SUSPENDED", start_date=LATER).json()
    app.faults.script("commit_then_503", method="DELETE")
    assert api.delete(f"{JOBS}/{job['scheduledJobId']}").status_code == 503
    assert app.jobs() == []
    assert_error(api.delete(f"{JOBS}/{job['scheduledJobId']}"), 404)  # a retry finds it gone


def test_a_list_fault_is_served_like_any_other(api: Api, app: JumpCloudEmulator) -> None:
    app.faults.script("429_retry_after", method="GET", path="/api/v2/bulk/userstates", seconds=3)
    response = api.get(JOBS)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert api.get(JOBS).status_code == 200
