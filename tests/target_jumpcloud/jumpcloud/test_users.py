"""JumpCloudClient against the JumpCloud emulator: headers, paging, retries, errors, secrets."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from target_jumpcloud.jumpcloud.client import JumpCloudClient
from target_jumpcloud.jumpcloud.errors import (
    AuthenticationError,
    JumpCloudError,
    UnknownOutcomeError,
)
from target_jumpcloud.jumpcloud.retries import parse_retry_after
from target_jumpcloud.settings.sync_settings import ConfigError

from tests.emulators.base import EmulatorServer
from tests.emulators.jumpcloud import JumpCloudEmulator
from tests.target_jumpcloud.target_io_helpers import KEY, fast_client

ORG = "5f1e0c0ffee0c0ffee0000aa"


def _seed(app: JumpCloudEmulator, count: int) -> None:
    app.set_users(
        [
            {
                "username": f"user{i}",
                "email": f"user{i}@acme.example",
                "employeeIdentifier": f"p{i}",
            }
            for i in range(count)
        ]
    )


def _pages(app: JumpCloudEmulator) -> list[dict[str, list[str]]]:
    return [e.query for e in app.requests("GET", "/api/systemusers")]


# -- construction and headers ---------------------------------------------------------------


def test_plain_http_to_a_remote_host_is_refused_before_any_connection(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("no connection may be opened")

    monkeypatch.setattr(socket, "create_connection", refuse)
    with pytest.raises(ConfigError, match="api_url") as caught:
        JumpCloudClient("http://console.jumpcloud.com/api", KEY)
    assert KEY not in str(caught.value)


def test_repr_and_errors_never_show_the_key(jumpcloud_api_url):
    client = JumpCloudClient(jumpcloud_api_url, "secret-key-123", timeout=5)
    assert "secret-key-123" not in repr(client)
    with pytest.raises(AuthenticationError) as caught:
        client.check_access()
    assert "secret-key-123" not in str(caught.value)
    assert caught.value.setting == "api_key"
    assert caught.value.status == 401
    assert "`api_key`" in str(caught.value)


def test_check_access_sends_the_key_and_one_cheap_request(jumpcloud_emulator, jumpcloud_api_url):
    app: JumpCloudEmulator = jumpcloud_emulator.app
    _seed(app, 3)
    fast_client(jumpcloud_api_url).check_access()
    (entry,) = app.requests()
    assert entry.method == "GET"
    assert entry.query["limit"] == ["1"]
    assert entry.query["fields"] == ["_id"]


def test_org_id_is_sent_as_x_org_id():
    app = JumpCloudEmulator(api_key=KEY, org_id=ORG)
    with EmulatorServer(app) as server:
        fast_client(f"{server.url}/api", org_id=None)  # constructing does not connect
        with pytest.raises(AuthenticationError):
            JumpCloudClient(f"{server.url}/api", KEY, backoff_base=0.001).check_access()
        JumpCloudClient(f"{server.url}/api", KEY, ORG, backoff_base=0.001).check_access()


def test_a_wrong_org_id_names_the_org_id_setting():
    app = JumpCloudEmulator(api_key=KEY, org_id=ORG)
    with EmulatorServer(app) as server:
        client = JumpCloudClient(f"{server.url}/api", KEY, "5f1e0c0ffee0c0ffee0000bb")
        with pytest.raises(AuthenticationError) as caught:
            client.check_access()
    assert caught.value.setting == "org_id"
    assert "`org_id`" in str(caught.value)
    assert caught.value.status == 400


# -- listing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("concurrency", [1, 4])
@pytest.mark.parametrize(("count", "requests"), [(0, 1), (1, 1), (100, 1), (200, 2), (250, 3)])
def test_iter_users_pages_by_skip_without_an_extra_request(
    jumpcloud_emulator, jumpcloud_api_url, count, requests, concurrency
):
    app: JumpCloudEmulator = jumpcloud_emulator.app
    _seed(app, count)
    client = fast_client(jumpcloud_api_url)
    users = list(client.iter_users(["_id", "email"], concurrency=concurrency))
    assert [u["email"] for u in users] == [f"user{i}@acme.example" for i in range(count)]
    assert set().union(*(u.keys() for u in users)) <= {"_id", "id", "email"}
    queries = _pages(app)
    assert len(queries) == requests
    assert sorted(int(q["skip"][0]) for q in queries) == [100 * i for i in range(requests)]
    assert all(q["limit"] == ["100"] and q["sort"] == ["_id"] for q in queries)
    assert all(q["fields"] == ["_id email"] for q in queries)


def test_parallel_paging_keeps_order_and_survives_faults(jumpcloud_emulator, jumpcloud_api_url):
    app: JumpCloudEmulator = jumpcloud_emulator.app
    _seed(app, 1050)
    app.faults.script("503", method="GET", count=3)
    app.faults.script("drop", method="GET", count=2)
    users = list(fast_client(jumpcloud_api_url).iter_users(concurrency=4))
    assert [u["username"] for u in users] == [f"user{i}" for i in range(1050)]
    assert len(_pages(app)) == 11 + 5  # 11 pages, 5 of them answered only on a retry


class _GrowingDirectory(JumpCloudEmulator):
    """Adds users after the first page was served: a sync running while an admin works."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.pages_served = 0

    def _list(self, request):
        answer = super()._list(request)
        self.pages_served += 1
        if self.pages_served == 1:
            for i in range(3):
                self.add_user(username=f"late{i}", email=f"late{i}@acme.example")
        return answer


