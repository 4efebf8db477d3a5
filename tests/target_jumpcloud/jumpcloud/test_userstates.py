"""The client's V2 scheduled user states against the emulator, over loopback.

Paging, batching, cancelling, and above all: no fault ever leaves a user with two jobs for
one state and instant.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from typing import TYPE_CHECKING

import pytest
from target_jumpcloud.jumpcloud.client import JumpCloudClient
from target_jumpcloud.jumpcloud.errors import AuthenticationError, JumpCloudError
from target_jumpcloud.jumpcloud.userstates import MAX_USERS_PER_SCHEDULE
from target_jumpcloud.model import UserState
from target_jumpcloud.sync.schedules import ScheduledJob

from tests.target_jumpcloud.target_io_helpers import KEY, fast_client

if TYPE_CHECKING:
    from tests.emulators.base import EmulatorServer
    from tests.emulators.jumpcloud import JumpCloudEmulator

JOBS = "/api/v2/bulk/userstates"
NOW = dt.datetime(2027, 1, 1, 12, 0, tzinfo=dt.UTC)
MONDAY_9_LAGOS = dt.datetime(2027, 1, 4, 8, 0, tzinfo=dt.UTC)
FRIDAY_END_NEW_YORK = dt.datetime(2027, 1, 9, 4, 59, tzinfo=dt.UTC)


@pytest.fixture
def app(jumpcloud_emulator: EmulatorServer) -> JumpCloudEmulator:
    emulator: JumpCloudEmulator = jumpcloud_emulator.app
    emulator.set_time(NOW)
    emulator.log_bodies = True
    return emulator


@pytest.fixture
def client(app: JumpCloudEmulator, jumpcloud_api_url: str) -> JumpCloudClient:
    return fast_client(jumpcloud_api_url)


def seed(app: JumpCloudEmulator, count: int) -> list[str]:
    app.set_users(
        [
            {"username": f"u{i}", "email": f"u{i}@acme.example", "employeeIdentifier": f"p{i}"}
            for i in range(count)
        ]
    )
    return [user["_id"] for user in app.users()]


def job_keys(app: JumpCloudEmulator) -> Counter[tuple[str, str, str]]:
    """(user, state, instant) of every pending job, counted: a 2 is a duplicate."""
    return Counter((j["systemUserId"], j["state"], j["scheduledDate"]) for j in app.jobs())


# -- listing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("count", "requests"), [(0, 1), (1, 1), (99, 1), (100, 2), (250, 3)])
def test_every_job_is_listed_100_a_page(
    app: JumpCloudEmulator, client: JumpCloudClient, count: int, requests: int
) -> None:
    ids = seed(app, max(count, 1))
    for n in range(count):
        app.add_job(ids[n], "SUSPENDED", FRIDAY_END_NEW_YORK + dt.timedelta(minutes=n))
    app.reset_log()

    jobs = client.list_scheduled_jobs()

    assert len(jobs) == count
    assert [job.user_id for job in jobs] == ids[:count]
    assert all(job.state is UserState.SUSPENDED for job in jobs)
    if count:
        assert jobs[0] == ScheduledJob(jobs[0].id, ids[0], UserState.SUSPENDED, FRIDAY_END_NEW_YORK)
    pages = app.requests("GET", JOBS)
    assert len(pages) == requests
    assert [entry.query["skip"] for entry in pages] == [[str(100 * i)] for i in range(requests)]
    assert all(entry.query["limit"] == ["100"] for entry in pages)


def test_one_users_jobs_and_a_listing_in_a_background_thread(
    app: JumpCloudEmulator, client: JumpCloudClient
) -> None:
    one, two = seed(app, 2)
    app.add_job(one, "ACTIVATED", MONDAY_9_LAGOS)
    app.add_job(two, "SUSPENDED", FRIDAY_END_NEW_YORK)
    assert [job.state for job in client.list_scheduled_jobs(user_id=one)] == [UserState.ACTIVATED]
    assert app.requests("GET", JOBS)[-1].query["userid"] == [one]

    found: list[ScheduledJob] = []
    thread = threading.Thread(target=lambda: found.extend(client.list_scheduled_jobs()))
    thread.start()
    thread.join(10)
    assert {job.user_id for job in found} == {one, two}


def test_the_listing_retries_faults_and_stops_on_a_bad_key(
    app: JumpCloudEmulator, client: JumpCloudClient, jumpcloud_api_url: str
) -> None:
    (user,) = seed(app, 1)
    app.add_job(user, "SUSPENDED", FRIDAY_END_NEW_YORK)
    app.faults.script("503", method="GET", path=JOBS, count=2)
    app.faults.script("drop", method="GET", path=JOBS)
    assert len(client.list_scheduled_jobs()) == 1
    with pytest.raises(AuthenticationError):
        JumpCloudClient(jumpcloud_api_url, "wrong", backoff_base=0.001).list_scheduled_jobs()


# -- scheduling -------------------------------------------------------------------------------


def test_users_are_batched_one_post_per_100_for_one_state_and_instant(
    app: JumpCloudEmulator, client: JumpCloudClient
) -> None:
    ids = seed(app, 250)
    result = client.schedule_state(UserState.SUSPENDED, FRIDAY_END_NEW_YORK, [*ids, ids[0]])

    posts = app.requests("POST", JOBS)
    assert [len(entry.body["user_ids"]) for entry in posts] == [100, 100, 50]
    assert MAX_USERS_PER_SCHEDULE == 100
    assert {entry.body["start_date"] for entry in posts} == {"2027-01-09T04:59:00Z"}
    assert {entry.body["state"] for entry in posts} == {"SUSPENDED"}
    assert set(result.jobs) == set(ids)
    assert not result.failed
    assert all(job.at == FRIDAY_END_NEW_YORK for job in result.jobs.values())
    assert max(job_keys(app).values()) == 1
    assert len(app.jobs()) == 250


def test_the_instant_is_sent_in_utc_with_a_z(
    app: JumpCloudEmulator, client: JumpCloudClient
) -> None:
    (user,) = seed(app, 1)
    lagos = dt.timezone(dt.timedelta(hours=1))
    client.schedule_state(UserState.ACTIVATED, dt.datetime(2027, 1, 4, 9, 0, 0, 750, lagos), [user])
    (post,) = app.requests("POST", JOBS)
    assert post.body == {
        "user_ids": [user],
        "state": "ACTIVATED",
        "start_date": "2027-01-04T08:00:00Z",
    }


@pytest.mark.parametrize("kind", ["commit_then_503", "commit_then_drop"])
@pytest.mark.parametrize("users", [1, 3, 40])
def test_a_lost_answer_is_looked_up_and_never_makes_a_second_job(
    app: JumpCloudEmulator, client: JumpCloudClient, kind: str, users: int
) -> None:
    ids = seed(app, users)
    app.faults.script(kind, method="POST", path=JOBS)

    result = client.schedule_state(UserState.SUSPENDED, FRIDAY_END_NEW_YORK, ids)

    assert set(result.jobs) == set(ids)
    assert not result.failed
    assert job_keys(app) == Counter(
        {(user, "SUSPENDED", "2027-01-09T04:59:00Z"): 1 for user in ids}
    )
    assert len(app.requests("POST", JOBS)) == 1  # found by the look-up: not sent again
    lookups = app.requests("GET", JOBS)
    if users <= 3:  # one by one, by user id
        assert sorted(entry.query["userid"][0] for entry in lookups) == sorted(ids)
    else:  # the whole list, in one page
        assert len(lookups) == 1
        assert "userid" not in lookups[0].query


@pytest.mark.parametrize("kind", ["500", "502", "503", "drop"])
def test_a_refused_post_is_looked_up_then_sent_again(
    app: JumpCloudEmulator, client: JumpCloudClient, kind: str
) -> None:
    ids = seed(app, 5)
    app.faults.script(kind, method="POST", path=JOBS, count=3)
    result = client.schedule_state(UserState.ACTIVATED, MONDAY_9_LAGOS, ids)
    assert set(result.jobs) == set(ids)
    assert len(app.requests("POST", JOBS)) == 4
    assert len(app.requests("GET", JOBS)) == 3  # a look-up before each re-send
    assert max(job_keys(app).values()) == 1
    assert len(app.jobs()) == 5


def test_a_429_is_retried_without_a_look_up(
    app: JumpCloudEmulator, client: JumpCloudClient
) -> None:
    ids = seed(app, 2)
    app.faults.script("429_retry_after", method="POST", path=JOBS, seconds=0)
    result = client.schedule_state(UserState.SUSPENDED, FRIDAY_END_NEW_YORK, ids)
    assert set(result.jobs) == set(ids)
    assert app.requests("GET", JOBS) == []
    assert len(app.jobs()) == 2


def test_a_timed_out_post_that_lands_late_is_found_not_repeated(
    app: JumpCloudEmulator, jumpcloud_api_url: str
) -> None:
    ids = seed(app, 2)
    app.faults.script("latency", method="POST", path=JOBS, seconds=0.6)
    # The pause before the look-up (0.5-1 s) outlasts the request still being served.
    client = JumpCloudClient(jumpcloud_api_url, KEY, timeout=0.3, backoff_base=1.0)
    result = client.schedule_state(UserState.SUSPENDED, FRIDAY_END_NEW_YORK, ids)
    assert set(result.jobs) == set(ids)
    assert len(app.requests("POST", JOBS)) == 1
    assert max(job_keys(app).values()) == 1


def test_a_post_whose_outcome_stays_unknown_fails_its_users_after_the_retries(
    app: JumpCloudEmulator, jumpcloud_api_url: str
) -> None:
    ids = seed(app, 2)
    app.faults.script("503", method="POST", path=JOBS, count=100)
    client = fast_client(jumpcloud_api_url, min_attempts=3)
    result = client.schedule_state(UserState.SUSPENDED, FRIDAY_END_NEW_YORK, ids)
    assert result.jobs == {}
    assert set(result.failed) == set(ids)
    assert "not scheduled (looked up after each attempt; gave up after 3 attempts" in str(
        result.failed[ids[0]]
    )
    assert len(app.requests("POST", JOBS)) == 3
    assert app.jobs() == []


def test_a_failed_look_up_fails_the_users_without_sending_again(
    app: JumpCloudEmulator, jumpcloud_api_url: str
) -> None:
    ids = seed(app, 2)
    app.faults.script("commit_then_503", method="POST", path=JOBS)
    app.faults.script("503", method="GET", path=JOBS, count=100)
    client = fast_client(jumpcloud_api_url, min_attempts=2)
    result = client.schedule_state(UserState.SUSPENDED, FRIDAY_END_NEW_YORK, ids)
    assert set(result.failed) == set(ids)
    assert "looking up the users' jobs failed" in str(result.failed[ids[0]])
    assert len(app.requests("POST", JOBS)) == 1
    assert len(app.jobs()) == 2  # they were made: the next run finds and keeps them


def test_a_batch_refused_for_one_user_is_sent_one_by_one(
    app: JumpCloudEmulator, client: JumpCloudClient
) -> None:
    ids = seed(app, 3)
    gone = "0123456789abcdef01234567"  # (say, deleted in JumpCloud meanwhile)
    result = client.schedule_state(
        UserState.SUSPENDED, FRIDAY_END_NEW_YORK, [ids[0], gone, *ids[1:]]
    )
    assert set(result.jobs) == set(ids)
    assert set(result.failed) == {gone}
    assert result.failed[gone].status == 400
    assert "not a user of this organization" in str(result.failed[gone])
    assert [len(entry.body["user_ids"]) for entry in app.requests("POST", JOBS)] == [4, 1, 1, 1, 1]


def test_a_start_date_in_the_past_is_reported_not_retried(
    app: JumpCloudEmulator, client: JumpCloudClient
) -> None:
    (user,) = seed(app, 1)
    result = client.schedule_state(UserState.SUSPENDED, NOW - dt.timedelta(hours=1), [user])
    assert "must be in the future" in str(result.failed[user])
    assert len(app.requests("POST", JOBS)) == 1


def test_scheduling_refuses_what_is_no_job(client: JumpCloudClient) -> None:
    with pytest.raises(ValueError, match="scheduled state"):
        client.schedule_state(UserState.STAGED, FRIDAY_END_NEW_YORK, ["x"])
    with pytest.raises(ValueError, match="aware"):
        client.schedule_state(UserState.SUSPENDED, dt.datetime(2027, 1, 9), ["x"])


def test_a_rejected_key_stops_scheduling(app: JumpCloudEmulator, jumpcloud_api_url: str) -> None:
    (user,) = seed(app, 1)
    client = JumpCloudClient(jumpcloud_api_url, "wrong", backoff_base=0.001)
    with pytest.raises(AuthenticationError):
        client.schedule_state(UserState.SUSPENDED, FRIDAY_END_NEW_YORK, [user])


# -- cancelling -------------------------------------------------------------------------------


def test_a_cancel_deletes_the_job_and_a_second_one_finds_it_gone(
    app: JumpCloudEmulator, client: JumpCloudClient
) -> None:
    one, two = seed(app, 2)
    job = app.add_job(one, "SUSPENDED", FRIDAY_END_NEW_YORK)
    other = app.add_job(two, "SUSPENDED", FRIDAY_END_NEW_YORK)
    assert client.cancel_scheduled_job(job["scheduledJobId"]) is True
    assert client.cancel_scheduled_job(job["scheduledJobId"]) is False
    assert app.jobs() == [other]


@pytest.mark.parametrize("kind", ["commit_then_503", "commit_then_drop", "503", "drop"])
def test_a_cancel_survives_faults(
    app: JumpCloudEmulator, client: JumpCloudClient, kind: str
) -> None:
    (user,) = seed(app, 1)
    job = app.add_job(user, "ACTIVATED", MONDAY_9_LAGOS)
    app.faults.script(kind, method="DELETE", path=f"{JOBS}/.*")
    deleted = client.cancel_scheduled_job(job["scheduledJobId"])
    assert deleted is (kind in ("503", "drop"))  # after a commit fault the retry finds it gone
    assert app.jobs() == []


def test_a_cancel_that_cannot_get_through_raises(
    app: JumpCloudEmulator, jumpcloud_api_url: str
) -> None:
    (user,) = seed(app, 1)
    job = app.add_job(user, "ACTIVATED", MONDAY_9_LAGOS)
    app.faults.script("500", method="DELETE", path=f"{JOBS}/.*", count=100)
    with pytest.raises(JumpCloudError, match="gave up after 2 attempts"):
        fast_client(jumpcloud_api_url, min_attempts=2).cancel_scheduled_job(job["scheduledJobId"])
    assert len(app.jobs()) == 1