def test_users_added_while_paging_are_still_listed():
    app = _GrowingDirectory(api_key=KEY)
    _seed(app, 200)
    with EmulatorServer(app) as server:
        users = list(fast_client(f"{server.url}/api").iter_users(concurrency=4))
    names = [u["username"] for u in users]
    assert names[:200] == [f"user{i}" for i in range(200)]
    assert names[200:] == ["late0", "late1", "late2"]


def test_find_users_by_filters_exactly(jumpcloud_emulator, jumpcloud_api_url):
    app: JumpCloudEmulator = jumpcloud_emulator.app
    _seed(app, 5)
    client = fast_client(jumpcloud_api_url)
    found = client.find_users_by("email", "user3@acme.example")
    assert [u["username"] for u in found] == ["user3"]
    assert client.find_users_by("employeeIdentifier", "nobody") == []
    assert _pages(app)[0]["filter"] == ["email:$eq:user3@acme.example"]


# -- retries ---------------------------------------------------------------------------------


def test_429_with_retry_after_waits_what_the_server_says(jumpcloud_emulator, jumpcloud_api_url):
    app: JumpCloudEmulator = jumpcloud_emulator.app
    app.faults.script("429_retry_after", method="GET", seconds=0.04, count=2)
    waits: list[float] = []
    client = fast_client(jumpcloud_api_url, sleep=waits.append, retry_after_cap=10)
    assert list(client.iter_users()) == []
    assert waits == [0.04, 0.04]
    assert len(app.requests("GET")) == 3


def test_retry_after_is_capped(jumpcloud_emulator, jumpcloud_api_url):
    app: JumpCloudEmulator = jumpcloud_emulator.app
    app.faults.script("429_retry_after", method="GET", seconds=3600)
    waits: list[float] = []
    fast_client(jumpcloud_api_url, sleep=waits.append, retry_after_cap=2.5).check_access()
    assert waits == [2.5]


@pytest.mark.parametrize("kind", ["429", "500", "502", "503", "drop"])
def test_transient_errors_on_reads_are_retried_with_capped_backoff(
    jumpcloud_emulator, jumpcloud_api_url, kind
):
    app: JumpCloudEmulator = jumpcloud_emulator.app
    _seed(app, 2)
    app.faults.script(kind, method="GET", count=4)
    waits: list[float] = []
    client = JumpCloudClient(
        jumpcloud_api_url, KEY, backoff_base=1.0, backoff_cap=3.0, sleep=waits.append
    )
    assert len(list(client.iter_users())) == 2
    assert len(waits) == 4
    steps = [1.0, 2.0, 3.0, 3.0]  # base * 2**n, capped; jitter keeps each in [step/2, step]
    assert all(step / 2 <= wait <= step for wait, step in zip(waits, steps, strict=True))


def test_retries_give_up_with_the_status(jumpcloud_emulator, jumpcloud_api_url):
    app: JumpCloudEmulator = jumpcloud_emulator.app
    app.faults.script("503", method="GET", count=10)
    client = fast_client(jumpcloud_api_url, min_attempts=3)
    with pytest.raises(JumpCloudError) as caught:
        client.check_access()
    assert caught.value.status == 503
    assert "gave up after 3 attempts in " in str(caught.value)
    assert len(app.requests("GET")) == 3


def test_other_4xx_are_never_retried(jumpcloud_emulator, jumpcloud_api_url):
    app: JumpCloudEmulator = jumpcloud_emulator.app
    client = fast_client(jumpcloud_api_url)
    with pytest.raises(JumpCloudError) as caught:
        client.update_user("66b0f2c4e1a9d3001f00ffff", {"jobTitle": "x"})
    assert caught.value.status == 404
    with pytest.raises(JumpCloudError) as caught:
        client.create_user({"email": "no-username@acme.example"})
    assert caught.value.status == 400
    assert caught.value.api_message == "username is required"
    assert "username is required" in str(caught.value)
    assert len(app.requests()) == 2


def test_put_is_retried_after_a_lost_answer(jumpcloud_emulator, jumpcloud_api_url):
    app: JumpCloudEmulator = jumpcloud_emulator.app
    user = app.add_user(username="ada", email="ada@acme.example")
    app.faults.script("commit_then_503", method="PUT")
    app.faults.script("commit_then_drop", method="PUT")
    result = fast_client(jumpcloud_api_url).update_user(user["_id"], {"jobTitle": "CTO"})
    assert result["jobTitle"] == "CTO"
    assert len(app.requests("PUT")) == 3
    stored = app.get_user(user["_id"])
    assert stored is not None
    assert stored["jobTitle"] == "CTO"


# -- the create path --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["500", "503", "drop", "commit_then_503", "commit_then_drop"])
def test_create_with_an_unknown_outcome_is_not_retried(jumpcloud_emulator, jumpcloud_api_url, kind):
    app: JumpCloudEmulator = jumpcloud_emulator.app
    app.faults.script(kind, method="POST")
    client = fast_client(jumpcloud_api_url)
    with pytest.raises(UnknownOutcomeError) as caught:
        client.create_user({"username": "ada", "email": "ada@acme.example"})
    assert "may have been processed" in str(caught.value)
    assert len(app.requests("POST")) == 1
    assert app.user_count == (1 if kind.startswith("commit") else 0)


def test_create_is_retried_after_a_429(jumpcloud_emulator, jumpcloud_api_url):
    app: JumpCloudEmulator = jumpcloud_emulator.app
    app.faults.script("429", method="POST", count=2)
    user = fast_client(jumpcloud_api_url).create_user(
        {"username": "ada", "email": "ada@acme.example"}
    )
    assert user["_id"]
    assert len(app.requests("POST")) == 3
    assert app.user_count == 1


def test_a_timeout_on_create_is_an_unknown_outcome(jumpcloud_emulator, jumpcloud_api_url):
    app: JumpCloudEmulator = jumpcloud_emulator.app
    app.faults.script("latency", method="POST", seconds=0.5)
    client = fast_client(jumpcloud_api_url, timeout=0.1)
    with pytest.raises(UnknownOutcomeError, match="timed out"):
        client.create_user({"username": "ada", "email": "ada@acme.example"})


# -- Retry-After parsing -----------------------------------------------------------------------


def test_parse_retry_after():
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after(None) is None
    assert parse_retry_after("  ") is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after("-3") == 0.0
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(later, now=now) == 30.0
    earlier = format_datetime(now - timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(earlier, now=now) == 0.0
